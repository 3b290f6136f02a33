/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tview.h - what a view path named in a transaction names now: a virtual
 * view, a regular file of SOURCE (a mirrored view), something else, or
 * nothing; and what the transaction's commands checked so far have made
 * of it (sim_*).  Resolution walks SOURCE component by component from
 * the root's descriptor, never following a symlink. */
#pragma once
#include "remapfs.h"
#include <stdbool.h>
#include <stdint.h>

enum tv_kind { TV_NONE, TV_VIEW, TV_OTHER, TV_CONTROL, TV_NODIR };

/* What a view path named in a transaction resolved to, and (sim_*) what
 * the commands checked so far have made of it. */
struct tview {
	char *path;
	const char *name;      /* last component, inside path */
	enum tv_kind kind;     /* at resolution */
	int dir_err;	       /* TV_NODIR: why the parent was not found */
	struct rfs_node *dir;  /* parent directory (ref), or NULL */
	struct rfs_node *node; /* the view's node (ref), TV_VIEW */
	bool is_virtual;
	uint64_t pages;
	enum tv_kind sim_kind;
	bool sim_virtual;
	uint64_t sim_pages;
	struct rfs_view *cur; /* apply: the view the path names now */
};

/* Walks the directories of a normalized path (all components but the
 * last) from the root.  Returns 0 with *dir (a daemon ref) and *last (the
 * last component, inside path), or an errno. */
int rfs_walk_parent(struct rfs_ctx *ctx, const char *path,
		    struct rfs_node **dir, const char **last);
/* Resolves a normalized view path to what it names now (a new tview,
 * whose sim_* start as what it names). */
struct tview *rfs_tview_resolve(struct rfs_ctx *ctx, const char *path);
/* Frees a tview and drops its references. */
void rfs_tview_free(struct rfs_ctx *ctx, struct tview *tv);
