/*
 * fork.c - fork() leaves both processes able to allocate:
 *
 *  - from a SIGALRM handler that fires (setitimer, every millisecond) while
 *    the only thread is inside malloc or free: glibc makes fork
 *    async-signal-safe with respect to malloc in a single-threaded process
 *    (glibc malloc/tst-mallocfork2.c); jemalloc 5.3 and tcmalloc 2.10
 *    deadlock here;
 *  - from a multithreaded parent while 4 other threads malloc and free in a
 *    loop, 200 times.
 *
 * Every child allocates (small, page-run and huge sizes, calloc, realloc),
 * checks what it wrote, frees, and _exit()s: 0 if all went well. (With
 * BUDDY_TEST_ANY_MALLOC, children of forks that interrupted malloc or free
 * only _exit: glibc's malloc cannot do more there, its heap may be
 * mid-update; ours must.) The
 * parent enforces a timeout on each child (polling waitpid with WNOHANG;
 * a child still alive after CHILD_TIMEOUT seconds is killed and counted as
 * hung), so an allocator lock left held across fork fails the test instead
 * of hanging it. The timeout is a hang guard only: a healthy child exits
 * in milliseconds.
 *
 * The signal test runs first, before this process has ever had a second
 * thread: glibc promises nothing for fork from a signal handler in a
 * multithreaded process.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_util.h"

#define MiB		((size_t)1 << 20)
#define CHILD_TIMEOUT	60	/* seconds; a hang guard, not a budget */

/*
 * What every child does. Async-signal-safe apart from the allocator
 * itself, which is what is being tested. Returns the exit status.
 */
static int child_work(void)
{
	static const size_t sizes[] = { 1, 16, 100, 1000, 4096, 70000, MiB,
					5 * MiB };
	void *p[sizeof(sizes) / sizeof(sizes[0])];
	const size_t n = sizeof(sizes) / sizeof(sizes[0]);

	for (size_t i = 0; i < n; i++) {
		p[i] = malloc(sizes[i]);
		if (p[i] == NULL)
			return 2;
		pattern_fill(p[i], sizes[i], i);
	}
	for (size_t i = 0; i < n; i++) {
		if (pattern_check(p[i], sizes[i], i) != sizes[i])
			return 3;
		p[i] = realloc(p[i], sizes[i] * 2 + 1);
		if (p[i] == NULL || pattern_check(p[i], sizes[i], i) != sizes[i])
			return 4;
	}
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	for (size_t i = 0; i < n; i++) {
		char *z = calloc(1, sizes[i]);

		if (z == NULL || zero_check(z, sizes[i]) != sizes[i])
			return 5;
		free(z);
	}
	return 0;
}

struct child_tally {
	unsigned long forks, ok, failed, hung;
};

static void tally(struct child_tally *t, pid_t pid, int status)
{
	if (status == -1) {
		if (t->hung++ < 5)
			test_diag("child %d hung; killed after %d s", (int)pid,
				  CHILD_TIMEOUT);
	} else if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		t->ok++;
	} else {
		if (t->failed++ < 5)
			test_diag("child %d: %s %d", (int)pid,
				  status >= 0 && WIFSIGNALED(status) ?
				  "killed by signal" : "exit status",
				  status < 0 ? status :
				  WIFSIGNALED(status) ? WTERMSIG(status) :
				  WEXITSTATUS(status));
	}
}

/* ------------------------------------------------ fork from SIGALRM */

#define SIG_FORKS	300	/* forks from the handler to reach */
#define SIG_SLOTS	1009
#define MAX_PENDING	64

/* Written by the handler, read by the main loop with signals blocked. */
static struct {
	pid_t pid[MAX_PENDING];
	double started[MAX_PENDING];
	volatile sig_atomic_t n;	/* pending children */
	volatile sig_atomic_t forks;
	volatile sig_atomic_t inside;	/* forks that interrupted malloc/free */
	volatile sig_atomic_t fork_errors;
} sig;

/* Set by the main loop around each malloc and free call. */
static volatile sig_atomic_t in_allocator;

/* BUDDY_TEST_ANY_MALLOC: children of forks that interrupted the allocator
 * only _exit (see alarm_fork). */
static bool sig_child_exit_only;

