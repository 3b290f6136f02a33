/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dropcache.c - dropping backing pages once a view holds them (see
 * dropcache.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "dropcache.h"
#include "privfd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/statfs.h>
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

/* The pages of one block that views read since it was last dropped. */
struct block {
	unsigned count;	 /* bits set */
	uint64_t bits[]; /* one per page */
};

struct rfs_dropset {
	int fd;		    /* the backing file (a duplicate), or -1 */
	uint64_t *privfds;  /* where fd is marked (privfd.h), or NULL */
	gint stuck;	    /* blocks that stayed cached in a row */
	gint refs;	    /* the node's, and each read's in flight */
	GMutex lock;	    /* protects the rest */
	GHashTable *blocks; /* block number -> struct block *, partly read */
	unsigned page_shift;
	off_t w;	 /* block size */
	unsigned words;	 /* of a block's bits */
	size_t max;	 /* blocks at most */
	unsigned reads;	 /* reads in flight */
	GArray *pending; /* struct rfs_drop: whole blocks waiting for them */
	off_t pending_bytes, max_pending;
	GArray *retry; /* struct rfs_drop: blocks that stayed cached */
};

struct rfs_dropset *rfs_dropset_new(int fd, uint64_t *privfds,
				    unsigned page_shift, off_t w,
				    size_t max_blocks, off_t max_pending)
{
	struct rfs_dropset *s = g_new0(struct rfs_dropset, 1);
	/* A file system whose pages are the data itself (tmpfs, ramfs)
	 * never drops them: asking would only cost a drain each time. */
	struct statfs sf;
	bool memory = fd >= 0 && fstatfs(fd, &sf) == 0 &&
		      (sf.f_type == 0x01021994 /* TMPFS_MAGIC */ ||
		       sf.f_type == (typeof(sf.f_type))0x858458f6 /* RAMFS */);
	s->fd = fd >= 0 && !memory ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	s->privfds = privfds;
	rfs_privfd_mark(privfds, s->fd);
	s->refs = 1;
	g_mutex_init(&s->lock);
	s->blocks =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	s->page_shift = page_shift;
	s->w = w;
	s->words = (unsigned)(((w >> page_shift) + 63) / 64);
	s->max = max_blocks ? max_blocks : 1;
	s->pending = g_array_new(FALSE, FALSE, sizeof(struct rfs_drop));
	s->max_pending = max_pending;
	s->retry = g_array_new(FALSE, FALSE, sizeof(struct rfs_drop));
	return s;
}

bool rfs_dropset_drops(const struct rfs_dropset *s)
{
	return s->fd >= 0 &&
	       g_atomic_int_get((gint *)&s->stuck) < RFS_DROP_STUCK;
}

void rfs_dropset_unref(struct rfs_dropset *s)
{
	if (!s || !g_atomic_int_dec_and_test(&s->refs))
		return;
	if (s->fd >= 0) {
		rfs_privfd_unmark(s->privfds, s->fd);
		close(s->fd);
	}
	g_hash_table_destroy(s->blocks);
	g_array_unref(s->pending);
	g_array_unref(s->retry);
	g_mutex_clear(&s->lock);
	g_free(s);
}

/* Sets pages [p0, p1) of block k (of want pages within the file); returns
 * whether the block is whole now (and then forgets it).  Lock held. */
static bool mark_pages(struct rfs_dropset *s, int64_t k, uint64_t p0,
		       uint64_t p1, uint64_t want)
{
	struct block *b = g_hash_table_lookup(s->blocks, &k);
	if (!b) {
		if ((size_t)g_hash_table_size(s->blocks) >= s->max)
			g_hash_table_remove_all(s->blocks);
		b = g_malloc0(sizeof(*b) + s->words * sizeof(uint64_t));
		int64_t *key = g_new(int64_t, 1);
		*key = k;
		g_hash_table_insert(s->blocks, key, b);
	}
	for (uint64_t p = p0; p < p1;) {
		unsigned wd = (unsigned)(p / 64), bit = (unsigned)(p % 64);
		uint64_t n = MIN(p1 - p, 64 - (uint64_t)bit);
		uint64_t mask =
		    (n == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << n) - 1) << bit);
		b->count += (unsigned)__builtin_popcountll(mask & ~b->bits[wd]);
		b->bits[wd] |= mask;
		p += n;
	}
	if (b->count < want)
		return false;
	g_hash_table_remove(s->blocks, &k);
	return true;
}

