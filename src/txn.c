/* SPDX-License-Identifier: GPL-2.0-or-later */
/* txn.c - one transaction: parsed, checked against a simulation of the
 * state, applied, and the kernel told (see txn.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "txn.h"
#include "tview.h"
#include "dump.h"
#include "notify.h"
#include "pageset.h"
#include "protocol.h"
#include "push.h"
#include "stats.h"
#include "views.h"
#include "viewsets.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct txn {
	struct rfs_ctx *ctx;
	GArray *cmds;
	bool filled_pages;    /* a create got its page count from its backing */
	GHashTable *tviews;   /* path -> struct tview * */
	GPtrArray *tv_of_cmd; /* per command: its struct tview * */
	GPtrArray *backing_of; /* per command: backing node (ref) or NULL */
	GArray *invals;	       /* struct rfs_inval */
	struct rfs_push told;  /* names to forget, views resized */
	GPtrArray *touched;    /* views whose route/pin must be settled */
	GPtrArray *dropped;    /* nodes whose namespace ref ends */
	/* A large transaction is applied to copies of the maps it changes,
	 * without the state lock, and the copies take the maps' places in
	 * one short hold of it (see swap_in). */
	bool cow;
	GHashTable *works;   /* cow: live view -> struct work */
	GHashTable *created; /* cow: views made (a set), published by swap_in */
	GPtrArray *removed;  /* cow: views swap_in takes out */
	bool swapped;	     /* cow: swap_in took effect */
	/* cow, many views created or removed: the view sets with the change
	 * made, built off the lock (viewsets.h), or NULL */
	struct rfs_viewsets *sets;
	unsigned err_line;
	int err;
	GString *msg;
};

/* A view a large transaction changes: a copy of it whose map and route
 * are the working ones (the other fields are the live view's, not owned). */
struct work {
	struct rfs_view *view; /* the live view */
	struct rfs_view shadow;
	uint64_t gen; /* view->map_gen when copied */
	bool resized; /* shadow.pages is the new size */
};

/* Transactions larger than this (commands, or runs of the views they
 * name) are applied off the lock (cow). */
#define RFS_COW_CMDS 4096
#define RFS_COW_RUNS 65536

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

/* The tview of a path, resolved on first use. */
static struct tview *txn_tview(struct txn *t, const char *path)
{
	struct tview *tv = g_hash_table_lookup(t->tviews, path);
	if (!tv) {
		tv = rfs_tview_resolve(t->ctx, path);
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
				"%s: '%s' is the control file or the "
				"statistics file, not a view",
				op, tv->path);
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
				" is past the end of '%s' (%" PRIu64 " page%s)",
				op, c->vpage, tv->path, pages,
				pages == 1 ? "" : "s");
	if (c->count > pages - c->vpage)
		return txn_fail(t, c->line, ERANGE,
				"%s: view pages %" PRIu64 "..%" PRIu64
				" run past the end of '%s' (%" PRIu64
				" page%s)",
				op, c->vpage, c->vpage + c->count - 1, tv->path,
				pages, pages == 1 ? "" : "s");
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
	int err = rfs_walk_parent(t->ctx, c->backing, &dir, &last);
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

/* Whether the kernel may cache pages of v, which must then be routed and
 * invalidated.  A node the kernel does not know has nothing cached, and no
 * read of it is in flight (reading needs an open file, which holds a
 * lookup); off the lock (cow) it may get known before the swap, so every
 * view counts (invalidations of unknown nodes are skipped when sent). */
static bool view_cached(struct txn *t, struct rfs_view *v)
{
	return t->cow || rfs_node_known(&t->ctx->nodes, v->node);
}

/* The view whose map and route a command changes: v itself, or for a
 * large transaction its working copy (made on first use, the copy taken
 * under the reader lock). */
