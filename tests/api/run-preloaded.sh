#!/bin/sh
# run-preloaded.sh - runs a TAP test program with libbuddymalloc.so
# preloaded: the LOG_COMPILER of the *.preload tests (tests/local.mk), so
# its output is the program's own TAP, read by automake's tap-driver.sh.
#
#	run-preloaded.sh PROGRAM [ARGUMENTS...]
#
# The library is $BUDDYMALLOC_SO (set by "make check" to the build tree's
# .libs/libbuddymalloc.so); without it, $top_builddir/.libs/libbuddymalloc.so.
# It goes first in LD_PRELOAD, before anything already there. Pointing
# BUDDYMALLOC_SO at another allocator (with BUDDY_TEST_ANY_MALLOC=1) runs
# the same tests against it.

so=${BUDDYMALLOC_SO:-${top_builddir:-.}/.libs/libbuddymalloc.so}

if test $# -lt 1; then
	echo "Bail out! usage: run-preloaded.sh PROGRAM [ARGUMENTS...]"
	exit 99
fi
if ! test -f "$so"; then
	echo "Bail out! $so not found (build the library first)"
	exit 99
fi
case $so in
/*) ;;
*) so=$(pwd)/$so ;;	# the program may change directory
esac

LD_PRELOAD=$so${LD_PRELOAD:+:$LD_PRELOAD}
export LD_PRELOAD
exec "$@"
