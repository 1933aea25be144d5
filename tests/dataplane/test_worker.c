/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding path end to end inside one process: crafted frames go in
 * on net_ring ports, through the real worker loop and control slow path,
 * and the frames that come out are checked field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_udp.h>

#include "dataplane/icmp.h"
#include "tests/dataplane/harness.h"

static struct harness H;

static int
setup(void **state)
{
	memset(&H.cfg, 0, sizeof(H.cfg));
	h_default_config(&H.cfg);
	*state = &H;
	return h_start(&H);
}

static int
setup_mtu1400(void **state)
{
	h_default_config(&H.cfg);
	H.cfg.ifaces[H_OUT].mtu = 1400;
	*state = &H;
	return h_start(&H);
}

static int
teardown(void **state)
{
	h_stop(&H);
	return 0;
}

static const struct rte_ether_addr *
our_mac(int iface)
{
	return &H.ctl.dp.ifaces[iface].mac;
}

/* Resolve the server's MAC by sending one packet and answering the ARP. */
static void
learn_server(void)
{
	uint8_t buf[128];
	struct rte_mbuf *m;

	h_send(&H, H_IN, buf,
	       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10", 64,
			   10, false));
	h_pump(&H);
	assert_int_equal(h_counter(&H, DP_PUNT_RESOLVE), 1);
	h_answer_arp(&H, H_OUT, "203.0.113.10", &h_server_mac);
	h_pump(&H);
	m = h_recv(&H, H_OUT);
	assert_non_null(m);
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_NEIGH_RELEASED), 1);
}

static void
learn_client(void)
{
	uint8_t buf[128];

	/* A client that ARPs for its gateway is learned (RFC 826 merge). */
	h_send(&H, H_IN, buf,
	       h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_client_mac, &(struct rte_ether_addr){
			{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, "198.18.1.10", "198.18.1.1"));
	h_pump(&H);
	rte_pktmbuf_free(h_recv(&H, H_IN));
}

static void
test_forward_resolves_then_rewrites(void **state)
{
	uint8_t buf[256], orig[256];
	size_t len;
	struct rte_mbuf *m;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;

	learn_server();

	len = h_build_udp(orig, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10", 64,
			  100, false);
	memcpy(buf, orig, len);
	h_send(&H, H_IN, buf, len);
	h_pump(&H);
	m = h_recv(&H, H_OUT);
	assert_non_null(m);
	assert_int_equal(m->pkt_len, len);
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	assert_true(rte_is_same_ether_addr(&eth->dst_addr, &h_server_mac));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, our_mac(H_OUT)));
	ip = h_ipv4(m);
	assert_int_equal(ip->time_to_live, 63);
	assert_true(h_ipv4_cksum_ok(ip));
	assert_true(h_l4_cksum_ok(ip));
	/* Everything after the TTL and checksum is untouched. */
	assert_memory_equal((uint8_t *)ip + 12, orig + RTE_ETHER_HDR_LEN + 12, len - 14 - 12);
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_IP_FORWARDED), 2);
	/* Only the first packet needed the slow path. */
	assert_int_equal(h_counter(&H, DP_PUNT_RESOLVE), 1);
	assert_int_equal(h_counter(&H, DP_TX_OUTSIDE_PKTS), 3); /* ARP request + 2 */
}

static void
test_static_route_uses_gateway(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;

	learn_server();
	h_send(&H, H_IN, buf,
	       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "198.51.100.10", 64,
			   20, false));
	h_pump(&H);
	m = h_recv(&H, H_OUT);
	assert_non_null(m); /* via 203.0.113.10, already resolved: no ARP */
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr,
					   &h_server_mac));
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("198.51.100.10"));
	rte_pktmbuf_free(m);
}

