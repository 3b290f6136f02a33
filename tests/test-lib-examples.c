/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-lib-examples.c - runs the programs of contrib/examples on a real
 * remapfs mount: the page reversal of a Linux 2.6 program with the drop-in
 * remap_file_pages(), the virtual ring buffer and the database window. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "mount-helper.h"

#include <string.h>
#include <unistd.h>

#define EXAMPLES ABS_BUILDDIR "/contrib/examples/"
#define PRELOAD ABS_BUILDDIR "/src/lib/.libs/libremapfs-preload.so"

/* Runs argv (LD_PRELOAD set to the drop-in when preload); returns its
 * standard output, or NULL after printing why it failed. */
static char *run(const char *const *argv, bool preload)
{
	char **env = g_get_environ();
	if (preload)
		env = g_environ_setenv(env, "LD_PRELOAD", PRELOAD, TRUE);
	char *out = NULL, *err = NULL;
	int status = -1;
	GError *error = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL,
			  &out, &err, &status, &error)) {
		g_printerr("%s: %s\n", argv[0], error->message);
		g_error_free(error);
	} else if (!g_spawn_check_wait_status(status, NULL)) {
		g_printerr("%s failed (status %d)\n--- stdout ---\n%s\n"
			   "--- stderr ---\n%s\n",
			   argv[0], status, out, err);
		g_clear_pointer(&out, g_free);
	}
	g_strfreev(env);
	g_free(err);
	return out;
}

static void test_reverse_pages_with_dropin(void)
{
	struct rfs_test_mount *m = rfs_test_mount_new(NULL);
	char *file = rfs_mnt(m, "pages.txt");
	const char *argv[] = {EXAMPLES "reverse-pages", file, "8", NULL};
	char *out = run(argv, true);
	g_assert_nonnull(out);
	if (out) {
		g_assert_nonnull(strstr(out,
					"   0: This is page 7 of the file\n"
					"   1: This is page 6"));
		g_assert_nonnull(strstr(out, "reversed and restored: ok\n"));
	}
	/* remapfs did the work: the view ends back at the identity, and
	 * the daemon saw the remaps. */
	char *dump = rfs_dump(m);
	g_assert_null(strstr(dump, "remap pages.txt"));
	g_free(dump);
	g_free(out);
	g_free(file);
	rfs_test_free(m);
}

static void test_ring_buffer_reads_across_wrap(void)
{
	const char *const opts[][4] = {{NULL}, {"-o", "pagesize=16k", NULL}};
	for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
		struct rfs_test_mount *m = rfs_test_mount_new(opts[i]);
		char *file = rfs_mnt(m, "buf");
		const char *argv[] = {EXAMPLES "ring-buffer", file, "3", "3000",
				      NULL};
		char *out = run(argv, false);
		g_assert_nonnull(out);
		if (out) {
			g_assert_true(g_str_has_prefix(out, "3000 records"));
			g_assert_nonnull(strstr(out, " 0 bad\n"));
			g_assert_null(strstr(out, " 0 across the wrap"));
		}
		/* The ring view was removed; the buffer stays. */
		char *ring = rfs_mnt(m, "buf.ring");
		g_assert_cmpint(access(ring, F_OK), ==, -1);
		g_free(ring);
		g_free(out);
		g_free(file);
		rfs_test_free(m);
	}
}

static void test_db_window_slides_without_mmap(void)
{
	struct rfs_test_mount *m = rfs_test_mount_new(NULL);
	char *file = rfs_mnt(m, "db");
	const char *argv[] = {EXAMPLES "db-window", file, "16", "1000", NULL};
	char *out = run(argv, false);
	g_assert_nonnull(out);
	if (out)
		g_assert_cmpstr(out, ==,
				"1000 pages seen through a window of 16 pages,"
				" 66 remaps, no munmap/mmap, 0 errors\n");
	g_free(out);
	/* Run again on the file it left: the update is still there. */
	out = run(argv, false);
	g_assert_nonnull(out);
	g_free(out);
	g_free(file);
	rfs_test_free(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	rfs_test_watchdog(600, "test-lib-examples");
	g_test_add_func("/examples/reverse-pages-with-dropin",
			test_reverse_pages_with_dropin);
	g_test_add_func("/examples/ring-buffer-reads-across-wrap",
			test_ring_buffer_reads_across_wrap);
	g_test_add_func("/examples/db-window-slides-without-mmap",
			test_db_window_slides_without_mmap);
	return g_test_run();
}
