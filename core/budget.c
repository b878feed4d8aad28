/*
 * budget.c - memory as a managed resource: the budget, each zone's share
 * of it (managed pages), the watermarks and lowmem_reserve, computed as the
 * kernel's mm/page_alloc.c computes them from its physical memory.
 *
 * The budget is what the allocator may hold resident: core_config.limit
 * (BUDDYMALLOC_CONF=limit), else the cgroup v2 memory.max of the process,
 * else physical memory. Everything resident counts: pages in use, free
 * pages not yet given back, pages on the pcp lists (all three are the
 * zones' present - nr_released, see resident.c), the descriptors of each
 * zone's sections (zone->meta_pages, counted whole), direct mappings
 * (huge.c, counted whole) and the allocator's other mappings
 * (os_meta_bytes(), counted whole). free = budget - resident, per zone:
 *
 *	zone_page_free(zone) = managed_pages - resident pages of the zone
 *
 * where the direct mappings and other metadata, which belong to no zone,
 * are charged to each node's highest zone (NORMAL) in equal parts. Sections are
 * address space: onlining one makes nothing resident (its pages are all
 * released), so the budget is checked where pages are taken
 * (get_page_from_freelist, the in-place growth of an allocation, huge
 * mappings), not where sections come online.
 *
 * The split: each node gets budget / nr_node_ids; of that LOW32 gets
 * 1/LOW32_SHARE, at most LOW32_MAX_BYTES (a few callers need 32-bit
 * addresses, and below 4 GiB there are only 3 GiB of address space to map
 * from), NORMAL the rest. An allocation that may use NORMAL falls back to
 * LOW32 down to LOW32's lowmem_reserve, so NORMAL requests reach most of
 * LOW32's share too, as on a kernel with ZONE_DMA32.
 */
#include "internal.h"

#define LOW32_SHARE		16
#define LOW32_MAX_BYTES		(1UL << 30)

/* The kernel's bounds on the computed min_free_kbytes. */
#define MIN_FREE_KBYTES_MIN	128UL
#define MIN_FREE_KBYTES_MAX	262144UL

static unsigned long budget_total_pages;
static const char *budget_from = "physical";

/* The core is initialised: the zones exist and may be recomputed. */
static bool budget_ready;

