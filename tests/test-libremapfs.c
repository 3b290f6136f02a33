/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-libremapfs.c - the public API of libremapfs (the shared library as
 * installed) on real remapfs mounts: the descriptor calls, virtual views,
 * maps and state, batches, errors, threads, fork, the mount cache, and the
 * symbols the library exports. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "lib/remapfs.h"
#include "mount-helper.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t PS;

typedef struct {
	struct rfs_test_mount *m;
} Fixture;

/* SOURCE holds f (16 pages tagged 1000+p), buf (4 pages tagged 5000+p)
 * and dir/; then mounts with the options the test data names. */
static void fx_setup(Fixture *f, gconstpointer data)
{
	f->m = rfs_test_prepare();
	char *p = rfs_src(f->m, "f");
	rfs_write_tagged(p, 16, PS, 1000);
	g_free(p);
	p = rfs_src(f->m, "buf");
	rfs_write_tagged(p, 4, PS, 5000);
	g_free(p);
	p = rfs_src(f->m, "dir");
	g_assert_cmpint(mkdir(p, 0755), ==, 0);
	g_free(p);
	if (!rfs_test_start(f->m, data))
		g_error("mount failed");
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	rfs_test_free(f->m);
}

/* Opens a path of the mount. */
static int open_mnt(Fixture *f, const char *rel, int flags)
{
	char *p = rfs_mnt(f->m, rel);
	int fd = open(p, flags | O_CLOEXEC);
	if (fd < 0)
		g_test_fail_printf("open %s: %s", p, g_strerror(errno));
	g_free(p);
	return fd;
}

/* Whether mapped page p of map shows tag; prints what it saw if not. */
static bool shows(const uint8_t *map, size_t p, uint64_t tag, const char *what)
{
	char where[128];
	snprintf(where, sizeof(where), "%s: mapped page %zu", what, p);
	return rfs_page_is(map + p * PS, PS, tag, where);
}

/* The map of fd as "v:f:c ..." (flags of remapfs_get_map). */
static char *map_str(int fd, int flags)
{
	remapfs_run *runs = NULL;
	size_t n = 0;
	if (remapfs_get_map(fd, flags, &runs, &n) < 0)
		return g_strdup_printf("error: %s", remapfs_strerror_last());
	GString *s = g_string_new(NULL);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%s%" PRIu64 ":%" PRIu64 ":%" PRIu64,
				       i ? " " : "", runs[i].vpage,
				       runs[i].fpage, runs[i].count);
	free(runs);
	return g_string_free(s, FALSE);
}

/* Asserts that fd's map (without identity runs) is want. */
#define assert_map(fd, want)                                                   \
	do {                                                                   \
		char *got_ = map_str(fd, 0);                                   \
		g_assert_cmpstr(got_, ==, want);                               \
		g_free(got_);                                                  \
	} while (0)

static const char *const opts_default[] = {NULL};
static const char *const opts_16k[] = {"-o", "pagesize=16k", NULL};

