/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-stress.c - remaps racing with mmap readers: every page a reader
 * sees must be one the map allowed at that moment; no deadlock. */
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VPAGES 64
#define FPAGES 256
#define REMAPPERS 4
#define READERS 4

static size_t PS;

/* Each view page's history of targets: hist[0..len) in order; committed
 * is the index of the mapping in force (later ones are being applied). */
struct page_hist {
	GMutex lock;  /* protects the fields below */
	GArray *hist; /* uint64_t */
	guint committed;
	GMutex remap_lock; /* one remap of this page at a time */
};

struct shared {
	struct rfs_test_mount *m;
	struct page_hist pages[VPAGES];
	gint64 deadline;
	volatile gint failures;
	volatile gint remaps;
	volatile gint reads;
	const uint8_t *map;
};

static gpointer remapper(gpointer data)
{
	struct shared *s = data;
	GRand *r = g_rand_new_with_seed((guint32)(uintptr_t)g_thread_self());
	int fd = open(s->m->control, O_WRONLY);
	if (fd < 0) {
		g_atomic_int_inc(&s->failures);
		return NULL;
	}
	while (g_get_monotonic_time() < s->deadline && !s->failures) {
		guint v = (guint)g_rand_int_range(r, 0, VPAGES);
		uint64_t f = (uint64_t)g_rand_int_range(r, 0, FPAGES);
		struct page_hist *h = &s->pages[v];
		char line[64];
		int n = snprintf(line, sizeof(line), "remap v %u %" PRIu64 "\n",
				 v, f);
		g_mutex_lock(&h->remap_lock);
		g_mutex_lock(&h->lock);
		g_array_append_val(h->hist, f);
		guint idx = h->hist->len - 1;
		g_mutex_unlock(&h->lock);
		if (write(fd, line, (size_t)n) != n) {
			g_printerr("remap write failed: %s\n",
				   g_strerror(errno));
			g_atomic_int_inc(&s->failures);
		}
		g_mutex_lock(&h->lock);
		h->committed = idx;
		g_mutex_unlock(&h->lock);
		g_mutex_unlock(&h->remap_lock);
		g_atomic_int_inc(&s->remaps);
	}
	close(fd);
	g_rand_free(r);
	return NULL;
}

static gpointer reader(gpointer data)
{
	struct shared *s = data;
	GRand *r =
	    g_rand_new_with_seed((guint32)(uintptr_t)g_thread_self() ^ 77);
	uint8_t *copy = g_malloc(PS);
	while (g_get_monotonic_time() < s->deadline && !s->failures) {
		guint v = (guint)g_rand_int_range(r, 0, VPAGES);
		struct page_hist *h = &s->pages[v];
		g_mutex_lock(&h->lock);
		guint from = h->committed;
		g_mutex_unlock(&h->lock);
		memcpy(copy, s->map + (size_t)v * PS, PS);
		g_mutex_lock(&h->lock);
		guint to = h->hist->len;
		/* Every word must come from a page the map allowed while
		 * the copy ran (a copy racing a remap may mix two). */
		const uint64_t *w = (const uint64_t *)copy;
		for (size_t k = 0; k < PS / 8; k++) {
			bool ok = false;
			for (guint i = from; i < to && !ok; i++)
				ok =
				    w[k] == g_array_index(h->hist, uint64_t, i);
			if (ok)
				continue;
			g_printerr(
			    "view page %u word %zu: saw %" G_GUINT64_FORMAT
			    ", expected one of:",
			    v, k, w[k]);
			for (guint i = from; i < to; i++)
				g_printerr(" %" G_GUINT64_FORMAT,
					   g_array_index(h->hist, uint64_t, i));
			g_printerr("\n");
			g_atomic_int_inc(&s->failures);
			break;
		}
		g_mutex_unlock(&h->lock);
		g_atomic_int_inc(&s->reads);
	}
	g_free(copy);
	g_rand_free(r);
	return NULL;
}

static gpointer dirtier(gpointer data)
{
	struct shared *s = data;
	GRand *r = g_rand_new_with_seed(99);
	while (g_get_monotonic_time() < s->deadline && !s->failures) {
		guint v = (guint)g_rand_int_range(r, 0, VPAGES);
		uint64_t *p = (uint64_t *)(s->map + (size_t)v * PS) + 1;
		/* Dirty the page without changing its bytes: one atomic
		 * instruction, so it cannot carry a stale value across a
		 * remap as a load and a store would. */
		__atomic_fetch_add(p, 0, __ATOMIC_RELAXED);
		if (g_rand_int_range(r, 0, 64) == 0)
			msync((void *)s->map, VPAGES * PS, MS_ASYNC);
	}
	g_rand_free(r);
	return NULL;
}

