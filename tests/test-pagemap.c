/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pagemap.c - unit tests for src/pagemap.c. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include "pagemap.h"

#define PAGES_4G ((uint64_t)1 << 20) /* 4 GiB of 4 KiB pages */

/* Appends run to the GString data as " [vpage,fpage,count]". */
static int append_run(const rfs_run *run, void *data)
{
	g_string_append_printf(data,
			       " [%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
			       ",%" G_GUINT64_FORMAT "]",
			       run->vpage, run->fpage, run->count);
	return 0;
}

/* The stored runs of m as "[v,f,c] [v,f,c] ..." ("" when none); g_free it. */
static char *runs_str(const rfs_pagemap *m)
{
	GString *s = g_string_new(NULL);

	rfs_pagemap_foreach(m, append_run, s);
	if (s->len > 0)
		g_string_erase(s, 0, 1);
	return g_string_free(s, FALSE);
}

/* Asserts that m's runs, printed by runs_str, are `want`, that the run
 * count agrees and that the invariants hold. */
#define assert_runs(m, want)                                                   \
	do {                                                                   \
		char *seen_ = runs_str(m);                                     \
		g_assert_cmpstr(seen_, ==, (want));                            \
		g_free(seen_);                                                 \
		g_assert_true(rfs_pagemap_check(m));                           \
	} while (0)

/* Asserts that a run maps vpage v to f, with span s pages left in it. */
#define assert_mapped(m, v, f, s)                                              \
	do {                                                                   \
		uint64_t f_ = 0xdead, s_ = 0xdead;                             \
		bool found_ = rfs_pagemap_find((m), (v), &f_, &s_);            \
		g_assert_cmpint(found_, ==, true);                             \
		g_assert_cmpuint(f_, ==, (f));                                 \
		g_assert_cmpuint(s_, ==, (s));                                 \
	} while (0)

/* Asserts that no run covers vpage v, and the next run is s pages away. */
#define assert_unmapped(m, v, s)                                               \
	do {                                                                   \
		uint64_t s_ = 0xdead;                                          \
		bool found_ = rfs_pagemap_find((m), (v), NULL, &s_);           \
		g_assert_cmpint(found_, ==, false);                            \
		g_assert_cmpuint(s_, ==, (s));                                 \
	} while (0)

/* Asserts that rfs_pagemap_lookup gives page f and span s for vpage v. */
#define assert_lookup(m, v, f, s)                                              \
	do {                                                                   \
		uint64_t s_ = 0xdead;                                          \
		g_assert_cmpuint(rfs_pagemap_lookup((m), (v), &s_), ==, (f));  \
		g_assert_cmpuint(s_, ==, (s));                                 \
	} while (0)

static void test_empty_identity(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, 0);
	assert_runs(m, "");
	assert_unmapped(m, 0, UINT64_MAX);
	assert_unmapped(m, 12345, UINT64_MAX - 12345);
	assert_unmapped(m, UINT64_MAX, 0);
	assert_lookup(m, 0, 0, UINT64_MAX);
	assert_lookup(m, 777, 777, UINT64_MAX - 777);
	assert_lookup(m, UINT64_MAX, UINT64_MAX, 0);
	g_assert_cmpuint(rfs_pagemap_lookup(m, 5, NULL), ==, 5);
	g_assert_false(rfs_pagemap_find(m, 5, NULL, NULL));
	rfs_pagemap_free(m);
}

static void test_empty_sparse(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);
	rfs_run out[4];

	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, 0);
	assert_unmapped(m, 0, UINT64_MAX);
	assert_unmapped(m, 1ULL << 40, UINT64_MAX - (1ULL << 40));
	g_assert_cmpuint(rfs_pagemap_runs(m, 0, out, 4), ==, 0);
	rfs_pagemap_reset(m, 0, 10);
	rfs_pagemap_reset(m, 0, UINT64_MAX);
	assert_runs(m, "");
	rfs_pagemap_free(m);
}

static void test_set_single(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 10, 99, 1);
	assert_runs(m, "[10,99,1]");
	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, 1);
	assert_mapped(m, 10, 99, 1);
	assert_unmapped(m, 9, 1);
	assert_unmapped(m, 0, 10);
	assert_unmapped(m, 11, UINT64_MAX - 11);
	assert_lookup(m, 10, 99, 1);
	assert_lookup(m, 3, 3, 7);
	rfs_pagemap_set(m, 10, 42, 1);
	assert_runs(m, "[10,42,1]");
	rfs_pagemap_free(m);
}

static void test_set_range(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 100, 1000, 50);
	rfs_pagemap_set(m, 10, 0, 5);
	assert_runs(m, "[10,0,5] [100,1000,50]");
	assert_mapped(m, 100, 1000, 50);
	assert_mapped(m, 149, 1049, 1);
	assert_mapped(m, 120, 1020, 30);
	assert_mapped(m, 12, 2, 3);
	assert_unmapped(m, 15, 85);
	assert_unmapped(m, 150, UINT64_MAX - 150);
	rfs_pagemap_free(m);
}

