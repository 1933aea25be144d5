/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One Ethernet/IPv4/TCP frame, the way a client or server stack sends it
 * (DF, TTL 64, no options, window 65535, both checksums right). Shared by
 * the inspection tests and the inspect benchmark, which drive the same
 * handshakes through the worker: header-only so that the bench does not
 * link the cmocka harness.
 */
#ifndef TG_TESTS_TCP_FRAME_H
#define TG_TESTS_TCP_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

struct tcp_frame {
	const struct rte_ether_addr *src_mac, *dst_mac;
	rte_be32_t src, dst;    /* network order */
	uint16_t sport, dport;  /* host order */
	uint32_t seq, ack;
	uint8_t flags;
};

#define TCP_FRAME_HDR_LEN \
	(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr))

/* Writes the frame carrying `len` bytes of `data` into buf (room for
 * TCP_FRAME_HDR_LEN + len); returns its length. */
static inline size_t
tcp_frame_build(uint8_t *buf, const struct tcp_frame *f, const void *data, size_t len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);

	rte_ether_addr_copy(f->src_mac, &eth->src_addr);
	rte_ether_addr_copy(f->dst_mac, &eth->dst_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*tcp) + len));
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = f->src;
	ip->dst_addr = f->dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	memset(tcp, 0, sizeof(*tcp));
	tcp->src_port = rte_cpu_to_be_16(f->sport);
	tcp->dst_port = rte_cpu_to_be_16(f->dport);
	tcp->sent_seq = rte_cpu_to_be_32(f->seq);
	tcp->recv_ack = rte_cpu_to_be_32(f->ack);
	tcp->data_off = 5 << 4;
	tcp->tcp_flags = f->flags;
	tcp->rx_win = RTE_BE16(65535);
	if (len > 0)
		memcpy(tcp + 1, data, len);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	return TCP_FRAME_HDR_LEN + len;
}

#endif
