/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exerciser-ops.c - the model and the operations of the exerciser (see
 * exerciser.h).
 *
 * The model: the bytes of the backing file (zero past its size), which
 * operation last wrote each byte, and every view's map.  A view byte at
 * offset x shows backing byte map[x / ps] * ps + x % ps (zero past the
 * backing file's end); a mirrored view is as long as the backing file, a
 * virtual one pages * ps.  Every operation changes the model exactly as the
 * coherence contract says the file system changes, and every byte read
 * back is compared with it.
 *
 * Stores through a mapping are the one place the contract leaves a choice:
 * writeback may write whole system pages, so a store past the backing
 * file's end may grow it a little more than the stored bytes.  The model
 * then takes the backing file's size from SOURCE, after checking it is
 * within what the stores allow (contents are exact either way: the extra
 * bytes are zeros).  Stores never reach one backing page through two view
 * pages between two syncs: the kernel writes back whole pages and the
 * contract lets the last one win, so the exerciser syncs in between.
 *
 * With several processes, each keeps to its slice [lo, hi) of backing
 * pages and to the same window of view pages in every view it uses (the
 * mirrored view, and its own virtual views, whose pages below lo are left
 * alone): no process can change what another one reads. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "exerciser.h"
#include "protocol.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *const ex_op_names[EX_NOPS] = {
    [EX_READ] = "read",
    [EX_WRITE] = "write",
    [EX_MREAD] = "mread",
    [EX_MWRITE] = "mwrite",
    [EX_MIXED] = "mixed",
    [EX_TRUNCATE] = "truncate",
    [EX_RESIZE] = "resize",
    [EX_REMAP] = "remap",
    [EX_ALIAS] = "alias",
    [EX_RESET] = "reset",
    [EX_CREATE] = "create",
    [EX_REMOVE] = "remove",
    [EX_INVALIDATE] = "invalidate",
    [EX_OUTSIDE] = "outside",
};

#define U(x) ((unsigned long long)(x))

/* ---- random numbers: xoshiro256**, seeded by splitmix64 ---- */

/* One step of splitmix64. */
static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ex_seed(uint64_t s[4], uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		s[i] = splitmix(&seed);
}

/* Rotates x left by k bits. */
static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t ex_next(uint64_t s[4])
{
	uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

/* A random number below n (0 when n is 0). */
static uint64_t below(struct ex *ex, uint64_t n)
{
	return n ? ex_next(ex->rng) % n : 0;
}

/* A random number in [a, b) (a when the range is empty). */
static uint64_t between(struct ex *ex, uint64_t a, uint64_t b)
{
	return b > a ? a + below(ex, b - a) : a;
}

/* True one time in n. */
static bool one_in(struct ex *ex, unsigned n)
{
	return below(ex, n) == 0;
}

/* Fills len bytes with random data. */
static void fill_random(struct ex *ex, uint8_t *p, size_t len)
{
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t r = ex_next(ex->rng);
		memcpy(p + i, &r, 8);
	}
	if (i < len) {
		uint64_t r = ex_next(ex->rng);
		memcpy(p + i, &r, len - i);
	}
}

/* Seconds on a monotonic clock. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the operation log and failure reports ---- */

/* Starts the log line of the current operation. */
static void G_GNUC_PRINTF(2, 3) oplog(struct ex *ex, const char *fmt, ...)
{
	char *line = ex->res->log[ex->res->logn % EX_LOG_LEN];
	int n = snprintf(line, EX_LOG_LINE, "#%llu %s ", U(ex->opno),
			 ex_op_names[ex->cur]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && n < EX_LOG_LINE)
		vsnprintf(line + n, EX_LOG_LINE - (size_t)n, fmt, ap);
	va_end(ap);
	__atomic_store_n(&ex->res->logn, ex->res->logn + 1, __ATOMIC_RELEASE);
	if (ex->cfg->verbose)
		fprintf(stderr, "[p%u] %s\n", ex->proc, line);
}

void ex_print_log(FILE *out, const struct ex_result *res, unsigned proc)
{
	unsigned logn = __atomic_load_n(&res->logn, __ATOMIC_ACQUIRE);
	unsigned n = logn < EX_LOG_LEN ? logn : EX_LOG_LEN;
	fprintf(out, "last %u operations (of process %u):\n", n, proc);
	for (unsigned i = logn - n; i < logn; i++)
		fprintf(out, "  %.*s\n", EX_LOG_LINE, res->log[i % EX_LOG_LEN]);
}

/* The report being written: a memory stream, written out in one piece so
 * that the reports of processes failing at once do not mix. */
static FILE *report_stream;
static char *report_buf;
static size_t report_len;

/* The stream of the report. */
static FILE *rep(void)
{
	if (!report_stream)
		report_stream = open_memstream(&report_buf, &report_len);
	return report_stream ? report_stream : stderr;
}

/* Reports a failure of the current operation and exits the process. */
static void __attribute__((noreturn, format(printf, 2, 3)))
ex_fail(struct ex *ex, const char *fmt, ...)
{
	const struct ex_config *cfg = ex->cfg;
	va_list ap;
	if (ex->res && __atomic_load_n(&ex->res->quiet, __ATOMIC_ACQUIRE))
		_exit(1); /* the parent is stopping everything */
	fflush(stdout);
	fprintf(rep(),
		"\nexerciser: FAILED: seed %llu, process %u, operation #%llu "
		"(%s)\n",
		U(cfg->seed), ex->proc, U(ex->opno), ex_op_names[ex->cur]);
	va_start(ap, fmt);
	vfprintf(rep(), fmt, ap);
	va_end(ap);
	fprintf(rep(), "\n");
	ex_print_log(rep(), ex->res, ex->proc);
	fprintf(rep(),
		"reproduce: exerciser --seed %llu --ops-count %llu --size %llu "
		"--pagesize %llu",
		U(cfg->seed), U(ex->opno), U(cfg->size), U(ex->ps));
	if (cfg->cmdline_ops)
		fprintf(rep(), " --ops %s", cfg->cmdline_ops);
	if (cfg->procs > 1)
		fprintf(rep(), " --procs %u", cfg->procs);
	if (cfg->watch)
		fprintf(rep(), " --watch");
	if (cfg->kill_ms)
		fprintf(rep(), " --kill-daemon %u", cfg->kill_ms);
	for (guint i = 0; cfg->daemon_args && i < cfg->daemon_args->len; i++)
		fprintf(rep(), " --daemon-arg %s",
			(char *)cfg->daemon_args->pdata[i]);
	fprintf(rep(), "%s\n",
		cfg->procs > 1 ? "  (processes interleave differently on "
				 "every run)"
			       : "");
	if (report_stream) {
		fclose(report_stream);
		report_stream = NULL;
		for (size_t done = 0; done < report_len;) {
			ssize_t n =
			    write(2, report_buf + done, report_len - done);
			if (n <= 0)
				break;
			done += (size_t)n;
		}
	}
	fflush(stderr);
	if (ex->res) {
		ex->res->status = 1;
		ex->res->ops = ex->opno;
	}
	_exit(1);
}

/* ---- view geometry ---- */

/* The size of a view in bytes. */
static uint64_t vsize(const struct ex *ex, const struct ex_view *v)
{
	return v->virt ? v->pages * ex->ps : ex->size;
}

/* The number of pages of a view (a partial last page counts). */
static uint64_t vpages(const struct ex *ex, const struct ex_view *v)
{
	return (vsize(ex, v) + ex->ps - 1) / ex->ps;
}

/* The end of this process's window of view pages in v. */
static uint64_t pend(const struct ex *ex, const struct ex_view *v)
{
	return MIN(ex->hi, vpages(ex, v));
}

/* The end of this process's readable bytes of v. */
static uint64_t rend(const struct ex *ex, const struct ex_view *v)
{
	return MIN(ex->hi * ex->ps, vsize(ex, v));
}

/* The backing offset that view offset x of v shows. */
static uint64_t boff(const struct ex *ex, const struct ex_view *v, uint64_t x)
{
	return v->map[x / ex->ps] * ex->ps + x % ex->ps;
}

/* The model's bytes of v over [off, off+len) (all inside the view). */
static void expected(const struct ex *ex, const struct ex_view *v, uint64_t off,
		     uint8_t *out, uint64_t len)
{
	uint64_t i = 0;
	while (i < len) {
		uint64_t x = off + i, in = x % ex->ps;
		uint64_t n = MIN(len - i, ex->ps - in);
		memcpy(out + i, ex->data + boff(ex, v, x), n);
		i += n;
	}
}

/* Records one byte written to the backing file. */
static void model_store(struct ex *ex, uint64_t b, uint8_t val)
{
	ex->data[b] = val;
	ex->who[b] = (uint32_t)ex->opno;
	if (b >= ex->size)
		ex->size = b + 1;
}

/* Records a write of n bytes through v at off. */
static void model_write(struct ex *ex, const struct ex_view *v, uint64_t off,
			const uint8_t *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t b = boff(ex, v, off + i);
		model_store(ex, b, src[i]);
		ex->touched[b / ex->ps] = 1;
	}
}

