/*
 * pcp.c - per-CPU page lists (the kernel's per_cpu_pages, mm/page_alloc.c).
 *
 * Each zone has, per CPU, free blocks of the small orders and of pageblock
 * order on lists per migrate type (struct per_cpu_pages, mm_types.h). An
 * allocation of such an order takes a block from the running CPU's list
 * (rmqueue_pcplist); an empty list is refilled with batch pages taken
 * from the buddy lists under one zone->lock acquisition (rmqueue_bulk). A
 * free puts the block on the running CPU's list (free_unref_page); when
 * the list's pages reach high, batch pages go back to the buddy lists,
 * again under one acquisition (free_pcppages_bulk). high and batch come
 * from the zone's managed pages and the CPU count as the kernel's
 * zone_batchsize() and zone_highsize() compute them, and follow the zone
 * as it grows (zone_pcp_update).
 *
 * Blocks on a list are marked PG_pcp with their order (mm_types.h), so
 * every walker of the sections (check.c, reclaim's isolation walk, the
 * in-place resize) steps over them as blocks that are neither buddy-free
 * nor allocated. Their pages are resident: rmqueue_bulk clears their
 * released bits as any allocation does, and a spill gives them back to the
 * buddy lists resident. zone->nr_free_pages does not count them (nor does
 * the kernel's NR_FREE_PAGES); pcp_stats_read() does.
 *
 * "Per CPU" is the CPU the thread runs on now: cpu_id in glibc's rseq
 * area where glibc registered rseq (a plain load: the kernel keeps it
 * current), else sched_getcpu() asked every PCP_CPU_HINT_OPS operations.
 *
 * Why a lock per CPU and not a restartable sequence, as the object caches
 * use: moving a block between a list and the buddy takes zone->lock and
 * many stores (the list, the count, the head's flags), which no rseq
 * critical section can hold (it commits with one store and may not call
 * out). The kernel has the same problem with preemption and solves it the
 * same way (pcp_spin_trylock). The lock is the CPU's own, so it is free in
 * the common case: taking it is one uncontended atomic exchange. The
 * running thread only ever *tries* it: if it is held (a drain, a thread
 * preempted on this CPU while holding it, or a thread that migrated
 * between reading its CPU and taking the lock and now shares it), the
 * allocation or free goes straight to the buddy lists under zone->lock.
 * So a migration never makes it wrong, only, rarely, slower; and a thread
 * never waits on another CPU's list. Drains and zone_pcp_update() spin on
 * the lock (they are rare and hold it briefly).
 *
 * Frees without zone->lock stay exact: a free claims the allocation's head
 * with a compare-and-swap from PG_head|owner to PG_pcp (page_head_claim),
 * so a double free, or a free by the wrong owner, is refused whichever
 * path each free takes.
 *
 * Lock order: pcp->lock, then zone->lock. zone->grow_lock before both.
 *
 * fork: the locks are checked in the child like the zone locks
 * (core_fork_busy); a child that keeps the heap re-initialises them, one
 * that abandons it empties every list (the blocks are in abandoned
 * sections).
 */
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

#ifdef BUDDY_RSEQ	/* config.h, through internal.h */
#include <sys/rseq.h>
#define PCP_HAVE_RSEQ	1
#else
#define PCP_HAVE_RSEQ	0
#endif

/* CPUs with lists; a CPU numbered higher uses the list of cpu % this. */
unsigned int nr_pcp_cpus;
static bool pcp_use_rseq;

/* ------------------------------------------------------------ this CPU */

#define PCP_CPU_HINT_OPS	64

static __thread struct {
	unsigned int cpu;
	unsigned int left;	/* operations before asking again */
} pcp_hint __attribute__((tls_model("initial-exec")));

__attribute__((noinline))
static unsigned int pcp_refresh_cpu(void)
{
	int cpu = os_current_cpu();

	pcp_hint.cpu = cpu >= 0 ? (unsigned int)cpu % nr_pcp_cpus : 0;
	pcp_hint.left = PCP_CPU_HINT_OPS - 1;
	return pcp_hint.cpu;
}

