/*
 * fuzz_pages.c - the core's page API (core/page_alloc.h) against a model.
 *
 * Linked with core/ alone (no malloc replacement): the input is a program
 * of alloc_pages(gfp, order), alloc_pages_exact[_aligned](size, gfp),
 * resize_pages_exact, the frees with their owners, frees that must be
 * refused, release_free_pages (malloc_trim's walk), a drain of the per-CPU
 * page lists and full checks. gfp is any combination of the public flags
 * (lifetime, LOW32, ZERO, NOWAIT, NORETRY, RETRY_MAYFAIL, NOFAIL), the
 * HIGHATOMIC reserve and an owner (the malloc family's, the page API's, or
 * the allocator's own); orders run 0..MAX_PAGE_ORDER and beyond.
 *
 * The core runs under a small budget (BUDGET_PAGES), so the reclaim paths
 * run and allocations fail. The model (blocks[]) holds every live block
 * (address, pages, head order, owner, a pattern key) and predicts:
 *   - EINVAL for an order above MAX_PAGE_ORDER, both lifetime bits, both
 *     owners, an exact size above 4 MiB or an alignment order above
 *     MAX_PAGE_ORDER; nothing else may fail with EINVAL;
 *   - a request that keeps the live pages within half the budget, without
 *     NOWAIT or NORETRY (which may give up early) or LOW32 (its zone has
 *     a small share of the budget), succeeds; any other failure is NULL
 *     with errno = ENOMEM;
 *   - a block is aligned to its order (an exact one to the order of its
 *     pages, or its alignment), LOW32 blocks end below 4 GiB, __GFP_ZERO
 *     blocks read as zero, and no block overlaps another;
 *   - a free of a live block with its order (or size) and owner succeeds;
 *     a free that names no live block that way (another order or size, an
 *     interior page, another owner, a freed block) returns false and
 *     changes nothing (the zones' free counts stay the same);
 *   - a shrink of an exact block always succeeds; a growth may fail, and
 *     then the block is unchanged;
 *   - every live block keeps the pattern written into the first and last
 *     word of each of its pages (through reclaim, release and drains).
 * A check runs the core's own checker (core/check.c) and the unit tests'
 * independent one (tests/unit/model_check.c) with the complete list of
 * live blocks. At the end of every input everything is freed, the per-CPU
 * lists are drained and every zone must be whole again: all its pages
 * free in blocks of MAX_PAGE_ORDER, no HIGHATOMIC reserve left.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"
#include "model_check.h"
#include "seq_buf.h"

#define NR_BLOCKS	48
#define BUDGET_PAGES	(64UL << (20 - PAGE_SHIFT))	/* 64 MiB */
#define SAFE_PAGES	(BUDGET_PAGES / 2)
#define LOW32_END	(1ULL << 32)

enum kind { K_PAGES, K_EXACT };

struct block {
	void *addr;		/* NULL: empty */
	enum kind kind;
	unsigned long nr_pages;	/* pages owned */
	unsigned int order;	/* K_PAGES: as allocated; K_EXACT: of nr */
	size_t size;		/* K_EXACT: bytes, as freed */
	unsigned int owner;	/* PG_ flag or 0 */
	uint64_t key;
};

static struct block blocks[NR_BLOCKS];
static unsigned long live_pages;
static uint64_t next_key = 1;

static unsigned int order_of(unsigned long nr)
{
	unsigned int order = 0;

	while ((1UL << order) < nr)
		order++;
	return order;
}

/* -------------------------------------------------------- patterns */

FUZZ_NO_COVERAGE
static uint64_t page_word(uint64_t key, unsigned long page, int last)
{
	return (key * 0x9e3779b97f4a7c15ULL) ^ (page << 1 | (uint64_t)last) ^
	       0x5bd1e995ULL;
}

FUZZ_NO_COVERAGE
static void pattern_pages(struct block *b, unsigned long from, unsigned long to)
{
	for (unsigned long i = from; i < to; i++) {
		uint64_t *w = (uint64_t *)((char *)b->addr + (i << PAGE_SHIFT));

		w[0] = page_word(b->key, i, 0);
		w[PAGE_SIZE / 8 - 1] = page_word(b->key, i, 1);
	}
}

