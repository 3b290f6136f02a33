/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nodes.c - the table of nodes the kernel knows (see nodes.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "nodes.h"
#include "pageset.h"
#include "dropcache.h"
#include "fmap.h"

#include <errno.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

/* The most records a table may need: one per slot. */
#define RFS_RECORDS_MAX                                                        \
	((size_t)RFS_NODE_CHUNK * RFS_NODE_CHUNKS *                            \
	 sizeof(struct rfs_node_record))

/* Synthetic inode numbers start high so they do not collide in practice
 * with SOURCE's (they are only shown in st_ino, never used as keys). */
#define RFS_SYNTHETIC_INO_BASE (UINT64_C(1) << 62)

/* Hash of a node by its (dev, ino) key. */
static guint node_hash(gconstpointer p)
{
	const struct rfs_node *n = p;
	uint64_t h =
	    (uint64_t)n->ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)n->dev;
	return (guint)(h ^ (h >> 32));
}

/* Equality of two nodes by (dev, ino). */
static gboolean node_equal(gconstpointer a, gconstpointer b)
{
	const struct rfs_node *x = a, *y = b;
	return x->dev == y->dev && x->ino == y->ino;
}

/* The record of the node with ID id, or NULL when records are not kept
 * (or none covers it: the root).  Under the lock. */
static struct rfs_node_record *record_of(struct rfs_nodes *nodes, uint64_t id)
{
	uint64_t slot = id - RFS_NODE_ID_BASE;
	return nodes->records && id >= RFS_NODE_ID_BASE &&
		       slot < nodes->records_cap
		   ? &nodes->records[slot]
		   : NULL;
}

/* Writes n's record, if records are kept.  Under the lock. */
static void record_write_locked(struct rfs_nodes *nodes, struct rfs_node *n)
{
	struct rfs_node_record *r = record_of(nodes, n->id);
	if (!r)
		return;
	__atomic_store_n(&r->id, 0, __ATOMIC_RELEASE);
	r->nlookup = n->nlookup;
	r->dev = n->dev;
	r->ino = n->ino;
	r->fd = n->fd;
	r->kind = n->kind;
	r->parent = n->rec_parent;
	r->name_hash = n->rec_name_hash;
	r->removed = n->rec_removed;
	__atomic_store_n(&r->id, n->id, __ATOMIC_RELEASE);
}

/* Updates n's recorded lookups.  Under the lock. */
static void record_nlookup_locked(struct rfs_nodes *nodes, struct rfs_node *n)
{
	struct rfs_node_record *r = record_of(nodes, n->id);
	if (r)
		__atomic_store_n(&r->nlookup, n->nlookup, __ATOMIC_RELEASE);
}

/* Makes the records cover slot (one chunk more at a time); a failure
 * stops keeping them (a restart then knows none of these nodes).  Under
 * the lock. */
static void records_cover_locked(struct rfs_nodes *nodes, uint32_t slot)
{
	if (!nodes->records || slot < nodes->records_cap)
		return;
	uint64_t cap = ((uint64_t)(slot >> RFS_NODE_CHUNK_SHIFT) + 1)
		       << RFS_NODE_CHUNK_SHIFT;
	if (ftruncate(nodes->records_fd,
		      (off_t)(cap * sizeof(struct rfs_node_record))) == 0) {
		nodes->records_cap = cap;
		return;
	}
	g_warning("restart: cannot keep more node records (%s): a worker "
		  "started after this one dies will not know nodes made from "
		  "now on",
		  g_strerror(errno));
	nodes->records_cap = 0;
	munmap(nodes->records, RFS_RECORDS_MAX);
	nodes->records = NULL;
}

/* What a slot held for a recorded virtual view holds: no node has ID 0,
 * so rfs_nodes_by_id finds nothing there. */
static struct rfs_node held_slot;

