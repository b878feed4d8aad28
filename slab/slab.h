/*
 * slab.h - the object layer's interface to preload/: every allocation the
 * malloc family makes goes through these calls (the kernel's kmalloc
 * family). Small sizes come from slab caches; sizes above the largest class
 * are page allocations from the core; sizes above the largest buddy block
 * are direct mappings (the core's huge.c). None of these names is exported
 * from the shared library, and none of them ever calls malloc.
 *
 * Contract for every call here:
 *   - failure returns NULL with errno = ENOMEM, nothing else changed;
 *   - every returned block is 16-byte aligned, and distinct from every
 *     other live block, size 0 included;
 *   - the calls are thread-safe and may be called before any constructor.
 */
#ifndef BUDDY_SLAB_H
#define BUDDY_SLAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm_types.h"

/* What a free or realloc found at the pointer it was given. */
enum kfree_result {
	KFREE_OK,
	KFREE_INVALID,	/* not a block we returned, or inside one */
	KFREE_DOUBLE,	/* a block we returned that is already free */
	KFREE_SIZE,	/* kfree_sized: live, but not of the size given */
	KFREE_ALIGN,	/* kfree_sized: live, but not aligned as given */
};

/*
 * Where a malloc-family call came from, for the lifetime classifier
 * (lifetime.c): the return address of the exported function
 * (__builtin_return_address(0)) and the caller's stack pointer at the call
 * (__builtin_dwarf_cfa(): the same wherever the exported function
 * evaluates it, whatever its own frame does meanwhile). ret NULL: no site,
 * the gfp lifetime bits are an explicit hint (counted as hinted).
 */
struct alloc_site {
	const void *ret;
	uintptr_t sp;
};

/* The site of the function this is expanded in (a macro: a builtin's
 * frame is the function's it is written in). */
#define ALLOC_SITE_HERE()						\
	((struct alloc_site){ __builtin_return_address(0),		\
			      (uintptr_t)__builtin_dwarf_cfa() })

/* size bytes (size 0 gets the smallest class). gfp: lifetime bits (an
 * explicit migrate type: 0 is UNMOVABLE) and __GFP_ZERO only. */
void *kmalloc(size_t size, gfp_t gfp);

/*
 * The same for the malloc family: the lifetime comes from this thread's
 * hint (buddymalloc_thread_lifetime) if it has one, else from the
 * classifier's prediction for site; gfp then has no lifetime bits. A
 * site with ret NULL takes gfp's lifetime bits as an explicit hint.
 * Objects up to KMALLOC_MAX_CACHE_SIZE and page-level blocks up to 4 MiB
 * are typed so; direct mappings have no type.
 */
void *kmalloc_site(size_t size, gfp_t gfp, struct alloc_site site);

/* size bytes aligned to align, a power of two (any: 1 up to what the OS
 * can map; below 16 counts as 16). Validation of odd alignments is the
 * caller's (glibc's rules differ per function). The _site variant types
 * the block as kmalloc_site does. */
void *kmalloc_aligned(size_t size, size_t align, gfp_t gfp);
void *kmalloc_aligned_site(size_t size, size_t align, gfp_t gfp,
			   struct alloc_site site);

/* Free p (not NULL). On anything but KFREE_OK nothing was changed. */
enum kfree_result kfree(void *p);

/*
 * kfree (nolock: kfree_nolock) for free_sized and free_aligned_sized: p
 * must be the block an allocation of size bytes aligned to align (a power
 * of two; 1 for none) gets, or that realloc to size leaves in place: a
 * small object of the class such a request takes, or page-level blocks
 * and direct mappings of size rounded up to whole pages. Any size that
 * maps to the same block is accepted (the block does not record the size
 * asked for); KFREE_ALIGN if p is not aligned to align. Nothing is freed
 * unless KFREE_OK.
 */
enum kfree_result kfree_sized(void *p, size_t size, size_t align, bool nolock);

/* Resize p (not NULL) to size (> 0), in place when possible, keeping
 * min(old, new) bytes. On NULL: *res says why (KFREE_OK: out of memory,
 * errno = ENOMEM, p is untouched; otherwise p is invalid). */
void *krealloc(void *p, size_t size, gfp_t gfp, enum kfree_result *res);
/* The same; a block that moves is allocated as kmalloc_site does. */
void *krealloc_site(void *p, size_t size, gfp_t gfp, struct alloc_site site,
		    enum kfree_result *res);

/*
 * kmalloc and kfree for a caller that may hold any allocator lock: a
 * signal handler that interrupted its own thread inside one of these calls
 * (preload's depth count tells). For small sizes (slab objects) they never
 * wait for a lock: kmalloc_nolock may then fail (NULL, errno = ENOMEM)
 * where kmalloc would have waited or grown the heap, and kfree_nolock may
 * park the object for the next holder of its cache's lock (slab.c,
 * "without waiting"). Page allocations and direct mappings take the same
 * locks as kmalloc and kfree: not safe there. The site is used as by
 * kmalloc_site, but such an allocation is never sampled.
 */
