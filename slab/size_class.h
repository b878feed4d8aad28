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
#include <stdint.h>

#include "page_alloc.h"

#define NR_SIZE_CLASSES		40
#define KMALLOC_MAX_CACHE_SIZE	32768u	/* the largest class */
#define KMALLOC_MIN_SIZE	16u

extern const unsigned int kmalloc_size[NR_SIZE_CLASSES];

/*
 * The class of a request of size bytes as a constant expression (for the
 * table below; 0 < size <= KMALLOC_MAX_CACHE_SIZE, 0 is served as 16): up
 * to 128 one class per 16 bytes; above, with 2^lg < size <= 2^(lg+1),
 * class 8 + 4 * (lg - 7) plus the quarter of the doubling size falls in.
 */
#define SIZE_CLASS_LG(x)						\
	((x) >= 16384 ? 14 : (x) >= 8192 ? 13 : (x) >= 4096 ? 12 :	\
	 (x) >= 2048 ? 11 : (x) >= 1024 ? 10 : (x) >= 512 ? 9 :		\
	 (x) >= 256 ? 8 : 7)
#define SIZE_CLASS_OF(size)						\
	((size) <= 128 ? ((size) ? ((size) - 1) >> 4 : 0) :		\
	 8 + (SIZE_CLASS_LG((size) - 1) - 7) * 4 +			\
	 (((size) - 1 - (1u << SIZE_CLASS_LG((size) - 1))) >>		\
	  (SIZE_CLASS_LG((size) - 1) - 2)))

/* Requests up to this size find their class in size_class_lookup[]. */
#define SIZE_CLASS_LOOKUP_MAX	4096u
/* The class of each 16-byte granule: [(size + 15) >> 4] is size's class. */
extern const uint8_t size_class_lookup[SIZE_CLASS_LOOKUP_MAX / 16 + 1];

/* The class of a larger request (SIZE_CLASS_LOOKUP_MAX < size <=
 * KMALLOC_MAX_CACHE_SIZE): count-leading-zeros and shifts. */
static inline unsigned int size_to_class_large(size_t size)
{
	unsigned int lg = 63 - (unsigned int)__builtin_clzl(size - 1); /* 2^lg < size */

	return 8 + (lg - 7) * 4 +
	       (unsigned int)((size - 1 - (1UL << lg)) >> (lg - 2));
}

/* The class of a request of size bytes (size <= KMALLOC_MAX_CACHE_SIZE; 0
 * is served as 16): one byte load up to SIZE_CLASS_LOOKUP_MAX. */
static inline unsigned int size_to_class(size_t size)
{
	if (likely(size <= SIZE_CLASS_LOOKUP_MAX))
		return size_class_lookup[(size + 15) >> 4];
	return size_to_class_large(size);
}

#endif /* BUDDY_SIZE_CLASS_H */
