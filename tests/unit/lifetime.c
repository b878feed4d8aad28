/*
 * lifetime.c - unit tests of the lifetime classifier (slab/lifetime.c) on
 * synthetic sites: made-up site addresses and object addresses (the
 * classifier only uses them as keys), births, deaths and aging passes at
 * times the test chooses (the __lifetime_* calls take the clock), and the
 * predictions read back from the tables the fast path reads.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"

#include "internal.h"
#include "lifetime.h"
#include "slab_internal.h"

#define LT_MS	1000u

static uint64_t clk = 1u << 20;
static uintptr_t next_addr = 0x10000000;

static const void *fake(uintptr_t v)
{
	return (const void *)v;
}

static const void *new_object(void)
{
	next_addr += 16;
	return fake(next_addr);
}

/* One sample of (site, class, depth) that dies young, or survives to its
 * free past lifetime_ms. */
static void sample(const void *site, unsigned int class, uintptr_t depth,
		   bool survives)
{
	const void *p = new_object();

	assert_true(lifetime_record_at(p, site, class, depth, clk), "recorded");
	clk += survives ? LT_MS + 1 : 1;
	assert_true(lifetime_free_at(p, clk), "its death found");
}

static unsigned long reclassified(void)
{
	struct lifetime_stats st;

	lifetime_stats_read(&st);
	return st.reclassified;
}

/* The classifier as at start-up, with lifetime_ms = LT_MS. */
static void fresh(void)
{
	if (!CMM_LOAD_SHARED(slab_ready))
		slab_init();
	core_config.lifetime_ms = LT_MS;
	lifetime_reset();
}

TEST_BEGIN(test_enabled_by_default)
{
	struct lifetime_stats st;

	fresh();
	lifetime_stats_read(&st);
	expect_true(st.enabled, "classifier:true is the default");
	expect_d_eq(lifetime_lookup(fake(0x401000), 3, 0), MIGRATE_MOVABLE,
		    "an unknown site is short-lived");
}
TEST_END

TEST_BEGIN(test_short_site_stays_short)
{
	const void *site = fake(0x401234);

	fresh();
	for (int i = 0; i < 500; i++) {
		sample(site, 1, 0, false);
		assert_d_eq(lifetime_lookup(site, 1, 0), MIGRATE_MOVABLE,
			    "after %d short-lived samples", i + 1);
	}
	expect_lu_eq(reclassified(), 0, "never re-classified");
}
TEST_END

/* Surviving to its free and surviving an aging pass both count. */
TEST_BEGIN(test_long_site_turns_long)
{
	const void *site = fake(0x402000), *aged = fake(0x402100);
	const void *live[8];
	struct lifetime_site sites[4];
	uint64_t born;
	unsigned int n;

	fresh();
	for (int i = 0; i < 7; i++)
		sample(site, 2, 0, true);
	expect_d_eq(lifetime_lookup(site, 2, 0), MIGRATE_MOVABLE,
		    "7 survivors are not evidence enough");
	sample(site, 2, 0, true);
	expect_d_eq(lifetime_lookup(site, 2, 0), MIGRATE_UNMOVABLE,
		    "long-lived at the 8th survivor");
	expect_d_eq(lifetime_lookup(site, 3, 0), MIGRATE_UNMOVABLE,
		    "a class of the site not sampled: the site's type");

	/* Never freed: aging counts them once they are LT_MS old. */
	born = clk;
	for (int i = 0; i < 8; i++) {
		live[i] = new_object();
		assert_true(lifetime_record_at(live[i], aged, 4, 0, born), "recorded");
	}
	lifetime_age_at(born + LT_MS - 1);
	expect_d_eq(lifetime_lookup(aged, 4, 0), MIGRATE_MOVABLE,
		    "not aged before lifetime_ms");
	lifetime_age_at(born + LT_MS);
	expect_d_eq(lifetime_lookup(aged, 4, 0), MIGRATE_UNMOVABLE,
		    "8 aged samples make it long-lived");
	/* Their frees count nothing more. */
	for (int i = 0; i < 8; i++)
		expect_true(lifetime_free_at(live[i], born + 5 * LT_MS), "freed");
	n = lifetime_sites_read(sites, 4);
	assert_u_eq(n, 4, "two keys, and their sites over all classes");
	for (unsigned int i = 0; i < n; i++) {
		expect_lu_eq(sites[i].samples, 8, "8 samples each");
		expect_lu_eq(sites[i].survived, 8, "all survived");
		expect_d_eq(sites[i].migratetype, MIGRATE_UNMOVABLE, "long-lived");
		expect_u_eq(sites[i].depth, 0, "not split");
	}
	expect_u_eq(sites[0].size + sites[1].size + sites[2].size + sites[3].size,
		    kmalloc_size[2] + kmalloc_size[4],
		    "their size classes (0: a site over all)");
}
TEST_END

