/* SPDX-License-Identifier: GPL-2.0-or-later */
/* segs.c - writing to a view range's segments (see segs.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "segs.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* One segment of a write, in the order it goes to the file. */
struct wpiece {
	off_t foff;
	size_t len;
	size_t src; /* offset in the write's bytes */
	guint seg;  /* index in view order */
};

static int wpiece_cmp(const void *a, const void *b)
{
	const struct wpiece *x = a, *y = b;
	if (x->foff != y->foff)
		return x->foff < y->foff ? -1 : 1;
	return (x->seg > y->seg) - (x->seg < y->seg);
}

static int wpiece_view_cmp(const void *a, const void *b)
{
	const struct wpiece *x = a, *y = b;
	return (x->seg > y->seg) - (x->seg < y->seg);
}

/* Writes len bytes at foff, looping on short writes; 0 or an errno. */
static int pwrite_all(int fd, const char *buf, size_t len, off_t foff)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, foff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		buf += n;
		len -= (size_t)n;
		foff += n;
	}
	return 0;
}

ssize_t rfs_segs_write(int fd, const char *data, GArray *segs)
{
	guint n = segs->len;
	struct wpiece *p = g_new(struct wpiece, n ? n : 1);
	size_t at = 0;
	for (guint i = 0; i < n; i++) {
		const struct rfs_seg *s =
		    &g_array_index(segs, struct rfs_seg, i);
		p[i] = (struct wpiece){s->foff, s->len, at, i};
		at += s->len;
	}
	/* In the file's order: scattered pages cost the file system less
	 * when it meets each of its large folios in one stretch.  Segments
	 * that overlap keep the view's order (the bytes written last win). */
	qsort(p, n, sizeof(*p), wpiece_cmp);
	bool overlap = false;
	for (guint i = 1; i < n && !overlap; i++)
		overlap = p[i].foff < p[i - 1].foff + (off_t)p[i - 1].len;
	if (overlap) /* back to the view's order */
		qsort(p, n, sizeof(*p), wpiece_view_cmp);
	int err = 0;
	guint i = 0;
	for (; i < n && !err; i++)
		err = pwrite_all(fd, data + p[i].src, p[i].len, p[i].foff);
	/* What is acknowledged is the view's bytes from the start up to the
	 * first segment not written whole: the failed one and those after
	 * it in the order written. */
	size_t prefix = at;
	if (err)
		for (guint j = i - 1; j < n; j++)
			prefix = MIN(prefix, p[j].src);
	g_free(p);
	if (err && prefix == 0)
		return -err;
	return (ssize_t)prefix;
}

/* A backing page a write reaches, and the view page it reaches it from. */
struct reach {
	uint64_t fpage, vpage;
};

static int reach_cmp(const void *a, const void *b)
{
	const struct reach *x = a, *y = b;
	if (x->fpage != y->fpage)
		return x->fpage < y->fpage ? -1 : 1;
	return (x->vpage > y->vpage) - (x->vpage < y->vpage);
}

static int u64_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return (*x > *y) - (*x < *y);
}

void rfs_segs_twice(GArray *segs, off_t off, unsigned shift, GArray *vpages)
{
	if (segs->len < 2)
		return;
	GArray *r = g_array_new(FALSE, FALSE, sizeof(struct reach));
	off_t vcur = off;
	for (guint i = 0; i < segs->len; i++) {
		const struct rfs_seg *s =
		    &g_array_index(segs, struct rfs_seg, i);
		if (!s->zero && s->len) {
			uint64_t f0 = (uint64_t)s->foff >> shift;
			uint64_t f1 = ((uint64_t)s->foff + s->len - 1) >> shift;
			for (uint64_t f = f0; f <= f1; f++) {
				off_t b = MAX((off_t)(f << shift), s->foff);
				struct reach x = {
				    f,
				    (uint64_t)(vcur + (b - s->foff)) >> shift};
				g_array_append_val(r, x);
			}
		}
		vcur += (off_t)s->len;
	}
	if (r->len > 1) /* (an empty array has no data to sort) */
		qsort(r->data, r->len, sizeof(struct reach), reach_cmp);
	guint first = vpages->len;
	for (guint i = 0; i < r->len; i++) {
		const struct reach *x = &g_array_index(r, struct reach, i);
		bool dup =
		    (i > 0 &&
		     g_array_index(r, struct reach, i - 1).fpage == x->fpage) ||
		    (i + 1 < r->len &&
		     g_array_index(r, struct reach, i + 1).fpage == x->fpage);
		if (dup)
			g_array_append_val(vpages, x->vpage);
	}
	g_array_unref(r);
	/* In view order, each once (a view page can reach a backing page
	 * twice only through two segments, both of it). */
	guint n = vpages->len - first;
	if (n < 2)
		return;
	uint64_t *v = &g_array_index(vpages, uint64_t, first);
	qsort(v, n, sizeof(*v), u64_cmp);
	guint k = 0;
	for (guint i = 0; i < n; i++)
		if (k == 0 || v[k - 1] != v[i])
			v[k++] = v[i];
	g_array_set_size(vpages, first + k);
}
