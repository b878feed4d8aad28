// sizes.cc - the request-size distributions the workloads draw from.
#include <cmath>

#include "common.h"

namespace bench {

SizeTable small_sizes;
SizeTable tiny_sizes;
SizeTable medium_sizes;
SizeTable larson_sizes;
SizeTable program_sizes;

// What programs ask for, roughly: most requests are small (strings, list
// and tree nodes, small structs), a tail of buffers and arrays reaches the
// page-level sizes.  Weights per 1000 requests; log-uniform in each band.
static const SizeBand program_bands[] = {
	{16, 32, 300},	    {32, 64, 250},	{64, 128, 150},	    {128, 256, 100},
	{256, 512, 80},	    {512, 1024, 55},	{1024, 4096, 40},   {4096, 16384, 17},
	{16384, 65536, 6},  {65536, 262144, 2},
};

void make_log_uniform(SizeTable *t, size_t lo, size_t hi, uint64_t seed)
{
	Rng rng(seed);
	double llo = std::log2(static_cast<double>(lo));
	double lhi = std::log2(static_cast<double>(hi));

	for (size_t i = 0; i < kSizeTable; i++) {
		double u = static_cast<double>(rng.next() >> 11) / 9007199254740992.0;
		size_t s = static_cast<size_t>(std::exp2(llo + u * (lhi - llo)));
		t->size[i] = static_cast<uint32_t>(s < lo ? lo : s >= hi ? hi - 1 : s);
	}
}

void make_uniform(SizeTable *t, size_t lo, size_t hi, uint64_t seed)
{
	Rng rng(seed);

	for (size_t i = 0; i < kSizeTable; i++)
		t->size[i] = static_cast<uint32_t>((lo + rng.below(hi - lo + 1)) & ~size_t{7});
}

void make_bands(SizeTable *t, const SizeBand *bands, size_t nbands, uint64_t seed)
{
	Rng rng(seed);
	unsigned total = 0;

	for (size_t b = 0; b < nbands; b++)
		total += bands[b].weight;
	for (size_t i = 0; i < kSizeTable; i++) {
		size_t pick = rng.below(total), b = 0;
		while (pick >= bands[b].weight)
			pick -= bands[b++].weight;
		double llo = std::log2(static_cast<double>(bands[b].lo));
		double lhi = std::log2(static_cast<double>(bands[b].hi));
		double u = static_cast<double>(rng.next() >> 11) / 9007199254740992.0;
		size_t s = static_cast<size_t>(std::exp2(llo + u * (lhi - llo)));
		t->size[i] = static_cast<uint32_t>(s < bands[b].lo ? bands[b].lo
						   : s >= bands[b].hi ? bands[b].hi - 1 : s);
	}
}

void init_size_tables()
{
	make_log_uniform(&small_sizes, 16, 2048, 1);
	make_log_uniform(&tiny_sizes, 16, 256, 2);
	make_log_uniform(&medium_sizes, 256, 4096, 3);
	make_uniform(&larson_sizes, 16, 1024, 4);
	make_bands(&program_sizes, program_bands, sizeof(program_bands) / sizeof(program_bands[0]), 5);
}

} // namespace bench
