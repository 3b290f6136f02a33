/* SPDX-License-Identifier: GPL-2.0-or-later */
/* common.c - the helpers every section of remapfs-bench uses (run.h). */
#include "config.h"

#include "run.h"

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

/* Whether section n is to run. */
bool want(struct bench *b, int n)
{
	return b->only & (1u << n);
}

/* Appends "remap VIEW V F 1". */
void fmt_remap(GString *out, const char *view, uint64_t v, uint64_t f)
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
void ctl_cmd(struct bench *b, rfs_op op, const char *view, const char *backing,
	     uint64_t pages)
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
char *mnt_path(struct bench *b, const char *rel)
{
	return g_build_filename(b->env.mnt, rel, NULL);
}

/* A path in SOURCE. */
char *src_path(struct bench *b, const char *rel)
{
	return g_build_filename(b->env.src, rel, NULL);
}

/* Opens or dies. */
int xopen(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		bench_die("%s: %s", path, strerror(errno));
	return fd;
}

/* Maps or dies. */
char *xmmap(size_t len, int prot, int fd, off_t off, const char *what)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, off);
	if (p == MAP_FAILED)
		bench_die("mmap %s: %s", what, strerror(errno));
	return p;
}

/* Fills a 1 MiB buffer for file offset off: each page's first word is
 * its page number, the rest a pattern. */
void fill_tagged(struct bench *b, char *buf, off_t off)
{
	for (size_t i = 0; i < IO_SIZE; i += b->ps) {
		uint64_t tag = (uint64_t)(off + (off_t)i) / b->ps;
		memcpy(buf + i, &tag, sizeof(tag));
	}
}

/* Creates path with size bytes of tagged pages, on disk (fdatasync). */
void create_tagged(struct bench *b, const char *path, uint64_t size)
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
uint64_t warm(struct bench *b, const char *path)
{
	int fd = xopen(path, O_RDONLY);
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return 0;
	}
	uint64_t np = ((uint64_t)st.st_size + b->ps - 1) / b->ps;
	uint64_t resident = (resident_bytes(b, path) + b->ps - 1) / b->ps;
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
void cold(struct bench *b, const char *view, const char *backing)
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
void report_bad(uint64_t bad, const char *what)
{
	if (!bad)
		return;
	bench_progress("WARNING: %" PRIu64 " pages showed wrong data in %s",
		       bad, what);
	bench_note("%" PRIu64 " pages showed wrong data in %s", bad, what);
}

/* Reads size bytes of path sequentially with 1 MiB read()s and checks each
 * page's tag.  Returns MiB/s. */
double seq_read(struct bench *b, const char *path, uint64_t size,
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
uint64_t consume_page(struct bench *b, const char *page)
{
	uint64_t w;
	memcpy(b->buf, page, b->ps);
	memcpy(&w, b->buf, 8);
	return w;
}

/* Maps path and reads every page in order (the first touch of each),
 * checking the tags; returns MiB/s of the loop.  *secs gets its time. */
double mmap_touch(struct bench *b, const char *path, uint64_t size,
		  const struct expect *ex, const char *what, double *secs)
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
double rand_pread(struct bench *b, const char *path, const uint32_t *pages,
		  size_t n, const struct expect *ex, const char *what)
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
double apply_map(struct bench *b, const char *view, const uint32_t *vpage,
		 const uint32_t *fpage, size_t n, size_t lines, size_t *ntxn)
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
void ensure_data(struct bench *b)
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
void ensure_scrambled(struct bench *b)
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

uint64_t resident_bytes(struct bench *b, const char *path)
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
	uint64_t resident = 0;
	if (mincore(addr, len, vec) == 0)
		for (size_t i = 0; i < np; i++)
			resident += vec[i] & 1;
	munmap(addr, len);
	g_free(vec);
	close(fd);
	return MIN(resident * b->ps, (uint64_t)len);
}

void drop_cached(const char *path)
{
	int fd = xopen(path, O_RDONLY);
	if (fdatasync(fd) < 0)
		bench_die("fdatasync %s: %s", path, strerror(errno));
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}
