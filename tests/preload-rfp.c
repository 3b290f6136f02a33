/* SPDX-License-Identifier: GPL-2.0-or-later */
/* preload-rfp.c - a program written against the remap_file_pages(2) manual
 * page alone: it knows nothing of remapfs.  It makes a file of 32 pages,
 * maps it MAP_SHARED, tries the errors the manual lists, then runs a
 * pseudo-random sequence of remaps (with unaligned addresses and sizes, and
 * MAP_NONBLOCK) and stores (each followed by msync), printing what every
 * page shows; at the end it prints what the file's pages hold.  Two runs
 * with the same seed print the same text when remap_file_pages() behaves
 * as the manual says.
 *
 * Usage: preload-rfp [--raw] FILE SEED STEPS [CHECK]
 *   --raw  call the system call by number (syscall(2)), not the function
 *   CHECK  the file to read the final contents from (default FILE) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NP 32

static size_t ps;
static int raw;

/* remap_file_pages() or the raw system call. */
static int rfp(void *addr, size_t size, int prot, size_t pgoff, int flags)
{
	if (raw)
		return (int)syscall(SYS_remap_file_pages, addr, size, prot,
				    pgoff, flags);
	return remap_file_pages(addr, size, prot, pgoff, flags);
}

/* A deterministic pseudo-random sequence. */
static uint64_t state;
static uint64_t next(void)
{
	state = state * 6364136223846793005ULL + 1442695040888963407ULL;
	return state >> 33;
}

/* FNV-1a of one page. */
static uint64_t hash(const unsigned char *p)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < ps; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* Prints the result of one call. */
static void result(const char *what, int ret)
{
	printf("%s: %d %s\n", what, ret, ret ? strerrorname_np(errno) : "");
}

/* Prints the first word and a hash of every page of map. */
static void show(const char *what, const unsigned char *map)
{
	printf("%s:", what);
	for (size_t p = 0; p < NP; p++) {
		uint64_t w;
		memcpy(&w, map + p * ps, sizeof(w));
		printf(" %" PRIu64 "/%04" PRIx64, w,
		       hash(map + p * ps) & 0xffff);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--raw") == 0) {
		raw = 1;
		argv++;
		argc--;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: preload-rfp [--raw] FILE SEED STEPS"
				" [CHECK]\n");
		return 2;
	}
	ps = (size_t)sysconf(_SC_PAGESIZE);
	state = strtoull(argv[2], NULL, 0);
	long steps = strtol(argv[3], NULL, 0);
	const char *check = argc > 4 ? argv[4] : argv[1];

	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	uint64_t *page = malloc(ps);
	for (size_t p = 0; p < NP; p++) {
		for (size_t i = 0; i < ps / 8; i++)
			page[i] = p * 1000 + i % 7;
		if (write(fd, page, ps) != (ssize_t)ps) {
			perror("write");
			return 1;
		}
	}
	/* The mapping, with an unmapped page right after it. */
	unsigned char *map = mmap(NULL, (NP + 1) * ps, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mmap(map, NP * ps, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_FIXED, fd, 0) != map) {
		perror("mmap");
		return 1;
	}
	munmap(map + NP * ps, ps);
	show("start", map);

	/* The errors of the manual page. */
	result("prot not 0", rfp(map, ps, PROT_READ, 0, 0));
	result("size 0", rfp(map, 0, 0, 0, 0));
	result("size under a page", rfp(map, ps / 2, 0, 0, 0));
	unsigned char *anon = mmap(NULL, ps, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	result("anonymous mapping", rfp(anon, ps, 0, 0, 0));
	unsigned char *priv = mmap(NULL, 2 * ps, PROT_READ, MAP_PRIVATE, fd, 0);
	result("private mapping", rfp(priv, ps, 0, 1, 0));
	result("past the mapping", rfp(map + (NP - 1) * ps, 2 * ps, 0, 0, 0));
	result("pgoff wraps", rfp(map, 2 * ps, 0, (size_t)-1, 0));
	result("unmapped", rfp(map + NP * ps, ps, 0, 0, 0));
	show("after errors", map);

	for (long s = 0; s < steps; s++) {
		uint64_t op = next() % 10;
		char what[128];
		if (op < 6) {
			size_t a = next() % NP;
			size_t max = NP - a < 4 ? NP - a : 4;
			size_t c = 1 + next() % max;
			size_t pgoff = next() % (NP - c + 1);
			size_t u = next() % ps, e = next() % ps;
			int flags = next() % 2 ? MAP_NONBLOCK : 0;
			snprintf(what, sizeof(what),
				 "remap %zu+%zu pages (+%zu bytes) at %zu%s", a,
				 c, e, pgoff, flags ? " nonblock" : "");
			result(what, rfp(map + a * ps + u, c * ps + e, 0, pgoff,
					 flags));
		} else if (op < 8) {
			size_t i = next() % NP, w = next() % (ps / 8);
			uint64_t v = next();
			memcpy(map + i * ps + w * 8, &v, sizeof(v));
			result("msync", msync(map + i * ps, ps, MS_SYNC));
		} else {
			snprintf(what, sizeof(what), "step %ld", s);
			show(what, map);
		}
	}
	show("end", map);
	munmap(map, NP * ps);
	munmap(priv, 2 * ps);
	munmap(anon, ps);
	close(fd);

	/* What the file's own pages hold now. */
	fd = open(check, O_RDONLY);
	unsigned char *buf = malloc(NP * ps);
	if (fd < 0 || pread(fd, buf, NP * ps, 0) != (ssize_t)(NP * ps)) {
		perror(check);
		return 1;
	}
	show("file", buf);
	close(fd);
	free(buf);
	free(page);
	return 0;
}