static struct rfs_view *work_view(struct txn *t, struct rfs_view *v)
{
	if (!t->cow)
		return v;
	if (g_hash_table_contains(t->created, v))
		return v; /* not published yet: nobody else sees it */
	struct work *w = g_hash_table_lookup(t->works, v);
	if (!w) {
		w = g_new0(struct work, 1);
		w->view = v;
		g_rw_lock_reader_lock(&t->ctx->state_lock);
		w->shadow = *v;
		w->shadow.map = rfs_pagemap_copy(v->map);
		w->shadow.route = rfs_pagemap_copy(v->route);
		w->gen = v->map_gen;
		g_rw_lock_reader_unlock(&t->ctx->state_lock);
		g_hash_table_insert(t->works, v, w);
	}
	return &w->shadow;
}

/* Appends to runs the pages of vpage..vpage+count-1 of v that the kernel
 * may cache, which must be routed and invalidated: those reads and writes
 * reached since the last invalidation (taken out of the node's set, as
 * the invalidation drops them; state_lock held for writing, so no read
 * translates meanwhile).  Off the lock (cow) reads go on meanwhile, so
 * every page counts. */
static void cached_runs(struct txn *t, struct rfs_view *v, uint64_t vpage,
			uint64_t count, GArray *runs)
{
	if (!view_cached(t, v))
		return;
	if (t->cow) {
		rfs_run r = {.vpage = vpage, .fpage = 0, .count = count};
		g_array_append_val(runs, r);
		return;
	}
	rfs_pageset_take(rfs_node_pageset(v->node), vpage, count, runs);
}

/* Resets vpage..vpage+count-1 to identity, pinning and invalidating only
 * the runs that change. */
