/*
 * reclaim.c - giving free memory back to the OS.
 *
 * For now one operation, for malloc_trim(): every free page of every zone
 * goes back with MADV_DONTNEED. It knows nothing of which free pages are
 * still resident, so it releases all of them, every time; releasing a page
 * the OS has already taken back costs only the walk.
 *
 * A later issue adds what the kernel's reclaim does: tracking which free
 * pageblocks are resident and for how long, a background thread per node
 * (kswapd) woken below the low watermark, direct reclaim below min, and a
 * decay time after which idle free memory goes back on its own. That will
 * release whole pageblocks (ISOLATE while the madvise runs without the
 * lock), which also keeps transparent huge pages intact.
 */
#include "internal.h"

/* A run of adjacent free pages waiting to be released in one call. */
struct release_run {
	unsigned long start_pfn;
	unsigned long nr_pages;
	unsigned long released;		/* pages released so far */
};

static void release_run_flush(struct release_run *run)
{
	if (run->nr_pages &&
	    os_release((void *)(run->start_pfn << PAGE_SHIFT),
		       run->nr_pages << PAGE_SHIFT))
		run->released += run->nr_pages;
	run->nr_pages = 0;
}

static void release_run_add(struct release_run *run, unsigned long pfn,
			    unsigned long nr)
{
	if (run->nr_pages && run->start_pfn + run->nr_pages != pfn)
		release_run_flush(run);
	if (!run->nr_pages)
		run->start_pfn = pfn;
	run->nr_pages += nr;
}

/*
 * Walk the section in address order, block by block (a free block by its
 * order, an allocation by its nr_pages), so that neighbouring free blocks,
 * which the free lists keep apart, leave in one madvise: a free section is
 * one call, not 32. Only block heads are read, and they are resident
 * already. Caller holds zone->lock, so no free block is handed out while
 * its pages are being released.
 */
static void __release_section(struct mem_section *ms, struct release_run *run)
{
	unsigned long end = ms->start_pfn + PAGES_PER_SECTION;

	for (unsigned long pfn = ms->start_pfn; pfn < end;) {
		struct page *page = &ms->mem_map[pfn - ms->start_pfn];
		unsigned long nr = 1;

		if (page->flags & PG_buddy) {
			nr = 1UL << page->order;
			release_run_add(run, pfn, nr);
		} else {
			if ((page->flags & PG_head) && page->nr_pages)
				nr = page->nr_pages;
			release_run_flush(run);
		}
		pfn += nr;
	}
	release_run_flush(run);
}

unsigned long release_free_pages(void)
{
	struct release_run run = { 0, 0, 0 };

	buddy_core_init();
	for_each_zone(zone) {
		zone_lock(zone);
		for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next)
			__release_section(ms, &run);
		zone_unlock(zone);
	}
	return run.released;
}
