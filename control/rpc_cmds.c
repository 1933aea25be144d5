/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The commands behind each control request. Each writes its answer as a
 * human table (the default) or as JSON (`format=json`), so that tollctl
 * passes either through unchanged; an error is -errno and a message a user
 * can act on.
 *
 * What the `show` commands read while the workers run: counters (whole
 * 64-bit words, a moment old), the session tables and SNAT pools (each
 * record copied with plain loads: under churn a row may mix two sessions'
 * fields; it is a snapshot for people, not for accounting), the neighbour
 * table (the control thread's own) and the configuration.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "control/control.h"
#include "control/dnsproxy.h"
#include "control/metrics.h"
#include "control/policy_ctl.h"
#include "control/rpc_server.h"
#include "dataplane/ct.h"
#include "dataplane/neigh.h"
#include "rules/policy.h"

#define SESSIONS_DEFAULT_LIMIT 100
#define SESSIONS_MAX_LIMIT 100000

const char *
rpc_req_arg(const struct rpc_req *req, const char *key)
{
	for (unsigned i = 0; i < req->n_args; i++)
		if (strcmp(req->key[i], key) == 0)
			return req->val[i];
	return NULL;
}

/* ------------------------------------------------------------ output */

/* A JSON string. */
static void
jstr(FILE *f, const char *s)
{
	ctl_json_str(f, s, SIZE_MAX);
}

/*
 * Rows of cells, printed as an aligned table or as a JSON array of objects.
 * A column whose name starts with '#' holds numbers (unquoted in JSON).
 */
struct table {
	unsigned ncol;
	const char *const *cols;
	char **cells;
	size_t n, cap;
	bool failed;
};

static void __attribute__((format(printf, 2, 3)))
cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **p = realloc(t->cells, cap * sizeof(*p));

		if (p == NULL) {
			t->failed = true;
			return;
		}
		t->cells = p;
		t->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL) {
		t->failed = true;
		return;
	}
	t->cells[t->n++] = s;
}

static const char *
col_name(const struct table *t, unsigned c)
{
	return t->cols[c][0] == '#' ? t->cols[c] + 1 : t->cols[c];
}

static void
table_emit(struct table *t, FILE *f, bool json)
{
	size_t rows = t->n / t->ncol;
	size_t width[32] = { 0 };

	if (json) {
		fputc('[', f);
		for (size_t r = 0; r < rows; r++) {
			fputs(r ? ",{" : "{", f);
			for (unsigned c = 0; c < t->ncol; c++) {
				const char *v = t->cells[r * t->ncol + c];

				fprintf(f, "%s\"%s\":", c ? "," : "", col_name(t, c));
				if (t->cols[c][0] == '#' && v[0] != '\0' && strcmp(v, "-") != 0)
					fputs(v, f);
				else
					jstr(f, v);
			}
			fputc('}', f);
		}
		fputc(']', f);
		return;
	}
	for (unsigned c = 0; c < t->ncol && c < 32; c++)
		width[c] = strlen(col_name(t, c));
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->cells[i]) > width[i % t->ncol])
			width[i % t->ncol] = strlen(t->cells[i]);
	for (unsigned c = 0; c < t->ncol; c++)
		fprintf(f, "%s%-*s", c ? "  " : "", c + 1 < t->ncol ? (int)width[c] : 0,
			col_name(t, c));
	fputc('\n', f);
	for (size_t r = 0; r < rows; r++) {
		for (unsigned c = 0; c < t->ncol; c++) {
			const char *v = t->cells[r * t->ncol + c];

			if (t->cols[c][0] == '#')
				fprintf(f, "%s%*s", c ? "  " : "", (int)width[c], v);
			else
				fprintf(f, "%s%-*s", c ? "  " : "",
					c + 1 < t->ncol ? (int)width[c] : 0, v);
		}
		fputc('\n', f);
	}
}

static void
table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* A command whose answer is the table alone: print it (JSON: the array on
 * one line), free it; 0, or -ENOMEM if a cell could not be stored. */
