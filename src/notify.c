/* notify.c - the notifier thread (see notify.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "notify.h"
#include "io.h"
#include "views.h"

#include <errno.h>
#include <unistd.h>

enum nf_kind { NF_INVALS, NF_WRITE, NF_CALL, NF_BARRIER, NF_STOP };

struct nf_job {
	enum nf_kind kind;
	fuse_req_t req;
	GArray *invals;
	/* NF_WRITE: the view bytes the write covers, whose pages the kernel
	 * keeps locked until the reply, and invalidations of them that other
	 * jobs left for after it (under the notifier's pending_lock). */
	struct rfs_node *node;
	off_t off, len;
	GArray *after;
	int fd;
	char *data;
	GArray *segs;
	void (*done)(void *arg); /* NF_CALL */
	void *arg;
};

struct rfs_notifier {
	struct rfs_ctx *ctx;
	GAsyncQueue *queue; /* struct nf_job *; has its own lock */
	GThread *thread;
	GMutex pending_lock; /* protects pending and every job's after */
	GPtrArray *pending;  /* NF_WRITE jobs queued and not yet replied */
};

GArray *rfs_invals_new(void)
{
	return g_array_new(FALSE, FALSE, sizeof(struct rfs_inval));
}

void rfs_invals_add(struct rfs_ctx *ctx, GArray *invals, struct rfs_node *node,
		    off_t off, off_t len)
{
	struct rfs_inval iv = {.node = node, .off = off, .len = len};
	rfs_node_ref(&ctx->nodes, node);
	g_array_append_val(invals, iv);
}

void rfs_invals_free(struct rfs_ctx *ctx, GArray *invals)
{
	if (!invals)
		return;
	for (guint i = 0; i < invals->len; i++)
		rfs_node_unref(&ctx->nodes,
			       g_array_index(invals, struct rfs_inval, i).node);
	g_array_unref(invals);
}