#ifdef BUDDY_TEST_HOOKS
void test_pcp_refresh_cpu(void)
{
	pcp_refresh_cpu();
}
#endif

/* The CPU this thread runs on now (a hint: the lock makes any CPU right). */
static inline unsigned int pcp_this_cpu(void)
{
#if PCP_HAVE_RSEQ
	if (likely(pcp_use_rseq)) {
		const struct rseq *rs = (const struct rseq *)
			((char *)__builtin_thread_pointer() + __rseq_offset);
		unsigned int cpu = CMM_LOAD_SHARED(rs->cpu_id);

		if (likely(cpu < nr_pcp_cpus))
			return cpu;
	}
#endif
	if (likely(pcp_hint.left)) {
		pcp_hint.left--;
		return pcp_hint.cpu;
	}
	return pcp_refresh_cpu();
}

static inline struct per_cpu_pages *zone_pcp(struct zone *zone,
					     unsigned int cpu)
{
	return &zone->per_cpu_pageset[cpu];
}

/* ---------------------------------------------------------------- locks */

static inline bool pcp_spin_trylock(struct per_cpu_pages *pcp)
{
	return !__atomic_exchange_n(&pcp->lock, 1, __ATOMIC_ACQUIRE);
}

/* For drains and updates: wait for the holder (it holds it briefly, but
 * may have been preempted). */
static void pcp_spin_lock(struct per_cpu_pages *pcp)
{
	unsigned int spins = 0;

	while (!pcp_spin_trylock(pcp)) {
		while (__atomic_load_n(&pcp->lock, __ATOMIC_RELAXED)) {
			if (++spins >= 100) {
				os_yield();
				spins = 0;
			} else {
				caa_cpu_relax();
			}
		}
	}
}

static inline void pcp_spin_unlock(struct per_cpu_pages *pcp)
{
	__atomic_store_n(&pcp->lock, 0, __ATOMIC_RELEASE);
}

void pcp_lock_all(struct zone *zone)
{
	if (zone->per_cpu_pageset)
		for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++)
			pcp_spin_lock(zone_pcp(zone, cpu));
}

void pcp_unlock_all(struct zone *zone)
{
	if (zone->per_cpu_pageset)
		for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++)
			pcp_spin_unlock(zone_pcp(zone, cpu));
}

/* ------------------------------------------------------ high and batch */

/*
 * The kernel's zone_batchsize(): about 0.1% of the zone or 1 MiB,
 * whichever is smaller, divided by 4, then rounded to 2^n - 1 (a power of
 * two was found to alias badly in caches when two tasks alternate).
 */
static int zone_batchsize(struct zone *zone)
{
	unsigned long pages = zone_managed_pages(zone) >> 10;
	int batch;

	if (pages > (1UL << 20) / PAGE_SIZE)
		pages = (1UL << 20) / PAGE_SIZE;
	batch = (int)pages / 4;
	if (batch < 1)
		batch = 1;
	batch = batch + batch / 2;
	batch = (1 << (31 - __builtin_clz((unsigned int)batch))) - 1;
	return batch < 1 ? 1 : batch;
}

/*
 * The pages a zone's lists may hold in all, before the split per CPU.
 * percpu_pagelist_high_fraction set: managed pages / fraction, as the
 * kernel. 0 (the default): the kernel takes the zone's low watermark, so
 * that full lists never wake reclaim early. This is that watermark as the
 * kernel computes it with its default settings: the zone's share of
 * min_free_kbytes (4 * sqrt(memory in KiB), clamped to 128 KiB..256 MiB),
 * plus the larger of a quarter of it and 0.1% of the zone
 * (watermark_scale_factor 10).
 */
static unsigned long pcp_high_pages(struct zone *zone)
{
	unsigned long managed = zone_managed_pages(zone);
	unsigned long kbytes = managed * (PAGE_SIZE / 1024), root = 0;
	unsigned long min_kbytes, min_pages, gap;

	if (core_config.percpu_pagelist_high_fraction) {
		unsigned long fraction = core_config.percpu_pagelist_high_fraction;

		return managed / (fraction < 8 ? 8 : fraction);
	}
	while ((root + 1) * (root + 1) <= kbytes * 16)
		root++;
	min_kbytes = root < 128 ? 128 : root > 262144 ? 262144 : root;
	min_pages = min_kbytes / (PAGE_SIZE / 1024);
	gap = managed / 1000;
	if (gap < min_pages / 4)
		gap = min_pages / 4;
	return min_pages + gap;
}

