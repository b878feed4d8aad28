/*
 * fork_churn.c - many forks while every path of the allocator is busy.
 *
 * NR_CHURNERS threads allocate, free, realloc, calloc and memalign across
 * all sizes (slab classes, page blocks, direct mappings), free each
 * other's blocks through a shared exchange and now and then trim (which
 * drains every CPU's object cache); a pressure thread takes 8 MiB blocks
 * until the budget (limit:96m, set by running itself again) refuses one,
 * so the reclaim thread and direct reclaim run too. The main thread holds
 * blocks of its own and forks, FORK_CHURN_FORKS times (default 500).
 * Each child, alone with the heap it inherited:
 *
 *   checks and frees the blocks the main thread held (exit 1 if one
 *   differs), then allocates, checks and frees blocks of every size with
 *   malloc, calloc, realloc and memalign (2: content, 3: calloc not zero,
 *   4: misaligned, 5: usable size too small, 6: a failure without ENOMEM),
 *   and exits 0. A child killed by a signal crashed (the allocator's
 *   misuse report aborts), one alive after CHILD_TIMEOUT hung.
 *
 * What it found: direct_reclaim_lock (core/page_alloc.c) held by a
 * parent's thread in direct reclaim at the fork stayed held in the child,
 * whose own first direct reclaim then waited forever: 120 of 1000
 * children hung (the soak's one failed child in about 1 200 forks).
 *
 * Whether a fork lands while another thread is inside a critical section
 * is luck, so the test may miss a bug on a given run; it never fails on
 * correct code: every check is of the child's own blocks, a failed
 * allocation with ENOMEM is allowed (the budget), and the timeout is a
 * hang guard only (a healthy child exits in milliseconds).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"

#define LIMIT_CONF	"limit:96m"
#define NR_CHURNERS	6
#define SLOTS		48
#define EXCHANGE	64
#define MAIN_SLOTS	32
#define PRESSURE_BLOCK	(8UL << 20)
#define PRESSURE_MAX	16
#ifndef CHILD_TIMEOUT
#define CHILD_TIMEOUT	60	/* seconds; a hang guard, not a budget */
#endif
/* Hung children after which the test stops (the rest would hang too). */
#ifndef MAX_HUNG
#define MAX_HUNG	1
#endif
#define CHECK_MAX	512	/* bytes of a block filled and checked */

struct blk {
	void *p;
	size_t size;
	uint64_t key;
};

static atomic_bool stop;
static atomic_ulong churn_ops, churn_errors;

static struct {
	pthread_mutex_t lock;
	struct blk b;
} exchange[EXCHANGE];

/* Mostly small; some pages; a few direct mappings (above 4 MiB). */
static size_t pick_size(uint64_t *rng)
{
	unsigned int r = (unsigned int)rand_below(rng, 1000);
	unsigned int lo, hi, bits;

	if (r < 700) {
		lo = 0; hi = 10;
	} else if (r < 900) {
		lo = 10; hi = 15;
	} else if (r < 990) {
		lo = 15; hi = 20;
	} else {
		lo = 20; hi = 23;	/* .. 8 MiB */
	}
	bits = lo + (unsigned int)rand_below(rng, hi - lo);
	return ((size_t)1 << bits) + (size_t)rand_below(rng, (uint64_t)1 << bits);
}

static size_t checked(size_t size)
{
	return size < CHECK_MAX ? size : CHECK_MAX;
}

/* Fill the first CHECK_MAX bytes, and the last CHECK_MAX of a block of
 * twice that or more. */
static void blk_fill(struct blk *b)
{
	pattern_fill(b->p, checked(b->size), b->key);
	if (b->size >= 2 * CHECK_MAX)
		pattern_fill((char *)b->p + b->size - CHECK_MAX, CHECK_MAX,
			     ~b->key);
}

static bool blk_ok(const struct blk *b)
{
	if (pattern_check(b->p, checked(b->size), b->key) != checked(b->size))
		return false;
	return b->size < 2 * CHECK_MAX ||
	       pattern_check((char *)b->p + b->size - CHECK_MAX, CHECK_MAX,
			     ~b->key) == CHECK_MAX;
}

/* ------------------------------------------------------------- parent */

static void churn_error(void)
{
	atomic_fetch_add(&churn_errors, 1);
}

