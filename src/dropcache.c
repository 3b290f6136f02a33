/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dropcache.c - dropping backing pages once a view holds them (see
 * dropcache.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "dropcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>

static int range_cmp(const void *a, const void *b)
{
	const struct rfs_range *x = a, *y = b;
	return (x->off > y->off) - (x->off < y->off);
}

size_t rfs_ranges_merge(struct rfs_range *r, size_t n, unsigned shift)
{
	const off_t mask = ((off_t)1 << shift) - 1;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].len <= 0 || r[i].off < 0)
			continue;
		off_t a = r[i].off & ~mask;
		off_t e = (r[i].off + r[i].len + mask) & ~mask;
		r[kept++] = (struct rfs_range){a, e - a};
	}
	if (kept < 2)
		return kept;
	qsort(r, kept, sizeof(*r), range_cmp);
	size_t out = 0;
	for (size_t i = 1; i < kept; i++) {
		struct rfs_range *last = &r[out];
		if (r[i].off <= last->off + last->len) {
			off_t e = r[i].off + r[i].len;
			if (e > last->off + last->len)
				last->len = e - last->off;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

int rfs_unmap_range(const char *map, size_t maplen, const struct rfs_range *r)
{
	if (r->off < 0 || (size_t)r->off >= maplen)
		return 0;
	size_t len = (size_t)r->len;
	if (len > maplen - (size_t)r->off)
		len = maplen - (size_t)r->off;
	return madvise((void *)(map + r->off), len, MADV_DONTNEED) < 0 ? errno
								       : 0;
}

int rfs_drop_range(int fd, const struct rfs_range *r)
{
	return posix_fadvise(fd, r->off, r->len, POSIX_FADV_DONTNEED);
}

struct rfs_dropset {
	GMutex lock;   /* protects ranges */
	GTree *ranges; /* struct rfs_range * (disjoint, apart), by offset */
	size_t max;
};

static gint range_key_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
	(void)data;
	return range_cmp(a, b);
}

struct rfs_dropset *rfs_dropset_new(size_t max_ranges)
{
	struct rfs_dropset *s = g_new0(struct rfs_dropset, 1);
	g_mutex_init(&s->lock);
	s->ranges = g_tree_new_full(range_key_cmp, NULL, g_free, NULL);
	s->max = max_ranges ? max_ranges : 1;
	return s;
}

void rfs_dropset_free(struct rfs_dropset *s)
{
	if (!s)
		return;
	g_tree_destroy(s->ranges);
	g_mutex_clear(&s->lock);
	g_free(s);
}

struct rfs_range rfs_dropset_add(struct rfs_dropset *s, struct rfs_range r,
				 off_t w)
{
	off_t a = r.off, e = r.off + r.len;
	g_mutex_lock(&s->lock);
	if ((size_t)g_tree_nnodes(s->ranges) >= s->max)
		g_tree_remove_all(s->ranges);
	/* The range before r, if it reaches r, starts the merged one. */
	struct rfs_range probe = {a, 0};
	GTreeNode *node = g_tree_upper_bound(s->ranges, &probe);
	GTreeNode *prev =
	    node ? g_tree_node_previous(node) : g_tree_node_last(s->ranges);
	if (prev) {
		struct rfs_range *p = g_tree_node_key(prev);
		if (p->off + p->len >= a) {
			a = p->off;
			e = MAX(e, p->off + p->len);
			g_tree_remove(s->ranges, p);
		}
	}
	/* The ranges that start within it are absorbed. */
	for (;;) {
		probe.off = a;
		node = g_tree_lower_bound(s->ranges, &probe);
		struct rfs_range *q = node ? g_tree_node_key(node) : NULL;
		if (!q || q->off > e)
			break;
		e = MAX(e, q->off + q->len);
		g_tree_remove(s->ranges, q);
	}
	struct rfs_range *m = g_new(struct rfs_range, 1);
	*m = (struct rfs_range){a, e - a};
	g_tree_insert(s->ranges, m, m);
	g_mutex_unlock(&s->lock);
	off_t wa = r.off & ~(w - 1);
	off_t we = (r.off + r.len + w - 1) & ~(w - 1);
	off_t da = MAX(a, wa), de = MIN(e, we);
	return (struct rfs_range){da, de - da};
}
