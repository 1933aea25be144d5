/* SPDX-License-Identifier: BSD-3-Clause
 * tollctl explain: replay a capture through the policy as the workers
 * decide, one JSON line per TCP flow. The decision is the workers' own
 * sequence: policy_match_network() (DNAT and network rules), else, when
 * policy_app_candidate() says an application rule could allow the flow,
 * app_parse() over the client's bytes in sequence order and
 * app_verdict(); else default deny.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/addr.h"
#include "rules/appproto.h"
#include "rules/policy.h"
#include "tools/tollctl/pcap.h"
#include "tools/tollctl/tollctl.h"

#define EXPLAIN_BOUND_DEFAULT 16384 /* inspection.max_flow_bytes default */
#define EXPLAIN_BOUND_MAX (1u << 20)

const char tollctl_explain_usage[] =
	"usage: tollctl explain --pcap FILE --policy POLICY [--bound N]\n"
	"                       [--service-tags FILE]\n"
	"\n"
	"Replay a capture through the policy with the workers' own code and\n"
	"print one JSON line per TCP flow, in the order of its first packet:\n"
	"  {\"flow\": \"SRC:PORT -> DST:PORT\", \"app\": \"tls|http|other|none\",\n"
	"   \"name\": ..., \"action\": \"allow|deny|dnat\", \"group\": ...,\n"
	"   \"collection\": ..., \"rule\": ..., \"reason\": ...}\n"
	"DNAT and network rules decide first; a flow only an application rule\n"
	"could allow is decided by its TLS SNI or HTTP Host, read from the\n"
	"client's bytes put back in sequence order (out-of-order and\n"
	"retransmitted segments, data in the SYN). \"app\" is \"none\" when\n"
	"the flow was decided without inspection. A summary of what was\n"
	"skipped (IPv6, non-TCP, fragments) goes to stderr.\n"
	"\n"
	"Captures: classic pcap (tcpdump -w), Ethernet, Linux cooked (SLL,\n"
	"SLL2: tcpdump -i any) or raw IP, with VLAN tags; IPv4 only.\n"
	"pcapng: convert with editcap -F pcap IN OUT.\n"
	"\n"
	"  --pcap FILE          the capture\n"
	"  --policy FILE        policy YAML\n"
	"  --bound N            bytes inspected per flow, as the appliance's\n"
	"                       inspection.max_flow_bytes (default 16384)\n"
	"  --service-tags FILE  service tags JSON (Azure format)\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 printed the flows, 1 the capture or the policy could\n"
	"not be read, 2 bad command line.\n";

static const char incomplete[] =
	"hello or request head incomplete in the capture (the appliance "
	"refuses it at the inspection timeout)";

struct explained {
	const char *app;  /* app_kind_str(), or "none" */
	const char *name; /* NULL: null */
	enum policy_action action;
	uint32_t rule_id;
	const char *reason;
};

static void decide(const struct policy_ruleset *rs, struct policy_scratch *scr,
		   const struct cap_flow *c, size_t bound, struct app_result *r,
		   struct explained *e)
{
	struct policy_flow f = {.src = c->cli_addr, .dst = c->srv_addr,
				.dport = c->srv_port, .ipproto = IPPROTO_TCP};
	struct policy_verdict v;
	*e = (struct explained){.app = "none", .rule_id = POLICY_RULE_NONE};
	if (policy_match_network(rs, &f, &v)) {
		e->action = (enum policy_action)v.action;
		e->rule_id = v.rule_id;
		e->reason = policy_reason_str((enum policy_reason)v.reason);
		return;
	}
	if (!policy_app_candidate(rs, &f, POLICY_SCHEME_MASK_HTTP |
						   POLICY_SCHEME_MASK_HTTPS)) {
		e->action = POLICY_ACTION_DENY;
		e->reason = policy_reason_str(POLICY_REASON_NO_RULE);
		return;
	}
	enum app_status st = app_parse(c->data, c->data_len, bound, r);
	e->app = app_kind_str((enum app_kind)r->kind);
	e->name = r->name_len > 0 ? r->name : NULL;
	if (st == APP_NEED_MORE) {
		e->action = POLICY_ACTION_DENY;
		e->reason = incomplete;
		return;
	}
	enum app_reason why;
	app_verdict(rs, scr, &f, r, &v, &why);
	e->action = (enum policy_action)v.action;
	e->rule_id = v.rule_id;
	e->reason = why != APP_R_OK
			    ? app_reason_str(why)
			    : policy_reason_str((enum policy_reason)v.reason);
}

