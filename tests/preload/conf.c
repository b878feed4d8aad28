/*
 * conf.c - the BUDDYMALLOC_CONF parser (preload/conf.c), called directly:
 * good values of every type, sizes and their suffixes, what reaches the
 * core's core_config, and the one-line warnings for unknown keys, bad
 * values and missing values, word for word. Linked with preload/conf.c
 * and the test core; no malloc replacement in this program.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "preload.h"
#include "slab.h"
#include "tap.h"

/* ------------------------------------------------ capturing warnings */

static char warnings[8192];
static unsigned int nr_lines;

static void capture(void *opaque, const char *line)
{
	size_t len = strlen(warnings);

	snprintf(warnings + len, sizeof(warnings) - len, "%s", line);
	nr_lines++;
}

/* Reset the options and the capture, then parse conf. */
static unsigned int parse(const char *conf, unsigned int flags)
{
	conf_reset();
	warnings[0] = '\0';
	nr_lines = 0;
	return conf_parse(conf, flags, capture, NULL);
}

#define PREFIX "buddymalloc: BUDDYMALLOC_CONF: "

/* got is exactly want (tap.h's string checks cut long strings when they
 * print them, and the compiler warns about that). */
#define expect_text(got, want) do {					\
	const char *got_ = (got), *want_ = (want);			\
	if (strcmp(got_, want_) != 0)					\
		test_fail("got:\n%s\nexpected:\n%s", got_, want_);	\
} while (0)

/* The warnings so far are exactly want. */
#define expect_warnings(want)	expect_text(warnings, want)

/* ---------------------------------------------------------------- tests */

TEST_BEGIN(test_defaults)
{
	parse(NULL, 0);
	expect_false(buddy_opts.stats_print);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_ABORT);
	expect_zu_eq(buddy_opts.limit, 0);
	expect_false(buddy_opts.abort_conf);
	expect_zu_eq(core_config.limit, 0);
	expect_lu_eq(core_config.watermark_scale_factor, 10);
	expect_lu_eq(core_config.lowmem_reserve_ratio, 256);
	expect_lu_eq(core_config.min_free_kbytes, 0);
	expect_false(core_config.warn_alloc);
	expect_u_eq(buddy_opts.numa_fake, 0);
	expect_u_eq(core_config.numa_fake, 0, "the real topology");
}
TEST_END

/* numa_fake: a whole number of nodes, 0 (the real ones) to MAX_NUMNODES,
 * passed on to the core, start-up only. */
TEST_BEGIN(test_numa_fake)
{
	expect_u_eq(parse("numa_fake:2", 0), 0);
	expect_warnings("");
	expect_u_eq(buddy_opts.numa_fake, 2);
	expect_u_eq(core_config.numa_fake, 2);
	expect_u_eq(parse("numa_fake:8,numa_fake:0", 0), 0);
	expect_u_eq(core_config.numa_fake, 0);

	expect_u_eq(parse("numa_fake:9", 0), 1);
	expect_warnings(PREFIX "bad value \"9\" for \"numa_fake\" "
		      "(expected a whole number from 0 to 8)\n");
	expect_u_eq(parse("numa_fake:2k,numa_fake:-1,numa_fake:,numa_fake:x2,"
			  "numa_fake:99999999999999999999999", 0), 5);
	expect_u_eq(core_config.numa_fake, 0, "bad values change nothing");

	expect_u_eq(parse("numa_fake:2", CONF_PARSE_LATE), 1);
	expect_warnings(PREFIX "\"numa_fake\" came too late (the "
		      "allocator was already in use); ignored\n");
	expect_u_eq(core_config.numa_fake, 0);
}
TEST_END

