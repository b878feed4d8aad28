/*
 * live_report.c - report_signal: a signal asks a running program for its
 * full report, the reclaim thread writes it to report_file (preload/
 * report.c, core/vmscan.c).
 *
 * Each case runs the program in a fresh child: this program re-executes
 * itself ("live_report child MODE") with BUDDYMALLOC_CONF set, so the
 * setting goes through the real start-up path (and, in the preloaded
 * build, LD_PRELOAD is inherited). The child talks to the parent over two
 * pipes: it writes one byte when ready and blocks in read() on its stdin
 * otherwise, so it makes no allocator call while the report is awaited
 * unless told to ('m'). The parent sends the signal and waits for a new
 * file to be renamed into place (a new inode), polling for at most
 * REPORT_WAIT_S seconds: a generous bound, not a timing assumption.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_util.h"

#define REPORT_WAIT_S	60
#define BUSY_THREADS	4
#define BUSY_SIGNALS	30

static char dir[64];

/* ------------------------------------------------------------ the child */

static void child_write(char c)
{
	if (write(1, &c, 1) != 1)
		_exit(90);
}

/* Block in read() on stdin; 'm' asks for a malloc and free of a
 * page-level block (a slow path: the inline fast paths check nothing),
 * answered by 'k'. Returns at EOF. */
static void child_serve(void)
{
	char c;

	for (;;) {
		ssize_t n = read(0, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		if (c == 'm') {
			void *volatile p = malloc(256 << 10);

			free(p);
			child_write('k');
		}
	}
}

static volatile int busy_stop;

static void *busy_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	void *held[64] = { 0 };

	while (!__atomic_load_n(&busy_stop, __ATOMIC_RELAXED)) {
		unsigned int i = (seed = seed * 1103515245u + 12345u) >> 16;
		size_t size = 16 + (i % 4096);

		free(held[i % 64]);
		held[i % 64] = malloc(i % 16 ? size : size * 256);
		if (held[i % 64])
			memset(held[i % 64], 0x5a, 16);
	}
	for (int i = 0; i < 64; i++)
		free(held[i]);
	return NULL;
}

static void own_handler(int sig)
{
	(void)sig;
	child_write('h');
}

static int child_main(const char *mode)
{
	void *volatile p = malloc(100);

	if (strcmp(mode, "idle") == 0) {
		child_write('r');
		child_serve();
	} else if (strcmp(mode, "busy") == 0) {
		pthread_t t[BUSY_THREADS];

		for (int i = 0; i < BUSY_THREADS; i++)
			if (pthread_create(&t[i], NULL, busy_thread,
					   (void *)(uintptr_t)(i + 1)) != 0)
				return 91;
		child_write('r');
		child_serve();
		__atomic_store_n(&busy_stop, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < BUSY_THREADS; i++)
			pthread_join(t[i], NULL);
	} else if (strcmp(mode, "fork") == 0) {
		pid_t pid = fork();

		if (pid < 0)
			return 92;
		if (pid == 0) {
			/* The grandchild: no allocator call, idle. */
			pid = getpid();
			if (write(1, &pid, sizeof(pid)) != sizeof(pid))
				_exit(93);
			child_serve();
			_exit(0);
		}
		child_serve();
		waitpid(pid, NULL, 0);
	} else if (strcmp(mode, "own_handler") == 0) {
		struct sigaction sa = { .sa_handler = own_handler,
					.sa_flags = SA_RESTART };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR2, &sa, NULL);
		child_write('r');
		child_serve();
	} else {
		return 94;
	}
	free(p);
	return 0;
}

/* ----------------------------------------------------------- the parent */

struct child {
	pid_t pid;
	int to, from;		/* its stdin, its stdout */
	int err;		/* its stderr */
};

/* Start "live_report child mode" with BUDDYMALLOC_CONF=conf (NULL: none)
 * and SIGUSR2 ignored if ignore_usr2. */
