/*
 * sparse.c - sections (core/sparse.c): zones online 128 MiB sections on
 * demand up to core_config.zone_max_sections, the LOW32 zone's memory lies
 * below 4 GiB, and the lock-free address -> section -> page lookup answers
 * for every kind of pointer, ours or not.
 *
 * NORMAL may online NORMAL_SECTIONS sections, LOW32 one. The first test
 * runs before any allocation: it needs this process's core untouched.
 */
#include <stdint.h>

#include <pthread.h>

#include "unit_util.h"

#define NORMAL_SECTIONS	3
#define LOW32_SECTIONS	1
#define BLOCKS_PER_SECTION	(PAGES_PER_SECTION / MAX_ORDER_NR_PAGES)
#define LOW32_LIMIT	(1ULL << 32)

#define MAX_BLOCKS	((NORMAL_SECTIONS + LOW32_SECTIONS) * BLOCKS_PER_SECTION + 1)
static struct page *blocks[MAX_BLOCKS];
static size_t nr_blocks;

static void free_blocks(void)
{
	while (nr_blocks)
		expect_true(free_pages_checked(blocks[--nr_blocks], MAX_PAGE_ORDER),
			    "free block %zu", nr_blocks);
}

/* The section list of a zone is sane: linked, published, aligned. */
static void expect_sections_sane(struct zone *zone)
{
	unsigned long n = 0;

	zone_lock(zone);
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next) {
		n++;
		expect_lx_eq(ms->start_pfn & (PAGES_PER_SECTION - 1), 0,
			     "%s: section aligned to 128 MiB", zone->name);
		expect_lu_eq(ms->section_nr, pfn_to_section_nr(ms->start_pfn),
			     "%s: section_nr", zone->name);
		expect_ptr_eq(mem_section[ms->section_nr], ms,
			      "%s: published in mem_section[]", zone->name);
		expect_ptr_eq(pfn_to_section(ms->start_pfn + 12345), ms,
			      "%s: pfn_to_section", zone->name);
		expect_ptr_eq(ms->zone, zone, "%s: owner", zone->name);
		expect_ptr_eq(page_section(&ms->mem_map[PAGES_PER_SECTION - 1]), ms,
			      "%s: page_section() of the last descriptor",
			      zone->name);
		if (zone->zone_idx == ZONE_LOW32)
			expect_true(((uint64_t)ms->start_pfn << PAGE_SHIFT) +
				    SECTION_SIZE <= LOW32_LIMIT,
				    "LOW32 section %#lx below 4 GiB",
				    ms->start_pfn << PAGE_SHIFT);
		if (n > zone->nr_sections)
			break;
	}
	expect_lu_eq(n, zone->nr_sections, "%s: sections on the list", zone->name);
	expect_lu_eq(zone->present_pages, zone->nr_sections * PAGES_PER_SECTION,
		     "%s: present_pages", zone->name);
	zone_unlock(zone);
}

TEST_BEGIN(test_zones_start_empty)
{
	struct zone *normal = zone_normal(), *low32 = zone_low32();

	expect_str_eq(normal->name, "Normal", "NORMAL's name");
	expect_str_eq(low32->name, "Low32", "LOW32's name");
	expect_d_eq(normal->zone_idx, ZONE_NORMAL, "index");
	expect_d_eq(low32->zone_idx, ZONE_LOW32, "index");
	expect_lu_eq(normal->max_sections, NORMAL_SECTIONS,
		     "NORMAL's limit from core_config");
	expect_lu_eq(low32->max_sections, LOW32_SECTIONS,
		     "LOW32's limit from core_config");
	for (int idx = 0; idx < MAX_NR_ZONES; idx++) {
		struct zone *z = zone_of((enum zone_type)idx);

		expect_lu_eq(z->present_pages, 0, "%s before any allocation", z->name);
		expect_lu_eq(z->nr_sections, 0, "%s", z->name);
		expect_ptr_null(z->sections, "%s", z->name);
		expect_lu_eq(z->nr_free_pages, 0, "%s", z->name);
		expect_false(populated_zone(z), "%s not populated", z->name);
	}
	/* An invalid request fails before anything is mapped. */
	errno = 0;
	expect_ptr_null(alloc_pages(0, MAX_PAGE_ORDER + 1), "order 11");
	expect_d_eq(errno, EINVAL, "order 11 is EINVAL");
	errno = 0;
	expect_ptr_null(alloc_pages(__GFP_MOVABLE | __GFP_RECLAIMABLE, 0),
			"both lifetime bits");
	expect_d_eq(errno, EINVAL, "both lifetime bits are EINVAL");
	expect_lu_eq(normal->present_pages, 0, "still nothing online");
}
TEST_END

