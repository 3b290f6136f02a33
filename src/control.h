/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.h - the .control file: transactions, applied on a thread of
 * their own, and the kernel notifications they need.
 *
 * A request handler never applies a transaction or notifies the kernel
 * itself: it queues a job and returns; the control thread applies it,
 * invalidates what changed (the kernel then writes dirty pages back
 * through the request handlers, which must be free), and replies. */
#pragma once
#include "remapfs.h"
#include <fuse_lowlevel.h>
#include <stdbool.h>

struct rfs_control_handle;

struct rfs_journal;

/* Starts the control thread; with a journal (-o state, taken over) every
 * transaction from .control is acknowledged only once it is durable. */
struct rfs_control *rfs_control_start(struct rfs_ctx *ctx,
				      struct rfs_journal *journal);
/* Stops and joins it; jobs still queued are answered with ENOTCONN. */
void rfs_control_stop(struct rfs_control *ctl);

/* A new handle for an open of .control; readable handles get a snapshot
 * of the state, taken now. */
struct rfs_control_handle *rfs_control_open(struct rfs_ctx *ctx, bool readable);
/* Frees a handle (release). */
void rfs_control_release(struct rfs_control_handle *h);

/* write(): complete lines become one transaction; replies later. */
void rfs_control_write(struct rfs_ctx *ctx, fuse_req_t req,
		       struct rfs_control_handle *h, const char *buf,
		       size_t size);
/* flush() (close): applies an unterminated last line, then replies. */
void rfs_control_flush(struct rfs_ctx *ctx, fuse_req_t req,
		       struct rfs_control_handle *h);
/* read(): the last failed write's message, else the open-time state. */
void rfs_control_read(struct rfs_ctx *ctx, fuse_req_t req,
		      struct rfs_control_handle *h, size_t size);

/* Applies text as one transaction from the daemon itself (no request),
 * waiting for it.  Returns 0 or a positive errno, with the message in err
 * (may be NULL). */
int rfs_control_apply_text(struct rfs_ctx *ctx, const char *text, size_t len,
			   GString *err);

/* Writes a snapshot of the state to -o state=FILE now (waits for the
 * control thread).  Returns 0 or a positive errno. */
int rfs_control_save_now(struct rfs_ctx *ctx);
/* Tells the control thread that the state changed outside a transaction
 * (a virtual view unlinked, renamed or truncated through the mount, a
 * mapped file truncated, renamed or deleted): a snapshot is written soon.
 * With -o restart it is written before this returns (a worker killed
 * after the reply must not take the change with it): never call it
 * holding a lock. */
void rfs_control_note_change(struct rfs_ctx *ctx);
