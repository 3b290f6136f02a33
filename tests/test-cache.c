/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-cache.c - one copy of each page in memory (-o backing_cache): a
 * file read through a view, identity or scrambled, as the mounting user
 * or as a second user, is left in the view's page cache and not in the
 * backing file's; with backing_cache=keep it is in both; pages written
 * and not yet on disk, and pages another program maps, stay and read
 * back intact.  Real mounts; skipped where SOURCE's file system cannot
 * drop pages (tmpfs). */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NPAGES 4096 /* 16 MiB of 4 KiB pages */

/* How many pages of path are in the page cache. */
static size_t resident(const char *path)
{
	int fd = open(path, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	off_t size = lseek(fd, 0, SEEK_END);
	size_t n = 0;
	if (size > 0) {
		void *m =
		    mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
		g_assert_true(m != MAP_FAILED);
		size_t np = ((size_t)size + 4095) / 4096;
		unsigned char *vec = g_malloc(np);
		g_assert_cmpint(mincore(m, (size_t)size, vec), ==, 0);
		for (size_t i = 0; i < np; i++)
			n += vec[i] & 1;
		g_free(vec);
		munmap(m, (size_t)size);
	}
	close(fd);
	return n;
}

/* Reads path to its end in 1 MiB read()s, checking page p holds tag
 * tag_of(p); returns the pages that did not. */
static size_t read_all_checked(const char *path, int64_t (*tag_of)(size_t))
{
	int fd = open(path, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	char *buf = g_malloc(1u << 20);
	size_t bad = 0, p = 0;
	ssize_t n;
	while ((n = read(fd, buf, 1u << 20)) > 0)
		for (ssize_t off = 0; off < n; off += 4096, p++)
			if (rfs_page_tag(buf + off, 4096) != tag_of(p)) {
				if (bad++ < 3)
					g_test_message(
					    "%s page %zu: expected tag %" PRId64
					    ", saw %" PRId64,
					    path, p, tag_of(p),
					    rfs_page_tag(buf + off, 4096));
			}
	g_assert_cmpint(n, ==, 0);
	g_free(buf);
	close(fd);
	return bad;
}

static int64_t identity_tag(size_t p)
{
	return (int64_t)p;
}
static int64_t reversed_tag(size_t p)
{
	return (int64_t)(NPAGES - 1 - p);
}

/* A mount with SOURCE/f of NPAGES tagged pages in the page cache, or NULL
 * (the test skipped) when SOURCE's file system keeps dropped pages. */
static struct rfs_test_mount *mount_with_cached_file(const char *const *extra)
{
	struct rfs_test_mount *m = rfs_test_mount_new(extra);
	char *f = rfs_src(m, "f");
	rfs_write_tagged(f, NPAGES, 4096, 0);
	g_assert_cmpint(rfs_sh("dd if=%s of=/dev/null bs=1M status=none", f),
			==, 0);
	/* Can this file system drop pages at all? */
	int fd = open(f, O_RDONLY);
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	if (resident(f) > NPAGES / 2) {
		g_test_skip("SOURCE's file system keeps dropped pages");
		g_free(f);
		rfs_test_free(m);
		return NULL;
	}
	g_assert_cmpint(rfs_sh("dd if=%s of=/dev/null bs=1M status=none", f),
			==, 0);
	g_assert_cmpuint(resident(f), ==, NPAGES);
	g_free(f);
	return m;
}

/* Checks that after reading view rel (as reader, a shell prefix, or "")
 * the view holds every page and the backing file at most a twentieth. */
static void check_one_copy(struct rfs_test_mount *m, const char *rel,
			   const char *reader)
{
	char *f = rfs_src(m, "f"), *v = rfs_mnt(m, rel);
	g_assert_cmpint(
	    rfs_sh("%s dd if=%s of=/dev/null bs=1M status=none", reader, v), ==,
	    0);
	/* The daemon drops what a reply covered once it is sent: the last
	 * replies' drops may come just after dd ends. */
	size_t back = resident(f), view = resident(v);
	for (int i = 0; i < 200 && back > NPAGES / 20; i++) {
		g_usleep(10000);
		back = resident(f);
	}
	g_test_message("after reading %s: backing %zu pages cached, view %zu "
		       "(expected at most %d and %d)",
		       rel, back, view, NPAGES / 20, NPAGES);
	g_assert_cmpuint(view, ==, NPAGES);
	g_assert_cmpuint(back, <=, NPAGES / 20);
	g_free(f);
	g_free(v);
}

static void test_read_through_identity_view_leaves_one_copy(void)
{
	struct rfs_test_mount *m = mount_with_cached_file(NULL);
	if (!m)
		return;
	check_one_copy(m, "f", "");
	char *v = rfs_mnt(m, "f");
	g_assert_cmpuint(read_all_checked(v, identity_tag), ==, 0);
	g_free(v);
	rfs_test_free(m);
}

static void test_read_through_scrambled_view_leaves_one_copy(void)
{
	struct rfs_test_mount *m = mount_with_cached_file(NULL);
	if (!m)
		return;
	GString *cmd = g_string_new("begin\ncreate rev f\n");
	for (int p = 0; p < NPAGES; p++)
		g_string_append_printf(cmd, "remap rev %d %d\n", p,
				       NPAGES - 1 - p);
	g_string_append(cmd, "commit\n");
	g_assert_cmpint(rfs_ctl(m, cmd->str), ==, 0);
	g_string_free(cmd, TRUE);
	check_one_copy(m, "rev", "");
	char *v = rfs_mnt(m, "rev");
	g_assert_cmpuint(read_all_checked(v, reversed_tag), ==, 0);
	g_free(v);
	rfs_test_free(m);
}

static void test_read_as_second_user_with_allow_other_leaves_one_copy(void)
{
	const char *const extra[] = {"-o", "allow_other", NULL};
	struct rfs_test_mount *m = mount_with_cached_file(extra);
	if (!m)
		return;
	g_assert_cmpint(
	    rfs_sh("chmod 755 %s && chmod 644 %s/f", m->base, m->src), ==, 0);
	g_assert_cmpint(rfs_sh("chmod 755 %s %s", m->mnt, m->src), ==, 0);
	check_one_copy(m, "f",
		       "setpriv --reuid=65534 --regid=65534 --clear-groups");
	rfs_test_free(m);
}

static void test_backing_cache_keep_leaves_both_copies(void)
{
	const char *const extra[] = {"-o", "backing_cache=keep", NULL};
	struct rfs_test_mount *m = mount_with_cached_file(extra);
	if (!m)
		return;
	char *f = rfs_src(m, "f"), *v = rfs_mnt(m, "f");
	g_assert_cmpint(rfs_sh("dd if=%s of=/dev/null bs=1M status=none", v),
			==, 0);
	size_t back = resident(f), view = resident(v);
	g_test_message("backing %zu, view %zu pages cached (expected %d each)",
		       back, view, NPAGES);
	g_assert_cmpuint(back, ==, NPAGES);
	g_assert_cmpuint(view, ==, NPAGES);
	g_free(f);
	g_free(v);
	rfs_test_free(m);
}

/* Bytes written through one view, not yet on disk, read through another
 * view of the same pages: dropping must not lose them; and pages another
 * program maps stay mapped and read right. */
static void test_dirty_and_mapped_backing_pages_stay_intact(void)
{
	struct rfs_test_mount *m = mount_with_cached_file(NULL);
	if (!m)
		return;
	g_assert_cmpint(rfs_ctl(m, "create alias f\n"), ==, 0);
	char *f = rfs_src(m, "f"), *v = rfs_mnt(m, "f"),
	     *a = rfs_mnt(m, "alias");
	/* Another program maps SOURCE's pages 0-255 and touches them. */
	int sfd = open(f, O_RDONLY);
	g_assert_cmpint(sfd, >=, 0);
	const char *map = mmap(NULL, 256 * 4096, PROT_READ, MAP_SHARED, sfd, 0);
	g_assert_true(map != MAP_FAILED);
	volatile int64_t sum = 0;
	for (int p = 0; p < 256; p++)
		sum += rfs_page_tag(map + p * 4096, 4096);
	/* Pages 1000-1999 rewritten through the view, tag + 100000. */
	int fd = open(v, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	char *page = g_malloc(4096);
	for (int p = 1000; p < 2000; p++) {
		for (int w = 0; w < 4096 / 8; w++)
			((uint64_t *)page)[w] = (uint64_t)p + 100000;
		g_assert_cmpint(pwrite(fd, page, 4096, (off_t)p * 4096), ==,
				4096);
	}
	close(fd);
	g_free(page);
	/* Read the whole file through the alias (nothing was cached there). */
	int afd = open(a, O_RDONLY);
	g_assert_cmpint(afd, >=, 0);
	char *buf = g_malloc(1u << 20);
	size_t bad = 0;
	for (off_t off = 0; off < (off_t)NPAGES * 4096; off += 1 << 20) {
		g_assert_cmpint(pread(afd, buf, 1u << 20, off), ==, 1 << 20);
		for (int i = 0; i < 256; i++) {
			int64_t p = off / 4096 + i;
			int64_t want = p >= 1000 && p < 2000 ? p + 100000 : p;
			int64_t got = rfs_page_tag(buf + i * 4096, 4096);
			if (got != want && bad++ < 3)
				g_test_message("alias page %" PRId64
					       ": expected %" PRId64
					       ", saw %" PRId64,
					       p, want, got);
		}
	}
	close(afd);
	g_free(buf);
	g_assert_cmpuint(bad, ==, 0);
	/* The mapped pages stayed, and so did the written ones, on disk or
	 * cached: SOURCE reads them back right after dropping its cache. */
	for (int p = 0; p < 256; p++)
		g_assert_cmpint(rfs_page_tag(map + p * 4096, 4096), ==, p);
	g_assert_cmpint(rfs_sh("sync %s", f), ==, 0);
	posix_fadvise(sfd, 0, 0, POSIX_FADV_DONTNEED);
	char pg[4096];
	g_assert_cmpint(pread(sfd, pg, 4096, 1500 * 4096), ==, 4096);
	g_assert_cmpint(rfs_page_tag(pg, 4096), ==, 1500 + 100000);
	munmap((void *)map, 256 * 4096);
	close(sfd);
	g_free(f);
	g_free(v);
	g_free(a);
	rfs_test_free(m);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	rfs_test_watchdog(300, "test-cache");
	g_test_add_func("/cache/read-through-identity-view-leaves-one-copy",
			test_read_through_identity_view_leaves_one_copy);
	g_test_add_func("/cache/read-through-scrambled-view-leaves-one-copy",
			test_read_through_scrambled_view_leaves_one_copy);
	g_test_add_func(
	    "/cache/read-as-second-user-with-allow-other-leaves-one-copy",
	    test_read_as_second_user_with_allow_other_leaves_one_copy);
	g_test_add_func("/cache/backing-cache-keep-leaves-both-copies",
			test_backing_cache_keep_leaves_both_copies);
	g_test_add_func("/cache/dirty-and-mapped-backing-pages-stay-intact",
			test_dirty_and_mapped_backing_pages_stay_intact);
	return g_test_run();
}
