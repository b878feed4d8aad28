#!/bin/sh
# inspect_tree.sh - buddymalloc_stats_print's layouts and JSON, and the
# mallctl name tree against doc/man/inspection.roff, checked by
# tests/api/inspect_tree.py inside a python3 that runs on the preloaded
# library (it checks that its malloc is ours). Skipped without python3.

so=${BUDDYMALLOC_SO:-${top_builddir:-.}/.libs/libbuddymalloc.so}
srcdir=${srcdir:-.}
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not installed"
	exit 0
fi
case $so in
/*) ;;
*) so=$(pwd)/$so ;;
esac
LD_PRELOAD=$so${LD_PRELOAD:+:$LD_PRELOAD} exec python3 \
	"$srcdir/tests/api/inspect_tree.py" "$so" \
	"$srcdir/doc/man/inspection.roff"
