/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* preload.c - libremapfs-preload.so, for LD_PRELOAD: defines
 * remap_file_pages().  A call on a MAP_SHARED mapping of a remapfs view is
 * served by remapfs (libremapfs); every other call goes to the system call
 * (the kernel's emulation) unchanged.  Exports nothing else. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "api.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int remap_file_pages(void *addr, size_t size, int prot, size_t pgoff, int flags)
{
	int saved = errno;
	bool is_view = false;
	int err =
	    rfsl_remap_file_pages(addr, size, prot, pgoff, flags, &is_view);
	if (!is_view) {
		errno = saved;
		return (int)syscall(SYS_remap_file_pages, addr, size, prot,
				    pgoff, flags);
	}
	if (err) {
		errno = err;
		return -1;
	}
	errno = saved;
	return 0;
}
