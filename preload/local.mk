# preload/local.mk - libbuddymalloc.so, the library users preload or link
# (-lbuddymalloc), hence a normal shared library and not a -module; the
# buddymalloc wrapper command; the pkg-config file.
#
# Exports: only what preload/exports.map lists. A function is exported when
# it is both listed there and defined with default visibility (every file is
# compiled with -fvisibility=hidden). tests/exports.sh checks the result.
#
# -z now: resolve every symbol at load time, so the allocator never enters
# the dynamic linker's lazy-binding path (which takes locks and may allocate)
# from inside malloc, in a signal handler or after fork.
#
# -fno-builtin-*: this library defines malloc and friends, so the compiler
# must not treat those names as the builtins it may merge or rewrite (e.g.
# malloc + memset into a call to calloc).

PRELOAD_SOURCES = \
	preload/malloc.c \
	preload/stats.c \
	preload/page_api.c \
	preload/ctl.c \
	preload/conf.c \
	preload/init.c \
	preload/report.c

lib_LTLIBRARIES += libbuddymalloc.la
libbuddymalloc_la_SOURCES = $(PRELOAD_SOURCES)
libbuddymalloc_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core \
	-I$(top_srcdir)/slab -I$(top_srcdir)/preload
libbuddymalloc_la_CFLAGS = $(AM_CFLAGS) -fno-builtin-malloc \
	-fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free
# The slab layer calls into the core: slab first.
libbuddymalloc_la_LIBADD = slab/libbuddyslab.la core/libbuddycore.la \
	$(PTHREAD_LIBS)
libbuddymalloc_la_LDFLAGS = \
	-version-info $(BUDDY_LT_VERSION) \
	-no-undefined \
	-Wl,--version-script=$(srcdir)/preload/exports.map \
	-Wl,-z,now
# Relink when the export list changes.
EXTRA_libbuddymalloc_la_DEPENDENCIES = preload/exports.map

noinst_HEADERS += preload/preload.h preload/valgrind.h
EXTRA_DIST += preload/exports.map

# The soname is libbuddymalloc.so.$(BUDDY_SO_MAJOR) (configure.ac: the
# libtool version). libbuddymalloc.so stays a link to it, in .libs/, at the
# top of the build tree (all-local) and installed, so LD_PRELOAD with that
# name works everywhere; the installed wrapper names the soname, the file a
# runtime package ships.

# --- the buddymalloc command and buddymalloc.pc ----------------------------
#
# Both are made from their .in files here rather than by configure, because
# they need installation directories expanded (the autoconf manual,
# "Installation Directory Variables"). The wrapper exists twice:
#   buddymalloc           in the top build directory, next to the
#                         libbuddymalloc.so link, running the library of
#                         the build tree (not installed);
#   preload/buddymalloc   installed to $(bindir), running
#                         $(libdir)/libbuddymalloc.so.

preload_edit = sed \
	-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	-e 's|@prefix[@]|$(prefix)|g' \
	-e 's|@exec_prefix[@]|$(exec_prefix)|g' \
	-e 's|@libdir[@]|$(libdir)|g' \
	-e 's|@includedir[@]|$(includedir)|g' \
	-e 's|@PTHREAD_LIBS[@]|$(PTHREAD_LIBS)|g' \
	-e 's|@BUDDY_CONF_FILE[@]|$(BUDDY_CONF_FILE)|g'

bin_SCRIPTS = preload/buddymalloc
preload/buddymalloc: $(srcdir)/preload/buddymalloc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) preload && rm -f $@ $@.tmp && \
	$(preload_edit) -e 's|@LIBBUDDYMALLOC[@]|$(libdir)/libbuddymalloc.so.$(BUDDY_SO_MAJOR)|g' \
		$(srcdir)/preload/buddymalloc.in >$@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@

buddymalloc: $(srcdir)/preload/buddymalloc.in Makefile
	$(AM_V_GEN)rm -f $@ $@.tmp && \
	$(preload_edit) \
		-e 's|@LIBBUDDYMALLOC[@]|$(abs_top_builddir)/.libs/libbuddymalloc.so|g' \
		$(srcdir)/preload/buddymalloc.in >$@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
all-local: buddymalloc

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = preload/buddymalloc.pc
preload/buddymalloc.pc: $(srcdir)/preload/buddymalloc.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) preload && rm -f $@ $@.tmp && \
	$(preload_edit) $(srcdir)/preload/buddymalloc.pc.in >$@.tmp && \
	mv $@.tmp $@

EXTRA_DIST += preload/buddymalloc.in preload/buddymalloc.pc.in
CLEANFILES += buddymalloc preload/buddymalloc preload/buddymalloc.pc
