/*
 * introspect.c - the malloc family's reporting and housekeeping calls:
 * mallinfo2 reports our own allocations, malloc_trim gives free memory
 * back to the OS and leaves the allocator working, malloc_stats and
 * malloc_info print something, freed direct mappings are kept for reuse
 * (counted in the stats) until malloc_trim unmaps them, and C23's
 * free_sized / free_aligned_sized
 * (which glibc 2.36 neither declares nor exports; looked up with dlsym)
 * free what they are given.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_util.h"

#define MiB	((size_t)1 << 20)

static size_t in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

TEST_BEGIN(test_mallinfo2_counts_allocations)
{
	static void *small[10000];
	void *mid[16];
	size_t before, held, after;
	void *big;

	/* One direct-mapping-sized block. */
	before = in_use();
	big = malloc(64 * MiB);
	assert_ptr_not_null(big);
	memset(big, 1, 64 * MiB);
	held = in_use();
	expect_zu_ge(held, before + 64 * MiB,
		     "mallinfo2 in use (uordblks + hblkhd) %zu -> %zu", before,
		     held);
	free(big);
	after = in_use();
	expect_zu_le(after, held - 48 * MiB, "after freeing 64 MiB: %zu -> %zu",
		     held, after);

	/* Page-run-sized blocks. */
	before = in_use();
	for (int i = 0; i < 16; i++) {
		mid[i] = malloc(MiB);
		assert_ptr_not_null(mid[i]);
	}
	held = in_use();
	expect_zu_ge(held, before + 16 * MiB, "16 x 1 MiB: %zu -> %zu", before,
		     held);
	for (int i = 0; i < 16; i++)
		free(mid[i]);

	/* Small objects. */
	before = in_use();
	for (int i = 0; i < 10000; i++) {
		small[i] = malloc(100);
		assert_ptr_not_null(small[i]);
	}
	held = in_use();
	expect_zu_ge(held, before + 10000 * 100, "10000 x 100 B: %zu -> %zu",
		     before, held);
	for (int i = 0; i < 10000; i++)
		free(small[i]);
}
TEST_END

#define TRIM_BLOCKS	16384
#define TRIM_SIZE	4000	/* a small-object size: not a direct mapping */

/*
 * 64 MiB of small blocks, touched, then freed (with a small block kept
 * after them, so no allocator can return it all just by lowering a heap
 * top); after malloc_trim(0) the resident set is at least 32 MiB smaller
 * than at the peak. Then the same allocations work again.
 */
TEST_BEGIN(test_malloc_trim_returns_memory)
{
	static void *blocks[TRIM_BLOCKS];
	size_t rss_peak, rss_trimmed;
	void *pin;
	int rc;

	for (int i = 0; i < TRIM_BLOCKS; i++) {
		blocks[i] = malloc(TRIM_SIZE);
		assert_ptr_not_null(blocks[i]);
		memset(blocks[i], 0x11, TRIM_SIZE);
	}
	pin = malloc(TRIM_SIZE);
	assert_ptr_not_null(pin);
	rss_peak = test_rss_bytes();
	test_skip_if(rss_peak == 0);	/* no /proc */

	for (int i = 0; i < TRIM_BLOCKS; i++)
		free(blocks[i]);
	rc = malloc_trim(0);
	expect_true(rc == 0 || rc == 1, "malloc_trim returned %d", rc);
	rss_trimmed = test_rss_bytes();
	expect_zu_le(rss_trimmed + 32 * MiB, rss_peak,
		     "resident %zu MiB at the peak, %zu MiB after free and "
		     "malloc_trim", rss_peak >> 20, rss_trimmed >> 20);

	/* Still works, with fresh contents. */
	for (int i = 0; i < TRIM_BLOCKS; i++) {
		blocks[i] = malloc(TRIM_SIZE);
		assert_ptr_not_null(blocks[i]);
		pattern_fill(blocks[i], TRIM_SIZE, (uint64_t)i);
	}
	for (int i = 0; i < TRIM_BLOCKS; i++) {
		expect_zu_eq(pattern_check(blocks[i], TRIM_SIZE, (uint64_t)i),
			     TRIM_SIZE, "block %d after malloc_trim", i);
		free(blocks[i]);
	}
	free(pin);
	expect_true(malloc_trim(0) <= 1);
}
TEST_END

