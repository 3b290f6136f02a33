/* SPDX-License-Identifier: GPL-2.0-or-later */
/* remapfs-bench.c - measures remapfs against the kernel: sequential and
 * random reads of identity and scrambled views, mmap first touch against
 * remap_file_pages(2), remap latency and throughput, a million-run view,
 * and writes.  It builds its own SOURCE, mounts remapfs itself, and
 * removes everything again however it ends.  See remapfs-bench(1). */
#include "config.h"

#include "bench.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024.0 * 1024.0)
#define IO_SIZE (1u << 20) /* read()/write() size */
#define TXN_LINES 16384	   /* lines per transaction for big maps */
#define NSECTIONS 8

/* Everything a run knows. */
struct bench {
	struct bench_env env;
	/* options */
	uint64_t size, scale_size, runs, write_size;
	int repeat;
	uint64_t seed;
	gboolean json, quick, tmpfs; /* GOption writes gboolean */
	char *dir;		     /* --dir, or NULL */
	unsigned only;		     /* bit n: section n */
	size_t samples;
	/* derived */
	size_t ps;
	uint64_t pages;	 /* pages of data.bin */
	size_t n_rand;	 /* random preads per measurement */
	size_t n_tx[3];	 /* transactions of 1, 64, 4096 lines */
	size_t n_kcalls; /* remap_file_pages calls for the rate */
	bench_rng rng;
	char *buf; /* IO_SIZE, page aligned */
	/* data.bin: every page's first word is its page number */
	char *data_src, *data_view, *scr_view;
	bool data_ready, scr_ready;
	uint32_t *perm;	  /* the scramble: scr page i shows data page perm[i] */
	double scr_apply; /* seconds it took to apply */
	uint64_t refetched; /* backing pages found uncached by cold() */
	/* the latency view "lat": the first lat_pages pages of data.bin */
	bool lat_ready;
	size_t lat_pages;
	uint32_t *lat_map;
	char *lat_addr;
	int lat_fd;
	/* the kernel's mapping of data.bin for sections 5 and 6 */
	char *k_addr;
	int k_fd;
};

/* What a page should show: its data page's number, or zero. */
struct expect {
	const uint32_t *map; /* view page -> data page; NULL: identity */
	bool zeros;	     /* a sparse file: every word is 0 */
};

/* The tag page p of a view should carry. */
static inline uint64_t expected_tag(const struct expect *ex, uint64_t p)
{
	return ex->zeros ? 0 : ex->map ? ex->map[p] : p;
}

/* Whether section n is to run. */
static bool want(struct bench *b, int n)
{
	return b->only & (1u << n);
}

/* Appends "remap VIEW V F 1". */
static void fmt_remap(GString *out, const char *view, uint64_t v, uint64_t f)
{
	rfs_cmd c = {.op = RFS_OP_REMAP,
		     .has = RFS_HAS_VPAGE | RFS_HAS_COUNT,
		     .view = (char *)view,
		     .vpage = v,
		     .fpage = f,
		     .count = 1};
	rfs_cmd_format(out, &c);
}

/* Runs one command on a view (create with backing and pages; invalidate,
 * remove) through rfs_cmd_format. */
static void ctl_cmd(struct bench *b, rfs_op op, const char *view,
		    const char *backing, uint64_t pages)
{
	GString *s = g_string_new(NULL);
	rfs_cmd c = {
	    .op = op, .view = (char *)view, .backing = (char *)backing};
	if (op == RFS_OP_CREATE && pages) {
		c.has = RFS_HAS_PAGES;
		c.pages = pages;
	}
	rfs_cmd_format(s, &c);
	bench_ctl(&b->env, s->str, s->len);
	g_string_free(s, TRUE);
}

/* A path in the mount. */
static char *mnt_path(struct bench *b, const char *rel)
{
	return g_build_filename(b->env.mnt, rel, NULL);
}

/* A path in SOURCE. */
static char *src_path(struct bench *b, const char *rel)
{
	return g_build_filename(b->env.src, rel, NULL);
}

/* Opens or dies. */
static int xopen(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		bench_die("%s: %s", path, strerror(errno));
	return fd;
}

/* Maps or dies. */
static char *xmmap(size_t len, int prot, int fd, off_t off, const char *what)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);
	if (p == MAP_FAILED)
		bench_die("mmap %s: %s", what, strerror(errno));
	return p;
}

/* Fills a 1 MiB buffer for file offset off: each page's first word is
 * its page number, the rest a pattern. */
static void fill_tagged(struct bench *b, char *buf, off_t off)
{
	for (size_t i = 0; i < IO_SIZE; i += b->ps) {
		uint64_t tag = (uint64_t)(off + (off_t)i) / b->ps;
		memcpy(buf + i, &tag, sizeof(tag));
	}
}

/* Creates path with size bytes of tagged pages, on disk (fdatasync). */
static void create_tagged(struct bench *b, const char *path, uint64_t size)
{
	int fd = xopen(path, O_WRONLY | O_CREAT | O_TRUNC);
	memset(b->buf, 0x5a, IO_SIZE);
	for (uint64_t off = 0; off < size; off += IO_SIZE) {
		size_t len = (size_t)MIN((uint64_t)IO_SIZE, size - off);
		fill_tagged(b, b->buf, (off_t)off);
		if (write(fd, b->buf, len) != (ssize_t)len)
			bench_die("writing %s: %s", path, strerror(errno));
	}
	if (fdatasync(fd) < 0)
		bench_die("fdatasync %s: %s", path, strerror(errno));
	close(fd);
}

/* Makes sure the whole file is in the page cache (mincore; a read pass
 * when pages are missing).  Returns the pages that were missing. */
static uint64_t warm(struct bench *b, const char *path)
{
	int fd = xopen(path, O_RDONLY);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return 0;
	}
	size_t len = (size_t)st.st_size, np = (len + b->ps - 1) / b->ps;
	char *addr = xmmap(len, PROT_READ, fd, 0, path);
	unsigned char *vec = g_malloc(np);
	size_t resident = 0;
	if (mincore(addr, len, vec) == 0)
		for (size_t i = 0; i < np; i++)
			resident += vec[i] & 1;
	munmap(addr, len);
	g_free(vec);
	if (resident < np) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
		while (read(fd, b->buf, IO_SIZE) > 0)
			;
	}
	close(fd);
	return np - resident;
}

/* Before a cold measurement: drops the view's cached pages and makes sure
 * its backing file is cached, counting backing pages that had left the
 * page cache since they were last read. */
static void cold(struct bench *b, const char *view, const char *backing)
{
	if (view)
		bench_invalidate(&b->env, view);
	uint64_t missing = warm(b, backing);
	if (missing) {
		bench_progress("  (%" PRIu64 " pages of %s were not cached; "
			       "read them again)",
			       missing, backing);
		b->refetched += missing;
	}
}

/* Reports pages that showed the wrong data (to stderr and as a note). */
static void report_bad(uint64_t bad, const char *what)
{
	if (!bad)
		return;
	bench_progress("WARNING: %" PRIu64 " pages showed wrong data in %s",
		       bad, what);
	bench_note("%" PRIu64 " pages showed wrong data in %s", bad, what);
}

