/*
 * free_area.c - the free-list primitives of core/page_alloc.c and the
 * counters they keep: free_area[o].nr_free, nr_free_type[t], nr_free_pages.
 *
 * States are built through alloc_pages()/free_pages_checked() and read
 * straight from zone->free_area under the zone lock. The NORMAL zone is held
 * to one section so every state is exactly predictable.
 */
#include "unit_util.h"

/* Counters agree with the lists they describe (read under the lock). */
static void expect_counts_coherent(const struct zone_counts *c, const char *when)
{
	unsigned long by_order = 0, by_type = 0;

	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
		expect_lu_eq(c->nr_free[o], counts_blocks(c, o),
			     "%s: nr_free[%u] vs the lists", when, o);
		by_order += c->nr_free[o] << o;
	}
	for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
		unsigned long pages = 0;

		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
			pages += c->len[o][mt] << o;
		expect_lu_eq(c->nr_free_type[mt], pages,
			     "%s: nr_free_type[%s] vs the lists", when,
			     migratetype_name(mt));
		by_type += c->nr_free_type[mt];
	}
	expect_lu_eq(c->nr_free_pages, by_order, "%s: nr_free_pages vs nr_free[]",
		     when);
	expect_lu_eq(c->nr_free_pages, by_type,
		     "%s: nr_free_pages vs nr_free_type[]", when);
}

TEST_BEGIN(test_counters_follow_alloc_and_free)
{
	struct zone *zone = zone_normal();
	struct held h[NR_PAGE_ORDERS];
	struct zone_counts before, c;
	char when[64];

	/* The first allocation brings the zone's only section online. */
	h[0].page = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(h[0].page, "first allocation");
	h[0].order = 0;
	zone_counts(zone, &c);
	expect_lu_eq(c.present_pages, PAGES_PER_SECTION, "one section online");
	expect_lu_eq(c.nr_free_pages, PAGES_PER_SECTION - 1, "one page used");
	expect_lu_eq(c.nr_free_type[MIGRATE_MOVABLE], PAGES_PER_SECTION - 1,
		     "a fresh section is all MOVABLE");
	expect_counts_coherent(&c, "after order 0");

	for (unsigned int k = 1; k <= MAX_PAGE_ORDER; k++) {
		zone_counts(zone, &before);
		h[k].page = alloc_pages(__GFP_MOVABLE, k);
		h[k].order = k;
		assert_ptr_not_null(h[k].page, "order %u", k);
		zone_counts(zone, &c);
		snprintf(when, sizeof(when), "after allocating order %u", k);
		expect_lu_eq(before.nr_free_pages - c.nr_free_pages, 1UL << k,
			     "%s: nr_free_pages drops by the block", when);
		expect_lu_eq(before.nr_free_type[MIGRATE_MOVABLE] -
			     c.nr_free_type[MIGRATE_MOVABLE], 1UL << k,
			     "%s: nr_free_type[MOVABLE] drops by the block", when);
		expect_counts_coherent(&c, when);
	}
	for (int k = MAX_PAGE_ORDER; k >= 0; k--) {
		zone_counts(zone, &before);
		expect_true(free_pages_checked(h[k].page, h[k].order), "order %d", k);
		zone_counts(zone, &c);
		snprintf(when, sizeof(when), "after freeing order %d", k);
		expect_lu_eq(c.nr_free_pages - before.nr_free_pages, 1UL << k,
			     "%s: nr_free_pages grows by the block", when);
		expect_counts_coherent(&c, when);
	}
	expect_pristine(zone, "after freeing everything");
	expect_consistent(NULL, 0, "after freeing everything");
}
TEST_END

/* Saved head of an allocation, so the test can borrow its block for the
 * list primitives and give it back intact. */
struct saved_head {
	uint32_t flags, nr_pages;
	uint8_t order, migratetype;
};

static void save_head(const struct page *p, struct saved_head *s)
{
	s->flags = p->flags;
	s->nr_pages = p->nr_pages;
	s->order = p->order;
	s->migratetype = p->migratetype;
}

static void restore_head(struct page *p, const struct saved_head *s)
{
	p->flags = s->flags;
	p->nr_pages = s->nr_pages;
	p->order = s->order;
	p->migratetype = s->migratetype;
}

