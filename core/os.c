/*
 * os.c - the operating system under the allocator: address space from mmap,
 * text to a file descriptor, files, abort. The only file that makes system
 * calls (tests/layers.sh checks it): the rest of core/, slab/ and preload/
 * ask here (page_alloc.h, internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#ifdef BUDDY_TEST_HOOKS
struct os_fault test_os_fault[NR_OS_CALLS];

void test_os_fault_set(unsigned int mask, unsigned int every)
{
	for (unsigned int k = 0; k < NR_OS_CALLS; k++) {
		if (!(mask & (1u << k)))
			continue;
		CMM_STORE_SHARED(test_os_fault[k].every, 0);
		uatomic_set(&test_os_fault[k].calls, 0);
		uatomic_set(&test_os_fault[k].failed, 0);
		CMM_STORE_SHARED(test_os_fault[k].every, every);
	}
}

/* Does this call of kind fail on purpose? Then errno is set as the OS
 * would set it. */
static bool os_fault(enum os_call kind, int err)
{
	struct os_fault *f = &test_os_fault[kind];
	unsigned int every = CMM_LOAD_SHARED(f->every);

	if (!every || uatomic_add_return(&f->calls, 1) % every)
		return false;
	uatomic_inc(&f->failed);
	errno = err;
	return true;
}
#else
static inline bool os_fault(enum os_call kind, int err)
{
	(void)kind;
	(void)err;
	return false;
}
#endif

/* The system calls, each behind its fault hook. */
static void *sys_mmap(void *addr, size_t size, int flags)
{
	if (os_fault(OS_CALL_MMAP, ENOMEM))
		return MAP_FAILED;
	return mmap(addr, size, PROT_READ | PROT_WRITE, flags, -1, 0);
}

static int sys_munmap(void *addr, size_t size)
{
	if (os_fault(OS_CALL_MUNMAP, ENOMEM))
		return -1;
	return munmap(addr, size);
}

#define LOW32_LIMIT	(1UL << 32)
/* Stay clear of the first GiB, where non-PIE executables and brk live. */
#define LOW32_START	(1UL << 30)

