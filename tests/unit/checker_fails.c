/*
 * checker_fails.c - a checker that never fails proves nothing. Break the
 * buddy invariants on purpose and show that both checkers see it: the
 * core's check_all_zones() (core/check.c) and the model's checker
 * (model_check.c, the very code model.c relies on: its full check and its
 * per-step merge check).
 *
 *   - test_skip_merges (a BUDDY_TEST_HOOKS fault injection) makes one free
 *     skip merging: two free buddies of order 0 are left side by side;
 *   - nr_free, nr_free_type and nr_free_pages are corrupted by one, under
 *     the zone lock, and restored;
 *   - a free block is put on the wrong free list, or loses PG_buddy;
 *   - the model is handed allocations that overlap (only the model knows
 *     what is allocated, so only it can see this).
 * After each, the state is repaired and both checkers pass again.
 */
#include "unit_util.h"

static struct zone *zone;

/* Collects the model checker's reports, to look for a phrase. */
static char reports[8192];

static void collect(void *opaque, const char *line)
{
	size_t len = strlen(reports);

	test_diag("model check (expected): %s", line);
	snprintf(reports + len, sizeof(reports) - len, "%s\n", line);
}

static unsigned long model_check(const struct mc_live *live, size_t n)
{
	reports[0] = '\0';
	return mc_check_zone(zone, live, n, MC_LIVE_COMPLETE | MC_SCAN_PAGES,
			     collect, NULL);
}

/* The core's checker, its report kept for a look. */
static char core_report[16384];

static unsigned long core_check(void)
{
	struct seq_buf s;
	unsigned long n;
	char copy[sizeof(core_report)], *save = NULL;

	seq_buf_init(&s, core_report, sizeof(core_report), NULL, NULL);
	n = check_all_zones(&s);
	memcpy(copy, core_report, sizeof(copy));
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		test_diag("check_all_zones (expected): %s", l);
	return n;
}

static void expect_both_pass(const char *when)
{
	expect_lu_eq(core_check_diag(), 0, "core checker %s", when);
	expect_lu_eq(model_check_all(NULL, 0, MC_LIVE_COMPLETE | MC_SCAN_PAGES), 0,
		     "model checker %s", when);
	expect_pristine(zone, when);
}

TEST_BEGIN(test_both_pass_on_a_sound_heap)
{
	struct page *p = alloc_pages(__GFP_MOVABLE, 0);

	assert_ptr_not_null(p, "bring a section online");
	expect_true(free_pages_checked(p, 0), "free");
	expect_both_pass("on a sound heap");
}
TEST_END

