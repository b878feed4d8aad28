/*
 * huge.c - direct mappings above the largest buddy block (core/huge.c):
 * allocation, alignment up to 64 MiB, realloc that grows and shrinks
 * keeping contents, failure that leaves the block intact, lookups of
 * pointers that are not ours, and the hash table under many blocks.
 */
#include <sys/mman.h>

#include "unit_util.h"

#define MiB	(1UL << 20)

/* One byte per page: enough to see a move go wrong without touching
 * every byte of 100 MiB. */
static void fill(void *p, size_t size, unsigned char seed)
{
	for (size_t off = 0; off < size; off += PAGE_SIZE)
		((unsigned char *)p)[off] = (unsigned char)(seed + off / PAGE_SIZE);
}

static bool filled(const void *p, size_t size, unsigned char seed)
{
	for (size_t off = 0; off < size; off += PAGE_SIZE)
		if (((const unsigned char *)p)[off] !=
		    (unsigned char)(seed + off / PAGE_SIZE))
			return false;
	return true;
}

/* Does the whole range [p, p + size) belong to one live mapping? mincore
 * fails with ENOMEM on any unmapped page. */
static bool mapped(const void *p, size_t size)
{
	static unsigned char vec[(256 * MiB) / 4096];

	return mincore((void *)p, size, vec) == 0;
}

static void huge_counts(size_t *bytes, size_t *count)
{
	huge_stats(bytes, count);
}

TEST_BEGIN(test_alloc_free)
{
	size_t bytes, count, size = 5 * MiB + 123;
	void *p = huge_alloc(size, 0, 0);

	assert_ptr_not_null(p);
	expect_lx_eq((uintptr_t)p & (PAGE_SIZE - 1), 0, "page aligned");
	expect_zu_eq(huge_usable_size(p), 5 * MiB + PAGE_SIZE, "rounded to pages");
	expect_ptr_null(virt_to_page(p), "not in the section table");
	expect_true(mapped(p, huge_usable_size(p)));
	huge_counts(&bytes, &count);
	expect_zu_eq(count, 1);
	expect_zu_eq(bytes, 5 * MiB + PAGE_SIZE);

	/* Fresh mappings are zero, so __GFP_ZERO costs nothing. */
	for (size_t i = 0; i < huge_usable_size(p); i += 512)
		if (((unsigned char *)p)[i]) {
			test_fail("byte %zu not zero", i);
			break;
		}
	fill(p, size, 7);
	expect_true(filled(p, size, 7));

	expect_true(huge_free(p), "free");
	expect_zu_eq(huge_usable_size(p), 0, "gone");
	expect_false(huge_free(p), "a second free is caught");
	huge_counts(&bytes, &count);
	expect_zu_eq(count, 0);
	expect_zu_eq(bytes, 0);
	/* Freed into the cache of mappings: still mapped until drained. */
	huge_cache_stats(&bytes, &count);
	expect_zu_eq(count, 1, "cached");
	expect_zu_eq(bytes, 5 * MiB + PAGE_SIZE);
	expect_true(mapped(p, PAGE_SIZE), "cached: still mapped");
	expect_lu_eq(huge_cache_drain(), (5 * MiB + PAGE_SIZE) >> PAGE_SHIFT);
	expect_false(mapped(p, PAGE_SIZE), "unmapped once drained");
	huge_cache_stats(&bytes, &count);
	expect_zu_eq(count, 0);
	expect_zu_eq(bytes, 0);

	p = huge_alloc(8 * MiB, 0, __GFP_ZERO | __GFP_MOVABLE);
	assert_ptr_not_null(p);
	expect_d_eq(((char *)p)[8 * MiB - 1], 0, "zeroed");
	expect_true(huge_free(p));
}
TEST_END

