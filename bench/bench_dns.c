/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dns: the DNS proxy on the control thread, fed punted frames directly
 * (as ctl_poll hands them over) and drained from the worker's inject ring:
 *
 *   cache      UDP queries for names already cached: parse, rate limit,
 *              cache lookup, TTL ageing, answer frame
 *   forwarded  UDP queries for new names: the upstream query (random id
 *              and port), the bench answers it as the upstream would, the
 *              answer is checked, cached and sent to the client
 *
 * Figures are queries answered per second of one control thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "bench/bench.h"
#include "bench/bench_dns.h"
#include "control/dns_msg.h"
#include "control/dnsproxy.h"
#include "dataplane/neigh.h"

#define NAMES 1000
#define CLIENT 0xc612010aU   /* 198.18.1.10 */
#define INSIDE 0xc6120101U   /* 198.18.1.1 */
#define OUTSIDE 0xcb007101U  /* 203.0.113.1 */
#define UPSTREAM 0xcb00710aU /* 203.0.113.10 */

static const struct rte_ether_addr peer_mac = { { 0x02, 0x5e, 0, 0, 0, 0x20 } };

static int
setup(struct fwd_bench *b, char *err, size_t errlen)
{
	struct neigh_entry *e;
	int ret;

	memset(&b->cfg, 0, sizeof(b->cfg));
	memset(&b->ctl, 0, sizeof(b->ctl));
	config_defaults(&b->cfg);
	b->cfg.workers = 1;
	b->cfg.sessions_per_worker = 1024;
	snprintf(b->cfg.ifaces[0].device, sizeof(b->cfg.ifaces[0].device), "net_ring_bin");
	b->cfg.ifaces[0].addr = INSIDE;
	b->cfg.ifaces[0].prefix_len = 24;
	b->cfg.ifaces[0].mtu = 1500;
	snprintf(b->cfg.ifaces[1].device, sizeof(b->cfg.ifaces[1].device), "net_ring_bout");
	b->cfg.ifaces[1].role = CONFIG_ROLE_OUTSIDE;
	b->cfg.ifaces[1].addr = OUTSIDE;
	b->cfg.ifaces[1].prefix_len = 24;
	b->cfg.ifaces[1].mtu = 1500;
	b->cfg.mbufs = 8191;
	b->cfg.rx_desc = b->cfg.tx_desc = 1024;
	b->cfg.dns_enabled = true;
	b->cfg.dns_upstreams[0] = UPSTREAM;
	b->cfg.n_dns_upstreams = 1;
	b->cfg.dns_client_qps = 1000000; /* one client: the rate limit is not measured */
	b->cfg.dns_timeout_ms = 30000;
	ret = ctl_setup(&b->ctl, &b->cfg, err, errlen);
	if (ret != 0)
		return ret;
	e = neigh_add(b->ctl.dp.neigh, DP_IFACE_OUTSIDE, rte_cpu_to_be_32(UPSTREAM));
	if (e == NULL) {
		snprintf(err, errlen, "neighbour table");
		return -1;
	}
	neigh_set_mac(e, &peer_mac);
	return 0;
}

/* A UDP frame as a worker punts it. */
static struct rte_mbuf *
frame(struct ctl *c, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
      const uint8_t *msg, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(c->dp.pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(sizeof(*eth) + sizeof(*ip) +
								      sizeof(*udp) + len));
	rte_ether_addr_copy(&peer_mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, msg, len);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return m;
}

static size_t
query_msg(uint8_t *out, unsigned run, unsigned i, uint16_t id)
{
	char name[64];
	struct dns_question q;
	int n;

	snprintf(name, sizeof(name), "n%u.r%u.bench.example", i, run);
	n = dns_name_from_text(name, q.name, sizeof(q.name));
	q.name_len = (uint8_t)n;
	q.qtype = DNS_TYPE_A;
	q.qclass = DNS_CLASS_IN;
	return dns_build_query(out, 512, id, true, &q, 0);
}

/* What the proxy sent, from the inject ring: returns it (caller frees). */
static struct rte_mbuf *
sent(struct ctl *c)
{
	struct rte_mbuf *m;

	if (rte_ring_sc_dequeue(c->dp.workers[0]->inject, (void **)&m) != 0)
		return NULL;
	return m;
}

