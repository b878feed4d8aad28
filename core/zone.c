/*
 * zone.c - nodes, zones and zonelists, and the core's one-time set-up.
 *
 * Nodes. Each node (pg_data_t) has its own NORMAL and LOW32 zones, each
 * with its own lock, free lists and sections, and a zonelist: the node's
 * own zones first (NORMAL, then LOW32), then every other node's in node
 * order after it (the kernel's node-ordered zonelist). An allocation takes
 * the zonelist of the node of the CPU it runs on (numa_node_id()), so it
 * is served locally while the local zones can serve or grow, and falls
 * back to the other nodes after. A free goes back to the zone the block
 * came from, whichever CPU frees it.
 *
 * Where the nodes come from, once, at buddy_core_init():
 *
 *   real     /sys/devices/system/node/online lists the machine's nodes and
 *            nodeN/cpulist the CPUs of each. With two or more online nodes
 *            (at most MAX_NUMNODES, ids below 64) each becomes one of ours,
 *            in id order, and a section is bound to its real node with
 *            mbind(MPOL_PREFERRED) when it is onlined, before its first
 *            touch places any page. With one node, or no sysfs (a kernel
 *            without NUMA), or more nodes than we keep, the machine is one
 *            node and nothing is bound. Nodes that come online later, and
 *            CPUs hot-added later, are not seen (their CPUs use node 0).
 *   numa_fake:N  (core_config.numa_fake, BUDDYMALLOC_CONF) splits the
 *            machine into N nodes, whatever its real topology, so that node
 *            fallback runs and is tested on any machine. Like the kernel's
 *            numa=fake=N, fake node f sits on real node f mod R (R real
 *            nodes, interleaved) and its sections are bound there: on a
 *            one-node machine every fake node sits on node 0, where the
 *            binding changes no placement but the mbind path still runs.
 *            Unlike the kernel's (x86 maps each CPU to the first fake node
 *            on its real node, leaving the others without CPUs), CPUs are
 *            dealt round-robin among the fake nodes on their real node, in
 *            CPU-number order: on one real node, CPU c is on fake node
 *            c mod N, so a test reaches each node by pinning a thread. When
 *            N < R, the CPUs of real node index i (no fake node on it) go
 *            to fake node i mod N.
 *
 * CPUs are mapped to nodes by a table of NR_CPUS (1024) entries: a CPU
 * numbered at or above it is node 0's; a CPU in no node's cpulist at init
 * (offline then) counts as one of the first real node's.
 *
 * Cost: numa_node_id() is on every page allocation. With one node it is a
 * load and a predicted branch; with several, a load of the rseq area's
 * cpu_id and one of the table.
 *
 * Each zone keeps its own limit (zone_max_sections), lock and free lists;
 * with N nodes there are N times as many zones. Per-node work and shares
 * use nr_online_nodes and for_each_online_node() (internal.h).
 */

#include "internal.h"

/* The kernel's defaults for the watermark settings (budget.c). */
struct core_config core_config = {
	.watermark_scale_factor = 10,
	.lowmem_reserve_ratio = 256,
	.decay_ms = DECAY_MS_DEFAULT,
	.reclaim_threads = RECLAIM_THREADS_DEFAULT,
	.lifetime_ms = LIFETIME_MS_DEFAULT,
};

pg_data_t node_data[MAX_NUMNODES];

int nr_node_ids = 1;

uint8_t cpu_to_node_map[NR_CPUS];

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

