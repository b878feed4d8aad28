/*
 * retype.c - re-typing pageblocks by what they hold (core/pageblock.c,
 * "Re-typing"): the majority rule, the pinned rule with its lifetime_ms
 * clock, the wrong-type gauge, reserved pageblocks left alone, blocks that
 * cross a batch boundary of the scan, pages on the per-CPU lists, and the
 * reclaim thread (or the inline pass) running the scan by itself.
 *
 * Deterministic: the scan is called with the time as an argument, and the
 * layouts are built from a pristine zone with the per-CPU lists off, where
 * order-0 allocations of one type fill one pageblock from its first page
 * (the smallest free block, the lowest half of each split). A pageblock of
 * the "wrong" type is made as the fallback path makes one: its type set by
 * hand with its free pages moved along, or its allocations' recorded types
 * changed by hand, as if they had been stolen singly.
 *
 * Built twice: retype (reclaim_threads 1) and retype_inline
 * (RETYPE_THREADS=0: the scan runs on the allocating path).
 */
#include <limits.h>
#include <time.h>

#include "unit_util.h"

#ifndef RETYPE_THREADS
#define RETYPE_THREADS	1
#endif

#define LIFETIME_MS	1000u
#define T0		1000000u	/* the test's clock, in ms */
#define MAX_RUN		pageblock_nr_pages
#define WAIT_MS		20000		/* bound of the wait for the scan */

static struct page *run[MAX_RUN];

/* n order-0 allocations of gfp, all in the pageblock of the first: its
 * first pfn. */
static unsigned long alloc_run(unsigned int n, gfp_t gfp)
{
	unsigned long block;

	for (unsigned int i = 0; i < n; i++) {
		run[i] = alloc_pages(gfp, 0);
		assert_ptr_not_null(run[i], "page %u", i);
	}
	block = page_to_pfn(run[0]) & ~(pageblock_nr_pages - 1);
	for (unsigned int i = 0; i < n; i++)
		assert_lx_eq(page_to_pfn(run[i]) & ~(pageblock_nr_pages - 1),
			     block, "page %u in the first page's pageblock", i);
	return block;
}

static void free_run(unsigned int from, unsigned int to)
{
	for (unsigned int i = from; i < to; i++)
		expect_true(free_pages_checked(run[i], 0), "free page %u", i);
}

/* The pageblock's type set as a claim sets it: free pages moved along. */
static void set_block_type(unsigned long pfn, int mt)
{
	struct zone *zone = zone_normal();

	zone_lock(zone);
	__move_freepages_block(zone, pfn_to_page(pfn), mt);
	set_pageblock_migratetype(pfn_to_page(pfn), mt);
	zone_unlock(zone);
}

/* The recorded type of run[from..to), as if stolen singly. */
static void set_run_type(unsigned int from, unsigned int to, int mt)
{
	struct zone *zone = zone_normal();

	zone_lock(zone);
	for (unsigned int i = from; i < to; i++)
		run[i]->migratetype = (uint8_t)mt;
	zone_unlock(zone);
}

static int type_at(unsigned long pfn)
{
	return block_type_of((void *)(pfn << PAGE_SHIFT));
}

static unsigned long free_of_type(int mt)
{
	struct zone_counts c;

	zone_counts(zone_normal(), &c);
	return c.nr_free_type[mt];
}

static unsigned long gauge(void)
{
	return CMM_LOAD_SHARED(zone_normal()->nr_wrong_type_pageblocks);
}

/* The gauge as the layers above read it (zone_stats_read) and as the
 * vmstat report prints it. */
static unsigned long gauge_reported(void)
{
	struct zone_stats zs[MAX_ZONE_STATS];
	unsigned int n = zone_stats_read(zs, MAX_ZONE_STATS);
	unsigned long sum = 0, printed = ULONG_MAX;
	static char buf[8192];
	struct seq_buf s;
	const char *line;

	for (unsigned int i = 0; i < n; i++)
		sum += zs[i].nr_wrong_type_pageblocks;
	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	vmstat_show(&s);
	line = strstr(buf, "\nnr_wrong_type_pageblocks ");
	if (line)
		printed = strtoul(line + 26, NULL, 10);
	expect_lu_eq(printed, sum, "vmstat prints the zones' sum");
	return sum;
}

