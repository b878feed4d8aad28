/*
 * malloc.c - the malloc family, with glibc 2.36's semantics, over the
 * kmalloc family of slab.h.
 *
 * Every allocation name glibc exports is defined here (the list is
 * preload/exports.map), so that no glibc allocation code ever sees one of
 * our pointers; the __libc_* names are aliases of the standard ones.
 *
 * glibc's rules, kept exactly (see glibc's malloc/malloc.c and its tests
 * tst-malloc, tst-malloc-too-large, tst-free-errno, tst-memalign,
 * tst-posix_memalign, tst-pvalloc, tst-reallocarray):
 *   - every block is 16-byte aligned (MALLOC_ALIGNMENT), malloc(1) included;
 *     malloc(0) returns a unique pointer;
 *   - a size above PTRDIFF_MAX, or an overflowing calloc/reallocarray/
 *     pvalloc size, fails with NULL and errno = ENOMEM; so does every
 *     other failure;
 *   - realloc(NULL, n) is malloc(n); realloc(p, 0) frees p, returns NULL;
 *   - free() preserves errno;
 *   - memalign and aligned_alloc (one function in 2.36): an alignment up to
 *     16 is malloc; above SIZE_MAX / 2 + 1 is EINVAL; one that is not a
 *     power of two is rounded up to the next power of two;
 *   - posix_memalign: EINVAL returned, errno left alone, unless the
 *     alignment is a power-of-two multiple of sizeof(void *); ENOMEM
 *     returned with errno = ENOMEM too (glibc's _mid_memalign sets it, and
 *     programs such as glibc's tst-malloc-thread-fail read errno);
 *   - valloc(n) is memalign(page, n); pvalloc rounds n up to whole pages.
 *
 * The fast paths of malloc and free are inline (slab/kmalloc_fast.h): in
 * rseq mode a pop or push on this CPU's stack, which holds no lock, so it
 * needs neither the allocator-depth count nor errno saving; in the
 * fallback mode the same under a try-lock of the thread's CPU, inside the
 * depth count (kmalloc_fast's locked pop, free_locked). Everything else goes through
 * do_malloc/do_free: the boot check, the depth count around the call into
 * slab/, errno kept by free.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buddymalloc.h"
#include "page_alloc.h"
#include "kmalloc_fast.h"
#include "preload.h"
#include "slab.h"
#include "valgrind.h"

#define MALLOC_ALIGNMENT	16

/* Not declared by glibc 2.36's headers. */
void cfree(void *p);
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t alignment, size_t size);

