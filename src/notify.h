/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify.h - the notifier: a thread of its own that sends the kernel the
 * invalidations of aliases (view pages that show backing pages just
 * written) and answers the fsyncs that must wait for them, and a pool of
 * threads that finish the write()s that must wait for their aliases.
 *
 * Request handlers never notify the kernel themselves: an invalidation
 * may make the kernel write dirty pages back through the daemon and wait
 * for pages locked by reads in flight, which the handlers must be free to
 * serve (also with -s).  Writebacks are answered at once and only queue
 * their alias invalidations, so the notifier never waits for itself. */
#pragma once
#include "remapfs.h"
#include <fuse_lowlevel.h>
#include <glib.h>
#include <sys/types.h>

struct rfs_wflight;

/* Bytes [off, off+len) of a node's cache to invalidate (len 0: to the end;
 * off < 0: attributes only); holds a daemon reference on node. */
struct rfs_inval {
	struct rfs_node *node;
	off_t off, len;
};

/* A new GArray of struct rfs_inval. */
GArray *rfs_invals_new(void);
/* Appends an invalidation, taking a reference on node. */
void rfs_invals_add(struct rfs_ctx *ctx, GArray *invals, struct rfs_node *node,
		    off_t off, off_t len);
/* Appends every invalidation of from to to, taking references. */
void rfs_invals_append(struct rfs_ctx *ctx, GArray *to, GArray *from);
/* Drops the references and frees the array. */
void rfs_invals_free(struct rfs_ctx *ctx, GArray *invals);
/* Sends the invalidations now (sorted, adjacent ranges merged, a node's
 * attributes after its pages), skipping nodes the kernel does not know.
 * Never call with a lock held. */
void rfs_invals_send(struct rfs_ctx *ctx, GArray *invals);

/* Page ranges from which rfs_invals_send_wide uses a second thread. */
#define RFS_WIDE_SEND_MIN 256

/* Like rfs_invals_send, for a transaction's many ranges: the page ranges
 * are sent from this thread and a pool thread at once when there are at
 * least RFS_WIDE_SEND_MIN (each node's attributes after all of them).
 * Never call with a lock held, nor from the notifier's pool. */
void rfs_invals_send_wide(struct rfs_ctx *ctx, GArray *invals);

/* Starts and stops the notifier thread (stop answers what is queued). */
struct rfs_notifier *rfs_notifier_start(struct rfs_ctx *ctx);
void rfs_notifier_stop(struct rfs_notifier *nf);

/* Queues invals (taken over) to be sent; nobody waits for them. */
void rfs_notify_invals(struct rfs_ctx *ctx, GArray *invals);
/* Finishes a write() of len bytes at off of view node that must make its
 * aliases coherent before it returns, on a pool thread of its own (never
 * behind the notifier's queue, whose invalidations may wait for this
 * write's locked page): invalidates invals (so that dirty alias pages
 * are written back first), writes data to fd at the backing offsets of
 * segs (GArray of struct rfs_seg), invalidates invals again and own (the
 * writer's own pages that show a backing page the write wrote twice, or
 * that held the old end of its file), ends wf (the write in flight,
 * inflight.h) and drops what reads brought back meanwhile, then replies
 * to req (a write that grows its backing file where the kernel does not
 * see it: after rfs_notify_release when held).  Takes over wf, data, segs,
 * invals and own (either of the last two may be NULL). */
void rfs_notify_write(struct rfs_ctx *ctx, fuse_req_t req,
		      struct rfs_node *node, off_t off, size_t len,
		      struct rfs_wflight *wf, int fd, char *data, GArray *segs,
		      GArray *invals, GArray *own, bool grows);
/* Finishes a write() whose bytes already landed (res: bytes, or -errno)
 * while reads brought back some of its pages: sends reread and relock
 * (taken over, either may be NULL; see rfs_wflight_end) on a pool
 * thread, then replies. */
void rfs_notify_written(struct rfs_ctx *ctx, fuse_req_t req,
			struct rfs_node *node, off_t off, size_t len,
			ssize_t res, GArray *reread, GArray *relock);
/* Sends invals (taken over), then calls done(data) on the notifier
 * thread (which replies to whatever request waits). */
void rfs_notify_then(struct rfs_ctx *ctx, GArray *invals,
		     void (*done)(void *data), void *data);
/* Replies 0 to req (an fsync) once everything queued before is done, and
 * not before rfs_notify_release when the barriers are held. */
void rfs_notify_barrier(struct rfs_ctx *ctx, fuse_req_t req);
/* -o restart: holds the barriers of fsyncs (and the answers of writes
 * that grow a file) until rfs_notify_release, which queues invals (taken
 * over; may be NULL) ahead of them: an fsync or msync answered by a
 * worker that replaced one that died returns only once the invalidations
 * that worker owed are done. */
void rfs_notify_hold(struct rfs_ctx *ctx);
void rfs_notify_release(struct rfs_ctx *ctx, GArray *invals);
