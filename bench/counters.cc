// counters.cc - peak and after-free resident memory as benchmark counters.
#include <stdlib.h>
#include <string.h>

#include "common.h"

namespace bench {

// Threads of the current run that have not yet freed their objects.
static std::atomic<int> pending_threads;
// RSS when the run started: what the process held before this workload
// (program, Google Benchmark, the allocator's own start-up footprint).
static size_t start_rss;

void mem_begin(benchmark::State &state)
{
	if (state.thread_index() != 0)
		return;
	pending_threads.store(state.threads());
	rss_reset_peak();
	start_rss = rss_current();
}

bool mem_threads_done(benchmark::State &state)
{
	pending_threads.fetch_sub(1);
	if (state.thread_index() != 0)
		return false;
	// Yield rather than spin: with 16 threads on 2 cores the threads we
	// wait for need this CPU.
	while (pending_threads.load() != 0)
		sched_yield();
	return true;
}

void mem_report(benchmark::State &state)
{
	using benchmark::Counter;

	// Counters are summed over threads; only thread 0 sets these, so the
	// sum is thread 0's value.
	state.counters["peak_rss"] =
		Counter(static_cast<double>(rss_peak()), Counter::kDefaults, Counter::kIs1024);
	state.counters["rss_after_free"] =
		Counter(static_cast<double>(rss_current()), Counter::kDefaults, Counter::kIs1024);
	state.counters["rss_start"] =
		Counter(static_cast<double>(start_rss), Counter::kDefaults, Counter::kIs1024);
}

void checksum_report(benchmark::State &state, uint64_t h, uint64_t n)
{
	// BENCH_CHECKSUM_FLIP=NAME perturbs every checksum of the runs served by
	// allocator NAME: the way to see bench/run flag a wrong result.
	static const char *flip_name = getenv("BENCH_CHECKSUM_FLIP");
	static const bool flip = flip_name != nullptr && strcmp(flip_name, shim.name) == 0;

	if (flip)
		h ^= 1;
	state.counters["checksum"] = static_cast<double>(h & ((uint64_t{1} << 48) - 1));
	state.counters["checksum_ops"] = static_cast<double>(n);
}

} // namespace bench
