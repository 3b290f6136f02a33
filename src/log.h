/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h - where the daemon's messages (GLib's g_message and friends, and
 * libfuse's own) go, in one format: "remapfs[PID]: MOUNTPOINT: message".
 *
 * In the foreground they go to stderr; once the daemon is in the
 * background, to syslog (journald reads it there), or to -o log=FILE
 * (appended, with the time) where there is no syslog.  -o loglevel= drops
 * what is less severe: error, warning, info (the default) or debug.
 * Messages are written as they are, bytes included (GLib's default writer
 * turns what the locale cannot show into '?'). */
#pragma once
#include <stdbool.h>

/* The levels of -o loglevel=, most severe first. */
enum rfs_loglevel {
	RFS_LOG_ERROR,
	RFS_LOG_WARNING,
	RFS_LOG_INFO,
	RFS_LOG_DEBUG
};

/* Parses a -o loglevel= value; returns false when it is none of them. */
bool rfs_loglevel_parse(const char *s, enum rfs_loglevel *out);

/* Where messages go.  Set up before any other thread runs, changed only
 * by rfs_log_background (before the daemon's threads start): the writers
 * only read it. */
struct rfs_log {
	char *mountpoint;
	enum rfs_loglevel level;
	int file_fd; /* -o log=FILE, or -1 */
	bool background;
};

/* Starts logging for the mount on mountpoint: to stderr until
 * rfs_log_background, at level and above.  file (may be NULL) is
 * -o log=FILE; returns 0 or the errno of opening it. */
int rfs_log_start(struct rfs_log *log, const char *mountpoint,
		  enum rfs_loglevel level, const char *file);
/* The daemon went to the background: messages go to the file, or else to
 * syslog.  Returns false when neither can take them (no -o log and no
 * /dev/log), so that the caller can say so while stderr still shows. */
bool rfs_log_background(struct rfs_log *log);
/* Closes the file and frees log's fields (at exit; nothing when it was
 * never started).  The writers stay installed: later messages go to
 * stderr. */
void rfs_log_stop(struct rfs_log *log);
