/*
 * runproc.c - run one program under a chosen allocator and measure it.
 *
 *   runproc [-p PRELOAD] [-i STDIN] [-o STDOUT] [-e STDERR] [-t SECONDS]
 *           [-r RESULT] -- PROGRAM [ARGS...]
 *
 * Forks, sets LD_PRELOAD=PRELOAD in the child only (so runproc itself is not
 * measured), redirects the standard streams (stdin defaults to /dev/null:
 * the child is in its own process group and must not read the terminal),
 * execs PROGRAM, and waits with
 * wait4().  Prints one JSON object (to RESULT, or stdout):
 *
 *   {"exit": 0, "signal": 0, "timed_out": false, "wall_s": 1.23,
 *    "user_s": 1.10, "sys_s": 0.08, "maxrss_kib": 51234}
 *
 * wait4() reports the child's usage including every descendant it waited for,
 * and ru_maxrss is then the largest of them: for gcc that is cc1, which does
 * the work.  The child runs in its own process group; on timeout, SIGINT or
 * SIGTERM the whole group is killed, so no helper (cc1, as) outlives us.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* setenv, wait4; configure sets it too */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t timed_out;

static void usage(void)
{
	fprintf(stderr, "usage: runproc [-p PRELOAD] [-i STDIN] [-o STDOUT] [-e STDERR]"
			" [-t SECONDS] [-r RESULT] -- PROGRAM [ARGS...]\n");
	exit(2);
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	if (child_pid > 0)
		kill(-child_pid, SIGKILL);
}

/* Runner interrupted: take the child's group down with us. */
static void on_terminate(int sig)
{
	if (child_pid > 0)
		kill(-child_pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* In the child: point fd at path, or leave it alone when path is NULL. */
static void redirect(int fd, const char *path, int flags)
{
	int f;

	if (path == NULL)
		return;
	f = open(path, flags, 0644);
	if (f < 0) {
		fprintf(stderr, "runproc: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	dup2(f, fd);
	close(f);
}

static double seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *preload = NULL, *in = "/dev/null", *out = NULL, *err = NULL, *result = NULL;
	unsigned timeout = 0;
	struct timespec t0, t1;
	struct rusage ru;
	int opt, status;
	pid_t pid;
	FILE *res;

	while ((opt = getopt(argc, argv, "+p:i:o:e:t:r:")) != -1) {
		switch (opt) {
		case 'p': preload = optarg; break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'e': err = optarg; break;
		case 't': timeout = (unsigned)atoi(optarg); break;
		case 'r': result = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc)
		usage();

	signal(SIGALRM, on_alarm);
	signal(SIGINT, on_terminate);
	signal(SIGTERM, on_terminate);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("runproc: fork");
		return 2;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if (preload != NULL && *preload != '\0')
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		redirect(STDIN_FILENO, in, O_RDONLY);
		redirect(STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC);
		redirect(STDERR_FILENO, err, O_WRONLY | O_CREAT | O_TRUNC);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "runproc: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	/* Also set here: the signal handlers may run before the child does. */
	setpgid(pid, pid);
	child_pid = pid;
	if (timeout > 0)
		alarm(timeout);

	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("runproc: wait4");
			return 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	child_pid = 0;

	res = result != NULL ? fopen(result, "w") : stdout;
	if (res == NULL) {
		perror("runproc: result file");
		return 2;
	}
	fprintf(res,
		"{\"exit\": %d, \"signal\": %d, \"timed_out\": %s, \"wall_s\": %.4f, "
		"\"user_s\": %.4f, \"sys_s\": %.4f, \"maxrss_kib\": %ld}\n",
		WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		timed_out ? "true" : "false",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		seconds(ru.ru_utime), seconds(ru.ru_stime), ru.ru_maxrss);
	if (res != stdout)
		fclose(res);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
