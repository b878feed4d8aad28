/*
 * shim.h - the only way the benchmarks reach an allocator.
 *
 * The benchmark binary is the same for every allocator; which one it measures
 * is decided by the dynamic linker (LD_PRELOAD, or libbuddymalloc linked in).
 * shim_init() asks the linker which library now provides `malloc` and fills
 * this table from that library only.  A function that library does not define
 * stays NULL instead of silently falling through to glibc's, because mixing
 * two allocators on one pointer crashes or, worse, measures the wrong thing.
 *
 * Extension calls (purge, stats) exist in some allocators and not others;
 * they are NULL when absent and callers must check.
 */
#ifndef BENCH_SHIM_H
#define BENCH_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shim {
	/* Short allocator name: glibc, jemalloc, mimalloc, tcmalloc,
	 * buddymalloc, or the library's file name when unknown. */
	const char *name;
	/* Absolute path of the library that provides malloc. */
	const char *path;

	void *(*malloc)(size_t size);
	void (*free)(void *ptr);
	void *(*calloc)(size_t nmemb, size_t size);
	void *(*realloc)(void *ptr, size_t size);
	int (*posix_memalign)(void **memptr, size_t alignment, size_t size);
	void *(*aligned_alloc)(size_t alignment, size_t size);
	size_t (*usable_size)(void *ptr);

	/* Give free memory back to the OS now, the way this allocator does it
	 * (mallctl "arena.<all>.purge", mi_collect, MallocExtension_Release-
	 * FreeMemory, malloc_trim).  NULL when the allocator has no such call. */
	void (*purge)(void);
	/* Name of the call purge() makes, for the report ("none" if NULL). */
	const char *purge_name;
	/* Print the allocator's own statistics to stderr, or NULL. */
	void (*stats_print)(void);
};

/* Filled by shim_init(); read-only afterwards. */
extern struct shim shim;

/*
 * Resolve the table.  Returns 0 when malloc, free, calloc and realloc all come
 * from one library, -1 (with a line on stderr) otherwise.  Call it once, from
 * main, before any benchmark runs.
 */
int shim_init(void);

/* One line describing the table, e.g. for the benchmark's context block:
 * "jemalloc (/usr/lib/.../libjemalloc.so.2) purge=mallctl missing=-". */
const char *shim_describe(void);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_SHIM_H */
