/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-writes.c - writes through scrambled views, whose pages the daemon
 * writes to the backing file in the file's order: every byte is where the
 * map says, a backing page written twice by one write() keeps the bytes
 * written last, and on a full file system what write() acknowledges is
 * exactly what landed (from unaligned buffers, as root and as a second
 * user through allow_other).  Real mounts. */
#include "mount-helper.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define PS 4096

/* Fills page p of buf with the word tag + p. */
static void fill_pages(char *buf, int npages, uint64_t tag)
{
	for (int p = 0; p < npages; p++)
		for (int w = 0; w < PS / 8; w++)
			memcpy(buf + p * PS + w * 8, &(uint64_t){tag + p}, 8);
}

/* Remaps every page v of view (npages) to backing page npages - 1 - v. */
static void reverse_view(struct rfs_test_mount *m, const char *view, int npages)
{
	GString *cmd = g_string_new("begin\n");
	for (int v = 0; v < npages; v++)
		g_string_append_printf(cmd, "remap %s %d %d\n", view, v,
				       npages - 1 - v);
	g_string_append(cmd, "commit\n");
	g_assert_cmpint(rfs_ctl(m, cmd->str), ==, 0);
	g_string_free(cmd, TRUE);
}

static void test_scrambled_write_puts_every_page_where_the_map_says(void)
{
	struct rfs_test_mount *m = rfs_test_mount_new(NULL);
	char *f = rfs_src(m, "f"), *v = rfs_mnt(m, "f");
	rfs_write_tagged(f, 512, PS, 0);
	reverse_view(m, "f", 512);
	/* One write of 2 MiB from a buffer that starts off a page. */
	char *mem = g_malloc(512 * PS + 1);
	char *buf = mem + 1;
	fill_pages(buf, 512, 1000);
	int fd = open(v, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(pwrite(fd, buf, 512 * PS, 0), ==, 512 * PS);
	close(fd);
	/* SOURCE: backing page b holds what view page 511 - b was given. */
	fd = open(f, O_RDONLY);
	char page[PS];
	int bad = 0;
	for (int b = 0; b < 512; b++) {
		g_assert_cmpint(pread(fd, page, PS, (off_t)b * PS), ==, PS);
		int64_t want = 1000 + (511 - b), got = rfs_page_tag(page, PS);
		if (got != want && bad++ < 3)
			g_test_message("backing page %d: expected %" PRId64
				       ", saw %" PRId64,
				       b, want, got);
	}
	close(fd);
	g_assert_cmpint(bad, ==, 0);
	g_free(mem);
	g_free(f);
	g_free(v);
	rfs_test_free(m);
}

static void test_backing_page_written_twice_keeps_the_last_bytes(void)
{
	struct rfs_test_mount *m = rfs_test_mount_new(NULL);
	char *f = rfs_src(m, "f"), *v = rfs_mnt(m, "f");
	rfs_write_tagged(f, 8, PS, 0);
	/* View pages 1, 3, 5 and 6 all show backing page 5; 0 and 7 show
	 * backing page 7. */
	g_assert_cmpint(rfs_ctl(m, "begin\nremap f 1 5\nremap f 3 5\n"
				   "remap f 6 5\nremap f 0 7\ncommit\n"),
			==, 0);
	char *buf = g_malloc(8 * PS);
	fill_pages(buf, 8, 2000);
	int fd = open(v, O_WRONLY);
	g_assert_cmpint(pwrite(fd, buf, 8 * PS, 0), ==, 8 * PS);
	close(fd);
	char page[PS];
	fd = open(f, O_RDONLY);
	g_assert_cmpint(pread(fd, page, PS, 5 * PS), ==, PS);
	int64_t got = rfs_page_tag(page, PS);
	if (got != 2006)
		g_test_message("backing page 5: expected 2006 (view page 6, "
			       "written last), saw %" PRId64,
			       got);
	g_assert_cmpint(got, ==, 2006);
	g_assert_cmpint(pread(fd, page, PS, 7 * PS), ==, PS);
	g_assert_cmpint(rfs_page_tag(page, PS), ==, 2007);
	close(fd);
	g_free(buf);
	g_free(f);
	g_free(v);
	rfs_test_free(m);
}

/* Writes 1 MiB through view "f" (256 pages over a sparse file
 * on a tmpfs of 512 KiB) as the user the prefix names, and checks that
 * the bytes acknowledged read back and that write() failed or stopped
 * short with ENOSPC. */
static long long full_write_check(struct rfs_test_mount *m, const char *as)
{
	char *v = rfs_mnt(m, "f"), *f = rfs_src(m, "f");
	char *out = g_build_filename(m->base, "written", NULL);
	/* A helper writes (as the user) and prints what write() returned. */
	char *mem = g_malloc(256 * PS + 3);
	fill_pages(mem + 3, 256, 5000);
	char *data = g_build_filename(m->base, "data", NULL);
	g_assert_true(g_file_set_contents(data, mem + 3, 256 * PS, NULL));
	g_assert_cmpint(rfs_sh("chmod 644 %s", data), ==, 0);
	int rc = rfs_sh_quiet("%s dd if=%s of=%s bs=1M count=1 conv=notrunc "
			      "2>%s",
			      as, data, v, out);
	char *text = NULL;
	g_assert_true(g_file_get_contents(out, &text, NULL, NULL));
	g_test_message("dd as '%s' exited %d: %s", as, rc, text);
	g_assert_nonnull(strstr(text, "No space left on device"));
	/* Whatever dd copied in full is in the view, page by page. */
	long long copied = 0;
	const char *p = strstr(text, "bytes");
	if (p) {
		while (p > text && p[-1] == ' ')
			p--;
		while (p > text && g_ascii_isdigit(p[-1]))
			p--;
		copied = g_ascii_strtoll(p, NULL, 10);
	}
	g_assert_cmpint(copied % PS, ==, 0);
	int fd = open(v, O_RDONLY);
	char page[PS];
	for (long long off = 0; off < copied; off += PS) {
		g_assert_cmpint(pread(fd, page, PS, off), ==, PS);
		g_assert_cmpint(rfs_page_tag(page, PS), ==, 5000 + off / PS);
	}
	close(fd);
	g_free(text);
	g_free(out);
	g_free(data);
	g_free(mem);
	g_free(v);
	g_free(f);
	return copied;
}

/* How the view of the full file system test is mapped. */
struct full_case {
	bool second_user;
	bool reversed; /* v -> 255 - v; else v -> v ^ 1 */
};

static void
test_full_file_system_acknowledges_only_what_landed(gconstpointer data)
{
	const struct full_case *c = data;
	if (geteuid() != 0) {
		g_test_skip("needs root to mount a small tmpfs");
		return;
	}
	struct rfs_test_mount *m = rfs_test_prepare();
	g_assert_cmpint(
	    mount("tmpfs", m->src, "tmpfs", 0, "size=512k,mode=0777"), ==, 0);
	const char *const allow[] = {"-o", "allow_other", NULL};
	g_assert_true(rfs_test_start(m, c->second_user ? allow : NULL));
	char *f = rfs_src(m, "f");
	g_assert_cmpint(rfs_sh("truncate -s 1M %s && chmod 666 %s", f, f), ==,
			0);
	/* v ^ 1: in the file's order the pages go in pairs, and what is
	 * acknowledged grows pair by pair.  Reversed: the view's first pages
	 * are the file's last, written last, so nothing is acknowledged
	 * although half of the pages landed. */
	GString *cmd = g_string_new("begin\n");
	for (int v = 0; v < 256; v++)
		g_string_append_printf(cmd, "remap f %d %d\n", v,
				       c->reversed ? 255 - v : v ^ 1);
	g_string_append(cmd, "commit\n");
	g_assert_cmpint(rfs_ctl(m, cmd->str), ==, 0);
	g_string_free(cmd, TRUE);
	if (c->second_user)
		g_assert_cmpint(rfs_sh("chmod 755 %s %s", m->base, m->mnt), ==,
				0);
	long long copied = full_write_check(
	    m, c->second_user
		   ? "setpriv --reuid=65534 --regid=65534 --clear-groups"
		   : "");
	if (c->reversed)
		g_assert_cmpint(copied, ==, 0);
	else /* most of the 512 KiB, before the file system was full */
		g_assert_cmpint(copied, >=, 64 * PS);
	/* The daemon lives on: the mount answers. */
	char *dump = rfs_dump(m);
	g_assert_nonnull(strstr(dump, c->reversed ? "remap f 0 255 1\n"
						  : "remap f 0 1 1\n"));
	g_free(dump);
	rfs_test_stop(m);
	g_assert_cmpint(umount2(m->src, MNT_DETACH), ==, 0);
	g_free(f);
	rfs_test_free(m);
}

int main(int argc, char **argv)
{
	static const struct full_case pairs = {false, false},
				      pairs_user = {true, false},
				      reversed = {false, true};
	g_test_init(&argc, &argv, NULL);
	rfs_test_watchdog(300, "test-writes");
	g_test_add_func(
	    "/writes/scrambled-write-puts-every-page-where-the-map-says",
	    test_scrambled_write_puts_every_page_where_the_map_says);
	g_test_add_func(
	    "/writes/backing-page-written-twice-keeps-the-last-bytes",
	    test_backing_page_written_twice_keeps_the_last_bytes);
	g_test_add_data_func(
	    "/writes/full-file-system-acknowledges-only-what-landed", &pairs,
	    test_full_file_system_acknowledges_only_what_landed);
	g_test_add_data_func(
	    "/writes/full-file-system-acknowledges-only-what-"
	    "landed-as-second-user",
	    &pairs_user, test_full_file_system_acknowledges_only_what_landed);
	g_test_add_data_func(
	    "/writes/full-file-system-acknowledges-nothing-when-"
	    "the-first-view-page-did-not-land",
	    &reversed, test_full_file_system_acknowledges_only_what_landed);
	return g_test_run();
}
