/*
 * test_util.h - small helpers every test tier shares: a seeded generator
 * of our own (so a seed means the same run everywhere) and the resident
 * set of the process.
 */
#ifndef BUDDY_TEST_UTIL_H
#define BUDDY_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* splitmix64: state in *state, any seed. */
static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply; the bias is < n / 2^64). */
static inline uint64_t rand_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)splitmix64(state) * n) >> 64);
}

/* Put v[0 .. n) in a random order (Fisher-Yates). */
static inline void test_shuffle(void **v, size_t n, uint64_t *state)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rand_below(state, i);
		void *t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* The start of a small /proc file in buf, NUL-terminated; its length, or
 * 0 if it cannot be read. Only read(2): no stdio stream, no malloc. */
static inline ssize_t test_read_proc(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return n;
}

/* Field field (0: the address space, 1: resident) of /proc/self/statm, in
 * bytes, or 0 if it cannot be read. */
static inline size_t test_statm_bytes(int field)
{
	char buf[128];
	unsigned long v[2] = { 0, 0 };

	if (!test_read_proc("/proc/self/statm", buf, sizeof(buf)))
		return 0;
	if (sscanf(buf, "%lu %lu", &v[0], &v[1]) != 2)
		return 0;
	return (size_t)v[field] * (size_t)sysconf(_SC_PAGESIZE);
}

/* Resident bytes of this process, or 0 if they cannot be read. */
static inline size_t test_rss_bytes(void)
{
	return test_statm_bytes(1);
}

/* CLOCK_MONOTONIC in seconds. */
/* Bytes the allocator has handed out and not had back: malloc_trim
 * first, so that per-CPU stacks and deferred frees do not count. */
static inline size_t test_bytes_in_use(void)
{
	struct mallinfo2 mi;

	malloc_trim(0);
	mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static inline double test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits for child pid, started at test_now() time started, killing it
 * after timeout seconds. Returns its wait status, -1 if it hung (and was
 * killed), -2 if waitpid failed. */
static inline int test_wait_child(pid_t pid, double started, double timeout)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -2;
		if (test_now() - started > timeout) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		usleep(500);
	}
}

#endif /* BUDDY_TEST_UTIL_H */
