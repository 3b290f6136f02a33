/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fs.c - the FUSE operation table (see fs.h): attributes, lookups and open
 * files here, entries in names.c, directories in dirs.c.  Every op replies
 * exactly once; helpers return 0 or a positive errno.  Every op that
 * reaches SOURCE by name runs with the caller's identity (RFS_AS_CALLER). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "fs.h"
#include "fuseio.h"
#include "caller.h"
#include "control.h"
#include "fsops.h"
#include "handles.h"
#include "io.h"
#include "notify.h"
#include "push.h"
#include "stats.h"
#include "views.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Flags for the daemon's own open of a view's backing file: what the kernel
 * already handled or what would break offset translation is dropped
 * (O_TRUNC is applied by the open of a SOURCE file itself). */
static int backing_open_flags(int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_DIRECT |
		   O_NOFOLLOW);
	return flags | O_CLOEXEC;
}

/* Whether the SOURCE file behind node n lost its last name (it was
 * removed or replaced outside the mount): opening it again would reach
 * an inode nobody else can, so such opens fail with ESTALE (the kernel
 * then looks the name up again and opens what it names now). */
static bool node_unlinked(struct rfs_node *n)
{
	struct stat st;
	return fstat(n->fd, &st) == 0 && st.st_nlink == 0;
}

/* The attributes of the control file (or of .stats, read-only). */
static void control_stat(struct rfs_ctx *ctx, struct rfs_node *n,
			 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = S_IFREG | (n->kind == RFS_NODE_STATS ? 0400 : 0600);
	st->st_nlink = 1;
	st->st_uid = ctx->owner;
	st->st_gid = ctx->owner_gid;
	st->st_blksize = 4096;
}

