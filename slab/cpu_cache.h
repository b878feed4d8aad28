/*
 * cpu_cache.h - per-CPU object caches in front of the slab caches
 * (cpu_cache.c; the protocol is written out at the top of that file).
 *
 * One LIFO array of objects per (CPU, kmem_cache), for the classes up to
 * CPU_CACHE_MAX_SIZE; a slot holds the object and the address of its state
 * byte (struct slab_object). kmalloc pops from the array of the CPU it runs
 * on and clears the object's mark, kfree marks it and pushes (the mark is
 * in the object's word 0: slab_internal.h, enum obj_state); only an empty
 * or full array reaches the slab layer, a batch at a time under one
 * acquisition of the cache's lock. Objects in an array are "allocated" in
 * their slab's bitmap, OBJ_CPU in their state byte, and marked.
 *
 * Nothing here allocates through malloc. Per thread there is only the
 * fallback's CPU hint (TLS, initial-exec): a thread's exit needs
 * nothing from us.
 */
#ifndef BUDDY_CPU_CACHE_H
#define BUDDY_CPU_CACHE_H

#include "config.h"	/* BUDDY_RSEQ */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slab_internal.h"

/* Every class is cached per CPU (up to KMALLOC_MAX_CACHE_SIZE): a class
 * left out takes its cache's lock on every malloc and free, which cost
 * 10-25x on threaded mixed-size workloads. The big classes get few slots
 * (cpu_cache.c: CC_MIN_CAP), so what a CPU can pin stays near 2 MiB per
 * migrate type. */
#define CPU_CACHE_MAX_SIZE	KMALLOC_MAX_CACHE_SIZE

/* Called once from slab_init_once(), after slab_ready is set. Chooses the
 * mode (rseq, or per-CPU locks) and maps the arrays; until it has
 * finished, and if mapping fails, every call below goes straight to the
 * slab layer. May be re-entered (sysconf may call malloc): the recursive
 * call sees the cache not ready yet. */
void cpu_cache_init(void);

#ifdef BUDDY_TEST_HOOKS
/* Tests only: use the per-CPU locks even where rseq works. Must be called
 * before the first allocation of the process. (A preloaded library gets the
 * same mode from GLIBC_TUNABLES=glibc.pthread.rseq=0.) */
void cpu_cache_force_fallback(void);
#endif

/* No per-CPU caches at all (CC_OFF): every malloc and free reaches the
 * slab layer through preload's out-of-line paths. Preload calls it under
 * valgrind, so that the client requests there see every block and nothing
 * writes the in-band mark of a freed object (preload/valgrind.h). Must be
 * called before the first allocation of the process. */
void cpu_cache_force_off(void);

#ifdef BUDDY_TEST_HOOKS
/* Tests: true when the fast path is the rseq one, false for the
 * per-CPU-lock fallback or before init. */
bool cpu_cache_uses_rseq(void);
#endif

/* Give the objects of every CPU's arrays back to the slab layer (in rseq
 * mode only this CPU's if membarrier's rseq command is not available:
 * cpu_cache_drains_all() says which; see "Draining" in cpu_cache.c). */
void cpu_cache_drain(void);
bool cpu_cache_drains_all(void);
/* The same for the CPUs whose stacks have not changed since the last call
 * (idle CPUs: decay); in rseq mode only where any CPU can be drained. */
void cpu_cache_drain_idle(void);

/* A thread sets a lifetime hint: malloc_fast -1 from now on (also when
 * the mode is chosen later). */
void cpu_cache_thread_hinted(void);

#ifdef BUDDY_TEST_HOOKS
/* Tests: every CPU's lifetime countdown runs out (CC_COUNTDOWN_OFF). */
void cpu_cache_countdown_reset(void);
#endif

/* Bytes of objects sitting in the arrays (racy sum, exact when quiet). */
size_t cpu_cache_bytes(void);
/* Free objects of cache in every CPU's stack and in its barn (racy). */
unsigned long cpu_cache_objects(const struct kmem_cache *cache);

