/* fs.c - FUSE low-level operations (see fs.h).  Every op replies exactly
 * once; helpers return 0 or a positive errno. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "fs.h"
#include "io.h"
#include "control.h"
#include "notify.h"
#include "remapfs.h"
#include "views.h"
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The context of a request. */
static struct rfs_ctx *ctx_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Writes the /proc path of an O_PATH descriptor into buf. */
static void proc_path(char buf[64], int fd)
{
	snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

/* Acts with the caller's file-system identity (when the daemon is root),
 * so that what it creates belongs to the caller. */
static void creds_enter(fuse_req_t req)
{
	if (geteuid() != 0)
		return;
	const struct fuse_ctx *c = fuse_req_ctx(req);
	setfsgid(c->gid);
	setfsuid(c->uid);
}

/* Back to the daemon's own identity. */
static void creds_leave(void)
{
	if (geteuid() != 0)
		return;
	setfsuid(0);
	setfsgid(0);
}

/* Flags for the daemon's own open of a view's backing file: what the kernel
 * already handled or what would break offset translation is dropped. */
static int backing_open_flags(int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_DIRECT |
		   O_NOFOLLOW);
	return flags | O_CLOEXEC;
}

/* The attributes of the control file. */
static void control_stat(struct rfs_ctx *ctx, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ctx->control->ino;
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_uid = ctx->owner;
	st->st_gid = ctx->owner_gid;
	st->st_blksize = 4096;
}

