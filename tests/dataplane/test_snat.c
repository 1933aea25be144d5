/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SNAT port allocator on its own (no EAL): exact exhaustion counts,
 * port overlapping across destinations, paired pooling, endpoint-independent
 * mapping, and a randomized run of millions of allocate/free operations
 * checked against a reference set of reply tuples, which also plays the
 * connection tracker's part (the in_use() authority).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/snat.h"

#define TCP 6
#define UDP 17
#define ICMP 1

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define FIP(i) (IP(192, 0, 2, 0) + (i))        /* frontend IPs: 192.0.2.0/24 ... */
#define HOST(i) (IP(198, 18, 0, 0) + (i))      /* inside hosts */
#define SERVER(i) (IP(203, 0, 113, 0) + (i))   /* destinations */
#define FULL_SLICE (SNAT_PORT_LAST - SNAT_PORT_FIRST + 1)

/* ---- the reference: a set of reply tuples (the tracker's session keys) ---- */

struct rset {
	uint64_t *a;            /* dst << 32 | dport << 16 | proto << 8 | 1; 0: empty */
	uint64_t *b;            /* fip << 16 | fport */
	size_t mask;
	size_t n;
	size_t external_lo, external_hi;  /* ports "held by DNAT": always in use */
};

static void
rset_init(struct rset *s, size_t max)
{
	size_t cap = 16;

	while (cap < 2 * max)
		cap *= 2;
	s->a = calloc(cap, sizeof(*s->a));
	s->b = calloc(cap, sizeof(*s->b));
	assert_non_null(s->a);
	assert_non_null(s->b);
	s->mask = cap - 1;
	s->n = 0;
	s->external_lo = 1;
	s->external_hi = 0;
}

static void
rset_fini(struct rset *s)
{
	free(s->a);
	free(s->b);
}

static inline uint64_t
rmix(uint64_t z)
{
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return z ^ (z >> 33);
}

static inline size_t
rset_home(const struct rset *s, uint64_t a, uint64_t b)
{
	return rmix(a * 31 + rmix(b)) & s->mask;
}

static size_t
rset_find(const struct rset *s, uint64_t a, uint64_t b, bool *found)
{
	size_t i = rset_home(s, a, b);

	for (;;) {
		if (s->a[i] == 0) {
			*found = false;
			return i;
		}
		if (s->a[i] == a && s->b[i] == b) {
			*found = true;
			return i;
		}
		i = (i + 1) & s->mask;
	}
}

static inline uint64_t
key_a(uint8_t proto, uint32_t dst, uint16_t dport)
{
	return (uint64_t)dst << 32 | (uint64_t)dport << 16 | (uint64_t)proto << 8 | 1;
}

static inline uint64_t
key_b(uint32_t fip, uint16_t fport)
{
	return (uint64_t)fip << 16 | fport;
}

/* False when the tuple was already there: a duplicate. */
static bool
rset_add(struct rset *s, uint8_t proto, uint32_t dst, uint16_t dport, uint32_t fip, uint16_t fport)
{
	bool found;
	uint64_t a = key_a(proto, dst, dport), b = key_b(fip, fport);
	size_t i = rset_find(s, a, b, &found);

	if (found)
		return false;
	s->a[i] = a;
	s->b[i] = b;
	s->n++;
	return true;
}

static bool
rset_del(struct rset *s, uint8_t proto, uint32_t dst, uint16_t dport, uint32_t fip, uint16_t fport)
{
	bool found;
	size_t i = rset_find(s, key_a(proto, dst, dport), key_b(fip, fport), &found), j = i;

	if (!found)
		return false;
	for (;;) {
		size_t h;

		j = (j + 1) & s->mask;
		if (s->a[j] == 0)
			break;
		h = rset_home(s, s->a[j], s->b[j]);
		if (((j - h) & s->mask) >= ((j - i) & s->mask)) {
			s->a[i] = s->a[j];
			s->b[i] = s->b[j];
			i = j;
		}
	}
	s->a[i] = 0;
	s->b[i] = 0;
	s->n--;
	return true;
}

static bool
in_use(void *ctx, uint8_t proto, uint32_t dst, uint16_t dport, uint32_t fip, uint16_t fport)
{
	struct rset *s = ctx;
	bool found;

	if (fport >= s->external_lo && fport <= s->external_hi)
		return true;
	rset_find(s, key_a(proto, dst, dport), key_b(fip, fport), &found);
	return found;
}

/* ---- helpers ---- */

static uint32_t ips[256];

