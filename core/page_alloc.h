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

/* Branch hints, the one definition for every layer (slab and preload reach
 * them through this header). */
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/* ----------------------------------------------------------- core config */

/*
 * Settings of the core, set before the first allocation (by the
 * BUDDYMALLOC_CONF parser, or by a test) and read-only afterwards.
 */
struct core_config {
	/* Sections each zone may online; 0 means as many as the OS gives.
	 * A cap on address space, for tests; the budget is limit. */
	unsigned long zone_max_sections[MAX_NR_ZONES];
	/* Fake NUMA nodes to split the machine into (1..MAX_NUMNODES); 0:
	 * the machine's real topology (core/zone.c). */
	unsigned int numa_fake;
	/*
	 * The memory budget and the watermarks (budget.c). These may change
	 * at any time: call setup_per_zone_wmarks() afterwards.
	 *   limit: bytes the allocator may hold resident; 0: the cgroup v2
	 *          memory.max of the process, else physical memory.
	 *   min_free_kbytes: the min watermarks' sum; 0: from the budget
	 *          as the kernel's calculate_min_free_kbytes().
	 *   watermark_scale_factor: the low-min and high-low gaps, in
	 *          10000ths of a zone's managed pages (kernel default 10).
	 *   lowmem_reserve_ratio: LOW32 keeps 1/ratio of the pages of the
	 *          zones above it back from their allocations (256).
	 */
	size_t limit;
	unsigned long min_free_kbytes;
	unsigned long watermark_scale_factor;
	unsigned long lowmem_reserve_ratio;
	/* A failed allocation prints warn_alloc()'s report (rate-limited). */
	bool warn_alloc;
	/* Free memory resident for this long (ms) goes back to the OS; 0:
	 * never, only under pressure and on malloc_trim. */
	unsigned int decay_ms;
	/* 1: a reclaim thread per node (kswapd); 0: none, decay runs on the
	 * allocating path. */
	unsigned int reclaim_threads;
	/* Per-CPU page lists (pcp.c): the kernel's sysctl
	 * percpu_pagelist_high_fraction (0: high from the low watermark;
	 * else each zone's lists hold at most managed pages / fraction in
	 * all, at least 8), and batch in pages (0: the kernel's
	 * zone_batchsize()). */
	unsigned long percpu_pagelist_high_fraction;
	unsigned long pcp_batch;
	/*
	 * Lifetime grouping: an object alive for lifetime_ms counts as
	 * long-lived (the classifier of slab/ reads it), and a MOVABLE or
	 * RECLAIMABLE (short-lived) pageblock pinned mostly empty for that
	 * long is re-typed
	 * UNMOVABLE, so that its holes take long-lived objects.
	 */
	unsigned int lifetime_ms;
};

/*
 * The defaults of core_config's reclaim settings. decay_ms by measurement
 * (tests/stress/idle_return: a 1 GiB burst freed to 64 MiB, then idle):
 * 1.25 x live is reached 0.9 s after the last free with 250, 1.1 s with
 * 500, 1.8 s with 1000 (the target is 2 s); bench_alloc's 97 throughput
 * rows showed no loss against decay off at any of them (geomean time
 * 0.88-0.94 of decay off, within the noise of a shared 2-CPU machine).
 */
#define DECAY_MS_DEFAULT	500
#define RECLAIM_THREADS_DEFAULT	1
#define LIFETIME_MS_DEFAULT	1000

extern struct core_config core_config;

/* ------------------------------------------------------------------ os.c */
/* The only file that makes system calls; what the layers above use of it. */

/* size bytes (a multiple of PAGE_SIZE) of fresh zeroed read-write memory,
 * committed (no MAP_NORESERVE), page-aligned; NULL on failure. */
void *os_map(size_t size);
/* false: the OS refused (the mapping stays as it was). */
bool os_unmap(void *addr, size_t size);
/*
 * The same for the allocator's own metadata (the huge table, the per-CPU
 * object caches; sections' descriptors are counted per zone): the bytes are
 * counted against the budget as resident for as long as they are mapped,
 * although the OS backs only what is touched (conservative).
 */