static unsigned long scan(uint32_t now, bool *waiting)
{
	bool w = retype_zone(zone_normal(), now);

	if (waiting)
		*waiting = w;
	return gauge();
}

/*
 * A MOVABLE pageblock whose allocated pages (3/4 of it) are all
 * UNMOVABLE: re-typed UNMOVABLE, its free pages moved to UNMOVABLE's
 * lists; a second scan changes nothing.
 */
TEST_BEGIN(test_majority_to_unmovable)
{
	unsigned int n = 3 * pageblock_nr_pages / 4;
	unsigned long block, moved, unmov, mov;
	unsigned long ev = vm_event(PAGEBLOCK_RETYPE_MAJORITY);

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(n, 0);
	set_block_type(block, MIGRATE_MOVABLE);
	expect_lu_eq(core_check_diag(), 0, "checker, wrong-type pageblock built");
	unmov = free_of_type(MIGRATE_UNMOVABLE);
	mov = free_of_type(MIGRATE_MOVABLE);

	expect_lu_eq(scan(T0, NULL), 0, "no wrong-type pageblock left");
	moved = pageblock_nr_pages - n;
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "re-typed");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev + 1, "counted once");
	expect_lu_eq(free_of_type(MIGRATE_UNMOVABLE), unmov + moved,
		     "its free pages on UNMOVABLE's lists");
	expect_lu_eq(free_of_type(MIGRATE_MOVABLE), mov - moved,
		     "and off MOVABLE's");
	expect_lu_eq(core_check_diag(), 0, "checker after the re-type");

	expect_lu_eq(scan(T0 + 10 * LIFETIME_MS, NULL), 0, "second scan");
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "no flapping");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev + 1,
		     "nothing more counted");
	expect_lu_eq(free_of_type(MIGRATE_UNMOVABLE), unmov + moved,
		     "nothing moved");
	expect_lu_eq(gauge_reported(), 0, "reported gauge");

	free_run(0, n);
	expect_pristine(zone_normal(), "after the test");
	expect_consistent(NULL, 0, "after the test");
}
TEST_END

/* The other way: short-lived allocations filling a long-lived pageblock. */
TEST_BEGIN(test_majority_to_movable)
{
	unsigned int n = 3 * pageblock_nr_pages / 4;
	unsigned long block, mov;
	unsigned long ev = vm_event(PAGEBLOCK_RETYPE_MAJORITY);

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(n, __GFP_MOVABLE);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "allocated MOVABLE");
	set_block_type(block, MIGRATE_UNMOVABLE);
	mov = free_of_type(MIGRATE_MOVABLE);

	scan(T0, NULL);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "re-typed MOVABLE");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev + 1, "counted");
	expect_lu_eq(free_of_type(MIGRATE_MOVABLE), mov + pageblock_nr_pages - n,
		     "free pages moved to MOVABLE");
	expect_lu_eq(core_check_diag(), 0, "checker after the re-type");

	free_run(0, n);
	expect_pristine(zone_normal(), "after the test");
}
TEST_END

/*
 * The thresholds: at least half of the pageblock allocated, and 3/4 of
 * that of the other type, for a re-type; 1/16 allocated, 3/4 of it of
 * the other type, to count as wrong. Just below each, nothing changes.
 */
