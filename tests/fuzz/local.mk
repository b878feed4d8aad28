# tests/fuzz/local.mk - fuzzing (included by the top Makefile.am; see
# tests/fuzz/README.md).
#
# Three fuzz targets, each a LLVMFuzzerTestOneInput in tests/fuzz/:
#   malloc  fuzz_malloc.c  the malloc family against a reference model
#   conf    fuzz_conf.c    the BUDDYMALLOC_CONF parser (preload/conf.c)
#   pages   fuzz_pages.c   the core's page API with gfp flags and orders
#
# "make check" builds each with the normal compiler and replay.c's main(),
# which runs every file of tests/fuzz/corpus/NAME/ (one TAP point each).
# "make check-fuzz" builds them with clang's libFuzzer (Makefile.fuzz) and
# runs each for FUZZ_TIME seconds.
#
# The malloc target needs the library's malloc family in a program whose
# own malloc stays glibc's (libFuzzer, stdio and the model allocate): the
# preload/ sources are compiled again into a convenience library, and
# objcopy renames every libc name of preload/exports.map in it (malloc ->
# bm_malloc, ...; tests/fuzz/bm.syms). The renamed archive is linked with
# the shipped slab/ and core/ libraries.

FUZZ_TARGETS = malloc conf pages
FUZZ_TIME = 60
FUZZ_FLAGS =

FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core -I$(top_srcdir)/slab \
	-I$(top_srcdir)/preload -I$(top_srcdir)/tests/fuzz \
	-I$(top_srcdir)/tests/unit -DBUDDY_TEST_HOOKS

# --- the malloc family under other names ---------------------------------

check_LTLIBRARIES += tests/fuzz/libpreload_fuzz.la
tests_fuzz_libpreload_fuzz_la_SOURCES = $(PRELOAD_SOURCES)
tests_fuzz_libpreload_fuzz_la_CPPFLAGS = $(libbuddymalloc_la_CPPFLAGS)
tests_fuzz_libpreload_fuzz_la_CFLAGS = $(libbuddymalloc_la_CFLAGS)

# "old new" per line: each plain name of the export list's global part.
tests/fuzz/bm.syms: $(srcdir)/preload/exports.map
	$(AM_V_GEN)$(MKDIR_P) tests/fuzz && \
	$(AWK) '/global:/ { g = 1 } /local:/ { g = 0 } \
		g && /^[ \t]*[A-Za-z_][A-Za-z0-9_]*;[ \t]*$$/ { \
			gsub(/[ \t;]/, ""); print $$0, "bm_" $$0 }' \
		$(srcdir)/preload/exports.map >$@.tmp && mv $@.tmp $@

tests/fuzz/libbm.a: tests/fuzz/libpreload_fuzz.la tests/fuzz/bm.syms
	$(AM_V_GEN)$(OBJCOPY) --redefine-syms=tests/fuzz/bm.syms \
		tests/fuzz/.libs/libpreload_fuzz.a $@

CLEANFILES += tests/fuzz/bm.syms tests/fuzz/libbm.a

# --- the replay programs ---------------------------------------------------

FUZZ_REPLAY = tests/fuzz/replay_malloc tests/fuzz/replay_conf \
	tests/fuzz/replay_pages
check_PROGRAMS += $(FUZZ_REPLAY)
TESTS += $(FUZZ_REPLAY)

tests_fuzz_replay_malloc_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_malloc.c
tests_fuzz_replay_malloc_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_TARGET='"malloc"'
tests_fuzz_replay_malloc_LDADD = tests/fuzz/libbm.a slab/libbuddyslab_test.la \
	core/libbuddycore_test.la $(PTHREAD_LIBS)

tests_fuzz_replay_conf_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_conf.c preload/conf.c
tests_fuzz_replay_conf_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_TARGET='"conf"'
tests_fuzz_replay_conf_LDADD = slab/libbuddyslab_test.la core/libbuddycore_test.la \
	$(PTHREAD_LIBS)

tests_fuzz_replay_pages_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_pages.c tests/unit/model_check.c
tests_fuzz_replay_pages_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_TARGET='"pages"'
tests_fuzz_replay_pages_LDADD = core/libbuddycore_test.la $(PTHREAD_LIBS)

EXTRA_DIST += tests/fuzz/README.md tests/fuzz/Makefile.fuzz tests/fuzz/corpus \
	tests/fuzz/seeds.py

# --- make check-fuzz: libFuzzer --------------------------------------------

# The sources of each layer, for Makefile.fuzz (which compiles them again
# with FUZZ_CC and coverage instrumentation).
check-fuzz: tests/fuzz/bm.syms
	@if test -z '$(FUZZ_CC)'; then \
		echo "check-fuzz: configure found no C compiler that links" \
		     "-fsanitize=fuzzer (libFuzzer). On Debian: apt-get" \
		     "install clang libclang-rt-14-dev (scripts/debian-packages)," \
		     "then run configure again, or run configure" \
		     "FUZZ_CC=/path/to/clang." >&2; \
		exit 1; \
	fi
	$(MAKE) -f $(srcdir)/tests/fuzz/Makefile.fuzz \
		srcdir='$(srcdir)' \
		FUZZ_CC='$(FUZZ_CC)' OBJCOPY='$(OBJCOPY)' \
		BUDDY_CPPFLAGS='$(BUDDY_CPPFLAGS)' PTHREAD_LIBS='$(PTHREAD_LIBS)' \
		CORE_SOURCES='$(BUDDYCORE_TEST_SRCS)' SLAB_SOURCES='$(SLAB_SOURCES)' \
		PRELOAD_SOURCES='$(PRELOAD_SOURCES)' \
		FUZZ_TARGETS='$(FUZZ_TARGETS)' FUZZ_TIME='$(FUZZ_TIME)' \
		FUZZ_FLAGS='$(FUZZ_FLAGS)' FUZZ_SANITIZE='$(FUZZ_SANITIZE)' \
		run
.PHONY: check-fuzz

# Build the libFuzzer binaries only.
fuzz-build: tests/fuzz/bm.syms
	@test -n '$(FUZZ_CC)' || { $(MAKE) check-fuzz; exit 1; }
	$(MAKE) -f $(srcdir)/tests/fuzz/Makefile.fuzz \
		srcdir='$(srcdir)' \
		FUZZ_CC='$(FUZZ_CC)' OBJCOPY='$(OBJCOPY)' \
		BUDDY_CPPFLAGS='$(BUDDY_CPPFLAGS)' PTHREAD_LIBS='$(PTHREAD_LIBS)' \
		CORE_SOURCES='$(BUDDYCORE_TEST_SRCS)' SLAB_SOURCES='$(SLAB_SOURCES)' \
		PRELOAD_SOURCES='$(PRELOAD_SOURCES)' \
		FUZZ_TARGETS='$(FUZZ_TARGETS)' FUZZ_SANITIZE='$(FUZZ_SANITIZE)' \
		all
.PHONY: fuzz-build

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/libfuzzer
.PHONY: clean-fuzz
