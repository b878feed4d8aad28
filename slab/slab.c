/*
 * slab.c - slab caches: size classes cut out of page runs from the core.
 *
 * Each cache (size class x migrate type) keeps a list of partial slabs and
 * one spare empty slab; a slab that empties beyond the spare goes back to
 * the core at once, so whole pages return to the buddy allocator as soon as
 * their objects die. Objects are found through a bitmap kept out of band in
 * struct slab: user memory never holds allocator metadata, and a double
 * free is caught by its bit. Inside a slab that still holds live objects,
 * the pages that only free objects cover can go back to the OS as well
 * (slab_release_free_pages, "free pages inside slabs").
 *
 * Locking: cache->lock, then meta_lock, then the core's zone locks. This
 * layer is lock-based; the per-CPU object caches in front of it
 * (cpu_cache.c) come to it a batch at a time (slab_alloc_bulk,
 * slab_free_bulk) and never hold a CPU's lock while taking cache->lock.
 * Objects sitting in a per-CPU cache are "allocated" here.
 *
 * Re-entrant callers (slab_alloc_nolock, slab_free_nolock: a signal
 * handler that interrupted its own thread inside the allocator) never wait
 * for a lock: see "Without waiting" below.
 */
#include <errno.h>
#include <string.h>

#include "cpu_cache.h"
#include "lifetime.h"
#include "slab_internal.h"

struct kmem_cache kmem_caches[MIGRATE_PCPTYPES][NR_SIZE_CLASSES];
bool slab_ready;

static void slab_take_deferred_locked(struct kmem_cache *cache);

/* ------------------------------------------------------ slab records */

/*
 * struct slab records come from chunks of the core's HIGHATOMIC reserve,
 * the pageblocks kept for the allocator's own metadata. A record is as long
 * as its slab's objects need (a state byte each), in three sizes, so that a
 * slab of 64 objects does not carry the 256 bytes of a 256-object one; each
 * size keeps its free records on a LIFO list through their list.next field.
 * Chunks are never returned (records are 2-8% of the memory of the slabs
 * they describe: one byte per object and about 72 bytes per slab).
 *
 * Where pointers to free memory live, and which a
 * program could overwrite:
 *   - free slab objects: a bitmap and a state byte per object, in the
 *     slab's record; objects held by the per-CPU layer: in its stacks and
 *     barns, in their own mapping (os_map_meta, cpu_cache.c), never in
 *     the heap, and a mark in the object's word 0 that is the secret
 *     xor'ed with the object's address (slab_internal.h), checked on
 *     every pop and free. A use-after-free write into word 0 only makes
 *     the pop drop the object (or a free report it); it cannot name
 *     another address. A heap overflow cannot reach the per-CPU mapping
 *     except from the last block of a section that the kernel happened to
 *     map right below it (not adjacent to any slab in practice: sections
 *     are 128 MiB aligned and filled from the bottom);
 *   - free pages: page descriptors in the sections' mem_map, a mapping
 *     of its own; direct mappings: a hash table in a mapping of its own;
 *   - free slab records, below: a LIFO list through the records
 *     themselves, in heap pages that a page-level block or a slab may
 *     sit right next to. This is the one in-band link: it is stored
 *     encoded with slab_secret and its own address (glibc's safe-linking
 *     idea, with a secret instead of ASLR alone) and checked when it is
 *     followed, so that an overflow into a free record cannot make the
 *     next record (and the slab built on it) land at an address of the
 *     program's choosing: it aborts instead (meta_link_decode).
 *   Live records (list links, cache, base) are in the same heap pages,
 *   but not pointers to free memory that an allocation follows blindly:
 *   their slab's pages carry page->slab.private pointing back to them.
 */
#define META_CHUNK_ORDER	2
#define META_SIZES		3

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slab *meta_free_list[META_SIZES];
static unsigned long meta_chunks;	/* from the core; under meta_lock */

/* Records of size i hold the state of up to 64 << i objects. */
static unsigned int meta_size_index(unsigned int objects)
{
	return objects <= 64 ? 0 : objects <= 128 ? 1 : 2;
}