/* Records the backing file's new size (zeros past it). */
static void model_truncate(struct ex *ex, uint64_t size)
{
	if (size < ex->size) {
		memset(ex->data + size, 0, ex->size - size);
		for (uint64_t b = size; b < ex->size; b++)
			ex->who[b] = (uint32_t)ex->opno;
	}
	ex->size = size;
}

/* Resets v's map to the identity from page from on. */
static void map_reset_from(struct ex *ex, struct ex_view *v, uint64_t from)
{
	for (uint64_t p = from; p < ex->maxpages; p++)
		v->map[p] = p;
}

/* Maps n view pages from vp to backing pages from fp. */
static void map_set(struct ex_view *v, uint64_t vp, uint64_t fp, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		v->map[vp + i] = fp + i;
}

/* ---- mismatch reports ---- */

/* Prints one 16-byte line of a hex diff; bytes outside [a, b) as "..". */
static void hex_line(const char *tag, uint64_t pos, const uint8_t *p,
		     uint64_t base, uint64_t a, uint64_t b,
		     const uint8_t *other)
{
	fprintf(rep(), "  %s %#08llx:", tag, U(pos));
	for (uint64_t x = pos; x < pos + 16; x++) {
		if (x < a || x >= b)
			fprintf(rep(), " ..");
		else
			fprintf(rep(), "%s%02x",
				p[x - base] != other[x - base] ? "*" : " ",
				p[x - base]);
	}
	fprintf(rep(), "\n");
}

/* Reports that seen differs from the model over [off, off+len) of v (as
 * read by how) and exits. */
static void __attribute__((noreturn))
report_mismatch(struct ex *ex, const struct ex_view *v, const char *how,
		uint64_t off, const uint8_t *seen, uint64_t len)
{
	uint8_t *exp = g_malloc(len);
	expected(ex, v, off, exp, len);
	uint64_t i = 0, bad = 0;
	while (i < len && exp[i] == seen[i])
		i++;
	for (uint64_t j = i; j < len; j++)
		bad += exp[j] != seen[j];
	uint64_t x = off + i, vp = x / ex->ps, ps = ex->ps;
	uint64_t b = boff(ex, v, x);
	uint64_t pa = MAX(vp * ps, off), pb = MIN(vp * ps + ps, off + len);
	fprintf(
	    rep(),
	    "\nMISMATCH: %s of view '%s' (%s, %llu bytes, fd %d) over "
	    "[%#llx, +%#llx)\n"
	    "  %llu bytes differ; the first at view offset %#llx: view page "
	    "%llu + %#llx, which shows backing page %llu (backing offset "
	    "%#llx; the backing file has %llu bytes)\n"
	    "  expected %02x there (%s%u), saw %02x\n"
	    "  view page %llu, lines that differ (offsets in the view; "
	    "'-' expected, '+' seen, '*' differs):\n",
	    how, v->name, v->virt ? "virtual" : "mirrored", U(vsize(ex, v)),
	    v->fd, U(off), U(len), U(bad), U(x), U(vp), U(x % ps),
	    U(v->map[vp]), U(b), U(ex->size), exp[i],
	    ex->who[b] ? "written by operation #"
		       : "initial content: operation #",
	    ex->who[b], seen[i], U(vp));
	unsigned lines = 0, more = 0;
	for (uint64_t l = pa / 16 * 16; l < pb; l += 16) {
		bool differs = false;
		for (uint64_t y = MAX(l, pa); y < MIN(l + 16, pb); y++)
			differs |= exp[y - off] != seen[y - off];
		if (!differs)
			continue;
		if (lines++ >= 48) {
			more++;
			continue;
		}
		hex_line("-", l, exp, off, pa, pb, seen);
		hex_line("+", l, seen, off, pa, pb, exp);
	}
	if (more)
		fprintf(rep(), "  ... and %u more lines that differ\n", more);
	/* Hints: what SOURCE holds, where the bytes seen might come from. */
	uint64_t plen = pb - pa, pboff = boff(ex, v, pa);
	uint8_t *src = g_malloc0(plen);
	ssize_t got = pread(ex->srcfd, src, plen, (off_t)pboff);
	if (got >= 0) {
		uint64_t de = 0, ds = 0;
		for (uint64_t y = 0; y < plen; y++) {
			de += src[y] != exp[pa - off + y];
			ds += src[y] != seen[pa - off + y];
		}
		fprintf(rep(),
			"  the backing file in SOURCE, read directly (%zd of "
			"%llu bytes there), %s\n",
			got, U(plen),
			de == 0	  ? "holds the expected bytes: a cached copy "
				    "is stale"
			: ds == 0 ? "holds the bytes seen: the backing file "
				    "itself is wrong"
				  : "differs from both");
	}
	g_free(src);
	bool zero = true;
	for (uint64_t y = pa; y < pb && zero; y++)
		zero = seen[y - off] == 0;
	if (zero)
		fprintf(rep(), "  the bytes seen there are all zeros\n");
	unsigned hits = 0;
	for (uint64_t f = 0; f < ex->maxpages && hits < 4; f++) {
		const uint8_t *fp = ex->data + f * ps + (pa - vp * ps);
		if (!zero && memcmp(fp, seen + (pa - off), pb - pa) == 0) {
			fprintf(rep(),
				"  the bytes seen equal the model's backing "
				"page %llu there\n",
				U(f));
			hits++;
		}
	}
	fprintf(rep(), "  map of '%s' around page %llu:", v->name, U(vp));
	for (uint64_t p = vp >= 4 ? vp - 4 : 0; p < MIN(vp + 5, ex->maxpages);
	     p++)
		fprintf(rep(), " %llu->%llu", U(p), U(v->map[p]));
	fprintf(rep(), "\n");
	g_free(exp);
	ex_fail(ex, "%s of '%s' returned bytes the model does not expect", how,
		v->name);
}

/* Whether seen matches the model over [off, off+len) of v. */
static bool bytes_ok(struct ex *ex, const struct ex_view *v, uint64_t off,
		     const uint8_t *seen, uint64_t len)
{
	expected(ex, v, off, ex->buf2, len);
	ex->res->checked_bytes += len;
	return memcmp(ex->buf2, seen, len) == 0;
}

/* Checks bytes read from v against the model; reports and exits if not. */
static void check_bytes(struct ex *ex, const struct ex_view *v, const char *how,
			uint64_t off, const uint8_t *seen, uint64_t len)
{
	if (!bytes_ok(ex, v, off, seen, len))
		report_mismatch(ex, v, how, off, seen, len);
}

/* ---- system calls that must work ---- */

/* Whether the kernel's size of v is the model's; *got is what it says. */
static bool size_ok(struct ex *ex, const struct ex_view *v, uint64_t *got)
{
	struct stat st;
	if (fstat(v->fd, &st) < 0)
		ex_fail(ex, "fstat of view '%s': %s", v->name, strerror(errno));
	*got = (uint64_t)st.st_size;
	return *got == vsize(ex, v);
}

/* The backing file's size in SOURCE. */
static uint64_t source_size(struct ex *ex)
{
	struct stat st;
	if (fstat(ex->srcfd, &st) < 0)
		ex_fail(ex, "fstat of %s: %s", ex->backing_src,
			strerror(errno));
	return (uint64_t)st.st_size;
}

/* Checks the kernel's size of v (and of the backing file) against the
 * model. */
static void check_size(struct ex *ex, const struct ex_view *v)
{
	uint64_t got, src = source_size(ex);
	if (src != ex->size)
		ex_fail(ex,
			"the backing file %s has %llu bytes, the model %llu",
			ex->backing_src, U(src), U(ex->size));
	if (!size_ok(ex, v, &got))
		ex_fail(ex,
			"fstat says view '%s' has %llu bytes, the model %llu "
			"(%s view; backing file %llu bytes)",
			v->name, U(got), U(vsize(ex, v)),
			v->virt ? "virtual" : "mirrored", U(ex->size));
}

/* ---- the control file ---- */

/* Appends one command to a transaction. */
static void cmd_add(GString *t, rfs_op op, const char *view, unsigned has,
		    uint64_t vpage, uint64_t fpage, uint64_t count,
		    const char *backing, uint64_t pages)
{
	rfs_cmd c = {.op = op,
		     .has = has,
		     .view = (char *)view,
		     .backing = (char *)backing,
		     .vpage = vpage,
		     .fpage = fpage,
		     .count = count,
		     .pages = pages};
	rfs_cmd_format(t, &c);
}

/* Writes a transaction in one write(); returns 0 or the errno, with the
 * error line read back in msg (when not NULL). */
static int ctl_write(struct ex *ex, const GString *t, GString *msg)
{
	ssize_t n = write(ex->ctl, t->str, t->len);
	if (n == (ssize_t)t->len)
		return 0;
	int err = n < 0 ? errno : EIO;
	char b[1024];
	ssize_t r;
	while ((r = read(ex->ctl, b, sizeof(b))) > 0)
		if (msg)
			g_string_append_len(msg, b, r);
	return err;
}

