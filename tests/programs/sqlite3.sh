#!/bin/sh
# sqlite3.sh - TAP test: the sqlite3 shell runs an in-memory SQL workload
# (tests/programs/workload.sql: tables filled by recursive CTEs, indexes,
# joins, GROUP BY, window functions, deterministic output) with glibc's
# malloc and under libbuddymalloc. See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init sqlite3
need sqlite3 sqlite3

plan 3
run_both_stdin workload "$top_srcdir/tests/programs/workload.sql" \
	sqlite3 -batch -bail :memory:
check_both workload "sqlite3 workload.sql"
finish
