#!/bin/sh
# exports.sh - TAP test: libbuddymalloc.so exports exactly its public names.
#
# Allowed: buddymalloc_* and the names in tests/exports.allow (the malloc
# family, as later issues add it). Required: every function declared in
# include/buddymalloc.h and every name in tests/exports.allow, because a
# malloc-family name we fail to export would run glibc's code on our
# pointers. Run by "make check" (see tests/local.mk for the environment).
#
# Test-only code stays out of the library: no symbol of the full symbol
# table (nm, local ones included) is a test-only name. Test-only names are
# those declared between "#ifdef BUDDY_TEST_HOOKS" and its "#else" or
# "#endif" in the headers of core/, slab/ and preload/, and every function
# of core/check.c (the checker, built only into the test core).

LC_ALL=C; export LC_ALL
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
NM=${NM:-nm}
so=$top_builddir/.libs/libbuddymalloc.so
allow=$top_srcdir/tests/exports.allow
header=$top_srcdir/include/buddymalloc.h
checker=$top_srcdir/core/check.c

echo 1..6
if ! test -f "$so"; then
	echo "Bail out! $so not built"
	exit 1
fi

tmp=${TMPDIR:-/tmp}/exports.$$
trap 'rm -f "$tmp".*' EXIT
# Defined dynamic symbols, without version suffixes.
$NM -D --defined-only "$so" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp.exported"
sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$allow" | sort -u >"$tmp.allow"
grep -o 'buddymalloc_[a-z0-9_]*[[:space:]]*(' "$header" |
	sed 's/[[:space:]]*($//' | sort -u >"$tmp.declared"

n=0
# ok N - description, with the offending names as diagnostics when $2 is
# non-empty.
report() {
	n=$((n + 1))
	if test -z "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		printf '%s\n' "$2" | sed 's/^/# /'
	fi
}

if test -s "$tmp.exported"; then
	report "the library exports symbols" ""
else
	report "the library exports symbols" "nm -D found no defined symbols in $so"
fi

extra=$(grep -v '^buddymalloc_' "$tmp.exported" | comm -23 - "$tmp.allow")
report "only buddymalloc_* and tests/exports.allow are exported" "$extra"

missing=$(comm -23 "$tmp.declared" "$tmp.exported")
report "every function of include/buddymalloc.h is exported" "$missing"

missing=$(comm -23 "$tmp.allow" "$tmp.exported")
report "every name in tests/exports.allow is exported" "$missing"

# The test-only names: in each test block of a header, the name a
# declaration declares (a function's, a function pointer's, an extern
# variable's); comment lines skipped.
for h in "$top_srcdir"/core/*.h "$top_srcdir"/slab/*.h "$top_srcdir"/preload/*.h; do
	awk '
		/^#ifdef BUDDY_TEST_HOOKS/ { t = 1; next }
		/^#(else|endif)/ { t = 0; next }
		!t || /^[ \t]*(\/\*|\*)/ || /^#/ { next }
		match($0, /\(\*[A-Za-z_][A-Za-z0-9_]*\)/) {
			print substr($0, RSTART + 2, RLENGTH - 3); next }
		match($0, /[A-Za-z_][A-Za-z0-9_]*\(/) {
			print substr($0, RSTART, RLENGTH - 1); next }
		/^extern/ && match($0, /[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?;/) {
			n = substr($0, RSTART, RLENGTH); sub(/[[;].*/, "", n); print n }
	' "$h"
done >"$tmp.testonly"
# Every function core/check.c defines (the return type on the same line).
sed -n 's/^[a-z][a-z0-9_ ]*[ *]\([a-z_][a-z0-9_]*\)(.*[^;]$/\1/p' "$checker" \
	>>"$tmp.testonly"
sort -u -o "$tmp.testonly" "$tmp.testonly"
if grep -qx check_all_zones "$tmp.testonly" &&
   grep -qx cpu_cache_force_fallback "$tmp.testonly"; then
	report "the test-only names are found ($(wc -l <"$tmp.testonly") names)" ""
else
	report "the test-only names are found" "$(cat "$tmp.testonly")"
fi

# Every symbol of the library, local ones included.
$NM "$so" 2>/dev/null | awk 'NF >= 2 { sub(/@.*/, "", $NF); print $NF }' |
	sort -u >"$tmp.all"
if ! test -s "$tmp.all"; then
	echo "ok 6 # SKIP $so has no symbol table (stripped)"
else
	shipped=$(comm -12 "$tmp.testonly" "$tmp.all")
	report "no test-only symbol is in the library (nm)" "$shipped"
fi
