/*
 * slab.c - unit tests of slab/: size classes, slab caches and the kmalloc
 * family, each ending with the core's own consistency check.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "internal.h"
#include "slab_internal.h"

static unsigned long violations(void)
{
	return check_all_zones(NULL);
}

TEST_BEGIN(test_size_classes)
{
	unsigned int prev = 0;

	for (unsigned int i = 0; i < NR_SIZE_CLASSES; i++) {
		expect_u_eq(kmalloc_size[i] % 16, 0, "class %u is a multiple of 16", i);
		expect_u_gt(kmalloc_size[i], prev, "classes increase");
		prev = kmalloc_size[i];
	}
	for (size_t size = 0; size <= KMALLOC_MAX_CACHE_SIZE; size++) {
		unsigned int c = size_to_class(size);

		if (c >= NR_SIZE_CLASSES) {
			test_fail("class %u of %zu is out of range", c, size);
			break;
		}
		assert_u_ge(kmalloc_size[c], size, "class of %zu fits", size);
		if (c)
			assert_u_lt(kmalloc_size[c - 1], size, "smallest class for %zu", size);
		if (size > 128)
			assert_zu_le((kmalloc_size[c] - size) * 5, kmalloc_size[c],
				     "waste of %zu in class %u is at most 20%%", size,
				     kmalloc_size[c]);
	}
}
TEST_END

TEST_BEGIN(test_every_class_distinct_and_aligned)
{
	enum { PER_CLASS = 300 };
	static void *p[NR_SIZE_CLASSES][PER_CLASS];

	for (unsigned int c = 0; c < NR_SIZE_CLASSES; c++)
		for (int i = 0; i < PER_CLASS; i++) {
			p[c][i] = kmalloc(kmalloc_size[c], 0);
			assert_ptr_not_null(p[c][i], "class %u object %d", c, i);
			expect_zu_eq((uintptr_t)p[c][i] % 16, 0, "16-byte aligned");
			expect_zu_eq(ksize(p[c][i]), kmalloc_size[c], "ksize is the class");
			memset(p[c][i], (int)(c + i), kmalloc_size[c]);
		}
	for (unsigned int c = 0; c < NR_SIZE_CLASSES; c++)
		for (int i = 0; i < PER_CLASS; i++) {
			unsigned char *b = p[c][i];

			for (unsigned int k = 0; k < kmalloc_size[c]; k += 7)
				if (b[k] != (unsigned char)(c + i)) {
					test_fail("class %u object %d overwritten at %u", c, i, k);
					break;
				}
			expect_d_eq(kfree(p[c][i]), KFREE_OK, "free");
		}
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

TEST_BEGIN(test_bad_frees)
{
	char *p = kmalloc(100, 0), *big = kmalloc(100000, 0);
	int on_stack;

	assert_ptr_not_null(p, "small");
	assert_ptr_not_null(big, "large");
	expect_d_eq(kfree(p + 16), KFREE_INVALID, "interior of a small block");
	expect_d_eq(kfree(big + PAGE_SIZE), KFREE_INVALID, "interior of a large block");
	expect_d_eq(kfree(&on_stack), KFREE_INVALID, "a stack address");
	expect_d_eq(kfree(p), KFREE_OK, "small");
	expect_d_eq(kfree(p), KFREE_DOUBLE, "small again");
	expect_d_eq(kfree(big), KFREE_OK, "large");
	expect_d_eq(kfree(big), KFREE_DOUBLE, "large again");
	expect_zu_eq(ksize(p), 0, "no size for a freed block");
	expect_lu_eq(violations(), 0, "nothing corrupted");
}
TEST_END

/*
 * The records of struct slab live in blocks the slab layer takes from the
 * core for its metadata. Such a block is an allocated page block, but not
 * one kmalloc returned: free, realloc and ksize must refuse it as they
 * refuse a foreign pointer, and leave it and its records alone.
 */
