/*
 * ctl.c - buddymalloc_mallctl: read and write settings and statistics by
 * name, after jemalloc's mallctl.
 *
 * The namespace:
 *   version            const char *   r-
 *   opt.<key>          per type       rw for every key of BUDDYMALLOC_CONF
 *                                     (conf.c's table), except start-up-only
 *                                     keys (numa_fake), which are r-
 *   stats.<field>      size_t         r-   each field of struct kmem_stats,
 *                                          and stats.allocated, their sum of
 *                                          small, large and huge bytes
 *   stats.vmstat.<event>  size_t      r-   each event counter of the vmstat
 *                                          report (pcp_refill, allocstall, ...)
 *   stats.classifier.<field>  size_t  r-   each count of the lifetime
 *                                          classifier (struct lifetime_stats
 *                                          but enabled: that is
 *                                          opt.classifier), and
 *                                          retyped_majority, retyped_pinned,
 *                                          wrong_type_pageblocks (the core's
 *                                          re-typing scan)
 *   stats.classifier.site.<i>.<field>  r-  the classifier's i-th most
 *                                          sampled site (i < 256): addr,
 *                                          size, depth, samples, survived
 *                                          (size_t), type (const char *)
 * Types of opt.<key>: bool for true/false keys, size_t for sizes,
 * unsigned int for numbers (numa_fake, watermark_scale_factor,
 * decay_ms, ...), and
 * const char * for keys taking a name (bad_free: "abort" or "report").
 *
 * Protocol (jemalloc's): oldp/oldlenp read the value, *oldlenp must be its
 * size; newp/newlen write it, newlen must be its size. Returns 0, or ENOENT
 * (no such name), EINVAL (wrong size or value; *oldlenp then holds the
 * right size), EPERM (read-only). oldp NULL with oldlenp set only asks the
 * size.
 */
#include "config.h"	/* PACKAGE_VERSION */

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "buddymalloc.h"
#include "page_alloc.h"
#include "preload.h"
#include "seq_buf.h"
#include "slab.h"

#define STATS_FIELD(name) { #name, offsetof(struct kmem_stats, name) }

static const struct {
	const char *name;
	size_t offset;
} stats_fields[] = {
	STATS_FIELD(small_allocated),
	STATS_FIELD(small_slab_bytes),
	STATS_FIELD(large_allocated),
	STATS_FIELD(huge_allocated),
	STATS_FIELD(nr_huge),
	STATS_FIELD(huge_cached),
	STATS_FIELD(nr_huge_cached),
	STATS_FIELD(heap_bytes),
	STATS_FIELD(free_bytes),
	STATS_FIELD(meta_bytes),
	STATS_FIELD(cpu_cached_bytes),
	STATS_FIELD(released_bytes),
	STATS_FIELD(resident_bytes),
	/* Last, and not in struct kmem_stats: preload's own counts (init.c). */
	{ "fork_kept", 0 },
	{ "fork_abandoned", 0 },
};

#define NR_STATS_FIELDS	(sizeof(stats_fields) / sizeof(stats_fields[0]))

/* Copy a value of size len out through oldp/oldlenp. */
static int ctl_read(void *oldp, size_t *oldlenp, const void *value, size_t len)
{
	if (!oldlenp)
		return oldp ? EINVAL : 0;
	if (!oldp) {
		*oldlenp = len;
		return 0;
	}
	if (*oldlenp != len) {
		*oldlenp = len;
		return EINVAL;
	}
	memcpy(oldp, value, len);
	return 0;
}

static int ctl_version(void *oldp, size_t *oldlenp, void *newp)
{
	static const char *const version = PACKAGE_VERSION;

	if (newp)
		return EPERM;
	return ctl_read(oldp, oldlenp, &version, sizeof(version));
}

