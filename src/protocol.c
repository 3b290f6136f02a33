/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* protocol.c - the .control protocol: text lines <-> commands.  Pure.
 *
 * Parsing is driven by two tables, in the manner of redis's command table:
 * cmd_table says, per command, how many arguments it takes and of which
 * kind, and arg_table says, per kind of argument, how it is parsed and
 * where in rfs_cmd it is stored.  One generic loop (parse_command) walks
 * them; the only per-command code is a small range check against the page
 * limit.  rfs_cmd_format walks the same tables the other way. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "protocol.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The most arguments a command takes, and so the most tokens worth keeping
 * of a line (the keyword and its arguments). */
#define MAX_ARGS 4
#define MAX_TOKENS (1 + MAX_ARGS)

/* How many bytes of a token an error message quotes back. */
#define SHOW_MAX 40

enum arg_kind {
	ARG_VIEW,
	ARG_BACKING,
	ARG_VPAGE,
	ARG_FPAGE,
	ARG_COUNT,
	ARG_PAGES,
};

/* How each kind of argument is parsed and where it is stored. */
static const struct arg_desc {
	const char *name; /* as in the grammar, for messages */
	bool path;	  /* a path (char *), else a number (uint64_t) */
	const char *root; /* paths: what they are relative to */
	size_t offset;	  /* of the field in rfs_cmd */
	unsigned has;	  /* RFS_HAS_* bit set when given, or 0 */
	uint64_t min;	  /* numbers: the smallest value allowed */
} arg_table[] = {
    [ARG_VIEW] = {.name = "VIEW",
		  .path = true,
		  .root = "the mount root",
		  .offset = offsetof(rfs_cmd, view)},
    [ARG_BACKING] = {.name = "BACKING",
		     .path = true,
		     .root = "the source directory",
		     .offset = offsetof(rfs_cmd, backing)},
    [ARG_VPAGE] = {.name = "VPAGE",
		   .offset = offsetof(rfs_cmd, vpage),
		   .has = RFS_HAS_VPAGE},
    [ARG_FPAGE] = {.name = "FPAGE", .offset = offsetof(rfs_cmd, fpage)},
    [ARG_COUNT] = {.name = "COUNT",
		   .offset = offsetof(rfs_cmd, count),
		   .has = RFS_HAS_COUNT,
		   .min = 1},
    [ARG_PAGES] = {.name = "PAGES",
		   .offset = offsetof(rfs_cmd, pages),
		   .has = RFS_HAS_PAGES},
};

struct cmd_desc;
/* Checks a parsed command against the page limit: 0 or ERANGE + message. */
typedef int (*cmd_check_fn)(const struct cmd_desc *d, const rfs_cmd *c,
			    uint64_t limit, GString *msg);

static int check_remap(const struct cmd_desc *d, const rfs_cmd *c,
		       uint64_t limit, GString *msg);
static int check_span(const struct cmd_desc *d, const rfs_cmd *c,
		      uint64_t limit, GString *msg);
static int check_pages(const struct cmd_desc *d, const rfs_cmd *c,
		       uint64_t limit, GString *msg);

/* The commands, indexed by op. */
struct cmd_desc {
	const char *name;
	rfs_op op;
	unsigned min_args;
	unsigned max_args;
	unsigned fmt_args; /* arguments rfs_cmd_format always prints */
	enum arg_kind args[MAX_ARGS];
	uint64_t count_default; /* count when COUNT is not given */
	cmd_check_fn check;	/* or NULL */
};

