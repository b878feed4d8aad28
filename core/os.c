/*
 * os.c - the operating system under the allocator: address space from mmap,
 * text to a file descriptor, abort. The only file in core/ that makes system
 * calls; everything above asks here.
 */
#include <errno.h>
#include <pthread.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define LOW32_LIMIT	(1UL << 32)
/* Stay clear of the first GiB, where non-PIE executables and brk live. */
#define LOW32_START	(1UL << 30)

static void *map_fixed_noreplace(void *want, size_t size)
{
	void *p = mmap(want, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		       MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (p != want) {	/* kernels before 4.17 treat the flag as a hint */
		munmap(p, size);
		return NULL;
	}
	return p;
}

/* Try aligned slots below 4 GiB, from *hint up; the hint moves past what
 * was tried so the next call does not probe the same slots again. */
static void *map_low32(size_t size, size_t align, unsigned long *hint)
{
	unsigned long addr = *hint < LOW32_START ? LOW32_START : *hint;

	addr = (addr + align - 1) & ~(align - 1);
	for (; addr + size <= LOW32_LIMIT; addr += align) {
		void *p = map_fixed_noreplace((void *)addr, size);

		if (p) {
			*hint = addr + size;
			return p;
		}
	}
	*hint = LOW32_LIMIT;
	return NULL;
}

void *os_map_aligned(size_t size, size_t align, bool low32, unsigned long *hint)
{
	uintptr_t start, aligned;
	size_t span;
	void *p;

	if (low32)
		return map_low32(size, align, hint);

	/* Map size + align, then trim both ends to the aligned size. */
	span = size + align;
	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	start = (uintptr_t)p;
	aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
	if (aligned > start)
		munmap(p, aligned - start);
	if (start + span > aligned + size)
		munmap((void *)(aligned + size), start + span - (aligned + size));
	return (void *)aligned;
}

void os_unmap(void *addr, size_t size)
{
	munmap(addr, size);
}

/*
 * Without MAP_NORESERVE, unlike the sections: a huge block is memory the
 * program asked for, so it is charged to the commit limit as glibc's mmap'd
 * chunks are, and the kernel's overcommit heuristic refuses impossible
 * sizes here instead of the program dying on first touch.
 */
void *os_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *os_remap(void *addr, size_t old_size, size_t new_size)
{
	void *p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * MADV_DONTNEED, not MADV_FREE: the pages leave the resident set now, so
 * RSS shows the release at once, and they read as zero afterwards. The
 * mapping stays; the next touch faults in a fresh zero page.
 */
bool os_release(void *addr, size_t size)
{
	return madvise(addr, size, MADV_DONTNEED) == 0;
}

void os_write(int fd, const char *buf, size_t len)
{
	int saved = errno;

	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		buf += n;
		len -= (size_t)n;
	}
	errno = saved;
}

void os_abort(void)
{
	/* abort() may flush stdio, which may allocate: raise SIGABRT plainly,
	 * then make sure we do not come back. */
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGABRT);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
	_exit(127);
}

long os_page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* May allocate (glibc reads /sys): callers must tolerate a nested malloc. */
long os_nr_cpus(void)
{
	return sysconf(_SC_NPROCESSORS_CONF);
}

int os_current_cpu(void)
{
	return sched_getcpu();
}

pid_t os_getpid(void)
{
	return getpid();
}

void os_yield(void)
{
	sched_yield();
}

bool os_membarrier_register_rseq(void)
{
	return syscall(__NR_membarrier,
		       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0;
}

bool os_membarrier_rseq_cpu(int cpu)
{
	return syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		       MEMBARRIER_CMD_FLAG_CPU, cpu) == 0;
}

/* Milliseconds of CLOCK_MONOTONIC_COARSE: the vDSO reads the tick without
 * touching the clock source (a few ns, 4 ms resolution here). */
uint64_t os_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A detached thread running fn(arg), with every signal blocked (the
 * program's handlers must never run on the allocator's threads).
 * pthread_create maps the stack itself and callocs the thread's TLS vector
 * (a nested malloc the caller must tolerate). false on failure.
 */
bool os_thread_create(void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	if (pthread_attr_init(&attr) != 0)
		return false;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return err == 0;
}

/* Name the calling thread (PR_SET_NAME: at most 15 bytes). */
void os_thread_set_name(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}

/*
 * Wait on cond (initialised for CLOCK_MONOTONIC) with mutex held, until
 * signalled or, with timeout_ms > 0, until that many milliseconds passed.
 */
void os_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mutex,
		     unsigned int timeout_ms)
{
	struct timespec ts;

	if (!timeout_ms) {
		pthread_cond_wait(cond, mutex);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(cond, mutex, &ts);
}

/* Block every signal in this thread; *old gets the mask to restore. */
void os_signals_block(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

void os_signals_restore(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}
