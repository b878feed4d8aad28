/*
 * numa_fake.c - BUDDYMALLOC_CONF=numa_fake:2 in a whole program: the
 * setting reads back as opt.numa_fake (and is start-up only), and after
 * page allocations by a thread pinned to a CPU of each node, the reports
 * of buddymalloc_stats_print (buddyinfo, pagetypeinfo) show both nodes'
 * zones.
 *
 * The allocator reads BUDDYMALLOC_CONF at its first call, before main, so
 * the program re-executes itself with the setting when it runs without it.
 * On one real node numa_fake deals CPU c to node c mod 2 (core/zone.c);
 * the test pins to an allowed even and an allowed odd CPU, and is skipped
 * without both, or on a machine with several real nodes (where the rule
 * depends on the real topology).
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_util.h"

#define CONF	"numa_fake:2"
#define BLOCK	((size_t)256 << 10)	/* a page allocation, not a slab's */
#define NR_BLOCKS	8

typedef int mallctl_fn(const char *name, void *oldp, size_t *oldlenp,
		       void *newp, size_t newlen);
typedef void stats_print_fn(void (*write_cb)(void *, const char *),
			    void *opaque, const char *opts);

static void *sym(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);

	assert_ptr_not_null(p, "%s is not in the process", name);
	return p;
}

TEST_BEGIN(test_opt_numa_fake)
{
	mallctl_fn *mallctl;
	unsigned int v = 0, two = 2;
	size_t len = sizeof(v);

	test_skip_if(api_any_malloc());	/* our setting, our reports */
	mallctl = (mallctl_fn *)sym("buddymalloc_mallctl");
	expect_d_eq(mallctl("opt.numa_fake", &v, &len, NULL, 0), 0, "read");
	expect_u_eq(v, 2, "opt.numa_fake from BUDDYMALLOC_CONF");
	expect_zu_eq(len, sizeof(unsigned int), "an unsigned int");
	expect_d_eq(mallctl("opt.numa_fake", NULL, NULL, &two, sizeof(two)),
		    EPERM, "start-up only");
}
TEST_END

static char report[1 << 16];
static size_t report_len;

static void report_write(void *opaque, const char *text)
{
	size_t n = strlen(text);

	(void)opaque;
	if (n > sizeof(report) - 1 - report_len)
		n = sizeof(report) - 1 - report_len;
	memcpy(report + report_len, text, n);
	report_len += n;
	report[report_len] = '\0';
}

static bool one_real_node(void)
{
	char buf[64] = "";
	FILE *f = fopen("/sys/devices/system/node/online", "r");

	if (!f)
		return true;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strcmp(buf, "0\n") == 0;
}

/* An allowed CPU of the given parity, or -1. */
static int allowed_cpu(const cpu_set_t *allowed, int parity)
{
	for (int cpu = parity; cpu < CPU_SETSIZE; cpu += 2)
		if (CPU_ISSET(cpu, allowed))
			return cpu;
	return -1;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	assert_d_eq(sched_setaffinity(0, sizeof(set), &set), 0, "pin to %d", cpu);
}

/* The report, from its first line that starts with after (NULL: from the
 * top), has a line starting with prefix. */
static bool report_has_line(const char *after, const char *prefix)
{
	const char *l = report;
	size_t n = strlen(prefix);

	if (after) {
		l = strstr(report, after);
		if (!l)
			return false;
	}
	while (*l) {
		const char *nl = strchr(l, '\n');

		if (strncmp(l, prefix, n) == 0)
			return true;
		if (!nl)
			break;
		l = nl + 1;
	}
	return false;
}

TEST_BEGIN(test_reports_show_both_nodes)
{
	stats_print_fn *stats_print;
	void *held[2][NR_BLOCKS];
	cpu_set_t allowed;
	int cpu[2];

	test_skip_if(api_any_malloc());
	stats_print = (stats_print_fn *)sym("buddymalloc_stats_print");
	assert_d_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	cpu[0] = allowed_cpu(&allowed, 0);
	cpu[1] = allowed_cpu(&allowed, 1);
	test_skip_if(!one_real_node() || cpu[0] < 0 || cpu[1] < 0);

	for (int nid = 0; nid < 2; nid++) {
		pin(cpu[nid]);
		for (int i = 0; i < NR_BLOCKS; i++) {
			held[nid][i] = malloc(BLOCK);
			assert_ptr_not_null(held[nid][i]);
			memset(held[nid][i], nid + 1, BLOCK);
		}
	}
	sched_setaffinity(0, sizeof(allowed), &allowed);

	stats_print(report_write, NULL, NULL);
	for (int nid = 0; nid < 2; nid++) {
		char buddyinfo[64], types[64];
		bool in_buddyinfo, in_types, in_blocks;

		snprintf(buddyinfo, sizeof(buddyinfo), "Node %d, zone   Normal ",
			 nid);
		snprintf(types, sizeof(types),
			 "Node    %d, zone   Normal, type      Movable ", nid);
		in_buddyinfo = report_has_line(NULL, buddyinfo);
		in_types = report_has_line("Free pages count per migrate type",
					   types);
		/* "Node %d, zone %8s " again, now with the block counts */
		in_blocks = report_has_line("Number of blocks type", buddyinfo);
		expect_true(in_buddyinfo, "buddyinfo has \"%s\"", buddyinfo);
		expect_true(in_types, "pagetypeinfo has \"%s\"", types);
		expect_true(in_blocks, "pagetypeinfo's block counts have \"%s\"",
			    buddyinfo);
		if (!in_buddyinfo || !in_types || !in_blocks)
			test_diag("the report:\n%s", report);
	}

	for (int nid = 0; nid < 2; nid++)
		for (int i = 0; i < NR_BLOCKS; i++)
			free(held[nid][i]);
}
TEST_END

int main(int argc, char **argv)
{
	(void)argc;
	api_conf_require(argv, CONF);
	return test_run(test_served_by_buddymalloc,
			test_opt_numa_fake,
			test_reports_show_both_nodes,
			NULL);
}
