# tests/local.mk - the test suite (included by the top Makefile.am).
#
# Every test speaks TAP (tests/include/tap.h for C, plain echo for shell) and
# runs under automake's tap-driver.sh, so "make check" counts every test
# point, not just every program.
#
# Adding a unit test (tests/unit/NAME.c, linked with the core built with
# -DBUDDY_TEST_HOOKS and the TAP library):
#
#	UNIT_TESTS += tests/unit/NAME
#	tests_unit_NAME_CPPFLAGS = $(UNIT_CPPFLAGS)
#	tests_unit_NAME_LDADD = $(UNIT_LDADD)
#
# (automake takes tests/unit/NAME.c as the source by default; a test of
# slab/ adds -I$(top_srcdir)/slab and links slab/libbuddyslab_test.la
# first.) Adding an API or stress test (tests/api/NAME.c or
# tests/stress/NAME.c, built linked and preloaded): one line in
# tests/api/tests.list, then scripts/gen-api-tests >tests/api/tests.mk
# (see "API, stress and real-program tests" below). A test that needs
# settings gets a sibling shell script that exports them and runs the
# binary; list the script in SCRIPT_TESTS.
#
# Slow tests are not in TESTS: the soak ("make check-soak", below) and the
# fuzzers ("make check-fuzz", tests/fuzz/local.mk) have targets of their
# own; scripts/run-tests runs a short soak after "make check".

# --- the TAP library ---------------------------------------------------

check_LTLIBRARIES += tests/lib/libtap.la
tests_lib_libtap_la_SOURCES = tests/lib/tap.c
tests_lib_libtap_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/include
EXTRA_DIST += tests/include/tap_run.sh
noinst_HEADERS += tests/include/tap.h tests/include/test_util.h \
	tests/stress/handler_util.h

# --- what unit tests use -----------------------------------------------

UNIT_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core \
	-I$(top_srcdir)/tests/include -DBUDDY_TEST_HOOKS
UNIT_LDADD = core/libbuddycore_test.la tests/lib/libtap.la $(PTHREAD_LIBS)

# Unit test programs; each is built by "make check" and run as a test.
UNIT_TESTS =

# The harness's own test; it needs only the TAP library.
UNIT_TESTS += tests/unit/tap_selftest
tests_unit_tap_selftest_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_tap_selftest_LDADD = tests/lib/libtap.la

# --- script tests ------------------------------------------------------

# Only the public symbols leave libbuddymalloc.so.
SCRIPT_TESTS = tests/exports.sh
EXTRA_DIST += tests/exports.allow

# The page-API demo of the quick start runs and ends with every page free.
SCRIPT_TESTS += tests/page_demo.sh

# slab/ and preload/ use only core/page_alloc.h of the core.
SCRIPT_TESTS += tests/layers.sh

# bench/run flags a result whose checksum differs from glibc's.
SCRIPT_TESTS += tests/bench_checksums.sh
EXTRA_DIST += tests/bench_checksums.py

# Settings from a file (BUDDYMALLOC_CONF_FILE in place of
# /etc/buddymalloc.conf) and from BUDDYMALLOC_CONF, read back by conf_show
# through buddymalloc_mallctl.
SCRIPT_TESTS += tests/conf_file.sh
# os_read_conf_file (core/os.c), the settings file's reader.
UNIT_TESTS += tests/unit/os_conf_file
tests_unit_os_conf_file_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_os_conf_file_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/preload/conf_show
tests_preload_conf_show_LDADD = libbuddymalloc.la
tests_preload_conf_show_LDFLAGS = -no-install

# The settings are documented once (conf.c's table): the README's table and
# buddymalloc(3)'s SETTINGS section are what doc/man/gen_settings makes.
SCRIPT_TESTS += tests/readme_settings.sh

