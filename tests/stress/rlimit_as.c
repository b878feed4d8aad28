/*
 * rlimit_as.c - address space exhaustion in a threaded program, the way
 * glibc's tst-malloc-thread-fail does it: with RLIMIT_AS set low, 8 threads
 * and the main thread each allocate until the allocator says no, with each
 * allocation function (malloc, calloc, realloc, aligned_alloc, memalign,
 * posix_memalign, valloc) and sizes from a slab class to a direct mapping.
 *
 * Each case runs in a fresh child (fork), so that cases do not see each
 * other's heap, and the limit is the child's VmSize when it starts plus
 * HEADROOM: the allocator's section reservations, tables and caches are
 * all mmap'd, so the limit meets them wherever they are. What must hold:
 *   - every thread gets a NULL in the end (the loop is bounded by a count,
 *     so a limit that never bites fails the case instead of hanging it),
 *     and every NULL comes with errno ENOMEM (posix_memalign returns it);
 *   - no crash, no hang (the parent kills a child after CHILD_TIMEOUT and
 *     the case fails);
 *   - every block is aligned as asked, calloc's blocks are zero;
 *   - after every thread has freed its blocks, each allocates once more
 *     with the same function and size and succeeds.
 * The child reports by its exit status (the bits below).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"

#define NR_THREADS	8
#define HEADROOM	(384UL << 20)
#define MAX_BLOCKS	(8UL << 20)	/* per thread: a bound, never reached */
#define CHILD_TIMEOUT	120

/* Exit status bits of a child. */
#define BAD_ERRNO	0x01
#define NEVER_FAILED	0x02
#define MISALIGNED	0x04
#define NOT_ZERO	0x08
#define NO_RECOVERY	0x10
#define SETUP_FAILED	0x20

enum alloc_fn {
	WITH_MALLOC,
	WITH_CALLOC,
	WITH_REALLOC,
	WITH_ALIGNED_ALLOC,
	WITH_MEMALIGN,
	WITH_POSIX_MEMALIGN,
	WITH_VALLOC,
	NR_FNS
};

static const char *const fn_names[NR_FNS] = {
	"malloc", "calloc", "realloc", "aligned_alloc", "memalign",
	"posix_memalign", "valloc",
};

static enum alloc_fn fn;
static size_t size, align;
static atomic_int status_bits;
static pthread_barrier_t start, filled;

/* One allocation with fn; NULL with *err set on failure. */
static void *allocate(int *err)
{
	void *p = NULL, *q;

	errno = 0;
	switch (fn) {
	case WITH_MALLOC:
		p = malloc(size);
		break;
	case WITH_CALLOC:
		p = calloc(1, size);
		break;
	case WITH_REALLOC:
		q = realloc(NULL, 16);
		if (q) {
			p = realloc(q, size);
			if (!p) {
				*err = errno;
				free(q);
				return NULL;
			}
		}
		break;
	case WITH_ALIGNED_ALLOC:
		p = aligned_alloc(align, size);
		break;
	case WITH_MEMALIGN:
		p = memalign(align, size);
		break;
	case WITH_POSIX_MEMALIGN:
		*err = posix_memalign(&p, align, size);
		return *err ? NULL : p;
	case WITH_VALLOC:
		p = valloc(size);
		break;
	case NR_FNS:
		break;
	}
	*err = errno;
	return p;
}

static void *thread_main(void *arg)
{
	size_t want = fn == WITH_VALLOC ? 4096 :
		      fn >= WITH_ALIGNED_ALLOC ? align : 16;
	void *head = NULL, *p;
	unsigned long n = 0;
	int err = 0, bits = 0;

	(void)arg;
	/* Every thread exists (its stack mapped) before any allocates. */
	pthread_barrier_wait(&start);
	for (; n < MAX_BLOCKS; n++) {
		p = allocate(&err);
		if (!p)
			break;
		if ((uintptr_t)p & (want - 1))
			bits |= MISALIGNED;
		if (fn == WITH_CALLOC && zero_check(p, size) != size)
			bits |= NOT_ZERO;
		*(void **)p = head;
		head = p;
	}
	if (n == MAX_BLOCKS)
		bits |= NEVER_FAILED;
	else if (err != ENOMEM)
		bits |= BAD_ERRNO;
	pthread_barrier_wait(&filled);
	while (head) {
		p = *(void **)head;
		free(head);
		head = p;
	}
	/* Everyone has freed: allocation works again. */
	pthread_barrier_wait(&filled);
	p = allocate(&err);
	if (!p)
		bits |= NO_RECOVERY;
	free(p);
	atomic_fetch_or(&status_bits, bits);
	return NULL;
}

