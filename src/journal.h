/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal.h - the -o state file on disk: a snapshot and the transactions
 * appended after it (format in state.h).  Only the control thread writes
 * it; every call here does blocking I/O and must be made without locks.
 *
 * A transaction is acknowledged only once its record is appended and
 * synced (group commit: the records of transactions that arrived together
 * share one sync).  When the appended records outgrow the snapshot, the
 * file is replaced by a new snapshot: written beside it, synced, renamed
 * over it, the directory synced; so the cost of a transaction does not
 * grow with the size of the state. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct rfs_journal;

/* A journal for path and a mount of this page size.  Nothing is written
 * until rfs_journal_snapshot. */
struct rfs_journal *rfs_journal_new(const char *path, uint64_t pagesize,
				    uint64_t *privfds);
/* Closes and frees it (NULL allowed). */
void rfs_journal_free(struct rfs_journal *j);

/* Replaces the file with a snapshot whose body is dump[0..len) and opens
 * it for appending.  Returns 0 or a positive errno (the old file stays,
 * and appends keep going to it). */
int rfs_journal_snapshot(struct rfs_journal *j, const char *dump, size_t len);
/* Appends records (made by rfs_state_record) and syncs them.  Returns 0
 * or a positive errno (the file is then cut back to what it was). */
int rfs_journal_append(struct rfs_journal *j, const char *records, size_t len);
/* Whether the appended records have outgrown the snapshot. */
bool rfs_journal_wants_snapshot(const struct rfs_journal *j);
/* The file's path. */
const char *rfs_journal_path(const struct rfs_journal *j);

/* Reads and checks path for a mount of page size pagesize: 0 with the
 * file's text in *text (g_free it) and its records appended to records
 * (struct rfs_state_record, pointing into *text); ENOENT when there is no
 * file; else a positive errno with one line in msg.  A torn last record
 * is dropped with a line in *note (may stay empty). */
int rfs_journal_read(const char *path, uint64_t pagesize, char **text,
		     GArray *records, GString *msg, GString *note);
