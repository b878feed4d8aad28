/*
 * lifetime.c - bench/lifetime_loop: a server that keeps a long-lived cache
 * while it handles peaks of short-lived requests (bench/lifetime.py runs it).
 *
 *   lifetime_loop [-p PEAK_MIB] [-c CACHE_MIB] [-i INSERT_ONE_IN] [-n PEAKS]
 *                 [-s TROUGH_SECONDS] [-r SEED] [-w] [-a]
 *
 * A peak: requests are handled one after another, and each allocates a
 * request object that stays live until the peak ends, until PEAK_MIB
 * (default 256) of requests are live; then all of them die, in a random
 * order. While requests are handled, one request in INSERT_ONE_IN (default
 * 32) also inserts an entry into the cache, which holds at most CACHE_MIB
 * (default 24) and evicts its oldest entries to make room. With these
 * defaults a peak inserts about 8 MiB, so an entry lives across three peaks,
 * and long-lived and short-lived objects are allocated interleaved in time,
 * from different call sites. Request objects and cache entries have the
 * same sizes: log-uniform 16 B .. 32 KiB, each drawn on its own. Every
 * block is written in full (memset), so every page of it is faulted in.
 *
 * After each peak comes a trough of TROUGH_SECONDS (default 2): the program
 * makes no call at all (no allocation, no free, no purge, no hint), then
 * measures. PEAKS (default 6) peaks.
 *
 * -w (wrapper): both populations allocate through one shared non-inlined
 *    function, xmalloc(), as programs that check for NULL in one place do;
 *    malloc then sees the same return address for both. The call chains
 *    differ as a server's would: a request's object is allocated as the
 *    request arrives (handle_request -> request_new -> xmalloc -> malloc),
 *    a cache entry while the answer is made (handle_request -> respond ->
 *    cache_insert -> xmalloc -> malloc), one frame deeper in the source;
 *    gcc -O2 makes the calls of respond and cache_insert tail calls, so at
 *    run time it is the cache's chain that is one frame shorter, and its
 *    last frame happens to be as large as the two it replaces: both chains
 *    reach malloc with the same stack pointer (gcc 12 on Debian 12; built
 *    with -fno-optimize-sibling-calls they differ by a frame). Without
 *    -w, request_new and cache_insert call malloc themselves.
 * -a (jemalloc arena): the cache entries come from a jemalloc arena of their
 *    own (mallocx(size, MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE), dallocx),
 *    requests from malloc: the lifetimes separated by hand. Needs jemalloc
 *    to be the process's malloc (mallctl, mallocx and dallocx are found with
 *    dlsym and must come from malloc's library).
 *
 * Lines on stdout (all numbers are bytes unless said otherwise):
 *
 *	allocator MALLCTL CLASSIFIER ARENA
 *		MALLCTL: buddymalloc if buddymalloc_mallctl is found (the
 *		process is served by libbuddymalloc), jemalloc if mallctl is
 *		malloc's neighbour, else none. CLASSIFIER: opt.classifier of
 *		buddymalloc_mallctl (1 or 0), "-" if it has no such setting.
 *		ARENA: the arena of -a, else "-".
 *	base RSS HEAP UNITS HARNESS
 *		before the first allocation of the workload
 *	peak I HWM LIVE REQUESTS ENTRIES NS CPU_NS CALLS FAULTS
 *		peak I (from 1): VmHWM during it (the kernel's peak mark is
 *		reset when it starts), live bytes at its top (requests and
 *		cache), requests handled, cache entries live at its top, the
 *		nanoseconds it took (allocation phase: handle the requests,
 *		free them), on the clock and in this thread's CPU time, the
 *		allocator calls made in it, and the page faults the process
 *		took in it (minor and major)
 *	trough I RSS HEAP UNITS HARNESS LIVE ENTRIES
 *		at the end of trough I: whole-process resident bytes
 *		(/proc/self/statm), resident bytes of the anonymous writable
 *		mappings (the heap, wherever the allocator maps it), the
 *		number of 2 MiB-aligned windows of those mappings with at
 *		least one resident page, the resident bytes of this program's
 *		own arrays (counted in RSS, left out of HEAP and UNITS), and
 *		the live bytes (requested sizes) and entries of the cache
 *	cpu PROCESS_NS THREAD_NS
 *		at the end: CPU time of the process (every thread: an
 *		allocator's background threads too) and of this thread
 *
 * The program's own arrays come from mmap, the measurement reads /proc and
 * calls mincore, and output is written with write(2) from a stack buffer:
 * the only allocator calls are the workload's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "rss.h"

#define PAGE		4096u
#define MIB		(1024u * 1024u)
#define WINDOW		(2u * MIB)	/* a pageblock */
#define SIZE_MIN	16.0
#define SIZE_MAX_EXCL	32768.0

