#!/bin/sh
# conf_file.sh - TAP test: settings from a file as well as from
# BUDDYMALLOC_CONF (preload/conf.c, conf_boot). tests/preload/conf_show,
# linked with libbuddymalloc.la, prints what its start-up read, through
# buddymalloc_mallctl; BUDDYMALLOC_CONF_FILE names the file in place of
# /etc/buddymalloc.conf. Checked: a file alone (comments, one entry per
# line), the environment alone, both (the environment wins key by key), a
# missing file (silent), one that cannot be read (a directory: one line, as
# root too), bad content (one line naming the file and key; bad_free keeps
# abort: a file with a problem never weakens a check, as BUDDYMALLOC_CONF
# never does), a problem in the environment undoing the file's bad_free, a
# file over 4095 bytes, and BUDDYMALLOC_CONF=help showing defaults.

echo "1..11"
show=${top_builddir:-.}/tests/preload/conf_show
keys="b:stats_print z:limit u:decay_ms s:bad_free"
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
unset BUDDYMALLOC_CONF BUDDYMALLOC_CONF_FILE
n=0

# check LABEL EXPECTED-STDOUT STDERR-PATTERN: the last run's output and
# stderr ("" for an empty stderr; else an extended regexp it must match).
check() {
	n=$((n + 1))
	if test "$(cat "$dir/out")" = "$2" &&
	   { if test -z "$3"; then ! test -s "$dir/err";
	     else grep -Eq "$3" "$dir/err"; fi; }; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		echo "# expected:"; echo "$2" | sed 's/^/#   /'
		echo "# got:"; sed 's/^/#   /' "$dir/out"
		echo "# stderr:"; sed 's/^/#   /' "$dir/err"
	fi
}

run() {
	"$show" $keys >"$dir/out" 2>"$dir/err"
}

# What no file and no environment give: the defaults.
BUDDYMALLOC_CONF_FILE= run
def_decay=$(sed -n 's/^decay_ms=//p' "$dir/out")
defaults="stats_print=false
limit=0
decay_ms=$def_decay
bad_free=abort"
check "no file, no environment: the defaults" "$defaults" ""

cat >"$dir/file.conf" <<'CONF'
# a comment line
limit:256m
decay_ms:1234   # a comment after an entry
stats_print:false, bad_free:report
CONF
BUDDYMALLOC_CONF_FILE=$dir/file.conf run
check "the file alone: one entry per line, comments" "stats_print=false
limit=268435456
decay_ms=1234
bad_free=report" ""

BUDDYMALLOC_CONF_FILE=$dir/absent.conf BUDDYMALLOC_CONF=decay_ms:77 run
check "the environment alone (a missing file is silent)" "stats_print=false
limit=0
decay_ms=77
bad_free=abort" ""

BUDDYMALLOC_CONF_FILE=$dir/file.conf BUDDYMALLOC_CONF=decay_ms:77,bad_free:abort run
check "both: the environment wins key by key" "stats_print=false
limit=268435456
decay_ms=77
bad_free=abort" ""

mkdir "$dir/a-directory"
BUDDYMALLOC_CONF_FILE=$dir/a-directory BUDDYMALLOC_CONF=decay_ms:77 run
check "a file that cannot be read: one line, the environment still applies" "stats_print=false
limit=0
decay_ms=77
bad_free=abort" "^buddymalloc: $dir/a-directory: cannot be read \(errno [0-9]+\); ignored$"

printf 'bad_free:report\nhardening:junck\nlimit:64m\n' >"$dir/bad.conf"
BUDDYMALLOC_CONF_FILE=$dir/bad.conf run
check "bad content: reported with the file's name, bad_free keeps abort" "stats_print=false
limit=67108864
decay_ms=$def_decay
bad_free=abort" "^buddymalloc: $dir/bad.conf: bad value \"junck\" for \"hardening\""
n=$((n + 1))
if grep -q "^buddymalloc: $dir/bad.conf: problems above; \"bad_free\" keeps its default (abort)" "$dir/err"; then
	echo "ok $n - bad content: the line saying bad_free keeps abort"
else
	echo "not ok $n - bad content: the line saying bad_free keeps abort"
	sed 's/^/#   /' "$dir/err"
fi

printf 'limit:128m\nno_such_key:1\n' >"$dir/unknown.conf"
BUDDYMALLOC_CONF_FILE=$dir/unknown.conf BUDDYMALLOC_CONF=bad_free:report run
check "a problem in the file: the environment's bad_free:report still applies" "stats_print=false
limit=134217728
decay_ms=$def_decay
bad_free=report" "unknown option \"no_such_key\""

printf 'bad_free:report\n' >"$dir/weak.conf"
BUDDYMALLOC_CONF_FILE=$dir/weak.conf BUDDYMALLOC_CONF=decay_ms:x run
check "a problem in the environment undoes the file's bad_free:report" "stats_print=false
limit=0
decay_ms=$def_decay
bad_free=abort" "^buddymalloc: BUDDYMALLOC_CONF: bad value \"x\" for \"decay_ms\""

{ echo "limit:32m"; i=0; while test $i -lt 400; do echo "# padding $i"; i=$((i + 1)); done; } >"$dir/long.conf"
BUDDYMALLOC_CONF_FILE=$dir/long.conf run
check "a file over 4095 bytes is ignored, with one line" "$defaults" \
	"^buddymalloc: $dir/long.conf: longer than 4095 bytes; ignored$"

n=$((n + 1))
BUDDYMALLOC_CONF_FILE=$dir/file.conf BUDDYMALLOC_CONF=help "$show" >"$dir/out" 2>"$dir/err"
if grep -Eq '^  decay_ms +\[1234\] .*default' "$dir/err" &&
   grep -Eq '^  limit +\[268435456\]' "$dir/err"; then
	echo "ok $n - help shows the values the file set and the defaults"
else
	echo "not ok $n - help shows the values the file set and the defaults"
	sed 's/^/#   /' "$dir/err" | head -20
fi
