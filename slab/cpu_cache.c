/*
 * cpu_cache.c - per-CPU object caches: the fast path of kmalloc and kfree.
 *
 * THE PROTOCOL
 *
 * Data. One region of CC_REGION_SIZE bytes per possible CPU, all in one
 * mapping from the OS (os_map_meta: never malloc; counted in the budget),
 * sized at init from sysconf(_SC_NPROCESSORS_CONF). A CPU's region is
 *
 *	uint32_t count[MIGRATE_PCPTYPES * NR_SIZE_CLASSES];	 at offset 0
 *	int lock;		(fallback mode)		at CC_LOCK_OFF
 *	int32_t countdown;	(lifetime sampling)	at CC_COUNTDOWN_OFF
 *	uint32_t stopped;				at CC_STOPPED_OFF
 *	then per cached kmem_cache: cache->cc_cap slots of struct
 *	slab_object {addr, state}; cache->cc_off is the offset of the first.
 *
 * and (cpu, cache) holds the LIFO stack slot[0 .. count - 1]. The layout
 * (offsets, capacities) is fixed at init and read-only afterwards; only
 * counts and slots change. Invariant, at every instant outside a
 * committing store: count <= cc_cap, and every slot below count holds an
 * object of that cache which is "allocated" in its slab's bitmap, live for
 * nobody, OBJ_CPU in the state byte that slot.state points to, and
 * marked: its word 0 is slab_secret ^ its address (slab_internal.h, enum
 * obj_state). Any CPU's stack may hold any object of the cache. (The one
 * exception: two threads freeing one object at the same instant may both
 * push it; the copy popped second finds the object unmarked and is
 * dropped, see cc_take_popped() in cpu_cache.h.)
 *
 * rseq mode (glibc registered rseq: __rseq_size != 0), per operation:
 *
 *	rseq->rseq_cs = &descriptor;	// arms the restartable sequence
 *  start:
 *	cpu = rseq->cpu_id;		// read INSIDE the section
 *	if (cpu >= ncpu) goto slow;
 *	if (stopped[cpu]) goto slow;	// a drainer owns it ("Draining")
 *	c = count[cpu][cache];
 *	pop:  if (c == 0) goto empty; *out = slot[c - 1];
 *	push: if (c == cap) goto full;
 *	      slot[c] = {p, state};	// beyond the stack: not yet visible
 *	count[cpu][cache] = c -/+ 1;	// the ONE committing store
 *  post_commit:
 *	pop:  if (*out.addr != mark) drop it;	// a stale second copy
 *	      *out.addr = 0			// the object is the popper's now
 *
 * and before a push, free() has checked that the object is live (OBJ_CPU
 * and unmarked, or OBJ_LIVE, which it stores OBJ_CPU once) and written
 * its mark: a double free is caught at the second free however many frees
 * and flushes came in between. The pop neither loads nor stores the state
 * byte, and the free of an object the per-CPU layer handed out only loads
 * it: the bytes of 64 objects share a cache line, and threads on two CPUs reusing neighbouring objects would bounce
 * it on every call (bench/README.md). The mark lives in the object, whose
 * line the program owns anyway. The slot's state pointer is used by the
 * slow paths only (the flush to slab_free_bulk).
 *
 * Assumptions: only threads running on cpu touch cpu's stacks; the kernel
 * restarts the section at the abort handler (which retries from the top)
 * if the thread is preempted, migrated or signalled between start and
 * post_commit. So the read of cpu_id, the reads of count and slots and the
 * single store of count behave as one step on that CPU: no atomic
 * read-modify-write and no fence. The push's store to slot[c] before the
 * commit is harmless when aborted (it is above the stack). The mark is
 * written outside the section, by the thread that owns the object at that
 * moment (the freer before its push, the popper after its commit). A signal handler that calls malloc runs after the kernel has aborted
 * the interrupted section: it sees a consistent stack.
 *
 * Cost: no atomic instruction and no fence; one arming store of
 * rseq->rseq_cs and one committing store of the count per operation, and
 * a load and a store of the object's word 0 (the mark). The whole malloc
 * and free, instruction by instruction and in ns beside the other
 * allocators: bench/README.md, "What the fast path costs", and
 * bench/results/fastpath.md.
 *
 * Fallback mode (__rseq_size == 0: valgrind, GLIBC_TUNABLES
 * glibc.pthread.rseq=0, or cpu_cache_force_fallback() in tests): the same
 * stacks, each CPU's under that CPU's spinlock (an int in its region, at
 * CC_LOCK_OFF), held for a few instructions. The CPU is a per-thread hint
 * (cc_hint_base: the base of its region), asked from sched_getcpu() at
 * the start of each slow path (CPU 0 if that fails or is out of range):
 * any CPU is correct under its lock. malloc() and free() inline the
 * common case (kmalloc_fast.h, kmalloc_fast (malloc_fast 2) and kfree_fast_locked;
 * cpu_cache.h, cc_pop_locked_fast and cc_push_locked_fast):
 *
 *	depth++;			// preload: "inside the allocator"
 *	if (fetch_or(&lock[hint], 1)) goto slow; // taken: never wait here
 *	pop or push, as in rseq mode, the count stored last;
 *	store_release(&lock[hint], 0);
 *	depth--;
 *
 * A lock found taken is another thread's, or this thread's own when a
 * signal handler interrupted a call holding it: the slow path sees the
 * depth count, knows it is nested and waits for no lock (kmalloc_nolock),
 * and a fork from that handler abandons the heap. Otherwise the slow path
 * waits for the lock (cc_lock: spins, then yields). The mode is chosen
 * once in cpu_cache_init() and never changes (tcmalloc's IsFast()).
 * Its cost, beside the rseq path's: bench/results/fastpath-fallback.md
 * and bench/results/fastpath.md.
 *
 * Slow paths, both modes: a full stack pops a batch of cc_cap / 2 and
 * puts it, whole, in its cache's barn (a bounded store of full batches,
 * "barn" below), or when the barn is full returns it with slab_free_bulk
 * under ONE acquisition of cache->lock, which marks them OBJ_FREE. An
 * empty stack takes a whole batch from the barn, or when it is empty
 * cc_cap / 2 objects from the slab layer under one acquisition of
 * cache->lock (slab_alloc_bulk, which makes them OBJ_CPU and marks
 * them); it returns one (mark cleared) and pushes the rest (a push may
 * land on another CPU after a migration: any stack may hold any object; a
 * push that finds a full stack hands the rest back). So objects freed on
 * one CPU and allocated on another (producer/consumer) move a batch at a
 * time, OBJ_CPU all the way, without touching a slab or a state byte. The
 * slow paths never hold a CPU's lock (or sit in a section) while taking
 * the barn's lock or cache->lock, and never hold both of those.
 *
 * Draining. cpu_cache_drain() (kmem_trim, slab_shrink) returns every
 * CPU's stacks to the slab layer, then every barn (any thread can take a
 * barn's lock: the barns are drained in every mode, and by
 * cpu_cache_drain_idle() when unchanged since its last call). Fallback
 * mode: the stacks under each CPU's lock.
 * rseq mode, for each CPU (one drainer at a time, cc_drain_lock):
 *
 *	region[cpu].stopped = 1;
 *	membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, FLAG_CPU, cpu);
 *	take every stack of cpu as plain memory, counts to 0;
 *	region[cpu].stopped = 0;		// release
 *
 * and every section reads stopped after reading cpu_id, leaving without a
 * commit (as "empty" or "full") when it is set. The membarrier returns
 * after a full barrier on cpu and after restarting any of our sections
 * running there; a section preempted earlier restarts when it runs again.
 * So once it has returned no section can commit on cpu until stopped is
 * cleared, and the drainer sees every commit made before. While a CPU is
 * stopped its threads allocate from and free to the slab layer directly.
 * The process registers for the command once at init
 * (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, Linux 5.10); if that
 * fails, or a membarrier call fails, the CPUs concerned are not drained
 * and only this CPU's stacks are, popped by rseq: what trim then leaves
 * behind is bounded by sum(cc_cap * size) per CPU: about 6.8 MiB per
 * migrate type (32 KiB per class up to 1 KiB, 32 objects above), 20 MiB
 * per CPU if every class of every type is full. A region's layout
 * takes about 180 KiB of its 256 (the slots' part is touched only as far
 * as the stacks grow).
 *
 * Other CPUs' stacks are touched only: in the fallback mode under their
 * lock; by a drainer while they are stopped; by stats (racy reads of the
 * counts); and in the child after fork, where this thread is the only one.
 *
 * fork. Outside a committing store the stacks are consistent, and fork()
 * is a system call, never inside a section: the child inherits them as
 * they are. The prepare handler takes cc_drain_lock (no CPU is stopped
 * across fork) and, in fallback mode, every CPU's lock.
 * A child that abandons the heap (fork from a signal handler inside the
 * allocator) sets every count to 0 without returning objects. Objects that
 * another thread of the parent held in a slow path's local batch at the
 * fork are lost to the child: a leak of at most one batch per thread,
 * never a corruption.
 *
 * The barns: their locks are reset in the child and, when it abandons
 * the heap, emptied; a put publishes its batch after copying it, a take
 * unpublishes before copying, so a barn is consistent in the child
 * whoever held its lock ("barn" below).
 *
 * Threads. Nothing exists per thread but the fallback's CPU hint
 * (glibc registers and unregisters the rseq area itself): a thread's exit
 * needs nothing from us. An object a thread frees stays in the stack of
 * the CPU it freed it on; nothing is owned by a thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "cpu_cache.h"
#include "slab_internal.h"

#define NR_KMEM_CACHES	(MIGRATE_PCPTYPES * NR_SIZE_CLASSES)

/* Some thread has set a lifetime hint (cpu_cache_thread_hinted). */
static int cc_hinted;

