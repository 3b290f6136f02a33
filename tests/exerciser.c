/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exerciser.c - the command line of the exerciser: options, the mount (its
 * own, or one given), the processes, the summary.  The operations and the
 * model are in exerciser-ops.c.
 *
 * The checks run in child processes; the parent only mounts, waits and
 * unmounts, so that every way a run ends (a mismatch, a crash, a signal, a
 * hang caught by --timeout) leaves no mount and no daemon behind. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "exerciser.h"
#include "mount-helper.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define U(x) ((unsigned long long)(x))

/* Default weights of the operations (--ops all). */
static const unsigned default_weights[EX_NOPS] = {
    [EX_READ] = 20,	 [EX_WRITE] = 15,   [EX_MREAD] = 15, [EX_MWRITE] = 10,
    [EX_MIXED] = 5,	 [EX_TRUNCATE] = 3, [EX_RESIZE] = 2, [EX_REMAP] = 8,
    [EX_ALIAS] = 6,	 [EX_RESET] = 4,    [EX_CREATE] = 2, [EX_REMOVE] = 2,
    [EX_INVALIDATE] = 3, [EX_OUTSIDE] = 3,
};

/* Prints the usage. */
static void usage(FILE *out)
{
	fprintf(out,
		"usage: exerciser [options]\n"
		"A seeded random model checker for remapfs: reads, writes, "
		"mmap loads and\nstores, truncation, remaps, aliases, virtual "
		"views, invalidations and\noutside writes, every byte read "
		"checked against an in-memory model.\n\n"
		"  --seed N           random seed (default 1)\n"
		"  --ops-count N      number of operations (default 100000, "
		"or unbounded\n"
		"                     with --seconds)\n"
		"  --seconds S        stop after S seconds\n"
		"  --size BYTES       largest backing file (default 256k; "
		"k, M suffixes)\n"
		"  --pagesize N       the mount's page size (default: the "
		"system's, or\n"
		"                     the given mount's)\n"
		"  --ops LIST         operations and weights, e.g. "
		"read,write=5,mread or\n"
		"                     all,-outside (default all); kinds:");
	for (int k = 0; k < EX_NOPS; k++)
		fprintf(out, "%s%s", k % 7 ? " " : "\n                       ",
			ex_op_names[k]);
	fprintf(out,
		"\n"
		"  --procs N          N processes at once, each on its own "
		"slice of the\n"
		"                     backing file (no truncate then)\n"
		"  --watch            the daemon runs with -o watch: outside "
		"writes are not\n"
		"                     followed by invalidate; the views "
		"must catch up\n"
		"  --watch-wait MS    how long they may take (default 200)\n"
		"  --mount DIR        use this mount instead of mounting one\n"
		"  --source DIR       its SOURCE (required with --mount)\n"
		"  --daemon-arg ARG   one more argument for the daemon "
		"(repeatable)\n"
		"  --kill-daemon MS   the daemon runs with -o restart, and its "
		"worker is\n"
		"                     killed (SIGKILL) every MS/2 to 3MS/2 "
		"milliseconds\n"
		"  --check-every N    check every view every N operations "
		"(default 1000;\n"
		"                     0: only at the end)\n"
		"  --timeout S        kill everything after S seconds (default "
		"3 x --seconds\n"
		"                     + 120, none without --seconds)\n"
		"  --invalidate-aliases\n"
		"                     after every write and sync, also "
		"invalidate the view\n"
		"                     pages that show the written backing "
		"pages (and the\n"
		"                     mirrored view if its size changed): "
		"a failure that\n"
		"                     goes away with it is in the daemon's "
		"own invalidation\n"
		"  --stall S          fail when no operation ends for S "
		"seconds (a hang;\n"
		"                     default 60; 0: never)\n"
		"  --keep             after a failure, keep the directory of "
		"the mount\n"
		"                     (SOURCE, the daemon's log)\n"
		"  --verbose          log every operation\n"
		"Mounting needs $REMAPFS (the daemon) and fusermount3; mounts "
		"go under\n$RFS_TEST_BASE (or $TMPDIR).\n");
}

/* Parses a number with an optional k, M or G suffix (powers of 1024). */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return false;
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || (v << shift) >> shift != v)
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

