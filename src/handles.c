/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* handles.c - the heap handles the kernel holds (see handles.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "handles.h"

struct handle {
	void *h;
	GDestroyNotify free_fn;
};

struct rfs_handles {
	GMutex lock;	 /* protects set and next */
	GHashTable *set; /* number (as a pointer) -> struct handle * */
	uint64_t epoch;	 /* in the numbers' high bits */
	uint64_t next;	 /* the next serial */
};

struct rfs_handles *rfs_handles_new(uint32_t epoch)
{
	struct rfs_handles *hs = g_new0(struct rfs_handles, 1);
	g_mutex_init(&hs->lock);
	hs->set = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	hs->epoch = RFS_HANDLE_FLAG | (uint64_t)(epoch & 0xffffff)
					  << RFS_HANDLE_SERIAL_BITS;
	hs->next = 1;
	return hs;
}

void rfs_handles_free(struct rfs_handles *hs)
{
	if (!hs)
		return;
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, hs->set);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct handle *e = value;
		e->free_fn(e->h);
	}
	g_hash_table_unref(hs->set);
	g_mutex_clear(&hs->lock);
	g_free(hs);
}

/* A new entry for h. */
static struct handle *handle_new(void *h, GDestroyNotify free_fn)
{
	struct handle *e = g_new(struct handle, 1);
	e->h = h;
	e->free_fn = free_fn;
	return e;
}

uint64_t rfs_handles_add(struct rfs_handles *hs, void *h,
			 GDestroyNotify free_fn)
{
	G_STATIC_ASSERT(sizeof(gpointer) == sizeof(uint64_t));
	struct handle *e = handle_new(h, free_fn);
	g_mutex_lock(&hs->lock);
	/* 2^40 opens before the serial wraps into the epoch's bits. */
	uint64_t fh =
	    hs->epoch |
	    (hs->next++ & ((UINT64_C(1) << RFS_HANDLE_SERIAL_BITS) - 1));
	g_hash_table_insert(hs->set, (gpointer)(uintptr_t)fh, e);
	g_mutex_unlock(&hs->lock);
	return fh;
}

bool rfs_handles_foreign(struct rfs_handles *hs, uint64_t fh)
{
	const uint64_t high = ~((UINT64_C(1) << RFS_HANDLE_SERIAL_BITS) - 1);
	return (fh & RFS_HANDLE_FLAG) && (fh & high) != hs->epoch;
}

void *rfs_handles_adopt(struct rfs_handles *hs, uint64_t fh, void *h,
			GDestroyNotify free_fn)
{
	struct handle *e = handle_new(h, free_fn);
	g_mutex_lock(&hs->lock);
	struct handle *had =
	    g_hash_table_lookup(hs->set, (gpointer)(uintptr_t)fh);
	if (!had)
		g_hash_table_insert(hs->set, (gpointer)(uintptr_t)fh, e);
	void *now = had ? had->h : h;
	g_mutex_unlock(&hs->lock);
	if (had) {
		free_fn(h);
		g_free(e);
	}
	return now;
}

void *rfs_handles_get(struct rfs_handles *hs, uint64_t fh)
{
	g_mutex_lock(&hs->lock);
	struct handle *e =
	    g_hash_table_lookup(hs->set, (gpointer)(uintptr_t)fh);
	void *h = e ? e->h : NULL;
	g_mutex_unlock(&hs->lock);
	return h;
}

void rfs_handles_release(struct rfs_handles *hs, uint64_t fh)
{
	gpointer value = NULL;
	g_mutex_lock(&hs->lock);
	if (fh && !g_hash_table_steal_extended(hs->set, (gpointer)(uintptr_t)fh,
					       NULL, &value))
		value = NULL;
	g_mutex_unlock(&hs->lock);
	if (value) {
		struct handle *e = value;
		e->free_fn(e->h);
		g_free(e);
	}
}

guint rfs_handles_count(struct rfs_handles *hs)
{
	g_mutex_lock(&hs->lock);
	guint n = g_hash_table_size(hs->set);
	g_mutex_unlock(&hs->lock);
	return n;
}