static void apply_reset(struct txn *t, struct rfs_view *v, struct rfs_view *w,
			uint64_t vpage, uint64_t count)
{
	uint64_t end = vpage + count;
	GArray *ranges = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	rfs_run buf[64];
	uint64_t from = vpage;
	size_t n;
	while ((n = rfs_pagemap_runs(w->map, from, buf, G_N_ELEMENTS(buf)))) {
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
	GArray *cached = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	for (guint i = 0; i < ranges->len; i++) {
		rfs_run *r = &g_array_index(ranges, rfs_run, i);
		cached_runs(t, v, r->vpage, r->count, cached);
	}
	for (guint i = 0; i < cached->len; i++) {
		rfs_run *r = &g_array_index(cached, rfs_run, i);
		rfs_view_route_pin(w, r->vpage, r->count);
		add_inval_pages(t, v, r->vpage, r->count);
	}
	if (ranges->len) {
		rfs_pagemap_reset(w->map, vpage, count);
		rfs_view_map_changed(w);
		touch(t, v);
	}
	g_array_unref(cached);
	g_array_unref(ranges);
}

/* Maps vpage..vpage+count-1 to fpage.., pinning and invalidating them
 * unless they already map there. */
static void apply_remap(struct txn *t, struct rfs_view *v, struct rfs_view *w,
			uint64_t vpage, uint64_t fpage, uint64_t count)
{
	if (rfs_view_maps_to(w, vpage, fpage, count, false))
		return;
	GArray *cached = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	cached_runs(t, v, vpage, count, cached);
	for (guint i = 0; i < cached->len; i++) {
		rfs_run *r = &g_array_index(cached, rfs_run, i);
		rfs_view_route_pin(w, r->vpage, r->count);
	}
	rfs_pagemap_set(w->map, vpage, fpage, count);
	rfs_view_map_changed(w);
	rfs_count(&v->node->counters.remapped_pages, count);
	for (guint i = 0; i < cached->len; i++) {
		rfs_run *r = &g_array_index(cached, rfs_run, i);
		add_inval_pages(t, v, r->vpage, r->count);
	}
	g_array_unref(cached);
	touch(t, v);
}

/* Records that the kernel must forget the entry name in dir. */
static void add_entry_inval(struct txn *t, struct rfs_node *dir,
			    const char *name)
{
	rfs_push_entry(t->ctx, &t->told, dir, name);
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

/* Puts a new virtual view into its directory and the state.  state_lock
 * held for writing. */
static void publish(struct txn *t, struct rfs_view *v)
{
	struct rfs_node *dir = v->parent;
	if (!dir->virtuals)
		dir->virtuals = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(dir->virtuals, v->name, v);
	rfs_viewers_add(t->ctx, v);
	g_hash_table_add(t->ctx->views, v);
	if (!t->cow) /* cow: swapped_out adds them, unlocked */
		add_entry_inval(t, dir, v->name);
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
	if (c->has & RFS_HAS_PAGES) {
		v->pages = c->pages;
	} else {
		v->pages = fstat(backing->fd, &st) == 0
			       ? rfs_pages_of(ctx, st.st_size)
			       : 0;
		c->pages = v->pages; /* for the journal (rfs_txn_run) */
		c->has |= RFS_HAS_PAGES;
		t->filled_pages = true;
	}
	rfs_node_ref(&ctx->nodes, tv->dir);
	v->parent = tv->dir;
	v->name = g_strdup(tv->name);
	rfs_node_record_name(&ctx->nodes, node, tv->dir->id, tv->name);
	v->backing_path = g_strdup(c->backing);
	if (t->cow)
		g_hash_table_add(t->created, v);
	else
		publish(t, v);
	tv->cur = v;
}

/* Takes a virtual view out of the namespace; the node lives on while the
 * kernel holds it (open files keep working). */
static void apply_remove(struct txn *t, struct rfs_view *v)
{
	if (t->cow && g_hash_table_remove(t->created, v)) {
		/* made and removed by this transaction: never seen */
		g_ptr_array_add(t->dropped, v->node);
		return;
	}
	if (t->cow) { /* swap_in takes it out */
		g_ptr_array_add(t->removed, v);
		return;
	}
	add_entry_inval(t, v->parent, v->name);
	rfs_view_unlist(t->ctx, v);
	g_ptr_array_add(t->dropped, v->node);
}

/* Applies every command; state_lock held for writing (for a large
 * transaction: not held, and only working copies and unpublished views
 * change).  Cannot fail once the checks passed, except when a view
 * vanished meanwhile (then nothing is applied). */
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
		struct rfs_view *w = c->op == RFS_OP_REMAP ||
					     c->op == RFS_OP_RESET ||
					     c->op == RFS_OP_RESIZE
					 ? work_view(t, v)
					 : v;
		switch (c->op) {
		case RFS_OP_REMAP:
			apply_remap(t, v, w, c->vpage, c->fpage, c->count);
			break;
		case RFS_OP_RESET:
			if (!(c->has & RFS_HAS_VPAGE))
				apply_reset(t, v, w, 0, UINT64_MAX);
			else
				apply_reset(t, v, w, c->vpage, c->count);
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
			if (c->pages < w->pages)
				apply_reset(t, v, w, c->pages,
					    UINT64_MAX - c->pages);
			/* Past the smaller end, what the kernel holds is
			 * stale: pages cut off, or zeros it filled in after
			 * a short read while it took the view for larger. */
			if (c->pages != w->pages)
				add_inval_pages(t, v, MIN(c->pages, w->pages),
						ctx->page_limit);
			w->pages = c->pages;
			if (w != v)
				((struct work *)g_hash_table_lookup(t->works,
								    v))
				    ->resized = true;
			add_inval(t, v->node, -1, 0);
			rfs_node_ref(&ctx->nodes, v->node);
			g_ptr_array_add(t->told.resized, v->node);
			break;
		case RFS_OP_REMOVE:
			apply_remove(t, v);
			tv->cur = NULL;
			break;
		}
	}
	return 0;
}

/* Whether the transaction is large enough to be applied off the lock:
 * many commands, or views of many runs. */
static bool txn_is_large(struct txn *t)
{
	if (t->cmds->len > RFS_COW_CMDS)
		return true;
	uint64_t runs = 0;
	GHashTableIter it;
	gpointer val;
	g_rw_lock_reader_lock(&t->ctx->state_lock);
	g_hash_table_iter_init(&it, t->tviews);
	while (g_hash_table_iter_next(&it, NULL, &val)) {
		struct tview *tv = val;
		if (tv->kind == TV_VIEW && tv->node->view)
			runs += rfs_pagemap_nruns(tv->node->view->map);
	}
	g_rw_lock_reader_unlock(&t->ctx->state_lock);
	return runs > RFS_COW_RUNS;
}

