/*
 * conf.c - the options table and the BUDDYMALLOC_CONF parser.
 *
 * BUDDYMALLOC_CONF uses jemalloc's MALLOC_CONF syntax: "key:value,..." with
 * no quoting. Every setting is one row of conf_options[]: its key, its type
 * and accepted range, the variable it sets, a hook that passes it on (to the
 * core's core_config, say), and its help text. The parser, the "help"
 * listing and buddymalloc_mallctl("opt.<key>") all work from that table, so
 * a new setting is one row (and a field to hold it).
 *
 * This runs on the first malloc, possibly from ld.so before libc is fully
 * initialised: no malloc, no stdio, no locale, no getenv (environ is scanned
 * by hand). Problems are reported one line each and never stop the program,
 * unless abort_conf:true asks for that.
 */
#include "config.h"	/* BUDDY_CONF_FILE */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "page_alloc.h"
#include "preload.h"
#include "seq_buf.h"
#include "slab.h"

/* The environment variables: the settings, and (tests, users trying a file
 * out) another settings file than BUDDY_CONF_FILE. */
#define CONF_ENV	"BUDDYMALLOC_CONF"
#define CONF_FILE_ENV	"BUDDYMALLOC_CONF_FILE"

/* The live report's file and content when only report_signal is set. */
#define REPORT_FILE_DEFAULT	"/tmp/buddymalloc.%p.report"
#define REPORT_OPTS_DEFAULT	"all"

/* The defaults: what a program gets without BUDDYMALLOC_CONF. */
#define BUDDY_OPTS_DEFAULT {				\
	.stats_print = false,				\
	.bad_free = BAD_FREE_ABORT,			\
	.limit = 0,					\
	.min_free_kbytes = 0,				\
	.watermark_scale_factor = 10,			\
	.lowmem_reserve_ratio = 256,			\
	.warn_alloc = false,				\
	.numa_fake = 0,					\
	.decay_ms = DECAY_MS_DEFAULT,			\
	.reclaim_threads = RECLAIM_THREADS_DEFAULT,	\
	.percpu_pagelist_high_fraction = 0,		\
	.pcp_batch = 0,					\
	.lifetime_ms = LIFETIME_MS_DEFAULT,		\
	.classifier = true,				\
	.lifetime_sample = LIFETIME_SAMPLE_DEFAULT,	\
	.abort_conf = false,				\
	.hardening = HARDENING_OFF,			\
	.report_signal = REPORT_SIGNAL_OFF,		\
	.report_file = REPORT_FILE_DEFAULT,		\
	.report_opts = REPORT_OPTS_DEFAULT,		\
}

struct buddy_opts buddy_opts = BUDDY_OPTS_DEFAULT;
static const struct buddy_opts default_opts = BUDDY_OPTS_DEFAULT;

/* ----------------------------------------------------------- the table */

static const char *const bad_free_choices[] = {
	[BAD_FREE_ABORT] = "abort",
	[BAD_FREE_REPORT] = "report",
	NULL
};

static const char *const hardening_choices[] = {
	[HARDENING_OFF] = "off",
	[HARDENING_JUNK] = "junk",
	[HARDENING_REDZONE] = "redzone",
	[HARDENING_GUARD] = "guard",
	NULL
};

static const char *const report_signal_choices[] = {
	[REPORT_SIGNAL_OFF] = "off",
	[REPORT_SIGNAL_USR1] = "USR1",
	[REPORT_SIGNAL_USR2] = "USR2",
	[REPORT_SIGNAL_PWR] = "PWR",
	[REPORT_SIGNAL_URG] = "URG",
	[REPORT_SIGNAL_WINCH] = "WINCH",
	NULL
};

/* The levels go to the slab layer (slab.h) and, guard, to the core's
 * direct mappings (page_alloc.h); init.c gives the slab layer our report. */
static void apply_hardening(void)
{
	CMM_STORE_SHARED(slab_junk, buddy_opts.hardening >= HARDENING_JUNK);
	CMM_STORE_SHARED(slab_redzone,
			 buddy_opts.hardening >= HARDENING_REDZONE);
	CMM_STORE_SHARED(huge_guard, buddy_opts.hardening >= HARDENING_GUARD);
}

