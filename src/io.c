/* SPDX-License-Identifier: GPL-2.0-or-later */
/* io.c - the data path (see io.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "io.h"
#include "dropcache.h"
#include "fmap.h"
#include "inflight.h"
#include "stats.h"
#include "notify.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* A pipe a thread splices read replies through. */
struct io_pipe {
	int r, w;
	size_t cap; /* bytes it holds */
};

/* Closes a thread's pipe (GPrivate destructor). */
static void io_pipe_free(gpointer p)
{
	struct io_pipe *ip = p;
	close(ip->r);
	close(ip->w);
	g_free(ip);
}

/* Each request thread's own pipe; the key itself never changes. */
static GPrivate thread_pipe = G_PRIVATE_INIT(io_pipe_free);

/* The calling thread's pipe, made on first use; NULL if none can be. */
static struct io_pipe *io_pipe_get(void)
{
	struct io_pipe *ip = g_private_get(&thread_pipe);
	int fds[2];
	if (ip)
		return ip;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return NULL;
	ip = g_new0(struct io_pipe, 1);
	ip->r = fds[0];
	ip->w = fds[1];
	int cap = fcntl(ip->w, F_SETPIPE_SZ, 1 << 20);
	ip->cap = cap > 0 ? (size_t)cap : (size_t)fcntl(ip->w, F_GETPIPE_SZ);
	g_private_set(&thread_pipe, ip);
	return ip;
}

/* Empties a pipe (after a failed or partial reply). */
static void io_pipe_drain(struct io_pipe *ip)
{
	char buf[65536];
	int avail = 0;
	while (ioctl(ip->r, FIONREAD, &avail) == 0 && avail > 0)
		if (read(ip->r, buf, MIN(sizeof(buf), (size_t)avail)) <= 0)
			break;
}

/* Translates a view range under the state lock, taking it for writing
 * when a transaction's route overlay must learn of this read. */
static size_t translate_read_locked(struct rfs_ctx *ctx, struct rfs_node *n,
				    off_t off, size_t size, off_t bsize,
				    GArray *segs)
{
	size_t covered;
	g_rw_lock_reader_lock(&ctx->state_lock);
	struct rfs_view *v = n->view;
	if (!rfs_view_route_covers(ctx, v, off, size)) {
		covered = rfs_view_translate_read(ctx, v, off, size,
						  rfs_view_size(ctx, v, bsize),
						  bsize, segs);
		g_rw_lock_reader_unlock(&ctx->state_lock);
		return covered;
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	g_rw_lock_writer_lock(&ctx->state_lock);
	off_t vsize = rfs_view_size(ctx, v, bsize);
	if (off < vsize)
		rfs_view_route_refresh(ctx, v, off,
				       MIN((off_t)size, vsize - off));
	covered =
	    rfs_view_translate_read(ctx, v, off, size, vsize, bsize, segs);
	g_rw_lock_writer_unlock(&ctx->state_lock);
	return covered;
}

/* Fills the pipe with the segments: backing bytes spliced, zeros from
 * the context's zero pages.  Returns 0, or an errno (the pipe is then
 * drained). */
static int fill_pipe(struct rfs_ctx *ctx, struct io_pipe *ip, int fd,
		     GArray *segs)
{
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		size_t left = s->len;
		loff_t pos = s->foff;
		while (left) {
			ssize_t n;
			if (s->zero) {
				struct iovec iov = {
				    .iov_base = (void *)ctx->zeros,
				    .iov_len = MIN(left, ctx->zeros_len)};
				n = vmsplice(ip->w, &iov, 1, SPLICE_F_NONBLOCK);
			} else {
				n = splice(fd, &pos, ip->w, NULL, left,
					   SPLICE_F_NONBLOCK);
				if (n == 0) { /* the file shrank: zeros */
					s->zero = true;
					continue;
				}
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				int err = errno;
				io_pipe_drain(ip);
				return err;
			}
			left -= (size_t)n;
		}
	}
	return 0;
}

