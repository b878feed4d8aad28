/*
 * alloc_fail.c - allocations that fail for real, for lack of memory, end
 * as glibc 2.36's do: malloc, calloc, realloc, reallocarray, memalign,
 * aligned_alloc, valloc and pvalloc return NULL with errno = ENOMEM;
 * posix_memalign returns ENOMEM, sets errno = ENOMEM too and leaves
 * *memptr alone. Every returned block has its alignment, calloc's are
 * zero, and once everything is freed the same call succeeds again.
 *
 * The idea of glibc's malloc/tst-malloc-thread-fail.c: in a child process
 * whose address space is capped (RLIMIT_AS), several threads allocate
 * until the allocator runs out, then free everything. Each case (call x
 * size) gets its own child so that cases do not disturb each other. The
 * sizes reach every kind of failure: a slab object (144 bytes: the slab
 * layer needs pages the heap cannot get), a page (4096) and a page run
 * (17 pages: the buddy allocator cannot online a new section), and a
 * direct mapping (8 MiB: mmap refuses it). Before the threads start, the
 * child takes the free heap in 1 MiB blocks it never touches, so that the
 * heap is full without the test writing to 100 MiB of memory.
 *
 * Every call goes through a volatile function pointer: gcc knows
 * posix_memalign as a builtin that writes only *memptr, and would otherwise
 * read errno from before the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"

#define MiB		((size_t)1 << 20)
#define NR_THREADS	4		/* plus the child's main thread */
#define HEADROOM	(16 * MiB)	/* address space the cap leaves */
#define MAX_BLOCKS	(1UL << 24)	/* per thread: "never failed" */
#define ALIGNMENT	128		/* for the calls that take one */
#define ERRNO_BEFORE	EDOM		/* errno before each call */

enum call {
	CALL_MALLOC,
	CALL_CALLOC,
	CALL_REALLOC,
	CALL_REALLOCARRAY,
	CALL_MEMALIGN,
	CALL_ALIGNED_ALLOC,
	CALL_POSIX_MEMALIGN,
	CALL_VALLOC,
	CALL_PVALLOC,
	NR_CALLS
};

static const char *const call_name[NR_CALLS] = {
	"malloc", "calloc", "realloc", "reallocarray", "memalign",
	"aligned_alloc", "posix_memalign", "valloc", "pvalloc",
};

static void *(*volatile malloc_p)(size_t) = malloc;
static void *(*volatile calloc_p)(size_t, size_t) = calloc;
static void *(*volatile realloc_p)(void *, size_t) = realloc;
static void *(*volatile reallocarray_p)(void *, size_t, size_t) = reallocarray;
static void *(*volatile memalign_p)(size_t, size_t) = memalign;
static void *(*volatile aligned_alloc_p)(size_t, size_t) = aligned_alloc;
static int (*volatile posix_memalign_p)(void **, size_t, size_t) = posix_memalign;
static void *(*volatile valloc_p)(size_t) = valloc;
static void *(*volatile pvalloc_p)(size_t) = pvalloc;

/* What one thread saw; in shared memory, read by the parent. */
struct thread_result {
	unsigned long blocks;	/* allocations that succeeded */
	int failed;		/* 1: one failed, as it must */
	int err;		/* errno after the failing call */
	int rc;			/* posix_memalign's result (else 0) */
	int memptr_changed;	/* posix_memalign wrote *memptr on failure */
	int misaligned;		/* a block without its alignment */
	int not_zero;		/* a calloc block that was not zero */
};

struct child_result {
	struct thread_result t[NR_THREADS + 1];
	int again_failed;	/* the call failed after everything was freed */
	int setup_failed;
};

static struct child_result *result;	/* MAP_SHARED */
static enum call test_call;
static size_t test_size;
static pthread_barrier_t start_barrier, end_barrier;

static size_t call_alignment(enum call c)
{
	switch (c) {
	case CALL_MEMALIGN:
	case CALL_ALIGNED_ALLOC:
	case CALL_POSIX_MEMALIGN:
		return ALIGNMENT;
	case CALL_VALLOC:
	case CALL_PVALLOC:
		return (size_t)sysconf(_SC_PAGESIZE);
	default:
		return 16;
	}
}

/* A failed realloc leaves q to the caller: free it, keeping the errno the
 * failure left. Returns p. */
static void *free_if_failed(void *q, void *p)
{
	if (!p) {
		int err = errno;

		free(q);
		errno = err;
	}
	return p;
}

/* One allocation of the case; errno is ERRNO_BEFORE before the call that
 * may fail. On failure, r->err (and r->rc) say what the call left. */
