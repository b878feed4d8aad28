/*
 * kswapd.c - the reclaim threads and decay (core/vmscan.c, core/reclaim.c),
 * deterministic: the decay clock is driven by the test (test_decay_now_ms)
 * and every wait for the thread polls its pass counter (kswapd_runs) with
 * a bounded wait, never a sleep that assumes how long the thread takes.
 *
 * Each zone may online one section (128 MiB = 32 max-order blocks). The
 * watermark test sets a small budget of its own and reads the marks the
 * budget gives (budget.c); the others run on the default budget, where the
 * marks are never reached. The pcp lists are off (buddy_lists_only), so
 * every free page is on the free lists that reclaim walks.
 *
 * Built twice: kswapd (reclaim_threads 1) and kswapd_inline
 * (KSWAPD_THREADS=0: no thread, decay on the allocating path).
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit_util.h"

#ifndef KSWAPD_THREADS
#define KSWAPD_THREADS	1
#endif

#define MiB		(1UL << 20)
#define BLOCK_BYTES	(PAGE_SIZE << MAX_PAGE_ORDER)
#define NR_BLOCKS	32		/* max-order blocks in the one section */
#define DECAY_MS	1000
#define T0		1000000u	/* the test clock's start, in ms */
#define WAIT_MS		20000		/* bound of every wait for the thread */
#define CHILD_TIMEOUT	30

static pg_data_t *node0(void)
{
	buddy_core_init();
	return NODE_DATA(0);
}

static unsigned long free_resident(struct zone *zone)
{
	struct zone_counts c;

	zone_counts(zone, &c);
	return c.nr_free_pages - c.nr_released;
}

/* Threads of this process, from /proc/self/task. */
static unsigned int nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	unsigned int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

#if KSWAPD_THREADS
static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Kick the node's thread (reclaim_work_run) until it has finished two more
 * passes than when we started: the second began after this call did, so
 * it saw everything the test did before. Bounded: false after WAIT_MS.
 */
static bool wait_two_passes(pg_data_t *pgdat)
{
	unsigned long start = uatomic_read(&pgdat->kswapd_runs);

	for (unsigned int ms = 0; ms < WAIT_MS; ms++) {
		if (uatomic_read(&pgdat->kswapd_runs) >= start + 2)
			return true;
		reclaim_work_run();
		sleep_ms(1);
	}
	return false;
}

/* Wait (bounded) until the thread sleeps with nothing to do: no pass is
 * running, and none will until something wakes it. */
static bool wait_thread_idle(pg_data_t *pgdat)
{
	for (unsigned int ms = 0; ms < WAIT_MS; ms++) {
		bool idle;

		pthread_mutex_lock(&pgdat->kswapd_lock);
		idle = pgdat->kswapd_idle && !pgdat->kswapd_decay_kick &&
		       !pgdat->kswapd_wake;
		pthread_mutex_unlock(&pgdat->kswapd_lock);
		if (idle)
			return true;
		sleep_ms(1);
	}
	return false;
}
#endif

static void alloc_blocks(struct page **blocks, int n)
{
	for (int i = 0; i < n; i++) {
		blocks[i] = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
		assert_ptr_not_null(blocks[i], "block %d", i);
		memset(page_address(blocks[i]), 0x5a, BLOCK_BYTES);
	}
}

static void free_blocks(struct page **blocks, int n)
{
	for (int i = 0; i < n; i++)
		assert_true(free_pages_checked(blocks[i], MAX_PAGE_ORDER));
}

/* Everything back to the OS, so that each test starts with nothing
 * resident and no pageblock waiting for decay. */
static void start_clean(void)
{
	release_free_pages();
	expect_lu_eq(free_resident(zone_normal()), 0, "clean start");
}

#if KSWAPD_THREADS

/* ------------------------------------------------------- watermarks */

/*
 * The thread is woken when an allocation would take the zone below its low
 * watermark, not before, and releases free memory until the zone is at its
 * high watermark, not further: free-but-resident memory is left. The
 * budget is made small for this test (136 MiB: Normal's share is about
 * one section), with wide marks, so that both are crossed by a few blocks.
 * Reading the marks, not computing them: budget.c's tests do that.
 */
