/*
 * page_alloc.h - the core's public interface: all that slab/ and preload/
 * use of the buddy page allocator (and the tests of those layers). The rest
 * of core/ is in internal.h, private to core/, which includes this file.
 * Types live in mm_types.h.
 *
 * Nothing here ever calls malloc. Every call is thread-safe unless it says
 * otherwise.
 */
#ifndef BUDDY_PAGE_ALLOC_H
#define BUDDY_PAGE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <urcu/compiler.h>
#include <urcu/uatomic.h>

#include "mm_types.h"

struct seq_buf;

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* ----------------------------------------------------------- core config */

/*
 * Settings of the core, set before the first allocation (by the
 * BUDDYMALLOC_CONF parser, or by a test) and read-only afterwards.
 */
struct core_config {
	/* Sections each zone may online; 0 means as many as the OS gives. */
	unsigned long zone_max_sections[MAX_NR_ZONES];
};

extern struct core_config core_config;

/* ------------------------------------------------------------------ os.c */
/* The only file that makes system calls; what the layers above use of it. */

/* size bytes (a multiple of PAGE_SIZE) of fresh zeroed read-write memory,
 * committed (no MAP_NORESERVE), page-aligned; NULL on failure. */
void *os_map(size_t size);
void os_unmap(void *addr, size_t size);
void os_write(int fd, const char *buf, size_t len);
__attribute__((noreturn)) void os_abort(void);
/* CPUs the system may bring online (sysconf; may allocate). */
long os_nr_cpus(void);
/* The CPU this thread runs on now, or -1 (sched_getcpu). */
int os_current_cpu(void);
/* This process's id (a system call: glibc caches none since 2.25). */
pid_t os_getpid(void);
void os_yield(void);
/* membarrier's rseq commands: register the process once, then restart
 * every restartable sequence running on cpu (and fence it). */
bool os_membarrier_register_rseq(void);
bool os_membarrier_rseq_cpu(int cpu);

/* ---------------------------------------------- addresses and pages (sparse.c) */
/* The lock-free lookup from any address to its page descriptor. */

extern struct mem_section *mem_section[NR_MEM_SECTIONS];

static inline unsigned long pfn_to_section_nr(unsigned long pfn)
{
	return pfn >> PFN_SECTION_SHIFT;
}

static inline struct mem_section *load_section(unsigned long nr)
{
	struct mem_section *ms = CMM_LOAD_SHARED(mem_section[nr]);

	cmm_smp_read_barrier_depends();
	return ms;
}

/* The online section holding pfn, or NULL. Lock-free: a section is fully
 * initialised before it is published with a release store. */
static inline struct mem_section *__pfn_to_section(unsigned long pfn)
{
	unsigned long nr = pfn_to_section_nr(pfn);

	if (unlikely(nr >= NR_MEM_SECTIONS))
		return NULL;
	return load_section(nr);
}

static inline struct mem_section *page_section(const struct page *page)
{
	return (struct mem_section *)((uintptr_t)page & ~(SECTION_META_ALIGN - 1));
}

/* page is in a section that a forked child gave up (fork.c): the block it
 * heads belongs to no zone any more and frees of it do nothing. */
static inline bool page_abandoned(const struct page *page)
{
	return page_section(page)->abandoned;
}

static inline unsigned long page_to_pfn(const struct page *page)
{
	const struct mem_section *ms = page_section(page);

	return ms->start_pfn + (unsigned long)(page - ms->mem_map);
}

static inline void *page_address(const struct page *page)
{
	return (void *)(page_to_pfn(page) << PAGE_SHIFT);
}

/* The descriptor of the page holding addr, or NULL if addr is not in the
 * heap. Lock-free and O(1); any pointer value is safe to pass. */
static inline struct page *virt_to_page(const void *addr)
{
	unsigned long pfn = (uintptr_t)addr >> PAGE_SHIFT;
	struct mem_section *ms = __pfn_to_section(pfn);

	if (!ms)
		return NULL;
	return &ms->mem_map[pfn - ms->start_pfn];
}

/* ---------------------------------------------------- page allocation */

/*
 * Allocate 2^order pages; NULL with errno = ENOMEM (or EINVAL). The gfp
 * owner bit (__GFP_LARGE_KMALLOC, __GFP_PAGE_API, or none) is recorded on
 * the head page as its PG_ owner flag; the frees below take that flag.
 */