/* Puts n in slot, whose chunk is made on first use.  Under the lock. */
static void slot_set_locked(struct rfs_nodes *nodes, uint32_t slot,
			    struct rfs_node *n)
{
	struct rfs_node ***chunk = &nodes->slots[slot >> RFS_NODE_CHUNK_SHIFT];
	if (!g_atomic_pointer_get(chunk))
		g_atomic_pointer_set(chunk,
				     g_new0(struct rfs_node *, RFS_NODE_CHUNK));
	g_atomic_pointer_set(&(*chunk)[slot & (RFS_NODE_CHUNK - 1)], n);
}

/* The node in slot, or NULL.  Under the lock (or not, see by_id). */
static struct rfs_node *slot_get(struct rfs_nodes *nodes, uint64_t slot)
{
	struct rfs_node **chunk =
	    g_atomic_pointer_get(&nodes->slots[slot >> RFS_NODE_CHUNK_SHIFT]);
	return chunk ? g_atomic_pointer_get(&chunk[slot & (RFS_NODE_CHUNK - 1)])
		     : NULL;
}

/* Gives n an ID: a free slot, or the next never used.  Under the lock. */
static void slot_take_locked(struct rfs_nodes *nodes, struct rfs_node *n)
{
	uint32_t slot;
	if (nodes->free_slots->len) {
		slot = g_array_index(nodes->free_slots, uint32_t,
				     nodes->free_slots->len - 1);
		g_array_set_size(nodes->free_slots, nodes->free_slots->len - 1);
	} else {
		/* 2^30 nodes at once take hundreds of GiB: not reached. */
		if (nodes->slots_used >= RFS_NODE_CHUNK * RFS_NODE_CHUNKS)
			g_error("more than %u nodes at once",
				RFS_NODE_CHUNK * RFS_NODE_CHUNKS);
		slot = nodes->slots_used++;
	}
	n->id = (uint64_t)slot + RFS_NODE_ID_BASE;
	slot_set_locked(nodes, slot, n);
	records_cover_locked(nodes, slot);
	record_write_locked(nodes, n);
}

/* Frees the slot of ID id (not the root's) for another node, and its
 * record.  Under the lock. */
static void slot_free_locked(struct rfs_nodes *nodes, uint64_t id)
{
	struct rfs_node_record *r = record_of(nodes, id);
	if (r)
		__atomic_store_n(&r->id, 0, __ATOMIC_RELEASE);
	uint32_t slot = (uint32_t)(id - RFS_NODE_ID_BASE);
	slot_set_locked(nodes, slot, NULL);
	g_array_append_val(nodes->free_slots, slot);
}

/* Frees n's slot for another node.  Under the lock. */
static void slot_give_locked(struct rfs_nodes *nodes, struct rfs_node *n)
{
	if (n->id >= RFS_NODE_ID_BASE) /* else the root */
		slot_free_locked(nodes, n->id);
}

struct rfs_node *rfs_nodes_by_id(struct rfs_nodes *nodes, uint64_t id)
{
	if (id == 1 /* FUSE_ROOT_ID */)
		return nodes->root;
	if (id < RFS_NODE_ID_BASE ||
	    id - RFS_NODE_ID_BASE >= (uint64_t)RFS_NODE_CHUNK * RFS_NODE_CHUNKS)
		return NULL;
	struct rfs_node *n = slot_get(nodes, id - RFS_NODE_ID_BASE);
	return n && n->id == id ? n : NULL;
}

