/*
 * model_check.c - the model's own checker of the buddy state; see
 * model_check.h for what it proves. Written from the invariants in
 * core/mm_types.h, not from core/check.c.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_check.h"

#define MAP_WORDS	(PAGES_PER_SECTION / 64)

/* What the checker rebuilds for one section of the zone. */
struct mc_section {
	struct mem_section *ms;
	unsigned long start_pfn;
	uint64_t free_map[MAP_WORDS];		/* page is in a free block */
	uint64_t live_map[MAP_WORDS];		/* page is in a live allocation */
	uint64_t live_head[MAP_WORDS];		/* page heads a live allocation */
	uint64_t pcp_map[MAP_WORDS];		/* page is in a block on a pcp list */
	uint64_t pcp_head[MAP_WORDS];		/* page heads a block on a pcp list */
	uint8_t free_head[PAGES_PER_SECTION];	/* order + 1 of a free head */
};

struct mc_ctx {
	struct zone *zone;
	mc_report_fn report;
	void *opaque;
	unsigned long violations;
	struct mc_section *secs;
	unsigned long nr_secs;
	/* Every free block found, in walk order, for the buddy check and to
	 * clear free_head[] afterwards. */
	struct mc_head {
		struct mc_section *s;
		unsigned long idx;
	} *heads;
	unsigned long nr_heads;
};

__attribute__((format(printf, 2, 3)))
static void violation(struct mc_ctx *c, const char *fmt, ...)
{
	char line[512];
	int n;
	va_list ap;

	c->violations++;
	if (!c->report || c->violations > MC_MAX_REPORTS)
		return;
	n = snprintf(line, sizeof(line), "zone %s: ",
		     c->zone->name ? c->zone->name : "?");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	c->report(c->opaque, line);
}

/* ------------------------------------------------------------- bitmaps */

static bool range_any(const uint64_t *map, unsigned long i, unsigned long n)
{
	for (; n && (i & 63); i++, n--)
		if (map[i / 64] & (1ULL << (i & 63)))
			return true;
	for (; n >= 64; i += 64, n -= 64)
		if (map[i / 64])
			return true;
	for (; n; i++, n--)
		if (map[i / 64] & (1ULL << (i & 63)))
			return true;
	return false;
}

static void range_set(uint64_t *map, unsigned long i, unsigned long n)
{
	for (; n && (i & 63); i++, n--)
		map[i / 64] |= 1ULL << (i & 63);
	for (; n >= 64; i += 64, n -= 64)
		map[i / 64] = ~0ULL;
	for (; n; i++, n--)
		map[i / 64] |= 1ULL << (i & 63);
}

static bool bit_test(const uint64_t *map, unsigned long i)
{
	return map[i / 64] & (1ULL << (i & 63));
}

/* ------------------------------------------------------------ sections */

static struct mc_section *section_of_pfn(struct mc_ctx *c, unsigned long pfn)
{
	for (unsigned long i = 0; i < c->nr_secs; i++)
		if (pfn - c->secs[i].start_pfn < PAGES_PER_SECTION)
			return &c->secs[i];
	return NULL;
}

/* The section whose mem_map holds page, found without trusting page. */
static struct mc_section *section_of_page(struct mc_ctx *c,
					  const struct page *page)
{
	for (unsigned long i = 0; i < c->nr_secs; i++) {
		const struct page *map = c->secs[i].ms->mem_map;

		if (page >= map && page < map + PAGES_PER_SECTION)
			return &c->secs[i];
	}
	return NULL;
}

static int block_type(const struct mc_section *s, unsigned long idx)
{
	return s->ms->pageblock_flags[idx >> pageblock_order];
}

/*
 * The checker's per-section maps, kept from call to call (they are 44 KiB
 * a section, and the model checks often): cleared, not reallocated. Not
 * thread-safe; the tests check from one thread.
 */
static struct mc_section *section_space(unsigned long n)
{
	static struct mc_section *space;
	static unsigned long cap;

