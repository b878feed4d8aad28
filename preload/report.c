/*
 * report.c - what happens to a bad pointer: one line on stderr naming the
 * call and the address, as glibc prints "free(): invalid pointer", then
 * abort; or, with BUDDYMALLOC_CONF=bad_free:report, nothing more (the
 * caller ignores the call). Formatted on the stack and written with one
 * write(2): no stdio, no malloc, whatever state the program is in.
 *
 * Also the other reports that go somewhere by themselves: the stderr kept
 * for the report at exit, and the live report that a signal asks for
 * (report_signal), written to report_file by the reclaim thread.
 */
#include <signal.h>
#include <string.h>

#include "buddymalloc.h"
#include "page_alloc.h"
#include "preload.h"
#include "seq_buf.h"
#include "slab.h"

void write_stderr(void *opaque, const char *text)
{
	os_write(2, text, strlen(text));
}

/*
 * stderr for the report at exit. Many programs close stderr before they
 * exit (every coreutils and gnulib program does, in close_stdout), so
 * stats_print:true keeps a close-on-exec duplicate of it, made at start-up,
 * above the low descriptors a program expects open() to return. At exit it
 * is used only if it is still the same file (the program may have closed
 * it and opened something else on that number); else fd 2 is.
 */
#define SAVED_STDERR_MIN	100

static int saved_stderr = -1;
static struct os_file_id saved_id;

void stderr_save(void)
{
	struct os_file_id id;
	int fd;

	if (saved_stderr >= 0 || !os_file_id(2, &id))
		return;
	fd = os_dup_above(2, SAVED_STDERR_MIN);
	if (fd < 0)
		return;
	saved_id = id;
	saved_stderr = fd;
}

void write_saved_stderr(void *opaque, const char *text)
{
	struct os_file_id id;
	int fd = 2;

	if (saved_stderr >= 0 && os_file_id(saved_stderr, &id) &&
	    id.dev == saved_id.dev && id.ino == saved_id.ino)
		fd = saved_stderr;
	os_write(fd, text, strlen(text));
}

void report_write_after_free(const void *p, size_t offset, bool redzone)
{
	char buf[160];
	struct seq_buf s;

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	seq_buf_printf(&s, redzone ? "buddymalloc: free(): redzone overwritten "
				     "%p (offset %zu)\n" :
				     "buddymalloc: malloc(): write after free "
				     "%p (offset %zu)\n", p, offset);
	os_write(2, buf, strlen(buf));
	if (buddy_opts.bad_free == BAD_FREE_ABORT)
		os_abort();
}

void report_bad_pointer(const char *call, const void *addr,
			enum kfree_result res)
{
	char buf[160];
	struct seq_buf s;

	/* bad_free may be the first thing the program asks of us. */
	buddy_boot();
	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	seq_buf_printf(&s, "buddymalloc: %s(): %s %p\n", call,
		       res == KFREE_DOUBLE ? "double free detected" :
		       res == KFREE_SIZE ? "invalid size" :
		       res == KFREE_ALIGN ? "invalid alignment" :
					     "invalid pointer", addr);
	os_write(2, buf, strlen(buf));
	if (buddy_opts.bad_free == BAD_FREE_ABORT)
		os_abort();
}

/* ------------------------------------------------------- the live report */

/*
 * report_signal asks for the full report without stopping the program:
 * the handler only asks (reclaim_report_request: an atomic store and a
 * futex wake, both async-signal-safe), and node 0's reclaim thread writes
 * the report, with no lock held, through live_report_write. The file is
 * written under a temporary name in the same directory and renamed over
 * report_file, so a reader sees the previous report or the new one whole.
 *
 * The handler is installed once, in the constructor, and only if the
 * program (or a library loaded before us) does not handle the signal
 * already; a program that installs its own handler for it later takes
 * the signal over, and gets no more reports. A forked child inherits the
 * handler and writes its own report (%p is its pid) from its own thread,
 * started by the fork's child handler (live_report_fork_child; for a fork
 * from a signal handler that interrupted the allocator, by the child's
 * next allocator call through a slow path); a program exec'd from it
 * starts afresh. With reclaim_threads:0 there is no thread: the next
 * allocator call through a slow path (anything but the inline fast paths
 * of malloc and free: a page-level block, a per-CPU cache refill, calloc
 * ...) writes the report (vmscan.c).
 */