/* clang-format off */
static const struct cmd_desc cmd_table[] = {
	/* name, op, min, max, fmt, argument kinds, default count, check */
	[RFS_OP_REMAP] = {"remap", RFS_OP_REMAP, 3, 4, 4,
		{ARG_VIEW, ARG_VPAGE, ARG_FPAGE, ARG_COUNT}, 1, check_remap},
	[RFS_OP_RESET] = {"reset", RFS_OP_RESET, 1, 3, 1,
		{ARG_VIEW, ARG_VPAGE, ARG_COUNT}, 0, check_span},
	[RFS_OP_CREATE] = {"create", RFS_OP_CREATE, 2, 3, 2,
		{ARG_VIEW, ARG_BACKING, ARG_PAGES}, 0, check_pages},
	[RFS_OP_RESIZE] = {"resize", RFS_OP_RESIZE, 2, 2, 2,
		{ARG_VIEW, ARG_PAGES}, 0, check_pages},
	[RFS_OP_REMOVE] = {"remove", RFS_OP_REMOVE, 1, 1, 1,
		{ARG_VIEW}, 0, NULL},
	[RFS_OP_INVALIDATE] = {"invalidate", RFS_OP_INVALIDATE, 1, 3, 1,
		{ARG_VIEW, ARG_VPAGE, ARG_COUNT}, 0, check_span},
};
/* clang-format on */

/* The tokens of one line: decoded, each NUL-terminated, in buf. */
struct line_tokens {
	GString *buf;
	size_t off[MAX_TOKENS]; /* where the first MAX_TOKENS tokens start */
	unsigned n;		/* tokens on the line, kept or not */
};

/* Returns the i-th kept token (i < MAX_TOKENS, i < t->n). */
static const char *token(const struct line_tokens *t, unsigned i)
{
	return t->buf->str + t->off[i];
}

/* Appends s to msg in single quotes, bytes other than printable ASCII as
 * \xHH, cut after SHOW_MAX bytes. */
static void show(GString *msg, const char *s)
{
	size_t i;

	g_string_append_c(msg, '\'');
	for (i = 0; s[i] && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			g_string_append_c(msg, c);
		else
			g_string_append_printf(msg, "\\x%02x", c);
	}
	if (s[i])
		g_string_append(msg, "...");
	g_string_append_c(msg, '\'');
}

/* Returns the value of the hex digit c (which g_ascii_isxdigit accepts). */
static unsigned hex_value(char c)
{
	return (unsigned)g_ascii_xdigit_value(c);
}

/* Decodes the escape at s[*i] (a backslash with at least one byte after it)
 * onto buf and advances *i past it; 0 or EINVAL + message. */
static int read_escape(const char *s, size_t n, size_t *i, GString *buf,
		       GString *msg)
{
	size_t j = *i + 1;
	unsigned char e = (unsigned char)s[j];
	unsigned v;

	switch (e) {
	case '\\':
	case '"':
		v = e;
		j++;
		break;
	case 'a':
		v = '\a';
		j++;
		break;
	case 'b':
		v = '\b';
		j++;
		break;
	case 'f':
		v = '\f';
		j++;
		break;
	case 'n':
		v = '\n';
		j++;
		break;
	case 'r':
		v = '\r';
		j++;
		break;
	case 't':
		v = '\t';
		j++;
		break;
	case 'v':
		v = '\v';
		j++;
		break;
	case 'x':
		if (j + 2 >= n || !g_ascii_isxdigit(s[j + 1]) ||
		    !g_ascii_isxdigit(s[j + 2])) {
			g_string_append(msg, "invalid escape '\\x': it needs "
					     "exactly two hex digits");
			return EINVAL;
		}
		v = hex_value(s[j + 1]) << 4 | hex_value(s[j + 2]);
		j += 3;
		break;
	case '0':
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
	case '6':
	case '7':
		v = 0;
		while (j < n && j < *i + 4 && s[j] >= '0' && s[j] <= '7')
			v = v * 8 + (unsigned)(s[j++] - '0');
		if (v > 0xff) {
			g_string_append_printf(msg,
					       "invalid escape '\\%o': octal "
					       "escapes go up to \\377",
					       v);
			return EINVAL;
		}
		break;
	default:
		if (e > 0x20 && e < 0x7f)
			g_string_append_printf(msg, "invalid escape '\\%c'", e);
		else
			g_string_append_printf(
			    msg, "invalid escape: byte 0x%02x after '\\'", e);
		return EINVAL;
	}
	if (v == 0) {
		g_string_append(msg, "name contains a NUL byte");
		return EINVAL;
	}
	g_string_append_c(buf, (char)v);
	*i = j;
	return 0;
}