# make install into a DESTDIR: a program built with pkg-config runs on the
# installed library, the installed wrapper too; make uninstall removes it all.
SCRIPT_TESTS += tests/install.sh
AM_TESTS_ENVIRONMENT += \
	MAKE='$(MAKE)'; export MAKE; CC='$(CC)'; export CC; \
	PACKAGE_VERSION='$(PACKAGE_VERSION)'; export PACKAGE_VERSION; \
	so_major='$(BUDDY_SO_MAJOR)'; export so_major; \
	libdir='$(libdir)'; export libdir; bindir='$(bindir)'; export bindir; \
	includedir='$(includedir)'; export includedir; \
	mandir='$(mandir)'; export mandir;

EXTRA_DIST += $(SCRIPT_TESTS)

# --- wiring ------------------------------------------------------------

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS) $(SCRIPT_TESTS)

# Programs (no extension) and .sh scripts both go through the TAP driver.
TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_COMPILER = $(SHELL)

# What script tests may rely on.
AM_TESTS_ENVIRONMENT += \
	top_srcdir='$(top_srcdir)'; export top_srcdir; \
	top_builddir='$(top_builddir)'; export top_builddir; \
	NM='$(NM)'; export NM;

# --- unit tests of core/ -----------------------------------------------
#
# One program per component of core/, as jemalloc's test/unit mirrors src/.
# Each links the model's checker (model_check.c), an independent reading of
# the buddy invariants, so that every test ends by proving the state whole.
# model.c is the randomized model-based test (BUDDY_MODEL_OPS operations,
# seed BUDDY_TEST_SEED or TEST_SEED); checker_fails.c proves both checkers
# fail on a broken invariant. page_api.c tests the public page API and
# reports of include/buddymalloc.h through the shipped libbuddymalloc.la
# (which replaces malloc in that program; it does not link the test core).

UNIT_CORE_SOURCES = tests/unit/model_check.c tests/unit/model_check.h \
	tests/unit/unit_util.h

UNIT_TESTS += tests/unit/free_area
tests_unit_free_area_SOURCES = tests/unit/free_area.c $(UNIT_CORE_SOURCES)
tests_unit_free_area_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_free_area_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/split_merge
tests_unit_split_merge_SOURCES = tests/unit/split_merge.c $(UNIT_CORE_SOURCES)
tests_unit_split_merge_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_split_merge_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/fallback
tests_unit_fallback_SOURCES = tests/unit/fallback.c $(UNIT_CORE_SOURCES)
tests_unit_fallback_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_fallback_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/pageblock
tests_unit_pageblock_SOURCES = tests/unit/pageblock.c $(UNIT_CORE_SOURCES)
tests_unit_pageblock_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_pageblock_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/exact
tests_unit_exact_SOURCES = tests/unit/exact.c $(UNIT_CORE_SOURCES)
tests_unit_exact_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_exact_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/page_owner
tests_unit_page_owner_SOURCES = tests/unit/page_owner.c $(UNIT_CORE_SOURCES)
tests_unit_page_owner_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_page_owner_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/sparse
tests_unit_sparse_SOURCES = tests/unit/sparse.c $(UNIT_CORE_SOURCES)
tests_unit_sparse_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_sparse_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/vmstat
tests_unit_vmstat_SOURCES = tests/unit/vmstat.c tests/unit/layout.c \
	tests/unit/layout.h tests/unit/report_lines.h $(UNIT_CORE_SOURCES)
tests_unit_vmstat_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_vmstat_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/unit/data/buddyinfo.txt tests/unit/data/pagetypeinfo.txt
# vmstat and page_api compare our layouts with the kernel's, copied into
# data/ from the live /proc files.
AM_TESTS_ENVIRONMENT += \
	BUDDY_TEST_DATA='$(top_srcdir)/tests/unit/data'; export BUDDY_TEST_DATA;

UNIT_TESTS += tests/unit/model
tests_unit_model_SOURCES = tests/unit/model.c $(UNIT_CORE_SOURCES)
tests_unit_model_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_model_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/checker_fails
tests_unit_checker_fails_SOURCES = tests/unit/checker_fails.c \
	$(UNIT_CORE_SOURCES)
tests_unit_checker_fails_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_checker_fails_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/page_api
tests_unit_page_api_SOURCES = tests/unit/page_api.c tests/unit/layout.c \
	tests/unit/layout.h
