/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-framing.c - unit tests of the .control framing (framing.h): which
 * bytes of a descriptor's writes become which transactions.  No mount. */
#include "framing.h"

#include <errno.h>
#include <string.h>

#define WMAX 1000
#define LMAX 1000
#define TMAX 5000

/* A framer with small limits. */
static struct rfs_framer *framer(void)
{
	struct rfs_framer *f = g_new(struct rfs_framer, 1);
	rfs_framer_init(f, WMAX, LMAX, TMAX);
	return f;
}

static void framer_free(struct rfs_framer *f)
{
	rfs_framer_clear(f);
	g_free(f);
}

/* Writes s and checks the frame's kind (and text or errno). */
static void expect(struct rfs_framer *f, const char *s, size_t len,
		   enum rfs_frame_kind kind, const char *text, int err)
{
	struct rfs_frame fr;
	rfs_framer_write(f, s, len, &fr);
	if (fr.kind != kind)
		g_printerr("write of %zu bytes: expected frame %d, got %d "
			   "(%s)\n",
			   len, kind, fr.kind, fr.msg ? fr.msg->str : "");
	g_assert_cmpint(fr.kind, ==, kind);
	if (kind == RFS_FRAME_APPLY && text) {
		g_assert_cmpuint(fr.len, ==, strlen(text));
		g_assert_cmpmem(fr.text, fr.len, text, strlen(text));
	}
	if (kind == RFS_FRAME_ERROR)
		g_assert_cmpint(fr.err, ==, err);
	rfs_frame_clear(&fr);
}

#define W(f, s, kind, text, err) expect(f, s, strlen(s), kind, text, err)

static void test_each_write_is_one_transaction_of_its_lines(void)
{
	struct rfs_framer *f = framer();
	struct rfs_frame fr;
	rfs_framer_write(f, "remap a 0 1\nremap b 0 1\n", 24, &fr);
	g_assert_cmpint(fr.kind, ==, RFS_FRAME_APPLY);
	g_assert_cmpuint(fr.first_line, ==, 1);
	g_assert_cmpmem(fr.text, fr.len, "remap a 0 1\nremap b 0 1\n", 24);
	rfs_frame_clear(&fr);
	framer_free(f);
}

static void test_partial_line_waits_and_close_applies_it(void)
{
	struct rfs_framer *f = framer();
	W(f, "remap a", RFS_FRAME_ACK, NULL, 0);
	W(f, " 0 1\nremap b 0", RFS_FRAME_APPLY, "remap a 0 1\n", 0);
	struct rfs_frame fr;
	rfs_framer_close(f, &fr);
	g_assert_cmpint(fr.kind, ==, RFS_FRAME_APPLY);
	g_assert_cmpmem(fr.text, fr.len, "remap b 0\n", 10);
	rfs_frame_clear(&fr);
	rfs_framer_close(f, &fr); /* nothing left */
	g_assert_cmpint(fr.kind, ==, RFS_FRAME_ACK);
	framer_free(f);
}

static void test_write_over_write_max_fails_whole(void)
{
	struct rfs_framer *f = framer();
	char *big = g_strnfill(WMAX + 1, 'x');
	for (size_t i = 9; i < WMAX; i += 10)
		big[i] = '\n';
	expect(f, big, WMAX + 1, RFS_FRAME_ERROR, NULL, E2BIG);
	/* Exactly write_max is one transaction. */
	big[WMAX - 1] = '\n';
	expect(f, big, WMAX, RFS_FRAME_APPLY, NULL, 0);
	g_free(big);
	framer_free(f);
}

static void test_over_long_line_is_an_error_up_to_its_newline(void)
{
	struct rfs_framer *f = framer();
	char *chunk = g_strnfill(400, ' ');
	chunk[0] = '#';
	expect(f, chunk, 400, RFS_FRAME_ACK, NULL, 0);
	chunk[0] = ' ';
	expect(f, chunk, 400, RFS_FRAME_ACK, NULL, 0);
	expect(f, chunk, 400, RFS_FRAME_ERROR, NULL, E2BIG); /* 1200 > LMAX */
	expect(f, chunk, 400, RFS_FRAME_ERROR, NULL, E2BIG);
	/* The tail of the long line never runs as a command. */
	W(f, "   remap f 0 5 1\n", RFS_FRAME_ERROR, NULL, E2BIG);
	W(f, "remap g 0 1\n", RFS_FRAME_APPLY, "remap g 0 1\n", 0);
	g_free(chunk);
	framer_free(f);
}

