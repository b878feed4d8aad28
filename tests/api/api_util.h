/*
 * api_util.h - what the API and stress tests (tests/api/, tests/stress/)
 * share: the check that libbuddymalloc really serves malloc, a hang guard,
 * content patterns, and a seeded random generator.
 *
 * Every API and stress program is built twice (tests/local.mk): linked with
 * libbuddymalloc.la, and linked with nothing special and run under
 * LD_PRELOAD by tests/api/run-preloaded.sh. Both builds start with
 * test_served_by_buddymalloc(), so a build that silently ran on glibc's
 * malloc fails instead of passing for the wrong reason.
 *
 * BUDDY_TEST_ANY_MALLOC=1 in the environment turns that one check into a
 * skip, so the same programs can be run against glibc (or jemalloc, ...) to
 * validate the tests themselves:
 *
 *	BUDDY_TEST_ANY_MALLOC=1 tests/api/preload/sizes.preload
 */
#ifndef BUDDY_TEST_API_UTIL_H
#define BUDDY_TEST_API_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tap.h"
#include "test_util.h"

/*
 * TAP test: malloc, free, calloc and realloc resolve into libbuddymalloc.so,
 * and holding 32 MiB of 1 MiB blocks raises the allocator's own count of
 * allocated pages (pagetypeinfo: pageblocks x pages per block, minus free
 * pages; plus the pages of direct mappings, which hold such blocks under
 * hardening:guard) by at least 90% of that. Cannot pass on glibc's
 * malloc. Skipped when BUDDY_TEST_ANY_MALLOC is set. Name it first in
 * test_run().
 */
void test_served_by_buddymalloc(void);

/* True when BUDDY_TEST_ANY_MALLOC is set: the allocator may be anyone's. */
bool api_any_malloc(void);

/*
 * Hang guard: after the given number of seconds the process prints
 * "Bail out! ..." and exits with status 99, so a deadlock fails the test
 * instead of stalling "make check". Uses a POSIX timer with SIGVTALRM, so
 * the tests keep alarm() and SIGALRM for themselves. Not inherited by
 * fork children. Generous values only: it is not a performance check.
 */
void api_watchdog(unsigned int seconds);

/*
 * Content patterns. Byte i of a block with key k is byte (i % 8) of the
 * little-endian word pattern_word(k, i / 8), so blocks of different keys
 * differ everywhere and a shifted copy does not match.
 */
void pattern_fill(void *p, size_t n, uint64_t key);
/* Offset of the first byte that differs from the pattern, or n if none. */
size_t pattern_check(const void *p, size_t n, uint64_t key);
/* Offset of the first non-zero byte, or n if all are zero. */
size_t zero_check(const void *p, size_t n);

/* Address ranges [start, end) of live blocks, for overlap checks. */
struct interval {
	uintptr_t start;
	uintptr_t end;
	size_t index;		/* caller's index of the block */
};

/*
 * Sorts v[0..n) by start and returns the number of overlapping neighbour
 * pairs, printing the first few as TAP diagnostics.
 */
size_t intervals_overlaps(struct interval *v, size_t n);

/*
 * realloc and reallocarray called through pointers the compiler cannot see
 * through, for tests that use the old block after a realloc that must fail
 * (gcc's -Wuse-after-free cannot know it failed).
 */
extern void *(*volatile realloc_opaque)(void *, size_t);
extern void *(*volatile reallocarray_opaque)(void *, size_t, size_t);

/*
 * The allocator's own account of the heap: the "stats.<field>" values of
 * buddymalloc_mallctl (include/buddymalloc.h), found with dlsym so that the
 * preloaded build needs no link to the library. Returns false, with a TAP
 * diagnostic, when the process has no buddymalloc_mallctl or a read fails.
 */
struct heap_stats {
	size_t small_allocated;		/* bytes in live small objects */
	size_t small_slab_bytes;	/* bytes of pages held by slabs */
	size_t large_allocated;		/* bytes in live page allocations */
	size_t huge_allocated;		/* bytes in live direct mappings */
	size_t heap_bytes;		/* heap onlined from the OS */
	size_t free_bytes;		/* on the buddy free lists */
	size_t meta_bytes;		/* heap pages of the allocator's
					 * own metadata */
};
bool heap_stats_read(struct heap_stats *st);

/*
 * Runs this program again (execv of /proc/self/exe, argv as given) with
 * setting ("key:value") added to BUDDYMALLOC_CONF, unless the key is
 * there already; returns once it is. Settings from outside stay (the API
 * tests run under hardening:junk and hardening:redzone, tests/api/
 * hardening.sh). A failed exec is a "Bail out!" and exit status 99.
 */
void api_conf_require(char **argv, const char *setting);

/*
 * True when the allocator in this process runs with hardening:redzone or
 * a stronger level (its opt.hardening is neither "off" nor "junk"): a
 * small block's usable size is then the size asked for, not its class.
 * False for another allocator.
 */
bool api_redzone(void);

/* Resident set size of this process in bytes (from /proc/self/statm). */

#endif /* BUDDY_TEST_API_UTIL_H */
