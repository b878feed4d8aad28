/*
 * internal.h - the core's cross-file interface, file by file: a table of
 * contents of core/, private to it. What the layers above may use is in
 * page_alloc.h (included here); types live in mm_types.h.
 *
 * Naming: kernel names where the concept is the kernel's; a leading "__"
 * means exactly "the caller holds zone->lock" (of the zone the arguments
 * name), in every layer; a function that needs another lock held ends in
 * "_locked" and says which lock above its definition (huge.c, slab.c,
 * lifetime.c). A kernel name whose "__" means something else loses it
 * here (pfn_to_section, alloc_pages_nr, alloc_pages_slowpath).
 */
#ifndef BUDDY_INTERNAL_H
#define BUDDY_INTERNAL_H

#include "config.h"	/* BUDDY_RSEQ */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include <urcu/compiler.h>
#include <urcu/uatomic.h>

#include "mm_types.h"
#include "page_alloc.h"

/* ------------------------------------------------------------------ os.c */
/* The rest of os.c (page_alloc.h has what the layers above use). */

/* size bytes of fresh zeroed read-write memory aligned to align (a power of
 * two >= PAGE_SIZE), reserved but not committed. low32: every byte below
 * 4 GiB, tried from *hint upwards (advanced past what was tried). NULL on
 * failure. */
void *os_map_aligned(size_t size, size_t align, bool low32, unsigned long *hint);
/* mremap with MREMAP_MAYMOVE: the mapping at addr resized, perhaps moved;
 * NULL on failure, the old mapping untouched. */
void *os_remap(void *addr, size_t old_size, size_t new_size);
/* Make [addr, addr + size), page-aligned and mapped by os_map, readable
 * and writable (rw) or inaccessible (a guard page: any access faults).
 * false: the OS refused (ENOMEM: the mapping count), nothing changed. */
bool os_mprotect(void *addr, size_t size, bool rw);
/* The kinds of memory system call, for fault injection (below). */
enum os_call {
	OS_CALL_MMAP,
	OS_CALL_MUNMAP,
	OS_CALL_MADVISE,
	OS_CALL_MREMAP,
	OS_CALL_MPROTECT,
	NR_OS_CALLS
};
#define OS_CALL_ALL	((1u << NR_OS_CALLS) - 1)

#ifdef BUDDY_TEST_HOOKS
/* While non-zero, os_remap fails (errno = EFAULT) and counts it down. */
extern unsigned int test_os_remap_fail;

/*
 * Fault injection (test builds only): while a kind's period is set, every
 * period-th call of that kind fails as the OS would refuse it: mmap and
 * mremap with ENOMEM (no address space, or the mapping count), munmap and
 * mprotect with ENOMEM (splitting a mapping past vm.max_map_count), madvise
 * with EAGAIN (a kernel resource). Every mmap, munmap, madvise, mremap and
 * mprotect of os.c goes through it, the trims of an aligned mapping
 * included. The shipped build has no hook: each call is made as it is.
 */
struct os_fault {
	unsigned int every;	/* 0: off; N: calls N, 2N, ... fail */
	unsigned long calls;	/* calls of the kind while a period was set */
	unsigned long failed;	/* calls failed on purpose */
};
extern struct os_fault test_os_fault[NR_OS_CALLS];

/* Set the period of every kind in mask (bits 1 << OS_CALL_*) to every
 * (0: off) and zero their counts. */
void test_os_fault_set(unsigned int mask, unsigned int every);
#endif
/* Give the pages of [addr, addr + size) back to the OS (MADV_DONTNEED); the
 * range stays mapped and reads as zero afterwards. false: the OS refused. */
bool os_release(void *addr, size_t size);
long os_page_size(void);
/* Make [addr, addr + len) prefer the real NUMA node node (mbind with
 * MPOL_PREFERRED): its pages are placed there on first touch while the
 * node has memory. false: the kernel refused (no NUMA support, a node it
 * does not know, a seccomp filter); the range keeps the default policy.
 * errno is left as it was. */
bool os_bind_node(void *addr, size_t len, int node);

