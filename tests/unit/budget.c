/*
 * budget.c - the memory budget and the allocation path around it
 * (core/budget.c, the slow path of core/page_alloc.c), on a 64 MiB budget
 * (core_config.limit) with no reclaim thread (wakeup_kswapd() has none to
 * wake here): the watermarks and lowmem_reserve as the kernel computes
 * them; direct reclaim below min, counted (allocstall, pgsteal_direct);
 * NORETRY, RETRY_MAYFAIL, the default for costly orders, NOWAIT and
 * NOFAIL as include/buddymalloc.h says; LOW32 below 4 GiB, and NORMAL
 * requests falling back into LOW32 only down to its reserve; the zoneinfo
 * report. Deterministic: the state is driven by allocations alone, and a
 * test shrinker stands for a cache that frees a page each time it is
 * asked.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit_util.h"

#define LIMIT		(64UL << 20)
#define BUDGET_PAGES	(LIMIT >> PAGE_SHIFT)
#define MAX_BLOCKS	8192

/* Blocks the fill holds: order-3 MOVABLE allocations. */
static void *blocks[MAX_BLOCKS];
static unsigned long nr_blocks;

static bool below_4g(const void *p, size_t size)
{
	return (uintptr_t)p + size <= (1UL << 32);
}

/* Allocate order-3 blocks (default flags: reclaim, retry) until one
 * fails; returns the failure's errno. */
static int fill(gfp_t gfp)
{
	for (;;) {
		struct page *page;

		errno = 0;
		page = alloc_pages(gfp, 3);
		if (!page)
			return errno;
		if (nr_blocks == MAX_BLOCKS) {
			test_fail("more blocks than a 64 MiB budget holds");
			return 0;
		}
		blocks[nr_blocks++] = page_address(page);
	}
}

static void free_blocks(unsigned long from, unsigned long to)
{
	for (unsigned long i = from; i < to; i++)
		expect_true(free_pages_checked(virt_to_page(blocks[i]), 3));
}

TEST_BEGIN(test_watermarks_as_the_kernel)
{
	struct zone *normal = zone_normal(), *low32 = zone_low32();
	unsigned long total = totalram_pages();
	unsigned long min_kb = 1024;	/* int_sqrt(65536 KiB * 16) */
	unsigned long pages_min = min_kb >> 2;

	expect_lu_eq(total, BUDGET_PAGES);
	expect_str_eq(budget_source(), "limit");
	/* LOW32 gets 1/16 of the node's budget, NORMAL the rest. */
	expect_lu_eq(low32->managed_pages, BUDGET_PAGES / 16);
	expect_lu_eq(normal->managed_pages, BUDGET_PAGES - BUDGET_PAGES / 16);
	for (int idx = 0; idx < MAX_NR_ZONES; idx++) {
		struct zone *z = zone_of((enum zone_type)idx);
		unsigned long min = pages_min * z->managed_pages / total;
		unsigned long gap = z->managed_pages * 10 / 10000;

		if (gap < min / 4)
			gap = min / 4;
		expect_lu_eq(min_wmark_pages(z), min, "%s", z->name);
		expect_lu_eq(low_wmark_pages(z), min + gap, "%s", z->name);
		expect_lu_eq(high_wmark_pages(z), min + 2 * gap, "%s", z->name);
	}
	expect_lu_eq(low32->lowmem_reserve[ZONE_NORMAL],
		     normal->managed_pages / 256);
	expect_lu_eq(low32->lowmem_reserve[ZONE_LOW32], 0);
	expect_lu_eq(normal->lowmem_reserve[ZONE_NORMAL], 0);

	/* The settings are read again when asked. */
	core_config.watermark_scale_factor = 200;
	core_config.min_free_kbytes = 4096;
	core_config.lowmem_reserve_ratio = 32;
	setup_per_zone_wmarks();
	expect_lu_eq(min_wmark_pages(normal),
		     1024 * normal->managed_pages / total);
	expect_lu_eq(low_wmark_pages(normal) - min_wmark_pages(normal),
		     normal->managed_pages * 200 / 10000);
	expect_lu_eq(low32->lowmem_reserve[ZONE_NORMAL],
		     normal->managed_pages / 32);
	core_config.watermark_scale_factor = 10;
	core_config.min_free_kbytes = 0;
	core_config.lowmem_reserve_ratio = 256;
	setup_per_zone_wmarks();
	expect_lu_eq(min_wmark_pages(normal),
		     pages_min * normal->managed_pages / total);
}
TEST_END

