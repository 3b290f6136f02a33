/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal.c - the -o state file on disk (see journal.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "journal.h"
#include "privfd.h"
#include "durable.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Records appended before a snapshot is due: at least this many bytes,
 * and more than the snapshot itself. */
#define RFS_JOURNAL_MIN_GROWTH (1u << 20)

struct rfs_journal {
	char *path;
	uint64_t pagesize;
	int fd;		     /* the file, open for appending; -1 before */
	off_t size;	     /* bytes in it, all synced */
	off_t snapshot_size; /* of which the header and snapshot */
	uint64_t *privfds;   /* where fd is marked (privfd.h), or NULL */
};

struct rfs_journal *rfs_journal_new(const char *path, uint64_t pagesize,
				    uint64_t *privfds)
{
	struct rfs_journal *j = g_new0(struct rfs_journal, 1);
	j->path = g_strdup(path);
	j->pagesize = pagesize;
	j->fd = -1;
	j->privfds = privfds;
	return j;
}

/* Closes the descriptor, unmarked first (privfd.h). */
static void journal_close(struct rfs_journal *j)
{
	if (j->fd < 0)
		return;
	rfs_privfd_unmark(j->privfds, j->fd);
	close(j->fd);
	j->fd = -1;
}

void rfs_journal_free(struct rfs_journal *j)
{
	if (!j)
		return;
	journal_close(j);
	g_free(j->path);
	g_free(j);
}

const char *rfs_journal_path(const struct rfs_journal *j)
{
	return j->path;
}

int rfs_journal_snapshot(struct rfs_journal *j, const char *dump, size_t len)
{
	GString *file = g_string_sized_new(len + 128);
	rfs_state_header(file, j->pagesize);
	rfs_state_record(file, 'S', dump, len);
	int err = rfs_write_file_durably(j->path, file->str, file->len, 0600);
	if (!err) {
		int fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
		} else {
			journal_close(j);
			j->fd = fd;
			rfs_privfd_mark(j->privfds, fd);
			j->size = j->snapshot_size = (off_t)file->len;
		}
	}
	g_string_free(file, TRUE);
	return err;
}

int rfs_journal_append(struct rfs_journal *j, const char *records, size_t len)
{
	if (j->fd < 0)
		return EBADF;
	size_t done = 0;
	int err = 0;
	while (done < len) {
		ssize_t n = write(j->fd, records + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			break;
		}
		done += (size_t)n;
	}
	if (!err && fdatasync(j->fd) < 0)
		err = errno;
	if (err) {
		/* Cut a partial record off, so that later appends follow
		 * whole records (a reader would drop it as torn anyway). */
		if (ftruncate(j->fd, j->size) < 0)
			g_warning("state: %s: cannot cut back a failed append: "
				  "%s",
				  j->path, g_strerror(errno));
		return err;
	}
	j->size += (off_t)len;
	return 0;
}

bool rfs_journal_wants_snapshot(const struct rfs_journal *j)
{
	off_t grown = j->size - j->snapshot_size;
	return grown > (off_t)RFS_JOURNAL_MIN_GROWTH &&
	       grown > j->snapshot_size;
}

int rfs_journal_read(const char *path, uint64_t pagesize, char **text,
		     GArray *records, GString *msg, GString *note)
{
	gsize len = 0;
	GError *error = NULL;
	*text = NULL;
	if (!g_file_get_contents(path, text, &len, &error)) {
		int err =
		    g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
			? ENOENT
			: EIO;
		g_string_printf(msg, "%s", error->message);
		g_error_free(error);
		return err;
	}
	uint64_t ps = 0;
	int64_t torn = -1;
	GString *why = g_string_new(NULL);
	int err = rfs_state_parse(*text, len, &ps, records, &torn, why);
	if (err) {
		g_string_printf(msg, "%s: %s (refused: nothing loaded)", path,
				why->str);
	} else if (ps != pagesize) {
		err = EINVAL;
		g_array_set_size(records, 0);
		g_string_printf(msg,
				"%s was saved by a mount with pagesize=%" PRIu64
				"; this mount's is %" PRIu64
				" (mount with -o pagesize=%" PRIu64 ")",
				path, ps, pagesize, ps);
	} else if (torn >= 0) {
		g_string_printf(note,
				"%s: a transaction record cut short at byte "
				"%" PRId64 " (never acknowledged) is dropped",
				path, torn);
	}
	g_string_free(why, TRUE);
	if (err) {
		g_free(*text);
		*text = NULL;
	}
	return err;
}
