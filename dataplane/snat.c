/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNAT port allocator (see snat.h for what it promises). How it keeps the
 * cost flat up to the last port, and why every loop ends:
 *
 * Endpoint-dependent mapping. Each port space (proto, dst, dport, F) that
 * holds at least one allocation has a 16-byte record in an open-addressing
 * table (linear probing, backward-shift deletion, so no tombstones). A space
 * exists only while it holds an allocation, so there are never more spaces
 * than max_sessions, and the table has 3/2 as many slots: it is never more
 * than 2/3 full, every probe walk meets an empty slot, and the expected walk
 * is short (about 2 slots for a hit, 5 for a miss at the worst load).
 *
 * The record counts its allocations exactly; which ports they are, the
 * tracker knows (in_use()). While a space is sparse (count below T, 1/32 of
 * the slice) a random port is taken with probability below 1/32, so random
 * probes checked by in_use() cost about one question each (RFC 6056 section
 * 3.3.2, "random port, check, retry"). Once the count reaches T the space
 * gets a port bitmap (one bit per port of the slice, plus a summary bit per
 * 64-bit word that says "this word is full") from a pool reserved at start,
 * and the search becomes "first clear bit after a random start" (RFC 6056
 * section 3.3.1 with the taken ports skipped a word at a time): at most
 * slice/4096 + 1 summary words (17 for 64,512 ports) and two bitmap words
 * are read, whatever the utilisation. The bitmap is filled lazily: a bit
 * is set for each port handed out while it is attached, and for each port
 * in_use() reports taken (the ones handed out before it was attached, or
 * someone else's); a port freed clears its bit. A clear bit is still checked
 * with in_use() before it is handed out, so a tuple is never given twice
 * even if the bitmap is behind. The lazy filling stays cheap: the
 * undiscovered ports are at most T, and as the space fills they remain at
 * most about the same fraction (T/slice, 1/32) of the clear bits, so the
 * extra questions per allocation stay below about 3 % from T to full (the
 * benchmark measures 1.00-1.01 questions per allocation at every level).
 * At count == slice the space answers "full" without searching; that is
 * what makes exhaustion exact and cheap.
 *
 * A space drops its bitmap when its count falls below T/2 (hysteresis, so a
 * space that hovers around T does not attach and detach on every flow). So a
 * space that holds a bitmap has at least T/2 allocations, at most
 * max_sessions / (T/2) spaces can hold one at once, and that many bitmaps
 * (plus a small reserve, below) are reserved at start: attaching never fails.
 * At the default slice of 64,512 ports a bitmap is 8 KiB and T/2 is 1,008
 * allocations, about 8 bytes per session.
 *
 * If eight random probes of a sparse space all hit taken ports, someone else
 * uses much of that space (a DNAT listener range inside the SNAT slice); the
 * space then takes an "early" bitmap from a reserve of SNAT_EARLY_BITMAPS,
 * and when that reserve is in use the frontend IP is skipped for this flow.
 * That keeps every call bounded and never hands out a taken tuple; it only
 * costs exactness in that pathological case.
 *
 * Endpoint-independent mapping. A mapping table (proto, src, sport) ->
 * (F, P, references), the same open-addressing table, and one exact bitmap
 * per (protocol class, F) that says which ports belong to some endpoint
 * ((proto, F, P) is the endpoint's alone, so a port is exclusive across
 * destinations). The reply tuple is still checked with in_use() for each
 * destination.
 *
 * Loops: the frontend-IP loop runs at most n_ips times; a table walk at most
 * cap slots (it stops at the first empty one, and a third are empty); a
 * summary search reads at most n_sum + 1 words; the sparse probe loop makes
 * SNAT_PROBES tries; the dense loop sets a bit on every pass that does not
 * return, so it makes at most slice passes (and in steady state one); the
 * EIM search asks at most SNAT_EIM_TRIES questions per frontend IP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/snat.h"

#define SNAT_PROBES 8           /* random tries while a space is sparse */
#define SNAT_DENSE_DIV 32       /* T = slice / 32: sparse probes hit < 1/32 */
#define SNAT_EARLY_BITMAPS 32   /* reserve for spaces crowded by others */
#define SNAT_EIM_TRIES 16       /* in_use() questions per F for a new EIM mapping */
#define SNAT_EIM_CLASSES 4      /* TCP, UDP, ICMP, everything else */

#define GOLDEN 0x9E3779B97F4A7C15ULL

/*
 * One table slot, 16 bytes, four to a cache line. EDM: a port space, keyed by
 * (dst, dport, proto) in `key` and the frontend IP index `fidx`. EIM: a
 * mapping, keyed by (src, sport, proto) in `key` alone.
 */
struct slot {
	uint64_t key;           /* addr << 32 | port << 16 | proto << 8 | 1; 0: empty */
	uint16_t fidx;          /* frontend IP index */
	union {
		uint16_t count; /* EDM: allocations held in this space */
		uint16_t port;  /* EIM: the mapping's port */
	};
	union {
		uint32_t bm;    /* EDM: bitmap index + 1, 0 when sparse */
		uint32_t refs;  /* EIM: allocations using this mapping */
	};
};

struct table {
	struct slot *slots;
	uint32_t cap;           /* > max_sessions * 3 / 2: never 2/3 full */
	uint32_t n;
	uint64_t seed;
	bool keyed_fidx;        /* EDM: fidx is part of the key */
};

struct ip_slot {
	uint32_t ip;
	uint32_t idx;
};

struct snat_pool {
	/* Fixed at creation. */
	bool eim;
	uint16_t port_lo;
	uint32_t slice;          /* ports in [port_lo, port_hi] */
	unsigned n_ips;
	unsigned max_sessions;
	unsigned dense_at;       /* T: a space this busy gets a bitmap */
	unsigned sparse_below;   /* T/2: a space less busy gives it back */
	unsigned n_words;        /* 64-bit words of port bits per bitmap */
	unsigned n_sum;          /* summary words per bitmap */
	unsigned bm_words;       /* n_words + n_sum */
	size_t memory;
	uint32_t *ips;           /* params order */
	struct ip_slot *by_ip;   /* sorted by address, for snat_free() */
	uint64_t *bm_mem;        /* EDM: n_bm bitmaps; EIM: one per (class, F) */
	uint32_t n_bm;

	/* The owning worker writes everything below; the control thread may
	 * read ip_in_use and st (plain loads, possibly a moment old). */
	struct table tab;
	uint32_t *bm_free;       /* EDM: stack of free bitmap indices */
	uint32_t n_bm_free;
	unsigned early;          /* EDM: bitmaps held by spaces below T/2 */
	uint32_t *eim_used;      /* EIM: ports taken per (class, F) */
	uint64_t rng;
	uint32_t *ip_in_use;
	struct snat_stats st;
};

/* ---- hashing and randomness ---- */

static inline uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* splitmix64: one add and a mix per draw; the pool's own stream. */
static inline uint64_t
rng_next(struct snat_pool *p)
{
	p->rng += GOLDEN;
	return mix64(p->rng);
}

/* Uniform in [0, n) for n <= 2^32 (Lemire's multiply-shift; the bias is
 * below n / 2^32, irrelevant here). */
static inline uint32_t
below(uint64_t r, uint32_t n)
{
	return (uint32_t)(((r >> 32) * (uint64_t)n) >> 32);
}

static inline uint64_t
make_key(uint32_t addr, uint16_t port, uint8_t proto)
{
	return (uint64_t)addr << 32 | (uint64_t)port << 16 | (uint64_t)proto << 8 | 1;
}

/* ---- open-addressing table ---- */

static inline uint32_t
home(const struct table *t, uint64_t key, uint16_t fidx)
{
	return below(mix64((key ^ t->seed) + fidx * GOLDEN), t->cap);
}

/* The slot holding (key, fidx), or the empty slot where it belongs. */
static inline uint32_t
table_find(const struct table *t, uint64_t key, uint16_t fidx, bool *found)
{
	uint32_t i = home(t, key, t->keyed_fidx ? fidx : 0);

	/* Bounded by cap: at least a third of the slots are empty, so the walk
	 * meets one long before it could go round. */
	for (uint32_t step = 0; step < t->cap; step++) {
		const struct slot *s = &t->slots[i];

		if (s->key == 0) {
			*found = false;
			return i;
		}
		if (s->key == key && (!t->keyed_fidx || s->fidx == fidx)) {
			*found = true;
			return i;
		}
		if (++i == t->cap)
			i = 0;
	}
	*found = false;
	return UINT32_MAX;      /* unreachable: the table is never full */
}

/* Backward-shift deletion: pull later entries of the run into the hole
 * when their home allows, so lookups never need tombstones. */
static void
table_remove(struct table *t, uint32_t i)
{
	uint32_t j = i;

	/* Bounded like table_find: the run ends at an empty slot. */
	for (uint32_t step = 0; step < t->cap; step++) {
		const struct slot *s;
		uint32_t h;

		if (++j == t->cap)
			j = 0;
		s = &t->slots[j];
		if (s->key == 0)
			break;
		h = home(t, s->key, t->keyed_fidx ? s->fidx : 0);
		/* The entry at j may fill the hole at i when i lies in the
		 * cyclic interval [h, j). */
		if (j > i ? (h <= i || h > j) : (h <= i && h > j)) {
			t->slots[i] = *s;
			i = j;
		}
	}
	memset(&t->slots[i], 0, sizeof(t->slots[i]));
	t->n--;
}

/* ---- port bitmaps with a summary level ---- */

static inline uint64_t *
bitmap(const struct snat_pool *p, uint32_t idx)
{
	return p->bm_mem + (size_t)idx * p->bm_words;
}

/* Empty, with the bits past the slice (and the summary bits past the last
 * word) set, so that a search never returns them. */
static void
bm_reset(const struct snat_pool *p, uint64_t *b)
{
	memset(b, 0, p->bm_words * sizeof(uint64_t));
	if (p->slice % 64)
		b[p->n_words - 1] = ~0ULL << (p->slice % 64);
	if (p->n_words % 64)
		b[p->n_words + p->n_sum - 1] = ~0ULL << (p->n_words % 64);
}

static inline void
bm_set(const struct snat_pool *p, uint64_t *b, unsigned bit)
{
	unsigned w = bit >> 6;

	b[w] |= 1ULL << (bit & 63);
	if (b[w] == UINT64_MAX)
		b[p->n_words + (w >> 6)] |= 1ULL << (w & 63);
}

static inline void
bm_clear(const struct snat_pool *p, uint64_t *b, unsigned bit)
{
	unsigned w = bit >> 6;

	b[w] &= ~(1ULL << (bit & 63));
	b[p->n_words + (w >> 6)] &= ~(1ULL << (w & 63));
}

/* The first clear bit at or after `start`, cyclically; -1 when none. */
static int
bm_next_clear(const struct snat_pool *p, const uint64_t *b, unsigned start)
{
	const uint64_t *sum = b + p->n_words;
	unsigned w = start >> 6, v;
	uint64_t x = ~(b[w] | ((1ULL << (start & 63)) - 1));

	if (x)
		return (int)(w * 64 + (unsigned)__builtin_ctzll(x));
	v = w + 1 == p->n_words ? 0 : w + 1;
	/* Bounded by n_sum + 1 summary words: from word v's summary word to
	 * the end, then from the start round to that summary word again (the
	 * last pass covers word w's bits below `start`). */
	for (unsigned k = 0; k <= p->n_sum; k++) {
		unsigned sw = v >> 6;
		uint64_t avail = ~(sum[sw] | ((1ULL << (v & 63)) - 1));

		if (avail) {
			unsigned ww = sw * 64 + (unsigned)__builtin_ctzll(avail);

			return (int)(ww * 64 + (unsigned)__builtin_ctzll(~b[ww]));
		}
		v = (sw + 1) * 64;
		if (v >= p->n_words)
			v = 0;
	}
	return -1;
}

/* ---- shared helpers ---- */

static inline bool
ask(struct snat_pool *p, snat_in_use_fn in_use, void *ctx, uint8_t proto, uint32_t dst,
    uint16_t dport, uint32_t fip, uint16_t fport)
{
	p->st.in_use_calls++;
	return in_use(ctx, proto, dst, dport, fip, fport);
}

static int
ip_index(const struct snat_pool *p, uint32_t ip)
{
	unsigned lo = 0, hi = p->n_ips;

	/* Binary search: at most log2(SNAT_MAX_IPS) + 1 steps. */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (p->by_ip[mid].ip < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n_ips && p->by_ip[lo].ip == ip ? (int)p->by_ip[lo].idx : -1;
}

static inline unsigned
next_ip(const struct snat_pool *p, unsigned f)
{
	return f + 1 == p->n_ips ? 0 : f + 1;
}

static void
account_alloc(struct snat_pool *p, unsigned f, unsigned tries)
{
	p->ip_in_use[f]++;
	p->st.live++;
	p->st.allocs++;
	if (tries > 0)
		p->st.spilled++;
}

/*
 * Paired pooling (RFC 4787 REQ-2, RFC 6888 REQ-2). A fixed hash of the
 * address, not seeded by the pool: every worker (each with its own pool)
 * and tollctl must name the same frontend IP for a host. murmur3's
 * finaliser spreads consecutive addresses evenly; the multiply-shift maps
 * it onto n_ips without a division.
 */
unsigned
snat_paired_index(const struct snat_pool *p, uint32_t src)
{
	uint32_t h = src;

	h ^= h >> 16;
	h *= 0x85EBCA6BU;
	h ^= h >> 13;
	h *= 0xC2B2AE35U;
	h ^= h >> 16;
	return (unsigned)(((uint64_t)h * p->n_ips) >> 32);
}

/* ---- endpoint-dependent mapping ---- */

/* Attach a bitmap to the space in slot s. `early`: the space is below T
 * and crowded by others; only the reserve may serve it. */
static bool
attach(struct snat_pool *p, struct slot *s, bool early)
{
	bool below_half = s->count < p->sparse_below;

	if (p->n_bm_free == 0 || (below_half && (!early || p->early >= SNAT_EARLY_BITMAPS)))
		return false;
	s->bm = p->bm_free[--p->n_bm_free] + 1;
	bm_reset(p, bitmap(p, s->bm - 1));
	if (below_half)
		p->early++;
	p->st.bitmap_attaches++;
	return true;
}

/* Called with the space's count already at its new value; `was` is the
 * count before the free. */
static void
detach(struct snat_pool *p, struct slot *s, unsigned was)
{
	if (was < p->sparse_below)
		p->early--;
	p->bm_free[p->n_bm_free++] = s->bm - 1;
	s->bm = 0;
}

/* Dense search: first clear bit after a random start, checked with the
 * tracker; ports it reports taken are remembered. */
static int
dense_pick(struct snat_pool *p, struct slot *s, uint8_t proto, uint32_t dst, uint16_t dport,
	   uint32_t fip, snat_in_use_fn in_use, void *ctx)
{
	uint64_t *b = bitmap(p, s->bm - 1);
	unsigned start = below(rng_next(p), p->slice);

	/* Bounded by slice: a pass that does not return sets one more of the
	 * slice's bits. In steady state the first clear bit is free. */
	for (unsigned n = 0; n < p->slice; n++) {
		int bit = bm_next_clear(p, b, start);
		uint16_t port;

		if (bit < 0)
			return -1;
		port = (uint16_t)(p->port_lo + (unsigned)bit);
		if (!ask(p, in_use, ctx, proto, dst, dport, fip, port))
			return port;
		bm_set(p, b, (unsigned)bit);
		start = (unsigned)bit + 1 == p->slice ? 0 : (unsigned)bit + 1;
	}
	return -1;
}

static int
pick_port(struct snat_pool *p, struct slot *s, uint8_t proto, uint32_t dst, uint16_t dport,
	  uint32_t fip, snat_in_use_fn in_use, void *ctx)
{
	if (s->bm == 0 && s->count >= p->dense_at)
		attach(p, s, false);    /* cannot fail: see the reserve's sizing */
	if (s->bm != 0)
		return dense_pick(p, s, proto, dst, dport, fip, in_use, ctx);

	/* Sparse: fewer than 1/32 of the ports are ours, so a try fails with
	 * probability below 1/32 unless others crowd the space. */
	for (unsigned t = 0; t < SNAT_PROBES; t++) {
		uint16_t port = (uint16_t)(p->port_lo + below(rng_next(p), p->slice));

		if (!ask(p, in_use, ctx, proto, dst, dport, fip, port))
			return port;
	}
	if (attach(p, s, true))
		return dense_pick(p, s, proto, dst, dport, fip, in_use, ctx);
	return -1;
}

static int
edm_alloc(struct snat_pool *p, uint8_t proto, uint32_t src, uint32_t dst, uint16_t dport,
	  snat_in_use_fn in_use, void *ctx, uint32_t *fip, uint16_t *fport)
{
	uint64_t key = make_key(dst, dport, proto);
	unsigned f = snat_paired_index(p, src);

	/* Bounded by n_ips: each frontend IP is tried once, paired first. */
	for (unsigned k = 0; k < p->n_ips; k++, f = next_ip(p, f)) {
		bool found;
		uint32_t i = table_find(&p->tab, key, (uint16_t)f, &found);
		struct slot *s = &p->tab.slots[i];
		int port;

		if (found && s->count == p->slice)
			continue;       /* exhausted: exact, no search */
		if (!found)
			*s = (struct slot){ .key = key, .fidx = (uint16_t)f };
		port = pick_port(p, s, proto, dst, dport, p->ips[f], in_use, ctx);
		if (port < 0) {
			if (!found) {   /* nothing else moved: still our empty slot */
				if (s->bm != 0)
					detach(p, s, 0);
				s->key = 0;
			}
			continue;
		}
		if (!found)
			p->tab.n++;
		if (s->bm != 0) {
			bm_set(p, bitmap(p, s->bm - 1), (unsigned)port - p->port_lo);
			if (s->count + 1U == p->sparse_below)
				p->early--;     /* an early bitmap became a normal one */
		}
		s->count++;
		account_alloc(p, f, k);
		*fip = p->ips[f];
		*fport = (uint16_t)port;
		return 0;
	}
	p->st.exhausted++;
	return -ENOSPC;
}

static int
edm_free(struct snat_pool *p, uint8_t proto, uint32_t dst, uint16_t dport, unsigned f,
	 uint16_t fport)
{
	bool found;
	uint32_t i = table_find(&p->tab, make_key(dst, dport, proto), (uint16_t)f, &found);
	struct slot *s = &p->tab.slots[i];
	unsigned was;

	if (!found)
		return -ENOENT;
	was = s->count--;
	if (s->bm != 0) {
		bm_clear(p, bitmap(p, s->bm - 1), (unsigned)fport - p->port_lo);
		if (s->count < p->sparse_below)
			detach(p, s, was);
	}
	if (s->count == 0)
		table_remove(&p->tab, i);
	return 0;
}

/* ---- endpoint-independent mapping (RFC 4787 REQ-1, RFC 5382 REQ-1) ---- */

static unsigned
proto_class(uint8_t proto)
{
	switch (proto) {
	case 6:
		return 0;
	case 17:
		return 1;
	case 1:
		return 2;
	default:
		return 3;       /* shared: conservative, never a clash */
	}
}

static int
eim_alloc(struct snat_pool *p, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
	  uint16_t dport, snat_in_use_fn in_use, void *ctx, uint32_t *fip, uint16_t *fport)
{
	uint64_t key = make_key(src, sport, proto);
	unsigned cls = proto_class(proto), f;
	bool found;
	uint32_t i = table_find(&p->tab, key, 0, &found);
	struct slot *m = &p->tab.slots[i];

	if (found) {
		/* The endpoint keeps its (F, P) for every destination; only this
		 * reply tuple can clash (its previous session still held down,
		 * or someone else's). */
		if (ask(p, in_use, ctx, proto, dst, dport, p->ips[m->fidx], m->port))
			return -EADDRINUSE;
		m->refs++;
		account_alloc(p, m->fidx, 0);
		*fip = p->ips[m->fidx];
		*fport = m->port;
		return 0;
	}

	f = snat_paired_index(p, src);
	/* Bounded by n_ips, as in edm_alloc(). */
	for (unsigned k = 0; k < p->n_ips; k++, f = next_ip(p, f)) {
		uint32_t *used = &p->eim_used[cls * p->n_ips + f];
		uint64_t *b = bitmap(p, cls * p->n_ips + f);
		unsigned start = below(rng_next(p), p->slice);
		unsigned free_bits = p->slice - *used;

		/* The bitmap is exact, so a clear bit is a port no endpoint
		 * holds; in_use() can only object for this destination (a
		 * DNAT listener inside the slice). Each pass visits the next
		 * clear bit, so there are at most free_bits distinct ones, and
		 * at most SNAT_EIM_TRIES questions before trying the next F. */
		for (unsigned n = 0; n < free_bits && n < SNAT_EIM_TRIES; n++) {
			int bit = bm_next_clear(p, b, start);
			uint16_t port;

			if (bit < 0)
				break;
			port = (uint16_t)(p->port_lo + (unsigned)bit);
			if (!ask(p, in_use, ctx, proto, dst, dport, p->ips[f], port)) {
				bm_set(p, b, (unsigned)bit);
				(*used)++;
				*m = (struct slot){
					.key = key, .fidx = (uint16_t)f, .port = port, .refs = 1
				};
				p->tab.n++;
				account_alloc(p, f, k);
				*fip = p->ips[f];
				*fport = port;
				return 0;
			}
			start = (unsigned)bit + 1 == p->slice ? 0 : (unsigned)bit + 1;
		}
	}
	p->st.exhausted++;
	return -ENOSPC;
}

static int
eim_free(struct snat_pool *p, uint8_t proto, uint32_t src, uint16_t sport, unsigned f,
	 uint16_t fport)
{
	bool found;
	uint32_t i = table_find(&p->tab, make_key(src, sport, proto), 0, &found);
	struct slot *m = &p->tab.slots[i];

	if (!found || m->fidx != f || m->port != fport)
		return -ENOENT;
	if (--m->refs == 0) {
		unsigned cls = proto_class(proto);

		bm_clear(p, bitmap(p, cls * p->n_ips + f), (unsigned)fport - p->port_lo);
		p->eim_used[cls * p->n_ips + f]--;
		table_remove(&p->tab, i);
	}
	return 0;
}

/* ---- data-plane entry points ---- */

int
snat_alloc(struct snat_pool *p, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
	   uint16_t dport, snat_in_use_fn in_use, void *ctx, uint32_t *fip, uint16_t *fport)
{
	if (p->st.live >= p->max_sessions)
		return -ENOBUFS;
	if (p->eim)
		return eim_alloc(p, proto, src, sport, dst, dport, in_use, ctx, fip, fport);
	return edm_alloc(p, proto, src, dst, dport, in_use, ctx, fip, fport);
}

int
snat_free(struct snat_pool *p, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
	  uint16_t dport, uint32_t fip, uint16_t fport)
{
	int f = ip_index(p, fip);
	int rc;

	if (f < 0 || fport < p->port_lo || (unsigned)fport - p->port_lo >= p->slice)
		return -EINVAL;
	if (p->eim)
		rc = eim_free(p, proto, src, sport, (unsigned)f, fport);
	else
		rc = edm_free(p, proto, dst, dport, (unsigned)f, fport);
	if (rc == 0) {
		p->ip_in_use[f]--;
		p->st.live--;
		p->st.frees++;
	}
	return rc;
}

unsigned
snat_ip_in_use(const struct snat_pool *p, unsigned index)
{
	return index < p->n_ips ? p->ip_in_use[index] : 0;
}

/*
 * Display only, from the control thread while the owner works: each slot is
 * read with plain loads, so a space that moves (backward-shift deletion) may
 * be seen twice or missed, and a count may be a moment old. The walk is
 * bounded by the table's capacity.
 */
unsigned
snat_spaces(const struct snat_pool *p, snat_space_fn fn, void *ctx)
{
	unsigned n = 0;

	if (p->eim)
		return 0;
	for (uint32_t i = 0; i < p->tab.cap; i++) {
		struct slot s = p->tab.slots[i];
		struct snat_space sp;

		if (s.key == 0 || s.count == 0 || s.fidx >= p->n_ips)
			continue;
		sp.proto = (uint8_t)(s.key >> 8);
		sp.dport = (uint16_t)(s.key >> 16);
		sp.dst = (uint32_t)(s.key >> 32);
		sp.fidx = s.fidx;
		sp.count = s.count;
		fn(ctx, &sp);
		n++;
	}
	return n;
}

unsigned
snat_slice_ports(const struct snat_pool *p)
{
	return p->slice;
}

void
snat_stats(const struct snat_pool *p, struct snat_stats *st)
{
	*st = p->st;
	st->spaces = p->tab.n;
	st->bitmaps = p->eim ? 0 : p->n_bm - p->n_bm_free;
}

/* ---- worker slices ---- */

void
snat_worker_slice(unsigned worker, unsigned n_workers, uint16_t *lo, uint16_t *hi)
{
	unsigned total = SNAT_PORT_LAST - SNAT_PORT_FIRST + 1, size;

	if (n_workers == 0 || n_workers > 1024 || worker >= n_workers) {
		*lo = 1;        /* an empty slice, which snat_create() refuses */
		*hi = 0;
		return;
	}
	size = total / n_workers;
	*lo = (uint16_t)(SNAT_PORT_FIRST + worker * size);
	*hi = worker + 1 == n_workers ? SNAT_PORT_LAST
				      : (uint16_t)(SNAT_PORT_FIRST + (worker + 1) * size - 1);
}

unsigned
snat_port_owner(uint16_t port, unsigned n_workers)
{
	unsigned size, w;

	if (n_workers == 0 || n_workers > 1024 || port < SNAT_PORT_FIRST)
		return n_workers;
	size = (SNAT_PORT_LAST - SNAT_PORT_FIRST + 1) / n_workers;
	w = (port - SNAT_PORT_FIRST) / size;
	return w < n_workers ? w : n_workers - 1;   /* the last slice's remainder */
}

/* ---- control side ---- */

static void *
reserve(struct snat_pool *p, size_t n)
{
	size_t sz = (n + 63) & ~(size_t)63;
	void *m = aligned_alloc(64, sz);

	if (m != NULL) {
		memset(m, 0, sz);
		p->memory += sz;
	}
	return m;
}

static int
cmp_ip(const void *a, const void *b)
{
	uint32_t x = ((const struct ip_slot *)a)->ip, y = ((const struct ip_slot *)b)->ip;

	return (x > y) - (x < y);
}

/*
 * -EINVAL when: ips is NULL or n_ips is 0 or above SNAT_MAX_IPS; an address
 * repeats; port_lo > port_hi; max_sessions is 0 or above SNAT_MAX_SESSIONS.
 */
int
snat_create(const struct snat_params *prm, struct snat_pool **out)
{
	struct snat_pool *p;
	uint64_t seed;

	*out = NULL;
	if (prm->ips == NULL || prm->n_ips == 0 || prm->n_ips > SNAT_MAX_IPS ||
	    prm->port_lo > prm->port_hi || prm->max_sessions == 0 ||
	    prm->max_sessions > SNAT_MAX_SESSIONS)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->memory = sizeof(*p);
	p->eim = prm->eim;
	p->port_lo = prm->port_lo;
	p->slice = (uint32_t)prm->port_hi - prm->port_lo + 1;
	p->n_ips = prm->n_ips;
	p->max_sessions = prm->max_sessions;
	p->dense_at = p->slice / SNAT_DENSE_DIV < 2 ? 2 : p->slice / SNAT_DENSE_DIV;
	p->sparse_below = p->dense_at / 2;
	p->n_words = (p->slice + 63) / 64;
	p->n_sum = (p->n_words + 63) / 64;
	p->bm_words = p->n_words + p->n_sum;
	p->rng = prm->seed;
	seed = rng_next(p);

	p->ips = reserve(p, p->n_ips * sizeof(*p->ips));
	p->by_ip = reserve(p, p->n_ips * sizeof(*p->by_ip));
	p->ip_in_use = reserve(p, p->n_ips * sizeof(*p->ip_in_use));
	if (p->ips == NULL || p->by_ip == NULL || p->ip_in_use == NULL)
		goto nomem;
	memcpy(p->ips, prm->ips, p->n_ips * sizeof(*p->ips));
	for (unsigned i = 0; i < p->n_ips; i++)
		p->by_ip[i] = (struct ip_slot){ .ip = p->ips[i], .idx = i };
	qsort(p->by_ip, p->n_ips, sizeof(*p->by_ip), cmp_ip);
	for (unsigned i = 1; i < p->n_ips; i++) {
		if (p->by_ip[i].ip == p->by_ip[i - 1].ip) {
			snat_destroy(p);
			return -EINVAL;
		}
	}

	/* Spaces (EDM) or mappings (EIM) never outnumber allocations, which
	 * never outnumber max_sessions: 3/2 slots each keeps the load <= 2/3. */
	p->tab.cap = p->max_sessions + p->max_sessions / 2 + 1;
	p->tab.seed = seed;
	p->tab.keyed_fidx = !p->eim;
	p->tab.slots = reserve(p, (size_t)p->tab.cap * sizeof(struct slot));
	if (p->tab.slots == NULL)
		goto nomem;

	if (p->eim) {
		p->n_bm = SNAT_EIM_CLASSES * p->n_ips;
		p->eim_used = reserve(p, p->n_bm * sizeof(*p->eim_used));
		if (p->eim_used == NULL)
			goto nomem;
	} else {
		/* Spaces holding a bitmap hold at least T/2 allocations each,
		 * except the reserve's: see the comment at the top. */
		p->n_bm = p->max_sessions / p->sparse_below + SNAT_EARLY_BITMAPS;
		p->bm_free = reserve(p, p->n_bm * sizeof(*p->bm_free));
		if (p->bm_free == NULL)
			goto nomem;
		for (uint32_t i = 0; i < p->n_bm; i++)
			p->bm_free[i] = p->n_bm - 1 - i;
		p->n_bm_free = p->n_bm;
	}
	p->bm_mem = reserve(p, (size_t)p->n_bm * p->bm_words * sizeof(uint64_t));
	if (p->bm_mem == NULL)
		goto nomem;
	if (p->eim) {
		for (uint32_t i = 0; i < p->n_bm; i++)
			bm_reset(p, bitmap(p, i));
	}
	*out = p;
	return 0;
nomem:
	snat_destroy(p);
	return -ENOMEM;
}

void
snat_destroy(struct snat_pool *p)
{
	if (p == NULL)
		return;
	free(p->ips);
	free(p->by_ip);
	free(p->ip_in_use);
	free(p->tab.slots);
	free(p->bm_free);
	free(p->eim_used);
	free(p->bm_mem);
	free(p);
}

size_t
snat_memory(const struct snat_pool *p)
{
	return p->memory;
}
