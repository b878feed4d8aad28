/*
 * model.c - the randomized model-based test of the buddy allocator.
 *
 * A seeded sequence of operations (BUDDY_MODEL_OPS, default 1,000,000):
 * allocations of every order 0..10 and every migrate type (UNMOVABLE,
 * MOVABLE, RECLAIMABLE, and the HIGHATOMIC reserve), in the NORMAL and LOW32
 * zones, with and without __GFP_ZERO; exact allocations of any byte size up
 * to 4 MiB, some with an alignment; in-place resizes of exact allocations;
 * frees in random order. The zones are held to a few sections, and the live
 * target alternates between calm phases and pressure phases that ask for
 * more than the zones hold, so allocations fail with ENOMEM and the
 * fallback, stealing, growth and reserve paths all run.
 *
 * The reference model is this file's own: it records every live allocation
 * (address, pages, order, type asked for, zone, a pattern key), a bitmap of
 * the pages they own, the sections each zone has onlined and which
 * pageblocks are in the HIGHATOMIC reserve, and it predicts what the
 * allocator must do from that record alone: its own order arithmetic
 * (model_order), its own free-page accounting (a free aligned range of
 * 2^order pages is one the bitmap says nobody owns, in a section of the
 * zone) and its own reserve. Nothing it predicts with comes from the
 * core's functions or free lists; the core's state is only read to be
 * compared with the prediction.
 *
 * The reserve follows page_alloc.c's rules: a __GFP_HIGHATOMIC allocation
 * that lands outside the reserve reserves its pageblock (all of them for
 * order >= pageblock_order) while the zone holds less than 1% + one
 * pageblock; a reserved pageblock whose pages are all free again leaves the
 * reserve. One choice the model cannot predict: when an ordinary
 * allocation finds nothing outside the reserve, the core gives reserved
 * pageblocks back in free-list order. The model predicts when that may
 * happen (no zone could serve it otherwise) and then accepts the core's
 * choice among the blocks it has reserved, checking what it can: only
 * reserved blocks of the zones the allocation may use leave the reserve,
 * only then, and after a failure none with a free page is left. Every full
 * check compares the model's reserve, sections and counts with the core's.
 * After every step:
 *   - pages given back (a free, an exact allocation's tail, a shrink) are
 *     in free blocks that have no free buddy of their order: merged;
 *   - a new allocation is aligned to its size, inside an online section of
 *     a zone it may come from (LOW32: below 4 GiB), heads a block with the
 *     right flags, and overlaps no live allocation (the bitmap);
 *   - __GFP_ZERO memory reads as zero; every allocation gets a pattern in
 *     the first and last word of each page, verified when it is freed or
 *     shrunk, so one allocation written over by another is caught;
 *   - a failed allocation fails with ENOMEM, and only when every zone it
 *     may use is at its section limit with no free aligned range big enough
 *     (reserved pageblocks included: an ordinary allocation takes the
 *     reserve as a last resort);
 *   - a NORMAL request lands in LOW32 only when NORMAL had no such range
 *     outside the reserve and could not grow;
 *   - the head page carries the order the model computes;
 *   - a resize succeeds exactly when the model says it can (shrinking
 *     always; growing when the pages after it are free, in the section, and
 *     not reserved);
 *   - the zone's counters agree: sum nr_free[o] << o == sum nr_free_type[]
 *     == nr_free_pages, and nr_free_pages + live pages == present_pages.
 * Every MODEL_CHECK_EVERY steps (and at every phase change) the model's
 * full checker (model_check.c) walks every free list of every zone against
 * the live allocations: every free page on exactly one list, counts agree,
 * no free buddies unmerged, flags consistent; every CORE_CHECK_EVERY steps
 * the core's own check_all_zones() runs too. At every phase change every
 * free page is given back to the OS (release_free_pages, malloc_trim's
 * walk) and every live page must still hold its pattern. At the end everything is
 * freed, every zone must be back to max-order blocks only, and the
 * buddyinfo report is printed as TAP diagnostics.
 *
 * Reproducible: the seed is BUDDY_TEST_SEED, else argv[1], else fixed
 * (TEST_SEED, the harness's variable, overrides all three); it is printed
 * at the start and in every failure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "unit_util.h"

#define NORMAL_SECTIONS		2
#define LOW32_SECTIONS		1
#define DEFAULT_SEED		20240601ULL
#define DEFAULT_OPS		1000000UL
#define PHASE_OPS		40000UL	/* ops per phase, calm or pressure */
#define MODEL_CHECK_EVERY	25UL	/* full free-list walk */
#define SCAN_EVERY		8	/* of those, also every descriptor */
#define CORE_CHECK_EVERY	1000UL	/* core/check.c */
#define MAX_LIVE		65536
#define LOW32_LIMIT		(1ULL << 32)

/* ---------------------------------------------------------------- model */

enum kind { K_PAGES, K_EXACT };

static struct zone *zones[MAX_NR_ZONES];

/* The sections a zone may online: the limits this test sets. */
static unsigned long model_max_sections(enum zone_type zi)
{
	return zi == ZONE_LOW32 ? LOW32_SECTIONS : NORMAL_SECTIONS;
}


struct m_alloc {
	uint64_t id;		/* pattern key */
	size_t size;		/* K_EXACT: bytes, as freed */
	enum kind kind;
	enum zone_type zone;
	bool zeroed;
};

