/*
 * malloc_stats.c - malloc_stats() prints glibc 2.36's report, which
 * programs and glibc's tests parse, and prints it whole even in a thread
 * being cancelled:
 *
 *  - the layout, line by line with glibc's formats: "Arena N:" blocks of
 *    "system bytes     = %10u" and "in use bytes     = %10u", then
 *    "Total (incl. mmap):", the same two lines, "max mmap regions = %10u"
 *    and "max mmap bytes   = %10lu", on stderr; the numbers agree with
 *    mallinfo2 (arena, uordblks, hblkhd) and the peaks remember two
 *    direct mappings after one of them is gone;
 *  - deferred cancellation (glibc's tst-malloc-stats-cancellation, bug
 *    22830): a thread with a cancel pending calls malloc_stats; the report
 *    is complete, and the thread dies at its next cancellation point, not
 *    inside malloc_stats and not never;
 *  - asynchronous cancellation: a thread prints reports in a loop with
 *    asynchronous cancellation on and is cancelled; the output is whole
 *    reports only, and afterwards stderr and the allocator still work (a
 *    thread that died inside would have left a lock held). POSIX does not
 *    make malloc_stats async-cancel-safe and glibc's is not, so this one is
 *    skipped with BUDDY_TEST_ANY_MALLOC.
 *
 * stderr (fd 2) goes to a pipe drained by a reader thread while the
 * report is made, so that writes are real write() calls, which are
 * cancellation points (a memory stream's are not).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_util.h"

#define MiB		((size_t)1 << 20)
#define BIG		(40 * MiB)	/* a direct mapping for glibc too */
#define CAPTURE_MAX	(256 * 1024)

/* ------------------------------------------------------ capturing fd 2 */

static struct {
	int saved_fd;		/* the real stderr */
	int read_fd;
	pthread_t reader;
	char text[CAPTURE_MAX];
	atomic_size_t len;
} cap;