static struct snat_pool *
make_pool(unsigned n_ips, uint16_t lo, uint16_t hi, unsigned max_sessions, bool eim,
	  uint64_t seed)
{
	struct snat_params prm = {
		.ips = ips, .n_ips = n_ips, .port_lo = lo, .port_hi = hi,
		.max_sessions = max_sessions, .eim = eim, .seed = seed,
	};
	struct snat_pool *p = NULL;

	for (unsigned i = 0; i < 256; i++)
		ips[i] = FIP(i);
	assert_int_equal(snat_create(&prm, &p), 0);
	assert_non_null(p);
	return p;
}

/* Allocate, check the result is in range and new, and record it. */
static int
alloc_rec(struct snat_pool *p, struct rset *s, uint8_t proto, uint32_t src, uint16_t sport,
	  uint32_t dst, uint16_t dport, uint32_t *fip, uint16_t *fport, uint16_t lo, uint16_t hi)
{
	int rc = snat_alloc(p, proto, src, sport, dst, dport, in_use, s, fip, fport);

	if (rc == 0) {
		assert_in_range(*fport, lo, hi);
		assert_true(rset_add(s, proto, dst, dport, *fip, *fport));
	}
	return rc;
}

static void
free_rec(struct snat_pool *p, struct rset *s, uint8_t proto, uint32_t src, uint16_t sport,
	 uint32_t dst, uint16_t dport, uint32_t fip, uint16_t fport)
{
	assert_true(rset_del(s, proto, dst, dport, fip, fport));
	assert_int_equal(snat_free(p, proto, src, sport, dst, dport, fip, fport), 0);
}

/* ---- worker slices ---- */

static void
test_worker_slices(void **state)
{
	uint16_t lo, hi;

	snat_worker_slice(0, 1, &lo, &hi);
	assert_int_equal(lo, 1024);
	assert_int_equal(hi, 65535);
	for (unsigned n = 1; n <= 64; n++) {
		unsigned next = SNAT_PORT_FIRST;

		for (unsigned w = 0; w < n; w++) {
			snat_worker_slice(w, n, &lo, &hi);
			assert_int_equal(lo, next);               /* contiguous */
			assert_true(hi >= lo);
			assert_int_equal(hi - lo + 1,
					 w + 1 < n ? 64512 / n : 64512 - (n - 1) * (64512 / n));
			assert_int_equal(snat_port_owner(lo, n), w);
			assert_int_equal(snat_port_owner(hi, n), w);
			next = hi + 1U;
		}
		assert_int_equal(next, 65536);                    /* the last takes the rest */
		assert_int_equal(snat_port_owner(1023, n), n);    /* nobody's */
		assert_int_equal(snat_port_owner(0, n), n);
	}
	snat_worker_slice(3, 7, &lo, &hi);
	assert_int_equal(lo, 1024 + 3 * 9216);
	assert_int_equal(hi, 1024 + 4 * 9216 - 1);
	snat_worker_slice(7, 7, &lo, &hi);                        /* no such worker */
	assert_true(lo > hi);
}

/* ---- endpoint-dependent mapping: exact exhaustion ---- */

/* Fill one destination from one host; returns the successes. */
static unsigned
fill(struct snat_pool *p, struct rset *s, uint8_t proto, uint32_t src, uint32_t dst,
     uint16_t dport, uint16_t lo, uint16_t hi, unsigned limit)
{
	unsigned ok = 0;
	uint32_t fip;
	uint16_t fport;

	for (unsigned i = 0; i < limit; i++) {
		int rc = alloc_rec(p, s, proto, src, (uint16_t)(i & 0xffff), dst, dport, &fip,
				   &fport, lo, hi);

		if (rc != 0) {
			assert_int_equal(rc, -ENOSPC);
			break;
		}
		ok++;
	}
	return ok;
}

static void
test_one_ip_one_destination(void **state)
{
	struct snat_pool *p = make_pool(1, 1024, 65535, 300000, false, 1);
	struct rset s;
	struct snat_stats st;
	uint32_t fip;
	uint16_t fport;

	rset_init(&s, 300000);
	/* Exactly 64,512 distinct reply tuples (rset_add checks), then no more. */
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(1), 443, 1024, 65535, 70000), 64512);
	assert_int_equal(snat_alloc(p, TCP, HOST(2), 1, SERVER(1), 443, in_use, &s, &fip, &fport),
			 -ENOSPC);
	assert_int_equal(snat_ip_in_use(p, 0), 64512);
	snat_stats(p, &st);
	assert_int_equal(st.live, 64512);
	assert_int_equal(st.allocs, 64512);
	assert_int_equal(st.exhausted, 2);     /* fill()'s last try and ours */
	assert_int_equal(st.spaces, 1);
	assert_int_equal(st.bitmaps, 1);

	/* Port overlapping: the same ports serve another destination, another
	 * port of the same destination and another protocol, fully. */
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(2), 443, 1024, 65535, 70000), 64512);
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(1), 80, 1024, 65535, 70000), 64512);
	assert_int_equal(fill(p, &s, UDP, HOST(1), SERVER(1), 443, 1024, 65535, 70000), 64512);
	/* ICMP queries: the identifier is the port, dport 0. */
	assert_int_equal(alloc_rec(p, &s, ICMP, HOST(1), 77, SERVER(1), 0, &fip, &fport, 1024,
				   65535),
			 0);
	assert_int_equal(fip, FIP(0));
	assert_int_equal(snat_ip_in_use(p, 0), 4 * 64512 + 1);
	snat_stats(p, &st);
	assert_int_equal(st.spaces, 5);
	rset_fini(&s);
	snat_destroy(p);
}