	if (n == 0)
		n = 1;	/* an empty zone still gets a (cleared) map */
	if (n > cap) {
		struct mc_section *bigger = realloc(space, n * sizeof(*space));

		if (!bigger)
			return NULL;
		memset(bigger + cap, 0, (n - cap) * sizeof(*space));
		space = bigger;
		cap = n;
	}
	/* free_head[] was cleared by the last check, head by head. */
	for (unsigned long i = 0; i < n; i++) {
		memset(space[i].free_map, 0, sizeof(space[i].free_map));
		memset(space[i].live_map, 0, sizeof(space[i].live_map));
		memset(space[i].live_head, 0, sizeof(space[i].live_head));
		memset(space[i].pcp_map, 0, sizeof(space[i].pcp_map));
		memset(space[i].pcp_head, 0, sizeof(space[i].pcp_head));
	}
	return space;
}

/* Room for the free blocks of a zone of present pages (at most one block
 * per page). */
static struct mc_head *head_space(unsigned long pages)
{
	static struct mc_head *space;
	static unsigned long cap;

	if (pages > cap) {
		struct mc_head *bigger = realloc(space, pages * sizeof(*space));

		if (!bigger)
			return NULL;
		space = bigger;
		cap = pages;
	}
	return space;
}

/* Collect the zone's sections; false if the list cannot be trusted. */
static bool collect_sections(struct mc_ctx *c)
{
	struct zone *zone = c->zone;
	unsigned long n = 0, cap = zone->nr_sections;
	struct mem_section *ms;

	for (ms = zone->sections; ms && n <= cap; ms = ms->zone_next)
		n++;
	if (n != zone->nr_sections) {
		violation(c, "section list has %s%lu entries, nr_sections %lu",
			  n > cap ? "more than " : "", n > cap ? cap : n,
			  zone->nr_sections);
		return false;
	}
	if (zone->present_pages != n * PAGES_PER_SECTION)
		violation(c, "present_pages %lu != %lu sections x %lu",
			  zone->present_pages, n, PAGES_PER_SECTION);
	c->secs = section_space(n);
	c->heads = head_space(n * PAGES_PER_SECTION + 1);
	if (!c->secs || !c->heads) {
		violation(c, "checker out of memory");
		return false;
	}
	c->nr_secs = n;
	n = 0;
	for (ms = zone->sections; ms; ms = ms->zone_next, n++) {
		struct mc_section *s = &c->secs[n];

		s->ms = ms;
		s->start_pfn = ms->start_pfn;
		if (ms->start_pfn & (PAGES_PER_SECTION - 1))
			violation(c, "section at pfn %#lx not aligned", ms->start_pfn);
		if (ms->section_nr != pfn_to_section_nr(ms->start_pfn))
			violation(c, "section at pfn %#lx has section_nr %lu",
				  ms->start_pfn, ms->section_nr);
		else if (mem_section[ms->section_nr] != ms)
			violation(c, "section %lu not published in mem_section[]",
				  ms->section_nr);
		if (ms->zone != zone)
			violation(c, "section %lu belongs to another zone",
				  ms->section_nr);
		if (page_section(ms->mem_map) != ms)
			violation(c, "section %lu: mem_map not inside its header's "
				  "aligned mapping", ms->section_nr);
		for (unsigned long b = 0; b < PAGEBLOCKS_PER_SECTION; b++)
			if (ms->pageblock_flags[b] >= MIGRATE_TYPES)
				violation(c, "section %lu pageblock %lu: type %u",
					  ms->section_nr, b, ms->pageblock_flags[b]);
	}
	return true;
}

/* ---------------------------------------------------------- free lists */

struct walk_totals {
	unsigned long blocks[NR_PAGE_ORDERS];
	unsigned long type_pages[MIGRATE_TYPES];
	unsigned long pages;
};

/* Walk one free list; stops at the first entry that is not a page of
 * the zone, since its links cannot be trusted. */
static void walk_list(struct mc_ctx *c, unsigned int order, int mt,
		      struct walk_totals *t)
{
	struct cds_list_head *head = &c->zone->free_area[order].free_list[mt];
	struct cds_list_head *pos;
	unsigned long cap = c->zone->present_pages + 1, n = 0;

