/*
 * fork.c - the core across fork().
 *
 * The usual protocol (glibc's, jemalloc's): before fork() take every lock
 * of the core, so that no other thread is half-way through an update when
 * the address space is copied; the parent then releases them and the child,
 * whose only thread is the one that took them, re-initialises them.
 *
 * The unusual case: fork() from a signal handler that interrupted this very
 * thread inside the allocator (see slab/slab.h). The locks it holds cannot
 * be taken again, and the state under them may be half-updated, in the
 * zones and in the huge table alike. The child then abandons the heap it
 * inherited instead of trusting it: every zone starts empty and onlines new
 * sections as it needs them; the old sections are marked abandoned and left
 * mapped, so every old block stays readable and writable, and frees of old
 * blocks do nothing (free_pages_checked(), free_pages_exact_checked(),
 * huge_free()). The cost is the old heap's address space, shared
 * copy-on-write with the parent until written.
 *
 * Limit: the abandoning child must not return from the signal handler into
 * the interrupted allocator call. That call would go on with zones that
 * have been emptied under it. Children of such forks exec or _exit, which
 * is all POSIX allows them anyway; glibc's tests do the same.
 */
#include "internal.h"

void core_fork_prepare(void)
{
	/* A fork while another thread runs the one-time set-up must wait
	 * for it, or the child inherits a half-initialised core. */
	buddy_core_init();
	for_each_zone(zone)
		zone_lock(zone);
	huge_fork_prepare();
}

void core_fork_parent(void)
{
	huge_fork_parent();
	for_each_zone(zone)
		zone_unlock(zone);
}

/*
 * The sections on the zone's list are marked so that page_abandoned()
 * sees them; one published but not yet linked by an interrupted
 * __online_section() holds no block anybody has, so it may stay unmarked.
 */
static void abandon_zone(struct zone *zone)
{
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next)
		ms->abandoned = true;
	zone_reset(zone);
}

void core_fork_child(bool abandon)
{
	buddy_core_init();
	for_each_zone(zone) {
		if (abandon)
			abandon_zone(zone);
		else
			pthread_mutex_init(&zone->lock, NULL);
	}
	huge_fork_child(abandon);
}
