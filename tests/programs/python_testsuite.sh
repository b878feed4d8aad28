#!/bin/sh
# python_testsuite.sh - TAP test: modules of CPython's own test suite
# (Debian's libpython3.11-testsuite) with PYTHONMALLOC=malloc, under glibc
# and under libbuddymalloc. Compared: which tests passed, failed or were
# skipped, not the timings. See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init python_testsuite

# About 10 s each run; pure computation, no network, no timing-dependent
# assertions.
need_regrtest test_dict test_list test_set test_unicode test_re test_json \
	test_bytes test_itertools test_deque test_collections test_functools \
	test_heapq test_sort

# "python3 -m test MODULES", except that the interpreter first drops
# BUDDYMALLOC_CONF from its environment: the report at exit is wanted from
# this process only, not from the interpreters some tests start (test_json
# runs "python -m json.tool" and expects its stderr empty). They still run
# under the library: LD_PRELOAD is inherited.
regrtest='import os, runpy, sys
os.environ.pop("BUDDYMALLOC_CONF", None)
sys.argv[0] = "test"
runpy.run_module("test", run_name="__main__", alter_sys=True)'

run_regrtest "$regrtest" "python3 -m test (13 modules, PYTHONMALLOC=malloc)"