/* Fills the pipe with the segments in one vmsplice: backing bytes from the
 * file's mapping (the page cache's own pages, not copied), zeros from the
 * context's zero pages.  Never blocks: a full pipe is EAGAIN.  Returns 0,
 * or an errno (the pipe is drained). */
static int fill_pipe_mapped(struct rfs_ctx *ctx, struct io_pipe *ip,
			    const struct rfs_fmap *fm, GArray *segs)
{
	struct iovec iov[1024];
	int n = 0;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		for (size_t done = 0; done < s->len;) {
			size_t len = s->zero
					 ? MIN(s->len - done, ctx->zeros_len)
					 : s->len;
			if (n == G_N_ELEMENTS(iov))
				return E2BIG;
			iov[n].iov_base = s->zero
					      ? (void *)ctx->zeros
					      : (void *)(fm->addr + s->foff);
			iov[n++].iov_len = len;
			done += len;
		}
	}
	struct iovec *v = iov;
	while (n > 0) {
		ssize_t got =
		    vmsplice(ip->w, v, (unsigned long)n, SPLICE_F_NONBLOCK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) { /* e.g. EFAULT: the file shrank meanwhile */
			int err = got < 0 ? errno : EIO;
			io_pipe_drain(ip);
			return err;
		}
		while (n > 0 && (size_t)got >= v->iov_len) {
			got -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + got;
			v->iov_len -= (size_t)got;
		}
	}
	return 0;
}

/* The mapping of n's backing file covering what segs read, or NULL. */
static const struct rfs_fmap *segs_fmap(struct rfs_ctx *ctx, struct rfs_node *n,
					GArray *segs)
{
	size_t end = 0;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		if (!s->zero)
			end = MAX(end, (size_t)s->foff + s->len);
	}
	return end ? rfs_fmap_get(&ctx->nodes, rfs_view_backing(n), end) : NULL;
}

/* Fills the pipe with the segments, through the file's mapping when it can
 * be had, else with a splice per segment.  Returns 0 or an errno. */
static int fill_pipe_any(struct rfs_ctx *ctx, struct io_pipe *ip,
			 struct rfs_node *n, int fd, GArray *segs)
{
	/* A page the daemon maps cannot be dropped (dropcache.h), nor can
	 * the large folio it is part of. */
	if (ctx->opts.backing_cache == RFS_BACKING_CACHE_DROP)
		return fill_pipe(ctx, ip, fd, segs);
	const struct rfs_fmap *fm = segs_fmap(ctx, n, segs);
	if (fm && fill_pipe_mapped(ctx, ip, fm, segs) == 0)
		return 0;
	return fill_pipe(ctx, ip, fd, segs);
}

/* The pipe buffers the segments take (one per system page touched).
 * libfuse splices a reply into a pipe sized for its bytes plus three
 * pages, so more buffers than that would cut the reply short. */
static size_t pipe_slots(const struct rfs_ctx *ctx, GArray *segs)
{
	const size_t sys = (size_t)getpagesize();
	size_t slots = 0;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		if (s->zero) {
			size_t chunk = MIN(s->len, ctx->zeros_len);
			slots += (s->len / chunk) * ((chunk + sys - 1) / sys) +
				 ((s->len % chunk + sys - 1) / sys);
		} else {
			slots += ((size_t)s->foff + s->len - 1) / sys -
				 (size_t)s->foff / sys + 1;
		}
	}
	return slots;
}

/* Replies with the segments copied into memory (small or odd replies). */
static void reply_copy(struct rfs_ctx *ctx, fuse_req_t req, int fd,
		       GArray *segs, size_t total)
{
	char *buf = g_malloc(total ? total : 1);
	size_t done = 0;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		size_t got = 0;
		while (!s->zero && got < s->len) {
			ssize_t n = pread(fd, buf + done + got, s->len - got,
					  s->foff + (off_t)got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				g_free(buf);
				fuse_reply_err(req, errno);
				return;
			}
			if (n == 0)
				break; /* the file shrank: zeros */
			got += (size_t)n;
		}
		memset(buf + done + got, 0, s->len - got);
		done += s->len;
	}
	fuse_reply_buf(req, buf, total);
	g_free(buf);
}

