/*
 * vmstat.c - the allocator's state in the layouts of the kernel's
 * /proc/buddyinfo and /proc/pagetypeinfo (mm/vmstat.c), so that tools and
 * eyes used to those files read ours the same way; and the zones' counters
 * for the layers above (zone_stats_read); the event counters
 * (vm_events_read).
 *
 * Each zone is read under its lock into a snapshot and printed after the
 * lock is dropped: the output callback may do anything, even allocate.
 */
#include <string.h>

#include "internal.h"
#include "seq_buf.h"

unsigned long vm_events[NR_VM_EVENT_ITEMS];

static const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
	[PCP_REFILL] = "pcp_refill",
	[PCP_SPILL] = "pcp_spill",
	[PCP_DRAIN] = "pcp_drain",
	[WMARK_FAIL] = "watermark_fail",
	[KSWAPD_WAKE] = "kswapd_wake",
	[PAGEOUTRUN] = "pageoutrun",
	[PGSTEAL_KSWAPD] = "pgsteal_kswapd",
	[PGSTEAL_DIRECT] = "pgsteal_direct",
	[PGSTEAL_DECAY] = "pgsteal_decay",
	[PGSTEAL_TRIM] = "pgsteal_trim",
	[PGSTEAL_SLAB] = "pgsteal_slab",
	[ALLOCSTALL] = "allocstall",
	[COMPACTSTALL] = "compact_stall",
	[ALLOC_FAIL] = "alloc_fail",
	[PAGEBLOCK_RETYPE_SCAN] = "pageblock_retype_scan",
	[PAGEBLOCK_RETYPE_MAJORITY] = "pageblock_retype_majority",
	[PAGEBLOCK_RETYPE_PINNED] = "pageblock_retype_pinned",
};

const char *vm_event_name(enum vm_event_item item)
{
	return vm_event_names[item];
}

void vm_events_read(unsigned long out[NR_VM_EVENT_ITEMS])
{
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		out[i] = uatomic_read(&vm_events[i]);
}

/* /proc/vmstat's layout, "name value" per line: the zones' page counts
 * summed over zones, then the event counters. */
void vmstat_show(struct seq_buf *s)
{
	struct zone_stats zs[MAX_ZONE_STATS];
	unsigned long events[NR_VM_EVENT_ITEMS];
	unsigned long free = 0, released = 0, present = 0, wrong = 0;
	unsigned int n = zone_stats_read(zs, MAX_ZONE_STATS);

	for (unsigned int i = 0; i < n; i++) {
		free += zs[i].nr_free_pages;
		released += zs[i].nr_released;
		present += zs[i].present_pages;
		wrong += zs[i].nr_wrong_type_pageblocks;
	}
	seq_buf_printf(s, "nr_free_pages %lu\n", free);
	seq_buf_printf(s, "nr_released_pages %lu\n", released);
	seq_buf_printf(s, "nr_present_pages %lu\n", present);
	seq_buf_printf(s, "nr_released_in_use %lu\n", pages_released_in_use());
	seq_buf_printf(s, "nr_wrong_type_pageblocks %lu\n", wrong);
	vm_events_read(events);
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		seq_buf_printf(s, "%s %lu\n", vm_event_name(i), events[i]);
}

/* CPUs whose pcp lists the reports read (the first MAX_PCP_STATS; 16 KiB
 * of stack). */
#define MAX_PCP_STATS	1024

struct zone_snapshot {
	unsigned long nr_free[NR_PAGE_ORDERS];
	unsigned long type_free[MIGRATE_TYPES][NR_PAGE_ORDERS];
	unsigned long blocks[MIGRATE_TYPES];
};

static void take_snapshot(struct zone *zone, struct zone_snapshot *snap)
{
	zone_lock(zone);
	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		struct free_area *area = &zone->free_area[order];

		snap->nr_free[order] = area->nr_free;
		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			struct cds_list_head *pos;
			unsigned long n = 0;

			cds_list_for_each(pos, &area->free_list[mt])
				n++;
			snap->type_free[mt][order] = n;
		}
	}
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		snap->blocks[mt] = 0;
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next)
		for (unsigned long i = 0; i < PAGEBLOCKS_PER_SECTION; i++)
			snap->blocks[ms->pageblock_flags[i]]++;
	zone_unlock(zone);
}

