/*
 * signal_malloc.c - malloc and free of small sizes from a signal handler
 * that interrupts a thread inside the allocator's slow paths never wait
 * for a lock that thread holds (README, "Signal handlers").
 *
 * A worker thread allocates bursts of 64 objects of one size class and
 * frees them again, class after class: its CPU's stack for the class runs
 * empty and full over and over, so it spends much of its time in the slow
 * paths, holding the class's cache lock. Another thread sends it SIGUSR1
 * as fast as it can (pthread_kill), and the handler allocates up to 24
 * objects of the class the worker is on, more than the stacks of the
 * larger classes hold, so that it reaches the slow paths too, often while
 * the worker holds the very lock they take. Before the fix that was a
 * deadlock within moments.
 *
 * The handler may get NULL (errno = ENOMEM): a handler that interrupted
 * the allocator does not wait for the lock or grow the heap. What must
 * hold: the run completes (a hang guard fails it otherwise), every block
 * keeps its contents while it is held (no block is handed out twice), and
 * after malloc_trim the allocator's count of bytes in use is back where it
 * started (nothing lost or counted twice, deferred frees included).
 *
 * The guarantee holds in both modes of the per-CPU caches: rseq (this
 * program as it runs) and the per-CPU locks (tests/unit/cpu_cache_fallback.sh
 * runs it again with rseq off). Skipped for other allocators (glibc
 * deadlocks here).
 *
 * The second test has the kernel drive the signals: NR_TIMED threads each
 * arm a POSIX timer that sends SIGRTMIN to that thread alone
 * (SIGEV_THREAD_ID) every TIMER_NS, while the thread runs a mixed workload
 * (slab sizes, page blocks, direct mappings, realloc, aligned_alloc) over a
 * ring of live blocks whose keys it checks before every free. Its handler
 * allocates and frees slab-sized blocks. The threads stop on counts (their
 * own handler runs and operations, bounded by MAX_TIMED_OPS), never on
 * time, so the assertions hold however the signals are spread.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "api_util.h"
#include "handler_util.h"

/* The worker goes on until the handler has run MIN_HANDLER_RUNS times
 * (however the signals are spread), and at most MAX_ITERATIONS bursts. */
#define MIN_ITERATIONS	6000
#define MAX_ITERATIONS	4000000
#define MIN_HANDLER_RUNS 5000
#define BURST		64	/* objects per worker burst */
#define HANDLER_MAX	24	/* objects per handler run */

/* Classes with stacks of 8 to 256 objects (about 32 KiB of objects each). */
static const size_t sizes[] = { 4096, 16, 2048, 8192, 1024, 96, 512, 3072,
				256, 6144, 32768, 640 };
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

static atomic_size_t current_size;	/* the class the worker is on */
static atomic_bool worker_done;
static pthread_barrier_t start;

/* What the handler saw. */
static struct handler_counts handler;

static void on_sigusr1(int sig)
{
	(void)sig;
	handler_alloc_check_free(&handler,
				 atomic_load_explicit(&current_size,
						      memory_order_relaxed),
				 HANDLER_MAX, 0x5160000);
}

static atomic_ulong worker_corrupt, worker_nulls, worker_bursts;

static void *worker(void *arg)
{
	static void *held[BURST];

	(void)arg;
	pthread_barrier_wait(&start);
	for (unsigned int it = 0; it < MAX_ITERATIONS; it++) {
		size_t size = sizes[it % NR_SIZES];

		atomic_store(&worker_bursts, it + 1);
		atomic_store_explicit(&current_size, size, memory_order_relaxed);
		for (unsigned int i = 0; i < BURST; i++) {
			held[i] = malloc(size);
			if (!held[i]) {
				atomic_fetch_add(&worker_nulls, 1);
				continue;
			}
			/* Only the first and last words: the bursts must be
			 * quick, so that the worker lives in the slow paths. */
			((uint64_t *)held[i])[0] = it * BURST + i;
			((uint64_t *)held[i])[size / 8 - 1] = ~(uint64_t)(it * BURST + i);
		}
		for (unsigned int i = 0; i < BURST; i++) {
			if (!held[i])
				continue;
			if (((uint64_t *)held[i])[0] != it * BURST + i ||
			    ((uint64_t *)held[i])[size / 8 - 1] !=
			    ~(uint64_t)(it * BURST + i))
				atomic_fetch_add(&worker_corrupt, 1);
			free(held[i]);
		}
		if (it >= MIN_ITERATIONS &&
		    atomic_load(&handler.runs) >= MIN_HANDLER_RUNS)
			break;
	}
	atomic_store(&worker_done, true);
	return NULL;
}

