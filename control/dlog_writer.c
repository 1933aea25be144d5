/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Decision logs as JSON lines, one object per decision, with the field
 * names of Azure Firewall's resource-specific tables (AZFWNetworkRule,
 * AZFWApplicationRule, AZFWNatRule) so that the queries operators already
 * have carry over:
 *
 *   {"time":"2026-11-23T10:00:00.123Z","category":"AZFWNetworkRule",
 *    "Protocol":"TCP","SourceIp":"198.18.1.10","SourcePort":40000,
 *    "DestinationIp":"203.0.113.10","DestinationPort":443,"Action":"Allow",
 *    "ActionReason":"rule","Policy":"policy.yaml","RuleCollectionGroup":"g",
 *    "RuleCollection":"c","Rule":"r","TranslatedIp":"192.0.2.15",
 *    "TranslatedPort":20000,"Generation":3,"Worker":0}
 *
 * The writer runs on the control thread. Each call takes a bounded number
 * of records, round robin over the workers' rings, so a flood of decisions
 * delays the slow path by at most one budget. Writes go through a stdio
 * buffer flushed every LOG_FLUSH_MS: a write to a slow disk can still hold
 * the control thread for the length of one write(2) (never the workers: a
 * full ring drops the record, counted as log.dropped).
 *
 * The DNS proxy's answers are logged here too, as AZFWDnsQuery records
 * (dlog_writer_dns(); field values as Azure's, which are CoreDNS's:
 * "QueryName":"ntp.ubuntu.com.", "Protocol":"udp",
 * "ResponseFlags":"qr,rd,ra"). The proxy runs on the control thread and
 * calls the writer directly, into the same stdio buffer.
 *
 * The rule id of a record is resolved with the policy of the record's
 * generation; retired policies are freed only after their records are
 * written (see ctl_policy_reclaim()), so the names are found unless the
 * writer fell a whole ring behind. Then "RuleId" is written instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/control.h"
#include "control/dlog_writer.h"
#include "control/dns_msg.h"
#include "control/policy_ctl.h"
#include "dataplane/dlog.h"
#include "rules/policy.h"

#define LOG_BUF (256 * 1024)
#define LOG_FLUSH_MS 100
#define LOG_BURST 64

struct dlog_writer {
	FILE *f;
	bool is_stdout;
	char *buf;
	const char *policy_name;  /* basename of the policy file */
	/* the wall-clock time of TSC tsc0, taken together at open */
	uint64_t tsc0;
	struct timespec wall0;
	uint64_t last_flush_tsc;
	bool dirty;
	unsigned next_worker;     /* round robin start */
};

int
dlog_writer_open(struct ctl *c, char *err, size_t errlen)
{
	const char *path = c->cfg->decision_log;
	struct dlog_writer *d;
	const char *slash;

	c->dlogw = NULL;
	if (path[0] == '\0')
		return 0;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	if (strcmp(path, "-") == 0) {
		d->f = stdout;
		d->is_stdout = true;
	} else {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

		d->f = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (d->f == NULL) {
			int e = errno;

			snprintf(err, errlen, "logs.decisions: cannot open %s: %s", path, strerror(e));
			if (fd >= 0)
				close(fd);
			free(d);
			return -e;
		}
		d->buf = malloc(LOG_BUF);
		if (d->buf != NULL)
			setvbuf(d->f, d->buf, _IOFBF, LOG_BUF);
	}
	slash = strrchr(c->cfg->policy_path, '/');
	d->policy_name = slash ? slash + 1 : c->cfg->policy_path;
	d->tsc0 = rte_rdtsc();
	clock_gettime(CLOCK_REALTIME, &d->wall0);
	d->last_flush_tsc = d->tsc0;
	c->dlogw = d;
	return 0;
}

static const char *
category(uint8_t kind)
{
	switch (kind) {
	case DLOG_APPLICATION:
		return "AZFWApplicationRule";
	case DLOG_DNAT:
		return "AZFWNatRule";
	default:
		return "AZFWNetworkRule";
	}
}

static const char *
proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMP";
	default:
		snprintf(buf, len, "%u", p);
		return buf;
	}
}

static const char *
action_name(uint8_t a)
{
	return a == POLICY_ACTION_ALLOW ? "Allow" : a == POLICY_ACTION_DNAT ? "DNAT" : "Deny";
}

/* "rule" for a rule's decision, else what refused it: the drop counter's
 * name without its "drop." and "policy-" prefixes ("default-deny",
 * "revoked", "needs-inspection"). */
static const char *
action_reason(const struct dlog_rec *r)
{
	const char *n;

	if (r->reason == DP_CT_CREATED || r->reason == DP_DROP_POLICY_DENY ||
	    r->reason >= DP_COUNTER_MAX)
		return "rule";
	n = dp_counter_name((enum dp_counter)r->reason);
	if (strncmp(n, "drop.", 5) == 0)
		n += 5;
	if (strncmp(n, "policy-", 7) == 0)
		n += 7;
	return n;
}