static struct {
	uint64_t seed, rng;
	unsigned long ops, op;
	/* live[i] and meta[i] describe the same allocation. */
	struct mc_live live[MAX_LIVE];
	struct m_alloc meta[MAX_LIVE];
	size_t nr_live;
	unsigned long live_pages[MAX_NR_ZONES];
	uint64_t next_id;
	/* The model's page ownership map, one bitmap per section seen, and
	 * which of its pageblocks the model holds in the HIGHATOMIC reserve. */
	struct {
		unsigned long section_nr;
		enum zone_type zone;
		uint64_t map[PAGES_PER_SECTION / 64];
		bool reserved[PAGEBLOCKS_PER_SECTION];
	} sec[NORMAL_SECTIONS + LOW32_SECTIONS];
	int nr_sec;
	unsigned long nr_sections[MAX_NR_ZONES];	/* seen per zone */
	/* pages reserved, as the core's nr_reserved_highatomic */
	unsigned long nr_reserved[MAX_NR_ZONES];
	bool pressure;
	bool failed;		/* stop at the first broken step */
	/* what happened, for the summary */
	unsigned long nr_alloc, nr_alloc_fail, nr_free, nr_resize, nr_resize_no;
	unsigned long nr_by_order[NR_PAGE_ORDERS], nr_by_type[MIGRATE_TYPES];
	unsigned long nr_low32, nr_fell_to_low32, nr_zero, nr_exact, nr_aligned;
	unsigned long nr_full_checks, nr_core_checks;
	unsigned long nr_reserve_drops, nr_type_changes, nr_released, nr_drains;
	uint8_t last_types[NORMAL_SECTIONS + LOW32_SECTIONS][PAGEBLOCKS_PER_SECTION];
	unsigned long last_types_nr[NORMAL_SECTIONS + LOW32_SECTIONS];
} m;

#define model_fail(fmt, ...) do {					\
	test_fail("seed %" PRIu64 " op %lu: " fmt, m.seed, m.op,	\
		  ##__VA_ARGS__);					\
	m.failed = true;						\
} while (0)

static void report_violation(void *opaque, const char *line)
{
	test_diag("seed %" PRIu64 " op %lu: %s: %s", m.seed, m.op,
		  (const char *)opaque, line);
}

static uint64_t rnd(uint64_t n)
{
	return rand_below(&m.rng, n);
}

static bool chance(unsigned int percent)
{
	return rnd(100) < percent;
}

/* ---------------------------------------------------------- page bitmap */

/* The model's record of pfn's section, -1 if it has none. */
static int section_index(unsigned long pfn)
{
	unsigned long nr = pfn_to_section_nr(pfn);

	for (int i = 0; i < m.nr_sec; i++)
		if (m.sec[i].section_nr == nr)
			return i;
	return -1;
}

/*
 * An allocation landed in zi at pfn: a section the model has not seen is
 * one the zone just onlined (the core onlines a section only when nothing
 * fits, so the allocation that caused it lands in it). It starts with
 * every page free and no pageblock reserved.
 */
static void section_seen(unsigned long pfn, enum zone_type zi)
{
	int i = section_index(pfn);

	if (i >= 0) {
		if (m.sec[i].zone != zi)
			model_fail("pfn %#lx: section of zone %d now in "
				   "zone %d", pfn, m.sec[i].zone, zi);
		return;
	}
	if (m.nr_sec == NORMAL_SECTIONS + LOW32_SECTIONS ||
	    m.nr_sections[zi] == model_max_sections(zi)) {
		model_fail("pfn %#lx in a section beyond the zones' limits", pfn);
		return;
	}
	memset(&m.sec[m.nr_sec], 0, sizeof(m.sec[0]));
	m.sec[m.nr_sec].section_nr = pfn_to_section_nr(pfn);
	m.sec[m.nr_sec].zone = zi;
	m.nr_sec++;
	m.nr_sections[zi]++;
}

static uint64_t *section_map(unsigned long pfn)
{
	int i = section_index(pfn);

	if (i < 0) {
		model_fail("pfn %#lx in a section the model never saw", pfn);
		return NULL;
	}
	return m.sec[i].map;
}

/* How many pages of [pfn, pfn + n) the model holds live. */
static unsigned long owned_in(unsigned long pfn, unsigned long n)
{
	uint64_t *map = section_map(pfn);
	unsigned long idx = pfn & (PAGES_PER_SECTION - 1), c = 0;

	if (!map)
		return n;
	for (unsigned long i = idx; i < idx + n; i++)
		c += (map[i / 64] >> (i & 63)) & 1;
	return c;
}

static void set_owned(unsigned long pfn, unsigned long n, bool owned)
{
	uint64_t *map = section_map(pfn);
	unsigned long idx = pfn & (PAGES_PER_SECTION - 1);

	if (!map)
		return;
	for (unsigned long i = idx; i < idx + n; i++) {
		if (owned)
			map[i / 64] |= 1ULL << (i & 63);
		else
			map[i / 64] &= ~(1ULL << (i & 63));
	}
}

/* The live allocation holding pfn, for messages. */
static long live_holding(unsigned long pfn)
{
	for (size_t i = 0; i < m.nr_live; i++) {
		unsigned long s = m.live[i].addr >> PAGE_SHIFT;

		if (pfn >= s && pfn < s + m.live[i].nr_pages)
			return (long)i;
	}
	return -1;
}

/* -------------------------------------------------------------- pattern */

static uint64_t pattern(uint64_t id, unsigned long page, int end)
{
	uint64_t s = id * 0x100000001b3ULL + page * 2 + (uint64_t)end;

	return splitmix64(&s) | 1;	/* never zero */
}

static void write_pattern(size_t i, unsigned long from, unsigned long to)
{
	char *base = (char *)m.live[i].addr;

	for (unsigned long p = from; p < to; p++) {
		uint64_t *w = (uint64_t *)(base + p * PAGE_SIZE);

		w[0] = pattern(m.meta[i].id, p, 0);
		w[PAGE_SIZE / 8 - 1] = pattern(m.meta[i].id, p, 1);
	}
}

