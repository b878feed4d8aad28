/*
 * fuzz.h - what the fuzz targets of tests/fuzz/ share: a reader that turns
 * the fuzzer's bytes into numbers (an exhausted input reads as zeros, so
 * every byte string is a valid program), and the failure report.
 *
 * Each target defines LLVMFuzzerTestOneInput (and may define
 * LLVMFuzzerInitialize). It is built twice: with clang's libFuzzer for
 * "make check-fuzz" (Makefile.fuzz), and with the normal compiler and
 * replay.c's main() for "make check", which feeds it every file of its
 * seed corpus. A broken invariant prints one line and aborts, which is how
 * libFuzzer and replay.c both recognise a failure.
 */
#ifndef BUDDY_FUZZ_H
#define BUDDY_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * For the loops that write and verify patterns over megabytes: without
 * coverage instrumentation (clang's trace-cmp would call out on every word
 * compared, and there is nothing for libFuzzer to learn there).
 */
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_NO_COVERAGE	__attribute__((no_sanitize("coverage")))
#else
#define FUZZ_NO_COVERAGE
#endif

struct fuzz_input {
	const uint8_t *data;
	size_t size, pos;
};

static inline bool fuzz_done(const struct fuzz_input *in)
{
	return in->pos >= in->size;
}

static inline uint8_t fuzz_u8(struct fuzz_input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* Little-endian, n bytes (at most 8). */
static inline uint64_t fuzz_bytes(struct fuzz_input *in, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_input *in)
{
	return (uint16_t)fuzz_bytes(in, 2);
}

static inline uint32_t fuzz_u32(struct fuzz_input *in)
{
	return (uint32_t)fuzz_bytes(in, 4);
}

static inline uint64_t fuzz_u64(struct fuzz_input *in)
{
	return fuzz_bytes(in, 8);
}

/* An element of a constant array, chosen by one byte. */
#define fuzz_pick(in, array) \
	((array)[fuzz_u8(in) % (sizeof(array) / sizeof((array)[0]))])

/* A broken invariant: one line naming the target and what failed, then
 * abort (libFuzzer saves the input as a crash-* file). */
#define fuzz_fail(...) do {						\
	fprintf(stderr, "fuzz: %s:%d: ", __FILE__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

/* cond must hold; else its text, then the message (a format and its
 * arguments). */
#define fuzz_check(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz: %s:%d: failed: %s\n", __FILE__,	\
			__LINE__, #cond);				\
		fuzz_fail(__VA_ARGS__);					\
	}								\
} while (0)

#endif /* BUDDY_FUZZ_H */
