#!/bin/sh
# gcc.sh - TAP test: gcc compiles the project's own core/page_alloc.c with
# -O2, to assembly (gcc and cc1) and to an object file (gcc, cc1 and as),
# with glibc's malloc and under libbuddymalloc; the assembly and the object
# file must be identical. See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init gcc
need gcc gcc
src=$top_srcdir/core/page_alloc.c
test -f "$src" || bail "$src not found"

# No -g: debug info records the working directory, which differs per run.
# The build directory for config.h (core/internal.h includes it).
builddir=$(cd "$top_builddir" && pwd)
flags="-std=gnu11 -O2 -fno-strict-aliasing -D_GNU_SOURCE -I$builddir -I$top_srcdir/include -I$top_srcdir/core"

# The driver runs the compiler proper (cc1), which does the work and most
# of the allocation, and the assembler: each process must be served, not
# just the driver.
cc1=$(gcc -print-prog-name=cc1)
as=$(gcc -print-prog-name=as)

plan 6
# shellcheck disable=SC2086
run_both asm gcc $flags -S -o - "$src"
expect_served asm gcc "$cc1"
check_both asm "gcc -O2 -S core/page_alloc.c"

# The object file's bytes, as a checksum on stdout.
# shellcheck disable=SC2086
run_both obj sh -c 'gcc "$@" -c -o page_alloc.o && cksum <page_alloc.o' gcc $flags "$src"
expect_served obj gcc "$cc1" "$as"
check_both obj "gcc -O2 -c core/page_alloc.c"
finish
