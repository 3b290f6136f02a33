/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-dropcache.c - unit tests of dropping backing pages (dropcache.h):
 * how ranges merge, what a dropset hands back to drop, and, on a real
 * file in $TMPDIR, that a file read in pieces of a FUSE request's size
 * leaves nothing in the page cache while dirty pages stay.  No mount. */
#include "dropcache.h"
#include "privfd.h"

#include <fcntl.h>
#include <inttypes.h>
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

static void test_dropset_returns_the_whole_blocks_views_read(void)
{
	const off_t w = 16 * PS; /* folios of up to 16 pages */
	const off_t eof = 40 * PS;
	struct rfs_dropset *s = rfs_dropset_new(-1, NULL, 12, w, 100, 0);
	/* Pages 0-5 read: no block of 16 pages is whole yet. */
	struct rfs_range d =
	    rfs_dropset_add(s, (struct rfs_range){0, 6 * PS}, eof);
	g_assert_cmpint(d.len, ==, 0);
	/* Pages 10-17, apart from them: none either. */
	d = rfs_dropset_add(s, (struct rfs_range){10 * PS, 8 * PS}, eof);
	g_assert_cmpint(d.len, ==, 0);
	/* Pages 6-9 join both: block 0-15 is whole. */
	d = rfs_dropset_add(s, (struct rfs_range){6 * PS, 4 * PS}, eof);
	g_assert_cmpint(d.off, ==, 0);
	g_assert_cmpint(d.len, ==, 16 * PS);
	/* Pages 18-36 with 16-17 still held: block 16-31 is whole, 32-47
	 * is not. */
	d = rfs_dropset_add(s, (struct rfs_range){18 * PS, 19 * PS}, eof);
	g_assert_cmpint(d.off, ==, 16 * PS);
	g_assert_cmpint(d.len, ==, 16 * PS);
	/* Pages 37-39 reach the end of the file: the tail goes too. */
	d = rfs_dropset_add(s, (struct rfs_range){37 * PS, 3 * PS}, eof);
	g_assert_cmpint(d.off, ==, 32 * PS);
	g_assert_cmpint(d.len, ==, 8 * PS);
	rfs_dropset_unref(s);
}

static void test_dropped_block_is_dropped_again_only_once_read_again(void)
{
	const off_t w = 16 * PS, eof = 64 * PS;
	struct rfs_dropset *s = rfs_dropset_new(-1, NULL, 12, w, 100, 0);
	struct rfs_range d =
	    rfs_dropset_add(s, (struct rfs_range){0, 16 * PS}, eof);
	g_assert_cmpint(d.len, ==, 16 * PS);
	/* Read again, a page at a time (a view read after invalidate):
	 * nothing is dropped until the last page of the block. */
	for (int p = 15; p > 0; p--) {
		d = rfs_dropset_add(s, (struct rfs_range){p * PS, PS}, eof);
		if (d.len)
			g_test_message("page %d: expected nothing, saw %lld "
				       "bytes at %lld",
				       p, (long long)d.len, (long long)d.off);
		g_assert_cmpint(d.len, ==, 0);
	}
	d = rfs_dropset_add(s, (struct rfs_range){0, PS}, eof);
	g_assert_cmpint(d.off, ==, 0);
	g_assert_cmpint(d.len, ==, 16 * PS);
	rfs_dropset_unref(s);
}

