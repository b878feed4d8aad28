/*
 * page_api.c - the exported page API of include/buddymalloc.h, over the
 * core. (buddymalloc_stats_print is in stats.c, the reports of bad
 * pointers in report.c.)
 */
#include <errno.h>
#include <stdint.h>

#include "buddymalloc.h"
#include "internal.h"
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
	page = alloc_pages(gfp_flags, order);
	allocator_leave();
	return page ? page_address(page) : NULL;
}

BUDDY_EXPORT void buddymalloc_free_pages(void *addr, unsigned int order)
{
	struct page *page = virt_to_page(addr);
	bool ok = false;

	if (page && !((uintptr_t)addr & (PAGE_SIZE - 1))) {
		allocator_enter();
		ok = free_pages_checked(page, order);
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
	p = alloc_pages_exact(size, gfp_flags);
	allocator_leave();
	return p;
}

BUDDY_EXPORT void buddymalloc_free_pages_exact(void *addr, size_t size)
{
	bool ok;

	allocator_enter();
	ok = free_pages_exact_checked(addr, size);
	allocator_leave();
	if (!ok)
		report_bad_pointer("buddymalloc_free_pages_exact", addr,
				   KFREE_INVALID);
}