/* Reads size bytes of path sequentially with 1 MiB read()s and checks each
 * page's tag.  Returns MiB/s. */
static double seq_read(struct bench *b, const char *path, uint64_t size,
		       const struct expect *ex, const char *what)
{
	int fd = xopen(path, O_RDONLY);
	uint64_t bad = 0, done = 0;
	double t0 = bench_now();
	while (done < size) {
		size_t want_len = (size_t)MIN((uint64_t)IO_SIZE, size - done);
		ssize_t n = read(fd, b->buf, want_len);
		if (n < 0)
			bench_die("reading %s: %s", path, strerror(errno));
		if (n == 0)
			bench_die("%s: end of file at %" PRIu64, path, done);
		for (size_t i = 0; i + 8 <= (size_t)n; i += b->ps) {
			uint64_t w;
			memcpy(&w, b->buf + i, 8);
			bad += w != expected_tag(ex, (done + i) / b->ps);
		}
		done += (uint64_t)n;
	}
	double t = bench_now() - t0;
	close(fd);
	report_bad(bad, what);
	return (double)size / MiB / t;
}

/* Copies a page out of a mapping (so that a touch reads all of it, as
 * read() does) and returns its tag. */
static uint64_t consume_page(struct bench *b, const char *page)
{
	uint64_t w;
	memcpy(b->buf, page, b->ps);
	memcpy(&w, b->buf, 8);
	return w;
}

/* Maps path and reads every page in order (the first touch of each),
 * checking the tags; returns MiB/s of the loop.  *secs gets its time. */
static double mmap_touch(struct bench *b, const char *path, uint64_t size,
			 const struct expect *ex, const char *what,
			 double *secs)
{
	int fd = xopen(path, O_RDONLY);
	char *addr = xmmap(size, PROT_READ, fd, 0, path);
	uint64_t bad = 0, np = size / b->ps;
	double t0 = bench_now();
	for (uint64_t p = 0; p < np; p++)
		bad += consume_page(b, addr + p * b->ps) != expected_tag(ex, p);
	double t = bench_now() - t0;
	munmap(addr, size);
	close(fd);
	report_bad(bad, what);
	if (secs)
		*secs = t;
	return (double)size / MiB / t;
}

/* pread()s 4 KiB (one page) at each of n pages, checking tags; returns
 * reads per second. */
static double rand_pread(struct bench *b, const char *path,
			 const uint32_t *pages, size_t n,
			 const struct expect *ex, const char *what)
{
	int fd = xopen(path, O_RDONLY);
	uint64_t bad = 0;
	double t0 = bench_now();
	for (size_t i = 0; i < n; i++) {
		off_t off = (off_t)pages[i] * (off_t)b->ps;
		if (pread(fd, b->buf, 4096, off) != 4096)
			bench_die("pread %s: %s", path, strerror(errno));
		uint64_t w;
		memcpy(&w, b->buf, 8);
		bad += w != expected_tag(ex, pages[i]);
	}
	double t = bench_now() - t0;
	close(fd);
	report_bad(bad, what);
	return (double)n / t;
}

/* Applies vpage[i] -> fpage[i] to view (vpage NULL: i) in transactions of
 * up to lines lines, formatted beforehand; returns the seconds spent in
 * the writes.  *ntxn gets the number of transactions. */
static double apply_map(struct bench *b, const char *view,
			const uint32_t *vpage, const uint32_t *fpage, size_t n,
			size_t lines, size_t *ntxn)
{
	GPtrArray *txns = g_ptr_array_new();
	for (size_t i = 0; i < n; i += lines) {
		GString *s = g_string_sized_new(lines * 32);
		for (size_t j = i; j < MIN(n, i + lines); j++)
			fmt_remap(s, view, vpage ? vpage[j] : j, fpage[j]);
		if (s->len > IO_SIZE)
			bench_die("a transaction of %zu bytes", s->len);
		g_ptr_array_add(txns, s);
	}
	double t = 0;
	for (guint i = 0; i < txns->len; i++) {
		GString *s = txns->pdata[i];
		double t0 = bench_now();
		bench_ctl(&b->env, s->str, s->len);
		t += bench_now() - t0;
		g_string_free(s, TRUE);
	}
	if (ntxn)
		*ntxn = txns->len;
	g_ptr_array_unref(txns);
	return t;
}

/* SOURCE/data.bin: size bytes of tagged pages, in the page cache. */
static void ensure_data(struct bench *b)
{
	if (b->data_ready)
		return;
	bench_progress("creating %s (%" PRIu64 " MiB)", b->data_src,
		       b->size >> 20);
	double t0 = bench_now();
	create_tagged(b, b->data_src, b->size);
	warm(b, b->data_src);
	bench_progress("  %.1f s", bench_now() - t0);
	b->data_ready = true;
}

/* The virtual view "scr" of data.bin, scrambled page by page with a
 * random permutation. */
static void ensure_scrambled(struct bench *b)
{
	size_t ntxn;
	if (b->scr_ready)
		return;
	ensure_data(b);
	b->perm = g_new(uint32_t, b->pages);
	for (uint64_t i = 0; i < b->pages; i++)
		b->perm[i] = (uint32_t)i;
	bench_shuffle(&b->rng, b->perm, b->pages);
	ctl_cmd(b, RFS_OP_CREATE, "scr", "data.bin", 0);
	bench_progress("scrambling view scr: %" PRIu64 " single-page remaps",
		       b->pages);
	b->scr_apply =
	    apply_map(b, "scr", NULL, b->perm, b->pages, TXN_LINES, &ntxn);
	bench_progress("  %.2f s in %zu transactions", b->scr_apply, ntxn);
	bench_add(1, "apply the scramble (1 remap line per page)",
		  (double)b->pages / b->scr_apply, "pages/s", NULL, NAN,
		  BT_NONE, 0);
	b->scr_ready = true;
}

/* Section 1: sequential read() of cold views against the warm backing. */
static void section_read(struct bench *b)
{
	struct expect id = {0}, scr = {.map = b->perm};
	double raw[b->repeat], idv[b->repeat], sc[b->repeat];
	for (int r = 0; r < b->repeat; r++) {
		bench_progress("[1] sequential read(), round %d/%d", r + 1,
			       b->repeat);
		cold(b, NULL, b->data_src);
		raw[r] = seq_read(b, b->data_src, b->size, &id, "raw read()");
		cold(b, "data.bin", b->data_src);
		idv[r] = seq_read(b, b->data_view, b->size, &id,
				  "read() of the identity view");
		cold(b, "scr", b->data_src);
		sc[r] = seq_read(b, b->scr_view, b->size, &scr,
				 "read() of the scrambled view");
		bench_progress(
		    "  raw %.0f, identity %.0f, scrambled %.0f MiB/s", raw[r],
		    idv[r], sc[r]);
	}
	double mraw = bench_median(raw, b->repeat);
	double mid = bench_median(idv, b->repeat);
	double msc = bench_median(sc, b->repeat);
	bench_add(1, "read() 1 MiB, raw backing file (warm)", mraw, "MiB/s",
		  NULL, NAN, BT_NONE, 0);
	bench_add(1, "read() 1 MiB, identity view (cold)", mid, "MiB/s",
		  "raw read()", mraw, BT_RATIO_GE, 0.5);
	bench_add(1, "read() 1 MiB, scrambled view (cold)", msc, "MiB/s",
		  "identity view", mid, BT_RATIO_GE, 0.8);
	bench_add(1, "read() 1 MiB, scrambled view (cold)", msc, "MiB/s",
		  "raw read()", mraw, BT_NONE, 0);
}

