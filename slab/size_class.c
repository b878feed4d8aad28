/*
 * size_class.c - the table behind size_class.h.
 */
#include "size_class.h"

#define DOUBLING(p) (p) + (p) / 4, (p) + (p) / 2, (p) + 3 * (p) / 4, 2 * (p)

const unsigned int kmalloc_size[NR_SIZE_CLASSES] = {
	16, 32, 48, 64, 80, 96, 112, 128,
	DOUBLING(128), DOUBLING(256), DOUBLING(512), DOUBLING(1024),
	DOUBLING(2048), DOUBLING(4096), DOUBLING(8192), DOUBLING(16384),
};

_Static_assert(sizeof(kmalloc_size) / sizeof(kmalloc_size[0]) == NR_SIZE_CLASSES,
	       "every class listed");
