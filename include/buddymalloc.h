/*
 * buddymalloc.h - public extension API of libbuddymalloc.
 *
 * The malloc family itself is exported under its standard names; this header
 * adds what a kernel-style allocator can offer beyond it: a page API with
 * gfp-style flags, and the allocator's state in the layouts of
 * /proc/buddyinfo and /proc/pagetypeinfo.
 */
#ifndef BUDDYMALLOC_H
#define BUDDYMALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Allocation flags, modelled on the kernel's gfp flags.
 *
 * Lifetime (the migrate type): 0 asks for long-lived memory (UNMOVABLE),
 * BUDDY_GFP_MOVABLE for short-lived memory, BUDDY_GFP_RECLAIMABLE for caches
 * the program could drop. Memory of one lifetime is grouped into the same
 * 2 MiB pageblocks, so that when short-lived memory dies whole pageblocks
 * empty. Setting both lifetime bits is invalid.
 */
#define BUDDY_GFP_MOVABLE	0x01u	/* short-lived */
#define BUDDY_GFP_RECLAIMABLE	0x02u	/* a cache that may be dropped */
#define BUDDY_GFP_LOW32		0x04u	/* every byte below 4 GiB */
#define BUDDY_GFP_ZERO		0x08u	/* zero the memory */

/*
 * What to do when the memory budget (BUDDYMALLOC_CONF=limit) is short, as
 * the kernel's modifiers do. By default an allocation wakes the reclaim
 * thread, then reclaims in the calling thread (gives free memory back to
 * the OS, drains the caches) and retries while that makes progress, up to
 * 16 times, before it fails with ENOMEM.
 */
#define BUDDY_GFP_NOWAIT	0x10u	/* no reclaim in this thread; may dip
					 * a little below the min watermark */
#define BUDDY_GFP_NORETRY	0x20u	/* one reclaim attempt, then fail */
#define BUDDY_GFP_RETRY_MAYFAIL	0x40u	/* retry reclaim as long as it helps,
					 * then fail (also for orders above
					 * 3, which otherwise give up after
					 * one attempt) */
#define BUDDY_GFP_NOFAIL	0x80u	/* never fail: kept for the
					 * allocator's own metadata; from
					 * the page API it means
					 * BUDDY_GFP_RETRY_MAYFAIL */

/* The largest order the page API serves: 2^10 pages, 4 MiB with 4 KiB pages. */
#define BUDDY_MAX_PAGE_ORDER	10

/*
 * Allocate 2^order contiguous pages, aligned to their size.
 * Returns NULL with errno = ENOMEM on failure (or EINVAL for a bad order or
 * flags).
 */
void *buddymalloc_alloc_pages(unsigned int order, unsigned int gfp_flags);

/*
 * Free pages from buddymalloc_alloc_pages(); order must be the one they were
 * allocated with. A pointer that is not such an allocation (a block of
 * malloc, a page inside an allocation, a wrong order, memory that is not
 * ours) is reported on stderr and the process aborts (with
 * BUDDYMALLOC_CONF=bad_free:report the call is ignored instead). Blocks of
 * this API are not malloc's: free() and realloc() report them likewise.
 */
void buddymalloc_free_pages(void *addr, unsigned int order);

/*
 * Allocate size bytes rounded up to whole pages, aligned to the next power of
 * two of that many pages; the pages past the rounded size go straight back to
 * the allocator (the kernel's alloc_pages_exact). size may be at most
 * 2^BUDDY_MAX_PAGE_ORDER pages.
 */
void *buddymalloc_alloc_pages_exact(size_t size, unsigned int gfp_flags);

/* Free an allocation of buddymalloc_alloc_pages_exact() of the same size
 * (bytes rounding up to the same number of pages); any other pointer is
 * reported as by buddymalloc_free_pages(). */
void buddymalloc_free_pages_exact(void *addr, size_t size);

/*
 * Lifetime hints for the malloc family. Without one, an allocation's
 * lifetime is predicted from its call site (the lifetime classifier,
 * BUDDYMALLOC_CONF=classifier): short-lived blocks are grouped in
 * pageblocks of their own, so that when they die whole pageblocks go back
 * to the OS. A hint overrides the prediction:
 *   BUDDY_LIFETIME_AUTO   no hint: the classifier decides;
 *   BUDDY_LIFETIME_SHORT  short-lived (MOVABLE pageblocks for blocks up
 *                         to 32 KiB, RECLAIMABLE ones for larger blocks,
 *                         so that the two kinds do not mix);
 *   BUDDY_LIFETIME_LONG   long-lived (UNMOVABLE pageblocks).
 * The blocks are ordinary malloc blocks (free, realloc, malloc_usable_size
 * take them). Blocks above 4 MiB are direct mappings and have no lifetime.
 */
#define BUDDY_LIFETIME_AUTO	0u
#define BUDDY_LIFETIME_SHORT	1u
#define BUDDY_LIFETIME_LONG	2u

/* malloc(size) with lifetime; an unknown lifetime fails with EINVAL. */
void *buddymalloc_malloc_hint(size_t size, unsigned int lifetime);

