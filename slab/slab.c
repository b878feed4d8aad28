/*
 * slab.c - slab caches: size classes cut out of page runs from the core.
 *
 * Each cache (size class x migrate type) keeps a list of partial slabs and
 * one spare empty slab; a slab that empties beyond the spare goes back to
 * the core at once, so whole pages return to the buddy allocator as soon as
 * their objects die. Objects are found through a bitmap kept out of band in
 * struct slab: user memory never holds allocator metadata, and a double
 * free is caught by its bit.
 *
 * Locking: cache->lock, then meta_lock, then the core's zone locks. This
 * layer is lock-based; per-CPU object caches in front of it come with a
 * later issue and must keep the same order.
 */
#include <errno.h>
#include <string.h>

#include "slab_internal.h"

struct kmem_cache kmem_caches[MIGRATE_PCPTYPES][NR_SIZE_CLASSES];
bool slab_ready;

/* ------------------------------------------------------ slab records */

/*
 * struct slab records come from chunks of the core's HIGHATOMIC reserve,
 * the pageblocks kept for the allocator's own metadata. Free records are
 * kept on a LIFO list through their list.next field; chunks are never
 * returned (records are about 2% of the memory of the slabs they describe).
 */
#define META_CHUNK_ORDER	2

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab *meta_free_list;

static bool meta_refill(void)
{
	size_t bytes = PAGE_SIZE << META_CHUNK_ORDER;
	struct page *page = alloc_pages(__GFP_HIGHATOMIC, META_CHUNK_ORDER);
	struct slab *records;

	if (!page)
		return false;
	records = page_address(page);
	for (size_t i = 0; i < bytes / sizeof(struct slab); i++) {
		records[i].list.next = (struct cds_list_head *)meta_free_list;
		meta_free_list = &records[i];
	}
	return true;
}

static struct slab *meta_alloc(void)
{
	struct slab *slab = NULL;

	pthread_mutex_lock(&meta_lock);
	if (meta_free_list || meta_refill()) {
		slab = meta_free_list;
		meta_free_list = (struct slab *)slab->list.next;
	}
	pthread_mutex_unlock(&meta_lock);
	return slab;
}

static void meta_free(struct slab *slab)
{
	pthread_mutex_lock(&meta_lock);
	slab->list.next = (struct cds_list_head *)meta_free_list;
	meta_free_list = slab;
	pthread_mutex_unlock(&meta_lock);
}

/* ------------------------------------------------------------- caches */

/*
 * The slab size of a class: the fewest pages that hold enough objects
 * (8 for classes up to 1 KiB, 4 above) and leave at most 1/8 of the slab
 * unused at its end.
 */
static unsigned int calculate_order(unsigned int size)
{
	unsigned int min_objects = size <= 1024 ? 8 : 4;

	for (unsigned int order = 0; order <= 5; order++) {
		unsigned long bytes = PAGE_SIZE << order;
		unsigned long objects = bytes / size;

		if (objects > SLAB_MAX_OBJECTS)
			continue;
		if (objects >= min_objects && (bytes - objects * size) * 8 <= bytes)
			return order;
	}
	return 5;
}

static void kmem_cache_reset(struct kmem_cache *cache)
{
	pthread_mutex_init(&cache->lock, NULL);
	CDS_INIT_LIST_HEAD(&cache->partial);
	cache->spare = NULL;
	cache->nr_slabs = 0;
	cache->nr_objects_inuse = 0;
}

static void kmem_cache_init(struct kmem_cache *cache, unsigned int size,
			    int migratetype)
{
	cache->size = size;
	cache->order = calculate_order(size);
	cache->objects = (unsigned int)((PAGE_SIZE << cache->order) / size);
	cache->reciprocal = ((1ULL << 40) + size - 1) / size;
	cache->migratetype = migratetype;
	kmem_cache_reset(cache);
}