/*
 * The CPU this thread runs on now: the cpu_id field of glibc's rseq area
 * (a load from the thread pointer; the kernel keeps it current at every
 * return to user space), else sched_getcpu() when glibc did not register
 * rseq (valgrind, glibc.pthread.rseq=0). The answer may be stale as soon
 * as it is read: callers use it to choose, never for correctness.
 */
#ifdef BUDDY_RSEQ
#include <sys/rseq.h>

static inline int raw_smp_processor_id(void)
{
	if (likely(__rseq_size != 0)) {
		const struct rseq *rs = (const struct rseq *)
			((char *)__builtin_thread_pointer() + __rseq_offset);
		int cpu = (int)CMM_LOAD_SHARED(rs->cpu_id);

		if (likely(cpu >= 0))
			return cpu;
	}
	return os_current_cpu();
}
#else
static inline int raw_smp_processor_id(void)
{
	return os_current_cpu();
}
#endif
/* Physical memory, in pages (sysconf). */
unsigned long os_phys_pages(void);
/* The cgroup v2 memory.max of this process in bytes; 0: none. */
size_t os_cgroup_memory_max(void);
/* The same from another /proc/<pid>/cgroup file and cgroup2 mount point
 * (for tests). */
size_t os_cgroup_memory_max_at(const char *proc_cgroup, const char *root);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t os_monotonic_ns(void);
/* A detached thread running fn(arg) with every signal blocked; false on
 * failure. pthread_create callocs: the caller tolerates a nested malloc. */
bool os_thread_create(void *(*fn)(void *), void *arg);
void os_thread_set_name(const char *name);
/* Block every signal in this thread (the old mask in *old), and back. */
void os_signals_block(sigset_t *old);
void os_signals_restore(const sigset_t *old);
/* Sleep while *word == val, until woken or (timeout_ms > 0) that long;
 * may return spuriously. The wake is async-signal-safe. */
void os_futex_wait_ms(uint32_t *word, uint32_t val, unsigned int timeout_ms);
void os_futex_wake(uint32_t *word);
/* CPUs the system may ever bring online, from sysfs without malloc (at
 * least 1). */
unsigned int os_nr_possible_cpus(void);

/* ------------------------------------------------------------- sparse.c */
/* Sections: the address -> section -> page-descriptor lookup, onlining. */

/* Publication of sections, RCU style (liburcu 0.13 has no acquire/release
 * loads): the writer orders the section's set-up before the pointer store;
 * readers depend on the loaded pointer. */
static inline void publish_section(unsigned long nr, struct mem_section *ms)
{
	cmm_smp_wmb();
	CMM_STORE_SHARED(mem_section[nr], ms);
	CMM_STORE_SHARED(section_mem_map[nr], (uintptr_t)ms->mem_map -
			 ms->start_pfn * sizeof(struct page));
}

/* A forked child gives ms up (fork.c): page_abandoned() sees it, and
 * virt_to_page_live() does not find its pages. */
void mark_section_abandoned(struct mem_section *ms);

/* pfn must be in an online section. */
static inline struct page *pfn_to_page(unsigned long pfn)
{
	struct mem_section *ms = mem_section[pfn_to_section_nr(pfn)];

	return &ms->mem_map[pfn - ms->start_pfn];
}

static inline struct zone *page_zone(const struct page *page)
{
	return page_section(page)->zone;
}

/* Map a new section for zone and put its memory on the free lists as
 * MOVABLE max-order blocks, the system calls outside zone->lock. Caller
 * holds neither zone->lock nor grow_lock; seen: the zone's nr_sections
 * when the caller found its free lists wanting. true: the zone grew (by
 * this call or another thread's), look again; false: the zone is at its
 * limit or the OS refused. */
bool online_section(struct zone *zone, unsigned long seen);
#ifdef BUDDY_TEST_HOOKS
/* Called by online_section() between its system calls and taking
 * zone->lock. */
extern void (*test_online_section_hook)(struct zone *zone);
#endif

/* ----------------------------------------------------------- resident.c */
/* Which free pages are released (not resident): the per-page bits of
 * mem_section::released and zone->nr_released. Caller holds zone->lock;
 * [pfn, pfn + nr) lies in one section. */

/* Mark pages released; returns how many were not already. */
unsigned long __set_pages_released(struct zone *zone, unsigned long pfn,
				   unsigned long nr);