#define CC_SLOTS_START	512	/* after count[NR_KMEM_CACHES] */
_Static_assert(NR_KMEM_CACHES * sizeof(uint32_t) <= CC_LOCK_OFF &&
	       CC_LOCK_OFF + sizeof(int) <= CC_COUNTDOWN_OFF &&
	       CC_COUNTDOWN_OFF + sizeof(int32_t) <= CC_STOPPED_OFF &&
	       CC_STOPPED_OFF + sizeof(uint32_t) <= CC_SLOTS_START,
	       "counts, the lock, the countdown, the stopped word fit before the slots");

/* Capacity of a class: about 32 KiB of objects, between 32 and 256. A
 * full or empty stack moves half of it (to its barn, or under one slab
 * lock), so larger stacks mean fewer slow paths when threads share a
 * class, and a program that allocates a batch and frees it again stays on
 * the stack. The classes above 1 KiB get 32 slots, not 32 KiB's worth: a
 * batch of 16 KiB blocks otherwise takes a slow path every 4 calls
 * (bench/results/issue10.md, "Stack capacity"). A CPU's stacks of one
 * migrate type hold at most about 6.8 MiB then, and the idle drain and
 * trim empty them. */
#define CC_BYTES_PER_CACHE	32768u
#define CC_MIN_CAP		32u
#define CC_MAX_CAP		256u

