// wl_mixed.cc - one thread, mixed sizes and lifetimes, as a program does.
//
// Sizes come from program_sizes (sizes.cc): mostly 16..256 B, a tail of
// buffers up to 256 KiB.  Each step is, with equal odds, a temporary (malloc,
// touch, free at once: a formatted string, a scratch buffer) or the
// replacement of a random entry of a table of 2048 live objects (an object
// that lives for a while, freed in no particular order).  So per-class
// caches see every size, live neighbours surround every free, and the
// page-level sizes are reached now and then.  One item = one malloc and one
// free.
//
// Checksum: the first kChecksumOps steps; temporaries are stamped and read
// back, replaced entries are read back (the table's initial fill is stamped).
#include "common.h"

namespace bench {

constexpr size_t kMixedSlots = 2048;

static void mixed_sizes(benchmark::State &state)
{
	size_t bytes = kMixedSlots * sizeof(void *);
	void **live = static_cast<void **>(harness_alloc(bytes));
	Rng rng(23);
	size_t s = 0;
	Checksum ck;

	mem_begin(state);
	for (size_t k = 0; k < kMixedSlots; k++) {
		size_t size = program_sizes.size[s++ & kSizeMask];
		live[k] = shim.malloc(size);
		touch(live[k], size);
		stamp(live[k], tag_of(1, k));
	}
	for (auto _ : state) {
		uint64_t r = rng.next();
		size_t size = program_sizes.size[s++ & kSizeMask];
		void *p = shim.malloc(size);
		touch(p, size);
		if (__builtin_expect(ck.on(), 0))
			stamp(p, tag_of(2, ck.n));
		if (r & 1) {
			if (__builtin_expect(ck.on(), 0))
				ck.add(readback(p));
			shim.free(p);
		} else {
			size_t slot = static_cast<size_t>((r >> 1) % kMixedSlots);
			if (__builtin_expect(ck.on(), 0))
				ck.add(readback(live[slot]));
			shim.free(live[slot]);
			live[slot] = p;
		}
	}
	for (size_t k = 0; k < kMixedSlots; k++)
		shim.free(live[k]);
	harness_free(live, bytes);
	state.SetItemsProcessed(state.iterations());
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(mixed_sizes)->UseRealTime();

} // namespace bench
