/*
 * pageblock.c - the migrate type stored per 2 MiB pageblock
 * (core/pageblock.c): get/set_pageblock_migratetype, change_pageblock_range,
 * __count_pageblock_pages and __move_freepages_block; fresh sections come
 * online as MOVABLE pageblocks.
 *
 * Types are changed only on blocks the test holds, and put back before
 * they are freed, so the zone stays consistent between tests.
 */
#include "unit_util.h"

static unsigned long pfn_of(const struct page *page)
{
	return page_to_pfn(page);
}

/* Every pageblock of every section of zone has type mt. */
static unsigned long blocks_not_of_type(struct zone *zone, int mt)
{
	unsigned long bad = 0;

	zone_lock(zone);
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next)
		for (unsigned long pfn = ms->start_pfn;
		     pfn < ms->start_pfn + PAGES_PER_SECTION;
		     pfn += pageblock_nr_pages)
			if (get_pfnblock_migratetype(pfn) != mt)
				bad++;
	zone_unlock(zone);
	return bad;
}

TEST_BEGIN(test_fresh_sections_are_movable)
{
	struct page *n = alloc_pages(0, 0);	/* UNMOVABLE: claims a block */
	struct page *l = alloc_pages(__GFP_LOW32 | __GFP_MOVABLE, 0);

	assert_ptr_not_null(n, "NORMAL");
	assert_ptr_not_null(l, "LOW32");
	expect_true(free_pages_checked(n, 0), "free");
	expect_true(free_pages_checked(l, 0), "free");
	/* n's claim turned one max-order block UNMOVABLE; all else MOVABLE. */
	expect_lu_eq(blocks_not_of_type(zone_normal(), MIGRATE_MOVABLE),
		     MAX_ORDER_NR_PAGES / pageblock_nr_pages,
		     "NORMAL: all MOVABLE but the claimed max-order block");
	expect_lu_eq(blocks_not_of_type(zone_low32(), MIGRATE_MOVABLE), 0,
		     "LOW32: a fresh section is MOVABLE throughout");
	expect_lu_eq(PAGEBLOCKS_PER_SECTION, 64, "64 pageblocks per section");
	expect_lu_eq(pageblock_nr_pages, 512, "512 pages per pageblock");
	expect_consistent(NULL, 0, "after onlining");
}
TEST_END

/* set/get round trip on a held max-order block, page by page. */
TEST_BEGIN(test_get_set_round_trip)
{
	struct zone *zone = zone_normal();
	struct page *page = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
	struct page *second;
	unsigned long pfn;
	int orig[2], before_prev, before_next;

	assert_ptr_not_null(page, "order 10");
	pfn = pfn_of(page);
	second = pfn_to_page(pfn + pageblock_nr_pages);
	zone_lock(zone);
	orig[0] = get_pageblock_migratetype(page);
	orig[1] = get_pageblock_migratetype(second);
	/* Neighbours, when they are in the same section. */
	before_prev = pfn % PAGES_PER_SECTION ?
		get_pfnblock_migratetype(pfn - 1) : -1;
	before_next = (pfn + MAX_ORDER_NR_PAGES) % PAGES_PER_SECTION ?
		get_pfnblock_migratetype(pfn + MAX_ORDER_NR_PAGES) : -1;
	zone_unlock(zone);
	expect_d_eq(orig[0], MIGRATE_MOVABLE, "allocated MOVABLE");
	expect_d_eq(orig[1], MIGRATE_MOVABLE, "both halves");

	for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
		zone_lock(zone);
		set_pageblock_migratetype(page, mt);
		zone_unlock(zone);
		/* Every page of the pageblock reads the new type; the next
		 * pageblock keeps its own. */
		for (unsigned long i = 0; i < pageblock_nr_pages; i += 37)
			expect_d_eq(get_pageblock_migratetype(page + i), mt,
				    "page %lu of the pageblock", i);
		expect_d_eq(get_pfnblock_migratetype(pfn + pageblock_nr_pages - 1),
			    mt, "last page of the pageblock");
		expect_d_eq(get_pageblock_migratetype(second), orig[1],
			    "the next pageblock is unchanged (type %d)", mt);
		expect_d_eq(get_pfnblock_migratetype(pfn), mt,
			    "get_pfnblock_migratetype agrees");
	}
	if (before_prev >= 0)
		expect_d_eq(get_pfnblock_migratetype(pfn - 1), before_prev,
			    "the pageblock before is unchanged");
	if (before_next >= 0)
		expect_d_eq(get_pfnblock_migratetype(pfn + MAX_ORDER_NR_PAGES),
			    before_next, "the pageblock after is unchanged");

	zone_lock(zone);
	set_pageblock_migratetype(page, orig[0]);
	zone_unlock(zone);
	expect_true(free_pages_checked(page, MAX_PAGE_ORDER), "free");
	expect_consistent(NULL, 0, "types restored");
}
TEST_END