static void slab_init_once(void)
{
	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		for (unsigned int i = 0; i < NR_SIZE_CLASSES; i++)
			kmem_cache_init(&kmem_caches[mt][i], kmalloc_size[i], mt);
	CMM_STORE_SHARED(slab_ready, true);
}

void slab_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, slab_init_once);
}

/* -------------------------------------------------------------- slabs */

/* Mark every page of the slab, so that free() finds the slab from any
 * object in O(1). The core leaves page->slab to us and ignores PG_slab on
 * pages inside an allocation. */
static void set_slab_pages(struct page *head, unsigned int order,
			   struct slab *slab)
{
	for (unsigned long i = 0; i < (1UL << order); i++) {
		struct page *page = head + i;

		page->flags = i ? PG_slab : PG_head | PG_slab;
		page->slab.private = (uintptr_t)slab;
	}
}

/* Caller holds cache->lock. */
static struct slab *new_slab(struct kmem_cache *cache)
{
	struct slab *slab = meta_alloc();
	struct page *page;

	if (!slab)
		return NULL;
	page = alloc_pages((gfp_t)cache->migratetype, cache->order);
	if (!page) {
		meta_free(slab);
		return NULL;
	}
	slab->cache = cache;
	slab->base = page_address(page);
	slab->objects = (uint16_t)cache->objects;
	slab->inuse = 0;
	for (unsigned int w = 0; w < SLAB_BITMAP_WORDS; w++) {
		unsigned int first = w * 64;

		if (first + 64 <= cache->objects)
			slab->free_bitmap[w] = ~0ULL;
		else if (first < cache->objects)
			slab->free_bitmap[w] = (1ULL << (cache->objects - first)) - 1;
		else
			slab->free_bitmap[w] = 0;
	}
	set_slab_pages(page, cache->order, slab);
	cache->nr_slabs++;
	return slab;
}

/* Give an empty slab's pages back to the core. Caller holds cache->lock. */
static void discard_slab(struct kmem_cache *cache, struct slab *slab)
{
	struct page *head = virt_to_page(slab->base);

	for (unsigned long i = 1; i < (1UL << cache->order); i++)
		head[i].flags = 0;
	head->flags &= ~PG_slab;
	if (!free_pages_checked(head, cache->order))
		os_abort();	/* our own metadata disagrees with the core */
	cache->nr_slabs--;
	meta_free(slab);
}

static struct slab *get_partial(struct kmem_cache *cache)
{
	struct slab *slab;

	if (!cds_list_empty(&cache->partial))
		return cds_list_first_entry(&cache->partial, struct slab, list);
	slab = cache->spare;
	if (slab)
		cache->spare = NULL;
	else
		slab = new_slab(cache);
	if (slab)
		cds_list_add(&slab->list, &cache->partial);
	return slab;
}

void *slab_alloc(struct kmem_cache *cache)
{
	struct slab *slab;
	unsigned int idx = 0;

	pthread_mutex_lock(&cache->lock);
	slab = get_partial(cache);
	if (!slab) {
		pthread_mutex_unlock(&cache->lock);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned int w = 0; w < SLAB_BITMAP_WORDS; w++) {
		uint64_t bits = slab->free_bitmap[w];

		if (bits) {
			unsigned int bit = (unsigned int)__builtin_ctzll(bits);

			slab->free_bitmap[w] = bits & (bits - 1);
			idx = w * 64 + bit;
			break;
		}
	}
	slab->inuse++;
	cache->nr_objects_inuse++;
	if (slab->inuse == slab->objects)
		cds_list_del(&slab->list);	/* full slabs are on no list */
	pthread_mutex_unlock(&cache->lock);
	return slab->base + (size_t)idx * cache->size;
}

/* The index of the object starting at p, or -1 if p starts no object. */
static long object_index(const struct slab *slab, const void *p)
{
	const struct kmem_cache *cache = slab->cache;
	uintptr_t offset = (uintptr_t)p - (uintptr_t)slab->base;
	uintptr_t idx = (uintptr_t)(((uint64_t)offset * cache->reciprocal) >> 40);

	if ((uintptr_t)p < (uintptr_t)slab->base || idx >= slab->objects ||
	    idx * cache->size != offset)
		return -1;
	return (long)idx;
}