/* The budget and the watermarks: recomputed at once when the core runs. */
static void apply_budget(void)
{
	core_config.limit = buddy_opts.limit;
	core_config.min_free_kbytes = buddy_opts.min_free_kbytes;
	core_config.watermark_scale_factor = buddy_opts.watermark_scale_factor;
	core_config.lowmem_reserve_ratio = buddy_opts.lowmem_reserve_ratio;
	setup_per_zone_wmarks();
}

static void apply_warn_alloc(void)
{
	CMM_STORE_SHARED(core_config.warn_alloc, buddy_opts.warn_alloc);
}

static void apply_numa_fake(void)
{
	core_config.numa_fake = buddy_opts.numa_fake;
}

static void apply_decay_ms(void)
{
	CMM_STORE_SHARED(core_config.decay_ms, buddy_opts.decay_ms);
}

static void apply_reclaim_threads(void)
{
	CMM_STORE_SHARED(core_config.reclaim_threads, buddy_opts.reclaim_threads);
}

/* The per-CPU page lists' settings go to the core as they are. */
static void apply_pcp(void)
{
	core_config.percpu_pagelist_high_fraction =
		buddy_opts.percpu_pagelist_high_fraction;
	core_config.pcp_batch = buddy_opts.pcp_batch;
}

static void apply_lifetime_ms(void)
{
	CMM_STORE_SHARED(core_config.lifetime_ms, buddy_opts.lifetime_ms);
}

/* The lifetime classifier's settings go to the slab layer. */
static void apply_classifier(void)
{
	CMM_STORE_SHARED(lifetime_enabled, buddy_opts.classifier);
}

static void apply_lifetime_sample(void)
{
	CMM_STORE_SHARED(lifetime_sample_mean, buddy_opts.lifetime_sample);
}

/* The largest size any option takes: the whole 47-bit address space. */
#define CONF_SIZE_MAX	(1UL << MAX_PHYSMEM_BITS)

