# slab/local.mk - the object layer: size classes, slab caches, the kmalloc
# family (included by the top Makefile.am). One convenience library, linked
# into libbuddymalloc.so after the core and by the tests of slab/.

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
