/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-state.c - unit tests of the -o state file format (state.h): records
 * round-trip, a torn last transaction is dropped, every other damage is
 * refused with its offset.  No mount. */
#include "state.h"

#include <errno.h>
#include <string.h>

/* A state file: header, snapshot, and n transactions. */
static GString *sample(unsigned n)
{
	GString *s = g_string_new(NULL);
	rfs_state_header(s, 16384);
	const char *snap = "create v b 8\nremap v 0 3 1\n";
	rfs_state_record(s, 'S', snap, strlen(snap));
	for (unsigned i = 0; i < n; i++) {
		char *t = g_strdup_printf("remap v %u %u 1\n", i, i + 1);
		rfs_state_record(s, 'T', t, strlen(t));
		g_free(t);
	}
	return s;
}

/* Parses s; returns the errno, with the records and torn offset. */
static int parse(const char *text, size_t len, GArray **recs, int64_t *torn,
		 uint64_t *ps, GString *msg)
{
	*recs = g_array_new(FALSE, FALSE, sizeof(struct rfs_state_record));
	return rfs_state_parse(text, len, ps, *recs, torn, msg);
}

static void test_crc32c_matches_the_standard_check_value(void)
{
	g_assert_cmphex(rfs_crc32c(0, "123456789", 9), ==, 0xe3069283);
	/* Continuing a CRC gives the CRC of the whole. */
	uint32_t c = rfs_crc32c(rfs_crc32c(0, "1234", 4), "56789", 5);
	g_assert_cmphex(c, ==, 0xe3069283);
}

static void test_records_round_trip_with_page_size(void)
{
	GString *s = sample(3);
	GArray *recs;
	int64_t torn;
	uint64_t ps = 0;
	GString *msg = g_string_new(NULL);
	g_assert_cmpint(parse(s->str, s->len, &recs, &torn, &ps, msg), ==, 0);
	g_assert_cmpuint(ps, ==, 16384);
	g_assert_cmpint(torn, ==, -1);
	g_assert_cmpuint(recs->len, ==, 4);
	struct rfs_state_record *r =
	    &g_array_index(recs, struct rfs_state_record, 0);
	g_assert_cmpint(r->kind, ==, 'S');
	g_assert_cmpmem(r->body, r->len, "create v b 8\nremap v 0 3 1\n", 27);
	r = &g_array_index(recs, struct rfs_state_record, 3);
	g_assert_cmpint(r->kind, ==, 'T');
	g_assert_cmpmem(r->body, r->len, "remap v 2 3 1\n", 14);
	g_array_unref(recs);
	g_string_free(msg, TRUE);
	g_string_free(s, TRUE);
}

static void test_torn_last_transaction_is_dropped_at_every_cut(void)
{
	GString *s = sample(2);
	GString *two = sample(1);
	size_t last = two->len; /* where the last record starts */
	for (size_t cut = last + 1; cut < s->len; cut++) {
		GArray *recs;
		int64_t torn;
		uint64_t ps;
		GString *msg = g_string_new(NULL);
		int err = parse(s->str, cut, &recs, &torn, &ps, msg);
		if (err)
			g_printerr("cut at %zu: %s\n", cut, msg->str);
		g_assert_cmpint(err, ==, 0);
		g_assert_cmpint(torn, ==, (int64_t)last);
		g_assert_cmpuint(recs->len, ==, 2);
		g_array_unref(recs);
		g_string_free(msg, TRUE);
	}
	/* A bad checksum in the last record: torn as well. */
	s->str[s->len - 2] ^= 1;
	GArray *recs;
	int64_t torn;
	uint64_t ps;
	GString *msg = g_string_new(NULL);
	g_assert_cmpint(parse(s->str, s->len, &recs, &torn, &ps, msg), ==, 0);
	g_assert_cmpint(torn, ==, (int64_t)last);
	g_array_unref(recs);
	g_string_free(msg, TRUE);
	g_string_free(two, TRUE);
	g_string_free(s, TRUE);
}

/* Expects text to be refused with a message naming byte off. */
static void expect_damage(const char *text, size_t len, size_t off)
{
	GArray *recs;
	int64_t torn;
	uint64_t ps;
	GString *msg = g_string_new(NULL);
	g_assert_cmpint(parse(text, len, &recs, &torn, &ps, msg), ==, EINVAL);
	g_assert_cmpuint(recs->len, ==, 0);
	char *want = g_strdup_printf("byte %zu: ", off);
	if (!g_str_has_prefix(msg->str, want))
		g_printerr("expected '%s...', got '%s'\n", want, msg->str);
	g_assert_true(g_str_has_prefix(msg->str, want));
	g_free(want);
	g_array_unref(recs);
	g_string_free(msg, TRUE);
}

