/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-state.c - libFuzzer target for the -o state loader's pure part:
 * the file format (state.h), the parse of each record's commands, and the
 * .control framing (framing.h) fed the same bytes as writes.
 *
 * make fuzz builds it with clang -fsanitize=fuzzer and runs it; make check
 * replays tests/corpus/state through tests/fuzz-replay.c.  Besides not
 * crashing it checks: a refused file yields no records and a "byte N:"
 * message; accepted records lie inside the input, a snapshot first; the
 * records written out again parse back to the same bodies; the framer
 * never hands out a partial line or a keyword line. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "framing.h"
#include "fuzz.h"
#include "protocol.h"
#include "state.h"

#include <stdlib.h>
#include <string.h>

/* The records of text, written out again, parse back the same. */
static void check_rewrite(GArray *recs, uint64_t ps)
{
	GString *out = g_string_new(NULL);
	rfs_state_header(out, ps);
	for (guint i = 0; i < recs->len; i++) {
		struct rfs_state_record *r =
		    &g_array_index(recs, struct rfs_state_record, i);
		rfs_state_record(out, r->kind, r->body, r->len);
	}
	GArray *back =
	    g_array_new(FALSE, FALSE, sizeof(struct rfs_state_record));
	uint64_t ps2 = 0;
	int64_t torn = 0;
	check(rfs_state_parse(out->str, out->len, &ps2, back, &torn, NULL) ==
	      0);
	check(ps2 == ps && torn == -1 && back->len == recs->len);
	for (guint i = 0; i < recs->len; i++) {
		struct rfs_state_record *a =
		    &g_array_index(recs, struct rfs_state_record, i);
		struct rfs_state_record *b =
		    &g_array_index(back, struct rfs_state_record, i);
		check(a->kind == b->kind && a->len == b->len &&
		      memcmp(a->body, b->body, a->len) == 0);
	}
	g_array_unref(back);
	g_string_free(out, TRUE);
}

/* Parses a record body as the loader does: every command that parses is
 * kept, every line that does not is named. */
static void parse_body(const char *body, size_t len)
{
	GArray *cmds = rfs_cmds_new();
	GString *rejected = g_string_new(NULL);
	unsigned bad = rfs_state_parse_commands(body, len, UINT64_C(1) << 40,
						cmds, rejected);
	check((bad == 0) == (rejected->len == 0));
	for (guint i = 0; i < cmds->len; i++)
		check(g_array_index(cmds, rfs_cmd, i).view != NULL);
	g_string_free(rejected, TRUE);
	g_array_unref(cmds);
}

/* Feeds the bytes to a framer as writes cut at each 0x01 byte. */
static void frame(const char *text, size_t len)
{
	struct rfs_framer f;
	rfs_framer_init(&f, 64, 64, 256);
	const char *p = text, *end = text + len;
	while (p <= end) {
		const char *cut = memchr(p, 1, (size_t)(end - p));
		size_t n = cut ? (size_t)(cut - p) : (size_t)(end - p);
		struct rfs_frame fr;
		rfs_framer_write(&f, p, n, &fr);
		if (fr.kind == RFS_FRAME_APPLY) {
			check(fr.len == 0 || fr.text[fr.len - 1] == '\n');
			for (const char *l = fr.text; l < fr.text + fr.len;) {
				const char *e = memchr(
				    l, '\n', (size_t)(fr.text + fr.len - l));
				size_t ll = (size_t)(e - l);
				check(!rfs_line_is_keyword(l, ll, "begin") &&
				      !rfs_line_is_keyword(l, ll, "commit") &&
				      !rfs_line_is_keyword(l, ll, "abort"));
				l = e + 1;
			}
		}
		if (fr.kind == RFS_FRAME_ERROR)
			check(fr.err > 0 && fr.msg && fr.msg->len);
		rfs_frame_clear(&fr);
		if (!cut)
			break;
		p = cut + 1;
	}
	struct rfs_frame fr;
	rfs_framer_close(&f, &fr);
	rfs_frame_clear(&fr);
	rfs_framer_clear(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	GArray *recs =
	    g_array_new(FALSE, FALSE, sizeof(struct rfs_state_record));
	GString *msg = g_string_new(NULL);
	uint64_t ps = 0;
	int64_t torn = 0;
	int rc = rfs_state_parse(text, size, &ps, recs, &torn, msg);
	if (rc) {
		check(recs->len == 0);
		check(g_str_has_prefix(msg->str, "byte "));
	} else {
		check(recs->len >= 1 && ps > 0);
		check(torn == -1 || (torn > 0 && (size_t)torn <= size));
		for (guint i = 0; i < recs->len; i++) {
			struct rfs_state_record *r =
			    &g_array_index(recs, struct rfs_state_record, i);
			check(r->body >= text &&
			      r->body + r->len <= text + size);
			check((r->kind == 'S') == (i == 0) || r->off == 0);
			parse_body(r->body, r->len);
		}
		check_rewrite(recs, ps);
	}
	frame(text, size);
	g_array_unref(recs);
	g_string_free(msg, TRUE);
	return 0;
}
