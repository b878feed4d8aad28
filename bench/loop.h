/*
 * loop.h - helpers of the standalone C workload programs (burst_loop,
 * lifetime_loop): output without stdio buffers, harness memory from mmap,
 * a seeded RNG, log-uniform sizes, a monotonic clock.
 *
 * None of them calls the allocator under test: output is formatted into a
 * stack buffer and written with write(2), and the harness's own arrays come
 * straight from the kernel.
 */
#ifndef BENCH_LOOP_H
#define BENCH_LOOP_H

#include <stddef.h>
#include <stdint.h>

/* Print msg on stderr and exit with status 1. */
void die(const char *msg) __attribute__((noreturn));

/* printf to stdout through a 256-byte stack buffer and one write(2); a
 * longer line is cut. */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Anonymous private read-write memory from mmap; dies on failure. */
void *harness_alloc(size_t bytes);

/* xorshift64*, seeded, so every allocator sees the same sequence. */
struct rng {
	uint64_t s;
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1). */
double rng_unit(struct rng *r);
/* Log-uniform in [lo, hi): as many 16..32 B sizes as 1..2 KiB ones. */
size_t log_uniform(struct rng *r, double lo, double hi);

/* CLOCK_MONOTONIC in seconds. */
double now(void);
/* Sleep s seconds (restarted after signals). */
void sleep_seconds(double s);

#endif /* BENCH_LOOP_H */