static void
test_two_ips_one_destination(void **state)
{
	struct snat_pool *p = make_pool(2, 1024, 65535, 300000, false, 2);
	struct rset s;
	uint32_t fip;
	uint16_t fport;

	rset_init(&s, 300000);
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(1), 443, 1024, 65535, 200000), 129024);
	assert_int_equal(snat_alloc(p, TCP, HOST(9), 9, SERVER(1), 443, in_use, &s, &fip, &fport),
			 -ENOSPC);
	assert_int_equal(snat_ip_in_use(p, 0), 64512);
	assert_int_equal(snat_ip_in_use(p, 1), 64512);
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(2), 443, 1024, 65535, 200000), 129024);
	rset_fini(&s);
	snat_destroy(p);
}

/* Many hosts, so that paired pooling spreads the load before it spills. */
static void
exhaust_many(unsigned n_ips, uint16_t lo, uint16_t hi)
{
	unsigned slice = hi - lo + 1U, total = n_ips * slice, ok = 0;
	struct snat_pool *p = make_pool(n_ips, lo, hi, total + 10, false, n_ips);
	struct rset s;
	uint32_t fip;
	uint16_t fport;
	int rc;

	rset_init(&s, total + 10);
	for (unsigned i = 0; i < total + 10; i++) {
		rc = alloc_rec(p, &s, UDP, HOST(i % 4096), (uint16_t)i, SERVER(7), 53, &fip, &fport,
			       lo, hi);
		if (rc != 0) {
			assert_int_equal(rc, -ENOSPC);
			break;
		}
		ok++;
	}
	assert_int_equal(ok, total);
	for (unsigned f = 0; f < n_ips; f++)
		assert_int_equal(snat_ip_in_use(p, f), slice);
	/* ... and the next destination still has all of them. */
	assert_int_equal(alloc_rec(p, &s, UDP, HOST(1), 1, SERVER(8), 53, &fip, &fport, lo, hi), 0);
	assert_int_equal(fip, FIP(snat_paired_index(p, HOST(1))));
	rset_fini(&s);
	snat_destroy(p);
}

static void
test_20_ips(void **state)
{
	exhaust_many(20, 1024, 65535);          /* 1,290,240 */
}

static void
test_256_ips(void **state)
{
	uint16_t lo, hi;

	snat_worker_slice(5, 8, &lo, &hi);      /* 8,064 ports: 2,064,384 in all */
	exhaust_many(256, lo, hi);
}

/* ---- paired pooling ---- */

static void
test_paired_pooling(void **state)
{
	struct snat_pool *p = make_pool(20, 2000, 2099, 10000, false, 3);
	struct rset s;
	struct snat_stats st;
	uint32_t fip, first_fip;
	uint16_t fport, ports[100];
	unsigned home = snat_paired_index(p, HOST(42)), hist[20] = { 0 };

	rset_init(&s, 10000);
	/* The same host keeps its frontend IP while it has room ... */
	for (unsigned i = 0; i < 100; i++) {
		assert_int_equal(alloc_rec(p, &s, TCP, HOST(42), (uint16_t)(i + 1), SERVER(1), 443,
					   &fip, &ports[i], 2000, 2099),
				 0);
		assert_int_equal(fip, FIP(home));
	}
	snat_stats(p, &st);
	assert_int_equal(st.spilled, 0);
	/* ... spills to the next one only when it is full ... */
	assert_int_equal(alloc_rec(p, &s, TCP, HOST(42), 500, SERVER(1), 443, &fip, &fport, 2000,
				   2099),
			 0);
	assert_int_equal(fip, FIP((home + 1) % 20));
	snat_stats(p, &st);
	assert_int_equal(st.spilled, 1);
	/* ... comes back as soon as a port is free there, and gets that port. */
	free_rec(p, &s, TCP, HOST(42), 37, SERVER(1), 443, FIP(home), ports[36]);
	assert_int_equal(alloc_rec(p, &s, TCP, HOST(42), 501, SERVER(1), 443, &fip, &fport, 2000,
				   2099),
			 0);
	assert_int_equal(fip, FIP(home));
	assert_int_equal(fport, ports[36]);
	/* Another destination: the home IP again, not the spill-over. */
	assert_int_equal(alloc_rec(p, &s, TCP, HOST(42), 502, SERVER(2), 443, &first_fip, &fport,
				   2000, 2099),
			 0);
	assert_int_equal(first_fip, FIP(home));
	rset_fini(&s);
	snat_destroy(p);

	/* Different hosts spread over the frontend IPs, each to its paired
	 * one: the per-IP counts are exactly the pairing's histogram. */
	p = make_pool(20, 1024, 65535, 10000, false, 4);
	rset_init(&s, 10000);
	for (unsigned i = 0; i < 2000; i++) {
		unsigned f = snat_paired_index(p, HOST(i));

		hist[f]++;
		assert_int_equal(alloc_rec(p, &s, TCP, HOST(i), 40000, SERVER(1), 443, &fip, &fport,
					   1024, 65535),
				 0);
		assert_int_equal(fip, FIP(f));
	}
	for (unsigned f = 0; f < 20; f++) {
		assert_int_equal(snat_ip_in_use(p, f), hist[f]);
		assert_in_range(hist[f], 60, 140);      /* 100 expected */
	}
	rset_fini(&s);
	snat_destroy(p);
}

