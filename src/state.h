/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* state.h - the format of the -o state file.  Pure: no I/O; unit-tested
 * in test-state.
 *
 * A state file is a header line and checksummed records:
 *   remapfs-state 2 pagesize=N\n
 *   S LEN CRC\n BODY     a snapshot: the whole state as .control commands
 *   T LEN CRC\n BODY     a transaction applied after it, in order
 * LEN is the length of BODY in bytes (decimal), CRC the CRC-32C (eight
 * lower-case hex digits) of the kind letter, LEN as written and BODY.
 * The first record is the one snapshot; transactions are appended (and
 * synced) as they are acknowledged, and the file is replaced by a new
 * snapshot (written beside it, synced, renamed over it) when they grow.
 *
 * A transaction record cut short at the end of the file (its append never
 * finished, so it was never acknowledged) is dropped; anything else that
 * does not check (a cut snapshot, a bad checksum before the end, stray
 * bytes) is damage, refused with its byte offset.  The older format (the
 * bare dump, "# remapfs state: pagesize N" first) is read as a snapshot. */
#pragma once
#include <glib.h>
#include <stdint.h>

#define RFS_STATE_MAGIC "remapfs-state 2"

struct rfs_state_record {
	char kind;	  /* 'S' or 'T' */
	size_t off;	  /* byte offset of the record's header in the file */
	const char *body; /* inside the parsed text */
	size_t len;
};

/* Parses a record's body line by line, as the loader does (a line that
 * does not parse does not stop the others): appends the commands to cmds
 * (from rfs_cmds_new) and, for each bad line, "# why\nLINE\n" to
 * rejected.  Returns the number of bad lines. */
unsigned rfs_state_parse_commands(const char *body, size_t len,
				  uint64_t page_limit, GArray *cmds,
				  GString *rejected);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (0 to start). */
uint32_t rfs_crc32c(uint32_t crc, const void *data, size_t len);

/* Appends the header line for a mount of this page size. */
void rfs_state_header(GString *out, uint64_t pagesize);
/* Appends one record of kind 'S' or 'T' with body[0..len). */
void rfs_state_record(GString *out, char kind, const char *body, size_t len);

/* Parses a whole state file.  Returns 0 with *pagesize, the records
 * appended to records (a GArray of struct rfs_state_record pointing into
 * text) and *torn (the offset of a dropped torn last record, else -1);
 * or EINVAL with "byte OFF: ..." in msg and nothing appended. */
int rfs_state_parse(const char *text, size_t len, uint64_t *pagesize,
		    GArray *records, int64_t *torn, GString *msg);
