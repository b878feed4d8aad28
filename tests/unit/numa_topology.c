/*
 * numa_topology.c - how core/zone.c's numa_init() reads a machine's nodes
 * from sysfs, on trees of sysfs's shape in data/sysfs/ (read through the
 * test_sysfs_root hook), so that the several-node path runs here on a
 * one-node machine:
 *
 *   two_nodes   nodes 0 and 2 (sparse ids), CPUs 0-1,4-5 and 2-3,6-7
 *   one_node    node 0, CPUs 0-3
 *   no_numa     no node/ directory (a kernel without NUMA); CPUs 0-5
 *   nine_nodes  more nodes than MAX_NUMNODES
 *   garbage     node/online that is not a list; CPUs 0-3
 *   sparse_cpus nodes 0-1, CPUs "0,2,4-5" (no newline) and "1,3"
 *   bad_range   node/online "1-0"
 *
 * with and without numa_fake. No allocation is made: the core is never
 * initialised, numa_init() is called directly for each case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_util.h"

static char root[4096];

/* Read the tree data/sysfs/name/ with numa_fake fake. */
static void load(const char *name, unsigned int fake)
{
	const char *data = getenv("BUDDY_TEST_DATA");
	const char *top = getenv("top_srcdir");

	if (data && *data)
		snprintf(root, sizeof(root), "%s/sysfs/%s/", data, name);
	else if (top && *top)
		snprintf(root, sizeof(root), "%s/tests/unit/data/sysfs/%s/", top,
			 name);
	else
		snprintf(root, sizeof(root), "tests/unit/data/sysfs/%s/", name);
	test_sysfs_root = root;
	core_config.numa_fake = fake;
	numa_init();
}

/* CPUs 0..9 mapped as want ("0011..."), node by node its bind_node and
 * nr_cpus. */
static void expect_topology(const char *what, int nodes, const char *want_map,
			    const int *bind, const unsigned int *cpus)
{
	char map[11];

	for (int cpu = 0; cpu < 10; cpu++)
		map[cpu] = (char)('0' + cpu_to_node(cpu));
	map[10] = '\0';
	expect_d_eq(nr_node_ids, nodes, "%s: nodes", what);
	expect_str_eq(map, want_map, "%s: node of CPUs 0..9", what);
	for (int nid = 0; nid < nodes; nid++) {
		expect_d_eq(NODE_DATA(nid)->bind_node, bind[nid],
			    "%s: node %d bound to", what, nid);
		expect_u_eq(NODE_DATA(nid)->nr_cpus, cpus[nid],
			    "%s: node %d's CPUs", what, nid);
	}
	expect_d_eq(cpu_to_node(NR_CPUS), 0, "%s: beyond the map", what);
	expect_d_eq(cpu_to_node(-1), 0, "%s: no CPU", what);
}

TEST_BEGIN(test_real_nodes)
{
	load("two_nodes", 0);
	expect_topology("two real nodes", 2, "0011001100",
			(const int[]){ 0, 2 }, (const unsigned int[]){ 4, 4 });
}
TEST_END

TEST_BEGIN(test_cpulists_of_every_shape)
{
	load("sparse_cpus", 0);
	expect_topology("single CPUs and ranges", 2, "0101000000",
			(const int[]){ 0, 1 }, (const unsigned int[]){ 4, 2 });
	load("bad_range", 0);
	expect_topology("a range backwards", 1, "0000000000",
			(const int[]){ -1 }, (const unsigned int[]){ 0 });
}
TEST_END

TEST_BEGIN(test_one_real_node)
{
	load("one_node", 0);
	expect_topology("one real node", 1, "0000000000",
			(const int[]){ -1 }, (const unsigned int[]){ 4 });
}
TEST_END

TEST_BEGIN(test_without_numa_in_sysfs)
{
	load("no_numa", 0);
	expect_topology("no node/", 1, "0000000000",
			(const int[]){ -1 }, (const unsigned int[]){ 6 });
	load("garbage", 0);
	expect_topology("node/online not a list", 1, "0000000000",
			(const int[]){ -1 }, (const unsigned int[]){ 4 });
	load("does_not_exist", 0);
	expect_topology("no sysfs", 1, "0000000000",
			(const int[]){ -1 }, (const unsigned int[]){ 0 });
}
TEST_END

TEST_BEGIN(test_more_nodes_than_max_numnodes)
{
	load("nine_nodes", 0);
	expect_topology("nine nodes", 1, "0000000000",
			(const int[]){ -1 }, (const unsigned int[]){ 0 });
}
TEST_END

/* Fake nodes on one real node: CPU c on node c mod N, all bound to 0. */
TEST_BEGIN(test_fake_on_one_real_node)
{
	load("one_node", 2);
	expect_topology("numa_fake 2 on one node", 2, "0101010101",
			(const int[]){ 0, 0 }, (const unsigned int[]){ 2, 2 });
	load("one_node", 3);
	expect_topology("numa_fake 3 on one node", 3, "0120120120",
			(const int[]){ 0, 0, 0 },
			(const unsigned int[]){ 2, 1, 1 });
	load("no_numa", 2);
	expect_topology("numa_fake 2 without NUMA", 2, "0101010101",
			(const int[]){ -1, -1 }, (const unsigned int[]){ 3, 3 });
}
TEST_END

/*
 * Fake nodes over two real ones: fake f on real f mod 2, the CPUs of a
 * real node dealt among the fake nodes on it (3 fake nodes: 0 and 2 on
 * node 0, 1 on node 2).
 */
TEST_BEGIN(test_fake_on_two_real_nodes)
{
	load("two_nodes", 3);
	expect_topology("numa_fake 3 on two nodes", 3, "0211021102",
			(const int[]){ 0, 2, 0 },
			(const unsigned int[]){ 2, 4, 2 });
	load("two_nodes", 1);
	expect_topology("numa_fake 1 on two nodes", 1, "0000000000",
			(const int[]){ 0 }, (const unsigned int[]){ 8 });
}
TEST_END

int main(void)
{
	return test_run(test_real_nodes,
			test_cpulists_of_every_shape,
			test_one_real_node,
			test_without_numa_in_sysfs,
			test_more_nodes_than_max_numnodes,
			test_fake_on_one_real_node,
			test_fake_on_two_real_nodes,
			NULL);
}
