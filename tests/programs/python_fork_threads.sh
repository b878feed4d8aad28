#!/bin/sh
# python_fork_threads.sh - TAP test: CPython's test_fork1 and
# test_threading (Debian's libpython3.11-testsuite) with
# PYTHONMALLOC=malloc, under glibc and under libbuddymalloc, while the
# reclaim thread works: under the library the interpreter first sets
# opt.decay_ms to 10 (buddymalloc_mallctl through ctypes), so that the
# thread "buddy-kswapd0" releases what the tests free while they fork and
# start threads. Compared: which tests passed, failed or were skipped.
# See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init python_fork_threads

need_regrtest test_fork1 test_threading

# As python_testsuite.sh: drop BUDDYMALLOC_CONF for the interpreters the
# tests start; with the library present, decay_ms 10.
regrtest='import ctypes, os, runpy, sys
os.environ.pop("BUDDYMALLOC_CONF", None)
ctl = getattr(ctypes.CDLL(None), "buddymalloc_mallctl", None)
if ctl is not None:
    ms = ctypes.c_uint(10)
    assert ctl(b"opt.decay_ms", None, None, ctypes.byref(ms),
               ctypes.c_size_t(ctypes.sizeof(ms))) == 0
sys.argv[0] = "test"
runpy.run_module("test", run_name="__main__", alter_sys=True)'

run_regrtest "$regrtest" "python3 -m test test_fork1 test_threading (PYTHONMALLOC=malloc, decay_ms 10)"
