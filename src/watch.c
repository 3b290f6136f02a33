/* SPDX-License-Identifier: GPL-2.0-or-later */
/* watch.c - -o watch (see watch.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "watch.h"
#include "notify.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

struct rfs_watch {
	struct rfs_ctx *ctx;
	int fd; /* fanotify or inotify descriptor */
	bool fanotify;
	bool fid; /* fd reports file handles (and so truncation) */
	/* With fid: a descriptor-reporting fanotify group for the files whose
	 * file system cannot report handles (no fsid, no export), or -1. */
	int fd_plain;
	int stop_pipe[2]; /* written to stop the thread */
	GThread *thread;
	GMutex lock;	 /* protects wds and handles */
	GHashTable *wds; /* inotify: watch descriptor -> struct file_key * */
	/* fanotify with file handles: handle (GBytes: type, then bytes) ->
	 * struct file_key * */
	GHashTable *handles;
};

/* Which file an inotify watch descriptor watches. */
struct file_key {
	dev_t dev;
	ino_t ino;
};

/* Invalidates every cached page of every view of the file (dev, ino). */
static void invalidate_file(struct rfs_ctx *ctx, dev_t dev, ino_t ino)
{
	struct rfs_node *n = rfs_nodes_find(&ctx->nodes, dev, ino);
	if (!n)
		return;
	GArray *invals = rfs_invals_new();
	rfs_invals_add(ctx, invals, n, 0, 0);
	rfs_invals_add(ctx, invals, n, -1, 0); /* size may have changed */
	g_rw_lock_reader_lock(&ctx->state_lock);
	if (n->viewers) {
		GHashTableIter it;
		gpointer key;
		g_hash_table_iter_init(&it, n->viewers);
		while (g_hash_table_iter_next(&it, &key, NULL))
			rfs_invals_add(ctx, invals,
				       ((struct rfs_view *)key)->node, 0, 0);
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	rfs_node_unref(&ctx->nodes, n);
	rfs_notify_invals(ctx, invals);
}

/* After the kernel dropped events (its queue overflowed, as it may when
 * the daemon is slow and a program writes much): every regular file of
 * SOURCE the daemon holds may have changed, so all their views are
 * invalidated. */
static void invalidate_everything(struct rfs_ctx *ctx)
{
	GArray *keys = g_array_new(FALSE, FALSE, sizeof(struct file_key));
	GHashTableIter it;
	gpointer key;
	g_mutex_lock(&ctx->nodes.lock);
	g_hash_table_iter_init(&it, ctx->nodes.table);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct rfs_node *n = key;
		if (S_ISREG(n->type)) {
			struct file_key k = {n->dev, n->ino};
			g_array_append_val(keys, k);
		}
	}
	g_mutex_unlock(&ctx->nodes.lock);
	g_warning("watch: the kernel dropped events of changes outside the "
		  "mount; invalidating the views of all %u files",
		  keys->len);
	for (guint i = 0; i < keys->len; i++) {
		struct file_key *k = &g_array_index(keys, struct file_key, i);
		invalidate_file(ctx, k->dev, k->ino);
	}
	g_array_unref(keys);
}

/* The key of a file handle in the handles table. */
static GBytes *handle_key(const struct file_handle *fh)
{
	GByteArray *a = g_byte_array_sized_new(4 + fh->handle_bytes);
	g_byte_array_append(a, (const guint8 *)&fh->handle_type, 4);
	g_byte_array_append(a, fh->f_handle, fh->handle_bytes);
	return g_byte_array_free_to_bytes(a);
}

/* The file an event with a file handle is about, if it is watched.  The
 * event is the bytes ev[0..ev_len), metadata_len of them its header:
 * records follow one another without alignment, so each part is copied
 * out before it is read. */