/* A CPU's lock in the fallback mode (at CC_LOCK_OFF in its region): a
 * test-and-test-and-set spinlock that yields after a while (its holder may
 * have been preempted: 8 threads on 2 CPUs). Held for a few instructions,
 * never while calling into the slab layer. */
#define CC_SPINS_BEFORE_YIELD	100

/* The state the inline fast paths of cpu_cache.h read. */
struct cpu_cache_state cpu_cache_state;
#define cc cpu_cache_state

static int cc_init_state;	/* 0: not started, 1: running, 2: done */
#ifdef BUDDY_TEST_HOOKS
static bool cc_force_fallback;
#else
#define cc_force_fallback false
#endif
static bool cc_force_off;

/* rseq mode: membarrier's rseq command is ours, so any CPU's stacks can be
 * drained; one drainer at a time. */
static bool cc_remote_drain;
static pthread_mutex_t cc_drain_lock = PTHREAD_MUTEX_INITIALIZER;

static inline uint32_t *cc_count(char *base, const struct kmem_cache *cache)
{
	return (uint32_t *)base + cache->cc_idx;
}

static inline struct slab_object *cc_slots(char *base,
					   const struct kmem_cache *cache)
{
	return (struct slab_object *)(base + cache->cc_off);
}

static bool rseq_usable(void)
{
#if CC_HAVE_RSEQ
	return __rseq_size != 0 && (int)rseq_area()->cpu_id >= 0;
#else
	return false;
#endif
}


/* ------------------------------------------------------ fallback mode */

/*
 * The CPU the fallback uses (cc_hint_base, cpu_cache.h): sched_getcpu() (a
 * system call where there is no vDSO, as under valgrind), asked at the
 * start of each slow path. cc_no_cpu stands for "not asked yet": a region
 * head whose lock is always taken, so that a new thread's first fast path
 * goes to the slow path. It is the only per-thread state and needs
 * nothing at thread exit.
 */
static struct {
	char counts[CC_LOCK_OFF];
	int lock;
} cc_no_cpu __attribute__((aligned(64))) = { .lock = 1 };

__thread char *cc_hint_base __attribute__((tls_model("initial-exec"))) =
	(char *)&cc_no_cpu;

__attribute__((noinline))
char *cc_refresh_cpu(void)
{
	int cpu = os_current_cpu();

	if (cpu < 0 || (unsigned int)cpu >= cc.ncpu)
		cpu = 0;
	cc_hint_base = cc_cpu_region(cpu);
	return cc_hint_base;
}

/* This thread's CPU for a slow path: asked at its start, or now if it
 * never was. */
static inline char *cc_current_base(void)
{
	char *base = cc_hint_base;

	if (unlikely(base == (char *)&cc_no_cpu))
		base = cc_refresh_cpu();
	return base;
}

__attribute__((noinline, cold))
static void cc_lock_contended(int *l)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
			if (++spins >= CC_SPINS_BEFORE_YIELD) {
				os_yield();
				spins = 0;
			} else {
				caa_cpu_relax();
			}
		}
	}
}

/* The lock of the CPU whose region is at base. Only from a call that is
 * not nested in an interrupted one of this thread (which may hold it). */
static inline void cc_lock(char *base)
{
	if (unlikely(!cc_trylock(base)))
		cc_lock_contended(cc_lock_word(base));
}

static void *cc_pop_locked(const struct kmem_cache *cache, uint8_t **state)
{
	char *base = cc_current_base();
	uint32_t *count = cc_count(base, cache);
	void *p = NULL;

	cc_lock(base);
	if (*count) {
		struct slab_object *slot = &cc_slots(base, cache)[*count - 1];

		p = slot->addr;
		*state = slot->state;
		CMM_STORE_SHARED(*count, *count - 1);
	}
	cc_unlock(base);
	return p;
}

static bool cc_push_locked(const struct kmem_cache *cache, void *p,
			   uint8_t *state)
{
	char *base = cc_current_base();
	uint32_t *count = cc_count(base, cache);
	bool pushed = false;

	cc_lock(base);
	if (*count < cache->cc_cap) {
		struct slab_object *slot = &cc_slots(base, cache)[*count];

		slot->addr = p;
		slot->state = state;
		cmm_barrier();
		CMM_STORE_SHARED(*count, *count + 1);
		pushed = true;
	}
	cc_unlock(base);
	return pushed;
}

/* ----------------------------------------------------------- dispatch */

static inline void *cc_pop(const struct kmem_cache *cache, uint8_t **state)
{
	if (likely(cc.mode == CC_RSEQ))
		return cc_pop_rseq(cache, state);
	return cc_pop_locked(cache, state);
}

static inline bool cc_push(const struct kmem_cache *cache, void *p,
			   uint8_t *state)
{
	if (likely(cc.mode == CC_RSEQ))
		return cc_push_rseq(cache, p, state);
	return cc_push_locked(cache, p, state);
}