void rfs_nodes_init(struct rfs_nodes *nodes, int root_fd)
{
	struct stat st;
	g_mutex_init(&nodes->lock);
	g_mutex_init(&nodes->fmap_lock);
	nodes->table = g_hash_table_new(node_hash, node_equal);
	nodes->specials = g_hash_table_new(NULL, NULL);
	nodes->next_ino = RFS_SYNTHETIC_INO_BASE;
	/* calloc'd: the pages of chunks never used are never touched. */
	nodes->slots = g_new0(struct rfs_node **, RFS_NODE_CHUNKS);
	nodes->free_slots = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	nodes->records_fd = -1;
	nodes->unclaimed =
	    g_array_new(FALSE, FALSE, sizeof(struct rfs_virtual_record));
	nodes->root = g_new0(struct rfs_node, 1);
	nodes->root->id = 1; /* FUSE_ROOT_ID */
	nodes->root->kind = RFS_NODE_SOURCE;
	nodes->root->fd = root_fd;
	if (fstat(root_fd, &st) == 0) {
		nodes->root->dev = st.st_dev;
		nodes->root->ino = st.st_ino;
	}
	nodes->root->type = S_IFDIR;
	nodes->root->refs = 1; /* never freed before destroy */
	g_hash_table_add(nodes->table, nodes->root);
}

/* Frees a node whose counts reached zero; called without the lock. */
static void node_free(struct rfs_nodes *nodes, struct rfs_node *n)
{
	if (n->view && nodes->free_view)
		nodes->free_view(n->view, nodes->free_view_data);
	if (n->parent)
		rfs_node_unref(nodes, n->parent);
	if (n->virtuals)
		g_hash_table_unref(n->virtuals);
	if (n->viewers)
		g_hash_table_unref(n->viewers);
	g_free(n->name);
	rfs_fmap_free(n->fmap);
	rfs_dropset_unref(n->dropped);
	rfs_pageset_free(n->cached);
	if (n->fd >= 0)
		close(n->fd);
	g_free(n);
}

void rfs_nodes_destroy(struct rfs_nodes *nodes)
{
	GHashTableIter it;
	gpointer key;
	GPtrArray *all = g_ptr_array_new();
	g_mutex_lock(&nodes->lock);
	nodes->destroying = true; /* references drop, nothing is freed */
	g_mutex_unlock(&nodes->lock);
	g_hash_table_iter_init(&it, nodes->table);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(all, key);
	g_hash_table_remove_all(nodes->table);
	g_hash_table_iter_init(&it, nodes->specials);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_ptr_array_add(all, key);
	g_hash_table_remove_all(nodes->specials);
	/* Break references between nodes, then free them all. */
	for (guint i = 0; i < all->len; i++) {
		struct rfs_node *n = all->pdata[i];
		n->parent = NULL;
		if (n->view && nodes->free_view)
			nodes->free_view(n->view, nodes->free_view_data);
		n->view = NULL;
	}
	for (guint i = 0; i < all->len; i++) {
		struct rfs_node *n = all->pdata[i];
		if (n->virtuals)
			g_hash_table_unref(n->virtuals);
		if (n->viewers)
			g_hash_table_unref(n->viewers);
		g_free(n->name);
		rfs_fmap_free(n->fmap);
		rfs_dropset_unref(n->dropped);
		rfs_pageset_free(n->cached);
		if (n->fd >= 0)
			close(n->fd);
		g_free(n);
	}
	g_ptr_array_unref(all);
	g_hash_table_unref(nodes->table);
	g_hash_table_unref(nodes->specials);
	for (uint32_t c = 0; c < RFS_NODE_CHUNKS; c++)
		g_free(nodes->slots[c]);
	g_free(nodes->slots);
	g_array_unref(nodes->free_slots);
	if (nodes->records)
		munmap(nodes->records, RFS_RECORDS_MAX);
	g_array_unref(nodes->unclaimed);
	g_mutex_clear(&nodes->lock);
	g_mutex_clear(&nodes->fmap_lock);
}

struct rfs_node *rfs_nodes_get(struct rfs_nodes *nodes, int fd,
			       const struct stat *st, bool kernel)
{
	struct rfs_node key = {.dev = st->st_dev, .ino = st->st_ino};
	struct rfs_node *n;

	g_mutex_lock(&nodes->lock);
	n = g_hash_table_lookup(nodes->table, &key);
	if (n) {
		if (n->fd != fd)
			close(fd);
	} else {
		n = g_new0(struct rfs_node, 1);
		n->kind = RFS_NODE_SOURCE;
		n->fd = fd;
		n->dev = st->st_dev;
		n->ino = st->st_ino;
		n->type = st->st_mode & S_IFMT;
		slot_take_locked(nodes, n);
		g_hash_table_add(nodes->table, n);
	}
	if (kernel) {
		n->nlookup++;
		record_nlookup_locked(nodes, n);
	} else {
		n->refs++;
	}
	g_mutex_unlock(&nodes->lock);
	return n;
}

