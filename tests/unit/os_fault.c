/*
 * os_fault.c - the allocator when the OS refuses: mmap, munmap, madvise,
 * mremap and mprotect (hardening:guard only) fail every Nth call (core/os.c's fault injection, a test
 * build's hook: test_os_fault_set), one kind at a time and all together,
 * for several N.
 *
 * Built from preload/'s sources with the shipped slab library and the test
 * core (-DBUDDY_TEST_HOOKS), so malloc and friends here are the library's
 * and the test reaches the core's hooks and checker.
 *
 * While the faults are on, a workload allocates blocks of every kind (slab
 * classes, page blocks, direct mappings, memalign up to 2 MiB), grows and
 * shrinks direct mappings with realloc (mremap), frees half, trims (madvise,
 * munmap of cached mappings), frees the rest and trims again. What must
 * hold, the faults on:
 *   - every failure is NULL with errno ENOMEM (EINVAL never; posix_memalign
 *     returns ENOMEM), and a failed realloc leaves the old block whole;
 *   - every block keeps its contents until it is freed (checked before
 *     every free and realloc);
 * and once the faults stop:
 *   - the core's checker finds every zone consistent (check_all_zones);
 *   - the same workload succeeds in full (recovery);
 *   - after freeing everything and malloc_trim, the bytes in use are what
 *     they were before (mallinfo2), no direct mapping is left counted
 *     (huge_mapped_pages), and the resident set is back within SLACK of
 *     where it started: a mapping whose munmap failed was not forgotten
 *     with its pages still resident.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "unit_util.h"

#define NR_BLOCKS	48
#define ROUNDS		3
#define SLACK		(8UL << 20)

struct counts {
	unsigned long allocs, nulls, bad_errno, corrupt, misaligned;
};

struct blk {
	void *p;
	size_t size;
	uint64_t key;
};

static struct blk blocks[NR_BLOCKS];

/* Sizes of every kind: slab classes, page blocks, direct mappings. */
static const size_t sizes[] = {
	24, 200, 3000, 20000, 100000, 1 << 20, 3 << 20,
	5 << 20, 9 << 20, 40, 700, 9000,
};
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

static uint64_t word_of(uint64_t key, size_t off)
{
	uint64_t z = key + off * 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	return z ^ (z >> 31);
}

/* The first and last words and one word per page in between: every page
 * of the block is touched, so it is resident. */
static void blk_fill(struct blk *b)
{
	uint64_t *w = b->p;
	size_t n = b->size / 8;

	for (size_t i = 0; i < n; i += 512)
		w[i] = word_of(b->key, i);
	if (n)
		w[n - 1] = word_of(b->key, n - 1);
}

/* The covered words below keep bytes are the key's. */
static bool blk_ok(const struct blk *b, size_t keep)
{
	const uint64_t *w = b->p;
	size_t n = b->size / 8, k = keep / 8;

	for (size_t i = 0; i < n && i < k; i += 512)
		if (w[i] != word_of(b->key, i))
			return false;
	return !(n && n - 1 < k && w[n - 1] != word_of(b->key, n - 1));
}

static void note_null(struct counts *c, int err)
{
	c->nulls++;
	if (err != ENOMEM)
		c->bad_errno++;
}

static void blk_free(struct blk *b, struct counts *c)
{
	if (!b->p)
		return;
	if (!blk_ok(b, b->size))
		c->corrupt++;
	free(b->p);
	b->p = NULL;
}

static void blk_alloc(struct blk *b, size_t size, unsigned int how,
		      uint64_t key, struct counts *c)
{
	size_t align = how == 1 ? 65536 : 2UL << 20;
	void *p = NULL;
	int err;

	c->allocs++;
	errno = 0;
	switch (how) {
	case 0:
		p = malloc(size);
		err = errno;
		break;
	case 1:
		p = memalign(align, size);
		err = errno;
		break;
	default:
		err = posix_memalign(&p, align, size);
		if (err)
			p = NULL;
		break;
	}
	if (!p) {
		note_null(c, err);
		return;
	}
	if (how && ((uintptr_t)p & (align - 1)))
		c->misaligned++;
	b->p = p;
	b->size = size;
	b->key = key;
	blk_fill(b);
}

/* Grow or shrink b with realloc; on failure b is unchanged (and checked). */
static void blk_realloc(struct blk *b, size_t size, struct counts *c)
{
	size_t keep = size < b->size ? size : b->size;
	void *p;

	c->allocs++;
	errno = 0;
	p = realloc(b->p, size);
	if (!p) {
		note_null(c, errno);
		if (!blk_ok(b, b->size))
			c->corrupt++;
		return;
	}
	b->p = p;
	if (!blk_ok(b, keep))
		c->corrupt++;
	b->size = size;
	blk_fill(b);
}

