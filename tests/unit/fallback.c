/*
 * fallback.c - what an allocation does when its own migrate type has
 * nothing free (__rmqueue_fallback and friends, after the kernel's
 * mm/page_alloc.c since 6.10):
 *   - the fallback table: UNMOVABLE -> RECLAIMABLE, MOVABLE;
 *     MOVABLE -> RECLAIMABLE, UNMOVABLE; RECLAIMABLE -> UNMOVABLE, MOVABLE;
 *   - stealing takes the largest free block of the fallback type;
 *   - a block of pageblock order or more changes type whole; a smaller one
 *     claims its pageblock when free + alike pages >= half of it, for
 *     UNMOVABLE/RECLAIMABLE requests or from blocks of order >=
 *     pageblock_order / 2; otherwise one block is taken without changing
 *     any pageblock, and a MOVABLE request takes the smallest;
 *   - the HIGHATOMIC reserve: __GFP_HIGHATOMIC allocations reserve their
 *     pageblock; ordinary ones use it only when the zone cannot grow.
 *
 * NORMAL is held to 2 sections (core_config.zone_max_sections), so the
 * last resort really comes. Every test but the last starts from a pristine
 * zone whose max-order blocks the test sets to the types it needs.
 */
#include "unit_util.h"

static struct zone *zone;

#define NORMAL_SECTIONS	2

static gfp_t gfp_of(int mt)
{
	return mt == MIGRATE_MOVABLE ? __GFP_MOVABLE :
	       mt == MIGRATE_RECLAIMABLE ? __GFP_RECLAIMABLE : 0;
}

static unsigned long pfn_of(const struct page *page)
{
	return page_to_pfn(page);
}

static unsigned long nr_free_type(int mt)
{
	struct zone_counts c;

	zone_counts(zone, &c);
	return c.nr_free_type[mt];
}

/* ------------------------------------------------------- held blocks */

#define MAX_HELD	512
static struct held held[MAX_HELD];
static int held_mt[MAX_HELD];
static size_t nr_held;

static struct page *hold(gfp_t gfp, unsigned int order)
{
	struct page *page = alloc_pages(gfp, order);

	if (page && nr_held < MAX_HELD) {
		held[nr_held].page = page;
		held[nr_held].order = order;
		held_mt[nr_held] = test_gfp_migratetype(gfp);
		nr_held++;
	}
	return page;
}

static void release(struct page *page)
{
	for (size_t i = 0; i < nr_held; i++)
		if (held[i].page == page) {
			expect_true(free_pages_checked(page, held[i].order),
				    "free pfn %#lx", pfn_of(page));
			held[i] = held[--nr_held];
			held_mt[i] = held_mt[nr_held];
			return;
		}
	test_fail("pfn %#lx is not held", pfn_of(page));
}

static void expect_state_consistent(const char *what)
{
	struct mc_live live[MAX_HELD];

	for (size_t i = 0; i < nr_held; i++)
		live[i] = held_live(&held[i], held_mt[i]);
	expect_consistent(live, nr_held, what);
}

static void release_all(const char *what)
{
	expect_state_consistent(what);
	while (nr_held)
		release(held[nr_held - 1].page);
	expect_pristine(zone, what);
	expect_consistent(NULL, 0, what);
}

/*
 * Give a pristine zone's max-order blocks the types a test needs: nr_unmov
 * UNMOVABLE, nr_recl RECLAIMABLE, the rest MOVABLE. A free block of
 * pageblock order or more changing type whole is what the allocator itself
 * does when it steals one (change_pageblock_range, then the block moves to
 * its new list), so the state stays consistent.
 */
static void set_block_types(unsigned long nr_unmov, unsigned long nr_recl)
{
	struct page *blocks[NORMAL_SECTIONS * PAGES_PER_SECTION / MAX_ORDER_NR_PAGES];
	unsigned long n = 0;

	assert_true(zone_pristine(zone), "set_block_types needs a pristine zone");
	zone_lock(zone);
	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
		struct page *page;

		cds_list_for_each_entry(page,
				&zone->free_area[MAX_PAGE_ORDER].free_list[mt], lru)
			if (n < sizeof(blocks) / sizeof(blocks[0]))
				blocks[n++] = page;
	}
	for (unsigned long i = 0; i < n; i++) {
		int mt = i < nr_unmov ? MIGRATE_UNMOVABLE :
			 i < nr_unmov + nr_recl ? MIGRATE_RECLAIMABLE :
			 MIGRATE_MOVABLE;

		if (blocks[i]->migratetype == mt)
			continue;
		change_pageblock_range(blocks[i], MAX_PAGE_ORDER, mt);
		__move_to_free_list(blocks[i], zone, MAX_PAGE_ORDER, mt);
	}
	zone_unlock(zone);
	assert_lu_ge(n, nr_unmov + nr_recl, "enough max-order blocks");
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), nr_unmov * MAX_ORDER_NR_PAGES,
		     "UNMOVABLE blocks set");
	expect_lu_eq(nr_free_type(MIGRATE_RECLAIMABLE), nr_recl * MAX_ORDER_NR_PAGES,
		     "RECLAIMABLE blocks set");
	expect_lu_eq(core_check_diag(), 0, "retyped blocks are consistent");
}

