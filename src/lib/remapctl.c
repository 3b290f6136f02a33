/* SPDX-License-Identifier: GPL-2.0-or-later */
/* remapctl.c - the command-line client of remapfs: changes and shows the
 * maps of views, saves and loads the state of a mount.  Exit status: 0 ok,
 * 1 the operation failed, 2 usage. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "remapfs.h"
#include "picture.h"
#include "statstext.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "Usage: remapctl [OPTION]... COMMAND [ARG]...\n"
    "Change and show the page maps of remapfs views.  VIEW, BACKING and\n"
    "PATH are paths in a remapfs mount; page numbers count pages of the\n"
    "mount's page size, in decimal or 0x hexadecimal.\n"
    "\n"
    "Commands:\n"
    "  remap VIEW VPAGE FPAGE [COUNT]   view pages VPAGE.. show backing pages\n"
    "                                   FPAGE.. (COUNT pages, default 1)\n"
    "  reset VIEW [VPAGE [COUNT]]       back to the identity: the whole view,\n"
    "                                   or COUNT pages (default 1) from VPAGE\n"
    "  create VIEW BACKING [PAGES]      a new virtual view VIEW over the file\n"
    "                                   BACKING of the same mount, PAGES long\n"
    "                                   (default: as long as BACKING)\n"
    "  resize VIEW PAGES                set the size of a virtual view\n"
    "  remove VIEW                      remove a virtual view\n"
    "  invalidate VIEW [VPAGE [COUNT]]  drop what the kernel caches of the\n"
    "                                   view, or of COUNT pages from VPAGE\n"
    "  show [--summary] VIEW...         print each view's map as a table of\n"
    "                                   runs, with the backing pages it shows\n"
    "                                   more than once (ALIASED); --summary:\n"
    "                                   only totals\n"
    "  show --svg FILE | --html FILE VIEW  draw the map into FILE\n"
    "  restart PATH                     replace the daemon's worker of a "
    "mount\n"
    "                                   (remapfs(1), RESTART)\n"
    "  stats [--json] PATH [VIEW]       the mount's statistics: the daemon's,\n"
    "                                   and per view (or VIEW's) reads,\n"
    "                                   writes, remaps and invalidations\n"
    "  save PATH [FILE]                 write the state of PATH's mount to\n"
    "                                   FILE (default or -: standard output)\n"
    "  load [--replace] PATH [FILE]     apply a saved state (default or -:\n"
    "                                   standard input) to PATH's mount, all\n"
    "                                   or nothing; --replace first removes\n"
    "                                   and resets what the state does not\n"
    "                                   recreate\n"
    "\n"
    "Options:\n"
    "  -h, --help      print this help and exit\n"
    "  -V, --version   print the version and exit\n"
    "\n"
    "Exit status: 0 success, 1 the operation failed (with the daemon's\n"
    "message), 2 bad usage.  See remapctl(1).\n";

/* Prints a usage error and returns EXIT_USAGE. */
static int usage(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage(const char *fmt, ...)
{
	va_list ap;
	fputs("remapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'remapctl --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* Prints the library's message about a failed operation on what; returns
 * EXIT_FAILED. */
static int failed(const char *what)
{
	int err = errno;
	const char *msg = remapfs_strerror_last();
	if (*msg)
		fprintf(stderr, "remapctl: %s: %s (%s)\n", what, msg,
			g_strerror(err));
	else
		fprintf(stderr, "remapctl: %s: %s\n", what, g_strerror(err));
	return EXIT_FAILED;
}

/* Prints a system error about what; returns EXIT_FAILED. */
static int sys_failed(const char *what)
{
	fprintf(stderr, "remapctl: %s: %s\n", what, g_strerror(errno));
	return EXIT_FAILED;
}

/* Parses a page number or count argument; false after a usage message. */
static bool number(const char *name, const char *s, uint64_t *v, int *rc)
{
	int err = rfsl_parse_u64(s, v);
	if (!err)
		return true;
	*rc = usage("%s '%s': %s", name, s,
		    err == ERANGE ? "too large"
				  : "not a number (decimal or 0x hex)");
	return false;
}

/* Opens path as a handle for the library (O_PATH: no open of the file
 * itself).  Returns the descriptor, or -1 after a message. */
static int open_path(const char *path)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		sys_failed(path);
	return fd;
}

/* The options of commands. */
struct cmd_opts {
	bool replace;	  /* load --replace */
	bool summary;	  /* show --summary */
	bool json;	  /* stats --json */
	const char *svg;  /* show --svg FILE */
	const char *html; /* show --html FILE */
};

/* Parses the command's options ("--" ends them): on return
 * args[0..*nargs) are the operands.  Returns -1, or an exit status after
 * a usage message. */
static int command_options(int argc, char **argv, struct cmd_opts *o,
			   char ***args, int *nargs)
{
	static const struct option longopts[] = {
	    {"replace", no_argument, NULL, 'r'},
	    {"summary", no_argument, NULL, 's'},
	    {"svg", required_argument, NULL, 'g'},
	    {"html", required_argument, NULL, 'H'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0}};
	bool load = strcmp(argv[0], "load") == 0,
	     show = strcmp(argv[0], "show") == 0,
	     stats = strcmp(argv[0], "stats") == 0;
	optind = 1;
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "+", longopts, NULL);
		if (c == -1)
			break;
		if (c == 'r' && load)
			o->replace = true;
		else if (c == 's' && show)
			o->summary = true;
		else if (c == 'g' && show)
			o->svg = optarg;
		else if (c == 'H' && show)
			o->html = optarg;
		else if (c == 'j' && stats)
			o->json = true;
		else if (c == ':' || ((c == 'g' || c == 'H') && !optarg))
			return usage("%s: option '%s' needs a file", argv[0],
				     argv[optind - 1]);
		else
			return usage("%s: unknown option '%s'", argv[0],
				     argv[optind - 1]);
	}
	*args = argv + optind;
	*nargs = argc - optind;
	return -1;
}

