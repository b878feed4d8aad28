#!/bin/sh
# top.sh - scripts/buddymalloc-top on a running program: cat, started by
# the wrapper with report_signal and the JSON report, blocked reading a
# FIFO. Three samples: the header, then one row per sample, the last one
# reading resident and live MiB as the last report (JSON, still in its
# file) has them. Started
# without the JSON form, it says how to start the program instead.

echo "1..2"
wrapper=${top_builddir:-.}/buddymalloc
top=${top_srcdir:-.}/scripts/buddymalloc-top
python=/usr/bin/python3
if ! test -x "$python"; then
	echo "ok 1 # SKIP $python not found"
	echo "ok 2 # SKIP $python not found"
	exit 0
fi
dir=$(mktemp -d) || exit 99
pids=
cleanup() {
	exec 3>&- 4>&- 2>/dev/null
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
mkfifo "$dir/fifo" "$dir/fifo2" || exit 99

BUDDYMALLOC_CONF="report_signal:USR2,report_opts:all+J,report_file:$dir/report.%p" \
	"$wrapper" cat "$dir/fifo" >/dev/null &
pid=$!
pids=$pid
exec 3>"$dir/fifo"	# cat has opened the FIFO: it is running

"$python" "$top" -i 0.2 -n 3 "$pid" >"$dir/out" 2>"$dir/err"
rc=$?
# The last row is the last report, still in its file: resident and live
# MiB as the JSON has them, and its first Unmovable/Movable pageblock
# columns.
if test $rc -eq 0 &&
   head -n 1 "$dir/out" | grep -q "resident.*live.*free" &&
   test "$(wc -l <"$dir/out")" -eq 4 &&
   "$python" - "$dir/report.$pid" "$(tail -n 1 "$dir/out")" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))["stats"]
row = sys.argv[2].split()
mib = 1 << 20
want = [st["resident_bytes"] / mib, st["allocated"] / mib]
got = [float(row[1]), float(row[2])]
sys.exit(0 if all(abs(g - w) < 0.06 for g, w in zip(got, want)) else 1)
PY
then
	echo "ok 1 - buddymalloc-top samples process $pid three times"
else
	echo "not ok 1 - buddymalloc-top samples process $pid three times (exit $rc)"
	sed 's/^/# /' "$dir/out" "$dir/err" | head -n 20
fi

BUDDYMALLOC_CONF="report_signal:USR2,report_file:$dir/report.%p" \
	"$wrapper" cat "$dir/fifo2" >/dev/null &
pid2=$!
pids="$pids $pid2"
exec 4>"$dir/fifo2"
if ! "$python" "$top" -i 0.2 -n 1 "$pid2" >/dev/null 2>"$dir/err2" &&
   grep -q "report_opts:all+J" "$dir/err2"; then
	echo "ok 2 - without the JSON report it says how to start the program"
else
	echo "not ok 2 - without the JSON report it says how to start the program"
	sed 's/^/# /' "$dir/err2"
fi