TEST_BEGIN(test_metadata_is_not_a_block)
{
	char *obj = kmalloc(64, 0);
	struct slab *slab;
	struct page *meta;
	enum kfree_result res;
	char *m;

	assert_ptr_not_null(obj, "small");
	slab = cache_slab_of(obj);
	assert_ptr_not_null(slab, "its slab");
	/* Back from the record's page to the head of its metadata block. */
	meta = virt_to_page(slab);
	assert_ptr_not_null(meta, "the record is in the heap");
	for (int i = 0; !(meta->flags & PG_head); i++, meta--)
		assert_d_lt(i, (int)MAX_ORDER_NR_PAGES, "a head below the record");
	m = page_address(meta);
	expect_false(meta->flags & PG_slab, "metadata is not a slab");

	expect_d_eq(kfree(m), KFREE_INVALID, "free of the metadata block");
	expect_zu_eq(ksize(m), 0, "no size for the metadata block");
	expect_ptr_null(krealloc(m, 100, 0, &res), "realloc of it");
	expect_d_eq(res, KFREE_INVALID, "realloc: invalid");
	expect_ptr_null(krealloc(m, 100000, 0, &res), "realloc of it, large");
	expect_d_eq(res, KFREE_INVALID, "realloc, large: invalid");
	expect_d_eq(kfree((char *)slab), KFREE_INVALID, "free of the record");
	expect_zu_eq(ksize(slab), 0, "no size for the record");

	expect_true(meta->flags & PG_head, "the block is still allocated");
	expect_ptr_eq(cache_slab_of(obj), slab, "the slab still has its record");
	expect_lu_eq(violations(), 0, "nothing corrupted");
	expect_d_eq(kfree(obj), KFREE_OK, "the object still frees");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

/*
 * Malloc's page blocks and the page API's are told apart by the owner
 * flag on their head page: neither interface frees, sizes or resizes the
 * other's, nor a slab's pages.
 */
TEST_BEGIN(test_page_blocks_have_one_owner)
{
	struct page *api = alloc_pages(__GFP_PAGE_API, 2);
	char *big = kmalloc(64 << 10, 0), *obj = kmalloc(64, 0);
	struct slab *slab;
	enum kfree_result res;
	void *q;

	assert_ptr_not_null(api, "page API block");
	assert_ptr_not_null(big, "malloc page block");
	assert_ptr_not_null(obj, "small");
	q = page_address(api);
	expect_u_eq(api->flags, PG_head | PG_page_api, "page API head");
	expect_u_eq(virt_to_page(big)->flags, PG_head | PG_large_kmalloc,
		    "malloc page block head");

	expect_d_eq(kfree(q), KFREE_INVALID, "kfree of a page API block");
	expect_zu_eq(ksize(q), 0, "ksize of a page API block");
	expect_ptr_null(krealloc(q, 5 * PAGE_SIZE, 0, &res), "krealloc of it");
	expect_d_eq(res, KFREE_INVALID, "krealloc: invalid");

	expect_false(free_pages_owned(virt_to_page(big), 4, PG_page_api),
		     "page API free of a malloc block");
	expect_false(free_pages_exact_owned(big, 64 << 10, PG_page_api),
		     "page API exact free of a malloc block");
	expect_false(free_pages_exact_checked(big, 64 << 10),
		     "internal free of a malloc block");

	slab = cache_slab_of(obj);
	assert_ptr_not_null(slab, "its slab");
	expect_false(free_pages_owned(virt_to_page(slab->base),
				      slab->cache->order, PG_page_api),
		     "page API free of a slab");
	expect_false(free_pages_exact_owned(slab->base,
					    PAGE_SIZE << slab->cache->order,
					    PG_page_api),
		     "page API exact free of a slab");
	expect_false(free_pages_checked(virt_to_page(slab->base),
					slab->cache->order),
		     "internal free of a slab still marked PG_slab");
	expect_lu_eq(violations(), 0, "nothing corrupted");

	expect_true(free_pages_owned(api, 2, PG_page_api), "its own free");
	expect_d_eq(kfree(big), KFREE_OK, "malloc's own free");
	expect_d_eq(kfree(obj), KFREE_OK, "the object");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

TEST_BEGIN(test_sizes_and_zeroing)
{
	static const size_t sizes[] = { 0, 1, 16, 17, 128, 129, 4096, 32768, 32769,
		100000, 1 << 20, 4 << 20, (4 << 20) + 1, 20 << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = kmalloc(sizes[i], 0), *z;
		size_t usable;

		assert_ptr_not_null(p, "size %zu", sizes[i]);
		usable = ksize(p);
		expect_zu_ge(usable, sizes[i] ? sizes[i] : 1, "usable size of %zu", sizes[i]);
		memset(p, 0xa5, usable);
		expect_d_eq(kfree(p), KFREE_OK, "free %zu", sizes[i]);
		z = kmalloc(sizes[i], __GFP_ZERO);
		assert_ptr_not_null(z, "zeroed %zu", sizes[i]);
		for (size_t k = 0; k < sizes[i]; k++)
			if (z[k]) {
				test_fail("byte %zu of zeroed %zu is %u", k, sizes[i], z[k]);
				break;
			}
		expect_d_eq(kfree(z), KFREE_OK, "free zeroed %zu", sizes[i]);
	}
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

TEST_BEGIN(test_aligned)
{
	for (size_t align = 1; align <= (8 << 20); align <<= 1) {
		static const size_t sizes[] = { 1, 100, 5000, 70000 };

		for (size_t i = 0; i < 4; i++) {
			void *p = kmalloc_aligned(sizes[i], align, 0);

			assert_ptr_not_null(p, "size %zu align %zu", sizes[i], align);
			expect_zu_eq((uintptr_t)p % (align < 16 ? 16 : align), 0,
				     "size %zu align %zu", sizes[i], align);
			expect_zu_ge(ksize(p), sizes[i], "usable");
			memset(p, 1, sizes[i]);
			expect_d_eq(kfree(p), KFREE_OK, "free");
		}
	}
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

static unsigned char pattern(size_t k)
{
	return (unsigned char)(k * 7 + 1);
}

TEST_BEGIN(test_realloc_chain)
{
	enum kfree_result res;
	size_t size = 1, next;
	unsigned char *p = kmalloc(size, 0);

	assert_ptr_not_null(p, "first");
	p[0] = pattern(0);
	/* Grow small -> pages -> huge, then shrink back, checking contents. */
	for (; size < (16 << 20); size = next) {
		unsigned char *q;

		next = size * 3 + 1;
		q = krealloc(p, next, 0, &res);
		assert_ptr_not_null(q, "grow to %zu", next);
		expect_d_eq(res, KFREE_OK, "grow result");
		for (size_t k = 0; k < size; k++)
			if (q[k] != pattern(k)) {
				test_fail("byte %zu lost growing %zu -> %zu", k, size, next);
				break;
			}
		for (size_t k = size; k < next; k++)
			q[k] = pattern(k);
		p = q;
	}
	for (size /= 5; size >= 1; size /= 5) {
		unsigned char *q = krealloc(p, size, 0, &res);

		assert_ptr_not_null(q, "shrink to %zu", size);
		expect_u_eq(q[size - 1], pattern(size - 1), "last byte kept at %zu", size);
		expect_u_eq(q[0], pattern(0), "first byte kept at %zu", size);
		p = q;
	}
	expect_d_eq(kfree(p), KFREE_OK, "free");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

TEST_BEGIN(test_realloc_same_class_in_place)
{
	enum kfree_result res;
	void *p = kmalloc(150, 0);

	assert_ptr_not_null(p, "alloc");
	expect_ptr_eq(krealloc(p, 160, 0, &res), p, "same class stays");
	expect_ptr_eq(krealloc(p, 129, 0, &res), p, "same class stays");
	expect_d_eq(kfree(p), KFREE_OK, "free");
	p = kmalloc(100, 0);
	expect_ptr_null(krealloc((char *)p + 16, 200, 0, &res), "interior realloc");
	expect_d_eq(res, KFREE_INVALID, "reported invalid");
	expect_d_eq(kfree(p), KFREE_OK, "free");
}
TEST_END

TEST_BEGIN(test_empty_slabs_go_back)
{
	enum { N = 5000 };
	static void *p[N];
	unsigned long free_before, free_after;
	struct zone *zone = &NODE_DATA(0)->node_zones[ZONE_NORMAL];

	for (int i = 0; i < N; i++)
		p[i] = kmalloc(48, 0);
	zone_lock(zone);
	free_before = zone->nr_free_pages;
	zone_unlock(zone);
	for (int i = 0; i < N; i++)
		expect_d_eq(kfree(p[i]), KFREE_OK, "free");
	slab_shrink();
	zone_lock(zone);
	free_after = zone->nr_free_pages;
	zone_unlock(zone);
	/* 5000 x 48 bytes is about 59 pages of slabs, all empty now. */
	expect_lu_ge(free_after - free_before, 55, "empty slabs returned");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

/*
 * Page-level blocks and slabs never share a pageblock (kmalloc.c,
 * large_lifetime): allocated in turns, mixed sizes of both kinds, then
 * every pageblock a page-level block touches holds no slab page. About
 * 40 MiB in all, well inside the heap: once a zone is nearly full the
 * core's fallback does mix the two kinds, rather than grow the heap.
 */
TEST_BEGIN(test_page_blocks_apart_from_slabs)
{
	enum { NR_SMALL = 4000, NR_LARGE = 400 };
	static void *small[NR_SMALL], *large[NR_LARGE];
	static uintptr_t slab_block[NR_SMALL];
	const unsigned int block_shift = PAGE_SHIFT + pageblock_order;
	unsigned long shared = 0;

	for (int i = 0, l = 0; i < NR_SMALL; i++) {
		small[i] = kmalloc(16 + (size_t)(i * 37) % 2048, 0);
		assert_ptr_not_null(small[i], "small block %d", i);
		slab_block[i] = (uintptr_t)cache_slab_of(small[i])->base >> block_shift;
		if (i % 10 == 0) {
			large[l] = kmalloc(KMALLOC_MAX_CACHE_SIZE + 1 +
					   (size_t)(l * 7919) % (128 * 1024), 0);
			assert_ptr_not_null(large[l], "page-level block %d", l);
			l++;
		}
	}
	for (int l = 0; l < NR_LARGE; l++) {
		uintptr_t first = (uintptr_t)large[l] >> block_shift;
		uintptr_t last = ((uintptr_t)large[l] + ksize(large[l]) - 1) >> block_shift;

		for (int i = 0; i < NR_SMALL; i++)
			if (slab_block[i] >= first && slab_block[i] <= last)
				shared++;
	}
	expect_lu_eq(shared, 0, "slabs in the pageblocks of page-level blocks");
	for (int i = 0; i < NR_SMALL; i++)
		expect_d_eq(kfree(small[i]), KFREE_OK, "free small");
	for (int l = 0; l < NR_LARGE; l++)
		expect_d_eq(kfree(large[l]), KFREE_OK, "free page-level");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

/*
 * kmalloc_nolock and kfree_nolock never wait for a lock. With the cache's
 * lock held by this very thread (as when a signal handler interrupted it
 * inside the slab layer), frees go to this CPU's stack (rseq mode), then
 * to the cache's parked slots, then are leaked and counted; allocations
 * take this CPU's stack and the parked objects, then fail with ENOMEM.
 * Once the lock is free, the parked objects go back to their slabs. An
 * alarm kills the test if anything waits.
 */
TEST_BEGIN(test_nolock_never_waits)
{
	enum { N = 100, PARKED = 64 };	/* PARKED: SLAB_DEFER_SLOTS */
	static void *p[N];
	struct kmem_cache *cache = &kmem_caches[0][size_to_class(2048)];
	size_t base, allocated, slab_bytes;
	unsigned long leaked;
	unsigned int got = 0;

	slab_shrink();
	slab_stats(&base, &slab_bytes);
	leaked = uatomic_read(&slab_nolock_leaked);
	for (int i = 0; i < N; i++) {
		p[i] = kmalloc(2048, 0);
		assert_ptr_not_null(p[i]);
	}
	alarm(60);
	pthread_mutex_lock(&cache->lock);
	for (int i = 0; i < N; i++)
		expect_d_eq(kfree_nolock(p[i]), KFREE_OK, "object %d", i);
	leaked = uatomic_read(&slab_nolock_leaked) - leaked;
	expect_lu_ge(leaked, N - cache->cc_cap - PARKED, "leaked");
	expect_lu_le(leaked, N - PARKED, "leaked");
	while (got < N) {
		errno = 0;
		p[got] = kmalloc_nolock(2048, 0, (struct alloc_site){ NULL, 0 });
		if (!p[got])
			break;
		expect_zu_eq(ksize(p[got]), 2048, "a live object");
		got++;
	}
	expect_d_eq(errno, ENOMEM, "kmalloc_nolock ran out");
	expect_u_ge(got, PARKED, "the parked objects came back");
	expect_u_le(got, N - leaked + cache->cc_cap, "what was freed, and "
		    "what this CPU's stack held before");
	for (unsigned int i = 0; i < got; i++)
		for (unsigned int j = i + 1; j < got; j++)
			if (p[i] == p[j])
				test_fail("object %p handed out twice", p[i]);
	for (unsigned int i = 0; i < got; i++)	/* parked again */
		expect_d_eq(kfree_nolock(p[i]), KFREE_OK);
	pthread_mutex_unlock(&cache->lock);
	alarm(0);

	/* Every parked object back in its slab; the leaked stay allocated. */
	slab_shrink();
	slab_stats(&allocated, &slab_bytes);
	expect_zu_eq(allocated, base + leaked * 2048, "bytes allocated");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

int main(void)
{
	return test_run(test_size_classes,
			test_every_class_distinct_and_aligned,
			test_bad_frees,
			test_metadata_is_not_a_block,
			test_page_blocks_have_one_owner,
			test_sizes_and_zeroing,
			test_aligned,
			test_realloc_chain,
			test_realloc_same_class_in_place,
			test_empty_slabs_go_back,
			test_page_blocks_apart_from_slabs,
			test_nolock_never_waits,
			NULL);
}