static void
write_time(const struct dlog_writer *d, uint64_t tsc, uint64_t hz, FILE *f)
{
	int64_t dt = (int64_t)(tsc - d->tsc0);
	int64_t ns = (int64_t)d->wall0.tv_nsec + dt / (int64_t)hz * 1000000000 +
		     (dt % (int64_t)hz) * 1000000000 / (int64_t)hz;
	time_t sec = d->wall0.tv_sec + ns / 1000000000;
	struct tm tm;
	char when[32];

	ns %= 1000000000;
	if (ns < 0) {
		ns += 1000000000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "\"time\":\"%s.%03dZ\"", when, (int)(ns / 1000000));
}

static void
write_rec(struct ctl *c, struct dlog_writer *d, const struct dlog_rec *r)
{
	const struct dp_policy *p = ctl_policy_find(c, r->generation);
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], pbuf[8];
	FILE *f = d->f;

	fputc('{', f);
	write_time(d, r->tsc, c->dp.tsc_hz, f);
	inet_ntop(AF_INET, &r->src, a, sizeof(a));
	inet_ntop(AF_INET, &r->dst, b, sizeof(b));
	fprintf(f, ",\"category\":\"%s\",\"Protocol\":\"%s\",\"SourceIp\":\"%s\","
		   "\"SourcePort\":%u,\"DestinationIp\":\"%s\",\"DestinationPort\":%u,"
		   "\"Action\":\"%s\",\"ActionReason\":\"%s\",\"Policy\":",
		category(r->kind), proto_name(r->proto, pbuf, sizeof(pbuf)), a,
		ntohs(r->sport), b, ntohs(r->dport), action_name(r->action), action_reason(r));
	ctl_json_str(f, d->policy_name, strlen(d->policy_name));
	if (r->rule_id != POLICY_RULE_NONE && p != NULL &&
	    r->rule_id < policy_ruleset_rule_count(p->rs)) {
		const struct policy_rule_info *ri = policy_rule_info(p->rs, r->rule_id);

		fputs(",\"RuleCollectionGroup\":", f);
		ctl_json_str(f, ri->group, strlen(ri->group));
		fputs(",\"RuleCollection\":", f);
		ctl_json_str(f, ri->collection, strlen(ri->collection));
		fputs(",\"Rule\":", f);
		ctl_json_str(f, ri->rule, strlen(ri->rule));
	} else if (r->rule_id != POLICY_RULE_NONE) {
		fprintf(f, ",\"RuleId\":%u", r->rule_id);
	}
	if (r->kind == DLOG_APPLICATION && r->fqdn_len > 0) {
		fputs(",\"Fqdn\":", f);
		ctl_json_str(f, r->fqdn, RTE_MIN((size_t)r->fqdn_len, sizeof(r->fqdn)));
	}
	if (r->xaddr != 0) {
		inet_ntop(AF_INET, &r->xaddr, a, sizeof(a));
		fprintf(f, ",\"TranslatedIp\":\"%s\",\"TranslatedPort\":%u", a, ntohs(r->xport));
	}
	fprintf(f, ",\"Generation\":%u,\"Worker\":%u}\n", r->generation, r->worker);
}

/* ------------------------------------------------------------ AZFWDnsQuery */

static const char *
dns_type_name(uint16_t t, char *buf, size_t len)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ 1, "A" },	  { 2, "NS" },	     { 5, "CNAME" },  { 6, "SOA" },	{ 12, "PTR" },
		{ 15, "MX" },	  { 16, "TXT" },     { 28, "AAAA" },  { 33, "SRV" },	{ 41, "OPT" },
		{ 43, "DS" },	  { 46, "RRSIG" },   { 48, "DNSKEY" }, { 64, "SVCB" },	{ 65, "HTTPS" },
		{ 255, "ANY" },	  { 257, "CAA" },
	};

	for (unsigned i = 0; i < RTE_DIM(names); i++)
		if (names[i].type == t)
			return names[i].name;
	snprintf(buf, len, "TYPE%u", t); /* RFC 3597 5 */
	return buf;
}

static const char *
dns_class_name(uint16_t c, char *buf, size_t len)
{
	switch (c) {
	case 1:
		return "IN";
	case 3:
		return "CH";
	case 4:
		return "HS";
	case 255:
		return "ANY";
	default:
		snprintf(buf, len, "CLASS%u", c);
		return buf;
	}
}

static const char *
dns_rcode_name(unsigned rc, char *buf, size_t len)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",	"REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };

	if (rc < RTE_DIM(names))
		return names[rc];
	snprintf(buf, len, "RCODE%u", rc);
	return buf;
}

/* "qr,aa,rd,ra": the flags set in the answer, in header order. */
static void
dns_flags_str(uint16_t flags, char *buf, size_t len)
{
	static const struct {
		uint16_t bit;
		const char *name;
	} bits[] = { { DNS_F_QR, "qr" }, { DNS_F_AA, "aa" }, { DNS_F_TC, "tc" }, { DNS_F_RD, "rd" },
		     { DNS_F_RA, "ra" }, { 0x0020, "ad" },   { 0x0010, "cd" } };
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < RTE_DIM(bits) && n < len; i++)
		if (flags & bits[i].bit)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", bits[i].name);
}

