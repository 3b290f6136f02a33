/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nodes.h - the objects the kernel knows by inode number.
 *
 * A node is a SOURCE object (found by device and inode number and held by
 * an O_PATH descriptor), a virtual view, or the control file.  The kernel
 * knows a node by its address (fuse_ino_t), except the root, which is
 * FUSE_ROOT_ID.  A node lives while the kernel holds lookups on it
 * (nlookup) or the daemon holds references (refs). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct rfs_view;
struct rfs_fmap;
struct rfs_dropset;

enum rfs_node_kind {
	RFS_NODE_SOURCE,  /* a file, directory or symlink of SOURCE */
	RFS_NODE_VIRTUAL, /* a virtual view (exists only in the daemon) */
	RFS_NODE_CONTROL, /* MOUNTPOINT/.control */
	RFS_NODE_STATS,	  /* MOUNTPOINT/.stats */
};

/* Whether kind is one of the daemon's own files (.control, .stats),
 * whose handles are the daemon's, not descriptors of SOURCE. */
static inline bool rfs_kind_is_own_file(enum rfs_node_kind kind)
{
	return kind == RFS_NODE_CONTROL || kind == RFS_NODE_STATS;
}

/* What a node served (stats.h); relaxed atomics, any thread. */
struct rfs_node_counters {
	uint64_t reads, read_bytes;   /* read requests and bytes replied */
	uint64_t writes, write_bytes; /* write requests (and writebacks) */
	uint64_t remapped_pages;      /* pages remap commands changed */
	uint64_t invalidations;	      /* notifications sent to the kernel */
};

struct rfs_node {
	enum rfs_node_kind kind;
	int fd;		  /* O_PATH descriptor (SOURCE nodes), else -1 */
	dev_t dev;	  /* key of SOURCE nodes */
	ino_t ino;	  /* key of SOURCE nodes; synthetic for others */
	mode_t type;	  /* S_IFMT bits */
	uint64_t nlookup; /* kernel lookups; under rfs_nodes.lock */
	uint64_t refs;	  /* daemon references; under rfs_nodes.lock */
	/* The following are under the context's state_lock. */
	struct rfs_view *view;	 /* regular files and virtual views */
	struct rfs_node *parent; /* directories: parent as last seen (ref) */
	char *name;		 /* directories: name in parent */
	GHashTable *virtuals;	 /* directories: name -> struct rfs_view * */
	GHashTable *viewers; /* regular files: virtual views over it (a set) */
	/* Regular files: a mapping for read replies (fmap.h); read without
	 * a lock, grown under rfs_nodes.fmap_lock. */
	struct rfs_fmap *fmap;
	/* Regular files: what views have read of the file (dropcache.h),
	 * made on first use; its own lock. */
	struct rfs_dropset *dropped;
	/* Views (regular files and virtual views): the pages the kernel may
	 * cache of this node (pageset.h), made on first use (atomic pointer;
	 * see rfs_node_pageset); its own lock. */
	struct rfs_pageset *cached;
	/* When an invalidation of its pages was last recorded (inflight.h;
	 * monotonic us, relaxed atomic). */
	gint64 inval_us;
	struct rfs_node_counters counters;
};

struct rfs_nodes {
	GMutex lock;	      /* protects table and every node's nlookup/refs */
	GMutex fmap_lock;     /* serializes making and growing nodes' fmaps */
	GHashTable *table;    /* (dev, ino) -> SOURCE node */
	GHashTable *specials; /* the other live nodes (virtual, control) */
	bool destroying;      /* rfs_nodes_destroy runs: nothing is freed */
	struct rfs_node *root;
	uint64_t next_ino; /* synthetic inode numbers; under lock */
	/* Called (without the lock) to free a node's view when it dies. */
	void (*free_view)(struct rfs_view *view, void *data);
	void *free_view_data;
};

/* Initializes the table with the root node over root_fd (taken over). */
void rfs_nodes_init(struct rfs_nodes *nodes, int root_fd);
/* Frees every node, SOURCE and special, whatever holds it (at unmount). */
void rfs_nodes_destroy(struct rfs_nodes *nodes);

/* Finds or adds the SOURCE node for fd (an O_PATH descriptor) with stat st.
 * Takes over fd (closes it when the node already exists).  The result
 * carries one lookup when kernel is true, else one daemon reference. */
struct rfs_node *rfs_nodes_get(struct rfs_nodes *nodes, int fd,
			       const struct stat *st, bool kernel);

/* The SOURCE node with this (dev, ino) with one daemon reference, or NULL. */
struct rfs_node *rfs_nodes_find(struct rfs_nodes *nodes, dev_t dev, ino_t ino);

/* A new non-SOURCE node (virtual view or control) with one daemon
 * reference and a synthetic inode number. */
struct rfs_node *rfs_nodes_new_special(struct rfs_nodes *nodes,
				       enum rfs_node_kind kind, mode_t type);

/* Adds a lookup (kernel) or a reference (daemon) to a live node. */
void rfs_node_lookup(struct rfs_nodes *nodes, struct rfs_node *n);
void rfs_node_ref(struct rfs_nodes *nodes, struct rfs_node *n);
/* Drops n lookups (forget) or one reference; frees the node at zero. */
void rfs_node_forget(struct rfs_nodes *nodes, struct rfs_node *n, uint64_t n_);
void rfs_node_unref(struct rfs_nodes *nodes, struct rfs_node *n);
/* Whether the kernel currently holds lookups on the node. */
bool rfs_node_known(struct rfs_nodes *nodes, struct rfs_node *n);

/* The set of the node's pages the kernel may cache, made on first use
 * (any thread, no lock needed). */
struct rfs_pageset *rfs_node_pageset(struct rfs_node *n);
