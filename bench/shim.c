/*
 * shim.c - resolve the allocator table from the library that serves malloc.
 *
 * Every symbol is looked up with dlsym(RTLD_DEFAULT), which follows the same
 * search order as the program's own calls (preloads first, then the
 * executable's DT_NEEDED list in order).  dladdr() then tells which object the
 * address belongs to; a symbol from any object other than malloc's provider is
 * rejected.  That is what catches, e.g., jemalloc (which has no malloc_trim)
 * resolving "malloc_trim" to glibc's, which would trim glibc's idle heap and
 * report it as jemalloc's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT; also set by configure */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

struct shim shim;

/* Where malloc's provider is mapped; the identity of "the allocator". */
static void *provider_base;

/* Raw extension entry points; their signatures differ per allocator, so the
 * table exposes them through the small wrappers below. */
static int (*je_mallctl)(const char *, void *, size_t *, void *, size_t);
static void (*je_stats_print)(void (*)(void *, const char *), void *, const char *);
static void (*mi_collect_fn)(int force);
static void (*mi_stats_print_out_fn)(void (*)(const char *, void *), void *);
static void (*tc_release_fn)(void);
static int (*trim_fn)(size_t pad);
static void (*malloc_stats_fn)(void);
static void (*bm_stats_print_fn)(void (*)(void *, const char *), void *, const char *);

/* Symbols the provider lacks, for shim_describe(). */
static char missing[256];
static char description[1024];

/* Return `name` if the malloc provider defines it, else NULL. */
static void *provider_sym(const char *name)
{
	void *p = dlsym(RTLD_DEFAULT, name);
	Dl_info info;

	if (p == NULL || dladdr(p, &info) == 0 || info.dli_fbase != provider_base)
		return NULL;
	return p;
}

/* Like provider_sym() for a symbol the table needs; remembers a miss. */
static void *required_sym(const char *name)
{
	void *p = provider_sym(name);

	if (p == NULL) {
		if (missing[0] != '\0')
			strncat(missing, ",", sizeof(missing) - strlen(missing) - 1);
		strncat(missing, name, sizeof(missing) - strlen(missing) - 1);
	}
	return p;
}

static const char *name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strstr(base, "buddymalloc"))
		return "buddymalloc";
	if (strstr(base, "jemalloc"))
		return "jemalloc";
	if (strstr(base, "mimalloc"))
		return "mimalloc";
	if (strstr(base, "tcmalloc"))
		return "tcmalloc";
	if (strncmp(base, "libc.so", 7) == 0)
		return "glibc";
	return base;
}

/* jemalloc: flush this thread's cache first, or the objects sitting in it
 * keep their pages dirty and the purge cannot release them.
 * 4096 is MALLCTL_ARENAS_ALL in jemalloc 5. */
static void purge_jemalloc(void)
{
	je_mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
}

static void purge_mimalloc(void)
{
	mi_collect_fn(1);
}

static void purge_tcmalloc(void)
{
	tc_release_fn();
}

static void purge_trim(void)
{
	trim_fn(0);
}

static void write_stderr(const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, s, len);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* jemalloc and buddymalloc callback shape: (opaque, text). */
static void write_cb_opaque_first(void *opaque, const char *s)
{
	(void)opaque;
	write_stderr(s);
}

/* mimalloc callback shape: (text, arg). */
static void write_cb_text_first(const char *s, void *arg)
{
	(void)arg;
	write_stderr(s);
}

static void stats_jemalloc(void)
{
	je_stats_print(write_cb_opaque_first, NULL, NULL);
}

static void stats_mimalloc(void)
{
	mi_stats_print_out_fn(write_cb_text_first, NULL);
}

static void stats_buddymalloc(void)
{
	bm_stats_print_fn(write_cb_opaque_first, NULL, NULL);
}

static void stats_malloc_stats(void)
{
	malloc_stats_fn();
}

/* Pick the purge and stats calls, most specific first.  malloc_trim and
 * malloc_stats come last: glibc has them, tcmalloc has malloc_stats, and
 * libbuddymalloc exports the whole glibc family (DESIGN.md). */
static void resolve_extensions(void)
{
	*(void **)&je_mallctl = provider_sym("mallctl");
	*(void **)&je_stats_print = provider_sym("malloc_stats_print");
	*(void **)&mi_collect_fn = provider_sym("mi_collect");
	*(void **)&mi_stats_print_out_fn = provider_sym("mi_stats_print_out");
	*(void **)&tc_release_fn = provider_sym("MallocExtension_ReleaseFreeMemory");
	*(void **)&trim_fn = provider_sym("malloc_trim");
	*(void **)&malloc_stats_fn = provider_sym("malloc_stats");
	*(void **)&bm_stats_print_fn = provider_sym("buddymalloc_stats_print");

	shim.purge_name = "none";
	if (je_mallctl) {
		shim.purge = purge_jemalloc;
		shim.purge_name = "mallctl(arena.all.purge)";
	} else if (mi_collect_fn) {
		shim.purge = purge_mimalloc;
		shim.purge_name = "mi_collect";
	} else if (tc_release_fn) {
		shim.purge = purge_tcmalloc;
		shim.purge_name = "MallocExtension_ReleaseFreeMemory";
	} else if (trim_fn) {
		shim.purge = purge_trim;
		shim.purge_name = "malloc_trim";
	}

	if (bm_stats_print_fn)
		shim.stats_print = stats_buddymalloc;
	else if (je_stats_print)
		shim.stats_print = stats_jemalloc;
	else if (mi_stats_print_out_fn)
		shim.stats_print = stats_mimalloc;
	else if (malloc_stats_fn)
		shim.stats_print = stats_malloc_stats;
}

int shim_init(void)
{
	void *m = dlsym(RTLD_DEFAULT, "malloc");
	Dl_info info;

	if (m == NULL || dladdr(m, &info) == 0 || info.dli_fname == NULL) {
		write_stderr("shim: cannot find which library provides malloc\n");
		return -1;
	}
	provider_base = info.dli_fbase;
	shim.path = info.dli_fname;
	shim.name = name_from_path(info.dli_fname);

	*(void **)&shim.malloc = required_sym("malloc");
	*(void **)&shim.free = required_sym("free");
	*(void **)&shim.calloc = required_sym("calloc");
	*(void **)&shim.realloc = required_sym("realloc");
	*(void **)&shim.posix_memalign = required_sym("posix_memalign");
	*(void **)&shim.aligned_alloc = required_sym("aligned_alloc");
	*(void **)&shim.usable_size = required_sym("malloc_usable_size");
	resolve_extensions();

	snprintf(description, sizeof(description), "%s (%s) purge=%s stats=%s missing=%s",
		 shim.name, shim.path, shim.purge_name, shim.stats_print ? "yes" : "no",
		 missing[0] ? missing : "-");

	if (!shim.malloc || !shim.free || !shim.calloc || !shim.realloc) {
		write_stderr("shim: malloc's provider lacks free, calloc or realloc: ");
		write_stderr(description);
		write_stderr("\n");
		return -1;
	}
	return 0;
}

const char *shim_describe(void)
{
	return description;
}
