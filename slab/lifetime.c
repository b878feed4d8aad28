/*
 * lifetime.c - the lifetime classifier: call sites whose objects die young
 * allocate from MOVABLE slabs and pageblocks, the others from UNMOVABLE
 * ones, so that when a peak of short-lived objects dies whole pageblocks
 * empty and go back to the OS (DESIGN.md, "Lifetime classifier").
 * lifetime.h has the vocabulary and the fast path.
 *
 * Sites. lt_sites[] holds a record per key seen in a sample: (site, class)
 * for a primary site, (site, class, depth) for a sub-site of a split one,
 * with decaying counts of resolved samples and of survivors among them
 * (both halved when samples reaches LT_DECAY_AT), its prediction and its
 * split flag. Open addressing; a full neighbourhood evicts its least
 * sampled record (the prediction byte it set stays).
 *
 * Samples. lt_samples[] holds each sampled object not yet freed: address,
 * site record (slot and id: an evicted site's samples are dropped), birth
 * (ms), counted. Open addressing by address with backward-shift deletion.
 * A sample resolves once: at its free (died young if it lived less than
 * lifetime_ms, else survived), or when an aging pass finds it older than
 * lifetime_ms (survived; counted stays set, so its free counts nothing).
 * Counted samples are dropped when the table fills; their objects stay
 * marked sampled and their frees find no record.
 *
 * The decision (lt_decide): unknown sites start short-lived. Short -> long
 * at >= 8 samples with at least half surviving; long -> short only at
 * >= 32 samples with at most 1/8 surviving: a long-lived object in a
 * short-lived pageblock pins 2 MiB, the opposite mistake leaves a hole that
 * later long-lived objects fill. Between the two thresholds nothing moves,
 * so sampling noise does not flap. A primary record (a key, or a site over
 * all classes) whose samples are mixed (>= 16 samples, 15% to 85%
 * survivors) or hold a long-lived minority (>= 2 survivors, fewer than
 * half of >= 32 samples, lt_split_due) becomes SPLIT: the key's, or every key of the
 * site's, samples from then on go to sub-sites keyed by call depth, each
 * decided by the same rule (a sub-site does not split again). A split is
 * never undone; all it costs is a second byte load per allocation.
 *
 * Sites over all classes. Each key's samples also count in a record of
 * its site over all its size classes (class LT_CLASS_ANY, same rule), and
 * a sub-site's in one of its (site, depth) over all classes. A key whose
 * own record lacks evidence (fewer than LT_LONG_MIN samples, and not
 * long-lived) takes that record's type (for a sub key: only once the
 * (site, depth) record has evidence itself, else the type the key started
 * from): a site allocating objects of every size (a cache of strings)
 * would otherwise spread its few samples over 40 classes and stay
 * unknown, i.e. short-lived, for ever. Measured on bench/lifetime (a
 * cache filled by 1 allocation in 32, sizes 16 B..32 KiB log-uniform):
 * 830 samples in 3 peaks, about 26 of the cache's, over 40 classes.
 *
 * Prediction bytes are tagless: keys that hash alike share a byte. A byte
 * is UNMOVABLE if any tracked site on it is long-lived, else MOVABLE, with
 * LT_SPLIT if any primary site on it is split; a split byte with no
 * sub key of known type on it is LT_UNKNOWN (the primary byte's type
 * holds). A collision errs towards long-lived (lt_table_update). A split
 * site keeps the type it had, for the depths not sampled yet, and each
 * new sub-site starts from it, so that splitting a long-lived site does
 * not send its objects to short-lived pageblocks while the sub-sites
 * learn.
 *
 * Aging runs from the classifier's shrinker (the reclaim threads' decay
 * ticks and pressure) and from the sampling slow path when a pass is
 * overdue (LT_AGE_EVERY of lifetime_ms), since decay stops when no memory
 * waits to go back while samples still need to age.
 *
 * Locking: lt_lock protects the site and sample tables and the counters
 * not marked otherwise; it is a leaf (nothing else is taken under it but
 * the core's allocation of the tables at init). A caller that may hold any
 * allocator lock (kmalloc_nolock, kfree_nolock: a signal handler that
 * interrupted its own thread inside the allocator) never waits for it:
 * its allocations are not sampled, and a sampled object it frees while
 * the lock is busy keeps its record, which ages into a survivor later: one
 * wrong sample, never a wait. The prediction bytes are read without a lock
 * (a byte store is atomic) and written under lt_lock.
 *
 * Memory: the two tables come from the core's HIGHATOMIC reserve (the
 * allocator's metadata), at init and only with classifier:true; the
 * prediction bytes are static. Never malloc.
 */
