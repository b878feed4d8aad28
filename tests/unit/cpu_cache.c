/*
 * cpu_cache.c - unit tests of slab/cpu_cache.c, the per-CPU object caches:
 * the mode chosen, refill and flush at their boundaries, distinct objects
 * over many cycles, the immediate double-free check, 8 threads on the
 * machine's CPUs churning with content checks and cross-thread frees, the
 * barns (batches from full stacks to empty ones: flush, refill, drain, a
 * double free and a stale copy in a batch, producers and consumers on two
 * CPUs while drains run), and the fork child emptying the caches; each
 * ends with the core's check.
 *
 * Modes: run plainly, the rseq mode where glibc registered rseq (the
 * fallback where it did not, e.g. GLIBC_TUNABLES=glibc.pthread.rseq=0);
 * with CC_TEST_FALLBACK=1 in the environment, the per-CPU-lock fallback is
 * forced before the first allocation (tests/unit/cpu_cache_fallback.sh
 * runs both). The mode is fixed for the life of the process.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#include "internal.h"
#include "cpu_cache.h"
#include "slab_internal.h"

static bool want_fallback;

static unsigned long violations(void)
{
	return check_all_zones(NULL);
}

static struct kmem_cache *cache_of(size_t size)
{
	return &kmem_caches[gfp_migratetype(0)][size_to_class(size)];
}

/* Run on one CPU from now on (the one we are on); returns it. */
static int pin_here(cpu_set_t *saved)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	sched_getaffinity(0, sizeof(*saved), saved);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		return -1;
	sched_yield();
	return sched_getcpu();
}

static void unpin(const cpu_set_t *saved)
{
	sched_setaffinity(0, sizeof(*saved), saved);
}

/* Sum over every cache: objects allocated in slabs, and bytes of them. */
static size_t slab_inuse_bytes(void)
{
	size_t bytes = 0;

	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		for (unsigned int c = 0; c < NR_SIZE_CLASSES; c++) {
			struct kmem_cache *cache = &kmem_caches[mt][c];

			pthread_mutex_lock(&cache->lock);
			bytes += cache->nr_objects_inuse * cache->size;
			pthread_mutex_unlock(&cache->lock);
		}
	return bytes;
}

TEST_BEGIN(test_mode)
{
	void *p = kmalloc(32, 0);	/* initialises */

	assert_ptr_not_null(p, "first allocation");
	if (want_fallback || __rseq_size == 0 || !CC_HAVE_RSEQ)
		expect_false(cpu_cache_uses_rseq(), "fallback mode (rseq size %u%s)",
			     __rseq_size, want_fallback ? ", forced" :
			     !CC_HAVE_RSEQ ? ", built without rseq" : "");
	else
		expect_true(cpu_cache_uses_rseq(), "rseq mode (rseq size %u)",
			    __rseq_size);
	test_diag("mode: %s; trim drains %s", cpu_cache_uses_rseq() ? "rseq" : "per-CPU locks",
		  cpu_cache_drains_all() ? "every CPU" : "this CPU only");
	expect_u_gt(cache_of(32)->cc_cap, 0, "32 B is cached");
	expect_u_gt(cache_of(CPU_CACHE_MAX_SIZE)->cc_cap, 0, "the largest cached class");
	for (unsigned int c = 0; c < NR_SIZE_CLASSES; c++)
		expect_u_ge(kmem_caches[0][c].cc_cap, 4, "class %u B has a stack",
			    kmalloc_size[c]);
	expect_d_eq(kfree(p), KFREE_OK, "free");
}
TEST_END

