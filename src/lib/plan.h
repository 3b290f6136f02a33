/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plan.h - the pure logic of libremapfs: remap_file_pages()'s arithmetic
 * over the mappings of an address range, a view's map read from a state
 * dump, which backing pages a map shows twice, and the transaction that
 * replaces a mount's state by a saved one.  No system calls.  Functions
 * return 0 or a positive errno. */
#pragma once
#include "pagemap.h"
#include "procparse.h"
#include "protocol.h"
#include <glib.h>
#include <stdint.h>

/* remap_file_pages()'s own argument checks (as the kernel makes them):
 * prot must be 0; addr and size are each rounded down to a multiple of
 * sys_ps; an empty or wrapping range, or a pgoff range that wraps, is
 * EINVAL.  Sets *start and *len (page-aligned, *len > 0). */
int rfsl_rfp_args(uint64_t addr, uint64_t size, int prot, uint64_t pgoff,
		  uint64_t sys_ps, uint64_t *start, uint64_t *len);

/* Whether vmas[0..n) cover [start, start+len) as the kernel requires of
 * remap_file_pages(): vmas[0] contains start and is shared and
 * file-backed; each next one begins where the one before ends and maps the
 * same file (device, inode) with the same permissions; the last reaches
 * start+len.  Returns 0 or EINVAL. */
int rfsl_vmas_cover(const struct rfsl_vma *vmas, size_t n, uint64_t start,
		    uint64_t len);

/* One remap the call asks for, in pages of the mount: view pages
 * vpage..vpage+count-1 of the file mapped by vmas[vma] are to show backing
 * pages fpage..fpage+count-1. */
struct rfsl_piece {
	size_t vma;
	uint64_t vpage, fpage, count;
};

/* The remaps that show file pages from pgoff on (pgoff in units of sys_ps)
 * at [start, start+len), which vmas[0..n) cover (rfsl_vmas_cover), one per
 * vma, appended to pieces (a GArray of struct rfsl_piece).  mount_ps is a
 * power of two, a multiple of sys_ps.  EINVAL when an edge is not aligned
 * to mount_ps or a page range passes page_limit (pieces then unchanged). */
int rfsl_rfp_pieces(const struct rfsl_vma *vmas, size_t n, uint64_t start,
		    uint64_t len, uint64_t pgoff, uint64_t sys_ps,
		    uint64_t mount_ps, uint64_t page_limit, GArray *pieces);

/* What a state dump says about one view. */
struct rfsl_view_state {
	uint64_t pagesize; /* from the dump's first line; 0 when missing */
	bool is_virtual;   /* a create line names it */
	char *backing;	   /* virtual: its backing file; else NULL */
	uint64_t pages;	   /* virtual: its size in pages; else 0 */
	GArray *runs;	   /* rfs_run: its remap lines (non-identity runs) in
			      vpage order */
};

/* Reads the state dump text (len bytes) for `view` (a normalized path
 * relative to the mount root).  Returns 0, or the parser's errno with the
 * line and message in *err_line and err (either may be NULL). */
int rfsl_state_view(const char *text, size_t len, const char *view,
		    struct rfsl_view_state *out, unsigned *err_line,
		    GString *err);

/* Frees what a view state owns and zeroes it. */
void rfsl_view_state_clear(struct rfsl_view_state *s);

/* The runs of a view of npages pages with the identity gaps filled in
 * (identity runs have vpage == fpage): a new GArray of rfs_run covering
 * 0..max(npages, end of the last run)-1 in order.  runs are sorted and do
 * not overlap. */
GArray *rfsl_runs_full(const rfs_run *runs, size_t n, uint64_t npages);

/* A range of pages. */
struct rfsl_range {
	uint64_t first, count;
};

/* The backing pages that runs (in any order) show more than once: a new
 * GArray of struct rfsl_range, sorted, merged, non-empty ranges. */
GArray *rfsl_aliased(const rfs_run *runs, size_t n);

/* The part of sorted ranges[0..n) inside first..first+count-1, appended to
 * out (a GArray of struct rfsl_range). */
void rfsl_ranges_within(const struct rfsl_range *ranges, size_t n,
			uint64_t first, uint64_t count, GArray *out);

/* The transaction that turns state `cur` into `want` (both parsed dumps:
 * GArrays of rfs_cmd holding create and remap commands) appended to out
 * (from rfs_cmds_new()): `remove` of the virtual views of cur that want
 * does not create over the same backing with a size, `reset` of every
 * other view cur remaps, then want's commands, with the create of each
 * virtual view kept turned into a resize. */
void rfsl_state_replace(const GArray *cur, const GArray *want, GArray *out);

/* A deep copy of a command (strings duplicated). */
rfs_cmd rfsl_cmd_copy(const rfs_cmd *c);

/* The most aliased ranges a line of `remapctl show` lists. */
#define RFSL_SHOW_RANGES 8

/* Appends the table `remapctl show` prints for a view's full runs
 * (rfsl_runs_full): a header line, then one line per run with its view
 * pages, backing pages, count, whether it is the identity, and the backing
 * pages of the run that the view shows more than once ("-": none; after
 * RFSL_SHOW_RANGES ranges, how many more). */
void rfsl_show_table(GString *out, const rfs_run *runs, size_t n);
