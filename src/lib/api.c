/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* api.c - the public functions of libremapfs (remapfs.h): commands built
 * with the protocol's formatter and sent through core.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "remapfs.h"
#include "api.h"
#include "core.h"
#include "plan.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Returns 0, or -1 with errno set to err. */
static int result(int err)
{
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* The view's size in pages, rounded up. */
static uint64_t view_pages(const struct stat *st, uint64_t pagesize)
{
	uint64_t size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
	return size / pagesize + (size % pagesize != 0);
}

/* Locates the view fd is open on: a regular file of a remapfs mount. */
static int locate_view(int fd, struct rfsl_target *t, struct stat *st)
{
	int err = rfsl_locate_fd(fd, t, st);
	if (!err && (!S_ISREG(st->st_mode) || !*t->view)) {
		err = rfsl_fail(EINVAL, "%s/%s is not a view (a regular file)",
				t->mountpoint, t->view);
		rfsl_target_clear(t);
	}
	return err;
}

/* A remap, reset or invalidate of t's view (st: its fstat) in *c, whose
 * view is borrowed from t.  count 0 (reset, invalidate): to the end. */
static int range_cmd(rfs_op op, const struct rfsl_target *t,
		     const struct stat *st, uint64_t vpage, uint64_t fpage,
		     uint64_t count, rfs_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->view = t->view;
	c->vpage = vpage;
	c->fpage = fpage;
	c->count = count;
	c->has = RFS_HAS_VPAGE | RFS_HAS_COUNT;
	if (op == RFS_OP_REMAP || count)
		return 0;
	if (vpage == 0) { /* the whole view */
		c->has = 0;
		return 0;
	}
	uint64_t pages = view_pages(st, t->pagesize);
	if (vpage >= pages)
		return rfsl_fail(
		    ERANGE,
		    "%s: view page %" PRIu64
		    " is past the end of the view (%" PRIu64 " page%s)",
		    rfs_op_name(op), vpage, pages, pages == 1 ? "" : "s");
	c->count = pages - vpage;
	return 0;
}

/* Sends one command to t's mount. */
static int send_cmd(const struct rfsl_target *t, const rfs_cmd *c)
{
	GString *text = g_string_new(NULL);
	rfs_cmd_format(text, c);
	int err = rfsl_transact(t->control, text->str, text->len, NULL);
	g_string_free(text, TRUE);
	return err;
}

/* remapfs_remap, _reset and _invalidate. */
static int range_op(rfs_op op, int fd, uint64_t vpage, uint64_t fpage,
		    uint64_t count)
{
	struct rfsl_target t;
	struct stat st;
	rfs_cmd c;
	int err = locate_view(fd, &t, &st);
	if (err)
		return result(err);
	err = range_cmd(op, &t, &st, vpage, fpage, count, &c);
	if (!err)
		err = send_cmd(&t, &c);
	rfsl_target_clear(&t);
	return result(err);
}

int remapfs_remap(int fd, uint64_t vpage, uint64_t fpage, uint64_t count)
{
	return range_op(RFS_OP_REMAP, fd, vpage, fpage, count);
}

int remapfs_reset(int fd, uint64_t vpage, uint64_t count)
{
	return range_op(RFS_OP_RESET, fd, vpage, 0, count);
}

int remapfs_invalidate(int fd, uint64_t vpage, uint64_t count)
{
	return range_op(RFS_OP_INVALIDATE, fd, vpage, 0, count);
}

int remapfs_create(int backing_fd, int dirfd, const char *path, uint64_t pages)
{
	struct rfsl_target tb, td;
	struct stat st;
	if (!path || !*path || path[strlen(path) - 1] == '/')
		return result(rfsl_fail(EINVAL, "create: bad view path '%s'",
					path ? path : "(null)"));
	int err = locate_view(backing_fd, &tb, &st);
	if (err)
		return result(err);
	char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	int dfd = openat(dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		err = errno;
		rfsl_fail(err, "create: %s: %s", dir, g_strerror(err));
	} else {
		err = rfsl_locate_fd(dfd, &td, NULL);
		close(dfd);
	}
	if (!err && td.dev != tb.dev)
		err = rfsl_fail(EXDEV,
				"create: %s is not in the mount of the backing"
				" file (%s)",
				path, tb.mountpoint);
	if (!err && (strcmp(base, ".") == 0 || strcmp(base, "..") == 0))
		err = rfsl_fail(EINVAL, "create: bad view name '%s'", base);
	if (!err) {
		char *view = *td.view ? g_strconcat(td.view, "/", base, NULL)
				      : g_strdup(base);
		rfs_cmd c = {
		    .op = RFS_OP_CREATE,
		    .view = view,
		    .backing = tb.view,
		    .pages = pages,
		    .has = pages != REMAPFS_BACKING_PAGES ? RFS_HAS_PAGES : 0};
		err = send_cmd(&tb, &c);
		g_free(view);
	}
	if (dfd >= 0)
		rfsl_target_clear(&td);
	rfsl_target_clear(&tb);
	g_free(dir);
	g_free(base);
	return result(err);
}

int remapfs_remove(int fd)
{
	struct rfsl_target t;
	struct stat st;
	int err = locate_view(fd, &t, &st);
	if (err)
		return result(err);
	rfs_cmd c = {.op = RFS_OP_REMOVE, .view = t.view};
	err = send_cmd(&t, &c);
	rfsl_target_clear(&t);
	return result(err);
}

int remapfs_resize(int fd, uint64_t pages)
{
	struct rfsl_target t;
	struct stat st;
	int err = locate_view(fd, &t, &st);
	if (err)
		return result(err);
	rfs_cmd c = {.op = RFS_OP_RESIZE,
		     .view = t.view,
		     .pages = pages,
		     .has = RFS_HAS_PAGES};
	err = send_cmd(&t, &c);
	rfsl_target_clear(&t);
	return result(err);
}

/* Reads what the state says of t's view. */
static int read_view_state(const struct rfsl_target *t,
			   struct rfsl_view_state *vs)
{
	GString *text = g_string_new(NULL);
	int err = rfsl_read_state(t->control, text);
	if (!err) {
		unsigned line = 0;
		GString *msg = g_string_new(NULL);
		err = rfsl_state_view(text->str, text->len, t->view, vs, &line,
				      msg);
		if (err)
			rfsl_fail(err, "%s: line %u: %s", t->control, line,
				  msg->str);
		g_string_free(msg, TRUE);
	}
	g_string_free(text, TRUE);
	return err;
}

int remapfs_get_map(int fd, int flags, remapfs_run **runs, size_t *nruns)
{
	struct rfsl_target t;
	struct rfsl_view_state vs;
	struct stat st;
	*runs = NULL;
	*nruns = 0;
	int err = locate_view(fd, &t, &st);
	if (err)
		return result(err);
	err = read_view_state(&t, &vs);
	if (!err) {
		GArray *a = vs.runs;
		if (flags & REMAPFS_MAP_FULL)
			a = rfsl_runs_full(
			    (rfs_run *)(void *)vs.runs->data, vs.runs->len,
			    vs.is_virtual ? vs.pages
					  : view_pages(&st, t.pagesize));
		if (a->len) {
			*runs = malloc(a->len * sizeof(**runs));
			if (!*runs)
				err = rfsl_fail(ENOMEM, "out of memory");
		}
		for (guint i = 0; !err && i < a->len; i++) {
			rfs_run r = g_array_index(a, rfs_run, i);
			(*runs)[i] = (remapfs_run){r.vpage, r.fpage, r.count};
		}
		if (!err)
			*nruns = a->len;
		if (a != vs.runs)
			g_array_unref(a);
		rfsl_view_state_clear(&vs);
	}
	rfsl_target_clear(&t);
	return result(err);
}

int remapfs_pagesize(int fd, size_t *pagesize)
{
	struct rfsl_target t;
	int err = rfsl_locate_fd(fd, &t, NULL);
	if (!err)
		*pagesize = (size_t)t.pagesize;
	rfsl_target_clear(&t);
	return result(err);
}

/* strdup that fails with ENOMEM instead of aborting (for public
 * results the caller frees with free()). */
static int dup_out(const char *s, char **out)
{
	*out = strdup(s ? s : "");
	return *out ? 0 : rfsl_fail(ENOMEM, "out of memory");
}

int remapfs_get_view_info(int fd, remapfs_view_info *info)
{
	struct rfsl_target t;
	struct rfsl_view_state vs;
	struct stat st;
	memset(info, 0, sizeof(*info));
	int err = locate_view(fd, &t, &st);
	if (err)
		return result(err);
	err = read_view_state(&t, &vs);
	if (!err) {
		info->pagesize = t.pagesize;
		info->is_virtual = vs.is_virtual;
		info->pages =
		    vs.is_virtual ? vs.pages : view_pages(&st, t.pagesize);
		err = dup_out(t.mountpoint, &info->mountpoint);
		if (!err)
			err = dup_out(t.view, &info->view);
		if (!err)
			err = dup_out(vs.is_virtual ? vs.backing : t.view,
				      &info->backing);
		if (err)
			remapfs_view_info_free(info);
		rfsl_view_state_clear(&vs);
	}
	rfsl_target_clear(&t);
	return result(err);
}

void remapfs_view_info_free(remapfs_view_info *info)
{
	if (!info)
		return;
	free(info->mountpoint);
	free(info->view);
	free(info->backing);
	memset(info, 0, sizeof(*info));
}

/* Reads the file name (".control" or ".stats") at the root of fd's
 * mount into a new malloc()ed, NUL-terminated *text of *len bytes. */
static int read_root_file(int fd, const char *name, char **text, size_t *len)
{
	struct rfsl_target t;
	*text = NULL;
	*len = 0;
	int err = rfsl_locate_fd(fd, &t, NULL);
	if (err)
		return result(err);
	char *path = g_build_filename(t.mountpoint, name, NULL);
	GString *s = g_string_new(NULL);
	err = rfsl_read_state(path, s); /* reads any file of the root */
	if (!err) {
		*text = malloc(s->len + 1);
		if (*text) {
			memcpy(*text, s->str, s->len + 1);
			*len = s->len;
		} else {
			err = rfsl_fail(ENOMEM, "out of memory");
		}
	}
	g_string_free(s, TRUE);
	g_free(path);
	rfsl_target_clear(&t);
	return result(err);
}

int remapfs_get_state(int fd, char **text, size_t *len)
{
	return read_root_file(fd, ".control", text, len);
}

int remapfs_get_stats(int fd, char **text, size_t *len)
{
	return read_root_file(fd, ".stats", text, len);
}

/* Parses a state text with the mount's limits into cmds. */
static int parse_state(const struct rfsl_target *t, const char *what,
		       const char *text, size_t len, GArray *cmds)
{
	rfs_parse_limits limits = {.page_limit =
				       (uint64_t)INT64_MAX / t->pagesize};
	unsigned line = 0;
	GString *msg = g_string_new(NULL);
	int err = rfs_parse(text, len, 1, &limits, cmds, &line, msg);
	if (err)
		rfsl_fail(err, "%s: line %u: %s", what, line, msg->str);
	g_string_free(msg, TRUE);
	return err;
}

int remapfs_load_state(int fd, const char *text, size_t len, int flags)
{
	return remapfs_load_state_progress(fd, text, len, flags, NULL, NULL);
}

int remapfs_load_state_progress(int fd, const char *text, size_t len, int flags,
				remapfs_progress_fn progress, void *data)
{
	struct rfsl_target t;
	uint64_t ps;
	int err = rfsl_locate_fd(fd, &t, NULL);
	if (err)
		return result(err);
	if (rfsl_parse_state_header(text, len, &ps) == 0 && ps != t.pagesize) {
		err = rfsl_fail(EINVAL,
				"the state is in pages of %" PRIu64
				" bytes, the mount's are %" PRIu64 " bytes",
				ps, t.pagesize);
		rfsl_target_clear(&t);
		return result(err);
	}
	GArray *want = rfs_cmds_new(), *cmds = want, *cur = NULL;
	err = parse_state(&t, "state", text, len, want);
	if (!err && (flags & REMAPFS_LOAD_REPLACE)) {
		GString *now = g_string_new(NULL);
		cur = rfs_cmds_new();
		err = rfsl_read_state(t.control, now);
		if (!err)
			err =
			    parse_state(&t, t.control, now->str, now->len, cur);
		g_string_free(now, TRUE);
		cmds = rfs_cmds_new();
		if (!err)
			rfsl_state_replace(cur, want, cmds);
	}
	if (!err) {
		GString *out = g_string_new(NULL);
		for (guint i = 0; i < cmds->len; i++)
			rfs_cmd_format(out, &g_array_index(cmds, rfs_cmd, i));
		unsigned line = 0;
		err = rfsl_transact_progress(t.control, out->str, out->len,
					     &line, progress, data);
		if (err && line > 0 && line <= cmds->len) {
			/* Point at the line of the text loaded. */
			const rfs_cmd *c =
			    &g_array_index(cmds, rfs_cmd, line - 1);
			char *m = g_strdup(rfsl_last_error());
			if (c->line)
				rfsl_fail(err, "line %u: %s", c->line, m);
			else
				rfsl_fail(err, "clearing the state first: %s",
					  m);
			g_free(m);
		}
		g_string_free(out, TRUE);
	}
	if (cmds != want)
		g_array_unref(cmds);
	g_array_unref(want);
	if (cur)
		g_array_unref(cur);
	rfsl_target_clear(&t);
	return result(err);
}

/* ---- remap_file_pages ---- */

/* The remaps a remap_file_pages() call asks for, as commands (views
 * borrowed from t) appended to cmds, with t the mount.  *is_view tells
 * whether addr is in a MAP_SHARED mapping of a remapfs view. */
static int rfp_plan(void *addr, size_t size, int prot, size_t pgoff,
		    bool *is_view, struct rfsl_target *t, GArray *cmds)
{
	uint64_t sps = (uint64_t)sysconf(_SC_PAGESIZE), start, len;
	*is_view = false;
	memset(t, 0, sizeof(*t));
	int err = rfsl_rfp_args((uintptr_t)addr, size, prot, pgoff, sps, &start,
				&len);
	if (err)
		return rfsl_fail(err,
				 "remap_file_pages: prot must be 0 and the"
				 " range at least one page, without wrapping");
	struct rfsl_vma v;
	bool found;
	err = rfsl_vma_at(start, &v, &found);
	if (err)
		return err;
	if (!found)
		return rfsl_fail(EINVAL, "%p is not in a mapping", addr);
	bool remapfs = false;
	if (v.shared && v.inode)
		err = rfsl_is_remapfs(v.major, v.minor, &remapfs);
	if (err || !remapfs) {
		rfsl_vma_clear(&v);
		return err ? err
			   : rfsl_fail(EINVAL,
				       "%p is not in a MAP_SHARED mapping of"
				       " a remapfs view",
				       addr);
	}
	*is_view = true;
	GArray *vmas = g_array_new(FALSE, FALSE, sizeof(struct rfsl_vma));
	g_array_set_clear_func(vmas, (GDestroyNotify)rfsl_vma_clear);
	g_array_append_val(vmas, v);
	/* The kernel lets the range run on over adjacent mappings of the
	 * same file with the same permissions. */
	while (!err && g_array_index(vmas, struct rfsl_vma, vmas->len - 1).end <
			   start + len) {
		uint64_t next =
		    g_array_index(vmas, struct rfsl_vma, vmas->len - 1).end;
		err = rfsl_vma_at(next, &v, &found);
		if (!err && !found)
			break;
		if (!err)
			g_array_append_val(vmas, v);
	}
	const struct rfsl_vma *vs = (const struct rfsl_vma *)(void *)vmas->data;
	if (!err && rfsl_vmas_cover(vs, vmas->len, start, len))
		err = rfsl_fail(EINVAL,
				"%p+%zu: the range leaves the mapping of the"
				" view",
				addr, size);
	if (!err && !vs[0].path)
		err =
		    rfsl_fail(EINVAL, "%p: the mapping has no file name", addr);
	if (!err)
		err = rfsl_locate(makedev(vs[0].major, vs[0].minor),
				  (ino_t)vs[0].inode, vs[0].path, t);
	GArray *pieces = g_array_new(FALSE, FALSE, sizeof(struct rfsl_piece));
	if (!err &&
	    rfsl_rfp_pieces(vs, vmas->len, start, len, pgoff, sps, t->pagesize,
			    (uint64_t)INT64_MAX / t->pagesize, pieces))
		err = rfsl_fail(EINVAL,
				"%p+%zu, page offset %zu: not a range of whole"
				" pages of the mount (%" PRIu64 " bytes)",
				addr, size, pgoff, t->pagesize);
	for (guint i = 0; !err && i < pieces->len; i++) {
		const struct rfsl_piece *p =
		    &g_array_index(pieces, struct rfsl_piece, i);
		rfs_cmd c = {.op = RFS_OP_REMAP,
			     .view = t->view,
			     .vpage = p->vpage,
			     .fpage = p->fpage,
			     .count = p->count,
			     .has = RFS_HAS_VPAGE | RFS_HAS_COUNT};
		g_array_append_val(cmds, c);
	}
	g_array_unref(pieces);
	g_array_unref(vmas);
	if (err)
		rfsl_target_clear(t);
	return err;
}

int rfsl_remap_file_pages(void *addr, size_t size, int prot, size_t pgoff,
			  int flags, bool *is_view)
{
	struct rfsl_target t;
	/* Commands borrowing t's view: no clear function. */
	GArray *cmds = g_array_new(FALSE, FALSE, sizeof(rfs_cmd));
	int err = rfp_plan(addr, size, prot, pgoff, is_view, &t, cmds);
	if (!err) {
		GString *text = g_string_new(NULL);
		for (guint i = 0; i < cmds->len; i++)
			rfs_cmd_format(text, &g_array_index(cmds, rfs_cmd, i));
		err = rfsl_transact(t.control, text->str, text->len, NULL);
		/* The system call knows one error for a bad range. */
		if (err == ERANGE)
			err = EINVAL;
		g_string_free(text, TRUE);
		rfsl_target_clear(&t);
	}
	g_array_unref(cmds);
	return err;
}

int remapfs_remap_file_pages(void *addr, size_t size, int prot, size_t pgoff,
			     int flags)
{
	bool is_view;
	return result(
	    rfsl_remap_file_pages(addr, size, prot, pgoff, flags, &is_view));
}

/* ---- batches ---- */

struct remapfs_batch {
	bool has_mount; /* set by the first command */
	dev_t dev;
	char *control;
	GArray *cmds; /* rfs_cmd, owning their strings */
};

remapfs_batch *remapfs_batch_new(void)
{
	remapfs_batch *b = calloc(1, sizeof(*b));
	if (!b) {
		errno = ENOMEM;
		return NULL;
	}
	b->cmds = rfs_cmds_new();
	return b;
}

void remapfs_batch_free(remapfs_batch *b)
{
	if (!b)
		return;
	g_array_unref(b->cmds);
	g_free(b->control);
	free(b);
}

size_t remapfs_batch_count(const remapfs_batch *b)
{
	return b ? b->cmds->len : 0;
}

/* Checks that t is the batch's mount (or makes it so). */
static int batch_mount(remapfs_batch *b, const struct rfsl_target *t)
{
	if (!b->has_mount || !b->cmds->len) {
		b->has_mount = true;
		b->dev = t->dev;
		g_free(b->control);
		b->control = g_strdup(t->control);
		return 0;
	}
	if (b->dev != t->dev)
		return rfsl_fail(EXDEV,
				 "%s/%s is in another mount than the batch's"
				 " commands (%s)",
				 t->mountpoint, t->view, b->control);
	return 0;
}

/* remapfs_batch_remap, _reset and _invalidate. */
static int batch_range(remapfs_batch *b, rfs_op op, int fd, uint64_t vpage,
		       uint64_t fpage, uint64_t count)
{
	struct rfsl_target t;
	struct stat st;
	rfs_cmd c;
	if (!b)
		return result(EINVAL);
	int err = locate_view(fd, &t, &st);
	if (err)
		return result(err);
	err = batch_mount(b, &t);
	if (!err)
		err = range_cmd(op, &t, &st, vpage, fpage, count, &c);
	if (!err) {
		c.view = g_strdup(c.view);
		g_array_append_val(b->cmds, c);
	}
	rfsl_target_clear(&t);
	return result(err);
}

int remapfs_batch_remap(remapfs_batch *b, int fd, uint64_t vpage,
			uint64_t fpage, uint64_t count)
{
	return batch_range(b, RFS_OP_REMAP, fd, vpage, fpage, count);
}

int remapfs_batch_reset(remapfs_batch *b, int fd, uint64_t vpage,
			uint64_t count)
{
	return batch_range(b, RFS_OP_RESET, fd, vpage, 0, count);
}

int remapfs_batch_invalidate(remapfs_batch *b, int fd, uint64_t vpage,
			     uint64_t count)
{
	return batch_range(b, RFS_OP_INVALIDATE, fd, vpage, 0, count);
}

int remapfs_batch_remap_file_pages(remapfs_batch *b, void *addr, size_t size,
				   size_t pgoff)
{
	struct rfsl_target t;
	bool is_view;
	if (!b)
		return result(EINVAL);
	GArray *cmds = g_array_new(FALSE, FALSE, sizeof(rfs_cmd));
	int err = rfp_plan(addr, size, 0, pgoff, &is_view, &t, cmds);
	if (!err)
		err = batch_mount(b, &t);
	for (guint i = 0; !err && i < cmds->len; i++) {
		rfs_cmd c = g_array_index(cmds, rfs_cmd, i);
		c.view = g_strdup(c.view);
		g_array_append_val(b->cmds, c);
	}
	if (is_view)
		rfsl_target_clear(&t);
	g_array_unref(cmds);
	return result(err);
}

int remapfs_batch_commit(remapfs_batch *b, int flags)
{
	if (!b)
		return result(EINVAL);
	GString *text = g_string_new(NULL);
	int err = 0;
	while (!err && b->cmds->len) {
		/* All of it (one explicit transaction when it does not fit
		 * one write), or with REMAPFS_BATCH_SPLIT as many commands
		 * as fit one write. */
		guint n = 0;
		g_string_truncate(text, 0);
		for (; n < b->cmds->len; n++) {
			gsize before = text->len;
			rfs_cmd_format(text,
				       &g_array_index(b->cmds, rfs_cmd, n));
			if ((flags & REMAPFS_BATCH_SPLIT) &&
			    text->len > rfsl_txn_max() && n > 0) {
				g_string_truncate(text, before);
				break;
			}
		}
		unsigned line = 0;
		err = rfsl_transact(b->control, text->str, text->len, &line);
		if (!err) {
			g_array_remove_range(b->cmds, 0, n);
		} else if (line) {
			char *m = g_strdup(rfsl_last_error());
			rfsl_fail(err, "command %u: %s", line, m);
			g_free(m);
		}
	}
	g_string_free(text, TRUE);
	return result(err);
}

/* ---- errors ---- */

const char *remapfs_strerror_last(void)
{
	return rfsl_last_error();
}
