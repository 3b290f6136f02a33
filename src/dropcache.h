/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dropcache.h - one copy of each page in memory.  A read reply copies
 * backing bytes into the view's page cache; once it is sent, the backing
 * file's cached copy of those pages is redundant, and with -o
 * backing_cache=drop (the default) the daemon drops it.  Dropping is only
 * ever a hint to the kernel: pages that are dirty, under writeback,
 * mapped by a program or held by a pipe stay, so no byte can be lost. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <sys/types.h>

/* A byte range of a backing file. */
struct rfs_range {
	off_t off;
	off_t len;
};

/* Widens each range to whole system pages of (1 << shift) bytes, sorts
 * them and merges those that overlap or touch; drops empty ones.
 * Returns how many are left at the start of r.  Pure. */
size_t rfs_ranges_merge(struct rfs_range *r, size_t n, unsigned shift);

/* Takes the page-aligned range out of a read-only shared mapping of the
 * file at map (maplen bytes long): a page the daemon maps cannot be
 * dropped.  Nothing is lost; the next use faults it in again.  Returns 0
 * or an errno. */
int rfs_unmap_range(const char *map, size_t maplen, const struct rfs_range *r);

/* Drops the page-aligned range from fd's page cache.  Never blocks on
 * I/O: dirty pages are only queued for writeback, and stay.  Returns 0 or
 * an errno. */
int rfs_drop_range(int fd, const struct rfs_range *r);

/* The bytes of one backing file that views have read since it was
 * opened: its cache of them is redundant.  The kernel caches a file in
 * folios of up to a PMD's size, aligned to their size, and drops a folio
 * only when a whole one is asked for: a read's own bytes seldom cover the
 * folios they lie in, but what views read before often does.
 * Thread-safe; bounded (emptied once it holds max_ranges ranges). */
struct rfs_dropset;

struct rfs_dropset *rfs_dropset_new(size_t max_ranges);
void rfs_dropset_free(struct rfs_dropset *s);

/* Adds r (page-aligned) to the set, and returns the bytes to drop: the
 * set's range now holding r, cut to the folio-sized neighbourhood of r
 * (r widened to multiples of w, a power of two). */
struct rfs_range rfs_dropset_add(struct rfs_dropset *s, struct rfs_range r,
				 off_t w);
