/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sessions, their key table, and the timer wheel.
 *
 * The key table is ours rather than rte_hash because a session record
 * already holds both of its keys: the table needs to store only a 16-bit
 * signature and a 32-bit session index per key, and a lookup confirms a
 * candidate against the record it was going to read anyway. One bucket is
 * one cache line of ten entries and an overflow count:
 *
 *   sig[10]   16 bits of the entry's key's hash, never 0; 0 marks an empty
 *             slot, so a zeroed table is empty and one vector compare finds
 *             both the candidates for a key and the free slots
 *   overflow  how many entries whose home is this bucket or an earlier one
 *             are stored beyond it (bucketed linear probing)
 *   val[10]   session index << 1 | enum ct_dir
 *
 * A key lives in the first bucket, from its home on, that had room when it
 * was inserted, fewer than CT_PROBE_MAX buckets on (wrapping at the end of
 * the table); past that the insert fails and the session is refused
 * (counted as the table being full). A lookup scans its home bucket and
 * moves on only while the overflow count says something homed at or before
 * it lies further; deleting an entry gives back the counts it took, so
 * there are no tombstones and no rehash.
 *
 * Sizing: at most 70 % of the slots hold keys when every session holds
 * both of its. Linear probing's clusters grow fast with the load: with
 * 2^21 random keys, 7 slots a bucket at 80 % (the first design, 32-bit
 * signatures) put 9 % of the keys outside their home bucket and one 41
 * buckets away, past the bound; 10 slots at 70 % put 3 % outside, the
 * furthest 12 away, and cost 18 bytes a session instead of 23. A 16-bit
 * signature lets a wrong candidate through for one lookup in ~5,000 (one
 * record read more, then the key compare says no).
 *
 * One worker owns its table: no locks, no atomics. The control thread
 * reads it only on a stopped or quiesced worker (ct_session_at()).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_random.h>
#include <rte_tcp.h>
#include <rte_vect.h>

#include "dataplane/ct.h"

#define WHEEL_SLOTS 4096 /* seconds; longer timeouts are re-filed lazily */
#define NONE UINT32_MAX
#define VAL(idx, dir) ((uint32_t)(idx) << 1 | (uint32_t)(dir))
#define SLOTS CT_BUCKET_SLOTS
/* At most LOAD_NUM/LOAD_DEN of the slots in use at full capacity. */
#define LOAD_NUM 7
#define LOAD_DEN 10
#define BULK_MAX 64 /* keys staged together by ct_lookup_bulk() */

struct bucket {
	uint16_t sig[SLOTS];
	uint32_t overflow;
	uint32_t val[SLOTS];
} __rte_aligned(64);

_Static_assert(sizeof(struct bucket) == RTE_CACHE_LINE_SIZE, "a bucket is one cache line");
_Static_assert(SLOTS == 10 && offsetof(struct bucket, overflow) == 20,
	       "sig_match() reads the signatures as the first 8 + 2 16-bit lanes");
_Static_assert(sizeof(struct ct_key) == 16, "keys are hashed and compared as two words");
_Static_assert(offsetof(struct ct_session, rev) == sizeof(struct ct_key),
	       "a session's key for direction d is at d * 16 bytes");
_Static_assert(offsetof(struct ct_session, rule_id) == 2 * sizeof(struct ct_key),
	       "ct_create_session() clears what follows the keys");

struct ct_table {
	/* read by every lookup */
	struct bucket *b;           /* `n_buckets` buckets */
	struct ct_session *s;       /* `size` records */
	uint32_t n_buckets;
	uint32_t probe_max;         /* CT_PROBE_MAX, or fewer in a small table */
	uint32_t seed;              /* per table: no two workers share a layout */

	struct ct_timeouts to;
	uint32_t timeout[CT_STATE_MAX];
	unsigned size;
	unsigned used;
	uint32_t free_head;
	uint32_t wheel_pos;         /* next second to process */
	bool wheel_started;
	uint32_t wheel[WHEEL_SLOTS];
};

static const char *const state_names[CT_STATE_MAX] = {
#define X(e, s) [CT_##e] = s,
	CT_STATES(X)
#undef X
};

const char *
ct_state_name(enum ct_state s)
{
	return s < CT_STATE_MAX ? state_names[s] : "?";
}

