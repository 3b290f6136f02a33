/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* handles.h - the heap handles the kernel holds: open directories and
 * open descriptors of .control and .stats.
 *
 * The kernel knows a handle by a number (fi->fh), not its address: the
 * set's epoch in the high bits and a serial below, so that a number
 * handed out by a worker that died (supervise.h) names nothing in the
 * next one, whose heap may well have the same addresses.
 *
 * The kernel frees a handle with RELEASE or RELEASEDIR.  After a lazy
 * unmount (or a stop that detaches) the session ends while programs
 * still hold descriptors, and those releases never come: the set frees
 * what is left when the daemon exits.  Its own lock protects it; no
 * handle is freed while it is held. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct rfs_handles;

/* Bits of a handle number below the epoch. */
#define RFS_HANDLE_SERIAL_BITS 40
/* Set in every handle number: none looks like a descriptor number, which
 * regular files' handles are. */
#define RFS_HANDLE_FLAG (UINT64_C(1) << 63)

/* A new, empty set whose numbers carry epoch (24 bits are kept). */
struct rfs_handles *rfs_handles_new(uint32_t epoch);
/* Frees every handle still in the set (with the function it was added
 * with), then the set.  No request may be running. */
void rfs_handles_free(struct rfs_handles *hs);

/* Records handle h, which free_fn frees; returns its number (never 0). */
uint64_t rfs_handles_add(struct rfs_handles *hs, void *h,
			 GDestroyNotify free_fn);
/* The handle numbered fh, or NULL when the set has none by that number.
 * It stays valid until released (the kernel releases a handle only once
 * no request on it runs). */
void *rfs_handles_get(struct rfs_handles *hs, uint64_t fh);
/* Whether fh is a handle number of another epoch (a worker that died). */
bool rfs_handles_foreign(struct rfs_handles *hs, uint64_t fh);
/* Records h under the foreign number fh, for a handle the kernel kept
 * from a worker that died and that this one makes again; returns the
 * handle now under fh: h, or the one another thread made first (h is
 * then freed). */
void *rfs_handles_adopt(struct rfs_handles *hs, uint64_t fh, void *h,
			GDestroyNotify free_fn);
/* Takes the handle numbered fh out of the set and frees it; a number not
 * in the set (0 included) is left alone. */
void rfs_handles_release(struct rfs_handles *hs, uint64_t fh);
/* The number of handles in the set. */
guint rfs_handles_count(struct rfs_handles *hs);
