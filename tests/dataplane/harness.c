/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "tests/dataplane/harness.h"

const struct rte_ether_addr h_client_mac = { .addr_bytes = { 0x02, 0xc1, 0, 0, 0, 0x10 } };
const struct rte_ether_addr h_server_mac = { .addr_bytes = { 0x02, 0x5e, 0, 0, 0, 0x10 } };

void
h_eal_init(void)
{
	static int done;
	char *argv[] = { "test", "--no-huge", "-m", "512", "--no-shconf", "--no-telemetry",
			 "--no-pci", "-l", "0", "--log-level", "*:warning", NULL };

	if (done)
		return;
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "EAL init failed\n");
		exit(1);
	}
	done = 1;
}

rte_be32_t
h_ip(const char *a)
{
	struct in_addr in;

	if (inet_pton(AF_INET, a, &in) != 1)
		abort();
	return in.s_addr;
}

const char h_allow_all_policy[] =
	"rule_collection_groups:\n"
	"  - name: all\n"
	"    priority: 100\n"
	"    rule_collections:\n"
	"      - name: all\n"
	"        kind: network\n"
	"        priority: 100\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: any\n"
	"            protocols: [Any]\n"
	"            source_addresses: [\"*\"]\n"
	"            destination_addresses: [\"*\"]\n"
	"            destination_ports: [\"*\"]\n";

void
h_default_config(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	config_defaults(cfg);
	cfg->workers = 1;
	cfg->sessions_per_worker = 4096;
	cfg->no_snat[0] = (struct config_route){ .prefix = 0, .prefix_len = 0 };
	cfg->n_no_snat = 1;
	snprintf(cfg->ifaces[0].name, sizeof(cfg->ifaces[0].name), "inside");
	cfg->ifaces[0].role = CONFIG_ROLE_INSIDE;
	snprintf(cfg->ifaces[0].device, sizeof(cfg->ifaces[0].device), "net_ring_tgin");
	cfg->ifaces[0].addr = ntohl(h_ip("198.18.1.1"));
	cfg->ifaces[0].prefix_len = 24;
	cfg->ifaces[0].mtu = 1500;
	snprintf(cfg->ifaces[1].name, sizeof(cfg->ifaces[1].name), "outside");
	cfg->ifaces[1].role = CONFIG_ROLE_OUTSIDE;
	snprintf(cfg->ifaces[1].device, sizeof(cfg->ifaces[1].device), "net_ring_tgout");
	cfg->ifaces[1].addr = ntohl(h_ip("203.0.113.1"));
	cfg->ifaces[1].prefix_len = 24;
	cfg->ifaces[1].mtu = 1500;
	cfg->routes[0].prefix = ntohl(h_ip("198.51.100.0"));
	cfg->routes[0].prefix_len = 24;
	cfg->routes[0].via = ntohl(h_ip("203.0.113.10"));
	cfg->n_routes = 1;
	for (unsigned i = 0; i < 20; i++)
		cfg->frontend_ips[i] = ntohl(h_ip("192.0.2.10")) + i;
	cfg->n_frontend_ips = 20;
	cfg->mbufs = 2047;
	cfg->rx_desc = 256;
	cfg->tx_desc = 256;
}

