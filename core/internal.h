/*
 * internal.h - the core's cross-file interface, file by file: a table of
 * contents of core/. Types live in mm_types.h.
 *
 * Naming: kernel names where the concept is the kernel's; a leading "__"
 * means the caller holds zone->lock.
 */
#ifndef BUDDY_INTERNAL_H
#define BUDDY_INTERNAL_H

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
/* The only file that makes system calls. */

/* size bytes of fresh zeroed read-write memory aligned to align (a power of
 * two >= PAGE_SIZE), reserved but not committed. low32: every byte below
 * 4 GiB, tried from *hint upwards (advanced past what was tried). NULL on
 * failure. */
void *os_map_aligned(size_t size, size_t align, bool low32, unsigned long *hint);
void os_unmap(void *addr, size_t size);
/* size bytes (a multiple of PAGE_SIZE) of fresh zeroed read-write memory,
 * committed (no MAP_NORESERVE), page-aligned; NULL on failure. */
void *os_map(size_t size);
/* mremap with MREMAP_MAYMOVE: the mapping at addr resized, perhaps moved;
 * NULL on failure, the old mapping untouched. */
void *os_remap(void *addr, size_t old_size, size_t new_size);
/* Give the pages of [addr, addr + size) back to the OS (MADV_DONTNEED); the
 * range stays mapped and reads as zero afterwards. false: the OS refused. */
bool os_release(void *addr, size_t size);
void os_write(int fd, const char *buf, size_t len);
__attribute__((noreturn)) void os_abort(void);
long os_page_size(void);
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

/* ------------------------------------------------------------- sparse.c */
/* Sections: the address -> section -> page-descriptor lookup, onlining. */

extern struct mem_section *mem_section[NR_MEM_SECTIONS];

static inline unsigned long pfn_to_section_nr(unsigned long pfn)
{
	return pfn >> PFN_SECTION_SHIFT;
}

/* Publication of sections, RCU style (liburcu 0.13 has no acquire/release
 * loads): the writer orders the section's set-up before the pointer store;
 * readers depend on the loaded pointer. */
