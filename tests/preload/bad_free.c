/*
 * bad_free.c - bad pointers given to free() and realloc(), and to the page
 * API's frees, are reported in one line naming the call and the address,
 * then the process aborts; with BUDDYMALLOC_CONF=bad_free:report it prints
 * the same line and goes on.
 *
 * Each misuse runs in a fresh child: this program re-executes itself
 * ("bad_free child CASE") with stderr on a pipe and BUDDYMALLOC_CONF set or
 * not, so the setting goes through the real start-up path. The child writes
 * the address it is about to misuse to stdout; the parent builds the line
 * it expects from it and compares stderr with it exactly, then checks how
 * the child ended: killed by SIGABRT, or (report mode) exit status 0 after
 * allocating again and finding its live blocks intact.
 *
 * Linked with libbuddymalloc.la, so this program's malloc is ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buddymalloc.h"
#include "mm_types.h"
#include "tap.h"

void cfree(void *p);
void free_sized(void *p, size_t size);

/* ------------------------------------------------------------ the child */

/* Exit statuses of a child that went on after the bad call. */
#define CHILD_OK		0
#define CHILD_BAD_RESULT	3	/* the call returned something wrong */
#define CHILD_CORRUPT		4	/* a live block changed */
#define CHILD_NO_MALLOC		5	/* malloc failed afterwards */

static char global_block[256] __attribute__((aligned(64)));

static void say_address(const void *p)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "%p\n", p);

	if (write(STDOUT_FILENO, line, (size_t)n) != n)
		_exit(98);
}

/* The same pointer as the program holds it: the compiler must not know
 * what free() is given (it warns about, or drops, frees of non-heap
 * objects). */
static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

/* A live neighbour in the same slab, filled with a pattern, checked after
 * the bad call: the bad call must not have touched the heap. */
static unsigned char *keep;
#define KEEP_SIZE	64

static void keep_alloc(void)
{
	keep = malloc(KEEP_SIZE);
	if (!keep)
		_exit(CHILD_NO_MALLOC);
	memset(keep, 0x5a, KEEP_SIZE);
}

static int after(void)
{
	void *blocks[64];

	for (int i = 0; i < KEEP_SIZE; i++)
		if (keep[i] != 0x5a)
			return CHILD_CORRUPT;
	for (int i = 0; i < 64; i++) {
		blocks[i] = malloc((size_t)i * 100 + 1);
		if (!blocks[i])
			return CHILD_NO_MALLOC;
		memset(blocks[i], i, (size_t)i * 100 + 1);
	}
	for (int i = 0; i < 64; i++)
		free(blocks[i]);
	free(keep);
	return CHILD_OK;
}

/* realloc of a bad pointer, in report mode: NULL with errno EINVAL. */
static int bad_realloc(void *p, size_t size)
{
	void *q;

	say_address(p);
	errno = 0;
	q = realloc(launder(p), size);
	if (size != 0 && (q != NULL || errno != EINVAL))
		return CHILD_BAD_RESULT;
	if (size == 0 && q != NULL)
		return CHILD_BAD_RESULT;
	return after();
}

static int bad_free(void *p)
{
	say_address(p);
	free(launder(p));
	return after();
}

static void *freed_block(size_t size)
{
	void *p = malloc(size);
	uintptr_t addr = (uintptr_t)p;

	if (!p)
		_exit(CHILD_NO_MALLOC);
	__asm__ volatile("" : "+r"(addr));	/* no use-after-free warning */
	free(p);
	return (void *)addr;
}

/*
 * A double free of a small block that is not the most recent free: a is
 * freed, then others of its class (a few, or enough to flush this CPU's
 * stack to the slab layer, or a malloc_trim that drains every stack), then
 * a again. Reported at the second free, naming a; in report mode the
 * second free is ignored, and a is handed out at most once afterwards.
 */
#define DF_SIZE		64
#define DF_OTHERS	600

