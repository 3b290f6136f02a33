/* SPDX-License-Identifier: GPL-2.0-or-later */
/* views.c - views over backing files and their translation (see views.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "views.h"
#include "nodes.h"
#include "remapfs.h"

#include <string.h>

struct rfs_view *rfs_view_new(struct rfs_node *node, struct rfs_node *backing,
			      bool is_virtual)
{
	struct rfs_view *v = g_new0(struct rfs_view, 1);
	v->node = node;
	v->backing = backing;
	v->is_virtual = is_virtual;
	v->map = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	v->route = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);
	return v;
}

void rfs_view_free(struct rfs_view *view, void *data)
{
	struct rfs_ctx *ctx = data;
	if (!view)
		return;
	rfs_pagemap_free(view->map);
	rfs_pagemap_free(view->route);
	if (view->rev)
		g_array_unref(view->rev);
	if (view->is_virtual && view->backing)
		rfs_node_unref(&ctx->nodes, view->backing);
	if (view->parent)
		rfs_node_unref(&ctx->nodes, view->parent);
	g_free(view->name);
	g_free(view->backing_path);
	g_free(view);
}

void rfs_viewers_add(struct rfs_ctx *ctx, struct rfs_view *v)
{
	struct rfs_node *b = v->backing;
	if (!b->viewers)
		b->viewers = g_hash_table_new(NULL, NULL);
	g_hash_table_add(b->viewers, v);
	ctx->viewsets_gen++;
}

void rfs_viewers_remove(struct rfs_ctx *ctx, struct rfs_view *v)
{
	if (v->backing->viewers)
		g_hash_table_remove(v->backing->viewers, v);
	ctx->viewsets_gen++;
}

void rfs_view_unlist(struct rfs_ctx *ctx, struct rfs_view *v)
{
	v->removed = true;
	/* A view made later under its name must not take its ID, unless
	 * the state says this one is still there (nodes.h). */
	rfs_node_record_removed(&ctx->nodes, v->node);
	g_hash_table_remove(v->parent->virtuals, v->name);
	rfs_viewers_remove(ctx, v);
	g_hash_table_remove(ctx->views, v);
}

off_t rfs_view_size(const struct rfs_ctx *ctx, const struct rfs_view *view,
		    off_t backing_size)
{
	if (view && view->is_virtual)
		return (off_t)(view->pages << ctx->page_shift);
	return backing_size;
}

/* The backing page of vpage and how many pages from vpage on continue
 * contiguously, the route overlay taking precedence over the map. */
static uint64_t view_resolve(const struct rfs_view *view, uint64_t vpage,
			     uint64_t *span)
{
	uint64_t f, rspan, mspan;
	if (!view)
		return *span = UINT64_MAX - vpage, vpage;
	if (rfs_pagemap_nruns(view->route)) {
		if (rfs_pagemap_find(view->route, vpage, &f, &rspan)) {
			*span = rspan;
			return f;
		}
		f = rfs_pagemap_lookup(view->map, vpage, &mspan);
		*span = MIN(rspan, mspan);
		return f;
	}
	return rfs_pagemap_lookup(view->map, vpage, span);
}

/* Bytes from pos (at in-page offset inpage) to the end of a stretch of
 * span pages, capped at left. */
static size_t stretch_len(const struct rfs_ctx *ctx, uint64_t span,
			  uint64_t inpage, size_t left)
{
	if (span > (left >> ctx->page_shift) + 1)
		return left;
	uint64_t bytes = (span << ctx->page_shift) - inpage;
	return bytes < left ? (size_t)bytes : left;
}

/* Appends a segment, merging it into the last one when it continues it. */
static void seg_push(GArray *segs, off_t foff, size_t len, bool zero)
{
	if (segs->len) {
		struct rfs_seg *last =
		    &g_array_index(segs, struct rfs_seg, segs->len - 1);
		if (last->zero == zero &&
		    (zero || last->foff + (off_t)last->len == foff)) {
			last->len += len;
			return;
		}
	}
	struct rfs_seg s = {.foff = foff, .len = len, .zero = zero};
	g_array_append_val(segs, s);
}

/* Walks [off, end) through the view's pages, pushing segments; pages
 * at or past zero_from (when >= 0) become zero segments. */
static void translate(const struct rfs_ctx *ctx, const struct rfs_view *view,
		      off_t off, off_t end, off_t zero_from, GArray *segs)
{
	uint64_t mask = ctx->pagesize - 1;
	off_t pos = off;
	while (pos < end) {
		uint64_t span, vpage = (uint64_t)pos >> ctx->page_shift;
		uint64_t inpage = (uint64_t)pos & mask;
		uint64_t f = view_resolve(view, vpage, &span);
		size_t n = stretch_len(ctx, span, inpage, (size_t)(end - pos));
		off_t foff = (off_t)((f << ctx->page_shift) | inpage);
		if (zero_from >= 0 && foff + (off_t)n > zero_from) {
			size_t data =
			    foff >= zero_from ? 0 : (size_t)(zero_from - foff);
			if (data)
				seg_push(segs, foff, data, false);
			seg_push(segs, 0, n - data, true);
		} else {
			seg_push(segs, foff, n, false);
		}
		pos += (off_t)n;
	}
}