/* The pairing is a function of the address alone: two pools (two workers,
 * different seeds) agree, and it is balanced over 20 and 256 IPs. */
static void
test_paired_index_spread(void **state)
{
	struct snat_pool *a = make_pool(20, 1024, 2047, 16, false, 11);
	struct snat_pool *b = make_pool(20, 2048, 3071, 16, false, 12);
	struct snat_pool *c = make_pool(256, 1024, 2047, 16, false, 13);
	unsigned h20[20] = { 0 }, h256[256] = { 0 };

	for (unsigned i = 0; i < 65536; i++) {
		unsigned x = snat_paired_index(a, HOST(i));

		assert_int_equal(x, snat_paired_index(b, HOST(i)));
		h20[x]++;
		h256[snat_paired_index(c, HOST(i))]++;
	}
	for (unsigned f = 0; f < 20; f++)
		assert_in_range(h20[f], 3277 - 300, 3277 + 300);
	for (unsigned f = 0; f < 256; f++)
		assert_in_range(h256[f], 256 - 96, 256 + 96);
	snat_destroy(a);
	snat_destroy(b);
	snat_destroy(c);
}

/* ---- free and reuse ---- */

static void
test_free_then_realloc(void **state)
{
	struct snat_pool *p = make_pool(1, 1024, 65535, 70000, false, 5);
	struct rset s;
	struct snat_stats st;
	uint32_t fip;
	uint16_t fport;

	rset_init(&s, 70000);
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(1), 443, 1024, 65535, 70000), 64512);
	/* Full: each freed port is the one the next allocation must get. */
	for (unsigned i = 0; i < 1000; i++) {
		uint16_t port = (uint16_t)(1024 + (i * 7919) % 64512);

		free_rec(p, &s, TCP, HOST(1), 0, SERVER(1), 443, FIP(0), port);
		assert_int_equal(alloc_rec(p, &s, TCP, HOST(1), 0, SERVER(1), 443, &fip, &fport,
					   1024, 65535),
				 0);
		assert_int_equal(fport, port);
	}
	/* Free everything: the space and its bitmap go back. */
	for (uint32_t port = 1024; port <= 65535; port++)
		free_rec(p, &s, TCP, HOST(1), 0, SERVER(1), 443, FIP(0), (uint16_t)port);
	snat_stats(p, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.spaces, 0);
	assert_int_equal(st.bitmaps, 0);
	assert_int_equal(snat_ip_in_use(p, 0), 0);
	/* And the whole slice again. */
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(1), 443, 1024, 65535, 70000), 64512);
	rset_fini(&s);
	snat_destroy(p);
}

/* Ports the tracker reports taken by others (a DNAT listener range inside
 * the slice) are never handed out, and exhaustion is still exact. */
static void
test_ports_taken_by_others(void **state)
{
	struct snat_pool *p = make_pool(1, 1024, 65535, 70000, false, 6);
	struct rset s;

	rset_init(&s, 70000);
	s.external_lo = 30000;
	s.external_hi = 30099;
	assert_int_equal(fill(p, &s, TCP, HOST(1), SERVER(1), 443, 1024, 65535, 70000), 64412);
	for (size_t i = 0; i <= s.mask; i++) {
		uint16_t port = (uint16_t)(s.b[i] & 0xffff);

		assert_true(s.a[i] == 0 || port < 30000 || port > 30099);
	}
	rset_fini(&s);
	snat_destroy(p);
}

