/*
 * stats.c - the allocator's state for the program: glibc's mallinfo,
 * mallinfo2, malloc_stats and malloc_info over kmem_stats() and the zones,
 * and buddymalloc_stats_print with the /proc layouts of core/vmstat.c.
 *
 * Numbers are read under the allocator's locks into locals, and printed
 * after every lock is dropped: malloc_info and malloc_stats print with
 * stdio, which may allocate.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "page_alloc.h"
#include "preload.h"
#include "seq_buf.h"
#include "slab.h"

static void stats_read(struct kmem_stats *st)
{
	buddy_boot();
	allocator_enter();
	kmem_stats(st);
	allocator_leave();
}

/* -------------------------------------------------------------- zones */

/* The populated zones' counters (core's zone_stats_read). */
static unsigned int zones_read(struct zone_stats *snap, unsigned int max)
{
	unsigned int n;

	buddy_boot();
	allocator_enter();
	n = zone_stats_read(snap, max);
	allocator_leave();
	return n;
}

/* ------------------------------------------------------------ mallinfo */

/*
 * glibc's fields, read for a buddy heap:
 *   arena     bytes of heap onlined from the OS (whole sections);
 *   ordblks   free blocks on the buddy free lists;
 *   hblks     live direct mappings (allocations above 4 MiB);
 *   hblkhd    bytes in them;
 *   uordblks  bytes in live heap allocations (small objects at their class
 *             size, page allocations in whole pages);
 *   fordblks  arena - uordblks: free heap, on the free lists or in slabs;
 *   keepcost  bytes on the buddy free lists (what malloc_trim can return);
 *   smblks, usmblks, fsmblks: 0 (no fastbins; usmblks is 0 in glibc too).
 * uordblks + hblkhd is the memory the program holds.
 */
BUDDY_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct zone_stats snap[MAX_ZONE_STATS];
	struct mallinfo2 mi = { 0 };
	struct kmem_stats st;
	unsigned int nr;
	size_t in_use;

	stats_read(&st);
	in_use = st.small_allocated + st.large_allocated;
	mi.arena = st.heap_bytes;
	nr = zones_read(snap, MAX_ZONE_STATS);
	for (unsigned int z = 0; z < nr; z++)
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++)
			mi.ordblks += snap[z].nr_free[o];
	mi.hblks = st.nr_huge;
	mi.hblkhd = st.huge_allocated;
	mi.uordblks = in_use;
	mi.fordblks = st.heap_bytes > in_use ? st.heap_bytes - in_use : 0;
	mi.keepcost = st.free_bytes;
	return mi;
}

static int clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* The old int interface: each field clamped to INT_MAX rather than
 * wrapped (glibc truncates). */
BUDDY_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi = {
		.arena = clamp_int(m2.arena),
		.ordblks = clamp_int(m2.ordblks),
		.smblks = clamp_int(m2.smblks),
		.hblks = clamp_int(m2.hblks),
		.hblkhd = clamp_int(m2.hblkhd),
		.usmblks = clamp_int(m2.usmblks),
		.fsmblks = clamp_int(m2.fsmblks),
		.uordblks = clamp_int(m2.uordblks),
		.fordblks = clamp_int(m2.fordblks),
		.keepcost = clamp_int(m2.keepcost),
	};

	return mi;
}

/* glibc 2.33+ declares mallinfo deprecated; naming it here is no use. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
extern __typeof__(mallinfo) __libc_mallinfo
	__attribute__((alias("mallinfo"), copy(mallinfo),
		       visibility("default")));
#pragma GCC diagnostic pop

/* ------------------------------------------------ summary and reports */

/*
 * The file this process runs, for the summary's first line: with many
 * processes writing reports to one stderr (a shell and the programs it
 * starts), the pid and the executable say whose report it is. The tests
 * of real programs look for the report of the program they ran, not of a
 * wrapper around it (tests/programs/lib.sh). os_readlink is a plain system
 * call: nothing here allocates.
 */
const char *self_exe(char *buf, size_t size)
{
	ssize_t n = os_readlink("/proc/self/exe", buf, size - 1);

	if (n <= 0)
		return "?";
	buf[n] = '\0';
	return buf;
}

static size_t sub_or_zero(size_t a, size_t b)
{
	return a > b ? a - b : 0;
}

/*
 * The summary of stats_print and buddymalloc_stats_print: whose report it
 * is (pid, executable), then what a user compares with ps: the bytes the
 * allocator holds resident, split into what the program holds (live) and
 * what the allocator keeps (free slots in slabs, the per-CPU caches, free
 * pages not yet given back, its metadata); then the address space, most of
 * which is not resident. The parts are read one after another, not at one
 * instant: in a busy program they need not add up exactly.
 */