/* ---------------------------------------------------------- slow paths */

static unsigned int cc_batch(const struct kmem_cache *cache)
{
	return cache->cc_cap / 2;
}

/* Hand objs[0 .. n - 1] back to the slab layer. Stale second copies of an
 * object (see cc_take_popped) are ignored there. */
static void cc_return(struct kmem_cache *cache, const struct slab_object *objs,
		      unsigned int n)
{
	if (n)
		slab_free_bulk(cache, objs, n);
}

/* --------------------------------------------------------------- barn */

/*
 * The barn of a kmem_cache (the kernel's struct node_barn, mm/slub.c, and
 * tcmalloc's transfer cache): full batches of cc_batch objects that a full
 * stack left for an empty one. A flush puts a whole batch in, a refill
 * takes a whole batch out, each a copy of cc_batch slots under the barn's
 * short lock: in a producer/consumer pattern the consumer's CPU frees
 * what the producer's CPU allocates, and the objects go from one to the
 * other without touching a slab's bitmap or cache->lock. Only when the
 * barn is full (flush) or empty (refill) does the slab layer see them.
 *
 * A batch in the barn is nr_full's: barn->objs[i * batch .. + batch - 1]
 * for i < nr_full, each object OBJ_CPU and marked (or a stale second copy,
 * as in a stack: dropped when taken). Bounded: capacity batches, at most
 * CC_BARN_BYTES of objects (but at least CC_BARN_MIN batches).
 *
 * Lock: a test-and-test-and-set spinlock that yields (as struct cc_lock),
 * held for one copy of at most CC_MAX_CAP / 2 slots, never while taking
 * another lock; the slow paths take it with no lock held. The nolock
 * paths (signal handlers inside the allocator) never come here.
 *
 * fork: a put copies the batch and then raises nr_full, a take lowers
 * nr_full and then copies (compiler barriers between): a child that
 * inherits a barn whose lock another thread held sees it consistent,
 * minus at most the batch that thread was taking (lost, like any slow
 * path's local batch). The child resets the lock; one that abandons the
 * heap empties the barn.
 *
 * Drained with the stacks: cpu_cache_drain() empties every barn into the
 * slab layer, cpu_cache_drain_idle() those unchanged since its last call;
 * cpu_cache_bytes() counts what they hold.
 */
#define CC_BARN_BYTES	(1024u << 10)
#define CC_BARN_MIN	2u
#define CC_BARN_MAX	32u

struct cc_barn {
	int lock;
	unsigned int nr_full;		/* batches held */
	unsigned int capacity;		/* batches it can hold (0: no barn) */
	unsigned int batch;		/* objects per batch: cc_batch() */
	unsigned long changes;		/* puts and takes: idle detection */
	unsigned long idle_mark;	/* changes at the last idle scan */
	struct slab_object *objs;	/* capacity * batch slots */
} __attribute__((aligned(64)));

static struct cc_barn *cc_barns;	/* NR_KMEM_CACHES, by cc_idx */

static inline struct cc_barn *cc_barn(const struct kmem_cache *cache)
{
	return cc_barns ? &cc_barns[cache->cc_idx] : NULL;
}

__attribute__((noinline, cold))
static void barn_lock_contended(int *l)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
			if (++spins >= CC_SPINS_BEFORE_YIELD) {
				os_yield();	/* the holder may be preempted */
				spins = 0;
			} else {
				caa_cpu_relax();
			}
		}
	}
}

static void barn_lock(struct cc_barn *barn)
{
	if (unlikely(__atomic_exchange_n(&barn->lock, 1, __ATOMIC_ACQUIRE)))
		barn_lock_contended(&barn->lock);
}

static void barn_unlock(struct cc_barn *barn)
{
	__atomic_store_n(&barn->lock, 0, __ATOMIC_RELEASE);
}

/* Put a whole batch (n == batch) in the barn: false if it has no room
 * (or n is not a whole batch). */
static bool barn_put(struct cc_barn *barn, const struct slab_object *objs,
		     unsigned int n)
{
	bool put = false;

	if (!barn || n != barn->batch ||
	    CMM_LOAD_SHARED(barn->nr_full) >= barn->capacity)
		return false;
	barn_lock(barn);
	if (barn->nr_full < barn->capacity) {
		memcpy(barn->objs + (size_t)barn->nr_full * n, objs,
		       n * sizeof(*objs));
		cmm_barrier();	/* the batch before the count (fork) */
		CMM_STORE_SHARED(barn->nr_full, barn->nr_full + 1);
		/* Read without the lock by the idle scan (barn_drain). */
		CMM_STORE_SHARED(barn->changes, barn->changes + 1);
		put = true;
	}
	barn_unlock(barn);
	return put;
}

/* Take a whole batch out of the barn into objs; returns its size, 0 if
 * the barn is empty. */
static unsigned int barn_take(struct cc_barn *barn, struct slab_object *objs)
{
	unsigned int n = 0;

	if (!barn || !CMM_LOAD_SHARED(barn->nr_full))
		return 0;
	barn_lock(barn);
	if (barn->nr_full) {
		n = barn->batch;
		CMM_STORE_SHARED(barn->nr_full, barn->nr_full - 1);
		cmm_barrier();	/* the count before the copy (fork) */
		memcpy(objs, barn->objs + (size_t)barn->nr_full * n,
		       n * sizeof(*objs));
		CMM_STORE_SHARED(barn->changes, barn->changes + 1);
	}
	barn_unlock(barn);
	return n;
}