/* With -o backing_cache=drop (the default): once a reply is sent, drops
 * the backing pages it was made of from the backing file's page cache,
 * the view's cache holding them now (dropcache.h). */
/* The most blocks a backing file's dropset holds (about 100 bytes each),
 * and the most bytes of whole blocks that wait for reads in flight. */
#define RFS_DROPSET_MAX 65536
#define RFS_DROPSET_PENDING ((off_t)64 << 20)

/* With -o backing_cache=drop (the default): the dropset of the view's
 * backing file (read through fd), made on first use, its read begun;
 * else NULL. */
static struct rfs_dropset *drop_begin(struct rfs_ctx *ctx, struct rfs_node *n,
				      int fd)
{
	if (ctx->opts.backing_cache != RFS_BACKING_CACHE_DROP)
		return NULL;
	struct rfs_node *b = rfs_view_backing(n);
	struct rfs_dropset *set = g_atomic_pointer_get(&b->dropped);
	if (!set) {
		set = rfs_dropset_new(fd, ctx->sys_page_shift, ctx->folio_max,
				      RFS_DROPSET_MAX, RFS_DROPSET_PENDING);
		if (!g_atomic_pointer_compare_and_exchange(&b->dropped, NULL,
							   set)) {
			rfs_dropset_unref(set);
			set = g_atomic_pointer_get(&b->dropped);
		}
	}
	rfs_dropset_read_begin(set);
	return set;
}

/* Once the reply is sent: the view's cache holds the backing pages the
 * reply was made of, and the backing file's copy of the blocks that views
 * have now read whole is dropped (dropcache.h).  The request's descriptor
 * may be closed already (the reply let the program close the file); the
 * set drops through its own. */
static void drop_end(struct rfs_ctx *ctx, struct rfs_dropset *set, off_t fsize,
		     GArray *segs)
{
	if (!set)
		return;
	struct rfs_range stack[32];
	struct rfs_range *r = segs->len <= G_N_ELEMENTS(stack)
				  ? stack
				  : g_new(struct rfs_range, segs->len);
	size_t nr = 0;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		if (!s->zero)
			r[nr++] = (struct rfs_range){s->foff, (off_t)s->len};
	}
	nr = rfs_ranges_merge(r, nr, ctx->sys_page_shift);
	off_t eof = (fsize + (off_t)ctx->sys_pagesize - 1) &
		    ~((off_t)ctx->sys_pagesize - 1);
	rfs_dropset_read_end(set, r, nr, eof, NULL);
	if (r != stack)
		g_free(r);
}

void rfs_io_read(struct rfs_ctx *ctx, fuse_req_t req, struct rfs_node *n,
		 int fd, size_t size, off_t off)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	/* Before any backing byte is read: a write in flight over these
	 * bytes must drop what this read brings back (inflight.h). */
	rfs_inflight_note_read(ctx, n, off, size);
	struct rfs_dropset *dropset = drop_begin(ctx, n, fd);
	GArray *segs =
	    g_array_sized_new(FALSE, FALSE, sizeof(struct rfs_seg), 8);
	size_t total =
	    translate_read_locked(ctx, n, off, size, st.st_size, segs);
	rfs_count(&n->counters.reads, 1);
	rfs_count(&n->counters.read_bytes, total);
	struct rfs_seg *first = &g_array_index(segs, struct rfs_seg, 0);
	struct io_pipe *ip;
	size_t slots;
	if (total == 0) {
		fuse_reply_buf(req, NULL, 0);
	} else if (segs->len == 1 && !first->zero) {
		/* One piece of the backing file: libfuse splices it. */
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(total);
		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = fd;
		bv.buf[0].pos = first->foff;
		fuse_reply_data(req, &bv, 0);
	} else if (total >= 2 * (size_t)getpagesize() &&
		   (slots = pipe_slots(ctx, segs)) <=
		       total / (size_t)getpagesize() + 2 &&
		   (ip = io_pipe_get()) && total <= ip->cap &&
		   slots <= ip->cap / (size_t)getpagesize() &&
		   fill_pipe_any(ctx, ip, n, fd, segs) == 0) {
		/* Many pieces: gathered in this thread's pipe, then spliced
		 * on to the kernel in one reply. */
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(total);
		bv.buf[0].flags = FUSE_BUF_IS_FD;
		bv.buf[0].fd = ip->r;
		fuse_reply_data(req, &bv, 0);
		io_pipe_drain(ip);
	} else {
		reply_copy(ctx, req, fd, segs, total);
	}
	drop_end(ctx, dropset, st.st_size, segs);
	g_array_unref(segs);
}

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