/* The kernel's scramble: remap_file_pages(2) of every page of a direct
 * mapping of data.bin with the same permutation, until it fails; then the
 * first touch of what it mapped.  Returns the pages remapped. */
static uint64_t kernel_scramble(struct bench *b, int *err, double *t_remap,
				double *t_touch, uint64_t *bad)
{
	/* remap_file_pages needs VM_SHARED: a descriptor open for writing */
	int fd = xopen(b->data_src, O_RDWR);
	char *addr = xmmap(b->size, PROT_READ, fd, 0, "data.bin");
	uint64_t n = 0;
	*err = 0;
	double t0 = bench_now();
	for (; n < b->pages; n++)
		if (remap_file_pages(addr + n * b->ps, b->ps, 0, b->perm[n],
				     0) < 0) {
			*err = errno;
			break;
		}
	double t1 = bench_now();
	*bad = 0;
	for (uint64_t p = 0; p < n; p++)
		*bad += consume_page(b, addr + p * b->ps) != b->perm[p];
	double t2 = bench_now();
	*t_remap = t1 - t0;
	*t_touch = t2 - t1;
	double tu = bench_now();
	munmap(addr, b->size);
	close(fd);
	bench_progress("  kernel: %" PRIu64 " pages remapped in %.2f s%s%s, "
		       "touched in %.3f s, unmapped in %.2f s",
		       n, *t_remap, *err ? ", then " : "",
		       *err ? strerror(*err) : "", *t_touch, bench_now() - tu);
	return n;
}

/* How many view pages remap_file_pages(2) remaps, in a random order of
 * the view pages, before it fails (the "random scrambling"). */
static uint64_t kernel_random_order(struct bench *b, int *err)
{
	int fd = xopen(b->data_src, O_RDWR);
	char *addr = xmmap(b->size, PROT_READ, fd, 0, "data.bin");
	uint32_t *order = g_new(uint32_t, b->pages);
	uint64_t n = 0;
	for (uint64_t i = 0; i < b->pages; i++)
		order[i] = (uint32_t)i;
	bench_shuffle(&b->rng, order, b->pages);
	*err = 0;
	for (; n < b->pages; n++)
		if (remap_file_pages(addr + (uint64_t)order[n] * b->ps, b->ps,
				     0, b->perm[order[n]], 0) < 0) {
			*err = errno;
			break;
		}
	munmap(addr, b->size);
	close(fd);
	g_free(order);
	return n;
}

/* Section 2: mmap first touch in view order; the kernel's scramble. */
static void section_mmap(struct bench *b)
{
	struct expect id = {0}, scr = {.map = b->perm};
	double raw[b->repeat], idv[b->repeat], sc[b->repeat], kr[b->repeat],
	    sct[b->repeat], scall[b->repeat];
	uint64_t kn = 0, kbad = 0;
	int kerr = 0;
	for (int r = 0; r < b->repeat; r++) {
		double tr, tt;
		bench_progress("[2] mmap first touch, round %d/%d", r + 1,
			       b->repeat);
		cold(b, NULL, b->data_src);
		raw[r] =
		    mmap_touch(b, b->data_src, b->size, &id, "raw mmap", NULL);
		cold(b, "data.bin", b->data_src);
		idv[r] = mmap_touch(b, b->data_view, b->size, &id,
				    "mmap of the identity view", NULL);
		cold(b, "scr", b->data_src);
		sc[r] = mmap_touch(b, b->scr_view, b->size, &scr,
				   "mmap of the scrambled view", &sct[r]);
		scall[r] = (double)b->size / MiB / (sct[r] + b->scr_apply);
		cold(b, NULL, b->data_src);
		kn = kernel_scramble(b, &kerr, &tr, &tt, &kbad);
		kr[r] = (double)(kn * b->ps) / MiB / (tr + tt);
		bench_progress("  raw %.0f, identity %.0f, scrambled %.0f, "
			       "kernel %.0f MiB/s",
			       raw[r], idv[r], sc[r], kr[r]);
	}
	report_bad(kbad, "the kernel's remap_file_pages mapping");
	int rerr;
	uint64_t rn = kernel_random_order(b, &rerr);
	bench_progress("  kernel, random order: %" PRIu64 " pages remapped%s%s",
		       rn, rerr ? ", then " : "", rerr ? strerror(rerr) : "");
	double mraw = bench_median(raw, b->repeat);
	double mid = bench_median(idv, b->repeat);
	double msc = bench_median(sc, b->repeat);
	double mk = bench_median(kr, b->repeat);
	double mall = bench_median(scall, b->repeat);
	bench_add(2, "mmap first touch, raw backing file (warm)", mraw, "MiB/s",
		  NULL, NAN, BT_NONE, 0);
	bench_add(2, "mmap first touch, identity view (cold)", mid, "MiB/s",
		  "raw mmap", mraw, BT_RATIO_GE, 0.5);
	bench_add(2, "mmap first touch, scrambled view (cold)", msc, "MiB/s",
		  "identity view", mid, BT_RATIO_GE, 0.8);
	bench_add(2, "mmap first touch, scrambled view (cold)", msc, "MiB/s",
		  "kernel remap_file_pages", mk, BT_RATIO_GT, 1);
	bench_add(2, "  same, plus applying the scramble", mall, "MiB/s",
		  "kernel remap_file_pages", mk, BT_NONE, 0);
	bench_add(2, "kernel remap_file_pages: pages remapped", (double)kn,
		  "pages", "view pages", (double)b->pages, BT_NONE, 0);
	bench_add(2, "  same, remapped in random order", (double)rn, "pages",
		  "view pages", (double)b->pages, BT_NONE, 0);
	if (kerr)
		bench_note("section 2: kernel remap_file_pages failed after "
			   "%" PRIu64 " pages (%s; vm.max_map_count) remapping "
			   "in view order, after %" PRIu64 " in random order; "
			   "its figure is (remap calls + first touch) over "
			   "the pages remapped in view order",
			   kn, kerr == ENOMEM ? "ENOMEM" : strerror(kerr), rn);
	else
		bench_note("section 2: kernel remap_file_pages scrambled all "
			   "%" PRIu64 " pages; its figure is (remap calls + "
			   "first touch)",
			   kn);
}

