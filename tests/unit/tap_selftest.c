/*
 * tap_selftest.c - tests of the test harness itself.
 *
 * A check that can never fail proves nothing, so every kind of check is also
 * run where it must fail: in a forked child whose TAP output is captured and
 * read back here.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static char out[64 * 1024];

/*
 * Runs body() in a child with its stdout captured into out[]. body ends the
 * child with _exit(test_run(...)). Returns the child's exit status, or -1 if
 * it did not exit normally.
 */
static int run_child(void (*body)(void))
{
	int fds[2], status;
	size_t len = 0;
	pid_t pid;

	memset(out, 0, sizeof(out));
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[1]);
		body();
		_exit(99);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], out + len, sizeof(out) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Number of lines of out[] that start with prefix. */
static unsigned int count_lines(const char *prefix)
{
	unsigned int n = 0;
	const char *line = out;

	while (*line != '\0') {
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
		line = strchr(line, '\n');
		if (line == NULL)
			break;
		line++;
	}
	return n;
}

/* ------------------------------------------ tests run only in children */

static int x = 1;	/* a pointer target */

TEST_BEGIN(fail_zu_eq) { expect_zu_eq(1, 2); } TEST_END
TEST_BEGIN(fail_zu_ne) { expect_zu_ne(2, 2); } TEST_END
TEST_BEGIN(fail_zu_lt) { expect_zu_lt(2, 2); } TEST_END
TEST_BEGIN(fail_zu_le) { expect_zu_le(3, 2); } TEST_END
TEST_BEGIN(fail_zu_gt) { expect_zu_gt(2, 2); } TEST_END
TEST_BEGIN(fail_zu_ge) { expect_zu_ge(1, 2); } TEST_END
TEST_BEGIN(fail_d_signed) { expect_d_lt(0, -1); } TEST_END
TEST_BEGIN(fail_u_unsigned) { expect_u_gt(0, UINT_MAX); } TEST_END
TEST_BEGIN(fail_ld) { expect_ld_eq(-5L, 5L); } TEST_END
TEST_BEGIN(fail_lu) { expect_lu_eq(5UL, 6UL); } TEST_END
TEST_BEGIN(fail_lx) { expect_lx_eq(0x1000UL, 0x2000UL); } TEST_END
TEST_BEGIN(fail_zd) { expect_zd_ge((ssize_t)-1, 0); } TEST_END
TEST_BEGIN(fail_d64) { expect_d64_eq(INT64_MIN, INT64_MAX); } TEST_END
TEST_BEGIN(fail_u64) { expect_u64_eq(UINT64_MAX, 0); } TEST_END
TEST_BEGIN(fail_ptr_eq) { expect_ptr_eq(&x, NULL); } TEST_END
TEST_BEGIN(fail_ptr_ne) { expect_ptr_ne(&x, &x); } TEST_END
TEST_BEGIN(fail_ptr_null) { expect_ptr_null(&x); } TEST_END
TEST_BEGIN(fail_ptr_not_null) { expect_ptr_not_null(NULL); } TEST_END
TEST_BEGIN(fail_true) { expect_true(0); } TEST_END
TEST_BEGIN(fail_false) { expect_false(2); } TEST_END
TEST_BEGIN(fail_str_eq) { expect_str_eq("abc", "abd"); } TEST_END
TEST_BEGIN(fail_str_ne) { expect_str_ne("abc", "abc"); } TEST_END
TEST_BEGIN(fail_assert) { assert_zu_eq(1, 2); } TEST_END
TEST_BEGIN(fail_test_fail) { test_fail("failed on purpose"); } TEST_END

#define NR_FAILING	24

static void run_failing(void)
{
	_exit(test_run(fail_zu_eq, fail_zu_ne, fail_zu_lt, fail_zu_le,
		       fail_zu_gt, fail_zu_ge, fail_d_signed, fail_u_unsigned,
		       fail_ld, fail_lu, fail_lx, fail_zd, fail_d64, fail_u64,
		       fail_ptr_eq, fail_ptr_ne, fail_ptr_null,
		       fail_ptr_not_null, fail_true, fail_false, fail_str_eq,
		       fail_str_ne, fail_assert, fail_test_fail, NULL));
}

TEST_BEGIN(shows_values)
{
	expect_zu_eq(1 + 1, 3, "message %d", 7);
}
TEST_END

static void run_shows_values(void)
{
	_exit(test_run(shows_values, NULL));
}

TEST_BEGIN(multiline)
{
	test_diag("first\nok 99 - not a result\n");
	expect_d_eq(1, 2, "also\nnot ok 98 - not a result");
}
TEST_END

static void run_multiline(void)
{
	_exit(test_run(multiline, NULL));
}

TEST_BEGIN(expect_then_assert)
{
	expect_d_eq(1, 2);
	test_diag("after expect");
	assert_d_eq(1, 2);
	test_diag("after assert");
}
TEST_END

TEST_BEGIN(passes)
{
	expect_d_eq(1, 1);
}
TEST_END

static void run_expect_then_assert(void)
{
	_exit(test_run(expect_then_assert, passes, NULL));
}

TEST_BEGIN(skipped)
{
	test_skip_if(1 + 1 == 2);
	test_fail("ran past test_skip_if");
}
TEST_END

TEST_BEGIN(fails_then_skips)
{
	expect_d_eq(1, 2);
	test_skip_if(1);
}
TEST_END

static void run_skipped(void)
{
	_exit(test_run(skipped, NULL));
}

static void run_fails_then_skips(void)
{
	_exit(test_run(fails_then_skips, NULL));
}

