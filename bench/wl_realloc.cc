// wl_realloc.cc - growing a buffer with realloc.
//
// realloc_append: a string or log buffer growing by 16..64 bytes per step up
// to 64 KiB; most steps should stay in place (usable size, or growing into
// the next free block).  realloc_geometric: a vector growing by 1.5x up to
// 8 MiB; every step moves unless the allocator can extend in place (mremap
// for huge blocks).  The new tail is touched each step; one item = one call.
//
// Checksum (the first iteration): the head and each step's new tail are
// stamped, and after every realloc the head and the previous tail are read
// back, so contents lost or misplaced by a move show.
#include "common.h"

namespace bench {

// After a realloc: the head, and the tail the previous step stamped at
// offset `tail` (0: none yet, the head is all there is).
static void check_step(Checksum *ck, const char *p, size_t tail)
{
	ck->add(readback(p));
	if (tail != 0)
		ck->add(readback(p + tail));
}

static void realloc_append(benchmark::State &state)
{
	size_t limit = static_cast<size_t>(state.range(0));
	size_t s = static_cast<size_t>(state.thread_index()) * 331;
	int64_t calls = 0;
	Checksum ck(UINT64_MAX);
	bool checking = true;
	size_t tail = 0;

	mem_begin(state);
	for (auto _ : state) {
		size_t size = 16;
		char *p = static_cast<char *>(shim.malloc(size));
		touch(p, size);
		if (__builtin_expect(checking, 0))
			stamp(p, tag_of(0, 0));
		while (size < limit) {
			size_t grow = 16 + (tiny_sizes.size[s++ & kSizeMask] & 48);
			p = static_cast<char *>(shim.realloc(p, size + grow));
			touch(p + size, grow);
			if (__builtin_expect(checking, 0)) {
				check_step(&ck, p, tail);
				tail = size;
				stamp(p + tail, tag_of(1, ck.n));
			}
			size += grow;
			calls++;
		}
		shim.free(p);
		checking = false;
	}
	state.SetItemsProcessed(calls);
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(realloc_append)->ArgName("limit")->Arg(64 << 10)->UseRealTime();

static void realloc_geometric(benchmark::State &state)
{
	size_t limit = static_cast<size_t>(state.range(0));
	int64_t calls = 0;
	Checksum ck(UINT64_MAX);
	bool checking = true;
	size_t tail = 0;

	mem_begin(state);
	for (auto _ : state) {
		size_t size = 64;
		char *p = static_cast<char *>(shim.malloc(size));
		touch(p, size);
		if (__builtin_expect(checking, 0))
			stamp(p, tag_of(2, 0));
		while (size < limit) {
			size_t bigger = size + size / 2;
			p = static_cast<char *>(shim.realloc(p, bigger));
			touch(p + size, bigger - size);
			if (__builtin_expect(checking, 0)) {
				check_step(&ck, p, tail);
				tail = size;
				stamp(p + tail, tag_of(3, ck.n));
			}
			size = bigger;
			calls++;
		}
		shim.free(p);
		checking = false;
	}
	state.SetItemsProcessed(calls);
	checksum_report(state, ck);
	mem_end(state);
}
BENCHMARK(realloc_geometric)->ArgName("limit")->Arg(8 << 20)->UseRealTime();

} // namespace bench
