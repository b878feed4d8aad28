/*
 * threads.c - 8 threads churn mixed sizes (16 B to 1 MiB, most of them
 * small) with content checks and cross-thread frees.
 *
 * Every block carries a header word (its size and the allocating thread)
 * and, after it, a pattern keyed by its own address: a block handed out
 * twice, written by another thread, or moved without its contents shows up
 * as a mismatch when its last owner verifies it before freeing it. Threads
 * hand blocks to each other through a shared exchange array of atomic
 * pointers, so most frees of exchanged blocks happen on another thread (and
 * usually another CPU) than the malloc. Some blocks are reallocated, some
 * come from calloc (checked zero) or memalign.
 *
 * At the end the allocator's own account must show everything back, not
 * the test's: after the threads are joined and malloc_trim() has drained
 * the per-CPU caches and given empty slabs back, buddymalloc_mallctl's
 * statistics must read as they did before the threads started. Small
 * objects in use and the bytes of slabs are what the program holds (every
 * object freed went back to its slab, every slab emptied went back to the
 * buddy allocator), no page allocation is left, and the pages out of the
 * buddy free lists are exactly the slabs' plus the allocator's own
 * metadata (which may have grown: records of slabs are never returned), so
 * no page was lost on the way. glibc keeps a few allocations of its own per
 * thread (the TLS vector of a cached stack); a warm-up round of the same
 * threads makes those before the "before" reading, and the churn's threads
 * reuse the cached stacks.
 *
 * The amount of work is a fixed number of operations per thread, not a
 * time: the outcome is the same on 2 CPUs or 64, only slower.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"

#define NR_THREADS	8
#define OPS_PER_THREAD	150000
#define SLOTS		256		/* live blocks per thread */
#define EXCHANGE	1024		/* shared hand-over slots */

#define MiB	((size_t)1 << 20)

struct header {
	uint32_t size;		/* requested size, >= 16 */
	uint32_t owner;		/* thread that allocated it, + 1 */
	uint64_t check;		/* ~size ^ owner ^ address: a quick sanity word */
};

_Static_assert(sizeof(struct header) == 16, "header is 16 bytes");

static _Atomic(struct header *) exchange[EXCHANGE];

struct worker {
	pthread_t thread;
	unsigned int id;
	uint64_t seed;
	/* results, read by the main thread after join */
	unsigned long errors;
	unsigned long mallocs, frees, remote_frees, reallocs;
	char first_error[200];
};

static pthread_barrier_t start;

static uint64_t block_key(const struct header *h)
{
	return (uint64_t)(uintptr_t)h * 0x9e3779b97f4a7c15ULL ^ h->owner;
}

/* Sizes: 70% 16..256 B, 22% to 4 KiB, 7.5% to 64 KiB, 0.5% to 1 MiB. */
static size_t pick_size(uint64_t *rng)
{
	uint64_t r = rand_below(rng, 1000);

	if (r < 700)
		return 16 + (size_t)rand_below(rng, 241);
	if (r < 920)
		return 256 + (size_t)rand_below(rng, 4096 - 256 + 1);
	if (r < 995)
		return 4096 + (size_t)rand_below(rng, 65536 - 4096 + 1);
	return 65536 + (size_t)rand_below(rng, MiB - 65536 + 1);
}

static void fail(struct worker *w, const char *what, const struct header *h)
{
	if (w->errors++ == 0)
		snprintf(w->first_error, sizeof(w->first_error),
			 "thread %u: %s: block %p size %u owner %u", w->id, what,
			 (const void *)h, h ? h->size : 0, h ? h->owner : 0);
}

static void stamp(struct header *h, size_t size, unsigned int owner)
{
	h->size = (uint32_t)size;
	h->owner = owner;
	h->check = ~(uint64_t)size ^ owner ^ (uint64_t)(uintptr_t)h;
	pattern_fill(h + 1, size - sizeof(*h), block_key(h));
}

static struct header *new_block(struct worker *w, uint64_t *rng)
{
	size_t size = pick_size(rng);
	uint64_t how = rand_below(rng, 100);
	struct header *h;

