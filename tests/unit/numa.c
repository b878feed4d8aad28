/*
 * numa.c - nodes (core/zone.c) with numa_fake 2: the machine split into two
 * nodes, CPUs dealt round-robin. A thread pinned to a CPU of node n
 * allocates from node n's zones; when node n's zones can neither serve nor
 * grow (each zone may online one section here), the allocation falls back
 * along node n's zonelist to the other node; a free goes back to the zone
 * the block came from, whichever CPU frees it; sections are bound (mbind)
 * to the real node the fake one sits on; buddyinfo and pagetypeinfo print
 * each node's zones in the kernel's layouts, node 0's rows first.
 *
 * Pinning uses sched_setaffinity, which returns once the thread runs on an
 * allowed CPU, so which CPU allocates is decided, not hoped for. Skipped
 * when this process may not run on a CPU of each node (one CPU online, or
 * an affinity mask that allows only one node's CPUs).
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/mempolicy.h>

#include "layout.h"
#include "report_lines.h"
#include "unit_util.h"

#define NR_FAKE	2
#define BLOCKS_PER_SECTION	(PAGES_PER_SECTION / MAX_ORDER_NR_PAGES)

/* Every zone of every node may online one section. */
#define MAX_BLOCKS	(NR_FAKE * MAX_NR_ZONES * BLOCKS_PER_SECTION)

static cpu_set_t allowed;		/* the affinity the test started with */
static int node_cpu[NR_FAKE];		/* an allowed CPU of each node, or -1 */

static struct zone *node_zone(int nid, enum zone_type idx)
{
	return &NODE_DATA(nid)->node_zones[idx];
}

/* One allowed CPU of each node, from the map the core built. */
static bool find_node_cpus(void)
{
	bool all = true;

	for (int nid = 0; nid < NR_FAKE; nid++)
		node_cpu[nid] = -1;
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < NR_CPUS; cpu++) {
		int nid = cpu_to_node(cpu);

		if (CPU_ISSET(cpu, &allowed) && nid < NR_FAKE &&
		    node_cpu[nid] < 0)
			node_cpu[nid] = cpu;
	}
	for (int nid = 0; nid < NR_FAKE; nid++)
		all = all && node_cpu[nid] >= 0;
	return all;
}

/* Run this thread on node nid's CPU from now on. */
static void pin_to_node(int nid)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(node_cpu[nid], &set);
	assert_d_eq(sched_setaffinity(0, sizeof(set), &set), 0,
		    "pin to CPU %d (node %d)", node_cpu[nid], nid);
	assert_d_eq(sched_getcpu(), node_cpu[nid], "running on CPU %d",
		    node_cpu[nid]);
}

static void unpin(void)
{
	expect_d_eq(sched_setaffinity(0, sizeof(allowed), &allowed), 0,
		    "affinity restored");
}

/* How many real nodes the machine has (sysfs "online": "0" is one). */
static int real_nodes_online(void)
{
	char buf[64] = "";
	FILE *f = fopen("/sys/devices/system/node/online", "r");

	if (!f)
		return 1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strcmp(buf, "0\n") == 0 ? 1 : 2;
}

/* Both checkers over every zone of every node, nothing held. */
static void expect_all_whole(const char *what)
{
	expect_lu_eq(core_check_diag(), 0, "core checker, %s", what);
	for_each_zone(zone) {
		expect_lu_eq(mc_check_zone(zone, NULL, 0,
					   MC_LIVE_COMPLETE | MC_SCAN_PAGES,
					   mc_report_diag, "model check"),
			     0, "model checker, node %d %s, %s", zone->node,
			     zone->name, what);
		if (populated_zone(zone))
			expect_pristine(zone, what);
	}
}

