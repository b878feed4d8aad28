/*
 * fuzz_conf.c - the BUDDYMALLOC_CONF parser (preload/conf.c).
 *
 * The first byte of the input chooses how it is parsed (bit 0: as after
 * start-up, CONF_PARSE_LATE); the rest, up to its first NUL, is the
 * string. Linked with preload/conf.c, slab/ and core/ (no malloc
 * replacement), with the core initialised, so that the settings' hooks do
 * their real work (the budget and watermarks are recomputed).
 *
 * Any input parses without a crash, and:
 *   - every option's value is in its table row's range (a bool is 0 or 1,
 *     a choice names one of its choices);
 *   - each warning is one line of printable characters ending in '\n',
 *     with the fixed prefix, and there are as many as conf_parse returns
 *     (the "help" listing is printable text too, and is not counted);
 *   - the string parsed whole leaves the same settings as its entries
 *     parsed one by one, split at commas as the syntax says;
 *   - an entry that draws a warning changes nothing, so an unparsable
 *     string never weakens a setting; bad_free (the response to a bad
 *     free) becomes "report" only through an entry that is exactly
 *     bad_free:report, give or take spaces around key and value. A setting
 *     that weakens a check (bad_free) may also go back to its default
 *     where the string has a problem, whole or entry by entry (a stricter
 *     rule the parser may follow);
 *   - parsed late, the start-up-only options keep their values;
 *   - the core's watermarks stay ordered: min <= low <= high in every zone.
 */
#include <string.h>

#include "fuzz.h"
#include "internal.h"
#include "preload.h"

#define MAX_CONF	4096

/* ------------------------------------------------- settings as values */

/* The value of every option, as its table row reads it. */
struct snapshot {
	uint64_t v[64];
};

static uint64_t option_value(const struct conf_option *opt)
{
	switch (opt->type) {
	case CONF_BOOL:
		return *(const unsigned char *)opt->value;
	case CONF_SIZE:
		return *(const size_t *)opt->value;
	case CONF_STRING: {	/* FNV-1a of the text: equal texts, equal values */
		uint64_t h = 14695981039346656037ull;

		for (const char *c = opt->value; *c; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ull;
		return h;
	}
	default:
		return *(const unsigned int *)opt->value;
	}
}

static void snapshot(struct snapshot *s)
{
	fuzz_check(nr_conf_options <= 64, "more options than the snapshot holds");
	for (size_t i = 0; i < nr_conf_options; i++)
		s->v[i] = option_value(&conf_options[i]);
}

/*
 * Settings that weaken a check when changed from their default: a string
 * with a problem may send them back to it (rather than apply them), so
 * that a mistyped string never leaves a check weaker than it would be
 * without the string.
 */
static bool weakening(const struct conf_option *opt)
{
	return strcmp(opt->name, "bad_free") == 0;
}

/* The first option whose value differs from a in b, or -1; a weakening
 * setting may differ by being back at its default when reset is set. */
static long snapshot_diff(const struct snapshot *a, const struct snapshot *b,
			  const struct snapshot *defaults, bool reset)
{
	for (size_t i = 0; i < nr_conf_options; i++) {
		if (a->v[i] == b->v[i])
			continue;
		if (reset && weakening(&conf_options[i]) &&
		    b->v[i] == defaults->v[i])
			continue;
		return (long)i;
	}
	return -1;
}

static void check_ranges(void)
{
	for (size_t i = 0; i < nr_conf_options; i++) {
		const struct conf_option *opt = &conf_options[i];
		uint64_t v = option_value(opt);
		size_t n = 0;

		switch (opt->type) {
		case CONF_BOOL:
			fuzz_check(v <= 1, "%s: bool %lu", opt->name,
				   (unsigned long)v);
			break;
		case CONF_CHOICE:
			while (opt->choices[n])
				n++;
			fuzz_check(v < n, "%s: choice %lu of %zu", opt->name,
				   (unsigned long)v, n);
			break;
		case CONF_STRING:
			fuzz_check(strlen(opt->value) < opt->max, "%s: %zu bytes",
				   opt->name, strlen(opt->value));
			break;
		default:
			fuzz_check(v >= opt->min && v <= opt->max,
				   "%s: %lu outside %zu..%zu", opt->name,
				   (unsigned long)v, opt->min, opt->max);
			break;
		}
	}
}

/* ---------------------------------------------------------- warnings */

#define PREFIX	"buddymalloc: BUDDYMALLOC_CONF: "

static unsigned int nr_warnings;

static void capture(void *opaque, const char *text)
{
	size_t len = strlen(text);

	fuzz_check(len > 0 && text[len - 1] == '\n', "output without its "
		   "newline: \"%s\"", text);
	for (size_t i = 0; i < len; i++)
		fuzz_check(text[i] == '\n' || (text[i] >= ' ' && text[i] <= '~'),
			   "unprintable byte 0x%02x at %zu of \"%s\"",
			   (unsigned char)text[i], i, text);
	if (strncmp(text, PREFIX, strlen(PREFIX)) != 0)
		return;		/* the "help" listing */
	fuzz_check(memchr(text, '\n', len) == text + len - 1,
		   "a warning of several lines: \"%s\"", text);
	nr_warnings++;
}

static unsigned int parse(const char *conf, unsigned int flags)
{
	unsigned int problems;

	nr_warnings = 0;
	problems = conf_parse(conf, flags, capture, NULL);
	fuzz_check(problems == nr_warnings, "conf_parse returned %u, %u "
		   "warnings", problems, nr_warnings);
	return problems;
}

/* ------------------------------------------------------------- model */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **text, size_t *len)
{
	while (*len && is_space(**text)) {
		(*text)++;
		(*len)--;
	}
	while (*len && is_space((*text)[*len - 1]))
		(*len)--;
}

