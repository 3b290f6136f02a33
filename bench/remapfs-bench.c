/* SPDX-License-Identifier: GPL-2.0-or-later */
/* remapfs-bench.c - measures remapfs against the kernel: sequential and
 * random reads of identity and scrambled views, mmap first touch against
 * remap_file_pages(2), remap latency and throughput, a million-run view,
 * and writes.  It builds its own SOURCE, mounts remapfs itself, and
 * removes everything again however it ends.  See remapfs-bench(1). */
#include "config.h"

#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Parses a size with an optional k/M/G/T suffix (powers of 1024). */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		v *= 1024.0;
		end++;
		break;
	case 'm':
	case 'M':
		v *= MiB;
		end++;
		break;
	case 'g':
	case 'G':
		v *= MiB * 1024;
		end++;
		break;
	case 't':
	case 'T':
		v *= MiB * MiB;
		end++;
		break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v > 1e15)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Parses "1,2,5-7" into a bit mask of sections; 0 on error. */
static unsigned parse_only(const char *s)
{
	unsigned mask = 0;
	char **parts = g_strsplit(s, ",", -1);
	for (char **p = parts; *p; p++) {
		char *end;
		long a = strtol(*p, &end, 10), z = a;
		if (*end == '-')
			z = strtol(end + 1, &end, 10);
		if (end == *p || *end || a < 1 || z > NSECTIONS || a > z) {
			mask = 0;
			break;
		}
		for (long i = a; i <= z; i++)
			mask |= 1u << i;
	}
	g_strfreev(parts);
	return mask;
}

/* The built daemon next to this program (build tree or bindir), else
 * "remapfs" from PATH. */
static char *default_remapfs(void)
{
	char *self = g_file_read_link("/proc/self/exe", NULL);
	if (self) {
		char *dir = g_path_get_dirname(self);
		char *cands[] = {
		    g_build_filename(dir, "..", "src", "remapfs", NULL),
		    g_build_filename(dir, "remapfs", NULL)};
		char *res = NULL;
		for (int i = 0; i < 2; i++) {
			if (!res &&
			    g_file_test(cands[i], G_FILE_TEST_IS_REGULAR) &&
			    access(cands[i], X_OK) == 0)
				res = g_strdup(cands[i]);
			g_free(cands[i]);
		}
		g_free(dir);
		g_free(self);
		if (res)
			return res;
	}
	return g_strdup("remapfs");
}

/* Size as text for the header. */
static char *fmt_size(uint64_t v)
{
	if (v >= (1ull << 30) && v % (1ull << 30) == 0)
		return g_strdup_printf("%" PRIu64 " GiB", v >> 30);
	if (v >= (1ull << 20) && v % (1ull << 20) == 0)
		return g_strdup_printf("%" PRIu64 " MiB", v >> 20);
	return g_strdup_printf("%" PRIu64 " B", v);
}