TEST_BEGIN(test_refill_flush_boundaries)
{
	enum { MAX = 1024 };
	static void *p[MAX];
	struct kmem_cache *cache = cache_of(64);
	unsigned int cap = cache->cc_cap, batch = cap / 2, n;
	cpu_set_t saved;
	int cpu = pin_here(&saved);
	unsigned long inuse0;

	test_skip_if(cpu < 0);
	assert_u_ge(cap, 4, "capacity");
	cpu_cache_drain();
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), 0, "drained");
	inuse0 = cache->nr_objects_inuse;

	/* Empty: the first allocation takes a batch, keeps batch - 1. */
	p[0] = kmalloc(64, 0);
	assert_ptr_not_null(p[0], "first");
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), batch - 1, "refilled");
	expect_lu_eq(cache->nr_objects_inuse, inuse0 + batch, "one lock, one batch");
	for (n = 1; n < batch; n++)
		p[n] = kmalloc(64, 0);
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), 0, "used up");
	p[n++] = kmalloc(64, 0);
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), batch - 1, "refilled again");
	for (; n < 3 * cap; n++)
		p[n] = kmalloc(64, 0);

	/* Frees fill the stack to cap; the next one flushes a batch. */
	cpu_cache_drain();
	for (unsigned int i = 0; i < cap; i++)
		expect_d_eq(kfree(p[--n]), KFREE_OK, "free");
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), cap, "full");
	expect_d_eq(kfree(p[--n]), KFREE_OK, "free into a full stack");
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), cap - batch + 1,
		    "a batch went back");
	/* LIFO: what was freed last comes out first. */
	expect_ptr_eq(kmalloc(64, 0), p[n], "LIFO");
	n++;
	while (n)
		expect_d_eq(kfree(p[--n]), KFREE_OK, "free");
	cpu_cache_drain();
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), 0, "drained");
	expect_lu_eq(cache->nr_objects_inuse, inuse0, "all back in the slabs");
	unpin(&saved);
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

