/*
 * kmalloc_fast.h - the inline fast paths of malloc and free, for preload/.
 *
 * In rseq mode a small malloc is a pop and a small free a push on this
 * CPU's stack (cpu_cache.h), with no lock, no atomic read-modify-write and
 * no system call: nothing a signal handler or a fork could find half done
 * (an interrupted restartable sequence restarts; outside one the stacks
 * are consistent). So these need neither preload's allocator-depth count,
 * which exists to recognise a fork from a handler that interrupted a lock
 * holder, nor errno saving: they never touch errno. The fallback mode has
 * its own pair at the end of this file. Whatever they cannot
 * do (the fallback mode, an empty or full stack, large sizes, any pointer
 * that is not a live slab object) they leave to the full kmalloc/kfree,
 * which repeat every check and report what is wrong. A popped object may
 * be a stale second copy (cc_take_popped): the slow path drops it.
 */
#ifndef BUDDY_KMALLOC_FAST_H
#define BUDDY_KMALLOC_FAST_H

#include "cpu_cache.h"
#include "lifetime.h"
#include "slab_internal.h"

/* The cache of class and type mt (MIGRATE_UNMOVABLE (0) or
 * MIGRATE_MOVABLE (1)): a mask of the row's size, not a multiply, and no
 * branch (one malloc serves sites of both types). */
static inline struct kmem_cache *kmalloc_fast_cache(unsigned int class, int mt)
{
	return (struct kmem_cache *)((char *)&kmem_caches[0][class] +
				     ((0 - (uintptr_t)mt) &
				      sizeof(kmem_caches[0])));
}

/*
 * A block of size bytes of the lifetime predicted for site (lifetime.h: a
 * table lookup and the sampling countdown), or NULL: take the slow path
 * (kmalloc_site), which also samples and applies thread hints. The
 * countdown is this CPU's, decremented in the pop, unless a thread has
 * set a hint (cpu_cache_state.malloc_fast -1): then this thread's.
 */
static inline void *kmalloc_fast(size_t size, struct alloc_site site)
{
	int fast = cpu_cache_state.malloc_fast;
	uint8_t *state;
	void *p;

	if (unlikely(size > KMALLOC_MAX_CACHE_SIZE))
		return NULL;
	if (likely(fast == 1)) {
		unsigned int class = size_to_class(size);

		p = cc_pop_rseq_counted(kmalloc_fast_cache(class,
				lifetime_predict_nocount(site, class)), &state);
	} else if (fast == -1) {
		unsigned int class = size_to_class(size);
		int mt = lifetime_predict(site, class);

		if (unlikely(mt < 0))
			return NULL;
		p = cc_pop_rseq(kmalloc_fast_cache(class, mt), &state);
	} else {
		return NULL;
	}
	if (likely(p) && likely(cc_take_popped(state)))
		return p;
	return NULL;
}

/*
 * Free p if it is a live slab object and this CPU's stack takes it; false:
 * take the slow path (which repeats the checks and reports). Only OBJ_LIVE
 * is taken here: an object freed before, wherever it is now (a per-CPU
 * stack, its slab), and a sampled one (OBJ_SAMPLED: the slow path counts
 * its death) are refused.
 */
static inline bool kfree_fast(void *p)
{
	struct kmem_cache *cache;
	struct page *page;
	struct slab *slab;
	uint8_t *state;
	long idx;

	if (unlikely(cpu_cache_state.mode != CC_RSEQ))
		return false;
	page = virt_to_page(p);
	if (unlikely(!page || !(page->flags & PG_slab) || page_abandoned(page)))
		return false;
	slab = page_slab(page);
	idx = object_index(slab, p);
	if (unlikely(idx < 0))
		return false;
	cache = slab->cache;
	state = &slab->state[idx];
	/* One register for the state's address from here on: otherwise gcc
	 * keeps slab and idx alive across the section to recompute it for
	 * the rare store below, and free() needs a stack frame. */
	__asm__("" : "+r"(state));
	if (unlikely(CMM_LOAD_SHARED(*state) != OBJ_LIVE))
		return false;
	CMM_STORE_SHARED(*state, OBJ_CACHED);
	if (likely(cc_push_rseq(cache, p, state)))
		return true;
	CMM_STORE_SHARED(*state, OBJ_LIVE);
	return false;
}

/* ------------------------------------------------- the fallback mode
 *
 * The same two paths over the per-CPU locks (CC_LOCKED: cpu_cache.h,
 * cc_pop_locked_fast). A lock can be held by the very call a signal
 * handler interrupted, and a fork from that handler must know it: so the
 * caller counts itself inside the allocator around these (preload's depth
 * count, which is how the slow paths recognise both). The lifetime
 * countdown is this thread's (lifetime.h).
 */
static inline void *kmalloc_fast_locked(size_t size, struct alloc_site site)
{
	unsigned int class;
	uint8_t *state;
	void *p;

	if (unlikely(size > KMALLOC_MAX_CACHE_SIZE))
		return NULL;
	if (unlikely(--lifetime_countdown < 0))
		return NULL;	/* the slow path samples, or applies a hint */
	class = size_to_class(size);
	p = cc_pop_locked_fast(kmalloc_fast_cache(class,
				lifetime_predict_nocount(site, class)), &state);
	if (likely(p) && likely(cc_take_popped(state)))
		return p;
	return NULL;
}

/* kfree_fast's checks, then the push under this CPU's lock. */
static inline bool kfree_fast_locked(void *p)
{
	struct kmem_cache *cache;
	struct page *page;
	struct slab *slab;
	uint8_t *state;
	long idx;

	page = virt_to_page(p);
	if (unlikely(!page || !(page->flags & PG_slab) || page_abandoned(page)))
		return false;
	slab = page_slab(page);
	idx = object_index(slab, p);
	if (unlikely(idx < 0))
		return false;
	cache = slab->cache;
	state = &slab->state[idx];
	if (unlikely(CMM_LOAD_SHARED(*state) != OBJ_LIVE))
		return false;
	CMM_STORE_SHARED(*state, OBJ_CACHED);
	if (likely(cc_push_locked_fast(cache, p, state)))
		return true;
	CMM_STORE_SHARED(*state, OBJ_LIVE);
	return false;
}

#endif /* BUDDY_KMALLOC_FAST_H */
