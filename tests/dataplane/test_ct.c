/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session table's key table on its own (dataplane/ct.c): sessions are
 * created, looked up one by one and in bursts, and expired through the
 * timer wheel (in random order, SNAT sessions in two steps: the fwd key at
 * expiry, the rev key after the hold-down), millions of times, against a
 * reference that maps every key of a fixed universe to the session and
 * direction it must lead to. Then the edges: probe chains that wrap around
 * the end of the table, a cluster that reaches the probe bound (the table
 * is full for that home, nowhere else), and a refused session leaving no
 * half of itself behind. ct_check() verifies the whole table's invariants
 * (each key once, where its hash says, overflow counts exact) along the way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_random.h>

#include "dataplane/ct.h"
#include "tests/dataplane/harness.h"

#define NONE UINT32_MAX
#define VAL(idx, dir) ((uint32_t)(idx) << 1 | (uint32_t)(dir))

static const struct ct_timeouts timeouts = {
	.tcp_established = 1, .tcp_transitory = 1, .udp = 1, .icmp = 1, .other = 1,
	.hold_down = 1,
};

/* xorshift64*: the test's own generator, seeded per test (reproducible). */
static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)((rnd() >> 32) * n >> 32);
}

/* Key number `id`, distinct for distinct ids, shaped like real traffic:
 * inside hosts of one /16, a few servers, ports that move by one. */
static struct ct_key
key_of_id(uint32_t id)
{
	struct ct_key k = {
		.src = rte_cpu_to_be_32(0xc6120000u | (id & 0xffff)),
		.dst = rte_cpu_to_be_32(0xcb007100u | ((id >> 16) & 0x3f)),
		.sport = rte_cpu_to_be_16((uint16_t)(1024 + (id >> 22))),
		.dport = RTE_BE16(443),
		.proto = (id >> 21) & 1 ? 6 : 17,
		.iface = 0,
	};

	return k;
}

static void
check_table(const struct ct_table *t)
{
	const char *why = NULL;
	int ret = ct_check(t, &why);

	if (ret != 0)
		fail_msg("ct_check: %s", why);
}

static unsigned
dist(const struct ct_table *t, unsigned home, unsigned at)
{
	return at >= home ? at - home : at + ct_buckets(t) - home;
}

/* ------------------------------------------------------------- basics */

