/* SPDX-License-Identifier: BSD-3-Clause
 * Offline policy commands: validate and match. They call the same
 * rules/ library (load, compile, match) that the workers use.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/addr.h"
#include "rules/fqdn.h"
#include "rules/policy.h"
#include "tools/tollctl/tollctl.h"

const char tollctl_validate_usage[] =
	"usage: tollctl validate [--service-tags FILE] POLICY\n"
	"\n"
	"Load, check and compile a policy file. Every error is printed to\n"
	"stderr as FILE:LINE:COL: message.\n"
	"\n"
	"  --service-tags FILE  service tags JSON (Azure format) instead of the\n"
	"                       policy's service_tags_file / the sample\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 the policy is valid, 1 it has errors, 2 bad command "
	"line.\n";

const char tollctl_match_usage[] =
	"usage: tollctl match --policy POLICY --src IP --dst IP\n"
	"                     --proto tcp|udp|icmp [--port N] [--fqdn NAME]\n"
	"                     [--scheme http|https] [--resolve FQDN=IP]...\n"
	"                     [--service-tags FILE]\n"
	"\n"
	"Show what the policy does with one flow, using the same compiled\n"
	"matching code as the data plane: DNAT rules, then network rules, then\n"
	"(TCP with --fqdn) application rules, then default deny. Prints one\n"
	"JSON line:\n"
	"  {\"action\": \"allow|deny|dnat\", \"group\": ..., \"collection\": ...,\n"
	"   \"rule\": ..., \"reason\": ..., \"stage\": ...}\n"
	"\n"
	"  --policy FILE     policy YAML\n"
	"  --src IP          source IPv4 address\n"
	"  --dst IP          destination IPv4 address\n"
	"  --proto P         tcp, udp or icmp\n"
	"  --port N          destination port 1-65535 (required for tcp/udp)\n"
	"  --fqdn NAME       TLS SNI or HTTP Host, for application rules\n"
	"                    (U-labels are converted to A-labels)\n"
	"  --scheme S        http or https (default: http for port 80, else "
	"https)\n"
	"  --resolve F=IP    pretend the DNS proxy resolved F to IP, for network\n"
	"                    rules with destination_fqdns (repeatable)\n"
	"  --service-tags F  service tags JSON (Azure format)\n"
	"  -h, --help        this help\n"
	"\n"
	"Exit status: 0 printed a verdict, 1 the policy has errors, 2 bad "
	"command line.\n";

void tollctl_print_errors(const struct policy_errors *e)
{
	for (size_t i = 0; i < e->count; i++)
		fprintf(stderr, "%s\n", e->msgs[i]);
	if (e->dropped > 0)
		fprintf(stderr, "(%zu more errors not shown)\n", e->dropped);
}

int tollctl_load_compile(const char *path, const char *svc, struct policy **p,
			 struct policy_ruleset **rs, struct policy_errors *errs)
{
	struct policy_load_opts o = {.service_tags_path = svc};
	int rc = policy_load(path, &o, p, errs);
	if (rc == 0)
		rc = policy_compile(*p, rs, errs);
	return rc;
}

int tollctl_cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"service-tags", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *svc = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			svc = optarg;
			break;
		case 'h':
			fputs(tollctl_validate_usage, stdout);
			return TOLLCTL_EXIT_OK;
		case ':':
			return tollctl_usage_error("validate",
						   "option '%s' needs a value",
						   argv[optind - 1]);
		default:
			return tollctl_usage_error("validate",
						   "unknown option '%s'",
						   argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return tollctl_usage_error("validate", "missing POLICY file");
	if (optind + 1 < argc)
		return tollctl_usage_error("validate",
					   "unexpected argument '%s'",
					   argv[optind + 1]);
	const char *path = argv[optind];
	struct policy_errors errs = {0};
	struct policy *p = NULL;
	struct policy_ruleset *rs = NULL;
	int rc = tollctl_load_compile(path, svc, &p, &rs, &errs);
	if (rc < 0) {
		tollctl_print_errors(&errs);
		fprintf(stderr, "%s: %zu error%s\n", path,
			errs.count + errs.dropped,
			errs.count + errs.dropped == 1 ? "" : "s");
	} else {
		size_t nc = 0;
		for (size_t g = 0; g < p->n_groups; g++)
			nc += p->groups[g].n_colls;
		printf("%s: OK (%zu rule collection groups, %zu rule "
		       "collections, %u rules)\n",
		       path, p->n_groups, nc, policy_ruleset_rule_count(rs));
	}
	policy_errors_free(&errs);
	policy_ruleset_free(rs);
	policy_free(p);
	return rc < 0 ? TOLLCTL_EXIT_FAIL : TOLLCTL_EXIT_OK;
}


struct resolve {
	char fqdn[FQDN_MAX + 1];
	uint32_t addr;
};

#define MAX_RESOLVE 64

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Give every network rule with destination_fqdns the addresses that
 * --resolve named for its FQDNs, through the same publication API the DNS
 * proxy will use. */