static struct rte_ring *
ring(const char *fmt, int i, unsigned q)
{
	char rn[64];
	struct rte_ring *r;

	snprintf(rn, sizeof(rn), fmt, i, q);
	r = rte_ring_lookup(rn);
	if (r == NULL)
		r = rte_ring_create(rn, 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	return r;
}

int
h_start(struct harness *h)
{
	static unsigned gen;
	const char *names[2] = { "net_ring_tgin", "net_ring_tgout" };
	char err[2048];
	int ret;

	h_eal_init();
	gen++;
	for (int i = 0; i < 2; i++) {
		struct rte_ring *rxr[H_QUEUES], *txr[H_QUEUES];
		uint16_t port;

		for (unsigned q = 0; q < H_QUEUES; q++) {
			rxr[q] = ring("h_rx%d_%u", i, q);
			txr[q] = ring("h_tx%d_%u", i, q);
			if (rxr[q] == NULL || txr[q] == NULL)
				return -1;
		}
		h->rx[i] = rxr[0];
		h->tx[i] = txr[0];
		h->rx1[i] = rxr[1];
		h->tx1[i] = txr[1];
		/* Ports from an earlier test in this process are reused. */
		if (rte_eth_dev_get_port_by_name(names[i], &port) == 0)
			continue;
		/* rte_eth_from_rings() names the port "net_ring_" + name. */
		if (rte_eth_from_rings(names[i] + strlen("net_ring_"), rxr, H_QUEUES, txr, H_QUEUES,
				       0) < 0)
			return -1;
	}
	if (h->pool == NULL) {
		char pn[32];

		snprintf(pn, sizeof(pn), "h_pool%u", gen);
		h->pool = rte_pktmbuf_pool_create(pn, 1023, 0, DP_MBUF_PRIV_SIZE,
						  RTE_PKTMBUF_HEADROOM + 4096, 0);
		if (h->pool == NULL)
			return -1;
	}
	ret = ctl_setup(&h->ctl, &h->cfg, err, sizeof(err));
	if (ret != 0) {
		fprintf(stderr, "ctl_setup: %s\n", err);
		return ret;
	}
	{
		const char *pol = h->policy ? h->policy : h_allow_all_policy;

		ret = ctl_policy_load(&h->ctl, "test-policy.yaml", pol, strlen(pol), err,
				      sizeof(err));
		if (ret != 0) {
			fprintf(stderr, "policy: %s\n", err);
			return ret;
		}
	}
	rte_rcu_qsbr_thread_register(h->ctl.dp.qsbr, 0);
	rte_rcu_qsbr_thread_online(h->ctl.dp.qsbr, 0);
	return 0;
}

void
h_stop(struct harness *h)
{
	struct rte_mbuf *m;

	for (int i = 0; i < 2; i++) {
		struct rte_ring *rs[4] = { h->tx[i], h->rx[i], h->tx1[i], h->rx1[i] };

		for (int r = 0; r < 4; r++)
			while (rte_ring_dequeue(rs[r], (void **)&m) == 0)
				rte_pktmbuf_free(m);
	}
	ctl_teardown(&h->ctl);
}

static void
poll_workers(struct harness *h)
{
	/* Twice: what one worker hands to another is handled in the same pump. */
	for (int r = 0; r < 2; r++) {
		for (unsigned i = 0; i < h->ctl.dp.n_workers; i++) {
			worker_poll(h->ctl.dp.workers[i]);
			worker_flush(h->ctl.dp.workers[i]);
		}
	}
}

void
h_pump(struct harness *h)
{
	for (int i = 0; i < 3; i++) {
		poll_workers(h);
		ctl_poll(&h->ctl);
	}
	poll_workers(h);
}

void
h_advance(struct harness *h, uint32_t seconds)
{
	h->ctl.dp.clock_offset_s += seconds;
}

void
h_send(struct harness *h, int iface, const void *frame, size_t len)
{
	h_send_q(h, iface, 0, frame, len);
}

void
h_send_q(struct harness *h, int iface, unsigned q, const void *frame, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h->pool);
	char *p;

	assert_non_null(m);
	p = rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(p);
	memcpy(p, frame, len);
	assert_int_equal(rte_ring_enqueue(q ? h->rx1[iface] : h->rx[iface], m), 0);
}

struct rte_mbuf *
h_recv(struct harness *h, int iface)
{
	struct rte_mbuf *m;

	if (rte_ring_dequeue(h->tx[iface], (void **)&m) == 0 ||
	    rte_ring_dequeue(h->tx1[iface], (void **)&m) == 0)
		return m;
	return NULL;
}

unsigned
h_pending(struct harness *h, int iface)
{
	return rte_ring_count(h->tx[iface]) + rte_ring_count(h->tx1[iface]);
}

uint64_t
h_counter(struct harness *h, enum dp_counter c)
{
	struct dp_stats s;

	ctl_stats_sum(&h->ctl, &s);
	return s.c[c];
}

static size_t
eth_hdr(uint8_t *buf, const struct rte_ether_addr *src, const struct rte_ether_addr *dst,
	uint16_t type)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)buf;

	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(src, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(type);
	return sizeof(*eth);
}

static void
ip_hdr(struct rte_ipv4_hdr *ip, const char *src, const char *dst, uint8_t proto, uint8_t ttl,
       uint16_t l4_len, bool df)
{
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4_len));
	ip->packet_id = RTE_BE16(0x1234);
	ip->fragment_offset = df ? RTE_BE16(RTE_IPV4_HDR_DF_FLAG) : 0;
	ip->time_to_live = ttl;
	ip->next_proto_id = proto;
	ip->src_addr = h_ip(src);
	ip->dst_addr = h_ip(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

size_t
h_build_udp(uint8_t *buf, const struct rte_ether_addr *src_mac,
	    const struct rte_ether_addr *dst_mac, const char *src, const char *dst, uint8_t ttl,
	    uint16_t payload_len, bool df)
{
	size_t off = eth_hdr(buf, src_mac, dst_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + off);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *payload = (uint8_t *)(udp + 1);

	ip_hdr(ip, src, dst, IPPROTO_UDP, ttl, (uint16_t)(sizeof(*udp) + payload_len), df);
	udp->src_port = RTE_BE16(40000);
	udp->dst_port = RTE_BE16(5001);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + payload_len));
	udp->dgram_cksum = 0;
	for (unsigned i = 0; i < payload_len; i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return off + sizeof(*ip) + sizeof(*udp) + payload_len;
}

size_t
h_build_udp_ports(uint8_t *buf, const struct rte_ether_addr *src_mac,
		  const struct rte_ether_addr *dst_mac, const char *src, uint16_t sport,
		  const char *dst, uint16_t dport, uint16_t payload_len)
{
	size_t len = h_build_udp(buf, src_mac, dst_mac, src, dst, 64, payload_len, false);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return len;
}