static bool fid_event_file(struct rfs_watch *w, const char *ev, size_t ev_len,
			   size_t metadata_len, struct file_key *key)
{
	size_t off = metadata_len;
	while (off + sizeof(struct fanotify_event_info_header) <= ev_len) {
		struct fanotify_event_info_header h;
		memcpy(&h, ev + off, sizeof(h));
		if (h.len < sizeof(h) || off + h.len > ev_len)
			break;
		size_t fid_head = sizeof(struct fanotify_event_info_fid) +
				  sizeof(struct file_handle);
		if (h.info_type == FAN_EVENT_INFO_TYPE_FID &&
		    h.len >= fid_head) {
			struct file_handle fh;
			size_t at =
			    off + sizeof(struct fanotify_event_info_fid);
			memcpy(&fh, ev + at, sizeof(fh));
			if (fh.handle_bytes > h.len - fid_head)
				break;
			/* The handle with its bytes, aligned. */
			struct file_handle *full =
			    g_malloc(sizeof(fh) + fh.handle_bytes);
			memcpy(full, ev + at, sizeof(fh) + fh.handle_bytes);
			GBytes *k = handle_key(full);
			g_free(full);
			g_mutex_lock(&w->lock);
			struct file_key *fk =
			    g_hash_table_lookup(w->handles, k);
			if (fk)
				*key = *fk;
			g_mutex_unlock(&w->lock);
			g_bytes_unref(k);
			return fk != NULL;
		}
		off += h.len;
	}
	return false;
}

/* Handles a buffer of fanotify events (with file handles if fid). */
static void fanotify_events(struct rfs_watch *w, const char *buf, ssize_t len,
			    bool fid)
{
	pid_t self = getpid();
	size_t off = 0, total = len > 0 ? (size_t)len : 0;
	while (off + sizeof(struct fanotify_event_metadata) <= total) {
		struct fanotify_event_metadata
		    ev; /* copied: may be unaligned */
		memcpy(&ev, buf + off, sizeof(ev));
		if (ev.event_len < sizeof(ev) || ev.event_len > total - off ||
		    ev.metadata_len > ev.event_len)
			break;
		struct stat st;
		struct file_key key;
		if (ev.mask & FAN_Q_OVERFLOW) {
			invalidate_everything(w->ctx);
			off += ev.event_len;
			continue;
		}
		if (fid) {
			if (ev.pid != self &&
			    fid_event_file(w, buf + off, ev.event_len,
					   ev.metadata_len, &key))
				invalidate_file(w->ctx, key.dev, key.ino);
		} else if (ev.fd >= 0) {
			if (ev.pid != self && fstat(ev.fd, &st) == 0)
				invalidate_file(w->ctx, st.st_dev, st.st_ino);
			close(ev.fd);
		}
		off += ev.event_len;
	}
}

/* Handles a buffer of inotify events. */
static void inotify_events(struct rfs_watch *w, const char *buf, ssize_t len)
{
	for (ssize_t off = 0; off < len;) {
		const struct inotify_event *ev = (const void *)(buf + off);
		struct file_key key = {0};
		if (ev->mask & IN_Q_OVERFLOW) {
			invalidate_everything(w->ctx);
			off += (ssize_t)sizeof(*ev) + ev->len;
			continue;
		}
		bool found = false;
		g_mutex_lock(&w->lock);
		struct file_key *k =
		    g_hash_table_lookup(w->wds, GINT_TO_POINTER(ev->wd));
		if (k) {
			key = *k;
			found = true;
		}
		if (ev->mask & IN_IGNORED)
			g_hash_table_remove(w->wds, GINT_TO_POINTER(ev->wd));
		g_mutex_unlock(&w->lock);
		if (found && (ev->mask & IN_MODIFY))
			invalidate_file(w->ctx, key.dev, key.ino);
		off += (ssize_t)sizeof(*ev) + ev->len;
	}
}