const struct conf_option conf_options[] = {
	{
		.name = "stats_print",
		.type = CONF_BOOL,
		.value = &buddy_opts.stats_print,
		.help = "print a summary and the buddyinfo, pagetypeinfo, vmstat, "
			"zoneinfo and lifetime reports to stderr at exit",
	},
	{
		.name = "bad_free",
		.type = CONF_CHOICE,
		.choices = bad_free_choices,
		.value = &buddy_opts.bad_free,
		.help = "on a double free (\"buddymalloc: free(): double free "
			"detected 0x...\") or a free of a pointer the allocator "
			"never returned (\"... invalid pointer 0x...\"): one line "
			"naming the call and the pointer, then abort, or (report) "
			"go on and ignore the call. Every call that takes a block "
			"checks it: free, cfree, free_sized, free_aligned_sized, "
			"realloc, reallocarray and malloc_usable_size (0 in report "
			"mode); free_sized and free_aligned_sized also report a "
			"size of another size class or page count (\"invalid size\") "
			"and an alignment the pointer does not have (\"invalid "
			"alignment\")",
	},
	{
		.name = "limit",
		.type = CONF_SIZE,
		.min = 0,
		.max = CONF_SIZE_MAX,
		.value = &buddy_opts.limit,
		.apply = apply_budget,
		.help = "the memory budget: the most the allocator holds resident "
			"(pages in use, free pages not yet given back, direct "
			"mappings, its own metadata); 0: the cgroup v2 memory.max "
			"of the process, else physical memory. Below a zone's low "
			"watermark an allocation wakes the reclaim thread, below "
			"min it gives free memory back to the OS itself and "
			"retries, and out of budget it fails with ENOMEM",
	},
	{
		.name = "max_memory",
		.type = CONF_SIZE,
		.min = 0,
		.max = CONF_SIZE_MAX,
		.value = &buddy_opts.limit,
		.apply = apply_budget,
		.help = "the old name of limit",
	},
	{
		.name = "min_free_kbytes",
		.type = CONF_UINT,
		.min = 0,
		.max = 1UL << 30,	/* 1 TiB */
		.value = &buddy_opts.min_free_kbytes,
		.apply = apply_budget,
		.help = "KiB of the budget the min watermarks keep free, shared by "
			"the zones; 0: sqrt(16 * budget in KiB), between 128 and "
			"262144, as the kernel's calculate_min_free_kbytes()",
	},
	{
		.name = "watermark_scale_factor",
		.type = CONF_UINT,
		.min = 1,
		.max = 3000,
		.value = &buddy_opts.watermark_scale_factor,
		.apply = apply_budget,
		.help = "the gaps min to low to high, in 10000ths of a zone's "
			"budget (at least a quarter of min), as the kernel's sysctl",
	},
	{
		.name = "lowmem_reserve_ratio",
		.type = CONF_UINT,
		.min = 0,
		.max = 1UL << 20,
		.value = &buddy_opts.lowmem_reserve_ratio,
		.apply = apply_budget,
		.help = "the Low32 zone keeps 1/ratio of the Normal zone's budget "
			"back from Normal allocations that fall back into it (0: no "
			"protection)",
	},
	{
		.name = "warn_alloc",
		.type = CONF_BOOL,
		.value = &buddy_opts.warn_alloc,
		.apply = apply_warn_alloc,
		.help = "on an allocation failure print \"buddymalloc: page "
			"allocation failure: order:N, mode:0x...(flags)\" and the "
			"zoneinfo report to stderr, at most 10 times per 5 seconds",
	},
	{
		.name = "numa_fake",
		.type = CONF_UINT,
		.flags = CONF_BOOT,
		.min = 0,
		.max = MAX_NUMNODES,
		.value = &buddy_opts.numa_fake,
		.apply = apply_numa_fake,
		.help = "split the machine into this many NUMA nodes, each with "
			"its own zones, CPUs dealt round-robin (on one real "
			"node, CPU c allocates from node c mod N first); 0: the "
			"machine's real nodes",
	},
	{
		.name = "decay_ms",
		.type = CONF_UINT,
		.min = 0,
		.max = 3600000,
		.value = &buddy_opts.decay_ms,
		.apply = apply_decay_ms,
		.help = "free memory that no free has touched for about this many "
			"milliseconds goes back to the OS even without pressure (0: "
			"only under pressure and on malloc_trim)",
	},
	{
		.name = "reclaim_threads",
		.type = CONF_UINT,
		.flags = CONF_BOOT,
		.min = 0,
		.max = 1,
		.value = &buddy_opts.reclaim_threads,
		.apply = apply_reclaim_threads,
		.help = "1: a reclaim thread per node (buddy-kswapdN), started "
			"on first need, releases memory below the low "
			"watermark and for decay; 0: no thread, decay runs on "
			"the allocating calls",
	},
	{
		.name = "percpu_pagelist_high_fraction",
		.type = CONF_UINT,
		.flags = CONF_BOOT,
		.min = 0,
		.max = 1UL << 30,
		.value = &buddy_opts.percpu_pagelist_high_fraction,
		.apply = apply_pcp,
		.help = "as the kernel's sysctl: the per-CPU page lists of a zone "
			"hold at most its pages / this in all, split across the "
			"CPUs (below 8 counts as 8); 0: the zone's low watermark",
	},
	{
		.name = "pcp_batch",
		.type = CONF_UINT,
		.flags = CONF_BOOT,
		.min = 0,
		.max = 1UL << 16,
		.value = &buddy_opts.pcp_batch,
		.apply = apply_pcp,
		.help = "pages a per-CPU page list takes from or gives back to its "
			"zone at once; 0: the kernel's zone_batchsize(), about 0.1% "
			"of the zone up to 63",
	},
	{
		.name = "lifetime_ms",
		.type = CONF_UINT,
		.min = 1,
		.max = 3600000,
		.value = &buddy_opts.lifetime_ms,
		.apply = apply_lifetime_ms,
		.help = "an object alive this many milliseconds counts as "
			"long-lived for the lifetime classifier, and a "
			"short-lived pageblock pinned mostly empty by the same "
			"few blocks this long is re-typed long-lived when "
			"long-lived blocks need room",
	},
	{
		.name = "classifier",
		.type = CONF_BOOL,
		.flags = CONF_BOOT,
		.value = &buddy_opts.classifier,
		.apply = apply_classifier,
		.help = "the lifetime classifier: each malloc call site (return "
			"address and size class) is predicted short-lived (MOVABLE "
			"pageblocks for slabs, RECLAIMABLE for page-level blocks; "
			"unknown sites start so) or long-lived (UNMOVABLE) from a "
			"sample of its blocks, so that when short-lived blocks die "
			"whole pageblocks go back to the OS; false: every small "
			"block UNMOVABLE and page-level blocks MOVABLE, no sampling",
	},
	{
		.name = "lifetime_sample",
		.type = CONF_UINT,
		.min = 1,
		.max = 1UL << 20,
		.value = &buddy_opts.lifetime_sample,
		.apply = apply_lifetime_sample,
		.help = "the lifetime classifier samples one allocation in "
			"about this many (per CPU, per thread without rseq or "
			"once a thread set a hint; at random intervals) to "
			"learn how long each site's blocks live",
	},
	{
		.name = "hardening",
		.type = CONF_CHOICE,
		.flags = CONF_BOOT,
		.choices = hardening_choices,
		.value = &buddy_opts.hardening,
		.apply = apply_hardening,
		.help = "debugging checks beyond the default ones. junk: every "
			"freed small object is filled with 0x5a (but its first 8 "
			"bytes) and checked when it is allocated again; a byte "
			"written meanwhile is reported as \"buddymalloc: malloc(): "
			"write after free 0x... (offset N)\" and handled as bad_free "
			"says; freed page-level blocks are filled too (not checked: "
			"their pages may go back to the OS). redzone: that, and "
			"each small object gets at least 8 bytes after it filled "
			"with 0xa5 (malloc_usable_size says the size asked for), "
			"checked on free and realloc: \"buddymalloc: free(): redzone "
			"overwritten 0x... (offset N)\". guard: that, and every "
			"block above the slab classes (32 KiB) and every direct "
			"mapping gets a PROT_NONE page before and after it, the "
			"block ending against the one after, so a read or write "
			"past either end faults (each such block is a mapping of "
			"its own: mind vm.max_map_count). Every call takes the "
			"slow path at these levels (a malloc/free pair costs 4-8x "
			"with junk, 4-24x with redzone or guard; "
			"bench/results/hardening.md); off costs nothing on the "
			"fast paths",
	},
	/* The live report: the signal that asks for it; the handler is
	 * installed once, at start-up (report.c). */
	{
		.name = "report_signal",
		.type = CONF_CHOICE,
		.flags = CONF_BOOT,
		.choices = report_signal_choices,
		.value = &buddy_opts.report_signal,
		.help = "on this signal the reclaim thread writes the full "
			"report (report_opts) to report_file, through a "
			"temporary file renamed over it; kill -USR2 PID, or "
			"buddymalloc --attach PID (off: no handler; a signal "
			"the program already handles at start-up is left to it)",
	},
	/* Where the live report goes. */
	{
		.name = "report_file",
		.type = CONF_STRING,
		.flags = CONF_BOOT,
		.max = REPORT_FILE_MAX,
		.value = buddy_opts.report_file,
		.help = "the live report's file: %p is the process id (so a "
			"forked child writes its own), %% a '%'",
	},
	/* What the live report holds. */
	{
		.name = "report_opts",
		.type = CONF_STRING,
		.flags = CONF_BOOT,
		.max = REPORT_OPTS_MAX,
		.value = buddy_opts.report_opts,
		.help = "the live report's parts, as buddymalloc_stats_print's "
			"options, words joined by '+' (a ',' ends the entry): "
			"all, or summary, buddyinfo, pagetypeinfo, vmstat, "
			"zoneinfo, slabinfo, percpu, lifetime; J for JSON",
	},
	{
		.name = "abort_conf",
		.type = CONF_BOOL,
		.value = &buddy_opts.abort_conf,
		.help = "abort after reporting a problem in the settings file or "
			"BUDDYMALLOC_CONF",
	},
};

