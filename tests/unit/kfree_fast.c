/*
 * kfree_fast.c - the lookups of the inline fast paths (slab/kmalloc_fast.h)
 * against the slow paths' own:
 *   - virt_to_page_live() finds the descriptor virt_to_page() finds for
 *     every heap address, and nothing for other addresses or for a
 *     section a forked child abandoned;
 *   - page_object_state() (the page descriptor's reciprocal, size and
 *     span) finds the state byte of exactly the addresses object_index()
 *     accepts, in every page of a slab of every class;
 *   - kmalloc_fast_idx() is the cache's index and the index of its count;
 *   - kfree_fast() takes a live object and refuses, leaving its state
 *     alone, an interior address, the tail past a slab's last object, a
 *     freed object and a sampled one, and anything not in a slab;
 *   - a kmalloc_fast()/kfree_fast() pair writes no state byte (they live
 *     64 to a cache line: a store on every call bounces that line
 *     between CPUs), and the free still marks the object freed.
 */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#include "internal.h"
#include "kmalloc_fast.h"

/* A live object of class c and type mt, freshly allocated. */
static void *alloc_class(int mt, unsigned int c)
{
	return kmalloc(kmalloc_size[c], (gfp_t)(mt ? __GFP_MOVABLE : 0));
}

TEST_BEGIN(test_virt_to_page_live)
{
	int on_stack;
	void *p = kmalloc(64, 0);
	void *big = kmalloc(1 << 20, 0);

	assert_ptr_not_null(p, "alloc");
	assert_ptr_not_null(big, "alloc 1 MiB");
	for (uintptr_t a = (uintptr_t)big; a < (uintptr_t)big + (1 << 20); a += 512)
		if (virt_to_page_live((void *)a) != virt_to_page((void *)a)) {
			test_fail("page of %#lx: %p, not %p", (unsigned long)a,
				  (void *)virt_to_page_live((void *)a),
				  (void *)virt_to_page((void *)a));
			break;
		}
	expect_ptr_eq(virt_to_page_live(p), virt_to_page(p), "small object");
	expect_ptr_null(virt_to_page_live(&on_stack), "the stack");
	expect_ptr_null(virt_to_page_live(NULL), "NULL");
	expect_ptr_null(virt_to_page_live((void *)(UINTPTR_MAX - 15)), "past the table");
	expect_ptr_null(virt_to_page_live((void *)(1UL << 62)), "past the table");
	expect_d_eq(kfree(big), KFREE_OK, "free 1 MiB");
	expect_d_eq(kfree(p), KFREE_OK, "free");
}
TEST_END

/* Every 16 bytes of one slab of every class and type: the page
 * descriptor's answer is object_index()'s. */
TEST_BEGIN(test_page_object_state)
{
	unsigned long checked = 0;

	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		for (unsigned int c = 0; c < NR_SIZE_CLASSES; c++) {
			char *p = alloc_class(mt, c);
			struct slab *slab;
			struct kmem_cache *cache;
			size_t bytes;

			assert_ptr_not_null(p, "class %u", kmalloc_size[c]);
			slab = cache_slab_of(p);
			assert_ptr_not_null(slab, "a slab object");
			cache = slab->cache;
			bytes = PAGE_SIZE << cache->order;
			expect_u_eq(cache->size, kmalloc_size[c], "its class");
			for (size_t off = 0; off < bytes; off += 16) {
				char *a = slab->base + off;
				struct page *page = virt_to_page_live(a);
				long idx = object_index(slab, a);
				uint8_t *want = idx < 0 ? NULL : &slab->state[idx];

				checked++;
				if (!page || !(page->flags & PG_slab) ||
				    page->slab.cache != cache ||
				    page->slab.cache_idx != cache->cc_idx ||
				    page_object_state(page, a) != want) {
					test_fail("class %u, offset %zu: %p, not %p",
						  kmalloc_size[c], off,
						  page ? (void *)page_object_state(page, a) : NULL,
						  (void *)want);
					break;
				}
				/* Odd addresses start nothing. */
				if (page_object_state(page, a + 8) ||
				    page_object_state(page, a + 1)) {
					test_fail("class %u, offset %zu + 8 or + 1 found",
						  kmalloc_size[c], off);
					break;
				}
			}
			expect_d_eq(kfree(p), KFREE_OK, "free");
		}
	test_diag("%lu addresses compared", checked);
}
TEST_END