/* Decodes the quoted token at s[*i] (its opening '"') onto buf and advances
 * *i past the closing '"'; 0 or EINVAL + message. */
static int read_quoted(const char *s, size_t n, size_t *i, GString *buf,
		       GString *msg)
{
	size_t j = *i + 1;

	while (j < n) {
		size_t run = j;
		int rc;

		while (j < n && s[j] != '"' && s[j] != '\\' && s[j] != '\0')
			j++;
		g_string_append_len(buf, s + run, (gssize)(j - run));
		if (j == n)
			break;
		if (s[j] == '"') {
			*i = j + 1;
			return 0;
		}
		if (s[j] == '\0') {
			g_string_append(msg, "name contains a NUL byte");
			return EINVAL;
		}
		if (j + 1 == n)
			break; /* a backslash ends the line */
		rc = read_escape(s, n, &j, buf, msg);
		if (rc)
			return rc;
	}
	g_string_append(msg, "unterminated quoted string");
	return EINVAL;
}

/* Copies the bare token at s[*i] onto buf and advances *i past it; 0 or
 * EINVAL + message. */
static int read_bare(const char *s, size_t n, size_t *i, GString *buf,
		     GString *msg)
{
	size_t j = *i;

	for (; j < n && s[j] != ' ' && s[j] != '\t'; j++) {
		switch (s[j]) {
		case '"':
			g_string_append(msg, "'\"' inside an unquoted token "
					     "(quote the whole token)");
			return EINVAL;
		case '\\':
			g_string_append(msg, "'\\' outside a quoted string");
			return EINVAL;
		case '\r':
			g_string_append(msg, "carriage return inside a line");
			return EINVAL;
		case '\0':
			g_string_append(msg,
					"NUL byte outside a quoted string");
			return EINVAL;
		}
	}
	g_string_append_len(buf, s + *i, (gssize)(j - *i));
	*i = j;
	return 0;
}

/* Splits the line s[0..n) (no '\n', trailing '\r' stripped) into t, up to a
 * comment; 0 or EINVAL + message. */
static int tokenize(const char *s, size_t n, struct line_tokens *t,
		    GString *msg)
{
	size_t i = 0;

	g_string_truncate(t->buf, 0);
	t->n = 0;
	for (;;) {
		size_t start;
		int rc;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n || s[i] == '#')
			return 0;
		start = t->buf->len;
		if (s[i] == '"') {
			rc = read_quoted(s, n, &i, t->buf, msg);
			if (!rc && i < n && s[i] != ' ' && s[i] != '\t') {
				g_string_append(msg, "expected a space or tab "
						     "after a quoted string");
				rc = EINVAL;
			}
		} else {
			rc = read_bare(s, n, &i, t->buf, msg);
		}
		if (rc)
			return rc;
		if (t->n < MAX_TOKENS) {
			t->off[t->n] = start;
			g_string_append_c(t->buf, '\0');
		} else {
			g_string_truncate(t->buf, start);
		}
		if (t->n < G_MAXUINT)
			t->n++;
	}
}

