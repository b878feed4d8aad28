/*
 * page_alloc.c - the buddy allocator: free lists per order and migrate type,
 * merging on free, splitting on allocation, falling back to other migrate
 * types by the kernel's rules (mm/page_alloc.c, v6.10 and later), and
 * page-granular allocations.
 *
 * Invariant kept here (checked by check.c): a free block is always on the
 * free list of its pageblock's migrate type. Stealing therefore either
 * claims a whole pageblock (changing its type and moving its free pages) or
 * allocates from the fallback type's list without moving anything, as the
 * kernel has done since 6.10.
 *
 * The allocation path is the kernel's: the fast path walks the zonelist;
 * in each zone a block of a pcp order comes first from the running CPU's
 * list (pcp.c: resident already, so no budget to check; a refill checks
 * the budget block by block), else the zone is taken from only when its
 * watermark check passes at the low mark, on the budget (budget.c: free =
 * managed - resident, checked under zone->lock together with the take);
 * a failed check for order > 0 drains the lists once, so that pieces on
 * them can merge, and looks again. The slow path wakes the reclaim
 * threads, tries at the min mark, reclaims in the calling thread, and
 * retries as the gfp modifiers allow; a failure is a clean ENOMEM, with
 * warn_alloc's report when asked for.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "seq_buf.h"

#ifdef BUDDY_TEST_HOOKS
unsigned long test_skip_merges;
#endif

unsigned int get_order(unsigned long nr_pages)
{
	if (nr_pages <= 1)
		return 0;
	return (unsigned int)(64 - __builtin_clzl(nr_pages - 1));
}

/* ------------------------------------------------------------ free lists */

void __add_to_free_list(struct page *page, struct zone *zone,
			unsigned int order, int migratetype, bool tail)
{
	struct free_area *area = &zone->free_area[order];

	WRITE_ONCE(page->flags, PG_buddy);
	WRITE_ONCE(page->order, (uint8_t)order);
	WRITE_ONCE(page->migratetype, (uint8_t)migratetype);
	if (tail)
		cds_list_add_tail(&page->lru, &area->free_list[migratetype]);
	else
		cds_list_add(&page->lru, &area->free_list[migratetype]);
	area->nr_free++;
	zone->nr_free_pages += 1UL << order;
	zone->nr_free_type[migratetype] += 1UL << order;
}

void __del_page_from_free_list(struct page *page, struct zone *zone,
			       unsigned int order)
{
	struct free_area *area = &zone->free_area[order];

	cds_list_del(&page->lru);
	/* Not an atomic read-modify-write: the flags of a PG_buddy page are
	 * written only under zone->lock, which is held (a claim, the one
	 * write without it, fails on anything but PG_head). */
	WRITE_ONCE(page->flags, READ_ONCE(page->flags) & ~PG_buddy);
	area->nr_free--;
	zone->nr_free_pages -= 1UL << order;
	zone->nr_free_type[READ_ONCE(page->migratetype)] -= 1UL << order;
}

/* To the tail, as the kernel does: the moved block is the last choice. */
void __move_to_free_list(struct page *page, struct zone *zone,
			 unsigned int order, int migratetype)
{
	struct free_area *area = &zone->free_area[order];

	cds_list_del(&page->lru);
	cds_list_add_tail(&page->lru, &area->free_list[migratetype]);
	zone->nr_free_type[READ_ONCE(page->migratetype)] -= 1UL << order;
	zone->nr_free_type[migratetype] += 1UL << order;
	WRITE_ONCE(page->migratetype, (uint8_t)migratetype);
}

static struct page *get_page_from_free_area(struct free_area *area,
					    int migratetype)
{
	struct cds_list_head *head = &area->free_list[migratetype];

	if (cds_list_empty(head))
		return NULL;
	return cds_list_first_entry(head, struct page, lru);
}

/* ----------------------------------------------------------------- free */

static inline bool page_is_buddy(const struct page *buddy, unsigned int order)
{
	return (READ_ONCE(buddy->flags) & PG_buddy) &&
	       READ_ONCE(buddy->order) == order;
}

static inline bool migratetype_is_mergeable(int mt)
{
	return mt < MIGRATE_PCPTYPES;
}

/*
 * If the block that the freed block will merge into next is likely to be
 * freed soon (its buddy at order + 1 is already free), put the freed block
 * at the tail of its list so that it is not handed out again first: that
 * gives the neighbour time to come back and the merge to happen.
 */
static bool buddy_merge_likely(unsigned long pfn, struct page *page,
			       unsigned int order)
{
	unsigned long higher_pfn, higher_buddy_pfn;

	if (order >= MAX_PAGE_ORDER - 1)
		return false;
	higher_pfn = pfn & ~((1UL << (order + 1)) - 1);
	higher_buddy_pfn = higher_pfn ^ (1UL << (order + 1));
	return page_is_buddy(page + ((long)higher_buddy_pfn - (long)pfn),
			     order + 1);
}

static void __sub_reserved_highatomic(struct zone *zone, unsigned long nr)
{
	zone->nr_reserved_highatomic -=
		nr < zone->nr_reserved_highatomic ? nr : zone->nr_reserved_highatomic;
}

/*
 * A whole reserved pageblock is free again. A deliberate deviation from the
 * kernel, which keeps it reserved: here a free pageblock is worth more in
 * the common pool, where it can merge and go back to the OS, and the next
 * metadata allocation reserves a block again. Returns the block's new type.
 */
static int __release_highatomic_block(struct zone *zone, struct page *page,
				      unsigned int order)
{
	change_pageblock_range(page, order, MIGRATE_MOVABLE);
	__sub_reserved_highatomic(zone, 1UL << order);
	return MIGRATE_MOVABLE;
}

/*
 * Freeing function for a buddy system allocator (after the kernel's essay).
 *
 * A block of 2^order pages at pfn is free. Its buddy is the block it was
 * split from, at pfn ^ (1 << order). While the buddy is free and whole (a
 * free block of the same order), take it off its list and continue with
 * the combined block one order up; then put the result on the free list.
 * Blocks never span sections (sections are larger than max-order blocks),
 * so the buddy's descriptor is in the same mem_map as ours.
 *
 * The freed pages are resident: their pageblock is stamped for decay
 * (reclaim.c). At and above pageblock order the merge joins two
 * pageblocks: reserved types (HIGHATOMIC, ISOLATE) never merge with
 * others, ISOLATE not even with ISOLATE, and ordinary ones
 * take the freed block's type so that a later split puts every part on the
 * right list.
 */
