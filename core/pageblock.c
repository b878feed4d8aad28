/*
 * pageblock.c - the migrate type of each 2 MiB pageblock, and moving the
 * free pages of a pageblock between free lists when it changes type.
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

		if (p->flags & PG_buddy) {
			unsigned long nr = 1UL << p->order;

			if (move_to >= 0)
				__move_to_free_list(p, zone, p->order, move_to);
			free += nr < end - pfn ? nr : end - pfn;
			pfn += nr;
		} else if (p->flags & PG_head) {
			unsigned long nr = p->nr_pages;

			if (p->migratetype == MIGRATE_MOVABLE)
				movable += nr < end - pfn ? nr : end - pfn;
			pfn += nr;
		} else if (p->flags & PG_pcp) {	/* on a per-CPU list */
			pfn += 1UL << p->order;
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