TEST_BEGIN(test_fast_idx)
{
	for (int mt = 0; mt < MIGRATE_PCPTYPES; mt++)
		for (unsigned int c = 0; c < NR_SIZE_CLASSES; c++) {
			struct kmem_cache *cache = &kmem_caches[mt][c];

			/* The prediction is UNMOVABLE or MOVABLE. */
			if (mt == MIGRATE_UNMOVABLE || mt == MIGRATE_MOVABLE)
				expect_u_eq(kmalloc_fast_idx(c, mt),
					    kmem_cache_idx(cache),
					    "class %u type %d", c, mt);
			expect_u_eq(kmem_cache_idx(cache), cache->cc_idx,
				    "the count's index, class %u type %d", c, mt);
		}
}
TEST_END

/*
 * The refusals of kfree_fast, each with the state byte unchanged, then
 * the free itself (rseq mode only: in the fallback mode it takes
 * nothing). The tail: a class whose slab has room past its last object.
 */
TEST_BEGIN(test_kfree_fast_refuses)
{
	char *p = kmalloc(48, 0);
	int on_stack;
	struct slab *slab;
	uint8_t *state, saved;
	char *tail;

	assert_ptr_not_null(p, "alloc");
	test_skip_if(!cpu_cache_uses_rseq());
	slab = cache_slab_of(p);
	state = &slab->state[object_index(slab, p)];
	assert_true(obj_live(*state, p), "live");
	expect_false(kfree_fast(p + 16), "interior");
	expect_false(kfree_fast(p + 1), "odd interior");
	expect_false(kfree_fast(&on_stack), "the stack");
	/* 4096 / 48: 85 objects end at 4080; 4080 is a multiple of 48. */
	assert_u_eq(slab->objects, 85, "objects of a 48-byte slab");
	tail = slab->base + 85 * 48;
	expect_false(kfree_fast(tail), "the tail past the last object");
	expect_true(obj_live(*state, p), "still live");
	saved = *state;
	*state = OBJ_SAMPLED;
	expect_false(kfree_fast(p), "sampled: the slow path counts it");
	expect_d_eq(*state, OBJ_SAMPLED, "still sampled");
	expect_false(obj_marked(p), "and not marked");
	*state = saved;
	/* The fast free itself, then it is freed. A failed push (a CPU being
	 * drained, a full stack) is allowed: then the slow path frees. */
	if (kfree_fast(p))
		expect_true(*state == OBJ_CPU && obj_marked(p),
			    "pushed: OBJ_CPU and marked");
	else
		expect_d_eq(kfree(p), KFREE_OK, "slow free");
	expect_false(kfree_fast(p), "freed: refused");
	expect_d_eq(kfree(p), KFREE_DOUBLE, "and reported by the slow path");
}
TEST_END

/* The page(s) of a slab's state bytes, read-only while a fast pair runs;
 * a store there faults, and the handler counts it and makes them
 * writable again so that the store completes. */
static char *state_pages;
static size_t state_len;
static volatile sig_atomic_t state_stores;

static void state_store_fault(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr;

	(void)sig;
	(void)uc;
	if (a < state_pages || a >= state_pages + state_len)
		abort();	/* some other fault: not ours to hide */
	state_stores++;
	mprotect(state_pages, state_len, PROT_READ | PROT_WRITE);
}

static void state_protect(int prot)
{
	if (mprotect(state_pages, state_len, prot) != 0)
		abort();
}

/*
 * The fast paths store no state byte (slab_internal.h, enum obj_state):
 * pinned to one CPU, so that every pop finds the object the push before
 * it left on this CPU's stack, malloc+free pairs leave the state bytes of
 * the object's slab exactly as they were and store nothing there (the
 * page of the bytes is read-only meanwhile: even a store of the value a
 * byte already holds is counted), and each free leaves the object OBJ_CPU
 * and marked (a second free is refused). A pair the lifetime
 * classifier's countdown sends to the slow path (kmalloc_fast NULL) is
 * not counted. Both modes: the fallback's free is kfree_fast_locked
 * (cpu_cache_fallback.sh runs this with rseq off).
 */
