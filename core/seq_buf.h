/*
 * seq_buf.h - formatted text into a fixed buffer, flushed to a callback when
 * full, without stdio or malloc (the kernel's seq_buf, reduced).
 *
 * seq_buf_printf understands what the reports need: %d %i %u %ld %lu %lx
 * %zu %s %c %p %%, a '-' flag and a decimal width.
 */
#ifndef BUDDY_SEQ_BUF_H
#define BUDDY_SEQ_BUF_H

#include <stddef.h>

typedef void (*seq_buf_flush_fn)(void *opaque, const char *text);

struct seq_buf {
	char *buffer;
	size_t size;		/* bytes in buffer, one kept for the NUL */
	size_t len;
	seq_buf_flush_fn flush;	/* NULL: text past the buffer is dropped */
	void *opaque;
};

void seq_buf_init(struct seq_buf *s, char *buf, size_t size,
		  seq_buf_flush_fn flush, void *opaque);
void seq_buf_putc(struct seq_buf *s, char c);
void seq_buf_puts(struct seq_buf *s, const char *str);
void seq_buf_printf(struct seq_buf *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hand what is buffered to the callback. */
void seq_buf_flush(struct seq_buf *s);
/* The text so far, NUL-terminated (for a seq_buf without flush). */
const char *seq_buf_str(struct seq_buf *s);

#endif /* BUDDY_SEQ_BUF_H */
