/*
 * pcp.c - per-CPU page lists (the kernel's per_cpu_pages).
 *
 * Not built yet: the drains are the entry points reclaim and malloc_trim
 * call, and have nothing to drain until the lists exist.
 */
#include "internal.h"

void drain_local_pages(struct zone *zone)
{
	(void)zone;
}

void drain_all_pages(struct zone *zone)
{
	(void)zone;
}