/* Every name exported here, with default visibility. */
#define EXPORT_ALIAS(name, target) \
	extern __typeof__(target) name \
		__attribute__((alias(#target), copy(target), \
			       visibility("default")))

__attribute__((cold))
static void *fail_enomem(void)
{
	errno = ENOMEM;
	return NULL;
}

/* ------------------------------------------------------------- helpers */

/* The smallest power of two >= x, for 1 < x <= SIZE_MAX / 2 + 1 (the
 * kernel's roundup_pow_of_two). */
static inline size_t roundup_pow_of_two(size_t x)
{
	return (size_t)1 << (64 - __builtin_clzl(x - 1));
}

bool buddy_on_memcheck;

void valgrind_boot(void)
{
	if (BUDDY_VALGRIND && RUNNING_ON_VALGRIND && valgrind_is_memcheck()) {
		buddy_on_memcheck = true;
		cpu_cache_force_off();
	}
}

/*
 * do_malloc under valgrind (valgrind.h): memcheck is told of the block.
 * calloc's block is zeroed here, after that, not by the slab layer (whose
 * memset would write into memory memcheck holds as freed).
 */
__attribute__((noinline, cold))
static void *valgrind_malloc(size_t size, gfp_t gfp, struct alloc_site site)
{
	bool nested;
	size_t usable = 0;
	void *p;

	nested = allocator_enter_nested();
	p = unlikely(nested) ? kmalloc_nolock(size, gfp & ~__GFP_ZERO, site) :
			       kmalloc_site(size, gfp & ~__GFP_ZERO, site);
	if (p)
		usable = ksize(p);
	allocator_leave();
	if (p) {
		valgrind_alloced(p, size, usable, false);
		if (gfp & __GFP_ZERO)
			memset(p, 0, size);
	}
	return p;
}

/*
 * A call made while this thread is inside the allocator already comes from
 * a signal handler that interrupted it: the interrupted call may hold any
 * allocator lock, so the nolock variants serve it (allocator_enter_nested,
 * slab.h; README, "Signal handlers").
 */
static inline void *do_malloc(size_t size, gfp_t gfp, struct alloc_site site)
{
	bool nested;
	void *p;

	if (unlikely(size > PTRDIFF_MAX))
		return fail_enomem();
	buddy_boot();
	if (unlikely(buddy_on_memcheck))
		return valgrind_malloc(size, gfp, site);
	nested = allocator_enter_nested();
	p = unlikely(nested) ? kmalloc_nolock(size, gfp, site) :
			       kmalloc_site(size, gfp, site);
	allocator_leave();
	return p;
}

/*
 * do_free under valgrind (valgrind.h): memcheck is told first, so that no
 * other thread can be handed the block while memcheck still holds it live.
 * kfree then reads and writes word 0 of the block (the per-CPU layer's
 * mark, slab_internal.h), which memcheck now guards: its reports are off
 * for that call only.
 */
__attribute__((noinline, cold))
static void valgrind_free(void *p, const char *call)
{
	enum kfree_result res;
	int saved_errno = errno;
	bool nested;

	valgrind_freed(p);
	VALGRIND_DISABLE_ERROR_REPORTING;
	nested = allocator_enter_nested();
	res = unlikely(nested) ? kfree_nolock(p) : kfree(p);
	allocator_leave();
	VALGRIND_ENABLE_ERROR_REPORTING;
	if (unlikely(res != KFREE_OK))
		report_bad_pointer(call, p, res);
	errno = saved_errno;
}

/* free() under the name of the call that asked for it. Out of line, so
 * that free()'s fast path needs no stack frame. */
__attribute__((noinline))
static void do_free(void *p, const char *call)
{
	enum kfree_result res;
	int saved_errno;
	bool nested;

	if (!p)
		return;
	if (unlikely(buddy_on_memcheck))
		return valgrind_free(p, call);
	saved_errno = errno;
	nested = allocator_enter_nested();
	res = unlikely(nested) ? kfree_nolock(p) : kfree(p);
	allocator_leave();
	if (unlikely(res != KFREE_OK))
		report_bad_pointer(call, p, res);
	errno = saved_errno;
}

/*
 * The inline path of the aligned calls: a slab object of the class of size
 * rounded up to align (a power of two, at least MALLOC_ALIGNMENT, at most
 * a page), popped by malloc's own fast path, or NULL. Every object of that
 * class is aligned: slabs start on a page boundary and objects follow at
 * multiples of the class size, and that size is a multiple of align (up
 * to 128 bytes every class is a multiple of 16; above, the classes of one
 * doubling are multiples of a quarter of it, so the class holding a
 * multiple of align is that multiple itself or a multiple of a larger
 * power of two). It is the class do_kmalloc_aligned's search finds: no class
 * between size and its round-up is a multiple of align. size 0 gets align
 * bytes (a unique pointer, aligned).
 */
static inline void *memalign_fast(size_t align, size_t size,
				  struct alloc_site site)
{
	if (size > KMALLOC_MAX_CACHE_SIZE || align > PAGE_SIZE)
		return NULL;
	return kmalloc_fast(size ? (size + align - 1) & ~(align - 1) : align,
			    site, &buddy_depth);
}

/* _mid_memalign: glibc's alignment rules, the inline path, then
 * kmalloc_aligned. */
static void *do_memalign(size_t align, size_t size, struct alloc_site site)
{
	void *p;

	if (align <= MALLOC_ALIGNMENT) {
		p = memalign_fast(MALLOC_ALIGNMENT, size, site);
		return likely(p) ? p : do_malloc(size, 0, site);
	}
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (align & (align - 1))
		align = roundup_pow_of_two(align);
	p = memalign_fast(align, size, site);
	if (likely(p))
		return p;
	if (size > PTRDIFF_MAX || align > PTRDIFF_MAX - size)
		return fail_enomem();
	buddy_boot();
	allocator_enter();
	p = kmalloc_aligned_site(size, align, 0, site);
	if (unlikely(buddy_on_memcheck) && p)
		valgrind_alloced(p, size, ksize(p), false);
	allocator_leave();
	return p;
}

/* -------------------------------------------------------------- malloc */

/* Out of line, so that malloc()'s fast path needs no stack frame. */
__attribute__((noinline))
static void *malloc_slow(size_t size, struct alloc_site site)
{
	return do_malloc(size, 0, site);
}

/*
 * The fallback mode's free (kmalloc_fast.h): counted as inside the
 * allocator while it may hold a CPU's lock, so that a signal handler's
 * call sees it is nested and a fork from that handler abandons the heap,
 * as for any other call (malloc's pop is counted inside kmalloc_fast).
 * Nothing below the count needs allocator_leave's work (it never reaches
 * the core).
 */
static inline bool free_locked(void *p)
{
	bool freed;

	buddy_depth++;
	cmm_barrier();
	freed = kfree_fast_locked(p);
	cmm_barrier();
	buddy_depth--;
	return freed;
}

/* The site is taken again for the slow path, so that nothing of it stays
 * in a register across the fast path. */
BUDDY_EXPORT void *malloc(size_t size)
{
	void *p = kmalloc_fast(size, ALLOC_SITE_HERE(), &buddy_depth);

	if (likely(p))
		return p;
	return malloc_slow(size, ALLOC_SITE_HERE());
}

/* NULL needs no test of its own here: it lies in section 0, which is
 * never online (no mapping gets address 0), so kfree_fast refuses it and
 * do_free returns. */
BUDDY_EXPORT void free(void *p)
{
	if (likely(kfree_fast(p)))
		return;
	/* The mode read again (volatile): reusing kfree_fast's read would
	 * cost the rseq path a register and an instruction. free_fast is
	 * CC_OFF under hardening:junk, which fills the object in kfree. */
	if (p && CMM_LOAD_SHARED(cpu_cache_state.free_fast) == CC_LOCKED &&
	    likely(free_locked(p)))
		return;	/* the fallback mode's fast path */
	do_free(p, "free");
}

BUDDY_EXPORT void cfree(void *p)
{
	do_free(p, "cfree");
}

/*
 * C23's sized frees. C23 makes it undefined to pass free_sized a size
 * other than the one given to malloc, calloc or realloc, and
 * free_aligned_sized an alignment and size other than aligned_alloc's;
 * glibc (2.43) frees without looking. We check instead, against what the
 * block records (kfree_sized): the size must map to this very block (the
 * same size class, or the same number of pages), the pointer be aligned
 * as claimed, and report as free() reports a bad pointer ("invalid size",
 * "invalid alignment"); nothing is freed then. An alignment is taken as
 * memalign takes it: up to 16 is none, others round up to a power of two.
 * Checked on every call: no fast path (the lookup is the slow path's).
 */
__attribute__((noinline))
static void do_free_sized(void *p, size_t size, size_t align, const char *call)
{
	enum kfree_result res;
	int saved_errno;
	bool nested;

	if (!p)
		return;
	saved_errno = errno;
	/* Under memcheck: the block is checked before memcheck is told (a
	 * refused size frees nothing), with its reports off for the free's
	 * write of word 0, as in valgrind_free. */
	if (unlikely(buddy_on_memcheck))
		VALGRIND_DISABLE_ERROR_REPORTING;
	nested = allocator_enter_nested();
	res = kfree_sized(p, size, align, nested);
	allocator_leave();
	if (unlikely(buddy_on_memcheck)) {
		VALGRIND_ENABLE_ERROR_REPORTING;
		if (res == KFREE_OK)
			valgrind_freed(p);
	}
	if (unlikely(res != KFREE_OK))
		report_bad_pointer(call, p, res);
	errno = saved_errno;
}

BUDDY_EXPORT void free_sized(void *p, size_t size)
{
	do_free_sized(p, size, 1, "free_sized");
}

BUDDY_EXPORT void free_aligned_sized(void *p, size_t alignment, size_t size)
{
	if (alignment <= MALLOC_ALIGNMENT)
		alignment = 1;
	else if (alignment > SIZE_MAX / 2 + 1)
		alignment = SIZE_MAX / 2 + 1;	/* no block is aligned so */
	else if (alignment & (alignment - 1))
		alignment = roundup_pow_of_two(alignment);
	do_free_sized(p, size, alignment, "free_aligned_sized");
}

/* Zeroed below us (__GFP_ZERO): slab objects and page allocations by
 * memset, direct mappings by being fresh from the OS. Knowing which free
 * pages the OS has zeroed already (after a release) comes with reclaim. */
BUDDY_EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t bytes;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &bytes)))
		return fail_enomem();
	return do_malloc(bytes, __GFP_ZERO, ALLOC_SITE_HERE());
}

