/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bdi.h - tuning the FUSE mount's backing-device info (readahead, dirty
 * page limits), which the kernel keeps conservative for FUSE by default:
 * 128 KiB readahead, and writeback limited to 1% of the dirty threshold
 * with strict_limit.  Needs root; without it the defaults stay. */
#pragma once
#include "remapfs.h"

/* Applies opts' readahead_kb and dirty_ratio to the bdi of the file system
 * mounted at mountpoint, from a thread of its own (finding the device
 * needs the mount to answer, so it cannot be done before the loop runs).
 * Problems are logged, never fatal. */
void rfs_bdi_tune_async(struct rfs_ctx *ctx, const char *mountpoint);