/* Empty the barn of cache into the slab layer, a batch at a time; with
 * idle_only only if nothing was put or taken since the last such call. */
static void barn_drain(struct kmem_cache *cache, bool idle_only)
{
	struct cc_barn *barn = cc_barn(cache);
	struct slab_object objs[CC_MAX_CAP / 2];
	unsigned int n;

	if (!barn || !barn->capacity)
		return;
	if (idle_only) {
		unsigned long changes = CMM_LOAD_SHARED(barn->changes);
		bool idle = changes == barn->idle_mark;

		barn->idle_mark = changes;	/* under cc_drain_lock */
		if (!idle)
			return;
	}
	while ((n = barn_take(barn, objs)))
		cc_return(cache, objs, n);
}

/* Objects' bytes held by cache's barn (racy, exact when quiet). */
static size_t barn_bytes(const struct kmem_cache *cache)
{
	const struct cc_barn *barn = cc_barn(cache);

	if (!barn)
		return 0;
	return (size_t)CMM_LOAD_SHARED(barn->nr_full) * barn->batch * cache->size;
}

#ifdef BUDDY_TEST_HOOKS
unsigned int cpu_cache_barn_batches(const struct kmem_cache *cache)
{
	const struct cc_barn *barn = cc_barn(cache);

	return barn ? CMM_LOAD_SHARED(barn->nr_full) : 0;
}
#endif

/* How many batches the barn of a class of size bytes and batch objects
 * holds at most: CC_BARN_BYTES of objects, between CC_BARN_MIN and
 * CC_BARN_MAX batches. */
static unsigned int barn_capacity(unsigned int size, unsigned int batch)
{
	unsigned int cap;

	if (!batch)
		return 0;
	cap = CC_BARN_BYTES / (size * batch);
	if (cap < CC_BARN_MIN)
		cap = CC_BARN_MIN;
	if (cap > CC_BARN_MAX)
		cap = CC_BARN_MAX;
	return cap;
}

/* Map the barns of every cached kmem_cache (after cc_layout()); false if
 * the OS refuses the mapping. */
static bool barns_init(void)
{
	size_t head = NR_KMEM_CACHES * sizeof(struct cc_barn), bytes = head;
	struct slab_object *objs;
	char *map;

	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
		const struct kmem_cache *cache = &kmem_caches[0][0] + i;
		unsigned int batch = cc_batch(cache);

		bytes += (size_t)barn_capacity(cache->size, batch) * batch *
			 sizeof(struct slab_object);
	}
	bytes = (bytes + PAGE_SIZE - 1) & ~(size_t)(PAGE_SIZE - 1);
	map = os_map_meta(bytes);
	if (!map)
		return false;
	objs = (struct slab_object *)(map + head);
	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
		const struct kmem_cache *cache = &kmem_caches[0][0] + i;
		struct cc_barn *barn = (struct cc_barn *)map + i;

		barn->batch = cc_batch(cache);
		barn->capacity = barn_capacity(cache->size, barn->batch);
		barn->objs = objs;
		objs += (size_t)barn->capacity * barn->batch;
	}
	cc_barns = (struct cc_barn *)map;
	return true;
}

/* A flush: a whole batch into the barn if it has room, else (or a partial
 * batch) to the slab layer. */
static void cc_flush(struct kmem_cache *cache, const struct slab_object *objs,
		     unsigned int n)
{
	if (n && !barn_put(cc_barn(cache), objs, n))
		cc_return(cache, objs, n);
}

/* Pop one live object off this CPU's stack, dropping stale copies; NULL
 * when the stack is empty. */
static void *cc_pop_live(struct kmem_cache *cache)
{
	uint8_t *state;
	void *p;

	while ((p = cc_pop(cache, &state)))
		if (cc_take_popped(p))
			return p;
	return NULL;
}

/* An empty stack: a batch from the barn, else from the slab layer. */
__attribute__((noinline))
static void *cc_refill(struct kmem_cache *cache)
{
	struct slab_object objs[CC_MAX_CAP / 2];
	unsigned int got, first, i;

	if (cc.mode == CC_OFF || cache->cc_cap == 0)
		return slab_alloc(cache);
	/* A batch from the barn may hold stale second copies: the caller's
	 * object is the first that is still marked (a batch of nothing else
	 * is dropped whole: rare). */
	while ((got = barn_take(cc_barn(cache), objs))) {
		for (first = 0; first < got; first++)
			if (cc_take_popped(objs[first].addr))
				goto push;
	}
	got = slab_alloc_bulk(cache, cc_batch(cache), objs);
	if (got == 0)
		return NULL;	/* errno = ENOMEM */
	first = 0;
	obj_unmark(objs[0].addr);
push:
	/* Keep the first for the caller; push the rest, last first, so the
	 * lowest addresses come out next. */
	for (i = got - 1; i > first; i--)
		if (!cc_push(cache, objs[i].addr, objs[i].state))
			break;	/* full: we moved to a CPU that has enough */
	if (i > first)
		cc_return(cache, objs + first + 1, i - first);
	return objs[first].addr;
}

