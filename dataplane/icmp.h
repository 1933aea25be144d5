/* SPDX-License-Identifier: BSD-3-Clause */
/* ICMP messages the appliance itself sends (RFC 792, RFC 1812 4.3). */
#ifndef TG_DATAPLANE_ICMP_H
#define TG_DATAPLANE_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_CODE_NET_UNREACH 0
#define ICMP_CODE_FRAG_NEEDED 4
#define ICMP_CODE_TTL_TRANSIT 0
#define ICMP_CODE_ADMIN_PROHIBITED 13 /* RFC 1812 5.2.7.1 */
#define ICMP_ERROR_MAX_LEN 576 /* RFC 1812 4.3.2.3: whole error datagram */

/*
 * RFC 1812 4.3.2.7: no ICMP error about an ICMP error, a non-initial
 * fragment, or a datagram whose source does not name a single host.
 * The header is assumed validated by ipv4_check().
 */
bool icmp_error_allowed(const struct rte_ipv4_hdr *ip);

/*
 * A new frame (Ethernet header left for the sender to fill, IPv4 at offset
 * RTE_ETHER_HDR_LEN) carrying an ICMP error of `type`/`code` about the
 * datagram at `l3_off` in `orig`, from `src` (network order), quoting as
 * much of the original as fits in 576 bytes. `mtu` is the next-hop MTU for
 * "fragmentation needed" (RFC 1191), else 0. NULL when the pool is empty.
 */
struct rte_mbuf *icmp_error_build(struct rte_mempool *mp, const struct rte_mbuf *orig,
				  uint16_t l3_off, rte_be32_t src, uint8_t type, uint8_t code,
				  uint16_t mtu);

/*
 * Turn an echo request for one of our addresses (IPv4 at `l3_off`, already
 * validated) into the echo reply in place. Returns false when the ICMP part
 * is truncated, has a bad checksum or is not an echo request.
 */
bool icmp_echo_reply(struct rte_mbuf *m, uint16_t l3_off);

#endif