/* Checks the number of operands. */
static bool operands(const char *cmd, int n, int min, int max, int *rc)
{
	if (n >= min && n <= max)
		return true;
	*rc = usage("%s: %s operands", cmd, n < min ? "missing" : "too many");
	return false;
}

/* remap VIEW VPAGE FPAGE [COUNT] */
static int cmd_remap(int n, char **a)
{
	int rc = EXIT_OK;
	uint64_t vpage, fpage, count = 1;
	if (!operands("remap", n, 3, 4, &rc) ||
	    !number("VPAGE", a[1], &vpage, &rc) ||
	    !number("FPAGE", a[2], &fpage, &rc) ||
	    (n > 3 && !number("COUNT", a[3], &count, &rc)))
		return rc;
	int fd = open_path(a[0]);
	if (fd < 0)
		return EXIT_FAILED;
	if (remapfs_remap(fd, vpage, fpage, count) < 0)
		rc = failed(a[0]);
	close(fd);
	return rc;
}

/* reset|invalidate VIEW [VPAGE [COUNT]] */
static int cmd_range(const char *cmd, int n, char **a)
{
	int rc = EXIT_OK;
	uint64_t vpage = 0, count = 0;
	if (!operands(cmd, n, 1, 3, &rc) ||
	    (n > 1 && !number("VPAGE", a[1], &vpage, &rc)) ||
	    (n > 2 && !number("COUNT", a[2], &count, &rc)))
		return rc;
	if (n == 2)
		count = 1; /* VPAGE alone: that page, as in the protocol */
	else if (n == 3 && count == 0)
		return usage("%s: COUNT must be at least 1", cmd);
	int fd = open_path(a[0]);
	if (fd < 0)
		return EXIT_FAILED;
	int r = strcmp(cmd, "reset") == 0
		    ? remapfs_reset(fd, vpage, count)
		    : remapfs_invalidate(fd, vpage, count);
	if (r < 0)
		rc = failed(a[0]);
	close(fd);
	return rc;
}

/* create VIEW BACKING [PAGES] */
static int cmd_create(int n, char **a)
{
	int rc = EXIT_OK;
	uint64_t pages = REMAPFS_BACKING_PAGES;
	if (!operands("create", n, 2, 3, &rc) ||
	    (n > 2 && !number("PAGES", a[2], &pages, &rc)))
		return rc;
	if (pages == REMAPFS_BACKING_PAGES && n > 2)
		return usage("create: PAGES '%s': too large", a[2]);
	int bfd = open_path(a[1]);
	if (bfd < 0)
		return EXIT_FAILED;
	if (remapfs_create(bfd, AT_FDCWD, a[0], pages) < 0)
		rc = failed(a[0]);
	close(bfd);
	return rc;
}