TEST_BEGIN(test_change_pageblock_range)
{
	struct zone *zone = zone_normal();
	struct page *page = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
	struct page *second;

	assert_ptr_not_null(page, "order 10");
	second = page + pageblock_nr_pages;

	/* Order 10 spans two pageblocks. */
	zone_lock(zone);
	change_pageblock_range(page, MAX_PAGE_ORDER, MIGRATE_RECLAIMABLE);
	zone_unlock(zone);
	expect_d_eq(get_pageblock_migratetype(page), MIGRATE_RECLAIMABLE, "first");
	expect_d_eq(get_pageblock_migratetype(second), MIGRATE_RECLAIMABLE,
		    "second");

	/* Order 9 is one pageblock: the upper one only. */
	zone_lock(zone);
	change_pageblock_range(second, pageblock_order, MIGRATE_UNMOVABLE);
	zone_unlock(zone);
	expect_d_eq(get_pageblock_migratetype(page), MIGRATE_RECLAIMABLE,
		    "first untouched by order 9");
	expect_d_eq(get_pageblock_migratetype(second), MIGRATE_UNMOVABLE,
		    "second changed by order 9");

	zone_lock(zone);
	change_pageblock_range(page, MAX_PAGE_ORDER, MIGRATE_MOVABLE);
	zone_unlock(zone);
	expect_d_eq(get_pageblock_migratetype(page), MIGRATE_MOVABLE, "restored");
	expect_d_eq(get_pageblock_migratetype(second), MIGRATE_MOVABLE, "restored");
	expect_true(free_pages_checked(page, MAX_PAGE_ORDER), "free");
	expect_consistent(NULL, 0, "range restored");
}
TEST_END

/*
 * A pageblock with known contents, from a pristine MOVABLE block M:
 *   a = M      MOVABLE order 0 (1 page)
 *   b = M + 8  MOVABLE order 3 (8 pages)
 *   c = M + 16 MOVABLE exact, 5 pages (order 3; the tail goes back)
 *   u = M + 32 RECLAIMABLE order 4 (16 pages), its head retyped by hand
 *              as if it were stolen singly
 * free: the other 512 - 30 = 482 pages of the pageblock. num_movable
 * counts a, b and c's pages: 14.
 */
