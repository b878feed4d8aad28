/*
 * preload.h - preload/'s cross-file interface, file by file: a table of
 * contents of the layer that exports the malloc family.
 *
 *   malloc.c    the glibc malloc family over slab.h, with glibc's semantics
 *   stats.c     mallinfo, mallinfo2, malloc_stats, malloc_info and the
 *               buddymalloc_stats_print report
 *   page_api.c  the page API of include/buddymalloc.h over the core
 *   ctl.c       buddymalloc_mallctl: named settings and statistics
 *   conf.c      the options table and the BUDDYMALLOC_CONF parser
 *   init.c      bootstrap, fork handlers, the report at exit
 *   report.c    one line about a bad pointer, then abort (or not); the
 *               stderr that the report at exit goes to; the live report
 *               on report_signal
 *
 * Only this layer knows libc's symbol names; everything it does not export
 * is hidden (-fvisibility=hidden), and preload/exports.map lists exactly the
 * exported names.
 */
#ifndef BUDDY_PRELOAD_H
#define BUDDY_PRELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/compiler.h>
#include <urcu/uatomic.h>

#include "page_alloc.h"
#include "slab.h"	/* struct lifetime_stats, lifetime_site */

struct seq_buf;

/* Exported names; everything else is hidden. */
#define BUDDY_EXPORT	__attribute__((visibility("default")))

/* ------------------------------------------------------------- init.c */

/*
 * The allocator depth of this thread: how many calls into slab/ or core/
 * this thread is inside of. Non-zero in a signal handler that interrupted
 * the allocator, which is how a fork() from such a handler is recognised
 * (see the fork handlers in init.c and slab.h). Initial-exec TLS: reading it
 * never calls __tls_get_addr, which may allocate.
 *
 * Per-thread state and thread exit: this counter, the fork-nesting bits in
 * init.c and boot_self are all there is. They are static TLS without a
 * destructor, valid until the thread is gone, so a free() from a TLS
 * destructor running at thread exit, in any order, finds nothing torn down.
 * A later per-thread or per-CPU object cache must keep this property: its
 * state must survive (or be rebuilt by) calls made after its own clean-up ran
 * (mimalloc#164, #809), e.g. by flushing to the shared heap in a destructor
 * and then switching the thread to a "no cache" mode that frees directly.
 */
extern __thread unsigned int buddy_depth
	__attribute__((tls_model("initial-exec")));

/* Forks in progress on this thread (init.c); in the child of a fork, until
 * its heap is settled, the one thread inherits a non-zero count. */
extern __thread unsigned int fork_depth
	__attribute__((tls_model("initial-exec")));
void fork_settle_child(void);

/* Forks whose child kept, or abandoned, the inherited heap. */
extern unsigned long fork_kept, fork_abandoned;

/* Around every call into slab/ or core/ that may take a lock. The compiler
 * barriers keep the counter's updates on their side of the call. In the
 * child of a fork, the first such call settles the inherited heap before
 * any lock is taken (init.c, fork_settle_child). */
static inline void allocator_enter(void)
{
	if (unlikely(fork_depth))
		fork_settle_child();
	buddy_depth++;
	cmm_barrier();
}

/* Leaving the outermost call, this thread holds no allocator lock: the
 * place to do what the core asked for but could not do where it was
 * (start a reclaim thread, decay inline: reclaim_work_check). */
static inline void allocator_leave(void)
{
	cmm_barrier();
	if (--buddy_depth == 0)
		reclaim_work_check();
}

/*
 * The depth below which this thread's frames hold no allocator lock: 0,
 * except in the child of a fork from a signal handler that interrupted the
 * allocator. That child abandoned the heap and made every lock new, so the
 * interrupted calls under the handler hold nothing any more; the floor
 * drops as they return.
 */
extern __thread unsigned int buddy_depth_floor
	__attribute__((tls_model("initial-exec")));

/* allocator_enter(), telling whether this call is nested in an allocator
 * call of this thread that may hold a lock (a signal handler interrupted
 * it)? Then it must not wait for one: the kmalloc_nolock family serves it.
 * In the child of a fork, the heap is settled first, since that may move
 * the floor. */
