/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-user.c - a daemon run by a user who is not root (uid 65534, with
 * fusermount3): it serves that user, reaches nothing for other users
 * without allow_other, and with allow_other the kernel's permission
 * checks keep other users (uid 1) to what the modes allow, since the
 * daemon cannot act as them.
 *
 * On this kind of machine /dev/fuse is 0600 and /etc/fuse.conf lacks
 * user_allow_other: each mount widens what it needs for the moment of the
 * mount and puts it back at once (also if the test program dies).
 *
 * With -o restart, the same after the daemon's worker is killed, and on
 * SIGTERM, while a program of the user holds a dirty mapping. */
#define _GNU_SOURCE /* setresuid, setresgid */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define USER 65534 /* runs the daemon */
#define OTHER 1	   /* another user */
#define FUSE_CONF "/etc/fuse.conf"

typedef struct {
	char *base, *src, *mnt, *log;
	pid_t pid; /* the daemon, or -1 */
} Fixture;

/* What the mount changed for the moment, to be put back. */
static mode_t saved_fuse_mode = (mode_t)-1;
static char *saved_conf; /* NULL: the file was not changed */
static gsize saved_conf_len;
static bool saved_conf_existed;
/* Held from widening to restoring: two runs at once (the plain and the
 * sanitizer suite) must not take each other's widened mode for the
 * original. */
static int system_lock = -1;

/* Puts /dev/fuse's mode and /etc/fuse.conf back as they were. */
static void restore_system(void)
{
	if (saved_fuse_mode != (mode_t)-1) {
		if (chmod("/dev/fuse", saved_fuse_mode) < 0)
			g_printerr("cannot restore /dev/fuse's mode: %s\n",
				   g_strerror(errno));
		saved_fuse_mode = (mode_t)-1;
	}
	if (saved_conf) {
		if (saved_conf_existed)
			g_file_set_contents(FUSE_CONF, saved_conf,
					    (gssize)saved_conf_len, NULL);
		else
			g_unlink(FUSE_CONF);
		g_free(saved_conf);
		saved_conf = NULL;
	}
	if (system_lock >= 0) {
		close(system_lock); /* drops the lock */
		system_lock = -1;
	}
}

