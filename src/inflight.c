/* SPDX-License-Identifier: GPL-2.0-or-later */
/* inflight.c - write()s in flight and the reads that overlap them (see
 * inflight.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "inflight.h"
#include "notify.h"
#include "pageset.h"

struct rfs_wflight {
	struct rfs_node *node;
	off_t off, end; /* the view bytes written */
	off_t lo, hi;	/* what reads covered of them meanwhile (lo >= hi:
			   nothing); under the registry's lock */
	gint64 begun;	/* when it was registered (monotonic us) */
	off_t locked;	/* the page the kernel may keep locked, or -1 */
};

/* The page invalidations of one node sent lately: the bytes they covered
 * since the last one came more than the window after the one before, and
 * the system pages read since the last of them that covered each. */
struct inval_rec {
	gint64 when; /* the last one (monotonic us) */
	off_t lo, hi;
	struct rfs_pageset *read;
};

/* Frees a record (the table's value destroyer). */
static void inval_rec_free(gpointer p)
{
	struct inval_rec *r = p;
	rfs_pageset_free(r->read);
	g_free(r);
}

/* The system pages of view bytes [off, end) (end > off). */
static void sys_pages(const struct rfs_ctx *ctx, off_t off, off_t end,
		      uint64_t *first, uint64_t *count)
{
	const uint64_t sys = ctx->sys_pagesize;
	*first = (uint64_t)off / sys;
	*count = ((uint64_t)end - 1) / sys - *first + 1;
}

/* Past this many nodes, records older than the window are pruned. */
#define INVAL_RECS_PRUNE 4096

struct rfs_inflight {
	GMutex lock;	   /* protects writes, every entry's lo/hi, invals */
	GPtrArray *writes; /* struct rfs_wflight * */
	gint count;	   /* writes->len, read without the lock (atomic) */
	/* node (compared, never followed: a freed node's record can only
	 * cause extra drops) -> struct inval_rec */
	GHashTable *invals;
};

/* Widens [*lo, *hi) (empty when *lo >= *hi) to cover [a, b). */
static void widen(off_t *lo, off_t *hi, off_t a, off_t b)
{
	if (*lo >= *hi) {
		*lo = a;
		*hi = b;
	} else {
		*lo = MIN(*lo, a);
		*hi = MAX(*hi, b);
	}
}

struct rfs_inflight *rfs_inflight_new(void)
{
	struct rfs_inflight *reg = g_new0(struct rfs_inflight, 1);
	g_mutex_init(&reg->lock);
	reg->writes = g_ptr_array_new();
	reg->invals = g_hash_table_new_full(NULL, NULL, NULL, inval_rec_free);
	return reg;
}

void rfs_inflight_free(struct rfs_inflight *reg)
{
	if (!reg)
		return;
	g_ptr_array_unref(reg->writes);
	g_hash_table_unref(reg->invals);
	g_mutex_clear(&reg->lock);
	g_free(reg);
}

struct rfs_wflight *rfs_wflight_begin(struct rfs_ctx *ctx,
				      struct rfs_node *node, off_t off,
				      size_t len)
{
	struct rfs_inflight *reg = ctx->inflight;
	struct rfs_wflight *w = g_new0(struct rfs_wflight, 1);
	w->node = node;
	rfs_node_ref(&ctx->nodes, node);
	w->off = off;
	w->end = off + (off_t)len;
	w->begun = g_get_monotonic_time();
	w->locked = rfs_write_locked_page(off, len, (off_t)ctx->sys_pagesize);
	g_mutex_lock(&reg->lock);
	g_ptr_array_add(reg->writes, w);
	g_atomic_int_set(&reg->count, (gint)reg->writes->len);
	g_mutex_unlock(&reg->lock);
	return w;
}