/* malloc_trim with a pad, when nothing is free, and repeatedly. */
TEST_BEGIN(test_malloc_trim_any_time)
{
	void *p = malloc(100);

	assert_ptr_not_null(p);
	for (int i = 0; i < 10; i++) {
		int rc = malloc_trim((size_t)i * 4096);

		expect_true(rc == 0 || rc == 1, "malloc_trim returned %d", rc);
	}
	memset(p, 1, 100);
	free(p);
}
TEST_END

/* Runs fn with stderr sent to a temporary file; returns the bytes written. */
static long capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/introspect.XXXXXX";
	int fd = mkstemp(path), saved;
	struct stat st;

	if (fd < 0)
		return -1;
	unlink(path);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	if (fstat(fd, &st) != 0)
		st.st_size = -1;
	close(fd);
	return (long)st.st_size;
}

static void call_malloc_stats(void)
{
	malloc_stats();
}

TEST_BEGIN(test_malloc_stats_prints)
{
	void *p = malloc(MiB);

	assert_ptr_not_null(p);
	expect_ld_gt(capture_stderr(call_malloc_stats), 0,
		     "malloc_stats printed nothing to stderr");
	free(p);
}
TEST_END

TEST_BEGIN(test_malloc_info_prints)
{
	void *p = malloc(MiB);
	FILE *f = tmpfile();

	assert_ptr_not_null(p);
	assert_ptr_not_null(f);
	expect_d_eq(malloc_info(0, f), 0);
	fflush(f);
	expect_ld_gt(ftell(f), 0, "malloc_info wrote nothing");
	fclose(f);
	free(p);
}
TEST_END

typedef void (free_sized_fn)(void *, size_t);
typedef void (free_aligned_sized_fn)(void *, size_t, size_t);

/* Exported by libbuddymalloc (DESIGN.md); optional for other allocators. */
TEST_BEGIN(test_free_sized)
{
	free_sized_fn *fs = (free_sized_fn *)dlsym(RTLD_DEFAULT, "free_sized");
	static const size_t sizes[] = { 0, 1, 100, 4096, 100000, MiB, 8 * MiB };

	if (api_any_malloc())
		test_skip_if(fs == NULL);
	assert_ptr_not_null((void *)fs, "free_sized is not exported");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]);

		assert_ptr_not_null(p);
		memset(p, 2, sizes[i]);
		errno = 0x5eed;
		fs(p, sizes[i]);
		expect_d_eq(errno, 0x5eed, "free_sized(, %zu) changed errno",
			    sizes[i]);
		p = calloc(sizes[i], 1);
		assert_ptr_not_null(p);
		fs(p, sizes[i]);
	}
	fs(NULL, 0);
	fs(NULL, 100);
}
TEST_END

TEST_BEGIN(test_free_aligned_sized)
{
	free_aligned_sized_fn *fas = (free_aligned_sized_fn *)
		dlsym(RTLD_DEFAULT, "free_aligned_sized");
	static const size_t aligns[] = { 16, 64, 4096, 65536, 2 * MiB, 4 * MiB };

	if (api_any_malloc())
		test_skip_if(fas == NULL);
	assert_ptr_not_null((void *)fas, "free_aligned_sized is not exported");
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		size_t size = aligns[i] * 2;
		void *p = aligned_alloc(aligns[i], size);

		assert_ptr_not_null(p);
		memset(p, 3, size);
		fas(p, aligns[i], size);
	}
	fas(NULL, 64, 0);
}
TEST_END