#include <limits.h>
#include <string.h>

#include "lifetime.h"
#include "slab_internal.h"

/* ------------------------------------------------------------ tables */

#define LT_SITES_SHIFT		12
#define LT_NR_SITES		(1u << LT_SITES_SHIFT)
#define LT_SITE_PROBES		32
#define LT_SAMPLES_SHIFT	13
#define LT_NR_SAMPLES		(1u << LT_SAMPLES_SHIFT)
#define LT_MAX_SAMPLES		(LT_NR_SAMPLES / 2)	/* load at most 1/2 */

#define LT_DECAY_AT		64	/* halve a site's counts at this many */
#define LT_LONG_MIN		8	/* short -> long: samples */
#define LT_SHORT_MIN		32	/* long -> short: samples */
#define LT_SPLIT_MIN		16	/* mixed: samples */
#define LT_MINORITY_MIN		32	/* a long-lived minority: samples */
#define LT_MINORITY_SURVIVED	2	/* ... survivors among them */
#define LT_AGE_EVERY		4	/* an aging pass per lifetime_ms / this */
#define LT_CLASS_ANY		LT_NR_CLASSES	/* a site over all classes */

struct lt_site {
	const void *site;	/* NULL: empty slot */
	uintptr_t depth;	/* sub-sites: the call depth */
	uint32_t id;		/* unique per record (samples name it) */
	uint16_t class;
	bool sub;		/* a depth-keyed sub-site of a split site */
	bool split;		/* a primary site keyed by depth from now on */
	uint8_t migratetype;
	uint32_t samples;	/* resolved samples, decayed */
	uint32_t survived;	/* of them alive at lifetime_ms */
};

struct lt_sample {
	const void *addr;	/* NULL: empty slot */
	uint32_t birth;		/* ms (os_monotonic_ms, truncated) */
	uint32_t site;		/* slot in lt_sites */
	uint32_t site_id;
	bool counted;		/* counted as a survivor by aging */
};

uint8_t lifetime_table[(1u << LT_TABLE_SHIFT) + LT_NR_CLASSES];
uint8_t lifetime_split_table[1u << LT_SPLIT_SHIFT];
__thread long lifetime_countdown __attribute__((tls_model("initial-exec")));
static __thread uint64_t lt_rng __attribute__((tls_model("initial-exec")));
static __thread uint8_t lt_thread_hint __attribute__((tls_model("initial-exec")));

bool lifetime_enabled = true;
/* The mean sampling interval, in allocations (lifetime_sample). */
unsigned int lifetime_sample_mean = LIFETIME_SAMPLE_DEFAULT;

static pthread_mutex_t lt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lt_site *lt_sites;
static struct lt_sample *lt_samples;
static unsigned int lt_nr_samples;
static uint32_t lt_next_id = 1;
static uint64_t lt_last_age;

/*
 * What each record of lt_sites is, for the scans that recompute a
 * prediction byte (lt_primary_update_locked, lt_split_update_locked): LT_KEY_NONE
 * for an empty slot, LT_KEY_SUB for a sub-site, else a primary record's
 * lt_index(site, 0), the first of the bytes its classes cover. A scan
 * reads these 8 KiB instead of the 160 KiB of records and looks only at
 * the few records that can touch its bytes. Under lt_lock.
 */
#define LT_KEY_NONE		0xffffu
#define LT_KEY_SUB		0xfffeu
static uint16_t lt_site_key[LT_NR_SITES];

/* Counters; under lt_lock but hinted (atomic adds, any thread). */
static struct {
	unsigned long samples, sampled_short, sampled_long;
	unsigned long died_young, survived, reclassified;
	unsigned long hinted;
} lt_stat;

static const struct shrinker lifetime_shrinker;

static size_t lt_table_bytes(void)
{
	return LT_NR_SITES * sizeof(struct lt_site) +
	       LT_NR_SAMPLES * sizeof(struct lt_sample);
}

/* Bytes of heap pages holding the tables (never given back). */
size_t lifetime_meta_bytes(void)
{
	size_t bytes = (lt_table_bytes() + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);

	return CMM_LOAD_SHARED(lt_sites) ? bytes : 0;
}

