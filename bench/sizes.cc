// sizes.cc - the request-size distributions the workloads draw from.
#include <cmath>

#include "common.h"

namespace bench {

SizeTable small_sizes;
SizeTable tiny_sizes;
SizeTable medium_sizes;
SizeTable larson_sizes;

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

void init_size_tables()
{
	make_log_uniform(&small_sizes, 16, 2048, 1);
	make_log_uniform(&tiny_sizes, 16, 256, 2);
	make_log_uniform(&medium_sizes, 256, 4096, 3);
	make_uniform(&larson_sizes, 16, 1024, 4);
}

} // namespace bench
