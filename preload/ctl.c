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
#include <string.h>

#include "buddymalloc.h"
#include "page_alloc.h"
#include "preload.h"
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
	if (strcmp(field, "addr") == 0)
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
	}
	return EINVAL;
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
	if (strncmp(name, "stats.", 6) == 0)
		return ctl_stats(name + 6, oldp, oldlenp, newp);
	return ENOENT;
}