static void child_start(struct child *c, const char *mode, const char *conf,
			bool ignore_usr2)
{
	int in[2], out[2], err[2];

	assert_d_eq(pipe(in), 0);
	assert_d_eq(pipe(out), 0);
	assert_d_eq(pipe(err), 0);
	c->pid = fork();
	assert_d_ge(c->pid, 0);
	if (c->pid == 0) {
		char *argv[] = { "live_report", "child", (char *)mode, NULL };

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[1]);
		close(out[0]);
		close(err[0]);
		if (conf)
			setenv("BUDDYMALLOC_CONF", conf, 1);
		else
			unsetenv("BUDDYMALLOC_CONF");
		signal(SIGUSR2, ignore_usr2 ? SIG_IGN : SIG_DFL);
		execv("/proc/self/exe", argv);
		_exit(95);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	c->to = in[1];
	c->from = out[0];
	c->err = err[0];
}

static char child_read(struct child *c)
{
	char ch = 0;

	while (read(c->from, &ch, 1) < 0 && errno == EINTR)
		;
	return ch;
}

/* Close its stdin and collect its exit status. */
static int child_finish(struct child *c)
{
	int status;

	close(c->to);
	assert_d_eq(waitpid(c->pid, &status, 0), c->pid);
	close(c->from);
	close(c->err);
	return status;
}

static void report_path(char *path, size_t size, pid_t pid)
{
	snprintf(path, size, "%s/report.%d", dir, (int)pid);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* Wait (bounded) for a file at path whose inode is not old; read it into
 * buf. false if none came. */
static bool report_wait(const char *path, ino_t old, char *buf, size_t size)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < REPORT_WAIT_S * 100; i++) {
		ino_t now = inode_of(path);

		if (now && now != old) {
			int fd = open(path, O_RDONLY);
			size_t len = 0;
			ssize_t n;

			if (fd < 0)
				continue;
			while (len < size - 1 &&
			       (n = read(fd, buf + len, size - 1 - len)) > 0)
				len += (size_t)n;
			close(fd);
			buf[len] = '\0';
			return true;
		}
		nanosleep(&tick, NULL);
	}
	return false;
}

/* Signal pid for a new report at path (whose inode differs from the one
 * there now) and wait for it into buf. false if the signal failed or no
 * new report came. */
static bool report_ask(pid_t pid, const char *path, char *buf, size_t size)
{
	ino_t old = inode_of(path);

	return kill(pid, SIGUSR2) == 0 && report_wait(path, old, buf, size);
}

/* Every part of the full report, the last one (lifetime) included. */
static void expect_full_report(const char *text, pid_t pid)
{
	char who[64];

	snprintf(who, sizeof(who), "buddymalloc (pid %d, exe ", (int)pid);
	expect_ptr_not_null(strstr(text, who), "summary of pid %d:\n%.300s",
			    (int)pid, text);
	expect_ptr_not_null(strstr(text, "\nNode 0, zone "), "buddyinfo");
	expect_ptr_not_null(strstr(text, "Free pages count per migrate type"),
			    "pagetypeinfo");
	expect_ptr_not_null(strstr(text, "\nnr_free_pages "), "vmstat");
	expect_ptr_not_null(strstr(text, "  pagesets"), "zoneinfo");
	expect_ptr_not_null(strstr(text, "slabinfo - version: 2.1"), "slabinfo");
	expect_ptr_not_null(strstr(text, "pcp_pages"), "percpu");
	expect_ptr_not_null(strstr(text, "lifetime classifier: "), "lifetime");
}

/* Does the process have a thread named buddy-kswapd<N>? */
static bool has_reclaim_thread(pid_t pid)
{
	char path[320];
	struct dirent *d;
	bool found = false;
	DIR *tasks;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	tasks = opendir(path);
	if (!tasks)
		return false;
	while (!found && (d = readdir(tasks))) {
		char comm[64] = "";
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid,
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			found = strncmp(comm, "buddy-kswapd", 12) == 0;
		fclose(f);
	}
	closedir(tasks);
	return found;
}

/* The signal mask line ("SigCgt:", "SigIgn:") of /proc/PID/status. */
static unsigned long long sig_mask(pid_t pid, const char *field)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			mask = strtoull(line + strlen(field), NULL, 16);
	fclose(f);
	return mask;
}

