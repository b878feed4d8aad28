#!/bin/sh
# bench_checksums.sh - bench/run flags a workload or program whose checksum
# differs from glibc's (tests/bench_checksums.py; TAP).
exec python3 "${top_srcdir:-.}/tests/bench_checksums.py"