const size_t nr_conf_options = sizeof(conf_options) / sizeof(conf_options[0]);

const struct conf_option *conf_find(const char *name, size_t len)
{
	for (size_t i = 0; i < nr_conf_options; i++)
		if (strlen(conf_options[i].name) == len &&
		    memcmp(conf_options[i].name, name, len) == 0)
			return &conf_options[i];
	return NULL;
}

#ifdef BUDDY_TEST_HOOKS
void conf_reset(void)
{
	buddy_opts = default_opts;
	for (size_t i = 0; i < nr_conf_options; i++)
		if (conf_options[i].apply)
			conf_options[i].apply();
}
#endif

/* ------------------------------------------------------------- values */

static bool text_is(const char *text, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(text, word, len) == 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Decimal digits, then an optional k, m, g or t (powers of 1024), then an
 * optional "b" or "ib": 4096, 64k, 512M, 1g, 2GiB. */
static bool parse_size(const char *text, size_t len, size_t *out)
{
	size_t v = 0, i = 0;
	unsigned int shift = 0;

	if (len == 0)
		return false;
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (size_t)(text[i] - '0'), &v))
			return false;
	if (i == 0)
		return false;
	if (i < len) {
		switch (lower(text[i])) {
		case 'k': shift = 10; i++; break;
		case 'm': shift = 20; i++; break;
		case 'g': shift = 30; i++; break;
		case 't': shift = 40; i++; break;
		}
		if (shift && i < len && lower(text[i]) == 'i')
			i++;
		if (i < len && lower(text[i]) == 'b')
			i++;
		if (i != len)
			return false;
	}
	if (shift && v > (SIZE_MAX >> shift))
		return false;
	*out = v << shift;
	return true;
}

