/*
 * vmstat.c - buddyinfo_show() and pagetypeinfo_show() print exactly the
 * layouts of the kernel's /proc/buddyinfo and /proc/pagetypeinfo, and the
 * numbers in them are the zones' state. (The same reports through the
 * public buddymalloc_stats_print are tested in page_api.c.)
 *
 * The layouts are the kernel's format strings (mm/vmstat.c, in layout.c).
 * A small matcher checks a line against such a format:
 * literal text must match, "%6lu" must be a number right-aligned in exactly
 * max(6, digits) columns, "%8s" a word right-aligned likewise, and so on.
 * Each format is first proven on the live kernel's files copied into
 * tests/unit/data/ (found through BUDDY_TEST_DATA, which make check sets,
 * or top_srcdir, or argv[1], or beside this source file), then applied to
 * our output.
 */
#include <stdio.h>

#include "layout.h"
#include "report_lines.h"
#include "unit_util.h"

_Static_assert(LAYOUT_ORDERS == NR_PAGE_ORDERS, "orders");
_Static_assert(LAYOUT_TYPES == MIGRATE_TYPES, "migrate types");
_Static_assert(LAYOUT_PAGEBLOCK_ORDER == pageblock_order, "pageblock order");

static const char *data_arg;	/* argv[1]: where the reference files are */

/* ------------------------------------------------------------ the state */

/* Some state worth printing: every order and type in NORMAL, a little in
 * LOW32. */
static struct held held[32];
static size_t nr_held;

static void make_state(void)
{
	static const gfp_t gfps[] = { 0, __GFP_MOVABLE, __GFP_RECLAIMABLE,
				      __GFP_LOW32 | __GFP_MOVABLE };

	for (unsigned int o = 0; o <= MAX_PAGE_ORDER; o += 2)
		for (size_t t = 0; t < 4 && nr_held < 32; t++) {
			held[nr_held].page = alloc_pages(gfps[t], o);
			held[nr_held].order = o;
			if (held[nr_held].page)
				nr_held++;
		}
}

static void drop_state(void)
{
	while (nr_held) {
		nr_held--;
		expect_true(free_pages_checked(held[nr_held].page,
					       held[nr_held].order), "free");
	}
}

static struct zone *zone_by_name(const char *name)
{
	for (int idx = 0; idx < MAX_NR_ZONES; idx++)
		if (!strcmp(zone_of((enum zone_type)idx)->name, name))
			return zone_of((enum zone_type)idx);
	return NULL;
}

/* Pageblocks of each type in zone, from the sections. */
static void count_blocks(struct zone *zone, unsigned long blocks[MIGRATE_TYPES])
{
	memset(blocks, 0, sizeof(unsigned long) * MIGRATE_TYPES);
	zone_lock(zone);
	for (struct mem_section *ms = zone->sections; ms; ms = ms->zone_next)
		for (unsigned long b = 0; b < PAGEBLOCKS_PER_SECTION; b++)
			blocks[ms->pageblock_flags[b]]++;
	zone_unlock(zone);
}

/* ---------------------------------------------------------------- tests */

TEST_BEGIN(test_buddyinfo_layout_and_numbers)
{
	struct text ref, ours;
	struct fields f;
	char why[160];
	int zi = 0;

	if (!read_reference("buddyinfo.txt", data_arg, &ref))
		return;
	expect_d_ge(ref.nr, 1, "reference lines");
	for (int i = 0; i < ref.nr; i++)
		expect_true(match_layout(buddyinfo_fmt, ref.line[i], &f, why,
					 sizeof(why)),
			    "the kernel's line %d fits the format: %s", i + 1, why);

	make_state();
	report_lines(buddyinfo_show, &ours);
	/* One line per populated zone, lowest zone first, as the kernel. */
	for (int idx = 0; idx < MAX_NR_ZONES; idx++) {
		struct zone *zone = zone_of((enum zone_type)idx);
		struct zone_counts c;

		if (!populated_zone(zone))
			continue;
		assert_d_lt(zi, ours.nr, "a line for zone %s", zone->name);
		expect_true(match_layout(buddyinfo_fmt, ours.line[zi], &f, why,
					 sizeof(why)),
			    "our line %d \"%s\": %s", zi + 1, ours.line[zi], why);
		expect_lu_eq(strlen(ours.line[zi]), strlen(ref.line[0]),
			     "as long as the kernel's line (small numbers)");
		expect_str_eq(f.str[0], zone->name, "zone name");
		expect_lu_eq(f.num[0], (unsigned long)zone->node, "node");
		expect_d_eq(f.nr_num, 1 + NR_PAGE_ORDERS, "columns");
		zone_counts(zone, &c);
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
			expect_lu_eq(f.num[1 + o], c.nr_free[o], "%s order %u",
				     zone->name, o);
		zi++;
	}
	expect_d_eq(ours.nr, zi, "no other lines");
	expect_d_eq(zi, 2, "both zones populated");
	drop_state();
	free(ref.buf);
	free(ours.buf);
}
TEST_END