TEST_BEGIN(test_wake_below_low_stop_at_high)
{
	struct zone *zone = zone_normal();
	struct page *blocks[NR_BLOCKS];
	unsigned long low, high, stolen, resident_left, need;
	int n = 0;

	core_config.limit = 136 * MiB;
	core_config.min_free_kbytes = 8192;
	core_config.watermark_scale_factor = 1000;
	/* Low32 keeps all of itself from Normal's requests: they stay in
	 * Normal, whose marks are the ones crossed. */
	core_config.lowmem_reserve_ratio = 1;
	setup_per_zone_wmarks();
	low = low_wmark_pages(zone);
	high = high_wmark_pages(zone);
	test_diag("managed %lu min %lu low %lu high %lu free %ld",
		  zone->managed_pages, min_wmark_pages(zone), low, high,
		  zone_page_free(zone));

	/* Blocks that leave the zone at or above low wake nobody. */
	while (n < NR_BLOCKS &&
	       zone_page_free(zone) - (long)MAX_ORDER_NR_PAGES >= (long)low)
		alloc_blocks(blocks + n++, 1);
	expect_d_ge(n, 2, "room above low for some blocks");
	expect_false(zone_below_low(zone));
	expect_lu_eq(vm_event(KSWAPD_WAKE), 0, "no wake above low");
	expect_lu_eq(free_resident(zone), 0);

	/* The next one would go below low: the slow path wakes the thread. */
	alloc_blocks(blocks + n++, 1);
	expect_true(zone_below_low(zone), "below low");
	expect_lu_eq(vm_event(KSWAPD_WAKE), 1, "woken below low");

	/* Free all but the last: free but resident, still below low. */
	free_blocks(blocks, n - 1);
	expect_true(zone_below_low(zone));
	need = high - (unsigned long)zone_page_free(zone);
	expect_false(node0()->kswapd_started, "not started inside the core");
	reclaim_work_check();	/* leaving the allocator: starts it */
	assert_true(wait_two_passes(node0()), "the thread ran");
	expect_true(node0()->kswapd_started);
	expect_u_eq(nr_threads(), 2, "one reclaim thread");

	stolen = vm_event(PGSTEAL_KSWAPD);
	resident_left = free_resident(zone);
	test_diag("needed %lu: released %lu, free resident left %lu",
		  need, stolen, resident_left);
	expect_lu_ge(vm_event(PAGEOUTRUN), 1, "balance_pgdat ran");
	expect_true(zone_balanced(zone), "at high after the run");
	expect_false(zone_below_low(zone));
	expect_lu_ge(stolen, need, "released up to high");
	expect_lu_le(stolen, need + MAX_ORDER_NR_PAGES,
		     "and stopped there, within one unit");
	expect_lu_ge(resident_left + stolen, (unsigned long)(n - 1) *
		     MAX_ORDER_NR_PAGES, "free memory above high stays resident");
	expect_lu_gt(resident_left, 0, "some of it");
	expect_lu_eq(vm_event(PGSTEAL_DECAY), 0, "the clock stood: no decay");
	expect_lu_eq(core_check_diag(), 0);

	free_blocks(blocks + n - 1, 1);
	expect_lu_eq(core_check_diag(), 0);
	expect_pristine(zone, "after the run");
	core_config.limit = 0;
	core_config.min_free_kbytes = 0;
	core_config.watermark_scale_factor = 10;
	core_config.lowmem_reserve_ratio = 256;
	setup_per_zone_wmarks();
}
TEST_END

/*
 * Under pressure whole free pageblocks go back before partly used ones
 * (a partial release splits the huge page that may back it), even when
 * the partly used one comes first in the zone.
 */
TEST_BEGIN(test_whole_pageblocks_first)
{
	struct zone *zone = zone_normal();
	const size_t bytes = BLOCK_BYTES;
	unsigned long pfn, released, partial_resident;
	char *p;

	start_clean();
	/* A max-order block, touched, cut down to its first page: pageblock
	 * 0 keeps 511 free resident pages beside the page, pageblock 1 is
	 * one whole free block, after it. */
	p = alloc_pages_exact(bytes, __GFP_MOVABLE);
	assert_ptr_not_null(p);
	memset(p, 0x33, bytes);
	assert_true(resize_pages_exact(p, bytes, PAGE_SIZE));
	pfn = addr_pfn(p);

	released = reclaim_zone(zone, pageblock_nr_pages / 2, PGSTEAL_DIRECT);
	zone_lock(zone);
	partial_resident = pageblock_nr_pages - 1 -
			   __pages_released(pfn + 1, pageblock_nr_pages - 1);
	zone_unlock(zone);
	expect_lu_eq(released, pageblock_nr_pages, "one whole pageblock");
	expect_lu_eq(partial_resident, pageblock_nr_pages - 1,
		     "the partly used pageblock was left alone");
	expect_lu_eq(reclaim_zone(zone, ~0UL, PGSTEAL_DIRECT),
		     pageblock_nr_pages - 1, "then the rest");
	expect_d_eq(p[0], 0x33, "the allocated page kept its contents");
	expect_true(free_pages_exact_checked(p, PAGE_SIZE));
	expect_lu_eq(core_check_diag(), 0);
	expect_pristine(zone, "after pressure reclaim");
}
TEST_END