TEST_BEGIN(test_distinct_over_cycles)
{
	enum { LIVE = 2000, ROUNDS = 200000 };
	static void *live[LIVE], *sorted[LIVE];
	static unsigned int tag[LIVE];
	uint64_t x = test_seed(12345);

	for (unsigned int r = 0; r < ROUNDS; r++) {
		unsigned int i;
		size_t size;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		i = (unsigned int)(x % LIVE);
		size = 1 + (size_t)((x >> 20) % 1024);
		if (live[i]) {
			unsigned char *b = live[i];

			if (b[0] != (unsigned char)tag[i] ||
			    b[ksize(b) - 1] != (unsigned char)tag[i]) {
				test_fail("object %p overwritten (round %u)", live[i], r);
				break;
			}
			if (kfree(live[i]) != KFREE_OK) {
				test_fail("free of %p (round %u)", live[i], r);
				break;
			}
		}
		live[i] = kmalloc(size, 0);
		assert_ptr_not_null(live[i], "round %u", r);
		tag[i] = r;
		memset(live[i], (int)(unsigned char)r, ksize(live[i]));
	}
	memcpy(sorted, live, sizeof(sorted));
	qsort(sorted, LIVE, sizeof(void *), cmp_ptr);
	for (unsigned int i = 1; i < LIVE; i++)
		if (sorted[i] == sorted[i - 1])
			test_fail("%p is live twice", sorted[i]);
	for (unsigned int i = 0; i < LIVE; i++)
		expect_d_eq(kfree(live[i]), KFREE_OK, "free");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

TEST_BEGIN(test_double_and_bad_frees)
{
	char *p = kmalloc(100, 0), *q = kmalloc(100, 0);
	struct slab_object objs[2];
	int on_stack;

	assert_ptr_not_null(p, "p");
	assert_ptr_not_null(q, "q");
	expect_d_eq(kfree(p + 16), KFREE_INVALID, "interior: caught before the push");
	expect_d_eq(kfree(p + 1), KFREE_INVALID, "odd interior");
	expect_d_eq(kfree(&on_stack), KFREE_INVALID, "not ours");
	expect_d_eq(kfree(p), KFREE_OK, "free");
	expect_d_eq(kfree(p), KFREE_DOUBLE, "immediate double free");
	expect_zu_eq(ksize(p), 0, "no size for the block just freed");
	expect_d_eq(kfree(q), KFREE_OK, "free another");
	expect_d_eq(kfree(q), KFREE_DOUBLE, "immediate double free");
	/* Two copies of one object in a flush (two threads freed it at the
	 * same instant): the second is left alone. */
	p = kmalloc(100, 0);
	assert_ptr_not_null(p, "again");
	objs[0].addr = objs[1].addr = p;
	objs[0].state = objs[1].state =
		&cache_slab_of(p)->state[object_index(cache_slab_of(p), p)];
	*objs[0].state = OBJ_CPU;	/* as a stack holds it */
	obj_mark(p);
	expect_u_eq(slab_free_bulk(cache_of(100), objs, 2), 1,
		    "slab_free_bulk leaves the second copy alone");
	expect_d_eq(*objs[0].state, OBJ_FREE, "free in its slab");
	expect_lu_eq(violations(), 0, "nothing corrupted");
}
TEST_END

/*
 * A double free that is not the most recent free is caught at the
 * second free, whatever came in between: other frees of the class (a
 * few, or enough to flush the stack to the slab layer), or a drain of
 * every stack. Nothing changes, and the block is handed out once.
 */
TEST_BEGIN(test_double_free_not_last)
{
	enum { OTHERS = 600, EXTRA = 4096 };
	static void *other[OTHERS], *extra[EXTRA];
	static const unsigned int between[] = { 40, 300, OTHERS };
	void *a, *b, *c, *keep;

	for (unsigned int t = 0; t < 2 * sizeof(between) / sizeof(between[0]); t++) {
		unsigned int n = between[t / 2];
		bool drain = t % 2;

		a = kmalloc(100, 0);
		assert_ptr_not_null(a, "a");
		for (unsigned int i = 0; i < n; i++)
			assert_ptr_not_null(other[i] = kmalloc(100, 0), "other");
		/* A live neighbour keeps a's slab when everything else goes
		 * back: a stays a freed slot of a slab, not an unknown
		 * pointer. */
		keep = NULL;
		for (unsigned int i = 0; i < n && !keep; i++)
			if (cache_slab_of(other[i]) == cache_slab_of(a)) {
				keep = other[i];
				other[i] = kmalloc(100, 0);
			}
		/* The thread may have moved to another CPU, whose stack holds
		 * other slabs' objects: allocate on until one is a's
		 * neighbour (a's slab still has free slots: a's own came from
		 * a refill of it), and free the rest. */
		for (unsigned int i = 0; !keep && i < EXTRA; i++) {
			assert_ptr_not_null(extra[i] = kmalloc(100, 0), "extra");
			if (cache_slab_of(extra[i]) == cache_slab_of(a)) {
				keep = extra[i];
				extra[i] = NULL;
			}
		}
		for (unsigned int i = 0; i < EXTRA && extra[i]; i++) {
			kfree(extra[i]);
			extra[i] = NULL;
		}
		assert_ptr_not_null(keep, "a neighbour of a");
		expect_d_eq(kfree(a), KFREE_OK, "free a");
		for (unsigned int i = 0; i < n; i++)
			expect_d_eq(kfree(other[i]), KFREE_OK, "free other %u", i);
		if (drain)
			cpu_cache_drain();
		expect_zu_eq(ksize(a), 0, "%u between%s: a has no size",
			     n, drain ? ", drained" : "");
		expect_d_eq(kfree(a), KFREE_DOUBLE, "%u frees between%s: "
			    "the second free of a is caught", n,
			    drain ? " and a drain" : "");
		b = kmalloc(100, 0);
		c = kmalloc(100, 0);
		expect_true(b != c, "a handed out once (%p %p)", b, c);
		kfree(b);
		kfree(c);
		kfree(keep);
	}
	expect_lu_eq(violations(), 0, "nothing corrupted");
}
TEST_END

/*
 * Two threads that free one object at the same instant can both push it
 * (cpu_cache.h, cpu_cache_free): the copy popped second finds the object
 * live and is dropped, so the object never has two owners.
 */
TEST_BEGIN(test_stale_copy_dropped)
{
	struct kmem_cache *cache = cache_of(100);
	char *p = kmalloc(100, 0), *q, *r;
	struct slab *slab;
	uint8_t *state;
	cpu_set_t saved;
	int cpu = pin_here(&saved);

	assert_d_ge(cpu, 0, "pinned");
	assert_ptr_not_null(p, "p");
	slab = cache_slab_of(p);
	state = &slab->state[object_index(slab, p)];
	cpu_cache_free_slow(cache, p, state);	/* both "threads" */
	cpu_cache_free_slow(cache, p, state);
	q = kmalloc(100, 0);
	r = kmalloc(100, 0);
	expect_ptr_eq(q, p, "the top copy is handed out");
	expect_ptr_ne(r, p, "the second copy is dropped");
	expect_true(obj_live(*state, p), "p is live once");
	kfree(q);
	kfree(r);
	/* The same, but the second copy is flushed to the slab layer while
	 * the first is live again: it must not free p under its owner. */
	p = kmalloc(100, 0);
	assert_ptr_not_null(p, "p again");
	slab = cache_slab_of(p);
	state = &slab->state[object_index(slab, p)];
	cpu_cache_free_slow(cache, p, state);
	cpu_cache_free_slow(cache, p, state);
	q = kmalloc(100, 0);
	expect_ptr_eq(q, p, "the top copy is handed out");
	cpu_cache_drain();	/* flushes the second copy */
	expect_true(obj_live(*state, p), "p stays live through the flush");
	expect_zu_eq(ksize(p), cache->size, "p has its size");
	expect_d_eq(kfree(p), KFREE_OK, "and is freed once");
	/* The other order: one copy went back to its slab (a flush) while
	 * the other is still on the stack; the slab cleared the mark, so the
	 * stack's copy is dropped, not handed out while p is free. */
	p = kmalloc(100, 0);
	assert_ptr_not_null(p, "p a third time");
	slab = cache_slab_of(p);
	state = &slab->state[object_index(slab, p)];
	cpu_cache_free_slow(cache, p, state);	/* one copy on the stack */
	{
		struct slab_object flushed = { p, state };

		expect_u_eq(slab_free_bulk(cache, &flushed, 1), 0,
			    "the other copy flushed");
	}
	expect_d_eq(*state, OBJ_FREE, "p free in its slab");
	expect_false(obj_marked(p), "and not marked");
	q = kmalloc(100, 0);
	expect_ptr_ne(q, p, "the stack's copy is dropped");
	/* (The refill after the drop may take p from the slab again: held
	 * by the stack, marked, but not handed out.) */
	expect_false(obj_live(*state, p), "p is not handed out");
	kfree(q);
	unpin(&saved);
	expect_lu_eq(violations(), 0, "nothing corrupted");
}
TEST_END

/*
 * A double free that finds the stack full must still be caught: p is
 * OBJ_CPU and marked from its first free, whatever the stack's state. (Found when
 * every class got a stack: the full path flushed the first copy and cached
 * the second, so the block was both free and cached.)
 */
TEST_BEGIN(test_double_free_on_a_full_stack)
{
	struct kmem_cache *cache = cache_of(100);
	unsigned int n = 2 * cache->cc_cap + 2, i = 0, seen = 0;
	void *objs[2 * 256 + 2], *got[2 * 256 + 2], *p;
	uint32_t *count;
	cpu_set_t saved;
	int cpu = pin_here(&saved);

	assert_d_ge(cpu, 0, "pinned");
	count = (uint32_t *)(cpu_cache_state.region +
			     ((size_t)cpu << CC_REGION_SHIFT)) + cache->cc_idx;
	for (unsigned int k = 0; k < n; k++)
		objs[k] = kmalloc(100, 0);
	/* Free one at a time until one slot is left, then p fills it. */
	while (i < n - 1 && *count != cache->cc_cap - 1)
		expect_d_eq(kfree(objs[i++]), KFREE_OK, "free %u", i);
	expect_u_eq(*count, cache->cc_cap - 1, "one slot left");
	p = objs[i++];
	expect_d_eq(kfree(p), KFREE_OK, "free p: the stack is full now");
	expect_u_eq(*count, cache->cc_cap, "full");
	expect_d_eq(kfree(p), KFREE_DOUBLE, "double free of p on a full stack");
	while (i < n)
		kfree(objs[i++]);
	/* p comes back at most once. */
	for (unsigned int k = 0; k < n; k++) {
		got[k] = kmalloc(100, 0);
		seen += got[k] == p;
	}
	expect_u_le(seen, 1, "p handed out %u times", seen);
	for (unsigned int k = 0; k < n; k++)
		kfree(got[k]);
	unpin(&saved);
	expect_lu_eq(violations(), 0, "nothing corrupted");
}
TEST_END

/* ------------------------------------------------------------- barns */

/* Objects and batches held by every barn. */
static unsigned int barn_batches_all(void)
{
	unsigned int n = 0;

	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		for (unsigned int c = 0; c < NR_SIZE_CLASSES; c++)
			n += cpu_cache_barn_batches(&kmem_caches[mt][c]);
	return n;
}

/*
 * A full stack puts a whole batch in its cache's barn, the objects still
 * allocated in their slabs; an empty stack takes it back from there,
 * without the slab layer; a drain empties the barn into the slabs. A
 * double free of an object sitting in the barn is caught.
 */
TEST_BEGIN(test_barn_flush_refill)
{
	enum { MAX = 1024 };
	static void *p[MAX];
	struct kmem_cache *cache = cache_of(64);
	unsigned int cap = cache->cc_cap, batch = cap / 2, n = 0;
	cpu_set_t saved;
	int cpu = pin_here(&saved);
	unsigned long inuse0, inuse1;
	void *in_barn, *q;

	test_skip_if(cpu < 0);
	cpu_cache_drain();
	expect_u_eq(cpu_cache_barn_batches(cache), 0, "drained: the barn is empty");
	inuse0 = cache->nr_objects_inuse;
	for (n = 0; n < 2 * cap; n++)
		assert_ptr_not_null(p[n] = kmalloc(64, 0), "alloc %u", n);
	cpu_cache_drain();
	inuse1 = cache->nr_objects_inuse;
	/* cap frees fill the stack; the next puts its top batch in the barn. */
	for (unsigned int i = 0; i < cap; i++)
		expect_d_eq(kfree(p[--n]), KFREE_OK, "free");
	expect_u_eq(cpu_cache_barn_batches(cache), 0, "full stack, barn empty");
	in_barn = p[n];	/* the top of the full stack: goes to the barn */
	expect_d_eq(kfree(p[--n]), KFREE_OK, "free into a full stack");
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), cap - batch + 1,
		    "a batch left the stack");
	expect_u_eq(cpu_cache_barn_batches(cache), 1, "and went to the barn");
	expect_lu_eq(cache->nr_objects_inuse, inuse1,
		     "its objects are still allocated in their slabs");
	expect_zu_eq(cpu_cache_bytes(),
		     (size_t)(cap - batch + 1 + batch) * cache->size,
		     "cpu_cache_bytes counts the barn");
	expect_d_eq(kfree(in_barn), KFREE_DOUBLE,
		    "double free of an object in the barn is caught");
	expect_zu_eq(ksize(in_barn), 0, "no size for an object in the barn");

	/* Empty the stack; the next allocation takes the batch back. */
	for (unsigned int i = 0; i < cap - batch + 1; i++)
		assert_ptr_not_null(p[n++] = kmalloc(64, 0), "alloc from the stack");
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), 0, "stack empty");
	q = kmalloc(64, 0);
	expect_ptr_eq(q, in_barn, "the refill took the barn's batch (top first)");
	expect_u_eq(cpu_cache_barn_batches(cache), 0, "the barn gave it");
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), batch - 1,
		    "the rest of the batch on the stack");
	expect_lu_eq(cache->nr_objects_inuse, inuse1, "without the slab layer");
	p[n++] = q;

	/* Again into the barn, then a drain returns it to the slabs. */
	while (n)
		expect_d_eq(kfree(p[--n]), KFREE_OK, "free");
	expect_u_ge(cpu_cache_barn_batches(cache), 1, "batches in the barn");
	cpu_cache_drain();
	expect_u_eq(cpu_cache_barn_batches(cache), 0, "the drain emptied the barn");
	expect_lu_eq(cache->nr_objects_inuse, inuse0, "all back in the slabs");
	expect_zu_eq(cpu_cache_bytes(), 0, "nothing cached");
	unpin(&saved);
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