struct rfs_node *rfs_nodes_find(struct rfs_nodes *nodes, dev_t dev, ino_t ino)
{
	struct rfs_node key = {.dev = dev, .ino = ino};
	struct rfs_node *n;
	g_mutex_lock(&nodes->lock);
	n = g_hash_table_lookup(nodes->table, &key);
	if (n)
		n->refs++;
	g_mutex_unlock(&nodes->lock);
	return n;
}

struct rfs_node *rfs_nodes_new_special(struct rfs_nodes *nodes,
				       enum rfs_node_kind kind, mode_t type)
{
	struct rfs_node *n = g_new0(struct rfs_node, 1);
	n->kind = kind;
	n->fd = -1;
	n->type = type;
	n->refs = 1;
	g_mutex_lock(&nodes->lock);
	n->ino = (ino_t)nodes->next_ino++;
	slot_take_locked(nodes, n);
	g_hash_table_add(nodes->specials, n);
	g_mutex_unlock(&nodes->lock);
	return n;
}

void rfs_node_lookup(struct rfs_nodes *nodes, struct rfs_node *n)
{
	g_mutex_lock(&nodes->lock);
	n->nlookup++;
	record_nlookup_locked(nodes, n);
	g_mutex_unlock(&nodes->lock);
}

void rfs_node_ref(struct rfs_nodes *nodes, struct rfs_node *n)
{
	g_mutex_lock(&nodes->lock);
	n->refs++;
	g_mutex_unlock(&nodes->lock);
}

/* Removes n from the table when nothing holds it; returns true when the
 * caller must free it.  Called with the lock held. */
static bool node_release_locked(struct rfs_nodes *nodes, struct rfs_node *n)
{
	if (n->nlookup || n->refs || nodes->destroying)
		return false;
	if (n->kind == RFS_NODE_SOURCE)
		g_hash_table_remove(nodes->table, n);
	else
		g_hash_table_remove(nodes->specials, n);
	slot_give_locked(nodes, n);
	return true;
}

void rfs_node_forget(struct rfs_nodes *nodes, struct rfs_node *n,
		     uint64_t count)
{
	bool dead;
	g_mutex_lock(&nodes->lock);
	n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
	record_nlookup_locked(nodes, n);
	dead = node_release_locked(nodes, n);
	g_mutex_unlock(&nodes->lock);
	if (dead)
		node_free(nodes, n);
}

void rfs_node_unref(struct rfs_nodes *nodes, struct rfs_node *n)
{
	bool dead;
	g_mutex_lock(&nodes->lock);
	g_assert(n->refs > 0);
	n->refs--;
	dead = node_release_locked(nodes, n);
	g_mutex_unlock(&nodes->lock);
	if (dead)
		node_free(nodes, n);
}

bool rfs_node_known(struct rfs_nodes *nodes, struct rfs_node *n)
{
	bool known;
	g_mutex_lock(&nodes->lock);
	known = n->nlookup > 0;
	g_mutex_unlock(&nodes->lock);
	return known;
}

struct rfs_pageset *rfs_node_pageset(struct rfs_node *n)
{
	struct rfs_pageset *s = g_atomic_pointer_get(&n->cached);
	if (s)
		return s;
	s = rfs_pageset_new();
	if (!g_atomic_pointer_compare_and_exchange(&n->cached, NULL, s)) {
		rfs_pageset_free(s);
		s = g_atomic_pointer_get(&n->cached);
	}
	return s;
}

/* Adopts the node of record r (slot) if its descriptor still shows the
 * recorded file.  Under the lock. */
