/*
 * exact.c - page-granular allocations (the kernel's alloc_pages_exact):
 * the power of two is allocated, the pages past the size go straight back;
 * alloc_pages_exact_aligned, resize_pages_exact, free_pages_exact_checked.
 * (The public buddymalloc_alloc_pages[_exact] are tested in page_api.c.)
 */
#include "unit_util.h"

static struct zone *zone;

static unsigned long nr_free_pages(void)
{
	struct zone_counts c;

	zone_counts(zone, &c);
	return c.nr_free_pages;
}

static unsigned long pages_of(size_t size)
{
	unsigned long nr = (size + PAGE_SIZE - 1) / PAGE_SIZE;

	return nr ? nr : 1;
}

static struct mc_live exact_live(void *p, unsigned long nr, int mt)
{
	struct mc_live l = { (uintptr_t)p, nr, get_order(nr), mt };

	return l;
}

TEST_BEGIN(test_exact_returns_the_tail_at_once)
{
	static const unsigned long nrs[] = {
		1, 2, 3, 5, 7, 9, 100, 255, 257, 511, 513, 1000, 1023, 1024,
	};
	struct page *first = alloc_pages(0, 0);

	/* Bring the zone's section online, so the counts below compare. */
	assert_ptr_not_null(first, "first allocation");
	expect_true(free_pages_checked(first, 0), "free it");

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++) {
		unsigned long nr = nrs[i], before = nr_free_pages();
		unsigned int order = get_order(nr);
		struct page *head;
		struct mc_live l;
		void *p;

		p = alloc_pages_exact(nr * PAGE_SIZE, __GFP_MOVABLE);
		assert_ptr_not_null(p, "%lu pages", nr);
		expect_lu_eq(before - nr_free_pages(), nr,
			     "%lu pages: only they leave the free lists", nr);
		expect_lx_eq(addr_pfn(p) & ((1UL << order) - 1), 0,
			     "%lu pages: aligned to 2^%u pages", nr, order);
		head = virt_to_page(p);
		expect_u_eq(head->flags, PG_head, "%lu pages: head", nr);
		expect_u_eq(head->nr_pages, (unsigned int)nr, "%lu pages: nr_pages", nr);
		expect_u_eq(head->order, order, "%lu pages: order", nr);
		l = exact_live(p, nr, MIGRATE_MOVABLE);
		expect_consistent(&l, 1, "one exact allocation live");
		expect_true(free_pages_exact_checked(p, nr * PAGE_SIZE),
			    "free %lu pages", nr);
		expect_pristine(zone, "after an exact allocation");
	}
}
TEST_END

TEST_BEGIN(test_exact_byte_sizes)
{
	static const size_t sizes[] = {
		0, 1, 7, 4095, 4096, 4097, 8191, 8192, 8193, 12289,
		(2 << 20) - 1, 2 << 20, (2 << 20) + 1,
		(4 << 20) - 4096, (4 << 20) - 1, 4 << 20,
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t size = sizes[i];
		unsigned long nr = pages_of(size), before = nr_free_pages();
		unsigned char *p = alloc_pages_exact(size, 0);
		size_t bad = 0;

		assert_ptr_not_null(p, "%zu bytes", size);
		expect_lu_eq(before - nr_free_pages(), nr, "%zu bytes: %lu pages",
			     size, nr);
		expect_u_eq(virt_to_page(p)->nr_pages, (unsigned int)nr,
			    "%zu bytes: nr_pages", size);
		/* Every byte asked for is ours to write. */
		memset(p, 0x5a, nr * PAGE_SIZE);
		for (size_t b = 0; b < nr * PAGE_SIZE; b += 61)
			bad += p[b] != 0x5a;
		expect_zu_eq(bad, 0, "%zu bytes written and read back", size);
		expect_true(free_pages_exact_checked(p, size), "free %zu bytes", size);
	}
	expect_pristine(zone, "after every size");

	errno = 0;
	expect_ptr_null(alloc_pages_exact((4 << 20) + 1, 0), "4 MiB + 1");
	expect_d_eq(errno, EINVAL, "4 MiB + 1 is EINVAL");
	errno = 0;
	expect_ptr_null(alloc_pages_exact(SIZE_MAX, 0), "SIZE_MAX");
	expect_d_eq(errno, EINVAL, "SIZE_MAX is EINVAL");
	errno = 0;
	expect_ptr_null(alloc_pages_exact(SIZE_MAX - PAGE_SIZE + 2, 0),
			"a size that would wrap when rounded up");
	expect_d_eq(errno, EINVAL, "EINVAL");
}
TEST_END