TEST_BEGIN(test_fill_stops_at_the_budget)
{
	struct zone *normal = zone_normal(), *low32 = zone_low32();
	unsigned long fails = vm_event(ALLOC_FAIL), in_low32 = 0;

	expect_d_eq(fill(__GFP_MOVABLE), ENOMEM);
	expect_lu_eq(vm_event(ALLOC_FAIL), fails + 1);
	/* Nearly the whole budget went out: all but the marks, the reserve
	 * and the sections' descriptors (counted whole). */
	expect_lu_gt(nr_blocks * 8, BUDGET_PAGES * 9 / 10);
	expect_lu_le(global_resident_pages(), BUDGET_PAGES);
	/* Each zone stopped at its min mark (NORMAL), or its min mark plus
	 * the reserve that protects it from NORMAL requests (LOW32). */
	expect_ld_ge(zone_page_free(normal), (long)min_wmark_pages(normal));
	expect_ld_lt(zone_page_free(normal), (long)min_wmark_pages(normal) + 8);
	expect_ld_ge(zone_page_free(low32),
		     (long)(min_wmark_pages(low32) +
			    low32->lowmem_reserve[ZONE_NORMAL]));
	expect_ld_lt(zone_page_free(low32),
		     (long)(min_wmark_pages(low32) +
			    low32->lowmem_reserve[ZONE_NORMAL]) + 8);
	for (unsigned long i = 0; i < nr_blocks; i++)
		in_low32 += below_4g(blocks[i], 8 * PAGE_SIZE);
	test_diag("%lu order-3 blocks, %lu of them in LOW32; free: Normal %ld "
		  "(min %lu), Low32 %ld (min %lu, protection %lu)", nr_blocks,
		  in_low32, zone_page_free(normal), min_wmark_pages(normal),
		  zone_page_free(low32), min_wmark_pages(low32),
		  low32->lowmem_reserve[ZONE_NORMAL]);
	expect_lu_gt(in_low32, 0, "NORMAL requests fell back into LOW32");
	expect_lu_eq(core_check_diag(), 0);
}
TEST_END

/* LOW32's reserve is for LOW32 requests: they still succeed, below 4 GiB,
 * after NORMAL requests have failed. */
TEST_BEGIN(test_low32_keeps_its_reserve)
{
	struct page *page;
	void *p;

	errno = 0;
	expect_ptr_null(alloc_pages(__GFP_MOVABLE | __GFP_NORETRY, 3));
	expect_d_eq(errno, ENOMEM);
	page = alloc_pages(__GFP_LOW32, 3);
	assert_ptr_not_null(page, "a LOW32 request reaches the reserve");
	p = page_address(page);
	expect_true(below_4g(p, 8 * PAGE_SIZE), "%p", p);
	expect_true(free_pages_checked(page, 3));
}
TEST_END

/*
 * Direct reclaim: the budget is spent, a quarter of the blocks are freed
 * (free but resident: no budget comes back yet). The next allocation
 * fails its watermark, reclaims in this thread (no reclaim thread is
 * running) and succeeds; the counters show it.
 */