/* Mark pages resident (taken for use); returns how many were released. */
unsigned long __clear_pages_released(struct zone *zone, unsigned long pfn,
				     unsigned long nr);
/* How many of the pages are released. */
unsigned long __pages_released(unsigned long pfn, unsigned long nr);

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
/*
 * The re-typing scan of zone with the decay clock's time now (pageblock.c,
 * "Re-typing"): pageblocks mostly holding another type's allocations take
 * that type, MOVABLE and RECLAIMABLE ones pinned mostly empty for
 * lifetime_ms become
 * UNMOVABLE; sets zone->nr_wrong_type_pageblocks. Returns true while a
 * pageblock's pinned time is running (a later scan may re-type it). Takes
 * zone->lock a batch of pageblocks at a time; caller holds no lock.
 */
bool retype_zone(struct zone *zone, uint32_t now);
/* Its thresholds, in allocated pages of a pageblock, and the pageblocks
 * it walks per hold of zone->lock. */
#define RETYPE_MAJORITY_MIN	(pageblock_nr_pages / 2)
#define WRONG_TYPE_MIN		(pageblock_nr_pages / 16)
#define PINNED_MAX		(pageblock_nr_pages / 4)
#define RETYPE_BATCH		16

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

unsigned int get_order(unsigned long nr_pages);

/* Take a block of order for migratetype off the free lists (fallback and
 * the reserve as alloc_flags allow); NULL if there is none. The caller
 * marks it allocated or PG_pcp and clears its released bits. Caller holds
 * zone->lock. */
struct page *__rmqueue(struct zone *zone, unsigned int order,
		       int migratetype, unsigned int alloc_flags);

#ifdef BUDDY_TEST_HOOKS
/* Fault injection for the tests that prove the checker can fail: while
 * positive, each free skips merging once and decrements it. */
extern unsigned long test_skip_merges;
#endif

/* ------------------------------------------------------------ reclaim.c */
/* Giving free memory back to the OS (release_free_pages: page_alloc.h). */

/* Release resident free pages of zone, at least nr_to_release of them if it
 * has that many (ULONG_MAX: all), whole free pageblocks first, with no
 * system call under zone->lock; counts them as event (a PGSTEAL_
 * counter). Returns the pages released. Caller holds no lock. */
unsigned long reclaim_zone(struct zone *zone, unsigned long nr_to_release,
			   enum vm_event_item event);
/* Release the pageblocks of zone that have had no free for decay_ms by
 * the decay clock now; *dirty is set if a pageblock with resident free
 * pages is left waiting. Counted as PGSTEAL_DECAY. Caller holds no lock. */
unsigned long decay_zone(struct zone *zone, uint32_t now, uint32_t decay_ms,
			 bool *dirty);
/* In the child of fork(), the heap kept: pageblocks a parent's thread was
 * releasing go back to the free lists (reclaim.c, "Fork"). */
void reclaim_fork_child(struct zone *zone);

/* Allocated pages released by their owner and not reused since
 * (release_pages_in_use: page_alloc.h); atomic. */
extern unsigned long nr_released_in_use;

/* -------------------------------------------------------------- vmscan.c */
/* The reclaim threads (the kernel's kswapd). */

/* zone fell below its low watermark for an allocation of order that may
 * use zones up to highest_zoneidx: wake its node's reclaim thread. Cheap
 * when the thread is awake already. */
void wakeup_kswapd(struct zone *zone, unsigned int order,
		   enum zone_type highest_zoneidx);

/* ------------------------------------------------------------- budget.c */
/* The budget, managed pages, watermarks, lowmem_reserve (also
 * page_alloc.h). Reads need no lock. */

void budget_init(void);
/* Pages of the budget the zone's resident memory uses, and what is left
 * (negative when an allocation that may not fail went past it). */
unsigned long zone_resident_pages(const struct zone *zone);
long zone_page_free(const struct zone *zone);

static inline unsigned long wmark_pages(const struct zone *zone,
					enum zone_watermarks w)
{
	return CMM_LOAD_SHARED(zone->_watermark[w]);
}

static inline unsigned long min_wmark_pages(const struct zone *zone)
{
	return wmark_pages(zone, WMARK_MIN);
}

static inline unsigned long low_wmark_pages(const struct zone *zone)
{
	return wmark_pages(zone, WMARK_LOW);
}

