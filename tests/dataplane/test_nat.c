/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection tracking, policy and NAT through the real worker loop over
 * net_ring ports: every rewritten field and checksum is checked against a
 * full recomputation, session states and timeouts with the worker clock
 * moved by the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "dataplane/ct.h"
#include "dataplane/icmp.h"
#include "dataplane/snat.h"
#include "tests/dataplane/harness.h"

static struct harness H;

static const char dnat_policy[] =
	"rule_collection_groups:\n"
	"  - name: g\n"
	"    priority: 100\n"
	"    rule_collections:\n"
	"      - name: publish\n"
	"        kind: dnat\n"
	"        priority: 100\n"
	"        action: dnat\n"
	"        rules:\n"
	"          - name: store-front\n"
	"            protocols: [TCP]\n"
	"            source_addresses: [\"*\"]\n"
	"            destination_addresses: [192.0.2.10]\n"
	"            destination_ports: [\"80\"]\n"
	"            translated_address: 198.18.1.100\n"
	"            translated_port: \"8080\"\n"
	"      - name: deny-5002\n"
	"        kind: network\n"
	"        priority: 200\n"
	"        action: deny\n"
	"        rules:\n"
	"          - name: no5002\n"
	"            protocols: [UDP]\n"
	"            source_addresses: [\"*\"]\n"
	"            destination_addresses: [\"*\"]\n"
	"            destination_ports: [\"5002\"]\n"
	"      - name: out\n"
	"        kind: network\n"
	"        priority: 300\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: udp-tcp-icmp\n"
	"            protocols: [UDP, TCP, ICMP]\n"
	"            source_addresses: [198.18.1.0/24]\n"
	"            destination_addresses: [203.0.113.0/24, 198.51.100.0/24]\n"
	"            destination_ports: [\"1-65535\"]\n"
	"      - name: web\n"
	"        kind: application\n"
	"        priority: 400\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: example\n"
	"            source_addresses: [\"*\"]\n"
	"            protocols: [\"https:443\"]\n"
	"            target_fqdns: [www.example.com]\n";

static int
start(void **state, const char *policy, unsigned workers)
{
	h_default_config(&H.cfg);
	H.cfg.n_no_snat = 0; /* SNAT everything going out */
	H.cfg.workers = workers;
	H.policy = policy;
	*state = &H;
	return h_start(&H);
}

static int setup(void **state) { return start(state, dnat_policy, 1); }
static int setup_two_workers(void **state) { return start(state, dnat_policy, 2); }

static int
setup_eim(void **state)
{
	h_default_config(&H.cfg);
	H.cfg.n_no_snat = 0;
	H.cfg.eim = true;
	H.policy = dnat_policy;
	*state = &H;
	return h_start(&H);
}

static int
setup_no_snat(void **state)
{
	h_default_config(&H.cfg);
	H.cfg.no_snat[0] = (struct config_route){ .prefix = 0xc6336400, .prefix_len = 24 };
	H.cfg.n_no_snat = 1; /* 198.51.100.0/24 keeps its source */
	H.policy = dnat_policy;
	*state = &H;
	return h_start(&H);
}

static int
setup_one_ip(void **state)
{
	h_default_config(&H.cfg);
	H.cfg.n_no_snat = 0;
	H.cfg.n_frontend_ips = 1;
	H.cfg.sessions_per_worker = 70000;
	H.cfg.mbufs = 8191;
	H.policy = dnat_policy;
	*state = &H;
	return h_start(&H);
}

static int
teardown(void **state)
{
	h_stop(&H);
	H.policy = NULL;
	return 0;
}

static const struct rte_ether_addr *
our_mac(int iface)
{
	return &H.ctl.dp.ifaces[iface].mac;
}

static void
resolve_both(void)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	uint8_t buf[128];

	/* Both neighbours ARP for us first: learned (RFC 826 merge). */
	h_send(&H, H_IN, buf, h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_client_mac, &bcast,
					  "198.18.1.10", "198.18.1.1"));
	h_send(&H, H_OUT, buf, h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_server_mac, &bcast,
					   "203.0.113.10", "203.0.113.1"));
	h_pump(&H);
	rte_pktmbuf_free(h_recv(&H, H_IN));
	rte_pktmbuf_free(h_recv(&H, H_OUT));
}

/* A neighbour that ARPs for us is learned (RFC 826 merge). */
static void
learn_host(int iface, const char *ip, const struct rte_ether_addr *mac)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	uint8_t buf[128];

	h_send(&H, iface, buf, h_build_arp(buf, RTE_ARP_OP_REQUEST, mac, &bcast, ip,
					   iface == H_IN ? "198.18.1.1" : "203.0.113.1"));
	h_pump(&H);
	rte_pktmbuf_free(h_recv(&H, iface));
}