void
dlog_writer_dns(struct ctl *c, const struct dlog_dns_rec *r)
{
	struct dlog_writer *d = c->dlogw;
	char a[INET_ADDRSTRLEN], name[4 * DNS_NAME_MAX], tb[16], cb[16], rb[16], fl[32];
	uint16_t qtype = 0, qclass = 0;
	int nl = -1;
	FILE *f;

	if (d == NULL)
		return;
	f = d->f;
	if (r->question_len > 4) {
		const uint8_t *tc = r->question + r->question_len - 4;

		qtype = dns_get16(tc);
		qclass = dns_get16(tc + 2);
		nl = dns_name_to_text(r->question, r->question_len - 4u, name, sizeof(name) - 1);
	}
	if (nl < 0)
		nl = 0;
	/* Azure writes names as fully qualified, with the final dot. */
	if (nl == 0 || name[nl - 1] != '.')
		name[nl++] = '.';
	name[nl] = '\0';
	fputc('{', f);
	write_time(d, r->tsc, c->dp.tsc_hz, f);
	inet_ntop(AF_INET, &r->src, a, sizeof(a));
	dns_flags_str(r->flags, fl, sizeof(fl));
	fprintf(f, ",\"category\":\"AZFWDnsQuery\",\"SourceIp\":\"%s\",\"SourcePort\":%u,"
		   "\"QueryId\":%u,\"QueryType\":\"%s\",\"QueryClass\":\"%s\",\"QueryName\":",
		a, ntohs(r->sport), r->id, dns_type_name(qtype, tb, sizeof(tb)),
		dns_class_name(qclass, cb, sizeof(cb)));
	ctl_json_str(f, name, (size_t)nl);
	/* Without EDNS a client takes 512 bytes over UDP (RFC 1035 4.2.1),
	 * which is what Azure reports for it. */
	fprintf(f, ",\"Protocol\":\"%s\",\"RequestSize\":%u,\"DnssecOkBit\":%s,"
		   "\"EDNS0BufferSize\":%u,\"ResponseCode\":\"%s\",\"ResponseFlags\":\"%s\","
		   "\"ResponseSize\":%u,\"RequestDurationSecs\":%.6f,\"ErrorNumber\":%d,"
		   "\"ErrorMessage\":",
		r->tcp ? "tcp" : "udp", r->request_size, r->dnssec_ok ? "true" : "false",
		r->edns_size ? r->edns_size : DNS_UDP_MIN,
		dns_rcode_name(r->flags & DNS_F_RCODE, rb, sizeof(rb)), fl, r->response_size,
		(double)r->duration_tsc / (double)c->dp.tsc_hz, r->error_number);
	ctl_json_str(f, r->error_message, strlen(r->error_message));
	fputs("}\n", f);
	c->stats.c[DP_LOG_WRITTEN]++;
	d->dirty = true; /* flushed by dlog_writer_drain()'s timer */
}

/* ------------------------------------------------------------ drain */

unsigned
dlog_writer_drain(struct ctl *c, unsigned budget)
{
	struct dlog_writer *d = c->dlogw;
	struct dlog_rec recs[LOG_BURST];
	unsigned done = 0, idle = 0;
	uint64_t now;

	if (d == NULL)
		return 0;
	/* Round robin, one burst per ring per turn, until every ring came up
	 * empty in one turn or the budget is spent. */
	while (done < budget && idle < c->dp.n_workers) {
		struct worker *w = c->dp.workers[d->next_worker];
		unsigned n = 0;

		d->next_worker = (d->next_worker + 1) % c->dp.n_workers;
		if (w != NULL && w->dlog != NULL)
			n = rte_ring_sc_dequeue_burst_elem(w->dlog, recs, sizeof(recs[0]),
							   RTE_MIN(budget - done, (unsigned)LOG_BURST), NULL);
		idle = n == 0 ? idle + 1 : 0;
		for (unsigned k = 0; k < n; k++)
			write_rec(c, d, &recs[k]);
		done += n;
	}
	c->stats.c[DP_LOG_WRITTEN] += done;
	d->dirty |= done > 0;
	now = rte_rdtsc();
	if (d->dirty && now - d->last_flush_tsc >= c->dp.tsc_hz / 1000 * LOG_FLUSH_MS) {
		fflush(d->f);
		d->dirty = false;
		d->last_flush_tsc = now;
	}
	return done;
}

void
dlog_writer_close(struct ctl *c)
{
	struct dlog_writer *d = c->dlogw;

	if (d == NULL)
		return;
	dlog_writer_drain(c, UINT32_MAX);
	fflush(d->f);
	if (!d->is_stdout)
		fclose(d->f);
	free(d->buf);
	free(d);
	c->dlogw = NULL;
}