/* The attributes of a node as the mount shows them. */
static int node_stat(struct rfs_ctx *ctx, struct rfs_node *n, struct stat *st)
{
	if (rfs_kind_is_own_file(n->kind)) {
		control_stat(ctx, n, st);
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

bool rfs_fs_name_taken(struct rfs_ctx *ctx, struct rfs_node *dir,
		       const char *name)
{
	bool taken;
	if (dir == ctx->nodes.root && rfs_special_name(name))
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
	if (S_ISDIR(st.st_mode))
		rfs_dir_note_parent(ctx, n, dir, name);
	*out = n;
	return 0;
}

int rfs_fs_lookup(struct rfs_ctx *ctx, struct rfs_node *dir, const char *name,
		  struct fuse_entry_param *e)
{
	struct rfs_node *n;
	int err;
	if (dir == ctx->nodes.root && rfs_special_name(name)) {
		n = strcmp(name, RFS_CONTROL_NAME) == 0 ? ctx->control
							: ctx->stats_node;
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

int rfs_fs_check_new_name(struct rfs_ctx *ctx, struct rfs_node *dir,
			  const char *name)
{
	if (ctx->opts.read_only)
		return EROFS;
	if (dir->kind != RFS_NODE_SOURCE)
		return ENOTDIR;
	return rfs_fs_name_taken(ctx, dir, name) ? EEXIST : 0;
}

bool rfs_fs_caller_owns_state(struct rfs_ctx *ctx, fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	return uid == 0 || uid == ctx->owner;
}

/* Whether the thread's identity (the caller's, inside RFS_AS_CALLER) may
 * write the SOURCE object of node n: 0 or EACCES/EROFS/... */
static int may_write_node(struct rfs_node *n)
{
	char path[64];
	rfs_proc_path(path, n->fd);
	return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0 ? errno : 0;
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
	/* -o restart reads requests whole: a resent one is known by its
	 * unique ID (fuseio.h), which a spliced read does not show. */
	if ((conn->capable & FUSE_CAP_SPLICE_READ) && !ctx->opts.restart)
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

static void lookup_as_caller(fuse_req_t req, fuse_ino_t parent,
			     const char *name)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct fuse_entry_param e;
	int err = rfs_fs_lookup(ctx, rfs_node_of(ctx, parent), name, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	if (n) /* else a node of a worker that died (supervise.h) */
		rfs_node_forget(&ctx->nodes, n, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	for (size_t i = 0; i < count; i++) {
		struct rfs_node *n = rfs_node_of(ctx, forgets[i].ino);
		if (n)
			rfs_node_forget(&ctx->nodes, n, forgets[i].nlookup);
	}
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct stat st;
	struct rfs_node *n = rfs_node_of(ctx, ino);
	int err = n ? node_stat(ctx, n, &st) : ESTALE;
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
	/* A mapped view's pin may change: then the view sets' lock first. */
	bool sets_locked = false, mapped;
	for (;;) {
		g_rw_lock_writer_lock(&ctx->state_lock);
		mapped = n->view && !n->view->is_virtual && n->view->pinned;
		if (!mapped || sets_locked)
			break;
		g_rw_lock_writer_unlock(&ctx->state_lock);
		g_mutex_lock(&ctx->viewsets_lock);
		sets_locked = true;
	}
	if (mapped) {
		rfs_pagemap_reset(n->view->map, pages, UINT64_MAX - pages);
		rfs_view_map_changed(n->view);
		rfs_view_update_pin(ctx, n->view);
	}
	if (n->viewers) {
		GHashTableIter it;
		gpointer key;
		g_hash_table_iter_init(&it, n->viewers);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			struct rfs_view *v = key;
			if (!invals)
				invals = rfs_invals_new();
			rfs_invals_add(ctx, invals, v->node, 0, 0);
		}
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	if (sets_locked)
		g_mutex_unlock(&ctx->viewsets_lock);
	if (mapped) /* its runs past the end are gone */
		rfs_control_note_change(ctx);
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
	rfs_control_note_change(ctx);
	return 0;
}

/* Resizes virtual view n to size bytes for the request's caller (truncate
 * or open(O_TRUNC) through the mount): the view's size is the mount's
 * state, so only root or the user who mounted may, and only with write
 * access to the backing file. */
static int virtual_resize_as_caller(struct rfs_ctx *ctx, fuse_req_t req,
				    struct rfs_node *n, off_t size)
{
	if (!rfs_fs_caller_owns_state(ctx, req))
		return EPERM;
	int err = may_write_node(n->view->backing);
	return err ? err : virtual_truncate(ctx, n, size);
}

/* Whether a chmod to mode that the caller may not do is the kernel
 * clearing set-id bits because the caller writes the file (which it does
 * for any writer, as a local file system does): mode only drops S_ISUID
 * or S_ISGID from target's (path), and the caller may write it.  The
 * thread acts as the caller. */
static bool may_clear_setid(struct rfs_node *target, const char *path,
			    mode_t mode)
{
	struct stat st;
	const mode_t setid = S_ISUID | S_ISGID;
	if (fstatat(target->fd, "", &st, AT_EMPTY_PATH) < 0 ||
	    !S_ISREG(st.st_mode))
		return false;
	mode_t cur = st.st_mode & 07777;
	mode &= 07777; /* the kernel sends the file type too */
	if ((mode & ~setid) != (cur & ~setid) || (mode & ~cur) || mode == cur)
		return false;
	return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

/* Applies setattr's changes to a node. */
static int do_setattr(struct rfs_ctx *ctx, fuse_req_t req, struct rfs_node *n,
		      const struct stat *attr, int valid,
		      struct fuse_file_info *fi, GArray **invals)
{
	char path[64];
	struct rfs_node *target = n;
	if (rfs_kind_is_own_file(n->kind))
		return EPERM;
	if (ctx->opts.read_only)
		return EROFS;
	if (n->kind == RFS_NODE_VIRTUAL) {
		target = n->view->backing; /* mode, owner, times: the file's */
		fi = NULL;
	}
	bool symlink = S_ISLNK(target->type);
	rfs_proc_path(path, target->fd);
	if (valid & FUSE_SET_ATTR_MODE) {
		if (symlink)
			return EPERM;
		if ((fi ? fchmod((int)fi->fh, attr->st_mode)
			: chmod(path, attr->st_mode)) < 0) {
			int err = errno;
			if (err != EPERM ||
			    !may_clear_setid(target, path, attr->st_mode))
				return err;
			err = rfs_self_chmod(&ctx->self, req,
					     fi ? (int)fi->fh : -1, path,
					     attr->st_mode);
			if (err)
				return err;
		}
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
			int err = virtual_resize_as_caller(ctx, req, n,
							   attr->st_size);
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

static void setattr_as_caller(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			      int valid, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	GArray *invals = NULL;
	/* The pusher tells the kernel a view's size: the answer is all it
	 * wants. */
	int err = rfs_pusher_sent(ctx, req)
		      ? 0
		      : do_setattr(ctx, req, n, attr, valid, fi, &invals);
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
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	char buf[PATH_MAX + 1];
	ssize_t len = !n	   ? (errno = ESTALE, -1)
		      : n->fd >= 0 ? readlinkat(n->fd, "", buf, sizeof(buf) - 1)
				   : (errno = EINVAL, -1);
	if (len < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	buf[len] = '\0';
	fuse_reply_readlink(req, buf);
}

/* Whether an open with these flags may write. */
static bool open_writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/* Frees a .control handle (a GDestroyNotify for the handle set). */
static void control_handle_free(gpointer h)
{
	rfs_control_release(h);
}

/* Frees a .stats handle: its snapshot (a GDestroyNotify). */
static void stats_handle_free(gpointer text)
{
	g_string_free(text, TRUE);
}

/* Opens .stats for reading: a snapshot of the counters. */
static void open_stats(fuse_req_t req, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	if (fuse_req_ctx(req)->uid != ctx->owner) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	GString *text = rfs_stats_dump(ctx);
	fi->fh = rfs_handles_add(ctx->handles, text, stats_handle_free);
	fi->direct_io = 1;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		rfs_handles_release(ctx->handles, fi->fh);
}

/* Opens the control file. */
static void open_control(fuse_req_t req, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	const struct fuse_ctx *c = fuse_req_ctx(req);
	if (c->uid != ctx->owner) {
		fuse_reply_err(req, EACCES);
		return;
	}
	bool readable = (fi->flags & O_ACCMODE) != O_WRONLY;
	struct rfs_control_handle *h = rfs_control_open(ctx, readable);
	fi->fh = rfs_handles_add(ctx->handles, h, control_handle_free);
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fi->keep_cache = 0;
#ifdef HAVE_STRUCT_FUSE_FILE_INFO_PARALLEL_DIRECT_WRITES
	/* Writers on other descriptors need not wait for each other in the
	 * kernel: their transactions can share one sync of -o state. */
	fi->parallel_direct_writes = 1;
#endif
	if (fuse_reply_open(req, fi) == -ENOENT)
		rfs_handles_release(ctx->handles, fi->fh);
}

/* An open or create whose reply waits until other views of a file it
 * truncated dropped their pages. */
struct open_reply {
	struct rfs_ctx *ctx;
	fuse_req_t req;
	struct fuse_file_info fi;
	bool create;
	struct fuse_entry_param e; /* create: the entry (one lookup) */
};

/* Replies an open or create (now, or as the notifier's callback). */
static void open_done(void *data)
{
	struct open_reply *r = data;
	struct rfs_ctx *ctx = r->ctx;
	int res = r->create ? fuse_reply_create(r->req, &r->e, &r->fi)
			    : fuse_reply_open(r->req, &r->fi);
	if (res == -ENOENT) { /* the caller was interrupted: undo */
		close((int)r->fi.fh);
		if (r->create)
			rfs_node_forget(&ctx->nodes, rfs_node_of(ctx, r->e.ino),
					1);
	}
	g_free(r);
}

/* Replies to an open of file fd (fh of fi), after invals when some. */
static void reply_opened(struct rfs_ctx *ctx, fuse_req_t req,
			 struct fuse_file_info *fi, int fd,
			 const struct fuse_entry_param *e, GArray *invals)
{
	struct open_reply *r = g_new0(struct open_reply, 1);
	r->ctx = ctx;
	r->req = req;
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	r->fi = *fi;
	if (e) {
		r->create = true;
		r->e = *e;
	}
	if (invals) /* other views drop what is past the new end first */
		rfs_notify_then(ctx, invals, open_done, r);
	else
		open_done(r);
}

static void open_as_caller(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	char path[64];
	if (n->kind == RFS_NODE_CONTROL) {
		open_control(req, fi);
		return;
	}
	if (n->kind == RFS_NODE_STATS) {
		open_stats(req, fi);
		return;
	}
	if (ctx->opts.read_only && open_writes(fi->flags)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	struct rfs_node *b = rfs_view_backing(n);
	if (node_unlinked(b)) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	bool trunc = (fi->flags & O_TRUNC) && !S_ISDIR(n->type);
	int flags = backing_open_flags(fi->flags);
	if (trunc && n->kind == RFS_NODE_SOURCE)
		flags |= O_TRUNC; /* checked and done as for the caller */
	rfs_proc_path(path, b->fd);
	int fd = open(path, flags);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	GArray *invals = NULL;
	if (trunc && n->kind == RFS_NODE_VIRTUAL) {
		int err = virtual_resize_as_caller(ctx, req, n, 0);
		if (err) {
			close(fd);
			fuse_reply_err(req, err);
			return;
		}
	} else if (trunc) {
		invals = view_truncated(ctx, n, 0);
	}
	rfs_watch_add(ctx, b);
	reply_opened(ctx, req, fi, fd, NULL, invals);
}

static void create_as_caller(fuse_req_t req, fuse_ino_t parent,
			     const char *name, mode_t mode,
			     struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	struct fuse_entry_param e;
	int err = rfs_fs_check_new_name(ctx, dir, name);
	int fd = -1;
	if (!err) {
		/* An existing file (no O_EXCL) is truncated as open does. */
		fd = openat(dir->fd, name,
			    backing_open_flags(fi->flags) | O_CREAT |
				O_NOFOLLOW | (fi->flags & (O_EXCL | O_TRUNC)),
			    mode);
		if (fd < 0)
			err = errno;
	}
	if (!err && (err = rfs_fs_lookup(ctx, dir, name, &e)))
		close(fd);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	struct rfs_node *n = rfs_node_of(ctx, e.ino);
	GArray *invals = NULL;
	if (fi->flags & O_TRUNC)
		invals = view_truncated(ctx, n, 0);
	rfs_watch_add(ctx, n);
	reply_opened(ctx, req, fi, fd, &e, invals);
}

bool rfs_req_resent(const struct rfs_ctx *ctx)
{
	return ctx->fuseio && (rfs_fuseio_request_unique() & RFS_UNIQUE_RESEND);
}

/* Checks a request's node and finds the handle of the daemon's own files:
 * 0, ESTALE for a node ID no live node has, EBADF for a handle number no
 * handle has (both handed out by a worker that died; supervise.h). */
static int node_and_handle(struct rfs_ctx *ctx, struct rfs_node *n,
			   const struct fuse_file_info *fi, void **h)
{
	if (!n)
		return ESTALE;
	if (!rfs_kind_is_own_file(n->kind) ||
	    (*h = rfs_handles_get(ctx->handles, fi->fh)))
		return 0;
	if (!rfs_handles_foreign(ctx->handles, fi->fh))
		return EBADF;
	/* Opened before the worker that handed it out died: made again,
	 * empty (a partial line, an open begin ... commit and error lines
	 * not read yet were that worker's). */
	if (n->kind == RFS_NODE_CONTROL)
		*h = rfs_handles_adopt(ctx->handles, fi->fh,
				       rfs_control_open(ctx, true),
				       control_handle_free);
	else
		*h = rfs_handles_adopt(ctx->handles, fi->fh,
				       rfs_stats_dump(ctx), stats_handle_free);
	return 0;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	void *h = NULL;
	int err = node_and_handle(ctx, n, fi, &h);
	if (err) {
		fuse_reply_err(req, err);
	} else if (n->kind == RFS_NODE_CONTROL) {
		rfs_control_read(ctx, req, h, size);
	} else if (n->kind == RFS_NODE_STATS) {
		/* Replied from a copy, as .control's reads are: once the
		 * kernel took the reply, the program may close the file and
		 * the release free the snapshot on another thread while this
		 * one is still returning from the reply. */
		const GString *text = h;
		size_t from = off < 0 ? text->len : MIN((size_t)off, text->len);
		size_t len = MIN(size, text->len - from);
		char *copy = g_memdup2(text->str + from, len);
		fuse_reply_buf(req, copy, len);
		g_free(copy);
	} else {
		rfs_io_read(ctx, req, n, (int)fi->fh, size, off);
	}
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
			 off_t off, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	void *h = NULL;
	int err = node_and_handle(ctx, n, fi, &h);
	if (err) {
		rfs_io_write_failed(req, ino, off, fuse_buf_size(in),
				    fi->writepage, err);
	} else if (n->kind == RFS_NODE_CONTROL) {
		size_t len;
		char *mem = rfs_buf_to_mem(in, &len);
		rfs_control_write(ctx, req, h, mem, len);
		g_free(mem);
	} else {
		rfs_io_write(ctx, req, n, (int)fi->fh, in, off, fi->writepage,
			     rfs_req_resent(ctx));
	}
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	void *h = NULL;
	int err = node_and_handle(ctx, n, fi, &h);
	if (err)
		fuse_reply_err(req, err);
	else if (n->kind == RFS_NODE_CONTROL)
		rfs_control_flush(ctx, req, h);
	else
		fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	/* A node a worker that died knew: a regular file's handle is a
	 * descriptor that outlived it in the table it shared (supervise.h). */
	if (n ? rfs_kind_is_own_file(n->kind) : (fi->fh & RFS_HANDLE_FLAG))
		rfs_handles_release(ctx->handles, fi->fh);
	else
		close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	if (!n || rfs_kind_is_own_file(n->kind)) {
		fuse_reply_err(req, n ? 0 : ESTALE);
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
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	bool identity;
	if (!n || ctx->opts.read_only) {
		fuse_reply_err(req, n ? EROFS : ESTALE);
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

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct statvfs sv;
	if (fstatvfs(ctx->nodes.root->fd, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

#define RFS_UNPAREN(...) __VA_ARGS__

/* Whether every node ID of a request names a live node. */
static bool nodes_live(struct rfs_ctx *ctx, const fuse_ino_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!rfs_node_of(ctx, ids[i]))
			return false;
	return true;
}

/* Defines op_NAME, which runs fn with the caller's identity (caller.h)
 * and refuses the request when that identity cannot be taken, or with
 * ESTALE when a node ID in ids (node IDs among the parameters) names no
 * live node (one a worker that died knew; supervise.h). */
#define RFS_AS_CALLER(NAME, fn, params, args, ids)                             \
	static void op_##NAME params                                           \
	{                                                                      \
		struct rfs_ctx *ctx_ = rfs_req_ctx(req);                       \
		struct rfs_ident id_;                                          \
		const fuse_ino_t ids_[] = {RFS_UNPAREN ids};                   \
		int err_ = nodes_live(ctx_, ids_, G_N_ELEMENTS(ids_))          \
			       ? rfs_caller_enter(&ctx_->self, req, &id_)      \
			       : ESTALE;                                       \
		if (err_) {                                                    \
			fuse_reply_err(req, err_);                             \
			return;                                                \
		}                                                              \
		fn args;                                                       \
		rfs_caller_leave(&ctx_->self, &id_);                           \
	}

/* Every operation that reaches SOURCE by name.  The others act on what
 * the daemon holds already: descriptors opened as a caller (read, write,
 * flush, release, fsync, fallocate), nodes (forget, getattr, readlink,
 * statfs). */
RFS_AS_CALLER(lookup, lookup_as_caller,
	      (fuse_req_t req, fuse_ino_t parent, const char *name),
	      (req, parent, name), (parent))
RFS_AS_CALLER(setattr, setattr_as_caller,
	      (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
	       struct fuse_file_info *fi),
	      (req, ino, attr, valid, fi), (ino))
RFS_AS_CALLER(open, open_as_caller,
	      (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	      (req, ino, fi), (ino))
RFS_AS_CALLER(create, create_as_caller,
	      (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       struct fuse_file_info *fi),
	      (req, parent, name, mode, fi), (parent))
RFS_AS_CALLER(mknod, rfs_op_mknod,
	      (fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	       dev_t rdev),
	      (req, parent, name, mode, rdev), (parent))
RFS_AS_CALLER(mkdir, rfs_op_mkdir,
	      (fuse_req_t req, fuse_ino_t parent, const char *name,
	       mode_t mode),
	      (req, parent, name, mode), (parent))
RFS_AS_CALLER(symlink, rfs_op_symlink,
	      (fuse_req_t req, const char *link, fuse_ino_t parent,
	       const char *name),
	      (req, link, parent, name), (parent))
RFS_AS_CALLER(link, rfs_op_link,
	      (fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
	       const char *newname),
	      (req, ino, newparent, newname), (ino, newparent))
RFS_AS_CALLER(unlink, rfs_op_unlink,
	      (fuse_req_t req, fuse_ino_t parent, const char *name),
	      (req, parent, name), (parent))
RFS_AS_CALLER(rmdir, rfs_op_rmdir,
	      (fuse_req_t req, fuse_ino_t parent, const char *name),
	      (req, parent, name), (parent))
RFS_AS_CALLER(rename, rfs_op_rename,
	      (fuse_req_t req, fuse_ino_t parent, const char *name,
	       fuse_ino_t newparent, const char *newname, unsigned int flags),
	      (req, parent, name, newparent, newname, flags),
	      (parent, newparent))
RFS_AS_CALLER(opendir, rfs_op_opendir,
	      (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi),
	      (req, ino, fi), (ino))
RFS_AS_CALLER(readdir, rfs_op_readdir,
	      (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi),
	      (req, ino, size, off, fi), (ino))
RFS_AS_CALLER(fsyncdir, rfs_op_fsyncdir,
	      (fuse_req_t req, fuse_ino_t ino, int datasync,
	       struct fuse_file_info *fi),
	      (req, ino, datasync, fi), (ino))

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
    .releasedir = rfs_op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
};
