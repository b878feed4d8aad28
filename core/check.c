/*
 * check.c - consistency checks of the buddy state. Written against the
 * invariants stated in mm_types.h and page_alloc.c, not against the code
 * that maintains them: it recounts everything from the free lists and from
 * a walk over every page descriptor, and compares.
 *
 * Used by the tests after operations. It reads every descriptor of every
 * section, so it is slow: O(pages). Built only into the test core
 * (core/libbuddycore_test.la, -DBUDDY_TEST_HOOKS; core/local.mk).
 */
#include "internal.h"
#include "seq_buf.h"

struct check_state {
	struct zone *zone;
	struct seq_buf *s;
	unsigned long violations;
	unsigned long pcp_pages;	/* on the per-CPU lists, by their counts */
};

#define MAX_REPORTED 20

static void report_prefix(struct check_state *st)
{
	seq_buf_printf(st->s, "zone %s (node %d): ", st->zone->name,
		       st->zone->node);
}

/* One broken invariant: what, where, and the two values that disagree. */
static void violation_pfn(struct check_state *st, const char *what,
			  unsigned long pfn, unsigned long a, unsigned long b)
{
	st->violations++;
	if (!st->s || st->violations > MAX_REPORTED)
		return;
	report_prefix(st);
	seq_buf_printf(st->s, "%s at pfn 0x%lx (%lu vs %lu)\n", what, pfn, a, b);
}

static void violation_pair(struct check_state *st, unsigned long pfn,
			   unsigned long buddy_pfn, unsigned int order)
{
	st->violations++;
	if (!st->s || st->violations > MAX_REPORTED)
		return;
	report_prefix(st);
	seq_buf_printf(st->s, "free buddies left unmerged at pfn 0x%lx and 0x%lx (order %u)\n",
		       pfn, buddy_pfn, order);
}

static bool pfn_in_zone(const struct zone *zone, unsigned long pfn)
{
	struct mem_section *ms = pfn_to_section(pfn);

	return ms && ms->zone == zone;
}

/* Walk the free lists: every entry is a well-formed free block of the
 * list's order and type, lying in this zone; recount the totals. */
static void check_free_lists(struct check_state *st)
{
	struct zone *zone = st->zone;
	unsigned long total = 0, per_type[MIGRATE_TYPES] = { 0 };

	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		struct free_area *area = &zone->free_area[order];
		unsigned long blocks = 0;

		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			struct page *page;

			cds_list_for_each_entry(page, &area->free_list[mt], lru) {
				unsigned long pfn = page_to_pfn(page);
				uint32_t flags = READ_ONCE(page->flags);
				uint8_t page_order = READ_ONCE(page->order);
				uint8_t page_mt = READ_ONCE(page->migratetype);

				blocks++;
				per_type[mt] += 1UL << order;
				if (!pfn_in_zone(zone, pfn))
					violation_pfn(st, "free block outside its zone",
						      pfn, 0, 0);
				if (!(flags & PG_buddy) || (flags & PG_head))
					violation_pfn(st, "listed block not marked free",
						      pfn, flags, PG_buddy);
				if (page_order != order)
					violation_pfn(st, "listed block of the wrong order",
						      pfn, page_order, order);
				if (page_mt != mt)
					violation_pfn(st, "listed block of the wrong type",
						      pfn, page_mt, mt);
				if (pfn & ((1UL << order) - 1))
					violation_pfn(st, "free block misaligned",
						      pfn, pfn, order);
				if (get_pfnblock_migratetype(pfn) != mt)
					violation_pfn(st, "free block on a list other than its pageblock's type",
						      pfn, mt, get_pfnblock_migratetype(pfn));
			}
		}
		if (blocks != area->nr_free)
			violation_pfn(st, "nr_free disagrees with the free lists",
				      order, area->nr_free, blocks);
		total += blocks << order;
	}
	if (total != zone->nr_free_pages)
		violation_pfn(st, "nr_free_pages disagrees with the free lists",
			      0, zone->nr_free_pages, total);
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		if (per_type[mt] != zone->nr_free_type[mt])
			violation_pfn(st, "nr_free_type disagrees with the free lists",
				      (unsigned long)mt, zone->nr_free_type[mt],
				      per_type[mt]);
}

