/*
 * vmscan.c - the reclaim threads (the kernel's kswapd) and decay.
 *
 * One thread per node, "buddy-kswapd<nid>", started on first need: when
 * a zone of the node falls below its low watermark (wakeup_kswapd), or
 * when memory of the node starts waiting for decay. Never from a
 * constructor (a process that never frees gets no thread), and never from
 * inside the allocator: the core only raises reclaim_work_pending, and the
 * malloc layer calls reclaim_work_run() once it holds no allocator lock
 * (pthread_create callocs its thread's TLS vector, which comes back into
 * malloc; reclaim_work_busy turns that nested call away).
 *
 * The thread sleeps until woken or, while memory of its node waits for
 * decay, for decay_ms / 4. Woken for pressure it runs balance_pgdat():
 * for every zone below its high watermark, drain the pcp lists, shrink
 * the slab (the registered shrinkers) and release free memory, whole
 * pageblocks first (reclaim.c), until the zone is above high. Each time
 * it wakes it also runs decay: the shrinkers' idle-only scan (per-CPU
 * object caches of idle CPUs, empty slabs), the pcp lists drained, then
 * every pageblock that has had no free for decay_ms goes back
 * (decay_zone). When nothing waits any more it stops the node's decay
 * clock and sleeps until woken (reclaim.c, "Decay", for the protocol).
 *
 * reclaim_threads:0: no thread; reclaim_work_run() does the decay inline,
 * at most every decay_ms / 4 per node, on the allocating paths of the
 * malloc layer. Pressure is then direct reclaim's alone.
 *
 * Each pass, on the thread or inline, also runs the re-typing scan
 * (pageblock.c) of every zone whose last scan is lifetime_ms / 2 old;
 * while a pinned pageblock waits for its time the thread sleeps at most
 * that long.
 *
 * The thread sleeps on a futex word (pglist_data::kswapd_wait), not a
 * condition variable: a wake is one atomic add and one system call, which
 * a signal handler may make. That is how the live report gets written
 * (reclaim_report_request): the handler sets report_requested and wakes
 * node 0's thread, which calls reclaim_report_fn with no lock held. With
 * the threads off the next reclaim_work_run() writes it: the next
 * allocator call of the program through a slow path (the inline fast
 * paths of malloc and free check nothing), so a program that does not
 * allocate does not answer until it does.
 *
 * fork: the child has no thread. vmscan_fork_child() makes the node state
 * new (locks, flags, a stopped clock, no report asked for); the child's
 * first free that stamps a pageblock starts its own thread, lazily, like
 * the parent's.
 */
#include <errno.h>

#include "internal.h"

int reclaim_work_pending;

/* The live report (page_alloc.h): who writes it, and whether a signal
 * asked for it since it was last written (atomic). */
void (*reclaim_report_fn)(void);
static int report_requested;

/* One reclaim_work_run() at a time, and none nested in another's
 * pthread_create. */
static int reclaim_work_busy;

#ifdef BUDDY_TEST_HOOKS
uint32_t test_decay_now_ms;
#endif

/* ----------------------------------------------------------- watermarks */

/*
 * The budget's watermarks (budget.c): free is what the zone's share of the
 * budget still allows (zone_page_free: managed - resident). The thread is
 * woken below low (the allocation path's slow path, wakeup_kswapd) and
 * works until free is back at high.
 */
#ifdef BUDDY_TEST_HOOKS
bool zone_below_low(const struct zone *zone)
{
	return zone_page_free(zone) < (long)low_wmark_pages(zone);
}
#endif

bool zone_balanced(const struct zone *zone)
{
	return zone_page_free(zone) >= (long)high_wmark_pages(zone);
}

unsigned long zone_reclaim_target(const struct zone *zone)
{
	long free = zone_page_free(zone);
	long high = (long)high_wmark_pages(zone);

	return free < high ? (unsigned long)(high - free) : 0;
}

/* --------------------------------------------------------------- decay */

uint32_t decay_now_ms(void)
{
	uint32_t now;

#ifdef BUDDY_TEST_HOOKS
	now = CMM_LOAD_SHARED(test_decay_now_ms);
	if (!now)
#endif
		now = (uint32_t)os_monotonic_ms();
	/* 0 and 1 are stamps, not times (once every 49 days). */
	return now > DECAY_STAMP_UNKNOWN ? now : now + 2;
}

static unsigned int decay_period_ms(void)
{
	unsigned int period = core_config.decay_ms / 4;

	return period ? period : 1;
}

static bool decay_node_zones(pg_data_t *pgdat, uint32_t now)
{
	bool dirty = false;

	for (int idx = 0; idx < MAX_NR_ZONES; idx++) {
		struct zone *zone = &pgdat->node_zones[idx];

		if (populated_zone(zone))
			decay_zone(zone, now, core_config.decay_ms, &dirty);
	}
	return dirty;
}

