/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-restart.c - -o restart: a worker killed with SIGKILL is replaced
 * on the same connection, and programs go on: the mount stays, open
 * files read and write, stores into a mapping made before the kill reach
 * SOURCE, maps stay, a request the dead worker was serving is answered
 * by the next one; SIGUSR2 replaces the worker, SIGTERM to the supervisor
 * stops as a single process does, and a worker that cannot start is not
 * started for ever (EIO, the state left as it was). */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PS 4096
#define DIRTY 32768

/* Kills the worker with SIGKILL and waits up to 5 s until another one
 * serves (a stat of the mount answers).  Returns the new worker. */
static pid_t kill_worker(struct rfs_test_mount *m)
{
	pid_t now = rfs_test_kill_worker(m->pid);
	g_assert_cmpint(now, >, 0);
	struct stat st;
	g_assert_cmpint(stat(m->mnt, &st), ==, 0);
	return now;
}

/* Waits up to ms for the supervisor to exit with status code. */
static void expect_supervisor_exit(struct rfs_test_mount *m, int ms, int code,
				   const char *when)
{
	int status = rfs_test_wait_exit(m, ms);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != code)
		g_error("supervisor %s: expected exit status %d, saw %s %d",
			when, code, status == -1 ? "no exit" : "status",
			status == -1 ? 0 : WEXITSTATUS(status));
}

static struct rfs_test_mount *mount_restart(void)
{
	static const char *const opts[] = {"-o", "restart", NULL};
	return rfs_test_mount_new(opts);
}

/* Reads a whole file into a new string; NULL (with errno) on failure. */
static char *slurp(const char *path, gsize *len)
{
	char *text = NULL;
	return g_file_get_contents(path, &text, len, NULL) ? text : NULL;
}

static void test_killed_worker_is_replaced_and_the_mount_stays(void)
{
	struct rfs_test_mount *m = mount_restart();
	char *src = rfs_src(m, "f"), *mnt = rfs_mnt(m, "f");
	g_assert_true(g_file_set_contents(src, "before", -1, NULL));
	pid_t sup = m->pid;
	for (int round = 0; round < 3; round++) {
		kill_worker(m);
		g_assert_cmpint(m->pid, ==, sup);
		char *text = slurp(mnt, NULL);
		if (!text || strcmp(text, "before") != 0)
			g_error(
			    "round %d: expected 'before' through the mount, "
			    "saw %s",
			    round, text ? text : g_strerror(errno));
		g_free(text);
	}
	/* New files too. */
	char *n = rfs_mnt(m, "new");
	g_assert_true(g_file_set_contents(n, "made after", -1, NULL));
	char *ns = rfs_src(m, "new"), *text = slurp(ns, NULL);
	g_assert_cmpstr(text, ==, "made after");
	g_free(text);
	g_free(ns);
	g_free(n);
	g_free(src);
	g_free(mnt);
	rfs_test_free(m);
}

static void test_open_file_reads_and_writes_after_kill(void)
{
	struct rfs_test_mount *m = mount_restart();
	char *src = rfs_src(m, "f"), *mnt = rfs_mnt(m, "f");
	rfs_write_tagged(src, 4, PS, 100);
	int fd = open(mnt, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	char buf[PS];
	g_assert_cmpint(pread(fd, buf, PS, 0), ==, PS);
	kill_worker(m);
	/* Drop the page cache: the read must reach the new worker. */
	g_assert_cmpint(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), ==, 0);
	ssize_t got = pread(fd, buf, PS, 2 * PS);
	if (got != PS)
		g_error("pread after the kill: expected %d bytes, saw %zd (%s)",
			PS, got, got < 0 ? g_strerror(errno) : "short");
	g_assert_true(rfs_page_is(buf, PS, 102, "page 2 after the kill"));
	memset(buf, 'W', PS);
	g_assert_cmpint(pwrite(fd, buf, PS, PS), ==, PS);
	g_assert_cmpint(fsync(fd), ==, 0);
	g_assert_cmpint(close(fd), ==, 0);
	gsize len;
	char *text = slurp(src, &len);
	g_assert_cmpuint(len, ==, 4 * PS);
	for (int i = 0; i < PS; i++)
		if (text[PS + i] != 'W')
			g_error("SOURCE byte %d: expected 'W', saw 0x%02x",
				PS + i, (unsigned char)text[PS + i]);
	g_free(text);
	g_free(src);
	g_free(mnt);
	rfs_test_free(m);
}

