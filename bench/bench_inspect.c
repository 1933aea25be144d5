/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * inspect: new inspected TLS flows through the real worker, with the
 * ClientHellos real clients sent (tests/data/captures, made by
 * tools/capture-hellos.sh; --captures DIR reads another directory).
 *
 * Each flow is what a client's connection costs the worker: SYN (policy:
 * only an application rule could allow it; SNAT; session; inspection
 * context), SYN-ACK, ACK, then the captured hello in the captured
 * segments: held, reassembled, parsed, matched by the Hyperscan database,
 * released in order. Every hello kind runs in each run, one after the
 * other, on a fresh data plane. Flows go in batches of 32 (one burst per
 * step); the generator builds the frames between polls and only the cycles
 * inside worker_poll() are counted.
 *
 * Segments: the capture reader gives a flow's client bytes reassembled,
 * not where the segments ended. Every client in the captures sent full
 * 1,448-byte segments (MSS 1460 less the timestamp option) and the rest
 * in the last one (tcpdump -r shows Chromium's 1448 + 509 and 1448 + 541,
 * the others one segment), so the hello is cut the same way here.
 *
 * Figures: cycles per flow and flows per second of one worker for each
 * hello kind; the memory one flow holds while it is inspected (context +
 * buffer, and with its held segments).
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
#include "tests/dataplane/tcp_frame.h"
#include "tools/tollctl/pcap.h"

#define BATCH 32
#define CLIENTS 200   /* 198.18.1.2 .. 198.18.1.201: the inside neighbours */
#define MSS 1448      /* the captured clients' segment size */
#define HELLO_MAX 16389 /* one TLS record: header + 2^14 */
#define MAX_SEGS ((HELLO_MAX + MSS - 1) / MSS)
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
	"                           management.azure.com, login.microsoftonline.com,\n"
	"                           packages.microsoft.com]\n";

/* The captures replayed, one hello kind each (every one asks for a name
 * the policy allows). */
static const struct {
	const char *kind, *file;
} captures[] = {
	{ "chromium-sni-seg1", "chromium-sni-seg1.pcap" },
	{ "chromium-sni-seg2", "chromium-sni-seg2.pcap" },
	{ "curl", "curl-sll2.pcap" },
	{ "openssl", "openssl-sll.pcap" },
	{ "gnutls", "gnutls-raw.pcap" },
	{ "python", "python-vlan.pcap" },
};

#define N_KINDS RTE_DIM(captures)

struct hello {
	uint8_t b[HELLO_MAX];
	size_t n;
	size_t seg[MAX_SEGS];   /* segment lengths, as captured */
	unsigned nseg;
};

struct ibench {
	struct fwd_bench fb;
	struct hello hello[N_KINDS];
	uint64_t next;      /* flows opened so far: picks address and port */
};

/*
 * The first TLS flow's hello in `path`: the client's first TLS record
 * (a ClientHello fits one), cut into MSS-sized segments. 0, or -1 with
 * a message in err.
 */
static int
read_hello(const char *path, struct hello *h, char *err, size_t errlen)
{
	struct cap_flows *fl;
	const struct cap_flow *c = NULL;
	size_t left;

	if (cap_read_flows(path, HELLO_MAX, &fl, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < cap_flow_count(fl) && c == NULL; i++) {
		const struct cap_flow *f = cap_flow_get(fl, i);

		if (f->srv_port == 443 && f->data_len >= 5 && f->data[0] == 22)
			c = f;
	}
	if (c == NULL) {
		snprintf(err, errlen, "%s: no TLS flow to port 443", path);
		cap_flows_free(fl);
		return -1;
	}
	h->n = 5 + ((size_t)c->data[3] << 8 | c->data[4]);
	if (h->n > c->data_len) {
		snprintf(err, errlen, "%s: the hello is cut: %zu of %zu bytes captured", path,
			 c->data_len, h->n);
		cap_flows_free(fl);
		return -1;
	}
	memcpy(h->b, c->data, h->n);
	h->nseg = 0;
	for (left = h->n; left > 0; left -= h->seg[h->nseg++])
		h->seg[h->nseg] = RTE_MIN(left, (size_t)MSS);
	cap_flows_free(fl);
	return 0;
}

static struct rte_mbuf *
frame(struct ibench *b, int iface, rte_be32_t src, uint16_t sport, rte_be32_t dst,
      uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *data, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(b->fb.pool);
	const struct tcp_frame f = {
		.src_mac = iface == DP_IFACE_INSIDE ? &cl_mac : &gw_mac,
		.dst_mac = &b->fb.ctl.dp.ifaces[iface].mac,
		.src = src, .dst = dst, .sport = sport, .dport = dport,
		.seq = seq, .ack = ack, .flags = flags,
	};
	uint8_t *p;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(TCP_FRAME_HDR_LEN + len));
	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	tcp_frame_build(p, &f, data, len);
	return m;
}