static int
table_done(struct table *t, FILE *f, bool json)
{
	bool failed = t->failed;

	if (!failed) {
		table_emit(t, f, json);
		if (json)
			fputc('\n', f);
	}
	table_free(t);
	return failed ? -ENOMEM : 0;
}

static const char *
ip_str(uint32_t host_order, char *buf)
{
	struct in_addr a = { .s_addr = htonl(host_order) };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static const char *
proto_str(uint8_t p, char *buf)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	default:
		snprintf(buf, 8, "%u", p);
		return buf;
	}
}

/* ------------------------------------------------------------ hello */

static int
cmd_hello(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	const struct dp_policy *p = c->dp.policy;

	if (req->json)
		fprintf(f, "{\"protocol\":%u,\"generation\":%u,\"workers\":%u,\"peer\":", RPC_VERSION,
			p ? p->generation : 0, c->dp.n_workers);
	else
		fprintf(f, "tollgate: protocol %u, policy generation %u, %u worker(s); you are ",
			RPC_VERSION, p ? p->generation : 0, c->dp.n_workers);
	if (req->json) {
		jstr(f, req->peer);
		fputs("}\n", f);
	} else {
		fprintf(f, "%s\n", req->peer);
	}
	return 0;
}

/* ------------------------------------------------------------ apply */

struct rpc_pending {
	bool json;
	uint64_t token;                 /* QSBR: every worker uses the new policy */
	uint64_t t0, t_compiled, t_published;
	uint32_t generation, n_rules;
	char *changes;                  /* the diff, already rendered */
	size_t changes_len;
};

void
rpc_cmd_pending_free(struct rpc_pending *p)
{
	if (p == NULL)
		return;
	free(p->changes);
	free(p);
}

static double
ms(const struct ctl *c, uint64_t a, uint64_t b)
{
	return (double)(b - a) * 1000.0 / (double)c->dp.tsc_hz;
}

/* The rules of a diff list, as JSON strings or "  + g/c/r" lines. */
static void
diff_list(FILE *f, const struct policy_ruleset *rs, const uint32_t *ids, uint32_t n, bool json,
	  const char *mark)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct policy_rule_info *ri = policy_rule_info(rs, ids[i]);
		char name[3 * 256];

		snprintf(name, sizeof(name), "%s/%s/%s", ri->group, ri->collection, ri->rule);
		if (json) {
			fputs(i ? "," : "", f);
			jstr(f, name);
		} else {
			fprintf(f, "  %s %s\n", mark, name);
		}
	}
}