TEST_BEGIN(test_good_values)
{
	expect_u_eq(parse("stats_print:true,bad_free:report,max_memory:1g,"
			  "abort_conf:true", 0), 0);
	expect_warnings("");
	expect_true(buddy_opts.stats_print);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_REPORT);
	expect_zu_eq(buddy_opts.limit, 1UL << 30);
	expect_true(buddy_opts.abort_conf);
	/* max_memory is the old name of the budget, limit. */
	expect_zu_eq(core_config.limit, 1UL << 30);
	expect_u_eq(parse("limit:64m,min_free_kbytes:2048,"
			  "watermark_scale_factor:100,lowmem_reserve_ratio:32,"
			  "warn_alloc:true", 0), 0);
	expect_warnings("");
	expect_zu_eq(core_config.limit, 64UL << 20);
	expect_lu_eq(core_config.min_free_kbytes, 2048);
	expect_lu_eq(core_config.watermark_scale_factor, 100);
	expect_lu_eq(core_config.lowmem_reserve_ratio, 32);
	expect_true(core_config.warn_alloc);
	expect_u_eq(parse("watermark_scale_factor:1k", 0), 1);
	expect_warnings(PREFIX "bad value \"1k\" for "
		      "\"watermark_scale_factor\" (expected a whole number from 1 "
		      "to 3000)\n");

	expect_u_eq(parse("stats_print:false,bad_free:abort", 0), 0);
	expect_false(buddy_opts.stats_print);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_ABORT);
}
TEST_END

TEST_BEGIN(test_sizes)
{
	static const struct {
		const char *text;
		size_t bytes;
		unsigned long sections;
	} good[] = {
		{ "0", 0, 0 },
		{ "1", 1, 1 },
		{ "4096", 4096, 1 },
		{ "64k", 64UL << 10, 1 },
		{ "64kb", 64UL << 10, 1 },
		{ "128m", 128UL << 20, 1 },
		{ "129M", 129UL << 20, 2 },
		{ "2GiB", 2UL << 30, 16 },
		{ "3g", 3UL << 30, 24 },
		{ "1t", 1UL << 40, 8192 },
		{ "128t", 128UL << 40, 1UL << 20 },
	};
	static const char *const bad[] = {
		"", "k", "-1", "1x", "1kk", "1 k", "0x10", "1.5g", "129t",
		"99999999999999999999", "18446744073709551616",
		"17179869184g",
	};
	char conf[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(conf, sizeof(conf), "max_memory:%s", good[i].text);
		expect_u_eq(parse(conf, 0), 0, "%s", conf);
		expect_zu_eq(buddy_opts.limit, good[i].bytes, "%s", conf);
		expect_zu_eq(core_config.limit, good[i].bytes, "%s", conf);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(conf, sizeof(conf), "max_memory:%s", bad[i]);
		expect_u_eq(parse(conf, 0), 1, "%s", conf);
		expect_zu_eq(buddy_opts.limit, 0, "%s: unchanged", conf);
		expect_zu_eq(core_config.limit, 0, "%s", conf);
	}
	parse("max_memory:1x", 0);
	expect_warnings(PREFIX "bad value \"1x\" for \"max_memory\" "
		      "(expected a size in bytes with an optional k, m, g or t "
		      "suffix, such as 512m, at most 128t)\n");
}
TEST_END

/* The per-CPU page lists' settings reach core_config; out of range is
 * refused and leaves the value. */
TEST_BEGIN(test_pcp_settings)
{
	parse(NULL, 0);
	expect_lu_eq(core_config.pcp_batch, 0);
	expect_lu_eq(core_config.percpu_pagelist_high_fraction, 0);
	expect_u_eq(parse("pcp_batch:31,percpu_pagelist_high_fraction:16", 0), 0);
	expect_warnings("");
	expect_zu_eq(buddy_opts.pcp_batch, 31);
	expect_lu_eq(core_config.pcp_batch, 31);
	expect_lu_eq(core_config.percpu_pagelist_high_fraction, 16);
	/* A number takes no suffix; each parse starts from the defaults. */
	expect_u_eq(parse("pcp_batch:1k", 0), 1);
	expect_warnings(PREFIX "bad value \"1k\" for \"pcp_batch\" "
			"(expected a whole number from 0 to 65536)\n");
	expect_u_eq(parse("pcp_batch:100000", 0), 1);
	expect_lu_eq(core_config.pcp_batch, 0, "refused");
	expect_lu_eq(core_config.percpu_pagelist_high_fraction, 0, "reset");
}
TEST_END

TEST_BEGIN(test_unknown_key)
{
	expect_u_eq(parse("foo:1", 0), 1);
	expect_warnings(PREFIX "unknown option \"foo\"\n");
	/* Keys are case-sensitive, as jemalloc's. */
	expect_u_eq(parse("Stats_Print:true", 0), 1);
	expect_warnings(PREFIX "unknown option \"Stats_Print\"\n");
	expect_false(buddy_opts.stats_print);
	/* Without a value it is still just unknown. */
	expect_u_eq(parse("foo", 0), 1);
	expect_warnings(PREFIX "unknown option \"foo\"\n");
	expect_u_eq(parse(":true", 0), 1);
	expect_warnings(PREFIX "unknown option \"\"\n");
}
TEST_END

