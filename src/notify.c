/* SPDX-License-Identifier: GPL-2.0-or-later */
/* notify.c - the notifier thread and the pool that finishes aliased
 * writes (see notify.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "notify.h"
#include "inflight.h"
#include "stats.h"
#include "segs.h"
#include "views.h"

#include <errno.h>
#include <unistd.h>

enum nf_kind { NF_INVALS, NF_WRITE, NF_CALL, NF_BARRIER, NF_HALF, NF_STOP };

struct nf_job {
	enum nf_kind kind;
	fuse_req_t req;
	GArray *invals;
	/* NF_WRITE: the system page of node the kernel may keep locked until
	 * the reply (lock < 0: none), invalidations of it that other writes
	 * left for after the reply (under the notifier's pending_lock), and
	 * the writer's own pages that the write leaves stale. */
	struct rfs_node *node;
	off_t lock;
	GArray *after;
	GArray *own;
	int fd;
	char *data;
	GArray *segs;
	/* NF_WRITE: the write() in flight (inflight.h), and, when landed is
	 * set, what the write already did (res: bytes or -errno; invals are
	 * then the pages reads brought back meanwhile). */
	struct rfs_wflight *wf;
	bool landed;
	ssize_t res;
	/* NF_WRITE: the write grew its backing file where the kernel does
	 * not see it (its answer waits for rfs_notify_release) */
	bool grows;
	/* NF_WRITE, landed: the written page the kernel may hold locked, to
	 * drop again without waiting past a bound (rfs_wflight_end), or NULL */
	GArray *relock;
	void (*done)(void *arg); /* NF_CALL */
	void *arg;
};

/* An invalidation sent by a pool thread while another waits for it a
 * bounded time; freed by whichever of the two is last. */
struct nf_timed {
	GMutex lock; /* protects done and refs */
	GCond cond;
	bool done;
	int refs;
	GArray *invals;
};

struct rfs_notifier {
	struct rfs_ctx *ctx;
	GAsyncQueue *queue; /* struct nf_job *; has its own lock */
	GThread *thread;
	/* Runs NF_WRITE jobs and timed sends, each on a thread of its own
	 * while it waits for the kernel (no limit: a write's invalidation may
	 * wait for a later write's page). */
	GThreadPool *writers;
	GMutex pending_lock; /* protects pending and every job's after */
	GPtrArray *pending;  /* NF_WRITE jobs with a lock page, not replied */
	GMutex held_lock;    /* protects held and held_barriers */
	GCond released;	     /* held became false */
	bool held;	     /* barriers (and growing writes) wait for
				rfs_notify_release */
	GPtrArray *held_barriers; /* their NF_BARRIER jobs */
};

GArray *rfs_invals_new(void)
{
	return g_array_new(FALSE, FALSE, sizeof(struct rfs_inval));
}

void rfs_invals_add(struct rfs_ctx *ctx, GArray *invals, struct rfs_node *node,
		    off_t off, off_t len)
{
	if (invals->len && off >= 0 && len > 0) {
		/* The next range of the same node: the last one grows (a
		 * transaction of a million adjacent pages adds one entry). */
		struct rfs_inval *last =
		    &g_array_index(invals, struct rfs_inval, invals->len - 1);
		if (last->node == node && last->off >= 0 && last->len > 0 &&
		    last->off + last->len == off) {
			last->len += len;
			return;
		}
	}
	struct rfs_inval iv = {.node = node, .off = off, .len = len};
	rfs_node_ref(&ctx->nodes, node);
	g_array_append_val(invals, iv);
}

