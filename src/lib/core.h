/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core.h - the parts of libremapfs that touch the system: each thread's
 * last error message, the cache of remapfs mounts, the process's mappings,
 * and transactions on .control.  Thread-safe.  Functions return 0 or a
 * positive errno and, on failure, leave a message (rfsl_last_error()). */
#pragma once
#include "procparse.h"
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The largest write that .control applies as one transaction: the FUSE
 * request size of the mount (the daemon's max_write, 1 MiB less 4 system
 * pages), when the buffer starts on a page (rfsl_transact sees to it).  A
 * longer write would be split by the kernel into several transactions. */
size_t rfsl_txn_max(void);

/* Sets the calling thread's last error message (printf-style) and
 * returns err. */
int rfsl_fail(int err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* The calling thread's last error message ("" when none). */
const char *rfsl_last_error(void);

/* Where a file of a remapfs mount is, as its daemon names it. */
struct rfsl_target {
	dev_t dev;
	char *mountpoint;  /* a mount showing the file system's root */
	char *control;	   /* mountpoint + "/.control" */
	char *view;	   /* path relative to the root ("" for the root) */
	uint64_t pagesize; /* the mount's page size */
};
/* Frees what a target owns and zeroes it. */
void rfsl_target_clear(struct rfsl_target *t);

/* Places the file (dev, ino), which this process sees at the absolute
 * path `path` (as /proc shows it: a " (deleted)" suffix is handled), in
 * its remapfs mount and reads the mount's page size (cached).  ENODEV when
 * dev is not a remapfs mount; ENOENT when the path is not in a mount of it
 * that shows its root, or the file has no name any more. */
int rfsl_locate(dev_t dev, ino_t ino, const char *path, struct rfsl_target *t);

/* rfsl_locate for an open descriptor of any kind (O_PATH too); *st (may be
 * NULL) receives its fstat. */
int rfsl_locate_fd(int fd, struct rfsl_target *t, struct stat *st);

/* Sets *yes to whether device major:minor is a remapfs mount. */
int rfsl_is_remapfs(unsigned major, unsigned minor, bool *yes);

/* The mapping of this process that contains addr: 0 with *found set and
 * *out filled (the caller clears it), or *found false. */
int rfsl_vma_at(uint64_t addr, struct rfsl_vma *out, bool *found);

/* Makes rfsl_vma_at parse the text of /proc/self/maps instead of using the
 * PROCMAP_QUERY ioctl (Linux 6.11), as on older kernels.  For tests. */
void rfsl_maps_force_text(bool on);

/* Writes text (len bytes, complete lines) to control as one transaction:
 * one write up to rfsl_txn_max(), else begin ... commit over several.
 * When the daemon refuses it, the message is the daemon's without its
 * "error: line L:" prefix, and L is stored in *err_line (may be NULL; 0
 * when unknown). */
int rfsl_transact(const char *control, const char *text, size_t len,
		  unsigned *err_line);
/* The same, calling progress (when not NULL) with the bytes of text sent
 * so far after each write, and with len once the daemon applied it. */
int rfsl_transact_progress(
    const char *control, const char *text, size_t len, unsigned *err_line,
    void (*progress)(size_t done, size_t total, void *data), void *data);

/* Appends the mount's state dump (reading control) to out. */
int rfsl_read_state(const char *control, GString *out);
