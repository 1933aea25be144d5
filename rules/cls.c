/* SPDX-License-Identifier: BSD-3-Clause */
#include "rules/cls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { F_SRC, F_DST, F_PORT, F_N };

/* One elementary interval, used while building. */
struct cls_iv {
	uint32_t lo;  /* interval start; iv[0].lo == 0 */
	uint32_t set; /* vector id */
};

/* Field value -> vector id, as a multibit trie over the elementary
 * intervals (DIR-16-8-8, like DPDK's LPM): l1 is indexed by the top 16
 * bits (the whole value for the 16-bit port field); an entry is a vector
 * id, or, with CHUNK set, the index of a 256-entry chunk of the next level
 * (next 8 bits). At most three dependent loads, no search. Chunks exist
 * only where an interval boundary falls inside a /16 (or /24). */
#define CHUNK 0x80000000u

struct cls_field {
	uint32_t bits; /* 32 or 16 */
	uint32_t *l1;  /* 65536 entries */
	uint32_t *l2, *l3; /* 256-entry chunks */
	uint32_t n_l2, n_l3;
	uint32_t n_iv;
};

struct cls_setref {
	uint32_t base;
};

struct rules_cls {
	/* all immutable after rules_cls_build() */
	uint32_t n_rules;
	uint32_t nwords; /* 64-bit words per dense vector */
	uint32_t nsum;	 /* summary words per vector */
	uint32_t rwords; /* 64-bit words holding the nsum uint32 ranks */
	unsigned port_any_classes;
	uint32_t all_set;
	uint32_t proto_set[CLS_N_PROTO];
	/* Rules that take any value in a field ("*" sources, "*" ports) are
	 * kept out of that field's interval vectors and stored once here;
	 * a field's match set is interval vector | wild vector. This keeps
	 * the per-interval vectors sparse (and small in memory) when most
	 * rules have source "*". */
	uint32_t wild[F_N];
	struct cls_field f[F_N];
	uint64_t *pool;
	size_t pool_n, pool_cap;
	struct cls_setref *sets;
	size_t n_sets, sets_cap;
};

/* ---- build ---- */

struct builder {
	struct rules_cls *c;
	uint64_t *tmp; /* compressed candidate: summary + packed */
	uint32_t *tab; /* interning hash table of set ids (+1; 0 empty) */
	uint32_t tab_bits;
	uint64_t *tab_h; /* hash per set id */
};

static uint64_t hash_words(const uint64_t *w, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 1024;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * elem);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

