/*
 * soak.c - the allocator under a long mixed load (make check-soak; a
 * 60-second run in scripts/run-tests). Preloaded only: run by
 * tests/api/run-preloaded.sh as tests/stress/preload/soak.preload.
 *
 *	SOAK_SECONDS=600        run time (default 600)
 *	SOAK_REQUIRE_FLAT=1     the flatness verdict is a test point, not only
 *	                        a diagnostic (make check-soak sets it)
 *
 * The program sets BUDDYMALLOC_CONF=limit:512m (appended to what is there)
 * and runs itself again, so the budget of the reclaim issue is in force:
 * allocations fail when it is spent, and the reclaim thread runs.
 *
 * NR_WORKERS threads each hold SLOTS blocks and, operation by operation,
 * replace one with malloc, calloc, realloc (a chain: the same block grows
 * and shrinks), memalign, aligned_alloc or posix_memalign, free one, check
 * malloc_usable_size, or swap one with a slot of the shared exchange and
 * free the block they took out (which another thread allocated: frees
 * across threads). Sizes run from 1 byte to 32 MiB (slab classes, page
 * blocks, direct mappings above 4 MiB). A worker lives for a random number
 * of operations, hands half its blocks to the exchange and frees the rest,
 * and exits; the main thread joins it and starts another in its place.
 * Now and then a worker forks: the child checks and frees the blocks its
 * thread held, allocates and frees more, and exits with 0 only if nothing
 * was corrupt. Now and then a worker runs a pressure episode: 32 MiB
 * mappings, touched, until the budget says no (every episode ends in a
 * failure), then freed; other threads' allocations may fail meanwhile.
 *
 * Every failure must be NULL with errno ENOMEM, and is counted: a failed
 * realloc keeps the old block, which is checked as usual.
 *
 * Every block carries its check: blocks of 16 bytes or more start with a
 * header (the block's seed and size, and a check word of both); every
 * covered byte after it is a function of the seed and the byte's offset.
 * Covered: all bytes of the first and last 4 KiB, and 8 bytes every 2 KiB
 * in between (every page is touched, so the resident set is real). The
 * block's owner keeps its seed and size apart from the block; before every
 * free and realloc, and after every realloc (the kept prefix), the block is
 * checked against them. A corruption is a block whose header or covered
 * bytes differ, a calloc block that is not zero, a misaligned block, or a
 * usable size below the size asked for.
 *
 * Resident memory (/proc/self/statm) is sampled every few seconds (3 s in
 * a 10-minute run), with the program's own count of live bytes, and never
 * during a pressure episode (the sampler waits for its end), so the samples
 * show the steady working set.
 *
 * Flat: the samples after the first quarter of the run (the working set is
 * built by then: every slot has been refilled many times over) are cut in
 * thirds; the median resident memory of the last third exceeds that of the
 * first third by at most 15% of the latter or 32 MiB, whichever is larger.
 * Why so: a leak grows resident memory with time, so the late samples sit
 * above the early ones; the working set itself is random (sizes up to 32
 * MiB), so single samples swing widely (a 10-minute run here: resident
 * 117-455 MiB, standard deviation 66 MiB, live 66-195 MiB), and medians of
 * many samples are what stays put: in that run, shuffling the samples'
 * order gave a difference of the two medians with a standard deviation of
 * 18 MiB at 5-s samples, so the bound (about 45 MiB there) is over three
 * of them; it catches a leak of more than about 10 MiB a minute. The limit
 * (512 MiB) sits above the steady set, so a leak has room to show before
 * the budget caps it. Timing decides only this verdict, which "make
 * check-soak" asserts and a short run reports without asserting.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"

#define LIMIT_CONF	"limit:512m"
#define NR_WORKERS	16
#define SLOTS		128
#define EXCHANGE	256
#define LIFE_MIN_OPS	2000
#define LIFE_MAX_OPS	40000
#define FORK_EVERY	50000		/* operations of one worker */
#define PRESSURE_EVERY	100000
#define PRESSURE_BLOCK	(32UL << 20)
#define PRESSURE_MAX	64
#define CHILD_OPS	2000
#define MAX_SAMPLES	2048
#define COVER_EDGE	4096
#define COVER_STRIDE	2048

struct block {
	void *p;
	size_t size;
	uint64_t seed;
};

struct header {
	uint64_t seed;
	uint64_t check;		/* hdr_check(seed, size) */
};

