/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fmap.h - read-only shared mappings of SOURCE files, so that a read reply
 * can hand the kernel many scattered pages of a file in one vmsplice(2),
 * without copying them and without a system call per page. */
#pragma once
#include "nodes.h"
#include <stddef.h>

struct rfs_fmap {
	const char *addr;	/* PROT_READ, MAP_SHARED, from offset 0 */
	size_t len;		/* bytes mapped (may pass the file's end) */
	struct rfs_fmap *older; /* smaller mappings, kept while readers may
				   still use them; freed with the node */
};

/* The mapping of node n's file covering [0, end), made or grown as
 * needed, or NULL when the file cannot be mapped.  Thread-safe.  Bytes
 * past the file's end must not be touched (vmsplice gets EFAULT). */
const struct rfs_fmap *rfs_fmap_get(struct rfs_nodes *nodes, struct rfs_node *n,
				    size_t end);

/* Unmaps a chain of mappings (when its node dies). */
void rfs_fmap_free(struct rfs_fmap *m);
