/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reverse-pages.c - reverses the order of a file's pages in a mapping with
 * remap_file_pages(), as a program written for Linux 2.6 would: nothing in
 * it knows about remapfs.  Run it on a remapfs view with the drop-in:
 *
 *     LD_PRELOAD=libremapfs-preload.so reverse-pages /mnt/views/file
 *
 * or on a tmpfs file without it, where the kernel does the work.  FILE is
 * created with PAGES pages (default 8) of text when it is empty or missing.
 * It prints the first line of every page of the mapping before and after,
 * and exits 0 when the mapping shows the pages reversed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Prints the first line of each page. */
static void print_pages(const char *title, const char *map, long npages,
			long ps)
{
	printf("%s:\n", title);
	for (long i = 0; i < npages; i++) {
		const char *p = map + i * ps;
		const char *nl = memchr(p, '\n', (size_t)ps);
		printf("  %2ld: %.*s\n", i, (int)(nl ? nl - p : 40), p);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FILE [PAGES]\n", argv[0]);
		return 2;
	}
	long ps = getpagesize();
	long npages = argc > 2 ? atol(argv[2]) : 8;
	int fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[1]);
		return 1;
	}
	if (st.st_size == 0) {
		char *page = malloc(ps);
		for (long i = 0; i < npages; i++) {
			memset(page, ' ', ps);
			for (long off = 63; off < ps; off += 64)
				page[off] = '\n';
			int n = snprintf(page, 64,
					 "This is page %ld of the file", i);
			page[n] = '\n';
			if (write(fd, page, ps) != ps) {
				perror("write");
				return 1;
			}
		}
		free(page);
	} else {
		npages = st.st_size / ps;
	}
	if (npages < 1) {
		fprintf(stderr, "%s: not even one page\n", argv[1]);
		return 1;
	}

	/* 1. A linear MAP_SHARED mapping.  Keep a copy of every page. */
	char *map =
	    mmap(NULL, npages * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	char *copy = malloc(npages * ps);
	memcpy(copy, map, npages * ps);
	print_pages("before", map, npages, ps);

	/* 2. Rearrange it: page i of the mapping shows file page n-1-i. */
	for (long i = 0; i < npages; i++) {
		if (remap_file_pages(map + i * ps, ps, 0, npages - 1 - i, 0)) {
			perror("remap_file_pages");
			return 1;
		}
	}
	print_pages("after remap_file_pages", map, npages, ps);

	int ok = 1;
	for (long i = 0; i < npages; i++)
		if (memcmp(map + i * ps, copy + (npages - 1 - i) * ps, ps))
			ok = 0;
	/* Put it back, in one call for the whole range. */
	if (remap_file_pages(map, npages * ps, 0, 0, 0)) {
		perror("remap_file_pages");
		return 1;
	}
	if (memcmp(map, copy, npages * ps))
		ok = 0;
	printf("%s\n", ok ? "reversed and restored: ok" : "MISMATCH");
	munmap(map, npages * ps);
	free(copy);
	close(fd);
	return ok ? 0 : 1;
}
