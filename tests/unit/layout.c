/*
 * layout.c - see layout.h.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "tap.h"

const char *const layout_type_names[LAYOUT_TYPES] = {
	"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate",
};

bool match_layout(const char *fmt, const char *line, struct fields *f,
		  char *why, size_t why_len)
{
	const char *l = line;

	memset(f, 0, sizeof(*f));
	for (const char *p = fmt; *p; p++) {
		bool left = false, numeric;
		int width = 0;
		const char *start = l, *text;
		size_t len, pad, field;
		char stop;

		if (*p != '%') {
			if (*l != *p) {
				snprintf(why, why_len, "column %d: '%c' where the "
					 "format has '%c'", (int)(l - line),
					 *l ? *l : '$', *p);
				return false;
			}
			l++;
			continue;
		}
		p++;
		if (*p == '-') {
			left = true;
			p++;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		if (*p == 'l')
			p++;
		numeric = *p == 'd' || *p == 'u';
		stop = p[1];

		/* The field: padding and text. */
		pad = 0;
		if (!left)
			while (l[pad] == ' ')
				pad++;
		text = l + pad;
		len = 0;
		if (numeric) {
			if (text[len] == '-' && *p == 'd')
				len++;
			while (text[len] >= '0' && text[len] <= '9')
				len++;
		} else {
			while (text[len] && text[len] != ' ' && text[len] != stop)
				len++;
		}
		if (len == 0 || (numeric && text[len - 1] == '-')) {
			snprintf(why, why_len, "column %d: no %s for %%%s%d%c",
				 (int)(start - line), numeric ? "number" : "word",
				 left ? "-" : "", width, *p);
			return false;
		}
		if (left)
			while (text[len + pad] == ' ' && len + pad < (size_t)width)
				pad++;
		field = len > (size_t)width ? len : (size_t)width;
		if (len + pad != field) {
			snprintf(why, why_len, "column %d: field of %zu columns "
				 "for width %d", (int)(start - line), len + pad,
				 width);
			return false;
		}
		if (numeric && f->nr_num < LAYOUT_MAX_FIELDS)
			f->num[f->nr_num++] = strtoul(text, NULL, 10);
		if (!numeric && f->nr_str < 4)
			snprintf(f->str[f->nr_str++], sizeof(f->str[0]), "%.*s",
				 (int)len, text);
		l = start + field;
	}
	if (*l) {
		snprintf(why, why_len, "column %d: \"%s\" past the end of the "
			 "format", (int)(l - line), l);
		return false;
	}
	return true;
}

char buddyinfo_fmt[256], pt_row_fmt[256], pt_blocks_fmt[256];

void layout_init(void)
{
	strcpy(buddyinfo_fmt, "Node %d, zone %8s ");
	strcpy(pt_row_fmt, "Node %4d, zone %8s, type %12s ");
	strcpy(pt_blocks_fmt, "Node %d, zone %8s ");
	for (int o = 0; o < LAYOUT_ORDERS; o++) {
		strcat(buddyinfo_fmt, "%6lu ");
		strcat(pt_row_fmt, "%6lu ");
	}
	for (int mt = 0; mt < LAYOUT_TYPES; mt++)
		strcat(pt_blocks_fmt, "%12lu ");
}

void pt_fixed_line(int which, char *buf, size_t len)
{
	size_t n;

	switch (which) {
	case 0:
		snprintf(buf, len, "Page block order: %d", LAYOUT_PAGEBLOCK_ORDER);
		break;
	case 1:
		snprintf(buf, len, "Pages per block:  %lu",
			 1UL << LAYOUT_PAGEBLOCK_ORDER);
		break;
	case 2:
		n = (size_t)snprintf(buf, len, "%-43s ",
				     "Free pages count per migrate type at order");
		for (int o = 0; o < LAYOUT_ORDERS; o++)
			n += (size_t)snprintf(buf + n, len - n, "%6d ", o);
		break;
	default:
		n = (size_t)snprintf(buf, len, "%-23s", "Number of blocks type ");
		for (int mt = 0; mt < LAYOUT_TYPES; mt++)
			n += (size_t)snprintf(buf + n, len - n, "%12s ",
					      layout_type_names[mt]);
		break;
	}
}

void split_lines(struct text *t, char *buf)
{
	char *p = buf;

	t->buf = buf;
	t->nr = 0;
	while (*p && t->nr < LAYOUT_MAX_LINES) {
		char *nl = strchr(p, '\n');

		t->line[t->nr++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
}

bool read_reference(const char *name, const char *dir, struct text *t)
{
	const char *env = getenv("BUDDY_TEST_DATA");
	const char *top = getenv("top_srcdir");
	char here[4096], path[8192];
	char *buf = calloc(1, 65536);
	size_t n;
	FILE *f;

	snprintf(here, sizeof(here), "%s", __FILE__);
	if (env && *env)
		snprintf(path, sizeof(path), "%s/%s", env, name);
	else if (top && *top)
		snprintf(path, sizeof(path), "%s/tests/unit/data/%s", top, name);
	else if (dir)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s/data/%s", dirname(here), name);
	f = fopen(path, "r");
	if (!f || !buf) {
		test_fail("cannot read %s (set BUDDY_TEST_DATA to the "
			  "directory tests/unit/data)", path);
		free(buf);
		if (f)
			fclose(f);
		t->buf = NULL;
		t->nr = 0;
		return false;
	}
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	split_lines(t, buf);
	return true;
}

/* A fixed line must be the kernel's byte for byte. */
static void expect_same_line(const char *got, const char *want,
			     const char *who, int line_no)
{
	if (strcmp(got, want))
		test_fail("%s: line %d is \"%s\"; the kernel's layout is \"%s\"",
			  who, line_no, got, want);
}

/*
 * "Page block order: 9" / "Pages per block:  512" / "" / title line /
 * LAYOUT_TYPES rows per zone / "" / "Number of blocks type ..." / one row
 * per zone.
 */
void check_pagetypeinfo(const struct text *t, const char *who, int nr_zones)
{
	char want[512], why[160];
	struct fields f;
	int i = 0;

	if (t->nr != 3 + 1 + nr_zones * LAYOUT_TYPES + 2 + nr_zones) {
		test_fail("%s: %d lines, not those of %d zones", who, t->nr,
			  nr_zones);
		return;
	}
	for (int k = 0; k < 2; k++, i++) {
		pt_fixed_line(k, want, sizeof(want));
		expect_same_line(t->line[i], want, who, i + 1);
	}
	expect_same_line(t->line[i], "", who, i + 1);
	i++;
	pt_fixed_line(2, want, sizeof(want));
	expect_same_line(t->line[i], want, who, i + 1);
	i++;
	for (int z = 0; z < nr_zones; z++)
		for (int mt = 0; mt < LAYOUT_TYPES; mt++, i++) {
			if (!match_layout(pt_row_fmt, t->line[i], &f, why,
					  sizeof(why))) {
				test_fail("%s: line %d \"%s\": %s", who, i + 1,
					  t->line[i], why);
				continue;
			}
			expect_str_eq(f.str[1], layout_type_names[mt],
				      "%s: line %d: the type column", who, i + 1);
		}
	expect_same_line(t->line[i], "", who, i + 1);
	i++;
	pt_fixed_line(3, want, sizeof(want));
	expect_same_line(t->line[i], want, who, i + 1);
	i++;
	for (int z = 0; z < nr_zones; z++, i++)
		if (!match_layout(pt_blocks_fmt, t->line[i], &f, why, sizeof(why)))
			test_fail("%s: line %d \"%s\": %s", who, i + 1,
				  t->line[i], why);
}
