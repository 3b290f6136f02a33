/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pagemap.c - runs of pages: view page -> backing page, as a blocked sorted
 * array.
 *
 * The runs live in chunks of up to CHUNK_MAX runs each, stored inline and
 * sorted by vpage.  The map keeps a sorted array of slots, one per chunk,
 * that caches the chunk's first vpage, so a lookup is a binary search over
 * the slots followed by one inside a single chunk.  Inserting or deleting a
 * run moves at most one chunk's tail.  A full chunk splits in two; a chunk
 * that drops below CHUNK_MIN runs merges with a neighbour or takes runs from
 * it, so every chunk but a lone one is at least a quarter full and memory
 * stays within a small multiple of the 24 bytes a run needs.
 *
 * Positions are (chunk index, run index) pairs.  A position is normalized
 * when its run index is inside its chunk, or when it is (nchunks, 0), the
 * end.  Pages are handled as half-open ranges [start, end): since callers
 * guarantee vpage + count <= UINT64_MAX, an end always fits in a uint64_t
 * (page UINT64_MAX itself can never be covered by a run). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib.h>

#include "pagemap.h"

#define CHUNK_MAX 128			/* runs a chunk holds */
#define CHUNK_MIN (CHUNK_MAX / 4)	/* fewest runs in a chunk not alone */
#define CHUNK_MERGE (CHUNK_MAX * 3 / 4) /* most runs two chunks merge into */
#define SLOTS_MIN 8			/* smallest slot array allocated */

struct chunk {
	uint32_t n;		 /* runs used */
	rfs_run runs[CHUNK_MAX]; /* sorted by vpage, non-overlapping */
};

struct slot {
	uint64_t first;	 /* c->runs[0].vpage */
	struct chunk *c; /* never empty */
};

struct rfs_pagemap {
	rfs_pagemap_kind kind;
	size_t nruns;	    /* runs in all chunks */
	size_t nchunks;	    /* slots used */
	size_t cap;	    /* slots allocated */
	struct slot *slots; /* sorted by first; NULL when cap is 0 */
};

/* One past the last view page of r; never overflows. */
static inline uint64_t run_end(const rfs_run *r)
{
	return r->vpage + r->count;
}

/* True when b starts right where a ends, in view and in backing pages. */
static inline bool run_continues(const rfs_run *a, const rfs_run *b)
{
	return a->vpage + a->count == b->vpage &&
	       a->fpage + a->count == b->fpage;
}

/* Index of the last slot whose chunk starts at or before vpage, or 0 when
 * vpage precedes every chunk.  Needs m->nchunks > 0. */
static size_t slot_find(const rfs_pagemap *m, uint64_t vpage)
{
	size_t lo = 0, hi = m->nchunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->slots[mid].first <= vpage)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* Number of runs in c that start at or before vpage. */
static uint32_t chunk_upper(const struct chunk *c, uint64_t vpage)
{
	uint32_t lo = 0, hi = c->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->runs[mid].vpage <= vpage)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index of the first run in c that ends after vpage, c->n when none does. */