static void
test_ttl_expiry_sends_time_exceeded(void **state)
{
	uint8_t buf[256], orig[256];
	size_t len;
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;

	learn_client();
	len = h_build_udp(orig, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10", 1,
			  30, false);
	memcpy(buf, orig, len);
	h_send(&H, H_IN, buf, len);
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT), 0);
	m = h_recv(&H, H_IN);
	assert_non_null(m);
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr,
					   &h_client_mac));
	ip = h_ipv4(m);
	assert_int_equal(ip->next_proto_id, IPPROTO_ICMP);
	assert_int_equal(ip->src_addr, h_ip("198.18.1.1"));
	assert_int_equal(ip->dst_addr, h_ip("198.18.1.10"));
	assert_true(h_ipv4_cksum_ok(ip));
	assert_true(h_l4_cksum_ok(ip));
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	assert_int_equal(icmp->icmp_type, ICMP_TIME_EXCEEDED);
	assert_int_equal(icmp->icmp_code, 0);
	/* The whole original datagram is quoted (it is under 548 bytes). */
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 8 + len - 14);
	assert_memory_equal(icmp + 1, orig + 14, len - 14);
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_DROP_TTL_EXCEEDED), 1);
	assert_int_equal(h_counter(&H, DP_ICMP_TIME_EXCEEDED), 1);
}

static void
test_no_route_sends_net_unreachable(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct rte_icmp_hdr *icmp;

	learn_client();
	h_send(&H, H_IN, buf,
	       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "198.19.255.1", 64,
			   30, false));
	h_pump(&H);
	m = h_recv(&H, H_IN);
	assert_non_null(m);
	icmp = (struct rte_icmp_hdr *)(h_ipv4(m) + 1);
	assert_int_equal(icmp->icmp_type, ICMP_DEST_UNREACH);
	assert_int_equal(icmp->icmp_code, ICMP_CODE_NET_UNREACH);
	assert_true(h_l4_cksum_ok(h_ipv4(m)));
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_DROP_NO_ROUTE), 1);
	assert_int_equal(h_counter(&H, DP_ICMP_NET_UNREACH), 1);
}

static void
test_frag_needed_when_df_and_too_big(void **state)
{
	uint8_t buf[1600];
	struct rte_mbuf *m;
	struct rte_icmp_hdr *icmp;

	learn_client();
	learn_server();
	/* 1450-byte datagram, outside MTU 1400, DF set */
	h_send(&H, H_IN, buf,
	       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10", 64,
			   1450 - 28, true));
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT), 0);
	m = h_recv(&H, H_IN);
	assert_non_null(m);
	icmp = (struct rte_icmp_hdr *)(h_ipv4(m) + 1);
	assert_int_equal(icmp->icmp_type, ICMP_DEST_UNREACH);
	assert_int_equal(icmp->icmp_code, ICMP_CODE_FRAG_NEEDED);
	assert_int_equal(rte_be_to_cpu_16(icmp->icmp_seq_nb), 1400); /* RFC 1191 next-hop MTU */
	/* Quote capped so the error is at most 576 bytes (RFC 1812 4.3.2.3). */
	assert_int_equal(rte_be_to_cpu_16(h_ipv4(m)->total_length), ICMP_ERROR_MAX_LEN);
	assert_true(h_l4_cksum_ok(h_ipv4(m)));
	rte_pktmbuf_free(m);

	/* Without DF: dropped, counted, nothing sent. */
	h_send(&H, H_IN, buf,
	       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10", 64,
			   1450 - 28, false));
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT) + h_pending(&H, H_IN), 0);
	assert_int_equal(h_counter(&H, DP_DROP_MTU), 2);
	assert_int_equal(h_counter(&H, DP_ICMP_FRAG_NEEDED), 1);
}

