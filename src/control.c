/* control.c - .control transactions and notifications (see control.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "control.h"
#include "notify.h"
#include "protocol.h"
#include "dump.h"
#include "journal.h"
#include "state.h"
#include "framing.h"
#include "views.h"

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

/* A directory entry the kernel may cache and must forget. */
struct entry_inval {
	struct rfs_node *dir; /* ref */
	char *name;
};

enum tv_kind { TV_NONE, TV_VIEW, TV_OTHER, TV_CONTROL, TV_NODIR };

/* What a view path named in a transaction resolved to, and (sim_*) what
 * the commands checked so far have made of it. */
struct tview {
	char *path;
	const char *name;      /* last component, inside path */
	enum tv_kind kind;     /* at resolution */
	int dir_err;	       /* TV_NODIR: why the parent was not found */
	struct rfs_node *dir;  /* parent directory (ref), or NULL */
	struct rfs_node *node; /* the view's node (ref), TV_VIEW */
	bool is_virtual;
	uint64_t pages;
	enum tv_kind sim_kind;
	bool sim_virtual;
	uint64_t sim_pages;
	struct rfs_view *cur; /* apply: the view the path names now */
};

struct txn {
	struct rfs_ctx *ctx;
	GArray *cmds;
	GHashTable *tviews;    /* path -> struct tview * */
	GPtrArray *tv_of_cmd;  /* per command: its struct tview * */
	GPtrArray *backing_of; /* per command: backing node (ref) or NULL */
	GArray *invals;	       /* struct rfs_inval */
	GArray *entries;       /* struct entry_inval */
	GPtrArray *touched;    /* views whose route/pin must be settled */
	GPtrArray *dropped;    /* nodes whose namespace ref ends */
	unsigned err_line;
	int err;
	GString *msg;
};

/* Records the first error of a transaction; returns err. */
static int G_GNUC_PRINTF(4, 5)
    txn_fail(struct txn *t, unsigned line, int err, const char *fmt, ...)
{
	va_list ap;
	if (t->err)
		return t->err;
	t->err = err;
	t->err_line = line;
	va_start(ap, fmt);
	g_string_vprintf(t->msg, fmt, ap);
	va_end(ap);
	return err;
}

/* Walks the directories of a normalized path (all components but the
 * last) from the root.  Returns 0 with *dir (a daemon ref) and *last, or
 * an errno. */
