/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* protocol.h - the .control protocol: text lines <-> commands.  Pure.
 *
 * Grammar (one command per line, '\n' ends a line, a '\r' before it is
 * ignored, blank lines ignored, a token starting with '#' starts a comment
 * that runs to the end of the line):
 *   remap      VIEW VPAGE FPAGE [COUNT]
 *   reset      VIEW [VPAGE [COUNT]]
 *   create     VIEW BACKING [PAGES]
 *   resize     VIEW PAGES
 *   remove     VIEW
 *   invalidate VIEW [VPAGE [COUNT]]
 * Tokens are separated by spaces or tabs.  A bare token is a run of bytes
 * other than space, tab, '\r', '\n', NUL, '"' and '\\'.  A quoted token is
 * "..." with C escapes: \\ \" \a \b \f \n \r \t \v, \xHH (exactly two hex
 * digits), \ooo (one to three octal digits).  A name may not contain NUL.
 * Numbers are unsigned 64-bit, decimal or 0x/0X hexadecimal.
 * Paths are relative to the mount root (VIEW) or to SOURCE (BACKING):
 * "." components and repeated or trailing slashes are dropped; absolute
 * paths, ".." components and empty paths are errors. */
#pragma once
#include <glib.h>
#include <stdint.h>

typedef enum rfs_op {
	RFS_OP_REMAP,
	RFS_OP_RESET,
	RFS_OP_CREATE,
	RFS_OP_RESIZE,
	RFS_OP_REMOVE,
	RFS_OP_INVALIDATE,
} rfs_op;

/* Which optional arguments a command carried. */
enum {
	RFS_HAS_VPAGE = 1 << 0,
	RFS_HAS_COUNT = 1 << 1,
	RFS_HAS_PAGES = 1 << 2,
};

typedef struct rfs_cmd {
	rfs_op op;
	unsigned line; /* line number in the parsed text, from first_line */
	unsigned has;  /* RFS_HAS_* bits */
	char *view; /* normalized path, never NULL after a successful parse */
	char *backing;	/* create: normalized path; NULL otherwise */
	uint64_t vpage; /* remap, reset, invalidate; 0 when not given */
	uint64_t fpage; /* remap */
	uint64_t count; /* remap, reset, invalidate; 1 when VPAGE is given
			   without COUNT; 0 for reset/invalidate without VPAGE
			   (= the whole view) */
	uint64_t pages; /* create, resize */
} rfs_cmd;

/* Limits the parser checks, so that only checks against live state (view
 * sizes, existence) are left to the daemon. */
typedef struct rfs_parse_limits {
	/* Page numbers are valid below this: every vpage+count, fpage+count
	 * and pages must be <= page_limit (so page*pagesize fits an off_t). */
	uint64_t page_limit;
} rfs_parse_limits;

/* Parses len bytes of text (no terminator needed; may hold any byte) into
 * commands appended to cmds (a GArray of rfs_cmd; use rfs_cmds_new()).
 * Line numbers start at first_line.  Returns 0, or a positive errno
 * (EINVAL syntax, ERANGE numbers/ranges) with *err_line set and err set to
 * a message without "error:" or line prefix; cmds then holds nothing more
 * than before the call.  Text after the last '\n' is parsed as a line. */
int rfs_parse(const char *text, size_t len, unsigned first_line,
	      const rfs_parse_limits *limits, GArray *cmds, unsigned *err_line,
	      GString *err);

/* A GArray of rfs_cmd that frees each command's strings on removal/free. */
GArray *rfs_cmds_new(void);
/* Frees the strings a command owns and zeroes it. */
void rfs_cmd_clear(rfs_cmd *c);

/* The keyword of an op ("remap", ...). */
const char *rfs_op_name(rfs_op op);

/* Appends one command as a line (ending in '\n') that rfs_parse reads back
 * as the same command; optional arguments are printed when set in c->has,
 * and always for remap's COUNT. */
void rfs_cmd_format(GString *out, const rfs_cmd *c);

/* Appends name as a token: bare when it is non-empty printable ASCII
 * without '"', '\\' or a leading '#', else quoted and escaped (valid UTF-8
 * is kept, other bytes >= 0x80 and control bytes become \xHH). */
void rfs_quote(GString *out, const char *name);

/* Normalizes a relative path as the grammar says.  Returns 0 and a new
 * string in *out, or EINVAL with a message in err. */
int rfs_path_normalize(const char *in, char **out, GString *err);
