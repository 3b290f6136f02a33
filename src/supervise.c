/* SPDX-License-Identifier: GPL-2.0-or-later */
/* supervise.c - the supervisor of -o restart (see supervise.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "supervise.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <errno.h>
#include <glib.h>
#include <stdlib.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The signals the supervisor takes: the stop signals (blocked already,
 * stop.h), a worker's end, and the request to replace it. */
static void super_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGUSR2);
}

/* Calls fn(fd, data) for every open descriptor above 2. */
static void each_fd(void (*fn)(int fd, void *data), void *data)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *e;
	GArray *fds = g_array_new(FALSE, FALSE, sizeof(int));
	while ((e = readdir(d))) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end == '\0' && end != e->d_name && fd > 2 && fd != self) {
			int v = (int)fd;
			g_array_append_val(fds, v);
		}
	}
	closedir(d);
	for (guint i = 0; i < fds->len; i++)
		fn(g_array_index(fds, int, i), data);
	g_array_unref(fds);
}

static void note_own(int fd, void *data)
{
	struct rfs_super_page *page = data;
	rfs_privfd_set(page->own_fds, fd, true);
}

/* Records the descriptors open now as the supervisor's. */
static void note_own_fds(struct rfs_super_page *page)
{
	each_fd(note_own, page);
}

/* The descriptors open in a program the supervisor ran again: those open
 * across the exec are what they were, the others this program's own. */
struct resumed {
	struct rfs_super_page *page;
	uint64_t *own; /* the new bitmap */
};

static void note_resumed(int fd, void *data)
{
	struct resumed *r = data;
	bool kept = rfs_privfd_marked(r->page->kept_fds, fd);
	rfs_privfd_set(r->own, fd,
		       kept ? rfs_privfd_marked(r->page->own_fds, fd) : true);
	fcntl(fd, F_SETFD, FD_CLOEXEC); /* as they were opened */
}

/* Before the supervisor runs the program again: the descriptors that must
 * outlive the exec (workers' and the connection's, SOURCE's and the two
 * memfds) lose FD_CLOEXEC and are noted in kept_fds; the supervisor's
 * others (its signalfd, its log) keep it and close. */
static void keep_across_exec(int fd, void *data)
{
	struct rfs_super_page *page = data;
	bool keep = !rfs_privfd_marked(page->own_fds, fd) ||
		    fd == page->fuse_fd || fd == page->source_fd ||
		    fd == page->nodes_fd || fd == page->page_fd ||
		    fd == page->exe_fd;
	fcntl(fd, F_SETFD, keep ? 0 : FD_CLOEXEC);
	rfs_privfd_set(page->kept_fds, fd, keep);
}