/* Decimal digits only. */
static bool parse_uint(const char *text, size_t len, size_t *out)
{
	size_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9' ||
		    __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (size_t)(text[i] - '0'), &v))
			return false;
	}
	*out = v;
	return true;
}

bool conf_set_text(const struct conf_option *opt, const char *text, size_t len)
{
	size_t size;

	switch (opt->type) {
	case CONF_BOOL:
		if (text_is(text, len, "true"))
			*(bool *)opt->value = true;
		else if (text_is(text, len, "false"))
			*(bool *)opt->value = false;
		else
			return false;
		break;
	case CONF_SIZE:
		if (!parse_size(text, len, &size) || size < opt->min ||
		    size > opt->max)
			return false;
		*(size_t *)opt->value = size;
		break;
	case CONF_UINT:
		if (!parse_uint(text, len, &size) || size < opt->min ||
		    size > opt->max)
			return false;
		*(unsigned int *)opt->value = (unsigned int)size;
		break;
	case CONF_CHOICE:
		for (unsigned int i = 0; opt->choices[i]; i++) {
			if (text_is(text, len, opt->choices[i])) {
				*(unsigned int *)opt->value = i;
				goto done;
			}
		}
		return false;
	case CONF_STRING:
		if (len >= opt->max || memchr(text, '\0', len))
			return false;
		memcpy(opt->value, text, len);
		((char *)opt->value)[len] = '\0';
		break;
	}
done:
	if (opt->apply)
		opt->apply();
	return true;
}

/* "true or false", "abort or report", "a size such as 512m or 4g". */
void conf_expected_show(struct seq_buf *s, const struct conf_option *opt)
{
	switch (opt->type) {
	case CONF_BOOL:
		seq_buf_puts(s, "true or false");
		break;
	case CONF_SIZE:
		seq_buf_puts(s, "a size in bytes with an optional k, m, g or t "
			     "suffix, such as 512m");
		if (opt->max == CONF_SIZE_MAX)
			seq_buf_puts(s, ", at most 128t");
		break;
	case CONF_UINT:
		seq_buf_printf(s, "a whole number from %zu to %zu", opt->min,
			       opt->max);
		break;
	case CONF_CHOICE:
		for (unsigned int i = 0; opt->choices[i]; i++) {
			if (i)
				seq_buf_puts(s, opt->choices[i + 1] ? ", " : " or ");
			seq_buf_puts(s, opt->choices[i]);
		}
		break;
	case CONF_STRING:
		seq_buf_printf(s, "text of at most %zu bytes", opt->max - 1);
		break;
	}
}

/* ------------------------------------------------------------ warnings */

static void warn_stderr(void *opaque, const char *line)
{
	os_write(2, line, strlen(line));
}

/* Text quoted in a warning: at most 64 bytes, unprintable bytes as '?'. */
#define QUOTE_MAX	64

static void quote_show(struct seq_buf *s, const char *text, size_t len)
{
	seq_buf_putc(s, '"');
	for (size_t i = 0; i < len && i < QUOTE_MAX; i++) {
		char c = text[i];

		seq_buf_putc(s, c >= ' ' && c <= '~' ? c : '?');
	}
	if (len > QUOTE_MAX)
		seq_buf_puts(s, "...");
	seq_buf_putc(s, '"');
}

struct conf_ctx {
	const char *source;	/* "BUDDYMALLOC_CONF" or the file's path */
	conf_warn_fn warn;
	void *opaque;
	unsigned int flags;
	unsigned int problems;
	struct seq_buf s;
	char buf[256];
};

