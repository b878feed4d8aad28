/*
 * kmalloc.c - the kmalloc family (slab.h): which allocator serves a size,
 * and finding the owner of a pointer again.
 *
 *   size <= 32 KiB        a slab object of the size class (slab.c);
 *   size <= 4 MiB         whole pages from the buddy allocator, the tail past
 *                         the last page given back (alloc_pages_exact), in
 *                         other pageblocks than the slabs (large_lifetime);
 *   larger                a direct mapping (the core's huge.c); so is a
 *                         block that realloc grows to 1 MiB or more
 *                         (KREALLOC_MAP_MIN).
 *
 * Under hardening:guard every block above the classes is a guarded direct
 * mapping (kmalloc_large says why).
 *
 * A pointer is looked up through the core's section table: in the heap, its
 * page descriptor says slab (PG_slab) or page allocation of ours (PG_head
 * with PG_large_kmalloc, the owner flag the core records for
 * __GFP_LARGE_KMALLOC); outside the heap, only the huge table can know it.
 * Any other allocated page (the page API's blocks, the slab layer's
 * metadata) was not returned by malloc and is refused like a foreign
 * pointer.
 *
 * Slab objects go through the per-CPU object caches (cpu_cache.c): kmalloc
 * pops, kfree pushes after the cheap checks (slot, state byte) that catch
 * invalid and interior pointers and double frees before anything changes.
 */
#include <errno.h>
#include <string.h>

#include "cpu_cache.h"
#include "lifetime.h"
#include "slab_internal.h"

#define KMALLOC_MAX_PAGE_SIZE	(MAX_ORDER_NR_PAGES << PAGE_SHIFT)

/*
 * A block that realloc grows past this size becomes a direct mapping (and
 * a direct mapping shrunk down to it stays one): a buffer grown to
 * megabytes is likely to grow on, and a mapping grows without a copy (into
 * the cached range after it, or by mremap), where a page-level block
 * would be copied once more when it outgrows the largest buddy block
 * (bench/results/design-figures.md).
 */
#define KREALLOC_MAP_MIN	(1UL << 20)

/* Bytes in live page allocations (the slabs' pages not included). */
static unsigned long large_allocated;

static inline gfp_t lifetime(gfp_t gfp)
{
	return gfp & GFP_MOVABLE_MASK;
}

/*
 * hardening:junk (slab.h): object p of size bytes still holds SLAB_JUNK
 * past word 0, as its free or its slab left it; else the first byte
 * written is reported. Words at a time, then bytes (class sizes are
 * multiples of 16).
 */
__attribute__((noinline, cold))
static void junk_check(const void *p, size_t size)
{
	const unsigned char *b = p;
	uint64_t junk;

	memset(&junk, SLAB_JUNK, sizeof(junk));
	for (size_t off = sizeof(uintptr_t); off < size; off += sizeof(junk)) {
		uint64_t w;

		memcpy(&w, b + off, sizeof(w));
		if (likely(w == junk))
			continue;
		while (b[off] == SLAB_JUNK)
			off++;
		if (slab_junk_report)
			slab_junk_report(p, off, false);
		return;
	}
}

/* The other half: fill a freed object (past word 0) with junk. */
static inline void junk_fill(void *p, size_t size)
{
	memset((char *)p + sizeof(uintptr_t), SLAB_JUNK, size - sizeof(uintptr_t));
}

/* ---------------------------------------------------------- redzones */

/* The request that size makes of the slab layer (hardening:redzone adds
 * room for the redzone and the size word). */
static inline size_t rz_request(size_t size)
{
	return unlikely(slab_redzone) ? size + SLAB_REDZONE_MIN : size;
}

/* Object p of class size cls now holds size bytes: the redzone after
 * them, the size in the last word. */
static void rz_set(void *p, size_t cls, size_t size)
{
	uintptr_t word = (uintptr_t)size ^ slab_secret;

	memset((char *)p + size, SLAB_REDZONE, cls - sizeof(word) - size);
	memcpy((char *)p + cls - sizeof(word), &word, sizeof(word));
}

