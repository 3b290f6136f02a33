/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plan.c - see plan.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "plan.h"

#include <errno.h>
#include <string.h>

int rfsl_rfp_args(uint64_t addr, uint64_t size, int prot, uint64_t pgoff,
		  uint64_t sys_ps, uint64_t *start, uint64_t *len)
{
	if (prot != 0)
		return EINVAL;
	uint64_t s = addr & ~(sys_ps - 1), l = size & ~(sys_ps - 1);
	if (l == 0 || s + l < s)
		return EINVAL;
	if (pgoff + l / sys_ps < pgoff)
		return EINVAL;
	*start = s;
	*len = l;
	return 0;
}

/* Whether two mappings map the same file with the same permissions. */
static bool same_kind(const struct rfsl_vma *a, const struct rfsl_vma *b)
{
	return a->major == b->major && a->minor == b->minor &&
	       a->inode == b->inode && a->readable == b->readable &&
	       a->writable == b->writable && a->executable == b->executable &&
	       a->shared == b->shared;
}

int rfsl_vmas_cover(const struct rfsl_vma *vmas, size_t n, uint64_t start,
		    uint64_t len)
{
	if (n == 0 || vmas[0].start > start || vmas[0].end <= start ||
	    !vmas[0].shared)
		return EINVAL;
	uint64_t end = start + len, pos = vmas[0].end;
	for (size_t i = 1; i < n && pos < end; i++) {
		if (vmas[i].start != pos || !same_kind(&vmas[0], &vmas[i]))
			return EINVAL;
		pos = vmas[i].end;
	}
	return pos >= end ? 0 : EINVAL;
}

int rfsl_rfp_pieces(const struct rfsl_vma *vmas, size_t n, uint64_t start,
		    uint64_t len, uint64_t pgoff, uint64_t sys_ps,
		    uint64_t mount_ps, uint64_t page_limit, GArray *pieces)
{
	guint orig = pieces->len;
	if (pgoff > UINT64_MAX / sys_ps)
		return EINVAL;
	uint64_t fbyte = pgoff * sys_ps, end = start + len, pos = start;
	if (fbyte > UINT64_MAX - len)
		return EINVAL;
	for (size_t i = 0; i < n && pos < end; i++) {
		const struct rfsl_vma *v = &vmas[i];
		uint64_t pend = MIN(v->end, end);
		uint64_t voff = v->offset + (pos - v->start);
		uint64_t plen = pend - pos, foff = fbyte + (pos - start);
		if (voff < v->offset || voff % mount_ps || plen % mount_ps ||
		    foff % mount_ps)
			goto bad;
		struct rfsl_piece p = {.vma = i,
				       .vpage = voff / mount_ps,
				       .fpage = foff / mount_ps,
				       .count = plen / mount_ps};
		if (p.count > page_limit || p.vpage > page_limit - p.count ||
		    p.fpage > page_limit - p.count)
			goto bad;
		g_array_append_val(pieces, p);
		pos = pend;
	}
	if (pos < end)
		goto bad;
	return 0;
bad:
	g_array_set_size(pieces, orig);
	return EINVAL;
}

/* Adds a run to out (a GArray of rfs_run); for rfs_pagemap_foreach. */
static int collect_run(const rfs_run *run, void *data)
{
	g_array_append_val((GArray *)data, *run);
	return 0;
}

int rfsl_state_view(const char *text, size_t len, const char *view,
		    struct rfsl_view_state *out, unsigned *err_line,
		    GString *err)
{
	memset(out, 0, sizeof(*out));
	if (rfsl_parse_state_header(text, len, &out->pagesize))
		out->pagesize = 0;
	GArray *cmds = rfs_cmds_new();
	int rc = rfs_parse(text, len, 1, NULL, cmds, err_line, err);
	if (rc) {
		g_array_unref(cmds);
		return rc;
	}
	/* Replays the commands naming the view on a map of its own. */
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	for (guint i = 0; i < cmds->len; i++) {
		const rfs_cmd *c = &g_array_index(cmds, rfs_cmd, i);
		if (strcmp(c->view, view) != 0)
			continue;
		switch (c->op) {
		case RFS_OP_CREATE:
			out->is_virtual = true;
			g_free(out->backing);
			out->backing = g_strdup(c->backing);
			out->pages = c->pages;
			rfs_pagemap_clear(m);
			break;
		case RFS_OP_REMOVE:
			out->is_virtual = false;
			g_clear_pointer(&out->backing, g_free);
			out->pages = 0;
			rfs_pagemap_clear(m);
			break;
		case RFS_OP_RESIZE:
			out->pages = c->pages;
			if (c->pages < UINT64_MAX)
				rfs_pagemap_reset(m, c->pages,
						  UINT64_MAX - c->pages);
			break;
		case RFS_OP_REMAP:
			if (c->count)
				rfs_pagemap_set(m, c->vpage, c->fpage,
						c->count);
			break;
		case RFS_OP_RESET:
			if (c->count)
				rfs_pagemap_reset(m, c->vpage, c->count);
			else
				rfs_pagemap_clear(m);
			break;
		case RFS_OP_INVALIDATE:
			break;
		}
	}
	out->runs = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	rfs_pagemap_foreach(m, collect_run, out->runs);
	rfs_pagemap_free(m);
	g_array_unref(cmds);
	return 0;
}