static int tab_resize(struct builder *b)
{
	uint32_t bits = b->tab_bits ? b->tab_bits + 1 : 10;
	uint32_t *t = calloc((size_t)1 << bits, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	uint32_t mask = (1u << bits) - 1;
	for (size_t id = 0; id < b->c->n_sets; id++) {
		uint32_t s = (uint32_t)(b->tab_h[id] >> (64 - bits));
		while (t[s] != 0)
			s = (s + 1) & mask;
		t[s] = (uint32_t)id + 1;
	}
	free(b->tab);
	b->tab = t;
	b->tab_bits = bits;
	return 0;
}

/* Intern a dense vector; returns its id or -ENOMEM. */
static int64_t intern(struct builder *b, const uint64_t *dense)
{
	struct rules_cls *c = b->c;
	uint32_t nsum = c->nsum, np = 0;
	uint64_t *sum = b->tmp, *packed = b->tmp + nsum + c->rwords;
	uint32_t *rank = (uint32_t *)(b->tmp + nsum);
	memset(b->tmp, 0, (nsum + c->rwords) * sizeof(uint64_t));
	for (uint32_t w = 0; w < c->nwords; w++) {
		if (dense[w] != 0) {
			sum[w >> 6] |= 1ull << (w & 63);
			packed[np++] = dense[w];
		}
	}
	uint32_t acc = 0;
	for (uint32_t i = 0; i < nsum; i++) {
		rank[i] = acc;
		acc += (uint32_t)__builtin_popcountll(sum[i]);
	}
	size_t len = nsum + c->rwords + np;
	uint64_t h = hash_words(b->tmp, len);

	if ((c->n_sets + 1) * 2 > ((size_t)1 << b->tab_bits) &&
	    tab_resize(b) < 0)
		return -ENOMEM;
	uint32_t mask = (1u << b->tab_bits) - 1;
	uint32_t s = (uint32_t)(h >> (64 - b->tab_bits));
	for (; b->tab[s] != 0; s = (s + 1) & mask) {
		uint32_t id = b->tab[s] - 1;
		const struct cls_setref *r = &c->sets[id];
		if (b->tab_h[id] != h)
			continue;
		size_t olen = (id + 1 < c->n_sets ? c->sets[id + 1].base
						  : c->pool_n) -
			      r->base;
		if (olen == len &&
		    memcmp(c->pool + r->base, b->tmp, len * sizeof(uint64_t)) == 0)
			return id;
	}
	if (grow((void **)&c->pool, &c->pool_cap, c->pool_n + len,
		 sizeof(uint64_t)) < 0 ||
	    grow((void **)&c->sets, &c->sets_cap, c->n_sets + 1,
		 sizeof(*c->sets)) < 0)
		return -ENOMEM;
	size_t hcap = c->sets_cap;
	uint64_t *th = realloc(b->tab_h, hcap * sizeof(uint64_t));
	if (th == NULL)
		return -ENOMEM;
	b->tab_h = th;
	uint32_t id = (uint32_t)c->n_sets++;
	c->sets[id].base = (uint32_t)c->pool_n;
	memcpy(c->pool + c->pool_n, b->tmp, len * sizeof(uint64_t));
	c->pool_n += len;
	b->tab_h[id] = h;
	b->tab[s] = id + 1;
	return id;
}

/* Vector id of value v, walking intervals with a cursor that only moves
 * forward (values are visited in ascending order). */
static inline uint32_t iv_at(const struct cls_iv *iv, size_t n, size_t *cur,
			     uint64_t v)
{
	while (*cur + 1 < n && iv[*cur + 1].lo <= v)
		(*cur)++;
	return iv[*cur].set;
}

/* Is there an interval boundary inside (lo, hi]? `cur` holds the interval
 * containing lo. */
static inline bool split(const struct cls_iv *iv, size_t n, size_t cur,
			 uint64_t hi)
{
	return cur + 1 < n && iv[cur + 1].lo <= hi;
}

static int build_trie(struct cls_field *f, const struct cls_iv *iv, size_t n)
{
	size_t cur = 0, cap2 = 0, cap3 = 0;
	f->l1 = malloc(65536 * sizeof(uint32_t));
	if (f->l1 == NULL)
		return -ENOMEM;
	if (f->bits == 16) {
		for (uint32_t v = 0; v < 65536; v++)
			f->l1[v] = iv_at(iv, n, &cur, v);
		return 0;
	}
	for (uint64_t b1 = 0; b1 < 65536; b1++) {
		uint64_t v1 = b1 << 16;
		uint32_t id = iv_at(iv, n, &cur, v1);
		if (!split(iv, n, cur, v1 + 0xffff)) {
			f->l1[b1] = id;
			continue;
		}
		if (grow((void **)&f->l2, &cap2, (f->n_l2 + 1) * 256u,
			 sizeof(uint32_t)) < 0)
			return -ENOMEM;
		f->l1[b1] = CHUNK | f->n_l2;
		uint32_t *c2 = f->l2 + (size_t)f->n_l2++ * 256;
		for (uint64_t b2 = 0; b2 < 256; b2++) {
			uint64_t v2 = v1 | (b2 << 8);
			id = iv_at(iv, n, &cur, v2);
			if (!split(iv, n, cur, v2 + 0xff)) {
				c2[b2] = id;
				continue;
			}
			if (grow((void **)&f->l3, &cap3, (f->n_l3 + 1) * 256u,
				 sizeof(uint32_t)) < 0)
				return -ENOMEM;
			c2 = f->l2 + (size_t)(f->n_l2 - 1) * 256; /* l2 stable */
			c2[b2] = CHUNK | f->n_l3;
			uint32_t *c3 = f->l3 + (size_t)f->n_l3++ * 256;
			for (uint64_t b3 = 0; b3 < 256; b3++)
				c3[b3] = iv_at(iv, n, &cur, v2 | b3);
		}
	}
	return 0;
}

struct ev {
	uint64_t pt;
	uint32_t rule;
	uint32_t add;
};

static int evcmp(const void *x, const void *y)
{
	const struct ev *a = x, *b = y;
	return a->pt < b->pt ? -1 : a->pt > b->pt;
}

static int build_field(struct builder *b, const struct rules_cls_rule *rules,
		       size_t n, int fi)
{
	struct rules_cls *c = b->c;
	struct cls_field *f = &c->f[fi];
	uint64_t max = fi == F_PORT ? 0xffff : 0xffffffffull;
	size_t ne = 0;
	for (size_t r = 0; r < n; r++) {
		size_t k = fi == F_SRC ? rules[r].n_src
			   : fi == F_DST ? rules[r].n_dst
					 : rules[r].n_ports;
		ne += 2 * (k ? k : 1);
	}
	struct ev *ev = malloc((ne + 1) * sizeof(*ev));
	uint64_t *dense = calloc(c->nwords, sizeof(uint64_t));
	struct cls_iv *iv = malloc((ne + 1) * sizeof(*iv));
	int rc = -ENOMEM;
	if (ev == NULL || dense == NULL || iv == NULL)
		goto out;
	ne = 0;
	uint64_t *wild = calloc(c->nwords, sizeof(uint64_t));
	if (wild == NULL)
		goto out;
	for (size_t r = 0; r < n; r++) {
		size_t k;
		const struct policy_range32 *r32 = NULL;
		const struct policy_range16 *r16 = NULL;
		if (fi == F_SRC) {
			k = rules[r].n_src;
			r32 = rules[r].src;
		} else if (fi == F_DST) {
			k = rules[r].n_dst;
			r32 = rules[r].dst;
		} else {
			k = rules[r].n_ports;
			r16 = rules[r].ports;
		}
		bool any = k == 0 ||
			   (k == 1 && (r32 ? r32[0].lo : r16[0].lo) == 0 &&
			    (r32 ? (uint64_t)r32[0].hi : (uint64_t)r16[0].hi) == max);
		if (any) {
			wild[r >> 6] |= 1ull << (r & 63);
			continue;
		}
		for (size_t i = 0; i < k; i++) {
			uint64_t l = r32 ? r32[i].lo : r16[i].lo;
			uint64_t h = r32 ? r32[i].hi : r16[i].hi;
			ev[ne++] = (struct ev){l, (uint32_t)r, 1};
			if (h < max)
				ev[ne++] = (struct ev){h + 1, (uint32_t)r, 0};
		}
	}
	int64_t wid = intern(b, wild);
	free(wild);
	if (wid < 0)
		goto out;
	c->wild[fi] = (uint32_t)wid;
	qsort(ev, ne, sizeof(*ev), evcmp);
	/* Sweep. A rule's ranges in one field are disjoint and not adjacent
	 * (merged by the loader), so set/clear of its bit is exact; removals
	 * at a point are applied before additions at the same point. */
	size_t i = 0, niv = 0;
	uint64_t pos = 0;
	for (;;) {
		for (size_t j = i; j < ne && ev[j].pt == pos; j++)
			if (!ev[j].add)
				dense[ev[j].rule >> 6] &=
					~(1ull << (ev[j].rule & 63));
		for (; i < ne && ev[i].pt == pos; i++)
			if (ev[i].add)
				dense[ev[i].rule >> 6] |= 1ull
							  << (ev[i].rule & 63);
		int64_t id = intern(b, dense);
		if (id < 0)
			goto out;
		if (niv == 0 || iv[niv - 1].set != (uint32_t)id) {
			iv[niv].lo = (uint32_t)pos;
			iv[niv++].set = (uint32_t)id;
		}
		if (i == ne)
			break;
		pos = ev[i].pt;
	}
	f->n_iv = (uint32_t)niv;
	f->bits = fi == F_PORT ? 16 : 32;
	rc = build_trie(f, iv, niv);
	if (rc < 0)
		goto out;
	rc = 0;
out:
	free(ev);
	free(dense);
	free(iv);
	return rc;
}

int rules_cls_build(const struct rules_cls_rule *rules, size_t n,
		    unsigned port_any_classes, struct rules_cls **out)
{
	struct rules_cls *c = calloc(1, sizeof(*c));
	struct builder b = {.c = c};
	uint64_t *dense = NULL;
	int rc = -ENOMEM;
	*out = NULL;
	if (c == NULL)
		return -ENOMEM;
	if (n >= (1u << 30)) {
		free(c);
		return -E2BIG;
	}
	c->n_rules = (uint32_t)n;
	c->nwords = (uint32_t)((n + 63) / 64);
	if (c->nwords == 0)
		c->nwords = 1;
	c->nsum = (c->nwords + 63) / 64;
	c->rwords = (c->nsum + 1) / 2;
	c->port_any_classes = port_any_classes;
	b.tmp = malloc((c->nsum + c->rwords + c->nwords) * sizeof(uint64_t));
	dense = calloc(c->nwords, sizeof(uint64_t));
	if (b.tmp == NULL || dense == NULL || tab_resize(&b) < 0)
		goto out;

	for (size_t r = 0; r < n; r++)
		dense[r >> 6] |= 1ull << (r & 63);
	int64_t id = intern(&b, dense);
	if (id < 0)
		goto out;
	c->all_set = (uint32_t)id;
	for (int k = 0; k < CLS_N_PROTO; k++) {
		memset(dense, 0, c->nwords * sizeof(uint64_t));
		for (size_t r = 0; r < n; r++)
			if (rules[r].proto_mask & (1u << k))
				dense[r >> 6] |= 1ull << (r & 63);
		if ((id = intern(&b, dense)) < 0)
			goto out;
		c->proto_set[k] = (uint32_t)id;
	}
	for (int fi = 0; fi < F_N; fi++)
		if ((rc = build_field(&b, rules, n, fi)) < 0)
			goto out;
	rc = 0;
	*out = c;
	c = NULL;
out:
	free(b.tmp);
	free(b.tab);
	free(b.tab_h);
	free(dense);
	rules_cls_free(c);
	return rc;
}

void rules_cls_free(struct rules_cls *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < F_N; i++) {
		free(c->f[i].l1);
		free(c->f[i].l2);
		free(c->f[i].l3);
	}
	free(c->pool);
	free(c->sets);
	free(c);
}