	for (pos = head->next; pos != head; pos = pos->next) {
		struct page *page = cds_list_entry(pos, struct page, lru);
		struct mc_section *s = section_of_page(c, page);
		unsigned long idx, pfn;

		if (++n > cap) {
			violation(c, "free_list[%u][%d] longer than the zone "
				  "(a cycle?)", order, mt);
			return;
		}
		if (!s) {
			violation(c, "free_list[%u][%d]: entry %p is not a page "
				  "of the zone", order, mt, (void *)page);
			return;
		}
		idx = (unsigned long)(page - s->ms->mem_map);
		pfn = s->start_pfn + idx;
		if (!(page->flags & PG_buddy))
			violation(c, "pfn %#lx on free_list[%u][%d] lacks PG_buddy",
				  pfn, order, mt);
		if (page->flags & PG_head)
			violation(c, "pfn %#lx on free_list[%u][%d] has PG_head",
				  pfn, order, mt);
		if (page->order != order)
			violation(c, "pfn %#lx on free_list[%u][%d] has order %u",
				  pfn, order, mt, page->order);
		if (page->migratetype != mt)
			violation(c, "pfn %#lx on free_list[%u][%d] has "
				  "migratetype %u", pfn, order, mt,
				  page->migratetype);
		if (pfn & ((1UL << order) - 1)) {
			violation(c, "pfn %#lx on free_list[%u][%d] not aligned",
				  pfn, order, mt);
			continue;
		}
		for (unsigned long b = idx >> pageblock_order;
		     b <= (idx + (1UL << order) - 1) >> pageblock_order; b++)
			if (s->ms->pageblock_flags[b] != mt) {
				violation(c, "pfn %#lx on free_list[%u][%d] lies "
					  "in a pageblock of type %u", pfn, order,
					  mt, s->ms->pageblock_flags[b]);
				break;
			}
		if (range_any(s->free_map, idx, 1UL << order))
			violation(c, "free block pfn %#lx order %u overlaps another "
				  "free block (a page on two free lists)",
				  pfn, order);
		range_set(s->free_map, idx, 1UL << order);
		if (s->free_head[idx])
			violation(c, "pfn %#lx heads two free blocks", pfn);
		if (!s->free_head[idx])
			c->heads[c->nr_heads++] = (struct mc_head){ s, idx };
		s->free_head[idx] = (uint8_t)(order + 1);
		t->blocks[order]++;
		t->type_pages[mt] += 1UL << order;
		t->pages += 1UL << order;
	}
}

static void check_free_lists(struct mc_ctx *c)
{
	struct zone *zone = c->zone;
	struct walk_totals t;

	memset(&t, 0, sizeof(t));
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		for (int mt = 0; mt < MIGRATE_TYPES; mt++)
			walk_list(c, o, mt, &t);
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		if (zone->free_area[o].nr_free != t.blocks[o])
			violation(c, "free_area[%u].nr_free %lu, walk found %lu "
				  "blocks", o, zone->free_area[o].nr_free,
				  t.blocks[o]);
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		if (zone->nr_free_type[mt] != t.type_pages[mt])
			violation(c, "nr_free_type[%d] %lu, walk found %lu pages",
				  mt, zone->nr_free_type[mt], t.type_pages[mt]);
	if (zone->nr_free_pages != t.pages)
		violation(c, "nr_free_pages %lu, walk found %lu",
			  zone->nr_free_pages, t.pages);
}

/*
 * Every CPU's lists: each entry a block of the zone with exactly PG_pcp,
 * the list's order and type, aligned, overlapping no free block and no
 * other listed block; each CPU's count the pages on its lists, and at most
 * its high. Returns the pages on the lists. Caller holds every pcp lock of
 * the zone.
 */
