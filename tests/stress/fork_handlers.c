/*
 * fork_handlers.c - fork() completes whatever other code does around it:
 *
 *  - other libraries' atfork handlers allocate: this program links
 *    tests/stress/atfork_alloc.c, whose constructor runs before
 *    libbuddymalloc's, so its prepare handler runs after ours and its child
 *    handler before ours; each allocates and frees a small object, a page
 *    run and a direct mapping. Forks from a single-threaded parent, then
 *    from one where two threads allocate meanwhile.
 *  - stdio: while the main thread forks, threads call fflush(NULL) (which
 *    holds glibc's list of streams and takes each stream's lock), read a
 *    file with getline (which allocates under that stream's lock) and
 *    malloc and free. glibc's fork() takes the stream list lock after the
 *    atfork handlers, so an allocator that holds its locks from its prepare
 *    handler on deadlocks against a thread that holds a stream lock and
 *    waits inside malloc (modelled on glibc's tst-malloc-fork-deadlock).
 *
 * Every child checks that the handlers ran and allocated, allocates itself
 * and _exit()s. A watchdog fails the test if a fork hangs (a hang guard
 * only: each fork takes milliseconds).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dirent.h>
#include <dlfcn.h>

#include "api_util.h"

extern unsigned long atfork_alloc_runs[3];
extern unsigned long atfork_alloc_errors;

#define WATCHDOG_SECONDS	240

static volatile int stop;

/* buddymalloc_mallctl, looked up once in main (the preloaded build is
 * not linked with the library). */
static int (*mallctl)(const char *name, void *oldp, size_t *oldlenp,
		      void *newp, size_t newlen);

/* stats.fork_kept or stats.fork_abandoned (buddymalloc.h); 0 when the
 * allocator is not ours. */
static size_t fork_stat(const char *name)
{
	size_t v = 0, len = sizeof(v);

	if (api_any_malloc() || !mallctl || mallctl(name, &v, &len, NULL, 0))
		return 0;
	return v;
}

/* When set, a child must have kept the inherited heap: nothing was inside
 * the allocator at the fork. */
static bool expect_kept;

/* In a child: the handlers ran here too, and malloc works. */
static int child_work(unsigned long child_runs_before, size_t kept_before,
		      size_t abandoned_before)
{
	size_t kept = fork_stat("stats.fork_kept");
	size_t abandoned = fork_stat("stats.fork_abandoned");

	if (!api_any_malloc() && kept + abandoned != kept_before + abandoned_before + 1)
		return 5;	/* the child did not settle its heap */
	if (!api_any_malloc() && expect_kept && kept != kept_before + 1)
		return 6;	/* abandoned a heap nobody was using */
	void *p = malloc(100), *q = malloc(100000), *r = malloc(6 << 20);

	if (atfork_alloc_runs[2] != child_runs_before + 1)
		return 2;
	if (atfork_alloc_errors != 0)
		return 3;
	if (!p || !q || !r)
		return 4;
	memset(p, 1, 100);
	memset(q, 2, 100000);
	memset(r, 3, 6 << 20);
	free(p);
	free(q);
	free(r);
	return 0;
}

static bool fork_and_wait(void)
{
	unsigned long before = atfork_alloc_runs[2];
	size_t kept = fork_stat("stats.fork_kept");
	size_t abandoned = fork_stat("stats.fork_abandoned");
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(child_work(before, kept, abandoned));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		test_diag("child: status %#x (5: heap not settled, 6: abandoned "
			  "with nothing busy)", status);
		return false;
	}
	return true;
}

static void *churn(void *arg)
{
	uint64_t rng = (uintptr_t)arg;

	while (!stop) {
		void *p[16];

		for (int i = 0; i < 16; i++)
			p[i] = malloc(rand_below(&rng, 4) == 0 ?
				      rand_below(&rng, 256 << 10) + 1 :
				      rand_below(&rng, 2048) + 1);
		for (int i = 0; i < 16; i++)
			free(p[i]);
	}
	return NULL;
}

