// main.cc - resolve the allocator, label the run with it, run the benchmarks.
#include <cstdio>

#include "common.h"

int main(int argc, char **argv)
{
	if (shim_init() != 0)
		return 2;
	bench::init_size_tables();

	// The runner checks "allocator" against the one it preloaded, so a
	// preload that silently failed cannot pass for a result.
	benchmark::AddCustomContext("allocator", shim.name);
	benchmark::AddCustomContext("allocator_path", shim.path);
	benchmark::AddCustomContext("purge", shim.purge_name);
	benchmark::AddCustomContext("shim", shim_describe());
	fprintf(stderr, "bench: allocator %s\n", shim_describe());

	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
