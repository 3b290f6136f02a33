/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pageset.c - the set of pages the kernel may cache, against a
 * model (an array of flags), without a mount. */
#include "pageset.h"

#include <stdio.h>

#define MODEL_PAGES 5000

/* Checks that runs[from..] are exactly the pages of [a, b) set in model,
 * as maximal runs in order, then clears them in the model. */
static void check_taken(const GArray *runs, guint from, bool *model, uint64_t a,
			uint64_t b, uint64_t taken)
{
	guint k = from;
	uint64_t sum = 0;
	for (uint64_t p = a; p < b;) {
		if (!model[p]) {
			p++;
			continue;
		}
		uint64_t q = p;
		while (q < b && model[q])
			model[q++] = false;
		if (k >= runs->len) {
			g_printerr("expected a run %" G_GUINT64_FORMAT
				   "+%" G_GUINT64_FORMAT ", saw none\n",
				   p, q - p);
			g_test_fail();
			return;
		}
		const rfs_run *r = &g_array_index(runs, rfs_run, k++);
		if (r->vpage != p || r->count != q - p) {
			g_printerr("expected run %" G_GUINT64_FORMAT
				   "+%" G_GUINT64_FORMAT
				   ", saw %" G_GUINT64_FORMAT
				   "+%" G_GUINT64_FORMAT "\n",
				   p, q - p, r->vpage, r->count);
			g_test_fail();
			return;
		}
		sum += q - p;
		p = q;
	}
	g_assert_cmpuint(k, ==, runs->len);
	g_assert_cmpuint(sum, ==, taken);
}

static void test_pageset_matches_a_model_of_flags(void)
{
	struct rfs_pageset *s = rfs_pageset_new();
	bool *model = g_new0(bool, MODEL_PAGES);
	GRand *r = g_rand_new_with_seed(7);
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	for (int op = 0; op < 20000 && !g_test_failed(); op++) {
		uint64_t a = (uint64_t)g_rand_int_range(r, 0, MODEL_PAGES);
		uint64_t n = (uint64_t)g_rand_int_range(
		    r, 0, g_rand_boolean(r) ? 8 : 1200);
		uint64_t b = MIN(a + n, (uint64_t)MODEL_PAGES);
		int kind = g_rand_int_range(r, 0, 6);
		if (kind < 3) {
			rfs_pageset_add(s, a, b - a);
			for (uint64_t p = a; p < b; p++)
				model[p] = true;
		} else if (kind < 5) {
			g_array_set_size(runs, 0);
			uint64_t taken = rfs_pageset_take(s, a, b - a, runs);
			check_taken(runs, 0, model, a, b, taken);
		} else {
			rfs_pageset_remove(s, a, b - a);
			for (uint64_t p = a; p < b; p++)
				model[p] = false;
		}
		for (int k = 0; k < 8; k++) {
			uint64_t p =
			    (uint64_t)g_rand_int_range(r, 0, MODEL_PAGES);
			if (rfs_pageset_contains(s, p) != model[p]) {
				g_printerr("page %" G_GUINT64_FORMAT
					   ": expected %s, saw %s\n",
					   p, model[p] ? "in" : "out",
					   model[p] ? "out" : "in");
				g_test_fail();
			}
		}
		uint64_t count = 0;
		for (int p = 0; p < MODEL_PAGES; p++)
			count += model[p];
		g_assert_cmpuint(rfs_pageset_count(s), ==, count);
	}
	g_array_unref(runs);
	g_rand_free(r);
	g_free(model);
	rfs_pageset_free(s);
}

static void test_pageset_take_appends_after_existing_runs(void)
{
	struct rfs_pageset *s = rfs_pageset_new();
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	rfs_run first = {.vpage = 99, .fpage = 0, .count = 1};
	g_array_append_val(runs, first);
	rfs_pageset_add(s, 100, 5);
	/* touching the caller's last run, but not merged into it */
	g_assert_cmpuint(rfs_pageset_take(s, 0, 1000, runs), ==, 5);
	g_assert_cmpuint(runs->len, ==, 2);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 0).count, ==, 1);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 1).vpage, ==, 100);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 1).count, ==, 5);
	g_array_unref(runs);
	rfs_pageset_free(s);
}

static void test_pageset_huge_ranges_visit_only_the_chunks_held(void)
{
	struct rfs_pageset *s = rfs_pageset_new();
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	uint64_t far = UINT64_MAX - 10;
	/* an empty set: no chunk to visit (and none to sort) */
	g_assert_cmpuint(rfs_pageset_take(s, 0, UINT64_MAX, runs), ==, 0);
	g_assert_cmpuint(runs->len, ==, 0);
	rfs_pageset_add(s, 3, 2);
	rfs_pageset_add(s, (uint64_t)1 << 40, 1);
	rfs_pageset_add(s, far, 100); /* clipped at UINT64_MAX */
	g_assert_cmpuint(rfs_pageset_count(s), ==, 2 + 1 + 10);
	/* from 4 to the end: a range of 2^64 pages, three chunks held */
	g_assert_cmpuint(rfs_pageset_take(s, 4, UINT64_MAX, runs), ==,
			 1 + 1 + 10);
	g_assert_cmpuint(runs->len, ==, 3);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 0).vpage, ==, 4);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 1).vpage, ==,
			 (uint64_t)1 << 40);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 2).vpage, ==, far);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 2).count, ==, 10);
	g_assert_cmpuint(rfs_pageset_count(s), ==, 1);
	g_array_unref(runs);
	rfs_pageset_free(s);
}

static void test_pageset_past_the_chunk_limit_holds_every_page(void)
{
	struct rfs_pageset *s = rfs_pageset_new();
	GArray *runs = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	for (uint64_t i = 0; i <= RFS_PAGESET_MAX_CHUNKS; i++)
		rfs_pageset_add(s, i * RFS_PAGESET_CHUNK * 2, 1);
	g_assert_cmpuint(rfs_pageset_count(s), ==, UINT64_MAX);
	/* pages never added count as cached now, and stay so */
	g_assert_true(rfs_pageset_contains(s, 1));
	rfs_pageset_remove(s, 1, 7);
	g_assert_true(rfs_pageset_contains(s, 1));
	g_assert_cmpuint(rfs_pageset_take(s, 1, 7, runs), ==, 7);
	g_assert_cmpuint(rfs_pageset_take(s, 1, 7, runs), ==, 7);
	g_assert_cmpuint(runs->len, ==, 2);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 1).vpage, ==, 1);
	g_assert_cmpuint(g_array_index(runs, rfs_run, 1).count, ==, 7);
	g_array_unref(runs);
	rfs_pageset_free(s);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	g_test_add_func("/pageset/matches-a-model-of-flags",
			test_pageset_matches_a_model_of_flags);
	g_test_add_func("/pageset/take-appends-after-existing-runs",
			test_pageset_take_appends_after_existing_runs);
	g_test_add_func("/pageset/huge-ranges-visit-only-the-chunks-held",
			test_pageset_huge_ranges_visit_only_the_chunks_held);
	g_test_add_func("/pageset/past-the-chunk-limit-holds-every-page",
			test_pageset_past_the_chunk_limit_holds_every_page);
	return g_test_run();
}