unsigned int zone_stats_read(struct zone_stats *out, unsigned int max)
{
	unsigned int n = 0;

	buddy_core_init();
	for_each_zone(zone) {
		if (n == max)
			break;
		zone_lock(zone);
		if (populated_zone(zone)) {
			out[n].name = zone->name;
			out[n].node = zone->node;
			out[n].managed_pages = zone->managed_pages;
			out[n].resident_pages = zone_resident_pages(zone);
			out[n].free = zone_page_free(zone);
			for (int w = 0; w < NR_WMARK; w++)
				out[n].watermark[w] = wmark_pages(zone, w);
			for (int j = 0; j < MAX_NR_ZONES; j++)
				out[n].protection[j] = zone->lowmem_reserve[j];
			out[n].present_pages = zone->present_pages;
			out[n].nr_free_pages = zone->nr_free_pages;
			out[n].nr_released = zone->nr_released;
			out[n].nr_wrong_type_pageblocks =
				CMM_LOAD_SHARED(zone->nr_wrong_type_pageblocks);
			for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
				out[n].nr_free[o] = zone->free_area[o].nr_free;
			n++;
		}
		zone_unlock(zone);
	}
	return n;
}

bool zone_type_stats_read(unsigned int i, struct zone_type_stats *out)
{
	buddy_core_init();
	for_each_zone(zone) {
		struct zone_snapshot snap;

		if (!populated_zone(zone) || i--)
			continue;
		take_snapshot(zone, &snap);
		memcpy(out->type_free, snap.type_free, sizeof(out->type_free));
		memcpy(out->blocks, snap.blocks, sizeof(out->blocks));
		return true;
	}
	return false;
}

unsigned int pcp_cpu_pages_read(unsigned long *out, unsigned int max_cpus)
{
	struct pcp_stats pcp[MAX_PCP_STATS];
	unsigned int nr = 0;

	buddy_core_init();
	for (unsigned int cpu = 0; cpu < max_cpus; cpu++)
		out[cpu] = 0;
	for_each_zone(zone) {
		unsigned int n = pcp_stats_read(zone, pcp,
				max_cpus < MAX_PCP_STATS ? max_cpus : MAX_PCP_STATS);

		for (unsigned int i = 0; i < n; i++)
			out[pcp[i].cpu] += pcp[i].count;
		if (n > nr)
			nr = n;
	}
	return nr;
}

void buddyinfo_show(struct seq_buf *s)
{
	buddy_core_init();
	for_each_zone(zone) {
		struct zone_snapshot snap;

		if (!populated_zone(zone))
			continue;
		take_snapshot(zone, &snap);
		seq_buf_printf(s, "Node %d, zone %8s ", zone->node, zone->name);
		for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++)
			seq_buf_printf(s, "%6lu ", snap.nr_free[order]);
		seq_buf_putc(s, '\n');
	}
}

