/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prometheus metrics, the health probe and the HTTP/1.1 server for both.
 *
 * The server is the smallest one that a scraper and a load balancer need:
 * GET /metrics and GET /healthz, anything else 404 (or 405 for another
 * method); the request head is bounded (HTTP_MAX_HEAD, else 431) and must
 * arrive within HTTP_IDLE_S; every response closes the connection. It runs
 * in the control loop with non-blocking sockets and one zero-timeout
 * poll(2), at most HTTP_MAX_CONNS clients.
 *
 * Cost of a scrape: the session gauges walk every worker's session table
 * (sessions.per_worker records of 64 bytes: about 5 ms for 262,144 on one
 * core) and the SNAT gauges every worker's port-space table, on the control
 * thread: the slow path waits that long once per scrape.
 *
 * Liveness without touching the workers: the control thread starts a QSBR
 * grace period every 100 ms and notes, per worker, the last period that
 * worker has passed (its counter in the QSBR variable reached the token).
 * A worker that has not passed one for more than a second is stalled.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "control/control.h"
#include "control/metrics.h"
#include "control/policy_ctl.h"
#include "dataplane/ct.h"
#include "dataplane/snat.h"
#include "rules/policy.h"

#define HTTP_MAX_CONNS 16
#define HTTP_MAX_HEAD 4096
#define HTTP_IDLE_S 5
#define TICK_MS 100
#define STALL_MS 1000

struct http_conn {
	int fd;
	uint64_t start_tsc;
	size_t in_len;
	char in[HTTP_MAX_HEAD];
	char *out;                  /* the whole response */
	size_t out_len, out_off;
};

struct metrics_http {
	int lfd;                    /* -1: no listener (metrics.listen not set) */
	unsigned n;
	struct http_conn conns[HTTP_MAX_CONNS];
	/* liveness */
	uint64_t last_tick_tsc;
	uint64_t probe_token, probe_tsc;
	uint64_t alive_tsc[DP_MAX_WORKERS];   /* last grace period passed */
	/* busy ratio over the last tick window */
	uint64_t prev_busy[DP_MAX_WORKERS], prev_poll[DP_MAX_WORKERS];
	double busy_ratio[DP_MAX_WORKERS];
};

/* ------------------------------------------------------------ liveness */

void
metrics_tick(struct ctl *c)
{
	struct metrics_http *m = c->metrics;
	uint64_t now = rte_rdtsc();

	if (m == NULL || now - m->last_tick_tsc < c->dp.tsc_hz / 1000 * TICK_MS)
		return;
	m->last_tick_tsc = now;
	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		const struct worker *w = c->dp.workers[i];
		/* The counter each worker stores at its quiescent state: the
		 * token it saw (0 while offline). */
		uint64_t cnt = __atomic_load_n(&c->dp.qsbr->qsbr_cnt[i].cnt, __ATOMIC_ACQUIRE);
		uint64_t busy, poll;

		if (cnt != 0 && cnt >= m->probe_token)
			m->alive_tsc[i] = m->probe_tsc;
		busy = __atomic_load_n(&w->busy_tsc, __ATOMIC_RELAXED);
		poll = __atomic_load_n(&w->poll_tsc, __ATOMIC_RELAXED);
		m->busy_ratio[i] = poll > m->prev_poll[i]
					   ? (double)(busy - m->prev_busy[i]) /
						     (double)(poll - m->prev_poll[i])
					   : 0.0;
		m->prev_busy[i] = busy;
		m->prev_poll[i] = poll;
	}
	m->probe_token = rte_rcu_qsbr_start(c->dp.qsbr);
	m->probe_tsc = now;
}

/* ------------------------------------------------------------ SNAT view */

struct view_ctx {
	struct snat_view *v;
	unsigned n_ips;
	const uint32_t *ips;
	unsigned slice;
};

static void
view_space(void *arg, const struct snat_space *sp)
{
	struct view_ctx *x = arg;
	struct snat_view *v;
	unsigned k, min = 0;
	double u;

	if (sp->fidx >= x->n_ips)
		return;
	v = &x->v[sp->fidx];
	u = (double)sp->count / (double)x->slice;
	if (u > v->utilisation)
		v->utilisation = u;
	/* The same destination on several workers adds up. */
	for (k = 0; k < v->n_top; k++)
		if (v->top[k].proto == sp->proto && v->top[k].dst == sp->dst &&
		    v->top[k].dport == sp->dport)
			break;
	if (k == v->n_top) {
		if (v->n_top < SNAT_VIEW_TOP) {
			v->n_top++;
		} else {
			for (unsigned j = 1; j < v->n_top; j++)
				if (v->top[j].count < v->top[min].count)
					min = j;
			if (v->top[min].count >= sp->count)
				return;
			k = min;
		}
		v->top[k].proto = sp->proto;
		v->top[k].dst = sp->dst;
		v->top[k].dport = sp->dport;
		v->top[k].count = 0;
	}
	v->top[k].count += sp->count;
}

