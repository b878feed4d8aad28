/*
 * symbols.c - no glibc allocation function ever sees our pointers: every
 * malloc-family name, glibc's __libc_* aliases and cfree included, resolves
 * into libbuddymalloc.so, and blocks pass freely between the names. libc's
 * own functions that return malloc'ed memory (strdup, getline, asprintf,
 * open_memstream, realpath, getcwd, scandir ...) and the dynamic loader
 * (dlopen, dlerror) allocate through our malloc, so free() takes what they
 * return.
 *
 * (A name we forgot to export would run glibc's code on our pointers:
 * jemalloc 5.3 crashes on pvalloc + free, REFERENCE.md.)
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_util.h"

static const char *const family[] = {
	"malloc", "free", "calloc", "realloc", "reallocarray", "memalign",
	"posix_memalign", "aligned_alloc", "valloc", "pvalloc", "cfree",
	"malloc_usable_size", "malloc_trim", "mallinfo", "mallinfo2",
	"mallopt", "malloc_stats", "malloc_info", "free_sized",
	"free_aligned_sized", "__libc_malloc", "__libc_free",
	"__libc_calloc", "__libc_realloc", "__libc_memalign",
	"__libc_valloc", "__libc_pvalloc",
};
#define NR_FAMILY	(sizeof(family) / sizeof(family[0]))

/* Where a name resolves: the file's base name, or NULL when not found. */
static const char *resolves_into(const char *name)
{
	void *sym = dlsym(RTLD_DEFAULT, name);
	Dl_info info;
	const char *base;

	if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL)
		return NULL;
	base = strrchr(info.dli_fname, '/');
	return base ? base + 1 : info.dli_fname;
}

TEST_BEGIN(test_family_resolves_to_buddymalloc)
{
	const bool BUDDY_TEST_ANY_MALLOC_is_set = api_any_malloc();

	test_skip_if(BUDDY_TEST_ANY_MALLOC_is_set);
	for (size_t i = 0; i < NR_FAMILY; i++) {
		const char *where = resolves_into(family[i]);

		if (where == NULL)
			test_fail("%s: not found by dlsym", family[i]);
		else if (strncmp(where, "libbuddymalloc", 14) != 0)
			test_fail("%s resolves into %s", family[i], where);
	}
}
TEST_END

typedef void *(malloc_fn)(size_t);
typedef void (free_fn)(void *);
typedef void *(calloc_fn)(size_t, size_t);
typedef void *(realloc_fn)(void *, size_t);
typedef void *(memalign_fn)(size_t, size_t);

/* A function of the family by name; NULL (and the test skipped) when an
 * allocator other than ours lacks it. */
static void *lookup(const char *name)
{
	void *sym = dlsym(RTLD_DEFAULT, name);

	if (sym == NULL && !api_any_malloc())
		test_fail("%s is not exported", name);
	return sym;
}

/* Blocks from each allocating name are freed by each freeing name. */
TEST_BEGIN(test_aliases_interoperate)
{
	malloc_fn *lmalloc = lookup("__libc_malloc");
	free_fn *lfree = lookup("__libc_free");
	calloc_fn *lcalloc = lookup("__libc_calloc");
	realloc_fn *lrealloc = lookup("__libc_realloc");
	memalign_fn *lmemalign = lookup("__libc_memalign");
	malloc_fn *lvalloc = lookup("__libc_valloc");
	malloc_fn *lpvalloc = lookup("__libc_pvalloc");
	free_fn *cfree_ = lookup("cfree");
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	test_skip_if(!lmalloc || !lfree || !lcalloc || !lrealloc ||
		     !lmemalign || !lvalloc || !lpvalloc);

	for (size_t size = 1; size <= ((size_t)8 << 20); size *= 7) {
		p = lmalloc(size);
		assert_ptr_not_null(p, "__libc_malloc(%zu)", size);
		expect_lx_eq((uintptr_t)p & 15, 0);
		pattern_fill(p, size, size);
		p = realloc(p, size * 2);
		assert_ptr_not_null(p);
		expect_zu_eq(pattern_check(p, size, size), size,
			     "__libc_malloc -> realloc");
		free(p);

		p = malloc(size);
		assert_ptr_not_null(p);
		pattern_fill(p, size, size);
		p = lrealloc(p, size + 100);
		assert_ptr_not_null(p);
		expect_zu_eq(pattern_check(p, size, size), size,
			     "malloc -> __libc_realloc");
		lfree(p);

		p = lcalloc(size, 1);
		assert_ptr_not_null(p);
		expect_zu_eq(zero_check(p, size), size, "__libc_calloc(%zu, 1)",
			     size);
		free(p);

		p = lmemalign(256, size);
		assert_ptr_not_null(p);
		expect_lx_eq((uintptr_t)p & 255, 0, "__libc_memalign(256, %zu)",
			     size);
		free(p);

		p = lvalloc(size);
		assert_ptr_not_null(p);
		expect_lx_eq((uintptr_t)p & (page - 1), 0, "__libc_valloc(%zu)",
			     size);
		free(p);

		p = lpvalloc(size);
		assert_ptr_not_null(p);
		expect_lx_eq((uintptr_t)p & (page - 1), 0, "__libc_pvalloc(%zu)",
			     size);
		expect_zu_ge(malloc_usable_size(p),
			     (size + (size_t)page - 1) & ~((size_t)page - 1));
		lfree(p);

		if (cfree_ != NULL) {
			p = malloc(size);
			assert_ptr_not_null(p);
			cfree_(p);
		}
	}
}
TEST_END

