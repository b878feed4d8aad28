#!/bin/sh
# generated.sh - TAP test: the generated automake fragments are current.
# tests/api/tests.mk must be exactly what scripts/gen-api-tests makes of
# tests/api/tests.list (run the script after editing the list).
#
# Run by "make check" with top_srcdir set.

top=${top_srcdir:-.}
tmp=${TMPDIR:-/tmp}/generated.$$
trap 'rm -f "$tmp"' EXIT
echo "1..1"
if sh "$top/scripts/gen-api-tests" "$top" >"$tmp" &&
   cmp -s "$tmp" "$top/tests/api/tests.mk"; then
	echo "ok 1 - tests/api/tests.mk is generated from tests/api/tests.list"
else
	echo "not ok 1 - tests/api/tests.mk is generated from tests/api/tests.list"
	echo "# run: scripts/gen-api-tests >tests/api/tests.mk"
	diff "$top/tests/api/tests.mk" "$tmp" | sed 's/^/# /' | head -40
fi
