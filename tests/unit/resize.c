/*
 * resize.c - exact allocations aligned (alloc_pages_exact_aligned) and
 * resized in place (resize_pages_exact): shrinking frees the tail, growing
 * takes the free pages right after the allocation or fails leaving
 * everything as it was. The core's checker runs after every step.
 */
#include "unit_util.h"

#define PAGES(n)	((size_t)(n) << PAGE_SHIFT)

static struct page *head_of(const void *p)
{
	return virt_to_page(p);
}

/* Tag every page of [p, p + nr pages) so that a move or a loss shows. */
static void tag_pages(void *p, unsigned long from, unsigned long nr,
		      uint64_t salt)
{
	for (unsigned long i = from; i < nr; i++)
		*(uint64_t *)((char *)p + PAGES(i)) = salt ^ (i * 0x9e3779b97f4a7c15ULL);
}

static unsigned long tags_intact(const void *p, unsigned long nr, uint64_t salt)
{
	for (unsigned long i = 0; i < nr; i++)
		if (*(const uint64_t *)((const char *)p + PAGES(i)) !=
		    (salt ^ (i * 0x9e3779b97f4a7c15ULL)))
			return i;
	return nr;
}

static bool same_counts(const struct zone_counts *a, const struct zone_counts *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* ------------------------------------------------------------- aligned */

TEST_BEGIN(test_exact_aligned)
{
	static const unsigned long sizes[] = { 1, 2, 3, 5, 17, 100, 513, 1024 };
	struct zone *zone = zone_normal();

	for (unsigned int a = 0; a <= MAX_PAGE_ORDER; a++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			unsigned long nr = sizes[i];
			void *p = alloc_pages_exact_aligned(PAGES(nr) - 7, a,
							    __GFP_MOVABLE);
			struct zone_counts c;
			struct page *page;

			assert_ptr_not_null(p, "nr %lu align_order %u", nr, a);
			expect_lx_eq(addr_pfn(p) & ((1UL << a) - 1), 0,
				     "nr %lu aligned to 2^%u pages", nr, a);
			page = head_of(p);
			expect_true(page->flags & PG_head, "head flag");
			expect_u_eq(page->nr_pages, (unsigned int)nr, "nr_pages");
			expect_u_eq(page->order, get_order(nr),
				    "order describes the allocation (align %u)", a);
			/* Only the nr pages are gone from the free lists. */
			zone_counts(zone, &c);
			expect_lu_eq(c.present_pages - c.nr_free_pages, nr,
				     "tail returned, align_order %u", a);
			expect_lu_eq(core_check_diag(), 0, "nr %lu align %u", nr, a);
			memset(p, 0x5a, PAGES(nr));
			expect_true(free_pages_exact_checked(p, PAGES(nr)), "free");
		}
	}
	expect_pristine(zone, "after aligned allocations");
}
TEST_END

TEST_BEGIN(test_exact_aligned_bad_args)
{
	errno = 0;
	expect_ptr_null(alloc_pages_exact_aligned(PAGE_SIZE, MAX_PAGE_ORDER + 1, 0),
			"align_order above MAX_PAGE_ORDER");
	expect_d_eq(errno, EINVAL, "errno");
	errno = 0;
	expect_ptr_null(alloc_pages_exact_aligned(PAGES(MAX_ORDER_NR_PAGES) + 1, 0, 0),
			"more than a max-order block");
	expect_d_eq(errno, EINVAL, "errno");
	errno = 0;
	expect_ptr_null(alloc_pages_exact_aligned(SIZE_MAX, 0, 0),
			"SIZE_MAX must not wrap to a small size");
	expect_d_eq(errno, EINVAL, "errno");
	expect_false(free_pages_exact_checked(&errno, SIZE_MAX), "foreign");
}
TEST_END

TEST_BEGIN(test_exact_aligned_zero)
{
	void *p = alloc_pages_exact_aligned(PAGES(5), 3, __GFP_MOVABLE);
	void *q;

	assert_ptr_not_null(p);
	memset(p, 0xff, PAGES(5));
	assert_true(free_pages_exact_checked(p, PAGES(5)));
	q = alloc_pages_exact_aligned(PAGES(5), 3, __GFP_MOVABLE | __GFP_ZERO);
	assert_ptr_not_null(q);
	for (size_t i = 0; i < PAGES(5); i++)
		if (((unsigned char *)q)[i]) {
			test_fail("byte %zu not zero", i);
			break;
		}
	expect_true(free_pages_exact_checked(q, PAGES(5)));
	expect_pristine(zone_normal(), "after zeroed allocation");
}
TEST_END

