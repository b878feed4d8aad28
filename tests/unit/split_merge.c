/*
 * split_merge.c - expand() on allocation, __free_one_page() on free: the
 * buddy system's two halves, and the tail placement of a freed block whose
 * merge is likely (the essay above the kernel's __free_one_page and
 * buddy_merge_likely).
 *
 * Only MOVABLE allocations, so every pageblock stays MOVABLE and every
 * allocation comes from the MOVABLE lists; NORMAL is held to one section.
 * Each test starts and ends with the zone pristine (all max-order blocks).
 */
#include "unit_util.h"

static struct zone *zone;

static unsigned long pfn_of(const struct page *page)
{
	return page_to_pfn(page);
}

/* Is a free block of exactly this order headed at pfn? */
static bool free_block_at(unsigned long pfn, unsigned int order)
{
	struct page *p = pfn_to_page(pfn);
	bool ok;

	zone_lock(zone);
	ok = p->flags == PG_buddy && p->order == order &&
	     p->migratetype == MIGRATE_MOVABLE;
	zone_unlock(zone);
	return ok;
}

TEST_BEGIN(test_expand_from_a_fresh_zone)
{
	struct zone_counts c;
	struct page *page;
	unsigned long pfn;

	zone_counts(zone, &c);
	expect_lu_eq(c.present_pages, 0, "no section before the first allocation");

	page = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(page, "order 0 from a fresh zone");
	pfn = pfn_of(page);
	zone_counts(zone, &c);
	expect_lu_eq(c.present_pages, PAGES_PER_SECTION, "one section");
	/* Exactly one free block at each order 0..9, the rest max-order. */
	for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++) {
		expect_lu_eq(c.nr_free[o], 1, "nr_free[%u]", o);
		expect_lu_eq(c.len[o][MIGRATE_MOVABLE], 1, "MOVABLE list of order %u", o);
	}
	expect_lu_eq(c.nr_free[MAX_PAGE_ORDER],
		     PAGES_PER_SECTION / MAX_ORDER_NR_PAGES - 1,
		     "the other max-order blocks untouched");
	/* The page handed out is the lowest of its max-order block, and the
	 * free halves are its buddies: pfn + 2^o at order o. */
	expect_lx_eq(pfn & (MAX_ORDER_NR_PAGES - 1), 0,
		     "the lowest page of a max-order block");
	for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
		expect_true(free_block_at(pfn + (1UL << o), o),
			    "free block of order %u at pfn + %lu", o, 1UL << o);

	expect_true(free_pages_checked(page, 0), "free it");
	expect_pristine(zone, "after the free");
	zone_counts(zone, &c);
	expect_lu_eq(c.nr_free[MAX_PAGE_ORDER],
		     PAGES_PER_SECTION / MAX_ORDER_NR_PAGES, "all blocks whole");
	expect_consistent(NULL, 0, "after the free");
}
TEST_END

/* Order k from a pristine zone: one free block at each order k..9. */
TEST_BEGIN(test_expand_every_order)
{
	for (unsigned int k = 0; k <= MAX_PAGE_ORDER; k++) {
		struct zone_counts before, c;
		struct page *page;
		struct held h;
		struct mc_live l;
		unsigned long pfn;

		zone_counts(zone, &before);
		page = alloc_pages(__GFP_MOVABLE, k);
		assert_ptr_not_null(page, "order %u", k);
		pfn = pfn_of(page);
		zone_counts(zone, &c);
		expect_lx_eq(pfn & (MAX_ORDER_NR_PAGES - 1), 0,
			     "order %u: lowest part of a max-order block", k);
		for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
			expect_lu_eq(c.nr_free[o], o >= k ? 1 : 0,
				     "order %u: nr_free[%u]", k, o);
		expect_lu_eq(c.nr_free[MAX_PAGE_ORDER],
			     before.nr_free[MAX_PAGE_ORDER] - 1,
			     "order %u: one max-order block split", k);
		for (unsigned int o = k; o < MAX_PAGE_ORDER; o++)
			expect_true(free_block_at(pfn + (1UL << o), o),
				    "order %u: buddy of order %u at pfn + %lu",
				    k, o, 1UL << o);
		expect_u_eq(page->flags, PG_head, "order %u: head flags", k);
		expect_u_eq(page->order, k, "order %u: head order", k);
		expect_u_eq(page->nr_pages, 1u << k, "order %u: nr_pages", k);
		h = (struct held){ page, k };
		l = held_live(&h, MIGRATE_MOVABLE);
		expect_consistent(&l, 1, "one block live");
		expect_true(free_pages_checked(page, k), "free order %u", k);
		expect_pristine(zone, "after freeing");
	}
}
TEST_END