/* The kernel's zone_highsize(): split across the CPUs, at least 4 batches. */
static int zone_highsize(struct zone *zone, int batch)
{
	unsigned long high = pcp_high_pages(zone) / nr_pcp_cpus;

	if (high < (unsigned long)batch * 4)
		high = (unsigned long)batch * 4;
	if (high > INT32_MAX / 2)
		high = INT32_MAX / 2;
	return (int)high;
}

static int __free_pcppages_bulk(struct zone *zone, int to_free,
				struct per_cpu_pages *pcp, int pindex, int count);

/*
 * Give every CPU's lists of zone the zone's high and batch, spilling what
 * is above a lowered high. Caller holds zone->grow_lock (which orders the
 * updates) and neither pcp nor zone lock.
 */
static void zone_set_pageset_high_and_batch(struct zone *zone, int high,
					      int batch)
{
	zone->pageset_high = high;
	zone->pageset_batch = batch;
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++) {
		struct per_cpu_pages *pcp = zone_pcp(zone, cpu);

		pcp_spin_lock(pcp);
		if (pcp->count > high) {	/* spill first: count <= high */
			zone_lock(zone);
			CMM_STORE_SHARED(pcp->count,
				__free_pcppages_bulk(zone, pcp->count - high,
						     pcp, 0, pcp->count));
			zone_unlock(zone);
		}
		CMM_STORE_SHARED(pcp->high, high);
		CMM_STORE_SHARED(pcp->batch, batch);
		pcp_spin_unlock(pcp);
	}
}

void zone_pcp_update(struct zone *zone)
{
	int batch, high;

	if (!zone->per_cpu_pageset)
		return;
	if (zone->pcp_disabled) {
		/* The kernel's zone_pcp_disable(): high 0, batch 1, and every
		 * block passes straight through (here: rmqueue_pcplist and
		 * free_unref_page send it to the buddy). */
		zone_set_pageset_high_and_batch(zone, 0, 1);
		return;
	}
	batch = core_config.pcp_batch ? (int)core_config.pcp_batch :
					zone_batchsize(zone);
	high = zone_highsize(zone, batch);
	zone_set_pageset_high_and_batch(zone, high, batch);
}

#ifdef BUDDY_TEST_HOOKS
void zone_pcp_disable(struct zone *zone)
{
	pthread_mutex_lock(&zone->grow_lock);
	zone->pcp_disabled++;
	zone_pcp_update(zone);
	pthread_mutex_unlock(&zone->grow_lock);
	drain_all_pages(zone);
}

void zone_pcp_enable(struct zone *zone)
{
	pthread_mutex_lock(&zone->grow_lock);
	zone->pcp_disabled--;
	zone_pcp_update(zone);
	pthread_mutex_unlock(&zone->grow_lock);
}
#endif

/* --------------------------------------------------------------- set-up */

/* Called once per zone by zone_init(); the first call sets the CPU count
 * and the mode. No malloc: the CPU count comes from os.c without stdio. */
void zone_pcp_init(struct zone *zone)
{
	size_t bytes;

	if (!nr_pcp_cpus) {
		nr_pcp_cpus = os_nr_possible_cpus();
#if PCP_HAVE_RSEQ
		pcp_use_rseq = __rseq_size != 0;
#endif
	}
	bytes = (nr_pcp_cpus * sizeof(struct per_cpu_pages) + PAGE_SIZE - 1) &
		~(PAGE_SIZE - 1);
	zone->per_cpu_pageset = os_map(bytes);
	if (!zone->per_cpu_pageset)
		return;		/* no lists: every block goes to the buddy */
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++)
		for (int i = 0; i < NR_PCP_LISTS; i++)
			CDS_INIT_LIST_HEAD(&zone_pcp(zone, cpu)->lists[i]);
	zone->pcp_disabled = 0;
	zone_pcp_update(zone);
}