/* Send one frame and take the one frame that must come out of `out_if`. */
static struct rte_mbuf *
through(int in_if, const uint8_t *buf, size_t len, int out_if)
{
	struct rte_mbuf *m;

	h_send(&H, in_if, buf, len);
	h_pump(&H);
	m = h_recv(&H, out_if);
	if (m == NULL)
		fail_msg("nothing came out of %s", out_if == H_IN ? "inside" : "outside");
	assert_int_equal(h_pending(&H, H_IN) + h_pending(&H, H_OUT), 0);
	if (!h_ipv4_cksum_ok(h_ipv4(m)) || !h_l4_cksum_ok(h_ipv4(m)))
		rte_pktmbuf_dump(stderr, m, 80);
	assert_true(h_ipv4_cksum_ok(h_ipv4(m)));
	assert_true(h_l4_cksum_ok(h_ipv4(m)));
	return m;
}

static void
nothing_out(void)
{
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_IN) + h_pending(&H, H_OUT), 0);
}

static bool
is_frontend(rte_be32_t a)
{
	uint32_t h = rte_be_to_cpu_32(a);

	return h >= 0xc000020a && h <= 0xc000021d; /* 192.0.2.10 .. 192.0.2.29 */
}

static void
test_udp_snat_and_reply(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct rte_udp_hdr *udp;
	rte_be32_t fip;
	rte_be16_t fport;
	char fips[16];
	size_t len;

	resolve_both();
	len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40000,
				"203.0.113.10", 5001, 64);
	m = through(H_IN, buf, len, H_OUT);
	udp = h_l4(m);
	fip = h_ipv4(m)->src_addr;
	fport = udp->src_port;
	assert_true(is_frontend(fip));
	assert_true(rte_be_to_cpu_16(fport) >= SNAT_PORT_FIRST);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("203.0.113.10"));
	assert_int_equal(rte_be_to_cpu_16(udp->dst_port), 5001);
	assert_int_equal(h_ipv4(m)->time_to_live, 63);
	/* Paired pooling: the client's first-choice frontend IP. */
	assert_int_equal(rte_be_to_cpu_32(fip),
			 H.cfg.frontend_ips[snat_paired_index(H.ctl.dp.workers[0]->snat_out,
							      rte_be_to_cpu_32(h_ip("198.18.1.10")))]);
	rte_pktmbuf_free(m);

	/* The server's reply comes back to the client untranslated. */
	h_ip_str(fip, fips);
	len = h_build_udp_ports(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 5001, fips,
				rte_be_to_cpu_16(fport), 32);
	m = through(H_OUT, buf, len, H_IN);
	udp = h_l4(m);
	assert_int_equal(h_ipv4(m)->src_addr, h_ip("203.0.113.10"));
	assert_int_equal(rte_be_to_cpu_16(udp->src_port), 5001);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("198.18.1.10"));
	assert_int_equal(rte_be_to_cpu_16(udp->dst_port), 40000);
	assert_true(rte_is_same_ether_addr(&rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->dst_addr,
					   &h_client_mac));
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_CT_CREATED), 1);
	assert_int_equal(h_counter(&H, DP_SNAT_ALLOCATED), 1);

	/* An unsolicited packet to another port of that frontend IP: no
	 * session, handed to the control thread, which does not serve it. */
	len = h_build_udp_ports(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 5001, fips,
				(uint16_t)(rte_be_to_cpu_16(fport) ^ 1), 32);
	h_send(&H, H_OUT, buf, len);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_LOCAL_UNSUPPORTED), 1);
}

static void
test_paired_pooling_spreads_hosts(void **state)
{
	const char *hosts[] = { "198.18.1.10", "198.18.1.11", "198.18.1.12", "198.18.1.13",
				"198.18.1.14", "198.18.1.15", "198.18.1.16", "198.18.1.17" };
	uint32_t seen[8];
	unsigned distinct = 0;

	resolve_both();
	for (unsigned i = 0; i < 8; i++) {
		for (unsigned f = 0; f < 4; f++) {
			uint8_t buf[256];
			size_t len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), hosts[i],
						       (uint16_t)(30000 + f), "203.0.113.10", 53, 8);
			struct rte_mbuf *m = through(H_IN, buf, len, H_OUT);
			uint32_t fip = rte_be_to_cpu_32(h_ipv4(m)->src_addr);
			unsigned want = snat_paired_index(H.ctl.dp.workers[0]->snat_out,
							  rte_be_to_cpu_32(h_ip(hosts[i])));

			/* every flow of a host on its paired frontend IP */
			assert_int_equal(fip, H.cfg.frontend_ips[want]);
			rte_pktmbuf_free(m);
			if (f == 0)
				seen[i] = fip;
		}
	}
	for (unsigned i = 0; i < 8; i++) {
		bool dup = false;

		for (unsigned j = 0; j < i; j++)
			dup = dup || seen[j] == seen[i];
		distinct += !dup;
	}
	assert_true(distinct >= 3); /* 8 hosts over 20 IPs do not share one */
}