void *kmalloc_nolock(size_t size, gfp_t gfp, struct alloc_site site);
enum kfree_result kfree_nolock(void *p);

/*
 * hardening:junk (preload's conf.c), set before the first allocation and
 * fixed afterwards. On: every slab object is filled with SLAB_JUNK when it
 * leaves its slab and when it is freed (all but word 0, which the per-CPU
 * layer's mark and the slab's clearing of it own), and checked when it is
 * allocated: a byte that is not SLAB_JUNK was written after the object was
 * freed, and slab_junk_report is called with the object and the offset
 * before the object is handed out. Page-level blocks are filled when
 * freed (not checked: their pages may go back to the OS and come back
 * zero); direct mappings are unmapped or cached whole and not filled. The
 * inline fast paths are off meanwhile (cpu_cache_state.malloc_fast and
 * free_fast: the tests they make anyway).
 */
#define SLAB_JUNK	0x5a
extern bool slab_junk;

/*
 * hardening:redzone (with junk): a small object of size bytes is taken
 * from the class of size + SLAB_REDZONE_MIN; past size up to its last
 * word it holds SLAB_REDZONE, and its last word the size (xor'ed with the
 * slab secret). ksize() says size, realloc keeps it, and every free and
 * realloc checks the redzone first: a byte written past the end is passed
 * to slab_junk_report with redzone true (and the object is freed all the
 * same). Page-level blocks and direct mappings have none.
 */
#define SLAB_REDZONE		0xa5
#define SLAB_REDZONE_MIN	16	/* at least 8 redzone bytes and the size */
extern bool slab_redzone;

/* What hardening found: object p written at offset after its free, or
 * (redzone) past its end. Set by preload (its report). */
extern void (*slab_junk_report)(const void *p, size_t offset, bool redzone);

/* Usable bytes of the live block p; 0 if p is not a live block of ours. */
size_t ksize(const void *p);
/* The same, with what p is in *res (0 unless KFREE_OK). */
size_t ksize_check(const void *p, enum kfree_result *res);

/* Give free memory back to the OS; returns true if any was released. */
bool kmem_trim(void);

/*
 * Give back to the OS every page inside a partly used slab that only free
 * objects cover (slab.c, "free pages inside slabs"); the pages stay the
 * slab's and read as zero when an object on them is handed out again.
 * Objects in the per-CPU caches count as used: drain those first for the
 * most. Returns the pages released. For malloc_trim and the core's reclaim
 * (the slab shrinker). Takes each cache's lock in turn, and no other.
 */
unsigned long slab_release_free_pages(void);

/* Totals for mallinfo2/malloc_stats/malloc_info. Approximate while other
 * threads allocate, exact when they do not. */
struct kmem_stats {
	size_t small_allocated;	/* bytes in live small blocks (class sizes) */
	size_t small_slab_bytes;	/* bytes of pages held by slabs */
	size_t large_allocated;	/* bytes in live page allocations */
	size_t huge_allocated;	/* bytes in live direct mappings */
	size_t nr_huge;		/* live direct mappings */
	size_t max_huge_allocated;	/* peak of huge_allocated */
	size_t max_nr_huge;	/* peak of nr_huge */
	size_t huge_cached;	/* bytes of freed direct mappings kept mapped
				 * (and resident) for reuse */
	size_t nr_huge_cached;	/* such ranges */
	size_t heap_bytes;	/* bytes of address space onlined from the OS */
	size_t free_bytes;	/* free bytes on the buddy free lists */
	size_t meta_bytes;	/* bytes of heap pages holding the allocator's
				 * own metadata (struct slab records, the
				 * lifetime classifier's tables) */
	size_t cpu_cached_bytes;	/* free objects in the per-CPU caches */
	size_t released_bytes;	/* free heap bytes given back to the OS (or
				 * never touched): not resident */
	size_t slab_released_bytes;	/* pages inside slabs given back to
				 * the OS (only free objects on them):
				 * not resident */
	size_t resident_bytes;	/* what the allocator holds resident: heap
				 * minus released, plus direct mappings,
				 * live and cached */
};
void kmem_stats(struct kmem_stats *st);

/* One slab cache (a size class of one migrate type): /proc/slabinfo's
 * numbers. Objects in the per-CPU caches are active in their slabs. */
struct kmem_cache_stats {
	unsigned int size;		/* object size, bytes */
	int migratetype;		/* MIGRATE_UNMOVABLE, _MOVABLE, ... */
	unsigned int objects;		/* objects per slab */
	unsigned int order;		/* a slab is 2^order pages */
	unsigned long nr_slabs;
	unsigned long active_objs;	/* taken from the slabs */
	unsigned long cpu_cached;	/* of them, free in the per-CPU caches */
};
/* Every cache, type by type, class by class (NR_KMEM_CACHE_STATS of
 * them, empty ones too, so that an index names one cache). Each under
 * its lock. Returns how many were written (0 before the first
 * allocation). */