/* Sections onlined, and how many of them mapped their memory while the
 * zone lock was free (no system call under zone->lock). */
static unsigned long onlined, onlined_unlocked;

static void online_hook(struct zone *zone)
{
	onlined++;
	onlined_unlocked += fork_lock_free(&zone->lock);
}

TEST_BEGIN(test_sections_online_on_demand_to_the_limit)
{
	struct zone *normal = zone_normal(), *low32 = zone_low32();
	struct page *page;

	test_online_section_hook = online_hook;

	/* NORMAL grows a section each time its max-order blocks run out. */
	for (size_t i = 0; i < NORMAL_SECTIONS * BLOCKS_PER_SECTION; i++) {
		struct mem_section *newest_before = normal->sections;

		page = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
		assert_ptr_not_null(page, "block %zu", i);
		blocks[nr_blocks++] = page;
		assert_ptr_eq(page_zone(page), normal, "block %zu in NORMAL", i);
		expect_lu_eq(normal->nr_sections, i / BLOCKS_PER_SECTION + 1,
			     "sections after %zu blocks", i + 1);
		expect_lu_eq(normal->present_pages,
			     normal->nr_sections * PAGES_PER_SECTION,
			     "present_pages after %zu blocks", i + 1);
		if (i % BLOCKS_PER_SECTION == 0) {
			expect_ptr_ne(normal->sections, newest_before,
				      "a new section for block %zu", i);
			expect_ptr_eq(page_section(page), normal->sections,
				      "block %zu is in the newest section", i);
		}
	}
	expect_sections_sane(normal);
	expect_lu_eq(onlined, NORMAL_SECTIONS, "sections mapped");
	expect_lu_eq(onlined_unlocked, onlined,
		     "every section mapped without the zone lock held");
	test_online_section_hook = NULL;
	expect_lu_eq(normal->nr_free_pages, 0, "NORMAL full");
	expect_lu_eq(low32->present_pages, 0, "LOW32 untouched so far");

	/* NORMAL at its limit: the zonelist falls back to LOW32. */
	for (size_t i = 0; i < LOW32_SECTIONS * BLOCKS_PER_SECTION; i++) {
		page = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
		assert_ptr_not_null(page, "LOW32 fallback block %zu", i);
		blocks[nr_blocks++] = page;
		expect_ptr_eq(page_zone(page), low32,
			      "a NORMAL request served by LOW32 (block %zu)", i);
	}
	expect_lu_eq(normal->nr_sections, NORMAL_SECTIONS, "NORMAL at its limit");
	expect_lu_eq(low32->nr_sections, LOW32_SECTIONS, "LOW32 at its limit");

	/* Both at their limits: ENOMEM, for every order and type. */
	for (unsigned int o = 0; o <= MAX_PAGE_ORDER; o += 5) {
		errno = 0;
		expect_ptr_null(alloc_pages(__GFP_MOVABLE, o), "order %u", o);
		expect_d_eq(errno, ENOMEM, "order %u fails with ENOMEM", o);
		errno = 0;
		expect_ptr_null(alloc_pages(__GFP_LOW32, o), "LOW32 order %u", o);
		expect_d_eq(errno, ENOMEM, "LOW32 order %u fails with ENOMEM", o);
	}
	errno = 0;
	expect_ptr_null(alloc_pages_exact(1, 0), "exact, one byte");
	expect_d_eq(errno, ENOMEM, "exact fails with ENOMEM");
	expect_lu_eq(normal->nr_sections, NORMAL_SECTIONS, "no section beyond the limit");
	expect_lu_eq(low32->nr_sections, LOW32_SECTIONS, "no section beyond the limit");

	/* One block back to NORMAL: NORMAL serves again. */
	expect_true(free_pages_checked(blocks[0], MAX_PAGE_ORDER), "free one");
	page = alloc_pages(0, 3);
	assert_ptr_not_null(page, "after a free");
	expect_ptr_eq(page_zone(page), normal, "from NORMAL");
	expect_true(free_pages_checked(page, 3), "free it");
	blocks[0] = alloc_pages(__GFP_MOVABLE, MAX_PAGE_ORDER);
	assert_ptr_not_null(blocks[0], "the block again");

	free_blocks();
	expect_pristine(normal, "NORMAL after freeing everything");
	expect_pristine(low32, "LOW32 after freeing everything");
	expect_lu_eq(normal->present_pages, NORMAL_SECTIONS * PAGES_PER_SECTION,
		     "sections stay online");
	expect_consistent(NULL, 0, "after the limit test");
}
TEST_END