/* Hold every free max-order block of type mt but keep_nr of them. */
static void hold_blocks_of(int mt, unsigned long keep_nr)
{
	while (nr_free_type(mt) > keep_nr * MAX_ORDER_NR_PAGES) {
		unsigned long before = nr_free_type(mt);

		assert_ptr_not_null(hold(gfp_of(mt), MAX_PAGE_ORDER), "order 10");
		assert_lu_eq(before - nr_free_type(mt), MAX_ORDER_NR_PAGES,
			     "a block of type %s came from its own list",
			     migratetype_name(mt));
	}
}

/* The head of the only free max-order block of type mt. */
static struct page *only_block_of(int mt)
{
	struct cds_list_head *head = &zone->free_area[MAX_PAGE_ORDER].free_list[mt];
	struct page *page = NULL;

	zone_lock(zone);
	if (!cds_list_empty(head) && head->next->next == head)
		page = cds_list_first_entry(head, struct page, lru);
	zone_unlock(zone);
	return page;
}

/* --------------------------------------------------------------- tests */

/* The first allocation brings a section online: all MOVABLE. */
TEST_BEGIN(test_setup_first_section)
{
	struct page *page = alloc_pages(__GFP_MOVABLE, 0);

	assert_ptr_not_null(page, "first allocation");
	expect_true(free_pages_checked(page, 0), "free it");
	expect_pristine(zone, "after the first allocation");
	expect_lu_eq(zone->nr_sections, 1, "one section");
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), PAGES_PER_SECTION,
		     "all MOVABLE");
}
TEST_END

static const struct {
	int start, first, second;
} table[] = {
	{ MIGRATE_UNMOVABLE,   MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE },
	{ MIGRATE_MOVABLE,     MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE },
	{ MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE,   MIGRATE_MOVABLE },
};

/* Give start no free block, first one, second the rest: an allocation of
 * start takes first's; with first gone too, second's. */
TEST_BEGIN(test_fallback_table)
{
	const unsigned long nr_blocks = PAGES_PER_SECTION / MAX_ORDER_NR_PAGES;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int s = table[i].start, f1 = table[i].first, f2 = table[i].second;
		unsigned long nr[MIGRATE_PCPTYPES] = { 0 };
		struct page *victim, *page;

		/* start: 0 blocks, first: 1, second: the rest. */
		nr[f1] = 1;
		nr[f2] = nr_blocks - 1;
		set_block_types(nr[MIGRATE_UNMOVABLE], nr[MIGRATE_RECLAIMABLE]);
		victim = only_block_of(f1);
		assert_ptr_not_null(victim, "%s has one block",
				    migratetype_name(f1));

		page = hold(gfp_of(s), 0);
		assert_ptr_not_null(page, "%s order 0", migratetype_name(s));
		expect_ptr_eq(page, victim,
			      "%s falls back to %s first (its only block), not "
			      "to %s (%lu blocks)", migratetype_name(s),
			      migratetype_name(f1), migratetype_name(f2),
			      nr[f2]);
		expect_d_eq(block_type_of(page_address(page)), s,
			    "the max-order block became %s whole",
			    migratetype_name(s));
		expect_d_eq(block_type_of((char *)page_address(page) +
					  (pageblock_nr_pages << PAGE_SHIFT)), s,
			    "both of its pageblocks");
		expect_lu_eq(nr_free_type(f1), 0, "%s has nothing left",
			     migratetype_name(f1));
		expect_lu_eq(nr_free_type(f2), nr[f2] * MAX_ORDER_NR_PAGES,
			     "%s untouched", migratetype_name(f2));
		expect_lu_eq(nr_free_type(s), MAX_ORDER_NR_PAGES - 1,
			     "the rest of the block is free as %s",
			     migratetype_name(s));
		release_all("first fallback");

		/* start and first: no block; second: all. */
		memset(nr, 0, sizeof(nr));
		nr[f2] = nr_blocks;
		set_block_types(nr[MIGRATE_UNMOVABLE], nr[MIGRATE_RECLAIMABLE]);
		page = hold(gfp_of(s), 0);
		assert_ptr_not_null(page, "%s order 0", migratetype_name(s));
		expect_d_eq(block_type_of(page_address(page)), s,
			    "%s took a block of %s", migratetype_name(s),
			    migratetype_name(f2));
		expect_lu_eq(nr_free_type(f2), (nr_blocks - 1) * MAX_ORDER_NR_PAGES,
			     "one block of %s taken", migratetype_name(f2));
		release_all("second fallback");
	}
	set_block_types(0, 0);
}
TEST_END