TEST_BEGIN(test_bad_values)
{
	expect_u_eq(parse("stats_print:x", 0), 1);
	expect_warnings(PREFIX "bad value \"x\" for \"stats_print\" "
		      "(expected true or false)\n");
	expect_false(buddy_opts.stats_print);

	expect_u_eq(parse("stats_print:TRUE", 0), 1);
	expect_u_eq(parse("stats_print:1", 0), 1);
	expect_u_eq(parse("stats_print:", 0), 1);
	expect_warnings(PREFIX "bad value \"\" for \"stats_print\" "
		      "(expected true or false)\n");

	expect_u_eq(parse("bad_free:ignore", 0), 1);
	expect_warnings(PREFIX "bad value \"ignore\" for \"bad_free\" "
		      "(expected abort or report)\n");
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_ABORT);

	/* The value runs to the next comma, colons included. */
	expect_u_eq(parse("bad_free:report:x", 0), 1);
	expect_warnings(PREFIX "bad value \"report:x\" for "
		      "\"bad_free\" (expected abort or report)\n");
}
TEST_END

TEST_BEGIN(test_missing_value)
{
	expect_u_eq(parse("stats_print", 0), 1);
	expect_warnings(PREFIX "no value for \"stats_print\" (expected "
		      "stats_print:value, the value true or false)\n");
	expect_false(buddy_opts.stats_print);
}
TEST_END

TEST_BEGIN(test_empty)
{
	expect_u_eq(parse("", 0), 0);
	expect_u_eq(parse(",", 0), 0);
	expect_u_eq(parse(",,, ,", 0), 0);
	expect_u_eq(parse("   ", 0), 0);
	expect_warnings("");
	expect_u_eq(nr_lines, 0);
}
TEST_END

TEST_BEGIN(test_trailing_comma)
{
	expect_u_eq(parse("stats_print:true,", 0), 0);
	expect_true(buddy_opts.stats_print);
	expect_u_eq(parse(",,stats_print:true,,bad_free:report,,", 0), 0);
	expect_true(buddy_opts.stats_print);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_REPORT);
	expect_warnings("");
}
TEST_END

TEST_BEGIN(test_spaces)
{
	expect_u_eq(parse(" stats_print : true ,\tbad_free:  report  , "
			  "max_memory: 256m ", 0), 0);
	expect_warnings("");
	expect_true(buddy_opts.stats_print);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_REPORT);
	expect_zu_eq(buddy_opts.limit, 256UL << 20);
	/* Inside a value a space is not allowed. */
	expect_u_eq(parse("max_memory:256 m", 0), 1);
	expect_warnings(PREFIX "bad value \"256 m\" for \"max_memory\" "
		      "(expected a size in bytes with an optional k, m, g or t "
		      "suffix, such as 512m, at most 128t)\n");
}
TEST_END

TEST_BEGIN(test_problems_do_not_stop_the_parse)
{
	expect_u_eq(parse("foo:1,stats_print:maybe,bad_free:report,bar,"
			  "max_memory:2g", 0), 4);
	expect_u_eq(nr_lines, 4);
	expect_warnings(
		      PREFIX "unknown option \"foo\"\n"
		      PREFIX "bad value \"maybe\" for \"stats_print\" "
		      "(expected true or false)\n"
		      PREFIX "unknown option \"bar\"\n"
		      PREFIX "problems above; \"bad_free\" keeps its default "
		      "(abort)\n");
	expect_false(buddy_opts.stats_print);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_ABORT, "not weakened");
	expect_zu_eq(buddy_opts.limit, 2UL << 30);
}
TEST_END

/* A string with any problem never weakens a check: bad_free:report is
 * dropped (after or before the problem), hardening is kept; without a
 * problem both apply. */
