/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* core.c - see core.h. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- the last error ---- */

/* The calling thread's last error message. */
static __thread char last_error[1024];

int rfsl_fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *rfsl_last_error(void)
{
	return last_error;
}

/* ---- the mount cache ---- */

/* One mount of a remapfs file system. */
struct mnt_point {
	char *mountpoint;
	char *root; /* the directory of the file system it shows */
};

/* One remapfs file system (one daemon), as /proc/self/mountinfo shows it. */
struct mnt_fs {
	unsigned major, minor;
	char *control;	   /* .control in a mount of its root; NULL: none */
	char *mountpoint;  /* that mount */
	GPtrArray *points; /* struct mnt_point *: all its mounts */
	uint64_t pagesize; /* 0 until read */
	/* Known to be remapfs: its type says so, or its .control answered.
	 * A FUSE mount of another type (-o subtype=, -o fsname=) is only a
	 * candidate until then. */
	bool verified;
};

/* The mount cache.  cache_lock protects fs_list (the remapfs file systems
 * found in /proc/self/mountinfo), not_remapfs (devices found not to be
 * remapfs since) and mountinfo_fd (polled for changes of the mount table,
 * which flush both: device numbers and mount ids are reused, so nothing,
 * not even a page size, is kept across a change). */
static GMutex cache_lock;
static GPtrArray *fs_list;
static GArray *not_remapfs; /* dev_t */
static int mountinfo_fd = -1;

/* maps_lock protects maps_fd (/proc/self/maps of process maps_pid, for the
 * ioctl; reopened in a child after fork) and maps_text (the ioctl is
 * missing, or tests asked for the text). */
static GMutex maps_lock;
static int maps_fd = -1;
static pid_t maps_pid;
static bool maps_text;

/* Keeps a fork() in another thread from copying a lock held. */
static void atfork_prepare(void)
{
	g_mutex_lock(&cache_lock);
	g_mutex_lock(&maps_lock);
}

/* Releases the locks atfork_prepare took (parent and child). */
static void atfork_release(void)
{
	g_mutex_unlock(&maps_lock);
	g_mutex_unlock(&cache_lock);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Registers the fork handlers (once). */
static void atfork_register(void)
{
	pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

/* Frees a struct mnt_point (GDestroyNotify). */
static void mnt_point_free(gpointer p)
{
	struct mnt_point *mp = p;
	g_free(mp->mountpoint);
	g_free(mp->root);
	g_free(mp);
}

/* Frees a struct mnt_fs (GDestroyNotify). */
static void mnt_fs_free(gpointer p)
{
	struct mnt_fs *fs = p;
	g_free(fs->control);
	g_free(fs->mountpoint);
	g_ptr_array_unref(fs->points);
	g_free(fs);
}

/* Reads a whole file of /proc (whose size stat does not tell). */
static int read_proc(const char *path, GString *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			close(fd);
			return err;
		}
		g_string_append_len(out, buf, n);
	}
	close(fd);
	return 0;
}

/* The file system major:minor in list, or NULL. */
static struct mnt_fs *find_fs(GPtrArray *list, unsigned major, unsigned minor)
{
	for (guint i = 0; list && i < list->len; i++) {
		struct mnt_fs *fs = list->pdata[i];
		if (fs->major == major && fs->minor == minor)
			return fs;
	}
	return NULL;
}

/* Adds a remapfs mount, or a FUSE mount that may be one, to list (of
 * struct mnt_fs). */
static void add_mount(GPtrArray *list, const struct rfsl_mountinfo *mi,
		      bool verified)
{
	struct mnt_fs *fs = find_fs(list, mi->major, mi->minor);
	if (!fs) {
		fs = g_new0(struct mnt_fs, 1);
		fs->major = mi->major;
		fs->minor = mi->minor;
		fs->verified = verified;
		fs->points = g_ptr_array_new_with_free_func(mnt_point_free);
		g_ptr_array_add(list, fs);
	}
	/* Of several mounts of the root, the last one listed. */
	if (strcmp(mi->root, "/") == 0) {
		g_free(fs->mountpoint);
		g_free(fs->control);
		fs->mountpoint = g_strdup(mi->mountpoint);
		fs->control =
		    g_build_filename(mi->mountpoint, ".control", NULL);
	}
	struct mnt_point *mp = g_new0(struct mnt_point, 1);
	mp->mountpoint = g_strdup(mi->mountpoint);
	mp->root = g_strdup(mi->root);
	g_ptr_array_add(fs->points, mp);
}

