# tap_run.sh - sourced by script tests that run other test programs: one
# TAP line per program. run NAME COMMAND [ARGUMENTS...] runs the command,
# echoes its output as "# " lines, and prints "ok N - NAME" when it exited
# 0 and printed no "not ok" and no "Bail out", else "not ok N - NAME".
# The caller sets n=0 and prints the plan.

run() {
	name=$1
	shift
	n=$((n + 1))
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	if test $rc -eq 0 &&
	   ! printf '%s\n' "$out" | grep -q -e '^not ok' -e '^Bail out'; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name (exit status $rc)"
	fi
}