/*
 * One MOVABLE max-order block M split by an order-0 allocation: free blocks
 * of orders 0..9 in it, nothing else free. An UNMOVABLE request takes the
 * largest, M + 512 (order 9), whose pageblock becomes UNMOVABLE whole; then
 * a RECLAIMABLE request prefers that UNMOVABLE pageblock (its first
 * fallback) to the MOVABLE one, though both offer order 8.
 */
TEST_BEGIN(test_steal_takes_the_largest_block)
{
	struct page *m, *u, *r;
	unsigned long pfn;

	set_block_types(0, 0);
	hold_blocks_of(MIGRATE_MOVABLE, 1);
	m = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(m, "M");
	pfn = pfn_of(m);

	u = hold(0, 0);
	assert_ptr_not_null(u, "UNMOVABLE order 0");
	expect_lx_eq(pfn_of(u), pfn + pageblock_nr_pages,
		     "the largest block, M + 512 (order 9), was stolen");
	expect_d_eq(block_type_of(page_address(u)), MIGRATE_UNMOVABLE,
		    "its pageblock is UNMOVABLE");
	expect_d_eq(block_type_of(page_address(m)), MIGRATE_MOVABLE,
		    "M's own pageblock stays MOVABLE");
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), pageblock_nr_pages - 1,
		     "orders 0..8 free as UNMOVABLE");
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), pageblock_nr_pages - 1,
		     "orders 0..8 free as MOVABLE");

	r = hold(__GFP_RECLAIMABLE, 0);
	assert_ptr_not_null(r, "RECLAIMABLE order 0");
	expect_d_eq(block_type_of(page_address(r)), MIGRATE_RECLAIMABLE,
		    "RECLAIMABLE claimed a pageblock");
	expect_lx_eq(pfn_of(r) & ~(pageblock_nr_pages - 1), pfn + pageblock_nr_pages,
		     "the UNMOVABLE one (RECLAIMABLE's first fallback)");
	expect_lx_eq(pfn_of(r), pfn + pageblock_nr_pages + 1,
		     "and its smallest free block after the claim");
	expect_d_eq(block_type_of(page_address(m)), MIGRATE_MOVABLE,
		    "M's pageblock still MOVABLE");
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), 0,
		     "the UNMOVABLE free pages moved with the claim");
	release_all("after stealing the largest");
	set_block_types(0, 0);
}
TEST_END

/*
 * A MOVABLE pageblock with 511 pages free and 1 allocated: an UNMOVABLE
 * request whose fallback block is below pageblock order claims the whole
 * pageblock (free >= half), moving every free page to UNMOVABLE.
 */
TEST_BEGIN(test_claim_a_mostly_free_pageblock)
{
	struct page *m, *top, *u;

	set_block_types(0, 0);
	hold_blocks_of(MIGRATE_MOVABLE, 1);
	m = hold(__GFP_MOVABLE, 0);
	top = hold(__GFP_MOVABLE, pageblock_order);
	assert_ptr_not_null(m, "M");
	assert_ptr_not_null(top, "M + 512");
	expect_lx_eq(pfn_of(top), pfn_of(m) + pageblock_nr_pages, "upper pageblock");
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), pageblock_nr_pages - 1,
		     "511 pages free, all in M's pageblock");

	u = hold(0, 0);
	assert_ptr_not_null(u, "UNMOVABLE order 0");
	expect_d_eq(block_type_of(page_address(m)), MIGRATE_UNMOVABLE,
		    "the pageblock was claimed");
	expect_lx_eq(pfn_of(u), pfn_of(m) + 1, "the smallest block after the claim");
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), 0, "no MOVABLE page left free");
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), pageblock_nr_pages - 2,
		     "the other free pages moved to UNMOVABLE");
	expect_u_eq(m->migratetype, MIGRATE_MOVABLE,
		    "M's own head keeps the type it asked for");
	release_all("after the claim");
	set_block_types(0, 0);
}
TEST_END