/* The kind named name, or -1. */
static int op_by_name(const char *name)
{
	for (int k = 0; k < EX_NOPS; k++)
		if (strcmp(name, ex_op_names[k]) == 0)
			return k;
	return -1;
}

/* Parses --ops: names with optional =WEIGHT, "all", "-NAME" to drop one.
 * A list that starts with a plain name starts from nothing. */
static bool parse_ops(struct ex_config *cfg, const char *list)
{
	char **items = g_strsplit(list, ",", -1);
	bool ok = true;
	memset(cfg->weights, 0, sizeof(cfg->weights));
	if (items[0] && (items[0][0] == '-' || !*items[0]))
		memcpy(cfg->weights, default_weights, sizeof(cfg->weights));
	for (char **it = items; *it && ok; it++) {
		char *item = g_strstrip(*it);
		if (!*item)
			continue;
		bool drop = item[0] == '-';
		char *name = item + drop, *eq = strchr(name, '=');
		uint64_t w = 0;
		if (eq) {
			*eq = '\0';
			ok = !drop && parse_size(eq + 1, &w) && w <= 1000000;
		}
		if (!ok)
			break;
		if (strcmp(name, "all") == 0 && !drop) {
			memcpy(cfg->weights, default_weights,
			       sizeof(cfg->weights));
			continue;
		}
		int k = op_by_name(name);
		if (k < 0) {
			fprintf(stderr, "exerciser: unknown operation '%s'\n",
				name);
			ok = false;
			break;
		}
		cfg->weights[k] = drop ? 0
				  : eq ? (unsigned)w
				       : default_weights[k];
	}
	g_strfreev(items);
	return ok;
}

/* The page size of a mount, from the first line of its state dump. */
static uint64_t mount_pagesize(const char *mnt)
{
	char *path = g_build_filename(mnt, ".control", NULL);
	char *text = NULL;
	uint64_t ps = 0;
	if (g_file_get_contents(path, &text, NULL, NULL)) {
		const char *p = strstr(text, "pagesize ");
		if (p)
			ps = g_ascii_strtoull(p + 9, NULL, 10);
	}
	g_free(text);
	g_free(path);
	return ps;
}

/* Set by the parent's signal handlers: why it stops waiting. */
static volatile sig_atomic_t stop_signal;

/* SIGINT, SIGTERM, SIGALRM in the parent: stop and clean up. */
static void on_stop(int sig)
{
	stop_signal = sig;
}

/* Writes a file of size bytes from data; exits on failure. */
static void write_file(const char *path, const uint8_t *data, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd)) {
		fprintf(stderr, "exerciser: writing %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
}

/* Prints the last lines of the daemon's log. */
static void print_daemon_log(const char *log)
{
	char *text = NULL;
	if (!g_file_get_contents(log, &text, NULL, NULL) || !*text) {
		g_free(text);
		return;
	}
	char **lines = g_strsplit(text, "\n", -1);
	guint n = g_strv_length(lines), from = n > 41 ? n - 41 : 0;
	fprintf(stderr,
		"--- daemon log (%s), its last lines but the errors of "
		"commands that had to fail ---\n",
		log);
	for (guint i = from; i < n; i++)
		if (*lines[i] && !strstr(lines[i], "control: error: line"))
			fprintf(stderr, "%s\n", lines[i]);
	fprintf(stderr, "--- end of daemon log ---\n");
	g_strfreev(lines);
	g_free(text);
}

/* Whether path (in a directory outside the mount) is a mount point, from
 * /proc/self/mountinfo: unlike stat, this also sees a mount whose
 * connection is dead, and never hangs on one that is stuck. */
static bool in_mountinfo(const char *path)
{
	char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	char *real = realpath(dir, NULL);
	char *want = real ? g_build_filename(real, base, NULL) : NULL;
	char *text = NULL;
	bool found = false;
	if (want &&
	    g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL)) {
		char **lines = g_strsplit(text, "\n", -1);
		for (char **l = lines; *l && !found; l++) {
			char point[4096];
			found =
			    sscanf(*l, "%*s %*s %*s %*s %4095s", point) == 1 &&
			    strcmp(point, want) == 0;
		}
		g_strfreev(lines);
	}
	g_free(text);
	g_free(want);
	free(real);
	g_free(dir);
	g_free(base);
	return found;
}

