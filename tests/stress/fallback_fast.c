/*
 * fallback_fast.c - the inline fast paths of the fallback mode (per-CPU
 * locks, no rseq: slab/kmalloc_fast.h, kmalloc_fast (the fallback mode's branch) and
 * kfree_fast_locked) under threads that share CPUs, move between them, and
 * are interrupted by signal handlers that allocate.
 *
 * The program runs itself again with GLIBC_TUNABLES=glibc.pthread.rseq=0
 * when glibc registered an rseq area, so it always tests the fallback.
 *
 * NR_WORKERS threads (more than the machine's CPUs) each keep a ring of
 * RING live blocks of sizes cycling over several classes: free the oldest
 * after checking its first and last words, allocate a new one and write
 * both words with a key of its own (thread, sequence number). Every
 * MOVE_EVERY operations a worker pins itself to another CPU, so that the
 * CPU it remembers is not the one it runs on and threads meet on one CPU's
 * stacks from different CPUs. A signaller thread sends SIGUSR1 to the
 * workers in turn as fast as it can; the handler allocates up to
 * HANDLER_MAX blocks of the class its worker is on, fills each completely
 * with a pattern, checks and frees them. A handler that interrupted a fast
 * path holding its CPU's lock must neither wait for that lock (a hang,
 * caught by the watchdog) nor be handed an object the interrupted call is
 * taking or giving back.
 *
 * What must hold: the run completes; no block changes while its holder
 * keeps it (an object handed out twice, to two workers or to a worker and
 * a handler, is overwritten by the other's key); malloc outside a handler
 * never fails and inside one fails only with ENOMEM (a nested call does
 * not wait for locks); after malloc_trim the allocator's bytes in use are
 * what they were before (nothing lost or counted twice).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <unistd.h>

#include "api_util.h"
#include "handler_util.h"

#define NR_WORKERS	4
#define RING		64
#define MIN_OPS		300000		/* per worker */
#define MAX_OPS		20000000
#define MIN_HANDLER_RUNS 20000		/* over all workers */
#define MOVE_EVERY	4096
#define HANDLER_MAX	8

static const size_t sizes[] = { 32, 16, 48, 64, 96, 128, 192, 256, 512,
				1024, 32, 32 };
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

struct worker {
	pthread_t thread;
	unsigned int id;
	_Atomic size_t size;	/* the class it is on, for its handler */
	unsigned long corrupt, nulls, ops;
};

static struct worker workers[NR_WORKERS];
static atomic_uint workers_done;
static pthread_barrier_t start;
static cpu_set_t allowed;

static struct handler_counts handler;
static __thread struct worker *self;

static void on_sigusr1(int sig)
{
	(void)sig;
	if (!self)
		return;
	handler_alloc_check_free(&handler,
				 atomic_load_explicit(&self->size,
						      memory_order_relaxed),
				 HANDLER_MAX, 0xf5a11bac000 + self->id * 64);
}

/* Pin the calling thread to the k-th allowed CPU (mod their number). */
static void move_to(unsigned int k)
{
	unsigned int nr = (unsigned int)CPU_COUNT(&allowed), seen = 0;
	cpu_set_t one;

	k %= nr;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if (seen++ == k) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
			return;
		}
	}
}

static uint64_t key_of(const struct worker *w, unsigned long seq)
{
	return ((uint64_t)w->id << 48) | seq;
}

static void put_key(void *p, size_t size, uint64_t key)
{
	((uint64_t *)p)[0] = key;
	((uint64_t *)p)[size / 8 - 1] = ~key;
}