static void *reader_thread(void *arg)
{
	(void)arg;
	for (;;) {
		size_t len = atomic_load(&cap.len);
		ssize_t n;

		if (len >= sizeof(cap.text) - 1) {
			char sink[4096];

			n = read(cap.read_fd, sink, sizeof(sink));
		} else {
			n = read(cap.read_fd, cap.text + len,
				 sizeof(cap.text) - 1 - len);
			if (n > 0)
				atomic_store(&cap.len, len + (size_t)n);
		}
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	return NULL;
}

/* From here on, fd 2 is a pipe read by the reader thread (the stderr
 * FILE is unbuffered: nothing of it is pending). */
static void capture_start(void)
{
	int fds[2];

	assert_d_eq(pipe(fds), 0);
	memset(cap.text, 0, sizeof(cap.text));
	atomic_store(&cap.len, 0);
	cap.saved_fd = dup(STDERR_FILENO);
	assert_d_ge(cap.saved_fd, 0);
	assert_d_ge(dup2(fds[1], STDERR_FILENO), 0);
	close(fds[1]);
	cap.read_fd = fds[0];
	assert_d_eq(pthread_create(&cap.reader, NULL, reader_thread, NULL), 0);
}

/* fd 2 back; returns the text written meanwhile (NUL-terminated). The
 * stderr FILE is not touched (it is unbuffered): a thread cancelled inside
 * stdio may have left it locked, which stderr_unlocked() tells. */
static const char *capture_end(void)
{
	dup2(cap.saved_fd, STDERR_FILENO);	/* the last write end closes */
	close(cap.saved_fd);
	pthread_join(cap.reader, NULL);
	close(cap.read_fd);
	cap.text[atomic_load(&cap.len)] = '\0';
	return cap.text;
}

/* Is the stderr FILE free? A thread cancelled while printing would leave
 * it locked forever. */
static bool stderr_unlocked(void)
{
	if (ftrylockfile(stderr) != 0)
		return false;
	funlockfile(stderr);
	return true;
}

/* --------------------------------------------------------- the layout */

struct report {
	unsigned int arenas;
	unsigned int arena_system, arena_in_use;	/* sums */
	unsigned int total_system, total_in_use;
	unsigned int max_regions;
	unsigned long max_bytes;
	bool whole;		/* every line of a report, in order */
};

/* Does line hold exactly fmt with one number? The number is read back and
 * printed again with fmt: the widths must agree too. */
static bool line_u(const char *line, const char *fmt, unsigned int *v)
{
	char again[128];

	if (sscanf(line, fmt, v) != 1)
		return false;
	snprintf(again, sizeof(again), fmt, *v);
	return strcmp(again, line) == 0;
}

static bool line_lu(const char *line, const char *fmt, unsigned long *v)
{
	char again[128];

	if (sscanf(line, fmt, v) != 1)
		return false;
	snprintf(again, sizeof(again), fmt, *v);
	return strcmp(again, line) == 0;
}

/*
 * Parse one report from *text (lines with their '\n'), advancing *text
 * past it. r->whole is false at the first line that is not the expected
 * one, which is printed as a diagnostic.
 */
static void parse_report(const char **text, struct report *r)
{
	char line[256];
	unsigned int u;
	int arena;
	enum { ARENA, SYSTEM, IN_USE, TOTAL_SYSTEM, TOTAL_IN_USE, REGIONS,
	       BYTES, DONE } want = ARENA;

	memset(r, 0, sizeof(*r));
	while (want != DONE && **text) {
		const char *nl = strchr(*text, '\n');
		size_t n = nl ? (size_t)(nl - *text) + 1 : strlen(*text);
		bool ok = false;

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, *text, n);
		line[n] = '\0';
		*text += n;
		switch (want) {
		case ARENA:
			if (sscanf(line, "Arena %d:\n", &arena) == 1 &&
			    arena == (int)r->arenas) {
				char again[64];

				snprintf(again, sizeof(again), "Arena %d:\n", arena);
				ok = strcmp(again, line) == 0;
				want = SYSTEM;
			} else if (r->arenas && !strcmp(line, "Total (incl. mmap):\n")) {
				ok = true;
				want = TOTAL_SYSTEM;
			}
			break;
		case SYSTEM:
			ok = line_u(line, "system bytes     = %10u\n", &u);
			r->arena_system += u;
			want = IN_USE;
			break;
		case IN_USE:
			ok = line_u(line, "in use bytes     = %10u\n", &u);
			r->arena_in_use += u;
			r->arenas++;
			want = ARENA;
			break;
		case TOTAL_SYSTEM:
			ok = line_u(line, "system bytes     = %10u\n",
				    &r->total_system);
			want = TOTAL_IN_USE;
			break;
		case TOTAL_IN_USE:
			ok = line_u(line, "in use bytes     = %10u\n",
				    &r->total_in_use);
			want = REGIONS;
			break;
		case REGIONS:
			ok = line_u(line, "max mmap regions = %10u\n",
				    &r->max_regions);
			want = BYTES;
			break;
		case BYTES:
			ok = line_lu(line, "max mmap bytes   = %10lu\n",
				     &r->max_bytes);
			want = DONE;
			break;
		case DONE:
			break;
		}
		if (!ok) {
			test_diag("unexpected line: \"%.*s\"", (int)strcspn(line, "\n"),
				  line);
			return;
		}
	}
	r->whole = want == DONE;
}

TEST_BEGIN(test_malloc_stats_layout)
{
	void *big[2], *small[100];
	struct mallinfo2 mi;
	struct report r;
	const char *text;

	for (int i = 0; i < 100; i++) {
		small[i] = malloc(100 + (size_t)i * 50);
		assert_ptr_not_null(small[i]);
	}
	for (int i = 0; i < 2; i++) {
		big[i] = malloc(BIG);
		assert_ptr_not_null(big[i]);
		memset(big[i], 1, 4096);
	}
	free(big[1]);		/* the peaks remember it */

	capture_start();
	malloc_stats();
	text = capture_end();
	mi = mallinfo2();	/* nothing allocated or freed in between */

	parse_report(&text, &r);
	expect_true(r.whole, "malloc_stats: not glibc's report:\n%s", cap.text);
	expect_d_eq(*text, '\0', "more after the report: \"%s\"", text);
	expect_u_ge(r.arenas, 1);
	/* glibc's numbers are unsigned int: compare modulo 2^32. */
	expect_u_eq(r.arena_system, (unsigned int)mi.arena, "system bytes");
	expect_u_eq(r.arena_in_use, (unsigned int)mi.uordblks, "in use bytes");
	expect_u_eq(r.total_system - r.arena_system, (unsigned int)mi.hblkhd,
		    "Total system bytes = arenas + mmap");
	expect_u_eq(r.total_in_use - r.arena_in_use, (unsigned int)mi.hblkhd,
		    "Total in use bytes = arenas + mmap");
	expect_zu_ge(mi.hblkhd, BIG, "one direct mapping of %zu is live", BIG);
	expect_u_ge(r.max_regions, 2, "two direct mappings were live at once");
	expect_lu_ge(r.max_bytes, 2 * BIG, "max mmap bytes");

	free(big[0]);
	for (int i = 0; i < 100; i++)
		free(small[i]);
}
TEST_END