static void restore_on_signal(int sig)
{
	restore_system();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Lets USER open /dev/fuse and, for allow_other, mount with it. */
static void widen_system(bool allow_other)
{
	system_lock = open("/run/lock/remapfs-test-user.lock",
			   O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (system_lock < 0 || flock(system_lock, LOCK_EX) < 0)
		g_printerr("no lock for widening /dev/fuse: %s\n",
			   g_strerror(errno));
	struct stat st;
	g_assert_cmpint(stat("/dev/fuse", &st), ==, 0);
	if ((st.st_mode & 0666) != 0666) {
		saved_fuse_mode = st.st_mode & 07777;
		g_assert_cmpint(chmod("/dev/fuse", 0666), ==, 0);
	}
	if (!allow_other)
		return;
	char *text = NULL;
	gsize len = 0;
	saved_conf_existed = g_file_get_contents(FUSE_CONF, &text, &len, NULL);
	saved_conf = saved_conf_existed ? text : g_strdup("");
	saved_conf_len = saved_conf_existed ? len : 0;
	char *more = g_strconcat(saved_conf, "\nuser_allow_other\n", NULL);
	g_assert_true(g_file_set_contents(FUSE_CONF, more, -1, NULL));
	g_free(more);
}

/* Runs the shell command cmd as uid; returns its exit status, or -1 when
 * it did not exit. */
static int run_as(uid_t uid, const char *cmd)
{
	char *q = g_shell_quote(cmd);
	int status = rfs_sh_quiet("setpriv --reuid=%u --regid=%u "
				  "--clear-groups sh -c %s 2>/dev/null",
				  (unsigned)uid, (unsigned)uid, q);
	g_free(q);
	return status;
}

/* printf-style run_as. */
static int G_GNUC_PRINTF(2, 3) as_user(uid_t uid, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	int status = run_as(uid, cmd);
	g_free(cmd);
	return status;
}

/* Expects the command (printf-style) run as uid to work (ok) or fail. */
static void G_GNUC_PRINTF(3, 4)
    expect_as(uid_t uid, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	int status = run_as(uid, cmd);
	if ((status == 0) != ok)
		g_printerr("as uid %u, expected %s, got status %d: %s\n",
			   (unsigned)uid, ok ? "success" : "a failure", status,
			   cmd);
	g_assert_true((status == 0) == ok);
	g_free(cmd);
}

/* Whether the mount table lists a mount on path. */
static bool in_mount_table(const char *path)
{
	char *text = NULL;
	bool found = false;
	if (!g_file_get_contents("/proc/self/mounts", &text, NULL, NULL))
		return false;
	char *want = g_strdup_printf(" %s fuse.remapfs ", path);
	found = strstr(text, want) != NULL;
	g_free(want);
	g_free(text);
	return found;
}

static void fx_setup(Fixture *f, gconstpointer data)
{
	const char *opt = data;
	const char *root = g_getenv("RFS_TEST_BASE");
	char *tmpl = g_build_filename(root ? root : g_get_tmp_dir(),
				      "user-XXXXXX", NULL);
	f->base = g_mkdtemp(tmpl);
	g_assert_nonnull(f->base);
	g_assert_cmpint(chmod(f->base, 0755), ==, 0);
	f->src = g_build_filename(f->base, "src", NULL);
	f->mnt = g_build_filename(f->base, "mnt", NULL);
	f->log = g_build_filename(f->base, "daemon.log", NULL);
	f->pid = -1;
	g_assert_cmpint(mkdir(f->src, 0755), ==, 0);
	g_assert_cmpint(mkdir(f->mnt, 0755), ==, 0);
	g_assert_cmpint(chown(f->src, USER, USER), ==, 0);
	g_assert_cmpint(chown(f->mnt, USER, USER), ==, 0);
	/* USER's files: one private, one readable by all, a 1777 dir. */
	g_assert_cmpint(as_user(USER,
				"cd %s && echo secret > mine && chmod 600 mine "
				"&& echo open > pub.txt && chmod 644 pub.txt "
				"&& mkdir pub && chmod 1777 pub",
				f->src),
			==, 0);

	widen_system(opt != NULL);
	f->pid = fork();
	g_assert_cmpint(f->pid, >=, 0);
	if (f->pid == 0) {
		int fd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		char ids[32];
		snprintf(ids, sizeof(ids), "%u", USER);
		const char *prog = g_getenv("REMAPFS");
		char *argv[12];
		int n = 0;
		argv[n++] = "setpriv";
		argv[n++] = g_strdup_printf("--reuid=%s", ids);
		argv[n++] = g_strdup_printf("--regid=%s", ids);
		argv[n++] = "--clear-groups";
		argv[n++] = (char *)(prog ? prog : "src/remapfs");
		argv[n++] = "-f";
		if (opt) {
			argv[n++] = "-o";
			argv[n++] = (char *)opt;
		}
		argv[n++] = f->src;
		argv[n++] = f->mnt;
		argv[n] = NULL;
		execvp("setpriv", argv);
		_exit(127);
	}
	bool up = false;
	for (int i = 0; i < 500 && !up; i++) {
		up = in_mount_table(f->mnt);
		if (!up && waitpid(f->pid, NULL, WNOHANG) == f->pid) {
			f->pid = -1;
			break;
		}
		if (!up)
			g_usleep(10000);
	}
	restore_system(); /* the daemon holds /dev/fuse open now */
	if (!up) {
		char *text = NULL;
		g_file_get_contents(f->log, &text, NULL, NULL);
		g_printerr("the daemon of uid %u did not mount; its log:\n%s\n",
			   USER, text ? text : "");
		g_free(text);
	}
	g_assert_true(up);
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	restore_system();
	if (in_mount_table(f->mnt)) {
		char *cmd = g_strdup_printf("fusermount3 -u %s 2>/dev/null || "
					    "fusermount3 -uz %s",
					    f->mnt, f->mnt);
		if (system(cmd) != 0)
			g_printerr("could not unmount %s\n", f->mnt);
		g_free(cmd);
	}
	if (f->pid > 0) {
		int status = -1;
		for (int i = 0; i < 300; i++) {
			if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
				f->pid = -1;
				break;
			}
			g_usleep(10000);
		}
		if (f->pid > 0) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, NULL, 0);
			g_printerr(
			    "the daemon did not exit after the unmount\n");
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			g_printerr(
			    "the daemon ended with status 0x%x, expected "
			    "exit 0\n",
			    (unsigned)status);
		}
		g_assert_true(f->pid < 0 && WIFEXITED(status) &&
			      WEXITSTATUS(status) == 0);
	}
	char *cmd = g_strdup_printf("rm -rf %s", f->base);
	if (system(cmd) != 0)
		g_printerr("could not remove %s\n", f->base);
	g_free(cmd);
	g_free(f->base);
	g_free(f->src);
	g_free(f->mnt);
	g_free(f->log);
}

