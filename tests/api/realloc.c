/*
 * realloc.c - realloc and reallocarray keep contents across every kind of
 * move: within a size class, between classes, from slab objects to page
 * runs to direct mappings and back, growing and shrinking, in place or not.
 * glibc's edge cases: realloc(NULL, n) is malloc(n); realloc(p, 0) frees p
 * and returns NULL (so does reallocarray(p, 0, n)).
 *
 * Each block carries the position-based pattern of one key (api_util.h),
 * so after every step the first min(old, new) bytes must still match, and
 * the block is then filled to its new size for the next step.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"

#define KiB	((size_t)1 << 10)
#define MiB	((size_t)1 << 20)

static const size_t chain[] = {
	1, 8, 15, 16, 17, 31, 100, 128, 129, 1000, 2048, 4095, 4096, 4097,
	16 * KiB, 64 * KiB, 100 * KiB + 3, MiB, 2 * MiB + 1, 4 * MiB,
	4 * MiB + 4096, 5 * MiB, 16 * MiB, 64 * MiB + 1, 100 * MiB,
};
#define CHAIN_LEN	(sizeof(chain) / sizeof(chain[0]))

/*
 * One realloc step on a patterned block of *size bytes; returns the new
 * block (or NULL after a failed check, with the old one freed).
 */
static void *step(void *p, size_t *size, size_t new_size, uint64_t key)
{
	size_t keep = *size < new_size ? *size : new_size, off;
	unsigned long old = (unsigned long)(uintptr_t)p;	/* for messages */
	void *q = realloc(p, new_size);

	if (q == NULL) {
		test_fail("realloc(%#lx, %zu) from %zu failed", old, new_size,
			  *size);
		free(p);
		return NULL;
	}
	if (((uintptr_t)q & 15) != 0)
		test_fail("realloc(, %zu) = %p is not 16-byte aligned",
			  new_size, q);
	if (malloc_usable_size(q) < new_size)
		test_fail("realloc(, %zu): usable %zu", new_size,
			  malloc_usable_size(q));
	off = pattern_check(q, keep, key);
	if (off != keep)
		test_fail("realloc %zu -> %zu (%#lx -> %p): byte %zu of %zu lost",
			  *size, new_size, old, q, off, keep);
	pattern_fill(q, new_size, key);
	*size = new_size;
	return q;
}

TEST_BEGIN(test_realloc_chain_up_and_down)
{
	size_t size = chain[0];
	void *p = malloc(size);

	assert_ptr_not_null(p);
	pattern_fill(p, size, 1);
	for (size_t i = 1; i < CHAIN_LEN && p; i++)
		p = step(p, &size, chain[i], 1);
	for (size_t i = CHAIN_LEN - 1; i-- > 0 && p; )
		p = step(p, &size, chain[i], 1);
	free(p);
}
TEST_END

/* The transitions between the allocator's tiers, each way, directly:
 * small <-> page run <-> direct mapping. */
TEST_BEGIN(test_realloc_across_tiers)
{
	static const size_t tiers[][4] = {
		{ 100, 8 * KiB, 32 * MiB, 100 },
		{ 100, 32 * MiB, 8 * KiB, 100 },
		{ 32 * MiB, 100, 8 * KiB, 32 * MiB },
		{ 8 * KiB, 100, 32 * MiB, 8 * KiB },
		{ 3000, 3 * MiB, 6 * MiB, 3000 },
	};

	for (size_t t = 0; t < sizeof(tiers) / sizeof(tiers[0]); t++) {
		size_t size = tiers[t][0];
		void *p = malloc(size);

		assert_ptr_not_null(p);
		pattern_fill(p, size, 10 + t);
		for (int i = 1; i < 4 && p; i++)
			p = step(p, &size, tiers[t][i], 10 + t);
		free(p);
	}
}
TEST_END

/* Four chains grow in turns with small blocks allocated in between, so
 * in-place growth is sometimes impossible and blocks must move. */
TEST_BEGIN(test_realloc_interleaved_chains)
{
	void *p[4], *pins[4 * CHAIN_LEN];
	size_t size[4];
	size_t npins = 0;

	for (int c = 0; c < 4; c++) {
		size[c] = chain[0];
		p[c] = malloc(size[c]);
		assert_ptr_not_null(p[c]);
		pattern_fill(p[c], size[c], 20 + (uint64_t)c);
	}
	for (size_t i = 1; i < CHAIN_LEN - 2; i++) {
		for (int c = 0; c < 4; c++) {
			p[c] = step(p[c], &size[c], chain[i], 20 + (uint64_t)c);
			assert_ptr_not_null(p[c]);
			pins[npins] = malloc(chain[i] / 2 + 1);
			assert_ptr_not_null(pins[npins]);
			npins++;
		}
	}
	for (int c = 0; c < 4; c++) {
		expect_zu_eq(pattern_check(p[c], size[c], 20 + (uint64_t)c),
			     size[c], "chain %d", c);
		free(p[c]);
	}
	for (size_t i = 0; i < npins; i++)
		free(pins[i]);
}
TEST_END

