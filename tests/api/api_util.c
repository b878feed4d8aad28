/*
 * api_util.c - see api_util.h.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_util.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the content patterns assume a little-endian machine");

bool api_any_malloc(void)
{
	const char *v = getenv("BUDDY_TEST_ANY_MALLOC");

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* ------------------------------------------------------------ watchdog */

static unsigned int watchdog_seconds;

static void watchdog_fired(int sig)
{
	char msg[96];
	int n;

	n = snprintf(msg, sizeof(msg),
		     "Bail out! watchdog: no result after %u s (hang?)\n",
		     watchdog_seconds);
	if (n > 0)
		(void)!write(STDOUT_FILENO, msg, (size_t)n);
	_exit(99);
}

void api_watchdog(unsigned int seconds)
{
	struct sigevent sev;
	struct itimerspec its;
	struct sigaction sa;
	timer_t timer;

	watchdog_seconds = seconds;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_fired;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGVTALRM, &sa, NULL);

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGVTALRM;
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
		test_diag("timer_create: %s; running without a watchdog",
			  strerror(errno));
		return;
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = seconds;
	timer_settime(timer, 0, &its, NULL);
}

/* ------------------------------------------------------------ patterns */

static inline uint64_t pattern_word(uint64_t key, size_t w)
{
	uint64_t z = key ^ ((uint64_t)w * 0x9e3779b97f4a7c15ULL);

	return z ^ (z >> 29) ^ ((uint64_t)w << 1);
}

static inline unsigned char pattern_byte(uint64_t key, size_t i)
{
	return (unsigned char)(pattern_word(key, i / 8) >> (8 * (i % 8)));
}

void pattern_fill(void *p, size_t n, uint64_t key)
{
	unsigned char *b = p;
	size_t i = 0;

	if (((uintptr_t)p & 7) == 0) {
		uint64_t *w = p;

		for (; i < n / 8; i++)
			w[i] = pattern_word(key, i);
		i *= 8;
	}
	for (; i < n; i++)
		b[i] = pattern_byte(key, i);
}

size_t pattern_check(const void *p, size_t n, uint64_t key)
{
	const unsigned char *b = p;
	size_t i = 0;

	if (((uintptr_t)p & 7) == 0) {
		const uint64_t *w = p;

		for (; i < n / 8; i++)
			if (w[i] != pattern_word(key, i))
				break;
		i *= 8;
	}
	for (; i < n; i++)
		if (b[i] != pattern_byte(key, i))
			return i;
	return n;
}

size_t zero_check(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;

	for (; i < n && ((uintptr_t)(b + i) & 7); i++)
		if (b[i])
			return i;
	for (; i + 8 <= n; i += 8)
		if (*(const uint64_t *)(b + i) != 0)
			break;
	for (; i < n; i++)
		if (b[i])
			return i;
	return n;
}

/* ------------------------------------------------------------ intervals */

