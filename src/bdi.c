/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdi.c - tuning the mount's bdi (see bdi.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bdi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Writes value into the bdi attribute name of device dev. */
static void bdi_write(dev_t dev, const char *name, unsigned value)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/%s", major(dev),
		 minor(dev), name);
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%u\n", value) < 0 || fclose(f) != 0) {
		g_message("bdi: cannot set %s to %u: %s", path, value,
			  g_strerror(errno));
		if (f)
			fclose(f);
		return;
	}
	g_debug("bdi: %s = %u", path, value);
}

/* Undoes mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
	char *out = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' &&
		    p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 +
					(p[3] - '0'));
			p += 3;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
}

/* The device of the FUSE mount listed last on mountpoint (the one on top)
 * into *dev; false when there is none. */
static bool mount_device(const char *mountpoint, dev_t *dev)
{
	char *text = NULL;
	if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
		return false;
	bool found = false;
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		/* ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS ... - TYPE */
		char **f = g_strsplit(*l, " ", 6);
		unsigned maj, min;
		const char *type = strstr(*l, " - ");
		if (g_strv_length(f) >= 5 && type &&
		    strncmp(type + 3, "fuse", 4) == 0 &&
		    sscanf(f[2], "%u:%u", &maj, &min) == 2) {
			unescape(f[4]);
			if (strcmp(f[4], mountpoint) == 0) {
				*dev = makedev(maj, min);
				found = true;
			}
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(text);
	return found;
}

void rfs_bdi_tune(struct rfs_ctx *ctx, const char *mountpoint)
{
	if (!ctx->opts.readahead_kb && !ctx->opts.dirty_ratio)
		return;
	if (geteuid() != 0) {
		g_debug(
		    "bdi: not root: the kernel's readahead and dirty limits "
		    "stay");
		return;
	}
	dev_t dev;
	if (!mount_device(mountpoint, &dev)) {
		g_message("bdi: %s is not in /proc/self/mountinfo", mountpoint);
		return;
	}
	if (ctx->opts.readahead_kb)
		bdi_write(dev, "read_ahead_kb", ctx->opts.readahead_kb);
	if (ctx->opts.dirty_ratio) {
		bdi_write(dev, "strict_limit", 0);
		bdi_write(dev, "max_ratio", ctx->opts.dirty_ratio);
	}
}
