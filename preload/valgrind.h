/*
 * valgrind.h - memcheck's view of the malloc family's blocks: valgrind
 * client requests (<valgrind/memcheck.h>, when configure found it;
 * otherwise every request below compiles to nothing).
 *
 * Run with --soname-synonyms=somalloc=nouserintercepts, memcheck leaves
 * our malloc in place (tests/valgrind.sh) but sees the heap as mapped
 * memory, addressable throughout. The requests tell it what we hand out:
 *   - malloc & co.: a heap block of the size asked for (MALLOCLIKE,
 *     undefined, or defined for calloc), the rest of its slot not
 *     addressable (NOACCESS), so an access past the size is reported;
 *   - free: the block is gone (FREELIKE: not addressable, and memcheck
 *     remembers where it was freed), so a use after free is reported;
 *   - realloc: resized in place (RESIZEINPLACE), or moved: a new block
 *     with the old bytes' definedness (GET/SET_VBITS), the old one freed;
 *   - malloc_usable_size: the block resized to all its usable bytes.
 * memcheck then also counts our blocks in its leak check.
 *
 * Under memcheck (checked at boot: buddy_on_memcheck) the per-CPU caches
 * are off (cpu_cache_force_off), so that every call takes
 * malloc.c's out-of-line paths, where the requests are, and nothing of
 * ours writes into a freed block (the per-CPU layer keeps a mark in word 0
 * of each object it holds). glibc registers no rseq area under valgrind,
 * so the fast path it would otherwise run is the fallback mode's. The
 * fast paths carry no request; natively the out-of-line paths pay a load
 * and a branch on buddy_on_memcheck (bench/results/valgrind.md).
 */
#ifndef BUDDY_PRELOAD_VALGRIND_H
#define BUDDY_PRELOAD_VALGRIND_H

#include "config.h"	/* HAVE_VALGRIND_MEMCHECK_H */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef HAVE_VALGRIND_MEMCHECK_H
#include <valgrind/memcheck.h>
#define BUDDY_VALGRIND	1
#else
#define BUDDY_VALGRIND	0
#define RUNNING_ON_VALGRIND				0
#define VALGRIND_MALLOCLIKE_BLOCK(addr, size, rz, zeroed)	((void)0)
#define VALGRIND_FREELIKE_BLOCK(addr, rz)			((void)0)
#define VALGRIND_RESIZEINPLACE_BLOCK(addr, old, size, rz)	((void)0)
#define VALGRIND_MAKE_MEM_NOACCESS(addr, len)			((void)0)
#define VALGRIND_MAKE_MEM_DEFINED(addr, len)			((void)0)
#define VALGRIND_CHECK_MEM_IS_ADDRESSABLE(addr, len)		0
#define VALGRIND_DISABLE_ERROR_REPORTING			((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING				((void)0)
#define VALGRIND_GET_VBITS(addr, bits, len)			0
#define VALGRIND_SET_VBITS(addr, bits, len)			0
#endif

/*
 * Is the tool memcheck? Only memcheck answers GET_VBITS (1: done); any
 * other tool, callgrind included, returns the request's default, 0. The
 * other tools run the allocator as it is, fast paths and all (callgrind
 * counts the fallback mode's instructions: bench/fastpath).
 */
static inline bool valgrind_is_memcheck(void)
{
	unsigned char byte = 0, vbits = 0;

	(void)byte;
	(void)vbits;
	return VALGRIND_GET_VBITS(&byte, &vbits, 1) == 1;
}

/* Set once at boot (malloc.c, valgrind_boot), before the first block. */
extern bool buddy_on_memcheck;

/* At boot, before the slab layer starts: under valgrind, no per-CPU
 * caches. Called by buddy_boot_slow (init.c). */
void valgrind_boot(void);

/* p (usable bytes from ksize) was handed out for size bytes. */
static inline void valgrind_alloced(void *p, size_t size, size_t usable,
				    bool zeroed)
{
	VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, zeroed);
	if (usable > size)
		VALGRIND_MAKE_MEM_NOACCESS((char *)p + size, usable - size);
}

/* p is about to be freed. */
static inline void valgrind_freed(void *p)
{
	VALGRIND_FREELIKE_BLOCK(p, 0);
}

/*
 * The size memcheck holds for live block p of usable bytes: the offset of
 * its first byte that is not addressable (valgrind_alloced made the slot's
 * tail so), asked with error reporting off so that asking is not an error.
 */
static inline size_t valgrind_block_size(void *p, size_t usable)
{
	uintptr_t bad;

	(void)p;
	VALGRIND_DISABLE_ERROR_REPORTING;
	bad = (uintptr_t)VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, usable);
	VALGRIND_ENABLE_ERROR_REPORTING;
	return bad ? bad - (uintptr_t)p : usable;
}

/* The definedness of len bytes at src, given to the bytes at dst (an
 * addressable block). Where src is no longer mapped (a direct mapping
 * that mremap moved or munmap removed), dst's bytes are taken as defined:
 * an uninitialised byte copied there goes unreported. */
static inline void valgrind_copy_vbits(void *dst, const void *src,
				       size_t len)
{
	unsigned char vbits[256];

	(void)vbits;
	for (size_t off = 0; off < len; off += sizeof(vbits)) {
		size_t n = len - off < sizeof(vbits) ? len - off : sizeof(vbits);

		(void)n;
		if (VALGRIND_GET_VBITS((const char *)src + off, vbits, n) == 1)
			VALGRIND_SET_VBITS((char *)dst + off, vbits, n);
		else
			VALGRIND_MAKE_MEM_DEFINED((char *)dst + off, n);
	}
}

/* Live block p of usable bytes now holds size bytes (size <= usable). */
static inline void valgrind_resized(void *p, size_t size, size_t usable)
{
	size_t old = valgrind_block_size(p, usable);

	(void)old;
	if (old == size)
		return;
	VALGRIND_RESIZEINPLACE_BLOCK(p, old, size, 0);
	if (usable > size)
		VALGRIND_MAKE_MEM_NOACCESS((char *)p + size, usable - size);
}

#endif /* BUDDY_PRELOAD_VALGRIND_H */