int
metrics_snat_view(struct ctl *c, struct snat_view **out)
{
	const struct config *cfg = c->cfg;
	struct view_ctx x = { 0 };

	x.n_ips = cfg->n_frontend_ips ? cfg->n_frontend_ips : 1;
	x.ips = cfg->n_frontend_ips ? cfg->frontend_ips : &cfg->ifaces[CONFIG_ROLE_OUTSIDE].addr;
	x.v = calloc(x.n_ips, sizeof(*x.v));
	if (x.v == NULL)
		return -ENOMEM;
	for (unsigned f = 0; f < x.n_ips; f++)
		x.v[f].ip = x.ips[f];
	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		const struct snat_pool *p = c->dp.workers[i]->snat_out;

		if (p == NULL)
			continue;
		x.slice = snat_slice_ports(p);
		for (unsigned f = 0; f < x.n_ips; f++) {
			unsigned used = snat_ip_in_use(p, f);

			x.v[f].in_use += used;
			/* EIM: a mapping holds its port towards every destination */
			if (cfg->eim && (double)used / x.slice > x.v[f].utilisation)
				x.v[f].utilisation = (double)used / x.slice;
		}
		snat_spaces(p, view_space, &x);
	}
	for (unsigned f = 0; f < x.n_ips; f++) { /* busiest first: insertion sort of <= 5 */
		struct snat_view *v = &x.v[f];

		for (unsigned a = 1; a < v->n_top; a++)
			for (unsigned b = a; b > 0 && v->top[b].count > v->top[b - 1].count; b--) {
				__typeof__(v->top[0]) t = v->top[b];

				v->top[b] = v->top[b - 1];
				v->top[b - 1] = t;
			}
		if (v->utilisation > 1.0)
			v->utilisation = 1.0;
	}
	*out = x.v;
	return (int)x.n_ips;
}

/* ------------------------------------------------------------ health */

bool
metrics_health(struct ctl *c, char *why, size_t len)
{
	struct metrics_http *m = c->metrics;
	uint64_t now = rte_rdtsc(), hz = c->dp.tsc_hz;
	struct snat_view *v = NULL;
	int n = metrics_snat_view(c, &v);
	bool ok = true;

	for (int f = 0; f < n && ok; f++) {
		struct in_addr a = { .s_addr = htonl(v[f].ip) };

		if (v[f].utilisation * 100.0 > (double)c->cfg->health_snat_pct) {
			snprintf(why, len, "SNAT utilisation of %s is %.0f %% (above %u %%)",
				 inet_ntoa(a), v[f].utilisation * 100.0, c->cfg->health_snat_pct);
			ok = false;
		}
	}
	free(v);
	for (unsigned i = 0; ok && m != NULL && i < c->dp.n_workers; i++) {
		uint64_t quiet = now - m->alive_tsc[i];

		if (quiet > hz / 1000 * STALL_MS) {
			snprintf(why, len, "worker %u stalled: no quiescent state for %.1f s", i,
				 (double)quiet / (double)hz);
			ok = false;
		}
	}
	if (ok)
		snprintf(why, len, "ok");
	return ok;
}

/* ------------------------------------------------------------ exposition */

/* A label value: backslash, quote and newline escaped. */
static void
label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Which list each counter comes from, from the X-macros themselves. */
#define MARK(e, n, d) [DP_##e] = 1,
static const uint8_t is_inspect[DP_COUNTER_MAX] = { DP_COUNTERS_INSPECT(MARK) };
static const uint8_t is_dns[DP_COUNTER_MAX] = { DP_COUNTERS_DNS(MARK) };
#undef MARK

static const enum dp_counter iface_counters[DP_N_IFACES][2][2] = {
	/* [iface][rx, tx][packets, bytes] */
	{ { DP_RX_INSIDE_PKTS, DP_RX_INSIDE_BYTES }, { DP_TX_INSIDE_PKTS, DP_TX_INSIDE_BYTES } },
	{ { DP_RX_OUTSIDE_PKTS, DP_RX_OUTSIDE_BYTES }, { DP_TX_OUTSIDE_PKTS, DP_TX_OUTSIDE_BYTES } },
};

