/*
 * huge.c - allocations above the largest buddy block: each is a mapping of
 * its own from the OS, resized with mremap, and on free kept a while in a
 * small cache of freed mappings (below) or unmapped.
 *
 * Their metadata is out of band, in an open-addressing hash table keyed by
 * the block's address (linear probing, at most half full, deletion by
 * backward shift so that no tombstones pile up). The table lives in a
 * mapping of its own, never in the heap, and grows by rehashing into a
 * mapping twice as large. One mutex guards it: every huge operation makes a
 * system call anyway, so a finer scheme would buy nothing. The cache of
 * freed mappings has a lock of its own (below), taken inside huge_lock
 * or alone, never the other way round.
 * A huge_*_locked function's caller holds huge_lock (huge_cache_*_locked:
 * huge_cache_lock).
 *
 * Huge blocks are not in the section table, so virt_to_page() says NULL for
 * them; callers ask here only after that. A pointer that is not ours costs
 * one hash probe sequence, or nothing at all while no huge block exists.
 *
 * hardening:guard (huge_guard, page_alloc.h) puts a PROT_NONE page before
 * and after every block's pages, and places the block at the end of its
 * pages, against the guard after them (ElectricFence's placement): a byte
 * read or written past its usable size faults, and so does one before its
 * start when the start is on a page boundary (page-multiple sizes, and
 * alignments of a page or more). The guards are mapped with the block and
 * go with it: every range this file keeps (a block's pages, a cache entry,
 * a refused unmap) then has its own two guard pages, which are not counted
 * in huge_pages (they are never resident, nor live). The setting is fixed
 * before the first block, so every range of a process has guards or none.
 *
 * After fork from a signal handler that interrupted the allocator
 * (core_fork_child(true)) the table may be half-updated. It is not
 * repaired: it joins the list of abandoned tables, which are only read
 * (huge_usable_size, huge_realloc) or have an entry forgotten (huge_free),
 * and new blocks go into a fresh table. The stores below are ordered so
 * that an interrupted update leaves every entry either absent or whole:
 * an entry's size is written before its address, and a rehash switches to
 * the new table only once it is complete.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/*
 * A block is its pages, [page of addr, + size), and addr is where it
 * starts on them: the first page's address, except under hardening:guard,
 * where it may start further on (huge_shape).
 */
struct huge_entry {
	uintptr_t addr;		/* 0: empty slot */
	size_t size;		/* bytes of its pages; 0: forgotten (abandoned
				 * tables) */
};

/*
 * Invariants, under huge_lock: nr == live entries of slots[];
 * bytes == sum of their sizes; nr <= capacity / 2, so every probe sequence
 * ends at an empty slot; an entry sits at its hash slot or after it with
 * no empty slot in between.
 */
struct huge_table {
	size_t capacity;		/* slots, a power of two */
	size_t nr;
	size_t bytes;
	struct huge_table *older;	/* the next abandoned table, or NULL */
	struct huge_entry slots[];
};

#define HUGE_TABLE_MIN_CAPACITY	256	/* 4 KiB of slots */

/* hardening:guard; fixed before the first block. */
bool huge_guard;
/* The least alignment of a guarded block: malloc's. */
#define HUGE_GUARD_MIN_ALIGN	16

static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;
/* Protected by huge_lock. */
static struct huge_table *huge_table;		/* live blocks; NULL: none yet */
static struct huge_table *huge_abandoned;	/* newest first, via ->older */
/* The most live blocks and bytes there ever were at once (glibc's
 * max_n_mmaps and max_mmapped_mem, for malloc_stats). A child inherits
 * them, as glibc's does. */
static size_t huge_max_nr, huge_max_bytes;
/* Pages mapped for huge blocks, live, abandoned (still mapped) or cached:
 * what the budget counts for them. Changed with every map, remap and
 * unmap. */
static unsigned long huge_pages;

unsigned long huge_mapped_pages(void)
{
	return uatomic_read(&huge_pages);
}

/* ------------------------------------------------------------ the table */

/* The first page of block e, and the bytes from its start to its end. */
static uintptr_t huge_entry_base(const struct huge_entry *e)
{
	return e->addr & ~(uintptr_t)(PAGE_SIZE - 1);
}

static size_t huge_entry_usable(const struct huge_entry *e)
{
	return huge_entry_base(e) + e->size - e->addr;
}