static int apply_resolves(struct policy_ruleset *rs, const struct resolve *r,
			  size_t nr)
{
	for (uint32_t id = 0; id < policy_ruleset_rule_count(rs); id++) {
		const char *const *f;
		size_t nf = policy_rule_dst_fqdns(rs, id, &f);
		if (nf == 0)
			continue;
		struct policy_dynset *s =
			malloc(sizeof(*s) + (nr + 1) * sizeof(uint32_t));
		if (s == NULL)
			return -ENOMEM;
		s->n = 0;
		for (size_t i = 0; i < nr; i++)
			for (size_t j = 0; j < nf; j++)
				if (strcmp(r[i].fqdn, f[j]) == 0) {
					s->addrs[s->n++] = r[i].addr;
					break;
				}
		qsort(s->addrs, s->n, sizeof(uint32_t), cmp_u32);
		int err;
		const struct policy_dynset *old =
			policy_dynset_publish(rs, id, s, &err);
		if (err < 0) {
			free(s);
			return err;
		}
		free((void *)old); /* no reader can hold it: offline tool */
	}
	return 0;
}

int tollctl_cmd_match(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'P'},
		{"src", required_argument, NULL, 's'},
		{"dst", required_argument, NULL, 'd'},
		{"proto", required_argument, NULL, 'p'},
		{"port", required_argument, NULL, 'o'},
		{"fqdn", required_argument, NULL, 'f'},
		{"scheme", required_argument, NULL, 'S'},
		{"resolve", required_argument, NULL, 'r'},
		{"service-tags", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *policy = NULL, *src = NULL, *dst = NULL, *proto = NULL;
	const char *port = NULL, *fqdn = NULL, *scheme = NULL, *svc = NULL;
	static struct resolve res[MAX_RESOLVE];
	size_t nres = 0;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'P':
			policy = optarg;
			break;
		case 's':
			src = optarg;
			break;
		case 'd':
			dst = optarg;
			break;
		case 'p':
			proto = optarg;
			break;
		case 'o':
			port = optarg;
			break;
		case 'f':
			fqdn = optarg;
			break;
		case 'S':
			scheme = optarg;
			break;
		case 't':
			svc = optarg;
			break;
		case 'r': {
			const char *eq = strchr(optarg, '=');
			size_t nl;
			const char *why;
			if (nres == MAX_RESOLVE)
				return tollctl_usage_error(
					"match", "at most %d --resolve options",
					MAX_RESOLVE);
			if (eq == NULL ||
			    fqdn_normalize(optarg, (size_t)(eq - optarg), false,
					   res[nres].fqdn, &nl, &why) < 0 ||
			    rules_parse_ipv4(eq + 1, &res[nres].addr) < 0)
				return tollctl_usage_error(
					"match",
					"bad --resolve '%s': expected FQDN=IPv4",
					optarg);
			nres++;
			break;
		}
		case 'h':
			fputs(tollctl_match_usage, stdout);
			return TOLLCTL_EXIT_OK;
		case ':':
			return tollctl_usage_error("match",
						   "option '%s' needs a value",
						   argv[optind - 1]);
		default:
			return tollctl_usage_error("match",
						   "unknown option '%s'",
						   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return tollctl_usage_error("match", "unexpected argument '%s'",
					   argv[optind]);
	if (policy == NULL)
		return tollctl_usage_error("match", "missing --policy FILE");
	if (src == NULL || dst == NULL || proto == NULL)
		return tollctl_usage_error("match",
					   "missing --%s (need --src, --dst "
					   "and --proto)",
					   src == NULL ? "src"
					   : dst == NULL ? "dst"
							 : "proto");

	struct policy_flow f = {0};
	if (rules_parse_ipv4(src, &f.src) < 0)
		return tollctl_usage_error(
			"match", "bad --src '%s': expected an IPv4 address", src);
	if (rules_parse_ipv4(dst, &f.dst) < 0)
		return tollctl_usage_error(
			"match", "bad --dst '%s': expected an IPv4 address", dst);
	if (strcmp(proto, "tcp") == 0)
		f.ipproto = IPPROTO_TCP;
	else if (strcmp(proto, "udp") == 0)
		f.ipproto = IPPROTO_UDP;
	else if (strcmp(proto, "icmp") == 0)
		f.ipproto = IPPROTO_ICMP;
	else
		return tollctl_usage_error(
			"match", "bad --proto '%s': expected tcp, udp or icmp",
			proto);
	if (port != NULL) {
		struct policy_range16 r;
		const char *why;
		if (rules_parse_port_range(port, &r, &why) < 0 ||
		    r.lo != r.hi || strcmp(port, "*") == 0)
			return tollctl_usage_error(
				"match", "bad --port '%s': expected 1-65535",
				port);
		f.dport = r.lo;
	} else if (f.ipproto != IPPROTO_ICMP) {
		return tollctl_usage_error("match",
					   "missing --port (required for %s)",
					   proto);
	}
	enum policy_scheme sch = f.dport == 80 ? POLICY_SCHEME_HTTP
					       : POLICY_SCHEME_HTTPS;
	if (scheme != NULL) {
		if (strcmp(scheme, "http") == 0)
			sch = POLICY_SCHEME_HTTP;
		else if (strcmp(scheme, "https") == 0)
			sch = POLICY_SCHEME_HTTPS;
		else
			return tollctl_usage_error(
				"match", "bad --scheme '%s': expected http or "
					 "https",
				scheme);
	}
	char name[FQDN_MAX + 1];
	size_t name_len = 0;
	if (fqdn != NULL) {
		const char *why;
		if (fqdn_normalize(fqdn, strlen(fqdn), false, name, &name_len,
				   &why) < 0)
			return tollctl_usage_error("match", "bad --fqdn '%s': %s",
						   fqdn, why);
	}

	struct policy_errors errs = {0};
	struct policy *p = NULL;
	struct policy_ruleset *rs = NULL;
	struct policy_scratch *scr = NULL;
	int rc = tollctl_load_compile(policy, svc, &p, &rs, &errs);
	if (rc == 0)
		rc = policy_scratch_alloc(rs, &scr);
	if (rc == 0)
		rc = apply_resolves(rs, res, nres);
	if (rc < 0) {
		tollctl_print_errors(&errs);
		if (errs.count == 0)
			fprintf(stderr, "%s: %s\n", policy, strerror(-rc));
		policy_errors_free(&errs);
		policy_scratch_free(scr);
		policy_ruleset_free(rs);
		policy_free(p);
		return TOLLCTL_EXIT_FAIL;
	}

	struct policy_verdict v;
	policy_evaluate(rs, scr, &f, sch, fqdn ? name : NULL, name_len, &v);
	const struct policy_rule_info *in = policy_rule_info(rs, v.rule_id);
	printf("{\"action\": ");
	tollctl_json_str(stdout, policy_action_str((enum policy_action)v.action));
	printf(", \"group\": ");
	tollctl_json_str(stdout, in ? in->group : NULL);
	printf(", \"collection\": ");
	tollctl_json_str(stdout, in ? in->collection : NULL);
	printf(", \"rule\": ");
	tollctl_json_str(stdout, in ? in->rule : NULL);
	printf(", \"reason\": ");
	tollctl_json_str(stdout, policy_reason_str((enum policy_reason)v.reason));
	printf(", \"stage\": ");
	tollctl_json_str(stdout, policy_stage_str((enum policy_stage)v.stage));
	if (v.action == POLICY_ACTION_DNAT) {
		char b[16];
		printf(", \"translated_address\": ");
		tollctl_json_str(stdout, rules_ipv4_str(v.xlat_addr, b));
		printf(", \"translated_port\": %u", v.xlat_port);
	}
	if (fqdn != NULL) {
		printf(", \"fqdn\": ");
		tollctl_json_str(stdout, name);
	}
	printf("}\n");

	policy_errors_free(&errs);
	policy_scratch_free(scr);
	policy_ruleset_free(rs);
	policy_free(p);
	return TOLLCTL_EXIT_OK;
}