/* The watching thread: reads events until told to stop. */
static gpointer watch_thread(gpointer data)
{
	struct rfs_watch *w = data;
	char buf[16384] __attribute__((aligned(8)));
	for (;;) {
		struct pollfd p[3] = {{.fd = w->stop_pipe[0], .events = POLLIN},
				      {.fd = w->fd, .events = POLLIN},
				      {.fd = w->fd_plain, .events = POLLIN}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		for (int i = 1; i < 3; i++) {
			if (!p[i].revents)
				continue;
			ssize_t len = read(p[i].fd, buf, sizeof(buf));
			if (len <= 0)
				continue;
			if (!w->fanotify)
				inotify_events(w, buf, len);
			else
				fanotify_events(w, buf, len, i == 1 && w->fid);
		}
	}
	return NULL;
}

struct rfs_watch *rfs_watch_start(struct rfs_ctx *ctx, char **err)
{
	struct rfs_watch *w = g_new0(struct rfs_watch, 1);
	w->ctx = ctx;
	/* With file handles, fanotify also reports truncation (an event
	 * without an open file, which a descriptor-reporting group drops). */
	w->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
				  FAN_REPORT_FID,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	w->fid = w->fd >= 0;
	w->fd_plain =
	    fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
			  O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (w->fd < 0) {
		w->fd = w->fd_plain;
		w->fd_plain = -1;
	}
	w->fanotify = w->fd >= 0;
	if (w->fd < 0) {
		w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (w->fd < 0) {
			*err = g_strdup_printf("watch: neither fanotify nor "
					       "inotify: %s",
					       g_strerror(errno));
			g_free(w);
			return NULL;
		}
		g_message("watch: fanotify is not permitted; with inotify, "
			  "writes through the mount also invalidate");
	}
	if (pipe2(w->stop_pipe, O_CLOEXEC) < 0) {
		*err = g_strdup_printf("watch: %s", g_strerror(errno));
		close(w->fd);
		g_free(w);
		return NULL;
	}
	g_mutex_init(&w->lock);
	w->wds = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	w->handles = g_hash_table_new_full(
	    g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, g_free);
	w->thread = g_thread_new("remapfs-watch", watch_thread, w);
	return w;
}

void rfs_watch_stop(struct rfs_watch *w)
{
	if (!w)
		return;
	if (write(w->stop_pipe[1], "", 1) < 0)
		g_warning("watch: cannot stop: %s", g_strerror(errno));
	g_thread_join(w->thread);
	close(w->stop_pipe[0]);
	close(w->stop_pipe[1]);
	close(w->fd);
	if (w->fd_plain >= 0)
		close(w->fd_plain);
	g_hash_table_unref(w->wds);
	g_hash_table_unref(w->handles);
	g_mutex_clear(&w->lock);
	g_free(w);
}

/* Records the file handle of node's file (at path) for its events;
 * returns whether it has one. */
static bool watch_handle_add(struct rfs_watch *w, struct rfs_node *node,
			     const char *path)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int mount_id;
	u.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, &u.fh, &mount_id,
			      AT_SYMLINK_FOLLOW) < 0) {
		g_debug("watch: %s: no file handle: %s", path,
			g_strerror(errno));
		return false;
	}
	struct file_key *k = g_new(struct file_key, 1);
	k->dev = node->dev;
	k->ino = node->ino;
	g_mutex_lock(&w->lock);
	g_hash_table_insert(w->handles, handle_key(&u.fh), k);
	g_mutex_unlock(&w->lock);
	return true;
}

void rfs_watch_add(struct rfs_ctx *ctx, struct rfs_node *node)
{
	struct rfs_watch *w = ctx->watch;
	char path[64];
	if (!w || node->kind != RFS_NODE_SOURCE)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", node->fd);
	if (w->fanotify) {
		/* A file whose file system reports no handles is watched by
		 * the descriptor-reporting group (truncation not seen). */
		if (w->fid && watch_handle_add(w, node, path) &&
		    fanotify_mark(w->fd, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD,
				  path) == 0)
			return;
		int fd = w->fid ? w->fd_plain : w->fd;
		if (fd < 0 || fanotify_mark(fd, FAN_MARK_ADD, FAN_MODIFY,
					    AT_FDCWD, path) < 0)
			g_debug("watch: %s: %s", path, g_strerror(errno));
		return;
	}
	int wd = inotify_add_watch(w->fd, path, IN_MODIFY);
	if (wd < 0) {
		g_debug("watch: %s: %s", path, g_strerror(errno));
		return;
	}
	struct file_key *k = g_new(struct file_key, 1);
	k->dev = node->dev;
	k->ino = node->ino;
	g_mutex_lock(&w->lock);
	g_hash_table_insert(w->wds, GINT_TO_POINTER(wd), k);
	g_mutex_unlock(&w->lock);
}
