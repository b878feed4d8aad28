/*
 * align.c - aligned allocation: posix_memalign, memalign, aligned_alloc,
 * valloc and pvalloc for alignments from 1 byte to 4 MiB, with glibc's
 * semantics: posix_memalign returns EINVAL for an alignment that is not a
 * power of two times sizeof(void *); memalign rounds an alignment that is
 * not a power of two up to the next one; no result is less than 16-byte
 * aligned; valloc and pvalloc align to the page and pvalloc rounds the size
 * up to whole pages.
 *
 * Every block is filled to its usable size, and all blocks of one function
 * stay live until the end of its test, so overlaps between aligned blocks
 * (whose leading and trailing slack the allocator must manage) show up.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_util.h"

#define KiB	((size_t)1 << 10)
#define MiB	((size_t)1 << 20)
#define MAX_ALIGN_SHIFT	22	/* 4 MiB */

/* Blocks of the running test, kept live until check_and_free_all(). */
#define MAX_LIVE	1024

static struct {
	void *p[MAX_LIVE];
	size_t usable[MAX_LIVE];
	struct interval iv[MAX_LIVE];
	size_t n;
} live;

static size_t page_size;

/*
 * Checks a result of an aligned allocation of size bytes at alignment
 * align (already the effective one), fills it and keeps it live.
 */
static void check_block(const char *what, void *p, size_t align, size_t size)
{
	size_t usable;

	if (p == NULL) {
		test_fail("%s = NULL (errno %d)", what, errno);
		return;
	}
	if (((uintptr_t)p & 15) != 0)
		test_fail("%s = %p is not 16-byte aligned", what, p);
	if (((uintptr_t)p & (align - 1)) != 0)
		test_fail("%s = %p is not aligned to %zu", what, p, align);
	usable = malloc_usable_size(p);
	if (usable < size)
		test_fail("%s: malloc_usable_size = %zu < %zu", what, usable,
			  size);
	if (live.n == MAX_LIVE) {
		test_fail("too many live blocks; raise MAX_LIVE");
		free(p);
		return;
	}
	pattern_fill(p, usable, live.n);
	live.p[live.n] = p;
	live.usable[live.n] = usable;
	live.n++;
}

static void check_and_free_all(void)
{
	size_t broken = 0;

	for (size_t i = 0; i < live.n; i++) {
		live.iv[i].start = (uintptr_t)live.p[i];
		live.iv[i].end = live.iv[i].start + live.usable[i];
		live.iv[i].index = i;
	}
	expect_zu_eq(intervals_overlaps(live.iv, live.n), 0,
		     "overlaps among %zu aligned blocks", live.n);
	for (size_t i = 0; i < live.n; i++) {
		size_t off = pattern_check(live.p[i], live.usable[i], i);

		if (off != live.usable[i] && broken++ < 5)
			test_fail("block %zu at %p: byte %zu of %zu changed", i,
				  live.p[i], off, live.usable[i]);
		free(live.p[i]);
	}
	expect_zu_eq(broken, 0);
	live.n = 0;
}

/* The sizes tried at each alignment: tiny, around the alignment, a few
 * alignments long (capped so 4 MiB alignment stays cheap). */
static size_t sizes_for(size_t align, size_t *out)
{
	size_t n = 0;

	out[n++] = 1;
	out[n++] = 16;
	if (align > 1)
		out[n++] = align - 1;
	out[n++] = align;
	out[n++] = align + 1;
	out[n++] = align < MiB ? 3 * align : align + 3 * 4096 + 5;
	return n;
}

/*
 * Every alignment from 1 to a page (memalign and aligned_alloc round one
 * that is not a power of two up; posix_memalign takes the valid ones)
 * with sizes from 0 to past the largest slab class: the block is aligned
 * to the effective alignment (at least 16), its usable size holds the
 * request, and that usable size is a multiple of the alignment (a slab
 * class whose objects are all aligned, or whole pages; with
 * hardening:redzone a small block's usable size is the request itself,
 * so not necessarily). Its first and last usable bytes are written (none
 * when the usable size is 0: malloc(0) under redzone). The small cases
 * take the inline path; the others kmalloc_aligned.
 */