void rfs_invals_append(struct rfs_ctx *ctx, GArray *to, GArray *from)
{
	for (guint i = 0; i < from->len; i++) {
		struct rfs_inval *iv =
		    &g_array_index(from, struct rfs_inval, i);
		rfs_invals_add(ctx, to, iv->node, iv->off, iv->len);
	}
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

/* Orders invalidations by node, then offset, attributes last: the kernel
 * learns a new size only after the pages are dropped (a page that held
 * the old end has zeros past it, which a writeback with the new size
 * would write). */
static gint inval_cmp(gconstpointer a, gconstpointer b)
{
	const struct rfs_inval *x = a, *y = b;
	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if ((x->off < 0) != (y->off < 0))
		return x->off < 0 ? 1 : -1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sends one invalidation to the kernel, if it knows the node. */
static void send_one(struct rfs_ctx *ctx, struct rfs_node *node, off_t off,
		     off_t len)
{
	if (!ctx->se || !rfs_node_known(&ctx->nodes, node))
		return;
	/* Recorded first: a read that follows the drop at once must find
	 * the record (inflight.h). */
	rfs_inflight_note_inval(ctx, node, off, len);
	int res = fuse_lowlevel_notify_inval_inode(
	    ctx->se, rfs_ino_of(ctx, node), off, len);
	if (res == 0)
		rfs_count(&node->counters.invalidations, 1);
	if (res < 0 && res != -ENOENT)
		g_debug("invalidating inode %p [%lld, +%lld): %s", (void *)node,
			(long long)off, (long long)len, g_strerror(-res));
}

/* A range to send, merged from invalidations (their references hold the
 * node until they are freed). */
struct span {
	struct rfs_node *node;
	off_t off, len;
};

/* Sorts invals and returns its merged ranges (GArray of struct span):
 * what overlaps or touches is one range, a node's attributes after its
 * pages. */
static GArray *merged_spans(GArray *invals)
{
	g_array_sort(invals, inval_cmp);
	GArray *spans =
	    g_array_sized_new(FALSE, FALSE, sizeof(struct span), invals->len);
	for (guint i = 0; i < invals->len;) {
		struct rfs_inval *iv =
		    &g_array_index(invals, struct rfs_inval, i);
		struct span s = {iv->node, iv->off, iv->len};
		guint j = i + 1;
		/* Merge what overlaps or touches (len 0 runs to the end). */
		while (s.off >= 0 && j < invals->len) {
			struct rfs_inval *nx =
			    &g_array_index(invals, struct rfs_inval, j);
			if (nx->node != s.node || nx->off < 0 ||
			    (s.len > 0 && nx->off > s.off + s.len))
				break;
			if (s.len > 0)
				s.len = nx->len == 0 ? 0
						     : MAX(s.off + s.len,
							   nx->off + nx->len) -
							   s.off;
			j++;
		}
		g_array_append_val(spans, s);
		i = j;
	}
	return spans;
}

/* Sends spans [from, to). */
static void send_spans(struct rfs_ctx *ctx, GArray *spans, guint from, guint to)
{
	for (guint i = from; i < to; i++) {
		struct span *s = &g_array_index(spans, struct span, i);
		send_one(ctx, s->node, s->off, s->len);
	}
}

void rfs_invals_send(struct rfs_ctx *ctx, GArray *invals)
{
	GArray *spans = merged_spans(invals);
	send_spans(ctx, spans, 0, spans->len);
	g_array_unref(spans);
}

/* Half of a wide send, for a pool thread. */
struct nf_half {
	GMutex lock; /* protects done */
	GCond cond;
	bool done;
	GArray *spans;
	guint from, to;
};

void rfs_invals_send_wide(struct rfs_ctx *ctx, GArray *invals)
{
	GArray *spans = merged_spans(invals);
	/* The pages first, then every attribute (each node's after all its
	 * pages), the pages split between this thread and one of the pool
	 * when there are many: the kernel's work for each range, most of a
	 * big transaction's time, then goes on two CPUs at once. */
	GArray *pages = g_array_new(FALSE, FALSE, sizeof(struct span));
	GArray *attrs = g_array_new(FALSE, FALSE, sizeof(struct span));
	for (guint i = 0; i < spans->len; i++) {
		struct span *s = &g_array_index(spans, struct span, i);
		g_array_append_val(s->off >= 0 ? pages : attrs, *s);
	}
	g_array_unref(spans);
	if (pages->len >= RFS_WIDE_SEND_MIN && ctx->notifier) {
		struct nf_half h = {
		    .spans = pages, .from = pages->len / 2, .to = pages->len};
		g_mutex_init(&h.lock);
		g_cond_init(&h.cond);
		struct nf_job *j = g_new0(struct nf_job, 1);
		j->kind = NF_HALF;
		j->arg = &h;
		g_thread_pool_push(ctx->notifier->writers, j, NULL);
		send_spans(ctx, pages, 0, pages->len / 2);
		g_mutex_lock(&h.lock);
		while (!h.done)
			g_cond_wait(&h.cond, &h.lock);
		g_mutex_unlock(&h.lock);
		g_mutex_clear(&h.lock);
		g_cond_clear(&h.cond);
	} else {
		send_spans(ctx, pages, 0, pages->len);
	}
	send_spans(ctx, attrs, 0, attrs->len);
	g_array_unref(pages);
	g_array_unref(attrs);
}

/* Sends invals from a write job (self).  A system page that another
 * write in flight, registered before, may keep locked until its reply is
 * not waited for (that could deadlock two writes that alias each other);
 * a locked page is not up to date, so it needs no invalidation before
 * then, and it is left on that write's after list, sent after its reply.
 * Waits only for writes registered later, so no cycle of waits forms. */
static void send_avoiding(struct rfs_notifier *nf, GArray *invals,
			  struct nf_job *self)
{
	struct rfs_ctx *ctx = nf->ctx;
	const off_t sys = (off_t)ctx->sys_pagesize;
	GArray *now = rfs_invals_new();
	g_mutex_lock(&nf->pending_lock);
	for (guint i = 0; i < invals->len; i++) {
		struct rfs_inval iv =
		    g_array_index(invals, struct rfs_inval, i);
		off_t a = iv.off, b = iv.len ? iv.off + iv.len : G_MAXINT64;
		for (guint k = 0; iv.off >= 0 && k < nf->pending->len && a < b;
		     k++) {
			struct nf_job *w = nf->pending->pdata[k];
			if (w == self || w->node != iv.node ||
			    w->lock + sys <= a || w->lock >= b)
				continue;
			if (a < w->lock)
				rfs_invals_add(ctx, now, iv.node, a,
					       w->lock - a);
			if (!w->after)
				w->after = rfs_invals_new();
			rfs_invals_add(ctx, w->after, iv.node, w->lock, sys);
			/* Pending locks are on distinct pages in any order:
			 * what is left past this one is checked again. */
			a = w->lock + sys;
			k = (guint)-1;
		}
		if (iv.off < 0 || a < b)
			rfs_invals_add(ctx, now, iv.node, a,
				       iv.off < 0	 ? iv.len
				       : b == G_MAXINT64 ? 0
							 : b - a);
	}
	g_mutex_unlock(&nf->pending_lock);
	rfs_invals_send(ctx, now);
	rfs_invals_free(ctx, now);
}

/* Drops a reference on a timed send. */
static void timed_unref(struct rfs_ctx *ctx, struct nf_timed *t)
{
	g_mutex_lock(&t->lock);
	bool last = --t->refs == 0;
	g_mutex_unlock(&t->lock);
	if (!last)
		return;
	rfs_invals_free(ctx, t->invals);
	g_mutex_clear(&t->lock);
	g_cond_clear(&t->cond);
	g_free(t);
}

/* How long a write waits for the invalidation of its own last page, which
 * the kernel keeps locked until the reply if it was not up to date (and
 * then needs none); an up-to-date page is never locked that long. */
#define RFS_OWN_LOCK_WAIT_US 20000

/* Sends a copy of invals on another pool thread, waiting for it at most
 * RFS_OWN_LOCK_WAIT_US; returns whether it was done by then. */
static bool send_timed(struct rfs_notifier *nf, GArray *invals)
{
	struct nf_timed *t = g_new0(struct nf_timed, 1);
	g_mutex_init(&t->lock);
	g_cond_init(&t->cond);
	t->refs = 2;
	t->invals = rfs_invals_new();
	rfs_invals_append(nf->ctx, t->invals, invals);
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_CALL;
	j->arg = t;
	g_thread_pool_push(nf->writers, j, NULL);
	gint64 until = g_get_monotonic_time() + RFS_OWN_LOCK_WAIT_US;
	g_mutex_lock(&t->lock);
	while (!t->done && g_cond_wait_until(&t->cond, &t->lock, until))
		;
	bool done = t->done;
	g_mutex_unlock(&t->lock);
	timed_unref(nf->ctx, t);
	return done;
}

/* Splits the invalidations pages (of the job's node) into those the
 * kernel does not hold locked (*rest) and the one it may (*mine, or NULL). */
static void split_locked(struct rfs_ctx *ctx, struct nf_job *j, GArray *pages,
			 GArray **rest, GArray **mine)
{
	const off_t sys = (off_t)ctx->sys_pagesize;
	*rest = rfs_invals_new();
	*mine = NULL;
	for (guint i = 0; i < pages->len; i++) {
		struct rfs_inval iv = g_array_index(pages, struct rfs_inval, i);
		off_t b = iv.off + iv.len;
		if (j->lock < 0 || iv.node != j->node ||
		    j->lock + sys <= iv.off || j->lock >= b) {
			rfs_invals_add(ctx, *rest, iv.node, iv.off, iv.len);
			continue;
		}
		if (iv.off < j->lock)
			rfs_invals_add(ctx, *rest, iv.node, iv.off,
				       j->lock - iv.off);
		if (j->lock + sys < b)
			rfs_invals_add(ctx, *rest, iv.node, j->lock + sys,
				       b - j->lock - sys);
		if (!*mine)
			*mine = rfs_invals_new();
		rfs_invals_add(ctx, *mine, iv.node, j->lock, sys);
	}
}

/* Runs a write job: invalidates the aliases and the writer's own stale
 * pages (so that dirty ones are written back first, their whole pages
 * landing before these bytes), writes, invalidates them again and what
 * reads brought back of the written pages meanwhile (inflight.h),
 * replies, then sends what other writes left for after the reply.  A job
 * whose bytes already landed sends its invals and replies. */
static void run_write(struct rfs_notifier *nf, struct nf_job *j)
{
	struct rfs_ctx *ctx = nf->ctx;
	GArray *rest = NULL, *mine = NULL;
	bool locked = false;
	ssize_t res = j->res;
	if (j->landed) {
		send_avoiding(nf, j->invals, j);
		if (j->relock)
			send_timed(nf, j->relock);
	} else {
		if (j->own)
			split_locked(ctx, j, j->own, &rest, &mine);
		send_avoiding(nf, j->invals, j);
		if (rest)
			send_avoiding(nf, rest, j);
		/* The page the kernel may hold: not waited for past a bound
		 * (if it is held it is not up to date, so neither dirty nor
		 * stale). */
		if (mine)
			locked = !send_timed(nf, mine);
		res = rfs_segs_write(j->fd, j->data, j->segs);
		send_avoiding(nf, j->invals, j);
		if (rest)
			send_avoiding(nf, rest, j);
		if (mine && !locked)
			send_timed(nf, mine);
		rfs_invals_free(ctx, rest);
		rfs_invals_free(ctx, mine);
		/* Pages read meanwhile are not the locked one (the kernel
		 * reads only pages it does not hold). */
		GArray *relock;
		GArray *reread = rfs_wflight_end(ctx, j->wf, &relock);
		j->wf = NULL;
		if (reread) {
			send_avoiding(nf, reread, j);
			rfs_invals_free(ctx, reread);
		}
		if (relock) {
			send_timed(nf, relock);
			rfs_invals_free(ctx, relock);
		}
	}
	/* Out of the registry before the reply: a write that comes after it
	 * (the program saw this one return) must not leave its invalidations
	 * on this job's after list, which is sent only after the reply.  One
	 * that finds the page still locked waits for the reply below, which
	 * waits for nothing. */
	/* After a restart, a write that grew its file answers once the
	 * invalidations for the dead worker are sent: an attribute fetch
	 * racing with one of them would be dropped by the kernel, which then
	 * keeps the old size though stat(2) gave the new one (a store past it
	 * through a mapping gets SIGBUS).  At most a second: the write-back
	 * that comes first may wait for a page this write holds locked. */
	if (j->grows) {
		gint64 until = g_get_monotonic_time() + G_TIME_SPAN_SECOND;
		g_mutex_lock(&nf->held_lock);
		while (nf->held &&
		       g_cond_wait_until(&nf->released, &nf->held_lock, until))
			;
		g_mutex_unlock(&nf->held_lock);
	}
	g_mutex_lock(&nf->pending_lock);
	g_ptr_array_remove(nf->pending, j);
	GArray *after = j->after;
	j->after = NULL;
	g_mutex_unlock(&nf->pending_lock);
	if (res < 0)
		fuse_reply_err(j->req, (int)-res);
	else
		fuse_reply_write(j->req, (size_t)res);
	if (after) { /* its page is unlocked once the reply is read */
		rfs_invals_send(ctx, after);
		rfs_invals_free(ctx, after);
	}
}

/* Runs one notifier job; returns false at NF_STOP. */
static bool run_job(struct rfs_notifier *nf, struct nf_job *j)
{
	struct rfs_ctx *ctx = nf->ctx;
	switch (j->kind) {
	case NF_INVALS:
		rfs_invals_send(ctx, j->invals);
		break;
	case NF_CALL:
		rfs_invals_send(ctx, j->invals);
		j->done(j->arg);
		break;
	case NF_BARRIER:
		fuse_reply_err(j->req, 0);
		break;
	case NF_WRITE: /* runs in the pool */
	case NF_HALF:
	case NF_STOP:
		return false;
	}
	return true;
}

/* Frees a job. */
static void job_free(struct rfs_ctx *ctx, struct nf_job *j)
{
	if (j->wf) /* never ran */
		rfs_wflight_cancel(ctx, j->wf);
	rfs_invals_free(ctx, j->invals);
	rfs_invals_free(ctx, j->relock);
	rfs_invals_free(ctx, j->after);
	rfs_invals_free(ctx, j->own);
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

/* A pool thread: a write job, or a timed send (an NF_CALL whose arg is
 * the struct nf_timed). */
static void pool_run(gpointer data, gpointer user)
{
	struct rfs_notifier *nf = user;
	struct nf_job *j = data;
	if (j->kind == NF_WRITE) {
		run_write(nf, j);
	} else if (j->kind == NF_HALF) {
		struct nf_half *h = j->arg;
		send_spans(nf->ctx, h->spans, h->from, h->to);
		g_mutex_lock(&h->lock);
		h->done = true;
		g_cond_signal(&h->cond);
		g_mutex_unlock(&h->lock);
	} else {
		struct nf_timed *t = j->arg;
		rfs_invals_send(nf->ctx, t->invals);
		g_mutex_lock(&t->lock);
		t->done = true;
		g_cond_signal(&t->cond);
		g_mutex_unlock(&t->lock);
		timed_unref(nf->ctx, t);
	}
	job_free(nf->ctx, j);
}

struct rfs_notifier *rfs_notifier_start(struct rfs_ctx *ctx)
{
	struct rfs_notifier *nf = g_new0(struct rfs_notifier, 1);
	nf->ctx = ctx;
	nf->queue = g_async_queue_new();
	g_mutex_init(&nf->pending_lock);
	nf->pending = g_ptr_array_new();
	g_mutex_init(&nf->held_lock);
	g_cond_init(&nf->released);
	nf->held_barriers = g_ptr_array_new();
	nf->writers = g_thread_pool_new(pool_run, nf, -1, FALSE, NULL);
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
	g_thread_pool_free(nf->writers, FALSE, TRUE);
	g_async_queue_unref(nf->queue);
	g_ptr_array_unref(nf->pending);
	g_mutex_clear(&nf->pending_lock);
	g_ptr_array_unref(nf->held_barriers);
	g_cond_clear(&nf->released);
	g_mutex_clear(&nf->held_lock);
	g_free(nf);
}

void rfs_notify_invals(struct rfs_ctx *ctx, GArray *invals)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_INVALS;
	j->invals = invals;
	push(ctx, j);
}

/* A new NF_WRITE job for a write() of len bytes at off of node,
 * registered with the page the kernel may keep locked. */
static struct nf_job *write_job(struct rfs_ctx *ctx, fuse_req_t req,
				struct rfs_node *node, off_t off, size_t len)
{
	struct nf_job *j = g_new0(struct nf_job, 1);
	const off_t sys = (off_t)ctx->sys_pagesize;
	j->kind = NF_WRITE;
	j->node = node;
	rfs_node_ref(&ctx->nodes, node);
	j->lock = rfs_write_locked_page(off, len, sys);
	j->req = req;
	j->fd = -1;
	if (j->lock >= 0) {
		g_mutex_lock(&ctx->notifier->pending_lock);
		g_ptr_array_add(ctx->notifier->pending, j);
		g_mutex_unlock(&ctx->notifier->pending_lock);
	}
	return j;
}

void rfs_notify_write(struct rfs_ctx *ctx, fuse_req_t req,
		      struct rfs_node *node, off_t off, size_t len,
		      struct rfs_wflight *wf, int fd, char *data, GArray *segs,
		      GArray *invals, GArray *own, bool grows)
{
	struct nf_job *j = write_job(ctx, req, node, off, len);
	j->grows = grows;
	j->wf = wf;
	j->fd = fd;
	j->data = data;
	j->segs = segs;
	j->invals = invals ? invals : rfs_invals_new();
	j->own = own;
	g_thread_pool_push(ctx->notifier->writers, j, NULL);
}

void rfs_notify_written(struct rfs_ctx *ctx, fuse_req_t req,
			struct rfs_node *node, off_t off, size_t len,
			ssize_t res, GArray *reread, GArray *relock)
{
	struct nf_job *j = write_job(ctx, req, node, off, len);
	j->landed = true;
	j->res = res;
	j->invals = reread ? reread : rfs_invals_new();
	j->relock = relock;
	g_thread_pool_push(ctx->notifier->writers, j, NULL);
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
	struct rfs_notifier *nf = ctx->notifier;
	struct nf_job *j = g_new0(struct nf_job, 1);
	j->kind = NF_BARRIER;
	j->req = req;
	g_mutex_lock(&nf->held_lock);
	if (nf->held)
		g_ptr_array_add(nf->held_barriers, j);
	else
		push(ctx, j);
	g_mutex_unlock(&nf->held_lock);
}

void rfs_notify_hold(struct rfs_ctx *ctx)
{
	g_mutex_lock(&ctx->notifier->held_lock);
	ctx->notifier->held = true;
	g_mutex_unlock(&ctx->notifier->held_lock);
}

void rfs_notify_release(struct rfs_ctx *ctx, GArray *invals)
{
	struct rfs_notifier *nf = ctx->notifier;
	g_mutex_lock(&nf->held_lock);
	if (invals)
		rfs_notify_invals(ctx, invals);
	for (guint i = 0; i < nf->held_barriers->len; i++)
		push(ctx, nf->held_barriers->pdata[i]);
	g_ptr_array_set_size(nf->held_barriers, 0);
	nf->held = false;
	g_cond_broadcast(&nf->released);
	g_mutex_unlock(&nf->held_lock);
}