/* jemalloc's mallocx flags (jemalloc.h), written out so the program builds
 * without jemalloc's headers. */
#define MALLOCX_TCACHE_NONE	((int)((-1 + 2) << 8))
#define MALLOCX_ARENA(a)	((((int)(a)) + 1) << 20)

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef void *(*mallocx_fn)(size_t, int);
typedef void (*dallocx_fn)(void *, int);

static struct {
	size_t peak_bytes;
	size_t cache_bytes;
	unsigned int insert_one_in;
	unsigned int peaks;
	double trough_s;
	uint64_t seed;
	bool wrapper;
	bool arena;
} opt = {256u * MIB, 24u * MIB, 32, 6, 2.0, 1, false, false};

/* -a: jemalloc's extended API and the cache's arena. */
static mallocx_fn je_mallocx;
static dallocx_fn je_dallocx;
static int arena_flags;

/* ------------------------------------------------------ the harness's memory */

/* The program's own arrays, left out of the heap figures. */
struct range {
	uintptr_t lo, hi;
};
static struct range harness[4];
static unsigned int nr_harness;

static void *harness_map(size_t bytes)
{
	void *p = harness_alloc(bytes);

	if (nr_harness == sizeof(harness) / sizeof(harness[0]))
		die("lifetime_loop: too many harness arrays\n");
	harness[nr_harness].lo = (uintptr_t)p;
	harness[nr_harness].hi = (uintptr_t)p + bytes;
	nr_harness++;
	return p;
}

static bool in_harness(uintptr_t addr)
{
	for (unsigned int i = 0; i < nr_harness; i++)
		if (addr >= harness[i].lo && addr < harness[i].hi)
			return true;
	return false;
}

/* ------------------------------------------------------------ measurement */

/*
 * Resident pages of [lo, hi), at most one window long, page-aligned;
 * pages of the harness are counted only when harness_too.
 */
static size_t resident_pages(uintptr_t lo, uintptr_t hi, bool harness_too)
{
	unsigned char vec[WINDOW / PAGE];
	size_t n = 0;

	if (mincore((void *)lo, hi - lo, vec) != 0)
		return 0; /* unmapped meanwhile (another thread's munmap) */
	for (size_t i = 0; i < (hi - lo) / PAGE; i++)
		if ((vec[i] & 1) && (harness_too || !in_harness(lo + i * PAGE)))
			n++;
	return n;
}

/* Resident bytes of the harness's arrays. */
static size_t harness_resident(void)
{
	size_t pages = 0;

	for (unsigned int i = 0; i < nr_harness; i++)
		for (uintptr_t a = harness[i].lo; a < harness[i].hi; a += WINDOW) {
			uintptr_t b = a + WINDOW < harness[i].hi ? a + WINDOW : harness[i].hi;

			pages += resident_pages(a, b, true);
		}
	return pages * PAGE;
}

struct heap_scan {
	size_t bytes;		/* resident bytes */
	size_t units;		/* 2 MiB windows with a resident page */
	uintptr_t last_window;	/* the last window counted (maps is sorted) */
};

static unsigned long parse_hex(const char **p)
{
	unsigned long v = 0;

	for (;; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned long)(c - 'a' + 10);
		else
			return v;
	}
}

/* Skip n whitespace-separated fields. */
static const char *skip_fields(const char *p, int n)
{
	while (n-- > 0) {
		while (*p == ' ')
			p++;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	while (*p == ' ')
		p++;
	return p;
}

/*
 * One line of /proc/self/maps: "lo-hi perms offset dev inode [path]". The
 * heap is every anonymous writable mapping: no path, or glibc's "[heap]"
 * (the stack and the kernel's [vvar]/[vdso] are named, files have paths).
 */
static void scan_line(const char *line, struct heap_scan *s)
{
	const char *p = line, *path;
	uintptr_t lo, hi;

	lo = parse_hex(&p);
	if (*p++ != '-')
		return;
	hi = parse_hex(&p);
	if (*p++ != ' ' || p[1] != 'w')
		return;
	path = skip_fields(p, 4);
	if (*path != '\0' && strcmp(path, "[heap]") != 0)
		return;
	for (uintptr_t w = lo & ~(uintptr_t)(WINDOW - 1); w < hi; w += WINDOW) {
		uintptr_t a = w > lo ? w : lo;
		uintptr_t b = w + WINDOW < hi ? w + WINDOW : hi;
		size_t n = resident_pages(a, b, false);

		s->bytes += n * PAGE;
		if (n != 0 && s->last_window != w) {
			s->units++;
			s->last_window = w;
		}
	}
}

/* Resident bytes and 2 MiB windows of the heap, from /proc/self/maps and
 * mincore. Reads maps in pieces through a static buffer (no stdio). */
static struct heap_scan scan_heap(void)
{
	static char buf[65536];
	struct heap_scan s = {0, 0, (uintptr_t)-1};
	size_t have = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("lifetime_loop: cannot open /proc/self/maps\n");
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *line = buf, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			scan_line(line, &s);
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			die("lifetime_loop: a line of /proc/self/maps is too long\n");
	}
	close(fd);
	return s;
}

