#!/bin/sh
# guard_api.sh - API and stress tests (built by "make check") under
# BUDDYMALLOC_CONF=hardening:guard, where every block above the slab
# classes and every direct mapping has guard pages (core/huge.c): the
# sizes, calloc, overflow, realloc, introspection, symbol, failure and
# statistics tests (linked, and realloc preloaded too), the threaded
# and forking stress tests, and unit/os_fault (mmap, munmap, madvise and
# mprotect failing every Nth call; its malloc is the library's sources).
# Each API and stress program's own check that libbuddymalloc served it
# must pass. One TAP line per program; its output follows as "# " lines.
#
# Not here: api/align and api/misuse, which fail the same way under
# hardening:redzone (a redzone of an aligned small object, free_sized of
# one), not because of the guards.
#
# Run by "make check" from the top build directory.

so=${BUDDYMALLOC_SO:-$(pwd)/.libs/libbuddymalloc.so}
conf=hardening:guard
n=0

# run NAME served|linked PROGRAM [ARGUMENTS...]
run() {
	name=$1
	served=$2
	shift 2
	n=$((n + 1))
	out=$(env BUDDYMALLOC_CONF=$conf "$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	if test $rc -eq 0 &&
	   { test "$served" = linked ||
	     printf '%s\n' "$out" |
	     grep -q '^ok 1 - test_served_by_buddymalloc'; } &&
	   ! printf '%s\n' "$out" | grep -q -e '^not ok' -e '^Bail out'; then
		echo "ok $n - $name under $conf"
	else
		echo "not ok $n - $name under $conf (exit status $rc)"
	fi
}

echo "1..12"
for t in sizes calloc overflow realloc introspect symbols alloc_fail \
	 malloc_stats; do
	run "api/$t" served "tests/api/$t"
done
run "api/realloc preloaded" served env LD_PRELOAD="$so" \
	tests/api/preload/realloc.preload
run "stress/threads" served tests/stress/threads
run "stress/fork" served tests/stress/fork
run "unit/os_fault" linked tests/unit/os_fault
