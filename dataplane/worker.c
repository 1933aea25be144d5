/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per-core loop. worker_poll() is one pass: for each interface, receive
 * a burst and carry each packet through the stages in wire order
 *     rx -> parse/validate -> route -> (ICMP error) -> neighbour -> tx
 * then send what the control thread handed over, drain transmit buffers on
 * a timer, and report a quiescent state. Nothing here blocks, allocates
 * from the heap or takes a lock; every loop is bounded by a burst size.
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include <rte_hash_crc.h>

#include "dataplane/ct.h"
#include "dataplane/dp.h"
#include "dataplane/inspect.h"
#include "dataplane/nat.h"
#include "dataplane/snat.h"
#include "rules/appproto.h"
#include "rules/policy.h"
#include "dataplane/dlog.h"
#include "dataplane/icmp.h"
#include "dataplane/ipv4.h"
#include "dataplane/neigh.h"
#include "dataplane/route.h"

/* Sessions looked at by the timer wheel per poll: with a poll every few
 * microseconds this expires millions of sessions a second when needed, and
 * costs a few hundred nanoseconds at most in a poll. */
#define CT_EXPIRE_BUDGET 64
/* Inspection contexts looked at for their deadline per poll: the default
 * 4,096 are all seen within a few hundred polls, well inside a second. */
#define INSPECT_SCAN_BUDGET 16

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
nh_l2(struct worker *w, uint8_t iface, rte_be32_t next, const uint8_t **l2)
{
	struct rte_ether_addr mac;

	if (w->nh_cache_valid && w->nh_cache_ip == next && w->nh_cache_iface == iface) {
		*l2 = w->nh_cache_l2;
		return true;
	}
	if (!neigh_lookup(w->dp->neigh, iface, next, &mac, w->now_s))
		return false;
	w->nh_cache_valid = true;
	w->nh_cache_ip = next;
	w->nh_cache_iface = iface;
	/* The frame's first 14 bytes, ready to copy: next hop, us, IPv4. */
	memcpy(w->nh_cache_l2, &mac, RTE_ETHER_ADDR_LEN);
	memcpy(w->nh_cache_l2 + RTE_ETHER_ADDR_LEN, &w->dp->ifaces[iface].mac, RTE_ETHER_ADDR_LEN);
	w->nh_cache_l2[12] = RTE_ETHER_TYPE_IPV4 >> 8;
	w->nh_cache_l2[13] = RTE_ETHER_TYPE_IPV4 & 0xff;
	*l2 = w->nh_cache_l2;
	return true;
}

void
worker_send_ipv4(struct worker *w, struct rte_mbuf *m, uint8_t in_iface,
		 const struct route_nh *nh)
{
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + RTE_ETHER_HDR_LEN);
	const uint8_t *l2;
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
	if (!nh_l2(w, nh->iface, next, &l2)) {
		struct dp_mbuf_priv *p = dp_priv(m);

		p->nexthop = next;
		p->out_iface = nh->iface;
		punt(w, m, DP_REASON_RESOLVE, in_iface, DP_PUNT_RESOLVE);
		return;
	}
	memcpy(eth, l2, RTE_ETHER_HDR_LEN);
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

/* No route to the destination: ICMP net unreachable (RFC 1812 5.2.7.1). */
static inline void
drop_no_route(struct worker *w, struct rte_mbuf *m, uint8_t in_iface, uint64_t now)
{
	drop_with_icmp(w, m, in_iface, DP_DROP_NO_ROUTE, ICMP_DEST_UNREACH, ICMP_CODE_NET_UNREACH,
		       0, DP_ICMP_NET_UNREACH, now);
}

/* ---------------------------------------------------------------- NAT */

/* The allocator asks whether a reply tuple is taken: one hash lookup. */
static bool
reply_in_use(void *ctx, uint8_t proto, uint32_t dst, uint16_t dport, uint32_t fip, uint16_t fport)
{
	struct worker *w = ctx;
	struct ct_key k = {
		.src = rte_cpu_to_be_32(dst),
		.dst = rte_cpu_to_be_32(fip),
		.sport = rte_cpu_to_be_16(dport),
		.dport = rte_cpu_to_be_16(fport),
		.proto = proto,
	};

	/* The reply key we are about to insert arrives on the interface the
	 * translated packet leaves by (set by the caller): only that key
	 * must be free. */
	k.iface = w->alloc_iface;
	return ct_key_in_use(w->ct, &k);
}

/* Called by the timer wheel when a session with something to give back
 * (CT_F_RELEASE) is finally freed. */
static void
release_session(void *ctx, struct ct_session *s)
{
	struct worker *w = ctx;
	struct snat_pool *pool = (s->flags & CT_F_ISNAT) ? w->snat_in : w->snat_out;

	if (s->flags & CT_F_INSPECT) {
		/* Its ends went quiet before a decision: nothing to tell. */
		w->stats.c[DP_DROP_INSPECT_REFUSED] += inspect_close(w->insp, s->aux);
		count(w, DP_INSPECT_ABORTED);
	}
	if (s->flags & CT_F_APP)
		inspect_name_put(w->insp, s->aux);
	if (!(s->flags & (CT_F_SNAT | CT_F_ISNAT)))
		return;
	/* the allocator's view: proto src:sport -> dst:dport became fip:fport */
	snat_free(pool, s->fwd.proto, rte_be_to_cpu_32(s->fwd.src), rte_be_to_cpu_16(s->fwd.sport),
		  rte_be_to_cpu_32(s->rev.src), rte_be_to_cpu_16(s->rev.sport),
		  rte_be_to_cpu_32(s->rev.dst), rte_be_to_cpu_16(s->rev.dport));
}

static bool
no_snat(const struct dp *dp, rte_be32_t dst)
{
	/* A handful of prefixes (RFC 1918 + RFC 6598 by default): a scan,
	 * on the first packet of a flow only. */
	for (unsigned i = 0; i < dp->nat.n_no_snat; i++)
		if ((dst & dp->nat.no_snat_mask[i]) == dp->nat.no_snat_addr[i])
			return true;
	return false;
}