TEST_BEGIN(test_count_and_move_freepages_block)
{
	struct zone *zone = zone_normal();
	struct page *a, *b, *u;
	void *c;
	unsigned long m, free_pages, movable = 12345, moved;
	struct zone_counts before, now;
	struct mc_live live[4];

	assert_true(zone_pristine(zone), "pristine to start");
	a = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(a, "a");
	m = pfn_of(a);
	b = alloc_pages(__GFP_MOVABLE, 3);
	c = alloc_pages_exact(5 * PAGE_SIZE, __GFP_MOVABLE);
	u = alloc_pages(__GFP_MOVABLE, 4);
	assert_ptr_not_null(b, "b");
	assert_ptr_not_null(c, "c");
	assert_ptr_not_null(u, "u");
	expect_lx_eq(pfn_of(b), m + 8, "b = M + 8");
	expect_lx_eq(addr_pfn(c), m + 16, "c = M + 16");
	expect_lx_eq(pfn_of(u), m + 32, "u = M + 32");
	u->migratetype = MIGRATE_RECLAIMABLE;	/* as if stolen singly */

	zone_lock(zone);
	free_pages = __count_pageblock_pages(a, &movable);
	zone_unlock(zone);
	expect_lu_eq(free_pages, pageblock_nr_pages - 30, "free pages counted");
	expect_lu_eq(movable, 14, "movable pages: 1 + 8 + 5");
	/* Any page of the pageblock names it. */
	zone_lock(zone);
	expect_lu_eq(__count_pageblock_pages(a + 300, NULL), free_pages,
		     "counted from a page inside");
	zone_unlock(zone);

	zone_counts(zone, &before);
	zone_lock(zone);
	moved = __move_freepages_block(zone, a + 77, MIGRATE_UNMOVABLE);
	zone_unlock(zone);
	zone_counts(zone, &now);
	expect_lu_eq(moved, free_pages, "every free page of the pageblock moved");
	expect_lu_eq(now.nr_free_type[MIGRATE_UNMOVABLE],
		     before.nr_free_type[MIGRATE_UNMOVABLE] + moved,
		     "UNMOVABLE gained them");
	expect_lu_eq(now.nr_free_type[MIGRATE_MOVABLE],
		     before.nr_free_type[MIGRATE_MOVABLE] - moved,
		     "MOVABLE lost them");
	expect_lu_eq(now.nr_free_pages, before.nr_free_pages, "no page gained or lost");
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		expect_lu_eq(now.nr_free[o], before.nr_free[o], "nr_free[%u]", o);
	expect_d_eq(get_pageblock_migratetype(a), MIGRATE_MOVABLE,
		    "the pageblock's own type is the caller's to set");
	expect_d_eq(get_pageblock_migratetype(a + pageblock_nr_pages),
		    MIGRATE_MOVABLE, "the next pageblock is not touched");
	expect_lu_eq(now.len[pageblock_order][MIGRATE_MOVABLE],
		     before.len[pageblock_order][MIGRATE_MOVABLE],
		     "M + 512 (order 9, next pageblock) stays MOVABLE");

	/* Set the type as a claim would: the state is consistent. */
	zone_lock(zone);
	set_pageblock_migratetype(a, MIGRATE_UNMOVABLE);
	zone_unlock(zone);
	live[0] = (struct mc_live){ (uintptr_t)page_address(a), 1, 0, MIGRATE_MOVABLE };
	live[1] = (struct mc_live){ (uintptr_t)page_address(b), 8, 3, MIGRATE_MOVABLE };
	live[2] = (struct mc_live){ (uintptr_t)c, 5, 3, MIGRATE_MOVABLE };
	live[3] = (struct mc_live){ (uintptr_t)page_address(u), 16, 4,
				    MIGRATE_RECLAIMABLE };
	expect_consistent(live, 4, "pageblock claimed by hand");

	/* And back. */
	zone_lock(zone);
	moved = __move_freepages_block(zone, a, MIGRATE_MOVABLE);
	set_pageblock_migratetype(a, MIGRATE_MOVABLE);
	zone_unlock(zone);
	expect_lu_eq(moved, free_pages, "moved back");
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "every counter and list length as before the move");

	expect_true(free_pages_checked(u, 4), "free u");
	expect_true(free_pages_exact_checked(c, 5 * PAGE_SIZE), "free c");
	expect_true(free_pages_checked(b, 3), "free b");
	expect_true(free_pages_checked(a, 0), "free a");
	expect_pristine(zone, "after the pageblock test");
	expect_consistent(NULL, 0, "after the pageblock test");
}
TEST_END

/* The reported type is the one stored, for every pfn of a section. */
TEST_BEGIN(test_pfnblock_lookup_agrees_with_the_section)
{
	struct zone *zone = zone_normal();
	unsigned long mismatches = 0, checked = 0;

	zone_lock(zone);
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next)
		for (unsigned long i = 0; i < PAGES_PER_SECTION; i += 7) {
			unsigned long pfn = ms->start_pfn + i;
			int want = ms->pageblock_flags[i >> pageblock_order];

			checked++;
			if (get_pfnblock_migratetype(pfn) != want ||
			    get_pageblock_migratetype(pfn_to_page(pfn)) != want)
				mismatches++;
		}
	zone_unlock(zone);
	expect_lu_gt(checked, 0, "some pfns checked");
	expect_lu_eq(mismatches, 0, "of %lu pfns", checked);
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	buddy_lists_only();
	return test_run(test_fresh_sections_are_movable,
			test_get_set_round_trip,
			test_change_pageblock_range,
			test_count_and_move_freepages_block,
			test_pfnblock_lookup_agrees_with_the_section,
			NULL);
}
