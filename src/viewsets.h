/* SPDX-License-Identifier: GPL-2.0-or-later */
/* viewsets.h - a large transaction's changes to the view sets, made off
 * the lock.
 *
 * The view sets are the context's views, each directory's virtuals (name
 * -> view) and each backing file's viewers.  Putting tens of thousands of
 * created views into them, or taking removed ones out, one by one under
 * state_lock would stall every request for as long.  Instead the sets a
 * transaction changes are copied and
 * changed; the copies take the sets' places in one short hold of the lock
 * for writing, so that readers see all of the change or none.  The copies
 * are made holding ctx->viewsets_lock, which every change to the sets
 * takes, and not state_lock: readers and other writers go on meanwhile.
 * If a set changed between the two all the same (every change bumps
 * ctx->viewsets_gen), the copies are dropped and the caller changes the
 * sets one by one. */
#pragma once
#include "remapfs.h"
#include <glib.h>
#include <stdbool.h>

struct rfs_viewsets;

/* Changes below this many views are cheaper made in place. */
#define RFS_VIEWSETS_MIN 2048

/* Copies the sets that unlisting the views of removed (live views) and
 * publishing those of created (a set of new virtual views, parent and
 * name set) change, with the changes made.  viewsets_lock held (or
 * state_lock).
 * Returns NULL, with *clash set to the name at fault, when a removed view
 * is gone already or a created view's name is taken. */
struct rfs_viewsets *rfs_viewsets_build(struct rfs_ctx *ctx, GPtrArray *removed,
					GHashTable *created,
					const char **clash);
/* state_lock held for writing.  When no view set changed since the build,
 * puts the copies in the sets' places and returns true (the caller marks
 * the removed views removed); else changes nothing and returns false. */
bool rfs_viewsets_swap(struct rfs_ctx *ctx, struct rfs_viewsets *s);
/* Frees s and the sets it replaced, or its unused copies.  No lock. */
void rfs_viewsets_free(struct rfs_viewsets *s);