/* A "stats.<field>" value of buddymalloc_mallctl; SIZE_MAX if unreadable. */
static size_t stat_read(const char *field)
{
	int (*ctl)(const char *, void *, size_t *, void *, size_t);
	char name[64];
	size_t value = SIZE_MAX, len = sizeof(value);

	*(void **)&ctl = dlsym(RTLD_DEFAULT, "buddymalloc_mallctl");
	snprintf(name, sizeof(name), "stats.%s", field);
	if (!ctl || ctl(name, &value, &len, NULL, 0) != 0)
		return SIZE_MAX;
	return value;
}

/* Resident pages of [p, p + size); SIZE_MAX when part of it is unmapped. */
static size_t resident_pages(void *p, size_t size)
{
	static unsigned char vec[(64 * MiB) / 4096];
	size_t n = 0, page = (size_t)sysconf(_SC_PAGESIZE);

	if (mincore(p, size, vec) != 0)
		return SIZE_MAX;
	for (size_t i = 0; i < size / page; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * A loop of 32 MiB malloc/free makes no new mapping after its first
 * round: every round gets the same block back, resident before it is
 * touched; the cached block is in the stats (huge_cached, resident_bytes)
 * until malloc_trim unmaps it.
 */
#define CACHED_SIZE	(32 * MiB)

TEST_BEGIN(test_mapping_cache_trimmed)
{
	size_t pages = CACHED_SIZE / (size_t)sysconf(_SC_PAGESIZE);
	size_t resident, rss_cached;
	void *p, *q;

	malloc_trim(0);
	expect_zu_eq(stat_read("huge_cached"), 0, "empty after malloc_trim");
	p = malloc(CACHED_SIZE);
	assert_ptr_not_null(p);
	pattern_fill(p, CACHED_SIZE, 7);	/* not a dead store: out of line */
	free(p);
	expect_zu_eq(stat_read("huge_cached"), CACHED_SIZE, "the freed block");
	expect_zu_eq(stat_read("nr_huge_cached"), 1);
	expect_zu_eq(stat_read("huge_allocated"), 0);
	resident = stat_read("resident_bytes");
	expect_zu_ge(resident, CACHED_SIZE, "cached bytes are resident");
	expect_zu_eq(resident_pages(p, CACHED_SIZE), pages, "still resident");

	for (int round = 0; round < 20; round++) {
		q = malloc(CACHED_SIZE);
		assert_ptr_eq(q, p, "round %d: the cached block", round);
		assert_zu_eq(resident_pages(q, CACHED_SIZE), pages,
			     "round %d: resident before any touch", round);
		pattern_fill(q, CACHED_SIZE, (uint64_t)round);
		free(q);
	}
	rss_cached = test_rss_bytes();

	expect_d_eq(malloc_trim(0), 1, "malloc_trim gave something back");
	expect_zu_eq(stat_read("huge_cached"), 0, "malloc_trim empties the cache");
	expect_zu_eq(stat_read("nr_huge_cached"), 0);
	expect_zu_le(stat_read("resident_bytes") + CACHED_SIZE, resident,
		     "resident_bytes without it");
	expect_zu_eq(resident_pages(p, CACHED_SIZE), SIZE_MAX, "unmapped");
	if (rss_cached)
		expect_zu_le(test_rss_bytes() + CACHED_SIZE - MiB, rss_cached,
			     "the process's resident set shrank");
}
TEST_END

int main(void)
{
	api_watchdog(180);
	return test_run(test_served_by_buddymalloc,
			test_mallinfo2_counts_allocations,
			test_malloc_trim_returns_memory,
			test_malloc_trim_any_time,
			test_mapping_cache_trimmed,
			test_malloc_stats_prints,
			test_malloc_info_prints,
			test_free_sized,
			test_free_aligned_sized,
			NULL);
}