static uint8_t
initial_state(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return CT_TCP_SYN_SENT;
	case IPPROTO_UDP:
		return CT_UDP;
	case IPPROTO_ICMP:
		return CT_ICMP;
	default:
		return CT_OTHER;
	}
}

/*
 * Translate the source of `out` (the packet as it will leave) from `pool`:
 * the allocator picks the (address, port) whose reply tuple is free.
 * -ENOSPC on exhaustion.
 */
static int
snat_out_tuple(struct worker *w, struct snat_pool *pool, struct ct_key *out, uint8_t out_iface)
{
	uint32_t fip;
	uint16_t fport;
	int ret;

	w->alloc_iface = out_iface;
	ret = snat_alloc(pool, out->proto, rte_be_to_cpu_32(out->src), rte_be_to_cpu_16(out->sport),
			 rte_be_to_cpu_32(out->dst), rte_be_to_cpu_16(out->dport), reply_in_use, w,
			 &fip, &fport);
	if (ret != 0)
		return ret;
	out->src = rte_cpu_to_be_32(fip);
	out->sport = rte_cpu_to_be_16(fport);
	count(w, DP_SNAT_ALLOCATED);
	return 0;
}

static void
unsnat(struct worker *w, struct snat_pool *pool, const struct ct_key *in, const struct ct_key *out)
{
	snat_free(pool, in->proto, rte_be_to_cpu_32(in->src), rte_be_to_cpu_16(in->sport),
		  rte_be_to_cpu_32(out->dst), rte_be_to_cpu_16(out->dport),
		  rte_be_to_cpu_32(out->src), rte_be_to_cpu_16(out->sport));
}

/* ------------------------------------------------------------ sessions */

/* Route, check and send a packet that matched session `s` in `dir`. */
static void
session_forward(struct worker *w, struct rte_mbuf *m, const struct nat_pkt *p,
		struct ct_session *s, enum ct_dir dir, uint8_t in_iface, uint64_t now)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, p->l3);
	const struct ct_key *o = dir == CT_DIR_FWD ? &s->rev : &s->fwd;
	const struct route_nh *nh;

	/* Routes do not change while workers run: the last answer holds
	 * for the rest of the poll, and a burst mostly shares it. */
	if (w->rt_cache_valid && w->rt_cache_dst == o->src) {
		nh = w->rt_cache_nh;
	} else {
		nh = route_lookup(w->dp->routes, o->src);
		w->rt_cache_valid = true;
		w->rt_cache_dst = o->src;
		w->rt_cache_nh = nh;
	}

	/* Errors about this packet are raised before it is translated, so
	 * they quote what its sender sent and reach the sender. */
	if (nh == NULL || nh->type >= ROUTE_LOCAL) {
		drop_no_route(w, m, in_iface, now);
		return;
	}
	if (ip->time_to_live <= 1) {
		drop_with_icmp(w, m, in_iface, DP_DROP_TTL_EXCEEDED, ICMP_TIME_EXCEEDED,
			       ICMP_CODE_TTL_TRANSIT, 0, DP_ICMP_TIME_EXCEEDED, now);
		return;
	}
	if (rte_be_to_cpu_16(ip->total_length) > w->dp->ifaces[nh->iface].mtu) {
		if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_DF_FLAG))
			drop_with_icmp(w, m, in_iface, DP_DROP_MTU, ICMP_DEST_UNREACH,
				       ICMP_CODE_FRAG_NEEDED, w->dp->ifaces[nh->iface].mtu,
				       DP_ICMP_FRAG_NEEDED, now);
		else
			drop(w, m, DP_DROP_MTU);
		return;
	}
	if (s->flags & (CT_F_SNAT | CT_F_DNAT | CT_F_ISNAT))
		nat_translate(m, p, s, dir, true);
	else
		ipv4_ttl_dec(ip);
	count(w, DP_IP_FORWARDED);
	worker_send_ipv4(w, m, in_iface, nh);
}

/* The flow a key describes, as the policy matches it (host order; ICMP
 * queries have no destination port). */
static inline struct policy_flow
flow_of(const struct ct_key *k)
{
	struct policy_flow f = {
		.src = rte_be_to_cpu_32(k->src),
		.dst = rte_be_to_cpu_32(k->dst),
		.dport = k->proto == IPPROTO_ICMP ? 0 : rte_be_to_cpu_16(k->dport),
		.ipproto = k->proto,
	};

	return f;
}

/*
 * One decision about a new flow, for the decision log and the rule's hit
 * count. `x` is the translated key (SNAT source or DNAT destination), or
 * NULL when the flow was refused; `name` the SNI or Host of an application
 * decision (NULL otherwise).
 */
static void
decided(struct worker *w, const struct ct_key *k, const struct ct_key *x, uint8_t kind,
	uint8_t action, enum dp_counter reason, uint32_t rule_id, const char *name,
	size_t name_len)
{
	const struct dp_policy *pol = w->pol;
	struct dlog_rec r;

	if (rule_id != POLICY_RULE_NONE && pol->hits[w->id] != NULL)
		pol->hits[w->id][rule_id]++;
	if (w->dlog == NULL)
		return;
	r.tsc = rte_rdtsc();
	r.src = k->src;
	r.dst = k->dst;
	r.sport = k->sport;
	r.dport = k->dport;
	r.xaddr = 0;
	r.xport = 0;
	if (x != NULL && kind == DLOG_DNAT) {
		r.xaddr = x->dst;
		r.xport = x->dport;
	} else if (x != NULL && x->src != k->src) {
		r.xaddr = x->src;
		r.xport = x->sport;
	}
	r.proto = k->proto;
	r.kind = kind;
	r.action = action;
	r.worker = (uint8_t)w->id;
	r.reason = (uint16_t)reason;
	r.rule_id = rule_id;
	r.generation = pol->generation;
	/* Names longer than the record keep their first bytes. */
	r.fqdn_len = (uint8_t)RTE_MIN(name != NULL ? name_len : 0, (size_t)DLOG_FQDN_MAX - 1);
	if (r.fqdn_len > 0)
		memcpy(r.fqdn, name, r.fqdn_len);
	r.fqdn[r.fqdn_len] = '\0';
	dlog_emit(w, &r);
}

/* Judged again by application rules: the name it was allowed for, under
 * the scheme of its protocol. */
