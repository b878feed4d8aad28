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
# With valgrind's client requests built in (preload/valgrind.h; configure
# found <valgrind/memcheck.h>), memcheck sees our blocks:
#   6-8  tests/valgrind/misuse, preloaded, with the option: memcheck
#        reports its heap overflow (a byte just past a 40-byte block) and
#        its use after free (a 64-byte block), each with the stacks of the
#        block's allocation in our library, and the process was served by
#        libbuddymalloc (its exit report, stats_print:true, shows heap);
#   9    python3 -c with PYTHONMALLOC=malloc (every object through malloc),
#        preloaded, with the option: the right output, memcheck reports no
#        error, and python3 was served by libbuddymalloc.
# Without the client requests 6-9 are SKIP.
# Under valgrind glibc registers no rseq area (__rseq_size is 0), so the
# per-CPU caches run in their fallback mode (per-CPU locks); with the
# client requests built in, under memcheck they are off (valgrind.h).
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

echo "1..9"
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

# served_exe OUT EXE: OUT holds an exit report (preload/stats.c) of
# executable EXE with heap memory resident: that process was ours.
served_exe() {
	printf '%s\n' "$1" | awk -v exe="$2" '
		/^buddymalloc \(pid [0-9]+, exe / {
			e = $0; sub(/^buddymalloc \(pid [0-9]+, exe /, "", e)
			sub(/\):$/, "", e); mine = (e == exe); next }
		mine && $1 == "resident" && $4 > 0 { found = 1 }
		END { exit !found }'
}

skip_requests() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP no valgrind client requests in this build (Debian: valgrind, then configure)"
}

misuse=$builddir/tests/valgrind/misuse
if test "${BUDDY_VALGRIND_REQUESTS:-no}" != yes; then
	skip_requests "misuse: heap overflow reported"
	skip_requests "misuse: use after free reported"
	skip_requests "misuse: served by libbuddymalloc"
	skip_requests "python3 clean under memcheck"
	exit 0
fi

BUDDYMALLOC_CONF=stats_print:true
export BUDDYMALLOC_CONF
memcheck preload "$misuse" "$ours"
n=$((n + 1))
if test $rc -eq 97 &&
   printf '%s\n' "$out" | grep -q 'Invalid write of size 1' &&
   printf '%s\n' "$out" | grep -q 'is 0 bytes after a block of size 40 alloc.d' &&
   printf '%s\n' "$out" | grep -A2 'block of size 40 alloc.d' | grep -q 'valgrind_malloc'; then
	echo "ok $n - misuse: memcheck reports the heap overflow past a block of ours"
else
	echo "not ok $n - misuse: memcheck reports the heap overflow past a block of ours (exit status $rc)"
fi
n=$((n + 1))
if printf '%s\n' "$out" | grep -q 'is 8 bytes inside a block of size 64 free.d' &&
   test "$(printf '%s\n' "$out" | grep -c 'is 8 bytes inside a block of size 64 free.d')" -ge 2 &&
   printf '%s\n' "$out" | grep -q 'Invalid read of size 1'; then
	echo "ok $n - misuse: memcheck reports the use after free (write and read) of a block of ours"
else
	echo "not ok $n - misuse: memcheck reports the use after free (write and read) of a block of ours"
fi
n=$((n + 1))
misuse_exe=$(cd "$(dirname "$misuse")" && pwd -P)/$(basename "$misuse")
if served_exe "$out" "$misuse_exe"; then
	echo "ok $n - misuse: served by libbuddymalloc under memcheck"
else
	echo "not ok $n - misuse: served by libbuddymalloc under memcheck"
fi

# A real program: python3 (Debian's, not a shim on PATH), every object
# through malloc, a short script that builds, resizes and frees.
python=/usr/bin/python3
n=$((n + 1))
if ! test -x "$python"; then
	echo "ok $n - python3 clean under memcheck # SKIP $python not found"
	exit 0
fi
PYTHONMALLOC=malloc
export PYTHONMALLOC
script='
import json, collections
d = {str(i): [i] * (i % 7) for i in range(3000)}
s = json.dumps(d)
e = json.loads(s)
b = bytearray()
for i in range(2000):
    b += bytes(i % 50)
print(len(s), len(e), len(collections.Counter(s)), len(b))
'
out=$(LD_PRELOAD=$so "$valgrind" -q --error-exitcode=97 "$ours" \
	"$python" -c "$script" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
python_exe=$(readlink -f "$python")
if test $rc -eq 0 &&
   printf '%s\n' "$out" | grep -q '^80396 3000 18 49000$' &&
   served_exe "$out" "$python_exe"; then
	echo "ok $n - python3 (PYTHONMALLOC=malloc) under memcheck $ours: right output, no error, served by libbuddymalloc"
else
	echo "not ok $n - python3 (PYTHONMALLOC=malloc) under memcheck $ours (exit status $rc; 97: memcheck errors)"
fi