static void print_flow(const struct policy_ruleset *rs,
		       const struct cap_flow *c, const struct explained *e)
{
	char a[16], b[16], flow[64];
	const struct policy_rule_info *in = policy_rule_info(rs, e->rule_id);
	snprintf(flow, sizeof(flow), "%s:%u -> %s:%u",
		 rules_ipv4_str(c->cli_addr, a), c->cli_port,
		 rules_ipv4_str(c->srv_addr, b), c->srv_port);
	printf("{\"flow\": ");
	tollctl_json_str(stdout, flow);
	printf(", \"app\": ");
	tollctl_json_str(stdout, e->app);
	printf(", \"name\": ");
	tollctl_json_str(stdout, e->name);
	printf(", \"action\": ");
	tollctl_json_str(stdout, policy_action_str(e->action));
	printf(", \"group\": ");
	tollctl_json_str(stdout, in ? in->group : NULL);
	printf(", \"collection\": ");
	tollctl_json_str(stdout, in ? in->collection : NULL);
	printf(", \"rule\": ");
	tollctl_json_str(stdout, in ? in->rule : NULL);
	printf(", \"reason\": ");
	tollctl_json_str(stdout, e->reason);
	printf("}\n");
}

int tollctl_cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pcap", required_argument, NULL, 'c'},
		{"policy", required_argument, NULL, 'P'},
		{"bound", required_argument, NULL, 'b'},
		{"service-tags", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *pcap = NULL, *policy = NULL, *svc = NULL;
	size_t bound = EXPLAIN_BOUND_DEFAULT;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			pcap = optarg;
			break;
		case 'P':
			policy = optarg;
			break;
		case 't':
			svc = optarg;
			break;
		case 'b': {
			char *end;
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    optarg[0] == '-' || n < 1 || n > EXPLAIN_BOUND_MAX)
				return tollctl_usage_error(
					"explain",
					"bad --bound '%s': expected 1-%u bytes",
					optarg, EXPLAIN_BOUND_MAX);
			bound = n;
			break;
		}
		case 'h':
			fputs(tollctl_explain_usage, stdout);
			return TOLLCTL_EXIT_OK;
		case ':':
			return tollctl_usage_error("explain",
						   "option '%s' needs a value",
						   argv[optind - 1]);
		default:
			return tollctl_usage_error("explain",
						   "unknown option '%s'",
						   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return tollctl_usage_error("explain",
					   "unexpected argument '%s'",
					   argv[optind]);
	if (pcap == NULL)
		return tollctl_usage_error("explain", "missing --pcap FILE");
	if (policy == NULL)
		return tollctl_usage_error("explain", "missing --policy FILE");

	struct policy_errors errs = {0};
	struct policy *p = NULL;
	struct policy_ruleset *rs = NULL;
	struct policy_scratch *scr = NULL;
	struct cap_flows *fl = NULL;
	int ret = TOLLCTL_EXIT_FAIL;
	int rc = tollctl_load_compile(policy, svc, &p, &rs, &errs);
	if (rc == 0)
		rc = policy_scratch_alloc(rs, &scr);
	if (rc < 0) {
		tollctl_print_errors(&errs);
		if (errs.count == 0)
			fprintf(stderr, "%s: %s\n", policy, strerror(-rc));
		goto out;
	}
	char err[512];
	if (cap_read_flows(pcap, bound, &fl, err, sizeof(err)) < 0) {
		fprintf(stderr, "tollctl explain: %s\n", err);
		goto out;
	}

	struct app_result r;
	for (size_t i = 0; i < cap_flow_count(fl); i++) {
		const struct cap_flow *c = cap_flow_get(fl, i);
		struct explained e;
		decide(rs, scr, c, bound, &r, &e);
		print_flow(rs, c, &e);
	}
	const struct cap_stats *st = cap_flow_stats(fl);
	fprintf(stderr,
		"tollctl explain: %llu packets, %zu TCP flows; skipped: %llu "
		"IPv6, %llu non-TCP, %llu non-IP, %llu fragments, %llu "
		"malformed; %llu cut by the snap length\n",
		(unsigned long long)st->packets, cap_flow_count(fl),
		(unsigned long long)st->ipv6, (unsigned long long)st->non_tcp,
		(unsigned long long)st->non_ip,
		(unsigned long long)st->fragments, (unsigned long long)st->bad,
		(unsigned long long)st->truncated);
	ret = TOLLCTL_EXIT_OK;
out:
	cap_flows_free(fl);
	policy_errors_free(&errs);
	policy_scratch_free(scr);
	policy_ruleset_free(rs);
	policy_free(p);
	return ret;
}
