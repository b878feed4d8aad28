/*
 * lifetime_malloc.c - the lifetime classifier through malloc: built from
 * preload/'s sources with the shipped slab and core libraries and flags
 * (as cpu_cache_step), so that its malloc and free are the library's and
 * the test can read where a block went (its slab's cache, its head page's
 * migrate type) and drive the classifier's aging.
 *
 * Every allocation is sampled (lifetime_sample_mean 1) and lifetime_ms is
 * short, so the sites are learnt in a few hundred milliseconds: the
 * long-lived site keeps its blocks past lifetime_ms (a sleep well past
 * it, then an aging pass), the short-lived one frees each block at once.
 * A re-executed child runs with BUDDYMALLOC_CONF=classifier:false.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buddymalloc.h"
#include "tap.h"

#include "lifetime.h"
#include "slab_internal.h"

#define SMALL		48
#define LARGE		(64 << 10)
#define NR_LONG		24
#define LIFETIME_MS	150

static char *self;

/* Separate functions, so that each malloc call has its own return
 * address: the sites (noipa: gcc would fold the two identical bodies
 * into one). */
__attribute__((noipa)) static void *long_site(size_t size)
{
	void *p = malloc(size);

	__asm__ volatile("" ::: "memory");	/* not a tail call */
	return p;
}

__attribute__((noipa)) static void *short_site(size_t size)
{
	void *p = malloc(size);

	__asm__ volatile("" ::: "memory");
	return p;
}

/* The migrate type a block was allocated with: its slab's cache, or the
 * type its head page was asked for. */
static int block_type(const void *p)
{
	struct page *page = virt_to_page(p);
	struct slab *slab = page ? page_slab(page) : NULL;

	if (slab)
		return slab->cache->migratetype;
	return page ? page->migratetype : -1;
}

static uint8_t obj_state(const void *p)
{
	struct slab *slab = cache_slab_of(p);

	return slab->state[object_index(slab, p)];
}

