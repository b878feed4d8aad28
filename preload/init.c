/*
 * init.c - the life of the allocator in a process: bootstrap on the first
 * call, fork handlers, the report at exit.
 *
 * Start-up has two moments, and neither may depend on the other:
 *   - the first call into the allocator, from any thread, possibly from ld.so
 *     before any constructor (even before libc has set environ) or from
 *     inside pthread_create: buddy_boot_slow() reads BUDDYMALLOC_CONF and
 *     nothing more. No malloc, no stdio, no dlsym, no thread creation.
 *   - our constructor, once libc is up: it retries BUDDYMALLOC_CONF if the
 *     first call was too early to read it, and registers the fork handlers
 *     (pthread_atfork may allocate, so it must not run inside malloc).
 * slab/ and core/ initialise themselves lazily and thread-safely.
 */
#include <errno.h>
#include <pthread.h>

#include "internal.h"
#include "preload.h"
#include "slab.h"

__thread unsigned int buddy_depth __attribute__((tls_model("initial-exec")));
__thread unsigned int buddy_depth_floor
	__attribute__((tls_model("initial-exec")));

/* ---------------------------------------------------------- bootstrap */

int buddy_boot_state = BOOT_NONE;

/* This thread is the one booting: a signal handler that interrupts the boot
 * and allocates must not wait for it. */
static __thread bool boot_self __attribute__((tls_model("initial-exec")));

/* Whether the first call found BUDDYMALLOC_CONF readable. */
static bool conf_read;

void buddy_boot_slow(void)
{
	if (uatomic_cmpxchg(&buddy_boot_state, BOOT_NONE, BOOT_RUNNING) ==
	    BOOT_NONE) {
		boot_self = true;
		conf_read = conf_boot(false);
		boot_self = false;
		cmm_smp_mb();
		uatomic_set(&buddy_boot_state, BOOT_DONE);
		return;
	}
	if (boot_self)
		return;
	/* Another thread is parsing a string; that takes microseconds. */
	while (uatomic_read(&buddy_boot_state) != BOOT_DONE)
		os_yield();
	cmm_smp_mb();
}

/* --------------------------------------------------------------- fork */

/*
 * Which forks in progress on this thread abandon the heap, one bit per
 * nesting level (a fork from a signal handler may interrupt the prepare
 * handler of another fork; the handlers of the inner fork run completely
 * before the outer one's go on, so a stack is exact).
 */
static __thread uint64_t fork_abandon_bits
	__attribute__((tls_model("initial-exec")));

/*
 * If this thread is inside the allocator, fork() was called from a signal
 * handler that interrupted it: the locks this thread holds cannot be taken
 * and what they protect may be half-updated, so the child abandons the heap
 * (slab.h) and prepare/parent do nothing. glibc 2.36 runs these handlers
 * even when the process is single-threaded (it skips only its own malloc's
 * locking then), so this covers the single-threaded signal-handler case too.
 *
 * Otherwise prepare takes every lock of slab/ and core/. It counts as being
 * inside the allocator until parent or child, so a signal handler forking
 * in between is recognised as well.
 */
static void fork_prepare(void)
{
	bool abandon = buddy_depth != 0;

	fork_abandon_bits = fork_abandon_bits << 1 | abandon;
	if (abandon)
		return;
	allocator_enter();
	kmem_fork_prepare();
}

static void fork_parent(void)
{
	bool abandon = fork_abandon_bits & 1;

	fork_abandon_bits >>= 1;
	if (abandon)
		return;
	kmem_fork_parent();
	allocator_leave();
}

static void fork_child(void)
{
	bool abandon = fork_abandon_bits & 1;

	fork_abandon_bits >>= 1;
	kmem_fork_child(abandon);
	if (!abandon)
		allocator_leave();
	else	/* the interrupted calls hold none of the new locks */
		buddy_depth_floor = buddy_depth;
}

/* ---------------------------------------------------- constructor, exit */

/*
 * Registered here rather than on the first malloc: pthread_atfork allocates
 * its handler record. Prepare handlers run in reverse order of
 * registration, so libraries that register after us lock their own state
 * (perhaps allocating) before we take the allocator's locks, and their child
 * handlers run after ours, when malloc works again.
 */
__attribute__((constructor))
static void buddymalloc_init(void)
{
	buddy_boot();
	if (!conf_read)
		conf_read = conf_boot(true);
	if (buddy_opts.stats_print)
		stderr_save();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/*
 * stats_print:true. A destructor of a library loaded early runs late in
 * exit, after the program's atexit handlers and the destructors of
 * libraries loaded after it, so the report shows the heap at the end. It
 * goes to the stderr the program started with, even if the program closed
 * it (report.c).
 */
__attribute__((destructor))
static void buddymalloc_fini(void)
{
	if (!buddy_opts.stats_print)
		return;
	buddy_boot();
	buddymalloc_stats_print(write_saved_stderr, NULL,
				"summary,buddyinfo,pagetypeinfo");
}
