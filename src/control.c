/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.c - .control transactions and notifications (see control.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "control.h"
#include "fuseio.h"
#include "stats.h"
#include "dump.h"
#include "journal.h"
#include "push.h"
#include "state.h"
#include "framing.h"
#include "txn.h"
#include "protocol.h"
#include "tview.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct rfs_control_handle {
	GMutex lock;		  /* protects every field below */
	struct rfs_framer framer; /* lines and explicit transactions */
	GString *error; /* "error: line L: ...\n" of the last failed write */
	size_t error_pos;
	GString *snapshot; /* state at open (readable handles) */
	size_t snap_pos;
};

enum job_kind { JOB_TXN, JOB_SAVE, JOB_SNAPSHOT, JOB_STOP };
enum reply_kind { REPLY_NONE, REPLY_WRITE, REPLY_FLUSH, REPLY_WAIT };

struct job {
	enum job_kind kind;
	/* JOB_TXN */
	enum reply_kind reply;
	fuse_req_t req;
	size_t reply_size;
	struct rfs_control_handle *h;
	char *text;
	size_t len;
	unsigned first_line; /* the number of text's first line */
	/* REPLY_WAIT: the daemon waits for the result here */
	GMutex *wait_lock;
	GCond *wait_cond;
	bool *wait_done;
	int *wait_err;
	GString *wait_msg;
	/* From .control: the names the kernel must forget and the views it
	 * resized, told before the reply (push.h); and the result the reply
	 * gives. */
	struct rfs_ctx *ctx;
	struct rfs_push told;
	int result;
	char *result_msg;
	/* -o restart: the request's unique ID for the journal (fuseio.h) */
	uint64_t unique;
};

struct rfs_control {
	struct rfs_ctx *ctx;
	GAsyncQueue *queue; /* jobs; has its own lock */
	GThread *thread;
	/* -o state: where transactions are made durable (NULL without);
	 * this and the next two are the control thread's alone. */
	struct rfs_journal *journal;
	int behind;	      /* a save failed with this errno: file behind */
	bool snapshot_due;    /* the state changed without a record */
	gint snapshot_queued; /* a JOB_SNAPSHOT is queued (atomic) */
};

/* Sets a handle's pending error message. */
static void handle_set_error(struct rfs_control_handle *h, const char *msg)
{
	g_mutex_lock(&h->lock);
	if (!h->error)
		h->error = g_string_new(NULL);
	g_string_printf(h->error, "error: %s\n", msg);
	h->error_pos = 0;
	g_mutex_unlock(&h->lock);
}

/* Tells a waiting daemon thread that its job is done, with err. */
static void wake_waiter(struct job *j, int err, const char *msg)
{
	g_mutex_lock(j->wait_lock);
	*j->wait_err = err;
	if (j->wait_msg && msg)
		g_string_assign(j->wait_msg, msg);
	*j->wait_done = true;
	g_cond_signal(j->wait_cond);
	g_mutex_unlock(j->wait_lock);
}

/* Replies to a transaction job's request: err 0, or err with msg (which
 * the descriptor reads back and the log gets). */
static void reply_job(struct job *j, int err, const char *msg)
{
	if (err) {
		if (j->reply != REPLY_WAIT) /* the waiter reports it */
			g_message("control: error: %s", msg);
		if (j->h)
			handle_set_error(j->h, msg);
	}
	switch (j->reply) {
	case REPLY_WRITE:
		if (err)
			fuse_reply_err(j->req, err);
		else
			fuse_reply_write(j->req, j->reply_size);
		break;
	case REPLY_FLUSH:
		fuse_reply_err(j->req, err);
		break;
	case REPLY_WAIT:
		wake_waiter(j, err, msg);
		break;
	case REPLY_NONE:
		break;
	}
}

/* Frees a job. */
static void job_free(struct job *j)
{
	if (j->ctx)
		rfs_push_clear(j->ctx, &j->told);
	g_free(j->result_msg);
	g_free(j->text);
	g_free(j);
}

/* Replies to a job whose views' sizes were pushed (pusher callback). */
static void pushed(void *data)
{
	struct job *j = data;
	reply_job(j, j->result, j->result_msg);
	job_free(j);
}

/* Replies to a transaction job with err and msg, and frees it; once the
 * kernel forgot the names it changed and knows the sizes of the views
 * it resized, if any. */
