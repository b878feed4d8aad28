/*
 * page_api.c - the page API and the reports of include/buddymalloc.h, as a
 * program sees them: linked with the shipped libbuddymalloc.so (which also
 * becomes this program's malloc), not with the test core. Mirrors
 * preload/page_api.c; the core underneath is tested by exact.c, vmstat.c
 * and the rest, with its internals in reach.
 *
 * Only the public header is used: what is checked here is what a user can
 * rely on. The layouts are checked with the matcher of layout.c against
 * the kernel's own files, and the reports against each other (buddyinfo's
 * counts are the sums of pagetypeinfo's rows).
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buddymalloc.h"
#include "layout.h"
#include "tap.h"

#define PAGE	4096UL

static const char *data_arg;

TEST_BEGIN(test_alloc_and_free_pages)
{
	for (unsigned int o = 0; o <= BUDDY_MAX_PAGE_ORDER; o++) {
		static const unsigned int lifetimes[] = {
			0, BUDDY_GFP_MOVABLE, BUDDY_GFP_RECLAIMABLE,
		};
		unsigned char *p = buddymalloc_alloc_pages(o, lifetimes[o % 3]);

		assert_ptr_not_null(p, "order %u", o);
		expect_lx_eq((uintptr_t)p & ((PAGE << o) - 1), 0,
			     "order %u aligned to its size", o);
		p[0] = 1;
		p[(PAGE << o) - 1] = 2;
		expect_d_eq(p[0] + p[(PAGE << o) - 1], 3, "order %u is memory", o);
		buddymalloc_free_pages(p, o);
	}
}
TEST_END

TEST_BEGIN(test_flags)
{
	unsigned char *p;
	size_t nonzero = 0;

	/* Dirty a block, free it, ask again with ZERO. */
	p = buddymalloc_alloc_pages(2, BUDDY_GFP_MOVABLE);
	assert_ptr_not_null(p, "order 2");
	memset(p, 0xa5, 4 * PAGE);
	buddymalloc_free_pages(p, 2);
	p = buddymalloc_alloc_pages(2, BUDDY_GFP_MOVABLE | BUDDY_GFP_ZERO);
	assert_ptr_not_null(p, "order 2, zeroed");
	for (size_t b = 0; b < 4 * PAGE; b++)
		nonzero += p[b] != 0;
	expect_zu_eq(nonzero, 0, "BUDDY_GFP_ZERO");
	buddymalloc_free_pages(p, 2);

	p = buddymalloc_alloc_pages(3, BUDDY_GFP_LOW32 | BUDDY_GFP_NOWAIT);
	assert_ptr_not_null(p, "LOW32");
	expect_true((uintptr_t)p + 8 * PAGE <= (1ULL << 32), "%p below 4 GiB",
		    (void *)p);
	buddymalloc_free_pages(p, 3);

	errno = 0;
	expect_ptr_null(buddymalloc_alloc_pages(BUDDY_MAX_PAGE_ORDER + 1, 0),
			"order 11");
	expect_d_eq(errno, EINVAL, "order 11 is EINVAL");
	errno = 0;
	expect_ptr_null(buddymalloc_alloc_pages(0, BUDDY_GFP_MOVABLE |
						   BUDDY_GFP_RECLAIMABLE),
			"both lifetimes");
	expect_d_eq(errno, EINVAL, "both lifetimes are EINVAL");
	errno = 0;
	expect_ptr_null(buddymalloc_alloc_pages(0, 0x100), "an internal flag");
	expect_d_eq(errno, EINVAL, "EINVAL");
	errno = 0;
	expect_ptr_null(buddymalloc_alloc_pages_exact(PAGE, 0x80000000u),
			"an unknown flag");
	expect_d_eq(errno, EINVAL, "EINVAL");
}
TEST_END