/* Writes a transaction that must succeed. */
static void ctl_must(struct ex *ex, const GString *t)
{
	GString *msg = g_string_new(NULL);
	int err = ctl_write(ex, t, msg);
	if (err)
		ex_fail(ex, "writing to .control failed: %s\n%s  daemon: %s",
			strerror(err), t->str, msg->str);
	g_string_free(msg, TRUE);
}

/* The text of a transaction for the log: lines joined by "; ". */
static char *txn_text(const GString *t)
{
	char *s = g_strndup(
	    t->str, t->len && t->str[t->len - 1] == '\n' ? t->len - 1 : t->len);
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ';';
	return s;
}

/* ---- mappings, guarded against SIGBUS ---- */

/* What a guarded access through a mapping is doing, for the SIGBUS
 * handler: a SIGBUS there is a size the kernel and the model disagree on. */
static struct {
	struct ex *ex;
	const struct ex_view *v;
	const uint8_t *base;
	uint64_t base_off;
	const char *how;
	volatile sig_atomic_t armed;
} bus;

/* Reports a SIGBUS at addr in the guarded mapping and exits. */
static void __attribute__((noreturn)) bus_fail(const void *addr)
{
	struct ex *ex = bus.ex;
	const struct ex_view *v = bus.v;
	uint64_t x =
	    bus.base_off + (uint64_t)((const uint8_t *)addr - bus.base);
	uint64_t got = 0;
	bool ok = size_ok(ex, v, &got);
	ex_fail(ex,
		"SIGBUS %s the mapping of view '%s' at view offset %#llx "
		"(model size %llu, fstat %llu%s)",
		bus.how, v->name, U(x), U(vsize(ex, v)), U(got),
		ok ? "" : ": sizes differ");
}

/* SIGBUS: inside a guarded access, report it (the process ends, so the
 * report may use stdio: the access interrupted was a load or a store). */
static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (bus.armed) {
		bus.armed = 0;
		bus_fail(si->si_addr);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Installs the SIGBUS handler. */
static void guard_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
}

/* Arms the SIGBUS report for accesses to a mapping of v (base at view
 * offset base_off). */
