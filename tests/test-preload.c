/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-preload.c - the drop-in remap_file_pages() (libremapfs-preload.so)
 * against the system call: tests/preload-rfp, a program written against
 * the manual page alone, runs the same sequence of calls on a tmpfs file
 * with the kernel's remap_file_pages() and on a remapfs view with the
 * preload library; everything it prints must be the same.  Also: calls on
 * other files go to the kernel unchanged, and the raw system call is not
 * intercepted (a documented limit). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "mount-helper.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#define HELPER ABS_BUILDDIR "/tests/preload-rfp"
#define PRELOAD ABS_BUILDDIR "/src/lib/.libs/libremapfs-preload.so"

/* A new directory on a tmpfs, or NULL when there is none. */
static char *tmpfs_dir(void)
{
	static const char *const candidates[] = {"/dev/shm", "/run/shm",
						 "/tmp"};
	for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
		struct statfs sf;
		if (statfs(candidates[i], &sf) == 0 &&
		    sf.f_type == TMPFS_MAGIC &&
		    access(candidates[i], W_OK) == 0) {
			char *t = g_build_filename(candidates[i],
						   "rfs-preload-XXXXXX", NULL);
			if (g_mkdtemp(t))
				return t;
			g_free(t);
		}
	}
	return NULL;
}

/* Runs argv (with LD_PRELOAD set to the library when preload); returns
 * its standard output, NULL (after a message) when it failed. */
static char *run(const char *const *argv, bool preload)
{
	char **env = g_get_environ();
	env = preload ? g_environ_setenv(env, "LD_PRELOAD", PRELOAD, TRUE)
		      : g_environ_unsetenv(env, "LD_PRELOAD");
	char *out = NULL, *err = NULL;
	int status = -1;
	GError *error = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL,
			  &out, &err, &status, &error)) {
		g_printerr("%s: %s\n", argv[0], error->message);
		g_error_free(error);
	} else if (!g_spawn_check_wait_status(status, NULL)) {
		g_printerr("%s failed (status %d): %s\n", argv[0], status, err);
		g_clear_pointer(&out, g_free);
	}
	g_strfreev(env);
	g_free(err);
	return out;
}

/* Compares two outputs line by line; prints the first difference. */
static bool same_output(const char *want, const char *got, const char *what)
{
	if (!want || !got)
		return false;
	char **a = g_strsplit(want, "\n", -1), **b = g_strsplit(got, "\n", -1);
	bool same = true;
	for (guint i = 0; a[i] || b[i]; i++) {
		if (!a[i] || !b[i] || strcmp(a[i], b[i]) != 0) {
			g_printerr("%s: line %u differs\n  expected: %s\n"
				   "  seen:     %s\n",
				   what, i + 1, a[i] ? a[i] : "(end)",
				   b[i] ? b[i] : "(end)");
			same = false;
			break;
		}
	}
	g_strfreev(a);
	g_strfreev(b);
	return same;
}

/* The kernel's output for a seed, or NULL (test skipped) when the kernel
 * has no remap_file_pages or there is no tmpfs. */
static char *kernel_run(const char *dir, const char *seed, const char *steps)
{
	char *file = g_build_filename(dir, "kernel", NULL);
	const char *argv[] = {HELPER, file, seed, steps, NULL};
	char *out = run(argv, false);
	g_free(file);
	if (out && strstr(out, "ENOSYS")) {
		g_test_skip("the kernel has no remap_file_pages");
		g_clear_pointer(&out, g_free);
	}
	return out;
}

static void test_dropin_matches_kernel_on_same_calls(void)
{
	char *dir = tmpfs_dir();
	if (!dir) {
		g_test_skip("no tmpfs to run the kernel's remap_file_pages on");
		return;
	}
	struct rfs_test_mount *m = rfs_test_mount_new(NULL);
	static const char *const seeds[] = {"1", "42", "20261122", "7"};
	for (size_t i = 0; i < G_N_ELEMENTS(seeds); i++) {
		const char *steps = "400";
		char *want = kernel_run(dir, seeds[i], steps);
		if (!want)
			break;
		g_assert_nonnull(strstr(want, "remap"));
		/* The preload on the same tmpfs: the kernel serves it. */
		char *file = g_build_filename(dir, "preloaded", NULL);
		const char *argv1[] = {HELPER, file, seeds[i], steps, NULL};
		char *got = run(argv1, true);
		char *what = g_strdup_printf("seed %s, tmpfs with the preload",
					     seeds[i]);
		g_assert_true(same_output(want, got, what));
		g_free(what);
		g_free(got);
		g_free(file);
		/* The preload on a remapfs view: remapfs serves it. */
		char *view = rfs_mnt(m, "view"), *src = rfs_src(m, "view");
		const char *argv2[] = {HELPER, view, seeds[i],
				       steps,  src,  NULL};
		got = run(argv2, true);
		what = g_strdup_printf("seed %s, remapfs view with the preload",
				       seeds[i]);
		g_assert_true(same_output(want, got, what));
		g_free(what);
		g_free(got);
		/* And it was remapfs that did it: the view's map is not the
		 * identity (the program leaves it remapped). */
		char *dump = rfs_dump(m);
		if (!strstr(dump, "remap view "))
			g_test_fail_printf("seed %s: expected remap lines for"
					   " the view in the state, saw:\n%s",
					   seeds[i], dump);
		g_free(dump);
		g_assert_cmpint(rfs_ctl(m, "reset view\n"), ==, 0);
		g_free(view);
		g_free(src);
		g_free(want);
	}
	rfs_test_free(m);
	char *argv[] = {"rm", "-rf", dir, NULL};
	g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
		     NULL, NULL, NULL);
	g_free(dir);
}

static void test_raw_syscall_is_not_intercepted(void)
{
	char *dir = tmpfs_dir();
	if (!dir) {
		g_test_skip("no tmpfs to run the kernel's remap_file_pages on");
		return;
	}
	char *want = kernel_run(dir, "5", "100");
	struct rfs_test_mount *m = rfs_test_mount_new(NULL);
	char *view = rfs_mnt(m, "view"), *src = rfs_src(m, "view");
	const char *argv[] = {HELPER, "--raw", view, "5", "100", src, NULL};
	char *got = run(argv, true);
	/* The kernel's own emulation ran on the view's mapping (the same
	 * output), and the view's map was never changed. */
	g_assert_true(same_output(want, got, "raw system call on a view"));
	char *dump = rfs_dump(m);
	if (want && strstr(dump, "remap view "))
		g_test_fail_printf("expected no remap of the view, saw:\n%s",
				   dump);
	g_free(dump);
	g_free(got);
	g_free(want);
	g_free(view);
	g_free(src);
	rfs_test_free(m);
	char *rm[] = {"rm", "-rf", dir, NULL};
	g_spawn_sync(NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
		     NULL, NULL, NULL);
	g_free(dir);
}

static void test_preload_is_harmless_elsewhere(void)
{
	/* A program that never calls remap_file_pages runs as usual. */
	const char *argv[] = {"/bin/sh", "-c", "echo ok", NULL};
	char *out = run(argv, true);
	g_assert_cmpstr(out, ==, "ok\n");
	g_free(out);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	rfs_test_watchdog(600, "test-preload");
	g_test_add_func("/preload/dropin-matches-kernel-on-same-calls",
			test_dropin_matches_kernel_on_same_calls);
	g_test_add_func("/preload/raw-syscall-is-not-intercepted",
			test_raw_syscall_is_not_intercepted);
	g_test_add_func("/preload/preload-is-harmless-elsewhere",
			test_preload_is_harmless_elsewhere);
	return g_test_run();
}