static void
test_basic(void **state)
{
	struct ct_table *t = ct_create("ct_basic", 4, &timeouts, 0);
	struct ct_key a = key_of_id(1), b = key_of_id(2), c = key_of_id(3), d = key_of_id(4);
	const struct ct_key *keys[3] = { &a, &b, &c };
	struct ct_session *s, *out[3];
	uint8_t dirs[3];
	enum ct_dir dir;

	(void)state;
	assert_non_null(t);
	assert_int_equal(ct_capacity(t), 4);
	assert_null(ct_lookup(t, &a, &dir));
	assert_false(ct_key_in_use(t, &a));

	s = ct_create_session(t, &a, &b, CT_UDP, 100);
	assert_non_null(s);
	assert_int_equal(ct_in_use(t), 1);
	assert_ptr_equal(ct_lookup(t, &a, &dir), s);
	assert_int_equal(dir, CT_DIR_FWD);
	assert_ptr_equal(ct_lookup(t, &b, &dir), s);
	assert_int_equal(dir, CT_DIR_REV);
	assert_true(ct_key_in_use(t, &b));
	assert_false(ct_key_in_use(t, &c));
	ct_lookup_bulk(t, keys, 3, out, dirs);
	assert_ptr_equal(out[0], s);
	assert_int_equal(dirs[0], CT_DIR_FWD);
	assert_ptr_equal(out[1], s);
	assert_int_equal(dirs[1], CT_DIR_REV);
	assert_null(out[2]);
	ct_lookup_bulk(t, keys, 0, out, dirs); /* nothing to do, nothing read */

	/* A key already present, either way round, refuses the session
	 * without disturbing the one that holds it. */
	assert_null(ct_create_session(t, &a, &c, CT_UDP, 100));
	assert_null(ct_create_session(t, &c, &a, CT_UDP, 100));
	assert_null(ct_create_session(t, &c, &b, CT_UDP, 100));
	assert_null(ct_create_session(t, &c, &c, CT_UDP, 100)); /* no reply tells them apart */
	assert_false(ct_key_in_use(t, &c));
	assert_int_equal(ct_in_use(t), 1);
	check_table(t);

	/* The pool runs out before the key table does. */
	assert_non_null(ct_create_session(t, &c, &d, CT_UDP, 100));
	for (uint32_t i = 10; ct_in_use(t) < 4; i += 2) {
		struct ct_key f = key_of_id(i), v = key_of_id(i + 1);

		assert_non_null(ct_create_session(t, &f, &v, CT_UDP, 100));
	}
	{
		struct ct_key e = key_of_id(100), f = key_of_id(101);

		assert_null(ct_create_session(t, &e, &f, CT_UDP, 100));
		assert_false(ct_key_in_use(t, &e));
	}
	check_table(t);

	/* Expiry frees both keys; the slots are reused. */
	assert_int_equal(ct_expire(t, 101, 1000, NULL, NULL), 4);
	assert_int_equal(ct_in_use(t), 0);
	assert_false(ct_key_in_use(t, &a));
	assert_false(ct_key_in_use(t, &b));
	check_table(t);
	s = ct_create_session(t, &b, &a, CT_UDP, 101);
	assert_non_null(s);
	assert_ptr_equal(ct_lookup(t, &a, &dir), s);
	assert_int_equal(dir, CT_DIR_REV);
	assert_ptr_equal(ct_lookup(t, &b, &dir), s);
	assert_int_equal(dir, CT_DIR_FWD);
	ct_free(t);
	ct_free(NULL);
}

/* A record of 64 bytes and, for the two keys, about 18 bytes more per
 * session (and the table's fixed part). */
static void
test_memory(void **state)
{
	const unsigned sizes[] = { 13298, 262144, 1127298 };

	(void)state;
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct ct_table *t = ct_create("ct_mem", sizes[i], &timeouts, 0);
		double per;

		assert_non_null(t);
		per = (double)ct_memory(t) / sizes[i];
		print_message("%u sessions: %.1f bytes per session, %u buckets\n", sizes[i], per,
			      ct_buckets(t));
		assert_true(per < 64 + 20);
		/* two keys per session fill at most 70 % of the slots */
		assert_true(2.0 * sizes[i] <= 0.7 * CT_BUCKET_SLOTS * ct_buckets(t) + 1e-9);
		ct_free(t);
	}
	assert_null(ct_create("ct_zero", 0, &timeouts, 0));
}

/* ------------------------------------------------- randomized reference */

struct ref {
	struct ct_table *t;
	unsigned cap;
	uint32_t universe;
	uint32_t *by_key;      /* key id -> VAL(session, dir), or NONE */
	uint32_t *fwd_id;      /* session -> key id of fwd */
	uint32_t *rev_id;      /* session -> key id of rev */
	uint32_t *expire;      /* session -> what the test set */
	uint8_t *st;           /* session -> 0 free, 1 live, 2 held (rev only) */
	uint32_t *live;        /* sessions not free, unordered */
	uint32_t *live_pos;    /* session -> index in live */
	unsigned n_live;
	uint32_t now;
	uint64_t created, refused_dup, refused_full, freed, held, lookups, hits;
};

