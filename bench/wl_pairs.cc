// wl_pairs.cc - malloc/free pairs: the allocator's fast path and nothing else.
//
// Each iteration allocates one object, touches it and frees it at once, so
// the object never leaves the thread's cache.  Threads share nothing; what
// scales badly here is the allocator's own shared state.  Checksum: the
// first kChecksumOps objects of each thread are stamped and read back before
// their free (one predictable branch per pair after that).
#include "common.h"

namespace bench {

// One fixed size (argument), the best case for every per-size cache.
static void pairs_fixed(benchmark::State &state)
{
	size_t size = static_cast<size_t>(state.range(0));
	uint64_t stream = static_cast<uint64_t>(state.thread_index());
	Checksum ck;

	mem_begin(state);
	for (auto _ : state) {
		void *p = shim.malloc(size);
		touch(p, size);
		if (__builtin_expect(ck.on(), 0)) {
			stamp(p, tag_of(stream, ck.n));
			ck.add(readback(p));
		}
		shim.free(p);
	}
	state.SetItemsProcessed(state.iterations());
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(pairs_fixed)->ArgName("size")->Arg(64)->ThreadRange(1, kMaxThreads)->UseRealTime();

// Sizes drawn from small_sizes (16 B..2 KiB, log-uniform): every call
// changes size class, so per-class caches are hit in turn.
static void pairs_mixed(benchmark::State &state)
{
	size_t i = static_cast<size_t>(state.thread_index()) * 977;
	uint64_t stream = static_cast<uint64_t>(state.thread_index());
	Checksum ck;

	mem_begin(state);
	for (auto _ : state) {
		size_t size = small_sizes.size[i++ & kSizeMask];
		void *p = shim.malloc(size);
		touch(p, size);
		if (__builtin_expect(ck.on(), 0)) {
			stamp(p, tag_of(stream, ck.n));
			ck.add(readback(p));
		}
		shim.free(p);
	}
	state.SetItemsProcessed(state.iterations());
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(pairs_mixed)->ThreadRange(1, kMaxThreads)->UseRealTime();

} // namespace bench