static void finish_job(struct job *j, int err, const char *msg)
{
	if (!j->told.entries) {
		reply_job(j, err, msg);
		job_free(j);
		return;
	}
	j->result = err;
	j->result_msg = g_strdup(msg);
	struct rfs_push told = j->told;
	j->told = (struct rfs_push){NULL, NULL};
	rfs_push_send(j->ctx, &told, pushed, j);
}

/* Writes a snapshot of the whole state to the journal.  Returns 0 or a
 * positive errno (logged). */
static int take_snapshot(struct rfs_control *ctl)
{
	GString *dump = rfs_dump_journal(ctl->ctx);
	int err = rfs_journal_snapshot(ctl->journal, dump->str, dump->len);
	g_string_free(dump, TRUE);
	if (err)
		g_warning("state: %s: cannot write a snapshot: %s",
			  rfs_journal_path(ctl->journal), g_strerror(err));
	ctl->behind = err;
	ctl->snapshot_due = err != 0;
	return err;
}

/* Transactions applied but not yet durable, waiting for one sync. */
struct group {
	GPtrArray *jobs;  /* struct job *, replied after the sync */
	GString *records; /* their journal records */
};

/* Appends the group's records with one sync, then replies to each of its
 * jobs: acknowledged only once durable. */
static void group_commit(struct rfs_control *ctl, struct group *g)
{
	if (!g->jobs->len)
		return;
	int err =
	    rfs_journal_append(ctl->journal, g->records->str, g->records->len);
	char *msg = NULL;
	if (err) {
		msg = g_strdup_printf(
		    "saving to the state file %s failed: %s (the change took "
		    "effect in the mount but is not saved; the next save "
		    "includes it)",
		    rfs_journal_path(ctl->journal), g_strerror(err));
		g_warning("state: %s", msg);
		ctl->behind = err;
		ctl->snapshot_due = true;
	}
	for (guint i = 0; i < g->jobs->len; i++) {
		struct job *j = g->jobs->pdata[i];
		if (!err && j->unique && ctl->ctx->done_ring)
			rfs_done_ring_add(ctl->ctx->done_ring, j->unique);
		finish_job(j, err, msg);
	}
	g_ptr_array_set_size(g->jobs, 0);
	g_string_truncate(g->records, 0);
	g_free(msg);
	if (!err && rfs_journal_wants_snapshot(ctl->journal))
		take_snapshot(ctl);
}

/* Runs a transaction job.  Journaled ones (from .control, with -o state)
 * join the group and are replied to after its sync; others now. */
static void run_job(struct rfs_control *ctl, struct job *j, struct group *g)
{
	bool journaled = ctl->journal && j->reply != REPLY_WAIT;
	GString *msg = g_string_new(NULL);
	int err = 0;
	if (journaled && ctl->behind && take_snapshot(ctl)) {
		/* The file is behind and cannot be written: refuse rather
		 * than apply what would not be saved. */
		err = ctl->behind;
		g_string_printf(msg,
				"the state file %s cannot be written: %s "
				"(nothing applied)",
				rfs_journal_path(ctl->journal),
				g_strerror(err));
	}
	/* A transaction from .control is acknowledged once the kernel knows
	 * the sizes it changed; one the daemon waits for (a truncate through
	 * the mount, a load) must not wait for the mount itself. */
	if (j->reply != REPLY_WAIT && j->reply != REPLY_NONE) {
		j->ctx = ctl->ctx;
		rfs_push_init(&j->told);
	}
	GString *canonical = g_string_new(NULL);
	if (!err) {
		gint64 t0 = g_get_monotonic_time();
		err = rfs_txn_run(ctl->ctx, j->text, j->len, j->first_line, msg,
				  j->told.entries ? &j->told : NULL,
				  journaled ? canonical : NULL);
		rfs_stats_txn(&ctl->ctx->stats,
			      (uint64_t)(g_get_monotonic_time() - t0));
	}
	if (!err && !journaled)
		ctl->snapshot_due = ctl->journal != NULL;
	if (!err && journaled) {
		if (j->unique) { /* a comment to a replay; restore.c reads it */
			char *tag = g_strdup_printf(
			    "# unique %" G_GUINT64_FORMAT "\n", j->unique);
			if (!canonical->len)
				g_string_append_len(canonical, j->text,
						    (gssize)j->len);
			g_string_prepend(canonical, tag);
			g_free(tag);
		}
		/* An empty canonical text: the text as written. */
		rfs_state_record(g->records, 'T',
				 canonical->len ? canonical->str : j->text,
				 canonical->len ? canonical->len : j->len);
		g_ptr_array_add(g->jobs, j);
	} else {
		finish_job(j, err, msg->str);
	}
	g_string_free(canonical, TRUE);
	g_string_free(msg, TRUE);
}