/* Whether the program at exe runs at all ("exe --version" exits 0). */
static bool runs(const char *exe)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execl(exe, exe, "--version", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Runs the program again (SIGUSR2: an upgrade takes effect), handing over
 * the page; returns only when that fails (logged). */
static void exec_again(struct rfs_super_page *page, char *const *argv)
{
	if (!runs(page->exe)) {
		g_warning("restart: %s --version fails; the next worker runs "
			  "the code this supervisor started with",
			  page->exe);
		return;
	}
	char env[64];
	memset(page->kept_fds, 0, sizeof(page->kept_fds));
	each_fd(keep_across_exec, page);
	snprintf(env, sizeof(env), "%d,%d,%d", (int)page->page_fd,
		 (int)page->exe_fd, RFS_SUPER_VERSION);
	setenv(RFS_SUPER_ENV, env, 1);
	page->execs++;
	page->resuming = true;
	fflush(NULL);
	if (*page->cwd && chdir(page->cwd) < 0)
		g_warning("restart: cannot go back to %s: %s", page->cwd,
			  g_strerror(errno));
	execv(page->exe, argv);
	int err = errno;
	page->execs--;
	page->resuming = false;
	unsetenv(RFS_SUPER_ENV);
	each_fd(note_resumed, &(struct resumed){page, page->own_fds});
	g_warning("restart: cannot run %s again (%s); the next worker runs "
		  "the code this supervisor started with",
		  page->exe, g_strerror(err));
}

struct rfs_super_page *rfs_super_page_new(int fuse_fd, int source_fd,
					  const char *state_dir)
{
	int fd = memfd_create("remapfs-supervisor", MFD_CLOEXEC);
	struct rfs_super_page *page = MAP_FAILED;
	if (fd >= 0 && ftruncate(fd, sizeof(*page)) == 0)
		page = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, 0);
	if (page == MAP_FAILED) {
		g_warning("restart: cannot set up the supervisor: %s",
			  g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	page->version = RFS_SUPER_VERSION;
	page->page_fd = fd;
	page->exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	page->fuse_fd = fuse_fd;
	page->source_fd = source_fd;
	page->worker_fuse_fd = -1;
	g_strlcpy(page->state_dir, state_dir ? state_dir : "",
		  sizeof(page->state_dir));
	ssize_t n =
	    readlink("/proc/self/exe", page->exe, sizeof(page->exe) - 1);
	page->exe[n > 0 ? n : 0] = '\0';
	if (!getcwd(page->cwd, sizeof(page->cwd)))
		page->cwd[0] = '\0';
	page->nodes_fd = memfd_create("remapfs-nodes", MFD_CLOEXEC);
	if (page->nodes_fd < 0)
		g_warning("restart: no memory for the node records (%s): a "
			  "new worker will not know the files open before",
			  g_strerror(errno));
	return page;
}

struct rfs_super_page *rfs_super_resume(char *const *argv, bool *err)
{
	const char *env = getenv(RFS_SUPER_ENV);
	*err = false;
	if (!env)
		return NULL;
	int fd = -1, exe_fd = -1, version = -1, used = 0;
	struct stat st;
	struct rfs_super_page *page = MAP_FAILED;
	if (sscanf(env, "%d,%d,%d%n", &fd, &exe_fd, &version, &used) == 3 &&
	    !env[used] && version == RFS_SUPER_VERSION && fd > 2 &&
	    fstat(fd, &st) == 0 && st.st_size == (off_t)sizeof(*page))
		page = mmap(NULL, sizeof(*page), PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, 0);
	if (page != MAP_FAILED && page->version == RFS_SUPER_VERSION &&
	    page->page_fd == fd) {
		unsetenv(RFS_SUPER_ENV);
		g_message("restart: the supervisor runs %s again (%u times "
			  "now)",
			  page->exe, page->execs);
		return page;
	}
	if (page != MAP_FAILED)
		munmap(page, sizeof(*page));
	struct stat self, before;
	if (version != RFS_SUPER_VERSION && exe_fd > 2 &&
	    stat("/proc/self/exe", &self) == 0 && fstat(exe_fd, &before) == 0 &&
	    (self.st_dev != before.st_dev || self.st_ino != before.st_ino)) {
		g_warning("restart: the supervisor hands over version %d, this "
			  "program takes version %d: running the program it "
			  "ran again (the upgrade takes effect at the next "
			  "mount)",
			  version, RFS_SUPER_VERSION);
		fexecve(exe_fd, argv, environ);
	}
	g_critical("restart: %s=%s does not name a supervisor's page, and "
		   "the program before cannot run again (%s): the mount ends",
		   RFS_SUPER_ENV, env, g_strerror(errno));
	*err = true;
	return NULL;
}

struct leftovers {
	const struct rfs_super_page *page;
	unsigned closed;
};

/* Whether fd is the supervisor's (or the last worker's connection, or the
 * node records): never a dead worker's leftover. */
static bool kept_for_supervisor(const struct rfs_super_page *page, int fd)
{
	return rfs_privfd_marked(page->own_fds, fd) ||
	       fd == page->worker_fuse_fd || fd == page->nodes_fd;
}

static void close_leftover(int fd, void *data)
{
	struct leftovers *l = data;
	if (kept_for_supervisor(l->page, fd))
		return;
	char path[64], target[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t len = readlink(path, target, sizeof(target) - 1);
	if (len <= 0)
		return;
	target[len] = '\0';
	if (rfs_privfd_marked(l->page->private_fds, fd) ||
	    g_str_has_prefix(target, "pipe:") ||
	    g_str_has_prefix(target, "socket:") ||
	    g_str_has_prefix(target, "anon_inode:")) {
		close(fd);
		l->closed++;
	}
}

struct paths {
	const struct rfs_super_page *page;
	GHashTable *keep;
	unsigned closed;
};

static void close_path(int fd, void *data)
{
	struct paths *p = data;
	if (kept_for_supervisor(p->page, fd) ||
	    g_hash_table_contains(p->keep, GINT_TO_POINTER(fd)))
		return;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_PATH)) {
		close(fd);
		p->closed++;
	}
}

unsigned rfs_super_close_paths(const struct rfs_super_page *page,
			       GHashTable *keep)
{
	struct paths p = {.page = page, .keep = keep};
	each_fd(close_path, &p);
	return p.closed;
}

void rfs_super_ready(struct rfs_super_page *page)
{
	__atomic_store_n(&page->ready, page->workers, __ATOMIC_RELEASE);
}

unsigned rfs_super_close_leftovers(struct rfs_super_page *page)
{
	struct leftovers l = {.page = page};
	each_fd(close_leftover, &l);
	memset(page->private_fds, 0, sizeof(page->private_fds));
	return l.closed;
}

static int64_t now_ms(void)
{
	return g_get_monotonic_time() / 1000;
}

/* Starts a worker: a child sharing the descriptor table.  Returns its pid
 * in the supervisor, 0 in the worker, -1 with errno. */
static pid_t spawn(struct rfs_super_page *page)
{
	page->workers++;
	fflush(NULL);
	/* fork(2) with CLONE_FILES: the child's memory is a copy, its
	 * descriptor table the supervisor's.  glibc's fork cannot share
	 * the table; its handlers are not needed here (no other thread). */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL,
				   NULL, NULL);
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		sigaddset(&set, SIGUSR2);
		signal(SIGUSR2, SIG_IGN);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	return pid;
}