/* Rebuilds fs_list from /proc/self/mountinfo; cache_lock held. */
static int rebuild(void)
{
	GString *text = g_string_new(NULL);
	int err = read_proc("/proc/self/mountinfo", text);
	if (err) {
		g_string_free(text, TRUE);
		return rfsl_fail(err, "reading /proc/self/mountinfo: %s",
				 g_strerror(err));
	}
	GPtrArray *list = g_ptr_array_new_with_free_func(mnt_fs_free);
	const char *p = text->str, *end = text->str + text->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		struct rfsl_mountinfo mi;
		if (rfsl_parse_mountinfo_line(p, n, &mi) == 0) {
			/* remapfs's own type, or any FUSE mount: the
			 * daemon's -o subtype and -o fsname change the
			 * type and the source, but not what .control says. */
			if (strcmp(mi.fstype, "fuse.remapfs") == 0)
				add_mount(list, &mi, true);
			else if (rfsl_fstype_is_fuse(mi.fstype))
				add_mount(list, &mi, false);
			rfsl_mountinfo_clear(&mi);
		}
		p += n + 1;
	}
	g_string_free(text, TRUE);
	if (fs_list)
		g_ptr_array_unref(fs_list);
	fs_list = list;
	if (!not_remapfs)
		not_remapfs = g_array_new(FALSE, FALSE, sizeof(dev_t));
	g_array_set_size(not_remapfs, 0);
	return 0;
}

/* Flushes the negative cache and rebuilds when the mount table changed
 * since the last look; cache_lock held. */
static void check_mount_changes(void)
{
	if (mountinfo_fd < 0) {
		/* Opened before the first read, so no change is missed. */
		mountinfo_fd =
		    open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		if (mountinfo_fd < 0)
			return;
	}
	struct pollfd pfd = {.fd = mountinfo_fd, .events = POLLPRI};
	if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLPRI | POLLERR))) {
		if (not_remapfs)
			g_array_set_size(not_remapfs, 0);
		if (fs_list)
			rebuild();
	}
}

/* Whether dev is in not_remapfs; cache_lock held. */
static bool known_not_remapfs(dev_t dev)
{
	for (guint i = 0; not_remapfs && i < not_remapfs->len; i++)
		if (g_array_index(not_remapfs, dev_t, i) == dev)
			return true;
	return false;
}

/* The cached file system of dev, refreshing the cache on a miss; cache_lock
 * held.  ENODEV when dev is not remapfs. */
static int cache_get(unsigned major, unsigned minor, struct mnt_fs **out)
{
	dev_t dev = makedev(major, minor);
	pthread_once(&atfork_once, atfork_register);
	check_mount_changes();
	*out = find_fs(fs_list, major, minor);
	if (*out)
		return 0;
	if (fs_list && known_not_remapfs(dev))
		return ENODEV;
	int err = rebuild();
	if (err)
		return err;
	*out = find_fs(fs_list, major, minor);
	if (*out)
		return 0;
	g_array_append_val(not_remapfs, dev);
	return ENODEV;
}

static int read_header(const char *control, uint64_t *pagesize);

/* cache_get, and a candidate FUSE mount is asked whether it is remapfs:
 * the first line of its .control, read with cache_lock released (held on
 * entry and on return). */