tests_unit_page_api_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/include
tests_unit_page_api_LDADD = libbuddymalloc.la tests/lib/libtap.la


# --- unit tests of core/ additions -------------------------------------
# huge.c (direct mappings), resize_pages_exact/alloc_pages_exact_aligned,
# release_free_pages (malloc_trim), core_fork_* (fork and abandon).

UNIT_TESTS += tests/unit/huge
tests_unit_huge_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_huge_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/resize
tests_unit_resize_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_resize_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/trim
tests_unit_trim_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_trim_LDADD = $(UNIT_LDADD)

# budget: the memory budget, watermarks and lowmem_reserve (core/budget.c)
# and the slow path around them (direct reclaim, NORETRY, RETRY_MAYFAIL,
# NOWAIT, NOFAIL, LOW32 falling back only down to its reserve).
UNIT_TESTS += tests/unit/budget
tests_unit_budget_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_budget_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/fork_child
tests_unit_fork_child_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_fork_child_LDADD = $(UNIT_LDADD)

# --- per-CPU page lists ------------------------------------------------
# pcp.c: refill and spill by batch, counts never above high with threads
# pinned to different CPUs, drains, exact frees, high and batch following
# the zone and the settings, fork with a pcp lock held. The tests of the
# buddy lists themselves run with the lists disabled (unit_util.h,
# buddy_lists_only); model.c runs with them.

UNIT_TESTS += tests/unit/pcp
tests_unit_pcp_SOURCES = tests/unit/pcp.c $(UNIT_CORE_SOURCES)
tests_unit_pcp_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_pcp_LDADD = $(UNIT_LDADD)


# --- nodes -------------------------------------------------------------
#
# numa: numa_fake 2; allocations come from the running CPU's node (the
# thread pinned to a CPU of each node in turn), fall back to the other node
# when the local zones are full, and frees go back to the block's zone;
# the reports list both nodes (layout.c checks the kernel's layouts).

UNIT_TESTS += tests/unit/numa
tests_unit_numa_SOURCES = tests/unit/numa.c tests/unit/layout.c \
	tests/unit/layout.h tests/unit/report_lines.h $(UNIT_CORE_SOURCES)
tests_unit_numa_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_numa_LDADD = $(UNIT_LDADD)

# numa_topology: the topology read from sysfs-shaped trees in data/sysfs/
# (several real nodes, one, none, too many, unreadable), with and without
# numa_fake.
UNIT_TESTS += tests/unit/numa_topology
tests_unit_numa_topology_SOURCES = tests/unit/numa_topology.c \
	$(UNIT_CORE_SOURCES)
tests_unit_numa_topology_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_numa_topology_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/unit/data/sysfs


# --- preload tests -----------------------------------------------------
# conf: the BUDDYMALLOC_CONF parser of preload/conf.c, called directly
# (compiled into the test with the test core; no malloc replacement).
# bad_free: double, invalid and interior frees and reallocs, each in a
# re-executed child, checking the exact line on stderr and the outcome for
# the default, bad_free:abort and bad_free:report (linked with the real
# libbuddymalloc.la, so its malloc is ours).

PRELOAD_TEST_CPPFLAGS = $(UNIT_CPPFLAGS) -I$(top_srcdir)/slab \
	-I$(top_srcdir)/preload

UNIT_TESTS += tests/preload/conf
tests_preload_conf_SOURCES = tests/preload/conf.c preload/conf.c
tests_preload_conf_CPPFLAGS = $(PRELOAD_TEST_CPPFLAGS)
tests_preload_conf_LDADD = slab/libbuddyslab_test.la $(UNIT_LDADD)

UNIT_TESTS += tests/preload/bad_free
tests_preload_bad_free_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/include \
	-I$(top_srcdir)/core
tests_preload_bad_free_LDADD = libbuddymalloc.la tests/lib/libtap.la
tests_preload_bad_free_LDFLAGS = -no-install