static int
render_diff(struct rpc_pending *p, const struct ctl_policy_diff *d,
	    const struct policy_ruleset *old_rs, const struct policy_ruleset *new_rs)
{
	FILE *f = open_memstream(&p->changes, &p->changes_len);

	if (f == NULL)
		return -ENOMEM;
	if (p->json) {
		fputs("\"added\":[", f);
		diff_list(f, new_rs, d->added, d->n_added, true, "");
		fputs("],\"removed\":[", f);
		diff_list(f, old_rs, d->removed, d->n_removed, true, "");
		fputs("],\"changed\":[", f);
		diff_list(f, new_rs, d->changed, d->n_changed, true, "");
		fprintf(f, "],\"unchanged\":%u", d->n_unchanged);
	} else {
		fprintf(f, "rules: %u added, %u removed, %u changed, %u unchanged\n", d->n_added,
			d->n_removed, d->n_changed, d->n_unchanged);
		diff_list(f, new_rs, d->added, d->n_added, false, "+");
		diff_list(f, old_rs, d->removed, d->n_removed, false, "-");
		diff_list(f, new_rs, d->changed, d->n_changed, false, "~");
	}
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int
cmd_apply(struct ctl *c, const struct rpc_req *req, FILE *f, struct rpc_pending **pending)
{
	const char *name = rpc_req_arg(req, "name");
	struct ctl_policy_digest *dg = NULL;
	struct ctl_policy_diff diff = { 0 };
	struct policy_ruleset *rs = NULL;
	const struct dp_policy *old = c->dp.policy;
	struct rpc_pending *p;
	static char err[16384];
	int ret;

	if (req->body == NULL) {
		fprintf(f, "apply: no policy in the request\n");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->json = req->json;
	p->t0 = rte_rdtsc();
	/* Compiled here, on the control thread: the workers go on with the
	 * running policy meanwhile. */
	ret = ctl_policy_compile_digest(name ? name : "policy", req->body, req->body_len, &rs, &dg,
					err, sizeof(err));
	p->t_compiled = rte_rdtsc();
	if (ret == 0) {
		ret = ctl_policy_publish_digest(c, rs, dg, &diff, err, sizeof(err));
		if (ret != 0) {
			policy_ruleset_free(rs);
			ctl_policy_digest_free(dg);
		}
	}
	if (ret != 0) {
		c->stats.c[DP_POLICY_APPLY_FAILED]++;
		fprintf(f, "%s\n", err);
		rpc_cmd_pending_free(p);
		return ret;
	}
	c->stats.c[DP_POLICY_APPLIED]++;
	p->t_published = rte_rdtsc();
	/* A grace period that starts after the swap ends when every worker
	 * has begun a poll with the new pointer. */
	p->token = rte_rcu_qsbr_start(c->dp.qsbr);
	p->generation = c->dp.policy->generation;
	p->n_rules = policy_ruleset_rule_count(c->dp.policy->rs);
	/* `old` is retired, not freed: the grace period just started keeps
	 * it until after this answer is rendered. */
	ret = render_diff(p, &diff, old ? old->rs : NULL, c->dp.policy->rs);
	ctl_policy_diff_free(&diff);
	if (ret != 0) {
		fprintf(f, "applied generation %u, but out of memory for the summary\n",
			p->generation);
		rpc_cmd_pending_free(p);
		return 0;
	}
	*pending = p;
	return 1;
}

int
rpc_cmd_pending_poll(struct ctl *c, struct rpc_pending *p, FILE *f, int *status)
{
	uint64_t now;

	if (rte_rcu_qsbr_check(c->dp.qsbr, p->token, false) != 1)
		return 0;
	now = rte_rdtsc();
	if (p->json)
		fprintf(f, "{\"generation\":%u,\"rules\":%u,%.*s,\"compile_ms\":%.3f,"
			   "\"publish_ms\":%.3f,\"active_ms\":%.3f}\n",
			p->generation, p->n_rules, (int)p->changes_len, p->changes,
			ms(c, p->t0, p->t_compiled), ms(c, p->t_compiled, p->t_published),
			ms(c, p->t0, now));
	else
		fprintf(f, "applied: generation %u, %u rules; compiled in %.3f ms, published in "
			   "%.3f ms, active on every worker %.3f ms after the request\n%.*s",
			p->generation, p->n_rules, ms(c, p->t0, p->t_compiled),
			ms(c, p->t_compiled, p->t_published), ms(c, p->t0, now),
			(int)p->changes_len, p->changes);
	*status = 0;
	rpc_cmd_pending_free(p);
	return 1;
}

/* ------------------------------------------------------------ show rules */

static int
cmd_show_rules(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const cols[] = { "#id", "group", "collection", "rule", "kind",
					    "#priority", "action", "#hits" };
	static const char *const kinds[] = { "dnat", "network", "application" };
	const struct dp_policy *p = c->dp.policy;
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	uint32_t n = p ? policy_ruleset_rule_count(p->rs) : 0;

	for (uint32_t id = 0; id < n; id++) {
		const struct policy_rule_info *ri = policy_rule_info(p->rs, id);

		cell(&t, "%u", id);
		cell(&t, "%s", ri->group);
		cell(&t, "%s", ri->collection);
		cell(&t, "%s", ri->rule);
		cell(&t, "%s", ri->kind <= POLICY_KIND_APPLICATION ? kinds[ri->kind] : "?");
		cell(&t, "%u.%u", ri->group_priority, ri->collection_priority);
		cell(&t, "%s", policy_action_str(ri->action));
		cell(&t, "%lu", ctl_policy_hits(c, p, id));
	}
	if (t.failed) {
		table_free(&t);
		return -ENOMEM;
	}
	/* priority is "group.collection": a string in JSON */
	if (req->json) {
		static const char *const jcols[] = { "#id", "group", "collection", "rule", "kind",
						     "priority", "action", "#hits" };
		t.cols = jcols;
		fprintf(f, "{\"generation\":%u,\"rules\":", p ? p->generation : 0);
		table_emit(&t, f, true);
		fputs("}\n", f);
	} else {
		fprintf(f, "policy generation %u, %u rules (priority: group.collection)\n",
			p ? p->generation : 0, n);
		table_emit(&t, f, false);
	}
	table_free(&t);
	return 0;
}

/* ------------------------------------------------------------ show sessions */

static int
parse_addr_arg(const struct rpc_req *req, const char *key, rte_be32_t *out, FILE *f)
{
	const char *v = rpc_req_arg(req, key);
	struct in_addr a;

	*out = 0;
	if (v == NULL)
		return 0;
	if (inet_pton(AF_INET, v, &a) != 1) {
		fprintf(f, "--%s: expected an IPv4 address, got \"%s\"\n", key, v);
		return -EINVAL;
	}
	*out = a.s_addr;
	return 0;
}

static const char *
rule_name(const struct ctl *c, uint32_t gen, uint32_t id, char *buf, size_t len)
{
	const struct dp_policy *p = ctl_policy_find(c, gen);

	if (id == POLICY_RULE_NONE)
		return "-";
	if (p != NULL && id < policy_ruleset_rule_count(p->rs)) {
		const struct policy_rule_info *ri = policy_rule_info(p->rs, id);

		snprintf(buf, len, "%s/%s/%s", ri->group, ri->collection, ri->rule);
	} else {
		snprintf(buf, len, "#%u@%u", id, gen);
	}
	return buf;
}

static int
cmd_show_sessions(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const cols[] = { "#worker", "proto", "source", "#sport", "destination",
					    "#dport", "translated", "#tport", "state", "rule",
					    "#pkts_fwd", "#pkts_rev", "#idle_timeout_s" };
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	const char *pv = rpc_req_arg(req, "proto"), *lv = rpc_req_arg(req, "limit");
	rte_be32_t src, dst;
	unsigned long limit = SESSIONS_DEFAULT_LIMIT;
	unsigned shown = 0, matched = 0;
	int proto = -1;
	char *end;

	if (parse_addr_arg(req, "src", &src, f) != 0 || parse_addr_arg(req, "dst", &dst, f) != 0)
		return -EINVAL;
	if (pv != NULL) {
		proto = !strcmp(pv, "tcp") ? IPPROTO_TCP : !strcmp(pv, "udp") ? IPPROTO_UDP
			: !strcmp(pv, "icmp") ? IPPROTO_ICMP : -2;
		if (proto == -2) {
			fprintf(f, "--proto: expected tcp, udp or icmp, got \"%s\"\n", pv);
			return -EINVAL;
		}
	}
	if (lv != NULL) {
		limit = strtoul(lv, &end, 10);
		if (*lv == '\0' || *end != '\0' || limit == 0 || limit > SESSIONS_MAX_LIMIT) {
			fprintf(f, "--limit: expected 1..%u, got \"%s\"\n", SESSIONS_MAX_LIMIT, lv);
			return -EINVAL;
		}
	}
	for (unsigned w = 0; w < c->dp.n_workers; w++) {
		struct worker *wk = c->dp.workers[w];
		unsigned cap = ct_capacity(wk->ct);
		uint32_t now_s = __atomic_load_n(&wk->now_s, __ATOMIC_RELAXED);

		for (unsigned i = 0; i < cap; i++) {
			struct ct_session s = *ct_session_at(wk->ct, i); /* a copy: see above */
			char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], x[INET_ADDRSTRLEN], pb[8],
				rn[3 * 256];

			if (s.state == CT_FREE || s.state >= CT_STATE_MAX)
				continue;
			if ((src && s.fwd.src != src && s.fwd.dst != src) ||
			    (dst && s.fwd.dst != dst && s.fwd.src != dst) ||
			    (proto >= 0 && s.fwd.proto != proto))
				continue;
			matched++;
			if (shown == limit)
				continue;
			shown++;
			inet_ntop(AF_INET, &s.fwd.src, a, sizeof(a));
			inet_ntop(AF_INET, &s.fwd.dst, b, sizeof(b));
			cell(&t, "%u", w);
			cell(&t, "%s", proto_str(s.fwd.proto, pb));
			cell(&t, "%s", a);
			cell(&t, "%u", ntohs(s.fwd.sport));
			cell(&t, "%s", b);
			cell(&t, "%u", ntohs(s.fwd.dport));
			/* A packet of fwd leaves as the mirror of rev. */
			if (s.flags & (CT_F_SNAT | CT_F_ISNAT)) {
				inet_ntop(AF_INET, &s.rev.dst, x, sizeof(x));
				cell(&t, "%s", x);
				cell(&t, "%u", ntohs(s.rev.dport));
			} else if (s.flags & CT_F_DNAT) {
				inet_ntop(AF_INET, &s.rev.src, x, sizeof(x));
				cell(&t, "%s", x);
				cell(&t, "%u", ntohs(s.rev.sport));
			} else {
				cell(&t, "-");
				cell(&t, "-");
			}
			cell(&t, "%s", ct_state_name(s.state));
			cell(&t, "%s", rule_name(c, s.generation, s.rule_id, rn, sizeof(rn)));
			cell(&t, "%u", s.pkts[CT_DIR_FWD]);
			cell(&t, "%u", s.pkts[CT_DIR_REV]);
			cell(&t, "%d", s.expire_s > now_s ? (int)(s.expire_s - now_s) : 0);
		}
	}
	if (t.failed) {
		table_free(&t);
		return -ENOMEM;
	}
	if (req->json) {
		fprintf(f, "{\"matched\":%u,\"shown\":%u,\"sessions\":", matched, shown);
		table_emit(&t, f, true);
		fputs("}\n", f);
	} else {
		fprintf(f, "%u session(s) match, %u shown\n", matched, shown);
		table_emit(&t, f, false);
	}
	table_free(&t);
	return 0;
}

/* ------------------------------------------------------------ show snat */

static int
cmd_show_snat(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const cols[] = { "frontend_ip", "#ports_in_use", "#utilisation_pct",
					    "busiest_destinations" };
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	struct snat_view *v = NULL;
	int n = metrics_snat_view(c, &v);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		char ip[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN], pb[8];
		char *top = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&top, &len);

		if (m == NULL)
			break;
		for (unsigned k = 0; k < v[i].n_top; k++)
			fprintf(m, "%s%s %s:%u (%lu)", k ? ", " : "",
				proto_str(v[i].top[k].proto, pb), ip_str(v[i].top[k].dst, d),
				v[i].top[k].dport, v[i].top[k].count);
		fclose(m);
		cell(&t, "%s", ip_str(v[i].ip, ip));
		cell(&t, "%lu", v[i].in_use);
		cell(&t, "%.2f", v[i].utilisation * 100.0);
		cell(&t, "%s", top && top[0] ? top : "-");
		free(top);
	}
	free(v);
	if (t.failed) {
		table_free(&t);
		return -ENOMEM;
	}
	if (req->json) {
		fprintf(f, "{\"health_snat_percent\":%u,\"frontend_ips\":", c->cfg->health_snat_pct);
		table_emit(&t, f, true);
		fputs("}\n", f);
	} else {
		fprintf(f, "SNAT per frontend IP (utilisation: the busiest destination's share of a "
			   "worker's port slice; degraded above %u %%)\n",
			c->cfg->health_snat_pct);
		table_emit(&t, f, false);
	}
	table_free(&t);
	return 0;
}

