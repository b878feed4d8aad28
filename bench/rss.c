/*
 * rss.c - resident memory of this process, read from /proc/self.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rss.h"

/* Read a small /proc file into buf (NUL-terminated); returns length or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = 0;

	if (fd < 0)
		return -1;
	while ((size_t)len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - (size_t)len);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

size_t rss_current(void)
{
	char buf[256];
	char *p;

	if (read_small_file("/proc/self/statm", buf, sizeof(buf)) <= 0)
		return 0;
	/* "size resident shared ...", in pages */
	strtoul(buf, &p, 10);
	return strtoul(p, NULL, 10) * (size_t)sysconf(_SC_PAGESIZE);
}

size_t rss_peak(void)
{
	char buf[4096];
	char *p;

	if (read_small_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "VmHWM:");
	if (p == NULL)
		return 0;
	return strtoul(p + 6, NULL, 10) * 1024; /* kB */
}

int rss_reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}
