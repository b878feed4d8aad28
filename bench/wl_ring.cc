// wl_ring.cc - a ring of live objects per thread.
//
// Each iteration frees the oldest object in the ring and allocates a new one
// of a different size in its place: a FIFO lifetime with a steady live set,
// as in a queue of requests.  Unlike pairs, the freed object went cold long
// ago and its neighbours are still live, so the allocator must reuse memory
// around live objects.  The initial fill is stamped; the first kChecksumOps
// frees read it back.
#include "common.h"

namespace bench {

static void ring(benchmark::State &state)
{
	size_t slots = static_cast<size_t>(state.range(0));
	size_t bytes = slots * sizeof(void *);
	void **live = static_cast<void **>(harness_alloc(bytes));
	size_t s = static_cast<size_t>(state.thread_index()) * 1237;
	size_t pos = 0;
	uint64_t stream = static_cast<uint64_t>(state.thread_index());
	// The prefix frees only objects of the initial fill, all stamped.
	Checksum ck(kChecksumOps < slots ? kChecksumOps : slots);

	mem_begin(state);
	for (size_t k = 0; k < slots; k++) {
		size_t size = small_sizes.size[s++ & kSizeMask];
		live[k] = shim.malloc(size);
		touch(live[k], size);
		stamp(live[k], tag_of(stream, k));
	}
	for (auto _ : state) {
		size_t size = small_sizes.size[s++ & kSizeMask];
		if (__builtin_expect(ck.on(), 0))
			ck.add(readback(live[pos]));
		shim.free(live[pos]);
		live[pos] = shim.malloc(size);
		touch(live[pos], size);
		if (++pos == slots)
			pos = 0;
	}
	for (size_t k = 0; k < slots; k++)
		shim.free(live[k]);
	harness_free(live, bytes);
	state.SetItemsProcessed(state.iterations());
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(ring)->ArgName("live")->Arg(8192)->ThreadRange(1, kMaxThreads)->UseRealTime();

} // namespace bench
