/*
 * page_owner.c - who may free an allocated block. The gfp owner bit given
 * at allocation (__GFP_LARGE_KMALLOC, __GFP_PAGE_API, or none) is recorded
 * on the head page as PG_large_kmalloc, PG_page_api or nothing; the checked
 * frees and the resize take the owner they expect and refuse every other
 * block, a slab's pages included, without changing anything.
 * (The interfaces above, malloc and the page API, are tested through the
 * shipped library in tests/preload/bad_free.c and in unit/slab.c.)
 */
#include <sys/wait.h>
#include <unistd.h>

#include "unit_util.h"

static struct zone *zone;

static const struct {
	gfp_t gfp;
	unsigned int flag;
	const char *name;
} owners[] = {
	{ 0, 0, "the allocator's own" },
	{ __GFP_LARGE_KMALLOC, PG_large_kmalloc, "large kmalloc" },
	{ __GFP_PAGE_API, PG_page_api, "page API" },
};

#define NR_OWNERS	(sizeof(owners) / sizeof(owners[0]))

TEST_BEGIN(test_owner_is_recorded)
{
	for (size_t o = 0; o < NR_OWNERS; o++) {
		struct page *page = alloc_pages(owners[o].gfp | __GFP_MOVABLE, 2);
		void *exact = alloc_pages_exact_aligned(5 * PAGE_SIZE, 4,
							owners[o].gfp);

		assert_ptr_not_null(page, "%s: alloc_pages", owners[o].name);
		assert_ptr_not_null(exact, "%s: exact", owners[o].name);
		expect_u_eq(page->flags, PG_head | owners[o].flag,
			    "%s: head flags", owners[o].name);
		expect_u_eq(virt_to_page(exact)->flags, PG_head | owners[o].flag,
			    "%s: exact head flags", owners[o].name);
		for (unsigned long i = 1; i < 5; i++)
			expect_u_eq(virt_to_page(exact)[i].flags, 0,
				    "%s: page %lu inside", owners[o].name, i);
		expect_true(free_pages_owned(page, 2, owners[o].flag),
			    "%s: free", owners[o].name);
		expect_true(free_pages_exact_owned(exact, 5 * PAGE_SIZE,
						   owners[o].flag),
			    "%s: exact free", owners[o].name);
	}
	errno = 0;
	expect_ptr_null(alloc_pages(GFP_OWNER_MASK, 0), "two owners");
	expect_d_eq(errno, EINVAL, "two owners: EINVAL");
	drain_all_pages(NULL);
	expect_pristine(zone, "at the end");
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

TEST_BEGIN(test_other_owners_are_refused)
{
	for (size_t o = 0; o < NR_OWNERS; o++) {
		struct page *page = alloc_pages(owners[o].gfp, 3);
		void *exact = alloc_pages_exact(7 * PAGE_SIZE, owners[o].gfp);
		struct zone_counts before, now;

		assert_ptr_not_null(page, "%s: alloc_pages", owners[o].name);
		assert_ptr_not_null(exact, "%s: exact", owners[o].name);
		zone_counts(zone, &before);
		for (size_t w = 0; w < NR_OWNERS; w++) {
			if (w == o)
				continue;
			expect_false(free_pages_owned(page, 3, owners[w].flag),
				     "%s block freed as %s", owners[o].name,
				     owners[w].name);
			expect_false(free_pages_exact_owned(page_address(page),
							    8 * PAGE_SIZE,
							    owners[w].flag),
				     "%s block freed exact as %s",
				     owners[o].name, owners[w].name);
			expect_false(free_pages_exact_owned(exact, 7 * PAGE_SIZE,
							    owners[w].flag),
				     "%s exact block freed as %s",
				     owners[o].name, owners[w].name);
			expect_false(resize_pages_exact_owned(exact, 7 * PAGE_SIZE,
							      2 * PAGE_SIZE,
							      owners[w].flag),
				     "%s exact block resized as %s",
				     owners[o].name, owners[w].name);
		}
		zone_counts(zone, &now);
		expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
			    "%s: refused frees change nothing", owners[o].name);
		expect_u_eq(page->flags, PG_head | owners[o].flag,
			    "%s: still allocated", owners[o].name);
		expect_true(resize_pages_exact_owned(exact, 7 * PAGE_SIZE,
						     2 * PAGE_SIZE, owners[o].flag),
			    "%s: its own resize", owners[o].name);
		expect_u_eq(virt_to_page(exact)->flags, PG_head | owners[o].flag,
			    "%s: the resize keeps the owner", owners[o].name);
		expect_true(free_pages_owned(page, 3, owners[o].flag),
			    "%s: its own free", owners[o].name);
		expect_true(free_pages_exact_owned(exact, 2 * PAGE_SIZE,
						   owners[o].flag),
			    "%s: its own exact free", owners[o].name);
	}
	drain_all_pages(NULL);
	expect_pristine(zone, "at the end");
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

/* Pages marked as a slab's, as slab/ marks them, are no one's to free
 * until slab/ clears the marks. */
TEST_BEGIN(test_slab_pages_are_refused)
{
	struct page *page = alloc_pages(0, 1);
	struct zone_counts before, now;

	assert_ptr_not_null(page, "alloc");
	page[0].flags |= PG_slab;
	page[1].flags |= PG_slab;
	zone_counts(zone, &before);
	for (size_t w = 0; w < NR_OWNERS; w++) {
		expect_false(free_pages_owned(page, 1, owners[w].flag),
			     "slab freed as %s", owners[w].name);
		expect_false(free_pages_exact_owned(page_address(page),
						    2 * PAGE_SIZE, owners[w].flag),
			     "slab freed exact as %s", owners[w].name);
	}
	zone_counts(zone, &now);
	expect_d_eq(memcmp(&now, &before, sizeof(now)), 0,
		    "refused frees change nothing");
	page[1].flags = 0;
	page[0].flags &= ~PG_slab;
	expect_true(free_pages_checked(page, 1), "free once unmarked");
	drain_all_pages(NULL);
	expect_pristine(zone, "at the end");
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

/* The core's checker knows where owner flags may be. */
TEST_BEGIN(test_checker_sees_misplaced_owners)
{
	struct page *page = alloc_pages(__GFP_PAGE_API, 2);

	assert_ptr_not_null(page, "alloc");
	expect_lu_eq(check_all_zones(NULL), 0, "clean");
	page->flags |= PG_large_kmalloc;
	expect_lu_gt(check_all_zones(NULL), 0, "a head with two owners");
	page->flags &= ~PG_large_kmalloc;
	page[1].flags = PG_page_api;
	expect_lu_gt(check_all_zones(NULL), 0, "an owner inside a block");
	page[1].flags = 0;
	expect_lu_eq(check_all_zones(NULL), 0, "clean again");
	expect_true(free_pages_owned(page, 2, PG_page_api), "free");
	drain_all_pages(NULL);
	expect_pristine(zone, "at the end");
}
TEST_END

/*
 * A child that abandoned the heap it inherited (fork.c) frees nothing of
 * it, but still tells owners apart: an old block of one interface is not
 * the other's to free, even as a no-op.
 */
TEST_BEGIN(test_abandoned_blocks_keep_their_owner)
{
	struct page *api = alloc_pages(__GFP_PAGE_API, 2);
	void *large = alloc_pages_exact(5 * PAGE_SIZE, __GFP_LARGE_KMALLOC);
	int status = 0;
	pid_t pid;

	assert_ptr_not_null(api, "page API block");
	assert_ptr_not_null(large, "large kmalloc block");
	pid = fork();
	assert_d_ge(pid, 0, "fork");
	if (pid == 0) {
		bool ok;

		alarm(30);
		core_fork_child(true);
		ok = page_abandoned(api) &&
		     !free_pages_owned(api, 2, PG_large_kmalloc) &&
		     !free_pages_owned(api, 2, 0) &&
		     !free_pages_exact_owned(large, 5 * PAGE_SIZE, PG_page_api) &&
		     !resize_pages_exact_owned(large, 5 * PAGE_SIZE, PAGE_SIZE,
					       PG_page_api) &&
		     free_pages_owned(api, 2, PG_page_api) &&
		     free_pages_exact_owned(large, 5 * PAGE_SIZE, PG_large_kmalloc);
		_exit(ok ? 0 : 1);
	}
	assert_d_eq(waitpid(pid, &status, 0), pid, "waitpid");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "the child's checks (status %#x)", status);
	expect_true(free_pages_owned(api, 2, PG_page_api), "free");
	expect_true(free_pages_exact_owned(large, 5 * PAGE_SIZE,
					   PG_large_kmalloc), "free");
	drain_all_pages(NULL);
	expect_pristine(zone, "at the end");
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	zone = zone_normal();
	return test_run(test_owner_is_recorded,
			test_other_owners_are_refused,
			test_slab_pages_are_refused,
			test_checker_sees_misplaced_owners,
			test_abandoned_blocks_keep_their_owner,
			NULL);
}
