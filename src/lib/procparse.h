/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* procparse.h - reading the lines of /proc/self/maps and
 * /proc/self/mountinfo, and placing a path inside a mount.  Pure: text in,
 * structures out; no system calls.  Functions return 0 or a positive errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One mapping of the address space (a line of /proc/self/maps). */
struct rfsl_vma {
	uint64_t start;	 /* first byte */
	uint64_t end;	 /* one past the last byte */
	uint64_t offset; /* file offset of start, in bytes */
	unsigned major, minor;
	uint64_t inode;
	bool readable, writable, executable, shared;
	char *path; /* as the kernel shows it (may end in " (deleted)", may
		       be "[heap]"...); NULL when the line has none.  Owned. */
};

/* Parses one line of /proc/self/maps (len bytes, without or with its
 * '\n'): "start-end perms offset MM:mm inode [path]".  The path runs to the
 * end of the line; "\012" in it becomes a newline, as the kernel escapes
 * it.  Returns 0 (filling *out, which the caller clears) or EINVAL. */
int rfsl_parse_maps_line(const char *line, size_t len, struct rfsl_vma *out);

/* Frees what a vma owns and zeroes it. */
void rfsl_vma_clear(struct rfsl_vma *v);

/* One mount (a line of /proc/self/mountinfo). */
struct rfsl_mountinfo {
	int mount_id;
	unsigned major, minor;
	char *root;	  /* path inside the file system mounted, unescaped */
	char *mountpoint; /* unescaped */
	char *fstype;	  /* e.g. "fuse.remapfs" */
};

/* Parses one line of /proc/self/mountinfo: "ID PARENT MM:mm ROOT POINT
 * OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS".  Returns 0 (filling
 * *out, which the caller clears) or EINVAL. */
int rfsl_parse_mountinfo_line(const char *line, size_t len,
			      struct rfsl_mountinfo *out);

/* Whether a mountinfo file system type is FUSE's ("fuse", "fuse.NAME";
 * not fuseblk). */
bool rfsl_fstype_is_fuse(const char *fstype);

/* Frees what a mountinfo owns and zeroes it. */
void rfsl_mountinfo_clear(struct rfsl_mountinfo *m);

/* A new string: s (len bytes) with every "\ooo" (exactly three octal
 * digits) replaced by its byte, as mountinfo escapes space, tab, newline
 * and backslash.  Other backslashes are kept. */
char *rfsl_unescape_octal(const char *s, size_t len);

/* Where an absolute path lies in a mount of `mountpoint` showing `root` of
 * its file system: the path relative to the file system's root, without a
 * leading slash ("" for the root itself), in *rel (new string).  Returns 0,
 * or ENOENT when path is not mountpoint or below it (whole components). */
int rfsl_path_in_mount(const char *path, const char *mountpoint,
		       const char *root, char **rel);

/* Whether path ends with the " (deleted)" the kernel appends to the name
 * of an unlinked file; if so and stripped is not NULL, *stripped receives
 * the path without it (new string). */
bool rfsl_path_deleted(const char *path, char **stripped);

/* Parses the first line of a state dump, "# remapfs state: pagesize N".
 * Returns 0 and sets *pagesize (a power of two), or EINVAL. */
int rfsl_parse_state_header(const char *text, size_t len, uint64_t *pagesize);

/* Strict unsigned 64-bit number: decimal, or hexadecimal with 0x/0X; no
 * sign, no spaces, no trailing bytes.  Returns 0, EINVAL or ERANGE. */
int rfsl_parse_u64(const char *s, uint64_t *out);
