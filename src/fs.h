/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fs.h - the FUSE low-level operations of remapfs: a thin layer that turns
 * requests into calls on nodes, views and the control file. */
#pragma once
#include <fuse_lowlevel.h>

/* The operation table; the session userdata is a struct rfs_ctx *. */
extern const struct fuse_lowlevel_ops rfs_fs_ops;