/* The fast path of the fallback mode, and the slow path of both. */
void *cpu_cache_alloc_slow(struct kmem_cache *cache)
{
	uint8_t *state;
	void *p;

	if (likely(cc.mode == CC_LOCKED && cache->cc_cap)) {
		cc_refresh_cpu();	/* the fallback's CPU, at each slow path */
		p = cc_pop_locked(cache, &state);
		if (likely(p && cc_take_popped(p)))
			return p;
	}
	if (cc.mode != CC_OFF && cache->cc_cap && (p = cc_pop_live(cache)))
		return p;
	return cc_refill(cache);
}

/* A full stack (or not cached, or CC_OFF): flush a batch, then push. */
__attribute__((noinline))
static void cc_flush_and_free(struct kmem_cache *cache, void *p,
			      uint8_t *state)
{
	struct slab_object objs[CC_MAX_CAP / 2];

	if (cc.mode != CC_OFF && cache->cc_cap) {
		cc_claim(p, state);
		for (int attempt = 0; attempt < 3; attempt++) {
			unsigned int n = 0;

			if (cc_push(cache, p, state))
				return;
			while (n < cc_batch(cache) &&
			       (objs[n].addr = cc_pop(cache, &objs[n].state)))
				n++;
			cc_flush(cache, objs, n);
		}
		/* Still full each time (migrating between full CPUs). */
	}
	slab_free(cache_slab_of(p), p);
}

void cpu_cache_free_slow(struct kmem_cache *cache, void *p, uint8_t *state)
{
	if (cc.mode == CC_LOCKED && cache->cc_cap) {
		cc_refresh_cpu();	/* the fallback's CPU, at each slow path */
		cc_claim(p, state);
		if (cc_push_locked(cache, p, state))
			return;
	}
	cc_flush_and_free(cache, p, state);
}

/* ------------------------------------------------------------- drain */

/* Move a whole stack of the CPU at base into objs, leaving it empty. The
 * caller owns the CPU's stacks (its lock, or the CPU is stopped). */
static unsigned int cc_take_stack(char *base, const struct kmem_cache *cache,
				  struct slab_object *objs)
{
	uint32_t *count = cc_count(base, cache);
	unsigned int n = CMM_LOAD_SHARED(*count);

	memcpy(objs, cc_slots(base, cache), n * sizeof(*objs));
	CMM_STORE_SHARED(*count, 0);
	return n;
}

/* Empty one CPU's stacks into the slab layer. Fallback mode: under that
 * CPU's lock, taking a batch at a time. */
static void drain_cpu_locked(unsigned int cpu)
{
	char *base = cc_cpu_region(cpu);
	struct slab_object objs[CC_MAX_CAP];

	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
		struct kmem_cache *cache = &kmem_caches[0][0] + i;
		unsigned int n;

		if (!cache->cc_cap)
			continue;
		cc_lock(base);
		n = cc_take_stack(base, cache, objs);
		cc_unlock(base);
		cc_return(cache, objs, n);
	}
}

static void drain_this_cpu_rseq(void)
{
	struct slab_object objs[CC_MAX_CAP];

	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
		struct kmem_cache *cache = &kmem_caches[0][0] + i;
		unsigned int n = 0;

		if (!cache->cc_cap)
			continue;
		while (n < CC_MAX_CAP &&
		       (objs[n].addr = cc_pop_rseq(cache, &objs[n].state)))
			n++;
		cc_return(cache, objs, n);
	}
}

/*
 * Empty any CPU's stacks in rseq mode ("Draining" at the top): stop the
 * CPU, make sure no section on it can still commit, take its stacks as
 * plain memory, restart it. Caller holds cc_drain_lock.
 */
static void drain_cpu_stopped(unsigned int cpu)
{
	char *base = cc_cpu_region(cpu);
	uint32_t *stopped = (uint32_t *)(base + CC_STOPPED_OFF);
	struct slab_object objs[CC_MAX_CAP];

	CMM_STORE_SHARED(*stopped, 1);
	/* A full barrier here and on cpu, and every rseq section running
	 * there restarted: from now on each one that starts on cpu reads
	 * stopped == 1 and leaves without committing. A section preempted
	 * before this point restarts too when it runs again. */
	if (!os_membarrier_rseq_cpu((int)cpu)) {
		__atomic_store_n(stopped, 0, __ATOMIC_RELEASE);
		return;	/* not sure of anything: leave cpu alone */
	}
	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
		struct kmem_cache *cache = &kmem_caches[0][0] + i;

		if (cache->cc_cap)
			cc_return(cache, objs, cc_take_stack(base, cache, objs));
	}
	/* The emptied stacks before the restart. */
	__atomic_store_n(stopped, 0, __ATOMIC_RELEASE);
}

bool cpu_cache_drains_all(void)
{
	return CMM_LOAD_SHARED(cc.mode) == CC_LOCKED || cc_remote_drain;
}

/* Empty every barn (idle_only: those unchanged since the last idle
 * scan, which the caller serialises with cc_drain_lock). */
static void barns_drain(bool idle_only)
{
	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++)
		barn_drain(&kmem_caches[0][0] + i, idle_only);
}