TEST_BEGIN(test_alloc_pages_exact)
{
	static const size_t sizes[] = {
		0, 1, 4095, 4096, 4097, 3 * 4096 + 5, (1 << 20) + 1,
		(4 << 20) - 1, 4 << 20,
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t size = sizes[i];
		size_t nr = size ? (size + PAGE - 1) / PAGE : 1;
		unsigned int order = 0;
		unsigned char *p;
		size_t nonzero = 0;

		while ((1UL << order) < nr)
			order++;
		p = buddymalloc_alloc_pages_exact(size, BUDDY_GFP_ZERO);
		assert_ptr_not_null(p, "%zu bytes", size);
		expect_lx_eq((uintptr_t)p & ((PAGE << order) - 1), 0,
			     "%zu bytes aligned to 2^%u pages", size, order);
		for (size_t b = 0; b < nr * PAGE; b += 97)
			nonzero += p[b] != 0;
		expect_zu_eq(nonzero, 0, "%zu bytes zeroed", size);
		memset(p, 0x3c, nr * PAGE);
		buddymalloc_free_pages_exact(p, size);
	}
	errno = 0;
	expect_ptr_null(buddymalloc_alloc_pages_exact((4 << 20) + 1, 0),
			"4 MiB + 1");
	expect_d_eq(errno, EINVAL, "EINVAL");
	errno = 0;
	expect_ptr_null(buddymalloc_alloc_pages_exact(SIZE_MAX, 0), "SIZE_MAX");
	expect_d_eq(errno, EINVAL, "EINVAL");
}
TEST_END

/* ------------------------------------------------------------- reports */

struct collected {
	char buf[256 * 1024];
	size_t len;
	unsigned long calls;
	void *opaque_seen;
	bool truncated;
};

static void collect(void *opaque, const char *text)
{
	struct collected *c = opaque;
	size_t n = strlen(text);

	c->calls++;
	c->opaque_seen = opaque;
	if (c->len + n >= sizeof(c->buf)) {
		c->truncated = true;
		return;
	}
	memcpy(c->buf + c->len, text, n + 1);
	c->len += n;
}

/* Reports are compared with each other, so nothing may allocate between
 * them: the buffers are allocated first, then every report printed. */
static void reports(struct collected **out, const char *const *opts, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = calloc(1, sizeof(struct collected));
	for (int i = 0; i < n; i++)
		if (out[i])
			buddymalloc_stats_print(collect, out[i], opts[i]);
}

/* Lines of buddyinfo: they all match, and there is at least one. */
static int check_buddyinfo(const struct text *t, const char *who)
{
	struct fields f;
	char why[160];

	for (int i = 0; i < t->nr; i++)
		if (!match_layout(buddyinfo_fmt, t->line[i], &f, why, sizeof(why)))
			test_fail("%s: line %d \"%s\": %s", who, i + 1,
				  t->line[i], why);
	return t->nr;
}

/* The /proc/vmstat layout: "name value" lines, the names in the order of
 * ref (another vmstat report; the values may differ). */
static void check_vmstat(const char *text, const char *ref)
{
	int lines = 0;

	while (*text && *text != '\n') {
		char name[64], ref_name[64];
		unsigned long v;
		int used;

		if (sscanf(text, "%63[a-z0-9_] %lu%n", name, &v, &used) != 2 ||
		    text[used] != '\n') {
			test_fail("vmstat line %d not \"name value\": %.40s",
				  lines + 1, text);
			return;
		}
		if (sscanf(ref, "%63[a-z0-9_] %*u", ref_name) != 1 ||
		    strcmp(name, ref_name) != 0) {
			test_fail("vmstat line %d: %s, the other report has %.40s",
				  lines + 1, name, ref);
			return;
		}
		text += used + 1;
		ref = strchr(ref, '\n');
		ref = ref ? ref + 1 : "";
		lines++;
	}
	expect_true(*ref == '\0', "as many lines as the other report");
	expect_true(!strncmp(text, "\nNode 0, zone ", 14),
		    "a blank line, then zoneinfo");
	expect_d_ge(lines, 16, "3 page counts and 13 events");
}

