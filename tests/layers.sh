#!/bin/sh
# layers.sh - each layer reaches the one below through its public header
# only (DESIGN.md, "Layer boundaries"): slab/ and preload/ include
# core/page_alloc.h, never core/internal.h, which is core/'s own; and
# nothing above core/ takes a zone lock or walks the zones itself. Only
# core/os.c makes system calls: every other file of core/, slab/ and
# preload/ goes through its os_* functions (page_alloc.h, internal.h).
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

echo "1..3"
check "slab/ and preload/ do not include core/internal.h" \
	'^#[[:space:]]*include[[:space:]]*"internal\.h"'
check "slab/ and preload/ take no zone lock and walk no zone" \
	'zone_lock|zone_unlock|for_each_zone|NODE_DATA|->free_area'

# The system calls (and libc's thin wrappers of them) that only os.c may
# make, as calls: "name(" not preceded by a letter, digit, "_", "." or
# "->" (so os_read( and s->write( do not count), comments removed first.
SYSCALLS='syscall|mmap|munmap|madvise|mremap|mprotect|mbind|set_mempolicy'
SYSCALLS="$SYSCALLS|open|openat|read|pread|write|writev|close|dup|dup2|fcntl"
SYSCALLS="$SYSCALLS|readlink|stat|fstat|lstat|getauxval|sysconf|getpid|gettid"
SYSCALLS="$SYSCALLS|sched_getcpu|sched_yield|sched_setaffinity|clock_gettime"
SYSCALLS="$SYSCALLS|nanosleep|pthread_sigmask|sigprocmask|kill|raise|abort"
SYSCALLS="$SYSCALLS|_exit|membarrier|prctl|ioctl|getrlimit|pthread_create"
n=$((n + 1))
hits=$(for f in "$top"/core/*.[ch] "$top"/slab/*.[ch] "$top"/preload/*.[ch]; do
	case $f in */core/os.c) continue ;; esac
	# Comments out, line numbers kept: /* ... */ on one line, the
	# opening line of a block comment, its " * " lines, // comments.
	sed -e 's|/\*.*\*/||g' -e 's|/\*.*||' -e 's|^[[:space:]]*\*.*||' \
	    -e 's|//.*||' "$f" |
		grep -n -E "(^|[^A-Za-z0-9_.>])($SYSCALLS)[[:space:]]*\(" |
		sed "s|^|$f:|"
done)
if [ -z "$hits" ]; then
	echo "ok $n - only core/os.c makes system calls"
else
	echo "not ok $n - only core/os.c makes system calls"
	printf '%s\n' "$hits" | sed 's/^/# /'
fi
