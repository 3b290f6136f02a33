/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* statstext.c - formatting .stats (see statstext.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "statstext.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The columns of a view line, after "view". */
enum {
	V_INODE,
	V_RUNS,
	V_READS,
	V_READ_BYTES,
	V_WRITES,
	V_WRITE_BYTES,
	V_REMAPPED,
	V_INVALS,
	V_NUMBERS
};
static const char *const view_keys[V_NUMBERS] = {
    "inode",  "runs",	     "reads",	       "read_bytes",
    "writes", "write_bytes", "remapped_pages", "invalidations"};

struct view_line {
	uint64_t v[V_NUMBERS];
	char *path; /* "-": unknown */
};

/* Parses "view N N N N N N N N PATH". */
static bool parse_view(const char *line, struct view_line *out)
{
	const char *p = line + 5;
	for (int i = 0; i < V_NUMBERS; i++) {
		char *end;
		if (!g_ascii_isdigit(*p))
			return false;
		out->v[i] = g_ascii_strtoull(p, &end, 10);
		if (*end != ' ')
			return false;
		p = end + 1;
	}
	out->path = g_strdup(p);
	return true;
}

/* A size for people: "1.5 MiB" (ASCII, unlike GLib's, which puts a
 * no-break space before the unit). */
static char *human(uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	if (bytes < 1024)
		return g_strdup_printf("%" PRIu64 " bytes", bytes);
	double v = (double)bytes / 1024;
	unsigned u = 0;
	while (v >= 1024 && u + 1 < G_N_ELEMENTS(units)) {
		v /= 1024;
		u++;
	}
	return g_strdup_printf("%.1f %s", v, units[u]);
}

void rfsl_json_string(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(out, "\\%c", *p);
		else if (*p < 0x20)
			g_string_append_printf(out, "\\u%04x", *p);
		else
			g_string_append_c(out, (char)*p);
	}
	g_string_append_c(out, '"');
}

static void view_clear(gpointer p)
{
	g_free(((struct view_line *)p)->path);
}

int rfsl_stats_format(GString *out, const char *text, size_t len, bool json,
		      bool one_view, uint64_t ino, int64_t aliased)
{
	char *copy = g_strndup(text, len);
	char **lines = g_strsplit(copy, "\n", -1);
	g_free(copy);
	if (!lines[0] || strcmp(lines[0], "# remapfs statistics") != 0) {
		g_strfreev(lines);
		return EINVAL;
	}
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	GArray *vals = g_array_new(FALSE, FALSE, sizeof(char *));
	GArray *views = g_array_new(FALSE, TRUE, sizeof(struct view_line));
	g_array_set_clear_func(views, view_clear);
	int err = 0;
	for (char **l = lines + 1; *l && !err; l++) {
		if (!**l || **l == '#')
			continue;
		if (strncmp(*l, "view ", 5) == 0) {
			struct view_line v = {{0}, NULL};
			if (!parse_view(*l, &v)) {
				err = EINVAL;
				break;
			}
			if (!one_view || v.v[V_INODE] == ino)
				g_array_append_val(views, v);
			else
				g_free(v.path);
			continue;
		}
		char *sp = strchr(*l, ' ');
		if (!sp) {
			err = EINVAL;
			break;
		}
		g_ptr_array_add(keys, g_strndup(*l, (gsize)(sp - *l)));
		char *val = sp + 1;
		g_array_append_val(vals, val);
	}
	if (!err && one_view && views->len == 0) {
		struct view_line v = {{0}, NULL};
		v.v[V_INODE] = ino;
		v.path = g_strdup("-");
		g_array_append_val(views, v);
	}
	if (!err && json) {
		g_string_append(out, "{\"daemon\": {");
		for (guint i = 0; i < keys->len; i++) {
			const char *v = g_array_index(vals, char *, i);
			g_string_append_printf(out, "%s\"%s\": ", i ? ", " : "",
					       (char *)keys->pdata[i]);
			if (*v && strspn(v, "0123456789.") == strlen(v))
				g_string_append(out, v);
			else
				rfsl_json_string(out, v);
		}
		g_string_append(out, "}, \"views\": [");
		for (guint i = 0; i < views->len; i++) {
			struct view_line *v =
			    &g_array_index(views, struct view_line, i);
			g_string_append(out, i ? ", {" : "{");
			for (int k = 0; k < V_NUMBERS; k++)
				g_string_append_printf(out,
						       "\"%s\": %" PRIu64 ", ",
						       view_keys[k], v->v[k]);
			if (one_view && aliased >= 0)
				g_string_append_printf(out,
						       "\"aliased_pages\": "
						       "%" PRId64 ", ",
						       aliased);
			g_string_append(out, "\"path\": ");
			if (strcmp(v->path, "-") == 0)
				g_string_append(out, "null");
			else
				rfsl_json_string(out, v->path);
			g_string_append_c(out, '}');
		}
		g_string_append(out, "]}\n");
	} else if (!err) {
		for (guint i = 0; i < keys->len; i++) {
			const char *k = keys->pdata[i];
			const char *v = g_array_index(vals, char *, i);
			g_string_append_printf(out, "%-22s %s", k, v);
			if (g_str_has_suffix(k, "_bytes")) {
				char *h = human(g_ascii_strtoull(v, NULL, 10));
				g_string_append_printf(out, " (%s)", h);
				g_free(h);
			}
			g_string_append_c(out, '\n');
		}
		if (one_view && aliased >= 0)
			g_string_append_printf(
			    out, "%-22s %" PRId64 " (of the view)\n",
			    "aliased_pages", aliased);
		g_string_append_printf(out,
				       "\n%-12s %8s %10s %10s %8s %10s "
				       "%9s %8s  %s\n",
				       "INODE", "RUNS", "READS", "READ",
				       "WRITES", "WRITTEN", "REMAPPED",
				       "INVALS", "VIEW");
		for (guint i = 0; i < views->len; i++) {
			struct view_line *v =
			    &g_array_index(views, struct view_line, i);
			char *rb = human(v->v[V_READ_BYTES]),
			     *wb = human(v->v[V_WRITE_BYTES]);
			g_string_append_printf(
			    out,
			    "%-12" PRIu64 " %8" PRIu64 " %10" PRIu64
			    " %10s %8" PRIu64 " %10s %9" PRIu64 " %8" PRIu64
			    "  %s\n",
			    v->v[V_INODE], v->v[V_RUNS], v->v[V_READS], rb,
			    v->v[V_WRITES], wb, v->v[V_REMAPPED],
			    v->v[V_INVALS], v->path);
			g_free(rb);
			g_free(wb);
		}
	}
	g_array_unref(views);
	g_array_unref(vals);
	g_ptr_array_unref(keys);
	g_strfreev(lines);
	return err;
}