/*
 * The half-pageblock threshold, both sides, with "alike" pages: for an
 * UNMOVABLE request in a MOVABLE pageblock, alike = the allocated pages that
 * are not movable. Build (in M's pageblock, 512 pages):
 *   a = M (MOVABLE, 1 page), c = M + 256 (MOVABLE, 256 pages),
 *   d = M + 128 (UNMOVABLE, 128 pages, stolen singly: free 255 < 256),
 *   free: M + 1 .. M + 127 (127 pages).
 * free + alike = 127 + 128 = 255: no claim, the smallest block is taken.
 * Free a: 128 + 128 = 256: the pageblock is claimed.
 */
TEST_BEGIN(test_claim_threshold_counts_alike_pages)
{
	struct page *a, *top, *c, *d, *e, *f;
	unsigned long m;

	set_block_types(0, 0);
	hold_blocks_of(MIGRATE_MOVABLE, 1);
	a = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(a, "a");
	m = pfn_of(a);
	top = hold(__GFP_MOVABLE, pageblock_order);
	c = hold(__GFP_MOVABLE, 8);
	assert_ptr_not_null(top, "upper pageblock");
	assert_ptr_not_null(c, "c");
	expect_lx_eq(pfn_of(c), m + 256, "c = M + 256");
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), 255, "255 pages free");

	/* free 255 + alike 0 < 256: d is stolen singly. */
	d = hold(0, 7);
	assert_ptr_not_null(d, "d, UNMOVABLE order 7");
	expect_lx_eq(pfn_of(d), m + 128, "d = M + 128");
	expect_d_eq(block_type_of(page_address(a)), MIGRATE_MOVABLE,
		    "no claim with 255 free pages");
	expect_u_eq(d->migratetype, MIGRATE_UNMOVABLE, "d's head says UNMOVABLE");
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), 0, "no UNMOVABLE list grew");

	/* free 127 + alike 128 = 255: no claim; smallest block, M + 1. */
	e = hold(0, 0);
	assert_ptr_not_null(e, "e");
	expect_lx_eq(pfn_of(e), m + 1, "the smallest block was taken");
	expect_d_eq(block_type_of(page_address(a)), MIGRATE_MOVABLE,
		    "no claim at 255 of 256");
	release(e);

	/* a back: M..M+127 merges into one order-7 block. */
	release(a);
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), 128, "128 pages free");
	f = hold(0, 0);
	assert_ptr_not_null(f, "f");
	expect_d_eq(block_type_of(page_address(f)), MIGRATE_UNMOVABLE,
		    "claimed at 256 of 256 (128 free + 128 alike)");
	expect_lx_eq(pfn_of(f), m, "f = M, split from the claimed order-7 block");
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), 0, "nothing MOVABLE left free");
	release_all("after the threshold");
	set_block_types(0, 0);
}
TEST_END

/*
 * An UNMOVABLE pageblock B with only free blocks of orders 0..3 (B+1, B+2,
 * B+4, B+8): a MOVABLE request cannot claim from blocks below
 * pageblock_order / 2, so it takes the smallest block that fits, leaving
 * the pageblock UNMOVABLE and the split-off parts on the UNMOVABLE lists.
 */