/* The size object p of class size cls holds; cls - SLAB_REDZONE_MIN (its
 * most) if the size word was written over. */
static size_t rz_size(const void *p, size_t cls)
{
	uintptr_t word;

	memcpy(&word, (const char *)p + cls - sizeof(word), sizeof(word));
	word ^= slab_secret;
	return word <= cls - SLAB_REDZONE_MIN ? word : cls - SLAB_REDZONE_MIN;
}

/* Check the redzone of live object p of class size cls: the first byte
 * written past its size, reported. */
__attribute__((noinline, cold))
static void rz_check(const void *p, size_t cls)
{
	const unsigned char *b = p;
	uintptr_t word;
	size_t size;

	memcpy(&word, b + cls - sizeof(word), sizeof(word));
	size = word ^ slab_secret;
	if (size > cls - SLAB_REDZONE_MIN) {
		/* The size word itself was written over. */
		if (slab_junk_report)
			slab_junk_report(p, cls - sizeof(word), true);
		return;
	}
	for (size_t off = size; off < cls - sizeof(word); off++)
		if (b[off] != SLAB_REDZONE) {
			if (slab_junk_report)
				slab_junk_report(p, off, true);
			return;
		}
}

static inline __attribute__((always_inline))
void *slab_alloc_zeroed(struct kmem_cache *cache, gfp_t gfp)
{
	void *p = cpu_cache_alloc(cache);

	if (unlikely(slab_junk) && p)
		junk_check(p, cache->size);
	if (p && (gfp & __GFP_ZERO))
		memset(p, 0, cache->size);
	return p;
}

/*
 * The migrate type of a page-level block of kmalloc() (an explicit
 * lifetime, no site): the caller's lifetime, except that without one
 * (UNMOVABLE) it is MOVABLE. The malloc family's blocks are typed by the
 * classifier instead (kmalloc_large), and are MOVABLE with classifier:false,
 * for the reason that follows. Without the classifier, such blocks are
 * MOVABLE so that page-level blocks and slabs keep to different pageblocks (the
 * core's fallback still mixes them once a zone is nearly full). A slab's
 * pages stay allocated while any one of its objects is live or sits in a
 * per-CPU stack; slabs scattered among page-level blocks cut the free
 * memory between those blocks into pieces too small for the next one, and
 * the heap grows while most of it is free (bench/burst.py, "threads":
 * bench/results/design-figures.md). The kernel keeps its
 * slab pages (UNMOVABLE) and the pages of user memory (MOVABLE) apart for
 * the same reason; a page-level block is the user memory here: it goes
 * back whole when it is freed.
 */
static inline gfp_t large_lifetime(gfp_t gfp)
{
	return lifetime(gfp) ? lifetime(gfp) : __GFP_MOVABLE;
}

/*
 * The migrate type of a page-level block of the malloc family whose
 * lifetime (classifier or hint) is mt: long-lived blocks go with the
 * long-lived slabs (UNMOVABLE), short-lived ones to RECLAIMABLE, apart
 * from the short-lived slabs (MOVABLE), for the reason large_lifetime
 * gives: slabs scattered among page-level blocks cut the free memory
 * between them into pieces too small for the next block; python3 peaks
 * lower with them apart (bench/results/design-figures.md). RECLAIMABLE is
 * otherwise unused by the malloc family, so these blocks have its
 * pageblocks to themselves.
 */
static inline gfp_t large_site_lifetime(int mt)
{
	return mt == MIGRATE_MOVABLE ? __GFP_RECLAIMABLE : (gfp_t)mt;
}

/* ------------------------------------------------------------ lifetime */

/*
 * The migrate type of one allocation of key class: site NULL (kmalloc():
 * explicit, not a hint) never comes here; site->ret NULL is an explicit
 * hint in gfp; else this thread's hint or the classifier's prediction,
 * with the sampling countdown (lifetime.h). req->sample: record the block
 * once allocated (kmalloc_sampled).
 */