/* The owner of SOURCE's rel, or -1. */
static long source_owner(Fixture *f, const char *rel)
{
	char *p = g_build_filename(f->src, rel, NULL);
	struct stat st;
	long uid = stat(p, &st) == 0 ? (long)st.st_uid : -1;
	g_free(p);
	return uid;
}

static void test_daemon_of_a_user_serves_that_user(Fixture *f, gconstpointer d)
{
	(void)d;
	const char *m = f->mnt;
	expect_as(USER, true, "test \"$(cat %s/mine)\" = secret", m);
	expect_as(USER, true,
		  "echo hello world > %s/a && echo x > %s/a && "
		  "test \"$(cat %s/a)\" = x",
		  m, m, m);
	expect_as(USER, true,
		  "mkdir %s/d && cp -a %s/a %s/d/b && "
		  "mv %s/d/b %s/d/c && rm %s/d/c && rmdir %s/d",
		  m, m, m, m, m, m, m);
	expect_as(USER, true,
		  "echo 'create v mine 1' > %s/.control && "
		  "head -c 7 %s/v | grep -q secret && "
		  "echo 'remove v' > %s/.control && ! test -e %s/v",
		  m, m, m, m);
	expect_as(USER, true, "chmod 640 %s/a && truncate -s 100 %s/a", m, m);
	g_assert_cmpint(source_owner(f, "a"), ==, USER);
}

static void test_others_reach_nothing_without_allow_other(Fixture *f,
							  gconstpointer d)
{
	(void)d;
	const char *m = f->mnt;
	expect_as(OTHER, false, "cat %s/pub.txt", m);
	expect_as(OTHER, false, "ls %s", m);
	expect_as(OTHER, false, "echo 'create w pub.txt' > %s/.control", m);
	expect_as(OTHER, false, "touch %s/pub/x", m);
	/* root is another user too: the kernel refuses it the mount. */
	char *p = g_build_filename(m, "pub.txt", NULL);
	g_assert_cmpint(open(p, O_RDONLY), ==, -1);
	g_assert_cmpint(errno, ==, EACCES);
	g_free(p);
	g_assert_cmpint(source_owner(f, "pub/x"), ==, -1);
}

static void test_allow_other_keeps_others_to_the_modes(Fixture *f,
						       gconstpointer d)
{
	(void)d;
	const char *m = f->mnt;
	expect_as(OTHER, true, "test \"$(cat %s/pub.txt)\" = open", m);
	expect_as(OTHER, false, "cat %s/mine", m);
	expect_as(OTHER, false, "echo x >> %s/pub.txt", m);
	expect_as(OTHER, false, "truncate -s 0 %s/pub.txt", m);
	expect_as(OTHER, false, "chmod 666 %s/pub.txt", m);
	expect_as(OTHER, false, "rm -f %s/pub.txt", m);
	expect_as(OTHER, false, "touch %s/new", m);
	expect_as(OTHER, false, "echo 'create w mine 1' > %s/.control", m);
	expect_as(USER, true, "echo 'create v mine 1' > %s/.control", m);
	expect_as(OTHER, false, "cat %s/v", m); /* the backing's mode */
	expect_as(OTHER, false, "rm -f %s/v", m);
	g_assert_cmpint(source_owner(f, "pub.txt"), ==, USER);
	expect_as(USER, true, "test \"$(cat %s/pub.txt)\" = open", m);
	expect_as(USER, true, "test -e %s/v", m);
}

#define DIRTY 32768

