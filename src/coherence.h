/* SPDX-License-Identifier: GPL-2.0-or-later */
/* coherence.h - the plan that keeps every cached copy of a backing page
 * coherent when a write changes it: which pages of which views the kernel
 * may hold that show the bytes written (its aliases), which of the
 * writer's own pages went stale, and which pages held an old end of the
 * file.  The plans are lists of invalidations (notify.h) that io.c hands
 * to the notifier; the pages a write reaches twice are found by the pure
 * rfs_segs_twice (segs.h). */
#pragma once
#include "remapfs.h"
#include <glib.h>
#include <sys/types.h>

/* The invalidations of the pages of view node n, written from off
 * through segs, that show a backing page the write also writes through
 * another of its view pages (the bytes written last win).  NULL when
 * there are none. */
GArray *rfs_coherence_own_stale(struct rfs_ctx *ctx, struct rfs_node *n,
				off_t off, GArray *segs);

/* The invalidations of every view page the kernel may cache, in any view,
 * that shows a backing page the segments write, except the pages of n
 * written ([off, off+len)).  NULL when there are none.  Takes state_lock
 * (for writing when a reverse index must be rebuilt). */
GArray *rfs_coherence_aliases(struct rfs_ctx *ctx, struct rfs_node *n,
			      off_t off, size_t len, GArray *segs);

/* Adds to *to (made when NULL) the invalidation of node's page holding
 * end, if end falls inside it, then of node's attributes: the kernel
 * zeroed that page past an end it took for the view's, and learns the
 * size once it is dropped (attributes go after pages). */
void rfs_coherence_end(struct rfs_ctx *ctx, GArray **to, struct rfs_node *node,
		       off_t end);

/* A writeback of view node n (backing open as fd) that ends at end inside
 * a system page, short of the view's end: the kernel took an older,
 * smaller size for the view's end and zeroed its cached page past that
 * point.  Adds that page and the view's attributes to *invals. */
void rfs_coherence_writeback_end(struct rfs_ctx *ctx, struct rfs_node *n,
				 int fd, off_t end, GArray **invals);
