#!/bin/sh
# readme_settings.sh - TAP test: the settings are documented once, in
# preload/conf.c's options table. The README's table (between its marker
# lines) must be exactly what doc/man/gen_settings makes of the table now
# ("make update-readme" rewrites it), and buddymalloc(3)'s SETTINGS
# section must hold every key, with its default. If groff is there, the
# page must also format without a warning.

echo "1..3"
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
gen=$top_builddir/doc/man/gen_settings
page=$top_builddir/doc/man/buddymalloc.3
dir=$(mktemp -d) || exit 99
trap 'rm -rf "$dir"' EXIT

"$gen" markdown >"$dir/want" || exit 99
awk '/^<!-- end of the settings table -->$/ { on = 0 }
     on { print }
     /^<!-- settings table: made by doc\/man\/gen_settings/ { on = 1 }' \
	"$top_srcdir/README.md" >"$dir/readme"
if cmp -s "$dir/want" "$dir/readme"; then
	echo "ok 1 - README.md's settings table is doc/man/gen_settings' (conf.c's table)"
else
	echo "not ok 1 - README.md's settings table is doc/man/gen_settings' (conf.c's table)"
	echo "# run make update-readme; the difference (README -, table +):"
	diff -u "$dir/readme" "$dir/want" | sed 's/^/# /'
fi

# Every key of the table as ".B key" in the page, followed (after its
# help) by "Values: ...; default D." for its default D.
"$gen" markdown | sed -n 's/^| `\([a-z_0-9]*\)` | .* | `\([^`]*\)` | .*/\1 \2/p' >"$dir/keys"
missing=
while read -r key deflt; do
	awk -v k="$key" -v d="$deflt" '
		$0 == ".SH SETTINGS" { settings = 1 }
		settings && $0 == ".B " k { found = 1; next }
		found && /^Values: / { ok = index($0, "; default " d ".") > 0; exit }
		END { exit !ok }' "$page" || missing="$missing $key"
done <"$dir/keys"
if test -s "$dir/keys" && test -z "$missing"; then
	echo "ok 2 - buddymalloc(3) documents every key ($(wc -l <"$dir/keys")) with its default"
else
	echo "not ok 2 - buddymalloc(3) documents every key with its default (missing:$missing)"
fi

if command -v groff >/dev/null 2>&1; then
	for p in "$page" "$top_builddir/doc/man/buddymalloc.1"; do
		groff -man -Tutf8 -ww -z "$p" 2>>"$dir/groff"
	done
	if test -s "$dir/groff"; then
		echo "not ok 3 - the manual pages format without a warning"
		sed 's/^/# /' "$dir/groff"
	else
		echo "ok 3 - the manual pages format without a warning"
	fi
else
	echo "ok 3 # SKIP groff is not installed"
fi