TEST_BEGIN(test_reports_through_a_callback)
{
	struct collected *bi, *pti, *both, *all, *vm;
	struct text ref, tb, tp;
	void *hold[4];
	int zones;
	char *copy;

	/* Something in the heap, in both zones. */
	hold[0] = buddymalloc_alloc_pages(0, BUDDY_GFP_MOVABLE);
	hold[1] = buddymalloc_alloc_pages(5, 0);
	hold[2] = buddymalloc_alloc_pages(1, BUDDY_GFP_LOW32);
	hold[3] = buddymalloc_alloc_pages_exact(5 * PAGE, BUDDY_GFP_RECLAIMABLE);
	for (int i = 0; i < 4; i++)
		assert_ptr_not_null(hold[i], "allocation %d", i);

	{
		static const char *const opts[] = {
			"buddyinfo", "pagetypeinfo", "buddyinfo,pagetypeinfo", NULL,
			"vmstat",
		};
		struct collected *r[5];

		reports(r, opts, 5);
		bi = r[0];
		pti = r[1];
		both = r[2];
		all = r[3];
		vm = r[4];
	}
	assert_ptr_not_null(vm, "calloc");
	assert_ptr_not_null(bi, "calloc");
	assert_ptr_not_null(pti, "calloc");
	assert_ptr_not_null(both, "calloc");
	assert_ptr_not_null(all, "calloc");
	expect_ptr_eq(bi->opaque_seen, bi, "opaque handed through");
	expect_false(pti->truncated, "report fits the test's buffer");
	expect_lu_gt(pti->calls, 1, "a long report comes in several pieces");

	/* The kernel's layouts, proven on the kernel's files first. */
	if (read_reference("buddyinfo.txt", data_arg, &ref)) {
		expect_d_ge(check_buddyinfo(&ref, "the kernel's buddyinfo"), 1,
			    "reference lines");
		free(ref.buf);
	}
	if (read_reference("pagetypeinfo.txt", data_arg, &ref)) {
		check_pagetypeinfo(&ref, "the kernel's pagetypeinfo", 3);
		free(ref.buf);
	}
	copy = strdup(bi->buf);
	assert_ptr_not_null(copy, "strdup");
	split_lines(&tb, copy);
	zones = check_buddyinfo(&tb, "buddyinfo");
	expect_d_ge(zones, 2, "NORMAL and LOW32 are populated");
	copy = strdup(pti->buf);
	assert_ptr_not_null(copy, "strdup");
	split_lines(&tp, copy);
	check_pagetypeinfo(&tp, "pagetypeinfo", zones);

	/* buddyinfo's count per order is the sum of pagetypeinfo's rows. */
	for (int z = 0; z < zones && tp.nr > 4 + zones * LAYOUT_TYPES; z++) {
		struct fields fb, fr;
		char why[160];
		unsigned long sum[LAYOUT_ORDERS] = { 0 };

		if (!match_layout(buddyinfo_fmt, tb.line[z], &fb, why, sizeof(why)))
			continue;
		for (int mt = 0; mt < LAYOUT_TYPES; mt++) {
			if (!match_layout(pt_row_fmt, tp.line[4 + z * LAYOUT_TYPES + mt],
					  &fr, why, sizeof(why)))
				continue;
			expect_str_eq(fr.str[0], fb.str[0], "the same zone order");
			for (int o = 0; o < LAYOUT_ORDERS; o++)
				sum[o] += fr.num[1 + o];
		}
		for (int o = 0; o < LAYOUT_ORDERS; o++)
			expect_lu_eq(fb.num[1 + o], sum[o],
				     "zone %s order %d: buddyinfo vs pagetypeinfo",
				     fb.str[0], o);
	}

	/* Reports combine with one blank line between them. */
	{
		size_t n = strlen(bi->buf) + 1 + strlen(pti->buf) + 1;
		char *joined = malloc(n);

		assert_ptr_not_null(joined, "malloc");
		snprintf(joined, n, "%s\n%s", bi->buf, pti->buf);
		expect_d_eq(strcmp(both->buf, joined), 0,
			    "\"buddyinfo,pagetypeinfo\" is the two reports with "
			    "a blank line between");
		/* Every report (NULL): the same two, then vmstat. */
		expect_true(all->len >= strlen(joined) &&
			    !strncmp(all->buf, joined, strlen(joined)),
			    "NULL prints every report, buddyinfo and "
			    "pagetypeinfo first");
		expect_true(all->len > strlen(joined) &&
			    all->buf[strlen(joined)] == '\n',
			    "a blank line before vmstat");
		check_vmstat(all->buf + strlen(joined) + 1, vm->buf);
		free(joined);
	}

	for (int i = 0; i < 3; i++)
		buddymalloc_free_pages(hold[i], i == 0 ? 0 : i == 1 ? 5 : 1);
	buddymalloc_free_pages_exact(hold[3], 5 * PAGE);
	free(tb.buf);
	free(tp.buf);
	free(bi);
	free(pti);
	free(both);
	free(all);
}
TEST_END

