/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mountinfo.h - what the daemon reads of /proc/self/mountinfo: whether a
 * path is a mount point, and a FUSE mount's device.  Reading the table
 * never touches the mounts themselves. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

/* Whether something is mounted on path (absolute, resolved). */
bool rfs_mountinfo_is_mount_point(const char *path);
/* The device of the FUSE mount on top of mountpoint into *dev; false when
 * there is none. */
bool rfs_mountinfo_fuse_device(const char *mountpoint, dev_t *dev);
