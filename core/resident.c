/*
 * resident.c - which free pages are resident.
 *
 * A free page is either resident (the OS backs it: it was touched since it
 * was last released) or *released* (never touched since its section was
 * mapped, or handed back with MADV_DONTNEED since). Each section keeps one
 * bit per page (mem_section::released); each zone counts its set bits
 * (nr_released). The rest of the zone is resident: the allocator's
 * resident memory is present - released, exactly, without asking the OS.
 *
 * The bits follow the pages:
 *   - a new section is all released (sparse.c);
 *   - a block taken off the free lists for use has its bits cleared
 *     (page_alloc.c): it is about to be touched, so it counts as resident
 *     from then on, until it is freed and released again;
 *   - a free block given back to the OS has its bits set (reclaim.c).
 * Freeing a block changes nothing: the pages are still resident. Merging
 * needs nothing either: the bits are per page, not per block.
 *
 * A block whose pages were all released reads as zero when handed out, so
 * a zeroing allocation (calloc) skips its memset.
 *
 * Every function here is called with zone->lock held; ranges lie in one
 * section (no block spans two).
 */
#include "internal.h"

#define BITS_PER_LONG	(8 * sizeof(unsigned long))

enum released_op { RELEASED_COUNT, RELEASED_SET, RELEASED_CLEAR };

/* Apply op to the bits of [pfn, pfn + nr), a word at a time; returns how
 * many bits were set before (COUNT, CLEAR) or were newly set (SET). */
static unsigned long released_range(unsigned long pfn, unsigned long nr,
				    enum released_op op)
{
	struct mem_section *ms = pfn_to_section(pfn);
	unsigned long i = pfn - ms->start_pfn, end = i + nr, count = 0;

	while (i < end) {
		unsigned long *word = &ms->released[i / BITS_PER_LONG];
		unsigned long shift = i % BITS_PER_LONG;
		unsigned long n = BITS_PER_LONG - shift;
		unsigned long mask;

		if (n > end - i)
			n = end - i;
		mask = (n == BITS_PER_LONG ? ~0UL : (1UL << n) - 1) << shift;
		switch (op) {
		case RELEASED_COUNT:
			count += (unsigned long)__builtin_popcountl(*word & mask);
			break;
		case RELEASED_SET:
			count += (unsigned long)__builtin_popcountl(~*word & mask);
			*word |= mask;
			break;
		case RELEASED_CLEAR:
			count += (unsigned long)__builtin_popcountl(*word & mask);
			*word &= ~mask;
			break;
		}
		i += n;
	}
	return count;
}

unsigned long __set_pages_released(struct zone *zone, unsigned long pfn,
				   unsigned long nr)
{
	unsigned long set = released_range(pfn, nr, RELEASED_SET);

	zone->nr_released += set;
	return set;
}

unsigned long __clear_pages_released(struct zone *zone, unsigned long pfn,
				     unsigned long nr)
{
	unsigned long cleared = released_range(pfn, nr, RELEASED_CLEAR);

	zone->nr_released -= cleared;
	return cleared;
}

unsigned long __pages_released(unsigned long pfn, unsigned long nr)
{
	return released_range(pfn, nr, RELEASED_COUNT);
}
