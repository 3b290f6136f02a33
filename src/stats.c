/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats.c - the daemon's counters and .stats (see stats.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "stats.h"
#include "views.h"

#include <dirent.h>
#include <inttypes.h>
#include <unistd.h>

static uint64_t load(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void rfs_stats_txn(struct rfs_stats *s, uint64_t us)
{
	unsigned b = 0;
	while (b + 1 < G_N_ELEMENTS(s->txn_hist) && (UINT64_C(1) << b) <= us)
		b++;
	rfs_count(&s->txn_hist[b], 1);
	rfs_count(&s->txns, 1);
	rfs_count(&s->txn_us, us);
	if (us > load(&s->txn_us_max))
		__atomic_store_n(&s->txn_us_max, us, __ATOMIC_RELAXED);
}

/* The upper bound of the histogram bucket holding the q-th fraction of
 * the transactions (microseconds; 0 when there were none). */
static uint64_t quantile(const struct rfs_stats *s, double q)
{
	uint64_t total = load(&s->txns), seen = 0;
	if (!total)
		return 0;
	for (unsigned b = 0; b < G_N_ELEMENTS(s->txn_hist); b++) {
		seen += load(&s->txn_hist[b]);
		if ((double)seen >= q * (double)total)
			return MIN(UINT64_C(1) << b, load(&s->txn_us_max));
	}
	return load(&s->txn_us_max);
}

/* The daemon's threads. */
static unsigned thread_count(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* One node of the dump, with a reference. */
struct entry {
	struct rfs_node *node;
	struct rfs_node_counters c;
	uint64_t runs;
	char *path; /* NULL: unknown (a file never remapped) */
};

static bool active(const struct rfs_node_counters *c)
{
	return c->reads || c->writes || c->remapped_pages || c->invalidations;
}

/* Collects every node that served something or has a view with state,
 * with references (nodes' lock). */
static GArray *collect(struct rfs_ctx *ctx)
{
	GArray *es = g_array_new(FALSE, TRUE, sizeof(struct entry));
	GHashTableIter it;
	gpointer key;
	g_mutex_lock(&ctx->nodes.lock);
	for (int t = 0; t < 2; t++) {
		g_hash_table_iter_init(&it, t ? ctx->nodes.specials
					      : ctx->nodes.table);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			struct rfs_node *n = key;
			if (!S_ISREG(n->type) || rfs_kind_is_own_file(n->kind))
				continue;
			struct entry e = {.node = n};
			e.c.reads = load(&n->counters.reads);
			e.c.read_bytes = load(&n->counters.read_bytes);
			e.c.writes = load(&n->counters.writes);
			e.c.write_bytes = load(&n->counters.write_bytes);
			e.c.remapped_pages = load(&n->counters.remapped_pages);
			e.c.invalidations = load(&n->counters.invalidations);
			if (!active(&e.c) && n->kind != RFS_NODE_VIRTUAL)
				continue;
			n->refs++; /* rfs_node_ref, with the lock held */
			g_array_append_val(es, e);
		}
	}
	g_mutex_unlock(&ctx->nodes.lock);
	return es;
}

GString *rfs_stats_dump(struct rfs_ctx *ctx)
{
	GArray *es = collect(ctx);
	size_t map_bytes = 0, route_bytes = 0;
	guint views;
	g_rw_lock_reader_lock(&ctx->state_lock);
	views = g_hash_table_size(ctx->views);
	GHashTableIter it;
	gpointer key;
	g_hash_table_iter_init(&it, ctx->views);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct rfs_view *v = key;
		map_bytes += rfs_pagemap_memory(v->map);
		route_bytes += rfs_pagemap_memory(v->route);
	}
	for (guint i = 0; i < es->len; i++) {
		struct entry *e = &g_array_index(es, struct entry, i);
		struct rfs_view *v = e->node->view;
		if (!v)
			continue;
		e->runs = rfs_pagemap_nruns(v->map);
		if ((v->is_virtual && !v->removed) || v->pinned)
			e->path = rfs_view_path(v);
	}
	g_rw_lock_reader_unlock(&ctx->state_lock);

	struct rfs_node_counters sum = {0};
	for (guint i = 0; i < es->len; i++) {
		struct entry *e = &g_array_index(es, struct entry, i);
		sum.reads += e->c.reads;
		sum.read_bytes += e->c.read_bytes;
		sum.writes += e->c.writes;
		sum.write_bytes += e->c.write_bytes;
		sum.remapped_pages += e->c.remapped_pages;
		sum.invalidations += e->c.invalidations;
	}
	const struct rfs_stats *s = &ctx->stats;
	GString *out = g_string_new("# remapfs statistics\n");
	g_string_append_printf(
	    out,
	    "uptime_s %.1f\nthreads %u\nviews_with_state %u\n"
	    "map_bytes %zu\nroute_bytes %zu\n"
	    "transactions %" PRIu64 "\ntransaction_us_total %" PRIu64 "\n"
	    "transaction_us_p50 %" PRIu64 "\ntransaction_us_p99 %" PRIu64
	    "\ntransaction_us_max %" PRIu64 "\n"
	    "reads %" PRIu64 "\nread_bytes %" PRIu64 "\nwrites %" PRIu64
	    "\nwrite_bytes %" PRIu64 "\nremapped_pages %" PRIu64
	    "\ninvalidations %" PRIu64 "\n",
	    (double)(g_get_monotonic_time() - s->started) / 1e6, thread_count(),
	    views, map_bytes, route_bytes, load(&s->txns), load(&s->txn_us),
	    quantile(s, 0.5), quantile(s, 0.99), load(&s->txn_us_max),
	    sum.reads, sum.read_bytes, sum.writes, sum.write_bytes,
	    sum.remapped_pages, sum.invalidations);
	if (ctx->worker) /* -o restart */
		g_string_append_printf(out, "supervisor_pid %d\nworker %u\n",
				       (int)getppid(), ctx->worker);
	g_string_append(out, "# view INODE RUNS READS READ_BYTES WRITES "
			     "WRITE_BYTES REMAPPED_PAGES INVALIDATIONS PATH\n");
	for (guint i = 0; i < es->len; i++) {
		struct entry *e = &g_array_index(es, struct entry, i);
		g_string_append_printf(
		    out,
		    "view %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		    " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n",
		    (uint64_t)e->node->ino, e->runs, e->c.reads,
		    e->c.read_bytes, e->c.writes, e->c.write_bytes,
		    e->c.remapped_pages, e->c.invalidations,
		    e->path ? e->path : "-");
		g_free(e->path);
		rfs_node_unref(&ctx->nodes, e->node);
	}
	g_array_unref(es);
	return out;
}
