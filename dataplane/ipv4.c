/* SPDX-License-Identifier: BSD-3-Clause */
#include <string.h>

#include "dataplane/ipv4.h"

/* First octets no unicast host address has: 0/8 ("this network"), 127/8
 * (loopback), 224/4 (multicast) and 240/4 (reserved, and the limited
 * broadcast address). */
static const uint8_t martian[256] = {
	[0] = 1, [127] = 1,
	[224 ... 255] = 1,
};

/* One's complement sum of the header is all ones when the checksum is
 * right. The usual 20-byte header is five 32-bit words. */
static inline bool
header_sum_ok(const struct rte_ipv4_hdr *ip, uint32_t ihl)
{
	uint32_t w[5];
	uint64_t sum;

	if (ihl != sizeof(*ip))
		return rte_raw_cksum(ip, ihl) == 0xffff;
	memcpy(w, ip, sizeof(w));
	sum = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	return ipv4_cksum_fold(sum) == 0xffff;
}

enum dp_counter
ipv4_check(struct rte_mbuf *m, uint16_t l3_off)
{
	const struct rte_ipv4_hdr *ip;
	uint32_t frame_l3_len, ihl, total, src, dst;

	/* (1) the link layer must hold at least a minimal header */
	if (m->data_len < l3_off ||
	    (uint32_t)(m->data_len - l3_off) < sizeof(struct rte_ipv4_hdr))
		return DP_DROP_IP_SHORT;
	frame_l3_len = m->data_len - l3_off;
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, l3_off);

	/* (3) and (4) before (2): the checksum covers IHL words, which must
	 * be known to lie inside the frame before they are summed. */
	if ((ip->version_ihl >> 4) != 4)
		return DP_DROP_IP_VERSION;
	ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
	if (ihl < sizeof(struct rte_ipv4_hdr) || ihl > frame_l3_len)
		return DP_DROP_IP_IHL;

	/* (2) header checksum, unless the NIC already checked it */
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD)
		return DP_DROP_IP_CKSUM;
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	    !header_sum_ok(ip, ihl))
		return DP_DROP_IP_CKSUM;

	/* (5) total length: at least the header, at most what arrived */
	total = rte_be_to_cpu_16(ip->total_length);
	if (total < ihl || total > frame_l3_len)
		return DP_DROP_IP_TOTAL_LEN;
	if (total < frame_l3_len)
		rte_pktmbuf_trim(m, (uint16_t)(frame_l3_len - total));

	/* Options: a firewall does not honour source routing or record
	 * route; rather than forward options it does not process, Tollgate
	 * drops such packets (and counts them). */
	if (ihl != sizeof(struct rte_ipv4_hdr))
		return DP_DROP_IP_OPTIONS;

	/* RFC 1812 5.3.7: martian sources and destinations, decided by the
	 * first octet (one table lookup each on the common path). */
	src = rte_be_to_cpu_32(ip->src_addr);
	dst = rte_be_to_cpu_32(ip->dst_addr);
	if (unlikely(martian[src >> 24] != 0))
		return DP_DROP_IP_SRC_INVALID;
	if (unlikely(martian[dst >> 24] != 0)) {
		if (dst == UINT32_MAX)
			return DP_DROP_IP_BROADCAST;
		if ((dst >> 28) == 0xe)
			return DP_DROP_IP_MULTICAST;
		return DP_DROP_IP_DST_INVALID;
	}
	return 0;
}
