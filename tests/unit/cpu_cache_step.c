/*
 * cpu_cache_step.c - the rseq fast paths of malloc() and free() survive a
 * migration at every instruction boundary before their critical section.
 *
 * The classic rseq bug is to read rseq->cpu_id before the section is armed
 * (rseq->rseq_cs = &descriptor): a thread migrated between that read and
 * the arming runs the whole section on the new CPU with the old CPU's
 * number and pushes to, or pops from, another CPU's stack, racing with
 * that CPU's owner. Random preemption almost never lands in that window of
 * two instructions, so stress tests pass with the bug. This test lands in
 * it on purpose, deterministically, with no timing:
 *
 *   The thread runs pinned to CPU A and calls malloc or free with the x86
 *   trap flag (EFLAGS.TF) set, so the CPU raises SIGTRAP after every
 *   instruction. The handler counts the traps; at trap k it moves the
 *   thread to CPU B (sched_setaffinity returns once the thread runs there)
 *   and clears TF in the interrupted context, so the call goes on freely,
 *   on B. Afterwards exactly one object count of one CPU's stack must have
 *   moved by one (cpu_cache_count(), the test accessor): B's if the thread
 *   was moved, A's if it was not; and the object malloc returns must be
 *   the top of that CPU's stack (LIFO), the one the test freed there.
 *   k = 1, 2, ... sweeps every boundary from the call to the section.
 *
 * The kernel aborts a section when it delivers a signal to a thread whose
 * instruction pointer is inside it (the handler then sees the abort
 * handler's address as the interrupted one), so single-stepping cannot go
 * past the first instruction of a section: every section entry would
 * abort and restart. The first trap that lands in a section therefore
 * ends the walk: the handler clears TF there too (the section restarts and
 * completes on A), and that k is the last of the sweep. Every boundary
 * before the arming store, where a stale cpu number could be picked up, is
 * covered; inside the section a migration means an abort, which the test
 * also checks happened once per sweep (the trap at the section's start).
 *
 * The program is linked with preload/'s sources and the shipped slab and
 * core libraries, so its malloc and free are the library's exported ones
 * (the same inline fast paths as libbuddymalloc.so) and the test reaches
 * cpu_cache_count() and the caches. The calls go through an assembly stub
 * (step_call) so that the trap flag covers exactly the call; the rseq
 * descriptors are read from the __rseq_cs section to recognise an abort.
 *
 * Needs rseq (skips when glibc did not register it, e.g. under valgrind or
 * GLIBC_TUNABLES=glibc.pthread.rseq=0) and two CPUs this thread may run on
 * (skips otherwise).
 */
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "tap.h"

#include "cpu_cache.h"
#include "slab_internal.h"

#define X86_EFLAGS_TF	0x100UL

/* Boundaries a fast path may have before its section, with room to spare:
 * a sweep that reaches this many has lost its way. */
#define MAX_STEPS	2000

/* CPUs whose counts the test compares (the others cannot be touched: the
 * thread only ever runs on A and B). */
#define MAX_CPUS	64
#define NR_CACHES	(MIGRATE_PCPTYPES * NR_SIZE_CLASSES)

#define SIZE		32

/* ------------------------------------------------- the stepped call */

/*
 * void *step_call(void *arg, void *(*fn)(void *)): fn(arg) with TF set
 * from the call to its return. The first trap comes after the call
 * instruction (POPF's rule), so trap k is the boundary after fn's k-1-th
 * instruction; traps from step_call_ret on are the stub's own, ignored.
 * rbx is pushed only to keep the stack 16-byte aligned at the call.
 */
void *step_call(void *arg, void *fn) __attribute__((visibility("hidden")));
extern const char step_call_ret[] __attribute__((visibility("hidden")));
extern const char step_call_end[] __attribute__((visibility("hidden")));
__asm__(".text\n"
	".p2align 4\n"
	".globl step_call\n"
	".hidden step_call\n"
	".type step_call, @function\n"
	"step_call:\n"
	"	pushq %rbx\n"
	"	pushfq\n"
	"	orl $0x100, (%rsp)\n"
	"	popfq\n"
	"	call *%rsi\n"
	".globl step_call_ret\n"
	".hidden step_call_ret\n"
	"step_call_ret:\n"
	"	pushfq\n"
	"	andl $~0x100, (%rsp)\n"
	"	popfq\n"
	"	popq %rbx\n"
	"	ret\n"
	".globl step_call_end\n"
	".hidden step_call_end\n"
	"step_call_end:\n"
	".size step_call, . - step_call\n");

