/*
 * huge.c - direct mappings above the largest buddy block (core/huge.c):
 * allocation, alignment up to 64 MiB, realloc that grows and shrinks
 * keeping contents, failure that leaves the block intact, lookups of
 * pointers that are not ours, the hash table under many blocks, and the
 * cache of freed mappings: reuse without a new mapping, split and growth
 * into the cached range, the bound, decay, pressure and draining.
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

/* Pages of [p, p + size) that are resident (mincore); SIZE_MAX if any of
 * the range is not mapped. */
static size_t resident_pages(const void *p, size_t size)
{
	static unsigned char vec[(256 * MiB) / 4096];
	size_t n = 0;

	if (mincore((void *)p, size, vec) != 0)
		return SIZE_MAX;
	for (size_t i = 0; i < (size + PAGE_SIZE - 1) / PAGE_SIZE; i++)
		n += vec[i] & 1;
	return n;
}

static void cache_counts(size_t *bytes, size_t *count)
{
	huge_cache_stats(bytes, count);
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

/*
 * A freed block is kept mapped and resident: the next allocation of its
 * size gets it back without a new mapping (all its pages resident before
 * anything touches them, the mapped page count unchanged), and a zeroed
 * allocation from the cache reads as zero as a fresh mapping does.
 */
TEST_BEGIN(test_cache_reuse)
{
	size_t size = 32 * MiB, bytes, count;
	unsigned long mapped_pages;
	void *p, *q;

	huge_cache_drain();
	p = huge_alloc(size, 0, 0);
	assert_ptr_not_null(p);
	memset(p, 0x5a, size);
	mapped_pages = huge_mapped_pages();
	expect_true(huge_free(p));
	cache_counts(&bytes, &count);
	expect_zu_eq(count, 1);
	expect_zu_eq(bytes, size);
	expect_lu_eq(huge_mapped_pages(), mapped_pages, "cached pages stay counted");

	for (int round = 0; round < 50; round++) {
		q = huge_alloc(size, 0, 0);
		assert_ptr_eq(q, p, "round %d: the cached mapping", round);
		assert_zu_eq(resident_pages(q, size), size / PAGE_SIZE,
			     "round %d: resident before any touch", round);
		assert_lu_eq(huge_mapped_pages(), mapped_pages, "round %d", round);
		expect_true(huge_free(q));
	}

	q = huge_alloc(size, 0, __GFP_ZERO);
	assert_ptr_eq(q, p, "zeroed, from the cache");
	for (size_t i = 0; i < size; i += 64)
		if (((unsigned char *)q)[i] || ((unsigned char *)q)[i + 63]) {
			test_fail("byte %zu not zero", i);
			break;
		}
	expect_true(huge_free(q));
	expect_lu_eq(huge_cache_drain(), size >> PAGE_SHIFT);
	expect_lu_eq(huge_mapped_pages(), mapped_pages - (size >> PAGE_SHIFT));
}
TEST_END

/*
 * A smaller block is cut from the start of a cached range and the rest
 * stays cached; growing the block takes that rest back in place (same
 * address, no remap: the rest is still mapped, so mremap would have had
 * to move), keeping the contents.
 */
TEST_BEGIN(test_cache_split_and_grow)
{
	size_t bytes, count;
	void *p, *q;

	huge_cache_drain();
	p = huge_alloc(8 * MiB, 0, 0);
	assert_ptr_not_null(p);
	expect_true(huge_free(p));

	q = huge_alloc(5 * MiB, 0, 0);
	assert_ptr_eq(q, p, "cut from the cached range");
	expect_zu_eq(huge_usable_size(q), 5 * MiB);
	cache_counts(&bytes, &count);
	expect_zu_eq(count, 1, "the rest stays cached");
	expect_zu_eq(bytes, 3 * MiB);
	fill(q, 5 * MiB, 21);

	q = huge_realloc(p, 7 * MiB);
	assert_ptr_eq(q, p, "grown into the cached rest, in place");
	expect_zu_eq(huge_usable_size(q), 7 * MiB);
	expect_true(filled(q, 5 * MiB, 21));
	cache_counts(&bytes, &count);
	expect_zu_eq(bytes, 1 * MiB, "what is left of the rest");
	fill(q, 7 * MiB, 22);

	q = huge_realloc(p, 8 * MiB);
	assert_ptr_eq(q, p, "and the last of it");
	expect_true(filled(q, 7 * MiB, 22));
	cache_counts(&bytes, &count);
	expect_zu_eq(count, 0);
	expect_zu_eq(bytes, 0);
	huge_counts(&bytes, &count);
	expect_zu_eq(bytes, 8 * MiB);

	/* Growth beyond the cached rest: mremap, contents kept. */
	q = huge_realloc(p, 20 * MiB);
	assert_ptr_not_null(q);
	expect_true(filled(q, 7 * MiB, 22));
	expect_true(huge_free(q));
	huge_cache_drain();
}
TEST_END

/*
 * The cache holds at most 64 MiB (or a sixteenth of the budget) in at most
 * 8 ranges; the oldest go first, a block larger than the bound is unmapped
 * at once, and everything the cache gave up is unmapped.
 */
TEST_BEGIN(test_cache_bounded)
{
	void *blocks[12];
	size_t bytes, count, still_mapped = 0;
	unsigned long base = huge_mapped_pages();
	void *big;

	huge_cache_drain();
	base = huge_mapped_pages();
	for (int i = 0; i < 12; i++) {
		blocks[i] = huge_alloc(5 * MiB, 0, 0);
		assert_ptr_not_null(blocks[i]);
	}
	for (int i = 0; i < 12; i++)
		expect_true(huge_free(blocks[i]));
	cache_counts(&bytes, &count);
	expect_zu_le(count, 8, "at most 8 ranges");
	expect_zu_le(bytes, 64 * MiB);
	expect_zu_eq(bytes, count * 5 * MiB);
	expect_lu_eq(huge_mapped_pages() - base, bytes >> PAGE_SHIFT,
		     "what left the cache is unmapped");
	for (int i = 0; i < 12; i++)
		still_mapped += mapped(blocks[i], 5 * MiB);
	expect_zu_eq(still_mapped, count, "exactly the cached blocks are mapped");
	expect_true(mapped(blocks[11], 5 * MiB), "the newest is kept");
	expect_false(mapped(blocks[0], PAGE_SIZE), "the oldest went first");

	/* Three of 30 MiB: the byte bound, not the slots, evicts. */
	huge_cache_drain();
	for (int i = 0; i < 3; i++) {
		blocks[i] = huge_alloc(30 * MiB, 0, 0);
		assert_ptr_not_null(blocks[i]);
	}
	for (int i = 0; i < 3; i++)
		expect_true(huge_free(blocks[i]));
	cache_counts(&bytes, &count);
	expect_zu_le(bytes, 64 * MiB, "at most 64 MiB");
	expect_zu_eq(bytes, count * 30 * MiB);
	expect_lu_eq(huge_mapped_pages() - base, bytes >> PAGE_SHIFT);
	expect_false(mapped(blocks[0], PAGE_SIZE), "the oldest went first");

	big = huge_alloc(100 * MiB, 0, 0);
	assert_ptr_not_null(big);
	expect_true(huge_free(big));
	expect_false(mapped(big, PAGE_SIZE), "larger than the bound: unmapped");
	cache_counts(&bytes, &count);
	expect_zu_le(bytes, 64 * MiB);
	huge_cache_drain();
	expect_lu_eq(huge_mapped_pages(), base);
}
TEST_END

/* The decay pass unmaps what was freed decay_ms ago, not earlier; memory
 * pressure (the shrinker) unmaps everything. */
TEST_BEGIN(test_cache_decay_and_pressure)
{
	size_t bytes, count;
	void *p, *q;

	huge_cache_drain();
	CMM_STORE_SHARED(test_decay_now_ms, 50000);
	p = huge_alloc(6 * MiB, 0, 0);
	q = huge_alloc(7 * MiB, 0, 0);
	assert_ptr_not_null(p);
	assert_ptr_not_null(q);
	expect_true(huge_free(p));
	CMM_STORE_SHARED(test_decay_now_ms, 50500);
	expect_true(huge_free(q));

	expect_true(huge_cache_decay(50999, 1000), "a ms early: kept");
	cache_counts(&bytes, &count);
	expect_zu_eq(count, 2);
	expect_true(huge_cache_decay(51000, 1000), "one left waiting");
	cache_counts(&bytes, &count);
	expect_zu_eq(count, 1);
	expect_zu_eq(bytes, 7 * MiB);
	expect_false(mapped(p, PAGE_SIZE), "the older one unmapped");
	expect_true(mapped(q, 7 * MiB), "the newer one kept");

	p = huge_alloc(8 * MiB, 0, 0);	/* larger than what is cached */
	assert_ptr_not_null(p);
	expect_ptr_ne(p, q);
	expect_true(huge_free(p));
	shrink_slab(NUMA_NO_NODE, true);
	cache_counts(&bytes, &count);
	expect_zu_eq(count, 2, "the idle pass leaves it to decay");
	expect_lu_eq(shrink_slab(NUMA_NO_NODE, false), (15 * MiB) >> PAGE_SHIFT,
		     "pressure unmaps it all");
	cache_counts(&bytes, &count);
	expect_zu_eq(count, 0);
	expect_false(mapped(q, PAGE_SIZE));
	CMM_STORE_SHARED(test_decay_now_ms, 0);
}
TEST_END

/*
 * mremap refusing a growth (here the test hook; in life a block that spans
 * two mappings, or no address space): realloc copies into a new block and
 * frees the old one. A shrink it refuses fails: NULL, ENOMEM, the block as
 * it was.
 */
TEST_BEGIN(test_remap_fails)
{
	size_t size = 6 * MiB, bytes, count;
	void *p, *q;

	huge_cache_drain();
	p = huge_alloc(size, 0, 0);
	assert_ptr_not_null(p);
	fill(p, size, 31);

	CMM_STORE_SHARED(test_os_remap_fail, 1);
	q = huge_realloc(p, 40 * MiB);
	expect_u_eq(CMM_LOAD_SHARED(test_os_remap_fail), 0, "mremap was tried");
	assert_ptr_not_null(q, "copied instead");
	expect_ptr_ne(q, p);
	expect_zu_eq(huge_usable_size(q), 40 * MiB);
	expect_zu_eq(huge_usable_size(p), 0, "the old block is freed");
	expect_true(filled(q, size, 31), "contents copied");
	huge_counts(&bytes, &count);
	expect_zu_eq(count, 1);
	expect_zu_eq(bytes, 40 * MiB);

	CMM_STORE_SHARED(test_os_remap_fail, 1);
	errno = 0;
	expect_ptr_null(huge_realloc(q, 5 * MiB), "a refused shrink fails");
	expect_d_eq(errno, ENOMEM);
	expect_zu_eq(huge_usable_size(q), 40 * MiB, "the block as it was");
	expect_true(filled(q, size, 31));

	/* Refused, and no room for a copy either: NULL, ENOMEM, intact. */
	CMM_STORE_SHARED(test_os_remap_fail, 1);
	errno = 0;
	expect_ptr_null(huge_realloc(q, (size_t)1 << 62));
	expect_d_eq(errno, ENOMEM);
	expect_zu_eq(huge_usable_size(q), 40 * MiB);
	expect_true(filled(q, size, 31));
	CMM_STORE_SHARED(test_os_remap_fail, 0);
	expect_true(huge_free(q));
	huge_cache_drain();
}
TEST_END

/* mremap keeps the contents across many sizes, growing and shrinking. */
TEST_BEGIN(test_remap_many_sizes)
{
	size_t size = 4 * MiB + 1;
	void *p = huge_alloc(size, 0, 0);
	uint64_t seed = test_seed(0x5eed0010) | 1;

	assert_ptr_not_null(p);
	fill(p, size, 41);
	for (int i = 0; i < 60; i++) {
		size_t next = 4 * MiB + 1 + splitmix64(&seed) % (60 * MiB);
		size_t keep = next < size ? next : size;
		void *q = huge_realloc(p, next);

		assert_ptr_not_null(q, "step %d: %zu -> %zu", i, size, next);
		assert_true(filled(q, keep, 41), "step %d: %zu -> %zu", i,
			    size, next);
		fill(q, next, 41);
		p = q;
		size = next;
	}
	expect_true(huge_free(p));
	huge_cache_drain();
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
			test_cache_reuse,
			test_cache_split_and_grow,
			test_cache_bounded,
			test_cache_decay_and_pressure,
			test_remap_fails,
			test_remap_many_sizes,
			NULL);
}
