/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inspect: new inspected TLS flows through the real worker.
 *
 * Each flow is what a browser's connection costs the worker: SYN (policy:
 * only an application rule could allow it; SNAT; session; inspection
 * context), SYN-ACK, ACK, then a Chrome-like 1.9 KB ClientHello in two
 * segments (the SNI in the second): held, reassembled, parsed twice,
 * matched by the Hyperscan database, released in order. Flows go in
 * batches of 32 (one burst per step); the generator builds the frames
 * between polls and only the cycles inside worker_poll() are counted.
 *
 * Figures: cycles per flow and flows per second of one worker; the memory
 * one flow holds while it is inspected (context + buffer, and the two held
 * buffers).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "bench/bench.h"
#include "bench/bench_forward.h"
#include "bench/bench_inspect.h"
#include "control/control.h"
#include "dataplane/inspect.h"
#include "dataplane/neigh.h"

#define BATCH 32
#define CLIENTS 200   /* 198.18.1.2 .. 198.18.1.201: the inside neighbours */
#define MSS 1448
#define ISN 1000u
#define SISN 9000u

static const struct rte_ether_addr cl_mac = { { 0x02, 0xc1, 0, 0, 0, 0x10 } };
static const struct rte_ether_addr gw_mac = { { 0x02, 0x5e, 0, 0, 0, 0x10 } };

static const char policy_yaml[] =
	"# tollgate-bench inspect: application rules only\n"
	"rule_collection_groups:\n"
	"  - name: g\n"
	"    priority: 100\n"
	"    rule_collections:\n"
	"      - name: web\n"
	"        kind: application\n"
	"        priority: 100\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: names\n"
	"            source_addresses: [\"*\"]\n"
	"            protocols: [\"https:443\"]\n"
	"            target_fqdns: [mcr.microsoft.com, \"*.data.mcr.microsoft.com\",\n"
	"                           management.azure.com, login.microsoftonline.com]\n";

struct hello {
	uint8_t b[4096];
	size_t n;
};

static void
put(struct hello *h, const void *p, size_t n)
{
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void
put16(struct hello *h, unsigned v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(h, x, 2);
}

static void
fill(struct hello *h, uint8_t v, size_t n)
{
	memset(h->b + h->n, v, n);
	h->n += n;
}

/* Chrome's shape: the 1,216-byte ML-KEM share (here as one GREASE
 * extension of that size and more) first, the server_name last. */
static void
chrome_hello(struct hello *o, const char *name)
{
	struct hello hs = { .n = 0 };
	size_t l = strlen(name), pad = 1770;

	put16(&hs, 0x0303);
	fill(&hs, 0x42, 32);
	fill(&hs, 32, 1);
	fill(&hs, 0x17, 32);
	put16(&hs, 4);
	put16(&hs, 0x1301);
	put16(&hs, 0x1302);
	fill(&hs, 1, 1);
	fill(&hs, 0, 1);
	put16(&hs, (unsigned)(4 + pad + 4 + 5 + l));
	put16(&hs, 0x0a0a);
	put16(&hs, (unsigned)pad);
	fill(&hs, 0xaa, pad);
	put16(&hs, 0);
	put16(&hs, (unsigned)(l + 5));
	put16(&hs, (unsigned)(l + 3));
	fill(&hs, 0, 1);
	put16(&hs, (unsigned)l);
	put(&hs, name, l);
	o->n = 0;
	fill(o, 22, 1);
	put16(o, 0x0301);
	put16(o, (unsigned)(hs.n + 4));
	fill(o, 1, 1);
	fill(o, 0, 1);
	put16(o, (unsigned)hs.n);
	put(o, hs.b, hs.n);
}

struct ibench {
	struct fwd_bench fb;
	struct hello hello;
	uint64_t next;      /* flows opened so far: picks address and port */
};

static struct rte_mbuf *
frame(struct ibench *b, int iface, rte_be32_t src, uint16_t sport, rte_be32_t dst,
      uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *data, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(b->fb.pool);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)(54 + len));
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	eth->src_addr = iface == DP_IFACE_INSIDE ? cl_mac : gw_mac;
	eth->dst_addr = b->fb.ctl.dp.ifaces[iface].mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length = rte_cpu_to_be_16((uint16_t)(40 + len)),
		.fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = src,
		.dst_addr = dst,
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*tcp = (struct rte_tcp_hdr){
		.src_port = rte_cpu_to_be_16(sport),
		.dst_port = rte_cpu_to_be_16(dport),
		.sent_seq = rte_cpu_to_be_32(seq),
		.recv_ack = rte_cpu_to_be_32(ack),
		.data_off = 5 << 4,
		.tcp_flags = flags,
		.rx_win = RTE_BE16(65535),
	};
	memcpy(tcp + 1, data, len);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	return m;
}

