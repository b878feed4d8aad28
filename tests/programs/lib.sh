# lib.sh - what the real-program tests (tests/programs/*.sh) share; sourced,
# not run. POSIX sh.
#
# A real-program test runs a workload twice: with glibc's malloc, then with
# libbuddymalloc.so preloaded and BUDDYMALLOC_CONF=stats_print:true. For
# each workload it reports three TAP points:
#
#   1. NAME: runs with glibc's malloc    the workload itself works (exit 0);
#   2. NAME: same under libbuddymalloc   same exit status, identical stdout;
#   3. NAME: served by libbuddymalloc    the preloaded run's stderr holds
#                                        an exit report of the program that
#                                        matters, by its executable, with
#                                        heap memory onlined: our allocator
#                                        served that very process.
#
# Point 3 names processes, because a workload is a tree of them and any one
# may have been served while the one under test was not (a wrapper script
# that drops LD_PRELOAD, a shell around the program): the report's first
# line is "buddymalloc (pid N, exe /path/of/executable):" (preload/stats.c),
# and the point passes only if, for each program expected, a report of
# that executable shows "resident bytes" above 0. The program expected is the
# command given to run_both, resolved on PATH with symbolic links followed,
# unless the script names others (the compiler proper behind the gcc
# driver, git behind the workload's shell):
#
#	run_both obj sh -c 'gcc -c ...'
#	expect_served obj gcc "$(gcc -print-prog-name=cc1)" as
#	check_both obj
#
# A program on PATH that is a script reports as its interpreter (the
# kernel's /proc/self/exe), so naming a script fails the point, as it
# should: its interpreter is not the program under test.
#
# A script looks like this:
#
#	. "${top_srcdir:-.}/tests/programs/lib.sh"
#	prog_init sqlite3		# fixed environment, scratch dir $work
#	need sqlite3			# 1..0 # SKIP when it is missing
#	plan 3				# 3 TAP points per workload
#	run_both_stdin sql "$top_srcdir/tests/programs/workload.sql" \
#		sqlite3 -bail :memory:
#	check_both sql
#	finish
#
# run_both NAME COMMAND [ARGS...] runs COMMAND in a fresh directory for each
# run ($work/NAME.glibc, $work/NAME.buddy), stdin from /dev/null (or from a
# file: run_both_stdin NAME FILE COMMAND...), and keeps
# NAME.{glibc,buddy}.{out,err,status} in $work. Before comparing,
# check_both passes both stdouts through the shell function filter_output
# if the script defines one (to drop timings, say).
#
# The environment is made deterministic: LC_ALL=C, TZ=UTC, HOME in $work,
# fixed hash seeds for Python and Perl, no user or system git config, no
# glibc malloc tunables. Every run is limited to BUDDY_PROGRAM_TIMEOUT
# seconds (default 300) by timeout(1), a hang guard only: these runs take
# seconds.
#
# Environment from "make check" (tests/local.mk): top_srcdir, top_builddir,
# BUDDYMALLOC_SO (the library to preload).

LC_ALL=C
TZ=UTC
export LC_ALL TZ
unset LANG LANGUAGE MALLOC_CHECK_ MALLOC_PERTURB_ MALLOC_ARENA_MAX GLIBC_TUNABLES
unset LD_PRELOAD BUDDYMALLOC_CONF

top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}

tap_n=0
tap_planned=0

# plan N: the number of TAP points this script will report.
plan() {
	tap_planned=$1
	echo "1..$1"
}

# skip_all REASON: the whole script is skipped.
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# bail REASON: the test cannot run at all (counts as an error).
bail() {
	echo "Bail out! $*"
	exit 99
}

# ok DESCRIPTION / not_ok DESCRIPTION [DIAGNOSTIC-FILE...]
ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	echo "not ok $tap_n - $1"
	shift
	for f in "$@"; do
		test -s "$f" && sed 's/^/# /' "$f"
	done
	return 0
}

# diag TEXT: a diagnostic line.
diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# need COMMAND [DEBIAN-PACKAGE]: skip the whole script without COMMAND.
need() {
	command -v "$1" >/dev/null 2>&1 ||
		skip_all "$1 not found${2:+ (Debian: $2)}"
}

# need_python: the interpreter in $python ($PYTHON, else /usr/bin/python3,
# else python3 on PATH); skips the test without one.
need_python() {
	python=${PYTHON:-}
	if test -z "$python"; then
		python=/usr/bin/python3
		test -x "$python" || python=python3
	fi
	need "$python" python3
}

