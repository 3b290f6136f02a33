/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dirs.c - listing directories through the mount (see fsops.h): SOURCE's
 * entries with the virtual views of the directory, read as the caller. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "fsops.h"
#include "handles.h"
#include "views.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

/* Frees a directory handle. */
static void dir_handle_free(gpointer p)
{
	struct dir_handle *h = p;
	g_array_unref(h->entries);
	g_free(h);
}

/* Frees a directory entry's name. */
static void dir_entry_clear(gpointer p)
{
	g_free(((struct dir_entry *)p)->name);
}

/* Reads dir's entries: SOURCE's (a file called like the control file
 * hidden at the root), then virtual views.  The control file is reachable
 * by name only: copies of the mount (cp -a, tar, rsync) leave it out. */
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
		if ((root && rfs_special_name(de->d_name)) ||
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
	closedir(d);
	return 0;
}

/* A new handle with no entries loaded. */
static struct dir_handle *dir_handle_new(void)
{
	struct dir_handle *h = g_new0(struct dir_handle, 1);
	h->entries = g_array_new(FALSE, FALSE, sizeof(struct dir_entry));
	g_array_set_clear_func(h->entries, dir_entry_clear);
	return h;
}

void rfs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	if (n->kind != RFS_NODE_SOURCE) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	struct dir_handle *h = dir_handle_new();
	int err = dir_load(ctx, n, h);
	if (err) {
		dir_handle_free(h);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = rfs_handles_add(ctx->handles, h, dir_handle_free);
	if (fuse_reply_open(req, fi) == -ENOENT)
		rfs_handles_release(ctx->handles, fi->fh);
}

void rfs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct dir_handle *h = rfs_handles_get(ctx->handles, fi->fh);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	if (!h && rfs_handles_foreign(ctx->handles, fi->fh)) {
		/* Opened before the worker that handed it out died: read
		 * again (entries made or removed since may show or not). */
		struct dir_handle *fresh = dir_handle_new();
		int err = dir_load(ctx, n, fresh);
		if (err) {
			dir_handle_free(fresh);
			fuse_reply_err(req, err);
			return;
		}
		h = rfs_handles_adopt(ctx->handles, fi->fh, fresh,
				      dir_handle_free);
	}
	if (!h) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (off == 0 && h->entries->len) {
		/* rewinddir: read again */
		int err = dir_load(ctx, n, h);
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

void rfs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	rfs_handles_release(rfs_req_ctx(req)->handles, fi->fh);
	fuse_reply_err(req, 0);
}

void rfs_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct rfs_ctx *ctx = rfs_req_ctx(req);
	struct rfs_node *n = rfs_node_of(ctx, ino);
	int fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int res = fd < 0 ? -1 : (datasync ? fdatasync(fd) : fsync(fd));
	int err = res < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	fuse_reply_err(req, err);
}