static void test_remap_through_descriptor_seen_by_mapping(Fixture *f,
							  gconstpointer d)
{
	int fd = open_mnt(f, "f", O_RDWR);
	uint8_t *map = mmap(NULL, 16 * PS, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	g_assert_true(shows(map, 0, 1000, "before"));
	g_assert_cmpint(remapfs_remap(fd, 0, 3, 2), ==, 0);
	g_assert_true(shows(map, 0, 1003, "after remap 0 3 2"));
	g_assert_true(shows(map, 1, 1004, "after remap 0 3 2"));
	g_assert_true(shows(map, 2, 1002, "after remap 0 3 2"));
	/* An O_PATH descriptor names the view as well. */
	int pfd = open_mnt(f, "f", O_PATH);
	g_assert_cmpint(remapfs_remap(pfd, 15, 0, 1), ==, 0);
	g_assert_true(shows(map, 15, 1000, "after remap 15 0 via O_PATH"));
	assert_map(fd, "0:3:2 15:0:1");
	close(pfd);
	munmap(map, 16 * PS);
	close(fd);
}

static void test_reset_and_invalidate_count_zero_means_to_end(Fixture *f,
							      gconstpointer d)
{
	int fd = open_mnt(f, "f", O_RDONLY);
	g_assert_cmpint(remapfs_remap(fd, 0, 8, 8), ==, 0);
	g_assert_cmpint(remapfs_remap(fd, 8, 0, 8), ==, 0);
	assert_map(fd, "0:8:8 8:0:8");
	g_assert_cmpint(remapfs_reset(fd, 2, 1), ==, 0);
	assert_map(fd, "0:8:2 3:11:5 8:0:8");
	g_assert_cmpint(remapfs_reset(fd, 12, 0), ==, 0); /* 12 to the end */
	assert_map(fd, "0:8:2 3:11:5 8:0:4");
	g_assert_cmpint(remapfs_reset(fd, 0, 0), ==, 0); /* all of it */
	assert_map(fd, "");
	g_assert_cmpint(remapfs_invalidate(fd, 0, 0), ==, 0);
	g_assert_cmpint(remapfs_invalidate(fd, 3, 0), ==, 0);
	g_assert_cmpint(remapfs_invalidate(fd, 3, 2), ==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_invalidate(fd, 16, 0), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	close(fd);
}

static void test_get_map_with_and_without_identity(Fixture *f, gconstpointer d)
{
	int fd = open_mnt(f, "f", O_RDONLY);
	char *s = map_str(fd, REMAPFS_MAP_FULL);
	g_assert_cmpstr(s, ==, "0:0:16");
	g_free(s);
	g_assert_cmpint(remapfs_remap(fd, 4, 0, 2), ==, 0);
	assert_map(fd, "4:0:2");
	s = map_str(fd, REMAPFS_MAP_FULL);
	g_assert_cmpstr(s, ==, "0:0:4 4:0:2 6:6:10");
	g_free(s);
	remapfs_run *runs = (remapfs_run *)1;
	size_t n = 99;
	g_assert_cmpint(remapfs_reset(fd, 0, 0), ==, 0);
	g_assert_cmpint(remapfs_get_map(fd, 0, &runs, &n), ==, 0);
	g_assert_null(runs);
	g_assert_cmpuint(n, ==, 0);
	close(fd);
}

static void test_create_resize_remove_virtual_view(Fixture *f, gconstpointer d)
{
	int buf = open_mnt(f, "buf", O_PATH);
	int root = open(f->m->mnt, O_PATH | O_DIRECTORY);
	g_assert_cmpint(remapfs_create(buf, root, "ring", 8), ==, 0);
	int ring = open_mnt(f, "ring", O_RDWR);
	struct stat st;
	g_assert_cmpint(fstat(ring, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, (off_t)(8 * PS));
	g_assert_cmpint(remapfs_remap(ring, 4, 0, 4), ==, 0);
	uint8_t *map = mmap(NULL, 8 * PS, PROT_READ, MAP_SHARED, ring, 0);
	g_assert_true(map != MAP_FAILED);
	for (size_t p = 0; p < 8; p++)
		g_assert_true(shows(map, p, 5000 + p % 4, "ring"));
	munmap(map, 8 * PS);

	remapfs_view_info info;
	g_assert_cmpint(remapfs_get_view_info(ring, &info), ==, 0);
	g_assert_cmpuint(info.pagesize, ==, PS);
	g_assert_cmpuint(info.pages, ==, 8);
	g_assert_true(info.is_virtual);
	g_assert_cmpstr(info.view, ==, "ring");
	g_assert_cmpstr(info.backing, ==, "buf");
	g_assert_cmpstr(info.mountpoint, ==, f->m->mnt);
	remapfs_view_info_free(&info);

	g_assert_cmpint(remapfs_resize(ring, 6), ==, 0);
	g_assert_cmpint(fstat(ring, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, (off_t)(6 * PS));
	assert_map(ring, "4:0:2");
	g_assert_cmpint(remapfs_remove(ring), ==, 0);
	char *p = rfs_mnt(f->m, "ring");
	g_assert_cmpint(access(p, F_OK), ==, -1);
	g_free(p);
	close(ring);

	/* Default size, a directory, a path relative to the cwd. */
	g_assert_cmpint(
	    remapfs_create(buf, root, "dir/whole", REMAPFS_BACKING_PAGES), ==,
	    0);
	int w = open_mnt(f, "dir/whole", O_RDONLY);
	g_assert_cmpint(fstat(w, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, (off_t)(4 * PS));
	remapfs_view_info vi;
	g_assert_cmpint(remapfs_get_view_info(w, &vi), ==, 0);
	g_assert_cmpstr(vi.view, ==, "dir/whole");
	remapfs_view_info_free(&vi);
	close(w);
	char *cwd = g_get_current_dir();
	g_assert_cmpint(chdir(f->m->mnt), ==, 0);
	g_assert_cmpint(remapfs_create(buf, AT_FDCWD, "dir/empty", 0), ==, 0);
	g_assert_cmpint(chdir(cwd), ==, 0);
	g_free(cwd);
	w = open_mnt(f, "dir/empty", O_RDONLY);
	g_assert_cmpint(fstat(w, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 0);
	close(w);

	/* Refusals. */
	errno = 0;
	g_assert_cmpint(remapfs_create(buf, root, "f", 1), ==, -1);
	g_assert_cmpint(errno, ==, EEXIST);
	g_assert_nonnull(strstr(remapfs_strerror_last(), "exists"));
	errno = 0;
	g_assert_cmpint(remapfs_create(buf, root, "nodir/v", 1), ==, -1);
	g_assert_cmpint(errno, ==, ENOENT);
	char *other = g_build_filename(f->m->base, "plain", NULL);
	g_assert_true(g_file_set_contents(other, "x", 1, NULL));
	int ofd = open(other, O_RDONLY);
	errno = 0;
	g_assert_cmpint(remapfs_create(ofd, root, "v", 1), ==, -1);
	g_assert_cmpint(errno, ==, ENODEV);
	int base = open(f->m->base, O_PATH | O_DIRECTORY);
	errno = 0;
	g_assert_cmpint(remapfs_create(buf, base, "v", 1), ==, -1);
	g_assert_cmpint(errno, ==, ENODEV);
	close(base);
	close(ofd);
	g_free(other);
	close(root);
	close(buf);
}

static void test_errors_carry_daemon_message(Fixture *f, gconstpointer d)
{
	int fd = open_mnt(f, "f", O_RDONLY);
	errno = 0;
	g_assert_cmpint(remapfs_remap(fd, 99, 0, 1), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	const char *msg = remapfs_strerror_last();
	if (!strstr(msg, "past the end") || strstr(msg, "error:") ||
	    strstr(msg, "line 1"))
		g_test_fail_printf("expected the daemon's message without its"
				   " prefix, saw '%s'",
				   msg);
	errno = 0;
	g_assert_cmpint(remapfs_resize(fd, 3), ==, -1);
	g_assert_cmpint(errno, ==, EPERM);
	g_assert_nonnull(strstr(remapfs_strerror_last(), "not a virtual"));
	errno = 0;
	g_assert_cmpint(remapfs_remap(fd, 0, 1, 0), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	/* A directory is no view. */
	int dir = open_mnt(f, "dir", O_RDONLY | O_DIRECTORY);
	errno = 0;
	g_assert_cmpint(remapfs_remap(dir, 0, 1, 1), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	close(dir);
	/* A success leaves the last message alone, as errno. */
	g_assert_cmpint(remapfs_remap(fd, 0, 1, 1), ==, 0);
	g_assert_nonnull(strstr(remapfs_strerror_last(), "not a view"));
	close(fd);
}

static void test_descriptor_outside_remapfs_is_enodev(Fixture *f,
						      gconstpointer d)
{
	char *other = g_build_filename(f->m->base, "plain", NULL);
	g_assert_true(g_file_set_contents(other, "x", 1, NULL));
	int fd = open(other, O_RDONLY);
	errno = 0;
	g_assert_cmpint(remapfs_remap(fd, 0, 0, 1), ==, -1);
	g_assert_cmpint(errno, ==, ENODEV);
	g_assert_nonnull(strstr(remapfs_strerror_last(), "not in a remapfs"));
	size_t ps = 0;
	g_assert_cmpint(remapfs_pagesize(fd, &ps), ==, -1);
	g_assert_cmpint(errno, ==, ENODEV);
	close(fd);
	errno = 0;
	g_assert_cmpint(remapfs_remap(-1, 0, 0, 1), ==, -1);
	g_assert_cmpint(errno, ==, EBADF);
	g_free(other);
}

static void test_pagesize_and_page_units_of_mount(Fixture *f, gconstpointer d)
{
	const char *const *opts = d;
	size_t want = opts[0] ? 16384 : PS, ps = 0;
	int fd = open_mnt(f, "f", O_RDONLY);
	g_assert_cmpint(remapfs_pagesize(fd, &ps), ==, 0);
	g_assert_cmpuint(ps, ==, want);
	/* f is 16 system pages: 16*PS/want mount pages. */
	remapfs_view_info vi;
	g_assert_cmpint(remapfs_get_view_info(fd, &vi), ==, 0);
	g_assert_cmpuint(vi.pages, ==, 16 * PS / want);
	g_assert_cmpuint(vi.pagesize, ==, want);
	remapfs_view_info_free(&vi);
	/* Mount page 1 shows mount page 0. */
	g_assert_cmpint(remapfs_remap(fd, 1, 0, 1), ==, 0);
	uint8_t *map = mmap(NULL, 16 * PS, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	size_t k = want / PS;
	for (size_t i = 0; i < k; i++)
		g_assert_true(shows(map, k + i, 1000 + i, "mount page 1"));
	munmap(map, 16 * PS);
	close(fd);
}

static void test_state_save_load_and_replace(Fixture *f, gconstpointer d)
{
	int fd = open_mnt(f, "f", O_RDONLY);
	int buf = open_mnt(f, "buf", O_PATH);
	int root = open(f->m->mnt, O_PATH | O_DIRECTORY);
	g_assert_cmpint(remapfs_create(buf, root, "ring", 8), ==, 0);
	int ring = open_mnt(f, "ring", O_PATH);
	g_assert_cmpint(remapfs_remap(ring, 4, 0, 4), ==, 0);
	g_assert_cmpint(remapfs_remap(fd, 0, 5, 1), ==, 0);
	char *saved = NULL;
	size_t len = 0;
	g_assert_cmpint(remapfs_get_state(root, &saved, &len), ==, 0);
	g_assert_cmpuint(strlen(saved), ==, len);
	char *want = g_strdup_printf("# remapfs state: pagesize %zu\n"
				     "create ring buf 8\n"
				     "remap f 0 5 1\n"
				     "remap ring 4 0 4\n",
				     PS);
	g_assert_cmpstr(saved, ==, want);
	g_free(want);

	/* Change things, then load the saved state with REPLACE. */
	g_assert_cmpint(remapfs_resize(ring, 2), ==, 0);
	g_assert_cmpint(remapfs_create(buf, root, "extra", 1), ==, 0);
	g_assert_cmpint(remapfs_remap(fd, 7, 7 + 1, 1), ==, 0);
	g_assert_cmpint(
	    remapfs_load_state(root, saved, len, REMAPFS_LOAD_REPLACE), ==, 0);
	char *now = NULL;
	g_assert_cmpint(remapfs_get_state(root, &now, &len), ==, 0);
	g_assert_cmpstr(now, ==, saved);
	free(now);

	/* Without REPLACE, create of an existing view fails: nothing
	 * applied, the message points at the line of the text. */
	g_assert_cmpint(remapfs_reset(fd, 0, 0), ==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_load_state(root, saved, strlen(saved), 0), ==,
			-1);
	g_assert_cmpint(errno, ==, EEXIST);
	g_assert_true(g_str_has_prefix(remapfs_strerror_last(), "line 2: "));
	assert_map(fd, "");

	/* A state in other pages is refused. */
	const char *other =
	    "# remapfs state: pagesize 1048576\nremap f 0 1 1\n";
	errno = 0;
	g_assert_cmpint(remapfs_load_state(root, other, strlen(other), 0), ==,
			-1);
	g_assert_cmpint(errno, ==, EINVAL);
	g_assert_nonnull(strstr(remapfs_strerror_last(), "1048576"));
	/* A syntax error is found before anything is sent. */
	const char *bad = "remap f 0 1 1\nremap f zero 1 1\n";
	errno = 0;
	g_assert_cmpint(remapfs_load_state(root, bad, strlen(bad), 0), ==, -1);
	g_assert_cmpint(errno, ==, EINVAL);
	g_assert_true(
	    g_str_has_prefix(remapfs_strerror_last(), "state: line 2"));
	assert_map(fd, "");
	free(saved);
	close(ring);
	close(root);
	close(buf);
	close(fd);
}

static void test_state_loads_into_fresh_mount(Fixture *f, gconstpointer d)
{
	int fd = open_mnt(f, "f", O_PATH);
	g_assert_cmpint(remapfs_remap(fd, 2, 9, 3), ==, 0);
	char *saved = NULL;
	size_t len = 0;
	g_assert_cmpint(remapfs_get_state(fd, &saved, &len), ==, 0);
	close(fd);
	rfs_test_stop(f->m);
	g_assert_true(rfs_test_start(f->m, opts_default));
	fd = open_mnt(f, "f", O_PATH);
	assert_map(fd, "");
	g_assert_cmpint(remapfs_load_state(fd, saved, len, 0), ==, 0);
	assert_map(fd, "2:9:3");
	close(fd);
	free(saved);
}

static void test_batch_is_one_transaction(Fixture *f, gconstpointer d)
{
	int fd = open_mnt(f, "f", O_PATH);
	remapfs_batch *b = remapfs_batch_new();
	g_assert_nonnull(b);
	g_assert_cmpint(remapfs_batch_remap(b, fd, 0, 15, 1), ==, 0);
	g_assert_cmpint(remapfs_batch_remap(b, fd, 15, 0, 1), ==, 0);
	g_assert_cmpint(remapfs_batch_reset(b, fd, 15, 1), ==, 0);
	g_assert_cmpint(remapfs_batch_invalidate(b, fd, 0, 0), ==, 0);
	g_assert_cmpuint(remapfs_batch_count(b), ==, 4);
	assert_map(fd, ""); /* nothing sent yet */
	g_assert_cmpint(remapfs_batch_commit(b, 0), ==, 0);
	g_assert_cmpuint(remapfs_batch_count(b), ==, 0);
	assert_map(fd, "0:15:1");

	/* A bad command: nothing applied, the batch kept, the message
	 * names the command. */
	g_assert_cmpint(remapfs_batch_remap(b, fd, 1, 2, 1), ==, 0);
	g_assert_cmpint(remapfs_batch_remap(b, fd, 20, 2, 1), ==, 0);
	g_assert_cmpint(remapfs_batch_remap(b, fd, 3, 4, 1), ==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_batch_commit(b, 0), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	g_assert_true(g_str_has_prefix(remapfs_strerror_last(), "command 2: "));
	g_assert_cmpuint(remapfs_batch_count(b), ==, 3);
	assert_map(fd, "0:15:1");
	remapfs_batch_free(b);

	/* One mount per batch. */
	struct rfs_test_mount *m2 = rfs_test_mount_new(NULL);
	char *p2 = rfs_src(m2, "g");
	rfs_write_tagged(p2, 2, PS, 0);
	g_free(p2);
	p2 = rfs_mnt(m2, "g");
	int fd2 = open(p2, O_PATH);
	b = remapfs_batch_new();
	g_assert_cmpint(remapfs_batch_remap(b, fd, 0, 1, 1), ==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_batch_remap(b, fd2, 0, 1, 1), ==, -1);
	g_assert_cmpint(errno, ==, EXDEV);
	remapfs_batch_free(b);
	close(fd2);
	g_free(p2);
	rfs_test_free(m2);
	close(fd);
}

/* Adds n single-page remaps of the virtual view fd that do not merge. */
static void add_scattered(remapfs_batch *b, int fd, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g_assert_cmpint(
		    remapfs_batch_remap(b, fd, i, (i * 7) % n + n, 1), ==, 0);
}

static void
test_batch_over_one_write_is_one_transaction_or_split(Fixture *f,
						      gconstpointer d)
{
	/* "remap big NNNNN NNNNN 1\n" is about 25 bytes: 60000 of them are
	 * over 1 MiB. */
	const size_t n = 60000;
	int buf = open_mnt(f, "buf", O_PATH);
	int root = open(f->m->mnt, O_PATH | O_DIRECTORY);
	g_assert_cmpint(remapfs_create(buf, root, "big", n), ==, 0);
	int big = open_mnt(f, "big", O_PATH);
	remapfs_batch *b = remapfs_batch_new();
	add_scattered(b, big, n);
	/* With a bad last command, nothing of it applies... */
	g_assert_cmpint(remapfs_batch_remap(b, big, n, 0, 1), ==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_batch_commit(b, 0), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	g_assert_cmpuint(remapfs_batch_count(b), ==, n + 1);
	char *want = g_strdup_printf("command %zu: ", n + 1);
	if (!g_str_has_prefix(remapfs_strerror_last(), want))
		g_printerr("expected a message starting '%s', got '%s'\n", want,
			   remapfs_strerror_last());
	g_assert_true(g_str_has_prefix(remapfs_strerror_last(), want));
	g_free(want);
	assert_map(big, "");
	remapfs_batch_free(b);
	b = remapfs_batch_new();
	add_scattered(b, big, n);
	/* ... and all of it applies as one explicit transaction. */
	g_assert_cmpint(remapfs_batch_commit(b, 0), ==, 0);
	g_assert_cmpuint(remapfs_batch_count(b), ==, 0);
	g_assert_cmpint(remapfs_reset(big, 0, 0), ==, 0);
	add_scattered(b, big, n);
	g_assert_cmpint(remapfs_batch_commit(b, REMAPFS_BATCH_SPLIT), ==, 0);
	g_assert_cmpuint(remapfs_batch_count(b), ==, 0);
	remapfs_run *runs = NULL;
	size_t nruns = 0;
	g_assert_cmpint(remapfs_get_map(big, 0, &runs, &nruns), ==, 0);
	g_assert_cmpuint(nruns, ==, n);
	bool ok = true;
	for (size_t i = 0; i < nruns && ok; i++)
		if (runs[i].vpage != i || runs[i].fpage != (i * 7) % n + n)
			ok = false;
	g_assert_true(ok);
	free(runs);
	remapfs_batch_free(b);
	close(big);
	close(root);
	close(buf);
}

static void test_largest_transaction_is_all_or_nothing(Fixture *f,
						       gconstpointer d)
{
	/* Exactly the largest write (1 MiB less 5 pages), with a bad last
	 * command: had the kernel split the write, its first part would be
	 * applied. */
	const size_t n = 40000, limit = ((size_t)1 << 20) - 5 * PS;
	int buf = open_mnt(f, "buf", O_PATH);
	int root = open(f->m->mnt, O_PATH | O_DIRECTORY);
	g_assert_cmpint(remapfs_create(buf, root, "big", n), ==, 0);
	int big = open_mnt(f, "big", O_PATH);
	remapfs_batch *b = remapfs_batch_new();
	add_scattered(b, big, n);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(NULL, 0, "remap big %zu %zu 1\n", i,
					(i * 7) % n + n);
	const char *last = "remap big 40000 0 1\n";
	/* Fill with "invalidate big 0 1\n" (19 bytes) and
	 * "invalidate big 10 1\n" (20 bytes) to the exact limit. */
	size_t rem = limit - len - strlen(last), k = rem / 19, extra = rem % 19;
	g_assert_cmpuint(extra, <=, k);
	for (size_t i = 0; i < k; i++)
		g_assert_cmpint(
		    remapfs_batch_invalidate(b, big, i < extra ? 10 : 0, 1), ==,
		    0);
	g_assert_cmpint(remapfs_batch_remap(b, big, n, 0, 1), ==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_batch_commit(b, 0), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	g_assert_true(g_str_has_prefix(remapfs_strerror_last(), "command "));
	assert_map(big, "");
	/* One command more needs an explicit transaction: still all or
	 * nothing. */
	g_assert_cmpint(remapfs_batch_invalidate(b, big, 0, 1), ==, 0);
	errno = 0;
	g_assert_cmpint(remapfs_batch_commit(b, 0), ==, -1);
	g_assert_cmpint(errno, ==, ERANGE);
	assert_map(big, "");
	remapfs_batch_free(b);
	close(big);
	close(root);
	close(buf);
}

struct thread_arg {
	Fixture *f;
	int index;
	bool ok;
};

/* Remaps its own page many times, failing on purpose in between; checks
 * that the messages it reads are its own. */
static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	int fd = open_mnt(a->f, "f", O_PATH);
	a->ok = fd >= 0;
	for (int i = 0; a->ok && i < 50; i++) {
		uint64_t bad = 100 + (uint64_t)a->index;
		if (remapfs_remap(fd, (uint64_t)a->index, (uint64_t)i % 16,
				  1) != 0 ||
		    remapfs_remap(fd, bad, 0, 1) != -1 || errno != ERANGE) {
			a->ok = false;
			break;
		}
		char want[32];
		snprintf(want, sizeof(want), "view page %" PRIu64 " ", bad);
		if (!strstr(remapfs_strerror_last(), want)) {
			g_printerr("thread %d: expected a message about %s,"
				   " saw '%s'\n",
				   a->index, want, remapfs_strerror_last());
			a->ok = false;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void test_threads_remap_with_own_error_messages(Fixture *f,
						       gconstpointer d)
{
	enum { N = 6 };
	pthread_t t[N];
	struct thread_arg a[N];
	for (int i = 0; i < N; i++) {
		a[i] = (struct thread_arg){f, i, false};
		g_assert_cmpint(pthread_create(&t[i], NULL, thread_main, &a[i]),
				==, 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (!a[i].ok)
			g_test_fail_printf("thread %d failed", i);
	}
	int fd = open_mnt(f, "f", O_PATH);
	char *s = map_str(fd, REMAPFS_MAP_FULL);
	g_assert_cmpstr(s, ==, "0:1:1 1:1:1 2:1:1 3:1:1 4:1:1 5:1:1 6:6:10");
	g_free(s);
	close(fd);
}

static void test_address_call_works_in_child_after_fork(Fixture *f,
							gconstpointer d)
{
	int fd = open_mnt(f, "f", O_RDWR);
	uint8_t *map = mmap(NULL, 16 * PS, PROT_READ, MAP_SHARED, fd, 0);
	g_assert_true(map != MAP_FAILED);
	g_assert_cmpint(remapfs_remap_file_pages(map, PS, 0, 5, 0), ==, 0);
	g_assert_true(shows(map, 0, 1005, "parent"));
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		/* A mapping only the child has, at an address the parent
		 * does not map. */
		uint8_t *m2 =
		    mmap(NULL, 4 * PS, PROT_READ, MAP_SHARED, fd, 4 * PS);
		if (m2 == MAP_FAILED)
			_exit(2);
		munmap(map, 16 * PS);
		if (remapfs_remap_file_pages(m2, PS, 0, 9, 0) != 0) {
			fprintf(stderr, "child: %s\n", remapfs_strerror_last());
			_exit(3);
		}
		_exit(rfs_page_tag(m2, PS) == 1009 ? 0 : 4);
	}
	int status = 0;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_true(shows(map, 4, 1009, "parent sees the child's remap"));
	munmap(map, 16 * PS);
	close(fd);
}

static void test_mount_cache_follows_mount_changes(Fixture *f, gconstpointer d)
{
	/* Use a first mount, then others appear and go; the page size of
	 * each must be its own, also when a device number is reused. */
	int fd = open_mnt(f, "f", O_PATH);
	size_t ps = 0;
	g_assert_cmpint(remapfs_pagesize(fd, &ps), ==, 0);
	g_assert_cmpuint(ps, ==, PS);
	close(fd);
	for (int round = 0; round < 4; round++) {
		bool big = round % 2 == 0;
		struct rfs_test_mount *m =
		    rfs_test_mount_new(big ? opts_16k : opts_default);
		char *p = rfs_src(m, "g");
		rfs_write_tagged(p, 8, PS, 0);
		g_free(p);
		p = rfs_mnt(m, "g");
		int g = open(p, O_PATH);
		g_assert_cmpint(remapfs_pagesize(g, &ps), ==, 0);
		g_assert_cmpuint(ps, ==, big ? 16384 : PS);
		g_assert_cmpint(remapfs_remap(g, 0, 1, 1), ==, 0);
		close(g);
		g_free(p);
		rfs_test_free(m);
	}
}

static void test_library_exports_only_its_api(void)
{
	void *h = dlopen(ABS_BUILDDIR "/src/lib/.libs/libremapfs.so.0",
			 RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		g_test_fail_printf("dlopen: %s", dlerror());
		return;
	}
	g_assert_nonnull(dlsym(h, "remapfs_remap_file_pages"));
	g_assert_nonnull(dlsym(h, "remapfs_strerror_last"));
	static const char *const hidden[] = {"rfs_parse", "rfs_pagemap_new",
					     "rfsl_fail", "rfsl_locate"};
	for (size_t i = 0; i < G_N_ELEMENTS(hidden); i++)
		if (dlsym(h, hidden[i]))
			g_test_fail_printf("libremapfs.so exports %s",
					   hidden[i]);
	dlclose(h);
	h = dlopen(ABS_BUILDDIR "/src/lib/.libs/libremapfs-preload.so",
		   RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		g_test_fail_printf("dlopen: %s", dlerror());
		return;
	}
	g_assert_nonnull(dlsym(h, "remap_file_pages"));
	static const char *const hidden2[] = {"remapfs_remap", "rfs_parse",
					      "rfsl_remap_file_pages"};
	for (size_t i = 0; i < G_N_ELEMENTS(hidden2); i++)
		if (dlsym(h, hidden2[i]))
			g_test_fail_printf("libremapfs-preload.so exports %s",
					   hidden2[i]);
	dlclose(h);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	PS = (size_t)sysconf(_SC_PAGESIZE);
	rfs_test_watchdog(600, "test-libremapfs");

#define ADD(path, fn, opts)                                                    \
	g_test_add(path, Fixture, opts, fx_setup, fn, fx_teardown)
	ADD("/lib/remap-through-descriptor-seen-by-mapping",
	    test_remap_through_descriptor_seen_by_mapping, opts_default);
	ADD("/lib/reset-and-invalidate-count-zero-means-to-end",
	    test_reset_and_invalidate_count_zero_means_to_end, opts_default);
	ADD("/lib/get-map-with-and-without-identity",
	    test_get_map_with_and_without_identity, opts_default);
	ADD("/lib/create-resize-remove-virtual-view",
	    test_create_resize_remove_virtual_view, opts_default);
	ADD("/lib/errors-carry-daemon-message",
	    test_errors_carry_daemon_message, opts_default);
	ADD("/lib/descriptor-outside-remapfs-is-enodev",
	    test_descriptor_outside_remapfs_is_enodev, opts_default);
	ADD("/lib/pagesize-and-page-units-of-mount",
	    test_pagesize_and_page_units_of_mount, opts_default);
	ADD("/lib/pagesize-and-page-units-of-mount-16k",
	    test_pagesize_and_page_units_of_mount, opts_16k);
	ADD("/lib/state-save-load-and-replace",
	    test_state_save_load_and_replace, opts_default);
	ADD("/lib/state-loads-into-fresh-mount",
	    test_state_loads_into_fresh_mount, opts_default);
	ADD("/lib/batch-is-one-transaction", test_batch_is_one_transaction,
	    opts_default);
	ADD("/lib/batch-over-one-write-is-one-transaction-or-split",
	    test_batch_over_one_write_is_one_transaction_or_split,
	    opts_default);
	ADD("/lib/largest-transaction-is-all-or-nothing",
	    test_largest_transaction_is_all_or_nothing, opts_default);
	ADD("/lib/threads-remap-with-own-error-messages",
	    test_threads_remap_with_own_error_messages, opts_default);
	ADD("/lib/address-call-works-in-child-after-fork",
	    test_address_call_works_in_child_after_fork, opts_default);
	ADD("/lib/mount-cache-follows-mount-changes",
	    test_mount_cache_follows_mount_changes, opts_default);
	g_test_add_func("/lib/library-exports-only-its-api",
			test_library_exports_only_its_api);
	return g_test_run();
}