/* Long -> short needs strong evidence, and happens. */
TEST_BEGIN(test_site_that_flips)
{
	const void *site = fake(0x403000);
	int young = 0;

	fresh();
	for (int i = 0; i < 8; i++)
		sample(site, 5, 0, true);
	assert_d_eq(lifetime_lookup(site, 5, 0), MIGRATE_UNMOVABLE, "long first");
	while (lifetime_lookup(site, 5, 0) == MIGRATE_UNMOVABLE && young < 1000) {
		sample(site, 5, 0, false);
		young++;
	}
	expect_d_eq(lifetime_lookup(site, 5, 0), MIGRATE_MOVABLE,
		    "short again after %d young deaths", young);
	expect_d_ge(young, 24, "not on weak evidence");
	expect_d_le(young, 64, "within a bounded number of samples");
	/* On its way the site looks mixed (half its decayed samples
	 * survived) and splits; its one depth then learns alone. */
	expect_lu_ge(reclassified(), 2, "re-classified, at least twice");

	/* And back to long-lived when it flips again. */
	for (int i = 0; i < 64 && lifetime_lookup(site, 5, 0) == MIGRATE_MOVABLE; i++)
		sample(site, 5, 0, true);
	expect_d_eq(lifetime_lookup(site, 5, 0), MIGRATE_UNMOVABLE, "long again");
}
TEST_END

/* 3 survivors in 10, deterministically interleaved, and 30% at random:
 * the prediction at the site's only depth never moves more than once. */
TEST_BEGIN(test_stable_under_noise)
{
	const void *site = fake(0x404000), *rsite = fake(0x404400);
	unsigned int seed = test_seed(12345);
	int prev = MIGRATE_MOVABLE, moves = 0;

	fresh();
	for (int i = 0; i < 1000; i++) {
		sample(site, 6, 0x2000, i % 10 == 2 || i % 10 == 5 || i % 10 == 8);
		assert_d_eq(lifetime_lookup(site, 6, 0x2000), MIGRATE_MOVABLE,
			    "30%% survivors stay short-lived (sample %d)", i + 1);
	}
	srand(seed);
	for (int i = 0; i < 2000; i++) {
		int mt;

		sample(rsite, 6, 0x2000, rand() % 10 < 3);
		mt = lifetime_lookup(rsite, 6, 0x2000);
		moves += mt != prev;
		prev = mt;
	}
	expect_d_le(moves, 1, "no flapping at 30%% random survivors");
}
TEST_END

/*
 * A wrapper: one site (and class) called from two call chains at different
 * depths, one allocating long-lived objects (1 in 4), the other short-lived
 * ones. The site is mixed: it splits, and each depth is learnt apart.
 */