/* ------------------------------------------------------------ moving */

/*
 * Take count blocks of order for migratetype from the buddy lists under
 * one zone->lock acquisition and put them on list, marked PG_pcp and
 * resident. Returns how many it took (fewer when the zone has run out;
 * the caller's path grows the zone). Caller holds pcp->lock.
 */
static int rmqueue_bulk(struct zone *zone, unsigned int order, int count,
			struct cds_list_head *list,
			const struct alloc_context *ac)
{
	int migratetype = ac->migratetype;
	int i;

	zone_lock(zone);
	for (i = 0; i < count; i++) {
		struct page *page;

		/* The refilled pages become resident: the budget must let
		 * each block in, as an allocation of it. */
		if (!__pcp_refill_allowed(zone, order, ac))
			break;
		page = __rmqueue(zone, order, migratetype, 0);
		if (!page)
			break;
		__clear_pages_released(zone, page_to_pfn(page), 1UL << order);
		WRITE_ONCE(page->order, (uint8_t)order);
		WRITE_ONCE(page->nr_pages, 1u << order);
		WRITE_ONCE(page->migratetype, (uint8_t)migratetype);
		WRITE_ONCE(page->flags, PG_pcp);
		cds_list_add_tail(&page->lru, list);
	}
	zone_unlock(zone);
	if (i)
		count_vm_event(PCP_REFILL);
	return i;
}

/*
 * Give at least to_free pages (whole blocks) of pcp's lists back to the
 * buddy lists, or all of them, starting with list pindex and going round
 * the others, the oldest block of each list first. count is the pages on
 * the lists; returns what is left, for the caller to store in pcp->count
 * in one store (reports read it without the lock and must never see it
 * above high). Caller holds pcp->lock and zone->lock.
 */
static int __free_pcppages_bulk(struct zone *zone, int to_free,
				struct per_cpu_pages *pcp, int pindex, int count)
{
	while (to_free > 0 && count > 0) {
		struct cds_list_head *list = &pcp->lists[pindex];

		while (!cds_list_empty(list) && to_free > 0) {
			struct page *page = cds_list_entry(list->prev,
							   struct page, lru);
			unsigned int order = READ_ONCE(page->order);
			unsigned long pfn = page_to_pfn(page);

			cds_list_del(&page->lru);
			WRITE_ONCE(page->flags, 0);
			count -= 1 << order;
			to_free -= 1 << order;
			__free_one_page(page, pfn, zone, order,
					get_pfnblock_migratetype(pfn));
		}
		pindex = (pindex + 1) % NR_PCP_LISTS;
	}
	return count;
}

static int free_pcppages_bulk(struct zone *zone, int to_free,
			      struct per_cpu_pages *pcp, int pindex, int count)
{
	zone_lock(zone);
	count = __free_pcppages_bulk(zone, to_free, pcp, pindex, count);
	zone_unlock(zone);
	count_vm_event(PCP_SPILL);
	return count;
}

static inline int order_to_pindex(int migratetype, unsigned int order)
{
	int idx = order == pageblock_order ? PCP_MAX_LOWORDER + 1 : (int)order;

	return idx * MIGRATE_PCPTYPES + migratetype;
}

/* --------------------------------------------------- allocation, free */

/*
 * Refill an empty list: batch pages (at least 2 blocks above order 0, as
 * the kernel scales it), but never past high, counting the block the
 * caller takes at once. Returns the new count. Caller holds pcp->lock.
 */
static int pcp_refill(struct zone *zone, struct per_cpu_pages *pcp,
		      unsigned int order, const struct alloc_context *ac,
		      struct cds_list_head *list, int count)
{
	int batch = pcp->batch;
	int blocks = batch > 1 ? (batch >> order) : 1;
	int room = 1 + ((pcp->high - count) >> order);

	if (batch > 1 && blocks < 2)
		blocks = 2;
	if (blocks > room)
		blocks = room;
	return count + (rmqueue_bulk(zone, order, blocks, list, ac) << order);
}

