/*
 * huge.c - allocations above the largest buddy block: each is a mapping of
 * its own from the OS, resized with mremap and unmapped on free.
 *
 * Their metadata is out of band, in an open-addressing hash table keyed by
 * the block's address (linear probing, at most half full, deletion by
 * backward shift so that no tombstones pile up). The table lives in a
 * mapping of its own, never in the heap, and grows by rehashing into a
 * mapping twice as large. One mutex guards it: every huge operation makes a
 * system call anyway, so a finer scheme would buy nothing.
 *
 * Huge blocks are not in the section table, so virt_to_page() says NULL for
 * them; callers ask here only after that. A pointer that is not ours costs
 * one hash probe sequence, or nothing at all while no huge block exists.
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

#include "internal.h"

struct huge_entry {
	uintptr_t addr;		/* 0: empty slot */
	size_t size;		/* bytes mapped; 0: forgotten (abandoned tables) */
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

static pthread_mutex_t huge_lock = PTHREAD_MUTEX_INITIALIZER;
/* Protected by huge_lock. */
static struct huge_table *huge_table;		/* live blocks; NULL: none yet */
static struct huge_table *huge_abandoned;	/* newest first, via ->older */
/* The most live blocks and bytes there ever were at once (glibc's
 * max_n_mmaps and max_mmapped_mem, for malloc_stats). A child inherits
 * them, as glibc's does. */
static size_t huge_max_nr, huge_max_bytes;
/* Pages mapped for huge blocks, live or abandoned (still mapped): what the
 * budget counts for them. Changed with every map, remap and unmap. */
static unsigned long huge_pages;

unsigned long huge_mapped_pages(void)
{
	return uatomic_read(&huge_pages);
}

/* ------------------------------------------------------------ the table */

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
static struct huge_entry *__huge_find(struct huge_table *t, uintptr_t addr)
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

/* Caller made room (__huge_reserve). */
static void __huge_insert(struct huge_table *t, uintptr_t addr, size_t size)
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
static void __huge_remove(struct huge_table *t, struct huge_entry *e)
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
static bool __huge_rehash(size_t capacity)
{
	struct huge_table *old = huge_table, *t = huge_table_alloc(capacity);

	if (!t)
		return false;
	for (size_t i = 0; i < old->capacity; i++)
		if (old->slots[i].addr)
			__huge_insert(t, old->slots[i].addr, old->slots[i].size);
	t->older = old->older;
	cmm_barrier();
	huge_table = t;
	os_unmap_meta(old, huge_table_bytes(old->capacity));
	return true;
}

/* After huge_table gained a block or bytes: new peaks? Two compares on
 * a path that has just made a system call. */
static void __huge_update_peaks(void)
{
	if (huge_table->nr > huge_max_nr)
		huge_max_nr = huge_table->nr;
	if (huge_table->bytes > huge_max_bytes)
		huge_max_bytes = huge_table->bytes;
}

/* Room for one more entry in huge_table, creating or growing it. */
static bool __huge_reserve(void)
{
	if (!huge_table) {
		/* Read without the lock by huge_usable_size()'s early out. */
		CMM_STORE_SHARED(huge_table,
				 huge_table_alloc(HUGE_TABLE_MIN_CAPACITY));
		return huge_table != NULL;
	}
	if ((huge_table->nr + 1) * 2 <= huge_table->capacity)
		return true;
	return __huge_rehash(huge_table->capacity * 2);
}

/* A live block of an abandoned heap, or NULL. */
static struct huge_entry *__huge_find_abandoned(uintptr_t addr)
{
	for (struct huge_table *t = huge_abandoned; t; t = t->older) {
		struct huge_entry *e = __huge_find(t, addr);

		if (e && e->size)
			return e;
	}
	return NULL;
}

/* ----------------------------------------------------------- the blocks */

/* size and align are multiples of PAGE_SIZE. mmap gives page alignment
 * only: map align - PAGE_SIZE more and trim both ends. */
static void *huge_map(size_t size, size_t align)
{
	size_t span = size + (align - PAGE_SIZE);
	uintptr_t start, aligned;
	void *p;

	if (span < size)
		return NULL;
	p = os_map(span);
	if (!p)
		return NULL;
	start = (uintptr_t)p;
	aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
	if (aligned > start)
		os_unmap(p, aligned - start);
	if (start + span > aligned + size)
		os_unmap((void *)(aligned + size), start + span - (aligned + size));
	uatomic_add(&huge_pages, size >> PAGE_SHIFT);
	return (void *)aligned;
}