TEST_BEGIN(test_low32_memory_is_below_4g)
{
	struct zone *low32 = zone_low32(), *normal = zone_normal();

	for (unsigned int o = 0; o <= MAX_PAGE_ORDER; o++) {
		gfp_t gfp = __GFP_LOW32 | (o % 3 == 1 ? __GFP_MOVABLE :
					   o % 3 == 2 ? __GFP_RECLAIMABLE : 0);
		struct page *page = alloc_pages(gfp, o);
		uint64_t start, end;

		assert_ptr_not_null(page, "LOW32 order %u", o);
		start = (uintptr_t)page_address(page);
		end = start + (PAGE_SIZE << o);
		expect_ptr_eq(page_zone(page), low32, "order %u in LOW32", o);
		expect_true(end <= LOW32_LIMIT, "order %u at %#lx ends below 4 GiB",
			    o, (unsigned long)start);
		blocks[nr_blocks++] = page;
	}
	while (nr_blocks) {
		unsigned int o = (unsigned int)--nr_blocks;	/* order == index */

		expect_true(free_pages_checked(blocks[o], o), "free order %u", o);
	}
	/* Exact allocations too. */
	{
		void *p = alloc_pages_exact(3 * PAGE_SIZE + 1, __GFP_LOW32);

		assert_ptr_not_null(p, "LOW32 exact");
		expect_true((uintptr_t)p + 4 * PAGE_SIZE <= LOW32_LIMIT, "below 4 GiB");
		expect_ptr_eq(page_zone(virt_to_page(p)), low32, "in LOW32");
		expect_true(free_pages_exact_checked(p, 3 * PAGE_SIZE + 1), "free");
	}
	/* LOW32 full: a LOW32 request fails, NORMAL memory does not help. */
	for (size_t i = 0; i < LOW32_SECTIONS * BLOCKS_PER_SECTION; i++) {
		blocks[nr_blocks] = alloc_pages(__GFP_LOW32, MAX_PAGE_ORDER);
		assert_ptr_not_null(blocks[nr_blocks], "LOW32 block %zu", i);
		nr_blocks++;
	}
	errno = 0;
	expect_ptr_null(alloc_pages(__GFP_LOW32, 0), "LOW32 exhausted");
	expect_d_eq(errno, ENOMEM, "ENOMEM");
	expect_lu_eq(normal->nr_free_pages, normal->present_pages,
		     "though NORMAL is all free");
	free_blocks();
	expect_pristine(low32, "LOW32 after");
	expect_consistent(NULL, 0, "after LOW32");
}
TEST_END