/* rfs_dropset_add with the lock held. */
static struct rfs_range add_locked(struct rfs_dropset *s, struct rfs_range r,
				   off_t eof)
{
	off_t da = -1, de = -1;
	const uint64_t per = (uint64_t)(s->w >> s->page_shift);
	for (off_t at = r.off; at < r.off + r.len;) {
		int64_t k = at / s->w;
		off_t start = (off_t)k * s->w;
		off_t end = MIN(start + s->w, r.off + r.len);
		uint64_t p0 = (uint64_t)(at - start) >> s->page_shift;
		uint64_t p1 = (uint64_t)(end - start) >> s->page_shift;
		off_t in_file = MIN(s->w, MAX(eof - start, (off_t)0));
		at = end;
		if (in_file == 0) /* past the end: the file shrank meanwhile */
			continue;
		uint64_t want =
		    ((uint64_t)in_file + ((uint64_t)1 << s->page_shift) - 1) >>
		    s->page_shift;
		if (mark_pages(s, k, p0, p1, MIN(want, per))) {
			if (da < 0)
				da = start;
			de = start + in_file;
		}
	}
	return da < 0 ? (struct rfs_range){0, 0}
		      : (struct rfs_range){da, de - da};
}

struct rfs_range rfs_dropset_add(struct rfs_dropset *s, struct rfs_range r,
				 off_t eof)
{
	g_mutex_lock(&s->lock);
	struct rfs_range d = add_locked(s, r, eof);
	g_mutex_unlock(&s->lock);
	return d;
}

void rfs_dropset_read_begin(struct rfs_dropset *s)
{
	g_atomic_int_inc(&s->refs);
	g_mutex_lock(&s->lock);
	s->reads++;
	g_mutex_unlock(&s->lock);
}

void rfs_dropset_read_end(struct rfs_dropset *s, struct rfs_range *r, size_t n,
			  off_t size, GArray *out)
{
	n = rfs_ranges_merge(r, n, s->page_shift);
	const off_t page = (off_t)1 << s->page_shift;
	off_t eof = (size + page - 1) & ~(page - 1);
	GArray *drop = g_array_new(FALSE, FALSE, sizeof(struct rfs_drop));
	g_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		struct rfs_drop d = {add_locked(s, r[i], eof), 0};
		if (d.r.len) {
			g_array_append_val(s->pending, d);
			s->pending_bytes += d.r.len;
		}
	}
	if (s->reads)
		s->reads--;
	if (s->reads == 0 || s->pending_bytes > s->max_pending) {
		g_array_append_vals(drop, s->pending->data, s->pending->len);
		g_array_set_size(s->pending, 0);
		s->pending_bytes = 0;
	}
	/* What stayed cached is tried again only with no read in flight:
	 * a read's pipe is what held it, most likely. */
	if (s->reads == 0) {
		g_array_append_vals(drop, s->retry->data, s->retry->len);
		g_array_set_size(s->retry, 0);
	}
	g_mutex_unlock(&s->lock);
	for (guint i = 0; i < drop->len; i++) {
		struct rfs_drop *d = &g_array_index(drop, struct rfs_drop, i);
		if (!rfs_dropset_drops(s))
			break;
		if (!rfs_drop_range(s->fd, &d->r)) {
			g_atomic_int_set(&s->stuck, 0);
			continue;
		}
		rfs_dropset_failed(s, d);
		/* A file none of whose blocks go (its file system keeps its
		 * pages) is not asked again. */
		g_atomic_int_inc(&s->stuck);
	}
	if (out)
		g_array_append_vals(out, drop->data, drop->len);
	g_array_unref(drop);
	rfs_dropset_unref(s);
}

void rfs_dropset_failed(struct rfs_dropset *s, const struct rfs_drop *d)
{
	if (d->tries + 1 >= RFS_DROP_TRIES)
		return;
	struct rfs_drop again = {d->r, d->tries + 1};
	g_mutex_lock(&s->lock);
	g_array_append_val(s->retry, again);
	g_mutex_unlock(&s->lock);
}