static void huge_unmap(void *p, size_t size)
{
	os_unmap(p, size);
	uatomic_sub(&huge_pages, size >> PAGE_SHIFT);
}

/* size rounded up to whole pages (0 counts as one); 0 on overflow. */
static size_t huge_round(size_t size)
{
	if (size > SIZE_MAX - (PAGE_SIZE - 1))
		return 0;
	size = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	return size ? size : PAGE_SIZE;
}

void *huge_alloc(size_t size, size_t align, gfp_t gfp)
{
	void *p;
	bool ok;

	if (align & (align - 1)) {
		errno = EINVAL;
		return NULL;
	}
	if (align < PAGE_SIZE)
		align = PAGE_SIZE;
	size = huge_round(size);
	/* Placing a mapping below 4 GiB is the sections' business, not ours.
	 * The budget first: a mapping is counted resident whole. */
	if (!size || (gfp & __GFP_LOW32)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!alloc_budget_pages(size >> PAGE_SHIFT, gfp))
		return NULL;
	p = huge_map(size, align);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&huge_lock);
	ok = __huge_reserve();
	if (ok) {
		__huge_insert(huge_table, (uintptr_t)p, size);
		__huge_update_peaks();
	}
	pthread_mutex_unlock(&huge_lock);
	if (!ok) {
		huge_unmap(p, size);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

bool huge_free(void *p)
{
	struct huge_entry *e;
	size_t size = 0;

	pthread_mutex_lock(&huge_lock);
	e = __huge_find(huge_table, (uintptr_t)p);
	if (e) {
		size = e->size;
		__huge_remove(huge_table, e);
	} else {
		/* Abandoned: the mapping may have moved under a torn entry, so
		 * leave it mapped; forgetting it catches a second free. */
		e = __huge_find_abandoned((uintptr_t)p);
		if (e)
			e->size = 0;
	}
	pthread_mutex_unlock(&huge_lock);
	/* Out of the table first: nobody can find the block while it goes. */
	if (size)
		huge_unmap(p, size);
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
	e = __huge_find(huge_table, (uintptr_t)p);
	if (!e)
		e = __huge_find_abandoned((uintptr_t)p);
	size = e ? e->size : 0;
	pthread_mutex_unlock(&huge_lock);
	return size;
}

/*
 * The new mapping's entry replaces the old one. An abandoned block moves
 * into the live table (room is made before the mremap, so that nothing can
 * fail after it); from then on it is an ordinary block of this process.
 * The mremap runs under the lock: it is what makes the entry true.
 */
static void *__huge_remap(struct huge_entry *e, bool abandoned, size_t size)
{
	void *p = (void *)e->addr, *q = p;

	if (abandoned && !__huge_reserve())
		return NULL;
	if (size != e->size)
		q = os_remap(p, e->size, size);
	if (!q)
		return NULL;
	uatomic_add(&huge_pages, (size >> PAGE_SHIFT) - (e->size >> PAGE_SHIFT));
	if (abandoned) {
		e->size = 0;
		__huge_insert(huge_table, (uintptr_t)q, size);
	} else if (q == p) {
		huge_table->bytes += size - e->size;	/* modulo 2^64 */
		e->size = size;
	} else {
		/* One entry out, one in: no growth needed. */
		__huge_remove(huge_table, e);
		__huge_insert(huge_table, (uintptr_t)q, size);
	}
	__huge_update_peaks();
	return q;
}

void *huge_realloc(void *p, size_t size)
{
	size_t old;
	struct huge_entry *e;
	bool abandoned = false;
	void *q = NULL;

	size = huge_round(size);
	/* Growth needs budget: asked before the lock (reclaim may run),
	 * for the growth over the block's size as it is now. */
	old = huge_usable_size(p);
	if (old && size > old &&
	    !alloc_budget_pages((size - old) >> PAGE_SHIFT, 0))
		return NULL;
	pthread_mutex_lock(&huge_lock);
	e = __huge_find(huge_table, (uintptr_t)p);
	if (!e) {
		e = __huge_find_abandoned((uintptr_t)p);
		abandoned = true;
	}
	if (e && size)
		q = __huge_remap(e, abandoned, size);
	pthread_mutex_unlock(&huge_lock);
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
	pthread_mutex_init(&huge_lock, NULL);
	if (abandon && huge_table) {
		huge_table->older = huge_abandoned;
		huge_abandoned = huge_table;
		huge_table = NULL;
	}
}
