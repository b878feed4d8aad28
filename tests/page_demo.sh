#!/bin/sh
# page_demo.sh - TAP test: the quick start's page-API demo runs cleanly, and
# after it frees everything, every zone in its last buddyinfo report is back
# to blocks of the largest order (only the last column is non-zero). It runs
# with reclaim_threads:0: a reclaim thread, once started, keeps a small
# block of the heap for as long as it lives (pthread_create callocs its TLS
# vector), so with one no zone is ever whole again.

top_builddir=${top_builddir:-.}
demo=$top_builddir/examples/page_demo
out=${TMPDIR:-/tmp}/page_demo.$$
trap 'rm -f "$out"' EXIT

echo 1..3
if ! test -x "$demo"; then
	echo "Bail out! $demo not built"
	exit 1
fi

BUDDYMALLOC_CONF=reclaim_threads:0 "$demo" >"$out" 2>&1
status=$?
if test $status -eq 0; then
	echo "ok 1 - page_demo exits with status 0"
else
	echo "not ok 1 - page_demo exits with status 0"
	echo "# exit status $status; output:"
	sed 's/^/# /' "$out"
fi

# The zone lines after the last "== buddyinfo after freeing everything ==".
final=$(awk '/^== buddyinfo after freeing everything ==/ { n = 0; delete z; seen = 1; next }
	     seen && /^Node / { z[++n] = $0 }
	     END { for (i = 1; i <= n; i++) print z[i] }' "$out")
if test -n "$final"; then
	echo "ok 2 - the final buddyinfo report lists zones"
else
	echo "not ok 2 - the final buddyinfo report lists zones"
fi

# "Node 0, zone   Normal  c0 c1 ... c10": fields 5..14 are orders 0..9.
# A line of another shape counts as wrong too.
split=$(printf '%s\n' "$final" | awk 'NF != 15 { print; next }
	{ for (i = 5; i <= 14; i++) if ($i != 0) { print; break } }')
if test -n "$final" && test -z "$split"; then
	echo "ok 3 - every zone is back to max-order blocks"
else
	echo "not ok 3 - every zone is back to max-order blocks"
	printf '%s\n' "$final" | sed 's/^/# /'
fi