/* resize VIEW PAGES, remove VIEW */
static int cmd_resize_remove(const char *cmd, int n, char **a)
{
	int rc = EXIT_OK;
	bool resize = strcmp(cmd, "resize") == 0;
	uint64_t pages = 0;
	if (!operands(cmd, n, resize ? 2 : 1, resize ? 2 : 1, &rc) ||
	    (resize && !number("PAGES", a[1], &pages, &rc)))
		return rc;
	int fd = open_path(a[0]);
	if (fd < 0)
		return EXIT_FAILED;
	if ((resize ? remapfs_resize(fd, pages) : remapfs_remove(fd)) < 0)
		rc = failed(a[0]);
	close(fd);
	return rc;
}

/* Writes text to file; returns an exit status. */
static int write_file(const char *file, const GString *text)
{
	GError *error = NULL;
	if (g_file_set_contents(file, text->str, (gssize)text->len, &error))
		return EXIT_OK;
	fprintf(stderr, "remapctl: %s\n", error->message);
	g_error_free(error);
	return EXIT_FAILED;
}

/* Prints one view's header and table (or summary), and writes its
 * pictures; returns an exit status. */
static int show_one(const char *path, const struct cmd_opts *o)
{
	remapfs_view_info info;
	remapfs_run *runs = NULL;
	size_t nruns = 0;
	int fd = open_path(path);
	if (fd < 0)
		return EXIT_FAILED;
	if (remapfs_get_view_info(fd, &info) < 0 ||
	    remapfs_get_map(fd, REMAPFS_MAP_FULL, &runs, &nruns) < 0) {
		int rc = failed(path);
		close(fd);
		return rc;
	}
	close(fd);
	GString *out = g_string_new(NULL);
	g_string_append_printf(
	    out,
	    "# %s: %s view '%s' of the mount %s, %" PRIu64 " page%s of %" PRIu64
	    " bytes, backing file '%s'\n",
	    path, info.is_virtual ? "virtual" : "file", info.view,
	    info.mountpoint, info.pages, info.pages == 1 ? "" : "s",
	    info.pagesize, info.backing);
	GArray *a =
	    g_array_sized_new(FALSE, FALSE, sizeof(rfs_run), (guint)nruns);
	for (size_t i = 0; i < nruns; i++) {
		rfs_run r = {runs[i].vpage, runs[i].fpage, runs[i].count};
		g_array_append_val(a, r);
	}
	const rfs_run *full = (const rfs_run *)(void *)a->data;
	int rc = EXIT_OK;
	if (o->summary)
		rfsl_map_summary(out, full, a->len);
	else if (!o->svg && !o->html)
		rfsl_show_table(out, full, a->len);
	fwrite(out->str, 1, out->len, stdout);
	g_string_free(out, TRUE);
	char *title = g_strdup_printf("%s: view pages and the backing pages "
				      "of '%s' they show",
				      info.view, info.backing);
	for (int k = 0; k < 2; k++) {
		const char *file = k ? o->html : o->svg;
		if (!file || rc != EXIT_OK)
			continue;
		GString *pic = g_string_new(NULL);
		(k ? rfsl_map_html : rfsl_map_svg)(pic, full, a->len, title);
		rc = write_file(file, pic);
		g_string_free(pic, TRUE);
	}
	g_free(title);
	g_array_unref(a);
	free(runs);
	remapfs_view_info_free(&info);
	return rc;
}

/* show [--summary] [--svg FILE] [--html FILE] VIEW... */
static int cmd_show(int n, char **a, const struct cmd_opts *o)
{
	int rc = EXIT_OK;
	if (!operands("show", n, 1, o->svg || o->html ? 1 : INT32_MAX, &rc))
		return rc;
	for (int i = 0; i < n; i++) {
		if (i)
			putchar('\n');
		if (show_one(a[i], o) != EXIT_OK)
			rc = EXIT_FAILED;
	}
	return rc;
}

