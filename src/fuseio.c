/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuseio.c - a worker's channel to /dev/fuse (see fuseio.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "fuseio.h"
#include "remapfs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <glib.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* Linux 6.9's resend notification and its INIT flag (flags2 bit 7),
 * which Debian 12's <linux/fuse.h> does not have yet. */
#define RFS_NOTIFY_RESEND 7
#define RFS_INIT_HAS_RESEND_FLAGS2 (1u << (39 - 32))
#define RFS_INIT_EXT (1u << 30)

enum io_state {
	IO_OPEN,      /* requests pass through */
	IO_REPLAY,    /* the kept INIT goes to libfuse at the next read */
	IO_REPLAYING, /* libfuse has it; its answer is not written yet */
};

/* The unique ID of the request the thread read last: per thread, set by
 * io_read, read by the handler it runs next (rfs_fuseio_request_unique).
 * Requests are read whole (-o restart turns off splicing them in). */
static __thread uint64_t thread_unique;

struct rfs_fuseio {
	int fd;
	struct rfs_fuseio_init *init; /* in the supervisor's shared page */
	bool keep;		      /* the first worker: keep the INIT */
	GMutex lock;		      /* protects state */
	GCond opened;		      /* state became IO_OPEN */
	gint state;		      /* enum io_state; read atomically */
};

/* Whether an INIT request (as kept) offers FUSE_NOTIFY_RESEND. */
static bool init_has_resend(const struct rfs_fuseio_init *init)
{
	const size_t need =
	    sizeof(struct fuse_in_header) + sizeof(struct fuse_init_in);
	if (init->len < need)
		return false;
	struct fuse_init_in in;
	memcpy(&in, init->request + sizeof(struct fuse_in_header), sizeof(in));
	return (in.flags & RFS_INIT_EXT) &&
	       (in.flags2 & RFS_INIT_HAS_RESEND_FLAGS2);
}

/* The channel of the session whose userdata is the context. */
static struct rfs_fuseio *io_of(void *userdata)
{
	return ((struct rfs_ctx *)userdata)->fuseio;
}

