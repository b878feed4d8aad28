/*
 * unit_util.h - what the unit tests of core/ share: the zones, snapshots of
 * a zone's counters and free lists taken under its lock, and both checkers
 * (the core's check_all_zones() and the model's mc_check_zone()) wired to
 * TAP diagnostics.
 *
 * Most tests leave the zone as they found it: every free block of order
 * MAX_PAGE_ORDER ("pristine"), so that the next test of the same program
 * starts from a known state without a fresh process.
 */
#ifndef BUDDY_TEST_UNIT_UTIL_H
#define BUDDY_TEST_UNIT_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model_check.h"
#include "seq_buf.h"
#include "tap.h"
#include "test_util.h"

static inline struct zone *zone_of(enum zone_type idx)
{
	buddy_core_init();
	return &NODE_DATA(numa_node_id())->node_zones[idx];
}

#define zone_normal()	zone_of(ZONE_NORMAL)
#define zone_low32()	zone_of(ZONE_LOW32)

static inline unsigned long addr_pfn(const void *addr)
{
	return (uintptr_t)addr >> PAGE_SHIFT;
}

/*
 * The tests of the buddy lists themselves (split, merge, fallback, list
 * positions, exact allocations) run with the per-CPU page lists disabled,
 * as the kernel's zone_pcp_disable() does where it needs the buddy lists
 * exact: every allocation and free then reaches them directly. The lists
 * are tested in pcp.c and, mixed with everything else, in model.c.
 */
static inline void buddy_lists_only(void)
{
	for (int idx = 0; idx < MAX_NR_ZONES; idx++)
		zone_pcp_disable(zone_of((enum zone_type)idx));
}

/* ------------------------------------------------------------ snapshots */

/* A zone's counters and the real lengths of its free lists. */
struct zone_counts {
	unsigned long nr_free[NR_PAGE_ORDERS];		/* the counters */
	unsigned long len[NR_PAGE_ORDERS][MIGRATE_TYPES]; /* the lists */
	unsigned long nr_free_type[MIGRATE_TYPES];
	unsigned long nr_free_pages;
	unsigned long nr_released;
	unsigned long present_pages;
	unsigned long nr_sections;
	unsigned long nr_reserved_highatomic;
};

static inline unsigned long __list_len(struct cds_list_head *head)
{
	struct cds_list_head *pos;
	unsigned long n = 0;

	cds_list_for_each(pos, head)
		n++;
	return n;
}

static inline void zone_counts(struct zone *zone, struct zone_counts *c)
{
	zone_lock(zone);
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
		c->nr_free[o] = zone->free_area[o].nr_free;
		for (int mt = 0; mt < MIGRATE_TYPES; mt++)
			c->len[o][mt] = __list_len(&zone->free_area[o].free_list[mt]);
	}
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		c->nr_free_type[mt] = zone->nr_free_type[mt];
	c->nr_free_pages = zone->nr_free_pages;
	c->nr_released = zone->nr_released;
	c->present_pages = zone->present_pages;
	c->nr_sections = zone->nr_sections;
	c->nr_reserved_highatomic = zone->nr_reserved_highatomic;
	zone_unlock(zone);
}

/* Free blocks of order o, all types, counted on the lists. */
static inline unsigned long counts_blocks(const struct zone_counts *c,
					  unsigned int o)
{
	unsigned long n = 0;

	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		n += c->len[o][mt];
	return n;
}

/*
 * Where page is on free_area[order].free_list[mt]: its index from the head
 * (0 = first), or -1 if it is not there; *len gets the list's length.
 */
static inline long free_list_index(struct zone *zone, unsigned int order,
				   int mt, const struct page *page,
				   unsigned long *len)
{
	struct cds_list_head *head = &zone->free_area[order].free_list[mt];
	struct cds_list_head *pos;
	long idx = -1, n = 0;

	zone_lock(zone);
	cds_list_for_each(pos, head) {
		if (cds_list_entry(pos, struct page, lru) == page)
			idx = n;
		n++;
	}
	zone_unlock(zone);
	if (len)
		*len = (unsigned long)n;
	return idx;
}

/* The pageblock type of addr's page, read under the zone lock. */
static inline int block_type_of(const void *addr)
{
	struct page *page = virt_to_page(addr);
	struct zone *zone = page_zone(page);
	int mt;

	zone_lock(zone);
	mt = get_pageblock_migratetype(page);
	zone_unlock(zone);
	return mt;
}

/* ------------------------------------------------------------- checkers */