#ifdef BUDDY_TEST_HOOKS
/* Tests: objects in cpu's stack for cache (0 before init or if not
 * cached). Racy unless cpu's stacks are quiet. */
unsigned int cpu_cache_count(const struct kmem_cache *cache, unsigned int cpu);
#endif

/* In the child of fork(): re-initialise the per-CPU locks and the drain
 * state and, with abandon, empty every array without returning its objects
 * (the inherited heap is given up). */
void cpu_cache_fork_child(bool abandon);

/* ------------------------------------------------ the inline fast paths
 * (the protocol: the top of cpu_cache.c) */

#ifdef BUDDY_RSEQ	/* config.h: x86-64, <sys/rseq.h>, not --disable-rseq */
#include <sys/rseq.h>
#define CC_HAVE_RSEQ	1
#ifndef RSEQ_SIG
#define RSEQ_SIG	0x53053053
#endif
_Static_assert(offsetof(struct rseq, cpu_id) == 4, "rseq cpu_id offset");
_Static_assert(offsetof(struct rseq, rseq_cs) == 8, "rseq rseq_cs offset");
#else
#define CC_HAVE_RSEQ	0
#endif

/* One CPU's region: 2^18 bytes, so its address is region + (cpu << 18). */
#define CC_REGION_SHIFT	18
#define CC_REGION_SIZE	(1UL << CC_REGION_SHIFT)
/* A CPU's "stopped" word, after its counts: while it is set, that CPU's
 * stacks belong to a drainer (cpu_cache.c, "Draining"). */
#define CC_STOPPED_OFF	508
/* A CPU's lifetime sampling countdown (int32_t), before the stopped word:
 * kmalloc_fast's pop (cc_pop_rseq_counted) decrements it, and takes the
 * slow path, which samples and resets it (lifetime.h), when it reaches 0
 * (or less: the slow path decrements it too). Per CPU, not per thread: one sample per about lifetime_sample
 * allocations made on this CPU, at no more cost than one instruction in a
 * section that already has the CPU's region in a register. */
#define CC_COUNTDOWN_OFF	504
/* A CPU's lock in the fallback mode (int, 0 or 1), on the line of the
 * countdown and the stopped word, after the counts: the fast path finds it
 * from the CPU's region like everything else (cpu_cache.c, "Fallback
 * mode"). */
#define CC_LOCK_OFF		500

enum cc_mode {
	CC_OFF,		/* not initialised (or failed): straight to the slab */
	CC_RSEQ,	/* restartable sequences in glibc's rseq area */
	CC_LOCKED,	/* per-CPU spinlocks, CPU from sched_getcpu() */
};

/* Read on every fast path: one cache line, written once at init. */
struct cpu_cache_state {
	int mode;		/* enum cc_mode */
	unsigned int ncpu;
	char *region;		/* ncpu regions of CC_REGION_SIZE */
	/* kmalloc_fast's path. rseq mode: 1 while no thread has ever set
	 * a lifetime hint (it samples by the per-CPU countdown), -1 after
	 * (for good: by each thread's countdown, which a hint keeps at 0).
	 * The fallback mode: 2 (the per-CPU locks, each thread's
	 * countdown). 0 before init, or when init failed. */
	int malloc_fast;
	/* The inline free's mode (kmalloc_fast.h): the mode, or CC_OFF when
	 * every free must reach kfree (hardening:junk, slab.h). Its own
	 * field, so that the inline free's one test covers both. */
	int free_fast;
	/* rseq mode: glibc's __rseq_offset, copied here so that the
	 * sections find the thread's rseq area with one load from this
	 * line (no GOT entry, no thread-pointer load: %fs-relative). */
	long rseq_offset;
} __attribute__((aligned(64)));
extern struct cpu_cache_state cpu_cache_state;

/* The address of cpu's region (CC_REGION_SIZE bytes): the one place that
 * computes it in C; the rseq sections compute the same in assembly. */
static inline char *cc_cpu_region(unsigned int cpu)
{
	return cpu_cache_state.region + ((size_t)cpu << CC_REGION_SHIFT);
}

