/*
 * fork_reclaim.c - fork() while the reclaim thread works.
 *
 * decay_ms is set to 1 (buddymalloc_mallctl("opt.decay_ms"), found with
 * dlsym: the preloaded build is not linked with us), so the reclaim thread
 * "buddy-kswapd0" releases what a churning thread frees within a
 * millisecond or two: it is isolating pageblocks, inside madvise or
 * holding a zone lock at any instant. The main thread forks 40 times
 * meanwhile. Each child allocates of every kind and checks what it wrote,
 * frees, gives memory back with malloc_trim, allocates once more (its own
 * reclaim thread starts lazily by then) and exits 0. A child that hangs is
 * killed after CHILD_TIMEOUT seconds and fails the test.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_util.h"

#define MiB		((size_t)1 << 20)
#define NR_FORKS	40
#define CHILD_TIMEOUT	60	/* seconds; a hang guard, not a budget */
#define WATCHDOG_SECONDS 300

static int (*mallctl)(const char *name, void *oldp, size_t *oldlenp,
		      void *newp, size_t newlen);

/* Is a thread of this process named name? (/proc/self/task/N/comm) */
static bool has_thread(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char path[300], comm[32] = "";
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n > 0 && comm[n - 1] == '\n')
			comm[n - 1] = '\0';
		found = strcmp(comm, name) == 0;
	}
	closedir(d);
	return found;
}

static volatile int stop;

/* Page-level blocks and small objects, touched and freed, without pause:
 * the reclaim thread always has something to release. */
static void *churn(void *arg)
{
	static const size_t sizes[] = { 64, 700, 5000, 70000, MiB, 3 * MiB };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);

	(void)arg;
	while (!stop) {
		void *p[64];

		for (size_t i = 0; i < 64; i++) {
			p[i] = malloc(sizes[i % n]);
			if (p[i])
				memset(p[i], (int)i, sizes[i % n]);
		}
		for (size_t i = 0; i < 64; i++)
			free(p[i]);
	}
	return NULL;
}

/* The child: allocate, check, free, trim, allocate again. */
static int child_work(void)
{
	static const size_t sizes[] = { 1, 100, 4096, 70000, MiB, 3 * MiB,
					9 * MiB };
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);
	void *p[sizeof(sizes) / sizeof(sizes[0])];

	for (size_t i = 0; i < n; i++) {
		p[i] = malloc(sizes[i]);
		if (p[i] == NULL)
			return 2;
		pattern_fill(p[i], sizes[i], i);
	}
	for (size_t i = 0; i < n; i++)
		if (pattern_check(p[i], sizes[i], i) != sizes[i])
			return 3;
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	malloc_trim(0);
	for (size_t i = 0; i < n; i++) {
		char *z = calloc(1, sizes[i]);

		if (z == NULL || zero_check(z, sizes[i]) != sizes[i])
			return 4;
		free(z);
	}
	return 0;
}

TEST_BEGIN(test_fork_while_reclaiming)
{
	unsigned int decay_ms = 1, old_ms = 0;
	size_t len = sizeof(old_ms);
	unsigned long ok = 0, failed = 0, hung = 0;
	pthread_t thread;

	if (!api_any_malloc()) {
		assert_ptr_not_null(mallctl, "buddymalloc_mallctl");
		assert_d_eq(mallctl("opt.decay_ms", &old_ms, &len, &decay_ms,
				    sizeof(decay_ms)), 0, "opt.decay_ms");
	}
	stop = 0;
	assert_d_eq(pthread_create(&thread, NULL, churn, NULL), 0);
	for (int i = 0; i < NR_FORKS; i++) {
		double started = test_now();
		pid_t pid = fork();
		int status;

		if (pid == 0)
			_exit(child_work());
		assert_d_gt(pid, 0, "fork %d", i);
		status = test_wait_child(pid, started, CHILD_TIMEOUT);
		if (status == -1)
			hung++;
		else if (status >= 0 && WIFEXITED(status) &&
			 WEXITSTATUS(status) == 0)
			ok++;
		else if (failed++ < 5)
			test_diag("child %d: status 0x%x", (int)pid, status);
	}
	if (!api_any_malloc())
		expect_true(has_thread("buddy-kswapd0"),
			    "the reclaim thread ran during the forks");
	stop = 1;
	pthread_join(thread, NULL);
	expect_lu_eq(ok, NR_FORKS, "children that exited 0");
	expect_lu_eq(hung, 0, "children that hung");
	if (!api_any_malloc())
		expect_d_eq(mallctl("opt.decay_ms", NULL, NULL, &old_ms,
				    sizeof(old_ms)), 0);
}
TEST_END

int main(void)
{
	api_watchdog(WATCHDOG_SECONDS);
	*(void **)&mallctl = dlsym(RTLD_DEFAULT, "buddymalloc_mallctl");
	return test_run(test_served_by_buddymalloc,
			test_fork_while_reclaiming, NULL);
}