TEST_BEGIN(test_mixed_site_splits)
{
	const void *site = fake(0x405000);
	const uintptr_t deep = 0x3000, shallow = 0x1800;
	struct lifetime_site sites[8];
	struct lifetime_stats st;
	unsigned int n;
	int i;

	fresh();
	for (i = 0; i < 200; i++) {
		bool lng = i % 4 == 0;

		sample(site, 7, lng ? deep : shallow, lng);
		if (lifetime_lookup(site, 7, deep) == MIGRATE_UNMOVABLE &&
		    lifetime_lookup(site, 7, shallow) == MIGRATE_MOVABLE)
			break;
	}
	expect_d_lt(i, 16 + 4 * 8, "the depths apart within a bound (%d)", i);
	expect_d_eq(lifetime_lookup(site, 7, deep), MIGRATE_UNMOVABLE,
		    "the long-lived chain");
	expect_d_eq(lifetime_lookup(site, 7, shallow), MIGRATE_MOVABLE,
		    "the short-lived chain");
	expect_d_eq(lifetime_lookup(site, 7, 0x5000), MIGRATE_MOVABLE,
		    "a depth not seen: the site's type");
	expect_true(lifetime_table[lt_index(site, 7)] & LT_SPLIT,
		    "the primary byte says split");

	lifetime_stats_read(&st);
	expect_lu_eq(st.sites_split, 2, "the key and its site split");
	expect_lu_eq(st.sites, 6, "the key, its site, and per depth a "
		     "sub-site and the depth over all classes");
	expect_lu_eq(st.sites_long, 2, "the long-lived chain's two");
	n = lifetime_sites_read(sites, 8);
	assert_u_eq(n, 6, "six records");
	for (unsigned int k = 0; k < n; k++) {
		expect_ptr_eq(sites[k].site, site, "same site");
		if (sites[k].migratetype < 0)
			expect_u_eq(sites[k].depth, 0, "a split record");
		else if (sites[k].depth == deep)
			expect_d_eq(sites[k].migratetype, MIGRATE_UNMOVABLE, "deep");
		else
			expect_u_eq(sites[k].depth, (unsigned int)shallow, "shallow");
	}
	for (unsigned int k = 1; k < n; k++)
		expect_lu_ge(sites[k - 1].samples, sites[k].samples,
			     "most sampled first");
}
TEST_END

/* A mostly long-lived site that splits keeps its objects long-lived at
 * every depth while the sub-sites learn. */
TEST_BEGIN(test_split_keeps_type)
{
	const void *site = fake(0x406000);

	fresh();
	for (int i = 0; i < 40; i++) {
		sample(site, 9, 0x4000, i % 5 != 0);	/* 80% survive */
		if (i >= 7)
			expect_d_eq(lifetime_lookup(site, 9, 0x4000),
				    MIGRATE_UNMOVABLE, "sample %d", i + 1);
	}
	expect_true(lifetime_table[lt_index(site, 9)] & LT_SPLIT, "split");
	expect_d_eq(lifetime_lookup(site, 9, 0x7000), MIGRATE_UNMOVABLE,
		    "a new depth: long-lived like its site");
}
TEST_END

/*
 * A site whose samples spread over many size classes (a cache of objects
 * of every size: too few samples per class to decide): the site over all
 * its classes decides for every class without evidence of its own; a
 * class with evidence of its own keeps it.
 */
TEST_BEGIN(test_site_wide_fallback)
{
	const void *site = fake(0x407000);

	fresh();
	for (unsigned int c = 0; c < 7; c++)
		sample(site, c, 0, true);
	expect_d_eq(lifetime_lookup(site, 30, 0), MIGRATE_MOVABLE,
		    "7 survivors: not yet");
	sample(site, 7, 0, true);
	for (unsigned int c = 0; c < LT_NR_CLASSES; c++)
		expect_d_eq(lifetime_lookup(site, c, 0), MIGRATE_UNMOVABLE,
			    "class %u long-lived with its site", c);
	/* Class 20 dies young, over and over: its own evidence. */
	for (int i = 0; i < 8; i++)
		sample(site, 20, 0, false);
	expect_d_eq(lifetime_lookup(site, 20, 0), MIGRATE_MOVABLE,
		    "class 20 short-lived on its own evidence");
	expect_d_eq(lifetime_lookup(site, 30, 0), MIGRATE_UNMOVABLE,
		    "the other classes still long-lived");
	expect_d_eq(lifetime_lookup(fake(0x407010), 30, 0), MIGRATE_MOVABLE,
		    "another site is not affected");
}
TEST_END

/*
 * A wrapper (xmalloc) shared by a request handler (short-lived objects of
 * every class) and a cache one frame shallower (1 allocation in 32,
 * long-lived, a few classes): 3% survivors, far from "mixed", all at one
 * depth. The site splits on its long-lived minority; the cache's depth
 * turns long-lived in every class, also those the cache was never sampled
 * in (its depth over all classes decides), and the requests' depth stays
 * short-lived.
 */