static bool
is_iface_counter(unsigned k)
{
	for (unsigned i = 0; i < DP_N_IFACES; i++)
		for (unsigned d = 0; d < 2; d++)
			if (iface_counters[i][d][0] == k || iface_counters[i][d][1] == k)
				return true;
	return false;
}

/* "rpc.too-many-clients" -> "rpc_too_many_clients" */
static void
metric_name(char *out, size_t len, const char *name)
{
	size_t i;

	for (i = 0; name[i] && i + 1 < len; i++)
		out[i] = (name[i] == '.' || name[i] == '-') ? '_' : name[i];
	out[i] = '\0';
}

static void
write_counters(struct ctl *c, FILE *f, const struct dp_stats *s)
{
	static const char *const dir[2] = { "rx", "tx" };
	char name[96];

	family(f, "tollgate_interface_packets_total", "counter",
	       "Frames received and sent, per interface and direction.");
	for (unsigned i = 0; i < DP_N_IFACES; i++)
		for (unsigned d = 0; d < 2; d++)
			fprintf(f, "tollgate_interface_packets_total{interface=\"%s\",direction=\"%s\"} %lu\n",
				c->dp.ifaces[i].name, dir[d], s->c[iface_counters[i][d][0]]);
	family(f, "tollgate_interface_bytes_total", "counter",
	       "Bytes received and sent, per interface and direction.");
	for (unsigned i = 0; i < DP_N_IFACES; i++)
		for (unsigned d = 0; d < 2; d++)
			fprintf(f, "tollgate_interface_bytes_total{interface=\"%s\",direction=\"%s\"} %lu\n",
				c->dp.ifaces[i].name, dir[d], s->c[iface_counters[i][d][1]]);
	family(f, "tollgate_drops_total", "counter",
	       "Packets discarded, by reason (each packet under exactly one).");
	for (unsigned k = 0; k < DP_COUNTER_MAX; k++)
		if (strncmp(dp_counter_name(k), "drop.", 5) == 0)
			fprintf(f, "tollgate_drops_total{reason=\"%s\"} %lu\n",
				dp_counter_name(k) + 5, s->c[k]);
	family(f, "tollgate_inspection_total", "counter",
	       "TLS SNI / HTTP Host inspection outcomes and events.");
	for (unsigned k = 0; k < DP_COUNTER_MAX; k++)
		if (is_inspect[k] && strncmp(dp_counter_name(k), "drop.", 5) != 0)
			fprintf(f, "tollgate_inspection_total{outcome=\"%s\"} %lu\n",
				dp_counter_name(k) + strlen("inspect."), s->c[k]);
	family(f, "tollgate_dns_total", "counter", "DNS proxy events.");
	for (unsigned k = 0; k < DP_COUNTER_MAX; k++)
		if (is_dns[k] && strncmp(dp_counter_name(k), "drop.", 5) != 0)
			fprintf(f, "tollgate_dns_total{event=\"%s\"} %lu\n",
				dp_counter_name(k) + strlen("dns."), s->c[k]);
	/* The rest, one family each, named after the counter. */
	for (unsigned k = 0; k < DP_COUNTER_MAX; k++) {
		if (is_inspect[k] || is_dns[k] || is_iface_counter(k) ||
		    strncmp(dp_counter_name(k), "drop.", 5) == 0)
			continue;
		metric_name(name, sizeof(name), dp_counter_name(k));
		fprintf(f, "# HELP tollgate_%s_total %s\n# TYPE tollgate_%s_total counter\n"
			   "tollgate_%s_total %lu\n",
			name, dp_counter_desc(k), name, name, s->c[k]);
	}
}

