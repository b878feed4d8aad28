/*
 * lifetime.h - the lifetime classifier (lifetime.c), slab-internal: which
 * migrate type a malloc-family allocation gets, predicted from its call
 * site, and the inline piece of that prediction for the fast path.
 *
 *   site       the return address of the exported malloc-family call;
 *   key        (site, size class), and for a SPLIT site (a wrapper such as
 *              xmalloc or operator new, whose samples are mixed or hold a
 *              long-lived minority) also the
 *              call depth: the thread pointer minus the stack pointer in
 *              the exported call, which glibc makes the stack depth plus
 *              a constant per thread (the TCB sits at the top of a
 *              thread's stack). It separates the call chains of a wrapper
 *              that reach it at different depths, not two chains at the
 *              same depth, and in the main thread (whose TCB is not on its
 *              stack) it is a constant offset of its own, learnt apart
 *              from the other threads';
 *   prediction a byte per key in a tagless table indexed by a hash of the
 *              key: MIGRATE_MOVABLE (short-lived, what an unknown site
 *              gets) or MIGRATE_UNMOVABLE (long-lived), with LT_SPLIT: look
 *              again in the split table, keyed with the depth too, where
 *              LT_UNKNOWN (a depth not learnt yet) means the primary
 *              byte's type.
 *
 * Fast path cost: a multiply-shift hash and one byte load, and a
 * decrement of the sampling countdown; a split site adds a thread pointer
 * load and a second hash and load. No lock, no atomic read-modify-write.
 * The countdown is this CPU's (cpu_cache.h, CC_COUNTDOWN_OFF: one
 * instruction in kmalloc_fast's pop section) in rseq mode while no thread
 * has a hint (cpu_cache_state.malloc_fast == 1), else this thread's (TLS,
 * lifetime_countdown: the fallback mode, and a hint keeps its thread's at
 * 0). When the countdown runs out the allocation takes the slow path
 * (lifetime_slow), which may sample it.
 *
 * Sampling: a sampled object's birth is recorded (address, key, time);
 * its death (the free) or its aging past lifetime_ms (the shrinker, or an
 * overdue pass from the sampling slow path) updates its key's decaying
 * counts, and the decision rule of lifetime.c turns them into the
 * prediction byte. A sampled slab object has OBJ_SAMPLED in its state
 * byte (so the inline free takes the slow path, which reports the death);
 * a sampled page-level block has LT_PAGE_SAMPLED in its head page's
 * slab.private (written on every page-level allocation of the malloc
 * family, so a stale value is never read).
 */
#ifndef BUDDY_LIFETIME_H
#define BUDDY_LIFETIME_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu_cache.h"
#include "page_alloc.h"
#include "size_class.h"
#include "slab.h"

#define LT_TABLE_SHIFT		14	/* prediction bytes: 16 KiB */
#define LT_SPLIT_SHIFT		12	/* depth-keyed prediction bytes */
#define LT_SPLIT		0x80u	/* prediction byte: site is split */
#define LT_UNKNOWN		0x40u	/* split byte: no sub-site learnt */
#define LT_MT_MASK		0x03u	/* prediction byte: the migrate type */

/* Key classes: the size classes, then one per order of page-level blocks. */
#define LT_NR_CLASSES		(NR_SIZE_CLASSES + NR_PAGE_ORDERS)
static inline unsigned int lt_large_class(unsigned int order)
{
	return NR_SIZE_CLASSES + order;
}

/* page->slab.private of a page-level block's head page: sampled. */
#define LT_PAGE_SAMPLED		((uintptr_t)1)

/* Indexed by lt_index(): 2^LT_TABLE_SHIFT bytes, and room past them for
 * the last site hash's classes (no mask on the fast path). */
extern uint8_t lifetime_table[(1u << LT_TABLE_SHIFT) + LT_NR_CLASSES];
extern uint8_t lifetime_split_table[1u << LT_SPLIT_SHIFT];

/* Allocations this thread makes on the fast path before the slow path
 * runs again (sample, thread hint), when the per-CPU countdown is not in
 * use (top of file): an allocation that finds it at 0 or below takes the
 * slow path, so the test is "below 0 after the decrement", one decrement
 * of memory and a sign test in kmalloc_fast (the fallback mode). Initial-exec TLS,
 * zero in a new thread (slow path first). */
extern __thread long lifetime_countdown
	__attribute__((tls_model("initial-exec")));

/* The hash of a key; the top bits index a table. */
static inline uint64_t lt_hash(const void *site, unsigned int class,
			       uintptr_t depth)
{
	uint64_t k = ((uint64_t)(uintptr_t)site ^ ((uint64_t)class << 52)) +
		     (uint64_t)depth * 0xff51afd7ed558ccdULL;

	return k * 0x9e3779b97f4a7c15ULL;
}

/*
 * A primary key's byte: the site's hash plus its class. Each key still
 * lands on a uniformly random byte (two keys of different sites collide
 * with probability 2^-LT_TABLE_SHIFT, those of one site never), and the
 * multiply, on the site alone, runs while the fast path is still working
 * out the size class.
 */
static inline uintptr_t lt_index(const void *site, unsigned int class)
{
	uintptr_t h = (uintptr_t)(((uint64_t)(uintptr_t)site *
				   0x9e3779b97f4a7c15ULL) >> (64 - LT_TABLE_SHIFT));

	return h + class;	/* the table has LT_NR_CLASSES bytes spare */
}

