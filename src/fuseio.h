/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuseio.h - how a worker's session reads and writes /dev/fuse when a
 * supervisor keeps the connection (supervise.h), through libfuse's
 * fuse_session_custom_io.
 *
 * The first worker passes everything through and keeps a copy of the
 * kernel's INIT in the page it shares with the supervisor.  A worker
 * started on a connection that is set up already (the one before it died)
 * gets no INIT from the kernel, and libfuse 3.14 serves nothing before
 * one: the channel hands libfuse that copy first, drops libfuse's answer
 * (the kernel took the first worker's; the same options give the same
 * answer), holds every other read until then, and asks the kernel to send
 * again the requests the dead worker had read and not answered
 * (FUSE_NOTIFY_RESEND, where the kernel offers it in that INIT). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fuse_session;
struct rfs_fuseio;

/* The kernel's INIT as the first worker read it, in the shared page. */
struct rfs_fuseio_init {
	uint32_t len;		    /* bytes in request; 0: not read yet */
	unsigned char request[512]; /* fuse_in_header + fuse_init_in */
};

/* The bit the kernel sets in the unique ID of a request it sends again. */
#define RFS_UNIQUE_RESEND (UINT64_C(1) << 63)

/* The unique IDs of the last .control transactions a worker journaled,
 * in the supervisor's page: the next worker answers one the kernel sends
 * again as done instead of applying it twice (control.h). */
#define RFS_DONE_RING 256
struct rfs_done_ring {
	uint64_t next;			/* entries written */
	uint64_t unique[RFS_DONE_RING]; /* without RFS_UNIQUE_RESEND */
};

/* Records unique in the ring (the control thread, once journaled). */
void rfs_done_ring_add(struct rfs_done_ring *ring, uint64_t unique);

/* The unique ID of the request this thread read last through a channel
 * (libfuse runs a request's handler on the thread that read it), or 0. */
uint64_t rfs_fuseio_request_unique(void);

/* Asks the kernel to send again the requests read from the connection of
 * fd and not answered (FUSE_NOTIFY_RESEND).  Returns 0 or an errno (EINVAL
 * from a kernel without it). */
int rfs_fuseio_send_resend(int fd);

/* A channel over the /dev/fuse descriptor fd (taken over: libfuse closes
 * it with the session) that keeps the INIT in init, or replays it when
 * init->len is set.  The session's userdata must be the context (remapfs.h)
 * whose fuseio is this channel: libfuse hands the callbacks only that. */
struct rfs_fuseio *rfs_fuseio_new(struct rfs_fuseio_init *init, int fd);
/* Makes se read and write through io.  Returns 0 or a positive errno. */
int rfs_fuseio_attach(struct rfs_fuseio *io, struct fuse_session *se);
/* Frees the channel (after the session). */
void rfs_fuseio_free(struct rfs_fuseio *io);
