/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdi.h - tuning the FUSE mount's backing-device info (readahead, dirty
 * page limits), which the kernel keeps conservative for FUSE by default:
 * 128 KiB readahead, and writeback limited to 1% of the dirty threshold
 * with strict_limit.  Needs root; without it the defaults stay. */
#pragma once
#include "remapfs.h"

/* Applies opts' readahead_kb and dirty_ratio to the bdi of the FUSE file
 * system just mounted at mountpoint (absolute).  Its device is read from
 * /proc/self/mountinfo: nothing touches the mount, which stays free to be
 * unmounted at once.  A daemon that is not root leaves the defaults, and
 * says so only in debug messages.  Problems are logged, never fatal. */
void rfs_bdi_tune(struct rfs_ctx *ctx, const char *mountpoint);
