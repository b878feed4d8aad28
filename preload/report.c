/*
 * report.c - what happens to a bad pointer: one line on stderr naming the
 * call and the address, as glibc prints "free(): invalid pointer", then
 * abort; or, with BUDDYMALLOC_CONF=bad_free:report, nothing more (the
 * caller ignores the call). Formatted on the stack and written with one
 * write(2): no stdio, no malloc, whatever state the program is in.
 */
#include <string.h>

#include "page_alloc.h"
#include "preload.h"
#include "seq_buf.h"
#include "slab.h"

void write_stderr(void *opaque, const char *text)
{
	os_write(2, text, strlen(text));
}

/*
 * stderr for the report at exit. Many programs close stderr before they
 * exit (every coreutils and gnulib program does, in close_stdout), so
 * stats_print:true keeps a close-on-exec duplicate of it, made at start-up,
 * above the low descriptors a program expects open() to return. At exit it
 * is used only if it is still the same file (the program may have closed
 * it and opened something else on that number); else fd 2 is.
 */
#define SAVED_STDERR_MIN	100

static int saved_stderr = -1;
static struct os_file_id saved_id;

void stderr_save(void)
{
	struct os_file_id id;
	int fd;

	if (saved_stderr >= 0 || !os_file_id(2, &id))
		return;
	fd = os_dup_above(2, SAVED_STDERR_MIN);
	if (fd < 0)
		return;
	saved_id = id;
	saved_stderr = fd;
}

void write_saved_stderr(void *opaque, const char *text)
{
	struct os_file_id id;
	int fd = 2;

	if (saved_stderr >= 0 && os_file_id(saved_stderr, &id) &&
	    id.dev == saved_id.dev && id.ino == saved_id.ino)
		fd = saved_stderr;
	os_write(fd, text, strlen(text));
}

void report_write_after_free(const void *p, size_t offset, bool redzone)
{
	char buf[160];
	struct seq_buf s;

	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	seq_buf_printf(&s, redzone ? "buddymalloc: free(): redzone overwritten "
				     "%p (offset %zu)\n" :
				     "buddymalloc: malloc(): write after free "
				     "%p (offset %zu)\n", p, offset);
	os_write(2, buf, strlen(buf));
	if (buddy_opts.bad_free == BAD_FREE_ABORT)
		os_abort();
}

void report_bad_pointer(const char *call, const void *addr,
			enum kfree_result res)
{
	char buf[160];
	struct seq_buf s;

	/* bad_free may be the first thing the program asks of us. */
	buddy_boot();
	seq_buf_init(&s, buf, sizeof(buf), NULL, NULL);
	seq_buf_printf(&s, "buddymalloc: %s(): %s %p\n", call,
		       res == KFREE_DOUBLE ? "double free detected" :
		       res == KFREE_SIZE ? "invalid size" :
		       res == KFREE_ALIGN ? "invalid alignment" :
					     "invalid pointer", addr);
	os_write(2, buf, strlen(buf));
	if (buddy_opts.bad_free == BAD_FREE_ABORT)
		os_abort();
}
