/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-trust.c - what another user can and cannot do through a mount, and
 * what shells and tools do to existing files: every operation on SOURCE
 * is done as the caller, allow_other implies default_permissions, virtual
 * views are the mount's state, O_TRUNC truncates, the caller's umask is
 * the only one, and a replaced backing file never swallows bytes. */
#define _GNU_SOURCE /* memrchr */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OTHER "setpriv --reuid=65534 --regid=65534 --clear-groups"

typedef struct {
	struct rfs_test_mount *m;
} Fixture;

static const char *const opts_other[] = {"-o", "allow_other", NULL};
static const char *const opts_default[] = {NULL};

/* Whether this process may act as another user (root with setpriv). */
static bool can_switch_users(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to act as another user");
		return false;
	}
	if (rfs_sh_quiet("command -v setpriv >/dev/null") != 0) {
		g_test_skip("setpriv (util-linux) is not installed");
		return false;
	}
	return true;
}

/* Mounts a fresh remapfs over a SOURCE holding a root 0600 file
 * "secret", a root 0644 file "a", and a 1777 directory "pub". */
static void fx_setup(Fixture *f, gconstpointer data)
{
	f->m = rfs_test_prepare();
	g_assert_cmpint(chmod(f->m->base, 0755), ==, 0);
	g_assert_cmpint(
	    rfs_sh_quiet("cd '%s' && echo secret > secret && chmod 600 "
			 "secret && echo 'hello world' > a && chmod 644 a "
			 "&& mkdir pub && chmod 1777 pub",
			 f->m->src),
	    ==, 0);
	if (!rfs_test_start(f->m, data))
		g_error("mount failed");
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	rfs_test_free(f->m);
}

/* Asserts that the file rel of SOURCE has mode, owner and contents. */
static void assert_source_file(Fixture *f, const char *rel, mode_t mode,
			       uid_t uid, const char *contents)
{
	char *p = rfs_src(f->m, rel);
	struct stat st;
	char *text = NULL;
	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, mode);
	g_assert_cmpint(st.st_uid, ==, uid);
	if (contents) {
		g_assert_true(g_file_get_contents(p, &text, NULL, NULL));
		g_assert_cmpstr(text, ==, contents);
	}
	g_free(text);
	g_free(p);
}

/* Runs a shell command (printf-style) as the other user and asserts that
 * it fails. */
static void G_GNUC_PRINTF(1, 2) other_fails(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *full = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	int rc = rfs_sh_quiet(OTHER " sh -c '%s' 2>/dev/null", full);
	if (rc == 0)
		g_printerr("expected to fail as uid 65534, but it worked: %s\n",
			   full);
	g_assert_cmpint(rc, !=, 0);
	g_free(full);
}

static void test_other_user_cannot_touch_root_0600_file(Fixture *f,
							gconstpointer d)
{
	if (!can_switch_users())
		return;
	other_fails("cat %1$s/secret", f->m->mnt);
	other_fails("echo pwned > %1$s/secret", f->m->mnt);
	other_fails("echo pwned >> %1$s/secret", f->m->mnt);
	other_fails("truncate -s 0 %1$s/secret", f->m->mnt);
	other_fails("chmod 666 %1$s/secret", f->m->mnt);
	other_fails("chown 65534 %1$s/secret", f->m->mnt);
	other_fails("touch -d 2001-01-01 %1$s/secret", f->m->mnt);
	other_fails("rm -f %1$s/secret", f->m->mnt);
	other_fails("mv %1$s/secret %1$s/pub/", f->m->mnt);
	other_fails("ln %1$s/secret %1$s/pub/hard", f->m->mnt);
	other_fails("truncate -s 0 %1$s/a", f->m->mnt);
	other_fails("echo pwned > %1$s/a", f->m->mnt);
	other_fails("rm -f %1$s/a", f->m->mnt);
	other_fails("touch %1$s/new-in-root", f->m->mnt);
	other_fails("mkdir %1$s/dir-in-root", f->m->mnt);
	assert_source_file(f, "secret", 0600, 0, "secret\n");
	assert_source_file(f, "a", 0644, 0, "hello world\n");
	char *p = rfs_src(f->m, "pub/hard");
	g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);
	p = rfs_src(f->m, "new-in-root");
	g_assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
	g_free(p);
}

