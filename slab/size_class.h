/*
 * size_class.h - the small-object size classes.
 *
 * Every class is a multiple of 16, so every block is 16-byte aligned:
 *   16, 32, ..., 128                  (step 16: 8 classes)
 *   then four classes per doubling    (160, 192, 224, 256, 320, ..., 32 KiB)
 * Above 128 bytes a request wastes at most one step, a quarter of the lower
 * power of two: under 20% of the class. 40 classes in all.
 */
#ifndef BUDDY_SIZE_CLASS_H
#define BUDDY_SIZE_CLASS_H

#include <stddef.h>

#define NR_SIZE_CLASSES		40
#define KMALLOC_MAX_CACHE_SIZE	32768u	/* the largest class */
#define KMALLOC_MIN_SIZE	16u

extern const unsigned int kmalloc_size[NR_SIZE_CLASSES];

/* The class of a request of size bytes (0 < size <= KMALLOC_MAX_CACHE_SIZE;
 * 0 is served as 16). Branch, count-leading-zeros, shifts: no table. */
static inline unsigned int size_to_class(size_t size)
{
	unsigned int lg, step_shift;

	if (size <= 128)
		return size ? (unsigned int)((size - 1) >> 4) : 0;
	lg = 63 - (unsigned int)__builtin_clzl(size - 1);	/* 2^lg < size */
	step_shift = lg - 2;
	return 8 + (lg - 7) * 4 +
	       (unsigned int)((size - 1 - (1UL << lg)) >> step_shift);
}

#endif /* BUDDY_SIZE_CLASS_H */
