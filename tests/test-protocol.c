/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-protocol.c - tests of the .control protocol parser and formatter. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "protocol.h"

#include <errno.h>
#include <glib.h>
#include <stdint.h>
#include <string.h>

/* The number of random cases property tests run. */
#define ROUNDTRIP_TEXTS 300
#define RANDOM_TEXTS 20000
#define MUTATED_TEXTS 20000

/* ---- helpers ---------------------------------------------------------- */

/* Parses len bytes of text with first_line 1 and the given page limit,
 * asserting success; returns the commands. */
static GArray *parse_ok_len(const char *text, size_t len, uint64_t limit)
{
	rfs_parse_limits lim = {.page_limit = limit};
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	unsigned line = 0;
	int rc = rfs_parse(text, len, 1, &lim, cmds, &line, err);

	if (rc)
		g_test_message("unexpected error on line %u: %s", line,
			       err->str);
	g_assert_cmpint(rc, ==, 0);
	g_assert_cmpstr(err->str, ==, "");
	g_string_free(err, TRUE);
	return cmds;
}

/* parse_ok_len for a C string and no page limit. */
static GArray *parse_ok(const char *text)
{
	return parse_ok_len(text, strlen(text), UINT64_MAX);
}

/* Parses text as exactly one command and returns a copy of it (the caller
 * clears it). */
static rfs_cmd parse_one_limit(const char *text, uint64_t limit)
{
	GArray *cmds = parse_ok_len(text, strlen(text), limit);
	rfs_cmd c;

	g_assert_cmpuint(cmds->len, ==, 1);
	c = g_array_index(cmds, rfs_cmd, 0);
	/* Take the strings over, so that freeing the array does not. */
	memset(&g_array_index(cmds, rfs_cmd, 0), 0, sizeof(rfs_cmd));
	g_array_unref(cmds);
	return c;
}

/* parse_one_limit with no page limit. */
static rfs_cmd parse_one(const char *text)
{
	return parse_one_limit(text, UINT64_MAX);
}

/* Adds a known command to cmds, to check that failed parses keep it. */
static void add_sentinel(GArray *cmds)
{
	rfs_cmd c = {
	    .op = RFS_OP_REMOVE, .line = 42, .view = g_strdup("sentinel")};

	g_array_append_val(cmds, c);
}

/* Asserts that cmds holds just the sentinel. */
static void assert_only_sentinel(GArray *cmds)
{
	rfs_cmd *c;

	g_assert_cmpuint(cmds->len, ==, 1);
	c = &g_array_index(cmds, rfs_cmd, 0);
	g_assert_cmpint(c->op, ==, RFS_OP_REMOVE);
	g_assert_cmpuint(c->line, ==, 42);
	g_assert_cmpstr(c->view, ==, "sentinel");
	g_assert_null(c->backing);
}

/* Parses len bytes of text from first_line with the given limit, into an
 * array holding a sentinel, and asserts it fails with want_rc on want_line
 * with the message want_msg, leaving the array as it was. */
static void expect_error_full(const char *text, size_t len, unsigned first,
			      uint64_t limit, int want_rc, unsigned want_line,
			      const char *want_msg)
{
	rfs_parse_limits lim = {.page_limit = limit};
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	unsigned line = 0;
	int rc;

	add_sentinel(cmds);
	rc = rfs_parse(text, len, first, &lim, cmds, &line, err);
	g_assert_cmpint(rc, ==, want_rc);
	g_assert_cmpuint(line, ==, want_line);
	g_assert_cmpstr(err->str, ==, want_msg);
	assert_only_sentinel(cmds);
	g_array_unref(cmds);
	g_string_free(err, TRUE);
}

/* expect_error_full for a string literal (may hold NULs), line 1 first. */
#define EXPECT_ERROR_LIMIT(text, limit, rc, line, msg)                         \
	expect_error_full(text, sizeof(text) - 1, 1, limit, rc, line, msg)
#define EXPECT_ERROR(text, rc, line, msg)                                      \
	EXPECT_ERROR_LIMIT(text, UINT64_MAX, rc, line, msg)

/* Asserts two commands are equal field by field. */
static void assert_cmd_eq(const rfs_cmd *want, const rfs_cmd *got)
{
	g_assert_cmpstr(rfs_op_name(got->op), ==, rfs_op_name(want->op));
	g_assert_cmpuint(got->line, ==, want->line);
	g_assert_cmpuint(got->has, ==, want->has);
	g_assert_cmpstr(got->view, ==, want->view);
	g_assert_cmpstr(got->backing, ==, want->backing);
	g_assert_cmpuint(got->vpage, ==, want->vpage);
	g_assert_cmpuint(got->fpage, ==, want->fpage);
	g_assert_cmpuint(got->count, ==, want->count);
	g_assert_cmpuint(got->pages, ==, want->pages);
}

/* Returns rfs_quote(name) as a new string. */
static char *quoted(const char *name)
{
	GString *s = g_string_new(NULL);

	rfs_quote(s, name);
	return g_string_free(s, FALSE);
}

/* Returns rfs_cmd_format(c) as a new string. */
static char *formatted(const rfs_cmd *c)
{
	GString *s = g_string_new(NULL);

	rfs_cmd_format(s, c);
	return g_string_free(s, FALSE);
}

/* ---- good commands ---------------------------------------------------- */

static void test_remap_all_args(void)
{
	rfs_cmd c = parse_one("remap dir/a.img 10 20 30\n");

	g_assert_cmpint(c.op, ==, RFS_OP_REMAP);
	g_assert_cmpuint(c.line, ==, 1);
	g_assert_cmpstr(c.view, ==, "dir/a.img");
	g_assert_null(c.backing);
	g_assert_cmpuint(c.vpage, ==, 10);
	g_assert_cmpuint(c.fpage, ==, 20);
	g_assert_cmpuint(c.count, ==, 30);
	g_assert_cmpuint(c.has, ==, RFS_HAS_VPAGE | RFS_HAS_COUNT);
	rfs_cmd_clear(&c);
}

static void test_remap_count_defaults_to_1(void)
{
	rfs_cmd c = parse_one("remap a 3 4");

	g_assert_cmpint(c.op, ==, RFS_OP_REMAP);
	g_assert_cmpuint(c.vpage, ==, 3);
	g_assert_cmpuint(c.fpage, ==, 4);
	g_assert_cmpuint(c.count, ==, 1);
	g_assert_cmpuint(c.has, ==, RFS_HAS_VPAGE);
	rfs_cmd_clear(&c);
}

/* reset and invalidate share their argument forms. */
static void check_span_command(const char *kw, rfs_op op)
{
	char *t;
	rfs_cmd c;

	t = g_strdup_printf("%s v", kw);
	c = parse_one(t);
	g_assert_cmpint(c.op, ==, op);
	g_assert_cmpstr(c.view, ==, "v");
	g_assert_cmpuint(c.vpage, ==, 0);
	g_assert_cmpuint(c.count, ==, 0);
	g_assert_cmpuint(c.has, ==, 0);
	rfs_cmd_clear(&c);
	g_free(t);

	t = g_strdup_printf("%s v 7", kw);
	c = parse_one(t);
	g_assert_cmpint(c.op, ==, op);
	g_assert_cmpuint(c.vpage, ==, 7);
	g_assert_cmpuint(c.count, ==, 1); /* one page, like remap */
	g_assert_cmpuint(c.has, ==, RFS_HAS_VPAGE);
	rfs_cmd_clear(&c);
	g_free(t);

	t = g_strdup_printf("%s v 7 9", kw);
	c = parse_one(t);
	g_assert_cmpint(c.op, ==, op);
	g_assert_cmpuint(c.vpage, ==, 7);
	g_assert_cmpuint(c.count, ==, 9);
	g_assert_cmpuint(c.has, ==, RFS_HAS_VPAGE | RFS_HAS_COUNT);
	rfs_cmd_clear(&c);
	g_free(t);

	/* VPAGE 0 given is still "given". */
	t = g_strdup_printf("%s v 0", kw);
	c = parse_one(t);
	g_assert_cmpuint(c.has, ==, RFS_HAS_VPAGE);
	rfs_cmd_clear(&c);
	g_free(t);
}

static void test_reset_optional_args(void)
{
	check_span_command("reset", RFS_OP_RESET);
}

static void test_invalidate_optional_args(void)
{
	check_span_command("invalidate", RFS_OP_INVALIDATE);
}

static void test_create_without_pages(void)
{
	rfs_cmd c = parse_one("create views/v.img data/./f.img");

	g_assert_cmpint(c.op, ==, RFS_OP_CREATE);
	g_assert_cmpstr(c.view, ==, "views/v.img");
	g_assert_cmpstr(c.backing, ==, "data/f.img");
	g_assert_cmpuint(c.pages, ==, 0);
	g_assert_cmpuint(c.has, ==, 0);
	rfs_cmd_clear(&c);
}

