/*
 * sparse.c - sections (the kernel's SPARSEMEM): the heap is a set of 128 MiB
 * sections mapped from the OS as it grows (memory hot-add), each with an
 * out-of-line array of page descriptors. A flat table indexed by section
 * number maps any address to its section in O(1) without locks.
 */
#include <stdint.h>

#include "internal.h"

/*
 * The section table: 2^20 pointers (8 MiB) in .bss. The OS backs it lazily,
 * so only the entries near sections in use ever become resident. Entries go
 * from NULL to a section once, with a release store after the section is
 * fully set up; readers pair it with an acquire load (pfn_to_section()).
 */
struct mem_section *mem_section[NR_MEM_SECTIONS];
/* Its twin for virt_to_page_live(), 8 MiB in .bss as well. */
uintptr_t section_mem_map[NR_MEM_SECTIONS];

void mark_section_abandoned(struct mem_section *ms)
{
	ms->abandoned = true;
	CMM_STORE_SHARED(section_mem_map[ms->section_nr], 0);
}

/*
 * Bind new memory of zone to its node's real node (zone.c), before anything
 * touches it: the OS places a page at its first touch. A refusal leaves the
 * default policy (first touch on the toucher's node) and is no error: the
 * binding only decides where pages live, never whether they can.
 */
static void bind_to_node(const struct zone *zone, void *addr, size_t len)
{
	int node = NODE_DATA(zone->node)->bind_node;

	if (node >= 0)
		os_bind_node(addr, len, node);
}

/*
 * Map the descriptors of a section. Header and mem_map share one mapping
 * aligned to SECTION_META_ALIGN so page_section() is a mask. The OS hands
 * the mapping over zeroed and commits it page by page on first touch, so
 * descriptors cost memory only once pages near them are used.
 */
static struct mem_section *alloc_section_meta(unsigned long start_pfn,
					      struct zone *zone)
{
	struct mem_section *ms;

	ms = os_map_aligned(SECTION_META_SIZE, SECTION_META_ALIGN, false, NULL);
	if (!ms)
		return NULL;
	bind_to_node(zone, ms, SECTION_META_SIZE);	/* as the kernel's memmap */
	ms->start_pfn = start_pfn;
	ms->section_nr = pfn_to_section_nr(start_pfn);
	ms->zone = zone;
	ms->mem_map = (struct page *)((char *)ms + SECTION_META_HEADER);
	/* New memory comes online movable, as the kernel's does. */
	for (unsigned long i = 0; i < PAGEBLOCKS_PER_SECTION; i++)
		ms->pageblock_flags[i] = MIGRATE_MOVABLE;
	return ms;
}

#ifdef BUDDY_TEST_HOOKS
void (*test_online_section_hook)(struct zone *zone);
#endif

/*
 * Map a new section for zone and put its memory on the free lists as
 * MOVABLE max-order blocks. The system calls (the section's mmap and its
 * descriptors') run without zone->lock, so that no thread waits on them
 * under the zone lock: only the last step, linking the section in, takes
 * it. grow_lock makes one thread at a time grow the zone. Caller holds
 * neither lock; seen is the zone's nr_sections when the caller last found
 * its free lists wanting. If another thread has grown the zone since, no
 * new section is mapped: true, look again.
 */
bool online_section(struct zone *zone, unsigned long seen)
{
	struct mem_section *ms;
	unsigned long start_pfn;
	bool grown = false;
	void *mem;

	pthread_mutex_lock(&zone->grow_lock);
	/* Sections are added only under grow_lock, which we hold. */
	if (CMM_LOAD_SHARED(zone->nr_sections) != seen) {
		grown = true;
		goto out;
	}
	if (zone->max_sections && zone->nr_sections >= zone->max_sections)
		goto out;
	/* The descriptors are the zone's metadata, counted whole against
	 * its budget (budget.c); like all metadata they may use half of the
	 * min reserve (ALLOC_HIGH), no more. */
	if (zone_page_free(zone) - (long)SECTION_META_PAGES <=
	    (long)(min_wmark_pages(zone) / 2))
		goto out;

	mem = os_map_aligned(SECTION_SIZE, SECTION_SIZE,
			     zone->zone_idx == ZONE_LOW32, &zone->low32_hint);
	if (!mem)
		goto out;
	start_pfn = (uintptr_t)mem >> PAGE_SHIFT;
	if (pfn_to_section_nr(start_pfn) >= NR_MEM_SECTIONS) {
		/* Beyond the 47-bit table: the kernel gave us a 5-level address. */
		os_unmap(mem, SECTION_SIZE);
		goto out;
	}
	bind_to_node(zone, mem, SECTION_SIZE);
	ms = alloc_section_meta(start_pfn, zone);
	if (!ms) {
		os_unmap(mem, SECTION_SIZE);
		goto out;
	}
#ifdef BUDDY_TEST_HOOKS
	if (test_online_section_hook)
		test_online_section_hook(zone);
#endif

	zone_lock(zone);
	publish_section(ms->section_nr, ms);
	ms->zone_next = zone->sections;
	zone->sections = ms;
	CMM_STORE_SHARED(zone->nr_sections, zone->nr_sections + 1);
	zone->present_pages += PAGES_PER_SECTION;
	CMM_STORE_SHARED(zone->meta_pages, zone->meta_pages + SECTION_META_PAGES);
	/* Fresh from mmap, nothing is resident yet. */
	__set_pages_released(zone, start_pfn, PAGES_PER_SECTION);
	/* Max-order blocks have no buddy to merge with: each goes straight on
	 * the free list. */
	for (unsigned long pfn = start_pfn; pfn < start_pfn + PAGES_PER_SECTION;
	     pfn += MAX_ORDER_NR_PAGES)
		__add_to_free_list(pfn_to_page(pfn), zone, MAX_PAGE_ORDER,
				   MIGRATE_MOVABLE, true);
	zone_unlock(zone);
	/* More managed pages: a higher high and batch for the lists. */
	zone_pcp_update(zone);
	grown = true;
out:
	pthread_mutex_unlock(&zone->grow_lock);
	return grown;
}