static bool has_key(const void *p, size_t size, uint64_t key)
{
	return ((const uint64_t *)p)[0] == key &&
	       ((const uint64_t *)p)[size / 8 - 1] == ~key;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	void *ring[RING] = { NULL };
	size_t ring_size[RING];
	unsigned long seq, last = 0;

	self = w;
	pthread_barrier_wait(&start);
	for (seq = 0; seq < MAX_OPS; seq++) {
		unsigned int slot = seq % RING;
		size_t size = sizes[(seq / 3 + w->id) % NR_SIZES];

		if (seq % MOVE_EVERY == 0)
			move_to(w->id + (unsigned int)(seq / MOVE_EVERY));
		if (ring[slot]) {
			if (!has_key(ring[slot], ring_size[slot], key_of(w, seq - RING)))
				w->corrupt++;
			free(ring[slot]);
		}
		atomic_store_explicit(&w->size, size, memory_order_relaxed);
		ring[slot] = malloc(size);
		ring_size[slot] = size;
		if (!ring[slot]) {
			w->nulls++;
			break;
		}
		put_key(ring[slot], size, key_of(w, seq));
		last = seq;
		if (seq >= MIN_OPS &&
		    atomic_load(&handler.runs) >= MIN_HANDLER_RUNS)
			break;
	}
	for (unsigned int i = 0; i < RING; i++) {
		if (!ring[i])
			continue;
		/* Slot i holds the last sequence number that is i mod RING. */
		if (!has_key(ring[i], ring_size[i],
			     key_of(w, last - (last - i) % RING)))
			w->corrupt++;
		free(ring[i]);
	}
	w->ops = seq;
	self = NULL;
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

static void *signaller(void *arg)
{
	unsigned int k = 0;

	(void)arg;
	pthread_barrier_wait(&start);
	while (atomic_load(&workers_done) == 0)
		pthread_kill(workers[k++ % NR_WORKERS].thread, SIGUSR1);
	return NULL;
}

TEST_BEGIN(test_fallback_fast_paths)
{
	unsigned long corrupt = 0, nulls = 0, ops = 0;
	struct sigaction sa;
	size_t before, after;
	pthread_attr_t attr;
	pthread_t s;

	test_skip_if(api_any_malloc());
	assert_u_eq(__rseq_size, 0, "fallback mode: no rseq area registered");
	assert_d_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	test_diag("%d CPUs allowed, %d workers", CPU_COUNT(&allowed), NR_WORKERS);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	assert_d_eq(sigaction(SIGUSR1, &sa, NULL), 0);

	/* Small stacks: glibc keeps every joined thread's stack, with the
	 * DTV it allocated for it, in its cache (40 MiB), so the bytes in use
	 * after the joins compare with those once the threads exist. */
	assert_d_eq(pthread_attr_init(&attr), 0);
	assert_d_eq(pthread_attr_setstacksize(&attr, 1 << 20), 0);
	assert_d_eq(pthread_barrier_init(&start, NULL, NR_WORKERS + 2), 0);
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		workers[i].id = i + 1;
		assert_d_eq(pthread_create(&workers[i].thread, &attr, worker_main,
					   &workers[i]), 0);
	}
	assert_d_eq(pthread_create(&s, &attr, signaller, NULL), 0);
	before = test_bytes_in_use();	/* the threads made, waiting */
	pthread_barrier_wait(&start);
	pthread_join(s, NULL);
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		pthread_join(workers[i].thread, NULL);
		corrupt += workers[i].corrupt;
		nulls += workers[i].nulls;
		ops += workers[i].ops;
	}
	signal(SIGUSR1, SIG_IGN);
	after = test_bytes_in_use();

	test_diag("workers: %lu operations", ops);
	handler_counts_expect(&handler);
	expect_lu_eq(corrupt, 0, "a worker block changed while it was held");
	expect_lu_eq(nulls, 0, "malloc outside a handler failed");
	expect_zu_eq(after, before, "bytes in use before and after (trimmed)");
	pthread_barrier_destroy(&start);
	pthread_attr_destroy(&attr);
}
TEST_END

/* With rseq registered, run again without it: the fallback mode. */
static void ensure_fallback(char **argv)
{
	const char *old = getenv("GLIBC_TUNABLES");
	char tunables[512];

	if (__rseq_size == 0 || getenv("FALLBACK_FAST_REEXEC"))
		return;
	snprintf(tunables, sizeof(tunables), "glibc.pthread.rseq=0%s%s",
		 old ? ":" : "", old ? old : "");
	setenv("GLIBC_TUNABLES", tunables, 1);
	setenv("FALLBACK_FAST_REEXEC", "1", 1);
	execv("/proc/self/exe", argv);
	perror("fallback_fast: execv");
	exit(99);
}

int main(int argc, char **argv)
{
	(void)argc;
	ensure_fallback(argv);
	api_watchdog(120);
	return test_run(test_served_by_buddymalloc,
			test_fallback_fast_paths,
			NULL);
}
