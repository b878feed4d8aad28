/*
 * mm_types.h - the types of the buddy page allocator, and nothing else.
 *
 * Vocabulary (the kernel's, see include/linux/mmzone.h and mm_types.h):
 *
 *   page         a 4 KiB page of the heap; pfn = address >> PAGE_SHIFT. In
 *                user space "physical" and virtual addresses are the same, so
 *                page_address(page) is pfn << PAGE_SHIFT.
 *   struct page  the out-of-line descriptor of one page (64 bytes).
 *   order        a block of 2^order pages, naturally aligned; 0..MAX_PAGE_ORDER.
 *   buddy        the block that, with a block of the same order, makes the
 *                aligned block of the next order: pfn ^ (1 << order).
 *   pageblock    2 MiB (order 9) unit that carries a migrate type.
 *   migrate type what the pages of a pageblock are used for: in user space
 *                nothing migrates, so the types group allocations by
 *                expected lifetime (see enum migratetype).
 *   section      128 MiB of address space mapped from the OS at once and
 *                onlined into one zone (SPARSEMEM's mem_section).
 *   zone         a pool of sections with one buddy free area (NORMAL, or
 *                LOW32 for memory below 4 GiB).
 *   node         a pglist_data: the zones of one NUMA node.
 */
#ifndef BUDDY_MM_TYPES_H
#define BUDDY_MM_TYPES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/list.h>

#include "buddymalloc.h"

/* ---------------------------------------------------------------- sizes */

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)

#define MAX_PAGE_ORDER		BUDDY_MAX_PAGE_ORDER	/* 4 MiB blocks */
#define NR_PAGE_ORDERS		(MAX_PAGE_ORDER + 1)
#define MAX_ORDER_NR_PAGES	(1UL << MAX_PAGE_ORDER)

#define pageblock_order	9			/* 2 MiB: the THP size */
#define pageblock_nr_pages	(1UL << pageblock_order)

#define SECTION_SIZE_BITS	27			/* 128 MiB */
#define PFN_SECTION_SHIFT	(SECTION_SIZE_BITS - PAGE_SHIFT)
#define PAGES_PER_SECTION	(1UL << PFN_SECTION_SHIFT)
#define PAGEBLOCKS_PER_SECTION	(PAGES_PER_SECTION / pageblock_nr_pages)
#define SECTION_SIZE		(1UL << SECTION_SIZE_BITS)

/* x86-64 user space is 47 bits: 2^20 sections, an 8 MiB table in .bss. */
#define MAX_PHYSMEM_BITS	47
#define NR_MEM_SECTIONS		(1UL << (MAX_PHYSMEM_BITS - SECTION_SIZE_BITS))

/* ------------------------------------------------------- migrate types */

/*
 * The kernel's migrate types, read as lifetimes (DESIGN.md):
 *   UNMOVABLE    long-lived objects (the default);
 *   MOVABLE      short-lived objects: when they die, whole pageblocks empty
 *                and can go back to the OS;
 *   RECLAIMABLE  caches that may be dropped under pressure;
 *   HIGHATOMIC   a small reserve of pageblocks for the allocator's own
 *                metadata (allocations with __GFP_HIGHATOMIC);
 *   ISOLATE      pageblocks being handed back to the OS: never allocated from.
 * The first MIGRATE_PCPTYPES types are the ones ordinary allocations ask for.
 */
enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES,
	MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
	MIGRATE_ISOLATE,
	MIGRATE_TYPES
};

/* ------------------------------------------------------------ gfp flags */

typedef unsigned int gfp_t;

/* The public flags keep the kernel's meaning and these names inside. */
#define __GFP_MOVABLE		BUDDY_GFP_MOVABLE
#define __GFP_RECLAIMABLE	BUDDY_GFP_RECLAIMABLE
#define __GFP_LOW32		BUDDY_GFP_LOW32
#define __GFP_ZERO		BUDDY_GFP_ZERO
#define __GFP_NOWAIT		BUDDY_GFP_NOWAIT
#define __GFP_NORETRY		BUDDY_GFP_NORETRY
#define __GFP_RETRY_MAYFAIL	BUDDY_GFP_RETRY_MAYFAIL
/* Honoured only for the allocator's own metadata (no owner bit below):
 * from any other caller it means __GFP_RETRY_MAYFAIL. */