static void lt_tables_clear(void)
{
	memset(lt_sites, 0, LT_NR_SITES * sizeof(*lt_sites));
	memset(lt_site_key, 0xff, sizeof(lt_site_key));	/* LT_KEY_NONE */
	memset(lt_samples, 0, LT_NR_SAMPLES * sizeof(*lt_samples));
	lt_nr_samples = 0;
	memset(lifetime_table, lifetime_enabled ? MIGRATE_MOVABLE : MIGRATE_UNMOVABLE,
	       sizeof(lifetime_table));
	memset(lifetime_split_table, LT_UNKNOWN, sizeof(lifetime_split_table));
}

void lifetime_init(void)
{
	void *tables = NULL;

	if (lifetime_enabled)
		tables = alloc_pages_exact(lt_table_bytes(), __GFP_HIGHATOMIC |
					   __GFP_NOFAIL | __GFP_NO_SHRINKERS);
	pthread_mutex_lock(&lt_lock);
	if (tables) {
		lt_samples = (struct lt_sample *)((struct lt_site *)tables +
						  LT_NR_SITES);
		CMM_STORE_SHARED(lt_sites, tables);
	} else {
		lifetime_enabled = false;	/* off, or no memory for it */
	}
	if (lt_sites)
		lt_tables_clear();
	else
		memset(lifetime_table, MIGRATE_UNMOVABLE, sizeof(lifetime_table));
	pthread_mutex_unlock(&lt_lock);
	if (lifetime_enabled)
		register_shrinker(&lifetime_shrinker);
}

#ifdef BUDDY_TEST_HOOKS
void lifetime_reset(void)
{
	pthread_mutex_lock(&lt_lock);
	if (lt_sites)
		lt_tables_clear();
	memset(&lt_stat, 0, sizeof(lt_stat));
	lt_last_age = 0;
	pthread_mutex_unlock(&lt_lock);
	lifetime_countdown = 0;
	cpu_cache_countdown_reset();
}
#endif

/* ------------------------------------------------------------- sites */

static unsigned int lt_site_home(const void *site, unsigned int class,
				 bool sub, uintptr_t depth)
{
	return (unsigned int)(lt_hash(site, class, sub ? depth + 1 : 0) >>
			      (64 - LT_SITES_SHIFT));
}

static bool lt_site_is(const struct lt_site *s, const void *site,
		       unsigned int class, bool sub, uintptr_t depth)
{
	return s->site == site && s->class == class && s->sub == sub &&
	       (!sub || s->depth == depth);
}

static void lt_table_update_locked(const struct lt_site *site);

/* The record of a key, or NULL. Caller holds lt_lock. */
static struct lt_site *lt_site_find_locked(const void *site, unsigned int class,
				      bool sub, uintptr_t depth)
{
	unsigned int home = lt_site_home(site, class, sub, depth);

	for (unsigned int i = 0; i < LT_SITE_PROBES; i++) {
		struct lt_site *s = &lt_sites[(home + i) & (LT_NR_SITES - 1)];

		if (!s->site)
			return NULL;
		if (lt_site_is(s, site, class, sub, depth))
			return s;
	}
	return NULL;
}

/* The record of a key, made if new (evicting the least sampled record of
 * its neighbourhood when that is full) with prediction mt. Caller holds
 * lt_lock. */
static struct lt_site *lt_site_get_locked(const void *site, unsigned int class,
				     bool sub, uintptr_t depth, int mt)
{
	unsigned int home = lt_site_home(site, class, sub, depth);
	struct lt_site *victim = NULL;

	for (unsigned int i = 0; i < LT_SITE_PROBES; i++) {
		struct lt_site *s = &lt_sites[(home + i) & (LT_NR_SITES - 1)];

		if (!s->site) {
			victim = s;
			break;
		}
		if (lt_site_is(s, site, class, sub, depth))
			return s;
		/* A split site's record stays: it says why its byte is
		 * LT_SPLIT. */
		if (!s->split && (!victim || s->samples < victim->samples))
			victim = s;
	}
	if (!victim)
		victim = &lt_sites[home];
	*victim = (struct lt_site){
		.site = site,
		.depth = sub ? depth : 0,
		.id = lt_next_id++,
		.class = (uint16_t)class,
		.sub = sub,
		.migratetype = (uint8_t)mt,
	};
	lt_site_key[victim - lt_sites] = sub ? LT_KEY_SUB :
					 (uint16_t)lt_index(site, 0);
	/* A new sub-site starts where its split site was; its byte is
	 * known from now on. (A new record over all classes has no
	 * evidence: it moves no byte.) */
	if (sub && class != LT_CLASS_ANY)
		lt_table_update_locked(victim);
	return victim;
}

