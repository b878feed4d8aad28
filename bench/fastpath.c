/*
 * fastpath.c - the malloc/free fast path in isolation, for bench/fastpath:
 *
 *	fastpath PATTERN N [time [CHUNKS]]
 *
 * runs N iterations of one loop and, with "time", prints nanoseconds per
 * iteration; with CHUNKS, the loop runs as CHUNKS runs of N / CHUNKS
 * iterations and the fastest chunk is printed (on a shared machine the
 * fastest chunk is the one no other process interrupted). PATTERN:
 *   fixed   p = malloc(32); free(p)
 *   cycle   p = malloc(16 .. 512, cycling in steps of 16); free(p)
 *   ring    free the oldest of 64 live 32-byte blocks, allocate a new one
 *   page    p = malloc(64 KiB), one byte written; free(p) (a page-level
 *           block: bench/hardening, for hardening:guard)
 *   pages   the same, sizes 36 .. 156 KiB cycling in steps of 8 KiB
 *   empty   the loop alone (subtracted from the others under callgrind)
 * The allocator is whatever the process runs with (LD_PRELOAD). Under
 * callgrind, the difference between two values of N cancels start-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One run of n iterations of pattern; its seconds, or -1 for an unknown
 * pattern. */
static double run(const char *pattern, long n, void **ring)
{
	void *volatile sink;
	double t0 = now();

	if (!strcmp(pattern, "fixed")) {
		for (long i = 0; i < n; i++) {
			void *p = malloc(32);

			sink = p;
			free(p);
		}
	} else if (!strcmp(pattern, "cycle")) {
		for (long i = 0; i < n; i++) {
			void *p = malloc(16 + (size_t)(i % 32) * 16);

			sink = p;
			free(p);
		}
	} else if (!strcmp(pattern, "ring")) {
		for (long i = 0; i < n; i++) {
			free(ring[i & 63]);
			ring[i & 63] = malloc(32);
			sink = ring[i & 63];
		}
	} else if (!strcmp(pattern, "page")) {
		for (long i = 0; i < n; i++) {
			char *p = malloc(64 << 10);

			p[0] = 1;
			sink = p;
			free(p);
		}
	} else if (!strcmp(pattern, "pages")) {
		for (long i = 0; i < n; i++) {
			char *p = malloc(((size_t)36 + (size_t)(i % 16) * 8) << 10);

			p[0] = 1;
			sink = p;
			free(p);
		}
	} else if (!strcmp(pattern, "empty")) {
		for (long i = 0; i < n; i++)
			sink = (void *)i;
	} else {
		return -1;
	}
	(void)sink;
	return now() - t0;
}

int main(int argc, char **argv)
{
	void *ring[64];
	double best = 0;
	long n, chunks;

	if (argc < 3) {
		fprintf(stderr, "usage: fastpath fixed|cycle|ring|page|pages|empty N "
			"[time [CHUNKS]]\n");
		return 2;
	}
	n = atol(argv[2]);
	chunks = argc > 4 ? atol(argv[4]) : 1;
	if (chunks < 1 || chunks > n)
		chunks = 1;
	n /= chunks;
	for (int i = 0; i < 64; i++)
		ring[i] = malloc(32);
	for (long c = 0; c < chunks; c++) {
		double t = run(argv[1], n, ring);

		if (t < 0) {
			fprintf(stderr, "fastpath: unknown pattern %s\n", argv[1]);
			return 2;
		}
		if (c == 0 || t < best)
			best = t;
	}
	if (argc > 3)
		printf("%.2f\n", best / (double)n * 1e9);
	for (int i = 0; i < 64; i++)
		free(ring[i]);
	return 0;
}