/* -------------------------------------------------------------- shrink */

TEST_BEGIN(test_shrink)
{
	struct zone *zone = zone_normal();
	unsigned long steps[] = { 700, 513, 512, 100, 3, 1 };
	unsigned long nr = 1000;
	void *p = alloc_pages_exact(PAGES(nr), __GFP_MOVABLE);
	struct zone_counts c;

	assert_ptr_not_null(p);
	tag_pages(p, 0, nr, 1);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned long to = steps[i];

		assert_true(resize_pages_exact(p, PAGES(nr), PAGES(to)),
			    "shrink %lu -> %lu", nr, to);
		nr = to;
		expect_u_eq(head_of(p)->nr_pages, (unsigned int)nr, "nr_pages");
		expect_u_eq(head_of(p)->order, get_order(nr), "order");
		expect_lu_eq(tags_intact(p, nr, 1), nr, "contents after %lu", nr);
		zone_counts(zone, &c);
		expect_lu_eq(c.present_pages - c.nr_free_pages, nr,
			     "the tail went back");
		expect_lu_eq(core_check_diag(), 0, "after shrink to %lu", nr);
	}
	/* Same size: nothing to do, still valid. */
	expect_true(resize_pages_exact(p, PAGES(1), PAGE_SIZE - 100), "no-op");
	/* The old size no longer describes it. */
	expect_false(free_pages_exact_checked(p, PAGES(3)), "stale size");
	expect_true(free_pages_exact_checked(p, PAGES(1)), "free");
	expect_pristine(zone, "after shrinking");
}
TEST_END

/* ---------------------------------------------------------------- grow */

/*
 * On a pristine zone a 3-page allocation sits at the start of a max-order
 * block, and everything after it up to the block's end is free: it can
 * grow step by step to the whole block, but not one page past it.
 */
TEST_BEGIN(test_grow_into_free_pages)
{
	struct zone *zone = zone_normal();
	unsigned long steps[] = { 4, 20, 21, 500, 1024 };
	unsigned long nr = 3;
	void *p = alloc_pages_exact(PAGES(nr), __GFP_MOVABLE);
	struct zone_counts before, after;

	assert_ptr_not_null(p);
	assert_lx_eq(addr_pfn(p) & (MAX_ORDER_NR_PAGES - 1), 0,
		     "the test expects a max-order block's start");
	tag_pages(p, 0, nr, 2);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		unsigned long to = steps[i];

		assert_true(resize_pages_exact(p, PAGES(nr), PAGES(to)),
			    "grow %lu -> %lu", nr, to);
		expect_lu_eq(tags_intact(p, nr, 2), nr, "old contents");
		tag_pages(p, nr, to, 2);
		nr = to;
		expect_u_eq(head_of(p)->nr_pages, (unsigned int)nr, "nr_pages");
		expect_u_eq(head_of(p)->order, get_order(nr), "order");
		zone_counts(zone, &after);
		expect_lu_eq(after.present_pages - after.nr_free_pages, nr,
			     "exactly the new pages left the free lists");
		expect_lu_eq(core_check_diag(), 0, "after growing to %lu", nr);
	}
	/* Past a max-order block: refused, nothing changed. */
	zone_counts(zone, &before);
	expect_false(resize_pages_exact(p, PAGES(nr), PAGES(nr + 1)),
		     "more than MAX_ORDER_NR_PAGES");
	zone_counts(zone, &after);
	expect_true(same_counts(&before, &after), "counts unchanged");
	expect_u_eq(head_of(p)->nr_pages, (unsigned int)nr, "nr_pages unchanged");
	expect_lu_eq(tags_intact(p, nr, 2), nr, "contents");

	/* Down to one page and up again: the freed tail merged and is
	 * taken back. */
	assert_true(resize_pages_exact(p, PAGES(nr), PAGES(1)));
	expect_lu_eq(core_check_diag(), 0, "after shrinking to 1");
	assert_true(resize_pages_exact(p, PAGES(1), PAGES(777)));
	expect_lu_eq(core_check_diag(), 0, "after growing to 777");
	expect_true(free_pages_exact_checked(p, PAGES(777)));
	expect_pristine(zone, "after growing");
}
TEST_END