size_t
h_build_tcp(uint8_t *buf, const struct rte_ether_addr *src_mac,
	    const struct rte_ether_addr *dst_mac, const char *src, uint16_t sport, const char *dst,
	    uint16_t dport, uint8_t flags, uint16_t payload_len)
{
	size_t off = eth_hdr(buf, src_mac, dst_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + off);
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
	uint8_t *payload = (uint8_t *)(tcp + 1);

	ip_hdr(ip, src, dst, IPPROTO_TCP, 64, (uint16_t)(sizeof(*tcp) + payload_len), true);
	memset(tcp, 0, sizeof(*tcp));
	tcp->src_port = rte_cpu_to_be_16(sport);
	tcp->dst_port = rte_cpu_to_be_16(dport);
	tcp->sent_seq = RTE_BE32(1000);
	tcp->recv_ack = (flags & RTE_TCP_ACK_FLAG) ? RTE_BE32(2000) : 0;
	tcp->data_off = 5 << 4;
	tcp->tcp_flags = flags;
	tcp->rx_win = RTE_BE16(65535);
	for (unsigned i = 0; i < payload_len; i++)
		payload[i] = (uint8_t)('a' + i % 26);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	return off + sizeof(*ip) + sizeof(*tcp) + payload_len;
}

size_t
h_build_icmp_echo(uint8_t *buf, const struct rte_ether_addr *src_mac,
		  const struct rte_ether_addr *dst_mac, const char *src, const char *dst,
		  uint16_t id, uint16_t seq)
{
	size_t off = eth_hdr(buf, src_mac, dst_mac, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + off);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(ip + 1);
	uint8_t *data = (uint8_t *)(icmp + 1);

	ip_hdr(ip, src, dst, IPPROTO_ICMP, 64, sizeof(*icmp) + 56, false);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
	icmp->icmp_code = 0;
	icmp->icmp_cksum = 0;
	icmp->icmp_ident = rte_cpu_to_be_16(id);
	icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
	for (unsigned i = 0; i < 56; i++)
		data[i] = (uint8_t)i;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + 56);
	return off + sizeof(*ip) + sizeof(*icmp) + 56;
}

size_t
h_build_arp(uint8_t *buf, uint16_t op, const struct rte_ether_addr *sha,
	    const struct rte_ether_addr *eth_dst, const char *sip, const char *tip)
{
	size_t off = eth_hdr(buf, sha, eth_dst, RTE_ETHER_TYPE_ARP);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(buf + off);

	memset(arp, 0, sizeof(*arp));
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(sha, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = h_ip(sip);
	arp->arp_data.arp_tip = h_ip(tip);
	/* Ethernet minimum frame: 60 bytes before the FCS */
	memset(buf + off + sizeof(*arp), 0, 60 - off - sizeof(*arp));
	return 60;
}

void
h_answer_arp(struct harness *h, int iface, const char *ip, const struct rte_ether_addr *mac)
{
	struct rte_mbuf *m = h_recv(h, iface);
	const struct rte_ether_hdr *eth;
	const struct rte_arp_hdr *arp;
	uint8_t buf[64];

	assert_non_null(m);
	eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	arp = (const struct rte_arp_hdr *)(eth + 1);
	assert_int_equal(rte_be_to_cpu_16(eth->ether_type), RTE_ETHER_TYPE_ARP);
	assert_true(rte_is_broadcast_ether_addr(&eth->dst_addr));
	assert_true(rte_is_same_ether_addr(&eth->src_addr, &h->ctl.dp.ifaces[iface].mac));
	assert_int_equal(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REQUEST);
	assert_int_equal(arp->arp_data.arp_tip, h_ip(ip));
	assert_int_equal(arp->arp_data.arp_sip, h->ctl.dp.ifaces[iface].addr);
	assert_true(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &h->ctl.dp.ifaces[iface].mac));
	rte_pktmbuf_free(m);

	h_send(h, iface, buf,
	       h_build_arp(buf, RTE_ARP_OP_REPLY, mac, &h->ctl.dp.ifaces[iface].mac, ip,
			   iface == H_IN ? "198.18.1.1" : "203.0.113.1"));
}

struct rte_ipv4_hdr *
h_ipv4(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
}

void *
h_l4(struct rte_mbuf *m)
{
	return h_ipv4(m) + 1;
}

char *
h_ip_str(rte_be32_t a, char *buf)
{
	const uint8_t *b = (const uint8_t *)&a;

	snprintf(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return buf;
}

bool
h_ipv4_cksum_ok(const struct rte_ipv4_hdr *ip)
{
	return rte_raw_cksum(ip, (size_t)(ip->version_ihl & 0xf) * 4) == 0xffff;
}

bool
h_l4_cksum_ok(const struct rte_ipv4_hdr *ip)
{
	const void *l4 = (const uint8_t *)ip + (ip->version_ihl & 0xf) * 4;

	if (ip->next_proto_id == IPPROTO_ICMP) {
		size_t len = rte_be_to_cpu_16(ip->total_length) - (size_t)(ip->version_ihl & 0xf) * 4;
		return rte_raw_cksum(l4, len) == 0xffff;
	}
	return rte_ipv4_udptcp_cksum_verify(ip, l4) == 0;
}
