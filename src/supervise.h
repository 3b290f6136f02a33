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
#include "privfd.h"
#include <glib.h>
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

/* Descriptors below this that the supervisor opened itself are known
 * (own_fds); those above are taken for workers'. */
#define RFS_SUPER_FDS_MAX RFS_PRIVFD_MAX

/* How a supervisor that runs the installed program again (SIGUSR2) hands
 * over to it: this environment variable holds "PAGE,EXE,VERSION", the
 * numbers of its page's memfd and of a descriptor of the program it ran,
 * and RFS_SUPER_VERSION.  A program of another version runs that old
 * program again instead of taking over. */
#define RFS_SUPER_ENV "REMAPFS_SUPERVISOR"
/* The version of what a supervisor hands over and a worker takes over:
 * this page, the node records (nodes.h), the journal's comments (dump.h)
 * and the INIT replay (fuseio.h).  Bump it when one of them changes. */
#define RFS_SUPER_VERSION 1

/* The memory the supervisor and its workers share (MAP_SHARED, a memfd
 * that outlives the supervisor's exec). */
struct rfs_super_page {
	uint32_t workers;	/* workers started, this one included */
	uint32_t ready;		/* the last worker set up to serve */
	int32_t worker_fuse_fd; /* the descriptor the last worker read, or -1 */
	int32_t nodes_fd;	/* memfd of the node records (nodes.h) */
	uint32_t version;	/* RFS_SUPER_VERSION */
	int32_t page_fd;	/* this page's memfd */
	int32_t exe_fd;	      /* the program this supervisor runs (O_RDONLY) */
	int32_t fuse_fd;      /* the connection */
	int32_t source_fd;    /* SOURCE's directory */
	uint32_t execs;	      /* times the supervisor ran the program again */
	bool resuming;	      /* ran again, its own descriptors not noted */
	char exe[4096];	      /* the program, as the first supervisor ran */
	char cwd[4096];	      /* where it ran (relative arguments) */
	char state_dir[4096]; /* the private state's directory, or "" */
	struct rfs_fuseio_init init; /* the kernel's INIT (fuseio.h) */
	struct rfs_done_ring done;   /* fuseio.h */
	/* Bitmaps: the supervisor's own descriptors (the others are
	 * workers'), and those open across the last exec. */
	uint64_t own_fds[RFS_SUPER_FDS_MAX / 64];
	uint64_t kept_fds[RFS_SUPER_FDS_MAX / 64];
	uint64_t private_fds[RFS_PRIVFD_MAX / 64]; /* the worker's (privfd.h) */
};

/* Tells the supervisor that this worker is set up and serves from now on
 * (a death after this is not a failure to start). */
void rfs_super_ready(struct rfs_super_page *page);

/* In a worker that replaces one that died: closes the descriptors the
 * dead one left that are pipes, sockets or anonymous inodes (eventfds,
 * signalfds, epoll, fanotify), which no file handle the kernel holds can
 * be, and those it marked as its own (privfd.h); the supervisor's stay.
 * Returns how many it closed. */
unsigned rfs_super_close_leftovers(struct rfs_super_page *page);
/* Then, once the node records are taken over: closes the O_PATH
 * descriptors the dead one left that are not in keep (a set of
 * GINT_TO_POINTER(fd): the adopted nodes' and this worker's), such as its
 * root's and the duplicates its page dropping held; no handle the kernel
 * holds is an O_PATH descriptor.  Returns how many it closed. */
unsigned rfs_super_close_paths(const struct rfs_super_page *page,
			       GHashTable *keep);

/* A new page for the supervisor of the connection on fuse_fd over SOURCE
 * source_fd (both kept open across its execs), with state_dir ("" or the
 * private state's directory); NULL (logged) on failure. */
struct rfs_super_page *rfs_super_page_new(int fuse_fd, int source_fd,
					  const char *state_dir);
/* In a program run again by its supervisor (RFS_SUPER_ENV set): the page
 * it handed over (rfs_supervise notes the descriptors this program opened
 * since as the supervisor's); NULL when the variable is not set, or on
 * failure with *err set (logged).  A page of another version runs the
 * program that handed it over again, with argv. */
struct rfs_super_page *rfs_super_resume(char *const *argv, bool *err);

/* Becomes the supervisor of page's connection (a new page, or one that
 * rfs_super_resume handed over).  Must be called before any thread
 * starts.  Returns RFS_SUPERVISE_WORKER in each worker (the stop signals
 * stay blocked), and in the supervisor, once a worker exited by itself or
 * the supervisor stopped answering, the status to exit with; *stopped
 * then says whether a stop signal went to the worker (which detached the
 * mount).  SIGUSR2 runs page->exe again with argv (the same options),
 * which resumes the supervision, then starts the new worker. */
int rfs_supervise(struct rfs_super_page *page, char *const *argv,
		  bool *stopped);