void malloc_summary_show(struct seq_buf *s)
{
	char exe[PATH_MAX];
	struct kmem_stats st;
	size_t live, slab_free;

	stats_read(&st);
	live = st.small_allocated + st.large_allocated + st.huge_allocated;
	slab_free = sub_or_zero(st.small_slab_bytes,
				st.small_allocated + st.cpu_cached_bytes +
				st.slab_released_bytes);
	seq_buf_printf(s, "buddymalloc (pid %d, exe %s):\n", (int)os_getpid(),
		       self_exe(exe, sizeof(exe)));
	seq_buf_printf(s, "resident bytes   = %12zu\n", st.resident_bytes);
	seq_buf_printf(s, "  live           = %12zu  (small objects %zu, page blocks %zu, mmap %zu in %zu regions)\n",
		       live, st.small_allocated, st.large_allocated,
		       st.huge_allocated, st.nr_huge);
	seq_buf_printf(s, "  free in slabs  = %12zu  (in %zu bytes of slabs, of them released %zu)\n",
		       slab_free, st.small_slab_bytes, st.slab_released_bytes);
	seq_buf_printf(s, "  per-CPU caches = %12zu\n", st.cpu_cached_bytes);
	seq_buf_printf(s, "  free resident  = %12zu  (buddy free pages not given back)\n",
		       sub_or_zero(st.free_bytes, st.released_bytes));
	seq_buf_printf(s, "  metadata       = %12zu  (slab records)\n",
		       st.meta_bytes);
	seq_buf_printf(s, "  cached mmap    = %12zu  (freed mappings kept for reuse, %zu regions)\n",
		       st.huge_cached, st.nr_huge_cached);
	seq_buf_printf(s, "address space    = %12zu  (heap %zu, of it released %zu free and %zu in slabs; mmap %zu, of it cached %zu)\n",
		       st.heap_bytes + st.huge_allocated + st.huge_cached,
		       st.heap_bytes, st.released_bytes,
		       st.slab_released_bytes,
		       st.huge_allocated + st.huge_cached, st.huge_cached);
}

/*
 * The lifetime classifier (slab/lifetime.c): its counters and the core's
 * re-typing of pageblocks, then the sites
 * it has sampled most, each with its prediction: "long" sites allocate
 * from UNMOVABLE pageblocks, "short" ones from MOVABLE. A site is the
 * return address of the malloc call (with the symbol that holds it, when
 * dladdr knows one), its size class, and for a wrapper split by call
 * depth, that depth in bytes of stack. samples and survived are decayed
 * counts: survived are the samples still alive at lifetime_ms.
 */
#define LIFETIME_SITES_SHOWN	32

void classifier_snapshot_read(struct classifier_snapshot *snap,
			      struct lifetime_site *sites, unsigned int max)
{
	struct zone_stats zones[MAX_ZONE_STATS];
	unsigned long events[NR_VM_EVENT_ITEMS];
	unsigned int nr;

	allocator_enter();
	lifetime_stats_read(&snap->st);
	snap->nr_sites = lifetime_sites_read(sites, max);
	nr = zone_stats_read(zones, MAX_ZONE_STATS);
	allocator_leave();
	vm_events_read(events);
	snap->retyped_majority = events[PAGEBLOCK_RETYPE_MAJORITY];
	snap->retyped_pinned = events[PAGEBLOCK_RETYPE_PINNED];
	snap->wrong_type_pageblocks = 0;
	for (unsigned int z = 0; z < nr; z++)
		snap->wrong_type_pageblocks += zones[z].nr_wrong_type_pageblocks;
}