/* How long a worker thread looks for more work before it sleeps: waking
 * a sleeping thread on another CPU costs tens of microseconds, more than
 * a small transaction, and programs often send the next one right away. */
#define RFS_SPIN_US 200

/* Transactions of one group commit at most. */
#define RFS_GROUP_MAX 256

/* A job from the queue if one comes within RFS_SPIN_US, else NULL. */
static struct job *next_job(GAsyncQueue *queue)
{
	gint64 until = g_get_monotonic_time() + RFS_SPIN_US;
	do {
		struct job *j = g_async_queue_try_pop(queue);
		if (j)
			return j;
	} while (g_get_monotonic_time() < until);
	return NULL;
}

/* The control thread: runs jobs in order until JOB_STOP.  Transactions
 * that are queued together are made durable by one sync; a snapshot is
 * written when the namespace changed the state (JOB_SNAPSHOT), when a
 * save is asked for, and at the end. */
static gpointer control_thread(gpointer data)
{
	struct rfs_control *ctl = data;
	struct group g = {g_ptr_array_new(), g_string_new(NULL)};
	bool stop = false;
	while (!stop) {
		struct job *j = next_job(ctl->queue);
		if (!j && ctl->snapshot_due) {
			j = g_async_queue_timeout_pop(ctl->queue, 10000);
			if (!j) {
				take_snapshot(ctl);
				continue;
			}
		}
		if (!j)
			j = g_async_queue_pop(ctl->queue);
		/* Take what is queued with it, up to a group. */
		for (guint n = 0; j; n++) {
			if (j->kind == JOB_TXN) {
				run_job(ctl, j, &g);
			} else {
				group_commit(ctl, &g);
				if (j->kind == JOB_SNAPSHOT) {
					g_atomic_int_set(&ctl->snapshot_queued,
							 0);
					if (ctl->journal)
						take_snapshot(ctl);
					job_free(j);
				} else if (j->kind == JOB_SAVE) {
					int err = ctl->journal
						      ? take_snapshot(ctl)
						      : 0;
					wake_waiter(j, err, NULL);
					job_free(j);
				} else {
					stop = true;
					job_free(j);
					break;
				}
			}
			j = n + 1 < RFS_GROUP_MAX
				? g_async_queue_try_pop(ctl->queue)
				: NULL;
		}
		group_commit(ctl, &g);
	}
	if (ctl->journal)
		take_snapshot(ctl);
	g_ptr_array_unref(g.jobs);
	g_string_free(g.records, TRUE);
	return NULL;
}

struct rfs_control *rfs_control_start(struct rfs_ctx *ctx,
				      struct rfs_journal *journal)
{
	struct rfs_control *ctl = g_new0(struct rfs_control, 1);
	ctl->ctx = ctx;
	ctl->journal = journal;
	ctl->queue = g_async_queue_new();
	ctl->thread = g_thread_new("remapfs-control", control_thread, ctl);
	return ctl;
}

void rfs_control_note_change(struct rfs_ctx *ctx)
{
	struct rfs_control *ctl = ctx->ctl;
	if (ctl && ctl->journal && ctx->opts.restart) {
		int err = rfs_control_save_now(ctx);
		if (err)
			g_warning(
			    "state: cannot save a change made through the "
			    "mount: %s",
			    g_strerror(err));
		return;
	}
	if (!ctl || !ctl->journal ||
	    !g_atomic_int_compare_and_exchange(&ctl->snapshot_queued, 0, 1))
		return;
	struct job *j = g_new0(struct job, 1);
	j->kind = JOB_SNAPSHOT;
	g_async_queue_push(ctl->queue, j);
}

void rfs_control_stop(struct rfs_control *ctl)
{
	if (!ctl)
		return;
	struct job *j = g_new0(struct job, 1);
	j->kind = JOB_STOP;
	g_async_queue_push(ctl->queue, j);
	g_thread_join(ctl->thread);
	g_async_queue_unref(ctl->queue);
	rfs_journal_free(ctl->journal);
	g_free(ctl);
}