	if (how < 5) {
		h = calloc(1, size);
		if (h && zero_check(h, size) != size)
			fail(w, "calloc returned dirty memory", h);
	} else if (how < 8) {
		h = memalign((size_t)64 << rand_below(rng, 7), size);	/* to 4 KiB */
	} else {
		h = malloc(size);
	}
	if (h == NULL) {
		fail(w, "allocation failed", NULL);
		return NULL;
	}
	if (((uintptr_t)h & 15) != 0)
		fail(w, "misaligned", h);
	w->mallocs++;
	stamp(h, size, w->id + 1);
	return h;
}

static bool verify(struct worker *w, const struct header *h)
{
	size_t size = h->size;

	if (size < sizeof(*h) || size > MiB || h->owner == 0 ||
	    h->owner > NR_THREADS ||
	    h->check != (~(uint64_t)size ^ h->owner ^ (uint64_t)(uintptr_t)h)) {
		fail(w, "header overwritten", h);
		return false;
	}
	if (malloc_usable_size((void *)h) < size) {
		fail(w, "usable size shrank", h);
		return false;
	}
	if (pattern_check(h + 1, size - sizeof(*h), block_key(h)) !=
	    size - sizeof(*h)) {
		fail(w, "contents changed", h);
		return false;
	}
	return true;
}

static void release(struct worker *w, struct header *h, bool remote)
{
	if (verify(w, h)) {
		/* Scribble, so a block handed out twice is caught by the other
		 * holder's next check. */
		memset(h, 0xdd, h->size < 256 ? h->size : 256);
	}
	free(h);
	w->frees++;
	if (remote)
		w->remote_frees++;
}

/* Grow or shrink a block; the prefix must survive, then it is restamped
 * for its new address and size. */
static struct header *resize(struct worker *w, struct header *h, uint64_t *rng)
{
	size_t old = h->size, size = pick_size(rng);
	size_t keep = (old < size ? old : size) - sizeof(*h);
	uint64_t key = block_key(h);
	struct header *n;

	if (!verify(w, h))
		return h;
	n = realloc_opaque(h, size);	/* h is reported if it fails */
	if (n == NULL) {
		fail(w, "realloc failed", h);
		return h;
	}
	if (pattern_check(n + 1, keep, key) != keep)
		fail(w, "realloc lost contents", n);
	w->reallocs++;
	stamp(n, size, w->id + 1);
	return n;
}

static void *churn(void *arg)
{
	struct worker *w = arg;
	struct header *slot[SLOTS] = { NULL };
	uint64_t rng = w->seed;

	pthread_barrier_wait(&start);
	for (long op = 0; op < OPS_PER_THREAD; op++) {
		unsigned int i = (unsigned int)rand_below(&rng, SLOTS);
		uint64_t what = rand_below(&rng, 100);
		struct header *h = slot[i];

		if (h == NULL) {
			slot[i] = new_block(w, &rng);
		} else if (what < 45) {
			release(w, h, false);
			slot[i] = NULL;
		} else if (what < 90) {
			/* Hand it over; take whatever was there (usually
			 * another thread's block) and free it here. */
			unsigned int x = (unsigned int)rand_below(&rng, EXCHANGE);
			struct header *other;

			if (!verify(w, h)) {
				slot[i] = NULL;	/* leak it; already reported */
				continue;
			}
			other = atomic_exchange(&exchange[x], h);
			slot[i] = NULL;
			if (other)
				release(w, other, other->owner != w->id + 1);
		} else {
			slot[i] = resize(w, h, &rng);
		}
	}
	for (unsigned int i = 0; i < SLOTS; i++)
		if (slot[i])
			release(w, slot[i], false);
	return NULL;
}

/* Small stacks, so that glibc's cache of thread stacks (40 MiB) keeps
 * every one between the warm-up round and the churn. */
#define THREAD_STACK	((size_t)256 << 10)

static void *warm_up(void *arg)
{
	pthread_barrier_wait(&start);
	free(malloc(64));
	return arg;
}

static pthread_attr_t thread_attr;
static struct heap_stats before;
static bool have_before;

static void heap_stats_diag(const char *when, const struct heap_stats *st)
{
	test_diag("%s: small objects %zu B in %zu B of slabs, pages %zu B, "
		  "mmap %zu B; heap %zu B, free %zu B, metadata %zu B", when,
		  st->small_allocated, st->small_slab_bytes,
		  st->large_allocated, st->huge_allocated, st->heap_bytes,
		  st->free_bytes, st->meta_bytes);
}

