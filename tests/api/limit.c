/*
 * limit.c - the memory budget from outside: with BUDDYMALLOC_CONF=limit:256m
 * (the program sets it and runs itself again when it is not set), touched
 * 1 MiB blocks are allocated until malloc returns NULL, with errno ENOMEM;
 * the process's peak resident memory (VmHWM) stays within the limit plus
 * SLACK; after half the blocks are freed, allocation succeeds again; the
 * same with 8 threads at once; and the page API's NOFAIL fails like
 * RETRY_MAYFAIL (it never fails only for the allocator's own metadata).
 *
 * SLACK is what the process holds outside the allocator's budget: the
 * program, libc and ld.so, the TAP output's buffers, the threads' stacks
 * (a few pages each) and the section table's touched entries. The budget
 * itself counts the allocator's metadata whole (descriptors, per-CPU
 * caches), more than the OS backs, so the heap stays under the limit.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_util.h"
#include "buddymalloc.h"

#define LIMIT		(256UL << 20)
#define SLACK		(16UL << 20)
#define BLOCK		(1UL << 20)
#define MAX_BLOCKS	512
#define NR_THREADS	8

static void *blocks[MAX_BLOCKS];

/* VmHWM of /proc/self/status in bytes, 0 if unreadable. */
static size_t vm_hwm(void)
{
	char buf[4096];
	const char *line;

	if (!test_read_proc("/proc/self/status", buf, sizeof(buf)))
		return 0;
	line = strstr(buf, "\nVmHWM:");
	return line ? strtoul(line + 7, NULL, 10) << 10 : 0;
}

/* Touched 1 MiB blocks into out[] until malloc fails (or max); the count,
 * and the failure's errno in *err. */
static unsigned int fill(void **out, unsigned int max, int *err)
{
	unsigned int n = 0;

	*err = 0;
	while (n < max) {
		void *p;

		errno = 0;
		p = malloc(BLOCK);
		if (!p) {
			*err = errno;
			break;
		}
		memset(p, 0xa5, BLOCK);
		out[n++] = p;
	}
	return n;
}

static void expect_hwm_within_limit(const char *when)
{
	size_t hwm = vm_hwm();

	test_diag("%s: VmHWM %zu KiB (limit %lu KiB + slack %lu KiB)", when,
		  hwm >> 10, LIMIT >> 10, SLACK >> 10);
	expect_zu_gt(hwm, 0, "VmHWM read");
	expect_zu_le(hwm, LIMIT + SLACK, "%s", when);
}

TEST_BEGIN(test_the_limit_is_set)
{
	int (*mallctl)(const char *, void *, size_t *, void *, size_t);
	size_t limit = 0, len = sizeof(limit);

	*(void **)&mallctl = dlsym(RTLD_DEFAULT, "buddymalloc_mallctl");
	assert_ptr_not_null(mallctl);
	expect_d_eq(mallctl("opt.limit", &limit, &len, NULL, 0), 0);
	expect_zu_eq(limit, LIMIT);
}
TEST_END

static unsigned int nr_first;

