# bench/local.mk - benchmarks; included by the top Makefile.am (non-recursive,
# so every path is relative to the top).
#
# `make` builds the benchmark programs (when Google Benchmark is there), so CI
# catches bit rot; `make bench` builds them and runs the comparison in quick
# mode; `make bench-build` only builds.
#
# From configure.ac this needs:
#   AM_CONDITIONAL HAVE_BENCHMARK   Google Benchmark and a C++ compiler work
#   AC_SUBST BENCHMARK_LIBS PTHREAD_LIBS
#   AC_SUBST LIBC_SO JEMALLOC_SO MIMALLOC_SO TCMALLOC_SO
#                                   absolute paths of the comparison
#                                   allocators' shared objects, empty if absent
#   libbuddymalloc.la               the library under test (top directory)
#
#   make bench                          quick mode (a few minutes)
#   make bench BENCH_FLAGS=--full       full mode
#   make bench BENCH_FLAGS='--quick --only glibc,jemalloc'
#   make bench-burst                    resident memory after bursts only
#                                       (bench/burst.py, about 5 minutes)
#   make bench-lifetime                 a long-lived cache beside short-lived
#                                       peaks (bench/lifetime.py, about 9
#                                       minutes; LIFETIME_FLAGS='--only
#                                       buddymalloc --reps 1' for one)

BENCH_FLAGS = --quick
LIFETIME_FLAGS =

# --- in-process benchmarks (Google Benchmark over the C shim) -------------

bench_common_sources = \
	bench/shim.c bench/shim.h \
	bench/rss.c bench/rss.h \
	bench/common.h bench/sizes.cc bench/counters.cc bench/main.cc \
	bench/wl_pairs.cc bench/wl_ring.cc bench/wl_sweep.cc \
	bench/wl_realloc.cc bench/wl_aligned.cc bench/wl_prodcons.cc \
	bench/wl_larson.cc bench/wl_workingset.cc bench/wl_memory.cc \
	bench/wl_mixed.cc bench/wl_server.cc

bench_libs = $(BENCHMARK_LIBS) $(PTHREAD_LIBS) -ldl

if HAVE_BENCHMARK
bench_programs = bench/bench_alloc bench/bench_alloc_linked
noinst_PROGRAMS += bench/bench_alloc bench/bench_alloc_linked

# Allocator chosen at run time with LD_PRELOAD (the way users run it).
bench_bench_alloc_SOURCES = $(bench_common_sources)
bench_bench_alloc_LDADD = $(bench_libs)

# The same objects with libbuddymalloc linked in (-lbuddymalloc): it comes
# before libc in the executable's DT_NEEDED list, so its malloc wins.
# -no-install: a real executable that finds the build tree's library, not a
# libtool wrapper script.  --no-as-needed: nothing here names a libbuddymalloc
# symbol (the shim finds malloc with dlsym), so a linker that defaults to
# --as-needed (Debian's gcc does) would drop the library silently.
bench_bench_alloc_linked_SOURCES = $(bench_common_sources)
bench_bench_alloc_linked_LDADD = libbuddymalloc.la $(bench_libs)
bench_bench_alloc_linked_LDFLAGS = -no-install -Wl,--no-as-needed
else
bench_programs =
endif

# --- the fast path alone (bench/fastpath) ----------------------------------

# A plain loop of malloc+free pairs; bench/fastpath runs it under callgrind
# and on the clock, for each allocator.
noinst_PROGRAMS += bench/fastpath_loop
bench_fastpath_loop_SOURCES = bench/fastpath.c
EXTRA_DIST += bench/fastpath
# bench/fastpath is a script beside bench/fastpath.c: without a rule of its
# own, make's built-in "%: %.c" would compile the C file over the script
# whenever fastpath.c is newer (as make distdir asks for bench/fastpath).
bench/fastpath: ;
# bench/hardening: the hardening levels side by side on the same loop.
EXTRA_DIST += bench/hardening

# --- resident memory after bursts (bench/burst.py) ---------------------------

# The idle burst and the two-thread bursts; bench/burst.py runs it under
# each allocator and samples its RSS from outside.
noinst_PROGRAMS += bench/burst_loop
bench_burst_loop_SOURCES = bench/burst.c bench/loop.c bench/loop.h \
	bench/rss.c bench/rss.h
bench_burst_loop_LDADD = $(PTHREAD_LIBS) -ldl -lm

# --- long-lived cache, short-lived peaks (bench/lifetime.py) ------------------

# A server's cache and its peaks of requests, same sizes, different call
# sites; bench/lifetime.py runs it under each allocator and reports the
# resident memory in the troughs between peaks.
noinst_PROGRAMS += bench/lifetime_loop
bench_lifetime_loop_SOURCES = bench/lifetime.c bench/loop.c bench/loop.h \
	bench/rss.c bench/rss.h
bench_lifetime_loop_LDADD = -ldl -lm

# --- real programs ----------------------------------------------------------

# fork/exec/wait4 with LD_PRELOAD; reports wall, user, sys and peak RSS.
noinst_PROGRAMS += bench/runproc
bench_runproc_SOURCES = bench/runproc.c

# Preloaded before the allocator; records which library serves malloc.
# -rpath makes libtool build a shared object although it is never installed.
noinst_LTLIBRARIES += bench/libbenchprobe.la
bench_libbenchprobe_la_SOURCES = bench/probe.c
bench_libbenchprobe_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
bench_libbenchprobe_la_LIBADD = -ldl

EXTRA_DIST += \
	bench/run bench/burst.py bench/lifetime.py bench/programs.py bench/report.py bench/charts.py \
	bench/README.md bench/.gitignore \
	bench/programs/alloc_heavy.py bench/programs/sqlite_workload.sql \
	bench/programs/gen_large_c.py bench/programs/bigint.py

bench_build_deps = $(bench_programs) bench/runproc bench/burst_loop bench/lifetime_loop \
	bench/libbenchprobe.la libbuddymalloc.la

bench-build: $(bench_build_deps)

# The runner finds the programs under --build-dir and writes bench/results/
# in the source tree (the README shows those files; raw/ is git-ignored).
# The allocators every runner compares, as configure found them.
bench_allocs = --build-dir '$(abs_top_builddir)' \
	--alloc 'glibc=$(LIBC_SO)' \
	--alloc 'jemalloc=$(JEMALLOC_SO)' \
	--alloc 'mimalloc=$(MIMALLOC_SO)' \
	--alloc 'tcmalloc=$(TCMALLOC_SO)' \
	--alloc 'buddymalloc=$(abs_top_builddir)/.libs/libbuddymalloc.so'

bench: $(bench_build_deps)
	python3 $(top_srcdir)/bench/run $(BENCH_FLAGS) $(bench_allocs)

bench-burst: $(bench_build_deps)
	$(MAKE) bench BENCH_FLAGS='--burst-only $(BENCH_FLAGS)'

bench-lifetime: $(bench_build_deps)
	python3 $(top_srcdir)/bench/lifetime.py $(LIFETIME_FLAGS) $(bench_allocs)

.PHONY: bench bench-build bench-burst bench-lifetime
