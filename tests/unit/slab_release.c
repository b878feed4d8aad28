/*
 * slab_release.c - unit tests of the free pages inside slabs
 * (slab.c, "free pages inside slabs"): a class whose slabs span several
 * pages, its slabs each keeping one live object, the pages only free
 * objects cover given back to the OS, and what must hold afterwards.
 *
 * The class is 3 KiB: slabs of 4 pages, 5 objects each,
 *
 *	page      0           1           2           3
 *	object  [ 0 ][  1  ][  2  ][ 3 ]  [ 4 ][tail]
 *
 * object 1 straddles pages 0 and 1, object 2 pages 1 and 2. Slab k keeps
 * object k % 5, so every position is kept by some slab, the straddling
 * ones included, and the expected pages are worked out here from the
 * layout, independently of slab.c.
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit_util.h"

#include "slab_internal.h"

#define OBJ_SIZE	3072u
#define NR_OBJS		4000

static void *objs[NR_OBJS];

static unsigned long violations(void)
{
	return check_all_zones(NULL);
}

static void fill(void *p, unsigned int seed)
{
	uint32_t *w = p;

	for (unsigned int i = 0; i < OBJ_SIZE / 4; i++)
		w[i] = seed * 2654435761u + i;
}

static bool intact(const void *p, unsigned int seed)
{
	const uint32_t *w = p;

	for (unsigned int i = 0; i < OBJ_SIZE / 4; i++)
		if (w[i] != seed * 2654435761u + i)
			return false;
	return true;
}

/* The pages of a slab of the class that object kept does not touch, from
 * the layout alone: the slab's pages minus those [kept * size, end) covers. */
static unsigned int pages_without(const struct kmem_cache *cache, unsigned int kept)
{
	size_t start = (size_t)kept * cache->size, end = start + cache->size;

	return (1u << cache->order) -
	       (unsigned int)(((end - 1) >> PAGE_SHIFT) - (start >> PAGE_SHIFT) + 1);
}

struct seen_slab {
	struct slab *slab;
	unsigned int kept;	/* index of the object it keeps */
	bool held;		/* the test holds that object */
};

static struct seen_slab seen[NR_OBJS];
static unsigned int nr_seen;

static struct seen_slab *seen_of(struct slab *slab)
{
	for (unsigned int i = 0; i < nr_seen; i++)
		if (seen[i].slab == slab)
			return &seen[i];
	seen[nr_seen].slab = slab;
	seen[nr_seen].kept = nr_seen % 5;
	seen[nr_seen].held = false;
	return &seen[nr_seen++];
}

/*
 * Free every object of objs but one per slab (slab k keeps object k % 5),
 * and the per-CPU caches' objects back into their slabs. Returns the pages
 * then covered only by free objects in the slabs that keep an object of
 * the test. A slab whose kept object sat in a per-CPU cache empties and
 * goes back to the core.
 */
static unsigned long keep_one_per_slab(void)
{
	unsigned long expect = 0;

	nr_seen = 0;
	for (unsigned int i = 0; i < NR_OBJS; i++)
		seen_of(cache_slab_of(objs[i]));
	for (unsigned int i = 0; i < NR_OBJS; i++) {
		struct slab *slab = cache_slab_of(objs[i]);
		struct seen_slab *ss = seen_of(slab);

		if ((unsigned long)object_index(slab, objs[i]) == ss->kept) {
			ss->held = true;
			continue;
		}
		expect_d_eq(kfree(objs[i]), KFREE_OK, "free %u", i);
		objs[i] = NULL;
	}
	for (unsigned int s = 0; s < nr_seen; s++)
		if (seen[s].held)
			expect += pages_without(seen[s].slab->cache, seen[s].kept);
	/* The freed objects back in their slabs, and no spare slab (which
	 * a release would count): slab_shrink() without its release, which
	 * is the tests' to do. */
	slab_drain();
	return expect;
}

static void check_contents(const char *what)
{
	for (unsigned int i = 0; i < NR_OBJS; i++)
		if (objs[i] && !intact(objs[i], i)) {
			test_fail("object %u lost its contents %s", i, what);
			return;
		}
}

