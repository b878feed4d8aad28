/*
 * guard.c - hardening:guard in a whole program: every block above the
 * slab classes (page-level sizes, above 32 KiB or aligned above a page)
 * and every direct mapping (above 4 MiB) ends against an inaccessible
 * page, and one starting on a page boundary has one before it too. A
 * forked child that reads or writes one byte past the usable size, or one
 * byte before such a start, dies of SIGSEGV; one that touches every page
 * of the block, first and last usable byte included, exits normally. The
 * same after realloc (grown, shrunk in place, moved), after a block is
 * reused from the cache of freed mappings, in a forked child's own
 * blocks; usable sizes, alignments, the statistics (guard pages are not
 * counted), malloc_trim, free_sized and the report of a double free work
 * as at the other levels.
 *
 * Not here: 8 KiB or memalign(4096, 20000), which are slab objects (the
 * classes go to 32 KiB; hardening:redzone checks those).
 *
 * The allocator reads BUDDYMALLOC_CONF at its first call, before main, so
 * the program re-executes itself with the setting when it runs without
 * it (decay_ms:0: a freed mapping stays in the cache until it is reused
 * or trimmed, so that the reuse tested here does not depend on timing).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"

#define CONF	"hardening:guard,decay_ms:0"

#define KiB	((size_t)1 << 10)
#define MiB	((size_t)1 << 20)
#define PAGE	((size_t)4096)

typedef int mallctl_fn(const char *name, void *oldp, size_t *oldlenp,
		       void *newp, size_t newlen);

static void (*free_sized)(void *p, size_t size);

static size_t stat_read(const char *name)
{
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT,
						  "buddymalloc_mallctl");
	size_t value = 0, len = sizeof(value);
	char full[64];

	snprintf(full, sizeof(full), "stats.%s", name);
	assert_ptr_not_null((void *)mallctl, "no buddymalloc_mallctl");
	assert_d_eq(mallctl(full, &value, &len, NULL, 0), 0, "%s", full);
	return value;
}

/* ----------------------------------------------------- /proc/self/maps */

static char maps[1 << 20];

/*
 * Is the page at addr mapped inaccessible ("---p" in /proc/self/maps)? A
 * fault alone does not tell a guard page from a hole in the address space,
 * which the next mmap of anyone may fill.
 */
