/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-segs.c - unit tests of a write's segments (segs.h): the view pages
 * whose backing page one write reaches twice, and writing the bytes in
 * the file's order with what is acknowledged being the view-order prefix
 * that landed (a file size limit stands in for a full disk).  No mount. */
#include "segs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define PS 4096

static GArray *segs_of(const struct rfs_seg *s, size_t n)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(struct rfs_seg));
	g_array_append_vals(a, s, (guint)n);
	return a;
}

/* Checks vpages against want (n of them), printing both when they differ. */
static void check_pages(GArray *vpages, const uint64_t *want, size_t n)
{
	GString *saw = g_string_new(NULL);
	for (guint i = 0; i < vpages->len; i++)
		g_string_append_printf(saw, " %" G_GUINT64_FORMAT,
				       g_array_index(vpages, guint64, i));
	GString *exp = g_string_new(NULL);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(exp, " %" G_GUINT64_FORMAT, want[i]);
	if (strcmp(saw->str, exp->str) != 0)
		g_test_message("expected view pages%s, saw%s", exp->str,
			       saw->str);
	g_assert_cmpstr(saw->str, ==, exp->str);
	g_string_free(saw, TRUE);
	g_string_free(exp, TRUE);
}

static void test_pages_reached_twice_are_found_in_view_order(void)
{
	/* View pages 0..5 show backing pages 5, 7, 5, 9, 10, 10. */
	const struct rfs_seg s[] = {{5 * PS, PS, false},
				    {7 * PS, PS, false},
				    {5 * PS, PS, false},
				    {9 * PS, 2 * PS, false},
				    {10 * PS, PS, false}};
	GArray *segs = segs_of(s, G_N_ELEMENTS(s));
	GArray *vp = g_array_new(FALSE, FALSE, sizeof(guint64));
	rfs_segs_twice(segs, 0, 12, vp);
	const uint64_t want[] = {0, 2, 4, 5};
	check_pages(vp, want, G_N_ELEMENTS(want));
	g_array_unref(vp);
	g_array_unref(segs);
}

static void test_partial_pages_reach_their_backing_page_too(void)
{
	/* A write of 100 bytes at view offset 4000 (view pages 0 and 1):
	 * its first 96 bytes go to the end of backing page 3, the rest to
	 * the start of backing page 3 again (a view page 1 that shows it). */
	const struct rfs_seg s[] = {{3 * PS + 4000, 96, false},
				    {3 * PS, 4, false}};
	GArray *segs = segs_of(s, G_N_ELEMENTS(s));
	GArray *vp = g_array_new(FALSE, FALSE, sizeof(guint64));
	rfs_segs_twice(segs, 4000, 12, vp);
	const uint64_t want[] = {0, 1};
	check_pages(vp, want, G_N_ELEMENTS(want));
	/* Nothing twice: nothing found; zero segments reach nothing. */
	g_array_set_size(vp, 0);
	const struct rfs_seg t[] = {{3 * PS, PS, false},
				    {0, PS, true},
				    {4 * PS, PS, false},
				    {0, PS, true}};
	GArray *segs2 = segs_of(t, G_N_ELEMENTS(t));
	rfs_segs_twice(segs2, 0, 12, vp);
	g_assert_cmpuint(vp->len, ==, 0);
	g_array_unref(segs2);
	/* Only zeros (a write past a backing file's end): nothing at all. */
	const struct rfs_seg z[] = {{0, PS, true}, {0, PS, true}};
	GArray *segs3 = segs_of(z, G_N_ELEMENTS(z));
	rfs_segs_twice(segs3, 0, 12, vp);
	g_assert_cmpuint(vp->len, ==, 0);
	g_array_unref(segs3);
	g_array_unref(vp);
	g_array_unref(segs);
}

/* A temporary file of npages zero pages, open for writing. */
static int temp_file(char **path, int npages)
{
	const char *dir = g_getenv("TMPDIR") ? g_getenv("TMPDIR") : "/tmp";
	*path = g_build_filename(dir, "test-segs-XXXXXX", NULL);
	int fd = g_mkstemp(*path);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, (off_t)npages * PS), ==, 0);
	return fd;
}