static struct rfs_node *adopt_one_locked(struct rfs_nodes *nodes,
					 const struct rfs_node_record *r,
					 uint32_t slot)
{
	struct stat st;
	if (r->kind != RFS_NODE_SOURCE || !r->nlookup || slot_get(nodes, slot))
		return NULL;
	if (fstat(r->fd, &st) < 0 || (uint64_t)st.st_dev != r->dev ||
	    (uint64_t)st.st_ino != r->ino) {
		g_message("restart: node %" PRIu64 " (%" PRIu64 " lookups): "
			  "descriptor %d no longer shows it (%s)",
			  r->id, r->nlookup, r->fd,
			  errno ? g_strerror(errno) : "another file");
		return NULL;
	}
	struct rfs_node key = {.dev = st.st_dev, .ino = st.st_ino};
	if (g_hash_table_lookup(nodes->table, &key))
		return NULL;
	struct rfs_node *n = g_new0(struct rfs_node, 1);
	n->kind = RFS_NODE_SOURCE;
	n->id = (uint64_t)slot + RFS_NODE_ID_BASE;
	n->fd = r->fd;
	n->dev = st.st_dev;
	n->ino = st.st_ino;
	n->type = st.st_mode & S_IFMT;
	n->nlookup = r->nlookup;
	n->refs = 1; /* adopted's */
	slot_set_locked(nodes, slot, n);
	g_hash_table_add(nodes->table, n);
	if (slot >= nodes->slots_used)
		nodes->slots_used = slot + 1;
	return n;
}

int rfs_nodes_adopt(struct rfs_nodes *nodes, int memfd, GPtrArray *adopted)
{
	struct stat st;
	if (fstat(memfd, &st) < 0)
		return errno;
	void *map = mmap(NULL, RFS_RECORDS_MAX, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_NORESERVE, memfd, 0);
	if (map == MAP_FAILED)
		return errno;
	struct rfs_node_record *recs = map;
	uint64_t count = (uint64_t)st.st_size / sizeof(*recs);
	g_mutex_lock(&nodes->lock);
	for (uint64_t i = 0; i < count && i < UINT32_MAX; i++) {
		struct rfs_node_record r = recs[i];
		r.id = __atomic_load_n(&recs[i].id, __ATOMIC_ACQUIRE);
		if (r.id != i + RFS_NODE_ID_BASE)
			continue;
		if (r.kind == RFS_NODE_VIRTUAL && r.nlookup &&
		    !slot_get(nodes, i)) {
			struct rfs_virtual_record v = {
			    r.id,     r.nlookup,   r.ino,
			    r.parent, r.name_hash, r.removed != 0};
			g_array_append_val(nodes->unclaimed, v);
			slot_set_locked(nodes, (uint32_t)i, &held_slot);
			if (i >= nodes->slots_used)
				nodes->slots_used = (uint32_t)i + 1;
			continue;
		}
		struct rfs_node *n = adopt_one_locked(nodes, &r, (uint32_t)i);
		if (n)
			g_ptr_array_add(adopted, n);
	}
	/* The slots below the highest in use that hold nothing are free. */
	g_array_set_size(nodes->free_slots, 0);
	for (uint32_t s = nodes->slots_used; s-- > 0;)
		if (!slot_get(nodes, s))
			g_array_append_val(nodes->free_slots, s);
	nodes->records = recs;
	nodes->records_fd = memfd;
	nodes->records_cap = count;
	if (nodes->slots_used)
		records_cover_locked(nodes, nodes->slots_used - 1);
	for (uint64_t i = 0; i < nodes->records_cap; i++) {
		struct rfs_node *n = slot_get(nodes, i);
		if (n && n != &held_slot)
			record_write_locked(nodes, n);
		else if (!n)
			__atomic_store_n(&recs[i].id, 0, __ATOMIC_RELEASE);
	}
	g_mutex_unlock(&nodes->lock);
	return 0;
}

uint64_t rfs_name_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