/* ------------------------------------------------ deferred cancellation */

static pthread_barrier_t gate;

static void *stats_then_cancel(void *arg)
{
	(void)arg;
	/* Released with a cancel pending: pthread_barrier_wait is not a
	 * cancellation point. */
	pthread_barrier_wait(&gate);
	malloc_stats();
	fputs("this call should trigger cancellation\n", stderr);
	return NULL;
}

TEST_BEGIN(test_malloc_stats_cancel_pending)
{
	struct report r;
	const char *text;
	pthread_t t;
	void *ret = NULL;

	assert_d_eq(pthread_barrier_init(&gate, NULL, 2), 0);
	capture_start();
	assert_d_eq(pthread_create(&t, NULL, stats_then_cancel, NULL), 0);
	assert_d_eq(pthread_cancel(t), 0);
	pthread_barrier_wait(&gate);
	assert_d_eq(pthread_join(t, &ret), 0);
	text = capture_end();
	pthread_barrier_destroy(&gate);

	expect_ptr_eq(ret, PTHREAD_CANCELED, "the thread was not cancelled");
	assert_true(stderr_unlocked(), "the cancelled thread left stderr "
		    "locked; the report so far:\n%s", cap.text);
	parse_report(&text, &r);
	expect_true(r.whole, "malloc_stats' report is incomplete:\n%s",
		    cap.text);
	expect_ptr_null(strstr(cap.text, "should trigger cancellation"),
			"cancellation did not act after malloc_stats");
}
TEST_END

/* -------------------------------------------- asynchronous cancellation */

static atomic_uint reports_started;

static void *stats_loop_async(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	for (;;) {
		atomic_fetch_add(&reports_started, 1);
		malloc_stats();
	}
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

TEST_BEGIN(test_malloc_stats_async_cancel)
{
	static const size_t sizes[] = { 16, 100, 4096, 70000, 8 * MiB };
	const char *text;
	struct report r;
	unsigned int whole = 0;
	pthread_t t;
	void *ret = NULL;

	test_skip_if(api_any_malloc());
	assert_true(stderr_unlocked(), "stderr is locked already");
	for (int round = 0; round < 20; round++) {
		atomic_store(&reports_started, 0);
		capture_start();
		assert_d_eq(pthread_create(&t, NULL, stats_loop_async, NULL), 0);
		/* Let it print a few, then cancel it wherever it is. */
		while (atomic_load(&reports_started) < 3 + (unsigned int)round)
			sleep_ms(1);
		assert_d_eq(pthread_cancel(t), 0);
		assert_d_eq(pthread_join(t, &ret), 0);
		text = capture_end();
		expect_ptr_eq(ret, PTHREAD_CANCELED);
		assert_true(stderr_unlocked(), "round %d: the cancelled thread "
			    "left stderr locked", round);

		/* Whole reports only. */
		while (*text) {
			parse_report(&text, &r);
			if (!r.whole) {
				test_fail("round %d: a partial report after %u "
					  "whole ones", round, whole);
				return;
			}
			whole++;
		}
		/* Nothing was left locked: stderr and every size class. */
		capture_start();
		malloc_stats();
		text = capture_end();
		parse_report(&text, &r);
		expect_true(r.whole, "malloc_stats after the cancel");
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *p = malloc(sizes[i]);

			assert_ptr_not_null(p);
			free(p);
		}
	}
	test_diag("%u whole reports", whole);
}
TEST_END

int main(void)
{
	api_watchdog(120);
	return test_run(test_served_by_buddymalloc,
			test_malloc_stats_layout,
			test_malloc_stats_cancel_pending,
			test_malloc_stats_async_cancel,
			NULL);
}