/* Before a large transaction is applied off the lock: the SOURCE files it
 * names have their views (made on first use; virtual views exist
 * already).  Takes state_lock for writing only when there are some. */
static void prepare_views(struct txn *t)
{
	GPtrArray *mirrored = g_ptr_array_new();
	GHashTableIter it;
	gpointer val;
	g_hash_table_iter_init(&it, t->tviews);
	while (g_hash_table_iter_next(&it, NULL, &val)) {
		struct tview *tv = val;
		if (tv->kind == TV_VIEW && !tv->is_virtual)
			g_ptr_array_add(mirrored, tv);
	}
	if (mirrored->len) {
		g_rw_lock_writer_lock(&t->ctx->state_lock);
		for (guint i = 0; i < mirrored->len; i++)
			cur_view(t, mirrored->pdata[i]);
		g_rw_lock_writer_unlock(&t->ctx->state_lock);
	}
	g_ptr_array_unref(mirrored);
}

/* Fails a large transaction whose view changed through the mount while
 * it was applied off the lock. */
static int changed_meanwhile(struct txn *t, const char *name)
{
	return txn_fail(t, 0, EAGAIN,
			"'%s' changed meanwhile (truncated, renamed or "
			"removed through the mount); nothing applied, send it "
			"again",
			name ? name : "?");
}

/* A large transaction takes effect: its working maps take the live maps'
 * places, views it removed leave, views it created appear, all in one
 * hold of the lock, so that readers see all of it or none.  Fails (and
 * nothing takes effect) when a map changed since it was copied (a
 * truncation through the mount).  state_lock held for writing. */
static int swap_in(struct txn *t)
{
	GHashTableIter it;
	gpointer val;
	g_hash_table_iter_init(&it, t->works);
	while (g_hash_table_iter_next(&it, NULL, &val)) {
		struct work *w = val;
		if (w->view->map_gen != w->gen || w->view->removed)
			return changed_meanwhile(t, w->view->name);
	}
	/* The view sets built off the lock, if nothing changed them since;
	 * else they change one by one. */
	bool sets_done = t->sets && rfs_viewsets_swap(t->ctx, t->sets);
	for (guint i = 0; !sets_done && i < t->removed->len; i++) {
		struct rfs_view *v = t->removed->pdata[i];
		if (v->removed)
			return changed_meanwhile(t, v->name);
	}
	g_hash_table_iter_init(&it, t->created);
	while (!sets_done && g_hash_table_iter_next(&it, &val, NULL)) {
		struct rfs_view *v = val;
		if (v->parent->virtuals &&
		    g_hash_table_contains(v->parent->virtuals, v->name))
			return changed_meanwhile(t, v->name);
	}
	g_hash_table_iter_init(&it, t->works);
	while (g_hash_table_iter_next(&it, NULL, &val)) {
		struct work *w = val;
		struct rfs_view *v = w->view;
		rfs_pagemap *map = v->map, *route = v->route;
		v->map = w->shadow.map;
		v->route = w->shadow.route;
		w->shadow.map = map; /* the old ones, freed unlocked */
		w->shadow.route = route;
		if (w->resized)
			v->pages = w->shadow.pages;
		rfs_view_map_changed(v);
	}
	for (guint i = 0; !sets_done && i < t->removed->len; i++)
		rfs_view_unlist(t->ctx, t->removed->pdata[i]);
	g_hash_table_iter_init(&it, t->created);
	while (!sets_done && g_hash_table_iter_next(&it, &val, NULL))
		publish(t, val);
	t->swapped = true;
	return 0;
}

/* After swap_in, unlocked: the names the kernel must forget, and the
 * namespace's references of the removed views. */
