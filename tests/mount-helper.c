/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mount-helper.c - see mount-helper.h. */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Daemons started by this process, for the watchdog. */
static GPtrArray *live_mounts;
static GMutex live_lock;

struct rfs_test_mount *rfs_test_prepare(void)
{
	const char *root = g_getenv("RFS_TEST_BASE");
	struct rfs_test_mount *m = g_new0(struct rfs_test_mount, 1);
	char *tmpl =
	    g_build_filename(root ? root : g_get_tmp_dir(), "mnt-XXXXXX", NULL);
	m->base = g_mkdtemp(tmpl);
	g_assert_nonnull(m->base);
	m->src = g_build_filename(m->base, "src", NULL);
	m->mnt = g_build_filename(m->base, "mnt", NULL);
	m->control = g_build_filename(m->mnt, ".control", NULL);
	m->log = g_build_filename(m->base, "daemon.log", NULL);
	g_assert_cmpint(mkdir(m->src, 0755), ==, 0);
	g_assert_cmpint(mkdir(m->mnt, 0755), ==, 0);
	m->pid = -1;
	return m;
}

/* Whether path is the root of a mount other than its parent's. */
static bool mounted(const char *path)
{
	struct stat a, b;
	char *parent = g_path_get_dirname(path);
	if (stat(path, &a) < 0 && errno == ENOTCONN) {
		g_free(parent);
		return true; /* a mount whose daemon died */
	}
	bool res = stat(path, &a) == 0 && stat(parent, &b) == 0 &&
		   a.st_dev != b.st_dev;
	g_free(parent);
	return res;
}

/* Prints the daemon's log (on failures). */
static void print_log(struct rfs_test_mount *m)
{
	char *text = NULL;
	if (g_file_get_contents(m->log, &text, NULL, NULL) && *text)
		g_printerr("--- daemon log %s ---\n%s\n--- end ---\n", m->log,
			   text);
	g_free(text);
}

bool rfs_test_start(struct rfs_test_mount *m, const char *const *extra)
{
	const char *prog = g_getenv("REMAPFS");
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)(prog ? prog : "remapfs"));
	g_ptr_array_add(argv, "-f");
	/* RFS_TEST_DAEMON_ARGS: words every daemon of the test gets (the
	 * *-norestart.sh runs: "-o norestart"). */
	char **more =
	    g_strsplit(g_getenv("RFS_TEST_DAEMON_ARGS") ?: "", " ", -1);
	for (char **w = more; *w; w++)
		if (**w)
			g_ptr_array_add(argv, *w);
	for (const char *const *e = extra; e && *e; e++)
		g_ptr_array_add(argv, (char *)*e);
	g_ptr_array_add(argv, m->src);
	g_ptr_array_add(argv, m->mnt);
	g_ptr_array_add(argv, NULL);

	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		int fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv->pdata[0], (char **)argv->pdata);
		_exit(127);
	}
	g_ptr_array_unref(argv);
	g_strfreev(more);
	m->pid = pid;
	g_mutex_lock(&live_lock);
	if (!live_mounts)
		live_mounts = g_ptr_array_new();
	g_ptr_array_add(live_mounts, m);
	g_mutex_unlock(&live_lock);

	for (int i = 0; i < 1000; i++) {
		if (mounted(m->mnt))
			return true;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			m->pid = -1;
			g_printerr(
			    "remapfs exited before mounting (status %d)\n",
			    status);
			print_log(m);
			return false;
		}
		g_usleep(10000);
	}
	g_printerr("remapfs did not mount within 10 s\n");
	print_log(m);
	rfs_test_stop(m);
	return false;
}

/* Runs fusermount3 with a flag on the mount point; returns its status. */
static int fusermount(struct rfs_test_mount *m, const char *flag)
{
	const char *prog = g_getenv("FUSERMOUNT");
	char *argv[] = {(char *)(prog && *prog ? prog : "fusermount3"),
			(char *)flag, m->mnt, NULL};
	int status = -1;
	g_spawn_sync(NULL, argv, NULL,
		     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
		     NULL, NULL, NULL, &status, NULL);
	return status;
}

/* Fails the test when the daemon's log holds a sanitizer's report (a
 * build with --enable-sanitizers: memory errors, leaks at exit, undefined
 * behaviour). */
