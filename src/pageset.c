/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pageset.c - the pages of a view the kernel may cache (see pageset.h). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "pageset.h"

#include <stdlib.h>

#define WORDS (RFS_PAGESET_CHUNK / 64)

struct chunk {
	gint64 index; /* first page / RFS_PAGESET_CHUNK; the table's key */
	uint64_t bits[WORDS];
	unsigned count; /* bits set */
};

struct rfs_pageset {
	GMutex lock;	   /* protects the fields below */
	GHashTable *table; /* &chunk->index -> struct chunk * */
	bool every;	   /* holds every page (table freed) */
	uint64_t pages;	   /* bits set in all chunks */
};

struct rfs_pageset *rfs_pageset_new(void)
{
	struct rfs_pageset *s = g_new0(struct rfs_pageset, 1);
	g_mutex_init(&s->lock);
	s->table =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	return s;
}

void rfs_pageset_free(struct rfs_pageset *s)
{
	if (!s)
		return;
	if (s->table)
		g_hash_table_unref(s->table);
	g_mutex_clear(&s->lock);
	g_free(s);
}

/* The end of first..first+count-1, clipped at UINT64_MAX. */
static uint64_t range_end(uint64_t first, uint64_t count)
{
	return count > UINT64_MAX - first ? UINT64_MAX : first + count;
}

/* Sets bits [a, b) of a chunk (0 <= a < b <= RFS_PAGESET_CHUNK); returns
 * how many were clear. */
static unsigned chunk_set(struct chunk *c, unsigned a, unsigned b)
{
	unsigned added = 0;
	for (unsigned i = a; i < b;) {
		unsigned w = i / 64, lo = i % 64;
		unsigned hi = MIN(64u, lo + (b - i));
		uint64_t mask = (hi - lo == 64)
				    ? UINT64_MAX
				    : (((uint64_t)1 << (hi - lo)) - 1) << lo;
		added += (unsigned)__builtin_popcountll(mask & ~c->bits[w]);
		c->bits[w] |= mask;
		i += hi - lo;
	}
	c->count += added;
	return added;
}

void rfs_pageset_add(struct rfs_pageset *s, uint64_t first, uint64_t count)
{
	uint64_t end = range_end(first, count);
	if (first >= end)
		return;
	g_mutex_lock(&s->lock);
	for (uint64_t p = first; p < end && !s->every;) {
		gint64 index = (gint64)(p / RFS_PAGESET_CHUNK);
		uint64_t base = (uint64_t)index * RFS_PAGESET_CHUNK;
		unsigned a = (unsigned)(p - base);
		unsigned b =
		    (unsigned)MIN((uint64_t)RFS_PAGESET_CHUNK, end - base);
		struct chunk *c = g_hash_table_lookup(s->table, &index);
		if (!c) {
			if (g_hash_table_size(s->table) >=
			    RFS_PAGESET_MAX_CHUNKS) {
				s->every = true;
				g_hash_table_unref(s->table);
				s->table = NULL;
				break;
			}
			c = g_new0(struct chunk, 1);
			c->index = index;
			g_hash_table_insert(s->table, &c->index, c);
		}
		s->pages += chunk_set(c, a, b);
		p = base + b;
	}
	g_mutex_unlock(&s->lock);
}

/* Appends pages [a, b) of the range to runs (unless NULL), merging with
 * the last run when they touch. */
static void append_run(GArray *runs, guint from, uint64_t a, uint64_t b)
{
	if (!runs)
		return;
	if (runs->len > from) {
		rfs_run *last = &g_array_index(runs, rfs_run, runs->len - 1);
		if (last->vpage + last->count == a) {
			last->count += b - a;
			return;
		}
	}
	rfs_run r = {.vpage = a, .fpage = 0, .count = b - a};
	g_array_append_val(runs, r);
}

/* Takes bits [a, b) of chunk c out, appending the runs that were set. */
static uint64_t chunk_take(struct rfs_pageset *s, struct chunk *c, unsigned a,
			   unsigned b, GArray *runs, guint from)
{
	uint64_t base = (uint64_t)c->index * RFS_PAGESET_CHUNK, taken = 0;
	unsigned i = a;
	while (i < b) {
		unsigned w = i / 64;
		uint64_t word = c->bits[w] >> (i % 64);
		if (!word) { /* nothing set in the rest of this word */
			i = (w + 1) * 64;
			continue;
		}
		i += (unsigned)__builtin_ctzll(word);
		if (i >= b)
			break;
		unsigned j = i;
		while (j < b && (c->bits[j / 64] >> (j % 64) & 1)) {
			c->bits[j / 64] &= ~((uint64_t)1 << (j % 64));
			j++;
		}
		append_run(runs, from, base + i, base + j);
		taken += j - i;
		i = j;
	}
	c->count -= (unsigned)taken;
	s->pages -= taken;
	if (!c->count)
		g_hash_table_remove(s->table, &c->index);
	return taken;
}