static void *signaller(void *arg)
{
	pthread_t target = *(pthread_t *)arg;

	pthread_barrier_wait(&start);
	while (!atomic_load(&worker_done))
		pthread_kill(target, SIGUSR1);
	return NULL;
}

TEST_BEGIN(test_handler_malloc_small)
{
	struct sigaction sa;
	pthread_t w, s;
	size_t before, after;

	test_skip_if(api_any_malloc());
	test_diag("rseq %s", __rseq_size ? "on" : "off");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	assert_d_eq(sigaction(SIGUSR1, &sa, NULL), 0);

	assert_d_eq(pthread_barrier_init(&start, NULL, 3), 0);
	assert_d_eq(pthread_create(&w, NULL, worker, NULL), 0);
	assert_d_eq(pthread_create(&s, NULL, signaller, &w), 0);
	before = test_bytes_in_use();
	pthread_barrier_wait(&start);
	pthread_join(s, NULL);
	pthread_join(w, NULL);
	signal(SIGUSR1, SIG_IGN);
	after = test_bytes_in_use();

	test_diag("worker: %lu bursts, %lu NULL", atomic_load(&worker_bursts),
		  atomic_load(&worker_nulls));
	handler_counts_expect(&handler);
	expect_lu_eq(atomic_load(&worker_corrupt), 0,
		     "a worker block changed while the worker held it");
	expect_lu_eq(atomic_load(&worker_nulls), 0,
		     "malloc outside a handler failed");
	expect_zu_eq(after, before, "bytes in use before and after (trimmed)");
	pthread_barrier_destroy(&start);
}
TEST_END

/* ----------------------------------------------- timer-driven signals */

#define NR_TIMED	4
#define TIMED_RING	128
#define TIMER_NS	100000		/* 10 000 signals a second per thread */
#define MIN_TIMED_OPS	20000		/* per thread */
#define MAX_TIMED_OPS	20000000
#define MIN_TIMED_RUNS	2000		/* handler runs per thread */
#define TIMED_HANDLER_MAX 4

/* Slab classes only in the handler (README, "Signal handlers"). */
static const size_t handler_sizes[] = { 16, 32768, 48, 4096, 256, 1024,
					96, 8192, 640, 24576 };
#define NR_HANDLER_SIZES (sizeof(handler_sizes) / sizeof(handler_sizes[0]))

static struct handler_counts timed;
static __thread unsigned long timed_runs;	/* this thread's handler runs */

static void on_timer(int sig)
{
	unsigned long n = timed_runs++;

	(void)sig;
	handler_alloc_check_free(&timed, handler_sizes[n % NR_HANDLER_SIZES],
				 TIMED_HANDLER_MAX, 0x7133e0000 + (n << 8));
}

struct timed_worker {
	pthread_t thread;
	unsigned int id;
	unsigned long ops, runs, corrupt, nulls, misaligned, timer_errors;
};

/* The workload's size for operation seq: mostly slab sizes, every 16th a
 * page block, every 512th a direct mapping. */
static size_t timed_size(uint64_t *rng, unsigned long seq)
{
	if (seq % 512 == 511)
		return (5u << 20) + rand_below(rng, 1u << 20);
	if (seq % 16 == 15)
		return 40000 + rand_below(rng, 1u << 20);
	return 1 + rand_below(rng, 2048);
}

