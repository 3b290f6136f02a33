/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* framing.h - how the bytes written to one .control descriptor become
 * transactions.  Pure: no FUSE, no state; unit-tested in test-protocol.
 *
 * Each write() is one transaction of its complete lines; bytes after the
 * last newline wait for the next write (or the close).  Explicit
 * transactions span writes:
 *   begin        the first line of a write: what follows is buffered
 *   ...          (any number of writes; nothing is applied)
 *   commit       the last line of a write: everything since begin is
 *                applied as one transaction, and this write reports it
 *   abort        drops everything since begin
 * A write outside an explicit transaction bigger than write_max (the size
 * the kernel never splits) fails whole: the kernel cut it into pieces.  A
 * line longer than line_max is an error for the whole line, up to its
 * newline; an explicit transaction over txn_max fails, and so does every
 * later write of it up to its commit or abort (nothing of it applies). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

struct rfs_framer {
	size_t write_max; /* the largest write that arrives whole */
	size_t line_max;  /* the longest line */
	size_t txn_max;	  /* the largest explicit transaction */
	GString *partial; /* bytes after the last newline */
	GString *txn;	  /* explicit transaction: its lines after begin */
	bool in_txn;	  /* between begin and commit/abort */
	bool skipping;	  /* dropping an over-long line up to its newline */
	int failed;	  /* in_txn: the errno that failed it, else 0 */
	GString *failed_msg;
	unsigned txn_lines; /* lines since begin, begin included */
};

/* What a write or close asks of the daemon. */
enum rfs_frame_kind {
	RFS_FRAME_ACK,	 /* nothing to apply: acknowledge the write */
	RFS_FRAME_APPLY, /* apply text as one transaction, then reply */
	RFS_FRAME_ERROR, /* fail with err; msg says why ("line L: ...") */
};

struct rfs_frame {
	enum rfs_frame_kind kind;
	char *text; /* APPLY: the transaction's lines (g_free it) */
	size_t len;
	unsigned first_line; /* APPLY: the number of text's first line */
	int err;	     /* ERROR: a positive errno */
	GString *msg;	     /* ERROR: without "error: " */
};

/* Initializes a framer with its limits. */
void rfs_framer_init(struct rfs_framer *f, size_t write_max, size_t line_max,
		     size_t txn_max);
/* Frees what the framer holds. */
void rfs_framer_clear(struct rfs_framer *f);

/* Takes one write of len bytes; fills out (clear it with
 * rfs_frame_clear). */
void rfs_framer_write(struct rfs_framer *f, const char *buf, size_t len,
		      struct rfs_frame *out);
/* Takes the close of the descriptor: an unterminated last line is a line;
 * an explicit transaction still open is dropped with ECANCELED. */
void rfs_framer_close(struct rfs_framer *f, struct rfs_frame *out);

/* Frees what a frame holds. */
void rfs_frame_clear(struct rfs_frame *fr);

/* Whether the line (without its newline) is the bare keyword word:
 * spaces, tabs, a '\r' and a '#' comment around it are allowed. */
bool rfs_line_is_keyword(const char *line, size_t len, const char *word);