/* virt_to_page() for every kind of pointer. */
TEST_BEGIN(test_virt_to_page_for_any_pointer)
{
	static int a_static;
	int on_stack = 0;
	void *small = malloc(24), *large = malloc(1 << 20);
	struct page *page = alloc_pages(__GFP_MOVABLE, 2);
	struct mem_section *ms;
	uintptr_t base, addr;
	unsigned long pfn;

	assert_ptr_not_null(page, "a block");
	assert_ptr_not_null(small, "malloc");
	assert_ptr_not_null(large, "malloc");
	ms = page_section(page);
	base = (uintptr_t)ms->start_pfn << PAGE_SHIFT;
	addr = (uintptr_t)page_address(page);

	/* Ours: every byte of a page maps to its descriptor. */
	expect_ptr_eq(virt_to_page((void *)addr), page, "first byte");
	expect_ptr_eq(virt_to_page((void *)(addr + 1)), page, "second byte");
	expect_ptr_eq(virt_to_page((void *)(addr + PAGE_SIZE - 1)), page,
		      "last byte of the page");
	expect_ptr_eq(virt_to_page((void *)(addr + PAGE_SIZE)), page + 1,
		      "next page");
	expect_ptr_eq(virt_to_page((void *)base), &ms->mem_map[0],
		      "first byte of the section");
	expect_ptr_eq(virt_to_page((void *)(base + SECTION_SIZE - 1)),
		      &ms->mem_map[PAGES_PER_SECTION - 1],
		      "last byte of the section");
	/* Just outside the section: NULL unless a neighbour is online. */
	if (!mem_section[ms->section_nr + 1])
		expect_ptr_null(virt_to_page((void *)(base + SECTION_SIZE)),
				"first byte past the section");
	if (!mem_section[ms->section_nr - 1])
		expect_ptr_null(virt_to_page((void *)(base - 1)),
				"last byte before the section");

	/* Not ours. */
	expect_ptr_null(virt_to_page(NULL), "NULL");
	expect_ptr_null(virt_to_page((void *)1), "1");
	expect_ptr_null(virt_to_page((void *)4095), "4095");
	expect_ptr_null(virt_to_page(&on_stack), "a stack address");
	expect_ptr_null(virt_to_page(&a_static), "a static variable");
	expect_ptr_null(virt_to_page((void *)(uintptr_t)&free_blocks),
			"a function");
	expect_ptr_null(virt_to_page(small), "a small glibc malloc pointer");
	expect_ptr_null(virt_to_page(large), "a large (mmap'd) glibc pointer");
	expect_ptr_null(virt_to_page((void *)-1), "(void *)-1");
	expect_ptr_null(virt_to_page((void *)(1UL << 47)), "2^47");
	expect_ptr_null(virt_to_page((void *)((1UL << 47) - 1)),
			"2^47 - 1 (the top of user space)");
	expect_ptr_null(virt_to_page((void *)(1UL << 48)), "2^48");
	expect_ptr_null(virt_to_page((void *)(1UL << 56)), "2^56 (5-level)");
	expect_ptr_null(virt_to_page((void *)(1UL << 63)), "2^63");
	expect_ptr_null(virt_to_page((void *)0xffff800000000000UL),
			"a kernel address");
	expect_ptr_null(virt_to_page((void *)(addr | (1UL << 47))),
			"ours with bit 47 set");
	expect_ptr_null(virt_to_page((void *)(addr | (1UL << 63))),
			"ours with bit 63 set");
	free(small);
	free(large);

	/* Round trips over the whole section. */
	for (unsigned long i = 0; i < PAGES_PER_SECTION; i += 97) {
		struct page *p;

		pfn = ms->start_pfn + i;
		p = pfn_to_page(pfn);
		if (page_to_pfn(p) != pfn || p != &ms->mem_map[i] ||
		    page_address(p) != (void *)(pfn << PAGE_SHIFT) ||
		    virt_to_page(page_address(p)) != p ||
		    page_section(p) != ms || page_zone(p) != ms->zone) {
			test_fail("round trip broken at pfn %#lx", pfn);
			break;
		}
	}
	expect_ptr_eq(pfn_to_section(ms->start_pfn), ms, "pfn_to_section");
	expect_ptr_null(pfn_to_section(NR_MEM_SECTIONS << PFN_SECTION_SHIFT),
			"a pfn past the table");
	expect_ptr_null(pfn_to_section(~0UL), "pfn ~0");
	expect_true(free_pages_checked(page, 2), "free");
}
TEST_END

TEST_BEGIN(test_section_lists)
{
	expect_sections_sane(zone_normal());
	expect_sections_sane(zone_low32());
	expect_lu_eq(zone_normal()->nr_sections, NORMAL_SECTIONS, "NORMAL");
	expect_lu_eq(zone_low32()->nr_sections, LOW32_SECTIONS, "LOW32");
	expect_consistent(NULL, 0, "at the end");
}
TEST_END

int main(void)
{
	core_config.zone_max_sections[ZONE_NORMAL] = NORMAL_SECTIONS;
	core_config.zone_max_sections[ZONE_LOW32] = LOW32_SECTIONS;
	return test_run(test_zones_start_empty,
			test_sections_online_on_demand_to_the_limit,
			test_low32_memory_is_below_4g,
			test_virt_to_page_for_any_pointer,
			test_section_lists,
			NULL);
}