/*
 * A batch taken from the barn may begin with a stale second copy (two
 * threads freed one object at the same instant, cpu_cache.h): p is pushed
 * twice, one copy goes to the barn at the top of a batch, the other is
 * handed out; the refill that takes the batch must not hand p out again.
 */
TEST_BEGIN(test_barn_stale_copy)
{
	enum { MAX = 1024 };
	static void *objs[MAX];
	struct kmem_cache *cache = cache_of(64);
	unsigned int cap = cache->cc_cap, n = 0, seen = 0;
	cpu_set_t saved;
	int cpu = pin_here(&saved);
	struct slab *slab;
	uint8_t *state;
	void *p, *q;

	test_skip_if(cpu < 0);
	cpu_cache_drain();
	for (n = 0; n < cap; n++)
		assert_ptr_not_null(objs[n] = kmalloc(64, 0), "alloc %u", n);
	p = kmalloc(64, 0);
	assert_ptr_not_null(p, "p");
	cpu_cache_drain();
	/* cap - 1 frees, then p twice: the second finds the stack full and
	 * puts the top batch (p's first copy on top) in the barn. */
	while (n > 1)
		expect_d_eq(kfree(objs[--n]), KFREE_OK, "free");
	objs[MAX - 1] = objs[0];	/* kept live, freed at the end */
	n = 0;
	slab = cache_slab_of(p);
	state = &slab->state[object_index(slab, p)];
	cpu_cache_free_slow(cache, p, state);
	expect_u_eq(cpu_cache_count(cache, (unsigned int)cpu), cap, "full");
	cpu_cache_free_slow(cache, p, state);
	expect_u_eq(cpu_cache_barn_batches(cache), 1, "one batch in the barn");
	q = kmalloc(64, 0);
	expect_ptr_eq(q, p, "the copy on the stack is handed out");
	/* Use up the stack; the refill takes the barn's batch. */
	while (cpu_cache_count(cache, (unsigned int)cpu))
		assert_ptr_not_null(objs[n++] = kmalloc(64, 0), "from the stack");
	for (unsigned int i = 0; i < cap; i++) {
		assert_ptr_not_null(objs[n] = kmalloc(64, 0), "refilled");
		seen += objs[n++] == p;
	}
	expect_u_eq(seen, 0, "the stale copy in the barn is dropped");
	expect_true(obj_live(*state, p), "p is live once");
	expect_d_eq(kfree(q), KFREE_OK, "p freed once");
	expect_d_eq(kfree(objs[MAX - 1]), KFREE_OK, "free");
	while (n)
		expect_d_eq(kfree(objs[--n]), KFREE_OK, "free");
	cpu_cache_drain();
	unpin(&saved);
	expect_lu_eq(violations(), 0, "nothing corrupted");
}
TEST_END

