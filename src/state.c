/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* state.c - the -o state file's format (see state.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "state.h"
#include "protocol.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t rfs_crc32c(uint32_t crc, const void *data, size_t len)
{
	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		table[i] = c;
	}
	const unsigned char *p = data;
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* The checksum of a record: its kind, its length as written, its body. */
static uint32_t record_crc(char kind, const char *lenstr, size_t lenlen,
			   const char *body, size_t len)
{
	uint32_t crc = rfs_crc32c(0, &kind, 1);
	crc = rfs_crc32c(crc, lenstr, lenlen);
	return rfs_crc32c(crc, body, len);
}

void rfs_state_header(GString *out, uint64_t pagesize)
{
	g_string_append_printf(out, RFS_STATE_MAGIC " pagesize=%" PRIu64 "\n",
			       pagesize);
}

void rfs_state_record(GString *out, char kind, const char *body, size_t len)
{
	char lenstr[32];
	int n = snprintf(lenstr, sizeof(lenstr), "%zu", len);
	g_string_append_printf(out, "%c %s %08" PRIx32 "\n", kind, lenstr,
			       record_crc(kind, lenstr, (size_t)n, body, len));
	g_string_append_len(out, body, (gssize)len);
}

/* Reads "pagesize N" from the first line of the older format. */
static int parse_old(const char *text, size_t len, uint64_t *pagesize,
		     GArray *records, GString *msg)
{
	static const char prefix[] = "# remapfs state: pagesize ";
	const char *nl = memchr(text, '\n', len);
	char *line = g_strndup(text, nl ? (size_t)(nl - text) : len);
	char *end = NULL;
	unsigned long long ps = 0;
	bool ok = g_str_has_prefix(line, prefix);
	if (ok) {
		const char *num = line + strlen(prefix);
		ps = strtoull(num, &end, 10);
		ok = g_ascii_isdigit(*num) && *end == '\0' && ps > 0;
	}
	g_free(line);
	if (!ok) {
		g_string_printf(msg, "byte 0: a bad page size in the first "
				     "line");
		return EINVAL;
	}
	*pagesize = ps;
	struct rfs_state_record r = {'S', 0, text, len};
	g_array_append_val(records, r);
	return 0;
}

/* Parses the header line "remapfs-state 2 pagesize=N"; returns the
 * offset after it, or 0 after filling msg. */
static size_t parse_header(const char *text, size_t len, uint64_t *pagesize,
			   GString *msg)
{
	const char *nl = memchr(text, '\n', len);
	size_t ml = strlen(RFS_STATE_MAGIC " pagesize=");
	if (!nl || (size_t)(nl - text) <= ml ||
	    memcmp(text, RFS_STATE_MAGIC " pagesize=", ml) != 0) {
		g_string_printf(msg, "byte 0: not a remapfs state file (no "
				     "'" RFS_STATE_MAGIC "' header line)");
		return 0;
	}
	char *line = g_strndup(text + ml, (size_t)(nl - text) - ml);
	char *end;
	unsigned long long ps = strtoull(line, &end, 10);
	bool ok = *end == '\0' && ps > 0 && g_ascii_isdigit(line[0]);
	g_free(line);
	if (!ok) {
		g_string_printf(msg, "byte %zu: a bad page size in the header",
				ml);
		return 0;
	}
	*pagesize = ps;
	return (size_t)(nl + 1 - text);
}

/* Parses a record header at text[off..len): fills kind, body length and
 * checksum and returns the offset of the body, or 0 when the header is
 * cut short by the end of the file (*bad stays false) or is not a header
 * (*bad set). */