TEST_BEGIN(test_direct_reclaim_below_min)
{
	struct zone *normal = zone_normal();
	unsigned long stalls = vm_event(ALLOCSTALL);
	unsigned long stolen = vm_event(PGSTEAL_DIRECT);
	unsigned long keep = nr_blocks - nr_blocks / 4;
	long before;
	struct page *page;

	free_blocks(keep, nr_blocks);
	nr_blocks = keep;
	before = zone_page_free(normal);
	expect_ld_lt(before, (long)low_wmark_pages(normal),
		     "frees alone give no budget back");
	page = alloc_pages(__GFP_MOVABLE, 3);
	assert_ptr_not_null(page);
	blocks[nr_blocks++] = page_address(page);
	expect_lu_eq(vm_event(ALLOCSTALL), stalls + 1, "one direct reclaim");
	expect_lu_gt(vm_event(PGSTEAL_DIRECT), stolen, "it released pages");
	expect_ld_gt(zone_page_free(normal), before, "budget came back");
	expect_lu_eq(core_check_diag(), 0);

	/* The rest fills again, and stops at the budget again. */
	expect_d_eq(fill(__GFP_MOVABLE), ENOMEM);
	expect_lu_le(global_resident_pages(), BUDGET_PAGES);
}
TEST_END

/*
 * A test cache: when reclaim asks, it reports progress (objects freed)
 * without giving a page back, so that the rounds of reclaim can be
 * counted while the budget stays exactly as short as it is.
 */
static bool shrinker_on;

static unsigned long test_scan(int nid, bool idle_only)
{
	(void)nid;
	(void)idle_only;
	return shrinker_on;
}

static const struct shrinker test_shrinker = {
	.name = "test",
	.scan_objects = test_scan,
};

/* Rounds of direct reclaim (allocstall) one failing allocation made. */
static unsigned long stalls_of(gfp_t gfp, unsigned int order)
{
	unsigned long stalls = vm_event(ALLOCSTALL);

	errno = 0;
	expect_ptr_null(alloc_pages(gfp, order), "gfp %#x order %u", gfp, order);
	expect_d_eq(errno, ENOMEM);
	return vm_event(ALLOCSTALL) - stalls;
}

/*
 * The budget is spent and reclaim keeps making progress that never
 * helps: NORETRY gives up after one round of reclaim, any order; orders
 * up to 3 retry while there is progress, MAX_RECLAIM_RETRIES (16) times,
 * then fail; a costly order gives up after one round unless it is
 * RETRY_MAYFAIL.
 */
TEST_BEGIN(test_noretry_and_retry_mayfail)
{
	unsigned long compact;

	assert_true(register_shrinker(&test_shrinker));
	expect_d_eq(fill(__GFP_MOVABLE), ENOMEM);
	shrinker_on = true;

	compact = vm_event(COMPACTSTALL);
	expect_lu_eq(stalls_of(__GFP_MOVABLE | __GFP_NORETRY, 3), 1,
		     "NORETRY: one round");
	expect_lu_eq(vm_event(COMPACTSTALL), compact + 1,
		     "the compaction stand-in ran once");
	expect_lu_eq(stalls_of(__GFP_MOVABLE | __GFP_NORETRY, 8), 1);
	expect_lu_eq(stalls_of(__GFP_MOVABLE, 3), 1 + 16,
		     "order 3: the first round and 16 retries");
	expect_lu_eq(stalls_of(__GFP_MOVABLE, 8), 1,
		     "a costly order gives up after one round");
	expect_lu_eq(stalls_of(__GFP_MOVABLE | __GFP_RETRY_MAYFAIL, 8), 1 + 16,
		     "RETRY_MAYFAIL: the first round and 16 retries");
	shrinker_on = false;
	expect_lu_eq(stalls_of(__GFP_MOVABLE, 3), 1,
		     "no progress: no retry");
	expect_lu_eq(core_check_diag(), 0);
}
TEST_END

/* Metadata chunks of 2 pages: more than the min mark of NORMAL holds. */
#define NR_META	160

/*
 * NOWAIT never reclaims in the calling thread, and may go a quarter of the
 * min mark below it (ALLOC_HARDER); NOFAIL, for the allocator's own
 * metadata, succeeds when nothing else does, and from the page API is only
 * RETRY_MAYFAIL.
 */