/* Section 3: re-reading views already in the page cache. */
static void section_warm(struct bench *b)
{
	struct expect id = {0}, scr = {.map = b->perm};
	double raw[b->repeat], idv[b->repeat], sc[b->repeat];
	bench_progress("[3] caching the views");
	cold(b, NULL, b->data_src);
	seq_read(b, b->data_view, b->size, &id, "read() of the identity view");
	seq_read(b, b->scr_view, b->size, &scr, "read() of the scrambled view");
	for (int r = 0; r < b->repeat; r++) {
		bench_progress("[3] warm re-read, round %d/%d", r + 1,
			       b->repeat);
		cold(b, NULL, b->data_src);
		raw[r] = seq_read(b, b->data_src, b->size, &id, "raw read()");
		idv[r] = seq_read(b, b->data_view, b->size, &id,
				  "warm read() of the identity view");
		sc[r] = seq_read(b, b->scr_view, b->size, &scr,
				 "warm read() of the scrambled view");
		bench_progress(
		    "  raw %.0f, identity %.0f, scrambled %.0f MiB/s", raw[r],
		    idv[r], sc[r]);
	}
	double mraw = bench_median(raw, b->repeat);
	bench_add(3, "read() 1 MiB, raw backing file (warm)", mraw, "MiB/s",
		  NULL, NAN, BT_NONE, 0);
	bench_add(3, "read() 1 MiB, identity view (warm)",
		  bench_median(idv, b->repeat), "MiB/s", "raw read()", mraw,
		  BT_RATIO_GE, 0.9);
	bench_add(3, "read() 1 MiB, scrambled view (warm)",
		  bench_median(sc, b->repeat), "MiB/s", "raw read()", mraw,
		  BT_RATIO_GE, 0.9);
}

/* Section 4: 4 KiB pread() at random distinct pages, views cold. */
static void section_random(struct bench *b)
{
	struct expect id = {0}, scr = {.map = b->perm};
	double raw[b->repeat], idv[b->repeat], sc[b->repeat];
	uint32_t *pages = g_new(uint32_t, b->pages);
	size_t n = MIN(b->n_rand, (size_t)b->pages);
	for (uint64_t i = 0; i < b->pages; i++)
		pages[i] = (uint32_t)i;
	bench_shuffle(&b->rng, pages, b->pages);
	for (int r = 0; r < b->repeat; r++) {
		bench_progress("[4] %zu random 4 KiB pread(), round %d/%d", n,
			       r + 1, b->repeat);
		cold(b, NULL, b->data_src);
		raw[r] =
		    rand_pread(b, b->data_src, pages, n, &id, "raw pread()");
		cold(b, "data.bin", b->data_src);
		idv[r] = rand_pread(b, b->data_view, pages, n, &id,
				    "pread() of the identity view");
		cold(b, "scr", b->data_src);
		sc[r] = rand_pread(b, b->scr_view, pages, n, &scr,
				   "pread() of the scrambled view");
		bench_progress("  raw %.0f, identity %.0f, scrambled %.0f "
			       "reads/s",
			       raw[r], idv[r], sc[r]);
	}
	g_free(pages);
	double mraw = bench_median(raw, b->repeat);
	bench_add(4, "pread() 4 KiB random, raw backing file (warm)", mraw,
		  "reads/s", NULL, NAN, BT_NONE, 0);
	bench_add(4, "pread() 4 KiB random, identity view (cold)",
		  bench_median(idv, b->repeat), "reads/s", "raw pread()", mraw,
		  BT_RATIO_GE, 0.05);
	bench_add(4, "pread() 4 KiB random, scrambled view (cold)",
		  bench_median(sc, b->repeat), "reads/s", "raw pread()", mraw,
		  BT_RATIO_GE, 0.05);
}

/* Touches page v of a mapping and checks it shows data page f. */
static bool check_page(struct bench *b, const char *addr, uint64_t v,
		       uint64_t f)
{
	return *(volatile const uint64_t *)(addr + v * b->ps) == f;
}

/* The view "lat" (the first lat_pages pages of data.bin, a virtual view),
 * mapped and populated; and the kernel's mapping of the same pages. */
static void ensure_lat(struct bench *b)
{
	if (b->lat_ready)
		return;
	ensure_data(b);
	b->lat_pages = (size_t)MIN(b->pages, (uint64_t)65536);
	ctl_cmd(b, RFS_OP_CREATE, "lat", "data.bin", b->lat_pages);
	b->lat_map = g_new(uint32_t, b->lat_pages);
	for (size_t i = 0; i < b->lat_pages; i++)
		b->lat_map[i] = (uint32_t)i;
	char *path = mnt_path(b, "lat");
	b->lat_fd = xopen(path, O_RDONLY);
	b->lat_addr =
	    xmmap(b->lat_pages * b->ps, PROT_READ, b->lat_fd, 0, path);
	g_free(path);
	uint64_t bad = 0;
	for (size_t i = 0; i < b->lat_pages; i++)
		bad += !check_page(b, b->lat_addr, i, i);
	report_bad(bad, "the view lat");
	b->k_fd = xopen(b->data_src, O_RDWR); /* for VM_SHARED */
	b->k_addr = NULL;
	b->lat_ready = true;
}

/* (Re)maps the kernel's direct mapping of lat_pages pages of data.bin,
 * populated (the old one, with its split VMAs, goes). */
static void kernel_map_reset(struct bench *b)
{
	size_t len = b->lat_pages * b->ps;
	if (b->k_addr)
		munmap(b->k_addr, len);
	b->k_addr = xmmap(len, PROT_READ, b->k_fd, 0, "data.bin");
	if (madvise(b->k_addr, len, MADV_WILLNEED) < 0) {
		/* only a hint */
	}
	for (size_t i = 0; i < b->lat_pages; i++)
		(void)*(volatile char *)(b->k_addr + i * b->ps);
}

/* A random data page other than cur. */
static uint64_t other_page(struct bench *b, uint64_t cur)
{
	uint64_t f = bench_rng_below(&b->rng, b->pages);
	return f == cur ? (f + 1) % b->pages : f;
}

/* One kernel remap of page v to f by remap_file_pages (use_mmap false)
 * or mmap(MAP_FIXED); returns its seconds, or -1 when the kernel ran out
 * of mappings (ENOMEM; the mapping is then reset). */
static double kernel_remap_one(struct bench *b, uint64_t v, uint64_t f,
			       bool use_mmap)
{
	char *at = b->k_addr + v * b->ps;
	double t0 = bench_now();
	int res;
	if (use_mmap)
		res = mmap(at, b->ps, PROT_READ, MAP_SHARED | MAP_FIXED,
			   b->k_fd, (off_t)(f * b->ps)) == MAP_FAILED
			  ? -1
			  : 0;
	else
		res = remap_file_pages(at, b->ps, 0, f, 0);
	double t = bench_now() - t0;
	if (res == 0)
		return t;
	if (errno != ENOMEM)
		bench_die("%s: %s", use_mmap ? "mmap" : "remap_file_pages",
			  strerror(errno));
	kernel_map_reset(b);
	return -1;
}

/* Section 5: the latency of one single-page remap on a mapped, populated
 * view, against the kernel. */