TEST_BEGIN(test_topology)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int cpus = 0;

	buddy_core_init();
	assert_d_eq(nr_node_ids, NR_FAKE, "numa_fake 2 makes two nodes");
	expect_d_eq(nr_online_nodes, NR_FAKE, "both online");
	for_each_online_node(nid) {
		pg_data_t *pgdat = NODE_DATA(nid);
		struct zone **z = pgdat->node_zonelist.zones;
		int other = 1 - nid;

		expect_d_eq(pgdat->node_id, nid, "node id");
		cpus += pgdat->nr_cpus;
		/* The node's own zones, highest first, then the other's. */
		expect_ptr_eq(z[0], node_zone(nid, ZONE_NORMAL), "node %d: 1st", nid);
		expect_ptr_eq(z[1], node_zone(nid, ZONE_LOW32), "node %d: 2nd", nid);
		expect_ptr_eq(z[2], node_zone(other, ZONE_NORMAL), "node %d: 3rd", nid);
		expect_ptr_eq(z[3], node_zone(other, ZONE_LOW32), "node %d: 4th", nid);
		expect_ptr_null(z[4], "node %d: zonelist ends", nid);
		for (int idx = 0; idx < MAX_NR_ZONES; idx++)
			expect_d_eq(node_zone(nid, idx)->node, nid, "zone's node");
	}
	expect_u_eq(cpus, (unsigned int)online,
		    "every online CPU is on one node");
	if (real_nodes_online() == 1) {
		/* One real node: round-robin, and both sit on node 0. */
		for (int cpu = 0; cpu < NR_CPUS; cpu++)
			if (cpu_to_node(cpu) != cpu % NR_FAKE)
				test_fail("CPU %d on node %d, not %d", cpu,
					  cpu_to_node(cpu), cpu % NR_FAKE);
		for_each_online_node(nid)
			expect_d_eq(NODE_DATA(nid)->bind_node, 0,
				    "fake node %d sits on real node 0", nid);
	}
	expect_d_eq(cpu_to_node(NR_CPUS), 0, "a CPU beyond the map: node 0");
}
TEST_END

/* A page of each zone type for a thread on node nid, freed on the other
 * node's CPU: it comes from node nid and goes back there. */
static void local_alloc_free(int nid)
{
	static const gfp_t gfps[MAX_NR_ZONES] = {
		[ZONE_NORMAL] = 0, [ZONE_LOW32] = __GFP_LOW32,
	};

	for (int idx = 0; idx < MAX_NR_ZONES; idx++) {
		struct zone *local = node_zone(nid, idx);
		struct zone *remote = node_zone(1 - nid, idx);
		struct zone_counts before, after;
		struct page *page;

		pin_to_node(nid);
		expect_d_eq(numa_node_id(), nid, "numa_node_id() on CPU %d",
			    node_cpu[nid]);
		page = alloc_pages(gfps[idx], 0);
		assert_ptr_not_null(page, "allocation on node %d", nid);
		expect_d_eq(page_zone(page)->node, nid,
			    "an allocation on CPU %d (node %d) comes from node %d",
			    node_cpu[nid], nid, nid);
		expect_ptr_eq(page_zone(page), local, "from node %d's %s zone",
			      nid, local->name);

		zone_counts(local, &before);
		pin_to_node(1 - nid);
		expect_true(free_pages_checked(page, 0), "free on the other node");
		zone_counts(local, &after);
		expect_lu_eq(after.nr_free_pages, before.nr_free_pages + 1,
			     "the page went back to node %d's %s zone", nid,
			     local->name);
		expect_pristine(local, "after the free");
		if (populated_zone(remote))
			expect_pristine(remote, "untouched");
	}
}

TEST_BEGIN(test_allocations_come_from_the_running_cpus_node)
{
	test_skip_if(!find_node_cpus());
	local_alloc_free(0);
	local_alloc_free(1);
	unpin();
	expect_all_whole("after local allocations");
}
TEST_END

static struct page *blocks[MAX_BLOCKS + 1];

/*
 * On node nid, max-order blocks until every zone is full: node nid's
 * NORMAL, then its LOW32 (its own zones first), then the other node's
 * NORMAL and LOW32; then nothing. All freed from the other node's CPU.
 */
static void fill_and_fall_back(int nid)
{
	const int order[] = { nid, nid, 1 - nid, 1 - nid };
	const enum zone_type idx[] = {
		ZONE_NORMAL, ZONE_LOW32, ZONE_NORMAL, ZONE_LOW32,
	};
	size_t n = 0;

	pin_to_node(nid);
	for (size_t step = 0; step < 4; step++) {
		struct zone *want = node_zone(order[step], idx[step]);

		for (size_t i = 0; i < BLOCKS_PER_SECTION; i++, n++) {
			blocks[n] = alloc_pages(0, MAX_PAGE_ORDER);
			assert_ptr_not_null(blocks[n], "block %zu", n);
			if (page_zone(blocks[n]) != want) {
				test_fail("block %zu from node %d %s, not node "
					  "%d %s", n, page_zone(blocks[n])->node,
					  page_zone(blocks[n])->name,
					  want->node, want->name);
				break;
			}
		}
	}
	blocks[n] = alloc_pages(0, MAX_PAGE_ORDER);
	expect_ptr_null(blocks[n], "every zone of both nodes is full");
	expect_d_eq(errno, ENOMEM, "ENOMEM");

	pin_to_node(1 - nid);
	while (n)
		expect_true(free_pages_checked(blocks[--n], MAX_PAGE_ORDER),
			    "free block %zu", n);
}