struct page *alloc_pages(gfp_t gfp, unsigned int order);
/*
 * Free pages from alloc_pages() made for owner (PG_large_kmalloc,
 * PG_page_api, or 0 for the allocator's own). false (nothing changed) when
 * page is not the head of an allocation of that order for that owner: a
 * double or invalid free, an interior page, a slab's page (PG_slab), a
 * block of another owner. A block of an abandoned section (fork.c) is only
 * checked for its head and owner flags: true, doing nothing.
 */
bool free_pages_owned(struct page *page, unsigned int order,
		      unsigned int owner);

/* Page-granular allocation: 2^get_order(nr) pages whose tail past nr pages
 * goes back at once. */
void *alloc_pages_exact(size_t size, gfp_t gfp);
/* The same, the first page aligned to 2^align_order pages (at most
 * MAX_PAGE_ORDER): 2^max(get_order(nr), align_order) pages, tail returned.
 * NULL with errno = EINVAL (size or align_order too large) or ENOMEM. */
void *alloc_pages_exact_aligned(size_t size, unsigned int align_order,
				gfp_t gfp);
/* Free an exact allocation of size bytes made for owner. false (nothing
 * changed) when addr is not the start of such an allocation. A block of an
 * abandoned section: as free_pages_owned(). */
bool free_pages_exact_owned(void *addr, size_t size, unsigned int owner);
/*
 * Resize an exact allocation of old_size bytes made for owner in place to
 * new_size bytes (both rounded up to pages, at most MAX_ORDER_NR_PAGES
 * pages). Shrinking frees the tail pages; growing takes the pages right
 * after the allocation when every one of them is free, in the same section,
 * and of no reserved pageblock type. false, nothing changed: it cannot grow
 * here, or addr and old_size are not an exact allocation for owner.
 * Abandoned blocks never grow and "shrink" by keeping all their pages.
 */
bool resize_pages_exact_owned(void *addr, size_t old_size, size_t new_size,
			      unsigned int owner);

/* The same for the allocator's own blocks (no owner flag): slab pages once
 * slab/ has cleared PG_slab, and the core's tests. */
static inline bool free_pages_checked(struct page *page, unsigned int order)
{
	return free_pages_owned(page, order, 0);
}

static inline bool free_pages_exact_checked(void *addr, size_t size)
{
	return free_pages_exact_owned(addr, size, 0);
}

static inline bool resize_pages_exact(void *addr, size_t old_size,
				      size_t new_size)
{
	return resize_pages_exact_owned(addr, old_size, new_size, 0);
}

/* The migrate type a gfp mask asks for (its lifetime bits). */
int gfp_migratetype(gfp_t gfp);

/* Idempotent, thread-safe, never calls malloc. */
void buddy_core_init(void);

/* ---------------------------------------------------------------- reclaim */

/* Release every free page of every zone to the OS (os_release), adjacent
 * free blocks in one call; returns the pages released. For malloc_trim. */
unsigned long release_free_pages(void);

/* ------------------------------------------------- direct mappings (huge.c) */
/* Allocations above the largest buddy block: direct mappings from the OS,
 * tracked in a hash table of their own (never in the section table). */

/* size bytes rounded up to pages, aligned to align (a power of two; below
 * PAGE_SIZE counts as PAGE_SIZE), zeroed (fresh mappings are, so
 * __GFP_ZERO is free). gfp: lifetime bits are ignored; __GFP_LOW32 is not
 * served. NULL with errno = ENOMEM, or EINVAL for a bad align. */
void *huge_alloc(size_t size, size_t align, gfp_t gfp);
/* Unmap the huge block starting at p. false, nothing changed: p is not the
 * start of a live huge block. An abandoned block (fork.c) stays mapped and
 * is forgotten: true. */
bool huge_free(void *p);
/* Bytes usable in the live huge block starting at p (its mapping's size);
 * 0 for any other pointer. Safe and cheap on pointers that are not ours. */
size_t huge_usable_size(const void *p);
/* Resize the huge block p to size bytes (rounded up to pages) with mremap,
 * moving it if it must. NULL: errno = ENOMEM and p is untouched, or
 * errno = EINVAL when p is not a live huge block. */
void *huge_realloc(void *p, size_t size);
/* Live huge blocks and their bytes (abandoned ones not counted). */
void huge_stats(size_t *bytes, size_t *count);
/* The most live huge blocks, and bytes in them, there ever were at once. */
void huge_peak_stats(size_t *max_bytes, size_t *max_count);
/* ---------------------------------------- pages released in use (reclaim.c) */