TEST_BEGIN(test_majority_thresholds)
{
	unsigned int n = RETYPE_MAJORITY_MIN;
	unsigned int other = (3 * n + 3) / 4;	/* the least that is 3/4 */
	unsigned long block;
	unsigned long ev = vm_event(PAGEBLOCK_RETYPE_MAJORITY);

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	/* Gauge: WRONG_TYPE_MIN - 1 UNMOVABLE pages in a MOVABLE block. */
	block = alloc_run(WRONG_TYPE_MIN - 1, 0);
	set_block_type(block, MIGRATE_MOVABLE);
	expect_lu_eq(scan(T0, NULL), 0, "%lu pages: too few to be wrong",
		     WRONG_TYPE_MIN - 1);
	/* One more in the block (its free pages are MOVABLE's now), made
	 * UNMOVABLE by hand. */
	run[WRONG_TYPE_MIN - 1] = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(run[WRONG_TYPE_MIN - 1], "one more");
	assert_lx_eq(page_to_pfn(run[WRONG_TYPE_MIN - 1]),
		     block + WRONG_TYPE_MIN - 1, "next to the run");
	set_run_type(WRONG_TYPE_MIN - 1, WRONG_TYPE_MIN, MIGRATE_UNMOVABLE);
	expect_lu_eq(scan(T0 + 1, NULL), 1, "%lu pages: wrong", WRONG_TYPE_MIN);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "too few to re-type");
	free_run(0, WRONG_TYPE_MIN);
	expect_pristine(zone_normal(), "between the parts");

	/* RETYPE_MAJORITY_MIN - 1 pages, all UNMOVABLE: wrong, not re-typed. */
	block = alloc_run(n - 1, 0);
	set_block_type(block, MIGRATE_MOVABLE);
	expect_lu_eq(scan(T0, NULL), 1, "%u pages: wrong", n - 1);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "%u pages: not re-typed",
		    n - 1);
	expect_lu_eq(gauge_reported(), 1, "reported gauge");
	/* One more, by hand in the block (its free pages are MOVABLE now):
	 * re-typed. */
	run[n - 1] = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(run[n - 1], "one more");
	assert_lx_eq(page_to_pfn(run[n - 1]), block + n - 1, "next to the run");
	set_run_type(n - 1, n, MIGRATE_UNMOVABLE);
	expect_lu_eq(scan(T0 + 1, NULL), 0, "%u pages: re-typed", n);
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "%u pages: re-typed", n);
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev + 1, "counted");

	/* Now n pages with other - 1 MOVABLE among them, in the UNMOVABLE
	 * block: less than 3/4 is MOVABLE, nothing changes. */
	set_run_type(0, other - 1, MIGRATE_MOVABLE);
	expect_lu_eq(scan(T0 + 2, NULL), 0, "%u of %u: not wrong", other - 1, n);
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "%u of %u: kept",
		    other - 1, n);
	set_run_type(0, other, MIGRATE_MOVABLE);
	expect_lu_eq(scan(T0 + 3, NULL), 0, "%u of %u: re-typed", other, n);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "%u of %u: re-typed",
		    other, n);
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev + 2, "counted");
	expect_lu_eq(core_check_diag(), 0, "checker");

	set_run_type(0, n, MIGRATE_UNMOVABLE);
	free_run(0, n);
	expect_pristine(zone_normal(), "after the test");
	expect_consistent(NULL, 0, "after the test");
}
TEST_END

/*
 * A MOVABLE pageblock pinned by a few allocations: re-typed UNMOVABLE at
 * the first scan lifetime_ms after the first scan that saw it so, not
 * before; then left alone (still counted wrong: it holds MOVABLE pages).
 * One allocated page more than PINNED_MAX never is.
 */