void __free_one_page(struct page *page, unsigned long pfn, struct zone *zone,
		     unsigned int order, int migratetype)
{
	__decay_stamp(zone, page, pfn, order);
	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_pfn = pfn ^ (1UL << order);
		struct page *buddy = page + ((long)buddy_pfn - (long)pfn);
		unsigned long combined_pfn;

#ifdef BUDDY_TEST_HOOKS
		if (test_skip_merges) {
			test_skip_merges--;
			break;
		}
#endif
		if (order >= pageblock_order &&
		    migratetype == MIGRATE_HIGHATOMIC)
			migratetype = __release_highatomic_block(zone, page, order);
		if (!page_is_buddy(buddy, order))
			break;
		if (order >= pageblock_order) {
			int buddy_mt = get_pfnblock_migratetype(buddy_pfn);

			/* An isolated pageblock keeps its blocks to itself
			 * while it is being released (reclaim.c). */
			if (migratetype == MIGRATE_ISOLATE)
				break;
			if (buddy_mt != migratetype) {
				if (!migratetype_is_mergeable(migratetype) ||
				    !migratetype_is_mergeable(buddy_mt))
					break;
				/* The buddy is exactly one pageblock here. */
				set_pageblock_migratetype(buddy, migratetype);
			}
		}
		__del_page_from_free_list(buddy, zone, order);
		combined_pfn = buddy_pfn & pfn;
		page -= pfn - combined_pfn;	/* combined_pfn <= pfn */
		pfn = combined_pfn;
		order++;
	}
	if (order >= pageblock_order && migratetype == MIGRATE_HIGHATOMIC)
		migratetype = __release_highatomic_block(zone, page, order);
	__add_to_free_list(page, zone, order, migratetype,
			   buddy_merge_likely(pfn, page, order));
}

/* Free [start, end) inside one block: as the largest aligned pieces, each
 * merging with whatever is free around it. */
static void __free_pages_range(struct zone *zone, unsigned long start,
			       unsigned long end)
{
	while (start < end) {
		unsigned int order = (unsigned int)__builtin_ctzl(start);
		unsigned int fit = 63 - (unsigned int)__builtin_clzl(end - start);

		if (order > fit)
			order = fit;
		if (order > MAX_PAGE_ORDER)
			order = MAX_PAGE_ORDER;
		__free_one_page(pfn_to_page(start), start, zone, order,
				get_pfnblock_migratetype(start));
		start += 1UL << order;
	}
}

/* ---------------------------------------------------------------- alloc */

/*
 * Split a block of order high into one of order low and free halves: the
 * upper half of each split goes back at its order. The order of
 * subdivision matters: the block handed out is always the lowest part, so
 * the free parts are buddies of what stays allocated.
 */
static void expand(struct zone *zone, struct page *page, unsigned int low,
		   unsigned int high, int migratetype)
{
	unsigned long size = 1UL << high;

	while (high > low) {
		high--;
		size >>= 1;
		__add_to_free_list(&page[size], zone, high, migratetype, false);
	}
}

static void page_del_and_expand(struct zone *zone, struct page *page,
				unsigned int order, unsigned int current_order,
				int migratetype)
{
	__del_page_from_free_list(page, zone, current_order);
	expand(zone, page, order, current_order, migratetype);
}

/* The smallest free block of the wanted type that fits. */
static struct page *__rmqueue_smallest(struct zone *zone, unsigned int order,
				       int migratetype)
{
	for (unsigned int current_order = order; current_order < NR_PAGE_ORDERS;
	     current_order++) {
		struct page *page =
			get_page_from_free_area(&zone->free_area[current_order],
						migratetype);

		if (!page)
			continue;
		page_del_and_expand(zone, page, order, current_order, migratetype);
		return page;
	}
	return NULL;
}

/* Where an allocation of each type looks when its own lists are empty. */
static const int fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1] = {
	[MIGRATE_UNMOVABLE]   = { MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE },
	[MIGRATE_MOVABLE]     = { MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE },
	[MIGRATE_RECLAIMABLE] = { MIGRATE_UNMOVABLE, MIGRATE_MOVABLE },
};

/*
 * May an allocation of start_mt that falls back to a block of this order
 * claim the block's whole pageblock? Large blocks always; long-lived and
 * reclaimable allocations always, because mixing them into other blocks is
 * what fragments memory for good; short-lived ones only from large enough
 * blocks.
 */
static bool can_steal_fallback(unsigned int order, int start_mt)
{
	if (order >= pageblock_order)
		return true;
	return order >= pageblock_order / 2 ||
	       start_mt == MIGRATE_RECLAIMABLE ||
	       start_mt == MIGRATE_UNMOVABLE;
}

/* The first fallback type with a free block of this order, or -1. */
static int find_suitable_fallback(struct free_area *area, unsigned int order,
				  int migratetype, bool *can_steal)
{
	if (area->nr_free == 0)
		return -1;
	for (int i = 0; i < MIGRATE_PCPTYPES - 1; i++) {
		int fallback_mt = fallbacks[migratetype][i];

		if (cds_list_empty(&area->free_list[fallback_mt]))
			continue;
		*can_steal = can_steal_fallback(order, migratetype);
		return fallback_mt;
	}
	return -1;
}

/*
 * Try to take the pageblock of page (a free block of current_order on a
 * fallback list) for start_type and allocate order from it. A block of
 * pageblock order or more becomes start_type whole. A smaller one claims
 * its pageblock only when at least half of the pageblock is free or already
 * used alike: "alike" for a MOVABLE request is the block's movable pages;
 * for the others, in a MOVABLE block, every allocated page that is not
 * movable.
 */
static struct page *try_to_steal_block(struct zone *zone, struct page *page,
				       unsigned int current_order,
				       unsigned int order, int start_type,
				       bool whole_block)
{
	unsigned long free_pages, movable_pages, alike_pages;
	int block_type;

	if (current_order >= pageblock_order) {
		__del_page_from_free_list(page, zone, current_order);
		change_pageblock_range(page, current_order, start_type);
		expand(zone, page, order, current_order, start_type);
		return page;
	}
	if (!whole_block)
		return NULL;

	block_type = get_pageblock_migratetype(page);
	free_pages = __count_pageblock_pages(page, &movable_pages);
	if (start_type == MIGRATE_MOVABLE)
		alike_pages = movable_pages;
	else if (block_type == MIGRATE_MOVABLE)
		alike_pages = pageblock_nr_pages - (free_pages + movable_pages);
	else
		alike_pages = 0;

	if (free_pages + alike_pages < (1UL << (pageblock_order - 1)))
		return NULL;
	__move_freepages_block(zone, page, start_type);
	set_pageblock_migratetype(page, start_type);
	return __rmqueue_smallest(zone, order, start_type);
}

/*
 * The wanted type has nothing free: take from another type. Try the
 * largest blocks first (the largest free block approximates the pageblock
 * with the most free pages, the best one to claim). Failing a claim, take
 * the smallest block that fits from a fallback list without changing any
 * pageblock: a short-lived allocation then pollutes the fewest pages.
 */
static struct page *__rmqueue_fallback(struct zone *zone, unsigned int order,
				       int start_migratetype)
{
	struct free_area *area;
	bool can_steal = false;
	int fallback_mt;

	for (int current_order = MAX_PAGE_ORDER; current_order >= (int)order;
	     current_order--) {
		struct page *page;

		area = &zone->free_area[current_order];
		fallback_mt = find_suitable_fallback(area, current_order,
						     start_migratetype, &can_steal);
		if (fallback_mt == -1)
			continue;
		/*
		 * A short-lived allocation that cannot claim the block is
		 * better served from the smallest block than by splitting a
		 * large one: the next fallback may well land elsewhere, and
		 * no lasting fragmentation comes of it.
		 */
		if (!can_steal && start_migratetype == MIGRATE_MOVABLE &&
		    current_order > (int)order)
			break;
		page = get_page_from_free_area(area, fallback_mt);
		page = try_to_steal_block(zone, page, current_order, order,
					  start_migratetype, can_steal);
		if (page)
			return page;
	}

	for (unsigned int current_order = order; current_order < NR_PAGE_ORDERS;
	     current_order++) {
		struct page *page;

		area = &zone->free_area[current_order];
		fallback_mt = find_suitable_fallback(area, current_order,
						     start_migratetype, &can_steal);
		if (fallback_mt == -1)
			continue;
		page = get_page_from_free_area(area, fallback_mt);
		page_del_and_expand(zone, page, order, current_order, fallback_mt);
		return page;
	}
	return NULL;
}

