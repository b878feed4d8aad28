// wl_workingset.cc - a working set that grows and shrinks.
//
// Each thread grows its live set to 8192 objects, then frees random objects
// until 1/8 remain, then grows again; growth phases alternate between small
// (16..256 B) and medium (256 B..4 KiB) objects.  Memory freed by one phase
// can only be reused by the next if the allocator can move it between size
// classes (or give it back and take it again), so peak and after-free RSS
// show fragmentation as well as speed.  One item = one malloc or free.
// Checksum: the first grow-and-shrink cycle and a little more
// (kWorkingsetCheckOps steps), tags written and read back.
#include "common.h"

namespace bench {

constexpr size_t kHigh = 8192;
constexpr size_t kLow = kHigh / 8;
constexpr uint64_t kWorkingsetCheckOps = 2 * kHigh;

static void workingset(benchmark::State &state)
{
	size_t bytes = kHigh * sizeof(void *);
	void **live = static_cast<void **>(harness_alloc(bytes));
	Rng rng(static_cast<uint64_t>(state.thread_index()) + 101);
	size_t n = 0, s = 0;
	bool growing = true;
	const SizeTable *sizes = &tiny_sizes;
	uint64_t stream = static_cast<uint64_t>(state.thread_index());
	Checksum ck(kWorkingsetCheckOps);

	mem_begin(state);
	for (auto _ : state) {
		if (growing) {
			size_t size = sizes->size[s++ & kSizeMask];
			live[n] = shim.malloc(size);
			touch(live[n], size);
			if (__builtin_expect(ck.on(), 0)) {
				uint64_t tag = tag_of(stream, ck.n);
				stamp(live[n], tag);
				ck.add(tag);
			}
			if (++n == kHigh)
				growing = false;
		} else {
			size_t victim = rng.below(n);
			if (__builtin_expect(ck.on(), 0))
				ck.add(readback(live[victim]));
			shim.free(live[victim]);
			live[victim] = live[--n];
			if (n == kLow) {
				growing = true;
				sizes = sizes == &tiny_sizes ? &medium_sizes : &tiny_sizes;
			}
		}
	}
	while (n > 0)
		shim.free(live[--n]);
	harness_free(live, bytes);
	state.SetItemsProcessed(state.iterations());
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(workingset)->ThreadRange(1, kMaxThreads)->UseRealTime();

} // namespace bench
