/*
 * reclaim.c - giving free memory back to the OS: the work that the reclaim
 * threads (vmscan.c), direct reclaim, decay and malloc_trim share.
 *
 * Release. Free memory goes back a *unit* at a time: a free block of
 * pageblock order or more (one or two whole 2 MiB pageblocks), or one
 * pageblock that is partly allocated. Under zone->lock the unit becomes
 * MIGRATE_ISOLATE (its pageblocks' type, and its free blocks moved to the
 * ISOLATE free lists, as the kernel's page isolation does), and its free
 * ranges that still have resident pages are noted. Then, with zone->lock
 * dropped, each range goes back with MADV_DONTNEED; no thread waits on
 * that system call under the zone lock. Under the lock again the ranges'
 * pages are marked released (resident.c) and the unit gets its type back,
 * its whole free blocks merging with their buddies.
 *
 * While a unit is ISOLATE nothing is allocated from it (no allocation
 * takes from the ISOLATE lists, and in-place growth refuses them), so the
 * pages being released stay free; a free into it goes to the ISOLATE list
 * and may merge with the blocks there, but never past its pageblock. So a
 * range noted under the lock is free for the whole release, whatever else
 * happens in the zone.
 *
 * A whole free unit also gives back the pages of mem_map that describe
 * its interior (release_unit_descriptors): 1.5% of what it releases.
 *
 * Order. Whole free pageblocks go first, then partly allocated ones:
 * releasing part of a pageblock splits the transparent huge page that may
 * back it (gperftools#1073, jemalloc#2099), so it is done only when the
 * whole ones did not give enough (pressure) or when the memory has idled
 * (decay, trim).
 *
 * Decay. Each pageblock carries the time a free last put resident pages
 * into it (mem_section::pageblock_freed), read from its node's decay clock
 * (pglist_data::decay_clock): a millisecond tick that whoever runs decay
 * sets each time it runs, every decay_ms / 4 while anything waits for
 * decay. A free reads it with one load, no clock call, under the zone lock
 * it holds anyway. A pageblock whose stamp is decay_ms old goes back whole
 * (all its resident free pages). The stamp lags the real time by at most
 * one period, so memory goes back between 3/4 and 5/4 of decay_ms after
 * its last free. While no pageblock of a node waits, its clock is stopped
 * (0): a free then stamps DECAY_STAMP_UNKNOWN and raises
 * reclaim_work_pending, so the next allocator call that returns to the
 * program restarts decay (vmscan.c); the pass that sees an UNKNOWN stamp
 * sets it to the current time. A cheaper scheme with per-zone epochs
 * would still need the clock read somewhere on the free path to know
 * when an epoch ends; per-pageblock stamps cost 256 bytes per section and
 * let decay skip clean pageblocks without walking them: a pageblock with
 * resident free pages is never CLEAN (every free stamps, and a release
 * that failed stamps again).
 *
 * Fork. A unit in flight in the parent is ISOLATE in the child, with its
 * free blocks on the ISOLATE lists and its released bits as they were (the
 * child's copy of those pages is its own, untouched by the parent's
 * madvise). reclaim_fork_child() gives such pageblocks back to the free
 * lists as MOVABLE: nothing is lost, nothing freed twice.
 */
#include <limits.h>

#include "internal.h"

/* A batch: units isolated at once under one lock hold, and the ranges to
 * release (about 8 KiB of stack). A partly allocated pageblock has at most
 * 256 free ranges. */
#define BATCH_UNITS		16
#define PAGEBLOCK_MAX_RANGES	(pageblock_nr_pages / 2)
#define BATCH_RANGES		(PAGEBLOCK_MAX_RANGES + 64)

struct release_range {
	unsigned long start, end;	/* pfns */
	bool released;			/* the OS took the pages back */
};

struct isolated_unit {
	unsigned long pfn;		/* its first pageblock */
	unsigned int nr_pageblocks;
	bool whole;			/* one free block covers it */
	int migratetype;		/* the type it gets back */
	unsigned int first_range, nr_ranges;
};