static void
test_tcp_states_and_translation(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct rte_tcp_hdr *tcp;
	struct ct_session *s;
	struct ct_key k = { 0 };
	enum ct_dir dir;
	char fips[16];
	uint16_t fport;
	size_t len;

	resolve_both();
	/* A mid-flow segment opens nothing. */
	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 45000, "203.0.113.10",
			  443, RTE_TCP_ACK_FLAG, 10);
	h_send(&H, H_IN, buf, len);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_NO_SESSION), 1);

	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 45000, "203.0.113.10",
			  443, RTE_TCP_SYN_FLAG, 0);
	m = through(H_IN, buf, len, H_OUT);
	tcp = h_l4(m);
	assert_true(is_frontend(h_ipv4(m)->src_addr));
	fport = rte_be_to_cpu_16(tcp->src_port);
	h_ip_str(h_ipv4(m)->src_addr, fips);
	rte_pktmbuf_free(m);

	k.src = h_ip("198.18.1.10");
	k.dst = h_ip("203.0.113.10");
	k.sport = RTE_BE16(45000);
	k.dport = RTE_BE16(443);
	k.proto = IPPROTO_TCP;
	k.iface = DP_IFACE_INSIDE;
	s = ct_lookup(H.ctl.dp.workers[0]->ct, &k, &dir);
	assert_non_null(s);
	assert_int_equal(dir, CT_DIR_FWD);
	assert_int_equal(s->state, CT_TCP_SYN_SENT);

	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 443, fips, fport,
			  RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
	m = through(H_OUT, buf, len, H_IN);
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("198.18.1.10"));
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), 45000);
	rte_pktmbuf_free(m);
	assert_int_equal(s->state, CT_TCP_SYN_RECV);

	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 45000, "203.0.113.10",
			  443, RTE_TCP_ACK_FLAG, 100);
	rte_pktmbuf_free(through(H_IN, buf, len, H_OUT));
	assert_int_equal(s->state, CT_TCP_ESTABLISHED);
	assert_int_equal(s->expire_s - H.ctl.dp.workers[0]->now_s, 7440);

	/* SYN+FIN fits no state: dropped, state kept. */
	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 45000, "203.0.113.10",
			  443, RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG, 0);
	h_send(&H, H_IN, buf, len);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_TCP_INVALID), 1);
	assert_int_equal(s->state, CT_TCP_ESTABLISHED);

	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 45000, "203.0.113.10",
			  443, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, 0);
	rte_pktmbuf_free(through(H_IN, buf, len, H_OUT));
	assert_int_equal(s->state, CT_TCP_FIN_WAIT);
	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 443, fips, fport,
			  RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, 0);
	rte_pktmbuf_free(through(H_OUT, buf, len, H_IN));
	assert_int_equal(s->state, CT_TCP_TIME_WAIT);
	assert_int_equal(s->expire_s - H.ctl.dp.workers[0]->now_s, 240);

	/* Transitory timeout, then the RFC 6888 hold-down, then gone. */
	h_advance(&H, 241);
	h_pump(&H);
	assert_int_equal(s->state, CT_HOLD);
	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 443, fips, fport,
			  RTE_TCP_ACK_FLAG, 0);
	h_send(&H, H_OUT, buf, len);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_SESSION_CLOSED), 1);
	h_advance(&H, 121);
	h_pump(&H);
	assert_int_equal(s->state, CT_FREE);
	assert_int_equal(h_counter(&H, DP_CT_FREED), 1);
	assert_int_equal(ct_in_use(H.ctl.dp.workers[0]->ct), 0);
}