static void
ref_init(struct ref *r, unsigned cap, uint32_t universe)
{
	memset(r, 0, sizeof(*r));
	r->t = ct_create("ct_rand", cap, &timeouts, 0);
	assert_non_null(r->t);
	r->cap = cap;
	r->universe = universe;
	r->by_key = malloc(sizeof(uint32_t) * universe);
	r->fwd_id = calloc(cap, sizeof(uint32_t));
	r->rev_id = calloc(cap, sizeof(uint32_t));
	r->expire = calloc(cap, sizeof(uint32_t));
	r->st = calloc(cap, 1);
	r->live = calloc(cap, sizeof(uint32_t));
	r->live_pos = calloc(cap, sizeof(uint32_t));
	assert_true(r->by_key && r->fwd_id && r->rev_id && r->expire && r->st && r->live &&
		    r->live_pos);
	for (uint32_t i = 0; i < universe; i++)
		r->by_key[i] = NONE;
	r->now = 1000;
}

static void
ref_fini(struct ref *r)
{
	ct_free(r->t);
	free(r->by_key);
	free(r->fwd_id);
	free(r->rev_id);
	free(r->expire);
	free(r->st);
	free(r->live);
	free(r->live_pos);
}

static void
ref_drop_live(struct ref *r, uint32_t idx)
{
	uint32_t pos = r->live_pos[idx], last = r->live[--r->n_live];

	r->live[pos] = last;
	r->live_pos[last] = pos;
}

/* A key id, half the time one that is in the table. */
static uint32_t
pick_id(struct ref *r)
{
	if (r->n_live > 0 && (rnd() & 1)) {
		uint32_t idx = r->live[rnd_below(r->n_live)];

		return (rnd() & 1) && r->st[idx] == 1 ? r->fwd_id[idx] : r->rev_id[idx];
	}
	return rnd_below(r->universe);
}

static void
expect_lookup(struct ref *r, uint32_t id, struct ct_session *s, unsigned dir)
{
	uint32_t want = r->by_key[id];

	r->lookups++;
	if (want == NONE) {
		if (s != NULL)
			fail_msg("key %u: found session %u, expected none", id,
				 (unsigned)(s - ct_session_at(r->t, 0)));
		return;
	}
	r->hits++;
	if (s != ct_session_at(r->t, want >> 1) || dir != (want & 1))
		fail_msg("key %u: got %p dir %u, expected session %u dir %u", id, (void *)s, dir,
			 want >> 1, want & 1);
}

static void
op_create(struct ref *r)
{
	uint32_t f = rnd_below(r->universe), v = rnd_below(r->universe);
	struct ct_key kf = key_of_id(f), kv = key_of_id(v);
	bool expect = r->n_live < r->cap && f != v && r->by_key[f] == NONE && r->by_key[v] == NONE;
	struct ct_session *s = ct_create_session(r->t, &kf, &kv, CT_UDP, r->now);
	uint32_t idx;

	if (!expect) {
		if (s != NULL)
			fail_msg("session for keys %u/%u created, expected a refusal", f, v);
		if (r->n_live < r->cap)
			r->refused_dup++;
		else
			r->refused_full++;
		return;
	}
	if (s == NULL)
		fail_msg("session for keys %u/%u refused with %u/%u in use", f, v, r->n_live,
			 r->cap);
	idx = (uint32_t)(s - ct_session_at(r->t, 0));
	assert_int_equal(r->st[idx], 0);
	r->st[idx] = 1;
	r->fwd_id[idx] = f;
	r->rev_id[idx] = v;
	r->by_key[f] = VAL(idx, CT_DIR_FWD);
	r->by_key[v] = VAL(idx, CT_DIR_REV);
	r->live_pos[idx] = r->n_live;
	r->live[r->n_live++] = idx;
	/* Half the sessions are SNAT ones: their expiry takes two steps. */
	if (rnd() & 1)
		s->flags = CT_F_SNAT;
	/* Deletions in every order: each session ends at a random time. */
	r->expire[idx] = r->now + 1 + rnd_below(r->cap < 100 ? 4 : 40);
	s->expire_s = r->expire[idx];
	r->created++;
}