TEST_BEGIN(test_pinned_after_lifetime)
{
	unsigned int n = pageblock_nr_pages / 8;
	unsigned long block, unmov;
	unsigned long ev = vm_event(PAGEBLOCK_RETYPE_PINNED);
	unsigned long maj = vm_event(PAGEBLOCK_RETYPE_MAJORITY);
	bool waiting;

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(n, __GFP_MOVABLE);
	expect_lu_eq(scan(T0, &waiting), 0, "first scan");
	expect_true(waiting, "its time runs");
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "not at once");
	scan(T0 + LIFETIME_MS - 1, &waiting);
	expect_true(waiting, "its time still runs");
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "not before lifetime_ms");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_PINNED), ev, "nothing counted");

	unmov = free_of_type(MIGRATE_UNMOVABLE);
	expect_lu_eq(scan(T0 + LIFETIME_MS, &waiting), 1,
		     "wrong: MOVABLE pages in an UNMOVABLE pageblock");
	expect_false(waiting, "nothing waits");
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "re-typed at lifetime_ms");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_PINNED), ev + 1, "counted");
	expect_lu_eq(free_of_type(MIGRATE_UNMOVABLE),
		     unmov + pageblock_nr_pages - n, "its holes are UNMOVABLE's");
	expect_lu_eq(core_check_diag(), 0, "checker after the re-type");

	for (uint32_t t = 2; t <= 4; t++) {
		scan(T0 + t * LIFETIME_MS, &waiting);
		expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "kept, scan %u", t);
	}
	expect_false(waiting, "nothing waits");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_PINNED), ev + 1, "no flapping");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), maj,
		     "the majority rule does not undo it");
	free_run(0, n);
	expect_lu_eq(scan(T0 + 5 * LIFETIME_MS, NULL), 0, "empty: not wrong");
	expect_pristine(zone_normal(), "between the parts");

	block = alloc_run(PINNED_MAX + 1, __GFP_MOVABLE);
	for (uint32_t t = 0; t <= 3; t++) {
		scan(T0 + 10 * LIFETIME_MS + t * LIFETIME_MS, &waiting);
		expect_false(waiting, "%lu pages: not pinned", PINNED_MAX + 1);
	}
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "%lu pages: kept",
		    PINNED_MAX + 1);
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_PINNED), ev + 1, "not counted");
	free_run(0, PINNED_MAX + 1);
	expect_pristine(zone_normal(), "after the test");
	expect_consistent(NULL, 0, "after the test");
}
TEST_END

/* Pinned means at every scan: a scan that finds it fuller starts the
 * time again. */
/* Short-lived page-level blocks of the malloc family live in RECLAIMABLE
 * pageblocks: a pinned one becomes long-lived too. */
TEST_BEGIN(test_pinned_reclaimable)
{
	unsigned int n = pageblock_nr_pages / 8;
	unsigned long block, ev = vm_event(PAGEBLOCK_RETYPE_PINNED);
	bool waiting;

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(n, __GFP_RECLAIMABLE);
	expect_d_eq(type_at(block), MIGRATE_RECLAIMABLE, "a RECLAIMABLE pageblock");
	scan(T0, &waiting);
	expect_true(waiting, "its time runs");
	scan(T0 + LIFETIME_MS - 1, NULL);
	expect_d_eq(type_at(block), MIGRATE_RECLAIMABLE, "not before lifetime_ms");
	scan(T0 + LIFETIME_MS, &waiting);
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "re-typed at lifetime_ms");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_PINNED), ev + 1, "counted");
	expect_lu_eq(core_check_diag(), 0, "checker after the re-type");
	free_run(0, n);
	scan(T0 + 2 * LIFETIME_MS, NULL);
	expect_pristine(zone_normal(), "at the end");
}
TEST_END

/* A pinned pageblock whose allocated pages change is not pinned by them:
 * its time restarts at the scan that sees the change. */
TEST_BEGIN(test_pinned_count_must_hold)
{
	unsigned int n = pageblock_nr_pages / 8;
	unsigned long block;

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(n, __GFP_MOVABLE);
	scan(T0, NULL);
	free_run(n - 1, n);			/* one page goes */
	scan(T0 + LIFETIME_MS, NULL);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE,
		    "its count changed: the time restarted");
	scan(T0 + 2 * LIFETIME_MS - 1, NULL);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "not yet");
	scan(T0 + 2 * LIFETIME_MS, NULL);
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE,
		    "lifetime_ms with the same count");
	free_run(0, n - 1);
	expect_pristine(zone_normal(), "after the test");
}
TEST_END

static struct page *unmovable[2 * MAX_RUN], *movable[2 * MAX_RUN];

/*
 * The pinned rule makes room for long-lived allocations only when they
 * lack it: while the UNMOVABLE pageblocks holding allocations have a
 * pageblock's worth of free pages (by the previous scan), a pinned
 * pageblock waits; and a scan re-types at most one.
 */
