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
 * changing nothing.  The transaction is acknowledged after that. */
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

/* Tells the kernel the sizes of the virtual view nodes (GPtrArray of
 * struct rfs_node *, each with a daemon reference; taken over) on the
 * pusher thread, then calls done(data) there.  Without a pusher, calls
 * done(data) at once. */
void rfs_push_sizes(struct rfs_ctx *ctx, GPtrArray *nodes,
		    void (*done)(void *data), void *data);
