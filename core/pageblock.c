/*
 * pageblock.c - the migrate type of each 2 MiB pageblock, moving the free
 * pages of a pageblock between free lists when it changes type, and
 * re-typing pageblocks by what they hold (the scan at the end).
 */
#include "internal.h"

static inline uint8_t *pageblock_flags_ptr(unsigned long pfn)
{
	struct mem_section *ms = mem_section[pfn_to_section_nr(pfn)];

	return &ms->pageblock_flags[(pfn - ms->start_pfn) >> pageblock_order];
}

int get_pfnblock_migratetype(unsigned long pfn)
{
	return CMM_LOAD_SHARED(*pageblock_flags_ptr(pfn));
}

int get_pageblock_migratetype(const struct page *page)
{
	return get_pfnblock_migratetype(page_to_pfn(page));
}

void set_pageblock_migratetype(struct page *page, int migratetype)
{
	CMM_STORE_SHARED(*pageblock_flags_ptr(page_to_pfn(page)),
			 (uint8_t)migratetype);
}

void change_pageblock_range(struct page *page, unsigned int order,
			    int migratetype)
{
	unsigned long nr = 1UL << (order - pageblock_order);

	for (unsigned long i = 0; i < nr; i++)
		set_pageblock_migratetype(page + i * pageblock_nr_pages,
					  migratetype);
}

/*
 * Walk the pageblock page by page, jumping over whole blocks: a free block
 * by its order, an allocation by its nr_pages. Pages with neither flag are
 * inside a block that started in an earlier pageblock. Counts stop at the
 * pageblock's end; a pageblock that lies inside a larger free block counts
 * that block only from its first half. Callers pass pageblocks that hold an
 * allocation or blocks below pageblock order, where neither case arises.
 * With move_to >= 0 every free block goes to that type's free list.
 */
static unsigned long walk_pageblock(struct zone *zone, struct page *page,
				    int move_to, unsigned long *num_movable)
{
	unsigned long start = page_to_pfn(page) & ~(pageblock_nr_pages - 1);
	unsigned long end = start + pageblock_nr_pages;
	unsigned long free = 0, movable = 0;

	for (unsigned long pfn = start; pfn < end;) {
		struct page *p = pfn_to_page(pfn);
		uint32_t flags = READ_ONCE(p->flags);

		if (flags & PG_buddy) {
			unsigned int order = READ_ONCE(p->order);
			unsigned long nr = 1UL << order;

			if (move_to >= 0)
				__move_to_free_list(p, zone, order, move_to);
			free += nr < end - pfn ? nr : end - pfn;
			pfn += nr;
		} else if (flags & PG_head) {
			unsigned long nr = READ_ONCE(p->nr_pages);

			/* Read without the owner's lock: a head being set up
			 * may not have its size yet; step one page, as
			 * __collect_ranges and __count_usage do. */
			if (!nr)
				nr = 1;
			if (READ_ONCE(p->migratetype) == MIGRATE_MOVABLE)
				movable += nr < end - pfn ? nr : end - pfn;
			pfn += nr;
		} else if (flags & PG_pcp) {	/* on a per-CPU list */
			pfn += 1UL << READ_ONCE(p->order);
		} else {
			pfn++;
		}
	}
	if (num_movable)
		*num_movable = movable;
	return free;
}

unsigned long __count_pageblock_pages(struct page *page,
				      unsigned long *num_movable)
{
	return walk_pageblock(NULL, page, -1, num_movable);
}

unsigned long __move_freepages_block(struct zone *zone, struct page *page,
				     int migratetype)
{
	return walk_pageblock(zone, page, migratetype, NULL);
}

