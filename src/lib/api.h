/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* api.h - internal entry points of api.c, for the preload library and the
 * tests. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* remapfs_remap_file_pages() returning 0 or a positive errno, with *is_view
 * set to whether addr is in a MAP_SHARED mapping of a remapfs view (when it
 * is not, the call belongs to the kernel and nothing was done). */
int rfsl_remap_file_pages(void *addr, size_t size, int prot, size_t pgoff,
			  int flags, bool *is_view);
