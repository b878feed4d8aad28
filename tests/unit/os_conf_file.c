/*
 * os_conf_file.c - os_read_conf_file (core/os.c), how the settings file is
 * read: the text whole and NUL-terminated, -ENOENT for a missing file,
 * -EFBIG for one that does not fit (nothing partial), open's or read's
 * error otherwise (a directory), errno kept; and with owner_root (a
 * set-user-ID program) only a regular file owned by root and writable by
 * root alone. The root-owned cases need root (skipped otherwise).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit_util.h"

static char dir[] = "/tmp/os_conf_file.XXXXXX";
static char path[128];

static void write_file(const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_d_ge(fd, 0, "create %s", path);
	assert_zd_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	assert_d_eq(chmod(path, mode), 0);
}

TEST_BEGIN(test_reads_whole_text)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	write_file("limit:1g\n# c\n", 13, 0644);
	errno = 1234;
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), false), 13);
	expect_d_eq(errno, 1234, "errno kept");
	expect_str_eq(buf, "limit:1g\n# c\n");
}
TEST_END

TEST_BEGIN(test_missing_and_unreadable)
{
	char buf[64], missing[160];

	snprintf(missing, sizeof(missing), "%s/absent", dir);
	errno = 1234;
	expect_zd_eq(os_read_conf_file(missing, buf, sizeof(buf), false),
		     -ENOENT);
	expect_d_eq(errno, 1234, "errno kept");
	expect_zd_eq(os_read_conf_file(dir, buf, sizeof(buf), false), -EISDIR,
		     "a directory");
}
TEST_END

TEST_BEGIN(test_size_limit)
{
	char text[16], buf[16];

	memset(text, 'a', sizeof(text));
	write_file(text, sizeof(buf) - 1, 0644);
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), false),
		     (ssize_t)sizeof(buf) - 1, "size - 1 bytes fit");
	expect_zu_eq(strlen(buf), sizeof(buf) - 1);
	write_file(text, sizeof(buf), 0644);
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), false), -EFBIG,
		     "size bytes do not");
	expect_zd_eq(os_read_conf_file(path, buf, 0, false), -EFBIG,
		     "no room at all");
}
TEST_END

TEST_BEGIN(test_owner_root)
{
	char buf[64];

	write_file("bad_free:report\n", 16, 0644);
	if (geteuid() != 0)	/* our own file is not root's */
		expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), true),
			     -EPERM, "a file of user %d", (int)geteuid());
	test_skip_if(geteuid() != 0);
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), true), 16,
		     "root's, 0644");
	assert_d_eq(chmod(path, 0664), 0);
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), true), -EPERM,
		     "root's, writable by its group");
	assert_d_eq(chmod(path, 0646), 0);
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), true), -EPERM,
		     "root's, writable by others");
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), false), 16,
		     "the same without owner_root");
	assert_d_eq(chmod(path, 0644), 0);
	assert_d_eq(chown(path, 65534, 65534), 0);
	expect_zd_eq(os_read_conf_file(path, buf, sizeof(buf), true), -EPERM,
		     "another user's");
	expect_zd_eq(os_read_conf_file(dir, buf, sizeof(buf), true), -EPERM,
		     "root's directory: not a regular file");
}
TEST_END

int main(void)
{
	int ret;

	if (!mkdtemp(dir))
		return 99;
	snprintf(path, sizeof(path), "%s/buddymalloc.conf", dir);
	ret = test_run(test_reads_whole_text, test_missing_and_unreadable,
		       test_size_limit, test_owner_root, NULL);
	unlink(path);
	rmdir(dir);
	return ret;
}