void rfsl_view_state_clear(struct rfsl_view_state *s)
{
	if (!s)
		return;
	g_free(s->backing);
	if (s->runs)
		g_array_unref(s->runs);
	memset(s, 0, sizeof(*s));
}

GArray *rfsl_runs_full(const rfs_run *runs, size_t n, uint64_t npages)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	uint64_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		if (runs[i].vpage > pos) {
			rfs_run id = {pos, pos, runs[i].vpage - pos};
			g_array_append_val(out, id);
		}
		g_array_append_val(out, runs[i]);
		pos = runs[i].vpage + runs[i].count;
	}
	if (npages > pos) {
		rfs_run id = {pos, pos, npages - pos};
		g_array_append_val(out, id);
	}
	return out;
}

/* A point where the number of runs covering backing pages changes. */
struct edge {
	uint64_t pos;
	int delta;
};

/* Orders edges by position. */
static gint edge_cmp(gconstpointer a, gconstpointer b)
{
	const struct edge *x = a, *y = b;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

GArray *rfsl_aliased(const rfs_run *runs, size_t n)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct rfsl_range));
	GArray *edges = g_array_sized_new(FALSE, FALSE, sizeof(struct edge),
					  (guint)(2 * n));
	for (size_t i = 0; i < n; i++) {
		if (!runs[i].count)
			continue;
		struct edge a = {runs[i].fpage, 1};
		struct edge b = {runs[i].fpage + runs[i].count, -1};
		g_array_append_val(edges, a);
		g_array_append_val(edges, b);
	}
	g_array_sort(edges, edge_cmp);
	int depth = 0;
	uint64_t open_at = 0;
	for (guint i = 0; i < edges->len;) {
		uint64_t pos = g_array_index(edges, struct edge, i).pos;
		int before = depth;
		for (; i < edges->len &&
		       g_array_index(edges, struct edge, i).pos == pos;
		     i++)
			depth += g_array_index(edges, struct edge, i).delta;
		if (before < 2 && depth >= 2) {
			open_at = pos;
		} else if (before >= 2 && depth < 2) {
			struct rfsl_range r = {open_at, pos - open_at};
			g_array_append_val(out, r);
		}
	}
	g_array_unref(edges);
	return out;
}

void rfsl_ranges_within(const struct rfsl_range *ranges, size_t n,
			uint64_t first, uint64_t count, GArray *out)
{
	uint64_t end = first + count;
	/* The first range that ends after `first`. */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ranges[mid].first + ranges[mid].count <= first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && ranges[i].first < end; i++) {
		uint64_t a = MAX(ranges[i].first, first);
		uint64_t b = MIN(ranges[i].first + ranges[i].count, end);
		if (a < b) {
			struct rfsl_range r = {a, b - a};
			g_array_append_val(out, r);
		}
	}
}

rfs_cmd rfsl_cmd_copy(const rfs_cmd *c)
{
	rfs_cmd d = *c;
	d.view = g_strdup(c->view);
	d.backing = g_strdup(c->backing);
	return d;
}

/* The create command for view in cmds, or NULL. */
static const rfs_cmd *find_create(const GArray *cmds, const char *view)
{
	for (guint i = 0; i < cmds->len; i++) {
		const rfs_cmd *c = &g_array_index(cmds, rfs_cmd, i);
		if (c->op == RFS_OP_CREATE && strcmp(c->view, view) == 0)
			return c;
	}
	return NULL;
}

/* Whether want's create `w` keeps the virtual view cur created with `c`. */
static bool keeps(const rfs_cmd *c, const rfs_cmd *w)
{
	return w && (w->has & RFS_HAS_PAGES) &&
	       strcmp(c->backing, w->backing) == 0;
}