/* Handed out and not freed since (slab_internal.h, obj_live)? */
static bool obj_is_live(const void *p)
{
	return slab_object_live(cache_slab_of(p), p);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Teach the classifier both sites at size. */
static void learn(size_t size)
{
	void *keep[NR_LONG];

	for (int i = 0; i < NR_LONG; i++) {
		keep[i] = long_site(size);
		free(short_site(size));
	}
	sleep_ms(2 * LIFETIME_MS + 50);
	lifetime_age_at(os_monotonic_ms());
	for (int i = 0; i < NR_LONG; i++)
		free(keep[i]);
}

TEST_BEGIN(test_setup)
{
	void *p = malloc(SMALL);

	assert_ptr_not_null(p, "malloc works");
	expect_true(lifetime_enabled, "classifier on by default");
	free(p);
	CMM_STORE_SHARED(lifetime_sample_mean, 1);
	core_config.lifetime_ms = LIFETIME_MS;
	buddymalloc_thread_lifetime(BUDDY_LIFETIME_AUTO);	/* restart the countdown */
	lifetime_reset();
}
TEST_END

TEST_BEGIN(test_unknown_sites_are_short)
{
	void *p = short_site(SMALL), *q = long_site(LARGE);

	expect_d_eq(block_type(p), MIGRATE_MOVABLE, "small, unknown site");
	expect_d_eq(block_type(q), MIGRATE_RECLAIMABLE,
		    "page-level, unknown site: short-lived, apart from the slabs");
	expect_d_eq(obj_state(p), OBJ_SAMPLED, "sampled (every allocation is)");
	expect_ptr_eq((void *)virt_to_page(q)->slab.private,
		      (void *)LT_PAGE_SAMPLED, "the page-level block too");
	free(p);
	free(q);
}
TEST_END

TEST_BEGIN(test_sites_learnt)
{
	void *a, *b, *c, *d;
	struct lifetime_stats st;

	learn(SMALL);
	learn(LARGE);
	a = long_site(SMALL);
	b = short_site(SMALL);
	c = long_site(LARGE);
	d = short_site(LARGE);
	expect_d_eq(block_type(a), MIGRATE_UNMOVABLE, "long-lived site: UNMOVABLE slab");
	expect_d_eq(block_type(b), MIGRATE_MOVABLE, "short-lived site: MOVABLE slab");
	expect_d_eq(block_type(c), MIGRATE_UNMOVABLE, "long-lived page-level block");
	expect_d_eq(block_type(d), MIGRATE_RECLAIMABLE, "short-lived page-level block");
	free(a);
	free(b);
	free(c);
	free(d);
	lifetime_stats_read(&st);
	expect_lu_ge(st.sites_long, 2, "two long-lived sites");
	expect_lu_ge(st.survived, 2 * 8, "survivors counted");
	expect_lu_ge(st.died_young, 2 * NR_LONG, "young deaths counted");
}
TEST_END

/* Without sampling, the fast path (rseq mode: kmalloc_fast) and the
 * fallback's path give learnt sites their types too. */
TEST_BEGIN(test_unsampled_follow_prediction)
{
	void *p[16];

	CMM_STORE_SHARED(lifetime_sample_mean, 1u << 20);
	buddymalloc_thread_lifetime(BUDDY_LIFETIME_AUTO);	/* a new interval */
	free(malloc(SMALL));	/* the slow path once: the long countdown */
	for (int i = 0; i < 16; i += 2) {
		p[i] = long_site(SMALL);
		p[i + 1] = short_site(SMALL);
		expect_d_ne(obj_state(p[i]), OBJ_SAMPLED, "not sampled");
		expect_true(obj_is_live(p[i]), "live");
		expect_d_eq(block_type(p[i]), MIGRATE_UNMOVABLE, "long-lived site");
		expect_d_eq(block_type(p[i + 1]), MIGRATE_MOVABLE, "short-lived site");
	}
	for (int i = 0; i < 16; i++)
		free(p[i]);
	CMM_STORE_SHARED(lifetime_sample_mean, 1);
	buddymalloc_thread_lifetime(BUDDY_LIFETIME_AUTO);
}
TEST_END

/*
 * In rseq mode, with no hint set yet, kmalloc_fast counts the samples by
 * this CPU's countdown (cpu_cache.h, CC_COUNTDOWN_OFF) and no thread
 * countdown runs on its path: NR_COUNTED fast-path mallocs at a mean
 * interval of 4 (each interval at most 7 allocations) must bring at least
 * one sample per 8 of them, whichever CPUs they ran on. In the fallback
 * mode the same holds through the thread's countdown.
 */
#define NR_COUNTED	512
TEST_BEGIN(test_cpu_countdown_samples)
{
	static void *p[NR_COUNTED];
	unsigned int sampled = 0;

	if (cpu_cache_uses_rseq())
		expect_d_eq(cpu_cache_state.malloc_fast, 1,
			    "rseq mode, no hint yet: the per-CPU countdown");
	CMM_STORE_SHARED(lifetime_sample_mean, 4);
	lifetime_countdown = 0;
	cpu_cache_countdown_reset();	/* the next allocation samples */
	for (int i = 0; i < NR_COUNTED; i++)
		p[i] = short_site(SMALL);
	for (int i = 0; i < NR_COUNTED; i++)
		sampled += obj_state(p[i]) == OBJ_SAMPLED;
	for (int i = 0; i < NR_COUNTED; i++)
		free(p[i]);
	expect_u_ge(sampled, NR_COUNTED / 8,
		    "the countdown runs out every 7 allocations at most");
	expect_u_le(sampled, NR_COUNTED / 2, "but not on every one");
	CMM_STORE_SHARED(lifetime_sample_mean, 1);
	lifetime_countdown = 0;
	cpu_cache_countdown_reset();
}
TEST_END

TEST_BEGIN(test_hints_override)
{
	void *p[6];
	unsigned int old;

	p[0] = buddymalloc_malloc_hint(SMALL, BUDDY_LIFETIME_SHORT);
	p[1] = buddymalloc_malloc_hint(SMALL, BUDDY_LIFETIME_LONG);
	p[2] = buddymalloc_malloc_hint(LARGE, BUDDY_LIFETIME_LONG);
	expect_d_eq(block_type(p[0]), MIGRATE_MOVABLE, "hint short");
	expect_d_eq(block_type(p[1]), MIGRATE_UNMOVABLE, "hint long");
	expect_d_eq(block_type(p[2]), MIGRATE_UNMOVABLE, "hint long, page-level");
	expect_ptr_null(buddymalloc_malloc_hint(SMALL, 7), "unknown hint");
	expect_d_eq(errno, EINVAL, "EINVAL");

	old = buddymalloc_thread_lifetime(BUDDY_LIFETIME_SHORT);
	expect_u_eq(old, BUDDY_LIFETIME_AUTO, "no thread hint before");
	p[3] = long_site(SMALL);	/* learnt long-lived */
	p[4] = long_site(LARGE);
	expect_d_eq(block_type(p[3]), MIGRATE_MOVABLE, "thread hint short wins");
	expect_d_eq(block_type(p[4]), MIGRATE_RECLAIMABLE, "page-level too");
	old = buddymalloc_thread_lifetime(BUDDY_LIFETIME_LONG);
	expect_u_eq(old, BUDDY_LIFETIME_SHORT, "previous hint returned");
	p[5] = short_site(SMALL);
	expect_d_eq(block_type(p[5]), MIGRATE_UNMOVABLE, "thread hint long wins");
	old = buddymalloc_thread_lifetime(BUDDY_LIFETIME_AUTO);
	expect_u_eq(old, BUDDY_LIFETIME_LONG, "previous hint returned");
	for (int i = 0; i < 6; i++)
		free(p[i]);
	p[0] = short_site(SMALL);
	expect_d_eq(block_type(p[0]), MIGRATE_MOVABLE, "the classifier again");
	free(p[0]);
}
TEST_END

/* A sampled object is live everywhere: usable size, realloc in place and
 * moved, a second free reported. */
TEST_BEGIN(test_sampled_objects_are_live)
{
	char *p = short_site(SMALL), *q;
	pid_t pid;
	int status;

	assert_d_eq(obj_state(p), OBJ_SAMPLED, "sampled");
	expect_zu_eq(malloc_usable_size(p), SMALL, "usable size");
	memset(p, 0x5a, SMALL);
	q = realloc(p, SMALL - 8);
	expect_ptr_eq(q, p, "same class: in place");
	expect_d_eq(obj_state(q), OBJ_SAMPLED, "still sampled");
	p = realloc(q, 4 * SMALL);
	assert_ptr_not_null(p, "moved");
	expect_d_eq(p[SMALL - 9], 0x5a, "contents kept");
	expect_false(obj_is_live(q), "the old block is free");
	expect_d_ne(obj_state(q), OBJ_SAMPLED, "and not sampled");
	free(p);

	/* A double free of a sampled object aborts with the report. */
	pid = fork();
	assert_d_ge(pid, 0, "fork");
	if (pid == 0) {
		char *r = short_site(SMALL);

		if (obj_state(r) != OBJ_SAMPLED)
			_exit(3);
		free(r);
		free(r);
		_exit(0);
	}
	assert_d_eq(waitpid(pid, &status, 0), pid, "waitpid");
	expect_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		    "the second free aborted (status %#x)", status);
}
TEST_END

