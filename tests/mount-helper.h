/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mount-helper.h - mounting a real remapfs for a test, and always
 * unmounting it again. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <sys/types.h>

struct rfs_test_mount {
	char *base;    /* temporary directory holding the rest */
	char *src;     /* SOURCE */
	char *mnt;     /* MOUNTPOINT */
	char *control; /* MOUNTPOINT/.control */
	char *log;     /* the daemon's stderr */
	pid_t pid;     /* the daemon (run with -f) */
};

/* Creates a fresh SOURCE and MOUNTPOINT under $RFS_TEST_BASE (or $TMPDIR). */
struct rfs_test_mount *rfs_test_prepare(void);
/* Starts the daemon on m with extra arguments (NULL-terminated) and waits
 * for the mount.  Returns false (printing the daemon's log) on failure. */
bool rfs_test_start(struct rfs_test_mount *m, const char *const *extra);
/* Unmounts (fusermount3 -u, then -uz), reaps the daemon (killing it if it
 * lingers), keeps the directories.  Safe to call twice. */
void rfs_test_stop(struct rfs_test_mount *m);
/* Stops and removes everything. */
void rfs_test_free(struct rfs_test_mount *m);
/* prepare + start with extra, asserting success. */
struct rfs_test_mount *rfs_test_mount_new(const char *const *extra);

/* -o restart: the worker of supervisor sup (its first child), or -1. */
pid_t rfs_test_worker(pid_t sup);
/* -o restart: kills the worker of supervisor sup with SIGKILL and waits
 * up to 5 s until another one runs; returns it, or -1 after printing what
 * it expected and saw. */
pid_t rfs_test_kill_worker(pid_t sup);
/* Waits up to ms for m's daemon to exit; returns its wait status (m->pid
 * is then -1), or -1 when it still runs. */
int rfs_test_wait_exit(struct rfs_test_mount *m, int ms);

/* Kills every daemon this process started (for watchdogs). */
void rfs_test_kill_all(void);
/* Arms a watchdog: after seconds, kill the daemons and exit(1). */
void rfs_test_watchdog(unsigned seconds, const char *what);

/* Runs a shell command (printf-style) and returns its exit status (-1
 * when it did not exit); rfs_sh prints the command when that is not 0,
 * rfs_sh_quiet (for commands expected to fail) does not. */
int rfs_sh(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
int rfs_sh_quiet(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Writes text to .control in one write(); returns 0 or errno. */
int rfs_ctl(struct rfs_test_mount *m, const char *text);
/* Like rfs_ctl, also returning the error message read back. */
int rfs_ctl_msg(struct rfs_test_mount *m, const char *text, char **msg);
/* printf-style rfs_ctl. */
int rfs_ctlf(struct rfs_test_mount *m, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/* The state dump (reading .control). */
char *rfs_dump(struct rfs_test_mount *m);

/* A path under SOURCE or the mount (newly allocated). */
char *rfs_src(struct rfs_test_mount *m, const char *rel);
char *rfs_mnt(struct rfs_test_mount *m, const char *rel);

/* Writes a file of npages pages of ps bytes; page p is filled with the
 * 64-bit word tag_base + p. */
void rfs_write_tagged(const char *path, size_t npages, size_t ps,
		      uint64_t tag_base);
/* Checks that buf (one page) is filled with tag; prints what it saw. */
bool rfs_page_is(const void *buf, size_t ps, uint64_t tag, const char *where);
/* The tag of a page (its first word), -1 if the page is not uniform. */
int64_t rfs_page_tag(const void *buf, size_t ps);
