/* SPDX-License-Identifier: GPL-2.0-or-later */
/* options.c - remapfs's command-line options (see options.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <fuse_opt.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	KEY_PAGESIZE,
	KEY_ATTR_TIMEOUT,
	KEY_ENTRY_TIMEOUT,
	KEY_RO,
	KEY_WATCH,
	KEY_STATE,
	KEY_READAHEAD,
	KEY_DIRTY_RATIO,
	KEY_MAX_TRANSACTION,
	KEY_RW,
	KEY_IGNORED,
	KEY_ALLOW_OTHER,
	KEY_DEFAULT_PERMISSIONS,
	KEY_LOG,
	KEY_LOGLEVEL,
	KEY_STRICTATIME,
	KEY_RELATIME, /* relatime, nostrictatime: the kernel's default */
	KEY_NODIRATIME,
	KEY_DIRATIME,
	KEY_NOSYMFOLLOW,
	KEY_SYMFOLLOW,
	KEY_BACKING_CACHE,
	KEY_RESTART,
	KEY_NORESTART,
};

/* The options remapfs takes for itself; everything else goes to libfuse. */
static const struct fuse_opt rfs_opt_table[] = {
    FUSE_OPT_KEY("pagesize=%s", KEY_PAGESIZE),
    FUSE_OPT_KEY("attr_timeout=%s", KEY_ATTR_TIMEOUT),
    FUSE_OPT_KEY("entry_timeout=%s", KEY_ENTRY_TIMEOUT),
    FUSE_OPT_KEY("ro", KEY_RO),
    FUSE_OPT_KEY("watch", KEY_WATCH),
    FUSE_OPT_KEY("state=%s", KEY_STATE),
    FUSE_OPT_KEY("readahead_kb=%s", KEY_READAHEAD),
    FUSE_OPT_KEY("dirty_ratio=%s", KEY_DIRTY_RATIO),
    FUSE_OPT_KEY("max_transaction=%s", KEY_MAX_TRANSACTION),
    FUSE_OPT_KEY("rw", KEY_RW),
    FUSE_OPT_KEY("defaults", KEY_IGNORED),
    FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
    FUSE_OPT_KEY("default_permissions", KEY_DEFAULT_PERMISSIONS),
    FUSE_OPT_KEY("log=%s", KEY_LOG),
    FUSE_OPT_KEY("loglevel=%s", KEY_LOGLEVEL),
    FUSE_OPT_KEY("backing_cache=%s", KEY_BACKING_CACHE),
    FUSE_OPT_KEY("restart", KEY_RESTART),
    FUSE_OPT_KEY("norestart", KEY_NORESTART),
    /* What mount(8) hands a helper from fstab that libfuse 3.14 does not
     * take: per-mount atime and symlink settings, applied once mounted... */
    FUSE_OPT_KEY("strictatime", KEY_STRICTATIME),
    FUSE_OPT_KEY("relatime", KEY_RELATIME),
    FUSE_OPT_KEY("nostrictatime", KEY_RELATIME),
    FUSE_OPT_KEY("norelatime", KEY_IGNORED), /* relatime stays the default */
    FUSE_OPT_KEY("nodiratime", KEY_NODIRATIME),
    FUSE_OPT_KEY("diratime", KEY_DIRATIME),
    FUSE_OPT_KEY("nosymfollow", KEY_NOSYMFOLLOW),
    FUSE_OPT_KEY("symfollow", KEY_SYMFOLLOW),
    /* ... superblock flags with no effect on a FUSE mount (the daemon
     * keeps SOURCE's times; mandatory locks are gone from Linux) ... */
    FUSE_OPT_KEY("lazytime", KEY_IGNORED),
    FUSE_OPT_KEY("nolazytime", KEY_IGNORED),
    FUSE_OPT_KEY("iversion", KEY_IGNORED),
    FUSE_OPT_KEY("noiversion", KEY_IGNORED),
    FUSE_OPT_KEY("mand", KEY_IGNORED),
    FUSE_OPT_KEY("nomand", KEY_IGNORED),
    FUSE_OPT_KEY("silent", KEY_IGNORED),
    FUSE_OPT_KEY("loud", KEY_IGNORED),
    /* ... and what is for mount(8) and systemd alone (x-* and comment=
     * are matched by prefix in opt_proc). */
    FUSE_OPT_KEY("auto", KEY_IGNORED),
    FUSE_OPT_KEY("noauto", KEY_IGNORED),
    FUSE_OPT_KEY("user", KEY_IGNORED),
    FUSE_OPT_KEY("nouser", KEY_IGNORED),
    FUSE_OPT_KEY("users", KEY_IGNORED),
    FUSE_OPT_KEY("owner", KEY_IGNORED),
    FUSE_OPT_KEY("group", KEY_IGNORED),
    FUSE_OPT_KEY("nofail", KEY_IGNORED),
    FUSE_OPT_KEY("_netdev", KEY_IGNORED),
    FUSE_OPT_KEY("comment=", KEY_IGNORED),
    FUSE_OPT_END,
};