/* The rseq descriptors of this program (the library's sections; the
 * linker defines the bounds of a section named like a C identifier). */
extern const struct rseq_cs __start___rseq_cs[] __attribute__((weak));
extern const struct rseq_cs __stop___rseq_cs[] __attribute__((weak));

_Static_assert(sizeof(struct rseq_cs) == 32, "descriptors 32 bytes apart");

static unsigned int nr_rseq_cs(void)
{
	if (!__start___rseq_cs || !__stop___rseq_cs)
		return 0;
	return (unsigned int)(__stop___rseq_cs - __start___rseq_cs);
}

/* Is ip the abort handler of one of our sections? */
static bool is_abort_ip(uintptr_t ip)
{
	for (unsigned int i = 0; i < nr_rseq_cs(); i++)
		if (__start___rseq_cs[i].abort_ip == ip)
			return true;
	return false;
}

/* Where ip is, for diagnostics: in a section (the kernel has moved it to
 * the abort handler) or how far before the start of the next one. */
static void describe_ip(uintptr_t ip, char *buf, size_t len)
{
	uintptr_t next = UINTPTR_MAX;

	if (is_abort_ip(ip)) {
		snprintf(buf, len, "inside a section (now at its abort handler)");
		return;
	}
	for (unsigned int i = 0; i < nr_rseq_cs(); i++)
		if (__start___rseq_cs[i].start_ip >= ip &&
		    __start___rseq_cs[i].start_ip < next)
			next = __start___rseq_cs[i].start_ip;
	if (next != UINTPTR_MAX && next - ip <= 256)
		snprintf(buf, len, "%lu bytes before a section's start",
			 (unsigned long)(next - ip));
	else
		snprintf(buf, len, "outside the sections");
}

/* What the handler does and saw, for one stepped call. */
static struct {
	unsigned int target;	/* migrate at this trap */
	int cpu_b;		/* ...to this CPU */
	unsigned int traps;	/* traps counted in the call */
	bool fired;		/* trap target happened: migrated */
	bool fired_in_section;	/* ...and it aborted a section */
	int cpu_after;		/* the CPU the handler then ran on */
	uintptr_t fired_ip;
	bool entered;		/* a section was reached before target */
} step;

static int getcpu_raw(void)
{
	unsigned int cpu = 0;

	if (syscall(SYS_getcpu, &cpu, NULL, NULL) != 0)
		return -1;
	return (int)cpu;
}

static void on_sigtrap(int sig, siginfo_t *info, void *uctx)
{
	ucontext_t *uc = uctx;
	greg_t *gr = uc->uc_mcontext.gregs;
	uintptr_t ip = (uintptr_t)gr[REG_RIP];
	bool in_section;

	(void)sig;
	(void)info;
	if (ip >= (uintptr_t)step_call_ret && ip < (uintptr_t)step_call_end)
		return;		/* fn has returned */
	in_section = is_abort_ip(ip);
	if (++step.traps == step.target) {
		cpu_set_t b;

		CPU_ZERO(&b);
		CPU_SET(step.cpu_b, &b);
		sched_setaffinity(0, sizeof(b), &b);
		step.cpu_after = getcpu_raw();
		step.fired = true;
		step.fired_in_section = in_section;
		step.fired_ip = ip;
		gr[REG_EFL] &= ~X86_EFLAGS_TF;
	} else if (in_section) {
		step.entered = true;
		gr[REG_EFL] &= ~X86_EFLAGS_TF;
	}
}

/* ------------------------------------------------------------ helpers */

static int cpu_a, cpu_b;
static unsigned int ncpu_checked;
static unsigned int before[NR_CACHES][MAX_CPUS], after[NR_CACHES][MAX_CPUS];

