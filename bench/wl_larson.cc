// wl_larson.cc - a Larson-style server workload.
//
// After Larson and Krishnan's benchmark for multithreaded servers: a pool of
// live objects shared by all threads; each step picks a random slot, puts a
// new object of random size (16 B..1 KiB, uniform) in it and frees the object
// that was there, which another thread allocated with probability
// (threads-1)/threads.  The live set is 4096 objects per thread and stays
// constant, so memory use shows how well remotely freed memory is reused.
// Slots are swapped atomically, so two threads never free the same object.
//
// Checksum: which object a thread frees depends on the interleaving, so every
// object is stamped and checked when freed (the cost is in every allocator's
// row alike), and the checksum is the hash of the tags a thread wrote in its
// first kChecksumOps steps, changed if any freed object was not intact.
#include "common.h"

namespace bench {

constexpr size_t kSlotsPerThread = 4096;
static std::atomic<void *> slots[kSlotsPerThread * kMaxThreads];

static void larson(benchmark::State &state)
{
	size_t nslots = kSlotsPerThread * static_cast<size_t>(state.threads());
	Rng rng(static_cast<uint64_t>(state.thread_index()) + 11);
	size_t s = static_cast<size_t>(state.thread_index()) * 547;
	uint64_t stream = static_cast<uint64_t>(state.thread_index()) << 40;
	uint64_t op = 0, bad = 0;
	Checksum ck;

	mem_begin(state);
	if (state.thread_index() == 0) {
		// Fill before the start barrier, so all threads find a full pool.
		for (size_t k = 0; k < nslots; k++) {
			size_t size = larson_sizes.size[s++ & kSizeMask];
			void *p = shim.malloc(size);
			touch(p, size);
			stamp(p, ~uint64_t{0} - k);
			slots[k].store(p, std::memory_order_relaxed);
		}
	}
	for (auto _ : state) {
		size_t size = larson_sizes.size[s++ & kSizeMask];
		void *p = shim.malloc(size);
		uint64_t tag = stream | op++;
		touch(p, size);
		stamp(p, tag);
		if (__builtin_expect(ck.on(), 0))
			ck.add(tag);
		void *old = slots[rng.below(nslots)].exchange(p, std::memory_order_acq_rel);
		bad += !intact(old);
		shim.free(old);
	}
	state.SetItemsProcessed(state.iterations());
	if (mem_threads_done(state)) {
		for (size_t k = 0; k < nslots; k++) {
			void *old = slots[k].exchange(nullptr, std::memory_order_relaxed);
			bad += !intact(old);
			shim.free(old);
		}
		mem_report(state);
	}
	checksum_report(state, ck.h ^ (bad != 0 ? mix64(bad) : 0), ck.n);
}
BENCHMARK(larson)->ThreadRange(1, kMaxThreads)->UseRealTime();

} // namespace bench