enum zone_type gfp_zone(gfp_t gfp)
{
	return (gfp & __GFP_LOW32) ? ZONE_LOW32 : ZONE_NORMAL;
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
	zone->nr_isolate_pageblock = 0;
	zone->nr_wrong_type_pageblocks = 0;
	zone->retype_last_scan = 0;
	zone->retype_waiting = false;
	zone->retype_long_room = 0;
	zone->present_pages = 0;
	zone->nr_sections = 0;
	zone->meta_pages = 0;
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

/* ------------------------------------------------------------- topology */

/* Where the topology is read: sysfs, or a test's tree of the same shape. */
#define SYSFS_SYSTEM	"/sys/devices/system/"

#ifdef BUDDY_TEST_HOOKS
const char *test_sysfs_root;
#endif

static const char *sysfs_root(void)
{
#ifdef BUDDY_TEST_HOOKS
	if (test_sysfs_root)
		return test_sysfs_root;
#endif
	return SYSFS_SYSTEM;
}

static char *path_put(char *p, char *end, const char *text)
{
	while (*text && p < end)
		*p++ = *text++;
	return p;
}

/* The root, head, id in decimal (none if negative), tail: built without
 * stdio. false if it does not fit in size bytes. */
static bool sysfs_path(char *path, size_t size, const char *head, int id,
		       const char *tail)
{
	char *p = path, *end = path + size - 1;
	char digits[12];
	int n = 0;

	p = path_put(p, end, sysfs_root());
	p = path_put(p, end, head);
	if (id >= 0) {
		do
			digits[n++] = (char)('0' + id % 10);
		while ((id /= 10) != 0);
		while (n && p < end)
			*p++ = digits[--n];
	}
	p = path_put(p, end, tail);
	if (p == end)
		return false;
	*p = '\0';
	return true;
}

#define SYSFS_PATH_MAX	512

/* Decimal digits at *s, capped at 1000000 (more than any id we take). */
static const char *list_number(const char *s, unsigned int *v)
{
	for (*v = 0; *s >= '0' && *s <= '9'; s++)
		if (*v < 1000000)
			*v = *v * 10 + (unsigned int)(*s - '0');
	return s;
}

/*
 * One range "a" or "a-b" of a sysfs list such as "0-3,8,10-11\n". Returns
 * where the next range starts, or NULL at the end or on text that is not a
 * list.
 */
static const char *list_next_range(const char *s, unsigned int *lo,
				   unsigned int *hi)
{
	if (*s == ',')
		s++;
	if (*s < '0' || *s > '9')
		return NULL;
	s = list_number(s, lo);
	*hi = *lo;
	if (*s == '-') {
		s++;
		if (*s < '0' || *s > '9')
			return NULL;
		s = list_number(s, hi);
	}
	if (*hi < *lo || (*s != ',' && *s != '\n' && *s != '\0'))
		return NULL;
	return s;
}

#define for_each_list_range(s, lo, hi)					\
	for (const char *__p = (s);					\
	     (__p = list_next_range(__p, &(lo), &(hi))) != NULL;)

/* 256 bytes hold the cpulist of any node of up to NR_CPUS CPUs in
 * contiguous runs; a longer list is cut and its last CPUs stay node 0's. */
static char list_buf[256];

/* The file at root + head + id + tail in list_buf; false if unreadable. */
static bool read_list(const char *head, int id, const char *tail)
{
	char path[SYSFS_PATH_MAX];

	return sysfs_path(path, sizeof(path), head, id, tail) &&
	       os_read_file(path, list_buf, sizeof(list_buf)) >= 0;
}

/*
 * The online real nodes, in id order, into real[]; returns how many: 0
 * without sysfs (or with a list we cannot read), -1 when there are more
 * than MAX_NUMNODES or an id of 64 or more (os_bind_node() takes one word
 * of mask).
 */
static int read_real_nodes(int real[MAX_NUMNODES])
{
	unsigned int lo, hi;
	int nr = 0;

	if (!read_list("node/online", -1, ""))
		return 0;
	for_each_list_range(list_buf, lo, hi) {
		if (hi >= 64 || (int)(hi - lo) >= MAX_NUMNODES - nr)
			return -1;
		for (unsigned int n = lo; n <= hi; n++)
			real[nr++] = (int)n;
	}
	return nr;
}

/* real_of_cpu[cpu]: index in real[] of the CPU's real node, 0 if none;
 * cpu_listed[cpu]: the CPU is online (in a cpulist) at init. */
static uint8_t real_of_cpu[NR_CPUS];
static bool cpu_listed[NR_CPUS];

static void mark_cpus(const char *list, int real_index)
{
	unsigned int lo, hi;

	for_each_list_range(list, lo, hi) {
		for (unsigned int cpu = lo; cpu <= hi && cpu < NR_CPUS; cpu++) {
			real_of_cpu[cpu] = (uint8_t)real_index;
			cpu_listed[cpu] = true;
		}
	}
}

/* Each real node's CPUs; without nodes in sysfs, the online CPUs are all
 * on the one node. */
static void read_node_cpus(const int *real, int nr_real)
{
	if (nr_real <= 0) {
		if (read_list("cpu/online", -1, ""))
			mark_cpus(list_buf, 0);
		return;
	}
	for (int i = 0; i < nr_real; i++)
		if (read_list("node/node", real[i], "/cpulist"))
			mark_cpus(list_buf, i);
}

/* The machine's own nodes: real node real[i] is our node i. */
static void numa_init_real(const int *real, int nr_real)
{
	nr_node_ids = nr_real;
	for (int nid = 0; nid < nr_real; nid++)
		NODE_DATA(nid)->bind_node = real[nid];
	for (int cpu = 0; cpu < NR_CPUS; cpu++)
		cpu_to_node_map[cpu] = real_of_cpu[cpu];
}

/*
 * nr_fake fake nodes over nr_real real ones (nr_real 0: no sysfs, one
 * unbindable node): fake node f on real node f mod nr_real; the CPUs of a
 * real node dealt round-robin among the fake nodes on it.
 */
static void numa_init_fake(const int *real, int nr_real, int nr_fake)
{
	unsigned int dealt[MAX_NUMNODES] = { 0 };
	int r = nr_real > 0 ? nr_real : 1;

	nr_node_ids = nr_fake;
	for (int nid = 0; nid < nr_fake; nid++)
		NODE_DATA(nid)->bind_node = nr_real > 0 ? real[nid % r] : -1;
	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		int ri = real_of_cpu[cpu];
		/* fake nodes ri, ri + r, ri + 2r, ... below nr_fake */
		int on_real = ri < nr_fake ? (nr_fake - ri + r - 1) / r : 0;

		if (on_real == 0)
			cpu_to_node_map[cpu] = (uint8_t)(ri % nr_fake);
		else
			cpu_to_node_map[cpu] = (uint8_t)(ri +
				(int)(dealt[ri]++ % (unsigned int)on_real) * r);
	}
}

