/*
 * burst.c - the two burst workloads of bench/burst.py (bench/burst_loop).
 *
 *   burst_loop idle    [-t TOTAL_MIB] [-l LIVE_MIB] [-s IDLE_SECONDS] [-r SEED]
 *   burst_loop threads [-b BURSTS] [-n OPS] [-w WINDOW] [-r SEED]
 *
 * idle: allocate a burst of TOTAL_MIB (default 1024) in blocks of mixed
 * sizes, touching every block; free them in random order until LIVE_MIB
 * (default 64) are left, so the survivors are scattered over the heap;
 * then make no allocator call at all for IDLE_SECONDS (default 10) plus
 * one, and exit. The runner samples the resident memory from outside
 * (/proc/PID/statm) while this process sleeps. Lines on stdout:
 *
 *	base RSS_BYTES                   before the burst
 *	freed LIVE_BYTES OBJECTS BURST_MS  the free is done: the clock starts
 *
 * threads: two threads, BURSTS bursts (default 20). In a burst each thread
 * runs OPS steps (default 200000) over WINDOW slots (default 8192): a step
 * frees the object in a random slot (one in four is handed to the other
 * thread, which frees it) and allocates a new one there, touched; at the
 * end of the burst each thread frees what it holds and what it was handed,
 * both threads meet, and the resident memory is read. Lines on stdout:
 *
 *	burst I RSS_BYTES                after burst I, everything freed
 *	result HWM_BYTES PEAK_LIVE_BYTES OPS_PER_S
 *
 * where HWM is VmHWM (peak resident) and PEAK_LIVE the largest number of
 * bytes the two threads held at once (requested sizes, sampled every 256
 * steps of thread 0). Under libbuddymalloc, with BURST_STATS=1 in the
 * environment, thread 0 also prints where the memory is, from
 * buddymalloc_mallctl's stats.* (found with dlsym), twice per burst: at the
 * end of its steps (near the peak) and after the burst:
 *
 *	stats I peak|after RSS SLAB_BYTES SMALL_ALLOCATED LARGE_ALLOCATED
 *	      FREE_BYTES HEAP_BYTES META_BYTES
 *
 * Sizes, both workloads: log-uniform 16 B .. 8 KiB (slab objects); one
 * allocation in BIG_ONE_IN is log-uniform 8 KiB .. BIG_MAX (page-level
 * blocks: 1 MiB in idle, 256 KiB in threads), about half of the bytes.
 *
 * The program's own arrays come from mmap, and its output is written with
 * write(2) from a stack buffer: the only allocator calls are the
 * workload's (and the few of pthread_create).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "rss.h"

#define PAGE		4096u
#define MIB		(1024u * 1024u)
#define SMALL_MIN	16.0
#define SMALL_MAX	8192.0
#define BIG_ONE_IN	128u

/* ------------------------------------------------------------- helpers */

static size_t draw_size(struct rng *r, double big_max)
{
	if (rng_next(r) % BIG_ONE_IN == 0)
		return log_uniform(r, SMALL_MAX, big_max);
	return log_uniform(r, SMALL_MIN, SMALL_MAX);
}

/* One byte per cache line up to a page, one per page above, and the last
 * byte (as bench/common.h): every page of the block is faulted in. */
static void touch(void *p, size_t size)
{
	volatile char *c = p;
	size_t step = size <= PAGE ? 64 : PAGE;

	for (size_t i = 0; i < size; i += step)
		c[i] = (char)i;
	c[size - 1] = 1;
}

/* ------------------------------------------------------------ idle burst */

