/*
 * fuzz_malloc.c - the malloc family against a reference model.
 *
 * The input is a program: each operation is one byte of opcode followed by
 * its operands (a slot 0..NR_SLOTS-1, sizes, alignments, a variant byte).
 * The operations are malloc, calloc, realloc, reallocarray, memalign,
 * aligned_alloc, posix_memalign, valloc, pvalloc, the lifetime-hinted
 * malloc, free, cfree, free_sized, free_aligned_sized, realloc(p, 0),
 * malloc_usable_size, malloc_trim and a full check.
 *
 * The allocator under test is the library's own code: preload/'s entry
 * points compiled into this program with their libc names renamed
 * (malloc -> bm_malloc, and so on for every name of preload/exports.map;
 * see tests/fuzz/local.mk), over the shipped slab/ and core/. So this
 * process has two allocators: glibc's (or the sanitizer's) for libFuzzer,
 * stdio and this file's model, and ours, reached only through the bm_
 * names. libFuzzer's own allocations therefore never touch the heap under
 * test and cannot hide or cause a failure there, and a failing input
 * replays the same way under the plain replay driver of "make check".
 *
 * Sizes run from 0 through every boundary of the size classes, the 32 KiB
 * slab limit, page sizes, the 1 MiB realloc mapping threshold and the
 * 4 MiB largest buddy block, to direct mappings up to 9 MiB, plus sizes
 * that must fail (above the budget this program sets, above PTRDIFF_MAX,
 * overflowing products). Live bytes are capped at LIVE_CAP (an allocation
 * over it is skipped) and the bytes filled and verified per input at
 * WORK_CAP (an allocation over it is skipped, and the input ends once
 * it is used up), so a run stays within memory and each input within a
 * few milliseconds.
 *
 * The model (slots[]) knows every live block: its address, requested size,
 * usable size, how it was allocated (which free may end it), and a seed.
 * Every block is filled over its usable size with a pattern of its seed
 * and offset (all of its first 16 KiB, then the first word of every 256
 * bytes), and the pattern is verified before every free, realloc and
 * usable-size query, on malloc_trim and on a check, so one block written
 * by another is caught. What is checked, as glibc defines it
 * (preload/malloc.c lists the rules):
 *   - a request that must succeed does: non-NULL, 16-byte aligned, aligned
 *     as asked (memalign's odd alignments round up to a power of two;
 *     valloc and pvalloc to a page), usable size >= requested and stable,
 *     no overlap with any live block (address ranges over usable sizes);
 *   - calloc's block reads as zero; realloc keeps min(old, new) bytes;
 *   - a request that must fail returns NULL with errno = ENOMEM (EINVAL for
 *     memalign's impossible alignment); posix_memalign returns EINVAL for a
 *     bad alignment with errno and *memptr untouched, ENOMEM with errno set;
 *     a failed realloc leaves the old block intact;
 *   - realloc(p, 0) frees and returns NULL; realloc(NULL, n) is malloc(n);
 *   - free and its variants keep errno; malloc_usable_size(NULL) is 0;
 *   - at the end of every input every block is freed and the core's own
 *     consistency checker (core/check.c) must find nothing wrong.
 */
#include <errno.h>
#include <string.h>

#include "buddymalloc.h"
#include "fuzz.h"
#include "internal.h"
#include "preload.h"
#include "seq_buf.h"

/* ------------------------------------------- the library, renamed */

void *bm_malloc(size_t size);
void bm_free(void *p);
void bm_cfree(void *p);
void bm_free_sized(void *p, size_t size);
void bm_free_aligned_sized(void *p, size_t align, size_t size);
void *bm_calloc(size_t nmemb, size_t size);
void *bm_realloc(void *p, size_t size);
void *bm_reallocarray(void *p, size_t nmemb, size_t size);
void *bm_memalign(size_t align, size_t size);
void *bm_aligned_alloc(size_t align, size_t size);
int bm_posix_memalign(void **memptr, size_t align, size_t size);
void *bm_valloc(size_t size);
void *bm_pvalloc(size_t size);
size_t bm_malloc_usable_size(void *p);
int bm_malloc_trim(size_t pad);

