/*
 * fork_child.c - the core across fork() (core/fork.c).
 *
 * Nothing is locked across fork(); the child asks core_fork_busy() and
 * keeps the heap (core_fork_child(false)) or abandons it
 * (core_fork_child(true)).
 *
 * Quiet fork: nothing busy, the heap is kept, both processes allocate and
 * free afterwards and the checker finds nothing. Fork while another thread
 * allocates: whichever the child decides, it works and the checker is
 * clean.
 *
 * Abandon: the parent forks while holding a zone lock with a free list
 * half-updated, as a thread interrupted inside the core would leave them.
 * The child must find the core busy, and after abandoning find old blocks
 * readable, frees of them doing nothing, new allocations working on fresh
 * sections, and the checker clean.
 *
 * A child reports through its exit status (0: every check passed) and
 * through "#" diagnostic lines; it never prints a TAP result of its own.
 * An alarm kills a child that deadlocks.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_util.h"

#define MiB		(1UL << 20)
#define CHILD_TIMEOUT	30	/* seconds */

/* ------------------------------------------------------- child reports */

/* The child's exit status, as the parent's check. */
static void expect_child_ok(pid_t pid, const char *what)
{
	int status = 0;

	assert_d_eq(waitpid(pid, &status, 0), pid, "%s", what);
	if (WIFSIGNALED(status))
		test_fail("%s: child killed by signal %d%s", what,
			  WTERMSIG(status),
			  WTERMSIG(status) == SIGALRM ? " (deadlock?)" : "");
	else
		expect_d_eq(WEXITSTATUS(status), 0, "%s: child's checks", what);
}

static void fill(void *p, size_t size, unsigned char c)
{
	memset(p, c, size);
}

static bool filled(const void *p, size_t size, unsigned char c)
{
	for (size_t i = 0; i < size; i += 64)
		if (((const unsigned char *)p)[i] != c)
			return false;
	return ((const unsigned char *)p)[size - 1] == c;
}

/* What every child does with the core it has: allocate and free of every
 * kind, contents checked, and the checker clean at the end. */
static void child_exercise(void)
{
	struct page *pages[64];
	void *exact, *huge;

	for (int i = 0; i < 64; i++) {
		pages[i] = alloc_pages((gfp_t)(i % 3), (unsigned int)(i % 6));
		child_check(pages[i] != NULL);
		if (pages[i])
			fill(page_address(pages[i]), PAGE_SIZE, (unsigned char)i);
	}
	exact = alloc_pages_exact(13 * PAGE_SIZE, __GFP_MOVABLE);
	child_check(exact != NULL);
	child_check(exact && resize_pages_exact(exact, 13 * PAGE_SIZE, 5 * PAGE_SIZE));
	huge = huge_alloc(6 * MiB, 8 * MiB, 0);
	child_check(huge != NULL && ((uintptr_t)huge & (8 * MiB - 1)) == 0);
	if (huge)
		fill(huge, 6 * MiB, 0x77);
	for (int i = 0; i < 64; i++) {
		if (!pages[i])
			continue;
		child_check(filled(page_address(pages[i]), PAGE_SIZE,
				   (unsigned char)i));
		child_check(free_pages_checked(pages[i], (unsigned int)(i % 6)));
	}
	child_check(exact && free_pages_exact_checked(exact, 5 * PAGE_SIZE));
	child_check(huge && filled(huge, 6 * MiB, 0x77) && huge_free(huge));
	child_check(check_all_zones(NULL) == 0);
}

/* ------------------------------------------------------ ordinary fork */

