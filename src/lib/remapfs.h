/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* remapfs.h - libremapfs: change the maps of remapfs views from a program.
 *
 * Every call returns 0 on success, or -1 with errno set (a pointer-valued
 * call returns NULL with errno set), as the system calls it sits beside.
 * A failed call also leaves a message for the calling thread, the daemon's
 * own when the daemon refused the command: remapfs_strerror_last().
 * All calls are thread-safe except that one batch must not be used by two
 * threads at once.  Page numbers count pages of the mount's page size
 * (remapfs -o pagesize=, see remapfs_pagesize()), except in
 * remapfs_remap_file_pages(), which counts system pages as the system call
 * does.  Link with `pkg-config --libs remapfs`; see libremapfs(3). */
#ifndef REMAPFS_H
#define REMAPFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REMAPFS_LIB_VERSION "0.1.0"

/* A run of a view's map: view pages vpage..vpage+count-1 show backing
 * pages fpage..fpage+count-1. */
typedef struct remapfs_run {
	uint64_t vpage;
	uint64_t fpage;
	uint64_t count;
} remapfs_run;

/* ---- On an open descriptor of a view (O_PATH descriptors work too) ---- */

/* View pages vpage..vpage+count-1 of fd's view show backing pages
 * fpage..fpage+count-1 (the `remap` command).  Every mapping of the view
 * shows them when the call returns. */
int remapfs_remap(int fd, uint64_t vpage, uint64_t fpage, uint64_t count);

/* Back to the identity for count pages from vpage; count 0: from vpage to
 * the end of the view (with vpage 0, the whole view). */
int remapfs_reset(int fd, uint64_t vpage, uint64_t count);

/* Drops what the kernel caches of count pages from vpage (count 0: to the
 * end; with vpage 0, the whole view). */
int remapfs_invalidate(int fd, uint64_t vpage, uint64_t count);

/* pages for remapfs_create(): the backing file's size in pages, rounded
 * up. */
#define REMAPFS_BACKING_PAGES UINT64_MAX

/* Creates a virtual view at path (relative to dirfd as for openat(2); its
 * directory must exist in the same mount) over the file backing_fd is open
 * on, which must be a file of SOURCE (not itself a virtual view), pages
 * long (0 is allowed; REMAPFS_BACKING_PAGES: as long as the backing
 * file). */
int remapfs_create(int backing_fd, int dirfd, const char *path, uint64_t pages);

/* Removes the virtual view fd is open on (the descriptor and mappings keep
 * working until closed). */
int remapfs_remove(int fd);

/* Sets the size of the virtual view fd is open on, in pages. */
int remapfs_resize(int fd, uint64_t pages);

/* Flag of remapfs_get_map(): also the identity runs (vpage == fpage), so
 * that the runs cover the whole view. */
#define REMAPFS_MAP_FULL 0x1

/* The view's current map as runs in vpage order, in a new array *runs of
 * *nruns elements (free() it; NULL when there are none).  Without
 * REMAPFS_MAP_FULL only the runs that are not the identity. */
int remapfs_get_map(int fd, int flags, remapfs_run **runs, size_t *nruns);

/* The mount's page size in bytes (cached per mount). */
int remapfs_pagesize(int fd, size_t *pagesize);

/* What the library knows of a view (remapfs_get_view_info()). */
typedef struct remapfs_view_info {
	uint64_t pagesize; /* the mount's page size */
	uint64_t pages;	   /* the view's size in pages, rounded up */
	int is_virtual;	   /* made by create */
	char *mountpoint;  /* where the mount's root is seen */
	char *view;	   /* path relative to the mount root */
	char *backing;	   /* path of the backing file relative to SOURCE */
} remapfs_view_info;

/* Fills *info about fd's view; release it with remapfs_view_info_free(). */
int remapfs_get_view_info(int fd, remapfs_view_info *info);
/* Frees the strings of *info and zeroes it. */
void remapfs_view_info_free(remapfs_view_info *info);

/* ---- The state of a whole mount (fd: any file or directory in it) ---- */

/* The mount's state as commands (what reading .control gives), in a new
 * NUL-terminated string *text of *len bytes (free() it). */
int remapfs_get_state(int fd, char **text, size_t *len);