/* ------------------------------------------------------------ show stats */

static int
cmd_show_stats(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const cols[] = { "name", "#value", "description" };
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	struct dp_stats s;

	ctl_stats_sum(c, &s);
	if (req->json) {
		fputs("{", f);
		for (unsigned k = 0; k < DP_COUNTER_MAX; k++)
			fprintf(f, "%s\"%s\":%lu", k ? "," : "", dp_counter_name(k), s.c[k]);
		fputs("}\n", f);
		return 0;
	}
	for (unsigned k = 0; k < DP_COUNTER_MAX; k++) {
		cell(&t, "%s", dp_counter_name(k));
		cell(&t, "%lu", s.c[k]);
		cell(&t, "%s", dp_counter_desc(k));
	}
	if (!t.failed)
		table_emit(&t, f, false);
	table_free(&t);
	return t.failed ? -ENOMEM : 0;
}

/* ------------------------------------------------------------ show interfaces */

static int
cmd_show_interfaces(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const cols[] = { "name", "#port", "device", "address", "mac", "#mtu",
					    "#rx_packets", "#rx_bytes", "#tx_packets", "#tx_bytes",
					    "#rx_missed", "#rx_errors", "#tx_errors",
					    "#our_rx_packets", "#our_tx_packets" };
	static const enum dp_counter ours[DP_N_IFACES][2] = {
		{ DP_RX_INSIDE_PKTS, DP_TX_INSIDE_PKTS },
		{ DP_RX_OUTSIDE_PKTS, DP_TX_OUTSIDE_PKTS },
	};
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	struct dp_stats s;

	ctl_stats_sum(c, &s);
	for (unsigned i = 0; i < DP_N_IFACES; i++) {
		const struct dp_iface *ifc = &c->dp.ifaces[i];
		struct rte_eth_stats st;
		char a[INET_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE];

		if (rte_eth_stats_get(ifc->port_id, &st) != 0)
			memset(&st, 0, sizeof(st));
		inet_ntop(AF_INET, &ifc->addr, a, sizeof(a));
		rte_ether_format_addr(mac, sizeof(mac), &ifc->mac);
		cell(&t, "%s", ifc->name);
		cell(&t, "%u", ifc->port_id);
		cell(&t, "%s", c->cfg->ifaces[i].device);
		cell(&t, "%s/%u", a, ifc->prefix_len);
		cell(&t, "%s", mac);
		cell(&t, "%u", ifc->mtu);
		cell(&t, "%lu", st.ipackets);
		cell(&t, "%lu", st.ibytes);
		cell(&t, "%lu", st.opackets);
		cell(&t, "%lu", st.obytes);
		cell(&t, "%lu", st.imissed);
		cell(&t, "%lu", st.ierrors);
		cell(&t, "%lu", st.oerrors);
		cell(&t, "%lu", s.c[ours[i][0]]);
		cell(&t, "%lu", s.c[ours[i][1]]);
	}
	if (!t.failed) {
		table_emit(&t, f, req->json);
		fputc('\n', f);
	}
	table_free(&t);
	return t.failed ? -ENOMEM : 0;
}

