/* SPDX-License-Identifier: GPL-2.0-or-later */
/* db-window.c - a database-style buffer window on remapfs: a small virtual
 * view that slides over a large file by remapping, mapped once, never
 * unmapped or mapped again while it moves.
 *
 *     db-window DB [WINDOW [PAGES]]
 *
 * DB is a file in a remapfs mount; when it is empty or missing it is made
 * PAGES pages long (default 1024), page p holding the 64-bit number p in
 * its first word.  The window DB.window is WINDOW pages (default 16) of a
 * virtual view over it.  The program scans the whole file through the
 * window (one remap per step), gathers scattered pages into it in one
 * transaction (a batch), updates a page through it, and checks every page
 * it sees.  Coherence: a store through the window reaches the file when it
 * is written back, so an update is followed by msync(MS_SYNC) before the
 * window moves on or another view reads the page. */
#include <remapfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static size_t ps;

/* The number in the first word of window page i. */
static uint64_t word(const unsigned char *win, size_t i)
{
	uint64_t w;
	memcpy(&w, win + i * ps, sizeof(w));
	return w;
}

/* Checks that window page i shows DB page p. */
static int check(const unsigned char *win, size_t i, uint64_t p,
		 const char *what)
{
	if (word(win, i) == p)
		return 0;
	fprintf(stderr, "%s: window page %zu shows page %llu, not %llu\n", what,
		i, (unsigned long long)word(win, i), (unsigned long long)p);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s DB [WINDOW [PAGES]]\n", argv[0]);
		return 2;
	}
	size_t wpages = argc > 2 ? strtoul(argv[2], NULL, 0) : 16;
	size_t npages = argc > 3 ? strtoul(argv[3], NULL, 0) : 1024;
	int db = open(argv[1], O_RDWR | O_CREAT, 0644);
	struct stat st;
	if (db < 0 || fstat(db, &st) < 0 || remapfs_pagesize(db, &ps) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1],
			db < 0 ? strerror(errno) : remapfs_strerror_last());
		return 1;
	}
	if (st.st_size == 0) {
		unsigned char *page = calloc(1, ps);
		for (uint64_t p = 0; p < npages; p++) {
			memcpy(page, &p, sizeof(p));
			if (pwrite(db, page, ps, (off_t)(p * ps)) !=
			    (ssize_t)ps) {
				perror("pwrite");
				return 1;
			}
		}
		free(page);
	} else {
		npages = (size_t)st.st_size / ps;
	}
	if (npages < wpages) {
		fprintf(stderr, "%s: smaller than the window\n", argv[1]);
		return 1;
	}

	char path[4096];
	snprintf(path, sizeof(path), "%s.window", argv[1]);
	if (remapfs_create(db, AT_FDCWD, path, wpages) < 0) {
		fprintf(stderr, "create %s: %s\n", path,
			remapfs_strerror_last());
		return 1;
	}
	int wfd = open(path, O_RDWR);
	unsigned char *win =
	    wfd < 0 ? MAP_FAILED
		    : mmap(NULL, wpages * ps, PROT_READ | PROT_WRITE,
			   MAP_SHARED, wfd, 0);
	if (win == MAP_FAILED) {
		perror(path);
		return 1;
	}
	int errors = 0;
	size_t remaps = 0;

	/* 1. A scan: the window slides over the file, one remap a step. */
	for (size_t first = 0; first < npages; first += wpages) {
		size_t n = npages - first < wpages ? npages - first : wpages;
		if (remapfs_remap(wfd, 0, first, n) < 0) {
			fprintf(stderr, "remap: %s\n", remapfs_strerror_last());
			return 1;
		}
		remaps++;
		for (size_t i = 0; i < n; i++)
			errors += check(win, i, first + i, "scan");
	}

	/* 2. A gather: scattered pages, all placed in one transaction. */
	remapfs_batch *b = remapfs_batch_new();
	uint64_t *want = calloc(wpages, sizeof(*want));
	for (size_t i = 0; i < wpages; i++) {
		want[i] = (i * 7919 + 13) % npages;
		remapfs_batch_remap(b, wfd, i, want[i], 1);
	}
	if (remapfs_batch_commit(b, 0) < 0) {
		fprintf(stderr, "batch: %s\n", remapfs_strerror_last());
		return 1;
	}
	remapfs_batch_free(b);
	remaps++;
	for (size_t i = 0; i < wpages; i++)
		errors += check(win, i, want[i], "gather");

	/* 3. An update through the window, written back before moving on;
	 * the file's own view shows it. */
	uint64_t target = want[wpages / 2], mark = 0xfeedf00dULL;
	memcpy(win + (wpages / 2) * ps + 8, &mark, sizeof(mark));
	if (msync(win, wpages * ps, MS_SYNC) < 0) {
		perror("msync");
		return 1;
	}
	if (remapfs_remap(wfd, 0, 0, 1) < 0 ||
	    remapfs_remap(wfd, 1, target, 1) < 0) {
		fprintf(stderr, "remap: %s\n", remapfs_strerror_last());
		return 1;
	}
	remaps += 2;
	uint64_t seen = 0, direct = 0;
	memcpy(&seen, win + ps + 8, sizeof(seen));
	if (pread(db, &direct, sizeof(direct), (off_t)(target * ps + 8)) !=
	    (ssize_t)sizeof(direct))
		perror("pread");
	if (seen != mark || direct != mark) {
		fprintf(stderr,
			"update of page %llu lost (window %llx, file"
			" %llx)\n",
			(unsigned long long)target, (unsigned long long)seen,
			(unsigned long long)direct);
		errors++;
	}
	printf("%zu pages seen through a window of %zu pages, %zu remaps, "
	       "no munmap/mmap, %d errors\n",
	       npages, wpages, remaps, errors);
	munmap(win, wpages * ps);
	if (remapfs_remove(wfd) < 0)
		fprintf(stderr, "remove: %s\n", remapfs_strerror_last());
	close(wfd);
	close(db);
	free(want);
	return errors ? 1 : 0;
}