/* The pages of VIEW's backing file it shows more than once, or -1. */
static int64_t view_aliased_pages(const char *view)
{
	remapfs_run *runs = NULL;
	size_t nruns = 0;
	int fd = open_path(view);
	if (fd < 0)
		return -1;
	int err = remapfs_get_map(fd, REMAPFS_MAP_FULL, &runs, &nruns);
	close(fd);
	if (err < 0)
		return -1;
	GArray *a =
	    g_array_sized_new(FALSE, FALSE, sizeof(rfs_run), (guint)nruns);
	for (size_t i = 0; i < nruns; i++) {
		rfs_run r = {runs[i].vpage, runs[i].fpage, runs[i].count};
		g_array_append_val(a, r);
	}
	GArray *al = rfsl_aliased((const rfs_run *)(void *)a->data, a->len);
	int64_t pages = 0;
	for (guint i = 0; i < al->len; i++)
		pages += (int64_t)g_array_index(al, struct rfsl_range, i).count;
	g_array_unref(al);
	g_array_unref(a);
	free(runs);
	return pages;
}

/* stats [--json] PATH [VIEW] */
static int cmd_stats(int n, char **a, const struct cmd_opts *o)
{
	int rc = EXIT_OK;
	if (!operands("stats", n, 1, 2, &rc))
		return rc;
	struct stat st;
	if (n > 1 && stat(a[1], &st) < 0)
		return sys_failed(a[1]);
	int fd = open_path(a[0]);
	if (fd < 0)
		return EXIT_FAILED;
	char *text = NULL;
	size_t len = 0;
	if (remapfs_get_stats(fd, &text, &len) < 0) {
		rc = failed(a[0]);
	} else {
		GString *out = g_string_new(NULL);
		int64_t aliased = n > 1 ? view_aliased_pages(a[1]) : -1;
		if (rfsl_stats_format(out, text, len, o->json, n > 1,
				      n > 1 ? (uint64_t)st.st_ino : 0,
				      aliased)) {
			fprintf(stderr,
				"remapctl: %s: the daemon's statistics "
				"are not in a form this remapctl reads\n",
				a[0]);
			rc = EXIT_FAILED;
		} else {
			fwrite(out->str, 1, out->len, stdout);
		}
		g_string_free(out, TRUE);
	}
	free(text);
	close(fd);
	return rc;
}

/* The value of "key VALUE" in the statistics text, or -1. */
static long long stats_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *l = text; *l;) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
			return strtoll(l + klen + 1, NULL, 10);
		const char *nl = strchr(l, '\n');
		if (!nl)
			break;
		l = nl + 1;
	}
	return -1;
}

/* The supervisor's pid and the worker's number of the mount of fd (its
 * statistics), or -1 in *sup when it runs without -o restart. */
static int restart_info(int fd, long long *sup, long long *worker)
{
	char *text = NULL;
	size_t len = 0;
	if (remapfs_get_stats(fd, &text, &len) < 0)
		return -1;
	char *z = g_strndup(text, len);
	*sup = stats_value(z, "supervisor_pid");
	*worker = stats_value(z, "worker");
	g_free(z);
	free(text);
	return 0;
}

/* restart PATH */
static int cmd_restart(int n, char **a)
{
	int rc = EXIT_OK;
	if (!operands("restart", n, 1, 1, &rc))
		return rc;
	int fd = open_path(a[0]);
	if (fd < 0)
		return EXIT_FAILED;
	long long sup, worker, now = -1;
	if (restart_info(fd, &sup, &worker) < 0) {
		rc = failed(a[0]);
	} else if (sup <= 0) {
		fprintf(stderr,
			"remapctl: %s: the mount runs with -o norestart: "
			"nothing to replace its daemon\n",
			a[0]);
		rc = EXIT_FAILED;
	} else if (kill((pid_t)sup, SIGUSR2) < 0) {
		rc = sys_failed(a[0]);
	} else {
		/* Done once the statistics come from the next worker. */
		for (int i = 0; i < 1000; i++) {
			long long s2;
			if (restart_info(fd, &s2, &now) == 0 && now > worker)
				break;
			now = -1;
			usleep(10000);
		}
		if (now > worker) {
			printf("%s: worker %lld replaced by worker %lld\n",
			       a[0], worker, now);
		} else {
			fprintf(stderr,
				"remapctl: %s: the supervisor (pid %lld) did "
				"not start a new worker within 10 s\n",
				a[0], sup);
			rc = EXIT_FAILED;
		}
	}
	close(fd);
	return rc;
}

