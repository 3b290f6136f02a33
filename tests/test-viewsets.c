/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-viewsets.c - unit tests of the view sets changed off the lock
 * (viewsets.h): a batch of created and removed views takes effect whole
 * in the swap, a set changed since the build leaves everything as it
 * was, and clashes are found at the build.  No mount. */
#include "viewsets.h"
#include "views.h"

#include <stdio.h>

/* A context, a directory and a backing file, with n views listed. */
typedef struct {
	struct rfs_ctx ctx;
	struct rfs_node dir, backing;
	GPtrArray *views; /* every fake view made, freed at the end */
} Fixture;

/* A new view named prefix followed by i, not listed anywhere. */
static struct rfs_view *fake_view(Fixture *f, const char *prefix, int i)
{
	struct rfs_view *v = g_new0(struct rfs_view, 1);
	v->is_virtual = true;
	v->parent = &f->dir;
	v->backing = &f->backing;
	v->name = g_strdup_printf("%s%d", prefix, i);
	g_ptr_array_add(f->views, v);
	return v;
}

/* Lists v the way publishing does (state_lock held, in the daemon). */
static void list_view(Fixture *f, struct rfs_view *v)
{
	if (!f->dir.virtuals)
		f->dir.virtuals = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(f->dir.virtuals, v->name, v);
	if (!f->backing.viewers)
		f->backing.viewers = g_hash_table_new(NULL, NULL);
	g_hash_table_add(f->backing.viewers, v);
	g_hash_table_add(f->ctx.views, v);
	f->ctx.viewsets_gen++;
}

static void fx_setup(Fixture *f, gconstpointer data)
{
	(void)data;
	f->ctx.views = g_hash_table_new(NULL, NULL);
	f->views = g_ptr_array_new();
	for (int i = 0; i < 100; i++)
		list_view(f, fake_view(f, "old", i));
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	for (guint i = 0; i < f->views->len; i++) {
		struct rfs_view *v = f->views->pdata[i];
		g_free(v->name);
		g_free(v);
	}
	g_ptr_array_unref(f->views);
	g_hash_table_unref(f->ctx.views);
	if (f->dir.virtuals)
		g_hash_table_unref(f->dir.virtuals);
	if (f->backing.viewers)
		g_hash_table_unref(f->backing.viewers);
}

/* Checks that the three sets hold n views, and name in the directory. */
static void expect_listed(Fixture *f, guint n, const char *name, bool listed)
{
	guint have[3] = {g_hash_table_size(f->dir.virtuals),
			 g_hash_table_size(f->backing.viewers),
			 g_hash_table_size(f->ctx.views)};
	for (int i = 0; i < 3; i++)
		if (have[i] != n)
			g_printerr("set %d: expected %u views, found %u\n", i,
				   n, have[i]);
	g_assert_cmpuint(have[0], ==, n);
	g_assert_cmpuint(have[1], ==, n);
	g_assert_cmpuint(have[2], ==, n);
	g_assert_cmpint(g_hash_table_contains(f->dir.virtuals, name), ==,
			listed);
}

static void test_batch_takes_effect_whole_at_the_swap(Fixture *f,
						      gconstpointer d)
{
	(void)d;
	GHashTable *created = g_hash_table_new(NULL, NULL);
	GPtrArray *removed = g_ptr_array_new();
	for (int i = 0; i < 5000; i++)
		g_hash_table_add(created, fake_view(f, "new", i));
	for (int i = 0; i < 60; i++) /* old0..old59 go; old0 comes back */
		g_ptr_array_add(removed, f->views->pdata[i]);
	g_hash_table_add(created, fake_view(f, "old", 0));
	const char *clash = NULL;
	uint64_t gen = f->ctx.viewsets_gen;
	struct rfs_viewsets *s =
	    rfs_viewsets_build(&f->ctx, removed, created, &clash);
	g_assert_nonnull(s);
	/* Built, not swapped: nothing visible yet. */
	expect_listed(f, 100, "new0", false);
	g_assert_cmpuint(f->ctx.viewsets_gen, ==, gen);
	g_assert_true(rfs_viewsets_swap(&f->ctx, s));
	expect_listed(f, 100 - 60 + 5001, "new4999", true);
	g_assert_true(g_hash_table_lookup(f->dir.virtuals, "old0") ==
		      g_ptr_array_index(f->views, f->views->len - 1));
	g_assert_false(g_hash_table_contains(f->dir.virtuals, "old59"));
	g_assert_true(g_hash_table_contains(f->dir.virtuals, "old60"));
	g_assert_cmpuint(f->ctx.viewsets_gen, >, gen);
	rfs_viewsets_free(s);
	g_hash_table_unref(created);
	g_ptr_array_unref(removed);
}

static void test_set_changed_since_build_changes_nothing(Fixture *f,
							 gconstpointer d)
{
	(void)d;
	GHashTable *created = g_hash_table_new(NULL, NULL);
	GPtrArray *removed = g_ptr_array_new();
	g_hash_table_add(created, fake_view(f, "new", 0));
	g_ptr_array_add(removed, f->views->pdata[5]);
	const char *clash = NULL;
	struct rfs_viewsets *s =
	    rfs_viewsets_build(&f->ctx, removed, created, &clash);
	g_assert_nonnull(s);
	/* A rename through the mount, say, meanwhile. */
	list_view(f, fake_view(f, "renamed", 0));
	g_assert_false(rfs_viewsets_swap(&f->ctx, s));
	expect_listed(f, 101, "old5", true);
	g_assert_false(g_hash_table_contains(f->dir.virtuals, "new0"));
	rfs_viewsets_free(s);
	g_hash_table_unref(created);
	g_ptr_array_unref(removed);
}

static void test_clashes_are_found_at_the_build(Fixture *f, gconstpointer d)
{
	(void)d;
	GHashTable *created = g_hash_table_new(NULL, NULL);
	GPtrArray *removed = g_ptr_array_new();
	g_hash_table_add(created, fake_view(f, "old", 7)); /* taken */
	const char *clash = NULL;
	g_assert_null(rfs_viewsets_build(&f->ctx, removed, created, &clash));
	g_assert_cmpstr(clash, ==, "old7");
	g_hash_table_remove_all(created);
	struct rfs_view *gone = f->views->pdata[3];
	gone->removed = true;
	g_ptr_array_add(removed, gone);
	clash = NULL;
	g_assert_null(rfs_viewsets_build(&f->ctx, removed, created, &clash));
	g_assert_cmpstr(clash, ==, "old3");
	expect_listed(f, 100, "old7", true);
	g_hash_table_unref(created);
	g_ptr_array_unref(removed);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fx_setup, fn, fx_teardown)
	ADD("/viewsets/batch-takes-effect-whole-at-the-swap",
	    test_batch_takes_effect_whole_at_the_swap);
	ADD("/viewsets/set-changed-since-build-changes-nothing",
	    test_set_changed_since_build_changes_nothing);
	ADD("/viewsets/clashes-are-found-at-the-build",
	    test_clashes_are_found_at_the_build);
	return g_test_run();
}