/*
 * Reserve the pageblock of a page just allocated for the allocator's own
 * metadata as HIGHATOMIC, up to about 1% of the zone, so that metadata
 * keeps finding room when ordinary allocations have used everything.
 */
static void __reserve_highatomic_pageblock(struct page *page,
					   unsigned int order,
					   struct zone *zone)
{
	unsigned long max_managed = zone->present_pages / 100 + pageblock_nr_pages;
	int mt;

	if (zone->nr_reserved_highatomic >= max_managed)
		return;
	mt = get_pageblock_migratetype(page);
	if (!migratetype_is_mergeable(mt))
		return;
	if (order < pageblock_order) {
		__move_freepages_block(zone, page, MIGRATE_HIGHATOMIC);
		set_pageblock_migratetype(page, MIGRATE_HIGHATOMIC);
		zone->nr_reserved_highatomic += pageblock_nr_pages;
	} else {
		change_pageblock_range(page, order, MIGRATE_HIGHATOMIC);
		zone->nr_reserved_highatomic += 1UL << order;
	}
}

/* How far an allocation that failed everywhere may dig into the reserve. */
enum unreserve {
	UNRESERVE_NONE,		/* first pass: leave the reserve alone */
	UNRESERVE_KEEP_LAST,	/* give back all but the last pageblock */
	UNRESERVE_ALL,		/* the allocation fails otherwise */
};

/*
 * An ordinary allocation has failed in every zone, and none can grow: give
 * one reserved pageblock that still has free pages back to migratetype.
 * The last one is kept until nothing else is left (the kernel's "force").
 */
static bool __unreserve_highatomic_pageblock(struct zone *zone, int migratetype,
					     enum unreserve how)
{
	if (how == UNRESERVE_NONE ||
	    (how == UNRESERVE_KEEP_LAST &&
	     zone->nr_reserved_highatomic <= pageblock_nr_pages))
		return false;
	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		struct page *page = get_page_from_free_area(
			&zone->free_area[order], MIGRATE_HIGHATOMIC);

		if (!page)
			continue;
		if (order >= pageblock_order) {
			unsigned long nr = 1UL << order;

			__sub_reserved_highatomic(zone, nr);
			change_pageblock_range(page, order, migratetype);
			__move_to_free_list(page, zone, order, migratetype);
		} else {
			__sub_reserved_highatomic(zone, pageblock_nr_pages);
			__move_freepages_block(zone, page, migratetype);
			set_pageblock_migratetype(page, migratetype);
		}
		return true;
	}
	return false;
}

struct page *__rmqueue(struct zone *zone, unsigned int order,
		       int migratetype, unsigned int alloc_flags)
{
	struct page *page;

	if (alloc_flags & ALLOC_HIGHATOMIC) {
		page = __rmqueue_smallest(zone, order, MIGRATE_HIGHATOMIC);
		if (page)
			return page;
	}
	page = __rmqueue_smallest(zone, order, migratetype);
	if (!page)
		page = __rmqueue_fallback(zone, order, migratetype);
	if (page && (alloc_flags & ALLOC_HIGHATOMIC))
		__reserve_highatomic_pageblock(page, order, zone);
	return page;
}

/* Mark a block just taken off the free lists as allocated for owner (a PG_
 * owner flag or 0). The flags are set under zone->lock so that a walker
 * holding it never sees a block that is neither free nor allocated, and a
 * checked free of the same block sees its owner. */
static void __prep_new_page(struct page *page, unsigned int order,
			    int migratetype, unsigned int owner)
{
	WRITE_ONCE(page->flags, PG_head | owner);
	WRITE_ONCE(page->order, (uint8_t)order);
	WRITE_ONCE(page->nr_pages, 1u << order);
	WRITE_ONCE(page->migratetype, (uint8_t)migratetype);
}

static void __trim_exact(struct zone *zone, struct page *page,
			 unsigned long nr, unsigned long end_nr);

/*
 * Hand out the block at page, taken off the free lists at order, as an
 * allocation of ac->nr_pages pages: the pages past them go straight back
 * (an exact allocation), the rest become resident (resident.c), and
 * ac->zeroed says whether all of them were released, so read as zero.
 */
static void __prep_allocation(struct zone *zone, struct page *page,
			      unsigned int order, struct alloc_context *ac)
{
	unsigned long pfn = page_to_pfn(page);

	__prep_new_page(page, order, ac->migratetype, ac->page_owner);
	if (ac->nr_pages < (1UL << order))
		__trim_exact(zone, page, ac->nr_pages, 1UL << order);
	ac->zeroed = __clear_pages_released(zone, pfn, ac->nr_pages) ==
		     ac->nr_pages;
}

/* ------------------------------------------------------------ watermarks */

/* May the zone still online a section (address space, not budget)? */
static bool zone_may_grow(const struct zone *zone)
{
	return !zone->max_sections ||
	       CMM_LOAD_SHARED(zone->nr_sections) < zone->max_sections;
}

/*
 * The kernel's __zone_watermark_ok(), on the budget: free_pages is what
 * the budget still allows in the zone (zone_page_free()), less the free
 * pages of the metadata reserve for allocations that may not use it. The
 * allocation of nr pages must leave more than mark plus the lowmem_reserve
 * for highest_zoneidx; high-priority allocations may go below mark
 * (ALLOC_HIGH by half, ALLOC_HARDER by a quarter more). Then, for a block
 * of order > 0, a free block of that order or more must exist on a list
 * the allocation may take from, or the zone must be able to grow by a
 * section (whose blocks are all of the largest order).
 */
bool __zone_watermark_ok(struct zone *zone, unsigned int order,
			 unsigned long nr, unsigned long mark,
			 enum zone_type highest_zoneidx,
			 unsigned int alloc_flags, long free_pages)
{
	long min = (long)mark;

	free_pages -= (long)nr - 1;
	if (!(alloc_flags & (ALLOC_HIGHATOMIC | ALLOC_HARDER | ALLOC_HIGH)))
		free_pages -= (long)CMM_LOAD_SHARED(
			zone->nr_free_type[MIGRATE_HIGHATOMIC]);
	if (alloc_flags & ALLOC_HIGH)
		min -= min / 2;
	if (alloc_flags & ALLOC_HARDER)
		min -= min / 4;
	if (free_pages <= min +
	    (long)CMM_LOAD_SHARED(zone->lowmem_reserve[highest_zoneidx]))
		return false;
	if (!order || zone_may_grow(zone))
		return true;
	for (unsigned int o = order; o < NR_PAGE_ORDERS; o++) {
		struct free_area *area = &zone->free_area[o];

		if (!CMM_LOAD_SHARED(area->nr_free))
			continue;
		for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
			if (!cds_list_empty(&area->free_list[mt]))
				return true;
		if ((alloc_flags & ALLOC_HIGHATOMIC) &&
		    !cds_list_empty(&area->free_list[MIGRATE_HIGHATOMIC]))
			return true;
	}
	return false;
}