static size_t parse_record_header(const char *text, size_t len, size_t off,
				  char *kind, size_t *blen, uint32_t *crc,
				  const char **lenstr, size_t *lenlen,
				  bool *bad)
{
	*bad = false;
	const char *p = text + off, *nl = memchr(p, '\n', len - off);
	if (!nl)
		return 0;
	size_t n = (size_t)(nl - p);
	*bad = true;
	if (n < 5 || (p[0] != 'S' && p[0] != 'T') || p[1] != ' ')
		return 0;
	*kind = p[0];
	const char *l = p + 2, *sp = memchr(l, ' ', n - 2);
	if (!sp || sp == l || nl - sp != 9)
		return 0;
	for (const char *c = l; c < sp; c++)
		if (!g_ascii_isdigit(*c))
			return 0;
	if (sp - l > 19) /* more than any file holds */
		return 0;
	char *lens = g_strndup(l, (size_t)(sp - l));
	*blen = (size_t)strtoull(lens, NULL, 10);
	g_free(lens);
	uint32_t v = 0;
	for (const char *c = sp + 1; c < nl; c++) {
		int d = g_ascii_xdigit_value(*c);
		if (d < 0 || g_ascii_isupper(*c))
			return 0;
		v = v << 4 | (uint32_t)d;
	}
	*crc = v;
	*lenstr = l;
	*lenlen = (size_t)(sp - l);
	*bad = false;
	return (size_t)(nl + 1 - text);
}

int rfs_state_parse(const char *text, size_t len, uint64_t *pagesize,
		    GArray *records, int64_t *torn, GString *msg)
{
	*torn = -1;
	if (len >= 9 && memcmp(text, "# remapfs", 9) == 0)
		return parse_old(text, len, pagesize, records, msg);
	size_t off = parse_header(text, len, pagesize, msg);
	if (!off)
		return EINVAL;
	guint first = records->len;
	while (off < len) {
		char kind = 0;
		size_t blen = 0, lenlen = 0;
		uint32_t crc = 0;
		const char *lenstr = NULL;
		bool bad;
		size_t body = parse_record_header(text, len, off, &kind, &blen,
						  &crc, &lenstr, &lenlen, &bad);
		bool is_first = records->len == first;
		const char *why = NULL;
		bool at_end = false;
		if (!body) {
			why =
			    bad ? "not a record header" : "a record cut short";
			at_end = !bad;
		} else if (blen > len - body) {
			why = "a record cut short";
			at_end = true;
		} else if (record_crc(kind, lenstr, lenlen, text + body,
				      blen) != crc) {
			why = "a record whose checksum does not match";
			at_end = body + blen == len;
		} else if (is_first != (kind == 'S')) {
			why = is_first ? "no snapshot first"
				       : "a second snapshot";
		}
		if (why && at_end && !is_first && (!body || kind == 'T')) {
			/* An append that never finished: never
			 * acknowledged, dropped. */
			*torn = (int64_t)off;
			return 0;
		}
		if (why) {
			g_string_printf(msg, "byte %zu: %s", off, why);
			g_array_set_size(records, first);
			return EINVAL;
		}
		struct rfs_state_record r = {kind, off, text + body, blen};
		g_array_append_val(records, r);
		off = body + blen;
	}
	if (records->len == first) {
		g_string_printf(msg, "byte %zu: no snapshot", off);
		return EINVAL;
	}
	return 0;
}

unsigned rfs_state_parse_commands(const char *body, size_t len,
				  uint64_t page_limit, GArray *cmds,
				  GString *rejected)
{
	rfs_parse_limits limits = {.page_limit = page_limit};
	GString *why = g_string_new(NULL);
	unsigned line = 1, bad_lines = 0;
	for (const char *p = body; p < body + len; line++) {
		const char *nl = memchr(p, '\n', (size_t)(body + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(body + len - p);
		unsigned bad = 0;
		if (rfs_parse(p, n, line, &limits, cmds, &bad, why)) {
			g_string_append_printf(rejected, "# %s\n%.*s\n",
					       why->str, (int)n, p);
			bad_lines++;
		}
		p += n + 1;
	}
	g_string_free(why, TRUE);
	return bad_lines;
}