static void test_set_overwrites_several_runs(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);

	rfs_pagemap_set(m, 0, 100, 4);	 /* 0..3 */
	rfs_pagemap_set(m, 10, 200, 2);	 /* 10..11 */
	rfs_pagemap_set(m, 20, 300, 3);	 /* 20..22 */
	rfs_pagemap_set(m, 30, 400, 10); /* 30..39 */
	rfs_pagemap_set(m, 50, 500, 1);	 /* 50 */
	rfs_pagemap_set(m, 2, 7000, 33); /* 2..34 */
	assert_runs(m, "[0,100,2] [2,7000,33] [35,405,5] [50,500,1]");
	assert_mapped(m, 34, 7032, 1);
	assert_mapped(m, 35, 405, 5);
	/* Exactly covering runs removes them. */
	rfs_pagemap_set(m, 35, 9000, 16);
	assert_runs(m, "[0,100,2] [2,7000,33] [35,9000,16]");
	rfs_pagemap_free(m);
}

static void test_set_splits_run_at_both_edges(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 100, 500, 100);
	rfs_pagemap_set(m, 120, 9000, 10);
	assert_runs(m, "[100,500,20] [120,9000,10] [130,530,70]");
	assert_mapped(m, 119, 519, 1);
	assert_mapped(m, 130, 530, 70);
	/* A split at the very first and last page. */
	rfs_pagemap_set(m, 100, 1, 1);
	rfs_pagemap_set(m, 199, 2, 1);
	assert_runs(m, "[100,1,1] [101,501,19] [120,9000,10] [130,530,69] "
		       "[199,2,1]");
	rfs_pagemap_free(m);
}

static void test_set_merges_left(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 10, 100, 5);
	rfs_pagemap_set(m, 15, 105, 3);
	assert_runs(m, "[10,100,8]");
	assert_mapped(m, 10, 100, 8);
	rfs_pagemap_free(m);
}

static void test_set_merges_right(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 10, 100, 5);
	rfs_pagemap_set(m, 7, 97, 3);
	assert_runs(m, "[7,97,8]");
	assert_mapped(m, 8, 98, 7);
	rfs_pagemap_free(m);
}

static void test_set_merges_both(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 10, 100, 5);
	rfs_pagemap_set(m, 20, 110, 5);
	rfs_pagemap_set(m, 40, 1, 1);
	assert_runs(m, "[10,100,5] [20,110,5] [40,1,1]");
	rfs_pagemap_set(m, 15, 105, 5);
	assert_runs(m, "[10,100,15] [40,1,1]");
	/* Overwriting part of a run with what it already holds changes
	 * nothing. */
	rfs_pagemap_set(m, 12, 102, 4);
	assert_runs(m, "[10,100,15] [40,1,1]");
	rfs_pagemap_free(m);
}

static void test_set_merges_after_overwrite(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);

	/* The runs the new one replaces are gone before merging: the
	 * remaining edges of the old runs continue it. */
	rfs_pagemap_set(m, 0, 0, 10);
	rfs_pagemap_set(m, 3, 50, 4);
	assert_runs(m, "[0,0,3] [3,50,4] [7,7,3]");
	rfs_pagemap_set(m, 2, 2, 6);
	assert_runs(m, "[0,0,10]");
	rfs_pagemap_free(m);
}

static void test_set_no_merge_when_discontiguous(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 10, 100, 5);
	rfs_pagemap_set(m, 15, 106, 1); /* vpage continues, fpage not */
	rfs_pagemap_set(m, 17, 107, 1); /* fpage continues the last, vpage
					   does not */
	rfs_pagemap_set(m, 5, 94, 5);	/* ends one fpage short */
	assert_runs(m, "[5,94,5] [10,100,5] [15,106,1] [17,107,1]");
	rfs_pagemap_free(m);
}

static void test_set_identity_resets_in_identity_map(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 10, 100, 20);
	rfs_pagemap_set(m, 15, 15, 5);
	assert_runs(m, "[10,100,5] [20,110,10]");
	assert_mapped(m, 14, 104, 1);
	assert_unmapped(m, 15, 5);
	assert_lookup(m, 17, 17, 3);
	rfs_pagemap_set(m, 0, 0, 1000);
	assert_runs(m, "");
	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, 0);
	rfs_pagemap_set(m, 5, 5, 1);
	assert_runs(m, "");
	rfs_pagemap_free(m);
}

static void test_set_identity_stored_in_sparse_map(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);

	rfs_pagemap_set(m, 10, 100, 20);
	rfs_pagemap_set(m, 15, 15, 5);
	assert_runs(m, "[10,100,5] [15,15,5] [20,110,10]");
	assert_mapped(m, 17, 17, 3);
	rfs_pagemap_set(m, 20, 20, 1);
	assert_runs(m, "[10,100,5] [15,15,6] [21,111,9]");
	rfs_pagemap_free(m);
}

