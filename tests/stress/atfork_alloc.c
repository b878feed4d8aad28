/*
 * atfork_alloc.c - a shared library for tests/stress/fork_handlers: in its
 * constructor it registers pthread_atfork handlers that allocate and free
 * blocks of each kind (a small object, a page run, a direct mapping) and
 * check their contents, as some real libraries' handlers do.
 *
 * The test program links it, so its constructor runs before
 * libbuddymalloc's (preloaded, or linked before it): its prepare handler
 * runs after ours and its child handler before ours. With an allocator
 * that holds its locks across fork, the prepare handler's allocation
 * deadlocks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* How often each handler ran, and how often its allocations failed or
 * came back corrupted (read by the test). */
__attribute__((visibility("default"))) unsigned long atfork_alloc_runs[3];
__attribute__((visibility("default"))) unsigned long atfork_alloc_errors;

static const size_t sizes[] = { 64, 64 << 10, 8 << 20 };

static void allocate_some(int which)
{
	void *p[sizeof(sizes) / sizeof(sizes[0])];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = malloc(sizes[i]);
		if (!p[i]) {
			atfork_alloc_errors++;
			continue;
		}
		memset(p[i], 0x40 + (int)i, sizes[i]);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *b = p[i];

		if (b && (b[0] != 0x40 + i || b[sizes[i] - 1] != 0x40 + i))
			atfork_alloc_errors++;
		free(p[i]);
	}
	atfork_alloc_runs[which]++;
}

static void prepare(void)
{
	allocate_some(0);
}

static void parent(void)
{
	allocate_some(1);
}

static void child(void)
{
	allocate_some(2);
}

__attribute__((constructor))
static void atfork_alloc_init(void)
{
	pthread_atfork(prepare, parent, child);
}