#if CC_HAVE_RSEQ

static inline struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

/*
 * The descriptor (3:) and abort handler (4:) of one section from 1: to 2:.
 * The handler sits in __rseq_failure after the signature, encoded as
 * "ud1 RSEQ_SIG(%rip), %edi" so disassemblers stay in step, and jumps back
 * to the C label abort, which retries.
 */
#define CC_RSEQ_CS						\
	".pushsection __rseq_cs, \"aw\"\n\t"			\
	".balign 32\n\t"					\
	"3:\n\t"						\
	".long 0, 0\n\t"		/* version, flags */	\
	".quad 1f, 2f - 1f, 4f\n\t"	/* start, length, abort */ \
	".popsection\n\t"
/* The descriptor, then arming the section (rs->rseq_cs = &3b), then its
 * start 1:. The thread's struct rseq is at %fs:rax from here on
 * (cpu_cache_state.rseq_offset). */
#define CC_RSEQ_START						\
	CC_RSEQ_CS						\
	"movq %c[rsoff](%[st]), %%rax\n\t"			\
	"leaq 3b(%%rip), %%rcx\n\t"				\
	"movq %%rcx, %%fs:8(%%rax)\n\t"			\
	"1:\n\t"
#define CC_RSEQ_ABORT						\
	".pushsection __rseq_failure, \"ax\"\n\t"		\
	".byte 0x0f, 0xb9, 0x3d\n\t"				\
	".long 0x53053053\n\t"		/* RSEQ_SIG */		\
	"4:\n\t"						\
	"jmp %l[abort]\n\t"					\
	".popsection\n\t"
_Static_assert(RSEQ_SIG == 0x53053053, "signature in CC_RSEQ_ABORT");

/*
 * The operands of both sections are few on purpose: the rseq area, the
 * state, the cache and the index of its count (cache->cc_idx, which the
 * fast paths have without loading it: kmalloc from the class and type,
 * kfree from the page descriptor); the slots' offset and the capacity
 * are loaded inside (they never change after init). With every other
 * value in rax, rcx and one scratch output, the sections fit in
 * call-clobbered registers and the inline fast paths need no stack frame.
 */
#define CC_RSEQ_OPERANDS						\
	[st] "r"(&cpu_cache_state), [cache] "r"(cache),		\
	[rsoff] "i"(offsetof(struct cpu_cache_state, rseq_offset)),	\
	[ci] "r"((uintptr_t)idx),					\
	[shift] "i"(CC_REGION_SHIFT), [stopped] "i"(CC_STOPPED_OFF),	\
	[ncpu] "i"(offsetof(struct cpu_cache_state, ncpu)),		\
	[region] "i"(offsetof(struct cpu_cache_state, region)),	\
	[off] "i"(offsetof(struct kmem_cache, cc_off)),		\
	[cap] "i"(offsetof(struct kmem_cache, cc_cap))

/* Up to the count: rax = this CPU's region, ecx = the cache's count; out
 * of range or being drained: jump to target. */
#define CC_RSEQ_COUNT(target)						\
	"movl %%fs:4(%%rax), %%eax\n\t"	/* cpu = rs->cpu_id */	\
	"cmpl %c[ncpu](%[st]), %%eax\n\t"				\
	"jae " target "\n\t"						\
	"shlq %[shift], %%rax\n\t"					\
	"addq %c[region](%[st]), %%rax\n\t"	/* base of cpu */	\
	"cmpl $0, %c[stopped](%%rax)\n\t"	/* being drained */	\
	"jne " target "\n\t"						\
	"movl (%%rax,%[ci],4), %%ecx\n\t"	/* c = count */

/*
 * A slot is 16 bytes (struct slab_object: addr, then state); x86 scales an
 * index by 8 at most, so the sections first form slots + 8 * c and then
 * address slot[c] as that plus 8 * c again.
 */
_Static_assert(sizeof(struct slab_object) == 16 &&
	       offsetof(struct slab_object, state) == 8, "slot layout");