static int double_free_after(unsigned int others, bool trim)
{
	static void *other[DF_OTHERS], *got[DF_OTHERS + 2];
	unsigned int seen = 0;
	void *a = malloc(DF_SIZE);

	if (!a)
		return CHILD_NO_MALLOC;
	for (unsigned int i = 0; i < others; i++)
		if (!(other[i] = malloc(DF_SIZE)))
			return CHILD_NO_MALLOC;
	free(a);
	for (unsigned int i = 0; i < others; i++)
		free(other[i]);
	if (trim)
		malloc_trim(0);
	say_address(a);
	free(launder(a));
	for (unsigned int i = 0; i < others + 2; i++) {
		if (!(got[i] = malloc(DF_SIZE)))
			return CHILD_NO_MALLOC;
		seen += got[i] == a;
	}
	if (seen > 1)
		return CHILD_BAD_RESULT;	/* two owners of one block */
	for (unsigned int i = 0; i < others + 2; i++)
		free(got[i]);
	return after();
}

static size_t read_all(int fd, char *buf, size_t size);	/* the parent's */

/* ------------------------------------------------- hardening:junk */

/* One call site for all: the same lifetime, so the same cache. */
__attribute__((noinline))
static unsigned char *alloc_keep_size(void)
{
	return launder(malloc(KEEP_SIZE));
}

/* A small object written 20 bytes in after its free; mallocs of its class
 * from the same site get it back soon (this CPU's stack is LIFO; a
 * sampled object goes back to its slab) and must report. */
static int write_after_free(void)
{
	static unsigned char *q[256];
	unsigned char *p = alloc_keep_size();
	bool seen = false;

	if (!p)
		return CHILD_NO_MALLOC;
	memset(p, 0x11, KEEP_SIZE);
	free(p);
	say_address(p);
	((volatile unsigned char *)launder(p))[20] = 7;
	for (int i = 0; i < 256 && !seen; i++) {
		q[i] = alloc_keep_size();
		seen = q[i] == p;
	}
	if (!seen)
		return CHILD_BAD_RESULT;
	for (int i = 0; i < 256 && q[i]; i++)
		free(q[i]);
	return after();
}

/* hardening:redzone: one byte written just past a 40-byte block (its
 * usable size is 40, not the class's 48 or 64) is reported by its free. */
static int redzone_overflow(void)
{
	unsigned char *p = malloc(40);

	if (!p)
		return CHILD_NO_MALLOC;
	if (malloc_usable_size(p) != 40)
		return CHILD_BAD_RESULT;
	say_address(p);
	((volatile unsigned char *)launder(p))[40] = 1;
	free(p);
	return after();
}

/* A freed small object holds the junk byte past word 0. */
static int junk_on_free(void)
{
	volatile unsigned char *v;
	unsigned char *p = malloc(KEEP_SIZE);

	if (!p)
		return CHILD_NO_MALLOC;
	memset(launder(p), 0x11, KEEP_SIZE);
	free(p);
	say_address(p);
	v = launder(p);
	for (int i = 8; i < KEEP_SIZE; i++)
		if (v[i] != 0x5a)
			return CHILD_BAD_RESULT;
	return after();
}

/* ------------------------------------- blocks of another interface */

/*
 * The page API and the malloc family free only their own blocks, and
 * neither frees the allocator's metadata. The cases below hand each a
 * block of the other kind, a slab's page, or a metadata block, and then
 * (report mode) check that nothing was freed: the block's contents and
 * the objects of the slab are intact, and the pages handed out next do
 * not overlap them.
 */
#define PAGE		4096UL
#define OBJECTS		1024
#define LARGE_SIZE	(64UL << 10)	/* above the largest class: 16 pages */
#define LARGE_ORDER	4

static unsigned char *objects[OBJECTS];

/*
 * The descriptor (core/mm_types.h) of the heap page holding p, found the
 * way the layout of mm_types.h allows from outside the library: a
 * section's header and mem_map share one mapping aligned to
 * SECTION_META_ALIGN, the header naming its section and pointing at the
 * mem_map right after it. Every 4 MiB boundary of every writable mapping
 * is tried. NULL if p is not in the heap.
 */
static struct page *heap_page(const void *p)
{
	static char maps[1 << 16];
	unsigned long pfn = (uintptr_t)p >> PAGE_SHIFT;
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t len;

