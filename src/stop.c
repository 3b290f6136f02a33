/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stop.c - the signal thread and the orderly stop (see stop.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "stop.h"
#include "control.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define RFS_FUSE_SUPER_MAGIC 0x65735546

struct rfs_stopper {
	struct rfs_ctx *ctx;
	char *mountpoint;
	int sigfd;	   /* signalfd of the stop signals */
	int quitfd;	   /* eventfd: the daemon is done, end the thread */
	GThread *thread;   /* waits for signals */
	GThread *stopping; /* the orderly stop, once a signal came */
};

/* The signals that stop the daemon. */
static void stop_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

int rfs_stop_signals_block(void)
{
	sigset_t set;
	stop_set(&set);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* The child of rfs_stop_syncfs: raw system calls only, uninstrumented (it
 * shares the daemon's memory and thread pointer, so neither libc's errno
 * nor a sanitizer's state may be touched; the thread that waits for it is
 * in waitpid). */
__attribute__((no_sanitize("address", "undefined"))) static int
syncfs_child(void *data)
{
	const char *mountpoint = data;
	struct statfs sf;
	long fd = syscall(SYS_openat, AT_FDCWD, mountpoint,
			  O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long code = fd < 0 ? 2
		    : syscall(SYS_fstatfs, fd, &sf) < 0 ||
			    sf.f_type != RFS_FUSE_SUPER_MAGIC
			? 3
		    : syscall(SYS_syncfs, fd) < 0 ? 4
						  : 0;
	syscall(SYS_exit, code);
	return 0;
}

int rfs_stop_syncfs(const char *mountpoint)
{
	size_t size = 64 << 10;
	char *stack = g_malloc(size);
	pid_t pid = clone(syncfs_child, stack + size, CLONE_VM | SIGCHLD,
			  (void *)mountpoint);
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	g_free(stack);
	return pid < 0 ? 1 : WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Has the kernel write back every dirty page of the mount (through the
 * request threads, which keep serving). */
static void write_back(struct rfs_stopper *s)
{
	int code = rfs_stop_syncfs(s->mountpoint);
	if (code == 3)
		g_warning("stop: %s is not the mount any more; dirty pages are "
			  "written back when its files close",
			  s->mountpoint);
	else if (code)
		g_warning("stop: writing back the dirty pages of %s failed%s",
			  s->mountpoint, code == 2 ? " (cannot open it)" : "");
}

int rfs_stop_detach(const char *mountpoint)
{
	if (geteuid() == 0)
		return umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0
			   ? errno
			   : 0;
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		execlp(FUSERMOUNT, FUSERMOUNT, "-u", "-z", "-q", "--",
		       mountpoint, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : EPERM;
}

/* The orderly stop: write back, save, detach. */
static gpointer stopping_thread(gpointer data)
{
	struct rfs_stopper *s = data;
	write_back(s);
	int err = rfs_control_save_now(s->ctx);
	if (err)
		g_warning("stop: saving the state failed: %s", g_strerror(err));
	err = rfs_stop_detach(s->mountpoint);
	if (err) {
		g_warning("stop: cannot detach %s (%s); unmount it to stop",
			  s->mountpoint, g_strerror(err));
	} else {
		g_message("stop: %s detached; serving open files until they "
			  "are closed (a second signal forces the exit)",
			  s->mountpoint);
	}
	return NULL;
}

/* Waits for stop signals until told to quit. */
static gpointer signal_thread(gpointer data)
{
	struct rfs_stopper *s = data;
	struct pollfd pfd[2] = {{.fd = s->sigfd, .events = POLLIN},
				{.fd = s->quitfd, .events = POLLIN}};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		struct signalfd_siginfo si;
		if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (s->stopping) {
			g_message("stop: %s again: exiting now",
				  strsignal((int)si.ssi_signo));
			_exit(1);
		}
		g_message("stop: %s: writing back dirty pages, saving the "
			  "state, detaching the mount",
			  strsignal((int)si.ssi_signo));
		s->stopping = g_thread_new("remapfs-stop", stopping_thread, s);
	}
	return NULL;
}

struct rfs_stopper *rfs_stopper_start(struct rfs_ctx *ctx,
				      const char *mountpoint)
{
	sigset_t set;
	stop_set(&set);
	struct rfs_stopper *s = g_new0(struct rfs_stopper, 1);
	s->ctx = ctx;
	s->mountpoint = g_strdup(mountpoint);
	s->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	s->quitfd = eventfd(0, EFD_CLOEXEC);
	if (s->sigfd < 0 || s->quitfd < 0) {
		int err = errno;
		if (s->sigfd >= 0)
			close(s->sigfd);
		if (s->quitfd >= 0)
			close(s->quitfd);
		g_free(s->mountpoint);
		g_free(s);
		errno = err;
		return NULL;
	}
	s->thread = g_thread_new("remapfs-signals", signal_thread, s);
	return s;
}

void rfs_stopper_stop(struct rfs_stopper *s)
{
	if (!s)
		return;
	uint64_t one = 1;
	if (write(s->quitfd, &one, sizeof(one)) < 0)
		g_warning("stop: cannot end the signal thread: %s",
			  g_strerror(errno));
	g_thread_join(s->thread);
	if (s->stopping)
		g_thread_join(s->stopping);
	close(s->sigfd);
	close(s->quitfd);
	g_free(s->mountpoint);
	g_free(s);
}