/* A program of the user (a forked child with USER's identity) that maps
 * the mount's rel (DIRTY bytes, made by the user beforehand) and stores
 * DIRTY bytes of c without msync; once a byte comes on the returned *go
 * pipe it unmaps and exits 0 (1 when a call failed; a SIGBUS kills it). */
static pid_t start_user_mapper(Fixture *f, const char *rel, char c, int *go)
{
	int p[2], ready[2];
	g_assert_cmpint(pipe(p), ==, 0);
	g_assert_cmpint(pipe(ready), ==, 0);
	char *path = g_build_filename(f->mnt, rel, NULL);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(USER, USER, USER) ||
		    setresuid(USER, USER, USER))
			_exit(2);
		int fd = open(path, O_RDWR);
		char *map = fd < 0 ? MAP_FAILED
				   : mmap(NULL, DIRTY, PROT_READ | PROT_WRITE,
					  MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			_exit(2);
		memset(map, c, DIRTY);
		char b = 'r';
		if (write(ready[1], &b, 1) != 1 || read(p[0], &b, 1) != 1)
			_exit(3);
		_exit(munmap(map, DIRTY) || close(fd) ? 1 : 0);
	}
	char b;
	g_assert_cmpint(read(ready[0], &b, 1), ==, 1);
	close(ready[0]);
	close(ready[1]);
	close(p[0]);
	g_free(path);
	*go = p[1];
	return pid;
}

/* Waits up to 5 s until SOURCE's rel holds DIRTY bytes of c. */
static void expect_in_source(Fixture *f, const char *rel, char c)
{
	char *p = g_build_filename(f->src, rel, NULL);
	size_t n = 0;
	for (int i = 0; i < 500 && n < DIRTY; i++) {
		char *text = NULL;
		gsize len = 0;
		n = 0;
		if (g_file_get_contents(p, &text, &len, NULL))
			for (gsize k = 0; k < len; k++)
				n += text[k] == c;
		g_free(text);
		if (n < DIRTY)
			g_usleep(10000);
	}
	if (n != DIRTY)
		g_printerr("SOURCE's %s: expected %d bytes of '%c' stored "
			   "through a mapping, saw %zu\n",
			   rel, DIRTY, c, n);
	g_assert_cmpuint(n, ==, DIRTY);
	g_free(p);
}

/* Lets the mapper finish and expects its exit status 0. */
static void finish_user_mapper(pid_t pid, int go)
{
	int status;
	g_assert_cmpint(write(go, "g", 1), ==, 1);
	close(go);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_printerr("the user's program with a dirty mapping: expected "
			   "exit 0, saw status 0x%x\n",
			   (unsigned)status);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A user's -o restart daemon (with allow_other or not) after its worker
 * was killed: the user's open file, its stores through a mapping (never
 * msynced) and the files go on, for that user as before, and others reach
 * what they reached before, no more. */