static void test_create_with_pages(void)
{
	rfs_cmd c = parse_one("create v b 100");

	g_assert_cmpuint(c.pages, ==, 100);
	g_assert_cmpuint(c.has, ==, RFS_HAS_PAGES);
	rfs_cmd_clear(&c);
}

static void test_create_zero_pages_is_an_empty_view(void)
{
	rfs_cmd c = parse_one_limit("create v b 0", 0);

	g_assert_cmpuint(c.pages, ==, 0);
	g_assert_cmpuint(c.has, ==, RFS_HAS_PAGES);
	rfs_cmd_clear(&c);
}

static void test_resize(void)
{
	rfs_cmd c = parse_one("resize v 0x10");

	g_assert_cmpint(c.op, ==, RFS_OP_RESIZE);
	g_assert_cmpstr(c.view, ==, "v");
	g_assert_null(c.backing);
	g_assert_cmpuint(c.pages, ==, 16);
	g_assert_cmpuint(c.has, ==, RFS_HAS_PAGES);
	rfs_cmd_clear(&c);

	c = parse_one_limit("resize v 0", 0);
	g_assert_cmpuint(c.pages, ==, 0);
	rfs_cmd_clear(&c);
}

static void test_remove(void)
{
	rfs_cmd c = parse_one("remove a/b/");

	g_assert_cmpint(c.op, ==, RFS_OP_REMOVE);
	g_assert_cmpstr(c.view, ==, "a/b");
	g_assert_null(c.backing);
	g_assert_cmpuint(c.has, ==, 0);
	rfs_cmd_clear(&c);
}

static void test_many_lines_numbered_from_first_line(void)
{
	static const char text[] = "# a comment\n"
				   "remap a 1 2\n"
				   "\n"
				   "   \t \n"
				   "reset a\n"
				   "\t# indented comment\n"
				   "create b c 5 # trailing comment\n"
				   "remove a";
	rfs_parse_limits lim = {.page_limit = 100};
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	unsigned line = 0;

	add_sentinel(cmds);
	g_assert_cmpint(
	    rfs_parse(text, strlen(text), 10, &lim, cmds, &line, err), ==, 0);
	g_assert_cmpuint(cmds->len, ==, 5);
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 0).view, ==, "sentinel");
	g_assert_cmpint(g_array_index(cmds, rfs_cmd, 1).op, ==, RFS_OP_REMAP);
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 1).line, ==, 11);
	g_assert_cmpint(g_array_index(cmds, rfs_cmd, 2).op, ==, RFS_OP_RESET);
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 2).line, ==, 14);
	g_assert_cmpint(g_array_index(cmds, rfs_cmd, 3).op, ==, RFS_OP_CREATE);
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 3).line, ==, 16);
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 3).pages, ==, 5);
	g_assert_cmpint(g_array_index(cmds, rfs_cmd, 4).op, ==, RFS_OP_REMOVE);
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 4).line, ==, 17);
	g_assert_cmpuint(line, ==, 0); /* untouched on success */
	g_assert_cmpstr(err->str, ==, "");
	g_array_unref(cmds);
	g_string_free(err, TRUE);
}

static void test_empty_and_blank_texts_give_no_commands(void)
{
	static const char *const texts[] = {
	    "",	      "\n",
	    "\n\n\n", "  \t ",
	    "\r\n",   "# only a comment",
	    "#\n#",   "   # comment after blanks\n\r\n",
	};
	size_t i;
	GArray *cmds;

	for (i = 0; i < G_N_ELEMENTS(texts); i++) {
		cmds = parse_ok(texts[i]);
		g_assert_cmpuint(cmds->len, ==, 0);
		g_array_unref(cmds);
	}
	/* NULL with length 0 is an empty text too. */
	cmds = parse_ok_len(NULL, 0, UINT64_MAX);
	g_assert_cmpuint(cmds->len, ==, 0);
	g_array_unref(cmds);
}

static void test_comment_token_ends_the_line(void)
{
	rfs_cmd c;

	/* Anything after a '#' token is ignored, even bad syntax. */
	c = parse_one("remove a #\"unterminated \\q \x01");
	g_assert_cmpstr(c.view, ==, "a");
	rfs_cmd_clear(&c);

	c = parse_one("remove a\t#x");
	g_assert_cmpstr(c.view, ==, "a");
	rfs_cmd_clear(&c);

	/* A '#' inside a token is part of it. */
	c = parse_one("remove a#b");
	g_assert_cmpstr(c.view, ==, "a#b");
	rfs_cmd_clear(&c);

	/* A quoted '#' starts no comment. */
	c = parse_one("remove \"#a\"");
	g_assert_cmpstr(c.view, ==, "#a");
	rfs_cmd_clear(&c);

	/* A comment where an argument would be leaves it missing. */
	EXPECT_ERROR("remove #a", EINVAL, 1,
		     "remove: expected 1 argument, got 0");
}

static void test_crlf_line_endings(void)
{
	GArray *cmds = parse_ok("remap a 1 2 3\r\nremove b\r\n\r\nreset c\r");

	g_assert_cmpuint(cmds->len, ==, 3);
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 0).count, ==, 3);
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 1).view, ==, "b");
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 2).line, ==, 4);
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 2).view, ==, "c");
	g_array_unref(cmds);

	/* Only one '\r' is stripped; another one is an error. */
	EXPECT_ERROR("remove b\r\r\n", EINVAL, 1,
		     "carriage return inside a line");
	EXPECT_ERROR("remove a\rb\n", EINVAL, 1,
		     "carriage return inside a line");
	/* The '\r' stripped is the one right before '\n', even when it
	 * would close nothing; a raw '\r' inside quotes is kept. */
	EXPECT_ERROR("remove \"a\r\n\"", EINVAL, 1,
		     "unterminated quoted string");
	{
		rfs_cmd c = parse_one("remove \"a\r\"\r\n");

		g_assert_cmpstr(c.view, ==, "a\r");
		rfs_cmd_clear(&c);
	}
}

static void test_tabs_and_spaces_separate_tokens(void)
{
	rfs_cmd c = parse_one("\t remap \t\ta  1\t2 \t 3 \t");

	g_assert_cmpstr(c.view, ==, "a");
	g_assert_cmpuint(c.vpage, ==, 1);
	g_assert_cmpuint(c.fpage, ==, 2);
	g_assert_cmpuint(c.count, ==, 3);
	rfs_cmd_clear(&c);
}

static void test_appends_to_existing_commands(void)
{
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	unsigned line = 0;

	add_sentinel(cmds);
	g_assert_cmpint(rfs_parse("remove x\n", 9, 1, NULL, cmds, &line, err),
			==, 0);
	g_assert_cmpuint(cmds->len, ==, 2);
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 0).view, ==, "sentinel");
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 1).view, ==, "x");
	g_array_unref(cmds);
	g_string_free(err, TRUE);
}

static void test_length_not_terminator_ends_text(void)
{
	/* Only len bytes are read: the rest of the buffer is ignored. */
	static const char text[] = "remove a\nremove b";
	GArray *cmds = parse_ok_len(text, 8, UINT64_MAX);

	g_assert_cmpuint(cmds->len, ==, 1);
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 0).view, ==, "a");
	g_array_unref(cmds);
}

/* ---- numbers ---------------------------------------------------------- */

static void test_hex_numbers(void)
{
	rfs_cmd c = parse_one("remap a 0x10 0XfF 0x0001");

	g_assert_cmpuint(c.vpage, ==, 16);
	g_assert_cmpuint(c.fpage, ==, 255);
	g_assert_cmpuint(c.count, ==, 1);
	rfs_cmd_clear(&c);

	c = parse_one("resize a 0xDeadBeef");
	g_assert_cmpuint(c.pages, ==, 0xdeadbeefu);
	rfs_cmd_clear(&c);
}

static void test_decimal_leading_zeros(void)
{
	rfs_cmd c = parse_one("remap a 007 0 00000000000000000000000000001");

	g_assert_cmpuint(c.vpage, ==, 7);
	g_assert_cmpuint(c.fpage, ==, 0);
	g_assert_cmpuint(c.count, ==, 1);
	rfs_cmd_clear(&c);
}

static void test_uint64_max_fits(void)
{
	rfs_cmd c = parse_one("resize a 18446744073709551615");

	g_assert_cmpuint(c.pages, ==, UINT64_MAX);
	rfs_cmd_clear(&c);

	c = parse_one("resize a 0xffffffffffffffff");
	g_assert_cmpuint(c.pages, ==, UINT64_MAX);
	rfs_cmd_clear(&c);

	c = parse_one("resize a 0x0000000000000000ffffffffffffffff");
	g_assert_cmpuint(c.pages, ==, UINT64_MAX);
	rfs_cmd_clear(&c);

	/* A run may end exactly at UINT64_MAX with no limit. */
	c = parse_one("remap a 0 18446744073709551614 1");
	g_assert_cmpuint(c.fpage, ==, UINT64_MAX - 1);
	rfs_cmd_clear(&c);
	c = parse_one("remap a 0 0 18446744073709551615");
	g_assert_cmpuint(c.count, ==, UINT64_MAX);
	rfs_cmd_clear(&c);
	c = parse_one("reset a 18446744073709551614 1");
	g_assert_cmpuint(c.vpage, ==, UINT64_MAX - 1);
	rfs_cmd_clear(&c);
}