static bool verify_pattern(size_t i, unsigned long from, unsigned long to)
{
	char *base = (char *)m.live[i].addr;

	for (unsigned long p = from; p < to; p++) {
		uint64_t *w = (uint64_t *)(base + p * PAGE_SIZE);

		for (int end = 0; end < 2; end++) {
			uint64_t got = end ? w[PAGE_SIZE / 8 - 1] : w[0];
			uint64_t want = pattern(m.meta[i].id, p, end);

			if (got != want) {
				model_fail("allocation %#lx (%lu pages, id %" PRIu64
					   "): page %lu %s word is %#" PRIx64
					   ", wrote %#" PRIx64 ": written over",
					   m.live[i].addr, m.live[i].nr_pages,
					   m.meta[i].id, p, end ? "last" : "first",
					   got, want);
				return false;
			}
		}
	}
	return true;
}

/* __GFP_ZERO: small allocations whole, large ones at every word a pattern
 * may have been left in (the first and last of each page). */
static void verify_zero(size_t i)
{
	const char *base = (const char *)m.live[i].addr;
	unsigned long nr = m.live[i].nr_pages;

	for (unsigned long p = 0; p < nr; p++) {
		const uint64_t *w = (const uint64_t *)(base + p * PAGE_SIZE);

		for (unsigned long k = 0; k < PAGE_SIZE / 8;
		     k += nr <= 4 ? 1 : PAGE_SIZE / 8 - 1)
			if (w[k]) {
				model_fail("__GFP_ZERO allocation %#lx (%lu pages): "
					   "page %lu word %lu is %#" PRIx64,
					   m.live[i].addr, nr, p, k, w[k]);
				return;
			}
	}
}

/* ---------------------------------------------------------------- zones */


/* ---------------------------------------------------------- predictions */

/* The order of the smallest block of at least nr pages, computed here so
 * that a wrong get_order() in the core cannot agree with itself. */
static unsigned int model_order(unsigned long nr)
{
	unsigned int order = 0;

	while ((1UL << order) < nr)
		order++;
	return order;
}

/* Does any pageblock of [idx, idx + n) of section record i belong to the
 * model's reserve? */
static bool range_reserved(int i, unsigned long idx, unsigned long n)
{
	for (unsigned long b = idx >> pageblock_order;
	     b <= (idx + n - 1) >> pageblock_order; b++)
		if (m.sec[i].reserved[b])
			return true;
	return false;
}

/* Has word x of a page bitmap (bit set: page owned) an aligned run of n
 * clear bits, n a power of two below 64? Folding ORs each run of n bits
 * into the run's first bit. */
static bool word_has_free_run(uint64_t x, unsigned int n)
{
	uint64_t heads = 0;

	for (unsigned int shift = 1; shift < n; shift <<= 1)
		x |= x >> shift;
	for (unsigned int b = 0; b < 64; b += n)
		heads |= 1ULL << b;
	return (~x & heads) != 0;
}

/* Does the model know an aligned run of 2^order free pages in a section of
 * zone zi, outside the reserve unless with_reserve? A free aligned run of
 * at most a pageblock is one free block of that order or larger (merging
 * inside a pageblock is never refused); a run of two pageblocks is free
 * only if neither is reserved, and then they merge too. */
static bool model_free_run(enum zone_type zi, unsigned int order,
			   bool with_reserve)
{
	const unsigned long words = PAGES_PER_SECTION / 64;

	for (int i = 0; i < m.nr_sec; i++) {
		const uint64_t *map = m.sec[i].map;

		if (m.sec[i].zone != zi)
			continue;
		if (order >= 6) {
			unsigned long step = 1UL << (order - 6), k;

			for (unsigned long w = 0; w < words; w += step) {
				if (!with_reserve && range_reserved(i, w * 64, step * 64))
					continue;
				for (k = 0; k < step && !map[w + k]; k++)
					;
				if (k == step)
					return true;
			}
		} else {
			for (unsigned long w = 0; w < words; w++) {
				if (!with_reserve && range_reserved(i, w * 64, 64))
					continue;
				if (word_has_free_run(map[w], 1u << order))
					return true;
			}
		}
	}
	return false;
}

/* Could zone zi serve an order, by the model's record: it may still online
 * a section, or the model knows a free run there. */
static bool model_could_serve(enum zone_type zi, unsigned int order,
			      bool with_reserve)
{
	return m.nr_sections[zi] < model_max_sections(zi) ||
	       model_free_run(zi, order, with_reserve);
}

/* ... any zone that gfp allows. */
static bool model_could_serve_gfp(gfp_t gfp, unsigned int order,
				  bool with_reserve)
{
	return model_could_serve(ZONE_LOW32, order, with_reserve) ||
	       (!(gfp & __GFP_LOW32) &&
		model_could_serve(ZONE_NORMAL, order, with_reserve));
}

/* A __GFP_HIGHATOMIC allocation of a block of 2^order pages landed at pfn
 * in zi: unless it came from the reserve, its pageblock joins it (every
 * pageblock of a larger block), while the zone reserves less than 1% of
 * its pages plus one pageblock. */
static void model_reserve(enum zone_type zi, unsigned long pfn,
			  unsigned int order)
{
	int i = section_index(pfn);
	unsigned long idx = pfn & (PAGES_PER_SECTION - 1);
	unsigned long max = m.nr_sections[zi] * PAGES_PER_SECTION / 100 +
			    pageblock_nr_pages;

	if (i < 0 || m.sec[i].reserved[idx >> pageblock_order] ||
	    m.nr_reserved[zi] >= max)
		return;
	if (order < pageblock_order) {
		m.sec[i].reserved[idx >> pageblock_order] = true;
		m.nr_reserved[zi] += pageblock_nr_pages;
		return;
	}
	for (unsigned long b = idx >> pageblock_order;
	     b < (idx + (1UL << order)) >> pageblock_order; b++)
		m.sec[i].reserved[b] = true;
	m.nr_reserved[zi] += 1UL << order;
}

/* Pages [pfn, pfn + n) went back: a reserved pageblock with every page
 * free again leaves the reserve. */