static inline unsigned long high_wmark_pages(const struct zone *zone)
{
	return wmark_pages(zone, WMARK_HIGH);
}

/* ---------------------------------------------------------- page_alloc.c */
/* The allocation path's parts that others call. */

/*
 * Would taking nr pages (of a block of 2^order) leave the zone above mark
 * plus its lowmem_reserve for highest_zoneidx, with a free block of that
 * order to take (the kernel's __zone_watermark_ok)? free_pages: the zone's
 * budget left (zone_page_free). Exact under zone->lock for its free
 * lists; the budget is read racily.
 */
bool __zone_watermark_ok(struct zone *zone, unsigned int order,
			 unsigned long nr, unsigned long mark,
			 enum zone_type highest_zoneidx,
			 unsigned int alloc_flags, long free_pages);
bool zone_watermark_ok(struct zone *zone, unsigned int order,
		       unsigned long mark, enum zone_type highest_zoneidx,
		       unsigned int alloc_flags);
/*
 * nr pages of budget for memory outside the zones (a direct mapping),
 * charged to the node's highest zone: the watermark check, and when it
 * fails the slow path's reclaim, as for an allocation of the zones.
 * false: out of memory (errno = ENOMEM, warn_alloc done).
 */
bool alloc_budget_pages(unsigned long nr, gfp_t gfp);
#ifdef BUDDY_TEST_HOOKS
/* The clock of warn_alloc()'s ratelimit (nanoseconds), instead of
 * CLOCK_MONOTONIC. */
extern uint64_t (*test_warn_clock)(void);
#endif

/* In the child of fork(): the slow path's own locks (direct reclaim's
 * turn, the shrinker list, warn_alloc's ratelimit) made new. */
void page_alloc_fork_child(void);

/* The reclaim threads' watermark checks, on the budget's marks. */
#ifdef BUDDY_TEST_HOOKS
bool zone_below_low(const struct zone *zone);
#endif
bool zone_balanced(const struct zone *zone);
/* Pages reclaim must release for zone to be balanced (0: it is). */
unsigned long zone_reclaim_target(const struct zone *zone);

/* The node's reclaim-thread state, at core init and in the child of
 * fork() (where the parent's thread does not exist). */
void kswapd_node_init(pg_data_t *pgdat);
void vmscan_fork_child(void);

/* The decay clock's time now (ms, never DECAY_STAMP_CLEAN or _UNKNOWN). */
uint32_t decay_now_ms(void);

#ifdef BUDDY_TEST_HOOKS
/* When non-zero, the time decay_now_ms() returns (tests drive the clock). */
extern uint32_t test_decay_now_ms;
#endif

/* ---------------------------------------------------------------- pcp.c */
/* Per-CPU page lists (the kernel's per_cpu_pages; the protocol is at the
 * top of pcp.c). */

extern unsigned int nr_pcp_cpus;
#ifdef BUDDY_TEST_HOOKS
/* Ask which CPU this thread runs on now: without rseq the CPU is a hint
 * that may lag a migration by PCP_CPU_HINT_OPS operations (correct, as the
 * lock makes any CPU right); a test that has just pinned itself wants its
 * own CPU's list. */
void test_pcp_refresh_cpu(void);
#endif

/* What high and batch are computed from, as the kernel computes them from
 * a zone's managed pages: here the pages the zone has onlined, not its
 * share of the budget (managed_pages, budget.c), so that the lists scale
 * with the heap. From the budget (physical memory by default) the lists
 * of one CPU could keep tens of MiB resident in a program whose heap is a
 * few MiB. */
static inline unsigned long zone_managed_pages(const struct zone *zone)
{
	return CMM_LOAD_SHARED(zone->present_pages);
}

/* Orders the lists keep (mm_types.h, PCP_MAX_LOWORDER). */
static inline bool pcp_allowed_order(unsigned int order)
{
	return order <= PCP_MAX_LOWORDER || order == pageblock_order;
}

/*
 * Claim the head of an allocation made for owner (a PG_ owner flag or 0):
 * its flags go from exactly PG_head | owner to new_flags in one atomic
 * step. false: page is no such head (free already, a slab's page, another
 * owner's, not a head), nothing changed. Of two frees of one block, one
 * claim fails, whatever locks each holds.
 */