/* A destination whose ports are nearly all someone else's: the random
 * probes fail, the space takes a bitmap from the reserve and finds the last
 * free ports exactly. Once the reserve (32 such spaces) is in use, a further
 * crowded destination is refused rather than searched port by port: the
 * documented price of bounding every call. */
static void
test_crowded_destinations(void **state)
{
	struct snat_pool *p = make_pool(1, 1024, 65535, 70000, false, 9);
	struct rset s;
	struct snat_stats st;
	uint32_t fip;
	uint16_t fport;

	rset_init(&s, 70000);
	s.external_lo = 1024;
	s.external_hi = 65525;                  /* 10 ports left: 65526..65535 */
	for (unsigned d = 0; d < 32; d++)
		assert_int_equal(fill(p, &s, UDP, HOST(1), SERVER(d), 53, 65526, 65535, 100), 10);
	snat_stats(p, &st);
	assert_int_equal(st.bitmaps, 32);
	assert_int_equal(snat_alloc(p, UDP, HOST(1), 1, SERVER(40), 53, in_use, &s, &fip, &fport),
			 -ENOSPC);
	/* Freeing one of them gives its bitmap back (below T/2 it is not kept). */
	free_rec(p, &s, UDP, HOST(1), 0, SERVER(0), 53, FIP(0), 65530);
	snat_stats(p, &st);
	assert_int_equal(st.bitmaps, 31);
	assert_int_equal(fill(p, &s, UDP, HOST(1), SERVER(40), 53, 65526, 65535, 100), 10);
	rset_fini(&s);
	snat_destroy(p);
}

/* ---- errors ---- */

static void
test_errors(void **state)
{
	struct snat_params prm = {
		.ips = ips, .n_ips = 2, .port_lo = 1024, .port_hi = 1033, .max_sessions = 5,
	};
	struct snat_pool *p;
	struct rset s;
	uint32_t fip;
	uint16_t fport;

	ips[0] = FIP(0);
	ips[1] = FIP(0);
	assert_int_equal(snat_create(&prm, &p), -EINVAL);       /* repeated address */
	assert_null(p);
	ips[1] = FIP(1);
	prm.port_lo = 2000;
	assert_int_equal(snat_create(&prm, &p), -EINVAL);       /* empty slice */
	prm.port_lo = 1024;
	prm.n_ips = 0;
	assert_int_equal(snat_create(&prm, &p), -EINVAL);
	prm.n_ips = SNAT_MAX_IPS + 1;
	assert_int_equal(snat_create(&prm, &p), -EINVAL);
	prm.n_ips = 2;
	prm.max_sessions = 0;
	assert_int_equal(snat_create(&prm, &p), -EINVAL);
	prm.max_sessions = 5;
	assert_int_equal(snat_create(&prm, &p), 0);
	assert_true(snat_memory(p) > sizeof(struct snat_params));

	rset_init(&s, 16);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(alloc_rec(p, &s, TCP, HOST(1), 1, SERVER(i), 80, &fip, &fport,
					   1024, 1033),
				 0);
	/* max_sessions held: refused before any search. */
	assert_int_equal(snat_alloc(p, TCP, HOST(1), 1, SERVER(9), 80, in_use, &s, &fip, &fport),
			 -ENOBUFS);
	assert_int_equal(snat_free(p, TCP, HOST(1), 1, SERVER(9), 80, FIP(0), 1024), -ENOENT);
	assert_int_equal(snat_free(p, TCP, HOST(1), 1, SERVER(0), 80, FIP(5), 1024), -EINVAL);
	assert_int_equal(snat_free(p, TCP, HOST(1), 1, SERVER(0), 80, FIP(0), 1034), -EINVAL);
	assert_int_equal(snat_ip_in_use(p, 2), 0);
	rset_fini(&s);
	snat_destroy(p);
	snat_destroy(NULL);
}

/* ---- endpoint-independent mapping ---- */

