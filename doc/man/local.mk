# doc/man/local.mk - the manual pages buddymalloc(1) and buddymalloc(3), and
# the README's settings table.
#
# The settings are documented once, in preload/conf.c's options table:
# doc/man/gen_settings (built from that table) writes the SETTINGS section
# of buddymalloc(3) and the README's table, as BUDDYMALLOC_CONF=help shows
# the same rows at run time. buddymalloc.3 is made of:
#   doc/man/buddymalloc.3.in   the hand-written part (API, environment,
#                              files), with two placeholder lines:
#     @SETTINGS@               doc/man/settings.roff (generated)
#     @INSPECTION@             doc/man/inspection.roff (STATISTICS and
#                              MALLCTL: the reports and the mallctl names)
# The pages are built, not distributed (the table may change with conf.c).

noinst_PROGRAMS += doc/man/gen_settings
doc_man_gen_settings_SOURCES = doc/man/gen_settings.c preload/conf.c
doc_man_gen_settings_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/core \
	-I$(top_srcdir)/slab -I$(top_srcdir)/preload
doc_man_gen_settings_LDADD = slab/libbuddyslab.la core/libbuddycore.la \
	$(PTHREAD_LIBS)

man_MANS = doc/man/buddymalloc.1 doc/man/buddymalloc.3

doc/man/settings.roff: doc/man/gen_settings$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) doc/man && \
	doc/man/gen_settings$(EXEEXT) man >$@.tmp && mv $@.tmp $@

man_edit = $(preload_edit) \
	-e 's|@LIBBUDDYMALLOC[@]|$(libdir)/libbuddymalloc.so.$(BUDDY_SO_MAJOR)|g'

doc/man/buddymalloc.3: $(srcdir)/doc/man/buddymalloc.3.in \
		doc/man/settings.roff $(srcdir)/doc/man/inspection.roff Makefile
	$(AM_V_GEN)$(MKDIR_P) doc/man && rm -f $@ $@.tmp && \
	$(man_edit) \
		-e '/^@SETTINGS@$$/{' -e 'r doc/man/settings.roff' -e 'd' -e '}' \
		-e '/^@INSPECTION@$$/{' -e 'r $(srcdir)/doc/man/inspection.roff' \
		-e 'd' -e '}' \
		$(srcdir)/doc/man/buddymalloc.3.in >$@.tmp && mv $@.tmp $@

doc/man/buddymalloc.1: $(srcdir)/doc/man/buddymalloc.1.in Makefile
	$(AM_V_GEN)$(MKDIR_P) doc/man && rm -f $@ $@.tmp && \
	$(man_edit) $(srcdir)/doc/man/buddymalloc.1.in >$@.tmp && \
	mv $@.tmp $@

EXTRA_DIST += doc/man/buddymalloc.1.in doc/man/buddymalloc.3.in \
	doc/man/inspection.roff
CLEANFILES += doc/man/settings.roff doc/man/settings.roff.tmp \
	doc/man/buddymalloc.1 doc/man/buddymalloc.3

# The README's settings table, between its two marker lines, is a copy of
# "doc/man/gen_settings markdown"; tests/readme_settings.sh checks that it
# is current, "make update-readme" rewrites it.
README_TABLE_BEGIN = <!-- settings table: made by doc/man/gen_settings (make update-readme) -->
README_TABLE_END = <!-- end of the settings table -->
update-readme: doc/man/gen_settings$(EXEEXT)
	$(AM_V_GEN)doc/man/gen_settings$(EXEEXT) markdown >README.table.tmp && \
	$(AWK) -v b='$(README_TABLE_BEGIN)' -v e='$(README_TABLE_END)' \
		-v t=README.table.tmp ' \
		$$0 == b { print; while ((getline l < t) > 0) print l; skip = 1; next } \
		$$0 == e { skip = 0 } !skip' \
		$(srcdir)/README.md >README.md.tmp && \
	rm -f README.table.tmp && mv README.md.tmp $(srcdir)/README.md
.PHONY: update-readme