static void
write_nic(struct ctl *c, FILE *f)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fields[] = {
		{ "tollgate_nic_missed_packets_total", "Frames the NIC dropped: no receive descriptor.",
		  offsetof(struct rte_eth_stats, imissed) },
		{ "tollgate_nic_rx_errors_total", "Erroneous frames received, per the NIC.",
		  offsetof(struct rte_eth_stats, ierrors) },
		{ "tollgate_nic_tx_errors_total", "Failed transmissions, per the NIC.",
		  offsetof(struct rte_eth_stats, oerrors) },
		{ "tollgate_nic_rx_nombuf_total", "Receive buffer allocation failures, per the NIC.",
		  offsetof(struct rte_eth_stats, rx_nombuf) },
	};
	struct rte_eth_stats st[DP_N_IFACES];

	for (unsigned i = 0; i < DP_N_IFACES; i++)
		if (rte_eth_stats_get(c->dp.ifaces[i].port_id, &st[i]) != 0)
			memset(&st[i], 0, sizeof(st[i]));
	for (unsigned k = 0; k < RTE_DIM(fields); k++) {
		family(f, fields[k].name, "counter", fields[k].help);
		for (unsigned i = 0; i < DP_N_IFACES; i++) {
			uint64_t v;

			memcpy(&v, (const char *)&st[i] + fields[k].off, sizeof(v));
			fprintf(f, "%s{interface=\"%s\"} %lu\n", fields[k].name, c->dp.ifaces[i].name,
				v);
		}
	}
}

static void
write_sessions(struct ctl *c, FILE *f)
{
	static const char *const protos[] = { "tcp", "udp", "icmp", "other" };
	uint64_t n[4][CT_STATE_MAX] = { { 0 } };
	uint64_t cap = 0;

	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		struct ct_table *t = c->dp.workers[i]->ct;
		unsigned max = ct_capacity(t);

		cap += max;
		for (unsigned j = 0; j < max; j++) {
			const struct ct_session *s = ct_session_at(t, j);
			uint8_t st = __atomic_load_n(&s->state, __ATOMIC_RELAXED);
			uint8_t p = s->fwd.proto;

			if (st == CT_FREE || st >= CT_STATE_MAX)
				continue;
			n[p == IPPROTO_TCP ? 0 : p == IPPROTO_UDP ? 1 : p == IPPROTO_ICMP ? 2 : 3][st]++;
		}
	}
	family(f, "tollgate_sessions", "gauge", "Sessions held, by protocol and state.");
	for (unsigned p = 0; p < 4; p++)
		for (unsigned st = 1; st < CT_STATE_MAX; st++)
			if (n[p][st] != 0 || (p == 0 && st == CT_TCP_ESTABLISHED) ||
			    (p == 1 && st == CT_UDP))
				fprintf(f, "tollgate_sessions{protocol=\"%s\",state=\"%s\"} %lu\n",
					protos[p], ct_state_name(st), n[p][st]);
	family(f, "tollgate_sessions_capacity", "gauge", "Sessions the tables can hold in all.");
	fprintf(f, "tollgate_sessions_capacity %lu\n", cap);
}

static void
write_snat(struct ctl *c, FILE *f)
{
	struct snat_view *v = NULL;
	int n = metrics_snat_view(c, &v);
	uint64_t exhausted = 0;
	char ip[INET_ADDRSTRLEN];

	family(f, "tollgate_snat_ports_in_use", "gauge",
	       "SNAT allocations (reply tuples) held, per frontend IP.");
	for (int i = 0; i < n; i++) {
		struct in_addr a = { .s_addr = htonl(v[i].ip) };

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		fprintf(f, "tollgate_snat_ports_in_use{frontend_ip=\"%s\"} %lu\n", ip, v[i].in_use);
	}
	family(f, "tollgate_snat_utilisation_ratio", "gauge",
	       "Share of a worker's port slice held towards the busiest destination, per frontend IP.");
	for (int i = 0; i < n; i++) {
		struct in_addr a = { .s_addr = htonl(v[i].ip) };

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		fprintf(f, "tollgate_snat_utilisation_ratio{frontend_ip=\"%s\"} %.6f\n", ip,
			v[i].utilisation);
	}
	free(v);
	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		struct snat_stats st;

		if (c->dp.workers[i]->snat_out == NULL)
			continue;
		snat_stats(c->dp.workers[i]->snat_out, &st);
		exhausted += st.exhausted;
	}
	family(f, "tollgate_snat_allocation_failures_total", "counter",
	       "SNAT port allocations that found no free port on any frontend IP.");
	fprintf(f, "tollgate_snat_allocation_failures_total %lu\n", exhausted);
}

