/*
 * pcp.c - the per-CPU page lists (core/pcp.c): a refill takes exactly
 * batch pages, a free at high spills batch, counts never exceed high while
 * threads pinned to different CPUs allocate and free at random, a drain
 * empties every CPU's lists and leaves each zone whole, frees stay exact
 * (a double free of a block on a list, or a free by the wrong owner, is
 * refused), a walk under zone->lock reads a list's heads while their
 * owner writes them (atomically: checked under ThreadSanitizer), high and
 * batch follow the zone's size and the settings, and a fork that finds a
 * pcp lock held abandons the heap.
 *
 * Deterministic: single-CPU steps run in one thread pinned to one CPU;
 * the threaded test checks invariants, not timings.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>

#include "unit_util.h"

#define MAX_CPUS	256

/* The CPUs the process may run on, read once at the start (a pinned
 * thread's own affinity is one CPU). */
static cpu_set_t process_cpus;

static unsigned int online_cpus(void)
{
	return (unsigned int)CPU_COUNT(&process_cpus);
}

/* The n-th CPU this process may run on (modulo their number). */
static int nth_cpu(unsigned int n)
{
	unsigned int seen = 0;

	n %= online_cpus();
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &process_cpus) && seen++ == n)
			return cpu;
	return 0;
}

static bool pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		return false;
	test_pcp_refresh_cpu();	/* rseq off: the CPU hint may lag */
	return true;
}

static void unpin(void)
{
	pthread_setaffinity_np(pthread_self(), sizeof(process_cpus),
			       &process_cpus);
}

static struct pcp_stats cpu_stats(struct zone *zone, int cpu)
{
	struct pcp_stats st[MAX_CPUS];	/* per call: threads read at once */
	struct pcp_stats none = { 0 };
	unsigned int n = pcp_stats_read(zone, st, MAX_CPUS);

	return (unsigned int)cpu < n ? st[cpu] : none;
}

static unsigned long zone_free(struct zone *zone)
{
	struct zone_counts c;

	zone_counts(zone, &c);
	return c.nr_free_pages;
}

/* The zone has a section, and nothing is on any list. */
static void settle(struct zone *zone)
{
	struct page *page = alloc_pages(0, 0);

	if (page)
		free_pages_checked(page, 0);
	drain_all_pages(NULL);
	(void)zone;
}

TEST_BEGIN(test_lists_exist)
{
	struct zone *zone = zone_normal();
	struct pcp_stats st[MAX_CPUS];
	unsigned int n;

	settle(zone);
	n = pcp_stats_read(zone, st, MAX_CPUS);
	expect_u_eq(n, nr_pcp_cpus, "a list set per possible CPU");
	expect_u_ge(n, online_cpus());
	for (unsigned int i = 0; i < n; i++) {
		expect_u_ge(st[i].batch, 1, "cpu %u", i);
		expect_u_ge(st[i].high, 4 * st[i].batch,
			    "cpu %u: high at least 4 batches", i);
		expect_u_eq(st[i].count, 0, "cpu %u: drained", i);
	}
}
TEST_END

/* An allocation from an empty list takes batch pages (max(batch >> order,
 * 2) blocks above order 0) under one refill, hands one out and keeps the
 * rest; the next allocations come from the list without a refill. */
TEST_BEGIN(test_refill_takes_batch)
{
	struct zone *zone = zone_normal();
	int cpu = nth_cpu(0);
	static struct page *held[64];

	assert_true(pin_to(cpu), "pinned to cpu %d", cpu);
	settle(zone);
	for (unsigned int order = 0; order <= 3; order++) {
		struct pcp_stats st = cpu_stats(zone, cpu);
		unsigned long blocks = st.batch >> order, free0, refills0;

		if (st.batch > 1 && blocks < 2)
			blocks = 2;
		free0 = zone_free(zone);
		refills0 = vm_event(PCP_REFILL);
		held[0] = alloc_pages(__GFP_MOVABLE, order);
		assert_ptr_not_null(held[0]);
		expect_lu_eq(vm_event(PCP_REFILL) - refills0, 1, "order %u: one refill", order);
		expect_lu_eq(free0 - zone_free(zone), blocks << order,
			     "order %u: the refill took batch pages from the zone", order);
		expect_u_eq(cpu_stats(zone, cpu).count,
			    (unsigned int)((blocks - 1) << order),
			    "order %u: the rest is on the list", order);
		expect_u_eq(held[0]->flags, PG_head, "order %u: handed out", order);
		for (unsigned long i = 1; i < blocks && i < 64; i++) {
			held[i] = alloc_pages(__GFP_MOVABLE, order);
			assert_ptr_not_null(held[i]);
		}
		expect_lu_eq(vm_event(PCP_REFILL) - refills0, 1,
			     "order %u: the list served the rest", order);
		expect_u_eq(cpu_stats(zone, cpu).count, 0, "order %u: list empty", order);
		for (unsigned long i = 0; i < blocks && i < 64; i++)
			expect_true(free_pages_checked(held[i], order));
		drain_all_pages(NULL);
	}
	expect_pristine(zone, "after the refills");
	expect_lu_eq(core_check_diag(), 0);
	unpin();
}
TEST_END

