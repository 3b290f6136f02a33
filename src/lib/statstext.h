/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* statstext.h - remapctl stats: the text of MOUNTPOINT/.stats (remapfs(1),
 * STATISTICS) turned into what a person reads, or into JSON for tools.
 * Pure: text in, text out. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Appends s (NULL: "") as a JSON string, quoted and escaped. */
void rfsl_json_string(GString *out, const char *s);

/* Appends the daemon's figures and one line per view (only the view of
 * inode ino when one_view, with its aliased pages when aliased >= 0; a
 * view that served nothing shows zeros) to out, as a table, or as one
 * JSON object when json.  Returns 0, or EINVAL (with nothing appended)
 * when text is not a statistics dump. */
int rfsl_stats_format(GString *out, const char *text, size_t len, bool json,
		      bool one_view, uint64_t ino, int64_t aliased);
