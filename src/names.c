/* SPDX-License-Identifier: GPL-2.0-or-later */
/* names.c - making, linking, removing and renaming entries through the
 * mount (see fsops.h).  Runs with the caller's identity: the kernel checks
 * SOURCE's permissions as for the caller itself.  Virtual views are the
 * mount's state: only root or the user who mounted may unlink or rename
 * them, with write access to the directories involved. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "fsops.h"
#include "control.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Replies to mknod/mkdir/symlink/link after the entry was made. */
static void reply_new_entry(fuse_req_t req, struct rfs_node *dir,
			    const char *name)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct fuse_entry_param e;
	int err = rfs_fs_lookup(ctx, dir, name, &e);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

/* What make_entry makes. */
enum new_kind { NEW_NODE, NEW_DIR, NEW_SYMLINK };

/* Makes name in parent as the caller (mknod, mkdir or symlink), replies. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		       enum new_kind kind, mode_t mode, dev_t rdev,
		       const char *link)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	int err = rfs_fs_check_new_name(ctx, dir, name);
	if (!err) {
		int res;
		if (kind == NEW_NODE)
			res = mknodat(dir->fd, name, mode, rdev);
		else if (kind == NEW_DIR)
			res = mkdirat(dir->fd, name, mode);
		else
			res = symlinkat(link, dir->fd, name);
		if (res < 0)
			err = errno;
	}
	/* Sent again: the worker that died made it, if its type is right. */
	struct stat st;
	static const mode_t type_of[] = {0, S_IFDIR, S_IFLNK};
	if (err == EEXIST && rfs_req_resent(ctx) && kind != NEW_NODE &&
	    fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (st.st_mode & S_IFMT) == type_of[kind])
		err = 0;
	if (err)
		fuse_reply_err(req, err);
	else
		reply_new_entry(req, dir, name);
}

void rfs_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev)
{
	make_entry(req, parent, name, NEW_NODE, mode, rdev, NULL);
}

void rfs_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode)
{
	make_entry(req, parent, name, NEW_DIR, mode, 0, NULL);
}

void rfs_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name)
{
	make_entry(req, parent, name, NEW_SYMLINK, 0, 0, link);
}

void rfs_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	struct rfs_node *dir = rfs_node_of(ctx, newparent);
	char path[64];
	int err = rfs_fs_check_new_name(ctx, dir, newname);
	if (!err && n->kind != RFS_NODE_SOURCE)
		err = EPERM;
	if (!err) {
		rfs_proc_path(path, n->fd);
		if (linkat(AT_FDCWD, path, dir->fd, newname,
			   AT_SYMLINK_FOLLOW) < 0)
			err = errno;
	}
	if (err)
		fuse_reply_err(req, err);
	else
		reply_new_entry(req, dir, newname);
}

/* Whether the caller may unlink or rename a virtual view in dir: the
 * view is the mount's state (root or the user who mounted), and dir is
 * written as any directory is (write and search permission). */