#define __GFP_NOFAIL		BUDDY_GFP_NOFAIL
/* Internal only: the allocator's own metadata, served from the reserve. */
#define __GFP_HIGHATOMIC	0x100u
/*
 * Internal only: who an allocation is for, recorded on its head page so
 * that each interface frees only the blocks it allocated (see struct page):
 * __GFP_LARGE_KMALLOC sets PG_large_kmalloc, __GFP_PAGE_API sets
 * PG_page_api. Without either, the block is the allocator's own (slab
 * pages, metadata) and neither interface accepts it. At most one of them.
 */
#define __GFP_LARGE_KMALLOC	0x200u
#define __GFP_PAGE_API		0x400u
#define GFP_OWNER_MASK		(__GFP_LARGE_KMALLOC | __GFP_PAGE_API)
/*
 * Internal only: the caller holds locks of a cache above the core (slab/),
 * so direct reclaim must not run the shrinkers, which take them: as the
 * kernel's GFP_NOFS keeps reclaim out of the filesystem that allocates.
 */
#define __GFP_NO_SHRINKERS	0x800u

#define GFP_MOVABLE_MASK	(__GFP_MOVABLE | __GFP_RECLAIMABLE)
#define GFP_PUBLIC_MASK		(__GFP_MOVABLE | __GFP_RECLAIMABLE | \
				 __GFP_LOW32 | __GFP_ZERO | __GFP_NOWAIT | \
				 __GFP_NORETRY | __GFP_RETRY_MAYFAIL | \
				 __GFP_NOFAIL)

/* ---------------------------------------------------- shared accesses */

/*
 * READ_ONCE and WRITE_ONCE (the kernel's, include/asm-generic/rwonce.h):
 * one load or store of a whole field that another thread may access at the
 * same moment, with one of them writing. Relaxed C11 atomics: the access is
 * never torn, merged with another, repeated or invented by the compiler,
 * and two such accesses are no data race (ThreadSanitizer reports none);
 * they order nothing else, so a reader gets a value that was stored, maybe
 * an old one, and must not conclude more from it than the protocol of the
 * field allows (struct page says what). On x86-64 each is one mov, as the
 * plain access was; what is lost is only that gcc folds no atomic load
 * into another instruction (test of a flag in memory: mov + test).
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, val)	__atomic_store_n(&(x), (val), __ATOMIC_RELAXED)

/* ---------------------------------------------------------- struct page */

/* page->flags bits. */
enum pageflags {
	PG_buddy = 1u << 0,	/* head of a free block on a free list */
	PG_head  = 1u << 1,	/* head of an allocated block */
	PG_slab  = 1u << 2,	/* a page of a slab (set and cleared by slab/) */
	/* The owner of an allocated block, on its head page with PG_head
	 * (set by the core from the gfp owner bits, under zone->lock): */
	PG_large_kmalloc = 1u << 3,	/* a page block of the malloc family
					 * (slab/kmalloc.c, the kernel's
					 * large kmalloc) */
	PG_page_api = 1u << 4,	/* a block of the public page API
				 * (buddymalloc_alloc_pages[_exact]) */
	PG_pcp   = 1u << 5,	/* head of a free block on a per-CPU list */
};

/* The owner flags; a head with none of them is the allocator's own. */
#define PG_OWNER_MASK	(PG_large_kmalloc | PG_page_api)

