/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mountinfo.c - reading /proc/self/mountinfo (see mountinfo.h), with the
 * line parser libremapfs uses (lib/procparse.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "mountinfo.h"
#include "lib/procparse.h"

#include <glib.h>
#include <string.h>
#include <sys/sysmacros.h>

/* Calls fn on each line of the table until it returns true; returns
 * whether one did. */
static bool each_mount(bool (*fn)(const struct rfsl_mountinfo *mi, void *data),
		       void *data)
{
	char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents("/proc/self/mountinfo", &text, &len, NULL))
		return false;
	bool done = false;
	for (const char *p = text, *end = text + len; p < end && !done;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		struct rfsl_mountinfo mi;
		if (rfsl_parse_mountinfo_line(p, n, &mi) == 0) {
			done = fn(&mi, data);
			rfsl_mountinfo_clear(&mi);
		}
		p += n + 1;
	}
	g_free(text);
	return done;
}

static bool match_path(const struct rfsl_mountinfo *mi, void *data)
{
	return strcmp(mi->mountpoint, data) == 0;
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
static bool match_fuse_dev(const struct rfsl_mountinfo *mi, void *data)
{
	struct dev_query *q = data;
	if (rfsl_fstype_is_fuse(mi->fstype) &&
	    strcmp(mi->mountpoint, q->mountpoint) == 0) {
		q->dev = makedev(mi->major, mi->minor);
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
