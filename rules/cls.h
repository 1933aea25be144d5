/* SPDX-License-Identifier: BSD-3-Clause
 * Packet classifier for network, DNAT and application-rule prefilters:
 * first matching rule, in rule order, over four fields (src, dst, dport,
 * protocol class).
 *
 * Method (bit-vector decomposition with aggregation, after Lakshman &
 * Stiliadis '98 and Baboescu & Varghese '01): each field's value space is
 * cut into elementary intervals; each interval carries the set of rules
 * that cover it, as a bit vector over rules in priority order. A lookup
 * finds the interval of each field (a DIR-16-8-8 multibit table: at most
 * three dependent loads; the port field is one direct table), ANDs the
 * vectors word by word and returns the lowest set bit. Vectors are stored compressed: a summary bitmap of the
 * non-zero 64-bit words plus only those words, so the AND first runs over
 * the summaries (one bit per 64 rules) and touches real words only where
 * all four fields have candidates. Identical vectors are stored once.
 *
 * Immutable after build; lookups allocate nothing and are thread-safe.
 */
#ifndef TOLLGATE_RULES_CLS_H
#define TOLLGATE_RULES_CLS_H

#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"

#define CLS_NONE UINT32_MAX
#define CLS_N_PROTO 4 /* protocol classes: key.proto < CLS_N_PROTO */

struct rules_cls;

struct rules_cls_rule {
	const struct policy_range32 *src;
	size_t n_src;
	const struct policy_range32 *dst; /* n_dst == 0: any */
	size_t n_dst;
	const struct policy_range16 *ports; /* n_ports == 0: any */
	size_t n_ports;
	uint8_t proto_mask; /* bit k: protocol class k */
};

struct rules_cls_key {
	uint32_t src, dst;
	uint16_t port;
	uint8_t proto; /* class < CLS_N_PROTO */
};

/* Opaque per-lookup state: the four vectors of a key. */
struct rules_cls_sets {
	uint32_t set[7]; /* src, dst, port, proto; wild src, dst, port */
};

/* `port_any_classes`: bit k set when protocol class k has no ports (ICMP,
 * other protocols): the port field is then ignored for every rule. */
int rules_cls_build(const struct rules_cls_rule *rules, size_t n,
		    unsigned port_any_classes, struct rules_cls **out);
void rules_cls_free(struct rules_cls *c);
size_t rules_cls_memory(const struct rules_cls *c);

void rules_cls_lookup_sets(const struct rules_cls *c,
			   const struct rules_cls_key *k,
			   struct rules_cls_sets *s);
#define RULES_CLS_BULK_MAX 32
/* Same for up to RULES_CLS_BULK_MAX keys, with prefetching across them. */
void rules_cls_lookup_sets_bulk(const struct rules_cls *c,
				const struct rules_cls_key *k, unsigned n,
				struct rules_cls_sets *s);
/* First rule >= from matching all four sets, or CLS_NONE. */
uint32_t rules_cls_next(const struct rules_cls *c,
			const struct rules_cls_sets *s, uint32_t from);
/* Does rule r match? O(1). */
bool rules_cls_test(const struct rules_cls *c, const struct rules_cls_sets *s,
		    uint32_t r);

static inline uint32_t rules_cls_first(const struct rules_cls *c,
				       const struct rules_cls_key *k)
{
	struct rules_cls_sets s;
	rules_cls_lookup_sets(c, k, &s);
	return rules_cls_next(c, &s, 0);
}

#endif
