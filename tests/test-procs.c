/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-procs.c - coherence between programs sharing views: the causes of
 * the exerciser's --procs failures, each forced where it can be.
 *
 * - A resize written to .control reaches the kernel before the write
 *   returns: a mapping may be used past the old end at once (the kernel
 *   used to keep its old size until a stat, and to drop that stat's answer
 *   when an invalidation of the view came meanwhile: SIGBUS).
 * - Growing a view drops what the kernel holds past the old end (zeros it
 *   filled in after a short read while it took the view for larger).
 * - A write() whose own pages are dropped and read again from the old
 *   bytes before its bytes land (its aliases' writebacks drop them, and
 *   another program reads) leaves no stale copy.
 * - So does a write() within one page that was up to date, dropped by an
 *   invalidation queued before the write was served (an alias's
 *   writeback) and read back meanwhile: the page a write covers in part
 *   is the one the kernel keeps locked when it was not up to date, and
 *   used to be left out (the exerciser's seed 3, 4 processes). */
#define _GNU_SOURCE /* sync_file_range */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
	struct rfs_test_mount *m;
	size_t ps;
	char *cover; /* a directory bind-mounted over the mount, or NULL */
} Fixture;

#define PAGES 64

static void fx_setup(Fixture *f, gconstpointer data)
{
	f->ps = (size_t)getpagesize();
	f->m = rfs_test_prepare();
	char *b = rfs_src(f->m, "b");
	rfs_write_tagged(b, PAGES, f->ps, 1000);
	g_free(b);
	if (!rfs_test_start(f->m, data))
		g_error("mount failed");
}

static void fx_teardown(Fixture *f, gconstpointer data)
{
	(void)data;
	if (f->cover) {
		if (umount2(f->m->mnt, MNT_DETACH) < 0)
			g_printerr("umount of the cover: %s\n",
				   strerror(errno));
		rmdir(f->cover);
		g_free(f->cover);
	}
	rfs_test_free(f->m);
}

/* Runs fn(arg) in a child process; returns the signal that ended it, or
 * 0 if it exited (its status must then be 0). */