static void test_other_user_cannot_make_setuid_root_shell(Fixture *f,
							  gconstpointer d)
{
	if (!can_switch_users())
		return;
	/* The reproducer of the root hole: copy a shell into a 1777
	 * directory, give it to root, make it setuid. */
	int rc = rfs_sh_quiet(
	    OTHER " sh -c 'cp /bin/sh %s/pub/x && chown 0:0 %s/pub/x "
		  "&& chmod 4755 %s/pub/x' 2>/dev/null",
	    f->m->mnt, f->m->mnt, f->m->mnt);
	g_assert_cmpint(rc, !=, 0);
	assert_source_file(f, "pub/x", 0755, 65534, NULL);
	/* What the user made is theirs, and they may change it. */
	g_assert_cmpint(rfs_sh_quiet(OTHER " chmod 700 %s/pub/x", f->m->mnt),
			==, 0);
	assert_source_file(f, "pub/x", 0700, 65534, NULL);
	g_assert_cmpint(rfs_sh_quiet(OTHER " mkdir %s/pub/d && " OTHER
					   " ln -s x %s/pub/l",
				     f->m->mnt, f->m->mnt),
			==, 0);
	char *p = rfs_src(f->m, "pub/d");
	struct stat st;
	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_assert_cmpint(st.st_uid, ==, 65534);
	g_free(p);
	p = rfs_src(f->m, "pub/l");
	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_assert_cmpint(st.st_uid, ==, 65534);
	g_free(p);
	/* The sticky directory protects root's files from them. */
	g_assert_cmpint(rfs_sh_quiet("echo root > %s/pub/rootfile", f->m->mnt),
			==, 0);
	other_fails("rm -f %1$s/pub/rootfile", f->m->mnt);
	other_fails("mv %1$s/pub/rootfile %1$s/pub/stolen", f->m->mnt);
	assert_source_file(f, "pub/rootfile", 0644, 0, "root\n");
}

/* A writer who is not the owner clears set-id bits, as on a local file
 * system, and its write lands; a chmod of its own it may still not do. */
static void test_writer_who_is_not_owner_clears_setid_bits(Fixture *f,
							   gconstpointer d)
{
	if (!can_switch_users())
		return;
	g_assert_cmpint(
	    rfs_sh_quiet("cd '%s' && echo hi > su && chmod 4777 su && "
			 "echo hi > sg && chmod 2777 sg && echo hi > own "
			 "&& chmod 4755 own",
			 f->m->src),
	    ==, 0);
	int rc = rfs_sh_quiet(OTHER " sh -c 'echo more >> %s/su'", f->m->mnt);
	if (rc != 0)
		g_printerr("appending to a root 4777 file as uid 65534 failed "
			   "(expected it to work, as on ext4)\n");
	g_assert_cmpint(rc, ==, 0);
	assert_source_file(f, "su", 0777, 0, "hi\nmore\n");
	g_assert_cmpint(rfs_sh_quiet(OTHER " truncate -s 0 %s/sg", f->m->mnt),
			==, 0);
	assert_source_file(f, "sg", 0777, 0, "");
	other_fails("chmod 755 %s/own", f->m->mnt);
	other_fails("echo x >> %s/own", f->m->mnt);
	assert_source_file(f, "own", 04755, 0, "hi\n");
}