/* Hands `n` frames to a port's RX ring; false (and nothing sent) when a
 * frame could not be built. */
static bool
send_burst(struct rte_ring *ring, struct rte_mbuf **m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (m[i] == NULL) {
			for (unsigned k = 0; k < n; k++)
				rte_pktmbuf_free(m[k]);
			return false;
		}
	}
	return rte_ring_enqueue_burst(ring, (void **)m, n, NULL) == n;
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

/* One batch of flows with hello `h`, start to release. Returns cycles,
 * or 0 when a step did not deliver what it should (the figure would be
 * wrong). */
static uint64_t
batch(struct ibench *b, const struct hello *h)
{
	struct rte_mbuf *syn[BATCH], *in[BATCH * (1 + MAX_SEGS)];
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
	if (!send_burst(b->fb.rx_in, in, BATCH))
		return 0;
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
	if (!send_burst(b->fb.rx_out, in, BATCH))
		return 0;
	cycles += step(b, b->fb.tx_in, BATCH, NULL, &got);
	if (got != BATCH)
		return 0;
	for (unsigned i = 0; i < BATCH; i++) {
		size_t off = 0;

		in[n++] = frame(b, DP_IFACE_INSIDE, cip[i], cport[i], server, 443, ISN + 1,
				SISN + 1, RTE_TCP_ACK_FLAG, NULL, 0);
		for (unsigned k = 0; k < h->nseg; off += h->seg[k++]) {
			uint8_t fl = RTE_TCP_ACK_FLAG;

			if (k + 1 == h->nseg)
				fl |= RTE_TCP_PSH_FLAG;
			in[n++] = frame(b, DP_IFACE_INSIDE, cip[i], cport[i], server, 443,
					ISN + 1 + (uint32_t)off, SISN + 1, fl, h->b + off,
					h->seg[k]);
		}
	}
	/* In bursts of 32: the ring PMD hands the worker 32 at a time. */
	if (!send_burst(b->fb.rx_in, in, n))
		return 0;
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

/* Figures: per hello kind cycles, flows/s and held bytes with its
 * segments; then the held bytes of any flow. */
#define FIGS_PER_KIND 3

struct ifigs {
	struct bench_figure f[N_KINDS * FIGS_PER_KIND + 1];
	char names[N_KINDS * FIGS_PER_KIND][64];
};

static void
name_figures(struct ifigs *g)
{
	static const char *const what[FIGS_PER_KIND][2] = {
		{ "cycles_per_flow", "cycles" },
		{ "flows_per_second", "flows/s (one worker, worker time only)" },
		{ "held_bytes_with_segments", "bytes (context + buffer + held mbufs)" },
	};

	for (unsigned k = 0; k < N_KINDS; k++) {
		for (unsigned j = 0; j < FIGS_PER_KIND; j++) {
			unsigned i = k * FIGS_PER_KIND + j;

			snprintf(g->names[i], sizeof(g->names[i]), "inspect.%s.%s",
				 captures[k].kind, what[j][0]);
			g->f[i] = (struct bench_figure){ .name = g->names[i], .unit = what[j][1] };
		}
	}
	g->f[N_KINDS * FIGS_PER_KIND] = (struct bench_figure){
		.name = "inspect.held_bytes_per_flow", .unit = "bytes (context + buffer)" };
}

/* One run of `flows` flows with hello kind k on a fresh data plane. */
static int
run_kind(struct ibench *b, unsigned k, unsigned flows, const char *policy, struct ifigs *g,
	 char *err, size_t errlen)
{
	const struct hello *h = &b->hello[k];
	double hz = (double)rte_get_tsc_hz();
	uint64_t cycles = 0;
	struct dp_stats st;
	int rc = 0;

	if (setup(b, flows, policy, err, errlen) != 0)
		return -1;
	for (unsigned f = 0; f < flows && rc == 0; f += BATCH) {
		uint64_t c = batch(b, h);

		if (c == 0) {
			snprintf(err, errlen, "inspect %s: a batch lost frames at flow %u",
				 captures[k].kind, f);
			rc = -1;
		}
		cycles += c;
	}
	ctl_stats_sum(&b->fb.ctl, &st);
	if (rc == 0 && st.c[DP_INSPECT_ALLOWED] != flows) {
		snprintf(err, errlen, "inspect %s: %" PRIu64 " flows allowed of %u",
			 captures[k].kind, st.c[DP_INSPECT_ALLOWED], flows);
		rc = -1;
	}
	if (rc == 0) {
		double per = (double)cycles / flows;
		size_t mem = inspect_flow_memory(b->fb.ctl.dp.workers[0]->insp);
		struct bench_figure *f = &g->f[k * FIGS_PER_KIND];

		bench_figure_add(&f[0], per);
		bench_figure_add(&f[1], hz / per);
		bench_figure_add(&f[2], (double)(mem + h->nseg * b->fb.ctl.dp.pool->elt_size));
		if (k == 0)
			bench_figure_add(&g->f[N_KINDS * FIGS_PER_KIND], (double)mem);
	}
	ctl_teardown(&b->fb.ctl);
	return rc;
}

int
bench_inspect_main(const struct bench_opts *o)
{
	struct ibench *b = calloc(1, sizeof(*b));
	struct ifigs *g = calloc(1, sizeof(*g));
	unsigned flows = 100000;
	const char *dir = TG_SOURCE_DIR "/tests/data/captures";
	char policy[] = "/tmp/tollgate-bench-inspect.XXXXXX";
	char err[2048], ctx[1024], path[1024];
	size_t l;
	int fd, rc = 0;

	if (b == NULL || g == NULL) {
		free(b);
		free(g);
		return 1;
	}
	for (int i = 1; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--flows") == 0 && i + 1 < o->argc) {
			flows = (unsigned)strtoul(o->argv[++i], NULL, 10);
		} else if (strcmp(o->argv[i], "--captures") == 0 && i + 1 < o->argc) {
			dir = o->argv[++i];
		} else {
			fprintf(stderr, "inspect: unknown option %s (--flows N, --captures DIR)\n",
				o->argv[i]);
			rc = 2;
		}
	}
	for (unsigned k = 0; rc == 0 && k < N_KINDS; k++) {
		snprintf(path, sizeof(path), "%s/%s", dir, captures[k].file);
		if (read_hello(path, &b->hello[k], err, sizeof(err)) != 0) {
			fprintf(stderr, "inspect: %s\n", err);
			rc = 1;
		}
	}
	if (rc != 0) {
		free(b);
		free(g);
		return rc;
	}
	name_figures(g);
	flows = RTE_MAX(flows - flows % BATCH, (unsigned)BATCH);
	fd = mkstemp(policy);
	if (fd < 0 || write(fd, policy_yaml, sizeof(policy_yaml) - 1) < 0) {
		perror("inspect: policy file");
		free(b);
		free(g);
		return 1;
	}
	close(fd);
	if (bench_fwd_ports(&b->fb, err, sizeof(err)) != 0)
		rc = 1;
	/* The kinds take turns within each run, so that a loaded machine's
	 * slow spell falls on all of them alike. */
	for (unsigned r = 0; rc == 0 && r < o->runs; r++)
		for (unsigned k = 0; rc == 0 && k < N_KINDS; k++)
			rc = run_kind(b, k, flows, policy, g, err, sizeof(err)) != 0;
	unlink(policy);
	if (rc != 0) {
		fprintf(stderr, "tollgate-bench: %s\n", err);
	} else {
		l = (size_t)snprintf(ctx, sizeof(ctx),
				     "%u flows a kind a run: SYN, SYN-ACK, ACK, the hello captured "
				     "in %s, in its segments, allowed and released; hellos:",
				     flows, dir);
		for (unsigned k = 0; k < N_KINDS && l < sizeof(ctx); k++)
			l += (size_t)snprintf(ctx + l, sizeof(ctx) - l, " %s %zu B in %u",
					      captures[k].kind, b->hello[k].n,
					      b->hello[k].nseg);
		bench_report(stdout, o->json, "inspect", g->f, RTE_DIM(g->f), ctx);
	}
	free(b);
	free(g);
	return rc;
}
