/*
 * probe.c - libbenchprobe.so: record which library serves malloc.
 *
 * The runner preloads it *before* the allocator under test
 * (LD_PRELOAD="libbenchprobe.so allocator.so").  When BENCH_PROBE_OUT names
 * a file, each process that starts appends one line to it:
 *
 *   <pid> <argv[0]> <library providing malloc>
 *
 * (argv[0] rather than /proc/self/exe: redis-server is a symlink to
 * redis-check-rdb, and the name the program was started as is the one a
 * reader recognises.)
 *
 * That is the proof a result row needs: the allocator was not merely loaded
 * but is the one the program's malloc calls bind to, in the program itself
 * and in every child it starts (gcc's cc1 and as, for instance).
 *
 * Why RTLD_NEXT and not RTLD_DEFAULT: a non-PIE executable that takes
 * malloc's address (Debian's python3 does) gets a "canonical PLT entry", and
 * RTLD_DEFAULT then answers with that stub inside the executable.  From the
 * first preloaded object, RTLD_NEXT searches the rest of the global scope in
 * the order the program's own calls bind: the preloads, then the libraries
 * the executable needs, glibc last.  (It would miss an executable that
 * defines malloc itself; none of the benchmark programs does.)
 *
 * Costs one dlsym per process and allocates nothing itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, RTLD_NEXT; also set by configure */
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void probe_malloc_provider(void)
{
	const char *out = getenv("BENCH_PROBE_OUT");
	char argv0[512], line[1200];
	void *m;
	Dl_info info;
	ssize_t n;
	int fd, len;

	if (out == NULL || *out == '\0')
		return;
	m = dlsym(RTLD_NEXT, "malloc");
	if (m == NULL || dladdr(m, &info) == 0 || info.dli_fname == NULL)
		info.dli_fname = "?";
	/* argv[0] is the first NUL-terminated string of /proc/self/cmdline. */
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, argv0, sizeof(argv0) - 1) : -1;
	if (fd >= 0)
		close(fd);
	argv0[n > 0 ? n : 0] = '\0';
	for (char *c = argv0; *c != '\0'; c++)
		if (*c == ' ')
			*c = '_'; /* one field per column in the output line */
	len = snprintf(line, sizeof(line), "%d %s %s\n", (int)getpid(),
		       argv0[0] != '\0' ? argv0 : "?", info.dli_fname);
	if (len <= 0 || (size_t)len >= sizeof(line))
		return;
	fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* One write with O_APPEND: lines from parallel children do not mix. */
	if (write(fd, line, (size_t)len) < 0) {
		/* Nothing to do: a missing line is reported by the runner. */
	}
	close(fd);
}