static void guard(struct ex *ex, const struct ex_view *v, const uint8_t *base,
		  uint64_t base_off, const char *how)
{
	bus.ex = ex;
	bus.v = v;
	bus.base = base;
	bus.base_off = base_off;
	bus.how = how;
	bus.armed = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Disarms it. */
static void unguard(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	bus.armed = 0;
}

/* Copies len bytes at view offset off from a mapping of v (base is the
 * mapping, at view offset base_off) into dst. */
static void mm_read(struct ex *ex, const struct ex_view *v, const uint8_t *base,
		    uint64_t base_off, uint64_t off, uint8_t *dst, uint64_t len)
{
	guard(ex, v, base, base_off, "reading");
	memcpy(dst, base + (off - base_off), len);
	unguard();
}

/* A new shared mapping of [off, off+len) of v, aligned down to a system
 * page; *base_off receives the view offset it starts at. */
static uint8_t *mm_fresh(struct ex *ex, const struct ex_view *v, uint64_t off,
			 uint64_t len, uint64_t *base_off, size_t *maplen)
{
	*base_off = off / ex->sysps * ex->sysps;
	*maplen = (size_t)(off + len - *base_off);
	void *p = mmap(NULL, *maplen, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		       (off_t)*base_off);
	if (p == MAP_FAILED)
		ex_fail(ex, "mmap of view '%s' [%#llx, +%#zx): %s", v->name,
			U(*base_off), *maplen, strerror(errno));
	return p;
}

/* Syncs [a, b) of a mapping of v (base at view offset base_off): msync
 * MS_SYNC, or fsync one time in eight. */
static void mm_sync(struct ex *ex, const struct ex_view *v, uint8_t *base,
		    uint64_t base_off, uint64_t a, uint64_t b)
{
	if (b <= a)
		return;
	if (one_in(ex, 8)) {
		if (fsync(v->fd) < 0)
			ex_fail(ex, "fsync of view '%s': %s", v->name,
				strerror(errno));
		return;
	}
	uint64_t s = (a - base_off) / ex->sysps * ex->sysps;
	if (msync(base + s, (size_t)(b - base_off - s), MS_SYNC) < 0)
		ex_fail(ex, "msync of view '%s' [%#llx, %#llx): %s", v->name,
			U(a), U(b), strerror(errno));
}

/* With --invalidate-aliases (the behaviour documented before issue 4): the
 * exerciser itself invalidates every view page that shows a backing page
 * written since the last call, and all of the mirrored view when the
 * backing file's size changed from size_before. */
static void self_invalidate(struct ex *ex, uint64_t size_before)
{
	if (!ex->cfg->inval_aliases)
		return;
	GString *t = g_string_new(NULL);
	for (unsigned i = 0; i < EX_NVIEWS; i++) {
		const struct ex_view *v = &ex->views[i];
		if (!v->live)
			continue;
		if (!v->virt && ex->size != size_before) {
			cmd_add(t, RFS_OP_INVALIDATE, v->name, 0, 0, 0, 0, NULL,
				0);
			continue;
		}
		uint64_t end = pend(ex, v);
		for (uint64_t p = ex->lo; p < end;) {
			if (!ex->touched[v->map[p]]) {
				p++;
				continue;
			}
			uint64_t q = p + 1;
			while (q < end && ex->touched[v->map[q]])
				q++;
			cmd_add(t, RFS_OP_INVALIDATE, v->name,
				RFS_HAS_VPAGE | RFS_HAS_COUNT, p, 0, q - p,
				NULL, 0);
			p = q;
		}
	}
	memset(ex->touched, 0, ex->maxpages);
	if (t->len) {
		if (ex->cfg->verbose)
			fprintf(stderr, "[p%u]   then %s", ex->proc, t->str);
		ctl_must(ex, t);
	}
	g_string_free(t, TRUE);
}

/* Stores through mappings between two syncs: the bounds they put on the
 * backing file's size once written back. */
struct store_batch {
	uint64_t start_size;	 /* backing size when the batch began */
	uint64_t lower;		 /* at least this (a nonzero byte stored) */
	const struct ex_view *v; /* the view stored through */
	GArray *sys; /* its system pages stored to (uint64_t), in order */
};

/* Starts a batch of stores through v. */
static void batch_begin(struct ex *ex, struct store_batch *sb,
			const struct ex_view *v)
{
	sb->start_size = ex->size;
	sb->lower = ex->size;
	sb->v = v;
	if (!sb->sys)
		sb->sys = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	g_array_set_size(sb->sys, 0);
	ex->claim_gen++;
}

/* The most the backing file may have once the batch is written back:
 * writeback writes whole system pages, up to the view's end as it is at
 * the sync (a write may have grown it since the stores). */
static uint64_t batch_upper(struct ex *ex, const struct store_batch *sb)
{
	uint64_t upper = ex->size, vs = vsize(ex, sb->v);
	for (guint i = 0; i < sb->sys->len; i++) {
		uint64_t s = g_array_index(sb->sys, uint64_t, i) * ex->sysps;
		uint64_t end = MIN(s + ex->sysps, vs);
		if (end > s)
			upper = MAX(upper, boff(ex, sb->v, end - 1) + 1);
	}
	return upper;
}

/* Whether backing byte b was stored to in this batch (or claimed by a
 * write that must not be overwritten). */
static bool claimed(const struct ex *ex, uint64_t b)
{
	return ex->claim[b] == ex->claim_gen;
}

/* Stores val at view offset x through a mapping of v and records it. */
static void batch_store(struct ex *ex, struct store_batch *sb,
			const struct ex_view *v, uint8_t *base,
			uint64_t base_off, uint64_t x, uint8_t val)
{
	uint64_t b = boff(ex, v, x);
	base[x - base_off] = val;
	ex->claim[b] = ex->claim_gen;
	ex->pclaim[b / ex->ps] = ex->claim_gen;
	ex->pclaim_by[b / ex->ps] =
	    (uint64_t)(v - ex->views) * ex->maxpages + x / ex->ps;
	ex->touched[b / ex->ps] = 1;
	ex->data[b] = val;
	ex->who[b] = (uint32_t)ex->opno;
	if (b >= sb->start_size && val != 0)
		sb->lower = MAX(sb->lower, b + 1);
	uint64_t sp = x / ex->sysps;
	if (!sb->sys->len ||
	    g_array_index(sb->sys, uint64_t, sb->sys->len - 1) != sp)
		g_array_append_val(sb->sys, sp);
}

/* After the sync of a batch: the backing file's size must be within its
 * bounds; the model takes it. */
static void batch_end(struct ex *ex, struct store_batch *sb)
{
	uint64_t got = source_size(ex), upper = batch_upper(ex, sb);
	uint64_t lo = MAX(ex->size, sb->lower), hi = MAX(ex->size, upper);
	if (got < lo || got > hi)
		ex_fail(ex,
			"after stores through a mapping the backing file has "
			"%llu bytes; the model allows %llu..%llu (it had %llu "
			"bytes before the stores%s)",
			U(got), U(lo), U(hi), U(sb->start_size),
			upper > sb->start_size ? ", some stored past it" : "");
	if (got > ex->size)
		ex->size = got;
	ex->claim_gen++;
	g_array_set_size(sb->sys, 0);
	self_invalidate(ex, sb->start_size);
}

/* Frees what a batch holds. */
static void batch_free(struct store_batch *sb)
{
	if (sb->sys)
		g_array_unref(sb->sys);
	sb->sys = NULL;
}

/* Stores random bytes over [off, off+len) of v through the mapping at base
 * (view offset base_off), syncing whenever a backing byte would be stored
 * twice and at the end.  Bytes whose backing byte is already claimed when
 * skip_claimed are left alone.  Returns the bytes stored. */
static uint64_t store_range(struct ex *ex, const struct ex_view *v,
			    uint8_t *base, uint64_t base_off, uint64_t off,
			    uint64_t len, bool skip_claimed,
			    struct store_batch *sb, bool sync)
{
	uint64_t stored = 0, from = off, run = 0;
	bool on = true;
	fill_random(ex, ex->buf, len);
	guard(ex, v, base, base_off, "storing to");
	for (uint64_t x = off; x < off + len; x++) {
		/* Runs of stored and skipped bytes: pages partly written. */
		if (run == 0) {
			on = !on || one_in(ex, 2);
			run = 1 + below(ex, one_in(ex, 2) ? 64 : ex->ps);
		}
		run--;
		if (!on)
			continue;
		uint64_t b = boff(ex, v, x), f = b / ex->ps;
		bool other_page =
		    ex->pclaim[f] == ex->claim_gen &&
		    ex->pclaim_by[f] !=
			(uint64_t)(v - ex->views) * ex->maxpages + x / ex->ps;
		if (claimed(ex, b) || other_page) {
			if (skip_claimed)
				continue;
			/* A second store to that byte: sync the first. */
			unguard();
			mm_sync(ex, v, base, base_off, from, x);
			batch_end(ex, sb);
			batch_begin(ex, sb, v);
			from = x;
			guard(ex, v, base, base_off, "storing to");
		}
		batch_store(ex, sb, v, base, base_off, x, ex->buf[x - off]);
		stored++;
	}
	unguard();
	if (sync) {
		mm_sync(ex, v, base, base_off, from, off + len);
		batch_end(ex, sb);
	}
	return stored;
}

/* ---- views ---- */

/* Opens and maps a live view. */
static void view_open(struct ex *ex, struct ex_view *v)
{
	v->fd = open(v->path, O_RDWR);
	if (v->fd < 0)
		ex_fail(ex, "open %s: %s", v->path, strerror(errno));
	void *p = mmap(NULL, ex->maxsize, PROT_READ | PROT_WRITE, MAP_SHARED,
		       v->fd, 0);
	if (p == MAP_FAILED)
		ex_fail(ex, "mmap %s: %s", v->path, strerror(errno));
	v->mm = p;
}

/* Unmaps and closes a view. */
static void view_close(struct ex *ex, struct ex_view *v)
{
	if (v->mm)
		munmap(v->mm, ex->maxsize);
	v->mm = NULL;
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

/* A random live view; only virtual ones when virt; NULL if none. */
static struct ex_view *pick_view(struct ex *ex, bool virt)
{
	unsigned n = 0, idx[EX_NVIEWS];
	for (unsigned i = virt ? 1 : 0; i < EX_NVIEWS; i++)
		if (ex->views[i].live)
			idx[n++] = i;
	return n ? &ex->views[idx[below(ex, n)]] : NULL;
}

/* A random length in [1, max] (0 if max is 0): a few bytes, a fraction
 * of a page, a page or several, sometimes whole pages. */
static uint64_t pick_len(struct ex *ex, uint64_t max)
{
	if (max == 0)
		return 0;
	if (one_in(ex, 4)) {
		uint64_t pages = 1 + below(ex, 3);
		return MIN(max, ex->ps * pages);
	}
	uint64_t cap;
	switch (below(ex, 5)) {
	case 0:
		cap = 16;
		break;
	case 1:
		cap = ex->ps / 4;
		break;
	case 2:
		cap = ex->ps;
		break;
	case 3:
		cap = 3 * ex->ps;
		break;
	default:
		cap = 8 * ex->ps;
		break;
	}
	return 1 + below(ex, MIN(cap, max));
}

/* A random offset in [a, b), page-aligned one time in three. */
static uint64_t pick_off(struct ex *ex, uint64_t a, uint64_t b)
{
	uint64_t x = between(ex, a, b);
	if (one_in(ex, 3) && x / ex->ps * ex->ps >= a)
		x = x / ex->ps * ex->ps;
	return x;
}

/* A random page count in [1, max]: mostly 1 or a few. */
static uint64_t pick_count(struct ex *ex, uint64_t max)
{
	if (max <= 1 || one_in(ex, 2))
		return 1;
	if (one_in(ex, 8))
		return 1 + below(ex, max);
	return 1 + below(ex, MIN(max, 8));
}

/* ---- checks of whole views ---- */

/* Reads this process's part of v with read() and through its mapping and
 * checks both. */
static void check_view(struct ex *ex, struct ex_view *v, const char *why)
{
	check_size(ex, v);
	uint64_t a = ex->lo * ex->ps, e = rend(ex, v);
	if (e <= a)
		return;
	ssize_t n = pread(v->fd, ex->buf, e - a, (off_t)a);
	if (n != (ssize_t)(e - a))
		ex_fail(ex, "%s: pread of '%s' [%#llx, %#llx) returned %zd: %s",
			why, v->name, U(a), U(e), n,
			n < 0 ? strerror(errno) : "short");
	check_bytes(ex, v, why, a, ex->buf, e - a);
	mm_read(ex, v, v->mm, 0, a, ex->buf, e - a);
	check_bytes(ex, v, why, a, ex->buf, e - a);
}

/* Reads [off, off+len) of v (clipped to this process's readable bytes)
 * with read() and through its mapping, and checks both. */
static void check_range(struct ex *ex, struct ex_view *v, uint64_t off,
			uint64_t len, const char *why)
{
	check_size(ex, v);
	uint64_t e = MIN(off + len, rend(ex, v));
	if (e <= off)
		return;
	ssize_t n = pread(v->fd, ex->buf, e - off, (off_t)off);
	if (n != (ssize_t)(e - off))
		ex_fail(ex, "%s: pread of '%s' [%#llx, %#llx) returned %zd: %s",
			why, v->name, U(off), U(e), n,
			n < 0 ? strerror(errno) : "short");
	check_bytes(ex, v, why, off, ex->buf, e - off);
	mm_read(ex, v, v->mm, 0, off, ex->buf, e - off);
	char *how = g_strconcat("mmap ", why, NULL);
	check_bytes(ex, v, how, off, ex->buf, e - off);
	g_free(how);
}

/* Compares the daemon's state dump with the model's views and maps (this
 * process's views, and its window of the mirrored view). */
static void check_state(struct ex *ex)
{
	char *path = g_build_filename(ex->mnt, ".control", NULL);
	char *text = NULL;
	gsize len = 0;
	GError *error = NULL;
	if (!g_file_get_contents(path, &text, &len, &error))
		ex_fail(ex, "reading %s: %s", path, error->message);
	g_free(path);
	GArray *cmds = rfs_cmds_new();
	GString *err = g_string_new(NULL);
	rfs_parse_limits lim = {.page_limit = (uint64_t)INT64_MAX / ex->ps};
	unsigned line = 0;
	if (rfs_parse(text, len, 1, &lim, cmds, &line, err))
		ex_fail(ex, "the state dump does not parse: line %u: %s\n%s",
			line, err->str, text);
	uint64_t *maps = g_new(uint64_t, EX_NVIEWS * ex->maxpages);
	uint64_t pages[EX_NVIEWS] = {0};
	for (unsigned i = 0; i < EX_NVIEWS * ex->maxpages; i++)
		maps[i] = i % ex->maxpages;
	for (guint c = 0; c < cmds->len; c++) {
		rfs_cmd *cmd = &g_array_index(cmds, rfs_cmd, c);
		unsigned i;
		for (i = 0; i < EX_NVIEWS; i++)
			if (ex->views[i].name &&
			    strcmp(ex->views[i].name, cmd->view) == 0)
				break;
		if (i == EX_NVIEWS)
			continue; /* not ours */
		struct ex_view *v = &ex->views[i];
		if (!v->live)
			ex_fail(ex,
				"the state dump still has '%s', which was "
				"removed:\n%s",
				cmd->view, text);
		if (cmd->op == RFS_OP_CREATE) {
			pages[i] = cmd->pages;
			continue;
		}
		if (cmd->op != RFS_OP_REMAP)
			ex_fail(ex, "the state dump has a %s line:\n%s",
				rfs_op_name(cmd->op), text);
		for (uint64_t k = 0; k < cmd->count; k++) {
			uint64_t vp = cmd->vpage + k;
			if (vp >= ex->maxpages)
				ex_fail(ex,
					"the state dump maps page %llu of "
					"'%s', past any size the model "
					"allows:\n%s",
					U(vp), cmd->view, text);
			maps[i * ex->maxpages + vp] = cmd->fpage + k;
		}
	}
	for (unsigned i = 0; i < EX_NVIEWS; i++) {
		struct ex_view *v = &ex->views[i];
		if (!v->live)
			continue;
		if (v->virt && pages[i] != v->pages)
			ex_fail(ex,
				"the state dump gives '%s' %llu pages, the "
				"model %llu:\n%s",
				v->name, U(pages[i]), U(v->pages), text);
		uint64_t a = v->virt ? 0 : ex->lo,
			 e = v->virt ? ex->maxpages : ex->hi;
		for (uint64_t p = a; p < e; p++)
			if (maps[i * ex->maxpages + p] != v->map[p])
				ex_fail(ex,
					"the state dump maps page %llu of "
					"'%s' to %llu, the model to "
					"%llu:\n%s",
					U(p), v->name,
					U(maps[i * ex->maxpages + p]),
					U(v->map[p]), text);
	}
	g_free(maps);
	g_string_free(err, TRUE);
	g_array_unref(cmds);
	g_free(text);
}

/* Checks every live view, and the state dump. */
static void check_all(struct ex *ex, const char *why)
{
	for (unsigned i = 0; i < EX_NVIEWS; i++)
		if (ex->views[i].live)
			check_view(ex, &ex->views[i], why);
	check_state(ex);
}

/* ---- operations: each returns false when it had nothing to do ---- */

/* pread of a random range of a random view. */
static bool op_read(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, false);
	check_size(ex, v);
	uint64_t size = vsize(ex, v), ps = ex->ps;
	uint64_t lim = ex->shared ? ex->hi * ps : ex->maxsize + ps;
	uint64_t a = ex->lo * ps, b = MIN(lim, size + ps);
	uint64_t off = pick_off(ex, a, b), len = pick_len(ex, lim - off);
	uint64_t want = off < size ? MIN(len, size - off) : 0;
	oplog(ex, "%s [%#llx, +%#llx) expect %#llx", v->name, U(off), U(len),
	      U(want));
	ssize_t n = pread(v->fd, ex->buf, len, (off_t)off);
	if (n < 0)
		ex_fail(ex, "pread of '%s': %s", v->name, strerror(errno));
	if ((uint64_t)n != want)
		ex_fail(ex,
			"pread of '%s' [%#llx, +%#llx) returned %zd bytes, "
			"the model expects %llu (view size %llu)",
			v->name, U(off), U(len), n, U(want), U(size));
	check_bytes(ex, v, "read", off, ex->buf, want);
	return true;
}

/* Chooses a write to v: *off, *len and the bytes it must write (-1 when it
 * must fail with EFBIG). */
static void pick_write(struct ex *ex, const struct ex_view *v, uint64_t *off,
		       uint64_t *len, int64_t *want, bool may_fail)
{
	uint64_t size = vsize(ex, v), ps = ex->ps;
	if (ex->shared) {
		*off = pick_off(ex, ex->lo * ps, MIN(ex->hi * ps, size));
		*len = pick_len(ex, ex->hi * ps - *off);
	} else if (!v->virt) {
		*off = pick_off(ex, 0, MIN(ex->maxsize, size + 2 * ps));
		*len = pick_len(ex, ex->maxsize - *off);
	} else if (may_fail && size < ex->maxsize && one_in(ex, 16)) {
		*off = pick_off(ex, size, ex->maxsize);
		*len = pick_len(ex, ex->maxsize - *off);
		*want = -1;
		return;
	} else {
		*off = pick_off(ex, 0, size);
		*len = pick_len(ex, ex->maxsize - *off);
	}
	*want = (int64_t)(v->virt ? MIN(*len, size - *off) : *len);
}

/* pwrite of random bytes through v; returns the bytes written. */
static uint64_t do_write(struct ex *ex, const struct ex_view *v, uint64_t off,
			 uint64_t len, int64_t want, const uint8_t *src)
{
	ssize_t n = pwrite(v->fd, src, len, (off_t)off);
	if (want < 0) {
		if (n >= 0 || errno != EFBIG)
			ex_fail(ex,
				"pwrite of '%s' at %#llx, past its end "
				"(%llu bytes), returned %zd (%s), not EFBIG",
				v->name, U(off), U(vsize(ex, v)), n,
				n < 0 ? strerror(errno) : "no error");
		return 0;
	}
	if (n < 0)
		ex_fail(ex, "pwrite of '%s' [%#llx, +%#llx): %s", v->name,
			U(off), U(len), strerror(errno));
	/* A short write is legal; the rest follows, as programs do. */
	while (n > 0 && n < want) {
		ssize_t more = pwrite(v->fd, src + n, len - (uint64_t)n,
				      (off_t)(off + (uint64_t)n));
		if (more <= 0)
			break;
		n += more;
	}
	if (n != want)
		ex_fail(ex,
			"pwrite of '%s' [%#llx, +%#llx) wrote %zd bytes, the "
			"model expects %lld (view size %llu)",
			v->name, U(off), U(len), n, (long long)want,
			U(vsize(ex, v)));
	uint64_t before = ex->size;
	model_write(ex, v, off, src, (uint64_t)n);
	self_invalidate(ex, before);
	return (uint64_t)n;
}

/* pwrite of random bytes to a random range of a random view. */
static bool op_write(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, false);
	uint64_t off, len;
	int64_t want;
	check_size(ex, v);
	pick_write(ex, v, &off, &len, &want, true);
	oplog(ex, "%s [%#llx, +%#llx) expect %lld", v->name, U(off), U(len),
	      (long long)want);
	fill_random(ex, ex->buf, len);
	do_write(ex, v, off, len, want, ex->buf);
	return true;
}