static void test_number_overflow_is_erange(void)
{
	EXPECT_ERROR("resize a 18446744073709551616", ERANGE, 1,
		     "resize: PAGES: number does not fit in 64 bits: "
		     "'18446744073709551616'");
	EXPECT_ERROR("resize a 99999999999999999999", ERANGE, 1,
		     "resize: PAGES: number does not fit in 64 bits: "
		     "'99999999999999999999'");
	EXPECT_ERROR("remap a 0x10000000000000000 0", ERANGE, 1,
		     "remap: VPAGE: number does not fit in 64 bits: "
		     "'0x10000000000000000'");
	EXPECT_ERROR("remap a 0 0 184467440737095516150", ERANGE, 1,
		     "remap: COUNT: number does not fit in 64 bits: "
		     "'184467440737095516150'");
	/* A long number is cut short in the message. */
	EXPECT_ERROR("resize a 1234567890123456789012345678901234567890123456",
		     ERANGE, 1,
		     "resize: PAGES: number does not fit in 64 bits: "
		     "'1234567890123456789012345678901234567890...'");
}

static void test_runs_past_uint64_max_are_erange(void)
{
	/* vpage+count and fpage+count overflow; no wrap-around accepted. */
	EXPECT_ERROR("remap a 18446744073709551615 0 1", ERANGE, 1,
		     "remap: pages VPAGE..VPAGE+COUNT exceed the page limit "
		     "(18446744073709551615 + 1 > 18446744073709551615)");
	EXPECT_ERROR("remap a 1 0xffffffffffffffff 0xffffffffffffffff", ERANGE,
		     1,
		     "remap: pages VPAGE..VPAGE+COUNT exceed the page limit "
		     "(1 + 18446744073709551615 > 18446744073709551615)");
	EXPECT_ERROR("remap a 0 18446744073709551615 1", ERANGE, 1,
		     "remap: pages FPAGE..FPAGE+COUNT exceed the page limit "
		     "(18446744073709551615 + 1 > 18446744073709551615)");
	EXPECT_ERROR("invalidate a 2 18446744073709551615", ERANGE, 1,
		     "invalidate: pages VPAGE..VPAGE+COUNT exceed the page "
		     "limit (2 + 18446744073709551615 > 18446744073709551615)");
	EXPECT_ERROR("reset a 18446744073709551615", ERANGE, 1,
		     "reset: VPAGE 18446744073709551615 is not below the page "
		     "limit 18446744073709551615");
}

static void test_not_a_number_is_einval(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"remap a x1 0", "remap: VPAGE: not a number: 'x1'"},
	    {"remap a \"\" 0", "remap: VPAGE: not a number: ''"},
	    {"remap a +1 0", "remap: VPAGE: not a number: '+1'"},
	    {"remap a -1 0", "remap: VPAGE: not a number: '-1'"},
	    {"remap a 0 0x", "remap: FPAGE: not a number: '0x'"},
	    {"remap a 0 0X", "remap: FPAGE: not a number: '0X'"},
	    {"remap a 0 1 12abc", "remap: COUNT: not a number: '12abc'"},
	    {"remap a 0 1 1.5", "remap: COUNT: not a number: '1.5'"},
	    {"remap a 0 1 0x1g", "remap: COUNT: not a number: '0x1g'"},
	    {"remap a 0 1 0b1", "remap: COUNT: not a number: '0b1'"},
	    {"remap a 0 1 1e3", "remap: COUNT: not a number: '1e3'"},
	    {"remap a 0 1 x", "remap: COUNT: not a number: 'x'"},
	    {"remap a 0 1 0xx1", "remap: COUNT: not a number: '0xx1'"},
	    {"remap a 0 1 1,000", "remap: COUNT: not a number: '1,000'"},
	    {"remap a 0 1 \xef\xbc\x91",
	     "remap: COUNT: not a number: '\\xef\\xbc\\x91'"},
	    {"reset a abc", "reset: VPAGE: not a number: 'abc'"},
	    {"invalidate a 0 z", "invalidate: COUNT: not a number: 'z'"},
	    {"create a b -0", "create: PAGES: not a number: '-0'"},
	    {"resize a 10k", "resize: PAGES: not a number: '10k'"},
	    /* Junk after an overflowing number is still not a number. */
	    {"resize a 99999999999999999999x",
	     "resize: PAGES: not a number: '99999999999999999999x'"},
	    {"resize a 0x1ffffffffffffffffg",
	     "resize: PAGES: not a number: '0x1ffffffffffffffffg'"},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case: %s", cases[i].text);
		expect_error_full(cases[i].text, strlen(cases[i].text), 1,
				  UINT64_MAX, EINVAL, 1, cases[i].msg);
	}
}

static void test_numbers_may_be_quoted(void)
{
	rfs_cmd c = parse_one("remap a \"1\" \"0x2\" \"3\"");

	g_assert_cmpuint(c.vpage, ==, 1);
	g_assert_cmpuint(c.fpage, ==, 2);
	g_assert_cmpuint(c.count, ==, 3);
	rfs_cmd_clear(&c);
}

/* ---- syntax errors ---------------------------------------------------- */

static void test_unknown_command(void)
{
	EXPECT_ERROR("remapp a 1 2", EINVAL, 1, "unknown command 'remapp'");
	EXPECT_ERROR("REMAP a 1 2", EINVAL, 1, "unknown command 'REMAP'");
	EXPECT_ERROR("\"\" a", EINVAL, 1, "unknown command ''");
	EXPECT_ERROR("\"#x\"", EINVAL, 1, "unknown command '#x'");
	EXPECT_ERROR("re\x01map", EINVAL, 1, "unknown command 're\\x01map'");
	EXPECT_ERROR("remove a\nfoo", EINVAL, 2, "unknown command 'foo'");
}

static void test_wrong_argument_count(void)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
	    {"remap", "remap: expected 3 or 4 arguments, got 0"},
	    {"remap a 1", "remap: expected 3 or 4 arguments, got 2"},
	    {"remap a 1 2 3 4", "remap: expected 3 or 4 arguments, got 5"},
	    {"reset", "reset: expected 1 to 3 arguments, got 0"},
	    {"reset a 1 2 3", "reset: expected 1 to 3 arguments, got 4"},
	    {"create a", "create: expected 2 or 3 arguments, got 1"},
	    {"create a b 1 2", "create: expected 2 or 3 arguments, got 4"},
	    {"resize a", "resize: expected 2 arguments, got 1"},
	    {"resize a 1 2", "resize: expected 2 arguments, got 3"},
	    {"remove", "remove: expected 1 argument, got 0"},
	    {"remove a b", "remove: expected 1 argument, got 2"},
	    {"invalidate", "invalidate: expected 1 to 3 arguments, got 0"},
	    {"invalidate a 1 2 3 4 5 6 7 8 9",
	     "invalidate: expected 1 to 3 arguments, got 10"},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case: %s", cases[i].text);
		expect_error_full(cases[i].text, strlen(cases[i].text), 1,
				  UINT64_MAX, EINVAL, 1, cases[i].msg);
	}
}