/*
 * Pages inside an allocated block whose owner knows they hold nothing (the
 * slab layer: pages of a slab covered only by free objects). They go back
 * to the OS with MADV_DONTNEED but stay allocated, and read as zero when
 * next touched. addr and size are page-aligned. Returns the pages released
 * (0 if the OS refused), counted in pages_released_in_use() and as
 * PGSTEAL_SLAB. The owner calls reuse_pages_in_use(nr) when it hands nr of
 * them out again (or frees the block: a freed page counts as resident).
 * Neither takes a lock.
 */
unsigned long release_pages_in_use(void *addr, size_t size);
void reuse_pages_in_use(unsigned long nr);
/* Allocated pages released that way and not reused since: not resident,
 * although the zones count them as present and not released. */
unsigned long pages_released_in_use(void);

/* ------------------------------------------------------------------- fork */
/* The core in the child of fork(); nothing is locked across the fork
 * (core/fork.c says why it is safe). */

/* Is lock free at this instant? In the child of fork(), false means a
 * thread of the parent held it at the fork: it stays held forever (that
 * thread does not exist here) and what it protects may be half-updated.
 * Used by every layer's check after a fork, and by tests. */
static inline bool fork_lock_free(pthread_mutex_t *lock)
{
	if (pthread_mutex_trylock(lock) != 0)
		return false;
	pthread_mutex_unlock(lock);
	return true;
}

/* In the child: was a lock of the core (a zone's, the huge table's) held
 * by a thread of the parent at the fork? */
bool core_fork_busy(void);
/* In the child. abandon false (nothing was busy): make the locks the
 * child's own. abandon true: give up the inherited heap (its state may be
 * half-updated): every zone starts empty and onlines new sections; old
 * blocks stay readable, frees of them do nothing. The child must be
 * single-threaded, as every child of fork() is. */
void core_fork_child(bool abandon);

/* ---------------------------------------------------- reports (vmstat.c) */

/* The /proc/buddyinfo and /proc/pagetypeinfo layouts. Each takes every
 * zone's lock in turn and writes after dropping it. */
void buddyinfo_show(struct seq_buf *s);
void pagetypeinfo_show(struct seq_buf *s);

/* One populated zone's counters, copied under its lock. */
struct zone_stats {
	const char *name;
	int node;
	unsigned long present_pages;	/* onlined from the OS */
	unsigned long nr_free_pages;	/* on the buddy free lists */
	unsigned long nr_released;	/* of those, not resident */
	unsigned long nr_free[NR_PAGE_ORDERS];	/* free blocks per order */
};

/* The populated zones' counters, in zonelist order; returns how many (at
 * most max). */
#define MAX_ZONE_STATS	(MAX_NUMNODES * MAX_NR_ZONES)
unsigned int zone_stats_read(struct zone_stats *out, unsigned int max);

/*
 * Event counters in the manner of /proc/vmstat: how often the slower paths
 * ran and what they did. Only paths that already take a lock or make a
 * system call count (one atomic add each); the fast paths count nothing.
 */
enum vm_event_item {
	PCP_REFILL,		/* rmqueue_bulk: a pcp list refilled */
	PCP_SPILL,		/* free_pcppages_bulk: a pcp list spilled */
	PCP_DRAIN,		/* a pcp list drained whole */
	WMARK_FAIL,		/* zone_watermark_ok() said no */
	KSWAPD_WAKE,		/* a reclaim thread woken */
	PAGEOUTRUN,		/* balance_pgdat runs of a reclaim thread */
	PGSTEAL_KSWAPD,		/* pages released by a reclaim thread */
	PGSTEAL_DIRECT,		/* pages released by direct reclaim */
	PGSTEAL_DECAY,		/* pages released because they idled */
	PGSTEAL_TRIM,		/* pages released by malloc_trim */
	PGSTEAL_SLAB,		/* free pages inside slabs released */
	ALLOCSTALL,		/* direct reclaim runs (stalls) */
	COMPACTSTALL,		/* drains done where the kernel compacts */
	ALLOC_FAIL,		/* allocations that failed (ENOMEM) */
	NR_VM_EVENT_ITEMS
};

/* The counters (racy sums, exact when quiet) and their /proc/vmstat-style
 * names. */
void vm_events_read(unsigned long out[NR_VM_EVENT_ITEMS]);
const char *vm_event_name(enum vm_event_item item);
/* The /proc/vmstat layout: page counts, then the event counters. */
void vmstat_show(struct seq_buf *s);

#endif /* BUDDY_PAGE_ALLOC_H */
