/*
 * tap.h - a small TAP test harness, after jemalloc's test/include/test/test.h.
 *
 * A test program is a list of test functions; each is one TAP test point:
 *
 *	TEST_BEGIN(test_split)
 *	{
 *		void *p = alloc_something();
 *
 *		assert_ptr_not_null(p, "order %u", order);	// stops this test
 *		expect_zu_eq(nr_free(0), 3, "after split");	// goes on
 *	}
 *	TEST_END
 *
 *	int main(void)
 *	{
 *		return test_run(test_split, test_merge, NULL);
 *	}
 *
 * Output is TAP, read by automake's tap-driver.sh: a plan "1..N" first, then
 * "ok N - name", "not ok N - name" or "ok N - name # SKIP reason" per test.
 * Diagnostics are "# file:line: ..." lines.
 *
 * Checks are typed, so a failure prints the values it saw:
 *	# tests/unit/free_area.c:42: failed: (nr_free(0)) == (3) --> 2 != 3
 *	# tests/unit/free_area.c:42: after split
 * expect_* records the failure and continues; assert_* records it and stops
 * the current test (longjmp back to test_run; the next test still runs).
 * The trailing message is optional; when given it must start with a string
 * literal format.
 *
 * Types: d (int), u (unsigned), ld (long), lu (unsigned long), zd (ssize_t),
 * zu (size_t), d64 (int64_t), u64 (uint64_t), lx (unsigned long, printed in
 * hex: pfns, flags, addresses as uintptr_t). Operators: eq ne lt le gt ge.
 * Also ptr_eq/ne/null/not_null, true/false, str_eq/ne.
 *
 * test_skip_if(cond) ends the current test as skipped (unless it has already
 * failed). test_fail(fmt, ...) fails it with a message and continues.
 * test_diag(fmt, ...) prints a "# " line. test_seed(dflt) returns a seed
 * (TEST_SEED from the environment, else dflt) and makes every failing test
 * print it, so a randomized run can be repeated.
 *
 * The exit status of test_run is 0 when no test failed, 1 otherwise.
 * The harness never calls malloc: it formats each line on the stack and
 * writes it to fd 1 with write(2), so output survives a crash, is not
 * duplicated by fork, and keeps its order. Tests print with test_diag(), not
 * printf (whose buffered output would come out of order).
 */
#ifndef TAP_H
#define TAP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

typedef void (test_fn_t)(void);