/* A random walk of sizes on 16 live blocks. */
TEST_BEGIN(test_realloc_random_walk)
{
	uint64_t rng = test_seed(0x4ea11c);
	void *p[16];
	size_t size[16];

	for (int i = 0; i < 16; i++) {
		size[i] = 1 + (size_t)rand_below(&rng, 64);
		p[i] = malloc(size[i]);
		assert_ptr_not_null(p[i]);
		pattern_fill(p[i], size[i], 100 + (uint64_t)i);
	}
	for (int n = 0; n < 2000; n++) {
		int i = (int)rand_below(&rng, 16);
		/* log-uniform up to 8 MiB, mostly small */
		unsigned int bits = (unsigned int)rand_below(&rng, 24);
		size_t new_size = 1 + (size_t)rand_below(&rng, (uint64_t)1 << bits);

		p[i] = step(p[i], &size[i], new_size, 100 + (uint64_t)i);
		assert_ptr_not_null(p[i], "step %d", n);
	}
	for (int i = 0; i < 16; i++)
		free(p[i]);
}
TEST_END

static size_t in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* realloc(p, 0) frees p and returns NULL (glibc; C23 leaves it open). */
TEST_BEGIN(test_realloc_zero_frees)
{
	static const size_t sizes[] = { 1, 100, 4096, MiB, 8 * MiB };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]);

		assert_ptr_not_null(p);
		memset(p, 3, sizes[i]);
		expect_ptr_null(realloc(p, 0), "realloc(malloc(%zu), 0)",
				sizes[i]);
	}

	/* The block really went away: mallinfo2 shows the memory released. */
	size_t before = in_use();
	void *big = malloc(64 * MiB);

	assert_ptr_not_null(big);
	memset(big, 4, 64 * MiB);
	size_t held = in_use();

	expect_ptr_null(realloc(big, 0));
	size_t after = in_use();

	expect_zu_ge(held, before + 64 * MiB,
		     "mallinfo2 does not show a 64 MiB block (before %zu)",
		     before);
	expect_zu_le(after, held - 32 * MiB,
		     "realloc(p, 0) of 64 MiB: in use %zu -> %zu -> %zu",
		     before, held, after);
}
TEST_END

/* realloc of malloc(0), whose usable size may be 0 (hardening:redzone):
 * a block like any other, its contents none, the new one whole. Under
 * memcheck (tests/valgrind.sh) the new block must be one memcheck knows,
 * or the free at the end is an invalid free. */
TEST_BEGIN(test_realloc_from_zero)
{
	static const size_t sizes[] = { 1, 100, 5000, MiB };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(0);
		unsigned char *q;

		assert_ptr_not_null(p);
		q = realloc(p, sizes[i]);
		assert_ptr_not_null(q, "realloc(malloc(0), %zu)", sizes[i]);
		memset(q, 7, sizes[i]);
		expect_zu_ge(malloc_usable_size(q), sizes[i]);
		expect_d_eq(q[sizes[i] - 1], 7);
		free(q);
	}
}
TEST_END

TEST_BEGIN(test_realloc_null_is_malloc)
{
	static const size_t sizes[] = { 0, 1, 17, 4096, 100000, 8 * MiB };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = realloc(NULL, sizes[i]);

		assert_ptr_not_null(p, "realloc(NULL, %zu)", sizes[i]);
		expect_lx_eq((uintptr_t)p & 15, 0, "realloc(NULL, %zu)",
			     sizes[i]);
		expect_zu_ge(malloc_usable_size(p), sizes[i]);
		memset(p, 5, sizes[i]);
		free(p);
	}
}
TEST_END

