/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * floor, forward and new-flows: 64-byte UDP frames through net_ring ports.
 *
 *   floor       rx_burst -> MAC rewrite -> tx_burst: the reference
 *   forward     established flows through the whole worker (conntrack hit,
 *               SNAT rewrite, route, TX) at --sessions N, beside the floor
 *   new-flows   every packet a new flow: policy (the AKS example policy),
 *               SNAT port allocation, session creation, forward
 *
 * The generator and the sink run on the same lcore as the code under test,
 * between its polls, and recycle the same buffers (the sink rewrites the
 * frame headers from a template and feeds them back). Only the cycles spent
 * inside the poll function are counted, so the figure is the worker's own
 * cost per packet, with the ring PMD's rx/tx included: the floor (a bare
 * rx_burst -> tx_burst loop on the same rings) is measured in the same run
 * and the ratio of the two is the figure to compare across machines.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "bench/bench.h"
#include "bench/bench_forward.h"
#include "control/control.h"
#include "dataplane/ct.h"
#include "dataplane/neigh.h"
#include "dataplane/snat.h"

#define FRAME_LEN BENCH_FRAME_LEN
#define INFLIGHT 2048
#define POLLS_PER_SAMPLE 8
#define RING_SIZE 4096

static const struct rte_ether_addr gw_mac = { { 0x02, 0x5e, 0, 0, 0, 0x10 } };
static const struct rte_ether_addr src_mac = { { 0x02, 0xc1, 0, 0, 0, 0x10 } };

static void
build_template(struct fwd_bench *b)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)b->template;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t l4 = FRAME_LEN - RTE_ETHER_HDR_LEN - sizeof(*ip);

	memset(b->template, 0, sizeof(b->template));
	rte_ether_addr_copy(&b->ctl.dp.ifaces[0].mac, &eth->dst_addr);
	rte_ether_addr_copy(&src_mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	inet_pton(AF_INET, "198.18.1.10", &ip->src_addr);
	inet_pton(AF_INET, "203.0.113.10", &ip->dst_addr);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->dst_port = RTE_BE16(1194);
	udp->dgram_len = rte_cpu_to_be_16(l4);
}

/* Rewrite a returned buffer into the next flow's frame. */
static inline void
refill(struct fwd_bench *b, struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_udp_hdr *udp;

	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = m->pkt_len = FRAME_LEN;
	m->ol_flags = 0;
	memcpy(p, b->template, FRAME_LEN);
	{
		/* flow i: source 198.18.0.0 + i % 65536, port 1024 + i / 65536 */
		uint64_t i = b->flow_base + b->next_flow;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);

		udp = (struct rte_udp_hdr *)(ip + 1);
		ip->src_addr = rte_cpu_to_be_32(0xc6120000 | (uint32_t)(i % 65536));
		/* new-flows: 128 destinations (198.51.100.0/25, AzureCloud.eastus
		 * in the sample service tags, via the resolved gateway), so no
		 * one destination's 1.29 M ports (20 IPs) bound the run. */
		if (b->flow_base != UINT64_MAX)
			ip->dst_addr = rte_cpu_to_be_32(0xc6336400 | (uint32_t)(i % 128));
		udp->src_port = rte_cpu_to_be_16((uint16_t)(1024 + (i / 65536) % 64000));
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (++b->next_flow == b->flows) {
		b->next_flow = 0;
		if (b->flow_base != UINT64_MAX)
			b->flow_base += b->flows;
	}
}

void
bench_fwd_refill(struct fwd_bench *b, struct rte_mbuf *m)
{
	refill(b, m);
}

