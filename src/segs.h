/* SPDX-License-Identifier: GPL-2.0-or-later */
/* segs.h - a view range translated to the backing file: its segments,
 * writing a write()'s bytes to them, and finding the backing pages one
 * write reaches twice.  Pure but for pwrite(2); unit-tested without a
 * mount (test-segs). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One piece of a translated range: len bytes at backing offset foff, or
 * len zero bytes (a page past the backing file's end). */
struct rfs_seg {
	off_t foff;
	size_t len;
	bool zero;
};

/* Writes data (the segments' bytes in view order) to fd at the backing
 * offsets of segs (GArray of struct rfs_seg), in the file's order unless
 * two segments overlap; returns the bytes of the view-order prefix that
 * was written whole, or -errno when none was. */
ssize_t rfs_segs_write(int fd, const char *data, GArray *segs);

/* Appends to vpages (guint64) the view pages, of a write at view offset
 * off through segs, whose backing page the write reaches more than once
 * (pages of 1 << shift bytes): the bytes written last win, and what the
 * kernel caches of the others is stale.  In view order, each once. */
void rfs_segs_twice(GArray *segs, off_t off, unsigned shift, GArray *vpages);