static void section_latency(struct bench *b)
{
	size_t n = b->samples * (size_t)b->repeat;
	double *rl = g_new(double, n), *kl = g_new(double, n),
	       *ml = g_new(double, n);
	uint64_t bad = 0, kbad = 0;
	GString *s = g_string_new(NULL);
	ensure_lat(b);
	bench_progress("[5] %zu single-page remaps of a mapped view", n);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = bench_rng_below(&b->rng, b->lat_pages);
		uint64_t f = other_page(b, b->lat_map[v]);
		g_string_truncate(s, 0);
		fmt_remap(s, "lat", v, f);
		double t0 = bench_now();
		bench_ctl(&b->env, s->str, s->len);
		rl[i] = (bench_now() - t0) * 1e6;
		b->lat_map[v] = (uint32_t)f;
		bad += !check_page(b, b->lat_addr, v, f);
	}
	report_bad(bad, "the view lat after single-page remaps");
	bench_progress("[5] %zu remap_file_pages and mmap(MAP_FIXED)", n);
	for (int use_mmap = 0; use_mmap < 2; use_mmap++) {
		double *out = use_mmap ? ml : kl;
		cold(b, NULL, b->data_src);
		kernel_map_reset(b);
		for (size_t i = 0; i < n; i++) {
			uint64_t v = bench_rng_below(&b->rng, b->lat_pages);
			uint64_t f = other_page(b, v);
			double t = kernel_remap_one(b, v, f, use_mmap);
			if (t < 0) {
				i--;
				continue;
			}
			out[i] = t * 1e6;
			kbad += !check_page(b, b->k_addr, v, f);
		}
	}
	report_bad(kbad, "the kernel's remapped mapping");
	g_string_free(s, TRUE);
	double r50 = bench_quantile(rl, n, 0.5),
	       r99 = bench_quantile(rl, n, 0.99);
	double k50 = bench_quantile(kl, n, 0.5),
	       k99 = bench_quantile(kl, n, 0.99);
	double m50 = bench_quantile(ml, n, 0.5),
	       m99 = bench_quantile(ml, n, 0.99);
	bench_progress("  remapfs p50 %.1f p99 %.1f us; remap_file_pages p50 "
		       "%.1f p99 %.1f us; mmap p50 %.1f p99 %.1f us",
		       r50, r99, k50, k99, m50, m99);
	bench_add(5, "remap 1 page, mapped view, p50", r50, "us",
		  "remap_file_pages p50", k50, BT_VALUE_LE, 25);
	bench_add(5, "remap 1 page, mapped view, p99", r99, "us",
		  "remap_file_pages p99", k99, BT_NONE, 0);
	bench_add(5, "remap 1 page, mapped view, p50", r50, "us",
		  "mmap(MAP_FIXED) p50", m50, BT_NONE, 0);
	bench_add(5, "remap 1 page, mapped view, p99", r99, "us",
		  "mmap(MAP_FIXED) p99", m99, BT_NONE, 0);
	g_free(rl);
	g_free(kl);
	g_free(ml);
}

/* Section 6: random single-page remaps in transactions of 1, 64 and 4096
 * lines on the mapped view, repopulated between transactions. */
static void section_throughput(struct bench *b)
{
	static const size_t sizes[3] = {1, 64, 4096};
	double rate[3][b->repeat], krate[b->repeat];
	uint64_t bad = 0;
	ensure_lat(b);
	uint32_t *order = g_new(uint32_t, b->lat_pages);
	for (size_t i = 0; i < b->lat_pages; i++)
		order[i] = (uint32_t)i;
	size_t cursor = b->lat_pages;
	GString *s = g_string_new(NULL);
	for (int r = 0; r < b->repeat; r++) {
		for (int k = 0; k < 3; k++) {
			size_t lines = MIN(sizes[k], b->lat_pages);
			size_t total = 0;
			double t = 0;
			bench_progress("[6] %zu transactions of %zu lines, "
				       "round %d/%d",
				       b->n_tx[k], lines, r + 1, b->repeat);
			for (size_t x = 0; x < b->n_tx[k]; x++) {
				/* distinct view pages in a transaction */
				if (cursor + lines > b->lat_pages) {
					bench_shuffle(&b->rng, order,
						      b->lat_pages);
					cursor = 0;
				}
				const uint32_t *vs = order + cursor;
				cursor += lines;
				g_string_truncate(s, 0);
				uint32_t *fs = g_new(uint32_t, lines);
				for (size_t i = 0; i < lines; i++) {
					fs[i] = (uint32_t)other_page(
					    b, b->lat_map[vs[i]]);
					fmt_remap(s, "lat", vs[i], fs[i]);
				}
				double t0 = bench_now();
				bench_ctl(&b->env, s->str, s->len);
				t += bench_now() - t0;
				total += lines;
				for (size_t i = 0; i < lines; i++) {
					b->lat_map[vs[i]] = fs[i];
					bad += !check_page(b, b->lat_addr,
							   vs[i], fs[i]);
				}
				g_free(fs);
			}
			rate[k][r] = (double)total / t;
			bench_progress("  %.0f pages/s", rate[k][r]);
		}
		/* the kernel: remap_file_pages calls per second */
		double t = 0;
		cold(b, NULL, b->data_src);
		kernel_map_reset(b);
		for (size_t i = 0; i < b->n_kcalls; i++) {
			uint64_t v = bench_rng_below(&b->rng, b->lat_pages);
			double d =
			    kernel_remap_one(b, v, other_page(b, v), false);
			if (d < 0)
				i--;
			else
				t += d;
		}
		krate[r] = (double)b->n_kcalls / t;
		bench_progress("  remap_file_pages: %.0f calls/s", krate[r]);
	}
	report_bad(bad, "the view lat after remap transactions");
	g_string_free(s, TRUE);
	g_free(order);
	double mk = bench_median(krate, b->repeat);
	for (int k = 0; k < 3; k++) {
		char *name =
		    g_strdup_printf("remap, transactions of %zu line%s",
				    sizes[k], sizes[k] > 1 ? "s" : "");
		bench_add(6, name, bench_median(rate[k], b->repeat), "pages/s",
			  "remap_file_pages calls/s", mk,
			  k == 2 ? BT_VALUE_GE : BT_NONE, 1e6);
		g_free(name);
	}
}

/* Section 7: a million scattered single-page runs in one view of a large
 * sparse file: applying them, the daemon's memory, reading afterwards. */