# CPython's own test suite (Debian's libpython3.11-testsuite) as a
# workload. need_regrtest MODULES...: the interpreter (need_python) and
# those modules of the suite, else the test is skipped. run_regrtest CODE
# DESCRIPTION: 3 TAP points, "$python -c CODE MODULES" (CODE ends by
# running the suite's module "test") with PYTHONMALLOC=malloc under both
# allocators, the verdicts compared: regrtest's progress lines carry times
# and load averages, so only "All N tests OK.", "Tests result: ...", the
# counts and the names of failed or skipped tests are kept.
need_regrtest() {
	need_python
	regrtest_modules="$*"
	imports=test.libregrtest
	for m in $regrtest_modules; do
		imports="$imports, test.$m"
	done
	"$python" -c "import $imports" >/dev/null 2>&1 ||
		skip_all "CPython's test suite is not installed (Debian: libpython3.11-testsuite)"
}

filter_regrtest() {
	grep -E '^(== )?Tests result|^All [0-9]+ tests OK|^[0-9]+ tests? (OK|failed|skipped|altered|omitted|run no tests)|^    test_' || :
}

run_regrtest() {
	plan 3
	PYTHONMALLOC=malloc
	export PYTHONMALLOC
	filter_output() { filter_regrtest; }
	# shellcheck disable=SC2086
	run_both regrtest "$python" -c "$1" $regrtest_modules
	check_both regrtest "$2"
	finish
}

