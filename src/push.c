/* SPDX-License-Identifier: GPL-2.0-or-later */
/* push.c - the pusher thread (see push.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "push.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define RFS_FUSE_SUPER_MAGIC 0x65735546

struct push_job {
	struct rfs_push push; /* entries NULL: stop */
	void (*done)(void *data);
	void *data;
};

struct rfs_pusher {
	struct rfs_ctx *ctx;
	char *mountpoint;
	GAsyncQueue *queue; /* struct push_job *; has its own lock */
	GThread *thread;
	gint tid; /* the thread's id, as requests carry it (atomic) */
};

/* Opens the mount's root for one job (held longer, it would keep the
 * mount busy: no fusermount3 -u, no end after a detach).  Returns the
 * descriptor, or -1 (logged) if the mount is not reachable. */
static int open_root(struct rfs_pusher *p)
{
	int fd = open(p->mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct statfs sf;
	struct stat st;
	if (fd < 0 || fstatfs(fd, &sf) < 0 ||
	    sf.f_type != RFS_FUSE_SUPER_MAGIC ||
	    fstatat(fd, RFS_CONTROL_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_ino != p->ctx->control->ino) {
		g_message("push: %s is not this mount (%s): sizes reach the "
			  "kernel at its next attribute fetch",
			  p->mountpoint,
			  fd < 0 ? g_strerror(errno) : "another file system");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A path from the root for regular file node of SOURCE: the name a
 * transaction named its view by, else the backing path of a virtual view
 * over it (a file without either changes size only through itself, which
 * the kernel sees), or NULL.  state_lock held. */
static char *source_path_locked(struct rfs_node *node)
{
	if (node->view && node->view->parent)
		return rfs_view_path(node->view);
	GHashTableIter it;
	gpointer key;
	if (!node->viewers)
		return NULL;
	g_hash_table_iter_init(&it, node->viewers);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		const struct rfs_view *v = key;
		if (v->backing_path)
			return g_strdup(v->backing_path);
	}
	return NULL;
}

/* Truncates view node (virtual, or a regular file of SOURCE) to its size
 * through the mount (root_fd,
 * or -1 to open it now), so that the kernel takes the size from the
 * setattr's answer. */
static void push_one(struct rfs_pusher *p, int *root_fd, struct rfs_node *node)
{
	struct rfs_ctx *ctx = p->ctx;
	if (!rfs_node_known(&ctx->nodes, node))
		return; /* no inode: the next lookup brings the size */
	char *path = NULL;
	off_t size = 0;
	struct stat st;
	bool source = node->kind == RFS_NODE_SOURCE && S_ISREG(node->type);
	g_rw_lock_reader_lock(&ctx->state_lock);
	struct rfs_view *v = node->view;
	if (node->kind == RFS_NODE_VIRTUAL) {
		path = v && !v->removed ? rfs_view_path(v) : NULL;
		size = v ? (off_t)(v->pages << ctx->page_shift) : 0;
	} else if (source) {
		path = source_path_locked(node);
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	if (source && path)
		size = fstat(node->fd, &st) == 0 ? st.st_size : -1;
	if (size < 0) {
		g_free(path);
		return;
	}
	if (path && *root_fd < 0)
		*root_fd = open_root(p);
	if (!path || *root_fd < 0) {
		g_free(path);
		return;
	}
	int fd = openat(*root_fd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char proc[64];
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_ino != node->ino) {
		g_debug("push: %s: %s", path,
			fd < 0 ? g_strerror(errno) : "another file now");
	} else {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (truncate(proc, size) < 0)
			g_debug("push: %s: %s", path, g_strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	g_free(path);
}

/* The pusher thread: runs jobs in order until the stop job. */
static gpointer pusher_thread(gpointer data)
{
	struct rfs_pusher *p = data;
	g_atomic_int_set(&p->tid, (gint)gettid());
	for (;;) {
		struct push_job *j = g_async_queue_pop(p->queue);
		if (!j->push.entries) {
			g_free(j);
			break;
		}
		rfs_push_entries_now(p->ctx, &j->push);
		int root_fd = -1;
		GPtrArray *nodes = j->push.resized;
		for (guint i = 0; i < nodes->len; i++)
			push_one(p, &root_fd, nodes->pdata[i]);
		if (root_fd >= 0)
			close(root_fd);
		rfs_push_clear(p->ctx, &j->push);
		if (j->done)
			j->done(j->data);
		g_free(j);
	}
	return NULL;
}

struct rfs_pusher *rfs_pusher_start(struct rfs_ctx *ctx, const char *mountpoint)
{
	struct rfs_pusher *p = g_new0(struct rfs_pusher, 1);
	p->ctx = ctx;
	p->mountpoint = g_strdup(mountpoint);
	p->tid = -1;
	p->queue = g_async_queue_new();
	p->thread = g_thread_new("remapfs-push", pusher_thread, p);
	return p;
}

void rfs_pusher_stop(struct rfs_pusher *p)
{
	if (!p)
		return;
	g_async_queue_push(p->queue, g_new0(struct push_job, 1));
	g_thread_join(p->thread);
	g_async_queue_unref(p->queue);
	g_free(p->mountpoint);
	g_free(p);
}

bool rfs_pusher_sent(struct rfs_ctx *ctx, fuse_req_t req)
{
	struct rfs_pusher *p = ctx->pusher;
	if (!p)
		return false;
	/* Requests carry the id of the thread that made them. */
	return fuse_req_ctx(req)->pid == (pid_t)g_atomic_int_get(&p->tid);
}

void rfs_push_init(struct rfs_push *push)
{
	push->entries = g_array_new(FALSE, FALSE, sizeof(struct rfs_entry));
	push->resized = g_ptr_array_new();
}

void rfs_push_clear(struct rfs_ctx *ctx, struct rfs_push *push)
{
	for (guint i = 0; push->entries && i < push->entries->len; i++) {
		struct rfs_entry *e =
		    &g_array_index(push->entries, struct rfs_entry, i);
		rfs_node_unref(&ctx->nodes, e->dir);
		g_free(e->name);
	}
	for (guint i = 0; push->resized && i < push->resized->len; i++)
		rfs_node_unref(&ctx->nodes, push->resized->pdata[i]);
	if (push->entries)
		g_array_unref(push->entries);
	if (push->resized)
		g_ptr_array_unref(push->resized);
	push->entries = NULL;
	push->resized = NULL;
}

void rfs_push_entry(struct rfs_ctx *ctx, struct rfs_push *push,
		    struct rfs_node *dir, const char *name)
{
	struct rfs_entry e = {.dir = dir, .name = g_strdup(name)};
	rfs_node_ref(&ctx->nodes, dir);
	g_array_append_val(push->entries, e);
}

void rfs_push_entries_now(struct rfs_ctx *ctx, struct rfs_push *push)
{
	for (guint i = 0; i < push->entries->len; i++) {
		struct rfs_entry *e =
		    &g_array_index(push->entries, struct rfs_entry, i);
		if (ctx->se && (e->dir == ctx->nodes.root ||
				rfs_node_known(&ctx->nodes, e->dir)))
			fuse_lowlevel_notify_inval_entry(
			    ctx->se, rfs_ino_of(ctx, e->dir), e->name,
			    strlen(e->name));
		rfs_node_unref(&ctx->nodes, e->dir);
		g_free(e->name);
	}
	g_array_set_size(push->entries, 0);
}

void rfs_push_send(struct rfs_ctx *ctx, struct rfs_push *push,
		   void (*done)(void *data), void *data)
{
	if (!ctx->pusher || (!push->entries->len && !push->resized->len)) {
		rfs_push_entries_now(ctx, push);
		rfs_push_clear(ctx, push);
		if (done)
			done(data);
		return;
	}
	struct push_job *j = g_new0(struct push_job, 1);
	j->push = *push;
	push->entries = NULL;
	push->resized = NULL;
	j->done = done;
	j->data = data;
	g_async_queue_push(ctx->pusher->queue, j);
}
