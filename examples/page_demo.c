/*
 * page_demo.c - a tour of libbuddymalloc's page API, using only the public
 * header <buddymalloc.h>.
 *
 * Allocates blocks of several orders and lifetimes (migrate types), a block
 * below 4 GiB, a zeroed block and two exact-size allocations; checks each one
 * (alignment, zeroing, address range) and writes to it; frees some and prints
 * the allocator's state as /proc/buddyinfo and /proc/pagetypeinfo show a
 * kernel's; then frees everything, gives the blocks waiting on the per-CPU
 * page lists back with malloc_trim(0), and prints buddyinfo again, where
 * every zone should be back to blocks of the largest order.
 *
 * Output goes through write(2): the report callback must not allocate, and
 * mixing it with buffered stdio would reorder the text.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <buddymalloc.h>

static int failures;

static void write_text(const char *text)
{
	size_t len = strlen(text);

	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, text, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		text += n;
		len -= (size_t)n;
	}
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	write_text(line);
}

/* buddymalloc_stats_print's callback. */
static void report_cb(void *opaque, const char *text)
{
	write_text(text);
}

static void report(const char *title, const char *which)
{
	say("\n== %s ==\n", title);
	buddymalloc_stats_print(report_cb, NULL, which);
}

static void check(int ok, const char *what)
{
	if (!ok) {
		say("FAILED: %s\n", what);
		failures++;
	}
}

/* One block from the page API and what we asked for. */
struct block {
	const char *what;
	unsigned int order;
	unsigned int gfp;
	void *addr;
};

static struct block blocks[] = {
	{ "order 0, long-lived",	0, 0, NULL },
	{ "order 0, long-lived",	0, 0, NULL },
	{ "order 0, long-lived",	0, 0, NULL },
	{ "order 1, long-lived",	1, 0, NULL },
	{ "order 3, short-lived",	3, BUDDY_GFP_MOVABLE, NULL },
	{ "order 3, short-lived",	3, BUDDY_GFP_MOVABLE, NULL },
	{ "order 4, short-lived",	4, BUDDY_GFP_MOVABLE, NULL },
	{ "order 5, reclaimable",	5, BUDDY_GFP_RECLAIMABLE, NULL },
	{ "order 2, reclaimable",	2, BUDDY_GFP_RECLAIMABLE, NULL },
	{ "order 9, short-lived",	9, BUDDY_GFP_MOVABLE, NULL },
	{ "order 10, long-lived",	10, 0, NULL },
	{ "order 2, below 4 GiB",	2, BUDDY_GFP_LOW32, NULL },
	{ "order 1, zeroed",		1, BUDDY_GFP_ZERO | BUDDY_GFP_MOVABLE, NULL },
};
#define NR_BLOCKS	(sizeof(blocks) / sizeof(blocks[0]))

/* Exact-size allocations: the tail of the power-of-two block goes back. */
struct exact {
	size_t size;
	unsigned int gfp;
	void *addr;
};

static struct exact exacts[] = {
	{ 10000, 0, NULL },				/* 3 pages of a 4-page block */
	{ (1u << 20) + 1, BUDDY_GFP_MOVABLE, NULL },	/* 257 pages of 512 */
};
#define NR_EXACTS	(sizeof(exacts) / sizeof(exacts[0]))

static void alloc_all(size_t page_size)
{
	for (size_t i = 0; i < NR_BLOCKS; i++) {
		struct block *b = &blocks[i];
		size_t bytes = page_size << b->order;
		uintptr_t a;

		b->addr = buddymalloc_alloc_pages(b->order, b->gfp);
		say("alloc_pages(order %2u) %-24s -> %p\n", b->order, b->what,
		    b->addr);
		check(b->addr != NULL, "allocation");
		if (b->addr == NULL)
			continue;
		a = (uintptr_t)b->addr;
		check(a % bytes == 0, "a block of 2^order pages is aligned to its size");
		if (b->gfp & BUDDY_GFP_LOW32)
			check(a + bytes <= (UINT64_C(1) << 32), "BUDDY_GFP_LOW32 block below 4 GiB");
		if (b->gfp & BUDDY_GFP_ZERO) {
			const unsigned char *p = b->addr;
			size_t nonzero = 0;

			for (size_t j = 0; j < bytes; j++)
				nonzero += p[j] != 0;
			check(nonzero == 0, "BUDDY_GFP_ZERO block is zeroed");
		}
		memset(b->addr, 0xa5, bytes);	/* the memory is ours to use */
	}

	for (size_t i = 0; i < NR_EXACTS; i++) {
		struct exact *e = &exacts[i];

		e->addr = buddymalloc_alloc_pages_exact(e->size, e->gfp);
		say("alloc_pages_exact(%zu bytes = %zu pages) -> %p\n", e->size,
		    (e->size + page_size - 1) / page_size, e->addr);
		check(e->addr != NULL, "exact allocation");
		if (e->addr != NULL)
			memset(e->addr, 0x5a, e->size);
	}
}

/* Frees the short-lived blocks (the MOVABLE ones) and the first exact one. */
static void free_some(void)
{
	for (size_t i = 0; i < NR_BLOCKS; i++) {
		struct block *b = &blocks[i];

		if (b->addr != NULL && (b->gfp & BUDDY_GFP_MOVABLE)) {
			buddymalloc_free_pages(b->addr, b->order);
			b->addr = NULL;
		}
	}
	if (exacts[0].addr != NULL) {
		buddymalloc_free_pages_exact(exacts[0].addr, exacts[0].size);
		exacts[0].addr = NULL;
	}
}

static void free_all(void)
{
	for (size_t i = 0; i < NR_BLOCKS; i++) {
		if (blocks[i].addr != NULL) {
			buddymalloc_free_pages(blocks[i].addr, blocks[i].order);
			blocks[i].addr = NULL;
		}
	}
	for (size_t i = 0; i < NR_EXACTS; i++) {
		if (exacts[i].addr != NULL) {
			buddymalloc_free_pages_exact(exacts[i].addr, exacts[i].size);
			exacts[i].addr = NULL;
		}
	}
}

int main(void)
{
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);

	say("libbuddymalloc page API demo (page size %zu bytes)\n\n", page_size);

	alloc_all(page_size);
	report("buddyinfo with everything allocated", "buddyinfo");

	free_some();
	say("\nfreed the short-lived blocks and the first exact allocation\n");
	report("buddyinfo", "buddyinfo");
	report("pagetypeinfo", "pagetypeinfo");

	free_all();
	/* Freed small blocks wait on this CPU's page list for reuse (as in
	 * the kernel, buddyinfo does not show them); trimming drains the
	 * lists, and gives the free pages back to the OS. */
	malloc_trim(0);
	say("\nfreed everything, and trimmed\n");
	report("buddyinfo after freeing everything", "buddyinfo");

	if (failures != 0) {
		say("\n%d check(s) FAILED\n", failures);
		return 1;
	}
	return 0;
}