/* ------------------------------------------------------ block contents */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	return x ^ (x >> 33);
}

static uint64_t hdr_check(uint64_t seed, size_t size)
{
	return mix(seed ^ ((uint64_t)size * 0x9e3779b97f4a7c15ULL));
}

static uint8_t content_byte(uint64_t seed, size_t off)
{
	return (uint8_t)(mix(seed + (off >> 3)) >> ((off & 7) * 8));
}

/*
 * Calls fn on each covered range [a, b) of a block of size bytes, clipped
 * to limit, after the header. fn returns false to stop (a mismatch).
 */
typedef bool (*range_fn)(uint8_t *base, size_t a, size_t b, uint64_t seed,
			 bool write);

static bool fill_or_check(uint8_t *base, size_t a, size_t b, uint64_t seed,
			  bool write)
{
	for (size_t off = a; off < b; off++) {
		uint8_t v = content_byte(seed, off);

		if (write)
			base[off] = v;
		else if (base[off] != v)
			return false;
	}
	return true;
}

static bool zero_range(uint8_t *base, size_t a, size_t b, uint64_t seed,
		       bool write)
{
	(void)seed;
	(void)write;
	for (size_t off = a; off < b; off++)
		if (base[off])
			return false;
	return true;
}

static bool walk_cover(uint8_t *base, size_t size, size_t limit, uint64_t seed,
		       bool write, range_fn fn)
{
	size_t first = size >= sizeof(struct header) ? sizeof(struct header) : 0;
	size_t head_end = size < COVER_EDGE ? size : COVER_EDGE;
	size_t tail = size > 2 * COVER_EDGE ? size - COVER_EDGE : head_end;

	if (head_end > limit)
		head_end = limit;
	if (first < head_end && !fn(base, first, head_end, seed, write))
		return false;
	for (size_t off = COVER_EDGE; off + 8 <= tail && off + 8 <= limit;
	     off += COVER_STRIDE)
		if (!fn(base, off, off + 8, seed, write))
			return false;
	if (tail < size && tail < limit)
		return fn(base, tail, size < limit ? size : limit, seed, write);
	return true;
}

static void block_fill(struct block *b)
{
	if (b->size >= sizeof(struct header)) {
		struct header h = { b->seed, hdr_check(b->seed, b->size) };

		memcpy(b->p, &h, sizeof(h));
	}
	walk_cover(b->p, b->size, b->size, b->seed, true, fill_or_check);
}

/* The header (if the block has one) says seed and size, and the covered
 * bytes below limit are the seed's. */
static bool block_ok(const struct block *b, size_t limit)
{
	if (b->size >= sizeof(struct header) && limit >= sizeof(struct header)) {
		struct header h;

		memcpy(&h, b->p, sizeof(h));
		if (h.seed != b->seed || h.check != hdr_check(b->seed, b->size))
			return false;
	}
	return walk_cover(b->p, b->size, limit, b->seed, false, fill_or_check);
}

/* After realloc the header still names the old size: check the seed and
 * the old covered bytes within what was kept. */
static bool block_prefix_ok(const struct block *old, void *p, size_t keep)
{
	if (old->size >= sizeof(struct header) && keep >= sizeof(struct header)) {
		struct header h;

		memcpy(&h, p, sizeof(h));
		if (h.seed != old->seed ||
		    h.check != hdr_check(old->seed, old->size))
			return false;
	}
	return walk_cover(p, old->size, keep, old->seed, false, fill_or_check);
}

/* ------------------------------------------------------------- sharing */

static atomic_bool stop;
static atomic_ulong total_ops, failures, bad_errno, corruptions;
static atomic_ulong forks, child_failures, episodes, threads_started;
static atomic_long live_bytes;
/* 0, or the first failed child's wait status | 0x10000 (-1: it hung and
 * was killed, -2: waitpid failed). */
static atomic_int first_child_status;

static struct {
	pthread_mutex_t lock;
	struct block b;
} exchange[EXCHANGE];

/* Held by a pressure episode; the sampler waits for it. */
static pthread_mutex_t pressure_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	pthread_t thread;
	unsigned int id;
	atomic_bool done;
	uint64_t rng;
	unsigned long life;
	struct block slot[SLOTS];
};

static struct worker workers[NR_WORKERS];