static void
write_policy(struct ctl *c, FILE *f)
{
	const struct dp_policy *p = c->dp.policy;
	uint32_t n = p ? policy_ruleset_rule_count(p->rs) : 0;

	family(f, "tollgate_policy_generation", "gauge",
	       "Generation of the running policy (0: none loaded).");
	fprintf(f, "tollgate_policy_generation %u\n", p ? p->generation : 0);
	family(f, "tollgate_policy_rules", "gauge", "Rules in the running policy.");
	fprintf(f, "tollgate_policy_rules %u\n", n);
	family(f, "tollgate_rule_hits_total", "counter",
	       "Flows each rule decided (kept across applies while the rule is unchanged).");
	for (uint32_t id = 0; id < n; id++) {
		const struct policy_rule_info *ri = policy_rule_info(p->rs, id);

		fputs("tollgate_rule_hits_total{group=", f);
		label(f, ri->group);
		fputs(",collection=", f);
		label(f, ri->collection);
		fputs(",rule=", f);
		label(f, ri->rule);
		fprintf(f, ",action=\"%s\"} %lu\n", policy_action_str(ri->action),
			ctl_policy_hits(c, p, id));
	}
}

static void
write_workers(struct ctl *c, FILE *f)
{
	struct metrics_http *m = c->metrics;
	char why[160];
	bool ok = metrics_health(c, why, sizeof(why));

	family(f, "tollgate_worker_busy_ratio", "gauge",
	       "Share of the worker's time spent on polls that found work, over the last 100 ms.");
	for (unsigned i = 0; i < c->dp.n_workers; i++)
		fprintf(f, "tollgate_worker_busy_ratio{worker=\"%u\"} %.4f\n", i,
			m ? m->busy_ratio[i] : 0.0);
	family(f, "tollgate_worker_busy_seconds_total", "counter",
	       "Time the worker spent on polls that found work.");
	for (unsigned i = 0; i < c->dp.n_workers; i++)
		fprintf(f, "tollgate_worker_busy_seconds_total{worker=\"%u\"} %.6f\n", i,
			(double)__atomic_load_n(&c->dp.workers[i]->busy_tsc, __ATOMIC_RELAXED) /
				(double)c->dp.tsc_hz);
	family(f, "tollgate_worker_quiescent_age_seconds", "gauge",
	       "Time since the worker last reported a quiescent state (stalled above 1).");
	for (unsigned i = 0; i < c->dp.n_workers; i++)
		fprintf(f, "tollgate_worker_quiescent_age_seconds{worker=\"%u\"} %.3f\n", i,
			m ? (double)(rte_rdtsc() - m->alive_tsc[i]) / (double)c->dp.tsc_hz : 0.0);
	family(f, "tollgate_healthy", "gauge", "1 when /healthz answers ok, 0 when degraded.");
	fprintf(f, "tollgate_healthy %d\n", ok ? 1 : 0);
}

void
metrics_write(struct ctl *c, FILE *f)
{
	struct dp_stats s;

	ctl_stats_sum(c, &s);
	write_counters(c, f, &s);
	write_nic(c, f);
	write_sessions(c, f);
	write_snat(c, f);
	write_policy(c, f);
	write_workers(c, f);
}

/* ------------------------------------------------------------ HTTP */

int
metrics_open(struct ctl *c, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct metrics_http *m = calloc(1, sizeof(*m));
	uint64_t now = rte_rdtsc();
	int one = 1;

	if (m == NULL)
		return -ENOMEM;
	m->lfd = -1;
	m->last_tick_tsc = now;
	m->probe_tsc = now;
	for (unsigned i = 0; i < DP_MAX_WORKERS; i++)
		m->alive_tsc[i] = now;
	c->metrics = m;
	if (!cfg->metrics_enabled)
		return 0;
	sa.sin_addr.s_addr = htonl(cfg->metrics_addr);
	sa.sin_port = htons(cfg->metrics_port);
	m->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(m->lfd, 16) != 0) {
		int e = errno;
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &sa.sin_addr, a, sizeof(a));
		snprintf(err, errlen, "metrics.listen: cannot listen on %s:%u: %s", a,
			 cfg->metrics_port, strerror(e));
		metrics_close(c);
		return -e;
	}
	return 0;
}

static void
http_close(struct metrics_http *m, unsigned i)
{
	close(m->conns[i].fd);
	free(m->conns[i].out);
	m->conns[i] = m->conns[--m->n];
}

static void
http_respond(struct http_conn *k, int code, const char *reason, const char *type,
	     const char *body, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (f == NULL)
		return;
	fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		   "Connection: close\r\n%s\r\n",
		code, reason, type, len, code == 405 ? "Allow: GET\r\n" : "");
	fwrite(body, 1, len, f);
	fclose(f);
	k->out = buf;
	k->out_len = n;
	k->out_off = 0;
}

static void
http_text(struct http_conn *k, int code, const char *reason, const char *text)
{
	http_respond(k, code, reason, "text/plain; charset=utf-8", text, strlen(text));
}