static int may_change_virtual(struct rfs_ctx *ctx, fuse_req_t req,
			      struct rfs_node *dir)
{
	if (!rfs_fs_caller_owns_state(ctx, req))
		return EPERM;
	if (faccessat(dir->fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		return errno;
	return 0;
}

/* After an unlink: a mirrored view whose file has no name left is no
 * longer part of the state (open files keep their map until closed). */
static void unpin_unlinked(struct rfs_ctx *ctx, struct rfs_node *n)
{
	struct stat st;
	if (fstat(n->fd, &st) < 0 || st.st_nlink > 0)
		return;
	bool unref = false;
	g_rw_lock_reader_lock(&ctx->state_lock);
	bool pinned = n->view && n->view->pinned;
	g_rw_lock_reader_unlock(&ctx->state_lock);
	if (!pinned) /* a pin comes only from .control, by the file's name */
		return;
	g_mutex_lock(&ctx->viewsets_lock);
	g_rw_lock_writer_lock(&ctx->state_lock);
	if (n->view && n->view->pinned) {
		n->view->pinned = false;
		g_hash_table_remove(ctx->views, n->view);
		ctx->viewsets_gen++;
		unref = true;
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	g_mutex_unlock(&ctx->viewsets_lock);
	if (unref) {
		rfs_node_unref(&ctx->nodes, n);
		rfs_control_note_change(ctx);
	}
}

void rfs_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	struct stat st;
	if (ctx->opts.read_only) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (dir == ctx->nodes.root && rfs_special_name(name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	bool is_virtual = rfs_fs_name_taken(ctx, dir, name);
	if (is_virtual) {
		int err = may_change_virtual(ctx, req, dir);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
	}
	struct rfs_node *vnode = NULL;
	if (is_virtual) { /* (else a view made meanwhile comes after) */
		g_mutex_lock(&ctx->viewsets_lock);
		g_rw_lock_writer_lock(&ctx->state_lock);
		struct rfs_view *v =
		    dir->virtuals ? g_hash_table_lookup(dir->virtuals, name)
				  : NULL;
		if (v) {
			vnode = v->node;
			rfs_view_unlist(ctx, v);
		}
		g_rw_lock_writer_unlock(&ctx->state_lock);
		g_mutex_unlock(&ctx->viewsets_lock);
	}
	if (vnode) {
		rfs_node_unref(&ctx->nodes, vnode); /* the namespace's ref */
		rfs_control_note_change(ctx);
		fuse_reply_err(req, 0);
		return;
	}
	if (fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    unlinkat(dir->fd, name, 0) < 0) {
		int err = errno;
		/* Sent again: the worker that died removed it. */
		fuse_reply_err(req,
			       err == ENOENT && rfs_req_resent(ctx) ? 0 : err);
		return;
	}
	struct rfs_node *n = rfs_nodes_find(&ctx->nodes, st.st_dev, st.st_ino);
	if (n) {
		unpin_unlinked(ctx, n);
		rfs_node_unref(&ctx->nodes, n);
	}
	fuse_reply_err(req, 0);
}

void rfs_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
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
	if (err == ENOENT && rfs_req_resent(ctx))
		err = 0; /* the worker that died removed it */
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
	if (rfs_fs_name_taken(ctx, newdir, newname) ||
	    fstatat(newdir->fd, newname, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return EEXIST;
	int err = ENOENT;
	g_mutex_lock(&ctx->viewsets_lock);
	g_rw_lock_writer_lock(&ctx->state_lock);
	struct rfs_view *v =
	    dir->virtuals ? g_hash_table_lookup(dir->virtuals, name) : NULL;
	if (v && !(newdir->virtuals &&
		   g_hash_table_contains(newdir->virtuals, newname))) {
		g_hash_table_remove(dir->virtuals, name);
		g_free(v->name);
		v->name = g_strdup(newname);
		rfs_node_record_name(&ctx->nodes, v->node, newdir->id, newname);
		if (newdir != dir) {
			rfs_node_ref(&ctx->nodes, newdir);
			rfs_node_unref(&ctx->nodes, v->parent);
			v->parent = newdir;
		}
		if (!newdir->virtuals)
			newdir->virtuals =
			    g_hash_table_new(g_str_hash, g_str_equal);
		g_hash_table_insert(newdir->virtuals, v->name, v);
		ctx->viewsets_gen++;
		err = 0;
	} else if (v) {
		err = EEXIST;
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	g_mutex_unlock(&ctx->viewsets_lock);
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
	if (n->viewers && g_hash_table_size(n->viewers)) {
		char *dpath = rfs_dir_path(newdir);
		char *path = *dpath ? g_strconcat(dpath, "/", newname, NULL)
				    : g_strdup(newname);
		GHashTableIter it;
		gpointer key;
		g_hash_table_iter_init(&it, n->viewers);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			struct rfs_view *v = key;
			g_free(v->backing_path);
			v->backing_path = g_strdup(path);
		}
		g_free(path);
		g_free(dpath);
	}
	/* A directory holds paths of the state only when there is one. */
	bool in_state = (n->view && n->view->pinned) ||
			(n->viewers && g_hash_table_size(n->viewers)) ||
			(S_ISDIR(st->st_mode) && g_hash_table_size(ctx->views));
	g_rw_lock_writer_unlock(&ctx->state_lock);
	rfs_node_unref(&ctx->nodes, n);
	if (in_state) /* paths in the state changed */
		rfs_control_note_change(ctx);
}

void rfs_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *dir = rfs_node_of(ctx, parent);
	struct rfs_node *newdir = rfs_node_of(ctx, newparent);
	struct stat st;
	int err = 0;

	if (ctx->opts.read_only)
		err = EROFS;
	else if ((dir == ctx->nodes.root && rfs_special_name(name)) ||
		 (newdir == ctx->nodes.root && rfs_special_name(newname)))
		err = EPERM;
	if (!err) {
		g_rw_lock_reader_lock(&ctx->state_lock);
		bool src_virtual =
		    dir->virtuals && g_hash_table_contains(dir->virtuals, name);
		g_rw_lock_reader_unlock(&ctx->state_lock);
		if (src_virtual) {
			err = may_change_virtual(ctx, req, dir);
			if (!err && newdir != dir)
				err = may_change_virtual(ctx, req, newdir);
			if (!err)
				err = rename_virtual(ctx, dir, name, newdir,
						     newname, flags);
			if (!err)
				rfs_control_note_change(ctx);
			fuse_reply_err(req, err);
			return;
		}
		/* Sent again: the worker that died renamed it (the source
		 * is gone, the target there). */
		if (rfs_req_resent(ctx) &&
		    fstatat(dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno == ENOENT &&
		    (rfs_fs_name_taken(ctx, newdir, newname) ||
		     fstatat(newdir->fd, newname, &st, AT_SYMLINK_NOFOLLOW) ==
			 0)) {
			fuse_reply_err(req, 0);
			return;
		}
		if (rfs_fs_name_taken(ctx, newdir, newname))
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