/* Frees fill this CPU's list up to high; the free that reaches high spills
 * batch pages (down to high - batch) in one PCP_SPILL. */
TEST_BEGIN(test_spill_at_high)
{
	struct zone *zone = zone_normal();
	int cpu = nth_cpu(0);
	struct pcp_stats st;
	struct page **held;
	unsigned int n, spilled_at = 0;
	unsigned long spills0;

	assert_true(pin_to(cpu), "pinned to cpu %d", cpu);
	settle(zone);
	st = cpu_stats(zone, cpu);
	n = st.high + st.batch;
	held = os_map(n * sizeof(*held));
	assert_ptr_not_null(held);
	for (unsigned int i = 0; i < n; i++) {
		held[i] = alloc_pages(0, 0);
		assert_ptr_not_null(held[i]);
	}
	drain_all_pages(NULL);
	spills0 = vm_event(PCP_SPILL);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int before = cpu_stats(zone, cpu).count;

		expect_true(free_pages_checked(held[i], 0));
		if (vm_event(PCP_SPILL) != spills0 && !spilled_at) {
			spilled_at = i + 1;
			expect_u_eq(before + 1, st.high, "the spilling free reached high");
			expect_u_eq(cpu_stats(zone, cpu).count, st.high - st.batch,
				    "spilled batch pages");
		}
		expect_u_le(cpu_stats(zone, cpu).count, st.high, "free %u", i);
	}
	expect_u_eq(spilled_at, st.high, "the first spill came at the high-th free");
	expect_lu_eq(core_check_diag(), 0);
	drain_all_pages(NULL);
	expect_pristine(zone, "after the spills");
	os_unmap(held, n * sizeof(*held));
	unpin();
}
TEST_END

/* A block on a list is free: freeing it again is refused, as is a free by
 * an owner other than the allocation's. */
TEST_BEGIN(test_double_free_refused)
{
	struct zone *zone = zone_normal();
	struct page *page, *api;

	assert_true(pin_to(nth_cpu(0)));
	settle(zone);
	page = alloc_pages(__GFP_MOVABLE, 1);
	assert_ptr_not_null(page);
	expect_true(free_pages_checked(page, 1));
	expect_u_eq(page->flags, PG_pcp, "the block went to the list");
	expect_false(free_pages_checked(page, 1), "double free refused");
	expect_false(free_pages_checked(page, 0), "another order refused");

	api = alloc_pages(__GFP_PAGE_API, 0);
	assert_ptr_not_null(api);
	expect_false(free_pages_owned(api, 0, PG_large_kmalloc), "wrong owner");
	expect_false(free_pages_checked(api, 0), "not the allocator's own");
	expect_true(free_pages_owned(api, 0, PG_page_api));
	expect_false(free_pages_owned(api, 0, PG_page_api), "double free refused");
	expect_false(free_pages_exact_owned(page_address(api), PAGE_SIZE,
					    PG_page_api), "exact double free refused");
	expect_lu_eq(core_check_diag(), 0);
	drain_all_pages(NULL);
	expect_pristine(zone, "after the refused frees");
	unpin();
}
TEST_END

/* Two threads free one block at the same moment, many times: exactly one
 * free succeeds each time (the head is claimed atomically). */
#define RACE_ROUNDS	2000

static struct page *race_page;
static pthread_barrier_t race_barrier;
static unsigned long race_wins[2];

static void *race_free(void *arg)
{
	unsigned long me = (unsigned long)arg;

	pin_to(nth_cpu((unsigned int)me));
	for (int r = 0; r < RACE_ROUNDS; r++) {
		pthread_barrier_wait(&race_barrier);
		race_wins[me] += free_pages_checked(race_page, 0);
		pthread_barrier_wait(&race_barrier);
	}
	return NULL;
}