struct reclaim_batch {
	unsigned int nr_units, nr_ranges;
	unsigned long nr_pages;		/* resident pages in the ranges */
	struct isolated_unit units[BATCH_UNITS];
	struct release_range ranges[BATCH_RANGES];
};

enum reclaim_mode {
	RECLAIM_WHOLE,	/* whole free pageblocks only */
	RECLAIM_ANY,	/* every unit with resident free pages */
	RECLAIM_DECAY,	/* units whose pageblocks idled decay_ms */
};

struct reclaim_control {
	enum reclaim_mode mode;
	unsigned long nr_to_release;
	unsigned long released;
	/* RECLAIM_DECAY */
	uint32_t now, decay_ms;
	bool dirty;		/* a pageblock still waits for decay */
};

#ifdef BUDDY_TEST_HOOKS
void (*test_release_hook)(struct zone *zone);
#endif

/* ------------------------------------------------------------- units */

static inline uint32_t *pageblock_stamp(struct mem_section *ms,
					unsigned long pfn)
{
	return &ms->pageblock_freed[(pfn - ms->start_pfn) >> pageblock_order];
}

/* The unit starting at pfn (a pageblock boundary): the pageblocks of a
 * free block of pageblock order or more heading it, else one. */
static unsigned int unit_pageblocks(unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);
	unsigned int order = READ_ONCE(page->order);

	if ((READ_ONCE(page->flags) & PG_buddy) && order >= pageblock_order)
		return 1u << (order - pageblock_order);
	return 1;
}

static bool unit_is_whole(unsigned long pfn)
{
	struct page *page = pfn_to_page(pfn);

	return (READ_ONCE(page->flags) & PG_buddy) &&
	       READ_ONCE(page->order) >= pageblock_order;
}

/*
 * Append the free ranges of [pfn, end) with resident pages to the batch,
 * neighbours joined; returns how many. Blocks are found by their heads: a
 * free block by its order, an allocation by its nr_pages.
 */
static unsigned int __collect_ranges(unsigned long pfn, unsigned long end,
				     struct reclaim_batch *b)
{
	unsigned int first = b->nr_ranges;

	while (pfn < end) {
		struct page *page = pfn_to_page(pfn);
		uint32_t flags = READ_ONCE(page->flags);
		unsigned long nr = 1;

		if (flags & PG_buddy) {
			nr = 1UL << READ_ONCE(page->order);
			if (__pages_released(pfn, nr) != nr) {
				/* Only formed once a range exists: no pointer
				 * before the array (undefined even unread). */
				struct release_range *last = b->nr_ranges > first ?
					&b->ranges[b->nr_ranges - 1] : NULL;

				if (last && last->end == pfn) {
					last->end += nr;
				} else {
					b->ranges[b->nr_ranges].start = pfn;
					b->ranges[b->nr_ranges].end = pfn + nr;
					b->ranges[b->nr_ranges].released = false;
					b->nr_ranges++;
				}
				b->nr_pages += nr - __pages_released(pfn, nr);
			}
		} else if (flags & PG_head) {
			nr = READ_ONCE(page->nr_pages);
			if (!nr)	/* a head without its size: one page */
				nr = 1;
		} else if (flags & PG_pcp) {	/* on a per-CPU list */
			nr = 1UL << READ_ONCE(page->order);
		}
		pfn += nr;
	}
	return b->nr_ranges - first;
}

/* Set the unit's pageblocks to mt and move its free blocks to mt's lists. */
static void __set_unit_migratetype(struct zone *zone, unsigned long pfn,
				   unsigned int nr_pageblocks, int mt)
{
	struct page *page = pfn_to_page(pfn);

	for (unsigned int i = 0; i < nr_pageblocks; i++)
		set_pageblock_migratetype(page + i * pageblock_nr_pages, mt);
	if (unit_is_whole(pfn))
		__move_to_free_list(page, zone, READ_ONCE(page->order), mt);
	else
		__move_freepages_block(zone, page, mt);
}

/*
 * Put a whole free block back through __free_one_page so that it merges
 * with a buddy freed meanwhile, keeping its pageblocks' decay stamps (a
 * free stamps them; this is no new free).
 */