TEST_BEGIN(test_a_skipped_merge_is_caught)
{
	struct page *a, *b, *x, *y;
	unsigned long pfn;
	char pair[64];

	a = alloc_pages(__GFP_MOVABLE, 0);
	b = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(a, "a");
	assert_ptr_not_null(b, "b");
	pfn = page_to_pfn(a);
	assert_lx_eq(page_to_pfn(b), mc_buddy_pfn(pfn, 0), "a and b are buddies");
	expect_true(free_pages_checked(a, 0), "free a (b live: no merge due)");
	{
		struct mc_live live = { (uintptr_t)page_address(b), 1, 0,
					MIGRATE_MOVABLE };

		expect_lu_eq(core_check(), 0, "sound with a free and b live");
		expect_lu_eq(model_check(&live, 1), 0,
			     "sound with a free and b live");
	}
	test_skip_merges = 1;
	expect_true(free_pages_checked(b, 0), "free b, skipping its merge");
	expect_lu_eq(test_skip_merges, 0, "the hook was used up");

	/* Both free, both order 0, side by side. */
	expect_lu_gt(core_check(), 0, "the core's checker sees the unmerged pair");
	expect_true(strstr(core_report, "unmerged") != NULL,
		    "and says so: %s", core_report);
	expect_lu_gt(model_check(NULL, 0), 0,
		     "the model's checker sees the unmerged pair");
	snprintf(pair, sizeof(pair), "free buddies pfn %#lx and %#lx of order 0",
		 pfn, pfn + 1);
	expect_true(strstr(reports, pair) != NULL,
		    "and names it (\"%s\"): %s", pair, reports);
	/* The model's per-step check, on the page just freed. */
	reports[0] = '\0';
	expect_lu_gt(mc_check_merged(zone, pfn + 1, 1, collect, NULL), 0,
		     "the model's per-step merge check sees it at once");
	expect_true(strstr(reports, pair) != NULL,
		    "and names it (\"%s\"): %s", pair, reports);
	reports[0] = '\0';
	expect_lu_gt(mc_check_merged(zone, pfn, 2, collect, NULL), 0,
		     "from either page of the pair");

	/* Repair: take both back and free them the normal way. */
	x = alloc_pages(__GFP_MOVABLE, 0);
	y = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(x, "x");
	assert_ptr_not_null(y, "y");
	expect_true((x == a && y == b) || (x == b && y == a),
		    "the pair is handed out again");
	expect_true(free_pages_checked(x, 0), "free x");
	expect_true(free_pages_checked(y, 0), "free y");
	expect_lu_eq(mc_check_merged(zone, pfn, 2, collect, NULL), 0,
		     "the merge check passes after the repair");
	expect_both_pass("after the repair");

	/* The merge check also refuses pages that are not free at all. */
	x = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(x, "x");
	reports[0] = '\0';
	expect_lu_gt(mc_check_merged(zone, page_to_pfn(x), 1, collect, NULL), 0,
		     "an allocated page is not given back");
	expect_true(strstr(reports, "is in no free block") != NULL, "named: %s",
		    reports);
	expect_true(free_pages_checked(x, 0), "free x");
}
TEST_END

/* Corrupt a counter by one under the lock, run both checkers, restore. */
static void corrupt_counter(unsigned long *counter, const char *name,
			    const char *phrase)
{
	unsigned long core, model;

	zone_lock(zone);
	(*counter)++;
	zone_unlock(zone);
	core = core_check();
	model = model_check(NULL, 0);
	zone_lock(zone);
	(*counter)--;
	zone_unlock(zone);

	expect_lu_gt(core, 0, "the core's checker sees %s off by one", name);
	expect_lu_gt(model, 0, "the model's checker sees %s off by one", name);
	expect_true(strstr(reports, phrase) != NULL,
		    "the model names %s: %s", name, reports);
	expect_both_pass("after restoring the counter");
}

TEST_BEGIN(test_corrupt_counters_are_caught)
{
	struct page *p = alloc_pages(__GFP_MOVABLE, 0);	/* a split block */

	assert_ptr_not_null(p, "p");
	expect_true(free_pages_checked(p, 0), "free");
	corrupt_counter(&zone->free_area[3].nr_free, "free_area[3].nr_free",
			"free_area[3].nr_free");
	corrupt_counter(&zone->free_area[MAX_PAGE_ORDER].nr_free,
			"free_area[10].nr_free", "free_area[10].nr_free");
	corrupt_counter(&zone->nr_free_type[MIGRATE_MOVABLE],
			"nr_free_type[MOVABLE]", "nr_free_type[1]");
	corrupt_counter(&zone->nr_free_type[MIGRATE_UNMOVABLE],
			"nr_free_type[UNMOVABLE]", "nr_free_type[0]");
	corrupt_counter(&zone->nr_free_pages, "nr_free_pages", "nr_free_pages");
}
TEST_END

