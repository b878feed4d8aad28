#!/bin/sh
# secure.sh - a set-user-ID or set-group-ID program ignores BUDDYMALLOC_CONF
# and BUDDYMALLOC_CONF_FILE (AT_SECURE,
# the secure_getenv rule; preload/conf.c, conf_boot): its environment is
# its caller's, and bad_free:report would weaken the response to a bad
# free. tests/preload/bad_free's child double-frees a block; with
# bad_free:report it goes on (exit 0), but a set-group-ID copy of it
# (group nogroup, run by root: effective and real group differ, so the
# kernel sets AT_SECURE as for set-user-ID) still aborts. Set-group-ID, not
# set-user-ID to nobody: the program must still reach the library in the
# build tree, which may sit under a directory only root can enter (a
# mktemp -d clone). Needs root to make the copy; skipped otherwise.

echo "1..3"
prog=${top_builddir:-.}/tests/preload/bad_free
if test "$(id -u)" != 0 || ! getent group nogroup >/dev/null 2>&1; then
	echo "ok 1 # SKIP not root"
	echo "ok 2 # SKIP not root"
	echo "ok 3 # SKIP not root"
	exit 0
fi
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
cp "$prog" "$dir/plain" && cp "$prog" "$dir/setuid" || exit 99
chgrp nogroup "$dir/setuid" && chmod 2755 "$dir/setuid" || exit 99

# The plain copy honours bad_free:report: the double free is reported
# and the child goes on.
BUDDYMALLOC_CONF=bad_free:report "$dir/plain" child double_free_small \
	>"$dir/out" 2>"$dir/err"
rc=$?
if test $rc = 0 && grep -q "double free detected" "$dir/err"; then
	echo "ok 1 - bad_free:report applies to a plain program"
else
	echo "not ok 1 - bad_free:report applies to a plain program (exit $rc)"
fi

# The set-group-ID copy ignores it: reported, then SIGABRT (134).
(cd / && BUDDYMALLOC_CONF=bad_free:report "$dir/setuid" child \
	double_free_small >"$dir/out" 2>"$dir/err")
rc=$?
if test $rc = 134 && grep -q "double free detected" "$dir/err"; then
	echo "ok 2 - a set-group-ID program ignores BUDDYMALLOC_CONF"
else
	echo "not ok 2 - a set-group-ID program ignores BUDDYMALLOC_CONF" \
		"(exit $rc: $(cat "$dir/err"))"
fi

# Nor does it take BUDDYMALLOC_CONF_FILE: a file of the caller's choosing
# with bad_free:report leaves the abort in place.
printf 'bad_free:report\n' >"$dir/weak.conf"
chmod 644 "$dir/weak.conf"
(cd / && BUDDYMALLOC_CONF_FILE="$dir/weak.conf" "$dir/setuid" child \
	double_free_small >"$dir/out" 2>"$dir/err")
rc=$?
if test $rc = 134 && grep -q "double free detected" "$dir/err"; then
	echo "ok 3 - a set-group-ID program ignores BUDDYMALLOC_CONF_FILE"
else
	echo "not ok 3 - a set-group-ID program ignores BUDDYMALLOC_CONF_FILE" \
		"(exit $rc: $(cat "$dir/err"))"
fi
