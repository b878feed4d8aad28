/*
 * zone.c - nodes, zones and zonelists, and the core's one-time set-up.
 */

#include "internal.h"

struct core_config core_config;

pg_data_t node_data[MAX_NUMNODES];

/*
 * The machine's memory is one node until the fake-NUMA setting splits it;
 * every thread allocates from node 0's zonelist.
 */
int nr_node_ids = 1;

static const char *const zone_names[MAX_NR_ZONES] = {
	[ZONE_LOW32] = "Low32",
	[ZONE_NORMAL] = "Normal",
};

static const char *const migratetype_names[MIGRATE_TYPES] = {
	"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate",
};

const char *migratetype_name(int migratetype)
{
	return migratetype_names[migratetype];
}

int numa_node_id(void)
{
	return 0;
}

enum zone_type gfp_zone(gfp_t gfp)
{
	return (gfp & __GFP_LOW32) ? ZONE_LOW32 : ZONE_NORMAL;
}

/* MIGRATE_MOVABLE == __GFP_MOVABLE and MIGRATE_RECLAIMABLE ==
 * __GFP_RECLAIMABLE, so the type is the bits themselves (the kernel's
 * GFP_MOVABLE_SHIFT trick with a shift of 0). */
int gfp_migratetype(gfp_t gfp)
{
	_Static_assert(__GFP_MOVABLE == MIGRATE_MOVABLE &&
		       __GFP_RECLAIMABLE == MIGRATE_RECLAIMABLE,
		       "gfp lifetime bits are the migrate types");
	return (int)(gfp & GFP_MOVABLE_MASK);
}

/* low32_hint survives: the slots below 4 GiB it has passed are still
 * mapped (by old sections) or were refused. */
void zone_reset(struct zone *zone)
{
	pthread_mutex_init(&zone->lock, NULL);
	pthread_mutex_init(&zone->grow_lock, NULL);
	for (unsigned int order = 0; order < NR_PAGE_ORDERS; order++) {
		for (int mt = 0; mt < MIGRATE_TYPES; mt++)
			CDS_INIT_LIST_HEAD(&zone->free_area[order].free_list[mt]);
		zone->free_area[order].nr_free = 0;
	}
	zone->nr_free_pages = 0;
	zone->nr_released = 0;
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		zone->nr_free_type[mt] = 0;
	zone->nr_reserved_highatomic = 0;
	zone->present_pages = 0;
	zone->nr_sections = 0;
	zone->sections = NULL;
}

static void zone_init(struct zone *zone, int nid, enum zone_type idx)
{
	zone->name = zone_names[idx];
	zone->zone_idx = idx;
	zone->node = nid;
	zone->max_sections = core_config.zone_max_sections[idx];
	zone_reset(zone);
	zone_pcp_init(zone);
}

/*
 * Zonelist of a node: its own zones from the highest down (an allocation
 * that may use NORMAL falls back to LOW32 only when NORMAL cannot grow),
 * then the other nodes' zones in the same order.
 */
static void build_zonelist(pg_data_t *pgdat)
{
	struct zone **z = pgdat->node_zonelist.zones;

	for (int i = 0; i < nr_node_ids; i++) {
		pg_data_t *node = NODE_DATA((pgdat->node_id + i) % nr_node_ids);

		for (int idx = MAX_NR_ZONES - 1; idx >= 0; idx--)
			*z++ = &node->node_zones[idx];
	}
	*z = NULL;
}

static void core_init_once(void)
{
	if (os_page_size() != (long)PAGE_SIZE) {
		static const char msg[] =
			"buddymalloc: the page size is not 4096 bytes; unsupported\n";

		os_write(2, msg, sizeof(msg) - 1);
		os_abort();
	}
	for (int nid = 0; nid < nr_node_ids; nid++) {
		pg_data_t *pgdat = NODE_DATA(nid);

		pgdat->node_id = nid;
		for (int idx = 0; idx < MAX_NR_ZONES; idx++)
			zone_init(&pgdat->node_zones[idx], nid, idx);
	}
	for (int nid = 0; nid < nr_node_ids; nid++)
		build_zonelist(NODE_DATA(nid));
}

static pthread_once_t core_once = PTHREAD_ONCE_INIT;

void buddy_core_init(void)
{
	pthread_once(&core_once, core_init_once);
}
