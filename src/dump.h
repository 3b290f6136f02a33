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