TEST_BEGIN(test_problems_keep_the_checks)
{
	expect_u_eq(parse("bad_free:report,hardening:junck", 0), 2);
	expect_warnings(
		PREFIX "bad value \"junck\" for \"hardening\" (expected off, "
		"junk, redzone or guard)\n"
		PREFIX "problems above; \"bad_free\" keeps its default "
		"(abort)\n");
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_ABORT);
	expect_u_eq(buddy_opts.hardening, HARDENING_OFF);
	expect_u_eq(parse("nonsense,bad_free:report", 0), 2);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_ABORT);
	expect_u_eq(parse("hardening:junk,bad_free:reprot", 0), 1);
	expect_u_eq(buddy_opts.hardening, HARDENING_JUNK, "kept: strengthens");
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_ABORT);
	expect_u_eq(parse("hardening:junk,bad_free:report", 0), 0);
	expect_warnings("");
	expect_u_eq(buddy_opts.hardening, HARDENING_JUNK);
	expect_u_eq(buddy_opts.bad_free, BAD_FREE_REPORT);
	expect_u_eq(parse("hardening:off", 0), 0);
	expect_u_eq(buddy_opts.hardening, HARDENING_OFF);
}
TEST_END

/* Each level includes the ones before it: guard sets the slab layer's
 * junk and redzone and the core's guard pages; off clears them all. */
TEST_BEGIN(test_hardening_levels)
{
	expect_u_eq(parse("hardening:guard", 0), 0);
	expect_u_eq(buddy_opts.hardening, HARDENING_GUARD);
	expect_true(slab_junk && slab_redzone && huge_guard);
	expect_u_eq(parse("hardening:redzone", 0), 0);
	expect_true(slab_junk && slab_redzone && !huge_guard);
	expect_u_eq(parse("hardening:off", 0), 0);
	expect_true(!slab_junk && !slab_redzone && !huge_guard);
}
TEST_END

TEST_BEGIN(test_last_wins)
{
	expect_u_eq(parse("stats_print:true,stats_print:false", 0), 0);
	expect_false(buddy_opts.stats_print);
	expect_u_eq(parse("max_memory:1g,max_memory:300m", 0), 0);
	expect_zu_eq(core_config.limit, 300UL << 20);
}
TEST_END

TEST_BEGIN(test_late)
{
	/* Options that are not start-up-only apply while the allocator is
	 * in use: the budget among them. */
	expect_u_eq(parse("max_memory:1g,stats_print:true", CONF_PARSE_LATE), 0);
	expect_warnings("");
	expect_zu_eq(buddy_opts.limit, 1UL << 30);
	expect_zu_eq(core_config.limit, 1UL << 30);
	expect_true(buddy_opts.stats_print);
}
TEST_END

TEST_BEGIN(test_quoting)
{
	char conf[256], want[256];

	/* Long text is cut at 64 bytes; unprintable bytes show as '?'. */
	memset(conf, 'k', 100);
	strcpy(conf + 100, ":1");
	expect_u_eq(parse(conf, 0), 1);
	snprintf(want, sizeof(want), PREFIX "unknown option \"%.64s...\"\n",
		 conf);
	expect_warnings(want);

	expect_u_eq(parse("a\x01\x7f" "b:1", 0), 1);
	expect_warnings(PREFIX "unknown option \"a??b\"\n");
}
TEST_END

TEST_BEGIN(test_help)
{
	expect_u_eq(parse("help", 0), 0);
	for (size_t i = 0; i < nr_conf_options; i++)
		expect_ptr_not_null(strstr(warnings, conf_options[i].name),
				    "help lists %s", conf_options[i].name);
	expect_u_eq(nr_lines, 1 + nr_conf_options);
	/* help is a word, not a key:value. */
	expect_u_eq(parse("help:true", 0), 1);
}
TEST_END

TEST_BEGIN(test_table)
{
	/* Every row is complete, and its name can be found again. */
	for (size_t i = 0; i < nr_conf_options; i++) {
		const struct conf_option *opt = &conf_options[i];

		expect_ptr_not_null(opt->value, "%s", opt->name);
		expect_ptr_not_null(opt->help, "%s", opt->name);
		expect_ptr_eq(conf_find(opt->name, strlen(opt->name)), opt);
		if (opt->type == CONF_CHOICE)
			expect_ptr_not_null(opt->choices, "%s", opt->name);
		if (opt->type == CONF_SIZE || opt->type == CONF_UINT)
			expect_zu_le(opt->min, opt->max, "%s", opt->name);
	}
	expect_ptr_null(conf_find("stats", 5));
	expect_ptr_null(conf_find("stats_print_", 12));
}
TEST_END

