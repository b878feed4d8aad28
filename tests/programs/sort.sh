#!/bin/sh
# sort.sh - TAP test: GNU sort orders a generated 10 MB file (400,000
# lines) by several keys, single-threaded and with --parallel=2, with
# glibc's malloc and under libbuddymalloc; outputs must be identical.
# See lib.sh.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init sort
need sort coreutils
need awk gawk

# The input, made once (not under test): words, numbers, mixed case.
awk 'BEGIN {
	x = 12345
	for (i = 0; i < 400000; i++) {
		x = (x * 1103515245 + 12345) % 2147483648
		w = ""
		for (j = 0; j < 3 + x % 9; j++)
			w = w substr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", 1 + (x / (j + 1)) % 36, 1)
		printf "%s %d %s %.3f\n", w, x % 100000, (i % 7 ? "x" : "Y"), (x % 977) / 7
	}
}' >"$work/input.txt" || bail "cannot make the input"

plan 6
run_both keys sort -k2,2n -k1,1 -k4,4gr "$work/input.txt"
check_both keys "sort -k2,2n -k1,1 -k4,4gr (10 MB)"
run_both parallel sort --parallel=2 -S 4M -f -u "$work/input.txt"
check_both parallel "sort --parallel=2 -S 4M -f -u (10 MB, temp files)"
finish
