/*
 * idle_return.c - a REAL-TIME test: resident memory follows live memory
 * when the program goes idle, with no call from the program.
 *
 * 64 MiB of blocks of mixed sizes stay live; a burst of mixed sizes takes
 * the process to 1 GiB allocated (every block touched); the burst is freed
 * in random order, down to the 64 MiB; the test's own bookkeeping arrays
 * (mmap) go back; then the program makes no allocator call at all and
 * reads its whole resident set (/proc/self/statm, no malloc)
 * every 50 ms. With the default settings (decay_ms 500, a reclaim thread)
 * the resident set must fall to 1.25 x live within 2 s; the test polls up
 * to 5 s (a generous margin for a loaded machine) and reports the time it
 * took. Sizes are log-uniform from 16 B to 8 KiB (slab objects), and one
 * block in 64 from 8 KiB to 1 MiB (page blocks), as in bench/burst.
 *
 * This is the one test of the suite that depends on real time; it says so
 * in its output. It allocates 1 GiB.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "api_util.h"

#define MiB		((size_t)1 << 20)
#define LIVE_BYTES	(64 * MiB)
#define BURST_BYTES	(1024 * MiB)
#define MAX_BLOCKS	(BURST_BYTES / 16)
#define TARGET_RATIO	1.25
#define TARGET_SECONDS	2.0
#define POLL_SECONDS	5.0
#define PAGE_ALIGN_UP(x)	(((x) + 4095) & ~(size_t)4095)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t log_uniform(double lo, double hi)
{
	double u = (double)(next() >> 11) / (double)(1ull << 53);

	return (size_t)exp(log(lo) + u * (log(hi) - log(lo)));
}

static size_t draw_size(void)
{
	if (next() % 64 == 0)
		return log_uniform(8192, MiB);
	return log_uniform(16, 8192);
}

/* The test's own arrays come from mmap, not from the allocator. */
static void *harness_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t fill_to(void **ptr, size_t *size, size_t *n, size_t bytes,
		      size_t total)
{
	while (total < bytes && *n < MAX_BLOCKS) {
		size_t s = draw_size();
		char *p = malloc(s);

		if (!p)
			break;
		for (size_t i = 0; i < s; i += 64)
			p[i] = (char)i;
		p[s - 1] = 1;
		ptr[*n] = p;
		size[*n] = s;
		(*n)++;
		total += s;
	}
	return total;
}

TEST_BEGIN(test_idle_return)
{
	void **ptr = harness_alloc(MAX_BLOCKS * sizeof(void *));
	size_t *size = harness_alloc(MAX_BLOCKS * sizeof(size_t));
	size_t *order = harness_alloc(MAX_BLOCKS * sizeof(size_t));
	size_t n = 0, nr_live, live, total, base, rss = 0, peak;
	double t0, reached = -1, t;

	assert_ptr_not_null(ptr);
	assert_ptr_not_null(size);
	assert_ptr_not_null(order);
	base = test_rss_bytes();
	live = fill_to(ptr, size, &n, LIVE_BYTES, 0);
	nr_live = n;
	total = fill_to(ptr, size, &n, BURST_BYTES, live);
	peak = test_rss_bytes();
	assert_zu_ge(total, BURST_BYTES, "the burst was allocated");

	/* Free the burst in random order (Fisher-Yates over its indices). */
	for (size_t i = nr_live; i < n; i++)
		order[i - nr_live] = i;
	for (size_t i = n - nr_live; i > 1; i--) {
		size_t j = next() % i, tmp = order[i - 1];

		order[i - 1] = order[j];
		order[j] = tmp;
	}
	for (size_t i = 0; i < n - nr_live; i++)
		free(ptr[order[i]]);
	t0 = now();
	/* The harness's arrays are not the allocator's memory: give back
	 * all but the live blocks' pointers before measuring. */
	munmap(order, MAX_BLOCKS * sizeof(size_t));
	munmap(size, MAX_BLOCKS * sizeof(size_t));
	madvise((char *)ptr + PAGE_ALIGN_UP(nr_live * sizeof(void *)),
		MAX_BLOCKS * sizeof(void *) - PAGE_ALIGN_UP(nr_live * sizeof(void *)),
		MADV_DONTNEED);

	/* Idle: no allocator call from here on. */
	do {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		rss = test_rss_bytes();
		t = now() - t0;
		if ((double)rss <= TARGET_RATIO * (double)live) {
			reached = t;
			break;
		}
		nanosleep(&ts, NULL);
	} while (t < POLL_SECONDS);

	test_diag("REAL-TIME test: live %zu MiB, burst %zu MiB, RSS before "
		  "%zu MiB, at peak %zu MiB, after idle %zu MiB (%.2f x live)",
		  live / MiB, total / MiB, base / MiB, peak / MiB, rss / MiB,
		  (double)rss / (double)live);
	if (reached >= 0)
		test_diag("REAL-TIME test: %.2f x live reached %.2f s after the "
			  "last free (target %.1f s)", TARGET_RATIO, reached,
			  TARGET_SECONDS);
	expect_true(reached >= 0, "resident <= %.2f x live within %.0f s",
		    TARGET_RATIO, POLL_SECONDS);
	for (size_t i = 0; i < nr_live; i++)
		free(ptr[i]);
}
TEST_END

int main(void)
{
	api_watchdog(120);
	return test_run(test_served_by_buddymalloc, test_idle_return, NULL);
}
