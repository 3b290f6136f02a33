/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pagemap.h - runs of pages: view page -> backing page.  Pure, no locking.
 *
 * A pagemap is a sorted set of non-overlapping runs {vpage, fpage, count}:
 * view pages vpage..vpage+count-1 map to fpage..fpage+count-1.
 *
 * Two flavours share the code:
 *  - RFS_PAGEMAP_IDENTITY: pages not covered by a run map to themselves.
 *    Runs with vpage == fpage are never stored (they are the default), so
 *    an untouched map holds zero runs.  Used for a view's map.
 *  - RFS_PAGEMAP_SPARSE: pages not covered by a run are absent; identity
 *    runs are stored like any other.  Used for the writeback-route overlay.
 * In both, adjacent runs that continue each other (v1+c1 == v2 and
 * f1+c1 == f2) are merged, so the stored form of a mapping is canonical.
 *
 * Callers guarantee count >= 1 and that vpage+count and fpage+count do not
 * overflow uint64_t; functions assert it.  Lookups are O(log n); set and
 * reset are O(log n + runs removed + chunk size).  Memory is a few tens of
 * bytes per stored run. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rfs_run {
	uint64_t vpage;
	uint64_t fpage;
	uint64_t count;
} rfs_run;

typedef enum rfs_pagemap_kind {
	RFS_PAGEMAP_IDENTITY,
	RFS_PAGEMAP_SPARSE,
} rfs_pagemap_kind;

typedef struct rfs_pagemap rfs_pagemap;

/* A new, empty map of the given kind.  Never NULL (aborts on OOM, as glib). */
rfs_pagemap *rfs_pagemap_new(rfs_pagemap_kind kind);
/* Frees the map; NULL is allowed. */
void rfs_pagemap_free(rfs_pagemap *m);
/* A deep copy of m. */
rfs_pagemap *rfs_pagemap_copy(const rfs_pagemap *m);

/* Looks vpage up.  Returns true and sets *fpage when a run covers vpage.
 * *span (if non-NULL) receives the number of pages from vpage to the end of
 * that run, or, when no run covers vpage, to the start of the next run
 * (UINT64_MAX - vpage when there is none). */
bool rfs_pagemap_find(const rfs_pagemap *m, uint64_t vpage, uint64_t *fpage,
		      uint64_t *span);

/* The backing page of vpage for an IDENTITY map (vpage itself when no run
 * covers it); *span as for rfs_pagemap_find, the pages from vpage on that
 * continue contiguously (within the run, or within the identity gap). */
uint64_t rfs_pagemap_lookup(const rfs_pagemap *m, uint64_t vpage,
			    uint64_t *span);

/* Maps vpage..vpage+count-1 to fpage..fpage+count-1, replacing whatever
 * covered those pages.  In an IDENTITY map, vpage == fpage resets them. */
void rfs_pagemap_set(rfs_pagemap *m, uint64_t vpage, uint64_t fpage,
		     uint64_t count);

/* Removes every run over vpage..vpage+count-1 (splitting runs at the
 * edges): identity for an IDENTITY map, absent for a SPARSE one.
 * count may be UINT64_MAX - vpage to mean "to the end". */
void rfs_pagemap_reset(rfs_pagemap *m, uint64_t vpage, uint64_t count);

/* Removes every run. */
void rfs_pagemap_clear(rfs_pagemap *m);

/* Number of stored runs. */
size_t rfs_pagemap_nruns(const rfs_pagemap *m);

/* Bytes of memory the map uses (structure and runs, not malloc overhead). */
size_t rfs_pagemap_memory(const rfs_pagemap *m);

/* Copies up to max stored runs, in vpage order, starting with the first run
 * that ends after `from` (a run that covers `from` is returned whole, not
 * clipped).  Returns how many were copied; 0 when there are no more. */
size_t rfs_pagemap_runs(const rfs_pagemap *m, uint64_t from, rfs_run *out,
			size_t max);

/* Calls fn for every stored run in vpage order; stops early and returns
 * fn's value when fn returns non-zero, else returns 0. */
int rfs_pagemap_foreach(const rfs_pagemap *m,
			int (*fn)(const rfs_run *run, void *data), void *data);

/* Checks the internal invariants (sorted, non-overlapping, merged, no
 * identity runs in an IDENTITY map, chunk bookkeeping).  For tests. */
bool rfs_pagemap_check(const rfs_pagemap *m);
