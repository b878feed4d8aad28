/*
 * bad_free.c - bad pointers given to free() and realloc() are reported in
 * one line naming the call and the address, then the process aborts; with
 * BUDDYMALLOC_CONF=bad_free:report it prints the same line and goes on.
 *
 * Each misuse runs in a fresh child: this program re-executes itself
 * ("bad_free child CASE") with stderr on a pipe and BUDDYMALLOC_CONF set or
 * not, so the setting goes through the real start-up path. The child writes
 * the address it is about to misuse to stdout; the parent builds the line
 * it expects from it and compares stderr with it exactly, then checks how
 * the child ended: killed by SIGABRT, or (report mode) exit status 0 after
 * allocating again and finding its live blocks intact.
 *
 * Linked with libbuddymalloc.la, so this program's malloc is ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buddymalloc.h"
#include "tap.h"

void cfree(void *p);
void free_sized(void *p, size_t size);

/* ------------------------------------------------------------ the child */

/* Exit statuses of a child that went on after the bad call. */
#define CHILD_OK		0
#define CHILD_BAD_RESULT	3	/* the call returned something wrong */
#define CHILD_CORRUPT		4	/* a live block changed */
#define CHILD_NO_MALLOC		5	/* malloc failed afterwards */

static char global_block[256] __attribute__((aligned(64)));

static void say_address(const void *p)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%p\n", p);

	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		_exit(98);
}

/* The same pointer as the program holds it: the compiler must not know
 * what free() is given (it warns about, or drops, frees of non-heap
 * objects). */
static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

/* A live neighbour in the same slab, filled with a pattern, checked after
 * the bad call: the bad call must not have touched the heap. */
static unsigned char *keep;
#define KEEP_SIZE	64

static void keep_alloc(void)
{
	keep = malloc(KEEP_SIZE);
	if (!keep)
		_exit(CHILD_NO_MALLOC);
	memset(keep, 0x5a, KEEP_SIZE);
}

static int after(void)
{
	void *blocks[64];

	for (int i = 0; i < KEEP_SIZE; i++)
		if (keep[i] != 0x5a)
			return CHILD_CORRUPT;
	for (int i = 0; i < 64; i++) {
		blocks[i] = malloc((size_t)i * 100 + 1);
		if (!blocks[i])
			return CHILD_NO_MALLOC;
		memset(blocks[i], i, (size_t)i * 100 + 1);
	}
	for (int i = 0; i < 64; i++)
		free(blocks[i]);
	free(keep);
	return CHILD_OK;
}

/* realloc of a bad pointer, in report mode: NULL with errno EINVAL. */
static int bad_realloc(void *p, size_t size)
{
	void *q;

	say_address(p);
	errno = 0;
	q = realloc(launder(p), size);
	if (size != 0 && (q != NULL || errno != EINVAL))
		return CHILD_BAD_RESULT;
	if (size == 0 && q != NULL)
		return CHILD_BAD_RESULT;
	return after();
}

static int bad_free(void *p)
{
	say_address(p);
	free(launder(p));
	return after();
}

static void *freed_block(size_t size)
{
	void *p = malloc(size);
	uintptr_t addr = (uintptr_t)p;

	if (!p)
		_exit(CHILD_NO_MALLOC);
	__asm__ volatile("" : "+r"(addr));	/* no use-after-free warning */
	free(p);
	return (void *)addr;
}

/*
 * A double free of a small block that is not the most recent free: a is
 * freed, then others of its class (a few, or enough to flush this CPU's
 * stack to the slab layer, or a malloc_trim that drains every stack), then
 * a again. Reported at the second free, naming a; in report mode the
 * second free is ignored, and a is handed out at most once afterwards.
 */
#define DF_SIZE		64
#define DF_OTHERS	600

static int double_free_after(unsigned int others, bool trim)
{
	static void *other[DF_OTHERS], *got[DF_OTHERS + 2];
	unsigned int seen = 0;
	void *a = malloc(DF_SIZE);

	if (!a)
		return CHILD_NO_MALLOC;
	for (unsigned int i = 0; i < others; i++)
		if (!(other[i] = malloc(DF_SIZE)))
			return CHILD_NO_MALLOC;
	free(a);
	for (unsigned int i = 0; i < others; i++)
		free(other[i]);
	if (trim)
		malloc_trim(0);
	say_address(a);
	free(launder(a));
	for (unsigned int i = 0; i < others + 2; i++) {
		if (!(got[i] = malloc(DF_SIZE)))
			return CHILD_NO_MALLOC;
		seen += got[i] == a;
	}
	if (seen > 1)
		return CHILD_BAD_RESULT;	/* two owners of one block */
	for (unsigned int i = 0; i < others + 2; i++)
		free(got[i]);
	return after();
}

