/*
 * calloc.c - calloc returns zeroed memory even when it reuses memory that
 * a freed block dirtied: small sizes (slab objects), page sizes (buddy
 * blocks, the pcp lists) and huge sizes (direct mappings), for every way
 * the product nmemb * size can be formed.
 *
 * A calloc that trusted "fresh memory is zero" without tracking reuse, or
 * cleared only the requested bytes of a recycled page run's first page,
 * fails here.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"

#define KiB	((size_t)1 << 10)
#define MiB	((size_t)1 << 20)

static const size_t sizes[] = {
	1, 8, 15, 16, 17, 24, 32, 48, 64, 96, 100, 128, 160, 192, 256, 320,
	384, 512, 640, 768, 1000, 1024, 2000, 2048, 3000, 4095, 4096, 4097,
	8 * KiB, 12 * KiB + 1, 16 * KiB, 64 * KiB, 100 * KiB, 128 * KiB + 16,
	256 * KiB, MiB - 1, MiB, 2 * MiB, 3 * MiB + 5, 4 * MiB, 4 * MiB + 1,
	8 * MiB, 32 * MiB,
};
#define NR_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

/* Dirty a block of this size (all usable bytes), free it, then calloc the
 * same size and check every requested byte is zero. Several blocks at a
 * time, so the calloc cannot just hit a block that was never dirtied. */
#define BATCH	8

static void dirty_free_calloc(size_t size, size_t nmemb, size_t each)
{
	const int n = size >= 4 * MiB ? 2 : BATCH;	/* keep huge ones cheap */
	void *p[BATCH];

	for (int i = 0; i < n; i++) {
		p[i] = malloc(size);
		assert_ptr_not_null(p[i], "malloc(%zu)", size);
		memset(p[i], 0xa5, malloc_usable_size(p[i]));
	}
	for (int i = 0; i < n; i++)
		free(p[i]);
	for (int i = 0; i < n; i++) {
		size_t off;

		p[i] = calloc(nmemb, each);
		assert_ptr_not_null(p[i], "calloc(%zu, %zu)", nmemb, each);
		off = zero_check(p[i], size);
		expect_zu_eq(off, size, "calloc(%zu, %zu) #%d = %p: byte %zu is %#x",
			     nmemb, each, i, p[i], off,
			     off < size ? ((unsigned char *)p[i])[off] : 0);
		/* Dirty it in turn for the next round. */
		memset(p[i], 0x5a, malloc_usable_size(p[i]));
	}
	for (int i = 0; i < n; i++)
		free(p[i]);
}

TEST_BEGIN(test_calloc_reused_is_zero)
{
	for (size_t i = 0; i < NR_SIZES; i++) {
		size_t s = sizes[i];

		dirty_free_calloc(s, 1, s);
		dirty_free_calloc(s, s, 1);
		if (s % 16 == 0)
			dirty_free_calloc(s, s / 16, 16);
	}
}
TEST_END

/* Many live dirty blocks of mixed sizes freed in a random order, then
 * calloc of the same sizes: the reuse takes arbitrary earlier blocks. */
#define NR_MIXED	20000

TEST_BEGIN(test_calloc_after_mixed_frees)
{
	static void *p[NR_MIXED];
	static size_t sz[NR_MIXED];
	uint64_t rng = test_seed(0xca110c);
	size_t dirty = 0;

	for (size_t i = 0; i < NR_MIXED; i++) {
		/* Mostly small, a few of a page or more. */
		sz[i] = (i % 100 == 0) ? 4096 + (size_t)rand_below(&rng, 64 * KiB)
				       : 1 + (size_t)rand_below(&rng, 1024);
		p[i] = malloc(sz[i]);
		assert_ptr_not_null(p[i], "malloc(%zu)", sz[i]);
		memset(p[i], 0xff, malloc_usable_size(p[i]));
	}
	test_shuffle(p, NR_MIXED, &rng);
	for (size_t i = 0; i < NR_MIXED; i++)
		free(p[i]);
	for (size_t i = 0; i < NR_MIXED; i++) {
		p[i] = calloc(1, sz[i]);
		assert_ptr_not_null(p[i], "calloc(1, %zu)", sz[i]);
		if (zero_check(p[i], sz[i]) != sz[i] && dirty++ < 5)
			test_fail("calloc(1, %zu) = %p is not all zero", sz[i],
				  p[i]);
	}
	expect_zu_eq(dirty, 0);
	for (size_t i = 0; i < NR_MIXED; i++)
		free(p[i]);
}
TEST_END

/* A realloc that shrinks and the calloc that follows must not leave the
 * cut-off tail dirty in the next block. */
TEST_BEGIN(test_calloc_after_realloc_shrink)
{
	for (size_t i = 0; i < NR_SIZES; i++) {
		size_t s = sizes[i];
		void *p = malloc(s * 2), *q;

		assert_ptr_not_null(p);
		memset(p, 0x77, malloc_usable_size(p));
		p = realloc(p, s);
		assert_ptr_not_null(p, "realloc(, %zu)", s);
		q = calloc(1, s);
		assert_ptr_not_null(q);
		expect_zu_eq(zero_check(q, s), s, "calloc(1, %zu)", s);
		free(p);
		free(q);
	}
}
TEST_END

TEST_BEGIN(test_calloc_zero_sizes)
{
	void *a = calloc(0, 0), *b = calloc(0, 16), *c = calloc(16, 0);

	/* glibc returns unique pointers, as malloc(0) does. */
	expect_ptr_not_null(a);
	expect_ptr_not_null(b);
	expect_ptr_not_null(c);
	expect_true(a != b && b != c && a != c, "%p %p %p", a, b, c);
	free(a);
	free(b);
	free(c);
}
TEST_END

TEST_BEGIN(test_calloc_aligned)
{
	for (size_t i = 0; i < NR_SIZES; i++) {
		void *p = calloc(1, sizes[i]);

		assert_ptr_not_null(p);
		expect_lx_eq((uintptr_t)p & 15, 0, "calloc(1, %zu) = %p",
			     sizes[i], p);
		expect_zu_ge(malloc_usable_size(p), sizes[i]);
		free(p);
	}
}
TEST_END

int main(void)
{
	api_watchdog(180);
	return test_run(test_served_by_buddymalloc,
			test_calloc_reused_is_zero,
			test_calloc_after_mixed_frees,
			test_calloc_after_realloc_shrink,
			test_calloc_zero_sizes,
			test_calloc_aligned,
			NULL);
}
