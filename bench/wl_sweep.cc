// wl_sweep.cc - one size at a time, from the smallest class to huge blocks.
//
// Each iteration allocates a batch of objects of one size, touches them and
// frees them in allocation order.  The sizes walk every small size class
// (16 B steps to 512 B, then four steps per doubling to 4 KiB), then page
// multiples (4 KiB..2 MiB: the buddy orders), then huge sizes (4 MiB+: above
// the largest buddy block, typically direct mmaps).  A curve with a step
// shows where an allocator changes strategy.
#include "common.h"

namespace bench {

// Batch size: enough objects to leave the per-thread cache's hot slot, few
// enough that huge sizes do not need gigabytes.
static size_t batch_for(size_t size)
{
	if (size <= 64 * 1024)
		return 64;
	if (size <= 2 * 1024 * 1024)
		return 8;
	return 2;
}

static void size_sweep(benchmark::State &state)
{
	size_t size = static_cast<size_t>(state.range(0));
	size_t batch = batch_for(size);
	void *p[64];
	// The first iteration's batch: all its objects live at once, so two
	// that overlap read back each other's tag.
	Checksum ck(batch);

	mem_begin(state);
	for (auto _ : state) {
		for (size_t k = 0; k < batch; k++) {
			p[k] = shim.malloc(size);
			touch(p[k], size);
		}
		if (__builtin_expect(ck.on(), 0)) {
			for (size_t k = 0; k < batch; k++)
				stamp(p[k], tag_of(size, k));
			for (size_t k = 0; k < batch; k++)
				ck.add(readback(p[k]));
		}
		for (size_t k = 0; k < batch; k++)
			shim.free(p[k]);
	}
	checksum_report(state, ck);
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch));
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch * size));
	mem_end(state);
}

static void sweep_sizes(benchmark::internal::Benchmark *b)
{
	b->ArgName("size");
	for (long s = 16; s <= 512; s += 16)
		b->Arg(s);
	// 640 B..4 KiB in quarter steps (4 KiB is also the first page size).
	for (long base = 512; base < 4096; base *= 2)
		for (long q = 1; q <= 4; q++)
			b->Arg(base + q * base / 4);
	for (long s : {8192L, 12288L, 16384L, 24576L, 32768L, 49152L, 65536L,
		       131072L, 262144L, 524288L, 1048576L, 2097152L})
		b->Arg(s);
	for (long s : {4L << 20, 8L << 20, 16L << 20, 32L << 20})
		b->Arg(s);
}
BENCHMARK(size_sweep)->Apply(sweep_sizes)->UseRealTime();

} // namespace bench