/*
 * The descriptor of one page. Descriptors live out of line, one array per
 * section (mem_section::mem_map), and start zeroed: a page nobody has touched
 * has flags == 0, which reads as "inside some block, not a head".
 *
 * Which fields mean what:
 *   PG_buddy:  order = order of the free block; migratetype = the free list
 *              it is on (usually its pageblock's type, not always: a page
 *              stolen singly keeps its pageblock's type); lru links it into
 *              zone->free_area[order].free_list[migratetype].
 *   PG_head:   nr_pages = pages in the allocation (an exact allocation is not
 *              a power of two); order = the order it was allocated with
 *              (get_order(nr_pages)); migratetype = the type that was asked
 *              for. lru and slab belong to the owner of the allocation.
 *              At most one owner flag says whom the block was allocated
 *              for: PG_large_kmalloc (malloc's page blocks), PG_page_api
 *              (the public page API), or none (the allocator's own: slab
 *              pages, which carry PG_slab, and the slab layer's metadata).
 *              A checked free names the owner it expects and refuses any
 *              other, so neither interface frees the other's blocks, a
 *              slab's pages or the metadata.
 *   PG_pcp:    a free block on a per-CPU page list (pcp.c): order and
 *              nr_pages (1 << order) give its size, migratetype the list;
 *              lru links it into per_cpu_pages::lists. Not on the buddy
 *              free lists and not counted in nr_free_pages; resident.
 *   neither:   a page inside a free block or an allocation; no field is
 *              meaningful to the core. slab/ marks every page of a slab
 *              PG_slab with slab.private pointing at its struct slab, and
 *              clears the marks before the pages go back.
 * Invariants: a page has at most one of PG_buddy, PG_head and PG_pcp; an
 * owner flag is only ever on a PG_head page, and never both of them.
 * The head flags of an allocation change from PG_head to free (PG_pcp or
 * PG_buddy) only by an atomic compare-and-swap (page_head_claim()), so that
 * of two frees of one block exactly one wins, with or without zone->lock.
 *
 * Concurrency. flags, order, migratetype and nr_pages are read by threads
 * that do not own the page: under zone->lock the buddy's merge
 * (page_is_buddy) and the walks over a range of page frames (reclaim.c,
 * pageblock.c) read any page, while its owner rewrites it under another
 * lock (a per-CPU list's, a slab cache's) or none (the claim above, the
 * slab pages' marks); free() reads flags of a page it does not own yet.
 * So every access to these four fields, reads under a lock included, is
 * READ_ONCE/WRITE_ONCE (or the claim's compare-and-swap): one rule, no
 * data race in C11 terms. What a reader may conclude is the kernel's:
 * PG_buddy is set and cleared only under zone->lock, so a reader holding
 * it that finds PG_buddy set sees a free block whose order and migratetype
 * stay as read; a page outside the buddy is rewritten only with PG_buddy
 * clear, so such a reader reads its other fields only to step over the
 * block (a value a moment old still describes the same pages, see
 * pcp.c) or to count it approximately. A read-modify-write of flags is a
 * WRITE_ONCE of a value computed from a READ_ONCE where one writer at a
 * time is certain (said at each), else an atomic read-modify-write (the
 * claim). lru and slab are written only by the page's owner, before the
 * page (on a list) or its objects (a slab's) reach another thread through
 * the owner's locks, and read after that.
 */
struct page {
	uint32_t flags;
	uint8_t order;
	uint8_t migratetype;
	uint16_t __pad;
	uint32_t nr_pages;
	uint32_t __pad2;
	struct cds_list_head lru;
	/* Owned by slab/ while PG_slab is set (slab_internal.h says what
	 * each field holds); the core never reads these. private is also
	 * the malloc family's on the head page of its page blocks. */
	struct {
		void *cache;
		uint32_t offset;
		uint32_t reciprocal;
		uint32_t span;
		uint16_t size;
		uint16_t cache_idx;
		uintptr_t private;
	} slab;
};

_Static_assert(sizeof(struct page) == 64, "struct page must stay 64 bytes");

/* -------------------------------------------------------------- sections */

struct zone;

/*
 * One onlined section: 128 MiB of heap and the metadata describing it. The
 * header and mem_map share one mapping aligned to SECTION_META_ALIGN, so a
 * struct page finds its section by masking its own address (page_to_pfn()
 * needs no lookup). Once published in the section table, start_pfn, zone and
 * mem_map never change. pageblock_flags is written under zone->lock and read
 * without it on the free path's fast check (a stale read only picks a
 * different free list; the merge itself runs under the lock).
 *
 * abandoned: set in a child process that gave up the heap it inherited
 * (core_fork_child(true), see fork.c) and never cleared. The section is no
 * longer on its zone's list; its blocks stay mapped and readable, and frees
 * of them do nothing. Written while the child runs alone, read without locks.
 */
