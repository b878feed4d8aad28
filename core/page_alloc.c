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
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

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

	page->flags = PG_buddy;
	page->order = (uint8_t)order;
	page->migratetype = (uint8_t)migratetype;
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
	page->flags &= ~PG_buddy;
	area->nr_free--;
	zone->nr_free_pages -= 1UL << order;
	zone->nr_free_type[page->migratetype] -= 1UL << order;
}

/* To the tail, as the kernel does: the moved block is the last choice. */
void __move_to_free_list(struct page *page, struct zone *zone,
			 unsigned int order, int migratetype)
{
	struct free_area *area = &zone->free_area[order];

	cds_list_del(&page->lru);
	cds_list_add_tail(&page->lru, &area->free_list[migratetype]);
	zone->nr_free_type[page->migratetype] -= 1UL << order;
	zone->nr_free_type[migratetype] += 1UL << order;
	page->migratetype = (uint8_t)migratetype;
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
	return (buddy->flags & PG_buddy) && buddy->order == order;
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
	return page_is_buddy(page + (higher_buddy_pfn - pfn), order + 1);
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
 * At and above pageblock order the merge joins two pageblocks: reserved
 * types (HIGHATOMIC, ISOLATE) never merge with others, and ordinary ones
 * take the freed block's type so that a later split puts every part on the
 * right list.
 */
void __free_one_page(struct page *page, unsigned long pfn, struct zone *zone,
		     unsigned int order, int migratetype)
{
	while (order < MAX_PAGE_ORDER) {
		unsigned long buddy_pfn = pfn ^ (1UL << order);
		struct page *buddy = page + (buddy_pfn - pfn);
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
		page += combined_pfn - pfn;
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
	page->flags = PG_head | owner;
	page->order = (uint8_t)order;
	page->nr_pages = 1u << order;
	page->migratetype = (uint8_t)migratetype;
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

/* May this allocation come from the per-CPU lists? A whole block of a pcp
 * order (not an exact allocation's), and not for the metadata reserve. */
static inline bool pcp_allowed(unsigned int order,
			       const struct alloc_context *ac)
{
	return pcp_allowed_order(order) && ac->nr_pages == (1UL << order) &&
	       !(ac->alloc_flags & ALLOC_HIGHATOMIC);
}

/*
 * One zone: this CPU's list for a pcp order, else the free lists, else a
 * new section, else the blocks on every CPU's lists, else (on the later
 * passes, when no zone could serve or grow) its highatomic reserve.
 * Growing comes after fallback so that free memory already resident is
 * used first, as a kernel with fixed memory must.
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
 * 2^order pages, of which the first nr are the allocation (the rest go
 * back at once); __GFP_ZERO is honoured without a memset when every page
 * was released.
 */
static struct page *__alloc_pages(gfp_t gfp, unsigned int order,
				  unsigned long nr)
{
	struct alloc_context ac;
	struct page *page;

	if (unlikely(order > MAX_PAGE_ORDER ||
		     (gfp & GFP_MOVABLE_MASK) == GFP_MOVABLE_MASK ||
		     (gfp & GFP_OWNER_MASK) == GFP_OWNER_MASK)) {
		errno = EINVAL;
		return NULL;
	}
	buddy_core_init();

	ac.zonelist = &NODE_DATA(numa_node_id())->node_zonelist;
	ac.highest_zoneidx = gfp_zone(gfp);
	ac.migratetype = gfp_migratetype(gfp);
	ac.alloc_flags = (gfp & __GFP_HIGHATOMIC) ? ALLOC_HIGHATOMIC : 0;
	ac.page_owner = gfp_page_owner(gfp);
	ac.nr_pages = nr;
	ac.zeroed = false;

	page = get_page_from_freelist(order, &ac, UNRESERVE_NONE);
	if (unlikely(!page) && !(ac.alloc_flags & ALLOC_HIGHATOMIC)) {
		page = get_page_from_freelist(order, &ac, UNRESERVE_KEEP_LAST);
		if (!page)
			page = get_page_from_freelist(order, &ac, UNRESERVE_ALL);
	}
	if (unlikely(!page)) {
		count_vm_event(ALLOC_FAIL);
		errno = ENOMEM;
		return NULL;
	}
	if ((gfp & __GFP_ZERO) && !ac.zeroed)
		memset(page_address(page), 0, nr << PAGE_SHIFT);
	return page;
}

struct page *alloc_pages(gfp_t gfp, unsigned int order)
{
	return __alloc_pages(gfp, order, 1UL << order);
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
	return (page->flags & (PG_buddy | PG_head | PG_slab | PG_OWNER_MASK)) ==
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
	if (page->nr_pages != (1u << order) || (pfn & ((1UL << order) - 1)) ||
	    !page_head_claim(page, owner, 0)) {
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
	return page_head_owned(page, owner) && page->nr_pages == nr;
}

/* Make page, the head of an allocated block, an exact allocation of nr
 * pages: its pages from nr up to end_nr go back to the free lists. */
static void __trim_exact(struct zone *zone, struct page *page,
			 unsigned long nr, unsigned long end_nr)
{
	unsigned long pfn = page_to_pfn(page);

	page->nr_pages = (uint32_t)nr;
	page->order = (uint8_t)get_order(nr);
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
	page = __alloc_pages(gfp, order, nr);
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

		if (head->flags & (PG_buddy | PG_head | PG_pcp))
			return head;
	}
	return NULL;
}

/* The head of the free block (on the buddy lists) holding pfn, or NULL if
 * pfn is not in one. */
static struct page *__find_free_block(unsigned long pfn)
{
	struct page *head = __block_head(pfn);

	if (!head || !(head->flags & PG_buddy) ||
	    page_to_pfn(head) + (1UL << head->order) <= pfn)
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
	return migratetype_is_mergeable(free_block->migratetype);
}

/* Is every page of [start, end) free and takeable? Nothing is changed.
 * *on_pcp: the first page that is not is in a block on a per-CPU list. */
static bool __range_free(unsigned long start, unsigned long end, bool *on_pcp)
{
	for (unsigned long pfn = start; pfn < end;) {
		struct page *head = __find_free_block(pfn);

		if (!head || !growth_may_take(head)) {
			head = __block_head(pfn);
			*on_pcp = head && (head->flags & PG_pcp);
			return false;
		}
		pfn = page_to_pfn(head) + (1UL << head->order);
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
		unsigned long block_end = head_pfn + (1UL << head->order);

		__del_page_from_free_list(head, zone, head->order);
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
	if (!__range_free(start, end, on_pcp))
		return false;
	__take_free_range(zone, start, end);
	page->nr_pages = (uint32_t)new_nr;
	page->order = (uint8_t)get_order(new_nr);
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