/* How many bytes of path are c. */
static size_t count_bytes(const char *path, char c)
{
	gsize len = 0;
	char *text = slurp(path, &len);
	size_t n = 0;
	for (gsize i = 0; text && i < len; i++)
		n += text[i] == c;
	g_free(text);
	return n;
}

static void test_dirty_mmap_stores_reach_source_after_kill(void)
{
	struct rfs_test_mount *m = mount_restart();
	char *src = rfs_src(m, "f"), *mnt = rfs_mnt(m, "f");
	char *zeros = g_malloc0(DIRTY);
	g_assert_true(g_file_set_contents(src, zeros, DIRTY, NULL));
	g_free(zeros);
	int go[2];
	g_assert_cmpint(pipe(go), ==, 0);
	int ready[2];
	g_assert_cmpint(pipe(ready), ==, 0);
	pid_t prog = fork();
	g_assert_cmpint(prog, >=, 0);
	if (prog == 0) {
		/* Stores DIRTY bytes of 'D' without msync; after "go", 10
		 * bytes of 'E' over them, msync, munmap: exit 0 if all of
		 * that worked (a SIGBUS kills it). */
		int fd = open(mnt, O_RDWR);
		char *map = fd < 0 ? MAP_FAILED
				   : mmap(NULL, DIRTY, PROT_READ | PROT_WRITE,
					  MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			_exit(2);
		memset(map, 'D', DIRTY);
		char c = 'r';
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		memset(map, 'E', 10);
		if (msync(map, DIRTY, MS_SYNC) || munmap(map, DIRTY) ||
		    close(fd))
			_exit(1);
		_exit(0);
	}
	char c;
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	kill_worker(m);
	/* The new worker drops the cache of the files the kernel knows:
	 * the dirty pages are written back through it, without msync. */
	size_t have = 0;
	for (int i = 0; i < 500 && (have = count_bytes(src, 'D')) < DIRTY; i++)
		g_usleep(10000);
	if (have != DIRTY)
		g_error("expected the %d stored bytes in SOURCE after the "
			"restart, saw %zu",
			DIRTY, have);
	g_assert_cmpint(write(go[1], "g", 1), ==, 1);
	int status;
	g_assert_cmpint(waitpid(prog, &status, 0), ==, prog);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_error("the program: expected exit 0, saw %s %d",
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status)
					  : WTERMSIG(status));
	g_assert_cmpuint(count_bytes(src, 'E'), ==, 10);
	g_assert_cmpuint(count_bytes(src, 'D'), ==, DIRTY - 10);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
	g_free(src);
	g_free(mnt);
	rfs_test_free(m);
}

static void test_maps_and_virtual_views_survive_a_kill(void)
{
	struct rfs_test_mount *m = mount_restart();
	char *src = rfs_src(m, "f"), *mnt = rfs_mnt(m, "f");
	rfs_write_tagged(src, 4, PS, 200);
	g_assert_cmpint(rfs_ctl(m, "remap f 0 3 1\nremap f 3 0 1\n"
				   "create v f 2\nremap v 0 2 2\n"),
			==, 0);
	kill_worker(m);
	char buf[PS];
	int fd = open(mnt, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pread(fd, buf, PS, 0), ==, PS);
	g_assert_true(rfs_page_is(buf, PS, 203, "f page 0 after the kill"));
	g_assert_cmpint(pread(fd, buf, PS, 3 * PS), ==, PS);
	g_assert_true(rfs_page_is(buf, PS, 200, "f page 3 after the kill"));
	close(fd);
	char *v = rfs_mnt(m, "v");
	fd = open(v, O_RDONLY);
	if (fd < 0)
		g_error("open v after the kill: %s", g_strerror(errno));
	g_assert_cmpint(pread(fd, buf, PS, PS), ==, PS);
	g_assert_true(rfs_page_is(buf, PS, 203, "v page 1 after the kill"));
	close(fd);
	g_free(v);
	g_free(src);
	g_free(mnt);
	rfs_test_free(m);
}

