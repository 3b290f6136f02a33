/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats.h - what the daemon counts, and MOUNTPOINT/.stats, which shows
 * it (remapctl stats, remapfs_get_stats).
 *
 * Each node counts the reads and writes served through it, the pages
 * remapped in it and the invalidations sent for it (struct
 * rfs_node_counters, updated with relaxed atomics: totals, not a
 * snapshot); the context counts transactions and their latency.  Opening
 * .stats (its owner, read-only) takes a snapshot in the text format that
 * remapfs(1) describes in STATISTICS. */
#pragma once
#include "remapfs.h"
#include <glib.h>
#include <stdint.h>

/* Adds v to a counter (any thread). */
static inline void rfs_count(uint64_t *counter, uint64_t v)
{
	__atomic_add_fetch(counter, v, __ATOMIC_RELAXED);
}

/* Records one transaction that took us microseconds (control thread). */
void rfs_stats_txn(struct rfs_stats *s, uint64_t us);

/* The statistics of the daemon and of every node that served something
 * or holds a map, as text.  Takes the locks it needs. */
GString *rfs_stats_dump(struct rfs_ctx *ctx);