static void test_begin_commit_spans_writes(void)
{
	struct rfs_framer *f = framer();
	W(f, "begin\nremap a 0 1\n", RFS_FRAME_ACK, NULL, 0);
	W(f, "remap b", RFS_FRAME_ACK, NULL, 0);
	W(f, " 0 1\nremap c 0 1\n", RFS_FRAME_ACK, NULL, 0);
	struct rfs_frame fr;
	rfs_framer_write(f, "remap d 0 1\ncommit\n", 19, &fr);
	g_assert_cmpint(fr.kind, ==, RFS_FRAME_APPLY);
	g_assert_cmpuint(fr.first_line, ==, 2);
	const char *want =
	    "remap a 0 1\nremap b 0 1\nremap c 0 1\nremap d 0 1\n";
	g_assert_cmpmem(fr.text, fr.len, want, strlen(want));
	rfs_frame_clear(&fr);
	/* One write holding all of it, and keywords with blanks and a
	 * comment. */
	W(f, "  begin \t# many\nremap a 0 1\n commit\r\n", RFS_FRAME_APPLY,
	  "remap a 0 1\n", 0);
	/* An explicit transaction may be bigger than a write. */
	W(f, "begin\n", RFS_FRAME_ACK, NULL, 0);
	for (int i = 0; i < 4; i++) {
		char *lines = g_strnfill(WMAX, 'x');
		for (size_t j = 99; j < WMAX; j += 100)
			lines[j] = '\n';
		expect(f, lines, WMAX, RFS_FRAME_ACK, NULL, 0);
		g_free(lines);
	}
	rfs_framer_write(f, "commit\n", 7, &fr);
	g_assert_cmpint(fr.kind, ==, RFS_FRAME_APPLY);
	g_assert_cmpuint(fr.len, ==, 4 * WMAX);
	rfs_frame_clear(&fr);
	framer_free(f);
}

static void test_abort_and_close_without_commit_drop_everything(void)
{
	struct rfs_framer *f = framer();
	W(f, "begin\nremap a 0 1\n", RFS_FRAME_ACK, NULL, 0);
	W(f, "abort\n", RFS_FRAME_ACK, NULL, 0);
	W(f, "remap b 0 1\n", RFS_FRAME_APPLY, "remap b 0 1\n", 0);
	W(f, "begin\nremap a 0 1\n", RFS_FRAME_ACK, NULL, 0);
	struct rfs_frame fr;
	rfs_framer_close(f, &fr);
	g_assert_cmpint(fr.kind, ==, RFS_FRAME_ERROR);
	g_assert_cmpint(fr.err, ==, ECANCELED);
	rfs_frame_clear(&fr);
	/* An unterminated commit at close still commits. */
	W(f, "begin\nremap a 0 1\ncommit", RFS_FRAME_ACK, NULL, 0);
	rfs_framer_close(f, &fr);
	g_assert_cmpint(fr.kind, ==, RFS_FRAME_APPLY);
	g_assert_cmpmem(fr.text, fr.len, "remap a 0 1\n", 12);
	rfs_frame_clear(&fr);
	framer_free(f);
}

static void test_misplaced_keywords_are_errors(void)
{
	struct rfs_framer *f = framer();
	W(f, "remap a 0 1\nbegin\n", RFS_FRAME_ERROR, NULL, EINVAL);
	W(f, "commit\n", RFS_FRAME_ERROR, NULL, EINVAL);
	W(f, "abort\n", RFS_FRAME_ERROR, NULL, EINVAL);
	/* commit must end its write; the transaction is then dropped and
	 * what follows applies as plain writes again. */
	W(f, "begin\nremap a 0 1\ncommit\nremap b 0 1\n", RFS_FRAME_ERROR, NULL,
	  EINVAL);
	W(f, "remap c 0 1\n", RFS_FRAME_APPLY, "remap c 0 1\n", 0);
	/* begin inside a transaction fails it up to its commit. */
	W(f, "begin\n", RFS_FRAME_ACK, NULL, 0);
	W(f, "begin\n", RFS_FRAME_ERROR, NULL, EINVAL);
	W(f, "remap d 0 1\n", RFS_FRAME_ERROR, NULL, EINVAL);
	W(f, "commit\n", RFS_FRAME_ERROR, NULL, EINVAL);
	W(f, "remap e 0 1\n", RFS_FRAME_APPLY, "remap e 0 1\n", 0);
	framer_free(f);
}