/*
 * Pop the top object of this CPU's stack for cache, and the address of its
 * state byte in *state; NULL when the stack is empty (or the CPU is out of
 * range or being drained).
 *
 * The outputs are used on the fall-through path only, and "empty" is not a
 * goto label but a jump to the end of the section with p = NULL: gcc 12
 * miscompiles a goto label's path of an asm goto that has outputs (it
 * merged "empty: return NULL" with a test of the uninitialised output).
 */
/* The pop section; extra runs right after the count is loaded (rax = this
 * CPU's region) and may jump to 2f with p = NULL. */
#define CC_POP_RSEQ(name, extra)					\
static inline void *name(const struct kmem_cache *cache,		\
			 unsigned int idx, uint8_t **state)		\
{									\
	uint8_t *objstate;						\
	void *p;							\
									\
	for (;;) {							\
		__asm__ __volatile__ goto(				\
			"xorl %k[p], %k[p]\n\t"	/* NULL: empty */	\
			CC_RSEQ_START					\
			CC_RSEQ_COUNT("2f")				\
			extra						\
			"testl %%ecx, %%ecx\n\t"			\
			"jz 2f\n\t"					\
			"movl %c[off](%[cache]), %k[p]\n\t"		\
			"addq %%rax, %[p]\n\t"		/* slots */	\
			"leaq (%[p],%%rcx,8), %[p]\n\t" /* slots + 8c */ \
			"movq -8(%[p],%%rcx,8), %[objstate]\n\t"	\
			"movq -16(%[p],%%rcx,8), %[p]\n\t"		\
			"decl %%ecx\n\t"				\
			"movl %%ecx, (%%rax,%[ci],4)\n\t" /* commit */ \
			"2:\n\t"					\
			CC_RSEQ_ABORT					\
			: [p] "=&r"(p), [objstate] "=&r"(objstate)	\
			: CC_RSEQ_OPERANDS,				\
			  [countdown] "i"(CC_COUNTDOWN_OFF)		\
			: "rax", "rcx", "memory", "cc"			\
			: abort);					\
		*state = objstate;					\
		return p;						\
abort:									\
		continue;						\
	}								\
}
CC_POP_RSEQ(cc_pop_rseq_at, "")
/*
 * The same, for kmalloc_fast: first decrement this CPU's sampling
 * countdown (CC_COUNTDOWN_OFF) and, when it reaches 0 or below, return
 * NULL (the slow path samples). An abort after the decrement decrements again
 * on the restart: sampling is statistical, and that is rare.
 */
CC_POP_RSEQ(cc_pop_rseq_counted,
	    "decl %c[countdown](%%rax)\n\t"
	    "jle 2f\n\t")

/* This CPU's sampling countdown (CC_COUNTDOWN_OFF), NULL if the CPU is
 * out of range. For the slow path: the thread may move to another CPU
 * meanwhile, and its plain read-modify-write may lose a decrement against
 * a pop there; both only move a sample a little. */
static inline int32_t *cc_countdown(void)
{
	unsigned int cpu = CMM_LOAD_SHARED(rseq_area()->cpu_id);

	if (cpu >= cpu_cache_state.ncpu)
		return NULL;
	return (int32_t *)(cc_cpu_region(cpu) + CC_COUNTDOWN_OFF);
}

/* Push p, whose state byte is at state, on this CPU's stack for cache,
 * whose count has index idx (cache->cc_idx); false when the stack is full
 * (or the CPU is out of range or being drained). */