TEST_BEGIN(test_pinned_only_for_room)
{
	unsigned int n = pageblock_nr_pages / 8, half = pageblock_nr_pages / 2;
	unsigned int nr = pageblock_nr_pages + half;
	unsigned long a, b, p1, p2;

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	/* Two UNMOVABLE pageblocks, each half allocated: room for 512. */
	for (unsigned int i = 0; i < nr; i++) {
		unmovable[i] = alloc_pages(0, 0);
		assert_ptr_not_null(unmovable[i], "page %u", i);
	}
	a = page_to_pfn(unmovable[0]) & ~(pageblock_nr_pages - 1);
	b = page_to_pfn(unmovable[nr - 1]) & ~(pageblock_nr_pages - 1);
	assert_lx_ne(a, b, "two pageblocks");
	for (unsigned int i = 0; i < half; i++)
		expect_true(free_pages_checked(unmovable[i], 0), "free %u", i);

	/* Two pinned MOVABLE pageblocks: n pages at the start of one (the
	 * rest of its pages freed), n in the next. */
	for (unsigned int i = 0; i < pageblock_nr_pages + n; i++) {
		movable[i] = alloc_pages(__GFP_MOVABLE, 0);
		assert_ptr_not_null(movable[i], "page %u", i);
	}
	p1 = page_to_pfn(movable[0]) & ~(pageblock_nr_pages - 1);
	p2 = page_to_pfn(movable[pageblock_nr_pages + n - 1]) &
	     ~(pageblock_nr_pages - 1);
	assert_lx_ne(p1, p2, "two pageblocks");
	for (unsigned int i = n; i < pageblock_nr_pages; i++)
		expect_true(free_pages_checked(movable[i], 0), "free %u", i);
	scan(T0, NULL);
	scan(T0 + LIFETIME_MS, NULL);
	expect_d_eq(type_at(p1), MIGRATE_MOVABLE, "room enough: waits");
	expect_d_eq(type_at(p2), MIGRATE_MOVABLE, "room enough: waits");

	/* Pageblock a empties: the room left (b's half) is short. */
	for (unsigned int i = half; i < pageblock_nr_pages; i++)
		expect_true(free_pages_checked(unmovable[i], 0), "free %u", i);
	scan(T0 + LIFETIME_MS + 1, NULL);	/* counts the room */
	expect_d_eq(type_at(p1), MIGRATE_MOVABLE, "by the previous count");
	scan(T0 + LIFETIME_MS + 2, NULL);
	expect_d_eq((type_at(p1) == MIGRATE_UNMOVABLE) +
		    (type_at(p2) == MIGRATE_UNMOVABLE), 1,
		    "room short: one pinned pageblock re-typed");
	scan(T0 + LIFETIME_MS + 3, NULL);
	expect_d_eq((type_at(p1) == MIGRATE_UNMOVABLE) +
		    (type_at(p2) == MIGRATE_UNMOVABLE), 2,
		    "the next scan, the other");
	expect_lu_eq(core_check_diag(), 0, "checker");

	for (unsigned int i = pageblock_nr_pages; i < nr; i++)
		expect_true(free_pages_checked(unmovable[i], 0), "free %u", i);
	for (unsigned int i = 0; i < n; i++)
		expect_true(free_pages_checked(movable[i], 0), "free %u", i);
	for (unsigned int i = pageblock_nr_pages; i < pageblock_nr_pages + n; i++)
		expect_true(free_pages_checked(movable[i], 0), "free %u", i);
	expect_pristine(zone_normal(), "after the test");
}
TEST_END