TEST_BEGIN(test_reallocarray)
{
	size_t size = 10 * 100;
	void *p = reallocarray(NULL, 10, 100);

	assert_ptr_not_null(p);
	expect_zu_ge(malloc_usable_size(p), 1000);
	pattern_fill(p, size, 7);

	p = reallocarray(p, 1000, 1000);	/* grow to ~1 MB */
	assert_ptr_not_null(p);
	expect_zu_eq(pattern_check(p, size, 7), size);
	size = 1000 * 1000;
	pattern_fill(p, size, 7);

	p = reallocarray(p, 3, 7);		/* shrink to 21 bytes */
	assert_ptr_not_null(p);
	expect_zu_eq(pattern_check(p, 21, 7), 21);

	p = reallocarray(p, 3 * MiB, 4);	/* grow to 12 MiB */
	assert_ptr_not_null(p);
	expect_zu_eq(pattern_check(p, 21, 7), 21);

	/* A zero product is realloc(p, 0): frees and returns NULL. */
	expect_ptr_null(reallocarray(p, 0, 16));
}
TEST_END

/* Aligned blocks reallocate like any other, contents kept. */
TEST_BEGIN(test_realloc_aligned_blocks)
{
	static const struct {
		size_t align, size, to1, to2;
	} cases[] = {
		{ 64, 100, 5000, 10 },
		{ 4096, 100, MiB, 100 },
		{ 65536, 65536, 3 * 65536, 1 },
		{ 2 * MiB, 2 * MiB, 8 * MiB, 4096 },
		{ 4 * MiB, 4 * MiB, 6 * MiB, 3 * MiB },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t size = cases[i].size;
		void *p = memalign(cases[i].align, size);

		assert_ptr_not_null(p, "memalign(%zu, %zu)", cases[i].align,
				    size);
		pattern_fill(p, size, 30 + i);
		p = step(p, &size, cases[i].to1, 30 + i);
		if (p)
			p = step(p, &size, cases[i].to2, 30 + i);
		free(p);
	}
}
TEST_END

/* Same size, and every size one byte at a time across the small classes. */
TEST_BEGIN(test_realloc_byte_by_byte)
{
	size_t size = 1;
	void *p = malloc(size);

	assert_ptr_not_null(p);
	pattern_fill(p, size, 50);
	while (p && size < 5000)
		p = step(p, &size, size + 1, 50);
	while (p && size > 1)
		p = step(p, &size, size - 1, 50);
	if (p)
		p = step(p, &size, size, 50);
	free(p);
}
TEST_END

/*
 * Page-level blocks growing and shrinking by less than a page at a time
 * (a buffer appended to): most steps stay on the same pages, which
 * realloc must only accept while the new size fits them; the usable size
 * and the contents are checked after every step.
 */
TEST_BEGIN(test_realloc_page_level_small_steps)
{
	size_t size = 32 * KiB + 1;
	void *p = malloc(size);

	assert_ptr_not_null(p);
	pattern_fill(p, size, 60);
	while (p && size < 300 * KiB)
		p = step(p, &size, size + 1000, 60);
	while (p && size > 33 * KiB)
		p = step(p, &size, size - 1000, 60);
	free(p);
}
TEST_END

/*
 * A block that realloc grows to a megabyte or more becomes a direct
 * mapping (stats.huge_allocated counts it), so that further growth needs
 * no copy; shrunk, it stays one, in place.
 */
TEST_BEGIN(test_realloc_grown_to_mapping)
{
	struct heap_stats st0, st;
	size_t size = 600 * KiB;
	void *p, *q;

	/* Before the block: under hardening:guard it is a mapping already. */
	assert_true(heap_stats_read(&st0));
	p = malloc(size);
	assert_ptr_not_null(p);
	pattern_fill(p, size, 70);
	p = step(p, &size, 1536 * KiB, 70);
	assert_ptr_not_null(p);
	assert_true(heap_stats_read(&st));
	expect_zu_ge(st.huge_allocated, st0.huge_allocated + 1536 * KiB,
		     "grown past 1 MiB: a mapping");
	q = p;
	p = step(p, &size, 1200 * KiB, 70);
	assert_ptr_not_null(p);
	expect_ptr_eq(p, q, "shrunk in place");
	assert_true(heap_stats_read(&st));
	expect_zu_ge(st.huge_allocated, st0.huge_allocated + 1200 * KiB,
		     "still a mapping");
	p = step(p, &size, 6 * MiB, 70);
	free(p);
}
TEST_END

int main(void)
{
	api_watchdog(180);
	return test_run(test_served_by_buddymalloc,
			test_realloc_chain_up_and_down,
			test_realloc_across_tiers,
			test_realloc_interleaved_chains,
			test_realloc_random_walk,
			test_realloc_zero_frees,
			test_realloc_from_zero,
			test_realloc_null_is_malloc,
			test_reallocarray,
			test_realloc_aligned_blocks,
			test_realloc_byte_by_byte,
			test_realloc_page_level_small_steps,
			test_realloc_grown_to_mapping,
			NULL);
}