static void *map_fixed_noreplace(void *want, size_t size)
{
	void *p = sys_mmap(want, size, MAP_PRIVATE | MAP_ANONYMOUS |
			   MAP_NORESERVE | MAP_FIXED_NOREPLACE);

	if (p == MAP_FAILED)
		return NULL;
	if (p != want) {	/* kernels before 4.17 treat the flag as a hint */
		sys_munmap(p, size);
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
	p = sys_mmap(NULL, span, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
	if (p == MAP_FAILED)
		return NULL;
	start = (uintptr_t)p;
	aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
	/* A trim the OS refuses leaves reserved address space that nothing
	 * touches: no memory, and nothing to keep track of. */
	if (aligned > start)
		sys_munmap(p, aligned - start);
	if (start + span > aligned + size)
		sys_munmap((void *)(aligned + size),
			   start + span - (aligned + size));
	return (void *)aligned;
}

bool os_unmap(void *addr, size_t size)
{
	return sys_munmap(addr, size) == 0;
}

/*
 * Without MAP_NORESERVE, unlike the sections: a huge block is memory the
 * program asked for, so it is charged to the commit limit as glibc's mmap'd
 * chunks are, and the kernel's overcommit heuristic refuses impossible
 * sizes here instead of the program dying on first touch.
 */
void *os_map(size_t size)
{
	void *p = sys_mmap(NULL, size, MAP_PRIVATE | MAP_ANONYMOUS);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Metadata mappings are counted here, whole: the budget treats every byte
 * of them as resident from the moment it is mapped, which overstates what
 * the OS backs (only touched pages) and so never lets the process pass its
 * limit on their account.
 */
static size_t meta_bytes;

void *os_map_meta(size_t size)
{
	void *p = os_map(size);

	if (p)
		uatomic_add(&meta_bytes, size);
	return p;
}

/* A refused unmap leaves the mapping, still counted; its pages go back. */
void os_unmap_meta(void *addr, size_t size)
{
	if (os_unmap(addr, size))
		uatomic_sub(&meta_bytes, size);
	else
		os_release(addr, size);
}

size_t os_meta_bytes(void)
{
	return uatomic_read(&meta_bytes);
}

#ifdef BUDDY_TEST_HOOKS
unsigned int test_os_remap_fail;
#endif

void *os_remap(void *addr, size_t old_size, size_t new_size)
{
	void *p;

#ifdef BUDDY_TEST_HOOKS
	if (CMM_LOAD_SHARED(test_os_remap_fail)) {
		uatomic_dec(&test_os_remap_fail);
		errno = EFAULT;	/* as for a range that spans two mappings */
		return NULL;
	}
#endif
	if (os_fault(OS_CALL_MREMAP, ENOMEM))
		return NULL;
	p = mremap(addr, old_size, new_size, MREMAP_MAYMOVE);
	return p == MAP_FAILED ? NULL : p;
}

/* Only hardening:guard's guard pages (huge.c) call it. */
bool os_mprotect(void *addr, size_t size, bool rw)
{
	if (os_fault(OS_CALL_MPROTECT, ENOMEM))
		return false;
	return mprotect(addr, size, rw ? PROT_READ | PROT_WRITE : PROT_NONE) == 0;
}

/*
 * MADV_DONTNEED, not MADV_FREE: the pages leave the resident set now, so
 * RSS shows the release at once, and they read as zero afterwards. The
 * mapping stays; the next touch faults in a fresh zero page.
 */
bool os_release(void *addr, size_t size)
{
	if (os_fault(OS_CALL_MADVISE, EAGAIN))
		return false;
	return madvise(addr, size, MADV_DONTNEED) == 0;
}

bool os_write(int fd, const char *buf, size_t len)
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
	return len == 0;
}

/* A new file for writing (truncated if it exists, not through a symbolic
 * link at its last component), mode 0600: reports name addresses. -1 on
 * failure. */
int os_create(const char *path)
{
	int saved = errno, fd;

	do
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
	while (fd < 0 && errno == EINTR);
	errno = saved;
	return fd;
}

/* close, then rename from to to (atomic within a file system: a reader
 * of to sees the old file or the new one, never a part). false on
 * failure of either; from is removed then. */
bool os_close_rename(int fd, const char *from, const char *to)
{
	int saved = errno;
	bool ok = close(fd) == 0 && rename(from, to) == 0;

	if (!ok)
		unlink(from);
	errno = saved;
	return ok;
}

void os_close_unlink(int fd, const char *path)
{
	int saved = errno;

	close(fd);
	unlink(path);
	errno = saved;
}

/*
 * Install handler for sig (SA_RESTART, so the program's interrupted system
 * calls go on) if sig has the default disposition; false, nothing changed,
 * if the program (or another library) already handles or ignores it.
 */
bool os_signal_install(int sig, void (*handler)(int))
{
	struct sigaction old, sa = { .sa_handler = handler,
				     .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
	    (old.sa_flags & SA_SIGINFO))
		return false;
	return sigaction(sig, &sa, NULL) == 0;
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

unsigned long os_phys_pages(void)
{
	long n = sysconf(_SC_PHYS_PAGES);

	return n > 0 ? (unsigned long)n : 0;
}

/*
 * The cgroup v2 memory.max of a process: its cgroup is the "0::/path" line
 * of proc_cgroup, the limit root/path/memory.max ("max" when there is
 * none). 0: no limit, no cgroup v2 line, or unreadable.
 */
size_t os_cgroup_memory_max_at(const char *proc_cgroup, const char *root)
{
	static const char file[] = "/memory.max";
	char buf[4096], path[4096 + 256 + sizeof(file)];
	const char *line = buf, *end;
	size_t len, root_len = strlen(root), bytes = 0;
	int saved = errno;

	if (root_len > 256 || os_read_file(proc_cgroup, buf, sizeof(buf)) < 0)
		goto out;
	while (strncmp(line, "0::", 3) != 0) {
		line = strchr(line, '\n');
		if (!line++)
			goto out;
	}
	line += 3;
	end = strchr(line, '\n');
	len = end ? (size_t)(end - line) : strlen(line);
	if (len == 1 && line[0] == '/')
		len = 0;	/* the root cgroup has no memory.max */
	memcpy(path, root, root_len);
	memcpy(path + root_len, line, len);
	memcpy(path + root_len + len, file, sizeof(file));
	if (os_read_file(path, buf, sizeof(buf)) <= 0)
		goto out;
	for (const char *c = buf; *c >= '0' && *c <= '9'; c++) {
		if (__builtin_mul_overflow(bytes, 10, &bytes) ||
		    __builtin_add_overflow(bytes, (size_t)(*c - '0'), &bytes)) {
			bytes = 0;
			break;
		}
	}
out:
	errno = saved;
	return bytes;
}

size_t os_cgroup_memory_max(void)
{
	return os_cgroup_memory_max_at("/proc/self/cgroup", "/sys/fs/cgroup");
}

uint64_t os_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* open, read and close are plain system calls in glibc: no stdio, no
 * malloc, so this is safe on the first malloc (the topology, zone.c).
 * errno is kept: a missing file is an answer here, not an error of the
 * allocation that asked. */
ssize_t os_read_file(const char *path, char *buf, size_t size)
{
	int saved = errno;
	ssize_t ret = -1;
	size_t len = 0;
	int fd;

	if (size == 0)
		return -1;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		goto out;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = '\0';
			ret = (ssize_t)len;
			break;
		}
		len += (size_t)n;
	}
	if (len == size - 1) {	/* full: the rest is cut */
		buf[len] = '\0';
		ret = (ssize_t)len;
	}
	close(fd);
out:
	errno = saved;
	return ret;
}

ssize_t os_read_conf_file(const char *path, char *buf, size_t size,
			  bool owner_root)
{
	int saved = errno;
	ssize_t ret;
	size_t len = 0;
	struct stat st;
	int fd;

	if (size == 0)
		return -EFBIG;
	do
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	/* The owner and the size of the file opened, not of the path. */
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		goto out_close;
	}
	if (owner_root && (!S_ISREG(st.st_mode) || st.st_uid != 0 ||
			   (st.st_mode & (S_IWGRP | S_IWOTH)))) {
		ret = -EPERM;
		goto out_close;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > size - 1) {
		ret = -EFBIG;
		goto out_close;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1) {
			/* Grew since fstat, or not a regular file: one byte
			 * more says whether it fits. */
			char extra;

			do
				n = read(fd, &extra, 1);
			while (n < 0 && errno == EINTR);
			if (n != 0) {
				ret = n < 0 ? -errno : -EFBIG;
				goto out_close;
			}
			break;
		}
	}
	buf[len] = '\0';
	ret = (ssize_t)len;