static int cache_get_verified(unsigned major, unsigned minor,
			      struct mnt_fs **out)
{
	int err = cache_get(major, minor, out);
	if (err || (*out)->verified)
		return err;
	char *control = g_strdup((*out)->control);
	uint64_t pagesize = 0;
	g_mutex_unlock(&cache_lock);
	int perr = control ? read_header(control, &pagesize) : ENOENT;
	g_mutex_lock(&cache_lock);
	*out = find_fs(fs_list, major, minor);
	if (*out && !perr && g_strcmp0((*out)->control, control) == 0) {
		(*out)->verified = true;
		(*out)->pagesize = pagesize;
	} else if (*out && !(*out)->verified) {
		g_ptr_array_remove(fs_list, *out); /* frees it */
		dev_t dev = makedev(major, minor);
		g_array_append_val(not_remapfs, dev);
		*out = NULL;
	}
	g_free(control);
	return *out ? 0 : ENODEV;
}

int rfsl_is_remapfs(unsigned major, unsigned minor, bool *yes)
{
	struct mnt_fs *fs;
	g_mutex_lock(&cache_lock);
	int err = cache_get_verified(major, minor, &fs);
	g_mutex_unlock(&cache_lock);
	*yes = err == 0;
	return err == ENODEV ? 0 : err;
}

/* Reads the page size from the first line of control's state dump, with
 * no message: an errno, or EIO when the line is not remapfs's. */
static int read_header(const char *control, uint64_t *pagesize)
{
	int fd = open(control, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return EIO;
	}
	char buf[256];
	size_t len = 0;
	int err = 0;
	while (len < sizeof(buf) && !memchr(buf, '\n', len)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!err && rfsl_parse_state_header(buf, len, pagesize))
		err = EIO;
	return err;
}

/* read_header, with a message. */
static int read_pagesize(const char *control, uint64_t *pagesize)
{
	int err = read_header(control, pagesize);
	if (err == EIO)
		return rfsl_fail(EIO, "%s: no page size in its first line",
				 control);
	if (err)
		return rfsl_fail(err, "reading %s: %s", control,
				 g_strerror(err));
	return 0;
}

void rfsl_target_clear(struct rfsl_target *t)
{
	if (!t)
		return;
	g_free(t->mountpoint);
	g_free(t->control);
	g_free(t->view);
	memset(t, 0, sizeof(*t));
}

/* Whether path names the file (dev, ino). */
static bool names(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;
	return lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int rfsl_locate(dev_t dev, ino_t ino, const char *path, struct rfsl_target *t)
{
	char *stripped = NULL;
	memset(t, 0, sizeof(*t));
	if (rfsl_path_deleted(path, &stripped)) {
		/* An unlinked file, or a name that ends that way. */
		if (names(path, dev, ino)) {
			g_clear_pointer(&stripped, g_free);
		} else if (!names(stripped, dev, ino)) {
			g_free(stripped);
			return rfsl_fail(
			    ENOENT, "%s: the view has no name any more", path);
		}
	}
	const char *p = stripped ? stripped : path;
	struct mnt_fs *fs;
	g_mutex_lock(&cache_lock);
	int err = cache_get_verified(major(dev), minor(dev), &fs);
	if (err == ENODEV) {
		rfsl_fail(err, "%s is not in a remapfs mount", p);
	} else if (!err && !fs->control) {
		err = rfsl_fail(ENOENT,
				"%s: no mount of its remapfs shows the root,"
				" where .control is",
				p);
	} else if (!err) {
		/* The longest mount point over the path. */
		size_t best = 0;
		for (guint i = 0; i < fs->points->len; i++) {
			struct mnt_point *mp = fs->points->pdata[i];
			char *rel;
			size_t n = strlen(mp->mountpoint);
			if (n < best || rfsl_path_in_mount(p, mp->mountpoint,
							   mp->root, &rel) != 0)
				continue;
			best = n;
			g_free(t->view);
			t->view = rel;
		}
		if (!t->view) {
			err = rfsl_fail(ENOENT,
					"%s is not under a mount point of its"
					" remapfs",
					p);
		} else {
			t->dev = dev;
			t->mountpoint = g_strdup(fs->mountpoint);
			t->control = g_strdup(fs->control);
			t->pagesize = fs->pagesize;
		}
	}
	g_mutex_unlock(&cache_lock);
	g_free(stripped);
	if (!err && !t->pagesize) {
		err = read_pagesize(t->control, &t->pagesize);
		if (!err) {
			g_mutex_lock(&cache_lock);
			fs = find_fs(fs_list, major(dev), minor(dev));
			if (fs && fs->control &&
			    strcmp(fs->control, t->control) == 0)
				fs->pagesize = t->pagesize;
			g_mutex_unlock(&cache_lock);
		}
	}
	if (err)
		rfsl_target_clear(t);
	return err;
}

int rfsl_locate_fd(int fd, struct rfsl_target *t, struct stat *st)
{
	struct stat sb;
	char link[64], path[PATH_MAX + 16];
	memset(t, 0, sizeof(*t));
	if (fstat(fd, &sb) < 0) {
		int err = errno;
		return rfsl_fail(err, "descriptor %d: %s", fd, g_strerror(err));
	}
	if (st)
		*st = sb;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n < 0) {
		int err = errno;
		return rfsl_fail(err, "%s: %s", link, g_strerror(err));
	}
	path[n] = '\0';
	if (path[0] != '/')
		return rfsl_fail(ENODEV,
				 "descriptor %d (%s) is not a file of"
				 " a remapfs mount",
				 fd, path);
	return rfsl_locate(sb.st_dev, sb.st_ino, path, t);
}