ssize_t rfs_io_write_segs(int fd, const char *data, GArray *segs)
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
	if (overlap)
		for (guint i = 0; i < n; i++) {
			const struct rfs_seg *s =
			    &g_array_index(segs, struct rfs_seg, i);
			p[i] = (struct wpiece){
			    s->foff, s->len,
			    i ? p[i - 1].src + p[i - 1].len : 0, i};
		}
	bool *done = g_new0(bool, n ? n : 1);
	int err = 0;
	for (guint i = 0; i < n && !err; i++) {
		err = pwrite_all(fd, data + p[i].src, p[i].len, p[i].foff);
		done[p[i].seg] = !err;
	}
	/* What is acknowledged is the view's bytes from the start up to the
	 * first segment not written. */
	size_t prefix = 0;
	for (guint i = 0; i < n && done[i]; i++)
		prefix += g_array_index(segs, struct rfs_seg, i).len;
	g_free(done);
	g_free(p);
	if (err && prefix == 0)
		return -err;
	return (ssize_t)prefix;
}

char *rfs_buf_to_mem(struct fuse_bufvec *in, size_t *len)
{
	size_t size = fuse_buf_size(in);
	char *mem = g_malloc(size ? size : 1);
	struct fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
	dst.buf[0].mem = mem;
	ssize_t res = fuse_buf_copy(&dst, in, 0);
	*len = res < 0 ? 0 : (size_t)res;
	return mem;
}

/* One past the last backing byte the segments write. */
static off_t segs_end(GArray *segs)
{
	off_t end = 0;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		end = MAX(end, s->foff + (off_t)s->len);
	}
	return end;
}

/* Translates a view range for a write under the state lock. */
static size_t translate_write_locked(struct rfs_ctx *ctx, struct rfs_node *n,
				     off_t off, size_t size, GArray *segs,
				     bool *remapped)
{
	size_t covered;
	g_rw_lock_reader_lock(&ctx->state_lock);
	struct rfs_view *v = n->view;
	covered = rfs_view_translate_write(ctx, v, off, size, segs);
	*remapped = v && !v->is_virtual && rfs_pagemap_nruns(v->map) > 0;
	g_rw_lock_reader_unlock(&ctx->state_lock);
	return covered;
}

/* A view over backing that the kernel may cache, with its size in pages. */
struct candidate {
	struct rfs_node *node;
	struct rfs_view *view; /* NULL: the identity view of a SOURCE file */
	uint64_t pages;
};

/* Lists the views over backing b that the kernel knows.  state_lock held. */
static void candidates(struct rfs_ctx *ctx, struct rfs_node *b, GArray *out)
{
	if (rfs_node_known(&ctx->nodes, b)) {
		struct candidate c = {b, b->view, ctx->page_limit};
		g_array_append_val(out, c);
	}
	if (!b->viewers)
		return;
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, b->viewers);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct rfs_view *v = key;
		if (!rfs_node_known(&ctx->nodes, v->node))
			continue;
		struct candidate c = {v->node, v, v->pages};
		g_array_append_val(out, c);
	}
}

/* Adds an invalidation of view pages [a, e) of node to *invals. */
static void add_pages(struct rfs_ctx *ctx, GArray **invals,
		      struct rfs_node *node, uint64_t a, uint64_t e)
{
	if (!*invals)
		*invals = rfs_invals_new();
	rfs_invals_add(ctx, *invals, node, (off_t)(a << ctx->page_shift),
		       (off_t)((e - a) << ctx->page_shift));
}

