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
				len = nx->len == 0 ? 0
						   : MAX(off + len,
							 nx->off + nx->len) -
							     off;
			j++;
		}
		send_one(ctx, iv->node, off, len);
		i = j;
	}
}

/* Runs one job; returns false at NF_STOP. */
static bool run_job(struct rfs_ctx *ctx, struct nf_job *j)
{
	switch (j->kind) {
	case NF_INVALS:
		rfs_invals_send(ctx, j->invals);
		break;
	case NF_WRITE: {
		/* Dirty alias pages go first, so that their (whole-page)
		 * writeback cannot land after these bytes. */
		rfs_invals_send(ctx, j->invals);
		ssize_t res = rfs_io_write_segs(j->fd, j->data, j->segs);
		rfs_invals_send(ctx, j->invals);
		if (res < 0)
			fuse_reply_err(j->req, (int)-res);
		else
			fuse_reply_write(j->req, (size_t)res);
		break;
	}
	case NF_CALL:
		rfs_invals_send(ctx, j->invals);
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
		more = run_job(nf->ctx, j);
		job_free(nf->ctx, j);
	}
	return NULL;
}

struct rfs_notifier *rfs_notifier_start(struct rfs_ctx *ctx)
{
	struct rfs_notifier *nf = g_new0(struct rfs_notifier, 1);
	nf->ctx = ctx;
	nf->queue = g_async_queue_new();
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
	g_free(nf);
}

void rfs_notify_invals(struct rfs_ctx *ctx, GArray *invals)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_INVALS;
	j->invals = invals;
	push(ctx, j);
}

void rfs_notify_write(struct rfs_ctx *ctx, fuse_req_t req, int fd,
		      char *data, GArray *segs, GArray *invals)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_WRITE;
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