/* Is a class record's own evidence enough, or does its site's over all
 * classes decide (lt_key_type)? */
static bool lt_confident(const struct lt_site *r)
{
	return r->split || r->samples >= LT_LONG_MIN ||
	       r->migratetype == MIGRATE_UNMOVABLE;
}

/* The type of the primary key (site, class): its own record's when that
 * has evidence enough, else its site's over all classes, else short-lived.
 * Caller holds lt_lock. */
static int lt_key_type_locked(const void *site, unsigned int class)
{
	const struct lt_site *r = lt_site_find_locked(site, class, false, 0), *w;

	if (r && lt_confident(r))
		return r->migratetype;
	w = lt_site_find_locked(site, LT_CLASS_ANY, false, 0);
	return w ? w->migratetype : MIGRATE_MOVABLE;
}

/*
 * Primary bytes lo .. lo + n - 1 (n <= LT_NR_CLASSES), each combined over
 * every key on it (the table is tagless): the keys of each site's class
 * range that covers it, and the tracked class records (a site record may
 * have been evicted). A primary record with key h covers bytes h ..
 * h + LT_NR_CLASSES - 1 at most, so only records with h in
 * (lo - LT_NR_CLASSES, lo + n) can matter; lt_site_key finds them.
 */
static void lt_primary_update_locked(uintptr_t lo, unsigned int n)
{
	bool split[LT_NR_CLASSES] = { false }, lng[LT_NR_CLASSES] = { false };

	for (unsigned int i = 0; i < LT_NR_SITES; i++) {
		uintptr_t h = lt_site_key[i];	/* the sentinels are > lo + n */
		const struct lt_site *s;

		if (h >= lo + n || h + LT_NR_CLASSES <= lo)
			continue;
		s = &lt_sites[i];
		for (uintptr_t idx = h > lo ? h : lo;
		     idx < lo + n && idx < h + LT_NR_CLASSES; idx++) {
			unsigned int class = (unsigned int)(idx - h);

			if (s->class != LT_CLASS_ANY && s->class != class)
				continue;
			split[idx - lo] |= s->split;
			lng[idx - lo] |= lt_key_type_locked(s->site, class) ==
					 MIGRATE_UNMOVABLE;
		}
	}
	for (unsigned int k = 0; k < n; k++)
		CMM_STORE_SHARED(lifetime_table[lo + k],
				 (lng[k] ? MIGRATE_UNMOVABLE : MIGRATE_MOVABLE) |
				 (split[k] ? LT_SPLIT : 0));
}

/* The type of the sub key (site, class, depth) of a split site: its own
 * record's when that has evidence enough, else its (site, depth)'s over
 * all classes when that has, else its own record's (the type it started
 * from), else -1: unknown, the primary byte's type holds. Caller holds
 * lt_lock. */
static int lt_sub_key_type_locked(const void *site, unsigned int class,
			     uintptr_t depth)
{
	const struct lt_site *r = lt_site_find_locked(site, class, true, depth), *w;

	if (r && lt_confident(r))
		return r->migratetype;
	w = lt_site_find_locked(site, LT_CLASS_ANY, true, depth);
	if (w && lt_confident(w))
		return w->migratetype;
	return r ? r->migratetype : -1;
}

/* The split bytes a scan recomputes, as a bitmap (a quick test for each
 * key's byte before the search of target[]). Under lt_lock. */
static uint64_t lt_split_targets[(1u << LT_SPLIT_SHIFT) / 64];

/*
 * Split bytes target[0 .. n - 1], each combined over every sub key on it:
 * the keys of each (site, depth)'s class range that land on it (the range
 * is hashed, not contiguous), and the tracked sub-site records. One pass
 * over the sub-site records for all n bytes.
 */
