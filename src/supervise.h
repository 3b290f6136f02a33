/* SPDX-License-Identifier: GPL-2.0-or-later */
/* supervise.h - -o restart: the mount's process becomes a supervisor that
 * holds the /dev/fuse descriptor and the mount and does nothing else; the
 * requests are served by a worker, a child that shares the supervisor's
 * descriptor table (every descriptor a worker opens outlives it) and a
 * page of memory (this struct).  When a worker dies of a signal (a crash,
 * an OOM kill, kill -9), the supervisor starts another on the same
 * connection: the mount, open files and mappings, and dirty pages stay
 * with the kernel.  SIGUSR2 replaces the worker on purpose.  Stop signals
 * (SIGTERM, SIGINT, SIGHUP) go to the worker, whose orderly stop
 * (stop.h) ends it.
 *
 * A worker that fails again and again before it serves (a bad state, a
 * bad binary) is not started for ever: after RFS_SUPERVISE_FAILS such
 * deaths, with growing pauses between, the supervisor answers every
 * request with EIO until the mount ends, leaving SOURCE and the state
 * file as they are for the operator. */
#pragma once
#include "fuseio.h"
#include <stdbool.h>
#include <stdint.h>

/* Workers in a row that fail before they serve (rfs_super_ready: exit
 * with RFS_WORKER_START_FAILED, or a signal other than SIGKILL) that make
 * the supervisor stop starting them. */
#define RFS_SUPERVISE_FAILS 5
/* Deaths of serving workers within RFS_SUPERVISE_BURST_MS after which
 * the next start waits a second (a request that kills every worker it
 * reaches, sent again each time, does not spin). */
#define RFS_SUPERVISE_BURST 10
#define RFS_SUPERVISE_BURST_MS 1000
/* The exit status of a worker that could not start (not a stop). */
#define RFS_WORKER_START_FAILED 3
/* rfs_supervise's result in a worker. */
#define RFS_SUPERVISE_WORKER (-1)

/* Descriptors below this that were open before the first worker are
 * the supervisor's (rfs_super_fd_is_own). */
#define RFS_SUPER_FDS_MAX 4096

/* The memory the supervisor and its workers share (MAP_SHARED). */
struct rfs_super_page {
	uint32_t workers;	/* workers started, this one included */
	uint32_t ready;		/* the last worker set up to serve */
	int32_t worker_fuse_fd; /* the descriptor the last worker read, or -1 */
	int32_t nodes_fd;	/* memfd of the node records (nodes.h) */
	struct rfs_fuseio_init init; /* the kernel's INIT (fuseio.h) */
	struct rfs_done_ring done;   /* fuseio.h */
	uint64_t own_fds[RFS_SUPER_FDS_MAX / 64]; /* bitmap, see above */
};

/* Tells the supervisor that this worker is set up and serves from now on
 * (a death after this is not a failure to start). */
void rfs_super_ready(struct rfs_super_page *page);

/* In a worker that replaces one that died: closes the descriptors the
 * dead one left that are pipes, sockets or anonymous inodes (eventfds,
 * signalfds, epoll, fanotify), which no file handle the kernel holds can
 * be; the supervisor's own stay.  Returns how many it closed. */
unsigned rfs_super_close_leftovers(const struct rfs_super_page *page);

/* Becomes the supervisor of the connection on fuse_fd.  Must be called
 * before any thread starts.  Returns RFS_SUPERVISE_WORKER in each worker
 * (*page set; the stop signals stay blocked), and in the supervisor, once
 * a worker exited by itself or the supervisor stopped answering, the
 * status to exit with; *stopped then says whether a stop signal went to
 * the worker (which detached the mount). */
int rfs_supervise(int fuse_fd, struct rfs_super_page **page, bool *stopped);