# secure: a set-user-ID copy of bad_free ignores BUDDYMALLOC_CONF.
SCRIPT_TESTS += tests/preload/secure.sh


# =========================================================================
# API, stress and real-program tests
# =========================================================================
#
# tests/api/NAME.c (the public malloc API) and tests/stress/NAME.c (threads,
# fork, thread exit) are each built twice and run twice:
#
#   tests/api/NAME                  linked with libbuddymalloc.la, so its
#                                   malloc is ours; run as it is;
#   tests/api/preload/NAME.preload  linked with nothing of ours; run by
#                                   tests/api/run-preloaded.sh under
#                                   LD_PRELOAD=$BUDDYMALLOC_SO.
#
# (likewise tests/stress/NAME and tests/stress/preload/NAME.preload.) Every
# program starts with test_served_by_buddymalloc (tests/api/api_util.c),
# which fails unless our allocator really served it, so neither build can
# pass on glibc's malloc by mistake. To validate the tests themselves
# against glibc or another allocator, run them with BUDDY_TEST_ANY_MALLOC=1
# (that check then skips), e.g. the preloaded half against jemalloc:
#
#	make check TESTS="$(API_PRELOAD_TESTS)" BUDDY_TEST_ANY_MALLOC=1 \
#		BUDDYMALLOC_SO=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
#
# tests/programs/NAME.sh run real programs (python3, sqlite3, gcc, git,
# sort, perl, shell tools) with and without the library and compare their
# output; see tests/programs/lib.sh. A missing program is a TAP SKIP.
#
# Adding an API or stress test NAME: one line in tests/api/tests.list
# (its header says the format), then run
#
#	scripts/gen-api-tests >tests/api/tests.mk
#
# which writes both lists (API_LINKED_TESTS, API_PRELOAD_TESTS) and both
# builds' variables: SOURCES tests/DIR/NAME.c, CPPFLAGS $(API_CPPFLAGS),
# LDADD $(API_LINKED_LDADD) or $(API_PLAIN_LDADD) plus the line's libraries,
# LDFLAGS -no-install for the linked build (and for the preloaded one when
# it links a libtool library).

API_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/include \
	-I$(top_srcdir)/tests/api
# -no-install: a real binary with an rpath to .libs, not a libtool wrapper.
API_LINKED_LDADD = libbuddymalloc.la tests/api/libapiutil.la \
	tests/lib/libtap.la $(PTHREAD_LIBS)
API_PLAIN_LDADD = tests/api/libapiutil.la tests/lib/libtap.la $(PTHREAD_LIBS)

check_LTLIBRARIES += tests/api/libapiutil.la
tests_api_libapiutil_la_SOURCES = tests/api/api_util.c tests/api/api_util.h
tests_api_libapiutil_la_CPPFLAGS = $(API_CPPFLAGS)

# The two lists and every build's variables, from tests/api/tests.list.
include $(srcdir)/tests/api/tests.mk
EXTRA_DIST += tests/api/tests.list scripts/gen-api-tests

# tests/generated.sh: tests/api/tests.mk is what scripts/gen-api-tests
# makes of tests/api/tests.list.
SCRIPT_TESTS += tests/generated.sh

# A library whose atfork handlers allocate, linked into fork_handlers so
# that its constructor runs before libbuddymalloc's (preloaded, or linked
# first). -rpath makes libtool build it shared.
check_LTLIBRARIES += tests/stress/libatfork_alloc.la
tests_stress_libatfork_alloc_la_SOURCES = tests/stress/atfork_alloc.c
tests_stress_libatfork_alloc_la_LDFLAGS = -rpath /nowhere -avoid-version
tests_stress_libatfork_alloc_la_LIBADD = $(PTHREAD_LIBS)

check_PROGRAMS += $(API_LINKED_TESTS) $(API_PRELOAD_TESTS)
TESTS += $(API_LINKED_TESTS) $(API_PRELOAD_TESTS)