/* A random range of this process's readable bytes of v: false if none. */
static bool pick_mapped(struct ex *ex, const struct ex_view *v, uint64_t *off,
			uint64_t *len)
{
	uint64_t a = ex->lo * ex->ps, e = rend(ex, v);
	if (e <= a)
		return false;
	*off = pick_off(ex, a, e);
	*len = pick_len(ex, e - *off);
	return true;
}

/* Reads a random range of a random view through a mapping: the view's
 * long-lived one, or a fresh one time in eight. */
static bool op_mread(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, false);
	uint64_t off, len;
	check_size(ex, v);
	if (!pick_mapped(ex, v, &off, &len))
		return false;
	bool fresh = one_in(ex, 8);
	oplog(ex, "%s [%#llx, +%#llx)%s", v->name, U(off), U(len),
	      fresh ? " fresh mapping" : "");
	if (fresh) {
		uint64_t base_off;
		size_t maplen;
		uint8_t *p = mm_fresh(ex, v, off, len, &base_off, &maplen);
		mm_read(ex, v, p, base_off, off, ex->buf, len);
		munmap(p, maplen);
	} else {
		mm_read(ex, v, v->mm, 0, off, ex->buf, len);
	}
	check_bytes(ex, v, "mmap read", off, ex->buf, len);
	return true;
}

/* Stores random bytes into a random range of a random view through a
 * mapping, then msync (MS_SYNC); sometimes reads the range back. */
static bool op_mwrite(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, false);
	uint64_t off, len, base_off = 0;
	size_t maplen = 0;
	struct store_batch sb = {0};
	check_size(ex, v);
	if (!pick_mapped(ex, v, &off, &len))
		return false;
	bool fresh = one_in(ex, 8);
	oplog(ex, "%s [%#llx, +%#llx)%s", v->name, U(off), U(len),
	      fresh ? " fresh mapping" : "");
	uint8_t *base = v->mm;
	if (fresh)
		base = mm_fresh(ex, v, off, len, &base_off, &maplen);
	batch_begin(ex, &sb, v);
	store_range(ex, v, base, base_off, off, len, false, &sb, true);
	batch_free(&sb);
	if (fresh)
		munmap(base, maplen);
	if (one_in(ex, 4)) {
		check_size(ex, v);
		ssize_t n = pread(v->fd, ex->buf, len, (off_t)off);
		if (n != (ssize_t)len)
			ex_fail(ex, "pread of '%s' after stores: %zd", v->name,
				n);
		check_bytes(ex, v, "read after mmap stores", off, ex->buf, len);
	}
	return true;
}

/* Stores through a mapping of view A, then pwrite through view B to
 * other bytes of possibly the same backing pages, then msync A: neither
 * may lose the other's bytes.  Checks both ranges after. */