static int ctl_stats(const char *field, void *oldp, size_t *oldlenp,
		     void *newp)
{
	bool sum = strcmp(field, "allocated") == 0;
	struct kmem_stats st;
	size_t value, i = 0;

	if (!sum) {
		while (i < NR_STATS_FIELDS &&
		       strcmp(field, stats_fields[i].name) != 0)
			i++;
		if (i == NR_STATS_FIELDS)
			return ENOENT;
	}
	if (newp)
		return EPERM;
	if (!oldp)
		return ctl_read(NULL, oldlenp, NULL, sizeof(size_t));
	if (i == NR_STATS_FIELDS - 2 || i == NR_STATS_FIELDS - 1) {
		value = i == NR_STATS_FIELDS - 2 ? fork_kept : fork_abandoned;
		return ctl_read(oldp, oldlenp, &value, sizeof(value));
	}
	allocator_enter();
	kmem_stats(&st);
	allocator_leave();
	if (sum)
		value = st.small_allocated + st.large_allocated +
			st.huge_allocated;
	else
		memcpy(&value, (char *)&st + stats_fields[i].offset,
		       sizeof(value));
	return ctl_read(oldp, oldlenp, &value, sizeof(value));
}

static int ctl_vmstat(const char *name, void *oldp, size_t *oldlenp,
		      void *newp)
{
	unsigned long events[NR_VM_EVENT_ITEMS];
	size_t value;
	int i = 0;

	while (i < NR_VM_EVENT_ITEMS && strcmp(name, vm_event_name(i)) != 0)
		i++;
	if (i == NR_VM_EVENT_ITEMS)
		return ENOENT;
	if (newp)
		return EPERM;
	vm_events_read(events);
	value = events[i];
	return ctl_read(oldp, oldlenp, &value, sizeof(value));
}

#define LIFETIME_FIELD(name) { #name, offsetof(struct lifetime_stats, name) }

static const struct {
	const char *name;
	size_t offset;
} lifetime_fields[] = {
	LIFETIME_FIELD(samples),
	LIFETIME_FIELD(sampled_short),
	LIFETIME_FIELD(sampled_long),
	LIFETIME_FIELD(died_young),
	LIFETIME_FIELD(survived),
	LIFETIME_FIELD(sites),
	LIFETIME_FIELD(sites_long),
	LIFETIME_FIELD(sites_split),
	LIFETIME_FIELD(reclassified),
	LIFETIME_FIELD(hinted),
};

#define NR_LIFETIME_FIELDS	(sizeof(lifetime_fields) / sizeof(lifetime_fields[0]))

/* Sites of stats.classifier.site.<i>.<field>: the most sampled first. */
#define CTL_SITES_MAX	256

/*
 * stats.classifier.site.<i>.<field>: the i-th most sampled site of the
 * classifier's table (ENOENT past the last). Fields: addr (the return
 * address), size (its size class; 0: the site over all classes), depth
 * (a split site's sub-site), samples and survived (decayed counts), all
 * size_t; type, const char *: "long", "short" or "split".
 */
static int ctl_classifier_site(const char *name, void *oldp, size_t *oldlenp,
			       void *newp)
{
	struct lifetime_site sites[CTL_SITES_MAX];
	const struct lifetime_site *site;
	unsigned int i = 0, n;
	const char *field = name;
	size_t value;

	if (*field < '0' || *field > '9')
		return ENOENT;
	while (*field >= '0' && *field <= '9' && i < CTL_SITES_MAX)
		i = i * 10 + (unsigned int)(*field++ - '0');
	if (*field++ != '.' || i >= CTL_SITES_MAX)
		return ENOENT;
	if (newp)
		return EPERM;
	allocator_enter();
	n = lifetime_sites_read(sites, i + 1);
	allocator_leave();
	if (i >= n)
		return ENOENT;
	site = &sites[i];
	if (strcmp(field, "type") == 0) {
		const char *type = lifetime_site_type(site);

		return ctl_read(oldp, oldlenp, &type, sizeof(type));
	}
	if (strcmp(field, "symbol") == 0 || strcmp(field, "offset") == 0) {
		struct site_symbol sym;

		site_symbol(site->site, &sym);
		if (field[0] == 's')
			return ctl_read(oldp, oldlenp, &sym.name,
					sizeof(sym.name));
		value = sym.offset;
	} else if (strcmp(field, "addr") == 0)
		value = (size_t)(uintptr_t)site->site;
	else if (strcmp(field, "size") == 0)
		value = site->size;
	else if (strcmp(field, "depth") == 0)
		value = site->depth;
	else if (strcmp(field, "samples") == 0)
		value = site->samples;
	else if (strcmp(field, "survived") == 0)
		value = site->survived;
	else
		return ENOENT;
	return ctl_read(oldp, oldlenp, &value, sizeof(value));
}