/* A free block on the wrong list, then one without PG_buddy. */
TEST_BEGIN(test_corrupt_free_blocks_are_caught)
{
	struct page *blk;
	unsigned long core, model;

	zone_lock(zone);
	blk = cds_list_first_entry(
		&zone->free_area[MAX_PAGE_ORDER].free_list[MIGRATE_MOVABLE],
		struct page, lru);
	/* Onto the RECLAIMABLE list, counted right, its pageblocks MOVABLE. */
	__move_to_free_list(blk, zone, MAX_PAGE_ORDER, MIGRATE_RECLAIMABLE);
	zone_unlock(zone);
	core = core_check();
	model = model_check(NULL, 0);
	expect_lu_gt(core, 0, "the core sees a block on its pageblock's wrong list");
	expect_lu_gt(model, 0, "the model sees it too");
	expect_true(strstr(reports, "lies in a pageblock of type 1") != NULL,
		    "the model names it: %s", reports);
	zone_lock(zone);
	__move_to_free_list(blk, zone, MAX_PAGE_ORDER, MIGRATE_MOVABLE);
	zone_unlock(zone);
	expect_both_pass("after moving it back");

	zone_lock(zone);
	blk->flags &= ~PG_buddy;
	zone_unlock(zone);
	core = core_check();
	model = model_check(NULL, 0);
	zone_lock(zone);
	blk->flags |= PG_buddy;
	zone_unlock(zone);
	expect_lu_gt(core, 0, "the core sees a listed block without PG_buddy");
	expect_lu_gt(model, 0, "the model sees it too");
	expect_true(strstr(reports, "lacks PG_buddy") != NULL,
		    "the model names it: %s", reports);
	expect_both_pass("after restoring PG_buddy");

	/* A stray PG_buddy on a page inside a free block. */
	zone_lock(zone);
	blk[5].flags |= PG_buddy;
	blk[5].order = 0;
	zone_unlock(zone);
	core = core_check();
	model = model_check(NULL, 0);
	zone_lock(zone);
	blk[5].flags = 0;
	zone_unlock(zone);
	expect_lu_gt(core, 0, "the core sees a stray PG_buddy");
	expect_lu_gt(model, 0, "the model sees a stray PG_buddy");
	expect_true(strstr(reports, "heads no block on a free list") != NULL,
		    "the model names it: %s", reports);
	expect_both_pass("after clearing it");
}
TEST_END

/* What only the model knows: which pages are allocated. */
TEST_BEGIN(test_overlaps_are_caught_by_the_model)
{
	struct page *p = alloc_pages(__GFP_MOVABLE, 3);
	struct mc_live live[2];

	assert_ptr_not_null(p, "order 3");
	live[0] = (struct mc_live){ (uintptr_t)page_address(p), 8, 3,
				    MIGRATE_MOVABLE };
	expect_lu_eq(model_check(live, 1), 0, "the truth passes");

	/* Claiming a free page as live. */
	live[1] = (struct mc_live){ (uintptr_t)page_address(p) + 8 * PAGE_SIZE, 1,
				    0, MIGRATE_MOVABLE };
	expect_lu_gt(model_check(live, 2), 0, "a live page on a free list");
	expect_true(strstr(reports, "overlaps a free block") != NULL,
		    "named: %s", reports);

	/* Two live allocations over the same pages. */
	live[1] = (struct mc_live){ (uintptr_t)page_address(p) + 2 * PAGE_SIZE, 2,
				    1, MIGRATE_MOVABLE };
	expect_lu_gt(model_check(live, 2), 0, "overlapping allocations");
	expect_true(strstr(reports, "overlaps another live allocation") != NULL,
		    "named: %s", reports);

	/* An allocation the model was not told of. */
	expect_lu_gt(model_check(NULL, 0), 0, "a leak");
	expect_true(strstr(reports, "!= present pages") != NULL,
		    "named: %s", reports);

	/* The wrong size. */
	live[0].nr_pages = 4;
	expect_lu_gt(model_check(live, 1), 0, "a wrong size");
	expect_true(strstr(reports, "nr_pages 8, allocated 4") != NULL,
		    "named: %s", reports);

	expect_true(free_pages_checked(p, 3), "free");
	expect_both_pass("at the end");
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	zone = zone_normal();
	buddy_lists_only();
	return test_run(test_both_pass_on_a_sound_heap,
			test_a_skipped_merge_is_caught,
			test_corrupt_counters_are_caught,
			test_corrupt_free_blocks_are_caught,
			test_overlaps_are_caught_by_the_model,
			NULL);
}