/* In the child: the limit, the threads, the status. */
static __attribute__((noreturn)) void child_case(void)
{
	pthread_t threads[NR_THREADS];
	pthread_attr_t attr;
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = test_statm_bytes(0) + HEADROOM;
	if (setrlimit(RLIMIT_AS, &rl) != 0 ||
	    pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, 256 << 10) != 0 ||
	    pthread_barrier_init(&start, NULL, NR_THREADS + 1) != 0 ||
	    pthread_barrier_init(&filled, NULL, NR_THREADS + 1) != 0)
		_exit(SETUP_FAILED);
	for (unsigned int i = 0; i < NR_THREADS; i++)
		if (pthread_create(&threads[i], &attr, thread_main, NULL) != 0)
			_exit(SETUP_FAILED);
	thread_main(NULL);
	for (unsigned int i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i], NULL);
	_exit(atomic_load(&status_bits));
}

static void run_case(enum alloc_fn f, size_t sz, size_t al)
{
	double started;
	pid_t pid;
	int status;

	fn = f;
	size = sz;
	align = al;
	fflush(stdout);
	started = test_now();
	pid = fork();
	if (pid == 0)
		child_case();
	assert_d_gt(pid, 0, "fork");
	status = test_wait_child(pid, started, CHILD_TIMEOUT);
	expect_d_ge(status, 0, "%s(%zu, align %zu): the child hung",
		    fn_names[f], sz, al);
	if (status < 0)
		return;
	expect_false(WIFSIGNALED(status), "%s(%zu, align %zu): killed by "
		     "signal %d", fn_names[f], sz, al,
		     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if (!WIFEXITED(status))
		return;
	status = WEXITSTATUS(status);
	expect_d_eq(status & SETUP_FAILED, 0, "%s(%zu): child set-up",
		    fn_names[f], sz);
	expect_d_eq(status & NEVER_FAILED, 0, "%s(%zu): a thread never got "
		    "NULL", fn_names[f], sz);
	expect_d_eq(status & BAD_ERRNO, 0, "%s(%zu, align %zu): a failure "
		    "without ENOMEM", fn_names[f], sz, al);
	expect_d_eq(status & MISALIGNED, 0, "%s(%zu, align %zu): misaligned",
		    fn_names[f], sz, al);
	expect_d_eq(status & NOT_ZERO, 0, "%s(%zu): not zero", fn_names[f], sz);
	expect_d_eq(status & NO_RECOVERY, 0, "%s(%zu, align %zu): allocation "
		    "failed after everything was freed", fn_names[f], sz, al);
}

/* Each function at each size; the aligned ones at their alignment. */
static void run_sizes(const size_t *sizes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < NR_FNS; f++)
			run_case((enum alloc_fn)f, sizes[i],
				 f == WITH_VALLOC ? 0 :
				 f >= WITH_ALIGNED_ALLOC ? 128 : 0);
}

TEST_BEGIN(test_small_sizes)
{
	static const size_t sizes[] = { 144, 512, 4096 };

	run_sizes(sizes, sizeof(sizes) / sizeof(sizes[0]));
}
TEST_END

TEST_BEGIN(test_page_sizes)
{
	static const size_t sizes[] = { 17 * 4096, 1 << 20 };

	run_sizes(sizes, sizeof(sizes) / sizeof(sizes[0]));
}
TEST_END

TEST_BEGIN(test_direct_mappings)
{
	static const size_t sizes[] = { 6 << 20 };

	run_sizes(sizes, sizeof(sizes) / sizeof(sizes[0]));
	/* A large alignment too. */
	run_case(WITH_POSIX_MEMALIGN, 6 << 20, 2 << 20);
	run_case(WITH_MEMALIGN, 1 << 20, 1 << 20);
}
TEST_END

int main(void)
{
	api_watchdog(600);
	return test_run(test_served_by_buddymalloc,
			test_small_sizes,
			test_page_sizes,
			test_direct_mappings,
			NULL);
}