/*
 * Producers on one CPU, consumers on another (when there are two): every
 * object crosses CPUs, so batches go through the barns all the time,
 * while a drainer empties every stack and barn, runs the idle drain and
 * trims. Each object carries its producer, a sequence number and a fill
 * pattern, is checked by its producer over a window of live objects (an
 * object handed out twice is overwritten by its second owner) and by its
 * consumer; each consumer counts what it got from each producer (a lost
 * object leaves a count short). At the end every object is back in its
 * slab after one drain.
 */
#define PC_PAIRS	2
#define PC_OBJECTS	(2400 * PC_WINDOW)	/* whole windows */
#define PC_WINDOW	64
#define PC_QUEUE	4096

struct pc_obj {
	uint32_t producer;
	uint32_t seq;
	uint32_t size;
	uint32_t pad;
};

struct pc_queue {
	_Atomic(struct pc_obj *) slot[PC_QUEUE];
	atomic_ulong head, tail;	/* produced, consumed */
};

static struct pc_queue pc_queues[PC_PAIRS];
static atomic_ulong pc_errors;
static atomic_int pc_running;

static unsigned char pc_byte(const struct pc_obj *o, size_t k)
{
	return (unsigned char)(o->producer * 131 + o->seq * 7 + k);
}

static bool pc_intact(const struct pc_obj *o, uint32_t producer, uint32_t seq)
{
	if (o->producer != producer || o->seq != seq)
		return false;
	for (size_t k = sizeof(*o); k < o->size; k++)
		if (((const unsigned char *)o)[k] != pc_byte(o, k))
			return false;
	return true;
}

