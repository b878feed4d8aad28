/*
 * misuse.c - every call that takes a block checks it, for every kind of
 * block: free, free_sized, free_aligned_sized, realloc, reallocarray and
 * malloc_usable_size, each given a block that was freed before (a double
 * free) and a pointer inside a live block, for a slab object, a
 * page-level block, a direct mapping and aligned blocks of the first two
 * kinds. Each misuse runs in a forked child with stderr on a pipe; the
 * child must be killed by SIGABRT (bad_free's default) after exactly one
 * line "buddymalloc: CALL(): WHAT ADDRESS" naming the pointer.
 *
 * free_sized and free_aligned_sized also check the size and alignment
 * (preload/malloc.c, do_free_sized): a size that maps to another block and
 * an alignment the pointer does not have are reported ("invalid size",
 * "invalid alignment"); every size that maps to the block, for malloc,
 * calloc, realloc (grown and shrunk in place and moved), memalign and
 * aligned_alloc, is accepted silently.
 *
 * Built twice (tests/local.mk): linked with libbuddymalloc.la, and
 * preloaded.
 */
#include <dlfcn.h>
#include <errno.h>
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

/* Not in glibc 2.36: looked up at run time (main), so that the preloaded
 * build links. */
static void (*free_sized)(void *p, size_t size);
static void (*free_aligned_sized)(void *p, size_t alignment, size_t size);

#define KiB	((size_t)1 << 10)
#define MiB	((size_t)1 << 20)
#define PAGE	((size_t)4096)

/* The kinds of block, as the program asks for them. */
enum kind { SMALL, LARGE, HUGE, ALIGNED_SMALL, ALIGNED_LARGE, NR_KINDS };

static const char *const kind_name[] = {
	"small", "large", "huge", "aligned_small", "aligned_large",
};

static const struct {
	size_t size;
	size_t align;	/* 0: malloc */
} kind_req[] = {
	[SMALL] = { 64, 0 },
	[LARGE] = { 256 * KiB, 0 },
	[HUGE] = { 8 * MiB, 0 },
	[ALIGNED_SMALL] = { 100, 256 },
	[ALIGNED_LARGE] = { 20000, 16 * KiB },
};

enum call { FREE, FREE_SIZED, FREE_ALIGNED_SIZED, REALLOC, REALLOCARRAY,
	    USABLE_SIZE, NR_CALLS };

static const char *const call_name[] = {
	"free", "free_sized", "free_aligned_sized", "realloc", "reallocarray",
	"malloc_usable_size",
};

static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

static void *alloc_kind(enum kind k)
{
	void *p = kind_req[k].align ?
		  aligned_alloc(kind_req[k].align, kind_req[k].size) :
		  malloc(kind_req[k].size);

	if (!p)
		_exit(5);
	memset(p, 0x11, kind_req[k].size);
	return p;
}

/* The call c on p, with the sizes and alignment of kind k's request. */
static void call_on(enum call c, enum kind k, void *p)
{
	size_t align = kind_req[k].align ? kind_req[k].align : 16;

	switch (c) {
	case FREE:
		free(launder(p));
		break;
	case FREE_SIZED:
		free_sized(launder(p), kind_req[k].size);
		break;
	case FREE_ALIGNED_SIZED:
		free_aligned_sized(launder(p), align, kind_req[k].size);
		break;
	case REALLOC:
		(void)realloc_opaque(launder(p), 100);
		break;
	case REALLOCARRAY:
		(void)reallocarray_opaque(launder(p), 10, 10);
		break;
	case USABLE_SIZE:
		(void)malloc_usable_size(launder(p));
		break;
	case NR_CALLS:
		break;
	}
}

static void say_address(int fd, const void *p)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%p\n", p);

	if (write(fd, line, (size_t)n) != n)
		_exit(98);
}

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

struct outcome {
	bool exited;
	int status;
	char address[64];
	char err[512];
};

/*
 * Runs body(arg, out_fd) in a forked child, stderr on a pipe, and waits.
 * The body writes the address it misuses to out_fd.
 */
static bool run_child(void (*body)(const void *, int), const void *arg,
		      struct outcome *o)
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
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(err[0]);
		close(err[1]);
		alarm(30);
		body(arg, out[1]);
		_exit(0);
	}
	close(out[1]);
	close(err[1]);
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

/* The child aborted after one line "buddymalloc: call(): what ADDRESS"
 * (or or_what, when not NULL). */
