/* SPDX-License-Identifier: GPL-2.0-or-later */
/* remapfs.h - the daemon's one context, passed to every FUSE op as the
 * session's userdata.  No mutable globals live anywhere else. */
#pragma once
#include "caller.h"
#include "log.h"
#include "nodes.h"
#include "options.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct fuse_session;
struct rfs_control;
struct rfs_notifier;
struct rfs_pusher;
struct rfs_inflight;
struct rfs_handles;
struct rfs_watch;
struct rfs_fuseio;

#define RFS_CONTROL_NAME ".control"
#define RFS_STATS_NAME ".stats"

/* Whether name, at the root, is one of the daemon's own files. */
static inline bool rfs_special_name(const char *name)
{
	return strcmp(name, RFS_CONTROL_NAME) == 0 ||
	       strcmp(name, RFS_STATS_NAME) == 0;
}

/* The daemon's own counters (stats.h): transactions, by the control
 * thread; read by .stats with relaxed atomics. */
struct rfs_stats {
	int64_t started; /* monotonic us at start */
	uint64_t txns, txn_us, txn_us_max;
	uint64_t txn_hist[40]; /* by log2 of microseconds */
};

/* The largest FUSE request: 1 MiB less 4 pages of 4 KiB, so that a reply
 * and its header fit a 1 MiB pipe (fs.pipe-max-size) and can be spliced.
 * A write to .control of up to this many bytes is one transaction. */
#define RFS_MAX_TRANSACTION ((1u << 20) - 4 * 4096u)

struct rfs_ctx {
	struct fuse_session *se;
	struct rfs_options opts;
	uint64_t pagesize;   /* view page size in bytes */
	unsigned page_shift; /* log2(pagesize) */
	uint64_t page_limit; /* pages below this have offsets that fit off_t */
	size_t sys_pagesize; /* the kernel's page size */
	unsigned sys_page_shift; /* log2(sys_pagesize) */
	off_t folio_max; /* the largest folio the page cache makes: a PMD */
	/* The largest write the kernel never splits into two requests,
	 * whatever the buffer's alignment: one page less than a request.
	 * A write to .control of up to this size is one transaction. */
	size_t txn_write_max;
	struct rfs_self self; /* the daemon's own identity (caller.h) */
	struct rfs_log log;   /* where messages go (log.h) */
	uid_t owner;	      /* the user who mounted: owns .control */
	gid_t owner_gid;
	struct rfs_nodes nodes;	     /* node table; its own lock */
	struct rfs_node *control;    /* the .control node */
	struct rfs_node *stats_node; /* the .stats node */
	struct rfs_stats stats;	     /* stats.h */
	/* state_lock protects every view (maps, routes, sizes, names), the
	 * virtual namespace (directory nodes' virtuals), directory nodes'
	 * parent/name, and file nodes' viewers.  Never held across blocking
	 * I/O, a reply or a kernel notification. */
	GRWLock state_lock;
	GHashTable *views; /* views with state: virtual ones and
			      mirrored ones with a non-identity map;
			      under state_lock */
	/* viewsets_lock serializes the changes to the view sets (views,
	 * directories' virtuals, backing files' viewers; viewsets.h), made
	 * under state_lock too: a large transaction copies the sets holding
	 * only it, while requests go on.  Taken before state_lock, never
	 * while holding it. */
	GMutex viewsets_lock;
	/* Bumped by every change to a view set; under state_lock. */
	uint64_t viewsets_gen;
	struct rfs_control *ctl;       /* transaction thread and its queue */
	struct rfs_notifier *notifier; /* invalidations, aliased writes */
	struct rfs_watch *watch;       /* -o watch: outside changes to SOURCE */
	struct rfs_pusher *pusher; /* tells the kernel resized views' sizes */
	struct rfs_inflight *inflight; /* write()s in flight (inflight.h) */
	struct rfs_handles *handles;   /* open dirs and .control descriptors */
	struct rfs_fuseio *fuseio;     /* -o restart: the worker's channel */
	bool restarting; /* -o restart: loading the state a worker that died
			    left (restore.h) */
	/* -o restart: where journaled transactions' unique IDs go (fuseio.h),
	 * and those a worker that died journaled (read-only once serving). */
	struct rfs_done_ring *done_ring;
	GHashTable *done_uniques;
	/* -o restart: the orphans (dump.h) the state made again with the IDs
	 * the kernel knows them by (refs), until the worker adopts them. */
	GPtrArray *orphans;
	/* -o restart: where the worker marks its own descriptors (privfd.h;
	 * the supervisor's page), or NULL. */
	uint64_t *privfds;
	uint32_t worker;   /* -o restart: this worker's number (1: the first) */
	const char *zeros; /* read-only zero bytes, zeros_len long */
	size_t zeros_len;
};

/* Pages needed to hold size bytes. */
static inline uint64_t rfs_pages_of(const struct rfs_ctx *ctx, off_t size)
{
	return ((uint64_t)size + ctx->pagesize - 1) >> ctx->page_shift;
}

/* The node behind a kernel node ID, or NULL when no live node has it
 * (an ID the kernel kept from a worker that died; see nodes.h). */
static inline struct rfs_node *rfs_node_of(struct rfs_ctx *ctx, uint64_t ino)
{
	return rfs_nodes_by_id(&ctx->nodes, ino);
}

/* The kernel node ID of a node. */
static inline uint64_t rfs_ino_of(struct rfs_ctx *ctx, struct rfs_node *n)
{
	(void)ctx;
	return n->id;
}