TEST_BEGIN(test_pinned_time_restarts)
{
	unsigned int n = pageblock_nr_pages / 8, full = pageblock_nr_pages / 2;
	unsigned long block;

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(full, __GFP_MOVABLE);
	free_run(n, full);
	scan(T0, NULL);				/* pinned from T0 */
	for (unsigned int i = n; i < full; i++)
		run[i] = alloc_pages(__GFP_MOVABLE, 0);
	for (unsigned int i = n; i < full; i++)
		assert_lx_eq(page_to_pfn(run[i]), block + i, "page %u back", i);
	scan(T0 + LIFETIME_MS / 2, NULL);	/* full: not pinned */
	free_run(n, full);
	scan(T0 + LIFETIME_MS, NULL);		/* pinned again from here */
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "time restarted");
	scan(T0 + 2 * LIFETIME_MS - 1, NULL);
	expect_d_eq(type_at(block), MIGRATE_MOVABLE, "not yet");
	scan(T0 + 2 * LIFETIME_MS, NULL);
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "lifetime_ms after restart");
	expect_lu_eq(core_check_diag(), 0, "checker");
	free_run(0, n);
	expect_pristine(zone_normal(), "after the test");
}
TEST_END

/* HIGHATOMIC (and ISOLATE) pageblocks are not the scan's to change. */
TEST_BEGIN(test_reserved_left_alone)
{
	unsigned int n = 3 * pageblock_nr_pages / 4;
	unsigned long block;
	unsigned long ev = vm_event(PAGEBLOCK_RETYPE_MAJORITY);

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(n, __GFP_MOVABLE);
	for (int mt = MIGRATE_HIGHATOMIC; mt <= MIGRATE_ISOLATE; mt++) {
		set_block_type(block, mt);
		expect_lu_eq(scan(T0, NULL), 0, "%s: not counted",
			     migratetype_name(mt));
		expect_d_eq(type_at(block), mt, "%s: kept", migratetype_name(mt));
	}
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev, "nothing counted");
	set_block_type(block, MIGRATE_MOVABLE);
	free_run(0, n);
	expect_pristine(zone_normal(), "after the test");
	expect_consistent(NULL, 0, "after the test");
}
TEST_END

/*
 * An allocation that starts in one batch of the scan and ends in the
 * next: an exact allocation of a pageblock, just below a batch boundary,
 * grown in place by a pageblock. Its pages past the boundary count for
 * the pageblock there, which is re-typed to the allocation's type.
 */
TEST_BEGIN(test_block_across_a_batch)
{
	struct zone *zone = zone_normal();
	unsigned long start, boundary, size = pageblock_nr_pages << PAGE_SHIFT;
	unsigned long ev = vm_event(PAGEBLOCK_RETYPE_MAJORITY);
	void *x;

	assert_true(zone_pristine(zone), "pristine to start");
	start = zone->sections->start_pfn;
	boundary = start + RETYPE_BATCH * pageblock_nr_pages;
	/* Hold every pageblock of the section, then make room for x. */
	for (unsigned long i = 0; i < PAGEBLOCKS_PER_SECTION; i++) {
		struct page *p = alloc_pages(0, pageblock_order);

		assert_ptr_not_null(p, "pageblock %lu", i);
		assert_ptr_eq(page_section(p), zone->sections, "in the section");
	}
	expect_true(free_pages_checked(pfn_to_page(boundary - pageblock_nr_pages),
				       pageblock_order), "free the one below");
	x = alloc_pages_exact(size, 0);
	assert_lx_eq(addr_pfn(x), boundary - pageblock_nr_pages,
		     "x just below the boundary");
	expect_true(free_pages_checked(pfn_to_page(boundary), pageblock_order),
		    "free the one above");
	assert_true(resize_pages_exact(x, size, 2 * size),
		    "x grown across the boundary");
	set_block_type(boundary, MIGRATE_MOVABLE);

	scan(T0, NULL);
	expect_d_eq(type_at(boundary), MIGRATE_UNMOVABLE,
		    "the pageblock past the boundary re-typed to x's type");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev + 1, "counted");
	expect_lu_eq(core_check_diag(), 0, "checker");

	expect_true(free_pages_exact_checked(x, 2 * size), "free x");
	for (unsigned long i = 0; i < PAGEBLOCKS_PER_SECTION; i++) {
		unsigned long pfn = start + i * pageblock_nr_pages;

		if (pfn != boundary && pfn != boundary - pageblock_nr_pages)
			expect_true(free_pages_checked(pfn_to_page(pfn),
						       pageblock_order),
				    "free pageblock %lu", i);
	}
	expect_pristine(zone, "after the test");
	expect_consistent(NULL, 0, "after the test");
}
TEST_END

