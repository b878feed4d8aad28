#!/bin/sh
# layers.sh - each layer reaches the one below through its public header
# only (DESIGN.md, "Layer boundaries"): slab/ and preload/ include
# core/page_alloc.h, never core/internal.h, which is core/'s own; and
# nothing above core/ takes a zone lock or walks the zones itself.
#
# Run by "make check" with top_srcdir set. One TAP line per rule.

top=${top_srcdir:-.}
n=0

check() {
	name=$1
	pattern=$2
	n=$((n + 1))
	hits=$(grep -n -E "$pattern" "$top"/slab/*.[ch] "$top"/preload/*.[ch] 2>/dev/null)
	if [ -z "$hits" ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		printf '%s\n' "$hits" | sed 's/^/# /'
	fi
}

echo "1..2"
check "slab/ and preload/ do not include core/internal.h" \
	'^#[[:space:]]*include[[:space:]]*"internal\.h"'
check "slab/ and preload/ take no zone lock and walk no zone" \
	'zone_lock|zone_unlock|for_each_zone|NODE_DATA|->free_area'