static void
test_tcp_simultaneous_open_and_rst(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct ct_session *s;
	struct ct_key k = { 0 };
	enum ct_dir dir;
	char fips[16];
	uint16_t fport;
	size_t len;

	resolve_both();
	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 46000, "203.0.113.10",
			  7000, RTE_TCP_SYN_FLAG, 0);
	m = through(H_IN, buf, len, H_OUT);
	fport = rte_be_to_cpu_16(((struct rte_tcp_hdr *)h_l4(m))->src_port);
	h_ip_str(h_ipv4(m)->src_addr, fips);
	rte_pktmbuf_free(m);
	k.src = h_ip("198.18.1.10");
	k.dst = h_ip("203.0.113.10");
	k.sport = RTE_BE16(46000);
	k.dport = RTE_BE16(7000);
	k.proto = IPPROTO_TCP;
	s = ct_lookup(H.ctl.dp.workers[0]->ct, &k, &dir);
	assert_non_null(s);

	/* RFC 5382 REQ-2: the peer's own SYN crosses ours. */
	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 7000, fips, fport,
			  RTE_TCP_SYN_FLAG, 0);
	rte_pktmbuf_free(through(H_OUT, buf, len, H_IN));
	assert_int_equal(s->state, CT_TCP_SYN_SENT2);
	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 46000, "203.0.113.10",
			  7000, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
	rte_pktmbuf_free(through(H_IN, buf, len, H_OUT));
	assert_int_equal(s->state, CT_TCP_SYN_RECV);
	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 7000, fips, fport,
			  RTE_TCP_ACK_FLAG, 0);
	rte_pktmbuf_free(through(H_OUT, buf, len, H_IN));
	assert_int_equal(s->state, CT_TCP_ESTABLISHED);

	/* RST: translated and passed, state kept 4 minutes (RFC 7857). */
	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 7000, fips, fport,
			  RTE_TCP_RST_FLAG, 0);
	m = through(H_OUT, buf, len, H_IN);
	assert_int_equal(((struct rte_tcp_hdr *)h_l4(m))->tcp_flags, RTE_TCP_RST_FLAG);
	rte_pktmbuf_free(m);
	assert_int_equal(s->state, CT_TCP_CLOSE);
	assert_int_equal(s->expire_s - H.ctl.dp.workers[0]->now_s, 240);
}

static void
test_icmp_echo_identifier_translated(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct rte_icmp_hdr *icmp;
	uint16_t id;
	char fips[16];
	size_t len;

	resolve_both();
	len = h_build_icmp_echo(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", "203.0.113.10",
				777, 1);
	m = through(H_IN, buf, len, H_OUT);
	icmp = h_l4(m);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REQUEST);
	assert_true(is_frontend(h_ipv4(m)->src_addr));
	id = rte_be_to_cpu_16(icmp->icmp_ident);
	assert_true(id >= SNAT_PORT_FIRST);
	h_ip_str(h_ipv4(m)->src_addr, fips);
	rte_pktmbuf_free(m);

	/* The reply: identifier and destination restored. */
	len = h_build_icmp_echo(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", fips, id, 1);
	icmp = (struct rte_icmp_hdr *)(buf + 14 + 20);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + 56);
	m = through(H_OUT, buf, len, H_IN);
	icmp = h_l4(m);
	assert_int_equal(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_be_to_cpu_16(icmp->icmp_ident), 777);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("198.18.1.10"));
	rte_pktmbuf_free(m);
}

/*
 * RFC 5508: an outside router's "fragmentation needed" about a translated
 * packet reaches the inside host with the embedded header translated back
 * and every checksum right: path MTU discovery works through the NAT.
 */
static void
test_icmp_error_translated_back(void **state)
{
	uint8_t buf[256], err[600];
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip, *inner;
	struct rte_icmp_hdr *icmp;
	struct rte_udp_hdr *iudp;
	size_t len, qlen;

	resolve_both();
	len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40000,
				"198.51.100.10", 5001, 64);
	m = through(H_IN, buf, len, H_OUT);
	qlen = m->pkt_len - 14;

	/* Build the router's error about the packet as it left us. */
	memset(err, 0, sizeof(err));
	memcpy(err, rte_pktmbuf_mtod(m, uint8_t *), 14);
	rte_ether_addr_copy(our_mac(H_OUT), &((struct rte_ether_hdr *)err)->dst_addr);
	rte_ether_addr_copy(&h_server_mac, &((struct rte_ether_hdr *)err)->src_addr);
	ip = (struct rte_ipv4_hdr *)(err + 14);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	memcpy(icmp + 1, h_ipv4(m), qlen);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + qlen)),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_ICMP,
		.src_addr = h_ip("203.0.113.10"), /* the router on the path */
		.dst_addr = h_ipv4(m)->src_addr,  /* our frontend IP */
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = ICMP_DEST_UNREACH;
	icmp->icmp_code = ICMP_CODE_FRAG_NEEDED;
	icmp->icmp_seq_nb = RTE_BE16(1280);
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + qlen);
	rte_pktmbuf_free(m);

	m = through(H_OUT, err, 14 + 20 + 8 + qlen, H_IN);
	ip = h_ipv4(m);
	icmp = h_l4(m);
	inner = (struct rte_ipv4_hdr *)(icmp + 1);
	iudp = (struct rte_udp_hdr *)(inner + 1);
	assert_int_equal(ip->dst_addr, h_ip("198.18.1.10"));
	assert_int_equal(ip->src_addr, h_ip("203.0.113.10"));
	assert_int_equal(icmp->icmp_type, ICMP_DEST_UNREACH);
	assert_int_equal(icmp->icmp_code, ICMP_CODE_FRAG_NEEDED);
	assert_int_equal(rte_be_to_cpu_16(icmp->icmp_seq_nb), 1280);
	/* the embedded packet is what the client sent (TTL aside) */
	assert_int_equal(inner->src_addr, h_ip("198.18.1.10"));
	assert_int_equal(inner->dst_addr, h_ip("198.51.100.10"));
	assert_int_equal(rte_be_to_cpu_16(iudp->src_port), 40000);
	assert_int_equal(rte_be_to_cpu_16(iudp->dst_port), 5001);
	assert_true(h_ipv4_cksum_ok(inner));
	assert_true(h_l4_cksum_ok(inner));
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_ICMP_ERR_TRANSLATED), 1);

	/* The same error about a flow we never saw is dropped. */
	{
		struct rte_udp_hdr *u = (struct rte_udp_hdr *)(err + 14 + 20 + 8 + 20);

		u->src_port ^= RTE_BE16(1);
		icmp = (struct rte_icmp_hdr *)(err + 14 + 20);
		icmp->icmp_cksum = 0;
		icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + qlen);
		h_send(&H, H_OUT, err, 14 + 20 + 8 + qlen);
		nothing_out();
		assert_int_equal(h_counter(&H, DP_DROP_ICMP_ERROR_NO_SESSION), 1);
	}
}