static inline void mc_report_diag(void *opaque, const char *line)
{
	const char *who = opaque;

	test_diag("%s: %s", who ? who : "model check", line);
}

/* The core's check_all_zones(), its report turned into diagnostics. */
static inline unsigned long core_check_diag(void)
{
	static char buf[16384];
	struct seq_buf s;
	unsigned long n;
	char *line, *save = NULL;

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	n = check_all_zones(&s);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		test_diag("check_all_zones: %s", line);
	return n;
}

/* Both checkers over every zone; live[] lists what the test holds. */
static inline unsigned long model_check_all(const struct mc_live *live,
					    size_t nr_live, unsigned int flags)
{
	unsigned long n = 0;

	for (int idx = 0; idx < MAX_NR_ZONES; idx++)
		n += mc_check_zone(zone_of((enum zone_type)idx), live, nr_live,
				   flags, mc_report_diag, "model check");
	return n;
}

#define expect_consistent(live, nr_live, what) do {			\
	expect_lu_eq(core_check_diag(), 0, "core checker, %s", what);	\
	expect_lu_eq(model_check_all(live, nr_live,			\
				     MC_LIVE_COMPLETE | MC_SCAN_PAGES),	\
		     0, "model checker, %s", what);			\
} while (0)

/* True when every free block of zone is of MAX_PAGE_ORDER and they cover
 * every present page: nothing allocated, everything merged. */
static inline bool zone_pristine(struct zone *zone)
{
	struct zone_counts c;

	zone_counts(zone, &c);
	for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
		if (c.nr_free[o] || counts_blocks(&c, o))
			return false;
	return c.nr_free[MAX_PAGE_ORDER] * MAX_ORDER_NR_PAGES == c.present_pages &&
	       counts_blocks(&c, MAX_PAGE_ORDER) == c.nr_free[MAX_PAGE_ORDER] &&
	       c.nr_free_pages == c.present_pages;
}

#define expect_pristine(zone, what) do {				\
	struct zone_counts pc_;						\
	zone_counts(zone, &pc_);					\
	expect_true(zone_pristine(zone),				\
		    "zone %s not back to max-order blocks %s: "		\
		    "nr_free_pages %lu present %lu nr_free[10] %lu",	\
		    (zone)->name, what, pc_.nr_free_pages,		\
		    pc_.present_pages, pc_.nr_free[MAX_PAGE_ORDER]);	\
} while (0)

/* ------------------------------------------------------ allocation kit */

/* A live page allocation as the tests hold it. */
struct held {
	struct page *page;
	unsigned int order;
};

static inline void *held_addr(const struct held *h)
{
	return page_address(h->page);
}

static inline struct mc_live held_live(const struct held *h, int mt)
{
	struct mc_live l = {
		.addr = (uintptr_t)page_address(h->page),
		.nr_pages = 1UL << h->order,
		.order = h->order,
		.migratetype = mt,
	};
	return l;
}

/* The kernel's deterministic reading of a gfp mask's lifetime bits. */
static inline int test_gfp_migratetype(gfp_t gfp)
{
	if (gfp & __GFP_MOVABLE)
		return MIGRATE_MOVABLE;
	if (gfp & __GFP_RECLAIMABLE)
		return MIGRATE_RECLAIMABLE;
	return MIGRATE_UNMOVABLE;
}

/* ------------------------------------------------------------ randomness */

/* Fisher-Yates over an array of elements of size sz. */
static inline void shuffle(void *base, size_t n, size_t sz, uint64_t *state)
{
	char tmp[64], *a = base;

	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rand_below(state, i);

		memcpy(tmp, a + (i - 1) * sz, sz);
		memcpy(a + (i - 1) * sz, a + j * sz, sz);
		memcpy(a + j * sz, tmp, sz);
	}
}

/* The vm event counter item now. */
static inline unsigned long vm_event(enum vm_event_item item)
{
	unsigned long ev[NR_VM_EVENT_ITEMS];

	vm_events_read(ev);
	return ev[item];
}

/* In a forked child: checks that count failures instead of reporting TAP
 * points (the parent reports the child's exit status); child_exit() exits
 * 1 if any failed. */
static unsigned int child_failures;

#define child_check(cond) do {						\
	if (!(cond)) {							\
		child_failures++;					\
		test_diag("child %d: failed: %s", (int)getpid(), #cond);\
	}								\
} while (0)

static inline __attribute__((noreturn)) void child_exit(void)
{
	_exit(child_failures ? 1 : 0);
}

#endif /* BUDDY_TEST_UNIT_UTIL_H */