/* The same without zone->lock, for 2^order pages: racy, as the kernel's
 * unlocked check is (callers that take pages check again under the
 * lock). */
bool zone_watermark_ok(struct zone *zone, unsigned int order,
		       unsigned long mark, enum zone_type highest_zoneidx,
		       unsigned int alloc_flags)
{
	return __zone_watermark_ok(zone, order, 1UL << order, mark,
				   highest_zoneidx, alloc_flags,
				   zone_page_free(zone));
}

/* Does the budget let this allocation take from zone? Caller holds
 * zone->lock, so the check and the take are one step for this zone. A
 * pass that may give the metadata reserve back checks the budget only:
 * it runs because the free lists fell short, and gives the reserve back
 * until the allocation is served or nothing is left reserved. */
static bool __zone_allows(struct zone *zone, unsigned int order,
			  const struct alloc_context *ac, enum unreserve how)
{
	unsigned int flags = ac->alloc_flags;

	if (how != UNRESERVE_NONE)
		order = 0;

	if (flags & ALLOC_NO_WATERMARKS)
		return true;
	if (__zone_watermark_ok(zone, order, ac->nr_pages,
				wmark_pages(zone, flags & ALLOC_WMARK_MASK),
				ac->highest_zoneidx, flags,
				zone_page_free(zone)))
		return true;
	count_vm_event(WMARK_FAIL);
	return false;
}

/* May a pcp refill take one more block of order for ac? Its pages become
 * resident, so the budget must allow it as it allows an allocation.
 * Caller holds zone->lock. */
bool __pcp_refill_allowed(struct zone *zone, unsigned int order,
			  const struct alloc_context *ac)
{
	return __zone_allows(zone, order, ac, UNRESERVE_NONE);
}

/* May this allocation come from the per-CPU lists? A whole block of a pcp
 * order (not an exact allocation's), and not for the metadata reserve. */
static inline bool pcp_allowed(unsigned int order,
			       const struct alloc_context *ac)
{
	return pcp_allowed_order(order) && ac->nr_pages == (1UL << order) &&
	       !(ac->alloc_flags & ALLOC_HIGHATOMIC);
}

/*
 * One zone: this CPU's list for a pcp order (its blocks are resident
 * already; a refill checks the budget block by block), else, if the
 * budget allows (the watermark of ac->alloc_flags), its free lists, else
 * a new section, else the blocks on every CPU's lists, else (on the later
 * passes, when no zone could serve or grow) its highatomic reserve.
 * Growing comes after fallback so that free memory already resident is
 * used first, as a kernel with fixed memory must. A new section costs no
 * budget: its pages are released until taken.
 */
static struct page *rmqueue(struct zone *zone, unsigned int order,
			    struct alloc_context *ac, enum unreserve how)
{
	struct page *page;
	bool drained = false;

	if (likely(pcp_allowed(order, ac))) {
		page = rmqueue_pcplist(zone, order, ac);
		if (page)
			return page;
	} else if (unlikely(ac->alloc_flags & ALLOC_HIGHATOMIC)) {
		/* The metadata allocation may reserve its pageblock: none of
		 * the pageblock's blocks may stay on per-CPU lists, where the
		 * reserve would never see them freed. Rare: one per chunk of
		 * metadata. */
		drain_all_pages(zone);
	}
	zone_lock(zone);
	if (!__zone_allows(zone, order, ac, how)) {
		zone_unlock(zone);
		if (!order)
			return NULL;
		/* The block the check wants may be in pieces on the per-CPU
		 * lists: give them back, so buddies merge, and look again. */
		drain_all_pages(zone);
		drained = true;
		zone_lock(zone);
		if (!__zone_allows(zone, order, ac, how)) {
			zone_unlock(zone);
			return NULL;
		}
	}
	page = __rmqueue(zone, order, ac->migratetype, ac->alloc_flags);
	while (!page) {
		unsigned long seen = zone->nr_sections;
		bool grown;

		/* Growing maps memory: never under zone->lock. */
		zone_unlock(zone);
		grown = online_section(zone, seen);
		zone_lock(zone);
		if (!grown && drained)
			break;
		if (!grown) {
			/* Free blocks may sit on the per-CPU lists. */
			zone_unlock(zone);
			drain_all_pages(zone);
			zone_lock(zone);
			drained = true;
		}
		page = __rmqueue(zone, order, ac->migratetype, ac->alloc_flags);
	}
	while (!page &&
	       __unreserve_highatomic_pageblock(zone, ac->migratetype, how))
		page = __rmqueue(zone, order, ac->migratetype, ac->alloc_flags);
	if (page)
		__prep_allocation(zone, page, order, ac);
	zone_unlock(zone);
	return page;
}

/*
 * Walk the zonelist: the zones the allocation may use, best first, each
 * taken from only if its watermark check passes (in rmqueue). A NORMAL
 * request reaches LOW32 only while LOW32 keeps its lowmem_reserve.
 */
static struct page *get_page_from_freelist(unsigned int order,
					   struct alloc_context *ac,
					   enum unreserve how)
{
	for (struct zone **z = ac->zonelist->zones; *z; z++) {
		struct page *page;

		if ((*z)->zone_idx > ac->highest_zoneidx)
			continue;
		page = rmqueue(*z, order, ac, how);
		if (page)
			return page;
	}
	return NULL;
}

/* The PG_ owner flag for the gfp owner bit (mm_types.h). */
static unsigned int gfp_page_owner(gfp_t gfp)
{
	if (gfp & __GFP_LARGE_KMALLOC)
		return PG_large_kmalloc;
	if (gfp & __GFP_PAGE_API)
		return PG_page_api;
	return 0;
}

/*
 * One try of the allocation at ac->alloc_flags: from the zones, or for
 * memory outside them (ac->outside_zones: a direct mapping) only the
 * budget of each node's highest zone, which carries it. Ordinary
 * allocations then dig into the metadata reserve when no zone can serve
 * or grow (the kernel unreserves after reclaim; here the reserve is never
 * a matter of budget, only of address space, so it is tried at once).
 * true: done, the block is in ac->page.
 */
static bool try_alloc(unsigned int order, struct alloc_context *ac)
{
	if (ac->outside_zones) {
		for (int nid = 0; nid < nr_node_ids; nid++) {
			struct zone *zone =
				&NODE_DATA(nid)->node_zones[MAX_NR_ZONES - 1];
			unsigned long flags = ac->alloc_flags;

			if (flags & ALLOC_NO_WATERMARKS)
				continue;
			if (!__zone_watermark_ok(zone, 0,
					(ac->nr_pages + (unsigned long)nr_node_ids - 1) /
					(unsigned long)nr_node_ids,
					wmark_pages(zone, flags & ALLOC_WMARK_MASK),
					MAX_NR_ZONES - 1, flags,
					zone_page_free(zone))) {
				count_vm_event(WMARK_FAIL);
				return false;
			}
		}
		return true;
	}
	ac->page = get_page_from_freelist(order, ac, UNRESERVE_NONE);
	if (!ac->page && !(ac->alloc_flags & ALLOC_HIGHATOMIC)) {
		ac->page = get_page_from_freelist(order, ac, UNRESERVE_KEEP_LAST);
		if (!ac->page)
			ac->page = get_page_from_freelist(order, ac,
							  UNRESERVE_ALL);
	}
	return ac->page != NULL;
}