/*
 * Re-typing. Fallback and stealing (page_alloc.c) put allocations of one
 * type into pageblocks of another when a type runs out of free blocks; the
 * lifetime classifier above the core (slab/) also changes its mind about
 * a site only after the site's objects are placed. So a pageblock's type
 * and what it holds drift apart, and a scan puts them back together:
 *
 *   majority   a pageblock of an ordinary type T (UNMOVABLE, MOVABLE,
 *              RECLAIMABLE) that is at least half allocated, with at least
 *              3/4 of its allocated pages of one other ordinary type U
 *              (the type on each allocation's head page), becomes U and
 *              its free pages move to U's lists, as the kernel's steal
 *              does when it claims a pageblock. Its holes then take U's
 *              allocations, not T's.
 *   pinned     a MOVABLE or RECLAIMABLE pageblock (short-lived: slab/
 *              puts short-lived slabs in the one and short-lived
 *              page-level blocks in the other) holding at most 1/4 of
 *              its pages allocated, the same number of them at every scan
 *              for lifetime_ms, becomes UNMOVABLE (long-lived). A count
 *              that changes restarts the time: pages that come and go
 *              (objects in per-CPU caches, a cache's spare slab, a
 *              pageblock being filled) do not pin it, and re-typing for
 *              them sent later long-lived objects into many half-empty
 *              pageblocks (bench/lifetime: 494 pinned re-types in six
 *              peaks, a trough of 7.2 x live in 2 MiB units, against 1.5
 *              x with the rule off). And it is only done when long-lived
 *              objects need the room: while the UNMOVABLE pageblocks
 *              that hold allocations had a pageblock's worth of free
 *              pages at the last scan, a pinned one waits, and a scan
 *              re-types at most one. (An empty UNMOVABLE pageblock is no
 *              such room: the buddy takes the small holes first, and
 *              the holes of a pinned pageblock keep the empty one empty,
 *              free to go back to the OS.) Holes
 *              made for long-lived objects they do not need scatter them
 *              over many pageblocks (the same benchmark: 332 pinned
 *              re-types in three peaks, with the count rule alone).
 *              What still pins a short-lived
 *              pageblock that long after its peak is long-lived objects
 *              placed there before the classifier knew them; as a
 *              long-lived pageblock, its holes take later long-lived
 *              objects instead of those pinning another pageblock.
 *
 * Hysteresis: a re-typed pageblock goes back only when its contents change
 * a lot. After a majority re-type to U, going back takes 3/4 of the
 * allocated pages being of another type. A pinned re-type leaves at most
 * 1/4 of the pageblock allocated, below the half the majority rule needs,
 * so the next scan does not undo it; the pageblock must fill to half,
 * 3/4 of it short-lived, to become MOVABLE again, and then be pinned
 * empty for lifetime_ms once more to come back: no pageblock changes type
 * more than once per lifetime_ms without such a change of contents.
 *
 * Wrong type (the gauge zone->nr_wrong_type_pageblocks): an ordinary
 * pageblock with at least 1/16 of it allocated, 3/4 of that of one other
 * ordinary type, after the scan's own re-typing: too empty for the
 * majority rule, or pinned and re-typed long-lived while it still holds
 * short-lived slabs (a slab's pages keep the type they were allocated
 * with, whatever the lifetime of the objects left in them).
 *
 * Reserved pageblocks (HIGHATOMIC, ISOLATE) are left alone, and so are
 * pageblocks with nothing allocated. Free pages on the per-CPU lists count
 * as free; they stay on their lists (the kernel's steal leaves them too)
 * and go to the buddy lists by their pageblock's type when spilled.
 *
 * Cost: the scan walks the descriptors of a pageblock block by block (a
 * free block by its order, an allocation by its pages), under zone->lock
 * RETYPE_BATCH pageblocks at a time, then drops the lock. The reclaim
 * threads run it at most every lifetime_ms / 2 per zone (vmscan.c). Each
 * lock hold is tens of microseconds and a pass a small fraction of a CPU;
 * the figures: bench/results/design-figures.md.
 */

_Static_assert(PAGEBLOCKS_PER_SECTION % RETYPE_BATCH == 0,
	       "batches tile a section");

/* A pageblock's allocated pages, by the migrate type of their blocks. */
struct pageblock_usage {
	unsigned int in_use[MIGRATE_TYPES];
	unsigned int nr_in_use;
};

/*
 * The first pfn of the block (free or allocated) that covers pfn: pfn
 * itself when a block starts there or none covers it. A block holds at
 * most MAX_ORDER_NR_PAGES pages and never crosses a section, so its head
 * is at most that far back in the same section; the nearest head before
 * pfn is the only one that can cover it (blocks do not overlap).
 */
