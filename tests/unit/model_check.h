/*
 * model_check.h - an independent checker of the buddy state, shared by the
 * model-based test (model.c) and by the test that proves the checkers can
 * fail (checker_fails.c), so the code shown to fail is the code that passes.
 *
 * It reads the core's data structures (zone, free_area, struct page,
 * mem_section) but none of the core's functions beyond the inline address
 * helpers of internal.h, and nothing of core/check.c: what it believes about
 * the free lists it rebuilds itself from a walk, page by page, in bitmaps of
 * its own.
 *
 * What mc_check_zone() proves, for one zone, under zone->lock:
 *   - the zone's section list is sane: nr_sections entries, each published
 *     in mem_section[], aligned, owned by the zone; present_pages agrees;
 *   - every block on free_area[o].free_list[t] is a page of the zone with
 *     PG_buddy and not PG_head, order o, migratetype t, aligned to 2^o;
 *   - every pageblock a free block spans has the type of its free list
 *     (page_alloc.c keeps free blocks on their pageblock's list, as the
 *     kernel does since 6.10);
 *   - every free page is on exactly one free list (no two free blocks
 *     overlap);
 *   - free_area[o].nr_free, nr_free_type[t] and nr_free_pages agree with
 *     the walk;
 *   - no two free buddies of equal order < MAX_PAGE_ORDER are left unmerged,
 *     except at order >= pageblock_order across a HIGHATOMIC or ISOLATE
 *     pageblock (where the kernel refuses to merge on purpose);
 *   - nr_reserved_highatomic == pageblock_nr_pages x the HIGHATOMIC
 *     pageblocks of the zone;
 *   - no free page lies inside a live allocation, and no two live
 *     allocations overlap; each live allocation's head page has PG_head,
 *     not PG_buddy, and the nr_pages and order it was allocated with;
 *   - with MC_LIVE_COMPLETE (the caller knows every allocation of the zone):
 *     free pages + live pages == present_pages;
 *   - with MC_SCAN_PAGES, every page descriptor of the zone: no page with
 *     both PG_buddy and PG_head, PG_buddy only on the heads of the blocks
 *     found on the free lists, and (with MC_LIVE_COMPLETE) PG_head only on
 *     the heads of live allocations.
 */
#ifndef BUDDY_TEST_MODEL_CHECK_H
#define BUDDY_TEST_MODEL_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* One allocation the caller knows to be live. */
struct mc_live {
	uintptr_t addr;			/* first byte; page aligned */
	unsigned long nr_pages;		/* pages owned (an exact allocation's
					 * tail is not counted) */
	unsigned int order;		/* the order of the head's block */
	int migratetype;		/* expected page->migratetype; -1: any */
};

/* Flags of mc_check_zone(). */
#define MC_LIVE_COMPLETE	0x1u	/* live[] holds every allocation */
#define MC_SCAN_PAGES		0x2u	/* read every page descriptor */

/* Receives one line per violation (no trailing newline). */
typedef void (*mc_report_fn)(void *opaque, const char *line);

/*
 * Check zone (taking and releasing zone->lock) against the allocations in
 * live[0..nr_live); allocations outside the zone's sections are ignored.
 * Each violation is reported through report (NULL: not reported; at most
 * MC_MAX_REPORTS lines per call, the rest only counted). Returns the number
 * of violations.
 */
#define MC_MAX_REPORTS	20
unsigned long mc_check_zone(struct zone *zone, const struct mc_live *live,
			    size_t nr_live, unsigned int flags,
			    mc_report_fn report, void *opaque);

/*
 * The cheap O(orders x types) check the model runs after every step:
 * sum of nr_free[o] << o == sum of nr_free_type[t] == nr_free_pages, and
 * nr_free_pages + live_pages == present_pages when live_pages is not
 * (unsigned long)-1. Takes zone->lock. Returns the violations.
 */
unsigned long mc_check_counters(struct zone *zone, unsigned long live_pages,
				mc_report_fn report, void *opaque);

/*
 * The per-step check after pages [pfn, pfn + n) were given back (a free, the
 * tail of an exact allocation, a shrink): every one of them is now inside a
 * free block, and none of those free blocks has a free buddy of its order
 * (the same exception as above). O(blocks x orders); a skipped merge is
 * seen the moment it happens, before later allocations can hide it.
 * Takes zone->lock. Returns the number of violations.
 */
unsigned long mc_check_merged(struct zone *zone, unsigned long pfn,
			      unsigned long n, mc_report_fn report,
			      void *opaque);

/* Our own buddy arithmetic, to compare the core's with. */
static inline unsigned long mc_buddy_pfn(unsigned long pfn, unsigned int order)
{
	return pfn ^ (1UL << order);
}

/* The smallest order whose block holds nr_pages pages. */
static inline unsigned int mc_order_of(unsigned long nr_pages)
{
	unsigned int order = 0;

	while ((1UL << order) < nr_pages)
		order++;
	return order;
}

#endif /* BUDDY_TEST_MODEL_CHECK_H */
