/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mountinfo.c - reading /proc/self/mountinfo (see mountinfo.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "mountinfo.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

/* One line of the table. */
struct mount_line {
	int id;
	unsigned major, minor;
	char *mountpoint; /* unescaped */
	const char *fstype, *super_opts;
};

/* Calls fn on each line of the table until it returns true; returns
 * whether one did. */
static bool each_mount(bool (*fn)(const struct mount_line *ml, void *data),
		       void *data)
{
	char *text = NULL;
	if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
		return false;
	bool done = false;
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && !done; l++) {
		/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [TAGS] -
		 * TYPE SOURCE SUPER_OPTIONS */
		char **f = g_strsplit(*l, " ", 6);
		char *dash = strstr(*l, " - ");
		struct mount_line ml = {0};
		if (g_strv_length(f) >= 5 && dash &&
		    sscanf(f[0], "%d", &ml.id) == 1 &&
		    sscanf(f[2], "%u:%u", &ml.major, &ml.minor) == 2) {
			char **tail = g_strsplit(dash + 3, " ", 3);
			if (g_strv_length(tail) == 3) {
				ml.mountpoint = g_strcompress(f[4]);
				ml.fstype = tail[0];
				ml.super_opts = tail[2];
				done = fn(&ml, data);
				g_free(ml.mountpoint);
			}
			g_strfreev(tail);
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(text);
	return done;
}

static bool is_fuse(const struct mount_line *ml)
{
	return strcmp(ml->fstype, "fuse") == 0 ||
	       strncmp(ml->fstype, "fuse.", 5) == 0;
}

static bool match_path(const struct mount_line *ml, void *data)
{
	return strcmp(ml->mountpoint, data) == 0;
}

bool rfs_mountinfo_is_mount_point(const char *path)
{
	return each_mount(match_path, (void *)path);
}

struct dev_query {
	const char *mountpoint;
	dev_t dev;
	bool found;
};

/* Keeps the last (topmost) FUSE mount on the path. */
static bool match_fuse_dev(const struct mount_line *ml, void *data)
{
	struct dev_query *q = data;
	if (is_fuse(ml) && strcmp(ml->mountpoint, q->mountpoint) == 0) {
		q->dev = makedev(ml->major, ml->minor);
		q->found = true;
	}
	return false;
}

bool rfs_mountinfo_fuse_device(const char *mountpoint, dev_t *dev)
{
	struct dev_query q = {mountpoint, 0, false};
	each_mount(match_fuse_dev, &q);
	if (q.found)
		*dev = q.dev;
	return q.found;
}
