/* SPDX-License-Identifier: BSD-3-Clause
 * The network classifier against a linear-scan reference, on random rule
 * sets with CIDRs, ranges, "*", multi-range fields and port ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/cls.h"

static uint32_t rnd(void)
{
	return ((uint32_t)rand() << 16) ^ (uint32_t)rand();
}

static bool in32(const struct policy_range32 *r, size_t n, uint32_t v)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

static bool in16(const struct policy_range16 *r, size_t n, uint16_t v)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

static uint32_t ref_first(const struct rules_cls_rule *r, size_t n,
			  const struct rules_cls_key *k, unsigned port_any,
			  uint32_t from)
{
	for (uint32_t i = from; i < n; i++) {
		if (!(r[i].proto_mask & (1u << k->proto)))
			continue;
		if (!in32(r[i].src, r[i].n_src, k->src) ||
		    !in32(r[i].dst, r[i].n_dst, k->dst))
			continue;
		if (!((port_any >> k->proto) & 1) &&
		    !in16(r[i].ports, r[i].n_ports, k->port))
			continue;
		return i;
	}
	return CLS_NONE;
}

/* Addresses are drawn from a small pool so that rules overlap and keys
 * hit them. */
static uint32_t pool_addr(void)
{
	static const uint32_t base[] = {0xc6120000, 0xc6336400, 0xcb007100,
					0xc0000200, 0x0a000000};
	return base[rand() % 5] + (rnd() % 512);
}

static void random_range(struct policy_range32 *r)
{
	switch (rand() % 3) {
	case 0: { /* CIDR */
		unsigned len = 20 + (unsigned)rand() % 13;
		uint32_t mask = len == 32 ? UINT32_MAX : ~(UINT32_MAX >> len);
		r->lo = pool_addr() & mask;
		r->hi = r->lo | ~mask;
		break;
	}
	case 1: { /* range */
		uint32_t a = pool_addr(), b = pool_addr();
		r->lo = a < b ? a : b;
		r->hi = a < b ? b : a;
		break;
	}
	default:
		r->lo = r->hi = pool_addr();
	}
}

static void run_random(unsigned seed, size_t n, unsigned port_any)
{
	srand(seed);
	struct rules_cls_rule *rules = calloc(n, sizeof(*rules));
	struct policy_range32 *r32 = calloc(n * 6, sizeof(*r32));
	struct policy_range16 *r16 = calloc(n * 3, sizeof(*r16));
	for (size_t i = 0; i < n; i++) {
		struct rules_cls_rule *r = &rules[i];
		r->proto_mask = (uint8_t)(1 + rand() % 15);
		if (rand() % 3) {
			/* disjoint, sorted ranges as the loader produces */
			r->src = &r32[i * 6];
			random_range(&r32[i * 6]);
			r->n_src = 1;
		}
		if (rand() % 5) {
			r->dst = &r32[i * 6 + 3];
			size_t k = 1 + (size_t)rand() % 2;
			random_range(&r32[i * 6 + 3]);
			if (k == 2) {
				struct policy_range32 *a = &r32[i * 6 + 3],
						      *b = &r32[i * 6 + 4];
				if (a->hi < UINT32_MAX - 10) {
					b->lo = a->hi + 2 + rnd() % 1000;
					b->hi = b->lo + rnd() % 100;
					if (b->hi < b->lo)
						b->hi = b->lo;
				} else
					k = 1;
			}
			r->n_dst = k;
		}
		if (rand() % 4) {
			r->ports = &r16[i * 3];
			uint16_t a = (uint16_t)(rand() % 2000);
			r16[i * 3].lo = a;
			r16[i * 3].hi = (uint16_t)(a + (rand() % 3 ? 0 : rand() % 50));
			r->n_ports = 1;
		}
	}
	struct rules_cls *c;
	assert_int_equal(rules_cls_build(rules, n, port_any, &c), 0);
	for (int q = 0; q < 20000; q++) {
		struct rules_cls_key k = {.src = pool_addr(),
					  .dst = pool_addr(),
					  .port = (uint16_t)(rand() % 2100),
					  .proto = (uint8_t)(rand() % 4)};
		if (q % 97 == 0)
			k.src = rnd();
		uint32_t want = ref_first(rules, n, &k, port_any, 0);
		struct rules_cls_sets s;
		rules_cls_lookup_sets(c, &k, &s);
		uint32_t got = rules_cls_next(c, &s, 0);
		assert_int_equal(got, want);
		if (got != CLS_NONE) {
			assert_true(rules_cls_test(c, &s, got));
			assert_int_equal(rules_cls_next(c, &s, got + 1),
					 ref_first(rules, n, &k, port_any,
						   got + 1));
		}
		uint32_t probe = (uint32_t)rand() % (uint32_t)n;
		assert_int_equal(rules_cls_test(c, &s, probe),
				 ref_first(rules, n, &k, port_any, probe) ==
					 probe);
	}
	/* burst lookups agree with single ones */
	for (int q = 0; q < 200; q++) {
		struct rules_cls_key kb[RULES_CLS_BULK_MAX];
		struct rules_cls_sets sb[RULES_CLS_BULK_MAX];
		unsigned nb = 1 + (unsigned)rand() % RULES_CLS_BULK_MAX;
		for (unsigned i = 0; i < nb; i++)
			kb[i] = (struct rules_cls_key){
				.src = pool_addr(), .dst = pool_addr(),
				.port = (uint16_t)(rand() % 2100),
				.proto = (uint8_t)(rand() % 4)};
		rules_cls_lookup_sets_bulk(c, kb, nb, sb);
		for (unsigned i = 0; i < nb; i++)
			assert_int_equal(rules_cls_next(c, &sb[i], 0),
					 ref_first(rules, n, &kb[i], port_any, 0));
	}
	rules_cls_free(c);
	free(rules);
	free(r32);
	free(r16);
}

static void test_random_small(void **state)
{
	run_random(1, 10, 0);
	run_random(2, 70, 0x4);
}

static void test_random_large(void **state)
{
	/* > 4096 rules: several summary words */
	run_random(3, 5000, 0xc);
}

static void test_edges(void **state)
{
	/* empty rule set; full ranges; 0 and max values */
	struct rules_cls *c;
	struct rules_cls_key k = {.src = 0, .dst = UINT32_MAX, .port = 65535,
				  .proto = 0};
	assert_int_equal(rules_cls_build(NULL, 0, 0, &c), 0);
	assert_int_equal(rules_cls_first(c, &k), CLS_NONE);
	rules_cls_free(c);

	struct policy_range32 all = {0, UINT32_MAX}, top = {UINT32_MAX,
							     UINT32_MAX};
	struct policy_range16 p0 = {65535, 65535};
	struct rules_cls_rule r[2] = {
		{.dst = &top, .n_dst = 1, .ports = &p0, .n_ports = 1,
		 .proto_mask = 1},
		{.src = &all, .n_src = 1, .proto_mask = 0xf},
	};
	assert_int_equal(rules_cls_build(r, 2, 0, &c), 0);
	assert_int_equal(rules_cls_first(c, &k), 0);
	k.port = 65534;
	assert_int_equal(rules_cls_first(c, &k), 1);
	k.dst = 0;
	k.proto = 3;
	assert_int_equal(rules_cls_first(c, &k), 1);
	rules_cls_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_random_small),
		cmocka_unit_test(test_random_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