/* The first byte of page p of fd. */
static int page_byte(int fd, int p)
{
	unsigned char c = 0;
	g_assert_cmpint(pread(fd, &c, 1, (off_t)p * PS), ==, 1);
	return c;
}

static void test_scattered_write_lands_where_segments_say(void)
{
	char *path;
	int fd = temp_file(&path, 8);
	/* View pages 0..3 -> backing 6, 1, 4, 1 (1 twice: the last wins). */
	const struct rfs_seg s[] = {{6 * PS, PS, false},
				    {1 * PS, PS, false},
				    {4 * PS, PS, false},
				    {1 * PS, PS, false}};
	GArray *segs = segs_of(s, G_N_ELEMENTS(s));
	char *data = g_malloc(4 * PS);
	for (int v = 0; v < 4; v++)
		memset(data + v * PS, 'a' + v, PS);
	g_assert_cmpint(rfs_segs_write(fd, data, segs), ==, 4 * PS);
	g_assert_cmpint(page_byte(fd, 6), ==, 'a');
	g_assert_cmpint(page_byte(fd, 4), ==, 'c');
	g_assert_cmpint(page_byte(fd, 1), ==, 'd');
	g_assert_cmpint(page_byte(fd, 0), ==, 0);
	g_free(data);
	g_array_unref(segs);
	close(fd);
	unlink(path);
	g_free(path);
}

/* Writes segs (pages given by their backing page numbers) with a file
 * size limit of limit pages; returns what rfs_segs_write returned. */
static ssize_t write_limited(const int *fpages, int n, int limit)
{
	char *path;
	int fd = temp_file(&path, 0);
	GArray *segs = g_array_new(FALSE, FALSE, sizeof(struct rfs_seg));
	for (int i = 0; i < n; i++) {
		struct rfs_seg s = {(off_t)fpages[i] * PS, PS, false};
		g_array_append_val(segs, s);
	}
	char *data = g_malloc0((size_t)n * PS);
	struct rlimit old, lim;
	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	lim = old;
	lim.rlim_cur = (rlim_t)limit * PS;
	signal(SIGXFSZ, SIG_IGN);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
	ssize_t res = rfs_segs_write(fd, data, segs);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	g_free(data);
	g_array_unref(segs);
	close(fd);
	unlink(path);
	g_free(path);
	return res;
}

static void test_failed_write_acknowledges_the_view_prefix_that_landed(void)
{
	/* The limit is 8 pages: backing page 9 cannot be written. */
	const int tail_fails[] = {1, 2, 9, 3};
	ssize_t res = write_limited(tail_fails, 4, 8);
	if (res != 2 * PS)
		g_test_message("view pages 1 2 9 3: expected %d bytes, saw %zd",
			       2 * PS, res);
	g_assert_cmpint(res, ==, 2 * PS);
	/* Page 9 first in view order: written last in file order, and
	 * nothing is acknowledged although three pages landed. */
	const int head_fails[] = {9, 1, 2, 3};
	res = write_limited(head_fails, 4, 8);
	g_assert_cmpint(res, ==, -EFBIG);
	const int all_fit[] = {7, 0, 3};
	g_assert_cmpint(write_limited(all_fit, 3, 8), ==, 3 * PS);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/segs/pages-reached-twice-are-found-in-view-order",
			test_pages_reached_twice_are_found_in_view_order);
	g_test_add_func("/segs/partial-pages-reach-their-backing-page-too",
			test_partial_pages_reach_their_backing_page_too);
	g_test_add_func("/segs/scattered-write-lands-where-segments-say",
			test_scattered_write_lands_where_segments_say);
	g_test_add_func(
	    "/segs/failed-write-acknowledges-the-view-prefix-that-landed",
	    test_failed_write_acknowledges_the_view_prefix_that_landed);
	return g_test_run();
}