static void test_set_near_uint64_max(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	const uint64_t top = UINT64_MAX;

	/* The highest pages a run can cover end exactly at UINT64_MAX. */
	rfs_pagemap_set(m, top - 10, 5, 10);
	assert_mapped(m, top - 10, 5, 10);
	assert_mapped(m, top - 1, 14, 1);
	assert_unmapped(m, top, 0);
	assert_lookup(m, top, top, 0);
	assert_unmapped(m, top - 11, 1);
	/* fpages that end exactly at UINT64_MAX, and merges up there. */
	rfs_pagemap_set(m, 0, top - 3, 3);
	rfs_pagemap_set(m, 3, 1, 1);
	assert_mapped(m, 2, top - 1, 1);
	rfs_pagemap_set(m, top - 20, top - 20 + 1, 10);
	rfs_pagemap_set(m, top - 10, top - 9, 9);
	assert_runs(m, "[0,18446744073709551612,3] [3,1,1] "
		       "[18446744073709551595,18446744073709551596,19] "
		       "[18446744073709551614,14,1]");
	/* All but the last page a run can cover (fpage 1 + count may not
	 * pass UINT64_MAX). */
	rfs_pagemap_set(m, 0, 1, UINT64_MAX - 1);
	assert_runs(m, "[0,1,18446744073709551614] "
		       "[18446744073709551614,14,1]");
	assert_mapped(m, top - 2, top - 1, 1);
	assert_mapped(m, top - 1, 14, 1);
	/* The whole space at once, as the identity: everything resets. */
	rfs_pagemap_set(m, 0, 0, UINT64_MAX);
	assert_runs(m, "");
	assert_lookup(m, top - 1, top - 1, 1);
	rfs_pagemap_free(m);
}

static void test_reset_splits_run(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 100, 1000, 100);
	rfs_pagemap_reset(m, 150, 10);
	assert_runs(m, "[100,1000,50] [160,1060,40]");
	assert_unmapped(m, 155, 5);
	assert_lookup(m, 155, 155, 5);
	rfs_pagemap_reset(m, 100, 1);
	rfs_pagemap_reset(m, 199, 1);
	assert_runs(m, "[101,1001,49] [160,1060,39]");
	/* Resetting pages that hold no run changes nothing. */
	rfs_pagemap_reset(m, 0, 101);
	rfs_pagemap_reset(m, 150, 10);
	assert_runs(m, "[101,1001,49] [160,1060,39]");
	rfs_pagemap_free(m);
}

static void test_reset_several_runs(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);
	uint64_t v;

	for (v = 0; v < 10; v++)
		rfs_pagemap_set(m, v * 10, v * 100, 5);
	rfs_pagemap_reset(m, 22, 50);
	assert_runs(m, "[0,0,5] [10,100,5] [20,200,2] [72,702,3] [80,800,5] "
		       "[90,900,5]");
	rfs_pagemap_reset(m, 5, 70);
	assert_runs(m, "[0,0,5] [80,800,5] [90,900,5]");
	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, 3);
	rfs_pagemap_free(m);
}

static void test_reset_to_the_end(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	uint64_t v;

	for (v = 0; v < 10; v++)
		rfs_pagemap_set(m, v * 10, v * 100 + 1, 5);
	rfs_pagemap_set(m, UINT64_MAX - 5, 3, 5);
	rfs_pagemap_reset(m, 42, UINT64_MAX - 42);
	assert_runs(m, "[0,1,5] [10,101,5] [20,201,5] [30,301,5] [40,401,2]");
	assert_unmapped(m, 42, UINT64_MAX - 42);
	rfs_pagemap_reset(m, 0, UINT64_MAX);
	assert_runs(m, "");
	rfs_pagemap_free(m);
}

static void test_reset_near_uint64_max(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);
	const uint64_t top = UINT64_MAX;

	rfs_pagemap_set(m, top - 100, 7, 100);
	rfs_pagemap_reset(m, top - 50, 10);
	assert_runs(m, "[18446744073709551515,7,50] "
		       "[18446744073709551575,67,40]");
	rfs_pagemap_reset(m, top - 1, 1);
	assert_mapped(m, top - 2, 105, 1);
	assert_unmapped(m, top - 1, 1);
	/* "To the end" from the last pages, including the empty range from
	 * UINT64_MAX itself. */
	rfs_pagemap_reset(m, top, top - top);
	rfs_pagemap_reset(m, top - 3, top - (top - 3));
	assert_runs(m, "[18446744073709551515,7,50] "
		       "[18446744073709551575,67,37]");
	rfs_pagemap_reset(m, top - 60, 60);
	assert_runs(m, "[18446744073709551515,7,40]");
	rfs_pagemap_free(m);
}

