/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-handles.c - unit tests of the handle set (handles.h): a released
 * handle is freed once, and what was never released is freed at the
 * end.  No mount. */
#include "handles.h"

/* A handle that counts how often it was freed. */
struct counted {
	int *frees;
};

static void counted_free(gpointer p)
{
	struct counted *c = p;
	(*c->frees)++;
	g_free(c);
}

static struct counted *counted_new(int *frees)
{
	struct counted *c = g_new0(struct counted, 1);
	c->frees = frees;
	return c;
}

static void test_released_handle_is_freed_once(void)
{
	int frees = 0;
	struct rfs_handles *hs = rfs_handles_new();
	struct counted *c = counted_new(&frees);
	rfs_handles_add(hs, c, counted_free);
	g_assert_cmpuint(rfs_handles_count(hs), ==, 1);
	rfs_handles_release(hs, c);
	g_assert_cmpint(frees, ==, 1);
	g_assert_cmpuint(rfs_handles_count(hs), ==, 0);
	/* A second release of the same pointer is not a second free. */
	rfs_handles_release(hs, c);
	rfs_handles_release(hs, NULL);
	g_assert_cmpint(frees, ==, 1);
	rfs_handles_free(hs);
	g_assert_cmpint(frees, ==, 1);
}

static void test_handles_never_released_are_freed_at_the_end(void)
{
	int frees = 0;
	struct rfs_handles *hs = rfs_handles_new();
	struct counted *kept[3];
	for (int i = 0; i < 3; i++) {
		kept[i] = counted_new(&frees);
		rfs_handles_add(hs, kept[i], counted_free);
	}
	rfs_handles_release(hs, kept[1]);
	g_assert_cmpint(frees, ==, 1);
	g_assert_cmpuint(rfs_handles_count(hs), ==, 2);
	rfs_handles_free(hs);
	g_assert_cmpint(frees, ==, 3);
	rfs_handles_free(NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/handles/released-handle-is-freed-once",
			test_released_handle_is_freed_once);
	g_test_add_func("/handles/handles-never-released-are-freed-at-the-end",
			test_handles_never_released_are_freed_at_the_end);
	return g_test_run();
}
