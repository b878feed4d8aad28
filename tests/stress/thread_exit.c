/*
 * thread_exit.c - threads may exit at any time, including while their TLS
 * destructors call malloc and free (REFERENCE.md: "thread exit";
 * mimalloc#164, #809): the allocator's own per-thread state may already be
 * torn down when a destructor registered after it runs.
 *
 * Each short-lived thread leaves work for its exit path:
 *  - a pthread_key destructor that verifies and frees the thread's block,
 *    and on its first round allocates a new one and sets it again, so that
 *    glibc calls it a second time (PTHREAD_DESTRUCTOR_ITERATIONS);
 *  - a C++ thread_local-style object: a __thread list of blocks, torn down
 *    by a destructor registered with __cxa_thread_atexit_impl (what g++
 *    emits for thread_local), which runs before the pthread_key ones;
 *  - 40 keys more than glibc's 32 inline slots, so pthread_setspecific
 *    itself allocates (calloc) and glibc frees that at exit;
 * and the threads end in every way: return, pthread_exit() from a nested
 * call, cancellation at a cancellation point (whose unwinder loads
 * libgcc_s with dlopen on first use), and detached threads nobody joins.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_util.h"

#define NR_ROUNDS	250	/* rounds of BATCH threads */
#define BATCH		8
#define EXTRA_KEYS	40
#define LIST_LEN	16

/* glibc's, used by g++ for thread_local objects with destructors. */
extern int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj,
				    void *dso_symbol);
extern void *__dso_handle;

static pthread_key_t block_key;
static pthread_key_t extra_keys[EXTRA_KEYS];

static atomic_ulong key_dtor_calls, key_dtor_reallocs, tls_dtor_calls,
		    blocks_freed, blocks_allocated, errors, detached_done;

struct tls_block {
	size_t size;
	uint64_t key;
};

static struct tls_block *new_tls_block(size_t size, uint64_t key)
{
	struct tls_block *b = malloc(sizeof(*b) + size);

	if (b == NULL) {
		atomic_fetch_add(&errors, 1);
		return NULL;
	}
	b->size = size;
	b->key = key;
	pattern_fill(b + 1, size, key);
	atomic_fetch_add(&blocks_allocated, 1);
	return b;
}

static void free_tls_block(struct tls_block *b)
{
	if (pattern_check(b + 1, b->size, b->key) != b->size)
		atomic_fetch_add(&errors, 1);
	free(b);
	atomic_fetch_add(&blocks_freed, 1);
}

/* pthread_key destructor: frees the block; the first time it also
 * allocates a replacement, which glibc destroys in a second round. */
static void block_key_dtor(void *value)
{
	struct tls_block *b = value;
	bool first = (b->key & 1) == 0;

	free_tls_block(b);
	if (first) {
		struct tls_block *again = new_tls_block(3000, 1);

		if (again) {
			pthread_setspecific(block_key, again);
			atomic_fetch_add(&key_dtor_reallocs, 1);
		}
	}
	/* Counted last: when the count is complete, so are the frees. */
	atomic_fetch_add(&key_dtor_calls, 1);
}

/* The thread_local-style object: a list of blocks in a __thread array. */
static __thread struct tls_block *tls_list[LIST_LEN];
static __thread bool tls_registered;

static void tls_list_dtor(void *obj)
{
	struct tls_block **list = obj;

	atomic_fetch_add(&tls_dtor_calls, 1);
	for (int i = 0; i < LIST_LEN; i++) {
		if (list[i])
			free_tls_block(list[i]);
		list[i] = NULL;
	}
	/* A destructor that allocates and frees again on the way out. */
	free(malloc(100000));
	free(calloc(10, 10));
}

static void extra_key_dtor(void *value)
{
	free(value);
	atomic_fetch_add(&blocks_freed, 1);
}

/* Everything a thread leaves for its exit path. */
static void leave_tls_work(unsigned int id)
{
	for (int i = 0; i < LIST_LEN; i++)
		tls_list[i] = new_tls_block((size_t)(16 << (i % 12)) + id % 7,
					    (uint64_t)id * 64 + (uint64_t)i * 2);
	if (!tls_registered) {
		if (__cxa_thread_atexit_impl(tls_list_dtor, tls_list,
					     &__dso_handle) != 0)
			atomic_fetch_add(&errors, 1);
		tls_registered = true;
	}
	pthread_setspecific(block_key, new_tls_block(200 + id % 1000,
						     (uint64_t)id * 2));
	for (int k = 0; k < EXTRA_KEYS; k++) {
		void *p = malloc(24 + (size_t)k);

		if (p == NULL) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		atomic_fetch_add(&blocks_allocated, 1);
		if (pthread_setspecific(extra_keys[k], p) != 0) {
			atomic_fetch_add(&errors, 1);
			free(p);
			atomic_fetch_add(&blocks_freed, 1);
		}
	}
}

enum how_to_end { END_RETURN, END_PTHREAD_EXIT, END_CANCEL, NR_ENDS };

struct job {
	unsigned int id;
	enum how_to_end how;
	int pipe_rd;		/* END_CANCEL: blocks reading this */
};

static void __attribute__((noinline)) nested_exit(int depth)
{
	if (depth < 0)
		return;
	free(malloc((size_t)64 << depth));
	if (depth == 0)
		pthread_exit(NULL);
	nested_exit(depth - 1);
}