static void
test_eim(void **state)
{
	struct snat_pool *p = make_pool(2, 1024, 65535, 200000, true, 7);
	struct rset s;
	struct snat_stats st;
	uint32_t fip, fip2;
	uint16_t fport, fport2;
	unsigned home = snat_paired_index(p, HOST(5));

	rset_init(&s, 200000);
	/* One endpoint, three destinations: one (F, P) (RFC 4787 REQ-1). */
	assert_int_equal(alloc_rec(p, &s, UDP, HOST(5), 5000, SERVER(1), 53, &fip, &fport, 1024,
				   65535),
			 0);
	assert_int_equal(fip, FIP(home));
	for (unsigned d = 2; d <= 3; d++) {
		assert_int_equal(alloc_rec(p, &s, UDP, HOST(5), 5000, SERVER(d), 53, &fip2, &fport2,
					   1024, 65535),
				 0);
		assert_int_equal(fip2, fip);
		assert_int_equal(fport2, fport);
	}
	assert_int_equal(snat_ip_in_use(p, home), 3);
	snat_stats(p, &st);
	assert_int_equal(st.spaces, 1);         /* one mapping, three references */
	/* The same flow again while its session is held: refused, not doubled. */
	assert_int_equal(snat_alloc(p, UDP, HOST(5), 5000, SERVER(1), 53, in_use, &s, &fip2,
				    &fport2),
			 -EADDRINUSE);
	/* A different protocol is a different endpoint. */
	assert_int_equal(alloc_rec(p, &s, TCP, HOST(5), 5000, SERVER(1), 53, &fip2, &fport2, 1024,
				   65535),
			 0);
	/* References: the mapping lives until the last session goes. */
	free_rec(p, &s, UDP, HOST(5), 5000, SERVER(1), 53, fip, fport);
	free_rec(p, &s, UDP, HOST(5), 5000, SERVER(2), 53, fip, fport);
	assert_int_equal(alloc_rec(p, &s, UDP, HOST(5), 5000, SERVER(9), 53, &fip2, &fport2, 1024,
				   65535),
			 0);
	assert_int_equal(fip2, fip);
	assert_int_equal(fport2, fport);
	free_rec(p, &s, UDP, HOST(5), 5000, SERVER(3), 53, fip, fport);
	free_rec(p, &s, UDP, HOST(5), 5000, SERVER(9), 53, fip, fport);
	assert_int_equal(snat_free(p, UDP, HOST(5), 5000, SERVER(9), 53, fip, fport), -ENOENT);
	snat_stats(p, &st);
	assert_int_equal(st.spaces, 1);         /* the TCP endpoint's */
	assert_int_equal(snat_ip_in_use(p, home), 1);
	rset_fini(&s);
	snat_destroy(p);
}

/* EIM exhaustion: (proto, F, P) is exclusive, so one F maps exactly slice
 * endpoints per protocol; mapped endpoints still reach new destinations. */
static void
test_eim_exhaustion(void **state)
{
	struct snat_pool *p = make_pool(2, 1024, 65535, 300000, true, 8);
	struct rset s;
	uint32_t fip;
	uint16_t fport;
	unsigned ok = 0;
	int rc;

	rset_init(&s, 300000);
	for (unsigned i = 0; i < 140000; i++) {
		rc = alloc_rec(p, &s, UDP, HOST(i >> 16), (uint16_t)i, SERVER(1), 53, &fip, &fport,
			       1024, 65535);
		if (rc != 0) {
			assert_int_equal(rc, -ENOSPC);
			break;
		}
		ok++;
	}
	assert_int_equal(ok, 129024);
	assert_int_equal(snat_ip_in_use(p, 0), 64512);
	assert_int_equal(snat_ip_in_use(p, 1), 64512);
	/* A new endpoint fails for any destination; a mapped one does not. */
	assert_int_equal(snat_alloc(p, UDP, HOST(99), 1, SERVER(2), 53, in_use, &s, &fip, &fport),
			 -ENOSPC);
	assert_int_equal(alloc_rec(p, &s, UDP, HOST(0), 7, SERVER(2), 53, &fip, &fport, 1024,
				   65535),
			 0);
	/* TCP has its own ports. */
	assert_int_equal(alloc_rec(p, &s, TCP, HOST(99), 1, SERVER(2), 53, &fip, &fport, 1024,
				   65535),
			 0);
	rset_fini(&s);
	snat_destroy(p);
}

/* ---- randomized: millions of operations against the reference ---- */

struct live {
	uint32_t src, dst, fip;
	uint16_t sport, dport, fport;
	uint8_t proto;
};

static uint64_t rnd_state;

static inline uint32_t
rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(((rnd_state >> 32) * n) >> 32);
}

static const uint8_t protos[3] = { TCP, UDP, ICMP };

static unsigned
dest_index(unsigned pi, unsigned d, unsigned dp)
{
	return (pi * 40 + d) * 2 + dp;          /* 3 protocols x 40 servers x 2 ports */
}

/*
 * EDM: 3 frontend IPs with a 300-port slice, 64 hosts, 240 destinations
 * (12 of them busy), so spaces go through sparse, dense, exhausted and back
 * all the time, and the pool through its session cap.
 * Every success must be a new reply tuple; every -ENOSPC must mean every
 * frontend IP really is full for that destination; the per-IP counts must
 * match the reference's at every check.
 */
