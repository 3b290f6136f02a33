/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fmap.c - mappings of SOURCE files for read replies (see fmap.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "fmap.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* The smallest mapping made: growing is rare for most files. */
#define FMAP_MIN ((size_t)64 << 20)

const struct rfs_fmap *rfs_fmap_get(struct rfs_nodes *nodes, struct rfs_node *n,
				    size_t end)
{
	struct rfs_fmap *m = g_atomic_pointer_get(&n->fmap);
	if (m && m->len >= end)
		return m;
	if (n->fd < 0)
		return NULL;
	g_mutex_lock(&nodes->fmap_lock);
	m = n->fmap;
	if (!m || m->len < end) {
		size_t len = FMAP_MIN;
		while (len < end && len < (SIZE_MAX >> 1))
			len <<= 1;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", n->fd);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		void *addr =
		    fd < 0 ? MAP_FAILED
			   : mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (fd >= 0)
			close(fd);
		if (addr != MAP_FAILED) {
			struct rfs_fmap *nm = g_new0(struct rfs_fmap, 1);
			nm->addr = addr;
			nm->len = len;
			nm->older = m;
			g_atomic_pointer_set(&n->fmap, nm);
			m = nm;
		} else if (m && m->len < end) {
			m = NULL;
		}
	}
	g_mutex_unlock(&nodes->fmap_lock);
	return m && m->len >= end ? m : NULL;
}

void rfs_fmap_free(struct rfs_fmap *m)
{
	while (m) {
		struct rfs_fmap *older = m->older;
		munmap((void *)m->addr, m->len);
		g_free(m);
		m = older;
	}
}