/* ------------------------------------------------------------ key table */

static inline uint32_t
crc_8byte(uint64_t data, uint32_t init)
{
#if defined(RTE_ARCH_X86) && defined(__SSE4_2__)
	return (uint32_t)__builtin_ia32_crc32di(init, data);
#else
	return rte_hash_crc_8byte(data, init);
#endif
}

/*
 * CRC32-C of the 16 bytes, from the table's seed. Keys that differ in only
 * a few bits (neighbouring ports, addresses) still spread: the CRC is a
 * full-rank map of the bits that vary. It is no defence against keys
 * chosen to collide (a CRC is linear whatever the seed): the probe bound
 * turns such a flood into refused sessions, never into a long walk.
 */
static inline uint32_t
key_hash(const struct ct_table *t, const struct ct_key *k)
{
	uint64_t w[2];

	memcpy(w, k, sizeof(w));
	return crc_8byte(w[1], crc_8byte(w[0], t->seed));
}

/* The home bucket: the hash scaled to the table (any size, no modulo). */
static inline uint32_t
home_of(const struct ct_table *t, uint32_t h)
{
	return (uint32_t)(((uint64_t)h * t->n_buckets) >> 32);
}

static inline uint16_t
sig_of(uint32_t h)
{
	/* The low bits: the home bucket is drawn from the high ones. */
	return (uint16_t)(h | 1); /* never 0, the empty slot */
}

static inline uint32_t
next_bucket(const struct ct_table *t, uint32_t i)
{
	return i + 1 == t->n_buckets ? 0 : i + 1;
}

/*
 * Slots of `b` whose signature is `sig`, as a bit mask: slot i is bit 2i
 * (what a byte mask of 16-bit lanes gives; slot = ctz / 2).
 */
#define SLOT_BITS 0x55555u

static inline unsigned
slot_of(unsigned m)
{
	return (unsigned)__builtin_ctz(m) >> 1;
}

static inline unsigned
sig_match(const struct bucket *b, uint16_t sig)
{
#if defined(RTE_ARCH_X86) && defined(__AVX2__)
	/* Lanes 10-15 are the overflow count and val[0..1]: masked off. */
	__m256i v = _mm256_load_si256((const __m256i *)(const void *)b);
	__m256i eq = _mm256_cmpeq_epi16(v, _mm256_set1_epi16((short)sig));

	return (unsigned)_mm256_movemask_epi8(eq) & SLOT_BITS;
#elif defined(RTE_ARCH_X86)
	__m128i v = _mm_load_si128((const __m128i *)(const void *)b);
	__m128i eq = _mm_cmpeq_epi16(v, _mm_set1_epi16((short)sig));

	return ((unsigned)_mm_movemask_epi8(eq) & 0x5555u) | (unsigned)(b->sig[8] == sig) << 16 |
	       (unsigned)(b->sig[9] == sig) << 18;
#else
	unsigned m = 0;

	for (unsigned i = 0; i < SLOTS; i++)
		m |= (unsigned)(b->sig[i] == sig) << (2 * i);
	return m;
#endif
}

static inline const struct ct_key *
key_of(const struct ct_table *t, uint32_t v)
{
	return (const struct ct_key *)(const void *)((const char *)&t->s[v >> 1] +
						     (v & 1) * sizeof(struct ct_key));
}