/* A sampled block made by the parent, in a forked child: realloc and free
 * work, and the child's own allocations are sampled. */
TEST_BEGIN(test_sampled_in_forked_child)
{
	char *p = short_site(SMALL), *big = short_site(LARGE);
	pid_t pid;
	int status;

	assert_d_eq(obj_state(p), OBJ_SAMPLED, "sampled");
	memset(p, 0x33, SMALL);
	pid = fork();
	assert_d_ge(pid, 0, "fork");
	if (pid == 0) {
		char *q = realloc(p, 1000), *r;

		if (!q || q[SMALL - 1] != 0x33)
			_exit(1);
		free(q);
		free(big);
		r = short_site(SMALL);
		if (obj_state(r) != OBJ_SAMPLED)
			_exit(2);
		free(r);
		_exit(0);
	}
	assert_d_eq(waitpid(pid, &status, 0), pid, "waitpid");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the child's realloc and frees worked (status %#x)", status);
	free(p);
	free(big);
}
TEST_END

/* The child of test_classifier_off, under classifier:false. */
static int classifier_off_child(void)
{
	void *a, *b, *c;

	CMM_STORE_SHARED(lifetime_sample_mean, 1);
	a = short_site(SMALL);
	b = buddymalloc_malloc_hint(SMALL, BUDDY_LIFETIME_SHORT);
	c = short_site(LARGE);
	if (lifetime_enabled)
		return 1;
	if (block_type(a) != MIGRATE_UNMOVABLE ||
	    obj_state(a) == OBJ_SAMPLED || !obj_is_live(a))
		return 2;	/* every small block long-lived, not sampled */
	if (block_type(b) != MIGRATE_MOVABLE)
		return 3;	/* hints still work */
	if (block_type(c) != MIGRATE_MOVABLE || virt_to_page(c)->slab.private)
		return 4;	/* page-level blocks as before */
	free(a);
	free(b);
	free(c);
	return 0;
}

TEST_BEGIN(test_classifier_off)
{
	pid_t pid = fork();
	int status;

	assert_d_ge(pid, 0, "fork");
	if (pid == 0) {
		char *argv[] = { self, "off", NULL };

		setenv("BUDDYMALLOC_CONF", "classifier:false", 1);
		execv(self, argv);
		_exit(127);
	}
	assert_d_eq(waitpid(pid, &status, 0), pid, "waitpid");
	expect_true(WIFEXITED(status), "exited (status %#x)", status);
	expect_d_eq(WEXITSTATUS(status), 0, "classifier:false as before the classifier");
}
TEST_END

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc > 1 && strcmp(argv[1], "off") == 0)
		return classifier_off_child();
	return test_run(test_setup,
			test_unknown_sites_are_short,
			test_sites_learnt,
			test_unsampled_follow_prediction,
			test_cpu_countdown_samples,
			test_hints_override,
			test_sampled_objects_are_live,
			test_sampled_in_forked_child,
			test_classifier_off,
			NULL);
}
