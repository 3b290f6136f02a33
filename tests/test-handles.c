/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-handles.c - unit tests of the handle set (handles.h): a released
 * handle is freed once, what was never released is freed at the end, and
 * numbers of another epoch name nothing.  No mount. */
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
	struct rfs_handles *hs = rfs_handles_new(1);
	struct counted *c = counted_new(&frees);
	uint64_t fh = rfs_handles_add(hs, c, counted_free);
	g_assert_cmpuint(rfs_handles_count(hs), ==, 1);
	g_assert_true(rfs_handles_get(hs, fh) == c);
	rfs_handles_release(hs, fh);
	g_assert_cmpint(frees, ==, 1);
	g_assert_cmpuint(rfs_handles_count(hs), ==, 0);
	g_assert_null(rfs_handles_get(hs, fh));
	/* A second release of the same number is not a second free. */
	rfs_handles_release(hs, fh);
	rfs_handles_release(hs, 0);
	g_assert_cmpint(frees, ==, 1);
	rfs_handles_free(hs);
	g_assert_cmpint(frees, ==, 1);
}

static void test_handles_never_released_are_freed_at_the_end(void)
{
	int frees = 0;
	struct rfs_handles *hs = rfs_handles_new(1);
	uint64_t kept[3];
	for (int i = 0; i < 3; i++)
		kept[i] =
		    rfs_handles_add(hs, counted_new(&frees), counted_free);
	rfs_handles_release(hs, kept[1]);
	g_assert_cmpint(frees, ==, 1);
	g_assert_cmpuint(rfs_handles_count(hs), ==, 2);
	rfs_handles_free(hs);
	g_assert_cmpint(frees, ==, 3);
	rfs_handles_free(NULL);
}

/* A number handed out by a set of another epoch (a worker that died)
 * names nothing in this one, even where the serials and the addresses
 * of the handles are the same, and no number looks like a descriptor. */
static void test_numbers_of_another_epoch_name_nothing(void)
{
	int frees = 0;
	struct rfs_handles *old = rfs_handles_new(1);
	struct rfs_handles *hs = rfs_handles_new(2);
	uint64_t stale =
	    rfs_handles_add(old, counted_new(&frees), counted_free);
	uint64_t fh = rfs_handles_add(hs, counted_new(&frees), counted_free);
	g_assert_cmpuint(stale, !=, fh);
	g_assert_cmpuint(stale & ~((UINT64_C(1) << RFS_HANDLE_SERIAL_BITS) - 1),
			 !=,
			 fh & ~((UINT64_C(1) << RFS_HANDLE_SERIAL_BITS) - 1));
	g_assert_null(rfs_handles_get(hs, stale));
	rfs_handles_release(hs, stale); /* left alone */
	g_assert_cmpint(frees, ==, 0);
	g_assert_nonnull(rfs_handles_get(hs, fh));
	g_assert_true(stale & RFS_HANDLE_FLAG);
	g_assert_true(fh & RFS_HANDLE_FLAG);
	g_assert_cmpuint(fh, >, (uint64_t)G_MAXINT);
	rfs_handles_free(old);
	rfs_handles_free(hs);
	g_assert_cmpint(frees, ==, 2);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/handles/released-handle-is-freed-once",
			test_released_handle_is_freed_once);
	g_test_add_func("/handles/handles-never-released-are-freed-at-the-end",
			test_handles_never_released_are_freed_at_the_end);
	g_test_add_func("/handles/numbers-of-another-epoch-name-nothing",
			test_numbers_of_another_epoch_name_nothing);
	return g_test_run();
}