/* The cache of freed direct mappings (huge.c) belongs to no node: node
 * 0's pass decays it, with node 0's clock (huge.c restarts that one). */
static bool decay_node_huge(pg_data_t *pgdat, uint32_t now)
{
	return pgdat->node_id == 0 &&
	       huge_cache_decay(now, core_config.decay_ms);
}

/*
 * One decay pass over the node: the shrinkers' idle memory and the pcp
 * lists first (what they free lands in the buddy, stamped now), then the
 * pageblocks and cached direct mappings that idled decay_ms. Returns true
 * while memory of the node still waits for decay. Stopping the clock: store 0, then look once more
 * under each zone's lock; a free after the store stamps UNKNOWN and asks
 * for a restart, a free before it is seen by the second look.
 */
static bool decay_node(pg_data_t *pgdat)
{
	uint32_t now = decay_now_ms();

	if (!core_config.decay_ms)
		return false;
	uatomic_set(&pgdat->decay_clock, now);
	shrink_slab(pgdat->node_id, true);
	for (int idx = 0; idx < MAX_NR_ZONES; idx++)
		if (populated_zone(&pgdat->node_zones[idx]))
			drain_all_pages(&pgdat->node_zones[idx]);
	if (decay_node_zones(pgdat, now) | decay_node_huge(pgdat, now))
		return true;
	uatomic_set(&pgdat->decay_clock, 0);
	cmm_smp_mb();
	if (!decay_node_zones(pgdat, now) && !decay_node_huge(pgdat, now))
		return false;
	uatomic_set(&pgdat->decay_clock, now);
	return true;
}

/* ------------------------------------------------------------ re-typing */

static uint32_t retype_period_ms(void)
{
	uint32_t period = CMM_LOAD_SHARED(core_config.lifetime_ms) / 2;

	return period ? period : 1;
}

/*
 * The re-typing scan (pageblock.c) of each zone of the node whose last
 * scan is lifetime_ms / 2 old. Returns true while a scan left a pinned
 * pageblock waiting for its time, so that the caller comes back (the
 * thread keeps a timed sleep, the inline path keeps work pending); once
 * nothing waits, the node's scans wait for the next pass of its reclaim
 * work (a wake, or decay).
 */
static bool retype_node(pg_data_t *pgdat)
{
	uint32_t now = decay_now_ms();
	bool waiting = false;

	for (int idx = 0; idx < MAX_NR_ZONES; idx++) {
		struct zone *zone = &pgdat->node_zones[idx];
		uint32_t last = zone->retype_last_scan;

		if (!populated_zone(zone))
			continue;
		if (!last || (uint32_t)(now - last) >= retype_period_ms()) {
			zone->retype_last_scan = now;
			zone->retype_waiting = retype_zone(zone, now);
		}
		waiting |= zone->retype_waiting;
	}
	return waiting;
}

/* --------------------------------------------------------------- kswapd */

/*
 * Bring every zone of the node up to its high watermark: drain the pcp
 * lists, shrink the slab, release free memory (whole pageblocks first).
 * User space cannot move objects, so there is no compaction; draining is
 * what lets buddies merge.
 */
static void balance_pgdat(pg_data_t *pgdat, unsigned int order,
			  enum zone_type highest_zoneidx)
{
	bool shrunk = false;

	(void)order;
	count_vm_event(PAGEOUTRUN);
	for (int idx = 0; idx <= (int)highest_zoneidx; idx++) {
		struct zone *zone = &pgdat->node_zones[idx];

		if (!populated_zone(zone) || zone_balanced(zone))
			continue;
		drain_all_pages(zone);
		if (!shrunk) {
			shrink_slab(pgdat->node_id, false);
			shrunk = true;
		}
		reclaim_zone(zone, zone_reclaim_target(zone), PGSTEAL_KSWAPD);
	}
}

/* ------------------------------------------------------- live report */

/* Is a report asked for that this thread (node 0's) should write? */
static bool report_wanted(const pg_data_t *pgdat)
{
	return pgdat->node_id == 0 && uatomic_read(&report_requested);
}

/* Write the report asked for, with no lock held. The flag is cleared
 * first: a signal meanwhile asks for the next one. */
static void report_run(void)
{
	void (*fn)(void) = CMM_LOAD_SHARED(reclaim_report_fn);

	if (uatomic_xchg(&report_requested, 0) && fn)
		fn();
}

/* Wake the node's thread: one more on its futex word, then the system
 * call. No lock: a signal handler calls it. */
static void kswapd_wake_up(pg_data_t *pgdat)
{
	uatomic_inc(&pgdat->kswapd_wait);
	os_futex_wake(&pgdat->kswapd_wait);
}

