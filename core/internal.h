/*
 * internal.h - the core's cross-file interface, file by file: a table of
 * contents of core/, private to it. What the layers above may use is in
 * page_alloc.h (included here); types live in mm_types.h.
 *
 * Naming: kernel names where the concept is the kernel's; a leading "__"
 * means the caller holds zone->lock.
 */
#ifndef BUDDY_INTERNAL_H
#define BUDDY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <urcu/compiler.h>
#include <urcu/uatomic.h>

#include "mm_types.h"
#include "page_alloc.h"

/* ------------------------------------------------------------------ os.c */
/* The rest of os.c (page_alloc.h has what the layers above use). */

/* size bytes of fresh zeroed read-write memory aligned to align (a power of
 * two >= PAGE_SIZE), reserved but not committed. low32: every byte below
 * 4 GiB, tried from *hint upwards (advanced past what was tried). NULL on
 * failure. */
void *os_map_aligned(size_t size, size_t align, bool low32, unsigned long *hint);
/* mremap with MREMAP_MAYMOVE: the mapping at addr resized, perhaps moved;
 * NULL on failure, the old mapping untouched. */
void *os_remap(void *addr, size_t old_size, size_t new_size);
/* Give the pages of [addr, addr + size) back to the OS (MADV_DONTNEED); the
 * range stays mapped and reads as zero afterwards. false: the OS refused. */
bool os_release(void *addr, size_t size);
long os_page_size(void);

/* ------------------------------------------------------------- sparse.c */
/* Sections: the address -> section -> page-descriptor lookup, onlining. */

/* Publication of sections, RCU style (liburcu 0.13 has no acquire/release
 * loads): the writer orders the section's set-up before the pointer store;
 * readers depend on the loaded pointer. */
static inline void publish_section(unsigned long nr, struct mem_section *ms)
{
	cmm_smp_wmb();
	CMM_STORE_SHARED(mem_section[nr], ms);
}

/* pfn must be in an online section. */
static inline struct page *pfn_to_page(unsigned long pfn)
{
	struct mem_section *ms = mem_section[pfn_to_section_nr(pfn)];

	return &ms->mem_map[pfn - ms->start_pfn];
}

static inline struct zone *page_zone(const struct page *page)
{
	return page_section(page)->zone;
}

/* Map a new section for zone and put its memory on the free lists as
 * MOVABLE max-order blocks, the system calls outside zone->lock. Caller
 * holds neither zone->lock nor grow_lock; seen: the zone's nr_sections
 * when the caller found its free lists wanting. true: the zone grew (by
 * this call or another thread's), look again; false: the zone is at its
 * limit or the OS refused. */
bool online_section(struct zone *zone, unsigned long seen);
#ifdef BUDDY_TEST_HOOKS
/* Called by online_section() between its system calls and taking
 * zone->lock. */
extern void (*test_online_section_hook)(struct zone *zone);
#endif

/* ----------------------------------------------------------- resident.c */
/* Which free pages are released (not resident): the per-page bits of
 * mem_section::released and zone->nr_released. Caller holds zone->lock;
 * [pfn, pfn + nr) lies in one section. */

/* Mark pages released; returns how many were not already. */
unsigned long __set_pages_released(struct zone *zone, unsigned long pfn,
				   unsigned long nr);
/* Mark pages resident (taken for use); returns how many were released. */
unsigned long __clear_pages_released(struct zone *zone, unsigned long pfn,
				     unsigned long nr);
/* How many of the pages are released. */
unsigned long __pages_released(unsigned long pfn, unsigned long nr);

/* ---------------------------------------------------------- pageblock.c */
/* The migrate type stored per pageblock, and moving free pages between
 * free lists when a pageblock changes type. */

int get_pfnblock_migratetype(unsigned long pfn);
int get_pageblock_migratetype(const struct page *page);
/* Caller holds zone->lock (or owns the section before it is published). */
void set_pageblock_migratetype(struct page *page, int migratetype);
/* Set every pageblock of a free block of order >= pageblock_order. */
void change_pageblock_range(struct page *page, unsigned int order, int migratetype);
/* Free pages in page's pageblock; *num_movable gets its allocated pages
 * that were asked for as MOVABLE. Caller holds zone->lock. */
unsigned long __count_pageblock_pages(struct page *page,
				      unsigned long *num_movable);
/* Move every free block of page's pageblock to migratetype's free lists;
 * returns the pages moved. The pageblock's own type is the caller's to set.
 * Caller holds zone->lock. */
unsigned long __move_freepages_block(struct zone *zone, struct page *page,
				     int migratetype);

/* --------------------------------------------------------- page_alloc.c */
/* The buddy allocator proper: free lists, split, merge, fallback. */

/* Free-list primitives; caller holds zone->lock. */
void __add_to_free_list(struct page *page, struct zone *zone,
			unsigned int order, int migratetype, bool tail);