TEST_BEGIN(test_full_node_falls_back_to_the_other)
{
	test_skip_if(!find_node_cpus());
	fill_and_fall_back(0);
	expect_all_whole("after node 0 fell back to node 1");
	fill_and_fall_back(1);
	expect_all_whole("after node 1 fell back to node 0");
	unpin();
}
TEST_END

/* Each section has the policy of its node: prefer the real node. */
TEST_BEGIN(test_sections_bound_to_their_node)
{
	/* At least one section, whichever node this CPU is on. */
	struct page *page = alloc_pages(0, 0);
	int checked = 0;

	assert_ptr_not_null(page, "a page");

	for_each_zone(zone) {
		int want = NODE_DATA(zone->node)->bind_node;

		for (struct mem_section *ms = zone->sections; ms;
		     ms = ms->zone_next) {
			void *addrs[2] = {
				(void *)(ms->start_pfn << PAGE_SHIFT),
				ms,	/* its descriptors */
			};

			for (int i = 0; i < 2; i++) {
				unsigned long mask = 0;
				int mode = -1;

				if (syscall(__NR_get_mempolicy, &mode, &mask,
					    8 * sizeof(mask) + 1, addrs[i],
					    MPOL_F_ADDR) != 0) {
					test_skip_if(errno == ENOSYS ||
						     errno == EPERM);
					test_fail("get_mempolicy: errno %d",
						  errno);
					continue;
				}
				expect_d_eq(mode, MPOL_PREFERRED,
					    "node %d %s: preferred", zone->node,
					    zone->name);
				expect_lx_eq(mask, 1UL << want,
					     "node %d %s: on real node %d",
					     zone->node, zone->name, want);
				checked++;
			}
		}
	}
	expect_d_gt(checked, 0, "some section was checked");
	expect_true(free_pages_checked(page, 0), "free");
}
TEST_END

/*
 * A page held on each node: both nodes' zones (each populated by the tests
 * before) are in the reports, node by node, lowest zone first, each row in
 * the kernel's layout with the zone's own counts.
 */
TEST_BEGIN(test_reports_show_each_node)
{
	struct page *held[NR_FAKE];
	struct text buddy, types;
	struct fields f;
	char why[256];
	int line = 0, zones = 0;

	test_skip_if(!find_node_cpus());
	for (int nid = 0; nid < NR_FAKE; nid++) {
		pin_to_node(nid);
		held[nid] = alloc_pages(0, 0);
		assert_ptr_not_null(held[nid]);
	}
	unpin();

	layout_init();
	report_lines(buddyinfo_show, &buddy);
	for_each_zone(zone) {
		struct zone_counts c;

		if (!populated_zone(zone))
			continue;
		zones++;
		assert_d_lt(line, buddy.nr, "a line for node %d %s", zone->node,
			    zone->name);
		expect_true(match_layout(buddyinfo_fmt, buddy.line[line], &f,
					 why, sizeof(why)),
			    "line %d \"%s\": %s", line + 1, buddy.line[line], why);
		expect_lu_eq(f.num[0], (unsigned long)zone->node, "node");
		expect_str_eq(f.str[0], zone->name, "zone");
		zone_counts(zone, &c);
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
			expect_lu_eq(f.num[1 + o], c.nr_free[o],
				     "node %d %s order %u", zone->node,
				     zone->name, o);
		line++;
	}
	expect_d_eq(buddy.nr, line, "no other lines");
	expect_d_eq(zones, NR_FAKE * MAX_NR_ZONES,
		    "every zone of both nodes populated");

	report_lines(pagetypeinfo_show, &types);
	check_pagetypeinfo(&types, "pagetypeinfo", zones);

	for (int nid = 0; nid < NR_FAKE; nid++)
		expect_true(free_pages_checked(held[nid], 0), "free");
	free(buddy.buf);
	free(types.buf);
	expect_all_whole("after the reports");
}
TEST_END

int main(void)
{
	core_config.numa_fake = NR_FAKE;
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	/* Frees go straight to the buddy lists, where the zones' counts
	 * show which zone each block went back to. */
	buddy_core_init();
	for_each_zone(zone)
		zone_pcp_disable(zone);
	return test_run(test_topology,
			test_allocations_come_from_the_running_cpus_node,
			test_full_node_falls_back_to_the_other,
			test_sections_bound_to_their_node,
			test_reports_show_each_node,
			NULL);
}