static void section_scale(struct bench *b)
{
	struct expect zero = {.zeros = true};
	uint64_t np = b->scale_size / b->ps;
	size_t n = (size_t)MIN(b->runs, np), ntxn = 0;
	double tapply[b->repeat], idv[b->repeat], sc[b->repeat];
	uint64_t rss0 = 0, rss1 = 0, runs = 0;
	char *path = src_path(b, "sparse.bin");
	char *idpath = mnt_path(b, "sparse.bin");
	char *scpath = mnt_path(b, "scale");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	if (ftruncate(fd, (off_t)b->scale_size) < 0)
		bench_die("ftruncate %s: %s", path, strerror(errno));
	/* n scattered view pages, each to a random backing page */
	uint32_t *vp = g_new(uint32_t, np), *fp = g_new(uint32_t, n);
	for (uint64_t i = 0; i < np; i++)
		vp[i] = (uint32_t)i;
	bench_shuffle(&b->rng, vp, np);
	for (size_t i = 0; i < n; i++)
		fp[i] = (uint32_t)bench_rng_below(&b->rng, np);
	for (size_t i = 0; i < n; i++)
		if (fp[i] == vp[i])
			fp[i] = (uint32_t)((fp[i] + 1) % np);
	/* the data views are not needed here: make room */
	if (b->data_ready)
		bench_invalidate(&b->env, "data.bin");
	if (b->scr_ready)
		bench_invalidate(&b->env, "scr");
	for (int r = 0; r < b->repeat; r++) {
		bench_progress("[7] applying %zu scattered runs to a view of "
			       "%" PRIu64 " pages, round %d/%d",
			       n, np, r + 1, b->repeat);
		ctl_cmd(b, RFS_OP_CREATE, "scale", "sparse.bin", 0);
		uint64_t before = bench_daemon_rss(&b->env);
		tapply[r] = apply_map(b, "scale", vp, fp, n, TXN_LINES, &ntxn);
		uint64_t after = bench_daemon_rss(&b->env);
		bench_progress("  %.2f s; daemon RSS %.1f -> %.1f MiB",
			       tapply[r], before / MiB, after / MiB);
		if (r == 0) {
			rss0 = before;
			rss1 = after;
			runs = bench_count_runs(&b->env, "scale");
			bench_progress("  the state holds %" PRIu64 " runs",
				       runs);
		}
		if (r + 1 < b->repeat)
			ctl_cmd(b, RFS_OP_REMOVE, "scale", NULL, 0);
	}
	g_free(vp);
	g_free(fp);
	bench_progress("[7] reading the sparse file into the page cache");
	warm(b, path);
	for (int r = 0; r < b->repeat; r++) {
		bench_progress("[7] sequential read(), round %d/%d", r + 1,
			       b->repeat);
		cold(b, "sparse.bin", path);
		idv[r] = seq_read(b, idpath, b->scale_size, &zero,
				  "read() of the sparse identity view");
		bench_invalidate(&b->env, "sparse.bin");
		cold(b, "scale", path);
		sc[r] = seq_read(b, scpath, b->scale_size, &zero,
				 "read() of the million-run view");
		bench_invalidate(&b->env, "scale");
		bench_progress("  identity %.0f, %" PRIu64 " runs %.0f MiB/s",
			       idv[r], runs, sc[r]);
	}
	ctl_cmd(b, RFS_OP_REMOVE, "scale", NULL, 0);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	unlink(path);
	char *name =
	    g_strdup_printf("apply %zu runs (%zu transactions)", n, ntxn);
	bench_add(7, name, bench_median(tapply, b->repeat), "s", NULL, NAN,
		  BT_VALUE_LT, 5);
	g_free(name);
	bench_add(7, "daemon RSS after applying", rss1 / MiB, "MiB",
		  "RSS before", rss0 / MiB, BT_NONE, 0);
	double per =
	    runs ? (double)((int64_t)rss1 - (int64_t)rss0) / runs : NAN;
	bench_add(7, "daemon memory per run", per, "B/run", NULL, NAN,
		  BT_VALUE_LE, 64);
	char *rname =
	    g_strdup_printf("read() 1 MiB, %" PRIu64 "-run view (cold)", runs);
	double mid = bench_median(idv, b->repeat);
	bench_add(7, "read() 1 MiB, sparse identity view (cold)", mid, "MiB/s",
		  NULL, NAN, BT_NONE, 0);
	bench_add(7, rname, bench_median(sc, b->repeat), "MiB/s",
		  "identity view", mid, BT_RATIO_GE, 0.8);
	g_free(rname);
	if (runs != n)
		bench_note("section 7: %zu remaps made %" PRIu64 " runs", n,
			   runs);
	g_free(path);
	g_free(idpath);
	g_free(scpath);
}

/* Writes size bytes to path sequentially with 1 MiB write()s (the file
 * exists; its data goes to disk first, untimed); returns MiB/s. */
static double seq_write(struct bench *b, const char *path, const char *backing,
			uint64_t size)
{
	int bfd = xopen(backing, O_RDWR);
	fdatasync(bfd);
	close(bfd);
	int fd = xopen(path, O_WRONLY);
	double t0 = bench_now();
	for (uint64_t off = 0; off < size; off += IO_SIZE) {
		size_t len = (size_t)MIN((uint64_t)IO_SIZE, size - off);
		if (write(fd, b->buf, len) != (ssize_t)len)
			bench_die("writing %s: %s", path, strerror(errno));
	}
	double t = bench_now() - t0;
	close(fd);
	return (double)size / MiB / t;
}

/* Maps path (its pages read in first, untimed), stores into every byte
 * and msync(MS_SYNC)s; returns MiB/s of stores + msync. */
static double mmap_write(struct bench *b, const char *path, const char *backing,
			 uint64_t size, int val)
{
	int bfd = xopen(backing, O_RDWR);
	fdatasync(bfd);
	close(bfd);
	int fd = xopen(path, O_RDWR);
	char *addr = xmmap(size, PROT_READ | PROT_WRITE, fd, 0, path);
	for (uint64_t off = 0; off < size; off += b->ps)
		(void)*(volatile char *)(addr + off);
	double t0 = bench_now();
	for (uint64_t off = 0; off < size; off += b->ps)
		memset(addr + off, val, b->ps);
	if (msync(addr, size, MS_SYNC) < 0)
		bench_die("msync %s: %s", path, strerror(errno));
	double t = bench_now() - t0;
	munmap(addr, size);
	close(fd);
	return (double)size / MiB / t;
}

/* Section 8: sequential writes through write() and mmap + msync. */
static void section_write(struct bench *b)
{
	uint64_t size = b->write_size, np = size / b->ps;
	double raw[b->repeat], idv[b->repeat], sc[b->repeat], mraw[b->repeat],
	    mid[b->repeat];
	size_t ntxn;
	char *rawp = src_path(b, "wraw.bin"), *wsrc = src_path(b, "wview.bin");
	char *wview = mnt_path(b, "wview.bin"), *wscr = mnt_path(b, "wscr");
	bench_progress("[8] creating two files of %" PRIu64 " MiB", size >> 20);
	create_tagged(b, rawp, size);
	create_tagged(b, wsrc, size);
	uint32_t *perm = g_new(uint32_t, np);
	for (uint64_t i = 0; i < np; i++)
		perm[i] = (uint32_t)i;
	bench_shuffle(&b->rng, perm, np);
	ctl_cmd(b, RFS_OP_CREATE, "wscr", "wview.bin", 0);
	apply_map(b, "wscr", NULL, perm, np, TXN_LINES, &ntxn);
	g_free(perm);
	memset(b->buf, 0xa5, IO_SIZE);
	for (int r = 0; r < b->repeat; r++) {
		bench_progress("[8] sequential writes, round %d/%d", r + 1,
			       b->repeat);
		raw[r] = seq_write(b, rawp, rawp, size);
		idv[r] = seq_write(b, wview, wsrc, size);
		sc[r] = seq_write(b, wscr, wsrc, size);
		mraw[r] = mmap_write(b, rawp, rawp, size, r + 1);
		mid[r] = mmap_write(b, wview, wsrc, size, r + 1);
		bench_progress("  write(): raw %.0f, identity %.0f, scrambled "
			       "%.0f; mmap+msync: raw %.0f, identity %.0f "
			       "MiB/s",
			       raw[r], idv[r], sc[r], mraw[r], mid[r]);
	}
	ctl_cmd(b, RFS_OP_REMOVE, "wscr", NULL, 0);
	unlink(rawp);
	unlink(wsrc);
	double m = bench_median(raw, b->repeat);
	bench_add(8, "write() 1 MiB, raw backing file", m, "MiB/s", NULL, NAN,
		  BT_NONE, 0);
	bench_add(8, "write() 1 MiB, identity view",
		  bench_median(idv, b->repeat), "MiB/s", "raw write()", m,
		  BT_RATIO_GE, 0.5);
	bench_add(8, "write() 1 MiB, scrambled view",
		  bench_median(sc, b->repeat), "MiB/s", "raw write()", m,
		  BT_NONE, 0);
	m = bench_median(mraw, b->repeat);
	bench_add(8, "mmap stores + msync, raw backing file", m, "MiB/s", NULL,
		  NAN, BT_NONE, 0);
	bench_add(8, "mmap stores + msync, identity view",
		  bench_median(mid, b->repeat), "MiB/s", "raw mmap+msync", m,
		  BT_RATIO_GE, 0.14);
	g_free(rawp);
	g_free(wsrc);
	g_free(wview);
	g_free(wscr);
}