static bool
app_still_allowed(struct worker *w, const struct ct_session *s, const struct policy_flow *f,
		  struct policy_verdict *v)
{
	size_t len;
	const char *name = inspect_name(w->insp, s->aux, &len);
	enum policy_scheme scheme =
		s->app == APP_KIND_HTTP ? POLICY_SCHEME_HTTP : POLICY_SCHEME_HTTPS;

	if (name == NULL) /* allowed while every name slot was taken */
		return false;
	return policy_match_app(w->pol->rs, w->pol->scratch[w->id], f, scheme, name, len, v) &&
	       v->action == POLICY_ACTION_ALLOW;
}

/* Judge the session again under a newer policy (Azure: a rule changed to
 * deny stops the sessions it now denies), in Azure's order: network rules,
 * then, for a session an application rule allowed, application rules.
 * When it is stopped, `*deny_rule` is the rule that denies it, if one does. */
static bool
still_allowed(struct worker *w, struct ct_session *s, uint32_t *deny_rule)
{
	struct policy_flow f = flow_of(&s->fwd);
	struct policy_verdict v;

	count(w, DP_POLICY_REEVALUATED);
	*deny_rule = POLICY_RULE_NONE;
	if (!policy_match_network(w->pol->rs, &f, &v)) {
		if (!(s->flags & CT_F_APP) || !app_still_allowed(w, s, &f, &v)) {
			if (v.rule_id != POLICY_RULE_NONE && v.action == POLICY_ACTION_DENY)
				*deny_rule = v.rule_id;
			return false;
		}
	} else if (v.action == POLICY_ACTION_DENY) {
		*deny_rule = v.rule_id;
		return false;
	}
	if ((s->flags & CT_F_DNAT) != 0 &&
	    (v.action != POLICY_ACTION_DNAT ||
	     rte_cpu_to_be_32(v.xlat_addr) != s->rev.src ||
	     (v.xlat_port != 0 && rte_cpu_to_be_16(v.xlat_port) != s->rev.sport)))
		return false; /* the DNAT now points elsewhere */
	s->rule_id = v.rule_id;
	s->generation = w->pol->generation;
	return true;
}

/* ---------------------------------------------------------- inspection */

/* The counter of each refusal app_parse() can give (rules/appproto.h). */
static const enum dp_counter deny_counter[APP_R_MAX] = {
	[APP_R_OK] = DP_INSPECT_DENIED_POLICY, /* parsed; no rule allows the name */
	[APP_R_SNI_MISSING] = DP_INSPECT_DENIED_SNI_MISSING,
	[APP_R_SNI_IP_LITERAL] = DP_INSPECT_DENIED_SNI_IP_LITERAL,
	[APP_R_SNI_INVALID] = DP_INSPECT_DENIED_SNI_INVALID,
	[APP_R_SNI_MULTIPLE] = DP_INSPECT_DENIED_SNI_MULTIPLE,
	[APP_R_TLS_MALFORMED] = DP_INSPECT_DENIED_TLS_MALFORMED,
	[APP_R_TLS_NOT_HELLO] = DP_INSPECT_DENIED_TLS_NOT_HELLO,
	[APP_R_TLS_VERSION] = DP_INSPECT_DENIED_TLS_VERSION,
	[APP_R_HTTP_MALFORMED] = DP_INSPECT_DENIED_HTTP_MALFORMED,
	[APP_R_HTTP_NO_HOST] = DP_INSPECT_DENIED_HTTP_NO_HOST,
	[APP_R_HTTP_TWO_HOSTS] = DP_INSPECT_DENIED_HTTP_TWO_HOSTS,
	[APP_R_HTTP_HOST_INVALID] = DP_INSPECT_DENIED_HTTP_HOST_INVALID,
	[APP_R_HTTP_HOST_IP_LITERAL] = DP_INSPECT_DENIED_HTTP_HOST_IP_LITERAL,
	[APP_R_TOO_LARGE] = DP_INSPECT_DENIED_TOO_LARGE,
	[APP_R_NOT_TLS_OR_HTTP] = DP_INSPECT_DENIED_NOT_TLS_OR_HTTP,
};
_Static_assert(APP_R_MAX == 15, "a new app_reason needs its inspect.denied counter");

/* Where the TCP payload of a packet is, and how long; false when the
 * header's data offset does not fit the packet. */
static bool
tcp_payload(struct rte_mbuf *m, const struct nat_pkt *p, struct rte_tcp_hdr **tcp,
	    uint8_t **data, uint32_t *len)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
								p->l3);
	uint32_t l4_len = rte_be_to_cpu_16(ip->total_length) - (uint32_t)(p->l4 - p->l3);
	uint32_t hl;

	*tcp = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, p->l4);
	hl = (uint32_t)((*tcp)->data_off >> 4) * 4;
	if (hl < sizeof(struct rte_tcp_hdr) || hl > l4_len)
		return false;
	*data = (uint8_t *)*tcp + hl;
	*len = l4_len - hl;
	return true;
}

/*
 * A TCP segment of our own (a RST, or the 403 page), from src:sport to
 * dst:dport (network order), routed like any packet we send. Counted as
 * DP_DROP_NO_MBUF when there is no buffer for it.
 */
static void
send_tcp(struct worker *w, rte_be32_t src, rte_be16_t sport, rte_be32_t dst, rte_be16_t dport,
	 uint32_t seq, uint32_t ack, uint8_t flags, const char *data, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->dp->pool);
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;
	uint16_t total = (uint16_t)(sizeof(*ip) + sizeof(*tcp) + len);
	uint8_t *eth;

	if (m == NULL) {
		count(w, DP_DROP_NO_MBUF);
		return;
	}
	eth = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(RTE_ETHER_HDR_LEN + total));
	if (eth == NULL) {
		drop(w, m, DP_DROP_NO_MBUF);
		return;
	}
	/* The Ethernet header is filled by worker_send_ipv4(). */
	ip = (struct rte_ipv4_hdr *)(eth + RTE_ETHER_HDR_LEN);
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16(total),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = src,
		.dst_addr = dst,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*tcp = (struct rte_tcp_hdr){
		.src_port = sport,
		.dst_port = dport,
		.sent_seq = rte_cpu_to_be_32(seq),
		.recv_ack = rte_cpu_to_be_32(ack),
		.data_off = 5 << 4,
		.tcp_flags = flags,
		.rx_win = (flags & RTE_TCP_RST_FLAG) ? 0 : RTE_BE16(8192),
	};
	if (len > 0)
		memcpy(tcp + 1, data, len);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	worker_send_ipv4(w, m, DP_IFACE_INSIDE, NULL);
}