static inline bool page_head_claim(struct page *page, unsigned int owner,
				   uint32_t new_flags)
{
	uint32_t expected = PG_head | owner;

	return __atomic_compare_exchange_n(&page->flags, &expected, new_flags,
					   false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

/* Once per zone at init: map its lists, compute high and batch. */
void zone_pcp_init(struct zone *zone);
/* Recompute the zone's high and batch (its managed pages changed, or the
 * lists were disabled or enabled), spilling what is above a lower high.
 * Caller holds zone->grow_lock and neither zone->lock nor a pcp lock. */
void zone_pcp_update(struct zone *zone);
/* The kernel's zone_pcp_disable/enable: while disabled (nesting), high is
 * 0 and batch 1, and every allocation and free goes straight to the buddy
 * lists; disable drains the lists. For callers that need the buddy lists
 * exact (the tests of the buddy itself; test builds only). Caller holds no
 * lock. */
#ifdef BUDDY_TEST_HOOKS
void zone_pcp_disable(struct zone *zone);
void zone_pcp_enable(struct zone *zone);
#endif

/* A block from this CPU's list (rmqueue() tries it first for a pcp order
 * and a whole power-of-two allocation); NULL: use the buddy. */
/* page_alloc.c's budget check for one more block of a pcp refill. Caller
 * holds zone->lock. */
bool __pcp_refill_allowed(struct zone *zone, unsigned int order,
			  const struct alloc_context *ac);
struct page *rmqueue_pcplist(struct zone *zone, unsigned int order,
			     struct alloc_context *ac);

enum pcp_free {
	PCP_FREE_DONE,		/* freed to this CPU's list */
	PCP_FREE_REFUSED,	/* not an allocation of that order for owner */
	PCP_FREE_BUSY,		/* nothing done: free it to the buddy */
};
/* Free an allocation of a pcp order to this CPU's list, spilling batch
 * pages to the buddy at high. page is in a live section. */
enum pcp_free free_unref_page(struct page *page, unsigned int order,
			      unsigned int owner);

#ifdef BUDDY_TEST_HOOKS
/* Tests: give every page on this CPU's lists of zone (NULL: every zone)
 * back to the buddy free lists. Caller holds no lock. */
void drain_local_pages(struct zone *zone);
#endif
/* Give every page on every CPU's lists of zone (NULL: every zone) back to
 * the buddy free lists. Caller holds no lock. */
void drain_all_pages(struct zone *zone);

/* Take (in CPU order) or release every CPU's lock of zone: the lists stand
 * still, for a checker. Before zone->lock. */
void pcp_lock_all(struct zone *zone);
void pcp_unlock_all(struct zone *zone);

/* fork.c's helpers, in the child: was a pcp lock held at the fork;
 * re-initialise the locks, and with abandon empty every list. */
bool pcp_fork_busy(void);
void pcp_fork_child(bool abandon);

#ifdef BUDDY_TEST_HOOKS
/* Called by release_free_pages() before the madvise of each batch. */
extern void (*test_release_hook)(struct zone *zone);
#endif

/* --------------------------------------------------------------- huge.c */
/* Direct mappings (the calls the layers above use: page_alloc.h). */

/* fork.c's helpers, in the child: was the huge table's lock held at the
 * fork; re-initialise it, or abandon the table. */
bool huge_fork_busy(void);
/* Pages of every live direct mapping (counted whole, touched or not). */
unsigned long huge_mapped_pages(void);
/* The decay pass (vmscan.c's decay_node): unmap the cached mappings freed
 * at least decay_ms before now; true while some are left. No lock held. */
bool huge_cache_decay(uint32_t now, uint32_t decay_ms);
void huge_fork_child(bool abandon);

/* --------------------------------------------------------------- fork.c */
/* The core in the child of fork(); nothing is locked across the fork (the
 * top of fork.c says why it is safe). */

/* --------------------------------------------------------------- zone.c */
/* Nodes, zones, zonelists; one-time initialisation of the core. The
 * topology (real from sysfs, or numa_fake) is described at the top of
 * zone.c. */

extern pg_data_t node_data[MAX_NUMNODES];
#define NODE_DATA(nid)	(&node_data[(nid)])

/*
 * Nodes 0 .. nr_node_ids - 1, every one of them online with its two zones:
 * our node ids are dense (a machine's real node ids need not be; each
 * node's pgdat->bind_node says which real node it is). Set once by
 * buddy_core_init() and constant afterwards. A per-node share of anything
 * (a budget, a reclaim thread) is per online node:
 *
 *	for_each_online_node(nid)
 *		share[nid] = total / nr_online_nodes;
 */
extern int nr_node_ids;
#define nr_online_nodes	nr_node_ids
#define for_each_online_node(nid)					\
	for (int nid = 0; nid < nr_node_ids; nid++)

/* CPUs the node map covers; a CPU numbered at or above it is node 0's. */
#define NR_CPUS		1024
extern uint8_t cpu_to_node_map[NR_CPUS];

static inline int cpu_to_node(int cpu)
{
	return (unsigned int)cpu < NR_CPUS ? cpu_to_node_map[cpu] : 0;
}

/*
 * The node of the CPU this thread runs on now: where its allocations look
 * first (alloc_pages() takes this node's zonelist). On the allocation
 * path, so cheap: one load and a branch with a single node (every machine
 * without numa_fake that has one), and a load from the rseq area and one
 * from the map with several. Valid after buddy_core_init().
 */
static inline int numa_node_id(void)
{
	if (likely(nr_node_ids == 1))
		return 0;
	return cpu_to_node(raw_smp_processor_id());
}

/* Read the topology (the top of zone.c) into nr_node_ids, the CPU map
 * and each pgdat's bind_node and nr_cpus; buddy_core_init() calls it once.
 * Nothing else may run in the core meanwhile. */
void numa_init(void);
#ifdef BUDDY_TEST_HOOKS
/* The directory numa_init() reads in place of /sys/devices/system/ (with
 * its trailing '/'): node/online, node/nodeN/cpulist, cpu/online. */
extern const char *test_sysfs_root;
#endif

enum zone_type gfp_zone(gfp_t gfp);
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

/* buddyinfo_show, pagetypeinfo_show, zone_stats_read, vm_events_read:
 * page_alloc.h. */

extern unsigned long vm_events[NR_VM_EVENT_ITEMS];

static inline void count_vm_events(enum vm_event_item item, unsigned long n)
{
	uatomic_add(&vm_events[item], n);
}

static inline void count_vm_event(enum vm_event_item item)
{
	count_vm_events(item, 1);
}

/* -------------------------------------------------------------- check.c */
#ifdef BUDDY_TEST_HOOKS
/* Consistency checks of the buddy state, independent of the code that keeps
 * it (test builds only: check.c is not part of the shipped library). Each
 * violation is described in s (may be NULL); returns how many. */

/* Caller holds zone->lock and every pcp lock of zone (pcp_lock_all). */
unsigned long __check_zone(struct zone *zone, struct seq_buf *s);
unsigned long check_all_zones(struct seq_buf *s);
#endif

/* ------------------------------------------------- decay stamps (reclaim.c) */

/*
 * A free of 2^order pages at pfn (page) puts resident pages into their
 * pageblocks: stamp them with the node's decay clock, or with
 * DECAY_STAMP_UNKNOWN while it is stopped, which also asks for decay to
 * restart (reclaim_work_pending). One load and a store or two. Caller
 * holds zone->lock.
 */
static inline void __decay_stamp(struct zone *zone, struct page *page,
				 unsigned long pfn, unsigned int order)
{
	struct mem_section *ms = page_section(page);
	uint32_t now = CMM_LOAD_SHARED(NODE_DATA(zone->node)->decay_clock);
	unsigned long first = (pfn - ms->start_pfn) >> pageblock_order;
	unsigned long last = (pfn + (1UL << order) - 1 - ms->start_pfn) >>
			     pageblock_order;

	if (unlikely(!now)) {
		now = DECAY_STAMP_UNKNOWN;
		if (core_config.decay_ms &&
		    !CMM_LOAD_SHARED(reclaim_work_pending))
			CMM_STORE_SHARED(reclaim_work_pending, 1);
	}
	for (unsigned long i = first; i <= last; i++)
		ms->pageblock_freed[i] = now;
}

#endif /* BUDDY_INTERNAL_H */