TEST_BEGIN(test_fill_free_half_fill)
{
	void *(*alloc_pages)(unsigned int, unsigned int);
	unsigned int n, again;
	int err;

	n = fill(blocks, MAX_BLOCKS, &err);
	nr_first = n;
	test_diag("%u blocks of 1 MiB before ENOMEM", n);
	expect_d_eq(err, ENOMEM);
	expect_u_lt(n, MAX_BLOCKS, "malloc failed before 512 MiB");
	expect_u_ge(n, 200, "most of the budget was handed out");
	expect_u_le(n, LIMIT / BLOCK);
	expect_hwm_within_limit("after the first fill");

	/* The page API's NOFAIL is not the allocator's own: it may fail.
	 * (Found with dlsym: a preloaded program is not linked with us.) */
	*(void **)&alloc_pages = dlsym(RTLD_DEFAULT, "buddymalloc_alloc_pages");
	assert_ptr_not_null(alloc_pages);
	errno = 0;
	expect_ptr_null(alloc_pages(8, BUDDY_GFP_NOFAIL));
	expect_d_eq(errno, ENOMEM);

	/* Free every other block: allocation works again, reclaiming the
	 * freed memory, and stops at the budget again. */
	for (unsigned int i = 0; i < n; i += 2) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
	again = 0;
	for (unsigned int i = 0; i < n; i += 2) {
		errno = 0;
		blocks[i] = malloc(BLOCK);
		if (!blocks[i]) {
			expect_d_eq(errno, ENOMEM);
			break;
		}
		memset(blocks[i], 0x5a, BLOCK);
		again++;
	}
	test_diag("%u of %u freed blocks allocated again", again, (n + 1) / 2);
	expect_u_ge(again + 2, (n + 1) / 2, "the freed half came back");
	expect_hwm_within_limit("after freeing half and filling again");
	for (unsigned int i = 0; i < n; i++)
		free(blocks[i]);
}
TEST_END

/* --------------------------------------------------------- 8 threads */

static pthread_barrier_t barrier;

struct worker {
	void *blocks[MAX_BLOCKS];
	unsigned int n;
	int err;
	bool again;
};

static struct worker workers[NR_THREADS];

static void *work(void *arg)
{
	struct worker *w = arg;
	void *p;

	pthread_barrier_wait(&barrier);
	w->n = fill(w->blocks, MAX_BLOCKS, &w->err);
	pthread_barrier_wait(&barrier);		/* all of them out of budget */
	pthread_barrier_wait(&barrier);		/* the main thread looked */
	for (unsigned int i = 0; i < w->n; i += 2) {
		free(w->blocks[i]);
		w->blocks[i] = NULL;
	}
	pthread_barrier_wait(&barrier);		/* every half freed */
	p = malloc(BLOCK);
	if (p) {
		memset(p, 0x3c, BLOCK);
		w->again = true;
		free(p);
	}
	for (unsigned int i = 0; i < w->n; i++)
		free(w->blocks[i]);
	return NULL;
}

TEST_BEGIN(test_eight_threads)
{
	pthread_t tids[NR_THREADS];
	unsigned int total = 0;

	assert_d_eq(pthread_barrier_init(&barrier, NULL, NR_THREADS + 1), 0);
	for (int t = 0; t < NR_THREADS; t++)
		assert_d_eq(pthread_create(&tids[t], NULL, work, &workers[t]), 0);
	pthread_barrier_wait(&barrier);		/* go */
	pthread_barrier_wait(&barrier);		/* all filled */
	for (int t = 0; t < NR_THREADS; t++) {
		expect_d_eq(workers[t].err, ENOMEM, "thread %d", t);
		total += workers[t].n;
	}
	test_diag("8 threads: %u blocks of 1 MiB in all", total);
	expect_u_ge(total + NR_THREADS, nr_first,
		    "the threads together got the budget");
	expect_u_le(total, LIMIT / BLOCK);
	expect_hwm_within_limit("after 8 threads filled");
	pthread_barrier_wait(&barrier);		/* free half */
	pthread_barrier_wait(&barrier);		/* halves freed */
	for (int t = 0; t < NR_THREADS; t++)
		expect_d_eq(pthread_join(tids[t], NULL), 0);
	for (int t = 0; t < NR_THREADS; t++)
		expect_true(workers[t].again, "thread %d allocated again", t);
	expect_hwm_within_limit("at the end");
	pthread_barrier_destroy(&barrier);
}
TEST_END

int main(int argc, char **argv)
{
	(void)argc;
	api_conf_require(argv, "limit:256m");
	api_watchdog(120);
	return test_run(test_served_by_buddymalloc,
			test_the_limit_is_set,
			test_fill_free_half_fill,
			test_eight_threads,
			NULL);
}
