/*
 * slab_meta.c - the one in-band link of the slab layer, the free list of
 * struct slab records (slab.c, "Where pointers to free memory live"), is
 * encoded with the per-process secret and checked when followed. Its own
 * program: a fresh process, whose first records all come from one chunk.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#include "internal.h"
#include "slab_internal.h"

/*
 * The free records of struct slab are linked through themselves, in heap
 * pages (slab.c, "Where pointers to free memory live"): the link is
 * encoded with the secret and checked when followed. An overflow that
 * writes a plain pointer (what a program that does not know the secret
 * can write) over the free records must abort at the next record taken,
 * not build a slab record at that pointer. In a forked child: it aborts,
 * after one line on stderr.
 */
static char fake_record[4096] __attribute__((aligned(64)));

static void overwrite_free_records(void)
{
	char *obj = kmalloc(64, 0);
	struct slab *slab = obj ? cache_slab_of(obj) : NULL;
	size_t bytes;
	struct page *meta;
	char *chunk;

	if (!slab)
		_exit(6);
	bytes = (sizeof(struct slab) + (slab->objects <= 64 ? 64 :
		 slab->objects <= 128 ? 128 : 256) + 7) & ~(size_t)7;
	for (meta = virt_to_page(slab); !(meta->flags & PG_head); meta--)
		;
	chunk = page_address(meta);
	/* In a fresh process the first chunk of records is taken from the
	 * top (slab.c, meta_refill pushes them in address order): every
	 * record below this one is free. */
	for (char *r = chunk; r + bytes <= (char *)slab; r += bytes)
		((struct slab *)r)->list.next = (struct cds_list_head *)fake_record;
	/* New slabs of the class (records of the same size) until the free
	 * records of the chunk are taken: 64 objects a slab. */
	for (int i = 0; i < 64 * 256; i++)
		if (!kmalloc(64, 0))
			_exit(7);
	_exit(0);
}

TEST_BEGIN(test_free_record_links_checked)
{
	int err[2], status;
	char buf[256] = "";
	ssize_t n;
	pid_t pid;

	assert_d_eq(pipe(err), 0);
	pid = fork();
	assert_d_ge(pid, 0);
	if (pid == 0) {
		dup2(err[1], 2);
		overwrite_free_records();
	}
	close(err[1]);
	n = read(err[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(err[0]);
	assert_d_eq(waitpid(pid, &status, 0), pid);
	expect_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		    "the child aborted (status %#x)", status);
	expect_str_eq(buf, "buddymalloc: slab metadata corrupted (free record "
		      "list)\n");
}
TEST_END


int main(void)
{
	return test_run(test_free_record_links_checked, NULL);
}
