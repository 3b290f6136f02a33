/* SPDX-License-Identifier: GPL-2.0-or-later */
/* durable.c - crash-safe file replacement (see durable.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Syncs the directory holding path.  Returns 0 or a positive errno. */
static int sync_parent_dir(const char *path)
{
	char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = fd < 0 ? errno : (fsync(fd) < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	g_free(dir);
	return err == EINVAL ? 0 : err; /* some file systems cannot */
}

/* Writes all of data to fd; returns 0 or a positive errno. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int rfs_write_file_durably(const char *path, const char *data, size_t len,
			   mode_t mode)
{
	char *tmp = g_strdup_printf("%s.new.%ld", path, (long)getpid());
	int err = 0;
	int fd = open(
	    tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		err = errno;
		g_free(tmp);
		return err;
	}
	if (fchmod(fd, mode) < 0) /* an old leftover may have another mode */
		err = errno;
	if (!err)
		err = write_all(fd, data, len);
	if (!err && fsync(fd) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err)
		unlink(tmp);
	else
		err = sync_parent_dir(path);
	g_free(tmp);
	return err;
}

unsigned rfs_durable_remove_leftovers(const char *path)
{
	char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	char *prefix = g_strconcat(base, ".new.", NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	unsigned removed = 0;
	while (d && (name = g_dir_read_name(d))) {
		char *end;
		if (!g_str_has_prefix(name, prefix))
			continue;
		const char *num = name + strlen(prefix);
		long pid = strtol(num, &end, 10);
		if (!g_ascii_isdigit(*num) || *end || pid <= 0 ||
		    pid > INT_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* not one of ours, or its writer may run */
		char *file = g_build_filename(dir, name, NULL);
		if (unlink(file) == 0)
			removed++;
		g_free(file);
	}
	if (d)
		g_dir_close(d);
	g_free(prefix);
	g_free(base);
	g_free(dir);
	return removed;
}