static void measure(const char *what, unsigned int i, bool indexed, size_t live,
		    size_t entries)
{
	size_t rss = rss_current();
	size_t own = harness_resident();
	struct heap_scan s = scan_heap();

	if (indexed)
		out("%s %u %zu %zu %zu %zu %zu %zu\n", what, i, rss, s.bytes, s.units,
		    own, live, entries);
	else
		out("%s %zu %zu %zu %zu\n", what, rss, s.bytes, s.units, own);
}

/* ---------------------------------------------------------------- the server */

struct block {
	void *p;
	size_t size;
};

/* The cache: a FIFO of entries, the oldest evicted first. */
struct cache {
	struct block *entry;	/* ring of max entries */
	size_t max, head, count;
	size_t bytes, capacity;
};

/* This peak's live requests. */
struct requests {
	struct block *req;
	size_t max, count;
	size_t bytes;
};

struct server {
	struct cache cache;
	struct requests requests;
	struct rng rng;
	size_t calls;		/* allocator calls, for the throughput */
};

/*
 * The server's parts, each kept out of line as it would be in a source file
 * of its own (compiled here as one file, they would all be inlined into
 * main, and both populations would call malloc from one frame).
 */
#define OUT_OF_LINE __attribute__((noinline))

/* The program's checked allocation, shared by every caller in -w mode; not
 * a tail call either, since it looks at the result. */
OUT_OF_LINE void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (p == NULL)
		die("lifetime_loop: out of memory\n");
	return p;
}

static size_t draw_size(struct rng *r)
{
	return log_uniform(r, SIZE_MIN, SIZE_MAX_EXCL);
}

static void cache_evict_oldest(struct server *s)
{
	struct cache *c = &s->cache;
	struct block *e = &c->entry[c->head];

	if (opt.arena)
		je_dallocx(e->p, arena_flags);
	else
		free(e->p);
	s->calls++;
	c->bytes -= e->size;
	c->head = (c->head + 1) % c->max;
	c->count--;
}

/* Store a new entry of size bytes, evicting the oldest ones to make room. */
OUT_OF_LINE void cache_insert(struct server *s, size_t size)
{
	struct cache *c = &s->cache;
	void *p;

	while (c->count > 0 && c->bytes + size > c->capacity)
		cache_evict_oldest(s);
	if (opt.arena)
		p = je_mallocx(size, arena_flags);
	else if (opt.wrapper)
		p = xmalloc(size);
	else
		p = malloc(size);
	if (p == NULL)
		die("lifetime_loop: out of memory (cache)\n");
	s->calls++;
	memset(p, 0xca, size);
	c->entry[(c->head + c->count) % c->max] = (struct block){p, size};
	c->count++;
	c->bytes += size;
}

/* A request's object, live until the peak ends. */
OUT_OF_LINE void *request_new(struct server *s, size_t size)
{
	void *p = opt.wrapper ? xmalloc(size) : malloc(size);

	if (p == NULL)
		die("lifetime_loop: out of memory (request)\n");
	s->calls++;
	memset(p, 0x5e, size);
	return p;
}

/* Answer a request: one in insert_one_in misses the cache, and its answer
 * (a size of its own) is stored there. */
OUT_OF_LINE void respond(struct server *s)
{
	if (rng_next(&s->rng) % opt.insert_one_in == 0)
		cache_insert(s, draw_size(&s->rng));
}

OUT_OF_LINE void handle_request(struct server *s)
{
	struct requests *q = &s->requests;
	size_t size = draw_size(&s->rng);

	q->req[q->count++] = (struct block){request_new(s, size), size};
	q->bytes += size;
	respond(s);
}

/* Every request of the peak dies, in a random order (Fisher-Yates). */
static void requests_die(struct server *s)
{
	struct requests *q = &s->requests;

	for (size_t i = q->count; i > 1; i--) {
		size_t j = rng_next(&s->rng) % i;
		struct block t = q->req[i - 1];

		q->req[i - 1] = q->req[j];
		q->req[j] = t;
	}
	for (size_t i = 0; i < q->count; i++) {
		free(q->req[i].p);
		s->calls++;
	}
	q->count = 0;
	q->bytes = 0;
}