/* A failed allocation: counted; anything but ENOMEM is an error. */
static void note_failure(int err)
{
	atomic_fetch_add(&failures, 1);
	if (err != ENOMEM)
		atomic_fetch_add(&bad_errno, 1);
}

static void corrupt(void)
{
	atomic_fetch_add(&corruptions, 1);
}

/* Mostly small; sometimes pages; rarely direct mappings (above 4 MiB). */
static size_t pick_size(uint64_t *rng)
{
	unsigned int r = (unsigned int)rand_below(rng, 1000);
	unsigned int lo, hi, bits;

	if (r < 700) {
		lo = 0; hi = 10;	/* 1 B .. 1 KiB */
	} else if (r < 900) {
		lo = 10; hi = 15;	/* .. 32 KiB */
	} else if (r < 990) {
		lo = 15; hi = 20;	/* .. 1 MiB */
	} else if (r < 999) {
		lo = 20; hi = 22;	/* .. 4 MiB */
	} else {
		lo = 22; hi = 25;	/* .. 32 MiB: direct mappings */
	}
	bits = lo + (unsigned int)rand_below(rng, hi - lo);
	return ((size_t)1 << bits) + (size_t)rand_below(rng, (uint64_t)1 << bits);
}

/* Check and free b (if any); empty afterwards. */
static void block_release(struct block *b)
{
	if (!b->p)
		return;
	if (!block_ok(b, b->size))
		corrupt();
	free(b->p);
	atomic_fetch_sub(&live_bytes, (long)b->size);
	b->p = NULL;
}

static void block_take(struct block *b, void *p, size_t size, uint64_t seed)
{
	b->p = p;
	b->size = size;
	b->seed = seed;
	block_fill(b);
	atomic_fetch_add(&live_bytes, (long)size);
}

static void op_realloc(struct block *b, size_t size, uint64_t seed)
{
	struct block old = *b;
	size_t keep;
	void *p;

	errno = 0;
	p = realloc(b->p, size);
	if (!p) {
		note_failure(errno);
		return;		/* the old block stays, checked later */
	}
	if (!old.p) {
		block_take(b, p, size, seed);
		return;
	}
	keep = size < old.size ? size : old.size;
	if (!block_prefix_ok(&old, p, keep))
		corrupt();
	atomic_fetch_sub(&live_bytes, (long)old.size);
	block_take(b, p, size, old.seed);
}

static void op_aligned(struct block *b, uint64_t *rng, size_t size,
		       uint64_t seed, unsigned long n)
{
	size_t align = (size_t)1 << (4 + rand_below(rng, 13));	/* .. 64 KiB */
	void *p = NULL;
	int err;

	if (rand_below(rng, 64) == 0)
		align = 2UL << 20;
	errno = 0;
	switch (n % 3) {
	case 0:
		p = memalign(align, size);
		err = errno;
		break;
	case 1:
		size = (size + align - 1) & ~(align - 1);
		p = aligned_alloc(align, size);
		err = errno;
		break;
	default:
		err = posix_memalign(&p, align, size);
		if (err)
			p = NULL;
		break;
	}
	if (!p) {
		note_failure(err);
		return;
	}
	if ((uintptr_t)p & (align - 1))
		corrupt();
	block_release(b);
	block_take(b, p, size, seed);
}

/* Swap b with a random exchange slot; free what came out (another
 * thread's block, most of the time). */
static void op_exchange(struct block *b, uint64_t *rng)
{
	unsigned int i = (unsigned int)rand_below(rng, EXCHANGE);
	struct block out;

	pthread_mutex_lock(&exchange[i].lock);
	out = exchange[i].b;
	exchange[i].b = *b;
	pthread_mutex_unlock(&exchange[i].lock);
	b->p = NULL;
	block_release(&out);
}

/*
 * 32 MiB mappings until the budget refuses one; then freed. The budget
 * counts a mapping whole from the start, so the blocks are not touched
 * beyond their first and last words (their seed, checked before free):
 * the episode is short, and the sampler, which waits for it, is not held
 * up.
 */
