/*
 * sizes.c - malloc for every size class from 0 bytes to 100 MiB: results
 * are 16-byte aligned (malloc(1) included), usable to malloc_usable_size()
 * and never overlap while live; malloc(0) returns unique pointers;
 * malloc_usable_size(NULL) == 0; free(NULL) does nothing.
 *
 * Content checks fill the whole usable size, so a block that extends into a
 * neighbour, or metadata stored in band, shows up as a broken pattern.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"

#define MiB	((size_t)1 << 20)

struct block {
	void *p;
	size_t size;		/* requested */
	size_t usable;
};

/*
 * The sizes of test_sizes_live_no_overlap: every size 0..2048, each power of
 * two 2^11..2^26 and its neighbours, a few odd large sizes up to 100 MiB,
 * and random sizes spread evenly over the orders of magnitude up to 64 KiB.
 */
#define NR_RANDOM	5000

static size_t build_sizes(size_t *sizes, uint64_t *rng)
{
	size_t n = 0;

	for (size_t s = 0; s <= 2048; s++)
		sizes[n++] = s;
	for (unsigned int k = 11; k <= 26; k++) {
		sizes[n++] = ((size_t)1 << k) - 1;
		sizes[n++] = (size_t)1 << k;
		sizes[n++] = ((size_t)1 << k) + 1;
	}
	sizes[n++] = 3 * MiB + 17;
	sizes[n++] = 5 * MiB - 4096;
	sizes[n++] = 100 * MiB;
	for (int i = 0; i < NR_RANDOM; i++) {
		unsigned int bits = 1 + (unsigned int)rand_below(rng, 16);

		sizes[n++] = 1 + (size_t)rand_below(rng, (uint64_t)1 << bits);
	}
	return n;
}

#define MAX_SIZES	(2049 + 3 * 16 + 3 + NR_RANDOM)

static size_t sizes[MAX_SIZES];
static struct block blocks[MAX_SIZES];
static struct interval ivs[MAX_SIZES];