static inline bool
key_eq(const struct ct_key *a, const struct ct_key *b)
{
	uint64_t x[2], y[2];

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

/* The candidate of `m` in `b` whose record holds `k`, or NONE. */
static inline uint32_t
confirm(const struct ct_table *t, const struct bucket *b, unsigned m, const struct ct_key *k)
{
	/* Bounded: one pass per candidate, at most SLOTS; more than one is
	 * a signature collision, rare. */
	while (m != 0) {
		uint32_t v = b->val[slot_of(m)];

		if (key_eq(key_of(t, v), k))
			return v;
		m &= m - 1;
	}
	return NONE;
}

/*
 * The entry for `k` (hash `h`), from its `n`th bucket on: its value, or
 * NONE; `where` gets its bucket.
 */
static uint32_t
find_from(const struct ct_table *t, const struct ct_key *k, uint32_t h, uint32_t i, unsigned n,
	  uint32_t *where)
{
	const uint16_t sig = sig_of(h);

	/* Bounded by probe_max buckets: no entry lies further from its home
	 * (insert() refuses), and the overflow count usually stops the walk
	 * at the first bucket. */
	for (; n < t->probe_max; n++) {
		const struct bucket *b = &t->b[i];
		uint32_t v = confirm(t, b, sig_match(b, sig), k);

		if (v != NONE) {
			*where = i;
			return v;
		}
		if (b->overflow == 0)
			break;
		i = next_bucket(t, i);
	}
	return NONE;
}

static inline uint32_t
find(const struct ct_table *t, const struct ct_key *k, uint32_t h)
{
	uint32_t where;

	return find_from(t, k, h, home_of(t, h), 0, &where);
}

/*
 * Store `v` for key `k` (hash `h`) unless `k` is there already: one walk
 * looks for the key (as find_from() does, while the overflow counts say it
 * may lie further) and for the first free slot from the home bucket on.
 * 0, -EEXIST, or -ENOSPC when no slot is free within the probe bound.
 */
static int
insert(struct ct_table *t, const struct ct_key *k, uint32_t h, uint32_t v)
{
	const uint16_t sig = sig_of(h);
	const uint32_t home = home_of(t, h);
	struct bucket *free_b = NULL;
	unsigned free_slot = 0;
	bool searching = true;
	uint32_t i = home;

	/* Bounded by probe_max buckets (see find_from()); usually one. */
	for (unsigned n = 0; n < t->probe_max && (searching || free_b == NULL); n++) {
		struct bucket *b = &t->b[i];

		if (searching) {
			if (confirm(t, b, sig_match(b, sig), k) != NONE)
				return -EEXIST;
			searching = b->overflow != 0;
		}
		if (free_b == NULL) {
			unsigned empty = sig_match(b, 0);

			if (empty != 0) {
				free_b = b;
				free_slot = slot_of(empty);
			}
		}
		i = next_bucket(t, i);
	}
	if (free_b == NULL)
		return -ENOSPC;
	free_b->sig[free_slot] = sig;
	free_b->val[free_slot] = v;
	/* Bounded by the walk above: the buckets passed over now lead on to
	 * the one that took the entry. */
	for (uint32_t j = home; &t->b[j] != free_b; j = next_bucket(t, j))
		t->b[j].overflow++;
	return 0;
}

/* Remove the entry `v` for key `k` (present: the session holds it). */
static void
erase(struct ct_table *t, const struct ct_key *k, uint32_t v)
{
	const uint32_t h = key_hash(t, k);
	const uint16_t sig = sig_of(h);
	const uint32_t home = home_of(t, h);
	uint32_t i = home;

	/* Bounded by probe_max buckets (see find_from()). Matched by value,
	 * not by key: the entry is this session's whatever else collides. */
	for (unsigned n = 0; n < t->probe_max; n++) {
		struct bucket *b = &t->b[i];

		for (unsigned m = sig_match(b, sig); m != 0; m &= m - 1) {
			unsigned slot = slot_of(m);

			if (b->val[slot] != v)
				continue;
			b->sig[slot] = 0;
			/* Bounded by n < probe_max, as in insert(). */
			for (uint32_t j = home; j != i; j = next_bucket(t, j))
				t->b[j].overflow--;
			return;
		}
		if (b->overflow == 0)
			break;
		i = next_bucket(t, i);
	}
	RTE_ASSERT(0); /* every session's keys are in the table */
}

/* ------------------------------------------------------------- control */

struct ct_table *
ct_create(const char *name, unsigned max_sessions, const struct ct_timeouts *to, int socket)
{
	/* Two keys per session in at most LOAD_NUM/LOAD_DEN of the slots. */
	const uint64_t per = (uint64_t)SLOTS * LOAD_NUM;
	uint64_t n_buckets = ((uint64_t)2 * max_sessions * LOAD_DEN + per - 1) / per;
	struct ct_table *t;

	/* A value is index << 1 | dir in 32 bits, NONE excluded. */
	if (max_sessions == 0 || max_sessions >= (1u << 31)) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->s = rte_zmalloc_socket(name, sizeof(struct ct_session) * max_sessions,
				  RTE_CACHE_LINE_SIZE, socket);
	/* Zeroed: every signature 0, every slot empty. */
	t->b = rte_zmalloc_socket(name, sizeof(struct bucket) * n_buckets, RTE_CACHE_LINE_SIZE,
				  socket);
	if (t->s == NULL || t->b == NULL) {
		ct_free(t);
		rte_errno = ENOMEM;
		return NULL;
	}
	t->n_buckets = (uint32_t)n_buckets;
	t->probe_max = RTE_MIN((uint32_t)CT_PROBE_MAX, t->n_buckets);
	t->seed = (uint32_t)rte_rand();
	t->to = *to;
	/* Timeouts by state, as a table (RFC 5382: established >= 2 h 4 min,
	 * transitory >= 4 min; RFC 4787 UDP >= 2 min; RFC 5508 ICMP >= 60 s). */
	for (unsigned i = 0; i < CT_STATE_MAX; i++)
		t->timeout[i] = to->other;
	t->timeout[CT_TCP_ESTABLISHED] = to->tcp_established;
	t->timeout[CT_TCP_SYN_SENT] = t->timeout[CT_TCP_SYN_SENT2] = to->tcp_transitory;
	t->timeout[CT_TCP_SYN_RECV] = t->timeout[CT_TCP_FIN_WAIT] = to->tcp_transitory;
	t->timeout[CT_TCP_CLOSE_WAIT] = t->timeout[CT_TCP_TIME_WAIT] = to->tcp_transitory;
	t->timeout[CT_TCP_CLOSE] = to->tcp_transitory;
	t->timeout[CT_UDP] = to->udp;
	t->timeout[CT_ICMP] = to->icmp;
	t->timeout[CT_HOLD] = to->hold_down;
	t->size = max_sessions;
	for (unsigned i = 0; i < max_sessions; i++)
		t->s[i].next = i + 1 < max_sessions ? i + 1 : NONE;
	t->free_head = 0;
	for (unsigned i = 0; i < WHEEL_SLOTS; i++)
		t->wheel[i] = NONE;
	return t;
}

void
ct_free(struct ct_table *t)
{
	if (t == NULL)
		return;
	rte_free(t->b);
	rte_free(t->s);
	rte_free(t);
}

unsigned
ct_capacity(const struct ct_table *t)
{
	return t->size;
}

unsigned
ct_in_use(const struct ct_table *t)
{
	return t->used;
}

size_t
ct_memory(const struct ct_table *t)
{
	return sizeof(*t) + sizeof(struct ct_session) * t->size +
	       sizeof(struct bucket) * (size_t)t->n_buckets;
}

unsigned
ct_buckets(const struct ct_table *t)
{
	return t->n_buckets;
}

int
ct_key_bucket(const struct ct_table *t, const struct ct_key *k, unsigned *home)
{
	const uint32_t h = key_hash(t, k);
	uint32_t where;

	*home = home_of(t, h);
	if (find_from(t, k, h, *home, 0, &where) == NONE)
		return -1;
	return (int)where;
}

/* Bounded by the table's size: control side and tests only. */
int
ct_check(const struct ct_table *t, const char **why)
{
	uint32_t *over = calloc(t->n_buckets, sizeof(*over));
	size_t entries = 0, keys = 0;
	unsigned live = 0;

	*why = NULL;
	if (over == NULL) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (uint32_t j = 0; j < t->n_buckets && *why == NULL; j++) {
		const struct bucket *b = &t->b[j];

		for (unsigned i = 0; i < SLOTS && *why == NULL; i++) {
			uint32_t v = b->val[i], h, home, dist;
			const struct ct_session *s;

			if (b->sig[i] == 0)
				continue;
			entries++;
			if ((v >> 1) >= t->size) {
				*why = "an entry names no session";
				break;
			}
			s = &t->s[v >> 1];
			if (s->state == CT_FREE || (s->state == CT_HOLD && (v & 1) == CT_DIR_FWD)) {
				*why = "an entry leads to a free session or a held one's fwd";
				break;
			}
			h = key_hash(t, key_of(t, v));
			if (sig_of(h) != b->sig[i]) {
				*why = "a signature is not its key's";
				break;
			}
			home = home_of(t, h);
			dist = j >= home ? j - home : j + t->n_buckets - home;
			if (dist >= t->probe_max) {
				*why = "an entry lies beyond the probe bound";
				break;
			}
			for (uint32_t k = home; k != j; k = next_bucket(t, k))
				over[k]++;
			if (find(t, key_of(t, v), h) != v)
				*why = "a key's lookup does not find its own entry";
		}
	}
	for (uint32_t j = 0; j < t->n_buckets && *why == NULL; j++)
		if (over[j] != t->b[j].overflow)
			*why = "an overflow count is wrong";
	for (unsigned i = 0; i < t->size && *why == NULL; i++) {
		if (t->s[i].state == CT_FREE)
			continue;
		live++;
		keys += t->s[i].state == CT_HOLD ? 1 : 2;
	}
	if (*why == NULL && live != t->used)
		*why = "the count of sessions in use is wrong";
	if (*why == NULL && keys != entries)
		*why = "the table does not hold every key of every live session";
	free(over);
	return *why == NULL ? 0 : -EINVAL;
}

uint32_t
ct_timeout(const struct ct_table *t, uint8_t state)
{
	return state < CT_STATE_MAX ? t->timeout[state] : t->to.other;
}

/* ---------------------------------------------------------- data plane */

/*
 * What is left of a lookup whose first candidate was not the key: the other
 * candidates of the home bucket (signature collisions), then the buckets
 * after it while the overflow counts say the key may lie there.
 */
static uint32_t __rte_noinline
lookup_rest(const struct ct_table *t, const struct ct_key *k, uint32_t h, uint32_t home,
	    unsigned others)
{
	const struct bucket *b = &t->b[home];
	uint32_t v = confirm(t, b, others, k);
	uint32_t where;

	if (v == NONE && b->overflow != 0)
		v = find_from(t, k, h, next_bucket(t, home), 1, &where);
	return v;
}

/*
 * Up to BULK_MAX keys in three passes, so that each pass's memory accesses
 * were requested one pass earlier: hash every key and prefetch its home
 * bucket; read the buckets, pick the first candidate by signature and
 * prefetch its record; confirm against the records. Anything else (a
 * second candidate, an overflowed bucket) is lookup_rest()'s.
 */
static void
lookup_chunk(struct ct_table *t, const struct ct_key **keys, unsigned n,
	     struct ct_session **out, uint8_t *dir)
{
	uint32_t hash[BULK_MAX], home[BULK_MAX], first[BULK_MAX];
	unsigned cand[BULK_MAX];

	for (unsigned i = 0; i < n; i++) {
		hash[i] = key_hash(t, keys[i]);
		home[i] = home_of(t, hash[i]);
		rte_prefetch0(&t->b[home[i]]);
	}
	for (unsigned i = 0; i < n; i++) {
		const struct bucket *b = &t->b[home[i]];

		cand[i] = sig_match(b, sig_of(hash[i]));
		first[i] = NONE;
		if (cand[i] != 0) {
			first[i] = b->val[slot_of(cand[i])];
			rte_prefetch0(&t->s[first[i] >> 1]);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t v = first[i];

		if (v == NONE || !key_eq(key_of(t, v), keys[i]))
			v = lookup_rest(t, keys[i], hash[i], home[i], cand[i] & (cand[i] - 1));
		out[i] = v != NONE ? &t->s[v >> 1] : NULL;
		dir[i] = (uint8_t)(v & 1);
	}
}

void
ct_lookup_bulk(struct ct_table *t, const struct ct_key **keys, unsigned n,
	       struct ct_session **out, uint8_t *dir)
{
	/* Bounded: n / BULK_MAX rounds; a burst is one. */
	while (n > 0) {
		unsigned c = RTE_MIN(n, (unsigned)BULK_MAX);

		lookup_chunk(t, keys, c, out, dir);
		keys += c;
		out += c;
		dir += c;
		n -= c;
	}
}

struct ct_session *
ct_lookup(struct ct_table *t, const struct ct_key *k, enum ct_dir *dir)
{
	uint32_t v = find(t, k, key_hash(t, k));

	if (v == NONE)
		return NULL;
	*dir = (enum ct_dir)(v & 1);
	return &t->s[v >> 1];
}

bool
ct_key_in_use(struct ct_table *t, const struct ct_key *k)
{
	return find(t, k, key_hash(t, k)) != NONE;
}

/* File a session in the slot of its expiry, or, when that is a wheel turn
 * or more away, in the last slot of this turn (it is re-filed from there):
 * a session is never filed in the slot being processed. */
static inline void
wheel_insert(struct ct_table *t, struct ct_session *s)
{
	uint32_t when = s->expire_s;
	uint32_t slot;

	if ((int32_t)(when - t->wheel_pos) >= WHEEL_SLOTS)
		when = t->wheel_pos + WHEEL_SLOTS - 1;
	slot = when % WHEEL_SLOTS;

	s->next = t->wheel[slot];
	t->wheel[slot] = (uint32_t)(s - t->s);
}

/*
 * Both keys must be new: a key already present (or fwd == rev, which no
 * reply could tell apart) refuses the session rather than steal another
 * session's entry.
 */
struct ct_session *
ct_create_session(struct ct_table *t, const struct ct_key *fwd, const struct ct_key *rev,
		  uint8_t state, uint32_t now_s)
{
	const uint32_t idx = t->free_head;
	struct ct_session *s;

	if (idx == NONE)
		return NULL;
	s = &t->s[idx];
	/* The keys go in first: a lookup (the duplicate check of the rev key
	 * included) confirms an entry against its record. A free record's
	 * keys are read by no one, and its free-list link is left alone
	 * until the session is sure. */
	s->fwd = *fwd;
	s->rev = *rev;
	if (insert(t, &s->fwd, key_hash(t, fwd), VAL(idx, CT_DIR_FWD)) != 0)
		return NULL;
	if (insert(t, &s->rev, key_hash(t, rev), VAL(idx, CT_DIR_REV)) != 0) {
		erase(t, &s->fwd, VAL(idx, CT_DIR_FWD));
		return NULL;
	}
	t->free_head = s->next;
	t->used++;
	memset((char *)s + offsetof(struct ct_session, rule_id), 0,
	       sizeof(*s) - offsetof(struct ct_session, rule_id));
	s->state = state;
	s->expire_s = now_s + ct_timeout(t, state);
	if (!t->wheel_started) {
		t->wheel_pos = now_s;
		t->wheel_started = true;
	}
	wheel_insert(t, s);
	return s;
}

static void
session_free(struct ct_table *t, struct ct_session *s)
{
	uint32_t idx = (uint32_t)(s - t->s);

	if (s->state != CT_HOLD)
		erase(t, &s->fwd, VAL(idx, CT_DIR_FWD));
	erase(t, &s->rev, VAL(idx, CT_DIR_REV));
	s->state = CT_FREE;
	s->next = t->free_head;
	t->free_head = idx;
	t->used--;
}

/*
 * Bounded by `budget` sessions looked at, whatever the state of the wheel:
 * a worker that falls behind (a burst of expiries) catches up over the
 * following polls instead of stalling one. Slots are one second; the wheel
 * never runs ahead of `now_s`.
 */
unsigned
ct_expire(struct ct_table *t, uint32_t now_s, unsigned budget, ct_release_fn release,
	  void *ctx)
{
	unsigned freed = 0;

	if (!t->wheel_started)
		return 0;
	while (budget > 0 && (int32_t)(now_s - t->wheel_pos) >= 0) {
		uint32_t *head = &t->wheel[t->wheel_pos % WHEEL_SLOTS];

		if (*head == NONE) {
			if (t->wheel_pos == now_s)
				break;
			t->wheel_pos++;
			continue;
		}
		while (*head != NONE && budget > 0) {
			struct ct_session *s = &t->s[*head];

			budget--;
			*head = s->next;
			if ((int32_t)(s->expire_s - now_s) > 0) {
				/* Refreshed since it was filed, or filed a
				 * wheel turn early: file it again. Its new slot
				 * is after the current one, so this loop
				 * meets each session once. */
				wheel_insert(t, s);
				continue;
			}
			if ((s->flags & CT_F_SNAT) && s->state != CT_HOLD && t->to.hold_down > 0) {
				/* RFC 6888 REQ-8: the tuple is not handed
				 * out again before the hold-down. The forward
				 * key goes now, so the inside host may open a
				 * new session (it will get a new port). */
				erase(t, &s->fwd, VAL(s - t->s, CT_DIR_FWD));
				s->state = CT_HOLD;
				s->expire_s = now_s + t->to.hold_down;
				wheel_insert(t, s);
				continue;
			}
			if (release != NULL && (s->flags & CT_F_RELEASE))
				release(ctx, s);
			session_free(t, s);
			freed++;
		}
	}
	return freed;
}

struct ct_session *
ct_session_at(struct ct_table *t, unsigned i)
{
	return i < t->size ? &t->s[i] : NULL;
}

uint32_t
ct_session_index(const struct ct_table *t, const struct ct_session *s)
{
	return (uint32_t)(s - t->s);
}

enum ct_tcp_event
ct_tcp_event(uint8_t f)
{
	if (f & RTE_TCP_RST_FLAG)
		return CT_TCP_EV_RST;
	if (f & RTE_TCP_SYN_FLAG) {
		if (f & RTE_TCP_FIN_FLAG)
			return CT_TCP_EV_NONE; /* SYN+FIN: never valid */
		return (f & RTE_TCP_ACK_FLAG) ? CT_TCP_EV_SYNACK : CT_TCP_EV_SYN;
	}
	if (f & RTE_TCP_FIN_FLAG)
		return CT_TCP_EV_FIN;
	if (f & RTE_TCP_ACK_FLAG)
		return CT_TCP_EV_ACK;
	return CT_TCP_EV_NONE;
}

/*
 * The TCP state machine as data. Rows: state; columns: the event in the
 * forward direction (the side that sent the first SYN), then in reverse.
 * 0 (CT_FREE) marks a packet that does not fit: it is dropped as invalid
 * and the session is left as it was. Simultaneous open (RFC 793 3.4, RFC
 * 5382 REQ-2) goes SYN_SENT -> SYN_SENT2 on the peer's bare SYN. A RST
 * moves any state to CLOSE, which keeps the session (and the mapping) for
 * the transitory timeout (RFC 7857 2.2). A new SYN after the close reopens
 * the tuple.
 */
#define S(x) CT_TCP_##x
static const uint8_t tcp_table[CT_STATE_MAX][2][CT_TCP_EV_MAX] = {
	/*                     SYN            SYNACK        FIN              ACK              RST       NONE */
	[S(SYN_SENT)] = {
		/* fwd */ { S(SYN_SENT), 0, 0, 0, S(CLOSE), 0 },
		/* rev */ { S(SYN_SENT2), S(SYN_RECV), 0, 0, S(CLOSE), 0 },
	},
	[S(SYN_SENT2)] = {
		{ S(SYN_SENT2), S(SYN_RECV), 0, S(ESTABLISHED), S(CLOSE), 0 },
		{ S(SYN_SENT2), S(SYN_RECV), 0, S(ESTABLISHED), S(CLOSE), 0 },
	},
	[S(SYN_RECV)] = {
		{ S(SYN_RECV), S(SYN_RECV), S(FIN_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
		{ 0, S(SYN_RECV), S(CLOSE_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
	},
	[S(ESTABLISHED)] = {
		{ 0, 0, S(FIN_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
		{ 0, S(ESTABLISHED), S(CLOSE_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
	},
	[S(FIN_WAIT)] = {
		{ 0, 0, S(FIN_WAIT), S(FIN_WAIT), S(CLOSE), 0 },
		{ 0, 0, S(TIME_WAIT), S(FIN_WAIT), S(CLOSE), 0 },
	},
	[S(CLOSE_WAIT)] = {
		{ 0, 0, S(TIME_WAIT), S(CLOSE_WAIT), S(CLOSE), 0 },
		{ 0, 0, S(CLOSE_WAIT), S(CLOSE_WAIT), S(CLOSE), 0 },
	},
	[S(TIME_WAIT)] = {
		{ S(SYN_SENT), 0, S(TIME_WAIT), S(TIME_WAIT), S(CLOSE), 0 },
		{ 0, 0, S(TIME_WAIT), S(TIME_WAIT), S(CLOSE), 0 },
	},
	[S(CLOSE)] = {
		{ S(SYN_SENT), 0, 0, 0, S(CLOSE), 0 },
		{ 0, 0, 0, 0, S(CLOSE), 0 },
	},
};
#undef S

uint8_t
ct_tcp_next(uint8_t state, enum ct_dir dir, enum ct_tcp_event ev)
{
	if (state >= CT_STATE_MAX || ev >= CT_TCP_EV_MAX)
		return CT_FREE;
	return tcp_table[state][dir][ev];
}