static void lifetime_show(struct seq_buf *s)
{
	struct lifetime_site sites[LIFETIME_SITES_SHOWN];
	struct classifier_snapshot snap;
	const struct lifetime_stats *st = &snap.st;
	unsigned int n;

	classifier_snapshot_read(&snap, sites, LIFETIME_SITES_SHOWN);
	n = snap.nr_sites;

	seq_buf_printf(s, "lifetime classifier: %s\n", st->enabled ? "on" : "off");
	seq_buf_printf(s, "samples %lu (predicted short %lu, long %lu), died young %lu, survived %lu\n",
		       st->samples, st->sampled_short, st->sampled_long,
		       st->died_young, st->survived);
	seq_buf_printf(s, "sites %lu (long %lu, split by depth %lu), reclassified %lu, hinted allocations %lu\n",
		       st->sites, st->sites_long, st->sites_split,
		       st->reclassified, st->hinted);
	seq_buf_printf(s, "pageblocks re-typed: majority %lu, pinned %lu; holding mostly the other lifetime now %lu\n",
		       snap.retyped_majority,
		       snap.retyped_pinned, snap.wrong_type_pageblocks);
	if (!n)
		return;
	seq_buf_printf(s, "%18s %6s %6s %8s %8s %5s  %s\n", "site", "size",
		       "depth", "samples", "survived", "type", "symbol");
	for (unsigned int i = 0; i < n; i++) {
		struct site_symbol sym;

		site_symbol(sites[i].site, &sym);
		seq_buf_printf(s, "%18p %6u %6u %8lu %8lu %5s  %s+0x%zx\n",
			       sites[i].site, sites[i].size, sites[i].depth,
			       sites[i].samples, sites[i].survived,
			       lifetime_site_type(&sites[i]), sym.name,
			       sym.offset);
	}
}

/*
 * dladdr reads the loaded objects' symbol tables, under ld.so's lock; it
 * never allocates. Without a dynamic symbol (a static function), the
 * object file and the offset in it, for addr2line.
 */
void site_symbol(const void *site, struct site_symbol *sym)
{
	Dl_info info;
	const char *base;

	sym->name = "?";
	sym->offset = 0;
	if (!dladdr(site, &info))
		return;
	base = info.dli_saddr;
	sym->name = info.dli_sname;
	if (!sym->name) {
		sym->name = strrchr(info.dli_fname, '/');
		sym->name = sym->name ? sym->name + 1 : info.dli_fname;
		base = info.dli_fbase;
	}
	sym->offset = (size_t)((const char *)site - base);
}

/* ------------------------------------------------------ slabinfo, percpu */

/*
 * /proc/slabinfo's layout (mm/slab_common.c), one line per cache with
 * slabs: the name is kmalloc-<size> for the Unmovable (long-lived) caches,
 * kmalloc-mov-<size> and kmalloc-rcl-<size> for the others. active_objs
 * are the objects the program holds; num_objs all the objects of the
 * cache's slabs; the tunables are 0 (nothing to tune); sharedavail is the
 * free objects held in the per-CPU caches.
 */
static void slabinfo_show(struct seq_buf *s)
{
	struct kmem_cache_stats c[NR_KMEM_CACHE_STATS];
	unsigned int n;

	allocator_enter();
	n = kmem_caches_read(c, NR_KMEM_CACHE_STATS);
	allocator_leave();
	seq_buf_puts(s, "slabinfo - version: 2.1\n");
	seq_buf_puts(s, "# name            <active_objs> <num_objs> <objsize> "
		     "<objperslab> <pagesperslab> : tunables <limit> "
		     "<batchcount> <sharedfactor> : slabdata <active_slabs> "
		     "<num_slabs> <sharedavail>\n");
	for (unsigned int i = 0; i < n; i++) {
		char name[32];
		struct seq_buf ns;
		unsigned long held;

		if (!c[i].nr_slabs)
			continue;
		seq_buf_init(&ns, name, sizeof(name), NULL, NULL);
		seq_buf_printf(&ns, "kmalloc-%s%u",
			       c[i].migratetype == MIGRATE_MOVABLE ? "mov-" :
			       c[i].migratetype == MIGRATE_RECLAIMABLE ? "rcl-" : "",
			       c[i].size);
		held = sub_or_zero(c[i].active_objs, c[i].cpu_cached);
		seq_buf_printf(s, "%-17s %6lu %6lu %6u %4u %4u : tunables %4u %4u %4u : slabdata %6lu %6lu %6lu\n",
			       seq_buf_str(&ns), held,
			       c[i].nr_slabs * c[i].objects, c[i].size,
			       c[i].objects, 1u << c[i].order, 0u, 0u, 0u,
			       c[i].nr_slabs, c[i].nr_slabs, c[i].cpu_cached);
	}
}

/* Per CPU: pages on its per-CPU page lists (all zones) and bytes of free
 * objects in its object cache. */
#define PERCPU_SHOWN	1024

static void percpu_show(struct seq_buf *s)
{
	unsigned long pages[PERCPU_SHOWN];
	size_t bytes[PERCPU_SHOWN];
	unsigned int a, b;

	allocator_enter();
	a = pcp_cpu_pages_read(pages, PERCPU_SHOWN);
	b = cpu_cache_cpu_bytes(bytes, PERCPU_SHOWN);
	allocator_leave();
	seq_buf_printf(s, "%5s %10s %14s\n", "cpu", "pcp_pages",
		       "cached_bytes");
	for (unsigned int c = 0; c < a || c < b; c++)
		seq_buf_printf(s, "%5u %10lu %14zu\n", c, c < a ? pages[c] : 0,
			       c < b ? bytes[c] : 0);
}

