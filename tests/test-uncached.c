/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-uncached.c - a remap invalidates only the view pages the kernel
 * may cache (pageset.h): pages no read or write reached cost no
 * notification, and every page a read or a write reached shows the new
 * backing page after the remap.  A real mount; a mapping advised
 * MADV_RANDOM, so that the kernel reads only the pages touched. */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NPAGES 1024

static size_t PS;

/* The invalidations the mount sent for view name (.stats), -1 if not
 * listed. */
static long invalidations_of(struct rfs_test_mount *m, const char *name)
{
	char *path = rfs_mnt(m, ".stats"), *text = NULL;
	long n = -1;
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	char **lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char **f = g_strsplit_set(*l, " ", -1);
		if (g_strv_length(f) == 10 && strcmp(f[0], "view") == 0 &&
		    strcmp(f[9], name) == 0)
			n = strtol(f[8], NULL, 10);
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(text);
	g_free(path);
	return n;
}

/* The tag page p of the mapping shows (touching it). */
static int64_t tag_at(const char *map, size_t p)
{
	return rfs_page_tag(map + p * PS, PS);
}

static void test_remap_invalidates_only_pages_reads_or_writes_reached(void)
{
	struct rfs_test_mount *m = rfs_test_mount_new(NULL);
	char *b = rfs_src(m, "b"), *v = rfs_mnt(m, "v");
	rfs_write_tagged(b, NPAGES, PS, 0);
	g_assert_cmpint(rfs_ctlf(m, "create v b %d\n", NPAGES), ==, 0);
	int fd = open(v, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	char *map = mmap(NULL, NPAGES * PS, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	g_assert_cmpint(madvise(map, NPAGES * PS, MADV_RANDOM), ==, 0);
	for (size_t p = 0; p < 4; p++)
		g_assert_cmpint(tag_at(map, p), ==, (int64_t)p);
	long n0 = invalidations_of(m, "v");
	g_assert_cmpint(n0, >=, 0);

	/* Pages never read: remapped without a notification, and read
	 * afterwards from their new backing pages. */
	g_assert_cmpint(rfs_ctl(m, "remap v 512 600 10\n"), ==, 0);
	long n1 = invalidations_of(m, "v");
	if (n1 != n0)
		g_printerr("remapping unread pages: expected %ld "
			   "invalidations, saw %ld\n",
			   n0, n1);
	g_assert_cmpint(n1, ==, n0);
	g_assert_cmpint(tag_at(map, 512), ==, 600);

	/* Pages read before: invalidated, and read again. */
	g_assert_cmpint(rfs_ctl(m, "remap v 0 700 4\n"), ==, 0);
	long n2 = invalidations_of(m, "v");
	g_assert_cmpint(n2, >, n1);
	for (size_t p = 0; p < 4; p++)
		g_assert_cmpint(tag_at(map, p), ==, (int64_t)(700 + p));

	/* A page read after the last remap: invalidated again. */
	g_assert_cmpint(rfs_ctl(m, "remap v 512 800 1\n"), ==, 0);
	long n3 = invalidations_of(m, "v");
	g_assert_cmpint(n3, >, n2);
	g_assert_cmpint(tag_at(map, 512), ==, 800);

	/* A page only written (whole, so the kernel keeps the bytes it
	 * sent without reading the page): invalidated too. */
	uint64_t *page = g_malloc(PS);
	for (size_t i = 0; i < PS / 8; i++)
		page[i] = 12345;
	g_assert_cmpint(pwrite(fd, page, PS, (off_t)(900 * PS)), ==,
			(ssize_t)PS);
	g_assert_cmpint(rfs_ctl(m, "remap v 900 901 1\n"), ==, 0);
	long n4 = invalidations_of(m, "v");
	g_assert_cmpint(n4, >, n3);
	int64_t seen = tag_at(map, 900);
	if (seen != 901)
		g_printerr("page 900 after the remap: expected tag 901, "
			   "saw %" PRId64 "\n",
			   seen);
	g_assert_cmpint(seen, ==, 901);
	/* and the written bytes are where page 900 showed them */
	uint64_t word = 0;
	int bfd = open(b, O_RDONLY);
	g_assert_cmpint(pread(bfd, &word, 8, (off_t)(900 * PS)), ==, 8);
	g_assert_cmpuint(word, ==, 12345);
	close(bfd);

	g_free(page);
	munmap(map, NPAGES * PS);
	close(fd);
	g_free(b);
	g_free(v);
	rfs_test_free(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	PS = (size_t)sysconf(_SC_PAGESIZE);
	rfs_test_watchdog(120, "test-uncached");
	g_test_add_func(
	    "/uncached/remap-invalidates-only-pages-reads-or-writes-reached",
	    test_remap_invalidates_only_pages_reads_or_writes_reached);
	return g_test_run();
}