/* Parses a size with an optional k/M/G/T suffix (powers of 1024). */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		v *= 1024.0;
		end++;
		break;
	case 'm':
	case 'M':
		v *= MiB;
		end++;
		break;
	case 'g':
	case 'G':
		v *= MiB * 1024;
		end++;
		break;
	case 't':
	case 'T':
		v *= MiB * MiB;
		end++;
		break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v > 1e15)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Parses "1,2,5-7" into a bit mask of sections; 0 on error. */
static unsigned parse_only(const char *s)
{
	unsigned mask = 0;
	char **parts = g_strsplit(s, ",", -1);
	for (char **p = parts; *p; p++) {
		char *end;
		long a = strtol(*p, &end, 10), z = a;
		if (*end == '-')
			z = strtol(end + 1, &end, 10);
		if (end == *p || *end || a < 1 || z > NSECTIONS || a > z) {
			mask = 0;
			break;
		}
		for (long i = a; i <= z; i++)
			mask |= 1u << i;
	}
	g_strfreev(parts);
	return mask;
}

/* The built daemon next to this program (build tree or bindir), else
 * "remapfs" from PATH. */
static char *default_remapfs(void)
{
	char *self = g_file_read_link("/proc/self/exe", NULL);
	if (self) {
		char *dir = g_path_get_dirname(self);
		char *cands[] = {
		    g_build_filename(dir, "..", "src", "remapfs", NULL),
		    g_build_filename(dir, "remapfs", NULL)};
		char *res = NULL;
		for (int i = 0; i < 2; i++) {
			if (!res &&
			    g_file_test(cands[i], G_FILE_TEST_IS_REGULAR) &&
			    access(cands[i], X_OK) == 0)
				res = g_strdup(cands[i]);
			g_free(cands[i]);
		}
		g_free(dir);
		g_free(self);
		if (res)
			return res;
	}
	return g_strdup("remapfs");
}

/* Size as text for the header. */
static char *fmt_size(uint64_t v)
{
	if (v >= (1ull << 30) && v % (1ull << 30) == 0)
		return g_strdup_printf("%" PRIu64 " GiB", v >> 30);
	if (v >= (1ull << 20) && v % (1ull << 20) == 0)
		return g_strdup_printf("%" PRIu64 " MiB", v >> 20);
	return g_strdup_printf("%" PRIu64 " B", v);
}