struct mem_section {
	unsigned long start_pfn;
	unsigned long section_nr;
	struct zone *zone;
	struct mem_section *zone_next;	/* the zone's sections, newest first */
	bool abandoned;			/* inherited across fork, given up */
	uint8_t pageblock_flags[PAGEBLOCKS_PER_SECTION]; /* migrate type each */
	/* mem_map starts after the header, SECTION_META_HEADER bytes in. */
	struct page *mem_map;
	/*
	 * One bit per page: set while the page is *released*, i.e. not
	 * resident: never touched since the section was mapped, or handed
	 * back to the OS with MADV_DONTNEED since it was last allocated. Only
	 * free pages (in free blocks, or in blocks isolated for release) have
	 * the bit; taking a block off the free lists for use clears its bits.
	 * Protected by the zone's lock. A released page reads as zero.
	 */
	unsigned long released[PAGES_PER_SECTION / (8 * sizeof(unsigned long))];
	/*
	 * Per pageblock, when a free last put resident pages into it: the
	 * node's decay clock (pglist_data::decay_clock, a millisecond tick)
	 * at that free, DECAY_STAMP_UNKNOWN when the clock was stopped, or
	 * DECAY_STAMP_CLEAN when the pageblock has no resident free page that
	 * decay has not seen since its last release. Protected by the zone's
	 * lock (reclaim.c, "Decay").
	 */
	uint32_t pageblock_freed[PAGEBLOCKS_PER_SECTION];
	/*
	 * Per pageblock, since when the re-typing scan has seen it
	 * short-lived and pinned mostly empty by the same number of
	 * allocated pages (pageblock.c, "Re-typing"): the decay clock's time
	 * (decay_now_ms) at the first scan that saw it so, or
	 * PINNED_STAMP_NONE; and that number. Protected by the zone's lock.
	 */
	uint32_t pageblock_pinned[PAGEBLOCKS_PER_SECTION];
	uint16_t pageblock_pinned_pages[PAGEBLOCKS_PER_SECTION];
};

#define DECAY_STAMP_CLEAN	0u
#define DECAY_STAMP_UNKNOWN	1u
#define PINNED_STAMP_NONE	0u

#define SECTION_META_HEADER	(2 * PAGE_SIZE)
#define SECTION_MEM_MAP_SIZE	(PAGES_PER_SECTION * sizeof(struct page))
#define SECTION_META_SIZE	(SECTION_META_HEADER + SECTION_MEM_MAP_SIZE)
#define SECTION_META_ALIGN	(4UL << 20)	/* > SECTION_META_SIZE, power of 2 */
#define SECTION_META_PAGES	(SECTION_META_SIZE >> PAGE_SHIFT)

_Static_assert(sizeof(struct mem_section) <= SECTION_META_HEADER, "header fits");
_Static_assert(SECTION_META_SIZE <= SECTION_META_ALIGN, "metadata fits");

/* ----------------------------------------------------------------- zones */

struct free_area {
	struct cds_list_head free_list[MIGRATE_TYPES];
	unsigned long nr_free;		/* blocks of this order, all types */
};

/* The watermarks of a zone (budget.c), in pages of budget left free. */
enum zone_watermarks {
	WMARK_MIN,
	WMARK_LOW,
	WMARK_HIGH,
	NR_WMARK
};

enum zone_type {
	ZONE_LOW32,	/* every page below 4 GiB (the kernel's ZONE_DMA32) */
	ZONE_NORMAL,
	MAX_NR_ZONES
};

/* ------------------------------------------------------- per-CPU pages */

/*
 * The orders the per-CPU lists keep: 0 to PCP_MAX_LOWORDER, and
 * pageblock_order. The kernel stops at PAGE_ALLOC_COSTLY_ORDER (3), the
 * largest slab its SLUB makes; our slab layer makes slabs up to order 5
 * (slab/slab.c, calculate_order), and their refills and frees are the
 * page-level traffic the lists are for, so they go up to 5.
 */
#define PAGE_ALLOC_COSTLY_ORDER	3
#define PCP_MAX_LOWORDER	5
#define NR_PCP_ORDERS		(PCP_MAX_LOWORDER + 2)	/* + pageblock_order */
#define NR_PCP_LISTS		(MIGRATE_PCPTYPES * NR_PCP_ORDERS)