static bool text_is(const char *text, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(text, word, len) == 0;
}

/* Is entry (len bytes) exactly "bad_free:report", spaces aside? */
static bool entry_is_report(const char *entry, size_t len)
{
	const char *colon = memchr(entry, ':', len), *key = entry, *value;
	size_t key_len, value_len;

	if (!colon)
		return false;
	key_len = (size_t)(colon - entry);
	value = colon + 1;
	value_len = len - key_len - 1;
	trim(&key, &key_len);
	trim(&value, &value_len);
	return text_is(key, key_len, "bad_free") &&
	       text_is(value, value_len, "report");
}

static void check_watermarks(void)
{
	struct zone_stats st[MAX_ZONE_STATS];
	unsigned int n = zone_stats_read(st, MAX_ZONE_STATS);

	for (unsigned int i = 0; i < n; i++)
		fuzz_check(st[i].watermark[WMARK_MIN] <= st[i].watermark[WMARK_LOW] &&
			   st[i].watermark[WMARK_LOW] <= st[i].watermark[WMARK_HIGH],
			   "zone %s: watermarks %lu %lu %lu", st[i].name,
			   st[i].watermark[WMARK_MIN], st[i].watermark[WMARK_LOW],
			   st[i].watermark[WMARK_HIGH]);
}

/* ------------------------------------------------------------ driver */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	buddy_core_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char conf[MAX_CONF + 1], entry[MAX_CONF + 1];
	struct snapshot defaults, whole, one_by_one, before, after;
	unsigned int flags;
	bool report_asked = false;
	size_t len;
	long diff;

	if (size == 0)
		return 0;
	flags = data[0] & 1 ? CONF_PARSE_LATE : 0;
	len = size - 1 < MAX_CONF ? size - 1 : MAX_CONF;
	memcpy(conf, data + 1, len);
	conf[len] = '\0';
	len = strlen(conf);

	/* Whole. */
	conf_reset();
	snapshot(&defaults);
	parse(conf, flags);
	snapshot(&whole);
	check_ranges();
	check_watermarks();

	/* Entry by entry, each alone. */
	conf_reset();
	for (size_t start = 0; start <= len;) {
		size_t end = start, n;
		const char *e;
		unsigned int problems;

		while (end < len && conf[end] != ',')
			end++;
		memcpy(entry, conf + start, end - start);
		entry[end - start] = '\0';
		e = entry;
		n = end - start;
		trim(&e, &n);
		report_asked |= entry_is_report(entry, end - start);
		snapshot(&before);
		problems = parse(entry, flags);
		snapshot(&after);
		if (problems || n == 0) {
			diff = snapshot_diff(&before, &after, &defaults, true);
			fuzz_check(diff < 0, "\"%s\" drew %u warnings but changed "
				   "%s", entry, problems,
				   conf_options[diff].name);
		}
		check_ranges();
		start = end + 1;
	}
	snapshot(&one_by_one);
	diff = snapshot_diff(&one_by_one, &whole, &defaults, true);
	fuzz_check(diff < 0, "\"%s\": whole and entry by entry differ in %s",
		   conf, conf_options[diff].name);

	if (buddy_opts.bad_free == BAD_FREE_REPORT)
		fuzz_check(report_asked, "\"%s\" made bad_free report", conf);
	if (flags & CONF_PARSE_LATE)
		for (size_t i = 0; i < nr_conf_options; i++)
			if (conf_options[i].flags & CONF_BOOT)
				fuzz_check(whole.v[i] == defaults.v[i],
					   "%s changed late", conf_options[i].name);
	conf_reset();
	return 0;
}