static void __remerge_block(struct zone *zone, struct mem_section *ms,
			    unsigned long pfn, int mt)
{
	struct page *page = pfn_to_page(pfn);
	unsigned int order = READ_ONCE(page->order);
	unsigned long nr_pb = 1UL << (order - pageblock_order);
	uint32_t stamps[1UL << (MAX_PAGE_ORDER - pageblock_order)];

	if (order >= MAX_PAGE_ORDER)
		return;		/* no buddy to merge with */
	for (unsigned long i = 0; i < nr_pb; i++)
		stamps[i] = *pageblock_stamp(ms, pfn + i * pageblock_nr_pages);
	__del_page_from_free_list(page, zone, order);
	__free_one_page(page, pfn, zone, order, mt);
	for (unsigned long i = 0; i < nr_pb; i++)
		*pageblock_stamp(ms, pfn + i * pageblock_nr_pages) = stamps[i];
}

/* Give an isolated unit its type back (and merge it if it is whole). */
static void __unisolate_unit(struct zone *zone, struct mem_section *ms,
			     unsigned long pfn, unsigned int nr_pageblocks,
			     int mt)
{
	__set_unit_migratetype(zone, pfn, nr_pageblocks, mt);
	zone->nr_isolate_pageblock -= nr_pageblocks;
	if (unit_is_whole(pfn))
		__remerge_block(zone, ms, pfn, mt);
}

/*
 * Should the unit at pfn be released now? Its pageblocks' stamps say
 * whether it has resident free pages at all (CLEAN: none) and, for decay,
 * how long ago the last free was.
 */
static bool __unit_wanted(struct mem_section *ms, unsigned long pfn,
			  unsigned int nr_pageblocks,
			  struct reclaim_control *rc)
{
	bool dirty = false, young = false;

	for (unsigned int i = 0; i < nr_pageblocks; i++) {
		uint32_t *stamp = pageblock_stamp(ms, pfn + i * pageblock_nr_pages);

		if (*stamp == DECAY_STAMP_CLEAN)
			continue;
		dirty = true;
		if (rc->mode != RECLAIM_DECAY)
			continue;
		if (*stamp == DECAY_STAMP_UNKNOWN)
			*stamp = rc->now;	/* freed while the clock stood */
		if ((uint32_t)(rc->now - *stamp) < rc->decay_ms)
			young = true;
	}
	if (!dirty)
		return false;
	switch (rc->mode) {
	case RECLAIM_WHOLE:
		return unit_is_whole(pfn);
	case RECLAIM_ANY:
		return true;
	case RECLAIM_DECAY:
		if (young)
			rc->dirty = true;
		return !young;
	}
	return false;
}

/*
 * Isolate the next units of the section from *pfn that rc wants, up to a
 * batch (or up to what rc still wants released); *pfn advances past what
 * was looked at. A dirty unit without resident free pages (its stamp
 * outlived them) is marked clean. Caller holds zone->lock.
 */
static void __isolate_batch(struct zone *zone, struct mem_section *ms,
			    unsigned long *pfn, struct reclaim_control *rc,
			    struct reclaim_batch *b)
{
	unsigned long end = ms->start_pfn + PAGES_PER_SECTION;

	b->nr_units = b->nr_ranges = 0;
	b->nr_pages = 0;
	while (*pfn < end && b->nr_units < BATCH_UNITS &&
	       b->nr_ranges + PAGEBLOCK_MAX_RANGES <= BATCH_RANGES &&
	       rc->released + b->nr_pages < rc->nr_to_release) {
		unsigned long start = *pfn;
		unsigned int nr_pb = unit_pageblocks(start);
		unsigned long unit_end = start + nr_pb * pageblock_nr_pages;
		int mt = get_pfnblock_migratetype(start);
		struct isolated_unit *u;

		*pfn = unit_end;
		if (mt == MIGRATE_ISOLATE || !__unit_wanted(ms, start, nr_pb, rc))
			continue;
		u = &b->units[b->nr_units];
		u->first_range = b->nr_ranges;
		u->nr_ranges = __collect_ranges(start, unit_end, b);
		for (unsigned int i = 0; i < nr_pb; i++)
			*pageblock_stamp(ms, start + i * pageblock_nr_pages) =
				DECAY_STAMP_CLEAN;
		if (!u->nr_ranges)
			continue;
		u->pfn = start;
		u->nr_pageblocks = nr_pb;
		u->whole = unit_is_whole(start);
		u->migratetype = mt;
		__set_unit_migratetype(zone, start, nr_pb, MIGRATE_ISOLATE);
		zone->nr_isolate_pageblock += nr_pb;
		b->nr_units++;
	}
}

