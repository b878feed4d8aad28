/*
 * kmalloc_fast.h - the inline fast paths of malloc and free, for preload/.
 *
 * In rseq mode a small malloc is a pop and a small free a push on this
 * CPU's stack (cpu_cache.h), with no lock, no atomic read-modify-write and
 * no system call: nothing a signal handler or a fork could find half done
 * (an interrupted restartable sequence restarts; outside one the stacks
 * are consistent). So these need neither preload's allocator-depth count,
 * which exists to recognise a fork from a handler that interrupted a lock
 * holder, nor errno saving: they never touch errno. Whatever they cannot
 * do (the fallback mode, an empty or full stack, large sizes, any pointer
 * that is not a live slab object) they leave to the full kmalloc/kfree,
 * which repeat every check and report what is wrong.
 */
#ifndef BUDDY_KMALLOC_FAST_H
#define BUDDY_KMALLOC_FAST_H

#include "cpu_cache.h"
#include "slab_internal.h"

/* A long-lived (UNMOVABLE) block of size bytes, or NULL: take the slow
 * path. */
static inline void *kmalloc_fast(size_t size)
{
	if (likely(size <= KMALLOC_MAX_CACHE_SIZE &&
		   cpu_cache_state.mode == CC_RSEQ))
		return cc_pop_rseq(&kmem_caches[MIGRATE_UNMOVABLE][size_to_class(size)]);
	return NULL;
}

/* Free p if it is a live slab object and this CPU's stack takes it; false:
 * take the slow path. */
static inline bool kfree_fast(void *p)
{
	struct page *page;
	struct slab *slab;
	long idx;

	if (unlikely(cpu_cache_state.mode != CC_RSEQ))
		return false;
	page = virt_to_page(p);
	if (unlikely(!page || !(page->flags & PG_slab) || page_abandoned(page)))
		return false;
	slab = page_slab(page);
	idx = object_index(slab, p);
	if (unlikely(idx < 0 || object_is_free(slab, idx)))
		return false;
	return likely(cc_push_rseq(slab->cache, p) == CC_PUSHED);
}

#endif /* BUDDY_KMALLOC_FAST_H */
