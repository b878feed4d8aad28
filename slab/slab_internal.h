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

#include "internal.h"
#include "size_class.h"
#include "slab.h"

#define SLAB_MAX_OBJECTS	256
#define SLAB_BITMAP_WORDS	(SLAB_MAX_OBJECTS / 64)

/*
 * One slab. Protected by its cache's lock, except base, objects and cache,
 * which are fixed while the slab exists.
 * Invariants: inuse == objects - popcount(free_bitmap);
 *   on cache->partial iff 0 < inuse < objects, or inuse == 0 and it is not
 *   the cache's spare; a full slab is on no list.
 */
struct slab {
	struct cds_list_head list;
	struct kmem_cache *cache;
	char *base;			/* first object: the first page's address */
	uint16_t objects;
	uint16_t inuse;
	uint64_t free_bitmap[SLAB_BITMAP_WORDS];	/* bit set: object free */
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
};

extern struct kmem_cache kmem_caches[MIGRATE_PCPTYPES][NR_SIZE_CLASSES];

/* slab.c */
void slab_init(void);
extern bool slab_ready;
void *slab_alloc(struct kmem_cache *cache);
enum kfree_result slab_free(struct slab *slab, void *p);
/* Up to n objects of cache into objs under one acquisition of cache->lock;
 * returns how many (0: errno = ENOMEM). */
unsigned int slab_alloc_bulk(struct kmem_cache *cache, unsigned int n,
			     void **objs);
/* Free objs[0 .. n - 1], live slab objects of cache, under one acquisition
 * of cache->lock. Returns how many were already free in their bitmap
 * (double frees found late; those are left alone). */
unsigned int slab_free_bulk(struct kmem_cache *cache, void **objs,
			    unsigned int n);
void slab_shrink(void);
void slab_stats(size_t *allocated, size_t *slab_bytes);
void slab_fork_prepare(void);
void slab_fork_parent(void);
void slab_fork_child(bool abandon);

/* The slab holding the page of p, or NULL if that page is not a slab's. */
static inline struct slab *page_slab(const struct page *page)
{
	if (!(page->flags & PG_slab))
		return NULL;
	return (struct slab *)page->slab.private;
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

/* Is p the start of a live object of slab? */
static inline bool slab_object_live(const struct slab *slab, const void *p)
{
	long idx = object_index(slab, p);

	return idx >= 0 && !object_is_free(slab, idx);
}

/* The slab holding p, or NULL if p is not in a slab's page. */
static inline struct slab *cache_slab_of(const void *p)
{
	struct page *page = virt_to_page(p);

	return page ? page_slab(page) : NULL;
}

#endif /* BUDDY_SLAB_INTERNAL_H */
