/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-core loop. worker_poll() is one pass: for each interface, receive
 * a burst and carry each packet through the stages in wire order
 *     rx -> parse/validate -> route -> (ICMP error) -> neighbour -> tx
 * then send what the control thread handed over, drain transmit buffers on
 * a timer, and report a quiescent state. Nothing here blocks, allocates
 * from the heap or takes a lock; every loop is bounded by a burst size.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/dp.h"
#include "dataplane/icmp.h"
#include "dataplane/ipv4.h"
#include "dataplane/neigh.h"
#include "dataplane/route.h"

static const enum dp_counter rx_pkts[DP_N_IFACES] = { DP_RX_INSIDE_PKTS, DP_RX_OUTSIDE_PKTS };
static const enum dp_counter rx_bytes[DP_N_IFACES] = { DP_RX_INSIDE_BYTES, DP_RX_OUTSIDE_BYTES };
static const enum dp_counter tx_pkts[DP_N_IFACES] = { DP_TX_INSIDE_PKTS, DP_TX_OUTSIDE_PKTS };
static const enum dp_counter tx_bytes[DP_N_IFACES] = { DP_TX_INSIDE_BYTES, DP_TX_OUTSIDE_BYTES };

static inline void
count(struct worker *w, enum dp_counter c)
{
	w->stats.c[c]++;
}

static inline void
drop(struct worker *w, struct rte_mbuf *m, enum dp_counter reason)
{
	w->stats.c[reason]++;
	rte_pktmbuf_free(m);
}

void
worker_flush(struct worker *w)
{
	for (uint8_t i = 0; i < DP_N_IFACES; i++) {
		struct dp_txq *q = &w->txq[i];
		uint64_t bytes = 0;
		uint16_t sent;

		if (q->n == 0)
			continue;
		sent = rte_eth_tx_burst(w->dp->ifaces[i].port_id, w->queue, q->pkts, q->n);
		for (uint16_t k = 0; k < sent; k++)
			bytes += q->pkts[k]->pkt_len;
		w->stats.c[tx_pkts[i]] += sent;
		w->stats.c[tx_bytes[i]] += bytes;
		/* A full queue is not waited for: what did not fit is dropped. */
		for (uint16_t k = sent; k < q->n; k++)
			drop(w, q->pkts[k], DP_DROP_TX_FULL);
		q->n = 0;
	}
}

void
worker_tx(struct worker *w, uint8_t iface, struct rte_mbuf *m)
{
	struct dp_txq *q = &w->txq[iface];

	q->pkts[q->n++] = m;
	if (q->n == DP_BURST)
		worker_flush(w);
}

static void
punt(struct worker *w, struct rte_mbuf *m, enum dp_punt_reason reason, uint8_t in_iface,
     enum dp_counter counter)
{
	struct dp_mbuf_priv *p = dp_priv(m);

	p->reason = reason;
	p->in_iface = in_iface;
	p->worker = (uint8_t)w->id;
	if (rte_ring_sp_enqueue(w->punt, m) != 0) {
		drop(w, m, DP_DROP_PUNT_FULL);
		return;
	}
	count(w, counter);
}

/*
 * The last neighbour a worker resolved, kept for one poll only: the entry
 * cannot be recycled before this worker's next quiescent state, which comes
 * at the end of the poll, so reading it without a new hash lookup is safe
 * until then. Bursts mostly go to one gateway: one lookup per burst.
 */
static inline bool
nh_mac(struct worker *w, uint8_t iface, rte_be32_t next, struct rte_ether_addr *mac)
{
	if (w->nh_cache_valid && w->nh_cache_ip == next && w->nh_cache_iface == iface) {
		*mac = w->nh_cache_mac;
		return true;
	}
	if (!neigh_lookup(w->dp->neigh, iface, next, mac, w->now_s))
		return false;
	w->nh_cache_valid = true;
	w->nh_cache_ip = next;
	w->nh_cache_iface = iface;
	w->nh_cache_mac = *mac;
	return true;
}

