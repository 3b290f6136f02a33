/* inflight.c - write()s in flight and the reads that overlap them (see
 * inflight.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "inflight.h"
#include "notify.h"

struct rfs_wflight {
	struct rfs_node *node;
	off_t off, end; /* the view bytes written */
	off_t lo, hi;	/* what reads covered of them meanwhile (lo >= hi:
			   nothing); under the registry's lock */
};

struct rfs_inflight {
	GMutex lock;	  /* protects writes and every entry's lo/hi */
	GPtrArray *writes; /* struct rfs_wflight * */
	gint count;	  /* writes->len, read without the lock (atomic) */
};

struct rfs_inflight *rfs_inflight_new(void)
{
	struct rfs_inflight *reg = g_new0(struct rfs_inflight, 1);
	g_mutex_init(&reg->lock);
	reg->writes = g_ptr_array_new();
	return reg;
}

void rfs_inflight_free(struct rfs_inflight *reg)
{
	if (!reg)
		return;
	g_ptr_array_unref(reg->writes);
	g_mutex_clear(&reg->lock);
	g_free(reg);
}

struct rfs_wflight *rfs_wflight_begin(struct rfs_ctx *ctx, struct rfs_node *node,
				      off_t off, size_t len)
{
	struct rfs_inflight *reg = ctx->inflight;
	struct rfs_wflight *w = g_new0(struct rfs_wflight, 1);
	w->node = node;
	rfs_node_ref(&ctx->nodes, node);
	w->off = off;
	w->end = off + (off_t)len;
	g_mutex_lock(&reg->lock);
	g_ptr_array_add(reg->writes, w);
	g_atomic_int_set(&reg->count, (gint)reg->writes->len);
	g_mutex_unlock(&reg->lock);
	return w;
}

GArray *rfs_wflight_end(struct rfs_ctx *ctx, struct rfs_wflight *w)
{
	struct rfs_inflight *reg = ctx->inflight;
	const off_t sys = (off_t)ctx->sys_pagesize;
	g_mutex_lock(&reg->lock);
	g_ptr_array_remove_fast(reg->writes, w);
	g_atomic_int_set(&reg->count, (gint)reg->writes->len);
	off_t lo = w->lo, hi = w->hi;
	g_mutex_unlock(&reg->lock);
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

void rfs_inflight_note_read(struct rfs_ctx *ctx, struct rfs_node *node,
			    off_t off, size_t len)
{
	struct rfs_inflight *reg = ctx->inflight;
	if (!reg || g_atomic_int_get(&reg->count) == 0)
		return;
	off_t end = off + (off_t)len;
	g_mutex_lock(&reg->lock);
	for (guint i = 0; i < reg->writes->len; i++) {
		struct rfs_wflight *w = reg->writes->pdata[i];
		off_t a = MAX(off, w->off), b = MIN(end, w->end);
		if (w->node != node || a >= b)
			continue;
		if (w->lo >= w->hi) {
			w->lo = a;
			w->hi = b;
		} else {
			w->lo = MIN(w->lo, a);
			w->hi = MAX(w->hi, b);
		}
	}
	g_mutex_unlock(&reg->lock);
}
