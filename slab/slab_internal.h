/*
 * slab_internal.h - the types of the object layer and its cross-file
 * interface (slab.c: caches and slabs; kmalloc.c: the kmalloc family).
 *
 *   kmem_cache  all slabs of one size class and one migrate type (lifetime);
 *   slab        a run of 2^order pages from the core cut into objects of the
 *               class size, with an out-of-band bitmap of its free objects;
 *   object      one block handed to the program.
 *
 * Metadata is out of band: struct slab lives in records carved from pages
 * of the core's HIGHATOMIC reserve, and every page of a slab carries
 * PG_slab and a pointer to its struct slab in its descriptor
 * (page->slab.private), so free() finds the slab in O(1) from any object.
 */
#ifndef BUDDY_SLAB_INTERNAL_H
#define BUDDY_SLAB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/list.h>

#include "page_alloc.h"
#include "size_class.h"
#include "slab.h"

#define SLAB_MAX_OBJECTS	256
#define SLAB_BITMAP_WORDS	(SLAB_MAX_OBJECTS / 64)
#define SLAB_MAX_ORDER		5	/* slabs of 32 KiB objects: 32 pages */

/*
 * What an object is, one byte per object in its slab's record. A byte, not
 * a bit: a slow path stores it without an atomic read-modify-write, and a
 * byte store never disturbs a neighbour's byte that another CPU stores at
 * the same time.
 *
 *   OBJ_LIVE     handed to the program by a slow path (allocated from the
 *                slab directly, or a sampled object whose death is counted);
 *   OBJ_CPU      owned by the per-CPU layer: held in a per-CPU stack, a
 *                barn, a slow path's local batch or a parking slot, or
 *                handed out by it. Which of the two its word 0 says: a
 *                held object is "marked" (obj_marked: word 0 is
 *                slab_secret ^ its address), one handed out is not (the
 *                pop clears the mark). Still "allocated" in the bitmap;
 *   OBJ_FREE     free in the slab (its bitmap bit is set);
 *   OBJ_SAMPLED  live, and sampled by the lifetime classifier: the inline
 *                free sees it is neither OBJ_CPU nor OBJ_LIVE and takes
 *                the slow path, which reports the death (lifetime.c) and
 *                frees it as live.
 *
 * Why word 0 and not the byte: the byte of an object shares a cache line
 * with those of its 63 neighbours, and a store to it on every malloc and
 * free makes threads on two CPUs that reuse neighbouring objects bounce
 * that line on every call (bench/README.md). Word 0 is in the object's own
 * memory, which the caller touches anyway. So the fast paths never store
 * the byte: a pop checks and clears the mark, a push checks and writes it;
 * the byte changes only when an object enters the per-CPU layer from the
 * slab (slab_alloc_bulk: OBJ_CPU, marked) or from a slow-path owner
 * (free of an OBJ_LIVE object), or leaves it (to the slab: OBJ_FREE, mark
 * cleared; sampled: OBJ_SAMPLED). An OBJ_CPU object is never in a page
 * given back to the OS (only pages whose every object is OBJ_FREE are),
 * so its word 0 can always be read.
 *
 * live (obj_live) = OBJ_LIVE or OBJ_SAMPLED, or OBJ_CPU and not marked.
 * free() accepts only a live object, so a double free is caught at the
 * second free, whatever happened in between. A program that writes
 * exactly the marker value into word 0 of a live object and frees it gets
 * a false double-free report: with a random 64-bit secret that the
 * program does not know, negligible. The secret is nonzero and set once
 * at slab_init from the kernel's AT_RANDOM bytes (no system call), so
 * a zeroed word is never a mark.
 */
enum obj_state {
	OBJ_LIVE,
	OBJ_CPU,
	OBJ_FREE,
	OBJ_SAMPLED,
};

/* The per-process secret of the marks (slab.c, slab_init). */
extern uintptr_t slab_secret __attribute__((visibility("hidden")));

static inline uintptr_t obj_marker(const void *p)
{
	return slab_secret ^ (uintptr_t)p;
}

/* Does word 0 of object p hold its mark (held by the per-CPU layer)? */
static inline bool obj_marked(const void *p)
{
	return CMM_LOAD_SHARED(*(const uintptr_t *)p) == obj_marker(p);
}

static inline void obj_mark(void *p)
{
	CMM_STORE_SHARED(*(uintptr_t *)p, obj_marker(p));
}

static inline void obj_unmark(void *p)
{
	CMM_STORE_SHARED(*(uintptr_t *)p, 0);
}

/* Is object p, whose state byte is state, handed to the program and not
 * freed since (sampled or not)? */
static inline bool obj_live(uint8_t state, const void *p)
{
	if (state == OBJ_CPU)
		return !obj_marked(p);
	return state == OBJ_LIVE || state == OBJ_SAMPLED;
}