/* Queues a transaction over text (taken over). */
static void queue_txn(struct rfs_ctx *ctx, struct job *j, char *text,
		      size_t len)
{
	j->kind = JOB_TXN;
	j->text = text;
	j->len = len;
	g_async_queue_push(ctx->ctl->queue, j);
}

/* Queues job kind (a transaction over text, taken over, or a save) and
 * waits until the control thread ran it; returns its errno. */
static int run_and_wait(struct rfs_ctx *ctx, enum job_kind kind, char *text,
			size_t len, GString *err)
{
	GMutex lock;
	GCond cond;
	bool done = false;
	int res = 0;
	struct job *j = g_new0(struct job, 1);
	g_mutex_init(&lock);
	g_cond_init(&cond);
	j->reply = REPLY_WAIT;
	j->wait_lock = &lock;
	j->wait_cond = &cond;
	j->wait_done = &done;
	j->wait_err = &res;
	j->wait_msg = err;
	j->first_line = 1;
	if (kind == JOB_TXN) {
		queue_txn(ctx, j, text, len);
	} else {
		j->kind = kind;
		g_async_queue_push(ctx->ctl->queue, j);
	}
	g_mutex_lock(&lock);
	while (!done)
		g_cond_wait(&cond, &lock);
	g_mutex_unlock(&lock);
	g_mutex_clear(&lock);
	g_cond_clear(&cond);
	return res;
}

int rfs_control_apply_text(struct rfs_ctx *ctx, const char *text, size_t len,
			   GString *err)
{
	return run_and_wait(ctx, JOB_TXN, g_memdup2(text, len), len, err);
}

int rfs_control_save_now(struct rfs_ctx *ctx)
{
	if (!ctx->opts.state_file || !ctx->ctl)
		return 0;
	return run_and_wait(ctx, JOB_SAVE, NULL, 0, NULL);
}

struct rfs_control_handle *rfs_control_open(struct rfs_ctx *ctx, bool readable)
{
	struct rfs_control_handle *h = g_new0(struct rfs_control_handle, 1);
	g_mutex_init(&h->lock);
	rfs_framer_init(&h->framer, ctx->txn_write_max, ctx->txn_write_max,
			ctx->opts.max_transaction);
	if (readable)
		h->snapshot = rfs_dump_state(ctx);
	return h;
}

void rfs_control_release(struct rfs_control_handle *h)
{
	if (!h)
		return;
	rfs_framer_clear(&h->framer);
	if (h->error)
		g_string_free(h->error, TRUE);
	if (h->snapshot)
		g_string_free(h->snapshot, TRUE);
	g_mutex_clear(&h->lock);
	g_free(h);
}

/* Acts on what the framer made of a write or a close: acknowledges,
 * fails (the message is read back on the descriptor), or queues the
 * transaction, whose job replies. */
static void act_on_frame(struct rfs_ctx *ctx, fuse_req_t req,
			 struct rfs_control_handle *h, struct rfs_frame *fr,
			 enum reply_kind reply, size_t size)
{
	switch (fr->kind) {
	case RFS_FRAME_ACK:
		if (reply == REPLY_WRITE)
			fuse_reply_write(req, size);
		else
			fuse_reply_err(req, 0);
		break;
	case RFS_FRAME_ERROR:
		g_message("control: error: %s", fr->msg->str);
		handle_set_error(h, fr->msg->str);
		fuse_reply_err(req, fr->err);
		break;
	case RFS_FRAME_APPLY: {
		struct job *j = g_new0(struct job, 1);
		j->reply = reply;
		j->req = req;
		j->reply_size = size;
		j->h = h;
		j->first_line = fr->first_line;
		if (ctx->done_ring)
			j->unique =
			    rfs_fuseio_request_unique() & ~RFS_UNIQUE_RESEND;
		queue_txn(ctx, j, fr->text, fr->len);
		fr->text = NULL; /* taken over */
		break;
	}
	}
	rfs_frame_clear(fr);
}

/* A write sent again whose transaction the dead worker journaled. */
struct resent {
	fuse_req_t req;
	size_t size;
};

