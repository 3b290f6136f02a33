/* SPDX-License-Identifier: GPL-2.0-or-later */
/* run.h - remapfs-bench's run: what it knows (struct bench), the helpers
 * every section uses (common.c), and the sections (reads.c, remaps.c,
 * writes.c). */
#pragma once
#include "bench.h"
#include "protocol.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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
	gboolean no_peer;	     /* --no-bindfs */
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
	char *peer_data; /* data.bin through bindfs, or NULL: no peer */
	bool data_ready, scr_ready;
	uint32_t *perm;	  /* the scramble: scr page i shows data page perm[i] */
	double scr_apply; /* seconds it took to apply */
	uint64_t refetched; /* backing pages found uncached by cold() */
	/* the latency view "lat": the first lat_pages pages of data.bin */
	/* Section 6's view nobody reads ("unread"): its map, a scratch
	 * order, its descriptor and mapping (NULL map: not made yet). */
	uint32_t *unread_map, *unread_order;
	int unread_fd;
	char *unread_addr;
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
bool want(struct bench *b, int n);

/* Appends "remap VIEW V F 1". */
void fmt_remap(GString *out, const char *view, uint64_t v, uint64_t f);

/* Runs one command on a view (create with backing and pages; invalidate,
 * remove) through rfs_cmd_format. */
void ctl_cmd(struct bench *b, rfs_op op, const char *view, const char *backing,
	     uint64_t pages);

/* A path in the mount. */
char *mnt_path(struct bench *b, const char *rel);

/* A path in SOURCE. */
char *src_path(struct bench *b, const char *rel);

/* Opens or dies. */
int xopen(const char *path, int flags);

/* Maps or dies. */
char *xmmap(size_t len, int prot, int fd, off_t off, const char *what);

/* Fills a 1 MiB buffer for file offset off: each page's first word is
 * its page number, the rest a pattern. */
void fill_tagged(struct bench *b, char *buf, off_t off);

/* Creates path with size bytes of tagged pages, on disk (fdatasync). */
void create_tagged(struct bench *b, const char *path, uint64_t size);

/* Makes sure the whole file is in the page cache (mincore; a read pass
 * when pages are missing).  Returns the pages that were missing. */
uint64_t warm(struct bench *b, const char *path);

/* Before a cold measurement: drops the view's cached pages and makes sure
 * its backing file is cached, counting backing pages that had left the
 * page cache since they were last read. */
void cold(struct bench *b, const char *view, const char *backing);

/* Reports pages that showed the wrong data (to stderr and as a note). */
void report_bad(uint64_t bad, const char *what);

/* Reads size bytes of path sequentially with 1 MiB read()s and checks each
 * page's tag.  Returns MiB/s. */
double seq_read(struct bench *b, const char *path, uint64_t size,
		const struct expect *ex, const char *what);

/* Copies a page out of a mapping (so that a touch reads all of it, as
 * read() does) and returns its tag. */
uint64_t consume_page(struct bench *b, const char *page);

/* Maps path and reads every page in order (the first touch of each),
 * checking the tags; returns MiB/s of the loop.  *secs gets its time. */
double mmap_touch(struct bench *b, const char *path, uint64_t size,
		  const struct expect *ex, const char *what, double *secs);

/* pread()s 4 KiB (one page) at each of n pages, checking tags; returns
 * reads per second. */
double rand_pread(struct bench *b, const char *path, const uint32_t *pages,
		  size_t n, const struct expect *ex, const char *what);

/* Applies vpage[i] -> fpage[i] to view (vpage NULL: i) in transactions of
 * up to lines lines, formatted beforehand; returns the seconds spent in
 * the writes.  *ntxn gets the number of transactions. */
double apply_map(struct bench *b, const char *view, const uint32_t *vpage,
		 const uint32_t *fpage, size_t n, size_t lines, size_t *ntxn);

/* SOURCE/data.bin: size bytes of tagged pages, in the page cache. */
void ensure_data(struct bench *b);

/* The virtual view "scr" of data.bin, scrambled page by page with a
 * random permutation. */
void ensure_scrambled(struct bench *b);

/* The bytes of path in the page cache (mincore). */
uint64_t resident_bytes(struct bench *b, const char *path);

/* Drops path's pages from the page cache, after writing back what is
 * dirty (fdatasync, POSIX_FADV_DONTNEED): for the backing file, its next
 * read comes from disk; for a file on the FUSE peer, from its backing. */
void drop_cached(const char *path);

/* Sections 1-4 (reads.c): cold sequential reads, mmap first touch against
 * remap_file_pages(2), warm re-reads, random preads. */
void section_read(struct bench *b);
void section_mmap(struct bench *b);
void section_warm(struct bench *b);
void section_random(struct bench *b);
/* Sections 5-7 (remaps.c): remap latency, remap throughput, a view of a
 * million runs. */
void section_latency(struct bench *b);
void section_throughput(struct bench *b);
void section_scale(struct bench *b);
/* Section 8 (writes.c): write() and mmap stores. */
void section_write(struct bench *b);