static void lt_split_update_locked(const unsigned int *target, unsigned int n)
{
	bool any[LT_NR_CLASSES] = { false }, lng[LT_NR_CLASSES] = { false };

	for (unsigned int k = 0; k < n; k++)
		lt_split_targets[target[k] / 64] |= 1ULL << (target[k] % 64);
	for (unsigned int i = 0; i < LT_NR_SITES; i++) {
		const struct lt_site *s;
		unsigned int c, end;

		if (lt_site_key[i] != LT_KEY_SUB)
			continue;
		s = &lt_sites[i];
		c = s->class == LT_CLASS_ANY ? 0 : s->class;
		end = s->class == LT_CLASS_ANY ? LT_NR_CLASSES : c + 1;
		for (; c < end; c++) {
			unsigned int idx = lt_split_index(s->site, c, s->depth);
			int mt;

			if (!(lt_split_targets[idx / 64] & (1ULL << (idx % 64))))
				continue;
			mt = lt_sub_key_type_locked(s->site, c, s->depth);
			for (unsigned int k = 0; k < n; k++) {
				if (target[k] != idx)
					continue;
				/* A class record makes its byte known even
				 * before it has evidence (it started from
				 * its split site's type). */
				any[k] |= s->class != LT_CLASS_ANY || mt >= 0;
				lng[k] |= mt == MIGRATE_UNMOVABLE;
			}
		}
	}
	for (unsigned int k = 0; k < n; k++) {
		lt_split_targets[target[k] / 64] = 0;
		CMM_STORE_SHARED(lifetime_split_table[target[k]],
				 !any[k] ? LT_UNKNOWN :
				 lng[k] ? MIGRATE_UNMOVABLE : MIGRATE_MOVABLE);
	}
}

/* The prediction bytes a record's change may move. Caller holds
 * lt_lock. */
static void lt_table_update_locked(const struct lt_site *site)
{
	bool any = site->class == LT_CLASS_ANY;
	unsigned int target[LT_NR_CLASSES], n = 0;

	if (!site->sub) {
		lt_primary_update_locked(lt_index(site->site, any ? 0 : site->class),
				    any ? LT_NR_CLASSES : 1);
		return;
	}
	for (unsigned int c = any ? 0 : site->class;
	     c < (any ? LT_NR_CLASSES : site->class + 1u); c++)
		target[n++] = lt_split_index(site->site, c, site->depth);
	lt_split_update_locked(target, n);
}

/* The rule (top of file): the next prediction of a site predicted mt with
 * these counts. */
static int lt_decide(int mt, uint32_t samples, uint32_t survived)
{
	if (mt == MIGRATE_MOVABLE)
		return samples >= LT_LONG_MIN && 2 * survived >= samples ?
		       MIGRATE_UNMOVABLE : MIGRATE_MOVABLE;
	return samples >= LT_SHORT_MIN && 8 * survived <= samples ?
	       MIGRATE_MOVABLE : MIGRATE_UNMOVABLE;
}

/*
 * Should a primary record with these counts (before the decay) split?
 * Mixed samples, or a long-lived minority: a few survivors among many
 * short-lived samples are what pins pageblocks, and a wrapper's look just
 * like that (one cache entry per 32 requests, bench/lifetime -w); a
 * short-lived minority in long-lived pageblocks only leaves holes. Counts
 * decay at LT_DECAY_AT, so 2 survivors are at least 3% of the window: a
 * real fraction, not one stray object. A site split on noise (a short
 * site with a rare survivor) costs its allocations a second byte load and
 * nothing else: each depth is decided by the same rule, and short-lived
 * samples keep it short. A split is never undone.
 */
static bool lt_split_due(uint32_t samples, uint32_t survived)
{
	if (samples >= LT_SPLIT_MIN && 100 * survived > 15 * samples &&
	    100 * survived < 85 * samples)
		return true;
	return samples >= LT_MINORITY_MIN && survived >= LT_MINORITY_SURVIVED &&
	       2 * survived < samples;
}

/* Count one resolved sample in record s and decide again; true if its
 * prediction (or whether it has evidence enough) changed. */
static bool lt_site_count(struct lt_site *s, bool survived)
{
	bool was_confident = lt_confident(s), split;
	int mt;

	s->samples++;
	s->survived += survived;
	/* Before the decay: a rare survivor counts in the window it came in. */
	split = !s->sub && !s->split && lt_split_due(s->samples, s->survived);
	if (s->samples >= LT_DECAY_AT) {
		s->samples /= 2;
		s->survived /= 2;
	}
	if (split) {
		s->split = true;
		lt_stat.reclassified++;
		return true;
	}
	mt = lt_decide(s->migratetype, s->samples, s->survived);
	if (mt != s->migratetype) {
		s->migratetype = (uint8_t)mt;
		lt_stat.reclassified++;
		return true;
	}
	return lt_confident(s) != was_confident;
}

/* One resolved sample of site s, and of its site over all classes (for
 * a sub-site: its (site, depth) over all classes). Caller holds lt_lock. */