/* Walk every CPU's lists: each entry is a PG_pcp block of the list's
 * order and type in this zone; each CPU's count is its lists' pages and
 * at most its high. */
static void check_pcp_lists(struct check_state *st)
{
	struct zone *zone = st->zone;

	if (!zone->per_cpu_pageset)
		return;
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++) {
		struct per_cpu_pages *pcp = &zone->per_cpu_pageset[cpu];
		unsigned long pages = 0;

		for (int i = 0; i < NR_PCP_LISTS; i++) {
			unsigned int order = (unsigned int)(i / MIGRATE_PCPTYPES);
			int mt = i % MIGRATE_PCPTYPES;
			struct page *page;

			if (order > PCP_MAX_LOWORDER)
				order = pageblock_order;
			cds_list_for_each_entry(page, &pcp->lists[i], lru) {
				unsigned long pfn = page_to_pfn(page);
				uint32_t flags = READ_ONCE(page->flags);
				uint8_t page_order = READ_ONCE(page->order);
				uint8_t page_mt = READ_ONCE(page->migratetype);

				pages += 1UL << order;
				if (!pfn_in_zone(zone, pfn))
					violation_pfn(st, "pcp block outside its zone",
						      pfn, cpu, 0);
				if (flags != PG_pcp)
					violation_pfn(st, "pcp block not marked PG_pcp",
						      pfn, flags, PG_pcp);
				if (page_order != order || page_mt != mt)
					violation_pfn(st, "pcp block on the wrong list",
						      pfn, page_order * 16UL + page_mt,
						      order * 16UL + (unsigned long)mt);
				if (pfn & ((1UL << order) - 1))
					violation_pfn(st, "pcp block misaligned",
						      pfn, pfn, order);
			}
		}
		if (pages != (unsigned long)pcp->count)
			violation_pfn(st, "pcp count disagrees with its lists",
				      cpu, (unsigned long)pcp->count, pages);
		if (pcp->count > pcp->high)
			violation_pfn(st, "pcp count above high", cpu,
				      (unsigned long)pcp->count,
				      (unsigned long)pcp->high);
		st->pcp_pages += (unsigned long)pcp->count;
	}
}

static bool reserved_type(int mt)
{
	return mt == MIGRATE_HIGHATOMIC || mt == MIGRATE_ISOLATE;
}

/* Would these two free buddies be allowed to stay apart? Only across a
 * pageblock boundary where one side is reserved. */
static bool unmerged_pair_allowed(unsigned long pfn, unsigned long buddy_pfn,
				  unsigned int order)
{
	int a, b;

	if (order < pageblock_order)
		return false;
	a = get_pfnblock_migratetype(pfn);
	b = get_pfnblock_migratetype(buddy_pfn);
	return a != b && (reserved_type(a) || reserved_type(b));
}

static bool page_released_bit(const struct mem_section *ms, unsigned long pfn)
{
	unsigned long i = pfn - ms->start_pfn;
	unsigned long bits = 8 * sizeof(ms->released[0]);

	return (ms->released[i / bits] >> (i % bits)) & 1;
}

/* Walk every page of every section: each page belongs to exactly one free
 * block or one allocation, no free block has a free buddy of its order, and
 * only free pages are marked released. */