static inline bool cc_push_rseq_at(const struct kmem_cache *cache,
				   unsigned int idx, void *p, uint8_t *state)
{
	char *slots;

	for (;;) {
		__asm__ __volatile__ goto(
			CC_RSEQ_START
			CC_RSEQ_COUNT("%l[full]")
			"cmpl %c[cap](%[cache]), %%ecx\n\t"
			"jae %l[full]\n\t"
			"movl %c[off](%[cache]), %k[slots]\n\t"
			"addq %%rax, %[slots]\n\t"
			"leaq (%[slots],%%rcx,8), %[slots]\n\t" /* slots + 8c */
			"movq %[p], (%[slots],%%rcx,8)\n\t"	/* slot[c] */
			"movq %[objstate], 8(%[slots],%%rcx,8)\n\t"
			"incl %%ecx\n\t"
			"movl %%ecx, (%%rax,%[ci],4)\n\t"	/* commit */
			"2:\n\t"
			CC_RSEQ_ABORT
			: [slots] "=&r"(slots)
			: CC_RSEQ_OPERANDS, [p] "r"(p), [objstate] "r"(state)
			: "rax", "rcx", "memory", "cc"
			: abort, full);
		(void)slots;
		return true;
abort:
		continue;
full:
		return false;
	}
}

#else /* !CC_HAVE_RSEQ */

static inline void *cc_pop_rseq_at(const struct kmem_cache *cache,
				   unsigned int idx, uint8_t **state)
{
	(void)cache;
	(void)idx;
	(void)state;
	return NULL;
}

static inline void *cc_pop_rseq_counted(const struct kmem_cache *cache,
					unsigned int idx, uint8_t **state)
{
	return cc_pop_rseq_at(cache, idx, state);
}

static inline bool cc_push_rseq_at(const struct kmem_cache *cache,
				   unsigned int idx, void *p, uint8_t *state)
{
	(void)cache;
	(void)idx;
	(void)p;
	(void)state;
	return false;
}

static inline int32_t *cc_countdown(void)
{
	return NULL;
}
#endif /* CC_HAVE_RSEQ */

/* The same, for a caller that has only the cache. */
static inline void *cc_pop_rseq(const struct kmem_cache *cache, uint8_t **state)
{
	return cc_pop_rseq_at(cache, cache->cc_idx, state);
}

static inline bool cc_push_rseq(const struct kmem_cache *cache, void *p,
				uint8_t *state)
{
	return cc_push_rseq_at(cache, cache->cc_idx, p, state);
}

/* ----------------------------------- the fallback mode's inline paths
 * (CC_LOCKED; cpu_cache.c, "Fallback mode") */

/*
 * The CPU this thread uses in the fallback mode: the base of its region.
 * Asked again (sched_getcpu) at the start of every slow path of the
 * fallback, which includes each lifetime sample, each empty or full stack
 * and each lock found taken: any CPU is correct under its lock, the hint
 * only serves locality, and the fast paths pay nothing for it. A new
 * thread starts with cc_no_cpu, whose lock is never free: its first fast
 * path takes the slow path, which asks. Initial-exec TLS, nothing to do at
 * thread exit.
 */
extern __thread char *cc_hint_base __attribute__((tls_model("initial-exec")));
/* Ask the CPU again; the base of its region. */
char *cc_refresh_cpu(void);

static inline int *cc_lock_word(char *base)
{
	return (int *)(base + CC_LOCK_OFF);
}

/* One atomic instruction (lock bts on x86): false when the lock is held,
 * by another thread or by a call of this thread that a signal handler
 * interrupted. */
static inline bool cc_trylock(char *base)
{
	return !(__atomic_fetch_or(cc_lock_word(base), 1, __ATOMIC_ACQUIRE) & 1);
}

static inline void cc_unlock(char *base)
{
	__atomic_store_n(cc_lock_word(base), 0, __ATOMIC_RELEASE);
}

/*
 * Pop the top object of this thread's CPU's stack for cache, and the
 * address of its state byte in *state; NULL when the stack is empty or the
 * lock is not free at once. The caller must have made itself visible as
 * inside the allocator (preload's depth count) before: a signal handler
 * that allocates while the lock is held here then finds it held and, in
 * its slow path, sees that it is nested and waits for no lock.
 */