static void lt_site_account_locked(struct lt_site *s, bool survived)
{
	const void *site = s->site;
	uintptr_t depth = s->depth;
	bool sub = s->sub;
	struct lt_site *w;

	if (survived)
		lt_stat.survived++;
	else
		lt_stat.died_young++;
	if (s->split)
		return;	/* samples born before the split */
	if (lt_site_count(s, survived))
		lt_table_update_locked(s);
	w = lt_site_get_locked(site, LT_CLASS_ANY, sub, depth, MIGRATE_MOVABLE);
	if (lt_site_count(w, survived))
		lt_table_update_locked(w);
}

/* ----------------------------------------------------------- samples */

static unsigned int lt_sample_home(const void *p)
{
	return (unsigned int)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ULL) >>
			      (64 - LT_SAMPLES_SHIFT));
}

/* The slot of p's sample, or -1. Caller holds lt_lock. */
static long lt_sample_find_locked(const void *p)
{
	unsigned int i = lt_sample_home(p);

	for (;; i = (i + 1) & (LT_NR_SAMPLES - 1)) {
		if (!lt_samples[i].addr)
			return -1;
		if (lt_samples[i].addr == p)
			return i;
	}
}

/* Is k, the home of an entry, cyclically in (i, j]? */
static bool lt_between(unsigned int i, unsigned int k, unsigned int j)
{
	return i <= j ? i < k && k <= j : i < k || k <= j;
}

/* Empty slot i, moving later entries of its cluster back (linear probing
 * without tombstones). Caller holds lt_lock. */
static void lt_sample_delete_locked(unsigned int i)
{
	unsigned int j = i;

	for (;;) {
		unsigned int k;

		j = (j + 1) & (LT_NR_SAMPLES - 1);
		if (!lt_samples[j].addr)
			break;
		k = lt_sample_home(lt_samples[j].addr);
		if (lt_between(i, k, j))
			continue;	/* it may not move before its home */
		lt_samples[i] = lt_samples[j];
		i = j;
	}
	lt_samples[i].addr = NULL;
	lt_nr_samples--;
}

/* The site record a sample names, or NULL if it was evicted since. */
static struct lt_site *lt_sample_site(const struct lt_sample *sm)
{
	struct lt_site *s = &lt_sites[sm->site];

	return s->site && s->id == sm->site_id ? s : NULL;
}

static void lt_age_locked(uint64_t now)
{
	uint32_t threshold = CMM_LOAD_SHARED(core_config.lifetime_ms);

	lt_last_age = now;
	if (!lt_nr_samples)
		return;
	for (unsigned int i = 0; i < LT_NR_SAMPLES; i++) {
		struct lt_sample *sm = &lt_samples[i];
		struct lt_site *s;

		if (!sm->addr || sm->counted ||
		    (uint32_t)now - sm->birth < threshold)
			continue;
		sm->counted = true;
		s = lt_sample_site(sm);
		if (s)
			lt_site_account_locked(s, true);
	}
}

/* Make room: age, then drop the samples counted already. Caller holds
 * lt_lock. */
static void lt_samples_compact_locked(uint64_t now)
{
	lt_age_locked(now);
	for (unsigned int i = 0; i < LT_NR_SAMPLES;) {
		if (lt_samples[i].addr && lt_samples[i].counted)
			lt_sample_delete_locked(i);	/* slot i holds another now */
		else
			i++;
	}
}

bool lifetime_record_at(const void *p, const void *site, unsigned int class,
		       uintptr_t depth, uint64_t now)
{
	struct lt_site *s;
	long slot;
	unsigned int i;
	uint8_t b;

	if (!lt_sites)
		return false;
	pthread_mutex_lock(&lt_lock);
	if ((uint32_t)now - (uint32_t)lt_last_age >=
	    CMM_LOAD_SHARED(core_config.lifetime_ms) / LT_AGE_EVERY)
		lt_age_locked(now);
	/* A record of p left by a lost death (lifetime.h, nolock): p was
	 * freed since, so that sample died; count nothing, replace it. */
	slot = lt_sample_find_locked(p);
	if (slot >= 0)
		lt_sample_delete_locked((unsigned int)slot);
	if (lt_nr_samples >= LT_MAX_SAMPLES)
		lt_samples_compact_locked(now);
	if (lt_nr_samples >= LT_MAX_SAMPLES) {
		pthread_mutex_unlock(&lt_lock);
		return false;
	}
	/* The key the fast path uses: the sub-site when the byte says
	 * split (this site's or a colliding one's); a new sub-site starts
	 * with the type the fast path gave it so far. */
	b = lifetime_table[lt_index(site, class)];
	if (b & LT_SPLIT) {
		b = lt_split_lookup(b, site, class, depth);
		s = lt_site_get_locked(site, class, true, depth, b);
	} else {
		b &= LT_MT_MASK;
		s = lt_site_get_locked(site, class, false, 0, MIGRATE_MOVABLE);
	}
	for (i = lt_sample_home(p); lt_samples[i].addr;
	     i = (i + 1) & (LT_NR_SAMPLES - 1))
		;
	lt_samples[i] = (struct lt_sample){
		.addr = p,
		.birth = (uint32_t)now,
		.site = (uint32_t)(s - lt_sites),
		.site_id = s->id,
	};
	lt_nr_samples++;
	lt_stat.samples++;
	/* By the type the allocation got: the key's own prediction, or
	 * its site's while the key has too few samples of its own. */
	if (b == MIGRATE_UNMOVABLE)
		lt_stat.sampled_long++;
	else
		lt_stat.sampled_short++;
	pthread_mutex_unlock(&lt_lock);
	return true;
}