/* libc functions that hand out malloc'ed memory; free() takes it all. */
TEST_BEGIN(test_libc_functions_allocate_with_us)
{
	char *s, *line = NULL, *buf = NULL;
	size_t cap = 0, len = 0;
	struct dirent **names;
	FILE *f;
	regex_t re;
	int n;

	s = strdup("buddy allocator");
	assert_ptr_not_null(s);
	expect_zu_ge(malloc_usable_size(s), 16);
	free(s);

	s = strndup("0123456789abcdef0123456789", 20);
	assert_ptr_not_null(s);
	expect_str_eq(s, "0123456789abcdef0123");
	free(s);

	expect_d_gt(asprintf(&s, "%d %s %f", 42, "pages", 3.5), 0);
	expect_str_eq(s, "42 pages 3.500000");
	free(s);

	f = open_memstream(&buf, &len);
	assert_ptr_not_null(f);
	for (int i = 0; i < 10000; i++)
		fprintf(f, "line %d\n", i);
	fclose(f);
	expect_zu_gt(len, 10000 * 6);
	/* Read it back with getline, which grows its buffer by realloc. */
	f = fmemopen(buf, len, "r");
	assert_ptr_not_null(f);
	n = 0;
	while (getline(&line, &cap, f) > 0)
		n++;
	expect_d_eq(n, 10000);
	fclose(f);
	free(line);
	free(buf);

	s = realpath("/usr/bin/../lib", NULL);
	assert_ptr_not_null(s, "realpath: %s", strerror(errno));
	free(s);
	s = getcwd(NULL, 0);
	assert_ptr_not_null(s);
	free(s);

	n = scandir("/", &names, NULL, alphasort);
	assert_d_gt(n, 0);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);

	expect_d_eq(regcomp(&re, "^(a|b)+[0-9]{2,5}$", REG_EXTENDED), 0);
	expect_d_eq(regexec(&re, "abba1234", 0, NULL, 0), 0);
	regfree(&re);
}
TEST_END

/* The dynamic loader allocates with the process's malloc once it runs. */
TEST_BEGIN(test_loader_allocations)
{
	for (int i = 0; i < 20; i++) {
		void *h = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
		double (*cosine)(double);

		assert_ptr_not_null(h, "dlopen(libm.so.6): %s", dlerror());
		cosine = (double (*)(double))dlsym(h, "cos");
		assert_ptr_not_null((void *)cosine);
		expect_true(cosine(0.0) == 1.0);
		expect_d_eq(dlclose(h), 0);

		/* A failing dlopen makes dlerror allocate its message. */
		expect_ptr_null(dlopen("libdoes-not-exist-buddy.so", RTLD_NOW));
		expect_ptr_not_null(dlerror());
	}
}
TEST_END

int main(void)
{
	api_watchdog(180);
	return test_run(test_served_by_buddymalloc,
			test_family_resolves_to_buddymalloc,
			test_aliases_interoperate,
			test_libc_functions_allocate_with_us,
			test_loader_allocations,
			NULL);
}