static void churn_release(struct blk *b)
{
	if (!b->p)
		return;
	if (!blk_ok(b))
		churn_error();
	free(b->p);
	b->p = NULL;
}

/* One operation on slot b: the mix of the soak, smaller. */
static void churn_op(struct blk *b, uint64_t *rng)
{
	unsigned int r = (unsigned int)rand_below(rng, 100);
	size_t size = pick_size(rng);
	size_t align;
	void *p;

	errno = 0;
	if (r < 30) {
		p = malloc(size);
	} else if (r < 40) {
		p = calloc(1, size);
		if (p && zero_check(p, checked(size)) != checked(size))
			churn_error();
	} else if (r < 55) {
		p = realloc(b->p, size);
		if (!p) {
			if (errno != ENOMEM)
				churn_error();
			return;
		}
		if (b->p) {
			size_t keep = checked(size < b->size ? size : b->size);

			if (pattern_check(p, keep, b->key) != keep)
				churn_error();
		}
		b->p = p;
		b->size = size;
		b->key = splitmix64(rng);
		blk_fill(b);
		return;
	} else if (r < 62) {
		align = (size_t)16 << rand_below(rng, 10);
		p = memalign(align, size);
		if (p && ((uintptr_t)p & (align - 1)))
			churn_error();
	} else if (r < 75) {
		unsigned int i = (unsigned int)rand_below(rng, EXCHANGE);
		struct blk out;

		pthread_mutex_lock(&exchange[i].lock);
		out = exchange[i].b;
		exchange[i].b = *b;
		pthread_mutex_unlock(&exchange[i].lock);
		b->p = NULL;
		churn_release(&out);
		return;
	} else if (r < 99) {
		churn_release(b);
		return;
	} else {
		if (b->p && malloc_usable_size(b->p) < b->size)
			churn_error();
		if (rand_below(rng, 16) == 0)
			malloc_trim(0);
		return;
	}
	if (!p) {
		if (errno != ENOMEM)
			churn_error();
		return;
	}
	churn_release(b);
	b->p = p;
	b->size = size;
	b->key = splitmix64(rng);
	blk_fill(b);
}

static void *churn(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;
	struct blk slot[SLOTS] = { { 0 } };
	unsigned long n = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		churn_op(&slot[rand_below(&rng, SLOTS)], &rng);
		n++;
	}
	for (unsigned int i = 0; i < SLOTS; i++)
		churn_release(&slot[i]);
	atomic_fetch_add(&churn_ops, n);
	return NULL;
}

/* 8 MiB blocks until the budget says no, then freed: the zones go below
 * their watermarks and reclaim runs. */
static void *pressure(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		void *held[PRESSURE_MAX];
		unsigned int n;

		for (n = 0; n < PRESSURE_MAX; n++) {
			errno = 0;
			held[n] = malloc(PRESSURE_BLOCK - rand_below(&rng, 1 << 20));
			if (!held[n]) {
				if (errno != ENOMEM)
					churn_error();
				break;
			}
			memset(held[n], 0x5a, 4096);
		}
		while (n--)
			free(held[n]);
	}
	return NULL;
}

/* -------------------------------------------------------------- child */

static int child_new_block(struct blk *b, uint64_t *rng, unsigned int n)
{
	size_t size = pick_size(rng), align = 16;
	void *p;

	errno = 0;
	switch (n % 4) {
	case 0:
		p = malloc(size);
		break;
	case 1:
		p = calloc(1, size);
		if (p && zero_check(p, checked(size)) != checked(size))
			return 3;
		break;
	case 2:
		p = realloc(b->p, size);
		if (p && b->p) {
			size_t keep = checked(size < b->size ? size : b->size);

			if (pattern_check(p, keep, b->key) != keep)
				return 2;
			b->p = NULL;	/* moved into p */
		}
		break;
	default:
		align = (size_t)16 << rand_below(rng, 10);
		p = memalign(align, size);
		break;
	}
	if (!p)
		return errno == ENOMEM ? 0 : 6;
	if ((uintptr_t)p & (align - 1))
		return 4;
	if (malloc_usable_size(p) < size)
		return 5;
	if (b->p) {
		if (!blk_ok(b))
			return 2;
		free(b->p);
	}
	b->p = p;
	b->size = size;
	b->key = splitmix64(rng);
	blk_fill(b);
	return 0;
}

