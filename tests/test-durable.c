/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-durable.c - -o state keeps what it acknowledged: kill -9 at random
 * instants under a stream of transactions restores the last acknowledged
 * state; stale entries are rejected alone; damage, another page size and
 * an unwritable place are refused; a save that fails is not acknowledged;
 * changes through the namespace are saved too. */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	struct rfs_test_mount *m;
	char *state; /* the -o state file */
	char *opt;   /* "state=..." */
} Fixture;

/* SOURCE holds f (4 GiB, sparse) and g (2 pages); not mounted yet. */
static void fx_setup(Fixture *f, gconstpointer data)
{
	f->m = rfs_test_prepare();
	f->state = g_build_filename(f->m->base, "state", NULL);
	f->opt = g_strconcat("state=", f->state, NULL);
	char *p = rfs_src(f->m, "f");
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	g_assert_cmpint(ftruncate(fd, (off_t)4 << 30), ==, 0);
	close(fd);
	g_free(p);
	p = rfs_src(f->m, "g");
	char page[8192] = {0};
	g_assert_true(g_file_set_contents(p, page, sizeof(page), NULL));
	g_free(p);
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	rfs_test_free(f->m);
	g_free(f->state);
	g_free(f->opt);
}

/* Mounts with -o state (and more options); returns whether it mounted. */
static bool mount_state(Fixture *f, const char *more)
{
	const char *extra[] = {"-o", f->opt, more ? "-o" : NULL, more, NULL};
	return rfs_test_start(f->m, extra);
}

/* Kills the daemon with SIGKILL and cleans the dead mount up. */
static void crash(Fixture *f)
{
	g_assert_cmpint(f->m->pid, >, 0);
	kill(f->m->pid, SIGKILL);
	waitpid(f->m->pid, NULL, 0);
	f->m->pid = -1;
	rfs_test_stop(f->m); /* fusermount3 -u, then -uz */
}

/* The fpage that view page 0 of f shows in the state, or -1. */
static long long fpage_of_f0(Fixture *f)
{
	char *dump = rfs_dump(f->m);
	const char *p = strstr(dump, "\nremap f 0 ");
	long long v = p ? atoll(p + strlen("\nremap f 0 ")) : -1;
	g_free(dump);
	return v;
}

static void
test_kill_9_restores_the_last_acknowledged_transaction(Fixture *f,
						       gconstpointer d)
{
	/* 10 in make check; RFS_DURABLE_TRIALS=100 for the long run. */
	const char *env = g_getenv("RFS_DURABLE_TRIALS");
	const int trials = env && atoi(env) > 0 ? atoi(env) : 10;
	int exact = 0, ahead = 0;
	GRand *r = g_rand_new_with_seed(1234);
	/* acked[0]: the last transaction the writer saw acknowledged. */
	long long *acked = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g_assert_true(acked != MAP_FAILED);
	long long last = 0;
	for (int t = 0; t < trials; t++) {
		g_assert_true(mount_state(f, NULL));
		/* What the last mount restored is what was acknowledged. */
		if (t > 0) {
			long long got = fpage_of_f0(f);
			if (got == last)
				exact++;
			else if (got == last + 1)
				ahead++; /* durable, killed before the ack */
			else
				g_printerr("trial %d: restored fpage %lld, the "
					   "last acknowledged was %lld\n",
					   t, got, last);
			g_assert_true(got == last || got == last + 1);
			last = got;
		}
		acked[0] = last;
		pid_t w = fork();
		if (w == 0) {
			for (long long k = last + 1;; k++) {
				int fd = open(f->m->control, O_WRONLY);
				char cmd[64];
				int n = snprintf(cmd, sizeof(cmd),
						 "remap f 0 %lld 1\n", k);
				if (fd < 0 || write(fd, cmd, (size_t)n) != n)
					_exit(0);
				acked[0] = k;
				close(fd);
			}
		}
		g_usleep((gulong)g_rand_int_range(r, 20000, 300000));
		crash(f);
		waitpid(w, NULL, 0);
		last = acked[0];
	}
	g_assert_true(mount_state(f, NULL));
	long long got = fpage_of_f0(f);
	g_assert_true(got == last || got == last + 1);
	exact += got == last;
	ahead += got == last + 1;
	g_test_message("%d kill -9 trials: %d restored the last acknowledged "
		       "transaction, %d also the one in flight",
		       trials, exact, ahead);
	munmap(acked, 4096);
	g_rand_free(r);
}