/*
 * One slab. Protected by its cache's lock, except base, objects and cache,
 * which are fixed while the slab exists, and state[] (above).
 * Invariants: inuse == objects - popcount(free_bitmap);
 *   state[i] == OBJ_FREE iff bit i of free_bitmap is set (under the lock);
 *   on cache->partial iff 0 < inuse < objects, or inuse == 0 and it is not
 *   the cache's spare; a full slab is on no list.
 *   bit p of released is set only while every object overlapping page p
 *   of the slab is OBJ_FREE (slab.c, "free pages inside slabs").
 * A record is as long as its objects need: state[] has slab->objects bytes
 * (slab.c, "slab records").
 */
struct slab {
	struct cds_list_head list;
	struct kmem_cache *cache;
	char *base;			/* first object: the first page's address */
	uint16_t objects;
	uint16_t inuse;
	uint32_t released;		/* bit p: page p given back to the OS */
	uint64_t free_bitmap[SLAB_BITMAP_WORDS];	/* bit set: object free */
	uint8_t state[];		/* enum obj_state, per object */
};

/* An object on its way into or out of a per-CPU stack, with the address of
 * its state byte: a stack holds both, so that a pop needs no lookup of the
 * object's slab to mark it live. */
struct slab_object {
	void *addr;
	uint8_t *state;
};

/*
 * A cache: one size class of one migrate type. size, order, objects and
 * reciprocal are set once at init. Everything else is under lock.
 */
struct kmem_cache {
	pthread_mutex_t lock;
	unsigned int size;
	unsigned int order;		/* slab = 2^order pages */
	unsigned int objects;		/* per slab */
	uint64_t reciprocal;		/* ceil(2^40 / size): offset -> index */
	int migratetype;
	/* Per-CPU object caches (cpu_cache.c), set once at their init:
	 * capacity of this cache's stack on each CPU (0: not cached) and
	 * the byte offset of its first slot in a CPU's region; cc_idx: its
	 * index in kmem_caches, the index of its count in a region. */
	unsigned int cc_cap;
	unsigned int cc_off;
	unsigned int cc_idx;

	struct cds_list_head partial;	/* slabs with free objects */
	struct slab *spare;		/* one empty slab kept against thrash */
	unsigned long nr_slabs;
	unsigned long nr_objects_inuse;
} __attribute__((aligned(64)));	/* 128 bytes: the fast path's class * 128
				 * is a shift, and no two caches share a
				 * line */

/* Hidden (every file is compiled with -fvisibility=hidden, but that says
 * nothing of declarations): kmalloc's fast path adds an index to its
 * address, which with a default-visibility declaration is a load from the
 * GOT that the linker cannot relax. */
extern struct kmem_cache kmem_caches[MIGRATE_PCPTYPES][NR_SIZE_CLASSES]
	__attribute__((visibility("hidden")));

/* A cache's index in kmem_caches (row by row): mt * NR_SIZE_CLASSES +
 * class, which is also its cc_idx (cpu_cache.c). */
static inline unsigned int kmem_cache_idx(const struct kmem_cache *cache)
{
	return (unsigned int)(cache - &kmem_caches[0][0]);
}

/* slab.c */
void slab_init(void);
extern bool slab_ready;
void *slab_alloc(struct kmem_cache *cache);
enum kfree_result slab_free(struct slab *slab, void *p);
/* Up to n objects of cache into objs, OBJ_CPU and marked (held by the
 * per-CPU layer), under one acquisition of cache->lock; returns how many
 * (0: errno = ENOMEM). */
unsigned int slab_alloc_bulk(struct kmem_cache *cache, unsigned int n,
			     struct slab_object *objs);
/* Free objs[0 .. n - 1], objects of cache taken from per-CPU stacks, under
 * one acquisition of cache->lock. An object that is not OBJ_CPU and marked
 * (a stale second copy of one object pushed by two threads that freed it
 * at the same instant: handed out again, or freed already) is left alone;
 * returns how many there were. */
unsigned int slab_free_bulk(struct kmem_cache *cache,
			    const struct slab_object *objs, unsigned int n);
/* For a caller that must not wait for any lock (slab.c, "without
 * waiting"): an object of cache, OBJ_LIVE, or NULL with errno = ENOMEM;
 * and the free of p, a live object of slab already OBJ_CPU and marked. */
void *slab_alloc_nolock(struct kmem_cache *cache);
void slab_free_nolock(struct slab *slab, void *p);
/* Objects that slab_free_nolock could neither free nor park. */
extern unsigned long slab_nolock_leaked;
unsigned long slab_shrink(void);	/* pages freed or released */
#ifdef BUDDY_TEST_HOOKS
/* Tests: slab_shrink() without releasing the free pages inside slabs: the
 * per-CPU caches drained, parked objects taken, spare slabs freed. */
unsigned long slab_drain(void);
#endif
void slab_stats(size_t *allocated, size_t *slab_bytes);
/* Bytes of the core's pages holding struct slab records (never returned). */
size_t slab_meta_bytes(void);
/* In the child of fork(): was a lock of this layer held by another thread
 * of the parent at the fork? Then what it protects may be half-updated. */