/* Descriptors in one page of a section's mem_map. */
#define DESCS_PER_PAGE	(PAGE_SIZE / sizeof(struct page))

/*
 * The descriptors of a whole free unit's pages after the first
 * DESCS_PER_PAGE: none of them is a block head while the unit is isolated
 * (one free block covers it, and no free or allocation can split or enter
 * it), so all they must say is flags == 0, which is what a released page
 * of mem_map reads. Giving them back too keeps the metadata's resident
 * share at about 1/64 of what is resident, not of what was ever touched.
 * The first page, with the head, stays.
 */
static void release_unit_descriptors(const struct isolated_unit *u)
{
	struct page *first = pfn_to_page(u->pfn) + DESCS_PER_PAGE;
	unsigned long nr = ((unsigned long)u->nr_pageblocks << pageblock_order) -
			   DESCS_PER_PAGE;

	os_release(first, nr * sizeof(struct page));
}

/* Release the batch's ranges, and the descriptors of its whole units. No
 * lock held. */
static void release_ranges(struct zone *zone, struct reclaim_batch *b)
{
#ifdef BUDDY_TEST_HOOKS
	if (test_release_hook)
		test_release_hook(zone);
#else
	(void)zone;
#endif
	for (unsigned int i = 0; i < b->nr_ranges; i++) {
		struct release_range *r = &b->ranges[i];

		r->released = os_release((void *)(r->start << PAGE_SHIFT),
					 (r->end - r->start) << PAGE_SHIFT);
	}
	for (unsigned int i = 0; i < b->nr_units; i++)
		if (b->units[i].whole)
			release_unit_descriptors(&b->units[i]);
}

/*
 * Mark what the OS took back as released and give every unit its type
 * back. A unit with a range the OS refused is stamped again, so that its
 * resident free pages are not forgotten. Returns the pages newly released.
 * Caller holds zone->lock.
 */
static unsigned long __putback_batch(struct zone *zone, struct mem_section *ms,
				     struct reclaim_batch *b, uint32_t now)
{
	unsigned long released = 0;

	for (unsigned int i = 0; i < b->nr_units; i++) {
		struct isolated_unit *u = &b->units[i];
		bool failed = false;

		for (unsigned int r = u->first_range;
		     r < u->first_range + u->nr_ranges; r++) {
			struct release_range *range = &b->ranges[r];

			if (range->released)
				released += __set_pages_released(zone, range->start,
						range->end - range->start);
			else
				failed = true;
		}
		if (failed)
			for (unsigned int p = 0; p < u->nr_pageblocks; p++)
				*pageblock_stamp(ms, u->pfn + p * pageblock_nr_pages) =
					now ? now : DECAY_STAMP_UNKNOWN;
		__unisolate_unit(zone, ms, u->pfn, u->nr_pageblocks,
				 u->migratetype);
	}
	return released;
}

/*
 * Walk the zone's sections, releasing what rc wants, a batch at a time:
 * isolate under zone->lock, release without it, put back under it.
 * Sections are never taken off a zone's list, and new ones come in at its
 * head, so the walk goes on safely after the lock was dropped.
 */
static void scan_zone(struct zone *zone, struct reclaim_control *rc)
{
	struct reclaim_batch b;

	zone_lock(zone);
	for (struct mem_section *ms = zone->sections;
	     ms && rc->released < rc->nr_to_release; ms = ms->zone_next) {
		unsigned long pfn = ms->start_pfn;

		while (pfn < ms->start_pfn + PAGES_PER_SECTION &&
		       rc->released < rc->nr_to_release) {
			__isolate_batch(zone, ms, &pfn, rc, &b);
			if (!b.nr_units)
				continue;
			zone_unlock(zone);	/* no system call under it */
			release_ranges(zone, &b);
			zone_lock(zone);
			rc->released += __putback_batch(zone, ms, &b, rc->now);
		}
	}
	zone_unlock(zone);
}