/* Orders invalidations by node, then offset. */
static gint inval_cmp(gconstpointer a, gconstpointer b)
{
	const struct rfs_inval *x = a, *y = b;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sends one invalidation to the kernel, if it knows the node. */
static void send_one(struct rfs_ctx *ctx, struct rfs_node *node, off_t off,
		     off_t len)
{
	if (!ctx->se || !rfs_node_known(&ctx->nodes, node))
		return;
	int res = fuse_lowlevel_notify_inval_inode(
	    ctx->se, rfs_ino_of(ctx, node), off, len);
	if (res < 0 && res != -ENOENT)
		g_debug("invalidating inode %p [%lld, +%lld): %s", (void *)node,
			(long long)off, (long long)len, g_strerror(-res));
}

void rfs_invals_send(struct rfs_ctx *ctx, GArray *invals)
{
	g_array_sort(invals, inval_cmp);
	for (guint i = 0; i < invals->len;) {
		struct rfs_inval *iv =
		    &g_array_index(invals, struct rfs_inval, i);
		off_t off = iv->off, len = iv->len;
		guint j = i + 1;
		/* Merge what overlaps or touches (len 0 runs to the end). */
		while (off >= 0 && j < invals->len) {
			struct rfs_inval *nx =
			    &g_array_index(invals, struct rfs_inval, j);
			if (nx->node != iv->node || nx->off < 0 ||
			    (len > 0 && nx->off > off + len))
				break;
			if (len > 0)
				len = nx->len == 0
					  ? 0
					  : MAX(off + len, nx->off + nx->len) -
						off;
			j++;
		}
		send_one(ctx, iv->node, off, len);
		i = j;
	}
}

/* Orders queued writes by their first byte. */
static gint pending_cmp(gconstpointer x, gconstpointer y)
{
	const struct nf_job *a = *(struct nf_job *const *)x;
	const struct nf_job *b = *(struct nf_job *const *)y;
	return a->off < b->off ? -1 : a->off > b->off;
}

/* Sends invals from the notifier thread.  Pages that a queued write keeps
 * locked until its reply (which this thread gives later) cannot be
 * invalidated now without deadlock: those parts are left on that write's
 * after list, sent right after its reply.  self: the job sending, whose
 * own pages are not avoided. */
static void send_avoiding(struct rfs_notifier *nf, GArray *invals,
			  struct nf_job *self)
{
	struct rfs_ctx *ctx = nf->ctx;
	GArray *now = rfs_invals_new();
	GPtrArray *hits = g_ptr_array_new();
	g_mutex_lock(&nf->pending_lock);
	for (guint i = 0; i < invals->len; i++) {
		struct rfs_inval iv =
		    g_array_index(invals, struct rfs_inval, i);
		off_t a = iv.off, b = iv.len ? iv.off + iv.len : G_MAXINT64;
		g_ptr_array_set_size(hits, 0);
		for (guint k = 0; iv.off >= 0 && k < nf->pending->len; k++) {
			struct nf_job *w = nf->pending->pdata[k];
			if (w != self && w->node == iv.node &&
			    w->off + w->len > a && w->off < b)
				g_ptr_array_add(hits, w);
		}
		if (iv.off < 0 || !hits->len) {
			rfs_invals_add(ctx, now, iv.node, iv.off, iv.len);
			continue;
		}
		/* Sweep [a, b) past the locked ranges, in order. */
		g_ptr_array_sort(hits, pending_cmp);
		for (guint k = 0; k < hits->len && a < b; k++) {
			struct nf_job *w = hits->pdata[k];
			off_t ia = MAX(a, w->off), ib = MIN(b, w->off + w->len);
			if (ia >= ib)
				continue;
			if (a < ia)
				rfs_invals_add(ctx, now, iv.node, a, ia - a);
			if (!w->after)
				w->after = rfs_invals_new();
			rfs_invals_add(ctx, w->after, iv.node, ia, ib - ia);
			a = MAX(a, ib);
		}
		if (a < b)
			rfs_invals_add(ctx, now, iv.node, a,
				       b == G_MAXINT64 ? 0 : b - a);
	}
	g_mutex_unlock(&nf->pending_lock);
	g_ptr_array_unref(hits);
	rfs_invals_send(ctx, now);
	rfs_invals_free(ctx, now);
}

/* Runs one job; returns false at NF_STOP. */
static bool run_job(struct rfs_notifier *nf, struct nf_job *j)
{
	struct rfs_ctx *ctx = nf->ctx;
	switch (j->kind) {
	case NF_INVALS:
		send_avoiding(nf, j->invals, NULL);
		break;
	case NF_WRITE: {
		/* Dirty alias pages go first, so that their (whole-page)
		 * writeback cannot land after these bytes. */
		send_avoiding(nf, j->invals, j);
		ssize_t res = rfs_io_write_segs(j->fd, j->data, j->segs);
		send_avoiding(nf, j->invals, j);
		if (res < 0)
			fuse_reply_err(j->req, (int)-res);
		else
			fuse_reply_write(j->req, (size_t)res);
		g_mutex_lock(&nf->pending_lock);
		g_ptr_array_remove(nf->pending, j);
		GArray *after = j->after;
		j->after = NULL;
		g_mutex_unlock(&nf->pending_lock);
		if (after) { /* its pages are unlocked once the reply is read */
			send_avoiding(nf, after, NULL);
			rfs_invals_free(ctx, after);
		}
		break;
	}
	case NF_CALL:
		send_avoiding(nf, j->invals, NULL);
		j->done(j->arg);
		break;
	case NF_BARRIER:
		fuse_reply_err(j->req, 0);
		break;
	case NF_STOP:
		return false;
	}
	return true;
}

/* Frees a job. */
static void job_free(struct rfs_ctx *ctx, struct nf_job *j)
{
	rfs_invals_free(ctx, j->invals);
	rfs_invals_free(ctx, j->after);
	if (j->node)
		rfs_node_unref(&ctx->nodes, j->node);
	if (j->segs)
		g_array_unref(j->segs);
	g_free(j->data);
	g_free(j);
}

/* The notifier thread: runs jobs in order until NF_STOP. */
static gpointer notifier_thread(gpointer data)
{
	struct rfs_notifier *nf = data;
	bool more = true;
	while (more) {
		struct nf_job *j = g_async_queue_pop(nf->queue);
		more = run_job(nf, j);
		job_free(nf->ctx, j);
	}
	return NULL;
}

struct rfs_notifier *rfs_notifier_start(struct rfs_ctx *ctx)
{
	struct rfs_notifier *nf = g_new0(struct rfs_notifier, 1);
	nf->ctx = ctx;
	nf->queue = g_async_queue_new();
	g_mutex_init(&nf->pending_lock);
	nf->pending = g_ptr_array_new();
	nf->thread = g_thread_new("remapfs-notify", notifier_thread, nf);
	return nf;
}

/* Queues a job on the context's notifier. */
static void push(struct rfs_ctx *ctx, struct nf_job *j)
{
	g_async_queue_push(ctx->notifier->queue, j);
}

void rfs_notifier_stop(struct rfs_notifier *nf)
{
	if (!nf)
		return;
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_STOP;
	g_async_queue_push(nf->queue, j);
	g_thread_join(nf->thread);
	g_async_queue_unref(nf->queue);
	g_ptr_array_unref(nf->pending);
	g_mutex_clear(&nf->pending_lock);
	g_free(nf);
}

void rfs_notify_invals(struct rfs_ctx *ctx, GArray *invals)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_INVALS;
	j->invals = invals;
	push(ctx, j);
}

void rfs_notify_write(struct rfs_ctx *ctx, fuse_req_t req,
		      struct rfs_node *node, off_t off, size_t len, int fd,
		      char *data, GArray *segs, GArray *invals)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_WRITE;
	j->node = node;
	rfs_node_ref(&ctx->nodes, node);
	/* Whole pages: the kernel locks every page the write touches. */
	j->off = off & ~(off_t)(ctx->pagesize - 1);
	j->len = (off_t)(((uint64_t)(off + (off_t)len) + ctx->pagesize - 1) &
			 ~(ctx->pagesize - 1)) -
		 j->off;
	g_mutex_lock(&ctx->notifier->pending_lock);
	g_ptr_array_add(ctx->notifier->pending, j);
	g_mutex_unlock(&ctx->notifier->pending_lock);
	j->req = req;
	j->fd = fd;
	j->data = data;
	j->segs = segs;
	j->invals = invals;
	push(ctx, j);
}

void rfs_notify_then(struct rfs_ctx *ctx, GArray *invals,
		     void (*done)(void *data), void *data)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_CALL;
	j->invals = invals;
	j->done = done;
	j->arg = data;
	push(ctx, j);
}

void rfs_notify_barrier(struct rfs_ctx *ctx, fuse_req_t req)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_BARRIER;
	j->req = req;
	push(ctx, j);
}