/* Parses the command line into b; exits on errors. */
static void parse_options(struct bench *b, int argc, char **argv)
{
	char *size = NULL, *scale = NULL, *wsize = NULL, *only = NULL;
	char *dir = NULL, *remapfs = NULL;
	gint64 runs = 0, seed = 1, samples = 0;
	int repeat = 0;
	char **dargs = NULL;
	GOptionEntry entries[] = {
	    {"size", 0, 0, G_OPTION_ARG_STRING, &size,
	     "Size of the views of sections 1-6 (default 2G; --quick 256M)",
	     "SIZE"},
	    {"scale-size", 0, 0, G_OPTION_ARG_STRING, &scale,
	     "Size of the sparse file of section 7 (default 4G; --quick 512M)",
	     "SIZE"},
	    {"runs", 0, 0, G_OPTION_ARG_INT64, &runs,
	     "Runs of section 7 (default 1000000; --quick 100000)", "N"},
	    {"write-size", 0, 0, G_OPTION_ARG_STRING, &wsize,
	     "Bytes written per case in section 8 (default SIZE/4)", "SIZE"},
	    {"quick", 'q', 0, G_OPTION_ARG_NONE, &b->quick,
	     "Small sizes, one round: for development", NULL},
	    {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
	     "Create SOURCE in a temporary directory under DIR (default: the "
	     "current directory)",
	     "DIR"},
	    {"tmpfs", 0, 0, G_OPTION_ARG_NONE, &b->tmpfs,
	     "Put SOURCE on a tmpfs (/dev/shm, or one mounted for the run)",
	     NULL},
	    {"no-bindfs", 0, 0, G_OPTION_ARG_NONE, &b->no_peer,
	     "Do not measure bindfs beside remapfs", NULL},
	    {"json", 'j', 0, G_OPTION_ARG_NONE, &b->json,
	     "Print the results as JSON", NULL},
	    {"remapfs", 0, 0, G_OPTION_ARG_FILENAME, &remapfs,
	     "The daemon to run (default: the one built next to this program)",
	     "PATH"},
	    {"daemon-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &dargs,
	     "An extra argument for the daemon (repeatable), e.g. -s", "ARG"},
	    {"only", 'o', 0, G_OPTION_ARG_STRING, &only,
	     "Run only these sections, e.g. 1,2,5-7", "LIST"},
	    {"repeat", 'r', 0, G_OPTION_ARG_INT, &repeat,
	     "Rounds per measurement; medians are reported (default 5; "
	     "--quick 1)",
	     "N"},
	    {"samples", 0, 0, G_OPTION_ARG_INT64, &samples,
	     "Remaps per round in section 5 (default 2000; --quick 300)", "N"},
	    {"seed", 0, 0, G_OPTION_ARG_INT64, &seed,
	     "Seed of the random permutations and offsets (default 1)", "N"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GError *error = NULL;
	GOptionContext *oc = g_option_context_new(
	    "- measure remapfs against raw files and remap_file_pages(2)");
	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_set_description(
	    oc, "Sections: 1 sequential read(), 2 mmap first touch, 3 warm "
		"re-read,\n4 random 4 KiB pread(), 5 remap latency, 6 remap "
		"throughput,\n7 a million runs, 8 sequential writes.  See "
		"remapfs-bench(1).\n");
	if (!g_option_context_parse(oc, &argc, &argv, &error)) {
		fprintf(stderr, "remapfs-bench: %s\n", error->message);
		exit(2);
	}
	g_option_context_free(oc);
	if (argc > 1) {
		fprintf(stderr, "remapfs-bench: unexpected argument '%s'\n",
			argv[1]);
		exit(2);
	}
	const char *bad = NULL;
	if (!parse_size(size ? size : b->quick ? "256M" : "2G", &b->size))
		bad = "--size";
	if (!parse_size(scale	   ? scale
			: b->quick ? "512M"
				   : "4G",
			&b->scale_size))
		bad = "--scale-size";
	b->write_size = 0;
	if (wsize && !parse_size(wsize, &b->write_size))
		bad = "--write-size";
	if (bad) {
		fprintf(stderr, "remapfs-bench: %s: not a size\n", bad);
		exit(2);
	}
	b->ps = (size_t)sysconf(_SC_PAGESIZE);
	b->size -= b->size % b->ps;
	b->scale_size -= b->scale_size % b->ps;
	if (!b->write_size)
		b->write_size = MAX(b->size / 4, (uint64_t)16 << 20);
	b->write_size -= b->write_size % b->ps;
	if (b->size < (16u << 20) || b->scale_size < (16u << 20) ||
	    b->size / b->ps > UINT32_MAX ||
	    b->scale_size / b->ps > UINT32_MAX) {
		fprintf(stderr, "remapfs-bench: sizes must be between 16 MiB "
				"and 2^32 pages\n");
		exit(2);
	}
	b->runs = runs > 0 ? (uint64_t)runs : b->quick ? 100000 : 1000000;
	b->repeat = repeat > 0 ? MIN(repeat, 1000) : b->quick ? 1 : 5;
	b->samples = samples > 0 ? (size_t)samples : b->quick ? 300 : 2000;
	b->seed = (uint64_t)seed;
	b->only = only ? parse_only(only) : ((1u << (NSECTIONS + 1)) - 2);
	if (!b->only) {
		fprintf(stderr, "remapfs-bench: --only: sections are 1-%d\n",
			NSECTIONS);
		exit(2);
	}
	b->env.remapfs = remapfs ? remapfs : default_remapfs();
	b->env.dargs = dargs;
	b->pages = b->size / b->ps;
	b->n_rand = b->quick ? 10000 : 50000;
	b->n_tx[0] = b->quick ? 300 : 2000;
	b->n_tx[1] = b->quick ? 40 : 300;
	b->n_tx[2] = b->quick ? 8 : 40;
	b->n_kcalls = b->quick ? 5000 : 20000;
	b->rng.s = b->seed;
	g_free(size);
	g_free(scale);
	g_free(wsize);
	g_free(only);
	b->dir = dir;
}

/* The header lines: the machine, the daemon, the sizes. */
static void add_header(struct bench *b)
{
	struct bench_machine m;
	bench_machine_probe(&m, &b->env);
	char *size = fmt_size(b->size), *scale = fmt_size(b->scale_size);
	char *wsize = fmt_size(b->write_size);
	char date[64];
	time_t now = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %z", localtime(&now));
	bench_header("benchmark", "remapfs-bench %s, %s", PACKAGE_VERSION,
		     date);
	bench_header("machine", "%ld CPUs (%s), %.1f GiB RAM", m.nproc, m.cpu,
		     (double)m.mem_bytes / (MiB * 1024));
	bench_header("kernel", "%s, vm.max_map_count %ld", m.kernel,
		     m.max_map_count);
	bench_header("source", "%s on %s (%s)", b->env.src, m.src_fs,
		     m.src_dev);
	GString *args = g_string_new(NULL);
	for (char **a = b->env.dargs; a && *a; a++)
		g_string_append_printf(args, " %s", *a);
	bench_header("daemon", "%s -f%s (remapfs %s), page size %zu",
		     b->env.remapfs, args->str, m.daemon_version, b->ps);
	g_string_free(args, TRUE);
	bench_header("sizes",
		     "views %s; sparse file %s with %" PRIu64 " runs; writes "
		     "%s; I/O 1 MiB",
		     size, scale, b->runs, wsize);
	bench_header("rounds", "%d per figure (medians), seed %" PRIu64 "%s",
		     b->repeat, b->seed, b->quick ? ", --quick" : "");
	bench_header("legend",
		     "ratio = value / reference; cold view = the view's page "
		     "cache dropped (invalidate), backing file cached; from "
		     "disk = the backing file's cache dropped too; bindfs = "
		     "the same case through bindfs over the same SOURCE, "
		     "/bindfs = value / that");
	g_free(size);
	g_free(scale);
	g_free(wsize);
	g_free(m.cpu);
	g_free(m.kernel);
	g_free(m.src_fs);
	g_free(m.src_dev);
	g_free(m.daemon_version);
}

/* Warns when the machine seems short of memory for these sizes. */
static void check_memory(struct bench *b)
{
	uint64_t need = 0;
	if (b->only & 0x7e)
		need = 3 * b->size;
	if (want(b, 7))
		need = MAX(need, b->size + 2 * b->scale_size);
	char *avail = NULL;
	uint64_t kb = 0;
	if (g_file_get_contents("/proc/meminfo", &avail, NULL, NULL)) {
		const char *p = strstr(avail, "MemAvailable:");
		if (p)
			kb = strtoull(p + 13, NULL, 10);
	}
	g_free(avail);
	if (kb && need > kb * 1024)
		bench_progress("WARNING: about %" PRIu64 " MiB of page cache "
			       "needed, %" PRIu64 " MiB available: figures "
			       "will suffer",
			       need >> 20, kb >> 10);
}

int main(int argc, char **argv)
{
	struct bench b;
	memset(&b, 0, sizeof(b));
	b.lat_fd = b.k_fd = -1;
	bench_cleanup_install();
	parse_options(&b, argc, argv);
	void *buf = NULL;
	if (posix_memalign(&buf, 4096, IO_SIZE))
		bench_die("out of memory");
	b.buf = buf;
	bench_env_prepare(&b.env, b.dir, b.tmpfs);
	bench_progress("SOURCE %s, mount %s", b.env.src, b.env.mnt);
	bench_env_start(&b.env);
	add_header(&b);
	check_memory(&b);
	b.data_src = src_path(&b, "data.bin");
	b.data_view = mnt_path(&b, "data.bin");
	b.scr_view = mnt_path(&b, "scr");
	/* bindfs over the same SOURCE, for sections 1, 3, 4 and 8. */
	if (b.only & 0x11a) {
		const char *why =
		    b.no_peer ? "--no-bindfs" : bench_peer_start(&b.env);
		if (why)
			bench_note("bindfs: not measured: %s", why);
		else
			b.peer_data =
			    g_build_filename(b.env.peer_mnt, "data.bin", NULL);
	}
	double t0 = bench_now();
	if (b.only & 0x1e)
		ensure_scrambled(&b);
	if (want(&b, 1))
		section_read(&b);
	if (want(&b, 2))
		section_mmap(&b);
	if (want(&b, 3))
		section_warm(&b);
	if (want(&b, 4))
		section_random(&b);
	if (want(&b, 5))
		section_latency(&b);
	if (want(&b, 6))
		section_throughput(&b);
	if (b.lat_ready) {
		munmap(b.lat_addr, b.lat_pages * b.ps);
		close(b.lat_fd);
		if (b.k_addr)
			munmap(b.k_addr, b.lat_pages * b.ps);
		close(b.k_fd);
	}
	if (b.unread_map) {
		munmap(b.unread_addr, b.lat_pages * b.ps);
		close(b.unread_fd);
		g_free(b.unread_map);
		g_free(b.unread_order);
	}
	if (want(&b, 7))
		section_scale(&b);
	if (want(&b, 8))
		section_write(&b);
	if (b.refetched)
		bench_note("%" PRIu64 " backing pages had left the page cache "
			   "between measurements (read again before each cold "
			   "measurement)",
			   b.refetched);
	bench_header("duration", "%.0f s", bench_now() - t0);
	bench_progress("done in %.0f s; unmounting", bench_now() - t0);
	bench_cleanup();
	if (b.json)
		bench_print_json();
	else
		bench_print_table();
	return 0;
}