size_t rfs_view_translate_read(const struct rfs_ctx *ctx,
			       const struct rfs_view *view, off_t off,
			       size_t size, off_t view_size, off_t backing_size,
			       GArray *segs)
{
	if (off >= view_size || size == 0)
		return 0;
	off_t end =
	    view_size - off < (off_t)size ? view_size : off + (off_t)size;
	translate(ctx, view, off, end, backing_size, segs);
	return (size_t)(end - off);
}

size_t rfs_view_translate_write(const struct rfs_ctx *ctx,
				const struct rfs_view *view, off_t off,
				size_t size, GArray *segs)
{
	off_t end;
	if (view && view->is_virtual) {
		off_t vsize = rfs_view_size(ctx, view, 0);
		if (off >= vsize)
			return 0;
		end = vsize - off < (off_t)size ? vsize : off + (off_t)size;
	} else {
		end = off + (off_t)size;
	}
	translate(ctx, view, off, end, -1, segs);
	return (size_t)(end - off);
}

bool rfs_view_route_covers(const struct rfs_ctx *ctx,
			   const struct rfs_view *view, off_t off, size_t size)
{
	if (!view || !rfs_pagemap_nruns(view->route) || size == 0)
		return false;
	uint64_t first = (uint64_t)off >> ctx->page_shift;
	uint64_t last = ((uint64_t)off + size - 1) >> ctx->page_shift;
	uint64_t f, span;
	if (rfs_pagemap_find(view->route, first, &f, &span))
		return true;
	return span <= last - first;
}

/* Sets the route overlay over vpage..vpage+n-1 to where the map sends
 * those pages now. */
static void route_from_map(struct rfs_view *view, uint64_t v, uint64_t n)
{
	uint64_t done = 0;
	while (done < n) {
		uint64_t mspan;
		uint64_t mf = rfs_pagemap_lookup(view->map, v + done, &mspan);
		uint64_t k = MIN(mspan, n - done);
		rfs_pagemap_set(view->route, v + done, mf, k);
		done += k;
	}
}

/* Calls route_from_map on the pieces of [v, end) that the route overlay
 * covers (covered true) or does not cover (covered false). */
static void route_update(struct rfs_view *view, uint64_t v, uint64_t end,
			 bool covered)
{
	while (v < end) {
		uint64_t f, span;
		bool is = rfs_pagemap_find(view->route, v, &f, &span);
		uint64_t n = MIN(span, end - v);
		if (is == covered)
			route_from_map(view, v, n);
		v += n;
	}
}

void rfs_view_route_refresh(const struct rfs_ctx *ctx, struct rfs_view *view,
			    off_t off, size_t size)
{
	if (!view || size == 0)
		return;
	/* The kernel's copy of pages read now comes from the map as it is. */
	uint64_t v = (uint64_t)off >> ctx->page_shift;
	uint64_t end = (((uint64_t)off + size - 1) >> ctx->page_shift) + 1;
	route_update(view, v, end, true);
}

void rfs_view_route_pin(struct rfs_view *view, uint64_t vpage, uint64_t count)
{
	route_update(view, vpage, vpage + count, false);
}

bool rfs_view_maps_to(const struct rfs_view *view, uint64_t vpage,
		      uint64_t fpage, uint64_t count, bool identity)
{
	uint64_t v = vpage, end = vpage + count;
	while (v < end) {
		uint64_t span;
		uint64_t f = rfs_pagemap_lookup(view->map, v, &span);
		uint64_t want = identity ? v : fpage + (v - vpage);
		if (f != want)
			return false;
		v += MIN(span, end - v);
	}
	return true;
}

char *rfs_dir_path(const struct rfs_node *dir)
{
	GPtrArray *names = g_ptr_array_new();
	for (const struct rfs_node *d = dir; d && d->name; d = d->parent)
		g_ptr_array_add(names, d->name);
	GString *s = g_string_new(NULL);
	for (guint i = names->len; i > 0; i--) {
		if (s->len)
			g_string_append_c(s, '/');
		g_string_append(s, names->pdata[i - 1]);
	}
	g_ptr_array_unref(names);
	return g_string_free(s, FALSE);
}

char *rfs_view_path(const struct rfs_view *view)
{
	char *dir = rfs_dir_path(view->parent);
	char *path = *dir ? g_strconcat(dir, "/", view->name, NULL)
			  : g_strdup(view->name);
	g_free(dir);
	return path;
}