static bool op_mixed(struct ex *ex)
{
	struct ex_view *a = pick_view(ex, false), *b = pick_view(ex, false);
	uint64_t aoff, alen, boff_, blen;
	int64_t want;
	struct store_batch sb = {0};
	check_size(ex, a);
	check_size(ex, b);
	if (!pick_mapped(ex, a, &aoff, &alen))
		return false;
	pick_write(ex, b, &boff_, &blen, &want, false);
	/* Aim B at the backing pages A shows, one time in two. */
	if (one_in(ex, 2)) {
		uint64_t f = a->map[aoff / ex->ps];
		for (uint64_t p = ex->lo; p < pend(ex, b); p++)
			if (b->map[p] == f) {
				boff_ = p * ex->ps + below(ex, ex->ps / 2);
				blen = pick_len(ex, ex->ps);
				blen = MIN(blen, rend(ex, b) > boff_
						     ? rend(ex, b) - boff_
						     : 0);
				want = (int64_t)blen;
				break;
			}
	}
	if (blen == 0 || want <= 0)
		return false;
	oplog(ex, "stores %s [%#llx, +%#llx), pwrite %s [%#llx, +%#llx), msync",
	      a->name, U(aoff), U(alen), b->name, U(boff_), U(blen));
	/* B's bytes are claimed first: A's stores stay off them. */
	batch_begin(ex, &sb, a);
	uint8_t *wbuf = g_malloc(blen);
	fill_random(ex, wbuf, blen);
	for (uint64_t i = 0; i < blen && i < (uint64_t)want; i++)
		ex->claim[boff(ex, b, boff_ + i)] = ex->claim_gen;
	store_range(ex, a, a->mm, 0, aoff, alen, true, &sb, false);
	do_write(ex, b, boff_, blen, want, wbuf);
	mm_sync(ex, a, a->mm, 0, aoff, aoff + alen);
	batch_end(ex, &sb);
	batch_free(&sb);
	g_free(wbuf);
	check_range(ex, a, aoff, alen, "read after mixed stores and write");
	check_range(ex, b, boff_, blen, "read after mixed stores and write");
	return true;
}

/* ftruncate of the mirrored view (the backing file) to a random size. */
static bool op_truncate(struct ex *ex)
{
	struct ex_view *v = &ex->views[0];
	if (ex->shared)
		return false;
	check_size(ex, v);
	uint64_t size = one_in(ex, 4) ? below(ex, ex->maxpages + 1) * ex->ps
				      : below(ex, ex->maxsize + 1);
	bool by_path = one_in(ex, 4);
	oplog(ex, "%s to %llu (from %llu)%s", v->name, U(size), U(ex->size),
	      by_path ? " by path" : "");
	int res = by_path ? truncate(v->path, (off_t)size)
			  : ftruncate(v->fd, (off_t)size);
	if (res < 0)
		ex_fail(ex, "truncate of '%s' to %llu: %s", v->name, U(size),
			strerror(errno));
	model_truncate(ex, size);
	/* The mirrored view's map ends with its file. */
	map_reset_from(ex, v, (size + ex->ps - 1) / ex->ps);
	return true;
}

/* Resizes a virtual view: the resize command, or ftruncate. */
static bool op_resize(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, true);
	if (!v)
		return false;
	uint64_t pages = between(ex, ex->lo + 1, ex->maxpages + 1);
	bool cmd = one_in(ex, 2);
	oplog(ex, "%s to %llu pages (from %llu) by %s", v->name, U(pages),
	      U(v->pages), cmd ? "resize" : "ftruncate");
	if (cmd) {
		GString *t = g_string_new(NULL);
		cmd_add(t, RFS_OP_RESIZE, v->name, 0, 0, 0, 0, NULL, pages);
		ctl_must(ex, t);
		g_string_free(t, TRUE);
	} else if (ftruncate(v->fd, (off_t)(pages * ex->ps)) < 0) {
		ex_fail(ex, "ftruncate of '%s' to %llu pages: %s", v->name,
			U(pages), strerror(errno));
	}
	v->pages = pages;
	map_reset_from(ex, v, pages);
	return true;
}

/* One remap of the model, applied once its transaction succeeded. */
struct remap {
	struct ex_view *v;
	uint64_t vp, fp, n;
};

/* Picks a random remap of v inside this process's window; false if v has
 * no page there. */
static bool pick_remap(struct ex *ex, struct ex_view *v, struct remap *r)
{
	uint64_t end = pend(ex, v);
	if (end <= ex->lo)
		return false;
	r->v = v;
	r->n = pick_count(ex, MIN(end - ex->lo, ex->hi - ex->lo));
	r->vp = between(ex, ex->lo, end - r->n + 1);
	r->fp = between(ex, ex->lo, ex->hi - r->n + 1);
	return true;
}

/* A transaction of one to three remaps; one time in sixteen with a bad
 * line at the end, so that nothing of it may be applied. */
static bool op_remap(struct ex *ex)
{
	struct remap r[3];
	unsigned n = 0, lines = one_in(ex, 4) ? 2 + (unsigned)below(ex, 2) : 1;
	GString *t = g_string_new(NULL);
	for (unsigned i = 0; i < lines; i++)
		if (pick_remap(ex, pick_view(ex, false), &r[n])) {
			cmd_add(t, RFS_OP_REMAP, r[n].v->name, RFS_HAS_COUNT,
				r[n].vp, r[n].fp, r[n].n, NULL, 0);
			n++;
		}
	if (n == 0) {
		g_string_free(t, TRUE);
		return false;
	}
	int bad = 0;
	if (one_in(ex, 16)) {
		struct ex_view *v = pick_view(ex, false);
		if (one_in(ex, 2)) {
			cmd_add(t, RFS_OP_REMAP, v->name, RFS_HAS_COUNT,
				vpages(ex, v), ex->lo, 1, NULL, 0);
			bad = ERANGE;
		} else {
			char *name = g_strconcat(ex->prefix, "nosuch", NULL);
			cmd_add(t, RFS_OP_REMAP, name, RFS_HAS_COUNT, 0, 0, 1,
				NULL, 0);
			g_free(name);
			bad = ENOENT;
		}
	}
	char *text = txn_text(t);
	oplog(ex, "%s%s", text, bad ? " (must fail)" : "");
	g_free(text);
	if (!bad) {
		ctl_must(ex, t);
		for (unsigned i = 0; i < n; i++)
			map_set(r[i].v, r[i].vp, r[i].fp, r[i].n);
	} else {
		GString *msg = g_string_new(NULL);
		int err = ctl_write(ex, t, msg);
		if (err != bad)
			ex_fail(ex,
				"a transaction with a bad last line returned "
				"%s, not %s:\n%s  daemon: %s",
				err ? strerror(err) : "success", strerror(bad),
				t->str, msg->str);
		g_string_free(msg, TRUE);
	}
	g_string_free(t, TRUE);
	return true;
}

/* Reads view pages [vp, vp+n) of v with pread and through its mapping,
 * and checks them (so that both views of an alias have cached copies). */
static void touch_pages(struct ex *ex, struct ex_view *v, uint64_t vp,
			uint64_t n, const char *why)
{
	uint64_t a = vp * ex->ps, e = MIN((vp + n) * ex->ps, rend(ex, v));
	if (e <= a)
		return;
	ssize_t got = pread(v->fd, ex->buf, e - a, (off_t)a);
	if (got != (ssize_t)(e - a))
		ex_fail(ex, "pread of '%s' [%#llx, %#llx): %zd", v->name, U(a),
			U(e), got);
	check_bytes(ex, v, why, a, ex->buf, e - a);
	mm_read(ex, v, v->mm, 0, a, ex->buf, e - a);
	check_bytes(ex, v, why, a, ex->buf, e - a);
}

/* Remaps pages of a view onto backing pages another view page shows (in
 * the same or another view), then reads both. */
static bool op_alias(struct ex *ex)
{
	struct ex_view *a = pick_view(ex, false), *b = pick_view(ex, false);
	uint64_t aend = pend(ex, a), bend = pend(ex, b);
	if (aend <= ex->lo || bend <= ex->lo)
		return false;
	check_size(ex, a);
	check_size(ex, b);
	uint64_t ap = between(ex, ex->lo, aend), f = a->map[ap];
	uint64_t k = one_in(ex, 3) ? 1 + below(ex, 4) : 1;
	k = MIN(k, MIN(ex->hi - f, bend - ex->lo));
	uint64_t bp = between(ex, ex->lo, bend - k + 1);
	if (a == b && bp == ap && bend - ex->lo > k)
		bp = ex->lo + (bp - ex->lo + k) % (bend - ex->lo - k + 1);
	GString *t = g_string_new(NULL);
	cmd_add(t, RFS_OP_REMAP, b->name, RFS_HAS_COUNT, bp, f, k, NULL, 0);
	oplog(ex, "%s page %llu shows %llu: remap %s %llu %llu %llu", a->name,
	      U(ap), U(f), b->name, U(bp), U(f), U(k));
	touch_pages(ex, a, ap, 1, "read before aliasing");
	ctl_must(ex, t);
	g_string_free(t, TRUE);
	map_set(b, bp, f, k);
	touch_pages(ex, a, ap, 1, "read of an alias");
	touch_pages(ex, b, bp, k, "read of an alias");
	return true;
}