static void test_find_spans(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);

	rfs_pagemap_set(m, 10, 20, 5);
	rfs_pagemap_set(m, 15, 0, 5);
	rfs_pagemap_set(m, 30, 30, 1);
	assert_unmapped(m, 0, 10);
	assert_unmapped(m, 9, 1);
	assert_mapped(m, 10, 20, 5);
	assert_mapped(m, 14, 24, 1);
	assert_mapped(m, 15, 0, 5);
	assert_mapped(m, 19, 4, 1);
	assert_unmapped(m, 20, 10);
	assert_unmapped(m, 29, 1);
	assert_mapped(m, 30, 30, 1);
	assert_unmapped(m, 31, UINT64_MAX - 31);
	assert_unmapped(m, UINT64_MAX - 1, 1);
	assert_unmapped(m, UINT64_MAX, 0);
	rfs_pagemap_free(m);
}

static void test_lookup_identity_gaps(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);

	rfs_pagemap_set(m, 100, 7, 3);
	assert_lookup(m, 0, 0, 100);
	assert_lookup(m, 99, 99, 1);
	assert_lookup(m, 100, 7, 3);
	assert_lookup(m, 102, 9, 1);
	assert_lookup(m, 103, 103, UINT64_MAX - 103);
	rfs_pagemap_free(m);
}

static void test_runs_paging(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	rfs_run out[3];
	uint64_t from = 0, want = 0, v;
	size_t n, i, calls = 0;

	/* 1000 runs: enough for several chunks. */
	for (v = 0; v < 1000; v++)
		rfs_pagemap_set(m, v * 3, v * 7 + 1, 2);
	while ((n = rfs_pagemap_runs(m, from, out, G_N_ELEMENTS(out))) > 0) {
		calls++;
		g_assert_cmpuint(n, <=, G_N_ELEMENTS(out));
		for (i = 0; i < n; i++, want++) {
			g_assert_cmpuint(out[i].vpage, ==, want * 3);
			g_assert_cmpuint(out[i].fpage, ==, want * 7 + 1);
			g_assert_cmpuint(out[i].count, ==, 2);
		}
		from = out[n - 1].vpage + out[n - 1].count;
	}
	g_assert_cmpuint(want, ==, 1000);
	g_assert_cmpuint(calls, ==, 334);
	g_assert_cmpuint(rfs_pagemap_runs(m, 0, out, 0), ==, 0);
	rfs_pagemap_free(m);
}

static void test_runs_from_inside_run(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);
	rfs_run out[8];

	rfs_pagemap_set(m, 10, 100, 10);
	rfs_pagemap_set(m, 30, 300, 10);
	/* A run covering `from` comes whole. */
	g_assert_cmpuint(rfs_pagemap_runs(m, 15, out, 8), ==, 2);
	g_assert_cmpuint(out[0].vpage, ==, 10);
	g_assert_cmpuint(out[0].fpage, ==, 100);
	g_assert_cmpuint(out[0].count, ==, 10);
	g_assert_cmpuint(out[1].vpage, ==, 30);
	/* A run ending at `from` does not. */
	g_assert_cmpuint(rfs_pagemap_runs(m, 20, out, 8), ==, 1);
	g_assert_cmpuint(out[0].vpage, ==, 30);
	g_assert_cmpuint(rfs_pagemap_runs(m, 39, out, 8), ==, 1);
	g_assert_cmpuint(rfs_pagemap_runs(m, 40, out, 8), ==, 0);
	g_assert_cmpuint(rfs_pagemap_runs(m, UINT64_MAX, out, 8), ==, 0);
	g_assert_cmpuint(rfs_pagemap_runs(m, 0, out, 1), ==, 1);
	g_assert_cmpuint(out[0].vpage, ==, 10);
	rfs_pagemap_free(m);
}

struct visit {
	GArray *seen;  /* vpages visited */
	uint64_t stop; /* vpage at which to return ret */
	int ret;
};

/* Records run->vpage; returns v->ret at run v->stop, 0 elsewhere. */
static int visit_run(const rfs_run *run, void *data)
{
	struct visit *v = data;

	g_array_append_val(v->seen, run->vpage);
	return run->vpage == v->stop ? v->ret : 0;
}

static void test_foreach_order(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	struct visit v = {g_array_new(FALSE, FALSE, sizeof(uint64_t)),
			  UINT64_MAX, 1};
	uint64_t k;

	for (k = 500; k-- > 0;)
		rfs_pagemap_set(m, k * 2, k * 2 + 1000, 1);
	g_assert_cmpint(rfs_pagemap_foreach(m, visit_run, &v), ==, 0);
	g_assert_cmpuint(v.seen->len, ==, 500);
	for (k = 0; k < 500; k++)
		g_assert_cmpuint(g_array_index(v.seen, uint64_t, k), ==, k * 2);
	g_array_unref(v.seen);
	rfs_pagemap_free(m);
}