static size_t meta_record_bytes(unsigned int i)
{
	size_t bytes = sizeof(struct slab) + ((size_t)64 << i);

	return (bytes + 7) & ~(size_t)7;
}
_Static_assert(64 << (META_SIZES - 1) == SLAB_MAX_OBJECTS,
	       "the largest record holds a state byte per object of any slab");

/* A free record's link: next, encoded with the secret and the link's own
 * address (a copy of one record's link to another place decodes wrong). */
static inline struct cds_list_head *meta_link_encode(struct slab *slab,
						     struct slab *next)
{
	return (struct cds_list_head *)((uintptr_t)next ^ slab_secret ^
					((uintptr_t)&slab->list.next >> 12));
}

/* The record after slab on the free list, checked: NULL, or 8-byte
 * aligned in a heap page that is neither free nor a slab's (records live
 * in chunks allocated from the reserve). Anything else was written over:
 * report and abort (glibc's "malloc(): unaligned tcache chunk detected"). */
static struct slab *meta_link_decode(struct slab *slab)
{
	uintptr_t next = (uintptr_t)slab->list.next ^ slab_secret ^
			 ((uintptr_t)&slab->list.next >> 12);
	struct page *page;

	if (!next)
		return NULL;
	page = virt_to_page((void *)next);
	if (!(next & 7) && page &&
	    !(READ_ONCE(page->flags) & (PG_slab | PG_buddy)))
		return (struct slab *)next;
	os_write(2, "buddymalloc: slab metadata corrupted (free record "
		 "list)\n", 56);
	os_abort();
}

static bool meta_refill(unsigned int i)
{
	size_t chunk = PAGE_SIZE << META_CHUNK_ORDER;
	size_t bytes = meta_record_bytes(i);
	/* Metadata never fails for want of budget (NOFAIL, from the
	 * reserve); meta_lock is held, so no shrinker may run. */
	struct page *page = alloc_pages(__GFP_HIGHATOMIC | __GFP_NOFAIL |
					__GFP_NO_SHRINKERS, META_CHUNK_ORDER);
	char *records;

	if (!page)
		return false;
	meta_chunks++;
	records = page_address(page);
	for (size_t off = 0; off + bytes <= chunk; off += bytes) {
		struct slab *slab = (struct slab *)(records + off);

		slab->list.next = meta_link_encode(slab, meta_free_list[i]);
		meta_free_list[i] = slab;
	}
	return true;
}

static struct slab *meta_alloc(unsigned int objects)
{
	unsigned int i = meta_size_index(objects);
	struct slab *slab = NULL;

	pthread_mutex_lock(&meta_lock);
	if (meta_free_list[i] || meta_refill(i)) {
		slab = meta_free_list[i];
		meta_free_list[i] = meta_link_decode(slab);
	}
	pthread_mutex_unlock(&meta_lock);
	return slab;
}

static void meta_free(struct slab *slab)
{
	unsigned int i = meta_size_index(slab->objects);

	pthread_mutex_lock(&meta_lock);
	slab->list.next = meta_link_encode(slab, meta_free_list[i]);
	meta_free_list[i] = slab;
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

	for (unsigned int order = 0; order <= SLAB_MAX_ORDER; order++) {
		unsigned long bytes = PAGE_SIZE << order;
		unsigned long objects = bytes / size;

		if (objects > SLAB_MAX_OBJECTS)
			continue;
		if (objects >= min_objects && (bytes - objects * size) * 8 <= bytes)
			return order;
	}
	return SLAB_MAX_ORDER;
}

_Static_assert(sizeof(((struct slab *)0)->released) * 8 >= 1U << SLAB_MAX_ORDER,
	       "struct slab's released mask has a bit per page of any slab");

/*
 * The cache lock is held for a batch move of tens of objects. With more
 * threads than CPUs a waiter is better off spinning that long than
 * sleeping in the kernel: glibc's adaptive mutex spins first.
 */