void rfs_dir_set_parent(struct rfs_ctx *ctx, struct rfs_node *dir,
			struct rfs_node *parent, const char *name)
{
	if (dir == ctx->nodes.root || dir == parent)
		return;
	if (dir->parent == parent && dir->name && strcmp(dir->name, name) == 0)
		return;
	rfs_node_ref(&ctx->nodes, parent);
	if (dir->parent)
		rfs_node_unref(&ctx->nodes, dir->parent);
	dir->parent = parent;
	g_free(dir->name);
	dir->name = g_strdup(name);
}

void rfs_dir_note_parent(struct rfs_ctx *ctx, struct rfs_node *dir,
			 struct rfs_node *parent, const char *name)
{
	if (dir == ctx->nodes.root || dir == parent)
		return;
	g_rw_lock_reader_lock(&ctx->state_lock);
	bool known =
	    dir->parent == parent && dir->name && strcmp(dir->name, name) == 0;
	g_rw_lock_reader_unlock(&ctx->state_lock);
	if (known)
		return;
	g_rw_lock_writer_lock(&ctx->state_lock);
	rfs_dir_set_parent(ctx, dir, parent, name);
	g_rw_lock_writer_unlock(&ctx->state_lock);
}

void rfs_view_update_pin(struct rfs_ctx *ctx, struct rfs_view *view)
{
	if (view->is_virtual)
		return;
	bool want = rfs_pagemap_nruns(view->map) > 0;
	if (want == view->pinned)
		return;
	view->pinned = want;
	ctx->viewsets_gen++;
	if (want) {
		rfs_node_ref(&ctx->nodes, view->node);
		g_hash_table_add(ctx->views, view);
	} else {
		g_hash_table_remove(ctx->views, view);
		rfs_node_unref(&ctx->nodes, view->node);
	}
}

struct rfs_view *rfs_node_view(struct rfs_node *node)
{
	if (!node->view)
		node->view = rfs_view_new(node, node, false);
	return node->view;
}

bool rfs_view_rev_stale(const struct rfs_view *view)
{
	if (!view)
		return false;
	/* An index of runs since removed is stale too (it would add pages
	 * that no longer show those backing pages). */
	return view->rev ? view->rev_gen != view->map_gen
			 : rfs_pagemap_nruns(view->map) > 0;
}

/* Appends a run to the reverse index (foreach callback). */
static int rev_add(const rfs_run *run, void *data)
{
	struct rfs_view *view = data;
	g_array_append_val(view->rev, *run);
	view->rev_maxcount = MAX(view->rev_maxcount, run->count);
	return 0;
}

/* Orders runs by backing page. */
static gint rev_cmp(gconstpointer a, gconstpointer b)
{
	const rfs_run *x = a, *y = b;
	return x->fpage < y->fpage ? -1 : x->fpage > y->fpage;
}

void rfs_view_rev_update(struct rfs_view *view)
{
	if (!view->rev)
		view->rev = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	g_array_set_size(view->rev, 0);
	view->rev_maxcount = 0;
	rfs_pagemap_foreach(view->map, rev_add, view);
	g_array_sort(view->rev, rev_cmp);
	view->rev_gen = view->map_gen;
}

/* Appends the run of view pages v..v+n-1 (clipped to pages) to out. */
static void alias_push(GArray *out, uint64_t v, uint64_t n, uint64_t pages)
{
	if (v >= pages)
		return;
	rfs_run r = {.vpage = v, .count = MIN(n, pages - v)};
	g_array_append_val(out, r);
}

void rfs_view_aliases(const struct rfs_view *view, uint64_t pages,
		      uint64_t fpage, uint64_t count, GArray *out)
{
	uint64_t end = fpage + count;
	/* Identity: page f shows f where no run covers it. */
	for (uint64_t v = fpage; v < end && v < pages;) {
		uint64_t f, span = UINT64_MAX - v;
		bool covered =
		    view && rfs_pagemap_find(view->map, v, &f, &span);
		uint64_t n = MIN(span, end - v);
		if (!covered)
			alias_push(out, v, n, pages);
		v += n;
	}
	if (!view || !view->rev || !view->rev->len)
		return;
	/* Runs whose backing pages meet [fpage, end): they start after
	 * fpage - rev_maxcount, and before end. */
	uint64_t from =
	    fpage >= view->rev_maxcount ? fpage - view->rev_maxcount + 1 : 0;
	guint lo = 0, hi = view->rev->len;
	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;
		if (g_array_index(view->rev, rfs_run, mid).fpage < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (guint i = lo; i < view->rev->len; i++) {
		const rfs_run *r = &g_array_index(view->rev, rfs_run, i);
		if (r->fpage >= end)
			break;
		uint64_t a = MAX(r->fpage, fpage);
		uint64_t b = MIN(r->fpage + r->count, end);
		if (a < b)
			alias_push(out, r->vpage + (a - r->fpage), b - a,
				   pages);
	}
}