FUZZ_NO_COVERAGE
static void verify_pages(const struct block *b, unsigned long to,
			 const char *when)
{
	for (unsigned long i = 0; i < to; i++) {
		const uint64_t *w = (const uint64_t *)((const char *)b->addr +
						       (i << PAGE_SHIFT));

		if (w[0] != page_word(b->key, i, 0) ||
		    w[PAGE_SIZE / 8 - 1] != page_word(b->key, i, 1))
			fuzz_fail("%s: block %p (%lu pages): page %lu overwritten",
				  when, b->addr, b->nr_pages, i);
	}
}

static void verify_all(const char *when)
{
	for (int i = 0; i < NR_BLOCKS; i++)
		if (blocks[i].addr)
			verify_pages(&blocks[i], blocks[i].nr_pages, when);
}

/* ---------------------------------------------------------- checks */

static unsigned long free_pages_now(void)
{
	unsigned long n = 0;

	for_each_zone(zone) {
		zone_lock(zone);
		n += zone->nr_free_pages;
		zone_unlock(zone);
	}
	return n;
}

static void report_line(void *opaque, const char *line)
{
	fprintf(stderr, "fuzz: %s: %s\n", (const char *)opaque, line);
}

static void check_all(const char *when)
{
	static char buf[4096];
	struct mc_live live[NR_BLOCKS];
	size_t nr = 0;
	struct seq_buf s;
	unsigned long bad;

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	bad = check_all_zones(&s);
	if (bad)
		fuzz_fail("%s: check_all_zones: %lu violations:\n%s", when, bad,
			  seq_buf_str(&s));
	for (int i = 0; i < NR_BLOCKS; i++) {
		if (!blocks[i].addr)
			continue;
		live[nr].addr = (uintptr_t)blocks[i].addr;
		live[nr].nr_pages = blocks[i].nr_pages;
		live[nr].order = blocks[i].order;
		live[nr].migratetype = -1;
		nr++;
	}
	bad = 0;
	for_each_zone(zone)
		if (populated_zone(zone))
			bad += mc_check_zone(zone, live, nr,
					     MC_LIVE_COMPLETE | MC_SCAN_PAGES,
					     report_line, (void *)when);
	if (bad)
		fuzz_fail("%s: model_check: %lu violations (above)", when, bad);
}

FUZZ_NO_COVERAGE
static size_t first_nonzero_word(const uint64_t *w, size_t words)
{
	size_t i = 0;

	while (i < words && !w[i])
		i++;
	return i;
}

static void check_new_block(const struct block *b, gfp_t gfp, const char *call)
{
	uintptr_t a = (uintptr_t)b->addr;
	unsigned long align_pages = b->kind == K_PAGES ? 1UL << b->order : 1;

	fuzz_check(a % (align_pages << PAGE_SHIFT) == 0,
		   "%s: %p not aligned to order %u", call, b->addr, b->order);
	if (gfp & __GFP_LOW32)
		fuzz_check(a + (b->nr_pages << PAGE_SHIFT) <= LOW32_END,
			   "%s: LOW32 block %p above 4 GiB", call, b->addr);
	for (int i = 0; i < NR_BLOCKS; i++) {
		const struct block *o = &blocks[i];

		if (o == b || !o->addr)
			continue;
		if (a < (uintptr_t)o->addr + (o->nr_pages << PAGE_SHIFT) &&
		    (uintptr_t)o->addr < a + (b->nr_pages << PAGE_SHIFT))
			fuzz_fail("%s: block %p (%lu pages) overlaps %p (%lu pages)",
				  call, b->addr, b->nr_pages, o->addr,
				  o->nr_pages);
	}
	if (gfp & __GFP_ZERO) {
		size_t words = (b->nr_pages << PAGE_SHIFT) / 8;
		size_t i = first_nonzero_word(b->addr, words);

		fuzz_check(i == words, "%s: __GFP_ZERO block %p: word %zu",
			   call, b->addr, i);
	}
}

