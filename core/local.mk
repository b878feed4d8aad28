# core/local.mk - the buddy page allocator (included by the top Makefile.am).
#
# The same sources are built twice:
#   core/libbuddycore.la       linked into libbuddymalloc.so;
#   core/libbuddycore_test.la  with -DBUDDY_TEST_HOOKS and the checker
#                              (core/check.c), for the unit tests
#                              (tests/local.mk: UNIT_LDADD), so test-only
#                              hooks never reach the shipped library.
# Both are libtool convenience libraries (PIC archives, not installed); the
# test one is built only by "make check".

BUDDYCORE_SRCS = \
	core/os.c \
	core/sparse.c \
	core/pageblock.c \
	core/page_alloc.c \
	core/resident.c \
	core/zone.c \
	core/budget.c \
	core/vmstat.c \
	core/seq_buf.c \
	core/reclaim.c \
	core/vmscan.c \
	core/pcp.c \
	core/huge.c \
	core/fork.c

BUDDYCORE_HDRS = \
	core/mm_types.h \
	core/page_alloc.h \
	core/internal.h \
	core/seq_buf.h

BUDDYCORE_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core

noinst_LTLIBRARIES += core/libbuddycore.la
core_libbuddycore_la_SOURCES = $(BUDDYCORE_SRCS)
core_libbuddycore_la_CPPFLAGS = $(BUDDYCORE_CPPFLAGS)

# The test core: the same sources and the checker, which only tests use.
BUDDYCORE_TEST_SRCS = $(BUDDYCORE_SRCS) core/check.c

check_LTLIBRARIES += core/libbuddycore_test.la
core_libbuddycore_test_la_SOURCES = $(BUDDYCORE_TEST_SRCS)
core_libbuddycore_test_la_CPPFLAGS = $(BUDDYCORE_CPPFLAGS) -DBUDDY_TEST_HOOKS

noinst_HEADERS += $(BUDDYCORE_HDRS)
include_HEADERS += include/buddymalloc.h
