/*
 * size_class.c - the tables behind size_class.h.
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

/* Granule g holds the sizes 16 * g - 15 .. 16 * g: its class is that of
 * 16 * g (every class is a multiple of 16). */
#define G1(g)	SIZE_CLASS_OF(16u * (g))
#define G4(g)	G1(g), G1((g) + 1), G1((g) + 2), G1((g) + 3)
#define G16(g)	G4(g), G4((g) + 4), G4((g) + 8), G4((g) + 12)
#define G64(g)	G16(g), G16((g) + 16), G16((g) + 32), G16((g) + 48)
#define G256(g)	G64(g), G64((g) + 64), G64((g) + 128), G64((g) + 192)

const uint8_t size_class_lookup[SIZE_CLASS_LOOKUP_MAX / 16 + 1] = {
	G256(0), G1(256)
};

_Static_assert(SIZE_CLASS_LOOKUP_MAX / 16 + 1 == 257, "G256(0), G1(256)");
_Static_assert(SIZE_CLASS_OF(KMALLOC_MAX_CACHE_SIZE) == NR_SIZE_CLASSES - 1,
	       "the largest class is the last");
