/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decision log records: what a worker decided about a new flow (network,
 * application and DNAT decisions, modelled on Azure's AZFWNetworkRule,
 * AZFWApplicationRule and AZFWNatRule records).
 *
 * Each worker fills its own single-producer ring of fixed-size records;
 * the control thread drains the rings and writes JSON lines, resolving the
 * rule id with the policy of the record's generation. A full ring never
 * makes a worker wait: the record is dropped and counted (log.dropped).
 */
#ifndef TG_DATAPLANE_DLOG_H
#define TG_DATAPLANE_DLOG_H

#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/dp.h"

enum dlog_kind {
	DLOG_NETWORK = 0,     /* AZFWNetworkRule */
	DLOG_APPLICATION = 1, /* AZFWApplicationRule */
	DLOG_DNAT = 2,        /* AZFWNatRule */
};

#define DLOG_FQDN_MAX 215

/* 256 bytes, no pointers: it crosses threads by copy. */
struct dlog_rec {
	uint64_t tsc;            /* rte_rdtsc() at the decision */
	rte_be32_t src, dst;     /* the flow as it arrived */
	rte_be16_t sport, dport; /* ICMP: identifier, 0 */
	rte_be32_t xaddr;        /* SNAT: translated source; DNAT: translated
				  * destination; 0 when not translated */
	rte_be16_t xport;
	uint8_t proto;           /* IPPROTO_* */
	uint8_t kind;            /* enum dlog_kind */
	uint8_t action;          /* enum policy_action (deny, allow, dnat) */
	uint8_t worker;
	uint16_t reason;         /* enum dp_counter: the drop's counter when
				  * refused, DP_CT_CREATED when allowed */
	uint32_t rule_id;        /* POLICY_RULE_NONE: no rule matched */
	uint32_t generation;     /* the policy generation that decided */
	uint8_t fqdn_len;        /* application records: SNI or Host */
	char fqdn[DLOG_FQDN_MAX];
};

_Static_assert(sizeof(struct dlog_rec) == 256, "dlog_rec is 256 bytes");

/* Enqueue a copy of `r` on the worker's ring (if logging is on). */
static inline void
dlog_emit(struct worker *w, const struct dlog_rec *r)
{
	if (w->dlog == NULL)
		return;
	if (rte_ring_sp_enqueue_elem(w->dlog, (void *)(uintptr_t)r, sizeof(*r)) != 0)
		w->stats.c[DP_LOG_DROPPED]++;
}

#endif
