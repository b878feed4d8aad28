#!/bin/sh
# attach.sh - "buddymalloc --attach PID" on a running program: cat, started
# by the wrapper with report_signal set, blocked reading a FIFO. The report
# printed is that process's (its pid and executable in the summary line),
# and a second --attach prints a second, fresh report. A process without
# report_signal gets a clear refusal; a plain "kill -USR2 PID" then the
# file works too.

echo "1..5"
wrapper=${top_builddir:-.}/buddymalloc
dir=$(mktemp -d) || exit 99
pid=
cleanup() {
	exec 3>&- 2>/dev/null
	test -n "$pid" && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
mkfifo "$dir/fifo" || exit 99

BUDDYMALLOC_CONF="report_signal:USR2,report_file:$dir/report.%p" \
	"$wrapper" cat "$dir/fifo" >/dev/null &
pid=$!
exec 3>"$dir/fifo"	# cat has opened the FIFO: it is running

cat_exe=$(readlink -f "$(command -v cat)")
if "$wrapper" --attach "$pid" >"$dir/out1" 2>"$dir/err1" &&
   head -n 1 "$dir/out1" | grep -qF "buddymalloc (pid $pid, exe $cat_exe):"; then
	echo "ok 1 - --attach prints the report of process $pid (cat, on our malloc)"
else
	echo "not ok 1 - --attach prints the report of process $pid"
	sed 's/^/# /' "$dir/out1" "$dir/err1" | head -n 20
fi

if grep -q "^slabinfo - version: 2.1" "$dir/out1" &&
   grep -q "^lifetime classifier: " "$dir/out1"; then
	echo "ok 2 - the report is whole (report_opts:all, lifetime last)"
else
	echo "not ok 2 - the report is whole"
fi

# A stale file in its place: --attach waits for the new one.
echo stale >"$dir/report.$pid.stale"
mv "$dir/report.$pid.stale" "$dir/report.$pid"
if "$wrapper" --attach "$pid" >"$dir/out2" 2>&1 &&
   head -n 1 "$dir/out2" | grep -qF "buddymalloc (pid $pid,"; then
	echo "ok 3 - a second --attach gets a new report"
else
	echo "not ok 3 - a second --attach gets a new report"
fi

# By hand: kill, then wait for a new file (a bounded poll).
ino2=$(stat -c %i "$dir/report.$pid")
kill -USR2 "$pid"
tries=600
while test "$tries" -gt 0 &&
      test "$(stat -c %i "$dir/report.$pid")" = "$ino2"; do
	sleep 0.1
	tries=$((tries - 1))
done
if test "$tries" -gt 0 &&
   head -n 1 "$dir/report.$pid" | grep -qF "buddymalloc (pid $pid,"; then
	echo "ok 4 - kill -USR2 and the file"
else
	echo "not ok 4 - kill -USR2 and the file"
fi
exec 3>&-
wait "$pid"
pid=

# A process started without report_signal: refused, with the reason.
sleep 30 &
other=$!
if ! "$wrapper" --attach "$other" >/dev/null 2>"$dir/err3" &&
   grep -q "was not started with report_signal set" "$dir/err3"; then
	echo "ok 5 - --attach refuses a process without report_signal"
else
	echo "not ok 5 - --attach refuses a process without report_signal"
	sed 's/^/# /' "$dir/err3"
fi
kill "$other"
wait "$other" 2>/dev/null
exit 0