/* ---- the address space ---- */

/* The PROCMAP_QUERY ioctl of /proc/PID/maps (Linux 6.11), declared here
 * for older headers: the layout is the kernel's ABI. */
struct rfsl_procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define RFSL_PROCMAP_QUERY _IOWR('f', 17, struct rfsl_procmap_query)
enum {
	RFSL_VMA_READABLE = 0x1,
	RFSL_VMA_WRITABLE = 0x2,
	RFSL_VMA_EXECUTABLE = 0x4,
	RFSL_VMA_SHARED = 0x8,
};

void rfsl_maps_force_text(bool on)
{
	g_mutex_lock(&maps_lock);
	maps_text = on;
	g_mutex_unlock(&maps_lock);
}

/* The descriptor for the ioctl, or -1 to parse the text; sets *text. */
static int maps_descriptor(bool *text)
{
	pthread_once(&atfork_once, atfork_register);
	g_mutex_lock(&maps_lock);
	pid_t pid = getpid();
	if (!maps_text && (maps_fd < 0 || maps_pid != pid)) {
		if (maps_fd >= 0)
			close(maps_fd);
		maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
		maps_pid = pid;
	}
	int fd = maps_text ? -1 : maps_fd;
	*text = maps_text || fd < 0;
	g_mutex_unlock(&maps_lock);
	return fd;
}

/* rfsl_vma_at by the ioctl; ENOTTY when the kernel lacks it. */
static int vma_ioctl(int fd, uint64_t addr, struct rfsl_vma *out, bool *found)
{
	char *name = g_malloc(PATH_MAX + 64);
	struct rfsl_procmap_query q = {
	    .size = sizeof(q),
	    .query_addr = addr,
	    .vma_name_size = PATH_MAX + 64,
	    .vma_name_addr = (uint64_t)(uintptr_t)name,
	};
	*found = false;
	if (ioctl(fd, RFSL_PROCMAP_QUERY, &q) < 0) {
		int err = errno;
		g_free(name);
		if (err == ENOENT)
			return 0;
		return err == EINVAL || err == ENAMETOOLONG ? ENOTTY : err;
	}
	memset(out, 0, sizeof(*out));
	out->start = q.vma_start;
	out->end = q.vma_end;
	out->offset = q.vma_offset;
	out->major = q.dev_major;
	out->minor = q.dev_minor;
	out->inode = q.inode;
	out->readable = q.vma_flags & RFSL_VMA_READABLE;
	out->writable = q.vma_flags & RFSL_VMA_WRITABLE;
	out->executable = q.vma_flags & RFSL_VMA_EXECUTABLE;
	out->shared = q.vma_flags & RFSL_VMA_SHARED;
	if (q.vma_name_size > 0)
		out->path = g_strndup(name, q.vma_name_size);
	g_free(name);
	*found = true;
	return 0;
}