static void model_release_reserve(unsigned long pfn, unsigned long n)
{
	int i = section_index(pfn);
	unsigned long idx = pfn & (PAGES_PER_SECTION - 1);

	if (i < 0 || !n)
		return;
	for (unsigned long b = idx >> pageblock_order;
	     b <= (idx + n - 1) >> pageblock_order; b++) {
		unsigned long first = (pfn & ~(PAGES_PER_SECTION - 1)) +
				      (b << pageblock_order);

		if (m.sec[i].reserved[b] && !owned_in(first, pageblock_nr_pages)) {
			m.sec[i].reserved[b] = false;
			m.nr_reserved[m.sec[i].zone] -= pageblock_nr_pages;
		}
	}
}

/* The core's type of pageblock b of section record i, read under the
 * zone's lock: what the model compares its reserve with. */
static int core_block_type(int i, unsigned long b)
{
	struct zone *zone = zones[m.sec[i].zone];
	struct mem_section *ms =
		pfn_to_section(m.sec[i].section_nr << PFN_SECTION_SHIFT);
	int mt;

	zone_lock(zone);
	mt = ms ? ms->pageblock_flags[b] : -1;
	zone_unlock(zone);
	return mt;
}

/*
 * An ordinary allocation that, by the model, nothing outside the reserve
 * could serve: the core gave reserved pageblocks back, in its free lists'
 * order, which the model does not keep. Take the core's choice, and check
 * it: only reserved pageblocks of the zones gfp allows left the reserve,
 * and after a failure no reserved pageblock there has a free page left.
 */
static void model_observe_unreserve(gfp_t gfp, bool failed)
{
	for (int i = 0; i < m.nr_sec && !m.failed; i++) {
		enum zone_type zi = m.sec[i].zone;
		bool allowed = zi == ZONE_LOW32 || !(gfp & __GFP_LOW32);
		unsigned long base = m.sec[i].section_nr << PFN_SECTION_SHIFT;

		for (unsigned long b = 0; b < PAGEBLOCKS_PER_SECTION; b++) {
			unsigned long first = base + (b << pageblock_order);

			if (!m.sec[i].reserved[b])
				continue;
			if (core_block_type(i, b) != MIGRATE_HIGHATOMIC) {
				if (!allowed)
					model_fail("pageblock %#lx of %s left the "
						   "reserve for a LOW32 allocation",
						   first, zones[zi]->name);
				m.sec[i].reserved[b] = false;
				m.nr_reserved[zi] -= pageblock_nr_pages;
				m.nr_reserve_drops++;
			} else if (failed && allowed &&
				   owned_in(first, pageblock_nr_pages) <
				   pageblock_nr_pages) {
				model_fail("an ordinary allocation failed, but "
					   "reserved pageblock %#lx of %s still "
					   "has free pages", first,
					   zones[zi]->name);
			}
		}
	}
}

/* The model's sections and reserve against the core's: counts every step,
 * every pageblock's type at the full checks. */
static void check_model_counts(void)
{
	for (int z = 0; z < MAX_NR_ZONES && !m.failed; z++) {
		unsigned long sections, reserved;

		zone_lock(zones[z]);
		sections = zones[z]->nr_sections;
		reserved = zones[z]->nr_reserved_highatomic;
		zone_unlock(zones[z]);
		if (sections != m.nr_sections[z] || reserved != m.nr_reserved[z])
			model_fail("zone %s: %lu sections, %lu pages reserved; "
				   "the model has %lu and %lu", zones[z]->name,
				   sections, reserved, m.nr_sections[z],
				   m.nr_reserved[z]);
	}
}

static void check_model_reserve(void)
{
	for (int i = 0; i < m.nr_sec && !m.failed; i++)
		for (unsigned long b = 0; b < PAGEBLOCKS_PER_SECTION; b++) {
			int mt = core_block_type(i, b);

			if ((mt == MIGRATE_HIGHATOMIC) != m.sec[i].reserved[b]) {
				model_fail("pageblock %#lx of %s is %s; the model "
					   "has it %sin the reserve",
					   (m.sec[i].section_nr << PFN_SECTION_SHIFT) +
					   (b << pageblock_order),
					   zones[m.sec[i].zone]->name,
					   mt >= 0 ? migratetype_name(mt) : "?",
					   m.sec[i].reserved[b] ? "" : "not ");
				return;
			}
		}
}

/* The cheap check of every step, for both zones. */
static void check_counters(void)
{
	for (int z = 0; z < MAX_NR_ZONES; z++)
		if (mc_check_counters(zones[z], m.live_pages[z], report_violation,
				      "counters")) {
			model_fail("zone %s: counters disagree (above)",
				   zones[z]->name);
			return;
		}
	check_model_counts();
}

/*
 * Give every free page back to the OS (release_free_pages, what malloc_trim
 * does) and prove that no live page went with it: a released page reads as
 * zero, and every live page holds a non-zero pattern.
 */
static void release_free(void)
{
	unsigned long free_pages = 0, released;

	/* Free by the model's own count: its sections less its live pages
	 * (on the buddy lists or the per-CPU lists, which the release
	 * drains first). */
	for (int z = 0; z < MAX_NR_ZONES; z++)
		free_pages += m.nr_sections[z] * PAGES_PER_SECTION - m.live_pages[z];
	released = release_free_pages();

	m.nr_released += released;
	if (released > free_pages)
		model_fail("release_free_pages() released %lu pages, but only %lu "
			   "are free", released, free_pages);
	for (size_t i = 0; i < m.nr_live && !m.failed; i++)
		verify_pattern(i, 0, m.live[i].nr_pages);
	check_counters();
}

/* The per-step merge check after pages went back to the free lists. */
static void check_merged(enum zone_type zi, unsigned long pfn, unsigned long n)
{
	if (n && mc_check_merged(zones[zi], pfn, n, report_violation, "merge check"))
		model_fail("pages %#lx + %lu given back, not merged (above)", pfn, n);
}