static void test_transaction_over_max_fails_up_to_its_commit(void)
{
	struct rfs_framer *f = framer();
	char *lines = g_strnfill(WMAX, 'x');
	for (size_t j = 99; j < WMAX; j += 100)
		lines[j] = '\n';
	W(f, "begin\n", RFS_FRAME_ACK, NULL, 0);
	for (int i = 0; i < TMAX / WMAX; i++)
		expect(f, lines, WMAX, RFS_FRAME_ACK, NULL, 0);
	expect(f, lines, WMAX, RFS_FRAME_ERROR, NULL, E2BIG);
	expect(f, lines, WMAX, RFS_FRAME_ERROR, NULL, E2BIG);
	W(f, "commit\n", RFS_FRAME_ERROR, NULL, E2BIG);
	W(f, "remap a 0 1\n", RFS_FRAME_APPLY, "remap a 0 1\n", 0);
	g_free(lines);
	framer_free(f);
}

static void test_keywords_match_whole_words_only(void)
{
	g_assert_true(rfs_line_is_keyword("commit", 6, "commit"));
	g_assert_true(rfs_line_is_keyword(" \tcommit \r", 10, "commit"));
	g_assert_true(rfs_line_is_keyword("commit # x", 10, "commit"));
	g_assert_false(rfs_line_is_keyword("commits", 7, "commit"));
	g_assert_false(rfs_line_is_keyword("commit x", 8, "commit"));
	g_assert_false(rfs_line_is_keyword("#commit", 7, "commit"));
	g_assert_false(rfs_line_is_keyword("", 0, "commit"));
}

static void test_random_writes_never_apply_keywords_or_partial_lines(void)
{
	static const char *const pieces[] = {
	    "begin\n", "commit\n", "abort\n", "remap a 0 1\n", "remap b",
	    " 1 2\n",  "\n",	   "#",	      "commit",	       "   "};
	GRand *r = g_rand_new_with_seed(42);
	for (int round = 0; round < 2000; round++) {
		struct rfs_framer *f = framer();
		for (int w = 0; w < 20; w++) {
			GString *buf = g_string_new(NULL);
			int n = g_rand_int_range(r, 1, 6);
			for (int i = 0; i < n; i++)
				g_string_append(
				    buf, pieces[g_rand_int_range(
					     r, 0, G_N_ELEMENTS(pieces))]);
			if (g_rand_int_range(r, 0, 50) == 0) {
				char *sp = g_strnfill(600, ' ');
				g_string_append(buf, sp);
				g_free(sp);
			}
			struct rfs_frame fr;
			rfs_framer_write(f, buf->str, buf->len, &fr);
			if (fr.kind == RFS_FRAME_APPLY) {
				g_assert_true(fr.len == 0 ||
					      fr.text[fr.len - 1] == '\n');
				for (const char *p = fr.text;
				     p < fr.text + fr.len;) {
					const char *nl = memchr(
					    p, '\n', fr.text + fr.len - p);
					size_t l = (size_t)(nl - p);
					g_assert_false(
					    rfs_line_is_keyword(p, l,
								"begin") ||
					    rfs_line_is_keyword(p, l,
								"commit") ||
					    rfs_line_is_keyword(p, l, "abort"));
					p = nl + 1;
				}
			}
			if (fr.kind == RFS_FRAME_ERROR)
				g_assert_true(fr.err > 0 && fr.msg);
			rfs_frame_clear(&fr);
			g_string_free(buf, TRUE);
		}
		struct rfs_frame fr;
		rfs_framer_close(f, &fr);
		rfs_frame_clear(&fr);
		framer_free(f);
	}
	g_rand_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/framing/each-write-is-one-transaction-of-its-lines",
			test_each_write_is_one_transaction_of_its_lines);
	g_test_add_func("/framing/partial-line-waits-and-close-applies-it",
			test_partial_line_waits_and_close_applies_it);
	g_test_add_func("/framing/write-over-write-max-fails-whole",
			test_write_over_write_max_fails_whole);
	g_test_add_func("/framing/over-long-line-is-an-error-up-to-its-newline",
			test_over_long_line_is_an_error_up_to_its_newline);
	g_test_add_func("/framing/begin-commit-spans-writes",
			test_begin_commit_spans_writes);
	g_test_add_func(
	    "/framing/abort-and-close-without-commit-drop-everything",
	    test_abort_and_close_without_commit_drop_everything);
	g_test_add_func("/framing/misplaced-keywords-are-errors",
			test_misplaced_keywords_are_errors);
	g_test_add_func("/framing/transaction-over-max-fails-up-to-its-commit",
			test_transaction_over_max_fails_up_to_its_commit);
	g_test_add_func("/framing/keywords-match-whole-words-only",
			test_keywords_match_whole_words_only);
	g_test_add_func(
	    "/framing/random-writes-never-apply-keywords-or-partial-lines",
	    test_random_writes_never_apply_keywords_or_partial_lines);
	return g_test_run();
}
