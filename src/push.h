/* SPDX-License-Identifier: GPL-2.0-or-later */
/* push.h - telling the kernel a virtual view's new size at once.
 *
 * A resize written to .control changes a view's size where the kernel does
 * not see it.  Invalidating the view's attributes is not enough: the
 * kernel drops the answer of the attribute fetch that follows whenever an
 * invalidation of the same view (any page of it) reaches it while that
 * fetch is in flight, and keeps its old size although stat(2) returned the
 * new one; a store through a mapping past the old size then gets SIGBUS.
 * A setattr's answer is never dropped, so the pusher, a thread of its own,
 * truncates the view through the mount to the size it has, and the
 * setattr handler answers that thread with the view's current attributes,
 * changing nothing.  The transaction is acknowledged after that.  A
 * worker that replaces one that died pushes the sizes of the regular
 * files of SOURCE the kernel knows too (the dead worker may have grown
 * one through a virtual view, and the invalidations it sends race with
 * programs' attribute fetches), through a path of a view of them. */
#pragma once
#include "remapfs.h"
#include <fuse_lowlevel.h>
#include <glib.h>
#include <stdbool.h>

struct rfs_pusher;

/* Starts the pusher for the mount at mountpoint (opened for each push and
 * closed after it: a descriptor held on the mount would keep it busy). */
struct rfs_pusher *rfs_pusher_start(struct rfs_ctx *ctx,
				    const char *mountpoint);
/* Runs what is queued, then stops the thread.  NULL is ignored. */
void rfs_pusher_stop(struct rfs_pusher *p);

/* Whether req comes from the pusher thread (setattr: answer, change
 * nothing). */
bool rfs_pusher_sent(struct rfs_ctx *ctx, fuse_req_t req);

/* A name the kernel must forget (a virtual view made or removed). */
struct rfs_entry {
	struct rfs_node *dir; /* daemon reference */
	char *name;
};

/* What the kernel must be told before a transaction is acknowledged: the
 * names it must forget (struct rfs_entry) and the virtual view nodes whose
 * sizes changed (each with a daemon reference).  Not sent on the control
 * thread: a request handler may wait for that thread (a snapshot) while
 * the kernel holds the directory lock a name's invalidation takes. */
struct rfs_push {
	GArray *entries;
	GPtrArray *resized;
};

/* An empty push. */
void rfs_push_init(struct rfs_push *push);
/* Drops what push holds, sending nothing, and frees it (NULL fields are
 * ignored). */
void rfs_push_clear(struct rfs_ctx *ctx, struct rfs_push *push);
/* Adds a name to forget (a reference on dir taken). */
void rfs_push_entry(struct rfs_ctx *ctx, struct rfs_push *push,
		    struct rfs_node *dir, const char *name);
/* Sends the entries' invalidations now, in this thread, and empties them. */
void rfs_push_entries_now(struct rfs_ctx *ctx, struct rfs_push *push);
/* Tells the kernel what push holds (taken over: its fields NULL) on the pusher
 * thread, names first, then calls done(data) there (done may be NULL).
 * Without a pusher, sends the names here and calls done(data) at once. */
void rfs_push_send(struct rfs_ctx *ctx, struct rfs_push *push,
		   void (*done)(void *data), void *data);