TEST_BEGIN(test_exact_zero)
{
	static const size_t sizes[] = { 1, 3 * PAGE_SIZE, 5 * PAGE_SIZE + 17,
					(1 << 20) + 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t size = sizes[i], nonzero = 0;
		unsigned long nr = pages_of(size);
		unsigned char *dirty, *p;

		/* Dirty the pages, give them back, ask again with ZERO: the
		 * same pages come back (LIFO), and must read as zero. */
		dirty = alloc_pages_exact(size, 0);
		assert_ptr_not_null(dirty, "dirty");
		memset(dirty, 0xa5, nr * PAGE_SIZE);
		expect_true(free_pages_exact_checked(dirty, size), "free");
		p = alloc_pages_exact(size, __GFP_ZERO);
		assert_ptr_not_null(p, "zeroed %zu bytes", size);
		expect_ptr_eq(p, dirty, "the dirtied pages came back");
		for (size_t b = 0; b < nr * PAGE_SIZE; b++)
			nonzero += p[b] != 0;
		expect_zu_eq(nonzero, 0, "%zu bytes: every byte of %lu pages zero",
			     size, nr);
		expect_true(free_pages_exact_checked(p, size), "free");
	}
	expect_pristine(zone, "after zeroing");
}
TEST_END

/* Many exact allocations of assorted sizes, freed in random order: every
 * max-order block comes back whole. */
TEST_BEGIN(test_exact_frees_reassemble_max_order_blocks)
{
	enum { N = 300 };
	uint64_t seed = test_seed(0xe8ac7ULL);
	struct { void *p; size_t size; } *a = calloc(N, sizeof(*a));
	struct mc_live *live = calloc(N, sizeof(*live));
	size_t n = 0;

	assert_ptr_not_null(a, "calloc");
	assert_ptr_not_null(live, "calloc");
	for (size_t i = 0; i < N; i++) {
		/* Mostly small, sometimes up to a whole max-order block. */
		size_t size = rand_below(&seed, 8) ?
			(size_t)rand_below(&seed, 40 * PAGE_SIZE) + 1 :
			(size_t)rand_below(&seed, MAX_ORDER_NR_PAGES * PAGE_SIZE) + 1;

		a[n].p = alloc_pages_exact(size, i % 3 == 0 ? 0 : __GFP_MOVABLE);
		if (!a[n].p)
			break;	/* the zone is full: fine, free what we have */
		a[n].size = size;
		n++;
	}
	expect_zu_gt(n, N / 2, "most allocations fit");
	for (size_t i = 0; i < n; i++)
		live[i] = exact_live(a[i].p, pages_of(a[i].size), -1);
	expect_consistent(live, n, "exact allocations live");

	shuffle(a, n, sizeof(*a), &seed);
	for (size_t i = 0; i < n; i++) {
		expect_true(free_pages_exact_checked(a[i].p, a[i].size),
			    "free %zu bytes", a[i].size);
		if (i % 50 == 49) {
			size_t m = 0;

			for (size_t j = i + 1; j < n; j++)
				live[m++] = exact_live(a[j].p, pages_of(a[j].size), -1);
			expect_lu_eq(model_check_all(live, m, MC_LIVE_COMPLETE), 0,
				     "%zu still live", m);
		}
	}
	expect_pristine(zone, "after freeing in random order");
	expect_consistent(NULL, 0, "after freeing in random order");
	free(a);
	free(live);
}
TEST_END