/*
 * The other direction: the inside host answers a reply with "port
 * unreachable"; the error leaves with our frontend IP as its source and the
 * embedded header as the server sent it (RFC 5508 REQ-4), nothing inside
 * showing.
 */
static void
test_icmp_error_from_inside_translated_out(void **state)
{
	uint8_t buf[256], err[600];
	struct rte_mbuf *m;
	struct rte_ipv4_hdr *ip, *inner;
	struct rte_icmp_hdr *icmp;
	struct rte_udp_hdr *iudp;
	rte_be32_t fip;
	uint16_t fport;
	char fips[16];
	size_t len, qlen;

	resolve_both();
	len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40000,
				"203.0.113.10", 5001, 16);
	m = through(H_IN, buf, len, H_OUT);
	fip = h_ipv4(m)->src_addr;
	fport = rte_be_to_cpu_16(((struct rte_udp_hdr *)h_l4(m))->src_port);
	h_ip_str(fip, fips);
	rte_pktmbuf_free(m);

	/* the server's reply, as delivered to the client */
	len = h_build_udp_ports(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 5001, fips,
				fport, 16);
	m = through(H_OUT, buf, len, H_IN);
	qlen = m->pkt_len - 14;

	memset(err, 0, sizeof(err));
	rte_ether_addr_copy(our_mac(H_IN), &((struct rte_ether_hdr *)err)->dst_addr);
	rte_ether_addr_copy(&h_client_mac, &((struct rte_ether_hdr *)err)->src_addr);
	((struct rte_ether_hdr *)err)->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(err + 14);
	icmp = (struct rte_icmp_hdr *)(ip + 1);
	memcpy(icmp + 1, h_ipv4(m), qlen);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + qlen)),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_ICMP,
		.src_addr = h_ip("198.18.1.10"),
		.dst_addr = h_ip("203.0.113.10"),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = ICMP_DEST_UNREACH;
	icmp->icmp_code = 3; /* port unreachable */
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + qlen);
	rte_pktmbuf_free(m);

	m = through(H_IN, err, 14 + 20 + 8 + qlen, H_OUT);
	ip = h_ipv4(m);
	icmp = h_l4(m);
	inner = (struct rte_ipv4_hdr *)(icmp + 1);
	iudp = (struct rte_udp_hdr *)(inner + 1);
	assert_int_equal(ip->src_addr, fip);
	assert_int_equal(ip->dst_addr, h_ip("203.0.113.10"));
	assert_int_equal(icmp->icmp_code, 3);
	assert_int_equal(inner->src_addr, h_ip("203.0.113.10"));
	assert_int_equal(inner->dst_addr, fip);
	assert_int_equal(rte_be_to_cpu_16(iudp->src_port), 5001);
	assert_int_equal(rte_be_to_cpu_16(iudp->dst_port), fport);
	assert_true(h_ipv4_cksum_ok(inner));
	assert_true(h_l4_cksum_ok(inner));
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_ICMP_ERR_TRANSLATED), 1);
}

