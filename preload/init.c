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
 *     first call was too early to read it, registers the fork handlers
 *     (pthread_atfork may allocate, so it must not run inside malloc), and
 *     with report_signal set installs its handler and starts the reclaim
 *     thread that answers it (report.c).
 * slab/ and core/ initialise themselves lazily and thread-safely.
 */
#include <errno.h>
#include <pthread.h>

#include "page_alloc.h"
#include "preload.h"
#include "slab.h"
#include "valgrind.h"

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
		slab_junk_report = report_write_after_free;
		valgrind_boot();
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
 * Forks in progress on this thread (between its prepare handler and its
 * parent or child handler), the pid that called prepare, and which of them
 * abandon the heap, one bit per nesting level (a fork from a signal handler
 * may interrupt the handlers of another fork; the handlers of the inner
 * fork run completely before the outer one's go on, so a stack is exact).
 * The child of a fork inherits them: it is the forking thread.
 */
__thread unsigned int fork_depth __attribute__((tls_model("initial-exec")));
static __thread pid_t fork_pid __attribute__((tls_model("initial-exec")));
static __thread uint64_t fork_abandon_bits
	__attribute__((tls_model("initial-exec")));

/* Forks whose child kept the inherited heap, and forks whose child gave it
 * up (slab.h, kmem_fork_child): a child counts its own fork on top of the
 * parent's counts. */
unsigned long fork_kept, fork_abandoned;

/*
 * No lock of the allocator is taken here (slab.h, "fork()"): another
 * library's prepare handler that runs after this one may allocate, and a
 * thread inside malloc may hold a stdio lock that glibc's fork() waits
 * for after the handlers. Prepare only notes whether this thread is inside
 * the allocator: then fork() was called from a signal handler that
 * interrupted it, its own half-done update has no lock to show it, and the
 * child must abandon the heap. glibc 2.36 runs these handlers even when the
 * process is single-threaded, so this covers that case too.
 */
static void fork_prepare(void)
{
	bool abandon = buddy_depth != 0;

	if (fork_depth++ == 0)
		fork_pid = os_getpid();
	fork_abandon_bits = fork_abandon_bits << 1 | abandon;
}

static void fork_parent(void)
{
	fork_abandon_bits >>= 1;
	fork_depth--;
}

/*
 * The child's first call into the allocator, or its child handler if that
 * comes first: decide whether to keep the inherited heap. Child handlers
 * run in registration order, so a library that registered before us runs
 * its child handler, perhaps allocating, before ours: allocator_enter()
 * sees a fork in progress on this thread and a pid that is not the one
 * that prepared it, and settles the heap first.
 */
void fork_settle_child(void)
{
	pid_t pid = os_getpid();

	if (pid == fork_pid)
		return;		/* the parent, between prepare and parent */
	fork_pid = pid;
	if (kmem_fork_child(fork_abandon_bits & 1)) {
		fork_abandoned++;
		/* The calls this thread was inside of (a fork from a signal
		 * handler) hold none of the fresh locks (allocator_enter_nested). */
		buddy_depth_floor = buddy_depth;
	} else {
		fork_kept++;
	}
}

static void fork_child(void)
{
	fork_settle_child();
	fork_abandon_bits >>= 1;
	fork_depth--;
	live_report_fork_child();
}

/* ---------------------------------------------------- constructor, exit */

/*
 * Registered here rather than on the first malloc: pthread_atfork allocates
 * its handler record. The order of registration does not matter: the
 * handlers take no lock (see fork_prepare).
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
	live_report_init();
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
				"summary,buddyinfo,pagetypeinfo,vmstat,zoneinfo,lifetime");
}
