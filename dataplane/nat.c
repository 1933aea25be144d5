/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/icmp.h"
#include "dataplane/ipv4.h"
#include "dataplane/nat.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

static bool
icmp_is_error(uint8_t type)
{
	/* RFC 5508 section 3: the error messages a NAT translates */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static bool
icmp_query_kind(uint8_t type, uint8_t *kind)
{
	switch (type) {
	case ICMP_ECHO_REQUEST:
	case 13: /* timestamp */
		*kind = NAT_KIND_ICMP_REQ;
		return true;
	case ICMP_ECHO_REPLY:
	case 14: /* timestamp reply */
		*kind = NAT_KIND_ICMP_REPLY;
		return true;
	default:
		return false;
	}
}

/* Ports (or the ICMP identifier) of a transport header with `avail` bytes. */
static enum dp_counter
l4_ports(const uint8_t *l4, uint32_t avail, uint8_t proto, uint8_t *kind, rte_be16_t *sport,
	 rte_be16_t *dport)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (avail < 4)
			return DP_DROP_L4_TRUNCATED;
		memcpy(sport, l4, 2);
		memcpy(dport, l4 + 2, 2);
		*kind = NAT_KIND_PLAIN;
		return 0;
	case IPPROTO_ICMP: {
		rte_be16_t id;

		if (avail < 8)
			return DP_DROP_L4_TRUNCATED;
		if (!icmp_query_kind(l4[0], kind))
			return DP_DROP_ICMP_UNTRACKED;
		memcpy(&id, l4 + 4, 2);
		*sport = *kind == NAT_KIND_ICMP_REQ ? id : 0;
		*dport = *kind == NAT_KIND_ICMP_REQ ? 0 : id;
		return 0;
	}
	default:
		*sport = *dport = 0;
		*kind = NAT_KIND_PLAIN;
		return 0;
	}
}

enum dp_counter
nat_key(const struct rte_mbuf *m, uint16_t l3, uint8_t iface, struct ct_key *k,
	struct nat_pkt *p)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3);
	uint16_t ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);
	uint16_t total = rte_be_to_cpu_16(ip->total_length);
	const uint8_t *l4 = (const uint8_t *)ip + ihl;
	uint32_t avail = (uint32_t)total - ihl;
	enum dp_counter bad;

	/* Fragments carry no ports (or, the first, ports that the rest do
	 * not): they cannot be matched to a session without reassembly,
	 * which Tollgate does not do yet. */
	if (ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG))
		return DP_DROP_IP_FRAGMENT;

	p->kind = NAT_KIND_PLAIN;
	p->tcp_flags = 0;
	p->l3 = l3;
	p->l4 = (uint16_t)(l3 + ihl);

	/* The common case, TCP or UDP with its whole header: two loads. */
	if ((ip->next_proto_id == IPPROTO_TCP && avail >= sizeof(struct rte_tcp_hdr)) ||
	    (ip->next_proto_id == IPPROTO_UDP && avail >= sizeof(struct rte_udp_hdr))) {
		k->src = ip->src_addr;
		k->dst = ip->dst_addr;
		memcpy(&k->sport, l4, 4); /* source and destination ports */
		k->proto = ip->next_proto_id;
		k->iface = iface;
		k->zero = 0;
		if (ip->next_proto_id == IPPROTO_TCP)
			p->tcp_flags = ((const struct rte_tcp_hdr *)l4)->tcp_flags;
		return 0;
	}

	*k = (struct ct_key){ 0 };
	k->proto = ip->next_proto_id;
	k->iface = iface;

	if (ip->next_proto_id == IPPROTO_ICMP && avail >= 8 && icmp_is_error(l4[0])) {
		const struct rte_ipv4_hdr *in = (const struct rte_ipv4_hdr *)(l4 + 8);
		uint32_t in_avail = avail - 8;
		uint16_t in_ihl;
		uint8_t in_kind;

		/* RFC 792: the embedded header and at least 8 bytes of its
		 * payload. Anything shorter cannot be matched. */
		if (in_avail < sizeof(*in) || (in->version_ihl >> 4) != 4)
			return DP_DROP_ICMP_ERROR_INVALID;
		in_ihl = (uint16_t)((in->version_ihl & 0xf) * 4);
		if (in_ihl < sizeof(*in) || in_ihl > in_avail)
			return DP_DROP_ICMP_ERROR_INVALID;
		bad = l4_ports((const uint8_t *)in + in_ihl, in_avail - in_ihl, in->next_proto_id,
			       &in_kind, &k->dport, &k->sport);
		if (bad != 0)
			return DP_DROP_ICMP_ERROR_INVALID;
		/* The embedded packet went the other way: mirror it. */
		k->src = in->dst_addr;
		k->dst = in->src_addr;
		k->proto = in->next_proto_id;
		p->kind = NAT_KIND_ICMP_ERROR;
		p->inner_kind = in_kind;
		p->inner_l3 = (uint16_t)(p->l4 + 8);
		p->inner_l4 = (uint16_t)(p->inner_l3 + in_ihl);
		p->inner_len = (uint16_t)in_avail;
		return 0;
	}

	bad = l4_ports(l4, avail, ip->next_proto_id, &p->kind, &k->sport, &k->dport);
	if (bad != 0)
		return bad;
	if (ip->next_proto_id == IPPROTO_TCP) {
		if (avail < sizeof(struct rte_tcp_hdr))
			return DP_DROP_L4_TRUNCATED;
		p->tcp_flags = ((const struct rte_tcp_hdr *)l4)->tcp_flags;
	} else if (ip->next_proto_id == IPPROTO_UDP && avail < sizeof(struct rte_udp_hdr)) {
		return DP_DROP_L4_TRUNCATED;
	}
	k->src = ip->src_addr;
	k->dst = ip->dst_addr;
	return 0;
}