#define SIG_BIT(sig)	(1ULL << ((sig) - 1))

static char conf[512];

static const char *conf_with(const char *extra)
{
	snprintf(conf, sizeof(conf), "report_signal:USR2,report_file:%s/report.%%p%s",
		 dir, extra);
	return conf;
}

/* The JSON form's report.thread: who wrote the report. */
static void expect_writer(const char *text, bool reclaim_thread)
{
	const char *thread = strstr(text, "\"thread\":\"");

	assert_ptr_not_null(thread, "no report.thread in %.200s", text);
	thread += strlen("\"thread\":\"");
	if (reclaim_thread)
		expect_d_eq(strncmp(thread, "buddy-kswapd0\"", 14), 0,
			    "written by %.20s", thread);
	else
		expect_d_ne(strncmp(thread, "buddy-kswapd", 12), 0,
			    "written by %.20s", thread);
}

/* A child blocked in read() gets the signal; the report appears while it
 * stays blocked, so another thread wrote it: the reclaim thread, which
 * runs (started at start-up for the report). */
TEST_BEGIN(test_report_on_signal)
{
	static char text[1 << 20];
	char path[256];
	struct child c;

	child_start(&c, "idle", conf_with(""), false);
	assert_d_eq(child_read(&c), 'r');
	report_path(path, sizeof(path), c.pid);
	expect_true(SIG_BIT(SIGUSR2) & sig_mask(c.pid, "SigCgt:"),
		    "handler installed");
	assert_d_eq(kill(c.pid, SIGUSR2), 0);
	assert_true(report_wait(path, 0, text, sizeof(text)),
		    "no report in %s after %d s", path, REPORT_WAIT_S);
	expect_full_report(text, c.pid);
	expect_true(has_reclaim_thread(c.pid));
	/* A second signal, a second (new) file. */
	expect_true(report_ask(c.pid, path, text, sizeof(text)));
	expect_full_report(text, c.pid);
	expect_d_eq(child_finish(&c), 0);
	unlink(path);
}
TEST_END

/* Who writes the report: the reclaim thread (the JSON form names it),
 * whatever thread the handler ran on; with reclaim_threads:0, the
 * program's own thread on its next slow-path call. */
TEST_BEGIN(test_report_writer)
{
	static char text[1 << 20];
	char path[256];
	struct child c;

	child_start(&c, "busy", conf_with(",report_opts:all+J"), false);
	assert_d_eq(child_read(&c), 'r');
	report_path(path, sizeof(path), c.pid);
	for (int i = 0; i < 3; i++) {
		assert_true(report_ask(c.pid, path, text, sizeof(text)));
		expect_writer(text, true);
	}
	expect_d_eq(child_finish(&c), 0);
	unlink(path);

	child_start(&c, "idle", conf_with(",report_opts:all+J,reclaim_threads:0"),
		    false);
	assert_d_eq(child_read(&c), 'r');
	report_path(path, sizeof(path), c.pid);
	assert_d_eq(kill(c.pid, SIGUSR2), 0);
	assert_d_eq(write(c.to, "m", 1), 1);
	assert_d_eq(child_read(&c), 'k');
	assert_true(report_wait(path, 0, text, sizeof(text)));
	expect_writer(text, false);
	expect_d_eq(child_finish(&c), 0);
	unlink(path);
}
TEST_END

/* Threads allocating and freeing all the time, signalled again and again:
 * every report is whole, and the program goes on and exits cleanly. */
TEST_BEGIN(test_report_while_busy)
{
	static char text[1 << 20];
	char path[256];
	struct child c;

	child_start(&c, "busy", conf_with(""), false);
	assert_d_eq(child_read(&c), 'r');
	report_path(path, sizeof(path), c.pid);
	for (int i = 0; i < BUSY_SIGNALS; i++) {
		assert_true(report_ask(c.pid, path, text, sizeof(text)),
			    "signal %d: no new report after %d s", i,
			    REPORT_WAIT_S);
		expect_full_report(text, c.pid);
	}
	expect_d_eq(child_finish(&c), 0);
	unlink(path);
}
TEST_END