static void check_sanitizer_reports(struct rfs_test_mount *m)
{
	char *text = NULL;
	if (!g_file_get_contents(m->log, &text, NULL, NULL))
		return;
	if (strstr(text, "Sanitizer") || strstr(text, "runtime error:")) {
		g_printerr("the daemon's log has a sanitizer report\n");
		print_log(m);
		g_test_fail();
	}
	g_free(text);
}

/* The children of pid, from /proc (NULL-terminated; g_strfreev it). */
static char **children_of(pid_t pid)
{
	char *path =
	    g_strdup_printf("/proc/%d/task/%d/children", (int)pid, (int)pid);
	char *text = NULL;
	char **pids = g_file_get_contents(path, &text, NULL, NULL)
			  ? g_strsplit(g_strstrip(text), " ", -1)
			  : g_new0(char *, 1);
	g_free(text);
	g_free(path);
	return pids;
}

/* Kills the children of pid (the workers of an -o restart supervisor,
 * which serve on if the supervisor dies). */
static void kill_children(pid_t pid)
{
	char **pids = children_of(pid);
	for (char **p = pids; *p; p++)
		if (atoi(*p) > 0)
			kill((pid_t)atoi(*p), SIGKILL);
	g_strfreev(pids);
}

pid_t rfs_test_worker(pid_t sup)
{
	char **pids = children_of(sup);
	pid_t pid = pids[0] && atoi(pids[0]) > 0 ? (pid_t)atoi(pids[0]) : -1;
	g_strfreev(pids);
	return pid;
}

pid_t rfs_test_kill_worker(pid_t sup)
{
	pid_t old = rfs_test_worker(sup), now = -1;
	if (old <= 0 || kill(old, SIGKILL) < 0) {
		g_printerr("expected a worker under supervisor %d, saw %d\n",
			   (int)sup, (int)old);
		return -1;
	}
	for (int i = 0; i < 500 && (now <= 0 || now == old); i++) {
		g_usleep(10000);
		now = rfs_test_worker(sup);
	}
	if (now > 0 && now != old)
		return now;
	g_printerr("expected a new worker after killing %d, saw %d\n", (int)old,
		   (int)now);
	return -1;
}

int rfs_test_wait_exit(struct rfs_test_mount *m, int ms)
{
	for (int i = 0; m->pid > 0 && i < ms / 10; i++) {
		int status;
		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			m->pid = -1;
			return status;
		}
		g_usleep(10000);
	}
	return -1;
}

void rfs_test_stop(struct rfs_test_mount *m)
{
	if (mounted(m->mnt) && fusermount(m, "-u") != 0) {
		for (int i = 0; i < 50 && mounted(m->mnt); i++) {
			g_usleep(100000);
			if (fusermount(m, "-u") == 0)
				break;
		}
		if (mounted(m->mnt))
			fusermount(m, "-uz");
	}
	if (m->pid > 0) {
		int status;
		for (int i = 0; i < 500; i++) {
			if (waitpid(m->pid, &status, WNOHANG) == m->pid)
				goto reaped;
			g_usleep(10000);
		}
		kill_children(m->pid); /* -o restart: its workers */
		kill(m->pid, SIGKILL);
		waitpid(m->pid, &status, 0);
	reaped:
		m->pid = -1;
		check_sanitizer_reports(m);
	}
	g_mutex_lock(&live_lock);
	if (live_mounts)
		g_ptr_array_remove(live_mounts, m);
	g_mutex_unlock(&live_lock);
}

void rfs_test_free(struct rfs_test_mount *m)
{
	if (!m)
		return;
	rfs_test_stop(m);
	if (g_test_failed())
		print_log(m);
	char *argv[] = {"rm", "-rf", m->base, NULL};
	if (!mounted(m->mnt))
		g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
			     NULL, NULL, NULL, NULL);
	g_free(m->base);
	g_free(m->src);
	g_free(m->mnt);
	g_free(m->control);
	g_free(m->log);
	g_free(m);
}

struct rfs_test_mount *rfs_test_mount_new(const char *const *extra)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	if (!rfs_test_start(m, extra)) {
		rfs_test_free(m);
		g_error("could not mount remapfs");
	}
	return m;
}