static void resent_told(void *data)
{
	struct resent *r = data;
	fuse_reply_write(r->req, r->size);
	g_free(r);
}

/* Answers a write sent again whose transaction the worker that died
 * journaled but did not answer: done already, but what that worker was
 * to tell the kernel before its answer may not have been sent, so the
 * names its lines create or remove are forgotten and the sizes of the
 * views they resize pushed (push.h) before the answer. */
static void answer_resent(struct rfs_ctx *ctx, fuse_req_t req, const char *buf,
			  size_t size)
{
	rfs_parse_limits limits = {.page_limit = ctx->page_limit};
	GArray *cmds = rfs_cmds_new();
	GString *msg = g_string_new(NULL);
	unsigned line = 0;
	struct rfs_push told;
	rfs_push_init(&told);
	if (rfs_parse(buf, size, 1, &limits, cmds, &line, msg) == 0)
		for (guint i = 0; i < cmds->len; i++) {
			rfs_cmd *c = &g_array_index(cmds, rfs_cmd, i);
			struct tview *tv;
			if (c->op == RFS_OP_CREATE || c->op == RFS_OP_REMOVE) {
				struct rfs_node *dir;
				const char *last;
				if (rfs_walk_parent(ctx, c->view, &dir,
						    &last) == 0) {
					rfs_push_entry(ctx, &told, dir, last);
					rfs_node_unref(&ctx->nodes, dir);
				}
			} else if (c->op == RFS_OP_RESIZE &&
				   (tv = rfs_tview_resolve(ctx, c->view))) {
				if (tv->kind == TV_VIEW && tv->is_virtual) {
					rfs_node_ref(&ctx->nodes, tv->node);
					g_ptr_array_add(told.resized, tv->node);
				}
				rfs_tview_free(ctx, tv);
			}
		}
	g_array_unref(cmds);
	g_string_free(msg, TRUE);
	struct resent *r = g_new(struct resent, 1);
	*r = (struct resent){req, size};
	rfs_push_send(ctx, &told, resent_told, r);
}

void rfs_control_write(struct rfs_ctx *ctx, fuse_req_t req,
		       struct rfs_control_handle *h, const char *buf,
		       size_t size)
{
	struct rfs_frame fr;
	uint64_t unique = ctx->done_uniques ? rfs_fuseio_request_unique() : 0;
	if ((unique & RFS_UNIQUE_RESEND) &&
	    g_hash_table_contains(
		ctx->done_uniques,
		(gpointer)(uintptr_t)(unique & ~RFS_UNIQUE_RESEND))) {
		answer_resent(ctx, req, buf, size);
		return;
	}
	g_mutex_lock(&h->lock);
	if (h->error) {
		g_string_free(h->error, TRUE);
		h->error = NULL;
	}
	rfs_framer_write(&h->framer, buf, size, &fr);
	g_mutex_unlock(&h->lock);
	act_on_frame(ctx, req, h, &fr, REPLY_WRITE, size);
}

void rfs_control_flush(struct rfs_ctx *ctx, fuse_req_t req,
		       struct rfs_control_handle *h)
{
	struct rfs_frame fr;
	g_mutex_lock(&h->lock);
	rfs_framer_close(&h->framer, &fr);
	g_mutex_unlock(&h->lock);
	act_on_frame(ctx, req, h, &fr, REPLY_FLUSH, 0);
}

void rfs_control_read(struct rfs_ctx *ctx, fuse_req_t req,
		      struct rfs_control_handle *h, size_t size)
{
	g_mutex_lock(&h->lock);
	if (h->error) {
		size_t n = MIN(size, h->error->len - h->error_pos);
		char *copy = g_memdup2(h->error->str + h->error_pos, n);
		h->error_pos += n;
		if (n == 0) { /* fully read: back to the state */
			g_string_free(h->error, TRUE);
			h->error = NULL;
		}
		g_mutex_unlock(&h->lock);
		fuse_reply_buf(req, copy, n);
		g_free(copy);
		return;
	}
	if (!h->snapshot) {
		g_mutex_unlock(&h->lock);
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = MIN(size, h->snapshot->len - h->snap_pos);
	char *copy = g_memdup2(h->snapshot->str + h->snap_pos, n);
	h->snap_pos += n;
	g_mutex_unlock(&h->lock);
	fuse_reply_buf(req, copy, n);
	g_free(copy);
}