static int run_case(const char *name)
{
	int local = 0;
	void *p;

	keep_alloc();
	if (!strcmp(name, "double_free_small"))
		return bad_free(freed_block(KEEP_SIZE));
	if (!strcmp(name, "double_free_aba"))
		return double_free_after(1, false);
	if (!strcmp(name, "double_free_far"))
		return double_free_after(300, false);
	if (!strcmp(name, "double_free_flushed"))
		return double_free_after(DF_OTHERS, false);
	if (!strcmp(name, "double_free_trimmed"))
		return double_free_after(1, true);
	if (!strcmp(name, "double_free_large"))
		return bad_free(freed_block(256 << 10));
	if (!strcmp(name, "double_free_huge"))
		return bad_free(freed_block(8 << 20));
	if (!strcmp(name, "free_stack"))
		return bad_free(&local);
	if (!strcmp(name, "free_global"))
		return bad_free(global_block + 64);
	if (!strcmp(name, "free_mmap")) {
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? CHILD_NO_MALLOC : bad_free(p);
	}
	if (!strcmp(name, "free_interior_small"))
		return bad_free(keep + 16);
	if (!strcmp(name, "free_interior_large")) {
		p = malloc(256 << 10);
		return p ? bad_free((char *)p + 8192) : CHILD_NO_MALLOC;
	}
	if (!strcmp(name, "realloc_double"))
		return bad_realloc(freed_block(KEEP_SIZE), 100);
	if (!strcmp(name, "realloc_stack"))
		return bad_realloc(&local, 100);
	if (!strcmp(name, "realloc_global"))
		return bad_realloc(global_block, 100);
	if (!strcmp(name, "realloc_interior"))
		return bad_realloc(keep + 32, 100);
	if (!strcmp(name, "realloc_zero_stack"))
		return bad_realloc(&local, 0);
	if (!strcmp(name, "cfree_stack")) {
		say_address(&local);
		cfree(launder(&local));
		return after();
	}
	if (!strcmp(name, "free_sized_interior")) {
		say_address(keep + 16);
		free_sized(launder(keep + 16), 16);
		return after();
	}
	if (!strcmp(name, "usable_size_foreign")) {
		/* Not a check in glibc either: 0, no report. */
		say_address(&local);
		if (malloc_usable_size(launder(&local)) != 0 ||
		    malloc_usable_size(keep + 16) != 0)
			return CHILD_BAD_RESULT;
		return after();
	}
	return 97;
}

/* ----------------------------------------------------------- the parent */

static const char *self;

struct outcome {
	bool exited;
	int status;		/* exit status, or the signal */
	char address[64];	/* the child's stdout, without the newline */
	char err[1024];		/* the child's stderr */
};

static size_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size &&
	       ((n = read(fd, buf + len, size - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	buf[len] = '\0';
	return len;
}

/* Runs "self child name" with BUDDYMALLOC_CONF=conf (NULL: unset). */
static bool run_child(const char *name, const char *conf, struct outcome *o)
{
	int out[2], err[2], status;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	if (pipe(out) || pipe(err))
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		if (conf)
			setenv("BUDDYMALLOC_CONF", conf, 1);
		else
			unsetenv("BUDDYMALLOC_CONF");
		alarm(30);	/* a hang fails the test (SIGALRM) */
		execl(self, self, "child", name, (char *)NULL);
		_exit(96);
	}
	close(out[1]);
	close(err[1]);
	/* The child writes a few bytes to each, so reading one pipe to its
	 * end before the other cannot block it. */
	read_all(out[0], o->address, sizeof(o->address));
	read_all(err[0], o->err, sizeof(o->err));
	close(out[0]);
	close(err[0]);
	if (waitpid(pid, &status, 0) != pid)
		return false;
	o->address[strcspn(o->address, "\n")] = '\0';
	o->exited = WIFEXITED(status);
	o->status = o->exited ? WEXITSTATUS(status) :
		    WIFSIGNALED(status) ? WTERMSIG(status) : -1;
	return true;
}

/*
 * Runs case name in both modes. call: the name in the report; what: the
 * report's words ("invalid pointer"), or NULL for no report. or_what: a
 * second acceptable wording (a block that went back to the buddy lists may
 * read as never allocated rather than as freed), or NULL.
 */
static void check_case(const char *name, const char *call, const char *what,
		       const char *or_what)
{
	static const struct {
		const char *conf;
		bool abort;
	} modes[] = {
		{ NULL, true },
		{ "bad_free:report", false },
		{ "bad_free:abort", true },
	};

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		const char *mode = modes[m].conf ? modes[m].conf : "default";
		bool aborts = what && modes[m].abort;
		char want[256], or_want[256];
		struct outcome o;

		assert_true(run_child(name, modes[m].conf, &o), "%s", mode);
		expect_str_ne(o.address, "", "%s: the child said no address",
			      mode);
		want[0] = or_want[0] = '\0';
		if (what)
			snprintf(want, sizeof(want), "buddymalloc: %s(): %s %s\n",
				 call, what, o.address);
		if (or_what)
			snprintf(or_want, sizeof(or_want),
				 "buddymalloc: %s(): %s %s\n", call, or_what,
				 o.address);
		if (strcmp(o.err, want) != 0 &&
		    (!or_what || strcmp(o.err, or_want) != 0))
			test_fail("%s, %s: stderr is \"%s\", expected \"%s\"%s%s",
				  name, mode, o.err, want,
				  or_what ? " or " : "", or_what ? or_want : "");
		if (aborts) {
			expect_false(o.exited, "%s, %s: the child exited (%d) "
				     "instead of aborting", name, mode, o.status);
			if (!o.exited)
				expect_d_eq(o.status, SIGABRT, "%s, %s: killed by "
					    "that signal", name, mode);
		} else {
			expect_true(o.exited, "%s, %s: the child was killed by "
				    "signal %d", name, mode, o.status);
			if (o.exited)
				expect_d_eq(o.status, CHILD_OK, "%s, %s: exit status "
					    "(3: wrong result, 4: heap changed, "
					    "5: no malloc)", name, mode);
		}
	}
}