/*
 * One CPU's free blocks of one zone (the kernel's struct per_cpu_pages).
 * lock: taken with a trylock by the thread running on the CPU (pcp.c says
 * why a lock and not an rseq critical section), and spun on by drains.
 * Everything below it is protected by it; high and batch are also written
 * by zone_pcp_update() under it, and read racily by reports.
 *
 * Invariants, with lock held: count == sum over lists of len << order;
 * count <= high; every block on lists[order_to_pindex(mt, order)] has
 * PG_pcp, that order and migratetype mt, and its pages are resident.
 * Lock order: pcp->lock before zone->lock, never the other way.
 */
struct per_cpu_pages {
	int lock;
	int count;		/* pages on the lists */
	int high;		/* above this, a free spills batch pages */
	int batch;		/* pages moved per refill or spill */
	struct cds_list_head lists[NR_PCP_LISTS];
} __attribute__((aligned(64)));

/*
 * A zone. Locking: every field below "protected by lock" changes only with
 * zone->lock held; functions named __foo expect it held, foo takes it.
 * The read-mostly fields above it are set at init.
 *
 * Invariants, with the lock held:
 *   nr_free_pages == sum over orders o and types t of
 *                    len(free_area[o].free_list[t]) << o
 *   free_area[o].nr_free == sum over t of len(free_area[o].free_list[t])
 *   nr_free_type[t] == sum over o of len(free_area[o].free_list[t]) << o
 *   present_pages == nr_sections * PAGES_PER_SECTION
 *   nr_released == the released bits set in the zone's sections, each on a
 *                  page of a free (or isolated) block
 *   no free block of order o < MAX_PAGE_ORDER has a free buddy of order o,
 *   except across a HIGHATOMIC or ISOLATE pageblock boundary.
 */
struct zone {
	/* read-mostly */
	const char *name;
	enum zone_type zone_idx;
	int node;
	unsigned long max_sections;	/* 0: no limit but address space */

	/*
	 * The zone's share of the memory budget and its watermarks, in pages
	 * (budget.c). Written by setup_per_zone_wmarks() when the budget or a
	 * setting changes, read without any lock (a stale value only moves a
	 * decision by one allocation).
	 *   free (zone_page_free()) = managed_pages - resident pages, where
	 *   resident = present_pages - nr_released + meta_pages (plus, for
	 *   a node's highest zone, its part of the direct mappings and the
	 *   other metadata).
	 *   lowmem_reserve[j]: pages of free this zone keeps back from an
	 *   allocation that may use zones up to j (0 for j <= zone_idx).
	 */
	unsigned long managed_pages;
	unsigned long _watermark[NR_WMARK];
	unsigned long lowmem_reserve[MAX_NR_ZONES];
	/* nr_pcp_cpus per-CPU lists (pcp.c); NULL: none, every allocation
	 * goes to the buddy lists. Set at init, never changes. */
	struct per_cpu_pages *per_cpu_pageset;
	/* The high and batch every CPU's lists get, and zone_pcp_disable()'s
	 * nesting: written under grow_lock (zone_pcp_update), read racily. */
	int pageset_high;
	int pageset_batch;
	int pcp_disabled;

	pthread_mutex_t lock;
	/* protected by lock */
	struct free_area free_area[NR_PAGE_ORDERS];
	unsigned long nr_free_pages;
	unsigned long nr_released;	/* free pages not resident (released bits) */
	unsigned long nr_free_type[MIGRATE_TYPES];
	unsigned long nr_reserved_highatomic;
	unsigned long nr_isolate_pageblock;	/* ISOLATE pageblocks (reclaim.c) */
	/* Pageblocks whose allocated pages are mostly of another type, as
	 * the last re-typing scan left them (pageblock.c); read racily. */
	unsigned long nr_wrong_type_pageblocks;
	unsigned long present_pages;
	unsigned long nr_sections;
	struct mem_section *sections;	/* list through zone_next */
	/* Pages of its sections' descriptors, counted whole as resident
	 * (the OS backs only what is touched); written under lock and
	 * grow_lock, read without either by the budget. */
	unsigned long meta_pages;

	/* One thread at a time maps a new section, without holding lock
	 * (online_section); taken before lock, never while holding it. */
	pthread_mutex_t grow_lock;
	/* protected by grow_lock */
	unsigned long low32_hint;	/* LOW32: next address to try mapping at */

