/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* procparse.c - see procparse.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "procparse.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

/* A cursor over one line. */
struct cursor {
	const char *p, *end;
};

/* Skips spaces and tabs. */
static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* The next field (up to a space, tab or the end); false when empty. */
static bool next_field(struct cursor *c, const char **f, size_t *n)
{
	skip_blanks(c);
	*f = c->p;
	while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
		c->p++;
	*n = (size_t)(c->p - *f);
	return *n > 0;
}

/* Parses all of f[0..n) as a number in base 10 or 16 (no prefix). */
static bool parse_num(const char *f, size_t n, unsigned base, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d;
		char ch = f[i];
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

/* Parses "A<sep>B" in the given base. */
static bool parse_pair(const char *f, size_t n, char sep, unsigned base,
		       uint64_t *a, uint64_t *b)
{
	const char *s = memchr(f, sep, n);
	if (!s)
		return false;
	return parse_num(f, (size_t)(s - f), base, a) &&
	       parse_num(s + 1, n - (size_t)(s + 1 - f), base, b);
}

/* The line without a trailing '\n'. */
static size_t chomp(const char *line, size_t len)
{
	if (len && line[len - 1] == '\n')
		len--;
	return len;
}

int rfsl_parse_maps_line(const char *line, size_t len, struct rfsl_vma *out)
{
	struct cursor c = {line, line + chomp(line, len)};
	const char *f;
	size_t n;
	uint64_t a, b;

	memset(out, 0, sizeof(*out));
	if (!next_field(&c, &f, &n) || !parse_pair(f, n, '-', 16, &a, &b) ||
	    a >= b)
		return EINVAL;
	out->start = a;
	out->end = b;
	if (!next_field(&c, &f, &n) || n != 4)
		return EINVAL;
	out->readable = f[0] == 'r';
	out->writable = f[1] == 'w';
	out->executable = f[2] == 'x';
	out->shared = f[3] == 's';
	if (!next_field(&c, &f, &n) || !parse_num(f, n, 16, &out->offset))
		return EINVAL;
	if (!next_field(&c, &f, &n) || !parse_pair(f, n, ':', 16, &a, &b) ||
	    a > UINT32_MAX || b > UINT32_MAX)
		return EINVAL;
	out->major = (unsigned)a;
	out->minor = (unsigned)b;
	if (!next_field(&c, &f, &n) || !parse_num(f, n, 10, &out->inode))
		return EINVAL;
	skip_blanks(&c);
	if (c.p < c.end) {
		/* The kernel escapes only '\n' (as \012) in this field. */
		GString *p = g_string_sized_new((gsize)(c.end - c.p));
		for (const char *q = c.p; q < c.end; q++) {
			if (c.end - q >= 4 && memcmp(q, "\\012", 4) == 0) {
				g_string_append_c(p, '\n');
				q += 3;
			} else {
				g_string_append_c(p, *q);
			}
		}
		out->path = g_string_free(p, FALSE);
	}
	return 0;
}

void rfsl_vma_clear(struct rfsl_vma *v)
{
	if (!v)
		return;
	g_free(v->path);
	memset(v, 0, sizeof(*v));
}

char *rfsl_unescape_octal(const char *s, size_t len)
{
	GString *out = g_string_sized_new(len);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && len - i >= 4 && s[i + 1] >= '0' &&
		    s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
		    s[i + 3] >= '0' && s[i + 3] <= '7') {
			g_string_append_c(out, (char)((s[i + 1] - '0') * 64 +
						      (s[i + 2] - '0') * 8 +
						      (s[i + 3] - '0')));
			i += 3;
		} else {
			g_string_append_c(out, s[i]);
		}
	}
	return g_string_free(out, FALSE);
}

int rfsl_parse_mountinfo_line(const char *line, size_t len,
			      struct rfsl_mountinfo *out)
{
	struct cursor c = {line, line + chomp(line, len)};
	const char *f;
	size_t n;
	uint64_t a, b;