static void swapped_out(struct txn *t)
{
	for (guint i = 0; i < t->removed->len; i++) {
		struct rfs_view *v = t->removed->pdata[i];
		add_entry_inval(t, v->parent, v->name);
		g_ptr_array_add(t->dropped, v->node);
	}
	GHashTableIter it;
	gpointer val;
	g_hash_table_iter_init(&it, t->created);
	while (g_hash_table_iter_next(&it, &val, NULL)) {
		struct rfs_view *v = val;
		add_entry_inval(t, v->parent, v->name);
	}
	g_hash_table_remove_all(t->created); /* the namespace's now */
}

/* After the view sets were swapped in whole: the removed views are marked
 * so, a slice per hold of the lock (nothing but this thread reads the
 * mark before the transaction returns; the sets say what is listed). */
static void mark_removed(struct txn *t)
{
	for (guint i = 0; i < t->removed->len;) {
		g_rw_lock_writer_lock(&t->ctx->state_lock);
		for (guint end = MIN(i + RFS_VIEWSETS_MIN, t->removed->len);
		     i < end; i++)
			((struct rfs_view *)t->removed->pdata[i])->removed =
			    true;
		g_rw_lock_writer_unlock(&t->ctx->state_lock);
	}
}

/* Applies the checked transaction: in one hold of the lock, or, when it
 * is large, off the lock with a short hold to swap it in. */
static void apply(struct txn *t)
{
	struct rfs_ctx *ctx = t->ctx;
	t->cow = txn_is_large(t);
	if (!t->cow) {
		g_mutex_lock(&ctx->viewsets_lock);
		g_rw_lock_writer_lock(&ctx->state_lock);
		apply_all(t);
		g_rw_lock_writer_unlock(&ctx->state_lock);
		g_mutex_unlock(&ctx->viewsets_lock);
		return;
	}
	t->works = g_hash_table_new(NULL, NULL);
	t->created = g_hash_table_new(NULL, NULL);
	t->removed = g_ptr_array_new();
	prepare_views(t);
	if (apply_all(t))
		return;
	g_mutex_lock(&ctx->viewsets_lock);
	if (t->removed->len + g_hash_table_size(t->created) >=
	    RFS_VIEWSETS_MIN) {
		const char *clash = NULL;
		t->sets =
		    rfs_viewsets_build(ctx, t->removed, t->created, &clash);
		if (!t->sets) {
			g_mutex_unlock(&ctx->viewsets_lock);
			changed_meanwhile(t, clash);
			return;
		}
	}
	g_rw_lock_writer_lock(&ctx->state_lock);
	swap_in(t);
	g_rw_lock_writer_unlock(&ctx->state_lock);
	if (t->sets && t->swapped)
		mark_removed(t);
	g_mutex_unlock(&ctx->viewsets_lock);
	rfs_viewsets_free(t->sets); /* the sets replaced, unlocked */
	t->sets = NULL;
	if (t->swapped)
		swapped_out(t);
}

/* Sends the transaction's page invalidations. */
static void send_invals(struct txn *t)
{
	rfs_invals_send_wide(t->ctx, t->invals);
}

/* Frees a transaction and every reference it holds. */
static void txn_free(struct txn *t)
{
	struct rfs_nodes *nodes = &t->ctx->nodes;
	GHashTableIter it;
	gpointer val;
	g_hash_table_iter_init(&it, t->tviews);
	while (g_hash_table_iter_next(&it, NULL, &val))
		rfs_tview_free(t->ctx, val);
	g_hash_table_unref(t->tviews);
	for (guint i = 0; i < t->backing_of->len; i++)
		if (t->backing_of->pdata[i])
			rfs_node_unref(nodes, t->backing_of->pdata[i]);
	rfs_invals_free(t->ctx, t->invals);
	rfs_push_clear(t->ctx, &t->told);
	for (guint i = 0; i < t->touched->len; i++)
		rfs_node_unref(nodes,
			       ((struct rfs_view *)t->touched->pdata[i])->node);
	for (guint i = 0; i < t->dropped->len; i++)
		rfs_node_unref(nodes, t->dropped->pdata[i]);
	g_ptr_array_unref(t->tv_of_cmd);
	g_ptr_array_unref(t->backing_of);
	g_ptr_array_unref(t->touched);
	g_ptr_array_unref(t->dropped);
	if (t->works) {
		g_hash_table_iter_init(&it, t->works);
		while (g_hash_table_iter_next(&it, NULL, &val)) {
			struct work *w = val;
			rfs_pagemap_free(w->shadow.map);
			rfs_pagemap_free(w->shadow.route);
			g_free(w);
		}
		g_hash_table_unref(t->works);
	}
	/* Views made but never published (the transaction failed). */
	if (t->created) {
		g_hash_table_iter_init(&it, t->created);
		while (g_hash_table_iter_next(&it, &val, NULL))
			rfs_node_unref(nodes, ((struct rfs_view *)val)->node);
		g_hash_table_unref(t->created);
	}
	if (t->removed)
		g_ptr_array_unref(t->removed);
	g_array_unref(t->cmds);
	g_string_free(t->msg, TRUE);
	g_free(t);
}