void rfs_test_kill_all(void)
{
	/* No locks: may run from a signal handler after a deadlock. */
	if (!live_mounts)
		return;
	for (guint i = 0; i < live_mounts->len; i++) {
		struct rfs_test_mount *m = live_mounts->pdata[i];
		if (m->pid > 0)
			kill(m->pid, SIGKILL);
	}
}

static const char *watchdog_what;

/* SIGALRM: the test hung; free it by killing the daemons. */
static void watchdog_fired(int sig)
{
	static const char msg[] = "\nwatchdog: the test did not finish in time"
				  " (a deadlock?); killing the daemon\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	rfs_test_kill_all();
	_exit(1);
}

void rfs_test_watchdog(unsigned seconds, const char *what)
{
	watchdog_what = what;
	signal(SIGALRM, watchdog_fired);
	alarm(seconds);
}

/* Runs cmd; returns its exit status, printing cmd when loud and it is not
 * 0. */
static int run_sh(bool loud, const char *fmt, va_list ap)
{
	char *cmd = g_strdup_vprintf(fmt, ap);
	int status = system(cmd);
	int res = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (loud && res != 0)
		g_printerr("command failed (status %d): %s\n", res, cmd);
	g_free(cmd);
	return res;
}

int rfs_sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int res = run_sh(true, fmt, ap);
	va_end(ap);
	return res;
}

int rfs_sh_quiet(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int res = run_sh(false, fmt, ap);
	va_end(ap);
	return res;
}

int rfs_ctl_msg(struct rfs_test_mount *m, const char *text, char **msg)
{
	int fd = open(m->control, O_RDWR);
	if (fd < 0)
		return errno;
	int err = 0;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	if (n < 0)
		err = errno;
	else if ((size_t)n != len)
		err = EIO;
	if (msg) {
		char buf[4096];
		ssize_t r = err ? read(fd, buf, sizeof(buf) - 1) : 0;
		buf[r > 0 ? r : 0] = '\0';
		*msg = g_strdup(buf);
	}
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

int rfs_ctl(struct rfs_test_mount *m, const char *text)
{
	return rfs_ctl_msg(m, text, NULL);
}

int rfs_ctlf(struct rfs_test_mount *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	int err = rfs_ctl(m, text);
	g_free(text);
	return err;
}

char *rfs_dump(struct rfs_test_mount *m)
{
	char *text = NULL;
	GError *error = NULL;
	if (!g_file_get_contents(m->control, &text, NULL, &error)) {
		g_printerr("reading %s: %s\n", m->control, error->message);
		g_error_free(error);
		return g_strdup("");
	}
	return text;
}

char *rfs_src(struct rfs_test_mount *m, const char *rel)
{
	return g_build_filename(m->src, rel, NULL);
}

char *rfs_mnt(struct rfs_test_mount *m, const char *rel)
{
	return g_build_filename(m->mnt, rel, NULL);
}

void rfs_write_tagged(const char *path, size_t npages, size_t ps,
		      uint64_t tag_base)
{
	uint64_t *page = g_malloc(ps);
	FILE *f = fopen(path, "w");
	g_assert_nonnull(f);
	for (size_t p = 0; p < npages; p++) {
		for (size_t i = 0; i < ps / 8; i++)
			page[i] = tag_base + p;
		g_assert_cmpuint(fwrite(page, 1, ps, f), ==, ps);
	}
	g_assert_cmpint(fclose(f), ==, 0);
	g_free(page);
}

int64_t rfs_page_tag(const void *buf, size_t ps)
{
	const uint64_t *w = buf;
	for (size_t i = 1; i < ps / 8; i++)
		if (w[i] != w[0])
			return -1;
	return (int64_t)w[0];
}

bool rfs_page_is(const void *buf, size_t ps, uint64_t tag, const char *where)
{
	const uint64_t *w = buf;
	for (size_t i = 0; i < ps / 8; i++)
		if (w[i] != tag) {
			g_printerr(
			    "%s: expected every word to be %" G_GUINT64_FORMAT
			    ", saw %" G_GUINT64_FORMAT " at word %zu\n",
			    where, tag, w[i], i);
			return false;
		}
	return true;
}