static void test_quoting_errors(void)
{
	EXPECT_ERROR("remove \"abc", EINVAL, 1, "unterminated quoted string");
	EXPECT_ERROR("remove \"abc\n\"", EINVAL, 1,
		     "unterminated quoted string");
	EXPECT_ERROR("remove \"abc\\", EINVAL, 1, "unterminated quoted string");
	EXPECT_ERROR("remove \"abc\\\"", EINVAL, 1,
		     "unterminated quoted string");
	EXPECT_ERROR("remove \"a\\qb\"", EINVAL, 1, "invalid escape '\\q'");
	EXPECT_ERROR("remove \"a\\'\"", EINVAL, 1, "invalid escape '\\''");
	EXPECT_ERROR("remove \"a\\8\"", EINVAL, 1, "invalid escape '\\8'");
	EXPECT_ERROR("remove \"a\\ \"", EINVAL, 1,
		     "invalid escape: byte 0x20 after '\\'");
	EXPECT_ERROR("remove \"a\\\xc3\xa9\"", EINVAL, 1,
		     "invalid escape: byte 0xc3 after '\\'");
	EXPECT_ERROR("remove \"\\x4\"", EINVAL, 1,
		     "invalid escape '\\x': it needs exactly two hex digits");
	EXPECT_ERROR("remove \"\\x4g\"", EINVAL, 1,
		     "invalid escape '\\x': it needs exactly two hex digits");
	EXPECT_ERROR("remove \"\\x", EINVAL, 1,
		     "invalid escape '\\x': it needs exactly two hex digits");
	EXPECT_ERROR("remove \"\\400\"", EINVAL, 1,
		     "invalid escape '\\400': octal escapes go up to \\377");
	EXPECT_ERROR("remove a\\b", EINVAL, 1, "'\\' outside a quoted string");
	EXPECT_ERROR("remove a\\", EINVAL, 1, "'\\' outside a quoted string");
	EXPECT_ERROR("remove \\", EINVAL, 1, "'\\' outside a quoted string");
	EXPECT_ERROR("remove a\"b\"", EINVAL, 1,
		     "'\"' inside an unquoted token (quote the whole token)");
	EXPECT_ERROR("remove \"a\"b", EINVAL, 1,
		     "expected a space or tab after a quoted string");
	EXPECT_ERROR("remove \"a\"\"b\"", EINVAL, 1,
		     "expected a space or tab after a quoted string");
	/* Syntax is checked on the whole line, before the arguments. */
	EXPECT_ERROR("remap a x \"", EINVAL, 1, "unterminated quoted string");
}

static void test_nul_bytes_are_rejected(void)
{
	EXPECT_ERROR("remove \"a\\0\"", EINVAL, 1, "name contains a NUL byte");
	EXPECT_ERROR("remove \"a\\000b\"", EINVAL, 1,
		     "name contains a NUL byte");
	EXPECT_ERROR("remove \"a\\x00\"", EINVAL, 1,
		     "name contains a NUL byte");
	EXPECT_ERROR("remove \"a\0b\"", EINVAL, 1, "name contains a NUL byte");
	EXPECT_ERROR("remove a\0b", EINVAL, 1,
		     "NUL byte outside a quoted string");
	EXPECT_ERROR("remove a\n\0", EINVAL, 2,
		     "NUL byte outside a quoted string");
	/* A NUL in a comment is ignored. */
	{
		static const char text[] = "remove a # \0 x\n";
		GArray *cmds = parse_ok_len(text, sizeof(text) - 1, 1);

		g_assert_cmpuint(cmds->len, ==, 1);
		g_array_unref(cmds);
	}
}

static void test_path_errors(void)
{
	EXPECT_ERROR("remove /a", EINVAL, 1,
		     "remove: VIEW: path must be relative to the mount root");
	EXPECT_ERROR("create a /b", EINVAL, 1,
		     "create: BACKING: path must be relative to the source "
		     "directory");
	EXPECT_ERROR("remap a/../b 0 0", EINVAL, 1,
		     "remap: VIEW: '..' is not allowed in paths");
	EXPECT_ERROR("create a ..", EINVAL, 1,
		     "create: BACKING: '..' is not allowed in paths");
	EXPECT_ERROR("remove \"\"", EINVAL, 1, "remove: VIEW: empty path");
	EXPECT_ERROR("remove .", EINVAL, 1, "remove: VIEW: empty path");
	EXPECT_ERROR("resize ./ 1", EINVAL, 1, "resize: VIEW: empty path");
	EXPECT_ERROR("invalidate .//./", EINVAL, 1,
		     "invalidate: VIEW: empty path");
	/* The first bad argument is reported. */
	EXPECT_ERROR("create /a ..", EINVAL, 1,
		     "create: VIEW: path must be relative to the mount root");
}

/* ---- range errors ----------------------------------------------------- */

static void test_count_zero_is_erange(void)
{
	EXPECT_ERROR("remap a 0 0 0", ERANGE, 1,
		     "remap: COUNT: must be at least 1");
	EXPECT_ERROR("reset a 0 0", ERANGE, 1,
		     "reset: COUNT: must be at least 1");
	EXPECT_ERROR("invalidate a 5 0x0", ERANGE, 1,
		     "invalidate: COUNT: must be at least 1");
}

static void test_remap_page_limit(void)
{
	rfs_cmd c;

	/* Runs ending exactly at the limit are fine. */
	c = parse_one_limit("remap a 2 10 2", 12);
	g_assert_cmpuint(c.count, ==, 2);
	rfs_cmd_clear(&c);
	c = parse_one_limit("remap a 11 11", 12);
	rfs_cmd_clear(&c);

	EXPECT_ERROR_LIMIT("remap a 10 0 5", 12, ERANGE, 1,
			   "remap: pages VPAGE..VPAGE+COUNT exceed the page "
			   "limit (10 + 5 > 12)");
	EXPECT_ERROR_LIMIT("remap a 0 10 5", 12, ERANGE, 1,
			   "remap: pages FPAGE..FPAGE+COUNT exceed the page "
			   "limit (10 + 5 > 12)");
	EXPECT_ERROR_LIMIT("remap a 12 0", 12, ERANGE, 1,
			   "remap: pages VPAGE..VPAGE+COUNT exceed the page "
			   "limit (12 + 1 > 12)");
	EXPECT_ERROR_LIMIT("remap a 0 0 13", 12, ERANGE, 1,
			   "remap: pages VPAGE..VPAGE+COUNT exceed the page "
			   "limit (0 + 13 > 12)");
	EXPECT_ERROR_LIMIT("remap a 0 0", 0, ERANGE, 1,
			   "remap: pages VPAGE..VPAGE+COUNT exceed the page "
			   "limit (0 + 1 > 0)");
}

/* reset and invalidate share their range checks. */
static void check_span_limit(const char *kw)
{
	static const char *const good[] = {"", " 11", " 0 12", " 11 1", " 5 7"};
	size_t i;
	char *t, *msg;

	for (i = 0; i < G_N_ELEMENTS(good); i++) {
		rfs_cmd c;

		t = g_strconcat(kw, " a", good[i], NULL);
		c = parse_one_limit(t, 12);
		rfs_cmd_clear(&c);
		g_free(t);
	}

	t = g_strdup_printf("%s a 12", kw);
	msg =
	    g_strdup_printf("%s: VPAGE 12 is not below the page limit 12", kw);
	expect_error_full(t, strlen(t), 1, 12, ERANGE, 1, msg);
	g_free(t);
	g_free(msg);

	t = g_strdup_printf("%s a 12 1", kw);
	msg =
	    g_strdup_printf("%s: VPAGE 12 is not below the page limit 12", kw);
	expect_error_full(t, strlen(t), 1, 12, ERANGE, 1, msg);
	g_free(t);
	g_free(msg);

	t = g_strdup_printf("%s a 5 8", kw);
	msg = g_strdup_printf("%s: pages VPAGE..VPAGE+COUNT exceed the page "
			      "limit (5 + 8 > 12)",
			      kw);
	expect_error_full(t, strlen(t), 1, 12, ERANGE, 1, msg);
	g_free(t);
	g_free(msg);

	/* With a limit of 0, only the whole-view form is valid. */
	t = g_strdup_printf("%s a", kw);
	{
		rfs_cmd c = parse_one_limit(t, 0);

		rfs_cmd_clear(&c);
	}
	g_free(t);
	t = g_strdup_printf("%s a 0", kw);
	msg = g_strdup_printf("%s: VPAGE 0 is not below the page limit 0", kw);
	expect_error_full(t, strlen(t), 1, 0, ERANGE, 1, msg);
	g_free(t);
	g_free(msg);
}

static void test_reset_page_limit(void)
{
	check_span_limit("reset");
}

static void test_invalidate_page_limit(void)
{
	check_span_limit("invalidate");
}

static void test_pages_page_limit(void)
{
	rfs_cmd c;

	c = parse_one_limit("create a b 12", 12);
	g_assert_cmpuint(c.pages, ==, 12);
	rfs_cmd_clear(&c);
	c = parse_one_limit("resize a 12", 12);
	rfs_cmd_clear(&c);

	EXPECT_ERROR_LIMIT("create a b 13", 12, ERANGE, 1,
			   "create: PAGES 13 exceeds the page limit 12");
	EXPECT_ERROR_LIMIT("resize a 0xd", 12, ERANGE, 1,
			   "resize: PAGES 13 exceeds the page limit 12");
	EXPECT_ERROR_LIMIT("resize a 1", 0, ERANGE, 1,
			   "resize: PAGES 1 exceeds the page limit 0");
}

static void test_no_limits_means_no_page_limit(void)
{
	GArray *cmds = rfs_cmds_new();
	static const char text[] = "resize a 18446744073709551615\n";

	g_assert_cmpint(
	    rfs_parse(text, strlen(text), 1, NULL, cmds, NULL, NULL), ==, 0);
	g_assert_cmpuint(cmds->len, ==, 1);
	g_array_unref(cmds);
}