size_t rules_cls_memory(const struct rules_cls *c)
{
	size_t m = sizeof(*c) + c->pool_n * 8 +
		   c->n_sets * sizeof(struct cls_setref);
	for (int i = 0; i < F_N; i++)
		m += (65536 + ((size_t)c->f[i].n_l2 + c->f[i].n_l3) * 256) * 4;
	return m;
}

/* ---- lookup (data plane) ---- */

void rules_cls_lookup_sets_bulk(const struct rules_cls *c,
				const struct rules_cls_key *k, unsigned n,
				struct rules_cls_sets *s)
{
	/* One pass per trie level over the burst, so that each packet's
	 * memory accesses (level 1, 2, 3 entries, vector summaries) are
	 * prefetched while the other packets are worked on: the per-packet
	 * latency chain of rules_cls_lookup_sets() becomes throughput. */
	uint32_t e[RULES_CLS_BULK_MAX][2];
	const struct cls_field *fs = &c->f[F_SRC], *fd = &c->f[F_DST];
	if (n > RULES_CLS_BULK_MAX)
		n = RULES_CLS_BULK_MAX;
	for (unsigned i = 0; i < n; i++) {
		__builtin_prefetch(&fs->l1[k[i].src >> 16]);
		__builtin_prefetch(&fd->l1[k[i].dst >> 16]);
		__builtin_prefetch(&c->f[F_PORT].l1[k[i].port]);
	}
	/* level 1 -> prefetch level 2 */
	for (unsigned i = 0; i < n; i++) {
		e[i][0] = fs->l1[k[i].src >> 16];
		e[i][1] = fd->l1[k[i].dst >> 16];
		if (e[i][0] & CHUNK)
			__builtin_prefetch(&fs->l2[(size_t)(e[i][0] & ~CHUNK) * 256 +
						   ((k[i].src >> 8) & 0xff)]);
		if (e[i][1] & CHUNK)
			__builtin_prefetch(&fd->l2[(size_t)(e[i][1] & ~CHUNK) * 256 +
						   ((k[i].dst >> 8) & 0xff)]);
	}
	/* level 2 -> prefetch level 3 */
	for (unsigned i = 0; i < n; i++) {
		if (e[i][0] & CHUNK) {
			e[i][0] = fs->l2[(size_t)(e[i][0] & ~CHUNK) * 256 +
					 ((k[i].src >> 8) & 0xff)];
			if (e[i][0] & CHUNK)
				__builtin_prefetch(&fs->l3[(size_t)(e[i][0] & ~CHUNK) * 256 +
							   (k[i].src & 0xff)]);
		}
		if (e[i][1] & CHUNK) {
			e[i][1] = fd->l2[(size_t)(e[i][1] & ~CHUNK) * 256 +
					 ((k[i].dst >> 8) & 0xff)];
			if (e[i][1] & CHUNK)
				__builtin_prefetch(&fd->l3[(size_t)(e[i][1] & ~CHUNK) * 256 +
							   (k[i].dst & 0xff)]);
		}
	}
	/* level 3 -> vector ids; prefetch their summaries */
	for (unsigned i = 0; i < n; i++) {
		if (e[i][0] & CHUNK)
			e[i][0] = fs->l3[(size_t)(e[i][0] & ~CHUNK) * 256 +
					 (k[i].src & 0xff)];
		if (e[i][1] & CHUNK)
			e[i][1] = fd->l3[(size_t)(e[i][1] & ~CHUNK) * 256 +
					 (k[i].dst & 0xff)];
		s[i].set[0] = e[i][0];
		s[i].set[1] = e[i][1];
		s[i].set[2] = c->f[F_PORT].l1[k[i].port];
		for (int fi = 0; fi < 3; fi++)
			__builtin_prefetch(c->pool + c->sets[s[i].set[fi]].base);
		if ((c->port_any_classes >> k[i].proto) & 1)
			s[i].set[2] = c->all_set;
		s[i].set[3] = c->proto_set[k[i].proto < CLS_N_PROTO
						   ? k[i].proto
						   : CLS_N_PROTO - 1];
		s[i].set[4] = c->wild[F_SRC];
		s[i].set[5] = c->wild[F_DST];
		s[i].set[6] = (c->port_any_classes >> k[i].proto) & 1
				      ? c->all_set
				      : c->wild[F_PORT];
	}
}