/* Evidence that fallback claims and the reserve ran: pageblocks whose type
 * changed since the last full check (each section by its number). */
static void count_type_changes(void)
{
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		zone_lock(zones[z]);
		for (struct mem_section *ms = zones[z]->sections; ms;
		     ms = ms->zone_next) {
			int i = 0;

			while (i < m.nr_sec && m.sec[i].section_nr != ms->section_nr)
				i++;
			if (i == m.nr_sec)
				continue;	/* no allocation seen there yet */
			if (m.last_types_nr[i] == ms->section_nr + 1)
				for (unsigned long b = 0; b < PAGEBLOCKS_PER_SECTION; b++)
					m.nr_type_changes +=
						m.last_types[i][b] != ms->pageblock_flags[b];
			memcpy(m.last_types[i], ms->pageblock_flags,
			       PAGEBLOCKS_PER_SECTION);
			m.last_types_nr[i] = ms->section_nr + 1;
		}
		zone_unlock(zones[z]);
	}
}

static void full_check(bool scan)
{
	unsigned long v = 0;

	m.nr_full_checks++;
	count_type_changes();
	check_model_reserve();
	for (int z = 0; z < MAX_NR_ZONES; z++)
		v += mc_check_zone(zones[z], m.live, m.nr_live,
				   MC_LIVE_COMPLETE | (scan ? MC_SCAN_PAGES : 0),
				   report_violation, "model check");
	if (v)
		model_fail("the model's full check found %lu violations (above)", v);
}

static void core_check(void)
{
	static char buf[16384];
	struct seq_buf s;
	unsigned long v;

	m.nr_core_checks++;
	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	v = check_all_zones(&s);
	if (v) {
		char *save = NULL;

		for (char *l = strtok_r(buf, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save))
			report_violation("check_all_zones", l);
		model_fail("check_all_zones() found %lu violations (above)", v);
	}
}

/* ----------------------------------------------------------- operations */

static unsigned int pick_order(void)
{
	uint64_t r = rnd(100);

	if (r < 55)
		return (unsigned int)rnd(4);		/* 0..3 */
	if (r < 80)
		return 4 + (unsigned int)rnd(3);	/* 4..6 */
	if (r < 93)
		return 7 + (unsigned int)rnd(2);	/* 7..8 */
	return 9 + (unsigned int)rnd(2);		/* 9..10 */
}

static gfp_t pick_gfp(void)
{
	static const gfp_t lifetimes[] = { 0, __GFP_MOVABLE, __GFP_RECLAIMABLE };
	gfp_t gfp = lifetimes[rnd(3)];

	if (chance(20))
		gfp |= __GFP_LOW32;
	if (chance(10))
		gfp |= __GFP_ZERO;
	if (chance(2))
		gfp |= __GFP_HIGHATOMIC;
	if (chance(5))
		gfp |= __GFP_NOWAIT;
	return gfp;
}

/* A byte size whose page count has the given order. */
static size_t size_of_order(unsigned int order)
{
	unsigned long lo = order ? (1UL << (order - 1)) + 1 : 1;
	unsigned long nr = lo + rnd((1UL << order) - lo + 1);

	return (nr - 1) * PAGE_SIZE + 1 + rnd(PAGE_SIZE);
}

static unsigned long pages_of(size_t size)
{
	return size ? (size + PAGE_SIZE - 1) >> PAGE_SHIFT : 1;
}