TEST_BEGIN(test_racing_double_free)
{
	pthread_t t[2];
	unsigned long wins = 0;

	settle(zone_normal());
	pthread_barrier_init(&race_barrier, NULL, 3);
	for (unsigned long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, race_free, (void *)i);
	for (int r = 0; r < RACE_ROUNDS; r++) {
		race_page = alloc_pages(0, 0);
		pthread_barrier_wait(&race_barrier);	/* both free it */
		pthread_barrier_wait(&race_barrier);
		if (race_wins[0] + race_wins[1] != wins + 1)
			break;
		wins++;
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	expect_lu_eq(race_wins[0] + race_wins[1], RACE_ROUNDS,
		     "one free won each round");
	pthread_barrier_destroy(&race_barrier);
	expect_lu_eq(core_check_diag(), 0);
	drain_all_pages(NULL);
	expect_pristine(zone_normal(), "after the races");
}
TEST_END

/*
 * A walk under zone->lock reads the head of a block that another thread
 * has just freed to its CPU's list, under that list's lock alone: the
 * free's stores of the head's flags and order and the walk's loads share
 * no lock. They are no data race only as atomics (READ_ONCE/WRITE_ONCE,
 * core/mm_types.h): under ThreadSanitizer (make check-sanitizer) plain
 * accesses are reported and the test fails. The hand-off between the two
 * threads is a relaxed flag, which orders nothing in TSan's model, so the
 * accesses are concurrent there whatever the timing. The walk itself must
 * step over the block as free or on a list (PG_pcp), never inside it.
 */
static int walk_handoff;	/* 1: freed, 2: the free was refused */

static void *free_for_walk(void *arg)
{
	bool ok = free_pages_checked(arg, 0);

	__atomic_store_n(&walk_handoff, ok ? 1 : 2, __ATOMIC_RELAXED);
	return NULL;
}

TEST_BEGIN(test_walk_reads_list_heads)
{
	struct zone *zone = zone_normal();
	unsigned long movable = ~0UL;
	struct page *page;
	pthread_t t;
	int freed;

	settle(zone);
	page = alloc_pages(0, 0);
	expect_ptr_not_null(page, "an order-0 block");
	if (!page)
		return;
	__atomic_store_n(&walk_handoff, 0, __ATOMIC_RELAXED);
	pthread_create(&t, NULL, free_for_walk, page);
	while (!(freed = __atomic_load_n(&walk_handoff, __ATOMIC_RELAXED)))
		sched_yield();
	zone_lock(zone);
	__count_pageblock_pages(page, &movable);
	zone_unlock(zone);
	pthread_join(t, NULL);
	expect_d_eq(freed, 1, "the other thread's free");
	expect_true(READ_ONCE(page->flags) & (PG_pcp | PG_buddy),
		    "the block is free (flags %#x)", READ_ONCE(page->flags));
	expect_lu_lt(movable, pageblock_nr_pages, "the walk counted");
	expect_lu_eq(core_check_diag(), 0);
	drain_all_pages(NULL);
	expect_pristine(zone, "after the walk");
}
TEST_END

/* Threads pinned to different CPUs allocate and free blocks of every pcp
 * order at random; after each step every CPU's count is at most its high.
 * Then everything is freed and drained: every list is empty and the zone
 * whole. */
#define NR_THREADS	4
#define THREAD_OPS	20000
#define THREAD_HELD	64

static unsigned long over_high[NR_THREADS];

static void *random_worker(void *arg)
{
	unsigned long me = (unsigned long)arg;
	static const unsigned int orders[] = { 0, 0, 0, 1, 2, 3, 4, 5, pageblock_order };
	struct held held[THREAD_HELD] = { { 0 } };
	uint64_t rng = 0x5eed0000 + me;
	struct zone *zone = zone_normal();

	pin_to(nth_cpu((unsigned int)me));
	for (int op = 0; op < THREAD_OPS; op++) {
		unsigned int slot = (unsigned int)rand_below(&rng, THREAD_HELD);
		struct held *h = &held[slot];

		if (h->page) {
			if (!free_pages_checked(h->page, h->order))
				over_high[me] += 1000000;	/* must not happen */
			h->page = NULL;
		} else {
			gfp_t gfp = (gfp_t)rand_below(&rng, 3) == 1 ? __GFP_MOVABLE : 0;

			h->order = orders[rand_below(&rng, sizeof(orders) / sizeof(orders[0]))];
			h->page = alloc_pages(gfp, h->order);
		}
		for (unsigned int cpu = 0; cpu < nr_pcp_cpus && cpu < MAX_CPUS; cpu++) {
			struct pcp_stats st = cpu_stats(zone, (int)cpu);

			if (st.count > st.high)
				over_high[me]++;
		}
	}
	for (int i = 0; i < THREAD_HELD; i++)
		if (held[i].page && !free_pages_checked(held[i].page, held[i].order))
			over_high[me] += 1000000;
	return NULL;
}

TEST_BEGIN(test_random_threads_respect_high)
{
	pthread_t t[NR_THREADS];
	struct zone *zone = zone_normal();
	unsigned int nonempty = 0;
	unsigned long drains0;

	settle(zone);
	/* A high above pageblock order, so that pageblock-order blocks stay
	 * on the lists too (with the default high they bypass them). */
	core_config.percpu_pagelist_high_fraction = 8;
	pthread_mutex_lock(&zone->grow_lock);
	zone_pcp_update(zone);
	pthread_mutex_unlock(&zone->grow_lock);
	expect_d_gt(zone->pageset_high, 1 << pageblock_order);
	for (unsigned long i = 0; i < NR_THREADS; i++)
		pthread_create(&t[i], NULL, random_worker, (void *)i);
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NR_THREADS; i++)
		expect_lu_eq(over_high[i], 0, "thread %d: counts above high, or a free refused", i);
	expect_lu_eq(core_check_diag(), 0, "consistent with blocks on the lists");
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus && cpu < MAX_CPUS; cpu++)
		nonempty += cpu_stats(zone, (int)cpu).count != 0;
	expect_u_ge(nonempty, 1, "the lists kept blocks");
	drains0 = vm_event(PCP_DRAIN);
	drain_all_pages(NULL);
	expect_lu_ge(vm_event(PCP_DRAIN) - drains0, nonempty, "each list set drained counted");
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus && cpu < MAX_CPUS; cpu++)
		expect_u_eq(cpu_stats(zone, (int)cpu).count, 0, "cpu %u empty", cpu);
	expect_pristine(zone, "after the threads and a drain");
	expect_lu_eq(core_check_diag(), 0);
	core_config.percpu_pagelist_high_fraction = 0;
	pthread_mutex_lock(&zone->grow_lock);
	zone_pcp_update(zone);
	pthread_mutex_unlock(&zone->grow_lock);
}
TEST_END