TEST_BEGIN(test_release_free_pages_in_slabs)
{
	struct kmem_cache *cache;
	unsigned long expect, released, in_use0, steal0;
	size_t rss_full, rss_released;

	for (unsigned int i = 0; i < NR_OBJS; i++) {
		objs[i] = kmalloc(OBJ_SIZE, 0);
		assert_ptr_not_null(objs[i], "object %u", i);
		fill(objs[i], i);
	}
	cache = cache_slab_of(objs[0])->cache;
	assert_u_eq(cache->size, OBJ_SIZE, "the class");
	assert_u_eq(cache->order, 2, "slabs of 4 pages");
	assert_u_eq(cache->objects, 5, "5 objects per slab");

	expect = keep_one_per_slab();
	in_use0 = pages_released_in_use();
	steal0 = vm_event(PGSTEAL_SLAB);
	rss_full = test_rss_bytes();
	released = slab_release_free_pages();
	rss_released = test_rss_bytes();
	test_diag("%u slabs, %lu pages expected free, %lu released; rss %zu -> %zu",
		  nr_seen, expect, released, rss_full, rss_released);
	expect_lu_eq(released, expect, "every free page of the slabs released");
	expect_lu_eq(pages_released_in_use() - in_use0, released,
		     "the core counts them");
	expect_lu_eq(vm_event(PGSTEAL_SLAB) - steal0, released,
		     "pgsteal_slab counts them");
	expect_zu_le(rss_released + expect * PAGE_SIZE * 9 / 10, rss_full,
		     "the resident set shrank by the free pages");
	check_contents("after the release");
	expect_lu_eq(slab_release_free_pages(), 0, "a second release: nothing new");
	expect_lu_eq(violations(), 0, "core consistent");

	/* Allocated again: every free object of those slabs is handed out
	 * (the partial slabs serve before any new one), so every released
	 * page is the slabs' own again; the objects work, zeroed ones are
	 * zero. */
	for (unsigned int i = 0; i < NR_OBJS; i++) {
		if (objs[i])
			continue;
		if (i % 2) {
			unsigned char *z = kmalloc(OBJ_SIZE, __GFP_ZERO);

			assert_ptr_not_null(z, "zeroed object %u", i);
			for (unsigned int b = 0; b < OBJ_SIZE; b++)
				if (z[b]) {
					test_fail("zeroed object %u byte %u is %u",
						  i, b, z[b]);
					break;
				}
			objs[i] = z;
		} else {
			objs[i] = kmalloc(OBJ_SIZE, 0);
			assert_ptr_not_null(objs[i], "object %u", i);
		}
		fill(objs[i], i);
	}
	check_contents("allocated again");
	expect_lu_eq(pages_released_in_use(), in_use0,
		     "every released page handed out again");
	slab_release_free_pages();
	check_contents("allocated again, after a release");
	expect_lu_eq(violations(), 0, "core consistent");

	/* Released again, then every slab emptied: freed slabs take their
	 * released pages out of the count. */
	expect = keep_one_per_slab();
	expect_lu_ge(slab_release_free_pages(), expect, "released once more");
	check_contents("after the second release");
	for (unsigned int i = 0; i < NR_OBJS; i++)
		if (objs[i])
			expect_d_eq(kfree(objs[i]), KFREE_OK, "free %u", i);
	slab_shrink();
	expect_lu_eq(pages_released_in_use(), in_use0,
		     "no count left for freed slabs");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

/* malloc_trim's path (kmem_trim) releases them too, and resident_bytes of
 * kmem_stats leaves them out. */
TEST_BEGIN(test_trim_releases_free_pages_in_slabs)
{
	struct kmem_stats trimmed, emptied;
	unsigned long expect, in_use0;

	for (unsigned int i = 0; i < NR_OBJS; i++) {
		objs[i] = kmalloc(OBJ_SIZE, 0);
		assert_ptr_not_null(objs[i], "object %u", i);
		fill(objs[i], i);
	}
	expect = keep_one_per_slab();
	in_use0 = pages_released_in_use();
	kmem_trim();	/* the core's free pages too: compare stats after it */
	expect_lu_eq(pages_released_in_use() - in_use0, expect,
		     "kmem_trim released the free pages in slabs");
	kmem_stats(&trimmed);
	expect_zu_eq(trimmed.slab_released_bytes, pages_released_in_use() * PAGE_SIZE,
		     "kmem_stats reports them");
	check_contents("after kmem_trim");
	for (unsigned int i = 0; i < NR_OBJS; i++)
		if (objs[i])
			expect_d_eq(kfree(objs[i]), KFREE_OK, "free %u", i);
	slab_shrink();
	kmem_stats(&emptied);
	/* Every slab of the class went back: as many bytes resident again. */
	expect_zu_eq(emptied.resident_bytes, trimmed.resident_bytes +
		     expect * PAGE_SIZE, "freed slabs' pages count as resident");
	expect_lu_eq(pages_released_in_use(), in_use0, "count back");
	expect_lu_eq(violations(), 0, "core consistent");
}
TEST_END

int main(void)
{
	cpu_set_t one;

	/* The releases here are the test's own calls: no decay, which would
	 * release the same pages in the background (direct reclaim, under no
	 * budget pressure here, does not run). */
	core_config.decay_ms = 0;
	/* One CPU throughout: "allocated again" counts on the objects being
	 * handed out from the partial slabs, and a thread moved to another
	 * CPU would get some from that CPU's per-CPU stack instead, leaving
	 * released pages released (it happened once under load). */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		printf("# cannot pin to one CPU: the test may fail under load\n");
	return test_run(test_release_free_pages_in_slabs,
			test_trim_releases_free_pages_in_slabs, NULL);
}