static void test_blocks_wait_for_the_reads_in_flight(void)
{
	const off_t w = 4 * PS, eof = 64 * PS;
	struct rfs_dropset *s = rfs_dropset_new(-1, NULL, 12, w, 100, 8 * PS);
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct rfs_drop));
	/* Two reads in flight; the first ends having made block 0-3 whole:
	 * the other read may hold its pages, so it waits. */
	rfs_dropset_read_begin(s);
	rfs_dropset_read_begin(s);
	struct rfs_range a = {0, 4 * PS};
	rfs_dropset_read_end(s, &a, 1, eof, out);
	g_assert_cmpuint(out->len, ==, 0);
	/* The last read in flight ends: block 0-3 and its own 4-7 go. */
	struct rfs_range b = {4 * PS, 4 * PS};
	rfs_dropset_read_end(s, &b, 1, eof, out);
	g_assert_cmpuint(out->len, ==, 2);
	g_assert_cmpint(g_array_index(out, struct rfs_drop, 0).r.off, ==, 0);
	g_assert_cmpint(g_array_index(out, struct rfs_drop, 1).r.off, ==,
			4 * PS);
	/* With reads always in flight, more than max_pending bytes waiting
	 * go anyway. */
	g_array_set_size(out, 0);
	rfs_dropset_read_begin(s); /* ends only after the loop */
	for (int blk = 2; blk < 5; blk++) {
		struct rfs_range r = {blk * w, w};
		rfs_dropset_read_begin(s);
		rfs_dropset_read_end(s, &r, 1, eof, out);
		g_assert_cmpuint(out->len, ==, blk < 4 ? 0 : 3);
	}
	rfs_dropset_read_end(s, NULL, 0, eof, out);
	g_array_unref(out);
	rfs_dropset_unref(s);
}

static void test_block_that_stayed_cached_is_tried_again_a_few_times(void)
{
	const off_t w = 4 * PS, eof = 64 * PS;
	struct rfs_dropset *s = rfs_dropset_new(-1, NULL, 12, w, 100, 64 * PS);
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct rfs_drop));
	struct rfs_range a = {0, w};
	rfs_dropset_read_begin(s);
	rfs_dropset_read_end(s, &a, 1, eof, out);
	g_assert_cmpuint(out->len, ==, 1);
	unsigned tries = 1;
	for (;;) {
		struct rfs_drop d = g_array_index(out, struct rfs_drop, 0);
		g_assert_cmpint(d.r.off, ==, 0);
		g_assert_cmpint(d.r.len, ==, w);
		rfs_dropset_failed(s, &d);
		g_array_set_size(out, 0);
		/* The next read's end, of a page elsewhere, hands it out again
		 * until it was tried RFS_DROP_TRIES times. */
		struct rfs_range other = {40 * PS, PS};
		rfs_dropset_read_begin(s);
		rfs_dropset_read_end(s, &other, 1, eof, out);
		if (out->len == 0)
			break;
		tries++;
	}
	g_assert_cmpuint(tries, ==, RFS_DROP_TRIES);
	g_array_unref(out);
	rfs_dropset_unref(s);
}

static void test_dropset_full_starts_again_empty(void)
{
	struct rfs_dropset *s = rfs_dropset_new(-1, NULL, 12, 2 * PS, 2, 0);
	const off_t eof = 64 * PS;
	(void)rfs_dropset_add(s, (struct rfs_range){0, PS}, eof);
	(void)rfs_dropset_add(s, (struct rfs_range){4 * PS, PS}, eof);
	/* A third block partly read: the set (of two) is emptied first. */
	(void)rfs_dropset_add(s, (struct rfs_range){8 * PS, PS}, eof);
	/* So page 1, next to page 0, no longer makes block 0-1 whole. */
	struct rfs_range d =
	    rfs_dropset_add(s, (struct rfs_range){PS, PS}, eof);
	g_assert_cmpint(d.len, ==, 0);
	rfs_dropset_unref(s);
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
	(void)rfs_drop_range(fd, &all);
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
	struct rfs_dropset *s = rfs_dropset_new(-1, NULL, 12, pmd, 64, 0);
	for (size_t off = 0; off < size; off += piece) {
		struct rfs_range r = {(off_t)off,
				      (off_t)MIN(piece, size - off)};
		r = rfs_dropset_add(s, r, (off_t)size);
		/* Nothing holds these pages: none stays. */
		if (r.len)
			g_assert_false(rfs_drop_range(fd, &r));
	}
	size_t left = resident_pages(fd, size);
	if (left != 0)
		g_test_message("expected 0 pages cached, saw %zu", left);
	g_assert_cmpuint(left, ==, 0);
	rfs_dropset_unref(s);
	close(fd);
	unlink(path);
	g_free(path);
}