/*
 * krealloc under memcheck (valgrind.h), with memcheck told the outcome.
 * krealloc reads and writes the old block past the size memcheck knows
 * (its copy takes whole slots), so memcheck's reports are off for the
 * call. In place, the block is resized; moved, the new block gets the old
 * bytes' definedness (their V bits, copied as krealloc copied the bytes)
 * and the old block is freed. A thread that were handed the old block
 * between krealloc's return and that FREELIKE would confuse memcheck;
 * valgrind runs one thread at a time and switches between them at system
 * calls and after long time slices, and there is no system call in between.
 */
__attribute__((noinline, cold))
static void *valgrind_realloc(void *p, size_t size, struct alloc_site site,
			      enum kfree_result *res)
{
	enum kfree_result live;
	size_t usable, old = 0;
	void *q;

	/* Whether p is a live block: ksize() alone cannot say, a live block
	 * may have usable size 0 (malloc(0) under hardening:redzone). */
	allocator_enter();
	usable = ksize_check(p, &live);
	allocator_leave();
	if (live == KFREE_OK)
		old = valgrind_block_size(p, usable);
	VALGRIND_DISABLE_ERROR_REPORTING;
	allocator_enter();
	q = krealloc_site(p, size, 0, site, res);
	allocator_leave();
	VALGRIND_ENABLE_ERROR_REPORTING;
	if (!q || *res != KFREE_OK || live != KFREE_OK)
		return q;
	allocator_enter();
	usable = ksize(q);
	allocator_leave();
	if (q == p) {
		VALGRIND_RESIZEINPLACE_BLOCK(p, old, size, 0);
		if (usable > size)
			VALGRIND_MAKE_MEM_NOACCESS((char *)p + size,
						   usable - size);
		return q;
	}
	valgrind_alloced(q, size, usable, false);
	valgrind_copy_vbits(q, p, old < size ? old : size);
	valgrind_freed(p);
	return q;
}