static void test_restarted_daemon_of_a_user_keeps_the_rules(Fixture *f,
							    gconstpointer d)
{
	bool others = d && strstr(d, "allow_other");
	const char *m = f->mnt;
	expect_as(USER, true,
		  "echo before > %s/r && head -c %d /dev/zero > %s/dm", m,
		  DIRTY, m);
	int go;
	pid_t mapper = start_user_mapper(f, "dm", 'U', &go);
	/* A program of the user holds the file open across the kill. */
	char *flags = g_strdup_printf("%s/flags", f->base);
	g_assert_cmpint(mkdir(flags, 0777), ==, 0);
	g_assert_cmpint(chmod(flags, 0777), ==, 0);
	char *held = g_strdup_printf("%s/held", flags);
	char *cmd = g_strdup_printf("exec 3<>%s/r; echo ready > %s; "
				    "while [ -e %s ]; do sleep 0.05; done; "
				    "cat <&3 >/dev/null && echo after >&3",
				    m, held, held);
	pid_t prog = fork();
	g_assert_cmpint(prog, >=, 0);
	if (prog == 0) {
		execlp("setpriv", "setpriv", "--reuid=65534", "--regid=65534",
		       "--clear-groups", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && !g_file_test(held, G_FILE_TEST_EXISTS); i++)
		g_usleep(10000);
	/* The supervisor is f->pid: setpriv executes the daemon. */
	g_assert_cmpint(rfs_test_kill_worker(f->pid), >, 0);
	expect_in_source(f, "dm", 'U'); /* written back by the next worker */
	finish_user_mapper(mapper, go);
	g_assert_cmpint(unlink(held), ==, 0);
	int status;
	g_assert_cmpint(waitpid(prog, &status, 0), ==, prog);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_error(
		    "the user's program holding r across the kill: expected "
		    "exit 0, saw status 0x%x",
		    (unsigned)status);
	expect_as(USER, true,
		  "test \"$(cat %s/r)\" = \"$(printf 'before\\nafter')\" && "
		  "test \"$(cat %s/mine)\" = secret && mkdir %s/d2 && "
		  "echo x > %s/d2/y",
		  m, m, m, m);
	g_assert_cmpint(source_owner(f, "d2/y"), ==, USER);
	if (others) {
		expect_as(OTHER, true, "test \"$(cat %s/pub.txt)\" = open", m);
		expect_as(OTHER, false, "cat %s/mine", m);
		expect_as(OTHER, false, "touch %s/new", m);
	} else {
		expect_as(OTHER, false, "cat %s/pub.txt", m);
		expect_as(OTHER, false, "ls %s", m);
	}
	g_free(cmd);
	g_free(held);
	g_free(flags);
}

/* SIGTERM to a user's -o restart supervisor while a program of the user
 * holds a dirty mapping: written back, the program finishes, exit 0. */
static void test_restarted_daemon_of_a_user_stops_on_sigterm(Fixture *f,
							     gconstpointer d)
{
	(void)d;
	expect_as(USER, true, "head -c %d /dev/zero > %s/dm", DIRTY, f->mnt);
	int go;
	pid_t mapper = start_user_mapper(f, "dm", 'S', &go);
	g_assert_cmpint(kill(f->pid, SIGTERM), ==, 0);
	expect_in_source(f, "dm", 'S');
	finish_user_mapper(mapper, go);
	int status = -1;
	for (int i = 0; i < 1000 && status == -1; i++) {
		if (waitpid(f->pid, &status, WNOHANG) != f->pid) {
			status = -1;
			g_usleep(10000);
		}
	}
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_printerr("the user's supervisor after SIGTERM: expected exit "
			   "0, saw %s 0x%x\n",
			   status == -1 ? "no exit" : "status",
			   (unsigned)status);
	g_assert_true(status != -1 && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0);
	f->pid = -1;
}

static void skip_all(void)
{
	g_test_skip("needs root, setpriv and fusermount3");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	atexit(restore_system);
	signal(SIGTERM, restore_on_signal);
	signal(SIGINT, restore_on_signal);
	signal(SIGALRM, restore_on_signal);
	alarm(300);
	if (geteuid() != 0 || system("command -v setpriv >/dev/null") != 0 ||
	    system("command -v fusermount3 >/dev/null") != 0) {
		g_test_add_func("/user/needs-root-setpriv-and-fusermount3",
				skip_all);
		return g_test_run();
	}
#define ADD(path, fn, opt)                                                     \
	g_test_add(path, Fixture, opt, fx_setup, fn, fx_teardown)
	ADD("/user/daemon-of-a-user-serves-that-user",
	    test_daemon_of_a_user_serves_that_user, NULL);
	ADD("/user/others-reach-nothing-without-allow-other",
	    test_others_reach_nothing_without_allow_other, NULL);
	ADD("/user/allow-other-keeps-others-to-the-modes",
	    test_allow_other_keeps_others_to_the_modes, "allow_other");
	ADD("/user/restarted-daemon-of-a-user-keeps-the-rules",
	    test_restarted_daemon_of_a_user_keeps_the_rules, "restart");
	ADD("/user/restarted-daemon-with-allow-other-keeps-the-rules",
	    test_restarted_daemon_of_a_user_keeps_the_rules,
	    "restart,allow_other");
	ADD("/user/restarted-daemon-of-a-user-stops-on-sigterm",
	    test_restarted_daemon_of_a_user_stops_on_sigterm, "restart");
	ADD("/user/restarted-daemon-with-allow-other-stops-on-sigterm",
	    test_restarted_daemon_of_a_user_stops_on_sigterm,
	    "restart,allow_other");
	return g_test_run();
}