/* Unmounts our own mount: rfs_test_stop, then a lazy unmount if a dead
 * connection is left mounted (rfs_test_stop does not see those). */
static void stop_mount(struct rfs_test_mount *m)
{
	rfs_test_stop(m);
	if (in_mountinfo(m->mnt)) {
		const char *prog = g_getenv("FUSERMOUNT");
		char *argv[] = {(char *)(prog && *prog ? prog : "fusermount3"),
				"-uz", m->mnt, NULL};
		g_spawn_sync(NULL, argv, NULL,
			     G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
			     NULL, NULL, NULL, NULL, NULL, NULL);
	}
	if (in_mountinfo(m->mnt))
		fprintf(stderr, "exerciser: %s is still mounted\n", m->mnt);
}

/* Removes a directory tree (the test base of our own mount). */
static void remove_tree(const char *dir)
{
	char *argv[] = {"rm", "-rf", (char *)dir, NULL};
	g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
		     NULL, NULL, NULL);
}

/* In a given mount: removes the views a run left (names starting with
 * prefix) and the backing file. */
static void cleanup_given_mount(const char *mnt, const char *prefix,
				const char *backing_src)
{
	char *ctl = g_build_filename(mnt, ".control", NULL);
	char *text = NULL;
	if (g_file_get_contents(ctl, &text, NULL, NULL)) {
		GString *t = g_string_new(NULL);
		char **lines = g_strsplit(text, "\n", -1);
		for (char **l = lines; *l; l++) {
			char name[256];
			if (sscanf(*l, "create %255s", name) == 1 &&
			    g_str_has_prefix(name, prefix))
				g_string_append_printf(t, "remove %s\n", name);
		}
		g_strfreev(lines);
		int fd = open(ctl, O_WRONLY);
		if (fd >= 0) {
			if (t->len && write(fd, t->str, t->len) < 0)
				fprintf(stderr,
					"exerciser: removing views: %s\n",
					strerror(errno));
			close(fd);
		}
		g_string_free(t, TRUE);
	}
	g_free(text);
	g_free(ctl);
	unlink(backing_src);
}

/* Prints what the processes did. */
static void summary(const struct ex_config *cfg, struct ex_result *res,
		    double secs, bool ok)
{
	uint64_t ops = 0, counts[EX_NOPS] = {0}, skipped = 0, bytes = 0;
	for (unsigned p = 0; p < cfg->procs; p++) {
		ops += res[p].ops;
		skipped += res[p].skipped;
		bytes += res[p].checked_bytes;
		for (int k = 0; k < EX_NOPS; k++)
			counts[k] += res[p].counts[k];
	}
	printf("exerciser: %s: seed %llu, %llu operations in %.1f s (%.0f/s), "
	       "%u process%s, pagesize %llu, size %llu%s\n",
	       ok ? "PASS" : "FAIL", U(cfg->seed), U(ops), secs,
	       secs > 0 ? (double)ops / secs : 0.0, cfg->procs,
	       cfg->procs > 1 ? "es" : "", U(cfg->pagesize), U(cfg->size),
	       cfg->watch ? ", -o watch" : "");
	printf("  ");
	for (int k = 0; k < EX_NOPS; k++)
		if (counts[k] || cfg->weights[k])
			printf("%s %llu, ", ex_op_names[k], U(counts[k]));
	printf("(%llu picks had nothing to do); %.1f MiB checked\n", U(skipped),
	       (double)bytes / (1 << 20));
	fflush(stdout);
}