/*
 * Refuse a flow under inspection: its held segments are freed; the client
 * gets a RST from the server's address and port with the sequence number
 * it expects next (or, for HTTP with inspection.http_403, a 403 page
 * naming the reason, ending with FIN), the server a RST from the
 * translated client (only if it saw the SYN), so that neither keeps a
 * half-open connection. The session drops everything until it is freed.
 */
static void
inspect_refuse(struct worker *w, struct ct_session *s, const struct app_result *r,
	       enum dp_counter why, uint32_t rule_id)
{
	const struct inspect_flow f = *inspect_flow(w->insp, s->aux);
	const uint32_t client_nxt = f.isn + 1 + f.contig;

	w->stats.c[DP_DROP_INSPECT_REFUSED] += inspect_close(w->insp, s->aux);
	count(w, why);
	if (r != NULL && r->kind == APP_KIND_HTTP && w->dp->inspect.http_403 && f.srv_seen) {
		/* A name is at most 253 bytes, a reason under 80: both fit. */
		char body[384], page[640];
		const char *reason = why == DP_INSPECT_DENIED_POLICY
					     ? "no application rule allows this host"
					     : app_reason_str((enum app_reason)r->reason);
		int nb = snprintf(body, sizeof(body), "Tollgate: %s: %s\n",
				  r->status == APP_DONE ? r->name : "request refused", reason);
		int n = snprintf(page, sizeof(page),
				 "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
				 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
				 RTE_MIN(nb, (int)sizeof(body) - 1), body);

		send_tcp(w, s->fwd.dst, s->fwd.dport, s->fwd.src, s->fwd.sport, f.srv_nxt,
			 client_nxt, RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG, page,
			 (uint16_t)RTE_MIN(n, (int)sizeof(page) - 1));
		count(w, DP_INSPECT_HTTP_403);
	} else {
		/* RFC 9293 3.10.7.3: in SYN-SENT a RST is accepted when it
		 * acknowledges the SYN; later, when its sequence number is
		 * the next expected (RFC 5961 3.2). */
		send_tcp(w, s->fwd.dst, s->fwd.dport, s->fwd.src, s->fwd.sport,
			 f.srv_seen ? f.srv_nxt : 0, f.srv_seen ? client_nxt : f.isn + 1,
			 RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
		count(w, DP_INSPECT_RST_SENT);
	}
	if (f.syn_fwd) {
		/* No payload byte reached the server: it expects ISN + 1. */
		send_tcp(w, s->rev.dst, s->rev.dport, s->rev.src, s->rev.sport, f.isn + 1, 0,
			 RTE_TCP_RST_FLAG, NULL, 0);
		count(w, DP_INSPECT_RST_SENT);
	}
	s->flags = (uint8_t)((s->flags & ~CT_F_INSPECT) | CT_F_REFUSED);
	s->state = CT_TCP_CLOSE;
	ct_expire_now(s, w->now_s);
	decided(w, &s->fwd, NULL, DLOG_APPLICATION, POLICY_ACTION_DENY, why, rule_id,
		r != NULL && r->status == APP_DONE ? r->name : NULL,
		r != NULL ? r->name_len : 0);
}

/* Allowed: the held segments leave in sequence order, translated as any
 * packet of the session; the session remembers the name for later policy
 * changes. */
static void
inspect_allow(struct worker *w, struct ct_session *s, const struct app_result *r,
	      const struct policy_verdict *v, uint64_t now)
{
	struct rte_mbuf *held[INSPECT_FLOW_SEGS];
	unsigned n = inspect_release(w->insp, s->aux, held, RTE_DIM(held));
	struct ct_key x = nat_mirror(&s->rev, 0);

	inspect_close(w->insp, s->aux);
	s->flags = (uint8_t)((s->flags & ~CT_F_INSPECT) | CT_F_APP);
	s->app = r->kind;
	s->aux = inspect_name_get(w->insp, r->name, r->name_len);
	if (s->aux == INSPECT_NONE)
		count(w, DP_INSPECT_NAMES_FULL);
	s->rule_id = v->rule_id;
	s->generation = w->pol->generation;
	count(w, DP_INSPECT_ALLOWED);
	decided(w, &s->fwd, &x, DLOG_APPLICATION, POLICY_ACTION_ALLOW, DP_CT_CREATED, v->rule_id,
		r->name, r->name_len);
	for (unsigned i = 0; i < n; i++) {
		const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
			held[i], const struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
		struct nat_pkt hp = {
			.kind = NAT_KIND_PLAIN,
			.l3 = RTE_ETHER_HDR_LEN,
			.l4 = (uint16_t)(RTE_ETHER_HDR_LEN + (ip->version_ihl & 0xf) * 4),
		};

		hp.tcp_flags = rte_pktmbuf_mtod_offset(held[i], const struct rte_tcp_hdr *,
						       hp.l4)->tcp_flags;
		count(w, DP_INSPECT_RELEASED);
		session_forward(w, held[i], &hp, s, CT_DIR_FWD, s->fwd.iface, now);
	}
}

/* The contiguous prefix grew: parse it again; decide once it says. */
static void
inspect_decide(struct worker *w, struct ct_session *s, uint64_t now)
{
	const struct inspect_flow *f = inspect_flow(w->insp, s->aux);
	struct policy_flow pf = flow_of(&s->fwd);
	struct policy_verdict v = { .rule_id = POLICY_RULE_NONE };
	enum app_reason why = APP_R_OK;
	struct app_result r;

	if (app_parse(f->buf, f->contig, inspect_bound(w->insp), &r) == APP_NEED_MORE)
		return;
	/* A session still inspecting when the policy changed decides under
	 * the policy of this poll. */
	if (app_verdict(w->pol->rs, w->pol->scratch[w->id], &pf, &r, &v, &why))
		inspect_allow(w, s, &r, &v, now);
	else
		inspect_refuse(w, s, &r, deny_counter[why < APP_R_MAX ? why : APP_R_OK],
			       v.rule_id);
}

/*
 * The client's SYN of a flow under inspection: it goes on without its
 * data (TCP Fast Open), which is used for parsing; the client sends the
 * data again once the server has acknowledged only the SYN, and it is
 * held then. Stripping, rather than holding the SYN, keeps the handshake
 * going and no payload byte ever leaves before the decision. Consumes `m`.
 */
static void
inspect_syn(struct worker *w, struct rte_mbuf *m, const struct nat_pkt *p,
	    struct ct_session *s, uint8_t in_iface, uint64_t now)
{
	struct inspect_flow *f = inspect_flow(w->insp, s->aux);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, p->l3);
	struct rte_tcp_hdr *tcp;
	uint8_t *data;
	uint32_t len, before = f->contig;