/* A virtual view removed while a program holds it open and mapped, with
 * a store it never msynced (by unlink, or by the remove command): through
 * two kills the descriptor reads, writes and msyncs, and the bytes reach
 * the backing pages the view showed. */
static void removed_view_survives_kills(bool by_command)
{
	struct rfs_test_mount *m = mount_restart();
	char *src = rfs_src(m, "f"), *v = rfs_mnt(m, "v");
	rfs_write_tagged(src, 4, PS, 200);
	g_assert_cmpint(rfs_ctl(m, "create v f 2\nremap v 0 2 2\n"), ==, 0);
	int fd = open(v, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	char *map =
	    mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	memset(map + PS, 'Q', PS);
	if (by_command)
		g_assert_cmpint(rfs_ctl(m, "remove v\n"), ==, 0);
	else
		g_assert_cmpint(unlink(v), ==, 0);
	kill_worker(m);
	kill_worker(m);
	char buf[PS];
	ssize_t n = pread(fd, buf, PS, 0);
	if (n != PS)
		g_error("pread of the removed view after the kills: expected "
			"%d bytes, saw %zd (%s)",
			PS, n, n < 0 ? g_strerror(errno) : "short");
	g_assert_true(rfs_page_is(buf, PS, 202, "removed v page 0"));
	memset(buf, 'W', PS);
	g_assert_cmpint(pwrite(fd, buf, PS, 0), ==, PS);
	if (msync(map, 2 * PS, MS_SYNC) != 0)
		g_error("msync of the removed view after the kills: expected "
			"0, saw %s",
			g_strerror(errno));
	g_assert_cmpint(munmap(map, 2 * PS), ==, 0);
	g_assert_cmpint(close(fd), ==, 0);
	gsize len = 0;
	char *text = slurp(src, &len);
	g_assert_nonnull(text);
	g_assert_cmpuint(len, ==, 4 * PS);
	for (size_t i = 0; i < PS; i++)
		if (text[2 * PS + i] != 'W' || text[3 * PS + i] != 'Q')
			g_error("f pages 2 and 3 after the kills: expected the "
				"'W' written and the 'Q' stored through the "
				"removed view, saw %#x and %#x at byte %zu",
				text[2 * PS + i], text[3 * PS + i], i);
	g_free(text);
	g_free(src);
	g_free(v);
	rfs_test_free(m);
}

static void test_view_unlinked_while_open_survives_kills(void)
{
	removed_view_survives_kills(false);
}

static void test_view_removed_by_command_while_open_survives_kills(void)
{
	removed_view_survives_kills(true);
}

/* A request the dead worker was serving: a read of a file of SOURCE/sub,
 * where a second remapfs is mounted whose daemon is stopped (SIGSTOP), so
 * the worker's read of the backing file waits.  Killed then, the worker
 * never answers; the kernel sends the request again to the next one,
 * which answers once the inner daemon goes on. */
static void test_request_in_flight_is_answered_after_kill(void)
{
	struct rfs_test_mount *m = mount_restart();
	struct rfs_test_mount *inner = rfs_test_prepare();
	char *sub = rfs_src(m, "sub");
	g_assert_cmpint(mkdir(sub, 0755), ==, 0);
	g_free(inner->mnt);
	inner->mnt = sub;
	char *isrc = g_build_filename(inner->src, "slow", NULL);
	g_assert_true(g_file_set_contents(isrc, "slow bytes", -1, NULL));
	g_free(isrc);
	if (!rfs_test_start(inner, NULL))
		g_error("inner mount failed");
	char *path = rfs_mnt(m, "sub/slow");
	int fd = open(path, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(kill(inner->pid, SIGSTOP), ==, 0);
	int res[2];
	g_assert_cmpint(pipe(res), ==, 0);
	pid_t reader = fork();
	g_assert_cmpint(reader, >=, 0);
	if (reader == 0) {
		char buf[64] = {0};
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			snprintf(buf, sizeof(buf), "error %s",
				 g_strerror(errno));
		_exit(write(res[1], buf, strlen(buf)) < 0);
	}
	/* Wait until the worker's thread waits for the inner daemon. */
	g_usleep(300000);
	g_assert_cmpint(rfs_test_kill_worker(m->pid), >, 0);
	g_usleep(200000);
	g_assert_cmpint(kill(inner->pid, SIGCONT), ==, 0);
	int status;
	g_assert_cmpint(waitpid(reader, &status, 0), ==, reader);
	char got[64] = {0};
	g_assert_cmpint(read(res[0], got, sizeof(got) - 1), >, 0);
	if (strcmp(got, "slow bytes") != 0)
		g_error("the read in flight at the kill: expected 'slow "
			"bytes', saw '%s'",
			got);
	close(fd);
	close(res[0]);
	close(res[1]);
	g_free(path);
	/* The outer mount holds descriptors into the inner one. */
	rfs_test_stop(m);
	rfs_test_free(inner);
	rfs_test_free(m);
}

static void test_sigusr2_replaces_the_worker(void)
{
	struct rfs_test_mount *m = mount_restart();
	char *src = rfs_src(m, "f"), *mnt = rfs_mnt(m, "f");
	g_assert_true(g_file_set_contents(src, "kept", -1, NULL));
	pid_t old = rfs_test_worker(m->pid);
	g_assert_cmpint(kill(m->pid, SIGUSR2), ==, 0);
	pid_t now = old;
	for (int i = 0; i < 500 && (now == old || now <= 0); i++) {
		g_usleep(10000);
		now = rfs_test_worker(m->pid);
	}
	g_assert_cmpint(now, >, 0);
	g_assert_cmpint(now, !=, old);
	char *text = slurp(mnt, NULL);
	g_assert_cmpstr(text, ==, "kept");
	g_free(text);
	g_free(src);
	g_free(mnt);
	rfs_test_free(m);
}

/* Installs a fresh copy of the daemon at path, as make install or a
 * package upgrade does (written beside it, renamed over it: a new inode);
 * returns its inode number. */
static ino_t install_daemon(const char *path)
{
	const char *prog = g_getenv("REMAPFS");
	char *tmp = g_strconcat(path, ".new", NULL);
	g_assert_cmpint(rfs_sh("cp '%s' '%s' && mv '%s' '%s'",
			       prog ? prog : ABS_BUILDDIR "/src/remapfs", tmp,
			       tmp, path),
			==, 0);
	g_free(tmp);
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_ino;
}

/* The inode number of the program process pid runs. */
static ino_t exe_of(pid_t pid)
{
	char *link = g_strdup_printf("/proc/%d/exe", (int)pid);
	struct stat st;
	int res = stat(link, &st);
	g_free(link);
	return res == 0 ? st.st_ino : 0;
}

/* A program working on the mount for the time of three remapctl restarts
 * sees no error (pwrite, pread, fsync of an open file, open and read of
 * another), while a new binary is installed before each: the supervisor
 * and the new worker run it. */
static void test_remapctl_restart_under_load_runs_the_new_binary(void)
{
	struct rfs_test_mount *pre = rfs_test_prepare();
	char *bin = g_build_filename(pre->base, "remapfs", NULL);
	install_daemon(bin);
	char *saved = g_strdup(g_getenv("REMAPFS"));
	g_setenv("REMAPFS", bin, TRUE);
	static const char *const opts[] = {"-o", "restart", NULL};
	g_assert_true(rfs_test_start(pre, opts));
	if (saved)
		g_setenv("REMAPFS", saved, TRUE);
	else
		g_unsetenv("REMAPFS");
	struct rfs_test_mount *m = pre;
	char *src = rfs_src(m, "g"), *mnt = rfs_mnt(m, "f"),
	     *other = rfs_mnt(m, "g");
	g_assert_true(g_file_set_contents(src, "other file", -1, NULL));
	int stop[2];
	g_assert_cmpint(pipe(stop), ==, 0);
	pid_t prog = fork();
	g_assert_cmpint(prog, >=, 0);
	if (prog == 0) {
		close(stop[1]);
		int fd = open(mnt, O_RDWR | O_CREAT, 0644), errors = 0;
		char buf[PS], back[PS];
		for (unsigned i = 0; fd >= 0; i++) {
			struct pollfd p = {.fd = stop[0], .events = POLLIN};
			if (poll(&p, 1, 0) > 0)
				break;
			memset(buf, 'a' + i % 26, PS);
			off_t off = (off_t)(i % 64) * PS;
			if (pwrite(fd, buf, PS, off) != PS ||
			    pread(fd, back, PS, off) != PS ||
			    memcmp(buf, back, PS) || (i % 16 == 0 && fsync(fd)))
				errors++;
			char *text = slurp(other, NULL);
			if (!text || strcmp(text, "other file") != 0)
				errors++;
			g_free(text);
		}
		_exit(fd < 0 || errors ? 1 : 0);
	}
	close(stop[0]);
	for (int i = 0; i < 3; i++) {
		g_usleep(200000);
		ino_t installed = install_daemon(bin);
		char *out = NULL;
		int status = -1;
		char *argv[] = {ABS_BUILDDIR "/src/lib/remapctl", "restart",
				m->mnt, NULL};
		g_assert_true(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL,
					   &out, NULL, &status, NULL));
		if (status != 0 || !strstr(out, "replaced by worker"))
			g_error("remapctl restart %d: expected exit 0 and "
				"'replaced "
				"by worker', saw status %d and '%s'",
				i, status, out);
		g_free(out);
		pid_t worker = rfs_test_worker(m->pid);
		if (exe_of(m->pid) != installed || exe_of(worker) != installed)
			g_error(
			    "remapctl restart %d: expected the supervisor "
			    "and its worker %d to run the binary installed "
			    "just before (inode %ju), saw inodes %ju and %ju",
			    i, (int)worker, (uintmax_t)installed,
			    (uintmax_t)exe_of(m->pid),
			    (uintmax_t)exe_of(worker));
	}
	g_usleep(200000);
	close(stop[1]);
	int status;
	g_assert_cmpint(waitpid(prog, &status, 0), ==, prog);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_error(
		    "the program working through the restarts: expected exit "
		    "0 (no error), saw status 0x%x",
		    (unsigned)status);
	g_free(src);
	g_free(mnt);
	g_free(other);
	rfs_test_free(m);
	g_free(bin);
	g_free(saved);
}

static void test_sigterm_to_the_supervisor_writes_back_and_exits_0(void)
{
	struct rfs_test_mount *m = mount_restart();
	char *src = rfs_src(m, "f"), *mnt = rfs_mnt(m, "f");
	char *zeros = g_malloc0(DIRTY);
	g_assert_true(g_file_set_contents(src, zeros, DIRTY, NULL));
	g_free(zeros);
	int fd = open(mnt, O_RDWR);
	char *map =
	    mmap(NULL, DIRTY, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	memset(map, 'T', DIRTY);
	g_assert_cmpint(kill(m->pid, SIGTERM), ==, 0);
	size_t have = 0;
	for (int i = 0; i < 500 && (have = count_bytes(src, 'T')) < DIRTY; i++)
		g_usleep(10000);
	g_assert_cmpuint(have, ==, DIRTY);
	munmap(map, DIRTY);
	close(fd); /* the detached mount's last user */
	expect_supervisor_exit(m, 10000, 0, "after the stop");
	g_free(src);
	g_free(mnt);
	rfs_test_free(m);
}

static void test_worker_that_cannot_start_gives_eio_and_keeps_state(void)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	char *state = g_build_filename(m->base, "state", NULL);
	char *opt = g_strdup_printf("restart,state=%s", state);
	const char *const opts[] = {"-o", opt, NULL};
	char *src = rfs_src(m, "f");
	g_assert_true(g_file_set_contents(src, "data", -1, NULL));
	if (!rfs_test_start(m, opts))
		g_error("mount failed");
	/* A state no worker can load from now on. */
	const char *bad = "not a remapfs state\n";
	g_assert_true(g_file_set_contents(state, bad, -1, NULL));
	pid_t w = rfs_test_worker(m->pid);
	g_assert_cmpint(kill(w, SIGKILL), ==, 0);
	/* Five failed starts with pauses of 0.2 to 1.6 s between. */
	char *mnt = rfs_mnt(m, "f");
	int err = 0;
	for (int i = 0; i < 1500; i++) {
		int fd = open(mnt, O_RDONLY);
		err = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		if (err == EIO)
			break;
		g_usleep(10000);
	}
	if (err != EIO)
		g_error("expected EIO once workers cannot start, saw %s",
			err ? g_strerror(err) : "success");
	g_assert_cmpint(rfs_test_worker(m->pid), <=, 0);
	/* Its owner can still unmount it; the supervisor then exits 1. */
	const char *fm = g_getenv("FUSERMOUNT");
	g_assert_cmpint(
	    rfs_sh("%s -u %s", fm && *fm ? fm : "fusermount3", m->mnt), ==, 0);
	expect_supervisor_exit(m, 5000, 1, "after the unmount");
	char *text = slurp(state, NULL);
	g_assert_cmpstr(text, ==, bad);
	g_free(text);
	text = slurp(src, NULL);
	g_assert_cmpstr(text, ==, "data");
	g_free(text);
	g_free(mnt);
	g_free(src);
	g_free(opt);
	g_free(state);
	rfs_test_free(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rfs_test_watchdog(300, "test-restart");
	g_test_add_func(
	    "/restart/killed-worker-is-replaced-and-the-mount-stays",
	    test_killed_worker_is_replaced_and_the_mount_stays);
	g_test_add_func("/restart/open-file-reads-and-writes-after-kill",
			test_open_file_reads_and_writes_after_kill);
	g_test_add_func("/restart/dirty-mmap-stores-reach-source-after-kill",
			test_dirty_mmap_stores_reach_source_after_kill);
	g_test_add_func("/restart/maps-and-virtual-views-survive-a-kill",
			test_maps_and_virtual_views_survive_a_kill);
	g_test_add_func("/restart/view-unlinked-while-open-survives-kills",
			test_view_unlinked_while_open_survives_kills);
	g_test_add_func(
	    "/restart/view-removed-by-command-while-open-survives-kills",
	    test_view_removed_by_command_while_open_survives_kills);
	g_test_add_func("/restart/request-in-flight-is-answered-after-kill",
			test_request_in_flight_is_answered_after_kill);
	g_test_add_func("/restart/sigusr2-replaces-the-worker",
			test_sigusr2_replaces_the_worker);
	g_test_add_func(
	    "/restart/remapctl-restart-under-load-runs-the-new-binary",
	    test_remapctl_restart_under_load_runs_the_new_binary);
	g_test_add_func(
	    "/restart/sigterm-to-the-supervisor-writes-back-and-exits-0",
	    test_sigterm_to_the_supervisor_writes_back_and_exits_0);
	g_test_add_func(
	    "/restart/worker-that-cannot-start-gives-eio-and-keeps-state",
	    test_worker_that_cannot_start_gives_eio_and_keeps_state);
	return g_test_run();
}
