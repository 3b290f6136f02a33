/* SPDX-License-Identifier: GPL-2.0-or-later */
/* caller.c - acting with a request's caller's identity (see caller.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "caller.h"

#include <errno.h>
#include <glib.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Sets this thread's supplementary groups only (not the whole process's,
 * as glibc's setgroups() would). */
static int thread_setgroups(int n, const gid_t *groups)
{
	return (int)syscall(SYS_setgroups, (size_t)n, groups);
}

/* Whether the daemon may take other identities: CAP_SETUID and CAP_SETGID
 * in its effective set (root, unless they were dropped, as mount.fuse3
 * -o drop_privileges does). */
static bool can_set_ids(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return geteuid() == 0;
	uint32_t want = (1u << CAP_SETUID) | (1u << CAP_SETGID);
	return (data[0].effective & want) == want;
}

void rfs_self_init(struct rfs_self *self)
{
	self->can_switch = can_set_ids();
	self->fsuid = geteuid();
	self->fsgid = getegid();
	self->ngroups = getgroups(0, NULL);
	if (self->ngroups < 0)
		self->ngroups = 0;
	self->groups = g_new0(gid_t, self->ngroups + 1);
	if (self->ngroups)
		self->ngroups = getgroups(self->ngroups, self->groups);
	if (self->ngroups < 0)
		self->ngroups = 0;
}

void rfs_self_clear(struct rfs_self *self)
{
	g_free(self->groups);
	self->groups = NULL;
}

/* Reads the caller's supplementary groups into id (none when the kernel
 * made the request itself or the caller is gone). */
static void read_groups(fuse_req_t req, struct rfs_ident *id)
{
	int cap = (int)G_N_ELEMENTS(id->inline_groups);
	id->groups = id->inline_groups;
	int n = fuse_req_getgroups(req, cap, id->groups);
	if (n > cap) {
		id->groups = g_new(gid_t, n);
		int m = fuse_req_getgroups(req, n, id->groups);
		n = m > n ? n : m;
	}
	id->ngroups = n > 0 ? n : 0;
}

int rfs_caller_enter(const struct rfs_self *self, fuse_req_t req,
		     struct rfs_ident *id)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	id->uid = c->uid;
	id->gid = c->gid;
	id->ngroups = 0;
	id->groups = id->inline_groups;
	id->switched = false;
	if (!self->can_switch)
		return 0;
	read_groups(req, id);
	if (thread_setgroups(id->ngroups, id->groups) < 0)
		return errno ? errno : EPERM;
	setfsgid(id->gid);
	setfsuid(id->uid);
	/* setfsuid/setfsgid report no error: check that they took. */
	if ((uid_t)setfsuid((uid_t)-1) != id->uid ||
	    (gid_t)setfsgid((gid_t)-1) != id->gid) {
		id->switched = true;
		rfs_caller_leave(self, id);
		return EPERM;
	}
	id->switched = true;
	return 0;
}

void rfs_caller_leave(const struct rfs_self *self, struct rfs_ident *id)
{
	if (id->groups != id->inline_groups)
		g_free(id->groups);
	id->groups = id->inline_groups;
	if (!id->switched)
		return;
	setfsuid(self->fsuid);
	setfsgid(self->fsgid);
	if (thread_setgroups(self->ngroups, self->groups) < 0 ||
	    (uid_t)setfsuid((uid_t)-1) != self->fsuid ||
	    (gid_t)setfsgid((gid_t)-1) != self->fsgid) {
		fprintf(stderr, "remapfs: cannot restore the daemon's own "
				"identity after a request; stopping\n");
		abort();
	}
	id->switched = false;
}

int rfs_self_chmod(const struct rfs_self *self, fuse_req_t req, int fd,
		   const char *path, mode_t mode)
{
	if (!self->can_switch)
		return EPERM;
	const struct fuse_ctx *c = fuse_req_ctx(req);
	setfsuid(self->fsuid);
	setfsgid(self->fsgid);
	int err =
	    (fd >= 0 ? fchmod(fd, mode) : chmod(path, mode)) < 0 ? errno : 0;
	setfsgid(c->gid);
	setfsuid(c->uid);
	if ((uid_t)setfsuid((uid_t)-1) != c->uid ||
	    (gid_t)setfsgid((gid_t)-1) != c->gid) {
		fprintf(stderr, "remapfs: cannot return to a caller's identity "
				"after clearing a set-id bit; stopping\n");
		abort();
	}
	return err;
}