/*
 * From a signal handler: one atomic store, and a wake (node 0's thread
 * runs) or reclaim_work_pending raised (it does not, or the threads are
 * off: the next allocator call that returns to the program starts it or
 * writes the report itself). The read of kswapd_started is racy, and
 * harmless: a thread that starts meanwhile looks at the flag first.
 */
void reclaim_report_request(void)
{
	pg_data_t *pgdat = NODE_DATA(0);

	uatomic_set(&report_requested, 1);
	cmm_smp_mb();
	if (core_config.reclaim_threads && CMM_LOAD_SHARED(pgdat->kswapd_started))
		kswapd_wake_up(pgdat);
	else
		uatomic_set(&reclaim_work_pending, 1);
}

static void *kswapd(void *arg)
{
	pg_data_t *pgdat = arg;
	unsigned int sleep_ms = 0;
	char name[16] = "buddy-kswapd";

	name[12] = (char)('0' + pgdat->node_id % 10);
	name[13] = '\0';
	os_thread_set_name(name);
	for (;;) {
		bool wake;
		unsigned int order;
		enum zone_type highest_zoneidx;

		pthread_mutex_lock(&pgdat->kswapd_lock);
		if (!pgdat->kswapd_wake && !pgdat->kswapd_decay_kick &&
		    !report_wanted(pgdat)) {
			/* Read before the flags were: a wake after that
			 * changed it, and the wait returns at once. */
			uint32_t seq = uatomic_read(&pgdat->kswapd_wait);

			cmm_smp_mb();

			pgdat->kswapd_idle = !sleep_ms;
			pthread_mutex_unlock(&pgdat->kswapd_lock);
			if (!report_wanted(pgdat))
				os_futex_wait_ms(&pgdat->kswapd_wait, seq,
						 sleep_ms);
			pthread_mutex_lock(&pgdat->kswapd_lock);
			pgdat->kswapd_idle = false;
		}
		wake = pgdat->kswapd_wake;
		order = pgdat->kswapd_order;
		highest_zoneidx = pgdat->kswapd_highest_zoneidx;
		pgdat->kswapd_wake = false;
		pgdat->kswapd_decay_kick = false;
		pgdat->kswapd_order = 0;
		pgdat->kswapd_highest_zoneidx = 0;
		pthread_mutex_unlock(&pgdat->kswapd_lock);

		if (report_wanted(pgdat))
			report_run();
		if (wake)
			balance_pgdat(pgdat, order, highest_zoneidx);
		sleep_ms = decay_node(pgdat) ? decay_period_ms() : 0;
		if (retype_node(pgdat) &&
		    (!sleep_ms || sleep_ms > retype_period_ms()))
			sleep_ms = retype_period_ms();
		uatomic_inc(&pgdat->kswapd_runs);
	}
	return NULL;
}

/* Start the node's thread unless it runs; false if it cannot start. */
static bool kswapd_run(pg_data_t *pgdat)
{
	pthread_mutex_lock(&pgdat->kswapd_lock);
	if (pgdat->kswapd_started) {
		pthread_mutex_unlock(&pgdat->kswapd_lock);
		return true;
	}
	pgdat->kswapd_started = true;
	pgdat->kswapd_decay_kick = true;	/* look at once */
	pthread_mutex_unlock(&pgdat->kswapd_lock);

	if (os_thread_create(kswapd, pgdat))
		return true;
	pthread_mutex_lock(&pgdat->kswapd_lock);
	pgdat->kswapd_started = false;
	pthread_mutex_unlock(&pgdat->kswapd_lock);
	return false;
}

/* Node 0's thread at once, so that an idle program answers. The caller
 * holds no allocator lock (pthread_create allocates). */
void reclaim_report_enable(void (*fn)(void))
{
	CMM_STORE_SHARED(reclaim_report_fn, fn);
	buddy_core_init();
	if (core_config.reclaim_threads && !kswapd_run(NODE_DATA(0)))
		uatomic_set(&reclaim_work_pending, 1);	/* try again later */
}

void wakeup_kswapd(struct zone *zone, unsigned int order,
		   enum zone_type highest_zoneidx)
{
	pg_data_t *pgdat = NODE_DATA(zone->node);

	if (!core_config.reclaim_threads)
		return;		/* direct reclaim does it all */
	pthread_mutex_lock(&pgdat->kswapd_lock);
	if (!pgdat->kswapd_wake)
		count_vm_event(KSWAPD_WAKE);
	pgdat->kswapd_wake = true;
	if (order > pgdat->kswapd_order)
		pgdat->kswapd_order = order;
	if (highest_zoneidx > pgdat->kswapd_highest_zoneidx)
		pgdat->kswapd_highest_zoneidx = highest_zoneidx;
	if (pgdat->kswapd_started)
		kswapd_wake_up(pgdat);
	else	/* started where no allocator lock is held */
		uatomic_set(&reclaim_work_pending, 1);
	pthread_mutex_unlock(&pgdat->kswapd_lock);
}

