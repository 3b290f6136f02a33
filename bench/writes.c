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

/* Section 8: sequential writes through write() and mmap + msync. */
void section_write(struct bench *b)
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