# NAME.preload runs through run-preloaded.sh, under the same TAP driver.
TEST_EXTENSIONS += .preload
PRELOAD_LOG_DRIVER = $(LOG_DRIVER)
PRELOAD_LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/api/run-preloaded.sh
EXTRA_DIST += tests/api/run-preloaded.sh

# The library to preload; a BUDDYMALLOC_SO from the environment wins.
AM_TESTS_ENVIRONMENT += \
	BUDDYMALLOC_SO=$${BUDDYMALLOC_SO:-'$(abs_top_builddir)/.libs/libbuddymalloc.so'}; \
	export BUDDYMALLOC_SO;

# Real programs, with and without the library.
PROGRAM_TESTS = \
	tests/programs/python.sh \
	tests/programs/python_testsuite.sh \
	tests/programs/python_fork_threads.sh \
	tests/programs/sqlite3.sh \
	tests/programs/gcc.sh \
	tests/programs/git.sh \
	tests/programs/sort.sh \
	tests/programs/perl.sh \
	tests/programs/shell_tools.sh

TESTS += $(PROGRAM_TESTS)
EXTRA_DIST += $(PROGRAM_TESTS) \
	tests/programs/lib.sh \
	tests/programs/alloc_heavy.py \
	tests/programs/workload.sql

# hardening.sh: every API program (preloaded), stress/threads and
# stress/thread_exit under BUDDYMALLOC_CONF=hardening:junk, :redzone and
# :guard; stress/fork and unit/os_fault under :guard (it runs programs
# built above).
SCRIPT_TESTS += tests/api/hardening.sh

# --- live inspection ---------------------------------------------------
# inspect_tree: every buddymalloc_stats_print layout, the JSON form, and
# the mallctl tree against doc/man/inspection.roff (python3, preloaded).
# attach: buddymalloc --attach PID, and kill + cat, on a running cat.
SCRIPT_TESTS += tests/api/inspect_tree.sh tests/attach.sh
# top: scripts/buddymalloc-top samples a running cat (python3).
SCRIPT_TESTS += tests/top.sh
EXTRA_DIST += tests/api/inspect_tree.py doc/man/inspection.roff

# --- unit tests of slab/ -----------------------------------------------

UNIT_TESTS += tests/unit/slab
tests_unit_slab_CPPFLAGS = $(UNIT_CPPFLAGS) -I$(top_srcdir)/slab
tests_unit_slab_LDADD = slab/libbuddyslab_test.la $(UNIT_LDADD)

UNIT_TESTS += tests/unit/slab_meta
tests_unit_slab_meta_CPPFLAGS = $(UNIT_CPPFLAGS) -I$(top_srcdir)/slab
tests_unit_slab_meta_LDADD = slab/libbuddyslab_test.la $(UNIT_LDADD)

# slab_release: the free pages inside partly used slabs go back to the OS
# (slab_release_free_pages) and come back when their objects are reused.
UNIT_TESTS += tests/unit/slab_release
tests_unit_slab_release_CPPFLAGS = $(UNIT_CPPFLAGS) -I$(top_srcdir)/slab
tests_unit_slab_release_LDADD = slab/libbuddyslab_test.la $(UNIT_LDADD)

# lifetime: the lifetime classifier (slab/lifetime.c) on synthetic sites
# with a clock the test drives: short and long sites, a site that flips,
# stability under noise, a mixed (wrapper) site split by call depth.
UNIT_TESTS += tests/unit/lifetime
tests_unit_lifetime_CPPFLAGS = $(UNIT_CPPFLAGS) -I$(top_srcdir)/slab
tests_unit_lifetime_LDADD = slab/libbuddyslab_test.la $(UNIT_LDADD)

# lifetime_malloc: the classifier through malloc (built as cpu_cache_step
# below: preload/'s sources with the shipped libraries, so the test reads
# where blocks went): learnt sites end in UNMOVABLE and MOVABLE slabs and
# pageblocks, hints override, sampled objects are live everywhere (realloc,
# a forked child, a double free reported), classifier:false as before.
UNIT_TESTS += tests/unit/lifetime_malloc
tests_unit_lifetime_malloc_SOURCES = tests/unit/lifetime_malloc.c \
	$(PRELOAD_SOURCES)