TEST_BEGIN(test_movable_steals_the_smallest_block)
{
	struct page *b, *p0, *p1, *p2;
	unsigned long pfn;
	struct zone_counts c;

	set_block_types(PAGES_PER_SECTION / MAX_ORDER_NR_PAGES, 0);
	hold_blocks_of(MIGRATE_UNMOVABLE, 1);
	b = hold(0, 0);
	assert_ptr_not_null(b, "B");
	pfn = pfn_of(b);
	for (unsigned int o = pageblock_order; o >= 4; o--)
		assert_ptr_not_null(hold(0, o), "UNMOVABLE order %u", o);
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), 15, "orders 0..3 free");
	expect_lu_eq(nr_free_type(MIGRATE_MOVABLE), 0, "no MOVABLE page free");

	p0 = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(p0, "MOVABLE order 0");
	expect_lx_eq(pfn_of(p0), pfn + 1, "the order-0 block, not a split of order 3");
	expect_d_eq(block_type_of(page_address(b)), MIGRATE_UNMOVABLE,
		    "the pageblock stays UNMOVABLE");
	expect_u_eq(p0->migratetype, MIGRATE_MOVABLE, "the head says MOVABLE");

	p1 = hold(__GFP_MOVABLE, 1);
	assert_ptr_not_null(p1, "MOVABLE order 1");
	expect_lx_eq(pfn_of(p1), pfn + 2, "the order-1 block");

	p2 = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(p2, "MOVABLE order 0 again");
	expect_lx_eq(pfn_of(p2), pfn + 4, "split from the order-2 block");
	zone_counts(zone, &c);
	expect_lu_eq(c.len[0][MIGRATE_UNMOVABLE], 1, "B+5 on the UNMOVABLE list");
	expect_lu_eq(c.len[1][MIGRATE_UNMOVABLE], 1, "B+6 on the UNMOVABLE list");
	expect_lu_eq(c.nr_free_type[MIGRATE_MOVABLE], 0,
		     "nothing moved to MOVABLE");
	expect_d_eq(block_type_of(page_address(b)), MIGRATE_UNMOVABLE,
		    "the pageblock is still UNMOVABLE");
	release_all("after single steals");
}
TEST_END

/* From a block of order >= pageblock_order / 2 a MOVABLE request may
 * claim: an UNMOVABLE pageblock with 511 pages free becomes MOVABLE. */
TEST_BEGIN(test_movable_claims_from_a_large_block)
{
	struct page *b, *top, *p;

	set_block_types(PAGES_PER_SECTION / MAX_ORDER_NR_PAGES, 0);
	hold_blocks_of(MIGRATE_UNMOVABLE, 1);
	b = hold(0, 0);
	top = hold(0, pageblock_order);
	assert_ptr_not_null(b, "B");
	assert_ptr_not_null(top, "B + 512");
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), 511, "511 pages free");

	p = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(p, "MOVABLE order 0");
	expect_d_eq(block_type_of(page_address(b)), MIGRATE_MOVABLE,
		    "claimed: the largest fallback block was order 8 >= 4");
	expect_lx_eq(pfn_of(p), pfn_of(b) + 1, "the smallest after the claim");
	expect_lu_eq(nr_free_type(MIGRATE_UNMOVABLE), 0, "UNMOVABLE emptied");
	release_all("after the MOVABLE claim");
	set_block_types(0, 0);
}
TEST_END

/* Does the zone have a free block of order >= k outside the reserve? */
static bool ordinary_free_block(unsigned int k)
{
	struct zone_counts c;

	zone_counts(zone, &c);
	for (unsigned int o = k; o < NR_PAGE_ORDERS; o++)
		for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
			if (c.len[o][mt])
				return true;
	return false;
}

/* Ordinary allocations of every order, cycling through the types, until
 * nothing but the reserve is free; none may land in the reserve. */
static void fill_ordinary(unsigned long reserve_pfn, unsigned int *nth)
{
	for (int k = MAX_PAGE_ORDER; k >= 0; k--)
		while (ordinary_free_block((unsigned int)k)) {
			static const gfp_t gfps[] = { 0, __GFP_MOVABLE,
						      __GFP_RECLAIMABLE };
			struct page *p = hold(gfps[(*nth)++ % 3], (unsigned int)k);

			assert_ptr_not_null(p, "ordinary order %d", k);
			assert_ptr_eq(page_zone(p), zone, "stays in NORMAL");
			expect_lx_ne(pfn_of(p) & ~(pageblock_nr_pages - 1),
				     reserve_pfn, "an ordinary allocation "
				     "(order %d) used the reserve", k);
		}
}