/*
 * The option words: "all" for every part, else each part named
 * (anywhere in the string, so "summary+slabinfo", "summary slabinfo" and
 * "summary,slabinfo" all work); NULL or "" asks for the /proc-style
 * reports (buddyinfo, pagetypeinfo, vmstat, zoneinfo, lifetime) without
 * the summary. "J" or "json" prints the parts asked for as one JSON
 * object instead (ctl.c).
 */
static bool wants(const char *opts, const char *report)
{
	if (!opts || !*opts)
		return strcmp(report, "summary") != 0 &&
		       strcmp(report, "slabinfo") != 0 &&
		       strcmp(report, "percpu") != 0;
	return strstr(opts, "all") || strstr(opts, report);
}

static unsigned int json_parts(const char *opts)
{
	unsigned int parts = 0;

	if (wants(opts, "summary"))
		parts |= STATS_PART_SUMMARY;
	if (wants(opts, "vmstat"))
		parts |= STATS_PART_VMSTAT;
	if (wants(opts, "lifetime"))
		parts |= STATS_PART_LIFETIME;
	if (wants(opts, "buddyinfo") || wants(opts, "pagetypeinfo") ||
	    wants(opts, "zoneinfo"))
		parts |= STATS_PART_ZONE;
	if (wants(opts, "slabinfo"))
		parts |= STATS_PART_SLAB;
	if (wants(opts, "percpu"))
		parts |= STATS_PART_CPU;
	/* "J" alone: everything. */
	return parts ? parts : ~0u;
}

static bool wants_json(const char *opts)
{
	return opts && (strchr(opts, 'J') || strstr(opts, "json"));
}

/* One part of the text report, a blank line before all but the first. */
static void part_show(struct seq_buf *s, bool *first,
		      void (*show)(struct seq_buf *))
{
	if (!*first)
		seq_buf_putc(s, '\n');
	show(s);
	*first = false;
}

BUDDY_EXPORT void buddymalloc_stats_print(void (*write_cb)(void *, const char *),
					  void *opaque, const char *opts)
{
	char buf[1024];
	struct seq_buf s;
	bool first = true;

	buddy_boot();
	seq_buf_init(&s, buf, sizeof(buf), write_cb ? write_cb : write_stderr,
		     opaque);
	if (wants_json(opts)) {
		ctl_json_show(&s, json_parts(opts));
		seq_buf_flush(&s);
		return;
	}
	if (wants(opts, "summary"))
		part_show(&s, &first, malloc_summary_show);
	/* The reports lock each zone only while copying it (vmstat.c). */
	allocator_enter();
	if (wants(opts, "buddyinfo"))
		part_show(&s, &first, buddyinfo_show);
	if (wants(opts, "pagetypeinfo"))
		part_show(&s, &first, pagetypeinfo_show);
	if (wants(opts, "vmstat"))
		part_show(&s, &first, vmstat_show);
	if (wants(opts, "zoneinfo"))
		part_show(&s, &first, zoneinfo_show);
	allocator_leave();
	if (wants(opts, "slabinfo"))
		part_show(&s, &first, slabinfo_show);
	if (wants(opts, "percpu"))
		part_show(&s, &first, percpu_show);
	if (wants(opts, "lifetime"))
		part_show(&s, &first, lifetime_show);
	seq_buf_flush(&s);
}

/*
 * malloc_stats: glibc 2.36's report (its __malloc_stats), line for line,
 * because programs and glibc's tests parse it: on stderr through stdio,
 * the stream locked around it, every number an unsigned int for %10u (cut
 * to 32 bits, as glibc's are) except max mmap bytes (%10lu). Our heap is
 * one arena:
 *   Arena 0 system bytes   address space onlined from the OS (mallinfo2's
 *                          arena);
 *           in use bytes   live heap allocations: small objects at their
 *                          class size, page allocations in whole pages
 *                          (uordblks);
 *   Total (incl. mmap)     both plus the live direct mappings (hblkhd), as
 *                          glibc adds its mmapped chunks to both;
 *   max mmap regions       the most direct mappings live at once;
 *   max mmap bytes         the most bytes in them at once.
 * Cancellation is off throughout: write() is a cancellation point, and a
 * thread cancelled in it would die with half a report printed and stderr
 * locked (glibc bug 22830, tst-malloc-stats-cancellation). The caller's
 * state comes back at the end, so a pending cancel acts at its next
 * cancellation point. Our own report is buddymalloc_stats_print's.
 */