static void pressure_episode(uint64_t *rng)
{
	void *held[PRESSURE_MAX];
	uint64_t seed[PRESSURE_MAX];
	unsigned int n = 0;

	if (pthread_mutex_trylock(&pressure_lock) != 0)
		return;
	for (; n < PRESSURE_MAX; n++) {
		errno = 0;
		held[n] = malloc(PRESSURE_BLOCK);
		if (!held[n]) {
			note_failure(errno);
			break;
		}
		seed[n] = splitmix64(rng);
		((uint64_t *)held[n])[0] = seed[n];
		((uint64_t *)held[n])[PRESSURE_BLOCK / 8 - 1] = ~seed[n];
	}
	for (unsigned int i = 0; i < n; i++) {
		if (((uint64_t *)held[i])[0] != seed[i] ||
		    ((uint64_t *)held[i])[PRESSURE_BLOCK / 8 - 1] != ~seed[i])
			corrupt();
		free(held[i]);
	}
	atomic_fetch_add(&episodes, 1);
	pthread_mutex_unlock(&pressure_lock);
}

/* In the child of a fork: only this thread runs. Check and free what it
 * held; allocate and free more. Exit status 0: nothing was wrong. */
static void child_main(struct worker *w)
{
	struct block b[16] = { { 0 } };
	unsigned long bad = 0;

	for (unsigned int i = 0; i < SLOTS; i++) {
		if (!w->slot[i].p)
			continue;
		if (!block_ok(&w->slot[i], w->slot[i].size))
			bad++;
		free(w->slot[i].p);
	}
	for (unsigned int n = 0; n < CHILD_OPS; n++) {
		struct block *s = &b[n % 16];
		size_t size = 1 + (size_t)rand_below(&w->rng, 65536);

		if (s->p) {
			if (!block_ok(s, s->size))
				bad++;
			free(s->p);
		}
		s->p = malloc(size);
		if (!s->p)
			continue;	/* the budget: allowed */
		s->size = size;
		s->seed = splitmix64(&w->rng);
		block_fill(s);
	}
	for (unsigned int i = 0; i < 16; i++) {
		if (b[i].p && !block_ok(&b[i], b[i].size))
			bad++;
		free(b[i].p);
	}
	_exit(bad ? 1 : 0);
}

static void op_fork(struct worker *w)
{
	double started = test_now();
	pid_t pid = fork();
	int status;

	if (pid == 0)
		child_main(w);
	if (pid < 0) {
		note_failure(errno == EAGAIN ? ENOMEM : errno);
		return;
	}
	atomic_fetch_add(&forks, 1);
	status = test_wait_child(pid, started, 120);
	if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		int none = 0;

		atomic_fetch_add(&child_failures, 1);
		/* The first failure's wait status, for the report. */
		atomic_compare_exchange_strong(&first_child_status, &none,
					       status < 0 ? status : status | 0x10000);
	}
}

