/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-protocol.c - libFuzzer target for the .control protocol parser.
 *
 * make fuzz builds it with clang -fsanitize=fuzzer and runs it; make check
 * replays tests/corpus/protocol through tests/fuzz-replay.c.
 *
 * The first input byte picks the page limit; the rest is the text.  Besides
 * not crashing, it checks that a failed parse leaves the array as it was,
 * that a successful one gives commands that format and parse back to
 * themselves, and that quoting any name reads back as that name. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "fuzz.h"
#include "protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Returns whether two strings are equal, NULL equal only to NULL. */
static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Returns whether two commands are equal, ignoring their line numbers. */
static int cmd_eq(const rfs_cmd *a, const rfs_cmd *b)
{
	return a->op == b->op && a->has == b->has && str_eq(a->view, b->view) &&
	       str_eq(a->backing, b->backing) && a->vpage == b->vpage &&
	       a->fpage == b->fpage && a->count == b->count &&
	       a->pages == b->pages;
}

/* Formats the commands of cmds from index 1 on and checks they read back. */
static void check_roundtrip(GArray *cmds, const rfs_parse_limits *lim)
{
	GString *text = g_string_new(NULL);
	GArray *back = rfs_cmds_new();
	unsigned line = 0;
	guint i;

	for (i = 1; i < cmds->len; i++)
		rfs_cmd_format(text, &g_array_index(cmds, rfs_cmd, i));
	check(rfs_parse(text->str, text->len, 1, lim, back, &line, NULL) == 0);
	check(back->len == cmds->len - 1);
	for (i = 0; i < back->len; i++) {
		rfs_cmd want = g_array_index(cmds, rfs_cmd, i + 1);

		/* remap's COUNT is always printed, so it reads back given. */
		if (want.op == RFS_OP_REMAP)
			want.has |= RFS_HAS_COUNT;
		check(cmd_eq(&want, &g_array_index(back, rfs_cmd, i)));
	}
	g_array_unref(back);
	g_string_free(text, TRUE);
}

/* Checks that the name text (up to its first NUL) quotes and normalizes
 * consistently with the parser. */
static void check_quote(const char *name)
{
	GString *line = g_string_new("remove ");
	GArray *cmds = rfs_cmds_new();
	char *norm = NULL;
	int nrc, prc;

	nrc = rfs_path_normalize(name, &norm, NULL);
	rfs_quote(line, name);
	prc = rfs_parse(line->str, line->len, 1, NULL, cmds, NULL, NULL);
	check(nrc == prc);
	if (!nrc) {
		check(cmds->len == 1);
		check(!strcmp(g_array_index(cmds, rfs_cmd, 0).view, norm));
	}
	g_free(norm);
	g_array_unref(cmds);
	g_string_free(line, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t limits[] = {UINT64_MAX,	 0, 1, 100, 1ULL << 40,
					  UINT64_MAX - 1};
	rfs_parse_limits lim = {.page_limit = UINT64_MAX};
	const char *text = (const char *)data;
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	rfs_cmd sentinel = {.op = RFS_OP_REMOVE, .view = g_strdup("s")};
	unsigned line = 0;
	char *name;
	int rc;

	if (size) {
		lim.page_limit = limits[data[0] % G_N_ELEMENTS(limits)];
		text++;
		size--;
	}
	g_array_append_val(cmds, sentinel);
	rc = rfs_parse(text, size, 1, &lim, cmds, &line, err);
	if (rc) {
		check(rc == EINVAL || rc == ERANGE);
		check(cmds->len == 1);
		check(!strcmp(g_array_index(cmds, rfs_cmd, 0).view, "s"));
		check(err->len > 0 && line >= 1 && line <= size + 1);
	} else {
		check(err->len == 0);
		check_roundtrip(cmds, &lim);
	}

	name = g_strndup(text, size);
	check_quote(name);
	g_free(name);

	g_array_unref(cmds);
	g_string_free(err, TRUE);
	return 0;
}