static void
test_dnat_inbound_and_reply(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct rte_tcp_hdr *tcp;
	uint16_t isport;
	size_t len;

	resolve_both();
	learn_host(H_OUT, "203.0.113.50", &h_server_mac);
	/* The backend is resolved like any next hop: answer the ARP. */
	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.50", 5555, "192.0.2.10",
			  80, RTE_TCP_SYN_FLAG, 0);
	h_send(&H, H_OUT, buf, len);
	h_pump(&H);
	h_answer_arp(&H, H_IN, "198.18.1.100", &h_client_mac);
	h_pump(&H);
	m = h_recv(&H, H_IN);
	assert_non_null(m);
	assert_true(h_ipv4_cksum_ok(h_ipv4(m)));
	assert_true(h_l4_cksum_ok(h_ipv4(m)));
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("198.18.1.100"));
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), 8080);
	/* Azure-style: inbound DNAT traffic also SNATed to our inside address */
	assert_int_equal(h_ipv4(m)->src_addr, h_ip("198.18.1.1"));
	isport = rte_be_to_cpu_16(tcp->src_port);
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_DNAT_CREATED), 1);

	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.100", 8080, "198.18.1.1",
			  isport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
	m = through(H_IN, buf, len, H_OUT);
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->src_addr, h_ip("192.0.2.10"));
	assert_int_equal(rte_be_to_cpu_16(tcp->src_port), 80);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("203.0.113.50"));
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), 5555);
	rte_pktmbuf_free(m);

	/* Port 81 on the same frontend IP is not published. */
	len = h_build_tcp(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.50", 5556, "192.0.2.10",
			  81, RTE_TCP_SYN_FLAG, 0);
	h_send(&H, H_OUT, buf, len);
	nothing_out();
}

/* An inside host reaching the published service by its frontend IP. */
static void
test_dnat_hairpin(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct rte_tcp_hdr *tcp;
	uint16_t isport;
	size_t len;

	resolve_both();
	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 47000, "192.0.2.10", 80,
			  RTE_TCP_SYN_FLAG, 0);
	h_send(&H, H_IN, buf, len);
	h_pump(&H);
	h_answer_arp(&H, H_IN, "198.18.1.100", &h_server_mac);
	h_pump(&H);
	m = h_recv(&H, H_IN);
	assert_non_null(m);
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("198.18.1.100"));
	assert_int_equal(h_ipv4(m)->src_addr, h_ip("198.18.1.1"));
	assert_true(h_l4_cksum_ok(h_ipv4(m)));
	isport = rte_be_to_cpu_16(tcp->src_port);
	rte_pktmbuf_free(m);

	len = h_build_tcp(buf, &h_server_mac, our_mac(H_IN), "198.18.1.100", 8080, "198.18.1.1",
			  isport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, 0);
	m = through(H_IN, buf, len, H_IN);
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->src_addr, h_ip("192.0.2.10"));
	assert_int_equal(rte_be_to_cpu_16(tcp->src_port), 80);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip("198.18.1.10"));
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), 47000);
	rte_pktmbuf_free(m);
}

static void
test_policy_verdicts_counted(void **state)
{
	uint8_t buf[256];
	size_t len;

	resolve_both();
	/* a deny rule */
	len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40000,
				"203.0.113.10", 5002, 8);
	h_send(&H, H_IN, buf, len);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_POLICY_DENY), 1);
	/* no rule: a source outside the allowed subnet */
	len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.2.10", 40000,
				"203.0.113.10", 5001, 8);
	h_send(&H, H_IN, buf, len);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_POLICY_DEFAULT), 1);
	/* unsolicited from the outside to an inside host */
	len = h_build_udp_ports(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 5001,
				"198.18.1.10", 40000, 8);
	h_send(&H, H_OUT, buf, len);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_POLICY_DEFAULT), 2);
	assert_int_equal(h_counter(&H, DP_CT_CREATED), 0);
	/* only an application rule could allow it (HTTPS to a name): the
	 * handshake opens, translated, and the flow waits for its SNI
	 * (tests/dataplane/test_inspect.c follows such flows further) */
	len = h_build_tcp(buf, &h_client_mac, our_mac(H_IN), "198.18.2.10", 40000, "203.0.113.10",
			  443, RTE_TCP_SYN_FLAG, 0);
	rte_pktmbuf_free(through(H_IN, buf, len, H_OUT));
	assert_int_equal(h_counter(&H, DP_INSPECT_STARTED), 1);
	assert_int_equal(h_counter(&H, DP_CT_CREATED), 1);
}

/* A policy change stops the sessions the new policy denies at their next
 * packet, and leaves the others alone. */