static void one_op(struct worker *w, unsigned long n)
{
	unsigned int r = (unsigned int)rand_below(&w->rng, 100);
	struct block *b = &w->slot[rand_below(&w->rng, SLOTS)];
	size_t size = pick_size(&w->rng);
	uint64_t seed = splitmix64(&w->rng);
	void *p;

	if (r < 35) {
		errno = 0;
		p = malloc(size);
		if (!p) {
			note_failure(errno);
			return;
		}
		block_release(b);
		block_take(b, p, size, seed);
	} else if (r < 45) {
		errno = 0;
		p = calloc(1, size);
		if (!p) {
			note_failure(errno);
			return;
		}
		if (!walk_cover(p, size, size, 0, false, zero_range))
			corrupt();
		block_release(b);
		block_take(b, p, size, seed);
	} else if (r < 60) {
		op_realloc(b, size, seed);
	} else if (r < 67) {
		op_aligned(b, &w->rng, size, seed, n);
	} else if (r < 80) {
		op_exchange(b, &w->rng);
	} else if (r < 95) {
		block_release(b);
	} else if (b->p && malloc_usable_size(b->p) < b->size) {
		corrupt();
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long n;

	for (n = 0; n < w->life && !atomic_load_explicit(&stop,
							 memory_order_relaxed); n++) {
		one_op(w, n);
		/* Offsets differ by thread, so that threads do not fork or
		 * press together; thread 0 does both early in its life, so
		 * that even a short run has them. */
		if (n % FORK_EVERY == 3000 + w->id * 3000)
			op_fork(w);
		if (n % PRESSURE_EVERY == 4000 + w->id * 6000)
			pressure_episode(&w->rng);
	}
	/* Half to the exchange, for other threads to free; the rest freed. */
	for (unsigned int i = 0; i < SLOTS; i++) {
		if (i % 2)
			op_exchange(&w->slot[i], &w->rng);
		else
			block_release(&w->slot[i]);
	}
	atomic_fetch_add(&total_ops, n);
	atomic_store(&w->done, true);
	return NULL;
}

static pthread_attr_t worker_attr;

static bool worker_start(struct worker *w, uint64_t *rng)
{
	w->rng = splitmix64(rng);
	w->life = LIFE_MIN_OPS + rand_below(rng, LIFE_MAX_OPS - LIFE_MIN_OPS);
	atomic_store(&w->done, false);
	if (pthread_create(&w->thread, &worker_attr, worker_main, w) != 0)
		return false;
	atomic_fetch_add(&threads_started, 1);
	return true;
}

/* ------------------------------------------------------------ sampling */

struct sample {
	double t;
	size_t rss;
	long live;
};

static struct sample samples[MAX_SAMPLES];
static unsigned int nr_samples;

/* Is the allocator's reclaim thread (core/vmscan.c names it) alive? */
static bool reclaim_thread_seen(void)
{
	char path[300], comm[32];
	struct dirent *e;
	bool seen = false;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return false;
	while (!seen && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (test_read_proc(path, comm, sizeof(comm)) &&
		    strncmp(comm, "buddy-kswapd", 12) == 0)
			seen = true;
	}
	closedir(d);
	return seen;
}

/* A sample, unless a pressure episode runs (false: try again soon). */
static bool take_sample(double t0)
{
	if (nr_samples == MAX_SAMPLES)
		return true;
	if (pthread_mutex_trylock(&pressure_lock) != 0)
		return false;
	samples[nr_samples].t = test_now() - t0;
	samples[nr_samples].rss = test_rss_bytes();
	samples[nr_samples].live = atomic_load(&live_bytes);
	pthread_mutex_unlock(&pressure_lock);
	nr_samples++;
	return true;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* The median resident memory of samples[from, from + n). */
static double median_rss(unsigned int from, unsigned int n)
{
	size_t v[MAX_SAMPLES];

	for (unsigned int i = 0; i < n; i++)
		v[i] = samples[from + i].rss;
	qsort(v, n, sizeof(v[0]), cmp_size);
	return n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* The flatness verdict over samples[from ..); see the top of the file.
 * *early and *late: the medians of the first and last thirds, *bound the
 * most late may exceed early by. */
static bool rss_flat(unsigned int from, double *early, double *late,
		     double *bound)
{
	unsigned int third = (nr_samples - from) / 3;

	*early = *late = *bound = 0;
	if (third < 2)
		return false;
	*early = median_rss(from, third);
	*late = median_rss(nr_samples - third, third);
	*bound = *early * 0.15 > 32.0 * 1048576 ? *early * 0.15 :
		 32.0 * 1048576;
	return *late - *early <= *bound;
}

/* ---------------------------------------------------------------- test */

static unsigned int run_seconds(void)
{
	const char *s = getenv("SOAK_SECONDS");
	unsigned long v = s ? strtoul(s, NULL, 10) : 0;

	return v ? (unsigned int)v : 600;
}

/* SOAK_REQUIRE_FLAT set, not empty, not 0. */
static bool require_flat(void)
{
	const char *s = getenv("SOAK_REQUIRE_FLAT");

	return s && *s && strcmp(s, "0") != 0;
}

TEST_BEGIN(test_soak)
{
	unsigned int seconds = run_seconds(), from;
	double t0, interval, next, early, late, bound;
	uint64_t rng = test_seed(0x50a6);
	size_t before, after;
	bool reclaim_seen = false, flat;

	test_skip_if(api_any_malloc());
	interval = seconds / 200.0;
	interval = interval < 1 ? 1 : interval > 3 ? 3 : interval;
	test_diag("%u s, %d threads, %s, samples every %.1f s", seconds,
		  NR_WORKERS, getenv("BUDDYMALLOC_CONF"), interval);
	for (unsigned int i = 0; i < EXCHANGE; i++)
		pthread_mutex_init(&exchange[i].lock, NULL);
	/* Small stacks: glibc keeps joined threads' stacks in a cache. */
	assert_d_eq(pthread_attr_init(&worker_attr), 0);
	assert_d_eq(pthread_attr_setstacksize(&worker_attr, 256 << 10), 0);
	before = test_bytes_in_use();

	t0 = test_now();
	next = interval;
	for (unsigned int i = 0; i < NR_WORKERS; i++) {
		workers[i].id = i;
		assert_true(worker_start(&workers[i], &rng), "pthread_create");
	}
	while (test_now() - t0 < seconds) {
		for (unsigned int i = 0; i < NR_WORKERS; i++) {
			if (!atomic_load(&workers[i].done))
				continue;
			pthread_join(workers[i].thread, NULL);
			assert_true(worker_start(&workers[i], &rng),
				    "pthread_create");
		}
		if (test_now() - t0 >= next && take_sample(t0)) {
			reclaim_seen = reclaim_seen || reclaim_thread_seen();
			next = test_now() - t0 + interval;
		}
		usleep(20000);
	}
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < NR_WORKERS; i++)
		pthread_join(workers[i].thread, NULL);
	for (unsigned int i = 0; i < EXCHANGE; i++)
		block_release(&exchange[i].b);
	after = test_bytes_in_use();

	for (unsigned int i = 0; i < nr_samples; i++)
		test_diag("t %6.1f s  resident %7.1f MiB  live %7.1f MiB",
			  samples[i].t, samples[i].rss / 1048576.0,
			  samples[i].live / 1048576.0);
	from = 0;
	while (from < nr_samples && samples[from].t < seconds / 4.0)
		from++;
	flat = rss_flat(from, &early, &late, &bound);
	test_diag("operations %lu, failures handled %lu (pressure episodes "
		  "%lu), corruptions %lu, forks %lu, threads started %lu",
		  atomic_load(&total_ops), atomic_load(&failures),
		  atomic_load(&episodes), atomic_load(&corruptions),
		  atomic_load(&forks), atomic_load(&threads_started));
	test_diag("resident memory %s: %u samples from %.0f s on; median of "
		  "the first third %.1f MiB, of the last %.1f MiB (flat: at "
		  "most %.1f MiB more)", flat ? "flat" : "NOT flat",
		  nr_samples - from, from < nr_samples ? samples[from].t : 0.0,
		  early / 1048576, late / 1048576, bound / 1048576);
	test_diag("bytes in use before %zu, after %zu", before, after);
	if (atomic_load(&first_child_status)) {
		int st = atomic_load(&first_child_status);

		if (st < 0)
			test_diag("first failed child: %s", st == -1 ?
				  "hung (killed after 120 s)" : "waitpid failed");
		else if (WIFSIGNALED(st & 0xffff))
			test_diag("first failed child: killed by signal %d",
				  WTERMSIG(st & 0xffff));
		else
			test_diag("first failed child: exit status %d (1: a "
				  "block it held was corrupt)",
				  WEXITSTATUS(st & 0xffff));
	}

	expect_lu_eq(atomic_load(&corruptions), 0, "corruptions");
	expect_lu_eq(atomic_load(&bad_errno), 0, "failures without ENOMEM");
	expect_lu_eq(atomic_load(&child_failures), 0,
		     "forked children that failed, crashed or hung");
	expect_lu_gt(atomic_load(&total_ops), 0, "operations");
	expect_lu_gt(atomic_load(&failures), 0, "the budget made allocations fail");
	expect_lu_gt(atomic_load(&episodes), 0, "pressure episodes");
	expect_lu_gt(atomic_load(&forks), 0, "forks");
	expect_lu_gt(atomic_load(&threads_started), NR_WORKERS,
		     "threads replaced during the run");
	expect_true(reclaim_seen, "the reclaim thread (buddy-kswapd0) ran");
	expect_zu_le(after, before + (1u << 20),
		     "bytes in use after the run (trimmed) within 1 MiB of before");
	if (require_flat())
		expect_true(flat, "resident memory flat once steady");
	pthread_attr_destroy(&worker_attr);
}
TEST_END

int main(int argc, char **argv)
{
	const char *conf = getenv("BUDDYMALLOC_CONF");

	(void)argc;
	if (!conf || !strstr(conf, "limit:")) {
		char buf[512];

		snprintf(buf, sizeof(buf), "%s%s%s", conf ? conf : "",
			 conf && *conf ? "," : "", LIMIT_CONF);
		setenv("BUDDYMALLOC_CONF", buf, 1);
		execv("/proc/self/exe", argv);
		printf("Bail out! cannot run itself again: %s\n", strerror(errno));
		return 99;
	}
	api_watchdog(run_seconds() + 300);
	return test_run(test_served_by_buddymalloc,
			test_soak,
			NULL);
}
