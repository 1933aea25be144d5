/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * update: rule updates under load, in-process (bench/update.sh is the
 * same measurement through the daemon and `tollctl apply`).
 *
 * The data plane of `forward` (bench_forward.c: one worker, net_ring ports,
 * 20 frontend IPs) carries established UDP flows with SNAT, allowed by a
 * policy. While the bench offers packets of those flows, it applies two
 * variants A and B alternately with the control thread's own functions,
 * ctl_policy_compile() and ctl_policy_publish(). A and B allow the flows by
 * different rules, so every apply publishes a new generation and every
 * session is judged again on its next packet (still_allowed() in
 * dataplane/worker.c): none may be lost.
 *
 * The bench thread is generator, worker and sink, as in `forward`. The new
 * policy is active on every worker when each has passed a quiescent state
 * after the publish (what `tollctl apply` waits for, rte_rcu_qsbr on
 * dp->qsbr); with the one worker driven here, that is the end of the first
 * poll after the publish. Each update is timed from the start of the
 * compile to that point.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "bench/bench.h"
#include "bench/bench_forward.h"
#include "bench/bench_update.h"
#include "control/control.h"
#include "rules/policy.h"

#define AKS_POLICY TG_SOURCE_DIR "/rules/examples/aks-egress.yaml"
#define MAX_UPDATES 10000
#define MAX_SESSIONS 1000000
/* Polls until the worker reports quiescent on the new policy: it does so
 * at the end of every poll, so more than one means something is wrong. */
#define ACTIVE_POLL_BOUND 1000

/* Variant B of the AKS example: the flows (UDP to 203.0.113.10:1194, in
 * AzureCloud.eastus, which `apiudp` allows in A) allowed by a rule of their
 * own, in a group before `aks` (priority 200), so it decides them. */
static const char aks_b_extra[] =
	"  - name: bench-b\n"
	"    priority: 100\n"
	"    rule_collections:\n"
	"      - name: flows\n"
	"        kind: network\n"
	"        priority: 100\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: udp1194\n"
	"            protocols: [UDP]\n"
	"            source_addresses: [\"198.18.0.0/15\"]\n"
	"            destination_addresses: [\"203.0.113.0/26\"]\n"
	"            destination_ports: [\"1194\"]\n";

struct policy_text {
	char name[64];
	char *buf;
	size_t len;
};

/* The traffic of one run: what the generator offered, what the sink got. */
struct traffic {
	uint64_t offered;
	uint64_t received;
	uint64_t sent_back;   /* frames the worker sent out of the inside port */
};