static void *timed_main(void *arg)
{
	struct timed_worker *w = arg;
	struct { void *p; size_t size; uint64_t key; } ring[TIMED_RING];
	uint64_t rng = 0x5eed0000 + w->id;
	struct sigevent sev;
	struct itimerspec its;
	timer_t timer;
	unsigned long seq;

	memset(ring, 0, sizeof(ring));
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
		w->timer_errors++;
		return NULL;
	}
	its.it_value.tv_sec = 0;
	its.it_value.tv_nsec = TIMER_NS;
	its.it_interval = its.it_value;
	pthread_barrier_wait(&start);
	if (timer_settime(timer, 0, &its, NULL) != 0)
		w->timer_errors++;
	for (seq = 0; seq < MAX_TIMED_OPS; seq++) {
		unsigned int slot = (unsigned int)rand_below(&rng, TIMED_RING);
		size_t size = timed_size(&rng, seq);
		uint64_t key = ((uint64_t)w->id << 56) | seq;
		void *p;

		if (ring[slot].p) {
			if (pattern_check(ring[slot].p, ring[slot].size,
					  ring[slot].key) != ring[slot].size)
				w->corrupt++;
			if (seq % 8 == 0) {
				/* realloc keeps the prefix: check it, refill. */
				size_t keep = size < ring[slot].size ? size :
					      ring[slot].size;

				p = realloc(ring[slot].p, size);
				if (!p) {
					w->nulls++;
					continue;
				}
				if (pattern_check(p, keep, ring[slot].key) != keep)
					w->corrupt++;
				ring[slot].p = NULL;
				goto fill;
			}
			free(ring[slot].p);
			ring[slot].p = NULL;
		}
		if (seq % 8 == 4) {
			p = aligned_alloc(4096, size);
			if (p && ((uintptr_t)p & 4095))
				w->misaligned++;
		} else {
			p = malloc(size);
		}
		if (!p) {
			w->nulls++;
			continue;
		}
fill:
		pattern_fill(p, size, key);
		ring[slot].p = p;
		ring[slot].size = size;
		ring[slot].key = key;
		if (seq >= MIN_TIMED_OPS && timed_runs >= MIN_TIMED_RUNS)
			break;
	}
	timer_delete(timer);
	w->ops = seq;
	w->runs = timed_runs;
	for (unsigned int i = 0; i < TIMED_RING; i++) {
		if (!ring[i].p)
			continue;
		if (pattern_check(ring[i].p, ring[i].size, ring[i].key) !=
		    ring[i].size)
			w->corrupt++;
		free(ring[i].p);
	}
	return NULL;
}

TEST_BEGIN(test_timer_signals_mixed)
{
	static struct timed_worker workers[NR_TIMED];
	unsigned long ops = 0, corrupt = 0, nulls = 0, misaligned = 0;
	unsigned long timer_errors = 0, min_runs = ~0UL;
	struct sigaction sa;
	pthread_attr_t attr;
	size_t before, after;

	test_skip_if(api_any_malloc());
	test_diag("rseq %s", __rseq_size ? "on" : "off");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	assert_d_eq(sigaction(SIGRTMIN, &sa, NULL), 0);

	/* Small stacks, as in fallback_fast.c: glibc caches joined threads'
	 * stacks with their DTVs, which must not count as a change. */
	assert_d_eq(pthread_attr_init(&attr), 0);
	assert_d_eq(pthread_attr_setstacksize(&attr, 1 << 20), 0);
	assert_d_eq(pthread_barrier_init(&start, NULL, NR_TIMED + 1), 0);
	for (unsigned int i = 0; i < NR_TIMED; i++) {
		workers[i].id = i + 1;
		assert_d_eq(pthread_create(&workers[i].thread, &attr, timed_main,
					   &workers[i]), 0);
	}
	before = test_bytes_in_use();
	pthread_barrier_wait(&start);
	for (unsigned int i = 0; i < NR_TIMED; i++) {
		pthread_join(workers[i].thread, NULL);
		ops += workers[i].ops;
		corrupt += workers[i].corrupt;
		nulls += workers[i].nulls;
		misaligned += workers[i].misaligned;
		timer_errors += workers[i].timer_errors;
		if (workers[i].runs < min_runs)
			min_runs = workers[i].runs;
	}
	signal(SIGRTMIN, SIG_IGN);
	after = test_bytes_in_use();

	test_diag("workers: %lu operations, fewest handler runs on one "
		  "thread %lu", ops, min_runs);
	handler_counts_expect(&timed);
	expect_lu_eq(timer_errors, 0, "timer_create or timer_settime failed");
	expect_lu_gt(min_runs, 0, "a thread whose timer never fired");
	expect_lu_eq(corrupt, 0, "a worker block changed while it was held");
	expect_lu_eq(nulls, 0, "an allocation outside a handler failed");
	expect_lu_eq(misaligned, 0, "aligned_alloc(4096) misaligned");
	expect_zu_eq(after, before, "bytes in use before and after (trimmed)");
	pthread_barrier_destroy(&start);
	pthread_attr_destroy(&attr);
}
TEST_END

int main(void)
{
	api_watchdog(90);
	return test_run(test_served_by_buddymalloc,
			test_handler_malloc_small,
			test_timer_signals_mixed,
			NULL);
}