/* Runs REMAPPERS remap threads against READERS mmap readers for seconds;
 * with dirty, one more thread keeps dirtying mapped pages. */
static void run_race(const char *const *opts, int seconds, bool dirty)
{
	struct rfs_test_mount *m = rfs_test_prepare();
	char *bf = rfs_src(m, "b");
	rfs_write_tagged(bf, FPAGES, PS, 0);
	g_free(bf);
	if (!rfs_test_start(m, opts)) {
		g_test_fail();
		rfs_test_free(m);
		return;
	}
	struct shared *s = g_new0(struct shared, 1);
	s->m = m;
	for (int v = 0; v < VPAGES; v++) {
		g_mutex_init(&s->pages[v].lock);
		g_mutex_init(&s->pages[v].remap_lock);
		s->pages[v].hist = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		uint64_t f = (uint64_t)v;
		g_array_append_val(s->pages[v].hist, f);
	}
	g_assert_cmpint(rfs_ctlf(m, "create v b %d\n", VPAGES), ==, 0);
	char *vp = rfs_mnt(m, "v");
	int fd = open(vp, O_RDWR);
	g_assert_cmpint(fd, >=, 0);
	s->map =
	    mmap(NULL, VPAGES * PS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	g_assert_true(s->map != MAP_FAILED);
	s->deadline = g_get_monotonic_time() + seconds * G_USEC_PER_SEC;
	GThread *t[REMAPPERS + READERS + 1];
	int n = 0;
	for (int i = 0; i < REMAPPERS; i++)
		t[n++] = g_thread_new("remapper", remapper, s);
	for (int i = 0; i < READERS; i++)
		t[n++] = g_thread_new("reader", reader, s);
	if (dirty)
		t[n++] = g_thread_new("dirtier", dirtier, s);
	for (int i = 0; i < n; i++)
		g_thread_join(t[i]);
	g_test_message("%d remaps, %d page reads in %d s", s->remaps, s->reads,
		       seconds);
	g_printerr("# %d remaps, %d page reads in %d s\n", s->remaps, s->reads,
		   seconds);
	g_assert_cmpint(s->failures, ==, 0);
	g_assert_cmpint(s->remaps, >, 0);
	g_assert_cmpint(s->reads, >, 0);
	munmap((void *)s->map, VPAGES * PS);
	close(fd);
	for (int v = 0; v < VPAGES; v++)
		g_array_unref(s->pages[v].hist);
	g_free(s);
	g_free(vp);
	rfs_test_free(m);
}

static void test_race_remappers_and_mmap_readers_10s(void)
{
	run_race(NULL, 10, false);
}

static void test_race_with_dirty_pages_single_threaded_no_deadlock(void)
{
	static const char *const opts[] = {"-s", NULL};
	run_race(opts, 5, true);
}

static void test_race_with_dirty_pages_multi_threaded_no_deadlock(void)
{
	run_race(NULL, 5, true);
}

/* Small pools of request threads: the writebacks and the reads that the
 * remaps' invalidations wait for must still find a thread. */
static void test_race_with_dirty_pages_two_threads_no_deadlock(void)
{
	static const char *const opts[] = {"-o", "max_threads=2", NULL};
	run_race(opts, 5, true);
}

static void test_race_with_dirty_pages_one_thread_pool_no_deadlock(void)
{
	static const char *const opts[] = {"-o", "max_threads=1", NULL};
	run_race(opts, 5, true);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();
	PS = (size_t)sysconf(_SC_PAGESIZE);
	rfs_test_watchdog(300, "test-stress");
	g_test_add_func("/race/remappers-and-mmap-readers-10s",
			test_race_remappers_and_mmap_readers_10s);
	g_test_add_func("/race/dirty-pages-single-threaded-no-deadlock",
			test_race_with_dirty_pages_single_threaded_no_deadlock);
	g_test_add_func("/race/dirty-pages-multi-threaded-no-deadlock",
			test_race_with_dirty_pages_multi_threaded_no_deadlock);
	g_test_add_func("/race/dirty-pages-two-threads-no-deadlock",
			test_race_with_dirty_pages_two_threads_no_deadlock);
	g_test_add_func("/race/dirty-pages-one-thread-pool-no-deadlock",
			test_race_with_dirty_pages_one_thread_pool_no_deadlock);
	return g_test_run();
}