/* The classifier's counts, then what the core's re-typing scan counts
 * about the pageblocks the two lifetimes live in. */
static int ctl_classifier(const char *name, void *oldp, size_t *oldlenp,
			  void *newp)
{
	size_t i = 0, value;

	while (i < NR_LIFETIME_FIELDS && strcmp(name, lifetime_fields[i].name) != 0)
		i++;
	if (i < NR_LIFETIME_FIELDS) {
		struct lifetime_stats st;
		unsigned long count;

		if (newp)
			return EPERM;
		allocator_enter();
		lifetime_stats_read(&st);
		allocator_leave();
		memcpy(&count, (char *)&st + lifetime_fields[i].offset,
		       sizeof(count));
		value = count;
	} else if (strncmp(name, "site.", 5) == 0) {
		return ctl_classifier_site(name + 5, oldp, oldlenp, newp);
	} else if (strcmp(name, "retyped_majority") == 0 ||
		   strcmp(name, "retyped_pinned") == 0) {
		unsigned long events[NR_VM_EVENT_ITEMS];

		if (newp)
			return EPERM;
		vm_events_read(events);
		value = events[name[8] == 'm' ? PAGEBLOCK_RETYPE_MAJORITY :
						PAGEBLOCK_RETYPE_PINNED];
	} else if (strcmp(name, "wrong_type_pageblocks") == 0) {
		struct zone_stats zones[MAX_ZONE_STATS];
		unsigned int nr;

		if (newp)
			return EPERM;
		allocator_enter();
		nr = zone_stats_read(zones, MAX_ZONE_STATS);
		allocator_leave();
		value = 0;
		for (unsigned int z = 0; z < nr; z++)
			value += zones[z].nr_wrong_type_pageblocks;
	} else {
		return ENOENT;
	}
	return ctl_read(oldp, oldlenp, &value, sizeof(value));
}

static size_t opt_size(const struct conf_option *opt)
{
	switch (opt->type) {
	case CONF_BOOL:
		return sizeof(bool);
	case CONF_SIZE:
		return sizeof(size_t);
	case CONF_UINT:
		return sizeof(unsigned int);
	case CONF_CHOICE:
	case CONF_STRING:
		return sizeof(const char *);
	}
	return 0;
}

static int ctl_opt(const char *key, void *oldp, size_t *oldlenp,
		   void *newp, size_t newlen)
{
	const struct conf_option *opt = conf_find(key, strlen(key));
	size_t len;
	int err;

	if (!opt)
		return ENOENT;
	len = opt_size(opt);
	if (opt->type == CONF_CHOICE) {
		const char *name = opt->choices[*(unsigned int *)opt->value];

		err = ctl_read(oldp, oldlenp, &name, len);
	} else if (opt->type == CONF_STRING) {
		const char *text = opt->value;

		err = ctl_read(oldp, oldlenp, &text, len);
	} else {
		err = ctl_read(oldp, oldlenp, opt->value, len);
	}
	if (err || !newp)
		return err;
	if (opt->flags & CONF_BOOT)
		return EPERM;
	if (newlen != len)
		return EINVAL;
	switch (opt->type) {
	case CONF_BOOL: {
		bool v;

		memcpy(&v, newp, sizeof(v));
		return conf_set_text(opt, v ? "true" : "false", v ? 4 : 5) ?
		       0 : EINVAL;
	}
	case CONF_SIZE:
	case CONF_UINT: {
		size_t v = 0;

		if (opt->type == CONF_SIZE) {
			memcpy(&v, newp, sizeof(size_t));
		} else {
			unsigned int u;

			memcpy(&u, newp, sizeof(u));
			v = u;
		}
		if (v < opt->min || v > opt->max)
			return EINVAL;
		if (opt->type == CONF_SIZE)
			*(size_t *)opt->value = v;
		else
			*(unsigned int *)opt->value = (unsigned int)v;
		if (opt->apply)
			opt->apply();
		return 0;
	}
	case CONF_CHOICE: {
		const char *v;

		memcpy(&v, newp, sizeof(v));
		if (!v)
			return EINVAL;
		return conf_set_text(opt, v, strlen(v)) ? 0 : EINVAL;
	}
	case CONF_STRING:	/* the strings are start-up only */
		return EPERM;
	}
	return EINVAL;
}

