/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pageset.h - the pages of a view the kernel may hold in its page cache.
 *
 * The kernel caches a page of a view only through the daemon: a read's
 * reply, or a write it sends (write-through).  So a page that no read or
 * write reached since a transaction last invalidated it is not cached,
 * and a remap of it needs no invalidation.  A set holds the pages reads
 * and writes reached, in chunks of RFS_PAGESET_CHUNK pages; a chunk is
 * added when a page of it is, and goes when its last page is taken.
 * Past RFS_PAGESET_MAX_CHUNKS chunks the set holds every page for good:
 * its memory stays bounded, and remaps invalidate as if nothing were
 * known.  Pure (no FUSE); its own lock, for adds from request handlers
 * running at once. */
#pragma once
#include "pagemap.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define RFS_PAGESET_CHUNK 512
#define RFS_PAGESET_MAX_CHUNKS 65536

struct rfs_pageset;

/* A new, empty set. */
struct rfs_pageset *rfs_pageset_new(void);
/* Frees a set; NULL is allowed. */
void rfs_pageset_free(struct rfs_pageset *s);
/* Adds pages first..first+count-1 (clipped at UINT64_MAX). */
void rfs_pageset_add(struct rfs_pageset *s, uint64_t first, uint64_t count);
/* Appends to runs (GArray of rfs_run; fpage 0) the runs of pages of
 * first..first+count-1 that are in the set, in order, and takes them out
 * of it; a set of every page appends the whole range and keeps it.
 * Returns the pages appended.  Costs O(min(chunks in range, chunks in the
 * set)) chunk visits. */
uint64_t rfs_pageset_take(struct rfs_pageset *s, uint64_t first, uint64_t count,
			  GArray *runs);
/* Takes pages first..first+count-1 out of the set (a set of every page
 * keeps them). */
void rfs_pageset_remove(struct rfs_pageset *s, uint64_t first, uint64_t count);
/* Whether page is in the set. */
bool rfs_pageset_contains(struct rfs_pageset *s, uint64_t page);
/* The pages in the set, or UINT64_MAX once it holds every page. */
uint64_t rfs_pageset_count(struct rfs_pageset *s);