static inline __attribute__((always_inline))
int kmalloc_lifetime(const struct alloc_site *site, unsigned int class,
		     gfp_t gfp, struct lifetime_req *req, bool nolock)
{
	int mt;

	req->sample = false;
	if (unlikely(!site->ret)) {
		lifetime_count_hint();
		req->hinted = true;
		return gfp_migratetype(gfp);
	}
	mt = lifetime_predict(*site, class);
	if (likely(mt >= 0))
		return mt;
	return lifetime_slow(req, *site, class, nolock);
}

/* Record small object p as sampled (req->sample) and mark it so. */
__attribute__((noinline))
static void kmalloc_sampled(void *p, const struct lifetime_req *req)
{
	struct slab *slab = cache_slab_of(p);

	if (lifetime_record(req, p))
		CMM_STORE_SHARED(slab->state[object_index(slab, p)], OBJ_SAMPLED);
}

/* 2^order pages hold size bytes aligned to align (<= 4 MiB each). */
static unsigned int large_order(size_t size, size_t align)
{
	size_t bytes = size > align ? size : align;
	unsigned int order = 0;

	while ((PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

/*
 * A page allocation aligned to 2^align_order pages, or a direct mapping.
 * malloc fails only when reclaim cannot help: page-level blocks above the
 * kernel's costly order retry reclaim while it makes progress
 * (__GFP_RETRY_MAYFAIL, as the kernel's kvmalloc asks), where the page
 * allocator's default would give up after one round. A block of the
 * malloc family (site) is typed by the classifier or a hint
 * (large_site_lifetime; MOVABLE with classifier:false, as large_lifetime
 * says why), and its head page's slab.private says whether it is sampled
 * (lifetime.h), written on every such allocation.
 */
/*
 * hardening:guard (huge_guard): every block of this path is a direct
 * mapping with guard pages (huge.c), page-level sizes included, at the
 * alignment asked for (huge.c places the block against the guard after
 * it). One mechanism for both kinds: huge.c already gives each block
 * pages of its own, finds it by any address (the out-of-band table), and
 * keeps its freed pages to itself (its cache) instead of passing them on
 * to other allocations. A guard inside the heap would need each block's
 * head found from an interior pointer, guard pages accounted as neither
 * resident nor live although allocated, their protection restored before
 * the pages go back to the pcp or buddy lists (and a fork, a release or a
 * reclaim racing with that), and an aligned block would lose up to a whole
 * power of two to its guards. The price: page-level blocks lose the
 * lifetime grouping and the pcp lists (and cost system calls unless the
 * cache of freed mappings has one of their size), which a debugging level
 * can pay; their bytes count as direct mappings in the statistics.
 */
static void *kmalloc_large(size_t size, size_t align, gfp_t gfp,
			   const struct alloc_site *site, bool nolock)
{
	gfp_t flags = lifetime(gfp) | (gfp & __GFP_ZERO);
	struct lifetime_req req = { .sample = false, .hinted = false };
	gfp_t type = large_lifetime(gfp);
	void *p;

	if (unlikely(huge_guard))
		return huge_alloc(size, align, flags);
	if (size <= KMALLOC_MAX_PAGE_SIZE && align <= KMALLOC_MAX_PAGE_SIZE) {
		unsigned int align_order = 0;
		struct page *page;

		if (align > PAGE_SIZE)
			align_order = (unsigned int)__builtin_ctzl(align) - PAGE_SHIFT;
		if (site) {
			int mt;

			/* The classifier's tables are set up with the slab
			 * layer (not from a nested call: no waiting there,
			 * and an unset table only says long-lived). */
			if (unlikely(!CMM_LOAD_SHARED(slab_ready)) && !nolock)
				slab_init();
			mt = kmalloc_lifetime(site,
					lt_large_class(large_order(size, align)),
					gfp, &req, nolock);
			type = large_site_lifetime(mt);
			if (!req.hinted && !CMM_LOAD_SHARED(lifetime_enabled))
				type = __GFP_MOVABLE;
		}
		p = alloc_pages_exact_aligned(size, align_order,
					      type | (gfp & __GFP_ZERO) |
					      __GFP_RETRY_MAYFAIL |
					      __GFP_LARGE_KMALLOC);
		if (!p)
			return NULL;
		page = virt_to_page(p);
		page->slab.private = req.sample && lifetime_record(&req, p) ?
				     LT_PAGE_SAMPLED : 0;
		uatomic_add(&large_allocated,
			    READ_ONCE(page->nr_pages) << PAGE_SHIFT);
		return p;
	}
	return huge_alloc(size, align < PAGE_SIZE ? PAGE_SIZE : align, flags);
}

/* kmalloc_small's way when the prediction needs the slow path (a hint,
 * or a sample is due). */
__attribute__((noinline))
static void *kmalloc_small_slow(unsigned int class, size_t size, gfp_t gfp,
				const struct alloc_site *site)
{
	struct lifetime_req req;
	int mt = kmalloc_lifetime(site, class, gfp, &req, false);
	void *p = slab_alloc_zeroed(&kmem_caches[mt][class], gfp);

	if (unlikely(slab_redzone) && p)
		rz_set(p, kmalloc_size[class], size);
	if (p && req.sample)
		kmalloc_sampled(p, &req);
	return p;
}

/* A slab object of class for size bytes, for kmalloc (site NULL: gfp's
 * lifetime) or the malloc family (kmalloc_site). */
static inline __attribute__((always_inline))
void *kmalloc_small(unsigned int class, size_t size, gfp_t gfp,
		    const struct alloc_site *site)
{
	int mt = (int)lifetime(gfp);
	void *p;

	if (unlikely(!CMM_LOAD_SHARED(slab_ready)))
		slab_init();
	if (site) {
		if (unlikely(!site->ret))
			return kmalloc_small_slow(class, size, gfp, site);
		mt = lifetime_predict(*site, class);
		if (unlikely(mt < 0))
			return kmalloc_small_slow(class, size, gfp, site);
	}
	p = slab_alloc_zeroed(&kmem_caches[mt][class], gfp);
	if (unlikely(slab_redzone) && p)
		rz_set(p, kmalloc_size[class], size);
	return p;
}

void *kmalloc(size_t size, gfp_t gfp)
{
	if (likely(rz_request(size) <= KMALLOC_MAX_CACHE_SIZE))
		return kmalloc_small(size_to_class(rz_request(size)), size, gfp,
				     NULL);
	return kmalloc_large(size, 0, gfp, NULL, false);
}

void *kmalloc_site(size_t size, gfp_t gfp, struct alloc_site site)
{
	if (likely(rz_request(size) <= KMALLOC_MAX_CACHE_SIZE))
		return kmalloc_small(size_to_class(rz_request(size)), size, gfp,
				     &site);
	return kmalloc_large(size, 0, gfp, &site, false);
}

/*
 * For a caller that may hold any allocator lock (slab.h): a small object
 * from this CPU's stack (rseq mode), else from slab_alloc_nolock, which
 * never waits; typed as kmalloc_site types it, never sampled. Larger
 * sizes go the way kmalloc's do.
 */
void *kmalloc_nolock(size_t size, gfp_t gfp, struct alloc_site site)
{
	struct lifetime_req req;
	struct kmem_cache *cache;
	uint8_t *state;
	void *p = NULL;

	if (size > KMALLOC_MAX_CACHE_SIZE)
		return kmalloc_large(size, 0, gfp, &site, true);
	if (unlikely(rz_request(size) > KMALLOC_MAX_CACHE_SIZE)) {
		/* hardening:redzone: the largest class with its redzone would
		 * be a page allocation, which may wait; the promise for sizes
		 * of the classes is never to wait here. */
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(!CMM_LOAD_SHARED(slab_ready))) {
		errno = ENOMEM;	/* slab_init() may be running on this thread */
		return NULL;
	}
	cache = &kmem_caches[kmalloc_lifetime(&site,
					      size_to_class(rz_request(size)),
					      gfp, &req, true)]
			    [size_to_class(rz_request(size))];
	if (cpu_cache_state.mode == CC_RSEQ) {
		while ((p = cc_pop_rseq(cache, &state)) != NULL)
			if (cc_take_popped(p))
				break;	/* else a stale copy, dropped */
	}
	if (!p)
		p = slab_alloc_nolock(cache);
	if (unlikely(slab_junk) && p)
		junk_check(p, cache->size);
	if (p && (gfp & __GFP_ZERO))
		memset(p, 0, cache->size);
	if (unlikely(slab_redzone) && p)
		rz_set(p, cache->size, size);
	return p;
}

/*
 * Objects of a class whose size is a multiple of align are aligned to it:
 * slabs start on a page boundary and objects follow at multiples of the
 * size. So small alignments take the first such class that fits; larger
 * ones become page allocations aligned by the buddy order.
 */
static void *do_kmalloc_aligned(size_t size, size_t align, gfp_t gfp,
			       const struct alloc_site *site)
{
	if (align <= KMALLOC_MIN_SIZE)
		return site ? kmalloc_site(size, gfp, *site) : kmalloc(size, gfp);
	if (align <= PAGE_SIZE && rz_request(size) <= KMALLOC_MAX_CACHE_SIZE) {
		size_t want = rz_request(size) < align ? align : rz_request(size);
		unsigned int class = size_to_class(want);

		for (; class < NR_SIZE_CLASSES; class++)
			if (kmalloc_size[class] % align == 0)
				break;
		if (class < NR_SIZE_CLASSES)
			return kmalloc_small(class, size, gfp, site);
	}
	return kmalloc_large(size, align, gfp, site, false);
}

void *kmalloc_aligned(size_t size, size_t align, gfp_t gfp)
{
	return do_kmalloc_aligned(size, align, gfp, NULL);
}

void *kmalloc_aligned_site(size_t size, size_t align, gfp_t gfp,
			   struct alloc_site site)
{
	return do_kmalloc_aligned(size, align, gfp, &site);
}

/* ------------------------------------------------------------- lookup */

enum kobj_kind { KOBJ_SMALL, KOBJ_LARGE, KOBJ_HUGE };

struct kobj {
	enum kobj_kind kind;
	struct page *page;	/* SMALL, LARGE */
	struct slab *slab;	/* SMALL */
	size_t size;		/* usable bytes */
	bool abandoned;		/* inherited by a child that abandoned the heap */
};

/*
 * What p is, without locks: valid for a live block the caller owns, which
 * nobody else may free meanwhile. A dead or foreign p gets INVALID or
 * DOUBLE; kfree() repeats the check under the lock that matters. A small
 * object is live when obj_live() says so: one freed into a per-CPU stack
 * (OBJ_CPU and marked) or into its slab (OBJ_FREE) is not.
 */
static enum kfree_result kobj_lookup(const void *p, struct kobj *o)
{
	struct page *page = virt_to_page(p);

	if (!page) {
		o->kind = KOBJ_HUGE;
		o->size = huge_usable_size(p);
		o->abandoned = false;
		return o->size ? KFREE_OK : KFREE_INVALID;
	}
	o->page = page;
	o->abandoned = page_abandoned(page);
	o->slab = page_slab(page);
	if (o->slab) {
		o->kind = KOBJ_SMALL;
		o->size = o->slab->cache->size;
		if (slab_object_live(o->slab, p)) {
			if (unlikely(slab_redzone) && !o->abandoned)
				o->size = rz_size(p, o->size);
			return KFREE_OK;
		}
		return slab_object_slot(o->slab, p) ? KFREE_DOUBLE : KFREE_INVALID;
	}
	o->kind = KOBJ_LARGE;
	if (p != page_address(page))
		return KFREE_INVALID;
	if ((READ_ONCE(page->flags) & (PG_head | PG_large_kmalloc)) ==
	    (PG_head | PG_large_kmalloc)) {
		o->size = (size_t)READ_ONCE(page->nr_pages) << PAGE_SHIFT;
		return KFREE_OK;
	}
	/* The first page of a free block: most likely freed before. */
	return READ_ONCE(page->flags) & PG_buddy ? KFREE_DOUBLE : KFREE_INVALID;
}

static enum kfree_result kfree_slow(void *p);

/* kfree_nolock's way for a live small object: this CPU's stack (rseq
 * mode), else slab_free_nolock, which never waits. */
static void cache_free_nolock(struct slab *slab, void *p, uint8_t *state)
{
	cc_claim(p, state);	/* parked, it stays claimed */
	if (cpu_cache_state.mode == CC_RSEQ && cc_push_rseq(slab->cache, p, state))
		return;
	slab_free_nolock(slab, p);
}

/*
 * The path for a small object: the page descriptor, the slot check (an
 * interior or foreign pointer is refused before anything changes), the
 * state check (a block freed before, whether it sits in a per-CPU stack or
 * went back to its slab; a sampled one has its death counted first), then
 * the push on this CPU's cache (nolock: see
 * cache_free_nolock). Everything else (large, huge, abandoned, not ours)
 * goes the general way.
 */
static inline __attribute__((always_inline))
enum kfree_result do_kfree(void *p, bool nolock)
{
	struct page *page = virt_to_page(p);
	struct slab *slab;
	uint8_t *state;
	long idx;

	if (unlikely(!page || !(READ_ONCE(page->flags) & PG_slab) ||
		     page_abandoned(page)))
		return kfree_slow(p);
	slab = page_slab(page);
	idx = object_index(slab, p);
	if (unlikely(idx < 0))
		return KFREE_INVALID;
	state = &slab->state[idx];
	if (unlikely(!obj_live(CMM_LOAD_SHARED(*state), p)))
		return KFREE_DOUBLE;
	if (unlikely(CMM_LOAD_SHARED(*state) == OBJ_SAMPLED)) {
		/* Its death counted, it is freed as any live object. */
		lifetime_sampled_free(p, nolock);
		CMM_STORE_SHARED(*state, OBJ_LIVE);
	}
	if (unlikely(slab_redzone))
		rz_check(p, slab->cache->size);
	if (unlikely(slab_junk))
		junk_fill(p, slab->cache->size);
	if (nolock)
		cache_free_nolock(slab, p, state);
	else
		cpu_cache_free(slab->cache, p, state);
	return KFREE_OK;
}

enum kfree_result kfree(void *p)
{
	return do_kfree(p, false);
}

enum kfree_result kfree_nolock(void *p)
{
	return do_kfree(p, true);
}

__attribute__((noinline))
static enum kfree_result kfree_slow(void *p)
{
	struct kobj o;
	enum kfree_result res = kobj_lookup(p, &o);

	if (res != KFREE_OK)
		return res;
	if (o.abandoned)
		return KFREE_OK;	/* the inherited heap is never reused */
	switch (o.kind) {
	case KOBJ_SMALL:
		return KFREE_INVALID;	/* kfree() took every live slab object */
	case KOBJ_LARGE:
		if (unlikely(slab_junk))
			memset(p, SLAB_JUNK, o.size);
		if (o.page->slab.private == LT_PAGE_SAMPLED) {
			o.page->slab.private = 0;
			lifetime_sampled_free(p, false);
		}
		if (!free_pages_exact_owned(p, o.size, PG_large_kmalloc))
			return KFREE_DOUBLE;	/* freed by another thread meanwhile */
		uatomic_add(&large_allocated, -(long)o.size);
		return KFREE_OK;
	case KOBJ_HUGE:
		/* hardening:guard: page-level sizes are mappings, filled as
		 * page-level blocks are. */
		if (unlikely(slab_junk) && huge_guard &&
		    o.size <= KMALLOC_MAX_PAGE_SIZE)
			memset(p, SLAB_JUNK, o.size);
		return huge_free(p) ? KFREE_OK : KFREE_DOUBLE;
	}
	return KFREE_INVALID;
}

size_t ksize(const void *p)
{
	struct kobj o;

	return kobj_lookup(p, &o) == KFREE_OK ? o.size : 0;
}

size_t ksize_check(const void *p, enum kfree_result *res)
{
	struct kobj o;

	*res = kobj_lookup(p, &o);
	return *res == KFREE_OK ? o.size : 0;
}

/*
 * Is o the block that a request of size bytes aligned to align gets (or
 * that realloc to size keeps in place)? The rules of kmalloc_site,
 * do_kmalloc_aligned (memalign_fast's class: size rounded up to align) and
 * krealloc_in_place, run backwards:
 *   small        the class of the request is the block's (with
 *                hardening:redzone, of the request and its redzone, and
 *                the size is the one the block holds);
 *   page-level   size rounded up to whole pages is the block, and the
 *                request is above the classes (or aligned above a page);
 *   mapping      the same, and the request is above the largest buddy
 *                block (or aligned above it), or was a realloc to
 *                KREALLOC_MAP_MIN or more (which stays a mapping);
 *   guarded      (hardening:guard, every block above the classes) size
 *                ends on the block's pages, where its usable size ends
 *                (huge_realloc keeps a block in place so), and the
 *                request is above the classes (or aligned above a page).
 * Size 0 is the smallest request (malloc(0) gets 16 bytes; memalign(a, 0)
 * gets a).
 */
static bool kobj_fits(const struct kobj *o, const void *p, size_t size,
		      size_t align)
{
	size_t off = (uintptr_t)p & (PAGE_SIZE - 1), pages;

	if (o->kind == KOBJ_HUGE && huge_guard) {
		size = size ? size : 1;
		if (size > o->size)
			return false;
		pages = (off + size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		return pages == off + o->size &&
		       (rz_request(size) > KMALLOC_MAX_CACHE_SIZE ||
			align > PAGE_SIZE);
	}
	switch (o->kind) {
	case KOBJ_SMALL:
		/* hardening:redzone knows the size exactly; the class must
		 * still be the request's (memalign's block is not malloc's). */
		if (unlikely(slab_redzone) && size != o->size)
			return false;
		size = rz_request(size);
		if (align > KMALLOC_MIN_SIZE)
			size = size ? (size + align - 1) & ~(align - 1) : align;
		return size <= KMALLOC_MAX_CACHE_SIZE &&
		       kmalloc_size[size_to_class(size)] == o->slab->cache->size;
	case KOBJ_LARGE:
	case KOBJ_HUGE:
		if (size > SIZE_MAX - PAGE_SIZE)
			return false;
		pages = size ? (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1) :
			       PAGE_SIZE;
		if (pages != o->size)
			return false;
		if (o->kind == KOBJ_LARGE)
			return rz_request(size) > KMALLOC_MAX_CACHE_SIZE ||
			       align > PAGE_SIZE;
		return size > KMALLOC_MAX_PAGE_SIZE || size >= KREALLOC_MAP_MIN ||
		       align > KMALLOC_MAX_PAGE_SIZE;
	}
	return false;
}

enum kfree_result kfree_sized(void *p, size_t size, size_t align, bool nolock)
{
	struct kobj o;
	enum kfree_result res = kobj_lookup(p, &o);

	if (res != KFREE_OK)
		return res;
	if ((uintptr_t)p & (align - 1))
		return KFREE_ALIGN;
	if (!kobj_fits(&o, p, size, align))
		return KFREE_SIZE;
	return do_kfree(p, nolock);
}

/* ------------------------------------------------------------ realloc */


/* Can the block stay where it is? Small blocks stay while the new size
 * needs the same class; shrinking to a smaller class moves, so that memory
 * follows live data. Page allocations stay on the same number of pages,
 * shrink by giving the tail back and grow into the free pages after them
 * (resize_pages_exact_owned); direct mappings resize in huge_realloc. */
static bool krealloc_in_place(void *p, const struct kobj *o, size_t size)
{
	switch (o->kind) {
	case KOBJ_SMALL:
		if (rz_request(size) > KMALLOC_MAX_CACHE_SIZE ||
		    kmalloc_size[size_to_class(rz_request(size))] !=
		    o->slab->cache->size)
			return false;
		if (unlikely(slab_redzone)) {	/* checked as a free would */
			rz_check(p, o->slab->cache->size);
			rz_set(p, o->slab->cache->size, size);
		}
		return true;
	case KOBJ_LARGE:
		if (size <= KMALLOC_MAX_CACHE_SIZE || size > KMALLOC_MAX_PAGE_SIZE)
			return false;
		if (size >= KREALLOC_MAP_MIN && size > o->size)
			return false;	/* it becomes a mapping (do_krealloc) */
		/* The same pages: nothing to change, no zone lock to take (a
		 * buffer growing by a few bytes at a time comes here most). */
		if (((size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) == o->size)
			return true;
		if (!resize_pages_exact_owned(p, o->size, size, PG_large_kmalloc))
			return false;
		uatomic_add(&large_allocated,
			    (long)(READ_ONCE(virt_to_page(p)->nr_pages) <<
				   PAGE_SHIFT) - (long)o->size);
		return true;
	case KOBJ_HUGE:
		return false;
	}
	return false;
}

static void *do_krealloc(void *p, size_t size, gfp_t gfp,
			const struct alloc_site *site, enum kfree_result *res)
{
	struct kobj o;
	void *q;

	*res = kobj_lookup(p, &o);
	if (*res != KFREE_OK)
		return NULL;
	if (!o.abandoned && krealloc_in_place(p, &o, size))
		return p;
	/* hardening:guard: a mapping that stays above the classes is
	 * resized by huge.c, in place while it can be. */
	if (!o.abandoned && o.kind == KOBJ_HUGE &&
	    (size >= KREALLOC_MAP_MIN ||
	     (huge_guard && rz_request(size) > KMALLOC_MAX_CACHE_SIZE)))
		return huge_realloc(p, size);

	if (size >= KREALLOC_MAP_MIN && size > o.size)
		q = huge_alloc(size, KMALLOC_MIN_SIZE, 0);
	else
		q = site ? kmalloc_site(size, gfp, *site) : kmalloc(size, gfp);
	if (!q)
		return NULL;
	memcpy(q, p, size < o.size ? size : o.size);
	*res = kfree(p);
	return q;
}

void *krealloc(void *p, size_t size, gfp_t gfp, enum kfree_result *res)
{
	return do_krealloc(p, size, gfp, NULL, res);
}

void *krealloc_site(void *p, size_t size, gfp_t gfp, struct alloc_site site,
		    enum kfree_result *res)
{
	return do_krealloc(p, size, gfp, &site, res);
}

/* ------------------------------------------------------ trim, stats, fork */

bool kmem_trim(void)
{
	unsigned long released = slab_shrink() + huge_cache_drain();

	return release_free_pages() + released != 0;
}

void kmem_stats(struct kmem_stats *st)
{
	unsigned long heap_pages = 0, free_pages = 0, released = 0;
	struct zone_stats zones[MAX_ZONE_STATS];
	unsigned int nr;

	slab_stats(&st->small_allocated, &st->small_slab_bytes);
	st->meta_bytes = slab_meta_bytes() + lifetime_meta_bytes();
	st->large_allocated = uatomic_read(&large_allocated);
	huge_stats(&st->huge_allocated, &st->nr_huge);
	huge_peak_stats(&st->max_huge_allocated, &st->max_nr_huge);
	huge_cache_stats(&st->huge_cached, &st->nr_huge_cached);
	nr = zone_stats_read(zones, MAX_ZONE_STATS);
	for (unsigned int z = 0; z < nr; z++) {
		heap_pages += zones[z].present_pages;
		free_pages += zones[z].nr_free_pages;
		released += zones[z].nr_released;
	}
	st->heap_bytes = heap_pages << PAGE_SHIFT;
	st->free_bytes = free_pages << PAGE_SHIFT;
	st->cpu_cached_bytes = cpu_cache_bytes();
	st->released_bytes = released << PAGE_SHIFT;
	st->slab_released_bytes = pages_released_in_use() << PAGE_SHIFT;
	st->resident_bytes = st->heap_bytes - st->released_bytes -
			     st->slab_released_bytes + st->huge_allocated +
			     st->huge_cached;
}

bool kmem_fork_child(bool abandon)
{
	/* Both layers are asked before either changes anything. */
	abandon = abandon || slab_fork_busy() || core_fork_busy();
	core_fork_child(abandon);
	slab_fork_child(abandon);
	if (abandon)
		large_allocated = 0;
	return abandon;
}