static uint32_t chunk_end_after(const struct chunk *c, uint64_t vpage)
{
	uint32_t lo = 0, hi = c->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (run_end(&c->runs[mid]) <= vpage)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Sets (*i, *p) to the normalized position of the first run that ends after
 * vpage: the run covering vpage if any, else the next one, else the end. */
static void pos_end_after(const rfs_pagemap *m, uint64_t vpage, size_t *i,
			  uint32_t *p)
{
	if (m->nchunks == 0) {
		*i = 0;
		*p = 0;
		return;
	}
	*i = slot_find(m, vpage);
	*p = chunk_end_after(m->slots[*i].c, vpage);
	if (*p == m->slots[*i].c->n) {
		(*i)++;
		*p = 0;
	}
}

/* Refreshes slot i's cached first vpage from its (non-empty) chunk. */
static inline void slot_sync(rfs_pagemap *m, size_t i)
{
	m->slots[i].first = m->slots[i].c->runs[0].vpage;
}

/* Inserts a slot for the non-empty chunk c at index i, shifting the slots
 * from i on up by one and growing the array when it is full. */
static void slot_insert(rfs_pagemap *m, size_t i, struct chunk *c)
{
	if (m->nchunks == m->cap) {
		m->cap = m->cap ? m->cap * 2 : SLOTS_MIN;
		m->slots = g_renew(struct slot, m->slots, m->cap);
	}
	memmove(m->slots + i + 1, m->slots + i,
		(m->nchunks - i) * sizeof(*m->slots));
	m->slots[i].c = c;
	m->nchunks++;
	slot_sync(m, i);
}

/* Removes the n slots from index i on (their chunks are not freed), and
 * shrinks the array when it gets mostly unused. */
static void slot_remove(rfs_pagemap *m, size_t i, size_t n)
{
	if (n == 0)
		return;
	memmove(m->slots + i, m->slots + i + n,
		(m->nchunks - i - n) * sizeof(*m->slots));
	m->nchunks -= n;
	if (m->nchunks == 0) {
		g_free(m->slots);
		m->slots = NULL;
		m->cap = 0;
	} else if (m->cap > SLOTS_MIN && m->nchunks <= m->cap / 4) {
		m->cap /= 2;
		m->slots = g_renew(struct slot, m->slots, m->cap);
	}
}

/* A new chunk holding no runs. */
static struct chunk *chunk_new(void)
{
	struct chunk *c = g_new(struct chunk, 1);

	c->n = 0;
	return c;
}

/* Evens out the runs of the chunks in slots lo and lo + 1, moving runs
 * across their boundary so that their counts differ by at most one. */
static void chunk_balance(rfs_pagemap *m, size_t lo)
{
	struct chunk *a = m->slots[lo].c, *b = m->slots[lo + 1].c;
	uint32_t total = a->n + b->n, na = total / 2, k;

	if (a->n > na) {
		k = a->n - na;
		memmove(b->runs + k, b->runs, b->n * sizeof(rfs_run));
		memcpy(b->runs, a->runs + na, k * sizeof(rfs_run));
	} else {
		k = na - a->n;
		memcpy(a->runs + a->n, b->runs, k * sizeof(rfs_run));
		memmove(b->runs, b->runs + k, (b->n - k) * sizeof(rfs_run));
	}
	a->n = na;
	b->n = total - na;
	slot_sync(m, lo + 1);
}

/* Moves every run of the chunk in slot lo + 1 to the end of the chunk in
 * slot lo (they must fit) and frees the emptied chunk and its slot. */
static void chunk_merge(rfs_pagemap *m, size_t lo)
{
	struct chunk *a = m->slots[lo].c, *b = m->slots[lo + 1].c;

	memcpy(a->runs + a->n, b->runs, b->n * sizeof(rfs_run));
	a->n += b->n;
	g_free(b);
	slot_remove(m, lo + 1, 1);
}

/* Restores the size rule for chunk i after runs left it: frees it when
 * empty; when it holds fewer than CHUNK_MIN runs and is not alone, merges
 * it into a neighbour (repeating while the result is still small) or, when
 * both together are too many, evens the two out.  Other chunks must already
 * obey the rule, since slot indexes shift under the caller. */
static void chunk_fixup(rfs_pagemap *m, size_t i)
{
	for (;;) {
		struct chunk *c = m->slots[i].c;
		size_t lo;

		if (c->n == 0) {
			g_free(c);
			slot_remove(m, i, 1);
			return;
		}
		if (c->n >= CHUNK_MIN || m->nchunks == 1)
			return;
		if (i == 0)
			lo = 0;
		else if (i + 1 == m->nchunks)
			lo = i - 1;
		else if (m->slots[i - 1].c->n <= m->slots[i + 1].c->n)
			lo = i - 1;
		else
			lo = i;
		if (m->slots[lo].c->n + m->slots[lo + 1].c->n > CHUNK_MERGE) {
			chunk_balance(m, lo);
			return;
		}
		chunk_merge(m, lo);
		i = lo;
	}
}

/* Inserts r at run index p (0..n) of chunk i, splitting the chunk first when
 * it is full; on an empty map (i, p) must be (0, 0).  r must fit there in
 * vpage order and overlap nothing. */
static void run_insert(rfs_pagemap *m, size_t i, uint32_t p, const rfs_run *r)
{
	struct chunk *c, *d;
	uint32_t s;

	if (m->nchunks == 0) {
		c = chunk_new();
		c->runs[0] = *r;
		c->n = 1;
		slot_insert(m, 0, c);
		m->nruns++;
		return;
	}
	c = m->slots[i].c;
	if (c->n == CHUNK_MAX) {
		/* Appending or prepending (sequential fill) leaves the old
		 * chunk mostly full; otherwise split in the middle. */
		if (p == CHUNK_MAX)
			s = CHUNK_MAX - (CHUNK_MIN - 1);
		else if (p == 0)
			s = CHUNK_MIN - 1;
		else
			s = CHUNK_MAX / 2;
		d = chunk_new();
		d->n = c->n - s;
		memcpy(d->runs, c->runs + s, d->n * sizeof(rfs_run));
		c->n = s;
		slot_insert(m, i + 1, d);
		if (p > s) {
			i++;
			p -= s;
			c = d;
		}
	}
	memmove(c->runs + p + 1, c->runs + p, (c->n - p) * sizeof(rfs_run));
	c->runs[p] = *r;
	c->n++;
	m->nruns++;
	if (p == 0)
		slot_sync(m, i);
}

/* Deletes the run at the (normalized, not end) position (i, p). */
static void run_delete(rfs_pagemap *m, size_t i, uint32_t p)
{
	struct chunk *c = m->slots[i].c;

	memmove(c->runs + p, c->runs + p + 1, (c->n - p - 1) * sizeof(rfs_run));
	c->n--;
	m->nruns--;
	if (p == 0 && c->n > 0)
		slot_sync(m, i);
	chunk_fixup(m, i);
}

/* Deletes the runs from normalized position (i, p) up to but not including
 * normalized position (j, e), which is not before it, then restores the
 * size rule for the chunks it shrank. */
static void runs_delete(rfs_pagemap *m, size_t i, uint32_t p, size_t j,
			uint32_t e)
{
	struct chunk *c;
	size_t k, gone;

	if (i == j) {
		if (p == e)
			return;
		c = m->slots[i].c;
		memmove(c->runs + p, c->runs + e, (c->n - e) * sizeof(rfs_run));
		c->n -= e - p;
		m->nruns -= e - p;
		if (p == 0 && c->n > 0)
			slot_sync(m, i);
		chunk_fixup(m, i);
		return;
	}
	/* Chunk i loses its tail (all of it when p is 0), the chunks between
	 * go whole, chunk j (if not the end) loses its first e runs. */
	gone = p == 0 ? i : i + 1;
	c = m->slots[i].c;
	m->nruns -= c->n - p;
	c->n = p;
	for (k = gone; k < j; k++) {
		if (k != i)
			m->nruns -= m->slots[k].c->n;
		g_free(m->slots[k].c);
	}
	slot_remove(m, gone, j - gone);
	j = gone;
	if (j < m->nchunks && e > 0) {
		c = m->slots[j].c;
		memmove(c->runs, c->runs + e, (c->n - e) * sizeof(rfs_run));
		c->n -= e;
		m->nruns -= e;
		slot_sync(m, j);
	}
	if (p == 0) {
		if (j < m->nchunks)
			chunk_fixup(m, j);
	} else if (j == m->nchunks) {
		chunk_fixup(m, i);
	} else if (m->slots[i].c->n + m->slots[j].c->n <= CHUNK_MERGE) {
		/* Both shrank: join them, then fix the one result up. */
		chunk_merge(m, i);
		chunk_fixup(m, i);
	} else {
		/* Only the smaller of the two can be below CHUNK_MIN. */
		chunk_fixup(m, m->slots[i].c->n < m->slots[j].c->n ? i : j);
	}
}

/* Removes the view pages a..b-1 (a < b) from the map: runs inside go, runs
 * across an edge are trimmed, a run across both edges is split in two. */
static void range_remove(rfs_pagemap *m, uint64_t a, uint64_t b)
{
	size_t i, j;
	uint32_t p, e;
	rfs_run *r;

	pos_end_after(m, a, &i, &p);
	if (i == m->nchunks)
		return;
	r = &m->slots[i].c->runs[p];
	if (r->vpage >= b)
		return;
	if (r->vpage < a) {
		uint64_t end = run_end(r);

		r->count = a - r->vpage;
		if (end > b) {
			rfs_run tail = {
			    .vpage = b,
			    .fpage = r->fpage + (b - r->vpage),
			    .count = end - b,
			};

			run_insert(m, i, p + 1, &tail);
			return;
		}
		if (++p == m->slots[i].c->n) {
			i++;
			p = 0;
		}
	}
	pos_end_after(m, b, &j, &e);
	if (j < m->nchunks) {
		r = &m->slots[j].c->runs[e];
		if (r->vpage < b) {
			uint64_t d = b - r->vpage;

			r->vpage = b;
			r->fpage += d;
			r->count -= d;
			if (e == 0)
				slot_sync(m, j);
		}
	}
	runs_delete(m, i, p, j, e);
}

/* Stores r, which overlaps no stored run, merging it into the run it
 * continues and/or the run that continues it. */
static void run_place(rfs_pagemap *m, const rfs_run *r)
{
	struct chunk *c;
	rfs_run *left = NULL, *right = NULL;
	size_t i, ri;
	uint32_t p, rp;

	if (m->nchunks == 0) {
		run_insert(m, 0, 0, r);
		return;
	}
	i = slot_find(m, r->vpage);
	c = m->slots[i].c;
	p = chunk_upper(c, r->vpage);
	if (p > 0 && run_continues(&c->runs[p - 1], r))
		left = &c->runs[p - 1];
	ri = i;
	rp = p;
	if (rp == c->n) {
		ri++;
		rp = 0;
	}
	if (ri < m->nchunks && run_continues(r, &m->slots[ri].c->runs[rp]))
		right = &m->slots[ri].c->runs[rp];

	if (left && right) {
		left->count += r->count + right->count;
		run_delete(m, ri, rp);
	} else if (left) {
		left->count += r->count;
	} else if (right) {
		right->vpage = r->vpage;
		right->fpage = r->fpage;
		right->count += r->count;
		if (rp == 0)
			slot_sync(m, ri);
	} else {
		run_insert(m, i, p, r);
	}
}

rfs_pagemap *rfs_pagemap_new(rfs_pagemap_kind kind)
{
	rfs_pagemap *m = g_new0(rfs_pagemap, 1);

	m->kind = kind;
	return m;
}

void rfs_pagemap_clear(rfs_pagemap *m)
{
	size_t i;

	for (i = 0; i < m->nchunks; i++)
		g_free(m->slots[i].c);
	g_free(m->slots);
	m->slots = NULL;
	m->nchunks = 0;
	m->cap = 0;
	m->nruns = 0;
}

void rfs_pagemap_free(rfs_pagemap *m)
{
	if (!m)
		return;
	rfs_pagemap_clear(m);
	g_free(m);
}

rfs_pagemap *rfs_pagemap_copy(const rfs_pagemap *m)
{
	rfs_pagemap *n = rfs_pagemap_new(m->kind);
	size_t i;

	if (m->nchunks == 0)
		return n;
	n->cap = MAX(m->nchunks, SLOTS_MIN);
	n->slots = g_new(struct slot, n->cap);
	for (i = 0; i < m->nchunks; i++) {
		const struct chunk *c = m->slots[i].c;
		struct chunk *d = chunk_new();

		d->n = c->n;
		memcpy(d->runs, c->runs, c->n * sizeof(rfs_run));
		n->slots[i].first = m->slots[i].first;
		n->slots[i].c = d;
	}
	n->nchunks = m->nchunks;
	n->nruns = m->nruns;
	return n;
}

bool rfs_pagemap_find(const rfs_pagemap *m, uint64_t vpage, uint64_t *fpage,
		      uint64_t *span)
{
	const rfs_run *r;
	uint64_t s;
	size_t i;
	uint32_t p;

	pos_end_after(m, vpage, &i, &p);
	if (i == m->nchunks) {
		s = UINT64_MAX - vpage;
	} else {
		r = &m->slots[i].c->runs[p];
		if (r->vpage <= vpage) {
			if (fpage)
				*fpage = r->fpage + (vpage - r->vpage);
			if (span)
				*span = run_end(r) - vpage;
			return true;
		}
		s = r->vpage - vpage;
	}
	if (span)
		*span = s;
	return false;
}

uint64_t rfs_pagemap_lookup(const rfs_pagemap *m, uint64_t vpage,
			    uint64_t *span)
{
	uint64_t fpage;

	if (rfs_pagemap_find(m, vpage, &fpage, span))
		return fpage;
	return vpage;
}

void rfs_pagemap_set(rfs_pagemap *m, uint64_t vpage, uint64_t fpage,
		     uint64_t count)
{
	rfs_run r = {.vpage = vpage, .fpage = fpage, .count = count};

	g_assert(count >= 1);
	g_assert(vpage <= UINT64_MAX - count);
	g_assert(fpage <= UINT64_MAX - count);
	range_remove(m, vpage, vpage + count);
	if (m->kind == RFS_PAGEMAP_IDENTITY && vpage == fpage)
		return;
	run_place(m, &r);
}

void rfs_pagemap_reset(rfs_pagemap *m, uint64_t vpage, uint64_t count)
{
	/* "To the end" from vpage UINT64_MAX is count 0: nothing to do, as
	 * no run can cover page UINT64_MAX. */
	if (vpage == UINT64_MAX && count == 0)
		return;
	g_assert(count >= 1);
	g_assert(vpage <= UINT64_MAX - count);
	range_remove(m, vpage, vpage + count);
}

size_t rfs_pagemap_nruns(const rfs_pagemap *m)
{
	return m->nruns;
}

size_t rfs_pagemap_memory(const rfs_pagemap *m)
{
	return sizeof(*m) + m->cap * sizeof(struct slot) +
	       m->nchunks * sizeof(struct chunk);
}

size_t rfs_pagemap_runs(const rfs_pagemap *m, uint64_t from, rfs_run *out,
			size_t max)
{
	size_t i, done = 0;
	uint32_t p, k;

	pos_end_after(m, from, &i, &p);
	for (; i < m->nchunks && done < max; i++, p = 0) {
		const struct chunk *c = m->slots[i].c;

		k = c->n - p;
		if (k > max - done)
			k = max - done;
		memcpy(out + done, c->runs + p, k * sizeof(rfs_run));
		done += k;
	}
	return done;
}

int rfs_pagemap_foreach(const rfs_pagemap *m,
			int (*fn)(const rfs_run *run, void *data), void *data)
{
	size_t i;
	uint32_t k;
	int ret;

	for (i = 0; i < m->nchunks; i++) {
		const struct chunk *c = m->slots[i].c;

		for (k = 0; k < c->n; k++) {
			ret = fn(&c->runs[k], data);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Logs why rfs_pagemap_check failed (at debug level) and fails it. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			g_debug("pagemap check failed: %s (chunk %zu)", #cond, \
				i);                                            \
			return false;                                          \
		}                                                              \
	} while (0)

bool rfs_pagemap_check(const rfs_pagemap *m)
{
	const rfs_run *prev = NULL;
	size_t i = 0, total = 0;
	uint32_t k;

	CHECK(m->kind == RFS_PAGEMAP_IDENTITY || m->kind == RFS_PAGEMAP_SPARSE);
	CHECK(m->nchunks <= m->cap);
	CHECK((m->cap == 0) == (m->slots == NULL));
	for (i = 0; i < m->nchunks; i++) {
		const struct chunk *c = m->slots[i].c;

		CHECK(c != NULL);
		CHECK(c->n >= 1 && c->n <= CHUNK_MAX);
		CHECK(m->nchunks == 1 || c->n >= CHUNK_MIN);
		CHECK(m->slots[i].first == c->runs[0].vpage);
		for (k = 0; k < c->n; k++) {
			const rfs_run *r = &c->runs[k];

			CHECK(r->count >= 1);
			CHECK(r->vpage <= UINT64_MAX - r->count);
			CHECK(r->fpage <= UINT64_MAX - r->count);
			CHECK(m->kind != RFS_PAGEMAP_IDENTITY ||
			      r->vpage != r->fpage);
			if (prev) {
				CHECK(run_end(prev) <= r->vpage);
				CHECK(!run_continues(prev, r));
			}
			prev = r;
		}
		total += c->n;
	}
	CHECK(total == m->nruns);
	return true;
}
