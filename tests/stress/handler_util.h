/*
 * handler_util.h - what the signal-handler stress tests share (signal_malloc.c,
 * fallback_fast.c): the handler's body, which allocates blocks of one size
 * until it has max of them or malloc fails, fills each with a pattern,
 * checks and frees them, and the counters it keeps (a handler can only
 * count; the test asserts on the counts afterwards).
 *
 * README "Signal handlers": in a handler, malloc and free of slab sizes
 * (up to 32 KiB) never wait for a lock; a handler that interrupted the
 * allocator may get NULL, always with errno ENOMEM.
 */
#ifndef BUDDY_TEST_HANDLER_UTIL_H
#define BUDDY_TEST_HANDLER_UTIL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "api_util.h"

/* The most blocks one handler run holds. */
#define HANDLER_UTIL_MAX	32

struct handler_counts {
	atomic_ulong runs;	/* handler runs completed */
	atomic_ulong blocks;	/* blocks allocated, checked and freed */
	atomic_ulong nulls;	/* malloc returned NULL */
	atomic_ulong bad_errno;	/* ... with errno other than ENOMEM */
	atomic_ulong corrupt;	/* a block changed while the handler held it */
};

/*
 * The handler's work: up to max (<= HANDLER_UTIL_MAX) blocks of size bytes,
 * block n filled with pattern key + n, then each checked and freed. errno
 * is kept for the interrupted code. Async-signal-safe apart from malloc and
 * free themselves (atomics on lock-free counters only).
 */
static inline void handler_alloc_check_free(struct handler_counts *c,
					    size_t size, unsigned int max,
					    uint64_t key)
{
	void *held[HANDLER_UTIL_MAX];
	int saved = errno;
	unsigned int n = 0;

	if (max > HANDLER_UTIL_MAX)
		max = HANDLER_UTIL_MAX;
	for (; n < max; n++) {
		errno = 0;
		held[n] = malloc(size);
		if (!held[n]) {
			atomic_fetch_add(&c->nulls, 1);
			if (errno != ENOMEM)
				atomic_fetch_add(&c->bad_errno, 1);
			break;
		}
		pattern_fill(held[n], size, key + n);
	}
	for (unsigned int i = 0; i < n; i++) {
		if (pattern_check(held[i], size, key + i) != size)
			atomic_fetch_add(&c->corrupt, 1);
		free(held[i]);
	}
	atomic_fetch_add(&c->blocks, n);
	atomic_fetch_add(&c->runs, 1);
	errno = saved;
}

/* TAP checks of what every handler test asserts on its counts: some runs,
 * no corruption, every NULL with ENOMEM. */
static inline void handler_counts_expect(struct handler_counts *c)
{
	test_diag("handler: %lu runs, %lu blocks, %lu NULL",
		  atomic_load(&c->runs), atomic_load(&c->blocks),
		  atomic_load(&c->nulls));
	expect_lu_gt(atomic_load(&c->runs), 0, "no signal arrived");
	expect_lu_eq(atomic_load(&c->corrupt), 0,
		     "a handler block changed while the handler held it");
	expect_lu_eq(atomic_load(&c->bad_errno), 0,
		     "a NULL from malloc in the handler without ENOMEM");
}

#endif /* BUDDY_TEST_HANDLER_UTIL_H */