/* Answers one request with EIO (none for those that take no answer), but
 * the root's attributes. */
static void answer_eio(int fd, const unsigned char *buf, ssize_t len)
{
	struct fuse_in_header in;
	if (len < (ssize_t)sizeof(in))
		return;
	memcpy(&in, buf, sizeof(in));
	if (in.opcode == FUSE_FORGET || in.opcode == FUSE_BATCH_FORGET ||
	    in.opcode == FUSE_INTERRUPT)
		return;
	struct {
		struct fuse_out_header h;
		struct fuse_attr_out attr;
	} out = {
	    .h = {.len = sizeof(out.h), .error = -EIO, .unique = in.unique}};
	if (in.opcode == FUSE_GETATTR && in.nodeid == FUSE_ROOT_ID) {
		/* The root answers, so that fusermount3 -u (which looks at
		 * the mount point first) can unmount. */
		out.h.len = sizeof(out);
		out.h.error = 0;
		out.attr.attr.ino = FUSE_ROOT_ID;
		out.attr.attr.mode = S_IFDIR | 0555;
		out.attr.attr.nlink = 2;
		out.attr.attr.uid = getuid();
		out.attr.attr.gid = getgid();
	}
	if (write(fd, &out, out.h.len) < 0 && errno != ENOENT)
		g_warning("restart: cannot answer a request: %s",
			  g_strerror(errno));
}

/* With no worker left: answers every request with EIO until the mount
 * ends or a stop signal comes. */
static void serve_eio(int fd, int sigfd)
{
	size_t size = (1u << 20) + 4096 * 4;
	unsigned char *buf = g_malloc(size);
	int err = rfs_fuseio_send_resend(fd);
	if (err)
		g_warning("restart: the kernel cannot send again what the "
			  "last worker read (%s): those requests wait",
			  g_strerror(err));
	struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
				{.fd = sigfd, .events = POLLIN}};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si) &&
			    si.ssi_signo != SIGCHLD && si.ssi_signo != SIGUSR2)
				break;
			continue;
		}
		ssize_t len = read(fd, buf, size);
		if (len < 0 &&
		    (errno == EINTR || errno == EAGAIN || errno == ENOENT))
			continue;
		if (len < 0)
			break; /* ENODEV: unmounted */
		answer_eio(fd, buf, len);
	}
	g_free(buf);
}

/* Reaps every child that ended; returns true when pid did (*status
 * set).  Workers given up for dying earlier are reaped here too. */
static bool reap(pid_t pid, int *status)
{
	bool ended = false;
	pid_t r;
	int st;
	while ((r = waitpid(-1, &st, WNOHANG)) > 0 || (r < 0 && errno == EINTR))
		if (r == pid) {
			*status = st;
			ended = true;
		}
	return ended;
}

/* Whether pid's main thread has exited (a zombie): the process dies,
 * though threads of it may wait in the kernel for pages locked by reads
 * only a worker can answer (an invalidation sent to the kernel waits
 * uninterruptibly for them), so it cannot end before the next worker
 * serves. */
static bool leader_exited(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X');
}

/* Waits until worker pid ends, forwarding stop signals (the last one in
 * *stop_sig) and replacing it on SIGUSR2 (*again set).  Returns its wait
 * status; a worker whose main thread exited for two ticks in a row counts as
 * killed (it is reaped later). */