static bool pin(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one) == 0 &&
	       getcpu_raw() == cpu;
}

static struct kmem_cache *cache_nr(unsigned int i)
{
	return &kmem_caches[i / NR_SIZE_CLASSES][i % NR_SIZE_CLASSES];
}

static void snapshot(unsigned int counts[NR_CACHES][MAX_CPUS])
{
	for (unsigned int i = 0; i < NR_CACHES; i++)
		for (unsigned int cpu = 0; cpu < ncpu_checked; cpu++)
			counts[i][cpu] = cpu_cache_count(cache_nr(i), cpu);
}

/*
 * After a stepped call: exactly one count changed, by delta, and it is
 * cache's count on cpu. Returns false (with diagnostics) otherwise.
 */
static bool one_count_moved(const struct kmem_cache *cache, int cpu, int delta,
			    unsigned int k, const char *what)
{
	unsigned int changed = 0;
	bool ok = true;

	for (unsigned int i = 0; i < NR_CACHES; i++)
		for (unsigned int c = 0; c < ncpu_checked; c++) {
			int d = (int)after[i][c] - (int)before[i][c];
			bool want = cache_nr(i) == cache && (int)c == cpu;

			if (d == 0 && !want)
				continue;
			changed++;
			if (!want || d != delta) {
				test_fail("%s, trap %u: the count of the %u B "
					  "cache on CPU %u moved by %d (expected: %d on CPU %d, "
					  "where the thread runs)", what, k,
					  cache_nr(i)->size, c, d, delta, cpu);
				ok = false;
			}
		}
	if (changed == 0) {
		test_fail("%s, trap %u: no count moved (expected %d on CPU %d)",
			  what, k, delta, cpu);
		ok = false;
	}
	return ok;
}

/* Chooses CPUs A and B among those this thread may run on, the first two
 * below the caches' CPU count; false if there are fewer. */
static bool choose_cpus(void)
{
	cpu_set_t allowed;
	int found = 0;

	cpu_a = cpu_b = -1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return false;
	ncpu_checked = cpu_cache_state.ncpu < MAX_CPUS ? cpu_cache_state.ncpu
						       : MAX_CPUS;
	for (unsigned int c = 0; c < ncpu_checked && found < 2; c++)
		if (CPU_ISSET(c, &allowed)) {
			if (found++ == 0)
				cpu_a = (int)c;
			else
				cpu_b = (int)c;
		}
	return found == 2;
}

/* ---------------------------------------------------------------- tests */

TEST_BEGIN(test_setup)
{
	/* No sampling by the lifetime classifier: a sample takes the slow
	 * path, where the stack counts move otherwise (the fast path still
	 * looks the prediction up). The countdown restarts at the next
	 * malloc, out of reach from then on. */
	CMM_STORE_SHARED(lifetime_enabled, false);
	kmalloc_thread_hint(0);
	free(malloc(SIZE));	/* initialises */
	/* Built with --disable-rseq, or glibc registered no rseq area:
	 * no restartable sequence to step through. */
	test_skip_if(!CC_HAVE_RSEQ || __rseq_size == 0);
	assert_true(cpu_cache_uses_rseq(), "rseq mode (rseq size %u)", __rseq_size);
	assert_u_gt(nr_rseq_cs(), 0, "the program holds the rseq descriptors");
	test_diag("%u rseq descriptors", nr_rseq_cs());
	test_skip_if(!choose_cpus());
	test_diag("CPUs A %d, B %d", cpu_a, cpu_b);
}
TEST_END

static bool have_two_cpus(void)
{
	return __rseq_size != 0 && cpu_cache_uses_rseq() && nr_rseq_cs() > 0 &&
	       cpu_a >= 0 && cpu_b >= 0;
}

/* What a sweep saw, reported and checked the same way for both calls. */
struct sweep {
	unsigned int steps;		/* boundaries swept */
	unsigned int moved_on_b;	/* ks where B's count moved */
	unsigned int restarts;		/* ks whose trap aborted a section */
	bool done;			/* a k past the section start was reached */
	bool failed;
};