static int run_idle(size_t total, size_t live, double idle, uint64_t seed)
{
	/* At most total / 16 blocks. */
	size_t max_blocks = total / (size_t)SMALL_MIN + 1;
	void **ptr = harness_alloc(max_blocks * sizeof(void *));
	size_t *size = harness_alloc(max_blocks * sizeof(size_t));
	size_t *order = harness_alloc(max_blocks * sizeof(size_t));
	size_t n = 0, bytes = 0;
	struct rng r;
	double t0;

	rng_seed(&r, seed);
	out("base %zu\n", rss_current());
	t0 = now();
	while (bytes < total && n < max_blocks) {
		size_t sz = draw_size(&r, 1.0 * MIB);

		ptr[n] = malloc(sz);
		if (!ptr[n])
			die("burst_loop: malloc failed\n");
		touch(ptr[n], sz);
		size[n] = sz;
		bytes += sz;
		n++;
	}
	/* Free in a random order (Fisher-Yates) until live bytes are left. */
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng_next(&r) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (size_t i = 0; i < n && bytes > live; i++) {
		size_t k = order[i];

		free(ptr[k]);
		ptr[k] = NULL;
		bytes -= size[k];
	}
	out("freed %zu %zu %.0f\n", bytes, n, (now() - t0) * 1e3);
	/* Idle: no allocator call until exit. */
	sleep_seconds(idle + 1.0);
	return 0;
}

/* ------------------------------------------------------- threads in bursts */

/* A single-producer single-consumer ring of objects handed to the other
 * thread. */
#define RING_SLOTS	4096u

struct ring {
	_Atomic size_t head;	/* written by the consumer */
	char pad1[56];
	_Atomic size_t tail;	/* written by the producer */
	char pad2[56];
	void *slot[RING_SLOTS];
	size_t size[RING_SLOTS];
};

struct worker {
	pthread_t tid;
	int id;
	struct ring *inbox;	/* objects the other thread hands us */
	struct ring *outbox;	/* objects we hand the other thread */
	_Atomic size_t held;	/* bytes allocated and not yet freed by us
				 * or handed over (requested sizes) */
	_Atomic size_t in_flight; /* bytes in outbox, not yet freed */
};

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
static mallctl_fn buddy_mallctl;	/* with BURST_STATS=1, if present */

static size_t ctl_value(const char *name)
{
	size_t v = 0, len = sizeof(v);

	if (buddy_mallctl(name, &v, &len, NULL, 0) != 0)
		return 0;
	return v;
}

static void print_stats(unsigned int burst, const char *when)
{
	if (!buddy_mallctl)
		return;
	out("stats %u %s %zu %zu %zu %zu %zu %zu %zu\n", burst, when,
	    rss_current(), ctl_value("stats.small_slab_bytes"),
	    ctl_value("stats.small_allocated"), ctl_value("stats.large_allocated"),
	    ctl_value("stats.free_bytes"), ctl_value("stats.heap_bytes"),
	    ctl_value("stats.meta_bytes"));
}

static unsigned int nr_bursts = 20, window = 8192;
static size_t nr_ops = 200000;
static uint64_t base_seed = 1;
static pthread_barrier_t burst_barrier;
static struct worker workers[2];
static size_t peak_live;

static bool ring_push(struct ring *q, void *p, size_t sz)
{
	size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);

	if (t - atomic_load_explicit(&q->head, memory_order_acquire) == RING_SLOTS)
		return false;
	q->slot[t % RING_SLOTS] = p;
	q->size[t % RING_SLOTS] = sz;
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	return true;
}