static void test_foreach_early_stop(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	struct visit v = {g_array_new(FALSE, FALSE, sizeof(uint64_t)), 600, -7};
	uint64_t k;

	for (k = 0; k < 500; k++)
		rfs_pagemap_set(m, k * 2, k * 2 + 1000, 1);
	g_assert_cmpint(rfs_pagemap_foreach(m, visit_run, &v), ==, -7);
	g_assert_cmpuint(v.seen->len, ==, 301);
	g_assert_cmpuint(g_array_index(v.seen, uint64_t, 300), ==, 600);
	g_array_unref(v.seen);
	rfs_pagemap_free(m);
}

static void test_copy_independent(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_SPARSE);
	rfs_pagemap *c, *e;
	char *before, *after;
	uint64_t k;

	for (k = 0; k < 1000; k++)
		rfs_pagemap_set(m, k * 4, k, 2);
	before = runs_str(m);
	c = rfs_pagemap_copy(m);
	g_assert_true(rfs_pagemap_check(c));
	assert_runs(c, before);
	g_assert_cmpuint(rfs_pagemap_nruns(c), ==, 1000);
	/* The copy keeps its kind: identity runs are stored. */
	rfs_pagemap_set(c, 1, 1, 1);
	rfs_pagemap_reset(c, 100, 2000);
	rfs_pagemap_set(m, 0, 7, 4000);
	assert_runs(m, "[0,7,4000]");
	after = runs_str(c);
	g_assert_cmpstr(after, !=, before);
	assert_mapped(c, 1, 1, 1);
	assert_mapped(c, 4, 1, 2);
	assert_unmapped(c, 100, 2000);
	rfs_pagemap_free(m);
	assert_runs(c, after);
	rfs_pagemap_free(c);
	/* Copying an empty map. */
	m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	e = rfs_pagemap_copy(m);
	assert_runs(e, "");
	rfs_pagemap_set(e, 1, 1, 1);
	assert_runs(e, "");
	rfs_pagemap_free(e);
	rfs_pagemap_free(m);
	g_free(before);
	g_free(after);
}

static void test_clear(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	size_t empty = rfs_pagemap_memory(m);
	uint64_t k;

	for (k = 0; k < 10000; k++)
		rfs_pagemap_set(m, k * 2, k + 1000000, 1);
	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, 10000);
	g_assert_cmpuint(rfs_pagemap_memory(m), >, empty);
	rfs_pagemap_clear(m);
	assert_runs(m, "");
	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, 0);
	g_assert_cmpuint(rfs_pagemap_memory(m), ==, empty);
	assert_lookup(m, 2, 2, UINT64_MAX - 2);
	/* Usable after clearing. */
	rfs_pagemap_set(m, 3, 4, 5);
	assert_runs(m, "[3,4,5]");
	rfs_pagemap_clear(m);
	rfs_pagemap_clear(m);
	rfs_pagemap_free(m);
	rfs_pagemap_free(NULL);
}

/* Asserts m holds n runs and its invariants, and logs its memory use. */
static void check_phase(const rfs_pagemap *m, size_t n, const char *phase)
{
	size_t nruns = rfs_pagemap_nruns(m);

	g_assert_true(rfs_pagemap_check(m));
	g_assert_cmpuint(nruns, ==, n);
	if (nruns > 0)
		g_test_message("%s: %zu runs, %.1f bytes/run", phase, nruns,
			       (double)rfs_pagemap_memory(m) / nruns);
}

