/* SPDX-License-Identifier: GPL-2.0-or-later */
/* caller.h - acting on SOURCE with the identity of the process whose
 * request the daemon serves.
 *
 * Every FUSE operation that reaches SOURCE by name (lookup, open, create,
 * setattr, mknod, mkdir, symlink, link, unlink, rmdir, rename, opendir,
 * readdir, fsyncdir) runs between rfs_caller_enter and rfs_caller_leave:
 * fs.c's operation table wraps each of them (RFS_AS_CALLER), so that a new
 * operation cannot forget it.  The switch is per thread: fsuid and fsgid
 * (setfsuid/setfsgid change only the calling thread) and the supplementary
 * groups through the raw system call (glibc's setgroups() changes every
 * thread of the process).  Operations on descriptors already open (read,
 * write, fsync, release, getattr) need no identity: the open was checked.
 * A daemon that is not root cannot switch and acts as itself; the mount's
 * default_permissions (implied by allow_other) then guard other users. */
#pragma once
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

/* The daemon's own identity, restored after every request. */
struct rfs_self {
	bool can_switch; /* running as root: identities can be switched */
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t *groups;
};

/* What a request runs as: the caller's ids and groups. */
struct rfs_ident {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t *groups; /* points at inline or is allocated */
	gid_t inline_groups[32];
	bool switched; /* the thread's identity is the caller's */
};

/* Records the daemon's own identity (at start-up). */
void rfs_self_init(struct rfs_self *self);
/* Frees what rfs_self_init allocated. */
void rfs_self_clear(struct rfs_self *self);

/* Makes the calling thread act as req's caller.  Returns 0, or a positive
 * errno (the thread is then as before). */
int rfs_caller_enter(const struct rfs_self *self, fuse_req_t req,
		     struct rfs_ident *id);
/* Back to the daemon's own identity (aborts if that fails: a thread that
 * kept a caller's identity would serve others as that caller). */
void rfs_caller_leave(const struct rfs_self *self, struct rfs_ident *id);

/* For a request whose caller the thread acts as: chmod(fd, or path when
 * fd < 0) to mode with the daemon's own identity, then back to the
 * caller's.  Only for what the kernel does on its own (clearing set-id
 * bits when a non-owner writes a file).  Returns 0 or a positive errno
 * (EPERM when the daemon cannot switch). */
int rfs_self_chmod(const struct rfs_self *self, fuse_req_t req, int fd,
		   const char *path, mode_t mode);