/* Parses s as a decimal or 0x/0X hex uint64; 0, EINVAL or ERANGE. */
static int parse_number(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return EINVAL;
	for (; *s; s++) {
		unsigned d;

		if (base == 16 && g_ascii_isxdigit(*s))
			d = hex_value(*s);
		else if (base == 10 && g_ascii_isdigit(*s))
			d = (unsigned)(*s - '0');
		else
			return EINVAL;
		if (v > (UINT64_MAX - d) / base) {
			/* Too big, but it is still EINVAL if junk follows. */
			while (*s && (base == 16 ? g_ascii_isxdigit(*s)
						 : g_ascii_isdigit(*s)))
				s++;
			return *s ? EINVAL : ERANGE;
		}
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* Normalizes the relative path in (messages say it is relative to root, if
 * given) into a new *out; 0, or EINVAL + message with *out NULL. */
static int path_normalize(const char *in, const char *root, char **out,
			  GString *msg)
{
	GString *res;
	const char *p = in;

	*out = NULL;
	if (!in || !*in) {
		g_string_append(msg, "empty path");
		return EINVAL;
	}
	if (*in == '/') {
		if (root)
			g_string_append_printf(
			    msg, "path must be relative to %s", root);
		else
			g_string_append(msg, "path must be relative (it "
					     "starts with '/')");
		return EINVAL;
	}
	res = g_string_new(NULL);
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			g_string_free(res, TRUE);
			g_string_append(msg, "'..' is not allowed in paths");
			return EINVAL;
		}
		if (len && !(len == 1 && p[0] == '.')) {
			if (res->len)
				g_string_append_c(res, '/');
			g_string_append_len(res, p, (gssize)len);
		}
		p += len;
		if (*p == '/')
			p++;
	}
	if (!res->len) {
		g_string_free(res, TRUE);
		g_string_append(msg, "empty path");
		return EINVAL;
	}
	*out = g_string_free(res, FALSE);
	return 0;
}

/* Puts "COMMAND: ARGUMENT: " before the message in msg; returns rc. */
static int arg_error(const struct cmd_desc *d, const struct arg_desc *a,
		     GString *msg, int rc)
{
	char *prefix = g_strdup_printf("%s: %s: ", d->name, a->name);
	g_string_prepend(msg, prefix);
	g_free(prefix);
	return rc;
}

/* Parses token s as argument a of command d into c; 0 or an errno with a
 * message naming the command and the argument (formatted only then). */
static int parse_arg(const struct cmd_desc *d, const struct arg_desc *a,
		     const char *s, rfs_cmd *c, GString *msg)
{
	char *field = (char *)c + a->offset;
	uint64_t v = 0;
	int rc;

	g_string_truncate(msg, 0);
	if (a->path) {
		char *path;

		rc = path_normalize(s, a->root, &path, msg);
		if (rc)
			return arg_error(d, a, msg, rc);
		memcpy(field, &path, sizeof(path));
	} else {
		rc = parse_number(s, &v);
		if (rc == EINVAL) {
			g_string_append(msg, "not a number: ");
			show(msg, s);
			return arg_error(d, a, msg, rc);
		}
		if (rc == ERANGE) {
			g_string_append(msg,
					"number does not fit in 64 bits: ");
			show(msg, s);
			return arg_error(d, a, msg, rc);
		}
		if (v < a->min) {
			g_string_append_printf(
			    msg, "must be at least %" G_GUINT64_FORMAT, a->min);
			return arg_error(d, a, msg, ERANGE);
		}
		memcpy(field, &v, sizeof(v));
	}
	c->has |= a->has;
	return 0;
}

/* Checks that pages what..what+COUNT (first, count) stay within limit; 0 or
 * ERANGE + message. */
static int check_run(const struct cmd_desc *d, const char *what, uint64_t first,
		     uint64_t count, uint64_t limit, GString *msg)
{
	if (count <= limit && first <= limit - count)
		return 0;
	g_string_printf(msg,
			"%s: pages %s..%s+COUNT exceed the page limit "
			"(%" G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT
			" > %" G_GUINT64_FORMAT ")",
			d->name, what, what, first, count, limit);
	return ERANGE;
}

/* remap: both the view run and the backing run must fit the limit. */
static int check_remap(const struct cmd_desc *d, const rfs_cmd *c,
		       uint64_t limit, GString *msg)
{
	int rc = check_run(d, "VPAGE", c->vpage, c->count, limit, msg);

	return rc ? rc : check_run(d, "FPAGE", c->fpage, c->count, limit, msg);
}

/* reset/invalidate: a given VPAGE is below the limit, and with a COUNT the
 * run fits. */