static int
read_file(const char *path, struct policy_text *t, const char *extra)
{
	FILE *f = fopen(path, "r");
	FILE *m = open_memstream(&t->buf, &t->len);
	char chunk[4096];
	size_t n;

	if (f == NULL || m == NULL) {
		if (f != NULL)
			fclose(f);
		if (m != NULL)
			fclose(m);
		return -errno;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	if (t->len > 0 && t->buf[t->len - 1] != '\n')
		fputc('\n', m);
	fputs(extra, m);
	return fclose(m) == 0 ? 0 : -ENOMEM;
}

/*
 * A generated policy of `n_rules` network rules in collections of 100 (TCP
 * to distinct addresses and ports of 198.51.100.0/24, none the flows'),
 * and last the collection that allows the flows: in A by one rule, in B by
 * another.
 */
static int
generate(struct policy_text *t, unsigned n_rules, bool variant_b)
{
	FILE *m = open_memstream(&t->buf, &t->len);
	unsigned colls = (n_rules + 99) / 100;

	if (m == NULL)
		return -errno;
	fputs("rule_collection_groups:\n  - name: big\n    priority: 100\n"
	      "    rule_collections:\n", m);
	for (unsigned c = 0; c < colls; c++) {
		fprintf(m, "      - name: c%u\n        kind: network\n        priority: %u\n"
			   "        action: allow\n        rules:\n", c, 100 + c);
		for (unsigned i = c * 100; i < n_rules && i < (c + 1) * 100; i++)
			fprintf(m, "          - name: r%u\n            protocols: [TCP]\n"
				   "            source_addresses: [\"198.18.0.0/15\"]\n"
				   "            destination_addresses: [\"198.51.100.%u\"]\n"
				   "            destination_ports: [\"%u\"]\n",
				i, i % 256, 1024 + i / 256);
	}
	fprintf(m, "      - name: flows\n        kind: network\n        priority: %u\n"
		   "        action: allow\n        rules:\n"
		   "          - name: %s\n            protocols: [UDP]\n"
		   "            source_addresses: [\"198.18.0.0/15\"]\n"
		   "            destination_addresses: [\"%s\"]\n"
		   "            destination_ports: [\"1194\"]\n",
		100 + colls, variant_b ? "udp-b" : "udp-a",
		variant_b ? "203.0.113.0/26" : "203.0.113.10");
	return fclose(m) == 0 ? 0 : -ENOMEM;
}

/* The generator: one burst of the established flows into the inside port. */
static void
offer(struct fwd_bench *b, struct traffic *t)
{
	struct rte_mbuf *pkts[DP_BURST];
	unsigned n;

	if (rte_pktmbuf_alloc_bulk(b->pool, pkts, DP_BURST) != 0)
		return; /* all in flight: offer nothing this poll */
	for (unsigned k = 0; k < DP_BURST; k++)
		bench_fwd_refill(b, pkts[k]);
	n = rte_ring_enqueue_burst(b->rx_in, (void **)pkts, DP_BURST, NULL);
	if (n < DP_BURST)
		rte_pktmbuf_free_bulk(pkts + n, DP_BURST - n);
	t->offered += n;
}

/* The sink: what left by the outside port arrived; anything sent back
 * inside (an ICMP error) did not. */
static void
sink(struct fwd_bench *b, struct traffic *t)
{
	struct rte_mbuf *pkts[256];
	unsigned n;

	while ((n = rte_ring_dequeue_burst(b->tx_out, (void **)pkts, RTE_DIM(pkts), NULL)) > 0) {
		t->received += n;
		rte_pktmbuf_free_bulk(pkts, n);
	}
	while ((n = rte_ring_dequeue_burst(b->tx_in, (void **)pkts, RTE_DIM(pkts), NULL)) > 0) {
		t->sent_back += n;
		rte_pktmbuf_free_bulk(pkts, n);
	}
}

/* Offer `packets` (rounded up to bursts), a burst a poll. */
static void
drive(struct fwd_bench *b, struct traffic *t, uint64_t packets)
{
	struct worker *w = b->ctl.dp.workers[0];
	uint64_t until = t->offered + packets;

	while (t->offered < until) {
		offer(b, t);
		worker_poll(w);
		sink(b, t);
	}
}

/* Everything offered through the worker and out (bounded). */
static void
drain(struct fwd_bench *b, struct traffic *t)
{
	struct worker *w = b->ctl.dp.workers[0];

	for (unsigned i = 0; i < 1000 && rte_ring_count(b->rx_in) > 0; i++) {
		worker_poll(w);
		sink(b, t);
	}
	worker_flush(w);
	sink(b, t);
}

struct update_times {
	double compile_ms, publish_us, active_ms;
};

/*
 * One update under load: compile, publish, then polls (with traffic) until
 * the worker has passed a quiescent state on the new policy.
 */
static int
apply(struct fwd_bench *b, struct traffic *t, const struct policy_text *p,
      struct update_times *ut, char *err, size_t errlen)
{
	struct worker *w = b->ctl.dp.workers[0];
	double ms = 1e3 / (double)rte_get_tsc_hz();
	struct policy_ruleset *rs;
	uint64_t t0, t1, t2, t3 = 0, token;
	unsigned polls;
	int ret;

	t0 = rte_rdtsc_precise();
	ret = ctl_policy_compile(p->name, p->buf, p->len, &rs, err, errlen);
	if (ret != 0)
		return ret;
	t1 = rte_rdtsc_precise();
	ret = ctl_policy_publish(&b->ctl, rs, err, errlen);
	if (ret != 0) {
		policy_ruleset_free(rs);
		return ret;
	}
	t2 = rte_rdtsc_precise();
	token = rte_rcu_qsbr_start(b->ctl.dp.qsbr);
	for (polls = 0; polls < ACTIVE_POLL_BOUND; polls++) {
		offer(b, t);
		worker_poll(w);
		t3 = rte_rdtsc_precise();
		sink(b, t);
		if (rte_rcu_qsbr_check(b->ctl.dp.qsbr, token, false) == 1)
			break;
	}
	if (polls == ACTIVE_POLL_BOUND) {
		snprintf(err, errlen, "the worker did not pass a quiescent state in %u polls",
			 ACTIVE_POLL_BOUND);
		return -ETIMEDOUT;
	}
	/* As the daemon's control loop does: the old policy is freed now. */
	ctl_policy_reclaim(&b->ctl, false);
	ut->compile_ms = (double)(t1 - t0) * ms;
	ut->publish_us = (double)(t2 - t1) * ms * 1e3;
	ut->active_ms = (double)(t3 - t0) * ms;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of n values (sorts them). */
static double
median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { F_COMPILE, F_PUBLISH, F_ACTIVE, F_ACTIVE_MAX, F_LOST, F_REEVAL, F_N };

/*
 * One policy size: the data plane, the sessions opened under A, then
 * `runs` runs of `updates` applies (B, A, B, ...) with 2 x sessions packets
 * between two applies, so that every session is judged again after each.
 */
static int
run_policy(const struct bench_opts *o, struct fwd_bench *b, const struct policy_text pol[2],
	   unsigned sessions, unsigned updates, const char *policy_desc)
{
	struct bench_figure figs[F_N] = {
		[F_COMPILE] = { .name = "update.compile_ms",
				.unit = "ms (load + compile; median of the updates)" },
		[F_PUBLISH] = { .name = "update.publish_us",
				.unit = "us (scratch, hit arrays, swap; median of the updates)" },
		[F_ACTIVE] = { .name = "update.active_ms",
			       .unit = "ms (compile start to active; median of the updates)" },
		[F_ACTIVE_MAX] = { .name = "update.active_ms_max",
				   .unit = "ms (the slowest update of the run)" },
		[F_LOST] = { .name = "update.lost_packets", .unit = "packets (offered - received)" },
		[F_REEVAL] = { .name = "update.sessions_reevaluated",
			       .unit = "sessions (policy.sessions-reevaluated)" },
	};
	double *v[3];
	struct update_times ut;
	struct traffic t = { 0 };
	struct dp_stats st;
	char err[4096], ctx[512];
	int ret = 1;

	for (int k = 0; k < 3; k++)
		v[k] = calloc(updates, sizeof(double));
	if (v[0] == NULL || v[1] == NULL || v[2] == NULL) {
		fprintf(stderr, "tollgate-bench: out of memory\n");
		goto out;
	}
	b->flows = sessions;
	b->next_flow = 0;
	b->flow_base = UINT64_MAX; /* the same flows again and again */
	if (bench_fwd_dataplane(b, sessions + sessions / 8 + 4096, 20, AKS_POLICY, err,
				sizeof(err)) != 0 ||
	    apply(b, &t, &pol[0], &ut, err, sizeof(err)) != 0) {
		fprintf(stderr, "tollgate-bench: %s\n", err);
		goto out;
	}
	/* Open every session under A (not measured). */
	drive(b, &t, sessions);
	drain(b, &t);
	ctl_stats_sum(&b->ctl, &st);
	if (st.c[DP_CT_CREATED] < sessions || t.received != t.offered) {
		fprintf(stderr, "tollgate-bench: %" PRIu64 " of %u sessions opened, %" PRIu64
				" of %" PRIu64 " packets through; counters:\n",
			st.c[DP_CT_CREATED], sessions, t.received, t.offered);
		ctl_stats_print(&b->ctl, stderr, 0);
		goto out;
	}
	for (unsigned r = 0; r < o->runs; r++) {
		uint64_t reeval = st.c[DP_POLICY_REEVALUATED];
		uint64_t lost;

		memset(&t, 0, sizeof(t));
		drive(b, &t, sessions);
		for (unsigned u = 0; u < updates; u++) {
			if (apply(b, &t, &pol[(u + 1) % 2], &ut, err, sizeof(err)) != 0) {
				fprintf(stderr, "tollgate-bench: update %u: %s\n", u, err);
				goto out;
			}
			v[0][u] = ut.compile_ms;
			v[1][u] = ut.publish_us;
			v[2][u] = ut.active_ms;
			drive(b, &t, 2 * (uint64_t)sessions);
		}
		drain(b, &t);
		ctl_stats_sum(&b->ctl, &st);
		lost = t.offered - t.received;
		bench_figure_add(&figs[F_COMPILE], median(v[0], updates));
		bench_figure_add(&figs[F_PUBLISH], median(v[1], updates));
		bench_figure_add(&figs[F_ACTIVE], median(v[2], updates));
		bench_figure_add(&figs[F_ACTIVE_MAX], v[2][updates - 1]); /* sorted */
		bench_figure_add(&figs[F_LOST], (double)lost);
		bench_figure_add(&figs[F_REEVAL], (double)(st.c[DP_POLICY_REEVALUATED] - reeval));
		if (lost != 0) {
			fprintf(stderr, "tollgate-bench: run %u: %" PRIu64 " of %" PRIu64
					" packets lost (%" PRIu64 " sent back inside); counters:\n",
				r, lost, t.offered, t.sent_back);
			ctl_stats_print(&b->ctl, stderr, 0);
		}
	}
	snprintf(ctx, sizeof(ctx),
		 "%s; %u updates a run alternating A and B (different rules allow the flows), "
		 "%u established UDP flows with SNAT to 203.0.113.10:1194, one worker, net_ring "
		 "ports, 32 packets offered a poll and %u between updates (none during compile and "
		 "publish, which share the thread); %" PRIu64 " reevaluations expected a run",
		 policy_desc, updates, sessions, 2 * sessions, (uint64_t)sessions * updates);
	bench_report(stdout, o->json, o->argv[0], figs, F_N, ctx);
	ret = bench_max(&figs[F_LOST]) == 0 ? 0 : 1;
out:
	ctl_teardown(&b->ctl);
	for (int k = 0; k < 3; k++)
		free(v[k]);
	return ret;
}

static int
parse_opts(const struct bench_opts *o, unsigned *sessions, unsigned *updates, unsigned *rules)
{
	for (int i = 1; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--sessions") == 0 && i + 1 < o->argc)
			*sessions = (unsigned)strtoul(o->argv[++i], NULL, 10);
		else if (strcmp(o->argv[i], "--updates") == 0 && i + 1 < o->argc)
			*updates = (unsigned)strtoul(o->argv[++i], NULL, 10);
		else if (strcmp(o->argv[i], "--rules") == 0 && i + 1 < o->argc)
			*rules = (unsigned)strtoul(o->argv[++i], NULL, 10);
		else {
			fprintf(stderr, "%s: unknown option %s (--sessions N, --updates N, --rules N)\n",
				o->argv[0], o->argv[i]);
			return 2;
		}
	}
	if (*sessions == 0 || *sessions > MAX_SESSIONS || *updates == 0 ||
	    *updates > MAX_UPDATES || *rules > 100000) {
		fprintf(stderr, "%s: --sessions must be 1..%d, --updates 1..%d, --rules 0..100000\n",
			o->argv[0], MAX_SESSIONS, MAX_UPDATES);
		return 2;
	}
	return 0;
}

int
bench_update_main(const struct bench_opts *o)
{
	struct fwd_bench *b = calloc(1, sizeof(*b));
	struct policy_text pol[2] = { { .name = "aks-egress-a.yaml" },
				      { .name = "aks-egress-b.yaml" } };
	unsigned sessions = 10000, updates = 100, rules = 0;
	char err[256], desc[160];
	int ret;

	if (b == NULL)
		return 1;
	ret = parse_opts(o, &sessions, &updates, &rules);
	if (ret != 0)
		goto out;
	if (rules == 0) {
		ret = read_file(AKS_POLICY, &pol[0], "");
		if (ret == 0)
			ret = read_file(AKS_POLICY, &pol[1], aks_b_extra);
		snprintf(desc, sizeof(desc),
			 "policy: A the AKS example (rules/examples/aks-egress.yaml), B the same "
			 "and a group before it whose one rule allows the flows");
	} else {
		snprintf(pol[0].name, sizeof(pol[0].name), "generated-%u-a.yaml", rules);
		snprintf(pol[1].name, sizeof(pol[1].name), "generated-%u-b.yaml", rules);
		ret = generate(&pol[0], rules, false);
		if (ret == 0)
			ret = generate(&pol[1], rules, true);
		snprintf(desc, sizeof(desc),
			 "policy: %u generated network rules and last the one allowing the flows "
			 "(A and B by different rules)", rules);
	}
	if (ret != 0) {
		fprintf(stderr, "tollgate-bench: policy text: %s\n", strerror(-ret));
		ret = 1;
		goto out;
	}
	if (bench_fwd_ports(b, err, sizeof(err)) != 0) {
		fprintf(stderr, "tollgate-bench: %s\n", err);
		ret = 1;
		goto out;
	}
	ret = run_policy(o, b, pol, sessions, updates, desc);
out:
	free(pol[0].buf);
	free(pol[1].buf);
	free(b);
	return ret;
}