	if (!tcp_payload(m, p, &tcp, &data, &len)) {
		drop(w, m, DP_DROP_L4_TRUNCATED);
		return;
	}
	if (len > 0) {
		uint16_t total = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - len);

		inspect_take(w->insp, s->aux, NULL, rte_be_to_cpu_32(tcp->sent_seq) + 1, data,
			     len);
		ip->total_length = rte_cpu_to_be_16(total);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - p->l3 - total));
		tcp->cksum = 0;
		tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
		count(w, DP_INSPECT_SYN_DATA);
		if (f->contig != before)
			inspect_decide(w, s, now);
		if (s->flags & CT_F_REFUSED) {
			drop(w, m, DP_DROP_INSPECT_REFUSED);
			return;
		}
	}
	if (s->flags & CT_F_INSPECT)
		f->syn_fwd = true;
	session_forward(w, m, p, s, CT_DIR_FWD, in_iface, now);
}

/*
 * A packet of a flow under inspection (its TCP state already followed).
 * The server's segments pass (they carry nothing of the client's); the
 * client's segments without payload pass (the handshake, pure ACKs, a
 * FIN); the client's payload is held, and each time the contiguous prefix
 * grows the parser looks at it again.
 */
static void
inspect_input(struct worker *w, struct rte_mbuf *m, const struct nat_pkt *p,
	      struct ct_session *s, enum ct_dir dir, uint8_t in_iface, uint64_t now)
{
	struct inspect_flow *f = inspect_flow(w->insp, s->aux);
	struct rte_tcp_hdr *tcp;
	uint8_t *data;
	uint32_t len, seq, before;

	if (p->kind == NAT_KIND_ICMP_ERROR) {
		session_forward(w, m, p, s, dir, in_iface, now);
		return;
	}
	if (!tcp_payload(m, p, &tcp, &data, &len)) {
		drop(w, m, DP_DROP_L4_TRUNCATED);
		return;
	}
	seq = rte_be_to_cpu_32(tcp->sent_seq);
	if (p->tcp_flags & RTE_TCP_RST_FLAG) {
		/* Either end gave up: nothing left to decide. */
		w->stats.c[DP_DROP_INSPECT_REFUSED] += inspect_close(w->insp, s->aux);
		s->flags = (uint8_t)((s->flags & ~CT_F_INSPECT) | CT_F_REFUSED);
		count(w, DP_INSPECT_ABORTED);
		session_forward(w, m, p, s, dir, in_iface, now);
		return;
	}
	if (dir == CT_DIR_REV) {
		uint32_t end = seq + len + !!(p->tcp_flags & RTE_TCP_SYN_FLAG) +
			       !!(p->tcp_flags & RTE_TCP_FIN_FLAG);

		if (!f->srv_seen || (int32_t)(end - f->srv_nxt) > 0)
			f->srv_nxt = end;
		f->srv_seen = true;
		session_forward(w, m, p, s, dir, in_iface, now);
		return;
	}
	if (p->tcp_flags & RTE_TCP_SYN_FLAG) {
		inspect_syn(w, m, p, s, in_iface, now);
		return;
	}
	if (len == 0) {
		session_forward(w, m, p, s, dir, in_iface, now);
		return;
	}
	before = f->contig;
	switch (inspect_take(w->insp, s->aux, m, seq, data, len)) {
	case INSPECT_HELD_OK:
		count(w, DP_INSPECT_HELD);
		break;
	case INSPECT_HELD_DUP:
		drop(w, m, DP_DROP_INSPECT_DUP);
		return;
	case INSPECT_HELD_BEYOND:
		drop(w, m, DP_DROP_INSPECT_FLOW_BYTES);
		return;
	case INSPECT_HELD_FLOW_FULL:
		drop(w, m, DP_DROP_INSPECT_FLOW_SEGMENTS);
		return;
	case INSPECT_HELD_POOL_FULL:
		drop(w, m, DP_DROP_INSPECT_HELD_FULL);
		return;
	}
	if (f->contig != before)
		inspect_decide(w, s, now);
}

/* Flows whose hello or request head did not complete in time: refused.
 * A bounded slice of the contexts per poll (see inspect_expired()). */
static void
inspect_timeouts(struct worker *w)
{
	uint32_t idx[INSPECT_SCAN_BUDGET];
	unsigned n;

	if (w->insp == NULL)
		return;
	n = inspect_expired(w->insp, w->now_s, INSPECT_SCAN_BUDGET, idx);
	for (unsigned i = 0; i < n; i++) {
		struct ct_session *s = ct_session_at(w->ct, inspect_flow(w->insp, idx[i])->session);

		if (s->state == CT_HOLD) {
			/* expired already, waiting out its port hold-down */
			w->stats.c[DP_DROP_INSPECT_REFUSED] += inspect_close(w->insp, idx[i]);
			s->flags = (uint8_t)(s->flags & ~CT_F_INSPECT);
			count(w, DP_INSPECT_ABORTED);
		} else {
			inspect_refuse(w, s, NULL, DP_INSPECT_TIMEOUT, POLICY_RULE_NONE);
		}
	}
}

static void
session_input(struct worker *w, struct rte_mbuf *m, const struct nat_pkt *p,
	      struct ct_session *s, enum ct_dir dir, uint8_t in_iface, uint64_t now)
{
	uint32_t deny_rule;