static inline void *cc_pop_locked_fast(const struct kmem_cache *cache,
				       uint8_t **state)
{
	char *base = cc_hint_base;
	uint32_t *count = (uint32_t *)base + cache->cc_idx;
	const struct slab_object *slot;
	uint32_t c;
	void *p;

	if (unlikely(!cc_trylock(base)))
		return NULL;
	c = *count;
	if (unlikely(!c)) {
		cc_unlock(base);
		return NULL;
	}
	slot = (const struct slab_object *)(base + cache->cc_off) + c - 1;
	p = slot->addr;
	*state = slot->state;
	CMM_STORE_SHARED(*count, c - 1);
	cc_unlock(base);
	/* A slot below the count never holds NULL (top of cpu_cache.c):
	 * the caller's test of p folds into the empty stack's. */
	if (!p)
		__builtin_unreachable();
	return p;
}

/* Push p, whose state byte is at state, on this thread's CPU's stack for
 * cache; false when the stack is full or the lock is not free at once (as
 * cc_pop_locked_fast). */
static inline bool cc_push_locked_fast(const struct kmem_cache *cache,
				       void *p, uint8_t *state)
{
	char *base = cc_hint_base;
	uint32_t *count = (uint32_t *)base + cache->cc_idx;
	struct slab_object *slot;
	uint32_t c;

	if (unlikely(!cc_trylock(base)))
		return false;
	c = *count;
	if (unlikely(c >= cache->cc_cap)) {
		cc_unlock(base);
		return false;
	}
	slot = (struct slab_object *)(base + cache->cc_off) + c;
	slot->addr = p;
	slot->state = state;
	cmm_barrier();	/* the slot before the count (fork) */
	CMM_STORE_SHARED(*count, c + 1);
	cc_unlock(base);
	return true;
}

void *cpu_cache_alloc_slow(struct kmem_cache *cache);
void cpu_cache_free_slow(struct kmem_cache *cache, void *p, uint8_t *state);

/*
 * A popped object p becomes the caller's: its mark cleared (it stays
 * OBJ_CPU, which unmarked means live). An object that is not marked is a
 * stale second copy (two threads freed one object at the same instant and
 * both pushed it; the other copy was handed out, and its mark cleared, or
 * went back to its slab, which clears it too): false, and the caller
 * drops it. No load or store of the state byte.
 */
static inline bool cc_take_popped(void *p)
{
	if (unlikely(!obj_marked(p)))
		return false;
	obj_unmark(p);
	return true;
}

/* Live object p, whose state byte is at state, enters the per-CPU layer:
 * OBJ_CPU (stored only if it is not already: the fast paths' objects are)
 * and marked, before the push, so that a second free finds it so even
 * while it sits in a stack. */
static inline void cc_claim(void *p, uint8_t *state)
{
	if (CMM_LOAD_SHARED(*state) != OBJ_CPU)
		CMM_STORE_SHARED(*state, OBJ_CPU);
	obj_mark(p);
}

/* An object of cache (a slab object; NULL with errno = ENOMEM). */
static inline void *cpu_cache_alloc(struct kmem_cache *cache)
{
	if (likely(cpu_cache_state.mode == CC_RSEQ)) {
		uint8_t *state;
		void *p = cc_pop_rseq(cache, &state);

		if (likely(p) && likely(cc_take_popped(p)))
			return p;
	}
	return cpu_cache_alloc_slow(cache);
}

/*
 * Free p, a live slab object of cache whose state byte is at state: the
 * caller checked the slot and that p is live (obj_live; anything else is
 * a double free, reported by the caller before anything changed). Claimed
 * (cc_claim) before the push; the slow path takes it claimed.
 *
 * Two threads that free one object at the same instant can both find it
 * live and both push it. Neither copy is ever handed out twice
 * (cc_take_popped drops the stale one, slab_free_bulk ignores it), but
 * that double free goes unreported: catching it too would need an atomic
 * read-modify-write on every free.
 */
static inline void cpu_cache_free(struct kmem_cache *cache, void *p,
				  uint8_t *state)
{
	cc_claim(p, state);
	if (likely(cpu_cache_state.mode == CC_RSEQ) &&
	    likely(cc_push_rseq(cache, p, state)))
		return;
	cpu_cache_free_slow(cache, p, state);
}

#endif /* BUDDY_CPU_CACHE_H */