static int check_span(const struct cmd_desc *d, const rfs_cmd *c,
		      uint64_t limit, GString *msg)
{
	if ((c->has & RFS_HAS_VPAGE) && c->vpage >= limit) {
		g_string_printf(
		    msg,
		    "%s: VPAGE %" G_GUINT64_FORMAT
		    " is not below the page limit %" G_GUINT64_FORMAT,
		    d->name, c->vpage, limit);
		return ERANGE;
	}
	if (c->has & RFS_HAS_COUNT)
		return check_run(d, "VPAGE", c->vpage, c->count, limit, msg);
	return 0;
}

/* create/resize: a given PAGES is at most the limit. */
static int check_pages(const struct cmd_desc *d, const rfs_cmd *c,
		       uint64_t limit, GString *msg)
{
	if ((c->has & RFS_HAS_PAGES) && c->pages > limit) {
		g_string_printf(msg,
				"%s: PAGES %" G_GUINT64_FORMAT
				" exceeds the page limit %" G_GUINT64_FORMAT,
				d->name, c->pages, limit);
		return ERANGE;
	}
	return 0;
}

/* Returns the command called name, or NULL. */
static const struct cmd_desc *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cmd_table); i++)
		if (!strcmp(cmd_table[i].name, name))
			return &cmd_table[i];
	return NULL;
}

/* Appends "expected N arguments" for d to msg. */
static void expected_args(GString *msg, const struct cmd_desc *d)
{
	if (d->min_args == d->max_args)
		g_string_append_printf(msg, "expected %u argument%s",
				       d->min_args,
				       d->min_args == 1 ? "" : "s");
	else if (d->min_args + 1 == d->max_args)
		g_string_append_printf(msg, "expected %u or %u arguments",
				       d->min_args, d->max_args);
	else
		g_string_append_printf(msg, "expected %u to %u arguments",
				       d->min_args, d->max_args);
}

/* Turns the tokens of a non-empty line into *c by the tables; 0 or an
 * errno + message (c may then hold strings for the caller to clear). */
static int parse_command(const struct line_tokens *t, uint64_t limit,
			 rfs_cmd *c, GString *msg)
{
	const struct cmd_desc *d = find_cmd(token(t, 0));
	unsigned nargs = t->n - 1;
	unsigned i;

	if (!d) {
		g_string_append(msg, "unknown command ");
		show(msg, token(t, 0));
		return EINVAL;
	}
	if (nargs < d->min_args || nargs > d->max_args) {
		g_string_append_printf(msg, "%s: ", d->name);
		expected_args(msg, d);
		g_string_append_printf(msg, ", got %u", nargs);
		return EINVAL;
	}
	c->op = d->op;
	c->count = d->count_default;
	for (i = 0; i < nargs; i++) {
		int rc = parse_arg(d, &arg_table[d->args[i]], token(t, i + 1),
				   c, msg);

		if (rc)
			return rc;
	}
	/* reset/invalidate VIEW VPAGE: that one page, as remap's COUNT. */
	if ((c->has & RFS_HAS_VPAGE) && !(c->has & RFS_HAS_COUNT))
		c->count = 1;
	return d->check ? d->check(d, c, limit, msg) : 0;
}

int rfs_parse(const char *text, size_t len, unsigned first_line,
	      const rfs_parse_limits *limits, GArray *cmds, unsigned *err_line,
	      GString *err)
{
	uint64_t limit = limits ? limits->page_limit : UINT64_MAX;
	const char *p = text, *end = text ? text + len : text;
	struct line_tokens t = {0};
	unsigned line = first_line;
	GString *msg;
	guint orig_len;
	int rc = 0;

	g_return_val_if_fail(cmds != NULL, EINVAL);
	t.buf = g_string_new(NULL);
	msg = g_string_new(NULL);
	orig_len = cmds->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		rfs_cmd c = {0};

		if (n && p[n - 1] == '\r')
			n--;
		g_string_truncate(msg, 0);
		rc = tokenize(p, n, &t, msg);
		if (!rc && t.n) {
			c.line = line;
			rc = parse_command(&t, limit, &c, msg);
			if (!rc)
				g_array_append_val(cmds, c);
			else
				rfs_cmd_clear(&c);
		}
		if (rc || !nl)
			break;
		p = nl + 1;
		line++;
	}
	if (rc) {
		guint i;

		for (i = orig_len; i < cmds->len; i++)
			rfs_cmd_clear(&g_array_index(cmds, rfs_cmd, i));
		g_array_set_size(cmds, orig_len);
		if (err_line)
			*err_line = line;
		if (err)
			g_string_assign(err, msg->str);
	}
	g_string_free(msg, TRUE);
	g_string_free(t.buf, TRUE);
	return rc;
}

