/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-lib-addr.c - remapfs_remap_file_pages(): finding the view behind an
 * address (mappings of views and of other files, anonymous and private
 * mappings, unaligned addresses, ranges over two mappings, larger mount
 * pages), each with both ways of reading the address space: the
 * PROCMAP_QUERY ioctl and the text of /proc/self/maps. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lib/api.h"
#include "lib/core.h"
#include "lib/remapfs.h"
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t PS;

/* What a test runs with. */
struct params {
	const char *const *opts; /* mount options */
	bool text;		 /* parse /proc/self/maps, no ioctl */
};

typedef struct {
	struct rfs_test_mount *m;
	int fd;	      /* f, open read-write */
	uint8_t *map; /* f, 16 pages, MAP_SHARED */
	size_t mps;   /* the mount's page size */
} Fixture;

/* SOURCE holds f (64 system pages tagged 1000+p) and g (8 pages tagged
 * 2000+p); mounts, maps 16 pages of f. */
static void fx_setup(Fixture *f, gconstpointer data)
{
	const struct params *p = data;
	rfsl_maps_force_text(p->text);
	f->m = rfs_test_prepare();
	char *s = rfs_src(f->m, "f");
	rfs_write_tagged(s, 64, PS, 1000);
	g_free(s);
	s = rfs_src(f->m, "g");
	rfs_write_tagged(s, 8, PS, 2000);
	g_free(s);
	if (!rfs_test_start(f->m, p->opts))
		g_error("mount failed");
	char *mf = rfs_mnt(f->m, "f");
	f->fd = open(mf, O_RDWR);
	g_assert_cmpint(f->fd, >=, 0);
	g_free(mf);
	f->map =
	    mmap(NULL, 16 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	g_assert_true(f->map != MAP_FAILED);
	g_assert_cmpint(remapfs_pagesize(f->fd, &f->mps), ==, 0);
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	munmap(f->map, 16 * PS);
	close(f->fd);
	rfs_test_free(f->m);
	rfsl_maps_force_text(false);
}

/* The tag of system page p of a mapping. */
static int64_t tag(const uint8_t *map, size_t p)
{
	return rfs_page_tag(map + p * PS, PS);
}

/* Expects rfsl_remap_file_pages to fail with err, saying whether the
 * address was a view's. */
static void expect_fail(void *addr, size_t size, int prot, size_t pgoff,
			int err, bool is_view, const char *what)
{
	bool v = !is_view;
	int got = rfsl_remap_file_pages(addr, size, prot, pgoff, 0, &v);
	if (got != err || v != is_view)
		g_test_fail_printf("%s: expected %s (%s a view), saw %s (%s a"
				   " view): %s",
				   what, g_strerror(err),
				   is_view ? "is" : "not", g_strerror(got),
				   v ? "is" : "not", rfsl_last_error());
}

static void test_view_mapping_is_remapped(Fixture *f, gconstpointer d)
{
	g_assert_cmpint(
	    remapfs_remap_file_pages(f->map, 2 * PS, 0, 10, MAP_NONBLOCK), ==,
	    0);
	g_assert_cmpint(tag(f->map, 0), ==, 1010);
	g_assert_cmpint(tag(f->map, 1), ==, 1011);
	g_assert_cmpint(tag(f->map, 2), ==, 1002);
	/* The same file page at several places. */
	g_assert_cmpint(remapfs_remap_file_pages(f->map + 5 * PS, PS, 0, 10, 0),
			==, 0);
	g_assert_cmpint(tag(f->map, 5), ==, 1010);
	g_assert_cmpint(tag(f->map, 0), ==, 1010);
	/* Back to where it was. */
	g_assert_cmpint(remapfs_remap_file_pages(f->map, 16 * PS, 0, 0, 0), ==,
			0);
	for (size_t p = 0; p < 16; p++)
		g_assert_cmpint(tag(f->map, p), ==, (int64_t)(1000 + p));
	/* Pages of the file beyond the mapping's. */
	g_assert_cmpint(remapfs_remap_file_pages(f->map, PS, 0, 63, 0), ==, 0);
	g_assert_cmpint(tag(f->map, 0), ==, 1063);
}

static void test_mapping_at_file_offset(Fixture *f, gconstpointer d)
{
	uint8_t *m = mmap(NULL, 4 * PS, PROT_READ, MAP_SHARED, f->fd, 8 * PS);
	g_assert_true(m != MAP_FAILED);
	g_assert_cmpint(tag(m, 0), ==, 1008);
	g_assert_cmpint(remapfs_remap_file_pages(m + PS, PS, 0, 2, 0), ==, 0);
	g_assert_cmpint(tag(m, 1), ==, 1002);
	/* It is view page 9 that changed, seen by the other mapping too. */
	g_assert_cmpint(tag(f->map, 9), ==, 1002);
	munmap(m, 4 * PS);
}

static void test_unaligned_address_and_size_round_down(Fixture *f,
						       gconstpointer d)
{
	/* addr rounds down to page 3, size 2 pages + 100 to 2 pages. */
	g_assert_cmpint(remapfs_remap_file_pages(f->map + 3 * PS + 123,
						 2 * PS + 100, 0, 20, 0),
			==, 0);
	g_assert_cmpint(tag(f->map, 2), ==, 1002);
	g_assert_cmpint(tag(f->map, 3), ==, 1020);
	g_assert_cmpint(tag(f->map, 4), ==, 1021);
	g_assert_cmpint(tag(f->map, 5), ==, 1005);
	/* Under one page rounds down to nothing: EINVAL. */
	expect_fail(f->map, PS - 1, 0, 0, EINVAL, false, "size under a page");
	expect_fail(f->map, 0, 0, 0, EINVAL, false, "size 0");
	expect_fail(f->map, PS, PROT_READ, 0, EINVAL, false, "prot not 0");
	expect_fail(f->map, 2 * PS, 0, SIZE_MAX, EINVAL, false,
		    "pgoff range wraps");
}

static void test_other_file_mapping_is_not_a_view(Fixture *f, gconstpointer d)
{
	char *path = g_build_filename(f->m->base, "plain", NULL);
	rfs_write_tagged(path, 4, PS, 0);
	int fd = open(path, O_RDWR);
	uint8_t *m = mmap(NULL, 4 * PS, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(m != MAP_FAILED);
	expect_fail(m, PS, 0, 1, EINVAL, false, "shared mapping of plain");
	errno = 0;
	g_assert_cmpint(remapfs_remap_file_pages(m, PS, 0, 1, 0), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	g_assert_nonnull(strstr(remapfs_strerror_last(), "remapfs view"));
	munmap(m, 4 * PS);
	close(fd);
	g_free(path);
}

static void test_anonymous_mappings_are_not_views(Fixture *f, gconstpointer d)
{
	uint8_t *a = mmap(NULL, 4 * PS, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *s = mmap(NULL, 4 * PS, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g_assert_true(a != MAP_FAILED && s != MAP_FAILED);
	expect_fail(a, PS, 0, 0, EINVAL, false, "private anonymous");
	expect_fail(s, PS, 0, 1, EINVAL, false, "shared anonymous");
	int x;
	expect_fail(&x, sizeof(x), 0, 0, EINVAL, false, "the stack");
	munmap(a, 4 * PS);
	/* An address where nothing is mapped. */
	munmap(s, 4 * PS);
	expect_fail(s, PS, 0, 0, EINVAL, false, "unmapped");
}

static void test_private_mapping_of_view_is_refused(Fixture *f, gconstpointer d)
{
	uint8_t *m = mmap(NULL, 4 * PS, PROT_READ, MAP_PRIVATE, f->fd, 0);
	g_assert_true(m != MAP_FAILED);
	/* Not a MAP_SHARED mapping: the system call refuses it too. */
	expect_fail(m, PS, 0, 1, EINVAL, false, "private mapping of a view");
	munmap(m, 4 * PS);
}

/* Reserves 2*n pages, maps fd (n pages from page off, prot) at the start
 * and fd2 (n pages from page off2, prot2) right after. */
static uint8_t *map_pair(int fd, size_t off, int prot, int fd2, size_t off2,
			 int prot2, size_t n)
{
	uint8_t *r = mmap(NULL, 2 * n * PS, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g_assert_true(r != MAP_FAILED);
	g_assert_true(mmap(r, n * PS, prot, MAP_SHARED | MAP_FIXED, fd,
			   (off_t)(off * PS)) == r);
	g_assert_true(mmap(r + n * PS, n * PS, prot2, MAP_SHARED | MAP_FIXED,
			   fd2, (off_t)(off2 * PS)) == r + n * PS);
	return r;
}

static void test_range_over_two_mappings(Fixture *f, gconstpointer d)
{
	char *mg = rfs_mnt(f->m, "g");
	int g = open(mg, O_RDONLY);
	g_assert_cmpint(g, >=, 0);
	/* f's view pages 0-3, then g's: crossing into another file. */
	uint8_t *r = map_pair(f->fd, 0, PROT_READ, g, 0, PROT_READ, 4);
	expect_fail(r + 3 * PS, 2 * PS, 0, 30, EINVAL, true,
		    "range from f into g");
	g_assert_cmpint(tag(r, 3), ==, 1003);
	g_assert_cmpint(remapfs_remap_file_pages(r + 4 * PS, PS, 0, 7, 0), ==,
			0);
	g_assert_cmpint(tag(r, 4), ==, 2007);
	munmap(r, 8 * PS);

	/* f's pages 0-3 then f's pages 8-11 (not merged: offsets do not
	 * follow): the kernel allows a range over both. */
	r = map_pair(f->fd, 0, PROT_READ, f->fd, 8, PROT_READ, 4);
	g_assert_cmpint(remapfs_remap_file_pages(r + 2 * PS, 4 * PS, 0, 40, 0),
			==, 0);
	g_assert_cmpint(tag(r, 2), ==, 1040);
	g_assert_cmpint(tag(r, 3), ==, 1041);
	g_assert_cmpint(tag(r, 4), ==, 1042); /* view page 8 */
	g_assert_cmpint(tag(r, 5), ==, 1043); /* view page 9 */
	g_assert_cmpint(tag(f->map, 8), ==, 1042);
	munmap(r, 8 * PS);

	/* The same with other permissions: refused, as by the kernel. */
	r = map_pair(f->fd, 0, PROT_READ, f->fd, 8, PROT_READ | PROT_WRITE, 4);
	expect_fail(r + 2 * PS, 4 * PS, 0, 50, EINVAL, true,
		    "range over mappings with other permissions");
	munmap(r, 8 * PS);

	/* Past the end of the mapping, into nothing. */
	expect_fail(f->map + 15 * PS, 2 * PS, 0, 0, EINVAL, true,
		    "range past the mapping's end");
	close(g);
	g_free(mg);
}

static void test_pages_past_end_of_view_refused(Fixture *f, gconstpointer d)
{
	/* A mapping longer than the view (g has 8 pages). */
	char *mg = rfs_mnt(f->m, "g");
	int g = open(mg, O_RDWR);
	uint8_t *m = mmap(NULL, 16 * PS, PROT_READ, MAP_SHARED, g, 0);
	g_assert_true(m != MAP_FAILED);
	expect_fail(m + 12 * PS, PS, 0, 0, EINVAL, true,
		    "view page past the view's end");
	g_assert_nonnull(strstr(rfsl_last_error(), "past the end"));
	munmap(m, 16 * PS);
	close(g);
	g_free(mg);
}

static void test_renamed_and_removed_views(Fixture *f, gconstpointer d)
{
	char *from = rfs_mnt(f->m, "g"), *to = rfs_mnt(f->m, "g2");
	int g = open(from, O_RDWR);
	uint8_t *m = mmap(NULL, 8 * PS, PROT_READ, MAP_SHARED, g, 0);
	g_assert_true(m != MAP_FAILED);
	g_assert_cmpint(rename(from, to), ==, 0);
	g_assert_cmpint(remapfs_remap_file_pages(m, PS, 0, 3, 0), ==, 0);
	g_assert_cmpint(tag(m, 0), ==, 2003);
	munmap(m, 8 * PS);
	close(g);

	/* A virtual view removed while mapped has no name to remap by. */
	int root = open(f->m->mnt, O_PATH | O_DIRECTORY);
	g_assert_cmpint(remapfs_create(f->fd, root, "v", 4), ==, 0);
	char *mv = rfs_mnt(f->m, "v");
	int v = open(mv, O_RDWR);
	m = mmap(NULL, 4 * PS, PROT_READ, MAP_SHARED, v, 0);
	g_assert_true(m != MAP_FAILED);
	g_assert_cmpint(remapfs_remap_file_pages(m, PS, 0, 9, 0), ==, 0);
	g_assert_cmpint(tag(m, 0), ==, 1009);
	g_assert_cmpint(remapfs_remove(v), ==, 0);
	expect_fail(m, PS, 0, 1, ENOENT, true, "removed virtual view");
	munmap(m, 4 * PS);
	close(v);
	close(root);
	g_free(mv);
	g_free(from);
	g_free(to);
}

static void test_batch_of_address_remaps(Fixture *f, gconstpointer d)
{
	remapfs_batch *b = remapfs_batch_new();
	for (size_t p = 0; p < 16; p++)
		g_assert_cmpint(remapfs_batch_remap_file_pages(
				    b, f->map + p * PS, PS, 15 - p),
				==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_batch_remap_file_pages(b, &b, PS, 0), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	g_assert_cmpint(tag(f->map, 0), ==, 1000);
	g_assert_cmpint(remapfs_batch_commit(b, 0), ==, 0);
	for (size_t p = 0; p < 16; p++)
		g_assert_cmpint(tag(f->map, p), ==, (int64_t)(1015 - p));
	remapfs_batch_free(b);
}

static void test_larger_mount_pages_need_alignment(Fixture *f, gconstpointer d)
{
	size_t k = f->mps / PS; /* system pages per mount page */
	g_assert_cmpuint(k, >, 1);
	/* Mount page 1 shows mount page 3: aligned in every way. */
	g_assert_cmpint(
	    remapfs_remap_file_pages(f->map + k * PS, k * PS, 0, 3 * k, 0), ==,
	    0);
	for (size_t i = 0; i < k; i++)
		g_assert_cmpint(tag(f->map, k + i), ==,
				(int64_t)(1000 + 3 * k + i));
	expect_fail(f->map + PS, k * PS, 0, 0, EINVAL, true,
		    "address inside a mount page");
	expect_fail(f->map, PS, 0, 0, EINVAL, true, "part of a mount page");
	expect_fail(f->map, k * PS, 0, 1, EINVAL, true,
		    "pgoff inside a mount page");
	g_assert_nonnull(strstr(rfsl_last_error(), "whole pages"));
}

static const char *const opts_default[] = {NULL};
static const char *const opts_16k[] = {"-o", "pagesize=16k", NULL};
static const struct params ioctl_default = {opts_default, false};
static const struct params text_default = {opts_default, true};
static const struct params ioctl_16k = {opts_16k, false};
static const struct params text_16k = {opts_16k, true};

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	PS = (size_t)sysconf(_SC_PAGESIZE);
	rfs_test_watchdog(600, "test-lib-addr");
	static const struct {
		const char *name;
		void (*fn)(Fixture *, gconstpointer);
	} tests[] = {
	    {"view-mapping-is-remapped", test_view_mapping_is_remapped},
	    {"mapping-at-file-offset", test_mapping_at_file_offset},
	    {"unaligned-address-and-size-round-down",
	     test_unaligned_address_and_size_round_down},
	    {"other-file-mapping-is-not-a-view",
	     test_other_file_mapping_is_not_a_view},
	    {"anonymous-mappings-are-not-views",
	     test_anonymous_mappings_are_not_views},
	    {"private-mapping-of-view-is-refused",
	     test_private_mapping_of_view_is_refused},
	    {"range-over-two-mappings", test_range_over_two_mappings},
	    {"pages-past-end-of-view-refused",
	     test_pages_past_end_of_view_refused},
	    {"renamed-and-removed-views", test_renamed_and_removed_views},
	    {"batch-of-address-remaps", test_batch_of_address_remaps},
	};
	for (int text = 0; text < 2; text++) {
		const char *how = text ? "maps-text" : "procmap-ioctl";
		for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
			char *path =
			    g_strdup_printf("/addr/%s/%s", how, tests[i].name);
			g_test_add(path, Fixture,
				   text ? &text_default : &ioctl_default,
				   fx_setup, tests[i].fn, fx_teardown);
			g_free(path);
		}
		char *path = g_strdup_printf(
		    "/addr/%s/larger-mount-pages-need-alignment", how);
		g_test_add(path, Fixture, text ? &text_16k : &ioctl_16k,
			   fx_setup, test_larger_mount_pages_need_alignment,
			   fx_teardown);
		g_free(path);
	}
	return g_test_run();
}