TEST_BEGIN(test_fork_quiet)
{
	struct page *held = alloc_pages(0, 2);
	void *huge = huge_alloc(5 * MiB, 0, 0);
	pid_t pid;

	assert_ptr_not_null(held);
	assert_ptr_not_null(huge);
	fill(page_address(held), 4 * PAGE_SIZE, 0x21);

	pid = fork();
	if (pid == 0) {
		alarm(CHILD_TIMEOUT);
		child_check(!core_fork_busy());
		core_fork_child(false);
		/* The inherited heap is the child's own: its blocks free
		 * normally. */
		child_check(filled(page_address(held), 4 * PAGE_SIZE, 0x21));
		child_check(free_pages_checked(held, 2));
		child_check(huge_usable_size(huge) == 5 * MiB);
		child_check(huge_free(huge));
		child_exercise();
		child_exit();
	}
	assert_d_gt(pid, 0, "fork");
	expect_child_ok(pid, "quiet fork: the heap is kept");

	/* The parent is untouched by what the child did. */
	expect_true(filled(page_address(held), 4 * PAGE_SIZE, 0x21));
	expect_zu_eq(huge_usable_size(huge), 5 * MiB);
	expect_true(free_pages_checked(held, 2));
	expect_true(huge_free(huge));
	expect_lu_eq(core_check_diag(), 0, "parent after fork");
	drain_all_pages(NULL);
	expect_pristine(zone_normal(), "parent after fork");
}
TEST_END

static volatile int churn_stop;

/* Allocates and frees without pause, so that forks land while this
 * thread is inside the core. */
static void *churn(void *arg)
{
	(void)arg;
	while (!CMM_LOAD_SHARED(churn_stop)) {
		struct page *p = alloc_pages(__GFP_MOVABLE, 1);
		void *e = alloc_pages_exact(3 * PAGE_SIZE, 0);
		void *h = huge_alloc(5 * MiB, 0, 0);

		if (p)
			free_pages_checked(p, 1);
		if (e)
			free_pages_exact_checked(e, 3 * PAGE_SIZE);
		if (h)
			huge_free(h);
	}
	return NULL;
}

TEST_BEGIN(test_fork_while_another_thread_allocates)
{
	pthread_t thread;

	churn_stop = 0;
	assert_d_eq(pthread_create(&thread, NULL, churn, NULL), 0);
	for (int i = 0; i < 30; i++) {
		pid_t pid;

		pid = fork();
		if (pid == 0) {
			alarm(CHILD_TIMEOUT);
			core_fork_child(core_fork_busy());
			child_exercise();
			child_exit();
		}
		assert_d_gt(pid, 0, "fork %d", i);
		expect_child_ok(pid, "fork while allocating");
	}
	CMM_STORE_SHARED(churn_stop, 1);
	pthread_join(thread, NULL);
	expect_lu_eq(core_check_diag(), 0, "parent at the end");
	drain_all_pages(NULL);
	expect_pristine(zone_normal(), "parent at the end");
}
TEST_END

/* ------------------------------------------------------------ abandon */

struct old_heap {
	struct page *pages;		/* order 3 */
	void *exact;			/* 7 pages */
	void *exact2;			/* 9 pages */
	void *huge;			/* 5 MiB */
	void *huge2;			/* 6 MiB */
	void *huge3;			/* 7 MiB */
};

static void old_heap_alloc(struct old_heap *h)
{
	h->pages = alloc_pages(0, 3);
	h->exact = alloc_pages_exact(7 * PAGE_SIZE, __GFP_MOVABLE);
	h->exact2 = alloc_pages_exact(9 * PAGE_SIZE, 0);
	h->huge = huge_alloc(5 * MiB, 0, 0);
	h->huge2 = huge_alloc(6 * MiB, 0, 0);
	h->huge3 = huge_alloc(7 * MiB, 0, 0);
	assert_ptr_not_null(h->pages);
	assert_ptr_not_null(h->exact);
	assert_ptr_not_null(h->exact2);
	assert_ptr_not_null(h->huge);
	assert_ptr_not_null(h->huge2);
	assert_ptr_not_null(h->huge3);
	fill(page_address(h->pages), 8 * PAGE_SIZE, 0x31);
	fill(h->exact, 7 * PAGE_SIZE, 0x32);
	fill(h->exact2, 9 * PAGE_SIZE, 0x33);
	fill(h->huge, 5 * MiB, 0x34);
	fill(h->huge2, 6 * MiB, 0x35);
	fill(h->huge3, 7 * MiB, 0x36);
}

