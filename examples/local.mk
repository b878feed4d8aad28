# examples/local.mk - programs that use the public API (included by the top
# Makefile.am). They see only include/ (AM_CPPFLAGS), never core/, and link
# the real shared library. -no-install: the binary runs from the build tree
# as it is (rpath to .libs), without a libtool wrapper script.

noinst_PROGRAMS += examples/page_demo
examples_page_demo_SOURCES = examples/page_demo.c
examples_page_demo_LDADD = libbuddymalloc.la
examples_page_demo_LDFLAGS = -no-install