static void *allocate(struct thread_result *r)
{
	void *p = NULL, *q;
	int rc;

	errno = ERRNO_BEFORE;
	switch (test_call) {
	case CALL_MALLOC:
		p = malloc_p(test_size);
		break;
	case CALL_CALLOC:
		p = calloc_p(1, test_size);
		if (p && zero_check(p, test_size) != test_size)
			r->not_zero = 1;
		break;
	case CALL_REALLOC:
		/* As glibc's test: a small block first, then grown. */
		q = realloc_p(NULL, 16);
		if (!q)
			break;
		errno = ERRNO_BEFORE;
		p = free_if_failed(q, realloc_p(q, test_size));
		break;
	case CALL_REALLOCARRAY:
		q = reallocarray_p(NULL, 2, 8);
		if (!q)
			break;
		errno = ERRNO_BEFORE;
		p = free_if_failed(q, reallocarray_p(q, test_size / 8, 8));
		break;
	case CALL_MEMALIGN:
		p = memalign_p(ALIGNMENT, test_size);
		break;
	case CALL_ALIGNED_ALLOC:
		p = aligned_alloc_p(ALIGNMENT, test_size);
		break;
	case CALL_POSIX_MEMALIGN:
		q = (void *)&p;		/* a sentinel the call must keep */
		p = q;
		rc = posix_memalign_p(&p, ALIGNMENT, test_size);
		if (rc) {
			r->rc = rc;
			if (p != q)
				r->memptr_changed = 1;
			p = NULL;
		}
		break;
	case CALL_VALLOC:
		p = valloc_p(test_size);
		break;
	case CALL_PVALLOC:
		p = pvalloc_p(test_size);
		break;
	case NR_CALLS:
		break;
	}
	if (!p)
		r->err = errno;
	else if ((uintptr_t)p & (call_alignment(test_call) - 1))
		r->misaligned = 1;
	return p;
}

/* Allocate until the allocator says no, keeping the blocks in a list
 * through their first word; free them all once every thread has failed;
 * then the call must work again. */
static void *alloc_thread(void *arg)
{
	struct thread_result *r = arg;
	void *head = NULL, *p;

	pthread_barrier_wait(&start_barrier);
	while (r->blocks < MAX_BLOCKS) {
		p = allocate(r);
		if (!p) {
			r->failed = 1;
			break;
		}
		*(void **)p = head;
		head = p;
		r->blocks++;
	}
	pthread_barrier_wait(&end_barrier);
	while (head) {
		p = *(void **)head;
		free(head);
		head = p;
	}
	return NULL;
}

/* The child: cap the address space, fill the heap, run the threads. */
static void child_run(void)
{
	pthread_t threads[NR_THREADS];
	pthread_attr_t attr;
	struct rlimit rl;
	unsigned long blocks = 0;
	size_t vm;
	void *fill = NULL, *p;

	/* The threads first: they wait at the start barrier. */
	if (pthread_attr_init(&attr) != 0 ||
	    pthread_attr_setstacksize(&attr, 256 * 1024) != 0 ||
	    pthread_barrier_init(&start_barrier, NULL, NR_THREADS + 1) != 0 ||
	    pthread_barrier_init(&end_barrier, NULL, NR_THREADS + 1) != 0)
		goto setup_failed;
	for (int i = 0; i < NR_THREADS; i++)
		if (pthread_create(&threads[i], &attr, alloc_thread,
				   &result->t[i + 1]) != 0)
			goto setup_failed;
	vm = test_statm_bytes(0);
	if (!vm || getrlimit(RLIMIT_AS, &rl) != 0)
		goto setup_failed;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > vm + HEADROOM)
		rl.rlim_cur = vm + HEADROOM;
	if (setrlimit(RLIMIT_AS, &rl) != 0)
		goto setup_failed;
	/* The free heap, in blocks that are never touched. */
	while ((p = malloc_p(MiB)) != NULL) {
		*(void **)p = fill;
		fill = p;
	}
	alloc_thread(&result->t[0]);
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i], NULL);
	/* Everything the threads had is back: the call works again (if it
	 * ever worked: glibc's 1 MiB fill blocks are mappings of their own,
	 * which can leave no room for an 8 MiB one at all). */
	for (int i = 0; i <= NR_THREADS; i++)
		blocks += result->t[i].blocks;
	p = blocks ? allocate(&result->t[0]) : &blocks;
	if (!p)
		result->again_failed = 1;
	if (blocks)
		free(p);
	(void)fill;	/* kept until the end: the heap stays full */
	_exit(0);
setup_failed:
	result->setup_failed = 1;
	_exit(1);
}

