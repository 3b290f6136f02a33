/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dump.h - the mount's state as .control commands: what reading .control
 * gives, what -o state saves, and what a fresh mount applies to get the
 * same state back. */
#pragma once
#include "remapfs.h"
#include <glib.h>

/* The whole state: a "# remapfs state: pagesize N" line, the create lines
 * of virtual views, then the remap lines of every view, sorted by path. */
GString *rfs_dump_state(struct rfs_ctx *ctx);

/* -o restart: a virtual view removed while the kernel holds it (an
 * orphan) is kept for the next worker as a comment block the state's
 * parser skips: "#orphan ID" and then its create and remap lines, each
 * behind "#~", naming the view RFS_ORPHAN_NAME (restore.c reads it). */
#define RFS_ORPHAN_TAG "#orphan "
#define RFS_ORPHAN_LINE "#~"
#define RFS_ORPHAN_NAME ".orphan"
/* Appends view's orphan block; state_lock held. */
void rfs_dump_orphan(GString *out, const struct rfs_view *view);
/* What the journal saves: rfs_dump_state, then with -o restart the orphan
 * blocks of every orphan. */
GString *rfs_dump_journal(struct rfs_ctx *ctx);
