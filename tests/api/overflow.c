/*
 * overflow.c - every failure path returns NULL with errno = ENOMEM
 * (posix_memalign returns ENOMEM, and sets errno), as glibc's do: sizes
 * that overflow in calloc's and reallocarray's multiplication, in rounding
 * to alignment or to pages, sizes above PTRDIFF_MAX, and sizes no machine
 * can provide. A failed realloc leaves the old block intact. free() never
 * changes errno.
 *
 * (glibc: malloc/tst-malloc-too-large.c, tst-free-errno.c.)
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"

#define MiB	((size_t)1 << 20)

/* Sizes pass through here so that the compiler neither warns about nor
 * reasons on constant impossible sizes. */
static size_t opaque(size_t n)
{
	__asm__ volatile("" : "+r"(n));
	return n;
}

/* gcc knows posix_memalign as a builtin that writes only *memptr: called
 * directly, errno after it would be read from before the call. */
static int (*volatile posix_memalign_opaque)(void **, size_t, size_t) =
	posix_memalign;

#define HALF_MAX	(SIZE_MAX / 2)
#define PTRDIFF_MAX_Z	((size_t)PTRDIFF_MAX)

/* Runs one allocation expression, expecting NULL and ENOMEM. */
#define expect_enomem(expr) do {					\
	void *r_;							\
	errno = 0;							\
	r_ = (expr);							\
	expect_ptr_null(r_, "%s", #expr);				\
	expect_d_eq(errno, ENOMEM, "errno after %s", #expr);		\
	free(r_);							\
} while (0)

TEST_BEGIN(test_malloc_impossible_sizes)
{
	expect_enomem(malloc(opaque(SIZE_MAX)));
	expect_enomem(malloc(opaque(SIZE_MAX - 15)));
	expect_enomem(malloc(opaque(SIZE_MAX - 4096)));
	expect_enomem(malloc(opaque(HALF_MAX + 1)));	/* PTRDIFF_MAX + 1 */
	expect_enomem(malloc(opaque(PTRDIFF_MAX_Z)));
	expect_enomem(malloc(opaque((size_t)1 << 62)));	/* beyond the VA space */
	expect_enomem(realloc(NULL, opaque(SIZE_MAX)));
	expect_enomem(realloc(NULL, opaque(HALF_MAX + 1)));
}
TEST_END

TEST_BEGIN(test_calloc_overflow)
{
	expect_enomem(calloc(opaque(HALF_MAX), 3));
	expect_enomem(calloc(3, opaque(HALF_MAX)));
	expect_enomem(calloc(opaque(SIZE_MAX), opaque(SIZE_MAX)));
	expect_enomem(calloc(opaque((size_t)1 << 32), opaque((size_t)1 << 32)));
	expect_enomem(calloc(opaque(((size_t)1 << 32) + 1), opaque((size_t)1 << 32)));
	expect_enomem(calloc(opaque(HALF_MAX / 8 + 1), 16));
	/* No overflow, but too big. */
	expect_enomem(calloc(1, opaque(SIZE_MAX)));
	expect_enomem(calloc(opaque(PTRDIFF_MAX_Z / 2 + 1), 2));
	expect_enomem(calloc(opaque((size_t)1 << 31), opaque((size_t)1 << 31)));
}
TEST_END

/* The block a failed realloc was given is untouched and still usable. */
TEST_BEGIN(test_realloc_overflow_keeps_block)
{
	const size_t n = 1000;
	char *p = malloc(n);

	assert_ptr_not_null(p);
	pattern_fill(p, n, 42);

	expect_enomem(realloc_opaque(p, opaque(SIZE_MAX)));
	expect_enomem(realloc_opaque(p, opaque(SIZE_MAX - 16)));
	expect_enomem(realloc_opaque(p, opaque(HALF_MAX + 1)));
	expect_enomem(realloc_opaque(p, opaque((size_t)1 << 62)));
	expect_enomem(reallocarray_opaque(p, opaque(HALF_MAX), 3));
	expect_enomem(reallocarray_opaque(p, opaque((size_t)1 << 32), opaque((size_t)1 << 32)));
	expect_enomem(reallocarray_opaque(p, 3, opaque(HALF_MAX)));
	expect_enomem(reallocarray(NULL, opaque(HALF_MAX), 3));
	expect_enomem(reallocarray(NULL, opaque(SIZE_MAX), opaque(SIZE_MAX)));

	expect_zu_eq(pattern_check(p, n, 42), n, "the old block changed");
	p = realloc_opaque(p, 2 * n);	/* and it still grows */
	assert_ptr_not_null(p);
	expect_zu_eq(pattern_check(p, n, 42), n);
	free(p);
}
TEST_END

/* A large block (a direct mapping or a page run) survives a failed
 * realloc too. */
TEST_BEGIN(test_realloc_overflow_keeps_large_block)
{
	const size_t n = 8 * MiB;
	char *p = malloc(n);

	assert_ptr_not_null(p);
	pattern_fill(p, n, 43);
	expect_enomem(realloc_opaque(p, opaque(SIZE_MAX - 4096)));
	expect_enomem(realloc_opaque(p, opaque((size_t)1 << 62)));
	expect_zu_eq(pattern_check(p, n, 43), n, "the old block changed");
	free(p);
}
TEST_END

TEST_BEGIN(test_memalign_family_huge)
{
	void *p;
	int rc;

	expect_enomem(memalign(64, opaque(SIZE_MAX)));
	expect_enomem(memalign(4096, opaque(SIZE_MAX - 4096)));
	expect_enomem(memalign(4 * MiB, opaque(SIZE_MAX - 2 * MiB)));
	expect_enomem(memalign(16, opaque(HALF_MAX + 1)));
	expect_enomem(memalign(4 * MiB, opaque(PTRDIFF_MAX_Z - MiB)));
	expect_enomem(memalign(opaque(HALF_MAX + 1), 64));	/* 2^63 */

	expect_enomem(aligned_alloc(64, opaque(SIZE_MAX)));
	expect_enomem(aligned_alloc(4096, opaque(SIZE_MAX - 4095)));
	expect_enomem(aligned_alloc(4 * MiB, opaque(HALF_MAX + 1)));

	expect_enomem(valloc(opaque(SIZE_MAX)));
	expect_enomem(valloc(opaque(SIZE_MAX - 4095)));
	expect_enomem(valloc(opaque(HALF_MAX + 1)));

	/* pvalloc rounds up to whole pages first: that sum overflows too. */
	expect_enomem(pvalloc(opaque(SIZE_MAX)));
	expect_enomem(pvalloc(opaque(SIZE_MAX - 4094)));
	expect_enomem(pvalloc(opaque(HALF_MAX + 1)));

	/* posix_memalign reports through its result, and in errno too (as
	 * glibc's _mid_memalign sets it). */
	static const struct {
		size_t align, size;
	} pm[] = {
		{ 64, SIZE_MAX },
		{ 4096, SIZE_MAX - 4096 },
		{ 4 << 20, SIZE_MAX - (1 << 20) },
		{ 16, HALF_MAX + 1 },
		{ HALF_MAX + 1, 64 },			/* alignment 2^63 */
	};
	for (size_t i = 0; i < sizeof(pm) / sizeof(pm[0]); i++) {
		p = (void *)pm;
		errno = 0;
		rc = posix_memalign_opaque(&p, opaque(pm[i].align),
					   opaque(pm[i].size));
		expect_d_eq(rc, ENOMEM, "posix_memalign(, %zu, %zu)",
			    pm[i].align, pm[i].size);
		expect_d_eq(errno, ENOMEM, "errno after posix_memalign(, %zu, "
			    "%zu)", pm[i].align, pm[i].size);
		if (rc == 0)
			free(p);
	}
}
TEST_END

/* An alignment beyond half the address space: glibc says EINVAL, which is
 * as good as ENOMEM here; what matters is NULL and an errno. */
TEST_BEGIN(test_memalign_absurd_alignment)
{
	void *p;

	errno = 0;
	p = memalign(opaque(SIZE_MAX), 16);
	expect_ptr_null(p);
	expect_true(errno == ENOMEM || errno == EINVAL, "errno %d", errno);
	free(p);
}
TEST_END

TEST_BEGIN(test_works_after_failures)
{
	void *p[64];

	for (int i = 0; i < 64; i++) {
		p[i] = malloc((size_t)i * 1000);
		assert_ptr_not_null(p[i]);
		errno = 0;
		expect_ptr_null(malloc(opaque(SIZE_MAX - (size_t)i)));
		expect_d_eq(errno, ENOMEM);
	}
	for (int i = 0; i < 64; i++)
		free(p[i]);
}
TEST_END

#define SENTINEL	0x5eed

/* free() keeps errno for every kind of block: small, page runs, direct
 * mappings, aligned, calloc'ed, reallocated, and NULL; also when the
 * free gives memory back to the OS (many large frees in a row). */
TEST_BEGIN(test_free_preserves_errno)
{
	static const size_t sizes[] = {
		0, 1, 16, 100, 1000, 4096, 100000, MiB, 4 * MiB, 5 * MiB,
		64 * MiB,
	};
	static void *many[256];
	void *p;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = malloc(sizes[i]);
		assert_ptr_not_null(p);
		memset(p, 1, sizes[i]);
		errno = SENTINEL;
		free(p);
		expect_d_eq(errno, SENTINEL, "free(malloc(%zu))", sizes[i]);

		p = calloc(1, sizes[i]);
		assert_ptr_not_null(p);
		errno = ENOMEM;
		free(p);
		expect_d_eq(errno, ENOMEM, "free(calloc(1, %zu))", sizes[i]);

		p = memalign(4096, sizes[i]);
		assert_ptr_not_null(p);
		errno = SENTINEL;
		free(p);
		expect_d_eq(errno, SENTINEL, "free(memalign(4096, %zu))",
			    sizes[i]);

		p = realloc(malloc(8), sizes[i] + 1);
		assert_ptr_not_null(p);
		errno = SENTINEL;
		free(p);
		expect_d_eq(errno, SENTINEL, "free(realloc(, %zu))", sizes[i] + 1);
	}

	errno = SENTINEL;
	free(NULL);
	expect_d_eq(errno, SENTINEL, "free(NULL)");

	/* 256 MiB in blocks of 1 MiB and 4 MiB + 1, freed in a row. */
	for (int i = 0; i < 256; i++) {
		many[i] = malloc(i % 4 ? MiB : 4 * MiB + 1);
		assert_ptr_not_null(many[i]);
		memset(many[i], 2, MiB);
	}
	for (int i = 0; i < 256; i++) {
		errno = SENTINEL;
		free(many[i]);
		if (errno != SENTINEL) {
			test_fail("errno %d after free of block %d", errno, i);
			break;
		}
	}
}
TEST_END

int main(void)
{
	api_watchdog(180);
	return test_run(test_served_by_buddymalloc,
			test_malloc_impossible_sizes,
			test_calloc_overflow,
			test_realloc_overflow_keeps_block,
			test_realloc_overflow_keeps_large_block,
			test_memalign_family_huge,
			test_memalign_absurd_alignment,
			test_works_after_failures,
			test_free_preserves_errno,
			NULL);
}