/* ------------------------------------------------- zones, slabs, CPUs */

/* Fields of stats.zone.<i>: struct zone_stats as zone_stats_read copies
 * it. All size_t but free (ssize_t: the budget left may be negative) and
 * name (const char *). */
enum zone_field_kind { ZF_ULONG, ZF_LONG, ZF_INT, ZF_NAME };

#define ZONE_FIELD(key, field, kind) \
	{ key, offsetof(struct zone_stats, field), kind }

static const struct {
	const char *name;
	size_t offset;
	enum zone_field_kind kind;
} zone_fields[] = {
	ZONE_FIELD("node", node, ZF_INT),
	ZONE_FIELD("name", name, ZF_NAME),
	ZONE_FIELD("managed_pages", managed_pages, ZF_ULONG),
	ZONE_FIELD("present_pages", present_pages, ZF_ULONG),
	ZONE_FIELD("resident_pages", resident_pages, ZF_ULONG),
	ZONE_FIELD("free", free, ZF_LONG),
	ZONE_FIELD("min", watermark[WMARK_MIN], ZF_ULONG),
	ZONE_FIELD("low", watermark[WMARK_LOW], ZF_ULONG),
	ZONE_FIELD("high", watermark[WMARK_HIGH], ZF_ULONG),
	ZONE_FIELD("nr_free_pages", nr_free_pages, ZF_ULONG),
	ZONE_FIELD("nr_released", nr_released, ZF_ULONG),
	ZONE_FIELD("wrong_type_pageblocks", nr_wrong_type_pageblocks, ZF_ULONG),
};

#define NR_ZONE_FIELDS	(sizeof(zone_fields) / sizeof(zone_fields[0]))

static size_t zone_field_value(const struct zone_stats *z, size_t i)
{
	const char *p = (const char *)z + zone_fields[i].offset;

	switch (zone_fields[i].kind) {
	case ZF_ULONG:
		return *(const unsigned long *)p;
	case ZF_LONG:
		return (size_t)*(const long *)p;
	case ZF_INT:
		return (size_t)*(const int *)p;
	case ZF_NAME:
		break;
	}
	return 0;
}

/* "<digits>." at *name: the number, *name moved past the dot; -1 if not. */
static long ctl_index(const char **name, bool last)
{
	const char *p = *name;
	long v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9' && v < 1000000)
		v = v * 10 + (*p++ - '0');
	if (last ? *p != '\0' : *p++ != '.')
		return -1;
	*name = p;
	return v;
}

/* A migrate type by its kernel name ("Unmovable"), then "." or the end. */
static int ctl_migratetype(const char **name, bool last)
{
	for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
		const char *mtn = migratetype_name(mt);
		size_t len = strlen(mtn);

		if (strncmp(*name, mtn, len) == 0 &&
		    (last ? (*name)[len] == '\0' : (*name)[len] == '.')) {
			*name += len + !last;
			return mt;
		}
	}
	return -1;
}

/*
 * stats.zone.<i>.<field>: the i-th populated zone (zoneinfo's order);
 * fields of zone_fields, and the arrays nr_free.<order> (buddyinfo),
 * protection.<zone index>, type_free.<Type>.<order> and
 * pageblocks.<Type> (pagetypeinfo).
 */
