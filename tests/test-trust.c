/* test-trust.c - what another user can and cannot do through a mount, and
 * what shells and tools do to existing files: every operation on SOURCE
 * is done as the caller, allow_other implies default_permissions, virtual
 * views are the mount's state, O_TRUNC truncates, the caller's umask is
 * the only one, and a replaced backing file never swallows bytes. */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OTHER "setpriv --reuid=65534 --regid=65534 --clear-groups"

typedef struct {
	struct rfs_test_mount *m;
} Fixture;

static const char *const opts_other[] = {"-o", "allow_other", NULL};
static const char *const opts_default[] = {NULL};

/* Runs a shell command; returns its exit status (-1 when it died). */
static int G_GNUC_PRINTF(1, 2) sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *cmd = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	int status = system(cmd);
	g_free(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether this process may act as another user (root with setpriv). */
static bool can_switch_users(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root to act as another user");
		return false;
	}
	if (sh("command -v setpriv >/dev/null") != 0) {
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
	g_assert_cmpint(sh("cd '%s' && echo secret > secret && chmod 600 "
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
	int rc = sh(OTHER " sh -c '%s' 2>/dev/null", full);
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
	int rc = sh(OTHER " sh -c 'cp /bin/sh %s/pub/x && chown 0:0 %s/pub/x "
			  "&& chmod 4755 %s/pub/x' 2>/dev/null",
		    f->m->mnt, f->m->mnt, f->m->mnt);
	g_assert_cmpint(rc, !=, 0);
	assert_source_file(f, "pub/x", 0755, 65534, NULL);
	/* What the user made is theirs, and they may change it. */
	g_assert_cmpint(sh(OTHER " chmod 700 %s/pub/x", f->m->mnt), ==, 0);
	assert_source_file(f, "pub/x", 0700, 65534, NULL);
	g_assert_cmpint(sh(OTHER " mkdir %s/pub/d && " OTHER
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
	g_assert_cmpint(sh("echo root > %s/pub/rootfile", f->m->mnt), ==, 0);
	other_fails("rm -f %1$s/pub/rootfile", f->m->mnt);
	other_fails("mv %1$s/pub/rootfile %1$s/pub/stolen", f->m->mnt);
	assert_source_file(f, "pub/rootfile", 0644, 0, "root\n");
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
	g_assert_cmpint(sh(OTHER " cat %s/pub/w >/dev/null", f->m->mnt), ==, 0);
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
	g_assert_cmpint(sh("mv %s/pub/w %s/pub/w2 && rm %s/pub/w2", f->m->mnt,
			   f->m->mnt, f->m->mnt),
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
	g_assert_cmpint(sh("cat %s/secret >/dev/null && touch %s/pub/x",
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
	g_assert_cmpint(sh("echo 'hello world' > %s/b && echo x > %s/b",
			   f->m->mnt, f->m->mnt),
			==, 0);
	assert_source_file(f, "b", 0644, geteuid(), "x\n");
	static const int flags[] = {O_WRONLY | O_TRUNC, O_RDWR | O_TRUNC,
				    O_WRONLY | O_TRUNC | O_CREAT,
				    O_RDWR | O_TRUNC | O_CREAT};
	char *mb = rfs_mnt(f->m, "b");
	for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
		g_assert_cmpint(sh("echo 'a longer line' > %s/b", f->m->src),
				==, 0);
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
	g_assert_cmpint(sh("head -c 16384 /dev/zero > %s/b", f->m->mnt), ==, 0);
	g_assert_cmpint(rfs_ctl(f->m, "remap b 0 3\n"), ==, 0);
	g_assert_cmpint(sh(": > %s/b", f->m->mnt), ==, 0);
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
	g_assert_cmpint(sh("cd %s && umask 0 && : > f0 && mkdir d0 && "
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
	g_assert_cmpint(sh("head -c $((8 * %s)) /dev/zero | tr '\\0' o > "
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
	g_assert_cmpint(sh("cd %s && cp b b.new && echo new > b.new && "
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
	g_assert_cmpint(sh("grep -qx new %s && echo more >> %s", mb, mb), ==,
			0);
	assert_source_file(f, "b", 0644, geteuid(), "new\nmore\n");
	g_free(ps);
	g_free(mv);
	g_free(mb);
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
	return g_test_run();
}