/* ------------------------------------------------------------ decay */

/*
 * Memory freed and left alone goes back once decay_ms passed on the
 * driven clock, not a millisecond before; then the clock stops, and the
 * next free asks for decay again.
 */
TEST_BEGIN(test_decay_by_driven_clock)
{
	struct zone *zone = zone_normal();
	pg_data_t *pgdat = node0();
	struct page *blocks[16];
	unsigned long decayed = vm_event(PGSTEAL_DECAY);
	unsigned long rss_freed;

	start_clean();
	CMM_STORE_SHARED(test_decay_now_ms, T0);
	assert_true(wait_two_passes(pgdat), "the clock reads T0");
	alloc_blocks(blocks, 16);
	free_blocks(blocks, 16);
	rss_freed = test_rss_bytes();

	assert_true(wait_two_passes(pgdat));
	expect_lu_eq(vm_event(PGSTEAL_DECAY), decayed, "at T0: kept");
	expect_lu_eq(free_resident(zone), 16 * MAX_ORDER_NR_PAGES);

	CMM_STORE_SHARED(test_decay_now_ms, T0 + DECAY_MS - 1);
	assert_true(wait_two_passes(pgdat));
	expect_lu_eq(vm_event(PGSTEAL_DECAY), decayed, "a ms early: kept");
	expect_lu_eq(free_resident(zone), 16 * MAX_ORDER_NR_PAGES);

	CMM_STORE_SHARED(test_decay_now_ms, T0 + DECAY_MS);
	assert_true(wait_two_passes(pgdat));
	expect_lu_eq(vm_event(PGSTEAL_DECAY) - decayed, 16 * MAX_ORDER_NR_PAGES,
		     "after decay_ms: every page back");
	expect_lu_eq(free_resident(zone), 0);
	expect_zu_ge(rss_freed, test_rss_bytes() + 60 * MiB,
		     "the resident set shrank");
	assert_true(wait_thread_idle(pgdat), "nothing waits: the thread sleeps");
	expect_u_eq(uatomic_read(&pgdat->decay_clock), 0,
		    "nothing waits: the clock stopped");

	/* A free with the clock stopped asks for decay to restart. */
	CMM_STORE_SHARED(reclaim_work_pending, 0);
	alloc_blocks(blocks, 1);
	free_blocks(blocks, 1);
	expect_d_eq(CMM_LOAD_SHARED(reclaim_work_pending), 1,
		    "a free restarts decay");
	expect_lu_eq(core_check_diag(), 0);
	expect_pristine(zone, "after decay");
}
TEST_END

/*
 * The cache of freed direct mappings (huge.c) decays with the node's
 * clock: kept a millisecond before decay_ms, unmapped at decay_ms; then
 * the clock stops, and the next cached free asks for decay again.
 */
TEST_BEGIN(test_decay_huge_cache)
{
	pg_data_t *pgdat = node0();
	size_t bytes, count;
	unsigned char vec;
	void *p;

	start_clean();
	huge_cache_drain();
	CMM_STORE_SHARED(test_decay_now_ms, T0 + 20 * DECAY_MS);
	assert_true(wait_two_passes(pgdat), "the clock reads the new time");
	p = huge_alloc(6 * MiB, 0, 0);
	assert_ptr_not_null(p);
	memset(p, 1, 6 * MiB);
	expect_true(huge_free(p));

	CMM_STORE_SHARED(test_decay_now_ms, T0 + 21 * DECAY_MS - 1);
	assert_true(wait_two_passes(pgdat));
	huge_cache_stats(&bytes, &count);
	expect_zu_eq(bytes, 6 * MiB, "a ms early: kept");
	expect_d_eq(mincore(p, PAGE_SIZE, &vec), 0, "still mapped");

	CMM_STORE_SHARED(test_decay_now_ms, T0 + 21 * DECAY_MS);
	assert_true(wait_two_passes(pgdat));
	huge_cache_stats(&bytes, &count);
	expect_zu_eq(count, 0, "after decay_ms: unmapped");
	expect_d_eq(mincore(p, PAGE_SIZE, &vec), -1, "no longer mapped");
	assert_true(wait_thread_idle(pgdat), "nothing waits: the thread sleeps");
	expect_u_eq(uatomic_read(&pgdat->decay_clock), 0,
		    "nothing waits: the clock stopped");

	/* A cached free with the clock stopped asks for decay to restart. */
	CMM_STORE_SHARED(reclaim_work_pending, 0);
	p = huge_alloc(6 * MiB, 0, 0);
	assert_ptr_not_null(p);
	expect_true(huge_free(p));
	expect_d_eq(CMM_LOAD_SHARED(reclaim_work_pending), 1,
		    "a cached free restarts decay");
	CMM_STORE_SHARED(test_decay_now_ms, T0 + 23 * DECAY_MS);
	assert_true(wait_two_passes(pgdat));
	huge_cache_stats(&bytes, &count);
	expect_zu_eq(count, 0, "and decay unmaps it");
}
TEST_END