/* Fills the journal record of an applied transaction: its commands when a
 * create got its page count from its backing file, and with -o restart
 * the orphan blocks (dump.h) of the views it removed that the kernel
 * holds, for a worker that replaces this one (the record of a transaction
 * that needs neither stays empty: its text as written). */
static void record_orphans(struct txn *t, GString *record)
{
	struct rfs_ctx *ctx = t->ctx;
	GString *orphans = g_string_new(NULL);
	if (record && ctx->opts.restart) {
		g_rw_lock_reader_lock(&ctx->state_lock);
		for (guint i = 0; i < t->dropped->len; i++) {
			struct rfs_node *n = t->dropped->pdata[i];
			if (n->view && n->view->removed &&
			    rfs_node_known(&ctx->nodes, n))
				rfs_dump_orphan(orphans, n->view);
		}
		g_rw_lock_reader_unlock(&ctx->state_lock);
	}
	for (guint i = 0;
	     record && (t->filled_pages || orphans->len) && i < t->cmds->len;
	     i++)
		rfs_cmd_format(record, &g_array_index(t->cmds, rfs_cmd, i));
	if (record)
		g_string_append_len(record, orphans->str, (gssize)orphans->len);
	g_string_free(orphans, TRUE);
}

/* Parses, checks and applies text as one transaction, sends the kernel
 * notifications and settles the route overlays.  Returns 0 or an errno,
 * with "line L: message" in msg. */
int rfs_txn_run(struct rfs_ctx *ctx, const char *text, size_t len,
		unsigned first_line, GString *msg, struct rfs_push *told,
		GString *record)
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
	rfs_push_init(&t->told);
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

	apply(t);
	if (t->err)
		goto out;

	send_invals(t);

	/* The routes are done: emptied (large ones swapped for empty maps,
	 * freed unlocked), pins settled. */
	GPtrArray *old_routes =
	    g_ptr_array_new_with_free_func((GDestroyNotify)rfs_pagemap_free);
	g_mutex_lock(&ctx->viewsets_lock); /* pins may change */
	g_rw_lock_writer_lock(&ctx->state_lock);
	for (guint i = 0; i < t->touched->len; i++) {
		struct rfs_view *v = t->touched->pdata[i];
		if (rfs_pagemap_nruns(v->route) > 1024) {
			g_ptr_array_add(old_routes, v->route);
			v->route = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);
		} else {
			rfs_pagemap_clear(v->route);
		}
		rfs_view_update_pin(ctx, v);
	}
	g_rw_lock_writer_unlock(&ctx->state_lock);
	g_mutex_unlock(&ctx->viewsets_lock);
	g_ptr_array_unref(old_routes);
	if (told) { /* the caller's references now */
		g_array_append_vals(told->entries, t->told.entries->data,
				    t->told.entries->len);
		g_array_set_size(t->told.entries, 0);
		g_ptr_array_extend_and_steal(told->resized, t->told.resized);
		t->told.resized = g_ptr_array_new();
	} else {
		rfs_push_entries_now(ctx, &t->told);
	}
	record_orphans(t, record);
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
