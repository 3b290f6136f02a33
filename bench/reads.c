/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reads.c - remapfs-bench sections 1-4: reads of views against the raw
 * file and remap_file_pages(2) (run.h). */
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

/* Before a cold read through bindfs: drops its page cache of the file
 * and makes sure the backing file is cached. */
static void peer_cold(struct bench *b)
{
	drop_cached(b->peer_data);
	cold(b, NULL, b->data_src);
}

/* The page cache, in bytes per byte of the file, that holds it after it
 * was read through view (backing file's copy and view's). */
static double cache_per_byte(struct bench *b, const char *view)
{
	/* The daemon drops what the last replies completed just after
	 * sending them. */
	g_usleep(100000);
	return (double)(resident_bytes(b, b->data_src) +
			resident_bytes(b, view)) /
	       (double)b->size;
}

/* Section 1: sequential read() of cold views, the backing file cached or
 * on disk, and the page cache that reading leaves. */
void section_read(struct bench *b)
{
	struct expect id = {0}, scr = {.map = b->perm};
	int n = b->repeat;
	double raw[n], idv[n], sc[n], peer[n], dRaw[n], dId[n], dPeer[n],
	    mem[n], pmem[n];
	uint64_t left = 0; /* bytes cached when they should be on disk */
	for (int r = 0; r < n; r++) {
		bench_progress("[1] sequential read(), round %d/%d", r + 1, n);
		cold(b, NULL, b->data_src);
		raw[r] = seq_read(b, b->data_src, b->size, &id, "raw read()");
		cold(b, "data.bin", b->data_src);
		idv[r] = seq_read(b, b->data_view, b->size, &id,
				  "read() of the identity view");
		mem[r] = cache_per_byte(b, b->data_view);
		cold(b, "scr", b->data_src);
		sc[r] = seq_read(b, b->scr_view, b->size, &scr,
				 "read() of the scrambled view");
		peer[r] = pmem[r] = dPeer[r] = NAN;
		if (b->peer_data) {
			peer_cold(b);
			peer[r] = seq_read(b, b->peer_data, b->size, &id,
					   "read() through bindfs");
			pmem[r] = cache_per_byte(b, b->peer_data);
		}
		/* From disk: nothing of the file cached anywhere (what the
		 * daemon maps with backing_cache=keep stays). */
		drop_cached(b->data_src);
		left = MAX(left, resident_bytes(b, b->data_src));
		dRaw[r] = seq_read(b, b->data_src, b->size, &id,
				   "raw read() from disk");
		bench_invalidate(&b->env, "data.bin");
		drop_cached(b->data_src);
		dId[r] = seq_read(b, b->data_view, b->size, &id,
				  "read() of the identity view from disk");
		if (b->peer_data) {
			drop_cached(b->peer_data);
			drop_cached(b->data_src);
			dPeer[r] = seq_read(b, b->peer_data, b->size, &id,
					    "read() through bindfs from disk");
		}
		bench_progress("  raw %.0f, identity %.0f, scrambled %.0f, "
			       "bindfs %.0f MiB/s; from disk: raw %.0f, "
			       "identity %.0f, bindfs %.0f MiB/s; page cache "
			       "per byte %.2f (bindfs %.2f)",
			       raw[r], idv[r], sc[r], peer[r], dRaw[r], dId[r],
			       dPeer[r], mem[r], pmem[r]);
	}
	double mraw = bench_median(raw, n), mid = bench_median(idv, n);
	double msc = bench_median(sc, n), mdraw = bench_median(dRaw, n);
	bool p = b->peer_data != NULL;
	bench_add(1, "read() 1 MiB, raw backing file (cached)", mraw, "MiB/s",
		  NULL, NAN, BT_NONE, 0);
	struct bench_result *res =
	    bench_add(1,
		      "read() 1 MiB, identity view (cold view, backing "
		      "cached)",
		      mid, "MiB/s", "raw read()", mraw, BT_RATIO_GE, 0.30);
	if (p)
		bench_set_peer(res, bench_median(peer, n));
	bench_add(1, "read() 1 MiB, scrambled view (cold view, backing cached)",
		  msc, "MiB/s", "identity view", mid, BT_RATIO_GE, 0.85);
	bench_add(1, "read() 1 MiB, scrambled view (cold view, backing cached)",
		  msc, "MiB/s", "raw read()", mraw, BT_NONE, 0);
	bench_add(1, "read() 1 MiB, raw backing file (from disk)", mdraw,
		  "MiB/s", NULL, NAN, BT_NONE, 0);
	res = bench_add(1, "read() 1 MiB, identity view (from disk)",
			bench_median(dId, n), "MiB/s", "raw from disk", mdraw,
			BT_NONE, 0);
	if (p)
		bench_set_peer(res, bench_median(dPeer, n));
	if (left > b->size / 20)
		bench_note("section 1: from disk: %" PRIu64
			   " MiB of the backing "
			   "file stayed cached (a tmpfs keeps its pages; "
			   "with backing_cache=keep the daemon maps them)",
			   left >> 20);
	res = bench_add(1, "page cache per byte read, identity view",
			bench_median(mem, n), "bytes", NULL, NAN, BT_VALUE_LE,
			1.05);
	if (p)
		bench_set_peer(res, bench_median(pmem, n));
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
void section_mmap(struct bench *b)
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
void section_warm(struct bench *b)
{
	struct expect id = {0}, scr = {.map = b->perm};
	int n = b->repeat;
	double raw[n], idv[n], sc[n], peer[n];
	bench_progress("[3] caching the views");
	cold(b, NULL, b->data_src);
	seq_read(b, b->data_view, b->size, &id, "read() of the identity view");
	seq_read(b, b->scr_view, b->size, &scr, "read() of the scrambled view");
	if (b->peer_data)
		seq_read(b, b->peer_data, b->size, &id,
			 "read() through bindfs");
	for (int r = 0; r < n; r++) {
		bench_progress("[3] warm re-read, round %d/%d", r + 1, n);
		cold(b, NULL, b->data_src);
		raw[r] = seq_read(b, b->data_src, b->size, &id, "raw read()");
		idv[r] = seq_read(b, b->data_view, b->size, &id,
				  "warm read() of the identity view");
		sc[r] = seq_read(b, b->scr_view, b->size, &scr,
				 "warm read() of the scrambled view");
		peer[r] = b->peer_data ? seq_read(b, b->peer_data, b->size, &id,
						  "warm read() through bindfs")
				       : NAN;
		bench_progress("  raw %.0f, identity %.0f, scrambled %.0f, "
			       "bindfs %.0f MiB/s",
			       raw[r], idv[r], sc[r], peer[r]);
	}
	double mraw = bench_median(raw, n);
	bench_add(3, "read() 1 MiB, raw backing file (cached)", mraw, "MiB/s",
		  NULL, NAN, BT_NONE, 0);
	struct bench_result *res = bench_add(
	    3, "read() 1 MiB, identity view (warm)", bench_median(idv, n),
	    "MiB/s", "raw read()", mraw, BT_RATIO_GE, 0.9);
	if (b->peer_data)
		bench_set_peer(res, bench_median(peer, n));
	bench_add(3, "read() 1 MiB, scrambled view (warm)", bench_median(sc, n),
		  "MiB/s", "raw read()", mraw, BT_RATIO_GE, 0.9);
}

/* Section 4: 4 KiB pread() at random distinct pages, views cold. */
void section_random(struct bench *b)
{
	struct expect id = {0}, scr = {.map = b->perm};
	int nr = b->repeat;
	double raw[nr], idv[nr], sc[nr], peer[nr];
	uint32_t *pages = g_new(uint32_t, b->pages);
	size_t n = MIN(b->n_rand, (size_t)b->pages);
	for (uint64_t i = 0; i < b->pages; i++)
		pages[i] = (uint32_t)i;
	bench_shuffle(&b->rng, pages, b->pages);
	for (int r = 0; r < nr; r++) {
		bench_progress("[4] %zu random 4 KiB pread(), round %d/%d", n,
			       r + 1, nr);
		cold(b, NULL, b->data_src);
		raw[r] =
		    rand_pread(b, b->data_src, pages, n, &id, "raw pread()");
		cold(b, "data.bin", b->data_src);
		idv[r] = rand_pread(b, b->data_view, pages, n, &id,
				    "pread() of the identity view");
		cold(b, "scr", b->data_src);
		sc[r] = rand_pread(b, b->scr_view, pages, n, &scr,
				   "pread() of the scrambled view");
		peer[r] = NAN;
		if (b->peer_data) {
			drop_cached(b->peer_data);
			cold(b, NULL, b->data_src);
			peer[r] = rand_pread(b, b->peer_data, pages, n, &id,
					     "pread() through bindfs");
		}
		bench_progress("  raw %.0f, identity %.0f, scrambled %.0f, "
			       "bindfs %.0f reads/s",
			       raw[r], idv[r], sc[r], peer[r]);
	}
	g_free(pages);
	double mraw = bench_median(raw, nr);
	bench_add(4, "pread() 4 KiB random, raw backing file (cached)", mraw,
		  "reads/s", NULL, NAN, BT_NONE, 0);
	struct bench_result *res =
	    bench_add(4, "pread() 4 KiB random, identity view (cold view)",
		      bench_median(idv, nr), "reads/s", "raw pread()", mraw,
		      BT_RATIO_GE, 0.06);
	if (b->peer_data)
		bench_set_peer(res, bench_median(peer, nr));
	bench_add(4, "pread() 4 KiB random, scrambled view (cold view)",
		  bench_median(sc, nr), "reads/s", "raw pread()", mraw,
		  BT_RATIO_GE, 0.06);
}
