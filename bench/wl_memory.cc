// wl_memory.cc - how much memory stays resident after a burst is freed.
//
// Allocate a burst of small mixed-size objects (16 B..2 KiB, 256 MiB in
// total by default), touch them, then free all but a random 1/16: the
// survivors are scattered over the whole burst, as the long-lived objects of
// a server are among its short-lived request data.  Then:
//   rss_free_now    right after the frees;
//   rss_after_free  after sitting idle for a while (no call into the
//                   allocator), which is what a program that goes idle gets
//                   from decay or background threads;
//   rss_after_trim  after the allocator's own purge call (shim.purge:
//                   malloc_trim, mi_collect, ...); equal to rss_after_free
//                   when there is none (has_purge = 0).
// The ratios are (rss - rss_base) / live bytes: 1.0 would mean the allocator
// keeps resident exactly what is still in use.
//
// Environment: BENCH_BURST_MIB (default 256), BENCH_IDLE_SECONDS (default 2).
#include <stdlib.h>
#include <time.h>

#include "common.h"

namespace bench {

static double env_double(const char *name, double fallback)
{
	const char *v = getenv(name);
	return v != nullptr && *v != '\0' ? atof(v) : fallback;
}

static void sleep_seconds(double seconds)
{
	struct timespec ts;

	ts.tv_sec = static_cast<time_t>(seconds);
	ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void memory_burst(benchmark::State &state)
{
	using benchmark::Counter;
	size_t burst = static_cast<size_t>(env_double("BENCH_BURST_MIB", 256) * 1048576.0);
	double idle = env_double("BENCH_IDLE_SECONDS", 2);
	// Enough pointer slots for the smallest mean size the table can give.
	size_t max_objects = burst / 16 + 1;
	size_t bytes = max_objects * sizeof(void *);
	void **obj = static_cast<void **>(harness_alloc(bytes));
	Rng rng(7);
	// Every object stamped, read back when freed (the first iteration;
	// there is only one).
	Checksum ck(UINT64_MAX);
	bool checking = true;

	for (auto _ : state) {
		size_t base = rss_current(), total = 0, live = 0, n = 0, kept = 0, s = 0;
		rss_reset_peak();

		while (total < burst) {
			size_t size = small_sizes.size[s++ & kSizeMask];
			obj[n] = shim.malloc(size);
			touch(obj[n], size);
			if (checking)
				stamp(obj[n], tag_of(7, n));
			total += size;
			n++;
		}
		size_t peak = rss_peak();

		// Keep a random 1/16, compacted to the front of obj[].  Sizes are
		// read back from the table so live counts requested bytes.
		for (size_t k = 0; k < n; k++) {
			if (rng.below(16) == 0) {
				obj[kept++] = obj[k];
				live += small_sizes.size[k & kSizeMask];
			} else {
				if (checking)
					ck.add(readback(obj[k]));
				shim.free(obj[k]);
			}
		}
		size_t free_now = rss_current();

		state.PauseTiming();
		sleep_seconds(idle);
		state.ResumeTiming();
		size_t after_free = rss_current();

		if (shim.purge != nullptr)
			shim.purge();
		size_t after_trim = rss_current();

		for (size_t k = 0; k < kept; k++) {
			if (checking)
				ck.add(readback(obj[k]));
			shim.free(obj[k]);
		}
		checking = false;

		auto bytes_counter = [](size_t v) {
			return Counter(static_cast<double>(v), Counter::kDefaults, Counter::kIs1024);
		};
		auto ratio = [&](size_t rss) {
			return static_cast<double>(rss > base ? rss - base : 0) / static_cast<double>(live);
		};
		state.counters["burst_bytes"] = bytes_counter(total);
		state.counters["live_bytes"] = bytes_counter(live);
		state.counters["rss_base"] = bytes_counter(base);
		state.counters["peak_rss"] = bytes_counter(peak);
		state.counters["rss_free_now"] = bytes_counter(free_now);
		state.counters["rss_after_free"] = bytes_counter(after_free);
		state.counters["rss_after_trim"] = bytes_counter(after_trim);
		state.counters["free_ratio"] = ratio(after_free);
		state.counters["trim_ratio"] = ratio(after_trim);
		state.counters["peak_ratio"] = ratio(peak) * static_cast<double>(live) /
					       static_cast<double>(total);
		state.counters["has_purge"] = shim.purge != nullptr ? 1 : 0;
		state.counters["idle_seconds"] = idle;
		state.SetItemsProcessed(static_cast<int64_t>(n));
	}
	harness_free(obj, bytes);
	checksum_report(state, ck);
}
BENCHMARK(memory_burst)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

} // namespace bench