/* Parses the command line into cfg; exits on errors. */
static void parse_args(int argc, char **argv, struct ex_config *cfg)
{
	enum {
		O_SEED = 256,
		O_COUNT,
		O_SECONDS,
		O_SIZE,
		O_PAGESIZE,
		O_OPS,
		O_PROCS,
		O_MOUNT,
		O_SOURCE,
		O_WATCH,
		O_WATCH_WAIT,
		O_VERBOSE,
		O_DAEMON_ARG,
		O_CHECK_EVERY,
		O_TIMEOUT,
		O_INVAL_ALIASES,
		O_STALL,
		O_KILL,
		O_KEEP,
		O_HELP,
	};
	static const struct option opts[] = {
	    {"seed", required_argument, NULL, O_SEED},
	    {"ops-count", required_argument, NULL, O_COUNT},
	    {"seconds", required_argument, NULL, O_SECONDS},
	    {"size", required_argument, NULL, O_SIZE},
	    {"pagesize", required_argument, NULL, O_PAGESIZE},
	    {"ops", required_argument, NULL, O_OPS},
	    {"procs", required_argument, NULL, O_PROCS},
	    {"mount", required_argument, NULL, O_MOUNT},
	    {"source", required_argument, NULL, O_SOURCE},
	    {"watch", no_argument, NULL, O_WATCH},
	    {"watch-wait", required_argument, NULL, O_WATCH_WAIT},
	    {"verbose", no_argument, NULL, O_VERBOSE},
	    {"daemon-arg", required_argument, NULL, O_DAEMON_ARG},
	    {"check-every", required_argument, NULL, O_CHECK_EVERY},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"invalidate-aliases", no_argument, NULL, O_INVAL_ALIASES},
	    {"stall", required_argument, NULL, O_STALL},
	    {"kill-daemon", required_argument, NULL, O_KILL},
	    {"keep", no_argument, NULL, O_KEEP},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;
	bool timeout_given = false;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		const char *arg = optarg;
		bool ok = true;
		switch (c) {
		case O_SEED:
			ok = parse_size(arg, &cfg->seed);
			break;
		case O_COUNT:
			ok = parse_size(arg, &cfg->ops_count);
			break;
		case O_SECONDS:
			cfg->seconds = g_ascii_strtod(arg, NULL);
			ok = cfg->seconds > 0;
			break;
		case O_SIZE:
			ok = parse_size(arg, &cfg->size);
			break;
		case O_PAGESIZE:
			ok = parse_size(arg, &cfg->pagesize);
			break;
		case O_OPS:
			ok = parse_ops(cfg, arg);
			cfg->cmdline_ops = g_strdup(arg);
			break;
		case O_PROCS:
			ok = parse_size(arg, &v) && v >= 1 && v <= 64;
			cfg->procs = (unsigned)v;
			break;
		case O_MOUNT:
			cfg->mount = arg;
			break;
		case O_SOURCE:
			cfg->source = arg;
			break;
		case O_WATCH:
			cfg->watch = true;
			break;
		case O_WATCH_WAIT:
			ok = parse_size(arg, &v) && v <= 600000;
			cfg->watch_ms = (unsigned)v;
			break;
		case 'v':
		case O_VERBOSE:
			cfg->verbose = true;
			break;
		case O_DAEMON_ARG:
			g_ptr_array_add(cfg->daemon_args, (char *)arg);
			break;
		case O_CHECK_EVERY:
			ok = parse_size(arg, &v) && v <= UINT32_MAX;
			cfg->check_every = (unsigned)v;
			break;
		case O_TIMEOUT:
			ok = parse_size(arg, &v) && v <= UINT32_MAX;
			cfg->timeout = (unsigned)v;
			timeout_given = true;
			break;
		case O_STALL:
			ok = parse_size(arg, &v) && v <= UINT32_MAX;
			cfg->stall = (unsigned)v;
			break;
		case O_KILL:
			ok = parse_size(arg, &v) && v >= 2 && v <= 3600000;
			cfg->kill_ms = (unsigned)v;
			break;
		case O_KEEP:
			cfg->keep = true;
			break;
		case O_INVAL_ALIASES:
			cfg->inval_aliases = true;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
		if (!ok) {
			fprintf(stderr, "exerciser: bad argument '%s'\n",
				arg ? arg : "");
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "exerciser: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (!cfg->ops_count && !cfg->seconds)
		cfg->ops_count = 100000;
	if (!timeout_given && cfg->seconds > 0)
		cfg->timeout = (unsigned)(3 * cfg->seconds) + 120;
	if (cfg->mount && !cfg->source) {
		fprintf(stderr, "exerciser: --mount needs --source\n");
		exit(2);
	}
}

/* Checks the geometry and settles the page size; exits on errors. */
static void check_geometry(struct ex_config *cfg)
{
	uint64_t sys = (uint64_t)sysconf(_SC_PAGESIZE);
	if (cfg->mount) {
		uint64_t ps = mount_pagesize(cfg->mount);
		if (!ps) {
			fprintf(stderr,
				"exerciser: cannot read the page size of "
				"%s/.control\n",
				cfg->mount);
			exit(2);
		}
		if (cfg->pagesize && cfg->pagesize != ps) {
			fprintf(stderr,
				"exerciser: %s has pagesize %llu, not %llu\n",
				cfg->mount, U(ps), U(cfg->pagesize));
			exit(2);
		}
		cfg->pagesize = ps;
	}
	if (!cfg->pagesize)
		cfg->pagesize = sys;
	if (cfg->pagesize & (cfg->pagesize - 1) || cfg->pagesize % sys) {
		fprintf(stderr,
			"exerciser: --pagesize must be a power of two and a "
			"multiple of %llu\n",
			U(sys));
		exit(2);
	}
	cfg->size -= cfg->size % cfg->pagesize;
	if (cfg->size / cfg->pagesize < 2 * cfg->procs ||
	    cfg->size > (UINT64_C(1) << 32)) {
		fprintf(stderr,
			"exerciser: --size must hold at least 2 pages per "
			"process (and at most 4 GiB)\n");
		exit(2);
	}
	if (cfg->procs > 1)
		cfg->weights[EX_TRUNCATE] = 0;
	unsigned total = 0;
	for (int k = 0; k < EX_NOPS; k++)
		total += cfg->weights[k];
	if (!total) {
		fprintf(stderr, "exerciser: no operations to run\n");
		exit(2);
	}
}

/* Runs one exercising process; never returns. */
static void __attribute__((noreturn))
child(const struct ex_config *cfg, unsigned proc, struct ex_result *res,
      const char *mnt, const char *src, const char *prefix, const char *backing,
      const uint8_t *initial, uint64_t initial_size)
{
	struct ex ex;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	memset(&ex, 0, sizeof(ex));
	ex.mnt = (char *)mnt;
	ex.src = (char *)src;
	ex.prefix = (char *)prefix;
	ex.backing = (char *)backing;
	ex.backing_src = g_build_filename(src, backing, NULL);
	ex.res = res;
	ex_init(&ex, cfg, proc, initial, initial_size);
	int rc = ex_run(&ex);
	fflush(stdout);
	fflush(stderr);
	_exit(rc);
}

/* Seconds on a monotonic clock. */
static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Aborts the FUSE connection of the mount at mnt (whose parent directory
 * is not in it), so that processes stuck in it get errors and can die:
 * through /sys/fs/fuse/connections, else umount -f.  Never touches the
 * mount point itself (that could hang too). */
static void abort_mount(const char *mnt)
{
	char *dir = g_path_get_dirname(mnt), *base = g_path_get_basename(mnt);
	char *real = realpath(dir, NULL);
	char *path = real ? g_build_filename(real, base, NULL) : NULL;
	char *text = NULL;
	bool done = false;
	if (path &&
	    g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL)) {
		char **lines = g_strsplit(text, "\n", -1);
		for (char **l = lines; *l && !done; l++) {
			char dev[64], point[4096];
			if (sscanf(*l, "%*s %*s %63s %*s %4095s", dev, point) !=
				2 ||
			    strcmp(point, path) != 0)
				continue;
			const char *minor = strchr(dev, ':');
			char *abort_file =
			    g_strdup_printf("/sys/fs/fuse/connections/%s/abort",
					    minor ? minor + 1 : dev);
			done = g_file_set_contents(abort_file, "1", 1, NULL);
			if (done)
				fprintf(stderr,
					"exerciser: aborted the "
					"connection (%s)\n",
					abort_file);
			g_free(abort_file);
		}
		g_strfreev(lines);
	}
	if (!done && path && umount2(path, MNT_FORCE) == 0)
		done = true;
	if (!done && path && errno == EBUSY)
		done = true; /* MNT_FORCE aborted it, then found it busy */
	if (done)
		fprintf(stderr,
			"exerciser: aborted the FUSE connection of %s\n", mnt);
	else
		fprintf(stderr,
			"exerciser: cannot abort the FUSE connection of %s "
			"(not root?); processes may stay stuck\n",
			mnt);
	g_free(text);
	g_free(path);
	free(real);
	g_free(dir);
	g_free(base);
}

/* Waits for the processes; on a failure, a signal, --timeout or a stall
 * (no operation finished for --stall seconds), kills the rest, and if they
 * stay stuck in the file system, aborts the mount's connection (our own
 * mount only: m).  Returns true when all passed. */
static bool wait_children(const struct ex_config *cfg, pid_t *pids,
			  struct ex_result *res, struct rfs_test_mount *m)
{
	unsigned alive = cfg->procs;
	bool ok = true, killed = false, aborted = false;
	double killed_at = 0, progress_at = mono();
	uint64_t last_ops = UINT64_MAX;
	while (alive) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0) {
			alive--;
			for (unsigned p = 0; p < cfg->procs; p++)
				if (pids[p] == pid)
					pids[p] = 0;
			if (WIFSIGNALED(st) && !killed)
				fprintf(stderr,
					"exerciser: a process was killed by "
					"signal %d (%s)\n",
					WTERMSIG(st), strsignal(WTERMSIG(st)));
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				ok = false;
			continue;
		}
		if (pid < 0 && errno != EINTR)
			break;
		double t = mono();
		uint64_t ops = 0;
		for (unsigned p = 0; p < cfg->procs; p++)
			ops += __atomic_load_n(&res[p].logn, __ATOMIC_ACQUIRE);
		if (ops != last_ops) {
			last_ops = ops;
			progress_at = t;
		}
		const char *why = NULL;
		if (stop_signal == SIGALRM)
			why = "--timeout passed";
		else if (stop_signal)
			why = strsignal(stop_signal);
		else if (cfg->stall && t - progress_at > cfg->stall)
			why = "no operation finished for --stall seconds";
		if (why && !killed) {
			fprintf(stderr,
				"\nexerciser: FAILED: %s: stopping (a hang in "
				"the file system?)\n",
				why);
			for (unsigned p = 0; p < cfg->procs; p++)
				if (pids[p] > 0)
					ex_print_log(stderr, &res[p], p);
			ok = false;
		}
		if ((!ok || why) && !killed) {
			killed = true;
			killed_at = t;
			for (unsigned p = 0; p < cfg->procs; p++)
				__atomic_store_n(&res[p].quiet, 1,
						 __ATOMIC_RELEASE);
			for (unsigned p = 0; p < cfg->procs; p++)
				if (pids[p] > 0)
					kill(pids[p], SIGKILL);
		}
		if (killed && !aborted && t - killed_at > 3) {
			aborted = true;
			fprintf(stderr, "exerciser: processes stuck in the "
					"file system\n");
			abort_mount(m ? m->mnt : cfg->mount);
			if (m)
				rfs_test_kill_all();
		}
		usleep(20000);
	}
	return ok;
}