static bool object_is_free(const struct slab *slab, long idx)
{
	return slab->free_bitmap[idx / 64] & (1ULL << (idx % 64));
}

bool slab_object_slot(const struct slab *slab, const void *p)
{
	return object_index(slab, p) >= 0;
}

bool slab_object_live(const struct slab *slab, const void *p)
{
	long idx = object_index(slab, p);

	return idx >= 0 && !object_is_free(slab, idx);
}

enum kfree_result slab_free(struct slab *slab, void *p)
{
	struct kmem_cache *cache = slab->cache;
	bool was_full;
	long idx;

	pthread_mutex_lock(&cache->lock);
	idx = object_index(slab, p);
	if (idx < 0 || object_is_free(slab, idx)) {
		pthread_mutex_unlock(&cache->lock);
		return idx < 0 ? KFREE_INVALID : KFREE_DOUBLE;
	}
	was_full = slab->inuse == slab->objects;
	slab->free_bitmap[idx / 64] |= 1ULL << (idx % 64);
	slab->inuse--;
	cache->nr_objects_inuse--;
	if (slab->inuse == 0) {
		if (!was_full)
			cds_list_del(&slab->list);
		if (!cache->spare)
			cache->spare = slab;
		else
			discard_slab(cache, slab);
	} else if (was_full) {
		cds_list_add_tail(&slab->list, &cache->partial);
	}
	pthread_mutex_unlock(&cache->lock);
	return KFREE_OK;
}

/* --------------------------------------------------- trim, stats, fork */

#define for_each_kmem_cache(cache)					\
	for (struct kmem_cache *cache = &kmem_caches[0][0];		\
	     cache < &kmem_caches[0][0] + MIGRATE_PCPTYPES * NR_SIZE_CLASSES; \
	     cache++)

void slab_shrink(void)
{
	if (!CMM_LOAD_SHARED(slab_ready))
		return;
	for_each_kmem_cache(cache) {
		pthread_mutex_lock(&cache->lock);
		if (cache->spare) {
			discard_slab(cache, cache->spare);
			cache->spare = NULL;
		}
		pthread_mutex_unlock(&cache->lock);
	}
}

void slab_stats(size_t *allocated, size_t *slab_bytes)
{
	*allocated = 0;
	*slab_bytes = 0;
	if (!CMM_LOAD_SHARED(slab_ready))
		return;
	for_each_kmem_cache(cache) {
		pthread_mutex_lock(&cache->lock);
		*allocated += cache->nr_objects_inuse * cache->size;
		*slab_bytes += cache->nr_slabs * (PAGE_SIZE << cache->order);
		pthread_mutex_unlock(&cache->lock);
	}
}

void slab_fork_prepare(void)
{
	slab_init();
	for_each_kmem_cache(cache)
		pthread_mutex_lock(&cache->lock);
	pthread_mutex_lock(&meta_lock);
}

void slab_fork_parent(void)
{
	pthread_mutex_unlock(&meta_lock);
	for_each_kmem_cache(cache)
		pthread_mutex_unlock(&cache->lock);
}

/*
 * In the child, only this thread exists: make the locks usable again. After
 * an interrupted fork (abandon) the caches and records may be half-updated,
 * so they start empty; the inherited slabs are never touched again.
 */
void slab_fork_child(bool abandon)
{
	pthread_mutex_init(&meta_lock, NULL);
	if (abandon)
		meta_free_list = NULL;
	if (!CMM_LOAD_SHARED(slab_ready))
		return;
	for_each_kmem_cache(cache) {
		if (abandon)
			kmem_cache_reset(cache);
		else
			pthread_mutex_init(&cache->lock, NULL);
	}
}