TEST_BEGIN(test_add_del_move_primitives)
{
	struct zone *zone = zone_normal();
	struct page *a, *b, *c;
	struct saved_head sa, sb, sc;
	struct zone_counts before, now;
	struct mc_live live[3];
	unsigned long len;
	const unsigned int o = 3;

	/* Three blocks of order 3 that the test owns. */
	a = alloc_pages(__GFP_MOVABLE, o);
	b = alloc_pages(__GFP_MOVABLE, o);
	c = alloc_pages(__GFP_MOVABLE, o);
	assert_ptr_not_null(a, "a");
	assert_ptr_not_null(b, "b");
	assert_ptr_not_null(c, "c");
	save_head(a, &sa);
	save_head(b, &sb);
	save_head(c, &sc);
	zone_counts(zone, &before);

	/* Added at the head: a is first. */
	zone_lock(zone);
	__add_to_free_list(a, zone, o, MIGRATE_MOVABLE, false);
	zone_unlock(zone);
	expect_ld_eq(free_list_index(zone, o, MIGRATE_MOVABLE, a, &len), 0,
		     "a added at the head");
	expect_u_eq(a->flags, PG_buddy, "a's flags are exactly PG_buddy");
	expect_u_eq(a->order, o, "a's order");
	expect_u_eq(a->migratetype, MIGRATE_MOVABLE, "a's type");
	zone_counts(zone, &now);
	expect_lu_eq(now.nr_free[o], before.nr_free[o] + 1, "nr_free[3] + 1");
	expect_lu_eq(now.nr_free_pages, before.nr_free_pages + 8, "+ 8 pages");
	expect_lu_eq(now.nr_free_type[MIGRATE_MOVABLE],
		     before.nr_free_type[MIGRATE_MOVABLE] + 8, "+ 8 MOVABLE");
	expect_counts_coherent(&now, "a added");
	/* a is now a genuine free block: the zone is consistent with b and c
	 * live, by both checkers. */
	live[0] = (struct mc_live){ (uintptr_t)page_address(b), 8, o, MIGRATE_MOVABLE };
	live[1] = (struct mc_live){ (uintptr_t)page_address(c), 8, o, MIGRATE_MOVABLE };
	expect_lu_eq(core_check_diag(), 0, "core checker with a on the list");
	expect_lu_eq(model_check_all(live, 2, MC_LIVE_COMPLETE | MC_SCAN_PAGES),
		     0, "model checker with a on the list");

	/* b at the head pushes a to second place; c at the tail is last. */
	zone_lock(zone);
	__add_to_free_list(b, zone, o, MIGRATE_MOVABLE, false);
	__add_to_free_list(c, zone, o, MIGRATE_MOVABLE, true);
	zone_unlock(zone);
	expect_ld_eq(free_list_index(zone, o, MIGRATE_MOVABLE, b, &len), 0,
		     "b at the head");
	expect_ld_eq(free_list_index(zone, o, MIGRATE_MOVABLE, a, &len), 1,
		     "a behind b");
	expect_ld_eq(free_list_index(zone, o, MIGRATE_MOVABLE, c, &len),
		     (long)len - 1, "c at the tail (list of %lu)", len);
	zone_counts(zone, &now);
	expect_lu_eq(now.nr_free[o], before.nr_free[o] + 3, "nr_free[3] + 3");
	expect_counts_coherent(&now, "a, b, c added");

	/* Moving b to another type's list: nr_free unchanged, the per-type
	 * counts follow, and b goes to the tail of its new list. */
	zone_lock(zone);
	__move_to_free_list(b, zone, o, MIGRATE_RECLAIMABLE);
	zone_unlock(zone);
	expect_ld_eq(free_list_index(zone, o, MIGRATE_MOVABLE, b, NULL), -1,
		     "b left the MOVABLE list");
	expect_ld_eq(free_list_index(zone, o, MIGRATE_RECLAIMABLE, b, &len),
		     (long)len - 1, "b at the tail of the RECLAIMABLE list");
	expect_u_eq(b->migratetype, MIGRATE_RECLAIMABLE, "b's type follows");
	expect_u_eq(b->flags, PG_buddy, "b still free");
	zone_counts(zone, &now);
	expect_lu_eq(now.nr_free[o], before.nr_free[o] + 3, "move keeps nr_free");
	expect_lu_eq(now.nr_free_type[MIGRATE_RECLAIMABLE],
		     before.nr_free_type[MIGRATE_RECLAIMABLE] + 8,
		     "RECLAIMABLE + 8");
	expect_lu_eq(now.nr_free_type[MIGRATE_MOVABLE],
		     before.nr_free_type[MIGRATE_MOVABLE] + 16, "MOVABLE + 16");
	expect_lu_eq(now.nr_free_pages, before.nr_free_pages + 24, "+ 24 pages");
	expect_counts_coherent(&now, "b moved");

	/* Deleting all three puts every counter back where it was. */
	zone_lock(zone);
	__del_page_from_free_list(a, zone, o);
	__del_page_from_free_list(b, zone, o);
	__del_page_from_free_list(c, zone, o);
	zone_unlock(zone);
	expect_false(a->flags & PG_buddy, "a no longer PG_buddy");
	expect_false(b->flags & PG_buddy, "b no longer PG_buddy");
	expect_ld_eq(free_list_index(zone, o, MIGRATE_MOVABLE, a, NULL), -1,
		     "a off the list");
	expect_ld_eq(free_list_index(zone, o, MIGRATE_RECLAIMABLE, b, NULL), -1,
		     "b off the list");
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "every counter and list length as before");

	zone_lock(zone);
	restore_head(a, &sa);
	restore_head(b, &sb);
	restore_head(c, &sc);
	zone_unlock(zone);
	live[2] = (struct mc_live){ (uintptr_t)page_address(a), 8, o, MIGRATE_MOVABLE };
	expect_consistent(live, 3, "a, b, c allocated again");
	expect_true(free_pages_checked(a, o), "free a");
	expect_true(free_pages_checked(b, o), "free b");
	expect_true(free_pages_checked(c, o), "free c");
	expect_pristine(zone, "after freeing a, b, c");
	expect_consistent(NULL, 0, "after freeing a, b, c");
}
TEST_END

