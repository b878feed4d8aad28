#!/bin/sh
# exports.sh - TAP test: libbuddymalloc.so exports exactly its public names.
#
# Allowed: buddymalloc_* and the names in tests/exports.allow (the malloc
# family, as later issues add it). Required: every function declared in
# include/buddymalloc.h and every name in tests/exports.allow, because a
# malloc-family name we fail to export would run glibc's code on our
# pointers. Run by "make check" (see tests/local.mk for the environment).

LC_ALL=C; export LC_ALL
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
NM=${NM:-nm}
so=$top_builddir/.libs/libbuddymalloc.so
allow=$top_srcdir/tests/exports.allow
header=$top_srcdir/include/buddymalloc.h

echo 1..4
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
