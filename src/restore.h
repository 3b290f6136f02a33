/* SPDX-License-Identifier: GPL-2.0-or-later */
/* restore.h - loading -o state at mount.
 *
 * Everything valid in the file is loaded; each entry that is not (a
 * backing file gone, a view whose file shrank under it, a line that does
 * not parse) is named on stderr and in the log, and kept in FILE.rejected
 * for the operator; the entries that depend on it (the remaps of a view
 * whose create was rejected) go with it.  Damage to the file itself
 * (state.h) refuses the whole file.  Then a fresh snapshot of what was
 * loaded replaces the file, which also proves it can be written. */
#pragma once
#include "journal.h"
#include "remapfs.h"

/* Loads ctx->opts.state_file (absolute) through the control thread
 * (ctx->ctl running) and returns the journal to append to, or NULL with
 * one line in msg (the mount must not happen). */
struct rfs_journal *rfs_restore_state(struct rfs_ctx *ctx, GString *msg);