/* Wake a running thread for decay, or start it. */
static void kswapd_kick(pg_data_t *pgdat)
{
	pthread_mutex_lock(&pgdat->kswapd_lock);
	if (pgdat->kswapd_started) {
		pgdat->kswapd_decay_kick = true;
		kswapd_wake_up(pgdat);
		pthread_mutex_unlock(&pgdat->kswapd_lock);
		return;
	}
	pthread_mutex_unlock(&pgdat->kswapd_lock);
	if (!kswapd_run(pgdat))
		uatomic_set(&reclaim_work_pending, 1);	/* try again later */
}

/*
 * Decay on the allocating path (no threads): at most once a period per
 * node; pending stays raised while anything waits, so that a later call
 * comes back. pgdat->kswapd_runs counts the passes here too.
 */
static uint32_t decay_last_pass[MAX_NUMNODES];

/* Is a node's inline decay pass due (threads off)? */
static bool decay_inline_due(void)
{
	uint32_t now = decay_now_ms();

	for (int nid = 0; nid < nr_node_ids; nid++) {
		uint32_t last = uatomic_read(&decay_last_pass[nid]);

		if (!last || (uint32_t)(now - last) >= decay_period_ms())
			return true;
	}
	return false;
}

static void decay_inline(pg_data_t *pgdat)
{
	uint32_t now = decay_now_ms();
	uint32_t last = uatomic_read(&decay_last_pass[pgdat->node_id]);

	if (last && (uint32_t)(now - last) < decay_period_ms()) {
		uatomic_set(&reclaim_work_pending, 1);
		return;
	}
	uatomic_set(&decay_last_pass[pgdat->node_id], now);
	if (decay_node(pgdat))
		uatomic_set(&reclaim_work_pending, 1);
	if (retype_node(pgdat))
		uatomic_set(&reclaim_work_pending, 1);
	uatomic_inc(&pgdat->kswapd_runs);
}

/*
 * The caller is at the outermost allocator level, where a signal handler
 * that allocates is not treated as nested: every signal is blocked while
 * this takes locks (zone->lock in inline decay, the slab's through the
 * shrinker, kswapd_lock), so that no handler waits for a lock its own
 * thread holds. With the threads off and no pass due, it returns at once.
 */
void reclaim_work_run(void)
{
	int saved_errno = errno;
	bool report;
	sigset_t old;

	if (uatomic_cmpxchg(&reclaim_work_busy, 0, 1) != 0)
		return;
	uatomic_set(&reclaim_work_pending, 0);
	cmm_smp_mb();
	/* Threads off: the report asked for is written here. */
	report = !core_config.reclaim_threads &&
		 uatomic_read(&report_requested);
	if (!core_config.reclaim_threads && !report && !decay_inline_due()) {
		uatomic_set(&reclaim_work_pending, 1);
		uatomic_set(&reclaim_work_busy, 0);
		return;
	}
	os_signals_block(&old);
	if (report)
		report_run();
	for (int nid = 0; nid < nr_node_ids; nid++) {
		if (core_config.reclaim_threads)
			kswapd_kick(NODE_DATA(nid));
		else
			decay_inline(NODE_DATA(nid));
	}
	os_signals_restore(&old);
	uatomic_set(&reclaim_work_busy, 0);
	errno = saved_errno;	/* the caller's call did not fail */
}

void kswapd_node_init(pg_data_t *pgdat)
{
	pthread_mutex_init(&pgdat->kswapd_lock, NULL);
	pgdat->kswapd_wait = 0;
	pgdat->kswapd_started = false;
	pgdat->kswapd_idle = false;
	pgdat->kswapd_wake = false;
	pgdat->kswapd_decay_kick = false;
	pgdat->kswapd_order = 0;
	pgdat->kswapd_highest_zoneidx = 0;
	pgdat->decay_clock = 0;
}

/*
 * In the child of fork(), alone: the parent's threads do not exist here.
 * Whatever they held (kswapd_lock, reclaim_work_busy) is made new; the
 * clocks stop, so the child's first free restarts decay with a thread of
 * its own.
 */
void vmscan_fork_child(void)
{
	for (int nid = 0; nid < nr_node_ids; nid++)
		kswapd_node_init(NODE_DATA(nid));
	reclaim_work_busy = 0;
	/* With a live report set up, the child's first allocator call
	 * starts its thread, so that it answers the signal too. */
	reclaim_work_pending = reclaim_report_fn != NULL;
	report_requested = 0;
}
