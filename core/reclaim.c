/*
 * reclaim.c - giving free memory back to the OS.
 *
 * For now one operation, for malloc_trim(): every free block with resident
 * pages goes back with MADV_DONTNEED, with zone->lock dropped while the
 * madvise runs (the blocks are off the free lists meanwhile), and its pages
 * are marked released (resident.c). Blocks already released are skipped.
 *
 * A later issue adds what the kernel's reclaim does: tracking which free
 * pageblocks are resident and for how long, a background thread per node
 * (kswapd) woken below the low watermark, direct reclaim below min, and a
 * decay time after which idle free memory goes back on its own, releasing
 * whole pageblocks where it can, which keeps transparent huge pages
 * intact.
 */
#include <limits.h>

#include "internal.h"

/* Free blocks taken off the free lists at once: a wholly free section is
 * 32 max-order blocks, released in one call. */
#define RELEASE_BATCH	64

struct isolated_block {
	unsigned long pfn;
	unsigned int order;
	bool released;		/* the OS took its pages back */
};

#ifdef BUDDY_TEST_HOOKS
void (*test_release_hook)(struct zone *zone);
#endif

/*
 * Walk the section in address order from *pfn, block by block (a free block
 * by its order, an allocation by its nr_pages), taking free blocks that
 * still have resident pages off the free lists, up to RELEASE_BATCH; *pfn
 * advances past what was looked at. Off the lists a block is neither free
 * nor allocated: no allocation takes it and no free merges with it (its
 * head has no PG_buddy), so its pages can be released with zone->lock
 * dropped. Only block heads are read, and they are resident already.
 * Caller holds zone->lock.
 */
static unsigned int __isolate_free_blocks(struct zone *zone,
					  struct mem_section *ms,
					  unsigned long *pfn,
					  struct isolated_block *blocks)
{
	unsigned long end = ms->start_pfn + PAGES_PER_SECTION;
	unsigned int n = 0;

	while (*pfn < end && n < RELEASE_BATCH) {
		struct page *page = &ms->mem_map[*pfn - ms->start_pfn];
		unsigned long nr = 1;

		if (page->flags & PG_buddy) {
			nr = 1UL << page->order;
			if (__pages_released(*pfn, nr) != nr) {
				blocks[n].pfn = *pfn;
				blocks[n].order = page->order;
				blocks[n].released = false;
				__del_page_from_free_list(page, zone, page->order);
				n++;
			}
		} else if ((page->flags & PG_head) && page->nr_pages) {
			nr = page->nr_pages;
		}
		*pfn += nr;
	}
	return n;
}

/* Release the isolated blocks, which come in address order: neighbours,
 * which the free lists keep apart, leave in one madvise. No lock held. */
static void release_blocks(struct zone *zone, struct isolated_block *blocks,
			   unsigned int n)
{
#ifdef BUDDY_TEST_HOOKS
	if (test_release_hook)
		test_release_hook(zone);
#else
	(void)zone;
#endif
	for (unsigned int first = 0; first < n;) {
		unsigned long start = blocks[first].pfn;
		unsigned long end = start + (1UL << blocks[first].order);
		unsigned int last = first + 1;
		bool ok;

		while (last < n && blocks[last].pfn == end)
			end += 1UL << blocks[last++].order;
		ok = os_release((void *)(start << PAGE_SHIFT),
				(end - start) << PAGE_SHIFT);
		while (first < last)
			blocks[first++].released = ok;
	}
}

/* Put the blocks back, merging as a free does, on their pageblock's type
 * list (a pageblock may have changed type meanwhile), with the pages the OS
 * took back marked released. Returns the pages newly released. Caller
 * holds zone->lock. */
static unsigned long __putback_blocks(struct zone *zone,
				      const struct isolated_block *blocks,
				      unsigned int n)
{
	unsigned long released = 0;

	for (unsigned int i = 0; i < n; i++) {
		unsigned long pfn = blocks[i].pfn;

		if (blocks[i].released)
			released += __set_pages_released(zone, pfn,
							 1UL << blocks[i].order);
		__free_one_page(pfn_to_page(pfn), pfn, zone, blocks[i].order,
				get_pfnblock_migratetype(pfn));
	}
	return released;
}

/*
 * Release resident free pages of zone until at least nr_to_release pages
 * went back (ULONG_MAX: all of them), counting them as event. A batch at a
 * time: isolate under zone->lock, release without it, put back under it.
 * Sections are never taken off a zone's list, and new ones come in at its
 * head, so the walk goes on safely after the lock was dropped. Returns the
 * pages released.
 */
unsigned long reclaim_zone(struct zone *zone, unsigned long nr_to_release,
			   enum vm_event_item event)
{
	struct isolated_block blocks[RELEASE_BATCH];
	unsigned long released = 0;

	zone_lock(zone);
	for (struct mem_section *ms = zone->sections;
	     ms && released < nr_to_release; ms = ms->zone_next) {
		unsigned long pfn = ms->start_pfn;

		while (pfn < ms->start_pfn + PAGES_PER_SECTION &&
		       released < nr_to_release) {
			unsigned int n = __isolate_free_blocks(zone, ms, &pfn,
							       blocks);

			if (!n)
				continue;
			zone_unlock(zone);	/* no system call under it */
			release_blocks(zone, blocks, n);
			zone_lock(zone);
			released += __putback_blocks(zone, blocks, n);
		}
	}
	zone_unlock(zone);
	count_vm_events(event, released);
	return released;
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
