/*
 * report_lines.h - a core report's text as lines, for the unit tests that
 * check the reports (vmstat.c, numa.c). Needs the core's seq_buf.h.
 */
#ifndef BUDDY_TEST_REPORT_LINES_H
#define BUDDY_TEST_REPORT_LINES_H

#include <stdlib.h>

#include "layout.h"
#include "seq_buf.h"

/* What the report fn prints (buddyinfo_show, ...), cut into t's lines. */
static inline void report_lines(void (*fn)(struct seq_buf *), struct text *t)
{
	char *buf = calloc(1, 65536);
	struct seq_buf s;

	seq_buf_init(&s, buf, 65536, NULL, NULL);
	fn(&s);
	split_lines(t, buf);
}

#endif /* BUDDY_TEST_REPORT_LINES_H */