static inline unsigned int lt_split_index(const void *site, unsigned int class,
					  uintptr_t depth)
{
	return (unsigned int)(lt_hash(site, class, depth) >> (64 - LT_SPLIT_SHIFT));
}

/* The call depth of an exported call whose stack pointer was sp. */
static inline uintptr_t lt_depth(uintptr_t sp)
{
	return (uintptr_t)__builtin_thread_pointer() - sp;
}

/* A split site's type at depth; b is its primary byte. */
static inline uint8_t lt_split_lookup(uint8_t b, const void *site,
				      unsigned int class, uintptr_t depth)
{
	uint8_t s = CMM_LOAD_SHARED(lifetime_split_table[
			lt_split_index(site, class, depth)]);

	return (s & LT_UNKNOWN ? b : s) & LT_MT_MASK;
}

/* The prediction for a key, without sampling: MIGRATE_MOVABLE or
 * MIGRATE_UNMOVABLE. */
static inline int lifetime_lookup(const void *site, unsigned int class,
				  uintptr_t depth)
{
	uint8_t b = CMM_LOAD_SHARED(lifetime_table[lt_index(site, class)]);

	if (unlikely(b & LT_SPLIT))
		b = lt_split_lookup(b, site, class, depth);
	return b;
}

/* The prediction for a key of site, without the countdown. */
static inline int lifetime_predict_nocount(struct alloc_site site,
					   unsigned int class)
{
	uint8_t b = CMM_LOAD_SHARED(lifetime_table[lt_index(site.ret, class)]);

	if (unlikely(b & LT_SPLIT))
		b = lt_split_lookup(b, site.ret, class, lt_depth(site.sp));
	return b;
}

/* Count one allocation; true when the countdown ran out (top of file:
 * this CPU's or this thread's). */
static inline bool lifetime_countdown_due(void)
{
	if (CMM_LOAD_SHARED(cpu_cache_state.malloc_fast) == 1) {
		int32_t *cd = cc_countdown();

		if (cd)
			return --*cd <= 0;
	}
	return --lifetime_countdown < 0;
}

/*
 * The migrate type for an allocation of class at site, or -1: take
 * lifetime_slow() (the countdown ran out: a sample is due, or this thread
 * has a hint, or the classifier has not seen this thread or CPU yet).
 * For the slow paths of kmalloc.c; kmalloc_fast counts in its pop.
 */
static inline int lifetime_predict(struct alloc_site site, unsigned int class)
{
	if (unlikely(lifetime_countdown_due()))
		return -1;
	return lifetime_predict_nocount(site, class);
}

/* What lifetime_slow() decided for one allocation. */
struct lifetime_req {
	int migratetype;
	bool sample;		/* record it (lifetime_record) once allocated */
	bool hinted;		/* the type is a hint, not a prediction */
	const void *site;	/* the key */
	unsigned int class;
	uintptr_t depth;	/* 0 unless the site is split */
};

/* Set up the tables (slab_init_once); with classifier:false every
 * prediction is MIGRATE_UNMOVABLE and nothing is sampled. */
void lifetime_init(void);
/* Bytes of heap pages holding the classifier's tables (kmem_stats'
 * meta_bytes). */
size_t lifetime_meta_bytes(void);

/*
 * The slow path of a prediction (after lifetime_predict() said -1): the
 * thread's hint if it has one (counted as hinted, never sampled), else the
 * prediction, sampled when the classifier is on (req->sample; the
 * countdown restarts at a random interval of mean lifetime_sample).
 * nolock: the caller may hold any allocator lock (a signal handler inside
 * the allocator): never samples, leaving the countdown run out for the
 * next allocation.
 */
int lifetime_slow(struct lifetime_req *req, struct alloc_site site,
		  unsigned int class, bool nolock);
/* Count one allocation with an explicit lifetime (buddymalloc_malloc_hint). */
void lifetime_count_hint(void);

/* Record the birth of p for req (under the classifier's lock). false: not
 * recorded (the table is full of samples not yet counted): do not mark p
 * sampled. */
bool lifetime_record(const struct lifetime_req *req, const void *p);
/* p, marked sampled, is being freed: count its death. nolock: only if the
 * classifier's lock is free (else its record ages into a survivor: a lost
 * sample, see lifetime.c). */
void lifetime_sampled_free(const void *p, bool nolock);

/* In the child of fork() (slab_fork_busy / slab_fork_child). */
bool lifetime_fork_busy(void);
void lifetime_fork_child(bool abandon);

/*
 * The classifier with an explicit clock (ms), for tests and for the
 * wrappers above, which pass os_monotonic_ms(): record a birth, a death,
 * and an aging pass (samples older than lifetime_ms not yet counted count
 * as survivors).
 */
bool lifetime_record_at(const void *p, const void *site, unsigned int class,
		       uintptr_t depth, uint64_t now);
void lifetime_age_at(uint64_t now);
#ifdef BUDDY_TEST_HOOKS
bool lifetime_free_at(const void *p, uint64_t now);
/* Tests: forget everything (the tables as at init), and run this thread's
 * and every CPU's countdown out: the next allocation samples. */
void lifetime_reset(void);
#endif

#endif /* BUDDY_LIFETIME_H */