static void op_alloc(void)
{
	gfp_t gfp = pick_gfp();
	unsigned int order = pick_order(), head_order, align_order, al = 0;
	enum kind kind = chance(60) ? K_PAGES : K_EXACT;
	bool aligned = kind == K_EXACT && chance(25);
	int mt = test_gfp_migratetype(gfp);
	bool highatomic = (gfp & __GFP_HIGHATOMIC) != 0;
	bool normal_could, outside_reserve;
	enum zone_type zi;
	size_t size = 0, i;
	unsigned long nr, pfn;
	struct mem_section *ms;
	struct page *head;
	void *addr;
	int si;

	/* What the model expects, from its record before the call: the
	 * block's order, whether NORMAL could serve it (else LOW32 may), and
	 * whether anything outside the reserve could (else an ordinary
	 * allocation digs into the reserve). */
	if (kind == K_PAGES) {
		nr = 1UL << order;
		head_order = align_order = order;
	} else {
		size = size_of_order(order);
		nr = pages_of(size);
		head_order = align_order = model_order(nr);
		if (aligned) {
			al = (unsigned int)rnd(NR_PAGE_ORDERS);
			if (al > align_order)
				align_order = al;
		}
	}
	normal_could = !(gfp & __GFP_LOW32) &&
		       model_could_serve(ZONE_NORMAL, align_order, highatomic);
	outside_reserve = highatomic || normal_could ||
			  model_could_serve(ZONE_LOW32, align_order, false);

	m.nr_alloc++;
	errno = 0;
	if (kind == K_PAGES) {
		struct page *page = alloc_pages(gfp, order);

		addr = page ? page_address(page) : NULL;
	} else if (aligned) {
		addr = alloc_pages_exact_aligned(size, al, gfp);
	} else {
		addr = alloc_pages_exact(size, gfp);
	}
	if (!outside_reserve)
		model_observe_unreserve(gfp, addr == NULL);

	if (!addr) {
		m.nr_alloc_fail++;
		if (errno != ENOMEM)
			model_fail("a failed allocation (order %u, gfp %#x) left "
				   "errno %d, not ENOMEM", align_order, gfp, errno);
		if (model_could_serve_gfp(gfp, align_order, true))
			model_fail("an allocation of order %u (gfp %#x%s) failed "
				   "though the model has room for it in a zone "
				   "it may use", align_order, gfp,
				   kind == K_EXACT ? ", exact" : "");
		return;
	}

	pfn = (uintptr_t)addr >> PAGE_SHIFT;
	if ((uintptr_t)addr & (PAGE_SIZE - 1) || pfn & ((1UL << align_order) - 1)) {
		model_fail("%p (order %u) is not aligned to 2^%u pages", addr,
			   head_order, align_order);
		return;
	}
	ms = pfn_to_section(pfn);
	if (!ms || pfn_to_section(pfn + nr - 1) != ms) {
		model_fail("%p + %lu pages is not inside one online section",
			   addr, nr);
		return;
	}
	zi = ms->zone == zones[ZONE_LOW32] ? ZONE_LOW32 : ZONE_NORMAL;
	if (ms->zone != zones[zi] || ((gfp & __GFP_LOW32) && zi != ZONE_LOW32)) {
		model_fail("%p is in zone %s, asked for gfp %#x", addr,
			   ms->zone ? ms->zone->name : "?", gfp);
		return;
	}
	if (zi == ZONE_LOW32 && (uint64_t)(pfn + nr) << PAGE_SHIFT > LOW32_LIMIT) {
		model_fail("LOW32 allocation %p + %lu pages ends above 4 GiB",
			   addr, nr);
		return;
	}
	if (zi == ZONE_LOW32 && !(gfp & __GFP_LOW32)) {
		m.nr_fell_to_low32++;
		if (normal_could)
			model_fail("a NORMAL request went to LOW32 though NORMAL "
				   "could serve order %u", align_order);
	}
	section_seen(pfn, zi);
	si = section_index(pfn);
	if (m.failed || si < 0)
		return;
	if (!highatomic &&
	    range_reserved(si, pfn & (PAGES_PER_SECTION - 1), nr)) {
		model_fail("ordinary allocation %p (%lu pages) in a pageblock "
			   "still in the reserve", addr, nr);
		return;
	}
	head = pfn_to_page(pfn);
	if (head->flags != PG_head || head->nr_pages != nr ||
	    head->order != head_order || head->migratetype != mt) {
		model_fail("head of %p: flags %#x nr_pages %u order %u type %u; "
			   "expected PG_head, %lu, %u, %d", addr, head->flags,
			   head->nr_pages, head->order, head->migratetype, nr,
			   head_order, mt);
		return;
	}
	if (owned_in(pfn, nr)) {
		unsigned long p = pfn;

		while (p < pfn + nr && !owned_in(p, 1))
			p++;
		model_fail("%p (%lu pages) overlaps live allocation #%ld at "
			   "pfn %#lx", addr, nr, live_holding(p), p);
		return;
	}
	if (m.nr_live == MAX_LIVE) {
		model_fail("the model holds %d allocations: raise MAX_LIVE", MAX_LIVE);
		return;
	}

	if (highatomic)
		model_reserve(zi, pfn, align_order);
	set_owned(pfn, nr, true);
	model_release_reserve(pfn + nr, (1UL << align_order) - nr);
	i = m.nr_live++;
	m.live[i] = (struct mc_live){ (uintptr_t)addr, nr, head_order, mt };
	m.meta[i] = (struct m_alloc){ m.next_id++, size, kind, zi,
				      (gfp & __GFP_ZERO) != 0 };
	m.live_pages[zi] += nr;
	m.nr_by_order[align_order]++;
	m.nr_by_type[(gfp & __GFP_HIGHATOMIC) ? MIGRATE_HIGHATOMIC : mt]++;
	m.nr_low32 += zi == ZONE_LOW32;
	m.nr_exact += kind == K_EXACT;
	m.nr_aligned += aligned;
	if (gfp & __GFP_ZERO) {
		m.nr_zero++;
		verify_zero(i);
	}
	write_pattern(i, 0, nr);
	/* An exact allocation's tail went straight back. */
	check_merged(zi, pfn + nr, (1UL << align_order) - nr);
}

static void forget(size_t i)
{
	size_t last = --m.nr_live;

	m.live[i] = m.live[last];
	m.meta[i] = m.meta[last];
}

static void free_one(size_t i)
{
	struct mc_live *l = &m.live[i];
	unsigned long pfn = l->addr >> PAGE_SHIFT;
	struct page *head = pfn_to_page(pfn);
	bool ok;

	m.nr_free++;
	if (!verify_pattern(i, 0, l->nr_pages))
		return;
	if (head->flags != PG_head || head->nr_pages != l->nr_pages) {
		model_fail("head of %#lx changed while live: flags %#x nr_pages %u, "
			   "expected %lu", l->addr, head->flags, head->nr_pages,
			   l->nr_pages);
		return;
	}
	if (m.meta[i].kind == K_PAGES)
		ok = free_pages_checked(head, l->order);
	else
		ok = free_pages_exact_checked((void *)l->addr, m.meta[i].size);
	if (!ok) {
		model_fail("freeing %#lx (%lu pages) was refused", l->addr,
			   l->nr_pages);
		return;
	}
	set_owned(pfn, l->nr_pages, false);
	model_release_reserve(pfn, l->nr_pages);
	m.live_pages[m.meta[i].zone] -= l->nr_pages;
	check_merged(m.meta[i].zone, pfn, l->nr_pages);
	forget(i);
}

/* Could [pfn, pfn + n) be taken by a growing allocation? The model's
 * prediction: in the same section as pfn - 1, owned by no live allocation,
 * and in no reserved (HIGHATOMIC, ISOLATE) pageblock. */
static bool growth_possible(unsigned long start, unsigned long n)
{
	int i = section_index(start - 1);

	if (i < 0 ||
	    pfn_to_section_nr(start + n - 1) != pfn_to_section_nr(start - 1))
		return false;
	return !owned_in(start, n) &&
	       !range_reserved(i, start & (PAGES_PER_SECTION - 1), n);
}