/* The mount's statistics (what reading MOUNTPOINT/.stats gives: see
 * STATISTICS in remapfs(1)), in a new NUL-terminated string *text of *len
 * bytes (free() it).  Only the user who mounted may read them. */
int remapfs_get_stats(int fd, char **text, size_t *len);

/* Flag of remapfs_load_state(): first remove the virtual views and reset
 * the maps that the text does not recreate, in the same transaction. */
#define REMAPFS_LOAD_REPLACE 0x1

/* Applies a state (as remapfs_get_state() gives it) in one transaction:
 * all of it or nothing, whatever its size (an explicit begin ... commit
 * transaction when it does not fit one write).  EINVAL when its page size
 * is not the mount's; E2BIG when it is larger than the mount's
 * max_transaction. */
int remapfs_load_state(int fd, const char *text, size_t len, int flags);

/* Told how much of a state has gone to the daemon: done of total bytes
 * (of the commands sent, which may differ from the text's length). */
typedef void (*remapfs_progress_fn)(size_t done, size_t total, void *data);
/* remapfs_load_state(), calling progress (unless NULL) after each write to
 * the daemon and once more, with done == total, when it is applied. */
int remapfs_load_state_progress(int fd, const char *text, size_t len, int flags,
				remapfs_progress_fn progress, void *data);

/* ---- The system call ---- */

/* remap_file_pages(2) on a MAP_SHARED mapping of a remapfs view: shows
 * the file pages from pgoff (in system pages) at addr..addr+size-1 (both
 * rounded down to the system page size).  prot must be 0; flags are
 * ignored.  EINVAL when addr is not in a MAP_SHARED mapping of a view, or
 * the range leaves it, or (with a mount page size larger than the system's)
 * an edge is not aligned to the mount's pages. */
int remapfs_remap_file_pages(void *addr, size_t size, int prot, size_t pgoff,
			     int flags);

/* ---- Batches: many changes of one mount in one transaction ---- */

typedef struct remapfs_batch remapfs_batch;

/* A new, empty batch (NULL and errno ENOMEM on failure). */
remapfs_batch *remapfs_batch_new(void);
/* Frees a batch and what it holds (NULL allowed); nothing is applied. */
void remapfs_batch_free(remapfs_batch *b);

/* Adds a remap, reset or invalidate of fd's view to the batch, with the
 * arguments of remapfs_remap(), remapfs_reset() and remapfs_invalidate().
 * EXDEV when fd is on another mount than the batch's earlier changes. */
int remapfs_batch_remap(remapfs_batch *b, int fd, uint64_t vpage,
			uint64_t fpage, uint64_t count);
int remapfs_batch_reset(remapfs_batch *b, int fd, uint64_t vpage,
			uint64_t count);
int remapfs_batch_invalidate(remapfs_batch *b, int fd, uint64_t vpage,
			     uint64_t count);

/* Adds what remapfs_remap_file_pages(addr, size, 0, pgoff, 0) would do,
 * checked now (the mapping is looked up when it is added). */
int remapfs_batch_remap_file_pages(remapfs_batch *b, void *addr, size_t size,
				   size_t pgoff);

/* How many commands the batch holds. */
size_t remapfs_batch_count(const remapfs_batch *b);

/* Flag of remapfs_batch_commit(): a batch larger than one write (1 MiB
 * less 5 system pages of commands) is sent as several transactions, in
 * order, instead of one explicit transaction. */
#define REMAPFS_BATCH_SPLIT 0x1

/* Applies the batch as one transaction: all of it or nothing, whatever
 * its size (E2BIG over the mount's max_transaction).  On success the batch is
 * emptied; on failure it keeps what was not applied (with REMAPFS_BATCH_SPLIT,
 * the transactions before the failing one were applied and are removed from
 * it).  The message of a failure starts with "command N:", N counting from 1 in
 * the batch. */
int remapfs_batch_commit(remapfs_batch *b, int flags);

/* ---- Errors ---- */

/* The message of the calling thread's last failed call (the daemon's,
 * when it refused a command), "" when none failed yet.  Valid until the
 * thread's next call. */
const char *remapfs_strerror_last(void);

#ifdef __cplusplus
}
#endif
#endif /* REMAPFS_H */
