/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dump.c - the state as commands (see dump.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "dump.h"
#include "protocol.h"
#include "views.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

struct dump_entry {
	struct rfs_view *view;
	char *path;
	uint64_t pages;
};

/* Orders dump entries by path (bytewise); entries without one last. */
static gint dump_cmp_or_null(gconstpointer a, gconstpointer b)
{
	const struct dump_entry *x = a, *y = b;
	if (!x->path || !y->path)
		return !x->path - !y->path;
	return strcmp(x->path, y->path);
}

/* Appends a view's remap lines, runs clipped to its size, each behind
 * prefix. */
static void dump_runs(GString *out, const struct dump_entry *e,
		      const char *prefix)
{
	rfs_run buf[256];
	uint64_t from = 0;
	size_t n;
	rfs_cmd c = {.op = RFS_OP_REMAP, .view = e->path, .has = RFS_HAS_COUNT};
	while (from < e->pages &&
	       (n = rfs_pagemap_runs(e->view->map, from, buf, 256))) {
		for (size_t i = 0; i < n; i++) {
			if (buf[i].vpage >= e->pages)
				return;
			c.vpage = buf[i].vpage;
			c.fpage = buf[i].fpage;
			c.count = MIN(buf[i].count, e->pages - buf[i].vpage);
			g_string_append(out, prefix);
			rfs_cmd_format(out, &c);
		}
		from = buf[n - 1].vpage + buf[n - 1].count;
	}
}

GString *rfs_dump_state(struct rfs_ctx *ctx)
{
	GArray *es = g_array_new(FALSE, TRUE, sizeof(struct dump_entry));
	GString *out = g_string_new(NULL);
	GHashTableIter it;
	gpointer key;

	/* Take references, then read mirrored files' sizes unlocked. */
	g_rw_lock_reader_lock(&ctx->state_lock);
	g_hash_table_iter_init(&it, ctx->views);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct dump_entry e = {.view = key};
		rfs_node_ref(&ctx->nodes, e.view->node);
		g_array_append_val(es, e);
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	for (guint i = 0; i < es->len; i++) {
		struct dump_entry *e = &g_array_index(es, struct dump_entry, i);
		struct stat st;
		if (!e->view->is_virtual && fstat(e->view->node->fd, &st) == 0)
			e->pages = rfs_pages_of(ctx, st.st_size);
	}

	g_string_printf(out, "# remapfs state: pagesize %" PRIu64 "\n",
			ctx->pagesize);
	g_rw_lock_reader_lock(&ctx->state_lock);
	for (guint i = 0; i < es->len; i++) {
		struct dump_entry *e = &g_array_index(es, struct dump_entry, i);
		if (e->view->is_virtual)
			e->pages = e->view->pages;
		/* Still listed: virtual views until removed, mirrored ones
		 * while their maps are not the identity. */
		if (g_hash_table_contains(ctx->views, e->view))
			e->path = rfs_view_path(e->view);
	}
	g_array_sort(es, dump_cmp_or_null);
	for (guint i = 0; i < es->len; i++) {
		struct dump_entry *e = &g_array_index(es, struct dump_entry, i);
		if (!e->path || !e->view->is_virtual)
			continue;
		rfs_cmd c = {.op = RFS_OP_CREATE,
			     .view = e->path,
			     .backing = e->view->backing_path,
			     .pages = e->pages,
			     .has = RFS_HAS_PAGES};
		rfs_cmd_format(out, &c);
	}
	for (guint i = 0; i < es->len; i++) {
		struct dump_entry *e = &g_array_index(es, struct dump_entry, i);
		if (e->path)
			dump_runs(out, e, "");
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);

	for (guint i = 0; i < es->len; i++) {
		struct dump_entry *e = &g_array_index(es, struct dump_entry, i);
		g_free(e->path);
		rfs_node_unref(&ctx->nodes, e->view->node);
	}
	g_array_unref(es);
	return out;
}

void rfs_dump_orphan(GString *out, const struct rfs_view *view)
{
	struct dump_entry e = {.view = (struct rfs_view *)view,
			       .path = RFS_ORPHAN_NAME,
			       .pages = view->pages};
	rfs_cmd c = {.op = RFS_OP_CREATE,
		     .view = e.path,
		     .backing = view->backing_path,
		     .pages = e.pages,
		     .has = RFS_HAS_PAGES};
	g_string_append_printf(out,
			       RFS_ORPHAN_TAG "%" PRIu64 "\n" RFS_ORPHAN_LINE,
			       view->node->id);
	rfs_cmd_format(out, &c);
	dump_runs(out, &e, RFS_ORPHAN_LINE);
}

GString *rfs_dump_journal(struct rfs_ctx *ctx)
{
	GString *out = rfs_dump_state(ctx);
	if (!ctx->opts.restart)
		return out;
	GPtrArray *orphans = rfs_nodes_orphans(&ctx->nodes);
	g_rw_lock_reader_lock(&ctx->state_lock);
	for (guint i = 0; i < orphans->len; i++) {
		struct rfs_node *n = orphans->pdata[i];
		if (n->view && n->view->removed)
			rfs_dump_orphan(out, n->view);
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	for (guint i = 0; i < orphans->len; i++)
		rfs_node_unref(&ctx->nodes, orphans->pdata[i]);
	g_ptr_array_unref(orphans);
	return out;
}
