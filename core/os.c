/*
 * os.c - the operating system under the allocator: address space from mmap,
 * text to a file descriptor, abort. The only file in core/ that makes system
 * calls; everything above asks here.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

/* The last number of /sys/devices/system/cpu/possible ("0-3" or
 * "0,2-5"), plus one; read with plain system calls, since sysconf() may
 * call malloc. */
unsigned int os_nr_possible_cpus(void)
{
	char buf[256];
	unsigned int last = 0, n = 0;
	ssize_t len;
	int fd;

	fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (ssize_t i = 0; i < len; i++) {
		if (buf[i] >= '0' && buf[i] <= '9') {
			n = n * 10 + (unsigned int)(buf[i] - '0');
			last = n;
		} else {
			n = 0;
		}
	}
	return len > 0 && last < 65536 ? last + 1 : 1;
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