static void cache_lock_init(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

static void kmem_cache_reset(struct kmem_cache *cache)
{
	cache_lock_init(&cache->lock);
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

static const struct shrinker slab_shrinker;

uintptr_t slab_secret;

bool slab_junk;
bool slab_redzone;
void (*slab_junk_report)(const void *p, size_t offset, bool redzone);

/* The secret of the marks (slab_internal.h, enum obj_state): from the 16
 * random bytes the kernel hands every process (AT_RANDOM: no system call),
 * mixed so that it is neither of the two words glibc takes from them (the
 * stack guard and the pointer guard), and odd: a mark of an object (at
 * least 16-byte aligned) is odd too, so a zeroed word is never one. */
static void slab_secret_init(void)
{
	const unsigned char *r = os_auxv_random();
	uint64_t lo = 0x9e3779b97f4a7c15ULL, hi = (uintptr_t)&slab_secret;

	if (r) {
		memcpy(&lo, r, sizeof(lo));
		memcpy(&hi, r + 8, sizeof(hi));
	}
	lo ^= (hi << 29 | hi >> 35) * 0xbf58476d1ce4e5b9ULL;
	lo ^= lo >> 31;
	lo *= 0x94d049bb133111ebULL;
	lo ^= lo >> 29;
	slab_secret = (uintptr_t)(lo | 1);
}

static void slab_init_once(void)
{
	slab_secret_init();
	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		for (unsigned int i = 0; i < NR_SIZE_CLASSES; i++)
			kmem_cache_init(&kmem_caches[mt][i], kmalloc_size[i], mt);
	lifetime_init();
	CMM_STORE_SHARED(slab_ready, true);
	register_shrinker(&slab_shrinker);
	/* After slab_ready: its sysconf() may call malloc, which must find
	 * the slab layer working (and the per-CPU caches not yet). */
	cpu_cache_init();
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
static void set_slab_pages(struct page *head, struct kmem_cache *cache,
			   struct slab *slab)
{
	for (unsigned int i = 0; i < (1U << cache->order); i++) {
		struct page *page = head + i;

		slab_page_init(page, i, slab, cache);
		WRITE_ONCE(page->flags, i ? PG_slab : PG_head | PG_slab);
	}
}

/* Caller holds cache->lock. */
static struct slab *new_slab(struct kmem_cache *cache)
{
	struct slab *slab = meta_alloc(cache->objects);
	struct page *page;

	if (!slab)
		return NULL;
	slab->objects = (uint16_t)cache->objects;	/* meta_free() reads it */
	/* cache->lock is held: direct reclaim must not run the shrinker,
	 * which takes every cache's lock. */
	page = alloc_pages((gfp_t)cache->migratetype | __GFP_NO_SHRINKERS,
			   cache->order);
	if (!page) {
		meta_free(slab);
		return NULL;
	}
	slab->cache = cache;
	slab->base = page_address(page);
	slab->inuse = 0;
	slab->released = 0;
	for (unsigned int w = 0; w < SLAB_BITMAP_WORDS; w++) {
		unsigned int first = w * 64;

		if (first + 64 <= cache->objects)
			slab->free_bitmap[w] = ~0ULL;
		else if (first < cache->objects)
			slab->free_bitmap[w] = (1ULL << (cache->objects - first)) - 1;
		else
			slab->free_bitmap[w] = 0;
	}
	memset(slab->state, OBJ_FREE, cache->objects);
	set_slab_pages(page, cache, slab);
	cache->nr_slabs++;
	return slab;
}

/* Give an empty slab's pages back to the core. Caller holds cache->lock. */
static void discard_slab(struct kmem_cache *cache, struct slab *slab)
{
	struct page *head = virt_to_page(slab->base);

	for (unsigned long i = 1; i < (1UL << cache->order); i++)
		WRITE_ONCE(head[i].flags, 0);
	/* Not an atomic read-modify-write: the slab's pages are allocated
	 * to it, and only this cache (under its lock) writes their flags;
	 * the core's claim fails on a head with PG_slab. */
	WRITE_ONCE(head->flags, READ_ONCE(head->flags) & ~PG_slab);
	/* Its released pages go back to the core as if resident: the core
	 * releases them again when it gives free memory back. */
	if (slab->released)
		reuse_pages_in_use((unsigned long)__builtin_popcount(slab->released));
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

/* ---------------------------------------------- free pages inside slabs */

/*
 * A slab of several pages whose objects died unevenly keeps pages on which
 * every object is free: after a burst most of a multi-page slab's memory
 * can be such pages while one live object keeps the slab. Free objects
 * hold no metadata in band (their state is out of band), so such a page
 * has nothing to keep: slab_release_free_pages() gives it back to the OS
 * (release_pages_in_use: the page stays the slab's) and sets its bit in
 * slab->released, so it is not released again. When an object on a
 * released page is handed out again (slab_alloc_locked, under cache->lock: the
 * per-CPU fast paths only see objects already taken from here), the bit
 * is cleared and the core told; the page reads as zero and the program's
 * first store faults it back in. An object across a page boundary keeps
 * both pages: a page is released only if every object overlapping it is
 * free. Bytes past the last object hold nothing.
 *
 * The madvise runs under cache->lock (which holds off the refills that
 * would hand out the objects on those pages), never under a zone lock.
 */

/* The slab's pages that object idx overlaps, as a mask of page bits. */
static uint32_t object_pages(const struct kmem_cache *cache, unsigned int idx)
{
	size_t start = (size_t)idx * cache->size;
	unsigned int first = (unsigned int)(start >> PAGE_SHIFT);
	unsigned int last = (unsigned int)((start + cache->size - 1) >> PAGE_SHIFT);

	return (uint32_t)(((2ULL << last) - 1) & ~((1ULL << first) - 1));
}

/* Object idx is about to be handed out: its released pages are the
 * slab's own again. Caller holds cache->lock. */
static void reuse_object_pages_locked(struct slab *slab, unsigned int idx)
{
	uint32_t pages = object_pages(slab->cache, idx) & slab->released;

	if (pages) {
		slab->released &= ~pages;
		reuse_pages_in_use((unsigned long)__builtin_popcount(pages));
	}
}

/* Are objects first..last of slab (last < objects) all free? Caller holds
 * cache->lock. */
static bool objects_free_locked(const struct slab *slab, unsigned int first,
			   unsigned int last)
{
	for (unsigned int i = first; i <= last; i++)
		if (!(slab->free_bitmap[i / 64] & (1ULL << (i % 64))))
			return false;
	return true;
}

/* The slab's pages that only free objects (or no object) cover. Caller
 * holds cache->lock. */
static uint32_t __free_pages_mask(const struct kmem_cache *cache,
				  const struct slab *slab)
{
	uint32_t mask = 0;

	for (unsigned int pg = 0; pg < (1U << cache->order); pg++) {
		size_t start = (size_t)pg << PAGE_SHIFT;
		unsigned int first = (unsigned int)(start / cache->size);
		unsigned int last = (unsigned int)((start + PAGE_SIZE - 1) / cache->size);

		if (last >= slab->objects)
			last = slab->objects - 1u;
		if (first > last || objects_free_locked(slab, first, last))
			mask |= 1U << pg;
	}
	return mask;
}

/* Release the free pages of slab not released yet, each run of adjacent
 * pages in one call; returns how many. Caller holds cache->lock. */
static unsigned long release_slab_pages_locked(struct kmem_cache *cache,
					  struct slab *slab)
{
	uint64_t mask = __free_pages_mask(cache, slab) & ~slab->released;
	unsigned long released = 0;

	while (mask) {
		unsigned int first = (unsigned int)__builtin_ctzll(mask);
		unsigned int n = (unsigned int)__builtin_ctzll(~(mask >> first));
		uint64_t run = ((1ULL << n) - 1) << first;

		mask &= ~run;
		if (release_pages_in_use(slab->base + ((size_t)first << PAGE_SHIFT),
					 (size_t)n << PAGE_SHIFT)) {
			slab->released |= (uint32_t)run;
			released += n;
		}
	}
	return released;
}

unsigned long slab_release_free_pages(void)
{
	unsigned long released = 0;

	if (!CMM_LOAD_SHARED(slab_ready))
		return 0;
	for (struct kmem_cache *cache = &kmem_caches[0][0];
	     cache < &kmem_caches[0][0] + MIGRATE_PCPTYPES * NR_SIZE_CLASSES;
	     cache++) {
		struct slab *slab;

		/* A one-page slab with a free page is empty: the spare. */
		if (!cache->order)
			continue;
		pthread_mutex_lock(&cache->lock);
		slab_take_deferred_locked(cache);
		cds_list_for_each_entry(slab, &cache->partial, list)
			released += release_slab_pages_locked(cache, slab);
		if (cache->spare)
			released += release_slab_pages_locked(cache, cache->spare);
		pthread_mutex_unlock(&cache->lock);
	}
	return released;
}

/* Take one object, which becomes state (OBJ_LIVE for the program, or
 * OBJ_CPU for the per-CPU layer, which marks it); NULL when out of memory.
 * Caller holds cache->lock. */
static void *slab_alloc_locked(struct kmem_cache *cache, enum obj_state state,
			  uint8_t **statep)
{
	struct slab *slab;
	unsigned int idx = 0;

	slab = get_partial(cache);
	if (!slab)
		return NULL;
	for (unsigned int w = 0; w < SLAB_BITMAP_WORDS; w++) {
		uint64_t bits = slab->free_bitmap[w];

		if (bits) {
			unsigned int bit = (unsigned int)__builtin_ctzll(bits);

			slab->free_bitmap[w] = bits & (bits - 1);
			idx = w * 64 + bit;
			break;
		}
	}
	if (unlikely(slab->released))
		reuse_object_pages_locked(slab, idx);
	if (unlikely(slab_junk))	/* hardening:junk (slab.h) */
		memset(slab->base + (size_t)idx * cache->size + sizeof(uintptr_t),
		       SLAB_JUNK, cache->size - sizeof(uintptr_t));
	CMM_STORE_SHARED(slab->state[idx], state);
	*statep = &slab->state[idx];
	slab->inuse++;
	cache->nr_objects_inuse++;
	if (slab->inuse == slab->objects)
		cds_list_del(&slab->list);	/* full slabs are on no list */
	return slab->base + (size_t)idx * cache->size;
}

void *slab_alloc(struct kmem_cache *cache)
{
	uint8_t *state;
	void *p;

	pthread_mutex_lock(&cache->lock);
	slab_take_deferred_locked(cache);
	p = slab_alloc_locked(cache, OBJ_LIVE, &state);
	pthread_mutex_unlock(&cache->lock);
	if (!p)
		errno = ENOMEM;
	return p;
}

unsigned int slab_alloc_bulk(struct kmem_cache *cache, unsigned int n,
			     struct slab_object *objs)
{
	unsigned int got = 0;

	pthread_mutex_lock(&cache->lock);
	slab_take_deferred_locked(cache);
	while (got < n &&
	       (objs[got].addr = slab_alloc_locked(cache, OBJ_CPU, &objs[got].state)))
		got++;
	pthread_mutex_unlock(&cache->lock);
	/* Nobody else knows them yet: marked outside the lock. */
	for (unsigned int i = 0; i < got; i++)
		obj_mark(objs[i].addr);
	if (!got)
		errno = ENOMEM;
	return got;
}

/* Caller holds slab->cache->lock. */
static enum kfree_result slab_free_locked(struct slab *slab, void *p)
{
	struct kmem_cache *cache = slab->cache;
	bool was_full;
	long idx;

	idx = object_index(slab, p);
	if (idx < 0 || object_is_free(slab, idx))
		return idx < 0 ? KFREE_INVALID : KFREE_DOUBLE;
	was_full = slab->inuse == slab->objects;
	/* The bit first: at every instant one of the two says "not live". */
	slab->free_bitmap[idx / 64] |= 1ULL << (idx % 64);
	CMM_STORE_SHARED(slab->state[idx], OBJ_FREE);
	/* No mark in a free object: a stale second copy of it still in a
	 * per-CPU stack finds it unmarked and is dropped. */
	if (obj_marked(p))
		obj_unmark(p);
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
	return KFREE_OK;
}

enum kfree_result slab_free(struct slab *slab, void *p)
{
	struct kmem_cache *cache = slab->cache;
	enum kfree_result res;

	pthread_mutex_lock(&cache->lock);
	slab_take_deferred_locked(cache);
	res = slab_free_locked(slab, p);
	pthread_mutex_unlock(&cache->lock);
	return res;
}

unsigned int slab_free_bulk(struct kmem_cache *cache,
			    const struct slab_object *objs, unsigned int n)
{
	unsigned int bad = 0;

	pthread_mutex_lock(&cache->lock);
	slab_take_deferred_locked(cache);
	for (unsigned int i = 0; i < n; i++) {
		struct slab *slab;

		/* A stale second copy: the object was handed out again
		 * (unmarked, or OBJ_LIVE or OBJ_SAMPLED since) or went back
		 * already (OBJ_FREE). */
		if (CMM_LOAD_SHARED(*objs[i].state) != OBJ_CPU ||
		    !obj_marked(objs[i].addr)) {
			bad++;
			continue;
		}
		/* Every object here passed the slot check when it was
		 * freed; the slab cannot have gone while it was allocated. */
		slab = cache_slab_of(objs[i].addr);
		if (!slab || slab->cache != cache ||
		    slab_free_locked(slab, objs[i].addr) != KFREE_OK)
			bad++;
	}
	pthread_mutex_unlock(&cache->lock);
	return bad;
}

/* ----------------------------------------------------- without waiting */

/*
 * A signal handler that interrupted this thread inside the allocator must
 * not wait for any allocator lock: this thread may hold it, or hold a lock
 * that its holder waits for (cache->lock comes before meta_lock and the
 * zone locks, which a page allocation of this thread may hold). Preload
 * knows that case by its depth count and calls kmalloc_nolock and
 * kfree_nolock, which come here when the per-CPU stack cannot serve them:
 *
 *   allocation  an object parked below, else one from a partial slab or
 *               the spare if cache->lock is free (trylock), else NULL
 *               with errno = ENOMEM: no new slab, nothing from the core;
 *   free        into its slab if cache->lock is free and the slab does not
 *               empty beyond the spare (discarding would take the zone
 *               lock), else parked in one of SLAB_DEFER_SLOTS slots of
 *               the cache, lock-free; the next holder of cache->lock
 *               frees the parked objects (slab_take_deferred_locked).
 *
 * A parked object is OBJ_CPU and marked, like one in a per-CPU stack: free for
 * the program, allocated in its slab. A slot is claimed with a
 * compare-and-swap from NULL and emptied with an exchange, so the one who
 * empties it owns what it held; a handler interrupting either on this
 * thread finds the slot in one state or the other. With every slot full
 * (a handler freeing more than SLAB_DEFER_SLOTS objects of one class while
 * its own thread holds that class's lock and its CPU's stack is full), the
 * object is never reused: a leak counted in slab_nolock_leaked, never a
 * corruption and never a wait.
 */
#define SLAB_DEFER_SLOTS	64
#define NR_KMEM_CACHES		(MIGRATE_PCPTYPES * NR_SIZE_CLASSES)

static void *slab_deferred[NR_KMEM_CACHES][SLAB_DEFER_SLOTS];
static long slab_nr_deferred[NR_KMEM_CACHES];	/* may lag the slots */
unsigned long slab_nolock_leaked;

static inline unsigned long cache_index(const struct kmem_cache *cache)
{
	return (unsigned long)(cache - &kmem_caches[0][0]);
}

/* Take parked object p back: true, and OBJ_LIVE, if it is still OBJ_CPU
 * and marked; false for a stale second copy (see cpu_cache.h). */
static bool deferred_claim(void *p)
{
	struct slab *slab = cache_slab_of(p);
	long idx = slab ? object_index(slab, p) : -1;

	if (idx < 0 || CMM_LOAD_SHARED(slab->state[idx]) != OBJ_CPU ||
	    !obj_marked(p))
		return false;
	obj_unmark(p);
	CMM_STORE_SHARED(slab->state[idx], OBJ_LIVE);
	return true;
}

/* Free every parked object of cache into its slab. Caller holds
 * cache->lock (and may wait for locks: not a nolock path). One load when
 * nothing is parked. */
static void slab_take_deferred_locked(struct kmem_cache *cache)
{
	unsigned long c = cache_index(cache);

	if (likely(!uatomic_read(&slab_nr_deferred[c])))
		return;
	for (unsigned int i = 0; i < SLAB_DEFER_SLOTS; i++) {
		void *p = uatomic_xchg(&slab_deferred[c][i], NULL);
		struct slab *slab;
		long idx;

		if (!p)
			continue;
		uatomic_dec(&slab_nr_deferred[c]);
		/* A slab with a parked object is not empty: it is still
		 * there. A stale second copy (not OBJ_CPU and marked) is
		 * dropped. */
		slab = cache_slab_of(p);
		idx = slab ? object_index(slab, p) : -1;
		if (idx >= 0 && slab->cache == cache &&
		    CMM_LOAD_SHARED(slab->state[idx]) == OBJ_CPU &&
		    obj_marked(p))
			slab_free_locked(slab, p);
	}
}

void *slab_alloc_nolock(struct kmem_cache *cache)
{
	unsigned long c = cache_index(cache);
	uint8_t *state;
	void *p = NULL;

	for (unsigned int i = 0; i < SLAB_DEFER_SLOTS; i++) {
		if (!CMM_LOAD_SHARED(slab_deferred[c][i]))
			continue;
		p = uatomic_xchg(&slab_deferred[c][i], NULL);
		if (!p)
			continue;
		uatomic_dec(&slab_nr_deferred[c]);
		if (deferred_claim(p))
			return p;
	}
	p = NULL;
	if (pthread_mutex_trylock(&cache->lock) == 0) {
		/* get_partial() makes no new slab while one of these exists. */
		if (!cds_list_empty(&cache->partial) || cache->spare)
			p = slab_alloc_locked(cache, OBJ_LIVE, &state);
		pthread_mutex_unlock(&cache->lock);
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

void slab_free_nolock(struct slab *slab, void *p)
{
	struct kmem_cache *cache = slab->cache;
	unsigned long c = cache_index(cache);

	if (pthread_mutex_trylock(&cache->lock) == 0) {
		bool discards = slab->inuse == 1 && cache->spare &&
				cache->spare != slab;

		if (!discards)
			slab_free_locked(slab, p);
		pthread_mutex_unlock(&cache->lock);
		if (!discards)
			return;
	}
	for (unsigned int i = 0; i < SLAB_DEFER_SLOTS; i++) {
		if (CMM_LOAD_SHARED(slab_deferred[c][i]))
			continue;
		if (uatomic_cmpxchg(&slab_deferred[c][i], NULL, p) == NULL) {
			uatomic_inc(&slab_nr_deferred[c]);
			return;
		}
	}
	uatomic_inc(&slab_nolock_leaked);
}

/* --------------------------------------------------- trim, stats, fork */

#define for_each_kmem_cache(cache)					\
	for (struct kmem_cache *cache = &kmem_caches[0][0];		\
	     cache < &kmem_caches[0][0] + MIGRATE_PCPTYPES * NR_SIZE_CLASSES; \
	     cache++)

/* Give the per-CPU caches' objects back (every CPU's, or only those of
 * CPUs idle since the last idle scan), then every cache's parked objects
 * and spare empty slab; returns the pages given back to the core. */
static unsigned long do_slab_drain(bool idle_only)
{
	unsigned long pages = 0;

	if (!CMM_LOAD_SHARED(slab_ready))
		return 0;
	if (idle_only)
		cpu_cache_drain_idle();
	else
		cpu_cache_drain();
	for_each_kmem_cache(cache) {
		pthread_mutex_lock(&cache->lock);
		slab_take_deferred_locked(cache);
		if (cache->spare) {
			discard_slab(cache, cache->spare);
			cache->spare = NULL;
			pages += 1UL << cache->order;
		}
		pthread_mutex_unlock(&cache->lock);
	}
	return pages;
}

#ifdef BUDDY_TEST_HOOKS
unsigned long slab_drain(void)
{
	return do_slab_drain(false);
}
#endif

/* The drain, then the free pages left inside partly used slabs. */
static unsigned long do_slab_shrink(bool idle_only)
{
	unsigned long pages = do_slab_drain(idle_only);

	return pages + slab_release_free_pages();
}

unsigned long slab_shrink(void)
{
	return do_slab_shrink(false);
}

/*
 * The slab layer's shrinker: the core's reclaim threads, decay and direct
 * reclaim call it, with no slab lock held (the slab's own page allocations
 * pass __GFP_NO_SHRINKERS). It returns the pages freed to the core or
 * released to the OS. The caches are not per node: a call for node 0
 * or for every node (NUMA_NO_NODE) does the work, the other nodes' calls
 * nothing. struct slab records are not given back (their chunks never
 * are, see "slab records").
 */
static unsigned long slab_shrink_scan(int nid, bool idle_only)
{
	return nid <= 0 ? do_slab_shrink(idle_only) : 0;
}

static const struct shrinker slab_shrinker = {
	.name = "slab",
	.scan_objects = slab_shrink_scan,
};

size_t slab_meta_bytes(void)
{
	size_t bytes;

	pthread_mutex_lock(&meta_lock);
	bytes = meta_chunks * (PAGE_SIZE << META_CHUNK_ORDER);
	pthread_mutex_unlock(&meta_lock);
	return bytes;
}

void slab_stats(size_t *allocated, size_t *slab_bytes)
{
	size_t cached;

	*allocated = 0;
	*slab_bytes = 0;
	if (!CMM_LOAD_SHARED(slab_ready))
		return;
	for_each_kmem_cache(cache) {
		long parked = uatomic_read(&slab_nr_deferred[cache_index(cache)]);

		pthread_mutex_lock(&cache->lock);
		*allocated += cache->nr_objects_inuse * cache->size;
		/* Parked frees are free for the program. */
		if (parked > 0 && (unsigned long)parked <= cache->nr_objects_inuse)
			*allocated -= (size_t)parked * cache->size;
		*slab_bytes += cache->nr_slabs * (PAGE_SIZE << cache->order);
		pthread_mutex_unlock(&cache->lock);
	}
	/* Objects in the per-CPU caches are allocated in their slabs but
	 * free for the program: not counted as allocated. */
	cached = cpu_cache_bytes();
	*allocated = cached < *allocated ? *allocated - cached : 0;
}

_Static_assert(NR_KMEM_CACHE_STATS == NR_KMEM_CACHES,
	       "slab.h's count of caches");

unsigned int kmem_caches_read(struct kmem_cache_stats *out, unsigned int max)
{
	unsigned int n = 0;

	if (!CMM_LOAD_SHARED(slab_ready))
		return 0;
	for_each_kmem_cache(cache) {
		if (n == max)
			break;
		out[n].size = cache->size;
		out[n].migratetype = cache->migratetype;
		out[n].objects = cache->objects;
		out[n].order = cache->order;
		pthread_mutex_lock(&cache->lock);
		out[n].nr_slabs = cache->nr_slabs;
		out[n].active_objs = cache->nr_objects_inuse;
		pthread_mutex_unlock(&cache->lock);
		out[n].cpu_cached = cpu_cache_objects(cache);
		n++;
	}
	return n;
}

bool slab_fork_busy(void)
{
	if (!fork_lock_free(&meta_lock) || lifetime_fork_busy())
		return true;
	if (!CMM_LOAD_SHARED(slab_ready))
		return false;
	for_each_kmem_cache(cache)
		if (!fork_lock_free(&cache->lock))
			return true;
	return false;
}

/*
 * In the child, only this thread exists: make the locks usable again. When
 * the heap is abandoned (slab.h) the caches and records may be
 * half-updated, so they start empty; the inherited slabs are never touched
 * again.
 */
void slab_fork_child(bool abandon)
{
	pthread_mutex_init(&meta_lock, NULL);
	lifetime_fork_child(abandon);
	if (abandon) {
		memset(meta_free_list, 0, sizeof(meta_free_list));
		meta_chunks = 0;
	}
	if (!CMM_LOAD_SHARED(slab_ready))
		return;
	for_each_kmem_cache(cache) {
		if (abandon)
			kmem_cache_reset(cache);
		else
			cache_lock_init(&cache->lock);
	}
	if (abandon) {	/* parked objects belong to the abandoned heap */
		memset(slab_deferred, 0, sizeof(slab_deferred));
		memset(slab_nr_deferred, 0, sizeof(slab_nr_deferred));
	}
	cpu_cache_fork_child(abandon);
}