static unsigned long int_sqrt(unsigned long x)
{
	unsigned long r = 0, bit = 1UL << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* The budget in pages, and its source: the limit, else the cgroup's
 * memory.max, else physical memory. */
static unsigned long compute_budget(const char **from)
{
	size_t bytes = core_config.limit;

	*from = "limit";
	if (!bytes) {
		bytes = os_cgroup_memory_max();
		*from = "cgroup";
	}
	if (!bytes) {
		*from = "physical";
		return os_phys_pages();
	}
	return bytes >> PAGE_SHIFT;
}

/* Each node's zones share budget / nr_node_ids: LOW32 a bounded part,
 * NORMAL the rest. */
static void setup_managed_pages(unsigned long total)
{
	unsigned long per_node = total / (unsigned long)nr_node_ids;
	unsigned long low32 = per_node / LOW32_SHARE;

	if (low32 > (LOW32_MAX_BYTES >> PAGE_SHIFT))
		low32 = LOW32_MAX_BYTES >> PAGE_SHIFT;
	for (int nid = 0; nid < nr_node_ids; nid++) {
		struct zone *zones = NODE_DATA(nid)->node_zones;

		CMM_STORE_SHARED(zones[ZONE_LOW32].managed_pages, low32);
		CMM_STORE_SHARED(zones[ZONE_NORMAL].managed_pages,
				 per_node - low32);
	}
}

/* calculate_min_free_kbytes(): sqrt(budget in KiB * 16), clamped; the
 * setting wins when given. */
static unsigned long min_free_kbytes(unsigned long total)
{
	unsigned long kbytes;

	if (core_config.min_free_kbytes)
		return core_config.min_free_kbytes;
	kbytes = int_sqrt(total * (PAGE_SIZE >> 10) * 16);
	if (kbytes < MIN_FREE_KBYTES_MIN)
		kbytes = MIN_FREE_KBYTES_MIN;
	if (kbytes > MIN_FREE_KBYTES_MAX)
		kbytes = MIN_FREE_KBYTES_MAX;
	return kbytes;
}

/*
 * setup_per_zone_wmarks_for(): the min marks share min_free_kbytes in
 * proportion to managed pages; low and high lie above min by a quarter of
 * min or watermark_scale_factor / 10000 of the zone, whichever is more.
 */
static void setup_per_zone_wmarks_for(unsigned long total)
{
	unsigned long pages_min = min_free_kbytes(total) >> (PAGE_SHIFT - 10);
	unsigned long scale = core_config.watermark_scale_factor;

	for_each_zone(zone) {
		unsigned long managed = zone->managed_pages;
		unsigned long min = total ? pages_min * managed / total : 0;
		unsigned long gap = managed * scale / 10000;

		if (gap < min / 4)
			gap = min / 4;
		CMM_STORE_SHARED(zone->_watermark[WMARK_MIN], min);
		CMM_STORE_SHARED(zone->_watermark[WMARK_LOW], min + gap);
		CMM_STORE_SHARED(zone->_watermark[WMARK_HIGH], min + 2 * gap);
	}
}

/*
 * setup_per_zone_lowmem_reserve(): a zone keeps back from an allocation
 * that may use zones up to j the managed pages of the zones above it up to
 * j, divided by the ratio (LOW32's protection from NORMAL requests).
 */
static void setup_per_zone_lowmem_reserve(void)
{
	unsigned long ratio = core_config.lowmem_reserve_ratio;

	for (int nid = 0; nid < nr_node_ids; nid++) {
		struct zone *zones = NODE_DATA(nid)->node_zones;

		for (int i = 0; i < MAX_NR_ZONES; i++) {
			unsigned long above = 0;

			CMM_STORE_SHARED(zones[i].lowmem_reserve[i], 0);
			for (int j = i + 1; j < MAX_NR_ZONES; j++) {
				above += zones[j].managed_pages;
				CMM_STORE_SHARED(zones[i].lowmem_reserve[j],
						 ratio ? above / ratio : 0);
			}
		}
	}
}

static void budget_setup(void)
{
	const char *from;
	unsigned long total = compute_budget(&from);

	CMM_STORE_SHARED(budget_total_pages, total);
	CMM_STORE_SHARED(budget_from, from);
	setup_managed_pages(total);
	setup_per_zone_wmarks_for(total);
	setup_per_zone_lowmem_reserve();
}

/* From core_init_once(), after the zones are set up. */
void budget_init(void)
{
	budget_setup();
	CMM_STORE_SHARED(budget_ready, true);
}

/* Setters may race with each other; the last one's values win for each
 * field, and every field is a word stored whole. */
void setup_per_zone_wmarks(void)
{
	if (CMM_LOAD_SHARED(budget_ready))
		budget_setup();
}

unsigned long totalram_pages(void)
{
	buddy_core_init();
	return CMM_LOAD_SHARED(budget_total_pages);
}

const char *budget_source(void)
{
	buddy_core_init();
	return CMM_LOAD_SHARED(budget_from);
}

/* Direct mappings and metadata: resident pages outside every zone. */
static unsigned long outside_zone_pages(void)
{
	return huge_mapped_pages() +
	       ((os_meta_bytes() + PAGE_SIZE - 1) >> PAGE_SHIFT);
}

unsigned long zone_resident_pages(const struct zone *zone)
{
	unsigned long resident = CMM_LOAD_SHARED(zone->present_pages) -
				 CMM_LOAD_SHARED(zone->nr_released) +
				 CMM_LOAD_SHARED(zone->meta_pages);

	if (zone->zone_idx == MAX_NR_ZONES - 1)
		resident += outside_zone_pages() / (unsigned long)nr_node_ids;
	return resident;
}

long zone_page_free(const struct zone *zone)
{
	return (long)CMM_LOAD_SHARED(zone->managed_pages) -
	       (long)zone_resident_pages(zone);
}

unsigned long global_resident_pages(void)
{
	unsigned long resident = outside_zone_pages();

	for_each_zone(zone)
		resident += CMM_LOAD_SHARED(zone->present_pages) -
			    CMM_LOAD_SHARED(zone->nr_released) +
			    CMM_LOAD_SHARED(zone->meta_pages);
	/* Pages inside allocated blocks their owner gave back (slab's free
	 * pages): counted here, not per zone (the count is global). */
	return resident - pages_released_in_use();
}