void cpu_cache_drain(void)
{
	switch (CMM_LOAD_SHARED(cc.mode)) {
	case CC_RSEQ:
		if (!cc_remote_drain) {
			drain_this_cpu_rseq();	/* see "Draining" at the top */
			break;
		}
		pthread_mutex_lock(&cc_drain_lock);
		for (unsigned int cpu = 0; cpu < cc.ncpu; cpu++)
			drain_cpu_stopped(cpu);
		pthread_mutex_unlock(&cc_drain_lock);
		break;
	case CC_LOCKED:
		for (unsigned int cpu = 0; cpu < cc.ncpu; cpu++)
			drain_cpu_locked(cpu);
		break;
	default:
		return;
	}
	/* After the stacks: a flush that raced with their drain may have
	 * put a batch in a barn. */
	barns_drain(false);
}

/* What a CPU's stacks hold, summarised: equal across two looks means
 * almost surely that nothing ran there in between. */
static uint64_t cc_fingerprint(char *base)
{
	uint64_t print = 0;

	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
		const struct kmem_cache *cache = &kmem_caches[0][0] + i;

		if (cache->cc_cap)
			print += (uint64_t)CMM_LOAD_SHARED(*cc_count(base, cache)) *
				 (i + 1);
	}
	return print;
}

#define CC_IDLE_MAX_CPUS	4096

void cpu_cache_drain_idle(void)
{
	/* Each CPU's fingerprint at the last call; under cc_drain_lock. */
	static uint64_t last_print[CC_IDLE_MAX_CPUS];
	int mode = CMM_LOAD_SHARED(cc.mode);

	if (mode == CC_OFF)
		return;
	pthread_mutex_lock(&cc_drain_lock);
	barns_drain(true);	/* shared: drainable in every mode */
	if (mode == CC_RSEQ && !cc_remote_drain) {
		pthread_mutex_unlock(&cc_drain_lock);
		return;
	}
	for (unsigned int cpu = 0; cpu < cc.ncpu && cpu < CC_IDLE_MAX_CPUS; cpu++) {
		char *base = cc_cpu_region(cpu);
		uint64_t print = cc_fingerprint(base);

		if (print && print == last_print[cpu]) {
			if (mode == CC_RSEQ)
				drain_cpu_stopped(cpu);
			else
				drain_cpu_locked(cpu);
			print = cc_fingerprint(base);
		}
		last_print[cpu] = print;
	}
	pthread_mutex_unlock(&cc_drain_lock);
}

size_t cpu_cache_bytes(void)
{
	size_t bytes = 0;

	if (CMM_LOAD_SHARED(cc.mode) == CC_OFF)
		return 0;
	for (unsigned int cpu = 0; cpu < cc.ncpu; cpu++) {
		char *base = cc_cpu_region(cpu);

		for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
			const struct kmem_cache *cache = &kmem_caches[0][0] + i;

			if (cache->cc_cap)
				bytes += (size_t)CMM_LOAD_SHARED(*cc_count(base, cache)) *
					 cache->size;
		}
	}
	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++)
		bytes += barn_bytes(&kmem_caches[0][0] + i);
	return bytes;
}

unsigned long cpu_cache_objects(const struct kmem_cache *cache)
{
	unsigned long nr = 0;

	if (CMM_LOAD_SHARED(cc.mode) == CC_OFF || !cache->cc_cap)
		return 0;
	for (unsigned int cpu = 0; cpu < cc.ncpu; cpu++)
		nr += CMM_LOAD_SHARED(*cc_count(cc_cpu_region(cpu), cache));
	return nr + barn_bytes(cache) / cache->size;
}

unsigned int cpu_cache_cpu_bytes(size_t *out, unsigned int max_cpus)
{
	unsigned int n;

	if (CMM_LOAD_SHARED(cc.mode) == CC_OFF)
		return 0;
	n = cc.ncpu < max_cpus ? cc.ncpu : max_cpus;
	for (unsigned int cpu = 0; cpu < n; cpu++) {
		char *base = cc_cpu_region(cpu);

		out[cpu] = 0;
		for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
			const struct kmem_cache *cache = &kmem_caches[0][0] + i;

			if (cache->cc_cap)
				out[cpu] += (size_t)CMM_LOAD_SHARED(*cc_count(base, cache)) *
					    cache->size;
		}
	}
	return n;
}

#ifdef BUDDY_TEST_HOOKS
unsigned int cpu_cache_count(const struct kmem_cache *cache, unsigned int cpu)
{
	if (CMM_LOAD_SHARED(cc.mode) == CC_OFF || cpu >= cc.ncpu || !cache->cc_cap)
		return 0;
	return CMM_LOAD_SHARED(*cc_count(cc_cpu_region(cpu), cache));
}
#endif

/* -------------------------------------------------------------- init */

static unsigned int cc_capacity(unsigned int size)
{
	unsigned int cap = CC_BYTES_PER_CACHE / size;

	if (size > CPU_CACHE_MAX_SIZE)
		return 0;
	if (cap < CC_MIN_CAP)
		cap = CC_MIN_CAP;
	if (cap > CC_MAX_CAP)
		cap = CC_MAX_CAP;
	return cap;
}

/* Give every cached kmem_cache its capacity and slot offset; false if the
 * layout does not fit a region (it does: about 180 KiB of 256). */