void
worker_send_ipv4(struct worker *w, struct rte_mbuf *m, uint8_t in_iface,
		 const struct route_nh *nh)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_ether_addr mac;
	rte_be32_t next;

	if (nh == NULL)
		nh = route_lookup(w->dp->routes, ip->dst_addr);
	/* Generated packets (ICMP errors) come here too: a source with no
	 * route back, or one of our own, is not answered. */
	if (nh == NULL || nh->type >= ROUTE_LOCAL) {
		drop(w, m, DP_DROP_NO_ROUTE);
		return;
	}
	next = route_nh_addr(nh, ip->dst_addr);
	if (!nh_mac(w, nh->iface, next, &mac)) {
		struct dp_mbuf_priv *p = dp_priv(m);

		p->nexthop = next;
		p->out_iface = nh->iface;
		punt(w, m, DP_REASON_RESOLVE, in_iface, DP_PUNT_RESOLVE);
		return;
	}
	rte_ether_addr_copy(&mac, &eth->dst_addr);
	rte_ether_addr_copy(&w->dp->ifaces[nh->iface].mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	worker_tx(w, nh->iface, m);
}

/* RFC 1812 4.3.2.8: ICMP errors are rate limited (token bucket per worker). */
static bool
icmp_token(struct worker *w, uint64_t now)
{
	const uint64_t burst = w->dp->icmp_rate / 10 + 1;
	uint64_t elapsed = now - w->icmp_refill_tsc;
	uint64_t add = elapsed * w->dp->icmp_rate / w->dp->tsc_hz;

	if (w->dp->icmp_rate == 0)
		return false; /* configured off */
	if (add > 0) {
		w->icmp_tokens = RTE_MIN(burst, w->icmp_tokens + add);
		w->icmp_refill_tsc = now;
	}
	if (w->icmp_tokens == 0)
		return false;
	w->icmp_tokens--;
	return true;
}

/* Drop `m` for `reason` and answer its source with an ICMP error. */
static void
drop_with_icmp(struct worker *w, struct rte_mbuf *m, uint8_t in_iface, enum dp_counter reason,
	       uint8_t type, uint8_t code, uint16_t mtu, enum dp_counter sent, uint64_t now)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);

	if (icmp_error_allowed(ip)) {
		if (!icmp_token(w, now)) {
			count(w, DP_ICMP_RATE_LIMITED);
		} else {
			/* RFC 1812 4.3.2.4: from the interface the
			 * offending datagram arrived on. */
			struct rte_mbuf *e = icmp_error_build(w->dp->pool, m, RTE_ETHER_HDR_LEN,
							      w->dp->ifaces[in_iface].addr,
							      type, code, mtu);
			if (e == NULL) {
				count(w, DP_DROP_NO_MBUF);
			} else {
				count(w, sent);
				worker_send_ipv4(w, e, in_iface, NULL);
			}
		}
	}
	drop(w, m, reason);
}

static void
ipv4_input(struct worker *w, struct rte_mbuf *m, uint8_t in_iface, uint64_t now)
{
	struct rte_ipv4_hdr *ip;
	const struct route_nh *nh;
	enum dp_counter bad;

	bad = ipv4_check(m, RTE_ETHER_HDR_LEN);
	if (bad != 0) {
		drop(w, m, bad);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);

	nh = route_lookup(w->dp->routes, ip->dst_addr);
	if (nh == NULL) {
		drop_with_icmp(w, m, in_iface, DP_DROP_NO_ROUTE, ICMP_DEST_UNREACH,
			       ICMP_CODE_NET_UNREACH, 0, DP_ICMP_NET_UNREACH, now);
		return;
	}
	if (nh->type == ROUTE_LOCAL) {
		punt(w, m, DP_REASON_LOCAL, in_iface, DP_PUNT_LOCAL);
		return;
	}
	if (nh->type == ROUTE_BROADCAST) {
		drop(w, m, DP_DROP_IP_BROADCAST);
		return;
	}
	if (ip->time_to_live <= 1) {
		drop_with_icmp(w, m, in_iface, DP_DROP_TTL_EXCEEDED, ICMP_TIME_EXCEEDED,
			       ICMP_CODE_TTL_TRANSIT, 0, DP_ICMP_TIME_EXCEEDED, now);
		return;
	}
	if (rte_be_to_cpu_16(ip->total_length) > w->dp->ifaces[nh->iface].mtu) {
		/* Tollgate does not fragment. With DF set, RFC 1191 says
		 * tell the source the MTU; without it the packet is lost
		 * (counted under the same name). */
		if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
			drop_with_icmp(w, m, in_iface, DP_DROP_MTU, ICMP_DEST_UNREACH,
				       ICMP_CODE_FRAG_NEEDED, w->dp->ifaces[nh->iface].mtu,
				       DP_ICMP_FRAG_NEEDED, now);
		else
			drop(w, m, DP_DROP_MTU);
		return;
	}
	ipv4_ttl_dec(ip);
	count(w, DP_IP_FORWARDED);
	worker_send_ipv4(w, m, in_iface, nh);
}