/* realloc and reallocarray, reported under call's name. */
static void *do_realloc(void *p, size_t size, struct alloc_site site,
			const char *call)
{
	enum kfree_result res;
	void *q;

	if (!p)
		return do_malloc(size, 0, site);
	if (size == 0) {
		/* glibc (REALLOC_ZERO_BYTES_FREES): free, return NULL. */
		do_free(p, call);
		return NULL;
	}
	if (unlikely(size > PTRDIFF_MAX))
		return fail_enomem();
	buddy_boot();
	if (unlikely(buddy_on_memcheck)) {
		q = valgrind_realloc(p, size, site, &res);
	} else {
		allocator_enter();
		q = krealloc_site(p, size, 0, site, &res);
		allocator_leave();
	}
	if (unlikely(res != KFREE_OK)) {
		/* p was not ours, or (q != NULL) another thread freed it while
		 * it was being copied. With bad_free:report a realloc of a bad
		 * pointer fails: NULL, errno = EINVAL, nothing changed. */
		report_bad_pointer(call, p, res);
		if (!q)
			errno = EINVAL;
	}
	return q;
}

BUDDY_EXPORT void *realloc(void *p, size_t size)
{
	return do_realloc(p, size, ALLOC_SITE_HERE(), "realloc");
}

BUDDY_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t bytes;

	if (unlikely(__builtin_mul_overflow(nmemb, size, &bytes)))
		return fail_enomem();
	return do_realloc(p, bytes, ALLOC_SITE_HERE(), "reallocarray");
}

/* ------------------------------------------------------------ aligned */

/* aligned_alloc is memalign in glibc 2.36 (the same function): no check
 * that size is a multiple of the alignment, odd alignments rounded up. */
BUDDY_EXPORT void *memalign(size_t alignment, size_t size)
{
	return do_memalign(alignment, size, ALLOC_SITE_HERE());
}

BUDDY_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	return do_memalign(alignment, size, ALLOC_SITE_HERE());
}

/* A valid alignment is at most 2^63 = SIZE_MAX / 2 + 1, so do_memalign
 * never says EINVAL here: every failure is ENOMEM, in errno as well. */
BUDDY_EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
	void *p;

	if (alignment % sizeof(void *) != 0 || alignment == 0 ||
	    ((alignment / sizeof(void *)) & (alignment / sizeof(void *) - 1)))
		return EINVAL;
	p = do_memalign(alignment, size, ALLOC_SITE_HERE());
	if (!p) {
		errno = ENOMEM;
		return ENOMEM;
	}
	*memptr = p;
	return 0;
}

BUDDY_EXPORT void *valloc(size_t size)
{
	return do_memalign(PAGE_SIZE, size, ALLOC_SITE_HERE());
}

/* Whole pages; pvalloc(0) gets one (glibc asks for a page-aligned byte). */
BUDDY_EXPORT void *pvalloc(size_t size)
{
	size_t rounded;

	if (unlikely(__builtin_add_overflow(size, PAGE_SIZE - 1, &rounded)))
		return fail_enomem();
	rounded &= ~(PAGE_SIZE - 1);
	return do_memalign(PAGE_SIZE, rounded ? rounded : PAGE_SIZE, ALLOC_SITE_HERE());
}