static void alarm_fork(int signo)
{
	int saved_errno = errno;
	pid_t pid;

	if (sig.n >= MAX_PENDING) {	/* let the main loop reap first */
		errno = saved_errno;
		return;
	}
	pid = fork();
	if (pid == 0) {
		/* glibc's malloc promises only that such a child can _exit:
		 * its heap may be mid-update (children that allocate die in
		 * "malloc(): mismatching next->prev_size"). Ours promises
		 * that the child can allocate. */
		if (in_allocator && sig_child_exit_only)
			_exit(0);
		_exit(child_work());
	}
	if (pid < 0) {
		sig.fork_errors++;
	} else {
		sig.pid[sig.n] = pid;
		sig.started[sig.n] = test_now();
		sig.n++;
		sig.forks++;
		if (in_allocator)
			sig.inside++;
	}
	errno = saved_errno;
}

/* Reaps the children forked so far (SIGALRM blocked meanwhile). */
static void reap_signal_children(struct child_tally *t)
{
	sigset_t block, old;
	pid_t pid[MAX_PENDING];
	double started[MAX_PENDING];
	int n;

	/* SIGALRM stays blocked while waiting, so that the forks happen
	 * during the allocation loop, not here. */
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	n = sig.n;
	memcpy(pid, sig.pid, sizeof(pid[0]) * (size_t)n);
	memcpy(started, sig.started, sizeof(started[0]) * (size_t)n);
	sig.n = 0;
	for (int i = 0; i < n; i++) {
		if (t->hung >= 3) {
			/* The rest would hang as well: do not wait a
			 * timeout for each of them. */
			kill(pid[i], SIGKILL);
			started[i] -= CHILD_TIMEOUT;
		}
		tally(t, pid[i], test_wait_child(pid[i], started[i], CHILD_TIMEOUT));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

TEST_BEGIN(test_fork_from_signal_handler)
{
	static void *slot[SIG_SLOTS];
	static size_t slot_size[SIG_SLOTS];
	struct itimerval every_ms = {
		.it_interval = { .tv_sec = 0, .tv_usec = 1000 },
		.it_value = { .tv_sec = 0, .tv_usec = 1000 },
	};
	struct itimerval off = { 0 };
	struct child_tally t = { 0 };
	struct sigaction sa = { 0 };
	uint64_t rng = test_seed(0xf04c);
	unsigned long ops = 0, broken = 0;

	double t0 = test_now();

	sig_child_exit_only = api_any_malloc();
	sa.sa_handler = alarm_fork;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	assert_d_eq(sigaction(SIGALRM, &sa, NULL), 0);
	assert_d_eq(setitimer(ITIMER_REAL, &every_ms, NULL), 0);

	/* Until enough forks happened: at most 20 million operations, a
	 * bound that only a broken timer reaches. */
	while (sig.forks < SIG_FORKS && ops < 20000000 && t.hung < 3) {
		unsigned int i = (unsigned int)rand_below(&rng, SIG_SLOTS);
		size_t size = 1 + (size_t)rand_below(&rng, 70000);
		void *p;

		if (slot[i] != NULL) {
			size_t n = slot_size[i] < 64 ? slot_size[i] : 64;

			if (pattern_check(slot[i], n, i) != n)
				broken++;
		}
		in_allocator = 1;
		free(slot[i]);
		p = malloc(size);
		in_allocator = 0;
		slot[i] = p;
		slot_size[i] = size;
		if (p == NULL) {
			broken++;
			continue;
		}
		pattern_fill(p, size < 64 ? size : 64, i);
		if (++ops % 256 == 0 && sig.n > 0)
			reap_signal_children(&t);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	reap_signal_children(&t);
	for (unsigned int i = 0; i < SIG_SLOTS; i++) {
		free(slot[i]);
		slot[i] = NULL;
	}

	t.forks = (unsigned long)sig.forks;
	test_diag("%lu forks from SIGALRM, %d of them interrupting malloc or "
		  "free; %lu allocator calls in the parent; %.1f s", t.forks,
		  (int)sig.inside, ops, test_now() - t0);
	if (sig_child_exit_only)
		test_diag("BUDDY_TEST_ANY_MALLOC: those %d children only "
			  "_exit()ed, as glibc promises no more", (int)sig.inside);
	expect_lu_ge(t.forks, SIG_FORKS, "the timer did not fire enough");
	expect_d_eq((int)sig.fork_errors, 0, "fork() failed");
	expect_lu_eq(t.hung, 0, "children hung");
	expect_lu_eq(t.failed, 0, "children failed");
	expect_lu_eq(t.ok, t.forks);
	expect_lu_eq(broken, 0, "parent's blocks broken or malloc failed");
}
TEST_END

/* ------------------------------------------------ fork with 4 threads */

#define NR_CHURNERS	4
#define THREAD_FORKS	200

static atomic_bool stop_churn;

struct churner {
	pthread_t thread;
	uint64_t seed;
	unsigned long ops, errors;
};

static void *churn(void *arg)
{
	struct churner *c = arg;
	void *slot[64] = { NULL };
	size_t size[64] = { 0 };
	uint64_t rng = c->seed;

	while (!atomic_load_explicit(&stop_churn, memory_order_relaxed)) {
		unsigned int i = (unsigned int)rand_below(&rng, 64);

		if (slot[i] != NULL) {
			size_t n = size[i] < 256 ? size[i] : 256;

			if (pattern_check(slot[i], n, (uintptr_t)slot[i]) != n)
				c->errors++;
			free(slot[i]);
		}
		size[i] = rand_below(&rng, 50) == 0 ?
			  MiB + (size_t)rand_below(&rng, MiB) :
			  1 + (size_t)rand_below(&rng, 8192);
		slot[i] = malloc(size[i]);
		if (slot[i] == NULL) {
			c->errors++;
			continue;
		}
		pattern_fill(slot[i], size[i] < 256 ? size[i] : 256,
			     (uintptr_t)slot[i]);
		c->ops++;
	}
	for (unsigned int i = 0; i < 64; i++)
		free(slot[i]);
	return NULL;
}

static void *child_thread(void *arg)
{
	*(int *)arg = child_work();
	return NULL;
}

TEST_BEGIN(test_fork_while_threads_allocate)
{
	struct churner c[NR_CHURNERS];
	struct child_tally t = { 0 };
	uint64_t seed = test_seed(0xf0c4);
	unsigned long ops = 0, errors = 0;
	double t0 = test_now();

	atomic_store(&stop_churn, false);
	for (int i = 0; i < NR_CHURNERS; i++) {
		c[i] = (struct churner){ .seed = seed + (uint64_t)i * 31 };
		assert_d_eq(pthread_create(&c[i].thread, NULL, churn, &c[i]), 0);
	}
	for (int n = 0; n < THREAD_FORKS; n++) {
		double started = test_now();
		pid_t pid;

		/* Let the churners get going (and into malloc) between forks. */
		for (volatile int spin = 0; spin < 20000; spin++)
			;
		pid = fork();
		if (pid == 0) {
			int status = child_work(), tstatus = 9;
			pthread_t th;

			/* Every tenth child also allocates from a new thread. */
			if (status == 0 && n % 10 == 0) {
				if (pthread_create(&th, NULL, child_thread,
						   &tstatus) != 0 ||
				    pthread_join(th, NULL) != 0)
					_exit(6);
				status = tstatus;
			}
			_exit(status);
		}
		if (pid < 0) {
			test_fail("fork: %s", strerror(errno));
			break;
		}
		t.forks++;
		tally(&t, pid, test_wait_child(pid, started, CHILD_TIMEOUT));
		if (t.hung > 3)
			break;	/* the rest would hang as well */
	}
	atomic_store(&stop_churn, true);
	for (int i = 0; i < NR_CHURNERS; i++) {
		pthread_join(c[i].thread, NULL);
		ops += c[i].ops;
		errors += c[i].errors;
	}
	test_diag("%lu forks; the 4 threads made %lu allocations meanwhile; "
		  "%.1f s", t.forks, ops, test_now() - t0);
	expect_lu_eq(t.forks, THREAD_FORKS);
	expect_lu_eq(t.hung, 0, "children hung");
	expect_lu_eq(t.failed, 0, "children failed");
	expect_lu_eq(t.ok, t.forks);
	expect_lu_eq(errors, 0, "the threads' blocks broke or malloc failed");
	/* And the parent still allocates. */
	expect_d_eq(child_work(), 0);
}
TEST_END

int main(void)
{
	api_watchdog(300);
	return test_run(test_served_by_buddymalloc,
			test_fork_from_signal_handler,
			test_fork_while_threads_allocate,
			NULL);
}