TEST_BEGIN(test_every_alignment_to_a_page)
{
	static const size_t sizes[] = {
		0, 1, 15, 16, 17, 63, 64, 65, 100, 129, 255, 1000, 3000,
		4095, 4096, 4097, 5000, 12289, 20000, 32767, 32768, 32769,
		40000,
	};
	size_t bad = 0;
	bool exact = api_redzone();

	for (size_t align = 1; align <= page_size; align++) {
		size_t eff = align <= 16 ? 16 :
			     (size_t)1 << (64 - __builtin_clzl(align - 1));
		bool posix = align % sizeof(void *) == 0 &&
			     (align & (align - 1)) == 0;

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t size = sizes[i];
			void *p[3] = { memalign(align, size),
				       aligned_alloc(align, size), NULL };

			if (posix && posix_memalign(&p[2], align, size) != 0)
				p[2] = NULL;
			for (int k = 0; k < (posix ? 3 : 2); k++) {
				size_t usable = p[k] ? malloc_usable_size(p[k]) : 0;

				if (!p[k] || ((uintptr_t)p[k] & (eff - 1)) ||
				    usable < size ||
				    (usable % eff && !(exact && usable == size))) {
					if (bad++ < 10)
						test_fail("call %d align %zu size %zu: %p usable %zu",
							  k, align, size, p[k], usable);
					continue;
				}
				if (!usable)
					continue;
				((volatile char *)p[k])[0] = 1;
				((volatile char *)p[k])[usable - 1] = 1;
			}
			for (int k = 0; k < 3; k++)
				free(p[k]);
		}
	}
	expect_zu_eq(bad, 0);
}
TEST_END

TEST_BEGIN(test_posix_memalign_alignments)
{
	for (unsigned int shift = 3; shift <= MAX_ALIGN_SHIFT; shift++) {
		size_t align = (size_t)1 << shift, sizes[8];
		size_t n = sizes_for(align, sizes);

		for (size_t i = 0; i < n; i++) {
			char what[96];
			void *p = NULL;
			int rc = posix_memalign(&p, align, sizes[i]);

			snprintf(what, sizeof(what), "posix_memalign(, %zu, %zu)",
				 align, sizes[i]);
			expect_d_eq(rc, 0, "%s", what);
			if (rc == 0)
				check_block(what, p, align, sizes[i]);
		}
	}
	check_and_free_all();
}
TEST_END

TEST_BEGIN(test_posix_memalign_einval)
{
	static const size_t bad[] = {
		0, 1, 2, 4,			/* less than sizeof(void *) */
		3, 12, 24, 48, 100, 4095, 4097,	/* not powers of two */
		3 * MiB, ((size_t)1 << 22) + 8,
		SIZE_MAX, SIZE_MAX / 2,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = (void *)&bad;	/* must stay unchanged */
		int rc = posix_memalign(&p, bad[i], 64);

		expect_d_eq(rc, EINVAL, "posix_memalign(, %zu, 64)", bad[i]);
		if (rc == 0)
			free(p);
		else
			expect_ptr_eq(p, (void *)&bad,
				      "posix_memalign(, %zu, 64) wrote *memptr",
				      bad[i]);
	}
}
TEST_END

TEST_BEGIN(test_posix_memalign_size_zero)
{
	void *p = NULL;

	/* Size 0: success with NULL or with a pointer free() accepts. */
	expect_d_eq(posix_memalign(&p, 64, 0), 0);
	if (p != NULL)
		expect_lx_eq((uintptr_t)p & 63, 0, "%p", p);
	free(p);
}
TEST_END

TEST_BEGIN(test_memalign_alignments)
{
	for (unsigned int shift = 0; shift <= MAX_ALIGN_SHIFT; shift++) {
		size_t align = (size_t)1 << shift, sizes[8];
		size_t n = sizes_for(align, sizes);

		for (size_t i = 0; i < n; i++) {
			char what[96];

			snprintf(what, sizeof(what), "memalign(%zu, %zu)",
				 align, sizes[i]);
			check_block(what, memalign(align, sizes[i]),
				    align < 16 ? 16 : align, sizes[i]);
		}
	}
	check_and_free_all();
}
TEST_END

/* glibc rounds an alignment that is not a power of two up to the next
 * power of two (and alignment 0 means "no alignment"). */
