/*
 * fastpath.c - the malloc/free fast path in isolation, for bench/fastpath:
 *
 *	fastpath PATTERN N [time]
 *
 * runs N iterations of one loop and, with "time", prints nanoseconds per
 * iteration. PATTERN:
 *   fixed   p = malloc(32); free(p)
 *   cycle   p = malloc(16 .. 512, cycling in steps of 16); free(p)
 *   ring    free the oldest of 64 live 32-byte blocks, allocate a new one
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

int main(int argc, char **argv)
{
	void *volatile sink;
	void *ring[64];
	const char *pattern;
	double t0, t1;
	long n;

	if (argc < 3) {
		fprintf(stderr, "usage: fastpath fixed|cycle|ring|empty N [time]\n");
		return 2;
	}
	pattern = argv[1];
	n = atol(argv[2]);
	for (int i = 0; i < 64; i++)
		ring[i] = malloc(32);
	t0 = now();
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
	} else if (!strcmp(pattern, "empty")) {
		for (long i = 0; i < n; i++)
			sink = (void *)i;
	} else {
		fprintf(stderr, "fastpath: unknown pattern %s\n", pattern);
		return 2;
	}
	t1 = now();
	if (argc > 3)
		printf("%.2f\n", (t1 - t0) / (double)n * 1e9);
	for (int i = 0; i < 64; i++)
		free(ring[i]);
	(void)sink;
	return 0;
}