static void check_sections(struct check_state *st)
{
	struct zone *zone = st->zone;
	unsigned long free_pages = 0, sections = 0, released = 0, pcp_pages = 0;

	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next) {
		unsigned long end = ms->start_pfn + PAGES_PER_SECTION;

		sections++;
		if (ms->zone != zone || mem_section[ms->section_nr] != ms)
			violation_pfn(st, "section not published for its zone",
				      ms->start_pfn, 0, 0);
		for (unsigned long pfn = ms->start_pfn; pfn < end;) {
			struct page *page = pfn_to_page(pfn);
			uint32_t flags = READ_ONCE(page->flags);
			unsigned long nr;

			if (flags & PG_buddy) {
				unsigned int order = READ_ONCE(page->order);

				if (flags & PG_OWNER_MASK)
					violation_pfn(st, "free block with an owner",
						      pfn, flags, 0);
				nr = 1UL << order;
				free_pages += nr;
				if (order < MAX_PAGE_ORDER) {
					unsigned long buddy_pfn = pfn ^ nr;
					struct page *buddy = pfn_to_page(buddy_pfn);

					if ((READ_ONCE(buddy->flags) & PG_buddy) &&
					    READ_ONCE(buddy->order) == order &&
					    !unmerged_pair_allowed(pfn, buddy_pfn, order))
						violation_pair(st, pfn, buddy_pfn, order);
				}
			} else if (flags & PG_pcp) {
				if (flags != PG_pcp)
					violation_pfn(st, "pcp block with other flags",
						      pfn, flags, PG_pcp);
				nr = 1UL << READ_ONCE(page->order);
				pcp_pages += nr;
			} else if (flags & PG_head) {
				if ((flags & PG_OWNER_MASK) == PG_OWNER_MASK)
					violation_pfn(st, "allocation with two owners",
						      pfn, flags, 0);
				nr = READ_ONCE(page->nr_pages);
				if (nr == 0 || nr > MAX_ORDER_NR_PAGES)
					violation_pfn(st, "allocation of impossible size",
						      pfn, nr, 0);
				if (nr == 0)
					nr = 1;
			} else {
				violation_pfn(st, "page neither free nor allocated",
					      pfn, flags, 0);
				nr = 1;
			}
			if (pfn + nr > end) {
				violation_pfn(st, "block runs past its section",
					      pfn, nr, end - pfn);
				break;
			}
			/* The pages inside a block carry no flags of the
			 * core's (PG_slab is slab/'s). */
			for (unsigned long i = 1; i < nr; i++)
				if (READ_ONCE(pfn_to_page(pfn + i)->flags) &
				    (PG_buddy | PG_head | PG_pcp | PG_OWNER_MASK)) {
					violation_pfn(st, "block overlaps another",
						      pfn, pfn + i, nr);
					break;
				}
			for (unsigned long i = 0; i < nr; i++) {
				if (!page_released_bit(ms, pfn + i))
					continue;
				released++;
				if (!(flags & PG_buddy)) {
					violation_pfn(st, "allocated page marked released",
						      pfn + i, flags, 0);
					break;
				}
			}
			pfn += nr;
		}
	}
	if (free_pages != zone->nr_free_pages)
		violation_pfn(st, "free pages in the descriptors disagree with nr_free_pages",
			      0, free_pages, zone->nr_free_pages);
	if (pcp_pages != st->pcp_pages)
		violation_pfn(st, "pcp pages in the descriptors disagree with the pcp counts",
			      0, pcp_pages, st->pcp_pages);
	if (released != zone->nr_released)
		violation_pfn(st, "released pages disagree with nr_released",
			      0, released, zone->nr_released);
	if (sections != zone->nr_sections ||
	    sections * PAGES_PER_SECTION != zone->present_pages)
		violation_pfn(st, "section count disagrees with present_pages",
			      0, sections, zone->present_pages);
}

unsigned long __check_zone(struct zone *zone, struct seq_buf *s)
{
	struct check_state st = { .zone = zone, .s = s, .violations = 0 };

	check_free_lists(&st);
	check_pcp_lists(&st);
	check_sections(&st);
	if (s && st.violations > MAX_REPORTED) {
		report_prefix(&st);
		seq_buf_printf(s, "%lu more violations not shown\n",
			       st.violations - MAX_REPORTED);
	}
	return st.violations;
}

unsigned long check_all_zones(struct seq_buf *s)
{
	unsigned long violations = 0;

	buddy_core_init();
	for_each_zone(zone) {
		pcp_lock_all(zone);
		zone_lock(zone);
		violations += __check_zone(zone, s);
		zone_unlock(zone);
		pcp_unlock_all(zone);
	}
	return violations;
}