BUDDY_EXPORT void malloc_stats(void)
{
	struct kmem_stats st;
	size_t in_use;
	int state;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	stats_read(&st);
	in_use = st.small_allocated + st.large_allocated;

	/* No allocator lock is held: stdio may allocate. */
	flockfile(stderr);
	fprintf(stderr, "Arena %d:\n", 0);
	fprintf(stderr, "system bytes     = %10u\n", (unsigned int)st.heap_bytes);
	fprintf(stderr, "in use bytes     = %10u\n", (unsigned int)in_use);
	fprintf(stderr, "Total (incl. mmap):\n");
	fprintf(stderr, "system bytes     = %10u\n",
		(unsigned int)(st.heap_bytes + st.huge_allocated));
	fprintf(stderr, "in use bytes     = %10u\n",
		(unsigned int)(in_use + st.huge_allocated));
	fprintf(stderr, "max mmap regions = %10u\n",
		(unsigned int)st.max_nr_huge);
	fprintf(stderr, "max mmap bytes   = %10lu\n",
		(unsigned long)st.max_huge_allocated);
	funlockfile(stderr);
	pthread_setcancelstate(state, NULL);
}

/*
 * malloc_info: glibc's XML vocabulary, one <heap> per zone. Its <sizes> are
 * the zone's buddy free lists: one <size> per order with free blocks (from
 * and to are the block size, total the bytes, count the blocks). Totals:
 * "rest" the free blocks of every zone, "mmap" the direct mappings; then
 * "small" and "large" for the live heap allocations, which glibc does not
 * have. options must be 0 (EINVAL otherwise, as glibc).
 */
BUDDY_EXPORT int malloc_info(int options, FILE *fp)
{
	struct zone_stats snap[MAX_ZONE_STATS];
	unsigned long total_count = 0, total_bytes = 0;
	struct kmem_stats st;
	unsigned int nr;

	if (options != 0)
		return EINVAL;
	stats_read(&st);
	nr = zones_read(snap, MAX_ZONE_STATS);

	/* Nothing below holds a lock: fprintf may allocate. */
	fputs("<malloc version=\"1\">\n", fp);
	for (unsigned int i = 0; i < nr; i++) {
		unsigned long count = 0;

		fprintf(fp, "<heap nr=\"%u\" node=\"%d\" zone=\"%s\">\n<sizes>\n",
			i, snap[i].node, snap[i].name);
		for (unsigned int o = 0; o < NR_PAGE_ORDERS; o++) {
			unsigned long block = PAGE_SIZE << o;

			if (!snap[i].nr_free[o])
				continue;
			fprintf(fp, "  <size from=\"%lu\" to=\"%lu\" total=\"%lu\" "
				"count=\"%lu\"/>\n", block, block,
				block * snap[i].nr_free[o], snap[i].nr_free[o]);
			count += snap[i].nr_free[o];
		}
		fputs("</sizes>\n", fp);
		fprintf(fp, "<total type=\"rest\" count=\"%lu\" size=\"%lu\"/>\n",
			count, snap[i].nr_free_pages << PAGE_SHIFT);
		fprintf(fp, "<system type=\"current\" size=\"%lu\"/>\n",
			snap[i].present_pages << PAGE_SHIFT);
		fprintf(fp, "<aspace type=\"total\" size=\"%lu\"/>\n",
			snap[i].present_pages << PAGE_SHIFT);
		fputs("</heap>\n", fp);
		total_count += count;
		total_bytes += snap[i].nr_free_pages << PAGE_SHIFT;
	}
	fprintf(fp, "<total type=\"rest\" count=\"%lu\" size=\"%lu\"/>\n",
		total_count, total_bytes);
	fprintf(fp, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n",
		st.nr_huge, st.huge_allocated);
	fprintf(fp, "<total type=\"small\" size=\"%zu\" slabs=\"%zu\"/>\n",
		st.small_allocated, st.small_slab_bytes);
	fprintf(fp, "<total type=\"large\" size=\"%zu\"/>\n", st.large_allocated);
	fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n",
		st.heap_bytes + st.huge_allocated);
	fprintf(fp, "<aspace type=\"total\" size=\"%zu\"/>\n",
		st.heap_bytes + st.huge_allocated);
	fputs("</malloc>\n", fp);
	return 0;
}