tests_unit_lifetime_malloc_CPPFLAGS = $(libbuddymalloc_la_CPPFLAGS) \
	-I$(top_srcdir)/tests/include -DBUDDY_TEST_HOOKS
tests_unit_lifetime_malloc_CFLAGS = $(libbuddymalloc_la_CFLAGS)
tests_unit_lifetime_malloc_LDADD = slab/libbuddyslab_test.la core/libbuddycore.la \
	tests/lib/libtap.la $(PTHREAD_LIBS)

# --- per-CPU object caches ---------------------------------------------
# cpu_cache: slab/cpu_cache.c in the mode this process gets (rseq where
# glibc registered it). cpu_cache_fallback.sh: the same test with rseq off
# and with the fallback forced, plus unit/slab and stress/threads with rseq
# off (it runs programs built above).

UNIT_TESTS += tests/unit/cpu_cache
tests_unit_cpu_cache_CPPFLAGS = $(UNIT_CPPFLAGS) -I$(top_srcdir)/slab
tests_unit_cpu_cache_LDADD = slab/libbuddyslab_test.la $(UNIT_LDADD)

SCRIPT_TESTS += tests/unit/cpu_cache_fallback.sh

# kfree_fast: the lookups of the inline fast paths (slab/kmalloc_fast.h)
# against the slow paths' (every address of a slab of every class).
UNIT_TESTS += tests/unit/kfree_fast
tests_unit_kfree_fast_CPPFLAGS = $(UNIT_CPPFLAGS) -I$(top_srcdir)/slab
tests_unit_kfree_fast_LDADD = slab/libbuddyslab_test.la $(UNIT_LDADD)

# --- valgrind ----------------------------------------------------------
# valgrind.sh: API tests (built above) under memcheck with
# --soname-synonyms=somalloc=nouserintercepts, so that our malloc serves
# them, not memcheck's; and one run without it, which their
# served-by-libbuddymalloc check must fail. SKIP without valgrind.

SCRIPT_TESTS += tests/valgrind.sh
# misuse: a heap overflow and a use after free for memcheck to report
# (valgrind.sh runs it preloaded); not a test by itself.
check_PROGRAMS += tests/valgrind/misuse
AM_TESTS_ENVIRONMENT += \
	BUDDY_VALGRIND_REQUESTS='$(BUDDY_VALGRIND_REQUESTS)'; \
	export BUDDY_VALGRIND_REQUESTS;

# cpu_cache_step: malloc() and free() in rseq mode, single-stepped with the
# trap flag and migrated to another CPU at each instruction boundary before
# the critical section; the count must move on the CPU the thread ends on
# (catches a cpu_id read outside the section). Built from preload/'s
# sources with the shipped slab and core libraries and the shipped flags,
# so its malloc and free are the library's, and the test reaches
# cpu_cache_count().
UNIT_TESTS += tests/unit/cpu_cache_step
tests_unit_cpu_cache_step_SOURCES = tests/unit/cpu_cache_step.c \
	$(PRELOAD_SOURCES)
tests_unit_cpu_cache_step_CPPFLAGS = $(libbuddymalloc_la_CPPFLAGS) \
	-I$(top_srcdir)/tests/include -DBUDDY_TEST_HOOKS
tests_unit_cpu_cache_step_CFLAGS = $(libbuddymalloc_la_CFLAGS)
tests_unit_cpu_cache_step_LDADD = slab/libbuddyslab_test.la core/libbuddycore.la \
	tests/lib/libtap.la $(PTHREAD_LIBS)

# --- reclaim threads and decay -----------------------------------------
# kswapd: the thread woken below low and stopping at high, decay on a
# driven clock, a fork while the thread has pageblocks isolated.
# kswapd_inline: the same source with reclaim_threads 0 (decay inline).