/* --------------------------------------------------------------- fork */

static int release_blocked;	/* the thread waits in release_ranges */
static int release_go;

/* In the reclaim thread, between isolating a batch and releasing it, with
 * no lock held: the first time, wait until the test lets go. */
static void block_release(struct zone *zone)
{
	(void)zone;
	if (uatomic_cmpxchg(&release_blocked, 0, 1) != 0)
		return;
	while (!uatomic_read(&release_go))
		sleep_ms(1);
}

/* Free pages on the ISOLATE lists of zone. */
static unsigned long isolated_free(struct zone *zone)
{
	struct zone_counts c;

	zone_counts(zone, &c);
	return c.nr_free_type[MIGRATE_ISOLATE];
}

/*
 * The child of a fork taken while the reclaim thread had pageblocks
 * isolated (between isolate and release): they are ISOLATE in the child.
 * It must get every page back, none lost, none twice, and start a thread
 * of its own when it frees.
 */
static void child_after_fork(void)
{
	struct zone *zone = zone_normal();
	struct page *blocks[NR_BLOCKS];
	unsigned long start;
	int got = 0;

	alarm(CHILD_TIMEOUT);
	child_check(isolated_free(zone) > 0);	/* what the parent had */
	child_check(!core_fork_busy());
	core_fork_child(false);
	child_check(isolated_free(zone) == 0);
	child_check(zone->nr_isolate_pageblock == 0);
	child_check(check_all_zones(NULL) == 0);
	child_check(zone_pristine(zone));
	child_check(!node0()->kswapd_started);
	/* Every block of the section, none twice. */
	for (; got < NR_BLOCKS; got++) {
		blocks[got] = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
		if (!blocks[got])
			break;
		memset(page_address(blocks[got]), got, 64);
	}
	child_check(got == NR_BLOCKS);
	for (int i = 0; i < got; i++) {
		child_check(*(unsigned char *)page_address(blocks[i]) == i);
		child_check(free_pages_checked(blocks[i], MAX_PAGE_ORDER));
	}
	/* Its own thread, started lazily by what the frees asked for. */
	child_check(CMM_LOAD_SHARED(reclaim_work_pending) == 1);
	start = uatomic_read(&node0()->kswapd_runs);
	reclaim_work_check();
	for (unsigned int ms = 0; ms < WAIT_MS &&
	     uatomic_read(&node0()->kswapd_runs) == start; ms++)
		sleep_ms(1);
	child_check(node0()->kswapd_started);
	child_check(uatomic_read(&node0()->kswapd_runs) > start);
	child_check(nr_threads() == 2);
	child_check(release_free_pages() > 0);
	child_check(check_all_zones(NULL) == 0);
	child_exit();
}

