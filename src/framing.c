/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* framing.c - bytes written to .control into transactions (framing.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "framing.h"

#include <errno.h>
#include <string.h>

void rfs_framer_init(struct rfs_framer *f, size_t write_max, size_t line_max,
		     size_t txn_max)
{
	memset(f, 0, sizeof(*f));
	f->write_max = write_max;
	f->line_max = line_max;
	f->txn_max = txn_max;
	f->partial = g_string_new(NULL);
	f->txn = g_string_new(NULL);
	f->failed_msg = g_string_new(NULL);
}

void rfs_framer_clear(struct rfs_framer *f)
{
	g_string_free(f->partial, TRUE);
	g_string_free(f->txn, TRUE);
	g_string_free(f->failed_msg, TRUE);
	f->partial = f->txn = f->failed_msg = NULL;
}

void rfs_frame_clear(struct rfs_frame *fr)
{
	g_free(fr->text);
	if (fr->msg)
		g_string_free(fr->msg, TRUE);
	memset(fr, 0, sizeof(*fr));
}

bool rfs_line_is_keyword(const char *line, size_t len, const char *word)
{
	size_t i = 0, wl = strlen(word);
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (len - i < wl || memcmp(line + i, word, wl) != 0)
		return false;
	i += wl;
	if (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
		return false;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] == '#')
		return true; /* a comment runs to the end of the line */
	if (i < len && line[i] == '\r')
		i++;
	return i == len;
}

/* Fills out as an error with a printf-style message. */
static void G_GNUC_PRINTF(3, 4)
    frame_error(struct rfs_frame *out, int err, const char *fmt, ...)
{
	va_list ap;
	out->kind = RFS_FRAME_ERROR;
	out->err = err;
	out->msg = g_string_new(NULL);
	va_start(ap, fmt);
	g_string_vprintf(out->msg, fmt, ap);
	va_end(ap);
}

/* Ends an explicit transaction, applied or not. */
static void txn_reset(struct rfs_framer *f)
{
	f->in_txn = false;
	f->failed = 0;
	f->txn_lines = 0;
	g_string_truncate(f->failed_msg, 0);
	/* Give back the memory of a large transaction. */
	if (f->txn->allocated_len > (1u << 20)) {
		g_string_free(f->txn, TRUE);
		f->txn = g_string_new(NULL);
	} else {
		g_string_truncate(f->txn, 0);
	}
}

/* Marks the explicit transaction failed (its later writes fail too). */
static void G_GNUC_PRINTF(3, 4)
    txn_fail(struct rfs_framer *f, int err, const char *fmt, ...)
{
	va_list ap;
	if (f->failed)
		return;
	f->failed = err;
	va_start(ap, fmt);
	g_string_vprintf(f->failed_msg, fmt, ap);
	va_end(ap);
	g_string_free(f->txn, TRUE);
	f->txn = g_string_new(NULL);
}

/* The failed transaction's error as out. */
static void txn_failed_frame(struct rfs_framer *f, struct rfs_frame *out)
{
	frame_error(out, f->failed, "%s", f->failed_msg->str);
}

/* Takes the complete lines text[0..len) of an explicit transaction (the
 * lines after begin, or of a later write). */
static void txn_lines(struct rfs_framer *f, const char *text, size_t len,
		      struct rfs_frame *out)
{
	const char *p = text, *end = text + len;
	const char *chunk = p; /* lines not yet appended to f->txn */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p);
		unsigned line = ++f->txn_lines;
		bool commit = rfs_line_is_keyword(p, n, "commit");
		bool abort_ = !commit && rfs_line_is_keyword(p, n, "abort");
		if (commit || abort_) {
			if (!f->failed)
				g_string_append_len(f->txn, chunk,
						    (gssize)(p - chunk));
			if (nl + 1 < end || f->partial->len) {
				txn_fail(f, EINVAL,
					 "line %u: %s must be the last line "
					 "of its write",
					 line, commit ? "commit" : "abort");
				if (f->partial->len)
					g_string_truncate(f->partial, 0);
			}
			if (f->failed && (commit || nl + 1 < end))
				txn_failed_frame(f, out);
			else if (commit) {
				out->kind = RFS_FRAME_APPLY;
				out->first_line = 2;
				out->len = f->txn->len;
				out->text = g_string_free(f->txn, FALSE);
				f->txn = g_string_new(NULL);
			}
			txn_reset(f);
			return;
		}
		if (!f->failed && rfs_line_is_keyword(p, n, "begin"))
			txn_fail(f, EINVAL,
				 "line %u: begin inside a transaction "
				 "(nothing of it is applied)",
				 line);
		p = nl + 1;
	}
	if (!f->failed) {
		g_string_append_len(f->txn, chunk, (gssize)(end - chunk));
		if (f->txn->len > f->txn_max)
			txn_fail(f, E2BIG,
				 "line %u: the transaction is longer than %zu "
				 "bytes (-o max_transaction)",
				 f->txn_lines, f->txn_max);
	}
	if (f->failed)
		txn_failed_frame(f, out);
}