	if (unlikely(s->state == CT_HOLD || (s->flags & CT_F_REFUSED))) {
		drop(w, m, s->state == CT_HOLD ? DP_DROP_SESSION_CLOSED : DP_DROP_INSPECT_REFUSED);
		return;
	}
	/* A session still inspecting decides under the current policy. */
	if (w->pol != NULL && s->generation != w->pol->generation && !(s->flags & CT_F_INSPECT) &&
	    !still_allowed(w, s, &deny_rule)) {
		size_t len = 0;
		const char *name = (s->flags & CT_F_APP) ? inspect_name(w->insp, s->aux, &len) : NULL;

		ct_expire_now(s, w->now_s);
		decided(w, &s->fwd, NULL,
			(s->flags & CT_F_DNAT)	  ? DLOG_DNAT
			: (s->flags & CT_F_APP) ? DLOG_APPLICATION
						: DLOG_NETWORK,
			POLICY_ACTION_DENY, DP_DROP_POLICY_REVOKED, deny_rule, name, len);
		drop(w, m, DP_DROP_POLICY_REVOKED);
		return;
	}
	if (p->kind == NAT_KIND_ICMP_ERROR) {
		/* RFC 5508 REQ-? / RFC 5382 REQ-10: an error neither refreshes
		 * nor ends the session it is about. */
		count(w, DP_ICMP_ERR_TRANSLATED);
		session_forward(w, m, p, s, dir, in_iface, now);
		return;
	}
	if (s->fwd.proto == IPPROTO_TCP) {
		uint8_t next = ct_tcp_next(s->state, dir, ct_tcp_event(p->tcp_flags));

		if (next == CT_FREE) {
			drop(w, m, DP_DROP_TCP_INVALID);
			return;
		}
		s->state = next;
	}
	s->pkts[dir]++;
	ct_refresh(w->ct, s, w->now_s);
	if (s->flags & CT_F_INSPECT)
		inspect_input(w, m, p, s, dir, in_iface, now);
	else
		session_forward(w, m, p, s, dir, in_iface, now);
}

/*
 * A packet for one of our own addresses that no session or DNAT rule
 * claims. The control thread answers ICMP echo (health probes ping us) and,
 * when it serves something (the DNS proxy), TCP and UDP for the interface
 * addresses; anything else is refused here, so that a flood at a frontend
 * IP never reaches the control thread's ring.
 */
static void
local_input(struct worker *w, struct rte_mbuf *m, const struct nat_pkt *p, const struct ct_key *k,
	    uint8_t in_iface)
{
	const struct dp *dp = w->dp;

	if (p->kind == NAT_KIND_ICMP_REQ ||
	    (dp->punt_l4 && (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP) &&
	     (k->dst == dp->ifaces[DP_IFACE_INSIDE].addr ||
	      k->dst == dp->ifaces[DP_IFACE_OUTSIDE].addr)))
		punt(w, m, DP_REASON_LOCAL, in_iface, DP_PUNT_LOCAL);
	else
		drop(w, m, DP_DROP_LOCAL_UNSUPPORTED);
}

/*
 * The first packet of a flow, in Azure Firewall's order: DNAT rules, then
 * network rules (first match by priority), then default deny. Application
 * rules need the TLS SNI or HTTP Host, which the inspection stage (not
 * built yet) will provide; a flow only they could allow is refused and
 * counted under its own name.
 */