	memset(out, 0, sizeof(*out));
	if (!next_field(&c, &f, &n) || !parse_num(f, n, 10, &a) ||
	    a > INT32_MAX)
		goto bad;
	out->mount_id = (int)a;
	if (!next_field(&c, &f, &n) || !parse_num(f, n, 10, &a)) /* parent */
		goto bad;
	if (!next_field(&c, &f, &n) || !parse_pair(f, n, ':', 10, &a, &b) ||
	    a > UINT32_MAX || b > UINT32_MAX)
		goto bad;
	out->major = (unsigned)a;
	out->minor = (unsigned)b;
	if (!next_field(&c, &f, &n))
		goto bad;
	out->root = rfsl_unescape_octal(f, n);
	if (!next_field(&c, &f, &n))
		goto bad;
	out->mountpoint = rfsl_unescape_octal(f, n);
	if (!next_field(&c, &f, &n)) /* options */
		goto bad;
	/* Optional fields up to a lone "-". */
	for (;;) {
		if (!next_field(&c, &f, &n))
			goto bad;
		if (n == 1 && f[0] == '-')
			break;
	}
	if (!next_field(&c, &f, &n))
		goto bad;
	out->fstype = rfsl_unescape_octal(f, n);
	return 0;
bad:
	rfsl_mountinfo_clear(out);
	return EINVAL;
}

void rfsl_mountinfo_clear(struct rfsl_mountinfo *m)
{
	if (!m)
		return;
	g_free(m->root);
	g_free(m->mountpoint);
	g_free(m->fstype);
	memset(m, 0, sizeof(*m));
}

int rfsl_path_in_mount(const char *path, const char *mountpoint,
		       const char *root, char **rel)
{
	size_t mlen = strlen(mountpoint);
	while (mlen > 1 && mountpoint[mlen - 1] == '/')
		mlen--;
	if (path[0] != '/' || mountpoint[0] != '/')
		return ENOENT;
	const char *rest;
	if (mlen == 1) { /* mounted at "/" */
		rest = path;
	} else {
		if (strncmp(path, mountpoint, mlen) != 0 ||
		    (path[mlen] != '/' && path[mlen] != '\0'))
			return ENOENT;
		rest = path + mlen;
	}
	while (*rest == '/')
		rest++;
	while (*root == '/')
		root++;
	char *joined = *root && *rest ? g_strconcat(root, "/", rest, NULL)
				      : g_strdup(*root ? root : rest);
	/* Drop trailing slashes. */
	size_t n = strlen(joined);
	while (n && joined[n - 1] == '/')
		joined[--n] = '\0';
	*rel = joined;
	return 0;
}

bool rfsl_path_deleted(const char *path, char **stripped)
{
	static const char suffix[] = " (deleted)";
	size_t n = strlen(path), s = sizeof(suffix) - 1;
	if (n < s || strcmp(path + n - s, suffix) != 0)
		return false;
	if (stripped)
		*stripped = g_strndup(path, n - s);
	return true;
}

int rfsl_parse_state_header(const char *text, size_t len, uint64_t *pagesize)
{
	static const char head[] = "# remapfs state: pagesize ";
	size_t h = sizeof(head) - 1;
	if (len < h || memcmp(text, head, h) != 0)
		return EINVAL;
	const char *f = text + h, *e = f;
	while ((size_t)(e - text) < len && *e >= '0' && *e <= '9')
		e++;
	uint64_t v;
	if (!parse_num(f, (size_t)(e - f), 10, &v) || v == 0 ||
	    (v & (v - 1)) != 0)
		return EINVAL;
	if ((size_t)(e - text) < len && *e != '\n' && *e != '\r' && *e != ' ')
		return EINVAL;
	*pagesize = v;
	return 0;
}

int rfsl_parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	if (!s || !*s)
		return EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	uint64_t v = 0;
	if (!*s)
		return EINVAL;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

bool rfsl_fstype_is_fuse(const char *fstype)
{
	return strcmp(fstype, "fuse") == 0 || strncmp(fstype, "fuse.", 5) == 0;
}