/* Everything numa_init() sets, to its state before any reading. */
static void numa_reset(void)
{
	nr_node_ids = 1;
	for (int cpu = 0; cpu < NR_CPUS; cpu++) {
		cpu_to_node_map[cpu] = 0;
		real_of_cpu[cpu] = 0;
		cpu_listed[cpu] = false;
	}
	for (int nid = 0; nid < MAX_NUMNODES; nid++) {
		NODE_DATA(nid)->bind_node = -1;
		NODE_DATA(nid)->nr_cpus = 0;
	}
}

void numa_init(void)
{
	int real[MAX_NUMNODES];
	int nr_real;

	numa_reset();
	nr_real = read_real_nodes(real);
	read_node_cpus(real, nr_real);
	if (core_config.numa_fake >= 1 && core_config.numa_fake <= MAX_NUMNODES)
		numa_init_fake(real, nr_real < 0 ? 0 : nr_real,
			       (int)core_config.numa_fake);
	else if (nr_real > 1)
		numa_init_real(real, nr_real);
	/* else one node: the map stays all zero */
	for (int cpu = 0; cpu < NR_CPUS; cpu++)
		if (cpu_listed[cpu])
			NODE_DATA(cpu_to_node_map[cpu])->nr_cpus++;
}

/* ----------------------------------------------------------------- init */

static void core_init_once(void)
{
	if (os_page_size() != (long)PAGE_SIZE) {
		static const char msg[] =
			"buddymalloc: the page size is not 4096 bytes; unsupported\n";

		os_write(2, msg, sizeof(msg) - 1);
		os_abort();
	}
	numa_init();
	for (int nid = 0; nid < nr_node_ids; nid++) {
		pg_data_t *pgdat = NODE_DATA(nid);

		pgdat->node_id = nid;
		kswapd_node_init(pgdat);
		for (int idx = 0; idx < MAX_NR_ZONES; idx++)
			zone_init(&pgdat->node_zones[idx], nid, idx);
	}
	for (int nid = 0; nid < nr_node_ids; nid++)
		build_zonelist(NODE_DATA(nid));
	budget_init();
}

static pthread_once_t core_once = PTHREAD_ONCE_INIT;

void buddy_core_init(void)
{
	pthread_once(&core_once, core_init_once);
}