#define NR_KMEM_CACHE_STATS	(MIGRATE_PCPTYPES * 40)	/* NR_SIZE_CLASSES */
unsigned int kmem_caches_read(struct kmem_cache_stats *out, unsigned int max);

/* Bytes of free objects each CPU's object cache holds, into out[cpu] for
 * the first max_cpus CPUs (racy reads); returns how many CPUs have one. */
unsigned int cpu_cache_cpu_bytes(size_t *out, unsigned int max_cpus);

/*
 * The lifetime classifier's settings, set before the first allocation
 * (preload's conf.c: classifier, lifetime_sample) and fixed afterwards;
 * the age threshold is core_config.lifetime_ms. lifetime_enabled false:
 * every small object is UNMOVABLE and page-level blocks MOVABLE, as
 * before the classifier, and nothing is sampled.
 */
#define LIFETIME_SAMPLE_DEFAULT	256
extern bool lifetime_enabled;
extern unsigned int lifetime_sample_mean;	/* allocations per sample */

/*
 * A thread's lifetime hint (include/buddymalloc.h): 0 none, else the
 * migrate type + 1 that every malloc-family allocation of this thread
 * gets. Returns the previous one.
 */
unsigned int kmalloc_thread_hint(unsigned int hint);

/*
 * The lifetime classifier (lifetime.c): what it has seen, for mallctl and
 * stats_print. Counts are since start-up; sites' counts decay.
 */
struct lifetime_stats {
	bool enabled;			/* classifier:true */
	unsigned long samples;		/* allocations sampled */
	unsigned long sampled_short;	/* samples predicted short-lived */
	unsigned long sampled_long;	/* samples predicted long-lived */
	unsigned long died_young;	/* samples freed before lifetime_ms */
	unsigned long survived;		/* samples alive at lifetime_ms */
	unsigned long sites;		/* sites tracked now */
	unsigned long sites_long;	/* of them predicted long-lived */
	unsigned long sites_split;	/* wrapper sites split by call depth */
	unsigned long reclassified;	/* predictions changed, either way */
	unsigned long hinted;		/* allocations with an explicit hint */
};
void lifetime_stats_read(struct lifetime_stats *st);

/* One site of the classifier's table. */
struct lifetime_site {
	const void *site;		/* return address of the call */
	unsigned int size;		/* size class, bytes; 0: the site
					 * over all its size classes */
	unsigned int depth;		/* call depth (split sites), else 0 */
	unsigned long samples;		/* decayed counts */
	unsigned long survived;
	int migratetype;		/* prediction: MIGRATE_MOVABLE short,
					 * MIGRATE_UNMOVABLE long; -1 for a
					 * split site (its sub-sites, with
					 * depth, predict) */
};
/* Up to max sites into out, most sampled first; returns how many. Never
 * calls malloc; takes the classifier's lock only. */
unsigned int lifetime_sites_read(struct lifetime_site *out, unsigned int max);

/* What a site's prediction means, for reports: "long", "short", "split". */
static inline const char *lifetime_site_type(const struct lifetime_site *site)
{
	if (site->migratetype < 0)
		return "split";
	return site->migratetype == MIGRATE_UNMOVABLE ? "long" : "short";
}

/*
 * fork(). No lock of the allocator is held across fork(): holding them is
 * what deadlocks. Another library's atfork handler that runs
 * after ours would allocate under our locks, and glibc's fork() takes the
 * stdio list lock after every atfork handler, while a thread inside
 * malloc may hold a FILE lock that a thread holding the list lock waits
 * for. So nothing happens before fork(), and the child decides, alone:
 *
 * kmem_fork_child(abandon), first thing in the child. It tries every lock
 * of the slab layer and the core. A lock that another thread of the parent
 * held at the fork stays held forever in the child (that thread does not
 * exist here), and the state under it may be half-updated: then, or when
 * the caller says so, the child abandons the inherited heap. Its blocks
 * stay readable and writable, ksize() and krealloc() still work on them,
 * kfree() of them does nothing, and new allocations come from fresh
 * memory. Otherwise every structure is consistent (the child sees each
 * thread's stores up to some point, in order, and no thread was inside a
 * critical section) and the child keeps the heap, with fresh locks.
 * Returns true if the heap was abandoned.
 *
 * The caller passes abandon for a fork from a signal handler that
 * interrupted this very thread inside the allocator (preload/ knows that
 * case: its per-thread depth counter is non-zero): that thread's own
 * state may be half-updated with no lock to show it.
 */
bool kmem_fork_child(bool abandon);

#endif /* BUDDY_SLAB_H */
