// wl_aligned.cc - aligned allocation through posix_memalign.
//
// Alignments up to a page use small mixed sizes (cache-line-aligned structs,
// page-aligned I/O buffers); 64 KiB and 2 MiB use size == alignment (arena
// and huge-page-sized chunks, as runtimes and databases ask for them).  A
// batch of 32 is allocated, checked, touched and freed per iteration.
#include <stdint.h>

#include "common.h"

namespace bench {

static void aligned(benchmark::State &state)
{
	size_t align = static_cast<size_t>(state.range(0));
	size_t s = 0;
	void *p[32];
	Checksum ck(32); // the first batch, stamped while all of it is live

	if (shim.posix_memalign == nullptr) {
		state.SkipWithError("allocator has no posix_memalign");
		return;
	}
	mem_begin(state);
	for (auto _ : state) {
		for (void *&q : p) {
			size_t size = align <= kPage ? small_sizes.size[s++ & kSizeMask] : align;
			if (shim.posix_memalign(&q, align, size) != 0 ||
			    (reinterpret_cast<uintptr_t>(q) & (align - 1)) != 0) {
				state.SkipWithError("posix_memalign failed or misaligned");
				return;
			}
			touch(q, size);
		}
		if (__builtin_expect(ck.on(), 0)) {
			for (size_t k = 0; k < 32; k++)
				stamp(p[k], tag_of(align, k));
			for (void *q : p)
				ck.add(readback(q));
		}
		for (void *q : p)
			shim.free(q);
	}
	state.SetItemsProcessed(state.iterations() * 32);
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(aligned)->ArgName("align")->Arg(64)->Arg(4096)->Arg(64 << 10)->Arg(2 << 20)->UseRealTime();

} // namespace bench