static void
randomized_edm(unsigned ops, uint64_t seed, unsigned max_sessions)
{
	enum { N_IPS = 3, LO = 20000, HI = 20299, SLICE = HI - LO + 1, N_DEST = 240 };
	struct snat_pool *p = make_pool(N_IPS, LO, HI, max_sessions, false, seed);
	struct live *lv = calloc(max_sessions, sizeof(*lv));
	unsigned (*cnt)[N_IPS] = calloc(N_DEST, sizeof(*cnt));
	unsigned ip_cnt[N_IPS] = { 0 }, n = 0, nospc = 0, nobufs = 0;
	struct snat_stats st;
	struct rset s;

	assert_non_null(lv);
	assert_non_null(cnt);
	rset_init(&s, max_sessions);
	rnd_state = seed * 0x9E3779B97F4A7C15ULL | 1;
	for (unsigned op = 0; op < ops; op++) {
		/* Drift the fill level between empty and full in long waves. */
		unsigned want = (op / 200000) % 2 ? 30 : 70;

		if (n > 0 && rnd(100) >= want) {
			unsigned k = rnd(n);
			struct live *l = &lv[k];
			unsigned pi = l->proto == TCP ? 0 : l->proto == UDP ? 1 : 2;
			unsigned d = dest_index(pi, l->dst - SERVER(0), l->dport == 443 ? 0 : 1);
			unsigned f = l->fip - FIP(0);

			free_rec(p, &s, l->proto, l->src, l->sport, l->dst, l->dport, l->fip,
				 l->fport);
			cnt[d][f]--;
			ip_cnt[f]--;
			lv[k] = lv[--n];
		} else {
			/* Half the flows go to two busy servers, which run out of
			 * ports; the rest spread over 40 and hit the session cap. */
			unsigned pi = rnd(3), ds = rnd(2) ? rnd(2) : rnd(40), dp = rnd(2);
			unsigned d = dest_index(pi, ds, dp);
			struct live l = {
				.proto = protos[pi], .src = HOST(rnd(64)),
				.sport = (uint16_t)rnd(65536),
				.dst = SERVER(ds), .dport = dp ? 80 : 443,
			};
			int rc = alloc_rec(p, &s, l.proto, l.src, l.sport, l.dst, l.dport, &l.fip,
					   &l.fport, LO, HI);

			if (rc == 0) {
				unsigned f = l.fip - FIP(0), home = snat_paired_index(p, l.src);

				assert_true(f < N_IPS);
				/* Paired first: a spill means the home IP was full. */
				if (f != home)
					assert_int_equal(cnt[d][home], SLICE);
				cnt[d][f]++;
				ip_cnt[f]++;
				lv[n++] = l;
			} else if (rc == -ENOSPC) {
				for (unsigned f = 0; f < N_IPS; f++)
					assert_int_equal(cnt[d][f], SLICE);
				nospc++;
			} else {
				assert_int_equal(rc, -ENOBUFS);
				assert_int_equal(n, max_sessions);
				nobufs++;
			}
		}
		if (op % 4096 == 0) {
			snat_stats(p, &st);
			assert_int_equal(st.live, n);
			assert_int_equal(s.n, n);
			for (unsigned f = 0; f < N_IPS; f++)
				assert_int_equal(snat_ip_in_use(p, f), ip_cnt[f]);
		}
	}
	/* The waves must have reached exhaustion many times. */
	assert_true(nospc > 1000);
	assert_true(nobufs > 1000);
	snat_stats(p, &st);
	print_message("edm: %u ops, %u exhausted, %u at the session cap, %u live at the end, "
		      "%.3f questions per allocation, %llu bitmaps attached\n",
		      ops, nospc, nobufs, n, (double)st.in_use_calls / (double)(st.allocs + nospc),
		      (unsigned long long)st.bitmap_attaches);
	/* Drain: everything goes back. */
	while (n > 0) {
		struct live *l = &lv[--n];

		free_rec(p, &s, l->proto, l->src, l->sport, l->dst, l->dport, l->fip, l->fport);
	}
	snat_stats(p, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.spaces, 0);
	assert_int_equal(st.bitmaps, 0);
	rset_fini(&s);
	free(cnt);
	free(lv);
	snat_destroy(p);
}

static void
test_randomized_edm(void **state)
{
	randomized_edm(3000000, 21, 40000);
}

/*
 * EIM: 2 frontend IPs with a 200-port slice and 600 endpoints per protocol
 * (more than the 400 (F, P) pairs), to 8 destinations. Checked: one (F, P)
 * per endpoint while it has sessions, (class, F, P) never shared between
 * endpoints, -ENOSPC only when every F is full for the class, -EADDRINUSE
 * exactly when the flow's reply tuple is live.
 */
