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
 * be a stale second copy (cc_take_popped: not marked): the slow path
 * drops it.
 */
#ifndef BUDDY_KMALLOC_FAST_H
#define BUDDY_KMALLOC_FAST_H

#include "cpu_cache.h"
#include "lifetime.h"
#include "slab_internal.h"

/* The index in kmem_caches (kmem_cache_idx) of the cache of class and
 * type mt (MIGRATE_UNMOVABLE (0) or MIGRATE_MOVABLE (1)): a mask, not a
 * multiply, and no branch (one malloc serves sites of both types). It is
 * also the index of the cache's count in a CPU's region. */
static inline unsigned int kmalloc_fast_idx(unsigned int class, int mt)
{
	return class + ((0u - (unsigned int)mt) & NR_SIZE_CLASSES);
}

/*
 * A block of size bytes of the lifetime predicted for site (lifetime.h: a
 * table lookup and the sampling countdown), or NULL: take the slow path
 * (kmalloc_site), which also samples and applies thread hints. The
 * countdown is this CPU's, decremented in the pop, unless a thread has
 * set a hint (cpu_cache_state.malloc_fast -1): then this thread's.
 *
 * In the fallback mode (malloc_fast 2) the pop is under this CPU's lock
 * (cpu_cache.h, cc_pop_locked_fast), and the countdown this thread's. A
 * lock can be held by the very call a signal handler interrupted, and a
 * fork from that handler must know it: so the pop is counted in depth,
 * the caller's allocator-depth count (preload's), which is how the slow
 * paths recognise both.
 */
static inline __attribute__((always_inline))
void *kmalloc_fast(size_t size, struct alloc_site site,
				 unsigned int *depth)
{
	int fast = cpu_cache_state.malloc_fast;
	unsigned int class, idx;
	uint8_t *state;
	void *p;

	if (likely(size <= SIZE_CLASS_LOOKUP_MAX))
		class = size_class_lookup[(size + 15) >> 4];
	else if (size <= KMALLOC_MAX_CACHE_SIZE)
		class = size_to_class_large(size);
	else
		return NULL;
	if (likely(fast == 1)) {
		idx = kmalloc_fast_idx(class,
				       lifetime_predict_nocount(site, class));
		p = cc_pop_rseq_counted(&kmem_caches[0][0] + idx, idx, &state);
	} else if (fast == -1) {
		int mt;

		mt = lifetime_predict(site, class);
		if (unlikely(mt < 0))
			return NULL;
		idx = kmalloc_fast_idx(class, mt);
		p = cc_pop_rseq_at(&kmem_caches[0][0] + idx, idx, &state);
	} else if (fast == 2) {
		if (unlikely(--lifetime_countdown < 0))
			return NULL;	/* the slow path samples, or applies a hint */
		idx = kmalloc_fast_idx(class,
				       lifetime_predict_nocount(site, class));
		(*depth)++;
		cmm_barrier();
		p = cc_pop_locked_fast(&kmem_caches[0][0] + idx, &state);
		cmm_barrier();
		(*depth)--;
	} else {
		return NULL;
	}
	/* The slot's state pointer is not used: a pop checks and clears
	 * the object's mark (cc_take_popped), never its state byte. */
	(void)state;
	if (likely(p) && likely(cc_take_popped(p)))
		return p;
	return NULL;
}

/*
 * The checks both free paths make: if p is a live slab object, mark it
 * (obj_mark, before the push: a second free sees it) and return its state
 * byte, with its page descriptor in *pagep; the caller pushes it, or
 * clears the mark again (obj_unmark: live) if the stack is full. NULL:
 * take the slow path. An address outside the heap, in a section a forked
 * child abandoned (virt_to_page_live), in a page that is not a slab's,
 * inside an object or past a slab's last object (page_object_state), an
 * object freed before (OBJ_CPU and marked, or OBJ_FREE) and a sampled one
 * (OBJ_SAMPLED: the slow path counts its death) are all refused.
 *
 * The state byte is only loaded: an object the per-CPU layer handed out is
 * OBJ_CPU already. Only one that a slow path allocated (OBJ_LIVE) is
 * stored OBJ_CPU, once. So a malloc/free pair on the fast paths writes
 * nothing but the object's word 0 and the stack (slab_internal.h, enum
 * obj_state: the state bytes of 64 objects share a cache line).
 */
static inline __attribute__((always_inline))
uint8_t *kfree_fast_claim(void *p, struct page **pagep)
{
	struct page *page;
	uint8_t *state;
	uint8_t s;

	page = virt_to_page_live(p);
	if (unlikely(!page || !(READ_ONCE(page->flags) & PG_slab)))
		return NULL;
	state = page_object_state(page, p);
	if (unlikely(!state))
		return NULL;
	/* One register for the state's address from here on: otherwise gcc
	 * keeps the slab and the index alive across the rseq section to
	 * recompute it for the rare store after it, and free() needs a
	 * stack frame. */
	__asm__("" : "+r"(state));
	s = CMM_LOAD_SHARED(*state);
	if (likely(s == OBJ_CPU)) {
		if (unlikely(obj_marked(p)))
			return NULL;	/* freed before: the slow path reports */
	} else if (s == OBJ_LIVE) {
		CMM_STORE_SHARED(*state, OBJ_CPU);
	} else {
		return NULL;
	}
	obj_mark(p);
	*pagep = page;
	return state;
}

/*
 * Free p if it is a live slab object (kfree_fast_claim) and this CPU's
 * stack takes it; false: take the slow path (which repeats the checks and
 * reports).
 *
 * Dependent loads from p to its state byte: the section's mem_map, the
 * page descriptor (one line: flags, cache, reciprocal, size, span, slab),
 * then the state byte; the cache's stack offsets for the push.
 */
static inline bool kfree_fast(void *p)
{
	struct page *page;
	uint8_t *state;

	if (unlikely(cpu_cache_state.free_fast != CC_RSEQ))
		return false;
	state = kfree_fast_claim(p, &page);
	if (unlikely(!state))
		return false;
	if (likely(cc_push_rseq_at(page->slab.cache, page->slab.cache_idx, p,
				   state)))
		return true;
	obj_unmark(p);
	return false;
}

/* ------------------------------------------------- the fallback mode
 *
 * kfree_fast's checks, then the push under this CPU's lock (CC_LOCKED:
 * cpu_cache.h, cc_push_locked_fast). The caller counts itself inside the
 * allocator around it, as kmalloc_fast does around its pop (above).
 */
static inline bool kfree_fast_locked(void *p)
{
	struct page *page;
	uint8_t *state;

	state = kfree_fast_claim(p, &page);
	if (unlikely(!state))
		return false;
	if (likely(cc_push_locked_fast(page->slab.cache, p, state)))
		return true;
	obj_unmark(p);
	return false;
}

#endif /* BUDDY_KMALLOC_FAST_H */