/*
 * A block of order for ac from this CPU's list of zone, refilled from the
 * buddy if empty. NULL: the list's lock was busy, the lists are disabled,
 * the block is larger than high, or the zone has no free block of that
 * order (the caller goes to the buddy, which can grow the zone). The
 * block's pages are resident, so ac->zeroed stays false.
 *
 * A block whose pageblock became reserved (HIGHATOMIC) or ISOLATE while
 * it sat on the list goes to the buddy lists instead, where that type's
 * rules apply (the kernel's old check_new_pcp() loop).
 */
struct page *rmqueue_pcplist(struct zone *zone, unsigned int order,
			     struct alloc_context *ac)
{
	struct per_cpu_pages *pcp;
	struct cds_list_head *list;
	struct page *page;
	int count;

	if (unlikely(!zone->per_cpu_pageset))
		return NULL;
	pcp = zone_pcp(zone, pcp_this_cpu());
	if (unlikely(!pcp_spin_trylock(pcp)))
		return NULL;
	if (unlikely((1 << order) > pcp->high)) {
		/* Disabled (high 0), or a block larger than high, which
		 * would spill at once: straight to the buddy. */
		pcp_spin_unlock(pcp);
		return NULL;
	}
	list = &pcp->lists[order_to_pindex(ac->migratetype, order)];
	count = pcp->count;
	for (;;) {
		unsigned long pfn;
		int mt;

		if (unlikely(cds_list_empty(list))) {
			count = pcp_refill(zone, pcp, order, ac, list, count);
			if (cds_list_empty(list)) {
				CMM_STORE_SHARED(pcp->count, count);
				pcp_spin_unlock(pcp);
				return NULL;
			}
		}
		page = cds_list_first_entry(list, struct page, lru);
		cds_list_del(&page->lru);
		count -= 1 << order;
		pfn = page_to_pfn(page);
		mt = get_pfnblock_migratetype(pfn);
		if (likely(mt < MIGRATE_PCPTYPES))
			break;
		zone_lock(zone);
		WRITE_ONCE(page->flags, 0);
		__free_one_page(page, pfn, zone, order, mt);
		zone_unlock(zone);
	}
	CMM_STORE_SHARED(pcp->count, count);
	WRITE_ONCE(page->migratetype, (uint8_t)ac->migratetype);
	WRITE_ONCE(page->flags, PG_head | ac->page_owner);
	pcp_spin_unlock(pcp);
	return page;
}

/*
 * Free the allocation at page (2^order pages for owner) to this CPU's
 * list. The caller has checked that page is in a live section and order
 * is a pcp order. PCP_FREE_BUSY: nothing done, free it to the buddy
 * (this CPU's list is busy, or the pageblock is reserved).
 */
enum pcp_free free_unref_page(struct page *page, unsigned int order,
			      unsigned int owner)
{
	struct zone *zone = page_zone(page);
	unsigned long pfn = page_to_pfn(page);
	struct per_cpu_pages *pcp;
	int migratetype, pindex, count;

	/* Read without a lock: a block that is not such an allocation fails
	 * the claim below, and nr_pages of one being freed does not change
	 * (only the owner resizes it). */
	if (READ_ONCE(page->nr_pages) != (1u << order) ||
	    (pfn & ((1UL << order) - 1)))
		return PCP_FREE_REFUSED;
	if (unlikely(!zone->per_cpu_pageset))
		return PCP_FREE_BUSY;
	/* The reserves (HIGHATOMIC, ISOLATE) go straight back, as the
	 * kernel's free_unref_page() sends ISOLATE. */
	migratetype = get_pfnblock_migratetype(pfn);
	if (unlikely(migratetype >= MIGRATE_PCPTYPES))
		return PCP_FREE_BUSY;
	pcp = zone_pcp(zone, pcp_this_cpu());
	if (unlikely(!pcp_spin_trylock(pcp)))
		return PCP_FREE_BUSY;
	if (unlikely((1 << order) > pcp->high)) {	/* as rmqueue_pcplist */
		pcp_spin_unlock(pcp);
		return PCP_FREE_BUSY;
	}
	if (unlikely(!page_head_claim(page, owner, PG_pcp))) {
		pcp_spin_unlock(pcp);
		return PCP_FREE_REFUSED;
	}
	WRITE_ONCE(page->order, (uint8_t)order);
	WRITE_ONCE(page->migratetype, (uint8_t)migratetype);
	pindex = order_to_pindex(migratetype, order);
	cds_list_add(&page->lru, &pcp->lists[pindex]);
	count = pcp->count + (1 << order);
	if (count >= pcp->high)
		/* Down to high - batch, this list's oldest blocks first. */
		count = free_pcppages_bulk(zone, count - pcp->high + pcp->batch,
					   pcp, pindex, count);
	CMM_STORE_SHARED(pcp->count, count);
	pcp_spin_unlock(pcp);
	return PCP_FREE_DONE;
}