/* ------------------------------------------------------------ show routes */

static int
cmd_show_routes(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const cols[] = { "prefix", "type", "via", "interface" };
	const struct config *cfg = c->cfg;
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	/* The table the data plane was built with (setup.c): addresses of
	 * our own, connected subnets, static routes, the default gateway,
	 * frontend IPs (ours, on the outside). Routes are fixed at start. */
	for (unsigned r = 0; r < CONFIG_ROLE_COUNT; r++) {
		const struct config_iface *ifc = &cfg->ifaces[r];
		uint32_t mask = ifc->prefix_len ? ~0u << (32 - ifc->prefix_len) : 0;

		cell(&t, "%s/32", ip_str(ifc->addr, a));
		cell(&t, "local");
		cell(&t, "-");
		cell(&t, "%s", ifc->name);
		cell(&t, "%s/%u", ip_str(ifc->addr & mask, a), ifc->prefix_len);
		cell(&t, "connected");
		cell(&t, "-");
		cell(&t, "%s", ifc->name);
	}
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		int role = config_connected_role(cfg, cfg->routes[i].via);

		cell(&t, "%s/%u", ip_str(cfg->routes[i].prefix, a), cfg->routes[i].prefix_len);
		cell(&t, "static");
		cell(&t, "%s", ip_str(cfg->routes[i].via, b));
		cell(&t, "%s", role >= 0 ? cfg->ifaces[role].name : "?");
	}
	if (cfg->has_default_gw) {
		int role = config_connected_role(cfg, cfg->default_gw);

		cell(&t, "0.0.0.0/0");
		cell(&t, "static");
		cell(&t, "%s", ip_str(cfg->default_gw, b));
		cell(&t, "%s", role >= 0 ? cfg->ifaces[role].name : "?");
	}
	for (unsigned i = 0; i < cfg->n_frontend_ips; i++) {
		cell(&t, "%s/32", ip_str(cfg->frontend_ips[i], a));
		cell(&t, "frontend");
		cell(&t, "-");
		cell(&t, "%s", cfg->ifaces[CONFIG_ROLE_OUTSIDE].name);
	}
	return table_done(&t, f, req->json);
}