/* rfsl_vma_at by parsing the text of /proc/self/maps. */
static int vma_text(uint64_t addr, struct rfsl_vma *out, bool *found)
{
	GString *text = g_string_new(NULL);
	int err = read_proc("/proc/self/maps", text);
	*found = false;
	const char *p = text->str, *end = text->str + text->len;
	while (!err && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		struct rfsl_vma v;
		if (rfsl_parse_maps_line(p, n, &v) == 0) {
			if (v.start <= addr && addr < v.end) {
				*out = v;
				*found = true;
				break;
			}
			bool past = v.start > addr;
			rfsl_vma_clear(&v);
			if (past) /* the lines are in address order */
				break;
		}
		p += n + 1;
	}
	g_string_free(text, TRUE);
	if (err)
		rfsl_fail(err, "reading /proc/self/maps: %s", g_strerror(err));
	return err;
}

int rfsl_vma_at(uint64_t addr, struct rfsl_vma *out, bool *found)
{
	bool text;
	int fd = maps_descriptor(&text);
	if (!text) {
		int err = vma_ioctl(fd, addr, out, found);
		if (err != ENOTTY) {
			if (err)
				rfsl_fail(err, "PROCMAP_QUERY: %s",
					  g_strerror(err));
			return err;
		}
		if (err == ENOTTY && fd >= 0) {
			/* Not this kernel: parse the text from now on. */
			g_mutex_lock(&maps_lock);
			maps_text = true;
			g_mutex_unlock(&maps_lock);
		}
	}
	return vma_text(addr, out, found);
}

/* ---- .control ---- */

size_t rfsl_txn_max(void)
{
	/* The daemon's largest request (1 MiB less 4 pages) less the page
	 * that an unaligned buffer needs more: the kernel never splits a
	 * write of this size. */
	return ((size_t)1 << 20) - 5 * (size_t)sysconf(_SC_PAGESIZE);
}

/* Writes all of buf to fd in one write(); returns 0 or an errno (EIO when
 * the kernel split it and a later part failed). */
static int write_whole(int fd, const char *buf, size_t len)
{
	ssize_t n;
	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

/* Sets the last error from the daemon's "error: line L: message" text,
 * storing L in *err_line. */
static void daemon_message(int err, const char *control, GString *msg,
			   unsigned *err_line)
{
	char *text = g_strchomp(msg->str);
	if (g_str_has_prefix(text, "error: "))
		text += 7;
	unsigned line = 0;
	int used = 0;
	if (sscanf(text, "line %u: %n", &line, &used) == 1 && used > 0)
		text += used;
	if (err_line)
		*err_line = line;
	if (*text)
		rfsl_fail(err, "%s", text);
	else
		rfsl_fail(err, "%s: %s", control, g_strerror(err));
}

/* Sends text (complete lines, longer than one write) as one explicit
 * transaction on a new readable descriptor: "begin", pieces of whole
 * lines, "commit" at the end of the last.  On refusal the message is the
 * daemon's, and *err_line its line in text. */
static int transact_explicit(const char *control, const char *text, size_t len,
			     unsigned *err_line,
			     void (*progress)(size_t, size_t, void *),
			     void *data)
{
	size_t max = rfsl_txn_max();
	char *piece = NULL;
	if (posix_memalign((void **)&piece, (size_t)sysconf(_SC_PAGESIZE), max))
		return rfsl_fail(ENOMEM, "out of memory");
	int fd = open(control, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		free(piece);
		return rfsl_fail(err, "%s: %s", control, g_strerror(err));
	}
	int err = write_whole(fd, "begin\n", 6);
	for (size_t off = 0; !err && off < len;) {
		size_t n = MIN(max, len - off);
		if (off + n < len) { /* end on a line */
			const char *nl = memrchr(text + off, '\n', n);
			if (!nl) {
				close(fd);
				free(piece);
				return rfsl_fail(E2BIG,
						 "a line is longer than %zu "
						 "bytes",
						 max);
			}
			n = (size_t)(nl + 1 - (text + off));
		}
		memcpy(piece, text + off, n);
		size_t plen = n;
		bool last = off + n == len;
		if (last && plen + 7 <= max) {
			memcpy(piece + plen, "commit\n", 7);
			plen += 7;
		}
		if (last && progress) /* the commit takes the daemon longest */
			progress(off, len, data);
		err = write_whole(fd, piece, plen);
		if (!err && last && plen == n)
			err = write_whole(fd, "commit\n", 7);
		off += n;
		if (!err && progress && !last)
			progress(off, len, data);
	}
	if (!err && progress)
		progress(len, len, data);
	if (err) {
		GString *msg = g_string_new(NULL);
		char buf[4096];
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0 && msg->len < 65536)
			g_string_append_len(msg, buf, r);
		if (msg->len) {
			daemon_message(err, control, msg, err_line);
			/* Line 1 of the daemon's count is "begin". */
			if (err_line && *err_line)
				(*err_line)--;
		} else {
			rfsl_fail(err, "%s: %s", control, g_strerror(err));
		}
		g_string_free(msg, TRUE);
	}
	close(fd); /* an uncommitted transaction is dropped: that is all */
	free(piece);
	return err;
}