static void workload(unsigned int rounds, struct counts *c)
{
	uint64_t key = 1;

	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int i = 0; i < NR_BLOCKS; i++)
			blk_alloc(&blocks[i], sizes[(i + r) % NR_SIZES],
				  i % 8 == 5 ? 1 + (i / 8) % 2 : 0, key++, c);
		/* Direct mappings grow and shrink (mremap), pages too. */
		for (unsigned int i = 0; i < NR_BLOCKS; i++) {
			if (!blocks[i].p || blocks[i].size < (1u << 20))
				continue;
			blk_realloc(&blocks[i], blocks[i].size * 2 + 4096, c);
			if (blocks[i].p)
				blk_realloc(&blocks[i], blocks[i].size / 3, c);
		}
		for (unsigned int i = 0; i < NR_BLOCKS; i += 2)
			blk_free(&blocks[i], c);
		malloc_trim(0);
		for (unsigned int i = 1; i < NR_BLOCKS; i += 2)
			blk_free(&blocks[i], c);
		malloc_trim(0);
	}
}

static size_t bytes_in_use(void)
{
	struct mallinfo2 mi;

	malloc_trim(0);
	mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static const char *const kind_names[] = { "mmap", "munmap", "madvise",
					   "mremap", "mprotect" };
_Static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == NR_OS_CALLS,
	       "a name for every kind");

/* The workload with the kinds of mask failing every every-th call, then
 * the checks of the top of the file. */
static void faults_then_recovery(unsigned int mask, unsigned int every)
{
	struct counts on = { 0 }, off = { 0 };
	size_t used_before, used_after, rss_before, rss_after;
	unsigned long failed = 0;
	char what[64] = "";

	for (unsigned int k = 0; k < NR_OS_CALLS; k++)
		if (mask & (1u << k))
			snprintf(what + strlen(what), sizeof(what) - strlen(what),
				 "%s%s", *what ? "+" : "", kind_names[k]);
	/* A first round unfaulted, so that what stays for good (sections,
	 * tables, per-CPU caches) is there before the baseline. */
	workload(1, &off);
	used_before = bytes_in_use();
	rss_before = test_rss_bytes();

	test_os_fault_set(mask, every);
	workload(ROUNDS, &on);
	for (unsigned int k = 0; k < NR_OS_CALLS; k++)
		if (mask & (1u << k))
			failed += CMM_LOAD_SHARED(test_os_fault[k].failed);
	test_os_fault_set(OS_CALL_ALL, 0);

	test_diag("%s every %u: %lu calls failed; %lu allocations, %lu NULL",
		  what, every, failed, on.allocs, on.nulls);
	expect_lu_gt(failed, 0, "%s every %u: the faults fired", what, every);
	expect_lu_eq(on.bad_errno, 0, "%s every %u: a NULL without ENOMEM",
		     what, every);
	expect_lu_eq(on.corrupt, 0, "%s every %u: a block changed", what, every);
	expect_lu_eq(on.misaligned, 0, "%s every %u: misaligned", what, every);
	expect_lu_eq(core_check_diag(), 0, "%s every %u: zones consistent",
		     what, every);

	memset(&off, 0, sizeof(off));
	workload(2, &off);
	expect_lu_eq(off.nulls, 0, "%s every %u: allocations fail after the "
		     "faults stopped", what, every);
	expect_lu_eq(off.corrupt, 0, "%s every %u: a block changed after",
		     what, every);
	used_after = bytes_in_use();
	rss_after = test_rss_bytes();
	expect_zu_eq(used_after, used_before, "%s every %u: bytes in use",
		     what, every);
	expect_lu_eq(huge_mapped_pages(), 0, "%s every %u: direct mappings "
		     "still counted", what, every);
	test_diag("%s every %u: resident %zu KiB before, %zu KiB after", what,
		  every, rss_before >> 10, rss_after >> 10);
	expect_zu_le(rss_after, rss_before + SLACK, "%s every %u: resident "
		     "memory went back", what, every);
	expect_lu_eq(core_check_diag(), 0, "%s every %u: zones consistent "
		     "after recovery", what, every);
}

static void each_period(unsigned int mask)
{
	static const unsigned int periods[] = { 1, 2, 5 };

	for (unsigned int i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
		faults_then_recovery(mask, periods[i]);
}

TEST_BEGIN(test_mmap_fails)
{
	each_period(1u << OS_CALL_MMAP);
}
TEST_END

TEST_BEGIN(test_munmap_fails)
{
	each_period(1u << OS_CALL_MUNMAP);
}
TEST_END

TEST_BEGIN(test_madvise_fails)
{
	each_period(1u << OS_CALL_MADVISE);
}
TEST_END

/* Under hardening:guard nothing calls mremap (huge.c copies instead). */
TEST_BEGIN(test_mremap_fails)
{
	test_skip_if(huge_guard);
	each_period(1u << OS_CALL_MREMAP);
}
TEST_END

/* mprotect makes guard pages only: run under hardening:guard
 * (tests/api/hardening.sh), skipped otherwise. */
TEST_BEGIN(test_mprotect_fails)
{
	test_skip_if(!huge_guard);
	each_period(1u << OS_CALL_MPROTECT);
}
TEST_END

TEST_BEGIN(test_all_fail)
{
	each_period(OS_CALL_ALL);
}
TEST_END

int main(void)
{
	return test_run(test_mmap_fails,
			test_munmap_fails,
			test_madvise_fails,
			test_mremap_fails,
			test_mprotect_fails,
			test_all_fail,
			NULL);
}
