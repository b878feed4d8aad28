# slab/local.mk - the object layer: size classes, slab caches, the kmalloc
# family (included by the top Makefile.am). A convenience library linked
# into libbuddymalloc.so after the core, and its test build (below).

SLAB_SOURCES = \
	slab/size_class.c \
	slab/slab.c \
	slab/kmalloc.c \
	slab/cpu_cache.c \
	slab/lifetime.c

SLAB_HDRS = \
	slab/slab.h \
	slab/slab_internal.h \
	slab/size_class.h \
	slab/cpu_cache.h \
	slab/kmalloc_fast.h \
	slab/lifetime.h

noinst_LTLIBRARIES += slab/libbuddyslab.la
slab_libbuddyslab_la_SOURCES = $(SLAB_SOURCES)
slab_libbuddyslab_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core \
	-I$(top_srcdir)/slab

noinst_HEADERS += $(SLAB_HDRS)

# The test build: the same sources with -DBUDDY_TEST_HOOKS (test accessors
# such as cpu_cache_count and cpu_cache_force_fallback), linked by the
# tests of slab/ with the test core; built only by "make check", so the
# accessors never reach libbuddymalloc.so.
check_LTLIBRARIES += slab/libbuddyslab_test.la
slab_libbuddyslab_test_la_SOURCES = $(SLAB_SOURCES)
slab_libbuddyslab_test_la_CPPFLAGS = $(slab_libbuddyslab_la_CPPFLAGS) \
	-DBUDDY_TEST_HOOKS