static int ctl_zone(const char *name, void *oldp, size_t *oldlenp, void *newp)
{
	struct zone_stats zones[MAX_ZONE_STATS];
	long i = ctl_index(&name, false);
	unsigned int nr;
	size_t value;

	if (i < 0)
		return ENOENT;
	allocator_enter();
	nr = zone_stats_read(zones, MAX_ZONE_STATS);
	allocator_leave();
	if (i >= nr)
		return ENOENT;
	if (strncmp(name, "nr_free.", 8) == 0 ||
	    strncmp(name, "protection.", 11) == 0) {
		bool free = name[0] == 'n';
		long o;

		name += free ? 8 : 11;
		o = ctl_index(&name, true);
		if (o < 0 || o >= (free ? NR_PAGE_ORDERS : MAX_NR_ZONES))
			return ENOENT;
		value = free ? zones[i].nr_free[o] : zones[i].protection[o];
	} else if (strncmp(name, "type_free.", 10) == 0 ||
		   strncmp(name, "pageblocks.", 11) == 0) {
		bool free = name[0] == 't';
		struct zone_type_stats ts;
		int mt;
		long o = 0;

		name += free ? 10 : 11;
		mt = ctl_migratetype(&name, !free);
		if (mt < 0)
			return ENOENT;
		if (free) {
			o = ctl_index(&name, true);
			if (o < 0 || o >= NR_PAGE_ORDERS)
				return ENOENT;
		}
		allocator_enter();
		if (!zone_type_stats_read((unsigned int)i, &ts)) {
			allocator_leave();
			return ENOENT;
		}
		allocator_leave();
		value = free ? ts.type_free[mt][o] : ts.blocks[mt];
	} else {
		size_t f = 0;

		while (f < NR_ZONE_FIELDS && strcmp(name, zone_fields[f].name))
			f++;
		if (f == NR_ZONE_FIELDS)
			return ENOENT;
		if (newp)
			return EPERM;
		if (zone_fields[f].kind == ZF_NAME)
			return ctl_read(oldp, oldlenp, &zones[i].name,
					sizeof(zones[i].name));
		value = zone_field_value(&zones[i], f);
	}
	if (newp)
		return EPERM;
	return ctl_read(oldp, oldlenp, &value, sizeof(value));
}

/* Fields of stats.slab.<i>, all size_t but type (const char *). */
#define SLAB_FIELD(key, field) \
	{ key, offsetof(struct kmem_cache_stats, field), \
	  sizeof(((struct kmem_cache_stats *)0)->field) }

static const struct {
	const char *name;
	size_t offset, size;
} slab_fields[] = {
	SLAB_FIELD("size", size),
	SLAB_FIELD("objects_per_slab", objects),
	SLAB_FIELD("order", order),
	SLAB_FIELD("nr_slabs", nr_slabs),
	SLAB_FIELD("active_objs", active_objs),
	SLAB_FIELD("cpu_cached", cpu_cached),
};

#define NR_SLAB_FIELDS	(sizeof(slab_fields) / sizeof(slab_fields[0]))

static size_t slab_field_value(const struct kmem_cache_stats *c, size_t i)
{
	const char *p = (const char *)c + slab_fields[i].offset;

	if (slab_fields[i].size == sizeof(unsigned int))
		return *(const unsigned int *)p;
	return *(const unsigned long *)p;
}

/* stats.slab.<i>.<field>: the i-th slab cache (size classes of the
 * Unmovable type, then Movable, then Reclaimable); type is its migrate
 * type's name. ENOENT before the first small allocation. */
static int ctl_slab(const char *name, void *oldp, size_t *oldlenp, void *newp)
{
	struct kmem_cache_stats caches[NR_KMEM_CACHE_STATS];
	long i = ctl_index(&name, false);
	unsigned int nr;
	size_t f = 0, value;

	if (i < 0)
		return ENOENT;
	allocator_enter();
	nr = kmem_caches_read(caches, NR_KMEM_CACHE_STATS);
	allocator_leave();
	if (i >= nr)
		return ENOENT;
	if (newp)
		return EPERM;
	if (strcmp(name, "type") == 0) {
		const char *type = migratetype_name(caches[i].migratetype);

		return ctl_read(oldp, oldlenp, &type, sizeof(type));
	}
	while (f < NR_SLAB_FIELDS && strcmp(name, slab_fields[f].name))
		f++;
	if (f == NR_SLAB_FIELDS)
		return ENOENT;
	value = slab_field_value(&caches[i], f);
	return ctl_read(oldp, oldlenp, &value, sizeof(value));
}

/* CPUs the per-CPU views cover (the first CTL_CPUS_MAX). */
#define CTL_CPUS_MAX	1024

struct cpu_view {
	unsigned long pcp_pages[CTL_CPUS_MAX];
	size_t cached_bytes[CTL_CPUS_MAX];
	unsigned int nr;
};