static int interval_cmp(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

size_t intervals_overlaps(struct interval *v, size_t n)
{
	size_t bad = 0;

	qsort(v, n, sizeof(*v), interval_cmp);
	for (size_t i = 1; i < n; i++) {
		if (v[i - 1].end <= v[i].start)
			continue;
		if (bad++ < 5)
			test_diag("blocks %zu [%#lx, %#lx) and %zu [%#lx, %#lx) overlap",
				  v[i - 1].index, (unsigned long)v[i - 1].start,
				  (unsigned long)v[i - 1].end, v[i].index,
				  (unsigned long)v[i].start,
				  (unsigned long)v[i].end);
	}
	return bad;
}

/* ------------------------------------------------------------ opaque */

void *(*volatile realloc_opaque)(void *, size_t) = realloc;
void *(*volatile reallocarray_opaque)(void *, size_t, size_t) = reallocarray;

/* ------------------------------------------------------------ RSS */

/* ------------------------------------------------------------ served by us */

typedef void (stats_print_fn)(void (*write_cb)(void *, const char *),
			      void *opaque, const char *opts);

/* The report is collected here; the callback must not allocate. */
static struct {
	char text[64 * 1024];
	size_t len;
} report;

static void report_append(void *opaque, const char *text)
{
	size_t n = strlen(text);

	if (n > sizeof(report.text) - 1 - report.len)
		n = sizeof(report.text) - 1 - report.len;
	memcpy(report.text + report.len, text, n);
	report.len += n;
	report.text[report.len] = '\0';
}

/*
 * Pages the allocator has handed out of its zones, from a pagetypeinfo
 * report: pageblocks of every type times pages per block, minus the free
 * pages of every type and order. -1 if the report cannot be read.
 */
static long allocated_pages(stats_print_fn *stats_print)
{
	unsigned long per_block = 0, blocks = 0, free_pages = 0;
	bool in_blocks = false;
	char *line;
	const char *next;

	report.len = 0;
	report.text[0] = '\0';
	stats_print(report_append, NULL, "pagetypeinfo");

	for (const char *text = report.text; *text; text = next) {
		char copy[512], *end;
		size_t len;

		/* One line at a time, so strtoul never reads into the next. */
		next = strchr(text, '\n');
		len = next ? (size_t)(next - text) : strlen(text);
		next = text + len + (next != NULL);
		if (len >= sizeof(copy))
			len = sizeof(copy) - 1;
		memcpy(copy, text, len);
		copy[len] = '\0';
		line = copy;

		if (sscanf(line, "Pages per block: %lu", &per_block) == 1)
			continue;
		if (strncmp(line, "Number of blocks type", 21) == 0) {
			in_blocks = true;
			continue;
		}
		if (strncmp(line, "Node", 4) != 0)
			continue;
		if (!in_blocks) {
			/* "Node    0, zone   Normal, type      Movable      n0 n1 ..." */
			char *p = strstr(line, ", type ");
			unsigned int order = 0;

			if (!p)
				continue;
			p += 7;
			while (*p == ' ')
				p++;
			while (*p && *p != ' ')	/* the type's name */
				p++;
			for (;; order++) {
				unsigned long n = strtoul(p, &end, 10);

				if (end == p)
					break;
				free_pages += n << order;
				p = end;
			}
		} else {
			/* "Node 0, zone   Normal            b0 b1 ..." */
			char *p = strstr(line, "zone");

			if (!p)
				continue;
			p += 4;
			while (*p == ' ')
				p++;
			while (*p && *p != ' ')	/* the zone's name */
				p++;
			for (;;) {
				unsigned long n = strtoul(p, &end, 10);

				if (end == p)
					break;
				blocks += n;
				p = end;
			}
		}
	}
	if (per_block == 0)
		return -1;
	return (long)(blocks * per_block) - (long)free_pages;
}

static bool resolves_to_buddymalloc(const char *name)
{
	void *sym = dlsym(RTLD_DEFAULT, name);
	Dl_info info;
	const char *base;

	if (sym == NULL) {
		test_diag("%s: not found by dlsym", name);
		return false;
	}
	if (dladdr(sym, &info) == 0 || info.dli_fname == NULL) {
		test_diag("%s: dladdr cannot say where %p is", name, sym);
		return false;
	}
	base = strrchr(info.dli_fname, '/');
	base = base ? base + 1 : info.dli_fname;
	if (strncmp(base, "libbuddymalloc", 14) != 0) {
		test_diag("%s resolves into %s, not libbuddymalloc.so", name,
			  info.dli_fname);
		return false;
	}
	return true;
}

#define SERVED_BLOCKS	32
#define SERVED_SIZE	((size_t)1 << 20)	/* page allocation, not mmap */

typedef int mallctl_fn(const char *name, void *oldp, size_t *oldlenp,
		       void *newp, size_t newlen);

/*
 * Pages in the allocator's live direct mappings (mallctl
 * "stats.huge_allocated"), -1 if it cannot be read: under
 * hardening:guard, page-level blocks such as SERVED_SIZE's are direct
 * mappings, counted there and not in the zones.
 */
static long mapped_pages(void)
{
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT,
						  "buddymalloc_mallctl");
	size_t bytes, len = sizeof(bytes);

	if (!mallctl || mallctl("stats.huge_allocated", &bytes, &len, NULL, 0))
		return -1;
	return (long)(bytes / 4096);
}

