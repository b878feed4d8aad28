#!/bin/sh
# python.sh - TAP test: python3 runs tests/programs/alloc_heavy.py (an
# allocation-heavy, deterministic script) with PYTHONMALLOC=malloc, so that
# every object goes through malloc rather than pymalloc's arenas; the
# output under libbuddymalloc must match glibc's. See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init python

# Debian's interpreter first (a pyenv shim on PATH is a shell script).
need_python

plan 3
PYTHONMALLOC=malloc
export PYTHONMALLOC
run_both alloc_heavy "$python" "$top_srcdir/tests/programs/alloc_heavy.py"
check_both alloc_heavy "python3 alloc_heavy.py (PYTHONMALLOC=malloc)"
finish