static int walk_parent(struct rfs_ctx *ctx, const char *path,
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
		g_rw_lock_writer_lock(&ctx->state_lock);
		rfs_dir_set_parent(ctx, next, cur, comp);
		g_rw_lock_writer_unlock(&ctx->state_lock);
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
static struct tview *tview_resolve(struct rfs_ctx *ctx, const char *path)
{
	struct tview *tv = g_new0(struct tview, 1);
	struct stat st;
	tv->path = g_strdup(path);
	if (strcmp(path, RFS_CONTROL_NAME) == 0) {
		tv->kind = TV_CONTROL;
		goto out;
	}
	tv->dir_err = walk_parent(ctx, tv->path, &tv->dir, &tv->name);
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
static void tview_free(struct rfs_ctx *ctx, struct tview *tv)
{
	if (tv->dir)
		rfs_node_unref(&ctx->nodes, tv->dir);
	if (tv->node)
		rfs_node_unref(&ctx->nodes, tv->node);
	g_free(tv->path);
	g_free(tv);
}

/* The tview of a path, resolved on first use. */
static struct tview *txn_tview(struct txn *t, const char *path)
{
	struct tview *tv = g_hash_table_lookup(t->tviews, path);
	if (!tv) {
		tv = tview_resolve(t->ctx, path);
		g_hash_table_insert(t->tviews, tv->path, tv);
	}
	return tv;
}

/* Checks that tv names a view in the simulated state. */
static int need_view(struct txn *t, const rfs_cmd *c, struct tview *tv)
{
	const char *op = rfs_op_name(c->op);
	switch (tv->sim_kind) {
	case TV_VIEW:
		return 0;
	case TV_NONE:
		return txn_fail(t, c->line, ENOENT, "%s: no such view '%s'", op,
				tv->path);
	case TV_NODIR:
		return txn_fail(t, c->line, ENOENT,
				"%s: no such directory for '%s' (%s)", op,
				tv->path, g_strerror(tv->dir_err));
	case TV_OTHER:
		return txn_fail(t, c->line, EINVAL,
				"%s: '%s' is not a regular file", op, tv->path);
	case TV_CONTROL:
		return txn_fail(t, c->line, EPERM,
				"%s: the control file is not a view", op);
	}
	return EINVAL;
}

/* Checks a command's page range [vpage, vpage+count), when it has one,
 * against the simulated size of the view. */
static int check_range(struct txn *t, const rfs_cmd *c, struct tview *tv)
{
	const char *op = rfs_op_name(c->op);
	uint64_t pages = tv->sim_pages;
	if (!(c->has & RFS_HAS_VPAGE))
		return 0;
	if (c->vpage >= pages)
		return txn_fail(t, c->line, ERANGE,
				"%s: view page %" PRIu64
				" is past the end of '%s' (%" PRIu64 " pages)",
				op, c->vpage, tv->path, pages);
	if (c->count > pages - c->vpage)
		return txn_fail(t, c->line, ERANGE,
				"%s: view pages %" PRIu64 "..%" PRIu64
				" run past the end of '%s' (%" PRIu64 " pages)",
				op, c->vpage, c->vpage + c->count - 1, tv->path,
				pages);
	return 0;
}

/* Resolves a create's BACKING to a regular file of SOURCE: a node (ref)
 * and its size, or NULL after recording the error. */
static struct rfs_node *resolve_backing(struct txn *t, const rfs_cmd *c,
					off_t *size)
{
	struct rfs_node *dir;
	const char *last;
	struct stat st;
	int err = walk_parent(t->ctx, c->backing, &dir, &last);
	if (err) {
		txn_fail(t, c->line, ENOENT,
			 "create: no such backing file '%s' (%s)", c->backing,
			 g_strerror(err));
		return NULL;
	}
	int fd = openat(dir->fd, last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	rfs_node_unref(&t->ctx->nodes, dir);
	if (fd < 0 || fstat(fd, &st) < 0) {
		txn_fail(t, c->line, ENOENT,
			 "create: no such backing file '%s' (%s)", c->backing,
			 g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		txn_fail(t, c->line, EINVAL,
			 "create: backing '%s' is not a regular file",
			 c->backing);
		return NULL;
	}
	*size = st.st_size;
	return rfs_nodes_get(&t->ctx->nodes, fd, &st, false);
}

/* Checks one command against the simulated state and advances it. */
static int check_cmd(struct txn *t, guint i)
{
	rfs_cmd *c = &g_array_index(t->cmds, rfs_cmd, i);
	struct tview *tv = txn_tview(t, c->view);
	const char *op = rfs_op_name(c->op);
	int err;
	g_ptr_array_index(t->tv_of_cmd, i) = tv;

	switch (c->op) {
	case RFS_OP_REMAP:
		if ((err = need_view(t, c, tv)))
			return err;
		return check_range(t, c, tv);
	case RFS_OP_RESET:
	case RFS_OP_INVALIDATE:
		if ((err = need_view(t, c, tv)))
			return err;
		return check_range(t, c, tv);
	case RFS_OP_CREATE: {
		off_t size = 0;
		if (tv->sim_kind == TV_NODIR)
			return need_view(t, c, tv);
		if (tv->sim_kind != TV_NONE)
			return txn_fail(t, c->line, EEXIST,
					"create: '%s' already exists",
					tv->path);
		struct rfs_node *b = resolve_backing(t, c, &size);
		if (!b)
			return t->err;
		g_ptr_array_index(t->backing_of, i) = b;
		tv->sim_kind = TV_VIEW;
		tv->sim_virtual = true;
		tv->sim_pages = (c->has & RFS_HAS_PAGES)
				    ? c->pages
				    : rfs_pages_of(t->ctx, size);
		if (tv->sim_pages > t->ctx->page_limit)
			return txn_fail(t, c->line, ERANGE,
					"create: backing '%s' is too large",
					c->backing);
		return 0;
	}
	case RFS_OP_RESIZE:
	case RFS_OP_REMOVE:
		if ((err = need_view(t, c, tv)))
			return err;
		if (!tv->sim_virtual)
			return txn_fail(t, c->line, EPERM,
					"%s: '%s' is not a virtual view (%s)",
					op, tv->path,
					c->op == RFS_OP_RESIZE
					    ? "its size is its file's"
					    : "remove never touches SOURCE");
		if (c->op == RFS_OP_RESIZE)
			tv->sim_pages = c->pages;
		else
			tv->sim_kind = TV_NONE;
		return 0;
	}
	return txn_fail(t, c->line, EINVAL, "unknown command");
}

/* Adds an invalidation of a node's bytes [off, off+len). */
static void add_inval(struct txn *t, struct rfs_node *node, off_t off,
		      off_t len)
{
	rfs_invals_add(t->ctx, t->invals, node, off, len);
}

/* Adds an invalidation of view pages vpage..vpage+count-1. */
static void add_inval_pages(struct txn *t, struct rfs_view *v, uint64_t vpage,
			    uint64_t count)
{
	const struct rfs_ctx *ctx = t->ctx;
	off_t off = (off_t)(vpage << ctx->page_shift);
	off_t len = count >= ctx->page_limit - vpage
			? 0
			: (off_t)(count << ctx->page_shift);
	add_inval(t, v->node, off, len);
}

/* Remembers a view whose route overlay and pin are settled at the end. */
static void touch(struct txn *t, struct rfs_view *v)
{
	for (guint i = 0; i < t->touched->len; i++)
		if (t->touched->pdata[i] == v)
			return;
	rfs_node_ref(&t->ctx->nodes, v->node);
	g_ptr_array_add(t->touched, v);
}

/* Resets vpage..vpage+count-1 to identity, pinning and invalidating only
 * the runs that change. */
static void apply_reset(struct txn *t, struct rfs_view *v, uint64_t vpage,
			uint64_t count)
{
	uint64_t end = vpage + count;
	GArray *ranges = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	rfs_run buf[64];
	uint64_t from = vpage;
	size_t n;
	while ((n = rfs_pagemap_runs(v->map, from, buf, G_N_ELEMENTS(buf)))) {
		bool done = false;
		for (size_t i = 0; i < n && !done; i++) {
			uint64_t a = MAX(buf[i].vpage, vpage);
			uint64_t b = buf[i].vpage + buf[i].count;
			if (a >= end) {
				done = true;
				break;
			}
			b = MIN(b, end);
			rfs_run r = {.vpage = a, .count = b - a};
			g_array_append_val(ranges, r);
		}
		rfs_run *last = &buf[n - 1];
		if (done || last->vpage + last->count >= end)
			break;
		from = last->vpage + last->count;
	}
	bool cached = rfs_node_known(&t->ctx->nodes, v->node);
	for (guint i = 0; cached && i < ranges->len; i++) {
		rfs_run *r = &g_array_index(ranges, rfs_run, i);
		rfs_view_route_pin(v, r->vpage, r->count);
		add_inval_pages(t, v, r->vpage, r->count);
	}
	if (ranges->len) {
		rfs_pagemap_reset(v->map, vpage, count);
		rfs_view_map_changed(v);
		touch(t, v);
	}
	g_array_unref(ranges);
}

/* Maps vpage..vpage+count-1 to fpage.., pinning and invalidating them
 * unless they already map there. */
static void apply_remap(struct txn *t, struct rfs_view *v, uint64_t vpage,
			uint64_t fpage, uint64_t count)
{
	if (rfs_view_maps_to(v, vpage, fpage, count, false))
		return;
	/* A node the kernel does not know has nothing cached, and no read
	 * of it is in flight (reading needs an open file, which holds a
	 * lookup): then there is nothing to route or invalidate. */
	bool cached = rfs_node_known(&t->ctx->nodes, v->node);
	if (cached)
		rfs_view_route_pin(v, vpage, count);
	rfs_pagemap_set(v->map, vpage, fpage, count);
	rfs_view_map_changed(v);
	if (cached)
		add_inval_pages(t, v, vpage, count);
	touch(t, v);
}

/* Records that the kernel must forget the entry name in dir. */
static void add_entry_inval(struct txn *t, struct rfs_node *dir,
			    const char *name)
{
	struct entry_inval e = {.dir = dir, .name = g_strdup(name)};
	rfs_node_ref(&t->ctx->nodes, dir);
	g_array_append_val(t->entries, e);
}

/* The view a tview names now, during apply. */
static struct rfs_view *cur_view(struct txn *t, struct tview *tv)
{
	if (!tv->cur && tv->kind == TV_VIEW) {
		tv->cur = rfs_node_view(tv->node);
		if (!tv->is_virtual && tv->cur->parent != tv->dir) {
			/* Remember the name it was used by, for dumps. */
			rfs_node_ref(&t->ctx->nodes, tv->dir);
			if (tv->cur->parent)
				rfs_node_unref(&t->ctx->nodes, tv->cur->parent);
			tv->cur->parent = tv->dir;
			g_free(tv->cur->name);
			tv->cur->name = g_strdup(tv->name);
		} else if (!tv->is_virtual &&
			   g_strcmp0(tv->cur->name, tv->name) != 0) {
			g_free(tv->cur->name);
			tv->cur->name = g_strdup(tv->name);
		}
	}
	return tv->cur;
}

/* Creates a virtual view as command c says. */
static void apply_create(struct txn *t, guint i, struct tview *tv)
{
	struct rfs_ctx *ctx = t->ctx;
	rfs_cmd *c = &g_array_index(t->cmds, rfs_cmd, i);
	struct rfs_node *backing = g_ptr_array_index(t->backing_of, i);
	struct rfs_node *node =
	    rfs_nodes_new_special(&ctx->nodes, RFS_NODE_VIRTUAL, S_IFREG);
	struct rfs_view *v;
	struct stat st;

	rfs_node_ref(&ctx->nodes, backing);
	v = rfs_view_new(node, backing, true);
	node->view = v;
	if (c->has & RFS_HAS_PAGES)
		v->pages = c->pages;
	else
		v->pages = fstat(backing->fd, &st) == 0
			       ? rfs_pages_of(ctx, st.st_size)
			       : 0;
	rfs_node_ref(&ctx->nodes, tv->dir);
	v->parent = tv->dir;
	v->name = g_strdup(tv->name);
	v->backing_path = g_strdup(c->backing);
	if (!tv->dir->virtuals)
		tv->dir->virtuals = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(tv->dir->virtuals, v->name, v);
	rfs_viewers_add(v);
	g_hash_table_add(ctx->views, v);
	add_entry_inval(t, tv->dir, tv->name);
	tv->cur = v;
}

/* Takes a virtual view out of the namespace; the node lives on while the
 * kernel holds it (open files keep working). */
static void apply_remove(struct txn *t, struct rfs_view *v)
{
	add_entry_inval(t, v->parent, v->name);
	rfs_view_unlist(t->ctx, v);
	g_ptr_array_add(t->dropped, v->node);
}

/* Applies every command; state_lock held for writing.  Cannot fail once
 * the checks passed, except when a view vanished meanwhile (then nothing
 * is applied). */
static int apply_all(struct txn *t)
{
	struct rfs_ctx *ctx = t->ctx;
	GHashTableIter it;
	gpointer val;

	g_hash_table_iter_init(&it, t->tviews);
	while (g_hash_table_iter_next(&it, NULL, &val)) {
		struct tview *tv = val;
		if (tv->kind == TV_VIEW && tv->is_virtual &&
		    tv->node->view->removed)
			return txn_fail(t, 0, ENOENT,
					"'%s' was removed meanwhile", tv->path);
	}
	for (guint i = 0; i < t->cmds->len; i++) {
		rfs_cmd *c = &g_array_index(t->cmds, rfs_cmd, i);
		struct tview *tv = g_ptr_array_index(t->tv_of_cmd, i);
		struct rfs_view *v =
		    c->op == RFS_OP_CREATE ? NULL : cur_view(t, tv);
		switch (c->op) {
		case RFS_OP_REMAP:
			apply_remap(t, v, c->vpage, c->fpage, c->count);
			break;
		case RFS_OP_RESET:
			if (!(c->has & RFS_HAS_VPAGE))
				apply_reset(t, v, 0, UINT64_MAX);
			else
				apply_reset(t, v, c->vpage, c->count);
			break;
		case RFS_OP_INVALIDATE:
			if (!(c->has & RFS_HAS_VPAGE))
				add_inval(t, v->node, 0, 0);
			else
				add_inval_pages(t, v, c->vpage, c->count);
			break;
		case RFS_OP_CREATE:
			apply_create(t, i, tv);
			break;
		case RFS_OP_RESIZE:
			if (c->pages < v->pages) {
				apply_reset(t, v, c->pages,
					    UINT64_MAX - c->pages);
				add_inval_pages(t, v, c->pages,
						ctx->page_limit);
			}
			v->pages = c->pages;
			add_inval(t, v->node, -1, 0);
			break;
		case RFS_OP_REMOVE:
			apply_remove(t, v);
			tv->cur = NULL;
			break;
		}
	}
	return 0;
}

/* Sends the transaction's invalidations and forgotten entries. */
static void send_invals(struct txn *t)
{
	struct rfs_ctx *ctx = t->ctx;
	rfs_invals_send(ctx, t->invals);
	for (guint i = 0; i < t->entries->len; i++) {
		struct entry_inval *e =
		    &g_array_index(t->entries, struct entry_inval, i);
		if (ctx->se && (e->dir == ctx->nodes.root ||
				rfs_node_known(&ctx->nodes, e->dir)))
			fuse_lowlevel_notify_inval_entry(
			    ctx->se, rfs_ino_of(ctx, e->dir), e->name,
			    strlen(e->name));
	}
}

/* Frees a transaction and every reference it holds. */
static void txn_free(struct txn *t)
{
	struct rfs_nodes *nodes = &t->ctx->nodes;
	GHashTableIter it;
	gpointer val;
	g_hash_table_iter_init(&it, t->tviews);
	while (g_hash_table_iter_next(&it, NULL, &val))
		tview_free(t->ctx, val);
	g_hash_table_unref(t->tviews);
	for (guint i = 0; i < t->backing_of->len; i++)
		if (t->backing_of->pdata[i])
			rfs_node_unref(nodes, t->backing_of->pdata[i]);
	rfs_invals_free(t->ctx, t->invals);
	for (guint i = 0; i < t->entries->len; i++) {
		struct entry_inval *e =
		    &g_array_index(t->entries, struct entry_inval, i);
		rfs_node_unref(nodes, e->dir);
		g_free(e->name);
	}
	for (guint i = 0; i < t->touched->len; i++)
		rfs_node_unref(nodes,
			       ((struct rfs_view *)t->touched->pdata[i])->node);
	for (guint i = 0; i < t->dropped->len; i++)
		rfs_node_unref(nodes, t->dropped->pdata[i]);
	g_ptr_array_unref(t->tv_of_cmd);
	g_ptr_array_unref(t->backing_of);
	g_ptr_array_unref(t->touched);
	g_ptr_array_unref(t->dropped);
	g_array_unref(t->entries);
	g_array_unref(t->cmds);
	g_string_free(t->msg, TRUE);
	g_free(t);
}

/* Parses, checks and applies text as one transaction, sends the kernel
 * notifications and settles the route overlays.  Returns 0 or an errno,
 * with "line L: message" in msg. */
static int run_txn(struct rfs_ctx *ctx, const char *text, size_t len,
		   unsigned first_line, GString *msg)
{
	struct txn *t = g_new0(struct txn, 1);
	rfs_parse_limits limits = {.page_limit = ctx->page_limit};
	int err;

	t->ctx = ctx;
	t->cmds = rfs_cmds_new();
	t->tviews = g_hash_table_new(g_str_hash, g_str_equal);
	t->tv_of_cmd = g_ptr_array_new();
	t->backing_of = g_ptr_array_new();
	t->invals = rfs_invals_new();
	t->entries = g_array_new(FALSE, FALSE, sizeof(struct entry_inval));
	t->touched = g_ptr_array_new();
	t->dropped = g_ptr_array_new();
	t->msg = g_string_new(NULL);

	err = rfs_parse(text, len, first_line, &limits, t->cmds, &t->err_line,
			t->msg);
	if (err) {
		t->err = err;
		goto out;
	}
	g_ptr_array_set_size(t->tv_of_cmd, t->cmds->len);
	g_ptr_array_set_size(t->backing_of, t->cmds->len);
	for (guint i = 0; i < t->cmds->len; i++)
		if (check_cmd(t, i))
			goto out;

	g_rw_lock_writer_lock(&ctx->state_lock);
	apply_all(t);
	g_rw_lock_writer_unlock(&ctx->state_lock);
	if (t->err)
		goto out;

	send_invals(t);

	g_rw_lock_writer_lock(&ctx->state_lock);
	for (guint i = 0; i < t->touched->len; i++) {
		struct rfs_view *v = t->touched->pdata[i];
		rfs_pagemap_clear(v->route);
		rfs_view_update_pin(ctx, v);
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
out:
	err = t->err;
	if (err && msg) {
		if (t->err_line)
			g_string_printf(msg, "line %u: %s", t->err_line,
					t->msg->str);
		else
			g_string_assign(msg, t->msg->str);
	}
	txn_free(t);
	return err;
}

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
	g_free(j->text);
	g_free(j);
}

/* Writes a snapshot of the whole state to the journal.  Returns 0 or a
 * positive errno (logged). */
static int take_snapshot(struct rfs_control *ctl)
{
	GString *dump = rfs_dump_state(ctl->ctx);
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
		reply_job(g->jobs->pdata[i], err, msg);
		job_free(g->jobs->pdata[i]);
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
	if (!err)
		err = run_txn(ctl->ctx, j->text, j->len, j->first_line, msg);
	if (!err && !journaled)
		ctl->snapshot_due = ctl->journal != NULL;
	if (!err && journaled) {
		rfs_state_record(g->records, 'T', j->text, j->len);
		g_ptr_array_add(g->jobs, j);
	} else {
		reply_job(j, err, msg->str);
		job_free(j);
	}
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
		queue_txn(ctx, j, fr->text, fr->len);
		fr->text = NULL; /* taken over */
		break;
	}
	}
	rfs_frame_clear(fr);
}

void rfs_control_write(struct rfs_ctx *ctx, fuse_req_t req,
		       struct rfs_control_handle *h, const char *buf,
		       size_t size)
{
	struct rfs_frame fr;
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
