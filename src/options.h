/* SPDX-License-Identifier: GPL-2.0-or-later */
/* options.h - the daemon's command line: libfuse's options plus remapfs's.
 * Pure parsing; nothing here mounts or touches the file system. */
#pragma once
#include "log.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fuse_args;

/* The default of -o max_transaction: 64 MiB of commands (a state of
 * about 2,500,000 runs). */
#define RFS_DEFAULT_MAX_TRANSACTION (UINT64_C(64) << 20)

/* -o backing_cache=: what is left in the backing files' page cache once
 * a read through a view was answered (dropcache.h). */
enum rfs_backing_cache {
	RFS_BACKING_CACHE_DROP, /* drop: one copy of each page (default) */
	RFS_BACKING_CACHE_KEEP, /* keep: the backing file's copy stays */
};

struct rfs_options {
	char *source;	       /* SOURCE, as given (made absolute by main) */
	char *mountpoint;      /* MOUNTPOINT, as given */
	uint64_t pagesize;     /* -o pagesize=N; 0 = system page size */
	double attr_timeout;   /* -o attr_timeout=SECONDS */
	double entry_timeout;  /* -o entry_timeout=SECONDS */
	unsigned readahead_kb; /* -o readahead_kb=N; 0: the kernel's */
	unsigned dirty_ratio;  /* -o dirty_ratio=N (percent); 0: the kernel's */
	char *state_file;      /* -o state=FILE: kept across mounts */
	uint64_t max_transaction; /* -o max_transaction=SIZE (bytes) */
	enum rfs_backing_cache backing_cache; /* -o backing_cache= */
	bool watch;	  /* -o watch: notice outside changes to SOURCE */
	bool restart;	  /* -o restart (the default): a supervisor restarts the
			     worker */
	bool read_only;	  /* -o ro: views refuse changes; .control works */
	bool allow_other; /* -o allow_other (also passed to libfuse) */
	bool default_permissions; /* -o default_permissions (also libfuse's) */
	char *log_file;		  /* -o log=FILE, or NULL */
	enum rfs_loglevel log_level; /* -o loglevel= (info) */
	/* Per-mount settings that mount(8) passes and libfuse 3.14 does not
	 * know, applied once mounted (mount_setattr): +1 set, -1 cleared,
	 * 0 as the kernel mounts (relatime, directories' atime, symlinks). */
	int strictatime; /* strictatime; relatime and nostrictatime: 0 */
	int nodiratime;	 /* nodiratime, diratime */
	int nosymfollow; /* nosymfollow, symfollow */
};

/* Takes remapfs's own options and SOURCE out of args into opts; what
 * belongs to libfuse (-f, -d, -s, -h, -V, MOUNTPOINT, -o allow_other, ...)
 * stays in args for fuse_parse_cmdline and fuse_session_new, which reject
 * what they do not know.  Returns 0, or -1 with one line of explanation in
 * *err (g_free it). */
int rfs_options_parse(struct fuse_args *args, struct rfs_options *opts,
		      char **err);

/* Checks a pagesize: a power of two, a multiple of sys_pagesize, at most
 * 1 GiB.  Returns NULL or a static explanation. */
const char *rfs_options_check_pagesize(uint64_t pagesize, size_t sys_pagesize);

/* Prints the option summary (remapfs's, then libfuse's) to stdout. */
void rfs_options_usage(const char *progname);

/* Frees what rfs_options_parse allocated. */
void rfs_options_free(struct rfs_options *opts);
