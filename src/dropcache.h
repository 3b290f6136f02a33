/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dropcache.h - one copy of each page in memory.  A read reply copies
 * backing bytes into the view's page cache; once it is sent, the backing
 * file's cached copy of those pages is redundant, and with -o
 * backing_cache=drop (the default) the daemon drops it.  Dropping is only
 * ever a hint to the kernel: pages that are dirty, under writeback,
 * mapped by a program or held by a pipe stay, so no byte can be lost. */
#pragma once
#include <stdint.h>
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

/* The pages of one backing file that views have read since they were
 * last dropped, by block of w bytes (the largest folio, a power of two):
 * the file's cache of them is redundant.  The kernel caches a file in
 * folios of up to a PMD's size, aligned to their size, and drops a folio
 * only when a whole one is asked for: a read's own bytes seldom cover the
 * folios they lie in, but with what views read before they often do.
 * One bitmap per block partly read.  Thread-safe; bounded (emptied once it
 * holds max_blocks blocks). */
struct rfs_dropset;

/* A set for the file fd (duplicated: the set drops through its own
 * descriptor, marked in privfds (privfd.h; may be NULL); -1, or a file of
 * tmpfs or ramfs, whose pages are the data: it drops nothing, and only
 * tells what it would), pages of (1 << page_shift) bytes and blocks of w,
 * letting up to max_pending bytes wait for reads in flight
 * (rfs_dropset_read_end). */
struct rfs_dropset *rfs_dropset_new(int fd, uint64_t *privfds,
				    unsigned page_shift, off_t w,
				    size_t max_blocks, off_t max_pending);
/* Whether the set drops anything (its file's pages can be dropped). */
bool rfs_dropset_drops(const struct rfs_dropset *s);

/* Drops the creator's reference (the set lives on while reads are in
 * flight). */
void rfs_dropset_unref(struct rfs_dropset *s);

/* Adds the pages of r (page-aligned) and returns the bytes to drop (len 0:
 * none): the blocks that r made whole, a block at eof (the file's size)
 * counting only its pages before eof.  Those leave the set, so that each
 * is dropped again only once views read all of it again (a view read
 * again after an invalidation).  A folio never straddles a block, so
 * each can be dropped whole: asking the kernel to drop part of a folio
 * fails, and a failure makes it drain every CPU's page lists
 * (lru_add_drain_all), which costs milliseconds. */
struct rfs_range rfs_dropset_add(struct rfs_dropset *s, struct rfs_range r,
				 off_t eof);

/* A read of the file begins: until it ends, the pages it reads may be
 * held by this thread's pipe, and cannot be dropped.  Takes a reference
 * on s, which rfs_dropset_read_end drops. */
void rfs_dropset_read_begin(struct rfs_dropset *s);

/* A block to drop, and how often that was tried before. */
struct rfs_drop {
	struct rfs_range r;
	unsigned tries;
};

/* The most times a block is dropped while something keeps it cached. */
#define RFS_DROP_TRIES 3
/* Blocks in a row that stay cached after which a file is no longer
 * dropped (its file system keeps its pages; tmpfs and ramfs are known
 * from the start). */
#define RFS_DROP_STUCK 64

/* The read ends, having read the n ranges r of a file of size bytes:
 * they are widened to whole pages and merged in place (rfs_ranges_merge)
 * and added (rfs_dropset_add, the end of the file rounded up to a page),
 * and the blocks they make whole wait.  Then drops what
 * is to go now: everything waiting, once no other read of the file is in
 * flight or more than max_pending bytes wait; blocks that stay cached wait
 * again (rfs_dropset_failed).  Appends what it dropped to out (struct
 * rfs_drop) unless out is NULL. */
void rfs_dropset_read_end(struct rfs_dropset *s, struct rfs_range *r, size_t n,
			  off_t size, GArray *out);

/* A block of out stayed cached (a pipe or a program held a page): it
 * waits again, until a read ends with no other in flight, up to
 * RFS_DROP_TRIES times in all. */
void rfs_dropset_failed(struct rfs_dropset *s, const struct rfs_drop *d);
