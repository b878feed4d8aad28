/*
 * trim.c - release_free_pages(), malloc_trim's core: every free page goes
 * back to the OS (the resident set shrinks, measured in /proc/self/statm),
 * allocated pages keep their contents, and the memory works afterwards.
 */

#include <pthread.h>

#include "unit_util.h"

#define MiB	(1UL << 20)

/* Resident pages of this process. */
static unsigned long rss_pages(void)
{
	return test_rss_bytes() / PAGE_SIZE;
}

/* Free pages still resident (not released), all zones: the buddy's and
 * those on the per-CPU lists (always resident; trimming drains them). */
static unsigned long free_resident_all_zones(void)
{
	static struct pcp_stats st[1024];
	unsigned long n = 0;

	for (int idx = 0; idx < MAX_NR_ZONES; idx++) {
		struct zone *zone = zone_of((enum zone_type)idx);
		unsigned int cpus = pcp_stats_read(zone, st, 1024);
		struct zone_counts c;

		zone_counts(zone, &c);
		n += c.nr_free_pages - c.nr_released;
		for (unsigned int i = 0; i < cpus; i++)
			n += st[i].count;
	}
	return n;
}

static bool all_zero(const void *p, size_t size)
{
	const unsigned long *w = p;

	for (size_t i = 0; i < size / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

TEST_BEGIN(test_release_nothing)
{
	/* No section yet in this fresh process: nothing to release. */
	expect_lu_eq(release_free_pages(), 0);
	expect_lu_eq(core_check_diag(), 0);
}
TEST_END

#define NR_BIG	16	/* 16 max-order blocks: 64 MiB */

/* Batches released, and how many of them with the zone lock free (no
 * system call under zone->lock). */
static unsigned long batches, batches_unlocked;

static void release_hook(struct zone *zone)
{
	batches++;
	batches_unlocked += fork_lock_free(&zone->lock);
}

/*
 * 64 MiB touched and freed stays resident (free pages are kept for
 * reuse); release_free_pages() gives it back, and the next allocations
 * read zero and work.
 */
TEST_BEGIN(test_release_lowers_rss)
{
	struct page *blocks[NR_BIG];
	const size_t block = PAGE_SIZE << MAX_PAGE_ORDER;
	const unsigned long want = (60 * MiB) >> PAGE_SHIFT;
	unsigned long touched, freed, released, after, resident_before;

	for (int i = 0; i < NR_BIG; i++) {
		blocks[i] = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
		assert_ptr_not_null(blocks[i]);
		memset(page_address(blocks[i]), 0xa5, block);
	}
	touched = rss_pages();
	for (int i = 0; i < NR_BIG; i++)
		assert_true(free_pages_checked(blocks[i], MAX_PAGE_ORDER));
	freed = rss_pages();
	resident_before = free_resident_all_zones();
	test_release_hook = release_hook;
	released = release_free_pages();
	test_release_hook = NULL;
	after = rss_pages();
	expect_lu_gt(batches, 0, "batches released");
	expect_lu_eq(batches_unlocked, batches,
		     "every madvise ran without the zone lock held");
	test_diag("resident pages: touched %lu, freed %lu, released %lu -> %lu",
		  touched, freed, released, after);
	expect_lu_ge(freed + 256, touched, "freeing alone keeps the pages");
	expect_lu_ge(released, (unsigned long)NR_BIG << MAX_PAGE_ORDER,
		     "pages reported released");
	expect_lu_eq(released, resident_before, "every resident free page");
	expect_lu_eq(free_resident_all_zones(), 0, "no free page left resident");
	expect_lu_ge(freed, after + want, "the resident set shrank by 60 MiB");
	expect_lu_eq(core_check_diag(), 0, "after release");

	/* The memory still works, and reads as zero after the release. */
	for (int i = 0; i < NR_BIG; i++) {
		blocks[i] = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
		assert_ptr_not_null(blocks[i]);
		expect_true(all_zero(page_address(blocks[i]), block),
			    "block %d reads zero", i);
		memset(page_address(blocks[i]), i, block);
	}
	for (int i = 0; i < NR_BIG; i++) {
		unsigned char *p = page_address(blocks[i]);

		expect_d_eq(p[0], i);
		expect_d_eq(p[block - 1], i);
		assert_true(free_pages_checked(blocks[i], MAX_PAGE_ORDER));
	}
	expect_lu_eq(core_check_diag(), 0, "after reuse");
	drain_all_pages(NULL);
	expect_pristine(zone_normal(), "after reuse");
}
TEST_END

/*
 * Free pages among allocated ones (single pages, every other one) are
 * released too, each as its own range; the allocated ones between them
 * keep their contents. Exact and LOW32 allocations are held across the
 * release as well.
 */
#define NR_SMALL	2048

TEST_BEGIN(test_release_between_allocations)
{
	static struct page *pages[NR_SMALL];
	unsigned long touched, after, released, free_before;
	void *exact, *low;

	exact = alloc_pages_exact(37 * PAGE_SIZE, 0);
	low = alloc_pages_exact(5 * PAGE_SIZE, __GFP_LOW32);
	assert_ptr_not_null(exact);
	assert_ptr_not_null(low);
	memset(exact, 0x3c, 37 * PAGE_SIZE);
	memset(low, 0x4d, 5 * PAGE_SIZE);
	for (int i = 0; i < NR_SMALL; i++) {
		pages[i] = alloc_pages(__GFP_MOVABLE, 0);
		assert_ptr_not_null(pages[i]);
		memset(page_address(pages[i]), 0x11, PAGE_SIZE);
	}
	for (int i = 0; i < NR_SMALL; i += 2) {
		assert_true(free_pages_checked(pages[i], 0));
		pages[i] = NULL;
	}
	touched = rss_pages();
	free_before = free_resident_all_zones();
	released = release_free_pages();
	after = rss_pages();
	test_diag("resident pages %lu -> %lu, released %lu", touched, after,
		  released);
	expect_lu_eq(released, free_before, "every resident free page, every order");
	expect_lu_ge(touched, after + NR_SMALL / 2 * 9 / 10,
		     "the freed single pages left the resident set");

	for (int i = 1; i < NR_SMALL; i += 2) {
		const unsigned char *p = page_address(pages[i]);

		if (p[0] != 0x11 || p[PAGE_SIZE - 1] != 0x11) {
			test_fail("allocated page %d lost its contents", i);
			break;
		}
	}
	for (size_t i = 0; i < 37 * PAGE_SIZE; i += 512)
		if (((unsigned char *)exact)[i] != 0x3c) {
			test_fail("exact allocation lost its contents at %zu", i);
			break;
		}
	for (size_t i = 0; i < 5 * PAGE_SIZE; i += 512)
		if (((unsigned char *)low)[i] != 0x4d) {
			test_fail("LOW32 allocation lost its contents at %zu", i);
			break;
		}
	expect_lu_eq(core_check_diag(), 0, "after release");

	for (int i = 1; i < NR_SMALL; i += 2)
		assert_true(free_pages_checked(pages[i], 0));
	expect_true(free_pages_exact_checked(exact, 37 * PAGE_SIZE));
	expect_true(free_pages_exact_checked(low, 5 * PAGE_SIZE));
	drain_all_pages(NULL);
	expect_pristine(zone_normal(), "at the end");
	drain_all_pages(NULL);
	expect_pristine(zone_low32(), "at the end");
	/* A second release finds exactly the pages freed since the first
	 * (the resident ones), and then nothing. */
	free_before = free_resident_all_zones();
	expect_lu_gt(free_before, 0, "frees since the release are resident");
	expect_lu_eq(release_free_pages(), free_before);
	expect_lu_eq(release_free_pages(), 0);
	expect_lu_eq(core_check_diag(), 0, "after the second release");
}
TEST_END

static volatile int churn_stop;
static volatile unsigned long churned;	/* rounds of the churn thread */

/* Allocates and frees blocks of many orders, so that releases run while
 * blocks are split and merged around the ones they isolated. */
static void *churn(void *arg)
{
	uint64_t rng = 99;

	(void)arg;
	while (!CMM_LOAD_SHARED(churn_stop)) {
		struct page *p[8];

		for (int i = 0; i < 8; i++)
			p[i] = alloc_pages(__GFP_MOVABLE,
					   (unsigned int)rand_below(&rng, MAX_PAGE_ORDER + 1));
		for (int i = 0; i < 8; i++)
			if (p[i])
				free_pages_checked(p[i], p[i]->order);
		CMM_STORE_SHARED(churned, churned + 1);
	}
	return NULL;
}

/* Releases with the lock dropped while another thread allocates and frees:
 * the blocks put back merge with what was freed meanwhile, and at the end
 * every zone is whole again. */
TEST_BEGIN(test_release_while_allocating)
{
	pthread_t thread;
	unsigned long rounds = 0;

	churn_stop = 0;
	assert_d_eq(pthread_create(&thread, NULL, churn, NULL), 0);
	/* At least 200 releases, over at least 2000 rounds of the churn. */
	for (; rounds < 200 || CMM_LOAD_SHARED(churned) < 2000; rounds++)
		release_free_pages();
	CMM_STORE_SHARED(churn_stop, 1);
	pthread_join(thread, NULL);
	test_diag("%lu releases during %lu rounds of allocation", rounds,
		  churned);
	expect_lu_eq(core_check_diag(), 0, "consistent");
	drain_all_pages(NULL);
	expect_pristine(zone_normal(), "NORMAL whole again");
}
TEST_END

/*
 * A zeroing allocation of released pages needs no memset (they read as
 * zero): allocating 32 MiB of them with __GFP_ZERO leaves the resident set
 * alone. Resident free pages handed out with __GFP_ZERO are zeroed.
 */
TEST_BEGIN(test_zero_skips_released)
{
	const size_t block = PAGE_SIZE << MAX_PAGE_ORDER;
	unsigned char *p[NR_BIG];
	unsigned long before, after;

	release_free_pages();
	before = rss_pages();
	for (int i = 0; i < NR_BIG; i++) {
		p[i] = alloc_pages_exact(block, __GFP_MOVABLE | __GFP_ZERO);
		assert_ptr_not_null(p[i]);
	}
	after = rss_pages();
	test_diag("resident pages %lu -> %lu for %d zeroed 4 MiB blocks",
		  before, after, NR_BIG);
	expect_lu_le(after, before + 256, "released pages were not memset");
	for (int i = 0; i < NR_BIG; i++)
		expect_true(all_zero(p[i], block), "and read as zero");

	/* Dirty, free, resident: the next zeroing allocation clears them. */
	for (int i = 0; i < NR_BIG; i++) {
		memset(p[i], 0x5a, block);
		expect_true(free_pages_exact_checked(p[i], block));
	}
	for (int i = 0; i < NR_BIG; i++) {
		p[i] = alloc_pages_exact(block, __GFP_MOVABLE | __GFP_ZERO);
		assert_ptr_not_null(p[i]);
		expect_true(all_zero(p[i], block), "resident free pages were zeroed");
	}
	for (int i = 0; i < NR_BIG; i++)
		expect_true(free_pages_exact_checked(p[i], block));
	expect_lu_eq(core_check_diag(), 0, "consistent");
}
TEST_END

int main(void)
{
	return test_run(test_release_nothing,
			test_release_while_allocating,
			test_release_lowers_rss,
			test_release_between_allocations,
			test_zero_skips_released,
			NULL);
}
