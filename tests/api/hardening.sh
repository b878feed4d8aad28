#!/bin/sh
# hardening.sh - the API tests under the debugging levels of the hardening
# setting: every tests/api program, preloaded, and the threaded
# stress/threads and stress/thread_exit, each run with
# BUDDYMALLOC_CONF=hardening:junk and again with hardening:redzone (junk
# fills freed objects and checks them when they are handed out again;
# redzone adds a checked redzone after each small object, whose usable
# size is then the size asked for). A level must change no answer the API
# gives beyond that: alignments, sizes, errno, the misuse reports. Tests
# that set their own BUDDYMALLOC_CONF add it to this one
# (api_conf_require). One TAP line per program and level; the program's
# own output follows as "# " lines.
#
# Run by "make check" from the top build directory.

so=${BUDDYMALLOC_SO:-$(pwd)/.libs/libbuddymalloc.so}
programs="sizes align calloc overflow realloc introspect symbols alloc_fail
malloc_stats limit numa_fake misuse"
stress="threads thread_exit"
levels="junk redzone"
n=0

run() {
	name=$1
	shift
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	if test $rc -eq 0 &&
	   ! printf '%s\n' "$out" | grep -q -e '^not ok' -e '^Bail out'; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (exit status $rc)"
	fi
}

set -- $programs $stress
echo "1..$(($# * 2))"
for level in $levels; do
	conf="hardening:$level${BUDDYMALLOC_CONF:+,$BUDDYMALLOC_CONF}"
	for p in $programs; do
		run "api/$p under hardening:$level" env BUDDYMALLOC_CONF="$conf" \
			LD_PRELOAD="$so" tests/api/preload/$p.preload
	done
	for p in $stress; do
		run "stress/$p under hardening:$level" env BUDDYMALLOC_CONF="$conf" \
			LD_PRELOAD="$so" tests/stress/preload/$p.preload
	done
done