struct parse_state {
	struct rfs_options *opts;
	char *err;
	int nonopts;
};

/* Parses a size with an optional k/K, m/M or g/G suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!g_ascii_isdigit(*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* Parses a non-negative number of seconds. */
static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = g_ascii_strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

/* fuse_opt callback: takes remapfs's options and SOURCE. */
static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct parse_state *ps = data;
	const char *val = strchr(arg, '=');
	val = val ? val + 1 : "";
	if (ps->err)
		return 0;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (ps->nonopts++ == 0) {
			ps->opts->source = g_strdup(arg);
			return 0;
		}
		if (ps->nonopts == 2) {
			ps->opts->mountpoint = g_strdup(arg);
			return 1;
		}
		ps->err = g_strdup_printf("too many arguments: '%s'", arg);
		return 0;
	case KEY_PAGESIZE:
		if (parse_size(val, &ps->opts->pagesize) < 0)
			ps->err = g_strdup_printf(
			    "pagesize: '%s' is not a size in bytes", val);
		return 0;
	case KEY_ATTR_TIMEOUT:
	case KEY_ENTRY_TIMEOUT:
		if (parse_seconds(val, key == KEY_ATTR_TIMEOUT
					   ? &ps->opts->attr_timeout
					   : &ps->opts->entry_timeout) < 0)
			ps->err = g_strdup_printf(
			    "%.*s: '%s' is not a number of seconds",
			    (int)(strchr(arg, '=') - arg), arg, val);
		return 0;
	case KEY_RO: /* and the kernel mounts read-only: libfuse's too */
		ps->opts->read_only = true;
		return 1;
	case KEY_READAHEAD:
	case KEY_DIRTY_RATIO: {
		uint64_t v;
		uint64_t max = key == KEY_READAHEAD ? (1u << 20) : 100;
		if (parse_size(val, &v) < 0 || v > max)
			ps->err = g_strdup_printf(
			    "%s: '%s' is not a number from 0 to %" PRIu64,
			    key == KEY_READAHEAD ? "readahead_kb"
						 : "dirty_ratio",
			    val, max);
		else if (key == KEY_READAHEAD)
			ps->opts->readahead_kb = (unsigned)v;
		else
			ps->opts->dirty_ratio = (unsigned)v;
		return 0;
	}
	case KEY_MAX_TRANSACTION:
		if (parse_size(val, &ps->opts->max_transaction) < 0 ||
		    ps->opts->max_transaction < (1u << 20) ||
		    ps->opts->max_transaction > (UINT64_C(1) << 32))
			ps->err = g_strdup_printf(
			    "max_transaction: '%s' is not a size from 1M to 4G",
			    val);
		return 0;
	case KEY_STATE:
		if (!*val) {
			ps->err = g_strdup("state: a file name is needed");
			return 0;
		}
		g_free(ps->opts->state_file);
		ps->opts->state_file = g_strdup(val);
		return 0;
	case KEY_WATCH:
		ps->opts->watch = true;
		return 0;
	case KEY_RESTART:
	case KEY_NORESTART:
		ps->opts->restart = key == KEY_RESTART;
		return 0;
	case KEY_LOG:
		if (!*val) {
			ps->err = g_strdup("log: a file name is needed");
			return 0;
		}
		g_free(ps->opts->log_file);
		ps->opts->log_file = g_strdup(val);
		return 0;
	case KEY_LOGLEVEL:
		if (!rfs_loglevel_parse(val, &ps->opts->log_level))
			ps->err = g_strdup_printf(
			    "loglevel: '%s' is not error, warning, info or "
			    "debug",
			    val);
		return 0;
	case KEY_BACKING_CACHE:
		if (strcmp(val, "drop") == 0)
			ps->opts->backing_cache = RFS_BACKING_CACHE_DROP;
		else if (strcmp(val, "keep") == 0)
			ps->opts->backing_cache = RFS_BACKING_CACHE_KEEP;
		else
			ps->err = g_strdup_printf(
			    "backing_cache: '%s' is not drop or keep", val);
		return 0;
	case KEY_RW:
		ps->opts->read_only = false;
		return 1;
	case KEY_IGNORED:
		return 0;
	case KEY_STRICTATIME:
	case KEY_RELATIME:
		ps->opts->strictatime = key == KEY_STRICTATIME;
		return 0;
	case KEY_NODIRATIME:
	case KEY_DIRATIME:
		ps->opts->nodiratime = key == KEY_NODIRATIME ? 1 : -1;
		return 0;
	case KEY_NOSYMFOLLOW:
	case KEY_SYMFOLLOW:
		ps->opts->nosymfollow = key == KEY_NOSYMFOLLOW ? 1 : -1;
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* x-systemd.automount, x-gvfs-show, ...: mount(8)'s and
		 * systemd's, never a file system's */
		return strncmp(arg, "x-", 2) == 0 ? 0 : 1;
	case KEY_ALLOW_OTHER: /* noted, and kept for libfuse */
		ps->opts->allow_other = true;
		return 1;
	case KEY_DEFAULT_PERMISSIONS:
		ps->opts->default_permissions = true;
		return 1;
	}
	return 1; /* libfuse's: keep it for fuse_parse_cmdline/session_new */
}

