/* SPDX-License-Identifier: GPL-2.0-or-later */
/* durable.h - writing files so that they survive a crash: data synced, a
 * new file renamed over the old one, the directory synced. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Replaces path with len bytes of data: written to a new file of the
 * given mode beside it, synced, renamed over path, and the directory
 * synced.  Returns 0 or a positive errno (path is then as before). */
int rfs_write_file_durably(const char *path, const char *data, size_t len,
			   mode_t mode);

/* Removes the new files (PATH.new.PID) that writers of path which no
 * longer run left beside it (killed before their rename).  Returns how
 * many. */
unsigned rfs_durable_remove_leftovers(const char *path);