static void
op_lookup(struct ref *r)
{
	uint32_t id = pick_id(r);
	struct ct_key k = key_of_id(id);
	enum ct_dir dir = CT_DIR_FWD;
	struct ct_session *s = ct_lookup(r->t, &k, &dir);

	expect_lookup(r, id, s, dir);
	assert_int_equal(ct_key_in_use(r->t, &k), r->by_key[id] != NONE);
}

static void
op_bulk(struct ref *r)
{
	/* More than one chunk of the implementation's 64 now and then. */
	unsigned n = 1 + rnd_below(rnd_below(8) == 0 ? 150 : 32);
	struct ct_key k[150];
	const struct ct_key *kp[150];
	struct ct_session *out[150];
	uint8_t dirs[150];
	uint32_t ids[150];

	for (unsigned i = 0; i < n; i++) {
		ids[i] = pick_id(r);
		k[i] = key_of_id(ids[i]);
		kp[i] = &k[i];
	}
	ct_lookup_bulk(r->t, kp, n, out, dirs);
	for (unsigned i = 0; i < n; i++)
		expect_lookup(r, ids[i], out[i], dirs[i]);
}

static unsigned released;

static void
count_release(void *ctx, struct ct_session *s)
{
	(void)ctx;
	assert_true(s->flags & CT_F_SNAT);
	assert_int_equal(s->state, CT_HOLD);
	released++;
}

/* One second on: predict what the wheel does, then let it and compare. */
static void
op_tick(struct ref *r)
{
	uint64_t will_free = 0;
	unsigned freed;

	r->now++;
	released = 0;
	freed = ct_expire(r->t, r->now, UINT32_MAX, count_release, NULL);
	/* Bounded by the live sessions; the list shrinks as we go. */
	for (unsigned i = 0; i < r->n_live;) {
		uint32_t idx = r->live[i];
		struct ct_session *s = ct_session_at(r->t, idx);

		if ((int32_t)(r->expire[idx] - r->now) > 0) {
			assert_int_not_equal(s->state, CT_FREE);
			i++;
			continue;
		}
		if (r->st[idx] == 1 && (s->flags & CT_F_SNAT)) {
			/* expired: fwd key gone, rev key held */
			assert_int_equal(s->state, CT_HOLD);
			r->st[idx] = 2;
			r->by_key[r->fwd_id[idx]] = NONE;
			r->expire[idx] = r->now + timeouts.hold_down;
			r->held++;
			i++;
			continue;
		}
		assert_int_equal(s->state, CT_FREE);
		if (r->st[idx] == 1)
			r->by_key[r->fwd_id[idx]] = NONE;
		r->by_key[r->rev_id[idx]] = NONE;
		r->st[idx] = 0;
		ref_drop_live(r, idx);
		will_free++;
	}
	assert_int_equal(freed, will_free);
	assert_int_equal(ct_in_use(r->t), r->n_live);
	r->freed += freed;
}

static void
full_check(struct ref *r)
{
	unsigned max_dist = 0;

	check_table(r->t);
	for (uint32_t id = 0; id < r->universe; id++) {
		struct ct_key k = key_of_id(id);
		enum ct_dir dir = CT_DIR_FWD;
		struct ct_session *s = ct_lookup(r->t, &k, &dir);
		unsigned home;
		int at;

		expect_lookup(r, id, s, dir);
		at = ct_key_bucket(r->t, &k, &home);
		assert_int_equal(at >= 0, s != NULL);
		if (at >= 0 && dist(r->t, home, (unsigned)at) > max_dist)
			max_dist = dist(r->t, home, (unsigned)at);
	}
	assert_true(max_dist < CT_PROBE_MAX);
}

/*
 * `ops` operations on a table of `cap` sessions whose keys are drawn from
 * `universe` ids; the clock moves on once every `tick_every` operations on
 * average, more often while the table is full (so that it keeps changing).
 */
