// wl_realloc.cc - growing a buffer with realloc.
//
// realloc_append: a string or log buffer growing by 16..64 bytes per step up
// to 64 KiB; most steps should stay in place (usable size, or growing into
// the next free block).  realloc_geometric: a vector growing by 1.5x up to
// 8 MiB; every step moves unless the allocator can extend in place (mremap
// for huge blocks).  The new tail is touched each step; one item = one call.
#include "common.h"

namespace bench {

static void realloc_append(benchmark::State &state)
{
	size_t limit = static_cast<size_t>(state.range(0));
	size_t s = static_cast<size_t>(state.thread_index()) * 331;
	int64_t calls = 0;

	mem_begin(state);
	for (auto _ : state) {
		size_t size = 16;
		char *p = static_cast<char *>(shim.malloc(size));
		touch(p, size);
		while (size < limit) {
			size_t grow = 16 + (tiny_sizes.size[s++ & kSizeMask] & 48);
			p = static_cast<char *>(shim.realloc(p, size + grow));
			touch(p + size, grow);
			size += grow;
			calls++;
		}
		shim.free(p);
	}
	state.SetItemsProcessed(calls);
	mem_end(state);
}
BENCHMARK(realloc_append)->ArgName("limit")->Arg(64 << 10)->UseRealTime();

static void realloc_geometric(benchmark::State &state)
{
	size_t limit = static_cast<size_t>(state.range(0));
	int64_t calls = 0;

	mem_begin(state);
	for (auto _ : state) {
		size_t size = 64;
		char *p = static_cast<char *>(shim.malloc(size));
		touch(p, size);
		while (size < limit) {
			size_t bigger = size + size / 2;
			p = static_cast<char *>(shim.realloc(p, bigger));
			touch(p + size, bigger - size);
			size = bigger;
			calls++;
		}
		shim.free(p);
	}
	state.SetItemsProcessed(calls);
	mem_end(state);
}
BENCHMARK(realloc_geometric)->ArgName("limit")->Arg(8 << 20)->UseRealTime();

} // namespace bench
