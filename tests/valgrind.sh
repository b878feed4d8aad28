#!/bin/sh
# valgrind.sh - TAP test: API tests under valgrind's memcheck, with our
# allocator serving them, not memcheck's.
#
# memcheck replaces malloc, free and the rest in every library that defines
# them, libbuddymalloc.so included, preloaded or linked: a plain
# "valgrind PROGRAM" runs memcheck's allocator and tests nothing of ours.
# --soname-synonyms=somalloc=nouserintercepts limits its replacement to
# libc's and the loader's, so the calls reach our library; memcheck then
# still checks every access and system call the program and the allocator
# make (it no longer knows where our blocks begin and end).
#
# Each program starts with test_served_by_buddymalloc (tests/api/
# api_util.c), which fails unless holding 32 MiB raises our allocator's
# count of allocated pages, so it fails under memcheck's allocator. Points:
#   1-3  sizes, calloc and realloc, preloaded, under memcheck with the
#        option: every point passes and memcheck reports no error;
#   4    sizes, linked with the library, the same;
#   5    sizes, preloaded, under memcheck without the option: its
#        test_served_by_buddymalloc must fail (the check sees that memcheck
#        replaced us), while the rest of it passes on memcheck's malloc.
# Under valgrind glibc registers no rseq area (__rseq_size is 0), so the
# per-CPU caches run in their fallback mode (per-CPU locks).
#
# Run by "make check" from the top build directory; valgrind missing: SKIP.

so=${BUDDYMALLOC_SO:-$(pwd)/.libs/libbuddymalloc.so}
builddir=${top_builddir:-.}
valgrind=${VALGRIND:-valgrind}
ours=--soname-synonyms=somalloc=nouserintercepts
n=0

if ! "$valgrind" --version >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind not found (Debian: valgrind)"
	exit 0
fi
case $so in
/*) ;;
*) so=$(pwd)/$so ;;
esac
if ! test -f "$so"; then
	echo "Bail out! $so not found (build the library first)"
	exit 99
fi

# memcheck PRELOAD NAME PROGRAM [VALGRIND-OPTIONS...]: run PROGRAM under
# memcheck (with LD_PRELOAD=$so if PRELOAD is "preload"); its TAP output
# and memcheck's messages become "# " lines. Sets out and rc; rc 97 means
# memcheck reported errors.
memcheck() {
	preload=$1 prog=$2
	shift 2
	if test "$preload" = preload; then
		out=$(LD_PRELOAD=$so "$valgrind" -q --error-exitcode=97 "$@" \
			"$prog" 2>&1)
	else
		out=$("$valgrind" -q --error-exitcode=97 "$@" "$prog" 2>&1)
	fi
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
}

# served PRELOAD NAME PROGRAM: every point passes under memcheck with our
# allocator, memcheck finds no error.
served() {
	memcheck "$1" "$3" "$ours"
	n=$((n + 1))
	if test $rc -eq 0 &&
	   printf '%s\n' "$out" | grep -q '^ok 1 - test_served_by_buddymalloc$' &&
	   ! printf '%s\n' "$out" | grep -q -e '^not ok' -e '^Bail out'; then
		echo "ok $n - $2 under memcheck $ours: served by libbuddymalloc, no error"
	else
		echo "not ok $n - $2 under memcheck $ours (exit status $rc; 97: memcheck errors)"
	fi
}

echo "1..5"
served preload "api/sizes (preloaded)" "$builddir/tests/api/preload/sizes.preload"
served preload "api/calloc (preloaded)" "$builddir/tests/api/preload/calloc.preload"
served preload "api/realloc (preloaded)" "$builddir/tests/api/preload/realloc.preload"
served linked "api/sizes (linked)" "$builddir/tests/api/sizes"

# The check itself: without the option memcheck's malloc serves the
# program, and test_served_by_buddymalloc must say so.
memcheck preload "$builddir/tests/api/preload/sizes.preload"
n=$((n + 1))
label="api/sizes (preloaded) under plain memcheck: seen as not served by libbuddymalloc"
if printf '%s\n' "$out" | grep -q '^not ok 1 - test_served_by_buddymalloc$' &&
   printf '%s\n' "$out" | grep -q '^ok 2 '; then
	echo "ok $n - $label"
else
	echo "not ok $n - $label"
fi