/* Polls until the worker has sent `want` frames on `ring` (bounded), into
 * `out` when given (else freed). Returns the cycles inside the polls. */
static uint64_t
step(struct ibench *b, struct rte_ring *ring, unsigned want, struct rte_mbuf **out,
     unsigned *got)
{
	struct worker *w = b->fb.ctl.dp.workers[0];
	uint64_t cycles = 0;
	unsigned n = 0;

	for (unsigned polls = 0; n < want && polls < 64; polls++) {
		uint64_t t0 = rte_rdtsc_precise();
		struct rte_mbuf *m[BATCH * 2];
		unsigned k;

		worker_poll(w);
		worker_flush(w);
		cycles += rte_rdtsc_precise() - t0;
		k = rte_ring_dequeue_burst(ring, (void **)m, RTE_DIM(m), NULL);
		for (unsigned i = 0; i < k; i++) {
			if (out != NULL && n + i < want)
				out[n + i] = m[i];
			else
				rte_pktmbuf_free(m[i]);
		}
		n += k;
	}
	*got = RTE_MIN(n, want);
	return cycles;
}

/* One batch of flows, start to release. Returns cycles, or 0 when a step
 * did not deliver what it should (the figure would be wrong). */
static uint64_t
batch(struct ibench *b)
{
	struct rte_mbuf *syn[BATCH], *in[BATCH * 3];
	rte_be32_t cip[BATCH], fip[BATCH];
	uint16_t cport[BATCH], fport[BATCH];
	rte_be32_t server = htonl(0xcb00710a); /* 203.0.113.10 */
	uint64_t cycles = 0;
	unsigned got, n = 0;

	for (unsigned i = 0; i < BATCH; i++) {
		uint64_t f = b->next++;

		cip[i] = htonl(0xc6120102 + (uint32_t)(f % CLIENTS));
		cport[i] = (uint16_t)(1024 + (f / CLIENTS) % 60000);
		in[i] = frame(b, DP_IFACE_INSIDE, cip[i], cport[i], server, 443, ISN, 0,
			      RTE_TCP_SYN_FLAG, NULL, 0);
	}
	rte_ring_enqueue_burst(b->fb.rx_in, (void **)in, BATCH, NULL);
	cycles += step(b, b->fb.tx_out, BATCH, syn, &got);
	if (got != BATCH)
		return 0;
	/* Replies go back to each flow's frontend address; the SYNs leave
	 * in the order they came. */
	for (unsigned i = 0; i < BATCH; i++) {
		const struct rte_ipv4_hdr *ip =
			rte_pktmbuf_mtod_offset(syn[i], const struct rte_ipv4_hdr *, 14);
		const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)(ip + 1);

		fip[i] = ip->src_addr;
		fport[i] = rte_be_to_cpu_16(tcp->src_port);
		rte_pktmbuf_free(syn[i]);
		in[i] = frame(b, DP_IFACE_OUTSIDE, server, 443, fip[i], fport[i], SISN, ISN + 1,
			      RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
	}
	rte_ring_enqueue_burst(b->fb.rx_out, (void **)in, BATCH, NULL);
	cycles += step(b, b->fb.tx_in, BATCH, NULL, &got);
	if (got != BATCH)
		return 0;
	for (unsigned i = 0; i < BATCH; i++) {
		in[n++] = frame(b, DP_IFACE_INSIDE, cip[i], cport[i], server, 443, ISN + 1,
				SISN + 1, RTE_TCP_ACK_FLAG, NULL, 0);
		in[n++] = frame(b, DP_IFACE_INSIDE, cip[i], cport[i], server, 443, ISN + 1,
				SISN + 1, RTE_TCP_ACK_FLAG, b->hello.b, MSS);
		in[n++] = frame(b, DP_IFACE_INSIDE, cip[i], cport[i], server, 443, ISN + 1 + MSS,
				SISN + 1, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, b->hello.b + MSS,
				b->hello.n - MSS);
	}
	/* Three bursts of 32: the ring PMD hands the worker 32 at a time. */
	rte_ring_enqueue_burst(b->fb.rx_in, (void **)in, n, NULL);
	cycles += step(b, b->fb.tx_out, n, NULL, &got);
	return got == n ? cycles : 0;
}

