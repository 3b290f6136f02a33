/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c - the daemon's messages (see log.h).  Each message is one
 * write(2), so lines from threads never mix. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_log.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

bool rfs_loglevel_parse(const char *s, enum rfs_loglevel *out)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};
	for (unsigned i = 0; i < G_N_ELEMENTS(names); i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum rfs_loglevel)i;
			return true;
		}
	return false;
}

/* Writes one message of level to where messages go now. */
static void emit(const struct rfs_log *logger, enum rfs_loglevel level,
		 const char *msg, size_t len)
{
	if (level > logger->level)
		return;
	while (len && msg[len - 1] == '\n')
		len--;
	if (logger->background && logger->file_fd < 0) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
					   LOG_DEBUG};
		syslog(prio[level], "%s: %.*s",
		       logger->mountpoint ? logger->mountpoint : "", (int)len,
		       msg);
		return;
	}
	GString *line = g_string_sized_new(len + 128);
	if (logger->file_fd >= 0) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S ",
			 localtime_r(&now, &tm));
		g_string_append(line, stamp);
	}
	g_string_append_printf(line, "remapfs[%ld]: %s: ", (long)getpid(),
			       logger->mountpoint ? logger->mountpoint : "");
	g_string_append_len(line, msg, (gssize)len);
	g_string_append_c(line, '\n');
	int fd = logger->file_fd >= 0 ? logger->file_fd : STDERR_FILENO;
	ssize_t n = write(fd, line->str, line->len);
	(void)n; /* nowhere left to say it failed */
	g_string_free(line, TRUE);
}

/* GLib's writer: every g_message, g_warning, ... */
static GLogWriterOutput glib_writer(GLogLevelFlags flags,
				    const GLogField *fields, gsize n_fields,
				    gpointer data)
{
	const struct rfs_log *logger = data;
	const char *msg = NULL;
	gssize len = -1;
	for (gsize i = 0; i < n_fields; i++)
		if (strcmp(fields[i].key, "MESSAGE") == 0) {
			msg = fields[i].value;
			len = fields[i].length;
		}
	if (!msg)
		return G_LOG_WRITER_UNHANDLED;
	enum rfs_loglevel level =
	    (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? RFS_LOG_ERROR
	    : (flags & G_LOG_LEVEL_WARNING) ? RFS_LOG_WARNING
	    : (flags & G_LOG_LEVEL_DEBUG)   ? RFS_LOG_DEBUG
					    : RFS_LOG_INFO;
	emit(logger, level, msg, len < 0 ? strlen(msg) : (size_t)len);
	return G_LOG_WRITER_HANDLED;
}

/* libfuse's messages, handed to GLib's writer (libfuse keeps no data for
 * its log function). */
static void fuse_writer(enum fuse_log_level flevel, const char *fmt, va_list ap)
{
	GLogLevelFlags level = flevel <= FUSE_LOG_ERR ? G_LOG_LEVEL_CRITICAL
			       : flevel <= FUSE_LOG_WARNING
				   ? G_LOG_LEVEL_WARNING
			       : flevel <= FUSE_LOG_INFO ? G_LOG_LEVEL_MESSAGE
							 : G_LOG_LEVEL_DEBUG;
	char *msg = g_strdup_vprintf(fmt, ap);
	g_log_structured(G_LOG_DOMAIN, level, "MESSAGE", "%s", msg);
	g_free(msg);
}

int rfs_log_start(struct rfs_log *logger, const char *mountpoint,
		  enum rfs_loglevel level, const char *file)
{
	logger->file_fd = -1;
	logger->background = false;
	logger->mountpoint = g_strdup(mountpoint);
	logger->level = level;
	if (file) {
		logger->file_fd =
		    open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (logger->file_fd < 0)
			return errno;
	}
	g_log_set_writer_func(glib_writer, logger, NULL);
	fuse_set_log_func(fuse_writer);
	return 0;
}

bool rfs_log_background(struct rfs_log *logger)
{
	logger->background = true;
	if (logger->file_fd >= 0)
		return true;
	openlog("remapfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return access("/dev/log", W_OK) == 0;
}

void rfs_log_stop(struct rfs_log *logger)
{
	if (!logger->mountpoint)
		return; /* never started */
	if (logger->file_fd >= 0)
		close(logger->file_fd);
	logger->file_fd = -1;
	g_free(logger->mountpoint);
	logger->mountpoint = NULL;
}