static bool cc_layout(void)
{
	size_t off = CC_SLOTS_START;

	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++) {
		struct kmem_cache *cache = &kmem_caches[0][0] + i;
		unsigned int cap = cc_capacity(cache->size);

		cache->cc_idx = (unsigned int)i;
		cache->cc_cap = 0;
		cache->cc_off = 0;
		if (!cap)
			continue;
		if (off + cap * sizeof(struct slab_object) > CC_REGION_SIZE)
			return false;
		cache->cc_off = (unsigned int)off;
		cache->cc_cap = cap;
		off += cap * sizeof(struct slab_object);
	}
	return true;
}

#ifdef BUDDY_TEST_HOOKS
void cpu_cache_force_fallback(void)
{
	cc_force_fallback = true;
}

bool cpu_cache_uses_rseq(void)
{
	return CMM_LOAD_SHARED(cc.mode) == CC_RSEQ;
}
#endif

void cpu_cache_force_off(void)
{
	cc_force_off = true;
}

void cpu_cache_init(void)
{
	long n;
	unsigned int ncpu;
	char *region;
	int mode;

	if (uatomic_cmpxchg(&cc_init_state, 0, 1) != 0)
		return;	/* done, or running (perhaps on this very thread) */
	if (cc_force_off)
		goto fail;
	/* May call malloc (it may read /sys or /proc): we are not ready, so
	 * that malloc goes straight to the slab layer. */
	n = os_nr_cpus();
	ncpu = n > 0 ? (unsigned int)n : 1;
	if (ncpu > 4096)
		ncpu = 4096;
	if (!cc_layout())
		goto fail;
	region = os_map_meta((size_t)ncpu << CC_REGION_SHIFT);
	if (!region)
		goto fail;
	if (!barns_init()) {
		os_unmap_meta(region, (size_t)ncpu << CC_REGION_SHIFT);
		goto fail;
	}
	cc.ncpu = ncpu;
	cc.region = region;
#if CC_HAVE_RSEQ
	cc.rseq_offset = (long)__rseq_offset;
#endif
	mode = !cc_force_fallback && rseq_usable() ? CC_RSEQ : CC_LOCKED;
	/* Draining other CPUs needs membarrier's rseq command (Linux 5.10):
	 * registered once for the process. */
	if (mode == CC_RSEQ)
		cc_remote_drain = os_membarrier_register_rseq();
	cmm_smp_wmb();	/* the layout and the region before the mode */
	CMM_STORE_SHARED(cc.free_fast, slab_junk ? CC_OFF : mode);
	CMM_STORE_SHARED(cc.mode, mode);
	if (slab_junk) {
		/* hardening:junk: every allocation checks its object (slab.h),
		 * so kmalloc_fast's path stays off (0 is never changed). */
		uatomic_set(&cc.malloc_fast, 0);
	} else if (mode == CC_RSEQ) {
		/* A hint set meanwhile either sees 1 or is seen here
		 * (full barriers on both sides). */
		uatomic_set(&cc.malloc_fast, 1);
		cmm_smp_mb();
		if (uatomic_read(&cc_hinted))
			uatomic_set(&cc.malloc_fast, -1);
	} else {
		uatomic_set(&cc.malloc_fast, 2);
	}
	CMM_STORE_SHARED(cc_init_state, 2);
	return;
fail:
	for (unsigned long i = 0; i < NR_KMEM_CACHES; i++)
		(&kmem_caches[0][0])[i].cc_cap = 0;
	CMM_STORE_SHARED(cc_init_state, 2);	/* stays CC_OFF */
}

#ifdef BUDDY_TEST_HOOKS
void cpu_cache_countdown_reset(void)
{
	if (CMM_LOAD_SHARED(cc_init_state) != 2 || !cc.region)
		return;
	for (unsigned int cpu = 0; cpu < cc.ncpu; cpu++)
		CMM_STORE_SHARED(*(int32_t *)(cc_cpu_region(cpu) +
					      CC_COUNTDOWN_OFF), 0);
}
#endif

void cpu_cache_thread_hinted(void)
{
	if (uatomic_read(&cc_hinted))
		return;
	uatomic_set(&cc_hinted, 1);
	cmm_smp_mb();
	uatomic_cmpxchg(&cc.malloc_fast, 1, -1);
}

/* -------------------------------------------------------------- fork */

/*
 * In the child of fork(). Nothing was locked across the fork (slab.h): the
 * stacks are as the other threads left them, which is consistent, since
 * every change to a stack is one committing store (a push stores its slot
 * before the count, and the child sees each thread's stores up to some
 * point, in order). The per-CPU locks and the drainer's state belong to
 * threads that do not exist here: reset them. Objects that another thread
 * held in a local batch at that instant are lost to the child (at most
 * one batch per thread).
 */
void cpu_cache_fork_child(bool abandon)
{
	pthread_mutex_init(&cc_drain_lock, NULL);
	if (CMM_LOAD_SHARED(cc.mode) == CC_OFF)
		return;
	for (unsigned int cpu = 0; cpu < cc.ncpu; cpu++) {
		char *base = cc_cpu_region(cpu);

		*cc_lock_word(base) = 0;
		/* A drain that was running restarts nothing. */
		*(uint32_t *)(base + CC_STOPPED_OFF) = 0;
		if (abandon)	/* the objects belong to the abandoned heap */
			memset(base, 0, CC_SLOTS_START);
	}
	for (unsigned long i = 0; cc_barns && i < NR_KMEM_CACHES; i++) {
		cc_barns[i].lock = 0;	/* consistent: see "barn" */
		if (abandon)
			cc_barns[i].nr_full = 0;
	}
}