TEST_BEGIN(test_exact_free_rejects_what_is_not_an_allocation)
{
	int on_stack;
	void *p = alloc_pages_exact(5 * PAGE_SIZE, 0);
	struct zone_counts before, now;

	assert_ptr_not_null(p, "5 pages");
	zone_counts(zone, &before);
	expect_false(free_pages_exact_checked(p, 4 * PAGE_SIZE), "4 pages for 5");
	expect_false(free_pages_exact_checked(p, 6 * PAGE_SIZE), "6 pages for 5");
	expect_false(free_pages_exact_checked(p, 8 * PAGE_SIZE),
		     "the power of two allocated, not the size");
	expect_false(free_pages_exact_checked((char *)p + PAGE_SIZE, 4 * PAGE_SIZE),
		     "a page inside");
	expect_false(free_pages_exact_checked((char *)p + 16, 5 * PAGE_SIZE),
		     "not page aligned");
	expect_false(free_pages_exact_checked(NULL, PAGE_SIZE), "NULL");
	expect_false(free_pages_exact_checked(&on_stack, PAGE_SIZE), "the stack");
	expect_false(free_pages_exact_checked(p, (4 << 20) + 1), "too large");
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "rejected frees change nothing");
	/* Any size that rounds to the same pages names the allocation. */
	expect_true(free_pages_exact_checked(p, 4 * PAGE_SIZE + 1), "the free");
	zone_counts(zone, &before);
	expect_false(free_pages_exact_checked(p, 5 * PAGE_SIZE), "double free");
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "a double free changes nothing");
	expect_pristine(zone, "at the end");
}
TEST_END

TEST_BEGIN(test_exact_aligned)
{
	static const unsigned long nrs[] = { 1, 3, 5, 100, 600 };
	static const unsigned int aligns[] = { 0, 1, 4, 9, 10 };

	for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		for (size_t j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
			unsigned long nr = nrs[i], before = nr_free_pages();
			unsigned int al = aligns[j];
			unsigned int want = get_order(nr) > al ? get_order(nr) : al;
			struct mc_live l;
			void *p = alloc_pages_exact_aligned(nr * PAGE_SIZE, al, 0);

			assert_ptr_not_null(p, "%lu pages aligned 2^%u", nr, al);
			expect_lx_eq(addr_pfn(p) & ((1UL << want) - 1), 0,
				     "%lu pages aligned to 2^%u pages", nr, want);
			expect_lu_eq(before - nr_free_pages(), nr,
				     "%lu pages aligned 2^%u: the rest went back",
				     nr, al);
			l = exact_live(p, nr, MIGRATE_UNMOVABLE);
			expect_lu_eq(model_check_all(&l, 1, MC_LIVE_COMPLETE), 0,
				     "%lu pages aligned 2^%u", nr, al);
			expect_true(free_pages_exact_checked(p, nr * PAGE_SIZE),
				    "free");
		}
	errno = 0;
	expect_ptr_null(alloc_pages_exact_aligned(PAGE_SIZE, MAX_PAGE_ORDER + 1, 0),
			"alignment 2^11 pages");
	expect_d_eq(errno, EINVAL, "EINVAL");
	expect_pristine(zone, "after aligned allocations");
}
TEST_END