static int
setup(struct ibench *b, unsigned flows, const char *policy, char *err, size_t errlen)
{
	int ret = bench_fwd_dataplane(&b->fb, flows + flows / 4 + 4096, 20, policy, err, errlen);

	for (unsigned i = 0; ret == 0 && i < CLIENTS; i++) {
		struct neigh_entry *e =
			neigh_add(b->fb.ctl.dp.neigh, DP_IFACE_INSIDE, htonl(0xc6120102 + i));

		if (e == NULL) {
			snprintf(err, errlen, "neighbour table");
			return -1;
		}
		neigh_set_mac(e, &cl_mac);
	}
	b->next = 0;
	return ret;
}

int
bench_inspect_main(const struct bench_opts *o)
{
	struct ibench *b = calloc(1, sizeof(*b));
	unsigned flows = 100000;
	struct bench_figure figs[] = {
		{ .name = "inspect.cycles_per_flow", .unit = "cycles" },
		{ .name = "inspect.flows_per_second", .unit = "flows/s (one worker, worker time only)" },
		{ .name = "inspect.held_bytes_per_flow", .unit = "bytes (context + buffer)" },
		{ .name = "inspect.held_bytes_with_segments", .unit = "bytes (+ 2 held mbufs)" },
	};
	char policy[] = "/tmp/tollgate-bench-inspect.XXXXXX";
	double hz = (double)rte_get_tsc_hz();
	char err[2048], ctx[256];
	int fd, rc = 0;

	if (b == NULL)
		return 1;
	for (int i = 1; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--flows") == 0 && i + 1 < o->argc) {
			flows = (unsigned)strtoul(o->argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "inspect: unknown option %s (--flows N)\n", o->argv[i]);
			free(b);
			return 2;
		}
	}
	flows = RTE_MAX(flows - flows % BATCH, (unsigned)BATCH);
	fd = mkstemp(policy);
	if (fd < 0 || write(fd, policy_yaml, sizeof(policy_yaml) - 1) < 0) {
		perror("inspect: policy file");
		free(b);
		return 1;
	}
	close(fd);
	chrome_hello(&b->hello, "mcr.microsoft.com");
	if (bench_fwd_ports(&b->fb, err, sizeof(err)) != 0) {
		fprintf(stderr, "tollgate-bench: %s\n", err);
		rc = 1;
	}
	for (unsigned r = 0; rc == 0 && r < o->runs; r++) {
		uint64_t cycles = 0;
		struct dp_stats st;

		if (setup(b, flows, policy, err, sizeof(err)) != 0) {
			fprintf(stderr, "tollgate-bench: %s\n", err);
			rc = 1;
			break;
		}
		for (unsigned f = 0; f < flows && rc == 0; f += BATCH) {
			uint64_t c = batch(b);

			if (c == 0) {
				fprintf(stderr, "inspect: a batch lost frames at flow %u\n", f);
				rc = 1;
			}
			cycles += c;
		}
		ctl_stats_sum(&b->fb.ctl, &st);
		if (rc == 0 && st.c[DP_INSPECT_ALLOWED] != flows) {
			fprintf(stderr, "inspect: %" PRIu64 " flows allowed of %u\n",
				st.c[DP_INSPECT_ALLOWED], flows);
			rc = 1;
		}
		if (rc == 0) {
			double per = (double)cycles / flows;
			size_t mem = inspect_flow_memory(b->fb.ctl.dp.workers[0]->insp);

			bench_figure_add(&figs[0], per);
			bench_figure_add(&figs[1], hz / per);
			bench_figure_add(&figs[2], (double)mem);
			bench_figure_add(&figs[3],
					 (double)(mem + 2 * b->fb.ctl.dp.pool->elt_size));
		}
		ctl_teardown(&b->fb.ctl);
	}
	unlink(policy);
	if (rc == 0) {
		snprintf(ctx, sizeof(ctx),
			 "%u flows a run: SYN, SYN-ACK, ACK, a %zu-byte hello in 2 segments "
			 "(SNI in the second), allowed and released",
			 flows, b->hello.n);
		bench_report(stdout, o->json, "inspect", figs, RTE_DIM(figs), ctx);
	}
	free(b);
	return rc;
}
