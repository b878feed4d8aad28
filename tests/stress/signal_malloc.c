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
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>

#include "api_util.h"

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

/* What the handler saw (it can only count). */
static atomic_ulong handler_runs, handler_blocks, handler_nulls;
static atomic_ulong handler_bad_errno, handler_corrupt;

static void on_sigusr1(int sig)
{
	void *held[HANDLER_MAX];
	size_t size = atomic_load_explicit(&current_size, memory_order_relaxed);
	int saved = errno;
	unsigned int n = 0;

	(void)sig;
	for (; n < HANDLER_MAX; n++) {
		errno = 0;
		held[n] = malloc(size);
		if (!held[n]) {
			atomic_fetch_add(&handler_nulls, 1);
			if (errno != ENOMEM)
				atomic_fetch_add(&handler_bad_errno, 1);
			break;
		}
		pattern_fill(held[n], size, 0x5160000 + n);
	}
	for (unsigned int i = 0; i < n; i++) {
		if (pattern_check(held[i], size, 0x5160000 + i) != size)
			atomic_fetch_add(&handler_corrupt, 1);
		free(held[i]);
	}
	atomic_fetch_add(&handler_blocks, n);
	atomic_fetch_add(&handler_runs, 1);
	errno = saved;
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
		    atomic_load(&handler_runs) >= MIN_HANDLER_RUNS)
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

	test_diag("handler: %lu runs, %lu blocks, %lu NULL; worker: %lu "
		  "bursts, %lu NULL", atomic_load(&handler_runs),
		  atomic_load(&handler_blocks), atomic_load(&handler_nulls),
		  atomic_load(&worker_bursts), atomic_load(&worker_nulls));
	expect_lu_gt(atomic_load(&handler_runs), 0, "no signal arrived");
	expect_lu_eq(atomic_load(&handler_bad_errno), 0,
		     "a NULL from malloc in the handler without ENOMEM");
	expect_lu_eq(atomic_load(&handler_corrupt), 0,
		     "a handler block changed while the handler held it");
	expect_lu_eq(atomic_load(&worker_corrupt), 0,
		     "a worker block changed while the worker held it");
	expect_lu_eq(atomic_load(&worker_nulls), 0,
		     "malloc outside a handler failed");
	expect_zu_eq(after, before, "bytes in use before and after (trimmed)");
	pthread_barrier_destroy(&start);
}
TEST_END

int main(void)
{
	api_watchdog(90);
	return test_run(test_served_by_buddymalloc,
			test_handler_malloc_small,
			NULL);
}
