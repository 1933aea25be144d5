/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * snat-exhaustion: how far SNAT goes before ports run out, and what a new
 * flow costs on the way there and past it.
 *
 * For every combination of frontend IPs (--ips, default 1,2,20) and
 * destinations (--dsts, default 1,10,100), a fresh data plane is built and a
 * ramp of new UDP flows is offered: sources drawn without repetition from
 * 198.18.0.0/16 with random source ports, destinations 198.51.100.1 and on,
 * port 1194, round-robin (AzureCloud.eastus in the AKS example policy, so
 * the policy allows them). Every flow is one first packet through the real
 * worker: validation, policy, SNAT allocation, session creation, forward;
 * or, once the destination's ports are all taken, the refusal (counted as
 * drop.snat-exhausted, with the ICMP error the worker sends back).
 *
 * The ramp goes in --steps equal steps to --to percent (default 10 steps
 * to 125 %) of the capacity: frontend IPs x destinations x ports of the
 * worker's slice. The slice is the one worker 0 owns in an appliance of
 * --workers workers (default 16: ports 1024-5055, 4,032 per frontend IP
 * per destination), so that 20 IPs x 100 destinations stay within memory;
 * the per-port behaviour does not depend on the slice's width. One row per
 * step: offered flows, ports in use (the allocator's live count), their
 * utilisation of the capacity, refusals (the counter), and the worker's
 * cycles per offered flow in that step (median, min, max over --runs).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_random.h>
#include <rte_ring.h>
#include <rte_udp.h>

#include "bench/bench.h"
#include "bench/bench_exhaust.h"
#include "dataplane/snat.h"

#define MAX_LIST 8
#define MAX_STEPS 40
#define BURST 256
#define DST_BASE 0xc6336401U  /* 198.51.100.1 */
#define SRC_NET 0xc6120000U   /* 198.18.0.0/16 */

struct exhaust_opts {
	unsigned workers;
	unsigned ips[MAX_LIST], n_ips;
	unsigned dsts[MAX_LIST], n_dsts;
	unsigned steps;
	double to_pct;
};

/* One step of one combination, over the runs. */
struct step {
	uint64_t offered;
	struct bench_figure in_use, refused, cycles;
};

/* A bijection of 32-bit integers (Wellons' lowbias32 after a seed). */
static inline uint32_t
perm32(uint32_t x, uint32_t seed)
{
	x ^= seed;
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/*
 * Flow k's inside endpoint: a distinct (host of 198.18.0.0/16, port >= 1024)
 * for every k < 65,536 x 64,512. x = port << 16 | host; the permutation is
 * walked until it lands in the domain again (cycle walking: still a
 * bijection of the domain; about 1.02 steps on average, and bounded because
 * x's own cycle returns to the domain).
 */
static inline void
flow_endpoint(uint64_t k, uint32_t seed, uint32_t *src, uint16_t *sport)
{
	uint32_t x = (1024U << 16) + (uint32_t)k;

	do
		x = perm32(x, seed);
	while (x < (1024U << 16));
	*src = SRC_NET | (x & 0xffff);
	*sport = (uint16_t)(x >> 16);
}

static inline void
fill(const struct fwd_bench *b, struct rte_mbuf *m, uint64_t k, unsigned n_dsts, uint32_t seed)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint32_t src;
	uint16_t sport;

	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->data_len = m->pkt_len = BENCH_FRAME_LEN;
	m->ol_flags = 0;
	memcpy(p, b->template, BENCH_FRAME_LEN);
	flow_endpoint(k, seed, &src, &sport);
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(DST_BASE + (uint32_t)(k % n_dsts));
	udp->src_port = rte_cpu_to_be_16(sport);
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* Frames the worker sent (forwarded, or ICMP errors back inside) go back to
 * their pools; the control thread's punted work is done too, untimed. */
static void
drain(struct fwd_bench *b)
{
	struct rte_ring *rings[2] = { b->tx_out, b->tx_in };
	struct rte_mbuf *pkts[BURST];
	unsigned n;

	ctl_poll(&b->ctl);
	for (int r = 0; r < 2; r++)
		while ((n = rte_ring_dequeue_burst(rings[r], (void **)pkts, BURST, NULL)) > 0)
			rte_pktmbuf_free_bulk(pkts, n);
}

/* Offer flows [from, to): returns the worker's cycles, or UINT64_MAX when
 * the bench's own pool ran dry (a leak: reported by the caller). */
static uint64_t
offer(struct fwd_bench *b, uint64_t from, uint64_t to, unsigned n_dsts, uint32_t seed)
{
	struct worker *w = b->ctl.dp.workers[0];
	struct rte_mbuf *pkts[BURST];
	uint64_t cycles = 0;

	while (from < to) {
		unsigned n = (unsigned)RTE_MIN(to - from, (uint64_t)BURST), polls;
		uint64_t t0;

		if (rte_pktmbuf_alloc_bulk(b->pool, pkts, n) != 0)
			return UINT64_MAX;
		for (unsigned i = 0; i < n; i++)
			fill(b, pkts[i], from + i, n_dsts, seed);
		rte_ring_enqueue_bulk(b->rx_in, (void **)pkts, n, NULL);
		t0 = rte_rdtsc_precise();
		/* Bounded: the worker takes a burst per poll. */
		for (polls = 0; rte_ring_count(b->rx_in) > 0 && polls < 4 * BURST; polls++)
			worker_poll(w);
		worker_flush(w);
		cycles += rte_rdtsc_precise() - t0;
		drain(b);
		from += n;
	}
	return cycles;
}

/* Worker 0's slice of a `workers`-worker appliance replaces the full range
 * the one-worker data plane was built with (before any traffic). */
static int
narrow_slice(struct fwd_bench *b, unsigned workers)
{
	struct worker *w = b->ctl.dp.workers[0];
	struct snat_params sp = {
		.ips = b->cfg.frontend_ips,
		.n_ips = b->cfg.n_frontend_ips,
		.max_sessions = b->cfg.sessions_per_worker,
		.eim = b->cfg.eim,
		.seed = rte_rand(),
	};
	struct snat_pool *p;
	int ret;

	snat_worker_slice(0, workers, &sp.port_lo, &sp.port_hi);
	ret = snat_create(&sp, &p);
	if (ret != 0)
		return ret;
	snat_destroy(w->snat_out);
	w->snat_out = p;
	return 0;
}

/* One ramp of one combination; adds this run's figures to steps[]. */
static int
ramp(struct fwd_bench *b, const struct exhaust_opts *eo, unsigned n_ips, unsigned n_dsts,
     uint64_t capacity, struct step *steps, uint32_t seed)
{
	uint64_t total = (uint64_t)ceil((double)capacity * eo->to_pct / 100.0), offered = 0;
	struct dp_stats st;
	struct snat_stats ss;
	char err[2048];
	int ret;

	ret = bench_fwd_dataplane(b, (unsigned)(total + total / 8 + 4096), n_ips,
				  TG_SOURCE_DIR "/rules/examples/aks-egress.yaml", err, sizeof(err));
	if (ret == 0 && eo->workers > 1 && narrow_slice(b, eo->workers) != 0) {
		snprintf(err, sizeof(err), "cannot create the narrowed SNAT pool");
		ret = -1;
	}
	if (ret != 0) {
		fprintf(stderr, "tollgate-bench: snat-exhaustion: %s\n", err);
		ctl_teardown(&b->ctl);
		return 1;
	}
	for (unsigned s = 0; s < eo->steps; s++) {
		uint64_t target = total * (s + 1) / eo->steps;
		uint64_t c = offer(b, offered, target, n_dsts, seed);

		if (c == UINT64_MAX) {
			fprintf(stderr, "tollgate-bench: snat-exhaustion: buffers not returned\n");
			ctl_teardown(&b->ctl);
			return 1;
		}
		ctl_stats_sum(&b->ctl, &st);
		snat_stats(b->ctl.dp.workers[0]->snat_out, &ss);
		/* Every offered flow is either a session or a refusal. */
		if (st.c[DP_CT_CREATED] + st.c[DP_DROP_SNAT_EXHAUSTED] != target) {
			fprintf(stderr,
				"tollgate-bench: snat-exhaustion: %" PRIu64 " flows offered, %" PRIu64
				" sessions, %" PRIu64 " refused; counters:\n",
				target, st.c[DP_CT_CREATED], st.c[DP_DROP_SNAT_EXHAUSTED]);
			ctl_stats_print(&b->ctl, stderr, 0);
			ctl_teardown(&b->ctl);
			return 1;
		}
		steps[s].offered = target;
		bench_figure_add(&steps[s].in_use, ss.live);
		bench_figure_add(&steps[s].refused, (double)st.c[DP_DROP_SNAT_EXHAUSTED]);
		bench_figure_add(&steps[s].cycles, (double)c / (double)(target - offered));
		offered = target;
	}
	ctl_teardown(&b->ctl);
	return 0;
}

static int
parse_list(const char *s, unsigned *v, unsigned *n, unsigned max)
{
	char *end;

	*n = 0;
	do {
		unsigned long x = strtoul(s, &end, 10);

		if (end == s || x == 0 || x > max || *n == MAX_LIST)
			return -1;
		v[(*n)++] = (unsigned)x;
		s = end + (*end == ',');
	} while (*end == ',');
	return *end == '\0' ? 0 : -1;
}

static int
parse_opts(const struct bench_opts *o, struct exhaust_opts *eo)
{
	*eo = (struct exhaust_opts){ .workers = 16, .ips = { 1, 2, 20 }, .n_ips = 3,
				     .dsts = { 1, 10, 100 }, .n_dsts = 3, .steps = 10,
				     .to_pct = 125 };
	for (int i = 1; i < o->argc; i++) {
		const char *a = o->argv[i], *v = i + 1 < o->argc ? o->argv[i + 1] : NULL;
		int bad = v == NULL;

		if (!bad && strcmp(a, "--workers") == 0)
			eo->workers = (unsigned)strtoul(v, NULL, 10);
		else if (!bad && strcmp(a, "--ips") == 0)
			bad = parse_list(v, eo->ips, &eo->n_ips, 250);
		else if (!bad && strcmp(a, "--dsts") == 0)
			bad = parse_list(v, eo->dsts, &eo->n_dsts, 127);
		else if (!bad && strcmp(a, "--steps") == 0)
			eo->steps = (unsigned)strtoul(v, NULL, 10);
		else if (!bad && strcmp(a, "--to") == 0)
			eo->to_pct = strtod(v, NULL);
		else
			bad = 1;
		if (bad) {
			fprintf(stderr,
				"%s: bad option %s (--workers N, --ips LIST, --dsts LIST, "
				"--steps N, --to PCT; lists like 1,2,20)\n",
				o->argv[0], a);
			return 2;
		}
		i++;
	}
	if (eo->workers < 1 || eo->workers > DP_MAX_WORKERS || eo->steps < 1 ||
	    eo->steps > MAX_STEPS || !(eo->to_pct > 0 && eo->to_pct <= 400)) {
		fprintf(stderr, "%s: --workers 1..%u, --steps 1..%u, --to 1..400 (percent)\n",
			o->argv[0], DP_MAX_WORKERS, MAX_STEPS);
		return 2;
	}
	return 0;
}

static void
report(const struct bench_opts *o, const struct exhaust_opts *eo, unsigned n_ips,
       unsigned n_dsts, uint64_t capacity, const struct step *steps, bool first)
{
	uint16_t lo, hi;

	snat_worker_slice(0, eo->workers, &lo, &hi);
	if (bench_json_wanted()) {
		for (unsigned s = 0; s < eo->steps; s++) {
			const struct step *st = &steps[s];
			double used = bench_median(&st->in_use);

			bench_json_add("{\"scenario\": \"snat-exhaustion\", \"frontend_ips\": %u, "
				       "\"destinations\": %u, \"ports_per_ip_per_destination\": %u, "
				       "\"capacity\": %" PRIu64 ", \"offered\": %" PRIu64
				       ", \"ports_in_use\": %.0f, \"utilisation_pct\": %.2f, "
				       "\"refused\": %.0f, \"cycles_per_flow\": {\"median\": %.1f, "
				       "\"min\": %.1f, \"max\": %.1f}, \"runs\": %u}",
				       n_ips, n_dsts, hi - lo + 1U, capacity, st->offered, used,
				       100.0 * used / (double)capacity, bench_median(&st->refused),
				       bench_median(&st->cycles), bench_min(&st->cycles),
				       bench_max(&st->cycles), st->cycles.n);
		}
	}
	if (o->json)
		return;
	if (first)
		printf("\nsnat-exhaustion: new UDP flows from 198.18.0.0/16 (random ports) to "
		       "198.51.100.1.. port 1194, AKS example policy,\n"
		       "  worker 0 of %u: ports %u-%u (%u per frontend IP per destination); %s; "
		       "build: %s\n"
		       "  cycles/flow: the worker's cycles per offered flow in the step (policy, "
		       "SNAT, session, forward; or the refusal), median (min-max) of %u runs\n"
		       "  %4s %4s %10s %10s %10s %7s %10s  %s\n",
		       eo->workers, lo, hi, hi - lo + 1U, bench_memory_mode, TG_BUILD_DESC,
		       steps[0].cycles.n, "ips", "dsts", "capacity", "offered", "in use", "util%",
		       "refused", "cycles/flow");
	for (unsigned s = 0; s < eo->steps; s++) {
		const struct step *st = &steps[s];
		double used = bench_median(&st->in_use);

		printf("  %4u %4u %10" PRIu64 " %10" PRIu64 " %10.0f %7.1f %10.0f  %.0f (%.0f-%.0f)\n",
		       n_ips, n_dsts, capacity, st->offered, used, 100.0 * used / (double)capacity,
		       bench_median(&st->refused), bench_median(&st->cycles),
		       bench_min(&st->cycles), bench_max(&st->cycles));
	}
}

int
bench_exhaust_main(const struct bench_opts *o)
{
	static struct step steps[MAX_STEPS];
	struct fwd_bench *b = calloc(1, sizeof(*b));
	unsigned runs = o->runs_given ? o->runs : 3;
	struct exhaust_opts eo;
	uint16_t lo, hi;
	char err[512];
	int ret;

	if (b == NULL)
		return 1;
	ret = parse_opts(o, &eo);
	if (ret == 0 && bench_fwd_ports(b, err, sizeof(err)) != 0) {
		fprintf(stderr, "tollgate-bench: %s\n", err);
		ret = 1;
	}
	snat_worker_slice(0, eo.workers, &lo, &hi);
	/* The SNAT pools come from the C heap and, without hugepages, the
	 * session table from memory the EAL mapped but never touched: the
	 * kernel maps such pages on first touch, so the ramp's first steps
	 * would time page faults, not the data plane. Locked, every page is
	 * mapped up front (all of --mem without hugepages). */
	if (ret == 0 && mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		fprintf(stderr, "tollgate-bench: snat-exhaustion: mlockall: %s (the first step "
				"of each ramp includes page faults)\n", strerror(errno));
	for (unsigned i = 0; ret == 0 && i < eo.n_ips; i++) {
		for (unsigned d = 0; ret == 0 && d < eo.n_dsts; d++) {
			uint64_t capacity = (uint64_t)eo.ips[i] * eo.dsts[d] * (hi - lo + 1U);

			memset(steps, 0, sizeof(steps));
			for (unsigned r = 0; ret == 0 && r < runs; r++)
				ret = ramp(b, &eo, eo.ips[i], eo.dsts[d], capacity, steps,
					   (uint32_t)rte_rand());
			if (ret == 0)
				report(o, &eo, eo.ips[i], eo.dsts[d], capacity, steps,
				       i == 0 && d == 0);
		}
	}
	munlockall();
	free(b);
	return ret;
}