/* Parses the command line into b; exits on errors. */
static void parse_options(struct bench *b, int argc, char **argv)
{
	char *size = NULL, *scale = NULL, *wsize = NULL, *only = NULL;
	char *dir = NULL, *remapfs = NULL;
	gint64 runs = 0, seed = 1, samples = 0;
	int repeat = 0;
	char **dargs = NULL;
	GOptionEntry entries[] = {
	    {"size", 0, 0, G_OPTION_ARG_STRING, &size,
	     "Size of the views of sections 1-6 (default 2G; --quick 256M)",
	     "SIZE"},
	    {"scale-size", 0, 0, G_OPTION_ARG_STRING, &scale,
	     "Size of the sparse file of section 7 (default 4G; --quick 512M)",
	     "SIZE"},
	    {"runs", 0, 0, G_OPTION_ARG_INT64, &runs,
	     "Runs of section 7 (default 1000000; --quick 100000)", "N"},
	    {"write-size", 0, 0, G_OPTION_ARG_STRING, &wsize,
	     "Bytes written per case in section 8 (default SIZE/4)", "SIZE"},
	    {"quick", 'q', 0, G_OPTION_ARG_NONE, &b->quick,
	     "Small sizes, one round: for development", NULL},
	    {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
	     "Create SOURCE in a temporary directory under DIR (default: the "
	     "current directory)",
	     "DIR"},
	    {"tmpfs", 0, 0, G_OPTION_ARG_NONE, &b->tmpfs,
	     "Put SOURCE on a tmpfs (/dev/shm, or one mounted for the run)",
	     NULL},
	    {"json", 'j', 0, G_OPTION_ARG_NONE, &b->json,
	     "Print the results as JSON", NULL},
	    {"remapfs", 0, 0, G_OPTION_ARG_FILENAME, &remapfs,
	     "The daemon to run (default: the one built next to this program)",
	     "PATH"},
	    {"daemon-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &dargs,
	     "An extra argument for the daemon (repeatable), e.g. -s", "ARG"},
	    {"only", 'o', 0, G_OPTION_ARG_STRING, &only,
	     "Run only these sections, e.g. 1,2,5-7", "LIST"},
	    {"repeat", 'r', 0, G_OPTION_ARG_INT, &repeat,
	     "Rounds per measurement; medians are reported (default 5; "
	     "--quick 1)",
	     "N"},
	    {"samples", 0, 0, G_OPTION_ARG_INT64, &samples,
	     "Remaps per round in section 5 (default 2000; --quick 300)", "N"},
	    {"seed", 0, 0, G_OPTION_ARG_INT64, &seed,
	     "Seed of the random permutations and offsets (default 1)", "N"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GError *error = NULL;
	GOptionContext *oc = g_option_context_new(
	    "- measure remapfs against raw files and remap_file_pages(2)");
	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_set_description(
	    oc, "Sections: 1 sequential read(), 2 mmap first touch, 3 warm "
		"re-read,\n4 random 4 KiB pread(), 5 remap latency, 6 remap "
		"throughput,\n7 a million runs, 8 sequential writes.  See "
		"remapfs-bench(1).\n");
	if (!g_option_context_parse(oc, &argc, &argv, &error)) {
		fprintf(stderr, "remapfs-bench: %s\n", error->message);
		exit(2);
	}
	g_option_context_free(oc);
	if (argc > 1) {
		fprintf(stderr, "remapfs-bench: unexpected argument '%s'\n",
			argv[1]);
		exit(2);
	}
	const char *bad = NULL;
	if (!parse_size(size ? size : b->quick ? "256M" : "2G", &b->size))
		bad = "--size";
	if (!parse_size(scale	   ? scale
			: b->quick ? "512M"
				   : "4G",
			&b->scale_size))
		bad = "--scale-size";
	b->write_size = 0;
	if (wsize && !parse_size(wsize, &b->write_size))
		bad = "--write-size";
	if (bad) {
		fprintf(stderr, "remapfs-bench: %s: not a size\n", bad);
		exit(2);
	}
	b->ps = (size_t)sysconf(_SC_PAGESIZE);
	b->size -= b->size % b->ps;
	b->scale_size -= b->scale_size % b->ps;
	if (!b->write_size)
		b->write_size = MAX(b->size / 4, (uint64_t)16 << 20);
	b->write_size -= b->write_size % b->ps;
	if (b->size < (16u << 20) || b->scale_size < (16u << 20) ||
	    b->size / b->ps > UINT32_MAX ||
	    b->scale_size / b->ps > UINT32_MAX) {
		fprintf(stderr, "remapfs-bench: sizes must be between 16 MiB "
				"and 2^32 pages\n");
		exit(2);
	}
	b->runs = runs > 0 ? (uint64_t)runs : b->quick ? 100000 : 1000000;
	b->repeat = repeat > 0 ? MIN(repeat, 1000) : b->quick ? 1 : 5;
	b->samples = samples > 0 ? (size_t)samples : b->quick ? 300 : 2000;
	b->seed = (uint64_t)seed;
	b->only = only ? parse_only(only) : ((1u << (NSECTIONS + 1)) - 2);
	if (!b->only) {
		fprintf(stderr, "remapfs-bench: --only: sections are 1-%d\n",
			NSECTIONS);
		exit(2);
	}
	b->env.remapfs = remapfs ? remapfs : default_remapfs();
	b->env.dargs = dargs;
	b->pages = b->size / b->ps;
	b->n_rand = b->quick ? 10000 : 50000;
	b->n_tx[0] = b->quick ? 300 : 2000;
	b->n_tx[1] = b->quick ? 40 : 300;
	b->n_tx[2] = b->quick ? 8 : 40;
	b->n_kcalls = b->quick ? 5000 : 20000;
	b->rng.s = b->seed;
	g_free(size);
	g_free(scale);
	g_free(wsize);
	g_free(only);
	b->dir = dir;
}

/* The header lines: the machine, the daemon, the sizes. */
static void add_header(struct bench *b)
{
	struct bench_machine m;
	bench_machine_probe(&m, &b->env);
	char *size = fmt_size(b->size), *scale = fmt_size(b->scale_size);
	char *wsize = fmt_size(b->write_size);
	char date[64];
	time_t now = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", localtime(&now));
	bench_header("benchmark", "remapfs-bench %s, %s", PACKAGE_VERSION,
		     date);
	bench_header("machine", "%ld CPUs (%s), %.1f GiB RAM", m.nproc, m.cpu,
		     (double)m.mem_bytes / (MiB * 1024));
	bench_header("kernel", "%s, vm.max_map_count %ld", m.kernel,
		     m.max_map_count);
	bench_header("source", "%s on %s (%s)", b->env.src, m.src_fs,
		     m.src_dev);
	GString *args = g_string_new(NULL);
	for (char **a = b->env.dargs; a && *a; a++)
		g_string_append_printf(args, " %s", *a);
	bench_header("daemon", "%s -f%s (remapfs %s), page size %zu",
		     b->env.remapfs, args->str, m.daemon_version, b->ps);
	g_string_free(args, TRUE);
	bench_header("sizes",
		     "views %s; sparse file %s with %" PRIu64 " runs; writes "
		     "%s; I/O 1 MiB",
		     size, scale, b->runs, wsize);
	bench_header("rounds", "%d per figure (medians), seed %" PRIu64 "%s",
		     b->repeat, b->seed, b->quick ? ", --quick" : "");
	bench_header("legend",
		     "ratio = value / reference; cold = view's page cache "
		     "dropped (invalidate), backing file cached");
	g_free(size);
	g_free(scale);
	g_free(wsize);
	g_free(m.cpu);
	g_free(m.kernel);
	g_free(m.src_fs);
	g_free(m.src_dev);
	g_free(m.daemon_version);
}

/* Warns when the machine seems short of memory for these sizes. */
static void check_memory(struct bench *b)
{
	uint64_t need = 0;
	if (b->only & 0x7e)
		need = 3 * b->size;
	if (want(b, 7))
		need = MAX(need, b->size + 2 * b->scale_size);
	char *avail = NULL;
	uint64_t kb = 0;
	if (g_file_get_contents("/proc/meminfo", &avail, NULL, NULL)) {
		const char *p = strstr(avail, "MemAvailable:");
		if (p)
			kb = strtoull(p + 13, NULL, 10);
	}
	g_free(avail);
	if (kb && need > kb * 1024)
		bench_progress("WARNING: about %" PRIu64 " MiB of page cache "
			       "needed, %" PRIu64 " MiB available: figures "
			       "will suffer",
			       need >> 20, kb >> 10);
}

int main(int argc, char **argv)
{
	struct bench b;
	memset(&b, 0, sizeof(b));
	b.lat_fd = b.k_fd = -1;
	bench_cleanup_install();
	parse_options(&b, argc, argv);
	void *buf = NULL;
	if (posix_memalign(&buf, 4096, IO_SIZE))
		bench_die("out of memory");
	b.buf = buf;
	bench_env_prepare(&b.env, b.dir, b.tmpfs);
	bench_progress("SOURCE %s, mount %s", b.env.src, b.env.mnt);
	bench_env_start(&b.env);
	add_header(&b);
	check_memory(&b);
	b.data_src = src_path(&b, "data.bin");
	b.data_view = mnt_path(&b, "data.bin");
	b.scr_view = mnt_path(&b, "scr");
	double t0 = bench_now();
	if (b.only & 0x1e)
		ensure_scrambled(&b);
	if (want(&b, 1))
		section_read(&b);
	if (want(&b, 2))
		section_mmap(&b);
	if (want(&b, 3))
		section_warm(&b);
	if (want(&b, 4))
		section_random(&b);
	if (want(&b, 5))
		section_latency(&b);
	if (want(&b, 6))
		section_throughput(&b);
	if (b.lat_ready) {
		munmap(b.lat_addr, b.lat_pages * b.ps);
		close(b.lat_fd);
		if (b.k_addr)
			munmap(b.k_addr, b.lat_pages * b.ps);
		close(b.k_fd);
	}
	if (want(&b, 7))
		section_scale(&b);
	if (want(&b, 8))
		section_write(&b);
	if (b.refetched)
		bench_note("%" PRIu64 " backing pages had left the page cache "
			   "between measurements (read again before each cold "
			   "measurement)",
			   b.refetched);
	bench_header("duration", "%.0f s", bench_now() - t0);
	bench_progress("done in %.0f s; unmounting", bench_now() - t0);
	bench_cleanup();
	if (b.json)
		bench_print_json();
	else
		bench_print_table();
	return 0;
}