/* Before the stepped call: migrate to B at trap k. */
static void arm(unsigned int k)
{
	memset(&step, 0, sizeof(step));
	step.target = k;
	step.cpu_b = cpu_b;
	step.cpu_after = -1;
}

/* Checks shared by both sweeps after the stepped call; the CPU the call
 * must have used. */
static int expected_cpu(struct sweep *sw, unsigned int k, const char *what)
{
	int now = getcpu_raw();
	int cpu = step.fired ? cpu_b : cpu_a;

	if (step.fired && step.cpu_after != cpu_b) {
		test_fail("%s, trap %u: the handler still ran on CPU %d after "
			  "sched_setaffinity to %d", what, k, step.cpu_after, cpu_b);
		sw->failed = true;
	}
	if (now != cpu) {
		test_fail("%s, trap %u: running on CPU %d, expected %d", what, k,
			  now, cpu);
		sw->failed = true;
	}
	if (step.fired && cpu == cpu_b)
		sw->moved_on_b++;
	if (step.fired && step.fired_in_section)
		sw->restarts++;
	return cpu;
}

static void report_trap(unsigned int k, const char *what)
{
	char where[80];

	if (!step.fired) {
		test_diag("%s: trap %u did not happen (no migration)", what, k);
		return;
	}
	describe_ip(step.fired_ip, where, sizeof(where));
	test_diag("%s: migrated at trap %u, at %#lx: %s", what, k,
		  (unsigned long)step.fired_ip, where);
}

/* Trap k did not come: the walk reached a section before it (the fast
 * path), or the call returned without entering one (it was not taken). */
static void sweep_end(struct sweep *sw, const char *what)
{
	if (step.entered)
		sw->done = true;
	else
		test_fail("%s returned after %u traps without entering an rseq "
			  "section: the fast path was not taken", what, step.traps);
}

static void sweep_report(const struct sweep *sw, const char *what)
{
	test_diag("%s: %u boundaries swept; migrated to B on %u, "
		  "%u of them inside the section (restarted)", what, sw->steps,
		  sw->moved_on_b, sw->restarts);
	if (sw->failed)
		return;		/* the sweep stopped at the failure */
	expect_true(sw->done, "%s: the sweep reached past the section start "
		    "within %u steps", what, MAX_STEPS);
	expect_u_gt(sw->moved_on_b, 0, "%s: some migration landed on B", what);
	expect_u_eq(sw->restarts, 1, "%s: exactly one trap (the one at the "
		    "section's start) aborted a section", what);
}

/* Before a sweep: room for the test's blocks on both CPUs' stacks of
 * cache, and the SIGTRAP handler installed (the old one in *old). */
static void sweep_start(struct kmem_cache *cache, struct sigaction *old)
{
	struct sigaction sa = { 0 };

	for (int cpu = 0; cpu < 2; cpu++)
		assert_u_le(cpu_cache_count(cache, cpu ? cpu_b : cpu_a) + 2,
			    cache->cc_cap, "room on CPU %d's stack",
			    cpu ? cpu_b : cpu_a);
	sa.sa_sigaction = on_sigtrap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_d_eq(sigaction(SIGTRAP, &sa, old), 0, "SIGTRAP handler");
}

/* After the call stepped to trap k: the CPU the thread ends on, and
 * whether exactly its count of cache moved by delta. */
static int sweep_step_done(struct sweep *sw, struct kmem_cache *cache,
			   unsigned int k, int delta, const char *what)
{
	int cpu;

	snapshot(after);
	sw->steps = k;
	cpu = expected_cpu(sw, k, what);
	if (!one_count_moved(cache, cpu, delta, k, what))
		sw->failed = true;
	return cpu;
}

/* After step k's checks: report a failure; true when the trap did not
 * fire (the call ran out before trap k), which ends the sweep. */
static bool sweep_finished(struct sweep *sw, unsigned int k, const char *what)
{
	if (sw->failed)
		report_trap(k, what);
	if (!step.fired) {
		sweep_end(sw, what);
		return true;
	}
	return false;
}

/*
 * free(q) migrated at trap k: q is pushed on the stack of the CPU the
 * thread ends on, and malloc there hands it back (LIFO).
 */
