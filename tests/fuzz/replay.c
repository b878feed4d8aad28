/*
 * replay.c - main() for a fuzz target without libFuzzer: feeds it every
 * file of its seed corpus, as TAP (one test point per file), so that
 * "make check" runs the corpus with the normal compiler.
 *
 *	tests/fuzz/replay_NAME              every file of tests/fuzz/corpus/NAME,
 *	                                    found from $top_srcdir (the test
 *	                                    harness sets it) or ".";
 *	tests/fuzz/replay_NAME FILE|DIR...  those files instead (a crash-*
 *	                                    file from libFuzzer, say).
 *
 * Each file runs in a child process, so an input that breaks an invariant
 * (the target aborts) fails its own test point and the others still run;
 * a last point runs every file in one process, in order, as libFuzzer
 * would, so state carried from one input to the next is replayed too.
 * LLVMFuzzerInitialize, when the target has one, runs first in each.
 * The TAP lines are written here (the number of points is known only at
 * run time), flushed before every fork.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET: the target's corpus name"
#endif

#define MAX_FILES	512
#define REPLAY_MAX_INPUT	(1 << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static char *files[MAX_FILES];
static size_t nr_files;
static int fuzz_argc;
static char **fuzz_argv;

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_file(const char *path)
{
	if (nr_files < MAX_FILES)
		files[nr_files++] = strdup(path);
}

/* A directory's regular files, sorted, or path itself. */
static void add_path(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	size_t first = nr_files;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) != NULL) {
		char full[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			add_file(full);
	}
	closedir(dir);
	qsort(files + first, nr_files - first, sizeof(files[0]), cmp_names);
}

/* Read a file whole into buf; its length, or -1. */
static long read_input(const char *path, uint8_t *buf, size_t max)
{
	int fd = open(path, O_RDONLY);
	size_t len = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, max - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == max)
			break;
	}
	close(fd);
	return (long)len;
}

/* Run the target on files [first, last) in a child; true if it ended
 * normally, else why not in why. */
static bool run_child(size_t first, size_t last, char *why, size_t len)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		static uint8_t buf[REPLAY_MAX_INPUT];

		if (LLVMFuzzerInitialize)
			LLVMFuzzerInitialize(&fuzz_argc, &fuzz_argv);
		for (size_t i = first; i < last; i++) {
			long n = read_input(files[i], buf, sizeof(buf));
			uint8_t *copy;

			if (n < 0) {
				fprintf(stderr, "replay: %s: %s\n", files[i],
					strerror(errno));
				_exit(2);
			}
			/* A copy of exactly n bytes, as libFuzzer passes
			 * it: reading past the end is the target's bug. */
			copy = malloc(n ? (size_t)n : 1);
			memcpy(copy, buf, (size_t)n);
			LLVMFuzzerTestOneInput(copy, (size_t)n);
			free(copy);
		}
		fflush(NULL);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFSIGNALED(status))
		snprintf(why, len, "killed by signal %d: the input broke an "
			 "invariant (stderr says which)", WTERMSIG(status));
	else
		snprintf(why, len, "exit status %d", WEXITSTATUS(status));
	return false;
}

/* One TAP test point. */
static bool point(unsigned int n, size_t first, size_t last, const char *name)
{
	char why[256] = "";
	bool ok = run_child(first, last, why, sizeof(why));

	printf("%s %u - %s\n", ok ? "ok" : "not ok", n, name);
	if (!ok)
		printf("# %s\n", why);
	fflush(stdout);
	return ok;
}

int main(int argc, char **argv)
{
	char name[64];
	bool ok = true;

	fuzz_argc = argc;
	fuzz_argv = argv;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			add_path(argv[i]);
	} else {
		const char *top = getenv("top_srcdir");
		char dir[4096];

		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
			 top ? top : ".", FUZZ_TARGET);
		add_path(dir);
	}
	if (nr_files == 0) {
		printf("1..0 # SKIP no corpus files\n");
		return 0;
	}
	/* One test point per file, then one for the whole sequence. */
	printf("1..%zu\n", nr_files + 1);
	for (size_t i = 0; i < nr_files; i++)
		ok &= point((unsigned int)i + 1, i, i + 1, files[i]);
	snprintf(name, sizeof(name), "all %zu inputs in one process", nr_files);
	ok &= point((unsigned int)nr_files + 1, 0, nr_files, name);
	return ok ? 0 : 1;
}