static unsigned long check_pcp_lists(struct mc_ctx *c)
{
	struct zone *zone = c->zone;
	unsigned long total = 0;

	if (!zone->per_cpu_pageset)
		return 0;
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++) {
		struct per_cpu_pages *pcp = &zone->per_cpu_pageset[cpu];
		unsigned long pages = 0;

		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
			if (o > PCP_MAX_LOWORDER && o != pageblock_order)
				continue;
			for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++) {
				unsigned int slot = o > PCP_MAX_LOWORDER ?
					PCP_MAX_LOWORDER + 1 : o;
				struct cds_list_head *head =
					&pcp->lists[slot * MIGRATE_PCPTYPES + (unsigned int)mt];
				struct cds_list_head *pos;

				cds_list_for_each(pos, head) {
					struct page *page = cds_list_entry(pos, struct page, lru);
					struct mc_section *s = section_of_page(c, page);
					unsigned long idx;

					if (!s) {
						violation(c, "cpu %u: a pcp block outside the zone", cpu);
						break;
					}
					idx = (unsigned long)(page - s->ms->mem_map);
					pages += 1UL << o;
					if (page->flags != PG_pcp)
						violation(c, "pcp block pfn %#lx: flags %#x",
							  s->start_pfn + idx, page->flags);
					if (page->order != o || page->migratetype != mt)
						violation(c, "pcp block pfn %#lx: order %u type %u "
							  "on the list of order %u type %d",
							  s->start_pfn + idx, page->order,
							  page->migratetype, o, mt);
					if (idx & ((1UL << o) - 1) ||
					    idx + (1UL << o) > PAGES_PER_SECTION) {
						violation(c, "pcp block pfn %#lx misaligned",
							  s->start_pfn + idx);
						continue;
					}
					if (range_any(s->free_map, idx, 1UL << o) ||
					    range_any(s->pcp_map, idx, 1UL << o))
						violation(c, "pcp block pfn %#lx overlaps a "
							  "free or pcp block",
							  s->start_pfn + idx);
					range_set(s->pcp_map, idx, 1UL << o);
					range_set(s->pcp_head, idx, 1);
				}
			}
		}
		if (pages != (unsigned long)pcp->count)
			violation(c, "cpu %u: pcp count %d, lists hold %lu pages",
				  cpu, pcp->count, pages);
		if (pcp->count > pcp->high)
			violation(c, "cpu %u: pcp count %d above high %d", cpu,
				  pcp->count, pcp->high);
		total += pages;
	}
	return total;
}

/* No two free buddies of equal order left unmerged. */
static void check_buddies(struct mc_ctx *c)
{
	for (unsigned long h = 0; h < c->nr_heads; h++) {
		struct mc_section *s = c->heads[h].s;
		unsigned long idx = c->heads[h].idx, bidx;
		unsigned int order = s->free_head[idx] - 1u;

		if (order >= MAX_PAGE_ORDER)
			continue;
		bidx = mc_buddy_pfn(idx, order);
		if (bidx < idx || s->free_head[bidx] != order + 1)
			continue;
		if (order >= pageblock_order &&
		    (block_type(s, idx) >= MIGRATE_PCPTYPES ||
		     block_type(s, bidx) >= MIGRATE_PCPTYPES))
			continue;	/* the kernel's deliberate exception */
		violation(c, "free buddies pfn %#lx and %#lx of order %u "
			  "left unmerged", s->start_pfn + idx,
			  s->start_pfn + bidx, order);
	}
}

static void check_highatomic(struct mc_ctx *c)
{
	unsigned long blocks = 0;

	for (unsigned long i = 0; i < c->nr_secs; i++)
		for (unsigned long b = 0; b < PAGEBLOCKS_PER_SECTION; b++)
			if (c->secs[i].ms->pageblock_flags[b] == MIGRATE_HIGHATOMIC)
				blocks++;
	if (c->zone->nr_reserved_highatomic != blocks * pageblock_nr_pages)
		violation(c, "nr_reserved_highatomic %lu, but %lu HIGHATOMIC "
			  "pageblocks", c->zone->nr_reserved_highatomic, blocks);
}

/* ----------------------------------------------------------------- live */

