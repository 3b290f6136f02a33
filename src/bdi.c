/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdi.c - tuning the mount's bdi (see bdi.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bdi.h"
#include "mountinfo.h"

#include <errno.h>
#include <stdio.h>
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
	if (!rfs_mountinfo_fuse_device(mountpoint, &dev)) {
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