static void warn_begin(struct conf_ctx *ctx)
{
	seq_buf_init(&ctx->s, ctx->buf, sizeof(ctx->buf), NULL, NULL);
	seq_buf_puts(&ctx->s, "buddymalloc: ");
	seq_buf_puts(&ctx->s, ctx->source);
	seq_buf_puts(&ctx->s, ": ");
}

static void warn_end(struct conf_ctx *ctx)
{
	seq_buf_putc(&ctx->s, '\n');
	ctx->warn(ctx->opaque, seq_buf_str(&ctx->s));
	ctx->problems++;
}

/* ---------------------------------------------------------------- parse */

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

/* One "key:value" entry (already trimmed, not empty). */
static void parse_entry(struct conf_ctx *ctx, const char *entry, size_t len)
{
	const char *colon = memchr(entry, ':', len);
	const char *key = entry, *value;
	size_t key_len = colon ? (size_t)(colon - entry) : len, value_len;
	const struct conf_option *opt;

	trim(&key, &key_len);
	if (!colon && text_is(key, key_len, "help")) {
		conf_print_help(ctx->warn, ctx->opaque);
		return;
	}
	opt = conf_find(key, key_len);
	if (!opt) {
		warn_begin(ctx);
		seq_buf_puts(&ctx->s, "unknown option ");
		quote_show(&ctx->s, key, key_len);
		warn_end(ctx);
		return;
	}
	if (!colon) {
		warn_begin(ctx);
		seq_buf_puts(&ctx->s, "no value for ");
		quote_show(&ctx->s, key, key_len);
		seq_buf_puts(&ctx->s, " (expected ");
		seq_buf_puts(&ctx->s, opt->name);
		seq_buf_puts(&ctx->s, ":value, the value ");
		conf_expected_show(&ctx->s, opt);
		seq_buf_putc(&ctx->s, ')');
		warn_end(ctx);
		return;
	}
	value = colon + 1;
	value_len = len - (size_t)(value - entry);
	trim(&value, &value_len);
	if ((opt->flags & CONF_BOOT) && (ctx->flags & CONF_PARSE_LATE)) {
		warn_begin(ctx);
		quote_show(&ctx->s, key, key_len);
		seq_buf_puts(&ctx->s, " came too late (the allocator was "
			     "already in use); ignored");
		warn_end(ctx);
		return;
	}
	if (!conf_set_text(opt, value, value_len)) {
		warn_begin(ctx);
		seq_buf_puts(&ctx->s, "bad value ");
		quote_show(&ctx->s, value, value_len);
		seq_buf_puts(&ctx->s, " for ");
		quote_show(&ctx->s, key, key_len);
		seq_buf_puts(&ctx->s, " (expected ");
		conf_expected_show(&ctx->s, opt);
		seq_buf_putc(&ctx->s, ')');
		warn_end(ctx);
	}
}

/*
 * A string with any problem in it may not say what its author meant
 * ("bad_free:report,hardening:junck"), so it never weakens a check: the
 * settings that do (bad_free:report) go back to their defaults, with one
 * line saying so. Settings that only strengthen (hardening) are kept.
 */
static void conf_keep_checks(struct conf_ctx *ctx)
{
	if (buddy_opts.bad_free == default_opts.bad_free)
		return;
	buddy_opts.bad_free = default_opts.bad_free;
	warn_begin(ctx);
	seq_buf_puts(&ctx->s, "problems above; \"bad_free\" keeps its "
		     "default (abort)");
	warn_end(ctx);
}

unsigned int conf_parse_source(const char *source, const char *conf,
			       unsigned int flags, conf_warn_fn warn, void *opaque)
{
	struct conf_ctx ctx = {
		.source = source,
		.warn = warn ? warn : warn_stderr,
		.opaque = opaque,
		.flags = flags,
	};
	const char *p = conf;

	if (!conf)
		return 0;
	while (*p) {
		const char *entry = p;
		size_t len;

		while (*p && *p != ',')
			p++;
		len = (size_t)(p - entry);
		trim(&entry, &len);
		if (len)
			parse_entry(&ctx, entry, len);
		if (*p == ',')
			p++;
	}
	if (ctx.problems)
		conf_keep_checks(&ctx);
	return ctx.problems;
}

unsigned int conf_parse(const char *conf, unsigned int flags,
			conf_warn_fn warn, void *opaque)
{
	return conf_parse_source(CONF_ENV, conf, flags, warn, opaque);
}

