/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watch.h - -o watch: notices programs that change SOURCE's files
 * directly (not through the mount) and invalidates every view of them.
 *
 * fanotify is used where the daemon may (CAP_SYS_ADMIN): it tells the
 * daemon's own writes apart, so only outside changes invalidate.  Else
 * inotify, which cannot: then every change, the daemon's own writes
 * included, invalidates the file's views. */
#pragma once
#include "remapfs.h"

struct rfs_watch;

/* Starts watching; returns NULL with a message in *err when neither
 * fanotify nor inotify can be had. */
struct rfs_watch *rfs_watch_start(struct rfs_ctx *ctx, char **err);
/* Stops the watching thread and frees everything. */
void rfs_watch_stop(struct rfs_watch *w);
/* Watches the SOURCE file of node (idempotent). */
void rfs_watch_add(struct rfs_ctx *ctx, struct rfs_node *node);
