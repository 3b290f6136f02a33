/* SPDX-License-Identifier: GPL-2.0-or-later */
/* env.c - the benchmark's environment: a temporary SOURCE and MOUNTPOINT,
 * the daemon, and a cleanup that runs however the run ends. */
#include "config.h"

#include "bench.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FUSERMOUNT
#define FUSERMOUNT "fusermount3"
#endif

extern char **environ;

/* The environment the cleanup tears down (set by bench_env_prepare). */
static struct bench_env *live_env;
/* Held for the whole cleanup: a second caller waits (and a signal path
 * that cleans up never releases it: it ends the process). */
static GMutex cleanup_lock;
static bool cleaned;
/* Prepared for the crash handler, which may only make async-signal-safe
 * calls: fusermount3 -uz MOUNTPOINT. */
static char *crash_argv[4];
static char crash_prog[4096];
/* And rm -rf --one-file-system BASE, and the tmpfs to detach first. */
static char *crash_rm_argv[5];
static char crash_rm[4096];
static char *crash_tmpfs;
static volatile pid_t crash_pid = -1;
static char *crash_peer_argv[4]; /* fusermount3 -uz PEER */
static volatile pid_t crash_peer_pid = -1;
/* Set when a signal started the cleanup: the main thread's errors (its
 * files vanish, its mount goes) are expected then, and it just waits. */
static volatile sig_atomic_t stopping;
static sigset_t stop_signals;

void bench_progress(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "remapfs-bench: %s\n", s);
	fflush(stderr);
	g_free(s);
}

void bench_die(const char *fmt, ...)
{
	va_list ap;
	while (stopping)
		pause();
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "remapfs-bench: error: %s\n", s);
	g_free(s);
	exit(1);
}

/* Decodes the octal escapes (\040) of a mountinfo field, in place. */
static void unescape_mountinfo(char *s)
{
	char *o = s;
	for (char *i = s; *i;) {
		if (i[0] == '\\' && i[1] >= '0' && i[1] <= '7' && i[2] >= '0' &&
		    i[2] <= '7' && i[3] >= '0' && i[3] <= '7') {
			*o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 +
				      (i[3] - '0'));
			i += 4;
		} else {
			*o++ = *i++;
		}
	}
	*o = '\0';
}

/* One line of /proc/self/mountinfo: mount point, type, source. */
struct mountinfo {
	char *point, *type, *source;
};

/* Parses mountinfo into a GArray of struct mountinfo (strings owned). */
static GArray *read_mountinfo(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct mountinfo));
	char *text = NULL;
	if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
		return a;
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char **f = g_strsplit(*l, " ", -1);
		guint n = g_strv_length(f), dash = 0;
		for (guint i = 6; i < n; i++)
			if (strcmp(f[i], "-") == 0) {
				dash = i;
				break;
			}
		if (n > 4 && dash && dash + 2 < n) {
			struct mountinfo m = {g_strdup(f[4]),
					      g_strdup(f[dash + 1]),
					      g_strdup(f[dash + 2])};
			unescape_mountinfo(m.point);
			unescape_mountinfo(m.source);
			g_array_append_val(a, m);
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(text);
	return a;
}

/* Frees what read_mountinfo returned. */
static void free_mountinfo(GArray *a)
{
	for (guint i = 0; i < a->len; i++) {
		struct mountinfo *m = &g_array_index(a, struct mountinfo, i);
		g_free(m->point);
		g_free(m->type);
		g_free(m->source);
	}
	g_array_free(a, TRUE);
}

bool bench_is_mount_point(const char *path)
{
	GArray *a = read_mountinfo();
	bool res = false;
	for (guint i = 0; i < a->len && !res; i++)
		res = strcmp(g_array_index(a, struct mountinfo, i).point,
			     path) == 0;
	free_mountinfo(a);
	return res;
}