void *os_map_meta(size_t size);
void os_unmap_meta(void *addr, size_t size);
/* Bytes of metadata mapped now. */
size_t os_meta_bytes(void);
/* Write all of buf (EINTR retried); false if the OS refused part of it.
 * errno is kept. */
bool os_write(int fd, const char *buf, size_t len);
/* Write a file whole or not at all: create tmp (mode 0600, -1 on
 * failure), write it, then os_close_rename(fd, tmp, path) puts it in
 * place atomically (false, tmp removed, on failure), or
 * os_close_unlink(fd, tmp) drops it. errno is kept. */
int os_create(const char *path);
bool os_close_rename(int fd, const char *from, const char *to);
void os_close_unlink(int fd, const char *path);
/* Install handler for sig, only if sig has its default disposition
 * (false otherwise, nothing changed). */
bool os_signal_install(int sig, void (*handler)(int));
__attribute__((noreturn)) void os_abort(void);
/* CPUs the system may bring online (sysconf; may allocate). */
long os_nr_cpus(void);
/* The CPU this thread runs on now, or -1 (sched_getcpu). */
int os_current_cpu(void);
/* Milliseconds of a coarse monotonic clock (4 ms resolution; vDSO). */
uint64_t os_monotonic_ms(void);
/* The calling thread's name (PR_GET_NAME, at most 15 bytes) into buf. */
void os_thread_name(char buf[16]);
/* This process's id (a system call: glibc caches none since 2.25). */
pid_t os_getpid(void);
void os_yield(void);
/* membarrier's rseq commands: register the process once, then restart
 * every restartable sequence running on cpu (and fence it). */
bool os_membarrier_register_rseq(void);
bool os_membarrier_rseq_cpu(int cpu);
/*
 * A small settings file (preload/conf.c): its text, NUL-terminated, into
 * buf; returns its length, or a negative errno: -ENOENT absent, -EFBIG
 * longer than size - 1 bytes (nothing read), -EPERM with owner_root when it
 * is not a regular file owned by root and writable by root alone (what a
 * set-user-ID program may trust), else open's or read's error. No malloc,
 * no stdio; errno is kept.
 */
ssize_t os_read_conf_file(const char *path, char *buf, size_t size,
			  bool owner_root);

/* Files: open for reading (close-on-exec), read and readlink as the system
 * calls do (-1 and errno on failure; EINTR retried by open and read). */
int os_open_read(const char *path);
ssize_t os_read(int fd, void *buf, size_t len);
void os_close(int fd);
ssize_t os_readlink(const char *path, char *buf, size_t size);
/* The contents of a small file (sysfs) in buf, NUL-terminated, cut at
 * size - 1 bytes; returns the length, or -1 if it cannot be read. errno is
 * left as it was. */
ssize_t os_read_file(const char *path, char *buf, size_t size);
/* A close-on-exec duplicate of fd numbered min or above, or -1. */
int os_dup_above(int fd, int min);
/* The file fd refers to (device and inode); false if fd is not open. */
struct os_file_id {
	dev_t dev;
	ino_t ino;
};
bool os_file_id(int fd, struct os_file_id *id);
/* A set-user-ID or similar program (the auxiliary vector's AT_SECURE). */
bool os_secure_exec(void);
/* The 16 random bytes the kernel gives every process (AT_RANDOM), or
 * NULL. No system call. */
const unsigned char *os_auxv_random(void);

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
static inline struct mem_section *pfn_to_section(unsigned long pfn)
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
	struct mem_section *ms = pfn_to_section(pfn);

	if (!ms)
		return NULL;
	return &ms->mem_map[pfn - ms->start_pfn];
}

/*
 * The same lookup in one dependent load, for the inline free: the mem_map
 * of section nr biased by the section's first pfn (the kernel's encoded
 * section_mem_map), so that the descriptor of pfn is at
 * section_mem_map[nr] + pfn * sizeof(struct page). 0 while the section is
 * not online, and again once a forked child has abandoned it: a heap
 * address whose entry is 0 takes the slow path, which looks the section up
 * in mem_section[] and sees it abandoned. Set with the release store of
 * publish_section(), cleared by mark_section_abandoned().
 */