static int child_main(struct blk *held, uint64_t rng)
{
	struct blk b[16] = { { 0 } };
	int status;

	for (unsigned int i = 0; i < MAIN_SLOTS; i++) {
		if (!held[i].p)
			continue;
		if (!blk_ok(&held[i]))
			return 1;
		free(held[i].p);
	}
	for (unsigned int n = 0; n < 400; n++)
		if ((status = child_new_block(&b[n % 16], &rng, n)))
			return status;
	for (unsigned int i = 0; i < 16; i++) {
		if (b[i].p && !blk_ok(&b[i]))
			return 2;
		free(b[i].p);
	}
	return 0;
}

/* --------------------------------------------------------------- test */

static unsigned long nr_forks(void)
{
	const char *s = getenv("FORK_CHURN_FORKS");
	unsigned long v = s ? strtoul(s, NULL, 10) : 0;

	return v ? v : 500;
}

TEST_BEGIN(test_fork_churn)
{
	pthread_t th[NR_CHURNERS + 1];
	struct blk held[MAIN_SLOTS] = { { 0 } };
	uint64_t rng = test_seed(0xf0c5);
	unsigned long forks = nr_forks(), ok = 0, failed = 0, hung = 0;
	unsigned long status_count[8] = { 0 }, signals = 0;
	int first_status = 0;
	double t0 = test_now();

	for (unsigned int i = 0; i < EXCHANGE; i++)
		pthread_mutex_init(&exchange[i].lock, NULL);
	for (unsigned int i = 0; i < NR_CHURNERS; i++)
		assert_d_eq(pthread_create(&th[i], NULL, churn,
			    (void *)(uintptr_t)splitmix64(&rng)), 0);
	assert_d_eq(pthread_create(&th[NR_CHURNERS], NULL, pressure,
		    (void *)(uintptr_t)splitmix64(&rng)), 0);

	for (unsigned long n = 0; n < forks; n++) {
		double started;
		pid_t pid;
		int st;

		for (unsigned int k = 0; k < 8; k++)
			churn_op(&held[rand_below(&rng, MAIN_SLOTS)], &rng);
		started = test_now();
		pid = fork();
		if (pid == 0)
			_exit(child_main(held, splitmix64(&rng)));
		if (pid < 0) {
			test_fail("fork: %s", strerror(errno));
			break;
		}
		st = test_wait_child(pid, started, CHILD_TIMEOUT);
		if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			ok++;
			continue;
		}
		failed++;
		if (!first_status)
			first_status = st;
		if (st < 0)
			hung++;
		else if (WIFSIGNALED(st))
			signals++;
		else
			status_count[WEXITSTATUS(st) & 7]++;
		if (hung >= MAX_HUNG)
			break;
	}
	atomic_store(&stop, true);
	for (unsigned int i = 0; i <= NR_CHURNERS; i++)
		pthread_join(th[i], NULL);
	for (unsigned int i = 0; i < MAIN_SLOTS; i++)
		churn_release(&held[i]);
	for (unsigned int i = 0; i < EXCHANGE; i++)
		churn_release(&exchange[i].b);

	test_diag("%lu forks in %.1f s (%lu operations meanwhile): %lu ok, "
		  "%lu failed (%lu hung, %lu by a signal, exit 1-6: %lu %lu "
		  "%lu %lu %lu %lu)", ok + failed, test_now() - t0,
		  atomic_load(&churn_ops), ok, failed, hung, signals,
		  status_count[1], status_count[2], status_count[3],
		  status_count[4], status_count[5], status_count[6]);
	if (first_status > 0 && WIFSIGNALED(first_status))
		test_diag("first failed child: signal %d", WTERMSIG(first_status));
	else if (first_status > 0)
		test_diag("first failed child: exit %d", WEXITSTATUS(first_status));
	expect_lu_eq(failed, 0, "children that failed, crashed or hung");
	expect_lu_eq(ok, forks, "children that passed");
	expect_lu_eq(atomic_load(&churn_errors), 0,
		     "the parent's threads saw no broken block or bad errno");
}
TEST_END

int main(int argc, char **argv)
{
	(void)argc;
	api_conf_require(argv, LIMIT_CONF);
	api_watchdog(600);
	return test_run(test_served_by_buddymalloc,
			test_fork_churn,
			NULL);
}