TEST_BEGIN(test_memalign_rounds_up)
{
	static const struct {
		size_t align, effective;
	} cases[] = {
		{ 0, 16 }, { 3, 16 }, { 24, 32 }, { 48, 64 }, { 100, 128 },
		{ 1000, 1024 }, { 4095, 4096 }, { 4097, 8192 },
		{ 12288, 16384 }, { 3 * MiB, 4 * MiB },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t size = 1; size <= 3 * cases[i].effective;
		     size += cases[i].effective + 7) {
			char what[96];

			snprintf(what, sizeof(what), "memalign(%zu, %zu)",
				 cases[i].align, size);
			check_block(what, memalign(cases[i].align, size),
				    cases[i].effective, size);
		}
	}
	check_and_free_all();
}
TEST_END

TEST_BEGIN(test_aligned_alloc_alignments)
{
	for (unsigned int shift = 0; shift <= MAX_ALIGN_SHIFT; shift++) {
		size_t align = (size_t)1 << shift;
		/* Multiples of the alignment (C11), and size 1 (C17 and
		 * glibc accept any size). */
		size_t sizes[] = { align, 2 * align, 1 };
		size_t n = align <= 4 * KiB ? 3 : 2;

		if (align >= 2 * MiB)
			n = 1;
		for (size_t i = 0; i < n; i++) {
			char what[96];

			snprintf(what, sizeof(what), "aligned_alloc(%zu, %zu)",
				 align, sizes[i]);
			check_block(what, aligned_alloc(align, sizes[i]),
				    align < 16 ? 16 : align, sizes[i]);
		}
	}
	check_and_free_all();
}
TEST_END

TEST_BEGIN(test_valloc)
{
	static const size_t sizes[] = {
		1, 16, 100, 4095, 4096, 4097, 10000, 65536, MiB + 1, 5 * MiB,
	};
	void *p;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "valloc(%zu)", sizes[i]);
		check_block(what, valloc(sizes[i]), page_size, sizes[i]);
	}
	check_and_free_all();

	p = valloc(0);	/* NULL or a page-aligned pointer free() accepts */
	if (p != NULL)
		expect_lx_eq((uintptr_t)p & (page_size - 1), 0, "valloc(0) = %p",
			     p);
	free(p);
}
TEST_END

TEST_BEGIN(test_pvalloc)
{
	static const size_t sizes[] = {
		1, 16, 100, 4095, 4096, 4097, 10000, 65536, MiB + 1, 5 * MiB,
	};
	void *p;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t rounded = (sizes[i] + page_size - 1) & ~(page_size - 1);
		char what[64];

		/* pvalloc's usable size is the size rounded up to pages. */
		snprintf(what, sizeof(what), "pvalloc(%zu)", sizes[i]);
		check_block(what, pvalloc(sizes[i]), page_size, rounded);
	}
	check_and_free_all();

	p = pvalloc(0);
	if (p != NULL)
		expect_lx_eq((uintptr_t)p & (page_size - 1), 0,
			     "pvalloc(0) = %p", p);
	free(p);
}
TEST_END

/* Several blocks at the largest alignment live at once, with small
 * blocks allocated between them. */
TEST_BEGIN(test_many_max_aligned)
{
	const size_t align = (size_t)1 << MAX_ALIGN_SHIFT;
	void *small[8];

	for (int i = 0; i < 8; i++) {
		char what[64];

		snprintf(what, sizeof(what), "memalign(%zu, %zu) #%d", align,
			 align, i);
		check_block(what, memalign(align, align), align, align);
		small[i] = malloc(100);
		assert_ptr_not_null(small[i]);
	}
	check_and_free_all();
	for (int i = 0; i < 8; i++)
		free(small[i]);
}
TEST_END

int main(void)
{
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	api_watchdog(180);
	return test_run(test_served_by_buddymalloc,
			test_posix_memalign_alignments,
			test_posix_memalign_einval,
			test_posix_memalign_size_zero,
			test_memalign_alignments,
			test_memalign_rounds_up,
			test_aligned_alloc_alignments,
			test_valloc,
			test_pvalloc,
			test_many_max_aligned,
			test_every_alignment_to_a_page,
			NULL);
}
