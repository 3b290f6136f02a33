/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-mount.c - integration tests on a real remapfs mount: mirroring,
 * every .control command, mmap coherence of remaps, state round trips,
 * virtual views, and the command line. */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t PS;

typedef struct {
	struct rfs_test_mount *m;
} Fixture;

/* Mounts a fresh remapfs with the options the test data names. */
static void fx_setup(Fixture *f, gconstpointer data)
{
	const char *const *extra = data;
	f->m = rfs_test_prepare();
	/* Files made before the mount, in SOURCE. */
	char *p = rfs_src(f->m, "f");
	rfs_write_tagged(p, 256, PS, 1000);
	g_free(p);
	p = rfs_src(f->m, "dir");
	mkdir(p, 0755);
	g_free(p);
	if (!rfs_test_start(f->m, extra))
		g_error("mount failed");
}

/* Unmounts and removes everything, whatever the test did. */
static void fx_teardown(Fixture *f, gconstpointer data)
{
	rfs_test_free(f->m);
}

/* Reads a whole file into memory. */
static char *slurp(const char *path, gsize *len)
{
	char *text = NULL;
	GError *err = NULL;
	if (!g_file_get_contents(path, &text, len, &err)) {
		g_printerr("reading %s: %s\n", path, err->message);
		g_error_free(err);
		return NULL;
	}
	return text;
}

/* Reads page vpage of a file with pread. */
static bool read_page(const char *path, size_t vpage, void *buf)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, buf, PS, (off_t)(vpage * PS));
	close(fd);
	return n == (ssize_t)PS;
}

static const char *const opts_default[] = {NULL};
static const char *const opts_single[] = {"-s", NULL};
static const char *const opts_other[] = {"-o", "allow_other", NULL};
static const char *const opts_watch[] = {"-o", "watch", NULL};

/* ---- mirroring ---- */

static void test_mirror_lists_and_reads_source(Fixture *f, gconstpointer d)
{
	char *src = rfs_src(f->m, "f"), *mnt = rfs_mnt(f->m, "f");
	gsize a_len, b_len;
	char *a = slurp(src, &a_len), *b = slurp(mnt, &b_len);
	g_assert_nonnull(b);
	g_assert_cmpuint(b_len, ==, a_len);
	g_assert_true(a && b && memcmp(a, b, a_len) == 0);
	g_free(a);
	g_free(b);
	g_free(src);
	g_free(mnt);

	GDir *dir = g_dir_open(f->m->mnt, 0, NULL);
	g_assert_nonnull(dir);
	GHashTable *names =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *name;
	while (dir && (name = g_dir_read_name(dir)))
		g_hash_table_add(names, g_strdup(name));
	if (dir)
		g_dir_close(dir);
	g_assert_true(g_hash_table_contains(names, "f"));
	g_assert_true(g_hash_table_contains(names, "dir"));
	/* The control file is reachable by name, never listed. */
	g_assert_false(g_hash_table_contains(names, ".control"));
	g_assert_cmpuint(g_hash_table_size(names), ==, 2);
	g_hash_table_unref(names);
	struct stat st;
	g_assert_cmpint(stat(f->m->control, &st), ==, 0);
}

static void test_mirror_symlinks_shown_not_followed(Fixture *f, gconstpointer d)
{
	char *l = rfs_src(f->m, "escape");
	g_assert_cmpint(symlink("/etc", l), ==, 0);
	char *ml = rfs_mnt(f->m, "escape");
	struct stat st;
	g_assert_cmpint(lstat(ml, &st), ==, 0);
	g_assert_true(S_ISLNK(st.st_mode));
	char buf[64] = {0};
	g_assert_cmpint(readlink(ml, buf, sizeof(buf) - 1), ==, 4);
	g_assert_cmpstr(buf, ==, "/etc");
	/* A control command never follows it out of SOURCE. */
	g_assert_cmpint(rfs_ctl(f->m, "remap escape/passwd 0 0\n"), ==, ENOENT);
	g_free(l);
	g_free(ml);
}