/* ------------------------------------------------------ lifetime hints */

/* The migrate type a hint asks for, or -1 for an unknown hint. */
static int hint_migratetype(unsigned int lifetime)
{
	switch (lifetime) {
	case BUDDY_LIFETIME_SHORT:
		return MIGRATE_MOVABLE;
	case BUDDY_LIFETIME_LONG:
		return MIGRATE_UNMOVABLE;
	default:
		return -1;
	}
}

BUDDY_EXPORT void *buddymalloc_malloc_hint(size_t size, unsigned int lifetime)
{
	struct alloc_site site = ALLOC_SITE_HERE();
	int mt = hint_migratetype(lifetime);

	if (lifetime == BUDDY_LIFETIME_AUTO)
		return do_malloc(size, 0, site);
	if (mt < 0) {
		errno = EINVAL;
		return NULL;
	}
	/* No site: the gfp lifetime bits are the hint (slab.h). */
	return do_malloc(size, (gfp_t)mt, (struct alloc_site){ NULL, 0 });
}

BUDDY_EXPORT unsigned int buddymalloc_thread_lifetime(unsigned int lifetime)
{
	int mt = hint_migratetype(lifetime);
	unsigned int old;

	if (lifetime != BUDDY_LIFETIME_AUTO && mt < 0)
		lifetime = BUDDY_LIFETIME_AUTO;	/* unknown: no hint */
	old = kmalloc_thread_hint(mt < 0 ? 0 : (unsigned int)mt + 1);
	if (!old)
		return BUDDY_LIFETIME_AUTO;
	return old - 1 == MIGRATE_MOVABLE ? BUDDY_LIFETIME_SHORT :
					    BUDDY_LIFETIME_LONG;
}

/* --------------------------------------------------------------- misc */

/* 0 for NULL. glibc does not check the pointer here; we do, as free()
 * does: a pointer that is not a live block of ours is reported (and 0
 * with bad_free:report). */
BUDDY_EXPORT size_t malloc_usable_size(void *p)
{
	enum kfree_result res;
	size_t size;

	if (!p)
		return 0;
	allocator_enter();
	size = ksize_check(p, &res);
	allocator_leave();
	if (unlikely(res != KFREE_OK))
		report_bad_pointer("malloc_usable_size", p, res);
	/* Under valgrind the bytes past the size asked for become usable. */
	if (unlikely(buddy_on_memcheck) && size)
		valgrind_resized(p, size, size);
	return size;
}

/* pad is ignored: free memory goes back to the OS in whole pages, and the
 * heap has no "top" to keep padding at. 1 if anything was released. */
BUDDY_EXPORT int malloc_trim(size_t pad)
{
	bool released;

	buddy_boot();
	allocator_enter();
	released = kmem_trim();
	allocator_leave();
	return released;
}

/*
 * glibc's tuning knobs mean nothing to a buddy allocator. Each parameter
 * glibc knows is accepted and ignored, returning what glibc would (1, or 0
 * for the values glibc rejects: M_MXFAST above 160, M_MMAP_THRESHOLD above
 * 32 MiB). An unknown parameter returns 0 (glibc returns 1 and does
 * nothing). Settings of ours are in BUDDYMALLOC_CONF and mallctl.
 */
BUDDY_EXPORT int mallopt(int param, int value)
{
	switch (param) {
	case M_MXFAST:
		return (size_t)value <= 80 * sizeof(size_t) / 4;
	case M_MMAP_THRESHOLD:
		return (size_t)value <= 32UL << 20;
	case M_TRIM_THRESHOLD:
	case M_TOP_PAD:
	case M_MMAP_MAX:
	case M_CHECK_ACTION:
	case M_PERTURB:
	case M_ARENA_TEST:
	case M_ARENA_MAX:
		return 1;
	default:
		return 0;
	}
}

/* ----------------------------------------------------- glibc's aliases */

EXPORT_ALIAS(__libc_malloc, malloc);
EXPORT_ALIAS(__libc_free, free);
EXPORT_ALIAS(__libc_calloc, calloc);
EXPORT_ALIAS(__libc_realloc, realloc);
EXPORT_ALIAS(__libc_reallocarray, reallocarray);
EXPORT_ALIAS(__libc_memalign, memalign);
EXPORT_ALIAS(__libc_valloc, valloc);
EXPORT_ALIAS(__libc_pvalloc, pvalloc);
EXPORT_ALIAS(__libc_mallopt, mallopt);