#define INVALID		"invalid pointer"
#define DOUBLE		"double free detected"

/* The allocator under test is ours, not glibc's. */
TEST_BEGIN(test_malloc_is_ours)
{
	size_t before, after_alloc, len = sizeof(size_t);
	void *p;

	assert_d_eq(buddymalloc_mallctl("stats.allocated", &before, &len,
					NULL, 0), 0);
	p = malloc(100000);
	assert_ptr_not_null(p);
	assert_d_eq(buddymalloc_mallctl("stats.allocated", &after_alloc, &len,
					NULL, 0), 0);
	expect_zu_ge(after_alloc, before + 100000);
	free(p);
}
TEST_END

TEST_BEGIN(test_double_free_small)
{
	/* A live neighbour keeps the slab, so the slot reads as freed. */
	check_case("double_free_small", "free", DOUBLE, NULL);
}
TEST_END

/* free(a); free(b); free(a), and the same with 300 frees between, with
 * the stack flushed in between, and with malloc_trim between: each
 * caught at the second free of a, naming a (issue 7). */
TEST_BEGIN(test_double_free_not_last)
{
	check_case("double_free_aba", "free", DOUBLE, NULL);
	check_case("double_free_far", "free", DOUBLE, NULL);
	check_case("double_free_flushed", "free", DOUBLE, NULL);
	check_case("double_free_trimmed", "free", DOUBLE, NULL);
}
TEST_END

TEST_BEGIN(test_double_free_large)
{
	check_case("double_free_large", "free", DOUBLE, INVALID);
}
TEST_END

TEST_BEGIN(test_double_free_huge)
{
	check_case("double_free_huge", "free", DOUBLE, INVALID);
}
TEST_END

TEST_BEGIN(test_free_stack)
{
	check_case("free_stack", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_free_global)
{
	check_case("free_global", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_free_mmap)
{
	check_case("free_mmap", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_free_interior)
{
	check_case("free_interior_small", "free", INVALID, NULL);
	check_case("free_interior_large", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_realloc_bad)
{
	check_case("realloc_double", "realloc", DOUBLE, NULL);
	check_case("realloc_stack", "realloc", INVALID, NULL);
	check_case("realloc_global", "realloc", INVALID, NULL);
	check_case("realloc_interior", "realloc", INVALID, NULL);
	check_case("realloc_zero_stack", "realloc", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_other_frees_name_themselves)
{
	check_case("cfree_stack", "cfree", INVALID, NULL);
	check_case("free_sized_interior", "free_sized", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_usable_size_does_not_report)
{
	check_case("usable_size_foreign", NULL, NULL, NULL);
}
TEST_END

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "child"))
		return run_case(argv[2]);
	/* Re-executed through /proc: argv[0] may not be a path. */
	self = "/proc/self/exe";
	{
		static char path[4096];
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

		if (n > 0) {
			path[n] = '\0';
			self = path;
		}
	}
	return test_run(test_malloc_is_ours,
			test_double_free_small,
			test_double_free_not_last,
			test_double_free_large,
			test_double_free_huge,
			test_free_stack,
			test_free_global,
			test_free_mmap,
			test_free_interior,
			test_realloc_bad,
			test_other_frees_name_themselves,
			test_usable_size_does_not_report,
			NULL);
}