static void op_resize(void)
{
	size_t i = (size_t)rnd(m.nr_live);
	struct mc_live *l;
	unsigned long pfn, nr, new_nr;
	size_t new_size;
	bool want, got;

	/* Look for an exact allocation near a random place. */
	for (int tries = 0; m.meta[i].kind != K_EXACT; tries++) {
		if (tries == 8)
			return;
		i = (size_t)rnd(m.nr_live);
	}
	l = &m.live[i];
	pfn = l->addr >> PAGE_SHIFT;
	nr = l->nr_pages;
	m.nr_resize++;
	if (nr > 1 && chance(50)) {
		new_nr = 1 + rnd(nr - 1);
		want = true;
		if (!verify_pattern(i, new_nr, nr))
			return;
	} else if (nr < MAX_ORDER_NR_PAGES) {
		unsigned long room = MAX_ORDER_NR_PAGES - nr;

		new_nr = nr + 1 + rnd(room < 64 ? room : 64);
		want = growth_possible(pfn + nr, new_nr - nr);
	} else {
		return;
	}
	new_size = (new_nr - 1) * PAGE_SIZE + 1 + rnd(PAGE_SIZE);
	got = resize_pages_exact((void *)l->addr, m.meta[i].size, new_size);
	if (got != want) {
		model_fail("resizing %#lx from %lu to %lu pages %s, the model "
			   "expected it to %s", l->addr, nr, new_nr,
			   got ? "succeeded" : "failed",
			   want ? "succeed" : "fail");
		return;
	}
	if (!got) {
		m.nr_resize_no++;
		return;
	}
	m.meta[i].size = new_size;
	l->nr_pages = new_nr;
	l->order = model_order(new_nr);
	if (new_nr < nr) {
		set_owned(pfn + new_nr, nr - new_nr, false);
		model_release_reserve(pfn + new_nr, nr - new_nr);
		m.live_pages[m.meta[i].zone] -= nr - new_nr;
		check_merged(m.meta[i].zone, pfn + new_nr, nr - new_nr);
	} else {
		set_owned(pfn + nr, new_nr - nr, true);
		m.live_pages[m.meta[i].zone] += new_nr - nr;
		write_pattern(i, nr, new_nr);
	}
}

/*
 * Drain the per-CPU page lists, every CPU's or this CPU's: afterwards the
 * lists drained are empty, and what they held is on the buddy lists,
 * merged (the counters and the next full check prove it).
 */
static void op_drain(void)
{
	static struct pcp_stats st[1024];
	bool all = chance(50);

	if (all)
		drain_all_pages(NULL);
	else
		drain_local_pages(NULL);
	m.nr_drains++;
	for (int z = 0; z < MAX_NR_ZONES && !m.failed; z++) {
		unsigned int n = pcp_stats_read(zones[z], st, 1024);

		for (unsigned int i = 0; i < n; i++)
			/* A local drain may run on another CPU than the one
			 * asked after a migration: only a full one is sure. */
			if (all && st[i].count)
				model_fail("zone %s: cpu %u holds %u pages after "
					   "drain_all_pages", zones[z]->name,
					   st[i].cpu, st[i].count);
	}
}

static void step(void)
{
	const unsigned long capacity =
		(NORMAL_SECTIONS + LOW32_SECTIONS) * PAGES_PER_SECTION;
	unsigned long live = m.live_pages[0] + m.live_pages[1];
	unsigned long target = m.pressure ? capacity * 14 / 10 : capacity * 35 / 100;

	if (chance(1) && chance(10))
		op_drain();
	else if (m.nr_live && chance(4))
		op_resize();
	else if (m.nr_live == 0 ||
		 (m.nr_live < MAX_LIVE && chance(live < target ? 65 : 35)))
		op_alloc();
	else
		free_one((size_t)rnd(m.nr_live));
	if (!m.failed)
		check_counters();
}

/* ------------------------------------------------------------------ TAP */

/* A "# " line of TAP diagnostics, without the file:line of test_diag. */
static void diag_raw(const char *text)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "# %s\n", text);

	if (n > 0)
		(void)!write(STDOUT_FILENO, line,
			     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

TEST_BEGIN(test_model_agrees_on_an_empty_heap)
{
	m.seed = test_seed(m.seed);
	test_diag("seed %" PRIu64 " (BUDDY_TEST_SEED or argv[1] or TEST_SEED "
		  "to change), %lu operations (BUDDY_MODEL_OPS)", m.seed, m.ops);
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		zones[z] = zone_of((enum zone_type)z);
		expect_lu_eq(zones[z]->max_sections,
			     z == ZONE_LOW32 ? LOW32_SECTIONS : NORMAL_SECTIONS,
			     "%s's limit", zones[z]->name);
	}
	expect_lu_eq(model_check_all(NULL, 0, MC_LIVE_COMPLETE | MC_SCAN_PAGES), 0,
		     "the model's checker on an empty heap");
	expect_lu_eq(core_check_diag(), 0, "the core's checker on an empty heap");
}
TEST_END