TEST_BEGIN(test_sizes_live_no_overlap)
{
	uint64_t rng = test_seed(0x5eed51e5);
	size_t n = build_sizes(sizes, &rng);
	size_t misaligned = 0, short_usable = 0, broken = 0;

	/* Allocate everything first, so all of it is live at once. */
	for (size_t i = 0; i < n; i++) {
		struct block *b = &blocks[i];

		b->size = sizes[i];
		b->p = malloc(b->size);
		assert_ptr_not_null(b->p, "malloc(%zu)", b->size);
		b->usable = malloc_usable_size(b->p);
		if (((uintptr_t)b->p & 15) != 0 && misaligned++ < 5)
			test_fail("malloc(%zu) = %p is not 16-byte aligned",
				  b->size, b->p);
		if (b->usable < b->size && short_usable++ < 5)
			test_fail("malloc_usable_size(malloc(%zu)) = %zu",
				  b->size, b->usable);
		pattern_fill(b->p, b->usable, i);
	}

	for (size_t i = 0; i < n; i++) {
		ivs[i].start = (uintptr_t)blocks[i].p;
		ivs[i].end = ivs[i].start + blocks[i].usable;
		ivs[i].index = i;
	}
	expect_zu_eq(intervals_overlaps(ivs, n), 0,
		     "overlapping blocks among %zu live ones", n);

	for (size_t i = 0; i < n; i++) {
		struct block *b = &blocks[i];
		size_t off = pattern_check(b->p, b->usable, i);

		if (off != b->usable && broken++ < 5)
			test_fail("malloc(%zu) = %p: byte %zu of %zu changed",
				  b->size, b->p, off, b->usable);
	}
	expect_zu_eq(misaligned, 0);
	expect_zu_eq(short_usable, 0);
	expect_zu_eq(broken, 0);

	/* Free in a random order; every block is whole until its turn. */
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rand_below(&rng, i);
		struct block t = blocks[i - 1];

		blocks[i - 1] = blocks[j];
		blocks[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		free(blocks[i].p);
}
TEST_END

/* Alignment of each size on its own, allocated and freed one at a time
 * (the reuse path), and while many of one size are live (the fresh path). */
TEST_BEGIN(test_alignment_every_size)
{
	static void *live[256];
	size_t bad = 0;

	for (size_t s = 0; s <= 65536; s += (s < 4096 ? 1 : 61)) {
		void *p = malloc(s);

		assert_ptr_not_null(p, "malloc(%zu)", s);
		if (((uintptr_t)p & 15) != 0 && bad++ < 5)
			test_fail("malloc(%zu) = %p", s, p);
		free(p);
	}
	for (size_t s = 1; s <= 1024; s = s < 64 ? s + 1 : s * 2) {
		for (int i = 0; i < 256; i++) {
			live[i] = malloc(s);
			assert_ptr_not_null(live[i], "malloc(%zu)", s);
			if (((uintptr_t)live[i] & 15) != 0 && bad++ < 5)
				test_fail("malloc(%zu) = %p (%d live)", s,
					  live[i], i);
		}
		for (int i = 0; i < 256; i++)
			free(live[i]);
	}
	expect_zu_eq(bad, 0, "misaligned results");
}
TEST_END

TEST_BEGIN(test_malloc_one_aligned)
{
	void *p[64];

	for (int i = 0; i < 64; i++) {
		p[i] = malloc(1);
		assert_ptr_not_null(p[i]);
		expect_lx_eq((uintptr_t)p[i] & 15, 0, "malloc(1) #%d = %p", i,
			     p[i]);
		*(volatile char *)p[i] = (char)i;
	}
	for (int i = 0; i < 64; i++)
		free(p[i]);
}
TEST_END

#define NR_ZERO	1000

TEST_BEGIN(test_malloc_zero_unique)
{
	static struct interval iv[NR_ZERO];
	static void *p[NR_ZERO];
	size_t same = 0, overlaps;

	for (size_t i = 0; i < NR_ZERO; i++) {
		p[i] = malloc(0);
		assert_ptr_not_null(p[i], "malloc(0) #%zu", i);
		expect_lx_eq((uintptr_t)p[i] & 15, 0, "malloc(0) = %p", p[i]);
		iv[i].start = (uintptr_t)p[i];
		iv[i].end = iv[i].start + malloc_usable_size(p[i]);
		iv[i].index = i;
	}
	overlaps = intervals_overlaps(iv, NR_ZERO);
	/* Unique even if usable sizes were 0: compare the (sorted) starts. */
	for (size_t i = 1; i < NR_ZERO; i++)
		if (iv[i].start == iv[i - 1].start)
			same++;
	expect_zu_eq(same, 0, "malloc(0) returned a pointer twice");
	expect_zu_eq(overlaps, 0);
	for (size_t i = 0; i < NR_ZERO; i++)
		free(p[i]);
}
TEST_END

TEST_BEGIN(test_usable_size_writable)
{
	static const size_t probe[] = {
		0, 1, 8, 15, 16, 17, 24, 100, 128, 129, 1000, 4095, 4096, 4097,
		10000, 65536, 100000, 1 * MiB - 1, 1 * MiB, 2 * MiB + 1,
		4 * MiB, 4 * MiB + 1, 16 * MiB + 3,
	};
	const size_t n = sizeof(probe) / sizeof(probe[0]);
	void *p[sizeof(probe) / sizeof(probe[0])];
	size_t usable[sizeof(probe) / sizeof(probe[0])];

	expect_zu_eq(malloc_usable_size(NULL), 0);
	/* Neighbours are allocated after each block is filled to its end,
	 * then every block is checked: writes past a block's real end would
	 * have landed in a neighbour or in metadata. */
	for (size_t i = 0; i < n; i++) {
		p[i] = malloc(probe[i]);
		assert_ptr_not_null(p[i], "malloc(%zu)", probe[i]);
		usable[i] = malloc_usable_size(p[i]);
		expect_zu_ge(usable[i], probe[i], "malloc(%zu)", probe[i]);
		/* Size classes waste at most a quarter of a request; pages
		 * round up by less than a page. */
		expect_zu_le(usable[i], probe[i] + probe[i] / 4 + 4096,
			     "malloc(%zu)", probe[i]);
		pattern_fill(p[i], usable[i], 1000 + i);
	}
	for (size_t i = 0; i < n; i++) {
		expect_zu_eq(pattern_check(p[i], usable[i], 1000 + i),
			     usable[i], "malloc(%zu), usable %zu", probe[i],
			     usable[i]);
		expect_zu_eq(malloc_usable_size(p[i]), usable[i],
			     "usable size of malloc(%zu) changed", probe[i]);
		free(p[i]);
	}
}
TEST_END

TEST_BEGIN(test_free_null)
{
	free(NULL);
	free(NULL);
	/* And the allocator still works afterwards. */
	void *p = malloc(32);

	assert_ptr_not_null(p);
	free(p);
	free(NULL);
}
TEST_END

#define NR_SMALL	100000

/* Many small live blocks, twice: fresh memory, then reused memory. */
TEST_BEGIN(test_many_small_blocks)
{
	static struct block b[NR_SMALL];
	static struct interval iv[NR_SMALL];
	uint64_t rng = test_seed(0x5a11);

	for (int round = 0; round < 2; round++) {
		size_t broken = 0;

		for (size_t i = 0; i < NR_SMALL; i++) {
			b[i].size = 1 + (size_t)rand_below(&rng, 256);
			b[i].p = malloc(b[i].size);
			assert_ptr_not_null(b[i].p, "malloc(%zu)", b[i].size);
			b[i].usable = malloc_usable_size(b[i].p);
			pattern_fill(b[i].p, b[i].usable, i * 2 + (size_t)round);
			iv[i].start = (uintptr_t)b[i].p;
			iv[i].end = iv[i].start + b[i].usable;
			iv[i].index = i;
		}
		expect_zu_eq(intervals_overlaps(iv, NR_SMALL), 0, "round %d",
			     round);
		for (size_t i = 0; i < NR_SMALL; i++)
			if (pattern_check(b[i].p, b[i].usable,
					  i * 2 + (size_t)round) != b[i].usable &&
			    broken++ < 5)
				test_fail("round %d: malloc(%zu) = %p changed",
					  round, b[i].size, b[i].p);
		expect_zu_eq(broken, 0, "round %d", round);
		/* Free every other block first, then the rest. */
		for (size_t i = 0; i < NR_SMALL; i += 2)
			free(b[i].p);
		for (size_t i = 1; i < NR_SMALL; i += 2)
			free(b[i].p);
	}
}
TEST_END

int main(void)
{
	api_watchdog(180);
	return test_run(test_served_by_buddymalloc,
			test_sizes_live_no_overlap,
			test_alignment_every_size,
			test_malloc_one_aligned,
			test_malloc_zero_unique,
			test_usable_size_writable,
			test_free_null,
			test_many_small_blocks,
			NULL);
}
