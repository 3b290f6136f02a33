/* SPDX-License-Identifier: GPL-2.0-or-later */
/* coherence.c - which cached view pages must drop when a write changes
 * backing bytes (see coherence.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "coherence.h"
#include "notify.h"
#include "views.h"

#include <sys/stat.h>

/* A view over backing that the kernel may cache, with its size in pages. */
struct candidate {
	struct rfs_node *node;
	struct rfs_view *view; /* NULL: the identity view of a SOURCE file */
	uint64_t pages;
};

/* Lists the views over backing b that the kernel knows.  state_lock held. */
static void candidates(struct rfs_ctx *ctx, struct rfs_node *b, GArray *out)
{
	if (rfs_node_known(&ctx->nodes, b)) {
		struct candidate c = {b, b->view, ctx->page_limit};
		g_array_append_val(out, c);
	}
	if (!b->viewers)
		return;
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, b->viewers);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct rfs_view *v = key;
		if (!rfs_node_known(&ctx->nodes, v->node))
			continue;
		struct candidate c = {v->node, v, v->pages};
		g_array_append_val(out, c);
	}
}

/* Adds an invalidation of view pages [a, e) of node to *invals. */
static void add_pages(struct rfs_ctx *ctx, GArray **invals,
		      struct rfs_node *node, uint64_t a, uint64_t e)
{
	if (!*invals)
		*invals = rfs_invals_new();
	rfs_invals_add(ctx, *invals, node, (off_t)(a << ctx->page_shift),
		       (off_t)((e - a) << ctx->page_shift));
}

GArray *rfs_coherence_own_stale(struct rfs_ctx *ctx, struct rfs_node *n,
				off_t off, GArray *segs)
{
	if (segs->len < 2)
		return NULL;
	GArray *vp = g_array_new(FALSE, FALSE, sizeof(guint64));
	rfs_segs_twice(segs, off, ctx->page_shift, vp);
	GArray *own = NULL;
	for (guint i = 0; i < vp->len; i++) {
		uint64_t p = g_array_index(vp, guint64, i);
		add_pages(ctx, &own, n, p, p + 1);
	}
	g_array_unref(vp);
	return own;
}

GArray *rfs_coherence_aliases(struct rfs_ctx *ctx, struct rfs_node *n,
			      off_t off, size_t len, GArray *segs)
{
	GArray *cands = g_array_new(FALSE, FALSE, sizeof(struct candidate));
	GArray *vr = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	GArray *invals = NULL;
	uint64_t w0 = (uint64_t)off >> ctx->page_shift;
	uint64_t w1 = (((uint64_t)off + len - 1) >> ctx->page_shift) + 1;
	bool writer = false;

	g_rw_lock_reader_lock(&ctx->state_lock);
	struct rfs_node *b = rfs_view_backing(n);
	candidates(ctx, b, cands);
	for (guint c = 0; c < cands->len && !writer; c++) {
		struct candidate *cd =
		    &g_array_index(cands, struct candidate, c);
		writer = rfs_view_rev_stale(cd->view);
	}
	if (writer) { /* a reverse index to rebuild first */
		g_rw_lock_reader_unlock(&ctx->state_lock);
		g_rw_lock_writer_lock(&ctx->state_lock);
		g_array_set_size(cands, 0);
		candidates(ctx, b, cands);
		for (guint c = 0; c < cands->len; c++) {
			struct candidate *cd =
			    &g_array_index(cands, struct candidate, c);
			if (rfs_view_rev_stale(cd->view))
				rfs_view_rev_update(cd->view);
		}
	}
	for (guint c = 0; c < cands->len; c++) {
		struct candidate *cd =
		    &g_array_index(cands, struct candidate, c);
		g_array_set_size(vr, 0);
		for (guint i = 0; i < segs->len; i++) {
			struct rfs_seg *s =
			    &g_array_index(segs, struct rfs_seg, i);
			uint64_t f0 = (uint64_t)s->foff >> ctx->page_shift;
			uint64_t f1 = (((uint64_t)s->foff + s->len - 1) >>
				       ctx->page_shift) +
				      1;
			rfs_view_aliases(cd->view, cd->pages, f0, f1 - f0, vr);
		}
		for (guint i = 0; i < vr->len; i++) {
			rfs_run *r = &g_array_index(vr, rfs_run, i);
			uint64_t a = r->vpage, e = r->vpage + r->count;
			if (cd->node != n) {
				add_pages(ctx, &invals, cd->node, a, e);
				continue;
			}
			/* The writer's own pages hold the new bytes already. */
			if (a < w0)
				add_pages(ctx, &invals, n, a, MIN(e, w0));
			if (e > w1)
				add_pages(ctx, &invals, n, MAX(a, w1), e);
		}
	}
	if (writer)
		g_rw_lock_writer_unlock(&ctx->state_lock);
	else
		g_rw_lock_reader_unlock(&ctx->state_lock);
	g_array_unref(cands);
	g_array_unref(vr);
	return invals;
}

void rfs_coherence_end(struct rfs_ctx *ctx, GArray **to, struct rfs_node *node,
		       off_t end)
{
	if (!*to)
		*to = rfs_invals_new();
	if (end & (off_t)(ctx->pagesize - 1))
		rfs_invals_add(ctx, *to, node,
			       end & ~(off_t)(ctx->pagesize - 1),
			       (off_t)ctx->pagesize);
	rfs_invals_add(ctx, *to, node, -1, 0);
}

void rfs_coherence_writeback_end(struct rfs_ctx *ctx, struct rfs_node *n,
				 int fd, off_t end, GArray **invals)
{
	struct stat st;
	if (!(end & (off_t)(ctx->sys_pagesize - 1)) || fstat(fd, &st) < 0)
		return;
	g_rw_lock_reader_lock(&ctx->state_lock);
	off_t vsize = rfs_view_size(ctx, n->view, st.st_size);
	g_rw_lock_reader_unlock(&ctx->state_lock);
	if (end < vsize)
		rfs_coherence_end(ctx, invals, n, end);
}