TEST_BEGIN(test_model_random_operations)
{
	struct timespec t0, t1;
	double secs;
	char line[512];
	int n;

	m.seed = test_seed(m.seed);
	m.rng = m.seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (m.op = 0; m.op < m.ops && !m.failed; m.op++) {
		bool pressure = (m.op / PHASE_OPS) % 2 == 1;

		if (pressure != m.pressure) {
			m.pressure = pressure;
			full_check(true);
			release_free(); /* malloc_trim's walk, live data kept */
		}
		step();
		if (m.failed)
			break;
		if (m.op % MODEL_CHECK_EVERY == MODEL_CHECK_EVERY - 1)
			full_check(m.nr_full_checks % SCAN_EVERY == 0);
		if (m.op % CORE_CHECK_EVERY == CORE_CHECK_EVERY - 1)
			core_check();
	}
	if (!m.failed) {
		full_check(true);
		core_check();
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	expect_false(m.failed, "seed %" PRIu64 ": the model and the allocator "
		     "disagreed at operation %lu", m.seed, m.op);
	expect_lu_eq(m.op, m.ops, "operations run");
	snprintf(line, sizeof(line), "%lu operations in %.1f s, seed %" PRIu64
		 ": %lu allocations (%lu failed, %lu exact, %lu aligned, "
		 "%lu zeroed, %lu in LOW32 of which %lu fell back from NORMAL), "
		 "%lu frees, %lu resizes (%lu refused); %lu full model checks, "
		 "%lu core checks; %zu allocations live",
		 m.op, secs, m.seed, m.nr_alloc, m.nr_alloc_fail, m.nr_exact,
		 m.nr_aligned, m.nr_zero, m.nr_low32, m.nr_fell_to_low32, m.nr_free,
		 m.nr_resize, m.nr_resize_no, m.nr_full_checks, m.nr_core_checks,
		 m.nr_live);
	diag_raw(line);
	snprintf(line, sizeof(line), "sections online: NORMAL %lu, LOW32 %lu; "
		 "pageblock type changes seen %lu; reserved pageblocks given back "
		 "to ordinary allocations %lu; free pages released to the "
		 "OS at phase changes %lu; pcp drains %lu",
		 zones[ZONE_NORMAL]->nr_sections,
		 zones[ZONE_LOW32]->nr_sections, m.nr_type_changes,
		 m.nr_reserve_drops, m.nr_released, m.nr_drains);
	diag_raw(line);
	n = snprintf(line, sizeof(line), "successful allocations by order:");
	for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %lu",
			      m.nr_by_order[o]);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "; by type:");
	for (int mt = 0; mt <= MIGRATE_HIGHATOMIC; mt++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s %lu",
			      migratetype_name(mt), m.nr_by_type[mt]);
	diag_raw(line);
	/* Every order and type really ran, and the pressure really bit. */
	for (unsigned int o = 0; o < NR_PAGE_ORDERS && m.ops >= 100000; o++)
		expect_lu_gt(m.nr_by_order[o], 0, "order %u allocated", o);
	for (int mt = 0; mt <= MIGRATE_HIGHATOMIC && m.ops >= 100000; mt++)
		expect_lu_gt(m.nr_by_type[mt], 0, "type %s allocated",
			     migratetype_name(mt));
	if (m.ops >= 2 * PHASE_OPS) {
		expect_lu_gt(m.nr_alloc_fail, 0, "pressure made allocations fail");
		expect_lu_gt(m.nr_fell_to_low32, 0, "NORMAL fell back to LOW32");
	}
}
TEST_END

static unsigned long pcp_pages_all_zones(void)
{
	static struct pcp_stats st[1024];
	unsigned long pages = 0;

	for (int z = 0; z < MAX_NR_ZONES; z++) {
		unsigned int n = pcp_stats_read(zones[z], st, 1024);

		for (unsigned int i = 0; i < n; i++)
			pages += st[i].count;
	}
	return pages;
}

TEST_BEGIN(test_model_ends_with_max_order_blocks)
{
	static char buf[4096];
	struct seq_buf s;
	char *save = NULL;

	m.seed = test_seed(m.seed);
	/* Free what is left, in random order, checking as we go. */
	while (m.nr_live && !m.failed) {
		free_one((size_t)rnd(m.nr_live));
		if (!m.failed)
			check_counters();
	}
	expect_false(m.failed, "seed %" PRIu64 ": freeing the rest", m.seed);
	expect_zu_eq(m.nr_live, 0, "nothing live");
	/* Freed blocks sit on the per-CPU lists until drained; then every
	 * zone must be whole. */
	expect_lu_gt(pcp_pages_all_zones(), 0, "the lists hold freed blocks");
	drain_all_pages(NULL);
	expect_lu_eq(pcp_pages_all_zones(), 0, "drained");
	for (int z = 0; z < MAX_NR_ZONES; z++) {
		struct zone_counts c;

		zone_counts(zones[z], &c);
		expect_lu_gt(c.present_pages, 0, "%s was used", zones[z]->name);
		expect_true(zone_pristine(zones[z]), "%s: every free block is of "
			    "order %d: nr_free[10] %lu x %lu = present %lu",
			    zones[z]->name, MAX_PAGE_ORDER,
			    c.nr_free[MAX_PAGE_ORDER], MAX_ORDER_NR_PAGES,
			    c.present_pages);
		expect_lu_eq(c.nr_free[MAX_PAGE_ORDER] * MAX_ORDER_NR_PAGES,
			     c.present_pages, "%s", zones[z]->name);
		expect_lu_eq(c.nr_reserved_highatomic, 0,
			     "%s: no reserve left with nothing allocated",
			     zones[z]->name);
	}
	expect_consistent(NULL, 0, "after the model test");

	diag_raw("buddyinfo after the model test:");
	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	buddyinfo_show(&s);
	for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		diag_raw(l);
}
TEST_END

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0';
}

int main(int argc, char **argv)
{
	uint64_t v;

	m.seed = DEFAULT_SEED;
	if (parse_u64(getenv("BUDDY_TEST_SEED"), &v) ||
	    (argc > 1 && parse_u64(argv[1], &v)))
		m.seed = v;
	m.ops = DEFAULT_OPS;
	if (parse_u64(getenv("BUDDY_MODEL_OPS"), &v))
		m.ops = (unsigned long)v;

	core_config.zone_max_sections[ZONE_NORMAL] = NORMAL_SECTIONS;
	core_config.zone_max_sections[ZONE_LOW32] = LOW32_SECTIONS;
	return test_run(test_model_agrees_on_an_empty_heap,
			test_model_random_operations,
			test_model_ends_with_max_order_blocks,
			NULL);
}
