/*
 * tap.c - the TAP test harness behind tests/include/tap.h.
 *
 * Output goes straight to file descriptor 1 with write(2), one whole line at
 * a time, formatted into a stack buffer: no stdio buffer (so nothing is lost
 * in a crash or printed twice after a fork) and no call to malloc (so the
 * harness works the same when the allocator under test is malloc itself).
 * Tests should print through test_diag(), not printf, to keep the order.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

enum tap_status {
	TAP_PASS,
	TAP_FAIL,
	TAP_SKIP,
};

/* State of the running test; a test program runs one test at a time. */
static struct {
	const char *name;	/* from TEST_BEGIN; NULL until it runs */
	enum tap_status status;
	char skip_reason[128];
	jmp_buf stop;		/* assert_* and test_skip_if land here */
	bool seed_used;
	uint64_t seed;
} tap;

/* Longer messages are cut. */
#define TAP_MSG_MAX	4096

static void tap_write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;	/* nowhere left to report to */
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Writes prefix, len bytes of text and a newline with one write(2). */
static void tap_write_line(const char *prefix, const char *text, size_t len)
{
	char line[TAP_MSG_MAX + 256];
	size_t plen = strlen(prefix);

	if (plen > 255)
		plen = 255;
	if (len > TAP_MSG_MAX)
		len = TAP_MSG_MAX;
	memcpy(line, prefix, plen);
	memcpy(line + plen, text, len);
	line[plen + len] = '\n';
	tap_write_all(line, plen + len + 1);
}

/*
 * Prints the formatted text. The first line starts with prefix, every
 * further line of a multi-line message with "# " when the message is a
 * diagnostic (cont is "# "), so no line of it can be read as a TAP result.
 */
static void tap_vprint(const char *prefix, const char *cont, const char *fmt,
		       va_list ap)
{
	char msg[TAP_MSG_MAX];
	const char *p = msg, *end;
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	end = msg + ((size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	do {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;

		tap_write_line(prefix, p, (size_t)(stop - p));
		prefix = cont;
		p = nl != NULL ? nl + 1 : end;
	} while (p < end);
}

/* A line of the TAP stream itself: plan, result. */
static void tap_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void tap_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vprint("", "", fmt, ap);
	va_end(ap);
}

/* "# file:line: message", continuation lines as "# ...". */
static void tap_vdiag(const char *file, int line, const char *fmt, va_list ap)
{
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "# %s:%d: ", file, line);
	tap_vprint(prefix, "# ", fmt, ap);
}

void tap_diag(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vdiag(file, line, fmt, ap);
	va_end(ap);
}

void tap_test_begin(const char *name)
{
	tap.name = name;
}

static __attribute__((noreturn)) void tap_stop(void)
{
	longjmp(tap.stop, 1);
}

void tap_fail(bool stop, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap.status = TAP_FAIL;
	va_start(ap, fmt);
	tap_vdiag(file, line, fmt, ap);
	va_end(ap);
	if (stop)
		tap_stop();
}

void tap_check_failed(bool stop, const char *file, int line,
		      const char *what, const char *saw, const char *fmt, ...)
{
	va_list ap;

	tap.status = TAP_FAIL;
	tap_diag(file, line, "failed: %s --> %s", what, saw);
	/* fmt is " " followed by the user's format; see tap.h. */
	if (fmt[0] == ' ')
		fmt++;
	if (fmt[0] != '\0') {
		va_start(ap, fmt);
		tap_vdiag(file, line, fmt, ap);
		va_end(ap);
	}
	if (stop)
		tap_stop();
}

void tap_skip(const char *file, int line, const char *reason)
{
	/* A test that already failed stays failed. */
	if (tap.status != TAP_FAIL) {
		tap.status = TAP_SKIP;
		snprintf(tap.skip_reason, sizeof(tap.skip_reason), "%s", reason);
	}
	tap_stop();
}

uint64_t test_seed(uint64_t dflt)
{
	const char *env = getenv("TEST_SEED");
	char *end;

	tap.seed = dflt;
	if (env != NULL && env[0] != '\0') {
		errno = 0;
		tap.seed = strtoull(env, &end, 0);
		if (errno != 0 || *end != '\0') {
			tap_line("# TEST_SEED=\"%s\" is not a number; using %" PRIu64,
				 env, dflt);
			tap.seed = dflt;
		}
	}
	tap.seed_used = true;
	return tap.seed;
}

/* Runs one test function as TAP point number n; returns its status. */
static enum tap_status tap_run_one(test_fn_t *fn, unsigned int n)
{
	tap.name = NULL;
	tap.status = TAP_PASS;
	tap.skip_reason[0] = '\0';
	tap.seed_used = false;

	if (setjmp(tap.stop) == 0)
		fn();

	/* tap.name is NULL if the function did not start with TEST_BEGIN. */
	const char *name = tap.name != NULL ? tap.name : "(unnamed test)";

	switch (tap.status) {
	case TAP_PASS:
		tap_line("ok %u - %s", n, name);
		break;
	case TAP_SKIP:
		tap_line("ok %u - %s # SKIP %s", n, name, tap.skip_reason);
		break;
	case TAP_FAIL:
		if (tap.seed_used)
			tap_line("# %s: seed %" PRIu64 "; rerun with TEST_SEED=%" PRIu64,
				 name, tap.seed, tap.seed);
		tap_line("not ok %u - %s", n, name);
		break;
	}
	return tap.status;
}

int test_run(test_fn_t *first, ...)
{
	va_list ap;
	test_fn_t *fn;
	unsigned int n = 0, failed = 0;

	/* The plan comes first, so a crash shows up as "too few tests run". */
	va_start(ap, first);
	for (fn = first; fn != NULL; fn = va_arg(ap, test_fn_t *))
		n++;
	va_end(ap);
	tap_line("1..%u", n);

	n = 0;
	va_start(ap, first);
	for (fn = first; fn != NULL; fn = va_arg(ap, test_fn_t *))
		if (tap_run_one(fn, ++n) == TAP_FAIL)
			failed++;
	va_end(ap);

	if (failed != 0)
		tap_line("# %u of %u tests failed", failed, n);
	return failed == 0 ? 0 : 1;
}