/* --------------------------------------------------------- operands */

static gfp_t get_gfp(struct fuzz_input *in, unsigned int *owner)
{
	uint16_t v = fuzz_u16(in);
	gfp_t gfp = v & GFP_PUBLIC_MASK;

	if (v & 0x100)
		gfp |= __GFP_HIGHATOMIC;
	switch ((v >> 9) % 4) {
	case 0: *owner = 0; break;
	case 1: *owner = PG_large_kmalloc; gfp |= __GFP_LARGE_KMALLOC; break;
	case 2: *owner = PG_page_api; gfp |= __GFP_PAGE_API; break;
	default: *owner = 0; gfp |= GFP_OWNER_MASK; break;	/* EINVAL */
	}
	return gfp;
}

static bool gfp_invalid(gfp_t gfp)
{
	return (gfp & GFP_MOVABLE_MASK) == GFP_MOVABLE_MASK ||
	       (gfp & GFP_OWNER_MASK) == GFP_OWNER_MASK;
}

/* May this request fail with ENOMEM, by the model? NOWAIT and NORETRY
 * may give up early; LOW32 lives on its zone's share of the budget (with
 * 64 MiB, 1024 pages, half of them charged for the zone's descriptors:
 * no free order-9 block even with nothing allocated). */
static bool may_fail(gfp_t gfp, unsigned long pages)
{
	return (gfp & (__GFP_NOWAIT | __GFP_NORETRY | __GFP_LOW32)) ||
	       live_pages + pages > SAFE_PAGES;
}

/* ------------------------------------------------------- operations */

static void block_clear(struct block *b);

static void take(struct block *b, void *addr, enum kind kind,
		 unsigned long nr, unsigned int order, size_t size,
		 unsigned int owner, gfp_t gfp, const char *call)
{
	b->addr = addr;
	b->kind = kind;
	b->nr_pages = nr;
	b->order = order;
	b->size = size;
	b->owner = owner;
	b->key = next_key++;
	check_new_block(b, gfp, call);
	pattern_pages(b, 0, nr);
	live_pages += nr;
}

static void failed(void *p, bool einval, bool may, gfp_t gfp, size_t what,
		   const char *call)
{
	int e = errno;

	fuzz_check(p == NULL, "%s(%zu, gfp %#x) = %p, expected EINVAL", call,
		   what, gfp, p);
	if (einval) {
		fuzz_check(e == EINVAL, "%s(%zu, gfp %#x): errno %d", call, what,
			   gfp, e);
		return;
	}
	fuzz_check(may, "%s(%zu, gfp %#x) failed (errno %d) with %lu pages "
		   "live of a budget of %lu", call, what, gfp, e, live_pages,
		   BUDGET_PAGES);
	fuzz_check(e == ENOMEM, "%s(%zu, gfp %#x): errno %d", call, what, gfp, e);
}

static void op_alloc(struct fuzz_input *in, struct block *b)
{
	unsigned int owner, order = fuzz_u8(in) % (MAX_PAGE_ORDER + 3);
	gfp_t gfp = get_gfp(in, &owner);
	bool einval = order > MAX_PAGE_ORDER || gfp_invalid(gfp);
	struct page *page;

	block_clear(b);
	errno = 0;
	page = alloc_pages(gfp, order);
	if (!page || einval) {
		failed(page, einval, may_fail(gfp, 1UL << order), gfp, order,
		       "alloc_pages");
		return;
	}
	take(b, page_address(page), K_PAGES, 1UL << order, order, 0, owner, gfp,
	     "alloc_pages");
}