static void test_stale_entry_is_rejected_and_the_rest_loads(Fixture *f,
							    gconstpointer d)
{
	g_assert_true(mount_state(f, NULL));
	g_assert_cmpint(rfs_ctl(f->m,
				"create v1 g\nremap v1 1 0\ncreate v2 f 8\n"
				"remap v2 0 7\nremap f 3 9\n"),
			==, 0);
	rfs_test_stop(f->m);
	char *g = rfs_src(f->m, "g");
	g_assert_cmpint(unlink(g), ==, 0);
	g_free(g);
	g_assert_true(mount_state(f, NULL));
	char *dump = rfs_dump(f->m);
	g_assert_null(strstr(dump, "v1"));
	g_assert_nonnull(strstr(dump, "create v2 f 8\n"));
	g_assert_nonnull(strstr(dump, "remap v2 0 7 1\n"));
	g_assert_nonnull(strstr(dump, "remap f 3 9 1\n"));
	g_free(dump);
	char *rej = g_strconcat(f->state, ".rejected", NULL), *text = NULL;
	g_assert_true(g_file_get_contents(rej, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, "create v1 g"));
	g_assert_nonnull(strstr(text, "remap v1 1 0 1"));
	struct stat st;
	g_assert_cmpint(stat(rej, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_free(text);
	text = NULL;
	g_assert_true(g_file_get_contents(f->m->log, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, "rejected 'create v1 g"));
	g_free(text);
	g_free(rej);
	g_assert_cmpint(stat(f->state, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
}

/* Runs the daemon in the foreground expecting it to refuse to mount
 * (exit status 1); returns what it printed. */
static char *refused_mount(Fixture *f, const char *opts)
{
	char *sh =
	    g_strdup_printf("sh -c '%s -f -o %s %s %s 2>&1; echo rc=$?'",
			    g_getenv("REMAPFS"), opts, f->m->src, f->m->mnt);
	char *out = NULL;
	g_assert_true(g_spawn_command_line_sync(sh, &out, NULL, NULL, NULL));
	g_free(sh);
	if (!strstr(out, "rc=1"))
		g_printerr("expected the mount to be refused (rc=1): %s\n",
			   out);
	g_assert_nonnull(strstr(out, "rc=1"));
	return out;
}

static void
test_damage_page_size_and_unwritable_place_are_refused(Fixture *f,
						       gconstpointer d)
{
	g_assert_true(mount_state(f, NULL));
	g_assert_cmpint(rfs_ctl(f->m, "remap f 0 1\n"), ==, 0);
	g_assert_cmpint(rfs_ctl(f->m, "remap f 1 5\n"), ==, 0);
	rfs_test_stop(f->m);
	char *text = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(f->state, &text, &len, NULL));
	/* Another page size. */
	char *opts = g_strdup_printf("%s,pagesize=16384", f->opt);
	char *out = refused_mount(f, opts);
	g_assert_nonnull(strstr(out, "pagesize=4096"));
	g_free(out);
	g_free(opts);
	/* A byte changed in the snapshot: refused, with its offset. */
	char *bad = g_memdup2(text, len);
	bad[40] ^= 0x01;
	g_assert_true(g_file_set_contents(f->state, bad, (gssize)len, NULL));
	out = refused_mount(f, f->opt);
	g_assert_nonnull(strstr(out, "byte "));
	g_assert_nonnull(strstr(out, "nothing loaded"));
	g_free(out);
	g_free(bad);
	/* A torn last record: dropped, the rest loads. */
	GString *torn = g_string_new_len(text, (gssize)len);
	g_string_append(torn, "T 40 0123abcd\nremap f 2");
	g_assert_true(
	    g_file_set_contents(f->state, torn->str, (gssize)torn->len, NULL));
	g_assert_true(mount_state(f, NULL));
	char *dump = rfs_dump(f->m);
	g_assert_nonnull(strstr(dump, "remap f 1 5 1\n"));
	g_assert_null(strstr(dump, "remap f 2"));
	g_free(dump);
	rfs_test_stop(f->m);
	g_string_free(torn, TRUE);
	/* A directory that does not exist. */
	opts = g_strdup_printf("state=%s/no/such/dir/state", f->m->base);
	out = refused_mount(f, opts);
	g_assert_nonnull(strstr(out, "cannot be written"));
	g_free(out);
	g_free(opts);
	g_free(text);
}

static void test_namespace_changes_are_saved(Fixture *f, gconstpointer d)
{
	g_assert_true(mount_state(f, NULL));
	g_assert_cmpint(rfs_ctl(f->m, "create v1 g\ncreate v2 g\n"), ==, 0);
	char *v1 = rfs_mnt(f->m, "v1"), *v2 = rfs_mnt(f->m, "v2");
	char *v3 = rfs_mnt(f->m, "v3");
	g_assert_cmpint(unlink(v1), ==, 0);
	g_assert_cmpint(rename(v2, v3), ==, 0);
	g_usleep(300000); /* a snapshot follows within milliseconds */
	crash(f);
	g_assert_true(mount_state(f, NULL));
	char *dump = rfs_dump(f->m);
	g_assert_null(strstr(dump, "v1"));
	g_assert_null(strstr(dump, "create v2"));
	g_assert_nonnull(strstr(dump, "create v3 g 2\n"));
	g_free(dump);
	g_free(v1);
	g_free(v2);
	g_free(v3);
}

static void test_failed_save_is_not_acknowledged(Fixture *f, gconstpointer d)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to mount a small tmpfs");
		return;
	}
	/* The state on a full file system. */
	char *dir = g_build_filename(f->m->base, "small", NULL);
	g_assert_cmpint(mkdir(dir, 0700), ==, 0);
	g_assert_cmpint(mount("tmpfs", dir, "tmpfs", 0, "size=256k"), ==, 0);
	char *state = g_build_filename(dir, "state", NULL);
	g_free(f->opt);
	f->opt = g_strconcat("state=", state, NULL);
	g_assert_true(mount_state(f, NULL));
	g_assert_cmpint(rfs_ctl(f->m, "remap f 0 1\n"), ==, 0);
	char *fill = g_build_filename(dir, "fill", NULL);
	char *cmd =
	    g_strdup_printf("dd if=/dev/zero of=%s bs=4k 2>/dev/null", fill);
	g_assert_cmpint(system(cmd), !=, 0); /* until full */
	/* Enough commands to need new blocks of the file. */
	GString *big = g_string_new(NULL);
	for (int i = 0; i < 2000; i++)
		g_string_append_printf(big, "remap f %d %d 1\n", i + 1, i + 5);
	char *msg = NULL;
	int err = rfs_ctl_msg(f->m, big->str, &msg);
	if (err != ENOSPC)
		g_printerr("expected ENOSPC, got %s (%s)\n", g_strerror(err),
			   msg ? msg : "");
	g_assert_cmpint(err, ==, ENOSPC);
	g_assert_true(msg && strstr(msg, "not saved"));
	g_free(msg);
	/* Space again: the next transaction saves everything. */
	g_assert_cmpint(unlink(fill), ==, 0);
	g_assert_cmpint(rfs_ctl(f->m, "remap f 3000 7\n"), ==, 0);
	crash(f);
	g_assert_true(mount_state(f, NULL));
	char *dump = rfs_dump(f->m);
	g_assert_nonnull(strstr(dump, "remap f 3000 7 1\n"));
	g_assert_nonnull(strstr(dump, "remap f 1 5 2000\n"));
	g_free(dump);
	rfs_test_stop(f->m);
	g_assert_cmpint(umount2(dir, MNT_DETACH), ==, 0);
	g_string_free(big, TRUE);
	g_free(cmd);
	g_free(fill);
	g_free(state);
	g_free(dir);
}

/* A snapshot a killed daemon left unfinished (STATE.new.PID of a process
 * that is gone) is removed at the next mount; one whose writer runs (this
 * test's PID) is left alone. */
static void
test_unfinished_snapshot_of_a_dead_daemon_is_removed(Fixture *f,
						     gconstpointer d)
{
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	g_assert_cmpint(waitpid(gone, NULL, 0), ==, gone);
	char *dead = g_strdup_printf("%s.new.%d", f->state, (int)gone);
	char *alive = g_strdup_printf("%s.new.%d", f->state, (int)getpid());
	g_assert_true(g_file_set_contents(dead, "cut", -1, NULL));
	g_assert_true(g_file_set_contents(alive, "being written", -1, NULL));
	g_assert_true(mount_state(f, NULL));
	if (access(dead, F_OK) == 0)
		g_error("expected %s (its writer %d is gone) removed at the "
			"mount, saw it still there",
			dead, (int)gone);
	if (access(alive, F_OK) != 0)
		g_error("expected %s (its writer runs) kept, saw it gone",
			alive);
	unlink(alive);
	g_free(dead);
	g_free(alive);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	rfs_test_watchdog(300, "test-durable");
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fx_setup, fn, fx_teardown)
	ADD("/state/kill-9-restores-the-last-acknowledged-transaction",
	    test_kill_9_restores_the_last_acknowledged_transaction);
	ADD("/state/stale-entry-is-rejected-and-the-rest-loads",
	    test_stale_entry_is_rejected_and_the_rest_loads);
	ADD("/state/damage-page-size-and-unwritable-place-are-refused",
	    test_damage_page_size_and_unwritable_place_are_refused);
	ADD("/state/namespace-changes-are-saved",
	    test_namespace_changes_are_saved);
	ADD("/state/failed-save-is-not-acknowledged",
	    test_failed_save_is_not_acknowledged);
	ADD("/state/unfinished-snapshot-of-a-dead-daemon-is-removed",
	    test_unfinished_snapshot_of_a_dead_daemon_is_removed);
	return g_test_run();
}