static void test_mirror_file_operations(Fixture *f, gconstpointer d)
{
	char *a = rfs_mnt(f->m, "dir/a"), *b = rfs_mnt(f->m, "dir/b");
	char *sa = rfs_src(f->m, "dir/b");
	g_assert_true(g_file_set_contents(a, "hello", 5, NULL));
	g_assert_cmpint(rename(a, b), ==, 0);
	gsize len;
	char *t = slurp(sa, &len);
	g_assert_cmpstr(t, ==, "hello");
	g_free(t);
	g_assert_cmpint(chmod(b, 0640), ==, 0);
	struct stat st;
	g_assert_cmpint(stat(sa, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0640);
	g_assert_cmpint(truncate(b, 2), ==, 0);
	g_assert_cmpint(stat(b, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 2);
	struct timespec ts[2] = {{.tv_sec = 1000000}, {.tv_sec = 2000000}};
	g_assert_cmpint(utimensat(AT_FDCWD, b, ts, 0), ==, 0);
	g_assert_cmpint(stat(sa, &st), ==, 0);
	g_assert_cmpint(st.st_mtime, ==, 2000000);

	/* unlinked while open keeps working until the last close */
	int fd = open(b, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(unlink(b), ==, 0);
	g_assert_cmpint(access(b, F_OK), ==, -1);
	g_assert_cmpint(pwrite(fd, "XYZ", 3, 0), ==, 3);
	char buf[4] = {0};
	g_assert_cmpint(pread(fd, buf, 3, 0), ==, 3);
	g_assert_cmpstr(buf, ==, "XYZ");
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_cmpint(st.st_nlink, ==, 0);
	close(fd);

	char *d2 = rfs_mnt(f->m, "dir/sub");
	g_assert_cmpint(mkdir(d2, 0700), ==, 0);
	g_assert_cmpint(rmdir(d2), ==, 0);
	char *ln = rfs_mnt(f->m, "dir/link"), *hl = rfs_mnt(f->m, "dir/hard");
	g_assert_cmpint(symlink("target", ln), ==, 0);
	char *mf = rfs_mnt(f->m, "f");
	g_assert_cmpint(link(mf, hl), ==, 0);
	g_free(mf);
	g_assert_cmpint(stat(hl, &st), ==, 0);
	g_assert_cmpint(st.st_nlink, ==, 2);
	struct statvfs sv;
	g_assert_cmpint(statvfs(f->m->mnt, &sv), ==, 0);
	g_assert_cmpuint(sv.f_blocks, >, 0);
	g_free(a);
	g_free(b);
	g_free(sa);
	g_free(d2);
	g_free(ln);
	g_free(hl);
}

static void test_mirror_copy_tree_with_cp_and_tar(Fixture *f, gconstpointer d)
{
	/* A tree copied in with cp -a and out with tar is unchanged. */
	g_assert_cmpint(
	    rfs_sh("set -e; t=%s/tree; mkdir -p $t/a/b; "
		   "head -c 300000 /dev/urandom > $t/a/b/rand; "
		   "echo hi > $t/a/hi; ln -s hi $t/a/hl; "
		   "cp -a $t %s/copy && "
		   "diff -r $t %s/copy && "
		   "tar -C %s -cf %s/t.tar copy && mkdir %s/x && "
		   "tar -C %s/x -xf %s/t.tar && diff -r $t %s/x/copy",
		   f->m->base, f->m->mnt, f->m->mnt, f->m->mnt, f->m->base,
		   f->m->base, f->m->base, f->m->base, f->m->base),
	    ==, 0);
}

static void test_mirror_sqlite_journal_and_wal(Fixture *f, gconstpointer d)
{
	const char *sq = g_getenv("SQLITE3");
	if (!sq || !*sq) {
		g_test_skip("sqlite3 not installed");
		return;
	}
	for (int wal = 0; wal < 2; wal++) {
		g_assert_cmpint(
		    rfs_sh(
			"set -e; db=%s/t%d.db; %s $db 'PRAGMA journal_mode=%s;"
			" CREATE TABLE t(x INTEGER, y TEXT);' >/dev/null; "
			"for i in $(seq 1 20); do %s $db \"BEGIN; INSERT INTO t"
			" SELECT $i, hex(randomblob(2000)) FROM "
			"(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT "
			"n+1 FROM c WHERE n<20) SELECT n FROM c); COMMIT;\"; "
			"done; test \"$(%s $db 'PRAGMA integrity_check;')\" = "
			"ok; "
			"test \"$(%s $db 'SELECT count(*) FROM t;')\" = 400; "
			"%s $db 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null; "
			"test \"$(%s %s/t%d.db 'SELECT count(*) FROM t;')\" = "
			"400",
			f->m->mnt, wal, sq, wal ? "WAL" : "DELETE", sq, sq, sq,
			sq, sq, f->m->src, wal),
		    ==, 0);
	}
}

static void test_mirror_posix_locks_between_processes(Fixture *f,
						      gconstpointer d)
{
	char *p = rfs_mnt(f->m, "f");
	int fd = open(p, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	g_assert_cmpint(fcntl(fd, F_SETLK, &fl), ==, 0);
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open(p, O_RDWR);
		struct flock c = {.l_type = F_WRLCK,
				  .l_whence = SEEK_SET,
				  .l_start = 5,
				  .l_len = 1};
		int busy = fcntl(cfd, F_SETLK, &c) < 0 &&
			   (errno == EAGAIN || errno == EACCES);
		_exit(busy ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	close(fd);
	g_free(p);
}

/* ---- the control file ---- */

/* Checks that a command fails with err, a message containing want, and
 * leaves the state dump as it was. */
static void expect_fail(struct rfs_test_mount *m, const char *text, int err,
			const char *want)
{
	char *before = rfs_dump(m), *msg = NULL;
	int res = rfs_ctl_msg(m, text, &msg);
	if (res != err || !strstr(msg, want))
		g_printerr("command: %s\nexpected errno %d (%s) and a message "
			   "with '%s'\nsaw errno %d (%s), message '%s'\n",
			   text, err, g_strerror(err), want, res,
			   g_strerror(res), msg);
	g_assert_cmpint(res, ==, err);
	g_assert_nonnull(strstr(msg, want));
	g_assert_true(g_str_has_prefix(msg, "error: line "));
	char *after = rfs_dump(m);
	g_assert_cmpstr(after, ==, before);
	g_free(before);
	g_free(after);
	g_free(msg);
}

static void test_control_every_command_applies(Fixture *f, gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	char *mf = rfs_mnt(m, "f");
	char buf[65536];
	g_assert_cmpint(rfs_ctl(m, "remap f 0 10 3\n"), ==, 0);
	for (int i = 0; i < 3; i++) {
		g_assert_true(read_page(mf, i, buf));
		g_assert_true(rfs_page_is(buf, PS, 1010 + i, "remapped page"));
	}
	g_assert_cmpint(rfs_ctl(m, "reset f 1\n"), ==, 0);
	g_assert_true(read_page(mf, 1, buf));
	g_assert_true(rfs_page_is(buf, PS, 1001, "reset page"));
	g_assert_true(read_page(mf, 2, buf));
	g_assert_true(rfs_page_is(buf, PS, 1012, "page kept"));
	g_assert_cmpint(rfs_ctl(m, "reset f\n"), ==, 0);
	g_assert_true(read_page(mf, 0, buf));
	g_assert_true(rfs_page_is(buf, PS, 1000, "after reset"));
	char *dump = rfs_dump(m);
	g_assert_null(strstr(dump, "\nremap"));
	g_free(dump);

	g_assert_cmpint(rfs_ctl(m, "create dir/v f 4\n"
				   "remap dir/v 0 200 2 # comment\n"
				   "\n"
				   "resize dir/v 6\n"),
			==, 0);
	char *mv = rfs_mnt(m, "dir/v");
	struct stat st;
	g_assert_cmpint(stat(mv, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 6 * PS);
	g_assert_true(read_page(mv, 1, buf));
	g_assert_true(rfs_page_is(buf, PS, 1201, "virtual page"));
	g_assert_true(read_page(mv, 5, buf));
	g_assert_true(rfs_page_is(buf, PS, 1005, "virtual identity"));
	g_assert_cmpint(rfs_ctl(m, "invalidate dir/v\ninvalidate f 3 2\n"), ==,
			0);
	char *sv = rfs_src(m, "dir/v");
	g_assert_cmpint(access(sv, F_OK), ==, -1); /* not created in SOURCE */
	g_assert_cmpint(rfs_ctl(m, "remove dir/v\n"), ==, 0);
	g_assert_cmpint(stat(mv, &st), ==, -1);
	g_assert_cmpint(errno, ==, ENOENT);
	char *sf = rfs_src(m, "f");
	g_assert_cmpint(stat(sf, &st), ==, 0);
	g_free(sf);
	g_free(mf);
	g_free(mv);
	g_free(sv);
}

static void
test_control_errors_give_errno_message_and_change_nothing(Fixture *f,
							  gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	g_assert_cmpint(rfs_ctl(m, "remap f 5 6\ncreate dir/v f\n"), ==, 0);
	expect_fail(m, "frobnicate f\n", EINVAL, "unknown command");
	expect_fail(m, "remap f\n", EINVAL, "remap");
	expect_fail(m, "remap f x 1\n", EINVAL, "not a number");
	expect_fail(m, "remap nosuch 0 1\n", ENOENT, "no such view");
	expect_fail(m, "remap nodir/x 0 1\n", ENOENT, "no such directory");
	expect_fail(m, "remap f 256 1\n", ERANGE, "past the end");
	expect_fail(m, "remap f 250 1 7\n", ERANGE, "past the end");
	expect_fail(m, "remap f 0 1 0\n", ERANGE, "at least 1");
	expect_fail(m, "remap f 0 18446744073709551615 2\n", ERANGE, "");
	expect_fail(m, "remap f 0 99999999999999999999\n", ERANGE, "");
	expect_fail(m, "remap dir 0 1\n", EINVAL, "not a regular file");
	expect_fail(m, "remap .control 0 1\n", EPERM, "control file");
	expect_fail(m, "remap /f 0 1\n", EINVAL, "relative");
	expect_fail(m, "remap ../f 0 1\n", EINVAL, "..");
	expect_fail(m, "reset f 300\n", ERANGE, "past the end");
	expect_fail(m, "create f f\n", EEXIST, "already exists");
	expect_fail(m, "create dir/v f\n", EEXIST, "already exists");
	expect_fail(m, "create dir/w nosuch\n", ENOENT, "no such backing");
	expect_fail(m, "create dir/w dir\n", EINVAL, "not a regular file");
	expect_fail(m, "create nodir/w f\n", ENOENT, "no such directory");
	expect_fail(m, "resize f 3\n", EPERM, "not a virtual view");
	expect_fail(m, "remove f\n", EPERM, "not a virtual view");
	expect_fail(m, "remap \"f 0 1\n", EINVAL, "unterminated");
	/* One bad line among good ones applies nothing, and says which. */
	char *msg = NULL;
	char *before = rfs_dump(m);
	g_assert_cmpint(rfs_ctl_msg(m,
				    "remap f 0 1\n# c\n\ncreate dir/z f\n"
				    "remap f 999 1\nreset f\n",
				    &msg),
			==, ERANGE);
	g_assert_true(g_str_has_prefix(msg, "error: line 5: "));
	char *after = rfs_dump(m);
	g_assert_cmpstr(after, ==, before);
	char *z = rfs_mnt(m, "dir/z");
	g_assert_cmpint(access(z, F_OK), ==, -1);
	g_free(z);
	g_free(before);
	g_free(after);
	g_free(msg);
	/* After the message was read, the descriptor reads the state. */
	int fd = open(m->control, O_RDWR);
	char buf[256];
	g_assert_cmpint(write(fd, "bad\n", 4), ==, -1);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	g_assert_cmpint(n, >, 0);
	buf[n] = 0;
	g_assert_true(g_str_has_prefix(buf, "error: line 1: "));
	g_assert_cmpint(read(fd, buf, sizeof(buf)), ==, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	g_assert_cmpint(n, >, 0);
	buf[n] = 0;
	g_assert_true(g_str_has_prefix(buf, "# remapfs state"));
	close(fd);
}

static void test_control_line_split_across_writes(Fixture *f, gconstpointer d)
{
	int fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, "rem", 3), ==, 3);
	g_assert_cmpint(write(fd, "ap f 0 ", 7), ==, 7);
	g_assert_cmpint(write(fd, "9\nremap f 1", 11), ==, 11);
	char buf[65536];
	char *mf = rfs_mnt(f->m, "f");
	g_assert_true(read_page(mf, 0, buf));
	g_assert_true(rfs_page_is(buf, PS, 1009, "after the first line"));
	g_assert_cmpint(write(fd, " 8\n", 3), ==, 3);
	g_assert_true(read_page(mf, 1, buf));
	g_assert_true(rfs_page_is(buf, PS, 1008, "after the split line"));
	/* An unterminated last line is applied at close. */
	g_assert_cmpint(write(fd, "remap f 2 7", 11), ==, 11);
	g_assert_cmpint(close(fd), ==, 0);
	g_assert_true(read_page(mf, 2, buf));
	g_assert_true(rfs_page_is(buf, PS, 1007, "after close"));
	fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(write(fd, "remap f 700 2", 13), ==, 13);
	g_assert_cmpint(close(fd), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	g_free(mf);
}

static void test_control_refuses_other_users(Fixture *f, gconstpointer d)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to act as another user");
		return;
	}
	char *mf = rfs_mnt(f->m, "f");
	g_assert_cmpint(chmod(f->m->base, 0755), ==, 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		int wfd = open(f->m->control, O_WRONLY);
		int werr = errno;
		int rfd = open(mf, O_RDONLY); /* views stay readable */
		_exit(wfd >= 0 ? 3 : werr != EACCES ? 4 : rfd < 0 ? 5 : 0);
	}
	int status;
	waitpid(pid, &status, 0);
	g_assert_true(WIFEXITED(status));
	/* 3: .control opened for another user, 4: not with EACCES,
	 * 5: the view was not readable to them, 2: setuid failed */
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	struct stat st;
	g_assert_cmpint(stat(f->m->control, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	g_assert_cmpint(st.st_uid, ==, geteuid());
	g_free(mf);
}

/* ---- mmap and the nonlinear-mapping guarantee ---- */

static void test_mmap_existing_mapping_sees_reversed_pages(Fixture *f,
							   gconstpointer d)
{
	char *mf = rfs_mnt(f->m, "f");
	int fd = open(mf, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	uint8_t *map = mmap(NULL, 256 * PS, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	for (size_t p = 0; p < 256; p++) /* populate every page */
		g_assert_true(
		    rfs_page_is(map + p * PS, PS, 1000 + p, "before"));
	GString *cmd = g_string_new(NULL);
	for (size_t p = 0; p < 256; p++)
		g_string_append_printf(cmd, "remap f %zu %zu\n", p, 255 - p);
	g_assert_cmpint(rfs_ctl(f->m, cmd->str), ==, 0);
	for (size_t p = 0; p < 256; p++) {
		char where[64];
		snprintf(where, sizeof(where), "mapped page %zu after reverse",
			 p);
		g_assert_true(
		    rfs_page_is(map + p * PS, PS, 1000 + 255 - p, where));
	}
	g_assert_cmpint(rfs_ctl(f->m, "reset f\n"), ==, 0);
	for (size_t p = 0; p < 256; p++)
		g_assert_true(rfs_page_is(map + p * PS, PS, 1000 + p, "reset"));
	munmap(map, 256 * PS);
	close(fd);
	g_string_free(cmd, TRUE);
	g_free(mf);
}

/* Pages outside a remap keep their cache: a store through one mapping
 * that was not yet written back stays visible (no whole-file drop). */
static void test_mmap_remap_keeps_other_pages_cached(Fixture *f,
						     gconstpointer d)
{
	char *mf = rfs_mnt(f->m, "f");
	int fd = open(mf, O_RDONLY);
	uint8_t *map = mmap(NULL, 256 * PS, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	for (size_t p = 0; p < 256; p++)
		(void)*(volatile uint8_t *)(map + p * PS);
	/* Change SOURCE behind the daemon's back: cached pages keep the old
	 * bytes until invalidated; only the remapped page is re-read. */
	char *sf = rfs_src(f->m, "f");
	rfs_write_tagged(sf, 256, PS, 5000);
	g_assert_cmpint(rfs_ctl(f->m, "remap f 7 8\n"), ==, 0);
	g_assert_true(rfs_page_is(map + 7 * PS, PS, 5008, "remapped page"));
	g_assert_true(rfs_page_is(map + 6 * PS, PS, 1006, "neighbour"));
	g_assert_true(rfs_page_is(map + 100 * PS, PS, 1100, "far page"));
	g_assert_cmpint(rfs_ctl(f->m, "invalidate f\n"), ==, 0);
	g_assert_true(
	    rfs_page_is(map + 100 * PS, PS, 5100, "after invalidate"));
	munmap(map, 256 * PS);
	close(fd);
	g_free(mf);
	g_free(sf);
}

static void test_mmap_dirty_pages_land_in_old_backing(Fixture *f,
						      gconstpointer d)
{
	char *mf = rfs_mnt(f->m, "f"), *sf = rfs_src(f->m, "f");
	int fd = open(mf, O_RDWR);
	uint64_t *map =
	    mmap(NULL, 256 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	size_t w = PS / 8;
	/* Dirty view page 3 (backing page 3), then remap it to 50. */
	for (size_t i = 0; i < w; i++)
		map[3 * w + i] = 7777;
	g_assert_cmpint(rfs_ctl(f->m, "remap f 3 50\n"), ==, 0);
	g_assert_true(rfs_page_is(map + 3 * w, PS, 1050, "mapping after"));
	char buf[65536];
	g_assert_true(read_page(sf, 3, buf));
	g_assert_true(rfs_page_is(buf, PS, 7777, "old backing page"));
	g_assert_true(read_page(sf, 50, buf));
	g_assert_true(rfs_page_is(buf, PS, 1050, "new backing page"));
	/* And a store now goes to the new target. */
	for (size_t i = 0; i < w; i++)
		map[3 * w + i] = 8888;
	g_assert_cmpint(msync(map, 256 * PS, MS_SYNC), ==, 0);
	g_assert_true(read_page(sf, 50, buf));
	g_assert_true(rfs_page_is(buf, PS, 8888, "new target after msync"));
	g_assert_true(read_page(sf, 3, buf));
	g_assert_true(rfs_page_is(buf, PS, 7777, "old target untouched"));
	munmap(map, 256 * PS);
	close(fd);
	g_free(mf);
	g_free(sf);
}

static void test_mmap_write_extends_past_backing_end(Fixture *f,
						     gconstpointer d)
{
	char *mf = rfs_mnt(f->m, "f"), *sf = rfs_src(f->m, "f");
	char buf[65536];
	/* Page 0 shows backing page 300, past the end: zeros. */
	g_assert_cmpint(rfs_ctl(f->m, "remap f 0 300\n"), ==, 0);
	g_assert_true(read_page(mf, 0, buf));
	g_assert_true(rfs_page_is(buf, PS, 0, "page past the end"));
	int fd = open(mf, O_WRONLY);
	memset(buf, 0x5a, PS);
	g_assert_cmpint(pwrite(fd, buf, PS, 0), ==, (ssize_t)PS);
	close(fd);
	struct stat st;
	g_assert_cmpint(stat(sf, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 301 * PS);
	g_assert_cmpint(stat(mf, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 301 * PS);
	g_assert_true(read_page(sf, 300, buf));
	g_assert_true(rfs_page_is(buf, PS, 0x5a5a5a5a5a5a5a5aull, "extended"));
	g_free(mf);
	g_free(sf);
}

/* ---- state ---- */

static void test_state_dump_round_trips_into_fresh_mount(Fixture *f,
							 gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	char *sp = rfs_src(m, "dir/odd name \"q\"\t\x01");
	rfs_write_tagged(sp, 8, PS, 3000);
	g_assert_cmpint(
	    rfs_ctl(m, "create \"dir/v w\" f 10\n"
		       "remap \"dir/v w\" 0 3 2\n"
		       "remap f 10 20 5\nremap f 100 7\n"
		       "remap \"dir/odd name \\\"q\\\"\\t\\x01\" 1 2\n"),
	    ==, 0);
	char *dump = rfs_dump(m);
	rfs_test_stop(m);
	g_assert_true(rfs_test_start(m, NULL));
	char *empty = rfs_dump(m);
	g_assert_null(strstr(empty, "\nremap"));
	g_assert_cmpint(rfs_ctl(m, dump), ==, 0);
	char *again = rfs_dump(m);
	g_assert_cmpstr(again, ==, dump);
	char buf[65536];
	char *mv = rfs_mnt(m, "dir/v w");
	g_assert_true(read_page(mv, 1, buf));
	g_assert_true(rfs_page_is(buf, PS, 1004, "restored view"));
	g_free(mv);
	g_free(dump);
	g_free(empty);
	g_free(again);
	g_free(sp);
}

/* ---- virtual views ---- */

static void test_virtual_view_aliases_read_and_mmapped(Fixture *f,
						       gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	g_assert_cmpint(rfs_ctl(m, "create ring f 8\nremap ring 4 0 4\n"), ==,
			0);
	char *mv = rfs_mnt(m, "ring");
	int fd = open(mv, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	uint8_t *map =
	    mmap(NULL, 8 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	char buf[65536];
	for (size_t p = 0; p < 8; p++) {
		g_assert_true(
		    rfs_page_is(map + p * PS, PS, 1000 + p % 4, "mmap alias"));
		g_assert_true(read_page(mv, p, buf));
		g_assert_true(rfs_page_is(buf, PS, 1000 + p % 4, "read alias"));
	}
	/* The same backing page shown twice: a write through one, then an
	 * invalidate, shows at both. */
	memset(buf, 0, PS);
	uint64_t *w = (uint64_t *)buf;
	for (size_t i = 0; i < PS / 8; i++)
		w[i] = 4242;
	g_assert_cmpint(pwrite(fd, buf, PS, 1 * PS), ==, (ssize_t)PS);
	g_assert_cmpint(rfs_ctl(m, "invalidate ring\n"), ==, 0);
	g_assert_true(rfs_page_is(map + 5 * PS, PS, 4242, "alias of page 1"));
	g_assert_true(rfs_page_is(map + 1 * PS, PS, 4242, "page 1"));
	struct stat st;
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 8 * PS);
	/* A virtual view ends where it says. */
	g_assert_cmpint(pwrite(fd, buf, PS, 8 * PS), ==, -1);
	g_assert_cmpint(errno, ==, EFBIG);
	munmap(map, 8 * PS);
	close(fd);
	/* unlink through the mount removes the view, not SOURCE's file */
	g_assert_cmpint(unlink(mv), ==, 0);
	g_assert_cmpint(access(mv, F_OK), ==, -1);
	char *sf = rfs_src(m, "f");
	g_assert_cmpint(access(sf, F_OK), ==, 0);
	g_free(mv);
	g_free(sf);
}

static void test_virtual_view_rename_and_truncate(Fixture *f, gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	g_assert_cmpint(rfs_ctl(m, "create v f\n"), ==, 0);
	char *a = rfs_mnt(m, "v"), *b = rfs_mnt(m, "dir/v2");
	struct stat st;
	g_assert_cmpint(stat(a, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 256 * PS);
	g_assert_cmpint(rename(a, b), ==, 0);
	g_assert_cmpint(truncate(b, 3 * PS), ==, 0);
	g_assert_cmpint(stat(b, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 3 * PS);
	g_assert_cmpint(truncate(b, 1), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	char *dump = rfs_dump(m);
	g_assert_nonnull(strstr(dump, "create dir/v2 f 3\n"));
	g_free(dump);
	g_free(a);
	g_free(b);
}

/* ---- coherence of aliases ---- */

/* Fills a page buffer with one 64-bit word. */
static void fill(uint64_t *page, uint64_t word)
{
	for (size_t i = 0; i < PS / 8; i++)
		page[i] = word;
}

static void test_coherence_write_reaches_every_alias(Fixture *f,
						     gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	/* f's page 2 is shown at ring 1 and ring 5, and at f's page 2. */
	g_assert_cmpint(rfs_ctl(m, "create ring f 8\nremap ring 0 0 4\n"
				   "remap ring 4 0 4\n"),
			==, 0);
	char *mv = rfs_mnt(m, "ring"), *mf = rfs_mnt(m, "f");
	int vfd = open(mv, O_RDWR), ffd = open(mf, O_RDWR);
	g_assert_cmpint(vfd, >=, 0);
	g_assert_cmpint(ffd, >=, 0);
	uint8_t *vmap =
	    mmap(NULL, 8 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, vfd, 0);
	uint8_t *fmap =
	    mmap(NULL, 256 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	g_assert_true(vmap != MAP_FAILED && fmap != MAP_FAILED);
	/* Everything cached first. */
	g_assert_true(rfs_page_is(vmap + 2 * PS, PS, 1002, "ring 2"));
	g_assert_true(rfs_page_is(vmap + 6 * PS, PS, 1002, "ring 6"));
	g_assert_true(rfs_page_is(fmap + 2 * PS, PS, 1002, "f 2"));
	g_assert_true(rfs_page_is(fmap + 3 * PS, PS, 1003, "f 3"));
	uint64_t *page = g_malloc(PS);
	char buf[65536];

	/* 1. write() through one alias: all show it when it returns. */
	fill(page, 111);
	g_assert_cmpint(pwrite(vfd, page, PS, 2 * PS), ==, (ssize_t)PS);
	g_assert_true(rfs_page_is(vmap + 6 * PS, PS, 111, "ring 6 (mmap)"));
	g_assert_true(rfs_page_is(fmap + 2 * PS, PS, 111, "f 2 (mmap)"));
	g_assert_true(read_page(mf, 2, buf));
	g_assert_true(rfs_page_is(buf, PS, 111, "f 2 (read)"));
	g_assert_true(rfs_page_is(fmap + 3 * PS, PS, 1003, "f 3 untouched"));

	/* 2. stores through a mapping reach the aliases at msync. */
	fill((uint64_t *)(fmap + 3 * PS), 222);
	g_assert_cmpint(msync(fmap + 3 * PS, PS, MS_SYNC), ==, 0);
	g_assert_true(
	    rfs_page_is(vmap + 3 * PS, PS, 222, "ring 3 after msync"));
	g_assert_true(
	    rfs_page_is(vmap + 7 * PS, PS, 222, "ring 7 after msync"));

	/* 3. a store not yet synced, then a write() of other bytes of the
	 * same backing page through another alias: both survive. */
	((uint64_t *)(vmap + 1 * PS))[0] = 333; /* word 0, via ring 1 */
	uint64_t w = 444;
	g_assert_cmpint(pwrite(ffd, &w, 8, 1 * PS + 8), ==, 8); /* word 1 */
	g_assert_cmpint(msync(vmap, 8 * PS, MS_SYNC), ==, 0);
	char *sf = rfs_src(m, "f");
	g_assert_true(read_page(sf, 1, buf));
	uint64_t *words = (uint64_t *)buf;
	g_assert_cmpuint(words[0], ==, 333);
	g_assert_cmpuint(words[1], ==, 444);
	g_assert_cmpuint(words[2], ==, 1001);
	g_assert_cmpuint(((uint64_t *)(vmap + 5 * PS))[1], ==, 444);
	g_assert_cmpuint(((uint64_t *)(fmap + 1 * PS))[0], ==, 333);

	munmap(vmap, 8 * PS);
	munmap(fmap, 256 * PS);
	close(vfd);
	close(ffd);
	g_free(page);
	g_free(mv);
	g_free(mf);
	g_free(sf);
}

/* Polls view page vpage of fd with pread until it is all zeros; returns
 * the wait in ms, or -1 after limit_ms. */
static int wait_for_zero_page(int fd, uint64_t vpage, int limit_ms)
{
	gint64 start = g_get_monotonic_time();
	uint8_t *buf = g_malloc(PS);
	int ms = -1;
	for (;;) {
		ssize_t n = pread(fd, buf, PS, (off_t)(vpage * PS));
		bool zero = n == (ssize_t)PS;
		for (size_t i = 0; zero && i < PS; i++)
			zero = buf[i] == 0;
		gint64 waited = g_get_monotonic_time() - start;
		if (zero) {
			ms = (int)(waited / 1000);
			break;
		}
		if (waited > limit_ms * 1000)
			break;
		g_usleep(1000);
	}
	g_free(buf);
	return ms;
}

/* Polls a mapped page until it shows tag; returns the wait in ms, or -1
 * after limit_ms. */
static int wait_for_tag(const uint8_t *page, uint64_t tag, int limit_ms)
{
	gint64 start = g_get_monotonic_time();
	for (;;) {
		if (rfs_page_tag(page, PS) == (int64_t)tag)
			return (int)((g_get_monotonic_time() - start) / 1000);
		if (g_get_monotonic_time() - start > limit_ms * 1000)
			return -1;
		g_usleep(1000);
	}
}

static void test_coherence_watch_sees_outside_truncation(Fixture *f,
							 gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	g_assert_cmpint(rfs_ctl(m, "create v f 8\nremap v 0 5\n"), ==, 0);
	char *mf = rfs_mnt(m, "f"), *mv = rfs_mnt(m, "v"),
	     *sf = rfs_src(m, "f");
	int vfd = open(mv, O_RDONLY);
	uint8_t *vmap = mmap(NULL, 8 * PS, PROT_READ, MAP_SHARED, vfd, 0);
	g_assert_true(vmap != MAP_FAILED);
	g_assert_true(rfs_page_is(vmap, PS, 1005, "v 0 before"));
	/* Another program truncates SOURCE's file to 3 pages and keeps it
	 * open: only the truncation itself can tell the daemon. */
	int sfd = open(sf, O_WRONLY);
	g_assert_cmpint(ftruncate(sfd, 3 * PS), ==, 0);
	int ms = wait_for_zero_page(vfd, 0, 2000);
	g_test_message("outside truncation seen after %d ms", ms);
	if (ms < 0)
		g_printerr("expected view page 0 (backing page 5, now past the "
			   "end) to read as zeros within 2 s; it still shows "
			   "the old bytes\n");
	g_assert_cmpint(ms, >=, 0);
	struct stat st;
	g_assert_cmpint(stat(mf, &st), ==, 0);
	if (st.st_size != (off_t)(3 * PS))
		g_printerr("expected f to have %zu bytes, saw %lld\n", 3 * PS,
			   (long long)st.st_size);
	g_assert_cmpint(st.st_size, ==, (off_t)(3 * PS));
	close(sfd);
	munmap(vmap, 8 * PS);
	close(vfd);
	g_free(mf);
	g_free(mv);
	g_free(sf);
}

static void test_coherence_watch_sees_outside_writes(Fixture *f,
						     gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	g_assert_cmpint(rfs_ctl(m, "create v f 8\nremap v 0 5\n"), ==, 0);
	char *mf = rfs_mnt(m, "f"), *mv = rfs_mnt(m, "v"),
	     *sf = rfs_src(m, "f");
	int ffd = open(mf, O_RDONLY), vfd = open(mv, O_RDONLY);
	uint8_t *fmap = mmap(NULL, 256 * PS, PROT_READ, MAP_SHARED, ffd, 0);
	uint8_t *vmap = mmap(NULL, 8 * PS, PROT_READ, MAP_SHARED, vfd, 0);
	g_assert_true(fmap != MAP_FAILED && vmap != MAP_FAILED);
	g_assert_true(rfs_page_is(fmap + 5 * PS, PS, 1005, "f 5 before"));
	g_assert_true(rfs_page_is(vmap, PS, 1005, "v 0 before"));
	g_assert_true(rfs_page_is(vmap + 5 * PS, PS, 1005, "v 5 before"));
	/* Another program writes SOURCE's file directly. */
	int sfd = open(sf, O_WRONLY);
	uint64_t *page = g_malloc(PS);
	for (size_t i = 0; i < PS / 8; i++)
		page[i] = 9005;
	g_assert_cmpint(pwrite(sfd, page, PS, 5 * PS), ==, (ssize_t)PS);
	close(sfd);
	int ms = wait_for_tag(fmap + 5 * PS, 9005, 2000);
	int ms2 = wait_for_tag(vmap, 9005, 2000);
	g_test_message("outside write seen after %d ms (f), %d ms (v)", ms,
		       ms2);
	if (ms < 0 || ms2 < 0)
		g_printerr("expected the outside write to show within 2 s, "
			   "saw f: %d ms, v: %d ms (-1: never)\n",
			   ms, ms2);
	g_assert_cmpint(ms, >=, 0);
	g_assert_cmpint(ms2, >=, 0);
	g_assert_true(rfs_page_is(vmap + 5 * PS, PS, 9005, "v 5 after"));
	munmap(fmap, 256 * PS);
	munmap(vmap, 8 * PS);
	close(ffd);
	close(vfd);
	g_free(page);
	g_free(mf);
	g_free(mv);
	g_free(sf);
}

static void test_coherence_truncated_and_deleted_backing(Fixture *f,
							 gconstpointer d)
{
	struct rfs_test_mount *m = f->m;
	char *sg = rfs_src(m, "g"), *mg = rfs_mnt(m, "g");
	char *mv = rfs_mnt(m, "v"), *mf = rfs_mnt(m, "f");
	rfs_write_tagged(sg, 16, PS, 700);
	g_assert_cmpint(rfs_ctl(m, "create v g 16\nremap v 0 15\n"), ==, 0);
	int vfd = open(mv, O_RDONLY);
	uint8_t *vmap = mmap(NULL, 16 * PS, PROT_READ, MAP_SHARED, vfd, 0);
	g_assert_true(vmap != MAP_FAILED);
	g_assert_true(rfs_page_is(vmap, PS, 715, "v 0 before"));
	/* Truncated through the mount: views of it drop what is past the
	 * end, and read zeros there. */
	g_assert_cmpint(truncate(mg, 4 * PS), ==, 0);
	g_assert_true(rfs_page_is(vmap, PS, 0, "v 0 past the new end"));
	g_assert_true(rfs_page_is(vmap + 2 * PS, PS, 702, "v 2 kept"));
	char buf[65536];
	g_assert_true(read_page(mv, 10, buf));
	g_assert_true(rfs_page_is(buf, PS, 0, "v 10 read"));
	/* Truncated outside, then invalidated: the same. */
	g_assert_cmpint(truncate(sg, PS), ==, 0);
	g_assert_cmpint(rfs_ctl(m, "invalidate v\n"), ==, 0);
	g_assert_true(rfs_page_is(vmap + 2 * PS, PS, 0, "v 2 after outside"));
	/* Deleted: descriptors and mappings open on the view keep showing
	 * the file, as an open file does; a new open of the view (a view of
	 * a path that names nothing) fails with ESTALE; other views are
	 * unaffected. */
	g_assert_cmpint(unlink(sg), ==, 0);
	g_assert_true(rfs_page_is(vmap + 0 * PS, PS, 0, "v 0 after unlink"));
	g_assert_cmpint(pread(vfd, buf, PS, 2 * (off_t)PS), ==, (ssize_t)PS);
	errno = 0;
	g_assert_cmpint(open(mv, O_RDONLY), ==, -1);
	g_assert_cmpint(errno, ==, ESTALE);
	g_assert_true(read_page(mf, 3, buf));
	g_assert_true(rfs_page_is(buf, PS, 1003, "another file"));
	g_assert_cmpint(rfs_ctl(m, "remap v 1 0\n"), ==, 0);
	munmap(vmap, 16 * PS);
	close(vfd);
	g_free(sg);
	g_free(mg);
	g_free(mv);
	g_free(mf);
}

/* ---- command line ---- */

static void test_cmdline_errors_are_one_clear_line(void)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	const char *prog = g_getenv("REMAPFS");
	struct {
		const char *opts; /* options */
		const char *src;  /* SOURCE, relative to the test's base */
		bool mnt;	  /* give MOUNTPOINT */
		const char *want; /* in the one line on stderr */
	} cases[] = {
	    {"", "nosuch", true, "No such file"},
	    {"", "src/f", true, "not a directory"},
	    {"-o pagesize=3000", "src", true, "power of two"},
	    {"-o pagesize=2048", "src", true, "multiple of the system"},
	    {"-o pagesize=2G", "src", true, "at most 1 GiB"},
	    {"-o pagesize=abc", "src", true, "not a size"},
	    {"-o frobnicate", "src", true, "unknown option"},
	    {"", "src", false, "usage"},
	};
	char *f = rfs_src(m, "f");
	g_assert_true(g_file_set_contents(f, "x", 1, NULL));
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *cmd = g_strdup_printf(
		    "%s -f %s %s/%s %s", prog, cases[i].opts, m->base,
		    cases[i].src, cases[i].mnt ? m->mnt : "");
		char *out = NULL, *err = NULL;
		int status = 0;
		g_assert_true(
		    g_spawn_command_line_sync(cmd, &out, &err, &status, NULL));
		if (status == 0 || !strstr(err, cases[i].want))
			g_printerr("%s\nexpected failure with '%s', saw status "
				   "%d, stderr '%s'\n",
				   cmd, cases[i].want, status, err);
		g_assert_cmpint(status, !=, 0);
		g_assert_nonnull(strstr(err, cases[i].want));
		g_free(cmd);
		g_free(out);
		g_free(err);
	}
	/* A busy mountpoint. */
	g_assert_true(rfs_test_start(m, NULL));
	char *cmd = g_strdup_printf("%s -f %s %s", prog, m->src, m->mnt);
	char *err = NULL;
	int status = 0;
	g_assert_true(
	    g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
	g_assert_cmpint(status, !=, 0);
	g_assert_nonnull(strstr(err, "busy"));
	g_free(cmd);
	g_free(err);
	g_free(f);
	rfs_test_free(m);
}

static void test_cmdline_pagesize_option_sets_view_pages(void)
{
	static const char *const opts[] = {"-o", "pagesize=16k", NULL};
	struct rfs_test_mount *m = rfs_test_prepare();
	char *sf = rfs_src(m, "f");
	rfs_write_tagged(sf, 64, PS, 0); /* 16 pages of 16 KiB */
	g_assert_true(rfs_test_start(m, opts));
	g_assert_cmpint(rfs_ctl(m, "remap f 0 3\n"), ==, 0);
	g_assert_cmpint(rfs_ctl(m, "remap f 16 0\n"), ==, ERANGE);
	char *mf = rfs_mnt(m, "f");
	char buf[65536];
	for (int i = 0; i < 4; i++) {
		g_assert_true(read_page(mf, i, buf));
		g_assert_true(rfs_page_is(buf, PS, 12 + i, "16k page"));
	}
	g_free(mf);
	g_free(sf);
	rfs_test_free(m);
}

static void test_cmdline_state_option_keeps_state_across_mounts(void)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	char *sf = rfs_src(m, "f");
	rfs_write_tagged(sf, 8, PS, 0);
	char *state = g_build_filename(m->base, "state.txt", NULL);
	char *opt = g_strdup_printf("state=%s", state);
	const char *const opts[] = {"-o", opt, NULL};
	g_assert_true(rfs_test_start(m, opts));
	g_assert_cmpint(rfs_ctl(m, "create v f 4\nremap f 0 7\n"), ==, 0);
	char *dump = rfs_dump(m);
	rfs_test_stop(m); /* saved at unmount at the latest */
	g_assert_true(rfs_test_start(m, opts));
	char *again = rfs_dump(m);
	g_assert_cmpstr(again, ==, dump);
	char buf[65536];
	char *mf = rfs_mnt(m, "f");
	g_assert_true(read_page(mf, 0, buf));
	g_assert_true(rfs_page_is(buf, PS, 7, "restored remap"));
	rfs_test_stop(m);
	/* Not a state file: one clear line, no mount (stale entries and
	 * damage: tests/test-durable). */
	g_assert_true(
	    g_file_set_contents(state, "remap nosuch 0 1\n", -1, NULL));
	char *cmd = g_strdup_printf("%s -f -o %s %s %s", g_getenv("REMAPFS"),
				    opt, m->src, m->mnt);
	char *err = NULL;
	int status = 0;
	g_assert_true(
	    g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
	g_assert_cmpint(status, !=, 0);
	if (!strstr(err, "byte 0: not a remapfs state file"))
		g_printerr("expected 'byte 0: not a remapfs state file', got "
			   "'%s'\n",
			   err);
	g_assert_nonnull(strstr(err, "byte 0: not a remapfs state file"));
	g_free(cmd);
	g_free(err);
	g_free(mf);
	g_free(dump);
	g_free(again);
	g_free(state);
	g_free(opt);
	g_free(sf);
	rfs_test_free(m);
}

/* fusermount3 -u works at any moment after the mount returned: nothing
 * of the daemon's own keeps the mount busy (it used to stat its mount
 * point from a thread, and about 3 unmounts in 50 failed with EBUSY). */
static void test_cmdline_unmount_right_after_mount_works(void)
{
	for (int i = 0; i < 40; i++) {
		struct rfs_test_mount *m = rfs_test_prepare();
		g_assert_true(rfs_test_start(m, NULL));
		char *cmd = g_strdup_printf("%s -u %s",
					    g_getenv("FUSERMOUNT")
						? g_getenv("FUSERMOUNT")
						: "fusermount3",
					    m->mnt);
		char *err = NULL;
		int status = -1;
		g_assert_true(
		    g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
		if (status != 0)
			g_printerr("mount %d: expected '%s' to work, got "
				   "status %d: %s\n",
				   i, cmd, status, err);
		g_assert_cmpint(status, ==, 0);
		g_free(cmd);
		g_free(err);
		rfs_test_free(m);
	}
}

/* Every message is "remapfs[PID]: MOUNTPOINT: message": on stderr in the
 * foreground, in -o log=FILE (with the time) in the background, and
 * -o loglevel=warning keeps informational ones out. */
static void test_cmdline_messages_have_one_format_and_log_keeps_them(void)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	g_assert_true(rfs_test_start(m, NULL));
	g_assert_cmpint(rfs_ctl(m, "frobnicate\n"), ==, EINVAL);
	/* The process that serves says it: the supervisor's worker. */
	pid_t who = rfs_test_worker(m->pid);
	char *want = g_strdup_printf("remapfs[%ld]: %s: control: error: line "
				     "1: unknown command 'frobnicate'\n",
				     (long)(who > 0 ? who : m->pid), m->mnt);
	char *text = NULL;
	g_assert_true(g_file_get_contents(m->log, &text, NULL, NULL));
	if (!strstr(text, want))
		g_printerr("expected '%s' in the daemon's stderr:\n%s", want,
			   text);
	g_assert_nonnull(strstr(text, want));
	g_free(text);
	g_free(want);
	rfs_test_free(m);

	for (int quiet = 0; quiet < 2; quiet++) {
		m = rfs_test_prepare();
		char *log = g_build_filename(m->base, "remapfs.log", NULL);
		char *cmd = g_strdup_printf(
		    "%s -o log=%s%s %s %s", g_getenv("REMAPFS"), log,
		    quiet ? ",loglevel=warning" : "", m->src, m->mnt);
		int status = -1;
		g_assert_true(
		    g_spawn_command_line_sync(cmd, NULL, NULL, &status, NULL));
		g_assert_cmpint(status, ==, 0); /* in the background now */
		g_assert_cmpint(rfs_ctl(m, "frobnicate\n"), ==, EINVAL);
		want = g_strdup_printf(
		    ": %s: control: error: line 1: unknown command", m->mnt);
		text = NULL;
		g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
		bool found = strstr(text, want) && strstr(text, "remapfs[");
		if (found == (bool)quiet)
			g_printerr(
			    "-o log%s: expected %s '%s' in the file:\n%s",
			    quiet ? ",loglevel=warning" : "", quiet ? "no" : "",
			    want, text);
		g_assert_true(found != (bool)quiet);
		struct stat st;
		g_assert_cmpint(stat(log, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 0777, ==, 0600);
		g_free(text);
		g_free(want);
		g_free(cmd);
		g_free(log);
		rfs_test_free(m); /* unmounts; the daemon is not our child */
	}
}

/* Mounts m with mount.fuse3, as mount(8) does for an fstab line of type
 * fuse.remapfs with options opts; returns its exit status (stderr in
 * *err). */
static int run_mount_fuse3(struct rfs_test_mount *m, const char *opts,
			   char **err)
{
	char *cmd = g_strdup_printf("mount.fuse3 '%s#%s' %s -o %s",
				    g_getenv("REMAPFS"), m->src, m->mnt, opts);
	int status = -1;
	g_assert_true(g_spawn_command_line_sync(cmd, NULL, err, &status, NULL));
	g_free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The options of the mount on m's mount point in /proc/self/mounts, or
 * NULL when it is not mounted. */
static char *mount_options(struct rfs_test_mount *m)
{
	char *mounts = NULL, *res = NULL;
	g_file_get_contents("/proc/self/mounts", &mounts, NULL, NULL);
	char *key = g_strdup_printf(" %s fuse.remapfs ", m->mnt);
	char *at = mounts ? strstr(mounts, key) : NULL;
	if (at) {
		at += strlen(key);
		res = g_strndup(at, strcspn(at, " \n"));
	}
	g_free(key);
	g_free(mounts);
	return res;
}

/* mount.fuse3 -o drop_privileges mounts first and runs the daemon with
 * /dev/fd/N as MOUNTPOINT and without capabilities: it serves the mount
 * (acting as itself), and umount ends it. */
static void test_cmdline_mount_fuse3_drop_privileges(void)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	char *sf = rfs_src(m, "f");
	rfs_write_tagged(sf, 4, PS, 0);
	char *err = NULL;
	int status = run_mount_fuse3(m, "drop_privileges", &err);
	if (status != 0)
		g_printerr("mount.fuse3 -o drop_privileges: status %d: %s\n",
			   status, err);
	g_assert_cmpint(status, ==, 0);
	char *mf = rfs_mnt(m, "f");
	char buf[65536];
	g_assert_true(read_page(mf, 1, buf));
	g_assert_true(rfs_page_is(buf, PS, 1, "f through the mount"));
	g_assert_cmpint(rfs_ctl(m, "create v f 2\nremap v 0 3\n"), ==, 0);
	char *mv = rfs_mnt(m, "v");
	g_assert_true(read_page(mv, 0, buf));
	g_assert_true(rfs_page_is(buf, PS, 3, "v page 0"));
	g_free(mv);
	g_free(mf);
	g_free(sf);
	g_free(err);
	rfs_test_free(m); /* unmounts; the daemon is not our child */
}

static void test_cmdline_fstab_options_are_taken_or_applied(void)
{
	static const struct {
		const char *opts;
		const char *want, *unwanted; /* in the mount's options */
	} cases[] = {
	    {"defaults,relatime,lazytime,nodiratime,noauto,nofail,_netdev,"
	     "x-systemd.automount,comment=remapfs,iversion,nomand",
	     ",nodiratime,", ",noatime,"},
	    {"strictatime,diratime", ",rw,", "atime"},
	    {"noatime,nosymfollow", ",noatime,", ",relatime,"},
	    {"ro", "ro,", ",nodiratime,"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct rfs_test_mount *m = rfs_test_prepare();
		char *err = NULL;
		int status = run_mount_fuse3(m, cases[i].opts, &err);
		if (status != 0)
			g_printerr(
			    "-o %s: expected a mount, got status %d: %s\n",
			    cases[i].opts, status, err);
		g_assert_cmpint(status, ==, 0);
		char *have = mount_options(m);
		char *padded = g_strdup_printf(",%s,", have ? have : "");
		if (!strstr(padded, cases[i].want) ||
		    strstr(padded, cases[i].unwanted))
			g_printerr("-o %s: expected '%s' and not '%s' in the "
				   "mount's options, got '%s'\n",
				   cases[i].opts, cases[i].want,
				   cases[i].unwanted, have);
		g_assert_nonnull(strstr(padded, cases[i].want));
		g_assert_null(strstr(padded, cases[i].unwanted));
		g_free(padded);
		g_free(have);
		g_free(err);
		rfs_test_free(m);
	}
	/* Strict parsing for everything else. */
	struct rfs_test_mount *m = rfs_test_prepare();
	char *err = NULL;
	g_assert_cmpint(run_mount_fuse3(m, "relatime,bogus", &err), !=, 0);
	g_assert_nonnull(strstr(err, "bogus"));
	g_assert_null(mount_options(m));
	g_free(err);
	rfs_test_free(m);
}

static void test_cmdline_mount_fuse3_and_ro(void)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	char *sf = rfs_src(m, "f");
	rfs_write_tagged(sf, 4, PS, 0);
	/* mount.fuse3 runs the daemon the way mount -t fuse.remapfs and
	 * fstab do: remapfs SOURCE MOUNTPOINT -o OPTIONS. */
	char *cmd = g_strdup_printf("mount.fuse3 '%s#%s' %s -o ro,defaults",
				    g_getenv("REMAPFS"), m->src, m->mnt);
	int status = -1;
	char *err = NULL;
	g_assert_true(
	    g_spawn_command_line_sync(cmd, NULL, &err, &status, NULL));
	if (status != 0)
		g_printerr("%s: status %d: %s\n", cmd, status, err);
	g_assert_cmpint(status, ==, 0);
	char *mf = rfs_mnt(m, "f");
	int fd = open(mf, O_RDWR);
	g_assert_cmpint(fd, ==, -1);
	g_assert_cmpint(errno, ==, EROFS);
	/* The kernel's mount is read-only too: .control takes no command,
	 * and reads (views, the state dump) work. */
	g_assert_cmpint(rfs_ctl(m, "remap f 0 3\n"), ==, EROFS);
	char buf[65536];
	g_assert_true(read_page(mf, 0, buf));
	g_assert_true(rfs_page_is(buf, PS, 0, "ro view"));
	char *dump = rfs_dump(m);
	g_assert_nonnull(strstr(dump, "# remapfs state"));
	g_free(dump);
	char *mounts = NULL;
	g_file_get_contents("/proc/self/mounts", &mounts, NULL, NULL);
	char *line = g_strdup_printf("%s %s fuse.remapfs ro,", m->src, m->mnt);
	if (!strstr(mounts, line))
		g_printerr("expected '%s' in /proc/self/mounts:\n%s", line,
			   mounts);
	g_assert_nonnull(strstr(mounts, line));
	g_free(line);
	g_free(mounts);
	g_free(mf);
	g_free(sf);
	g_free(cmd);
	g_free(err);
	rfs_test_free(m); /* unmounts; the daemon is not our child */
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	PS = (size_t)sysconf(_SC_PAGESIZE);
	rfs_test_watchdog(600, "test-mount");

#define ADD(path, fn, opts)                                                    \
	g_test_add(path, Fixture, opts, fx_setup, fn, fx_teardown)
	ADD("/mirror/lists-and-reads-source",
	    test_mirror_lists_and_reads_source, opts_default);
	ADD("/mirror/symlinks-shown-not-followed",
	    test_mirror_symlinks_shown_not_followed, opts_default);
	ADD("/mirror/file-operations", test_mirror_file_operations,
	    opts_default);
	ADD("/mirror/copy-tree-with-cp-and-tar",
	    test_mirror_copy_tree_with_cp_and_tar, opts_default);
	ADD("/mirror/sqlite-journal-and-wal",
	    test_mirror_sqlite_journal_and_wal, opts_default);
	ADD("/mirror/posix-locks-between-processes",
	    test_mirror_posix_locks_between_processes, opts_default);
	ADD("/control/every-command-applies",
	    test_control_every_command_applies, opts_default);
	ADD("/control/errors-give-errno-message-and-change-nothing",
	    test_control_errors_give_errno_message_and_change_nothing,
	    opts_default);
	ADD("/control/line-split-across-writes",
	    test_control_line_split_across_writes, opts_default);
	ADD("/control/refuses-other-users", test_control_refuses_other_users,
	    opts_other);
	ADD("/mmap/existing-mapping-sees-reversed-pages",
	    test_mmap_existing_mapping_sees_reversed_pages, opts_default);
	ADD("/mmap/existing-mapping-sees-reversed-pages-single-threaded",
	    test_mmap_existing_mapping_sees_reversed_pages, opts_single);
	ADD("/mmap/remap-keeps-other-pages-cached",
	    test_mmap_remap_keeps_other_pages_cached, opts_default);
	ADD("/mmap/dirty-pages-land-in-old-backing",
	    test_mmap_dirty_pages_land_in_old_backing, opts_default);
	ADD("/mmap/dirty-pages-land-in-old-backing-single-threaded",
	    test_mmap_dirty_pages_land_in_old_backing, opts_single);
	ADD("/mmap/write-extends-past-backing-end",
	    test_mmap_write_extends_past_backing_end, opts_default);
	ADD("/state/dump-round-trips-into-fresh-mount",
	    test_state_dump_round_trips_into_fresh_mount, opts_default);
	ADD("/virtual/view-aliases-read-and-mmapped",
	    test_virtual_view_aliases_read_and_mmapped, opts_default);
	ADD("/virtual/view-rename-and-truncate",
	    test_virtual_view_rename_and_truncate, opts_default);
	ADD("/coherence/write-reaches-every-alias",
	    test_coherence_write_reaches_every_alias, opts_default);
	ADD("/coherence/write-reaches-every-alias-single-threaded",
	    test_coherence_write_reaches_every_alias, opts_single);
	ADD("/coherence/watch-sees-outside-writes",
	    test_coherence_watch_sees_outside_writes, opts_watch);
	ADD("/coherence/watch-sees-outside-truncation",
	    test_coherence_watch_sees_outside_truncation, opts_watch);
	ADD("/coherence/truncated-and-deleted-backing",
	    test_coherence_truncated_and_deleted_backing, opts_default);
	g_test_add_func("/cmdline/errors-are-one-clear-line",
			test_cmdline_errors_are_one_clear_line);
	g_test_add_func("/cmdline/pagesize-option-sets-view-pages",
			test_cmdline_pagesize_option_sets_view_pages);
	g_test_add_func("/cmdline/state-option-keeps-state-across-mounts",
			test_cmdline_state_option_keeps_state_across_mounts);
	g_test_add_func(
	    "/cmdline/messages-have-one-format-and-log-keeps-them",
	    test_cmdline_messages_have_one_format_and_log_keeps_them);
	g_test_add_func("/cmdline/unmount-right-after-mount-works",
			test_cmdline_unmount_right_after_mount_works);
	char *mount_fuse3 = g_find_program_in_path("mount.fuse3");
	if (mount_fuse3) {
		g_test_add_func("/cmdline/mount-fuse3-and-ro",
				test_cmdline_mount_fuse3_and_ro);
		g_test_add_func("/cmdline/mount-fuse3-drop-privileges",
				test_cmdline_mount_fuse3_drop_privileges);
		g_test_add_func(
		    "/cmdline/fstab-options-are-taken-or-applied",
		    test_cmdline_fstab_options_are_taken_or_applied);
	}
	g_free(mount_fuse3);
	return g_test_run();
}