static unsigned long check_live(struct mc_ctx *c, const struct mc_live *live,
				size_t nr_live)
{
	unsigned long live_pages = 0;

	for (size_t k = 0; k < nr_live; k++) {
		const struct mc_live *a = &live[k];
		unsigned long pfn = a->addr >> PAGE_SHIFT, idx;
		struct mc_section *s = section_of_pfn(c, pfn);
		struct page *head;

		if (!s)
			continue;	/* another zone's */
		idx = pfn - s->start_pfn;
		if (idx + a->nr_pages > PAGES_PER_SECTION) {
			violation(c, "live allocation pfn %#lx + %lu pages "
				  "crosses its section's end", pfn, a->nr_pages);
			continue;
		}
		if (range_any(s->live_map, idx, a->nr_pages))
			violation(c, "live allocation pfn %#lx (%lu pages) "
				  "overlaps another live allocation",
				  pfn, a->nr_pages);
		if (range_any(s->free_map, idx, a->nr_pages) ||
		    range_any(s->pcp_map, idx, a->nr_pages))
			violation(c, "live allocation pfn %#lx (%lu pages) "
				  "overlaps a free block", pfn, a->nr_pages);
		range_set(s->live_map, idx, a->nr_pages);
		range_set(s->live_head, idx, 1);
		live_pages += a->nr_pages;

		head = &s->ms->mem_map[idx];
		if (!(head->flags & PG_head) || (head->flags & PG_buddy))
			violation(c, "live allocation pfn %#lx: head flags %#x",
				  pfn, head->flags);
		if (head->nr_pages != a->nr_pages)
			violation(c, "live allocation pfn %#lx: nr_pages %u, "
				  "allocated %lu", pfn, head->nr_pages,
				  a->nr_pages);
		if (head->order != a->order)
			violation(c, "live allocation pfn %#lx: order %u, "
				  "allocated with order %u", pfn, head->order,
				  a->order);
		if (a->migratetype >= 0 && head->migratetype != a->migratetype)
			violation(c, "live allocation pfn %#lx: migratetype %u, "
				  "asked for %d", pfn, head->migratetype,
				  a->migratetype);
	}
	return live_pages;
}

/* Every page descriptor of the zone. */
static void scan_pages(struct mc_ctx *c, bool complete)
{
	unsigned long reported_buddy = 0, reported_head = 0;

	for (unsigned long i = 0; i < c->nr_secs; i++) {
		struct mc_section *s = &c->secs[i];
		const struct page *map = s->ms->mem_map;

		for (unsigned long idx = 0; idx < PAGES_PER_SECTION; idx++) {
			uint32_t f = map[idx].flags;

			if ((f & PG_pcp) && (f != PG_pcp ||
					      !bit_test(s->pcp_head, idx)))
				violation(c, "pfn %#lx has PG_pcp (flags %#x) but "
					  "heads no block on a pcp list",
					  s->start_pfn + idx, f);
			if (!(f & (PG_buddy | PG_head)))
				continue;
			if ((f & PG_buddy) && (f & PG_head))
				violation(c, "pfn %#lx has PG_buddy and PG_head",
					  s->start_pfn + idx);
			if ((f & PG_buddy) && !s->free_head[idx] &&
			    reported_buddy++ < 4)
				violation(c, "pfn %#lx has PG_buddy but heads no "
					  "block on a free list",
					  s->start_pfn + idx);
			if ((f & PG_head) && bit_test(s->free_map, idx))
				violation(c, "pfn %#lx has PG_head inside a free "
					  "block", s->start_pfn + idx);
			else if ((f & PG_head) && complete &&
				 !bit_test(s->live_head, idx) &&
				 reported_head++ < 4)
				violation(c, "pfn %#lx has PG_head but heads no "
					  "live allocation", s->start_pfn + idx);
		}
	}
}

unsigned long mc_check_zone(struct zone *zone, const struct mc_live *live,
			    size_t nr_live, unsigned int flags,
			    mc_report_fn report, void *opaque)
{
	struct mc_ctx c = { .zone = zone, .report = report, .opaque = opaque };
	unsigned long live_pages, free_pages, pcp_pages;

	pcp_lock_all(zone);
	zone_lock(zone);
	if (!collect_sections(&c))
		goto out;
	check_free_lists(&c);
	check_buddies(&c);
	check_highatomic(&c);
	pcp_pages = check_pcp_lists(&c);
	live_pages = check_live(&c, live, nr_live);
	free_pages = 0;
	for (unsigned long i = 0; i < c.nr_secs; i++)
		for (unsigned long w = 0; w < MAP_WORDS; w++)
			free_pages += (unsigned long)
				__builtin_popcountll(c.secs[i].free_map[w]);
	if ((flags & MC_LIVE_COMPLETE) &&
	    free_pages + pcp_pages + live_pages != zone->present_pages)
		violation(&c, "free pages %lu + pcp pages %lu + live pages %lu "
			  "!= present pages %lu", free_pages, pcp_pages,
			  live_pages, zone->present_pages);
	if (flags & MC_SCAN_PAGES)
		scan_pages(&c, flags & MC_LIVE_COMPLETE);
out:
	zone_unlock(zone);
	pcp_unlock_all(zone);
	for (unsigned long h = 0; h < c.nr_heads; h++)
		c.heads[h].s->free_head[c.heads[h].idx] = 0;
	return c.violations;
}

