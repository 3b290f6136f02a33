/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* handles.h - the heap handles the kernel holds: open directories and
 * open descriptors of .control.
 *
 * The kernel frees a handle with RELEASE or RELEASEDIR.  After a lazy
 * unmount (or a stop that detaches) the session ends while programs
 * still hold descriptors, and those releases never come: the set frees
 * what is left when the daemon exits.  Its own lock protects it; no
 * handle is freed while it is held. */
#pragma once
#include <glib.h>

struct rfs_handles;

/* A new, empty set. */
struct rfs_handles *rfs_handles_new(void);
/* Frees every handle still in the set (with the function it was added
 * with), then the set.  No request may be running. */
void rfs_handles_free(struct rfs_handles *hs);

/* Records handle h, which free_fn frees. */
void rfs_handles_add(struct rfs_handles *hs, void *h, GDestroyNotify free_fn);
/* Takes h out of the set and frees it; a handle not in the set (NULL
 * included) is left alone. */
void rfs_handles_release(struct rfs_handles *hs, void *h);
/* The number of handles in the set. */
guint rfs_handles_count(struct rfs_handles *hs);