extern uintptr_t section_mem_map[NR_MEM_SECTIONS];

/* The descriptor of the page holding addr, or NULL if addr is not in the
 * heap or its section is abandoned. Lock-free, any pointer value is safe. */
static inline struct page *virt_to_page_live(const void *addr)
{
	unsigned long nr = (uintptr_t)addr >> SECTION_SIZE_BITS;
	uintptr_t base, page;

	if (unlikely(nr >= NR_MEM_SECTIONS))
		return NULL;
	base = CMM_LOAD_SHARED(section_mem_map[nr]);
	if (unlikely(!base))
		return NULL;
	/* pfn * 64: the address shifted by PAGE_SHIFT - 6, low bits off. */
	_Static_assert(sizeof(struct page) == 1u << 6, "page descriptor size");
	page = base + (((uintptr_t)addr >> (PAGE_SHIFT - 6)) &
		       ~(uintptr_t)(sizeof(struct page) - 1));
	/* A descriptor of an online section is never at address 0: said to
	 * gcc, a caller's NULL check costs nothing on this path (the inline
	 * free tests the result for NULL after the test of base above). */
	if (page == 0)
		__builtin_unreachable();
	return (struct page *)page;
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

/*
 * The migrate type a gfp mask asks for (its lifetime bits). MIGRATE_MOVABLE
 * == __GFP_MOVABLE and MIGRATE_RECLAIMABLE == __GFP_RECLAIMABLE, so the
 * type is the bits themselves (the kernel's GFP_MOVABLE_SHIFT trick with a
 * shift of 0), and a migrate type of those three is its own gfp mask.
 * Inline: slab's fast paths use it.
 */
_Static_assert(__GFP_MOVABLE == MIGRATE_MOVABLE &&
	       __GFP_RECLAIMABLE == MIGRATE_RECLAIMABLE,
	       "gfp lifetime bits are the migrate types");
static inline int gfp_migratetype(gfp_t gfp)
{
	return (int)(gfp & GFP_MOVABLE_MASK);
}

/* Idempotent, thread-safe, never calls malloc. */
void buddy_core_init(void);

/* ------------------------------------------------------------ budget.c */

/* Compute the budget, each zone's managed pages, the watermarks and the
 * lowmem_reserve again from core_config (after a setting changed). Does
 * nothing before the core is initialised (which computes them). */
void setup_per_zone_wmarks(void);
/* The budget in pages (the kernel's totalram_pages: every zone's managed
 * pages), and where it came from: "limit", "cgroup" or "physical". */
unsigned long totalram_pages(void);
const char *budget_source(void);
/* Pages the allocator holds resident: the zones' resident pages (in use,
 * free but resident, on the pcp lists), the direct mappings and the
 * metadata. Racy sum, exact when quiet. */
unsigned long global_resident_pages(void);

/* ---------------------------------------------------------------- reclaim */

/*
 * A cache above the core that keeps free memory of its own (slab/: per-CPU
 * object caches, empty slabs) and can give it back (the kernel's
 * shrinker). The reclaim threads, decay and direct reclaim (unless the
 * allocation carries __GFP_NO_SHRINKERS) call scan_objects before they
 * release the core's free pages. It gives back what it can of node nid's
 * share (NUMA_NO_NODE: every node's; a layer without nodes does the work
 * for nid 0 and NUMA_NO_NODE) and returns the pages it freed to the core;
 * idle_only: only what has sat unused since the last idle scan (decay),
 * else everything (pressure). It is called with no allocator lock held,
 * from any thread, and must not allocate. At most MAX_SHRINKERS; false
 * when full.
 */
#define NUMA_NO_NODE	(-1)
struct shrinker {
	const char *name;
	unsigned long (*scan_objects)(int nid, bool idle_only);
};
#define MAX_SHRINKERS	4
bool register_shrinker(const struct shrinker *shrinker);
/* Every registered shrinker, summed. */
unsigned long shrink_slab(int nid, bool idle_only);

/* Release every free page of every zone to the OS (os_release), adjacent
 * free blocks in one call; returns the pages released. For malloc_trim. */
unsigned long release_free_pages(void);


/*
 * Work the core found to do where it could not do it (it may have been
 * called under any lock of the layers above): start a node's reclaim
 * thread, wake it for decay, or, with the threads off, decay inline. The
 * layer that exports malloc calls reclaim_work_check() on its slow paths
 * once it holds no allocator lock, at the outermost level; it costs one
 * load while nothing is pending.
 */
extern int reclaim_work_pending;
void reclaim_work_run(void);

static inline void reclaim_work_check(void)
{
	if (unlikely(CMM_LOAD_SHARED(reclaim_work_pending)))
		reclaim_work_run();
}

/*
 * The live report (vmscan.c): a signal handler calls
 * reclaim_report_request() (async-signal-safe: an atomic store and a
 * futex wake), and node 0's reclaim thread, with no lock held, calls the
 * fn given to reclaim_report_enable(). With reclaim_threads:0 the next
 * reclaim_work_run() (the malloc layer's slow paths) calls it instead,
 * signals blocked. reclaim_report_enable() also starts
 * node 0's thread at once (not on first need), so that an idle program
 * answers; its caller holds no allocator lock.
 */
void reclaim_report_enable(void (*fn)(void));
void reclaim_report_request(void);

/* ------------------------------------------------- direct mappings (huge.c) */
/* Allocations above the largest buddy block: direct mappings from the OS,
 * tracked in a hash table of their own (never in the section table). */

/*
 * hardening:guard (preload's conf.c), set before the first allocation and
 * fixed afterwards. On: every huge block has an inaccessible (PROT_NONE)
 * page before and after its pages, and ends against the one after them:
 * its usable size is size rounded up to its alignment (16 at least, a page
 * at most), so a byte past that faults, and a byte before its start when
 * the start is on a page boundary. The guard pages are neither resident
 * nor live in any count. The slab layer then serves its page-level blocks
 * here too (slab/kmalloc.c, kmalloc_large).
 */
extern bool huge_guard;

/* size bytes rounded up to pages, aligned to align (a power of two; below
 * PAGE_SIZE counts as PAGE_SIZE, except under hardening:guard, above),
 * zeroed (fresh mappings are, so __GFP_ZERO is free). gfp: lifetime bits
 * are ignored; __GFP_LOW32 is not served. NULL with errno = ENOMEM, or
 * EINVAL for a bad align. */
void *huge_alloc(size_t size, size_t align, gfp_t gfp);
/* Free the huge block starting at p: into the cache of freed mappings, or
 * unmapped. false, nothing changed: p is not the start of a live huge block. An abandoned block (fork.c) stays mapped and
 * is forgotten: true. */
bool huge_free(void *p);
/* Bytes usable in the live huge block starting at p (its mapping's size;
 * under hardening:guard, up to the guard page after it); 0 for any other
 * pointer. Safe and cheap on pointers that are not ours. */
size_t huge_usable_size(const void *p);
/* Resize the huge block p to size bytes (rounded up to pages): into the
 * cached range right after it, else with mremap, moving it if it must
 * (a copy if mremap cannot; under hardening:guard, in place while size
 * ends on the same pages, else a copy). NULL: errno = ENOMEM and p is
 * untouched, or errno = EINVAL when p is not a live huge block. */
void *huge_realloc(void *p, size_t size);
/* Live huge blocks and their bytes (abandoned ones not counted). */
void huge_stats(size_t *bytes, size_t *count);
/* The most live huge blocks, and bytes in them, there ever were at once. */
void huge_peak_stats(size_t *max_bytes, size_t *max_count);
/* Freed mappings kept for reuse (huge.c's cache): bytes and ranges. They
 * are resident and counted in the budget until reuse, decay, memory
 * pressure or huge_cache_drain unmaps them. */
void huge_cache_stats(size_t *bytes, size_t *count);
/* Unmap the whole cache (malloc_trim); returns the pages unmapped. */
unsigned long huge_cache_drain(void);
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

/*
 * The /proc/zoneinfo layout: per zone the budget's view (pages free, the
 * watermarks, spanned, present, managed, protection) and the free
 * counters. The per-CPU page lists ("pagesets") follow each zone's part.
 */
void zoneinfo_show(struct seq_buf *s);

/* One populated zone's counters, copied under its lock. */
struct zone_stats {
	const char *name;
	int node;
	unsigned long managed_pages;	/* its share of the budget */
	unsigned long resident_pages;	/* present - released (+ the node's
					 * part of direct mappings and
					 * metadata, on its highest zone) */
	long free;			/* managed - resident: the budget left */
	unsigned long watermark[NR_WMARK];	/* min, low, high */
	unsigned long protection[MAX_NR_ZONES];	/* lowmem_reserve */
	unsigned long present_pages;	/* onlined from the OS */
	unsigned long nr_free_pages;	/* on the buddy free lists */
	unsigned long nr_released;	/* of those, not resident */
	unsigned long nr_free[NR_PAGE_ORDERS];	/* free blocks per order */
	/* Pageblocks whose allocated pages are mostly of another migrate
	 * type (short-lived objects in a long-lived pageblock, or the
	 * reverse), as the last re-typing scan left them. */
	unsigned long nr_wrong_type_pageblocks;
};

/* The populated zones' counters, node by node, each node's zones in
 * index order (as /proc/zoneinfo lists them); returns how many (at
 * most max). */
#define MAX_ZONE_STATS	(MAX_NUMNODES * MAX_NR_ZONES)
unsigned int zone_stats_read(struct zone_stats *out, unsigned int max);

/* The i-th populated zone's (zone_stats_read's order) free blocks per
 * migrate type and order, and its pageblocks per type: pagetypeinfo's
 * numbers, counted under its lock. false: no such zone. */
struct zone_type_stats {
	unsigned long type_free[MIGRATE_TYPES][NR_PAGE_ORDERS];
	unsigned long blocks[MIGRATE_TYPES];
};
bool zone_type_stats_read(unsigned int i, struct zone_type_stats *out);

/* The kernel's name of a migrate type: "Unmovable", "Movable", ... */
const char *migratetype_name(int migratetype);

/* Pages on each CPU's pcp lists, summed over the zones, into out[cpu]
 * for the first max_cpus CPUs; returns how many CPUs have lists. */
unsigned int pcp_cpu_pages_read(unsigned long *out, unsigned int max_cpus);

/* One CPU's per-CPU page lists of a zone (zoneinfo's "pagesets"). */
struct pcp_stats {
	unsigned int cpu;
	unsigned int count;	/* pages on the lists */
	unsigned int high;
	unsigned int batch;
};

/* Each CPU's lists of zone, CPU by CPU (racy reads, exact when quiet);
 * returns how many CPUs were written (at most max_cpus; 0 for a zone
 * without lists). */
unsigned int pcp_stats_read(const struct zone *zone, struct pcp_stats *out,
			    unsigned int max_cpus);

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
	PAGEBLOCK_RETYPE_SCAN,	/* re-typing scans of a zone */
	PAGEBLOCK_RETYPE_MAJORITY, /* pageblocks re-typed to what most of
				    * their allocated pages are */
	PAGEBLOCK_RETYPE_PINNED, /* MOVABLE or RECLAIMABLE pageblocks
				  * pinned mostly empty for lifetime_ms,
				  * re-typed UNMOVABLE */
	NR_VM_EVENT_ITEMS
};

/* The counters (racy sums, exact when quiet) and their /proc/vmstat-style
 * names. */
void vm_events_read(unsigned long out[NR_VM_EVENT_ITEMS]);
const char *vm_event_name(enum vm_event_item item);
/* The /proc/vmstat layout: page counts, then the event counters. */
void vmstat_show(struct seq_buf *s);

#endif /* BUDDY_PAGE_ALLOC_H */