unsigned long mc_check_counters(struct zone *zone, unsigned long live_pages,
				mc_report_fn report, void *opaque)
{
	struct mc_ctx c = { .zone = zone, .report = report, .opaque = opaque };
	unsigned long by_order = 0, by_type = 0, pcp_pages = 0;

	pcp_lock_all(zone);
	zone_lock(zone);
	if (zone->per_cpu_pageset)
		for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++)
			pcp_pages += (unsigned long)zone->per_cpu_pageset[cpu].count;
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		by_order += zone->free_area[o].nr_free << o;
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		by_type += zone->nr_free_type[mt];
	if (by_order != zone->nr_free_pages)
		violation(&c, "sum of nr_free[o] << o is %lu, nr_free_pages %lu",
			  by_order, zone->nr_free_pages);
	if (by_type != zone->nr_free_pages)
		violation(&c, "sum of nr_free_type[] is %lu, nr_free_pages %lu",
			  by_type, zone->nr_free_pages);
	if (live_pages != (unsigned long)-1 &&
	    zone->nr_free_pages + pcp_pages + live_pages != zone->present_pages)
		violation(&c, "nr_free_pages %lu + pcp pages %lu + live pages "
			  "%lu != present pages %lu", zone->nr_free_pages,
			  pcp_pages, live_pages, zone->present_pages);
	if (zone->present_pages != zone->nr_sections * PAGES_PER_SECTION)
		violation(&c, "present_pages %lu != nr_sections %lu x %lu",
			  zone->present_pages, zone->nr_sections,
			  PAGES_PER_SECTION);
	zone_unlock(zone);
	pcp_unlock_all(zone);
	return c.violations;
}

/* The stored type of pfn's pageblock, read from its section. */
static int pfn_block_type(unsigned long pfn)
{
	struct mem_section *ms = pfn_to_section(pfn);

	return ms->pageblock_flags[(pfn - ms->start_pfn) >> pageblock_order];
}

/*
 * The free block holding pfn, found from the descriptors alone: a free
 * block of order k holding pfn starts at pfn rounded down to 2^k, and the
 * pages between its head and pfn carry no flags; the first flagged
 * candidate decides. NULL if pfn is not free. A block on a per-CPU list
 * (PG_pcp) is free too, but not on the buddy lists.
 */
static struct page *free_block_holding(unsigned long pfn, unsigned long *head_pfn)
{
	for (unsigned int k = 0; k <= MAX_PAGE_ORDER; k++) {
		unsigned long h = pfn & ~((1UL << k) - 1);
		struct page *page = pfn_to_page(h);

		if (page->flags & (PG_buddy | PG_pcp)) {
			if (h + (1UL << page->order) <= pfn)
				return NULL;
			*head_pfn = h;
			return page;
		}
		if (page->flags & PG_head)
			return NULL;
	}
	return NULL;
}

unsigned long mc_check_merged(struct zone *zone, unsigned long pfn,
			      unsigned long n, mc_report_fn report,
			      void *opaque)
{
	struct mc_ctx c = { .zone = zone, .report = report, .opaque = opaque };

	zone_lock(zone);
	for (unsigned long p = pfn; p < pfn + n;) {
		unsigned long h, b;
		struct page *page = free_block_holding(p, &h), *buddy;
		unsigned int order;

		if (!page) {
			violation(&c, "pfn %#lx was given back but is in no free "
				  "block", p);
			break;
		}
		order = page->order;
		p = h + (1UL << order);
		if (order >= MAX_PAGE_ORDER || (page->flags & PG_pcp))
			continue;	/* a pcp block merges when it spills */
		b = mc_buddy_pfn(h, order);
		buddy = pfn_to_page(b);
		if (!(buddy->flags & PG_buddy) || buddy->order != order)
			continue;
		if (order >= pageblock_order &&
		    (pfn_block_type(h) >= MIGRATE_PCPTYPES ||
		     pfn_block_type(b) >= MIGRATE_PCPTYPES))
			continue;
		violation(&c, "free buddies pfn %#lx and %#lx of order %u "
			  "left unmerged", h < b ? h : b, h < b ? b : h, order);
	}
	zone_unlock(zone);
	return c.violations;
}