TEST_BEGIN(test_pagetypeinfo_layout_and_numbers)
{
	struct text ref, ours;
	struct fields f;
	char why[160];
	int row;

	if (!read_reference("pagetypeinfo.txt", data_arg, &ref))
		return;
	for (int mt = 0; mt < MIGRATE_TYPES; mt++)
		expect_str_eq(migratetype_name(mt), layout_type_names[mt],
			      "the core names type %d as the kernel does", mt);
	check_pagetypeinfo(&ref, "the kernel's", 3);	/* DMA, DMA32, Normal */

	make_state();
	report_lines(pagetypeinfo_show, &ours);
	check_pagetypeinfo(&ours, "ours", 2);
	/* Same widths as the kernel's lines. */
	expect_lu_eq(strlen(ours.line[4]), strlen(ref.line[4]), "row width");
	expect_lu_eq(strlen(ours.line[ours.nr - 1]), strlen(ref.line[ref.nr - 1]),
		     "blocks row width");

	/* The numbers: list lengths per type and order, pageblocks per type. */
	row = 4;
	for (int z = 0; z < 2; z++) {
		struct zone *zone;
		struct zone_counts c;

		for (int mt = 0; mt < MIGRATE_TYPES; mt++, row++) {
			if (!match_layout(pt_row_fmt, ours.line[row], &f, why,
					  sizeof(why)))
				continue;	/* reported above */
			zone = zone_by_name(f.str[0]);
			assert_ptr_not_null(zone, "zone \"%s\"", f.str[0]);
			zone_counts(zone, &c);
			for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
				expect_lu_eq(f.num[1 + o], c.len[o][mt],
					     "%s %s order %u", zone->name,
					     migratetype_name(mt), o);
		}
	}
	for (int z = 0; z < 2; z++) {
		unsigned long blocks[MIGRATE_TYPES], total = 0;
		struct zone *zone;

		row = ours.nr - 2 + z;
		if (!match_layout(pt_blocks_fmt, ours.line[row], &f, why, sizeof(why)))
			continue;
		zone = zone_by_name(f.str[0]);
		assert_ptr_not_null(zone, "zone \"%s\"", f.str[0]);
		count_blocks(zone, blocks);
		for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
			expect_lu_eq(f.num[1 + mt], blocks[mt], "%s: %s blocks",
				     zone->name, migratetype_name(mt));
			total += f.num[1 + mt];
		}
		expect_lu_eq(total * pageblock_nr_pages, zone->present_pages,
			     "%s: every pageblock counted once", zone->name);
	}
	drop_state();
	free(ref.buf);
	free(ours.buf);
}
TEST_END

/* The report follows the state: one page taken shows at once. */
TEST_BEGIN(test_buddyinfo_follows_the_state)
{
	struct text before, after;
	struct fields fb, fa;
	char why[160];
	struct page *page;
	int line = -1;

	report_lines(buddyinfo_show, &before);
	for (int i = 0; i < before.nr; i++)
		if (match_layout(buddyinfo_fmt, before.line[i], &fb, why, sizeof(why)) &&
		    !strcmp(fb.str[0], zone_normal()->name))
			line = i;
	assert_d_ge(line, 0, "a line for NORMAL");
	expect_true(zone_pristine(zone_normal()), "pristine before");
	for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
		expect_lu_eq(fb.num[1 + o], 0, "nothing free below max order");

	page = alloc_pages(__GFP_MOVABLE, 0);
	assert_ptr_not_null(page, "order 0");
	report_lines(buddyinfo_show, &after);
	assert_true(match_layout(buddyinfo_fmt, after.line[line], &fa, why,
				 sizeof(why)), "%s", why);
	for (unsigned int o = 0; o < MAX_PAGE_ORDER; o++)
		expect_lu_eq(fa.num[1 + o], 1, "one block of order %u", o);
	expect_lu_eq(fa.num[1 + MAX_PAGE_ORDER], fb.num[1 + MAX_PAGE_ORDER] - 1,
		     "one max-order block fewer");
	expect_true(free_pages_checked(page, 0), "free");
	free(before.buf);
	free(after.buf);
}
TEST_END

/* The matcher itself must reject what is not the layout. */
TEST_BEGIN(test_matcher_rejects_wrong_layouts)
{
	struct fields f;
	char why[160];

	expect_true(match_layout("Node %d, zone %8s ", "Node 0, zone   Normal ",
				 &f, why, sizeof(why)), "%s", why);
	expect_false(match_layout("Node %d, zone %8s ", "Node 0, zone  Normal ",
				  &f, why, sizeof(why)), "a column short");
	expect_false(match_layout("Node %d, zone %8s ", "Node 0, zone    Normal ",
				  &f, why, sizeof(why)), "a column long");
	expect_false(match_layout("Node %d, zone %8s ", "Node 0, zone   Normal",
				  &f, why, sizeof(why)), "no trailing space");
	expect_true(match_layout("%6lu ", "1234567 ", &f, why, sizeof(why)),
		    "a number wider than its field");
	expect_false(match_layout("%6lu ", "  12 ", &f, why, sizeof(why)),
		     "too narrow");
	expect_false(match_layout("%6lu ", "    12  ", &f, why, sizeof(why)),
		     "text after the end");
	expect_false(match_layout("%6lu ", "    1x ", &f, why, sizeof(why)),
		     "not a number");
	expect_true(match_layout("%4d,", "  -1,", &f, why, sizeof(why)),
		    "a negative %%d");
}
TEST_END

int main(int argc, char **argv)
{
	core_config.zone_max_sections[ZONE_NORMAL] = 1;
	core_config.zone_max_sections[ZONE_LOW32] = 1;
	if (argc > 1)
		data_arg = argv[1];
	layout_init();
	buddy_lists_only();
	return test_run(test_matcher_rejects_wrong_layouts,
			test_buddyinfo_layout_and_numbers,
			test_pagetypeinfo_layout_and_numbers,
			test_buddyinfo_follows_the_state,
			NULL);
}