static void *thread_main(void *arg)
{
	struct job *job = arg;
	char c;

	leave_tls_work(job->id);
	switch (job->how) {
	case END_RETURN:
		break;
	case END_PTHREAD_EXIT:
		nested_exit(5);
		break;
	case END_CANCEL:
		/* read() is a cancellation point; nothing is ever written. */
		while (read(job->pipe_rd, &c, 1) < 0 && errno == EINTR)
			;
		atomic_fetch_add(&errors, 1);	/* not reached */
		break;
	default:
		break;
	}
	return NULL;
}

static void *detached_main(void *arg)
{
	leave_tls_work((unsigned int)(uintptr_t)arg);
	atomic_fetch_add(&detached_done, 1);
	return NULL;
}

TEST_BEGIN(test_threads_exit_through_tls_destructors)
{
	static struct job jobs[BATCH];
	unsigned long threads = 0, cancelled = 0, exits = 0;
	int fds[2];

	assert_d_eq(pthread_key_create(&block_key, block_key_dtor), 0);
	for (int k = 0; k < EXTRA_KEYS; k++)
		assert_d_eq(pthread_key_create(&extra_keys[k], extra_key_dtor), 0);
	assert_d_eq(pipe(fds), 0);

	for (unsigned int round = 0; round < NR_ROUNDS; round++) {
		pthread_t th[BATCH];

		for (unsigned int i = 0; i < BATCH; i++) {
			jobs[i] = (struct job){
				.id = round * BATCH + i,
				.how = (enum how_to_end)((round + i) % NR_ENDS),
				.pipe_rd = fds[0],
			};
			assert_d_eq(pthread_create(&th[i], NULL, thread_main,
						   &jobs[i]), 0);
		}
		for (unsigned int i = 0; i < BATCH; i++) {
			void *ret;

			if (jobs[i].how == END_CANCEL) {
				pthread_cancel(th[i]);
				cancelled++;
			} else if (jobs[i].how == END_PTHREAD_EXIT) {
				exits++;
			}
			pthread_join(th[i], &ret);
			if (jobs[i].how == END_CANCEL && ret != PTHREAD_CANCELED)
				atomic_fetch_add(&errors, 1);
			threads++;
		}
	}
	close(fds[0]);
	close(fds[1]);

	/* Detached threads, exiting while the main thread goes on. */
	for (unsigned int i = 0; i < 200; i++) {
		pthread_attr_t attr;
		pthread_t th;

		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		assert_d_eq(pthread_create(&th, &attr, detached_main,
					   (void *)(uintptr_t)(100000 + i)), 0);
		pthread_attr_destroy(&attr);
		threads++;
		free(malloc(1000 + i));
	}
	/* Their destructors run after detached_done is counted; wait until
	 * every destructor call is in (the watchdog guards against a hang). */
	while (atomic_load(&detached_done) < 200 ||
	       atomic_load(&tls_dtor_calls) < threads ||
	       atomic_load(&key_dtor_calls) < 2 * threads)
		sched_yield();

	test_diag("%lu threads (%lu cancelled, %lu pthread_exit, 200 detached); "
		  "%lu key destructor calls, %lu thread_local destructor calls",
		  threads, cancelled, exits,
		  (unsigned long)atomic_load(&key_dtor_calls),
		  (unsigned long)atomic_load(&tls_dtor_calls));
	expect_lu_eq(atomic_load(&errors), 0,
		     "blocks broken, allocations failed or a thread misbehaved");
	expect_lu_eq(atomic_load(&tls_dtor_calls), threads);
	expect_lu_eq(atomic_load(&key_dtor_reallocs), threads);
	/* Detached threads may still be between their destructors and their
	 * end; everything else is counted exactly. */
	expect_lu_eq(atomic_load(&key_dtor_calls), 2 * threads);
	expect_lu_eq(atomic_load(&blocks_freed), atomic_load(&blocks_allocated),
		     "every block allocated for an exiting thread was freed");

	for (int k = 0; k < EXTRA_KEYS; k++)
		pthread_key_delete(extra_keys[k]);
	pthread_key_delete(block_key);
}
TEST_END

/* A thread whose only allocator use is inside its exit path. */
static void late_dtor(void *value)
{
	void *p = malloc(5000);

	if (p == NULL)
		atomic_fetch_add(&errors, 1);
	else
		memset(p, 1, 5000);
	free(p);
	atomic_fetch_add(&key_dtor_calls, 1);
}

static void *set_only(void *arg)
{
	pthread_setspecific(*(pthread_key_t *)arg, (void *)1);
	return NULL;
}

TEST_BEGIN(test_first_malloc_in_destructor)
{
	pthread_key_t key;
	unsigned long before = atomic_load(&key_dtor_calls);

	assert_d_eq(pthread_key_create(&key, late_dtor), 0);
	for (int i = 0; i < 500; i++) {
		pthread_t th;

		assert_d_eq(pthread_create(&th, NULL, set_only, &key), 0);
		pthread_join(th, NULL);
	}
	expect_lu_eq(atomic_load(&key_dtor_calls) - before, 500);
	expect_lu_eq(atomic_load(&errors), 0);
	pthread_key_delete(key);
}
TEST_END

int main(void)
{
	api_watchdog(300);
	return test_run(test_served_by_buddymalloc,
			test_threads_exit_through_tls_destructors,
			test_first_malloc_in_destructor,
			NULL);
}