static void test_null_err_and_err_line_are_allowed(void)
{
	GArray *cmds = rfs_cmds_new();

	g_assert_cmpint(rfs_parse("remove /a", 9, 1, NULL, cmds, NULL, NULL),
			==, EINVAL);
	g_assert_cmpuint(cmds->len, ==, 0);
	g_array_unref(cmds);
}

/* ---- error lines and rollback ----------------------------------------- */

static void test_error_on_line_3_after_comments_and_blanks(void)
{
	EXPECT_ERROR("# header\n\nremap a 0 x1\nremove b\n", EINVAL, 3,
		     "remap: FPAGE: not a number: 'x1'");
	EXPECT_ERROR("remove a\n  # note\n\tremove /b\r\nremove c", EINVAL, 3,
		     "remove: VIEW: path must be relative to the mount root");
	EXPECT_ERROR_LIMIT("reset a\n\n create a b 99 # big\n", 10, ERANGE, 3,
			   "create: PAGES 99 exceeds the page limit 10");
	/* The last line, without '\n', is numbered too. */
	EXPECT_ERROR("remove a\n\nbogus", EINVAL, 3, "unknown command 'bogus'");
}

static void test_error_line_counts_from_first_line(void)
{
	static const char text[] = "remove a\n#\n\nremove\n";

	expect_error_full(text, strlen(text), 100, UINT64_MAX, EINVAL, 103,
			  "remove: expected 1 argument, got 0");
	expect_error_full(text, strlen(text), 0, UINT64_MAX, EINVAL, 3,
			  "remove: expected 1 argument, got 0");
}

static void test_error_leaves_cmds_unchanged(void)
{
	static const char text[] = "remap a 1 2\n"
				   "create b c 4\n"
				   "reset a 0 1\n"
				   "resize b \"unterminated\n"
				   "remove a\n";
	static const char before[] = "remove x\nremap y 1 2 3\n";
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new("old message");
	unsigned line = 0;
	rfs_cmd first;
	int rc;

	g_assert_cmpint(
	    rfs_parse(before, strlen(before), 1, NULL, cmds, &line, err), ==,
	    0);
	g_assert_cmpuint(cmds->len, ==, 2);
	first = g_array_index(cmds, rfs_cmd, 0);

	rc = rfs_parse(text, strlen(text), 1, NULL, cmds, &line, err);
	g_assert_cmpint(rc, ==, EINVAL);
	g_assert_cmpuint(line, ==, 4);
	g_assert_cmpstr(err->str, ==, "unterminated quoted string");
	g_assert_cmpuint(cmds->len, ==, 2);
	/* The old entries are the same, strings and all. */
	g_assert_true(g_array_index(cmds, rfs_cmd, 0).view == first.view);
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 0).view, ==, "x");
	g_assert_cmpstr(g_array_index(cmds, rfs_cmd, 1).view, ==, "y");
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 1).count, ==, 3);
	g_assert_cmpuint(g_array_index(cmds, rfs_cmd, 1).line, ==, 2);
	g_array_unref(cmds);
	g_string_free(err, TRUE);
}

static void test_error_leaves_empty_cmds_empty(void)
{
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	unsigned line = 0;

	g_assert_cmpint(rfs_parse("remove a\nremove b\nremove /c", 27, 1, NULL,
				  cmds, &line, err),
			==, EINVAL);
	g_assert_cmpuint(cmds->len, ==, 0);
	g_assert_cmpuint(line, ==, 3);
	g_array_unref(cmds);
	g_string_free(err, TRUE);
}

/* ---- quoting and escapes ---------------------------------------------- */

static void test_quoted_escapes_decode(void)
{
	rfs_cmd c = parse_one("remove \"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\"");

	g_assert_cmpstr(c.view, ==, "\a\b\f\n\r\t\v\\\"");
	rfs_cmd_clear(&c);

	c = parse_one("remove \"\\x41\\x7a\\x7A\\xff\\1\\12\\101\\1011\"");
	g_assert_cmpstr(c.view, ==,
			"Azz\xff\001\012A"
			"A1");
	rfs_cmd_clear(&c);

	/* Raw bytes, tabs and spaces inside quotes are kept. */
	c = parse_one("remove \"a b\tc\x01\xc3\xa9\xff#\"");
	g_assert_cmpstr(c.view, ==, "a b\tc\x01\xc3\xa9\xff#");
	rfs_cmd_clear(&c);

	/* '/' inside quotes still separates components. */
	c = parse_one("remove \"a//./b/\"");
	g_assert_cmpstr(c.view, ==, "a/b");
	rfs_cmd_clear(&c);

	/* An escaped slash too (it is just a byte). */
	c = parse_one("remove \"a\\x2fb\"");
	g_assert_cmpstr(c.view, ==, "a/b");
	rfs_cmd_clear(&c);
}

static void test_bare_tokens_keep_other_bytes(void)
{
	rfs_cmd c = parse_one("remove \xc3\xa9t\xc3\xa9\x01\xff\x7f'`$");

	g_assert_cmpstr(c.view, ==, "\xc3\xa9t\xc3\xa9\x01\xff\x7f'`$");
	rfs_cmd_clear(&c);
}

static void test_quote_bare_names(void)
{
	static const char *const bare[] = {
	    "abc", "a/b.c-d_e~!", "a#", "x=1,y=2", "{}[]()<>|&;*?$'`%@^+:", "0",
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(bare); i++) {
		char *q = quoted(bare[i]);

		g_assert_cmpstr(q, ==, bare[i]);
		g_free(q);
	}
}

static void test_quote_quoted_names(void)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"", "\"\""},
	    {"#a", "\"#a\""},
	    {"a b", "\"a b\""},
	    {" ", "\" \""},
	    {"a\"b", "\"a\\\"b\""},
	    {"a\\b", "\"a\\\\b\""},
	    {"\n\t\r", "\"\\n\\t\\r\""},
	    {"\x01\x1f\x7f\x0b\a", "\"\\x01\\x1f\\x7f\\x0b\\x07\""},
	    {"\xc3\xa9", "\"\xc3\xa9\""},
	    {"\xe6\x97\xa5", "\"\xe6\x97\xa5\""},
	    {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
	    {"\xc2\x80", "\"\xc2\x80\""},
	    {"\xff", "\"\\xff\""},
	    {"\x80", "\"\\x80\""},
	    {"\xc3", "\"\\xc3\""},
	    {"\xc3(", "\"\\xc3(\""},
	    {"\xe6\x97", "\"\\xe6\\x97\""},
	    {"\xc0\xaf", "\"\\xc0\\xaf\""},
	    {"\xe0\x80\xaf", "\"\\xe0\\x80\\xaf\""},
	    {"\xed\xa0\x80", "\"\\xed\\xa0\\x80\""},
	    {"\xf4\x90\x80\x80", "\"\\xf4\\x90\\x80\\x80\""},
	    {"\xf8\x88\x80\x80\x80", "\"\\xf8\\x88\\x80\\x80\\x80\""},
	    {"a\xc3\xa9\xffz", "\"a\xc3\xa9\\xffz\""},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *q = quoted(cases[i].in);

		g_assert_cmpstr(q, ==, cases[i].out);
		g_free(q);
	}
}

/* Returns a random byte other than NUL and '/', biased to the tricky ones. */
static void random_name_bytes(GRand *r, GString *s, gboolean allow_slash)
{
	static const char *const pieces[] = {
	    " ",
	    "\"",
	    "\\",
	    "#",
	    "\t",
	    "\n",
	    "\r",
	    "\x01",
	    "\x7f",
	    "\x1b",
	    "\xc3\xa9",
	    "\xe6\x97\xa5",
	    "\xf0\x9f\x98\x80",
	    "\xc2\x80",
	    "\xff",
	    "\x80",
	    "\xc3",
	    "\xed\xa0\x80",
	    "'",
	    ".",
	    "-",
	    "x",
	};

	if (g_rand_boolean(r)) {
		g_string_append(
		    s, pieces[g_rand_int_range(r, 0, G_N_ELEMENTS(pieces))]);
	} else {
		char c = (char)g_rand_int_range(r, 1, 256);

		if (c == '/' && !allow_slash)
			c = 'S';
		g_string_append_c(s, c);
	}
}

static void test_quote_then_parse_gives_the_name_back(void)
{
	GRand *r = g_rand_new_with_seed(1234);
	int i;

	for (i = 0; i < 5000; i++) {
		GString *name = g_string_new(NULL);
		GString *text = g_string_new("remove ");
		int n = g_rand_int_range(r, 1, 12), j;
		rfs_cmd c;

		for (j = 0; j < n; j++)
			random_name_bytes(r, name, FALSE);
		if (!strcmp(name->str, ".") || !strcmp(name->str, ".."))
			g_string_append_c(name, 'x');
		rfs_quote(text, name->str);
		c = parse_one(text->str);
		g_assert_cmpstr(c.view, ==, name->str);
		rfs_cmd_clear(&c);
		g_string_free(name, TRUE);
		g_string_free(text, TRUE);
	}
	g_rand_free(r);
}