/* ------------------------------------------------------------ shrinkers */

static const struct shrinker *shrinkers[MAX_SHRINKERS];
static unsigned int nr_shrinkers;
static pthread_mutex_t shrinker_lock = PTHREAD_MUTEX_INITIALIZER;

bool register_shrinker(const struct shrinker *shrinker)
{
	bool ok;

	pthread_mutex_lock(&shrinker_lock);
	ok = nr_shrinkers < MAX_SHRINKERS;
	if (ok) {
		shrinkers[nr_shrinkers] = shrinker;
		/* The slot before the count: readers take no lock. */
		cmm_smp_wmb();
		CMM_STORE_SHARED(nr_shrinkers, nr_shrinkers + 1);
	}
	pthread_mutex_unlock(&shrinker_lock);
	return ok;
}

unsigned long shrink_slab(int nid, bool idle_only)
{
	unsigned int n = CMM_LOAD_SHARED(nr_shrinkers);
	unsigned long freed = 0;

	cmm_smp_rmb();
	for (unsigned int i = 0; i < n; i++)
		freed += shrinkers[i]->scan_objects(nid, idle_only);
	return freed;
}

/* ------------------------------------------------------------ slow path */

/* Orders above this are "costly": they give up after one round of
 * reclaim unless the caller asks for more (the kernel's value). */
#define PAGE_ALLOC_COSTLY_ORDER	3
/* Rounds of direct reclaim an allocation retries at most. */
#define MAX_RECLAIM_RETRIES	16
/* The least direct reclaim releases per zone (the kernel's batch). */
#define SWAP_CLUSTER_MAX	32UL

/* The slow path's flags: the min mark, lowered for allocations that must
 * not wait (ALLOC_HARDER) or are the allocator's own (ALLOC_HIGH, and the
 * metadata reserve). */
static unsigned int gfp_to_alloc_flags(gfp_t gfp)
{
	unsigned int alloc_flags = ALLOC_WMARK_MIN;

	if (gfp & __GFP_HIGHATOMIC)
		alloc_flags |= ALLOC_HIGH | ALLOC_HIGHATOMIC;
	if (gfp & __GFP_NOWAIT)
		alloc_flags |= ALLOC_HARDER;
	return alloc_flags;
}

/* The zones the allocation may use, in zonelist order. */
#define for_each_eligible_zone(z, ac)						for (struct zone **z = (ac)->zonelist->zones; *z; z++)				if ((*z)->zone_idx <= (ac)->highest_zoneidx &&				    (!(ac)->outside_zones ||						     (*z)->zone_idx == MAX_NR_ZONES - 1))

static void wake_all_kswapds(unsigned int order, const struct alloc_context *ac)
{
	for_each_eligible_zone(z, ac)
		wakeup_kswapd(*z, order, ac->highest_zoneidx);
}

/*
 * Direct reclaimers take turns (the kernel throttles them too): a free
 * block that one of them has isolated for release is on no free list, so
 * a second reclaimer walking the zone at that moment would find nothing,
 * see no progress and give up, while the first one's release is about to
 * make room for both. Each turn first tries the allocation (an earlier
 * turn may have made room), then reclaims and tries again. The shrinkers
 * run before, outside the turn: they take the locks of the caches above,
 * whose holders may be waiting here.
 */
static pthread_mutex_t direct_reclaim_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Direct reclaim, in the calling thread: the work of the reclaim thread.
 * The caches above the core give their free pages back (the shrinkers,
 * unless the caller holds their locks), the pcp lists are drained (so
 * that what they hold can be released and merge), then each eligible zone
 * short of budget releases free resident pages to the OS until the
 * allocation would leave it at its high mark (at least SWAP_CLUSTER_MAX).
 * Returns the pages freed and released: the progress made. Caller holds
 * direct_reclaim_lock.
 */
static unsigned long perform_reclaim(const struct alloc_context *ac)
{
	unsigned long progress = 0;

	drain_all_pages(NULL);
	for_each_eligible_zone(z, ac) {
		long want = (long)(high_wmark_pages(*z) +
				   (*z)->lowmem_reserve[ac->highest_zoneidx] +
				   ac->nr_pages) - zone_page_free(*z);

		/* As __zone_watermark_ok() counts them: the reserve's free
		 * pages are not this allocation's. */
		if (!(ac->alloc_flags &
		      (ALLOC_HIGHATOMIC | ALLOC_HARDER | ALLOC_HIGH)))
			want += (long)CMM_LOAD_SHARED(
				(*z)->nr_free_type[MIGRATE_HIGHATOMIC]);

		if (want <= 0)
			continue;
		if ((unsigned long)want < SWAP_CLUSTER_MAX)
			want = SWAP_CLUSTER_MAX;
		progress += reclaim_zone(*z, (unsigned long)want,
					 PGSTEAL_DIRECT);
	}
	return progress;
}

static bool alloc_pages_direct_reclaim(gfp_t gfp, unsigned int order,
					 struct alloc_context *ac,
					 unsigned long *did_some_progress)
{
	bool ok;

	count_vm_event(ALLOCSTALL);
	*did_some_progress = 0;
	if (!(gfp & __GFP_NO_SHRINKERS))
		*did_some_progress += shrink_slab(NUMA_NO_NODE, false);
	pthread_mutex_lock(&direct_reclaim_lock);
	ok = try_alloc(order, ac);
	if (!ok) {
		*did_some_progress += perform_reclaim(ac);
		ok = *did_some_progress && try_alloc(order, ac);
	}
	pthread_mutex_unlock(&direct_reclaim_lock);
	return ok;
}

/*
 * There is no compaction: in user space nothing can move a live object.
 * What takes its place for a block of order > 0 that is not there: the
 * caches above the core and the pcp lists give back what they hold, so
 * that freed pages merge with their buddies into larger blocks; and free
 * pageblocks are re-typed to what is asked for by the fallback path
 * (__rmqueue_fallback claims them whole) on the retry. Counted as
 * COMPACTSTALL where the kernel would compact.
 */
static bool alloc_pages_direct_compact(gfp_t gfp, unsigned int order,
					 struct alloc_context *ac)
{
	count_vm_event(COMPACTSTALL);
	if (!(gfp & __GFP_NO_SHRINKERS))
		shrink_slab(NUMA_NO_NODE, false);
	drain_all_pages(NULL);
	return try_alloc(order, ac);
}

/*
 * Retry while reclaim makes progress, MAX_RECLAIM_RETRIES rounds at most.
 * A deliberate deviation: the kernel also retries rounds without progress
 * (other tasks may free memory, the OOM killer will) and resets its count
 * on progress; in a process nothing else frees memory for us, so no
 * progress ends the loop, and the rounds are bounded in all.
 */