void rfsl_state_replace(const GArray *cur, const GArray *want, GArray *out)
{
	GHashTable *removed = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTable *reset = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < cur->len; i++) {
		const rfs_cmd *c = &g_array_index(cur, rfs_cmd, i);
		if (c->op != RFS_OP_CREATE ||
		    keeps(c, find_create(want, c->view)))
			continue;
		rfs_cmd r = {.op = RFS_OP_REMOVE, .view = g_strdup(c->view)};
		g_array_append_val(out, r);
		g_hash_table_add(removed, c->view);
	}
	for (guint i = 0; i < cur->len; i++) {
		const rfs_cmd *c = &g_array_index(cur, rfs_cmd, i);
		if (c->op != RFS_OP_REMAP ||
		    g_hash_table_contains(removed, c->view) ||
		    g_hash_table_contains(reset, c->view))
			continue;
		rfs_cmd r = {.op = RFS_OP_RESET, .view = g_strdup(c->view)};
		g_array_append_val(out, r);
		g_hash_table_add(reset, c->view);
	}
	for (guint i = 0; i < want->len; i++) {
		const rfs_cmd *w = &g_array_index(want, rfs_cmd, i);
		rfs_cmd d = rfsl_cmd_copy(w);
		const rfs_cmd *c =
		    w->op == RFS_OP_CREATE ? find_create(cur, w->view) : NULL;
		if (c && keeps(c, w)) {
			g_clear_pointer(&d.backing, g_free);
			d.op = RFS_OP_RESIZE;
			d.has = RFS_HAS_PAGES;
		}
		g_array_append_val(out, d);
	}
	g_hash_table_unref(removed);
	g_hash_table_unref(reset);
}

/* Appends a range of pages as "a-b", or "a" for one page. */
static void append_range(GString *out, uint64_t first, uint64_t count)
{
	if (count == 1)
		g_string_append_printf(out, "%" G_GUINT64_FORMAT, first);
	else
		g_string_append_printf(
		    out, "%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, first,
		    first + count - 1);
}

void rfsl_show_table(GString *out, const rfs_run *runs, size_t n)
{
	static const char *const head[] = {"VIEW PAGES", "BACKING PAGES",
					   "COUNT", "MAP", "ALIASED"};
	enum { NCOL = G_N_ELEMENTS(head) };
	GArray *aliased = rfsl_aliased(runs, n);
	GArray *within = g_array_new(FALSE, FALSE, sizeof(struct rfsl_range));
	GPtrArray *cells = g_ptr_array_new_with_free_func(g_free);
	size_t width[NCOL];
	for (size_t c = 0; c < NCOL; c++) {
		width[c] = strlen(head[c]);
		g_ptr_array_add(cells, g_strdup(head[c]));
	}
	for (size_t i = 0; i < n; i++) {
		GString *cell[NCOL];
		for (size_t c = 0; c < NCOL; c++)
			cell[c] = g_string_new(NULL);
		append_range(cell[0], runs[i].vpage, runs[i].count);
		append_range(cell[1], runs[i].fpage, runs[i].count);
		g_string_append_printf(cell[2], "%" G_GUINT64_FORMAT,
				       runs[i].count);
		g_string_append(cell[3], runs[i].vpage == runs[i].fpage
					     ? "identity"
					     : "remap");
		g_array_set_size(within, 0);
		rfsl_ranges_within(
		    (const struct rfsl_range *)(void *)aliased->data,
		    aliased->len, runs[i].fpage, runs[i].count, within);
		/* A few ranges, then how many more (a huge view's cell
		 * would be a page long). */
		for (guint j = 0; j < MIN(within->len, RFSL_SHOW_RANGES); j++) {
			const struct rfsl_range *r =
			    &g_array_index(within, struct rfsl_range, j);
			if (j)
				g_string_append_c(cell[4], ',');
			append_range(cell[4], r->first, r->count);
		}
		if (within->len > RFSL_SHOW_RANGES)
			g_string_append_printf(cell[4], ",... (+%u more)",
					       within->len - RFSL_SHOW_RANGES);
		if (!within->len)
			g_string_append_c(cell[4], '-');
		for (size_t c = 0; c < NCOL; c++) {
			width[c] = MAX(width[c], cell[c]->len);
			g_ptr_array_add(cells, g_string_free(cell[c], FALSE));
		}
	}
	for (guint k = 0; k < cells->len; k++) {
		size_t c = k % NCOL;
		const char *s = cells->pdata[k];
		if (c == NCOL - 1)
			g_string_append_printf(out, "%s\n", s);
		else if (c == 2) /* numbers to the right */
			g_string_append_printf(out, "%*s  ", (int)width[c], s);
		else
			g_string_append_printf(out, "%-*s  ", (int)width[c], s);
	}
	g_ptr_array_unref(cells);
	g_array_unref(within);
	g_array_unref(aliased);
}