/* ----------------------------------------------------------------- help */

const void *conf_default(const struct conf_option *opt)
{
	/* opt->value points into buddy_opts: the same field of the defaults. */
	return (const char *)&default_opts +
	       ((const char *)opt->value - (const char *)&buddy_opts);
}

void conf_value_show(struct seq_buf *s, const struct conf_option *opt,
		     const void *value)
{
	switch (opt->type) {
	case CONF_BOOL:
		seq_buf_puts(s, *(const bool *)value ? "true" : "false");
		break;
	case CONF_SIZE:
		seq_buf_printf(s, "%zu", *(const size_t *)value);
		break;
	case CONF_UINT:
		seq_buf_printf(s, "%u", *(const unsigned int *)value);
		break;
	case CONF_CHOICE:
		seq_buf_puts(s, opt->choices[*(const unsigned int *)value]);
		break;
	case CONF_STRING:
		seq_buf_puts(s, value);
		break;
	}
}

void conf_print_help(conf_warn_fn warn, void *opaque)
{
	char buf[1536];	/* the longest help text and its first line */
	struct seq_buf s;

	if (!warn)
		warn = warn_stderr;
	warn(opaque, "buddymalloc: BUDDYMALLOC_CONF=\"key:value,...\" "
		     "(and " BUDDY_CONF_FILE ", one per line) takes these keys "
		     "(current value in brackets):\n");
	for (size_t i = 0; i < nr_conf_options; i++) {
		const struct conf_option *opt = &conf_options[i];

		seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
		seq_buf_printf(&s, "  %-12s [", opt->name);
		conf_value_show(&s, opt, opt->value);
		seq_buf_puts(&s, "] ");
		conf_expected_show(&s, opt);
		seq_buf_puts(&s, "; default ");
		conf_value_show(&s, opt, conf_default(opt));
		seq_buf_puts(&s, "\n      ");
		seq_buf_puts(&s, opt->help);
		if (opt->flags & CONF_BOOT)
			seq_buf_puts(&s, " (start-up only)");
		seq_buf_putc(&s, '\n');
		warn(opaque, seq_buf_str(&s));
	}
}

/* ------------------------------------------------------------ start-up */

extern char **environ;

/* The value of the variable name= ("BUDDYMALLOC_CONF=") in environ. */
static const char *environ_find(const char *want)
{
	size_t len = strlen(want);

	for (char **e = environ; *e; e++)
		if (strncmp(*e, want, len) == 0)
			return *e + len;
	return NULL;
}

/*
 * A variable from /proc/self/environ, for a call before libc has set
 * environ: NUL-separated "NAME=value" entries, read in pieces and matched as
 * they stream past, so its size does not matter. want is "NAME="; the value
 * lands in buf (a longer one is cut: *cut says so). Returns false when the
 * file cannot be read (no /proc); *value is NULL if the variable is absent.
 */
static bool proc_environ_find(const char *want, char *buf, size_t size,
			      const char **value, bool *cut)
{
	size_t want_len = strlen(want);
	char chunk[512];
	size_t matched = 0, vlen = 0;
	bool at_start = true, in_value = false, found = false;
	ssize_t n;
	int fd;

	*value = NULL;
	*cut = false;
	fd = os_open_read("/proc/self/environ");
	if (fd < 0)
		return false;
	while (!found && (n = os_read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n && !found; i++) {
			char c = chunk[i];

			if (in_value) {
				if (c == '\0')
					found = true;
				else if (vlen < size - 1)
					buf[vlen++] = c;
				else
					*cut = true;
			} else if (c == '\0') {
				at_start = true;
				matched = 0;
			} else if (at_start && c == want[matched]) {
				if (++matched == want_len)
					in_value = true;
			} else {
				at_start = false;
			}
		}
	}
	os_close(fd);
	if (in_value) {
		buf[vlen] = '\0';
		*value = buf;
	}
	return true;
}

static char proc_conf[4096];

bool conf_proc_environ(const char **conf)
{
	bool cut;

	if (!proc_environ_find(CONF_ENV "=", proc_conf, sizeof(proc_conf),
			       conf, &cut))
		return false;
	if (cut)
		warn_stderr(NULL, "buddymalloc: BUDDYMALLOC_CONF: longer "
			    "than 4095 bytes at start-up; cut\n");
	return true;
}