/* Play the upstream: answer the query in `m` with one A record. */
static struct rte_mbuf *
upstream_answer(struct ctl *c, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *q = (uint8_t *)(udp + 1), a[600];
	size_t qlen = rte_be_to_cpu_16(udp->dgram_len) - sizeof(*udp);
	struct dns_header h;
	struct dns_question qq;
	uint16_t edns;
	size_t n;

	if (dns_parse_query(q, qlen, &h, &qq, &edns) != DNS_OK)
		return NULL;
	n = DNS_HDR_LEN + qq.len;
	memcpy(a, q, n);
	dns_put16(a + 2, DNS_F_QR | DNS_F_RD | DNS_F_RA);
	dns_put16(a + 6, 1);
	dns_put16(a + 10, 0);
	dns_put16(a + n, 0xc00c);
	dns_put16(a + n + 2, DNS_TYPE_A);
	dns_put16(a + n + 4, DNS_CLASS_IN);
	dns_put16(a + n + 6, 0);
	dns_put16(a + n + 8, 300);
	dns_put16(a + n + 10, 4);
	memcpy(a + n + 12, "\xcb\x00\x71\x50", 4);
	return frame(c, UPSTREAM, 53, OUTSIDE, rte_be_to_cpu_16(udp->src_port), a, n + 16);
}

/* One query, forwarded or from the cache; true when the client got its
 * answer. */
static bool
one(struct ctl *c, unsigned run, unsigned i, bool expect_forward)
{
	uint8_t q[512];
	size_t len = query_msg(q, run, i, (uint16_t)i);
	struct rte_mbuf *m = frame(c, CLIENT, 40000, INSIDE, 53, q, len), *up, *ans;

	if (m == NULL)
		return false;
	dnsproxy_input(c, m, DP_IFACE_INSIDE);
	if (expect_forward) {
		up = sent(c);
		if (up == NULL)
			return false;
		ans = upstream_answer(c, up);
		rte_pktmbuf_free(up);
		if (ans == NULL)
			return false;
		dnsproxy_input(c, ans, DP_IFACE_OUTSIDE);
	}
	ans = sent(c);
	if (ans == NULL)
		return false;
	rte_pktmbuf_free(ans);
	return true;
}

int
bench_dns_main(const struct bench_opts *o)
{
	struct fwd_bench *b = calloc(1, sizeof(*b));
	struct bench_figure figs[] = {
		{ .name = "dns.forwarded_qps", .unit = "queries/s" },
		{ .name = "dns.cache_qps", .unit = "queries/s" },
	};
	const unsigned rounds = 50; /* cache: every name this many times */
	uint64_t hz = rte_get_tsc_hz();
	char err[256], ctx[256];
	int rc = 0;

	if (b == NULL || bench_fwd_ports(b, err, sizeof(err)) != 0) {
		fprintf(stderr, "tollgate-bench: %s\n", b ? err : "out of memory");
		free(b);
		return 1;
	}
	for (unsigned r = 0; rc == 0 && r < o->runs; r++) {
		uint64_t t0, t1;

		if (setup(b, err, sizeof(err)) != 0) {
			fprintf(stderr, "tollgate-bench: %s\n", err);
			rc = 1;
			break;
		}
		t0 = rte_rdtsc();
		for (unsigned i = 0; i < NAMES && rc == 0; i++)
			if (!one(&b->ctl, r, i, true))
				rc = 1;
		t1 = rte_rdtsc();
		if (rc == 0)
			bench_figure_add(&figs[0], NAMES * (double)hz / (double)(t1 - t0));
		t0 = rte_rdtsc();
		for (unsigned k = 0; k < rounds && rc == 0; k++)
			for (unsigned i = 0; i < NAMES && rc == 0; i++)
				if (!one(&b->ctl, r, i, false))
					rc = 1;
		t1 = rte_rdtsc();
		if (rc == 0)
			bench_figure_add(&figs[1], rounds * NAMES * (double)hz / (double)(t1 - t0));
		else
			fprintf(stderr, "dns: a query went unanswered\n");
		ctl_teardown(&b->ctl);
	}
	if (rc == 0) {
		snprintf(ctx, sizeof(ctx),
			 "%u names; UDP queries fed to the proxy as punted frames, answers "
			 "drained from the inject ring; one control thread",
			 NAMES);
		bench_report(stdout, o->json, "dns", figs, RTE_DIM(figs), ctx);
	}
	free(b);
	return rc;
}
