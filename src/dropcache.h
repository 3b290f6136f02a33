/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dropcache.h - one copy of each page in memory.  A read reply copies
 * backing bytes into the view's page cache; once it is sent, the backing
 * file's cached copy of those pages is redundant, and with -o
 * backing_cache=drop (the default) the daemon drops it.  Dropping is only
 * ever a hint to the kernel: pages that are dirty, under writeback,
 * mapped by a program or held by a pipe stay, so no byte can be lost. */
#pragma once
#include <glib.h>
#include <stdbool.h>
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

/* Drops the page-aligned range from fd's page cache.  Never blocks on
 * I/O: dirty pages are only queued for writeback, and stay, as do pages
 * that a program maps or a pipe holds.  Returns whether some of the range
 * is still cached (known through cachestat(2) where the kernel has it;
 * false where it has not). */
bool rfs_drop_range(int fd, const struct rfs_range *r);

/* The bytes of one backing file that views have read since they were
 * last dropped: its cache of them is redundant.  The kernel caches a file in
 * folios of up to a PMD's size, aligned to their size, and drops a folio
 * only when a whole one is asked for: a read's own bytes seldom cover the
 * folios they lie in, but what views read before often does.
 * Thread-safe; bounded (emptied once it holds max_ranges ranges). */
struct rfs_dropset;

/* A set of at most max_ranges ranges that lets up to max_pending bytes
 * wait for reads in flight (see rfs_dropset_read_end). */
struct rfs_dropset *rfs_dropset_new(size_t max_ranges, off_t max_pending);
void rfs_dropset_free(struct rfs_dropset *s);

/* Adds r (page-aligned) to the set, and returns the bytes to drop (len
 * 0: none): the blocks of w bytes (the largest folio, a power of two)
 * around r that the set's range now holding r covers whole, and its tail
 * when it reaches eof (the file's size); they leave the set, so that
 * each is dropped again only once views read all of it again (a view
 * read again after an invalidation).  A folio never straddles such a
 * block, so each can be dropped whole: asking the kernel to drop part of
 * a folio fails, and a failure makes it drain every CPU's page lists
 * (lru_add_drain_all), which costs milliseconds. */
struct rfs_range rfs_dropset_add(struct rfs_dropset *s, struct rfs_range r,
				 off_t w, off_t eof);

/* A read of the file begins: until it ends, the pages it reads may be
 * held by this thread's pipe, and cannot be dropped. */
void rfs_dropset_read_begin(struct rfs_dropset *s);

/* A block to drop, and how often that was tried before. */
struct rfs_drop {
	struct rfs_range r;
	unsigned tries;
};

/* The most times a block is dropped while something keeps it cached. */
#define RFS_DROP_TRIES 3

/* The read ends, having read the n page-aligned ranges r: they are added
 * (rfs_dropset_add), and the blocks they make whole wait.  Appends to out
 * (struct rfs_drop) what to drop now: everything waiting, once no other
 * read of the file is in flight or more than max_pending bytes wait. */
void rfs_dropset_read_end(struct rfs_dropset *s, const struct rfs_range *r,
			  size_t n, off_t w, off_t eof, GArray *out);

/* A block of out stayed cached (a pipe or a program held a page): it
 * waits again for the next read's end, up to RFS_DROP_TRIES times. */
void rfs_dropset_failed(struct rfs_dropset *s, const struct rfs_drop *d);