static void run_passes(void)
{
	_exit(test_run(passes, passes, NULL));
}

TEST_BEGIN(seeded)
{
	uint64_t seed = test_seed(5);

	expect_u64_eq(seed, 0, "fails on purpose");
}
TEST_END

static void run_seeded(void)
{
	setenv("TEST_SEED", "1234", 1);
	_exit(test_run(seeded, NULL));
}

/* ------------------------------------------------------------ the tests */

TEST_BEGIN(test_passing_checks)
{
	int y = 2;

	expect_zu_eq(2, 2);
	expect_zu_ne(1, 2);
	expect_zu_lt(1, 2);
	expect_zu_le(2, 2);
	expect_zu_gt(3, 2);
	expect_zu_ge(2, 2);
	expect_d_lt(-1, 0, "int compares signed");
	expect_u_gt(UINT_MAX, 0, "unsigned compares unsigned");
	expect_ld_lt(-5L, 5L);
	expect_lu_ge(6UL, 5UL);
	expect_lx_eq(0x1000UL, 0x1000UL);
	expect_zd_lt((ssize_t)-1, 0);
	expect_d64_lt(INT64_MIN, INT64_MAX);
	expect_u64_gt(UINT64_MAX, 0);
	expect_ptr_eq(&x, &x);
	expect_ptr_ne(&x, &y);
	expect_ptr_null(NULL);
	expect_ptr_not_null(&x);
	expect_true(2);
	expect_false(0);
	expect_str_eq("abc", "abc");
	expect_str_ne("abc", "abd");
	assert_zu_eq(2, 2);
	assert_true(1);
}
TEST_END

TEST_BEGIN(test_every_check_can_fail)
{
	int status = run_child(run_failing);
	char plan[32];

	snprintf(plan, sizeof(plan), "1..%d\n", NR_FAILING);
	expect_d_eq(status, 1, "a failed test makes test_run return 1");
	expect_u_eq(count_lines("1.."), 1);
	expect_true(strncmp(out, plan, strlen(plan)) == 0,
		    "the plan comes first; output was:\n%s", out);
	expect_u_eq(count_lines("not ok "), NR_FAILING,
		    "each check must fail once");
	expect_u_eq(count_lines("ok "), 0, "no check may pass");
}
TEST_END

TEST_BEGIN(test_failure_shows_values)
{
	int status = run_child(run_shows_values);

	expect_d_eq(status, 1);
	expect_true(strstr(out, "failed: (1 + 1) == (3) --> 2 != 3\n") != NULL,
		    "output was:\n%s", out);
	expect_true(strstr(out, "tap_selftest.c:") != NULL, "file:line prefix");
	expect_true(strstr(out, ": message 7\n") != NULL, "user message");
	expect_true(strstr(out, "not ok 1 - shows_values\n") != NULL);
}
TEST_END

TEST_BEGIN(test_multiline_diag_stays_comment)
{
	int status = run_child(run_multiline);

	expect_d_eq(status, 1);
	expect_u_eq(count_lines("ok "), 0, "output was:\n%s", out);
	expect_u_eq(count_lines("not ok "), 1, "output was:\n%s", out);
	expect_true(strstr(out, "\n# ok 99 - not a result\n") != NULL,
		    "output was:\n%s", out);
	expect_true(strstr(out, "\n# not ok 98 - not a result\n") != NULL,
		    "output was:\n%s", out);
}
TEST_END

TEST_BEGIN(test_expect_continues_assert_stops)
{
	int status = run_child(run_expect_then_assert);

	expect_d_eq(status, 1);
	expect_true(strstr(out, "after expect") != NULL);
	expect_true(strstr(out, "after assert") == NULL);
	expect_true(strstr(out, "not ok 1 - expect_then_assert\n") != NULL);
	expect_true(strstr(out, "\nok 2 - passes\n") != NULL,
		    "the next test still runs");
}
TEST_END

TEST_BEGIN(test_skip)
{
	int status = run_child(run_skipped);

	expect_d_eq(status, 0);
	expect_true(strstr(out, "ok 1 - skipped # SKIP 1 + 1 == 2\n") != NULL,
		    "output was:\n%s", out);
	expect_true(strstr(out, "ran past") == NULL);

	status = run_child(run_fails_then_skips);
	expect_d_eq(status, 1, "a failed test stays failed when it skips");
	expect_true(strstr(out, "not ok 1 - fails_then_skips\n") != NULL);
}
TEST_END

TEST_BEGIN(test_all_pass)
{
	int status = run_child(run_passes);

	expect_d_eq(status, 0);
	expect_true(strcmp(out, "1..2\nok 1 - passes\nok 2 - passes\n") == 0,
		    "output was:\n%s", out);
}
TEST_END

TEST_BEGIN(test_seed_printed_on_failure)
{
	int status = run_child(run_seeded);

	expect_d_eq(status, 1);
	expect_true(strstr(out, "rerun with TEST_SEED=1234\n") != NULL,
		    "output was:\n%s", out);
	/* Here TEST_SEED is unset unless the user set it for the whole run. */
	if (getenv("TEST_SEED") == NULL)
		expect_u64_eq(test_seed(42), 42);
}
TEST_END

int main(void)
{
	return test_run(test_passing_checks,
			test_every_check_can_fail,
			test_failure_shows_values,
			test_multiline_diag_stays_comment,
			test_expect_continues_assert_stops,
			test_skip,
			test_all_pass,
			test_seed_printed_on_failure,
			NULL);
}