static bool should_reclaim_retry(const struct alloc_context *ac,
				 unsigned long did_some_progress,
				 unsigned int *retries)
{
	if (++*retries > MAX_RECLAIM_RETRIES)
		return false;
	if (did_some_progress)
		return true;
	/*
	 * No progress here, but a zone still has free pages resident, or
	 * pageblocks isolated for release: another thread (the reclaim
	 * thread, a decay pass, another direct reclaimer) is giving them
	 * back, or took them from under us. As the kernel retries while
	 * reclaimable pages could satisfy the request, retry while they
	 * exist, giving that thread the CPU first.
	 */
	for_each_eligible_zone(z, ac) {
		unsigned long free = CMM_LOAD_SHARED((*z)->nr_free_pages);
		unsigned long released = CMM_LOAD_SHARED((*z)->nr_released);

		if (free > released + ac->nr_pages ||
		    CMM_LOAD_SHARED((*z)->nr_isolate_pageblock)) {
			os_yield();
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ warn_alloc */

/* The kernel's default ratelimit: 10 reports per 5 seconds. */
#define WARN_RATELIMIT_BURST		10
#define WARN_RATELIMIT_INTERVAL_NS	(5ULL * 1000000000ULL)

static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t warn_begin_ns;
static unsigned int warn_printed, warn_missed;

#ifdef BUDDY_TEST_HOOKS
uint64_t (*test_warn_clock)(void);
#endif

static uint64_t warn_clock(void)
{
#ifdef BUDDY_TEST_HOOKS
	if (test_warn_clock)
		return test_warn_clock();
#endif
	return os_monotonic_ns();
}

/* __ratelimit(): true when this report may be printed. Caller holds
 * warn_lock. */
static bool warn_ratelimit_locked(void)
{
	uint64_t now = warn_clock();

	if (!warn_begin_ns || now - warn_begin_ns >= WARN_RATELIMIT_INTERVAL_NS) {
		warn_begin_ns = now;
		warn_printed = 0;
	}
	if (warn_printed < WARN_RATELIMIT_BURST) {
		warn_printed++;
		return true;
	}
	warn_missed++;
	return false;
}

static void warn_flush(void *opaque, const char *text)
{
	(void)opaque;
	os_write(2, text, strlen(text));
}

static const char *const gfp_flag_names[] = {
	"MOVABLE", "RECLAIMABLE", "LOW32", "ZERO", "NOWAIT", "NORETRY",
	"RETRY_MAYFAIL", "NOFAIL", "HIGHATOMIC", "LARGE_KMALLOC", "PAGE_API",
	"NO_SHRINKERS",
};

/* The kernel's %pGg: the flags' names joined by '|'. */
static void gfp_flags_show(struct seq_buf *s, gfp_t gfp)
{
	bool first = true;

	for (unsigned int bit = 0; bit < sizeof(gfp_flag_names) /
	     sizeof(gfp_flag_names[0]); bit++) {
		if (!(gfp & (1u << bit)))
			continue;
		if (!first)
			seq_buf_putc(s, '|');
		seq_buf_puts(s, gfp_flag_names[bit]);
		first = false;
	}
	if (first)
		seq_buf_puts(s, "none");
}

/*
 * An allocation failed: with the warn_alloc setting, the kernel's line
 * ("page allocation failure: order:N, mode:0x...(flags)") and the
 * zoneinfo report on stderr, at most WARN_RATELIMIT_BURST times per
 * interval (then how many were suppressed, as the kernel's ratelimit
 * says). Never allocates.
 */
static void warn_alloc(gfp_t gfp, unsigned int order)
{
	char buf[512];
	struct seq_buf s;
	unsigned int missed;

	if (!CMM_LOAD_SHARED(core_config.warn_alloc))
		return;
	pthread_mutex_lock(&warn_lock);
	if (!warn_ratelimit_locked()) {
		pthread_mutex_unlock(&warn_lock);
		return;
	}
	missed = warn_missed;
	warn_missed = 0;
	seq_buf_init(&s, buf, sizeof(buf), warn_flush, NULL);
	if (missed)
		seq_buf_printf(&s, "buddymalloc: warn_alloc: %u callbacks "
			       "suppressed\n", missed);
	seq_buf_printf(&s, "buddymalloc: page allocation failure: order:%u, "
		       "mode:0x%lx(", order, (unsigned long)gfp);
	gfp_flags_show(&s, gfp);
	seq_buf_puts(&s, ")\n");
	zoneinfo_show(&s);
	seq_buf_flush(&s);
	pthread_mutex_unlock(&warn_lock);
}

/*
 * In the child of fork(), alone, whether it keeps the heap or not. These
 * locks guard no block and no free list: direct_reclaim_lock only takes
 * turns (the reclaim itself is under the zone locks, which core_fork_busy
 * checks), shrinker_lock only orders registrations (a slot is published
 * by its count, stored last) and warn_lock only the report's ratelimit.
 * A thread of the parent that held one at the fork does not exist here,
 * so the lock would stay held forever: the child's first direct reclaim
 * would wait on it for good. Made new; the ratelimit starts again.
 */
void page_alloc_fork_child(void)
{
	pthread_mutex_init(&direct_reclaim_lock, NULL);
	pthread_mutex_init(&shrinker_lock, NULL);
	pthread_mutex_init(&warn_lock, NULL);
	warn_begin_ns = 0;
	warn_printed = 0;
	warn_missed = 0;
}

/*
 * The kernel's __alloc_pages_slowpath(), in its order: wake the reclaim
 * threads; try again at the min mark (lower for NOWAIT and for the
 * allocator's own metadata); then, unless the caller may not wait,
 * reclaim in this thread and retry, with the compaction stand-in for
 * order > 0; NORETRY stops after one round, costly orders too unless
 * RETRY_MAYFAIL; the others retry while reclaim makes progress. There is
 * no OOM killer: what still fails, fails (ENOMEM), except NOFAIL.
 */
static bool alloc_pages_slowpath(gfp_t gfp, unsigned int order,
				   struct alloc_context *ac)
{
	bool costly_order = order > PAGE_ALLOC_COSTLY_ORDER;
	unsigned long progress;
	unsigned int retries = 0;

	ac->alloc_flags = gfp_to_alloc_flags(gfp);
	wake_all_kswapds(order, ac);
	if (try_alloc(order, ac))
		return true;
	if (gfp & __GFP_NOWAIT)
		goto nopage;
retry:
	if (alloc_pages_direct_reclaim(gfp, order, ac, &progress))
		return true;
	if (order && alloc_pages_direct_compact(gfp, order, ac))
		return true;
	if (gfp & __GFP_NORETRY)
		goto nopage;
	if (costly_order && !(gfp & __GFP_RETRY_MAYFAIL))
		goto nopage;
	if (should_reclaim_retry(ac, progress, &retries))
		goto retry;
nopage:
	/*
	 * NOFAIL (the allocator's own metadata) takes what it needs past
	 * every watermark and the budget itself: the min marks are the
	 * reserve that makes this rare and small, so that reclaim never
	 * fails for want of metadata. Only address space the OS refuses
	 * (or a zone's section cap) can still fail it, where the kernel
	 * would loop forever.
	 */
	if (gfp & __GFP_NOFAIL) {
		ac->alloc_flags |= ALLOC_NO_WATERMARKS;
		if (try_alloc(order, ac))
			return true;
	}
	return false;
}

/* __GFP_NOFAIL is for the allocator's own metadata: any other caller (an
 * owner bit says who) gets RETRY_MAYFAIL instead. */
static gfp_t gfp_nofail_owned(gfp_t gfp)
{
	if ((gfp & __GFP_NOFAIL) && (gfp & GFP_OWNER_MASK))
		gfp = (gfp & ~__GFP_NOFAIL) | __GFP_RETRY_MAYFAIL;
	return gfp;
}

static void alloc_failed(gfp_t gfp, unsigned int order)
{
	count_vm_event(ALLOC_FAIL);
	warn_alloc(gfp, order);
	errno = ENOMEM;
}

/*
 * 2^order pages, of which the first nr are the allocation (the rest go
 * back at once); __GFP_ZERO is honoured without a memset when every page
 * was released. The fast path tries each zone at its low mark; the slow
 * path does the rest.
 */
static struct page *alloc_pages_nr(gfp_t gfp, unsigned int order,
				  unsigned long nr)
{
	struct alloc_context ac;

	if (unlikely(order > MAX_PAGE_ORDER ||
		     (gfp & GFP_MOVABLE_MASK) == GFP_MOVABLE_MASK ||
		     (gfp & GFP_OWNER_MASK) == GFP_OWNER_MASK)) {
		errno = EINVAL;
		return NULL;
	}
	buddy_core_init();
	gfp = gfp_nofail_owned(gfp);

	ac.zonelist = &NODE_DATA(numa_node_id())->node_zonelist;
	ac.highest_zoneidx = gfp_zone(gfp);
	ac.migratetype = gfp_migratetype(gfp);
	ac.alloc_flags = ALLOC_WMARK_LOW |
			 ((gfp & __GFP_HIGHATOMIC) ? ALLOC_HIGHATOMIC : 0);
	ac.page_owner = gfp_page_owner(gfp);
	ac.nr_pages = nr;
	ac.zeroed = false;
	ac.outside_zones = false;
	ac.page = get_page_from_freelist(order, &ac, UNRESERVE_NONE);
	if (unlikely(!ac.page) && !alloc_pages_slowpath(gfp, order, &ac)) {
		alloc_failed(gfp, order);
		return NULL;
	}
	if ((gfp & __GFP_ZERO) && !ac.zeroed)
		memset(page_address(ac.page), 0, nr << PAGE_SHIFT);
	return ac.page;
}

bool alloc_budget_pages(unsigned long nr, gfp_t gfp)
{
	struct alloc_context ac = {
		.zonelist = &NODE_DATA(numa_node_id())->node_zonelist,
		.highest_zoneidx = MAX_NR_ZONES - 1,
		.alloc_flags = ALLOC_WMARK_LOW,
		.nr_pages = nr,
		.outside_zones = true,
	};

	buddy_core_init();
	gfp = gfp_nofail_owned(gfp);
	if (try_alloc(0, &ac) || alloc_pages_slowpath(gfp, 0, &ac))
		return true;
	alloc_failed(gfp, get_order(nr));
	return false;
}

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	return alloc_pages_nr(gfp, order, 1UL << order);
}

/*
 * Is page the head of an allocation made for owner (a PG_ owner flag, or 0
 * for the allocator's own)? Allocated, not a slab's page (slab/ clears
 * PG_slab before it gives a slab back), and no other owner's. Exact while
 * the flags are stable: under zone->lock, or in an abandoned section,
 * whose blocks no free changes any more.
 */
static bool page_head_owned(const struct page *page, unsigned int owner)
{
	uint32_t flags = READ_ONCE(page->flags);

	return (flags & (PG_buddy | PG_head | PG_slab | PG_OWNER_MASK)) ==
	       (PG_head | owner);
}

bool free_pages_owned(struct page *page, unsigned int order,
		      unsigned int owner)
{
	struct zone *zone = page_zone(page);
	unsigned long pfn = page_to_pfn(page);

	/* An abandoned block is never freed; only its owner is checked (its
	 * size may have been "shrunk" without effect, see resize). */
	if (unlikely(page_abandoned(page)))
		return page_head_owned(page, owner);
	if (order > MAX_PAGE_ORDER)
		return false;
	if (likely(pcp_allowed_order(order))) {
		enum pcp_free done = free_unref_page(page, order, owner);

		if (done != PCP_FREE_BUSY)
			return done == PCP_FREE_DONE;
	}
	zone_lock(zone);
	/* An exact allocation resized to 2^order pages may sit at any pfn;
	 * only an aligned one may go back as one block. The claim is atomic:
	 * a free to a per-CPU list takes no zone->lock. */
	if (READ_ONCE(page->nr_pages) != (1u << order) ||
	    (pfn & ((1UL << order) - 1)) || !page_head_claim(page, owner, 0)) {
		zone_unlock(zone);
		return false;
	}
	__free_one_page(page, pfn, zone, order, get_pfnblock_migratetype(pfn));
	zone_unlock(zone);
	return true;
}

/* ---------------------------------------------------------------- exact */

/* Pages of an exact allocation of size bytes (at least one). size must be
 * at most MAX_ORDER_NR_PAGES pages, so the rounding cannot overflow. */
static unsigned long exact_nr_pages(size_t size)
{
	unsigned long nr = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;

	return nr ? nr : 1;
}

static bool exact_size_valid(size_t size)
{
	return size <= MAX_ORDER_NR_PAGES << PAGE_SHIFT;
}

/* Is page the head of an exact allocation of nr pages for owner? Caller
 * holds zone->lock: the flags are only stable under it. */
static bool __exact_head_valid(const struct page *page, unsigned long nr,
			       unsigned int owner)
{
	return page_head_owned(page, owner) && READ_ONCE(page->nr_pages) == nr;
}

/* Make page, the head of an allocated block, an exact allocation of nr
 * pages: its pages from nr up to end_nr go back to the free lists. */
static void __trim_exact(struct zone *zone, struct page *page,
			 unsigned long nr, unsigned long end_nr)
{
	unsigned long pfn = page_to_pfn(page);

	WRITE_ONCE(page->nr_pages, (uint32_t)nr);
	WRITE_ONCE(page->order, (uint8_t)get_order(nr));
	__free_pages_range(zone, pfn + nr, pfn + end_nr);
}

/*
 * The block is allocated at the larger of the size's order and the
 * alignment's, so that it starts aligned; everything past nr pages goes
 * straight back, and merges with its buddies there. The head's order
 * becomes get_order(nr) whatever order was allocated: it describes the
 * allocation, not how it was found.
 */
void *alloc_pages_exact_aligned(size_t size, unsigned int align_order,
				gfp_t gfp)
{
	unsigned long nr;
	unsigned int order;
	struct page *page;

	if (unlikely(!exact_size_valid(size) || align_order > MAX_PAGE_ORDER)) {
		errno = EINVAL;
		return NULL;
	}
	nr = exact_nr_pages(size);
	order = get_order(nr);
	if (order < align_order)
		order = align_order;
	page = alloc_pages_nr(gfp, order, nr);
	if (!page)
		return NULL;
	return page_address(page);
}

void *alloc_pages_exact(size_t size, gfp_t gfp)
{
	return alloc_pages_exact_aligned(size, 0, gfp);
}

bool free_pages_exact_owned(void *addr, size_t size, unsigned int owner)
{
	struct page *page = virt_to_page(addr);
	unsigned long nr;
	struct zone *zone;
	unsigned long pfn;

	if (!page || ((uintptr_t)addr & (PAGE_SIZE - 1)) ||
	    !exact_size_valid(size))
		return false;
	if (unlikely(page_abandoned(page)))
		return page_head_owned(page, owner);
	nr = exact_nr_pages(size);
	zone = page_zone(page);
	pfn = page_to_pfn(page);
	/* A whole aligned block of a pcp order goes where alloc_pages()'s do. */
	if ((nr & (nr - 1)) == 0 && pcp_allowed_order(get_order(nr)) &&
	    !(pfn & (nr - 1))) {
		enum pcp_free done = free_unref_page(page, get_order(nr), owner);

		if (done != PCP_FREE_BUSY)
			return done == PCP_FREE_DONE;
	}
	zone_lock(zone);
	if (!__exact_head_valid(page, nr, owner) ||
	    !page_head_claim(page, owner, 0)) {
		zone_unlock(zone);
		return false;
	}
	__free_pages_range(zone, pfn, pfn + nr);
	zone_unlock(zone);
	return true;
}

/* ------------------------------------------------------- in-place resize */

/*
 * The head of the block holding pfn (free, on a per-CPU list, or
 * allocated), or NULL. A block of order k holding pfn starts at pfn
 * rounded down to 2^k, and every page between that head and pfn is inside
 * it, so carries no flag. Trying k = 0, 1, ... the first flagged head
 * decides. Every candidate is in pfn's section: sections are aligned far
 * above MAX_PAGE_ORDER.
 */
static struct page *__block_head(unsigned long pfn)
{
	for (unsigned int k = 0; k <= MAX_PAGE_ORDER; k++) {
		struct page *head = pfn_to_page(pfn & ~((1UL << k) - 1));

		if (READ_ONCE(head->flags) & (PG_buddy | PG_head | PG_pcp))
			return head;
	}
	return NULL;
}

/* The head of the free block (on the buddy lists) holding pfn, or NULL if
 * pfn is not in one. */
static struct page *__find_free_block(unsigned long pfn)
{
	struct page *head = __block_head(pfn);

	if (!head || !(READ_ONCE(head->flags) & PG_buddy) ||
	    page_to_pfn(head) + (1UL << READ_ONCE(head->order)) <= pfn)
		return NULL;
	return head;
}

/*
 * May an allocation grow into this free block? Not into the metadata
 * reserve (HIGHATOMIC), which ordinary allocations reach only when
 * everything else is gone, nor into a pageblock being handed back to the
 * OS (ISOLATE).
 */
static bool growth_may_take(const struct page *free_block)
{
	return migratetype_is_mergeable(READ_ONCE(free_block->migratetype));
}

/* Is every page of [start, end) free and takeable? Nothing is changed.
 * *on_pcp: the first page that is not is in a block on a per-CPU list. */
static bool __range_free(unsigned long start, unsigned long end, bool *on_pcp)
{
	for (unsigned long pfn = start; pfn < end;) {
		struct page *head = __find_free_block(pfn);

		if (!head || !growth_may_take(head)) {
			head = __block_head(pfn);
			*on_pcp = head && (READ_ONCE(head->flags) & PG_pcp);
			return false;
		}
		pfn = page_to_pfn(head) + (1UL << READ_ONCE(head->order));
	}
	return true;
}

/*
 * Take [start, end), known free, off the free lists: each free block that
 * overlaps it leaves its list whole, and its parts outside the range go
 * back. Those parts only merge inside their own block (the part taken
 * stops them), so the blocks still to be found further on are untouched.
 */
static void __take_free_range(struct zone *zone, unsigned long start,
			      unsigned long end)
{
	for (unsigned long pfn = start; pfn < end;) {
		struct page *head = __find_free_block(pfn);
		unsigned long head_pfn = page_to_pfn(head);
		unsigned int order = READ_ONCE(head->order);
		unsigned long block_end = head_pfn + (1UL << order);

		__del_page_from_free_list(head, zone, order);
		__clear_pages_released(zone, pfn,
				       (block_end < end ? block_end : end) - pfn);
		if (head_pfn < start)
			__free_pages_range(zone, head_pfn, start);
		if (block_end > end)
			__free_pages_range(zone, end, block_end);
		pfn = block_end;
	}
}

/*
 * Grow the allocation at page (pfn, old_nr pages) to new_nr pages with the
 * free pages right after it. All or nothing: the range is verified before
 * anything is taken. It must stay in the section: a block never spans two.
 * *on_pcp: it failed on a block on a per-CPU list.
 */
static bool __grow_exact(struct zone *zone, struct page *page,
			 unsigned long pfn, unsigned long old_nr,
			 unsigned long new_nr, bool *on_pcp)
{
	unsigned long start = pfn + old_nr, end = pfn + new_nr;

	*on_pcp = false;
	if (pfn_to_section_nr(end - 1) != pfn_to_section_nr(pfn))
		return false;
	/* The new pages become resident: the budget must allow them, as for
	 * an allocation at the low mark (failing, the caller moves the
	 * allocation, through the allocation path and its reclaim). */
	if (!__zone_watermark_ok(zone, 0, new_nr - old_nr, low_wmark_pages(zone),
				 zone->zone_idx, ALLOC_WMARK_LOW,
				 zone_page_free(zone))) {
		count_vm_event(WMARK_FAIL);
		return false;
	}
	if (!__range_free(start, end, on_pcp))
		return false;
	__take_free_range(zone, start, end);
	WRITE_ONCE(page->nr_pages, (uint32_t)new_nr);
	WRITE_ONCE(page->order, (uint8_t)get_order(new_nr));
	return true;
}

bool resize_pages_exact_owned(void *addr, size_t old_size, size_t new_size,
			      unsigned int owner)
{
	struct page *page = virt_to_page(addr);
	unsigned long old_nr, new_nr;
	struct zone *zone;
	bool ok;

	if (!page || ((uintptr_t)addr & (PAGE_SIZE - 1)) ||
	    !exact_size_valid(old_size) || !exact_size_valid(new_size))
		return false;
	old_nr = exact_nr_pages(old_size);
	new_nr = exact_nr_pages(new_size);
	/* An abandoned block keeps its pages: freeing part of it would be a
	 * free, which does nothing; growing it would need its zone. */
	if (unlikely(page_abandoned(page)))
		return page_head_owned(page, owner) && new_nr <= old_nr;

	zone = page_zone(page);
	zone_lock(zone);
	ok = __exact_head_valid(page, old_nr, owner);
	if (ok && new_nr < old_nr)
		__trim_exact(zone, page, new_nr, old_nr);
	else if (ok && new_nr > old_nr) {
		bool on_pcp;

		ok = __grow_exact(zone, page, page_to_pfn(page), old_nr, new_nr,
				  &on_pcp);
		if (!ok && on_pcp) {
			/* The pages wanted sit on per-CPU lists: give them
			 * back and look once more (the kernel's
			 * alloc_contig_range drains too). */
			zone_unlock(zone);
			drain_all_pages(zone);
			zone_lock(zone);
			ok = __exact_head_valid(page, old_nr, owner) &&
			     __grow_exact(zone, page, page_to_pfn(page),
					  old_nr, new_nr, &on_pcp);
		}
	}
	zone_unlock(zone);
	return ok;
}