/* ---- formatting ------------------------------------------------------- */

static void test_format_each_command(void)
{
	static const struct {
		rfs_cmd c;
		const char *out;
	} cases[] = {
	    {{.op = RFS_OP_REMAP,
	      .has = RFS_HAS_VPAGE | RFS_HAS_COUNT,
	      .view = "a b",
	      .vpage = 1,
	      .fpage = 2,
	      .count = 3},
	     "remap \"a b\" 1 2 3\n"},
	    /* remap always prints COUNT, given or not. */
	    {{.op = RFS_OP_REMAP, .view = "v", .vpage = 1, .count = 1},
	     "remap v 1 0 1\n"},
	    {{.op = RFS_OP_REMAP,
	      .view = "v",
	      .vpage = UINT64_MAX,
	      .fpage = UINT64_MAX,
	      .count = UINT64_MAX},
	     "remap v 18446744073709551615 18446744073709551615 "
	     "18446744073709551615\n"},
	    {{.op = RFS_OP_RESET, .view = "v", .vpage = 9, .count = 9},
	     "reset v\n"},
	    {{.op = RFS_OP_RESET,
	      .has = RFS_HAS_VPAGE,
	      .view = "v",
	      .vpage = 5},
	     "reset v 5\n"},
	    {{.op = RFS_OP_RESET,
	      .has = RFS_HAS_VPAGE | RFS_HAS_COUNT,
	      .view = "v",
	      .vpage = 5,
	      .count = 6},
	     "reset v 5 6\n"},
	    /* COUNT can only be read back after a VPAGE. */
	    {{.op = RFS_OP_RESET,
	      .has = RFS_HAS_COUNT,
	      .view = "v",
	      .count = 6},
	     "reset v 0 6\n"},
	    {{.op = RFS_OP_CREATE, .view = "v", .backing = "#b"},
	     "create v \"#b\"\n"},
	    {{.op = RFS_OP_CREATE,
	      .has = RFS_HAS_PAGES,
	      .view = "v",
	      .backing = "b"},
	     "create v b 0\n"},
	    {{.op = RFS_OP_RESIZE,
	      .has = RFS_HAS_PAGES,
	      .view = "v",
	      .pages = 7},
	     "resize v 7\n"},
	    /* resize's PAGES is not optional. */
	    {{.op = RFS_OP_RESIZE, .view = "v", .pages = 7}, "resize v 7\n"},
	    {{.op = RFS_OP_REMOVE, .view = "d/\xc3\xa9\x01"},
	     "remove \"d/\xc3\xa9\\x01\"\n"},
	    {{.op = RFS_OP_INVALIDATE, .view = "v"}, "invalidate v\n"},
	    {{.op = RFS_OP_INVALIDATE,
	      .has = RFS_HAS_VPAGE | RFS_HAS_COUNT,
	      .view = "v",
	      .vpage = 3,
	      .count = 4},
	     "invalidate v 3 4\n"},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *s = formatted(&cases[i].c);

		g_assert_cmpstr(s, ==, cases[i].out);
		g_free(s);
	}
}

static void test_format_appends(void)
{
	rfs_cmd c = {.op = RFS_OP_REMOVE, .view = "v"};
	GString *s = g_string_new("x\n");

	rfs_cmd_format(s, &c);
	rfs_cmd_format(s, &c);
	g_assert_cmpstr(s->str, ==, "x\nremove v\nremove v\n");
	g_string_free(s, TRUE);
}

static void test_op_names(void)
{
	g_assert_cmpstr(rfs_op_name(RFS_OP_REMAP), ==, "remap");
	g_assert_cmpstr(rfs_op_name(RFS_OP_RESET), ==, "reset");
	g_assert_cmpstr(rfs_op_name(RFS_OP_CREATE), ==, "create");
	g_assert_cmpstr(rfs_op_name(RFS_OP_RESIZE), ==, "resize");
	g_assert_cmpstr(rfs_op_name(RFS_OP_REMOVE), ==, "remove");
	g_assert_cmpstr(rfs_op_name(RFS_OP_INVALIDATE), ==, "invalidate");
	g_assert_nonnull(rfs_op_name((rfs_op)99));
}

static void test_cmd_clear_frees_and_zeroes(void)
{
	rfs_cmd c = {.op = RFS_OP_CREATE,
		     .line = 3,
		     .has = RFS_HAS_PAGES,
		     .view = g_strdup("v"),
		     .backing = g_strdup("b"),
		     .pages = 4};

	rfs_cmd_clear(&c);
	g_assert_null(c.view);
	g_assert_null(c.backing);
	g_assert_cmpuint(c.line, ==, 0);
	g_assert_cmpuint(c.has, ==, 0);
	g_assert_cmpuint(c.pages, ==, 0);
	rfs_cmd_clear(&c); /* twice is fine */
	rfs_cmd_clear(NULL);
}

/* ---- paths ------------------------------------------------------------ */

static void test_path_normalize_good(void)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"a", "a"},
	    {"a/b", "a/b"},
	    {"a//b/", "a/b"},
	    {"a/b///", "a/b"},
	    {"./a/./b/.", "a/b"},
	    {"a/.../b", "a/.../b"},
	    {".a/..b/b..", ".a/..b/b.."},
	    {"a b/ c", "a b/ c"},
	    {"\xff/\x01", "\xff/\x01"},
	    {"#", "#"},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		GString *err = g_string_new(NULL);
		char *out = NULL;

		g_assert_cmpint(rfs_path_normalize(cases[i].in, &out, err), ==,
				0);
		g_assert_cmpstr(out, ==, cases[i].out);
		g_assert_cmpstr(err->str, ==, "");
		g_free(out);
		g_string_free(err, TRUE);
	}
}

static void test_path_normalize_errors(void)
{
	static const struct {
		const char *in;
		const char *msg;
	} cases[] = {
	    {"", "empty path"},
	    {".", "empty path"},
	    {"./", "empty path"},
	    {".//./", "empty path"},
	    {"/", "path must be relative (it starts with '/')"},
	    {"/a", "path must be relative (it starts with '/')"},
	    {"..", "'..' is not allowed in paths"},
	    {"../a", "'..' is not allowed in paths"},
	    {"a/..", "'..' is not allowed in paths"},
	    {"a/../b", "'..' is not allowed in paths"},
	    {"a/../", "'..' is not allowed in paths"},
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		GString *err = g_string_new(NULL);
		char *out = (char *)"untouched";

		g_assert_cmpint(rfs_path_normalize(cases[i].in, &out, err), ==,
				EINVAL);
		g_assert_null(out);
		g_assert_cmpstr(err->str, ==, cases[i].msg);
		g_string_free(err, TRUE);
	}
}

/* ---- properties ------------------------------------------------------- */

/* Returns a random number <= max, often a boundary. */
static uint64_t random_u64_upto(GRand *r, uint64_t max)
{
	uint64_t v;

	switch (g_rand_int_range(r, 0, 5)) {
	case 0:
		return 0;
	case 1:
		return max;
	case 2:
		return max / 2;
	case 3:
		v = g_rand_int_range(r, 0, 100);
		break;
	default:
		v = (uint64_t)g_rand_int(r) << 32 | g_rand_int(r);
		break;
	}
	return max == UINT64_MAX ? v : v % (max + 1);
}

/* Returns a random normalized path, with tricky bytes. */
static char *random_path(GRand *r)
{
	GString *s = g_string_new(NULL);
	int comps = g_rand_int_range(r, 1, 4), i;

	for (i = 0; i < comps; i++) {
		GString *comp = g_string_new(NULL);
		int n = g_rand_int_range(r, 1, 6), j;

		for (j = 0; j < n; j++)
			random_name_bytes(r, comp, FALSE);
		if (!strcmp(comp->str, ".") || !strcmp(comp->str, ".."))
			g_string_append_c(comp, '_');
		if (i)
			g_string_append_c(s, '/');
		g_string_append(s, comp->str);
		g_string_free(comp, TRUE);
	}
	return g_string_free(s, FALSE);
}

/* Fills c with a random command as rfs_parse would give it, valid under
 * limit (>= 1). */