int report_signal_number(unsigned int report_signal)
{
	switch (report_signal) {
	case REPORT_SIGNAL_USR1:
		return SIGUSR1;
	case REPORT_SIGNAL_USR2:
		return SIGUSR2;
	case REPORT_SIGNAL_PWR:
		return SIGPWR;
	case REPORT_SIGNAL_URG:
		return SIGURG;
	case REPORT_SIGNAL_WINCH:
		return SIGWINCH;
	}
	return 0;
}

/* report_file with "%p" replaced by the pid and "%%" by '%'; false if it
 * does not fit. */
static bool report_path(char *out, size_t size)
{
	struct seq_buf s;
	const char *f = buddy_opts.report_file;

	seq_buf_init(&s, out, size, NULL, NULL);
	for (; *f; f++) {
		if (f[0] == '%' && f[1] == 'p') {
			seq_buf_printf(&s, "%d", (int)os_getpid());
			f++;
		} else if (f[0] == '%' && f[1] == '%') {
			seq_buf_putc(&s, '%');
			f++;
		} else {
			seq_buf_putc(&s, *f);
		}
	}
	seq_buf_str(&s);
	return s.len < size - 1;
}

struct report_fd {
	int fd;
	bool ok;
};

static void write_report_fd(void *opaque, const char *text)
{
	struct report_fd *r = opaque;

	if (!os_write(r->fd, text, strlen(text)))
		r->ok = false;
}

static void live_report_warn(const char *what, const char *path)
{
	char buf[REPORT_FILE_MAX + 96];
	struct seq_buf s;

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	seq_buf_printf(&s, "buddymalloc: report_file: cannot %s %s\n", what,
		       path);
	os_write(2, buf, strlen(buf));
}

bool live_report_write(void)
{
	char path[REPORT_FILE_MAX + 16], tmp[REPORT_FILE_MAX + 48];
	struct seq_buf s;
	struct report_fd r = { .ok = true };

	if (!report_path(path, sizeof(path))) {
		live_report_warn("expand", buddy_opts.report_file);
		return false;
	}
	/* Unique per process: a parent and a child writing one file each
	 * write their own temporary. */
	seq_buf_init(&s, tmp, sizeof(tmp), NULL, NULL);
	seq_buf_printf(&s, "%s.%d.tmp", path, (int)os_getpid());
	seq_buf_str(&s);
	r.fd = os_create(tmp);
	if (r.fd < 0) {
		live_report_warn("create", tmp);
		return false;
	}
	buddymalloc_stats_print(write_report_fd, &r, buddy_opts.report_opts);
	if (!r.ok) {
		os_close_unlink(r.fd, tmp);
		live_report_warn("write", tmp);
		return false;
	}
	if (!os_close_rename(r.fd, tmp, path)) {
		live_report_warn("rename to", path);
		return false;
	}
	return true;
}

static void live_report_run(void)
{
	live_report_write();
}

/* The handler is ours (installed at start-up). */
static bool live_report_on;

/* Async-signal-safe: reclaim_report_request keeps errno. */
static void live_report_signal(int sig)
{
	(void)sig;
	reclaim_report_request();
}

void live_report_init(void)
{
	int sig = report_signal_number(buddy_opts.report_signal);

	if (!sig)
		return;
	if (!os_signal_install(sig, live_report_signal)) {
		char buf[128];
		struct seq_buf s;

		seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
		seq_buf_printf(&s, "buddymalloc: report_signal: SIG%s is handled "
			       "by the program; no live report\n",
			       conf_find("report_signal", 13)->choices[buddy_opts.report_signal]);
		os_write(2, buf, strlen(buf));
		return;
	}
	live_report_on = true;
	reclaim_report_enable(live_report_run);
}

void live_report_fork_child(void)
{
	if (live_report_on && buddy_depth == 0)
		reclaim_report_enable(live_report_run);
}