GArray *rfs_wflight_end(struct rfs_ctx *ctx, struct rfs_wflight *w,
			GArray **locked)
{
	struct rfs_inflight *reg = ctx->inflight;
	const off_t sys = (off_t)ctx->sys_pagesize;
	bool relock = false;
	g_mutex_lock(&reg->lock);
	g_ptr_array_remove_fast(reg->writes, w);
	g_atomic_int_set(&reg->count, (gint)reg->writes->len);
	off_t lo = w->lo, hi = w->hi;
	struct inval_rec *r = g_hash_table_lookup(reg->invals, w->node);
	if (r && r->when >= w->begun - RFS_INFLIGHT_WINDOW_US) {
		/* What invalidations may have dropped before the write was
		 * registered, and a read brought back unrecorded.  Not the
		 * locked page, the write's last: it may not be up to date. */
		off_t a = MAX(r->lo, w->off), b = MIN(r->hi, w->end);
		if (w->locked >= 0)
			b = MIN(b, w->locked);
		if (a < b)
			widen(&lo, &hi, a, b);
		/* That page may have been dropped and read back too when it
		 * was up to date (not locked): only then was it read after
		 * the last invalidation that covered it. */
		off_t p = w->locked;
		relock = p >= 0 && r->lo < p + sys && p < r->hi &&
			 rfs_pageset_contains(r->read, (uint64_t)(p / sys));
	}
	g_mutex_unlock(&reg->lock);
	*locked = NULL;
	if (relock) {
		*locked = rfs_invals_new();
		rfs_invals_add(ctx, *locked, w->node, w->locked, sys);
	}
	GArray *invals = NULL;
	if (lo < hi) {
		/* Whole system pages: the kernel reads and drops pages. */
		lo &= ~(sys - 1);
		hi = (hi + sys - 1) & ~(sys - 1);
		invals = rfs_invals_new();
		rfs_invals_add(ctx, invals, w->node, lo, hi - lo);
	}
	rfs_node_unref(&ctx->nodes, w->node);
	g_free(w);
	return invals;
}

void rfs_wflight_cancel(struct rfs_ctx *ctx, struct rfs_wflight *w)
{
	GArray *relock;
	rfs_invals_free(ctx, rfs_wflight_end(ctx, w, &relock));
	rfs_invals_free(ctx, relock);
}

void rfs_inflight_note_read(struct rfs_ctx *ctx, struct rfs_node *node,
			    off_t off, size_t len)
{
	struct rfs_inflight *reg = ctx->inflight;
	if (!reg)
		return;
	/* Nothing to note when no write is in flight and no invalidation
	 * of this node was recorded within the window. */
	if (g_atomic_int_get(&reg->count) == 0 &&
	    __atomic_load_n(&node->inval_us, __ATOMIC_RELAXED) <
		g_get_monotonic_time() - RFS_INFLIGHT_WINDOW_US)
		return;
	off_t end = off + (off_t)len;
	g_mutex_lock(&reg->lock);
	for (guint i = 0; i < reg->writes->len; i++) {
		struct rfs_wflight *w = reg->writes->pdata[i];
		off_t a = MAX(off, w->off), b = MIN(end, w->end);
		if (w->node != node || a >= b)
			continue;
		widen(&w->lo, &w->hi, a, b);
	}
	/* All the read asks for: pages past the view's end that the kernel
	 * fills with zeros are up to date too. */
	struct inval_rec *r = g_hash_table_lookup(reg->invals, node);
	if (r && len > 0) {
		uint64_t first, count;
		sys_pages(ctx, off, end, &first, &count);
		rfs_pageset_add(r->read, first, count);
	}
	g_mutex_unlock(&reg->lock);
}

void rfs_inflight_note_inval(struct rfs_ctx *ctx, struct rfs_node *node,
			     off_t off, off_t len)
{
	struct rfs_inflight *reg = ctx->inflight;
	if (!reg || off < 0)
		return; /* attributes only: no page dropped */
	gint64 now = g_get_monotonic_time();
	off_t end = len > 0 ? off + len : G_MAXINT64;
	g_mutex_lock(&reg->lock);
	struct inval_rec *r = g_hash_table_lookup(reg->invals, node);
	if (!r) {
		if (g_hash_table_size(reg->invals) >= INVAL_RECS_PRUNE) {
			GHashTableIter it;
			gpointer val;
			g_hash_table_iter_init(&it, reg->invals);
			while (g_hash_table_iter_next(&it, NULL, &val))
				if (((struct inval_rec *)val)->when <
				    now - RFS_INFLIGHT_WINDOW_US)
					g_hash_table_iter_remove(&it);
		}
		r = g_new0(struct inval_rec, 1);
		r->read = rfs_pageset_new();
		g_hash_table_insert(reg->invals, node, r);
		r->lo = off;
		r->hi = end;
	} else if (r->when < now - RFS_INFLIGHT_WINDOW_US) {
		r->lo = off;
		r->hi = end;
		rfs_pageset_free(r->read);
		r->read = rfs_pageset_new();
	} else {
		r->lo = MIN(r->lo, off);
		r->hi = MAX(r->hi, end);
		if (end > off) {
			uint64_t first, count;
			sys_pages(ctx, off, end, &first, &count);
			rfs_pageset_remove(r->read, first, count);
		}
	}
	r->when = now;
	__atomic_store_n(&node->inval_us, now, __ATOMIC_RELAXED);
	g_mutex_unlock(&reg->lock);
}