TEST_BEGIN(test_fork_while_releasing)
{
	struct zone *zone = zone_normal();
	struct page *blocks[8];
	unsigned long decayed = vm_event(PGSTEAL_DECAY);
	int status = 0;
	pid_t pid;

	start_clean();
	CMM_STORE_SHARED(test_decay_now_ms, T0 + 10 * DECAY_MS);
	assert_true(wait_two_passes(node0()));
	alloc_blocks(blocks, 8);
	free_blocks(blocks, 8);
	assert_true(wait_two_passes(node0()));	/* stamped now */

	test_release_hook = block_release;
	CMM_STORE_SHARED(test_decay_now_ms, T0 + 11 * DECAY_MS);
	reclaim_work_run();
	for (unsigned int ms = 0; ms < WAIT_MS &&
	     !uatomic_read(&release_blocked); ms++)
		sleep_ms(1);
	assert_true(uatomic_read(&release_blocked), "the thread is releasing");
	expect_lu_gt(isolated_free(zone), 0, "its batch is isolated");

	pid = fork();
	if (pid == 0)
		child_after_fork();
	assert_d_gt(pid, 0, "fork");
	assert_d_eq(waitpid(pid, &status, 0), pid);
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child's checks (status 0x%x)", status);

	uatomic_set(&release_go, 1);
	assert_true(wait_two_passes(node0()));
	test_release_hook = NULL;
	expect_lu_eq(vm_event(PGSTEAL_DECAY) - decayed, 8 * MAX_ORDER_NR_PAGES,
		     "the parent's release finished");
	expect_lu_eq(isolated_free(zone), 0);
	expect_lu_eq(core_check_diag(), 0);
	expect_pristine(zone, "parent after the fork");
}
TEST_END

#else /* !KSWAPD_THREADS */

/* Inline decay runs in the allocating thread at the outermost level, where
 * a signal handler's malloc would not count as nested: it must run with
 * signals blocked, or a handler could wait for the zone lock its own
 * thread holds. The release hook sees the mask. */
static int release_calls, release_signals_open;

static void check_mask(struct zone *zone)
{
	sigset_t cur;

	(void)zone;
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	release_calls++;
	if (!sigismember(&cur, SIGUSR1) || !sigismember(&cur, SIGALRM))
		release_signals_open++;
}

/*
 * reclaim_threads 0: no thread ever starts; the allocating path's
 * reclaim_work_check() runs decay itself, at most every decay_ms / 4.
 */
TEST_BEGIN(test_decay_inline)
{
	struct zone *zone = zone_normal();
	pg_data_t *pgdat = node0();
	struct page *blocks[16];
	unsigned long runs;

	start_clean();
	CMM_STORE_SHARED(test_decay_now_ms, T0);
	alloc_blocks(blocks, 16);
	free_blocks(blocks, 16);
	expect_d_eq(CMM_LOAD_SHARED(reclaim_work_pending), 1,
		    "the free asked for decay");

	reclaim_work_check();	/* first pass: stamps read T0 */
	runs = uatomic_read(&pgdat->kswapd_runs);
	expect_lu_ge(runs, 1, "a pass ran inline");
	expect_lu_eq(vm_event(PGSTEAL_DECAY), 0);
	expect_d_eq(CMM_LOAD_SHARED(reclaim_work_pending), 1,
		    "still pending: memory waits");

	CMM_STORE_SHARED(test_decay_now_ms, T0 + DECAY_MS / 4 - 1);
	reclaim_work_check();
	expect_lu_eq(uatomic_read(&pgdat->kswapd_runs), runs,
		     "no pass within a quarter of decay_ms");

	CMM_STORE_SHARED(test_decay_now_ms, T0 + DECAY_MS);
	test_release_hook = check_mask;
	reclaim_work_check();
	test_release_hook = NULL;
	expect_lu_eq(vm_event(PGSTEAL_DECAY), 16 * MAX_ORDER_NR_PAGES,
		     "decayed inline");
	expect_d_gt(release_calls, 0);
	expect_d_eq(release_signals_open, 0,
		    "every signal blocked while decay runs inline");
	expect_lu_eq(free_resident(zone), 0);
	expect_d_eq(CMM_LOAD_SHARED(reclaim_work_pending), 0,
		    "nothing waits any more");
	expect_false(pgdat->kswapd_started, "no thread");
	expect_u_eq(nr_threads(), 1, "no thread");
	expect_lu_eq(vm_event(KSWAPD_WAKE), 0);
	expect_lu_eq(core_check_diag(), 0);
	expect_pristine(zone, "after inline decay");
}
TEST_END

#endif

int main(void)
{
	for (int idx = 0; idx < MAX_NR_ZONES; idx++)
		core_config.zone_max_sections[idx] = 1;
	core_config.reclaim_threads = KSWAPD_THREADS;
	core_config.decay_ms = DECAY_MS;
	test_decay_now_ms = T0;
	/* The zones' free lists hold every free page: what reclaim and the
	 * checks below see. */
	buddy_lists_only();
#if KSWAPD_THREADS
	return test_run(test_wake_below_low_stop_at_high,
			test_whole_pageblocks_first,
			test_decay_by_driven_clock,
			test_decay_huge_cache,
			test_fork_while_releasing,
			NULL);
#else
	return test_run(test_decay_inline, NULL);
#endif
}