# prog_init NAME: scratch directory $work (removed at exit), the library
# in $so, a clean HOME.
prog_init() {
	so=${BUDDYMALLOC_SO:-$top_builddir/.libs/libbuddymalloc.so}
	case $so in
	/*) ;;
	*) so=$(pwd)/$so ;;
	esac
	test -f "$so" || bail "$so not found (build the library first)"
	case $top_srcdir in
	/*) ;;
	*) top_srcdir=$(cd "$top_srcdir" && pwd) ;;
	esac

	work=$(mktemp -d "${TMPDIR:-/tmp}/buddy-$1.XXXXXX") ||
		bail "mktemp failed"
	trap 'rm -rf "$work"' EXIT
	trap 'exit 1' HUP INT TERM

	HOME=$work/home
	mkdir -p "$HOME"
	export HOME
	PYTHONHASHSEED=0
	PYTHONDONTWRITEBYTECODE=1
	PERL_HASH_SEED=0
	PERL_PERTURB_KEYS=0
	GIT_CONFIG_NOSYSTEM=1
	export PYTHONHASHSEED PYTHONDONTWRITEBYTECODE PERL_HASH_SEED \
		PERL_PERTURB_KEYS GIT_CONFIG_NOSYSTEM

	timeout_cmd=
	if command -v timeout >/dev/null 2>&1; then
		timeout_cmd="timeout -k 10 ${BUDDY_PROGRAM_TIMEOUT:-300}"
	fi
}

# run_one NAME KIND COMMAND...: one run, KIND glibc or buddy.
run_one() {
	name=$1 kind=$2
	shift 2
	dir=$work/$name.$kind
	rm -rf "$dir"
	mkdir -p "$dir"
	start=$(date +%s)
	if test "$kind" = buddy; then
		(cd "$dir" && exec $timeout_cmd env LD_PRELOAD="$so" \
			BUDDYMALLOC_CONF=stats_print:true "$@") \
			<"$work/$name.stdin" >"$work/$name.$kind.out" \
			2>"$work/$name.$kind.err"
	else
		(cd "$dir" && exec $timeout_cmd "$@") \
			<"$work/$name.stdin" >"$work/$name.$kind.out" \
			2>"$work/$name.$kind.err"
	fi
	echo $? >"$work/$name.$kind.status"
	echo $(($(date +%s) - start)) >"$work/$name.$kind.seconds"
}

# run_both NAME COMMAND [ARGS...]: the two runs, glibc's first, with
# stdin from /dev/null. COMMAND is the program expected to be served.
run_both() {
	name=$1
	shift
	: >"$work/$name.stdin"
	expect_served "$name" "$1"
	run_one "$name" glibc "$@"
	run_one "$name" buddy "$@"
}

# run_both_stdin NAME FILE COMMAND [ARGS...]: the same, stdin from FILE.
run_both_stdin() {
	name=$1
	cp "$2" "$work/$name.stdin" || bail "cannot read $2"
	shift 2
	expect_served "$name" "$1"
	run_one "$name" glibc "$@"
	run_one "$name" buddy "$@"
}

# exe_of PROGRAM: the executable a process running PROGRAM (a path, or a
# name looked up on PATH) reports as /proc/self/exe.
exe_of() {
	case $1 in
	*/*) p=$1 ;;
	*) p=$(command -v "$1") ;;
	esac
	case $p in
	/*) readlink -f "$p" ;;
	*) ;;	# a shell builtin, a function or not found: no executable
	esac
}

# expect_served NAME PROGRAM...: the programs whose processes must each
# have been served in workload NAME (point 3 of check_both).
expect_served() {
	name=$1
	shift
	: >"$work/$name.exes"
	for prog in "$@"; do
		exe=$(exe_of "$prog")
		test -n "$exe" || bail "$prog: no executable on PATH"
		echo "$exe" >>"$work/$name.exes"
	done
}

# served_by FILE EXE: does FILE (stderr of a preloaded run) hold an exit
# report of a process running EXE whose heap was used ("resident bytes"
# above 0 on the line after its header)? The two lines are written
# together (the summary is one write), so other processes' reports
# cannot come between them.
served_by() {
	awk -v exe="$2" '
		want && /^resident bytes +=/ {
			if ($4 + 0 > 0)
				found = 1
		}
		{ want = 0 }
		/^buddymalloc \(pid [0-9]+, exe .*\):$/ {
			e = $0
			sub(/^buddymalloc \(pid [0-9]+, exe /, "", e)
			sub(/\):$/, "", e)
			want = e == exe
		}
		END { exit !found }' "$1"
}

# reporters FILE: the executables that wrote an exit report to FILE, with
# how many reports each.
reporters() {
	sed -n 's/^buddymalloc (pid [0-9]*, exe \(.*\)):$/\1/p' "$1" |
		sort | uniq -c
}

# check_both NAME [LABEL]: the three TAP points for one workload.
check_both() {
	name=$1
	label=${2:-$1}
	g=$work/$name.glibc b=$work/$name.buddy
	gs=$(cat "$g.status") bs=$(cat "$b.status")

	if command -v filter_output >/dev/null 2>&1; then
		filter_output <"$g.out" >"$g.cmp"
		filter_output <"$b.out" >"$b.cmp"
	else
		cp "$g.out" "$g.cmp"
		cp "$b.out" "$b.cmp"
	fi

	if test "$gs" -eq 0; then
		ok "$label: runs with glibc's malloc ($(cat "$g.seconds") s)"
	else
		tail -n 20 "$g.err" >"$work/diag"
		not_ok "$label: runs with glibc's malloc (exit status $gs; 124 is a timeout)" \
			"$work/diag"
	fi

	if test "$gs" = "$bs" && cmp -s "$g.cmp" "$b.cmp"; then
		ok "$label: same output under libbuddymalloc ($(cat "$b.seconds") s)"
	else
		{
			echo "exit status $gs with glibc, $bs with libbuddymalloc"
			echo "stdout, glibc (-) vs libbuddymalloc (+):"
			diff -u "$g.cmp" "$b.cmp" | head -n 40
			echo "stderr under libbuddymalloc (end):"
			tail -n 20 "$b.err"
		} >"$work/diag"
		not_ok "$label: same output under libbuddymalloc" "$work/diag"
	fi

	missing=
	while read -r exe; do
		served_by "$b.err" "$exe" || missing="$missing $exe"
	done <"$work/$name.exes"
	served=$(sed 's|.*/||' "$work/$name.exes" | tr '\n' ' ')
	if test -z "$missing"; then
		ok "$label: served by libbuddymalloc (exit report of ${served% })"
	else
		{
			echo "no exit report with heap memory from:$missing"
			echo "exit reports on stderr, by executable:"
			reporters "$b.err"
		} >"$work/diag"
		not_ok "$label: served by libbuddymalloc (exit report of ${served% })" \
			"$work/diag"
	fi
}

# finish: exit status 1 if any point failed or the plan was not met.
finish() {
	if test "$tap_n" -ne "$tap_planned"; then
		echo "# planned $tap_planned tests, ran $tap_n"
		exit 1
	fi
	exit 0
}