TEST_BEGIN(test_resize_exact_in_place)
{
	struct page *head;
	struct page *blocker;
	unsigned long before;
	void *p, *q;
	struct mc_live l[2];

	/* Shrink: the tail goes back at once. */
	p = alloc_pages_exact(10 * PAGE_SIZE, 0);
	assert_ptr_not_null(p, "10 pages");
	before = nr_free_pages();
	expect_true(resize_pages_exact(p, 10 * PAGE_SIZE, 3 * PAGE_SIZE), "10 -> 3");
	head = virt_to_page(p);
	expect_u_eq(head->nr_pages, 3, "nr_pages");
	expect_u_eq(head->order, 2, "order follows the size");
	expect_lu_eq(nr_free_pages() - before, 7, "7 pages back");
	l[0] = exact_live(p, 3, MIGRATE_UNMOVABLE);
	expect_consistent(l, 1, "after shrinking");

	/* Grow into the free pages after it, up to a whole block. */
	expect_true(resize_pages_exact(p, 3 * PAGE_SIZE, 4 * PAGE_SIZE), "3 -> 4");
	expect_true(resize_pages_exact(p, 4 * PAGE_SIZE, 700 * PAGE_SIZE),
		    "4 -> 700");
	expect_u_eq(head->nr_pages, 700, "nr_pages");
	expect_u_eq(head->order, 10, "order");
	l[0] = exact_live(p, 700, MIGRATE_UNMOVABLE);
	expect_consistent(l, 1, "after growing");
	expect_true(resize_pages_exact(p, 700 * PAGE_SIZE, MAX_ORDER_NR_PAGES * PAGE_SIZE),
		    "700 -> 1024");
	expect_false(resize_pages_exact(p, MAX_ORDER_NR_PAGES * PAGE_SIZE,
					(MAX_ORDER_NR_PAGES + 1) * PAGE_SIZE),
		     "past a max-order block");
	expect_true(resize_pages_exact(p, MAX_ORDER_NR_PAGES * PAGE_SIZE, PAGE_SIZE),
		    "1024 -> 1");
	expect_true(free_pages_exact_checked(p, PAGE_SIZE), "free");
	expect_pristine(zone, "after resizing");

	/* An allocated page in the way: no growth, nothing changed. */
	q = alloc_pages_exact(PAGE_SIZE, 0);
	blocker = alloc_pages(0, 0);
	assert_ptr_not_null(q, "q");
	assert_ptr_not_null(blocker, "blocker");
	expect_lx_eq(page_to_pfn(blocker), addr_pfn(q) + 1, "right after q");
	before = nr_free_pages();
	expect_false(resize_pages_exact(q, PAGE_SIZE, 2 * PAGE_SIZE), "blocked");
	expect_false(resize_pages_exact(q, 2 * PAGE_SIZE, PAGE_SIZE),
		     "wrong old size");
	expect_false(resize_pages_exact((char *)q + 1, PAGE_SIZE, 2 * PAGE_SIZE),
		     "unaligned");
	expect_false(resize_pages_exact(q, PAGE_SIZE, (4 << 20) + 1), "too large");
	expect_lu_eq(nr_free_pages(), before, "nothing changed");
	expect_u_eq(virt_to_page(q)->nr_pages, 1, "q still one page");
	l[0] = exact_live(q, 1, MIGRATE_UNMOVABLE);
	l[1] = (struct mc_live){ (uintptr_t)page_address(blocker), 1, 0,
				 MIGRATE_UNMOVABLE };
	expect_consistent(l, 2, "after refused resizes");
	expect_true(free_pages_checked(blocker, 0), "free the blocker");
	expect_true(resize_pages_exact(q, PAGE_SIZE, 2 * PAGE_SIZE), "now it grows");
	expect_true(free_pages_exact_checked(q, 2 * PAGE_SIZE), "free");
	expect_pristine(zone, "at the end");
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	zone = zone_normal();
	buddy_lists_only();
	return test_run(test_exact_returns_the_tail_at_once,
			test_exact_byte_sizes,
			test_exact_zero,
			test_exact_frees_reassemble_max_order_blocks,
			test_exact_free_rejects_what_is_not_an_allocation,
			test_exact_aligned,
			test_resize_exact_in_place,
			NULL);
}
