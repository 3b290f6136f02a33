/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picture.c - a view's map as a picture and a summary (see picture.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "picture.h"
#include "plan.h"

#include <math.h>

#define SIDE 800  /* the plot's width and height in pixels */
#define MARGIN 60 /* room for the axes' labels */
#define GRID 200  /* cells per side of the aggregated picture */

/* The extent of the picture: view pages (x) and backing pages (y). */
struct extent {
	uint64_t vmax, fmax;
};

static struct extent extent_of(const rfs_run *runs, size_t n)
{
	struct extent e = {1, 1};
	for (size_t i = 0; i < n; i++) {
		e.vmax = MAX(e.vmax, runs[i].vpage + runs[i].count);
		e.fmax = MAX(e.fmax, runs[i].fpage + runs[i].count);
	}
	return e;
}

static double px(uint64_t page, uint64_t max)
{
	return MARGIN + (double)page * SIDE / (double)max;
}

/* One segment of slope 1: view pages v..v+count over backing pages f.. */
static void segment(GString *out, const struct extent *e, uint64_t v,
		    uint64_t f, uint64_t count, const char *cls)
{
	g_string_append_printf(out,
			       "<line class=\"%s\" x1=\"%.2f\" y1=\"%.2f\" "
			       "x2=\"%.2f\" y2=\"%.2f\"/>\n",
			       cls, px(v, e->vmax), px(f, e->fmax),
			       px(v + count, e->vmax), px(f + count, e->fmax));
}

/* The parts of run r that show aliased backing pages, as runs, into parts
 * (emptied first). */
static void aliased_parts(const rfs_run *r, const GArray *aliased,
			  GArray *parts)
{
	GArray *within = g_array_new(FALSE, FALSE, sizeof(struct rfsl_range));
	rfsl_ranges_within((const struct rfsl_range *)(void *)aliased->data,
			   aliased->len, r->fpage, r->count, within);
	g_array_set_size(parts, 0);
	for (guint j = 0; j < within->len; j++) {
		struct rfsl_range *a =
		    &g_array_index(within, struct rfsl_range, j);
		rfs_run p = {r->vpage + (a->first - r->fpage), a->first,
			     a->count};
		g_array_append_val(parts, p);
	}
	g_array_unref(within);
}

/* Every run drawn, aliased parts over them. */
static void draw_runs(GString *out, const rfs_run *runs, size_t n,
		      const struct extent *e, const GArray *aliased)
{
	GArray *within = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	for (size_t i = 0; i < n; i++) {
		const rfs_run *r = &runs[i];
		segment(out, e, r->vpage, r->fpage, r->count,
			r->vpage == r->fpage ? "identity" : "remap");
		aliased_parts(r, aliased, within);
		for (guint j = 0; j < within->len; j++) {
			rfs_run *a = &g_array_index(within, rfs_run, j);
			segment(out, e, a->vpage, a->fpage, a->count,
				"aliased");
		}
	}
	g_array_unref(within);
}

/* Adds count pages of the segment from (v, f) to the grid's cells. */
static void grid_add(guint64 *grid, const struct extent *e, uint64_t v,
		     uint64_t f, uint64_t count)
{
	while (count) {
		uint64_t cx = v * GRID / e->vmax, cy = f * GRID / e->fmax;
		/* pages left in this cell along either axis */
		uint64_t vend = ((cx + 1) * e->vmax + GRID - 1) / GRID;
		uint64_t fend = ((cy + 1) * e->fmax + GRID - 1) / GRID;
		uint64_t step = MIN(count, MIN(vend - v, fend - f));
		if (step == 0)
			step = 1;
		grid[MIN(cy, GRID - 1) * GRID + MIN(cx, GRID - 1)] += step;
		v += step;
		f += step;
		count -= step;
	}
}

/* The runs as shaded cells: darker where more pages fall. */
static void draw_grid(GString *out, const rfs_run *runs, size_t n,
		      const struct extent *e, const GArray *aliased)
{
	guint64 *all = g_new0(guint64, GRID * GRID);
	guint64 *remap = g_new0(guint64, GRID * GRID);
	guint64 *alias = g_new0(guint64, GRID * GRID);
	GArray *within = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	for (size_t i = 0; i < n; i++) {
		const rfs_run *r = &runs[i];
		grid_add(all, e, r->vpage, r->fpage, r->count);
		if (r->vpage != r->fpage)
			grid_add(remap, e, r->vpage, r->fpage, r->count);
		aliased_parts(r, aliased, within);
		for (guint j = 0; j < within->len; j++) {
			rfs_run *a = &g_array_index(within, rfs_run, j);
			grid_add(alias, e, a->vpage, a->fpage, a->count);
		}
	}
	guint64 most = 1;
	for (size_t c = 0; c < GRID * GRID; c++)
		most = MAX(most, all[c]);
	double cell = (double)SIDE / GRID;
	for (size_t c = 0; c < GRID * GRID; c++) {
		if (!all[c])
			continue;
		double shade =
		    0.25 + 0.75 * log1p((double)all[c]) / log1p((double)most);
		g_string_append_printf(
		    out,
		    "<rect class=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
		    "height=\"%.2f\" fill-opacity=\"%.2f\"/>\n",
		    alias[c]   ? "aliased"
		    : remap[c] ? "cell"
			       : "idcell",
		    MARGIN + (double)(c % GRID) * cell,
		    MARGIN + (double)(c / GRID) * cell, cell, cell, shade);
	}
	g_array_unref(within);
	g_free(alias);
	g_free(remap);
	g_free(all);
}