static void
test_policy_change_revokes_sessions(void **state)
{
	static const char only_5001[] =
		"rule_collection_groups:\n"
		"  - name: g\n"
		"    priority: 100\n"
		"    rule_collections:\n"
		"      - name: out\n"
		"        kind: network\n"
		"        priority: 100\n"
		"        action: allow\n"
		"        rules:\n"
		"          - name: u\n"
		"            protocols: [UDP]\n"
		"            source_addresses: [\"*\"]\n"
		"            destination_addresses: [\"*\"]\n"
		"            destination_ports: [\"5001\"]\n";
	uint8_t a[256], b[256];
	size_t la, lb;
	char err[1024];

	resolve_both();
	la = h_build_udp_ports(a, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40000,
			       "203.0.113.10", 5001, 8);
	lb = h_build_udp_ports(b, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40001,
			       "203.0.113.10", 6001, 8);
	rte_pktmbuf_free(through(H_IN, a, la, H_OUT));
	rte_pktmbuf_free(through(H_IN, b, lb, H_OUT));

	assert_int_equal(ctl_policy_load(&H.ctl, "new.yaml", only_5001, strlen(only_5001), err,
					 sizeof(err)),
			 0);
	assert_int_equal(H.ctl.dp.policy->generation, 2);
	rte_pktmbuf_free(through(H_IN, a, la, H_OUT));
	h_send(&H, H_IN, b, lb);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_POLICY_REVOKED), 1);
	assert_int_equal(h_counter(&H, DP_POLICY_REEVALUATED), 2);

	/* A policy that does not compile changes nothing. */
	assert_int_not_equal(ctl_policy_load(&H.ctl, "bad.yaml", "rule_collection_groups: 7\n",
					     26, err, sizeof(err)),
			     0);
	assert_non_null(strstr(err, "bad.yaml:1:"));
	assert_int_equal(H.ctl.dp.policy->generation, 2);
	rte_pktmbuf_free(through(H_IN, a, la, H_OUT));
	/* the retired policy is freed once the worker has moved on */
	h_pump(&H);
	ctl_policy_reclaim(&H.ctl, false);
	assert_int_equal(H.ctl.n_retired, 0);
}

static void
test_no_snat_range_keeps_source(void **state)
{
	uint8_t buf[256];
	struct rte_mbuf *m;
	size_t len;

	resolve_both();
	len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40000,
				"198.51.100.10", 5001, 8);
	m = through(H_IN, buf, len, H_OUT);
	assert_int_equal(h_ipv4(m)->src_addr, h_ip("198.18.1.10"));
	assert_int_equal(rte_be_to_cpu_16(((struct rte_udp_hdr *)h_l4(m))->src_port), 40000);
	rte_pktmbuf_free(m);
	len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 40000,
				"203.0.113.10", 5001, 8);
	m = through(H_IN, buf, len, H_OUT);
	assert_true(is_frontend(h_ipv4(m)->src_addr));
	rte_pktmbuf_free(m);
}

static void
test_eim_same_mapping_for_all_destinations(void **state)
{
	const char *dsts[] = { "203.0.113.10", "203.0.113.11", "198.51.100.10" };
	rte_be32_t fip = 0;
	rte_be16_t fport = 0;

	resolve_both();
	for (unsigned i = 0; i < 3; i++) {
		uint8_t buf[256];
		size_t len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10",
					       40000, dsts[i], 3478, 8);
		struct rte_mbuf *m;

		h_send(&H, H_IN, buf, len);
		h_pump(&H);
		if (h_pending(&H, H_OUT) == 0) /* a new next hop: answer its ARP */
			fail_msg("no packet for %s", dsts[i]);
		m = h_recv(&H, H_OUT);
		if (rte_be_to_cpu_16(rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type) ==
		    RTE_ETHER_TYPE_ARP) {
			rte_pktmbuf_free(m);
			{
				uint8_t r[64];

				h_send(&H, H_OUT, r,
				       h_build_arp(r, RTE_ARP_OP_REPLY, &h_server_mac, our_mac(H_OUT),
						   dsts[i], "203.0.113.1"));
			}
			h_pump(&H);
			m = h_recv(&H, H_OUT);
		}
		assert_non_null(m);
		if (i == 0) {
			fip = h_ipv4(m)->src_addr;
			fport = ((struct rte_udp_hdr *)h_l4(m))->src_port;
		}
		/* RFC 4787 REQ-1: one mapping for the endpoint */
		assert_int_equal(h_ipv4(m)->src_addr, fip);
		assert_int_equal(((struct rte_udp_hdr *)h_l4(m))->src_port, fport);
		rte_pktmbuf_free(m);
	}
}

/*
 * One frontend IP, one destination: exactly 64,512 flows get a port, the
 * next is refused (counted, and answered with ICMP unreachable code 13),
 * and existing flows keep working; another destination still gets ports.
 */