/* ------------------------------------------------------------ show neighbors */

static int
cmd_show_neighbors(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const names[] = { "free", "incomplete", "reachable", "stale", "failed",
					     "dead" };
	static const char *const cols[] = { "address", "interface", "mac", "state",
					    "#confirmed_s_ago" };
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	unsigned cap = neigh_capacity(c->dp.neigh);
	uint64_t now = rte_rdtsc();

	for (unsigned i = 0; i < cap; i++) {
		struct neigh_entry *e = neigh_at(c->dp.neigh, i);
		char a[INET_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE] = "-";
		struct rte_ether_addr ea;

		if (e == NULL || e->state == NEIGH_FREE || e->state == NEIGH_DEAD)
			continue;
		if (e->mac & NEIGH_VALID) {
			for (unsigned k = 0; k < RTE_ETHER_ADDR_LEN; k++)
				ea.addr_bytes[k] = (uint8_t)(e->mac >> (8 * k));
			rte_ether_format_addr(mac, sizeof(mac), &ea);
		}
		inet_ntop(AF_INET, &e->ip, a, sizeof(a));
		cell(&t, "%s", a);
		cell(&t, "%s", c->dp.ifaces[e->iface % DP_N_IFACES].name);
		cell(&t, "%s", mac);
		cell(&t, "%s", e->state < RTE_DIM(names) ? names[e->state] : "?");
		if (e->confirmed_tsc)
			cell(&t, "%lu", (now - e->confirmed_tsc) / c->dp.tsc_hz);
		else
			cell(&t, "-");
	}
	return table_done(&t, f, req->json);
}