static void test_damage_before_the_end_is_refused_with_its_offset(void)
{
	GString *s = sample(2);
	GString *hdr = g_string_new(NULL);
	rfs_state_header(hdr, 16384);
	GString *one = sample(0), *two = sample(1);
	/* A byte changed in the snapshot, in the first transaction. */
	char *t = g_memdup2(s->str, s->len);
	t[hdr->len + 20] ^= 0x20;
	expect_damage(t, s->len, hdr->len);
	memcpy(t, s->str, s->len);
	t[one->len + 12] ^= 0x01;
	expect_damage(t, s->len, one->len);
	/* The snapshot cut short, at a line boundary and elsewhere. */
	expect_damage(s->str, hdr->len + 20, hdr->len);
	expect_damage(s->str, one->len - 14, hdr->len);
	/* Stray bytes between records. */
	GString *g = g_string_new_len(s->str, (gssize)two->len);
	g_string_append(g, "remap v 9 9 1\n");
	g_string_append_len(g, s->str + two->len, (gssize)(s->len - two->len));
	expect_damage(g->str, g->len, two->len);
	/* No header, a bad page size, no snapshot. */
	expect_damage("remap v 0 1\n", 12, 0);
	expect_damage("remapfs-state 2 pagesize=x\n", 27, 25);
	expect_damage(hdr->str, hdr->len, hdr->len);
	/* The older format's first line cut short (found by the fuzzer: it
	 * was read past its end). */
	expect_damage("# remapfs sremapfs-sttata", 25, 0);
	expect_damage("# remapfs state: pagesize x\n", 28, 0);
	g_free(t);
	g_string_free(g, TRUE);
	g_string_free(one, TRUE);
	g_string_free(two, TRUE);
	g_string_free(hdr, TRUE);
	g_string_free(s, TRUE);
}

static void test_older_bare_dump_reads_as_a_snapshot(void)
{
	const char *old = "# remapfs state: pagesize 4096\ncreate v b 2\n";
	GArray *recs;
	int64_t torn;
	uint64_t ps = 0;
	GString *msg = g_string_new(NULL);
	g_assert_cmpint(parse(old, strlen(old), &recs, &torn, &ps, msg), ==, 0);
	g_assert_cmpuint(ps, ==, 4096);
	g_assert_cmpuint(recs->len, ==, 1);
	g_array_unref(recs);
	g_string_free(msg, TRUE);
}

static void test_random_damage_never_crashes_or_half_loads(void)
{
	GString *s = sample(20);
	GRand *r = g_rand_new_with_seed(7);
	for (int i = 0; i < 20000; i++) {
		char *t = g_memdup2(s->str, s->len);
		size_t len = s->len;
		int flips = g_rand_int_range(r, 1, 4);
		for (int k = 0; k < flips; k++)
			t[g_rand_int_range(r, 0, (gint32)len)] =
			    (char)g_rand_int_range(r, 0, 256);
		if (g_rand_boolean(r))
			len = (size_t)g_rand_int_range(r, 0, (gint32)len);
		GArray *recs;
		int64_t torn;
		uint64_t ps;
		GString *msg = g_string_new(NULL);
		int err = parse(t, len, &recs, &torn, &ps, msg);
		if (err)
			g_assert_cmpuint(recs->len, ==, 0);
		else /* what loads checks: every record is intact */
			for (guint j = 0; j < recs->len; j++) {
				struct rfs_state_record *rec = &g_array_index(
				    recs, struct rfs_state_record, j);
				g_assert_true(rec->body >= t &&
					      rec->body + rec->len <= t + len);
			}
		g_array_unref(recs);
		g_string_free(msg, TRUE);
		g_free(t);
	}
	g_rand_free(r);
	g_string_free(s, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/state/crc32c-matches-the-standard-check-value",
			test_crc32c_matches_the_standard_check_value);
	g_test_add_func("/state/records-round-trip-with-page-size",
			test_records_round_trip_with_page_size);
	g_test_add_func("/state/torn-last-transaction-is-dropped-at-every-cut",
			test_torn_last_transaction_is_dropped_at_every_cut);
	g_test_add_func(
	    "/state/damage-before-the-end-is-refused-with-its-offset",
	    test_damage_before_the_end_is_refused_with_its_offset);
	g_test_add_func("/state/older-bare-dump-reads-as-a-snapshot",
			test_older_bare_dump_reads_as_a_snapshot);
	g_test_add_func("/state/random-damage-never-crashes-or-half-loads",
			test_random_damage_never_crashes_or_half_loads);
	return g_test_run();
}
