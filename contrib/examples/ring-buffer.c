/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ring-buffer.c - a "virtual ring buffer" on remapfs: a virtual view of 2N
 * pages whose second half shows the first half, mapped once.  A record
 * that runs past the end of the first half simply continues into the
 * second, so the producer writes and the consumer reads every record with
 * one memcpy, never splitting it at the wrap.
 *
 *     ring-buffer BUFFER [PAGES [RECORDS]]
 *
 * BUFFER is a file in a remapfs mount (made PAGES pages long, default 4);
 * the ring is the virtual view BUFFER.ring next to it, removed at the end.
 *
 * The coherence calls it needs (see COHERENCE in remapfs(1)): the two
 * halves are two cached copies of the same backing pages.  Stores through
 * the mapping reach the other half when they are written back, so the
 * producer calls msync(MS_SYNC) on the pages it wrote before it publishes
 * the record (advances the head); a consumer reading the other half after
 * that sees the bytes.  Until then it might see older bytes.  Never store
 * into both halves' copies of a page between two msyncs: the kernel writes
 * back whole pages, and one copy would overwrite the other.  (A producer
 * using pwrite(2) on the view instead needs no msync: a write is seen at
 * every alias when it returns.) */
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

/* A record: a header and len bytes of payload derived from seq. */
struct header {
	uint64_t seq;
	uint32_t len;
	uint32_t sum;
};

/* The payload byte i of record seq. */
static unsigned char payload(uint64_t seq, size_t i)
{
	return (unsigned char)(seq * 31 + i * 7);
}

/* A checksum of a payload. */
static uint32_t checksum(const unsigned char *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 131 + p[i];
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s BUFFER [PAGES [RECORDS]]\n",
			argv[0]);
		return 2;
	}
	size_t npages = argc > 2 ? strtoul(argv[2], NULL, 0) : 4;
	long records = argc > 3 ? atol(argv[3]) : 5000;
	size_t ps = 0;
	int buf = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (buf < 0 || remapfs_pagesize(buf, &ps) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1],
			buf < 0 ? strerror(errno) : remapfs_strerror_last());
		return 1;
	}
	size_t size = npages * ps; /* the ring's capacity in bytes */
	if (ftruncate(buf, (off_t)size) < 0) {
		perror("ftruncate");
		return 1;
	}

	/* The ring: 2N pages over BUFFER, the second half showing the
	 * first. */
	char ring_path[4096];
	snprintf(ring_path, sizeof(ring_path), "%s.ring", argv[1]);
	if (remapfs_create(buf, AT_FDCWD, ring_path, 2 * npages) < 0) {
		fprintf(stderr, "create %s: %s\n", ring_path,
			remapfs_strerror_last());
		return 1;
	}
	int ring = open(ring_path, O_RDWR);
	if (ring < 0 || remapfs_remap(ring, npages, 0, npages) < 0) {
		fprintf(stderr, "%s: %s\n", ring_path, remapfs_strerror_last());
		return 1;
	}
	unsigned char *base =
	    mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, ring, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	/* Producer and consumer take turns; head and tail count bytes
	 * forever, their offsets in the ring are modulo size. */
	uint64_t head = 0, tail = 0, wrapped = 0, bad = 0;
	unsigned char *rec = malloc(size), *got = malloc(size);
	unsigned char *shadow = calloc(1, size); /* what BUFFER should hold */
	long produced = 0, consumed = 0;
	while (consumed < records) {
		/* Produce while there is room. */
		for (;;) {
			if (produced >= records)
				break;
			size_t len = sizeof(struct header) +
				     (size_t)(produced * 37 % 3000);
			if (size - (head - tail) < len)
				break;
			struct header h = {(uint64_t)produced,
					   (uint32_t)(len - sizeof(h)), 0};
			for (size_t i = 0; i < h.len; i++)
				rec[sizeof(h) + i] = payload(h.seq, i);
			h.sum = checksum(rec + sizeof(h), h.len);
			memcpy(rec, &h, sizeof(h));
			size_t off = head % size;
			memcpy(base + off, rec,
			       len); /* one copy, wrap or not */
			/* Write back the pages it touched, so that the other
			 * half shows them, before publishing. */
			size_t first = off / ps * ps;
			if (msync(base + first, off + len - first, MS_SYNC)) {
				perror("msync");
				return 1;
			}
			size_t part = off + len > size ? size - off : len;
			memcpy(shadow + off, rec, part);
			memcpy(shadow, rec + part, len - part);
			if (off + len > size)
				wrapped++;
			head += len;
			produced++;
		}
		/* Consume one record. */
		size_t off = tail % size;
		struct header h;
		memcpy(&h, base + off, sizeof(h));
		size_t len = sizeof(h) + h.len;
		if (len > size || h.seq != (uint64_t)consumed) {
			fprintf(stderr, "record %ld: bad header (seq %llu)\n",
				consumed, (unsigned long long)h.seq);
			return 1;
		}
		memcpy(got, base + off, len); /* one copy, wrap or not */
		if (checksum(got + sizeof(h), h.len) != h.sum)
			bad++;
		tail += len;
		consumed++;
	}
	/* Every byte reached BUFFER once, through one half or the other. */
	if (pread(buf, got, size, 0) != (ssize_t)size ||
	    memcmp(got, shadow, size) != 0) {
		fprintf(stderr, "%s does not hold the ring's bytes\n", argv[1]);
		bad++;
	}
	printf("%ld records through a ring of %zu bytes, %llu across the wrap,"
	       " %llu bad\n",
	       consumed, size, (unsigned long long)wrapped,
	       (unsigned long long)bad);
	munmap(base, 2 * size);
	free(shadow);
	if (remapfs_remove(ring) < 0)
		fprintf(stderr, "remove: %s\n", remapfs_strerror_last());
	close(ring);
	close(buf);
	free(rec);
	free(got);
	return bad ? 1 : 0;
}
