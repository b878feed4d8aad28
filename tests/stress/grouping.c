/*
 * grouping.c - lifetime grouping end to end, under the preloaded library:
 * after a short-lived phase ends, the pageblocks that still hold objects
 * are about as few as the long-lived bytes need, and the rest of the
 * memory has gone back to the OS.
 *
 * Two call sites allocate the same sizes (log-uniform, 16 B to 4 KiB):
 * keep_long() for objects that live to the end, make_short() for objects
 * that die. First the classifier learns them (lifetime_ms lowered to 50 ms
 * through mallctl): rounds of both, the short ones freed at once, until
 * stats.classifier.sites_long says one more site is predicted long-lived;
 * the learning rounds' long objects stay, malloc_trim(0) gives back what
 * is free, and lifetime_ms goes up to an hour: during the measured phase
 * no object ages into long-lived, so the verdict does not depend on how
 * long the phase takes on this machine. Then the measured phase: 128 MiB
 * of short-lived objects interleaved with 16 MiB of long-lived ones, every
 * byte written; the short ones are freed in random order and malloc_trim(0)
 * releases the free pages (the test does not wait for decay: no timing in
 * its verdict).
 *
 * The checks read the OS's view, not the allocator's counters: the
 * resident set (/proc/self/statm) grew by at most 1.25 x the long-lived
 * bytes (at their class sizes, malloc_usable_size) plus 2 MiB; and the
 * 2 MiB windows of the address space with any resident page (mincore over
 * every mapping) grew by at most what those bytes fill plus 6 (the
 * allocator's metadata, the size classes' last slabs: window_bound). Without
 * grouping the long-lived objects sit among the short-lived ones and pin
 * every window of the 128 MiB: the same program with classifier:false
 * (run as a child, "control") must exceed that bound, which shows the
 * bound tells the two apart. The harness's arrays come from mmap and are
 * unmapped before measuring.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"

#define MiB		((size_t)1 << 20)
#define WINDOW		(2 * MiB)
#define SHORT_BYTES	(128 * MiB)
#define LONG_BYTES	(16 * MiB)
#define MAX_SHORT	(SHORT_BYTES / 16)
#define MAX_LONG	(LONG_BYTES / 16)
#define LEARN_ROUND	256
#define LEARN_SECONDS	60.0

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static size_t draw_size(void)
{
	double u = (double)(splitmix64(&rng) >> 11) / (double)(1ull << 53);

	return (size_t)exp(log(16.0) + u * (log(4096.0) - log(16.0)));
}

/* The two call sites: not inlined, so each has its own return address in
 * malloc. */
__attribute__((noinline))
static void *keep_long(size_t size)
{
	char *p = malloc(size);

	if (p)
		memset(p, 0x4c, size);
	return p;
}

__attribute__((noinline))
static void *make_short(size_t size)
{
	char *p = malloc(size);

	if (p)
		memset(p, 0x53, size);
	return p;
}

static void *harness_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

static mallctl_fn mallctl(void)
{
	return (mallctl_fn)dlsym(RTLD_DEFAULT, "buddymalloc_mallctl");
}

static size_t classifier_count(const char *name)
{
	char full[64];
	size_t v = 0, len = sizeof(v);

	snprintf(full, sizeof(full), "stats.classifier.%s", name);
	if (mallctl()(full, &v, &len, NULL, 0) != 0)
		return 0;
	return v;
}

/* 2 MiB windows of the address space holding at least one resident page,
 * over every mapping of /proc/self/maps (read without malloc). */