/* The tuple a packet leaves with: the mirror image of the other key. */
static inline void
target(const struct ct_session *s, enum ct_dir dir, struct ct_key *t)
{
	const struct ct_key *o = dir == CT_DIR_FWD ? &s->rev : &s->fwd;

	t->src = o->dst;
	t->dst = o->src;
	t->sport = o->dport;
	t->dport = o->sport;
}

/*
 * Rewrite one IPv4 header and its transport ports in place; `l4_len` is
 * how much of the transport header is present (an embedded header may be
 * cut short: a checksum that is not there is not touched).
 */
static void
rewrite(struct rte_ipv4_hdr *ip, uint8_t *l4, uint32_t l4_len, uint8_t kind, rte_be32_t src,
	rte_be32_t dst, rte_be16_t sport, rte_be16_t dport, bool ttl_dec)
{
	uint64_t addrs =
		ipv4_cksum_delta32(ip->src_addr, src) + ipv4_cksum_delta32(ip->dst_addr, dst);
	uint64_t hdr = addrs;

	if (ttl_dec) {
		/* TTL and protocol share a 16-bit word of the header sum. */
		uint16_t old, new;

		memcpy(&old, &ip->time_to_live, 2);
		ip->time_to_live--;
		memcpy(&new, &ip->time_to_live, 2);
		hdr += ipv4_cksum_delta16(old, new);
	}
	ip->hdr_checksum = ipv4_cksum_apply(ip->hdr_checksum, hdr);
	ip->src_addr = src;
	ip->dst_addr = dst;

	switch (ip->next_proto_id) {
	case IPPROTO_TCP:
	case IPPROTO_UDP: {
		rte_be16_t *ports = (rte_be16_t *)l4;
		uint16_t *ck = NULL;

		if (ip->next_proto_id == IPPROTO_TCP && l4_len >= 18)
			ck = (uint16_t *)(l4 + 16);
		else if (ip->next_proto_id == IPPROTO_UDP && l4_len >= 8 && *(uint16_t *)(l4 + 6))
			ck = (uint16_t *)(l4 + 6); /* UDP checksum 0: none */
		if (ck != NULL) {
			/* the pseudo-header's addresses and the ports */
			uint16_t c = ipv4_cksum_apply(*ck, addrs +
							      ipv4_cksum_delta16(ports[0], sport) +
							      ipv4_cksum_delta16(ports[1], dport));

			/* RFC 768: a computed 0 is sent as all ones */
			if (ip->next_proto_id == IPPROTO_UDP && c == 0)
				c = 0xffff;
			*ck = c;
		}
		ports[0] = sport;
		ports[1] = dport;
		break;
	}
	case IPPROTO_ICMP: {
		rte_be16_t *id = (rte_be16_t *)(l4 + 4);
		rte_be16_t nid = kind == NAT_KIND_ICMP_REQ ? sport : dport;

		if (l4_len >= 8) {
			uint16_t *ck = (uint16_t *)(l4 + 2);

			*ck = ipv4_cksum_apply(*ck, ipv4_cksum_delta16(*id, nid));
			*id = nid;
		}
		break;
	}
	default:
		break;
	}
}

void
nat_translate(struct rte_mbuf *m, const struct nat_pkt *p, const struct ct_session *s,
	      enum ct_dir dir, bool ttl_dec)
{
	uint8_t *base = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(base + p->l3);
	uint32_t l4_len = rte_be_to_cpu_16(ip->total_length) - (uint32_t)(p->l4 - p->l3);
	struct ct_key t;

	target(s, dir, &t);
	if (p->kind != NAT_KIND_ICMP_ERROR) {
		rewrite(ip, base + p->l4, l4_len, p->kind, t.src, t.dst, t.sport, t.dport, ttl_dec);
		return;
	}

	/*
	 * RFC 5508: the embedded packet went the other way, so it becomes
	 * the other key as it was seen (REQ-4); the outer destination
	 * follows the session like any packet in `dir`; the outer source is
	 * translated when it is the session's endpoint itself, or when the
	 * error leaves towards the outside from behind our SNAT (so that no
	 * inside address leaks).
	 */
	{
		const struct ct_key *o = dir == CT_DIR_FWD ? &s->rev : &s->fwd;
		const struct ct_key *self = dir == CT_DIR_FWD ? &s->fwd : &s->rev;
		struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)(base + p->inner_l3);
		uint32_t in_l4_len = p->inner_len - (uint32_t)(p->inner_l4 - p->inner_l3);
		rte_be32_t osrc = ip->src_addr;
		struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(base + p->l4);

		rewrite(in, base + p->inner_l4, in_l4_len, p->inner_kind, o->src, o->dst, o->sport,
			o->dport, false);
		if (ttl_dec)
			ip->time_to_live--; /* the outer checksum is recomputed below */
		if (osrc == self->src || (dir == CT_DIR_FWD && (s->flags & CT_F_SNAT)))
			osrc = t.src;
		ip->src_addr = osrc;
		ip->dst_addr = t.dst;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		/* The ICMP checksum covers everything embedded: recompute.
		 * Errors are rare and at most 576 bytes as routers send them. */
		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, l4_len);
	}
}
