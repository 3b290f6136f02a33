/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stop.h - stopping on a signal without losing a byte.
 *
 * SIGTERM, SIGINT and SIGHUP are blocked in every thread and taken by a
 * thread of their own.  On the first: the kernel writes back every dirty
 * page of the mount through the daemon (syncfs), the state is saved, and
 * the mount is detached (no new opens); files still open are served until
 * their last close, when the kernel ends the connection and the request
 * loop returns (exit status 0).  A second signal forces the exit at once
 * (status 1).  SIGPIPE, SIGUSR1 and SIGUSR2 are ignored. */
#pragma once
#include "remapfs.h"

struct rfs_stopper;

/* Blocks the stop signals and ignores the unused ones in the calling
 * thread; call before any thread starts, so that every thread inherits
 * the mask.  Returns 0 or a positive errno. */
int rfs_stop_signals_block(void);

/* Has the kernel write back every dirty page of the mount at mountpoint,
 * waiting in a child process: a thread waiting for its own mount's
 * writeback could not die until it ends (a worker killed then would hang,
 * supervise.h).  The child shares the daemon's memory (CLONE_VM): a fork
 * would write-protect the request threads' buffers, and a request the
 * kernel copies into such a page while the worker is killed ends with
 * EIO.  Returns 0, 2 (cannot open it), 3 (not this file system any more),
 * 4 (syncfs failed) or 1. */
int rfs_stop_syncfs(const char *mountpoint);

/* Detaches the mount at mountpoint from the namespace (umount2 with
 * MNT_DETACH as root, else fusermount3 -u -z): no new opens, open files
 * go on.  Returns 0 or a positive errno. */
int rfs_stop_detach(const char *mountpoint);

/* Starts taking the stop signals for the mount at mountpoint (absolute).
 * Returns NULL with errno set on failure. */
struct rfs_stopper *rfs_stopper_start(struct rfs_ctx *ctx,
				      const char *mountpoint);
/* Stops the thread and frees s (after the request loop returned). */
void rfs_stopper_stop(struct rfs_stopper *s);