out_close:
	close(fd);
out:
	errno = saved;
	return ret;
}

/*
 * MPOL_PREFERRED, not MPOL_BIND: a section's pages go to its node while
 * that node has memory, and to another node after, where BIND would have
 * the page fault fail (SIGBUS, or the OOM killer) when the node is full or
 * has no memory at all. glibc has no mbind wrapper (libnuma does): the raw
 * system call. The kernel reads maxnode - 1 bits of the mask.
 */
bool os_bind_node(void *addr, size_t len, int node)
{
	int saved = errno;
	unsigned long mask;
	bool ok;

	if (node < 0 || node >= (int)(8 * sizeof(mask)))
		return false;
	mask = 1UL << node;
	ok = syscall(__NR_mbind, addr, len, MPOL_PREFERRED, &mask,
		     8 * sizeof(mask) + 1, 0) == 0;
	errno = saved;
	return ok;
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

/* The calling thread's name (PR_GET_NAME) into buf[16]; "" if unknown. */
void os_thread_name(char buf[16])
{
	buf[0] = '\0';
	if (prctl(PR_GET_NAME, (unsigned long)buf, 0, 0, 0) != 0)
		buf[0] = '\0';
	buf[15] = '\0';
}

/* Name the calling thread (PR_SET_NAME: at most 15 bytes). */
void os_thread_set_name(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}

/*
 * Sleep while *word == val: until os_futex_wake(word) or, with timeout_ms
 * > 0, until that many milliseconds passed (FUTEX_WAIT's timeout is
 * relative, on CLOCK_MONOTONIC). Returns at once if *word != val already;
 * a spurious return is possible, so the caller rechecks its condition.
 * Process-private: the word is never shared with another process.
 */
void os_futex_wait_ms(uint32_t *word, uint32_t val, unsigned int timeout_ms)
{
	struct timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long)(timeout_ms % 1000) * 1000000,
	};
	int saved = errno;

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val,
		timeout_ms ? &ts : NULL, NULL, 0);
	errno = saved;
}

/* Wake every thread sleeping on word. One system call and no lock:
 * async-signal-safe, errno kept (a signal handler may call it). */
void os_futex_wake(uint32_t *word)
{
	int saved = errno;

	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
	errno = saved;
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

/* ---------------------------------------------- files and the process */
/* For preload/ and slab/: descriptors, links and the auxiliary vector,
 * each a plain system call or a read of memory the kernel set up (no
 * stdio, nothing that allocates). */

int os_open_read(const char *path)
{
	int fd;

	do
		fd = open(path, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd;
}

ssize_t os_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

void os_close(int fd)
{
	close(fd);
}

ssize_t os_readlink(const char *path, char *buf, size_t size)
{
	return readlink(path, buf, size);
}

int os_dup_above(int fd, int min)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, min);
}

bool os_file_id(int fd, struct os_file_id *id)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return false;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return true;
}

bool os_secure_exec(void)
{
	return getauxval(AT_SECURE) != 0;
}

const unsigned char *os_auxv_random(void)
{
	return (const unsigned char *)getauxval(AT_RANDOM);
}