TEST_BEGIN(test_nowait_and_nofail)
{
	struct zone *normal = zone_normal();
	unsigned long stalls = vm_event(ALLOCSTALL), nowait = 0;
	struct page *page, *meta[NR_META];

	for (;;) {
		page = alloc_pages(__GFP_MOVABLE | __GFP_NOWAIT, 0);
		if (!page)
			break;
		nowait++;
		assert_u_lt(nr_blocks, MAX_BLOCKS);
		blocks[nr_blocks++] = page_address(page);	/* order 0 */
	}
	expect_d_eq(errno, ENOMEM);
	expect_lu_eq(vm_event(ALLOCSTALL), stalls, "NOWAIT never reclaims");
	expect_lu_gt(nowait, 0, "NOWAIT went below min");
	expect_ld_lt(zone_page_free(normal), (long)min_wmark_pages(normal));
	expect_ld_ge(zone_page_free(normal),
		     (long)(min_wmark_pages(normal) - min_wmark_pages(normal) / 4));

	/* Ordinary allocations fail; metadata does not. */
	expect_ptr_null(alloc_pages(__GFP_MOVABLE | __GFP_NORETRY, 1));
	for (int i = 0; i < NR_META; i++) {
		meta[i] = alloc_pages(__GFP_HIGHATOMIC | __GFP_NOFAIL, 1);
		assert_ptr_not_null(meta[i], "NOFAIL metadata %d", i);
	}
	/* Past half of min (where ALLOC_HIGH stops), past the budget. */
	expect_ld_lt(zone_page_free(normal), 0);
	/* The page API's NOFAIL is RETRY_MAYFAIL: it fails. */
	errno = 0;
	expect_ptr_null(alloc_pages(__GFP_NOFAIL | __GFP_PAGE_API, 1));
	expect_d_eq(errno, ENOMEM);
	for (int i = 0; i < NR_META; i++)
		expect_true(free_pages_checked(meta[i], 1));
	expect_lu_eq(core_check_diag(), 0);
}
TEST_END

static uint64_t fake_now = 1;

static uint64_t fake_clock(void)
{
	return fake_now;
}