static void test_set_drops_through_its_own_descriptor_once_fd_closed(void)
{
	const size_t size = 4u << 20;
	char *path;
	int fd = cached_file(&path, size);
	if (fd < 0) {
		g_free(path);
		return;
	}
	const off_t pmd = (off_t)PS * (PS / 8);
	struct rfs_dropset *s = rfs_dropset_new(fd, NULL, 12, pmd, 64, 0);
	int keep = open(path, O_RDONLY); /* for resident_pages */
	rfs_dropset_read_begin(s);
	/* The program closes the file once its read was answered, before
	 * the daemon drops what the read made whole. */
	close(fd);
	struct rfs_range all = {0, (off_t)size};
	GArray *out = g_array_new(FALSE, FALSE, sizeof(struct rfs_drop));
	rfs_dropset_read_end(s, &all, 1, (off_t)size, out);
	g_assert_cmpuint(out->len, ==, 1);
	size_t left = resident_pages(keep, size);
	if (left)
		g_test_message("expected 0 pages cached, saw %zu", left);
	g_assert_cmpuint(left, ==, 0);
	g_array_unref(out);
	rfs_dropset_unref(s);
	close(keep);
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
	(void)rfs_drop_range(fd, &all);
	char back[PS];
	g_assert_cmpint(pread(fd, back, PS, 3 * PS), ==, PS);
	g_assert_cmpmem(back, PS, page, PS);
	close(fd);
	unlink(path);
	g_free(path);
}

/* The set's own descriptor is marked in the bitmap it is given while it
 * lives (privfd.h: a worker after a dead one closes it) and unmarked
 * before it is closed. */
static void test_set_marks_its_descriptor_while_it_lives(void)
{
	const char *dir = g_getenv("TMPDIR") ? g_getenv("TMPDIR") : "/tmp";
	char *path = g_build_filename(dir, "test-dropcache-XXXXXX", NULL);
	int fd = g_mkstemp(path);
	g_assert_cmpint(fd, >=, 0);
	uint64_t *map = g_malloc0(RFS_PRIVFD_MAX / 8);
	struct rfs_dropset *s = rfs_dropset_new(fd, map, 12, 2 * PS, 2, 0);
	int marked = -1, count = 0;
	for (int i = 0; i < (int)RFS_PRIVFD_MAX; i++)
		if (map[i / 64] & (UINT64_C(1) << (i % 64))) {
			marked = i;
			count++;
		}
	bool drops = rfs_dropset_drops(s);
	if (drops && (count != 1 || marked == fd))
		g_error("expected one descriptor marked, the set's own (not "
			"%d), saw %d marked (the last %d)",
			fd, count, marked);
	if (!drops && count != 0) /* tmpfs: the set holds no descriptor */
		g_error("expected nothing marked, saw %d", count);
	rfs_dropset_unref(s);
	for (int i = 0; i < (int)(RFS_PRIVFD_MAX / 64); i++)
		if (map[i])
			g_error("expected nothing marked after the set's end, "
				"saw word %d = %#" PRIx64,
				i, map[i]);
	g_free(map);
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
	    "/dropcache/dropset-returns-the-whole-blocks-views-read",
	    test_dropset_returns_the_whole_blocks_views_read);
	g_test_add_func(
	    "/dropcache/dropped-block-is-dropped-again-only-once-read-again",
	    test_dropped_block_is_dropped_again_only_once_read_again);
	g_test_add_func("/dropcache/blocks-wait-for-the-reads-in-flight",
			test_blocks_wait_for_the_reads_in_flight);
	g_test_add_func(
	    "/dropcache/block-that-stayed-cached-is-tried-again-a-few-times",
	    test_block_that_stayed_cached_is_tried_again_a_few_times);
	g_test_add_func("/dropcache/dropset-full-starts-again-empty",
			test_dropset_full_starts_again_empty);
	g_test_add_func(
	    "/dropcache/"
	    "file-read-in-request-sized-pieces-leaves-no-cached-page",
	    test_file_read_in_request_sized_pieces_leaves_no_cached_page);
	g_test_add_func(
	    "/dropcache/set-drops-through-its-own-descriptor-once-fd-closed",
	    test_set_drops_through_its_own_descriptor_once_fd_closed);
	g_test_add_func("/dropcache/dirty-page-stays-with-its-bytes",
			test_dirty_page_stays_with_its_bytes);
	g_test_add_func("/dropcache/set-marks-its-descriptor-while-it-lives",
			test_set_marks_its_descriptor_while_it_lives);
	return g_test_run();
}
