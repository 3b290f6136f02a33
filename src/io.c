/* SPDX-License-Identifier: GPL-2.0-or-later */
/* io.c - the data path (see io.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "io.h"
#include "pageset.h"
#include "dropcache.h"
#include "fmap.h"
#include "inflight.h"
#include "stats.h"
#include "coherence.h"
#include "notify.h"
#include "segs.h"
#include "views.h"

#include <errno.h>
#include <inttypes.h>
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

/* Notes that the kernel may cache the view pages of [off, off+size) of
 * node n: a transaction that remaps them must invalidate them.  Called
 * under the state lock with the translation, so that a transaction
 * (which holds it for writing) either comes before and is seen by the
 * translation, or after and sees this. */
static void note_cached(struct rfs_ctx *ctx, struct rfs_node *n, off_t off,
			size_t size)
{
	if (size == 0 || off < 0)
		return;
	uint64_t first = (uint64_t)off >> ctx->page_shift;
	uint64_t last = ((uint64_t)off + size - 1) >> ctx->page_shift;
	rfs_pageset_add(rfs_node_pageset(n), first, last - first + 1);
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
		note_cached(ctx, n, off, size);
		covered = rfs_view_translate_read(ctx, v, off, size,
						  rfs_view_size(ctx, v, bsize),
						  bsize, segs);
		g_rw_lock_reader_unlock(&ctx->state_lock);
		return covered;
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	g_rw_lock_writer_lock(&ctx->state_lock);
	note_cached(ctx, n, off, size);
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
 * be had and set (the read's dropset, or NULL) does not drop the file's
 * pages, else with a splice per segment.  Returns 0 or an errno. */
static int fill_pipe_any(struct rfs_ctx *ctx, struct io_pipe *ip,
			 struct rfs_node *n, int fd, GArray *segs,
			 const struct rfs_dropset *set)
{
	/* A page the daemon maps cannot be dropped (dropcache.h), nor can
	 * the large folio it is part of. */
	if (set && rfs_dropset_drops(set))
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
		set = rfs_dropset_new(fd, ctx->privfds, ctx->sys_page_shift,
				      ctx->folio_max, RFS_DROPSET_MAX,
				      RFS_DROPSET_PENDING);
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
static void drop_end(struct rfs_dropset *set, off_t fsize, GArray *segs)
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
	rfs_dropset_read_end(set, r, nr, fsize, NULL);
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
		   fill_pipe_any(ctx, ip, n, fd, segs, dropset) == 0) {
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
	drop_end(dropset, st.st_size, segs);
	g_array_unref(segs);
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
	note_cached(ctx, n, off, size);
	covered = rfs_view_translate_write(ctx, v, off, size, segs);
	*remapped = v && !v->is_virtual && rfs_pagemap_nruns(v->map) > 0;
	g_rw_lock_reader_unlock(&ctx->state_lock);
	return covered;
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

void rfs_io_write_failed(fuse_req_t req, uint64_t ino, off_t off, size_t size,
			 bool writeback, int err)
{
	if (writeback)
		g_warning("writeback of %zu bytes at %jd of node %" PRIu64
			  " failed: %s",
			  size, (intmax_t)off, ino, g_strerror(err));
	fuse_reply_err(req, err);
}

void rfs_io_write(struct rfs_ctx *ctx, fuse_req_t req, struct rfs_node *n,
		  int fd, struct fuse_bufvec *in, off_t off, bool writeback,
		  bool resent)
{
	size_t size = fuse_buf_size(in);
	bool remapped;
	struct stat fst;
	/* A virtual view is a view of a path: once its backing file lost
	 * that name (replaced or removed outside the mount), bytes written
	 * to the old inode would land where nobody can read them. */
	if (n->kind == RFS_NODE_VIRTUAL && fstat(fd, &fst) == 0 &&
	    fst.st_nlink == 0) {
		rfs_io_write_failed(req, rfs_ino_of(ctx, n), off, size,
				    writeback, ESTALE);
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
			rfs_io_write_failed(req, rfs_ino_of(ctx, n), off, size,
					    writeback, EFBIG);
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
	GArray *own = rfs_coherence_own_stale(ctx, n, off, segs);
	/* A write through a virtual view, or through a remapped page, may
	 * grow the backing file where the kernel does not see it: the size
	 * of the file's own view is the file's, and that view's old last
	 * page, cached with zeros past the old end, now shows bytes. */
	struct rfs_node *b = rfs_view_backing(n);
	bool watch_size =
	    (b != n || remapped) && rfs_node_known(&ctx->nodes, b);
	struct stat pre;
	/* Sent again after a worker died, the write may have grown the file
	 * already without the kernel being told. */
	bool grows = watch_size && fstat(fd, &pre) == 0 &&
		     (segs_end(segs) > pre.st_size || resent);
	GArray *invals =
	    rfs_coherence_aliases(ctx, n, off, MAX(size, covered), segs);
	if (grows) {
		/* The kernel must learn the new size, but only once the view's
		 * old last page is dropped: it holds zeros past the old end,
		 * also when this write covers part of it (the attributes go
		 * after the pages, see rfs_invals_send).  In the writer's own
		 * view that page may be the one the kernel keeps locked. */
		rfs_coherence_end(ctx, b == n && !writeback ? &own : &invals, b,
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
			rfs_wflight_cancel(ctx, wf);
			rfs_io_write_failed(req, rfs_ino_of(ctx, n), off, size,
					    writeback, EIO);
			return;
		}
		rfs_notify_write(ctx, req, n, off, size, wf, fd, mem, segs,
				 invals, own, grows);
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
		res = len < covered ? -EIO : rfs_segs_write(fd, mem, segs);
		g_free(mem);
	}
	g_array_unref(segs);
	if (res < 0) {
		if (wf)
			rfs_wflight_cancel(ctx, wf);
		rfs_invals_free(ctx, invals);
		rfs_io_write_failed(req, rfs_ino_of(ctx, n), off, size,
				    writeback, (int)-res);
		return;
	}
	GArray *relock = NULL;
	GArray *reread = wf ? rfs_wflight_end(ctx, wf, &relock) : NULL;
	if (writeback)
		rfs_coherence_writeback_end(ctx, n, fd, off + res, &invals);
	/* A writeback's aliases are invalidated later, but queued before
	 * the reply: an fsync or msync that follows queues its barrier
	 * behind them, and so returns only after they are done. */
	if (invals)
		rfs_notify_invals(ctx, invals);
	if (reread || relock) { /* pages read again from the old bytes */
		rfs_notify_written(ctx, req, n, off, size, res, reread, relock);
		return;
	}
	fuse_reply_write(req, (size_t)res);
}