/* CPU time of this thread, in seconds. */
static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Page faults of the process so far. */
static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void run_peak(struct server *s, unsigned int i)
{
	size_t calls0 = s->calls, live, entries, handled;
	double t0, t1, c0, c1;
	long f0 = faults();

	rss_reset_peak();
	t0 = now();
	c0 = thread_cpu();
	while (s->requests.bytes < opt.peak_bytes && s->requests.count < s->requests.max)
		handle_request(s);
	live = s->requests.bytes + s->cache.bytes;
	entries = s->cache.count;
	handled = s->requests.count;
	requests_die(s);
	c1 = thread_cpu();
	t1 = now();
	out("peak %u %zu %zu %zu %zu %llu %llu %zu %ld\n", i, rss_peak(), live, handled,
	    entries, (unsigned long long)((t1 - t0) * 1e9),
	    (unsigned long long)((c1 - c0) * 1e9), s->calls - calls0, faults() - f0);
}

/* ---------------------------------------------------------- the allocator */

/* Which allocator serves this process, and -a's arena. */
static void identify(void)
{
	mallctl_fn buddy = (mallctl_fn)dlsym(RTLD_DEFAULT, "buddymalloc_mallctl");
	mallctl_fn je = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info mi, ji;
	bool je_serves = je != NULL && m != NULL && dladdr(m, &mi) && dladdr((void *)je, &ji) &&
			 mi.dli_fname != NULL && ji.dli_fname != NULL &&
			 strcmp(mi.dli_fname, ji.dli_fname) == 0;
	char classifier[8] = "-", arena[16] = "-";

	if (buddy != NULL) {
		bool on;
		size_t len = sizeof(on);

		if (buddy("opt.classifier", &on, &len, NULL, 0) == 0)
			classifier[0] = on ? '1' : '0';
	}
	if (opt.arena) {
		unsigned int a;
		size_t len = sizeof(a);

		if (!je_serves)
			die("lifetime_loop: -a needs jemalloc as the process's malloc\n");
		je_mallocx = (mallocx_fn)dlsym(RTLD_DEFAULT, "mallocx");
		je_dallocx = (dallocx_fn)dlsym(RTLD_DEFAULT, "dallocx");
		if (je_mallocx == NULL || je_dallocx == NULL)
			die("lifetime_loop: -a: jemalloc without mallocx/dallocx\n");
		if (je("arenas.create", &a, &len, NULL, 0) != 0)
			die("lifetime_loop: -a: mallctl(\"arenas.create\") failed\n");
		arena_flags = MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE;
		snprintf(arena, sizeof(arena), "%u", a);
	}
	out("allocator %s %s %s\n",
	    buddy != NULL ? "buddymalloc" : je_serves ? "jemalloc" : "none", classifier, arena);
}

/* ------------------------------------------------------------------- main */

static void usage(void)
{
	die("usage: lifetime_loop [-p PEAK_MIB] [-c CACHE_MIB] [-i INSERT_ONE_IN] [-n PEAKS]\n"
	    "                     [-s TROUGH_SECONDS] [-r SEED] [-w] [-a]\n");
}

int main(int argc, char **argv)
{
	struct server s = {0};
	int o;

	while ((o = getopt(argc, argv, "p:c:i:n:s:r:wa")) != -1) {
		switch (o) {
		case 'p': opt.peak_bytes = strtoull(optarg, NULL, 10) * MIB; break;
		case 'c': opt.cache_bytes = strtoull(optarg, NULL, 10) * MIB; break;
		case 'i': opt.insert_one_in = (unsigned int)atoi(optarg); break;
		case 'n': opt.peaks = (unsigned int)atoi(optarg); break;
		case 's': opt.trough_s = atof(optarg); break;
		case 'r': opt.seed = strtoull(optarg, NULL, 10); break;
		case 'w': opt.wrapper = true; break;
		case 'a': opt.arena = true; break;
		default: usage();
		}
	}
	if (optind != argc || opt.peak_bytes == 0 || opt.insert_one_in == 0 ||
	    opt.trough_s < 0 || (opt.wrapper && opt.arena))
		usage();
	identify();
	/* At most one block per SIZE_MIN bytes, in each array. */
	s.requests.max = opt.peak_bytes / (size_t)SIZE_MIN + 1;
	s.requests.req = harness_map(s.requests.max * sizeof(struct block));
	s.cache.capacity = opt.cache_bytes;
	s.cache.max = opt.cache_bytes / (size_t)SIZE_MIN + 1;
	s.cache.entry = harness_map(s.cache.max * sizeof(struct block));
	rng_seed(&s.rng, opt.seed);
	measure("base", 0, false, 0, 0);
	for (unsigned int i = 1; i <= opt.peaks; i++) {
		run_peak(&s, i);
		/* The trough: no call into the allocator at all. */
		sleep_seconds(opt.trough_s);
		measure("trough", i, true, s.cache.bytes, s.cache.count);
	}
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		out("cpu %llu %llu\n",
		    (unsigned long long)((ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ll +
					 (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ll),
		    (unsigned long long)(thread_cpu() * 1e9));
	}
	return 0;
}