static unsigned long __block_start(const struct mem_section *ms,
				   unsigned long pfn)
{
	const uint32_t heads = PG_buddy | PG_head | PG_pcp;
	unsigned long low = pfn - ms->start_pfn < MAX_ORDER_NR_PAGES ?
		ms->start_pfn : pfn - MAX_ORDER_NR_PAGES + 1;

	if (READ_ONCE(pfn_to_page(pfn)->flags) & heads)
		return pfn;
	for (unsigned long p = pfn; p-- > low;) {
		const struct page *page = pfn_to_page(p);
		uint32_t flags = READ_ONCE(page->flags);
		unsigned long nr;

		if (!(flags & heads))
			continue;
		nr = flags & PG_head ? READ_ONCE(page->nr_pages) :
				       1UL << READ_ONCE(page->order);
		return p + nr > pfn ? p : pfn;
	}
	return pfn;
}

/* Add the allocated pages [pfn, pfn + nr) of type mt to the usage of the
 * pageblocks of [start, end) they lie in. */
static void account_in_use(struct pageblock_usage *u, unsigned long start,
			   unsigned long end, unsigned long pfn,
			   unsigned long nr, int mt)
{
	unsigned long last = pfn + nr < end ? pfn + nr : end;

	if (pfn < start)
		pfn = start;
	while (pfn < last) {
		unsigned long pb_end = (pfn | (pageblock_nr_pages - 1)) + 1;
		unsigned long n = (pb_end < last ? pb_end : last) - pfn;
		struct pageblock_usage *pu =
			&u[(pfn - start) >> pageblock_order];

		pu->in_use[mt] += (unsigned int)n;
		pu->nr_in_use += (unsigned int)n;
		pfn += n;
	}
}

/*
 * Count the allocated pages of the nr_pb pageblocks from start (a
 * pageblock boundary in section ms) into u[]. Caller holds zone->lock.
 * Heads that the per-CPU lists turn from free to allocated without it
 * (pcp.c) describe the same pages either way, so the walk stays on block
 * boundaries; only the type it reads may be a moment old.
 */
static void __count_usage(const struct mem_section *ms, unsigned long start,
			  unsigned int nr_pb, struct pageblock_usage *u)
{
	unsigned long end = start + ((unsigned long)nr_pb << pageblock_order);

	for (unsigned int i = 0; i < nr_pb; i++)
		u[i] = (struct pageblock_usage){ 0 };
	for (unsigned long pfn = __block_start(ms, start); pfn < end;) {
		const struct page *page = &ms->mem_map[pfn - ms->start_pfn];
		uint32_t flags;
		unsigned long nr = 1;

		/* The walk's strides vary with the block sizes, which the
		 * hardware prefetcher follows badly: 2 KiB of descriptors
		 * ahead cut the cost of a pageblock of mixed small blocks
		 * about fivefold (the measurement under "Cost" above). */
		__builtin_prefetch(page + 32);

		flags = READ_ONCE(page->flags);
		if (flags & (PG_buddy | PG_pcp)) {
			nr = 1UL << READ_ONCE(page->order);
		} else if (flags & PG_head) {
			unsigned int mt = READ_ONCE(page->migratetype);

			nr = READ_ONCE(page->nr_pages);
			if (!nr)	/* a head without its size: one page */
				nr = 1;
			else if (mt < MIGRATE_TYPES)
				account_in_use(u, start, end, pfn, nr, (int)mt);
		}
		pfn += nr;
	}
}

/* The ordinary type other than mt that holds at least 3/4 of the
 * pageblock's allocated pages, or -1. */
static int majority_other_type(const struct pageblock_usage *u, int mt)
{
	for (int t = 0; t < MIGRATE_PCPTYPES; t++)
		if (t != mt && u->in_use[t] &&
		    4UL * u->in_use[t] >= 3UL * u->nr_in_use)
			return t;
	return -1;
}

static void __retype_pageblock(struct zone *zone, unsigned long pfn, int mt)
{
	struct page *page = pfn_to_page(pfn);

	__move_freepages_block(zone, page, mt);
	set_pageblock_migratetype(page, mt);
}

struct retype_control {
	uint32_t now, lifetime_ms;
	unsigned long nr_wrong;		/* wrong-type pageblocks seen */
	bool waiting;			/* a pinned stamp is not yet due */
	unsigned long long_room;	/* free pages in UNMOVABLE pageblocks
					 * holding allocations, as the last
					 * scan counted them */
	unsigned long long_room_now;	/* the same, counted by this scan */
	bool pinned_done;		/* this scan re-typed a pinned one */
};

