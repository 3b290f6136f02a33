/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inflight.h - write()s in flight, and the reads that may have cached the
 * bytes they replace.
 *
 * The kernel copies a write()'s bytes into the view's cached pages before
 * it sends the request.  If an invalidation drops such a page while the
 * bytes travel (the write's own aliases, written back first, send one),
 * and a read brings the page back before the bytes land, the kernel
 * caches the old bytes and nothing would ever drop them.  Reads that
 * overlap a registered write are recorded, and the write drops what they
 * read once its bytes landed, before it replies.  A read of a page the
 * kernel still holds is never sent, so nothing else is dropped.
 *
 * A read can also come before the write is registered: the kernel queues
 * the write after it filled the pages, and an invalidation sent then, and
 * the read that follows it, can be served before the thread that took
 * the write registers it.  So every page invalidation sent is recorded
 * per node, and a write drops again, once landed, what invalidations of
 * its node covered of its pages from RFS_INFLIGHT_WINDOW_US before it was
 * registered until its end.  The page the kernel may keep locked until
 * the reply (a write's last, when it covers it in part and it was not up
 * to date) is dropped again only when it was read after the last such
 * invalidation that covered it (it was up to date then, so it is not
 * locked), and without waiting for it past a bound.  Extra drops cost a
 * read. */
#pragma once
#include "remapfs.h"
#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

struct rfs_inflight;
struct rfs_wflight;

/* How long before a write() is registered the kernel may have filled its
 * pages (queued, then waiting for a request thread). */
#define RFS_INFLIGHT_WINDOW_US 2000000

/* The system page of a write() of len bytes at off that the kernel keeps
 * locked until the reply when it was not up to date: the request's last
 * page, when the request covers it in part.  -1 when none can be. */
static inline off_t rfs_write_locked_page(off_t off, size_t len, off_t sys)
{
	if (len == 0)
		return -1;
	off_t end = off + (off_t)len;
	off_t last = (end - 1) & ~(sys - 1);
	bool partial = (end & (sys - 1)) || (off >= last && (off & (sys - 1)));
	return partial ? last : -1;
}

/* A new, empty registry, and its end (nothing may be registered). */
struct rfs_inflight *rfs_inflight_new(void);
void rfs_inflight_free(struct rfs_inflight *reg);

/* Registers a write() of view bytes [off, off+len) of node (a daemon
 * reference is taken) before its bytes go anywhere. */
struct rfs_wflight *rfs_wflight_begin(struct rfs_ctx *ctx,
				      struct rfs_node *node, off_t off,
				      size_t len);
/* Unregisters w once its bytes landed and frees it.  Returns the
 * invalidations of what reads brought back meanwhile (the node's system
 * pages that both the write and a read covered), or NULL when nothing.
 * *locked gets the invalidation of the page the kernel may keep locked
 * (rfs_write_locked_page) when an invalidation may have dropped it before
 * the write was registered and a read came after (it was up to date
 * then, and may hold the old bytes now), else NULL: send it without
 * waiting past a bound, as the page may be locked until the reply. */
GArray *rfs_wflight_end(struct rfs_ctx *ctx, struct rfs_wflight *w,
			GArray **locked);
/* Unregisters w, whose bytes did not land (the write failed or never
 * ran), and frees it: there is nothing to drop again. */
void rfs_wflight_cancel(struct rfs_ctx *ctx, struct rfs_wflight *w);

/* Records a read of view bytes [off, off+len) of node in every write in
 * flight that it overlaps.  Call before the read takes backing bytes. */
void rfs_inflight_note_read(struct rfs_ctx *ctx, struct rfs_node *node,
			    off_t off, size_t len);
/* Records that the kernel is told to drop node's pages over view bytes
 * [off, off+len) (len 0: to the end); the node's reads are recorded from
 * then on, within the window.  Call before the notification. */
void rfs_inflight_note_inval(struct rfs_ctx *ctx, struct rfs_node *node,
			     off_t off, off_t len);