/*
 * The settings file. BUDDY_CONF_FILE (config.h: configure
 * --with-conf-file=PATH, default /etc/buddymalloc.conf) is read by every
 * program, set-user-ID ones included, where it must belong to root and be
 * writable by root alone (as a root-owned /etc/malloc.conf is trusted by
 * jemalloc): it can weaken bad_free, so whoever may write it must already be
 * root. BUDDYMALLOC_CONF_FILE=PATH names another file, and an empty value no
 * file at all; like BUDDYMALLOC_CONF, it is ignored when AT_SECURE is set.
 * An environment variable rather than a test build of the library: the
 * installed library itself can then be tested, and a user can try a file
 * out before installing it.
 *
 * Same syntax as BUDDYMALLOC_CONF, plus: a newline separates entries as a
 * comma does, and "#" starts a comment to the end of its line. At most 4095
 * bytes; a longer file is ignored with one line on stderr. A missing file
 * is silently nothing; one that cannot be read is one line on stderr.
 */
static char file_conf[4096];
static char proc_file_path[256];

/* Comments out, newlines as commas: the text conf_parse() takes. */
static void file_to_conf(char *text)
{
	bool comment = false;

	for (char *p = text; *p; p++) {
		if (*p == '\n') {
			comment = false;
			*p = ',';
		} else if (*p == '#' || comment) {
			comment = true;
			*p = ' ';
		}
	}
}

static void file_warn(const char *path, const char *what, int err)
{
	char buf[384];
	struct seq_buf s;

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	seq_buf_printf(&s, "buddymalloc: %s: %s", path, what);
	if (err)
		seq_buf_printf(&s, " (errno %d)", err);
	seq_buf_puts(&s, "; ignored\n");
	warn_stderr(NULL, seq_buf_str(&s));
}

/* Parses the file at path: the number of problems (conf_parse's count, or
 * 1 when it exists but cannot be used). */
static unsigned int conf_file(const char *path, bool secure, bool late)
{
	ssize_t n = os_read_conf_file(path, file_conf, sizeof(file_conf),
				      secure);

	switch (n) {
	case -ENOENT:
		return 0;
	case -EFBIG:
		file_warn(path, "longer than 4095 bytes", 0);
		return 1;
	case -EPERM:
		if (secure) {
			file_warn(path, "not a regular file owned and writable "
				  "by root alone, in a set-user-ID program", 0);
			return 1;
		}
		/* fall through */
	default:
		if (n < 0) {
			file_warn(path, "cannot be read", (int)-n);
			return 1;
		}
	}
	file_to_conf(file_conf);
	return conf_parse_source(path, file_conf, late ? CONF_PARSE_LATE : 0,
				 NULL, NULL);
}

static bool conf_done;

bool conf_boot(bool late)
{
	const char *conf = NULL, *path = BUDDY_CONF_FILE;
	unsigned int problems = 0;
	int saved_errno = errno;
	/* Set-user-ID and similar programs ignore the environment, as glibc
	 * does MALLOC_CHECK_: it can weaken the response to a bad free. */
	bool secure = os_secure_exec();

	if (conf_done)
		return true;
	if (!secure) {
		const char *file = NULL;

		if (environ) {
			conf = environ_find(CONF_ENV "=");
			file = environ_find(CONF_FILE_ENV "=");
		} else {
			bool cut;

			if (!conf_proc_environ(&conf) ||
			    !proc_environ_find(CONF_FILE_ENV "=", proc_file_path,
					       sizeof(proc_file_path), &file,
					       &cut)) {
				errno = saved_errno;
				return false;
			}
			if (cut) {
				warn_stderr(NULL, "buddymalloc: " CONF_FILE_ENV
					    ": longer than 255 bytes at "
					    "start-up; no file read\n");
				file = "";
				problems++;
			}
		}
		if (file)
			path = file;
	}
	conf_done = true;
	/* The file first, then the environment: a key set in both takes the
	 * environment's value. */
	if (*path)
		problems += conf_file(path, secure, late);
	if (conf)
		problems += conf_parse(conf, late ? CONF_PARSE_LATE : 0, NULL,
				       NULL);
	errno = saved_errno;
	if (problems && buddy_opts.abort_conf) {
		warn_stderr(NULL, "buddymalloc: abort_conf:true and problems "
			    "in the settings; aborting\n");
		os_abort();
	}
	return true;
}