/* Blocks left on two CPUs' lists, drained from a third thread. */
static void *leave_blocks(void *arg)
{
	struct page *p[8];

	if (!pin_to(nth_cpu((unsigned int)(unsigned long)arg)))
		return NULL;	/* the check of the CPU's count fails */
	for (int i = 0; i < 8; i++)
		p[i] = alloc_pages(0, (unsigned int)i % 4);
	for (int i = 0; i < 8; i++)
		free_pages_checked(p[i], (unsigned int)i % 4);
	return NULL;
}

TEST_BEGIN(test_drain_all_empties_every_cpu)
{
	struct zone *zone = zone_normal();
	unsigned int cpus = online_cpus() < 2 ? 1 : 2;
	pthread_t t;

	settle(zone);
	for (unsigned long i = 0; i < cpus; i++) {
		pthread_create(&t, NULL, leave_blocks, (void *)i);
		pthread_join(t, NULL);
		expect_u_gt(cpu_stats(zone, nth_cpu((unsigned int)i)).count, 0,
			    "cpu %d kept blocks", nth_cpu((unsigned int)i));
	}
	expect_false(zone_pristine(zone), "blocks on the lists");
	drain_all_pages(zone);
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus && cpu < MAX_CPUS; cpu++)
		expect_u_eq(cpu_stats(zone, (int)cpu).count, 0, "cpu %u empty", cpu);
	expect_pristine(zone, "after drain_all_pages");
	expect_lu_eq(core_check_diag(), 0);
}
TEST_END

/* drain_local_pages empties this CPU's lists only. */
TEST_BEGIN(test_drain_local)
{
	struct zone *zone = zone_normal();
	int cpu = nth_cpu(0);
	struct page *p;

	assert_true(pin_to(cpu));
	settle(zone);
	p = alloc_pages(0, 0);
	free_pages_checked(p, 0);
	expect_u_gt(cpu_stats(zone, cpu).count, 0);
	drain_local_pages(NULL);
	expect_u_eq(cpu_stats(zone, cpu).count, 0);
	expect_pristine(zone, "after drain_local_pages");
	unpin();
}
TEST_END