/* ---------------------------------------------------------------- drains */

/* Empty pcp back to the buddy; true if it held anything. */
static bool drain_pages_zone(struct zone *zone, struct per_cpu_pages *pcp)
{
	bool had;

	pcp_spin_lock(pcp);
	had = pcp->count != 0;
	if (had) {
		zone_lock(zone);
		CMM_STORE_SHARED(pcp->count,
			__free_pcppages_bulk(zone, pcp->count, pcp, 0,
					     pcp->count));
		zone_unlock(zone);
	}
	pcp_spin_unlock(pcp);
	if (had)
		count_vm_event(PCP_DRAIN);
	return had;
}

static void drain_cpu_pages(struct zone *only, unsigned int cpu)
{
	for_each_zone(zone)
		if ((!only || zone == only) && zone->per_cpu_pageset)
			drain_pages_zone(zone, zone_pcp(zone, cpu));
}

#ifdef BUDDY_TEST_HOOKS
void drain_local_pages(struct zone *zone)
{
	buddy_core_init();
	drain_cpu_pages(zone, pcp_this_cpu());
}
#endif

/* Unlike the kernel, which asks each CPU to drain itself (IPIs), any
 * thread may take another CPU's lock here, so this drains them all in
 * place. */
void drain_all_pages(struct zone *zone)
{
	buddy_core_init();
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++)
		drain_cpu_pages(zone, cpu);
}

/* ---------------------------------------------------------------- reports */

unsigned int pcp_stats_read(const struct zone *zone, struct pcp_stats *out,
			    unsigned int max_cpus)
{
	unsigned int n = 0;

	if (!zone->per_cpu_pageset)
		return 0;
	for (unsigned int cpu = 0; cpu < nr_pcp_cpus && n < max_cpus; cpu++) {
		const struct per_cpu_pages *pcp = &zone->per_cpu_pageset[cpu];

		out[n].cpu = cpu;
		out[n].count = (unsigned int)CMM_LOAD_SHARED(pcp->count);
		out[n].high = (unsigned int)CMM_LOAD_SHARED(pcp->high);
		out[n].batch = (unsigned int)CMM_LOAD_SHARED(pcp->batch);
		n++;
	}
	return n;
}

/* ----------------------------------------------------------------- fork */

bool pcp_fork_busy(void)
{
	for_each_zone(zone)
		if (zone->per_cpu_pageset)
			for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++)
				if (__atomic_load_n(&zone_pcp(zone, cpu)->lock,
						    __ATOMIC_RELAXED))
					return true;
	return false;
}

/* The child runs alone. abandon: the blocks on the lists are in abandoned
 * sections; forget them. */
void pcp_fork_child(bool abandon)
{
	for_each_zone(zone) {
		if (!zone->per_cpu_pageset)
			continue;
		for (unsigned int cpu = 0; cpu < nr_pcp_cpus; cpu++) {
			struct per_cpu_pages *pcp = zone_pcp(zone, cpu);

			pcp->lock = 0;
			if (!abandon)
				continue;
			pcp->count = 0;
			for (int i = 0; i < NR_PCP_LISTS; i++)
				CDS_INIT_LIST_HEAD(&pcp->lists[i]);
		}
		if (abandon)
			zone_pcp_update(zone);
	}
}