static void old_heap_free(struct old_heap *h)
{
	expect_true(free_pages_checked(h->pages, 3));
	expect_true(free_pages_exact_checked(h->exact, 7 * PAGE_SIZE));
	expect_true(free_pages_exact_checked(h->exact2, 9 * PAGE_SIZE));
	expect_true(huge_free(h->huge));
	expect_true(huge_free(h->huge2));
	expect_true(huge_free(h->huge3));
}

/* In the abandoning child: the old blocks as the brief promises them. */
static void child_check_old_heap(struct old_heap *h)
{
	void *q;

	child_check(page_abandoned(h->pages));
	child_check(filled(page_address(h->pages), 8 * PAGE_SIZE, 0x31));
	child_check(filled(h->exact, 7 * PAGE_SIZE, 0x32));
	child_check(filled(h->huge, 5 * MiB, 0x34));

	/* Frees of old blocks succeed and do nothing: still readable. */
	child_check(free_pages_checked(h->pages, 3));
	child_check(filled(page_address(h->pages), 8 * PAGE_SIZE, 0x31));
	child_check(free_pages_exact_checked(h->exact, 7 * PAGE_SIZE));
	child_check(filled(h->exact, 7 * PAGE_SIZE, 0x32));

	/* Old exact blocks never grow; shrinking keeps every page. */
	child_check(!resize_pages_exact(h->exact2, 9 * PAGE_SIZE, 10 * PAGE_SIZE));
	child_check(resize_pages_exact(h->exact2, 9 * PAGE_SIZE, 2 * PAGE_SIZE));
	child_check(filled(h->exact2, 9 * PAGE_SIZE, 0x33));

	/* Old huge blocks: known, freed as a no-op once, then forgotten. */
	child_check(huge_usable_size(h->huge) == 5 * MiB);
	child_check(huge_free(h->huge));
	child_check(filled(h->huge, 5 * MiB, 0x34));
	child_check(huge_usable_size(h->huge) == 0);
	child_check(!huge_free(h->huge));

	/* realloc moves an old huge block into the child's own table. */
	q = huge_realloc(h->huge2, 40 * MiB);
	child_check(q != NULL);
	child_check(q && filled(q, 6 * MiB, 0x35));
	child_check(q && huge_usable_size(q) == 40 * MiB);
	child_check(q && huge_free(q));
}

static void child_check_fresh_zones(void)
{
	struct zone *zone = zone_normal();
	struct page *page = alloc_pages(0, 0);
	char buf[4096];
	struct seq_buf s;

	/* New allocations come from new sections of the emptied zone. */
	child_check(page != NULL);
	child_check(page && !page_abandoned(page));
	child_check(zone->nr_sections == 1);
	child_check(page && free_pages_checked(page, 0));
	drain_all_pages(NULL);
	child_check(zone_pristine(zone));
	child_check(check_all_zones(NULL) == 0);

	/* The reports read the zones' current sections only. */
	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	buddyinfo_show(&s);
	child_check(strstr(buf, "zone   Normal") != NULL);
	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	pagetypeinfo_show(&s);
	child_check(strstr(buf, "Number of blocks type") != NULL);
}

/*
 * The parent holds the NORMAL zone's lock with one max-order block taken
 * off its free list but not yet put anywhere (a half-done update), and the
 * huge lock, then forks. A child that trusted this state would deadlock on
 * the locks or find the counters wrong; an abandoning one does neither.
 */