static void cpu_view_read(struct cpu_view *v)
{
	unsigned int a, b;

	allocator_enter();
	a = pcp_cpu_pages_read(v->pcp_pages, CTL_CPUS_MAX);
	b = cpu_cache_cpu_bytes(v->cached_bytes, CTL_CPUS_MAX);
	allocator_leave();
	for (unsigned int c = a; c < b; c++)
		v->pcp_pages[c] = 0;
	for (unsigned int c = b; c < a; c++)
		v->cached_bytes[c] = 0;
	v->nr = a > b ? a : b;
}

/* stats.cpu.<i>.pcp_pages (pages on CPU i's per-CPU page lists, all
 * zones) and stats.cpu.<i>.cached_bytes (free objects in its object
 * cache), size_t. */
static int ctl_cpu(const char *name, void *oldp, size_t *oldlenp, void *newp)
{
	struct cpu_view v;	/* 16 KiB of stack */
	long i = ctl_index(&name, false);
	size_t value;

	if (i < 0)
		return ENOENT;
	cpu_view_read(&v);
	if (i >= v.nr)
		return ENOENT;
	if (strcmp(name, "pcp_pages") == 0)
		value = v.pcp_pages[i];
	else if (strcmp(name, "cached_bytes") == 0)
		value = v.cached_bytes[i];
	else
		return ENOENT;
	if (newp)
		return EPERM;
	return ctl_read(oldp, oldlenp, &value, sizeof(value));
}

/* ---------------------------------------------------------------- JSON */

/*
 * The same tree as JSON: an object per name component, an array per
 * numeric one (stats.zone.0.nr_free.3 is stats.zone[0].nr_free[3]), so
 * that every leaf's path, joined with dots, is its mallctl name. The one
 * exception is "report" (pid, exe: whose report it is; thread: the name
 * of the thread that wrote it), which has no mallctl name. Written through a seq_buf: no malloc, no stdio.
 */
struct json {
	struct seq_buf *s;
	bool comma;		/* a value came before at this level */
};

static void json_string(struct seq_buf *s, const char *text)
{
	static const char hex[] = "0123456789abcdef";

	seq_buf_putc(s, '"');
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\') {
			seq_buf_putc(s, '\\');
			seq_buf_putc(s, (char)*c);
		} else if (*c < 0x20 || *c == 0x7f) {
			seq_buf_puts(s, "\\u00");
			seq_buf_putc(s, hex[*c >> 4]);
			seq_buf_putc(s, hex[*c & 15]);
		} else {
			seq_buf_putc(s, (char)*c);
		}
	}
	seq_buf_putc(s, '"');
}

/* Start a member (key not NULL) or an array element. */
static void json_key(struct json *j, const char *key)
{
	if (j->comma)
		seq_buf_putc(j->s, ',');
	j->comma = true;
	if (key) {
		json_string(j->s, key);
		seq_buf_putc(j->s, ':');
	}
}

static void json_open(struct json *j, const char *key, char bracket)
{
	json_key(j, key);
	seq_buf_putc(j->s, bracket);
	j->comma = false;
}

static void json_close(struct json *j, char bracket)
{
	seq_buf_putc(j->s, bracket);
	j->comma = true;
}

static void json_size(struct json *j, const char *key, size_t v)
{
	json_key(j, key);
	seq_buf_printf(j->s, "%zu", v);
}

static void json_long(struct json *j, const char *key, long v)
{
	json_key(j, key);
	seq_buf_printf(j->s, "%ld", v);
}

static void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_string(j->s, v ? v : "");
}

static void json_opts(struct json *j)
{
	json_open(j, "opt", '{');
	for (size_t i = 0; i < nr_conf_options; i++) {
		const struct conf_option *opt = &conf_options[i];

		switch (opt->type) {
		case CONF_BOOL:
			json_key(j, opt->name);
			seq_buf_puts(j->s, *(bool *)opt->value ? "true" : "false");
			break;
		case CONF_SIZE:
			json_size(j, opt->name, *(size_t *)opt->value);
			break;
		case CONF_UINT:
			json_size(j, opt->name, *(unsigned int *)opt->value);
			break;
		case CONF_CHOICE:
			json_str(j, opt->name,
				 opt->choices[*(unsigned int *)opt->value]);
			break;
		case CONF_STRING:
			json_str(j, opt->name, opt->value);
			break;
		}
	}
	json_close(j, '}');
}

