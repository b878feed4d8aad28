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

// --- checksums: the same result under every allocator ----------------------
//
// A faster number must not be a wrong one.  Every workload writes a tag into
// the objects it allocates (stamp) and reads it back before it frees them
// (readback); a Checksum folds what was read back into one value per run,
// reported as the counters "checksum" and "checksum_ops".  bench/run compares
// them across allocators: an allocator that hands out one block twice, lets
// a live block overlap another or its own metadata, or loses the contents in
// realloc reads back something else, and its row is flagged.
//
// The tags depend only on the seed and on the object's position in the
// workload, never on addresses or timing, so the checksum is the same under
// every allocator.  Google Benchmark picks the iteration count from the
// clock, so only a fixed prefix is checksummed: the first kChecksumOps
// operations of each thread (or the first iteration, where one iteration is
// a fixed amount of work); checksum_ops says how many were, and rows are
// compared only at equal counts.  Outside the prefix the loop pays one
// predictable branch.

// Operations per thread in a checksummed prefix: far fewer than any final
// run's iteration count, even in quick mode's 0.05 s.
constexpr uint64_t kChecksumOps = 4096;

// splitmix64's finaliser: every input bit changes every output bit.
inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBull;
	x ^= x >> 31;
	return x;
}

// The tag of object number i of stream `stream` (a thread, a batch...).
inline uint64_t tag_of(uint64_t stream, uint64_t i)
{
	return mix64(stream * 0x9E3779B97F4A7C15ull + i + 1);
}

// Stamp a block of at least 16 bytes: word 0 = tag, word 1 = mix64(tag), so
// a block whose first word was overwritten (a free-list link written into a
// live block) reads back inconsistent even if the word happens to look like
// a tag.  Call it after touch(), which writes byte 0.
inline void stamp(void *p, uint64_t tag)
{
	uint64_t *w = static_cast<uint64_t *>(p);

	w[0] = tag;
	w[1] = mix64(tag);
}

// What a stamped block holds now: its tag if both words are intact, else a
// value that no intact block gives.  Volatile loads, so the compiler cannot
// answer from the stores it just made.
inline uint64_t readback(const void *p)
{
	const volatile uint64_t *w = static_cast<const volatile uint64_t *>(p);
	uint64_t w0 = w[0], w1 = w[1];

	return w1 == mix64(w0) ? w0 : ~mix64(w0 ^ w1);
}

// True if a stamped block's two words still agree.
inline bool intact(const void *p)
{
	const volatile uint64_t *w = static_cast<const volatile uint64_t *>(p);

	return w[1] == mix64(w[0]);
}

// An order-dependent hash of the values read back in one thread's prefix.
struct Checksum {
	uint64_t h = 0;
	uint64_t n = 0;
	uint64_t limit;

	explicit Checksum(uint64_t ops = kChecksumOps) : limit(ops) {}
	bool on() const { return n < limit; }
	void add(uint64_t v)
	{
		h = mix64(h ^ v);
		n++;
	}
};

// Sets "checksum" (the hash's low 48 bits: exact in a double, and Google
// Benchmark's sum over up to 16 threads stays exact) and "checksum_ops".
// Call it from every thread of the run, once.
void checksum_report(benchmark::State &state, uint64_t h, uint64_t n);
inline void checksum_report(benchmark::State &state, const Checksum &ck)
{
	checksum_report(state, ck.h, ck.n);
}

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
// Weighted bands, each log-uniform inside (see sizes.cc's program bands).
struct SizeBand {
	size_t lo, hi;
	unsigned weight;
};
void make_bands(SizeTable *t, const SizeBand *bands, size_t nbands, uint64_t seed);

// The common tables, built once at start-up (see sizes.cc).
extern SizeTable small_sizes;  // log-uniform 16 B .. 2 KiB
extern SizeTable tiny_sizes;   // log-uniform 16 B .. 256 B
extern SizeTable medium_sizes; // log-uniform 256 B .. 4 KiB
extern SizeTable larson_sizes; // uniform 16 B .. 1 KiB
extern SizeTable program_sizes; // what programs ask for (see sizes.cc)
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