static void
test_arp_answers_own_and_frontend_addresses(void **state)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	const char *targets[] = { "203.0.113.1", "192.0.2.10", "192.0.2.29" };
	uint8_t buf[128];

	for (unsigned i = 0; i < 3; i++) {
		struct rte_mbuf *m;
		struct rte_arp_hdr *arp;

		h_send(&H, H_OUT, buf,
		       h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_server_mac, &bcast, "203.0.113.10",
				   targets[i]));
		h_pump(&H);
		m = h_recv(&H, H_OUT);
		assert_non_null(m);
		arp = rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
		assert_int_equal(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REPLY);
		assert_int_equal(arp->arp_data.arp_sip, h_ip(targets[i]));
		assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_sha, our_mac(H_OUT)));
		assert_int_equal(arp->arp_data.arp_tip, h_ip("203.0.113.10"));
		assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_tha, &h_server_mac));
		assert_true(rte_is_same_ether_addr(
			&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &h_server_mac));
		rte_pktmbuf_free(m);
	}
	/* Frontend IPs belong to the outside: not answered on the inside. */
	h_send(&H, H_IN, buf,
	       h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_client_mac, &bcast, "198.18.1.10",
			   "192.0.2.10"));
	/* Nor anybody else's address. */
	h_send(&H, H_OUT, buf,
	       h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_server_mac, &bcast, "203.0.113.10",
			   "203.0.113.99"));
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_IN) + h_pending(&H, H_OUT), 0);
	assert_int_equal(h_counter(&H, DP_ARP_REPLIES_TX), 3);
	assert_int_equal(h_counter(&H, DP_DROP_ARP_NOT_US), 2);
}

static void
test_echo_to_own_addresses_answered(void **state)
{
	const char *targets[] = { "203.0.113.1", "192.0.2.15" };
	uint8_t buf[256];

	for (unsigned i = 0; i < 2; i++) {
		struct rte_mbuf *m;
		struct rte_ipv4_hdr *ip;
		struct rte_icmp_hdr *icmp;

		h_send(&H, H_OUT, buf,
		       h_build_icmp_echo(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10",
					 targets[i], 77, (uint16_t)i));
		h_pump(&H);
		m = h_recv(&H, H_OUT);
		assert_non_null(m);
		ip = h_ipv4(m);
		icmp = (struct rte_icmp_hdr *)(ip + 1);
		assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
		assert_int_equal(rte_be_to_cpu_16(icmp->icmp_ident), 77);
		assert_int_equal(ip->src_addr, h_ip(targets[i]));
		assert_int_equal(ip->dst_addr, h_ip("203.0.113.10"));
		assert_true(h_ipv4_cksum_ok(ip));
		assert_true(h_l4_cksum_ok(ip));
		assert_true(rte_is_same_ether_addr(
			&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr, &h_server_mac));
		rte_pktmbuf_free(m);
	}
	assert_int_equal(h_counter(&H, DP_ICMP_ECHO_REPLIED), 2);
}

static void
test_padding_is_trimmed(void **state)
{
	uint8_t buf[128];
	size_t len;
	struct rte_mbuf *m;

	learn_server();
	len = h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10", 64, 0,
			  false);
	memset(buf + len, 0xee, 60 - len); /* Ethernet pads to 60 bytes */
	h_send(&H, H_IN, buf, 60);
	h_pump(&H);
	m = h_recv(&H, H_OUT);
	assert_non_null(m);
	assert_int_equal(m->pkt_len, len);
	rte_pktmbuf_free(m);
}

/* Each malformed frame: nothing leaves, exactly its counter moves. */
struct bad_case {
	const char *what;
	enum dp_counter counter;
	void (*mutate)(uint8_t *buf, size_t *len);
};