static void json_stats_scalars(struct json *j)
{
	struct kmem_stats st;

	allocator_enter();
	kmem_stats(&st);
	allocator_leave();
	for (size_t i = 0; i < NR_STATS_FIELDS - 2; i++) {
		size_t v;

		memcpy(&v, (char *)&st + stats_fields[i].offset, sizeof(v));
		json_size(j, stats_fields[i].name, v);
	}
	json_size(j, "fork_kept", fork_kept);
	json_size(j, "fork_abandoned", fork_abandoned);
	json_size(j, "allocated", st.small_allocated + st.large_allocated +
		  st.huge_allocated);
}

static void json_vmstat(struct json *j)
{
	unsigned long events[NR_VM_EVENT_ITEMS];

	vm_events_read(events);
	json_open(j, "vmstat", '{');
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		json_size(j, vm_event_name(i), events[i]);
	json_close(j, '}');
}

static void json_classifier(struct json *j)
{
	struct lifetime_site sites[CTL_SITES_MAX];
	struct classifier_snapshot snap;
	const struct lifetime_stats *st = &snap.st;
	unsigned int n;

	classifier_snapshot_read(&snap, sites, CTL_SITES_MAX);
	n = snap.nr_sites;
	json_open(j, "classifier", '{');
	for (size_t i = 0; i < NR_LIFETIME_FIELDS; i++) {
		unsigned long v;

		memcpy(&v, (const char *)st + lifetime_fields[i].offset, sizeof(v));
		json_size(j, lifetime_fields[i].name, v);
	}
	json_size(j, "retyped_majority", snap.retyped_majority);
	json_size(j, "retyped_pinned", snap.retyped_pinned);
	json_size(j, "wrong_type_pageblocks", snap.wrong_type_pageblocks);
	json_open(j, "site", '[');
	for (unsigned int i = 0; i < n; i++) {
		struct site_symbol sym;

		site_symbol(sites[i].site, &sym);
		json_open(j, NULL, '{');
		json_size(j, "addr", (size_t)(uintptr_t)sites[i].site);
		json_size(j, "size", sites[i].size);
		json_size(j, "depth", sites[i].depth);
		json_size(j, "samples", sites[i].samples);
		json_size(j, "survived", sites[i].survived);
		json_str(j, "type", lifetime_site_type(&sites[i]));
		json_str(j, "symbol", sym.name);
		json_size(j, "offset", sym.offset);
		json_close(j, '}');
	}
	json_close(j, ']');
	json_close(j, '}');
}