/* reclaim_threads:0: no thread; the program's next allocator call through
 * a slow path writes the report, before it returns. */
TEST_BEGIN(test_report_threads_off)
{
	static char text[1 << 20];
	char path[256];
	struct child c;

	child_start(&c, "idle", conf_with(",reclaim_threads:0"), false);
	assert_d_eq(child_read(&c), 'r');
	report_path(path, sizeof(path), c.pid);
	assert_d_eq(kill(c.pid, SIGUSR2), 0);
	/* The signal is pending before 'm' is written: the handler runs
	 * before read() returns it. */
	assert_d_eq(write(c.to, "m", 1), 1);
	assert_d_eq(child_read(&c), 'k');
	expect_true(inode_of(path) != 0, "no report after the malloc");
	assert_true(report_wait(path, 0, text, sizeof(text)));
	expect_full_report(text, c.pid);
	expect_false(has_reclaim_thread(c.pid));
	expect_d_eq(child_finish(&c), 0);
	unlink(path);
}
TEST_END

/* Without report_signal, no handler; a signal the program ignores at
 * start-up stays ignored, with one line on stderr. */
TEST_BEGIN(test_handler_only_when_set)
{
	char err[512] = "";
	struct child c;
	ssize_t n;

	child_start(&c, "idle", "decay_ms:500", false);
	assert_d_eq(child_read(&c), 'r');
	expect_false(SIG_BIT(SIGUSR2) & sig_mask(c.pid, "SigCgt:"));
	expect_d_eq(child_finish(&c), 0);

	child_start(&c, "idle", conf_with(""), true);
	assert_d_eq(child_read(&c), 'r');
	expect_true(SIG_BIT(SIGUSR2) & sig_mask(c.pid, "SigIgn:"));
	expect_false(SIG_BIT(SIGUSR2) & sig_mask(c.pid, "SigCgt:"));
	close(c.to);
	c.to = open("/dev/null", O_WRONLY);
	n = read(c.err, err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	expect_str_eq(err, "buddymalloc: report_signal: SIGUSR2 is handled "
		      "by the program; no live report\n");
	expect_d_eq(child_finish(&c), 0);
}
TEST_END

/* A handler the program installs later is the program's: ours is not put
 * back. */
TEST_BEGIN(test_program_handler_wins)
{
	struct child c;

	child_start(&c, "own_handler", conf_with(""), false);
	assert_d_eq(child_read(&c), 'r');
	assert_d_eq(kill(c.pid, SIGUSR2), 0);
	expect_d_eq(child_read(&c), 'h');
	expect_d_eq(child_finish(&c), 0);
}
TEST_END

/* A forked child answers with its own report, from its own thread,
 * started when it forked: it makes no slow-path call. */
TEST_BEGIN(test_fork_child_reports)
{
	static char text[1 << 20];
	char path[256];
	struct child c;
	pid_t grandchild = 0;

	child_start(&c, "fork", conf_with(""), false);
	assert_d_eq(read(c.from, &grandchild, sizeof(grandchild)),
		    (ssize_t)sizeof(grandchild));
	report_path(path, sizeof(path), grandchild);
	assert_d_eq(kill(grandchild, SIGUSR2), 0);
	assert_true(report_wait(path, 0, text, sizeof(text)),
		    "no report from the forked child %d", (int)grandchild);
	expect_full_report(text, grandchild);
	expect_d_eq(child_finish(&c), 0);
	unlink(path);
}
TEST_END

int main(int argc, char **argv)
{
	int rc;

	if (argc == 3 && strcmp(argv[1], "child") == 0)
		return child_main(argv[2]);
	api_watchdog(600);
	snprintf(dir, sizeof(dir), "/tmp/buddy-live-report.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 99;
	}
	rc = test_run(test_served_by_buddymalloc,
		      test_report_on_signal,
		      test_report_while_busy,
		      test_report_writer,
		      test_report_threads_off,
		      test_handler_only_when_set,
		      test_program_handler_wins,
		      test_fork_child_reports,
		      NULL);
	rmdir(dir);
	return rc;
}