TEST_BEGIN(test_alignment)
{
	for (size_t align = 1; align <= 64 * MiB; align <<= 1) {
		size_t size = 4 * MiB + 1;
		void *p = huge_alloc(size, align, 0);

		assert_ptr_not_null(p, "align %zu", align);
		expect_lx_eq((uintptr_t)p & (align - 1), 0, "align %zu", align);
		expect_lx_eq((uintptr_t)p & (PAGE_SIZE - 1), 0, "align %zu", align);
		expect_zu_eq(huge_usable_size(p), 4 * MiB + PAGE_SIZE,
			     "align %zu: the trimmed mapping is the block", align);
		expect_true(mapped(p, huge_usable_size(p)));
		fill(p, size, (unsigned char)align);
		expect_true(huge_free(p), "align %zu", align);
	}

	errno = 0;
	expect_ptr_null(huge_alloc(5 * MiB, 3 * PAGE_SIZE, 0), "not a power of two");
	expect_d_eq(errno, EINVAL);
}
TEST_END

TEST_BEGIN(test_impossible)
{
	size_t bytes, count;

	errno = 0;
	expect_ptr_null(huge_alloc(SIZE_MAX, 0, 0));
	expect_d_eq(errno, ENOMEM);
	errno = 0;
	expect_ptr_null(huge_alloc(SIZE_MAX - 2 * MiB, 0, 0));
	expect_d_eq(errno, ENOMEM);
	errno = 0;
	expect_ptr_null(huge_alloc((size_t)1 << 62, 0, 0), "beyond the address space");
	expect_d_eq(errno, ENOMEM);
	errno = 0;
	expect_ptr_null(huge_alloc(5 * MiB, (size_t)1 << 62, 0), "alignment too large");
	expect_d_eq(errno, ENOMEM);
	errno = 0;
	expect_ptr_null(huge_alloc(5 * MiB, 0, __GFP_LOW32), "LOW32 not served");
	expect_d_eq(errno, ENOMEM);
	huge_counts(&bytes, &count);
	expect_zu_eq(count, 0, "failures leave nothing behind");
}
TEST_END

TEST_BEGIN(test_realloc_grow_shrink)
{
	size_t size = 5 * MiB, bytes, count;
	void *p = huge_alloc(size, 0, 0), *q;

	assert_ptr_not_null(p);
	fill(p, size, 11);

	/* Grow: contents kept, the new part usable. */
	q = huge_realloc(p, 100 * MiB);
	assert_ptr_not_null(q);
	expect_zu_eq(huge_usable_size(q), 100 * MiB);
	expect_true(filled(q, size, 11), "contents after growing");
	if (q != p)
		expect_zu_eq(huge_usable_size(p), 0, "the old address is forgotten");
	fill(q, 100 * MiB, 12);
	huge_counts(&bytes, &count);
	expect_zu_eq(count, 1);
	expect_zu_eq(bytes, 100 * MiB);

	/* Shrink: in place, the tail unmapped. */
	p = huge_realloc(q, 6 * MiB + 1);
	assert_ptr_eq(p, q, "shrinking stays in place");
	expect_zu_eq(huge_usable_size(p), 6 * MiB + PAGE_SIZE);
	expect_true(filled(p, 6 * MiB, 12), "contents after shrinking");
	expect_false(mapped((char *)p + 7 * MiB, PAGE_SIZE), "tail unmapped");
	huge_counts(&bytes, &count);
	expect_zu_eq(bytes, 6 * MiB + PAGE_SIZE);

	/* Same size: the same block. */
	expect_ptr_eq(huge_realloc(p, 6 * MiB + 100), p);

	/* A growth the OS refuses: NULL, ENOMEM, the block untouched. */
	errno = 0;
	expect_ptr_null(huge_realloc(p, (size_t)1 << 62));
	expect_d_eq(errno, ENOMEM);
	errno = 0;
	expect_ptr_null(huge_realloc(p, SIZE_MAX));
	expect_d_eq(errno, ENOMEM);
	expect_zu_eq(huge_usable_size(p), 6 * MiB + PAGE_SIZE, "still there");
	expect_true(filled(p, 6 * MiB, 12), "contents after a failure");

	/* Grow repeatedly, each time with a blocker right after the block
	 * so that some growths must move. */
	size = 6 * MiB;
	for (int i = 0; i < 8; i++) {
		void *blocker = huge_alloc(5 * MiB, 0, 0);

		assert_ptr_not_null(blocker);
		q = huge_realloc(p, size + 3 * MiB);
		assert_ptr_not_null(q, "step %d", i);
		expect_true(filled(q, size, 12), "step %d", i);
		size += 3 * MiB;
		fill(q, size, 12);
		p = q;
		expect_true(huge_free(blocker));
	}
	expect_true(huge_free(p));
	huge_counts(&bytes, &count);
	expect_zu_eq(count, 0);
	expect_zu_eq(bytes, 0);
}
TEST_END