static int wait_worker(int sigfd, pid_t pid, int *stop_sig, bool *again)
{
	int status = 0, exited_ticks = 0;
	struct pollfd pfd = {.fd = sigfd, .events = POLLIN};
	for (;;) {
		int res = poll(&pfd, 1, 50);
		if (res < 0 && errno != EINTR) {
			g_warning("restart: signals: %s", g_strerror(errno));
			return 0;
		}
		if (res == 0) {
			exited_ticks =
			    leader_exited(pid) ? exited_ticks + 1 : 0;
			if (exited_ticks < 2)
				continue;
			g_warning("restart: worker %d is ending with threads "
				  "still waiting in the kernel; starting the "
				  "next one now",
				  (int)pid);
			return SIGKILL; /* as killed by SIGKILL */
		}
		struct signalfd_siginfo si;
		if (res < 0 || read(sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD) {
			if (reap(pid, &status))
				return status;
		} else if (sig == SIGUSR2) {
			g_message("restart: SIGUSR2: replacing worker %d",
				  (int)pid);
			*again = true;
			kill(pid, SIGKILL);
		} else {
			*stop_sig = sig;
			kill(pid, sig);
		}
	}
}

/* Sleeps ms milliseconds, or less when a signal comes (left pending). */
static void pause_ms(int sigfd, int ms)
{
	struct pollfd pfd = {.fd = sigfd, .events = POLLIN};
	int64_t end = now_ms() + ms;
	for (int64_t left = ms; left > 0; left = end - now_ms())
		if (poll(&pfd, 1, (int)left) != 0)
			return;
}

int rfs_supervise(struct rfs_super_page *page, char *const *argv, bool *stopped)
{
	*stopped = false;
	sigset_t set;
	super_set(&set);
	signal(SIGUSR2, SIG_DFL); /* ignored ones never reach a signalfd */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return 1;
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sigfd < 0) {
		g_warning("restart: cannot set up the supervisor: %s",
			  g_strerror(errno));
		return 1;
	}
	/* What is open now that no worker left is the supervisor's: all of
	 * it before the first worker, what this program opened after its
	 * supervisor ran it again (rfs_super_resume). */
	if (page->resuming) {
		uint64_t *own = g_malloc0(sizeof(page->own_fds));
		each_fd(note_resumed, &(struct resumed){page, own});
		memcpy(page->own_fds, own, sizeof(page->own_fds));
		g_free(own);
		page->resuming = false;
	} else {
		note_own_fds(page);
	}
	int fails = 0, stop_sig = 0;
	int64_t deaths[RFS_SUPERVISE_BURST] = {0}; /* when serving ones died */
	unsigned ndeaths = 0;
	for (;;) {
		pid_t pid = spawn(page);
		if (pid == 0) {
			/* sigfd stays: closing it here would close it for
			 * the supervisor, whose table this is. */
			return RFS_SUPERVISE_WORKER;
		}
		if (pid < 0) {
			g_warning("restart: cannot start a worker: %s",
				  g_strerror(errno));
			break;
		}
		if (page->workers > 1)
			g_message("restart: worker %u started (pid %d)",
				  page->workers, (int)pid);
		if (stop_sig)
			kill(pid, stop_sig);
		bool again = false;
		int status = wait_worker(sigfd, pid, &stop_sig, &again);
		*stopped = stop_sig != 0;
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) != RFS_WORKER_START_FAILED) {
			close(sigfd);
			return WEXITSTATUS(status);
		}
		if (again && !stop_sig) {
			exec_again(page, argv); /* returns when it fails */
			continue;
		}
		if (WIFSIGNALED(status))
			g_warning("restart: worker %d died of %s", (int)pid,
				  strsignal(WTERMSIG(status)));
		else
			g_warning("restart: worker %d could not start",
				  (int)pid);
		bool served = __atomic_load_n(&page->ready, __ATOMIC_ACQUIRE) ==
			      page->workers;
		/* SIGKILL comes from outside (an operator, the OOM killer):
		 * not the worker's failure to start, whenever it came. */
		bool killed =
		    WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		fails = served || killed ? 0 : fails + 1;
		if (fails >= RFS_SUPERVISE_FAILS) {
			g_critical("restart: %d workers in a row died before "
				   "they served; answering every request with "
				   "EIO until the mount ends (SOURCE and the "
				   "state are left as they are)",
				   fails);
			serve_eio(page->fuse_fd, sigfd);
			break;
		}
		if (fails) {
			pause_ms(sigfd, 100 << fails);
		} else {
			deaths[ndeaths++ % RFS_SUPERVISE_BURST] = now_ms();
			int64_t first = deaths[ndeaths % RFS_SUPERVISE_BURST];
			if (ndeaths >= RFS_SUPERVISE_BURST &&
			    now_ms() - first < RFS_SUPERVISE_BURST_MS) {
				g_warning("restart: %d workers died within "
					  "%d ms; waiting a second",
					  RFS_SUPERVISE_BURST,
					  RFS_SUPERVISE_BURST_MS);
				pause_ms(sigfd, 1000);
			}
		}
	}
	close(sigfd);
	return 1;
}