static void expect_report(const char *name, const struct outcome *o,
			  const char *call, const char *what,
			  const char *or_what)
{
	char want[256], or_want[256];

	snprintf(want, sizeof(want), "buddymalloc: %s(): %s %s\n", call,
		 what, o->address);
	snprintf(or_want, sizeof(or_want), "buddymalloc: %s(): %s %s\n", call,
		 or_what ? or_what : what, o->address);
	if (strcmp(o->err, want) != 0 && strcmp(o->err, or_want) != 0)
		test_fail("%s: stderr is \"%s\", expected \"%s\"", name, o->err,
			  want);
	if (o->exited)
		test_fail("%s: the child exited (%d) instead of aborting", name,
			  o->status);
	else if (o->status != SIGABRT)
		test_fail("%s: killed by signal %d, not SIGABRT", name,
			  o->status);
}

/* ---------------------------------------------- double and interior */

struct misuse {
	enum kind kind;
	enum call call;
	bool interior;
};

static void misuse_body(const void *arg, int out)
{
	const struct misuse *m = arg;
	unsigned char *keep = alloc_kind(m->kind);	/* a live neighbour */
	unsigned char *p = alloc_kind(m->kind), *bad;

	if (m->interior) {
		/* Inside the block: 16 bytes in for a slab object, a page in
		 * for blocks of pages (so the address is page-aligned). */
		bad = p + (m->kind == SMALL || m->kind == ALIGNED_SMALL ?
			   16 : PAGE);
	} else {
		free(p);
		bad = p;
	}
	say_address(out, bad);
	call_on(m->call, m->kind, bad);
	(void)keep;
	_exit(0);
}

#define DOUBLE	"double free detected"
#define INVALID	"invalid pointer"

/* Each call, each kind: a block freed before is reported as a double free
 * (a block of pages whose pages went back to the buddy lists or were
 * unmapped may read as never allocated: invalid pointer). */
TEST_BEGIN(test_double_free_every_call_every_kind)
{
	for (int k = 0; k < NR_KINDS; k++)
		for (int c = 0; c < NR_CALLS; c++) {
			struct misuse m = { (enum kind)k, (enum call)c, false };
			char name[96];
			struct outcome o;

			snprintf(name, sizeof(name), "%s of a freed %s block",
				 call_name[c], kind_name[k]);
			assert_true(run_child(misuse_body, &m, &o), "%s", name);
			expect_report(name, &o, call_name[c], DOUBLE,
				      k == SMALL || k == ALIGNED_SMALL ? NULL :
				      INVALID);
		}
}
TEST_END

TEST_BEGIN(test_interior_every_call_every_kind)
{
	for (int k = 0; k < NR_KINDS; k++)
		for (int c = 0; c < NR_CALLS; c++) {
			struct misuse m = { (enum kind)k, (enum call)c, true };
			char name[96];
			struct outcome o;

			snprintf(name, sizeof(name), "%s inside a %s block",
				 call_name[c], kind_name[k]);
			assert_true(run_child(misuse_body, &m, &o), "%s", name);
			expect_report(name, &o, call_name[c], INVALID, NULL);
		}
}
TEST_END

/* ------------------------------------------------- sizes, alignments */

struct sized {
	enum kind kind;
	size_t size;		/* the size given to the sized free */
	size_t align;		/* free_aligned_sized's, or 0: free_sized */
};

static void sized_body(const void *arg, int out)
{
	const struct sized *s = arg;
	void *p = alloc_kind(s->kind);

	say_address(out, p);
	if (s->align)
		free_aligned_sized(launder(p), s->align, s->size);
	else
		free_sized(launder(p), s->size);
	_exit(0);
}

/* A size that maps to another block than the one freed. */
TEST_BEGIN(test_wrong_size)
{
	static const struct sized cases[] = {
		{ SMALL, 200, 0 },		/* a larger class */
		{ SMALL, 16, 0 },		/* a smaller class */
		{ SMALL, 64 * KiB, 0 },		/* pages */
		{ LARGE, 256 * KiB + PAGE + 1, 0 },
		{ LARGE, 256 * KiB - PAGE, 0 },
		{ LARGE, 100, 0 },
		{ HUGE, 8 * MiB + 1, 0 },
		{ HUGE, 8 * MiB - PAGE, 0 },
		{ HUGE, 64, 0 },
		{ ALIGNED_SMALL, 300, 256 },
		{ ALIGNED_SMALL, 100, 0 },	/* free_sized: malloc's class */
		{ ALIGNED_LARGE, 40000, 16 * KiB },
		{ ALIGNED_LARGE, 20000, 0 },	/* malloc(20000) is small */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *call = cases[i].align ? "free_aligned_sized" :
						    "free_sized";
		char name[96];
		struct outcome o;

		snprintf(name, sizeof(name), "%s(%s block, %zu)", call,
			 kind_name[cases[i].kind], cases[i].size);
		assert_true(run_child(sized_body, &cases[i], &o), "%s", name);
		expect_report(name, &o, call, "invalid size", NULL);
	}
}
TEST_END