UNIT_TESTS += tests/unit/kswapd
tests_unit_kswapd_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_kswapd_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/kswapd_inline
tests_unit_kswapd_inline_SOURCES = tests/unit/kswapd.c
tests_unit_kswapd_inline_CPPFLAGS = $(UNIT_CPPFLAGS) -DKSWAPD_THREADS=0
tests_unit_kswapd_inline_LDADD = $(UNIT_LDADD)

# --- re-typing pageblocks ----------------------------------------------
# retype: the scan's rules on a driven clock, the checker after each
# re-type, and the reclaim thread running the scan by itself.
# retype_inline: the same source with reclaim_threads 0 (the scan inline).

UNIT_TESTS += tests/unit/retype
tests_unit_retype_SOURCES = tests/unit/retype.c $(UNIT_CORE_SOURCES)
tests_unit_retype_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_retype_LDADD = $(UNIT_LDADD)

UNIT_TESTS += tests/unit/retype_inline
tests_unit_retype_inline_SOURCES = tests/unit/retype.c $(UNIT_CORE_SOURCES)
tests_unit_retype_inline_CPPFLAGS = $(UNIT_CPPFLAGS) -DRETYPE_THREADS=0
tests_unit_retype_inline_LDADD = $(UNIT_LDADD)

# --- the soak ----------------------------------------------------------
# tests/stress/soak.c: 16 threads, mixed sizes up to direct mappings,
# realloc chains, the memalign family, frees across threads, forks, threads
# replaced, the budget (limit:512m) making allocations fail, the reclaim
# thread running; every block checked before it is freed; resident memory
# sampled. Preloaded only. Not in TESTS: "make check-soak" runs it for
# SOAK_SECONDS (default 600) with the flatness verdict asserted, alone, so
# that it neither slows the parallel suite nor is slowed by it;
# scripts/run-tests runs it for 60 s after "make check" (its .trs counts in
# the final line). Its own summary goes to tests/soak-suite.log, so the
# suite's test-suite.log is kept.
check_PROGRAMS += tests/stress/preload/soak.preload
tests_stress_preload_soak_preload_SOURCES = tests/stress/soak.c
tests_stress_preload_soak_preload_CPPFLAGS = $(API_CPPFLAGS)
tests_stress_preload_soak_preload_LDADD = $(API_PLAIN_LDADD)

SOAK_TESTS = tests/stress/preload/soak.preload
SOAK_SECONDS = 600
SOAK_REQUIRE_FLAT = 1
check-soak:
	SOAK_SECONDS='$(SOAK_SECONDS)' SOAK_REQUIRE_FLAT='$(SOAK_REQUIRE_FLAT)' \
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(SOAK_TESTS)' \
		TEST_SUITE_LOG=tests/soak-suite.log
.PHONY: check-soak

# --- fault injection ---------------------------------------------------
# os_fault: mmap, munmap, madvise and mremap fail every Nth call (core/os.c,
# test builds: test_os_fault_set); malloc and friends return NULL with
# ENOMEM or keep the memory, blocks keep their contents, the zones stay
# consistent, and after the faults stop allocation succeeds and memory
# goes back. Built as lifetime_malloc is (preload/'s sources) but with the
# test core, for its hooks and checker.
UNIT_TESTS += tests/unit/os_fault
tests_unit_os_fault_SOURCES = tests/unit/os_fault.c $(UNIT_CORE_SOURCES) \
	$(PRELOAD_SOURCES)
tests_unit_os_fault_CPPFLAGS = $(libbuddymalloc_la_CPPFLAGS) \
	-I$(top_srcdir)/tests/include -DBUDDY_TEST_HOOKS
tests_unit_os_fault_CFLAGS = $(libbuddymalloc_la_CFLAGS)
tests_unit_os_fault_LDADD = slab/libbuddyslab_test.la core/libbuddycore_test.la \
	tests/lib/libtap.la $(PTHREAD_LIBS)