static void
new_flow(struct worker *w, struct rte_mbuf *m, const struct nat_pkt *p, const struct ct_key *k,
	 uint8_t in_iface, uint64_t now)
{
	const struct route_nh *nh = route_lookup(w->dp->routes, k->dst);
	bool local = nh != NULL && nh->type == ROUTE_LOCAL;
	struct policy_verdict v;
	struct policy_flow f;
	struct ct_key out = *k, rev;
	struct snat_pool *pool = NULL;
	struct ct_session *s;
	uint8_t flags = 0;
	bool inspect = false;

	if (p->kind == NAT_KIND_ICMP_ERROR) {
		drop(w, m, DP_DROP_ICMP_ERROR_NO_SESSION);
		return;
	}
	if (nh != NULL && nh->type == ROUTE_BROADCAST) {
		drop(w, m, DP_DROP_IP_BROADCAST); /* RFC 2644: not forwarded */
		return;
	}
	if (p->kind == NAT_KIND_ICMP_REPLY ||
	    (k->proto == IPPROTO_TCP && ct_tcp_event(p->tcp_flags) != CT_TCP_EV_SYN)) {
		/* Replies and mid-flow segments never open a session; to our
		 * own addresses the control thread answers (or counts) them. */
		if (local)
			local_input(w, m, p, k, in_iface);
		else
			drop(w, m, DP_DROP_NO_SESSION);
		return;
	}
	if (w->pol == NULL) {
		if (local)
			local_input(w, m, p, k, in_iface);
		else
			drop(w, m, DP_DROP_POLICY_NONE);
		return;
	}
	f = flow_of(k);
	if (!policy_match_network(w->pol->rs, &f, &v)) {
		if (local) {
			local_input(w, m, p, k, in_iface);
			return;
		}
		if (k->proto != IPPROTO_TCP || in_iface != DP_IFACE_INSIDE || w->insp == NULL ||
		    !policy_app_candidate(w->pol->rs, &f,
					  POLICY_SCHEME_MASK_HTTP | POLICY_SCHEME_MASK_HTTPS)) {
			decided(w, k, NULL, DLOG_NETWORK, POLICY_ACTION_DENY,
				DP_DROP_POLICY_DEFAULT, POLICY_RULE_NONE, NULL, 0);
			drop(w, m, DP_DROP_POLICY_DEFAULT);
			return;
		}
		/* Only an application rule could allow it: the session opens
		 * like an allowed one and its payload waits for the name. */
		if (!inspect_available(w->insp)) {
			drop(w, m, DP_DROP_INSPECT_POOL_EMPTY);
			return;
		}
		inspect = true;
		v.action = POLICY_ACTION_ALLOW;
	}
	if (v.action == POLICY_ACTION_DENY) {
		decided(w, k, NULL, DLOG_NETWORK, POLICY_ACTION_DENY, DP_DROP_POLICY_DENY,
			v.rule_id, NULL, 0);
		drop(w, m, DP_DROP_POLICY_DENY);
		return;
	}

	if (v.action == POLICY_ACTION_DNAT) {
		if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP) {
			drop(w, m, DP_DROP_DNAT_UNSUPPORTED);
			return;
		}
		out.dst = rte_cpu_to_be_32(v.xlat_addr);
		if (v.xlat_port != 0)
			out.dport = rte_cpu_to_be_16(v.xlat_port);
		flags |= CT_F_DNAT;
		nh = route_lookup(w->dp->routes, out.dst);
		if (nh == NULL || nh->type >= ROUTE_LOCAL) {
			drop_no_route(w, m, in_iface, now);
			return;
		}
		/* Azure SNATs inbound DNAT traffic to a private address so
		 * replies return through the firewall; hairpin traffic (from
		 * the inside back to the inside) must be, or the backend would
		 * answer the client directly. */
		if (w->dp->nat.dnat_snat || in_iface == nh->iface) {
			out.src = w->dp->ifaces[nh->iface].addr;
			pool = w->snat_in;
			flags |= CT_F_ISNAT;
		}
	} else {
		if (local) {
			/* An allow rule for one of our own addresses: the
			 * control thread answers what it can (echo). */
			local_input(w, m, p, k, in_iface);
			return;
		}
		if (nh == NULL) {
			drop_no_route(w, m, in_iface, now);
			return;
		}
		if (in_iface == DP_IFACE_INSIDE && nh->iface == DP_IFACE_OUTSIDE &&
		    !no_snat(w->dp, k->dst)) {
			pool = w->snat_out;
			flags |= CT_F_SNAT;
		}
	}

	if (pool != NULL && snat_out_tuple(w, pool, &out, nh->iface) != 0) {
		if (w->dp->nat.icmp_on_exhaustion)
			drop_with_icmp(w, m, in_iface, DP_DROP_SNAT_EXHAUSTED, ICMP_DEST_UNREACH,
				       ICMP_CODE_ADMIN_PROHIBITED, 0, DP_ICMP_ADMIN_PROHIBITED, now);
		else
			drop(w, m, DP_DROP_SNAT_EXHAUSTED);
		return;
	}
	rev = nat_mirror(&out, nh->iface);
	s = ct_create_session(w->ct, k, &rev, initial_state(k->proto), w->now_s);
	if (s == NULL) {
		if (pool != NULL)
			unsnat(w, pool, k, &out);
		drop(w, m, DP_DROP_CT_FULL);
		return;
	}
	/* The ISNAT flag names the pool; a DNAT+ISNAT session returns its
	 * port to the inside pool (see release_port()). */
	if (flags & CT_F_ISNAT)
		flags &= (uint8_t)~CT_F_SNAT;
	s->flags = flags;
	s->rule_id = v.rule_id;
	s->generation = w->pol->generation;
	count(w, DP_CT_CREATED);
	s->pkts[CT_DIR_FWD]++;
	if (inspect) {
		const struct rte_tcp_hdr *tcp =
			rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, p->l4);

		/* The decision is logged when it is made (inspect_decide()). */
		s->flags |= CT_F_INSPECT;
		s->aux = inspect_open(w->insp, ct_session_index(w->ct, s),
				      rte_be_to_cpu_32(tcp->sent_seq),
				      w->now_s + w->dp->inspect.timeout_s);
		count(w, DP_INSPECT_STARTED);
		inspect_syn(w, m, p, s, in_iface, now);
		return;
	}
	if (flags & CT_F_DNAT)
		count(w, DP_DNAT_CREATED);
	decided(w, k, &out, (flags & CT_F_DNAT) ? DLOG_DNAT : DLOG_NETWORK, v.action,
		DP_CT_CREATED, v.rule_id, NULL, 0);
	session_forward(w, m, p, s, CT_DIR_FWD, in_iface, now);
}

/* -------------------------------------------------------- worker handoff */

static inline unsigned
hash_owner(rte_be32_t a, rte_be16_t port, unsigned n)
{
	return rte_hash_crc_4byte((uint32_t)a ^ ((uint32_t)port << 16), 0x7011ca7e) % n;
}

/*
 * Which worker owns the session this key belongs to (see the README's
 * "Scaling across workers"): a reply to one of our addresses by the port
 * we allocated (each worker allocates from its own slice); anything from
 * the inside by its source, anything else from the outside by its
 * destination, so that both directions of an untranslated flow meet.
 */
static unsigned
owner_of(const struct worker *w, const struct ct_key *k, uint8_t in_iface)
{
	const struct dp *dp = w->dp;
	const struct route_nh *nh = route_lookup(dp->routes, k->dst);

	if (nh != NULL && nh->type == ROUTE_LOCAL) {
		unsigned o = snat_port_owner(rte_be_to_cpu_16(k->dport), dp->n_workers);

		return o < dp->n_workers ? o : hash_owner(k->src, k->sport, dp->n_workers);
	}
	return in_iface == DP_IFACE_INSIDE ? hash_owner(k->src, 0, dp->n_workers)
					   : hash_owner(k->dst, 0, dp->n_workers);
}

/* What stage one learned about a packet, for stages two and three. */
struct pkt_ctx {
	struct ct_key key;
	struct nat_pkt info;
	uint8_t in_iface;
};

/*
 * Validate, read the key, and hand a packet to its owner when it is not
 * this worker's. False when the packet was consumed (dropped or handed).
 */
static bool
ipv4_prepare(struct worker *w, struct rte_mbuf *m, uint8_t in_iface, bool handed,
	     struct pkt_ctx *c)
{
	enum dp_counter bad;

	bad = ipv4_check(m, RTE_ETHER_HDR_LEN);
	if (bad == 0)
		bad = nat_key(m, RTE_ETHER_HDR_LEN, in_iface, &c->key, &c->info);
	if (bad != 0) {
		drop(w, m, bad);
		return false;
	}
	c->in_iface = in_iface;
	if (w->dp->n_workers > 1 && !handed) {
		unsigned o = owner_of(w, &c->key, in_iface);

		if (o != w->id) {
			dp_priv(m)->in_iface = in_iface;
			if (rte_ring_sp_enqueue(w->handoff_out[o], m) != 0)
				drop(w, m, DP_DROP_HANDOFF_FULL);
			else
				count(w, DP_CT_HANDOFF);
			return false;
		}
	}
	return true;
}

