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
 * kernel still holds is never sent, so nothing else is dropped. */
#pragma once
#include "remapfs.h"
#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

struct rfs_inflight;
struct rfs_wflight;

/* A new, empty registry, and its end (nothing may be registered). */
struct rfs_inflight *rfs_inflight_new(void);
void rfs_inflight_free(struct rfs_inflight *reg);

/* Registers a write() of view bytes [off, off+len) of node (a daemon
 * reference is taken) before its bytes go anywhere. */
struct rfs_wflight *rfs_wflight_begin(struct rfs_ctx *ctx, struct rfs_node *node,
				      off_t off, size_t len);
/* Unregisters w once its bytes landed and frees it.  Returns the
 * invalidations of what reads brought back meanwhile (the node's system
 * pages that both the write and a read covered), or NULL when nothing. */
GArray *rfs_wflight_end(struct rfs_ctx *ctx, struct rfs_wflight *w);

/* Records a read of view bytes [off, off+len) of node in every write in
 * flight that it overlaps.  Call before the read takes backing bytes. */
void rfs_inflight_note_read(struct rfs_ctx *ctx, struct rfs_node *node,
			    off_t off, size_t len);