/* One case in a child process; checks what every thread saw. */
static void run_case(enum call c, size_t size)
{
	int status;
	pid_t pid;

	memset(result, 0, sizeof(*result));
	test_call = c;
	test_size = size;
	pid = fork();
	assert_d_ge(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0)
		child_run();
	assert_d_eq(waitpid(pid, &status, 0), pid);
	expect_d_eq(result->setup_failed, 0, "%s(%zu): child set-up failed",
		    call_name[c], size);
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "%s(%zu): child status %#x", call_name[c], size, status);
	for (int i = 0; i <= NR_THREADS; i++) {
		const struct thread_result *r = &result->t[i];

		expect_d_eq(r->failed, 1, "%s(%zu), thread %d: no failure in "
			    "%lu blocks", call_name[c], size, i, r->blocks);
		expect_d_eq(r->err, ENOMEM, "%s(%zu), thread %d: errno after "
			    "the failure (was %d before)", call_name[c], size,
			    i, ERRNO_BEFORE);
		if (c == CALL_POSIX_MEMALIGN) {
			expect_d_eq(r->rc, ENOMEM, "posix_memalign(%zu) result, "
				    "thread %d", size, i);
			expect_d_eq(r->memptr_changed, 0, "posix_memalign(%zu) "
				    "wrote *memptr on failure", size);
		}
		expect_d_eq(r->misaligned, 0, "%s(%zu): misaligned block",
			    call_name[c], size);
		expect_d_eq(r->not_zero, 0, "calloc(1, %zu): not zeroed", size);
	}
	expect_d_eq(result->again_failed, 0, "%s(%zu): fails after everything "
		    "was freed", call_name[c], size);
}

static const size_t sizes[] = {
	144,		/* a slab object */
	4096,		/* one page */
	17 * 4096,	/* a page run */
	8 * MiB,	/* a direct mapping */
};

static void run_call(enum call c)
{
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		run_case(c, sizes[i]);
}

TEST_BEGIN(test_malloc_fails_enomem) { run_call(CALL_MALLOC); } TEST_END
TEST_BEGIN(test_calloc_fails_enomem) { run_call(CALL_CALLOC); } TEST_END
TEST_BEGIN(test_realloc_fails_enomem) { run_call(CALL_REALLOC); } TEST_END
TEST_BEGIN(test_reallocarray_fails_enomem)
{
	run_call(CALL_REALLOCARRAY);
}
TEST_END
TEST_BEGIN(test_memalign_fails_enomem) { run_call(CALL_MEMALIGN); } TEST_END
TEST_BEGIN(test_aligned_alloc_fails_enomem)
{
	run_call(CALL_ALIGNED_ALLOC);
}
TEST_END
TEST_BEGIN(test_posix_memalign_fails_enomem)
{
	run_call(CALL_POSIX_MEMALIGN);
}
TEST_END
TEST_BEGIN(test_valloc_fails_enomem) { run_call(CALL_VALLOC); } TEST_END
TEST_BEGIN(test_pvalloc_fails_enomem) { run_call(CALL_PVALLOC); } TEST_END

/* posix_memalign's bad alignments: EINVAL returned, errno untouched (as
 * glibc: it returns before allocating anything); memalign's impossible
 * alignment: NULL, errno = EINVAL. */
TEST_BEGIN(test_bad_alignment_errno)
{
	static const size_t bad[] = { 0, 1, 4, 12, 24, 48, 4095 };
	void *p, *sentinel = &p;
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = sentinel;
		errno = ERRNO_BEFORE;
		rc = posix_memalign_p(&p, bad[i], 64);
		expect_d_eq(rc, EINVAL, "posix_memalign(, %zu, 64)", bad[i]);
		expect_d_eq(errno, ERRNO_BEFORE, "errno after posix_memalign"
			    "(, %zu, 64)", bad[i]);
		expect_ptr_eq(p, sentinel, "*memptr changed");
	}
	errno = ERRNO_BEFORE;
	p = memalign_p(SIZE_MAX, 64);
	expect_ptr_null(p);
	expect_d_eq(errno, EINVAL, "errno after memalign(SIZE_MAX, 64)");
	errno = ERRNO_BEFORE;
	p = aligned_alloc_p(SIZE_MAX / 2 + 2, 64);
	expect_ptr_null(p);
	expect_d_eq(errno, EINVAL, "errno after aligned_alloc(2^63 + 1, 64)");
}
TEST_END

int main(void)
{
	api_watchdog(600);
	result = mmap(NULL, sizeof(*result), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (result == MAP_FAILED) {
		test_diag("mmap: %s", strerror(errno));
		return 99;
	}
	return test_run(test_served_by_buddymalloc,
			test_malloc_fails_enomem,
			test_calloc_fails_enomem,
			test_realloc_fails_enomem,
			test_reallocarray_fails_enomem,
			test_memalign_fails_enomem,
			test_aligned_alloc_fails_enomem,
			test_posix_memalign_fails_enomem,
			test_valloc_fails_enomem,
			test_pvalloc_fails_enomem,
			test_bad_alignment_errno,
			NULL);
}
