/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The data plane's shared state and the worker context.
 *
 * The control thread builds all of this before the workers start; after
 * that, fields marked "ro" are never written again. Each shared member says
 * who writes it and who reads it.
 */
#ifndef TG_DATAPLANE_DP_H
#define TG_DATAPLANE_DP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/counters.h"

#define DP_IFACE_INSIDE 0
#define DP_IFACE_OUTSIDE 1
#define DP_N_IFACES 2
#define DP_MAX_WORKERS 64
#define DP_BURST 32
#define DP_NAME_LEN 32

struct route_table;
struct neigh_table;
struct ct_table;
struct snat_pool;
struct policy_ruleset;
struct policy_scratch;
struct rte_rcu_qsbr;
struct rte_ring;
struct rte_mempool;
struct inspect_pool;

struct dp_iface {
	/* control: rw before start; workers: ro */
	uint16_t port_id;
	uint16_t n_rxq;           /* queues polled: worker w polls queue w if w < n_rxq */
	uint16_t mtu;
	uint8_t prefix_len;
	rte_be32_t addr;          /* network order */
	struct rte_ether_addr mac;
	char name[DP_NAME_LEN];   /* "inside" / "outside" */
};

/*
 * A published policy: immutable once workers can see it. The control
 * thread swaps dp->policy with one release store and frees the previous
 * one after every worker has passed a quiescent state (QSBR). Sessions keep
 * the generation that judged them, never a pointer into a rule set.
 */
struct dp_policy {
	struct policy_ruleset *rs;
	uint32_t generation;
	struct policy_scratch *scratch[DP_MAX_WORKERS]; /* one per worker */
	/* hits[w][rule_id]: flows each rule decided on worker w (worker w
	 * writes, control reads; NULL when not kept) */
	uint64_t *hits[DP_MAX_WORKERS];
};

/* NAT settings from the configuration; ro after start. */
struct dp_nat {
	unsigned n_no_snat;
	rte_be32_t no_snat_addr[256];  /* destinations that keep their source */
	rte_be32_t no_snat_mask[256];
	bool icmp_on_exhaustion;       /* ICMP unreachable code 13 on SNAT exhaustion */
	bool dnat_snat;                /* SNAT inbound DNAT traffic to the inside address */
};

/* Inspection settings (`inspection:` in the configuration); ro after start. */
struct dp_inspect {
	uint32_t timeout_s;            /* hello or request head within this, or refused */
	uint32_t flow_bytes;           /* bytes of one flow inspected at most */
	bool http_403;                 /* refused HTTP gets a 403 response, not a RST */
};

/* Why a worker handed a packet to the control thread. */
enum dp_punt_reason {
	DP_REASON_ARP = 1,      /* ARP frame */
	DP_REASON_LOCAL,      /* IPv4 for one of our addresses */
	DP_REASON_RESOLVE,      /* routed packet whose next hop has no MAC yet */
};

/*
 * Metadata that travels with an mbuf between threads, in the mbuf's private
 * area (the pool is created with room for it). Written by the sender before
 * the ring enqueue, read by the receiver after the dequeue: the ring's own
 * barriers order it.
 */
struct dp_mbuf_priv {
	rte_be32_t nexthop;   /* DP_PUNT_RESOLVE: the address to resolve */
	uint8_t reason;       /* enum dp_punt_reason */
	uint8_t in_iface;     /* interface the frame came in on */
	uint8_t out_iface;    /* RESOLVE and injected frames: where it goes */
	uint8_t worker;       /* worker that punted it */
};

