#!/bin/sh
# cpu_cache_fallback.sh - the per-CPU object caches (slab/cpu_cache.c) in
# their fallback mode, per-CPU locks instead of rseq: the unit tests of the
# caches and of slab/, and the threaded stress test (linked and preloaded),
# each run with glibc's rseq registration turned off
# (GLIBC_TUNABLES=glibc.pthread.rseq=0, so __rseq_size is 0, as under
# valgrind), and the cache unit test once more with the fallback forced
# from inside (CC_TEST_FALLBACK=1); also stress/fork (fork while threads
# allocate, fork from a signal handler), preload/bad_free (the one-line
# reports of double, invalid and interior frees) and stress/signal_malloc
# (malloc and free in a signal handler that interrupted the allocator)
# and unit/lifetime_malloc (the lifetime classifier through malloc) and
# unit/kfree_fast (the inline fast paths; a malloc/free pair writes no
# state byte) with rseq off; and the core's unit/pcp, whose per-CPU page
# lists take a sched_getcpu() hint instead of rseq's cpu_id then. One TAP line per program; the program's own output
# follows as "# " lines.
#
# Run by "make check" from the top build directory.

so=${BUDDYMALLOC_SO:-$(pwd)/.libs/libbuddymalloc.so}
norseq="glibc.pthread.rseq=0${GLIBC_TUNABLES:+:$GLIBC_TUNABLES}"
n=0

. "$(dirname "$0")/../include/tap_run.sh"

echo "1..11"
run "unit/cpu_cache, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/unit/cpu_cache
run "unit/cpu_cache, fallback forced" \
	env CC_TEST_FALLBACK=1 tests/unit/cpu_cache
run "unit/slab, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/unit/slab
run "stress/threads, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/stress/threads
run "stress/threads preloaded, rseq off" \
	env GLIBC_TUNABLES="$norseq" LD_PRELOAD="$so" \
	tests/stress/preload/threads.preload
run "stress/fork, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/stress/fork
run "preload/bad_free, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/preload/bad_free
run "stress/signal_malloc, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/stress/signal_malloc
run "unit/lifetime_malloc, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/unit/lifetime_malloc
run "unit/kfree_fast, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/unit/kfree_fast
run "unit/pcp, rseq off" \
	env GLIBC_TUNABLES="$norseq" tests/unit/pcp
