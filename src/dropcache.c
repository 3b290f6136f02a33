/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dropcache.c - dropping backing pages once a view holds them (see
 * dropcache.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "dropcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

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

/* cachestat(2) (Linux 6.5), which Debian 12's headers do not know: its
 * number is the same on every architecture. */
#ifdef SYS_cachestat
#define RFS_SYS_CACHESTAT SYS_cachestat
#else
#define RFS_SYS_CACHESTAT 451
#endif
struct rfs_cachestat_range {
	uint64_t off, len;
};
struct rfs_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
	    nr_recently_evicted;
};

bool rfs_drop_range(int fd, const struct rfs_range *r)
{
	if (posix_fadvise(fd, r->off, r->len, POSIX_FADV_DONTNEED) != 0)
		return false;
	struct rfs_cachestat_range cr = {(uint64_t)r->off, (uint64_t)r->len};
	struct rfs_cachestat cs;
	return syscall(RFS_SYS_CACHESTAT, fd, &cr, &cs, 0) == 0 &&
	       cs.nr_cache > 0;
}

struct rfs_dropset {
	GMutex lock;	 /* protects the rest */
	GTree *ranges;	 /* struct rfs_range * (disjoint, apart), by offset */
	size_t max;	 /* ranges at most */
	unsigned reads;	 /* reads in flight */
	GArray *pending; /* struct rfs_drop: whole blocks waiting for them */
	off_t pending_bytes, max_pending;
};

static gint range_key_cmp(gconstpointer a, gconstpointer b, gpointer data)
{
	(void)data;
	return range_cmp(a, b);
}

struct rfs_dropset *rfs_dropset_new(size_t max_ranges, off_t max_pending)
{
	struct rfs_dropset *s = g_new0(struct rfs_dropset, 1);
	s->pending = g_array_new(FALSE, FALSE, sizeof(struct rfs_drop));
	s->max_pending = max_pending;
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
	g_array_unref(s->pending);
	g_mutex_clear(&s->lock);
	g_free(s);
}

/* rfs_dropset_add with the lock held. */
static struct rfs_range add_locked(struct rfs_dropset *s, struct rfs_range r,
				   off_t w, off_t eof)
{
	off_t a = r.off, e = r.off + r.len;
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
	off_t wa = r.off & ~(w - 1);
	off_t we = (r.off + r.len + w - 1) & ~(w - 1);
	off_t ca = MAX(a, wa), ce = MIN(e, we);
	off_t da = (ca + w - 1) & ~(w - 1);
	off_t de = ce >= eof ? ce : ce & ~(w - 1);
	if (de <= da)
		da = de = e; /* nothing whole: all of [a, e) stays */
	/* What is dropped leaves the set: its pages must all be read again
	 * before it is dropped again. */
	if (da > a) {
		struct rfs_range *m = g_new(struct rfs_range, 1);
		*m = (struct rfs_range){a, da - a};
		g_tree_insert(s->ranges, m, m);
	}
	if (e > de) {
		struct rfs_range *m = g_new(struct rfs_range, 1);
		*m = (struct rfs_range){de, e - de};
		g_tree_insert(s->ranges, m, m);
	}
	return (struct rfs_range){da, de > da ? de - da : 0};
}

struct rfs_range rfs_dropset_add(struct rfs_dropset *s, struct rfs_range r,
				 off_t w, off_t eof)
{
	g_mutex_lock(&s->lock);
	struct rfs_range d = add_locked(s, r, w, eof);
	g_mutex_unlock(&s->lock);
	return d;
}

void rfs_dropset_read_begin(struct rfs_dropset *s)
{
	g_mutex_lock(&s->lock);
	s->reads++;
	g_mutex_unlock(&s->lock);
}

void rfs_dropset_read_end(struct rfs_dropset *s, const struct rfs_range *r,
			  size_t n, off_t w, off_t eof, GArray *out)
{
	g_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		struct rfs_drop d = {add_locked(s, r[i], w, eof), 0};
		if (d.r.len) {
			g_array_append_val(s->pending, d);
			s->pending_bytes += d.r.len;
		}
	}
	if (s->reads)
		s->reads--;
	if (s->reads == 0 || s->pending_bytes > s->max_pending) {
		g_array_append_vals(out, s->pending->data, s->pending->len);
		g_array_set_size(s->pending, 0);
		s->pending_bytes = 0;
	}
	g_mutex_unlock(&s->lock);
}

void rfs_dropset_failed(struct rfs_dropset *s, const struct rfs_drop *d)
{
	if (d->tries + 1 >= RFS_DROP_TRIES)
		return;
	struct rfs_drop again = {d->r, d->tries + 1};
	g_mutex_lock(&s->lock);
	g_array_append_val(s->pending, again);
	s->pending_bytes += again.r.len;
	g_mutex_unlock(&s->lock);
}