static size_t huge_table_bytes(size_t capacity)
{
	size_t bytes = sizeof(struct huge_table) +
		       capacity * sizeof(struct huge_entry);

	return (bytes + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

/* Fresh mappings are zero: every slot starts empty. */
static struct huge_table *huge_table_alloc(size_t capacity)
{
	struct huge_table *t = os_map_meta(huge_table_bytes(capacity));

	if (t)
		t->capacity = capacity;
	return t;
}

/* Addresses are page-aligned: drop the zero bits, then mix (Fibonacci
 * hashing) so that neighbouring blocks spread over the table. */
static size_t huge_hash(const struct huge_table *t, uintptr_t addr)
{
	uint64_t h = (uint64_t)(addr >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h ^ (h >> 32)) & (t->capacity - 1);
}

/* The entry for addr in t, or NULL. The probe is bounded by the capacity
 * so that even a torn abandoned table cannot make it loop. */
static struct huge_entry *huge_find_locked(struct huge_table *t, uintptr_t addr)
{
	size_t mask, i;

	if (!t || !addr)
		return NULL;
	mask = t->capacity - 1;
	i = huge_hash(t, addr);
	for (size_t n = 0; n < t->capacity; n++, i = (i + 1) & mask) {
		if (t->slots[i].addr == addr)
			return &t->slots[i];
		if (!t->slots[i].addr)
			return NULL;
	}
	return NULL;
}

/* Caller made room (huge_reserve_locked). */
static void huge_insert_locked(struct huge_table *t, uintptr_t addr, size_t size)
{
	size_t mask = t->capacity - 1, i = huge_hash(t, addr);

	while (t->slots[i].addr)
		i = (i + 1) & mask;
	t->slots[i].size = size;
	cmm_barrier();	/* size before addr: see the top of the file */
	t->slots[i].addr = addr;
	t->nr++;
	t->bytes += size;
}

/* Is slot j's entry, whose home slot is k, allowed to move back to the
 * hole at i? Yes unless its home lies cyclically in (i, j]. */
static bool huge_may_shift(size_t i, size_t j, size_t k)
{
	if (i <= j)
		return k <= i || k > j;
	return k <= i && k > j;
}

/* Delete by backward shift (Knuth's Algorithm R): later entries of the
 * same cluster move into the hole, so lookups never need tombstones. */
static void huge_remove_locked(struct huge_table *t, struct huge_entry *e)
{
	size_t mask = t->capacity - 1;
	size_t i = (size_t)(e - t->slots), j = i;

	t->nr--;
	t->bytes -= e->size;
	for (;;) {
		j = (j + 1) & mask;
		if (!t->slots[j].addr)
			break;
		if (!huge_may_shift(i, j, huge_hash(t, t->slots[j].addr)))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].addr = 0;
}

/* Rehash into a table of the given capacity; the old one is switched out
 * only once the new one is complete. false: the OS refused the mapping. */
static bool huge_rehash_locked(size_t capacity)
{
	struct huge_table *old = huge_table, *t = huge_table_alloc(capacity);

	if (!t)
		return false;
	for (size_t i = 0; i < old->capacity; i++)
		if (old->slots[i].addr)
			huge_insert_locked(t, old->slots[i].addr, old->slots[i].size);
	t->older = old->older;
	cmm_barrier();
	huge_table = t;
	os_unmap_meta(old, huge_table_bytes(old->capacity));
	return true;
}

/* After huge_table gained a block or bytes: new peaks? Two compares on
 * a path that has just made a system call. */
static void huge_update_peaks_locked(void)
{
	if (huge_table->nr > huge_max_nr)
		huge_max_nr = huge_table->nr;
	if (huge_table->bytes > huge_max_bytes)
		huge_max_bytes = huge_table->bytes;
}

/* Room for one more entry in huge_table, creating or growing it. */
static bool huge_reserve_locked(void)
{
	if (!huge_table) {
		/* Read without the lock by huge_usable_size()'s early out. */
		CMM_STORE_SHARED(huge_table,
				 huge_table_alloc(HUGE_TABLE_MIN_CAPACITY));
		return huge_table != NULL;
	}
	if ((huge_table->nr + 1) * 2 <= huge_table->capacity)
		return true;
	return huge_rehash_locked(huge_table->capacity * 2);
}

/* A live block of an abandoned heap, or NULL. */
static struct huge_entry *huge_find_abandoned_locked(uintptr_t addr)
{
	for (struct huge_table *t = huge_abandoned; t; t = t->older) {
		struct huge_entry *e = huge_find_locked(t, addr);

		if (e && e->size)
			return e;
	}
	return NULL;
}

/* ------------------------------------------------------------ the cache */

/*
 * Freed mappings, kept mapped and resident for the next huge_alloc (the
 * idea of jemalloc's retained extents and of the kernel's pcp lists: the
 * next block of about the same size costs no mmap, no munmap and no page
 * faults). A loop that allocates and frees 32 MiB blocks makes no system
 * call after its first round.
 *
 * An entry is any page range of a mapping we made, so it can be split: a
 * block is cut from the start of a best-fitting entry and the rest stays
 * cached, and a block grows in place into the entry that starts where it
 * ends (huge_realloc), which is how a buffer that grows geometrically gets
 * back its last size without a copy. Entries are never merged with each
 * other: two neighbouring entries may be two mappings, and mremap cannot
 * grow a block that spans two (huge_realloc falls back to a copy if that
 * happens through a growth into an entry of another mapping).
 *
 * huge_cache_lock guards the entries. The reclaim thread takes it alone
 * (decay, the shrinker), so a fork that finds it held must not make the
 * child abandon the heap: the child forgets the cache instead (its ranges
 * stay mapped and counted, never reused), see huge_fork_child.
 *
 * Bounded: at most HUGE_CACHE_SLOTS entries and huge_cache_limit() bytes
 * (the oldest entries go first). Cached pages are mapped, so they count in
 * huge_pages and in the budget, and in the statistics (huge_cache_stats,
 * mallctl "stats.huge_cached"). They go back to the OS by the reclaim
 * issue's paths: the decay pass (huge_cache_decay) unmaps entries freed
 * decay_ms ago, memory pressure (the shrinker, from kswapd and direct
 * reclaim) and malloc_trim (huge_cache_drain) unmap them all.
 */
#define HUGE_CACHE_SLOTS	8
#define HUGE_CACHE_MAX_BYTES	(64UL << 20)
/* At most this share of the budget sits in the cache. */
#define HUGE_CACHE_BUDGET_SHARE	16

struct huge_cached {
	uintptr_t addr;
	size_t size;
	uint32_t freed;		/* decay_now_ms() when it was cached */
};

static pthread_mutex_t huge_cache_lock = PTHREAD_MUTEX_INITIALIZER;
/* Protected by huge_cache_lock: entries [0, huge_cache_nr), bytes their
 * sum. */
static struct huge_cached huge_cache[HUGE_CACHE_SLOTS];
static unsigned int huge_cache_nr;
static size_t huge_cache_bytes;
static bool huge_cache_shrinker_registered;

/*
 * Ranges whose munmap the OS refused (it may: ENOMEM when the unmap would
 * split a mapping past vm.max_map_count). They stay mapped, so they stay
 * counted in huge_pages and the budget, and every pass that unmaps cached
 * ranges (decay, the shrinker, malloc_trim) tries them again. Their pages
 * but the first are released at once (MADV_DONTNEED), so resident memory
 * does not wait for the retry. The list is threaded through those first
 * pages (no block and no cache entry holds the range any more, so the
 * range is ours alone), which keeps it unbounded without a mapping of its
 * own. Protected by huge_cache_lock.
 */
struct huge_refused {
	uintptr_t next;		/* the next refused range, or 0 */
	size_t size;
};
static uintptr_t huge_refused_head;
static unsigned long huge_refused_nr;

/* The ranges a cache operation unmaps, after the locks are dropped (no
 * system call runs under them but the mremap that makes an entry true). */
struct huge_unmap_list {
	unsigned int nr;
	struct huge_cached r[HUGE_CACHE_SLOTS + 1];
};

static size_t huge_cache_limit(void)
{
	size_t share = (size_t)(totalram_pages() / HUGE_CACHE_BUDGET_SHARE)
		       << PAGE_SHIFT;

	return share < HUGE_CACHE_MAX_BYTES ? share : HUGE_CACHE_MAX_BYTES;
}

static void huge_cache_del_locked(unsigned int i, struct huge_unmap_list *out)
{
	if (out)
		out->r[out->nr++] = huge_cache[i];
	huge_cache_bytes -= huge_cache[i].size;
	huge_cache[i] = huge_cache[--huge_cache_nr];
}

/* Cut size bytes off the start of entry i. */
static uintptr_t huge_cache_cut_locked(unsigned int i, size_t size)
{
	uintptr_t addr = huge_cache[i].addr;

	if (huge_cache[i].size == size) {
		huge_cache_del_locked(i, NULL);
	} else {
		huge_cache[i].addr += size;
		huge_cache[i].size -= size;
		huge_cache_bytes -= size;
	}
	return addr;
}

/*
 * A cached range of size bytes aligned to align, or 0: the smallest entry
 * that fits and starts aligned (best fit keeps the big ones whole). Under
 * hardening:guard only an entry of exactly that size: a cut would need a
 * guard page after the block and another before the rest (two pages of
 * the entry turned into guards, an mprotect under this lock or a range
 * without its guard meanwhile); reuse of the same size, the common case,
 * costs no system call.
 */
static uintptr_t huge_cache_take_locked(size_t size, size_t align)
{
	unsigned int best = HUGE_CACHE_SLOTS;

	for (unsigned int i = 0; i < huge_cache_nr; i++) {
		if (huge_cache[i].size < size ||
		    (huge_guard && huge_cache[i].size != size) ||
		    (huge_cache[i].addr & (align - 1)))
			continue;
		if (best == HUGE_CACHE_SLOTS ||
		    huge_cache[i].size < huge_cache[best].size)
			best = i;
	}
	return best == HUGE_CACHE_SLOTS ? 0 : huge_cache_cut_locked(best, size);
}

/* Take the cached range [addr + old, addr + size) if an entry starts at
 * addr + old and holds it: growth in place without a system call. */
static bool huge_cache_grow_locked(uintptr_t addr, size_t old, size_t size)
{
	for (unsigned int i = 0; i < huge_cache_nr; i++)
		if (huge_cache[i].addr == addr + old &&
		    huge_cache[i].size >= size - old) {
			huge_cache_cut_locked(i, size - old);
			return true;
		}
	return false;
}

static void huge_cache_register(void);

/*
 * Cache the freed range [addr, addr + size); what has to go to make room
 * (the oldest entries, or the range itself when it is larger than the
 * cache may hold) is added to out.
 */
static void huge_cache_put_locked(uintptr_t addr, size_t size, uint32_t now,
			     struct huge_unmap_list *out)
{
	size_t limit = huge_cache_limit();

	if (size > limit) {
		out->r[out->nr++] = (struct huge_cached){ addr, size, now };
		return;
	}
	huge_cache_register();
	while (huge_cache_nr == HUGE_CACHE_SLOTS ||
	       huge_cache_bytes + size > limit) {
		unsigned int oldest = 0;

		for (unsigned int i = 1; i < huge_cache_nr; i++)
			if ((int32_t)(huge_cache[i].freed -
				      huge_cache[oldest].freed) < 0)
				oldest = i;
		huge_cache_del_locked(oldest, out);
	}
	huge_cache[huge_cache_nr++] = (struct huge_cached){ addr, size, now };
	huge_cache_bytes += size;
}

/* Unmap [addr, addr + size), a range of ours no block or cache entry
 * holds, with its guard pages (hardening:guard); a refusal puts it on the
 * refused list (above). No lock held. */
static bool huge_unmap_range(uintptr_t addr, size_t size)
{
	struct huge_refused *r = (struct huge_refused *)addr;
	size_t guard = huge_guard ? PAGE_SIZE : 0;

	if (os_unmap((void *)(addr - guard), size + 2 * guard)) {
		uatomic_sub(&huge_pages, size >> PAGE_SHIFT);
		return true;
	}
	if (size > PAGE_SIZE)
		os_release((void *)(addr + PAGE_SIZE), size - PAGE_SIZE);
	r->size = size;
	pthread_mutex_lock(&huge_cache_lock);
	r->next = huge_refused_head;
	huge_refused_head = addr;
	huge_refused_nr++;
	pthread_mutex_unlock(&huge_cache_lock);
	return false;
}

/* Unmap what a cache operation gave up; no lock held. */
static void huge_unmap_all(const struct huge_unmap_list *l)
{
	for (unsigned int i = 0; i < l->nr; i++)
		huge_unmap_range(l->r[i].addr, l->r[i].size);
}

/* Try the refused unmaps again; the pages that went back. No lock held. */
static unsigned long huge_unmap_refused(void)
{
	unsigned long pages = 0;
	uintptr_t addr;

	pthread_mutex_lock(&huge_cache_lock);
	addr = huge_refused_head;
	huge_refused_head = 0;
	huge_refused_nr = 0;
	pthread_mutex_unlock(&huge_cache_lock);
	while (addr) {
		struct huge_refused *r = (struct huge_refused *)addr;
		uintptr_t next = r->next;
		size_t size = r->size;

		if (huge_unmap_range(addr, size))
			pages += size >> PAGE_SHIFT;
		addr = next;
	}
	return pages;
}

/*
 * Unmap the entries freed at least decay_ms before now (all of them for
 * decay_ms 0). Returns how many pages went back; *waiting: entries are
 * left for a later pass.
 */
static unsigned long huge_cache_evict(uint32_t now, uint32_t decay_ms,
				      bool *waiting)
{
	struct huge_unmap_list out = { .nr = 0 };
	unsigned long pages = 0;

	pthread_mutex_lock(&huge_cache_lock);
	for (unsigned int i = 0; i < huge_cache_nr;) {
		if ((uint32_t)(now - huge_cache[i].freed) >= decay_ms)
			huge_cache_del_locked(i, &out);
		else
			i++;
	}
	*waiting = huge_cache_nr != 0 || huge_refused_nr != 0;
	pthread_mutex_unlock(&huge_cache_lock);
	for (unsigned int i = 0; i < out.nr; i++)
		if (huge_unmap_range(out.r[i].addr, out.r[i].size))
			pages += out.r[i].size >> PAGE_SHIFT;
	return pages + huge_unmap_refused();
}

bool huge_cache_decay(uint32_t now, uint32_t decay_ms)
{
	bool waiting;

	huge_cache_evict(now, decay_ms, &waiting);
	return waiting;
}

unsigned long huge_cache_drain(void)
{
	bool waiting;

	return huge_cache_evict(0, 0, &waiting);
}

void huge_cache_stats(size_t *bytes, size_t *count)
{
	pthread_mutex_lock(&huge_cache_lock);
	*bytes = huge_cache_bytes;
	*count = huge_cache_nr;
	pthread_mutex_unlock(&huge_cache_lock);
}

/*
 * The shrinker: under memory pressure (kswapd, direct reclaim) the whole
 * cache goes; the decay pass (idle_only) leaves it to huge_cache_decay,
 * which vmscan.c's decay_node calls with its clock. The cache belongs to
 * no node: any node's reclaim empties it.
 */
static unsigned long huge_cache_shrink_scan(int nid, bool idle_only)
{
	(void)nid;
	return idle_only ? 0 : huge_cache_drain();
}

static const struct shrinker huge_cache_shrinker = {
	.name = "huge_cache",
	.scan_objects = huge_cache_shrink_scan,
};

/* Once, at the first put; caller holds huge_cache_lock (register_shrinker
 * takes only its own lock). */
static void huge_cache_register(void)
{
	if (!huge_cache_shrinker_registered)
		huge_cache_shrinker_registered =
			register_shrinker(&huge_cache_shrinker);
}

/*
 * A put while the decay clock is stopped asks for decay to restart, as
 * __decay_stamp does for pages: the full barrier after the put pairs with
 * the one in decay_node after it stopped the clock, so either this sees
 * the clock stopped or decay_node sees the entry.
 */
static void huge_cache_kick_decay(void)
{
	cmm_smp_mb();
	if (core_config.decay_ms &&
	    !CMM_LOAD_SHARED(NODE_DATA(0)->decay_clock) &&
	    !CMM_LOAD_SHARED(reclaim_work_pending))
		CMM_STORE_SHARED(reclaim_work_pending, 1);
}

/* ----------------------------------------------------------- the blocks */

/*
 * size and align are multiples of PAGE_SIZE. mmap gives page alignment
 * only: map align - PAGE_SIZE more and trim both ends. Under
 * hardening:guard a page more on each side stays mapped, made
 * inaccessible. A trim the OS refuses leaves address space nothing
 * touches: no memory to give back, nothing to keep track of; so does a
 * failed unmap after a refused guard.
 */
static void *huge_map(size_t size, size_t align)
{
	size_t guard = huge_guard ? PAGE_SIZE : 0, span;
	uintptr_t start, end, aligned;
	void *p;

	if (__builtin_add_overflow(size, 2 * guard + (align - PAGE_SIZE), &span))
		return NULL;
	p = os_map(span);
	if (!p)
		return NULL;
	start = (uintptr_t)p;
	end = start + span;
	aligned = (start + guard + align - 1) & ~(uintptr_t)(align - 1);
	if (aligned - guard > start)
		os_unmap(p, aligned - guard - start);
	if (end > aligned + size + guard)
		os_unmap((void *)(aligned + size + guard),
			 end - (aligned + size + guard));
	if (guard && (!os_mprotect((void *)(aligned - guard), guard, false) ||
		      !os_mprotect((void *)(aligned + size), guard, false))) {
		os_unmap((void *)(aligned - guard), size + 2 * guard);
		return NULL;
	}
	uatomic_add(&huge_pages, size >> PAGE_SHIFT);
	return (void *)aligned;
}

static void huge_unmap(void *p, size_t size)
{
	huge_unmap_range((uintptr_t)p, size);
}

/* size rounded up to whole pages (0 counts as one); 0 on overflow. */
static size_t huge_round(size_t size)
{
	if (size > SIZE_MAX - (PAGE_SIZE - 1))
		return 0;
	size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	return size ? size : PAGE_SIZE;
}

/*
 * The shape of a block of size bytes aligned to align (a power of two):
 * the bytes of its pages, their alignment, and its usable bytes, at the
 * end of the pages. Without guards a block is its pages. Under
 * hardening:guard it ends where they do, against the guard page after
 * them, and its usable size is size rounded up to the alignment asked for
 * (at least malloc's 16; above a page, the pages themselves are aligned
 * and the block starts on the first one). false: size overflows.
 */
struct huge_shape {
	size_t pages;
	size_t align;
	size_t usable;
};

static bool huge_shape(size_t size, size_t align, struct huge_shape *s)
{
	size_t unit = align < HUGE_GUARD_MIN_ALIGN ? HUGE_GUARD_MIN_ALIGN :
		      align > PAGE_SIZE ? PAGE_SIZE : align;

	s->align = align < PAGE_SIZE ? PAGE_SIZE : align;
	if (!huge_guard) {
		s->pages = s->usable = huge_round(size);
		return s->pages != 0;
	}
	if (size > SIZE_MAX - (unit - 1))
		return false;
	s->usable = size ? (size + unit - 1) & ~(unit - 1) : unit;
	s->pages = huge_round(s->usable);
	return s->pages != 0;
}

/* Enter the block of shape s on the pages at base in the table; false:
 * no room (the table could not grow). */
static bool huge_enter(uintptr_t base, const struct huge_shape *s)
{
	bool ok;

	pthread_mutex_lock(&huge_lock);
	ok = huge_reserve_locked();
	if (ok) {
		huge_insert_locked(huge_table, base + s->pages - s->usable, s->pages);
		huge_update_peaks_locked();
	}
	pthread_mutex_unlock(&huge_lock);
	return ok;
}

/* A block of shape s on a cached range, entered in the table, or NULL.
 * Its old contents are cleared for __GFP_ZERO (a fresh mapping would be
 * zero). */
static void *huge_alloc_cached(const struct huge_shape *s, gfp_t gfp)
{
	uintptr_t base;

	pthread_mutex_lock(&huge_cache_lock);
	base = huge_cache_nr ? huge_cache_take_locked(s->pages, s->align) : 0;
	pthread_mutex_unlock(&huge_cache_lock);
	if (!base)
		return NULL;
	/* The range is this thread's alone until it is in the table. */
	if (!huge_enter(base, s)) {
		huge_unmap_range(base, s->pages);
		return NULL;
	}
	if (gfp & __GFP_ZERO)
		memset((void *)base, 0, s->pages);
	return (void *)(base + s->pages - s->usable);
}

void *huge_alloc(size_t size, size_t align, gfp_t gfp)
{
	struct huge_shape s;
	void *p;

	if (align & (align - 1)) {
		errno = EINVAL;
		return NULL;
	}
	/* Placing a mapping below 4 GiB is the sections' business, not ours.
	 * The budget first: a mapping is counted resident whole (its guard
	 * pages are not: never touched). A cached range is counted already. */
	if (!huge_shape(size, align, &s) || (gfp & __GFP_LOW32)) {
		errno = ENOMEM;
		return NULL;
	}
	p = huge_alloc_cached(&s, gfp);
	if (p)
		return p;
	if (!alloc_budget_pages(s.pages >> PAGE_SHIFT, gfp))
		return NULL;
	p = huge_map(s.pages, s.align);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (!huge_enter((uintptr_t)p, &s)) {
		huge_unmap(p, s.pages);
		errno = ENOMEM;
		return NULL;
	}
	return (char *)p + s.pages - s.usable;
}

/*
 * Out of the table, into the cache (or unmapped, with what the cache gave
 * up to make room, once the lock is dropped): nobody can find the block
 * while it goes.
 */
bool huge_free(void *p)
{
	struct huge_unmap_list out = { .nr = 0 };
	struct huge_entry *e;
	bool cached = false;
	uintptr_t base = 0;
	size_t size = 0;

	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked(huge_table, (uintptr_t)p);
	if (e) {
		base = huge_entry_base(e);
		size = e->size;
		huge_remove_locked(huge_table, e);
	} else {
		/* Abandoned: the mapping may have moved under a torn entry, so
		 * leave it mapped; forgetting it catches a second free. */
		e = huge_find_abandoned_locked((uintptr_t)p);
		if (e)
			e->size = 0;
	}
	pthread_mutex_unlock(&huge_lock);
	if (size) {
		pthread_mutex_lock(&huge_cache_lock);
		huge_cache_put_locked(base, size, decay_now_ms(), &out);
		pthread_mutex_unlock(&huge_cache_lock);
		cached = out.nr == 0 || out.r[out.nr - 1].addr != base;
	}
	huge_unmap_all(&out);
	if (cached)
		huge_cache_kick_decay();
	return e != NULL;
}

size_t huge_usable_size(const void *p)
{
	struct huge_entry *e;
	size_t size;

	/* No huge block ever: nothing to look up, no lock to take. A block
	 * being inserted concurrently has not been returned to anyone yet. */
	if (!CMM_LOAD_SHARED(huge_table) && !CMM_LOAD_SHARED(huge_abandoned))
		return 0;
	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked(huge_table, (uintptr_t)p);
	if (!e)
		e = huge_find_abandoned_locked((uintptr_t)p);
	size = e ? huge_entry_usable(e) : 0;
	pthread_mutex_unlock(&huge_lock);
	return size;
}

/*
 * The new mapping's entry replaces the old one. An abandoned block moves
 * into the live table (room is made before the mremap, so that nothing can
 * fail after it); from then on it is an ordinary block of this process.
 * The mremap runs under the lock: it is what makes the entry true.
 */
static void *huge_remap_locked(struct huge_entry *e, bool abandoned, size_t size)
{
	void *p = (void *)e->addr, *q = p;

	if (abandoned && !huge_reserve_locked())
		return NULL;
	if (size != e->size)
		q = os_remap(p, e->size, size);
	if (!q)
		return NULL;
	uatomic_add(&huge_pages, (size >> PAGE_SHIFT) - (e->size >> PAGE_SHIFT));
	if (abandoned) {
		e->size = 0;
		huge_insert_locked(huge_table, (uintptr_t)q, size);
	} else if (q == p) {
		huge_table->bytes += size - e->size;	/* modulo 2^64 */
		e->size = size;
	} else {
		/* One entry out, one in: no growth needed. */
		huge_remove_locked(huge_table, e);
		huge_insert_locked(huge_table, (uintptr_t)q, size);
	}
	huge_update_peaks_locked();
	return q;
}

/* Grow the live block p of old bytes into the cached range that follows
 * it, if there is one: no system call, no copy. */
static bool huge_grow_cached(void *p, size_t size)
{
	struct huge_entry *e;
	bool ok = false;

	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked(huge_table, (uintptr_t)p);
	if (e && size > e->size) {
		pthread_mutex_lock(&huge_cache_lock);
		ok = huge_cache_grow_locked((uintptr_t)p, e->size, size);
		pthread_mutex_unlock(&huge_cache_lock);
	}
	if (ok) {
		huge_table->bytes += size - e->size;
		e->size = size;
		huge_update_peaks_locked();
	}
	pthread_mutex_unlock(&huge_lock);
	return ok;
}

/*
 * mremap could not grow the block (the OS refused the address space, or
 * the block spans two mappings after a growth into a cached range of
 * another one): a new block, the contents copied, the old block freed. On
 * failure p is untouched.
 */
static void *huge_realloc_copy(void *p, size_t old, size_t size)
{
	void *q = huge_alloc(size, PAGE_SIZE, 0);

	if (!q)
		return NULL;
	memcpy(q, p, old);
	huge_free(p);
	return q;
}

/*
 * hardening:guard: shrink the live block p to its first pages bytes, in
 * place: the two pages after them become guards (the block's new one, and
 * the one before the rest), and the rest is unmapped with its guards as
 * any range is. false, nothing changed: p is not in the live table (an
 * abandoned block is only read or forgotten), or the OS refused the
 * mprotect (it fails before changing anything on a range inside one
 * mapping, as this one is: the block's pages are a mapping of their own
 * between two of another protection).
 */
static bool huge_shrink_guarded(void *p, size_t pages)
{
	uintptr_t base = (uintptr_t)p & ~(uintptr_t)(PAGE_SIZE - 1);
	struct huge_entry *e;
	size_t old;

	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked(huge_table, (uintptr_t)p);
	old = e ? e->size : 0;
	pthread_mutex_unlock(&huge_lock);
	if (!old || !os_mprotect((void *)(base + pages), 2 * PAGE_SIZE, false))
		return false;
	/* The caller owns p: its entry is where it was. */
	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked(huge_table, (uintptr_t)p);
	huge_table->bytes -= old - pages;
	e->size = pages;
	pthread_mutex_unlock(&huge_lock);
	uatomic_sub(&huge_pages, 2);
	huge_unmap_range(base + pages + 2 * PAGE_SIZE,
			 old - pages - 2 * PAGE_SIZE);
	return true;
}

/*
 * hardening:guard: a block stays where it is while size still ends on its
 * pages (its usable size stays what it was, up to the guard), and shrinks
 * in place by two pages or more; otherwise a new guarded block, the
 * contents copied, the old block freed (forgotten, if abandoned). mremap
 * cannot keep the guards: it resizes or moves one mapping of one
 * protection (a range across the guards is refused), and the block's pages
 * alone would grow into a new place without guards. A copy on growth is
 * the price of exact guards at a debugging level.
 */
static void *huge_realloc_guarded(void *p, size_t size)
{
	size_t usable = huge_usable_size(p);
	size_t off = (uintptr_t)p & (PAGE_SIZE - 1), pages;
	void *q;

	if (!usable) {
		errno = EINVAL;
		return NULL;
	}
	if (size <= usable) {
		pages = huge_round(off + size);
		if (pages == off + usable)
			return p;
		if (pages + 2 * PAGE_SIZE <= off + usable &&
		    huge_shrink_guarded(p, pages))
			return p;
	}
	q = huge_alloc(size, HUGE_GUARD_MIN_ALIGN, 0);
	if (!q)
		return NULL;
	memcpy(q, p, size < usable ? size : usable);
	huge_free(p);
	return q;
}

void *huge_realloc(void *p, size_t size)
{
	size_t old;
	struct huge_entry *e;
	bool abandoned = false;
	void *q = NULL;

	if (huge_guard)
		return huge_realloc_guarded(p, size);
	size = huge_round(size);
	if (size && huge_grow_cached(p, size))
		return p;
	/* Growth needs budget: asked before the lock (reclaim may run),
	 * for the growth over the block's size as it is now. */
	old = huge_usable_size(p);
	if (old && size > old &&
	    !alloc_budget_pages((size - old) >> PAGE_SHIFT, 0))
		return NULL;
	pthread_mutex_lock(&huge_lock);
	e = huge_find_locked(huge_table, (uintptr_t)p);
	if (!e) {
		e = huge_find_abandoned_locked((uintptr_t)p);
		abandoned = true;
	}
	if (e && size)
		q = huge_remap_locked(e, abandoned, size);
	pthread_mutex_unlock(&huge_lock);
	if (!q && e && !abandoned && size > old && old)
		q = huge_realloc_copy(p, old, size);
	if (!q)
		errno = e ? ENOMEM : EINVAL;
	return q;
}

void huge_stats(size_t *bytes, size_t *count)
{
	pthread_mutex_lock(&huge_lock);
	*bytes = huge_table ? huge_table->bytes : 0;
	*count = huge_table ? huge_table->nr : 0;
	pthread_mutex_unlock(&huge_lock);
}

void huge_peak_stats(size_t *max_bytes, size_t *max_count)
{
	pthread_mutex_lock(&huge_lock);
	*max_bytes = huge_max_bytes;
	*max_count = huge_max_nr;
	pthread_mutex_unlock(&huge_lock);
}

/* ------------------------------------------------------------------ fork */

bool huge_fork_busy(void)
{
	return !fork_lock_free(&huge_lock);
}

/* Abandon: the live table, torn or not, becomes the newest abandoned one;
 * the next huge_alloc starts a fresh table. */
void huge_fork_child(bool abandon)
{
	bool cache_busy = !fork_lock_free(&huge_cache_lock);

	pthread_mutex_init(&huge_lock, NULL);
	pthread_mutex_init(&huge_cache_lock, NULL);
	/* A cache that may be torn (its lock was held, or the heap is given
	 * up) is forgotten: its ranges stay mapped and counted, never
	 * reused. */
	if (abandon || cache_busy) {
		huge_cache_nr = 0;
		huge_cache_bytes = 0;
		huge_refused_head = 0;
		huge_refused_nr = 0;
	}
	if (abandon && huge_table) {
		huge_table->older = huge_abandoned;
		huge_abandoned = huge_table;
		huge_table = NULL;
	}
}
