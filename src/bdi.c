/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdi.c - tuning the mount's bdi (see bdi.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bdi.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct tune {
	char *mountpoint;
	unsigned readahead_kb; /* 0: leave */
	unsigned dirty_ratio;  /* 0: leave */
};

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

/* The tuning thread: finds the mount's device, then writes. */
static gpointer tune_thread(gpointer data)
{
	struct tune *t = data;
	struct stat st;
	if (stat(t->mountpoint, &st) < 0) {
		g_message("bdi: %s: %s", t->mountpoint, g_strerror(errno));
	} else {
		if (t->readahead_kb)
			bdi_write(st.st_dev, "read_ahead_kb", t->readahead_kb);
		if (t->dirty_ratio) {
			bdi_write(st.st_dev, "strict_limit", 0);
			bdi_write(st.st_dev, "max_ratio", t->dirty_ratio);
		}
	}
	g_free(t->mountpoint);
	g_free(t);
	return NULL;
}

void rfs_bdi_tune_async(struct rfs_ctx *ctx, const char *mountpoint)
{
	if (!ctx->opts.readahead_kb && !ctx->opts.dirty_ratio)
		return;
	struct tune *t = g_new0(struct tune, 1);
	t->mountpoint = g_strdup(mountpoint);
	t->readahead_kb = ctx->opts.readahead_kb;
	t->dirty_ratio = ctx->opts.dirty_ratio;
	g_thread_unref(g_thread_new("remapfs-bdi", tune_thread, t));
}