static inline struct dp_mbuf_priv *
dp_priv(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

#define DP_MBUF_PRIV_SIZE RTE_ALIGN(sizeof(struct dp_mbuf_priv), RTE_MBUF_PRIV_ALIGN)

/* A worker's pending transmit burst for one interface. Worker-private. */
struct dp_txq {
	uint16_t n;
	struct rte_mbuf *pkts[DP_BURST];
};

struct dp;

struct worker {
	/* ro after start */
	unsigned id;                  /* also the QSBR thread id */
	uint16_t queue;               /* rx queue polled and tx queue used, per port */
	struct dp *dp;
	struct rte_ring *punt;        /* worker: enqueue (single producer); control: dequeue */
	struct rte_ring *inject;      /* control: enqueue (single producer); worker: dequeue */
	struct rte_ring *dlog;        /* decision records (dataplane/dlog.h); NULL: logs off */
	/* handoff_out[j]: this worker enqueues packets owned by worker j;
	 * handoff_in[j]: worker j's packets for this one (single producer,
	 * single consumer each; NULL on the diagonal and with one worker) */
	struct rte_ring *handoff_out[DP_MAX_WORKERS];
	struct rte_ring *handoff_in[DP_MAX_WORKERS];
	struct ct_table *ct;          /* this worker's sessions */
	struct snat_pool *snat_out;   /* frontend IPs, this worker's port slice */
	struct snat_pool *snat_in;    /* the inside address (inbound DNAT, hairpin) */
	struct inspect_pool *insp;    /* inspection contexts and names (worker only) */

	/* worker only */
	struct dp_txq txq[DP_N_IFACES];
	uint64_t last_drain_tsc;
	uint64_t icmp_tokens;         /* ICMP error rate limit: token bucket */
	uint64_t icmp_refill_tsc;
	uint32_t now_s;               /* coarse clock: neighbour marks, session timers */
	const struct dp_policy *pol;  /* the policy for this poll (loaded once) */
	uint8_t alloc_iface;          /* SNAT allocation under way: the reply's interface */
	bool rt_cache_valid;          /* last route looked up, this poll only */
	rte_be32_t rt_cache_dst;
	const struct route_nh *rt_cache_nh;
	bool nh_cache_valid;          /* last resolved next hop, this poll only */
	uint8_t nh_cache_iface;
	rte_be32_t nh_cache_ip;
	uint8_t nh_cache_l2[14];      /* Ethernet header towards that next hop */
	uint64_t prev_poll_tsc;       /* when the previous poll started */
	bool prev_poll_worked;        /* it handled a packet */

	/* worker: writes; control: reads (whole 64-bit words, no tearing on x86-64) */
	struct dp_stats stats __rte_cache_aligned;
	uint64_t poll_tsc;            /* TSC cycles in worker_poll(), all polls */
	uint64_t busy_tsc;            /* of which in polls that handled a packet
				       * (both counted at the next poll's start,
				       * so a poll reads the TSC once) */
} __rte_cache_aligned;

struct dp {
	/* ro after start */
	struct dp_iface ifaces[DP_N_IFACES];
	unsigned n_workers;
	struct route_table *routes;
	struct neigh_table *neigh;    /* entries: control rw, workers ro (see neigh.h) */
	struct rte_rcu_qsbr *qsbr;    /* workers report quiescent states every loop */
	struct rte_mempool *pool;
	uint64_t tsc_hz;
	uint64_t drain_tsc;           /* TX drain period in TSC cycles (about 100 us) */
	uint32_t icmp_rate;           /* ICMP errors per second per worker */
	struct dp_nat nat;
	struct dp_inspect inspect;
	uint32_t clock_offset_s;      /* added to the worker clock (tests move time) */
	bool punt_l4;                 /* TCP/UDP for an interface address goes to the
				       * control thread (DNS proxy); else dropped */
	struct worker *workers[DP_MAX_WORKERS];

	/* control: publishes (release); workers: load (acquire) once per poll */
	struct dp_policy *policy;

	/* control: writes (once, to stop); workers: read every loop */
	volatile bool stop;
};

/* One iteration of a worker's loop; worker_main() repeats it until stop. */
void worker_poll(struct worker *w);
int worker_main(void *arg);

/*
 * Route, address and send a packet that already has its IPv4 header ready
 * (TTL already handled): used by the worker for forwarded packets and for
 * ICMP errors it generates. `nh` is the route already looked up, or NULL.
 */
struct route_nh;
void worker_send_ipv4(struct worker *w, struct rte_mbuf *m, uint8_t in_iface,
		      const struct route_nh *nh);

/* Queue a finished frame for transmission on an interface. */
void worker_tx(struct worker *w, uint8_t iface, struct rte_mbuf *m);
void worker_flush(struct worker *w);

#endif