/* Resets a view's map: all of it, one page, or a range. */
static bool op_reset(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, false);
	uint64_t end = pend(ex, v), vp = 0, n = 0;
	unsigned how = (unsigned)below(ex, 3);
	GString *t = g_string_new(NULL);
	if (how == 0 && (v->virt || !ex->shared)) {
		cmd_add(t, RFS_OP_RESET, v->name, 0, 0, 0, 0, NULL, 0);
		map_reset_from(ex, v, 0);
	} else if (end > ex->lo) {
		n = how == 1 ? 1 : pick_count(ex, end - ex->lo);
		vp = between(ex, ex->lo, end - n + 1);
		cmd_add(t, RFS_OP_RESET, v->name,
			RFS_HAS_VPAGE | (how == 1 ? 0 : RFS_HAS_COUNT), vp, 0,
			n, NULL, 0);
		for (uint64_t p = vp; p < vp + n; p++)
			v->map[p] = p;
	} else {
		g_string_free(t, TRUE);
		return false;
	}
	char *text = txn_text(t);
	oplog(ex, "%s", text);
	g_free(text);
	ctl_must(ex, t);
	g_string_free(t, TRUE);
	return true;
}

/* Creates a virtual view over the backing file (with its size or the
 * backing file's), sometimes remapped in the same transaction; opens and
 * maps it. */
static bool op_create(struct ex *ex)
{
	unsigned slot;
	for (slot = 1; slot < EX_NVIEWS && ex->views[slot].live; slot++)
		;
	if (slot == EX_NVIEWS)
		return false;
	struct ex_view *v = &ex->views[slot];
	bool deflt = one_in(ex, 4) && ex->size > 0 &&
		     (ex->size + ex->ps - 1) / ex->ps > ex->lo;
	uint64_t pages = deflt ? (ex->size + ex->ps - 1) / ex->ps
			       : between(ex, ex->lo + 1, ex->maxpages + 1);
	GString *t = g_string_new(NULL);
	cmd_add(t, RFS_OP_CREATE, v->name, deflt ? 0 : RFS_HAS_PAGES, 0, 0, 0,
		ex->backing, pages);
	v->pages = pages;
	v->virt = true;
	v->live = true;
	map_reset_from(ex, v, 0);
	struct remap r;
	bool remap = one_in(ex, 3) && pick_remap(ex, v, &r);
	if (remap)
		cmd_add(t, RFS_OP_REMAP, v->name, RFS_HAS_COUNT, r.vp, r.fp,
			r.n, NULL, 0);
	char *text = txn_text(t);
	oplog(ex, "%s", text);
	g_free(text);
	ctl_must(ex, t);
	g_string_free(t, TRUE);
	if (remap)
		map_set(v, r.vp, r.fp, r.n);
	view_open(ex, v);
	return true;
}

/* Removes a virtual view (the remove command or unlink); sometimes reads
 * it through its descriptor after, which keeps working until closed. */
static bool op_remove(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, true);
	if (!v)
		return false;
	bool cmd = one_in(ex, 2), after = one_in(ex, 2);
	oplog(ex, "%s by %s%s", v->name, cmd ? "remove" : "unlink",
	      after ? ", then read its descriptor" : "");
	if (cmd) {
		GString *t = g_string_new(NULL);
		cmd_add(t, RFS_OP_REMOVE, v->name, 0, 0, 0, 0, NULL, 0);
		ctl_must(ex, t);
		g_string_free(t, TRUE);
	} else if (unlink(v->path) < 0) {
		ex_fail(ex, "unlink %s: %s", v->path, strerror(errno));
	}
	uint64_t off, len;
	if (after && pick_mapped(ex, v, &off, &len)) {
		ssize_t n = pread(v->fd, ex->buf, len, (off_t)off);
		if (n != (ssize_t)len)
			ex_fail(ex,
				"pread of removed '%s' [%#llx, +%#llx): %zd "
				"(%s)",
				v->name, U(off), U(len), n,
				n < 0 ? strerror(errno) : "short");
		check_bytes(ex, v, "read of a removed view", off, ex->buf, len);
	}
	struct stat st;
	if (stat(v->path, &st) == 0 || errno != ENOENT)
		ex_fail(ex, "%s is still there after its removal", v->path);
	view_close(ex, v);
	v->live = false;
	return true;
}

/* Appends invalidate lines for the pages of v in this process's window
 * that show backing pages [fa, fb); whole says all of v instead.  Returns
 * the number of lines. */
static unsigned add_invalidate(struct ex *ex, GString *t,
			       const struct ex_view *v, uint64_t fa,
			       uint64_t fb, bool whole)
{
	if (whole) {
		cmd_add(t, RFS_OP_INVALIDATE, v->name, 0, 0, 0, 0, NULL, 0);
		return 1;
	}
	unsigned lines = 0;
	uint64_t end = pend(ex, v);
	for (uint64_t p = ex->lo; p < end;) {
		if (v->map[p] < fa || v->map[p] >= fb) {
			p++;
			continue;
		}
		uint64_t q = p + 1;
		while (q < end && v->map[q] >= fa && v->map[q] < fb)
			q++;
		cmd_add(t, RFS_OP_INVALIDATE, v->name,
			RFS_HAS_VPAGE | RFS_HAS_COUNT, p, 0, q - p, NULL, 0);
		lines++;
		p = q;
	}
	return lines;
}

/* Invalidates a view: all of it or a range (the model does not change). */
static bool op_invalidate(struct ex *ex)
{
	struct ex_view *v = pick_view(ex, false);
	uint64_t end = pend(ex, v);
	GString *t = g_string_new(NULL);
	if ((v->virt || !ex->shared) && (end <= ex->lo || one_in(ex, 2))) {
		cmd_add(t, RFS_OP_INVALIDATE, v->name, 0, 0, 0, 0, NULL, 0);
	} else if (end > ex->lo) {
		uint64_t n = pick_count(ex, end - ex->lo);
		uint64_t vp = between(ex, ex->lo, end - n + 1);
		cmd_add(t, RFS_OP_INVALIDATE, v->name,
			RFS_HAS_VPAGE | RFS_HAS_COUNT, vp, 0, n, NULL, 0);
	} else {
		g_string_free(t, TRUE);
		return false;
	}
	char *text = txn_text(t);
	oplog(ex, "%s", text);
	g_free(text);
	ctl_must(ex, t);
	g_string_free(t, TRUE);
	return true;
}

/* Whether every live view shows the model over its pages that show
 * backing pages [fa, fb), with read() and through its mapping, and has the
 * model's size.  Reports the first difference (and exits) when report. */
static bool views_show(struct ex *ex, uint64_t fa, uint64_t fb, bool report)
{
	for (unsigned i = 0; i < EX_NVIEWS; i++) {
		struct ex_view *v = &ex->views[i];
		uint64_t got;
		if (!v->live)
			continue;
		if (!size_ok(ex, v, &got)) {
			if (report)
				check_size(ex, v);
			return false;
		}
		uint64_t end = pend(ex, v);
		for (uint64_t p = ex->lo; p < end; p++) {
			if (v->map[p] < fa || v->map[p] >= fb)
				continue;
			uint64_t a = p * ex->ps,
				 e = MIN(a + ex->ps, rend(ex, v));
			ssize_t n = pread(v->fd, ex->buf, e - a, (off_t)a);
			if (n != (ssize_t)(e - a)) {
				if (report)
					ex_fail(ex,
						"pread of '%s' [%#llx, %#llx) "
						"after an outside change: %zd",
						v->name, U(a), U(e), n);
				return false;
			}
			if (!bytes_ok(ex, v, a, ex->buf, e - a)) {
				if (report)
					report_mismatch(ex, v,
							"read after an outside "
							"change",
							a, ex->buf, e - a);
				return false;
			}
			mm_read(ex, v, v->mm, 0, a, ex->buf, e - a);
			if (!bytes_ok(ex, v, a, ex->buf, e - a)) {
				if (report)
					report_mismatch(ex, v,
							"mmap read after an "
							"outside change",
							a, ex->buf, e - a);
				return false;
			}
		}
	}
	return true;
}

/* The smallest size an outside truncate may give the backing file: the
 * daemon does not see it, so it cannot drop the mirrored view's map past
 * the end; the model stays exact if nothing is remapped there. */
static uint64_t outside_min_size(struct ex *ex)
{
	const struct ex_view *v = &ex->views[0];
	for (uint64_t p = ex->maxpages; p > 0; p--)
		if (v->map[p - 1] != p - 1)
			return (p - 1) * ex->ps + 1;
	return 0;
}

/* Writes (or truncates) the backing file directly in SOURCE, then
 * invalidates the views (or, with -o watch, waits for the daemon to), and
 * checks every view page that shows a changed backing page. */