/* A burst of one: the source and destination trie walks still overlap. */
void rules_cls_lookup_sets(const struct rules_cls *c,
			   const struct rules_cls_key *k,
			   struct rules_cls_sets *s)
{
	rules_cls_lookup_sets_bulk(c, k, 1, s);
}

static inline uint64_t word_of(const struct rules_cls *c, uint32_t set,
			       uint32_t w)
{
	const struct cls_setref *r = &c->sets[set];
	const uint64_t *sum = c->pool + r->base;
	uint32_t sw = w >> 6;
	uint64_t bit = 1ull << (w & 63);
	if (!(sum[sw] & bit))
		return 0;
	const uint32_t *rank = (const uint32_t *)(sum + c->nsum);
	uint32_t idx = rank[sw] +
		       (uint32_t)__builtin_popcountll(sum[sw] & (bit - 1));
	return sum[c->nsum + c->rwords + idx];
}

bool rules_cls_test(const struct rules_cls *c, const struct rules_cls_sets *s,
		    uint32_t r)
{
	if (r >= c->n_rules)
		return false;
	uint64_t bit = 1ull << (r & 63);
	for (int k = 0; k < 3; k++)
		if (!((word_of(c, s->set[k], r >> 6) |
		       word_of(c, s->set[4 + k], r >> 6)) & bit))
			return false;
	return (word_of(c, s->set[3], r >> 6) & bit) != 0;
}

