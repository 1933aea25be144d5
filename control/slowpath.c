/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The slow path, on the control thread: ARP (RFC 826), ICMP echo to our
 * own addresses, next-hop resolution with a small bounded hold queue, and
 * TCP/UDP to our addresses handed to the DNS proxy (control/dnsproxy.c).
 * Workers hand packets over on their punt rings and never wait; frames we
 * send go back through a worker's inject ring, so only workers touch the
 * ports' queues.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ring.h>

#include "control/control.h"
#include "control/dnsproxy.h"
#include "dataplane/icmp.h"
#include "dataplane/ipv4.h"
#include "dataplane/neigh.h"
#include "dataplane/route.h"

#define PUNT_BUDGET 256         /* packets per ring per pass: bounds one pass */
#define HELD_TOTAL_MAX 1024     /* packets held for ARP, all neighbours */
#define ARP_PROBES 3            /* unanswered requests before FAILED */
#define ARP_RETRANS_S 1         /* seconds between requests */
#define FAILED_HOLD_S 3         /* packets to a FAILED neighbour dropped for */

static const struct rte_ether_addr bcast = { .addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
static const struct rte_ether_addr zero = { 0 };

static void
cdrop(struct ctl *c, struct rte_mbuf *m, enum dp_counter reason)
{
	c->stats.c[reason]++;
	rte_pktmbuf_free(m);
}

/* Hand a finished frame to worker `wid` for transmission on `iface`. */
static void
inject(struct ctl *c, unsigned wid, uint8_t iface, struct rte_mbuf *m)
{
	struct worker *w = c->dp.workers[wid < c->dp.n_workers ? wid : 0];

	dp_priv(m)->out_iface = iface;
	if (rte_ring_sp_enqueue(w->inject, m) != 0)
		cdrop(c, m, DP_DROP_INJECT_FULL);
}

void
ctl_inject(struct ctl *c, unsigned wid, uint8_t iface, struct rte_mbuf *m)
{
	inject(c, wid, iface, m);
}

/* Is `ip` (network order) an address we answer ARP for on `iface`? */
static bool
owns_address(const struct ctl *c, uint8_t iface, rte_be32_t ip)
{
	const struct route_nh *nh = route_lookup(c->dp.routes, ip);

	return nh != NULL && nh->type == ROUTE_LOCAL && nh->iface == iface;
}

static struct rte_mbuf *
arp_build(struct ctl *c, uint8_t iface, uint16_t op, const struct rte_ether_addr *eth_dst,
	  const struct rte_ether_addr *tha, rte_be32_t sip, rte_be32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->dp.pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL) {
		c->stats.c[DP_DROP_NO_MBUF]++;
		return NULL;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	rte_ether_addr_copy(eth_dst, &eth->dst_addr);
	rte_ether_addr_copy(&c->dp.ifaces[iface].mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(&c->dp.ifaces[iface].mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = sip;
	rte_ether_addr_copy(tha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = tip;
	return m;
}

static void
arp_request(struct ctl *c, uint8_t iface, rte_be32_t tip, const struct rte_ether_addr *dst)
{
	struct rte_mbuf *m = arp_build(c, iface, RTE_ARP_OP_REQUEST, dst ? dst : &bcast, &zero,
				       c->dp.ifaces[iface].addr, tip);

	if (m == NULL)
		return;
	c->stats.c[DP_ARP_REQUESTS_TX]++;
	inject(c, 0, iface, m);
}

/* Address a packet that waited for its next hop's MAC, and send it. */
static void
send_resolved(struct ctl *c, struct rte_mbuf *m, uint8_t iface, const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	rte_ether_addr_copy(mac, &eth->dst_addr);
	rte_ether_addr_copy(&c->dp.ifaces[iface].mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	c->stats.c[DP_NEIGH_RELEASED]++;
	inject(c, dp_priv(m)->worker, iface, m);
}

/* A next hop just got its MAC: send what was waiting for it. */
static void
neigh_release(struct ctl *c, struct neigh_entry *e, const struct rte_ether_addr *mac)
{
	for (unsigned i = 0; i < e->n_held; i++)
		send_resolved(c, e->held[i], e->iface, mac);
	c->held_total -= e->n_held;
	e->n_held = 0;
}

static void
neigh_confirm(struct ctl *c, struct neigh_entry *e, const struct rte_ether_addr *mac)
{
	neigh_set_mac(e, mac);
	e->state = NEIGH_REACHABLE;
	e->probes = 0;
	e->confirmed_tsc = rte_rdtsc();
	c->stats.c[DP_NEIGH_RESOLVED]++;
	neigh_release(c, e, mac);
}

static void
arp_input(struct ctl *c, struct rte_mbuf *m, uint8_t iface)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_ether_addr sha;
	struct neigh_entry *e;
	uint16_t op;
	rte_be32_t sip, tip;
	bool for_us;

	if (m->data_len < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
		cdrop(c, m, DP_DROP_ARP_INVALID);
		return;
	}
	op = rte_be_to_cpu_16(arp->arp_opcode);
	sip = arp->arp_data.arp_sip;
	tip = arp->arp_data.arp_tip;
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &sha);
	if ((op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) ||
	    !rte_is_valid_assigned_ether_addr(&sha)) {
		cdrop(c, m, DP_DROP_ARP_INVALID);
		return;
	}
	c->stats.c[op == RTE_ARP_OP_REQUEST ? DP_ARP_REQUESTS_RX : DP_ARP_REPLIES_RX]++;
	for_us = owns_address(c, iface, tip);

	/* RFC 826 merge: refresh a sender we already know; learn one that
	 * is talking to us. A sender claiming one of our own addresses is
	 * not learned. */
	if (sip != 0 && !owns_address(c, iface, sip)) {
		e = neigh_find(c->dp.neigh, iface, sip);
		if (e == NULL && for_us) {
			e = neigh_add(c->dp.neigh, iface, sip);
			if (e == NULL)
				c->stats.c[DP_DROP_NEIGH_TABLE_FULL]++;
		}
		if (e != NULL)
			neigh_confirm(c, e, &sha);
	}

	if (op != RTE_ARP_OP_REQUEST) {
		rte_pktmbuf_free(m);
		return;
	}
	if (!for_us) {
		cdrop(c, m, DP_DROP_ARP_NOT_US);
		return;
	}
	/* Answer in place: the request becomes the reply. */
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = sip;
	rte_ether_addr_copy(&c->dp.ifaces[iface].mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = tip;
	rte_ether_addr_copy(&sha, &eth->dst_addr);
	rte_ether_addr_copy(&c->dp.ifaces[iface].mac, &eth->src_addr);
	c->stats.c[DP_ARP_REPLIES_TX]++;
	inject(c, dp_priv(m)->worker, iface, m);
}

static void
local_input(struct ctl *c, struct rte_mbuf *m, uint8_t iface)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_ether_addr tmp;

	if (ip->next_proto_id == IPPROTO_TCP || ip->next_proto_id == IPPROTO_UDP) {
		dnsproxy_input(c, m, iface); /* counts and frees what it cannot use */
		return;
	}
	if (ip->next_proto_id != IPPROTO_ICMP) {
		cdrop(c, m, DP_DROP_LOCAL_UNSUPPORTED);
		return;
	}
	if (!icmp_echo_reply(m, RTE_ETHER_HDR_LEN)) {
		cdrop(c, m, DP_DROP_ICMP_INVALID);
		return;
	}
	/* Back to whoever handed it to us on that link. */
	rte_ether_addr_copy(&eth->src_addr, &tmp);
	rte_ether_addr_copy(&eth->dst_addr, &eth->src_addr);
	rte_ether_addr_copy(&tmp, &eth->dst_addr);
	c->stats.c[DP_ICMP_ECHO_REPLIED]++;
	inject(c, dp_priv(m)->worker, iface, m);
}

static void
resolve_input(struct ctl *c, struct rte_mbuf *m)
{
	struct dp_mbuf_priv *p = dp_priv(m);
	uint64_t now = rte_rdtsc();
	struct neigh_entry *e = neigh_find(c->dp.neigh, p->out_iface, p->nexthop);
	uint64_t v;

	if (e == NULL) {
		e = neigh_add(c->dp.neigh, p->out_iface, p->nexthop);
		if (e == NULL) {
			cdrop(c, m, DP_DROP_NEIGH_TABLE_FULL);
			return;
		}
	}
	/* Resolved between the worker's lookup and now: send it at once. */
	v = __atomic_load_n(&e->mac, __ATOMIC_ACQUIRE);
	if (v & NEIGH_VALID) {
		struct rte_ether_addr mac;

		memcpy(mac.addr_bytes, &v, RTE_ETHER_ADDR_LEN);
		send_resolved(c, m, e->iface, &mac);
		return;
	}
	if (e->state == NEIGH_FAILED && now < e->next_tsc) {
		cdrop(c, m, DP_DROP_NEIGH_UNRESOLVED);
		return;
	}
	if (e->n_held == NEIGH_HOLD_MAX || c->held_total >= HELD_TOTAL_MAX) {
		cdrop(c, m, DP_DROP_NEIGH_QUEUE_FULL);
		return;
	}
	e->held[e->n_held++] = m;
	c->held_total++;
	if (e->state != NEIGH_INCOMPLETE) {
		e->state = NEIGH_INCOMPLETE;
		e->probes = 0;
		e->next_tsc = 0;
	}
	if (now >= e->next_tsc) { /* rate limit: one request per second */
		arp_request(c, e->iface, e->ip, NULL);
		e->probes++;
		e->next_tsc = now + ARP_RETRANS_S * c->dp.tsc_hz;
	}
}

/*
 * A frame the control thread made (the DNS proxy's upstream queries), its
 * IPv4 header complete: routed as a worker would (worker_send_ipv4), and
 * when the next hop has no MAC yet, held for ARP like a punted packet.
 */
void
ctl_send_routed(struct ctl *c, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct route_nh *nh = route_lookup(c->dp.routes, ip->dst_addr);
	struct dp_mbuf_priv *p = dp_priv(m);
	struct rte_ether_addr mac;

	if (nh == NULL || nh->type >= ROUTE_LOCAL) {
		cdrop(c, m, DP_DROP_NO_ROUTE);
		return;
	}
	p->nexthop = route_nh_addr(nh, ip->dst_addr);
	p->out_iface = nh->iface;
	p->worker = 0;
	if (neigh_lookup(c->dp.neigh, nh->iface, p->nexthop, &mac,
			 (uint32_t)(rte_rdtsc() / c->dp.tsc_hz) + c->dp.clock_offset_s)) {
		send_resolved(c, m, nh->iface, &mac);
		return;
	}
	resolve_input(c, m);
}

/*
 * Neighbour timers, once per tick. An unanswered INCOMPLETE entry is
 * retried every second, then FAILED (its packets dropped). A confirmed
 * entry goes STALE after `neigh_reachable_s`; if workers still use it, it
 * is refreshed by unicast requests while its MAC stays in use, and removed
 * when three go unanswered. Entries unused for `neigh_gc_s` are removed.
 * One pass is bounded by the table size (4096 entries, a few microseconds).
 */
static void
neigh_tick(struct ctl *c, uint64_t now)
{
	struct neigh_table *t = c->dp.neigh;
	uint32_t now_s = (uint32_t)(now / c->dp.tsc_hz);
	uint32_t gc_s = c->cfg->neigh_gc_s;

	for (unsigned i = 0; i < neigh_capacity(t); i++) {
		struct neigh_entry *e = neigh_at(t, i);

		switch (e->state) {
		case NEIGH_INCOMPLETE:
			if (now < e->next_tsc)
				break;
			if (e->probes >= ARP_PROBES) {
				c->stats.c[DP_DROP_NEIGH_UNRESOLVED] += e->n_held;
				for (unsigned j = 0; j < e->n_held; j++)
					rte_pktmbuf_free(e->held[j]);
				c->held_total -= e->n_held;
				e->n_held = 0;
				e->state = NEIGH_FAILED;
				e->next_tsc = now + FAILED_HOLD_S * c->dp.tsc_hz;
				break;
			}
			arp_request(c, e->iface, e->ip, NULL);
			e->probes++;
			e->next_tsc = now + ARP_RETRANS_S * c->dp.tsc_hz;
			break;
		case NEIGH_REACHABLE:
			if (now - e->confirmed_tsc >= c->neigh_reachable_tsc) {
				e->state = NEIGH_STALE;
				e->probes = 0;
				e->next_tsc = now;
			}
			break;
		case NEIGH_STALE: {
			uint32_t used = __atomic_load_n(&e->used_s, __ATOMIC_RELAXED);

			if (now_s - used >= gc_s &&
			    now - e->confirmed_tsc >= c->neigh_gc_tsc) {
				c->stats.c[DP_NEIGH_EXPIRED]++;
				neigh_remove(t, e);
				break;
			}
			if (now_s - used > c->cfg->neigh_reachable_s || now < e->next_tsc)
				break;
			if (e->probes >= ARP_PROBES) {
				c->stats.c[DP_NEIGH_EXPIRED]++;
				neigh_remove(t, e);
				break;
			}
			{
				struct rte_ether_addr mac;
				uint64_t v = __atomic_load_n(&e->mac, __ATOMIC_RELAXED);

				memcpy(mac.addr_bytes, &v, RTE_ETHER_ADDR_LEN);
				arp_request(c, e->iface, e->ip, &mac);
			}
			e->probes++;
			e->next_tsc = now + ARP_RETRANS_S * c->dp.tsc_hz;
			break;
		}
		case NEIGH_FAILED:
			if (now >= e->next_tsc)
				neigh_remove(t, e);
			break;
		default:
			break;
		}
	}
	neigh_reclaim(t);
}

/* A gratuitous ARP for `addr` (network order): a request for itself. */
static void
announce(struct ctl *c, uint8_t iface, rte_be32_t addr)
{
	struct rte_mbuf *m = arp_build(c, iface, RTE_ARP_OP_REQUEST, &bcast, &zero, addr, addr);

	if (m != NULL) {
		c->stats.c[DP_ARP_GRATUITOUS_TX]++;
		inject(c, 0, iface, m);
	}
}

void
ctl_announce(struct ctl *c)
{
	for (uint8_t r = 0; r < DP_N_IFACES; r++)
		announce(c, r, c->dp.ifaces[r].addr);
	for (unsigned i = 0; i < c->cfg->n_frontend_ips; i++)
		announce(c, DP_IFACE_OUTSIDE, rte_cpu_to_be_32(c->cfg->frontend_ips[i]));
}

unsigned
ctl_poll(struct ctl *c)
{
	struct rte_mbuf *pkts[DP_BURST];
	uint64_t now = rte_rdtsc();
	unsigned done = 0;

	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		struct worker *w = c->dp.workers[i];
		unsigned budget = PUNT_BUDGET;

		while (budget > 0) {
			unsigned n = rte_ring_sc_dequeue_burst(w->punt, (void **)pkts,
							       RTE_MIN(budget, (unsigned)DP_BURST), NULL);
			if (n == 0)
				break;
			budget -= n;
			done += n;
			for (unsigned k = 0; k < n; k++) {
				struct dp_mbuf_priv *p = dp_priv(pkts[k]);

				switch (p->reason) {
				case DP_REASON_ARP:
					arp_input(c, pkts[k], p->in_iface);
					break;
				case DP_REASON_LOCAL:
					local_input(c, pkts[k], p->in_iface);
					break;
				case DP_REASON_RESOLVE:
					resolve_input(c, pkts[k]);
					break;
				default:
					cdrop(c, pkts[k], DP_DROP_LOCAL_UNSUPPORTED);
					break;
				}
			}
		}
	}
	dnsproxy_tick(c, now);
	if (now - c->last_tick_tsc >= c->dp.tsc_hz / 10) {
		neigh_tick(c, now);
		ctl_policy_reclaim(c, false);
		c->last_tick_tsc = now;
	}
	return done;
}

int
ctl_slowpath_init(struct ctl *c, char *err, size_t errlen)
{
	c->last_tick_tsc = rte_rdtsc();
	return dnsproxy_create(c, err, errlen);
}

void
ctl_slowpath_fini(struct ctl *c)
{
	dnsproxy_free(c);
}