/*
 * IPv4 packets of one burst, in three stages so that the session lookups
 * are done together (rte_hash prefetches across the burst): prepare each
 * packet, look all keys up, then carry each packet through its session or
 * through the first-packet path.
 */
static void
ipv4_burst(struct worker *w, struct rte_mbuf **pkts, const uint8_t *iface, unsigned n,
	   bool handed, uint64_t now)
{
	struct pkt_ctx ctx[DP_BURST];
	const struct ct_key *keys[DP_BURST];
	struct rte_mbuf *keep[DP_BURST];
	struct ct_session *sess[DP_BURST];
	uint8_t dirs[DP_BURST];
	unsigned k = 0;
	bool created = false;

	for (unsigned i = 0; i < n; i++) {
		if (ipv4_prepare(w, pkts[i], iface[i], handed, &ctx[k])) {
			keys[k] = &ctx[k].key;
			keep[k++] = pkts[i];
		}
	}
	ct_lookup_bulk(w->ct, keys, k, sess, dirs);
	for (unsigned i = 0; i < k; i++) {
		struct ct_session *s = sess[i];
		enum ct_dir dir = (enum ct_dir)dirs[i];

		/* An earlier packet of this burst may have opened the flow. */
		if (s == NULL && created)
			s = ct_lookup(w->ct, keys[i], &dir);
		if (s != NULL) {
			session_input(w, keep[i], &ctx[i].info, s, dir, ctx[i].in_iface, now);
		} else {
			uint64_t before = w->stats.c[DP_CT_CREATED];

			new_flow(w, keep[i], &ctx[i].info, keys[i], ctx[i].in_iface, now);
			created = created || w->stats.c[DP_CT_CREATED] != before;
		}
	}
}

/* Ethernet checks; true when `m` is IPv4 for the burst's IPv4 stages. */
static bool
eth_input(struct worker *w, struct rte_mbuf *m, uint8_t in_iface)
{
	const struct rte_ether_hdr *eth;

	if (m->data_len < RTE_ETHER_HDR_LEN) {
		drop(w, m, DP_DROP_ETH_SHORT);
		return false;
	}
	if (m->nb_segs != 1) {
		drop(w, m, DP_DROP_MULTI_SEGMENT);
		return false;
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
		return false;
	}
	switch (eth->ether_type) {
	case RTE_BE16(RTE_ETHER_TYPE_IPV4):
		return true;
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
	return false;
}

void
worker_poll(struct worker *w)
{
	struct dp *dp = w->dp;
	struct rte_mbuf *pkts[DP_BURST], *ip_pkts[DP_BURST];
	uint8_t ifs[DP_BURST];
	uint64_t now = rte_rdtsc();
	unsigned n, m, work = 0;

	/* The busy-ratio metric: the previous poll, now that it has ended. */
	if (likely(w->prev_poll_tsc != 0)) {
		w->poll_tsc += now - w->prev_poll_tsc;
		if (w->prev_poll_worked)
			w->busy_tsc += now - w->prev_poll_tsc;
	}
	w->prev_poll_tsc = now;
	w->now_s = (uint32_t)(now / dp->tsc_hz) + dp->clock_offset_s;
	w->nh_cache_valid = false;
	w->rt_cache_valid = false;
	/* One policy per poll: a packet is judged by exactly one generation.
	 * Pairs with the release store in the control thread's publish. */
	w->pol = __atomic_load_n(&dp->policy, __ATOMIC_ACQUIRE);
	for (uint8_t i = 0; i < DP_N_IFACES; i++) {
		const struct dp_iface *ifc = &dp->ifaces[i];
		uint64_t bytes = 0;

		if (w->queue >= ifc->n_rxq)
			continue;
		n = rte_eth_rx_burst(ifc->port_id, w->queue, pkts, DP_BURST);
		work += n;
		for (unsigned k = 0; k < n; k++) {
			bytes += pkts[k]->pkt_len;
			rte_prefetch0(rte_pktmbuf_mtod(pkts[k], void *));
		}
		w->stats.c[rx_pkts[i]] += n;
		w->stats.c[rx_bytes[i]] += bytes;
		m = 0;
		for (unsigned k = 0; k < n; k++)
			if (eth_input(w, pkts[k], i)) {
				ip_pkts[m] = pkts[k];
				ifs[m++] = i;
			}
		ipv4_burst(w, ip_pkts, ifs, m, false, now);
	}

	/* Packets other workers received for sessions this one owns. */
	for (unsigned j = 0; dp->n_workers > 1 && j < dp->n_workers; j++) {
		if (w->handoff_in[j] == NULL)
			continue;
		n = rte_ring_sc_dequeue_burst(w->handoff_in[j], (void **)pkts, DP_BURST, NULL);
		work += n;
		for (unsigned k = 0; k < n; k++)
			ifs[k] = dp_priv(pkts[k])->in_iface;
		/* already judged by their owner function: never handed twice */
		ipv4_burst(w, pkts, ifs, n, true, now);
	}

	/* Frames the control thread built (ARP, echo replies, released
	 * packets): they are complete, only the interface is ours to pick. */
	n = rte_ring_sc_dequeue_burst(w->inject, (void **)pkts, DP_BURST, NULL);
	work += n;
	for (unsigned k = 0; k < n; k++) {
		count(w, DP_INJECTED);
		worker_tx(w, dp_priv(pkts[k])->out_iface, pkts[k]);
	}

	if (now - w->last_drain_tsc >= dp->drain_tsc) {
		worker_flush(w);
		w->last_drain_tsc = now;
	}
	/* A bounded slice of session expiry per poll (see ct_expire()). */
	w->stats.c[DP_CT_FREED] += ct_expire(w->ct, w->now_s, CT_EXPIRE_BUDGET, release_session, w);
	inspect_timeouts(w);
	rte_rcu_qsbr_quiescent(dp->qsbr, w->id);
	w->prev_poll_worked = work != 0;
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