static int in_child(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		/* The kernel's signal, not a sanitizer's report of it. */
		signal(SIGBUS, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	return 0;
}

struct store {
	volatile char *addr;
};

static void store_byte(void *arg)
{
	((struct store *)arg)->addr[0] = 'x';
}

/* Maps view v (fd) for PAGES pages. */
static char *map_view(Fixture *f, int fd)
{
	char *p = mmap(NULL, PAGES * f->ps, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	g_assert_true(p != MAP_FAILED);
	return p;
}

/* The kernel's size of the view (a fetch if its attributes are stale). */
static off_t fsize(int fd)
{
	struct stat st;
	g_assert_cmpint(fstat(fd, &st), ==, 0);
	return st.st_size;
}

static void test_resize_reaches_mappings_at_once(Fixture *f, gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_ctl(f->m, "create v b 2\n"), ==, 0);
	char *v = rfs_mnt(f->m, "v");
	int fd = open(v, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(fsize(fd), ==, (off_t)(2 * f->ps));
	char *map = map_view(f, fd);
	g_assert_cmpint(map[0], ==, map[0]); /* page 0 cached */
	/* Grown through .control: stores past the old end work at once,
	 * with no stat in between. */
	g_assert_cmpint(rfs_ctl(f->m, "resize v 48\n"), ==, 0);
	struct store s = {map + 40 * f->ps};
	int sig = in_child(store_byte, &s);
	if (sig)
		g_printerr("a store at page 40 after resize v 48: %s "
			   "(expected none)\n",
			   strsignal(sig));
	g_assert_cmpint(sig, ==, 0);
	/* Shrunk: a store past the new end is refused, as after a truncate,
	 * instead of landing nowhere. */
	g_assert_cmpint(rfs_ctl(f->m, "resize v 4\n"), ==, 0);
	s.addr = map + 10 * f->ps;
	sig = in_child(store_byte, &s);
	if (sig != SIGBUS)
		g_printerr("a store at page 10 after resize v 4: %s "
			   "(expected SIGBUS)\n",
			   sig ? strsignal(sig) : "no signal");
	g_assert_cmpint(sig, ==, SIGBUS);
	g_assert_cmpint(fsize(fd), ==, (off_t)(4 * f->ps));
	munmap(map, PAGES * f->ps);
	close(fd);
	g_free(v);
}

/* The daemon's own way to the mount must not keep it busy: an idle mount
 * unmounts with fusermount3 -u after a resize reached the kernel. */
static void test_idle_mount_unmounts_after_resize(Fixture *f, gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_ctl(f->m, "create v b 2\n"), ==, 0);
	char *v = rfs_mnt(f->m, "v");
	int fd = open(v, O_RDONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(fsize(fd), ==, (off_t)(2 * f->ps));
	close(fd);
	g_assert_cmpint(rfs_ctl(f->m, "resize v 8\n"), ==, 0);
	char *cmd = g_strdup_printf("fusermount3 -u '%s'", f->m->mnt);
	int status = system(cmd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_printerr("%s after a resize: status %d (expected 0)\n", cmd,
			   status);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_free(cmd);
	g_free(v);
}

/* Another program keeps dropping pages of view v (an invalidation of a
 * page it does not read) while this one resizes v, stats it and stores
 * past the old end: the kernel must never keep the old size. */
static void test_resize_with_invalidations_never_sigbus(Fixture *f,
							gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_ctl(f->m, "create v b 2\n"), ==, 0);
	char *v = rfs_mnt(f->m, "v");
	int fd = open(v, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	/* The invalidating child stops when told through shared memory, at
	 * the end of a write: killed during one, its request would stay
	 * unanswered in the kernel's eyes, and libfuse keeps the interrupt
	 * the kernel then sends (a leak that the sanitizer build reports). */
	volatile int *stop = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g_assert_true(stop != MAP_FAILED);
	*stop = 0;
	pid_t inv = fork();
	g_assert_cmpint(inv, >=, 0);
	if (inv == 0) {
		while (!*stop)
			rfs_ctl(f->m, "invalidate v 1 1\n");
		_exit(0);
	}
	char *map = map_view(f, fd);
	int bad = 0;
	for (int i = 0; i < 200 && !bad; i++) {
		unsigned pages = 2 + (unsigned)(i % 2) * 40;
		g_assert_cmpint(rfs_ctlf(f->m, "resize v %u\n", pages), ==, 0);
		off_t size = fsize(fd);
		if (size != (off_t)(pages * f->ps)) {
			g_printerr("round %d: fstat %lld bytes after resize v "
				   "%u\n",
				   i, (long long)size, pages);
			bad = 1;
			break;
		}
		struct store s = {map + (pages - 1) * f->ps};
		int sig = in_child(store_byte, &s);
		if (sig) {
			g_printerr("round %d: a store at page %u of %u: %s "
				   "(expected none)\n",
				   i, pages - 1, pages, strsignal(sig));
			bad = 1;
		}
	}
	*stop = 1;
	waitpid(inv, NULL, 0);
	munmap((void *)stop, sizeof(int));
	g_assert_cmpint(bad, ==, 0);
	munmap(map, PAGES * f->ps);
	close(fd);
	g_free(v);
}

/* Covers the mount point with another directory, so that the daemon
 * cannot reach its mount by path: it cannot tell the kernel a size, and
 * what the kernel cached must still be dropped. */
static void cover_mount(Fixture *f)
{
	f->cover = g_strconcat(f->m->base, "/cover", NULL);
	g_assert_cmpint(mkdir(f->cover, 0755), ==, 0);
	g_assert_cmpint(mount(f->cover, f->m->mnt, NULL, MS_BIND, NULL), ==,
			0);
}

static void test_grow_drops_zeros_past_old_end(Fixture *f, gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_ctl(f->m, "create v b 8\n"), ==, 0);
	char *v = rfs_mnt(f->m, "v");
	int fd = open(v, O_RDONLY);
	int ctl = open(f->m->control, O_WRONLY);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ctl, >=, 0);
	g_assert_cmpint(fsize(fd), ==, (off_t)(8 * f->ps));
	cover_mount(f);
	/* Shrunk where the kernel cannot be told: it reads pages 2..7 as
	 * zeros (a short read) and keeps them. */
	const char *shrink = "resize v 2\n", *grow = "resize v 8\n";
	g_assert_cmpint(write(ctl, shrink, strlen(shrink)), ==,
			(ssize_t)strlen(shrink));
	char *buf = g_malloc(8 * f->ps);
	(void)pread(fd, buf, 6 * f->ps, (off_t)(2 * f->ps));
	g_assert_cmpint(write(ctl, grow, strlen(grow)), ==,
			(ssize_t)strlen(grow));
	g_assert_cmpint(fsize(fd), ==, (off_t)(8 * f->ps));
	g_assert_cmpint(pread(fd, buf, 8 * f->ps, 0), ==, (ssize_t)(8 * f->ps));
	bool ok = true;
	for (unsigned p = 0; p < 8; p++)
		ok &= rfs_page_is(buf + p * f->ps, f->ps, 1000 + p,
				  "page of v after resize v 2, read, resize v 8");
	g_assert_true(ok);
	g_free(buf);
	close(ctl);
	close(fd);
	g_free(v);
}

struct reader {
	char *path;
	size_t len;
	volatile int stop;
};

/* Reads the file again and again until told to stop. */
static void *read_loop(void *arg)
{
	struct reader *r = arg;
	int fd = open(r->path, O_RDONLY);
	char *buf = g_malloc(r->len);
	while (fd >= 0 && !r->stop)
		for (size_t off = 0; off < r->len && !r->stop; off += 4096)
			(void)pread(fd, buf, 4096, (off_t)off);
	g_free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void test_write_whose_pages_are_read_again_leaves_no_stale_copy(
    Fixture *f, gconstpointer d)
{
	(void)d;
	const size_t len = PAGES * f->ps;
	g_assert_cmpint(rfs_ctl(f->m, "create a b\n"), ==, 0);
	char *a = rfs_mnt(f->m, "a"), *b = rfs_mnt(f->m, "b");
	int afd = open(a, O_RDWR), bfd = open(b, O_RDWR);
	g_assert_cmpint(afd, >=, 0);
	g_assert_cmpint(bfd, >=, 0);
	char *amap = map_view(f, afd);
	char *buf = g_malloc(len), *want = g_malloc(len);
	struct reader r = {.path = b, .len = len};
	pthread_t th;
	g_assert_cmpint(pthread_create(&th, NULL, read_loop, &r), ==, 0);
	int bad = -1;
	for (int round = 0; round < 40 && bad < 0; round++) {
		/* Every page of alias a dirty with X; then a write() of Y
		 * over all of b, whose aliases are written back first (their
		 * writebacks drop b's pages) while the reader reads b. */
		memset(amap, 'A' + round % 20, len);
		memset(want, 'a' + round % 20, len);
		g_assert_cmpint(pwrite(bfd, want, len, 0), ==, (ssize_t)len);
		g_assert_cmpint(pread(bfd, buf, len, 0), ==, (ssize_t)len);
		for (size_t i = 0; i < len && bad < 0; i++)
			if (buf[i] != want[i]) {
				bad = (int)i;
				g_printerr("round %d: b byte %zu (page %zu) is "
					   "'%c' after the write, expected "
					   "'%c'\n",
					   round, i, i / f->ps, buf[i], want[i]);
			}
	}
	r.stop = 1;
	pthread_join(th, NULL);
	g_assert_cmpint(bad, ==, -1);
	munmap(amap, len);
	close(afd);
	close(bfd);
	g_free(buf);
	g_free(want);
	g_free(a);
	g_free(b);
}

static void test_partial_write_of_a_page_read_back_leaves_no_stale_copy(
    Fixture *f, gconstpointer d)
{
	(void)d;
	g_assert_cmpint(rfs_ctl(f->m, "create a b 8\n"), ==, 0);
	char *a = rfs_mnt(f->m, "a"), *b = rfs_mnt(f->m, "b");
	int afd = open(a, O_RDWR), bfd = open(b, O_RDWR);
	g_assert_cmpint(afd, >=, 0);
	g_assert_cmpint(bfd, >=, 0);
	char *amap = mmap(NULL, f->ps, PROT_READ | PROT_WRITE, MAP_SHARED,
			  afd, 0);
	g_assert_true(amap != MAP_FAILED);
	struct reader r = {.path = b, .len = f->ps}; /* its first page */
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		g_assert_cmpint(pthread_create(&th[i], NULL, read_loop, &r), ==,
				0);
	char want[200], got[200];
	int bad = -1;
	for (int round = 0; round < 3000 && bad < 0; round++) {
		/* Page 0 of alias a dirty, and written back without waiting
		 * for the invalidation of b's page 0 that this queues; then
		 * 200 bytes within b's page 0 while two threads read it. */
		memset(amap, 'A' + round % 20, f->ps);
		g_assert_cmpint(
		    sync_file_range(afd, 0, (off_t)f->ps, SYNC_FILE_RANGE_WRITE),
		    ==, 0);
		memset(want, 'a' + round % 20, sizeof(want));
		g_assert_cmpint(pwrite(bfd, want, sizeof(want), 100), ==,
				(ssize_t)sizeof(want));
		g_assert_cmpint(pread(bfd, got, sizeof(got), 100), ==,
				(ssize_t)sizeof(got));
		if (memcmp(got, want, sizeof(want)) != 0) {
			bad = round;
			g_printerr("round %d: b bytes 100..299 are '%c' after "
				   "the write, expected '%c'\n",
				   round, got[0], want[0]);
		}
	}
	r.stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	g_assert_cmpint(bad, ==, -1);
	munmap(amap, f->ps);
	close(afd);
	close(bfd);
	g_free(a);
	g_free(b);
}

static const char *const opts_default[] = {NULL};
static const char *const opts_single[] = {"-s", NULL};

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	rfs_test_watchdog(300, "test-procs");
#define ADD(path, fn, opts)                                                    \
	g_test_add(path, Fixture, opts, fx_setup, fn, fx_teardown)
	ADD("/procs/resize-reaches-mappings-before-it-returns",
	    test_resize_reaches_mappings_at_once, opts_default);
	ADD("/procs/resize-reaches-mappings-single-threaded",
	    test_resize_reaches_mappings_at_once, opts_single);
	ADD("/procs/idle-mount-unmounts-after-resize",
	    test_idle_mount_unmounts_after_resize, opts_default);
	ADD("/procs/resize-with-invalidations-never-keeps-old-size",
	    test_resize_with_invalidations_never_sigbus, opts_default);
	ADD("/procs/grow-drops-zeros-cached-past-old-end",
	    test_grow_drops_zeros_past_old_end, opts_default);
	ADD("/procs/write-whose-pages-are-read-again-leaves-no-stale-copy",
	    test_write_whose_pages_are_read_again_leaves_no_stale_copy,
	    opts_default);
	ADD("/procs/partial-write-of-a-page-read-back-leaves-no-stale-copy",
	    test_partial_write_of_a_page_read_back_leaves_no_stale_copy,
	    opts_default);
	return g_test_run();
}