/*
 * Neighbours in the way. p (2 pages) at a block start, q (1 page) right
 * after it, a (1 page) after q. Growing into q fails; after q is freed,
 * growing by one page succeeds but by two (reaching a) fails, and each
 * failure leaves the zone exactly as it was.
 */
TEST_BEGIN(test_grow_blocked)
{
	struct zone *zone = zone_normal();
	struct zone_counts before, after;
	void *p, *q, *a;

	p = alloc_pages_exact(PAGES(2), __GFP_MOVABLE);
	q = alloc_pages_exact(PAGES(1), __GFP_MOVABLE);
	a = alloc_pages_exact(PAGES(1), __GFP_MOVABLE);
	assert_ptr_not_null(p);
	assert_ptr_not_null(q);
	assert_ptr_not_null(a);
	assert_ptr_eq(q, (char *)p + PAGES(2), "layout the test relies on");
	assert_ptr_eq(a, (char *)p + PAGES(3), "layout the test relies on");
	tag_pages(p, 0, 2, 3);
	tag_pages(q, 0, 1, 4);

	zone_counts(zone, &before);
	expect_false(resize_pages_exact(p, PAGES(2), PAGES(3)), "q is in the way");
	expect_false(resize_pages_exact(p, PAGES(2), PAGES(64)), "q is in the way");
	zone_counts(zone, &after);
	expect_true(same_counts(&before, &after), "nothing changed");
	expect_u_eq(head_of(p)->nr_pages, 2, "p unchanged");
	expect_u_eq(head_of(q)->nr_pages, 1, "q unchanged");
	expect_lu_eq(tags_intact(q, 1, 4), 1, "q's contents");
	expect_lu_eq(core_check_diag(), 0, "after refused growth");

	assert_true(free_pages_exact_checked(q, PAGE_SIZE));
	zone_counts(zone, &before);
	expect_false(resize_pages_exact(p, PAGES(2), PAGES(4)),
		     "the first page is free, the second is a's");
	zone_counts(zone, &after);
	expect_true(same_counts(&before, &after),
		    "verified before anything was taken");
	expect_lu_eq(core_check_diag(), 0, "after partial-free refusal");

	expect_true(resize_pages_exact(p, PAGES(2), PAGES(3)), "q's page is free");
	expect_lu_eq(tags_intact(p, 2, 3), 2, "p's contents");
	expect_lu_eq(core_check_diag(), 0, "after growing into q's page");

	/* Invalid heads and sizes: refused, nothing changed. */
	expect_false(resize_pages_exact(p, PAGES(2), PAGES(1)), "wrong old size");
	expect_false(resize_pages_exact((char *)p + PAGE_SIZE, PAGES(1), PAGES(2)),
		     "interior page");
	expect_false(resize_pages_exact((char *)p + 16, PAGES(3), PAGES(1)),
		     "unaligned");
	expect_false(resize_pages_exact(&before, PAGES(1), PAGES(2)), "foreign");
	expect_false(resize_pages_exact(p, PAGES(3), SIZE_MAX), "SIZE_MAX");
	expect_u_eq(head_of(p)->nr_pages, 3, "p unchanged");

	expect_true(free_pages_exact_checked(p, PAGES(3)));
	expect_true(free_pages_exact_checked(a, PAGES(1)));
	expect_pristine(zone, "after blocked growth");
}
TEST_END

/*
 * A block ending at the end of its section never grows: the next section
 * may be adjacent in the address space and free, but a block never spans
 * two sections (the descriptors are in two arrays, and the zones may
 * differ).
 */