static void test_other_user_cannot_read_or_change_virtual_views(Fixture *f,
								gconstpointer d)
{
	if (!can_switch_users())
		return;
	g_assert_cmpint(rfs_ctl(f->m, "create v secret\ncreate pub/w a\n"), ==,
			0);
	other_fails("cat %1$s/v", f->m->mnt);
	other_fails("rm -f %1$s/v", f->m->mnt);
	other_fails("truncate -s 0 %1$s/v", f->m->mnt);
	other_fails("mv %1$s/v %1$s/pub/v2", f->m->mnt);
	/* Readable backing, writable directory: still the mount's state. */
	g_assert_cmpint(
	    rfs_sh_quiet(OTHER " cat %s/pub/w >/dev/null", f->m->mnt), ==, 0);
	other_fails("rm -f %1$s/pub/w", f->m->mnt);
	other_fails("truncate -s 0 %1$s/pub/w", f->m->mnt);
	other_fails("mv %1$s/pub/w %1$s/pub/w2", f->m->mnt);
	other_fails(": > %1$s/pub/w", f->m->mnt);
	char *dump = rfs_dump(f->m);
	g_assert_nonnull(strstr(dump, "create pub/w a 1\n"));
	g_assert_nonnull(strstr(dump, "create v secret 1\n"));
	g_free(dump);
	assert_source_file(f, "secret", 0600, 0, "secret\n");
	/* The view shows its backing file's owner and mode. */
	char *v = rfs_mnt(f->m, "v");
	struct stat st;
	g_assert_cmpint(stat(v, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	g_assert_cmpint(st.st_uid, ==, 0);
	g_free(v);
	/* The owner still may. */
	g_assert_cmpint(rfs_sh_quiet("mv %s/pub/w %s/pub/w2 && rm %s/pub/w2",
				     f->m->mnt, f->m->mnt, f->m->mnt),
			==, 0);
}

static void test_allow_other_implies_default_permissions(Fixture *f,
							 gconstpointer d)
{
	char *mounts = NULL;
	g_assert_true(
	    g_file_get_contents("/proc/self/mounts", &mounts, NULL, NULL));
	char *start = strstr(mounts, f->m->mnt);
	g_assert_nonnull(start);
	char *eol = start ? strchr(start, '\n') : NULL;
	char *line = start ? g_strndup(start, (gsize)(eol - start)) : NULL;
	if (line && !strstr(line, "default_permissions"))
		g_printerr("mount line without default_permissions: %s\n",
			   line);
	g_assert_true(line && strstr(line, "default_permissions"));
	g_assert_true(line && strstr(line, "allow_other"));
	g_free(line);
	g_free(mounts);
}

static void test_without_allow_other_other_users_reach_nothing(Fixture *f,
							       gconstpointer d)
{
	if (!can_switch_users())
		return;
	other_fails("ls %1$s", f->m->mnt);
	other_fails("cat %1$s/a", f->m->mnt);
	other_fails("touch %1$s/pub/x", f->m->mnt);
	/* The mounting user works as before. */
	g_assert_cmpint(
	    rfs_sh_quiet("cat %s/secret >/dev/null && touch %s/pub/x",
			 f->m->mnt, f->m->mnt),
	    ==, 0);
	assert_source_file(f, "pub/x", 0644, 0, "");
}

/* ---- what shells and tools do ---- */

/* Returns the size, mtime and ctime of a SOURCE file. */
static void source_times(Fixture *f, const char *rel, struct stat *st)
{
	char *p = rfs_src(f->m, rel);
	g_assert_cmpint(stat(p, st), ==, 0);
	g_free(p);
}

static void test_open_o_trunc_truncates_existing_file(Fixture *f,
						      gconstpointer d)
{
	/* The shell's '>' onto an existing, longer file. */
	g_assert_cmpint(
	    rfs_sh_quiet("echo 'hello world' > %s/b && echo x > %s/b",
			 f->m->mnt, f->m->mnt),
	    ==, 0);
	assert_source_file(f, "b", 0644, geteuid(), "x\n");
	static const int flags[] = {O_WRONLY | O_TRUNC, O_RDWR | O_TRUNC,
				    O_WRONLY | O_TRUNC | O_CREAT,
				    O_RDWR | O_TRUNC | O_CREAT};
	char *mb = rfs_mnt(f->m, "b");
	for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
		g_assert_cmpint(
		    rfs_sh_quiet("echo 'a longer line' > %s/b", f->m->src), ==,
		    0);
		struct stat before, after;
		source_times(f, "b", &before);
		g_usleep(20000);
		int fd = open(mb, flags[i], 0644);
		g_assert_cmpint(fd, >=, 0);
		struct stat through;
		g_assert_cmpint(fstat(fd, &through), ==, 0);
		g_assert_cmpint(through.st_size, ==, 0);
		g_assert_cmpint(write(fd, "y", 1), ==, 1);
		g_assert_cmpint(close(fd), ==, 0);
		source_times(f, "b", &after);
		if (after.st_size != 1)
			g_printerr("open flags %#x: size %lld, expected 1\n",
				   flags[i], (long long)after.st_size);
		g_assert_cmpint(after.st_size, ==, 1);
		g_assert_true(after.st_mtim.tv_sec > before.st_mtim.tv_sec ||
			      after.st_mtim.tv_nsec != before.st_mtim.tv_nsec);
		g_assert_true(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
			      after.st_ctim.tv_nsec != before.st_ctim.tv_nsec);
	}
	/* A file whose view is remapped: truncation drops its map too. */
	g_assert_cmpint(
	    rfs_sh_quiet("head -c 16384 /dev/zero > %s/b", f->m->mnt), ==, 0);
	g_assert_cmpint(rfs_ctl(f->m, "remap b 0 3\n"), ==, 0);
	g_assert_cmpint(rfs_sh_quiet(": > %s/b", f->m->mnt), ==, 0);
	char *dump = rfs_dump(f->m);
	g_assert_null(strstr(dump, "remap b"));
	g_free(dump);
	g_free(mb);
}

/* The mode of a SOURCE entry. */
static mode_t source_mode(Fixture *f, const char *rel)
{
	char *p = rfs_src(f->m, rel);
	struct stat st;
	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_free(p);
	return st.st_mode & 07777;
}

static void test_umask_of_the_caller_is_the_only_one(Fixture *f,
						     gconstpointer d)
{
	g_assert_cmpint(
	    rfs_sh_quiet("cd %s && umask 0 && : > f0 && mkdir d0 && "
			 "mknod p0 p && umask 077 && : > f7 && mkdir d7 && "
			 "mknod p7 p && umask 022 && : > f2",
			 f->m->mnt),
	    ==, 0);
	g_assert_cmpint(source_mode(f, "f0"), ==, 0666);
	g_assert_cmpint(source_mode(f, "d0"), ==, 0777);
	g_assert_cmpint(source_mode(f, "p0"), ==, 0666);
	g_assert_cmpint(source_mode(f, "f7"), ==, 0600);
	g_assert_cmpint(source_mode(f, "d7"), ==, 0700);
	g_assert_cmpint(source_mode(f, "p7"), ==, 0600);
	g_assert_cmpint(source_mode(f, "f2"), ==, 0644);
}

static void test_replaced_backing_never_swallows_bytes(Fixture *f,
						       gconstpointer d)
{
	char *ps = g_strdup_printf("%ld", sysconf(_SC_PAGESIZE));
	g_assert_cmpint(
	    rfs_sh_quiet("head -c $((8 * %s)) /dev/zero | tr '\\0' o > "
			 "%s/b",
			 ps, f->m->src),
	    ==, 0);
	g_assert_cmpint(rfs_ctl(f->m, "create v b 8\n"), ==, 0);
	/* A descriptor open on the view before the backing is replaced. */
	char *mv = rfs_mnt(f->m, "v"), *mb = rfs_mnt(f->m, "b");
	int fd = open(mv, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	struct stat st; /* the kernel now caches the name b */
	g_assert_cmpint(stat(mb, &st), ==, 0);
	/* What editors and cp+mv do, outside the mount. */
	g_assert_cmpint(
	    rfs_sh_quiet("cd %s && cp b b.new && echo new > b.new && "
			 "mv b.new b",
			 f->m->src),
	    ==, 0);
	errno = 0;
	ssize_t n = pwrite(fd, "lost?", 5, 0);
	if (n >= 0)
		g_printerr(
		    "a write to the view of a replaced file returned %zd "
		    "(expected ESTALE)\n",
		    n);
	g_assert_cmpint(n, ==, -1);
	g_assert_cmpint(errno, ==, ESTALE);
	close(fd);
	/* New opens of the virtual view fail the same way. */
	errno = 0;
	g_assert_cmpint(open(mv, O_RDWR), ==, -1);
	g_assert_cmpint(errno, ==, ESTALE);
	/* The file view follows the name: opened again it is the new file,
	 * and what is written lands in it. */
	g_assert_cmpint(
	    rfs_sh_quiet("grep -qx new %s && echo more >> %s", mb, mb), ==, 0);
	assert_source_file(f, "b", 0644, geteuid(), "new\nmore\n");
	g_free(ps);
	g_free(mv);
	g_free(mb);
}

/* ---- .control: what a write is ---- */

/* The largest write the kernel never splits (one page less than the
 * daemon's largest request of 1 MiB less 4 pages). */
static size_t write_limit(void)
{
	return ((size_t)1 << 20) - 5 * (size_t)sysconf(_SC_PAGESIZE);
}

/* Fills buf[0..len) with lines "remap f 1 2 1\n"-like (changing the state
 * when applied), the last line being last (padded with spaces before it
 * to reach len exactly). */
static void fill_lines(char *buf, size_t len, const char *last)
{
	static const char line[] = "remap f 1 2 1\n";
	size_t ll = strlen(line), tail = strlen(last), i = 0;
	while (i + ll + tail + 1 <= len) {
		memcpy(buf + i, line, ll);
		i += ll;
	}
	memset(buf + i, ' ', len - tail - i);
	memcpy(buf + len - tail, last, tail);
}

/* Writes len bytes from an offset of align into a page-aligned buffer on
 * a new descriptor of .control; returns write()'s result, errno in *err. */
static ssize_t control_write_at(Fixture *f, const char *text, size_t len,
				size_t align, int *err)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	char *mem = NULL;
	g_assert_cmpint(posix_memalign((void **)&mem, ps, len + ps), ==, 0);
	memcpy(mem + align, text, len);
	int fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	errno = 0;
	ssize_t n = write(fd, mem + align, len);
	*err = errno;
	close(fd);
	free(mem);
	return n;
}

/* Whether the state has a remap of SOURCE's f (what fill_lines writes). */
static bool state_remaps_f(Fixture *f)
{
	char *dump = rfs_dump(f->m);
	bool res = strstr(dump, "remap f ") != NULL;
	g_free(dump);
	return res;
}

static void
test_write_up_to_the_limit_is_one_transaction_at_any_alignment(Fixture *f,
							       gconstpointer d)
{
	g_assert_cmpint(
	    rfs_sh_quiet("head -c 65536 /dev/zero > %s/f", f->m->src), ==, 0);
	size_t len = write_limit();
	char *text = g_malloc(len);
	fill_lines(text, len, "remap f 99999 0\n"); /* past the end */
	static const size_t aligns[] = {0, 1, 912, 2048, 4095};
	for (size_t i = 0; i < G_N_ELEMENTS(aligns); i++) {
		int err;
		ssize_t n = control_write_at(f, text, len, aligns[i], &err);
		if (n != -1 || err != ERANGE)
			g_printerr("alignment %zu: write returned %zd (%s), "
				   "expected -1 (ERANGE)\n",
				   aligns[i], n, g_strerror(err));
		g_assert_cmpint(n, ==, -1);
		g_assert_cmpint(err, ==, ERANGE);
		g_assert_false(state_remaps_f(f));
	}
	/* The same size, all good: applied, whole. */
	fill_lines(text, len, "remap f 3 4 1\n");
	int err;
	g_assert_cmpint(control_write_at(f, text, len, 912, &err), ==,
			(ssize_t)len);
	g_assert_true(state_remaps_f(f));
	g_free(text);
}

static void test_write_over_the_limit_fails_whole(Fixture *f, gconstpointer d)
{
	g_assert_cmpint(
	    rfs_sh_quiet("head -c 65536 /dev/zero > %s/f", f->m->src), ==, 0);
	static const size_t extra[] = {1, 4096, 100000};
	static const size_t aligns[] = {0, 912, 4095};
	for (size_t e = 0; e < G_N_ELEMENTS(extra); e++)
		for (size_t i = 0; i < G_N_ELEMENTS(aligns); i++) {
			size_t len = write_limit() + extra[e];
			char *text = g_malloc(len);
			fill_lines(text, len, "remap f 3 4 1\n");
			int err;
			ssize_t n =
			    control_write_at(f, text, len, aligns[i], &err);
			if (n != -1 || err != E2BIG)
				g_printerr("%zu bytes at alignment %zu: write "
					   "returned %zd (%s), expected -1 "
					   "(E2BIG)\n",
					   len, aligns[i], n, g_strerror(err));
			g_assert_cmpint(n, ==, -1);
			g_assert_cmpint(err, ==, E2BIG);
			g_assert_false(state_remaps_f(f));
			g_free(text);
		}
}

static void test_over_long_line_never_runs_its_tail(Fixture *f, gconstpointer d)
{
	g_assert_cmpint(
	    rfs_sh_quiet("head -c 65536 /dev/zero > %s/f", f->m->src), ==, 0);
	/* '#', 2,100,000 spaces, a command: written in pieces by a loop
	 * that carries on after errors, and in one write. */
	size_t len = 1 + 2100000 + strlen("remap f 0 5 1\n");
	char *text = g_malloc(len);
	text[0] = '#';
	memset(text + 1, ' ', 2100000);
	memcpy(text + 1 + 2100000, "remap f 0 5 1\n", 14);
	int fd = open(f->m->control, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	int failures = 0;
	for (size_t off = 0; off < len; off += 65536) {
		size_t n = MIN(65536, len - off);
		if (write(fd, text + off, n) < 0) {
			g_assert_cmpint(errno, ==, E2BIG);
			failures++;
		}
	}
	char msg[256] = "";
	ssize_t r = read(fd, msg, sizeof(msg) - 1);
	msg[r > 0 ? r : 0] = '\0';
	close(fd);
	g_assert_cmpint(failures, >, 0);
	g_assert_nonnull(strstr(msg, "longer than"));
	g_assert_false(state_remaps_f(f));
	int err;
	g_assert_cmpint(control_write_at(f, text, len, 0, &err), ==, -1);
	g_assert_cmpint(err, ==, E2BIG);
	g_assert_false(state_remaps_f(f));
	g_free(text);
}

/* Whether the mount shows a view v. */
static bool view_v_exists(Fixture *f)
{
	char *v = rfs_mnt(f->m, "v");
	bool res = g_file_test(v, G_FILE_TEST_EXISTS);
	g_free(v);
	return res;
}

static void test_begin_commit_applies_a_large_transaction_whole(Fixture *f,
								gconstpointer d)
{
	const unsigned n = 300000;
	g_assert_cmpint(rfs_sh_quiet("truncate -s 2G %s/big", f->m->src), ==,
			0);
	GString *text = g_string_new("begin\n");
	g_string_append_printf(text, "create v big %u\n", n);
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(text, "remap v %u %u 1\n", i,
				       (i * 7) % n + n);
	size_t body = text->len;
	g_string_append(text, "commit\n");
	int fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	size_t off = 0, limit = write_limit();
	while (off < text->len) {
		size_t chunk = MIN(limit, text->len - off);
		g_assert_cmpint(write(fd, text->str + off, chunk), ==,
				(ssize_t)chunk);
		off += chunk;
		if (off < body) /* nothing shows before commit */
			g_assert_false(view_v_exists(f));
	}
	g_assert_cmpint(close(fd), ==, 0);
	/* All of it, and reading .control gives all of it back. */
	char *dump = rfs_dump(f->m);
	/* Line by line with memchr: strstr (and g_strsplit, which uses it)
	 * is quadratic here under AddressSanitizer, which measures the rest
	 * of the string at every call. */
	unsigned lines = 0;
	size_t dlen = strlen(dump);
	for (const char *l = dump; l < dump + dlen;) {
		const char *nl = memchr(l, '\n', (size_t)(dump + dlen - l));
		lines += strncmp(l, "remap v ", 8) == 0;
		l = nl ? nl + 1 : dump + dlen;
	}
	g_assert_cmpuint(lines, ==, n);
	g_free(dump);
	/* A failing line near the end: nothing of it applies. */
	g_string_truncate(text, body);
	g_string_append(text, "remap v 999999999 0\ncommit\n");
	g_string_overwrite(text, 6, "create w");
	fd = open(f->m->control, O_WRONLY);
	ssize_t res = 0;
	for (off = 0; off < text->len && res >= 0; off += (size_t)res)
		res = write(fd, text->str + off, MIN(limit, text->len - off));
	g_assert_cmpint(res, ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	close(fd);
	char *w = rfs_mnt(f->m, "w");
	g_assert_false(g_file_test(w, G_FILE_TEST_EXISTS));
	g_free(w);
	g_string_free(text, TRUE);
}

static void test_close_without_commit_drops_it_and_close_fails(Fixture *f,
							       gconstpointer d)
{
	g_assert_cmpint(
	    rfs_sh_quiet("head -c 65536 /dev/zero > %s/f", f->m->src), ==, 0);
	int fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(write(fd, "begin\nremap f 1 2\n", 18), ==, 18);
	g_assert_false(state_remaps_f(f));
	errno = 0;
	g_assert_cmpint(close(fd), ==, -1);
	g_assert_cmpint(errno, ==, ECANCELED);
	g_assert_false(state_remaps_f(f));
	/* abort drops it too, and the descriptor goes on. */
	fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(write(fd, "begin\nremap f 1 2\n", 18), ==, 18);
	g_assert_cmpint(write(fd, "abort\n", 6), ==, 6);
	g_assert_cmpint(write(fd, "remap f 3 4\n", 12), ==, 12);
	g_assert_cmpint(close(fd), ==, 0);
	char *dump = rfs_dump(f->m);
	g_assert_nonnull(strstr(dump, "remap f 3 4 1\n"));
	g_assert_null(strstr(dump, "remap f 1 2"));
	g_free(dump);
}

static void
test_large_transaction_off_the_lock_reaches_live_mappings(Fixture *f,
							  gconstpointer d)
{
	/* 80,000 scattered runs (over RFS_COW_RUNS): later transactions on
	 * this view are applied to copies off the lock and swapped in. */
	const unsigned n = 80000, m = 1024; /* view pages, file pages */
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	char *sb = rfs_src(f->m, "tagged");
	rfs_write_tagged(sb, m, ps, 0);
	g_free(sb);
	GString *text = g_string_new("begin\n");
	g_string_append_printf(text, "create v tagged %u\n", n);
	for (unsigned i = 0; i < n; i++)
		g_string_append_printf(text, "remap v %u %u 1\n", i,
				       (i * 7) % m);
	g_string_append(text, "commit\n");
	int fd = open(f->m->control, O_WRONLY);
	size_t limit = write_limit();
	for (size_t off = 0; off < text->len;) {
		size_t chunk = MIN(limit, text->len - off);
		const char *nl = memrchr(text->str + off, '\n', chunk);
		chunk = (size_t)(nl + 1 - (text->str + off));
		g_assert_cmpint(write(fd, text->str + off, chunk), ==,
				(ssize_t)chunk);
		off += chunk;
	}
	g_assert_cmpint(close(fd), ==, 0);
	char *mv = rfs_mnt(f->m, "v");
	int vfd = open(mv, O_RDONLY);
	g_assert_cmpint(vfd, >=, 0);
	uint8_t *map =
	    mmap(NULL, (size_t)n * ps, PROT_READ, MAP_SHARED, vfd, 0);
	g_assert_true(map != MAP_FAILED);
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i += 97)
		bad += rfs_page_tag(map + (size_t)i * ps, ps) !=
		       (int64_t)((i * 7) % m);
	g_assert_cmpuint(bad, ==, 0);
	/* One command, a view of 80,000 runs: off the lock.  Then 5,000
	 * views made and removed in one transaction, with the reset. */
	GString *t2 = g_string_new("begin\nreset v\n");
	for (unsigned i = 0; i < 5000; i++)
		g_string_append_printf(t2, "create w%u tagged 2\n", i);
	for (unsigned i = 0; i < 5000; i += 2)
		g_string_append_printf(t2, "remove w%u\n", i);
	g_string_append(t2, "commit\n");
	fd = open(f->m->control, O_WRONLY);
	g_assert_cmpint(write(fd, t2->str, t2->len), ==, (ssize_t)t2->len);
	g_assert_cmpint(close(fd), ==, 0);
	for (unsigned i = 0; i < n; i += 97) /* zeros past the file */
		bad += rfs_page_tag(map + (size_t)i * ps, ps) !=
		       (int64_t)(i < m ? i : 0);
	if (bad)
		g_printerr("%u sampled pages of the live mapping do not show "
			   "the reset\n",
			   bad);
	g_assert_cmpuint(bad, ==, 0);
	char *dump = rfs_dump(f->m);
	g_assert_null(strstr(dump, "remap v "));
	g_assert_nonnull(strstr(dump, "create w1 tagged 2\n"));
	g_assert_nonnull(strstr(dump, "create w4999 tagged 2\n"));
	g_assert_null(strstr(dump, "create w0 "));
	g_assert_null(strstr(dump, "create w4998 "));
	char *w1 = rfs_mnt(f->m, "w1"), *w0 = rfs_mnt(f->m, "w0");
	g_assert_true(g_file_test(w1, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(w0, G_FILE_TEST_EXISTS));
	g_free(w1);
	g_free(w0);
	g_free(dump);
	munmap(map, (size_t)n * ps);
	close(vfd);
	g_free(mv);
	g_string_free(t2, TRUE);
	g_string_free(text, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	rfs_test_watchdog(300, "test-trust");
#define ADD(path, fn, opts)                                                    \
	g_test_add(path, Fixture, opts, fx_setup, fn, fx_teardown)
	ADD("/trust/other-user-cannot-touch-root-0600-file",
	    test_other_user_cannot_touch_root_0600_file, opts_other);
	ADD("/trust/other-user-cannot-make-setuid-root-shell",
	    test_other_user_cannot_make_setuid_root_shell, opts_other);
	ADD("/trust/writer-who-is-not-owner-clears-setid-bits",
	    test_writer_who_is_not_owner_clears_setid_bits, opts_other);
	ADD("/trust/other-user-cannot-read-or-change-virtual-views",
	    test_other_user_cannot_read_or_change_virtual_views, opts_other);
	ADD("/trust/allow-other-implies-default-permissions",
	    test_allow_other_implies_default_permissions, opts_other);
	ADD("/trust/without-allow-other-other-users-reach-nothing",
	    test_without_allow_other_other_users_reach_nothing, opts_default);
	ADD("/shell/open-o-trunc-truncates-existing-file",
	    test_open_o_trunc_truncates_existing_file, opts_default);
	ADD("/shell/umask-of-the-caller-is-the-only-one",
	    test_umask_of_the_caller_is_the_only_one, opts_default);
	ADD("/shell/replaced-backing-never-swallows-bytes",
	    test_replaced_backing_never_swallows_bytes, opts_default);
	ADD("/control/"
	    "write-up-to-the-limit-is-one-transaction-at-any-alignment",
	    test_write_up_to_the_limit_is_one_transaction_at_any_alignment,
	    opts_default);
	ADD("/control/write-over-the-limit-fails-whole",
	    test_write_over_the_limit_fails_whole, opts_default);
	ADD("/control/over-long-line-never-runs-its-tail",
	    test_over_long_line_never_runs_its_tail, opts_default);
	ADD("/control/begin-commit-applies-a-large-transaction-whole",
	    test_begin_commit_applies_a_large_transaction_whole, opts_default);
	ADD("/control/close-without-commit-drops-it-and-close-fails",
	    test_close_without_commit_drops_it_and_close_fails, opts_default);
	ADD("/control/large-transaction-off-the-lock-reaches-live-mappings",
	    test_large_transaction_off_the_lock_reaches_live_mappings,
	    opts_default);
	return g_test_run();
}