uint32_t rules_cls_next(const struct rules_cls *c,
			const struct rules_cls_sets *s, uint32_t from)
{
	if (from >= c->n_rules)
		return CLS_NONE;
	const uint64_t *S[7];
	const uint32_t *R[7];
	for (int k = 0; k < 7; k++) {
		const struct cls_setref *r = &c->sets[s->set[k]];
		S[k] = c->pool + r->base;
		R[k] = (const uint32_t *)(S[k] + c->nsum);
	}
	const uint32_t nsum = c->nsum, fw = from >> 6;
	const uint32_t pk = c->nsum + c->rwords;
	/* Bounded by nsum summary words and 64 words per summary word. */
	for (uint32_t sw = fw >> 6; sw < nsum; sw++) {
		uint64_t m = (S[0][sw] | S[4][sw]) & (S[1][sw] | S[5][sw]) &
			     (S[2][sw] | S[6][sw]) & S[3][sw];
		if (sw == fw >> 6)
			m &= ~0ull << (fw & 63);
		while (m != 0) {
			unsigned b = (unsigned)__builtin_ctzll(m);
			uint64_t below = (1ull << b) - 1;
#define WD(k)                                                                  \
	((S[k][sw] >> b) & 1                                                   \
		 ? S[k][pk + R[k][sw] +                                        \
			(uint32_t)__builtin_popcountll(S[k][sw] & below)]      \
		 : 0)
			/* destination first: usually the sparsest */
			uint64_t x = WD(1) | WD(5);
			if (x != 0)
				x &= (WD(0) | WD(4)) & (WD(2) | WD(6)) & WD(3);
#undef WD
			uint32_t w = sw * 64 + b;
			if (w == fw)
				x &= ~0ull << (from & 63);
			if (x != 0)
				return w * 64 + (uint32_t)__builtin_ctzll(x);
			m &= m - 1;
		}
	}
	return CLS_NONE;
}
