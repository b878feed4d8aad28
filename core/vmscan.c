/*
 * vmscan.c - the reclaim threads (the kernel's kswapd): one per node,
 * started on first need, woken when a zone falls below its low watermark.
 *
 * Not built yet: wakeup_kswapd() is the entry point the allocation path
 * calls, and does nothing until the threads exist.
 */
#include "internal.h"

void wakeup_kswapd(struct zone *zone, unsigned int order,
		   enum zone_type highest_zoneidx)
{
	(void)zone;
	(void)order;
	(void)highest_zoneidx;
}