/* ------------------------------------------------------------ metrics, dns */

static int
cmd_metrics(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	(void)req;
	metrics_write(c, f);
	return 0;
}

/* The JSON is the proxy's own (nested: names, their rules, their
 * addresses); grows up to the protocol's limit. */
static int
show_dns_json(struct ctl *c, FILE *f)
{
	size_t cap = 64 * 1024;
	char *buf = NULL;
	int n = -ENOSPC;

	/* Bounded: doubles up to the protocol's limit. */
	while (n == -ENOSPC && cap <= RPC_MAX_PAYLOAD) {
		free(buf);
		buf = malloc(cap);
		if (buf == NULL)
			return -ENOMEM;
		n = dnsproxy_show(c->dns, buf, cap);
		cap *= 2;
	}
	if (n >= 0)
		fprintf(f, "%s\n", buf);
	else
		fprintf(f, "show dns: %s\n", strerror(-n));
	free(buf);
	return n >= 0 ? 0 : n;
}

/* The table: one row per address of each tracked name (one row with "-"
 * for a name nothing resolved yet), soonest expiry first. */
static int
cmd_show_dns(struct ctl *c, const struct rpc_req *req, FILE *f)
{
	static const char *const cols[] = { "name", "address", "#expires_in_s", "rules" };
	static struct dnsproxy_name_view v; /* large; the control thread is single */
	struct table t = { .ncol = RTE_DIM(cols), .cols = cols };
	struct dnsproxy_status st;
	char a[INET_ADDRSTRLEN];

	if (c->dns == NULL) {
		fprintf(f, "the DNS proxy is off (no dns: upstreams in the configuration)\n");
		return -EOPNOTSUPP;
	}
	if (req->json)
		return show_dns_json(c, f);
	dnsproxy_status(c->dns, &st);
	for (unsigned i = 0; dnsproxy_name_at(c->dns, i, &v); i++) {
		char *rules = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&rules, &len);

		if (m == NULL) {
			t.failed = true;
			break;
		}
		for (unsigned k = 0; k < v.n_rules; k++) {
			const struct policy_rule_info *ri = policy_rule_info(v.rs, v.rules[k]);

			fprintf(m, "%s%s/%s/%s", k ? ", " : "", ri ? ri->group : "?",
				ri ? ri->collection : "?", ri ? ri->rule : "?");
		}
		fclose(m);
		for (unsigned k = 0; k < RTE_MAX(v.n_addrs, 1u); k++) {
			/* Selection by expiry: at most 64 addresses a name. */
			unsigned best = k;

			for (unsigned j = k + 1; j < v.n_addrs; j++)
				if (v.expires_in_s[j] < v.expires_in_s[best])
					best = j;
			if (k < v.n_addrs) {
				RTE_SWAP(v.addrs[k], v.addrs[best]);
				RTE_SWAP(v.expires_in_s[k], v.expires_in_s[best]);
			}
			cell(&t, "%s", v.name);
			cell(&t, "%s", k < v.n_addrs ? ip_str(v.addrs[k], a) : "-");
			if (k < v.n_addrs)
				cell(&t, "%u", v.expires_in_s[k]);
			else
				cell(&t, "-");
			cell(&t, "%s", rules && rules[0] ? rules : "-");
		}
		free(rules);
	}
	if (t.failed) {
		table_free(&t);
		return -ENOMEM;
	}
	fprintf(f, "DNS proxy: %u tracked names; cache %u/%u answers; %u upstream queries "
		   "outstanding; addresses kept %u s past their TTL; upstreams",
		st.n_names, st.cache_entries, st.cache_capacity, st.outstanding, st.retention_s);
	for (unsigned i = 0; i < st.n_upstreams; i++)
		fprintf(f, "%s%s", i ? ", " : " ", ip_str(st.upstreams[i], a));
	fputc('\n', f);
	table_emit(&t, f, false);
	table_free(&t);
	return 0;
}

