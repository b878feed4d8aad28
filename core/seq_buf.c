/*
 * seq_buf.c - see seq_buf.h. The reports run inside the allocator, where
 * stdio may allocate, so they format with this instead.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "seq_buf.h"

void seq_buf_init(struct seq_buf *s, char *buf, size_t size,
		  seq_buf_flush_fn flush, void *opaque)
{
	s->buffer = buf;
	s->size = size;
	s->len = 0;
	s->flush = flush;
	s->opaque = opaque;
	if (size)
		buf[0] = '\0';
}

void seq_buf_flush(struct seq_buf *s)
{
	if (!s->flush || s->len == 0)
		return;
	s->buffer[s->len] = '\0';
	s->flush(s->opaque, s->buffer);
	s->len = 0;
}

void seq_buf_putc(struct seq_buf *s, char c)
{
	if (s->size == 0)
		return;
	if (s->len + 1 >= s->size)
		seq_buf_flush(s);
	if (s->len + 1 >= s->size)
		return;		/* no callback: drop what does not fit */
	s->buffer[s->len++] = c;
	s->buffer[s->len] = '\0';
}

void seq_buf_puts(struct seq_buf *s, const char *str)
{
	while (*str)
		seq_buf_putc(s, *str++);
}

const char *seq_buf_str(struct seq_buf *s)
{
	return s->size ? s->buffer : "";
}

static void put_padded(struct seq_buf *s, const char *str, size_t len,
		       int width, bool left)
{
	int pad = width > (int)len ? width - (int)len : 0;

	if (!left)
		while (pad-- > 0)
			seq_buf_putc(s, ' ');
	for (size_t i = 0; i < len; i++)
		seq_buf_putc(s, str[i]);
	if (left)
		while (pad-- > 0)
			seq_buf_putc(s, ' ');
}

/* Digits of v in base into the end of buf; returns where they start. */
static char *format_ulong(char *end, unsigned long v, unsigned int base)
{
	static const char digits[] = "0123456789abcdef";

	do {
		*--end = digits[v % base];
		v /= base;
	} while (v);
	return end;
}

void seq_buf_printf(struct seq_buf *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		char num[24], *start, *end = num + sizeof(num);
		bool left = false, is_long = false, negative = false;
		int width = 0;
		unsigned long v;

		if (*p != '%') {
			seq_buf_putc(s, *p);
			continue;
		}
		p++;
		if (*p == '-') {
			left = true;
			p++;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		if (*p == 'l' || *p == 'z') {
			is_long = true;
			p++;
		}
		switch (*p) {
		case 'd':
		case 'i': {
			long x = is_long ? va_arg(ap, long) : va_arg(ap, int);

			negative = x < 0;
			v = negative ? -(unsigned long)x : (unsigned long)x;
			start = format_ulong(end, v, 10);
			if (negative)
				*--start = '-';
			put_padded(s, start, end - start, width, left);
			break;
		}
		case 'u':
		case 'x':
			v = is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			start = format_ulong(end, v, *p == 'x' ? 16 : 10);
			put_padded(s, start, end - start, width, left);
			break;
		case 'p':
			v = (unsigned long)va_arg(ap, void *);
			start = format_ulong(end, v, 16);
			*--start = 'x';
			*--start = '0';
			put_padded(s, start, end - start, width, left);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);

			if (!str)
				str = "(null)";
			put_padded(s, str, strlen(str), width, left);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);

			put_padded(s, &c, 1, width, left);
			break;
		}
		case '%':
			seq_buf_putc(s, '%');
			break;
		case '\0':
			p--;	/* a lone '%' at the end: stop at the NUL */
			break;
		default:	/* unknown conversion: print it as it stands */
			seq_buf_putc(s, '%');
			seq_buf_putc(s, *p);
			break;
		}
	}
	va_end(ap);
}