static inline void publish_section(unsigned long nr, struct mem_section *ms)
{
	cmm_smp_wmb();
	CMM_STORE_SHARED(mem_section[nr], ms);
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

/* pfn must be in an online section. */
static inline struct page *pfn_to_page(unsigned long pfn)
{
	struct mem_section *ms = mem_section[pfn_to_section_nr(pfn)];

	return &ms->mem_map[pfn - ms->start_pfn];
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

static inline struct zone *page_zone(const struct page *page)
{
	return page_section(page)->zone;
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

/* Map a new section for zone and put its memory on the free lists as
 * MOVABLE max-order blocks. Caller holds zone->lock. false: the zone is at
 * its limit or the OS refused. */
bool __online_section(struct zone *zone);

/* ---------------------------------------------------------- pageblock.c */
/* The migrate type stored per pageblock, and moving free pages between
 * free lists when a pageblock changes type. */

int get_pfnblock_migratetype(unsigned long pfn);
int get_pageblock_migratetype(const struct page *page);
/* Caller holds zone->lock (or owns the section before it is published). */
void set_pageblock_migratetype(struct page *page, int migratetype);
/* Set every pageblock of a free block of order >= pageblock_order. */
void change_pageblock_range(struct page *page, unsigned int order, int migratetype);
/* Free pages in page's pageblock; *num_movable gets its allocated pages
 * that were asked for as MOVABLE. Caller holds zone->lock. */
unsigned long __count_pageblock_pages(struct page *page,
				      unsigned long *num_movable);
/* Move every free block of page's pageblock to migratetype's free lists;
 * returns the pages moved. The pageblock's own type is the caller's to set.
 * Caller holds zone->lock. */
unsigned long __move_freepages_block(struct zone *zone, struct page *page,
				     int migratetype);

/* --------------------------------------------------------- page_alloc.c */
/* The buddy allocator proper: free lists, split, merge, fallback. */

/* Free-list primitives; caller holds zone->lock. */
void __add_to_free_list(struct page *page, struct zone *zone,
			unsigned int order, int migratetype, bool tail);
void __del_page_from_free_list(struct page *page, struct zone *zone,
			       unsigned int order);
void __move_to_free_list(struct page *page, struct zone *zone,
			 unsigned int order, int migratetype);
/* Free a block: merge with its buddies, put the result on a free list. */
void __free_one_page(struct page *page, unsigned long pfn, struct zone *zone,
		     unsigned int order, int migratetype);

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

unsigned int get_order(unsigned long nr_pages);

#ifdef BUDDY_TEST_HOOKS
/* Fault injection for the tests that prove the checker can fail: while
 * positive, each free skips merging once and decrements it. */
extern unsigned long test_skip_merges;
#endif

/* ------------------------------------------------------------ reclaim.c */
/* Giving free memory back to the OS. */

/* Release every free page of every zone to the OS (os_release), adjacent
 * free blocks in one call; returns the pages released. For malloc_trim. */
unsigned long release_free_pages(void);

/* --------------------------------------------------------------- huge.c */
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
/* fork.c's helpers, in the child: was the huge table's lock held at the
 * fork; re-initialise it, or abandon the table. */
bool huge_fork_busy(void);
void huge_fork_child(bool abandon);

/* --------------------------------------------------------------- fork.c */
/* The core in the child of fork(); nothing is locked across the fork (the
 * top of fork.c says why it is safe). */

/* In the child: was a lock of the core (a zone's, the huge table's) held
 * by a thread of the parent at the fork? */
bool core_fork_busy(void);
/* In the child. abandon false (nothing was busy): make the locks the
 * child's own. abandon true: give up the inherited heap (its state may be
 * half-updated): every zone starts empty and onlines new sections; old
 * blocks stay readable, frees of them do nothing. The child must be
 * single-threaded, as every child of fork() is. */
void core_fork_child(bool abandon);

/* --------------------------------------------------------------- zone.c */
/* Nodes, zones, zonelists; one-time initialisation of the core. */

extern pg_data_t node_data[MAX_NUMNODES];
extern int nr_node_ids;
#define NODE_DATA(nid)	(&node_data[(nid)])

/* Idempotent, thread-safe, never calls malloc. */
void buddy_core_init(void);
enum zone_type gfp_zone(gfp_t gfp);
int gfp_migratetype(gfp_t gfp);
int numa_node_id(void);
const char *migratetype_name(int migratetype);
/* Make zone empty, as before its first section: free lists, counters and
 * section list cleared, lock re-initialised. Its old sections are the
 * caller's to deal with. For a caller that runs alone (fork.c). */
void zone_reset(struct zone *zone);

/* Every zone with memory, for reports and checks. */
#define for_each_zone(zone)						\
	for (int __nid = 0; __nid < nr_node_ids; __nid++)		\
		for (struct zone *zone = NODE_DATA(__nid)->node_zones;	\
		     zone < NODE_DATA(__nid)->node_zones + MAX_NR_ZONES; zone++)

static inline bool populated_zone(const struct zone *zone)
{
	return zone->present_pages != 0;
}

static inline void zone_lock(struct zone *zone)
{
	pthread_mutex_lock(&zone->lock);
}

static inline void zone_unlock(struct zone *zone)
{
	pthread_mutex_unlock(&zone->lock);
}

/* ------------------------------------------------------------- vmstat.c */
/* The /proc layouts. Each takes every zone's lock in turn. */

void buddyinfo_show(struct seq_buf *s);
void pagetypeinfo_show(struct seq_buf *s);

/* -------------------------------------------------------------- check.c */
/* Consistency checks of the buddy state, independent of the code that keeps
 * it. Each violation is described in s (may be NULL); returns how many. */

unsigned long __check_zone(struct zone *zone, struct seq_buf *s);
unsigned long check_all_zones(struct seq_buf *s);

#endif /* BUDDY_INTERNAL_H */