/* The attributes of a node as the mount shows them. */
static int node_stat(struct rfs_ctx *ctx, struct rfs_node *n, struct stat *st)
{
	if (n->kind == RFS_NODE_CONTROL) {
		control_stat(ctx, st);
		return 0;
	}
	if (n->kind == RFS_NODE_VIRTUAL) {
		uint64_t pages;
		g_rw_lock_reader_lock(&ctx->state_lock);
		pages = n->view->pages;
		struct rfs_node *b = n->view->backing;
		g_rw_lock_reader_unlock(&ctx->state_lock);
		if (fstat(b->fd, st) < 0)
			return errno;
		st->st_ino = n->ino;
		st->st_nlink = 1;
		st->st_size = (off_t)(pages << ctx->page_shift);
		st->st_blocks = st->st_size / 512;
		st->st_blksize = (blksize_t)ctx->pagesize;
		return 0;
	}
	if (fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	if (S_ISREG(st->st_mode)) /* views: their page size */
		st->st_blksize = (blksize_t)ctx->pagesize;
	return 0;
}

/* Fills an entry reply for node n (which carries one lookup). */
static int fill_entry(struct rfs_ctx *ctx, struct rfs_node *n,
		      struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	int err = node_stat(ctx, n, &e->attr);
	if (err)
		return err;
	e->ino = rfs_ino_of(ctx, n);
	e->attr_timeout = ctx->opts.attr_timeout;
	e->entry_timeout = ctx->opts.entry_timeout;
	return 0;
}

/* The virtual view called name in dir, with one kernel lookup, or NULL. */
static struct rfs_node *virtual_lookup(struct rfs_ctx *ctx,
				       struct rfs_node *dir, const char *name)
{
	struct rfs_node *n = NULL;
	g_rw_lock_reader_lock(&ctx->state_lock);
	struct rfs_view *v =
	    dir->virtuals ? g_hash_table_lookup(dir->virtuals, name) : NULL;
	if (v) {
		n = v->node;
		rfs_node_lookup(&ctx->nodes, n);
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	return n;
}

/* Whether name in dir is a virtual view (or the control file). */
static bool name_taken(struct rfs_ctx *ctx, struct rfs_node *dir,
		       const char *name)
{
	bool taken;
	if (dir == ctx->nodes.root && strcmp(name, RFS_CONTROL_NAME) == 0)
		return true;
	g_rw_lock_reader_lock(&ctx->state_lock);
	taken = dir->virtuals && g_hash_table_contains(dir->virtuals, name);
	g_rw_lock_reader_unlock(&ctx->state_lock);
	return taken;
}

/* Looks name up in SOURCE under dir: the node with one kernel lookup. */
static int source_lookup(struct rfs_ctx *ctx, struct rfs_node *dir,
			 const char *name, struct rfs_node **out)
{
	struct stat st;
	int fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0) {
		int err = errno;
		close(fd);
		return err;
	}
	struct rfs_node *n = rfs_nodes_get(&ctx->nodes, fd, &st, true);
	if (S_ISDIR(st.st_mode)) {
		g_rw_lock_writer_lock(&ctx->state_lock);
		rfs_dir_set_parent(ctx, n, dir, name);
		g_rw_lock_writer_unlock(&ctx->state_lock);
	}
	*out = n;
	return 0;
}

/* Looks name up in dir (control file, virtual views, then SOURCE) and
 * fills e; the node found carries one more kernel lookup. */
static int do_lookup(struct rfs_ctx *ctx, struct rfs_node *dir,
		     const char *name, struct fuse_entry_param *e)
{
	struct rfs_node *n;
	int err;
	if (dir == ctx->nodes.root && strcmp(name, RFS_CONTROL_NAME) == 0) {
		n = ctx->control;
		rfs_node_lookup(&ctx->nodes, n);
	} else if (!(n = virtual_lookup(ctx, dir, name))) {
		if ((err = source_lookup(ctx, dir, name, &n)))
			return err;
	}
	err = fill_entry(ctx, n, e);
	if (err)
		rfs_node_forget(&ctx->nodes, n, 1);
	return err;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct rfs_ctx *ctx = userdata;
	/* Views keep their page cache: only remaps invalidate it. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)
		conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
	/* Writes reach the daemon synchronously (coherent aliases). */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	/* Never move pages: a moved page would be taken out of the backing
	 * file's page cache, and read again from disk. */
	conn->want &= ~FUSE_CAP_SPLICE_MOVE;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	/* Requests of up to 1 MiB less 4 pages: a reply and its header then
	 * fit the 1 MiB pipes that splicing goes through (fs.pipe-max-size),
	 * so that large replies are spliced instead of copied. */
	conn->max_write = RFS_MAX_TRANSACTION;
	conn->max_readahead = conn->max_write;
	(void)ctx;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct fuse_entry_param e;
	int err = do_lookup(ctx, rfs_node_of(ctx, parent), name, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct rfs_ctx *ctx = ctx_of(req);
	rfs_node_forget(&ctx->nodes, rfs_node_of(ctx, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct rfs_ctx *ctx = ctx_of(req);
	for (size_t i = 0; i < count; i++)
		rfs_node_forget(&ctx->nodes, rfs_node_of(ctx, forgets[i].ino),
				forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct stat st;
	int err = node_stat(ctx, rfs_node_of(ctx, ino), &st);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, ctx->opts.attr_timeout);
}

/* Drops map runs of a mirrored view past its new size (a truncate), and
 * returns invalidations of the views over the file (they may have cached
 * pages past its new end), or NULL. */
static GArray *view_truncated(struct rfs_ctx *ctx, struct rfs_node *n,
			      off_t size)
{
	uint64_t pages =
	    ((uint64_t)size + ctx->pagesize - 1) >> ctx->page_shift;
	GArray *invals = NULL;
	g_rw_lock_writer_lock(&ctx->state_lock);
	if (n->view && !n->view->is_virtual && n->view->pinned) {
		rfs_pagemap_reset(n->view->map, pages, UINT64_MAX - pages);
		rfs_view_map_changed(n->view);
		rfs_view_update_pin(ctx, n->view);
	}
	for (guint i = 0; n->viewers && i < n->viewers->len; i++) {
		struct rfs_view *v = n->viewers->pdata[i];
		if (!invals)
			invals = rfs_invals_new();
		rfs_invals_add(ctx, invals, v->node, 0, 0);
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	return invals;
}

/* Resizes a virtual view to size bytes (a multiple of the page size). */
static int virtual_truncate(struct rfs_ctx *ctx, struct rfs_node *n, off_t size)
{
	if (size < 0 || ((uint64_t)size & (ctx->pagesize - 1)))
		return EINVAL;
	uint64_t pages = (uint64_t)size >> ctx->page_shift;
	if (pages > ctx->page_limit)
		return EFBIG;
	g_rw_lock_writer_lock(&ctx->state_lock);
	if (pages < n->view->pages) {
		rfs_pagemap_reset(n->view->map, pages, UINT64_MAX - pages);
		rfs_view_map_changed(n->view);
	}
	n->view->pages = pages;
	g_rw_lock_writer_unlock(&ctx->state_lock);
	return 0;
}

/* Applies setattr's changes to a node. */
static int do_setattr(struct rfs_ctx *ctx, struct rfs_node *n,
		      const struct stat *attr, int valid,
		      struct fuse_file_info *fi, GArray **invals)
{
	char path[64];
	struct rfs_node *target = n;
	if (n->kind == RFS_NODE_CONTROL)
		return EPERM;
	if (ctx->opts.read_only)
		return EROFS;
	if (n->kind == RFS_NODE_VIRTUAL) {
		target = n->view->backing; /* mode, owner, times: the file's */
		fi = NULL;
	}
	bool symlink = S_ISLNK(target->type);
	proc_path(path, target->fd);
	if (valid & FUSE_SET_ATTR_MODE) {
		if (symlink)
			return EPERM;
		if ((fi ? fchmod((int)fi->fh, attr->st_mode)
			: chmod(path, attr->st_mode)) < 0)
			return errno;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid =
		    (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid =
		    (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;
		if (fchownat(target->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		if (n->kind == RFS_NODE_VIRTUAL) {
			int err = virtual_truncate(ctx, n, attr->st_size);
			if (err)
				return err;
		} else {
			if ((fi ? ftruncate((int)fi->fh, attr->st_size)
				: truncate(path, attr->st_size)) < 0)
				return errno;
			*invals = view_truncated(ctx, n, attr->st_size);
		}
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {{.tv_nsec = UTIME_OMIT},
					 {.tv_nsec = UTIME_OMIT}};
		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		int res;
		if (fi)
			res = futimens((int)fi->fh, tv);
		else if (symlink)
			res = utimensat(target->fd, "", tv, AT_EMPTY_PATH);
		else
			res = utimensat(AT_FDCWD, path, tv, 0);
		if (res < 0)
			return errno == EINVAL && symlink ? EPERM : errno;
	}
	return 0;
}

/* A setattr whose reply waits for invalidations of other views. */
struct setattr_reply {
	struct rfs_ctx *ctx;
	fuse_req_t req;
	struct rfs_node *node; /* a daemon reference */
};

/* Replies a setattr with the node's attributes (notifier callback). */
static void setattr_done(void *data)
{
	struct setattr_reply *r = data;
	struct stat st;
	int err = node_stat(r->ctx, r->node, &st);
	if (err)
		fuse_reply_err(r->req, err);
	else
		fuse_reply_attr(r->req, &st, r->ctx->opts.attr_timeout);
	rfs_node_unref(&r->ctx->nodes, r->node);
	g_free(r);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int valid, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	GArray *invals = NULL;
	int err = do_setattr(ctx, n, attr, valid, fi, &invals);
	if (err) {
		rfs_invals_free(ctx, invals);
		fuse_reply_err(req, err);
		return;
	}
	struct setattr_reply *r = g_new0(struct setattr_reply, 1);
	r->ctx = ctx;
	r->req = req;
	r->node = n;
	rfs_node_ref(&ctx->nodes, n);
	if (invals) /* other views drop what is past the new end first */
		rfs_notify_then(ctx, invals, setattr_done, r);
	else
		setattr_done(r);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	char buf[PATH_MAX + 1];
	ssize_t len = n->fd >= 0 ? readlinkat(n->fd, "", buf, sizeof(buf) - 1)
				 : (errno = EINVAL, -1);
	if (len < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

/* Replies to mknod/mkdir/symlink/link after the entry was made. */
static void reply_new_entry(fuse_req_t req, struct rfs_node *dir,
			    const char *name)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct fuse_entry_param e;
	int err = do_lookup(ctx, dir, name, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

/* Checks that a new entry may be made as name in dir. */
static int check_new_name(struct rfs_ctx *ctx, struct rfs_node *dir,
			  const char *name)
{
	if (ctx->opts.read_only)
		return EROFS;
	if (dir->kind != RFS_NODE_SOURCE)
		return ENOTDIR;
	return name_taken(ctx, dir, name) ? EEXIST : 0;
}

/* What make_entry makes. */
enum new_kind { NEW_NODE, NEW_DIR, NEW_SYMLINK };

/* Makes name in parent as the caller (mknod, mkdir or symlink), replies. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       enum new_kind kind, mode_t mode, dev_t rdev,
		       const char *link)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	int err = check_new_name(ctx, dir, name);
	if (!err) {
		int res;
		creds_enter(req);
		if (kind == NEW_NODE)
			res = mknodat(dir->fd, name, mode, rdev);
		else if (kind == NEW_DIR)
			res = mkdirat(dir->fd, name, mode);
		else
			res = symlinkat(link, dir->fd, name);
		if (res < 0)
			err = errno;
		creds_leave();
	}
	if (err)
		fuse_reply_err(req, err);
	else
		reply_new_entry(req, dir, name);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	make_entry(req, parent, name, NEW_NODE, mode, rdev, NULL);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	make_entry(req, parent, name, NEW_DIR, mode, 0, NULL);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	make_entry(req, parent, name, NEW_SYMLINK, 0, 0, link);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	struct rfs_node *dir = rfs_node_of(ctx, newparent);
	char path[64];
	int err = check_new_name(ctx, dir, newname);
	if (!err && n->kind != RFS_NODE_SOURCE)
		err = EPERM;
	if (!err) {
		proc_path(path, n->fd);
		if (linkat(AT_FDCWD, path, dir->fd, newname,
			   AT_SYMLINK_FOLLOW) < 0)
			err = errno;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		reply_new_entry(req, dir, newname);
}

/* Takes a virtual view out of the namespace (unlink through the mount). */
static void unlink_virtual(struct rfs_ctx *ctx, struct rfs_node *dir,
			   struct rfs_view *v)
{
	v->removed = true;
	g_hash_table_remove(dir->virtuals, v->name);
	if (v->backing->viewers)
		g_ptr_array_remove(v->backing->viewers, v);
	g_hash_table_remove(ctx->views, v);
}

/* After an unlink: a mirrored view whose file has no name left is no
 * longer part of the state (open files keep their map until closed). */
static void unpin_unlinked(struct rfs_ctx *ctx, struct rfs_node *n)
{
	struct stat st;
	if (fstat(n->fd, &st) < 0 || st.st_nlink > 0)
		return;
	bool unref = false;
	g_rw_lock_writer_lock(&ctx->state_lock);
	if (n->view && n->view->pinned) {
		n->view->pinned = false;
		g_hash_table_remove(ctx->views, n->view);
		unref = true;
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	if (unref)
		rfs_node_unref(&ctx->nodes, n);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	struct stat st;
	if (ctx->opts.read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (dir == ctx->nodes.root && strcmp(name, RFS_CONTROL_NAME) == 0) {
		fuse_reply_err(req, EPERM);
		return;
	}
	struct rfs_node *vnode = NULL;
	g_rw_lock_writer_lock(&ctx->state_lock);
	struct rfs_view *v =
	    dir->virtuals ? g_hash_table_lookup(dir->virtuals, name) : NULL;
	if (v) {
		vnode = v->node;
		unlink_virtual(ctx, dir, v);
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	if (vnode) {
		rfs_node_unref(&ctx->nodes, vnode); /* the namespace's ref */
		fuse_reply_err(req, 0);
		return;
	}
	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    unlinkat(dir->fd, name, 0) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	struct rfs_node *n = rfs_nodes_find(&ctx->nodes, st.st_dev, st.st_ino);
	if (n) {
		unpin_unlinked(ctx, n);
		rfs_node_unref(&ctx->nodes, n);
	}
	fuse_reply_err(req, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	struct stat st;
	int err = 0;
	if (ctx->opts.read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		struct rfs_node *n =
		    rfs_nodes_find(&ctx->nodes, st.st_dev, st.st_ino);
		if (n) {
			g_rw_lock_reader_lock(&ctx->state_lock);
			if (n->virtuals && g_hash_table_size(n->virtuals))
				err = ENOTEMPTY;
			g_rw_lock_reader_unlock(&ctx->state_lock);
			rfs_node_unref(&ctx->nodes, n);
		}
	}
	if (!err && unlinkat(dir->fd, name, AT_REMOVEDIR) < 0)
		err = errno;
	fuse_reply_err(req, err);
}

/* Moves a virtual view to newname in newdir. */
static int rename_virtual(struct rfs_ctx *ctx, struct rfs_node *dir,
			  const char *name, struct rfs_node *newdir,
			  const char *newname, unsigned flags)
{
	struct stat st;
	if (flags & RENAME_EXCHANGE)
		return EINVAL;
	if (newdir->kind != RFS_NODE_SOURCE)
		return ENOTDIR;
	if (name_taken(ctx, newdir, newname) ||
	    fstatat(newdir->fd, newname, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return EEXIST;
	int err = ENOENT;
	g_rw_lock_writer_lock(&ctx->state_lock);
	struct rfs_view *v =
	    dir->virtuals ? g_hash_table_lookup(dir->virtuals, name) : NULL;
	if (v && !(newdir->virtuals &&
		   g_hash_table_contains(newdir->virtuals, newname))) {
		g_hash_table_remove(dir->virtuals, name);
		g_free(v->name);
		v->name = g_strdup(newname);
		if (newdir != dir) {
			rfs_node_ref(&ctx->nodes, newdir);
			rfs_node_unref(&ctx->nodes, v->parent);
			v->parent = newdir;
		}
		if (!newdir->virtuals)
			newdir->virtuals =
			    g_hash_table_new(g_str_hash, g_str_equal);
		g_hash_table_insert(newdir->virtuals, v->name, v);
		err = 0;
	} else if (v) {
		err = EEXIST;
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	return err;
}

/* After a SOURCE rename: the names the daemon keeps for the moved object
 * (a directory's, a mapped view's, virtual views' BACKING) follow it. */
static void renamed(struct rfs_ctx *ctx, const struct stat *st,
		    struct rfs_node *dir, const char *name,
		    struct rfs_node *newdir, const char *newname)
{
	struct rfs_node *n =
	    rfs_nodes_find(&ctx->nodes, st->st_dev, st->st_ino);
	if (!n)
		return;
	g_rw_lock_writer_lock(&ctx->state_lock);
	if (S_ISDIR(st->st_mode))
		rfs_dir_set_parent(ctx, n, newdir, newname);
	if (n->view && !n->view->is_virtual && n->view->parent == dir &&
	    g_strcmp0(n->view->name, name) == 0) {
		rfs_node_ref(&ctx->nodes, newdir);
		rfs_node_unref(&ctx->nodes, n->view->parent);
		n->view->parent = newdir;
		g_free(n->view->name);
		n->view->name = g_strdup(newname);
	}
	if (n->viewers && n->viewers->len) {
		char *dpath = rfs_dir_path(newdir);
		char *path = *dpath ? g_strconcat(dpath, "/", newname, NULL)
				    : g_strdup(newname);
		for (guint i = 0; i < n->viewers->len; i++) {
			struct rfs_view *v = n->viewers->pdata[i];
			g_free(v->backing_path);
			v->backing_path = g_strdup(path);
		}
		g_free(path);
		g_free(dpath);
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	rfs_node_unref(&ctx->nodes, n);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	struct rfs_node *newdir = rfs_node_of(ctx, newparent);
	struct stat st;
	int err = 0;

	if (ctx->opts.read_only)
		err = EROFS;
	else if ((dir == ctx->nodes.root &&
		  strcmp(name, RFS_CONTROL_NAME) == 0) ||
		 (newdir == ctx->nodes.root &&
		  strcmp(newname, RFS_CONTROL_NAME) == 0))
		err = EPERM;
	if (!err) {
		g_rw_lock_reader_lock(&ctx->state_lock);
		bool src_virtual =
		    dir->virtuals && g_hash_table_contains(dir->virtuals, name);
		g_rw_lock_reader_unlock(&ctx->state_lock);
		if (src_virtual) {
			fuse_reply_err(req,
				       rename_virtual(ctx, dir, name, newdir,
						      newname, flags));
			return;
		}
		if (name_taken(ctx, newdir, newname))
			err = EEXIST;
	}
	if (!err && fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		err = errno;
	if (!err && renameat2(dir->fd, name, newdir->fd, newname, flags) < 0)
		err = errno;
	if (!err)
		renamed(ctx, &st, dir, name, newdir, newname);
	fuse_reply_err(req, err);
}

/* Whether an open with these flags may write. */
static bool open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Opens the control file. */
static void open_control(fuse_req_t req, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	const struct fuse_ctx *c = fuse_req_ctx(req);
	if (c->uid != ctx->owner) {
		fuse_reply_err(req, EACCES);
		return;
	}
	bool readable = (fi->flags & O_ACCMODE) != O_WRONLY;
	fi->fh = (uint64_t)(uintptr_t)rfs_control_open(ctx, readable);
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		rfs_control_release((void *)(uintptr_t)fi->fh);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	char path[64];
	if (n->kind == RFS_NODE_CONTROL) {
		open_control(req, fi);
		return;
	}
	if (ctx->opts.read_only && open_writes(fi->flags)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	struct rfs_node *b = rfs_view_backing(n);
	proc_path(path, b->fd);
	int fd = open(path, backing_open_flags(fi->flags));
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	rfs_watch_add(ctx, b);
	if (fuse_reply_open(req, fi) == -ENOENT)
		close(fd);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	struct fuse_entry_param e;
	int err = check_new_name(ctx, dir, name);
	int fd = -1;
	if (!err) {
		creds_enter(req);
		fd = openat(dir->fd, name,
			    backing_open_flags(fi->flags) | O_CREAT |
				O_NOFOLLOW | (fi->flags & O_EXCL),
			    mode);
		if (fd < 0)
			err = errno;
		creds_leave();
	}
	if (!err && (err = do_lookup(ctx, dir, name, &e)))
		close(fd);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	rfs_watch_add(ctx, rfs_node_of(ctx, e.ino));
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		close(fd);
		rfs_node_forget(&ctx->nodes, rfs_node_of(ctx, e.ino), 1);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	if (n->kind == RFS_NODE_CONTROL)
		rfs_control_read(ctx, req, (void *)(uintptr_t)fi->fh, size);
	else
		rfs_io_read(ctx, req, n, (int)fi->fh, size, off);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
			 off_t off, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	if (n->kind == RFS_NODE_CONTROL) {
		size_t len;
		char *mem = rfs_buf_to_mem(in, &len);
		rfs_control_write(ctx, req, (void *)(uintptr_t)fi->fh, mem,
				  len);
		g_free(mem);
	} else {
		rfs_io_write(ctx, req, n, (int)fi->fh, in, off, fi->writepage);
	}
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	if (rfs_node_of(ctx, ino)->kind == RFS_NODE_CONTROL)
		rfs_control_flush(ctx, req, (void *)(uintptr_t)fi->fh);
	else
		fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	if (rfs_node_of(ctx, ino)->kind == RFS_NODE_CONTROL)
		rfs_control_release((void *)(uintptr_t)fi->fh);
	else
		close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	if (rfs_node_of(ctx, ino)->kind == RFS_NODE_CONTROL) {
		fuse_reply_err(req, 0);
		return;
	}
	int res = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
	if (res < 0)
		fuse_reply_err(req, errno);
	else /* after the aliases of what was written back are invalid */
		rfs_notify_barrier(ctx, req);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			 off_t length, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	bool identity;
	if (ctx->opts.read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	g_rw_lock_reader_lock(&ctx->state_lock);
	identity = n->kind == RFS_NODE_SOURCE &&
		   (!n->view || rfs_pagemap_nruns(n->view->map) == 0);
	g_rw_lock_reader_unlock(&ctx->state_lock);
	/* Only an unmapped view's offsets are its file's. */
	if (!identity) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	int res = fallocate((int)fi->fh, mode, offset, length);
	fuse_reply_err(req, res < 0 ? errno : 0);
}

/* One directory entry of a snapshot. */
struct dir_entry {
	char *name;
	ino_t ino;
	unsigned type; /* DT_* */
};

/* An open directory: its entries, read at offset 0. */
struct dir_handle {
	GArray *entries; /* struct dir_entry */
};

/* Frees a directory entry's name. */
static void dir_entry_clear(gpointer p)
{
	g_free(((struct dir_entry *)p)->name);
}

/* Reads dir's entries: SOURCE's (the control file's name hidden at the
 * root), then virtual views, then the control file at the root. */
static int dir_load(struct rfs_ctx *ctx, struct rfs_node *dir,
		    struct dir_handle *h)
{
	int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = errno;
		close(fd);
		return err;
	}
	bool root = dir == ctx->nodes.root;
	g_array_set_size(h->entries, 0);
	g_rw_lock_reader_lock(&ctx->state_lock);
	GHashTable *virtuals = dir->virtuals;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if ((root && strcmp(de->d_name, RFS_CONTROL_NAME) == 0) ||
		    (virtuals && g_hash_table_contains(virtuals, de->d_name)))
			continue;
		struct dir_entry e = {g_strdup(de->d_name), de->d_ino,
				      de->d_type};
		g_array_append_val(h->entries, e);
	}
	if (virtuals) {
		GHashTableIter it;
		gpointer val;
		g_hash_table_iter_init(&it, virtuals);
		while (g_hash_table_iter_next(&it, NULL, &val)) {
			struct rfs_view *v = val;
			struct dir_entry e = {g_strdup(v->name), v->node->ino,
					      DT_REG};
			g_array_append_val(h->entries, e);
		}
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	if (root) {
		struct dir_entry e = {g_strdup(RFS_CONTROL_NAME),
				      ctx->control->ino, DT_REG};
		g_array_append_val(h->entries, e);
	}
	closedir(d);
	return 0;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	if (n->kind != RFS_NODE_SOURCE) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	struct dir_handle *h = g_new0(struct dir_handle, 1);
	h->entries = g_array_new(FALSE, FALSE, sizeof(struct dir_entry));
	g_array_set_clear_func(h->entries, dir_entry_clear);
	int err = dir_load(ctx, n, h);
	if (err) {
		g_array_unref(h->entries);
		g_free(h);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		g_array_unref(h->entries);
		g_free(h);
	}
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct dir_handle *h = (void *)(uintptr_t)fi->fh;
	if (off == 0 && h->entries->len) {
		/* rewinddir: read again */
		int err = dir_load(ctx, rfs_node_of(ctx, ino), h);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
	}
	char *buf = g_malloc(size);
	size_t used = 0;
	for (guint i = (guint)off; i < h->entries->len; i++) {
		struct dir_entry *e =
		    &g_array_index(h->entries, struct dir_entry, i);
		struct stat st = {.st_ino = e->ino,
				  .st_mode = (mode_t)e->type << 12};
		size_t need = fuse_add_direntry(req, buf + used, size - used,
						e->name, &st, (off_t)i + 1);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	g_free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dir_handle *h = (void *)(uintptr_t)fi->fh;
	g_array_unref(h->entries);
	g_free(h);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	int fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int res = fd < 0 ? -1 : (datasync ? fdatasync(fd) : fsync(fd));
	int err = res < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	fuse_reply_err(req, err);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs_ctx *ctx = ctx_of(req);
	struct statvfs sv;
	if (fstatvfs(ctx->nodes.root->fd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops rfs_fs_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .symlink = op_symlink,
    .link = op_link,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .rename = op_rename,
    .open = op_open,
    .create = op_create,
    .read = op_read,
    .write_buf = op_write_buf,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .fallocate = op_fallocate,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
};