/* --kill-daemon: a process that kills the worker of supervisor sup with
 * SIGKILL at random times MS/2 to 3MS/2 apart (seeded), counting in
 * *kills, until it is killed itself. */
static pid_t start_killer(const struct ex_config *cfg, pid_t sup,
			  uint64_t *kills)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	uint64_t rng[4];
	ex_seed(rng, cfg->seed ^ 0x6b696c6c6b696c6cULL);
	for (;;) {
		uint64_t ms =
		    cfg->kill_ms / 2 + ex_next(rng) % (cfg->kill_ms + 1);
		usleep((useconds_t)(ms * 1000));
		pid_t w = rfs_test_worker(sup);
		if (w > 0 && kill(w, SIGKILL) == 0)
			__atomic_fetch_add(kills, 1, __ATOMIC_RELAXED);
	}
}

/* Mounts (or takes --mount), writes the backing file, runs the processes,
 * unmounts and prints the summary; exits 0 when every check passed. */
int main(int argc, char **argv)
{
	struct ex_config cfg = {
	    .seed = 1,
	    .size = 256 * 1024,
	    .procs = 1,
	    .watch_ms = 200,
	    .check_every = 1000,
	    .stall = 60,
	};
	memcpy(cfg.weights, default_weights, sizeof(cfg.weights));
	cfg.daemon_args = g_ptr_array_new();
	parse_args(argc, argv, &cfg);
	check_geometry(&cfg);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Where: a mount of our own, or the one given. */
	struct rfs_test_mount *m = NULL;
	const char *mnt, *src;
	char *prefix, *backing;
	if (!cfg.mount) {
		m = rfs_test_prepare();
		mnt = m->mnt;
		src = m->src;
		prefix = g_strdup("");
	} else {
		mnt = cfg.mount;
		src = cfg.source;
		prefix = g_strdup_printf("exerciser-%ld-", (long)getpid());
	}
	backing = g_strconcat(prefix, "b", NULL);
	char *backing_src = g_build_filename(src, backing, NULL);

	/* The backing file's first content, known to every process. */
	uint64_t rng[4];
	ex_seed(rng, cfg.seed ^ 0x5eed0f0b4c1c1e5ULL);
	uint64_t size = cfg.size;
	if (cfg.procs == 1 && ex_next(rng) % 4)
		size = ex_next(rng) % (cfg.size + 1);
	uint8_t *initial = g_malloc(cfg.size);
	for (uint64_t i = 0; i < cfg.size; i += 8) {
		uint64_t r = ex_next(rng);
		memcpy(initial + i, &r, MIN(8, cfg.size - i));
	}
	write_file(backing_src, initial, size);

	if (m) {
		GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(args, g_strdup("-o"));
		g_ptr_array_add(
		    args, g_strdup_printf("pagesize=%llu", U(cfg.pagesize)));
		if (cfg.watch) {
			g_ptr_array_add(args, g_strdup("-o"));
			g_ptr_array_add(args, g_strdup("watch"));
		}
		if (cfg.kill_ms) {
			g_ptr_array_add(args, g_strdup("-o"));
			g_ptr_array_add(args, g_strdup("restart"));
		}
		for (guint i = 0; i < cfg.daemon_args->len; i++)
			g_ptr_array_add(args,
					g_strdup(cfg.daemon_args->pdata[i]));
		g_ptr_array_add(args, NULL);
		if (!rfs_test_start(m, (const char *const *)args->pdata)) {
			fprintf(stderr, "exerciser: could not mount remapfs "
					"(is $REMAPFS set?)\n");
			stop_mount(m);
			remove_tree(m->base);
			return 1;
		}
		g_ptr_array_unref(args);
	}

	struct ex_result *res =
	    mmap(NULL, cfg.procs * sizeof(*res), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g_assert(res != MAP_FAILED);
	memset(res, 0, cfg.procs * sizeof(*res));

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (cfg.timeout)
		alarm(cfg.timeout);

	uint64_t *kills = mmap(NULL, sizeof(*kills), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g_assert(kills != MAP_FAILED);
	*kills = 0;
	pid_t killer = cfg.kill_ms && m ? start_killer(&cfg, m->pid, kills) : 0;

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t *pids = g_new0(pid_t, cfg.procs);
	fflush(stdout);
	fflush(stderr);
	for (unsigned p = 0; p < cfg.procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0)
			child(&cfg, p, &res[p], mnt, src, prefix, backing,
			      initial, size);
		if (pids[p] < 0) {
			fprintf(stderr, "exerciser: fork: %s\n",
				strerror(errno));
			pids[p] = 0;
			res[p].status = 1;
			stop_signal = SIGTERM;
			break;
		}
	}
	bool ok = wait_children(&cfg, pids, res, m) && !stop_signal;
	for (unsigned p = 0; p < cfg.procs; p++)
		ok = ok && res[p].status == 0;
	alarm(0);
	if (killer > 0) {
		kill(killer, SIGKILL);
		waitpid(killer, NULL, 0);
		printf("exerciser: the daemon's worker was killed %llu times "
		       "(--kill-daemon %u)\n",
		       U(*kills), cfg.kill_ms);
	}
	munmap(kills, sizeof(*kills));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

	if (m) {
		/* Not rfs_test_free: it prints the log outside GTest. */
		stop_mount(m);
		if (!ok)
			print_daemon_log(m->log);
		if (!ok && cfg.keep)
			fprintf(stderr, "exerciser: kept %s\n", m->base);
		else if (!in_mountinfo(m->mnt))
			remove_tree(m->base);
	} else {
		cleanup_given_mount(mnt, prefix, backing_src);
	}
	summary(&cfg, res, secs, ok);
	g_free(pids);
	g_free(initial);
	g_free(backing_src);
	g_free(backing);
	g_free(prefix);
	g_free(cfg.cmdline_ops);
	g_ptr_array_unref(cfg.daemon_args);
	munmap(res, cfg.procs * sizeof(*res));
	return ok ? 0 : 1;
}