static void
test_randomized_eim(void **state)
{
	enum { N_IPS = 2, LO = 40000, HI = 40199, SLICE = HI - LO + 1, N_EP = 600, MAX = 20000 };
	struct snat_pool *p = make_pool(N_IPS, LO, HI, MAX, true, 31);
	struct live *lv = calloc(MAX, sizeof(*lv));
	struct ep {
		unsigned refs;
		uint32_t fip;
		uint16_t fport;
	} *ep = calloc(3 * N_EP, sizeof(*ep));
	int *owner = calloc(3 * N_IPS * SLICE, sizeof(*owner));    /* endpoint + 1 */
	unsigned used[3][N_IPS] = { { 0 } }, n = 0, nospc = 0, busy = 0;
	struct snat_stats st;
	struct rset s;

	assert_non_null(lv);
	assert_non_null(ep);
	assert_non_null(owner);
	rset_init(&s, MAX);
	rnd_state = 0x1234567;
	for (unsigned op = 0; op < 2000000; op++) {
		unsigned want = (op / 100000) % 2 ? 35 : 65;

		if (n > 0 && rnd(100) >= want) {
			unsigned k = rnd(n);
			struct live *l = &lv[k];
			unsigned pi = l->proto == TCP ? 0 : l->proto == UDP ? 1 : 2;
			unsigned e = pi * N_EP + (l->src - HOST(0)) * 10 + (l->sport - 1000);

			free_rec(p, &s, l->proto, l->src, l->sport, l->dst, l->dport, l->fip,
				 l->fport);
			if (--ep[e].refs == 0) {
				unsigned f = l->fip - FIP(0);

				owner[(pi * N_IPS + f) * SLICE + (l->fport - LO)] = 0;
				used[pi][f]--;
			}
			lv[k] = lv[--n];
		} else {
			unsigned pi = rnd(3), h = rnd(N_EP / 10), sp = rnd(10);
			unsigned e = pi * N_EP + h * 10 + sp;
			struct live l = {
				.proto = protos[pi], .src = HOST(h), .sport = (uint16_t)(1000 + sp),
				.dst = SERVER(rnd(8)), .dport = 443,
			};
			bool live_tuple = false;
			int rc;

			if (ep[e].refs > 0) {
				bool found;

				rset_find(&s, key_a(l.proto, l.dst, l.dport),
					  key_b(ep[e].fip, ep[e].fport), &found);
				live_tuple = found;
			}
			rc = alloc_rec(p, &s, l.proto, l.src, l.sport, l.dst, l.dport, &l.fip,
				       &l.fport, LO, HI);
			if (rc == 0) {
				unsigned f = l.fip - FIP(0);
				int *o = &owner[(pi * N_IPS + f) * SLICE + (l.fport - LO)];

				assert_false(live_tuple);
				if (ep[e].refs > 0) {
					assert_int_equal(l.fip, ep[e].fip);
					assert_int_equal(l.fport, ep[e].fport);
					assert_int_equal(*o, (int)e + 1);
				} else {
					assert_int_equal(*o, 0);        /* nobody else's */
					*o = (int)e + 1;
					ep[e].fip = l.fip;
					ep[e].fport = l.fport;
					used[pi][f]++;
				}
				ep[e].refs++;
				lv[n++] = l;
			} else if (rc == -EADDRINUSE) {
				assert_true(live_tuple);
				busy++;
			} else {
				assert_int_equal(rc, -ENOSPC);
				assert_int_equal(ep[e].refs, 0);
				for (unsigned f = 0; f < N_IPS; f++)
					assert_int_equal(used[pi][f], SLICE);
				nospc++;
			}
		}
		if (op % 4096 == 0) {
			snat_stats(p, &st);
			assert_int_equal(st.live, n);
		}
	}
	assert_true(nospc > 1000);
	assert_true(busy > 1000);
	print_message("eim: 2000000 ops, %u exhausted, %u busy tuples, %u live at the end\n", nospc,
		      busy, n);
	rset_fini(&s);
	free(owner);
	free(ep);
	free(lv);
	snat_destroy(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_slices),
		cmocka_unit_test(test_one_ip_one_destination),
		cmocka_unit_test(test_two_ips_one_destination),
		cmocka_unit_test(test_20_ips),
		cmocka_unit_test(test_256_ips),
		cmocka_unit_test(test_paired_pooling),
		cmocka_unit_test(test_paired_index_spread),
		cmocka_unit_test(test_free_then_realloc),
		cmocka_unit_test(test_ports_taken_by_others),
		cmocka_unit_test(test_crowded_destinations),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_eim),
		cmocka_unit_test(test_eim_exhaustion),
		cmocka_unit_test(test_randomized_edm),
		cmocka_unit_test(test_randomized_eim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