static int cmp_index(const void *a, const void *b)
{
	gint64 x = **(const gint64 *const *)a, y = **(const gint64 *const *)b;
	return x < y ? -1 : x > y;
}

/* rfs_pageset_take, with runs NULL allowed (nothing listed). */
static uint64_t take(struct rfs_pageset *s, uint64_t first, uint64_t count,
		     GArray *runs)
{
	uint64_t end = range_end(first, count), taken = 0;
	guint from = runs ? runs->len : 0;
	if (first >= end)
		return 0;
	g_mutex_lock(&s->lock);
	if (s->every) {
		g_mutex_unlock(&s->lock);
		append_run(runs, from, first, end);
		return end - first;
	}
	uint64_t c0 = first / RFS_PAGESET_CHUNK,
		 c1 = (end - 1) / RFS_PAGESET_CHUNK;
	if (s->pages == 0 || c0 == c1) { /* nothing, or one chunk to visit */
		gint64 index = (gint64)c0;
		struct chunk *c =
		    s->pages ? g_hash_table_lookup(s->table, &index) : NULL;
		if (c) {
			uint64_t base = c0 * RFS_PAGESET_CHUNK;
			taken = chunk_take(s, c, (unsigned)(first - base),
					   (unsigned)(end - base), runs, from);
		}
		g_mutex_unlock(&s->lock);
		return taken;
	}
	GPtrArray *chunks = g_ptr_array_new();
	if (c1 - c0 < g_hash_table_size(s->table)) {
		for (uint64_t i = c0; i <= c1; i++) {
			gint64 index = (gint64)i;
			struct chunk *c = g_hash_table_lookup(s->table, &index);
			if (c)
				g_ptr_array_add(chunks, c);
		}
	} else {
		GHashTableIter it;
		gpointer val;
		g_hash_table_iter_init(&it, s->table);
		while (g_hash_table_iter_next(&it, NULL, &val)) {
			struct chunk *c = val;
			if ((uint64_t)c->index >= c0 &&
			    (uint64_t)c->index <= c1)
				g_ptr_array_add(chunks, c);
		}
		if (chunks->len > 1) /* pdata may be NULL when empty */
			qsort(chunks->pdata, chunks->len, sizeof(gpointer),
			      cmp_index);
	}
	for (guint k = 0; k < chunks->len; k++) {
		struct chunk *c = chunks->pdata[k];
		uint64_t base = (uint64_t)c->index * RFS_PAGESET_CHUNK;
		unsigned a = first > base ? (unsigned)(first - base) : 0;
		unsigned b =
		    (unsigned)MIN((uint64_t)RFS_PAGESET_CHUNK, end - base);
		taken += chunk_take(s, c, a, b, runs, from);
	}
	g_ptr_array_unref(chunks);
	g_mutex_unlock(&s->lock);
	return taken;
}

uint64_t rfs_pageset_take(struct rfs_pageset *s, uint64_t first, uint64_t count,
			  GArray *runs)
{
	return take(s, first, count, runs);
}

void rfs_pageset_remove(struct rfs_pageset *s, uint64_t first, uint64_t count)
{
	take(s, first, count, NULL);
}

bool rfs_pageset_contains(struct rfs_pageset *s, uint64_t page)
{
	gint64 index = (gint64)(page / RFS_PAGESET_CHUNK);
	unsigned bit = (unsigned)(page % RFS_PAGESET_CHUNK);
	g_mutex_lock(&s->lock);
	bool in = s->every;
	if (!in) {
		struct chunk *c = g_hash_table_lookup(s->table, &index);
		in = c && (c->bits[bit / 64] >> (bit % 64) & 1);
	}
	g_mutex_unlock(&s->lock);
	return in;
}

uint64_t rfs_pageset_count(struct rfs_pageset *s)
{
	g_mutex_lock(&s->lock);
	uint64_t n = s->every ? UINT64_MAX : s->pages;
	g_mutex_unlock(&s->lock);
	return n;
}
