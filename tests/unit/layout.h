/*
 * layout.h - the kernel's /proc/buddyinfo and /proc/pagetypeinfo layouts as
 * format strings (mm/vmstat.c), a matcher that checks a line against such a
 * format column by column, and the reference copies of the live kernel's
 * files in tests/unit/data/. Shared by vmstat.c (the core's reports, checked
 * against the zones) and page_api.c (the same reports through the public
 * buddymalloc_stats_print). Needs only the public header.
 */
#ifndef BUDDY_TEST_LAYOUT_H
#define BUDDY_TEST_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "buddymalloc.h"

#define LAYOUT_ORDERS	(BUDDY_MAX_PAGE_ORDER + 1)
#define LAYOUT_TYPES	5	/* Unmovable .. Isolate, as the kernel's */
#define LAYOUT_PAGEBLOCK_ORDER	9

extern const char *const layout_type_names[LAYOUT_TYPES];

/* What a matched line held. */
#define LAYOUT_MAX_FIELDS	16
struct fields {
	unsigned long num[LAYOUT_MAX_FIELDS];	/* numeric fields, in order */
	int nr_num;
	char str[4][32];			/* string fields, in order */
	int nr_str;
};

/*
 * Does line match fmt exactly? Conversions: %d %lu (optionally with a width
 * and '-'), %s with a width. A right-aligned field of width w holding text t
 * is exactly max(w, len(t)) characters: w - len(t) spaces, then t; left
 * aligned, t then the spaces. A %s word runs to the next space or to the
 * next literal character of fmt. On a mismatch, why says where.
 */
bool match_layout(const char *fmt, const char *line, struct fields *f,
		  char *why, size_t why_len);

/* The kernel's row formats, columns repeated (set by layout_init()):
 *   buddyinfo:     "Node %d, zone %8s " + "%6lu " per order
 *   pagetypeinfo:  "Node %4d, zone %8s, type %12s " + "%6lu " per order
 *   blocks:        "Node %d, zone %8s " + "%12lu " per type */
extern char buddyinfo_fmt[256], pt_row_fmt[256], pt_blocks_fmt[256];
void layout_init(void);

/* pagetypeinfo's fixed lines, made with the real printf: 0 "Page block
 * order: 9", 1 "Pages per block:  512", 2 the title line with the order
 * columns, 3 the "Number of blocks type" header with the type columns. */
void pt_fixed_line(int which, char *buf, size_t len);

/* Text cut into lines (the newlines replaced by NULs). */
#define LAYOUT_MAX_LINES	160
struct text {
	char *buf;	/* owned; free() it */
	char *line[LAYOUT_MAX_LINES];
	int nr;
};
void split_lines(struct text *t, char *buf);

/*
 * Read tests/unit/data/<name> into t, from the directory named by
 * BUDDY_TEST_DATA (make check sets it), else $top_srcdir/tests/unit/data,
 * else dir (argv[1] of the test, may be NULL), else beside layout.c.
 * Fails the current test and returns false if the file cannot be read.
 */
bool read_reference(const char *name, const char *dir, struct text *t);

/*
 * pagetypeinfo's structure, section by section, with the fixed lines byte
 * for byte and every row through the matcher; records failures as expect_*
 * does. who names the text in messages.
 */
void check_pagetypeinfo(const struct text *t, const char *who, int nr_zones);

#endif /* BUDDY_TEST_LAYOUT_H */
