/* SPDX-License-Identifier: GPL-2.0-or-later */
/* io.h - the data path: reads and writes of views through their maps.
 *
 * Reads reply with the backing file's pages spliced through a pipe (no
 * copy in the daemon); writes go to the backing pages their view pages
 * show (segs.h), and make every alias of those pages coherent: the plan is
 * coherence.h's, the notifier sends it (notify.h).  io.c moves bytes. */
#pragma once
#include "remapfs.h"
#include <fuse_lowlevel.h>
#include <stdbool.h>

/* Replies to a read of size bytes at off of view node n, whose backing
 * file is open as fd. */
void rfs_io_read(struct rfs_ctx *ctx, fuse_req_t req, struct rfs_node *n,
		 int fd, size_t size, off_t off);

/* Writes in at off of view node n (backing open as fd) and replies, now
 * or, when aliases must be invalidated first, from a pool thread.
 * writeback: the request is the kernel writing back cached pages;
 * resent: sent again after the worker that read it died (it may have
 * grown the file already, unknown to the kernel). */
void rfs_io_write(struct rfs_ctx *ctx, fuse_req_t req, struct rfs_node *n,
		  int fd, struct fuse_bufvec *in, off_t off, bool writeback,
		  bool resent);

/* Fails a write with err; a writeback's failure loses bytes of a mapping,
 * so it is logged (ino: the node's ID as the kernel knows it). */
void rfs_io_write_failed(fuse_req_t req, uint64_t ino, off_t off, size_t size,
			 bool writeback, int err);
/* Copies a request's data into new memory; *len gets its size. */
char *rfs_buf_to_mem(struct fuse_bufvec *in, size_t *len);
