/*
 * page_api.c - the exported page API of include/buddymalloc.h, over the
 * core. (buddymalloc_stats_print is in stats.c, the reports of bad
 * pointers in report.c.)
 *
 * Every block is allocated with __GFP_PAGE_API, which the core records on
 * its head page as PG_page_api, and freed only as such: the frees refuse
 * malloc's blocks, a slab's pages, the allocator's metadata, interior
 * pages and a wrong order or size, under the zone lock. free() refuses
 * these blocks in turn (slab/kmalloc.c).
 */
#include <errno.h>
#include <stdint.h>

#include "buddymalloc.h"
#include "page_alloc.h"
#include "preload.h"
#include "slab.h"

BUDDY_EXPORT void *buddymalloc_alloc_pages(unsigned int order,
					   unsigned int gfp_flags)
{
	struct page *page;

	if (gfp_flags & ~GFP_PUBLIC_MASK) {
		errno = EINVAL;
		return NULL;
	}
	buddy_boot();
	allocator_enter();
	page = alloc_pages(gfp_flags | __GFP_PAGE_API, order);
	allocator_leave();
	return page ? page_address(page) : NULL;
}

BUDDY_EXPORT void buddymalloc_free_pages(void *addr, unsigned int order)
{
	struct page *page = virt_to_page(addr);
	bool ok = false;

	if (page && !((uintptr_t)addr & (PAGE_SIZE - 1))) {
		allocator_enter();
		ok = free_pages_owned(page, order, PG_page_api);
		allocator_leave();
	}
	if (!ok)
		report_bad_pointer("buddymalloc_free_pages", addr, KFREE_INVALID);
}

BUDDY_EXPORT void *buddymalloc_alloc_pages_exact(size_t size,
						 unsigned int gfp_flags)
{
	void *p;

	if (gfp_flags & ~GFP_PUBLIC_MASK) {
		errno = EINVAL;
		return NULL;
	}
	buddy_boot();
	allocator_enter();
	p = alloc_pages_exact(size, gfp_flags | __GFP_PAGE_API);
	allocator_leave();
	return p;
}

BUDDY_EXPORT void buddymalloc_free_pages_exact(void *addr, size_t size)
{
	bool ok;

	allocator_enter();
	ok = free_pages_exact_owned(addr, size, PG_page_api);
	allocator_leave();
	if (!ok)
		report_bad_pointer("buddymalloc_free_pages_exact", addr,
				   KFREE_INVALID);
}
