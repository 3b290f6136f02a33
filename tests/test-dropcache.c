/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-dropcache.c - unit tests of dropping backing pages (dropcache.h):
 * how ranges merge, what a dropset hands back to drop, and, on a real
 * file in $TMPDIR, that a file read in pieces of a FUSE request's size
 * leaves nothing in the page cache while dirty pages stay.  No mount. */
#include "dropcache.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PS 4096

static void test_ranges_merge_widens_sorts_and_joins_touching(void)
{
	struct rfs_range r[] = {
	    {3 * PS, PS},     /* page 3 */
	    {100, 10},	      /* inside page 0 */
	    {PS + 1, PS},     /* pages 1 and 2 */
	    {9 * PS, 0},      /* empty: dropped */
	    {20 * PS, 2 * PS} /* apart */
	};
	size_t n = rfs_ranges_merge(r, G_N_ELEMENTS(r), 12);
	g_assert_cmpuint(n, ==, 2);
	g_assert_cmpint(r[0].off, ==, 0);
	g_assert_cmpint(r[0].len, ==, 4 * PS);
	g_assert_cmpint(r[1].off, ==, 20 * PS);
	g_assert_cmpint(r[1].len, ==, 2 * PS);
}

static void test_dropset_returns_what_views_read_within_the_folio_window(void)
{
	const off_t w = 16 * PS; /* folios of 16 pages */
	struct rfs_dropset *s = rfs_dropset_new(100);
	/* Pages 0-5 read: the window around them is pages 0-15, of which
	 * the set holds 0-5. */
	struct rfs_range d =
	    rfs_dropset_add(s, (struct rfs_range){0, 6 * PS}, w);
	g_assert_cmpint(d.off, ==, 0);
	g_assert_cmpint(d.len, ==, 6 * PS);
	/* Pages 10-17 apart from them: the window is 0-31, the set's range
	 * is 10-17 alone. */
	d = rfs_dropset_add(s, (struct rfs_range){10 * PS, 8 * PS}, w);
	g_assert_cmpint(d.off, ==, 10 * PS);
	g_assert_cmpint(d.len, ==, 8 * PS);
	/* Pages 6-9 join both: the set holds 0-17, cut to the window 0-15
	 * (the folio of pages 0-15 is whole now). */
	d = rfs_dropset_add(s, (struct rfs_range){6 * PS, 4 * PS}, w);
	g_assert_cmpint(d.off, ==, 0);
	g_assert_cmpint(d.len, ==, 16 * PS);
	/* A range that starts inside the held one and goes past it. */
	d = rfs_dropset_add(s, (struct rfs_range){17 * PS, 20 * PS}, w);
	g_assert_cmpint(d.off, ==, 16 * PS);
	g_assert_cmpint(d.len, ==, 21 * PS);
	rfs_dropset_free(s);
}

static void test_dropset_full_starts_again_empty(void)
{
	struct rfs_dropset *s = rfs_dropset_new(2);
	(void)rfs_dropset_add(s, (struct rfs_range){0, PS}, PS);
	(void)rfs_dropset_add(s, (struct rfs_range){4 * PS, PS}, PS);
	/* A third range apart: the set is emptied first. */
	(void)rfs_dropset_add(s, (struct rfs_range){8 * PS, PS}, PS);
	/* So page 1, next to page 0, no longer joins it. */
	struct rfs_range d =
	    rfs_dropset_add(s, (struct rfs_range){PS, PS}, 16 * PS);
	g_assert_cmpint(d.off, ==, PS);
	g_assert_cmpint(d.len, ==, PS);
	rfs_dropset_free(s);
}

/* How many of the file's pages are in the page cache. */
static size_t resident_pages(int fd, size_t size)
{
	void *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(m != MAP_FAILED);
	size_t np = (size + PS - 1) / PS, n = 0;
	unsigned char *vec = g_malloc(np);
	g_assert_cmpint(mincore(m, size, vec), ==, 0);
	for (size_t i = 0; i < np; i++)
		n += vec[i] & 1;
	g_free(vec);
	munmap(m, size);
	return n;
}

/* A file of size bytes in $TMPDIR, read into the page cache; -1 (and the
 * test skipped) where its file system cannot drop cached pages (tmpfs). */