static unsigned long count_in(const char *text, const char *what)
{
	unsigned long n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/*
 * warn_alloc: one line in the kernel's words and the zoneinfo report per
 * failure on stderr, at most 10 per 5 seconds (the clock is the test's),
 * then a note of how many were suppressed.
 */
TEST_BEGIN(test_warn_alloc)
{
	static char out[1 << 16];
	char name[] = "/tmp/buddy-warn-XXXXXX";
	int fd = mkstemp(name), saved = dup(2);
	ssize_t n;

	assert_d_ge(fd, 0);
	unlink(name);
	test_warn_clock = fake_clock;
	core_config.warn_alloc = true;
	dup2(fd, 2);
	for (int i = 0; i < 12; i++)
		expect_ptr_null(alloc_pages(__GFP_MOVABLE | __GFP_NORETRY, 3));
	fake_now += 5000000000ULL;	/* the interval is over */
	expect_ptr_null(alloc_pages(__GFP_MOVABLE | __GFP_NORETRY, 3));
	dup2(saved, 2);
	close(saved);
	core_config.warn_alloc = false;
	test_warn_clock = NULL;
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	assert_zd_gt(n, 0);
	out[n] = '\0';
	expect_lu_eq(count_in(out, "buddymalloc: page allocation failure: "
			      "order:3, mode:0x21(MOVABLE|NORETRY)\n"), 11,
		     "10, then one after the interval");
	expect_lu_eq(count_in(out, "buddymalloc: warn_alloc: 2 callbacks "
			      "suppressed\n"), 1);
	expect_lu_eq(count_in(out, "\nNode 0, zone   Normal\n  pages free "),
		     11);
	expect_lu_eq(count_in(out, "        protection: (0, 60)\n"), 11);
}
TEST_END

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_ptr_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* The cgroup v2 budget: the "0::" line of /proc/self/cgroup names the
 * cgroup, its memory.max the limit; "max", the root cgroup, a cgroup v1
 * only file or a missing file give none. */
TEST_BEGIN(test_cgroup_memory_max)
{
	char dir[] = "/tmp/buddy-cgroup-XXXXXX", sub[600], proc[600];

	assert_ptr_not_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/app.slice", dir);
	assert_d_eq(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/app.slice/job", dir);
	assert_d_eq(mkdir(sub, 0700), 0);
	snprintf(proc, sizeof(proc), "%s/cgroup", dir);

	write_file(dir, "cgroup", "1:name=systemd:/x\n0::/app.slice/job\n");
	write_file(dir, "app.slice/job/memory.max", "268435456\n");
	expect_zu_eq(os_cgroup_memory_max_at(proc, dir), 256UL << 20);
	write_file(dir, "app.slice/job/memory.max", "max\n");
	expect_zu_eq(os_cgroup_memory_max_at(proc, dir), 0);
	write_file(dir, "cgroup", "0::/\n");
	write_file(dir, "memory.max", "4096\n");
	expect_zu_eq(os_cgroup_memory_max_at(proc, dir), 4096,
		     "the root cgroup's own file, if a mount has one");
	write_file(dir, "cgroup", "4:memory:/app.slice/job\n");
	expect_zu_eq(os_cgroup_memory_max_at(proc, dir), 0, "cgroup v1 only");
	snprintf(sub, sizeof(sub), "%s/none", dir);
	expect_zu_eq(os_cgroup_memory_max_at(sub, dir), 0, "no such file");
	/* This machine's answer is whatever it is; it must not fail. */
	(void)os_cgroup_memory_max();

	snprintf(sub, sizeof(sub), "rm -rf %s", dir);
	expect_d_eq(system(sub), 0);
}
TEST_END

/* Everything back: the allocator works again, and the zoneinfo report
 * shows each zone's budget view. */
TEST_BEGIN(test_free_all_and_report)
{
	static char buf[8192];
	struct seq_buf s;
	const char *text;

	for (unsigned long i = 0; i < nr_blocks; i++) {
		struct page *page = virt_to_page(blocks[i]);

		expect_true(free_pages_checked(page, page->nr_pages == 1 ? 0 : 3));
	}
	nr_blocks = 0;
	expect_ptr_not_null(alloc_pages(__GFP_MOVABLE, 3));
	expect_lu_eq(core_check_diag(), 0);

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	zoneinfo_show(&s);
	text = seq_buf_str(&s);
	test_diag("%s", text);
	expect_ptr_not_null(strstr(text, "Node 0, zone    Low32\n  pages free"));
	expect_ptr_not_null(strstr(text, "Node 0, zone   Normal\n  pages free"));
	expect_ptr_not_null(strstr(text, "\n        managed  1024\n"));
	expect_ptr_not_null(strstr(text, "\n        protection: (0, 60)\n"));
	/* The kernel's pagesets, one entry per CPU. */
	expect_ptr_not_null(strstr(text, "\n  pagesets\n    cpu: 0\n              count: "));
	expect_ptr_not_null(strstr(text, "\n              high:  "));
	expect_ptr_not_null(strstr(text, "\n              batch: "));
}
TEST_END

int main(void)
{
	core_config.limit = LIMIT;
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	/* Every allocation meets the budget: none comes resident from a
	 * per-CPU list. */
	buddy_lists_only();
	return test_run(test_cgroup_memory_max,
			test_watermarks_as_the_kernel,
			test_fill_stops_at_the_budget,
			test_low32_keeps_its_reserve,
			test_direct_reclaim_below_min,
			test_noretry_and_retry_mayfail,
			test_nowait_and_nofail,
			test_warn_alloc,
			test_free_all_and_report,
			NULL);
}