static void m_eth_short(uint8_t *b, size_t *l) { (void)b; *l = 10; }
static void m_ip_short(uint8_t *b, size_t *l) { (void)b; *l = 14 + 12; }
static void m_version(uint8_t *b, size_t *l) { (void)l; b[14] = 0x65; }
static void m_ihl_small(uint8_t *b, size_t *l) { (void)l; b[14] = 0x44; }
static void m_ihl_beyond(uint8_t *b, size_t *l) { b[14] = 0x4f; *l = 14 + 40; }
static void m_cksum(uint8_t *b, size_t *l) { (void)l; b[24] ^= 0x5a; }
static void
fix_cksum(uint8_t *b)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + 14);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}
static void m_totlen_big(uint8_t *b, size_t *l) { (void)l; b[16] = 0x05; b[17] = 0xdc; fix_cksum(b); }
static void m_totlen_small(uint8_t *b, size_t *l) { (void)l; b[16] = 0; b[17] = 12; fix_cksum(b); }
static void m_src_loopback(uint8_t *b, size_t *l) { (void)l; b[26] = 127; fix_cksum(b); }
static void m_src_multicast(uint8_t *b, size_t *l) { (void)l; b[26] = 224; fix_cksum(b); }
static void m_dst_zero(uint8_t *b, size_t *l) { (void)l; b[30] = 0; fix_cksum(b); }
static void m_dst_multicast(uint8_t *b, size_t *l) { (void)l; b[30] = 239; fix_cksum(b); }
static void m_dst_bcast(uint8_t *b, size_t *l) { (void)l; memset(b + 30, 0xff, 4); fix_cksum(b); }
static void m_dst_dir_bcast(uint8_t *b, size_t *l) { (void)l; b[30] = 203; b[31] = 0; b[32] = 113; b[33] = 255; fix_cksum(b); }
static void
m_options(uint8_t *b, size_t *l)
{
	/* IHL 6 with one NOP option word; total length grows by 4. */
	memmove(b + 38, b + 34, *l - 34);
	memset(b + 34, 1, 4);
	*l += 4;
	b[14] = 0x46;
	b[17] = (uint8_t)(b[17] + 4);
	b[14 + 10] = b[14 + 11] = 0;
	{
		uint16_t c = (uint16_t)~rte_raw_cksum(b + 14, 24);
		memcpy(b + 24, &c, 2);
	}
}
static void m_ipv6(uint8_t *b, size_t *l) { (void)l; b[12] = 0x86; b[13] = 0xdd; }
static void m_vlan(uint8_t *b, size_t *l) { (void)l; b[12] = 0x81; b[13] = 0x00; }
static void m_other_host(uint8_t *b, size_t *l) { (void)l; b[5] ^= 0x01; }
static void m_l2_multicast(uint8_t *b, size_t *l) { (void)l; b[0] = 0x01; b[1] = 0x00; b[2] = 0x5e; }

static void
test_malformed_frames_dropped_and_counted(void **state)
{
	static const struct bad_case cases[] = {
		{ "truncated Ethernet", DP_DROP_ETH_SHORT, m_eth_short },
		{ "truncated IPv4", DP_DROP_IP_SHORT, m_ip_short },
		{ "IP version 6 in IPv4 frame", DP_DROP_IP_VERSION, m_version },
		{ "IHL 4", DP_DROP_IP_IHL, m_ihl_small },
		{ "IHL beyond frame", DP_DROP_IP_IHL, m_ihl_beyond },
		{ "bad header checksum", DP_DROP_IP_CKSUM, m_cksum },
		{ "total length beyond frame", DP_DROP_IP_TOTAL_LEN, m_totlen_big },
		{ "total length below header", DP_DROP_IP_TOTAL_LEN, m_totlen_small },
		{ "source 127/8", DP_DROP_IP_SRC_INVALID, m_src_loopback },
		{ "source multicast", DP_DROP_IP_SRC_INVALID, m_src_multicast },
		{ "destination 0/8", DP_DROP_IP_DST_INVALID, m_dst_zero },
		{ "destination multicast", DP_DROP_IP_MULTICAST, m_dst_multicast },
		{ "limited broadcast", DP_DROP_IP_BROADCAST, m_dst_bcast },
		{ "directed broadcast", DP_DROP_IP_BROADCAST, m_dst_dir_bcast },
		{ "IP options", DP_DROP_IP_OPTIONS, m_options },
		{ "IPv6 ethertype", DP_DROP_IPV6, m_ipv6 },
		{ "VLAN ethertype", DP_DROP_ETHERTYPE, m_vlan },
		{ "unicast for another host", DP_DROP_ETH_OTHER_HOST, m_other_host },
		{ "L2 multicast", DP_DROP_ETH_MULTICAST, m_l2_multicast },
	};

	learn_server();
	learn_client();
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[256];
		size_t len = h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10",
					 "203.0.113.10", 64, 40, false);
		uint64_t before = h_counter(&H, cases[i].counter);

		cases[i].mutate(buf, &len);
		h_send(&H, H_IN, buf, len);
		h_pump(&H);
		if (h_pending(&H, H_OUT) + h_pending(&H, H_IN) != 0 ||
		    h_counter(&H, cases[i].counter) != before + 1)
			fail_msg("case \"%s\": out %u/%u, counter %s %lu -> %lu", cases[i].what,
				 h_pending(&H, H_IN), h_pending(&H, H_OUT),
				 dp_counter_name(cases[i].counter), (unsigned long)before,
				 (unsigned long)h_counter(&H, cases[i].counter));
	}
	/* The appliance still forwards afterwards. */
	{
		uint8_t buf[256];
		struct rte_mbuf *m;

		h_send(&H, H_IN, buf,
		       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10",
				   "203.0.113.10", 64, 40, false));
		h_pump(&H);
		m = h_recv(&H, H_OUT);
		assert_non_null(m);
		rte_pktmbuf_free(m);
	}
}

