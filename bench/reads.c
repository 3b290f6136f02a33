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

/* Section 1: sequential read() of cold views against the warm backing. */
void section_read(struct bench *b)
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
void section_random(struct bench *b)
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