/* ------------------------------------------------------------ limits */

#define NR_SLOTS	64
#define MALLOC_ALIGN	16
#define PAGE		4096UL
#define MiB		(1UL << 20)
#define LIVE_CAP	(32 * MiB)	/* live requested bytes */
#define WORK_CAP	(16 * MiB)	/* pattern work per input
					 * (pattern_bytes) */
#define HUGE_MAX	(9 * MiB)	/* the largest size that must succeed */
/* The budget set below: any request above it must fail. */
#define BUDGET		"1g"
#define OVER_BUDGET	(2048 * MiB)
#define ERRNO_MARK	9999		/* errno before each call */

/* What ends a block: C23 forbids free_sized on an aligned_alloc block and
 * free_aligned_sized on anything else. */
enum origin {
	FROM_MALLOC,		/* malloc, calloc, realloc, reallocarray,
				 * the hinted malloc */
	FROM_ALIGNED_ALLOC,	/* aligned_alloc with a valid alignment */
	FROM_MEMALIGN,		/* memalign, posix_memalign, valloc, pvalloc,
				 * aligned_alloc with an odd alignment */
};

struct slot {
	unsigned char *p;	/* NULL: empty */
	size_t size;		/* requested */
	size_t usable;		/* malloc_usable_size when allocated */
	size_t align;		/* as passed (FROM_ALIGNED_ALLOC) */
	enum origin origin;
	uint64_t seed;
};

static struct slot slots[NR_SLOTS];
static size_t live_bytes, work_bytes;
static uint64_t next_seed = 1;

/* --------------------------------------------------------- patterns */

/* The byte at offset i of a block with seed: every byte depends on both,
 * so a block copied to the wrong offset or another block's bytes show. */
FUZZ_NO_COVERAGE
static inline uint64_t pattern_word(uint64_t seed, size_t word)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + word;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

FUZZ_NO_COVERAGE
static inline uint8_t pattern_byte(uint64_t seed, size_t i)
{
	return (uint8_t)(pattern_word(seed, i / 8) >> (8 * (i % 8)));
}

/*
 * Which bytes carry the pattern: all of the first DENSE bytes of a block,
 * then the first word of every STRIDE bytes (megabyte blocks would
 * otherwise cost milliseconds per operation; a block written by another,
 * or moved, still shows within STRIDE bytes). The rule depends only on
 * the offset, so a fill and a later verify agree whatever their ranges.
 */
#define DENSE		16384UL
#define STRIDE		256UL

/* The next patterned segment [*lo, *hi) at or after i, below to; false if
 * none. */
FUZZ_NO_COVERAGE
static bool pattern_segment(size_t i, size_t to, size_t *lo, size_t *hi)
{
	if (i < DENSE) {
		*lo = i;
		*hi = to < DENSE ? to : DENSE;
	} else {
		size_t w = i & ~(STRIDE - 1);

		if (i >= w + 8)
			w += STRIDE;
		*lo = i > w ? i : w;
		*hi = w + 8 < to ? w + 8 : to;
	}
	return *lo < to;
}

/* Fill the patterned bytes of [from, to) of p with seed's pattern. */
FUZZ_NO_COVERAGE
static void pattern_fill(unsigned char *p, size_t from, size_t to,
			 uint64_t seed)
{
	size_t lo, hi;

	for (size_t i = from; pattern_segment(i, to, &lo, &hi); i = hi) {
		size_t j = lo;

		for (; j < hi && j % 8; j++)
			p[j] = pattern_byte(seed, j);
		for (; j + 8 <= hi; j += 8) {
			uint64_t w = pattern_word(seed, j / 8);

			memcpy(p + j, &w, 8);
		}
		for (; j < hi; j++)
			p[j] = pattern_byte(seed, j);
	}
}

/* The first patterned offset in [from, to) not holding seed's pattern, or
 * to. */