static void forks(const char *what, int n)
{
	unsigned long ok = 0, runs0 = atfork_alloc_runs[0];

	for (int i = 0; i < n; i++)
		ok += fork_and_wait();
	expect_lu_eq(ok, (unsigned long)n, "%s: every child ran its handler "
		     "and allocated", what);
	expect_lu_eq(atfork_alloc_runs[0] - runs0, (unsigned long)n,
		     "%s: prepare handlers allocated", what);
	expect_lu_eq(atfork_alloc_errors, 0, "%s: their blocks were right", what);
}

/* Single-threaded: every child keeps the heap (stats.fork_kept). The
 * process runs with reclaim_threads:0 (main), so no reclaim thread can
 * hold a zone lock at a fork: then the child would rightly abandon it. */
/* Threads of this process (/proc/self/task). */
static int nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

TEST_BEGIN(test_atfork_handlers_allocate)
{
	void *warm = malloc(8 << 20);	/* would start a reclaim thread */

	free(warm);
	expect_d_eq(nr_threads(), 1, "the parent is single-threaded");
	expect_kept = true;
	forks("single-threaded parent", 30);
	expect_kept = false;
}
TEST_END

TEST_BEGIN(test_atfork_handlers_allocate_with_threads)
{
	pthread_t t[2];

	stop = 0;
	for (uintptr_t i = 0; i < 2; i++)
		assert_d_eq(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
	forks("threads allocating", 100);
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}
TEST_END

/* ------------------------------------------------------ stdio vs fork */

static char lines_path[] = "/tmp/buddy-fork-stdio-XXXXXX";

/* Reads the file line by line: getline grows its buffer with realloc
 * while holding the stream's lock. */
static void *reader(void *arg)
{
	(void)arg;
	while (!stop) {
		FILE *f = fopen(lines_path, "r");
		char *line = NULL;
		size_t cap = 0;

		if (!f)
			continue;
		while (getline(&line, &cap, f) > 0)
			;
		free(line);
		fclose(f);
	}
	return NULL;
}

static void *flusher(void *arg)
{
	(void)arg;
	while (!stop)
		fflush(NULL);
	return NULL;
}

TEST_BEGIN(test_fork_against_stdio)
{
	pthread_t t[5];
	void *(*fn[5])(void *) = { reader, reader, flusher, churn, churn };
	int fd = mkstemp(lines_path);
	FILE *f;

	assert_d_ge(fd, 0, "temporary file");
	f = fdopen(fd, "w");
	assert_ptr_not_null(f);
	/* Lines of growing length, so each reader reallocates many times. */
	for (int i = 0; i < 200; i++) {
		for (int j = 0; j < i * 40; j++)
			fputc('a' + j % 26, f);
		fputc('\n', f);
	}
	fclose(f);

	stop = 0;
	for (uintptr_t i = 0; i < 5; i++)
		assert_d_eq(pthread_create(&t[i], NULL, fn[i], (void *)(i + 7)), 0);
	forks("stdio threads", 200);
	stop = 1;
	for (int i = 0; i < 5; i++)
		pthread_join(t[i], NULL);
	unlink(lines_path);
}
TEST_END

int main(int argc, char **argv)
{
	(void)argc;
	/* No reclaim thread: test_atfork_handlers_allocate's parent must be
	 * really single-threaded (its decay runs inline instead). */
	api_conf_require(argv, "reclaim_threads:0");
	api_watchdog(WATCHDOG_SECONDS);
	*(void **)&mallctl = dlsym(RTLD_DEFAULT, "buddymalloc_mallctl");
	return test_run(test_served_by_buddymalloc,
			test_atfork_handlers_allocate,
			test_atfork_handlers_allocate_with_threads,
			test_fork_against_stdio, NULL);
}