/*
 * Give every malloc-family allocation of the calling thread this lifetime
 * from now on (BUDDY_LIFETIME_AUTO: back to the classifier; an unknown
 * value counts as AUTO). Returns the thread's previous hint. A hinted
 * thread's allocations skip the classifier's fast path (a few ns each).
 */
unsigned int buddymalloc_thread_lifetime(unsigned int lifetime);

/*
 * Print the allocator's state. write_cb receives NUL-terminated text pieces;
 * with write_cb NULL the text goes to stderr. opts NULL or "" prints every
 * report but the summary; otherwise only the reports named in it:
 * "summary" (resident bytes, split into live and kept, by kind),
 * "buddyinfo", "pagetypeinfo", "vmstat" (page counts and event counters
 * in /proc/vmstat's layout), "zoneinfo" (each zone's budget, watermarks,
 * protection and per-CPU page lists in /proc/zoneinfo's layout),
 * "lifetime" (the lifetime classifier's counts and its most sampled
 * allocation sites, each predicted short- or long-lived).
 * Safe to call at any time, from any thread; it never calls malloc, and
 * write_cb is called with no allocator lock held.
 */
void buddymalloc_stats_print(void (*write_cb)(void *opaque, const char *text),
			     void *opaque, const char *opts);

/*
 * Read and write settings and statistics by name, as jemalloc's mallctl:
 *
 *   "version"            const char *  read-only
 *   "opt.<key>"          every BUDDYMALLOC_CONF key: bool for true/false
 *                        keys, size_t for sizes, const char * for keys that
 *                        take a name ("opt.bad_free": "abort" or "report");
 *                        writable, except keys that only work at start-up
 *                        ("opt.max_memory")
 *   "stats.<field>"      size_t, read-only: small_allocated (bytes in live
 *                        small objects), small_slab_bytes (bytes of slabs),
 *                        large_allocated (live page-sized allocations),
 *                        huge_allocated and nr_huge (live direct mappings),
 *                        huge_cached and nr_huge_cached (freed direct
 *                        mappings kept mapped for reuse until decay,
 *                        memory pressure or malloc_trim unmaps them),
 *                        heap_bytes (heap onlined from the OS), free_bytes
 *                        (on the buddy free lists), meta_bytes (heap pages
 *                        holding the allocator's own metadata), allocated
 *                        (small + large + huge). When the program is quiet
 *                        and malloc_trim() has run, heap_bytes - free_bytes
 *                        == small_slab_bytes + large_allocated + meta_bytes;
 *                        fork_kept and fork_abandoned (forks whose child
 *                        kept the inherited heap, or gave it up because
 *                        another thread was inside the allocator at the
 *                        fork; a child counts its own fork on top of what
 *                        it inherited)
 *   "stats.vmstat.<event>"  size_t, read-only: each event counter of the
 *                        "vmstat" report
 *   "stats.classifier.<count>"  size_t, read-only: the lifetime
 *                        classifier's counts: samples (allocations
 *                        sampled), sampled_short and sampled_long (samples
 *                        by the lifetime predicted for them), died_young
 *                        and survived (samples freed before lifetime_ms,
 *                        samples alive at it), sites, sites_long,
 *                        sites_split (sites tracked, of them predicted
 *                        long-lived, of them wrappers split by call
 *                        depth), reclassified (predictions changed),
 *                        hinted (allocations with an explicit lifetime);
 *                        retyped_majority and retyped_pinned (pageblocks
 *                        re-typed because most of what they hold has the
 *                        other lifetime, or because a few objects pinned a
 *                        short-lived pageblock for lifetime_ms), and
 *                        wrong_type_pageblocks (pageblocks that hold mostly
 *                        the other lifetime, at the last scan)
 *   "stats.classifier.site.<i>.<field>"  read-only: the classifier's i-th
 *                        most sampled site, i from 0 (ENOENT past the last,
 *                        and from 256 on): addr (the return address of the
 *                        malloc call), size (its size class in bytes; 0 for
 *                        the site over all its classes), depth (the call
 *                        depth of a wrapper's sub-site, else 0), samples
 *                        and survived (decayed counts), as size_t; type, a
 *                        const char *: "long", "short", or "split" (a
 *                        wrapper whose sub-sites, by depth, predict)
 *
 * To read, pass oldp and *oldlenp == the value's size; to write, newp and
 * newlen == the value's size (both at once: the old value is read first).
 * oldp NULL with oldlenp set stores the value's size in *oldlenp. Returns 0,
 * or ENOENT for an unknown name, EINVAL for a wrong size or value (*oldlenp
 * is then set to the right size), EPERM for a read-only name.
 *
 * BUDDYMALLOC_CONF=help lists the keys, their values and what they do.
 */
int buddymalloc_mallctl(const char *name, void *oldp, size_t *oldlenp,
			void *newp, size_t newlen);

#ifdef __cplusplus
}
#endif

#endif /* BUDDYMALLOC_H */
