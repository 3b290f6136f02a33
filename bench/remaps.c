/* SPDX-License-Identifier: GPL-2.0-or-later */
/* remaps.c - remapfs-bench sections 5-7: the latency and throughput of
 * remaps, and a view of a million runs (run.h). */
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
void section_latency(struct bench *b)
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

/* Remaps in transactions of 4096 lines on a view that is open and mapped
 * but whose pages nobody read: the kernel holds none of them, so the
 * daemon sends no invalidation.  Returns the pages per second of n_tx
 * transactions; checks a sample of pages once they are done. */
static double unread_rate(struct bench *b, uint64_t *bad)
{
	size_t np = b->lat_pages, lines = MIN((size_t)4096, np);
	if (!b->unread_map) {
		ctl_cmd(b, RFS_OP_CREATE, "unread", "data.bin", np);
		b->unread_map = g_new(uint32_t, np);
		for (size_t i = 0; i < np; i++)
			b->unread_map[i] = (uint32_t)i;
		b->unread_order = g_new(uint32_t, np);
		for (size_t i = 0; i < np; i++)
			b->unread_order[i] = (uint32_t)i;
		char *path = mnt_path(b, "unread");
		b->unread_fd = xopen(path, O_RDONLY);
		b->unread_addr =
		    xmmap(np * b->ps, PROT_READ, b->unread_fd, 0, path);
		g_free(path);
	}
	GString *s = g_string_new(NULL);
	size_t total = 0;
	double t = 0;
	for (size_t x = 0; x < b->n_tx[2]; x++) {
		bench_shuffle(&b->rng, b->unread_order, np);
		g_string_truncate(s, 0);
		for (size_t i = 0; i < lines; i++) {
			uint32_t v = b->unread_order[i];
			b->unread_map[v] =
			    (uint32_t)other_page(b, b->unread_map[v]);
			fmt_remap(s, "unread", v, b->unread_map[v]);
		}
		double t0 = bench_now();
		bench_ctl(&b->env, s->str, s->len);
		t += bench_now() - t0;
		total += lines;
	}
	g_string_free(s, TRUE);
	for (int i = 0; i < 64; i++) {
		uint64_t v = bench_rng_below(&b->rng, np);
		*bad += !check_page(b, b->unread_addr, v, b->unread_map[v]);
	}
	return (double)total / t;
}

/* Section 6: random single-page remaps in transactions of 1, 64 and 4096
 * lines on the mapped view, repopulated between transactions; and in
 * transactions of 4096 lines on a mapped view nobody read. */
void section_throughput(struct bench *b)
{
	static const size_t sizes[3] = {1, 64, 4096};
	double rate[3][b->repeat], krate[b->repeat], urate[b->repeat];
	uint64_t bad = 0, ubad = 0;
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
		bench_progress("[6] %zu transactions of 4096 lines on a view "
			       "nobody read, round %d/%d",
			       b->n_tx[2], r + 1, b->repeat);
		urate[r] = unread_rate(b, &ubad);
		bench_progress("  %.0f pages/s", urate[r]);
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
	report_bad(ubad, "the view unread after remap transactions");
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
	bench_add(6, "remap, 4096 lines, pages nobody read",
		  bench_median(urate, b->repeat), "pages/s",
		  "remap_file_pages calls/s", mk, BT_VALUE_GE, 1e6);
}

/* Section 7: a million scattered single-page runs in one view of a large
 * sparse file: applying them, the daemon's memory, reading afterwards. */
void section_scale(struct bench *b)
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
		bench_progress(
		    "  %.2f s; daemon memory (anonymous RSS) %.1f -> %.1f MiB",
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
	bench_add(7, "daemon memory (anonymous RSS) after applying", rss1 / MiB,
		  "MiB", "RSS before", rss0 / MiB, BT_NONE, 0);
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