static void test_chunks_split_and_merge(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	const size_t empty = rfs_pagemap_memory(m);
	const uint64_t n = 20000;
	GRand *rand = g_rand_new_with_seed(4242);
	uint64_t *order = g_new(uint64_t, n);
	uint64_t k, left, a, len;
	char *want;

	/* Isolated single pages, ascending: appends split off the tail. */
	for (k = 0; k < n; k++)
		rfs_pagemap_set(m, 2 * k, 2 * k + 5, 1);
	check_phase(m, n, "ascending");
	g_assert_cmpuint(rfs_pagemap_memory(m), <=, 48 * n);
	/* Filling every gap, in random order, merges all into one run. */
	for (k = 0; k < n; k++)
		order[k] = k;
	for (k = n - 1; k > 0; k--) {
		uint64_t j = g_rand_int_range(rand, 0, k + 1), t = order[k];

		order[k] = order[j];
		order[j] = t;
	}
	for (k = 0; k < n; k++) {
		rfs_pagemap_set(m, 2 * order[k] + 1, 2 * order[k] + 6, 1);
		if (k % 1000 == 0)
			g_assert_true(rfs_pagemap_check(m));
	}
	check_phase(m, 1, "gaps filled");
	want = g_strdup_printf("[0,5,%" G_GUINT64_FORMAT "]", 2 * n);
	assert_runs(m, want);
	g_free(want);
	rfs_pagemap_clear(m);

	/* Descending: prepends split off the head. */
	for (k = n; k-- > 0;)
		rfs_pagemap_set(m, 2 * k, 2 * k + 5, 1);
	check_phase(m, n, "descending");
	/* Deleting single runs in random order until half are left. */
	for (k = 0; k < n / 2; k++) {
		rfs_pagemap_reset(m, 2 * order[k], 1);
		if (k % 1000 == 0)
			g_assert_true(rfs_pagemap_check(m));
	}
	check_phase(m, n / 2, "half deleted");
	g_assert_cmpuint(rfs_pagemap_memory(m), <=, 100 * (n / 2));
	/* Then random ranges, across chunk boundaries, until none is left. */
	left = n / 2;
	while (rfs_pagemap_nruns(m) > 0) {
		a = g_rand_int_range(rand, 0, 2 * n);
		len = g_rand_int_range(rand, 1, 600);
		rfs_pagemap_reset(m, a, len);
		g_assert_true(rfs_pagemap_check(m));
		g_assert_cmpuint(rfs_pagemap_nruns(m), <=, left);
		left = rfs_pagemap_nruns(m);
	}
	g_assert_cmpuint(rfs_pagemap_memory(m), ==, empty);

	/* Runs of 3 pages in random order; resets that split runs at both
	 * edges of a range spanning several chunks; one set that replaces
	 * almost all of them. */
	for (k = 0; k < n; k++)
		rfs_pagemap_set(m, 4 * order[k], 4 * order[k] + 1, 3);
	check_phase(m, n, "random runs of 3");
	rfs_pagemap_reset(m, 4001, 4000);
	check_phase(m, n - 1000 + 1, "range reset");
	assert_mapped(m, 4000, 4001, 1);
	assert_unmapped(m, 4001, 4000);
	assert_mapped(m, 8001, 8002, 2);
	rfs_pagemap_set(m, 2, 1, 4 * n - 3);
	check_phase(m, 2, "covering set");
	assert_runs(m, "[0,1,2] [2,1,79997]");
	rfs_pagemap_reset(m, 0, UINT64_MAX);
	check_phase(m, 0, "reset all");
	g_assert_cmpuint(rfs_pagemap_memory(m), ==, empty);

	/* Random single-page churn over a small range. */
	for (k = 0; k < 200000; k++) {
		a = g_rand_int_range(rand, 0, 3000);
		if (g_rand_boolean(rand))
			rfs_pagemap_set(m, a, g_rand_int_range(rand, 0, 3000),
					1);
		else
			rfs_pagemap_reset(m, a, 1);
		if (k % 997 == 0)
			g_assert_true(rfs_pagemap_check(m));
	}
	g_assert_true(rfs_pagemap_check(m));

	g_free(order);
	g_rand_free(rand);
	rfs_pagemap_free(m);
}

static void test_memory_1m_random_sets(void)
{
	rfs_pagemap *m = rfs_pagemap_new(RFS_PAGEMAP_IDENTITY);
	const guint32 seed = 20240601;
	const uint64_t nsets = 1000000;
	GRand *rand = g_rand_new_with_seed(seed);
	uint64_t *model = g_new(uint64_t, PAGES_4G);
	GTimer *timer;
	double secs, per_run;
	uint64_t k, v, f, span;
	size_t nruns;

	for (v = 0; v < PAGES_4G; v++)
		model[v] = v;
	timer = g_timer_new();
	for (k = 0; k < nsets; k++) {
		v = g_rand_int_range(rand, 0, PAGES_4G);
		f = g_rand_int(rand);
		rfs_pagemap_set(m, v, f, 1);
		model[v] = f;
	}
	secs = g_timer_elapsed(timer, NULL);
	nruns = rfs_pagemap_nruns(m);
	per_run = (double)rfs_pagemap_memory(m) / nruns;
	g_test_message("%" G_GUINT64_FORMAT " random single-page sets (seed %u)"
		       ": %.3f s, %zu runs, %zu bytes, %.1f bytes/run",
		       nsets, seed, secs, nruns, rfs_pagemap_memory(m),
		       per_run);
	g_assert_true(rfs_pagemap_check(m));
	g_assert_cmpuint(rfs_pagemap_memory(m), <=, 48 * nruns);
	for (v = 0; v < PAGES_4G; v++)
		g_assert_cmpuint(rfs_pagemap_lookup(m, v, &span), ==, model[v]);
	/* Time the lookups too. */
	g_timer_start(timer);
	for (k = 0; k < nsets; k++)
		rfs_pagemap_lookup(m, g_rand_int_range(rand, 0, PAGES_4G),
				   &span);
	g_test_message("%" G_GUINT64_FORMAT " random lookups: %.3f s", nsets,
		       g_timer_elapsed(timer, NULL));
	g_timer_destroy(timer);
	g_rand_free(rand);
	g_free(model);
	rfs_pagemap_free(m);
}

#define MODEL_PAGES 2000
#define MODEL_OPS 20000
#define ABSENT UINT64_MAX

/* A plain array model of a pagemap over pages 0..MODEL_PAGES-1. */
struct model {
	rfs_pagemap_kind kind;
	uint64_t f[MODEL_PAGES];    /* backing page, or ABSENT (sparse) */
	uint64_t span[MODEL_PAGES]; /* expected span, from model_spans */
};

