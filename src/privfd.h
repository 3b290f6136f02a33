/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privfd.h - -o restart: the descriptors a worker opens for itself (its
 * journal's, its page droppers' duplicates) are marked in a bitmap the
 * supervisor holds (supervise.h), so that the worker after it closes
 * them; the other descriptors a dead worker leaves may be handles the
 * kernel holds, which must stay.  A NULL bitmap (-o norestart) marks
 * nothing.  Mark after the open, unmark before the close: a number is
 * never marked while it names something else. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* Descriptors at or above this are not marked (they leak at a restart). */
#define RFS_PRIVFD_MAX (1u << 20)

static inline bool rfs_privfd_marked(const uint64_t *map, int fd)
{
	return map && fd >= 0 && fd < (int)RFS_PRIVFD_MAX &&
	       (__atomic_load_n(&map[fd / 64], __ATOMIC_RELAXED) &
		(UINT64_C(1) << (fd % 64)));
}

static inline void rfs_privfd_mark(uint64_t *map, int fd)
{
	if (map && fd >= 0 && fd < (int)RFS_PRIVFD_MAX)
		__atomic_fetch_or(&map[fd / 64], UINT64_C(1) << (fd % 64),
				  __ATOMIC_RELAXED);
}

static inline void rfs_privfd_unmark(uint64_t *map, int fd)
{
	if (map && fd >= 0 && fd < (int)RFS_PRIVFD_MAX)
		__atomic_fetch_and(&map[fd / 64], ~(UINT64_C(1) << (fd % 64)),
				   __ATOMIC_RELAXED);
}

/* Sets or clears fd's bit (the supervisor's other bitmaps of descriptors,
 * supervise.h, use these too). */
static inline void rfs_privfd_set(uint64_t *map, int fd, bool on)
{
	if (on)
		rfs_privfd_mark(map, fd);
	else
		rfs_privfd_unmark(map, fd);
}