/* Collects invalidations of the pages of view node n, written from off
 * through segs, that show a backing page the write also writes through
 * another of its view pages: the bytes written last win, and the copies
 * the kernel holds of the others are stale.  NULL when there are none. */
static GArray *own_stale(struct rfs_ctx *ctx, struct rfs_node *n, off_t off,
			 GArray *segs)
{
	if (segs->len < 2)
		return NULL;
	GHashTable *count = g_hash_table_new(NULL, NULL); /* fpage -> segs */
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		uint64_t f0 = (uint64_t)s->foff >> ctx->page_shift;
		uint64_t f1 =
		    ((uint64_t)s->foff + s->len - 1) >> ctx->page_shift;
		for (uint64_t f = f0; f <= f1; f++) {
			gpointer k = GSIZE_TO_POINTER(f);
			g_hash_table_insert(
			    count, k,
			    GSIZE_TO_POINTER(
				GPOINTER_TO_SIZE(
				    g_hash_table_lookup(count, k)) +
				1));
		}
	}
	GArray *own = NULL;
	off_t vcur = off;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		uint64_t f0 = (uint64_t)s->foff >> ctx->page_shift;
		uint64_t f1 =
		    ((uint64_t)s->foff + s->len - 1) >> ctx->page_shift;
		for (uint64_t f = f0; f <= f1; f++) {
			if (GPOINTER_TO_SIZE(g_hash_table_lookup(
				count, GSIZE_TO_POINTER(f))) < 2)
				continue;
			off_t b = MAX((off_t)(f << ctx->page_shift), s->foff);
			uint64_t vp =
			    (uint64_t)(vcur + (b - s->foff)) >> ctx->page_shift;
			add_pages(ctx, &own, n, vp, vp + 1);
		}
		vcur += (off_t)s->len;
	}
	g_hash_table_unref(count);
	return own;
}

/* Collects invalidations of every cached view page, in any view, that
 * shows a backing page the segments write, except the pages of n written
 * ([off, off+len)).  Returns NULL when there are none. */
static GArray *alias_invals(struct rfs_ctx *ctx, struct rfs_node *n, off_t off,
			    size_t len, GArray *segs)
{
	GArray *cands = g_array_new(FALSE, FALSE, sizeof(struct candidate));
	GArray *vr = g_array_new(FALSE, FALSE, sizeof(rfs_run));
	GArray *invals = NULL;
	uint64_t w0 = (uint64_t)off >> ctx->page_shift;
	uint64_t w1 = (((uint64_t)off + len - 1) >> ctx->page_shift) + 1;
	bool writer = false;

	g_rw_lock_reader_lock(&ctx->state_lock);
	struct rfs_node *b = rfs_view_backing(n);
	candidates(ctx, b, cands);
	for (guint c = 0; c < cands->len && !writer; c++) {
		struct candidate *cd =
		    &g_array_index(cands, struct candidate, c);
		writer = rfs_view_rev_stale(cd->view);
	}
	if (writer) { /* a reverse index to rebuild first */
		g_rw_lock_reader_unlock(&ctx->state_lock);
		g_rw_lock_writer_lock(&ctx->state_lock);
		g_array_set_size(cands, 0);
		candidates(ctx, b, cands);
		for (guint c = 0; c < cands->len; c++) {
			struct candidate *cd =
			    &g_array_index(cands, struct candidate, c);
			if (rfs_view_rev_stale(cd->view))
				rfs_view_rev_update(cd->view);
		}
	}
	for (guint c = 0; c < cands->len; c++) {
		struct candidate *cd =
		    &g_array_index(cands, struct candidate, c);
		g_array_set_size(vr, 0);
		for (guint i = 0; i < segs->len; i++) {
			struct rfs_seg *s =
			    &g_array_index(segs, struct rfs_seg, i);
			uint64_t f0 = (uint64_t)s->foff >> ctx->page_shift;
			uint64_t f1 = (((uint64_t)s->foff + s->len - 1) >>
				       ctx->page_shift) +
				      1;
			rfs_view_aliases(cd->view, cd->pages, f0, f1 - f0, vr);
		}
		for (guint i = 0; i < vr->len; i++) {
			rfs_run *r = &g_array_index(vr, rfs_run, i);
			uint64_t a = r->vpage, e = r->vpage + r->count;
			if (cd->node != n) {
				add_pages(ctx, &invals, cd->node, a, e);
				continue;
			}
			/* The writer's own pages hold the new bytes already. */
			if (a < w0)
				add_pages(ctx, &invals, n, a, MIN(e, w0));
			if (e > w1)
				add_pages(ctx, &invals, n, MAX(a, w1), e);
		}
	}
	if (writer)
		g_rw_lock_writer_unlock(&ctx->state_lock);
	else
		g_rw_lock_reader_unlock(&ctx->state_lock);
	g_array_unref(cands);
	g_array_unref(vr);
	return invals;
}