TEST_BEGIN(test_free_checked_rejects_bad_frees)
{
	struct zone *zone = zone_normal();
	struct zone_counts before, now;
	struct page *p = alloc_pages(__GFP_MOVABLE, 2);

	assert_ptr_not_null(p, "order 2");
	zone_counts(zone, &before);
	expect_false(free_pages_checked(p, 1), "wrong order (1 for 2)");
	expect_false(free_pages_checked(p, 3), "wrong order (3 for 2)");
	expect_false(free_pages_checked(p + 1, 0), "a page inside the block");
	expect_false(free_pages_checked(p, MAX_PAGE_ORDER + 1), "order 11");
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "rejected frees change nothing");
	expect_true(free_pages_checked(p, 2), "the right free");
	zone_counts(zone, &before);
	expect_false(free_pages_checked(p, 2), "double free");
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "a double free changes nothing");
	expect_pristine(zone, "at the end");
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

/* One allocation of each lifetime at each of a few orders: each type's
 * free pages are counted apart, and nr_free_type[] agrees with the lists
 * of that type. Leaves pageblocks of every type behind (last test). */
TEST_BEGIN(test_nr_free_type_per_type)
{
	static const gfp_t gfps[] = { 0, __GFP_MOVABLE, __GFP_RECLAIMABLE };
	static const unsigned int orders[] = { 0, 3, 9, 5, 10, 1 };
	struct zone *zone = zone_normal();
	struct held h[3 * 6];
	struct mc_live live[3 * 6];
	struct zone_counts c;
	size_t n = 0;

	for (size_t i = 0; i < 6; i++)
		for (size_t t = 0; t < 3; t++) {
			h[n].order = orders[i];
			h[n].page = alloc_pages(gfps[t], orders[i]);
			assert_ptr_not_null(h[n].page, "type %zu order %u", t,
					    orders[i]);
			live[n] = held_live(&h[n], test_gfp_migratetype(gfps[t]));
			expect_u_eq(h[n].page->migratetype,
				    test_gfp_migratetype(gfps[t]),
				    "the head records the type asked for");
			n++;
		}
	zone_counts(zone, &c);
	expect_counts_coherent(&c, "three types live");
	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		expect_lu_gt(c.nr_free_type[mt], 0,
			     "free pages of type %s after splitting",
			     migratetype_name(mt));
	expect_consistent(live, n, "three types live");
	for (size_t i = 0; i < n; i++)
		expect_true(free_pages_checked(h[i].page, h[i].order), "free %zu", i);
	zone_counts(zone, &c);
	expect_counts_coherent(&c, "all freed");
	expect_pristine(zone, "after freeing every type");
	expect_consistent(NULL, 0, "after freeing every type");
}
TEST_END

/*
 * free_pages_checked() must refuse what is not a block of that order. An
 * exact allocation grown in place (resize_pages_exact) to 4 pages from an
 * odd pfn has nr_pages == 1 << 2, but it is no order-2 block: freeing it as
 * one would put a misaligned block on the free lists. Runs last: if the
 * free is wrongly accepted, the zone is left broken.
 */
TEST_BEGIN(test_free_checked_refuses_an_unaligned_head)
{
	struct zone *zone = zone_normal();
	struct zone_counts before, now;
	void *a = alloc_pages_exact(PAGE_SIZE, 0);
	void *b = alloc_pages_exact(PAGE_SIZE, 0);

	assert_ptr_not_null(a, "a");
	assert_ptr_not_null(b, "b");
	assert_lx_eq(addr_pfn(b) & 3, 1, "b at an odd pfn");
	assert_true(resize_pages_exact(b, PAGE_SIZE, 4 * PAGE_SIZE),
		    "b grows in place to 4 pages");
	expect_u_eq(virt_to_page(b)->nr_pages, 4, "four pages");
	zone_counts(zone, &before);
	expect_false(free_pages_checked(virt_to_page(b), 2),
		     "pfn %#lx is not 4-aligned: not an order-2 block",
		     addr_pfn(b));
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "the refused free changes nothing");
	expect_lu_eq(core_check_diag(), 0, "no misaligned free block");
	if (virt_to_page(b)->flags & PG_head)
		expect_true(free_pages_exact_checked(b, 4 * PAGE_SIZE), "free b");
	expect_true(free_pages_exact_checked(a, PAGE_SIZE), "free a");
	expect_pristine(zone, "at the end");
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	buddy_lists_only();
	return test_run(test_counters_follow_alloc_and_free,
			test_add_del_move_primitives,
			test_free_checked_rejects_bad_frees,
			test_nr_free_type_per_type,
			test_free_checked_refuses_an_unaligned_head,
			NULL);
}