/* Free everything in q (the consumer's side); returns the bytes freed. */
static size_t ring_drain(struct ring *q)
{
	size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
	size_t bytes = 0;

	for (; h != t; h++) {
		free(q->slot[h % RING_SLOTS]);
		bytes += q->size[h % RING_SLOTS];
	}
	atomic_store_explicit(&q->head, h, memory_order_release);
	return bytes;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct worker *other = &workers[!w->id];
	void **slot = harness_alloc(window * sizeof(void *));
	size_t *slot_size = harness_alloc(window * sizeof(size_t));
	struct rng r;

	rng_seed(&r, base_seed * 2 + (uint64_t)w->id);
	for (unsigned int b = 0; b < nr_bursts; b++) {
		for (size_t op = 0; op < nr_ops; op++) {
			size_t i = rng_next(&r) % window, sz;

			if (slot[i]) {
				if (rng_next(&r) % 4 == 0 &&
				    ring_push(w->outbox, slot[i], slot_size[i])) {
					atomic_fetch_add(&w->in_flight, slot_size[i]);
				} else {
					free(slot[i]);
				}
				atomic_fetch_sub(&w->held, slot_size[i]);
			}
			sz = draw_size(&r, 256.0 * 1024);
			slot[i] = malloc(sz);
			if (!slot[i])
				die("burst_loop: malloc failed\n");
			touch(slot[i], sz);
			slot_size[i] = sz;
			atomic_fetch_add(&w->held, sz);
			if ((op & 63) == 0)
				atomic_fetch_sub(&other->in_flight, ring_drain(w->inbox));
			if (w->id == 0 && (op & 255) == 0) {
				size_t live = atomic_load(&workers[0].held) +
					      atomic_load(&workers[1].held) +
					      atomic_load(&workers[0].in_flight) +
					      atomic_load(&workers[1].in_flight);

				if (live > peak_live)
					peak_live = live;
			}
		}
		if (w->id == 0)
			print_stats(b, "peak");
		for (unsigned int i = 0; i < window; i++) {
			if (slot[i]) {
				free(slot[i]);
				atomic_fetch_sub(&w->held, slot_size[i]);
				slot[i] = NULL;
			}
		}
		/* Both threads stop handing over, then each frees its inbox. */
		pthread_barrier_wait(&burst_barrier);
		atomic_fetch_sub(&other->in_flight, ring_drain(w->inbox));
		pthread_barrier_wait(&burst_barrier);
		if (w->id == 0) {
			out("burst %u %zu\n", b, rss_current());
			print_stats(b, "after");
		}
		pthread_barrier_wait(&burst_barrier);
	}
	return NULL;
}

static int run_threads(void)
{
	struct ring *rings = harness_alloc(2 * sizeof(struct ring));
	const char *want_stats = getenv("BURST_STATS");
	double t0, t1;

	if (want_stats && strcmp(want_stats, "1") == 0)
		buddy_mallctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "buddymalloc_mallctl");
	pthread_barrier_init(&burst_barrier, NULL, 2);
	for (int i = 0; i < 2; i++) {
		workers[i].id = i;
		workers[i].inbox = &rings[i];
		workers[i].outbox = &rings[!i];
	}
	t0 = now();
	for (int i = 0; i < 2; i++)
		if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]))
			die("burst_loop: pthread_create failed\n");
	for (int i = 0; i < 2; i++)
		pthread_join(workers[i].tid, NULL);
	t1 = now();
	out("result %zu %zu %.0f\n", rss_peak(), peak_live,
	    2.0 * (double)nr_bursts * (double)nr_ops / (t1 - t0));
	return 0;
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
	die("usage: burst_loop idle [-t TOTAL_MIB] [-l LIVE_MIB] [-s IDLE_SECONDS] [-r SEED]\n"
	    "       burst_loop threads [-b BURSTS] [-n OPS] [-w WINDOW] [-r SEED]\n");
}

int main(int argc, char **argv)
{
	size_t total = 1024, live = 64;
	double idle = 10.0;
	int opt;

	if (argc < 2)
		usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "t:l:s:r:b:n:w:")) != -1) {
		switch (opt) {
		case 't': total = strtoull(optarg, NULL, 10); break;
		case 'l': live = strtoull(optarg, NULL, 10); break;
		case 's': idle = atof(optarg); break;
		case 'r': base_seed = strtoull(optarg, NULL, 10); break;
		case 'b': nr_bursts = (unsigned int)atoi(optarg); break;
		case 'n': nr_ops = strtoull(optarg, NULL, 10); break;
		case 'w': window = (unsigned int)atoi(optarg); break;
		default: usage();
		}
	}
	if (strcmp(argv[1], "idle") == 0)
		return run_idle(total * MIB, live * MIB, idle, base_seed);
	if (strcmp(argv[1], "threads") == 0 && window > 0)
		return run_threads();
	usage();
	return 2;
}