void pagetypeinfo_show(struct seq_buf *s)
{
	buddy_core_init();
	seq_buf_printf(s, "Page block order: %d\n", pageblock_order);
	seq_buf_printf(s, "Pages per block:  %lu\n", pageblock_nr_pages);
	seq_buf_putc(s, '\n');

	seq_buf_printf(s, "%-43s ", "Free pages count per migrate type at order");
	for (int order = 0; order < NR_PAGE_ORDERS; order++)
		seq_buf_printf(s, "%6d ", order);
	seq_buf_putc(s, '\n');
	for_each_zone(zone) {
		struct zone_snapshot snap;

		if (!populated_zone(zone))
			continue;
		take_snapshot(zone, &snap);
		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			seq_buf_printf(s, "Node %4d, zone %8s, type %12s ",
				       zone->node, zone->name, migratetype_name(mt));
			for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++)
				seq_buf_printf(s, "%6lu ", snap.type_free[mt][order]);
			seq_buf_putc(s, '\n');
		}
	}

	seq_buf_printf(s, "\n%-23s", "Number of blocks type ");
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		seq_buf_printf(s, "%12s ", migratetype_name(mt));
	seq_buf_putc(s, '\n');
	for_each_zone(zone) {
		struct zone_snapshot snap;

		if (!populated_zone(zone))
			continue;
		take_snapshot(zone, &snap);
		seq_buf_printf(s, "Node %d, zone %8s ", zone->node, zone->name);
		for (int mt = 0; mt < MIGRATE_TYPES; mt++)
			seq_buf_printf(s, "%12lu ", snap.blocks[mt]);
		seq_buf_putc(s, '\n');
	}
}

/*
 * The /proc/zoneinfo layout (mm/vmstat.c's zoneinfo_show_print), for every
 * zone, populated or not, as the kernel prints them: "pages free" is the
 * budget the zone has left (negative when an allocation that may not fail
 * went past it), spanned and present the pages of its sections, managed
 * its share of the budget, protection its lowmem_reserve for each
 * allocation's highest zone; then the free-list counters. Each zone's
 * per-CPU page lists ("  pagesets") follow its counters.
 */
/* The "pagesets" part of a zone's zoneinfo: each CPU's pcp lists. */

static void zone_pagesets_show(struct seq_buf *s, const struct zone *zone)
{
	struct pcp_stats pcp[MAX_PCP_STATS];
	unsigned int n = pcp_stats_read(zone, pcp, MAX_PCP_STATS);

	seq_buf_puts(s, "\n  pagesets");
	for (unsigned int i = 0; i < n; i++)
		seq_buf_printf(s, "\n    cpu: %u"
			       "\n              count: %u"
			       "\n              high:  %u"
			       "\n              batch: %u",
			       pcp[i].cpu, pcp[i].count, pcp[i].high,
			       pcp[i].batch);
}

void zoneinfo_show(struct seq_buf *s)
{
	buddy_core_init();
	for_each_zone(zone) {
		unsigned long present, nr_free, released, reserved, wrong;

		zone_lock(zone);
		present = zone->present_pages;
		nr_free = zone->nr_free_pages;
		released = zone->nr_released;
		reserved = zone->nr_reserved_highatomic;
		wrong = CMM_LOAD_SHARED(zone->nr_wrong_type_pageblocks);
		zone_unlock(zone);

		seq_buf_printf(s, "Node %d, zone %8s", zone->node, zone->name);
		seq_buf_printf(s, "\n  pages free     %ld", zone_page_free(zone));
		seq_buf_printf(s, "\n        min      %lu", min_wmark_pages(zone));
		seq_buf_printf(s, "\n        low      %lu", low_wmark_pages(zone));
		seq_buf_printf(s, "\n        high     %lu", high_wmark_pages(zone));
		seq_buf_printf(s, "\n        spanned  %lu", present);
		seq_buf_printf(s, "\n        present  %lu", present);
		seq_buf_printf(s, "\n        managed  %lu", zone->managed_pages);
		seq_buf_puts(s, "\n        protection: (");
		for (int j = 0; j < MAX_NR_ZONES; j++)
			seq_buf_printf(s, j ? ", %lu" : "%lu",
				       zone->lowmem_reserve[j]);
		seq_buf_putc(s, ')');
		seq_buf_printf(s, "\n      nr_free_pages %lu", nr_free);
		seq_buf_printf(s, "\n      nr_released %lu", released);
		seq_buf_printf(s, "\n      nr_zone_resident %lu",
			       zone_resident_pages(zone));
		seq_buf_printf(s, "\n      nr_reserved_highatomic %lu", reserved);
		seq_buf_printf(s, "\n      nr_wrong_type_pageblocks %lu", wrong);
		zone_pagesets_show(s, zone);
		seq_buf_putc(s, '\n');
	}
}
