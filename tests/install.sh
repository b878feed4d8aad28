#!/bin/sh
# install.sh - TAP test: "make install" into a DESTDIR gives what a user
# needs, and "make uninstall" takes all of it away again.
#   - the library under its soname libbuddymalloc.so.N, with the links
#     libbuddymalloc.so (for -lbuddymalloc and LD_PRELOAD) and .so.N;
#     buddymalloc.h, buddymalloc.pc, the buddymalloc wrapper and the
#     manual pages buddymalloc(1) and buddymalloc(3);
#   - a program built with "pkg-config --cflags --libs buddymalloc" (from
#     the DESTDIR: PKG_CONFIG_PATH, PKG_CONFIG_SYSROOT_DIR) needs the
#     soname, runs, and is served by the installed library: its malloc
#     resolves into it, buddymalloc_mallctl("version") is the package's
#     and stats.allocated counts the block it holds;
#   - the installed wrapper names the installed library and runs a
#     program under it (its exit report, --stats, is on stderr);
#   - make uninstall leaves no file in the DESTDIR.
# Runs "$MAKE install" in the build tree: everything is built by the time
# tests run, so it only copies.

echo "1..8"
top_builddir=${top_builddir:-.}
make=${MAKE:-make}
CC=${CC:-cc}
dir=$(mktemp -d) || exit 99
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT
dest=$dir/dest
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	test -n "$2" && test -f "$2" && sed 's/^/# /' "$2" | tail -n 30
}

# The sub-make is not part of the parent's job server.
(unset MAKEFLAGS MFLAGS; cd "$top_builddir" &&
	$make -s install DESTDIR="$dest") >"$dir/install.log" 2>&1
rc=$?
lib=$dest$libdir
so=libbuddymalloc.so.$so_major
missing=
for f in "$lib/$so" "$lib/libbuddymalloc.so" "$dest$includedir/buddymalloc.h" \
	 "$lib/pkgconfig/buddymalloc.pc" "$dest$bindir/buddymalloc" \
	 "$dest$mandir/man1/buddymalloc.1" "$dest$mandir/man3/buddymalloc.3"; do
	test -e "$f" || missing="$missing ${f#$dest}"
done
if test $rc = 0 && test -z "$missing"; then
	ok "make install DESTDIR: library, header, .pc, wrapper, manual pages"
else
	echo "# exit $rc; missing:$missing"
	not_ok "make install DESTDIR: library, header, .pc, wrapper, manual pages" "$dir/install.log"
fi

soname=$(readelf -d "$lib/libbuddymalloc.so" 2>/dev/null |
	sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if test "$soname" = "$so"; then
	ok "the installed library's soname is $so"
else
	not_ok "the installed library's soname is $so (got '$soname')"
fi

cat >"$dir/prog.c" <<'PROG'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <buddymalloc.h>

int main(int argc, char **argv)
{
	const char *version;
	size_t allocated, len = sizeof(version);
	Dl_info info;
	char *p = malloc(100000);

	if (!p || buddymalloc_mallctl("version", &version, &len, NULL, 0))
		return 1;
	memset(p, 1, 100000);
	len = sizeof(allocated);
	if (buddymalloc_mallctl("stats.allocated", &allocated, &len, NULL, 0))
		return 1;
	if (!dladdr((void *)malloc, &info) || !info.dli_fname)
		return 1;
	printf("version %s\nallocated %s\nmalloc in %s\n", version,
	       allocated >= 100000 ? "counts the block" : "misses the block",
	       info.dli_fname);
	free(p);
	return argc > 1 && strcmp(argv[1], version) != 0;
}
PROG
if command -v pkg-config >/dev/null 2>&1; then
	flags=$(PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest \
		pkg-config --cflags --libs buddymalloc 2>"$dir/pc.err")
	pc_rc=$?
	flags=$(echo $flags)
	if test $pc_rc = 0 && $CC -o "$dir/prog" "$dir/prog.c" $flags -ldl \
			>"$dir/cc.log" 2>&1; then
		ok "a program builds with pkg-config --cflags --libs buddymalloc ($flags)"
	else
		cat "$dir/pc.err" >>"$dir/cc.log"
		not_ok "a program builds with pkg-config --cflags --libs buddymalloc ($flags)" "$dir/cc.log"
	fi

	needed=$(readelf -d "$dir/prog" 2>/dev/null |
		sed -n 's/.*Shared library: \[\(libbuddymalloc.*\)\]/\1/p')
	if test "$needed" = "$so"; then
		ok "the program needs $so"
	else
		not_ok "the program needs $so (got '$needed')"
	fi

	LD_LIBRARY_PATH=$lib "$dir/prog" "$PACKAGE_VERSION" >"$dir/prog.out" 2>&1
	rc=$?
	if test $rc = 0 &&
	   grep -qx "version $PACKAGE_VERSION" "$dir/prog.out" &&
	   grep -qx "allocated counts the block" "$dir/prog.out" &&
	   grep -qx "malloc in $lib/$so" "$dir/prog.out"; then
		ok "it runs, served by the installed library (version, stats.allocated, malloc's home)"
	else
		echo "# exit $rc"
		not_ok "it runs, served by the installed library" "$dir/prog.out"
	fi
else
	for t in "a program built with pkg-config" "needs $so" "runs"; do
		n=$((n + 1))
		echo "ok $n # SKIP pkg-config is not installed ($t)"
	done
fi

# The wrapper's library is the installed soname; run with that file taken
# from the DESTDIR (BUDDYMALLOC_LIB) on a program of the system.
wrapper=$dest$bindir/buddymalloc
if grep -q "^lib=\${BUDDYMALLOC_LIB:-'$libdir/$so'}\$" "$wrapper" 2>/dev/null &&
   BUDDYMALLOC_LIB=$lib/$so "$wrapper" --stats sort "$dir/prog.c" \
	>"$dir/sorted" 2>"$dir/wrapper.err" &&
   sort "$dir/prog.c" | cmp -s - "$dir/sorted" &&
   grep -q "^buddymalloc (pid [0-9]*, exe .*sort):" "$dir/wrapper.err"; then
	ok "the installed wrapper names $libdir/$so and runs sort under it (--stats report)"
else
	grep -n "^lib=" "$wrapper" >>"$dir/wrapper.err" 2>&1
	not_ok "the installed wrapper names $libdir/$so and runs sort under it (--stats report)" "$dir/wrapper.err"
fi

if "$wrapper" --version 2>&1 | grep -qx "buddymalloc (libbuddymalloc) $PACKAGE_VERSION"; then
	ok "buddymalloc --version says $PACKAGE_VERSION"
else
	not_ok "buddymalloc --version says $PACKAGE_VERSION"
fi

(unset MAKEFLAGS MFLAGS; cd "$top_builddir" &&
	$make -s uninstall DESTDIR="$dest") >"$dir/uninstall.log" 2>&1
rc=$?
find "$dest" ! -type d >"$dir/left"
if test $rc = 0 && ! test -s "$dir/left"; then
	ok "make uninstall DESTDIR leaves no file behind"
else
	echo "# exit $rc; left:"
	not_ok "make uninstall DESTDIR leaves no file behind" "$dir/left"
fi
