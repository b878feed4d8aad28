// common.h - helpers shared by the workload files.
//
// Rules every workload follows:
//  - allocate only through `shim` (shim.h); the harness's own arrays come
//    from mmap (harness_alloc) so they neither use nor disturb the allocator
//    under test;
//  - touch what it gets (touch()), so an allocator that hands out memory it
//    has not faulted in yet pays for the page faults like everyone else;
//  - report peak and after-free resident memory as counters (mem_begin /
//    mem_end), measured inside this process.
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <benchmark/benchmark.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>

#include <atomic>
#include <cstddef>

#include "rss.h"
#include "shim.h"

namespace bench {

constexpr size_t kCacheLine = 64;
constexpr size_t kPage = 4096;
// Upper bound for ThreadRange(1, kMaxThreads) and for per-thread arrays.
constexpr int kMaxThreads = 16;

// Write one byte per cache line up to a page, then one per page, plus the
// last byte.  Per page above 4 KiB because what matters there is whether the
// page is already resident (a fault costs ~0.25 us; a cache-line write ~1 ns);
// writing every line of a 32 MiB block would measure memset, not the allocator.
inline void touch(void *p, size_t size)
{
	char *c = static_cast<char *>(p);
	size_t step = size <= kPage ? kCacheLine : kPage;

	for (size_t i = 0; i < size; i += step)
		c[i] = static_cast<char>(i);
	c[size - 1] = 1;
	benchmark::DoNotOptimize(c);
}

// xorshift64*: cheap, good enough for picking sizes and slots, and seeded
// per thread so every allocator sees the same sequence.
struct Rng {
	uint64_t s;
	explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
	uint64_t next()
	{
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		return s * 0x2545F4914F6CDD1Dull;
	}
	// Uniform in [0, n).
	size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

// Harness memory straight from the kernel; never from the allocator.
inline void *harness_alloc(size_t bytes)
{
	void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? nullptr : p;
}

inline void harness_free(void *p, size_t bytes)
{
	if (p != nullptr)
		munmap(p, bytes);
}

// A precomputed table of sizes, so drawing a size costs one load instead of
// an RNG call and a log.  Index with (i & kSizeMask).
constexpr size_t kSizeTable = 4096;
constexpr size_t kSizeMask = kSizeTable - 1;

struct SizeTable {
	uint32_t size[kSizeTable];
};

// Log-uniform in [lo, hi): as many 16..32 B requests as 1..2 KiB ones, which
// is roughly what programs do (many small objects, a tail of large ones).
void make_log_uniform(SizeTable *t, size_t lo, size_t hi, uint64_t seed);
// Uniform in [lo, hi], multiples of 8 (Larson's distribution).
void make_uniform(SizeTable *t, size_t lo, size_t hi, uint64_t seed);

// The common tables, built once at start-up (see sizes.cc).
extern SizeTable small_sizes;  // log-uniform 16 B .. 2 KiB
extern SizeTable tiny_sizes;   // log-uniform 16 B .. 256 B
extern SizeTable medium_sizes; // log-uniform 256 B .. 4 KiB
extern SizeTable larson_sizes; // uniform 16 B .. 1 KiB
void init_size_tables();

// Memory counters for one benchmark run.
//
// mem_begin: thread 0, before the timed loop: resets the kernel's peak RSS
// and arms the "all threads cleaned up" countdown.  Every thread has passed
// Google Benchmark's start barrier after this, so the countdown is armed
// before any thread can reach mem_end.
void mem_begin(benchmark::State &state);

// mem_threads_done: every thread, after freeing what it owns.  Returns true
// in thread 0 once all threads have freed (thread 0 may then free shared
// structures), false in the others.
bool mem_threads_done(benchmark::State &state);

// mem_report: thread 0 only, after mem_threads_done() returned true and all
// shared objects are freed: sets peak_rss, rss_after_free and rss_start
// (RSS when mem_begin ran, so a reader can tell the workload's own growth
// from the process's baseline).
void mem_report(benchmark::State &state);

// The usual end of a workload whose threads own all their objects.
inline void mem_end(benchmark::State &state)
{
	if (mem_threads_done(state))
		mem_report(state);
}

} // namespace bench

#endif // BENCH_COMMON_H