static inline bool allocator_enter_nested(void)
{
	bool nested;

	if (unlikely(fork_depth))
		fork_settle_child();
	if (unlikely(buddy_depth < buddy_depth_floor))
		buddy_depth_floor = buddy_depth;
	nested = buddy_depth > buddy_depth_floor;
	buddy_depth++;
	cmm_barrier();
	return nested;
}

/*
 * Bootstrap: BUDDYMALLOC_CONF is read on the first call into the allocator
 * from any thread, before its first allocation, so that settings such as
 * max_memory reach the core in time. It never allocates, takes no lock and
 * calls no stdio, so it is safe before constructors and from ld.so's first
 * malloc. Everything else below (slab/, core/) initialises itself lazily.
 */
enum boot_state { BOOT_NONE, BOOT_RUNNING, BOOT_DONE };
extern int buddy_boot_state;
void buddy_boot_slow(void);

/* Cost: one load and a predicted branch once booted. */
static inline void buddy_boot(void)
{
	if (unlikely(CMM_LOAD_SHARED(buddy_boot_state) != BOOT_DONE))
		buddy_boot_slow();
}

/* ------------------------------------------------------------- conf.c */

enum bad_free_action {
	BAD_FREE_ABORT,		/* report, then abort (glibc's behaviour) */
	BAD_FREE_REPORT,	/* report, then ignore the call */
};

/* hardening: the debugging levels, each including the ones before it. */
enum hardening_level {
	HARDENING_OFF,		/* the checks every call makes, nothing more */
	HARDENING_JUNK,		/* junk-fill on free, checked on allocation
				 * (slab.h, slab_junk) */
	HARDENING_REDZONE,	/* and redzones after small objects, checked
				 * on free (slab.h, slab_redzone) */
	HARDENING_GUARD,	/* and guard pages around page-level blocks
				 * and direct mappings (page_alloc.h,
				 * huge_guard) */
};

/* report_signal: the signals a live report may be asked with (report.c). */
enum report_signal {
	REPORT_SIGNAL_OFF,	/* no handler installed */
	REPORT_SIGNAL_USR1,
	REPORT_SIGNAL_USR2,
	REPORT_SIGNAL_PWR,
	REPORT_SIGNAL_URG,
	REPORT_SIGNAL_WINCH,
};

/* Bytes (with the NUL) of report_file and report_opts. */
#define REPORT_FILE_MAX		256
#define REPORT_OPTS_MAX		64

/* The settings of the preload layer; the table in conf.c says which option
 * writes which field, and the core's are in core_config. */
struct buddy_opts {
	bool stats_print;		/* stats_print */
	unsigned int bad_free;		/* bad_free: enum bad_free_action */
	size_t limit;			/* limit (alias max_memory), bytes;
					 * 0: cgroup, else physical memory */
	unsigned int min_free_kbytes;		/* min_free_kbytes; 0: computed */
	unsigned int watermark_scale_factor;	/* watermark_scale_factor */
	unsigned int lowmem_reserve_ratio;	/* lowmem_reserve_ratio */
	bool warn_alloc;		/* warn_alloc */
	unsigned int numa_fake;		/* numa_fake: nodes; 0: the real ones */
	unsigned int decay_ms;		/* decay_ms */
	unsigned int reclaim_threads;	/* reclaim_threads: 0 or 1 */
	unsigned int percpu_pagelist_high_fraction;	/* 0: from the low watermark */
	unsigned int pcp_batch;		/* pages; 0: the kernel's zone_batchsize */
	unsigned int lifetime_ms;	/* lifetime_ms */
	bool classifier;		/* classifier */
	unsigned int lifetime_sample;	/* lifetime_sample */
	bool abort_conf;		/* abort_conf */
	unsigned int hardening;		/* hardening: enum hardening_level */
	unsigned int report_signal;	/* report_signal: enum report_signal */
	char report_file[REPORT_FILE_MAX];	/* report_file: "%p" the pid */
	char report_opts[REPORT_OPTS_MAX];	/* report_opts: stats_print's */
};

extern struct buddy_opts buddy_opts;