bool slab_fork_busy(void);
void slab_fork_child(bool abandon);

#ifdef BUDDY_TEST_HOOKS
/* cpu_cache.c, tests: batches held by cache's barn (its store of full
 * batches between the per-CPU stacks; racy unless quiet). */
unsigned int cpu_cache_barn_batches(const struct kmem_cache *cache);
#endif

/* The slab holding the page of p, or NULL if that page is not a slab's. */
static inline struct slab *page_slab(const struct page *page)
{
	if (!(READ_ONCE(page->flags) & PG_slab))
		return NULL;
	return (struct slab *)page->slab.private;
}

/*
 * Every page of a slab describes its objects in its descriptor
 * (page->slab), so that the inline free finds an object's state byte and
 * cache from the page descriptor alone, without loading struct slab or
 * the cache first:
 *   cache       the slab's kmem_cache;
 *   offset      the page's byte offset from the slab's first object;
 *   reciprocal  ceil(2^32 / size): for an offset o that starts an object,
 *               (o * reciprocal) >> 32 is its index (exact: o < 2^17, so
 *               the rounding up adds less than o / 2^32 * size < 1 / size
 *               of an object);
 *   size        the class size: the index * size == o check refuses an
 *               address inside an object;
 *   span        objects * size: an address past the last object (the
 *               slab's tail) starts none;
 *   cache_idx   cache->cc_idx, the index of the cache's count in a CPU's
 *               region (cpu_cache.h), for the push;
 *   private     the struct slab, where the state bytes are.
 * Written before PG_slab, while the pages are the slab layer's alone;
 * fixed while the slab exists.
 */
_Static_assert(KMALLOC_MAX_CACHE_SIZE <= UINT16_MAX, "page->slab.size");
_Static_assert((PAGE_SIZE << SLAB_MAX_ORDER) <= (1u << 17),
	       "page->slab.reciprocal is exact for slab offsets below 2^17");

static inline void slab_page_init(struct page *page, unsigned int i,
				  struct slab *slab, struct kmem_cache *cache)
{
	page->slab.cache = cache;
	page->slab.offset = (uint32_t)(i << PAGE_SHIFT);
	page->slab.reciprocal = (uint32_t)(((1ULL << 32) + cache->size - 1) /
					   cache->size);
	page->slab.size = (uint16_t)cache->size;
	page->slab.cache_idx = (uint16_t)kmem_cache_idx(cache);
	page->slab.span = cache->objects * cache->size;
	page->slab.private = (uintptr_t)slab;
}

/* The state byte of the object starting at p, whose page is the slab page
 * page (PG_slab), or NULL if p starts no object. Lock-free. */
static inline uint8_t *page_object_state(const struct page *page, const void *p)
{
	uint32_t off = page->slab.offset +
		       (uint32_t)((uintptr_t)p & (PAGE_SIZE - 1));
	uint32_t idx = (uint32_t)(((uint64_t)off * page->slab.reciprocal) >> 32);

	if (unlikely(off >= page->slab.span || idx * page->slab.size != off))
		return NULL;
	return &((struct slab *)page->slab.private)->state[idx];
}

/* The index of the object starting at p, or -1 if p starts no object.
 * Lock-free: base, objects and cache are fixed while the slab exists. */
static inline long object_index(const struct slab *slab, const void *p)
{
	const struct kmem_cache *cache = slab->cache;
	uintptr_t offset = (uintptr_t)p - (uintptr_t)slab->base;
	uintptr_t idx = (uintptr_t)(((uint64_t)offset * cache->reciprocal) >> 40);

	if ((uintptr_t)p < (uintptr_t)slab->base || idx >= slab->objects ||
	    idx * cache->size != offset)
		return -1;
	return (long)idx;
}

/* Racy without cache->lock: a hint, except for a live object the caller
 * owns (its bit is clear and stays clear). */
static inline bool object_is_free(const struct slab *slab, long idx)
{
	return CMM_LOAD_SHARED(slab->free_bitmap[idx / 64]) & (1ULL << (idx % 64));
}

/* Is p the start of an object slot of slab (live or free)? */
static inline bool slab_object_slot(const struct slab *slab, const void *p)
{
	return object_index(slab, p) >= 0;
}

/* Is p the start of a live object of slab (handed out, not freed since)?
 * Exact for an object the caller owns; racy for others. */
static inline bool slab_object_live(const struct slab *slab, const void *p)
{
	long idx = object_index(slab, p);

	return idx >= 0 && obj_live(CMM_LOAD_SHARED(slab->state[idx]), p);
}

/* The slab holding p, or NULL if p is not in a slab's page. */
static inline struct slab *cache_slab_of(const void *p)
{
	struct page *page = virt_to_page(p);

	return page ? page_slab(page) : NULL;
}

#endif /* BUDDY_SLAB_INTERNAL_H */
