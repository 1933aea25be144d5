/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include <rte_ether.h>
#include <rte_icmp.h>

#include "dataplane/icmp.h"
#include "dataplane/ipv4.h"

static bool
is_icmp_error_type(uint8_t type)
{
	switch (type) {
	case RTE_IP_ICMP_ECHO_REPLY:
	case RTE_IP_ICMP_ECHO_REQUEST:
	case 13: /* timestamp */
	case 14: /* timestamp reply */
	case 15: /* information request */
	case 16: /* information reply */
		return false;
	default:
		return true; /* unknown types are treated as errors: be quiet */
	}
}

bool
icmp_error_allowed(const struct rte_ipv4_hdr *ip)
{
	uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);

	if ((frag & RTE_IPV4_HDR_OFFSET_MASK) != 0)
		return false;
	if (ipv4_is_multicast(ip->dst_addr) || ip->dst_addr == RTE_BE32(UINT32_MAX))
		return false;
	if (ip->next_proto_id == IPPROTO_ICMP) {
		uint16_t ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);
		const uint8_t *icmp = (const uint8_t *)ip + ihl;

		/* Without the type byte we cannot tell: stay quiet. */
		if (rte_be_to_cpu_16(ip->total_length) <= ihl)
			return false;
		if (is_icmp_error_type(icmp[0]))
			return false;
	}
	return true;
}

struct rte_mbuf *
icmp_error_build(struct rte_mempool *mp, const struct rte_mbuf *orig, uint16_t l3_off,
		 rte_be32_t src, uint8_t type, uint8_t code, uint16_t mtu)
{
	const struct rte_ipv4_hdr *oip =
		rte_pktmbuf_mtod_offset(orig, const struct rte_ipv4_hdr *, l3_off);
	uint16_t quote = rte_be_to_cpu_16(oip->total_length);
	const uint16_t hdrs = sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_icmp_hdr);
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	struct rte_mbuf *m;
	char *p;

	if (quote > ICMP_ERROR_MAX_LEN - hdrs)
		quote = ICMP_ERROR_MAX_LEN - hdrs;
	if (quote > orig->data_len - l3_off)
		quote = (uint16_t)(orig->data_len - l3_off);

	m = rte_pktmbuf_alloc(mp);
	if (m == NULL)
		return NULL;
	p = rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + hdrs + quote);
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	memcpy(icmp + 1, oip, quote);

	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.type_of_service = 0xc0, /* RFC 1812 4.3.2.5: internetwork control */
		.total_length = rte_cpu_to_be_16(hdrs + quote),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_ICMP,
		.src_addr = src,
		.dst_addr = oip->src_addr,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);

	icmp->icmp_type = type;
	icmp->icmp_code = code;
	icmp->icmp_cksum = 0;
	/* RFC 792 "unused" word; RFC 1191 puts the next-hop MTU in its low half */
	icmp->icmp_ident = 0;
	icmp->icmp_seq_nb = rte_cpu_to_be_16(mtu);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
	return m;
}

bool
icmp_echo_reply(struct rte_mbuf *m, uint16_t l3_off)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3_off);
	uint16_t ihl = (uint16_t)((ip->version_ihl & 0xf) * 4);
	uint16_t len = (uint16_t)(rte_be_to_cpu_16(ip->total_length) - ihl);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
	rte_be32_t a;

	if (len < sizeof(*icmp) || icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST ||
	    icmp->icmp_code != 0 || rte_raw_cksum(icmp, len) != 0xffff)
		return false;
	if ((rte_be_to_cpu_16(ip->fragment_offset) &
	     (RTE_IPV4_HDR_OFFSET_MASK | RTE_IPV4_HDR_MF_FLAG)) != 0)
		return false; /* fragmented echo: not reassembled, not answered */

	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = ipv4_cksum_update16(icmp->icmp_cksum,
					       rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REQUEST << 8),
					       rte_cpu_to_be_16(RTE_IP_ICMP_ECHO_REPLY << 8));
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	return true;
}