/* write_cb NULL: stderr (captured through a pipe). */
TEST_BEGIN(test_reports_to_stderr)
{
	struct collected *bi;
	static char got[64 * 1024];
	int fds[2], saved;
	size_t len = 0;
	ssize_t n;

	static const char *const opts[] = { "buddyinfo" };

	assert_d_eq(pipe(fds), 0, "pipe");
	saved = dup(2);
	assert_d_ge(saved, 0, "dup");
	reports(&bi, opts, 1);
	assert_ptr_not_null(bi, "calloc");
	dup2(fds[1], 2);
	close(fds[1]);
	buddymalloc_stats_print(NULL, NULL, "buddyinfo");
	dup2(saved, 2);
	close(saved);
	while ((n = read(fds[0], got + len, sizeof(got) - 1 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	got[len] = '\0';
	expect_d_eq(strcmp(got, bi->buf), 0, "stderr got what the callback "
		    "got: %zu bytes, %zu bytes", len, strlen(bi->buf));
	free(bi);
}
TEST_END

static size_t ctl_size(const char *name)
{
	size_t v = 0, len = sizeof(v);

	expect_d_eq(buddymalloc_mallctl(name, &v, &len, NULL, 0), 0, "%s", name);
	return v;
}

/*
 * stats.resident_bytes follows what the pages do: 32 MiB touched is
 * resident, and after free and malloc_trim it is not; the trim is counted
 * in stats.vmstat.pgsteal_trim, in pages.
 */
TEST_BEGIN(test_resident_bytes_and_events)
{
	const size_t block = 1 << 20, nr = 32;
	size_t r0, r1, r2, trim0, trim1, v, len = sizeof(v);
	void *p[32];

	malloc_trim(0);
	r0 = ctl_size("stats.resident_bytes");
	trim0 = ctl_size("stats.vmstat.pgsteal_trim");
	for (size_t i = 0; i < nr; i++) {
		p[i] = buddymalloc_alloc_pages_exact(block, 0);
		assert_ptr_not_null(p[i], "page allocation %zu", i);
		memset(p[i], 0x77, block);
	}
	r1 = ctl_size("stats.resident_bytes");
	for (size_t i = 0; i < nr; i++)
		buddymalloc_free_pages_exact(p[i], block);
	malloc_trim(0);
	r2 = ctl_size("stats.resident_bytes");
	trim1 = ctl_size("stats.vmstat.pgsteal_trim");
	test_diag("resident %zu -> %zu -> %zu, pgsteal_trim %zu -> %zu",
		  r0, r1, r2, trim0, trim1);
	expect_zu_ge(r1, r0 + nr * block, "touched pages are resident");
	expect_zu_le(r2 + nr * block, r1, "trimmed pages are not");
	expect_zu_ge(trim1 - trim0, nr * block / 4096, "counted as trimmed");
	expect_d_eq(buddymalloc_mallctl("stats.vmstat.no_such_event", &v, &len,
					NULL, 0), ENOENT, "unknown event");
	expect_d_eq(buddymalloc_mallctl("stats.vmstat.pgsteal_trim", &v, &len,
					&v, sizeof(v)), EPERM, "read-only");
}
TEST_END

int main(int argc, char **argv)
{
	if (argc > 1)
		data_arg = argv[1];
	layout_init();
	return test_run(test_alloc_and_free_pages,
			test_flags,
			test_alloc_pages_exact,
			test_reports_through_a_callback,
			test_reports_to_stderr,
			test_resident_bytes_and_events,
			NULL);
}