TEST_BEGIN(test_highatomic_reserve)
{
	struct page *h1, *h2, *h3, *last;
	unsigned long rpfn;
	unsigned int nth = 0;
	struct zone_counts c;

	set_block_types(0, 0);
	h1 = hold(__GFP_HIGHATOMIC, 0);
	assert_ptr_not_null(h1, "HIGHATOMIC order 0");
	rpfn = pfn_of(h1) & ~(pageblock_nr_pages - 1);
	zone_counts(zone, &c);
	expect_d_eq(block_type_of(page_address(h1)), MIGRATE_HIGHATOMIC,
		    "its pageblock is reserved");
	expect_lu_eq(c.nr_reserved_highatomic, pageblock_nr_pages,
		     "one pageblock reserved");
	expect_lu_eq(c.nr_free_type[MIGRATE_HIGHATOMIC], pageblock_nr_pages - 1,
		     "the rest of the pageblock is on the HIGHATOMIC lists");
	expect_u_eq(h1->migratetype, MIGRATE_UNMOVABLE,
		    "the head records the type asked for");

	h2 = hold(__GFP_HIGHATOMIC, 0);
	assert_ptr_not_null(h2, "second HIGHATOMIC");
	expect_lx_eq(pfn_of(h2) & ~(pageblock_nr_pages - 1), rpfn,
		     "served from the reserve");
	expect_lu_eq(zone->nr_reserved_highatomic, pageblock_nr_pages,
		     "still one pageblock reserved");
	expect_state_consistent("reserve made");

	/* Use everything else in the zone's first section... */
	fill_ordinary(rpfn, &nth);
	zone_counts(zone, &c);
	expect_lu_eq(c.nr_sections, 1, "one section so far");
	expect_lu_eq(c.nr_free_pages, c.nr_free_type[MIGRATE_HIGHATOMIC],
		     "only the reserve is free");
	/* ...then the zone grows rather than touch the reserve... */
	last = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(last, "ordinary allocation with only the reserve free");
	expect_lx_ne(pfn_of(last) & ~(pageblock_nr_pages - 1), rpfn,
		     "the zone grew instead of using the reserve");
	zone_counts(zone, &c);
	expect_lu_eq(c.nr_sections, NORMAL_SECTIONS, "a second section");
	expect_lu_eq(c.nr_reserved_highatomic, pageblock_nr_pages,
		     "reserve untouched");
	/* ...and when it cannot grow, the reserve goes to ordinary use. */
	fill_ordinary(rpfn, &nth);
	zone_counts(zone, &c);
	expect_lu_eq(c.nr_free_pages, pageblock_nr_pages - 2,
		     "only the reserve is free, at the limit");
	h3 = hold(__GFP_HIGHATOMIC, 0);
	assert_ptr_not_null(h3, "HIGHATOMIC with the zone full");
	expect_lx_eq(pfn_of(h3) & ~(pageblock_nr_pages - 1), rpfn,
		     "HIGHATOMIC served from the reserve");

	/* An ordinary request tries every zone before any reserve: LOW32
	 * serves it while it has room (the kernel's order: the reserve is
	 * given back only in the slow path, after the whole zonelist). */
	last = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(last, "ordinary allocation with NORMAL full");
	expect_d_eq(page_zone(last)->zone_idx, ZONE_LOW32, "from LOW32 first");
	expect_lu_eq(zone->nr_reserved_highatomic, pageblock_nr_pages,
		     "reserve untouched while LOW32 has room");
	for (int k = MAX_PAGE_ORDER; k >= 0; k--)
		while (hold(__GFP_LOW32, (unsigned int)k))
			;
	last = hold(__GFP_MOVABLE, 0);
	assert_ptr_not_null(last, "ordinary allocation, last resort");
	expect_ptr_eq(page_zone(last), zone, "from NORMAL's reserve");
	expect_lx_eq(pfn_of(last) & ~(pageblock_nr_pages - 1), rpfn,
		     "from the former reserve");
	zone_counts(zone, &c);
	expect_lu_eq(c.nr_reserved_highatomic, 0, "reserve given back");
	expect_lu_eq(c.nr_free_type[MIGRATE_HIGHATOMIC], 0,
		     "no page left on the HIGHATOMIC lists");
	expect_d_eq(block_type_of(page_address(last)), MIGRATE_MOVABLE,
		    "the pageblock took the type of the request");
	expect_lu_eq(c.nr_free_pages, pageblock_nr_pages - 4,
		     "the rest of the old reserve is free, as MOVABLE");
	release_all("after the reserve");
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = NORMAL_SECTIONS;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	zone = zone_normal();
	buddy_lists_only();
	return test_run(test_setup_first_section,
			test_fallback_table,
			test_steal_takes_the_largest_block,
			test_claim_a_mostly_free_pageblock,
			test_claim_threshold_counts_alike_pages,
			test_movable_steals_the_smallest_block,
			test_movable_claims_from_a_large_block,
			test_highatomic_reserve,
			NULL);
}