TEST_BEGIN(test_free_migrated_at_each_step)
{
	struct sweep sw = { 0 };
	struct kmem_cache *cache;
	struct sigaction old;
	void *q;

	test_skip_if(!have_two_cpus());
	assert_true(pin(cpu_a), "pinned to CPU %d", cpu_a);
	q = malloc(SIZE);
	assert_ptr_not_null(q, "malloc");
	assert_ptr_not_null(cache_slab_of(q), "a slab object");
	cache = cache_slab_of(q)->cache;
	sweep_start(cache, &old);
	for (unsigned int k = 1; k <= MAX_STEPS && !sw.failed; k++) {
		int cpu;
		void *r;

		if (!pin(cpu_a)) {
			test_fail("cannot run on CPU %d", cpu_a);
			break;
		}
		snapshot(before);
		arm(k);
		step_call(q, (void *)free);
		cpu = sweep_step_done(&sw, cache, k, +1, "free");
		r = malloc(SIZE);	/* on the CPU the push went to */
		if (r != q) {
			test_fail("free, trap %u: malloc on CPU %d gave %p, not the "
				  "block just freed %p", k, cpu, r, q);
			sw.failed = true;
		}
		q = r;
		if (sweep_finished(&sw, k, "free"))
			break;
	}
	sigaction(SIGTRAP, &old, NULL);
	free(q);
	sweep_report(&sw, "free");
}
TEST_END

/*
 * malloc() migrated at trap k: it pops the top of the stack of the CPU the
 * thread ends on, which is the block the test freed there just before.
 */
TEST_BEGIN(test_malloc_migrated_at_each_step)
{
	struct sweep sw = { 0 };
	struct kmem_cache *cache;
	struct sigaction old;
	void *on_a, *on_b;

	test_skip_if(!have_two_cpus());
	assert_true(pin(cpu_a), "pinned to CPU %d", cpu_a);
	on_a = malloc(SIZE);
	on_b = malloc(SIZE);
	assert_ptr_not_null(on_a, "malloc");
	assert_ptr_not_null(on_b, "malloc");
	assert_ptr_not_null(cache_slab_of(on_a), "a slab object");
	cache = cache_slab_of(on_a)->cache;
	assert_ptr_eq(cache_slab_of(on_b)->cache, cache, "same cache");
	sweep_start(cache, &old);
	for (unsigned int k = 1; k <= MAX_STEPS && !sw.failed; k++) {
		void *p, *other, *want, *want_other;
		int cpu, other_cpu;

		/* Each stack's top is known: on_b on B's, on_a on A's. */
		if (!pin(cpu_b) || (free(on_b), !pin(cpu_a))) {
			test_fail("cannot run on CPUs %d and %d", cpu_a, cpu_b);
			break;
		}
		free(on_a);
		snapshot(before);
		arm(k);
		p = step_call((void *)(uintptr_t)SIZE, (void *)malloc);
		cpu = sweep_step_done(&sw, cache, k, -1, "malloc");
		want = cpu == cpu_b ? on_b : on_a;
		want_other = cpu == cpu_b ? on_a : on_b;
		if (p != want) {
			test_fail("malloc, trap %u: gave %p, not %p, the top of CPU "
				  "%d's stack where it runs (%p is the top of the other)",
				  k, p, want, cpu, want_other);
			sw.failed = true;
		}
		/* Take the other CPU's top back too: every count as before. */
		other_cpu = cpu == cpu_b ? cpu_a : cpu_b;
		if (!pin(other_cpu)) {
			test_fail("cannot run on CPU %d", other_cpu);
			sw.failed = true;
		}
		other = malloc(SIZE);
		on_a = p;
		on_b = other;
		if (sweep_finished(&sw, k, "malloc"))
			break;
	}
	sigaction(SIGTRAP, &old, NULL);
	free(on_a);
	free(on_b);
	sweep_report(&sw, "malloc");
}
TEST_END

int main(void)
{
	return test_run(test_setup,
			test_free_migrated_at_each_step,
			test_malloc_migrated_at_each_step,
			NULL);
}
