/*
 * misuse.c - two real bugs for memcheck to find in our heap (run by
 * tests/valgrind.sh, preloaded, under memcheck with
 * --soname-synonyms=somalloc=nouserintercepts):
 *
 *   a heap overflow: one byte written just past a 40-byte block (its slot
 *     is 48 bytes, so the byte is inside our slab, not past it);
 *   a use after free: a 64-byte block written and read after free().
 *
 * Natively neither is caught (nothing here checks them); memcheck reports
 * both only if the allocator told it where its blocks are
 * (preload/valgrind.h). The stores go through volatile pointers so that
 * the compiler keeps them. Prints the byte read after the free, so that
 * the read is used.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	volatile char *over = malloc(40);
	volatile char *freed = malloc(64);
	char c;

	if (!over || !freed)
		return 1;
	over[39] = 'a';
	over[40] = 'b';			/* overflow: 0 bytes after the block */

	freed[8] = 'c';
	free((void *)freed);
	freed[8] = 'd';			/* use after free: a write */
	c = freed[8];			/* and a read */
	printf("misuse done %d\n", c == 'd');

	free((void *)over);
	return 0;
}