static bool op_outside(struct ex *ex)
{
	uint64_t ps = ex->ps, old = ex->size, fa, fb;
	const char *what;
	if (!ex->shared && one_in(ex, 5)) {
		uint64_t size =
		    between(ex, outside_min_size(ex), ex->maxsize + 1);
		oplog(ex, "ftruncate %s to %llu (from %llu)", ex->backing,
		      U(size), U(old));
		if (ftruncate(ex->srcfd, (off_t)size) < 0)
			ex_fail(ex, "ftruncate %s: %s", ex->backing_src,
				strerror(errno));
		model_truncate(ex, size);
		fa = MIN(old, size) / ps;
		fb = (MAX(old, size) + ps - 1) / ps;
		what = "truncate";
	} else {
		uint64_t off, len;
		if (ex->shared) {
			off = pick_off(ex, ex->lo * ps, ex->hi * ps);
			len = pick_len(ex, ex->hi * ps - off);
		} else {
			off = pick_off(ex, 0, MIN(ex->maxsize, old + 2 * ps));
			len = pick_len(ex, ex->maxsize - off);
		}
		oplog(ex, "pwrite %s [%#llx, +%#llx)", ex->backing, U(off),
		      U(len));
		fill_random(ex, ex->buf, len);
		ssize_t n = pwrite(ex->srcfd, ex->buf, len, (off_t)off);
		if (n != (ssize_t)len)
			ex_fail(ex, "pwrite %s: %zd", ex->backing_src, n);
		for (uint64_t i = 0; i < len; i++)
			model_store(ex, off + i, ex->buf[i]);
		fa = old < off ? old / ps : off / ps;
		fb = (off + len + ps - 1) / ps;
		what = "write";
	}
	if (!ex->cfg->watch) {
		GString *t = g_string_new(NULL);
		bool whole = one_in(ex, 2);
		for (unsigned i = 0; i < EX_NVIEWS; i++) {
			struct ex_view *v = &ex->views[i];
			if (!v->live)
				continue;
			bool all = v->virt || !ex->shared;
			/* The mirrored view's size changed: all of it. */
			if (!v->virt && ex->size != old)
				add_invalidate(ex, t, v, 0, 0, true);
			else
				add_invalidate(ex, t, v, fa, fb, whole && all);
			if (one_in(ex, 2) && t->len) {
				ctl_must(ex, t);
				g_string_truncate(t, 0);
			}
		}
		if (t->len)
			ctl_must(ex, t);
		g_string_free(t, TRUE);
		views_show(ex, fa, fb, true);
		return true;
	}
	/* -o watch: the daemon invalidates by itself, soon. */
	double t0 = now(), limit = ex->cfg->watch_ms / 1000.0;
	while (!views_show(ex, fa, fb, false)) {
		if (now() - t0 > limit) {
			fprintf(rep(),
				"exerciser: the views still differ %u ms "
				"after an outside %s (-o watch)\n",
				ex->cfg->watch_ms, what);
			views_show(ex, fa, fb, true);
			break;
		}
		usleep(2000);
	}
	return true;
}

/* ---- the run ---- */

typedef bool (*op_fn)(struct ex *ex);

static const op_fn op_table[EX_NOPS] = {
    [EX_READ] = op_read,
    [EX_WRITE] = op_write,
    [EX_MREAD] = op_mread,
    [EX_MWRITE] = op_mwrite,
    [EX_MIXED] = op_mixed,
    [EX_TRUNCATE] = op_truncate,
    [EX_RESIZE] = op_resize,
    [EX_REMAP] = op_remap,
    [EX_ALIAS] = op_alias,
    [EX_RESET] = op_reset,
    [EX_CREATE] = op_create,
    [EX_REMOVE] = op_remove,
    [EX_INVALIDATE] = op_invalidate,
    [EX_OUTSIDE] = op_outside,
};

/* A random operation kind by weight. */
static enum ex_op pick_op(struct ex *ex)
{
	uint64_t r = below(ex, ex->wtotal);
	for (int k = 0; k < EX_NOPS; k++) {
		if (r < ex->cfg->weights[k])
			return (enum ex_op)k;
		r -= ex->cfg->weights[k];
	}
	return EX_READ;
}

void ex_init(struct ex *ex, const struct ex_config *cfg, unsigned proc,
	     const uint8_t *initial, uint64_t initial_size)
{
	ex->cfg = cfg;
	ex->proc = proc;
	ex->ps = cfg->pagesize;
	ex->sysps = (uint64_t)sysconf(_SC_PAGESIZE);
	ex->maxsize = cfg->size;
	ex->maxpages = cfg->size / cfg->pagesize;
	ex->shared = cfg->procs > 1;
	uint64_t slice = ex->maxpages / cfg->procs;
	ex->lo = ex->shared ? proc * slice : 0;
	ex->hi = ex->shared ? (proc + 1) * slice : ex->maxpages;
	ex->data = g_malloc0(ex->maxsize);
	memcpy(ex->data, initial, initial_size);
	ex->who = g_malloc0(ex->maxsize * sizeof(uint32_t));
	ex->claim = g_malloc0(ex->maxsize * sizeof(uint32_t));
	ex->pclaim = g_malloc0(ex->maxpages * sizeof(uint32_t));
	ex->pclaim_by = g_malloc0(ex->maxpages * sizeof(uint64_t));
	ex->touched = g_malloc0(ex->maxpages);
	ex->size = initial_size;
	ex->buf = g_malloc(ex->maxsize + ex->ps);
	ex->buf2 = g_malloc(ex->maxsize + ex->ps);
	ex->ctl = ex->srcfd = -1;
	ex_seed(ex->rng, cfg->seed + proc * 0x100000001b3ULL);
	for (int k = 0; k < EX_NOPS; k++)
		ex->wtotal += cfg->weights[k];
	for (unsigned i = 0; i < EX_NVIEWS; i++) {
		struct ex_view *v = &ex->views[i];
		v->fd = -1;
		v->serial = i;
		v->map = g_new(uint64_t, ex->maxpages);
		map_reset_from(ex, v, 0);
		if (i == 0)
			v->name = g_strdup(ex->backing);
		else if (ex->shared)
			v->name =
			    g_strdup_printf("%sp%u-v%u", ex->prefix, proc, i);
		else
			v->name = g_strdup_printf("%sv%u", ex->prefix, i);
		v->path = g_build_filename(ex->mnt, v->name, NULL);
	}
}

/* Removes this process's virtual views and resets its part of the
 * mirrored view's map, so the mount is left as found. */
static void cleanup(struct ex *ex)
{
	GString *t = g_string_new(NULL);
	for (unsigned i = 1; i < EX_NVIEWS; i++) {
		struct ex_view *v = &ex->views[i];
		if (!v->live)
			continue;
		cmd_add(t, RFS_OP_REMOVE, v->name, 0, 0, 0, 0, NULL, 0);
		view_close(ex, v);
		v->live = false;
	}
	if (ex->views[0].live && pend(ex, &ex->views[0]) > ex->lo)
		cmd_add(t, RFS_OP_RESET, ex->views[0].name,
			RFS_HAS_VPAGE | RFS_HAS_COUNT, ex->lo, 0,
			pend(ex, &ex->views[0]) - ex->lo, NULL, 0);
	view_close(ex, &ex->views[0]);
	if (t->len)
		ctl_must(ex, t);
	g_string_free(t, TRUE);
}

int ex_run(struct ex *ex)
{
	const struct ex_config *cfg = ex->cfg;
	char *ctl = g_build_filename(ex->mnt, ".control", NULL);
	guard_install();
	ex->ctl = open(ctl, O_RDWR);
	if (ex->ctl < 0)
		ex_fail(ex, "open %s: %s", ctl, strerror(errno));
	g_free(ctl);
	ex->srcfd = open(ex->backing_src, O_RDWR);
	if (ex->srcfd < 0)
		ex_fail(ex, "open %s: %s", ex->backing_src, strerror(errno));
	ex->views[0].live = true;
	view_open(ex, &ex->views[0]);
	ex->cur = EX_CREATE;
	if (cfg->weights[EX_CREATE])
		op_create(ex);
	double t0 = now();
	for (ex->opno = 1;; ex->opno++) {
		if (cfg->ops_count && ex->opno > cfg->ops_count)
			break;
		if (cfg->seconds > 0 && ex->opno % 32 == 0 &&
		    now() - t0 >= cfg->seconds)
			break;
		for (int tries = 0; tries < 16; tries++) {
			ex->cur = pick_op(ex);
			if (op_table[ex->cur](ex)) {
				ex->res->counts[ex->cur]++;
				break;
			}
			ex->res->skipped++;
		}
		ex->res->ops = ex->opno;
		if (cfg->check_every && ex->opno % cfg->check_every == 0) {
			ex->cur = EX_READ;
			oplog(ex, "check of every view");
			check_all(ex, "periodic check");
		}
	}
	ex->res->ops = ex->opno - 1;
	ex->cur = EX_READ;
	oplog(ex, "final check of every view");
	check_all(ex, "final check");
	cleanup(ex);
	close(ex->ctl);
	close(ex->srcfd);
	return 0;
}