TEST_BEGIN(test_threads_churn)
{
	static struct worker workers[NR_THREADS];
	struct worker leftover = { .id = 99 };
	uint64_t seed = test_seed(0x7412ead5);
	unsigned long total_errors = 0, mallocs = 0, frees = 0, remote = 0,
		      reallocs = 0;

	assert_d_eq(pthread_attr_init(&thread_attr), 0);
	assert_d_eq(pthread_attr_setstacksize(&thread_attr, THREAD_STACK), 0);
	assert_d_eq(pthread_barrier_init(&start, NULL, NR_THREADS), 0);
	for (unsigned int t = 0; t < NR_THREADS; t++)
		assert_d_eq(pthread_create(&workers[t].thread, &thread_attr,
					   warm_up, NULL), 0);
	for (unsigned int t = 0; t < NR_THREADS; t++)
		pthread_join(workers[t].thread, NULL);
	malloc_trim(0);
	have_before = !api_any_malloc() && heap_stats_read(&before);
	if (have_before)
		heap_stats_diag("before the threads", &before);

	for (unsigned int t = 0; t < NR_THREADS; t++) {
		workers[t] = (struct worker){ .id = t, .seed = seed + t * 7919 };
		assert_d_eq(pthread_create(&workers[t].thread, &thread_attr,
					   churn, &workers[t]), 0);
	}
	for (unsigned int t = 0; t < NR_THREADS; t++) {
		struct worker *w = &workers[t];

		pthread_join(w->thread, NULL);
		if (w->errors)
			test_diag("%s (%lu errors)", w->first_error, w->errors);
		total_errors += w->errors;
		mallocs += w->mallocs;
		frees += w->frees;
		remote += w->remote_frees;
		reallocs += w->reallocs;
	}
	pthread_barrier_destroy(&start);

	/* What is still in the exchange is verified and freed here. */
	for (unsigned int x = 0; x < EXCHANGE; x++) {
		struct header *h = atomic_exchange(&exchange[x], NULL);

		if (h)
			release(&leftover, h, true);
	}
	if (leftover.errors)
		test_diag("%s", leftover.first_error);
	total_errors += leftover.errors;
	frees += leftover.frees;
	remote += leftover.remote_frees;

	test_diag("%lu mallocs, %lu frees (%lu by another thread), %lu reallocs",
		  mallocs, frees, remote, reallocs);
	expect_lu_eq(total_errors, 0);
	expect_lu_gt(remote, mallocs / 10, "cross-thread frees happened");
}
TEST_END

/* The allocator's account after the run: everything back (see the top). */
TEST_BEGIN(test_threads_everything_back)
{
	struct heap_stats after;

	test_skip_if(api_any_malloc());
	assert_true(have_before, "no reading before the threads");
	malloc_trim(0);
	assert_true(heap_stats_read(&after));
	heap_stats_diag("after the threads and malloc_trim", &after);

	expect_zu_eq(after.small_allocated, before.small_allocated,
		     "small objects in use: every one freed is back in its slab");
	expect_zu_eq(after.small_slab_bytes, before.small_slab_bytes,
		     "bytes of slabs: every one emptied went back to the buddy");
	expect_zu_eq(after.large_allocated, before.large_allocated,
		     "page allocations: every one freed");
	expect_zu_eq(after.huge_allocated, before.huge_allocated,
		     "direct mappings: every one unmapped");
	expect_zu_eq(before.heap_bytes - before.free_bytes,
		     before.small_slab_bytes + before.large_allocated +
		     before.meta_bytes,
		     "before: pages out of the buddy (heap - free) are the "
		     "slabs', page allocations' and metadata's");
	expect_zu_eq(after.heap_bytes - after.free_bytes,
		     after.small_slab_bytes + after.large_allocated +
		     after.meta_bytes,
		     "after: pages out of the buddy (heap - free) are the "
		     "slabs', page allocations' and metadata's: none lost");
}
TEST_END

int main(void)
{
	api_watchdog(300);
	return test_run(test_served_by_buddymalloc,
			test_threads_churn,
			test_threads_everything_back,
			NULL);
}