static void random_cmd(GRand *r, uint64_t limit, rfs_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->op = (rfs_op)g_rand_int_range(r, 0, RFS_OP_INVALIDATE + 1);
	c->view = random_path(r);
	switch (c->op) {
	case RFS_OP_REMAP:
		c->has = RFS_HAS_VPAGE | RFS_HAS_COUNT;
		c->count = 1 + random_u64_upto(r, limit - 1);
		c->vpage = random_u64_upto(r, limit - c->count);
		c->fpage = random_u64_upto(r, limit - c->count);
		break;
	case RFS_OP_RESET:
	case RFS_OP_INVALIDATE:
		switch (g_rand_int_range(r, 0, 3)) {
		case 0:
			break;
		case 1:
			c->has = RFS_HAS_VPAGE;
			c->vpage = random_u64_upto(r, limit - 1);
			c->count = 1; /* VPAGE alone: one page */
			break;
		default:
			c->has = RFS_HAS_VPAGE | RFS_HAS_COUNT;
			c->count = 1 + random_u64_upto(r, limit - 1);
			c->vpage = random_u64_upto(r, limit - c->count);
			break;
		}
		break;
	case RFS_OP_CREATE:
		c->backing = random_path(r);
		if (g_rand_boolean(r)) {
			c->has = RFS_HAS_PAGES;
			c->pages = random_u64_upto(r, limit);
		}
		break;
	case RFS_OP_RESIZE:
		c->has = RFS_HAS_PAGES;
		c->pages = random_u64_upto(r, limit);
		break;
	case RFS_OP_REMOVE:
		break;
	}
}

static void test_roundtrip_random_commands(void)
{
	GRand *r = g_rand_new_with_seed(20240601);
	int t;

	for (t = 0; t < ROUNDTRIP_TEXTS; t++) {
		uint64_t limit = g_rand_boolean(r)
				     ? UINT64_MAX
				     : 1 + random_u64_upto(r, 1000);
		rfs_parse_limits lim = {.page_limit = limit};
		unsigned first = (unsigned)g_rand_int_range(r, 0, 1000);
		unsigned line = first, err_line = 0;
		int n = g_rand_int_range(r, 0, 30), i;
		GArray *want = rfs_cmds_new(), *got = rfs_cmds_new();
		GString *text = g_string_new(NULL);
		GString *err = g_string_new(NULL);
		int rc;

		for (i = 0; i < n; i++) {
			rfs_cmd c;

			/* Blank and comment lines between commands. */
			while (g_rand_int_range(r, 0, 4) == 0) {
				g_string_append(text, g_rand_boolean(r)
							  ? " \t\n"
							  : "# note \"\\\n");
				line++;
			}
			random_cmd(r, limit, &c);
			c.line = line++;
			rfs_cmd_format(text, &c);
			if (g_rand_int_range(r, 0, 4) == 0) /* CRLF */
				g_string_insert_c(text, (gssize)text->len - 1,
						  '\r');
			g_array_append_val(want, c);
		}
		/* Sometimes leave off the final '\n'. */
		if (text->len && g_rand_boolean(r))
			g_string_truncate(text, text->len - 1);
		rc = rfs_parse(text->str, text->len, first, &lim, got,
			       &err_line, err);
		if (rc)
			g_test_message("text:\n%s\nerror on line %u: %s",
				       text->str, err_line, err->str);
		g_assert_cmpint(rc, ==, 0);
		g_assert_cmpuint(got->len, ==, want->len);
		for (i = 0; i < n; i++)
			assert_cmd_eq(&g_array_index(want, rfs_cmd, i),
				      &g_array_index(got, rfs_cmd, i));
		g_array_unref(want);
		g_array_unref(got);
		g_string_free(text, TRUE);
		g_string_free(err, TRUE);
	}
	g_rand_free(r);
}

/* Parses text as the fuzzer would and checks that the result is
 * consistent: a known errno, the array unchanged on error, and on success
 * commands that format and parse back to themselves. */
static void check_parse_consistent(const char *text, size_t len, uint64_t limit)
{
	rfs_parse_limits lim = {.page_limit = limit};
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	unsigned line = 0, nlines = 1;
	size_t i;
	int rc;

	for (i = 0; i < len; i++)
		nlines += text[i] == '\n';
	add_sentinel(cmds);
	rc = rfs_parse(text, len, 7, &lim, cmds, &line, err);
	if (rc) {
		g_assert_true(rc == EINVAL || rc == ERANGE);
		assert_only_sentinel(cmds);
		g_assert_cmpuint(line, >=, 7);
		g_assert_cmpuint(line, <, 7 + nlines);
		g_assert_cmpuint(err->len, >, 0);
		g_assert_cmpuint(err->len, <, 400);
		g_assert_false(g_str_has_prefix(err->str, "error"));
		g_assert_false(g_str_has_prefix(err->str, "line"));
	} else {
		GString *again = g_string_new(NULL);
		GArray *back;
		unsigned prev = 0;

		g_assert_cmpstr(err->str, ==, "");
		g_assert_cmpuint(cmds->len, >=, 1);
		for (i = 1; i < cmds->len; i++) {
			rfs_cmd *c = &g_array_index(cmds, rfs_cmd, i);
			char *norm = NULL;

			g_assert_cmpint(c->op, <=, RFS_OP_INVALIDATE);
			g_assert_cmpuint(c->line, >=, 7);
			g_assert_cmpuint(c->line, <, 7 + nlines);
			g_assert_cmpuint(c->line, >, prev);
			prev = c->line;
			g_assert_nonnull(c->view);
			g_assert_cmpint(
			    rfs_path_normalize(c->view, &norm, NULL), ==, 0);
			g_assert_cmpstr(norm, ==, c->view);
			g_free(norm);
			g_assert_true((c->backing != NULL) ==
				      (c->op == RFS_OP_CREATE));
			rfs_cmd_format(again, c);
		}
		back = parse_ok_len(again->str, again->len, limit);
		g_assert_cmpuint(back->len, ==, cmds->len - 1);
		for (i = 0; i < back->len; i++) {
			rfs_cmd want = g_array_index(cmds, rfs_cmd, i + 1);

			want.line = (unsigned)i + 1;
			/* remap's COUNT is always printed, so read back as
			 * given. */
			if (want.op == RFS_OP_REMAP)
				want.has |= RFS_HAS_COUNT;
			assert_cmd_eq(&want, &g_array_index(back, rfs_cmd, i));
		}
		g_array_unref(back);
		g_string_free(again, TRUE);
	}
	g_array_unref(cmds);
	g_string_free(err, TRUE);
}

/* Appends a random piece of protocol-ish text. */
static void random_piece(GRand *r, GString *s)
{
	static const char *const pieces[] = {
	    "remap ",
	    "reset ",
	    "create ",
	    "resize ",
	    "remove ",
	    "invalidate ",
	    "a",
	    "b/c",
	    "/",
	    ".",
	    "..",
	    " ",
	    "\t",
	    "\n",
	    "\r",
	    "\r\n",
	    "\"",
	    "\\",
	    "\\x",
	    "\\0",
	    "\\377",
	    "\\400",
	    "#",
	    "0",
	    "1",
	    "9",
	    "0x",
	    "0xff",
	    "18446744073709551615",
	    "18446744073709551616",
	    "-",
	    "+",
	    "\0",
	    "\xc3\xa9",
	    "\xff",
	};

	if (g_rand_int_range(r, 0, 4) == 0)
		g_string_append_c(s, (char)g_rand_int_range(r, 0, 256));
	else {
		const char *p =
		    pieces[g_rand_int_range(r, 0, G_N_ELEMENTS(pieces))];

		/* "\0" has length 1 here; strlen would say 0. */
		g_string_append_len(s, p, *p ? (gssize)strlen(p) : 1);
	}
}

static void test_random_bytes_never_crash(void)
{
	GRand *r = g_rand_new_with_seed(42);
	int t;

	for (t = 0; t < RANDOM_TEXTS; t++) {
		GString *s = g_string_new(NULL);
		int n = g_rand_int_range(r, 0, 40), i;
		uint64_t limit =
		    g_rand_boolean(r) ? UINT64_MAX : random_u64_upto(r, 50);

		if (t % 4 == 0) {
			/* Plain random bytes. */
			n = g_rand_int_range(r, 0, 200);
			for (i = 0; i < n; i++)
				g_string_append_c(
				    s, (char)g_rand_int_range(r, 0, 256));
		} else {
			for (i = 0; i < n; i++)
				random_piece(r, s);
		}
		check_parse_consistent(s->str, s->len, limit);
		g_string_free(s, TRUE);
	}
	g_rand_free(r);
}

