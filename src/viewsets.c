/* SPDX-License-Identifier: GPL-2.0-or-later */
/* viewsets.c - a large transaction's changes to the view sets, made off
 * the lock (see viewsets.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "viewsets.h"
#include "views.h"

/* One set being replaced: where it lives, its copy, and the original
 * once the copy took its place. */
struct set_copy {
	GHashTable **slot;
	GHashTable *copy;
	GHashTable *old;
};

struct rfs_viewsets {
	uint64_t gen;	   /* ctx->viewsets_gen at the build */
	GArray *copies;	   /* struct set_copy */
	GHashTable *index; /* slot -> its place in copies + 1 */
	GPtrArray *removed;
};

/* The copy of the set at slot (made on first use): a name -> view table
 * when by_name, else a set of pointers. */
static GHashTable *copy_of(struct rfs_viewsets *s, GHashTable **slot,
			   bool by_name)
{
	guint at = GPOINTER_TO_UINT(g_hash_table_lookup(s->index, slot));
	if (at)
		return g_array_index(s->copies, struct set_copy, at - 1).copy;
	GHashTable *copy = by_name ? g_hash_table_new(g_str_hash, g_str_equal)
				   : g_hash_table_new(NULL, NULL);
	if (*slot) {
		GHashTableIter it;
		gpointer key, val;
		g_hash_table_iter_init(&it, *slot);
		while (g_hash_table_iter_next(&it, &key, &val))
			g_hash_table_insert(copy, key, val);
	}
	struct set_copy c = {slot, copy, NULL};
	g_array_append_val(s->copies, c);
	g_hash_table_insert(s->index, slot, GUINT_TO_POINTER(s->copies->len));
	return copy;
}

struct rfs_viewsets *rfs_viewsets_build(struct rfs_ctx *ctx, GPtrArray *removed,
					GHashTable *created, const char **clash)
{
	struct rfs_viewsets *s = g_new0(struct rfs_viewsets, 1);
	s->gen = ctx->viewsets_gen;
	s->copies = g_array_new(FALSE, FALSE, sizeof(struct set_copy));
	s->index = g_hash_table_new(NULL, NULL);
	s->removed = g_ptr_array_ref(removed);
	GHashTable *views = copy_of(s, &ctx->views, false);
	for (guint i = 0; i < removed->len; i++) {
		struct rfs_view *v = removed->pdata[i];
		GHashTable *names = copy_of(s, &v->parent->virtuals, true);
		if (v->removed || g_hash_table_lookup(names, v->name) != v) {
			*clash = v->name;
			rfs_viewsets_free(s);
			return NULL;
		}
		g_hash_table_remove(names, v->name);
		g_hash_table_remove(copy_of(s, &v->backing->viewers, false), v);
		g_hash_table_remove(views, v);
	}
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, created);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct rfs_view *v = key;
		GHashTable *names = copy_of(s, &v->parent->virtuals, true);
		if (g_hash_table_contains(names, v->name)) {
			*clash = v->name;
			rfs_viewsets_free(s);
			return NULL;
		}
		g_hash_table_insert(names, v->name, v);
		g_hash_table_add(copy_of(s, &v->backing->viewers, false), v);
		g_hash_table_add(views, v);
	}
	return s;
}

bool rfs_viewsets_swap(struct rfs_ctx *ctx, struct rfs_viewsets *s)
{
	if (ctx->viewsets_gen != s->gen)
		return false;
	for (guint i = 0; i < s->copies->len; i++) {
		struct set_copy *c =
		    &g_array_index(s->copies, struct set_copy, i);
		c->old = *c->slot;
		*c->slot = c->copy;
		c->copy = NULL;
	}
	ctx->viewsets_gen++;
	return true;
}

void rfs_viewsets_free(struct rfs_viewsets *s)
{
	if (!s)
		return;
	for (guint i = 0; i < s->copies->len; i++) {
		struct set_copy *c =
		    &g_array_index(s->copies, struct set_copy, i);
		if (c->copy)
			g_hash_table_unref(c->copy);
		if (c->old)
			g_hash_table_unref(c->old);
	}
	g_array_unref(s->copies);
	g_hash_table_unref(s->index);
	g_ptr_array_unref(s->removed);
	g_free(s);
}
