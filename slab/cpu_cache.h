/*
 * cpu_cache.h - per-CPU object caches in front of the slab caches
 * (cpu_cache.c; the protocol is written out at the top of that file).
 *
 * One LIFO array of object pointers per (CPU, kmem_cache), for the classes
 * up to CPU_CACHE_MAX_SIZE. kmalloc pops from the array of the CPU it runs
 * on, kfree pushes to it; only an empty or full array reaches the slab
 * layer, a batch at a time under one acquisition of the cache's lock.
 * Objects in an array are "allocated" in their slab's bitmap.
 *
 * Nothing here allocates through malloc. Per thread there is only the
 * fallback's cached CPU number (TLS, initial-exec): a thread's exit needs
 * nothing from us.
 */
#ifndef BUDDY_CPU_CACHE_H
#define BUDDY_CPU_CACHE_H

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

/* Tests only: use the per-CPU locks even where rseq works. Must be called
 * before the first allocation of the process. */
void cpu_cache_force_fallback(void);

/* true when the fast path is the rseq one, false for the per-CPU-lock
 * fallback or before init. */
bool cpu_cache_uses_rseq(void);

/* Is p among the last objects freed to this CPU's array for cache? A cheap
 * heuristic for ksize() and krealloc() of a just-freed pointer; racy, never
 * a false positive for a live object, often a false negative. */
bool cpu_cache_recently_freed(const struct kmem_cache *cache, const void *p);

/* Give the objects of every CPU's arrays back to the slab layer (in rseq
 * mode only this CPU's if membarrier's rseq command is not available:
 * cpu_cache_drains_all() says which; see "Draining" in cpu_cache.c). */
void cpu_cache_drain(void);
bool cpu_cache_drains_all(void);

/* Bytes of objects sitting in the arrays (racy sum, exact when quiet). */
size_t cpu_cache_bytes(void);

/* Tests: objects in cpu's stack for cache (0 before init or if not
 * cached). Racy unless cpu's stacks are quiet. */
unsigned int cpu_cache_count(const struct kmem_cache *cache, unsigned int cpu);

/* fork(): prepare takes every per-CPU lock (fallback mode), parent releases
 * them; child re-initialises them and, with abandon, empties every array
 * without returning its objects (the inherited heap is given up). */
void cpu_cache_fork_prepare(void);
void cpu_cache_fork_parent(void);
void cpu_cache_fork_child(bool abandon);

/* ------------------------------------------------ the inline fast paths
 * (the protocol: the top of cpu_cache.c) */

#if defined(__x86_64__) && __has_include(<sys/rseq.h>)
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

/* One CPU's region: 2^17 bytes, so its address is region + (cpu << 17). */
#define CC_REGION_SHIFT	17
#define CC_REGION_SIZE	(1UL << CC_REGION_SHIFT)
/* A CPU's "stopped" word, after its counts: while it is set, that CPU's
 * stacks belong to a drainer (cpu_cache.c, "Draining"). */
#define CC_STOPPED_OFF	508

enum cc_mode {
	CC_OFF,		/* not initialised (or failed): straight to the slab */
	CC_RSEQ,	/* restartable sequences in glibc's rseq area */
	CC_LOCKED,	/* per-CPU spinlocks, CPU from sched_getcpu() */
};

struct cc_lock;

/* Read on every fast path: one cache line, written once at init. */
struct cpu_cache_state {
	int mode;		/* enum cc_mode */
	unsigned int ncpu;
	char *region;		/* ncpu regions of CC_REGION_SIZE */
	struct cc_lock *locks;	/* ncpu locks (CC_LOCKED only) */
} __attribute__((aligned(64)));
extern struct cpu_cache_state cpu_cache_state;

enum cc_push_result { CC_PUSHED, CC_FULL, CC_DOUBLE };

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
 * start 1:. Operand rs is the thread's struct rseq. */
#define CC_RSEQ_START						\
	CC_RSEQ_CS						\
	"leaq 3b(%%rip), %%rax\n\t"				\
	"movq %%rax, 8(%[rs])\n\t"				\
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
 * state and the cache; counts, offsets and capacity are loaded inside (they
 * never change after init). With every other value in rax, rcx, rdx and
 * one scratch output, the sections fit in call-clobbered registers and the
 * inline fast paths need no stack frame.
 */
#define CC_RSEQ_OPERANDS						\
	[rs] "r"(rs), [st] "r"(&cpu_cache_state), [cache] "r"(cache),	\
	[shift] "i"(CC_REGION_SHIFT), [stopped] "i"(CC_STOPPED_OFF),	\
	[ncpu] "i"(offsetof(struct cpu_cache_state, ncpu)),		\
	[region] "i"(offsetof(struct cpu_cache_state, region)),	\
	[idx] "i"(offsetof(struct kmem_cache, cc_idx)),		\
	[off] "i"(offsetof(struct kmem_cache, cc_off)),		\
	[cap] "i"(offsetof(struct kmem_cache, cc_cap))

/* Up to the count: rax = this CPU's region, rdx = the cache's index,
 * ecx = its count; out of range or being drained: to label. */
