/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* handles.c - the heap handles the kernel holds (see handles.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "handles.h"

struct rfs_handles {
	GMutex lock;	 /* protects set */
	GHashTable *set; /* handle -> its GDestroyNotify */
};

struct rfs_handles *rfs_handles_new(void)
{
	struct rfs_handles *hs = g_new0(struct rfs_handles, 1);
	g_mutex_init(&hs->lock);
	hs->set = g_hash_table_new(NULL, NULL);
	return hs;
}

void rfs_handles_free(struct rfs_handles *hs)
{
	if (!hs)
		return;
	GHashTableIter it;
	gpointer h, free_fn;
	g_hash_table_iter_init(&it, hs->set);
	while (g_hash_table_iter_next(&it, &h, &free_fn))
		((GDestroyNotify)free_fn)(h);
	g_hash_table_unref(hs->set);
	g_mutex_clear(&hs->lock);
	g_free(hs);
}

void rfs_handles_add(struct rfs_handles *hs, void *h, GDestroyNotify free_fn)
{
	g_mutex_lock(&hs->lock);
	g_hash_table_insert(hs->set, h, (gpointer)free_fn);
	g_mutex_unlock(&hs->lock);
}

void rfs_handles_release(struct rfs_handles *hs, void *h)
{
	gpointer free_fn = NULL;
	g_mutex_lock(&hs->lock);
	if (h &&
	    g_hash_table_steal_extended(hs->set, h, NULL, &free_fn) == FALSE)
		free_fn = NULL;
	g_mutex_unlock(&hs->lock);
	if (free_fn)
		((GDestroyNotify)free_fn)(h);
}

guint rfs_handles_count(struct rfs_handles *hs)
{
	g_mutex_lock(&hs->lock);
	guint n = g_hash_table_size(hs->set);
	g_mutex_unlock(&hs->lock);
	return n;
}