static unsigned long pcp_pages(struct zone *zone)
{
	struct pcp_stats st[1024];
	unsigned int n = pcp_stats_read(zone, st, 1024);
	unsigned long sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += st[i].count;
	return sum;
}

/*
 * Free pages on the per-CPU lists count as free and stay on their lists
 * through the re-type; spilled afterwards, they go to the pageblock's new
 * type. The checker holds at each step.
 */
TEST_BEGIN(test_pcp_pages_through_a_retype)
{
	struct zone *zone = zone_normal();
	unsigned int n = 3 * pageblock_nr_pages / 4, freed = 32;
	unsigned long block;
	unsigned long ev = vm_event(PAGEBLOCK_RETYPE_MAJORITY);

	assert_true(zone_pristine(zone), "pristine to start");
	block = alloc_run(n, 0);
	set_block_type(block, MIGRATE_MOVABLE);
	zone_pcp_enable(zone);
	free_run(n - freed, n);
	expect_lu_gt(pcp_pages(zone), 0, "freed pages on the pcp lists");
	expect_lu_eq(core_check_diag(), 0, "checker, pages on the pcp lists");
	scan(T0, NULL);
	expect_d_eq(type_at(block), MIGRATE_UNMOVABLE, "re-typed");
	expect_lu_eq(vm_event(PAGEBLOCK_RETYPE_MAJORITY), ev + 1, "counted");
	expect_lu_eq(core_check_diag(), 0, "checker after the re-type");
	zone_pcp_disable(zone);		/* drains the lists to the buddy */
	expect_lu_eq(pcp_pages(zone), 0, "drained");
	expect_lu_eq(core_check_diag(), 0, "checker after the drain");
	free_run(0, n - freed);
	expect_pristine(zone, "after the test");
	expect_consistent(NULL, 0, "after the test");
}
TEST_END

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * The reclaim thread (retype) or the inline pass (retype_inline) runs the
 * scan by itself on the real clock. Kicked through reclaim_work_run() and
 * polled, with a bound far above the lifetime_ms / 2 between scans.
 */
TEST_BEGIN(test_reclaim_work_runs_the_scan)
{
	unsigned int n = 3 * pageblock_nr_pages / 4;
	unsigned long block;
	unsigned long scans = vm_event(PAGEBLOCK_RETYPE_SCAN);
	bool done = false;

	assert_true(zone_pristine(zone_normal()), "pristine to start");
	block = alloc_run(n, 0);
	set_block_type(block, MIGRATE_MOVABLE);
	for (unsigned int ms = 0; ms < WAIT_MS && !done; ms++) {
		reclaim_work_run();
		done = type_at(block) == MIGRATE_UNMOVABLE;
		if (!done)
			sleep_ms(1);
	}
	expect_true(done, "re-typed by the %s",
		    RETYPE_THREADS ? "reclaim thread" : "inline pass");
	expect_lu_gt(vm_event(PAGEBLOCK_RETYPE_SCAN), scans, "scans counted");
	expect_lu_eq(core_check_diag(), 0, "checker");
	free_run(0, n);
}
TEST_END

int main(void)
{
	for (int idx = 0; idx < MAX_NR_ZONES; idx++)
		core_config.zone_max_sections[idx] = 1;
	core_config.reclaim_threads = RETYPE_THREADS;
	core_config.lifetime_ms = LIFETIME_MS;
	buddy_lists_only();
	return test_run(test_majority_to_unmovable,
			test_majority_to_movable,
			test_majority_thresholds,
			test_pinned_after_lifetime, test_pinned_reclaimable,
			test_pinned_count_must_hold, test_pinned_only_for_room,
			test_pinned_time_restarts,
			test_reserved_left_alone,
			test_block_across_a_batch,
			test_pcp_pages_through_a_retype,
			test_reclaim_work_runs_the_scan,
			NULL);
}