static int cached_file(char **path, size_t size)
{
	const char *dir = g_getenv("TMPDIR") ? g_getenv("TMPDIR") : "/tmp";
	*path = g_build_filename(dir, "test-dropcache-XXXXXX", NULL);
	int fd = g_mkstemp(*path);
	g_assert_cmpint(fd, >=, 0);
	char *buf = g_malloc(size);
	for (size_t i = 0; i < size; i++)
		buf[i] = (char)(i * 7 + 3);
	g_assert_cmpint(pwrite(fd, buf, size, 0), ==, (ssize_t)size);
	g_assert_cmpint(fdatasync(fd), ==, 0);
	g_assert_cmpint(pread(fd, buf, size, 0), ==, (ssize_t)size);
	g_free(buf);
	struct rfs_range all = {0, (off_t)size};
	g_assert_cmpint(rfs_drop_range(fd, &all), ==, 0);
	if (resident_pages(fd, size) != 0) {
		g_test_skip("the file system of $TMPDIR keeps dropped pages");
		close(fd);
		unlink(*path);
		return -1;
	}
	buf = g_malloc(size);
	g_assert_cmpint(pread(fd, buf, size, 0), ==, (ssize_t)size);
	g_free(buf);
	return fd;
}

static void test_file_read_in_request_sized_pieces_leaves_no_cached_page(void)
{
	const size_t size = 8u << 20;
	const size_t piece = (1u << 20) - 4 * PS; /* a FUSE request */
	char *path;
	int fd = cached_file(&path, size);
	if (fd < 0) {
		g_free(path);
		return;
	}
	g_assert_cmpuint(resident_pages(fd, size), >, 0);
	const off_t pmd = (off_t)PS * (PS / 8);
	struct rfs_dropset *s = rfs_dropset_new(64);
	for (size_t off = 0; off < size; off += piece) {
		struct rfs_range r = {(off_t)off,
				      (off_t)MIN(piece, size - off)};
		r = rfs_dropset_add(s, r, pmd);
		g_assert_cmpint(rfs_drop_range(fd, &r), ==, 0);
	}
	size_t left = resident_pages(fd, size);
	if (left != 0)
		g_test_message("expected 0 pages cached, saw %zu", left);
	g_assert_cmpuint(left, ==, 0);
	rfs_dropset_free(s);
	close(fd);
	unlink(path);
	g_free(path);
}

static void test_dirty_page_stays_with_its_bytes(void)
{
	const size_t size = 1u << 20;
	char *path;
	int fd = cached_file(&path, size);
	if (fd < 0) {
		g_free(path);
		return;
	}
	char page[PS];
	memset(page, 0x5a, sizeof(page));
	g_assert_cmpint(pwrite(fd, page, PS, 3 * PS), ==, PS);
	struct rfs_range all = {0, (off_t)size};
	g_assert_cmpint(rfs_drop_range(fd, &all), ==, 0);
	char back[PS];
	g_assert_cmpint(pread(fd, back, PS, 3 * PS), ==, PS);
	g_assert_cmpmem(back, PS, page, PS);
	close(fd);
	unlink(path);
	g_free(path);
}

static void test_unmap_range_lets_a_mapped_page_be_dropped(void)
{
	const size_t size = 1u << 20;
	char *path;
	int fd = cached_file(&path, size);
	if (fd < 0) {
		g_free(path);
		return;
	}
	const char *m = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(m != MAP_FAILED);
	volatile char sum = 0;
	for (size_t off = 0; off < size; off += PS)
		sum += m[off];
	(void)sum;
	struct rfs_range all = {0, (off_t)size};
	g_assert_cmpint(rfs_drop_range(fd, &all), ==, 0);
	size_t mapped_left = resident_pages(fd, size);
	g_assert_cmpint(rfs_unmap_range(m, size, &all), ==, 0);
	g_assert_cmpint(rfs_drop_range(fd, &all), ==, 0);
	size_t left = resident_pages(fd, size);
	g_test_message("mapped: %zu pages stayed; unmapped: %zu", mapped_left,
		       left);
	g_assert_cmpuint(mapped_left, >, 0);
	g_assert_cmpuint(left, ==, 0);
	/* The mapping still reads the file's bytes. */
	g_assert_cmpint(m[5 * PS + 1], ==, (char)((5 * PS + 1) * 7 + 3));
	munmap((void *)m, size);
	close(fd);
	unlink(path);
	g_free(path);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func(
	    "/dropcache/ranges-merge-widens-sorts-and-joins-touching",
	    test_ranges_merge_widens_sorts_and_joins_touching);
	g_test_add_func(
	    "/dropcache/"
	    "dropset-returns-what-views-read-within-the-folio-window",
	    test_dropset_returns_what_views_read_within_the_folio_window);
	g_test_add_func("/dropcache/dropset-full-starts-again-empty",
			test_dropset_full_starts_again_empty);
	g_test_add_func(
	    "/dropcache/"
	    "file-read-in-request-sized-pieces-leaves-no-cached-page",
	    test_file_read_in_request_sized_pieces_leaves_no_cached_page);
	g_test_add_func("/dropcache/dirty-page-stays-with-its-bytes",
			test_dirty_page_stays_with_its_bytes);
	g_test_add_func("/dropcache/unmap-range-lets-a-mapped-page-be-dropped",
			test_unmap_range_lets_a_mapped_page_be_dropped);
	return g_test_run();
}