	if (fd < 0)
		return NULL;
	len = read_all(fd, maps, sizeof(maps));
	close(fd);
	for (char *line = maps; line < maps + len;) {
		char *next = strchr(line, '\n'), *rest;
		uintptr_t start = strtoul(line, &rest, 16);
		uintptr_t end = strtoul(rest + 1, &rest, 16);

		if (rest[1] == 'r' && rest[2] == 'w')
			for (uintptr_t a = (start + SECTION_META_ALIGN - 1) &
					   ~(SECTION_META_ALIGN - 1);
			     a + SECTION_META_SIZE <= end; a += SECTION_META_ALIGN) {
				struct mem_section *ms = (struct mem_section *)a;

				if (ms->mem_map == (struct page *)(a + SECTION_META_HEADER) &&
				    ms->section_nr == pfn >> PFN_SECTION_SHIFT &&
				    ms->start_pfn == ms->section_nr << PFN_SECTION_SHIFT)
					return &ms->mem_map[pfn - ms->start_pfn];
			}
		if (!next)
			break;
		line = next + 1;
	}
	return NULL;
}

/*
 * 64-byte objects until one starts its slab (a page-aligned object whose
 * page heads an allocation); *order gets the slab's order. Every object is
 * filled with its index.
 */
static unsigned char *slab_start_object(unsigned int *order)
{
	for (int i = 0; i < OBJECTS; i++) {
		struct page *page;

		objects[i] = malloc(KEEP_SIZE);
		if (!objects[i])
			_exit(CHILD_NO_MALLOC);
		memset(objects[i], i & 0xff, KEEP_SIZE);
		if ((uintptr_t)objects[i] & (PAGE - 1))
			continue;
		page = heap_page(objects[i]);
		if (!page || !(page->flags & PG_slab))
			_exit(CHILD_BAD_RESULT);
		if (page->flags & PG_head) {
			*order = (unsigned int)__builtin_ctz(page->nr_pages);
			return objects[i];
		}
	}
	_exit(CHILD_NO_MALLOC);
}

static bool objects_intact(void)
{
	for (int i = 0; i < OBJECTS && objects[i]; i++)
		for (int b = 0; b < KEEP_SIZE; b++)
			if (objects[i][b] != (i & 0xff))
				return false;
	return true;
}

/* The next pages the page API hands out, written all over: none may
 * overlap [p, p + size). Freed again afterwards. */
static bool pages_avoid(const void *p, size_t size)
{
	unsigned char *pages[64];
	bool ok = true;

	for (int i = 0; i < 64; i++) {
		pages[i] = buddymalloc_alloc_pages((unsigned int)i % 3, 0);
		if (!pages[i])
			_exit(CHILD_NO_MALLOC);
		if ((uintptr_t)pages[i] < (uintptr_t)p + size &&
		    (uintptr_t)p < (uintptr_t)pages[i] + (PAGE << (i % 3)))
			ok = false;
		memset(pages[i], 0xee, PAGE << (i % 3));
	}
	for (int i = 0; i < 64; i++)
		buddymalloc_free_pages(pages[i], (unsigned int)i % 3);
	return ok;
}

/* A page-sized malloc block filled with a pattern. */
static unsigned char *large_block(void)
{
	unsigned char *p = malloc(LARGE_SIZE);

	if (!p)
		_exit(CHILD_NO_MALLOC);
	memset(p, 0x3c, LARGE_SIZE);
	return p;
}

static bool large_intact(const unsigned char *p)
{
	for (size_t b = 0; b < LARGE_SIZE; b++)
		if (p[b] != 0x3c)
			return false;
	return true;
}

/* After a bad call on a page-API block of order 1 (report mode): it is
 * still allocated, so its own free goes through silently. */
static int page_block_after(unsigned char *q)
{
	for (size_t b = 0; b < 2 * PAGE; b++)
		if (q[b] != 0x77)
			return CHILD_CORRUPT;
	if (!pages_avoid(q, 2 * PAGE))
		return CHILD_CORRUPT;
	buddymalloc_free_pages(q, 1);
	return after();
}

static unsigned char *page_block(void)
{
	unsigned char *q = buddymalloc_alloc_pages(1, 0);

	if (!q)
		_exit(CHILD_NO_MALLOC);
	memset(q, 0x77, 2 * PAGE);
	return q;
}