void rfs_node_record_name(struct rfs_nodes *nodes, struct rfs_node *n,
			  uint64_t parent_id, const char *name)
{
	g_mutex_lock(&nodes->lock);
	n->rec_parent = parent_id;
	n->rec_name_hash = rfs_name_hash(name);
	n->rec_removed = false;
	record_write_locked(nodes, n);
	g_mutex_unlock(&nodes->lock);
}

void rfs_node_record_removed(struct rfs_nodes *nodes, struct rfs_node *n)
{
	g_mutex_lock(&nodes->lock);
	n->rec_removed = true;
	record_write_locked(nodes, n);
	g_mutex_unlock(&nodes->lock);
}

/* Gives n the slot, ID, inode number and lookups of unclaimed record i.
 * Under lock. */
static void claim_locked(struct rfs_nodes *nodes, struct rfs_node *n, guint i)
{
	struct rfs_virtual_record *v =
	    &g_array_index(nodes->unclaimed, struct rfs_virtual_record, i);
	uint32_t slot = (uint32_t)(v->id - RFS_NODE_ID_BASE);
	slot_give_locked(nodes, n); /* its slot of the restore */
	n->id = v->id;
	n->ino = (ino_t)v->ino;
	n->nlookup += v->nlookup;
	slot_set_locked(nodes, slot, n);
	record_write_locked(nodes, n);
	g_array_remove_index_fast(nodes->unclaimed, i);
}

bool rfs_nodes_claim_virtual(struct rfs_nodes *nodes, struct rfs_node *n,
			     uint64_t parent_id, const char *name)
{
	uint64_t hash = rfs_name_hash(name);
	bool claimed = false;
	g_mutex_lock(&nodes->lock);
	for (int removed = 0; !claimed && removed < 2; removed++)
		for (guint i = 0; i < nodes->unclaimed->len; i++) {
			struct rfs_virtual_record *v = &g_array_index(
			    nodes->unclaimed, struct rfs_virtual_record, i);
			if (v->parent == parent_id && v->name_hash == hash &&
			    v->removed == removed) {
				claim_locked(nodes, n, i);
				claimed = true;
				break;
			}
		}
	g_mutex_unlock(&nodes->lock);
	return claimed;
}

bool rfs_nodes_claim_orphan(struct rfs_nodes *nodes, struct rfs_node *n,
			    uint64_t id)
{
	bool claimed = false;
	g_mutex_lock(&nodes->lock);
	for (guint i = 0; i < nodes->unclaimed->len; i++) {
		struct rfs_virtual_record *v = &g_array_index(
		    nodes->unclaimed, struct rfs_virtual_record, i);
		if (v->id == id && v->removed) {
			claim_locked(nodes, n, i);
			claimed = true;
			break;
		}
	}
	g_mutex_unlock(&nodes->lock);
	return claimed;
}

GPtrArray *rfs_nodes_orphans(struct rfs_nodes *nodes)
{
	GPtrArray *out = g_ptr_array_new();
	GHashTableIter it;
	gpointer key;
	g_mutex_lock(&nodes->lock);
	g_hash_table_iter_init(&it, nodes->specials);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct rfs_node *n = key;
		if (n->kind == RFS_NODE_VIRTUAL && n->nlookup &&
		    n->rec_removed) {
			n->refs++;
			g_ptr_array_add(out, n);
		}
	}
	g_mutex_unlock(&nodes->lock);
	return out;
}

guint rfs_nodes_claims_done(struct rfs_nodes *nodes)
{
	g_mutex_lock(&nodes->lock);
	guint left = nodes->unclaimed->len;
	for (guint i = 0; i < nodes->unclaimed->len; i++) {
		slot_free_locked(nodes,
				 g_array_index(nodes->unclaimed,
					       struct rfs_virtual_record, i)
				     .id);
	}
	g_array_set_size(nodes->unclaimed, 0);
	g_mutex_unlock(&nodes->lock);
	return left;
}
