/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exerciser.h - a randomized model checker for remapfs (issue 4).
 *
 * A seeded random sequence of operations on the views of one backing file:
 * read, write, reads and stores through mmap, truncation, remaps, aliases,
 * resets, virtual views, invalidations and writes to the backing file from
 * outside the mount.  An in-memory model of the backing file and of every
 * view's map predicts every byte read back; the first difference stops the
 * run with the seed, the operation number, the last operations and a hex
 * diff of the first bad page.
 *
 * With several processes, each works on its own slice of backing pages
 * (and the same window of view pages of every view it uses), so that each
 * model stays exact while they run at once. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The kinds of operations, in the order of the --ops names. */
enum ex_op {
	EX_READ,
	EX_WRITE,
	EX_MREAD,
	EX_MWRITE,
	EX_MIXED,
	EX_TRUNCATE,
	EX_RESIZE,
	EX_REMAP,
	EX_ALIAS,
	EX_RESET,
	EX_CREATE,
	EX_REMOVE,
	EX_INVALIDATE,
	EX_OUTSIDE,
	EX_NOPS
};

/* The most virtual views a process keeps at once. */
#define EX_MAX_VIRTUAL 4
/* Views of a process: [0] is the mirrored view of the backing file. */
#define EX_NVIEWS (1 + EX_MAX_VIRTUAL)
/* How many operations the failure report shows. */
#define EX_LOG_LEN 20
/* The longest line of the operation log. */
#define EX_LOG_LINE 240

/* What the command line asked for. */
struct ex_config {
	uint64_t seed;
	uint64_t ops_count; /* 0: until seconds pass */
	double seconds;	    /* 0: no time bound */
	uint64_t size;	    /* the largest backing file, bytes */
	uint64_t pagesize;  /* the mount's page size (0: ask the mount) */
	unsigned weights[EX_NOPS];
	unsigned procs;
	const char *mount;  /* an existing mount, or NULL: mount one */
	const char *source; /* its SOURCE */
	bool watch;	    /* the daemon runs with -o watch */
	unsigned watch_ms;  /* how long to wait for -o watch */
	bool verbose;
	bool keep;	      /* keep our mount's directory after a failure */
	bool inval_aliases;   /* invalidate aliases after writes ourselves */
	unsigned check_every; /* full check every N operations (0: never) */
	unsigned timeout;     /* parent: kill everything after N s (0: no) */
	unsigned stall;	      /* ... or when no operation ends for N s */
	unsigned kill_ms;     /* -o restart, its worker killed every ~N ms */
	GPtrArray *daemon_args;
	char *cmdline_ops; /* --ops as given, for the reproducer line */
};

/* One view as the model knows it. */
struct ex_view {
	bool live;
	bool virt;	 /* a virtual view (else the mirrored one) */
	char *name;	 /* path in the mount, as commands name it */
	char *path;	 /* absolute path */
	uint64_t pages;	 /* virtual: size in pages */
	uint64_t *map;	 /* vpage -> fpage, maxpages entries */
	int fd;		 /* open O_RDWR while live */
	uint8_t *mm;	 /* MAP_SHARED mapping of maxsize bytes */
	unsigned serial; /* which name of the pool */
};

/* What one process summarizes for the parent (in shared memory). */
struct ex_result {
	uint64_t counts[EX_NOPS];
	uint64_t ops;
	uint64_t skipped;
	uint64_t checked_bytes;
	int status; /* 0 pass, 1 mismatch or error */
	int quiet;  /* set by the parent: fail without a report */
	/* The last operations, so that the parent can show them when the
	 * process hangs in the file system. */
	char log[EX_LOG_LEN][EX_LOG_LINE];
	unsigned logn;
};

/* Prints the last operations of a process, oldest first. */
void ex_print_log(FILE *out, const struct ex_result *res, unsigned proc);

/* One exercising process. */
struct ex {
	const struct ex_config *cfg;
	unsigned proc;
	uint64_t ps, sysps, maxpages, maxsize;
	uint64_t lo, hi; /* this process's pages: view window = fpage slice */
	bool shared;	 /* several processes share the backing file */

	/* The model of the backing file: bytes past size are zero. */
	uint8_t *data;
	uint32_t *who; /* the operation that last wrote each byte */
	uint64_t size;

	struct ex_view views[EX_NVIEWS];
	char *mnt, *src;   /* the mount and its SOURCE */
	char *backing;	   /* the backing file, relative to SOURCE */
	char *backing_src; /* its absolute path in SOURCE */
	char *prefix;	   /* of virtual view names */
	int ctl;	   /* MOUNTPOINT/.control, O_RDWR */
	int srcfd;	   /* the backing file in SOURCE */

	uint64_t rng[4];
	uint64_t opno;
	enum ex_op cur;
	unsigned wtotal;

	uint8_t *buf, *buf2; /* scratch, maxsize + pagesize bytes */
	uint32_t *claim;     /* backing byte -> claim generation */
	uint32_t claim_gen;
	uint32_t *pclaim;    /* backing page -> claim generation */
	uint64_t *pclaim_by; /* ... and the view page that claimed it */
	uint8_t *touched;    /* backing pages written since the last
				self-invalidation (--invalidate-aliases) */
	struct ex_result *res;
};

extern const char *const ex_op_names[EX_NOPS];

/* Sets up a process's model over the initial backing content (copied);
 * the caller has set mnt, src, backing, backing_src, prefix and res. */
void ex_init(struct ex *ex, const struct ex_config *cfg, unsigned proc,
	     const uint8_t *initial, uint64_t initial_size);
/* Opens the views, runs the operations, checks; returns the exit status. */
int ex_run(struct ex *ex);
/* Seeds a xoshiro256** state from a 64-bit seed. */
void ex_seed(uint64_t s[4], uint64_t seed);
/* The next 64 random bits. */
uint64_t ex_next(uint64_t s[4]);