/* Takes the complete lines text[0..len) of a write outside an explicit
 * transaction. */
static void plain_lines(struct rfs_framer *f, const char *text, size_t len,
			struct rfs_frame *out)
{
	const char *nl = memchr(text, '\n', len);
	if (rfs_line_is_keyword(text, (size_t)(nl - text), "begin")) {
		f->in_txn = true;
		f->txn_lines = 1;
		txn_lines(f, nl + 1, len - (size_t)(nl + 1 - text), out);
		return;
	}
	unsigned line = 1;
	for (const char *p = text; p < text + len; line++) {
		const char *e = memchr(p, '\n', (size_t)(text + len - p));
		size_t n = (size_t)(e - p);
		static const char *const words[] = {"begin", "commit", "abort"};
		for (size_t w = 0; w < G_N_ELEMENTS(words); w++)
			if (rfs_line_is_keyword(p, n, words[w])) {
				frame_error(out, EINVAL,
					    "line %u: %s %s (nothing of this "
					    "write is applied)",
					    line, words[w],
					    w == 0 ? "must be the first line "
						     "of a write"
						   : "without begin");
				return;
			}
		p = e + 1;
	}
	out->kind = RFS_FRAME_APPLY;
	out->first_line = 1;
	out->len = len;
	out->text = g_memdup2(text, len);
}

/* Whether a write of bytes buf[0..len) starts (after the partial line)
 * with the line begin. */
static bool starts_with_begin(struct rfs_framer *f, const char *buf, size_t len)
{
	if (f->partial->len)
		return false; /* a piece of a longer write never is */
	const char *nl = memchr(buf, '\n', len);
	return nl && rfs_line_is_keyword(buf, (size_t)(nl - buf), "begin");
}

void rfs_framer_write(struct rfs_framer *f, const char *buf, size_t len,
		      struct rfs_frame *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = RFS_FRAME_ACK;
	if (f->skipping) {
		/* The rest of an over-long line: dropped up to its newline,
		 * and this write with it. */
		const char *nl = memchr(buf, '\n', len);
		if (nl)
			f->skipping = false;
		frame_error(out, E2BIG, "line 1: longer than %zu bytes",
			    f->line_max);
		if (f->in_txn)
			txn_fail(f, E2BIG, "a line is longer than %zu bytes",
				 f->line_max);
		return;
	}
	if (!f->in_txn && len > f->write_max &&
	    !starts_with_begin(f, buf, len)) {
		frame_error(out, E2BIG,
			    "a write of more than %zu bytes (the kernel splits "
			    "it; send a longer transaction as begin ... "
			    "commit): nothing of it is applied",
			    f->write_max);
		return;
	}
	const char *last = memrchr(buf, '\n', len);
	if (!last) {
		if (f->partial->len + len > f->line_max) {
			unsigned line = f->in_txn ? f->txn_lines + 1 : 1;
			g_string_truncate(f->partial, 0);
			f->skipping = true;
			if (f->in_txn) {
				txn_fail(f, E2BIG,
					 "line %u: longer than %zu bytes", line,
					 f->line_max);
				txn_failed_frame(f, out);
			} else {
				frame_error(out, E2BIG,
					    "line %u: longer than %zu bytes",
					    line, f->line_max);
			}
			return;
		}
		g_string_append_len(f->partial, buf, (gssize)len);
		if (f->in_txn && f->failed)
			txn_failed_frame(f, out);
		return;
	}
	/* The complete lines: the partial one and this write's up to its
	 * last newline. */
	size_t head = (size_t)(last + 1 - buf);
	const char *text = buf;
	char *joined = NULL;
	size_t tlen = head;
	if (f->partial->len) {
		tlen = f->partial->len + head;
		joined = g_malloc(tlen);
		memcpy(joined, f->partial->str, f->partial->len);
		memcpy(joined + f->partial->len, buf, head);
		text = joined;
		g_string_truncate(f->partial, 0);
	}
	/* What follows the last newline waits for the next write. */
	g_string_append_len(f->partial, last + 1, (gssize)(len - head));
	if (f->in_txn)
		txn_lines(f, text, tlen, out);
	else
		plain_lines(f, text, tlen, out);
	g_free(joined);
}

void rfs_framer_close(struct rfs_framer *f, struct rfs_frame *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = RFS_FRAME_ACK;
	f->skipping = false;
	if (f->partial->len) /* an unterminated last line is a line */
		rfs_framer_write(f, "\n", 1, out);
	if (f->in_txn) {
		unsigned lines = f->txn_lines;
		txn_reset(f);
		rfs_frame_clear(out);
		frame_error(out, ECANCELED,
			    "closed without commit: the transaction begun "
			    "%u line%s before is dropped, nothing of it is "
			    "applied",
			    lines, lines == 1 ? "" : "s");
	}
}