/* batch and high follow the zone as it grows, and the settings. */
TEST_BEGIN(test_high_batch_follow_zone)
{
	struct zone *zone = zone_normal();
	struct page *big[40];
	unsigned int n = 0;
	int batch1, batch2, high1, high2;

	settle(zone);
	test_skip_if(zone->present_pages != PAGES_PER_SECTION);
	batch1 = zone->pageset_batch;
	high1 = zone->pageset_high;
	/* The kernel's numbers for 128 MiB: 32 pages of 0.1%, / 4 = 8,
	 * 8 + 4 = 12 rounded down to 8, minus 1. */
	expect_d_eq(batch1, 7, "batch of one section");
	while (zone->present_pages == PAGES_PER_SECTION && n < 40)
		big[n++] = alloc_pages(0, MAX_PAGE_ORDER);
	assert_lu_eq(zone->present_pages, 2 * PAGES_PER_SECTION, "grew");
	batch2 = zone->pageset_batch;
	high2 = zone->pageset_high;
	expect_d_eq(batch2, 15, "batch of two sections");
	expect_d_gt(high2, high1, "high grew with the zone");
	expect_d_eq(cpu_stats(zone, nth_cpu(0)).batch, 15, "every CPU's lists updated");
	while (n)
		free_pages_checked(big[--n], MAX_PAGE_ORDER);

	core_config.pcp_batch = 5;
	core_config.percpu_pagelist_high_fraction = 8;
	pthread_mutex_lock(&zone->grow_lock);
	zone_pcp_update(zone);
	pthread_mutex_unlock(&zone->grow_lock);
	expect_d_eq(cpu_stats(zone, 0).batch, 5, "pcp_batch");
	expect_d_eq(cpu_stats(zone, 0).high,
		    (int)(zone->present_pages / 8 / nr_pcp_cpus),
		    "percpu_pagelist_high_fraction");
	core_config.pcp_batch = 0;
	core_config.percpu_pagelist_high_fraction = 0;
	pthread_mutex_lock(&zone->grow_lock);
	zone_pcp_update(zone);
	pthread_mutex_unlock(&zone->grow_lock);
	expect_d_eq(cpu_stats(zone, 0).batch, batch2, "back to the default");
	drain_all_pages(NULL);
	expect_pristine(zone, "after growing");
}
TEST_END

/* A fork while a thread holds a pcp lock: the child sees it busy and
 * abandons the heap, with every list empty; a fork without one keeps the
 * heap and its lists. */
static int fork_and_check(bool busy_expected)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		bool busy = core_fork_busy();
		struct page *p;

		if (busy != busy_expected)
			_exit(2);
		core_fork_child(busy);
		for_each_zone(zone)
			if (zone->per_cpu_pageset)
				for (unsigned int c = 0; c < nr_pcp_cpus; c++)
					if (zone->per_cpu_pageset[c].lock ||
					    (busy && zone->per_cpu_pageset[c].count))
						_exit(3);
		p = alloc_pages(0, 0);
		if (!p || !free_pages_checked(p, 0))
			_exit(4);
		drain_all_pages(NULL);
		_exit(check_all_zones(NULL) == 0 ? 0 : 5);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_BEGIN(test_fork_with_pcp_lock_held)
{
	struct zone *zone = zone_normal();
	struct page *p;

	settle(zone);
	p = alloc_pages(0, 0);
	free_pages_checked(p, 0);	/* something on a list */
	expect_d_eq(fork_and_check(false), 0, "quiet fork keeps the heap");
	pcp_lock_all(zone);		/* as a thread in the middle of a free */
	expect_d_eq(fork_and_check(true), 0, "fork with a pcp lock held abandons");
	pcp_unlock_all(zone);
	drain_all_pages(NULL);
	expect_pristine(zone, "parent after the forks");
}
TEST_END

int main(void)
{
	if (sched_getaffinity(0, sizeof(process_cpus), &process_cpus) != 0 ||
	    CPU_COUNT(&process_cpus) == 0) {
		CPU_ZERO(&process_cpus);
		CPU_SET(0, &process_cpus);
	}
	return test_run(test_lists_exist,
			test_high_batch_follow_zone,	/* needs a 1-section zone */
			test_refill_takes_batch,
			test_spill_at_high,
			test_double_free_refused,
			test_racing_double_free,
			test_walk_reads_list_heads,
			test_random_threads_respect_high,
			test_drain_all_empties_every_cpu,
			test_drain_local,
			test_fork_with_pcp_lock_held,
			NULL);
}
