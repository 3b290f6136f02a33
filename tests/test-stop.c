/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-stop.c - stopping the daemon loses nothing: on SIGTERM, SIGINT and
 * SIGHUP it writes back every dirty page, saves the state, detaches the
 * mount and serves the files still open until they are closed; a second
 * signal forces the exit; a busy mount still refuses fusermount3 -u. */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIRTY 32768

typedef struct {
	struct rfs_test_mount *m;
	pid_t prog; /* the program holding a dirty mapping */
	int go;	    /* write a byte here to let it finish */
	int ready;  /* it writes a byte here when its stores are done */
} Fixture;

static void fx_setup(Fixture *f, gconstpointer data)
{
	f->m = rfs_test_prepare();
	char *p = rfs_src(f->m, "f");
	char *zeros = g_malloc0(DIRTY);
	g_assert_true(g_file_set_contents(p, zeros, DIRTY, NULL));
	g_free(zeros);
	g_free(p);
	f->prog = -1;
	if (!rfs_test_start(f->m, data))
		g_error("mount failed");
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	if (f->prog > 0) {
		kill(f->prog, SIGKILL);
		waitpid(f->prog, NULL, 0);
	}
	rfs_test_free(f->m);
}

/* What a program started by start_program does: setup, in the child
 * before it says it is ready (0, or the exit status to fail with), and
 * finish, after "go" (the exit status). */
struct program {
	int (*setup)(Fixture *f, void **state);
	int (*finish)(Fixture *f, void *state);
};

/* Forks a program that runs p's setup, says so, waits for a byte on
 * f->go and exits with p's finish. */
static void start_program(Fixture *f, const struct program *p)
{
	int go[2], ready[2];
	g_assert_cmpint(pipe(go), ==, 0);
	g_assert_cmpint(pipe(ready), ==, 0);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		void *state = NULL;
		int err = p->setup(f, &state);
		if (err)
			_exit(err);
		char c = 'r';
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		_exit(p->finish(f, state));
	}
	close(go[0]);
	close(ready[1]);
	char c;
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	close(ready[0]);
	f->prog = pid;
	f->go = go[1];
}

/* The dirty program: maps MNT/f and stores DIRTY bytes of 'D' without
 * msync; on "go" stores 10 bytes of 'E', unmaps and exits 0 (1 when a
 * store or munmap failed). */