static void
run_randomized(unsigned cap, uint32_t universe, unsigned ops, uint32_t tick_every,
	       uint64_t seed)
{
	struct ref r;

	rng_state = seed;
	rte_srand(seed);
	ref_init(&r, cap, universe);
	/* Bounded: `ops` operations. */
	for (unsigned i = 0; i < ops; i++) {
		uint32_t c = rnd_below(1000);

		if (rnd_below(r.n_live == cap ? 64 : tick_every) == 0)
			op_tick(&r);
		else if (c < 450)
			op_create(&r);
		else if (c < 800)
			op_lookup(&r);
		else
			op_bulk(&r);
		if ((i & 0x3ffff) == 0)
			check_table(r.t);
	}
	full_check(&r);
	/* Then everything ends, in whatever order the wheel meets it. */
	for (unsigned i = 0; i < 50 && r.n_live > 0; i++)
		op_tick(&r);
	assert_int_equal(r.n_live, 0);
	assert_int_equal(ct_in_use(r.t), 0);
	full_check(&r);
	print_message("%u sessions, %u keys: %llu created, %llu refused (key taken), %llu refused "
		      "(full), %llu held, %llu freed, %llu lookups (%llu hits)\n",
		      cap, universe, (unsigned long long)r.created,
		      (unsigned long long)r.refused_dup, (unsigned long long)r.refused_full,
		      (unsigned long long)r.held, (unsigned long long)r.freed,
		      (unsigned long long)r.lookups, (unsigned long long)r.hits);
	assert_true(r.refused_full > 0); /* the pool did fill up */
	ref_fini(&r);
}

/* A big table, filled to capacity again and again: millions of operations. */
static void
test_randomized_large(void **state)
{
	(void)state;
	run_randomized(20000, 100000, 4000000, 5000, 0x7011ca7e5eed0001ULL);
}

/* A tiny table (a handful of buckets): every chain wraps around its end,
 * every bucket overflows into the next. */
static void
test_randomized_small(void **state)
{
	(void)state;
	run_randomized(20, 100, 1000000, 20, 0x7011ca7e5eed0002ULL);
	run_randomized(3, 16, 200000, 5, 0x7011ca7e5eed0003ULL);
}

/* Key number `id` of a fill: structured (key_of_id()) or random. */
static struct ct_key
fill_key(uint32_t id, bool random)
{
	struct ct_key k = key_of_id(id);
	uint64_t x;

	if (random) {
		/* splitmix64 of the id: reproducible, no repeats in 2^21 */
		x = (id + 1) * 0x9e3779b97f4a7c15ULL;
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		x ^= x >> 31;
		k.src = (rte_be32_t)x;
		k.dst = (rte_be32_t)(x >> 32);
		k.sport = (rte_be16_t)id;
		k.dport = (rte_be16_t)(id >> 16);
	}
	k.iface = id & 1;
	return k;
}

/*
 * Filled to capacity (two keys per session, 70 % of the slots), with keys
 * that differ in a few bits as real ones do, then with random ones: nothing
 * is refused, and the chains stay far shorter than the bound.
 */
static void
test_fill(void **state)
{
	const unsigned cap = 1u << 20;

	(void)state;
	for (int random = 0; random <= 1; random++) {
		unsigned hist[CT_PROBE_MAX] = { 0 }, max_dist = 0;
		struct ct_table *t;

		rte_srand(7);
		t = ct_create("ct_fill", cap, &timeouts, 0);
		assert_non_null(t);
		for (uint32_t i = 0; i < cap; i++) {
			struct ct_key f = fill_key(2 * i, random), v = fill_key(2 * i + 1, random);

			if (ct_create_session(t, &f, &v, CT_UDP, 1000) == NULL)
				fail_msg("session %u of %u refused", i, cap);
		}
		for (uint32_t i = 0; i < 2 * cap; i++) {
			struct ct_key k = fill_key(i, random);
			unsigned home, d;
			int at = ct_key_bucket(t, &k, &home);

			assert_true(at >= 0);
			d = dist(t, home, (unsigned)at);
			hist[d]++;
			max_dist = d > max_dist ? d : max_dist;
		}
		print_message("%s keys, %u in %u buckets: %.2f %% in their home bucket, %.3f %% "
			      "more than one bucket on, furthest %u\n",
			      random ? "random" : "structured", 2 * cap, ct_buckets(t),
			      100.0 * hist[0] / (2.0 * cap),
			      100.0 * (2.0 * cap - hist[0] - hist[1]) / (2.0 * cap), max_dist);
		assert_true(max_dist < CT_PROBE_MAX / 2);
		check_table(t);
		ct_free(t);
	}
}