void rfsl_map_svg(GString *out, const rfs_run *runs, size_t n,
		  const char *title)
{
	struct extent e = extent_of(runs, n);
	GArray *aliased = rfsl_aliased(runs, n);
	char *t = g_markup_escape_text(title, -1);
	int full = SIDE + 2 * MARGIN;
	/* Lines as thick as half a page, within reason. */
	double stroke = CLAMP((double)SIDE / (2.0 * (double)e.vmax), 1.5, 6.0);
	g_string_append_printf(
	    out,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
	    "font-size=\"12\">\n"
	    "<title>%s</title>\n"
	    "<style>line{stroke-width:%.1f;stroke-linecap:butt}"
	    ".identity{stroke:#aaaaaa}.remap{stroke:#1f5fbf}"
	    ".aliased{stroke:#d62728;fill:#d62728}.cell{fill:#1f5fbf}.idcell{"
	    "fill:#aaaaaa}"
	    "</style>\n"
	    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	    "fill=\"white\" stroke=\"black\"/>\n",
	    full, full, full, full, t, stroke, MARGIN, MARGIN, SIDE, SIDE);
	if (n <= RFSL_PICTURE_MAX_RUNS)
		draw_runs(out, runs, n, &e, aliased);
	else
		draw_grid(out, runs, n, &e, aliased);
	g_string_append_printf(
	    out,
	    "<text x=\"%d\" y=\"%d\">%s</text>\n"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">view pages "
	    "0 .. %" G_GUINT64_FORMAT "</text>\n"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
	    "transform=\"rotate(-90 %d %d)\">backing pages 0 .. "
	    "%" G_GUINT64_FORMAT "</text>\n"
	    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%zu run%s%s</text>\n"
	    "</svg>\n",
	    MARGIN, MARGIN - 25, t, MARGIN + SIDE / 2, MARGIN - 8, e.vmax - 1,
	    MARGIN - 12, MARGIN + SIDE / 2, MARGIN - 12, MARGIN + SIDE / 2,
	    e.fmax - 1, MARGIN + SIDE, MARGIN + SIDE + 20, n, n == 1 ? "" : "s",
	    n > RFSL_PICTURE_MAX_RUNS ? ", shown as a grid of pages" : "");
	g_free(t);
	g_array_unref(aliased);
}

void rfsl_map_html(GString *out, const rfs_run *runs, size_t n,
		   const char *title)
{
	char *t = g_markup_escape_text(title, -1);
	g_string_append_printf(
	    out,
	    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>%s</title></head>\n<body>\n<h1 "
	    "style=\"font-family:sans-serif;font-size:16px\">%s</h1>\n",
	    t, t);
	rfsl_map_svg(out, runs, n, title);
	g_string_append(
	    out, "<p style=\"font-family:sans-serif;font-size:13px\">"
		 "<span style=\"color:#aaaaaa\">grey</span>: the identity; "
		 "<span style=\"color:#1f5fbf\">blue</span>: remapped pages; "
		 "<span style=\"color:#d62728\">red</span>: backing pages the "
		 "view shows more than once.</p>\n</body></html>\n");
	g_free(t);
}

void rfsl_map_summary(GString *out, const rfs_run *runs, size_t n)
{
	uint64_t pages = 0, id_runs = 0, id_pages = 0, fmax = 0;
	for (size_t i = 0; i < n; i++) {
		pages += runs[i].count;
		if (runs[i].vpage == runs[i].fpage) {
			id_runs++;
			id_pages += runs[i].count;
		}
		fmax = MAX(fmax, runs[i].fpage + runs[i].count);
	}
	GArray *aliased = rfsl_aliased(runs, n);
	uint64_t alias_pages = 0;
	for (guint i = 0; i < aliased->len; i++)
		alias_pages +=
		    g_array_index(aliased, struct rfsl_range, i).count;
	g_string_append_printf(
	    out,
	    "runs: %zu (identity %" G_GUINT64_FORMAT
	    ", remapped %" G_GUINT64_FORMAT ")\n"
	    "pages: %" G_GUINT64_FORMAT " (identity %" G_GUINT64_FORMAT
	    ", remapped %" G_GUINT64_FORMAT ")\n"
	    "backing pages shown: up to %" G_GUINT64_FORMAT "\n"
	    "aliased backing pages: %" G_GUINT64_FORMAT " in %u range%s\n",
	    n, id_runs, (uint64_t)n - id_runs, pages, id_pages,
	    pages - id_pages, fmax, alias_pages, aliased->len,
	    aliased->len == 1 ? "" : "s");
	g_array_unref(aliased);
}