static int dirty_setup(Fixture *f, void **state)
{
	char *mf = rfs_mnt(f->m, "f");
	int fd = open(mf, O_RDWR);
	char *map = fd < 0 ? MAP_FAILED
			   : mmap(NULL, DIRTY, PROT_READ | PROT_WRITE,
				  MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 2;
	memset(map, 'D', DIRTY);
	*state = map;
	return 0;
}

static int dirty_finish(Fixture *f, void *state)
{
	(void)f;
	memset(state, 'E', 10);
	return munmap(state, DIRTY) == 0 ? 0 : 1;
}

static void start_dirty_program(Fixture *f)
{
	static const struct program p = {dirty_setup, dirty_finish};
	start_program(f, &p);
}

#define HELD 64

/* The holding program: holds HELD open directories of the mount and HELD
 * open descriptors of .control (one with a partial line written); on
 * "go" exits 0 without closing them (the kernel closes them as the
 * program ends). */
static int holding_setup(Fixture *f, void **state)
{
	(void)state;
	char *ctl = rfs_mnt(f->m, ".control");
	for (int i = 0; i < HELD; i++) {
		int d = open(f->m->mnt, O_RDONLY | O_DIRECTORY);
		int c = open(ctl, i ? O_RDONLY : O_WRONLY);
		if (d < 0 || c < 0)
			return 2;
		if (i == 0 && write(c, "remap f 0", 9) != 9)
			return 2;
	}
	return 0;
}

static int holding_finish(Fixture *f, void *state)
{
	(void)f;
	(void)state;
	return 0;
}

static void start_holding_program(Fixture *f)
{
	static const struct program p = {holding_setup, holding_finish};
	start_program(f, &p);
}

/* Sends sig to the daemon; false (and nothing sent) when it is gone: a
 * kill(-1) would signal every process. */
static bool signal_daemon(Fixture *f, int sig)
{
	if (f->m->pid <= 0) {
		g_printerr(
		    "the daemon is gone already (expected it running)\n");
		return false;
	}
	return kill(f->m->pid, sig) == 0;
}

/* How many bytes of SOURCE's f are c. */
static size_t count_in_source(Fixture *f, char c)
{
	char *p = rfs_src(f->m, "f"), *text = NULL;
	gsize len = 0;
	size_t n = 0;
	g_assert_true(g_file_get_contents(p, &text, &len, NULL));
	for (gsize i = 0; i < len; i++)
		n += text[i] == c;
	g_free(text);
	g_free(p);
	return n;
}

/* Whether the mount point still shows the mount. */
static bool still_mounted(Fixture *f)
{
	struct stat a, b;
	char *parent = g_path_get_dirname(f->m->mnt);
	bool res = stat(f->m->mnt, &a) == 0 && stat(parent, &b) == 0 &&
		   a.st_dev != b.st_dev;
	g_free(parent);
	return res;
}

/* Waits up to ms until SOURCE's f holds at least n bytes of c. */
static size_t wait_for_bytes(Fixture *f, char c, size_t n, int ms)
{
	size_t have = 0;
	for (int i = 0; i < ms / 10 && (have = count_in_source(f, c)) < n; i++)
		g_usleep(10000);
	return have;
}

/* After a stop signal: waits until the mount is detached while the
 * daemon still serves the program, lets the program finish (it must exit
 * 0), then expects the daemon to exit 0. */
static void detach_then_finish_program(Fixture *f)
{
	for (int i = 0; i < 500 && still_mounted(f); i++)
		g_usleep(10000);
	g_assert_false(still_mounted(f));
	g_assert_cmpint(rfs_test_wait_exit(f->m, 200), ==, -1);
	g_assert_cmpint(write(f->go, "g", 1), ==, 1);
	close(f->go);
	int status;
	g_assert_cmpint(waitpid(f->prog, &status, 0), ==, f->prog);
	f->prog = -1;
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	status = rfs_test_wait_exit(f->m, 10000);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_printerr("daemon: expected exit status 0, got %s %d\n",
			   status == -1 ? "no exit" : "status",
			   status == -1 ? 0 : WEXITSTATUS(status));
	g_assert_true(status != -1 && WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void stop_signal_writes_back_and_serves_open_files(Fixture *f, int sig)
{
	start_dirty_program(f);
	g_assert_cmpuint(count_in_source(f, 'D'), ==, 0);
	g_assert_true(signal_daemon(f, sig));
	/* Every stored byte reaches SOURCE, without msync. */
	size_t have = wait_for_bytes(f, 'D', DIRTY, 5000);
	if (have != DIRTY)
		g_printerr("after %s: %zu of %d stored bytes in SOURCE\n",
			   strsignal(sig), have, DIRTY);
	g_assert_cmpuint(have, ==, DIRTY);
	/* The mount is detached, but the daemon serves the open file; its
	 * last stores reach SOURCE too, and the daemon exits 0. */
	detach_then_finish_program(f);
	g_assert_cmpuint(count_in_source(f, 'E'), ==, 10);
}

static void test_sigterm_writes_back_and_serves_open_files(Fixture *f,
							   gconstpointer d)
{
	stop_signal_writes_back_and_serves_open_files(f, SIGTERM);
}

static void test_sigint_writes_back_and_serves_open_files(Fixture *f,
							  gconstpointer d)
{
	stop_signal_writes_back_and_serves_open_files(f, SIGINT);
}

static void test_sighup_writes_back_and_serves_open_files(Fixture *f,
							  gconstpointer d)
{
	stop_signal_writes_back_and_serves_open_files(f, SIGHUP);
}

static void test_idle_mount_stops_at_once_with_status_0(Fixture *f,
							gconstpointer d)
{
	g_assert_cmpint(rfs_ctl(f->m, "remap f 0 1\n"), ==, 0);
	g_assert_true(signal_daemon(f, SIGTERM));
	int status = rfs_test_wait_exit(f->m, 5000);
	g_assert_true(status != -1 && WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_false(still_mounted(f));
}

/* The kernel may end the session before the releases of descriptors
 * closed after the detach reach the daemon; it frees their handles
 * itself (under the sanitizers a leak makes its exit status non-zero). */
static void test_stop_with_open_dirs_and_control_exits_0(Fixture *f,
							 gconstpointer d)
{
	start_holding_program(f);
	g_assert_true(signal_daemon(f, SIGTERM));
	detach_then_finish_program(f);
}

static void test_second_signal_forces_exit(Fixture *f, gconstpointer d)
{
	start_dirty_program(f);
	g_assert_true(signal_daemon(f, SIGTERM));
	g_assert_cmpuint(wait_for_bytes(f, 'D', DIRTY, 5000), ==, DIRTY);
	for (int i = 0; i < 500 && still_mounted(f); i++)
		g_usleep(10000);
	g_assert_cmpint(rfs_test_wait_exit(f->m, 100), ==, -1);
	g_assert_true(signal_daemon(f, SIGTERM));
	int status = rfs_test_wait_exit(f->m, 5000);
	g_assert_true(status != -1 && WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 1);
}

static void test_busy_mount_refuses_fusermount_u(Fixture *f, gconstpointer d)
{
	start_dirty_program(f);
	char *cmd = g_strdup_printf("fusermount3 -u %s 2>/dev/null", f->m->mnt);
	g_assert_cmpint(system(cmd), !=, 0);
	g_assert_true(still_mounted(f));
	g_free(cmd);
	g_assert_cmpint(write(f->go, "g", 1), ==, 1);
	close(f->go);
	int status;
	g_assert_cmpint(waitpid(f->prog, &status, 0), ==, f->prog);
	f->prog = -1;
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static void test_unused_signals_are_ignored(Fixture *f, gconstpointer d)
{
	g_assert_true(signal_daemon(f, SIGUSR1));
	g_assert_true(signal_daemon(f, SIGUSR2));
	g_assert_true(signal_daemon(f, SIGPIPE));
	g_usleep(100000);
	g_assert_cmpint(rfs_test_wait_exit(f->m, 100), ==, -1);
	g_assert_true(still_mounted(f));
	g_assert_cmpint(rfs_ctl(f->m, "remap f 0 1\n"), ==, 0);
}

static const char *const opts_default[] = {NULL};
static const char *const opts_single[] = {"-s", NULL};

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	rfs_test_watchdog(300, "test-stop");
#define ADD(path, fn, opts)                                                    \
	g_test_add(path, Fixture, opts, fx_setup, fn, fx_teardown)
	ADD("/stop/sigterm-writes-back-dirty-mapping-and-serves-open-files",
	    test_sigterm_writes_back_and_serves_open_files, opts_default);
	ADD("/stop/sigterm-writes-back-single-threaded",
	    test_sigterm_writes_back_and_serves_open_files, opts_single);
	ADD("/stop/sigint-writes-back-dirty-mapping-and-serves-open-files",
	    test_sigint_writes_back_and_serves_open_files, opts_default);
	ADD("/stop/sighup-writes-back-dirty-mapping-and-serves-open-files",
	    test_sighup_writes_back_and_serves_open_files, opts_default);
	ADD("/stop/idle-mount-stops-at-once-with-status-0",
	    test_idle_mount_stops_at_once_with_status_0, opts_default);
	ADD("/stop/stop-with-open-dirs-and-control-exits-0",
	    test_stop_with_open_dirs_and_control_exits_0, opts_default);
	ADD("/stop/second-signal-forces-exit-with-status-1",
	    test_second_signal_forces_exit, opts_default);
	ADD("/stop/busy-mount-refuses-fusermount-u",
	    test_busy_mount_refuses_fusermount_u, opts_default);
	ADD("/stop/unused-signals-are-ignored", test_unused_signals_are_ignored,
	    opts_default);
	return g_test_run();
}