/* --------------------------------------------------- chains and the bound */

/* `n` key ids from `*next` on whose home bucket is `home`. */
static void
keys_homed_at(struct ct_table *t, unsigned home, uint32_t *next, uint32_t *ids, unsigned n)
{
	/* Bounded: about buckets x n tries; a hash that never lands on
	 * `home` would fail the test rather than loop for ever. */
	for (unsigned got = 0, tries = 0; got < n; tries++) {
		struct ct_key k = key_of_id(*next);
		unsigned h;

		assert_true(tries < 1000u * ct_buckets(t) * n);
		assert_int_equal(ct_key_bucket(t, &k, &h), -1);
		if (h == home)
			ids[got++] = *next;
		(*next)++;
	}
}

/* A key id whose home is not within the CT_PROBE_MAX buckets from `home`. */
static void
key_outside(struct ct_table *t, unsigned home, uint32_t *next, uint32_t *id)
{
	/* Bounded: most keys qualify in a table much larger than the bound. */
	for (unsigned tries = 0;; tries++) {
		struct ct_key k = key_of_id(*next);
		unsigned h;

		assert_true(tries < 100000);
		assert_int_equal(ct_key_bucket(t, &k, &h), -1);
		*id = (*next)++;
		if (dist(t, home, h) >= CT_PROBE_MAX)
			return;
	}
}

/*
 * Keys all homed at the last bucket fill it and spill over the end into
 * bucket 0, 1, ...: every one is found, and stays found while the others
 * are deleted in every order (oldest first, newest first, random).
 */
static void
test_wraparound(void **state)
{
	const unsigned cap = 200, n_sess = 40;
	uint32_t ids[2 * 40], next = 0;
	struct ct_table *t;

	(void)state;
	for (unsigned order = 0; order < 3; order++) {
		unsigned last, wrapped = 0;

		rng_state = 0x3a3a3a3a + order;
		rte_srand(rng_state);
		t = ct_create("ct_wrap", cap, &timeouts, 0);
		assert_non_null(t);
		last = ct_buckets(t) - 1;
		next = 0;
		keys_homed_at(t, last, &next, ids, 2 * n_sess);
		for (unsigned i = 0; i < n_sess; i++) {
			struct ct_key f = key_of_id(ids[2 * i]), v = key_of_id(ids[2 * i + 1]);
			struct ct_session *s = ct_create_session(t, &f, &v, CT_UDP, 1000);

			assert_non_null(s);
			/* expiry order: 0 oldest first, 1 newest first, 2 random */
			s->expire_s = 1001 + (order == 0   ? i
					      : order == 1 ? n_sess - i
							   : rnd_below(20));
		}
		check_table(t);
		for (unsigned i = 0; i < 2 * n_sess; i++) {
			struct ct_key k = key_of_id(ids[i]);
			unsigned home;
			int at = ct_key_bucket(t, &k, &home);

			assert_int_equal(home, last);
			assert_true(at >= 0);
			wrapped += (unsigned)at < last;
		}
		/* 80 keys, 10 a bucket: all but the last bucket's past the end */
		assert_true(wrapped >= 2 * n_sess - CT_BUCKET_SLOTS);
		for (uint32_t now = 1001; ct_in_use(t) > 0; now++) {
			assert_true(now < 1100);
			ct_expire(t, now, UINT32_MAX, NULL, NULL);
			check_table(t);
			for (unsigned i = 0; i < n_sess; i++) {
				struct ct_key f = key_of_id(ids[2 * i]);
				struct ct_key v = key_of_id(ids[2 * i + 1]);
				struct ct_session *s = ct_session_at(t, i);
				enum ct_dir d;

				/* sessions were taken from the pool in order */
				if (s->state == CT_FREE) {
					assert_null(ct_lookup(t, &f, &d));
					assert_null(ct_lookup(t, &v, &d));
				} else {
					assert_ptr_equal(ct_lookup(t, &f, &d), s);
					assert_int_equal(d, CT_DIR_FWD);
					assert_ptr_equal(ct_lookup(t, &v, &d), s);
					assert_int_equal(d, CT_DIR_REV);
				}
			}
		}
		ct_free(t);
	}
}