/* Caller holds lt_lock. */
static bool lt_free_locked(const void *p, uint64_t now)
{
	long slot = lt_sample_find_locked(p);
	struct lt_sample sm;
	struct lt_site *s;

	if (slot < 0)
		return false;
	sm = lt_samples[slot];
	lt_sample_delete_locked((unsigned int)slot);
	s = lt_sample_site(&sm);
	if (!sm.counted && s)
		lt_site_account_locked(s, (uint32_t)now - sm.birth >=
				     CMM_LOAD_SHARED(core_config.lifetime_ms));
	return true;
}

#ifdef BUDDY_TEST_HOOKS
bool lifetime_free_at(const void *p, uint64_t now)
{
	bool found;

	if (!lt_sites)
		return false;
	pthread_mutex_lock(&lt_lock);
	found = lt_free_locked(p, now);
	pthread_mutex_unlock(&lt_lock);
	return found;
}
#endif

void lifetime_age_at(uint64_t now)
{
	if (!lt_sites)
		return;
	pthread_mutex_lock(&lt_lock);
	lt_age_locked(now);
	pthread_mutex_unlock(&lt_lock);
}

/* ------------------------------------------------ the allocation paths */

/* The next sampling interval: uniform in [1, 2 * mean - 1]. */
static long lt_interval(void)
{
	uint64_t x = lt_rng;
	unsigned int mean = CMM_LOAD_SHARED(lifetime_sample_mean);

	if (!x)
		x = ((uintptr_t)&lt_rng * 0x9e3779b97f4a7c15ULL) ^
		    os_monotonic_ms() ^ 0x2545f4914f6cdd1dULL;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	lt_rng = x;
	if (mean <= 1)
		return 1;
	return 1 + (long)(x % (2 * (uint64_t)mean - 1));
}

/* Restart the countdown that lifetime_countdown_due() counts down. */
static void lt_countdown_set(long n)
{
	if (CMM_LOAD_SHARED(cpu_cache_state.malloc_fast) == 1) {
		int32_t *cd = cc_countdown();

		if (cd) {
			*cd = n > INT32_MAX ? INT32_MAX : (int32_t)n;
			return;
		}
	}
	lifetime_countdown = n - 1;	/* the n-th allocation finds 0 */
}

int lifetime_slow(struct lifetime_req *req, struct alloc_site site,
		  unsigned int class, bool nolock)
{
	unsigned int hint = lt_thread_hint;

	req->sample = false;
	req->hinted = false;
	if (hint) {
		req->hinted = true;
		lifetime_countdown = 0;	/* every allocation comes here */
		lifetime_count_hint();
		return req->migratetype = (int)hint - 1;
	}
	req->site = site.ret;
	req->class = class;
	req->depth = lt_depth(site.sp);
	req->migratetype = lifetime_lookup(req->site, class, req->depth);
	if (!lifetime_enabled) {
		lt_countdown_set(LONG_MAX);	/* never again */
		return req->migratetype;
	}
	if (nolock)
		return req->migratetype;	/* the next one samples */
	lt_countdown_set(lt_interval());
	req->sample = true;
	return req->migratetype;
}

void lifetime_count_hint(void)
{
	uatomic_inc(&lt_stat.hinted);
}

bool lifetime_record(const struct lifetime_req *req, const void *p)
{
	return lifetime_record_at(p, req->site, req->class, req->depth,
				 os_monotonic_ms());
}

