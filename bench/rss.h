/*
 * rss.h - resident memory of this process, read from /proc/self.
 *
 * The reads use open/read on a stack buffer, never stdio, so that measuring
 * memory does not itself call the allocator under test.
 */
#ifndef BENCH_RSS_H
#define BENCH_RSS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Resident set size now, in bytes (/proc/self/statm, second field). */
size_t rss_current(void);

/* Peak resident set size since start or since the last rss_reset_peak(),
 * in bytes (VmHWM in /proc/self/status). */
size_t rss_peak(void);

/* Reset the peak to the current RSS (writes "5" to /proc/self/clear_refs,
 * Linux 4.0+), so each workload reports its own peak rather than the
 * process's.  Returns 0 on success, -1 if the kernel refused. */
int rss_reset_peak(void);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_RSS_H */