	/* The re-typing scan's schedule (vmscan.c, retype_node): touched
	 * only by whoever runs the node's reclaim work (its thread, or the
	 * inline pass under reclaim_work_busy). */
	uint32_t retype_last_scan;	/* decay clock at the last scan; 0: none */
	unsigned long retype_long_room;	/* free pages in UNMOVABLE pageblocks
					 * holding allocations, at the last
					 * scan (the pinned rule) */
	bool retype_waiting;		/* that scan left a pinned stamp waiting */
};

#define MAX_NUMNODES	8

/* The zonelist of a node: zones to try, best first, NULL-terminated. */
struct zonelist {
	struct zone *zones[MAX_NUMNODES * MAX_NR_ZONES + 1];
};

/*
 * A NUMA node (zone.c says how the nodes are found), and its reclaim thread
 * (vmscan.c). The topology is set at init, then read-only. The thread's
 * fields are protected by kswapd_lock, a leaf lock (nothing else is taken
 * while it is held), except those marked otherwise.
 */
typedef struct pglist_data {
	int node_id;
	int bind_node;		/* the real node its sections are bound to
				 * (mbind), or -1: not bound */
	unsigned int nr_cpus;	/* CPUs whose allocations start here */
	struct zone node_zones[MAX_NR_ZONES];
	struct zonelist node_zonelist;	/* its zones, then the others' */

	pthread_mutex_t kswapd_lock;
	/* The thread sleeps on this futex word; every wake adds one to it
	 * (atomic; a signal handler may wake node 0's thread, without the
	 * lock: reclaim_report_request). */
	uint32_t kswapd_wait;
	bool kswapd_started;		/* the thread exists in this process */
	bool kswapd_idle;		/* it sleeps until woken: no decay due */
	bool kswapd_wake;		/* a zone fell below low: balance */
	bool kswapd_decay_kick;		/* decay has work: look at the clock */
	unsigned int kswapd_order;	/* the largest order woken for */
	enum zone_type kswapd_highest_zoneidx;
	/* Balance runs and decay passes finished (atomic; tests poll it). */
	unsigned long kswapd_runs;
	/*
	 * The decay clock (atomic): milliseconds of a coarse monotonic
	 * clock, read by whoever runs decay (the thread, or the allocating
	 * path with the threads off) each time it runs, and 0 while it is
	 * stopped (nothing of the node waits for decay). Frees stamp their
	 * pageblock with it under zone->lock (reclaim.c, "Decay").
	 */
	uint32_t decay_clock;
} pg_data_t;

/* ----------------------------------------------------------- allocation */

/* What the allocation path carries from step to step (mm/internal.h). */
struct alloc_context {
	struct zonelist *zonelist;
	enum zone_type highest_zoneidx;	/* the highest zone the caller may use */
	int migratetype;
	unsigned int alloc_flags;
	unsigned int page_owner;	/* PG_ owner flag for the head, or 0 */
	unsigned long nr_pages;		/* the allocation's pages (exact: fewer
					 * than 2^order, the rest go back) */
	/* Budget only, for memory outside the zones (a direct mapping of
	 * nr_pages): no block is taken. */
	bool outside_zones;
	/* Out: the block handed out. */
	struct page *page;
	/* Out: every page of the block handed out was released, so it reads
	 * as zero (the OS gives released pages back zeroed). */
	bool zeroed;
};

/*
 * alloc_flags (the kernel's, mm/internal.h): the low bits are the
 * watermark to check (enum zone_watermarks), the rest modify the check.
 */
#define ALLOC_WMARK_MIN		WMARK_MIN
#define ALLOC_WMARK_LOW		WMARK_LOW
#define ALLOC_WMARK_HIGH	WMARK_HIGH
#define ALLOC_WMARK_MASK	0x03u
#define ALLOC_NO_WATERMARKS	0x04u	/* no watermark, no budget check */
#define ALLOC_HARDER		0x10u	/* may not sleep: min - min/4 */
#define ALLOC_HIGH		0x20u	/* high priority: min - min/2 */
#define ALLOC_HIGHATOMIC	0x40u	/* may use and create the reserve */

#endif /* BUDDY_MM_TYPES_H */