void lifetime_sampled_free(const void *p, bool nolock)
{
	if (!lt_sites)
		return;
	if (nolock) {
		if (pthread_mutex_trylock(&lt_lock) != 0)
			return;	/* the record ages into a survivor */
	} else {
		pthread_mutex_lock(&lt_lock);
	}
	lt_free_locked(p, os_monotonic_ms());
	pthread_mutex_unlock(&lt_lock);
}

unsigned int kmalloc_thread_hint(unsigned int hint)
{
	unsigned int old = lt_thread_hint;

	lt_thread_hint = (uint8_t)hint;
	/* The per-CPU countdown cannot send one thread to the slow path:
	 * from now on every thread counts its own (lifetime.h). Before its
	 * next allocation, so that it is this thread's that runs out. */
	if (hint)
		cpu_cache_thread_hinted();
	lifetime_countdown = 0;	/* the slow path sees the change */
	return old;
}

/* The classifier's shrinker: no pages to give back, but the reclaim
 * threads' decay ticks age the samples (top of file). */
static unsigned long lifetime_shrink_scan(int nid, bool idle_only)
{
	(void)idle_only;
	if (nid <= 0)
		lifetime_age_at(os_monotonic_ms());
	return 0;
}

static const struct shrinker lifetime_shrinker = {
	.name = "lifetime",
	.scan_objects = lifetime_shrink_scan,
};

/* -------------------------------------------------------- stats, fork */

void lifetime_stats_read(struct lifetime_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->enabled = CMM_LOAD_SHARED(lifetime_enabled);
	st->hinted = uatomic_read(&lt_stat.hinted);
	if (!lt_sites)
		return;
	pthread_mutex_lock(&lt_lock);
	st->samples = lt_stat.samples;
	st->sampled_short = lt_stat.sampled_short;
	st->sampled_long = lt_stat.sampled_long;
	st->died_young = lt_stat.died_young;
	st->survived = lt_stat.survived;
	st->reclassified = lt_stat.reclassified;
	for (unsigned int i = 0; i < LT_NR_SITES; i++) {
		const struct lt_site *s = &lt_sites[i];

		if (!s->site)
			continue;
		st->sites++;
		if (s->split)
			st->sites_split++;
		else if (s->migratetype == MIGRATE_UNMOVABLE)
			st->sites_long++;
	}
	pthread_mutex_unlock(&lt_lock);
}

/* Does record a come before record b (most samples first, then slot)? */
static bool lt_site_before(const struct lt_site *a, unsigned int ia,
			   const struct lt_site *b, unsigned int ib)
{
	return a->samples != b->samples ? a->samples > b->samples : ia < ib;
}

unsigned int lifetime_sites_read(struct lifetime_site *out, unsigned int max)
{
	unsigned int n = 0;
	long prev = -1;

	if (!lt_sites)
		return 0;
	pthread_mutex_lock(&lt_lock);
	/* A selection, one pass per entry: no memory to sort in. */
	for (; n < max; n++) {
		long best = -1;

		for (unsigned int i = 0; i < LT_NR_SITES; i++) {
			const struct lt_site *s = &lt_sites[i];

			if (!s->site)
				continue;
			if (prev >= 0 && !lt_site_before(&lt_sites[prev],
							 (unsigned int)prev, s, i))
				continue;
			if (best < 0 || lt_site_before(s, i, &lt_sites[best],
						       (unsigned int)best))
				best = i;
		}
		if (best < 0)
			break;
		prev = best;
		out[n] = (struct lifetime_site){
			.site = lt_sites[best].site,
			.size = lt_sites[best].class == LT_CLASS_ANY ? 0 :
				lt_sites[best].class < NR_SIZE_CLASSES ?
				kmalloc_size[lt_sites[best].class] :
				(unsigned int)(PAGE_SIZE <<
					(lt_sites[best].class - NR_SIZE_CLASSES)),
			.depth = (unsigned int)lt_sites[best].depth,
			.samples = lt_sites[best].samples,
			.survived = lt_sites[best].survived,
			.migratetype = lt_sites[best].split ? -1 :
				       lt_sites[best].migratetype,
		};
	}
	pthread_mutex_unlock(&lt_lock);
	return n;
}

bool lifetime_fork_busy(void)
{
	return !fork_lock_free(&lt_lock);
}

/* In the child: a fresh lock; with abandon the samples name blocks of the
 * abandoned heap (their frees do nothing): forget them, and the site
 * table too, which may be half-updated if lt_lock was held. */
void lifetime_fork_child(bool abandon)
{
	pthread_mutex_init(&lt_lock, NULL);
	if (abandon && lt_sites)
		lt_tables_clear();
}