void __del_page_from_free_list(struct page *page, struct zone *zone,
			       unsigned int order);
void __move_to_free_list(struct page *page, struct zone *zone,
			 unsigned int order, int migratetype);
/* Free a block: merge with its buddies, put the result on a free list. */
void __free_one_page(struct page *page, unsigned long pfn, struct zone *zone,
		     unsigned int order, int migratetype);

unsigned int get_order(unsigned long nr_pages);

#ifdef BUDDY_TEST_HOOKS
/* Fault injection for the tests that prove the checker can fail: while
 * positive, each free skips merging once and decrements it. */
extern unsigned long test_skip_merges;
#endif

/* ------------------------------------------------------------ reclaim.c */
/* Giving free memory back to the OS (release_free_pages: page_alloc.h). */

/* Release resident free pages of zone, at least nr_to_release of them if it
 * has that many (ULONG_MAX: all), with no system call under zone->lock;
 * counts them as event (a PGSTEAL_ counter). Returns the pages released.
 * Caller holds no lock. */
unsigned long reclaim_zone(struct zone *zone, unsigned long nr_to_release,
			   enum vm_event_item event);

/* Allocated pages released by their owner and not reused since
 * (release_pages_in_use: page_alloc.h); atomic. */
extern unsigned long nr_released_in_use;

/* -------------------------------------------------------------- vmscan.c */
/* The reclaim threads (the kernel's kswapd). */

/* zone fell below its low watermark for an allocation of order that may
 * use zones up to highest_zoneidx: wake its node's reclaim thread. Cheap
 * when the thread is awake already. */
void wakeup_kswapd(struct zone *zone, unsigned int order,
		   enum zone_type highest_zoneidx);

/* ---------------------------------------------------------------- pcp.c */
/* Per-CPU page lists (the kernel's per_cpu_pages). */

/* Give every page on this CPU's lists of zone (NULL: every zone) back to
 * the buddy free lists. */
void drain_local_pages(struct zone *zone);
/* The same for every CPU's lists. */
void drain_all_pages(struct zone *zone);

#ifdef BUDDY_TEST_HOOKS
/* Called by release_free_pages() before the madvise of each batch. */
extern void (*test_release_hook)(struct zone *zone);
#endif

/* --------------------------------------------------------------- huge.c */
/* Direct mappings (the calls the layers above use: page_alloc.h). */

/* fork.c's helpers, in the child: was the huge table's lock held at the
 * fork; re-initialise it, or abandon the table. */
bool huge_fork_busy(void);
void huge_fork_child(bool abandon);

/* --------------------------------------------------------------- fork.c */
/* The core in the child of fork(); nothing is locked across the fork (the
 * top of fork.c says why it is safe). */

/* --------------------------------------------------------------- zone.c */
/* Nodes, zones, zonelists; one-time initialisation of the core. */

extern pg_data_t node_data[MAX_NUMNODES];
extern int nr_node_ids;
#define NODE_DATA(nid)	(&node_data[(nid)])

enum zone_type gfp_zone(gfp_t gfp);
int numa_node_id(void);
const char *migratetype_name(int migratetype);
/* Make zone empty, as before its first section: free lists, counters and
 * section list cleared, lock re-initialised. Its old sections are the
 * caller's to deal with. For a caller that runs alone (fork.c). */
void zone_reset(struct zone *zone);

/* Every zone with memory, for reports and checks. */
#define for_each_zone(zone)						\
	for (int __nid = 0; __nid < nr_node_ids; __nid++)		\
		for (struct zone *zone = NODE_DATA(__nid)->node_zones;	\
		     zone < NODE_DATA(__nid)->node_zones + MAX_NR_ZONES; zone++)

static inline bool populated_zone(const struct zone *zone)
{
	return zone->present_pages != 0;
}

static inline void zone_lock(struct zone *zone)
{
	pthread_mutex_lock(&zone->lock);
}

static inline void zone_unlock(struct zone *zone)
{
	pthread_mutex_unlock(&zone->lock);
}

/* ------------------------------------------------------------- vmstat.c */
/* The /proc layouts. Each takes every zone's lock in turn. */

/* buddyinfo_show, pagetypeinfo_show, zone_stats_read, vm_events_read:
 * page_alloc.h. */

extern unsigned long vm_events[NR_VM_EVENT_ITEMS];

static inline void count_vm_events(enum vm_event_item item, unsigned long n)
{
	uatomic_add(&vm_events[item], n);
}

static inline void count_vm_event(enum vm_event_item item)
{
	count_vm_events(item, 1);
}

/* -------------------------------------------------------------- check.c */
/* Consistency checks of the buddy state, independent of the code that keeps
 * it. Each violation is described in s (may be NULL); returns how many. */

unsigned long __check_zone(struct zone *zone, struct seq_buf *s);
unsigned long check_all_zones(struct seq_buf *s);

#endif /* BUDDY_INTERNAL_H */