/*
 * One home, CT_PROBE_MAX buckets of room from it (wrapping): exactly that
 * many entries fit, then sessions with a key homed there are refused while
 * the rest of the table takes new ones; a refusal on the second key leaves
 * no trace of the first; a miss for that home walks the whole chain and
 * stops; a freed entry makes room again.
 */
static void
test_table_full(void **state)
{
	const unsigned room = CT_PROBE_MAX * CT_BUCKET_SLOTS;
	uint32_t ids[CT_PROBE_MAX * CT_BUCKET_SLOTS + 2], other[2], next = 0;
	struct ct_table *t;
	unsigned home, n = 0;
	struct ct_key f, v;
	enum ct_dir d;

	(void)state;
	rng_state = 42;
	rte_srand(42);
	t = ct_create("ct_full", 1000, &timeouts, 0);
	assert_non_null(t);
	assert_true(ct_buckets(t) > CT_PROBE_MAX);
	home = ct_buckets(t) - 3; /* the chain wraps too */
	keys_homed_at(t, home, &next, ids, room + 2);

	for (unsigned i = 0; i + 1 < room; i += 2) {
		f = key_of_id(ids[i]);
		v = key_of_id(ids[i + 1]);
		assert_non_null(ct_create_session(t, &f, &v, CT_UDP, 1000));
		n++;
	}
	assert_int_equal(n, room / 2);
	check_table(t);
	/* Both keys homed there: refused. */
	f = key_of_id(ids[room]);
	v = key_of_id(ids[room + 1]);
	assert_null(ct_create_session(t, &f, &v, CT_UDP, 1000));
	assert_null(ct_lookup(t, &f, &d)); /* a miss walks the full chain */
	/* Only the rev key homed there: the fwd key, inserted first, is
	 * taken back. */
	key_outside(t, home, &next, &other[0]);
	key_outside(t, home, &next, &other[1]);
	f = key_of_id(other[0]);
	assert_null(ct_create_session(t, &f, &v, CT_UDP, 1000));
	assert_null(ct_lookup(t, &f, &d));
	assert_int_equal(ct_in_use(t), room / 2);
	check_table(t);
	/* Elsewhere the table takes new sessions. */
	v = key_of_id(other[1]);
	assert_non_null(ct_create_session(t, &f, &v, CT_UDP, 1000));
	assert_int_equal(ct_in_use(t), room / 2 + 1);
	check_table(t);
	/* A freed session makes room for the refused one. */
	ct_session_at(t, 0)->expire_s = 1000;
	for (unsigned i = 1; i < room / 2 + 1; i++)
		ct_session_at(t, i)->expire_s = 5000;
	assert_int_equal(ct_expire(t, 1001, UINT32_MAX, NULL, NULL), 1);
	check_table(t);
	f = key_of_id(ids[room]);
	v = key_of_id(ids[room + 1]);
	assert_non_null(ct_create_session(t, &f, &v, CT_UDP, 1001));
	assert_non_null(ct_lookup(t, &f, &d));
	assert_int_equal(d, CT_DIR_FWD);
	check_table(t);
	ct_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_randomized_small),
		cmocka_unit_test(test_randomized_large),
		cmocka_unit_test(test_fill),
	};

	h_eal_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