FUZZ_NO_COVERAGE
static size_t pattern_find_bad(const unsigned char *p, size_t from, size_t to,
			       uint64_t seed)
{
	size_t lo, hi;

	for (size_t i = from; pattern_segment(i, to, &lo, &hi); i = hi) {
		size_t j = lo;

		for (; j < hi && j % 8; j++)
			if (p[j] != pattern_byte(seed, j))
				return j;
		for (; j + 8 <= hi; j += 8) {
			uint64_t w;

			memcpy(&w, p + j, 8);
			if (w != pattern_word(seed, j / 8))
				break;
		}
		for (; j < hi; j++)
			if (p[j] != pattern_byte(seed, j))
				return j;
	}
	return to;
}

/* The work of a fill or verify of [from, to), for the work cap: its dense
 * bytes, and each sparse word as 64 (the walk between them costs about as
 * much as comparing 64 bytes). */
static size_t pattern_bytes(size_t from, size_t to)
{
	size_t dense = to < DENSE ? to : DENSE;

	return (dense > from ? dense - from : 0) +
	       (to > DENSE ? (to - DENSE) / STRIDE * 64 : 0);
}

/* The first offset of [0, n) not zero, or n. */
FUZZ_NO_COVERAGE
static size_t first_nonzero(const unsigned char *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w)
			break;
	}
	for (; i < n; i++)
		if (p[i])
			return i;
	return n;
}

static void slot_verify(const struct slot *s, size_t to, const char *when)
{
	size_t bad = pattern_find_bad(s->p, 0, to, s->seed);

	work_bytes += pattern_bytes(0, to);

	if (bad != to)
		fuzz_fail("%s: block %p (size %zu, usable %zu): byte %zu is 0x%02x, "
			  "expected 0x%02x", when, (void *)s->p, s->size,
			  s->usable, bad, s->p[bad], pattern_byte(s->seed, bad));
}

/* ----------------------------------------------------------- the model */

/* [p, p + usable) overlaps no live block but skip's. */
static void check_no_overlap(const unsigned char *p, size_t usable, int skip)
{
	for (int i = 0; i < NR_SLOTS; i++) {
		const struct slot *s = &slots[i];

		if (i == skip || !s->p)
			continue;
		if (p < s->p + s->usable && s->p < p + usable)
			fuzz_fail("block %p (usable %zu) overlaps live block %p "
				  "(usable %zu)", (void *)p, usable,
				  (void *)s->p, s->usable);
	}
}

/* A new block of size bytes from a request that had to succeed. */
static void slot_take(int i, void *p, size_t size, size_t align,
		      enum origin origin, const char *call)
{
	struct slot *s = &slots[i];
	size_t usable;

	fuzz_check(p != NULL, "%s(%zu) failed, errno %d", call, size, errno);
	fuzz_check((uintptr_t)p % MALLOC_ALIGN == 0, "%s(%zu) = %p", call,
		   size, p);
	fuzz_check(align <= MALLOC_ALIGN || (uintptr_t)p % align == 0,
		   "%s(%zu) = %p, not aligned to %zu", call, size, p, align);
	usable = bm_malloc_usable_size(p);
	fuzz_check(usable >= size, "%s(%zu) = %p: usable size %zu", call,
		   size, p, usable);
	check_no_overlap(p, usable, i);
	s->p = p;
	s->size = size;
	s->usable = usable;
	s->align = align;
	s->origin = origin;
	s->seed = next_seed++;
	pattern_fill(s->p, 0, usable, s->seed);
	live_bytes += size;
	work_bytes += pattern_bytes(0, usable);
}

static void slot_forget(struct slot *s)
{
	live_bytes -= s->size;
	s->p = NULL;
}

/* A request that had to fail: NULL and errno. */
static void expect_failure(const void *p, int want_errno, const char *call,
			   size_t a, size_t b)
{
	fuzz_check(p == NULL, "%s(%zu, %zu) = %p, should fail", call, a, b, p);
	fuzz_check(errno == want_errno, "%s(%zu, %zu): errno %d, want %d",
		   call, a, b, errno, want_errno);
}