static void
test_no_icmp_error_about_icmp_error(void **state)
{
	uint8_t buf[256];
	struct rte_ipv4_hdr *ip;
	struct rte_icmp_hdr *icmp;
	size_t len;

	learn_client();
	/* A time-exceeded message with TTL 1 crossing us, whose payload is
	 * not an IPv4 header: dropped as an unusable error, and no ICMP error
	 * about it. Errors about tracked flows are in test_nat.c. */
	len = h_build_icmp_echo(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10",
				1, 1);
	ip = (struct rte_ipv4_hdr *)(buf + 14);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	icmp->icmp_type = ICMP_TIME_EXCEEDED;
	ip->time_to_live = 1;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	h_send(&H, H_IN, buf, len);
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_IN) + h_pending(&H, H_OUT), 0);
	assert_int_equal(h_counter(&H, DP_DROP_ICMP_ERROR_INVALID), 1);
	assert_int_equal(h_counter(&H, DP_ICMP_TIME_EXCEEDED), 0);
}

static void
test_unanswered_arp_drops_held_packets(void **state)
{
	uint8_t buf[256];

	h_send(&H, H_IN, buf,
	       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.77", 64,
			   10, false));
	h_pump(&H);
	assert_int_equal(h_counter(&H, DP_ARP_REQUESTS_TX), 1);
	/* The held queue is bounded: NEIGH_HOLD_MAX wait, the rest drop. */
	for (unsigned i = 0; i < 20; i++)
		h_send(&H, H_IN, buf,
		       h_build_udp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10",
				   "203.0.113.77", 64, 10, false));
	h_pump(&H);
	assert_int_equal(h_counter(&H, DP_DROP_NEIGH_QUEUE_FULL), 21 - 8);
	/* Requests are rate limited: still one on the wire. */
	assert_int_equal(h_counter(&H, DP_ARP_REQUESTS_TX), 1);
}

static void
test_gratuitous_arp_at_start(void **state)
{
	unsigned n_out;

	ctl_announce(&H.ctl);
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_IN), 1);
	n_out = h_pending(&H, H_OUT);
	assert_int_equal(n_out, 1 + 20);
	assert_int_equal(h_counter(&H, DP_ARP_GRATUITOUS_TX), 22);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward_resolves_then_rewrites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static_route_uses_gateway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_expiry_sends_time_exceeded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_route_sends_net_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frag_needed_when_df_and_too_big, setup_mtu1400,
						teardown),
		cmocka_unit_test_setup_teardown(test_arp_answers_own_and_frontend_addresses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_echo_to_own_addresses_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_padding_is_trimmed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_frames_dropped_and_counted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_icmp_error_about_icmp_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unanswered_arp_drops_held_packets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gratuitous_arp_at_start, setup, teardown),
	};

	return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