TEST_BEGIN(test_abandon)
{
	struct zone *zone = zone_normal();
	struct old_heap h;
	struct page *torn;
	pid_t pid;

	old_heap_alloc(&h);
	zone_lock(zone);
	torn = cds_list_first_entry(
		&zone->free_area[MAX_PAGE_ORDER].free_list[MIGRATE_MOVABLE],
		struct page, lru);
	__del_page_from_free_list(torn, zone, MAX_PAGE_ORDER);

	pid = fork();
	if (pid == 0) {
		alarm(CHILD_TIMEOUT);
		child_check(core_fork_busy());	/* the zone lock is held */
		core_fork_child(true);
		child_check_old_heap(&h);
		child_check_fresh_zones();
		child_exercise();
		child_exit();
	}
	/* The parent finishes its "interrupted" update. */
	__add_to_free_list(torn, zone, MAX_PAGE_ORDER, MIGRATE_MOVABLE, false);
	zone_unlock(zone);
	assert_d_gt(pid, 0, "fork");
	expect_child_ok(pid, "abandoning child");

	/* The parent's heap is its own still. */
	expect_true(filled(h.huge, 5 * MiB, 0x34));
	expect_zu_eq(huge_usable_size(h.huge2), 6 * MiB);
	old_heap_free(&h);
	expect_lu_eq(core_check_diag(), 0, "parent after the abandoning child");
	drain_all_pages(NULL);
	expect_pristine(zone, "parent after the abandoning child");
}
TEST_END

/*
 * Abandon twice: a child abandons, allocates a heap of its own, and its
 * child abandons again. Blocks of both generations stay readable and
 * known to huge_usable_size(), and frees of either do nothing.
 */
TEST_BEGIN(test_abandon_twice)
{
	struct old_heap h;
	pid_t pid;

	old_heap_alloc(&h);
	pid = fork();
	if (pid == 0) {
		void *mid_huge, *mid_exact;
		pid_t grandchild;
		int status = 0;

		alarm(CHILD_TIMEOUT);
		core_fork_child(true);
		mid_huge = huge_alloc(9 * MiB, 0, 0);
		mid_exact = alloc_pages_exact(3 * PAGE_SIZE, 0);
		child_check(mid_huge && mid_exact);
		if (!mid_huge || !mid_exact)
			child_exit();
		fill(mid_huge, 9 * MiB, 0x41);
		fill(mid_exact, 3 * PAGE_SIZE, 0x42);

		grandchild = fork();
		if (grandchild == 0) {
			core_fork_child(true);
			child_check(huge_usable_size(h.huge3) == 7 * MiB);
			child_check(huge_usable_size(mid_huge) == 9 * MiB);
			child_check(filled(mid_huge, 9 * MiB, 0x41));
			child_check(page_abandoned(virt_to_page(mid_exact)));
			child_check(free_pages_exact_checked(mid_exact, 3 * PAGE_SIZE));
			child_check(filled(mid_exact, 3 * PAGE_SIZE, 0x42));
			child_check(huge_free(mid_huge));
			child_check(huge_free(h.huge3));
			child_check(filled(mid_huge, 9 * MiB, 0x41));
			child_check(filled(h.huge3, 7 * MiB, 0x36));
			child_check(!huge_free(mid_huge));
			child_check(!huge_free(h.huge3));
			child_exercise();
			child_exit();
		}
		child_check(grandchild > 0);
		child_check(waitpid(grandchild, &status, 0) == grandchild);
		child_check(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		/* The middle generation's own blocks are still its own. */
		child_check(huge_free(mid_huge));
		child_check(free_pages_exact_checked(mid_exact, 3 * PAGE_SIZE));
		child_check(check_all_zones(NULL) == 0);
		drain_all_pages(NULL);
		child_check(zone_pristine(zone_normal()));
		child_exit();
	}
	assert_d_gt(pid, 0, "fork");
	expect_child_ok(pid, "abandoning twice");
	old_heap_free(&h);
	expect_lu_eq(core_check_diag(), 0);
}
TEST_END

int main(void)
{
	return test_run(test_fork_quiet,
			test_fork_while_another_thread_allocates,
			test_abandon,
			test_abandon_twice,
			NULL);
}