/* A whole request head is in: answer it. */
static void
http_serve(struct ctl *c, struct http_conn *k)
{
	char method[16], target[256];

	c->stats.c[DP_METRICS_REQUESTS]++;
	if (sscanf(k->in, "%15s %255s HTTP/1.", method, target) != 2) {
		c->stats.c[DP_METRICS_BAD]++;
		http_text(k, 400, "Bad Request", "bad request\n");
		return;
	}
	if (strcmp(target, "/metrics") != 0 && strcmp(target, "/healthz") != 0) {
		c->stats.c[DP_METRICS_BAD]++;
		http_text(k, 404, "Not Found", "not found: try /metrics or /healthz\n");
		return;
	}
	if (strcmp(method, "GET") != 0) {
		c->stats.c[DP_METRICS_BAD]++;
		http_text(k, 405, "Method Not Allowed", "only GET\n");
		return;
	}
	if (strcmp(target, "/healthz") == 0) {
		char why[200], body[220];
		bool ok = metrics_health(c, why, sizeof(why));

		snprintf(body, sizeof(body), "%s%s\n", ok ? "" : "degraded: ", why);
		http_text(k, ok ? 200 : 503, ok ? "OK" : "Service Unavailable", body);
		return;
	} else {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);

		if (f == NULL)
			return;
		metrics_write(c, f);
		fclose(f);
		http_respond(k, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", buf, n);
		free(buf);
	}
}

/* false: close the connection. */
static bool
http_io(struct ctl *c, struct http_conn *k, short revents, uint64_t now)
{
	if (k->out == NULL && (revents & POLLIN)) {
		ssize_t n = read(k->fd, k->in + k->in_len, sizeof(k->in) - 1 - k->in_len);

		if (n <= 0)
			return n < 0 && errno == EAGAIN;
		k->in_len += (size_t)n;
		k->in[k->in_len] = '\0';
		if (strstr(k->in, "\r\n\r\n") || strstr(k->in, "\n\n")) {
			http_serve(c, k);
		} else if (k->in_len == sizeof(k->in) - 1) {
			c->stats.c[DP_METRICS_BAD]++;
			http_text(k, 431, "Request Header Fields Too Large", "request head too large\n");
		}
	}
	if (k->out == NULL) {
		if (now - k->start_tsc > c->dp.tsc_hz * HTTP_IDLE_S) {
			c->stats.c[DP_METRICS_BAD]++;
			return false;
		}
		return true;
	}
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN && now - k->start_tsc <= c->dp.tsc_hz * HTTP_IDLE_S;
		k->out_off += (size_t)n;
	}
	return false; /* all sent: close */
}

unsigned
metrics_poll(struct ctl *c)
{
	struct metrics_http *m = c->metrics;
	struct pollfd pfd[HTTP_MAX_CONNS + 1];
	uint64_t now;
	unsigned n, done = 0;

	metrics_tick(c);
	if (m == NULL || m->lfd < 0)
		return 0;
	pfd[0] = (struct pollfd){ .fd = m->lfd, .events = POLLIN };
	for (unsigned i = 0; i < m->n; i++)
		pfd[i + 1] = (struct pollfd){ .fd = m->conns[i].fd,
					      .events = m->conns[i].out ? POLLOUT : POLLIN };
	n = m->n;
	if (poll(pfd, n + 1, 0) <= 0 && n == 0)
		return 0;
	now = rte_rdtsc();
	for (unsigned i = n; i-- > 0;) {
		if (pfd[i + 1].revents)
			done++;
		if (!http_io(c, &m->conns[i], pfd[i + 1].revents, now))
			http_close(m, i);
	}
	for (unsigned tries = 0; (pfd[0].revents & POLLIN) && tries < HTTP_MAX_CONNS; tries++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		done++;
		if (m->n == HTTP_MAX_CONNS) {
			c->stats.c[DP_METRICS_BAD]++;
			close(fd);
			continue;
		}
		memset(&m->conns[m->n], 0, sizeof(m->conns[0]));
		m->conns[m->n].fd = fd;
		m->conns[m->n++].start_tsc = now;
	}
	return done;
}

void
metrics_close(struct ctl *c)
{
	struct metrics_http *m = c->metrics;

	if (m == NULL)
		return;
	while (m->n > 0)
		http_close(m, m->n - 1);
	if (m->lfd >= 0)
		close(m->lfd);
	free(m);
	c->metrics = NULL;
}