/* True when the model maps page v through a run. */
static bool model_mapped(const struct model *md, uint64_t v)
{
	if (md->kind == RFS_PAGEMAP_IDENTITY)
		return md->f[v] != v;
	return md->f[v] != ABSENT;
}

/* Fills md->span and returns the number of runs the model implies. */
static size_t model_spans(struct model *md)
{
	uint64_t next = UINT64_MAX; /* first mapped page after v */
	size_t runs = 0;
	uint64_t v;

	for (v = MODEL_PAGES; v-- > 0;) {
		bool cont = v + 1 < MODEL_PAGES && model_mapped(md, v) &&
			    model_mapped(md, v + 1) && md->f[v] != UINT64_MAX &&
			    md->f[v + 1] == md->f[v] + 1;

		if (model_mapped(md, v)) {
			md->span[v] = cont ? md->span[v + 1] + 1 : 1;
			if (v == 0 || !model_mapped(md, v - 1) ||
			    md->f[v - 1] == UINT64_MAX ||
			    md->f[v] != md->f[v - 1] + 1)
				runs++;
			next = v;
		} else {
			md->span[v] =
			    next == UINT64_MAX ? UINT64_MAX - v : next - v;
		}
	}
	return runs;
}

/* Asserts that m agrees with the model for every page, and beyond it. */
static void model_verify(struct model *md, const rfs_pagemap *m, size_t op)
{
	size_t runs = model_spans(md);
	uint64_t v, f, span;
	bool found;

	g_assert_true(rfs_pagemap_check(m));
	g_assert_cmpuint(rfs_pagemap_nruns(m), ==, runs);
	for (v = 0; v < MODEL_PAGES; v++) {
		found = rfs_pagemap_find(m, v, &f, &span);
		if (found != model_mapped(md, v) || (found && f != md->f[v]) ||
		    span != md->span[v])
			g_test_message("op %zu: page %" G_GUINT64_FORMAT
				       " differs from the model",
				       op, v);
		g_assert_cmpint(found, ==, model_mapped(md, v));
		if (found)
			g_assert_cmpuint(f, ==, md->f[v]);
		g_assert_cmpuint(span, ==, md->span[v]);
		if (md->kind == RFS_PAGEMAP_IDENTITY) {
			g_assert_cmpuint(rfs_pagemap_lookup(m, v, &span), ==,
					 md->f[v]);
			g_assert_cmpuint(span, ==, md->span[v]);
		}
	}
	assert_unmapped(m, MODEL_PAGES, UINT64_MAX - MODEL_PAGES);
	assert_unmapped(m, UINT64_MAX, 0);
}

/* A backing page for a set of count pages at v: often one that continues a
 * neighbour or is the identity, so merges and resets happen. */
static uint64_t model_pick_fpage(const struct model *md, GRand *rand,
				 uint64_t v, uint64_t count)
{
	int how = g_rand_int_range(rand, 0, 100);

	if (how < 10)
		return v;
	if (how < 25 && v > 0 && model_mapped(md, v - 1) &&
	    md->f[v - 1] < UINT64_MAX - count)
		return md->f[v - 1] + 1;
	if (how < 37 && v + count < MODEL_PAGES &&
	    model_mapped(md, v + count) && md->f[v + count] >= count)
		return md->f[v + count] - count;
	if (how < 42)
		return UINT64_MAX - count - g_rand_int_range(rand, 0, 3);
	return g_rand_int_range(rand, 0, 4 * MODEL_PAGES);
}

/* Runs MODEL_OPS random sets and resets on a map of the given kind and on
 * the model, checking they agree after each one. */