# --- sanitizer builds --------------------------------------------------
# In a build directory configured with --enable-asan or --enable-tsan
# (scripts/run-tests makes build-san/asan and build-san/tsan), "make
# check-sanitizer" builds and runs only these programs: the tests that link
# core/ and slab/ themselves. A program whose malloc is ours (a .preload,
# api/, stress/, page_api, bad_free, lifetime_malloc, cpu_cache_step) does
# not belong: each sanitizer's runtime replaces malloc, and a preloaded one
# cannot run under it at all. Only the test programs and what they link are
# built (check-TESTS with check_PROGRAMS set to them: not the other tests,
# the library, bench/ or examples/).
#
# ASan + UBSan: every such unit test. Any report fails the test (UBSan
# stops at the first finding; ASan exits non-zero, leaks included).
SANITIZER_TESTS = \
	tests/unit/tap_selftest tests/unit/free_area tests/unit/split_merge \
	tests/unit/fallback tests/unit/pageblock tests/unit/exact \
	tests/unit/page_owner tests/unit/sparse tests/unit/vmstat \
	tests/unit/model tests/unit/checker_fails tests/unit/huge \
	tests/unit/resize tests/unit/trim tests/unit/budget \
	tests/unit/fork_child tests/unit/pcp tests/unit/numa \
	tests/unit/numa_topology tests/preload/conf tests/unit/slab \
	tests/unit/slab_release tests/unit/lifetime tests/unit/cpu_cache \
	tests/unit/kfree_fast tests/unit/kswapd tests/unit/kswapd_inline \
	tests/unit/retype tests/unit/retype_inline

# TSan: the unit tests that run threads (or fork while threads run). The
# per-CPU caches run in their fallback mode (glibc registers no rseq area:
# GLIBC_TUNABLES=glibc.pthread.rseq=0), where every stack is under its
# CPU's lock, a __atomic spinlock TSan understands. In rseq mode a stack is
# handed between threads by plain loads and stores inside inline assembly
# that TSan does not see, ordered by the kernel (a restart on preemption)
# and by membarrier for a drain: TSan would report each hand-off of an
# object as a race. The rseq mode's own protocol is tested natively
# (unit/cpu_cache, unit/cpu_cache_step, stress/threads). liburcu's atomics
# are the compiler's builtins in this build (tests/sanitizer/urcu_tsan.h,
# configure.ac): TSan does not see volatile accesses or inline assembly
# as atomic. tests/sanitizer/tsan.supp holds the suppressions, each with
# its reason.
#
# Not here: unit/kswapd, which counts the process's threads (TSan's
# runtime adds one of its own).
TSAN_TESTS = \
	tests/unit/page_owner tests/unit/trim tests/unit/fork_child \
	tests/unit/numa tests/unit/pcp tests/unit/cpu_cache \
	tests/unit/kfree_fast tests/unit/kswapd_inline \
	tests/unit/retype tests/unit/retype_inline

# The model test runs a fifth of its operations (the whole million runs
# in the plain build): under ASan it takes several times as long.
SANITIZER_ENVIRONMENT_asan = \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	BUDDY_MODEL_OPS=200000
SANITIZER_ENVIRONMENT_tsan = \
	GLIBC_TUNABLES=glibc.pthread.rseq=0 \
	TSAN_OPTIONS=exitcode=86:second_deadlock_stack=1:suppressions=$(abs_top_srcdir)/tests/sanitizer/tsan.supp
EXTRA_DIST += tests/sanitizer/urcu_tsan.h tests/sanitizer/tsan.supp
SANITIZER_TESTS_asan = $(SANITIZER_TESTS)
SANITIZER_TESTS_tsan = $(TSAN_TESTS)

check-sanitizer:
	@if test "$(BUDDY_SANITIZER)" = none; then \
		echo "check-sanitizer: configure with --enable-asan or --enable-tsan" >&2; \
		exit 1; \
	fi
	env $(SANITIZER_ENVIRONMENT_$(BUDDY_SANITIZER)) \
		$(MAKE) $(AM_MAKEFLAGS) check-TESTS \
		TESTS="$(SANITIZER_TESTS_$(BUDDY_SANITIZER))" \
		check_PROGRAMS="$(SANITIZER_TESTS_$(BUDDY_SANITIZER))"
.PHONY: check-sanitizer