void test_served_by_buddymalloc(void)
{
	static const char *const names[] = { "malloc", "free", "calloc", "realloc" };
	const bool BUDDY_TEST_ANY_MALLOC_is_set = api_any_malloc();
	stats_print_fn *stats_print;
	void *held[SERVED_BLOCKS];
	long before, during, before_mapped, during_mapped, want;

	tap_test_begin("test_served_by_buddymalloc");
	test_skip_if(BUDDY_TEST_ANY_MALLOC_is_set);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		expect_true(resolves_to_buddymalloc(names[i]), "%s", names[i]);

	stats_print = (stats_print_fn *)dlsym(RTLD_DEFAULT,
					      "buddymalloc_stats_print");
	assert_ptr_not_null((void *)stats_print,
			    "buddymalloc_stats_print is not in the process");

	before = allocated_pages(stats_print);
	assert_ld_ge(before, 0, "cannot read pagetypeinfo:\n%s", report.text);
	before_mapped = mapped_pages();
	assert_ld_ge(before_mapped, 0, "cannot read stats.huge_allocated");
	for (int i = 0; i < SERVED_BLOCKS; i++) {
		held[i] = malloc(SERVED_SIZE);
		assert_ptr_not_null(held[i]);
		memset(held[i], 0x5a, SERVED_SIZE);
	}
	during = allocated_pages(stats_print);
	during_mapped = mapped_pages();
	for (int i = 0; i < SERVED_BLOCKS; i++)
		free(held[i]);

	want = (long)(SERVED_BLOCKS * (SERVED_SIZE / 4096)) * 9 / 10;
	before += before_mapped;
	during += during_mapped;
	if (during - before < want) {
		test_diag("pagetypeinfo while holding %d x %zu bytes:",
			  SERVED_BLOCKS, SERVED_SIZE);
		for (char *l = report.text; *l; ) {
			char *nl = strchr(l, '\n');
			int len = nl ? (int)(nl - l) : (int)strlen(l);

			test_diag("  %.*s", len, l);
			l += len + (nl != NULL);
		}
	}
	expect_ld_ge(during - before, want,
		     "allocated and mapped pages before %ld, while holding %ld",
		     before, during);
}

bool heap_stats_read(struct heap_stats *st)
{
#define HEAP_STAT(field) { "stats." #field, offsetof(struct heap_stats, field) }
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		HEAP_STAT(small_allocated),
		HEAP_STAT(small_slab_bytes),
		HEAP_STAT(large_allocated),
		HEAP_STAT(huge_allocated),
		HEAP_STAT(heap_bytes),
		HEAP_STAT(free_bytes),
		HEAP_STAT(meta_bytes),
	};
#undef HEAP_STAT
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT,
						  "buddymalloc_mallctl");

	if (mallctl == NULL) {
		test_diag("buddymalloc_mallctl is not in the process");
		return false;
	}
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		size_t len = sizeof(size_t);
		int err = mallctl(fields[i].name,
				  (char *)st + fields[i].offset, &len, NULL, 0);

		if (err) {
			test_diag("buddymalloc_mallctl(\"%s\"): error %d",
				  fields[i].name, err);
			return false;
		}
	}
	return true;
}

void api_conf_require(char **argv, const char *setting)
{
	const char *conf = getenv("BUDDYMALLOC_CONF");
	size_t key_len = strcspn(setting, ":") + 1;	/* "key:" */
	char buf[1024];

	for (const char *c = conf; c && *c; c += strcspn(c, ",")) {
		c += *c == ',';
		if (strncmp(c, setting, key_len) == 0)
			return;
	}
	snprintf(buf, sizeof(buf), "%s%s%s", conf ? conf : "",
		 conf && *conf ? "," : "", setting);
	setenv("BUDDYMALLOC_CONF", buf, 1);
	execv("/proc/self/exe", argv);
	printf("Bail out! cannot run itself again with BUDDYMALLOC_CONF=%s: "
	       "%s\n", buf, strerror(errno));
	exit(99);
}

bool api_redzone(void)
{
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT,
						  "buddymalloc_mallctl");
	const char *level = NULL;
	size_t len = sizeof(level);

	if (!mallctl || mallctl("opt.hardening", &level, &len, NULL, 0) != 0 ||
	    !level)
		return false;
	return strcmp(level, "off") != 0 && strcmp(level, "junk") != 0;
}
