/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsops.h - what the files of the FUSE layer share: fs.c (the operation
 * table, attributes, lookups, open files), names.c (making, linking,
 * removing and renaming entries) and dirs.c (listing directories).
 *
 * The rfs_op_* functions here are the bodies of FUSE operations that
 * reach SOURCE by name: fs.c's table runs each of them with the caller's
 * identity (caller.h), and nothing else calls them.  Each replies to req
 * exactly once. */
#pragma once
#include "remapfs.h"
#include <fuse_lowlevel.h>
#include <stdio.h>

/* The context of a request. */
/* Whether the request being served is one the kernel sent again after the
 * worker it first went to died (-o restart; fuseio.h): its effect may be
 * there already.  Call on the thread that runs the request's handler. */
bool rfs_req_resent(const struct rfs_ctx *ctx);

static inline struct rfs_ctx *rfs_req_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Writes the /proc path of an O_PATH descriptor into buf. */
static inline void rfs_proc_path(char buf[64], int fd)
{
	snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

/* Looks name up in dir (control file, virtual views, then SOURCE) and
 * fills e; the node found carries one more kernel lookup. */
int rfs_fs_lookup(struct rfs_ctx *ctx, struct rfs_node *dir, const char *name,
		  struct fuse_entry_param *e);
/* Whether name in dir is a virtual view (or the control file). */
bool rfs_fs_name_taken(struct rfs_ctx *ctx, struct rfs_node *dir,
		       const char *name);
/* Whether the request's caller may change the mount's state (maps and
 * virtual views) through the namespace: root or the user who mounted. */
bool rfs_fs_caller_owns_state(struct rfs_ctx *ctx, fuse_req_t req);

/* Checks that a new entry may be made as name in dir (a SOURCE directory,
 * a name that no virtual view or the control file holds). */
int rfs_fs_check_new_name(struct rfs_ctx *ctx, struct rfs_node *dir,
			  const char *name);

/* The operations of names.c and dirs.c run through fs.c's RFS_AS_CALLER,
 * which answers ESTALE before them for a node ID no live node has: the
 * nodes of their parameters are live (but releasedir's). */

/* names.c */
void rfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev);
void rfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode);
void rfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name);
void rfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname);
void rfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void rfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void rfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags);

/* dirs.c */
void rfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void rfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void rfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);
void rfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi);