#define CC_RSEQ_COUNT(label)						\
	"movl 4(%[rs]), %%eax\n\t"		/* cpu = rs->cpu_id */	\
	"cmpl %c[ncpu](%[st]), %%eax\n\t"				\
	"jae %l[" label "]\n\t"						\
	"shlq %[shift], %%rax\n\t"					\
	"addq %c[region](%[st]), %%rax\n\t"	/* base of cpu */	\
	"cmpl $0, %c[stopped](%%rax)\n\t"	/* being drained */	\
	"jne %l[" label "]\n\t"						\
	"movl %c[idx](%[cache]), %%edx\n\t"				\
	"movl (%%rax,%%rdx,4), %%ecx\n\t"	/* c = count */

/* Pop the top object of this CPU's stack for cache; NULL when the stack is
 * empty (or the CPU is out of range). */
static inline void *cc_pop_rseq(const struct kmem_cache *cache)
{
	struct rseq *rs = rseq_area();
	void *p;

	for (;;) {
		__asm__ __volatile__ goto(
			CC_RSEQ_START
			CC_RSEQ_COUNT("empty")
			"testl %%ecx, %%ecx\n\t"
			"jz %l[empty]\n\t"
			"movl %c[off](%[cache]), %k[p]\n\t"
			"addq %%rax, %[p]\n\t"		/* slots */
			"movq -8(%[p],%%rcx,8), %[p]\n\t"	/* slot[c-1] */
			"decl %%ecx\n\t"
			"movl %%ecx, (%%rax,%%rdx,4)\n\t"	/* commit */
			"2:\n\t"
			CC_RSEQ_ABORT
			: [p] "=&r"(p)
			: CC_RSEQ_OPERANDS
			: "rax", "rcx", "rdx", "memory", "cc"
			: abort, empty);
		return p;
abort:
		continue;
empty:
		return NULL;
	}
}

/* Push p on this CPU's stack for cache, unless p is its top object
 * already or the stack is full (or the CPU out of range). */
static inline enum cc_push_result cc_push_rseq(const struct kmem_cache *cache,
					       void *p)
{
	struct rseq *rs = rseq_area();
	void **slots;

	for (;;) {
		__asm__ __volatile__ goto(
			CC_RSEQ_START
			CC_RSEQ_COUNT("full")
			"movl %c[off](%[cache]), %k[slots]\n\t"
			"addq %%rax, %[slots]\n\t"
			"cmpq -8(%[slots],%%rcx,8), %[p]\n\t"	/* top (or guard), */
			"je %l[dbl]\n\t"				/* even when full */
			"cmpl %c[cap](%[cache]), %%ecx\n\t"
			"jae %l[full]\n\t"
			"movq %[p], (%[slots],%%rcx,8)\n\t"	/* slot[c] = p */
			"incl %%ecx\n\t"
			"movl %%ecx, (%%rax,%%rdx,4)\n\t"	/* commit */
			"2:\n\t"
			CC_RSEQ_ABORT
			: [slots] "=&r"(slots)
			: CC_RSEQ_OPERANDS, [p] "r"(p)
			: "rax", "rcx", "rdx", "memory", "cc"
			: abort, full, dbl);
		(void)slots;
		return CC_PUSHED;
abort:
		continue;
full:
		return CC_FULL;
dbl:
		return CC_DOUBLE;
	}
}

#else /* !CC_HAVE_RSEQ */

static inline void *cc_pop_rseq(const struct kmem_cache *cache)
{
	(void)cache;
	return NULL;
}

static inline enum cc_push_result cc_push_rseq(const struct kmem_cache *cache,
					       void *p)
{
	(void)cache;
	(void)p;
	return CC_FULL;
}
#endif /* CC_HAVE_RSEQ */

void *cpu_cache_alloc_slow(struct kmem_cache *cache);
enum kfree_result cpu_cache_free_slow(struct kmem_cache *cache, void *p);

/* An object of cache (a slab object; NULL with errno = ENOMEM). */
static inline void *cpu_cache_alloc(struct kmem_cache *cache)
{
	if (likely(cpu_cache_state.mode == CC_RSEQ)) {
		void *p = cc_pop_rseq(cache);

		if (likely(p))
			return p;
	}
	return cpu_cache_alloc_slow(cache);
}

/* Free p, a slab object of cache whose slot check (slab_object_slot) and
 * liveness check in the bitmap passed. KFREE_DOUBLE: p is on top of this
 * CPU's array already (nothing changed), or a flush of the array to the
 * slab layer that this free caused found an object freed twice (p itself
 * was freed; the double free was of an object that went back with it). */
static inline enum kfree_result cpu_cache_free(struct kmem_cache *cache,
					       void *p)
{
	if (likely(cpu_cache_state.mode == CC_RSEQ)) {
		enum cc_push_result res = cc_push_rseq(cache, p);

		if (likely(res == CC_PUSHED))
			return KFREE_OK;
		if (res == CC_DOUBLE)
			return KFREE_DOUBLE;
	}
	return cpu_cache_free_slow(cache, p);
}

#endif /* BUDDY_CPU_CACHE_H */
