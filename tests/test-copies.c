/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-copies.c - what copying a mount with the usual tools gives: cp -a,
 * tar and rsync -a copy SOURCE's files and the virtual views, and never
 * the control file, which is reachable by name only. */
#include "mount-helper.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	struct rfs_test_mount *m;
	char *out; /* where the copies go */
} Fixture;

static void fx_setup(Fixture *f, gconstpointer data)
{
	(void)data;
	f->m = rfs_test_prepare();
	g_assert_cmpint(
	    rfs_sh("cd %s && printf 'abcdefgh%%.0s' $(seq 1024) > f && "
		   "mkdir dir && echo g > dir/g",
		   f->m->src),
	    ==, 0);
	f->out = g_build_filename(f->m->base, "out", NULL);
	g_assert_cmpint(mkdir(f->out, 0755), ==, 0);
	if (!rfs_test_start(f->m, NULL))
		g_error("mount failed");
	g_assert_cmpint(rfs_ctl(f->m, "create dir/v f 1\n"), ==, 0);
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	rfs_test_free(f->m); /* removes out too */
	g_free(f->out);
}

/* Checks the copy in dir: f and dir/g as in SOURCE, the view dir/v as a
 * file of one page of f, no .control anywhere. */
static void expect_copy(Fixture *f, const char *dir, const char *how)
{
	long ps = sysconf(_SC_PAGESIZE);
	g_assert_cmpint(rfs_sh("cmp %s/f %s/f", f->m->src, dir), ==, 0);
	g_assert_cmpint(rfs_sh("cmp %s/dir/g %s/dir/g", f->m->src, dir), ==, 0);
	g_assert_cmpint(
	    rfs_sh("head -c %ld %s/f | cmp - %s/dir/v", ps, f->m->src, dir), ==,
	    0);
	char *found = NULL;
	char *cmd = g_strdup_printf("find %s -name .control", dir);
	g_assert_true(g_spawn_command_line_sync(cmd, &found, NULL, NULL, NULL));
	if (found && *found)
		g_printerr("%s copied the control file: %s", how, found);
	g_assert_cmpstr(found, ==, "");
	g_free(found);
	g_free(cmd);
}

static void test_cp_a_copies_files_and_views_only(Fixture *f, gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_sh("cp -a %s %s/cp", f->m->mnt, f->out), ==, 0);
	char *dir = g_build_filename(f->out, "cp", NULL);
	expect_copy(f, dir, "cp -a");
	g_free(dir);
}

static void test_tar_stores_files_and_views_only(Fixture *f, gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_sh("tar -C %s -cf %s/a.tar . && mkdir %s/tar && "
			       "tar -C %s/tar -xf %s/a.tar",
			       f->m->mnt, f->out, f->out, f->out, f->out),
			==, 0);
	char *dir = g_build_filename(f->out, "tar", NULL);
	expect_copy(f, dir, "tar");
	g_free(dir);
}

static void test_rsync_a_copies_files_and_views_only(Fixture *f,
						     gconstpointer d)
{
	(void)d;
	if (rfs_sh("command -v rsync >/dev/null") != 0) {
		g_test_skip("rsync is not installed");
		return;
	}
	g_assert_cmpint(rfs_sh("rsync -a %s/ %s/rsync/", f->m->mnt, f->out), ==,
			0);
	char *dir = g_build_filename(f->out, "rsync", NULL);
	expect_copy(f, dir, "rsync -a");
	g_free(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rfs_test_watchdog(300, "test-copies");
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fx_setup, fn, fx_teardown)
	ADD("/copies/cp-a-copies-files-and-views-only",
	    test_cp_a_copies_files_and_views_only);
	ADD("/copies/tar-stores-files-and-views-only",
	    test_tar_stores_files_and_views_only);
	ADD("/copies/rsync-a-copies-files-and-views-only",
	    test_rsync_a_copies_files_and_views_only);
	return g_test_run();
}
