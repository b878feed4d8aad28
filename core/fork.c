/*
 * fork.c - the core across fork().
 *
 * No lock is held across fork() (slab/slab.h says why: holding them
 * deadlocks against other libraries' atfork handlers and against glibc's
 * stdio locks). The child decides alone, before anything else runs:
 *
 *   core_fork_busy() tries every lock of the core. One that a thread of
 *   the parent held at the fork is held forever in the child, and the
 *   zone or table under it may be half-updated.
 *
 *   core_fork_child(false) when nothing was held: every structure is
 *   consistent. The child sees each parent thread's stores up to some
 *   point, in program order (its pages are shared copy-on-write, and a
 *   thread whose next store faults waits until the fork is done), so a
 *   lock seen free means its last holder's updates are all there. The
 *   locks are re-initialised and the heap is the child's own.
 *
 *   Locks that guard no heap state (direct reclaim's turn, the shrinker
 *   list, warn_alloc's ratelimit) are made new in every child, whatever
 *   it decides: a thread of the parent that held one does not exist here.
 *
 *   The reclaim threads are not copied by fork(): the child's node state
 *   is made new and its first free restarts decay with a thread of its
 *   own (vmscan.c). Pageblocks a parent's thread was releasing are
 *   ISOLATE in the child; they go back to the free lists (reclaim.c).
 *
 *   core_fork_child(true) otherwise, and for a fork from a signal handler
 *   that interrupted this very thread inside the allocator: the child
 *   abandons the heap it inherited instead of trusting it. Every zone
 *   starts empty and onlines new sections as it needs them; the old
 *   sections are marked abandoned and left mapped, so every old block
 *   stays readable and writable, and frees of old blocks do nothing
 *   (free_pages_checked(), free_pages_exact_checked(), huge_free()). The
 *   cost is the old heap's address space, shared copy-on-write with the
 *   parent until written.
 *
 * Limit: a child that abandoned the heap from a signal handler must not
 * return from the handler into the interrupted allocator call. That call
 * would go on with zones that have been emptied under it. Children of such
 * forks exec or _exit, which is all POSIX allows them anyway; glibc's tests
 * do the same.
 */
#include "internal.h"

bool core_fork_busy(void)
{
	buddy_core_init();
	for_each_zone(zone)	/* grow_lock: a section half set up */
		if (!fork_lock_free(&zone->grow_lock) ||
		    !fork_lock_free(&zone->lock))
			return true;
	return pcp_fork_busy() || huge_fork_busy();
}

/*
 * The sections on the zone's list are marked so that page_abandoned()
 * sees them; one published but not yet linked by an interrupted
 * online_section() holds no block anybody has, so it may stay unmarked.
 */
static void abandon_zone(struct zone *zone)
{
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next)
		mark_section_abandoned(ms);
	zone_reset(zone);
}

void core_fork_child(bool abandon)
{
	buddy_core_init();
	if (abandon)	/* the slabs holding them are abandoned too */
		nr_released_in_use = 0;
	for_each_zone(zone) {
		if (abandon)
			abandon_zone(zone);
		else {
			pthread_mutex_init(&zone->lock, NULL);
			pthread_mutex_init(&zone->grow_lock, NULL);
			reclaim_fork_child(zone);
		}
	}
	page_alloc_fork_child();
	pcp_fork_child(abandon);
	vmscan_fork_child();
	huge_fork_child(abandon);
}