static void fast_pairs_keep_state(bool (*free_fast)(void *))
{
	unsigned char before[SLAB_MAX_OBJECTS];
	struct alloc_site site = ALLOC_SITE_HERE();
	unsigned int depth = 0, pairs = 0, class;
	struct kmem_cache *cache;
	struct slab *slab;
	cpu_set_t saved, one;
	struct sigaction sa, old_sa;
	uintptr_t pagesz;
	char *p, *q;

	sched_getaffinity(0, sizeof(saved), &saved);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	test_skip_if(sched_setaffinity(0, sizeof(one), &one) != 0);
	sched_yield();
	/* An object of the cache kmalloc_fast picks for this site (the
	 * lifetime classifier's prediction), freed onto this CPU's stack. */
	class = size_class_lookup[(48 + 15) >> 4];
	cache = &kmem_caches[0][0] +
		kmalloc_fast_idx(class, lifetime_predict_nocount(site, class));
	CMM_STORE_SHARED(lifetime_sample_mean, 1u << 20);
	p = cpu_cache_alloc(cache);
	assert_ptr_not_null(p, "alloc");
	expect_d_eq(kfree(p), KFREE_OK, "onto this CPU's stack");
	slab = cache_slab_of(p);
	pagesz = (uintptr_t)sysconf(_SC_PAGESIZE);
	state_pages = (char *)((uintptr_t)slab->state & ~(pagesz - 1));
	state_len = (((uintptr_t)slab->state + slab->objects + pagesz - 1) &
		     ~(pagesz - 1)) - (uintptr_t)state_pages;
	sa.sa_sigaction = state_store_fault;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_d_eq(sigaction(SIGSEGV, &sa, &old_sa), 0, "handler");
	for (int i = 0; i < 1000; i++) {
		bool freed = false;

		memcpy(before, slab->state, slab->objects);
		state_protect(PROT_READ);
		q = kmalloc_fast(48, site, &depth);
		if (q == p) {
			q[0] = 1;	/* the program writes into word 0 */
			freed = free_fast(q);
		}
		state_protect(PROT_READ | PROT_WRITE);
		if (!q) {
			/* The countdown ran out: the slow path samples and
			 * restarts it (long, by the mean set above). */
			kfree(kmalloc_site(48, 0, site));
			continue;
		}
		if (q != p) {	/* not the object just freed: start again */
			kfree(q);
			continue;
		}
		if (!freed) {
			kfree(q);
			continue;
		}
		expect_true(obj_marked(q), "freed: marked");
		expect_false(free_fast(q), "a second free is refused");
		if (memcmp(before, slab->state, slab->objects) != 0) {
			expect_true(false, "pair %d changed a state byte", i);
			break;
		}
		pairs++;
	}
	sigaction(SIGSEGV, &old_sa, NULL);
	expect_d_eq(state_stores, 0, "no store to the state bytes' page");
	expect_u_ge(pairs, 900, "pairs on the fast paths");
	expect_d_eq(depth, 0, "depth balanced");
	test_diag("%u fast pairs", pairs);
	sched_setaffinity(0, sizeof(saved), &saved);
}

TEST_BEGIN(test_fast_pair_keeps_state)
{
	test_diag("%s mode", cpu_cache_uses_rseq() ? "rseq" : "fallback");
	fast_pairs_keep_state(cpu_cache_uses_rseq() ? kfree_fast :
			      kfree_fast_locked);
}
TEST_END

/* A class-48 slab's tail byte is taken by no object: a fast free of the
 * slab tail must not push it even if the byte past the states reads live.
 * Forced here by writing that byte (in the slab record's spare room). */
TEST_BEGIN(test_kfree_fast_tail_with_live_byte)
{
	char *p = kmalloc(48, 0);
	struct slab *slab;
	uint8_t saved;

	assert_ptr_not_null(p, "alloc");
	test_skip_if(!cpu_cache_uses_rseq());
	slab = cache_slab_of(p);
	assert_u_eq(slab->objects, 85, "objects of a 48-byte slab");
	saved = slab->state[85];
	slab->state[85] = OBJ_LIVE;
	expect_false(kfree_fast(slab->base + 85 * 48), "tail refused");
	expect_d_eq(slab->state[85], OBJ_LIVE, "untouched");
	slab->state[85] = saved;
	expect_d_eq(kfree(p), KFREE_OK, "free");
}
TEST_END

/* In a child that abandoned the heap, the inherited objects are no
 * longer found by the fast lookup (the slow path sees them abandoned). */
TEST_BEGIN(test_abandoned_section)
{
	void *p = kmalloc(48, 0);
	pid_t pid;
	int status;

	assert_ptr_not_null(p, "alloc");
	assert_ptr_not_null(virt_to_page_live(p), "found before the fork");
	pid = fork();
	assert_d_ge(pid, 0, "fork");
	if (pid == 0) {
		kmem_fork_child(true);
		if (virt_to_page_live(p) != NULL)
			_exit(2);
		if (!page_abandoned(virt_to_page(p)))
			_exit(3);
		if (kfree_fast(p))
			_exit(4);
		_exit(0);
	}
	assert_d_eq(waitpid(pid, &status, 0), pid, "wait");
	expect_true(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child: abandoned objects not found (status %#x)", status);
	expect_ptr_eq(virt_to_page_live(p), virt_to_page(p), "parent unchanged");
	expect_d_eq(kfree(p), KFREE_OK, "free");
}
TEST_END

int main(void)
{
	return test_run(test_virt_to_page_live,
			test_page_object_state,
			test_fast_idx,
			test_kfree_fast_refuses,
			test_kfree_fast_tail_with_live_byte,
			test_fast_pair_keeps_state,
			test_abandoned_section,
			NULL);
}
