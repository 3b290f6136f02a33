/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* picture.h - a view's map as a picture (remapctl show --svg, --html) and
 * as a summary (--summary).  Pure: text in, text out.
 *
 * The picture puts view pages along x and backing pages along y (down):
 * each run is a segment of slope 1, the identity in grey, remapped runs
 * in blue, and the parts that show backing pages shown more than once
 * (aliased) in red.  Up to RFSL_PICTURE_MAX_RUNS runs each is drawn; a
 * larger map is aggregated into a grid of cells, each shaded by how many
 * of its pages the runs cover, so that the file stays small and readable
 * at a million runs. */
#pragma once
#include "pagemap.h"
#include <glib.h>

/* Beyond this many runs the picture is a grid. */
#define RFSL_PICTURE_MAX_RUNS 2000

/* Appends an SVG picture of the full runs (rfsl_runs_full) of a view,
 * titled title (escaped here). */
void rfsl_map_svg(GString *out, const rfs_run *runs, size_t n,
		  const char *title);
/* The same picture in an HTML page with a legend. */
void rfsl_map_html(GString *out, const rfs_run *runs, size_t n,
		   const char *title);
/* Appends a few lines that sum the full runs up: runs and pages, of the
 * identity and remapped, backing pages shown and aliased. */
void rfsl_map_summary(GString *out, const rfs_run *runs, size_t n);
