/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - wiring: options, the context, the session, the loop. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "bdi.h"
#include "control.h"
#include "fs.h"
#include "handles.h"
#include "notify.h"
#include "pageset.h"
#include "inflight.h"
#include "mountinfo.h"
#include "push.h"
#include "restore.h"
#include "stop.h"
#include "supervise.h"
#include "watch.h"
#include "remapfs.h"
#include "views.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <inttypes.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

/* The descriptor number of a MOUNTPOINT "/dev/fd/N" (a /dev/fuse
 * descriptor mounted already: mount.fuse3 -o drop_privileges), or -1. */
static int mountpoint_fd(const char *mp)
{
	unsigned n;
	char extra;
	if (sscanf(mp, "/dev/fd/%u%c", &n, &extra) == 1 && n < 1u << 30)
		return (int)n;
	return -1;
}

/* Whether the arguments already name an fsname. */
static bool has_fsname(const struct fuse_args *args)
{
	for (int i = 0; i < args->argc; i++)
		if (strstr(args->argv[i], "fsname="))
			return true;
	return false;
}

/* Prints one line about a user error and returns the exit status. */
static int G_GNUC_PRINTF(1, 2) fail(const char *fmt, ...)
{
	va_list ap;
	fputs("remapfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Opens SOURCE and checks it; returns an O_PATH descriptor or -1. */
static int open_source(const char *source)
{
	struct stat st;
	int fd = open(source, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		fail("SOURCE '%s': %s", source, g_strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fail("SOURCE '%s' is not a directory", source);
		close(fd);
		return -1;
	}
	return fd;
}

/* Checks MOUNTPOINT: an existing directory that is not a mount point. */
static int check_mountpoint(const char *mp)
{
	struct stat st;
	char real[PATH_MAX];
	if (stat(mp, &st) < 0)
		return fail("MOUNTPOINT '%s': %s", mp, g_strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail("MOUNTPOINT '%s' is not a directory", mp);
	if (realpath(mp, real) && rfs_mountinfo_is_mount_point(real))
		return fail("MOUNTPOINT '%s' is busy: something is mounted "
			    "there already",
			    mp);
	return 0;
}

/* Loads -o state=FILE before mounting (the daemon leaves the working
 * directory when it goes to the background, so the name is made absolute
 * first) and returns the journal to keep it in, or NULL after saying why
 * (the mount must not happen). */
static struct rfs_journal *load_state(struct rfs_ctx *ctx)
{
	char *abs = g_canonicalize_filename(ctx->opts.state_file, NULL);
	g_free(ctx->opts.state_file);
	ctx->opts.state_file = abs;
	GString *msg = g_string_new(NULL);
	ctx->ctl = rfs_control_start(ctx, NULL);
	struct rfs_journal *j = rfs_restore_state(ctx, msg);
	rfs_control_stop(ctx->ctl);
	ctx->ctl = NULL;
	if (!j)
		fail("%s", msg->str);
	g_string_free(msg, TRUE);
	return j;
}

/* Sets up the context for the given options and SOURCE descriptor;
 * handles carry epoch (handles.h). */
static void ctx_init(struct rfs_ctx *ctx, int source_fd, uint64_t pagesize,
		     uint32_t epoch)
{
	ctx->pagesize = pagesize;
	ctx->page_shift = (unsigned)__builtin_ctzll(pagesize);
	ctx->page_limit = (uint64_t)INT64_MAX >> ctx->page_shift;
	ctx->sys_pagesize = (size_t)getpagesize();
	ctx->sys_page_shift = (unsigned)__builtin_ctzl(ctx->sys_pagesize);
	/* A PMD maps a page of page table entries of 8 bytes each. */
	ctx->folio_max =
	    (off_t)ctx->sys_pagesize * (off_t)(ctx->sys_pagesize / 8);
	/* A request holds at most max_write bytes in (max_write - 1) / page
	 * + 1 pages (libfuse's max_pages); a buffer that does not start on
	 * a page needs one page more than its size, so one page less than
	 * that always arrives whole. */
	ctx->txn_write_max =
	    ((RFS_MAX_TRANSACTION - 1) / ctx->sys_pagesize) * ctx->sys_pagesize;
	rfs_self_init(&ctx->self);
	ctx->owner = getuid();
	ctx->owner_gid = getgid();
	g_rw_lock_init(&ctx->state_lock);
	g_mutex_init(&ctx->viewsets_lock);
	ctx->views = g_hash_table_new(NULL, NULL);
	rfs_nodes_init(&ctx->nodes, source_fd);
	ctx->nodes.free_view = rfs_view_free;
	ctx->nodes.free_view_data = ctx;
	ctx->control =
	    rfs_nodes_new_special(&ctx->nodes, RFS_NODE_CONTROL, S_IFREG);
	ctx->stats_node =
	    rfs_nodes_new_special(&ctx->nodes, RFS_NODE_STATS, S_IFREG);
	ctx->stats.started = g_get_monotonic_time();
	ctx->zeros_len = (size_t)MAX(pagesize, 1u << 20);
	ctx->zeros = g_malloc0(ctx->zeros_len);
	ctx->inflight = rfs_inflight_new();
	ctx->handles = rfs_handles_new(epoch);
}

/* Applies the per-mount settings libfuse does not pass to the kernel
 * (strictatime, nodiratime, ...) to the mount on mountpoint.  Returns 0 or
 * an errno (EPERM for a user who is not root). */
static int apply_mount_attrs(const struct rfs_options *o,
			     const char *mountpoint)
{
	struct mount_attr a = {0};
	if (o->strictatime > 0) {
		a.attr_clr |= MOUNT_ATTR__ATIME;
		a.attr_set |= MOUNT_ATTR_STRICTATIME;
	}
	if (o->nodiratime)
		*(o->nodiratime > 0 ? &a.attr_set : &a.attr_clr) |=
		    MOUNT_ATTR_NODIRATIME;
	if (o->nosymfollow)
		*(o->nosymfollow > 0 ? &a.attr_set : &a.attr_clr) |=
		    MOUNT_ATTR_NOSYMFOLLOW;
	if (!a.attr_set && !a.attr_clr)
		return 0;
#if defined(HAVE_MOUNT_SETATTR)
	int res = mount_setattr(AT_FDCWD, mountpoint, 0, &a, sizeof(a));
#elif defined(SYS_mount_setattr)
	int res = (int)syscall(SYS_mount_setattr, AT_FDCWD, mountpoint, 0, &a,
			       sizeof(a));
#else
	int res = -1;
	errno = ENOSYS;
#endif
	return res == 0 ? 0 : errno;
}

/* Frees what ctx_init set up. */
static void ctx_destroy(struct rfs_ctx *ctx)
{
	rfs_handles_free(ctx->handles); /* those never released */
	if (ctx->done_uniques)
		g_hash_table_unref(ctx->done_uniques);
	g_hash_table_unref(ctx->views);
	rfs_inflight_free(ctx->inflight);
	rfs_nodes_destroy(&ctx->nodes); /* the control node too */
	g_free((void *)ctx->zeros);
	g_rw_lock_clear(&ctx->state_lock);
	g_mutex_clear(&ctx->viewsets_lock);
	rfs_self_clear(&ctx->self);
}

/* What a worker that replaces one that died does once it serves. */
struct after_restart {
	struct rfs_ctx *ctx;
	const char *mountpoint;
	GArray *invals;
};

/* Tells the kernel the sizes of the files in invals (their true sizes,
 * which the dead worker may have changed without telling it) through a
 * setattr's answer, which no invalidation racing with it can drop
 * (push.h), on the pusher thread. */
static void push_sizes(struct rfs_ctx *ctx, GArray *invals)
{
	struct rfs_push told;
	rfs_push_init(&told);
	for (guint i = 0; i < invals->len; i++) {
		struct rfs_node *n =
		    g_array_index(invals, struct rfs_inval, i).node;
		rfs_node_ref(&ctx->nodes, n);
		g_ptr_array_add(told.resized, n);
	}
	rfs_push_send(ctx, &told, NULL, NULL);
}

/* Tells the kernel the files' sizes (push_sizes), has it write back
 * the dirty pages it kept for the dead worker (through this one, which
 * serves meanwhile), then drops the cached pages
 * of the files the dead worker served (adopted_invals), ahead of the
 * fsyncs held meanwhile (notify.h).  The write back waits in a child
 * process (rfs_stop_syncfs).  (Dropping first, while the kernel sends again
 * what the dead worker did not answer, left stale copies of aliases.) */
static gpointer after_restart_thread(gpointer data)
{
	struct after_restart *a = data;
	const char *mountpoint = a->mountpoint;
	push_sizes(a->ctx, a->invals);
	if (rfs_stop_syncfs(mountpoint) != 0)
		g_warning("restart: cannot write back the dirty pages the "
			  "kernel kept; they go at the next writeback");
	rfs_notify_release(a->ctx, a->invals);
	g_free(a);
	return NULL;
}

/* Starts the daemon's threads, serves the session until it ends, and
 * stops them.  Takes over journal, and invals (may be NULL: a worker that
 * does not replace one that died), sent once it serves.  Returns the exit
 * status. */
static int serve(struct rfs_ctx *ctx, struct rfs_journal *journal,
		 GArray *invals, const struct fuse_cmdline_opts *fopts)
{
	char *err = NULL;
	int ret;
	if (ctx->opts.watch && !(ctx->watch = rfs_watch_start(ctx, &err))) {
		fail("%s", err);
		g_free(err);
		rfs_journal_free(journal);
		if (invals)
			rfs_invals_free(ctx, invals);
		return 1;
	}
	ctx->notifier = rfs_notifier_start(ctx);
	GThread *after = NULL;
	if (invals) {
		/* An fsync or msync returns only once the pages are dropped
		 * whose invalidations the dead worker may have owed. */
		rfs_notify_hold(ctx);
		struct after_restart *a = g_new(struct after_restart, 1);
		*a = (struct after_restart){ctx, fopts->mountpoint, invals};
		after =
		    g_thread_new("remapfs-restart", after_restart_thread, a);
	}
	ctx->pusher = rfs_pusher_start(ctx, fopts->mountpoint);
	ctx->ctl = rfs_control_start(ctx, journal); /* takes journal */
	struct rfs_stopper *stopper = rfs_stopper_start(ctx, fopts->mountpoint);
	if (!stopper)
		g_warning("no signal thread (%s): SIGTERM will not write back "
			  "dirty pages",
			  g_strerror(errno));

	if (fopts->singlethread) {
		ret = fuse_session_loop(ctx->se);
	} else {
		struct fuse_loop_config *cfg = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(cfg, fopts->clone_fd);
		/* UINT_MAX: not given (libfuse's defaults stand) */
		if (fopts->max_threads && fopts->max_threads != UINT_MAX)
			fuse_loop_cfg_set_max_threads(cfg, fopts->max_threads);
		if (fopts->max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(cfg,
						       fopts->max_idle_threads);
		ret = fuse_session_loop_mt(ctx->se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	/* The kernel ends the connection with ECONNABORTED instead of
	 * ENODEV when it tears it down while a request is being read (a
	 * release sent as the last descriptor of a detached mount closed);
	 * libfuse 3.14 reports it, but it is the same end. */
	if (ret == -ECONNABORTED)
		ret = 0;
	ret = ret != 0;
	if (after)
		g_thread_join(after);
	rfs_stopper_stop(stopper);
	rfs_control_stop(ctx->ctl);
	rfs_pusher_stop(ctx->pusher); /* after the jobs it replies to */
	rfs_watch_stop(ctx->watch);
	rfs_notifier_stop(ctx->notifier);
	return ret;
}

/* Loads -o state in a child process and throws the result away: whether
 * the state can be loaded, checked before mounting when the workers of
 * -o restart load it (each one again, as the one before may have changed
 * it).  Returns 0, or 1 after the child said why. */
static int check_state(struct rfs_ctx *ctx, int source_fd)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return fail("cannot check -o state: %s", g_strerror(errno));
	if (pid == 0) {
		struct rfs_journal *j;
		ctx_init(ctx, dup(source_fd), ctx->opts.pagesize, 0);
		j = load_state(ctx);
		fflush(NULL);
		_exit(j ? 0 : 1);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* Where a mount of -o restart without -o state keeps its state for the
 * next worker: a private directory in /dev/shm (else the temporary
 * directory), which the supervisor removes at the end.  Returns the
 * directory (g_free it) with ctx->opts.state_file set in it, or NULL. */
static char *private_state(struct rfs_ctx *ctx)
{
	const char *base =
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : g_get_tmp_dir();
	char *dir = g_build_filename(base, "remapfs-state-XXXXXX", NULL);
	if (!g_mkdtemp_full(dir, 0700)) {
		fail("-o restart: cannot make a directory for the state in "
		     "%s: %s",
		     base, g_strerror(errno));
		g_free(dir);
		return NULL;
	}
	ctx->opts.state_file = g_build_filename(dir, "state", NULL);
	return dir;
}

/* Removes private_state's directory and what is in it. */
static void private_state_remove(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL);
		unlink(path);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
	rmdir(dir);
}

/* Once the state is loaded: gives the virtual views it made again the IDs
 * the kernel knows them by (nodes.h), appending their nodes to adopted
 * with a reference, and the orphans restore.c made too. */
static void claim_virtuals(struct rfs_ctx *ctx, GPtrArray *adopted)
{
	GHashTableIter it;
	gpointer key;
	g_rw_lock_reader_lock(&ctx->state_lock);
	g_hash_table_iter_init(&it, ctx->views);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct rfs_view *v = key;
		if (v->is_virtual && !v->removed && v->parent &&
		    rfs_nodes_claim_virtual(&ctx->nodes, v->node, v->parent->id,
					    v->name)) {
			rfs_node_ref(&ctx->nodes, v->node);
			g_ptr_array_add(adopted, v->node);
		}
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);
	guint orphans = ctx->orphans->len;
	g_ptr_array_extend_and_steal(adopted, ctx->orphans);
	ctx->orphans = NULL;
	guint lost = rfs_nodes_claims_done(&ctx->nodes);
	if (orphans || lost)
		g_message("restart: %u views removed while open made again; "
			  "%u views the kernel knows not in the state (they "
			  "answer ESTALE)",
			  orphans, lost);
}

/* The invalidations a worker that replaces one that died sends first:
 * every page of every adopted regular file (dirty ones are written back
 * through this worker first), as what the dead worker knew of what the
 * kernel caches (aliases' reads, invalidations it had queued) is gone;
 * remaps consider every page of them cached; NULL when nothing was
 * adopted (nothing for the kernel to write back either).  Drops adopted's
 * references and frees it. */
static GArray *adopted_invals(struct rfs_ctx *ctx, GPtrArray *adopted)
{
	if (!adopted->len) { /* a first worker, or nothing the kernel kept */
		g_ptr_array_unref(adopted);
		return NULL;
	}
	GArray *invals = rfs_invals_new();
	guint files = 0;
	for (guint i = 0; i < adopted->len; i++) {
		struct rfs_node *n = adopted->pdata[i];
		if (S_ISREG(n->type)) {
			rfs_pageset_add(rfs_node_pageset(n), 0, UINT64_MAX);
			rfs_invals_add(ctx, invals, n, 0, 0);
			files++;
		}
		rfs_node_unref(&ctx->nodes, n);
	}
	g_message("restart: %u nodes the kernel knows taken over, the cached "
		  "pages of %u files dropped",
		  adopted->len, files);
	g_ptr_array_unref(adopted);
	return invals;
}

/* A worker of -o restart (supervise.h): sets up the context, loads the
 * state, and serves the connection on a duplicate of the supervisor's
 * descriptor through a channel that replays the INIT after the
 * first worker (fuseio.h).  Returns the exit status. */
/* At the end of a supervisor that ran the program again (it has no
 * libfuse session): detaches the mount unless the connection is over (as
 * fuse_session_unmount does), and closes it. */
static void unmount_resumed(int fuse_fd, const char *mountpoint)
{
	struct pollfd pfd = {.fd = fuse_fd, .events = 0};
	if (poll(&pfd, 1, 0) == 0 || !(pfd.revents & POLLERR)) {
		int err = rfs_stop_detach(mountpoint);
		if (err)
			g_warning("cannot unmount %s: %s", mountpoint,
				  g_strerror(err));
	}
	close(fuse_fd);
}

static int run_worker(struct rfs_ctx *ctx, struct fuse_args *wargs,
		      struct rfs_super_page *page,
		      const struct fuse_cmdline_opts *fopts)
{
	struct rfs_journal *journal = NULL;
	int fuse_fd = page->fuse_fd, source_fd = page->source_fd;
	/* The descriptor the worker before read on is its own: closing it
	 * leaves the connection to the supervisor's. */
	if (page->worker_fuse_fd >= 0)
		close(page->worker_fuse_fd);
	page->worker_fuse_fd = fcntl(fuse_fd, F_DUPFD_CLOEXEC, 0);
	if (page->worker_fuse_fd < 0) {
		g_warning("restart: cannot duplicate /dev/fuse: %s",
			  g_strerror(errno));
		return RFS_WORKER_START_FAILED;
	}
	/* A duplicate of SOURCE's: the next worker needs the original. */
	int root_fd = fcntl(source_fd, F_DUPFD_CLOEXEC, 0);
	if (root_fd < 0)
		return RFS_WORKER_START_FAILED;
	if (page->workers > 1) {
		unsigned n = rfs_super_close_leftovers(page);
		if (n)
			g_message("restart: closed %u descriptors the worker "
				  "before this one left (pipes, sockets, "
				  "eventfds)",
				  n);
	}
	ctx->se = NULL;
	ctx_init(ctx, root_fd, ctx->opts.pagesize, page->workers);
	GPtrArray *adopted = g_ptr_array_new();
	int err = page->nodes_fd >= 0
		      ? rfs_nodes_adopt(&ctx->nodes, page->nodes_fd, adopted)
		      : 0;
	if (err)
		g_warning("restart: cannot keep the node records: %s",
			  g_strerror(err));
	if (page->workers > 1 && !err) {
		GHashTable *keep = g_hash_table_new(NULL, NULL);
		g_hash_table_add(keep, GINT_TO_POINTER(ctx->nodes.root->fd));
		for (guint i = 0; i < adopted->len; i++)
			g_hash_table_add(
			    keep,
			    GINT_TO_POINTER(
				((struct rfs_node *)adopted->pdata[i])->fd));
		unsigned n = rfs_super_close_paths(page, keep);
		g_hash_table_unref(keep);
		if (n)
			g_message("restart: closed %u path descriptors the "
				  "worker before this one left",
				  n);
	}
	ctx->worker = page->workers;
	ctx->privfds = page->private_fds;
	ctx->done_ring = &page->done;
	ctx->done_uniques = g_hash_table_new(NULL, NULL);
	for (uint32_t i = 0; i < RFS_DONE_RING && i < page->done.next; i++)
		g_hash_table_add(ctx->done_uniques,
				 (gpointer)(uintptr_t)page->done.unique[i]);
	ctx->restarting = page->workers > 1;
	ctx->orphans = g_ptr_array_new();
	bool loaded = !ctx->opts.state_file || (journal = load_state(ctx));
	ctx->restarting = false;
	if (!loaded) {
		g_ptr_array_extend_and_steal(adopted, ctx->orphans);
		ctx->orphans = NULL;
		for (guint i = 0; i < adopted->len; i++)
			rfs_node_unref(&ctx->nodes, adopted->pdata[i]);
		g_ptr_array_unref(adopted);
		ctx_destroy(ctx);
		return RFS_WORKER_START_FAILED;
	}
	claim_virtuals(ctx, adopted);
	GArray *invals = adopted_invals(ctx, adopted);
	ctx->fuseio = rfs_fuseio_new(&page->init, page->worker_fuse_fd);
	ctx->se = fuse_session_new(wargs, &rfs_fs_ops, sizeof(rfs_fs_ops), ctx);
	err = ctx->se ? rfs_fuseio_attach(ctx->fuseio, ctx->se) : EINVAL;
	if (err) {
		g_warning("restart: cannot set up the worker's session: %s",
			  g_strerror(err));
		rfs_journal_free(journal);
		if (invals)
			rfs_invals_free(ctx, invals);
		return RFS_WORKER_START_FAILED;
	}
	rfs_super_ready(page);
	int ret = serve(ctx, journal, invals, fopts);
	fuse_session_destroy(ctx->se); /* closes its descriptor */
	page->worker_fuse_fd = -1;
	rfs_fuseio_free(ctx->fuseio);
	ctx_destroy(ctx);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fopts = {0};
	struct rfs_ctx ctx = {0};
	struct rfs_journal *journal = NULL; /* -o state, until the control
					       thread takes it */
	struct fuse_args wargs = FUSE_ARGS_INIT(0, NULL); /* -o restart's */
	/* -o restart: the supervisor's page; one handed over when this is a
	 * supervisor that ran the installed program again (SIGUSR2) */
	struct rfs_super_page *page = NULL;
	bool resumed = getenv(RFS_SUPER_ENV) != NULL, stopped = false;
	char *state_dir = NULL; /* -o restart without -o state */
	bool have_ctx = false;
	int source_fd = -1;
	char *err = NULL;
	int ret = 1;
	size_t sys_ps = (size_t)sysconf(_SC_PAGESIZE);

	/* Before any thread: every thread inherits the blocked signals,
	 * which only the stop thread takes (stop.h). */
	if (rfs_stop_signals_block() != 0)
		return fail("cannot block the stop signals");
	if (rfs_options_parse(&args, &ctx.opts, &err) < 0) {
		fail("%s", err);
		g_free(err);
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &fopts) != 0)
		goto out_args; /* libfuse printed why */
	if (fopts.show_help) {
		rfs_options_usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_args;
	}
	if (fopts.show_version) {
		printf("remapfs version %s\n", PACKAGE_VERSION);
		fuse_lowlevel_version();
		ret = 0;
		goto out_args;
	}
	if (ctx.opts.restart && fopts.clone_fd) {
		/* A dead worker's cloned descriptors would stay open in the
		 * table it shared, one set per restart. */
		fail("-o restart and -o clone_fd do not go together");
		goto out_args;
	}
	if (!ctx.opts.source || !fopts.mountpoint) {
		fail("usage: remapfs [options] SOURCE MOUNTPOINT "
		     "(remapfs -h for help)");
		goto out_args;
	}
	int log_err = rfs_log_start(&ctx.log, fopts.mountpoint,
				    ctx.opts.log_level, ctx.opts.log_file);
	if (log_err) {
		fail("log=%s: %s", ctx.opts.log_file, g_strerror(log_err));
		goto out_args;
	}
	if (!ctx.opts.pagesize)
		ctx.opts.pagesize = sys_ps;
	const char *why = rfs_options_check_pagesize(ctx.opts.pagesize, sys_ps);
	if (why) {
		fail("pagesize=%" PRIu64 ": %s", ctx.opts.pagesize, why);
		goto out_args;
	}
	if (resumed && ctx.opts.restart) {
		/* Everything but the options is in the page, and the mount
		 * point is served by nothing until the next worker. */
		bool bad = false;
		page = rfs_super_resume(argv, &bad);
		if (bad)
			goto out_args;
		source_fd = page->source_fd;
		if (*page->state_dir) {
			state_dir = g_strdup(page->state_dir);
			ctx.opts.state_file =
			    g_build_filename(state_dir, "state", NULL);
		}
	} else {
		source_fd = open_source(ctx.opts.source);
		if (source_fd < 0)
			goto out_args;
	}
	int given_fd = mountpoint_fd(fopts.mountpoint);
	if (!page && given_fd < 0 && check_mountpoint(fopts.mountpoint)) {
		close(source_fd);
		goto out_args;
	}
	if (!has_fsname(&args)) {
		/* Show SOURCE in mount tables, as other file systems do. */
		char *real = realpath(ctx.opts.source, NULL);
		char *opt = NULL;
		fuse_opt_add_opt_escaped(&opt, real ? real : ctx.opts.source);
		char *arg = g_strconcat("-ofsname=", opt, NULL);
		fuse_opt_add_arg(&args, arg);
		g_free(arg);
		free(opt);
		free(real);
	}
	if (ctx.opts.allow_other && !ctx.opts.default_permissions) {
		/* Other users reach the mount: the kernel checks their
		 * permissions too, whoever the daemon runs as. */
		fuse_opt_add_arg(&args, "-odefault_permissions");
		ctx.opts.default_permissions = true;
	}
	/* Modes of what callers create are theirs: the kernel applied their
	 * umask already, and the daemon's own must not apply again. */
	umask(0);
	for (int i = 0; !page && i < 2; i++) {
		const char *own = i ? RFS_STATS_NAME : RFS_CONTROL_NAME;
		if (faccessat(source_fd, own, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			g_warning("SOURCE has an entry named %s; the daemon's "
				  "own file hides it in the mount",
				  own);
	}

	if (!ctx.opts.restart) {
		ctx_init(&ctx, source_fd, ctx.opts.pagesize, 1);
		have_ctx = true;
		if (ctx.opts.state_file && !(journal = load_state(&ctx)))
			goto out_ctx;
	} else {
		if (!page && ctx.opts.state_file &&
		    check_state(&ctx, source_fd))
			goto out_ctx;
		if (!page && !ctx.opts.state_file &&
		    !(state_dir = private_state(&ctx)))
			goto out_ctx;
		/* The workers' sessions parse the same options. */
		for (int i = 0; i < args.argc; i++)
			fuse_opt_add_arg(&wargs, args.argv[i]);
		if (page) { /* run again: mounted, daemonized */
			if (!fopts.foreground) {
				rfs_log_background(&ctx.log);
				if (chdir("/") < 0)
					g_warning("cannot go to /: %s",
						  g_strerror(errno));
			}
			goto supervise;
		}
	}

	ctx.se = fuse_session_new(&args, &rfs_fs_ops, sizeof(rfs_fs_ops), &ctx);
	if (!ctx.se)
		goto out_ctx; /* libfuse said why (e.g. an unknown option) */
	if (fuse_session_mount(ctx.se, fopts.mountpoint) != 0) {
		fail("could not mount on '%s'", fopts.mountpoint);
		goto out_session;
	}
	if (given_fd >= 0)
		g_message("serving the mount made on descriptor %d; its mount "
			  "point is not known here: resizes reach programs at "
			  "their next stat, and a stop signal saves the state "
			  "but leaves the unmount (which writes dirty pages "
			  "back) to umount(8)",
			  given_fd);
	int attr_err = apply_mount_attrs(&ctx.opts, fopts.mountpoint);
	if (attr_err) {
		fail("cannot apply -o strictatime, [no]diratime or "
		     "[no]symfollow to '%s': %s%s",
		     fopts.mountpoint, g_strerror(attr_err),
		     attr_err == EPERM ? " (only root may change them)" : "");
		goto out_unmount;
	}
	if (given_fd < 0) /* else the mount point is not known */
		rfs_bdi_tune(&ctx, fopts.mountpoint);
	if (!fopts.foreground && !ctx.opts.log_file &&
	    access("/dev/log", W_OK) != 0)
		g_warning("there is no syslog (/dev/log): the messages of the "
			  "daemon in the background are lost; -o log=FILE "
			  "keeps them");
	/* Before fuse_daemonize leaves the directory relative arguments
	 * name (the supervisor runs the program again from it). */
	if (ctx.opts.restart &&
	    !(page = rfs_super_page_new(fuse_session_fd(ctx.se), source_fd,
					state_dir)))
		goto out_unmount;
	if (fuse_daemonize(fopts.foreground) != 0)
		goto out_unmount;
	if (!fopts.foreground)
		rfs_log_background(&ctx.log);
	if (!ctx.opts.restart) {
		ret = serve(&ctx, journal, NULL, &fopts);
		journal = NULL; /* serve's */
		goto out_unmount;
	}
supervise:
	ret = rfs_supervise(page, argv, &stopped);
	if (ret == RFS_SUPERVISE_WORKER) {
		ret = run_worker(&ctx, &wargs, page, &fopts);
		/* The supervisor unmounts, removes the private state and
		 * closes the descriptors: this table is its too. */
		fflush(NULL);
		_exit(ret);
	}
	/* A worker that stopped on a signal detached the mount (stop.h):
	 * when it ended by itself the connection is over, which
	 * fuse_session_unmount sees; when a second signal forced it out, the
	 * connection may live on, and the path, which may name something
	 * else by now, must not be unmounted: only closed. */
	if (stopped && ret != 0)
		goto out_session;
	if (!ctx.se) { /* a supervisor run again: no session of its own */
		unmount_resumed(page->fuse_fd, fopts.mountpoint);
		goto out_ctx;
	}
	/* After a stop signal's detach the kernel ended the connection, and
	 * libfuse sees that and only closes it: the path, which may name
	 * something else by now, is not unmounted again. */
out_unmount:
	fuse_session_unmount(ctx.se);
out_session:
	if (ctx.se)
		fuse_session_destroy(ctx.se);
	else if (page)
		close(page->fuse_fd);
out_ctx:
	rfs_journal_free(journal);
	if (have_ctx)
		ctx_destroy(&ctx);
	else if (source_fd >= 0)
		close(source_fd);
	if (state_dir)
		private_state_remove(state_dir);
	g_free(state_dir);
out_args:
	fuse_opt_free_args(&wargs);
	rfs_log_stop(&ctx.log);
	free(fopts.mountpoint);
	rfs_options_free(&ctx.opts);
	fuse_opt_free_args(&args);
	return ret;
}