GArray *rfs_cmds_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(rfs_cmd));

	g_array_set_clear_func(a, (GDestroyNotify)rfs_cmd_clear);
	return a;
}

void rfs_cmd_clear(rfs_cmd *c)
{
	if (!c)
		return;
	g_free(c->view);
	g_free(c->backing);
	memset(c, 0, sizeof(*c));
}

const char *rfs_op_name(rfs_op op)
{
	if ((unsigned)op >= G_N_ELEMENTS(cmd_table))
		return "(invalid op)";
	return cmd_table[op].name;
}

void rfs_cmd_format(GString *out, const rfs_cmd *c)
{
	const struct cmd_desc *d;
	unsigned n, i;

	g_return_if_fail(out && c && (unsigned)c->op < G_N_ELEMENTS(cmd_table));
	d = &cmd_table[c->op];
	/* Print optional arguments up to the last one given, since a later
	 * one can only be read back after the earlier ones. */
	n = d->fmt_args;
	for (i = n; i < d->max_args; i++)
		if (c->has & arg_table[d->args[i]].has)
			n = i + 1;
	g_string_append(out, d->name);
	for (i = 0; i < n; i++) {
		const struct arg_desc *a = &arg_table[d->args[i]];
		const char *field = (const char *)c + a->offset;

		g_string_append_c(out, ' ');
		if (a->path) {
			const char *s;

			memcpy(&s, field, sizeof(s));
			rfs_quote(out, s);
		} else {
			uint64_t v;

			memcpy(&v, field, sizeof(v));
			g_string_append_printf(out, "%" G_GUINT64_FORMAT, v);
		}
	}
	g_string_append_c(out, '\n');
}

/* Whether name can be written as a bare token. */
static bool is_bare(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!*p || *p == '#')
		return false;
	for (; *p; p++)
		if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')
			return false;
	return true;
}

/* Returns the length of the valid UTF-8 sequence at p (*p >= 0x80), or 0
 * when it is not one. */
static size_t utf8_seq_len(const unsigned char *p)
{
	size_t len, i;

	if (*p >= 0xc2 && *p <= 0xdf)
		len = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		len = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		len = 4;
	else
		return 0;
	/* Stops at the terminating NUL, which is no continuation byte. */
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return g_utf8_validate_len((const char *)p, len, NULL) ? len : 0;
}

void rfs_quote(GString *out, const char *name)
{
	const unsigned char *p = (const unsigned char *)(name ? name : "");

	if (is_bare((const char *)p)) {
		g_string_append(out, (const char *)p);
		return;
	}
	g_string_append_c(out, '"');
	while (*p) {
		size_t len;

		switch (*p) {
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				g_string_append_printf(out, "\\x%02x", *p);
			} else if (*p < 0x80) {
				g_string_append_c(out, (char)*p);
			} else if ((len = utf8_seq_len(p))) {
				g_string_append_len(out, (const char *)p,
						    (gssize)len);
				p += len;
				continue;
			} else {
				g_string_append_printf(out, "\\x%02x", *p);
			}
		}
		p++;
	}
	g_string_append_c(out, '"');
}

int rfs_path_normalize(const char *in, char **out, GString *err)
{
	GString *msg = g_string_new(NULL);
	int rc = path_normalize(in, NULL, out, msg);

	if (rc && err)
		g_string_assign(err, msg->str);
	g_string_free(msg, TRUE);
	return rc;
}
