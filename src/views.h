/* SPDX-License-Identifier: GPL-2.0-or-later */
/* views.h - views over backing files, and the translation of view byte
 * ranges into backing byte ranges through a view's page map.
 *
 * Every regular file of SOURCE is a (mirrored) view of itself; virtual
 * views show a backing file under another name with their own size.  All
 * fields of a view are protected by the context's state_lock. */
#pragma once
#include "nodes.h"
#include "pagemap.h"
#include "segs.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct rfs_node;
struct rfs_ctx;

struct rfs_view {
	struct rfs_node *node;	  /* the node this view is (owns the view) */
	struct rfs_node *backing; /* backing file: node itself, or a ref */
	rfs_pagemap *map;	  /* vpage -> fpage (IDENTITY) */
	/* During a transaction: for pages whose mapping changed, the backing
	 * page their cached copy came from, so that writeback goes where its
	 * bytes were read (SPARSE).  Empty outside transactions. */
	rfs_pagemap *route;
	bool is_virtual;
	bool pinned;		 /* mirrored: holds a node ref while mapped */
	bool removed;		 /* virtual: removed from the namespace */
	uint64_t pages;		 /* virtual: size in pages */
	struct rfs_node *parent; /* directory holding the view's name (ref) */
	char *name;		 /* name in parent */
	char *backing_path;	 /* virtual: BACKING as given to create */
	uint64_t map_gen;	 /* bumped on every change of map */
	/* The reverse index: map's runs sorted by fpage, rebuilt lazily when
	 * rev_gen != map_gen; rev_maxcount is the longest run in it. */
	GArray *rev;
	uint64_t rev_gen;
	uint64_t rev_maxcount;
};

/* Adds virtual view v to its backing file's viewers, and takes it out
 * again, in O(1).  state_lock held for writing. */
void rfs_viewers_add(struct rfs_ctx *ctx, struct rfs_view *v);
void rfs_viewers_remove(struct rfs_ctx *ctx, struct rfs_view *v);
/* Takes virtual view v out of the namespace and the state (it lives on
 * while the kernel holds its node).  state_lock held for writing. */
void rfs_view_unlist(struct rfs_ctx *ctx, struct rfs_view *v);

/* A new view of node over backing (refs taken by the caller). */
struct rfs_view *rfs_view_new(struct rfs_node *node, struct rfs_node *backing,
			      bool is_virtual);
/* Frees a view (nodes' free_view callback). */
void rfs_view_free(struct rfs_view *view, void *ctx);

/* The size of a view in bytes, given the backing file's size. */
off_t rfs_view_size(const struct rfs_ctx *ctx, const struct rfs_view *view,
		    off_t backing_size);

/* Translates [off, off+size) of a view for a read: clips it to view_size,
 * appends pieces to segs (GArray of rfs_seg), pages past backing_size read
 * as zeros.  Uses the route overlay where it covers a page (a page being
 * remapped is read from where the kernel's copy will be written back).
 * Returns the number of bytes covered.  Call with state_lock held. */
size_t rfs_view_translate_read(const struct rfs_ctx *ctx,
			       const struct rfs_view *view, off_t off,
			       size_t size, off_t view_size, off_t backing_size,
			       GArray *segs);

/* Translates [off, off+size) of a view for a write: virtual views clip at
 * their end (returns fewer bytes), mirrored views extend.  Route overlay
 * first, then the map.  Returns the bytes covered.  state_lock held. */
size_t rfs_view_translate_write(const struct rfs_ctx *ctx,
				const struct rfs_view *view, off_t off,
				size_t size, GArray *segs);

/* During a transaction, reads of pages in the route overlay must record
 * that the kernel's new copy comes from the current map: sets route to map
 * over [off, off+size).  Call with state_lock held for writing. */
void rfs_view_route_refresh(const struct rfs_ctx *ctx, struct rfs_view *view,
			    off_t off, size_t size);
/* Whether the route overlay covers any page of [off, off+size). */
bool rfs_view_route_covers(const struct rfs_ctx *ctx,
			   const struct rfs_view *view, off_t off, size_t size);

/* Before changing the map over vpage..vpage+count-1: records in the route
 * overlay, for pages it does not cover yet, where they map now.  state_lock
 * held for writing. */
void rfs_view_route_pin(struct rfs_view *view, uint64_t vpage, uint64_t count);

/* Whether the map already gives vpage..vpage+count-1 -> fpage.. (identity
 * when identity is true). */
bool rfs_view_maps_to(const struct rfs_view *view, uint64_t vpage,
		      uint64_t fpage, uint64_t count, bool identity);

/* The view's path in the mount (parent chain + name), newly allocated. */
char *rfs_view_path(const struct rfs_view *view);
/* A directory node's path in the mount ("" for the root), newly allocated. */
char *rfs_dir_path(const struct rfs_node *dir);

/* Records that directory node dir is called name in parent (taking a ref on
 * parent, dropping the old one).  state_lock held for writing. */
void rfs_dir_set_parent(struct rfs_ctx *ctx, struct rfs_node *dir,
			struct rfs_node *parent, const char *name);
/* The same, taking state_lock itself: for reading to see whether dir is
 * known as name in parent already (a lookup, almost always), and for
 * writing only when it is not. */
void rfs_dir_note_parent(struct rfs_ctx *ctx, struct rfs_node *dir,
			 struct rfs_node *parent, const char *name);

/* Pins a mirrored view (a node ref and a place in ctx->views) while its
 * map is not the identity, and unpins it when it is again.  state_lock
 * held for writing. */
void rfs_view_update_pin(struct rfs_ctx *ctx, struct rfs_view *view);

/* The view of a regular-file node, created (identity) when missing.
 * state_lock held for writing. */
struct rfs_view *rfs_node_view(struct rfs_node *node);

/* The node whose file holds the bytes of view node n: a virtual view's
 * backing file (which never changes once the view is made), else n. */
static inline struct rfs_node *rfs_view_backing(struct rfs_node *n)
{
	return n->kind == RFS_NODE_VIRTUAL ? n->view->backing : n;
}

/* Records that the view's map changed (the reverse index is stale). */
static inline void rfs_view_map_changed(struct rfs_view *view)
{
	view->map_gen++;
}

/* Whether the reverse index must be rebuilt before rfs_view_aliases. */
bool rfs_view_rev_stale(const struct rfs_view *view);
/* Rebuilds the reverse index; state_lock held for writing. */
void rfs_view_rev_update(struct rfs_view *view);

/* Appends to out (GArray of rfs_run, fpage unused) the view pages below
 * pages that show backing pages fpage..fpage+count-1, through the map's
 * runs or as identity.  view may be NULL (an identity view).  Needs a
 * current reverse index; state_lock held. */
void rfs_view_aliases(const struct rfs_view *view, uint64_t pages,
		      uint64_t fpage, uint64_t count, GArray *out);