/*
 * Release resident free pages of zone until at least nr_to_release went
 * back (ULONG_MAX: all of them): whole free pageblocks first, then partly
 * allocated ones. Counted as event. Returns the pages released.
 */
unsigned long reclaim_zone(struct zone *zone, unsigned long nr_to_release,
			   enum vm_event_item event)
{
	struct reclaim_control rc = {
		.mode = RECLAIM_WHOLE,
		.nr_to_release = nr_to_release,
	};

	scan_zone(zone, &rc);
	if (rc.released < nr_to_release) {
		rc.mode = RECLAIM_ANY;
		scan_zone(zone, &rc);
	}
	count_vm_events(event, rc.released);
	return rc.released;
}

/*
 * Decay: release the units of zone whose pageblocks have had no free for
 * decay_ms by the clock now. *dirty is set when a pageblock with resident
 * free pages is left waiting. Returns the pages released.
 */
unsigned long decay_zone(struct zone *zone, uint32_t now, uint32_t decay_ms,
			 bool *dirty)
{
	struct reclaim_control rc = {
		.mode = RECLAIM_DECAY,
		.nr_to_release = ULONG_MAX,
		.now = now,
		.decay_ms = decay_ms,
	};

	scan_zone(zone, &rc);
	if (rc.dirty)
		*dirty = true;
	count_vm_events(PGSTEAL_DECAY, rc.released);
	return rc.released;
}

unsigned long release_free_pages(void)
{
	unsigned long released = 0;

	buddy_core_init();
	drain_all_pages(NULL);
	for_each_zone(zone)
		released += reclaim_zone(zone, ULONG_MAX, PGSTEAL_TRIM);
	return released;
}

/*
 * In the child of fork(), alone, the heap kept: units that a thread of the
 * parent was releasing are ISOLATE here. Give them back to the free lists
 * as MOVABLE (their old type was on that thread's stack; any ordinary type
 * is correct) and stamp them: their pages are resident in the child.
 */
void reclaim_fork_child(struct zone *zone)
{
	if (!zone->nr_isolate_pageblock)
		return;
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next) {
		unsigned long pfn = ms->start_pfn;

		while (pfn < ms->start_pfn + PAGES_PER_SECTION) {
			unsigned int nr_pb = unit_pageblocks(pfn);

			if (get_pfnblock_migratetype(pfn) == MIGRATE_ISOLATE) {
				for (unsigned int i = 0; i < nr_pb; i++)
					*pageblock_stamp(ms, pfn + i * pageblock_nr_pages) =
						DECAY_STAMP_UNKNOWN;
				__unisolate_unit(zone, ms, pfn, nr_pb,
						 MIGRATE_MOVABLE);
			}
			pfn += nr_pb * pageblock_nr_pages;
		}
	}
}

/* ------------------------------------------------- pages released in use */

/*
 * Allocated pages given back to the OS by their owner (page_alloc.h,
 * release_pages_in_use). They are neither free nor on any zone's released
 * bits, which only free pages carry: one global count, atomic, so the
 * owner needs no zone lock and makes its system call under none. A forked
 * child that abandons the heap starts from zero (core_fork_child).
 */
unsigned long nr_released_in_use;

unsigned long release_pages_in_use(void *addr, size_t size)
{
	unsigned long nr = size >> PAGE_SHIFT;

	if (!nr || !os_release(addr, size))
		return 0;
	uatomic_add(&nr_released_in_use, nr);
	count_vm_events(PGSTEAL_SLAB, nr);
	return nr;
}

void reuse_pages_in_use(unsigned long nr)
{
	uatomic_sub(&nr_released_in_use, nr);
}

unsigned long pages_released_in_use(void)
{
	return uatomic_read(&nr_released_in_use);
}