/* Runs FUSERMOUNT flag mnt, quietly; returns whether it succeeded. */
static bool fusermount(const char *flag, const char *mnt)
{
	char *argv[] = {(char *)FUSERMOUNT, (char *)flag, (char *)mnt, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	int status;
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	int err = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (err)
		return false;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* nftw callback: removes every entry (depth first). */
static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (remove(path) < 0 && flag != FTW_DNR)
		fprintf(stderr, "remapfs-bench: removing %s: %s\n", path,
			strerror(errno));
	return 0;
}

/* Waits up to ms milliseconds for the daemon to exit; true when reaped. */
static bool reap_daemon(pid_t pid, int ms)
{
	int status;
	for (int i = 0; i <= ms / 10; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		g_usleep(10000);
	}
	return false;
}

void bench_cleanup(void)
{
	g_mutex_lock(&cleanup_lock);
	struct bench_env *e = live_env;
	if (cleaned || !e) {
		g_mutex_unlock(&cleanup_lock);
		return;
	}
	cleaned = true;
	if (e->ctl_fd >= 0) {
		close(e->ctl_fd);
		e->ctl_fd = -1;
	}
	if (e->peer_mnt && bench_is_mount_point(e->peer_mnt)) {
		if (!fusermount("-u", e->peer_mnt))
			fusermount("-uz", e->peer_mnt);
	}
	if (e->peer_pid > 0) {
		if (!reap_daemon(e->peer_pid, 5000)) {
			kill(e->peer_pid, SIGKILL);
			reap_daemon(e->peer_pid, 5000);
		}
		e->peer_pid = -1;
		crash_peer_pid = -1;
	}
	if (e->mnt && bench_is_mount_point(e->mnt)) {
		for (int i = 0; i < 20; i++) {
			if (fusermount("-u", e->mnt) ||
			    !bench_is_mount_point(e->mnt))
				break;
			g_usleep(100000);
		}
		if (bench_is_mount_point(e->mnt))
			fusermount("-uz", e->mnt);
	}
	if (e->pid > 0) {
		if (!reap_daemon(e->pid, 5000)) {
			kill(e->pid, SIGTERM);
			if (!reap_daemon(e->pid, 2000)) {
				kill(e->pid, SIGKILL);
				reap_daemon(e->pid, 5000);
			}
		}
		e->pid = -1;
		crash_pid = -1;
	}
	if (e->tmpfs) {
		/* Its files go with it. */
		if (umount2(e->tmpfs, MNT_DETACH) < 0)
			fprintf(stderr, "remapfs-bench: umount %s: %s\n",
				e->tmpfs, strerror(errno));
	}
	if ((e->mnt && bench_is_mount_point(e->mnt)) ||
	    (e->peer_mnt && bench_is_mount_point(e->peer_mnt))) {
		fprintf(stderr,
			"remapfs-bench: %s is still mounted; leaving %s\n",
			bench_is_mount_point(e->mnt) ? e->mnt : e->peer_mnt,
			e->base);
	} else if (e->base) {
		/* FTW_MOUNT: never into a mount, whatever happened. */
		nftw(e->base, remove_entry, 16,
		     FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	}
	g_mutex_unlock(&cleanup_lock);
}

/* SIGINT, SIGTERM, SIGHUP, SIGQUIT arrive here (blocked elsewhere). */
static gpointer signal_thread(gpointer data)
{
	int sig = 0;
	(void)data;
	while (sigwait(&stop_signals, &sig) != 0)
		;
	stopping = 1;
	fprintf(stderr, "\nremapfs-bench: %s: cleaning up\n", strsignal(sig));
	bench_cleanup();
	_exit(128 + sig);
}

/* Runs argv[0] with argv and waits for it; async-signal-safe. */
static void crash_run(char *const argv[])
{
	pid_t p = fork();
	if (p == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

/* A crash (or SIGBUS from a mapping of a dead mount): unmount lazily, kill
 * the daemon and remove the temporary directory with async-signal-safe
 * calls only (rm never leaves the file system), then die of the signal. */
static void crash_handler(int sig)
{
	static const char msg[] = "remapfs-bench: crashed; unmounting and "
				  "removing the temporary directory\n";
	while (stopping)
		pause(); /* the signal thread is cleaning up and will exit */
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	if (crash_peer_argv[0])
		crash_run(crash_peer_argv);
	if (crash_peer_pid > 0)
		kill(crash_peer_pid, SIGKILL);
	if (crash_argv[0])
		crash_run(crash_argv);
	if (crash_pid > 0) {
		kill(crash_pid, SIGKILL);
		waitpid(crash_pid, NULL, 0);
	}
	if (crash_tmpfs)
		umount2(crash_tmpfs, MNT_DETACH);
	if (crash_rm_argv[0])
		crash_run(crash_rm_argv);
	signal(sig, SIG_DFL);
	raise(sig);
}

void bench_cleanup_install(void)
{
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	g_thread_unref(g_thread_new("signals", signal_thread, NULL));
	static const int crashes[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crash_handler;
	sa.sa_flags = SA_RESETHAND;
	for (size_t i = 0; i < G_N_ELEMENTS(crashes); i++)
		sigaction(crashes[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(bench_cleanup);
}

/* Fills argv (4 entries) with "fusermount3 -uz mnt" for the crash
 * handler, the program's path kept in prog (size bytes); leaves argv
 * empty when the program is not found. */
static void crash_unmount_argv(char **argv, char *prog, size_t size, char *mnt)
{
	char *path = g_find_program_in_path(FUSERMOUNT);
	if (path && strlen(path) < size) {
		strcpy(prog, path);
		argv[0] = prog;
		argv[1] = "-uz";
		argv[2] = mnt;
		argv[3] = NULL;
	}
	g_free(path);
}

/* Makes a directory or dies. */
static void make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0)
		bench_die("mkdir %s: %s", path, strerror(errno));
}

/* A new temporary directory under parent, canonical; NULL on failure. */
static char *make_base(const char *parent)
{
	char *tmpl = g_build_filename(parent, "remapfs-bench.XXXXXX", NULL);
	if (!g_mkdtemp(tmpl)) {
		g_free(tmpl);
		return NULL;
	}
	char *real = realpath(tmpl, NULL);
	g_free(tmpl);
	char *res = g_strdup(real);
	free(real);
	return res;
}

void bench_env_prepare(struct bench_env *e, const char *dir, bool tmpfs)
{
	char *cwd = g_get_current_dir();
	struct statfs sf;
	e->pid = -1;
	e->peer_pid = -1;
	e->ctl_fd = -1;
	live_env = e;
	if (tmpfs && !dir && statfs("/dev/shm", &sf) == 0 &&
	    sf.f_type == 0x01021994 /* TMPFS_MAGIC */)
		dir = "/dev/shm";
	if (dir) {
		e->base = make_base(dir);
		if (!e->base)
			bench_die("cannot create a directory in %s: %s", dir,
				  strerror(errno));
	} else {
		e->base = make_base(cwd);
		if (!e->base)
			e->base = make_base(g_get_tmp_dir());
		if (!e->base)
			bench_die("cannot create a temporary directory: %s",
				  strerror(errno));
	}
	g_free(cwd);
	e->mnt = g_build_filename(e->base, "mnt", NULL);
	e->log = g_build_filename(e->base, "daemon.log", NULL);
	make_dir(e->mnt);
	if (tmpfs && (statfs(e->base, &sf) < 0 || sf.f_type != 0x01021994)) {
		/* Not on a tmpfs yet: mount one (needs privileges). */
		e->tmpfs = g_build_filename(e->base, "tmpfs", NULL);
		make_dir(e->tmpfs);
		if (mount("remapfs-bench", e->tmpfs, "tmpfs", 0, "mode=0755") <
		    0) {
			int err = errno;
			rmdir(e->tmpfs);
			g_free(e->tmpfs);
			e->tmpfs = NULL;
			bench_die(
			    "--tmpfs: /dev/shm is not a tmpfs and mounting "
			    "one failed: %s",
			    strerror(err));
		}
		e->src = g_build_filename(e->tmpfs, "src", NULL);
	} else {
		e->src = g_build_filename(e->base, "src", NULL);
	}
	make_dir(e->src);
	e->control = g_build_filename(e->mnt, ".control", NULL);
	/* For the crash handler. */
	crash_unmount_argv(crash_argv, crash_prog, sizeof(crash_prog), e->mnt);
	char *prog = g_find_program_in_path("rm");
	if (prog && strlen(prog) < sizeof(crash_rm)) {
		strcpy(crash_rm, prog);
		crash_rm_argv[0] = crash_rm;
		crash_rm_argv[1] = "-rf";
		crash_rm_argv[2] = "--one-file-system";
		crash_rm_argv[3] = e->base;
		crash_rm_argv[4] = NULL;
	}
	g_free(prog);
	crash_tmpfs = e->tmpfs;
}

/* Prints the daemon's log to stderr. */
static void print_log(struct bench_env *e)
{
	char *text = NULL;
	if (g_file_get_contents(e->log, &text, NULL, NULL) && *text)
		fprintf(stderr, "--- daemon log ---\n%s--- end ---\n", text);
	g_free(text);
}

/* Runs argv with stdout and stderr appended to log, in a process group
 * of its own that dies with us; returns its pid. */
static pid_t spawn_logged(char **argv, const char *log)
{
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		bench_die("%s: %s", log, strerror(errno));
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t none;
		/* Its own process group: a ^C reaches us, and we unmount
		 * first; it dies with us if we are killed outright. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	return pid;
}

/* Waits up to 10 s for *pid to mount mnt; false (*pid -1 once it exited)
 * when it did not. */
static bool wait_mount(pid_t *pid, const char *mnt)
{
	for (int i = 0; i < 1000; i++) {
		if (bench_is_mount_point(mnt))
			return true;
		int status;
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = -1;
			return false;
		}
		g_usleep(10000);
	}
	return false;
}

void bench_env_start(struct bench_env *e)
{
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, e->remapfs);
	g_ptr_array_add(argv, "-f");
	for (char **a = e->dargs; a && *a; a++)
		g_ptr_array_add(argv, *a);
	g_ptr_array_add(argv, e->src);
	g_ptr_array_add(argv, e->mnt);
	g_ptr_array_add(argv, NULL);
	e->pid = spawn_logged((char **)argv->pdata, e->log);
	g_ptr_array_unref(argv);
	crash_pid = e->pid;
	if (!wait_mount(&e->pid, e->mnt)) {
		crash_pid = e->pid;
		print_log(e);
		bench_die("%s did not mount within 10 s", e->remapfs);
	}
	e->ctl_fd = open(e->control, O_RDWR | O_CLOEXEC);
	if (e->ctl_fd < 0)
		bench_die("%s: %s", e->control, strerror(errno));
	/* The page size, from the state dump's first line. */
	char buf[256];
	ssize_t n = read(e->ctl_fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	const char *p = strstr(buf, "pagesize ");
	e->pagesize = p ? strtoull(p + 9, NULL, 10) : 0;
	if (e->pagesize != (size_t)sysconf(_SC_PAGESIZE))
		bench_die("the mount's page size is %zu; the benchmark needs "
			  "the system page size (%ld)",
			  e->pagesize, sysconf(_SC_PAGESIZE));
	/* Reopen: this descriptor is for transactions. */
	close(e->ctl_fd);
	e->ctl_fd = open(e->control, O_RDWR | O_CLOEXEC);
	if (e->ctl_fd < 0)
		bench_die("%s: %s", e->control, strerror(errno));
}

const char *bench_peer_start(struct bench_env *e)
{
	char *bindfs = g_find_program_in_path("bindfs");
	if (!bindfs)
		return "bindfs is not installed (apt-get install bindfs)";
	e->peer_mnt = g_build_filename(e->base, "peer", NULL);
	e->peer_log = g_build_filename(e->base, "bindfs.log", NULL);
	make_dir(e->peer_mnt);
	char *argv[] = {bindfs, "-f", e->src, e->peer_mnt, NULL};
	e->peer_pid = spawn_logged(argv, e->peer_log);
	g_free(bindfs);
	crash_peer_pid = e->peer_pid;
	static char peer_prog[4096];
	crash_unmount_argv(crash_peer_argv, peer_prog, sizeof(peer_prog),
			   e->peer_mnt);
	if (!wait_mount(&e->peer_pid, e->peer_mnt)) {
		crash_peer_pid = e->peer_pid;
		return "bindfs did not mount within 10 s (see its log)";
	}
	return NULL;
}

void bench_ctl(struct bench_env *e, const char *text, size_t len)
{
	ssize_t n = write(e->ctl_fd, text, len);
	if (n == (ssize_t)len)
		return;
	int err = n < 0 ? errno : EIO;
	char msg[4096];
	ssize_t r = read(e->ctl_fd, msg, sizeof(msg) - 1);
	msg[r > 0 ? r : 0] = '\0';
	g_strchomp(msg);
	char *head = g_strndup(text, MIN(len, 200));
	g_strchomp(head);
	bench_die("writing %zu bytes to .control (%.*s...): %s%s%s", len,
		  (int)strcspn(head, "\n"), head, strerror(err),
		  *msg ? ": " : "", msg);
}

void bench_ctlf(struct bench_env *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	bench_ctl(e, s, strlen(s));
	g_free(s);
}

void bench_invalidate(struct bench_env *e, const char *view)
{
	GString *s = g_string_new("invalidate ");
	rfs_quote(s, view);
	g_string_append_c(s, '\n');
	bench_ctl(e, s->str, s->len);
	g_string_free(s, TRUE);
}

uint64_t bench_daemon_rss(struct bench_env *e)
{
	char path[64], *text = NULL;
	uint64_t kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)e->pid);
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	/* Its own memory: the pages of SOURCE's files it maps are the page
	 * cache's, counted there. */
	const char *p = strstr(text, "RssAnon:");
	if (p)
		kb = strtoull(p + 8, NULL, 10);
	else if ((p = strstr(text, "VmRSS:")))
		kb = strtoull(p + 6, NULL, 10);
	g_free(text);
	return kb * 1024;
}

uint64_t bench_count_runs(struct bench_env *e, const char *view)
{
	int fd = open(e->control, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bench_die("%s: %s", e->control, strerror(errno));
	GString *prefix = g_string_new("remap ");
	rfs_quote(prefix, view);
	g_string_append_c(prefix, ' ');
	size_t bufsize = 1 << 20;
	char *buf = g_malloc(bufsize);
	uint64_t count = 0;
	long pos = 0; /* matched prefix bytes; -1: not a match */
	ssize_t n;
	while ((n = read(fd, buf, bufsize)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (c == '\n') {
				pos = 0;
				continue;
			}
			if (pos < 0)
				continue;
			if ((size_t)pos < prefix->len &&
			    c == prefix->str[pos]) {
				if ((size_t)++pos == prefix->len) {
					count++;
					pos = -1;
				}
			} else {
				pos = -1;
			}
		}
	}
	if (n < 0)
		bench_die("reading %s: %s", e->control, strerror(errno));
	close(fd);
	g_free(buf);
	g_string_free(prefix, TRUE);
	return count;
}

/* The first line of a file starting with key, after the key and ": ". */
static char *file_field(const char *path, const char *key)
{
	char *text = NULL, *res = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l && !res; l++)
		if (g_str_has_prefix(*l, key)) {
			const char *v = strchr(*l, ':');
			res = g_strstrip(g_strdup(v ? v + 1 : ""));
		}
	g_strfreev(lines);
	g_free(text);
	return res;
}

void bench_machine_probe(struct bench_machine *m, struct bench_env *e)
{
	struct utsname u;
	m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	m->mem_bytes =
	    (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	m->cpu = file_field("/proc/cpuinfo", "model name");
	if (!m->cpu)
		m->cpu = g_strdup("unknown");
	if (uname(&u) == 0)
		m->kernel = g_strdup_printf("%s %s %s", u.sysname, u.release,
					    u.machine);
	else
		m->kernel = g_strdup("unknown");
	GArray *a = read_mountinfo();
	size_t best = 0;
	m->src_fs = g_strdup("unknown");
	m->src_dev = g_strdup("unknown");
	for (guint i = 0; i < a->len; i++) {
		struct mountinfo *mi = &g_array_index(a, struct mountinfo, i);
		size_t l = strlen(mi->point);
		bool prefix = strcmp(mi->point, "/") == 0 ||
			      (strncmp(e->src, mi->point, l) == 0 &&
			       (e->src[l] == '/' || e->src[l] == '\0'));
		if (prefix && l >= best) {
			best = l;
			g_free(m->src_fs);
			g_free(m->src_dev);
			m->src_fs = g_strdup(mi->type);
			m->src_dev = g_strdup(mi->source);
		}
	}
	free_mountinfo(a);
	char *mmc = NULL;
	m->max_map_count = -1;
	if (g_file_get_contents("/proc/sys/vm/max_map_count", &mmc, NULL, NULL))
		m->max_map_count = strtol(mmc, NULL, 10);
	g_free(mmc);
	char *argv[] = {e->remapfs, "-V", NULL}, *out = NULL, *err = NULL;
	m->daemon_version = NULL;
	if (g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
			 &out, &err, NULL, NULL)) {
		GString *all = g_string_new(out);
		g_string_append(all, err);
		char **lines = g_strsplit(all->str, "\n", -1);
		for (char **l = lines; *l && !m->daemon_version; l++)
			if (g_str_has_prefix(*l, "remapfs version"))
				m->daemon_version = g_strdup(*l + 8);
		g_strfreev(lines);
		g_string_free(all, TRUE);
	}
	g_free(out);
	g_free(err);
	if (!m->daemon_version)
		m->daemon_version = g_strdup("unknown");
}

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* qsort comparison of doubles. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_quantile(double *v, size_t n, double q)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t rank = (size_t)ceil(q * (double)n);
	return v[rank ? rank - 1 : 0];
}

uint64_t bench_rng_next(bench_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t bench_rng_below(bench_rng *r, uint64_t n)
{
	/* Lemire's multiply-shift; the bias is far below what matters. */
	return (uint64_t)(((unsigned __int128)bench_rng_next(r) * n) >> 64);
}

void bench_shuffle(bench_rng *r, uint32_t *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = bench_rng_below(r, i);
		uint32_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}