static void pc_pin(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

static void *pc_producer(void *arg)
{
	uint32_t me = (uint32_t)(uintptr_t)arg;
	struct pc_queue *q = &pc_queues[me];
	struct pc_obj *window[PC_WINDOW];
	uint64_t x = me * 0x9e3779b97f4a7c15ULL + 7;

	pc_pin(0);
	for (uint32_t seq = 0; seq < PC_OBJECTS; seq += PC_WINDOW) {
		for (unsigned int w = 0; w < PC_WINDOW; w++) {
			/* Two classes with big stacks and one with small. */
			static const size_t sizes[] = { 48, 64, 3000 };
			struct pc_obj *o;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			o = kmalloc(sizes[x % 3], 0);
			if (!o) {
				atomic_fetch_add(&pc_errors, 1);
				return NULL;
			}
			o->producer = me;
			o->seq = seq + w;
			o->size = (uint32_t)sizes[x % 3];
			for (size_t k = sizeof(*o); k < o->size; k++)
				((unsigned char *)o)[k] = pc_byte(o, k);
			window[w] = o;
		}
		for (unsigned int w = 0; w < PC_WINDOW; w++) {
			unsigned long h = atomic_load(&q->head);

			if (!pc_intact(window[w], me, seq + w))
				atomic_fetch_add(&pc_errors, 1);
			while (h - atomic_load(&q->tail) >= PC_QUEUE)
				sched_yield();
			atomic_store(&q->slot[h % PC_QUEUE], window[w]);
			atomic_store(&q->head, h + 1);
		}
	}
	return NULL;
}

static void *pc_consumer(void *arg)
{
	uint32_t me = (uint32_t)(uintptr_t)arg;
	struct pc_queue *q = &pc_queues[me];
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t expect = 0;

	pc_pin(ncpu > 1 ? 1 : 0);
	while (expect < PC_OBJECTS) {
		unsigned long t = atomic_load(&q->tail);
		struct pc_obj *o;

		if (t == atomic_load(&q->head)) {
			sched_yield();
			continue;
		}
		o = atomic_load(&q->slot[t % PC_QUEUE]);
		atomic_store(&q->tail, t + 1);
		if (!pc_intact(o, me, expect) || kfree(o) != KFREE_OK)
			atomic_fetch_add(&pc_errors, 1);
		expect++;
	}
	atomic_fetch_sub(&pc_running, 1);
	return NULL;
}

TEST_BEGIN(test_barn_producer_consumer)
{
	pthread_t prod[PC_PAIRS], cons[PC_PAIRS];
	unsigned long drains = 0;
	unsigned int max_batches = 0;

	atomic_store(&pc_running, PC_PAIRS);
	for (uintptr_t i = 0; i < PC_PAIRS; i++) {
		assert_d_eq(pthread_create(&cons[i], NULL, pc_consumer, (void *)i), 0,
			    "consumer");
		assert_d_eq(pthread_create(&prod[i], NULL, pc_producer, (void *)i), 0,
			    "producer");
	}
	while (atomic_load(&pc_running) > 0) {
		unsigned int b = barn_batches_all();

		if (b > max_batches)
			max_batches = b;
		switch (drains++ % 3) {
		case 0:
			cpu_cache_drain();
			break;
		case 1:
			cpu_cache_drain_idle();
			break;
		case 2:
			kmem_trim();
			break;
		}
		usleep(200);
	}
	for (int i = 0; i < PC_PAIRS; i++) {
		pthread_join(prod[i], NULL);
		pthread_join(cons[i], NULL);
	}
	test_diag("%lu drains while %d producer/consumer pairs ran; up to %u "
		  "batches in the barns", drains, PC_PAIRS, max_batches);
	expect_lu_eq(atomic_load(&pc_errors), 0,
		     "every object intact, once, in order, freed once");
	expect_zu_eq(cpu_cache_bytes(), slab_inuse_bytes(),
		     "every slab-allocated object is cached (stacks, barns) once");
	cpu_cache_drain();
	expect_u_eq(barn_batches_all(), 0, "the drain emptied every barn");
	if (cpu_cache_drains_all()) {
		expect_zu_eq(slab_inuse_bytes(), 0, "the drain emptied every CPU");
		expect_zu_eq(cpu_cache_bytes(), 0, "nothing cached");
	}
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

/* ------------------------------------------------------------ threads */

#define NR_THREADS	8
#define OPS_PER_THREAD	200000
#define SLOTS		128
#define EXCHANGE	256

struct obj {
	uint32_t size;
	uint32_t seed;
};

static _Atomic(struct obj *) exchange[EXCHANGE];
static atomic_ulong thread_errors;

static unsigned char obj_byte(const struct obj *o, size_t k)
{
	return (unsigned char)(o->seed * 31 + k);
}

static struct obj *obj_new(size_t size, uint32_t seed)
{
	struct obj *o = kmalloc(size, 0);

	if (!o)
		return NULL;
	o->size = (uint32_t)size;
	o->seed = seed;
	for (size_t k = sizeof(*o); k < size; k++)
		((unsigned char *)o)[k] = obj_byte(o, k);
	return o;
}

static bool obj_check_free(struct obj *o)
{
	for (size_t k = sizeof(*o); k < o->size; k++)
		if (((unsigned char *)o)[k] != obj_byte(o, k))
			return false;
	return kfree(o) == KFREE_OK;
}

static void *churn(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	struct obj *mine[SLOTS] = { 0 };

	for (unsigned int op = 0; op < OPS_PER_THREAD; op++) {
		unsigned int i;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		i = (unsigned int)(x % SLOTS);
		if (mine[i] && !obj_check_free(mine[i]))
			atomic_fetch_add(&thread_errors, 1);
		mine[i] = obj_new(sizeof(struct obj) + (x >> 32) % 1016, (uint32_t)x);
		if (!mine[i]) {
			atomic_fetch_add(&thread_errors, 1);
			break;
		}
		if ((x >> 16) % 4 == 0) {	/* hand one over */
			struct obj *o = atomic_exchange(&exchange[(x >> 40) % EXCHANGE],
							mine[i]);

			mine[i] = NULL;
			if (o && !obj_check_free(o))
				atomic_fetch_add(&thread_errors, 1);
		}
	}
	for (unsigned int i = 0; i < SLOTS; i++)
		if (mine[i] && !obj_check_free(mine[i]))
			atomic_fetch_add(&thread_errors, 1);
	return NULL;
}

TEST_BEGIN(test_threads_churn)
{
	pthread_t t[NR_THREADS];
	size_t cached, inuse;

	for (uintptr_t i = 0; i < NR_THREADS; i++)
		assert_d_eq(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0,
			    "thread %zu", (size_t)i);
	for (int i = 0; i < NR_THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < EXCHANGE; i++) {
		struct obj *o = atomic_exchange(&exchange[i], NULL);

		if (o && !obj_check_free(o))
			atomic_fetch_add(&thread_errors, 1);
	}
	expect_lu_eq(atomic_load(&thread_errors), 0, "content checks and frees");
	/* Nothing is live now: every object allocated in a slab sits in
	 * some CPU's stack, exactly once. */
	cached = cpu_cache_bytes();
	inuse = slab_inuse_bytes();
	expect_zu_eq(cached, inuse, "every slab-allocated object is cached");
	cpu_cache_drain();
	if (cpu_cache_drains_all())
		expect_zu_eq(slab_inuse_bytes(), 0, "the drain emptied every CPU");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

static atomic_int churning;

static void *churn_and_leave(void *arg)
{
	churn(arg);
	atomic_fetch_sub(&churning, 1);
	return NULL;
}

/* Drains of every CPU (rseq mode: stop, membarrier, take) while threads
 * pop and push on them: nothing lost, nothing handed out twice. */
TEST_BEGIN(test_drain_while_churning)
{
	enum { THREADS = 4 };
	pthread_t t[THREADS];
	unsigned long drains = 0;
	size_t cached, inuse;

	test_skip_if(!cpu_cache_drains_all());
	atomic_store(&churning, THREADS);
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_d_eq(pthread_create(&t[i], NULL, churn_and_leave,
					   (void *)(i + 100)), 0, "thread");
	while (atomic_load(&churning) > 0) {
		cpu_cache_drain();
		drains++;
		usleep(100);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < EXCHANGE; i++) {
		struct obj *o = atomic_exchange(&exchange[i], NULL);

		if (o && !obj_check_free(o))
			atomic_fetch_add(&thread_errors, 1);
	}
	test_diag("%lu drains of every CPU while %d threads churned", drains, THREADS);
	expect_lu_gt(drains, 0, "drained at least once");
	expect_lu_eq(atomic_load(&thread_errors), 0, "content checks and frees");
	cached = cpu_cache_bytes();
	inuse = slab_inuse_bytes();
	expect_zu_eq(cached, inuse, "every slab-allocated object is cached once");
	cpu_cache_drain();
	expect_zu_eq(slab_inuse_bytes(), 0, "the last drain emptied every CPU");
	expect_zu_eq(cpu_cache_bytes(), 0, "no object left in any stack");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

TEST_BEGIN(test_fork_child_abandons)
{
	static void *objs[2 * 256 + 1];
	struct kmem_cache *cache = cache_of(48);
	unsigned int n = 2 * cache->cc_cap + 1;
	void *p = kmalloc(48, 0);
	pid_t pid;
	int status;

	assert_ptr_not_null(p, "alloc");
	expect_d_eq(kfree(p), KFREE_OK, "free: now cached");
	/* And batches in the barn: more frees than a stack holds. */
	for (unsigned int i = 0; i < n; i++)
		assert_ptr_not_null(objs[i] = kmalloc(48, 0), "alloc %u", i);
	for (unsigned int i = 0; i < n; i++)
		expect_d_eq(kfree(objs[i]), KFREE_OK, "free %u", i);
	expect_u_ge(barn_batches_all(), 1, "batches in a barn at the fork");
	pid = fork();
	assert_d_ge(pid, 0, "fork");
	if (pid == 0) {
		void *q;

		kmem_fork_child(true);
		if (cpu_cache_bytes() != 0)
			_exit(2);
		q = kmalloc(48, 0);
		if (!q || q == p || kfree(q) != KFREE_OK)
			_exit(3);
		_exit(0);
	}
	assert_d_eq(waitpid(pid, &status, 0), pid, "wait");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child: caches empty, fresh objects (status %#x)", status);
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

int main(void)
{
	const char *env = getenv("CC_TEST_FALLBACK");

	want_fallback = env && *env && *env != '0';
	if (want_fallback)
		cpu_cache_force_fallback();
	return test_run(test_mode,
			test_refill_flush_boundaries,
			test_distinct_over_cycles,
			test_double_and_bad_frees,
			test_double_free_on_a_full_stack,
			test_double_free_not_last,
			test_stale_copy_dropped,
			test_barn_flush_refill,
			test_barn_stale_copy,
			test_barn_producer_consumer,
			test_threads_churn,
			test_drain_while_churning,
			test_fork_child_abandons,
			NULL);
}