static void
eth_input(struct worker *w, struct rte_mbuf *m, uint8_t in_iface, uint64_t now)
{
	const struct rte_ether_hdr *eth;

	if (m->data_len < RTE_ETHER_HDR_LEN) {
		drop(w, m, DP_DROP_ETH_SHORT);
		return;
	}
	if (m->nb_segs != 1) {
		drop(w, m, DP_DROP_MULTI_SEGMENT);
		return;
	}
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	if (!rte_is_same_ether_addr(&eth->dst_addr, &w->dp->ifaces[in_iface].mac)) {
		if (rte_is_broadcast_ether_addr(&eth->dst_addr)) {
			if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
				punt(w, m, DP_REASON_ARP, in_iface, DP_PUNT_ARP);
			else
				drop(w, m, DP_DROP_ETH_MULTICAST);
		} else if (rte_is_multicast_ether_addr(&eth->dst_addr)) {
			drop(w, m, DP_DROP_ETH_MULTICAST);
		} else {
			drop(w, m, DP_DROP_ETH_OTHER_HOST);
		}
		return;
	}
	switch (eth->ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		ipv4_input(w, m, in_iface, now);
		break;
	case RTE_BE16(RTE_ETHER_TYPE_ARP):
		punt(w, m, DP_REASON_ARP, in_iface, DP_PUNT_ARP);
		break;
	case RTE_BE16(RTE_ETHER_TYPE_IPV6):
		drop(w, m, DP_DROP_IPV6);
		break;
	default:
		drop(w, m, DP_DROP_ETHERTYPE);
		break;
	}
}

void
worker_poll(struct worker *w)
{
	struct dp *dp = w->dp;
	struct rte_mbuf *pkts[DP_BURST];
	uint64_t now = rte_rdtsc();
	unsigned n;

	w->now_s = (uint32_t)(now / dp->tsc_hz);
	w->nh_cache_valid = false;
	for (uint8_t i = 0; i < DP_N_IFACES; i++) {
		const struct dp_iface *ifc = &dp->ifaces[i];
		uint64_t bytes = 0;

		if (w->queue >= ifc->n_rxq)
			continue;
		n = rte_eth_rx_burst(ifc->port_id, w->queue, pkts, DP_BURST);
		for (unsigned k = 0; k < n; k++) {
			bytes += pkts[k]->pkt_len;
			rte_prefetch0(rte_pktmbuf_mtod(pkts[k], void *));
		}
		w->stats.c[rx_pkts[i]] += n;
		w->stats.c[rx_bytes[i]] += bytes;
		for (unsigned k = 0; k < n; k++)
			eth_input(w, pkts[k], i, now);
	}

	/* Frames the control thread built (ARP, echo replies, released
	 * packets): they are complete, only the interface is ours to pick. */
	n = rte_ring_sc_dequeue_burst(w->inject, (void **)pkts, DP_BURST, NULL);
	for (unsigned k = 0; k < n; k++) {
		count(w, DP_INJECTED);
		worker_tx(w, dp_priv(pkts[k])->out_iface, pkts[k]);
	}

	if (now - w->last_drain_tsc >= dp->drain_tsc) {
		worker_flush(w);
		w->last_drain_tsc = now;
	}
	rte_rcu_qsbr_quiescent(dp->qsbr, w->id);
}

int
worker_main(void *arg)
{
	struct worker *w = arg;
	struct dp *dp = w->dp;

	rte_rcu_qsbr_thread_register(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_online(dp->qsbr, w->id);
	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED))
		worker_poll(w);
	worker_flush(w);
	rte_rcu_qsbr_thread_offline(dp->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(dp->qsbr, w->id);
	return 0;
}