#define TEST_BEGIN(name)						\
static void name(void)							\
{									\
	tap_test_begin(#name);

#define TEST_END							\
}

/* Runs the NULL-terminated list of tests; returns the exit status. */
int test_run(test_fn_t *first, ...) __attribute__((sentinel));

#define test_skip_if(cond) do {						\
	if (cond)							\
		tap_skip(__FILE__, __LINE__, #cond);			\
} while (0)

#define test_fail(...)							\
	tap_fail(false, __FILE__, __LINE__, __VA_ARGS__)

#define test_diag(...)							\
	tap_diag(__FILE__, __LINE__, __VA_ARGS__)

uint64_t test_seed(uint64_t dflt);

/* ---------------------------------------------------------- internals */

void tap_test_begin(const char *name);
void tap_skip(const char *file, int line, const char *reason)
	__attribute__((noreturn));
void tap_fail(bool stop, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void tap_diag(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports a failed check: what was compared, what was seen, the user's
 * message. Stops the test (does not return) when stop is true. The checks
 * pass the message format with one leading space (" " __VA_ARGS__), so that a
 * check without a message still has a non-empty, compiler-checked format;
 * the space is skipped when printing. */
void tap_check_failed(bool stop, const char *file, int line,
		      const char *what, const char *saw, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/*
 * One comparison of two values of type t printed with fmt. nop is the
 * negation of op, used to print what was seen ("2 != 3").
 */
#define tap_cmp(stop, t, fmt, a, op, nop, b, ...) do {			\
	t tap_a_ = (a);							\
	t tap_b_ = (b);							\
	if (!(tap_a_ op tap_b_)) {					\
		char tap_saw_[160];					\
		snprintf(tap_saw_, sizeof(tap_saw_),			\
			 fmt " " #nop " " fmt, tap_a_, tap_b_);		\
		tap_check_failed(stop, __FILE__, __LINE__,		\
				 "(" #a ") " #op " (" #b ")", tap_saw_,	\
				 " " __VA_ARGS__);			\
	}								\
} while (0)

#define tap_cmp_eq(s, t, f, a, b, ...) tap_cmp(s, t, f, a, ==, !=, b, __VA_ARGS__)
#define tap_cmp_ne(s, t, f, a, b, ...) tap_cmp(s, t, f, a, !=, ==, b, __VA_ARGS__)
#define tap_cmp_lt(s, t, f, a, b, ...) tap_cmp(s, t, f, a, <, >=, b, __VA_ARGS__)
#define tap_cmp_le(s, t, f, a, b, ...) tap_cmp(s, t, f, a, <=, >, b, __VA_ARGS__)
#define tap_cmp_gt(s, t, f, a, b, ...) tap_cmp(s, t, f, a, >, <=, b, __VA_ARGS__)
#define tap_cmp_ge(s, t, f, a, b, ...) tap_cmp(s, t, f, a, >=, <, b, __VA_ARGS__)

/* ------------------------------------------------------ typed checks */

#define expect_d_eq(a, b, ...)	tap_cmp_eq(false, int, "%d", a, b, __VA_ARGS__)
#define expect_d_ne(a, b, ...)	tap_cmp_ne(false, int, "%d", a, b, __VA_ARGS__)
#define expect_d_lt(a, b, ...)	tap_cmp_lt(false, int, "%d", a, b, __VA_ARGS__)
#define expect_d_le(a, b, ...)	tap_cmp_le(false, int, "%d", a, b, __VA_ARGS__)
#define expect_d_gt(a, b, ...)	tap_cmp_gt(false, int, "%d", a, b, __VA_ARGS__)
#define expect_d_ge(a, b, ...)	tap_cmp_ge(false, int, "%d", a, b, __VA_ARGS__)
#define assert_d_eq(a, b, ...)	tap_cmp_eq(true, int, "%d", a, b, __VA_ARGS__)
#define assert_d_ne(a, b, ...)	tap_cmp_ne(true, int, "%d", a, b, __VA_ARGS__)
#define assert_d_lt(a, b, ...)	tap_cmp_lt(true, int, "%d", a, b, __VA_ARGS__)
#define assert_d_le(a, b, ...)	tap_cmp_le(true, int, "%d", a, b, __VA_ARGS__)
#define assert_d_gt(a, b, ...)	tap_cmp_gt(true, int, "%d", a, b, __VA_ARGS__)
#define assert_d_ge(a, b, ...)	tap_cmp_ge(true, int, "%d", a, b, __VA_ARGS__)

#define expect_u_eq(a, b, ...)	tap_cmp_eq(false, unsigned int, "%u", a, b, __VA_ARGS__)
#define expect_u_ne(a, b, ...)	tap_cmp_ne(false, unsigned int, "%u", a, b, __VA_ARGS__)
#define expect_u_lt(a, b, ...)	tap_cmp_lt(false, unsigned int, "%u", a, b, __VA_ARGS__)
#define expect_u_le(a, b, ...)	tap_cmp_le(false, unsigned int, "%u", a, b, __VA_ARGS__)
#define expect_u_gt(a, b, ...)	tap_cmp_gt(false, unsigned int, "%u", a, b, __VA_ARGS__)
#define expect_u_ge(a, b, ...)	tap_cmp_ge(false, unsigned int, "%u", a, b, __VA_ARGS__)
#define assert_u_eq(a, b, ...)	tap_cmp_eq(true, unsigned int, "%u", a, b, __VA_ARGS__)
#define assert_u_ne(a, b, ...)	tap_cmp_ne(true, unsigned int, "%u", a, b, __VA_ARGS__)
#define assert_u_lt(a, b, ...)	tap_cmp_lt(true, unsigned int, "%u", a, b, __VA_ARGS__)
#define assert_u_le(a, b, ...)	tap_cmp_le(true, unsigned int, "%u", a, b, __VA_ARGS__)
#define assert_u_gt(a, b, ...)	tap_cmp_gt(true, unsigned int, "%u", a, b, __VA_ARGS__)
#define assert_u_ge(a, b, ...)	tap_cmp_ge(true, unsigned int, "%u", a, b, __VA_ARGS__)

#define expect_ld_eq(a, b, ...)	tap_cmp_eq(false, long, "%ld", a, b, __VA_ARGS__)
#define expect_ld_ne(a, b, ...)	tap_cmp_ne(false, long, "%ld", a, b, __VA_ARGS__)
#define expect_ld_lt(a, b, ...)	tap_cmp_lt(false, long, "%ld", a, b, __VA_ARGS__)
#define expect_ld_le(a, b, ...)	tap_cmp_le(false, long, "%ld", a, b, __VA_ARGS__)
#define expect_ld_gt(a, b, ...)	tap_cmp_gt(false, long, "%ld", a, b, __VA_ARGS__)
#define expect_ld_ge(a, b, ...)	tap_cmp_ge(false, long, "%ld", a, b, __VA_ARGS__)
#define assert_ld_eq(a, b, ...)	tap_cmp_eq(true, long, "%ld", a, b, __VA_ARGS__)
#define assert_ld_ne(a, b, ...)	tap_cmp_ne(true, long, "%ld", a, b, __VA_ARGS__)
#define assert_ld_lt(a, b, ...)	tap_cmp_lt(true, long, "%ld", a, b, __VA_ARGS__)
#define assert_ld_le(a, b, ...)	tap_cmp_le(true, long, "%ld", a, b, __VA_ARGS__)
#define assert_ld_gt(a, b, ...)	tap_cmp_gt(true, long, "%ld", a, b, __VA_ARGS__)
#define assert_ld_ge(a, b, ...)	tap_cmp_ge(true, long, "%ld", a, b, __VA_ARGS__)

#define expect_lu_eq(a, b, ...)	tap_cmp_eq(false, unsigned long, "%lu", a, b, __VA_ARGS__)
#define expect_lu_ne(a, b, ...)	tap_cmp_ne(false, unsigned long, "%lu", a, b, __VA_ARGS__)
#define expect_lu_lt(a, b, ...)	tap_cmp_lt(false, unsigned long, "%lu", a, b, __VA_ARGS__)
#define expect_lu_le(a, b, ...)	tap_cmp_le(false, unsigned long, "%lu", a, b, __VA_ARGS__)
#define expect_lu_gt(a, b, ...)	tap_cmp_gt(false, unsigned long, "%lu", a, b, __VA_ARGS__)
#define expect_lu_ge(a, b, ...)	tap_cmp_ge(false, unsigned long, "%lu", a, b, __VA_ARGS__)
#define assert_lu_eq(a, b, ...)	tap_cmp_eq(true, unsigned long, "%lu", a, b, __VA_ARGS__)
#define assert_lu_ne(a, b, ...)	tap_cmp_ne(true, unsigned long, "%lu", a, b, __VA_ARGS__)
#define assert_lu_lt(a, b, ...)	tap_cmp_lt(true, unsigned long, "%lu", a, b, __VA_ARGS__)
#define assert_lu_le(a, b, ...)	tap_cmp_le(true, unsigned long, "%lu", a, b, __VA_ARGS__)
#define assert_lu_gt(a, b, ...)	tap_cmp_gt(true, unsigned long, "%lu", a, b, __VA_ARGS__)
#define assert_lu_ge(a, b, ...)	tap_cmp_ge(true, unsigned long, "%lu", a, b, __VA_ARGS__)

#define expect_lx_eq(a, b, ...)	tap_cmp_eq(false, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define expect_lx_ne(a, b, ...)	tap_cmp_ne(false, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define expect_lx_lt(a, b, ...)	tap_cmp_lt(false, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define expect_lx_le(a, b, ...)	tap_cmp_le(false, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define expect_lx_gt(a, b, ...)	tap_cmp_gt(false, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define expect_lx_ge(a, b, ...)	tap_cmp_ge(false, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define assert_lx_eq(a, b, ...)	tap_cmp_eq(true, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define assert_lx_ne(a, b, ...)	tap_cmp_ne(true, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define assert_lx_lt(a, b, ...)	tap_cmp_lt(true, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define assert_lx_le(a, b, ...)	tap_cmp_le(true, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define assert_lx_gt(a, b, ...)	tap_cmp_gt(true, unsigned long, "%#lx", a, b, __VA_ARGS__)
#define assert_lx_ge(a, b, ...)	tap_cmp_ge(true, unsigned long, "%#lx", a, b, __VA_ARGS__)

#define expect_zd_eq(a, b, ...)	tap_cmp_eq(false, ssize_t, "%zd", a, b, __VA_ARGS__)
#define expect_zd_ne(a, b, ...)	tap_cmp_ne(false, ssize_t, "%zd", a, b, __VA_ARGS__)
#define expect_zd_lt(a, b, ...)	tap_cmp_lt(false, ssize_t, "%zd", a, b, __VA_ARGS__)
#define expect_zd_le(a, b, ...)	tap_cmp_le(false, ssize_t, "%zd", a, b, __VA_ARGS__)
#define expect_zd_gt(a, b, ...)	tap_cmp_gt(false, ssize_t, "%zd", a, b, __VA_ARGS__)
#define expect_zd_ge(a, b, ...)	tap_cmp_ge(false, ssize_t, "%zd", a, b, __VA_ARGS__)
#define assert_zd_eq(a, b, ...)	tap_cmp_eq(true, ssize_t, "%zd", a, b, __VA_ARGS__)
#define assert_zd_ne(a, b, ...)	tap_cmp_ne(true, ssize_t, "%zd", a, b, __VA_ARGS__)
#define assert_zd_lt(a, b, ...)	tap_cmp_lt(true, ssize_t, "%zd", a, b, __VA_ARGS__)
#define assert_zd_le(a, b, ...)	tap_cmp_le(true, ssize_t, "%zd", a, b, __VA_ARGS__)
#define assert_zd_gt(a, b, ...)	tap_cmp_gt(true, ssize_t, "%zd", a, b, __VA_ARGS__)
#define assert_zd_ge(a, b, ...)	tap_cmp_ge(true, ssize_t, "%zd", a, b, __VA_ARGS__)

#define expect_zu_eq(a, b, ...)	tap_cmp_eq(false, size_t, "%zu", a, b, __VA_ARGS__)
#define expect_zu_ne(a, b, ...)	tap_cmp_ne(false, size_t, "%zu", a, b, __VA_ARGS__)
#define expect_zu_lt(a, b, ...)	tap_cmp_lt(false, size_t, "%zu", a, b, __VA_ARGS__)
#define expect_zu_le(a, b, ...)	tap_cmp_le(false, size_t, "%zu", a, b, __VA_ARGS__)
#define expect_zu_gt(a, b, ...)	tap_cmp_gt(false, size_t, "%zu", a, b, __VA_ARGS__)
#define expect_zu_ge(a, b, ...)	tap_cmp_ge(false, size_t, "%zu", a, b, __VA_ARGS__)
#define assert_zu_eq(a, b, ...)	tap_cmp_eq(true, size_t, "%zu", a, b, __VA_ARGS__)
#define assert_zu_ne(a, b, ...)	tap_cmp_ne(true, size_t, "%zu", a, b, __VA_ARGS__)
#define assert_zu_lt(a, b, ...)	tap_cmp_lt(true, size_t, "%zu", a, b, __VA_ARGS__)
#define assert_zu_le(a, b, ...)	tap_cmp_le(true, size_t, "%zu", a, b, __VA_ARGS__)
#define assert_zu_gt(a, b, ...)	tap_cmp_gt(true, size_t, "%zu", a, b, __VA_ARGS__)
#define assert_zu_ge(a, b, ...)	tap_cmp_ge(true, size_t, "%zu", a, b, __VA_ARGS__)

#define expect_d64_eq(a, b, ...) tap_cmp_eq(false, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define expect_d64_ne(a, b, ...) tap_cmp_ne(false, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define expect_d64_lt(a, b, ...) tap_cmp_lt(false, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define expect_d64_le(a, b, ...) tap_cmp_le(false, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define expect_d64_gt(a, b, ...) tap_cmp_gt(false, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define expect_d64_ge(a, b, ...) tap_cmp_ge(false, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define assert_d64_eq(a, b, ...) tap_cmp_eq(true, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define assert_d64_ne(a, b, ...) tap_cmp_ne(true, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define assert_d64_lt(a, b, ...) tap_cmp_lt(true, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define assert_d64_le(a, b, ...) tap_cmp_le(true, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define assert_d64_gt(a, b, ...) tap_cmp_gt(true, int64_t, "%" PRId64, a, b, __VA_ARGS__)
#define assert_d64_ge(a, b, ...) tap_cmp_ge(true, int64_t, "%" PRId64, a, b, __VA_ARGS__)

#define expect_u64_eq(a, b, ...) tap_cmp_eq(false, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define expect_u64_ne(a, b, ...) tap_cmp_ne(false, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define expect_u64_lt(a, b, ...) tap_cmp_lt(false, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define expect_u64_le(a, b, ...) tap_cmp_le(false, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define expect_u64_gt(a, b, ...) tap_cmp_gt(false, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define expect_u64_ge(a, b, ...) tap_cmp_ge(false, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define assert_u64_eq(a, b, ...) tap_cmp_eq(true, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define assert_u64_ne(a, b, ...) tap_cmp_ne(true, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define assert_u64_lt(a, b, ...) tap_cmp_lt(true, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define assert_u64_le(a, b, ...) tap_cmp_le(true, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define assert_u64_gt(a, b, ...) tap_cmp_gt(true, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)
#define assert_u64_ge(a, b, ...) tap_cmp_ge(true, uint64_t, "%" PRIu64, a, b, __VA_ARGS__)

#define expect_ptr_eq(a, b, ...) tap_cmp_eq(false, const void *, "%p", a, b, __VA_ARGS__)
#define expect_ptr_ne(a, b, ...) tap_cmp_ne(false, const void *, "%p", a, b, __VA_ARGS__)
#define assert_ptr_eq(a, b, ...) tap_cmp_eq(true, const void *, "%p", a, b, __VA_ARGS__)
#define assert_ptr_ne(a, b, ...) tap_cmp_ne(true, const void *, "%p", a, b, __VA_ARGS__)
#define expect_ptr_null(a, ...)	 tap_cmp_eq(false, const void *, "%p", a, NULL, __VA_ARGS__)
#define expect_ptr_not_null(a, ...) tap_cmp_ne(false, const void *, "%p", a, NULL, __VA_ARGS__)
#define assert_ptr_null(a, ...)	 tap_cmp_eq(true, const void *, "%p", a, NULL, __VA_ARGS__)
#define assert_ptr_not_null(a, ...) tap_cmp_ne(true, const void *, "%p", a, NULL, __VA_ARGS__)

/* Booleans print as 0/1 ("0 != 1"), which is what was seen. */
#define expect_true(a, ...)	tap_cmp_eq(false, int, "%d", !!(a), 1, __VA_ARGS__)
#define expect_false(a, ...)	tap_cmp_eq(false, int, "%d", !!(a), 0, __VA_ARGS__)
#define assert_true(a, ...)	tap_cmp_eq(true, int, "%d", !!(a), 1, __VA_ARGS__)
#define assert_false(a, ...)	tap_cmp_eq(true, int, "%d", !!(a), 0, __VA_ARGS__)

#define tap_cmp_str(stop, a, op, nop, b, ...) do {			\
	const char *tap_a_ = (a);					\
	const char *tap_b_ = (b);					\
	if (!(strcmp(tap_a_, tap_b_) op 0)) {				\
		char tap_saw_[160];					\
		snprintf(tap_saw_, sizeof(tap_saw_),			\
			 "\"%s\" " #nop " \"%s\"", tap_a_, tap_b_);	\
		tap_check_failed(stop, __FILE__, __LINE__,		\
				 "(" #a ") " #op " (" #b ")", tap_saw_,	\
				 " " __VA_ARGS__);			\
	}								\
} while (0)

#define expect_str_eq(a, b, ...) tap_cmp_str(false, a, ==, !=, b, __VA_ARGS__)
#define expect_str_ne(a, b, ...) tap_cmp_str(false, a, !=, ==, b, __VA_ARGS__)
#define assert_str_eq(a, b, ...) tap_cmp_str(true, a, ==, !=, b, __VA_ARGS__)
#define assert_str_ne(a, b, ...) tap_cmp_str(true, a, !=, ==, b, __VA_ARGS__)

#endif /* TAP_H */