static size_t resident_windows(void)
{
	static char maps[1 << 20];
	static unsigned char vec[WINDOW / 4096];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0, count = 0;
	char *line = maps;
	ssize_t n;

	if (fd < 0)
		return 0;
	/* A read of a /proc list returns at most a page: read to the end. */
	while (len < sizeof(maps) - 1 &&
	       (n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	maps[len] = '\0';
	while (*line) {
		unsigned long start, end;
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    !strstr(line, "[vsyscall]")) {
			for (unsigned long w = start & ~(WINDOW - 1); w < end;
			     w += WINDOW) {
				unsigned long lo = w < start ? start : w;
				unsigned long hi = w + WINDOW > end ? end : w + WINDOW;
				size_t pages = (hi - lo) / 4096;

				if (mincore((void *)lo, hi - lo, vec) != 0)
					continue;
				for (size_t i = 0; i < pages; i++)
					if (vec[i] & 1) {
						count++;
						break;
					}
			}
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return count;
}

struct figures {
	size_t long_bytes;	/* live long-lived bytes at class size */
	size_t rss_growth;	/* resident set after - before the phase */
	size_t window_growth;	/* resident 2 MiB windows after - before */
	double learn_seconds;
	bool learned;
};

/* Rounds of both sites until the long-lived one is predicted so. */
static bool learn(double *seconds)
{
	void **keep = harness_alloc(MAX_LONG * sizeof(void *));
	size_t nkeep = 0, sites_long = classifier_count("sites_long");
	double t0 = test_now();
	bool learned = false;

	if (!keep)
		return false;
	while (!learned && test_now() - t0 < LEARN_SECONDS) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		for (int i = 0; i < LEARN_ROUND && nkeep < MAX_LONG; i++) {
			void *p = keep_long(draw_size());

			if (p)
				keep[nkeep++] = p;
			for (int j = 0; j < 8; j++)
				free(make_short(draw_size()));
		}
		nanosleep(&ts, NULL);
		learned = classifier_count("sites_long") > sites_long;
	}
	*seconds = test_now() - t0;
	/* The learning rounds' long-lived objects stay: freed now, the
	 * youngest would die before lifetime_ms, and on a loaded machine
	 * enough of them to make the site look mixed (split). */
	munmap(keep, MAX_LONG * sizeof(void *));
	return learned;
}

/* The phase; with learning, after the classifier has learned the sites. */
static void run_phase(struct figures *f, bool learning)
{
	void **shorts = harness_alloc(MAX_SHORT * sizeof(void *));
	void **longs = harness_alloc(MAX_LONG * sizeof(void *));
	size_t nshort = 0, nlong = 0, short_bytes = 0, long_req = 0;
	size_t rss0, win0;
	unsigned int lifetime_ms = 50;
	size_t len = sizeof(lifetime_ms);

	memset(f, 0, sizeof(*f));
	if (!shorts || !longs)
		return;
	mallctl()("opt.lifetime_ms", NULL, NULL, &lifetime_ms, len);
	if (learning) {
		f->learned = learn(&f->learn_seconds);
		/* From here on nothing ages into "long-lived": the measured
		 * phase's short-lived objects live as long as it takes, and
		 * the verdict must not depend on how fast this machine is. */
		lifetime_ms = 3600000;
		mallctl()("opt.lifetime_ms", NULL, NULL, &lifetime_ms, len);
	}
	malloc_trim(0);
	rss0 = test_rss_bytes();
	win0 = resident_windows();

	/* One long-lived object for every eight short-lived ones, same
	 * sizes, interleaved in time. */
	while (short_bytes < SHORT_BYTES && nshort < MAX_SHORT) {
		size_t s = draw_size();
		void *p = make_short(s);

		if (!p)
			break;
		shorts[nshort++] = p;
		short_bytes += s;
		if (nshort % 8 == 0 && long_req < LONG_BYTES && nlong < MAX_LONG) {
			s = draw_size();
			p = keep_long(s);
			if (!p)
				break;
			longs[nlong++] = p;
			long_req += s;
			f->long_bytes += malloc_usable_size(p);
		}
	}
	/* The short-lived phase ends: free in random order. */
	test_shuffle(shorts, nshort, &rng);
	for (size_t i = 0; i < nshort; i++)
		free(shorts[i]);
	munmap(shorts, MAX_SHORT * sizeof(void *));
	malloc_trim(0);
	f->rss_growth = test_rss_bytes() - rss0;
	f->window_growth = resident_windows() - win0;
	/* longs stays mapped and the objects live: they are what is
	 * measured. */
}

/* What the long-lived bytes fill, two pageblocks of the allocator's own
 * metadata (slab records, the classifier's tables: the HIGHATOMIC
 * reserve), and four for the partly filled last slabs of the size
 * classes. */
static size_t window_bound(const struct figures *f)
{
	return (f->long_bytes + WINDOW - 1) / WINDOW + 2 + 4;
}

static void print_figures(const char *who, const struct figures *f)
{
	test_diag("%s: learned in %.2f s; long-lived %.1f MiB; resident +%.1f MiB "
	     "(%.2f x); 2 MiB windows +%zu (bound %zu)", who,
	     f->learn_seconds, (double)f->long_bytes / MiB,
	     (double)f->rss_growth / MiB,
	     (double)f->rss_growth / (double)f->long_bytes,
	     f->window_growth, window_bound(f));
}

TEST_BEGIN(test_grouping)
{
	struct figures f;

	assert_ptr_not_null(mallctl(), "buddymalloc_mallctl is there");
	run_phase(&f, true);
	print_figures("classifier on", &f);
	expect_true(f.learned, "the long-lived site was classified so");
	expect_zu_le(f.rss_growth, f.long_bytes + f.long_bytes / 4 + 2 * MiB,
		     "resident memory follows the long-lived bytes");
	expect_zu_le(f.window_growth, window_bound(&f),
		     "pageblocks pinned: about what the long-lived bytes fill");
}
TEST_END

/* Is a (a return address) inside fn, one of the two site functions? It
 * is when fn is the nearer of the two below a, and a is at most 256 bytes
 * past it (each is a few dozen bytes long). */
static bool site_in(size_t a, void *(*fn)(size_t))
{
	size_t f = (size_t)fn, k = (size_t)keep_long, m = (size_t)make_short;
	size_t owner = a >= k && (a < m || k > m) ? k : a >= m ? m : 0;

	return owner == f && a < f + 256;
}

struct text {
	char buf[16384];
	size_t len;
};

static void collect(void *opaque, const char *piece)
{
	struct text *t = opaque;
	size_t n = strlen(piece);

	if (t->len + n < sizeof(t->buf)) {
		memcpy(t->buf + t->len, piece, n + 1);
		t->len += n;
	}
}

/*
 * After test_grouping: the classifier's table, read by mallctl and by the
 * "lifetime" report, shows keep_long's site long-lived and make_short's
 * short-lived (the site-wide records, size 0), and the counters add up.
 */
TEST_BEGIN(test_sites_reported)
{
	typedef void (*print_fn)(void (*)(void *, const char *), void *,
				 const char *);
	print_fn print = (print_fn)dlsym(RTLD_DEFAULT, "buddymalloc_stats_print");
	bool seen_long = false, seen_short = false;
	static struct text text;
	char name[64];

	assert_ptr_not_null(print);
	for (unsigned int i = 0; i < 256; i++) {
		size_t addr, size, len = sizeof(size_t);
		const char *type;
		size_t tlen = sizeof(type);

		snprintf(name, sizeof(name), "stats.classifier.site.%u.addr", i);
		if (mallctl()(name, &addr, &len, NULL, 0) != 0)
			break;
		snprintf(name, sizeof(name), "stats.classifier.site.%u.size", i);
		assert_d_eq(mallctl()(name, &size, &len, NULL, 0), 0);
		snprintf(name, sizeof(name), "stats.classifier.site.%u.type", i);
		assert_d_eq(mallctl()(name, &type, &tlen, NULL, 0), 0);
		if (size == 0 && site_in(addr, keep_long))
			seen_long |= strcmp(type, "long") == 0;
		if (size == 0 && site_in(addr, make_short))
			seen_short |= strcmp(type, "short") == 0;
	}
	expect_true(seen_long, "keep_long's site is reported long-lived");
	expect_true(seen_short, "make_short's site is reported short-lived");
	expect_zu_eq(classifier_count("samples"),
		     classifier_count("sampled_short") +
		     classifier_count("sampled_long"),
		     "samples are counted once, by their predicted type");
	print(collect, &text, "lifetime");
	expect_ptr_not_null(strstr(text.buf, "lifetime classifier: on\n"),
			    "the report says the classifier is on");
	expect_ptr_not_null(strstr(text.buf, " long  grouping"),
			    "the report lists a long-lived site of this program");
}
TEST_END

/* The same program with classifier:false: its figures from a child. */
TEST_BEGIN(test_control_without_classifier)
{
	struct figures f;
	int fds[2];
	pid_t pid;
	char out[256] = "";
	ssize_t n;
	size_t long_bytes = 0, rss_growth = 0, windows = 0;
	int status;

	assert_d_eq(pipe(fds), 0);
	pid = fork();
	assert_d_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = { "/proc/self/exe", "control", NULL };

		dup2(fds[1], 1);
		setenv("BUDDYMALLOC_CONF", "classifier:false", 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	assert_d_eq(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the control run worked");
	out[n > 0 ? n : 0] = '\0';
	assert_d_eq(sscanf(out, "%zu %zu %zu", &long_bytes, &rss_growth,
			   &windows), 3, "control figures: %s", out);
	test_diag("classifier off: long-lived %.1f MiB; resident +%.1f MiB "
	     "(%.2f x); 2 MiB windows +%zu", (double)long_bytes / MiB,
	     (double)rss_growth / MiB, (double)rss_growth / (double)long_bytes,
	     windows);
	f.long_bytes = long_bytes;
	expect_zu_gt(windows, window_bound(&f),
		     "without the classifier the long-lived objects pin "
		     "more pageblocks than the bound allows");
}
TEST_END

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "control") == 0) {
		struct figures f;

		if (!mallctl())
			return 1;	/* not under libbuddymalloc */
		run_phase(&f, false);
		printf("%zu %zu %zu\n", f.long_bytes, f.rss_growth,
		       f.window_growth);
		return 0;
	}
	api_watchdog(240);
	return test_run(test_served_by_buddymalloc, test_grouping,
			test_sites_reported, test_control_without_classifier,
			NULL);
}