/* ------------------------------------------------------------ dispatch */

typedef int (*cmd_fn)(struct ctl *c, const struct rpc_req *req, FILE *f);

static const cmd_fn cmds[RPC_TYPE_MAX] = {
	[RPC_TYPE_HELLO] = cmd_hello,
	[RPC_TYPE_SHOW_RULES] = cmd_show_rules,
	[RPC_TYPE_SHOW_SESSIONS] = cmd_show_sessions,
	[RPC_TYPE_SHOW_SNAT] = cmd_show_snat,
	[RPC_TYPE_SHOW_STATS] = cmd_show_stats,
	[RPC_TYPE_SHOW_INTERFACES] = cmd_show_interfaces,
	[RPC_TYPE_SHOW_ROUTES] = cmd_show_routes,
	[RPC_TYPE_SHOW_NEIGHBORS] = cmd_show_neighbors,
	[RPC_TYPE_METRICS] = cmd_metrics,
	[RPC_TYPE_SHOW_DNS] = cmd_show_dns,
};

int
rpc_cmd_run(struct ctl *c, const struct rpc_req *req, FILE *out, struct rpc_pending **pending)
{
	if (req->type == RPC_TYPE_APPLY)
		return cmd_apply(c, req, out, pending);
	if (req->type >= RPC_TYPE_MAX || cmds[req->type] == NULL) {
		fprintf(out, "request type %u has no handler\n", req->type);
		return -EOPNOTSUPP;
	}
	return cmds[req->type](c, req, out);
}