/* An alignment the block does not have: a slab object aligned to 256 (and
 * not to 4096) freed as if aligned to 4096. */
static void misaligned_body(const void *arg, int out)
{
	void *p = NULL;

	(void)arg;
	for (int i = 0; i < 64; i++) {
		p = aligned_alloc(256, 100);
		if (!p)
			_exit(5);
		if ((uintptr_t)p & (PAGE - 1))
			break;
	}
	say_address(out, p);
	free_aligned_sized(launder(p), PAGE, 100);
	_exit(0);
}

TEST_BEGIN(test_wrong_alignment)
{
	struct outcome o;

	assert_true(run_child(misaligned_body, NULL, &o));
	expect_report("free_aligned_sized(256-aligned, 4096)", &o,
		      "free_aligned_sized", "invalid alignment", NULL);
}
TEST_END

/*
 * Every size that maps to the block is accepted: the sizes asked for,
 * calloc's, and realloc's (grown and shrunk, in place or moved), from 0
 * to direct mappings, at every alignment up to 4 MiB. Done in a child, so
 * that a wrong report (an abort) fails this test only.
 */
static void accept_body(const void *arg, int out)
{
	static const size_t sizes[] = {
		0, 1, 15, 16, 17, 64, 100, 128, 129, 1000, 4096, 4097,
		32 * KiB - 1, 32 * KiB, 32 * KiB + 1, 100 * KiB, MiB,
		4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 9 * MiB + 5,
	};
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);

	(void)arg;
	say_address(out, NULL);
	for (size_t i = 0; i < n; i++) {
		void *p = malloc(sizes[i]);

		free_sized(p, sizes[i]);
		p = calloc(1, sizes[i]);
		free_sized(p, sizes[i]);
		p = calloc(sizes[i] ? 3 : 0, sizes[i] / 3);
		free_sized(p, (sizes[i] ? 3 : 0) * (sizes[i] / 3));
		for (size_t j = 1; j < n; j++) {
			p = malloc(sizes[i]);
			p = realloc(p, sizes[j]);
			if (!p)
				_exit(5);
			free_sized(p, sizes[j]);
		}
		/* A size between the request and the usable size. */
		p = malloc(sizes[i]);
		if (sizes[i])
			free_sized(p, sizes[i] + (malloc_usable_size(p) -
						  sizes[i]) / 2);
		else
			free_sized(p, 0);
		for (size_t a = 1; a <= 4 * MiB; a <<= 1) {
			p = aligned_alloc(a, sizes[i]);
			if (!p)
				_exit(5);
			free_aligned_sized(p, a, sizes[i]);
			p = memalign(a, sizes[i]);
			free_aligned_sized(p, a, sizes[i]);
			if (posix_memalign(&p, a < sizeof(void *) ?
					   sizeof(void *) : a, sizes[i]))
				_exit(5);
			free_aligned_sized(p, a, sizes[i]);
		}
	}
	free_sized(NULL, 100);
	free_aligned_sized(NULL, 64, 100);
	_exit(0);
}

TEST_BEGIN(test_right_sizes_accepted)
{
	struct outcome o;

	assert_true(run_child(accept_body, NULL, &o));
	expect_str_eq(o.err, "", "no report");
	expect_true(o.exited, "the child was killed by signal %d", o.status);
	if (o.exited)
		expect_d_eq(o.status, 0, "exit status (5: allocation failed)");
}
TEST_END

int main(void)
{
	free_sized = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
	free_aligned_sized = (void (*)(void *, size_t, size_t))
		dlsym(RTLD_DEFAULT, "free_aligned_sized");
	if (!free_sized || !free_aligned_sized) {
		printf("Bail out! no free_sized or free_aligned_sized\n");
		return 99;
	}
	api_watchdog(300);
	return test_run(test_served_by_buddymalloc,
			test_double_free_every_call_every_kind,
			test_interior_every_call_every_kind,
			test_wrong_size,
			test_wrong_alignment,
			test_right_sizes_accepted,
			NULL);
}