static void
test_snat_exhaustion_at_64512(void **state)
{
	const unsigned total = SNAT_PORT_LAST - SNAT_PORT_FIRST + 1;
	uint8_t buf[256];
	struct rte_mbuf *m;
	struct rte_icmp_hdr *icmp;
	unsigned sent = 0, out = 0;

	resolve_both();
	/* Flows from 2 hosts x 32,256 ports, 256 at a time. */
	while (sent < total) {
		unsigned batch = RTE_MIN(256u, total - sent);

		for (unsigned i = 0; i < batch; i++, sent++) {
			char src[16];

			snprintf(src, sizeof(src), "198.18.1.%u", 10 + sent / 32256);
			h_send(&H, H_IN, buf,
			       h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), src,
						 (uint16_t)(2000 + sent % 32256), "203.0.113.10",
						 5001, 0));
		}
		h_pump(&H);
		while ((m = h_recv(&H, H_OUT)) != NULL) {
			out++;
			rte_pktmbuf_free(m);
		}
	}
	assert_int_equal(out, total);
	assert_int_equal(h_counter(&H, DP_SNAT_ALLOCATED), total);
	assert_int_equal(h_counter(&H, DP_DROP_SNAT_EXHAUSTED), 0);

	h_send(&H, H_IN, buf,
	       h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 1999,
				 "203.0.113.10", 5001, 0));
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT), 0);
	assert_int_equal(h_counter(&H, DP_DROP_SNAT_EXHAUSTED), 1);
	m = h_recv(&H, H_IN);
	assert_non_null(m);
	icmp = h_l4(m);
	assert_int_equal(icmp->icmp_type, ICMP_DEST_UNREACH);
	assert_int_equal(icmp->icmp_code, ICMP_CODE_ADMIN_PROHIBITED);
	rte_pktmbuf_free(m);

	/* An existing flow still passes; another destination port still gets one. */
	h_send(&H, H_IN, buf,
	       h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.10", 2000,
				 "203.0.113.10", 5001, 0));
	h_send(&H, H_IN, buf,
	       h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), "198.18.1.12", 2000,
				 "203.0.113.10", 5003, 0));
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT), 2);
	assert_int_equal(h_counter(&H, DP_SNAT_ALLOCATED), total + 1);
}

/*
 * Two workers: a reply that RSS lands on the other worker is handed to the
 * owner of its session (by the port slice) and translated there.
 */
static void
test_two_workers_hand_off_replies(void **state)
{
	uint8_t buf[256];

	resolve_both();
	for (unsigned i = 0; i < 16; i++) {
		struct rte_mbuf *m;
		struct rte_udp_hdr *udp;
		uint16_t fport;
		uint64_t handed;
		char fips[16], src[16];
		unsigned owner;
		size_t len;

		snprintf(src, sizeof(src), "198.18.1.%u", 20 + i);
		learn_host(H_IN, src, &h_client_mac);
		len = h_build_udp_ports(buf, &h_client_mac, our_mac(H_IN), src, 40000,
					"203.0.113.10", 5001, 8);
		h_send_q(&H, H_IN, i % 2, buf, len);
		h_pump(&H);
		m = h_recv(&H, H_OUT);
		assert_non_null(m);
		udp = h_l4(m);
		fport = rte_be_to_cpu_16(udp->src_port);
		h_ip_str(h_ipv4(m)->src_addr, fips);
		rte_pktmbuf_free(m);
		owner = snat_port_owner(fport, 2);
		assert_true(owner < 2);

		/* The reply arrives on the other worker's queue. */
		handed = h_counter(&H, DP_CT_HANDOFF);
		len = h_build_udp_ports(buf, &h_server_mac, our_mac(H_OUT), "203.0.113.10", 5001,
					fips, fport, 8);
		h_send_q(&H, H_OUT, 1 - owner, buf, len);
		h_pump(&H);
		m = h_recv(&H, H_IN);
		assert_non_null(m);
		assert_int_equal(h_ipv4(m)->dst_addr, h_ip(src));
		assert_int_equal(rte_be_to_cpu_16(((struct rte_udp_hdr *)h_l4(m))->dst_port),
				 40000);
		assert_true(h_l4_cksum_ok(h_ipv4(m)));
		rte_pktmbuf_free(m);
		assert_int_equal(h_counter(&H, DP_CT_HANDOFF), handed + 1);
	}
	assert_int_equal(h_counter(&H, DP_DROP_NO_SESSION) + h_counter(&H, DP_DROP_LOCAL_UNSUPPORTED),
			 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_snat_and_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paired_pooling_spreads_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_states_and_translation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_simultaneous_open_and_rst, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo_identifier_translated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_translated_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_from_inside_translated_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dnat_inbound_and_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dnat_hairpin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_verdicts_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_change_revokes_sessions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_snat_range_keeps_source, setup_no_snat,
						teardown),
		cmocka_unit_test_setup_teardown(test_eim_same_mapping_for_all_destinations,
						setup_eim, teardown),
		cmocka_unit_test_setup_teardown(test_snat_exhaustion_at_64512, setup_one_ip,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_workers_hand_off_replies,
						setup_two_workers, teardown),
	};

	return cmocka_run_group_tests_name("nat", tests, NULL, NULL);
}