/*
 * Decide for one pageblock at pfn of ms from its usage: re-type it by
 * majority or as pinned, keep its pinned stamp, count it if it is still
 * of the wrong type. Caller holds zone->lock.
 */
static void __retype_one(struct zone *zone, struct mem_section *ms,
			 unsigned long pfn, const struct pageblock_usage *u,
			 struct retype_control *rc)
{
	unsigned long idx = (pfn - ms->start_pfn) >> pageblock_order;
	uint32_t *pinned = &ms->pageblock_pinned[idx];
	uint16_t *pinned_pages = &ms->pageblock_pinned_pages[idx];
	int mt = get_pfnblock_migratetype(pfn);
	int other;

	if (mt >= MIGRATE_PCPTYPES || !u->nr_in_use) {
		*pinned = PINNED_STAMP_NONE;
		return;
	}
	if (mt == MIGRATE_UNMOVABLE)
		rc->long_room_now += pageblock_nr_pages - u->nr_in_use;
	other = majority_other_type(u, mt);
	if (other >= 0 && u->nr_in_use >= RETYPE_MAJORITY_MIN) {
		__retype_pageblock(zone, pfn, other);
		count_vm_event(PAGEBLOCK_RETYPE_MAJORITY);
		*pinned = PINNED_STAMP_NONE;
		return;
	}
	if ((mt == MIGRATE_MOVABLE || mt == MIGRATE_RECLAIMABLE) &&
	    u->nr_in_use <= PINNED_MAX) {
		if (*pinned == PINNED_STAMP_NONE ||
		    *pinned_pages != u->nr_in_use) {
			/* First seen so, or its allocations changed: what
			 * comes and goes (per-CPU caches, spare slabs, a
			 * pageblock filling up) is not what pins it. */
			*pinned = rc->now;
			*pinned_pages = (uint16_t)u->nr_in_use;
			rc->waiting = true;
		} else if ((uint32_t)(rc->now - *pinned) >= rc->lifetime_ms &&
			   rc->long_room < pageblock_nr_pages &&
			   !rc->pinned_done) {
			rc->pinned_done = true;
			__retype_pageblock(zone, pfn, MIGRATE_UNMOVABLE);
			count_vm_event(PAGEBLOCK_RETYPE_PINNED);
			*pinned = PINNED_STAMP_NONE;
			other = majority_other_type(u, MIGRATE_UNMOVABLE);
		} else {
			rc->waiting = true;
		}
	} else {
		*pinned = PINNED_STAMP_NONE;
	}
	if (other >= 0 && u->nr_in_use >= WRONG_TYPE_MIN)
		rc->nr_wrong++;
}

bool retype_zone(struct zone *zone, uint32_t now)
{
	struct retype_control rc = {
		.now = now,
		.lifetime_ms = CMM_LOAD_SHARED(core_config.lifetime_ms),
		.long_room = zone->retype_long_room,
	};
	struct pageblock_usage u[RETYPE_BATCH];
	bool first = true;

	zone_lock(zone);
	/* Sections are never taken off the list, and new ones come in at
	 * its head: the walk goes on safely across the lock drops. */
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next) {
		for (unsigned int pb = 0; pb < PAGEBLOCKS_PER_SECTION;
		     pb += RETYPE_BATCH) {
			unsigned long start = ms->start_pfn +
					      ((unsigned long)pb << pageblock_order);

			if (!first) {	/* let the allocating threads in */
				zone_unlock(zone);
				zone_lock(zone);
			}
			first = false;
			__count_usage(ms, start, RETYPE_BATCH, u);
			for (unsigned int i = 0; i < RETYPE_BATCH; i++)
				__retype_one(zone, ms, start +
					     ((unsigned long)i << pageblock_order),
					     &u[i], &rc);
		}
	}
	CMM_STORE_SHARED(zone->nr_wrong_type_pageblocks, rc.nr_wrong);
	zone->retype_long_room = rc.long_room_now;
	zone_unlock(zone);
	count_vm_event(PAGEBLOCK_RETYPE_SCAN);
	return rc.waiting;
}