/* Adds to *to the invalidation of node's page holding end, if end falls
 * inside it, then of node's attributes: the kernel zeroed that page past
 * an end it took for the view's, and learns the size once it is dropped
 * (attributes go after pages, see rfs_invals_send). */
static void add_end_invals(struct rfs_ctx *ctx, GArray **to,
			   struct rfs_node *node, off_t end)
{
	if (!*to)
		*to = rfs_invals_new();
	if (end & (off_t)(ctx->pagesize - 1))
		rfs_invals_add(ctx, *to, node,
			       end & ~(off_t)(ctx->pagesize - 1),
			       (off_t)ctx->pagesize);
	rfs_invals_add(ctx, *to, node, -1, 0);
}

/* A writeback that ends inside a system page, short of the view's end:
 * the kernel took an older, smaller size for the view's end, and zeroed
 * its cached page past that point (which the view has bytes for).  Adds
 * that page and the view's attributes to *invals: the page is read again
 * and the kernel learns the size. */
static void stale_end_page(struct rfs_ctx *ctx, struct rfs_node *n, int fd,
			   off_t end, GArray **invals)
{
	struct stat st;
	if (!(end & (off_t)(ctx->sys_pagesize - 1)) || fstat(fd, &st) < 0)
		return;
	g_rw_lock_reader_lock(&ctx->state_lock);
	off_t vsize = rfs_view_size(ctx, n->view, st.st_size);
	g_rw_lock_reader_unlock(&ctx->state_lock);
	if (end < vsize)
		add_end_invals(ctx, invals, n, end);
}

/* Builds the bufvec of backing-file pieces a write goes to. */
static struct fuse_bufvec *segs_bufvec(GArray *segs, int fd)
{
	struct fuse_bufvec *dst =
	    g_malloc0(sizeof(*dst) +
		      (segs->len ? segs->len : 1) * sizeof(struct fuse_buf));
	dst->count = segs->len;
	for (guint i = 0; i < segs->len; i++) {
		struct rfs_seg *s = &g_array_index(segs, struct rfs_seg, i);
		dst->buf[i].size = s->len;
		dst->buf[i].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		dst->buf[i].fd = fd;
		dst->buf[i].pos = s->foff;
	}
	return dst;
}