static void test_mutated_valid_texts_never_crash(void)
{
	static const char *const seeds[] = {
	    "remap a 1 2 3\nreset a\n# c\ncreate \"x y\" b 5\n",
	    "invalidate \"\\x41\\101\\n\" 0x10 2\r\nresize v 0\r\n",
	    "remove d/e/./f//\n\n\tremap q 18446744073709551614 0 1 # end",
	    "create \"\xc3\xa9\\\"\\\\\" ./b/ 0xffffffffffffffff\n",
	};
	GRand *r = g_rand_new_with_seed(7);
	int t;

	for (t = 0; t < MUTATED_TEXTS; t++) {
		GString *s = g_string_new(
		    seeds[g_rand_int_range(r, 0, G_N_ELEMENTS(seeds))]);
		int m = g_rand_int_range(r, 1, 6), i;

		for (i = 0; i < m; i++) {
			gsize pos = s->len ? (gsize)g_rand_int_range(
						 r, 0, (gint32)s->len + 1)
					   : 0;
			gsize n;

			switch (g_rand_int_range(r, 0, 4)) {
			case 0: /* replace a byte */
				if (pos < s->len)
					s->str[pos] =
					    (char)g_rand_int_range(r, 0, 256);
				break;
			case 1: /* delete a few bytes */
				n = (gsize)g_rand_int_range(r, 1, 8);
				if (pos < s->len)
					g_string_erase(
					    s, (gssize)pos,
					    (gssize)MIN(n, s->len - pos));
				break;
			case 2: { /* insert a piece */
				GString *p = g_string_new(NULL);

				random_piece(r, p);
				g_string_insert_len(s, (gssize)pos, p->str,
						    (gssize)p->len);
				g_string_free(p, TRUE);
				break;
			}
			default: /* cut the text short */
				g_string_truncate(s, pos);
				break;
			}
		}
		check_parse_consistent(s->str, s->len,
				       g_rand_boolean(r) ? UINT64_MAX : 100);
		g_string_free(s, TRUE);
	}
	g_rand_free(r);
}

/* Parses a 1 MiB text of n copies of unit, maybe with head and tail, and
 * asserts the result code and the number of commands. */
static void check_big(const char *head, const char *unit, const char *tail,
		      int want_rc, guint want_cmds)
{
	GString *s = g_string_new(head);
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	unsigned line = 0;
	int rc;

	while (s->len < (1 << 20))
		g_string_append(s, unit);
	g_string_append(s, tail);
	rc = rfs_parse(s->str, s->len, 1, NULL, cmds, &line, err);
	g_assert_cmpint(rc, ==, want_rc);
	if (want_cmds != G_MAXUINT)
		g_assert_cmpuint(cmds->len, ==, want_cmds);
	g_assert_cmpuint(err->len, <, 400);
	g_array_unref(cmds);
	g_string_free(err, TRUE);
	g_string_free(s, TRUE);
}

static void test_one_mib_inputs(void)
{
	/* 1 MiB of lines: 74899 commands of 14 bytes, then the last one. */
	check_big("", "remap a 0 0 1\n", "", 0, (1 << 20) / 14 + 1);
	check_big("", "a", "", EINVAL, 0);		      /* unknown */
	check_big("resize a ", "1", "", ERANGE, 0);	      /* overflow */
	check_big("resize a 0x", "0", "1", 0, 1);	      /* zeros */
	check_big("remove \"", "x", "", EINVAL, 0);	      /* unclosed */
	check_big("remove ", "ab/", "", 0, 1);		      /* long path */
	check_big("remove ", "\\", "", EINVAL, 0);	      /* backslash */
	check_big("remove a", " b", "", EINVAL, 0);	      /* tokens */
	check_big("", " \t\r\n", "", 0, 0);		      /* blanks */
	check_big("", "#", "\nremove a", 0, 1);		      /* comment */
	check_big("remove \"", "\\x41\\101", "\"", 0, 1);     /* escapes */
	check_big("remove a\n", "\n", "remove /", EINVAL, 0); /* late error */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/protocol/parse/remap-all-args", test_remap_all_args);
	g_test_add_func("/protocol/parse/remap-count-defaults-to-1",
			test_remap_count_defaults_to_1);
	g_test_add_func("/protocol/parse/reset-optional-args",
			test_reset_optional_args);
	g_test_add_func("/protocol/parse/invalidate-optional-args",
			test_invalidate_optional_args);
	g_test_add_func("/protocol/parse/create-without-pages",
			test_create_without_pages);
	g_test_add_func("/protocol/parse/create-with-pages",
			test_create_with_pages);
	g_test_add_func("/protocol/parse/create-zero-pages-is-an-empty-view",
			test_create_zero_pages_is_an_empty_view);
	g_test_add_func("/protocol/parse/resize", test_resize);
	g_test_add_func("/protocol/parse/remove", test_remove);
	g_test_add_func("/protocol/parse/many-lines-numbered-from-first-line",
			test_many_lines_numbered_from_first_line);
	g_test_add_func("/protocol/parse/empty-and-blank-texts-give-nothing",
			test_empty_and_blank_texts_give_no_commands);
	g_test_add_func("/protocol/parse/comment-token-ends-the-line",
			test_comment_token_ends_the_line);
	g_test_add_func("/protocol/parse/crlf-line-endings",
			test_crlf_line_endings);
	g_test_add_func("/protocol/parse/tabs-and-spaces-separate-tokens",
			test_tabs_and_spaces_separate_tokens);
	g_test_add_func("/protocol/parse/appends-to-existing-commands",
			test_appends_to_existing_commands);
	g_test_add_func("/protocol/parse/length-not-terminator-ends-text",
			test_length_not_terminator_ends_text);
	g_test_add_func("/protocol/parse/bare-tokens-keep-other-bytes",
			test_bare_tokens_keep_other_bytes);
	g_test_add_func("/protocol/parse/quoted-escapes-decode",
			test_quoted_escapes_decode);

	g_test_add_func("/protocol/numbers/hex", test_hex_numbers);
	g_test_add_func("/protocol/numbers/decimal-leading-zeros",
			test_decimal_leading_zeros);
	g_test_add_func("/protocol/numbers/uint64-max-fits",
			test_uint64_max_fits);
	g_test_add_func("/protocol/numbers/overflow-is-erange",
			test_number_overflow_is_erange);
	g_test_add_func("/protocol/numbers/runs-past-uint64-max-are-erange",
			test_runs_past_uint64_max_are_erange);
	g_test_add_func("/protocol/numbers/not-a-number-is-einval",
			test_not_a_number_is_einval);
	g_test_add_func("/protocol/numbers/may-be-quoted",
			test_numbers_may_be_quoted);

	g_test_add_func("/protocol/error/unknown-command",
			test_unknown_command);
	g_test_add_func("/protocol/error/wrong-argument-count",
			test_wrong_argument_count);
	g_test_add_func("/protocol/error/quoting", test_quoting_errors);
	g_test_add_func("/protocol/error/nul-bytes-are-rejected",
			test_nul_bytes_are_rejected);
	g_test_add_func("/protocol/error/paths", test_path_errors);
	g_test_add_func("/protocol/error/count-zero-is-erange",
			test_count_zero_is_erange);
	g_test_add_func("/protocol/error/remap-page-limit",
			test_remap_page_limit);
	g_test_add_func("/protocol/error/reset-page-limit",
			test_reset_page_limit);
	g_test_add_func("/protocol/error/invalidate-page-limit",
			test_invalidate_page_limit);
	g_test_add_func("/protocol/error/pages-page-limit",
			test_pages_page_limit);
	g_test_add_func("/protocol/parse/no-limits-means-no-page-limit",
			test_no_limits_means_no_page_limit);
	g_test_add_func("/protocol/error/null-err-and-err-line-are-allowed",
			test_null_err_and_err_line_are_allowed);
	g_test_add_func("/protocol/error/on-line-3-after-comments-and-blanks",
			test_error_on_line_3_after_comments_and_blanks);
	g_test_add_func("/protocol/error/line-counts-from-first-line",
			test_error_line_counts_from_first_line);
	g_test_add_func("/protocol/error/leaves-cmds-unchanged",
			test_error_leaves_cmds_unchanged);
	g_test_add_func("/protocol/error/leaves-empty-cmds-empty",
			test_error_leaves_empty_cmds_empty);

	g_test_add_func("/protocol/quote/bare-names", test_quote_bare_names);
	g_test_add_func("/protocol/quote/quoted-names",
			test_quote_quoted_names);
	g_test_add_func("/protocol/quote/then-parse-gives-the-name-back",
			test_quote_then_parse_gives_the_name_back);

	g_test_add_func("/protocol/format/each-command",
			test_format_each_command);
	g_test_add_func("/protocol/format/appends", test_format_appends);
	g_test_add_func("/protocol/op-names", test_op_names);
	g_test_add_func("/protocol/cmd-clear-frees-and-zeroes",
			test_cmd_clear_frees_and_zeroes);

	g_test_add_func("/protocol/path/normalize-good",
			test_path_normalize_good);
	g_test_add_func("/protocol/path/normalize-errors",
			test_path_normalize_errors);

	g_test_add_func("/protocol/property/roundtrip-random-commands",
			test_roundtrip_random_commands);
	g_test_add_func("/protocol/robustness/random-bytes-never-crash",
			test_random_bytes_never_crash);
	g_test_add_func("/protocol/robustness/mutated-valid-texts-never-crash",
			test_mutated_valid_texts_never_crash);
	g_test_add_func("/protocol/robustness/one-mib-inputs",
			test_one_mib_inputs);

	return g_test_run();
}