/* The buddy of a block of order k at pfn is at pfn ^ 2^k: two blocks of
 * order k allocated in a row are such a pair; freeing one keeps it apart,
 * freeing the other merges all the way up. */
TEST_BEGIN(test_buddy_pairs_merge)
{
	/* Our arithmetic first, on numbers. */
	expect_lx_eq(mc_buddy_pfn(0x1000, 0), 0x1001, "order 0");
	expect_lx_eq(mc_buddy_pfn(0x1001, 0), 0x1000, "order 0, upper");
	expect_lx_eq(mc_buddy_pfn(0x1200, 9), 0x1000, "order 9, upper");
	expect_lx_eq(mc_buddy_pfn(0x1000, 9), 0x1200, "order 9, lower");
	expect_lx_eq(mc_buddy_pfn(0x1040, 6), 0x1000, "order 6");
	expect_lx_eq(mc_buddy_pfn(0x1040, 3), 0x1048, "order 3");

	for (unsigned int k = 0; k < MAX_PAGE_ORDER; k++) {
		struct page *x = alloc_pages(__GFP_MOVABLE, k);
		struct page *y = alloc_pages(__GFP_MOVABLE, k);
		struct zone_counts c;

		assert_ptr_not_null(x, "order %u, x", k);
		assert_ptr_not_null(y, "order %u, y", k);
		expect_lx_eq(pfn_of(y), mc_buddy_pfn(pfn_of(x), k),
			     "order %u: y is x's buddy", k);
		expect_lx_eq(pfn_of(x), mc_buddy_pfn(pfn_of(y), k),
			     "order %u: and x is y's", k);

		expect_true(free_pages_checked(x, k), "free x");
		/* x stays a free block of order k: its buddy is in use. */
		expect_true(free_block_at(pfn_of(x), k), "order %u: x alone", k);
		zone_counts(zone, &c);
		for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
			expect_lu_eq(c.nr_free[o], o == k ? 1 : (o > k ? 1 : 0),
				     "order %u: nr_free[%u] with y live", k, o);

		expect_true(free_pages_checked(y, k), "free y");
		expect_pristine(zone, "order pair merged back");
	}
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

/* 1024 pages one by one make one max-order block, in address order;
 * freed in random order they merge back into it. */
TEST_BEGIN(test_merge_a_block_freed_in_random_order)
{
	uint64_t seed = test_seed(0x5eed5eedULL);
	struct held *h = calloc(MAX_ORDER_NR_PAGES, sizeof(*h));
	struct mc_live *live = calloc(MAX_ORDER_NR_PAGES, sizeof(*live));
	unsigned long base = 0, n = MAX_ORDER_NR_PAGES;
	struct zone_counts before, c;

	assert_ptr_not_null(h, "calloc");
	assert_ptr_not_null(live, "calloc");
	zone_counts(zone, &before);
	for (unsigned long i = 0; i < MAX_ORDER_NR_PAGES; i++) {
		h[i].page = alloc_pages(__GFP_MOVABLE, 0);
		h[i].order = 0;
		assert_ptr_not_null(h[i].page, "page %lu", i);
		if (i == 0)
			base = pfn_of(h[0].page);
		expect_lx_eq(pfn_of(h[i].page), base + i,
			     "smallest-first takes the pages in order");
	}
	zone_counts(zone, &c);
	expect_lu_eq(c.nr_free[MAX_PAGE_ORDER], before.nr_free[MAX_PAGE_ORDER] - 1,
		     "exactly one max-order block used");
	for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
		expect_lu_eq(c.nr_free[o], 0, "no fragment of order %u", o);

	shuffle(h, MAX_ORDER_NR_PAGES, sizeof(*h), &seed);
	for (unsigned long i = 0; i < MAX_ORDER_NR_PAGES; i++) {
		zone_counts(zone, &before);
		expect_true(free_pages_checked(h[i].page, 0), "free %lu", i);
		zone_counts(zone, &c);
		expect_lu_eq(c.nr_free_pages, before.nr_free_pages + 1,
			     "one page more free");
		n--;
		/* Every 64 frees, prove nothing was left unmerged. */
		if (i % 64 == 63 || n < 4) {
			for (unsigned long j = 0; j < n; j++)
				live[j] = held_live(&h[i + 1 + j], MIGRATE_MOVABLE);
			expect_lu_eq(model_check_all(live, n, MC_LIVE_COMPLETE),
				     0, "model check with %lu pages live", n);
		}
	}
	expect_pristine(zone, "after freeing the block");
	expect_consistent(NULL, 0, "after freeing the block");
	free(h);
	free(live);
}
TEST_END

/*
 * Tail placement. Set up two order-0 pages whose buddies are in use:
 *   a1 = P + 1 in block P, where P and every other part of P's block are
 *        allocated, so the order-1 block around a1 has an allocated buddy:
 *        a merge is unlikely, a1 goes to the head of the list;
 *   b1 = Q + 1 in block Q, where Q + 2 (order 1) is free: once Q comes
 *        back, Q..Q+1 merges with it, so b1 goes to the tail, out of the
 *        way of the next allocation.
 * first_b chooses which of the two is freed first; the list order shows
 * where the second went.
 */
static void tail_placement(bool first_b)
{
	struct page *a0, *a1, *b0, *b1, *rest[MAX_PAGE_ORDER];
	unsigned long len;

	a0 = alloc_pages(__GFP_MOVABLE, 0);
	a1 = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(a0, "a0");
	assert_ptr_not_null(a1, "a1");
	assert_lx_eq(pfn_of(a1), pfn_of(a0) + 1, "a1 = P + 1");
	/* Use up the rest of P's block: one block of each order 1..9. */
	for (unsigned int o = 1; o < MAX_PAGE_ORDER; o++) {
		rest[o] = alloc_pages(__GFP_MOVABLE, o);
		assert_ptr_not_null(rest[o], "order %u", o);
		expect_lx_eq(pfn_of(rest[o]), pfn_of(a0) + (1UL << o),
			     "order %u from P's block", o);
	}
	b0 = alloc_pages(__GFP_MOVABLE, 0);
	b1 = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(b0, "b0");
	assert_ptr_not_null(b1, "b1");
	assert_lx_eq(pfn_of(b1), pfn_of(b0) + 1, "b1 = Q + 1");
	expect_true(free_block_at(pfn_of(b0) + 2, 1), "Q + 2 free at order 1");

	if (first_b) {
		expect_true(free_pages_checked(b1, 0), "free b1");
		expect_true(free_pages_checked(a1, 0), "free a1");
		/* a1's merge is unlikely: it went to the head. */
		expect_ld_eq(free_list_index(zone, 0, MIGRATE_MOVABLE, a1, &len), 0,
			     "a1 (merge unlikely) at the head");
		expect_ld_eq(free_list_index(zone, 0, MIGRATE_MOVABLE, b1, &len), 1,
			     "b1 behind it");
	} else {
		expect_true(free_pages_checked(a1, 0), "free a1");
		expect_true(free_pages_checked(b1, 0), "free b1");
		/* b1's merge is likely: it went to the tail. */
		expect_ld_eq(free_list_index(zone, 0, MIGRATE_MOVABLE, b1, &len),
			     (long)len - 1, "b1 (merge likely) at the tail");
		expect_ld_eq(free_list_index(zone, 0, MIGRATE_MOVABLE, a1, &len), 0,
			     "a1 in front of it");
	}
	expect_lu_eq(len, 2, "two pages on the order-0 list");
	/* The next order-0 allocation takes the head. */
	{
		struct page *next = alloc_pages(__GFP_MOVABLE, 0);

		expect_ptr_eq(next, a1, "the head is handed out next");
		expect_true(free_pages_checked(next, 0), "free it again");
	}

	expect_true(free_pages_checked(a0, 0), "free a0");
	expect_true(free_pages_checked(b0, 0), "free b0");
	for (unsigned int o = 1; o < MAX_PAGE_ORDER; o++)
		expect_true(free_pages_checked(rest[o], o), "free order %u", o);
	expect_pristine(zone, "after the tail-placement scenario");
	expect_consistent(NULL, 0, "after the tail-placement scenario");
}

TEST_BEGIN(test_merge_likely_goes_to_the_tail)
{
	tail_placement(false);
}
TEST_END

TEST_BEGIN(test_merge_unlikely_goes_to_the_head)
{
	tail_placement(true);
}
TEST_END

/* Merges stop at MAX_PAGE_ORDER: two free max-order buddies stay apart. */
TEST_BEGIN(test_no_merge_beyond_max_order)
{
	struct page *x = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
	struct page *y = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
	struct zone_counts c;

	assert_ptr_not_null(x, "x");
	assert_ptr_not_null(y, "y");
	expect_true(free_pages_checked(x, MAX_PAGE_ORDER), "free x");
	expect_true(free_pages_checked(y, MAX_PAGE_ORDER), "free y");
	zone_counts(zone, &c);
	expect_lu_eq(c.nr_free[MAX_PAGE_ORDER] * MAX_ORDER_NR_PAGES,
		     c.present_pages, "every block of the top order");
	expect_consistent(NULL, 0, "max-order buddies free");
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	zone = zone_normal();
	buddy_lists_only();
	return test_run(test_expand_from_a_fresh_zone,
			test_expand_every_order,
			test_buddy_pairs_merge,
			test_merge_a_block_freed_in_random_order,
			test_merge_likely_goes_to_the_tail,
			test_merge_unlikely_goes_to_the_head,
			test_no_merge_beyond_max_order,
			NULL);
}
