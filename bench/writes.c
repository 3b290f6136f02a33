/* SPDX-License-Identifier: GPL-2.0-or-later */
/* writes.c - remapfs-bench section 8: writes through views (run.h). */
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

/* Reads size bytes of path (untimed, unchecked): into its page cache. */
static void read_all(struct bench *b, const char *path, uint64_t size)
{
	int fd = xopen(path, O_RDONLY);
	for (uint64_t off = 0; off < size; off += IO_SIZE)
		if (pread(fd, b->buf, IO_SIZE, (off_t)off) < 0)
			bench_die("reading %s: %s", path, strerror(errno));
	close(fd);
}

/* Writes size bytes to path with 4 KiB pwrite()s at the pages perm lists
 * (the file exists; its data goes to disk first, untimed): what the
 * backing file's own file system makes of a scrambled write.  Returns
 * MiB/s. */
static double scattered_write(struct bench *b, const char *path,
			      const uint32_t *perm, uint64_t np)
{
	int fd = xopen(path, O_RDWR);
	fdatasync(fd);
	double t0 = bench_now();
	for (uint64_t i = 0; i < np; i++)
		if (pwrite(fd, b->buf, 4096, (off_t)perm[i] * 4096) != 4096)
			bench_die("writing %s: %s", path, strerror(errno));
	double t = bench_now() - t0;
	close(fd);
	return (double)np * 4096 / MiB / t;
}

/* A permutation of np pages. */
static uint32_t *random_perm(struct bench *b, uint64_t np)
{
	uint32_t *perm = g_new(uint32_t, np);
	for (uint64_t i = 0; i < np; i++)
		perm[i] = (uint32_t)i;
	bench_shuffle(&b->rng, perm, np);
	return perm;
}

/* Section 8: sequential writes through write() and mmap + msync: the raw
 * file, the identity view, a scrambled view whose backing pages no other
 * view caches, a scrambled view while another view caches them; and
 * bindfs. */
void section_write(struct bench *b)
{
	uint64_t size = b->write_size, np = size / b->ps;
	int n = b->repeat;
	double raw[n], rscat[n], idv[n], own[n], sc[n], peer[n], mraw[n],
	    mid[n], mpeer[n];
	size_t ntxn;
	char *rawp = src_path(b, "wraw.bin"), *wsrc = src_path(b, "wview.bin");
	char *osrc = src_path(b, "wown.bin"), *psrc = src_path(b, "wpeer.bin");
	char *wview = mnt_path(b, "wview.bin"), *wscr = mnt_path(b, "wscr");
	char *wown = mnt_path(b, "wown.bin");
	char *wpeer = b->peer_data
			  ? g_build_filename(b->env.peer_mnt, "wpeer.bin", NULL)
			  : NULL;
	bench_progress("[8] creating files of %" PRIu64 " MiB", size >> 20);
	create_tagged(b, rawp, size);
	create_tagged(b, wsrc, size);
	create_tagged(b, osrc, size);
	if (wpeer)
		create_tagged(b, psrc, size);
	/* wscr: a virtual view of wview.bin, scrambled; wown.bin's own view
	 * scrambled (no other view shows its pages). */
	uint32_t *perm = random_perm(b, np);
	ctl_cmd(b, RFS_OP_CREATE, "wscr", "wview.bin", 0);
	apply_map(b, "wscr", NULL, perm, np, TXN_LINES, &ntxn);
	g_free(perm);
	perm = random_perm(b, np);
	apply_map(b, "wown.bin", NULL, perm, np, TXN_LINES, &ntxn);
	memset(b->buf, 0xa5, IO_SIZE);
	for (int r = 0; r < n; r++) {
		bench_progress("[8] sequential writes, round %d/%d", r + 1, n);
		raw[r] = seq_write(b, rawp, rawp, size);
		rscat[r] = scattered_write(b, rawp, perm, np);
		idv[r] = seq_write(b, wview, wsrc, size);
		own[r] = seq_write(b, wown, osrc, size);
		/* wview.bin's view caches every page wscr writes. */
		read_all(b, wview, size);
		sc[r] = seq_write(b, wscr, wsrc, size);
		peer[r] = wpeer ? seq_write(b, wpeer, psrc, size) : NAN;
		mraw[r] = mmap_write(b, rawp, rawp, size, r + 1);
		mid[r] = mmap_write(b, wview, wsrc, size, r + 1);
		mpeer[r] =
		    wpeer ? mmap_write(b, wpeer, psrc, size, r + 1) : NAN;
		bench_progress("  write(): raw %.0f (4 KiB scattered %.0f), "
			       "identity %.0f, scrambled "
			       "%.0f, scrambled over cached pages %.0f, bindfs "
			       "%.0f; mmap+msync: raw %.0f, identity %.0f, "
			       "bindfs %.0f MiB/s",
			       raw[r], rscat[r], idv[r], own[r], sc[r], peer[r],
			       mraw[r], mid[r], mpeer[r]);
	}
	g_free(perm);
	ctl_cmd(b, RFS_OP_REMOVE, "wscr", NULL, 0);
	unlink(rawp);
	unlink(wsrc);
	unlink(osrc);
	if (wpeer)
		unlink(psrc);
	double m = bench_median(raw, n), mi = bench_median(idv, n);
	bench_add(8, "write() 1 MiB, raw backing file", m, "MiB/s", NULL, NAN,
		  BT_NONE, 0);
	struct bench_result *res =
	    bench_add(8, "write() 1 MiB, identity view", mi, "MiB/s",
		      "raw write()", m, BT_RATIO_GE, 0.25);
	if (wpeer)
		bench_set_peer(res, bench_median(peer, n));
	double ms = bench_median(rscat, n);
	bench_add(8, "pwrite() 4 KiB scattered, raw backing file", ms, "MiB/s",
		  NULL, NAN, BT_NONE, 0);
	bench_add(8, "write() 1 MiB, scrambled view, no other view caches it",
		  bench_median(own, n), "MiB/s", "identity write()", mi,
		  BT_RATIO_GE, 0.9);
	bench_add(8, "write() 1 MiB, scrambled view, no other view caches it",
		  bench_median(own, n), "MiB/s", "raw 4 KiB scattered", ms,
		  BT_NONE, 0);
	bench_add(8, "write() 1 MiB, scrambled view, another view caches it",
		  bench_median(sc, n), "MiB/s", "identity write()", mi,
		  BT_RATIO_GE, 0.3);
	m = bench_median(mraw, n);
	bench_add(8, "mmap stores + msync, raw backing file", m, "MiB/s", NULL,
		  NAN, BT_NONE, 0);
	res = bench_add(8, "mmap stores + msync, identity view",
			bench_median(mid, n), "MiB/s", "raw mmap+msync", m,
			BT_RATIO_GE, 0.14);
	if (wpeer)
		bench_set_peer(res, bench_median(mpeer, n));
	g_free(rawp);
	g_free(wsrc);
	g_free(osrc);
	g_free(psrc);
	g_free(wview);
	g_free(wscr);
	g_free(wown);
	g_free(wpeer);
}