/* Callers reach huge.c only for pointers virt_to_page() did not know: any
 * value must be safe to ask about, and none may be taken for a block. */
TEST_BEGIN(test_foreign_pointers)
{
	int on_stack;
	void *heap = malloc(64);	/* glibc's: this test is not preloaded */
	void *p = huge_alloc(5 * MiB, 0, 0);
	const void *probes[] = {
		NULL, &on_stack, heap, (void *)test_run, (void *)1,
		(void *)(uintptr_t)-PAGE_SIZE, (char *)p + PAGE_SIZE,
		(char *)p + 16, (char *)p - PAGE_SIZE, (char *)p + 5 * MiB,
	};

	assert_ptr_not_null(p);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		errno = 0;
		expect_zu_eq(huge_usable_size(probes[i]), 0, "probe %zu", i);
		expect_false(huge_free((void *)probes[i]), "probe %zu", i);
		expect_ptr_null(huge_realloc((void *)probes[i], 6 * MiB),
				"probe %zu", i);
		expect_d_eq(errno, EINVAL, "probe %zu: not ours", i);
	}
	expect_zu_eq(huge_usable_size(p), 5 * MiB, "the block itself survived");
	expect_true(huge_free(p));
	free(heap);
}
TEST_END

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	return splitmix64(&rnd_state);
}

/*
 * Thousands of blocks (one page each: the table does not care about
 * sizes) force the table to grow several times; random frees exercise the
 * backward-shift deletion; every survivor must still be found with its
 * size after every round.
 */
#define NR_BLOCKS	3000

TEST_BEGIN(test_table_many_blocks)
{
	static void *blocks[NR_BLOCKS];
	static size_t sizes[NR_BLOCKS];
	size_t bytes, count, live = 0, live_bytes = 0;

	rnd_state = test_seed(0x5eed0004) | 1;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < NR_BLOCKS; i++) {
			if (blocks[i] && rnd() % 2) {
				assert_true(huge_free(blocks[i]), "block %d", i);
				blocks[i] = NULL;
				live--;
				live_bytes -= sizes[i];
			} else if (!blocks[i]) {
				sizes[i] = (1 + rnd() % 3) * PAGE_SIZE;
				blocks[i] = huge_alloc(sizes[i], 0, 0);
				assert_ptr_not_null(blocks[i], "block %d", i);
				*(int *)blocks[i] = i;
				live++;
				live_bytes += sizes[i];
			}
		}
		for (int i = 0; i < NR_BLOCKS; i++) {
			if (!blocks[i])
				continue;
			assert_zu_eq(huge_usable_size(blocks[i]), sizes[i],
				     "round %d block %d", round, i);
			assert_d_eq(*(int *)blocks[i], i);
		}
		huge_counts(&bytes, &count);
		expect_zu_eq(count, live, "round %d", round);
		expect_zu_eq(bytes, live_bytes, "round %d", round);
	}
	for (int i = 0; i < NR_BLOCKS; i++)
		if (blocks[i])
			expect_true(huge_free(blocks[i]));
	huge_counts(&bytes, &count);
	expect_zu_eq(count, 0);
	expect_zu_eq(bytes, 0);
}
TEST_END

int main(void)
{
	return test_run(test_alloc_free,
			test_alignment,
			test_impossible,
			test_realloc_grow_shrink,
			test_foreign_pointers,
			test_table_many_blocks,
			NULL);
}
