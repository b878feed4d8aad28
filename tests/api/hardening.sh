#!/bin/sh
# hardening.sh - the API tests under the debugging levels of the hardening
# setting: every tests/api program, preloaded, and the threaded
# stress/threads and stress/thread_exit, each run with
# BUDDYMALLOC_CONF=hardening:junk, hardening:redzone and hardening:guard
# (junk fills freed objects and checks them when they are handed out
# again; redzone adds a checked redzone after each small object, whose
# usable size is then the size asked for; guard puts every block above the
# slab classes and every direct mapping between PROT_NONE pages, in
# core/huge.c). A level must change no answer the API gives beyond that:
# alignments, sizes, errno, the misuse reports. Not under guard:
# api/limit and api/numa_fake, which assert that 1 MiB blocks live in the
# zones (the budget's fill order, the per-node reports), where guard by
# design takes them out to mappings of their own. Under guard also
# stress/fork, and unit/os_fault, whose mprotect then fails every Nth
# call too (its malloc is the library's sources, linked). Tests
# that set their own BUDDYMALLOC_CONF add it to this one
# (api_conf_require). One TAP line per program and level; the program's
# own output follows as "# " lines.
#
# Run by "make check" from the top build directory.

so=${BUDDYMALLOC_SO:-$(pwd)/.libs/libbuddymalloc.so}
programs="sizes align calloc overflow realloc introspect symbols alloc_fail
malloc_stats limit numa_fake misuse"
stress="threads thread_exit"
levels="junk redzone guard"
n=0

. "$(dirname "$0")/../include/tap_run.sh"

set -- $programs $stress
echo "1..$(($# * 3 - 2 + 2))"
for level in $levels; do
	conf="hardening:$level${BUDDYMALLOC_CONF:+,$BUDDYMALLOC_CONF}"
	for p in $programs; do
		case $level:$p in guard:limit|guard:numa_fake) continue ;; esac
		run "api/$p under hardening:$level" env BUDDYMALLOC_CONF="$conf" \
			LD_PRELOAD="$so" tests/api/preload/$p.preload
	done
	for p in $stress; do
		run "stress/$p under hardening:$level" env BUDDYMALLOC_CONF="$conf" \
			LD_PRELOAD="$so" tests/stress/preload/$p.preload
	done
done
run "stress/fork under hardening:guard" env BUDDYMALLOC_CONF=hardening:guard \
	LD_PRELOAD="$so" tests/stress/preload/fork.preload
run "unit/os_fault under hardening:guard" env BUDDYMALLOC_CONF=hardening:guard \
	tests/unit/os_fault
