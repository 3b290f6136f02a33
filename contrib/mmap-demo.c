/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mmap-demo - shows that a live MAP_SHARED mapping of a remapfs view
 * changes when .control is written:
 *   mmap-demo VIEW CONTROL COMMAND...
 * maps VIEW, prints the first byte of each page, writes each COMMAND line
 * to CONTROL (one transaction each), and prints the same mapping again. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Prints the first byte of every page of the mapping. */
static void show(const char *what, const unsigned char *map, size_t pages,
		 size_t ps)
{
	printf("%-32s", what);
	for (size_t p = 0; p < pages; p++)
		printf(" %c", map[p * ps]);
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s VIEW CONTROL COMMAND...\n", argv[0]);
		return 2;
	}
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
		fprintf(stderr, "%s: %s\n", argv[1],
			fd < 0 ? strerror(errno) : "empty");
		return 1;
	}
	size_t pages = (size_t)st.st_size / ps;
	const unsigned char *map =
	    mmap(NULL, pages * ps, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	show("mapping before:", map, pages, ps);
	for (int i = 3; i < argc; i++) {
		int cfd = open(argv[2], O_RDWR);
		char line[512];
		int n = snprintf(line, sizeof(line), "%s\n", argv[i]);
		if (cfd < 0) {
			perror(argv[2]);
			return 1;
		}
		if (write(cfd, line, (size_t)n) != n) {
			/* The daemon's message is read back on the same fd. */
			ssize_t r = read(cfd, line, sizeof(line) - 1);
			line[r > 0 ? r : 0] = '\0';
			fprintf(stderr, "%s: %s", argv[i], line);
			return 1;
		}
		close(cfd);
		char what[64];
		snprintf(what, sizeof(what), "after \"%.22s\":", argv[i]);
		show(what, map, pages, ps);
	}
	munmap((void *)map, pages * ps);
	close(fd);
	return 0;
}