void rfs_io_write(struct rfs_ctx *ctx, fuse_req_t req, struct rfs_node *n,
		  int fd, struct fuse_bufvec *in, off_t off, bool writeback)
{
	size_t size = fuse_buf_size(in);
	bool remapped;
	struct stat fst;
	/* A virtual view is a view of a path: once its backing file lost
	 * that name (replaced or removed outside the mount), bytes written
	 * to the old inode would land where nobody can read them. */
	if (n->kind == RFS_NODE_VIRTUAL && fstat(fd, &fst) == 0 &&
	    fst.st_nlink == 0) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	GArray *segs =
	    g_array_sized_new(FALSE, FALSE, sizeof(struct rfs_seg), 8);
	size_t covered =
	    translate_write_locked(ctx, n, off, size, segs, &remapped);
	rfs_count(&n->counters.writes, 1);
	rfs_count(&n->counters.write_bytes, covered);
	if (covered == 0) {
		g_array_unref(segs);
		if (size)
			fuse_reply_err(req, EFBIG);
		else
			fuse_reply_write(req, 0);
		return;
	}
	/* A write()'s pages hold its bytes in the kernel already; reads of
	 * them until the bytes land are recorded (inflight.h).  A
	 * writeback's pages cannot be dropped before its reply. */
	struct rfs_wflight *wf =
	    writeback ? NULL : rfs_wflight_begin(ctx, n, off, covered);
	/* When two of the write's view pages show one backing page, the
	 * kernel's copy of the one written first is stale. */
	GArray *own = own_stale(ctx, n, off, segs);
	/* A write through a virtual view, or through a remapped page, may
	 * grow the backing file where the kernel does not see it: the size
	 * of the file's own view is the file's, and that view's old last
	 * page, cached with zeros past the old end, now shows bytes. */
	struct rfs_node *b = rfs_view_backing(n);
	bool watch_size =
	    (b != n || remapped) && rfs_node_known(&ctx->nodes, b);
	struct stat pre;
	bool grows =
	    watch_size && fstat(fd, &pre) == 0 && segs_end(segs) > pre.st_size;
	GArray *invals = alias_invals(ctx, n, off, MAX(size, covered), segs);
	if (grows) {
		/* The kernel must learn the new size, but only once the view's
		 * old last page is dropped: it holds zeros past the old end,
		 * also when this write covers part of it (the attributes go
		 * after the pages, see rfs_invals_send).  In the writer's own
		 * view that page may be the one the kernel keeps locked. */
		add_end_invals(ctx, b == n && !writeback ? &own : &invals, b,
			       pre.st_size);
	}
	if ((invals || own) && !writeback) {
		/* write(): the aliases must show the bytes when it returns;
		 * a pool thread finishes it. */
		size_t len;
		char *mem = rfs_buf_to_mem(in, &len);
		if (len < covered) {
			g_free(mem);
			g_array_unref(segs);
			rfs_invals_free(ctx, invals);
			rfs_invals_free(ctx, own);
			rfs_invals_free(ctx, rfs_wflight_end(ctx, wf));
			fuse_reply_err(req, EIO);
			return;
		}
		rfs_notify_write(ctx, req, n, off, size, wf, fd, mem, segs,
				 invals, own);
		return;
	}
	if (own) { /* a writeback: its own stale pages go with its aliases */
		if (!invals)
			invals = rfs_invals_new();
		rfs_invals_append(ctx, invals, own);
		rfs_invals_free(ctx, own);
	}
	ssize_t res;
	if (segs->len <= 2) {
		/* One or two pieces: spliced straight from the request. */
		struct fuse_bufvec *dst = segs_bufvec(segs, fd);
		res = fuse_buf_copy(dst, in, 0);
		g_free(dst);
	} else {
		/* Many pieces: a pwrite each from memory is cheaper than a
		 * splice each out of the request's pipe. */
		size_t len;
		char *mem = rfs_buf_to_mem(in, &len);
		res = len < covered ? -EIO : rfs_io_write_segs(fd, mem, segs);
		g_free(mem);
	}
	g_array_unref(segs);
	GArray *reread = wf ? rfs_wflight_end(ctx, wf) : NULL;
	if (res < 0) {
		rfs_invals_free(ctx, invals);
		rfs_invals_free(ctx, reread);
		fuse_reply_err(req, (int)-res);
		return;
	}
	if (writeback)
		stale_end_page(ctx, n, fd, off + res, &invals);
	/* A writeback's aliases are invalidated later, but queued before
	 * the reply: an fsync or msync that follows queues its barrier
	 * behind them, and so returns only after they are done. */
	if (invals)
		rfs_notify_invals(ctx, invals);
	if (reread) { /* pages read again from the old bytes meanwhile */
		rfs_notify_written(ctx, req, n, off, size, res, reread);
		return;
	}
	fuse_reply_write(req, (size_t)res);
}
