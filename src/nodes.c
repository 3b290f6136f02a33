/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nodes.c - the table of nodes the kernel knows (see nodes.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "nodes.h"
#include "pageset.h"
#include "dropcache.h"
#include "fmap.h"

#include <unistd.h>

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

void rfs_nodes_init(struct rfs_nodes *nodes, int root_fd)
{
	struct stat st;
	g_mutex_init(&nodes->lock);
	g_mutex_init(&nodes->fmap_lock);
	nodes->table = g_hash_table_new(node_hash, node_equal);
	nodes->specials = g_hash_table_new(NULL, NULL);
	nodes->next_ino = RFS_SYNTHETIC_INO_BASE;
	nodes->root = g_new0(struct rfs_node, 1);
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
		g_hash_table_add(nodes->table, n);
	}
	if (kernel)
		n->nlookup++;
	else
		n->refs++;
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
	g_hash_table_add(nodes->specials, n);
	g_mutex_unlock(&nodes->lock);
	return n;
}

void rfs_node_lookup(struct rfs_nodes *nodes, struct rfs_node *n)
{
	g_mutex_lock(&nodes->lock);
	n->nlookup++;
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
	return true;
}

void rfs_node_forget(struct rfs_nodes *nodes, struct rfs_node *n,
		     uint64_t count)
{
	bool dead;
	g_mutex_lock(&nodes->lock);
	n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
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