int rfs_fuseio_send_resend(int fd)
{
	struct fuse_out_header out = {.len = sizeof(out),
				      .error = RFS_NOTIFY_RESEND};
	return write(fd, &out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : errno;
}

/* Ends the replay: the INIT is answered, reads may go on. */
static void replay_done(struct rfs_fuseio *io)
{
	int err = 0;
	if (init_has_resend(io->init) &&
	    !(err = rfs_fuseio_send_resend(io->fd)))
		g_message("restart: the kernel sends again the requests the "
			  "worker before this one did not answer");
	else if (err)
		g_warning("restart: the kernel did not take FUSE_NOTIFY_RESEND "
			  "(%s): requests the worker before this one read and "
			  "did not answer wait until the mount ends",
			  g_strerror(err));
	else
		g_warning("restart: this kernel cannot send requests again "
			  "(no FUSE_NOTIFY_RESEND, Linux 6.9): those the "
			  "worker before this one read and did not answer "
			  "wait until the mount ends");
	g_mutex_lock(&io->lock);
	g_atomic_int_set(&io->state, IO_OPEN);
	g_cond_broadcast(&io->opened);
	g_mutex_unlock(&io->lock);
}

/* Before the INIT is answered: hands libfuse the kept INIT (its length)
 * on the first call, else waits until the answer is written (0). */
static ssize_t replay_or_wait(struct rfs_fuseio *io, void *buf, size_t len)
{
	ssize_t got = 0;
	g_mutex_lock(&io->lock);
	if (g_atomic_int_get(&io->state) == IO_REPLAY && len >= io->init->len) {
		memcpy(buf, io->init->request, io->init->len);
		got = (ssize_t)io->init->len;
		g_atomic_int_set(&io->state, IO_REPLAYING);
	} else {
		while (g_atomic_int_get(&io->state) != IO_OPEN)
			g_cond_wait(&io->opened, &io->lock);
	}
	g_mutex_unlock(&io->lock);
	return got;
}

/* Keeps the kernel's INIT (header h, len bytes at buf), for the workers
 * after this one. */
static void keep_init(struct rfs_fuseio *io, const struct fuse_in_header *h,
		      const void *buf, ssize_t len)
{
	if (h->opcode != FUSE_INIT)
		return;
	io->keep = false;
	if ((size_t)len > sizeof(io->init->request)) {
		g_warning("restart: the kernel's INIT is %zd bytes, more than "
			  "the %zu kept: a worker that dies is not replaced",
			  len, sizeof(io->init->request));
		return;
	}
	memcpy(io->init->request, buf, (size_t)len);
	__atomic_store_n(&io->init->len, (uint32_t)len, __ATOMIC_RELEASE);
}

/* The buffer this thread read into last, its pages known present. */
static __thread void *faulted_in;

/* Touches every page of a read buffer the first time this thread uses it,
 * and locks them in memory where the limit allows (else they may be
 * reclaimed while the thread waits).  The kernel copies a request into
 * the reader's memory; when a page of it must be faulted in while the
 * worker is being killed, the copy fails and the kernel ends the request
 * with EIO (a write or writeback lost) instead of keeping it for the next
 * worker.  Present pages copy without a fault. */
static void prefault(void *buf, size_t len)
{
	if (faulted_in == buf)
		return;
	memset(buf, 0, len);
	(void)mlock(buf, len); /* best effort: RLIMIT_MEMLOCK */
	faulted_in = buf;
}

static ssize_t io_read(int fd, void *buf, size_t buf_len, void *userdata)
{
	struct rfs_fuseio *io = io_of(userdata);
	if (g_atomic_int_get(&io->state) != IO_OPEN) {
		ssize_t got = replay_or_wait(io, buf, buf_len);
		if (got)
			return got;
	}
	prefault(buf, buf_len);
	ssize_t res = read(fd, buf, buf_len);
	struct fuse_in_header h;
	if (res >= (ssize_t)sizeof(h)) {
		memcpy(&h, buf, sizeof(h));
		thread_unique = h.unique;
		if (io->keep)
			keep_init(io, &h, buf, res);
	}
	return res;
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct rfs_fuseio *io = io_of(userdata);
	if (g_atomic_int_get(&io->state) == IO_REPLAYING && count > 0 &&
	    iov[0].iov_len >= sizeof(struct fuse_out_header)) {
		struct fuse_out_header out;
		struct fuse_in_header in;
		memcpy(&out, iov[0].iov_base, sizeof(out));
		memcpy(&in, io->init->request, sizeof(in));
		if (out.unique == in.unique) {
			/* libfuse's answer to the kept INIT: the kernel took
			 * one already.  Dropped, as if written whole. */
			ssize_t len = 0;
			for (int i = 0; i < count; i++)
				len += (ssize_t)iov[i].iov_len;
			if (out.error)
				g_warning("restart: libfuse refused the INIT "
					  "it was handed again (%d)",
					  out.error);
			replay_done(io);
			return len;
		}
	}
	return writev(fd, iov, count);
}

static ssize_t io_splice_send(int fdin, off_t *offin, int fdout, off_t *offout,
			      size_t len, unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

struct rfs_fuseio *rfs_fuseio_new(struct rfs_fuseio_init *init, int fd)
{
	struct rfs_fuseio *io = g_new0(struct rfs_fuseio, 1);
	io->fd = fd;
	io->init = init;
	g_mutex_init(&io->lock);
	g_cond_init(&io->opened);
	if (__atomic_load_n(&init->len, __ATOMIC_ACQUIRE))
		io->state = IO_REPLAY;
	else
		io->keep = true;
	return io;
}

int rfs_fuseio_attach(struct rfs_fuseio *io, struct fuse_session *se)
{
	/* No splice_receive: requests are read whole (fs.c op_init), so
	 * that io_read sees every header. */
	static const struct fuse_custom_io ops = {
	    .read = io_read,
	    .writev = io_writev,
	    .splice_send = io_splice_send,
	};
	int res = fuse_session_custom_io(se, &ops, io->fd);
	return res < 0 ? -res : 0;
}

void rfs_fuseio_free(struct rfs_fuseio *io)
{
	if (!io)
		return;
	g_mutex_clear(&io->lock);
	g_cond_clear(&io->opened);
	g_free(io);
}

uint64_t rfs_fuseio_request_unique(void)
{
	return thread_unique;
}

void rfs_done_ring_add(struct rfs_done_ring *ring, uint64_t unique)
{
	uint64_t n = ring->next;
	__atomic_store_n(&ring->unique[n % RFS_DONE_RING], unique,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&ring->next, n + 1, __ATOMIC_RELEASE);
}