int rfs_options_parse(struct fuse_args *args, struct rfs_options *opts,
		      char **err)
{
	struct parse_state ps = {.opts = opts};
	opts->attr_timeout = 1.0;
	opts->readahead_kb = 1024;
	opts->dirty_ratio = 20;
	opts->max_transaction = RFS_DEFAULT_MAX_TRANSACTION;
	opts->entry_timeout = 1.0;
	opts->log_level = RFS_LOG_INFO;
	opts->restart = true;
	if (fuse_opt_parse(args, &ps, rfs_opt_table, opt_proc) < 0) {
		g_free(ps.err);
		*err = g_strdup("invalid command line");
		return -1;
	}
	if (ps.err) {
		*err = ps.err;
		return -1;
	}
	return 0;
}

const char *rfs_options_check_pagesize(uint64_t pagesize, size_t sys_pagesize)
{
	if (pagesize == 0 || (pagesize & (pagesize - 1)))
		return "must be a power of two";
	if (pagesize % sys_pagesize)
		return "must be a multiple of the system page size";
	if (pagesize > (UINT64_C(1) << 30))
		return "must be at most 1 GiB";
	return NULL;
}

void rfs_options_usage(const char *progname)
{
	printf(
	    "usage: %s [options] SOURCE MOUNTPOINT\n"
	    "\n"
	    "Mirrors SOURCE at MOUNTPOINT; every file is a view whose pages "
	    "can be\n"
	    "remapped by writing commands to MOUNTPOINT/.control (see "
	    "remapfs(1)\n"
	    "and remapfs-control(5)).\n"
	    "\n"
	    "remapfs options:\n"
	    "    -o pagesize=N          view page size: a power of two, a "
	    "multiple\n"
	    "                           of the system page size, at most 1G\n"
	    "                           (suffixes k, M, G; default: system "
	    "page size)\n"
	    "    -o attr_timeout=S      seconds the kernel caches attributes "
	    "(1)\n"
	    "    -o entry_timeout=S     seconds the kernel caches names (1)\n"
	    "    -o ro                  a read-only mount (.control too)\n"
	    "    -o strictatime, relatime, [no]diratime, [no]symfollow\n"
	    "                           set on the mount once made (root "
	    "only)\n"
	    "    -o readahead_kb=N      the mount's readahead (1024; 0: the "
	    "kernel's)\n"
	    "    -o dirty_ratio=N       percent of the dirty page limit the "
	    "mount may\n"
	    "                           use, without strict_limit (20; 0: the "
	    "kernel's)\n"
	    "    -o max_transaction=SIZE  the largest explicit transaction "
	    "(begin ...\n"
	    "                           commit) on .control (64M; 1M to 4G)\n"
	    "    -o state=FILE          keep the state (maps, virtual views) "
	    "in "
	    "FILE:\n"
	    "                           loaded at mount, saved after changes\n"
	    "    -o watch               notice programs that change SOURCE "
	    "directly\n"
	    "                           and invalidate the views of what "
	    "they change\n"
	    "    -o backing_cache=drop|keep  after a read through a view, "
	    "drop the\n"
	    "                           backing file's copy of its pages "
	    "(drop,\n"
	    "                           the default: one copy in memory) or "
	    "keep it\n"
	    "    -o restart             a supervisor keeps the mount and "
	    "starts the\n"
	    "                           worker again when it dies (the "
	    "default;\n"
	    "                           see RESTART)\n"
	    "    -o norestart           one process\n"
	    "    -o log=FILE            messages go to FILE (not stderr or "
	    "syslog)\n"
	    "    -o loglevel=LEVEL      error, warning, info (default) or "
	    "debug\n"
	    "    -o rw, -o defaults     a writable mount (the default)\n"
	    "    -o default_permissions the kernel checks modes too (implied "
	    "by\n"
	    "                           allow_other)\n"
	    "    -o fsname=NAME, -o subtype=NAME  the mount table's source "
	    "and type\n"
	    "    and the options of mount(8): noatime, noexec, nodiratime, "
	    "...\n"
	    "\n",
	    progname);
}

void rfs_options_free(struct rfs_options *opts)
{
	g_free(opts->source);
	g_free(opts->mountpoint);
	g_free(opts->state_file);
	g_free(opts->log_file);
	opts->source = opts->mountpoint = opts->state_file = NULL;
	opts->log_file = NULL;
}