enum conf_type {
	CONF_BOOL,	/* bool; "true" or "false" */
	CONF_SIZE,	/* size_t; bytes with an optional k, m, g or t suffix */
	CONF_CHOICE,	/* unsigned int; the index of a name in choices[] */
	CONF_UINT,	/* unsigned int; decimal digits */
	CONF_STRING,	/* char[max]; any text without ',' shorter than max */
};

/* conf_option.flags */
#define CONF_BOOT	0x1u	/* takes effect only before the first allocation */

/*
 * One setting: BUDDYMALLOC_CONF key, buddymalloc_mallctl("opt.<name>").
 * The row is the setting's only documentation: the help text
 * (BUDDYMALLOC_CONF=help), the SETTINGS section of buddymalloc(3) and the
 * README's settings table are all made from name, type, range or choices,
 * the default (the same field of BUDDY_OPTS_DEFAULT, conf_default()), the
 * CONF_BOOT flag and help (doc/man/gen_settings.c).
 */
struct conf_option {
	const char *name;
	enum conf_type type;
	unsigned int flags;
	size_t min, max;		/* CONF_SIZE, CONF_UINT: the accepted
					 * range */
	const char *const *choices;	/* CONF_CHOICE: NULL-terminated */
	void *value;			/* a field of buddy_opts: bool *,
					 * size_t * or unsigned int *
					 * (CONF_CHOICE, CONF_UINT), char[max]
					 * (CONF_STRING) */
	void (*apply)(void);		/* called after the value changed */
	const char *help;		/* what it does and what its values
					 * mean: one paragraph of plain text
					 * (no markup, no '|'), without the
					 * range and default, which are
					 * added from the fields above */
};

extern const struct conf_option conf_options[];
extern const size_t nr_conf_options;

const struct conf_option *conf_find(const char *name, size_t len);

/* Where warnings go: one NUL-terminated line each, with its '\n'. */
typedef void (*conf_warn_fn)(void *opaque, const char *line);

/* conf_parse() flags */
#define CONF_PARSE_LATE	0x1u	/* the allocator is in use: CONF_BOOT
				   options are refused with a warning */

/*
 * Parse "key:value,key:value" into the options. Spaces around keys and
 * values are ignored, and so are empty entries (",,", a trailing comma).
 * Each unknown key, bad value or entry without a value is one line to warn
 * (NULL: stderr) and is otherwise ignored; returns how many there were.
 * "help" prints the options table instead. Never allocates.
 */
unsigned int conf_parse(const char *conf, unsigned int flags,
			conf_warn_fn warn, void *opaque);
/* The same with warnings naming source (a file's path) instead of
 * BUDDYMALLOC_CONF. */
unsigned int conf_parse_source(const char *source, const char *conf,
			       unsigned int flags, conf_warn_fn warn,
			       void *opaque);

/* Set a value from its text, as conf_parse does for one entry; false if the
 * text is not a valid value (nothing changed then). */
bool conf_set_text(const struct conf_option *opt, const char *text, size_t len);

#ifdef BUDDY_TEST_HOOKS
/* Tests: the options and their defaults, as after start-up. */
void conf_reset(void);
#endif

/* Print the options table with help text through warn (NULL: stderr). */
void conf_print_help(conf_warn_fn warn, void *opaque);

/*
 * What the documentation is made of, for the help text above and for
 * doc/man/gen_settings.c (the man page's SETTINGS section and the README's
 * table): the values a key takes ("true or false", "a whole number from 1
 * to 3000"), a value as text, and the default value of a key (the same
 * field as opt->value in the defaults).
 */
struct seq_buf;
void conf_expected_show(struct seq_buf *s, const struct conf_option *opt);
void conf_value_show(struct seq_buf *s, const struct conf_option *opt,
		     const void *value);
const void *conf_default(const struct conf_option *opt);

/*
 * Read the settings file (BUDDY_CONF_FILE, or BUDDYMALLOC_CONF_FILE's) and
 * then BUDDYMALLOC_CONF, once: from environ, or from
 * /proc/self/environ while environ is not set up yet (the first malloc can
 * come from ld.so before libc's initialisation). false if neither was
 * available; the constructor calls it again with late set.
 */
bool conf_boot(bool late);