static void op_alloc_exact(struct fuzz_input *in, struct block *b)
{
	unsigned int owner, align_order = fuzz_u8(in) % 16;
	size_t size = fuzz_u32(in) % ((MAX_ORDER_NR_PAGES << PAGE_SHIFT) + 8193);
	gfp_t gfp = get_gfp(in, &owner);
	bool einval, aligned = align_order <= MAX_PAGE_ORDER + 1;
	unsigned long nr = size ? (size + PAGE_SIZE - 1) >> PAGE_SHIFT : 1;
	void *p;

	if (!aligned)
		align_order = 0;
	einval = size > (MAX_ORDER_NR_PAGES << PAGE_SHIFT) ||
		 align_order > MAX_PAGE_ORDER || gfp_invalid(gfp);
	block_clear(b);
	errno = 0;
	p = aligned ? alloc_pages_exact_aligned(size, align_order, gfp) :
		      alloc_pages_exact(size, gfp);
	if (!p || einval) {
		failed(p, einval, may_fail(gfp, 1UL << order_of(nr)), gfp, size,
		       "alloc_pages_exact");
		return;
	}
	fuzz_check((uintptr_t)p % (PAGE_SIZE << align_order) == 0,
		   "alloc_pages_exact_aligned(%zu, %u) = %p", size, align_order, p);
	take(b, p, K_EXACT, nr, order_of(nr), size, owner, gfp,
	     "alloc_pages_exact");
}

/* Free b as it was allocated. */
static void block_free(struct block *b, const char *when)
{
	bool ok;

	verify_pages(b, b->nr_pages, when);
	if (b->kind == K_PAGES)
		ok = free_pages_owned(virt_to_page(b->addr), b->order, b->owner);
	else
		ok = free_pages_exact_owned(b->addr, b->size, b->owner);
	fuzz_check(ok, "%s: free of %p (%lu pages, owner %#x) refused", when,
		   b->addr, b->nr_pages, b->owner);
	live_pages -= b->nr_pages;
	b->addr = NULL;
}

static void block_clear(struct block *b)
{
	if (b->addr)
		block_free(b, "before reuse");
}

/* Is there a live block that a free of (addr, order or size, owner) names? */
static bool names_live(uintptr_t addr, enum kind kind, unsigned int order,
		       size_t size, unsigned int owner)
{
	for (int i = 0; i < NR_BLOCKS; i++) {
		const struct block *b = &blocks[i];

		if (!b->addr || (uintptr_t)b->addr != addr || b->owner != owner)
			continue;
		if (kind == K_PAGES && b->nr_pages == 1UL << order)
			return true;
		if (kind == K_EXACT && b->nr_pages ==
		    (size ? (size + PAGE_SIZE - 1) >> PAGE_SHIFT : 1))
			return true;
	}
	return false;
}

/* A free that must be refused: b's block (or the address it had) with
 * another order, size or owner, or one of its interior pages. */
static void op_bad_free(struct fuzz_input *in, struct block *b)
{
	uint8_t how = fuzz_u8(in);
	uintptr_t addr = (uintptr_t)b->addr;
	unsigned int order = b->order, owner = b->owner;
	size_t size = b->size;
	enum kind kind = how & 1 ? K_EXACT : K_PAGES;
	unsigned long before;
	struct page *page;
	bool ok;

	if (!addr)
		return;
	switch ((how >> 1) % 4) {
	case 0:
		order = (order + 1 + fuzz_u8(in) % MAX_PAGE_ORDER) %
			(MAX_PAGE_ORDER + 2);
		size = ((size_t)1 << order) * PAGE_SIZE - fuzz_u8(in);
		break;
	case 1:
		addr += (fuzz_u8(in) % b->nr_pages) << PAGE_SHIFT;
		break;
	case 2:
		owner = (owner + PG_large_kmalloc) & PG_OWNER_MASK;
		break;
	default:
		addr += 1 + fuzz_u8(in);	/* not a page boundary */
		break;
	}
	if (names_live(addr, kind, order, size, owner))
		return;
	page = virt_to_page((void *)addr);
	if (!page)
		return;
	drain_all_pages(NULL);
	before = free_pages_now();
	if (kind == K_PAGES)
		ok = addr % PAGE_SIZE == 0 && free_pages_owned(page, order, owner);
	else
		ok = free_pages_exact_owned((void *)addr, size, owner);
	fuzz_check(!ok, "a free of %#lx (%s, order %u, size %zu, owner %#x) "
		   "was taken; the live block is %p, order %u, %lu pages, "
		   "owner %#x", (unsigned long)addr, kind == K_PAGES ? "pages" :
		   "exact", order, size, owner, b->addr, b->order, b->nr_pages,
		   b->owner);
	drain_all_pages(NULL);
	fuzz_check(free_pages_now() == before, "a refused free changed the "
		   "free pages: %lu -> %lu", before, free_pages_now());
	verify_pages(b, b->nr_pages, "after a refused free");
}