TEST_BEGIN(test_grow_stops_at_section_end)
{
	struct zone *zone = zone_normal();
	struct page *blocks[PAGES_PER_SECTION / MAX_ORDER_NR_PAGES];
	unsigned long nblocks = PAGES_PER_SECTION / MAX_ORDER_NR_PAGES;
	struct page *last = NULL;
	struct zone_counts c;
	void *x, *y;

	zone_counts(zone, &c);
	assert_lu_eq(c.nr_sections, 1, "the test expects one section");
	for (unsigned long i = 0; i < nblocks; i++) {
		blocks[i] = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
		assert_ptr_not_null(blocks[i]);
		if ((page_to_pfn(blocks[i]) & (PAGES_PER_SECTION - 1)) ==
		    PAGES_PER_SECTION - MAX_ORDER_NR_PAGES)
			last = blocks[i];
	}
	assert_ptr_not_null(last, "no block at the section's end");
	zone_counts(zone, &c);
	assert_lu_eq(c.nr_sections, 1, "still one section");
	test_diag("next section %s",
		  pfn_to_section(page_to_pfn(last) + MAX_ORDER_NR_PAGES) ?
		  "is online and adjacent" : "is not adjacent");

	assert_true(free_pages_checked(last, MAX_PAGE_ORDER));
	x = alloc_pages_exact(PAGES(512), __GFP_MOVABLE);
	y = alloc_pages_exact(PAGES(512), __GFP_MOVABLE);
	assert_ptr_eq(x, page_address(last), "lower half");
	assert_ptr_eq(y, (char *)x + PAGES(512), "upper half, up to the end");
	assert_true(free_pages_exact_checked(x, PAGES(512)));

	expect_false(resize_pages_exact(y, PAGES(512), PAGES(513)),
		     "past the section's end");
	expect_u_eq(head_of(y)->nr_pages, 512, "unchanged");
	assert_true(resize_pages_exact(y, PAGES(512), PAGES(100)));
	expect_true(resize_pages_exact(y, PAGES(100), PAGES(512)),
		    "up to the end is fine");
	expect_lu_eq(core_check_diag(), 0, "at the section's end");

	expect_true(free_pages_exact_checked(y, PAGES(512)));
	for (unsigned long i = 0; i < nblocks; i++)
		if (blocks[i] != last)
			expect_true(free_pages_checked(blocks[i], MAX_PAGE_ORDER));
	expect_pristine(zone, "after the section-end test");
}
TEST_END

/* ------------------------------------------------------------- random */

#define NR_SLOTS	48
#define MAX_RANDOM_PAGES	300

struct slot {
	void *p;
	unsigned long nr;
	uint64_t salt;
};

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	return splitmix64(&rnd_state);
}

/*
 * Random allocations, frees, shrinks and growths of exact allocations of
 * mixed lifetimes, contents checked on every page, the checker every few
 * steps; growth must succeed sometimes and fail sometimes.
 */
TEST_BEGIN(test_random_resize)
{
	static struct slot slots[NR_SLOTS];
	unsigned long grown = 0, refused = 0, shrunk = 0;
	const unsigned long ops = 6000;

	rnd_state = test_seed(0x5eed0003) | 1;
	for (unsigned long op = 0; op < ops; op++) {
		struct slot *s = &slots[rnd() % NR_SLOTS];
		unsigned long to = 1 + rnd() % MAX_RANDOM_PAGES;

		if (!s->p) {
			s->p = alloc_pages_exact(PAGES(to), (gfp_t)(rnd() % 3));
			assert_ptr_not_null(s->p, "op %lu", op);
			s->nr = to;
			s->salt = rnd();
			tag_pages(s->p, 0, to, s->salt);
			continue;
		}
		assert_lu_eq(tags_intact(s->p, s->nr, s->salt), s->nr,
			     "contents at op %lu", op);
		if (rnd() % 4 == 0) {
			assert_true(free_pages_exact_checked(s->p, PAGES(s->nr)));
			s->p = NULL;
		} else if (resize_pages_exact(s->p, PAGES(s->nr), PAGES(to))) {
			grown += to > s->nr;
			shrunk += to < s->nr;
			if (to > s->nr)
				tag_pages(s->p, s->nr, to, s->salt);
			s->nr = to;
		} else {
			assert_lu_gt(to, s->nr, "a shrink failed at op %lu", op);
			refused++;
			assert_u_eq(head_of(s->p)->nr_pages, (unsigned int)s->nr);
		}
		if (op % 200 == 0)
			assert_lu_eq(core_check_diag(), 0, "at op %lu", op);
	}
	test_diag("grown %lu, refused %lu, shrunk %lu", grown, refused, shrunk);
	expect_lu_gt(grown, 0, "some growth succeeded");
	expect_lu_gt(refused, 0, "some growth was refused");
	for (int i = 0; i < NR_SLOTS; i++)
		if (slots[i].p)
			expect_true(free_pages_exact_checked(slots[i].p,
							     PAGES(slots[i].nr)));
	expect_lu_eq(core_check_diag(), 0, "at the end");
	expect_pristine(zone_normal(), "after the random run");
}
TEST_END

int main(void)
{
	buddy_lists_only();
	return test_run(test_exact_aligned,
			test_exact_aligned_bad_args,
			test_exact_aligned_zero,
			test_shrink,
			test_grow_into_free_pages,
			test_grow_blocked,
			test_grow_stops_at_section_end,
			test_random_resize,
			NULL);
}