/* Writes text on a new descriptor of control opened with mode; on a failed
 * write reads the daemon's message into msg (when not NULL).  Sets
 * *opened when the open succeeded. */
static int write_once(const char *control, int mode, const char *text,
		      size_t len, GString *msg, bool *opened)
{
	int fd = open(control, mode | O_CLOEXEC);
	*opened = fd >= 0;
	if (fd < 0)
		return errno;
	int err = 0;
	ssize_t n;
	do
		n = write(fd, text, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		err = errno;
	} else if ((size_t)n != len) {
		/* The kernel split it and a later part failed. */
		err = EIO;
		rfsl_fail(err,
			  "%s: only %zd of %zu bytes were applied (the write"
			  " was split)",
			  control, n, len);
	}
	if (err && err != EIO && msg) {
		char buf[4096];
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0 && msg->len < 65536)
			g_string_append_len(msg, buf, r);
	}
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

int rfsl_transact(const char *control, const char *text, size_t len,
		  unsigned *err_line)
{
	return rfsl_transact_progress(control, text, len, err_line, NULL, NULL);
}

int rfsl_transact_progress(
    const char *control, const char *text, size_t len, unsigned *err_line,
    void (*progress)(size_t done, size_t total, void *data), void *data)
{
	bool opened;
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), max = rfsl_txn_max();
	if (err_line)
		*err_line = 0;
	if (len > max)
		return transact_explicit(control, text, len, err_line, progress,
					 data);
	/* The kernel cuts a write into requests of whole pages: a buffer
	 * that does not start on a page would need one page more. */
	char *aligned = NULL;
	if (len > ps && ((uintptr_t)text & (ps - 1))) {
		if (posix_memalign((void **)&aligned, ps, len))
			return rfsl_fail(ENOMEM, "out of memory");
		memcpy(aligned, text, len);
		text = aligned;
	}
	/* Write-only first: a readable descriptor makes the daemon take a
	 * snapshot of the whole state at open. */
	int err = write_once(control, O_WRONLY, text, len, NULL, &opened);
	if (!err || err == EIO) {
		free(aligned);
		if (!err && progress)
			progress(len, len, data);
		return err;
	}
	if (!opened || err == ENOTCONN || err == EINTR) {
		free(aligned);
		return rfsl_fail(err, "%s: %s", control, g_strerror(err));
	}
	/* Refused.  Nothing of it was applied: send it again on a readable
	 * descriptor to read the daemon's message back (if the state changed
	 * in between and it now succeeds, it was applied once, now). */
	GString *msg = g_string_new(NULL);
	err = write_once(control, O_RDWR, text, len, msg, &opened);
	if (err && opened && err != EIO)
		daemon_message(err, control, msg, err_line);
	else if (err && err != EIO)
		rfsl_fail(err, "%s: %s", control, g_strerror(err));
	g_string_free(msg, TRUE);
	free(aligned);
	return err;
}

int rfsl_read_state(const char *control, GString *out)
{
	int err = read_proc(control, out);
	if (err)
		rfsl_fail(err, "reading %s: %s", control, g_strerror(err));
	return err;
}