static void json_zones(struct json *j)
{
	struct zone_stats zones[MAX_ZONE_STATS];
	unsigned int nr;

	allocator_enter();
	nr = zone_stats_read(zones, MAX_ZONE_STATS);
	allocator_leave();
	json_open(j, "zone", '[');
	for (unsigned int i = 0; i < nr; i++) {
		struct zone_type_stats ts;
		bool have_ts;

		allocator_enter();
		have_ts = zone_type_stats_read(i, &ts);
		allocator_leave();
		json_open(j, NULL, '{');
		for (size_t f = 0; f < NR_ZONE_FIELDS; f++) {
			if (zone_fields[f].kind == ZF_NAME)
				json_str(j, zone_fields[f].name, zones[i].name);
			else if (zone_fields[f].kind == ZF_LONG)
				json_long(j, zone_fields[f].name,
					  (long)zone_field_value(&zones[i], f));
			else
				json_size(j, zone_fields[f].name,
					  zone_field_value(&zones[i], f));
		}
		json_open(j, "protection", '[');
		for (int z = 0; z < MAX_NR_ZONES; z++)
			json_size(j, NULL, zones[i].protection[z]);
		json_close(j, ']');
		json_open(j, "nr_free", '[');
		for (int o = 0; o < NR_PAGE_ORDERS; o++)
			json_size(j, NULL, zones[i].nr_free[o]);
		json_close(j, ']');
		if (have_ts) {
			json_open(j, "type_free", '{');
			for (int mt = 0; mt < MIGRATE_TYPES; mt++) {
				json_open(j, migratetype_name(mt), '[');
				for (int o = 0; o < NR_PAGE_ORDERS; o++)
					json_size(j, NULL, ts.type_free[mt][o]);
				json_close(j, ']');
			}
			json_close(j, '}');
			json_open(j, "pageblocks", '{');
			for (int mt = 0; mt < MIGRATE_TYPES; mt++)
				json_size(j, migratetype_name(mt), ts.blocks[mt]);
			json_close(j, '}');
		}
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_slabs(struct json *j)
{
	struct kmem_cache_stats caches[NR_KMEM_CACHE_STATS];
	unsigned int nr;

	allocator_enter();
	nr = kmem_caches_read(caches, NR_KMEM_CACHE_STATS);
	allocator_leave();
	json_open(j, "slab", '[');
	for (unsigned int i = 0; i < nr; i++) {
		json_open(j, NULL, '{');
		json_str(j, "type", migratetype_name(caches[i].migratetype));
		for (size_t f = 0; f < NR_SLAB_FIELDS; f++)
			json_size(j, slab_fields[f].name,
				  slab_field_value(&caches[i], f));
		json_close(j, '}');
	}
	json_close(j, ']');
}

static void json_cpus(struct json *j)
{
	struct cpu_view v;

	cpu_view_read(&v);
	json_open(j, "cpu", '[');
	for (unsigned int c = 0; c < v.nr; c++) {
		json_open(j, NULL, '{');
		json_size(j, "pcp_pages", v.pcp_pages[c]);
		json_size(j, "cached_bytes", v.cached_bytes[c]);
		json_close(j, '}');
	}
	json_close(j, ']');
}

void ctl_json_show(struct seq_buf *s, unsigned int parts)
{
	struct json j = { .s = s };
	char exe[PATH_MAX], thread[16];

	json_open(&j, NULL, '{');
	json_open(&j, "report", '{');
	json_size(&j, "pid", (size_t)os_getpid());
	json_str(&j, "exe", self_exe(exe, sizeof(exe)));
	os_thread_name(thread);
	json_str(&j, "thread", thread);
	json_close(&j, '}');
	json_str(&j, "version", PACKAGE_VERSION);
	if (parts & STATS_PART_SUMMARY)
		json_opts(&j);
	json_open(&j, "stats", '{');
	if (parts & STATS_PART_SUMMARY)
		json_stats_scalars(&j);
	if (parts & STATS_PART_VMSTAT)
		json_vmstat(&j);
	if (parts & STATS_PART_LIFETIME)
		json_classifier(&j);
	if (parts & STATS_PART_ZONE)
		json_zones(&j);
	if (parts & STATS_PART_SLAB)
		json_slabs(&j);
	if (parts & STATS_PART_CPU)
		json_cpus(&j);
	json_close(&j, '}');
	json_close(&j, '}');
	seq_buf_putc(s, '\n');
}

BUDDY_EXPORT int buddymalloc_mallctl(const char *name, void *oldp,
				     size_t *oldlenp, void *newp, size_t newlen)
{
	if (!name)
		return ENOENT;
	buddy_boot();
	if (strcmp(name, "version") == 0)
		return ctl_version(oldp, oldlenp, newp);
	if (strncmp(name, "opt.", 4) == 0) {
		int err = ctl_opt(name + 4, oldp, oldlenp, newp, newlen);

		if (!err && newp && buddy_opts.stats_print)
			stderr_save();	/* for the report at exit */
		return err;
	}
	if (strncmp(name, "stats.classifier.", 17) == 0)
		return ctl_classifier(name + 17, oldp, oldlenp, newp);
	if (strncmp(name, "stats.vmstat.", 13) == 0)
		return ctl_vmstat(name + 13, oldp, oldlenp, newp);
	if (strncmp(name, "stats.zone.", 11) == 0)
		return ctl_zone(name + 11, oldp, oldlenp, newp);
	if (strncmp(name, "stats.slab.", 11) == 0)
		return ctl_slab(name + 11, oldp, oldlenp, newp);
	if (strncmp(name, "stats.cpu.", 10) == 0)
		return ctl_cpu(name + 10, oldp, oldlenp, newp);
	if (strncmp(name, "stats.", 6) == 0)
		return ctl_stats(name + 6, oldp, oldlenp, newp);
	return ENOENT;
}