TEST_BEGIN(test_wrapper_minority_splits)
{
	const void *site = fake(0x408000);
	const uintptr_t req = 0x3000, cache = 0x2f80;
	const unsigned int cache_class[3] = {5, 12, 21};
	const unsigned int unsampled[3] = {30, 39, lt_large_class(3)};
	int i;

	fresh();
	for (i = 0; i < 32 * 20; i++) {
		bool entry = i % 32 == 31;

		if (entry)
			sample(site, cache_class[i / 32 % 3], cache, true);
		else
			sample(site, (unsigned int)i % 40, req, false);
		if (lifetime_lookup(site, unsampled[0], cache) == MIGRATE_UNMOVABLE)
			break;
	}
	expect_true(lifetime_table[lt_index(site, 0)] & LT_SPLIT,
		    "2 survivors in 64 samples split the site");
	expect_d_le(i, 64 + 8 * 32, "the cache's depth learnt within a bound (%d)", i);
	for (unsigned int k = 0; k < 3; k++) {
		expect_d_eq(lifetime_lookup(site, unsampled[k], cache),
			    MIGRATE_UNMOVABLE, "cache depth, class %u never "
			    "sampled there: long-lived", unsampled[k]);
		expect_d_eq(lifetime_lookup(site, cache_class[k], cache),
			    MIGRATE_UNMOVABLE, "cache depth, class %u",
			    cache_class[k]);
	}
	for (unsigned int c = 0; c < LT_NR_CLASSES; c++)
		expect_d_eq(lifetime_lookup(site, c, req), MIGRATE_MOVABLE,
			    "request depth, class %u: short-lived", c);
	expect_d_eq(lifetime_lookup(site, 30, 0x5000), MIGRATE_MOVABLE,
		    "a depth not seen: the site's type");
}
TEST_END

/*
 * A short-lived site with rare random survivors (1 in 32, a stray object
 * kept), all at the one depth its short-lived objects come from: it may
 * split, but no class at that depth (nor elsewhere) turns long-lived.
 */
TEST_BEGIN(test_rare_survivors_stay_short)
{
	const void *site = fake(0x409000);
	const uintptr_t depth = 0x3000;
	unsigned int seed = test_seed(4242);

	fresh();
	srand(seed);
	for (int i = 0; i < 4000; i++) {
		sample(site, (unsigned int)i % 40, depth, rand() % 32 == 0);
		assert_d_eq(lifetime_lookup(site, 30, depth), MIGRATE_MOVABLE,
			    "short-lived after sample %d", i + 1);
	}
	for (unsigned int c = 0; c < LT_NR_CLASSES; c++) {
		expect_d_eq(lifetime_lookup(site, c, depth), MIGRATE_MOVABLE,
			    "class %u short-lived", c);
		expect_d_eq(lifetime_lookup(site, c, 0x5000), MIGRATE_MOVABLE,
			    "class %u at another depth short-lived", c);
	}
	expect_true(lifetime_table[lt_index(site, 0)] & LT_SPLIT,
		    "split on its survivors (seed %u)", seed);
}
TEST_END

/* A long-lived site with a few young deaths (1 in 16, below the mixed
 * range): a short-lived minority is no reason to split. */
TEST_BEGIN(test_long_site_not_split)
{
	const void *site = fake(0x40a000);

	fresh();
	for (int i = 0; i < 256; i++)
		sample(site, (unsigned int)i % 40, 0x3000, i % 16 != 15);
	for (unsigned int c = 0; c < LT_NR_CLASSES; c++) {
		expect_false(lifetime_table[lt_index(site, c)] & LT_SPLIT,
			     "class %u not split", c);
		expect_d_eq(lifetime_lookup(site, c, 0x3000), MIGRATE_UNMOVABLE,
			    "class %u long-lived", c);
	}
}
TEST_END

int main(void)
{
	return test_run(test_enabled_by_default,
			test_short_site_stays_short,
			test_long_site_turns_long,
			test_site_that_flips,
			test_stable_under_noise,
			test_mixed_site_splits,
			test_split_keeps_type,
			test_site_wide_fallback,
			test_wrapper_minority_splits,
			test_rare_survivors_stay_short,
			test_long_site_not_split,
			NULL);
}