/* save PATH [FILE] */
static int cmd_save(int n, char **a)
{
	int rc = EXIT_OK;
	char *text = NULL;
	size_t len = 0;
	if (!operands("save", n, 1, 2, &rc))
		return rc;
	int fd = open_path(a[0]);
	if (fd < 0)
		return EXIT_FAILED;
	if (remapfs_get_state(fd, &text, &len) < 0) {
		rc = failed(a[0]);
	} else if (n < 2 || strcmp(a[1], "-") == 0) {
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout))
			rc = sys_failed("standard output");
	} else {
		GError *error = NULL;
		/* Atomically: a new file renamed over the old. */
		if (!g_file_set_contents(a[1], text, (gssize)len, &error)) {
			fprintf(stderr, "remapctl: %s\n", error->message);
			g_error_free(error);
			rc = EXIT_FAILED;
		}
	}
	free(text);
	close(fd);
	return rc;
}

/* Shows how much of a state went to the daemon, on one terminal line
 * (remapctl load with standard error on a terminal). */
static void show_progress(size_t done, size_t total, void *data)
{
	gint64 *last = data, now = g_get_monotonic_time();
	if (done < total && now - *last < 100000)
		return; /* ten times a second at most */
	*last = now;
	if (done < total)
		fprintf(stderr, "\rremapctl: load: %.1f of %.1f MB sent (%u%%)",
			(double)done / 1e6, (double)total / 1e6,
			(unsigned)(done * 100 / (total ? total : 1)));
	else
		fprintf(stderr, "\rremapctl: load: %.1f MB applied%20s\n",
			(double)total / 1e6, "");
}

/* load [--replace] PATH [FILE] */
static int cmd_load(int n, char **a, bool replace)
{
	int rc = EXIT_OK;
	char *text = NULL;
	gsize len = 0;
	GError *error = NULL;
	if (!operands("load", n, 1, 2, &rc))
		return rc;
	const char *file = n < 2 || strcmp(a[1], "-") == 0 ? NULL : a[1];
	if (file) {
		if (!g_file_get_contents(file, &text, &len, &error)) {
			fprintf(stderr, "remapctl: %s\n", error->message);
			g_error_free(error);
			return EXIT_FAILED;
		}
	} else {
		GString *s = g_string_new(NULL);
		char buf[65536];
		size_t r;
		while ((r = fread(buf, 1, sizeof(buf), stdin)) > 0)
			g_string_append_len(s, buf, (gssize)r);
		if (ferror(stdin)) {
			g_string_free(s, TRUE);
			return sys_failed("standard input");
		}
		len = s->len;
		text = g_string_free(s, FALSE);
	}
	int fd = open_path(a[0]);
	if (fd < 0) {
		g_free(text);
		return EXIT_FAILED;
	}
	/* Progress only for a person watching, and only for what takes a
	 * while to send (more than one write). */
	gint64 last = 0;
	bool show = isatty(STDERR_FILENO) && len > ((size_t)1 << 20);
	if (remapfs_load_state_progress(
		fd, text, len, replace ? REMAPFS_LOAD_REPLACE : 0,
		show ? show_progress : NULL, &last) < 0) {
		if (last) /* a progress line is open */
			fputc('\n', stderr);
		rc = failed(file ? file : "standard input");
	}
	close(fd);
	g_free(text);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, "+hV", longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) ? EXIT_FAILED : EXIT_OK;
		case 'V':
			printf("remapctl (remapfs) %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			return usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage("no command given");
	const char *cmd = argv[optind];
	char **args = NULL;
	int nargs = 0;
	struct cmd_opts o = {0};
	int rc =
	    command_options(argc - optind, argv + optind, &o, &args, &nargs);
	if (rc >= 0)
		return rc;
	if (strcmp(cmd, "remap") == 0)
		return cmd_remap(nargs, args);
	if (strcmp(cmd, "reset") == 0 || strcmp(cmd, "invalidate") == 0)
		return cmd_range(cmd, nargs, args);
	if (strcmp(cmd, "create") == 0)
		return cmd_create(nargs, args);
	if (strcmp(cmd, "resize") == 0 || strcmp(cmd, "remove") == 0)
		return cmd_resize_remove(cmd, nargs, args);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(nargs, args, &o);
	if (strcmp(cmd, "save") == 0)
		return cmd_save(nargs, args);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(nargs, args, &o);
	if (strcmp(cmd, "load") == 0)
		return cmd_load(nargs, args, o.replace);
	if (strcmp(cmd, "restart") == 0)
		return cmd_restart(nargs, args);
	return usage("unknown command '%s'", cmd);
}
