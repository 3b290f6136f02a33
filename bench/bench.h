/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench.h - remapfs-bench: the environment it builds (a SOURCE, a mount,
 * a daemon, all removed again however the run ends), timing and
 * statistics, and the table of results. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The environment: a temporary base directory holding SOURCE, MOUNTPOINT
 * and the daemon's log. */
struct bench_env {
	char *base;	 /* temporary directory (removed at exit) */
	char *src;	 /* SOURCE */
	char *mnt;	 /* MOUNTPOINT */
	char *control;	 /* MOUNTPOINT/.control */
	char *log;	 /* the daemon's stderr */
	char *tmpfs;	 /* a tmpfs we mounted ourselves, or NULL */
	char *remapfs;	 /* the daemon's path */
	char **dargs;	 /* extra daemon arguments (NULL-terminated) */
	pid_t pid;	 /* the daemon, run with -f */
	int ctl_fd;	 /* MOUNTPOINT/.control, O_RDWR, kept open */
	size_t pagesize; /* the mount's page size */
	/* The FUSE peer: bindfs mounting SOURCE at peer_mnt, or none. */
	char *peer_mnt; /* base/peer, mounted once bench_peer_start won */
	char *peer_log; /* bindfs's stderr */
	pid_t peer_pid; /* bindfs, run with -f, or -1 */
};

/* Installs the cleanup (atexit, SIGINT/SIGTERM/SIGHUP/SIGQUIT on a thread
 * of their own, crash signals).  Call first, before any thread exists. */
void bench_cleanup_install(void);
/* Creates the base directory under dir (NULL: the current directory, or
 * the temporary directory if that is not writable), or on a tmpfs when
 * tmpfs is set (/dev/shm, else one mounted in the base directory). */
void bench_env_prepare(struct bench_env *e, const char *dir, bool tmpfs);
/* Starts the daemon with -f and waits for the mount; opens .control. */
void bench_env_start(struct bench_env *e);
/* Starts bindfs -f SOURCE base/peer and waits for the mount; returns
 * NULL, or why there is no peer ("bindfs is not installed", ...). */
const char *bench_peer_start(struct bench_env *e);
/* Unmounts, stops the daemon, removes the base directory.  Idempotent;
 * the atexit and signal paths call it too. */
void bench_cleanup(void);
/* Whether path is a mount point (from /proc/self/mountinfo). */
bool bench_is_mount_point(const char *path);

/* Prints a message and exits with status 1 (cleaning up). */
void bench_die(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
/* Prints a progress line to stderr. */
void bench_progress(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* Writes text to .control as one transaction; dies with the daemon's
 * message on failure. */
void bench_ctl(struct bench_env *e, const char *text, size_t len);
/* printf-style bench_ctl. */
void bench_ctlf(struct bench_env *e, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Drops the kernel's cached pages of a view ("invalidate VIEW"). */
void bench_invalidate(struct bench_env *e, const char *view);
/* The daemon's own resident memory in bytes (RssAnon: not the pages of
 * files it maps), 0 if unknown. */
uint64_t bench_daemon_rss(struct bench_env *e);
/* Counts the runs of a view: its remap lines in the state dump. */
uint64_t bench_count_runs(struct bench_env *e, const char *view);

/* The machine, for the header. */
struct bench_machine {
	long nproc;
	uint64_t mem_bytes;
	char *cpu;     /* model name */
	char *kernel;  /* uname -srm */
	char *src_fs;  /* file system type of SOURCE */
	char *src_dev; /* its device / source */
	long max_map_count;
	char *daemon_version;
};
/* Fills m for the environment e. */
void bench_machine_probe(struct bench_machine *m, struct bench_env *e);

/* Monotonic seconds. */
double bench_now(void);
/* The median of n values (sorts them). */
double bench_median(double *v, size_t n);
/* The q-quantile (0..1) of n values, nearest rank (sorts them). */
double bench_quantile(double *v, size_t n, double q);

/* A reproducible generator (splitmix64). */
typedef struct bench_rng {
	uint64_t s;
} bench_rng;
/* The next 64 random bits. */
uint64_t bench_rng_next(bench_rng *r);
/* A uniform number below n (n > 0). */
uint64_t bench_rng_below(bench_rng *r, uint64_t n);
/* Shuffles n 32-bit values in place (Fisher-Yates). */
void bench_shuffle(bench_rng *r, uint32_t *v, size_t n);

/* How a result's target is checked. */
enum bench_target {
	BT_NONE,     /* information only */
	BT_RATIO_GE, /* ratio >= x */
	BT_RATIO_GT, /* ratio > x */
	BT_VALUE_GE, /* value >= x */
	BT_VALUE_LE, /* value <= x */
	BT_VALUE_LT, /* value < x */
};

/* One row of the table. */
struct bench_result {
	int section;
	char *name; /* the case */
	double value;
	char *unit;
	char *against; /* the reference's name, or NULL */
	double ref;    /* NAN when there is none */
	double ratio;  /* value / ref, NAN when there is no ref */
	enum bench_target tkind;
	double tval;
	int met;     /* 1, 0, or -1 (no target, or not measurable) */
	double peer; /* the same case on the FUSE peer (bindfs), or NAN */
};

/* Adds a row; returns it.  ref may be NAN. */
struct bench_result *bench_add(int section, const char *name, double value,
			       const char *unit, const char *against,
			       double ref, enum bench_target tkind,
			       double tval);
/* Sets the figure of r's case on the FUSE peer: printed as value/peer
 * beside the ratio. */
void bench_set_peer(struct bench_result *r, double peer);
/* Adds a note printed under the table (and in the JSON). */
void bench_note(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Adds a line to the header: key and value. */
void bench_header(const char *key, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Prints the header, the table and the notes to stdout. */
void bench_print_table(void);
/* Prints everything as one JSON document to stdout. */
void bench_print_json(void);