/*
 * The first page of the metadata block holding the struct slab of the
 * live object obj: page->slab.private of a slab page is its record, in a
 * block the slab layer took from the core for records; walking back from
 * the record's page to the head of that block.
 */
static unsigned char *metadata_block(const void *obj)
{
	struct page *page = heap_page(obj), *meta;
	uintptr_t record, addr;

	if (!page || !(page->flags & PG_slab))
		_exit(CHILD_BAD_RESULT);
	record = page->slab.private;
	meta = heap_page((void *)record);
	if (!meta)
		_exit(CHILD_BAD_RESULT);
	addr = record & ~(PAGE - 1);
	for (int i = 0; !(meta->flags & PG_head); i++, meta--, addr -= PAGE)
		if (i == MAX_ORDER_NR_PAGES)
			_exit(CHILD_BAD_RESULT);
	return (unsigned char *)addr;
}

/* Report mode, after a bad call on the metadata block m: still allocated,
 * the slab it describes still works. */
static int metadata_after(const unsigned char *m)
{
	struct page *page = heap_page(m);

	if (!page || !(page->flags & PG_head) ||
	    !pages_avoid(m, (size_t)page->nr_pages * PAGE))
		return CHILD_CORRUPT;
	return after();
}

static int run_owner_case(const char *name)
{
	unsigned char *p, *q;
	unsigned int order;
	void *r;

	if (!strcmp(name, "pages_free_slab")) {
		p = slab_start_object(&order);
		say_address(p);
		buddymalloc_free_pages(launder(p), order);
		if (!pages_avoid(p, PAGE << order) || !objects_intact())
			return CHILD_CORRUPT;
		return after();
	}
	if (!strcmp(name, "pages_free_exact_slab")) {
		p = slab_start_object(&order);
		say_address(p);
		buddymalloc_free_pages_exact(launder(p), PAGE << order);
		if (!pages_avoid(p, PAGE << order) || !objects_intact())
			return CHILD_CORRUPT;
		return after();
	}
	if (!strcmp(name, "pages_free_malloc_large")) {
		p = large_block();
		say_address(p);
		buddymalloc_free_pages(launder(p), LARGE_ORDER);
		if (!pages_avoid(p, LARGE_SIZE) || !large_intact(p))
			return CHILD_CORRUPT;
		free(p);
		return after();
	}
	if (!strcmp(name, "pages_free_exact_malloc_large")) {
		p = large_block();
		say_address(p);
		buddymalloc_free_pages_exact(launder(p), LARGE_SIZE);
		if (!pages_avoid(p, LARGE_SIZE) || !large_intact(p))
			return CHILD_CORRUPT;
		free(p);
		return after();
	}
	if (!strcmp(name, "pages_free_huge")) {
		p = launder(malloc(8 << 20));	/* a direct mapping */
		if (!p)
			return CHILD_NO_MALLOC;
		say_address(p);
		buddymalloc_free_pages(p, BUDDY_MAX_PAGE_ORDER);
		free(p);
		return after();
	}
	if (!strcmp(name, "pages_free_mmap")) {
		p = mmap(NULL, PAGE << 2, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return CHILD_NO_MALLOC;
		say_address(p);
		buddymalloc_free_pages(launder(p), 2);
		return after();
	}
	if (!strcmp(name, "pages_free_interior")) {
		q = page_block();
		say_address(q + PAGE);
		buddymalloc_free_pages(launder(q + PAGE), 0);
		return page_block_after(q);
	}
	if (!strcmp(name, "pages_free_smaller_order")) {
		q = page_block();
		say_address(q);
		buddymalloc_free_pages(launder(q), 0);
		return page_block_after(q);
	}
	if (!strcmp(name, "pages_free_larger_order")) {
		q = page_block();
		say_address(q);
		buddymalloc_free_pages(launder(q), 2);
		return page_block_after(q);
	}
	if (!strcmp(name, "free_page_block")) {
		q = page_block();
		say_address(q);
		free(launder(q));
		return page_block_after(q);
	}
	if (!strcmp(name, "realloc_page_block")) {
		q = page_block();
		say_address(q);
		errno = 0;
		r = realloc(launder(q), 3 * PAGE);
		if (r != NULL || errno != EINVAL)
			return CHILD_BAD_RESULT;
		return page_block_after(q);
	}
	if (!strcmp(name, "usable_size_page_block")) {
		q = page_block();
		say_address(q);
		if (malloc_usable_size(launder(q)) != 0)
			return CHILD_BAD_RESULT;
		return page_block_after(q);
	}
	if (!strcmp(name, "free_metadata")) {
		p = metadata_block(keep);
		say_address(p);
		free(launder(p));
		return metadata_after(p);
	}
	if (!strcmp(name, "free_sized_metadata")) {
		p = metadata_block(keep);
		say_address(p);
		free_sized(launder(p), 4 * PAGE);
		return metadata_after(p);
	}
	if (!strcmp(name, "realloc_metadata")) {
		p = metadata_block(keep);
		say_address(p);
		errno = 0;
		r = realloc(launder(p), 100);
		if (r != NULL || errno != EINVAL)
			return CHILD_BAD_RESULT;
		return metadata_after(p);
	}
	if (!strcmp(name, "usable_size_metadata")) {
		p = metadata_block(keep);
		say_address(p);
		if (malloc_usable_size(launder(p)) != 0)
			return CHILD_BAD_RESULT;
		return metadata_after(p);
	}
	return 97;
}

static int run_case(const char *name)
{
	int local = 0;
	void *p;

	keep_alloc();
	if (!strcmp(name, "write_after_free"))
		return write_after_free();
	if (!strcmp(name, "junk_on_free"))
		return junk_on_free();
	if (!strcmp(name, "redzone_overflow"))
		return redzone_overflow();
	if (!strcmp(name, "double_free_small"))
		return bad_free(freed_block(KEEP_SIZE));
	if (!strcmp(name, "double_free_aba"))
		return double_free_after(1, false);
	if (!strcmp(name, "double_free_far"))
		return double_free_after(300, false);
	if (!strcmp(name, "double_free_flushed"))
		return double_free_after(DF_OTHERS, false);
	if (!strcmp(name, "double_free_trimmed"))
		return double_free_after(1, true);
	if (!strcmp(name, "double_free_large"))
		return bad_free(freed_block(256 << 10));
	if (!strcmp(name, "double_free_huge"))
		return bad_free(freed_block(8 << 20));
	if (!strcmp(name, "free_stack"))
		return bad_free(&local);
	if (!strcmp(name, "free_global"))
		return bad_free(global_block + 64);
	if (!strcmp(name, "free_mmap")) {
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? CHILD_NO_MALLOC : bad_free(p);
	}
	if (!strcmp(name, "free_interior_small"))
		return bad_free(keep + 16);
	if (!strcmp(name, "free_interior_fresh")) {
		/* Not the thread's first allocation (which is sampled and
		 * freed by the slow path): this one reaches the inline free. */
		unsigned char *blocks[8];

		for (int i = 0; i < 8; i++)
			if (!(blocks[i] = malloc(KEEP_SIZE)))
				return CHILD_NO_MALLOC;
		return bad_free(blocks[7] + 16);
	}
	if (!strcmp(name, "free_interior_large")) {
		p = malloc(256 << 10);
		return p ? bad_free((char *)p + 8192) : CHILD_NO_MALLOC;
	}
	if (!strcmp(name, "realloc_double"))
		return bad_realloc(freed_block(KEEP_SIZE), 100);
	if (!strcmp(name, "realloc_stack"))
		return bad_realloc(&local, 100);
	if (!strcmp(name, "realloc_global"))
		return bad_realloc(global_block, 100);
	if (!strcmp(name, "realloc_interior"))
		return bad_realloc(keep + 32, 100);
	if (!strcmp(name, "realloc_zero_stack"))
		return bad_realloc(&local, 0);
	if (!strcmp(name, "cfree_stack")) {
		say_address(&local);
		cfree(launder(&local));
		return after();
	}
	if (!strcmp(name, "free_sized_interior")) {
		say_address(keep + 16);
		free_sized(launder(keep + 16), 16);
		return after();
	}
	if (!strcmp(name, "usable_size_foreign")) {
		/* glibc does not check here; we report, as free() does, and
		 * say 0 in report mode. */
		say_address(&local);
		if (malloc_usable_size(launder(&local)) != 0)
			return CHILD_BAD_RESULT;
		return after();
	}
	if (!strcmp(name, "usable_size_interior")) {
		say_address(keep + 16);
		if (malloc_usable_size(launder(keep + 16)) != 0)
			return CHILD_BAD_RESULT;
		return after();
	}
	if (!strcmp(name, "usable_size_freed")) {
		p = freed_block(KEEP_SIZE);
		say_address(p);
		if (malloc_usable_size(launder(p)) != 0)
			return CHILD_BAD_RESULT;
		return after();
	}
	return run_owner_case(name);
}

/* ----------------------------------------------------------- the parent */

static const char *self;

struct outcome {
	bool exited;
	int status;		/* exit status, or the signal */
	char address[64];	/* the child's stdout, without the newline */
	char err[1024];		/* the child's stderr */
};

static size_t read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size &&
	       ((n = read(fd, buf + len, size - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	buf[len] = '\0';
	return len;
}

/* Runs "self child name" with BUDDYMALLOC_CONF=conf (NULL: unset). */
static bool run_child(const char *name, const char *conf, struct outcome *o)
{
	int out[2], err[2], status;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	if (pipe(out) || pipe(err))
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		if (conf)
			setenv("BUDDYMALLOC_CONF", conf, 1);
		else
			unsetenv("BUDDYMALLOC_CONF");
		alarm(30);	/* a hang fails the test (SIGALRM) */
		execl(self, self, "child", name, (char *)NULL);
		_exit(96);
	}
	close(out[1]);
	close(err[1]);
	/* The child writes a few bytes to each, so reading one pipe to its
	 * end before the other cannot block it. */
	read_all(out[0], o->address, sizeof(o->address));
	read_all(err[0], o->err, sizeof(o->err));
	close(out[0]);
	close(err[0]);
	if (waitpid(pid, &status, 0) != pid)
		return false;
	o->address[strcspn(o->address, "\n")] = '\0';
	o->exited = WIFEXITED(status);
	o->status = o->exited ? WEXITSTATUS(status) :
		    WIFSIGNALED(status) ? WTERMSIG(status) : -1;
	return true;
}

/*
 * Runs case name in both modes. call: the name in the report; what: the
 * report's words ("invalid pointer"), or NULL for no report. or_what: a
 * second acceptable wording (a block that went back to the buddy lists may
 * read as never allocated rather than as freed), or NULL.
 */
static void check_case(const char *name, const char *call, const char *what,
		       const char *or_what)
{
	static const struct {
		const char *conf;
		bool abort;
	} modes[] = {
		{ NULL, true },
		{ "bad_free:report", false },
		{ "bad_free:abort", true },
	};

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		const char *mode = modes[m].conf ? modes[m].conf : "default";
		bool aborts = what && modes[m].abort;
		char want[256], or_want[256];
		struct outcome o;

		assert_true(run_child(name, modes[m].conf, &o), "%s", mode);
		expect_str_ne(o.address, "", "%s: the child said no address",
			      mode);
		want[0] = or_want[0] = '\0';
		if (what)
			snprintf(want, sizeof(want), "buddymalloc: %s(): %s %s\n",
				 call, what, o.address);
		if (or_what)
			snprintf(or_want, sizeof(or_want),
				 "buddymalloc: %s(): %s %s\n", call, or_what,
				 o.address);
		if (strcmp(o.err, want) != 0 &&
		    (!or_what || strcmp(o.err, or_want) != 0))
			test_fail("%s, %s: stderr is \"%s\", expected \"%s\"%s%s",
				  name, mode, o.err, want,
				  or_what ? " or " : "", or_what ? or_want : "");
		if (aborts) {
			expect_false(o.exited, "%s, %s: the child exited (%d) "
				     "instead of aborting", name, mode, o.status);
			if (!o.exited)
				expect_d_eq(o.status, SIGABRT, "%s, %s: killed by "
					    "that signal", name, mode);
		} else {
			expect_true(o.exited, "%s, %s: the child was killed by "
				    "signal %d", name, mode, o.status);
			if (o.exited)
				expect_d_eq(o.status, CHILD_OK, "%s, %s: exit status "
					    "(3: wrong result, 4: heap changed, "
					    "5: no malloc)", name, mode);
		}
	}
}

#define INVALID		"invalid pointer"
#define DOUBLE		"double free detected"

/* hardening:junk: a write to a freed object is reported, naming the
 * object and the offset, when the object is allocated again; aborts by
 * default, goes on with bad_free:report. Freed objects hold the junk. */
TEST_BEGIN(test_hardening_junk)
{
	struct outcome o;
	char want[128];

	assert_true(run_child("write_after_free", "hardening:junk", &o));
	snprintf(want, sizeof(want), "buddymalloc: malloc(): write after free "
		 "%s (offset 20)\n", o.address);
	expect_str_eq(o.err, want);
	expect_false(o.exited, "the child exited (%d) instead of aborting",
		     o.status);
	if (!o.exited)
		expect_d_eq(o.status, SIGABRT);
	assert_true(run_child("write_after_free",
			      "hardening:junk,bad_free:report", &o));
	snprintf(want, sizeof(want), "buddymalloc: malloc(): write after free "
		 "%s (offset 20)\n", o.address);
	expect_str_eq(o.err, want);
	expect_true(o.exited && o.status == CHILD_OK, "report mode goes on "
		    "(exited %d, status %d)", o.exited, o.status);
	/* Off by default: the same write goes unseen. */
	assert_true(run_child("write_after_free", NULL, &o));
	expect_str_eq(o.err, "");
	expect_true(o.exited && o.status == CHILD_OK);

	assert_true(run_child("junk_on_free", "hardening:junk", &o));
	expect_str_eq(o.err, "");
	expect_true(o.exited && o.status == CHILD_OK, "freed object is junk "
		    "(exited %d, status %d: 3 is not junk)", o.exited, o.status);
}
TEST_END

/* hardening:redzone: a write just past the end of a small block is
 * reported by its free (abort, or go on in report mode). */
TEST_BEGIN(test_hardening_redzone)
{
	struct outcome o;
	char want[128];

	assert_true(run_child("redzone_overflow", "hardening:redzone", &o));
	snprintf(want, sizeof(want), "buddymalloc: free(): redzone overwritten "
		 "%s (offset 40)\n", o.address);
	expect_str_eq(o.err, want);
	expect_false(o.exited, "the child exited (%d) instead of aborting",
		     o.status);
	assert_true(run_child("redzone_overflow",
			      "hardening:redzone,bad_free:report", &o));
	snprintf(want, sizeof(want), "buddymalloc: free(): redzone overwritten "
		 "%s (offset 40)\n", o.address);
	expect_str_eq(o.err, want);
	expect_true(o.exited && o.status == CHILD_OK, "report mode goes on "
		    "(exited %d, status %d)", o.exited, o.status);
	/* The redzone level includes junk. */
	assert_true(run_child("junk_on_free", "hardening:redzone", &o));
	expect_true(o.exited && o.status == CHILD_OK, "junk too");
}
TEST_END

/* The allocator under test is ours, not glibc's. */
TEST_BEGIN(test_malloc_is_ours)
{
	size_t before, after_alloc, len = sizeof(size_t);
	void *p;

	assert_d_eq(buddymalloc_mallctl("stats.allocated", &before, &len,
					NULL, 0), 0);
	p = malloc(100000);
	assert_ptr_not_null(p);
	assert_d_eq(buddymalloc_mallctl("stats.allocated", &after_alloc, &len,
					NULL, 0), 0);
	expect_zu_ge(after_alloc, before + 100000);
	free(p);
}
TEST_END

TEST_BEGIN(test_double_free_small)
{
	/* A live neighbour keeps the slab, so the slot reads as freed. */
	check_case("double_free_small", "free", DOUBLE, NULL);
}
TEST_END

/* free(a); free(b); free(a), and the same with 300 frees between, with
 * the stack flushed in between, and with malloc_trim between: each
 * caught at the second free of a, naming a. */
TEST_BEGIN(test_double_free_not_last)
{
	check_case("double_free_aba", "free", DOUBLE, NULL);
	check_case("double_free_far", "free", DOUBLE, NULL);
	check_case("double_free_flushed", "free", DOUBLE, NULL);
	check_case("double_free_trimmed", "free", DOUBLE, NULL);
}
TEST_END

TEST_BEGIN(test_double_free_large)
{
	check_case("double_free_large", "free", DOUBLE, INVALID);
}
TEST_END

TEST_BEGIN(test_double_free_huge)
{
	check_case("double_free_huge", "free", DOUBLE, INVALID);
}
TEST_END

TEST_BEGIN(test_free_stack)
{
	check_case("free_stack", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_free_global)
{
	check_case("free_global", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_free_mmap)
{
	check_case("free_mmap", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_free_interior)
{
	check_case("free_interior_small", "free", INVALID, NULL);
	check_case("free_interior_fresh", "free", INVALID, NULL);
	check_case("free_interior_large", "free", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_realloc_bad)
{
	check_case("realloc_double", "realloc", DOUBLE, NULL);
	check_case("realloc_stack", "realloc", INVALID, NULL);
	check_case("realloc_global", "realloc", INVALID, NULL);
	check_case("realloc_interior", "realloc", INVALID, NULL);
	check_case("realloc_zero_stack", "realloc", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_other_frees_name_themselves)
{
	check_case("cfree_stack", "cfree", INVALID, NULL);
	check_case("free_sized_interior", "free_sized", INVALID, NULL);
}
TEST_END

/* malloc_usable_size checks its pointer as free() does (glibc does not):
 * foreign, interior and freed pointers are reported. */
TEST_BEGIN(test_usable_size_reports)
{
	check_case("usable_size_foreign", "malloc_usable_size", INVALID, NULL);
	check_case("usable_size_interior", "malloc_usable_size", INVALID, NULL);
	check_case("usable_size_freed", "malloc_usable_size", DOUBLE, NULL);
}
TEST_END

TEST_BEGIN(test_page_api_frees_only_its_blocks)
{
	check_case("pages_free_slab", "buddymalloc_free_pages", INVALID, NULL);
	check_case("pages_free_exact_slab", "buddymalloc_free_pages_exact",
		   INVALID, NULL);
	check_case("pages_free_malloc_large", "buddymalloc_free_pages",
		   INVALID, NULL);
	check_case("pages_free_exact_malloc_large",
		   "buddymalloc_free_pages_exact", INVALID, NULL);
	check_case("pages_free_huge", "buddymalloc_free_pages", INVALID, NULL);
	check_case("pages_free_mmap", "buddymalloc_free_pages", INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_page_api_interior_and_order)
{
	check_case("pages_free_interior", "buddymalloc_free_pages", INVALID,
		   NULL);
	check_case("pages_free_smaller_order", "buddymalloc_free_pages",
		   INVALID, NULL);
	check_case("pages_free_larger_order", "buddymalloc_free_pages",
		   INVALID, NULL);
}
TEST_END

TEST_BEGIN(test_malloc_refuses_page_api_blocks)
{
	check_case("free_page_block", "free", INVALID, NULL);
	check_case("realloc_page_block", "realloc", INVALID, NULL);
	check_case("usable_size_page_block", "malloc_usable_size", INVALID,
		   NULL);
}
TEST_END

TEST_BEGIN(test_malloc_refuses_metadata)
{
	check_case("free_metadata", "free", INVALID, NULL);
	check_case("free_sized_metadata", "free_sized", INVALID, NULL);
	check_case("realloc_metadata", "realloc", INVALID, NULL);
	check_case("usable_size_metadata", "malloc_usable_size", INVALID,
		   NULL);
}
TEST_END

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "child"))
		return run_case(argv[2]);
	/* Re-executed through /proc: argv[0] may not be a path. */
	self = "/proc/self/exe";
	{
		static char path[4096];
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

		if (n > 0) {
			path[n] = '\0';
			self = path;
		}
	}
	return test_run(test_malloc_is_ours,
			test_double_free_small,
			test_double_free_not_last,
			test_double_free_large,
			test_double_free_huge,
			test_free_stack,
			test_free_global,
			test_free_mmap,
			test_free_interior,
			test_realloc_bad,
			test_other_frees_name_themselves,
			test_usable_size_reports,
			test_page_api_frees_only_its_blocks,
			test_page_api_interior_and_order,
			test_malloc_refuses_page_api_blocks,
			test_malloc_refuses_metadata,
			test_hardening_junk,
			test_hardening_redzone,
			NULL);
}
