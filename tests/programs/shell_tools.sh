#!/bin/sh
# shell_tools.sh - TAP test: the everyday tools, each on a few megabytes,
# with glibc's malloc and under libbuddymalloc: awk (word counts in
# associative arrays), sed (regex substitutions, hold space), a tar + gzip
# round trip, find and ls -lR over /usr/include. See lib.sh.
#
# GNU tar, find and ls close stderr at exit (gnulib's close_stdout), so
# their "served by libbuddymalloc" point needs the allocator to write its
# exit report to a descriptor it saved at start-up. gzip, which tar runs,
# allocates nothing with malloc (static buffers), so only tar is expected.

. "${top_srcdir:-.}/tests/programs/lib.sh"
prog_init shell_tools
awk=$(command -v gawk || command -v awk) || skip_all "no awk (Debian: gawk)"
need sed sed
need tar tar
need gzip gzip
need find findutils
need ls coreutils
test -d /usr/include/linux || skip_all "no /usr/include/linux (Debian: linux-libc-dev)"

# A text of 300,000 lines, made once (not under test).
"$awk" 'BEGIN {
	x = 1
	for (i = 0; i < 300000; i++) {
		x = (x * 69069 + 1) % 4294967296
		printf "%s %d %s\n", substr("lorem ipsum dolor sit amet consectetur adipiscing elit sed do", 1 + x % 40, 4 + x % 13), x % 1000, (i % 5 ? "keep" : "drop")
	}
}' >"$work/text.txt" || bail "cannot make the input"

plan 18

# shellcheck disable=SC2016
run_both awk "$awk" '
	{ for (i = 1; i <= NF; i++) count[$i]++; total += $2; lines[NR % 1000] = $0 }
	END {
		n = 0
		for (w in count) { n++; if (count[w] > max) { max = count[w]; best = w } }
		print NR, total, n, best, max, lines[0], lines[999]
	}' "$work/text.txt"
check_both awk "awk word counts (300k lines)"

run_both sed sed -e '/drop$/d' -e 's/\([a-z]*\) \([0-9]*\)/\2:\1/' \
	-e 'y/abcdef/ABCDEF/' -e '/^1[0-9]*:/{h;s/$/ (held)/;G}' "$work/text.txt"
check_both sed "sed substitutions and hold space (300k lines)"

# A tar + gzip round trip, each half one tar process (tar runs gzip): the
# archive (sorted names, gzip -n: the same bytes every time) is the
# output of the first half; the second compares it with the file system.
run_both tar_c tar --sort=name --use-compress-program='gzip -n' \
	-cf - -C /usr/include linux
check_both tar_c "tar -cz of /usr/include/linux"

run_both tar_d tar --compare -vz -f "$work/tar_c.glibc.out" -C /usr/include
check_both tar_d "tar --compare -z of that archive with /usr/include"

run_both find find /usr/include -name '*.h' -size +2k -printf '%s %p\n'
check_both find "find /usr/include -name '*.h' -size +2k"

run_both ls ls -lR --time-style=+%s /usr/include
check_both ls "ls -lR /usr/include"
finish