static void op_free(struct fuzz_input *in, struct block *b)
{
	if (b->addr)
		block_free(b, "before free");
}

static void op_resize(struct fuzz_input *in, struct block *b)
{
	size_t size = fuzz_u32(in) % ((MAX_ORDER_NR_PAGES << PAGE_SHIFT) + 1);
	unsigned long nr = size ? (size + PAGE_SIZE - 1) >> PAGE_SHIFT : 1;
	unsigned long old;
	bool ok;

	if (!b->addr || b->kind != K_EXACT)
		return;
	if (nr > b->nr_pages && live_pages + nr - b->nr_pages > BUDGET_PAGES)
		return;
	verify_pages(b, b->nr_pages, "before resize");
	ok = resize_pages_exact_owned(b->addr, b->size, size, b->owner);
	if (!ok) {
		fuzz_check(nr > b->nr_pages, "shrinking %p from %lu to %lu "
			   "pages refused", b->addr, b->nr_pages, nr);
		verify_pages(b, b->nr_pages, "after a refused resize");
		return;
	}
	verify_pages(b, nr < b->nr_pages ? nr : b->nr_pages, "after resize");
	old = b->nr_pages;
	b->nr_pages = nr;
	b->order = order_of(nr);
	b->size = size;
	if (nr > old) {
		/* The pages it grew into must be no other block's. */
		check_new_block(b, 0, "resize_pages_exact");
		pattern_pages(b, old, nr);
	}
	live_pages = live_pages - old + nr;
}

/* Every block freed, the lists drained: each zone is whole again. */
static void check_whole(void)
{
	drain_all_pages(NULL);
	for_each_zone(zone) {
		unsigned long max_blocks, present, reserved;

		zone_lock(zone);
		max_blocks = zone->free_area[MAX_PAGE_ORDER].nr_free;
		present = zone->present_pages;
		reserved = zone->nr_reserved_highatomic;
		zone_unlock(zone);
		fuzz_check(max_blocks * MAX_ORDER_NR_PAGES == present,
			   "zone %s: %lu blocks of order %d for %lu pages with "
			   "nothing allocated", zone->name, max_blocks,
			   MAX_PAGE_ORDER, present);
		fuzz_check(reserved == 0, "zone %s: %lu reserved pages left",
			   zone->name, reserved);
	}
}

/* ------------------------------------------------------------ driver */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Before the core starts: a small budget, no reclaim thread, no
	 * decay (so that a run depends on its input only). */
	core_config.limit = BUDGET_PAGES << PAGE_SHIFT;
	core_config.reclaim_threads = 0;
	core_config.decay_ms = 0;
	buddy_core_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size, 0 };

	while (!fuzz_done(&in)) {
		uint8_t op = fuzz_u8(&in);
		struct block *b = &blocks[fuzz_u8(&in) % NR_BLOCKS];

		switch (op % 8) {
		case 0:
		case 1:
			op_alloc(&in, b);
			break;
		case 2:
			op_alloc_exact(&in, b);
			break;
		case 3:
			op_free(&in, b);
			break;
		case 4:
			op_bad_free(&in, b);
			break;
		case 5:
			op_resize(&in, b);
			break;
		case 6:
			if (op & 0x80) {
				release_free_pages();
				verify_all("after release_free_pages");
			} else {
				drain_all_pages(NULL);
			}
			break;
		default:
			verify_all("check");
			check_all("check");
			break;
		}
		reclaim_work_check();
	}
	for (int i = 0; i < NR_BLOCKS; i++)
		block_clear(&blocks[i]);
	fuzz_check(live_pages == 0, "model: %lu pages left", live_pages);
	check_whole();
	check_all("at the end");
	return 0;
}