/* The start-up path: BUDDYMALLOC_CONF from environ (once per process). */
TEST_BEGIN(test_boot_from_environ)
{
	conf_reset();
	assert_d_eq(setenv("BUDDYMALLOC_CONF",
			   "stats_print:true,max_memory:384m", 1), 0);
	expect_true(conf_boot(false));
	expect_true(buddy_opts.stats_print);
	expect_zu_eq(core_config.limit, 384UL << 20);
	/* Once only: a second call changes nothing. */
	assert_d_eq(setenv("BUDDYMALLOC_CONF", "stats_print:false", 1), 0);
	expect_true(conf_boot(true));
	expect_true(buddy_opts.stats_print);
	conf_reset();
}
TEST_END

/*
 * Before libc sets environ, BUDDYMALLOC_CONF comes from /proc/self/environ.
 * A child started with a given environment prints what it read there:
 * "absent", or the value between brackets.
 */
static int proc_child(void)
{
	const char *conf;
	char out[8192];
	int n;

	if (!conf_proc_environ(&conf))
		n = snprintf(out, sizeof(out), "unreadable\n");
	else if (!conf)
		n = snprintf(out, sizeof(out), "absent\n");
	else
		n = snprintf(out, sizeof(out), "[%s]\n", conf);
	return write(STDOUT_FILENO, out, (size_t)n) == n ? 0 : 1;
}

/* Runs the child with envp; its stdout and stderr go to out and err. */
static bool run_proc_child(char *const envp[], char *out, size_t out_size,
			   char *err, size_t err_size)
{
	int fds[2][2], status;
	char *argv[] = { "conf", "proc-child", NULL };
	pid_t pid;

	if (pipe(fds[0]) || pipe(fds[1]))
		return false;
	pid = fork();
	if (pid == 0) {
		dup2(fds[0][1], STDOUT_FILENO);
		dup2(fds[1][1], STDERR_FILENO);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	close(fds[0][1]);
	close(fds[1][1]);
	for (int i = 0; i < 2; i++) {
		char *buf = i ? err : out;
		size_t size = i ? err_size : out_size, len = 0;
		ssize_t n;

		while (len + 1 < size &&
		       (n = read(fds[i][0], buf + len, size - 1 - len)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
		close(fds[i][0]);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

TEST_BEGIN(test_proc_environ)
{
	static char big[100000], longconf[6000], want[8192];
	static char out[8192], err[1024];
	char *env[4];

	/* A 100 KB variable first, so the match spans many reads; a name
	 * that only starts the same is not it. */
	memset(big, 'x', sizeof(big) - 1);
	memcpy(big, "BIG=", 4);
	env[0] = big;
	env[1] = "BUDDYMALLOC_CONFIG=bad_free:abort";
	env[2] = "BUDDYMALLOC_CONF=stats_print:true,bad_free:report";
	env[3] = NULL;
	assert_true(run_proc_child(env, out, sizeof(out), err, sizeof(err)));
	expect_text(out, "[stats_print:true,bad_free:report]\n");
	expect_text(err, "");

	env[2] = NULL;
	assert_true(run_proc_child(env, out, sizeof(out), err, sizeof(err)));
	expect_text(out, "absent\n");

	env[0] = "BUDDYMALLOC_CONF=";
	env[1] = NULL;
	assert_true(run_proc_child(env, out, sizeof(out), err, sizeof(err)));
	expect_text(out, "[]\n");

	/* Longer than the buffer: cut at 4095 bytes, with a warning. */
	strcpy(longconf, "BUDDYMALLOC_CONF=");
	memset(longconf + 17, 'a', sizeof(longconf) - 18);
	env[0] = longconf;
	assert_true(run_proc_child(env, out, sizeof(out), err, sizeof(err)));
	snprintf(want, sizeof(want), "[%.4095s]\n", longconf + 17);
	expect_text(out, want);
	expect_text(err, "buddymalloc: BUDDYMALLOC_CONF: longer than 4095 "
		      "bytes at start-up; cut\n");
}
TEST_END

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "proc-child") == 0)
		return proc_child();
	return test_run(test_defaults,
			test_good_values,
			test_sizes,
			test_pcp_settings,
			test_unknown_key,
			test_bad_values,
			test_numa_fake,
			test_missing_value,
			test_empty,
			test_trailing_comma,
			test_spaces,
			test_problems_do_not_stop_the_parse,
			test_problems_keep_the_checks,
			test_hardening_levels,
			test_last_wins,
			test_late,
			test_quoting,
			test_help,
			test_table,
			test_boot_from_environ,
			test_proc_environ,
			NULL);
}