/* ------------------------------------------------------------ operands */

/* Sizes where the allocator changes its mind: class edges, the lookup
 * table's end, the slab limit, pages, the realloc mapping threshold, the
 * largest buddy block. */
static const size_t edges[] = {
	16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448,
	512, 640, 768, 1024, 1280, 2048, 2560, 3072, 4096, 5120, 8192, 12288,
	16384, 24576, 28672, 32768, 36864, 65536, 1 * MiB, 2 * MiB, 4 * MiB,
	4 * MiB + PAGE, 8 * MiB,
};

/* Sizes that must fail with ENOMEM whatever the state. */
static const size_t absurd[] = {
	OVER_BUDGET, 1UL << 40, 1UL << 46, (size_t)PTRDIFF_MAX - PAGE,
	(size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1, SIZE_MAX - PAGE,
	SIZE_MAX,
};

/* A size: *must_fail tells which kind it is. */
static size_t get_size(struct fuzz_input *in, bool *must_fail)
{
	uint8_t kind = fuzz_u8(in);
	size_t size;

	*must_fail = false;
	switch (kind % 8) {
	case 0:
		return fuzz_u8(in) % 65;
	case 1:
		return fuzz_u16(in) % 1025;
	case 2:
	case 3:
		size = fuzz_pick(in, edges);
		return size + (size_t)(fuzz_u8(in) % 3) - 1;	/* -1, 0, +1 */
	case 4:
		return fuzz_u16(in) % (32768 + 4097);
	case 5:
		return fuzz_u32(in) % (4 * MiB + 65537);
	case 6:
		return 4 * MiB + fuzz_u32(in) % (HUGE_MAX - 4 * MiB + 1);
	default:
		if (kind & 0x80) {
			*must_fail = true;
			return fuzz_pick(in, absurd);
		}
		size = fuzz_u64(in);
		if (size >= OVER_BUDGET) {
			*must_fail = true;
			return size;
		}
		return size % (HUGE_MAX + 1);
	}
}

/* Alignments for memalign and its relatives: every power of two up to
 * 8 MiB, and odd ones that memalign rounds up and posix_memalign refuses. */
static size_t get_align(struct fuzz_input *in)
{
	uint8_t v = fuzz_u8(in);

	if (v < 24)
		return (size_t)1 << v;		/* 1 .. 8 MiB */
	switch (v % 8) {
	case 0: return 0;
	case 1: return 3;
	case 2: return 24;
	case 3: return 48;
	case 4: return 4096 + 8;
	case 5: return 12288;
	case 6: return (size_t)1 << 63;		/* valid, never satisfiable */
	default: return SIZE_MAX / 2 + 2;	/* memalign: EINVAL */
	}
}

static bool is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

/* The alignment memalign gives for align (glibc 2.36's rules). */
static size_t memalign_effective(size_t align)
{
	if (align <= MALLOC_ALIGN)
		return MALLOC_ALIGN;
	if (align > SIZE_MAX / 2 + 1)
		return 0;	/* memalign fails with EINVAL */
	if (!is_pow2(align))
		return (size_t)1 << (64 - __builtin_clzl(align));
	return align;
}

/* Does the new block fit the caps? If not, the operation is skipped. */
static bool fits(size_t size)
{
	return live_bytes + size <= LIVE_CAP &&
	       work_bytes + pattern_bytes(0, size) <= WORK_CAP;
}

/* Empty slot i (frees its block) so that it can take a new one. */
static void slot_clear(int i);

/* ---------------------------------------------------------- operations */

static void op_malloc(struct fuzz_input *in, int i)
{
	bool must_fail;
	size_t size = get_size(in, &must_fail);
	unsigned int hint = fuzz_u8(in) % 4;	/* 3: plain malloc */
	void *p;

	if (!must_fail && !fits(size))
		return;
	slot_clear(i);
	errno = ERRNO_MARK;
	p = hint < 3 ? buddymalloc_malloc_hint(size, hint) : bm_malloc(size);
	if (must_fail)
		expect_failure(p, ENOMEM, "malloc", size, hint);
	else
		slot_take(i, p, size, MALLOC_ALIGN, FROM_MALLOC, "malloc");
}

static void op_calloc(struct fuzz_input *in, int i)
{
	bool must_fail;
	size_t size = get_size(in, &must_fail), nmemb, bytes, b;
	unsigned char *p;

	switch (fuzz_u8(in) % 4) {
	case 0:		/* size as one element */
		nmemb = 1;
		break;
	case 1:		/* size elements of one byte */
		nmemb = size;
		size = 1;
		break;
	case 2:		/* a small array (of at least one element when the
			 * size must fail, so that the product fails too) */
		nmemb = fuzz_u8(in) % 17;
		if (must_fail)
			nmemb += !nmemb;
		else
			size /= nmemb ? nmemb : 1;
		break;
	default:	/* a product that overflows */
		nmemb = ((size_t)1 << 33) + fuzz_u8(in);
		size = ((size_t)1 << 31) + fuzz_u16(in);
		must_fail = true;
		break;
	}
	if (__builtin_mul_overflow(nmemb, size, &bytes))
		must_fail = true;
	if (!must_fail && !fits(bytes))
		return;
	slot_clear(i);
	errno = ERRNO_MARK;
	p = bm_calloc(nmemb, size);
	if (must_fail) {
		expect_failure(p, ENOMEM, "calloc", nmemb, size);
		return;
	}
	fuzz_check(p != NULL, "calloc(%zu, %zu) failed, errno %d", nmemb, size,
		   errno);
	b = first_nonzero(p, bytes);
	work_bytes += bytes / 8;
	fuzz_check(b == bytes, "calloc(%zu, %zu) = %p: byte %zu is 0x%02x",
		   nmemb, size, (void *)p, b, p[b]);
	slot_take(i, p, bytes, MALLOC_ALIGN, FROM_MALLOC, "calloc");
}

/* realloc and reallocarray: variant 0 is realloc(p, size), 1 is
 * reallocarray(p, nmemb, size / nmemb), 2 reallocarray overflowing. */
static void op_realloc(struct fuzz_input *in, int i)
{
	struct slot *s = &slots[i];
	bool must_fail;
	size_t size = get_size(in, &must_fail), nmemb = 1, elem = size;
	unsigned int variant = fuzz_u8(in) % 3;
	size_t keep, usable, bad;
	unsigned char *q;
	int saved;

	if (variant == 1) {
		nmemb = fuzz_u8(in) % 9 + 1;
		elem = size / nmemb;
		size = nmemb * elem;
	} else if (variant == 2) {
		nmemb = (size_t)1 << 40;
		elem = ((size_t)1 << 24) + fuzz_u8(in);
		must_fail = true;
	}
	if (!must_fail && size == 0 && s->p) {
		/* realloc(p, 0): glibc frees p and returns NULL. */
		slot_verify(s, s->usable, "before realloc(p, 0)");
		errno = ERRNO_MARK;
		q = variant ? bm_reallocarray(s->p, nmemb, elem) :
			      bm_realloc(s->p, 0);
		saved = errno;
		fuzz_check(q == NULL, "realloc(%p, 0) = %p", (void *)s->p,
			   (void *)q);
		fuzz_check(saved == ERRNO_MARK, "realloc(p, 0): errno %d", saved);
		slot_forget(s);
		return;
	}
	if (!must_fail && !fits(size > s->size ? size - s->size : 0))
		return;
	if (s->p)
		slot_verify(s, s->usable, "before realloc");
	errno = ERRNO_MARK;
	q = variant ? bm_reallocarray(s->p, nmemb, elem) :
		      bm_realloc(s->p, size);
	if (must_fail) {
		expect_failure(q, ENOMEM, variant ? "reallocarray" : "realloc",
			       nmemb, elem);
		if (s->p) {
			fuzz_check(bm_malloc_usable_size(s->p) == s->usable,
				   "failed realloc changed the block");
			slot_verify(s, s->usable, "after a failed realloc");
		}
		return;
	}
	if (!s->p) {	/* realloc(NULL, size) is malloc(size) */
		slot_take(i, q, size, MALLOC_ALIGN, FROM_MALLOC, "realloc(NULL)");
		return;
	}
	fuzz_check(q != NULL, "realloc(%p, %zu) failed, errno %d",
		   (void *)s->p, size, errno);
	keep = size < s->size ? size : s->size;
	bad = pattern_find_bad(q, 0, keep, s->seed);
	if (bad != keep)
		fuzz_fail("realloc(%p, %zu) = %p (old size %zu): byte %zu not "
			  "kept", (void *)s->p, size, (void *)q, s->size, bad);
	fuzz_check((uintptr_t)q % MALLOC_ALIGN == 0, "realloc = %p", (void *)q);
	usable = bm_malloc_usable_size(q);
	fuzz_check(usable >= size, "realloc(%zu) = %p: usable %zu", size,
		   (void *)q, usable);
	check_no_overlap(q, usable, i);
	pattern_fill(q, keep, usable, s->seed);
	live_bytes += size - s->size;
	work_bytes += pattern_bytes(keep, usable);
	s->p = q;
	s->size = size;
	s->usable = usable;
	s->origin = FROM_MALLOC;
}

/* memalign, aligned_alloc, posix_memalign, valloc, pvalloc. */
static void op_aligned(struct fuzz_input *in, int i)
{
	unsigned int call = fuzz_u8(in) % 5;
	size_t align = get_align(in);
	bool must_fail;
	size_t size = get_size(in, &must_fail), want, eff;
	enum origin origin = FROM_MEMALIGN;
	void *p = NULL, *before;
	int ret;

	if (call >= 3) {	/* valloc, pvalloc: a page */
		align = PAGE;
	} else if (align > (size_t)1 << 62) {
		/* 2^63: ENOMEM (no size fits); above: memalign's EINVAL. */
		must_fail = true;
	}
	eff = memalign_effective(align);
	want = size;
	if (call == 4 && !must_fail) {
		if (__builtin_add_overflow(size, PAGE - 1, &want))
			must_fail = true;
		want = want & ~(PAGE - 1);
		if (!want)
			want = PAGE;
	}
	if (!must_fail && !fits(want + eff))
		return;
	slot_clear(i);
	errno = ERRNO_MARK;
	switch (call) {
	case 0:
		p = bm_memalign(align, size);
		break;
	case 1:
		p = bm_aligned_alloc(align, size);
		if (is_pow2(align))
			origin = FROM_ALIGNED_ALLOC;
		break;
	case 2:
		before = &before;
		p = before;
		ret = bm_posix_memalign(&p, align, size);
		if (align % sizeof(void *) || !is_pow2(align)) {
			fuzz_check(ret == EINVAL, "posix_memalign(%zu): %d",
				   align, ret);
			fuzz_check(errno == ERRNO_MARK, "posix_memalign(%zu): "
				   "errno %d", align, errno);
			fuzz_check(p == before, "posix_memalign(%zu) wrote "
				   "*memptr", align);
			return;
		}
		if (must_fail) {
			fuzz_check(ret == ENOMEM && errno == ENOMEM,
				   "posix_memalign(%zu, %zu): %d, errno %d",
				   align, size, ret, errno);
			fuzz_check(p == before, "posix_memalign wrote *memptr");
			return;
		}
		fuzz_check(ret == 0, "posix_memalign(%zu, %zu): %d", align,
			   size, ret);
		break;
	case 3:
		p = bm_valloc(size);
		break;
	default:
		p = bm_pvalloc(size);
		break;
	}
	if (must_fail) {
		expect_failure(p, align > SIZE_MAX / 2 + 1 ? EINVAL : ENOMEM,
			       "memalign", align, size);
		return;
	}
	slot_take(i, p, want, eff, origin, "memalign");
	slots[i].align = align;
}

/* Free slot i's block by one of the calls that may end it. */
static void op_free(struct fuzz_input *in, int i)
{
	struct slot *s = &slots[i];
	unsigned int how = fuzz_u8(in) % 4;
	int saved;

	if (!s->p) {
		errno = ERRNO_MARK;
		bm_free(NULL);
		fuzz_check(errno == ERRNO_MARK, "free(NULL) changed errno");
		return;
	}
	slot_verify(s, s->usable, "before free");
	fuzz_check(bm_malloc_usable_size(s->p) == s->usable,
		   "usable size of %p changed", (void *)s->p);
	errno = ERRNO_MARK;
	if (how == 1 && s->origin == FROM_MALLOC)
		bm_free_sized(s->p, s->size);
	else if (how == 1 && s->origin == FROM_ALIGNED_ALLOC)
		bm_free_aligned_sized(s->p, s->align, s->size);
	else if (how == 2)
		bm_cfree(s->p);
	else
		bm_free(s->p);
	saved = errno;
	fuzz_check(saved == ERRNO_MARK, "free kept errno: %d", saved);
	slot_forget(s);
}

static void slot_clear(int i)
{
	struct slot *s = &slots[i];

	if (!s->p)
		return;
	slot_verify(s, s->usable, "before free");
	bm_free(s->p);
	slot_forget(s);
}

static void op_usable(int i)
{
	struct slot *s = &slots[i];

	fuzz_check(bm_malloc_usable_size(NULL) == 0, "usable size of NULL");
	if (!s->p)
		return;
	fuzz_check(bm_malloc_usable_size(s->p) == s->usable,
		   "usable size of %p changed", (void *)s->p);
	slot_verify(s, s->usable, "usable size");
}

static void verify_all(const char *when)
{
	for (int i = 0; i < NR_SLOTS; i++)
		if (slots[i].p)
			slot_verify(&slots[i], slots[i].usable, when);
}

/* The core's checker (core/check.c) over every zone. */
static void check_core(const char *when)
{
	char buf[2048];
	struct seq_buf s;
	unsigned long bad;

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	bad = check_all_zones(&s);
	if (bad)
		fuzz_fail("%s: check_all_zones: %lu violations:\n%s", when, bad,
			  seq_buf_str(&s));
}

/* ------------------------------------------------------------- driver */

enum op {
	OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_ALIGNED, OP_FREE, OP_USABLE,
	OP_TRIM, OP_CHECK, NR_OPS
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* A budget, so that sizes above it fail whatever the machine has;
	 * no reclaim thread and no decay, so that a run depends on its
	 * input and not on time. Parsed before the first allocation, as
	 * BUDDYMALLOC_CONF would be (after it: these win). */
	if (conf_parse("limit:" BUDGET ",reclaim_threads:0,decay_ms:0", 0,
		       NULL, NULL))
		fuzz_fail("the fuzzer's settings were refused");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size, 0 };

	work_bytes = 0;
	/* The rest of an input that has used up its work is ignored. */
	while (!fuzz_done(&in) && work_bytes < WORK_CAP) {
		uint8_t op = fuzz_u8(&in);
		int i = fuzz_u8(&in) % NR_SLOTS;

		switch (op % NR_OPS) {
		case OP_MALLOC:
			op_malloc(&in, i);
			break;
		case OP_CALLOC:
			op_calloc(&in, i);
			break;
		case OP_REALLOC:
			op_realloc(&in, i);
			break;
		case OP_ALIGNED:
			op_aligned(&in, i);
			break;
		case OP_FREE:
			op_free(&in, i);
			break;
		case OP_USABLE:
			op_usable(i);
			break;
		case OP_TRIM:
			bm_malloc_trim(0);
			verify_all("after malloc_trim");
			break;
		default:
			verify_all("check");
			check_core("check");
			break;
		}
	}
	for (int i = 0; i < NR_SLOTS; i++)
		slot_clear(i);
	fuzz_check(live_bytes == 0, "model: %zu bytes left", live_bytes);
	check_core("at the end");
	return 0;
}