static void model_run(rfs_pagemap_kind kind)
{
	const guint32 seed = 1234567 + kind;
	struct model *md = g_new0(struct model, 1);
	rfs_pagemap *m = rfs_pagemap_new(kind);
	GRand *rand = g_rand_new_with_seed(seed);
	uint64_t v, f, count, k;
	size_t op, maxruns = 0, maxmem = 0, sumruns = 0;

	g_test_message("model test seed %u", seed);
	md->kind = kind;
	for (v = 0; v < MODEL_PAGES; v++)
		md->f[v] = kind == RFS_PAGEMAP_IDENTITY ? v : ABSENT;
	for (op = 0; op < MODEL_OPS; op++) {
		/* Each cycle of 2000 ops first fragments the map into
		 * hundreds of runs (several chunks) with short sets, then
		 * mixes in long sets and resets that shrink it again. */
		bool building = op % 2000 < 1200;
		int len = g_rand_int_range(rand, 0, 1000);

		v = g_rand_int_range(rand, 0, MODEL_PAGES);
		if (building || len < 700)
			count = g_rand_int_range(rand, 1, 4);
		else if (len < 985)
			count = g_rand_int_range(rand, 1, 41);
		else
			count = g_rand_int_range(rand, 1, MODEL_PAGES + 1);
		count = MIN(count, MODEL_PAGES - v);
		if (g_rand_int_range(rand, 0, 100) < (building ? 92 : 60)) {
			f = building && len < 800
				? (uint64_t)g_rand_int_range(rand, 0,
							     4 * MODEL_PAGES)
				: model_pick_fpage(md, rand, v, count);
			rfs_pagemap_set(m, v, f, count);
			for (k = 0; k < count; k++)
				md->f[v + k] = f + k;
			if (kind == RFS_PAGEMAP_SPARSE && v == f)
				g_assert_true(
				    rfs_pagemap_find(m, v, NULL, NULL));
		} else {
			if (g_rand_int_range(rand, 0, 100) < 5) {
				rfs_pagemap_reset(m, v, UINT64_MAX - v);
				count = MODEL_PAGES - v;
			} else {
				rfs_pagemap_reset(m, v, count);
			}
			for (k = v; k < v + count; k++)
				md->f[k] =
				    kind == RFS_PAGEMAP_IDENTITY ? k : ABSENT;
		}
		model_verify(md, m, op);
		maxruns = MAX(maxruns, rfs_pagemap_nruns(m));
		maxmem = MAX(maxmem, rfs_pagemap_memory(m));
		sumruns += rfs_pagemap_nruns(m);
	}
	g_test_message("%d ops, %zu runs on average, up to %zu runs and "
		       "%zu bytes",
		       MODEL_OPS, sumruns / MODEL_OPS, maxruns, maxmem);
	/* The map must have spanned several chunks for the test to mean
	 * much (chunks hold at most 128 runs). */
	g_assert_cmpuint(maxruns, >, 300);
	g_rand_free(rand);
	rfs_pagemap_free(m);
	g_free(md);
}

static void test_model_identity(void)
{
	model_run(RFS_PAGEMAP_IDENTITY);
}

static void test_model_sparse(void)
{
	model_run(RFS_PAGEMAP_SPARSE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/pagemap/new/empty-identity-map-maps-pages-to-"
			"themselves",
			test_empty_identity);
	g_test_add_func("/pagemap/new/empty-sparse-map-finds-nothing",
			test_empty_sparse);
	g_test_add_func("/pagemap/set/single-page", test_set_single);
	g_test_add_func("/pagemap/set/range", test_set_range);
	g_test_add_func("/pagemap/set/overwrites-several-runs",
			test_set_overwrites_several_runs);
	g_test_add_func("/pagemap/set/splits-run-at-both-edges",
			test_set_splits_run_at_both_edges);
	g_test_add_func("/pagemap/set/merges-with-left-neighbour",
			test_set_merges_left);
	g_test_add_func("/pagemap/set/merges-with-right-neighbour",
			test_set_merges_right);
	g_test_add_func("/pagemap/set/merges-with-both-neighbours",
			test_set_merges_both);
	g_test_add_func("/pagemap/set/merges-with-remains-of-overwritten-run",
			test_set_merges_after_overwrite);
	g_test_add_func("/pagemap/set/does-not-merge-discontiguous-runs",
			test_set_no_merge_when_discontiguous);
	g_test_add_func("/pagemap/set/identity-range-resets-identity-map",
			test_set_identity_resets_in_identity_map);
	g_test_add_func("/pagemap/set/identity-range-is-stored-in-sparse-map",
			test_set_identity_stored_in_sparse_map);
	g_test_add_func("/pagemap/set/near-uint64-max",
			test_set_near_uint64_max);
	g_test_add_func("/pagemap/reset/splits-run", test_reset_splits_run);
	g_test_add_func("/pagemap/reset/removes-several-runs",
			test_reset_several_runs);
	g_test_add_func("/pagemap/reset/to-the-end", test_reset_to_the_end);
	g_test_add_func("/pagemap/reset/near-uint64-max",
			test_reset_near_uint64_max);
	g_test_add_func("/pagemap/find/spans-in-runs-gaps-and-after-last",
			test_find_spans);
	g_test_add_func("/pagemap/lookup/identity-in-gaps",
			test_lookup_identity_gaps);
	g_test_add_func("/pagemap/runs/pages-through-with-small-max",
			test_runs_paging);
	g_test_add_func("/pagemap/runs/returns-run-covering-from-whole",
			test_runs_from_inside_run);
	g_test_add_func("/pagemap/foreach/visits-runs-in-order",
			test_foreach_order);
	g_test_add_func("/pagemap/foreach/stops-early-with-callback-value",
			test_foreach_early_stop);
	g_test_add_func("/pagemap/copy/is-independent-of-original",
			test_copy_independent);
	g_test_add_func("/pagemap/clear/removes-every-run", test_clear);
	g_test_add_func("/pagemap/chunks/split-and-merge-under-churn",
			test_chunks_split_and_merge);
	g_test_add_func("/pagemap/memory/bounded-after-1m-random-sets",
			test_memory_1m_random_sets);
	g_test_add_func("/pagemap/model/identity-random-operations",
			test_model_identity);
	g_test_add_func("/pagemap/model/sparse-random-operations",
			test_model_sparse);
	return g_test_run();
}