/* conf_boot's way without environ: BUDDYMALLOC_CONF as the process started
 * with it, read from /proc/self/environ (at most 4095 bytes; longer is cut
 * with a warning). *conf NULL if absent; false if the file is unreadable. */
bool conf_proc_environ(const char **conf);

/* ----------------------------------------------------------- report.c */

enum kfree_result;

/* One line "buddymalloc: free(): invalid pointer 0x..." naming call (without
 * parentheses) and the address, then abort unless bad_free is "report". */
void report_bad_pointer(const char *call, const void *addr,
			enum kfree_result res);

/* hardening found object p written at offset after it was freed
 * ("buddymalloc: malloc(): write after free 0x... (offset N)") or past its
 * end (redzone: "buddymalloc: free(): redzone overwritten 0x... (offset
 * N)"), then abort unless bad_free is "report". The slab layer's
 * slab_junk_report. */
void report_write_after_free(const void *p, size_t offset, bool redzone);

/* seq_buf flush callback writing to stderr (os_write). */
void write_stderr(void *opaque, const char *text);

/*
 * The live report (report_signal, report_file, report_opts): at start-up
 * (the constructor, no allocator lock held) install the signal handler,
 * if report_signal is set and the program does not handle that signal
 * already, and start the reclaim thread that writes the report
 * (page_alloc.h, reclaim_report_enable). The report goes to report_file
 * ("%p" the pid, "%%" a '%') through a temporary file renamed over it.
 */
void live_report_init(void);
/* In the child of fork() (its child handler): start the child's reclaim
 * thread for the report, unless the fork came from a signal handler
 * inside the allocator (then its next slow-path call does). */
void live_report_fork_child(void);
/* Write the report now, from this thread (what the signal asks the
 * reclaim thread to do); false if the file could not be written. */
bool live_report_write(void);
/* The signal number report_signal names (0: off). */
int report_signal_number(unsigned int report_signal);

/* For stats_print: keep a duplicate of stderr that survives the program
 * closing fd 2, and write to it (to fd 2 if it is gone). */
void stderr_save(void);
void write_saved_stderr(void *opaque, const char *text);

/* ------------------------------------------------------------ stats.c */

/* The short summary of buddymalloc_stats_print and stats_print:true
 * (malloc_stats() prints glibc's report instead). */
void malloc_summary_show(struct seq_buf *s);

/* The parts of buddymalloc_stats_print (its option words). */
#define STATS_PART_SUMMARY	0x01u	/* summary: and, in JSON, version,
					 * opt and the stats.* scalars */
#define STATS_PART_VMSTAT	0x02u	/* vmstat */
#define STATS_PART_LIFETIME	0x04u	/* lifetime (the classifier) */
#define STATS_PART_ZONE		0x08u	/* buddyinfo, pagetypeinfo,
					 * zoneinfo: stats.zone in JSON */
#define STATS_PART_SLAB		0x10u	/* slabinfo */
#define STATS_PART_CPU		0x20u	/* percpu */

/* The executable this process runs (readlink of /proc/self/exe; "?"). */
const char *self_exe(char *buf, size_t size);

/* The symbol that holds a site (dladdr), or the file and the offset in
 * it for a static function; "?" and 0 if unknown. */
struct site_symbol {
	const char *name;
	size_t offset;
};
void site_symbol(const void *site, struct site_symbol *sym);

/* The classifier's state as one snapshot, for the text report and the
 * JSON one (stats.c): its counters, up to max of its sites into sites, the
 * pageblock re-typing events and the pageblocks holding mostly the other
 * lifetime now. */
struct classifier_snapshot {
	struct lifetime_stats st;
	unsigned int nr_sites;
	unsigned long retyped_majority, retyped_pinned;
	unsigned long wrong_type_pageblocks;
};

void classifier_snapshot_read(struct classifier_snapshot *snap,
			      struct lifetime_site *sites, unsigned int max);

/* -------------------------------------------------------------- ctl.c */

/* The mallctl tree (or the parts asked for) as one JSON object and a
 * newline: every leaf's path is its mallctl name. */
void ctl_json_show(struct seq_buf *s, unsigned int parts);

#endif /* BUDDY_PRELOAD_H */