static bool page_is_guard(uintptr_t addr)
{
	size_t len = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (len < sizeof(maps) - 1 &&
	       (n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	maps[len] = '\0';
	for (char *line = maps; *line;) {
		unsigned long start, end;
		char perms[8];
		char *nl = strchr(line, '\n');

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 &&
		    start <= addr && addr < end)
			return strcmp(perms, "---p") == 0;
		if (!nl)
			break;
		line = nl + 1;
	}
	return false;
}

/* --------------------------------------------------------- children */

enum access { INSIDE, READ_AFTER, WRITE_AFTER, READ_BEFORE, WRITE_BEFORE,
	      NEW_BLOCK_WRITE_AFTER };

static const char *const access_name[] = {
	"every page inside", "read 1 past the end", "write 1 past the end",
	"read 1 before the start", "write 1 before the start",
	"a block of the child's own, write 1 past the end",
};

static volatile unsigned char sink;

/*
 * In a forked child (no core file, a 30 s alarm), access a on the block
 * [p, p + usable). Returns the signal that killed it, 0 if it exited 0,
 * -1 on any other end.
 */
static int in_child(unsigned char *p, size_t usable, enum access a)
{
	volatile unsigned char *v = p;
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		unsigned char *own;

		setrlimit(RLIMIT_CORE, &no_core);
		alarm(30);
		switch (a) {
		case INSIDE:
			for (size_t i = 0; i < usable; i += PAGE) {
				sink = v[i];
				v[i] = (unsigned char)(sink + 1);
			}
			sink = v[usable - 1];
			v[usable - 1] = (unsigned char)(sink + 1);
			break;
		case READ_AFTER:
			sink = v[usable];
			break;
		case WRITE_AFTER:
			v[usable] = 1;
			break;
		case READ_BEFORE:
			sink = v[-1];
			break;
		case WRITE_BEFORE:
			v[-1] = 1;
			break;
		case NEW_BLOCK_WRITE_AFTER:
			own = malloc(usable);
			if (!own)
				_exit(3);
			v = own;
			v[malloc_usable_size(own)] = 1;
			break;
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void expect_fate(const char *what, unsigned char *p, size_t usable,
			enum access a, int want)
{
	int got = in_child(p, usable, a);

	if (got != want)
		test_fail("%s: %s: child %s %d, expected %s", what,
			  access_name[a], got > 0 ? "killed by signal" :
			  "ended with", got, want ? "SIGSEGV" : "exit 0");
}

/*
 * Block p of at least size bytes, aligned to align: usable up to a page
 * boundary, with a guard page after it and one before its first page;
 * every page inside accessible, a byte past the end faults (read and
 * write), so does a byte before the start when page_start (the start on
 * a page boundary, right after the guard).
 */
static void check_guarded(const char *what, void *p, size_t size,
			  size_t align, bool page_start)
{
	size_t usable;

	if (!p) {
		test_fail("%s: NULL", what);
		return;
	}
	usable = malloc_usable_size(p);
	expect_zu_ge(usable, size, "%s: usable size", what);
	expect_zu_eq(((uintptr_t)p + usable) % PAGE, 0,
		     "%s at %p: its end (usable %zu) is on the guard", what, p,
		     usable);
	expect_zu_eq((uintptr_t)p % align, 0, "%s at %p: aligned to %zu",
		     what, p, align);
	expect_true(page_is_guard((uintptr_t)p + usable),
		    "%s at %p: the page after it is a guard page", what, p);
	expect_true(page_is_guard(((uintptr_t)p & ~(PAGE - 1)) - PAGE),
		    "%s at %p: the page before it is a guard page", what, p);
	if (page_start)
		expect_zu_eq((uintptr_t)p % PAGE, 0,
			     "%s at %p: starts on a page", what, p);
	expect_fate(what, p, usable, INSIDE, 0);
	expect_fate(what, p, usable, READ_AFTER, SIGSEGV);
	expect_fate(what, p, usable, WRITE_AFTER, SIGSEGV);
	if (page_start) {
		expect_fate(what, p, usable, READ_BEFORE, SIGSEGV);
		expect_fate(what, p, usable, WRITE_BEFORE, SIGSEGV);
	}
}

/* check_guarded, then free. */
static void check_once(const char *what, void *p, size_t size, size_t align,
		       bool page_start)
{
	check_guarded(what, p, size, align, page_start);
	free(p);
}

/* ---------------------------------------------------------------- tests */

TEST_BEGIN(test_opt_hardening)
{
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT,
						  "buddymalloc_mallctl");
	const char *level = NULL;
	size_t len = sizeof(level);

	assert_ptr_not_null((void *)mallctl, "no buddymalloc_mallctl");
	assert_d_eq(mallctl("opt.hardening", &level, &len, NULL, 0), 0);
	assert_ptr_not_null(level);
	expect_true(strcmp(level, "guard") == 0, "opt.hardening is %s", level);
}
TEST_END

/* (a) page-level blocks: sizes above the classes, alignments above a
 * page, the memalign family, calloc. */
TEST_BEGIN(test_page_level_blocks)
{
	void *p;

	check_once("malloc(40 KiB)", malloc(40 * KiB), 40 * KiB, 16, true);
	check_once("malloc(100 KiB)", malloc(100 * KiB), 100 * KiB, 16,
		   true);
	check_once("calloc(1, 100 KiB)", calloc(1, 100 * KiB), 100 * KiB,
		   16, true);
	check_once("malloc(100001)", malloc(100001), 100001, 16, false);
	check_once("memalign(8192, 20000)", memalign(8192, 20000), 20000,
		   8192, true);
	check_once("memalign(4096, 40000)", memalign(4096, 40000), 40000,
		   4096, true);
	check_once("aligned_alloc(64, 50000)", aligned_alloc(64, 50000),
		   50000, 64, false);
	assert_d_eq(posix_memalign(&p, 16 * KiB, 40 * KiB), 0);
	check_once("posix_memalign(16 KiB, 40 KiB)", p, 40 * KiB, 16 * KiB,
		   true);
	/* The usable size goes to the guard, at malloc's granularity. */
	p = malloc(100001);
	expect_zu_eq(malloc_usable_size(p), 100016, "malloc(100001)");
	free(p);
}
TEST_END

/* (b) direct mappings (above the largest buddy block, 4 MiB). */
TEST_BEGIN(test_direct_mappings)
{
	void *p;

	check_once("malloc(5 MiB)", malloc(5 * MiB), 5 * MiB, 16, true);
	check_once("malloc(6 MiB + 48)", malloc(6 * MiB + 48), 6 * MiB + 48,
		   16, false);
	assert_d_eq(posix_memalign(&p, 2 * MiB, 5 * MiB), 0);
	check_once("posix_memalign(2 MiB, 5 MiB)", p, 5 * MiB, 2 * MiB,
		   true);
}
TEST_END

/* (c) after realloc: grown (moved), grown within its pages and shrunk (in
 * place), contents kept; page-level and mappings. */
TEST_BEGIN(test_realloc)
{
	unsigned char *p = malloc(5 * MiB), *q;

	assert_ptr_not_null(p);
	pattern_fill(p, 5 * MiB, 1);
	p = realloc(p, 9 * MiB);
	assert_ptr_not_null(p);
	expect_zu_eq(pattern_check(p, 5 * MiB, 1), 5 * MiB, "grown: contents");
	check_guarded("malloc(5 MiB), realloc(9 MiB)", p, 9 * MiB, 16, true);
	q = p;
	p = realloc(p, 6 * MiB);
	expect_ptr_eq(p, q, "shrunk in place");
	expect_zu_eq(pattern_check(p, 5 * MiB, 1), 5 * MiB, "shrunk: contents");
	check_guarded("then realloc(6 MiB)", p, 6 * MiB, 16, true);
	p = realloc(p, 6 * MiB - 100);
	expect_ptr_eq(p, q, "within its pages: in place");
	check_guarded("then realloc(6 MiB - 100)", p, 6 * MiB - 100, 16, true);
	free(p);

	p = malloc(40 * KiB);
	assert_ptr_not_null(p);
	pattern_fill(p, 40 * KiB, 2);
	p = realloc(p, 100 * KiB);
	assert_ptr_not_null(p);
	expect_zu_eq(pattern_check(p, 40 * KiB, 2), 40 * KiB, "contents");
	check_guarded("malloc(40 KiB), realloc(100 KiB)", p, 100 * KiB, 16,
		      true);
	q = p;
	p = realloc(p, 50 * KiB);
	expect_ptr_eq(p, q, "shrunk in place");
	check_guarded("then realloc(50 KiB)", p, 50 * KiB, 16, true);
	free(p);
}
TEST_END

/* (c) a block reused from the cache of freed mappings: same pages, guards
 * still in place; a smaller one too. */
TEST_BEGIN(test_cache_reuse)
{
	static const size_t sizes[] = { 5 * MiB, 100 * KiB };

	malloc_trim(0);		/* no other range of these sizes cached */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = malloc(sizes[i]), *q;
		char what[64];

		assert_ptr_not_null(p);
		free(p);
		expect_zu_ge(stat_read("huge_cached"), sizes[i],
			     "freed %zu bytes: cached", sizes[i]);
		q = malloc(sizes[i]);
		expect_ptr_eq(q, p, "malloc(%zu) again: the cached pages",
			      sizes[i]);
		snprintf(what, sizeof(what), "malloc(%zu) from the cache",
			 sizes[i]);
		check_guarded(what, q, sizes[i], 16, true);
		free(q);
	}
	/* A smaller block while a larger range is cached: guarded all the
	 * same (not cut from the range without a guard after it). */
	free(malloc(5 * MiB));
	check_once("malloc(100 KiB) with 5 MiB cached", malloc(100 * KiB),
		   100 * KiB, 16, true);
}
TEST_END

/* A forked child's own blocks are guarded too. */
TEST_BEGIN(test_child_blocks)
{
	int got = in_child(NULL, 100 * KiB, NEW_BLOCK_WRITE_AFTER);

	expect_d_eq(got, SIGSEGV, "%s", access_name[NEW_BLOCK_WRITE_AFTER]);
	got = in_child(NULL, 5 * MiB, NEW_BLOCK_WRITE_AFTER);
	expect_d_eq(got, SIGSEGV, "%s", access_name[NEW_BLOCK_WRITE_AFTER]);
}
TEST_END

/* Guard pages are neither live nor resident in the statistics: a block
 * counts its own pages only; malloc_trim empties the cache. */
TEST_BEGIN(test_stats_and_trim)
{
	size_t live0 = stat_read("huge_allocated"), nr0 = stat_read("nr_huge");
	void *p = malloc(100 * KiB), *q = malloc(5 * MiB + 1);

	assert_ptr_not_null(p);
	assert_ptr_not_null(q);
	expect_zu_eq(stat_read("nr_huge"), nr0 + 2);
	expect_zu_eq(stat_read("huge_allocated"),
		     live0 + 100 * KiB + 5 * MiB + PAGE,
		     "the blocks' pages, no guard");
	free(p);
	free(q);
	expect_zu_eq(stat_read("huge_allocated"), live0);
	malloc_trim(0);
	expect_zu_eq(stat_read("huge_cached"), 0, "trimmed");
	check_once("malloc(100 KiB) after malloc_trim", malloc(100 * KiB),
		   100 * KiB, 16, true);
}
TEST_END

/* free_sized takes a guarded block of its size; a double free of one is
 * reported (one line naming the pointer) and aborts. */
static int double_free_child(size_t size, char *err, size_t err_size,
			     void **addr)
{
	int pipefd[2], status;
	void *p = malloc(size);
	pid_t pid;
	ssize_t n;

	*addr = p;
	if (!p || pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		dup2(pipefd[1], STDERR_FILENO);
		alarm(30);
		free(p);
		free(p);
		_exit(0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], err, err_size - 1);
	err[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	free(p);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

TEST_BEGIN(test_misuse)
{
	static const size_t sizes[] = { 100 * KiB, 5 * MiB };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char err[256], addr[32];
		void *p;
		int sig = double_free_child(sizes[i], err, sizeof(err), &p);

		snprintf(addr, sizeof(addr), "%p\n", p);
		expect_d_eq(sig, SIGABRT, "double free of %zu bytes", sizes[i]);
		expect_true(strncmp(err, "buddymalloc: free(): ", 21) == 0 &&
			    strlen(err) > strlen(addr) &&
			    strcmp(err + strlen(err) - strlen(addr), addr) == 0,
			    "report \"%s\" names %p", err, p);
		p = malloc(sizes[i] + 1);
		assert_ptr_not_null(p);
		free_sized(p, sizes[i] + 1);	/* aborts if refused */
	}
}
TEST_END

int main(int argc, char **argv)
{
	const char *conf = getenv("BUDDYMALLOC_CONF");

	(void)argc;
	if (!conf || strcmp(conf, CONF) != 0) {
		setenv("BUDDYMALLOC_CONF", CONF, 1);
		execv("/proc/self/exe", argv);
		printf("Bail out! cannot re-execute with BUDDYMALLOC_CONF=%s: %s\n",
		       CONF, strerror(errno));
		return 99;
	}
	free_sized = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
	if (!free_sized) {
		printf("Bail out! no free_sized\n");
		return 99;
	}
	api_watchdog(300);
	return test_run(test_served_by_buddymalloc,
			test_opt_hardening,
			test_page_level_blocks,
			test_direct_mappings,
			test_realloc,
			test_cache_reuse,
			test_child_blocks,
			test_stats_and_trim,
			test_misuse,
			NULL);
}
