/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tview.c - resolving a transaction's view paths (see tview.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "tview.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Walks the directories of a normalized path (all components but the
 * last) from the root.  Returns 0 with *dir (a daemon ref) and *last, or
 * an errno. */
int rfs_walk_parent(struct rfs_ctx *ctx, const char *path,
		    struct rfs_node **dir, const char **last)
{
	struct rfs_node *cur = ctx->nodes.root;
	const char *p = path, *slash;
	char comp[NAME_MAX + 1];

	rfs_node_ref(&ctx->nodes, cur);
	while ((slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		struct stat st;
		if (n > NAME_MAX) {
			rfs_node_unref(&ctx->nodes, cur);
			return ENAMETOOLONG;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		int fd = openat(cur->fd, comp,
				O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			int err = errno;
			if (fd >= 0)
				close(fd);
			rfs_node_unref(&ctx->nodes, cur);
			return err;
		}
		struct rfs_node *next =
		    rfs_nodes_get(&ctx->nodes, fd, &st, false);
		rfs_dir_note_parent(ctx, next, cur, comp);
		rfs_node_unref(&ctx->nodes, cur);
		cur = next;
		p = slash + 1;
	}
	*dir = cur;
	*last = p;
	return 0;
}

/* Resolves a view path to what it names now: a virtual view, a SOURCE
 * regular file (a mirrored view), something else, or nothing. */
struct tview *rfs_tview_resolve(struct rfs_ctx *ctx, const char *path)
{
	struct tview *tv = g_new0(struct tview, 1);
	struct stat st;
	tv->path = g_strdup(path);
	if (rfs_special_name(path)) {
		tv->kind = TV_CONTROL;
		goto out;
	}
	tv->dir_err = rfs_walk_parent(ctx, tv->path, &tv->dir, &tv->name);
	if (tv->dir_err) {
		tv->kind = TV_NODIR;
		tv->name = strrchr(tv->path, '/') + 1;
		goto out;
	}
	g_rw_lock_reader_lock(&ctx->state_lock);
	struct rfs_view *v =
	    tv->dir->virtuals ? g_hash_table_lookup(tv->dir->virtuals, tv->name)
			      : NULL;
	if (v) {
		tv->kind = TV_VIEW;
		tv->is_virtual = true;
		tv->node = v->node;
		tv->pages = v->pages;
		rfs_node_ref(&ctx->nodes, tv->node);
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	if (v)
		goto out;
	if (fstatat(tv->dir->fd, tv->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		tv->kind = TV_NONE;
	} else if (!S_ISREG(st.st_mode)) {
		tv->kind = TV_OTHER;
	} else {
		int fd = openat(tv->dir->fd, tv->name,
				O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			if (fd >= 0)
				close(fd);
			tv->kind = TV_NONE;
		} else {
			tv->kind = TV_VIEW;
			tv->node = rfs_nodes_get(&ctx->nodes, fd, &st, false);
			tv->pages = rfs_pages_of(ctx, st.st_size);
		}
	}
out:
	tv->sim_kind = tv->kind;
	tv->sim_virtual = tv->is_virtual;
	tv->sim_pages = tv->pages;
	return tv;
}

/* Frees a tview and drops its references. */
void rfs_tview_free(struct rfs_ctx *ctx, struct tview *tv)
{
	if (tv->dir)
		rfs_node_unref(&ctx->nodes, tv->dir);
	if (tv->node)
		rfs_node_unref(&ctx->nodes, tv->node);
	g_free(tv->path);
	g_free(tv);
}