int
bench_fwd_ports(struct fwd_bench *b, char *err, size_t errlen)
{
	struct rte_ring **rings[4] = { &b->rx_in, &b->tx_in, &b->rx_out, &b->tx_out };
	const char *names[4] = { "b_rxi", "b_txi", "b_rxo", "b_txo" };

	for (int i = 0; i < 4; i++) {
		*rings[i] = rte_ring_create(names[i], RING_SIZE, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (*rings[i] == NULL) {
			snprintf(err, errlen, "ring: %s", rte_strerror(rte_errno));
			return -1;
		}
	}
	if (rte_eth_from_rings("bin", &b->rx_in, 1, &b->tx_in, 1, 0) < 0 ||
	    rte_eth_from_rings("bout", &b->rx_out, 1, &b->tx_out, 1, 0) < 0) {
		snprintf(err, errlen, "net_ring ports: %s", rte_strerror(rte_errno));
		return -1;
	}
	b->pool = rte_pktmbuf_pool_create("b_pool", INFLIGHT * 2, 256, DP_MBUF_PRIV_SIZE,
					  RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (b->pool == NULL) {
		snprintf(err, errlen, "pool: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int
bench_fwd_dataplane(struct fwd_bench *b, unsigned sessions, unsigned n_ips, const char *policy,
		    char *err, size_t errlen)
{
	struct neigh_entry *e;
	rte_be32_t gw;
	int ret;

	memset(&b->cfg, 0, sizeof(b->cfg));
	memset(&b->ctl, 0, sizeof(b->ctl));
	config_defaults(&b->cfg);
	b->cfg.workers = 1;
	b->cfg.sessions_per_worker = sessions;
	for (unsigned i = 0; i < n_ips; i++)
		b->cfg.frontend_ips[i] = 0xc000020a + i; /* 192.0.2.10 and on */
	b->cfg.n_frontend_ips = n_ips;
	b->cfg.routes[0] = (struct config_route){ .prefix = 0xc6336400, .prefix_len = 24,
						  .via = 0xcb00710a }; /* via 203.0.113.10 */
	b->cfg.n_routes = 1;
	snprintf(b->cfg.ifaces[0].device, sizeof(b->cfg.ifaces[0].device), "net_ring_bin");
	b->cfg.ifaces[0].addr = 0xc6120101;  /* 198.18.1.1/24 */
	b->cfg.ifaces[0].prefix_len = 24;
	b->cfg.ifaces[0].mtu = 1500;
	snprintf(b->cfg.ifaces[1].device, sizeof(b->cfg.ifaces[1].device), "net_ring_bout");
	b->cfg.ifaces[1].role = CONFIG_ROLE_OUTSIDE;
	b->cfg.ifaces[1].addr = 0xcb007101;  /* 203.0.113.1/24 */
	b->cfg.ifaces[1].prefix_len = 24;
	b->cfg.ifaces[1].mtu = 1500;
	b->cfg.mbufs = 8191;
	b->cfg.rx_desc = b->cfg.tx_desc = 1024;
	ret = ctl_setup(&b->ctl, &b->cfg, err, errlen);
	if (ret != 0)
		return ret;
	ret = ctl_policy_load(&b->ctl, policy, NULL, 0, err, errlen);
	if (ret != 0)
		return ret;

	/* The next hop is resolved, as it is in steady state. */
	inet_pton(AF_INET, "203.0.113.10", &gw);
	e = neigh_add(b->ctl.dp.neigh, DP_IFACE_OUTSIDE, gw);
	if (e == NULL) {
		snprintf(err, errlen, "neighbour table");
		return -1;
	}
	neigh_set_mac(e, &gw_mac);
	build_template(b);
	return 0;
}

typedef void (*poll_fn)(struct fwd_bench *b);

static void
poll_worker(struct fwd_bench *b)
{
	worker_poll(b->ctl.dp.workers[0]);
}

/*
 * The floor: the least any forwarder does, as DPDK's l2fwd does it: receive
 * a burst, rewrite each frame's MAC addresses (which brings its first cache
 * line in), send the burst.
 */
static void
poll_floor(struct fwd_bench *b)
{
	struct rte_mbuf *pkts[DP_BURST];
	uint16_t n = rte_eth_rx_burst(b->ctl.dp.ifaces[0].port_id, 0, pkts, DP_BURST);
	uint16_t sent;

	for (uint16_t k = 0; k < n; k++) {
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(pkts[k], struct rte_ether_hdr *);

		rte_ether_addr_copy(&gw_mac, &eth->dst_addr);
		rte_ether_addr_copy(&b->ctl.dp.ifaces[1].mac, &eth->src_addr);
	}
	sent = rte_eth_tx_burst(b->ctl.dp.ifaces[1].port_id, 0, pkts, n);

	for (uint16_t k = sent; k < n; k++)
		rte_pktmbuf_free(pkts[k]);
}

/* One run: `target` packets through `fn`; returns cycles per packet. */
static double
run_once(struct fwd_bench *b, poll_fn fn, uint64_t target, uint64_t *lost)
{
	struct rte_mbuf *pkts[256];
	uint64_t done = 0, cycles = 0, polls = 0;
	unsigned n;

	for (unsigned i = 0; i < INFLIGHT; i++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(b->pool);

		if (m == NULL)
			break;
		refill(b, m);
		rte_ring_enqueue(b->rx_in, m);
	}
	/* Bounded: a path that stops delivering ends the run after 1e8
	 * polls instead of spinning for ever. */
	while (done < target && polls < 100000000ULL) {
		uint64_t t0 = rte_rdtsc_precise();

		/* Eight polls between two fenced timestamps (256 packets at
		 * most, well within the 2,048 in flight): the timing costs
		 * under a cycle a packet, for floor and worker alike. */
		for (unsigned k = 0; k < POLLS_PER_SAMPLE; k++)
			fn(b);
		cycles += rte_rdtsc_precise() - t0;
		polls += POLLS_PER_SAMPLE;
		n = rte_ring_dequeue_burst(b->tx_out, (void **)pkts, 256, NULL);
		done += n;
		for (unsigned k = 0; k < n; k++)
			refill(b, pkts[k]);
		rte_ring_enqueue_burst(b->rx_in, (void **)pkts, n, NULL);
	}
	/* Drain what is in flight back to the pool. */
	worker_flush(b->ctl.dp.workers[0]);
	while ((n = rte_ring_dequeue_burst(b->tx_out, (void **)pkts, 256, NULL)) > 0)
		rte_pktmbuf_free_bulk(pkts, n);
	while ((n = rte_ring_dequeue_burst(b->rx_in, (void **)pkts, 256, NULL)) > 0)
		rte_pktmbuf_free_bulk(pkts, n);
	*lost = rte_mempool_in_use_count(b->pool);
	return done ? (double)cycles / (double)done : NAN;
}

static int
parse_opts(const struct bench_opts *o, uint64_t *packets, unsigned *sessions, const char **policy)
{
	for (int i = 1; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--packets") == 0 && i + 1 < o->argc)
			*packets = strtoull(o->argv[++i], NULL, 10);
		else if ((strcmp(o->argv[i], "--sessions") == 0 ||
			  strcmp(o->argv[i], "--flows") == 0) && i + 1 < o->argc)
			*sessions = (unsigned)strtoul(o->argv[++i], NULL, 10);
		else if (strcmp(o->argv[i], "--policy") == 0 && i + 1 < o->argc)
			*policy = o->argv[++i];
		else {
			fprintf(stderr,
				"%s: unknown option %s (--packets N, --sessions N, --policy FILE)\n",
				o->argv[0], o->argv[i]);
			return 2;
		}
	}
	if (*packets == 0 || *sessions == 0 || *sessions > (1u << 24)) {
		fprintf(stderr, "%s: --packets must be > 0 and --sessions 1..16777216\n",
			o->argv[0]);
		return 2;
	}
	return 0;
}

int
bench_forward_main(const struct bench_opts *o)
{
	struct fwd_bench *b = calloc(1, sizeof(*b));
	uint64_t packets = 20000000;
	unsigned sessions = 10000;
	const char *policy = TG_SOURCE_DIR "/rules/examples/aks-egress.yaml";
	const bool new_flows = strcmp(o->argv[0], "new-flows") == 0;
	const bool with_forward = strcmp(o->argv[0], "forward") == 0;
	struct bench_figure figs[6] = {
		{ .name = "floor.cycles_per_packet", .unit = "cycles" },
		{ .name = "floor.mpps", .unit = "Mpps (one core, worker time only)" },
	};
	unsigned nfig = 2;
	double hz = (double)rte_get_tsc_hz();
	struct dp_stats st;
	char err[2048], ctx[512];
	int ret;

	if (b == NULL)
		return 1;
	if (new_flows)
		packets = 2000000;
	ret = parse_opts(o, &packets, &sessions, &policy);
	if (ret != 0)
		return ret;
	if (new_flows) {
		/* Every packet a new flow: the table holds them all. */
		sessions = (unsigned)RTE_MIN(packets * o->runs + INFLIGHT, (uint64_t)1 << 24);
		b->flows = 1 << 20;
		b->flow_base = 0;
		figs[2] = (struct bench_figure){ .name = "new_flows.cycles_per_flow", .unit = "cycles" };
		figs[3] = (struct bench_figure){ .name = "new_flows.per_second",
						 .unit = "Mflows/s (one core, worker time only)" };
		figs[4] = (struct bench_figure){ .name = "new_flows.ratio_to_floor",
						 .unit = "x floor cycles" };
		nfig = 5;
	} else {
		b->flows = sessions;
		b->flow_base = UINT64_MAX; /* the same flows again and again */
		figs[2] = (struct bench_figure){ .name = "forward.cycles_per_packet", .unit = "cycles" };
		figs[3] = (struct bench_figure){ .name = "forward.mpps",
						 .unit = "Mpps (one core, worker time only)" };
		figs[4] = (struct bench_figure){ .name = "forward.ratio_to_floor",
						 .unit = "x floor cycles" };
		figs[5] = (struct bench_figure){ .name = "sessions.bytes_per_session",
						 .unit = "bytes (table + keys + SNAT)" };
		nfig = with_forward ? 6 : 2;
	}
	if (bench_fwd_ports(b, err, sizeof(err)) != 0 ||
	    bench_fwd_dataplane(b, sessions + sessions / 8 + INFLIGHT, 20, policy, err,
				sizeof(err)) != 0) {
		fprintf(stderr, "tollgate-bench: %s\n", err);
		return 1;
	}
	if (with_forward) {
		/* Open every session once (not measured): then all are
		 * established and the runs below only hit. */
		uint64_t lost;
		unsigned long long want = sessions;

		run_once(b, poll_worker, sessions, &lost);
		ctl_stats_sum(&b->ctl, &st);
		if (st.c[DP_CT_CREATED] < want) {
			fprintf(stderr, "tollgate-bench: only %" PRIu64 " of %llu sessions opened\n",
				st.c[DP_CT_CREATED], want);
			return 1;
		}
	}
	for (unsigned r = 0; r < o->runs; r++) {
		uint64_t lost;
		double floor_c = run_once(b, poll_floor, packets, &lost);
		double c;

		bench_figure_add(&figs[0], floor_c);
		bench_figure_add(&figs[1], hz / floor_c / 1e6);
		if (nfig == 2)
			continue;
		c = run_once(b, poll_worker, packets, &lost);
		if (lost != 0) {
			fprintf(stderr, "tollgate-bench: %" PRIu64 " buffers not returned\n", lost);
			return 1;
		}
		bench_figure_add(&figs[2], c);
		bench_figure_add(&figs[3], hz / c / 1e6);
		bench_figure_add(&figs[4], c / floor_c);
	}
	ctl_stats_sum(&b->ctl, &st);
	if (nfig > 2 && st.c[DP_IP_FORWARDED] < packets * o->runs) {
		fprintf(stderr, "tollgate-bench: only %" PRIu64 " packets forwarded; drops:\n",
			st.c[DP_IP_FORWARDED]);
		ctl_stats_print(&b->ctl, stderr, 0);
		return 1;
	}
	if (new_flows && st.c[DP_CT_CREATED] < packets * o->runs) {
		fprintf(stderr, "tollgate-bench: only %" PRIu64 " sessions created\n",
			st.c[DP_CT_CREATED]);
		return 1;
	}
	if (with_forward) {
		size_t mem = ct_memory(b->ctl.dp.workers[0]->ct) +
			     snat_memory(b->ctl.dp.workers[0]->snat_out) +
			     snat_memory(b->ctl.dp.workers[0]->snat_in);

		bench_figure_add(&figs[5], (double)mem / ct_capacity(b->ctl.dp.workers[0]->ct));
	}
	if (nfig == 2)
		snprintf(ctx, sizeof(ctx),
			 "64-byte UDP, one core, net_ring ports, %" PRIu64
			 " packets per run: rx_burst, MAC rewrite, tx_burst",
			 packets);
	else
		snprintf(ctx, sizeof(ctx),
			 "64-byte UDP to %s port 1194, one worker, net_ring ports, %s, %" PRIu64
			 " packets per run, 20 frontend IPs, policy %s; floor and %s alternate in "
			 "each run",
			 new_flows ? "198.51.100.0/25" : "203.0.113.10",
			 new_flows ? "every packet a new flow" : "established flows", packets,
			 policy, o->argv[0]);
	if (!new_flows && with_forward) {
		size_t l = strlen(ctx);

		snprintf(ctx + l, sizeof(ctx) - l, "; %u sessions", sessions);
	}
	bench_report(stdout, o->json, o->argv[0], figs, nfig, ctx);
	ctl_teardown(&b->ctl);
	free(b);
	return 0;
}
