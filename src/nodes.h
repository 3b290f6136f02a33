/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nodes.h - the objects the kernel knows by inode number.
 *
 * A node is a SOURCE object (found by device and inode number and held by
 * an O_PATH descriptor), a virtual view, or the control file.  The kernel
 * knows a node by its ID (fuse_ino_t): FUSE_ROOT_ID for the root, else a
 * slot of the table plus RFS_NODE_ID_BASE, a value that means something
 * to any process holding the table, not an address; a slot is used again
 * only once its node is gone, which the kernel has forgotten then.  A node
 * lives while the kernel holds lookups on it (nlookup) or the daemon holds
 * references (refs). */
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
	uint64_t id;	  /* the kernel's node ID; fixed for the node's life */
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
	/* Virtual views: where its record says it is (rfs_node_record_name)
	 * and whether it was taken out of the namespace since
	 * (rfs_node_record_removed); under rfs_nodes.lock. */
	uint64_t rec_parent, rec_name_hash;
	bool rec_removed;
	struct rfs_node_counters counters;
};

/* Node IDs: slots of a two-level table, RFS_NODE_CHUNK slots a chunk. */
#define RFS_NODE_ID_BASE 2 /* the first ID after FUSE_ROOT_ID */
#define RFS_NODE_CHUNK_SHIFT 10
#define RFS_NODE_CHUNK (1u << RFS_NODE_CHUNK_SHIFT)
#define RFS_NODE_CHUNKS (1u << 20) /* at most 2^30 nodes at once */

/* What a worker that replaces one that died (supervise.h) needs of each
 * node the kernel knows, kept by slot in memory the supervisor holds (a
 * memfd): written under the nodes' lock, id last on creation and first
 * on removal. */
struct rfs_node_record {
	uint64_t id; /* 0: no node in this slot */
	uint64_t nlookup;
	uint64_t dev, ino; /* SOURCE: the key; virtual: ino shown */
	int32_t fd;	   /* the O_PATH descriptor, in the shared table */
	uint32_t kind;
	/* Virtual views: the directory's node ID and the name's hash
	 * (rfs_name_hash), as rfs_node_record_name last set them, and
	 * whether the view was removed since (1) or not (0). */
	uint64_t parent, name_hash;
	uint32_t removed, unused;
};

/* A virtual view's record kept by rfs_nodes_adopt for the view the state
 * makes again (rfs_nodes_claim_virtual). */
struct rfs_virtual_record {
	uint64_t id, nlookup, ino, parent, name_hash;
	bool removed;
};

struct rfs_nodes {
	/* Protects table, specials, the slot table's changes, the free
	 * slots, the records, and every node's nlookup/refs. */
	GMutex lock;
	GMutex fmap_lock;     /* serializes making and growing nodes' fmaps */
	GHashTable *table;    /* (dev, ino) -> SOURCE node */
	GHashTable *specials; /* the other live nodes (virtual, control) */
	bool destroying;      /* rfs_nodes_destroy runs: nothing is freed */
	struct rfs_node *root;
	uint64_t next_ino; /* synthetic inode numbers; under lock */
	/* ID - RFS_NODE_ID_BASE -> node: chunks of atomic pointers, read
	 * without the lock (rfs_nodes_by_id), set and cleared under it. */
	struct rfs_node ***slots;
	uint32_t slots_used; /* slots ever handed out; under lock */
	GArray *free_slots;  /* uint32_t slots of freed nodes; under lock */
	/* -o restart: the records by slot (mapped from records_fd, whose
	 * size covers records_cap slots), or NULL. */
	struct rfs_node_record *records;
	int records_fd;
	uint64_t records_cap;
	/* rfs_nodes_adopt's virtual views, their slots held until
	 * rfs_nodes_claims_done; under lock. */
	GArray *unclaimed; /* struct rfs_virtual_record */
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

/* Takes over the SOURCE nodes recorded in memfd by a worker that died:
 * nodes with the same IDs, descriptors and lookup counts (those whose
 * descriptor no longer shows the recorded file are left out; virtual views
 * are not kept yet), each appended to adopted with a daemon reference.
 * From then on the table keeps its records in memfd.  Call on a new table
 * (its special nodes made) before any request.  Returns 0 or an errno. */
int rfs_nodes_adopt(struct rfs_nodes *nodes, int memfd, GPtrArray *adopted);

/* The hash of a name in the records. */
uint64_t rfs_name_hash(const char *name);
/* Records that virtual view node n is called name in the directory node
 * parent_id (at its creation and renames). */
void rfs_node_record_name(struct rfs_nodes *nodes, struct rfs_node *n,
			  uint64_t parent_id, const char *name);
/* Records that virtual view node n left the namespace (its name stays in
 * the record: the state may not say so yet when the worker dies). */
void rfs_node_record_removed(struct rfs_nodes *nodes, struct rfs_node *n);
/* After the state is loaded: gives virtual view node n (its daemon
 * reference the only one) the ID and lookups of the recorded virtual view
 * called name in parent_id, if there is one: one not removed first, else
 * one whose removal the state did not keep (no orphan block claimed it).
 * Returns whether it did. */
bool rfs_nodes_claim_virtual(struct rfs_nodes *nodes, struct rfs_node *n,
			     uint64_t parent_id, const char *name);
/* The same for a virtual view removed while the kernel held it (an
 * orphan: recorded as removed), by the ID it had. */
bool rfs_nodes_claim_orphan(struct rfs_nodes *nodes, struct rfs_node *n,
			    uint64_t id);
/* The virtual view nodes the kernel holds that are out of the namespace
 * (recorded as removed), each with a daemon reference. */
GPtrArray *rfs_nodes_orphans(struct rfs_nodes *nodes);
/* Frees the slots of the recorded virtual views nothing claimed (views the
 * state no longer has: the kernel's IDs of those answer ESTALE); returns
 * how many. */
guint rfs_nodes_claims_done(struct rfs_nodes *nodes);

/* The live node with this kernel ID, or NULL (no lock, no reference: the
 * kernel only names nodes it holds lookups on). */
struct rfs_node *rfs_nodes_by_id(struct rfs_nodes *nodes, uint64_t id);

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
