/* SPDX-License-Identifier: BSD-3-Clause
 * Policy loading, validation messages, hostile input, and the Azure
 * processing order through the compiled rule set (the functions the
 * workers call).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "rules/addr.h"
#include "rules/policy.h"

#define F "t.yaml"

static int load(const char *y, struct policy **p, struct policy_errors *e)
{
	return policy_load_buf(F, y, strlen(y), NULL, p, e);
}

static void dump(const struct policy_errors *e)
{
	for (size_t i = 0; i < e->count; i++)
		fprintf(stderr, "  | %s\n", e->msgs[i]);
}

/* Expect a failed load with a message "t.yaml:POS: ...SUB...". POS may be
 * NULL (any position, but one must be present). */
static void expect_err(const char *y, const char *pos, const char *sub)
{
	struct policy *p = NULL;
	struct policy_errors e = {0};
	int rc = load(y, &p, &e);
	bool found = false;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), F ":%s: ", pos ? pos : "");
	for (size_t i = 0; i < e.count; i++) {
		const char *m = e.msgs[i];
		bool pos_ok = pos ? strncmp(m, prefix, strlen(prefix)) == 0
				  : (strncmp(m, F ":", 7) == 0 &&
				     m[7] >= '1' && m[7] <= '9');
		if (pos_ok && strstr(m, sub) != NULL)
			found = true;
	}
	if (!found || rc != -EINVAL) {
		fprintf(stderr, "wanted %s '%s' (rc %d), got:\n", prefix, sub,
			rc);
		dump(&e);
	}
	assert_int_equal(rc, -EINVAL);
	assert_null(p);
	assert_true(found);
	policy_errors_free(&e);
}

/* A policy with one network rule whose body (lines 11+, indented 12) is
 * `body`. The rule mapping starts at 10:13. */
static char *net(const char *body)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf),
		 "rule_collection_groups:\n"
		 "  - name: g\n"
		 "    priority: 100\n"
		 "    rule_collections:\n"
		 "      - name: c\n"
		 "        kind: network\n"
		 "        priority: 100\n"
		 "        action: allow\n"
		 "        rules:\n"
		 "          - name: r\n"
		 "%s",
		 body);
	return buf;
}

#define OKNET                                                                  \
	"            protocols: [TCP]\n"                                       \
	"            source_addresses: [\"*\"]\n"                              \
	"            destination_addresses: [\"198.51.100.0/24\"]\n"           \
	"            destination_ports: [\"443\"]\n"

static void test_example_loads(void **state)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/examples/aks-egress.yaml",
		 policy_data_dir(NULL));
	struct policy *p;
	struct policy_errors e = {0};
	int rc = policy_load(path, NULL, &p, &e);
	dump(&e);
	assert_int_equal(rc, 0);
	struct policy_ruleset *rs;
	assert_int_equal(policy_compile(p, &rs, &e), 0);
	/* every rule of the seeds: DNAT, 5 network, 1 application */
	static const char *const want[][3] = {
		{"exampleset", "inboundrule", "dnat"},
		{"aksfwnr", "apiudp", "allow"},
		{"aksfwnr", "apitcp", "allow"},
		{"aksfwnr", "time", "allow"},
		{"aksfwnr", "ghcr", "allow"},
		{"aksfwnr", "docker", "allow"},
		{"aksfwar", "fqdn", "allow"},
	};
	assert_int_equal(policy_ruleset_rule_count(rs), 7);
	for (uint32_t i = 0; i < 7; i++) {
		const struct policy_rule_info *in = policy_rule_info(rs, i);
		assert_string_equal(in->collection, want[i][0]);
		assert_string_equal(in->rule, want[i][1]);
		assert_string_equal(policy_action_str(in->action), want[i][2]);
		assert_string_equal(in->group, "aks");
	}
	assert_null(policy_rule_info(rs, 7));
	policy_ruleset_free(rs);
	policy_free(p);
	policy_errors_free(&e);
}

static void test_errors_structure(void **state)
{
	expect_err("rule_collection_groups: []\n", "1:25", "is empty");
	expect_err("foo: 1\nrule_collection_groups: []\n", "1:1",
		   "unknown key 'foo' in the policy: expected one of "
		   "rule_collection_groups");
	expect_err("region: eastus\n", "1:1", "missing 'rule_collection_groups'");
	expect_err("- a\n- b\n", "1:1", "expected a mapping");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"1.2.3.4\"]\n"
		       "            destination_ports: [\"443\"]\n"
		       "            colour: blue\n"),
		   "15:13",
		   "unknown key 'colour' in a network rule: expected one of "
		   "name");
	expect_err(net(OKNET "            target_fqdns: [a.com]\n"), "15:13",
		   "key 'target_fqdns' is not allowed in a network rule");
	expect_err(net(OKNET "            protocols: [UDP]\n"), "15:13",
		   "duplicate key 'protocols'");
}

static void test_errors_values(void **state)
{
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"10.0.0.1/8\"]\n"
		       "            destination_ports: [\"443\"]\n"),
		   "13:37", "bad address '10.0.0.1/8' in "
			    "'destination_addresses': bad CIDR: host bits");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"10.0.0.0/33\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"443\"]\n"),
		   "12:32", "bad CIDR prefix length");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"300.1.1.1\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"443\"]\n"),
		   "12:32", "expected an IPv4 address");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"10.0.0.9-10.0.0.1\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"443\"]\n"),
		   "12:32", "end is below the start");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"65536\"]\n"),
		   "14:33", "bad port '65536': port out of range: expected "
			    "1-65535");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"0\"]\n"),
		   "14:33", "port out of range");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"90-80\"]\n"),
		   "14:33", "end is below the start");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [AzureCloud.mars]\n"
		       "            destination_ports: [\"443\"]\n"),
		   "13:37", "unknown service tag 'AzureCloud.mars'");
	expect_err(net("            protocols: [SCTP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"443\"]\n"),
		   "11:25", "unknown protocol 'SCTP': expected TCP, UDP, ICMP "
			    "or Any");
	expect_err(net("            protocols: []\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"443\"]\n"),
		   "11:24", "'protocols' is an empty list");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_fqdns: [\"*.ubuntu.com\"]\n"
		       "            destination_ports: [\"123\"]\n"),
		   "13:33", "network rule FQDNs take no wildcards");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_fqdns: [a.com]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"
		       "            destination_ports: [\"123\"]\n"),
		   "13:32", "not both");
	/* a bare * is a YAML alias: say how to fix it */
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [*]\n"),
		   NULL, "write \"*\" in quotes");
}

static void test_errors_empty_missing(void **state)
{
	expect_err(net(""), "10:13",
		   "empty rule 'r': a network rule needs protocols");
	expect_err(net("            description: nothing\n"), "10:13",
		   "empty rule 'r'");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_addresses: [\"10.0.0.1\"]\n"),
		   "10:13", "rule 'r': missing 'destination_ports'");
	expect_err(net("            protocols: [TCP]\n"
		       "            source_addresses: [\"*\"]\n"
		       "            destination_ports: [\"1\"]\n"),
		   "10:13", "missing 'destination_addresses' or "
			    "'destination_fqdns'");
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: 100\n"
		   "    rule_collections:\n"
		   "      - name: c\n"
		   "        kind: network\n"
		   "        priority: 100\n"
		   "        action: allow\n"
		   "        rules: []\n",
		   "9:16", "empty rule list");
}

static void test_errors_names_priorities(void **state)
{
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: 99\n"
		   "    rule_collections: []\n",
		   "3:15", "priority 99 out of range: expected 100-65000");
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: 65001\n"
		   "    rule_collections: []\n",
		   "3:15", "priority 65001 out of range");
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: high\n"
		   "    rule_collections: []\n",
		   "3:15", "is not an integer");
	expect_err(net(OKNET "          - name: r\n" OKNET), "15:19",
		   "duplicate rule name 'r' in collection 'c' (first at line "
		   "10)");
	expect_err(net(OKNET "          - name: \"bad name!\"\n" OKNET), "15:19",
		   "invalid rule name");
	static const char two_groups[] =
		"rule_collection_groups:\n"
		"  - name: g\n"
		"    priority: 100\n"
		"    rule_collections:\n"
		"      - {name: c1, kind: network, priority: 100, action: allow,"
		" rules: [{name: r, protocols: [TCP], source_addresses: [\"*\"],"
		" destination_addresses: [\"*\"], destination_ports: [\"1\"]}]}\n"
		"      - {name: c1, kind: network, priority: 100, action: deny,"
		" rules: [{name: r, protocols: [TCP], source_addresses: [\"*\"],"
		" destination_addresses: [\"*\"], destination_ports: [\"1\"]}]}\n"
		"  - name: g\n"
		"    priority: 100\n"
		"    rule_collections:\n"
		"      - {name: c3, kind: network, priority: 100, action: allow,"
		" rules: [{name: r, protocols: [TCP], source_addresses: [\"*\"],"
		" destination_addresses: [\"*\"], destination_ports: [\"1\"]}]}\n";
	expect_err(two_groups, "7:11",
		   "duplicate rule collection group name 'g' (first at line 2)");
	expect_err(two_groups, "8:15", "duplicate priority 100: group 'g'");
	expect_err(two_groups, "6:45",
		   "duplicate priority 100: network collection 'c1'");
	expect_err(two_groups, "6:9",
		   "duplicate rule collection name 'c1' (first at line 5)");
	/* all errors are reported, not just the first */
	struct policy *p;
	struct policy_errors e = {0};
	assert_int_equal(load(two_groups, &p, &e), -EINVAL);
	assert_true(e.count >= 4);
	policy_errors_free(&e);
}

static void test_errors_collections(void **state)
{
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: 100\n"
		   "    rule_collections:\n"
		   "      - {name: c, kind: firewall, priority: 100, action: "
		   "allow, rules: []}\n",
		   "5:25", "unknown kind 'firewall'");
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: 100\n"
		   "    rule_collections:\n"
		   "      - {name: c, kind: dnat, priority: 100, action: allow,"
		   " rules: []}\n",
		   "5:54", "action 'allow' is not valid for a dnat collection: "
			   "expected dnat");
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: 100\n"
		   "    rule_collections:\n"
		   "      - {name: c, kind: network, priority: 100, action: dnat,"
		   " rules: []}\n",
		   "5:57", "not valid for a network collection");
	expect_err("rule_collection_groups:\n"
		   "  - name: g\n"
		   "    priority: 100\n"
		   "    rule_collections:\n"
		   "      - {name: c, kind: network, priority: 100, action: "
		   "permit, rules: []}\n",
		   "5:57", "unknown action 'permit': expected allow or deny");
}

static char *app(const char *top, const char *body)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf),
		 "%s"
		 "rule_collection_groups:\n"
		 "  - name: g\n"
		 "    priority: 100\n"
		 "    rule_collections:\n"
		 "      - name: c\n"
		 "        kind: application\n"
		 "        priority: 100\n"
		 "        action: allow\n"
		 "        rules:\n"
		 "          - name: r\n"
		 "            source_addresses: [\"*\"]\n"
		 "%s",
		 top, body);
	return buf;
}

static void test_errors_app(void **state)
{
	expect_err(app("", "            protocols: [\"https:443\"]\n"
			    "            fqdn_tags: [NoSuchTag]\n"),
		   "13:25", "unknown FQDN tag 'NoSuchTag'");
	expect_err(app("", "            protocols: [\"https:443\"]\n"
			    "            fqdn_tags: [AzureKubernetesService]\n"),
		   "13:25", "set the policy's top-level 'region:'");
	expect_err(app("", "            protocols: [\"https:443\"]\n"
			    "            target_fqdns: [\"www.contoso.*\"]\n"),
		   "13:28", "patterns such as www.contoso.* or *.contoso.* are "
			    "not supported");
	expect_err(app("", "            protocols: [\"ftp:21\"]\n"
			    "            target_fqdns: [a.com]\n"),
		   "12:25", "bad application protocol 'ftp:21'");
	expect_err(app("", "            protocols: [\"mssql:1433\"]\n"
			    "            target_fqdns: [a.com]\n"),
		   "12:25", "'mssql' is not supported");
	expect_err(app("", "            protocols: [\"https:99999\"]\n"
			    "            target_fqdns: [a.com]\n"),
		   "12:25", "bad port in 'https:99999'");
	expect_err(app("", "            protocols: [\"https:443\"]\n"),
		   "10:13", "needs 'target_fqdns' or 'fqdn_tags'");
	expect_err(app("", "            protocols: [\"https:443\"]\n"
			    "            target_fqdns: [a.com]\n"
			    "            destination_ports: [\"443\"]\n"),
		   "14:13", "application rules take ports in protocols");
	expect_err(app("region: East US\n",
		       "            protocols: [\"https:443\"]\n"
		       "            target_fqdns: [a.com]\n"),
		   "1:9", "bad region");
	expect_err(app("cloud: mars\n",
		       "            protocols: [\"https:443\"]\n"
		       "            target_fqdns: [a.com]\n"),
		   "1:8", "unknown cloud 'mars'");
	char y[16384];
	snprintf(y, sizeof(y), "service_tags_file: /nonexistent/tags.json\n%s",
		 net("            protocols: [TCP]\n"
		     "            source_addresses: [\"*\"]\n"
		     "            destination_addresses: [AzureCloud]\n"
		     "            destination_ports: [\"443\"]\n"));
	expect_err(y, "14:37",
		   "cannot load service tags from /nonexistent/tags.json");
	/* a relative service_tags_file is resolved against the policy */
	snprintf(y, sizeof(y), "service_tags_file: nothere.json\n%s",
		 net("            protocols: [TCP]\n"
		     "            source_addresses: [\"*\"]\n"
		     "            destination_addresses: [AzureCloud]\n"
		     "            destination_ports: [\"443\"]\n"));
	expect_err(y, "14:37", "cannot load service tags from ./nothere.json");
}

static void test_errors_dnat(void **state)
{
	static const char hdr[] = "rule_collection_groups:\n"
				  "  - name: g\n"
				  "    priority: 100\n"
				  "    rule_collections:\n"
				  "      - name: c\n"
				  "        kind: dnat\n"
				  "        priority: 100\n"
				  "        action: dnat\n"
				  "        rules:\n"
				  "          - name: r\n"
				  "            protocols: [TCP]\n"
				  "            source_addresses: [\"*\"]\n";
	char b[4096];
	snprintf(b, sizeof(b), "%s%s", hdr,
		 "            destination_addresses: [\"192.0.2.0/24\"]\n"
		 "            destination_ports: [\"80-90\"]\n"
		 "            translated_address: 198.18.0.300\n"
		 "            translated_port: \"*\"\n");
	expect_err(b, "13:37", "must be single IPv4 addresses");
	expect_err(b, "14:33", "must be single ports");
	expect_err(b, "15:33", "bad translated_address '198.18.0.300'");
	expect_err(b, "16:30", "bad translated_port '*'");
	snprintf(b, sizeof(b), "%s%s", hdr,
		 "            destination_addresses: [\"192.0.2.1\"]\n"
		 "            destination_ports: [\"80\"]\n");
	expect_err(b, "10:13", "missing 'translated_address'");
	expect_err(b, "10:13", "missing 'translated_port'");
}

static void test_hostile(void **state)
{
	/* deep nesting */
	char *deep = malloc(200000);
	size_t n = 0;
	for (int i = 0; i < 50000; i++)
		deep[n++] = '[';
	deep[n] = 0;
	expect_err(deep, "1:33", "nesting deeper than 32 levels");
	/* alias bomb: refused at the first alias */
	expect_err("a: &a [x, x, x, x, x, x, x, x, x]\n"
		   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
		   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n",
		   "2:8", "YAML aliases (*a) are not supported");
	/* huge scalar */
	memcpy(deep, "region: ", 8);
	memset(deep + 8, 'a', 100000);
	deep[100008] = 0;
	expect_err(deep, "1:9", "scalar of 100000 bytes is longer than the "
				"4096-byte limit");
	/* binary garbage */
	for (int i = 0; i < 1000; i++)
		deep[i] = (char)(i * 37 + 11);
	deep[1000] = 0;
	expect_err(deep, NULL, "YAML syntax error");
	/* NUL bytes */
	struct policy *p;
	struct policy_errors e = {0};
	assert_int_equal(policy_load_buf(F, "a: b\0c\n", 7, NULL, &p, &e),
			 -EINVAL);
	assert_true(e.count == 1);
	policy_errors_free(&e);
	/* tags and multiple documents */
	expect_err("--- !!binary\nabc\n", "1:5", "YAML tags");
	expect_err("rule_collection_groups: []\n---\nb: 1\n", "2:1",
		   "more than one YAML document");
	expect_err("", "1:1", "empty document");
	/* many nodes: rejected by count before memory runs away */
	size_t big = 9u << 20;
	char *flat = malloc(big + 16);
	n = 0;
	flat[n++] = '[';
	while (n + 2 < big)
		flat[n++] = '1', flat[n++] = ',';
	flat[n++] = ']';
	assert_int_equal(policy_load_buf(F, flat, n, NULL, &p, &e), -EFBIG);
	assert_non_null(strstr(e.msgs[0], "YAML nodes"));
	policy_errors_free(&e);
	free(flat);
	free(deep);

	/* a 100 MB file: refused by size before it is read */
	char path[] = "/tmp/tg-policy-big-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100l << 20), 0);
	close(fd);
	assert_int_equal(policy_load(path, NULL, &p, &e), -EFBIG);
	assert_non_null(strstr(e.msgs[0], "larger than the"));
	assert_int_equal(strncmp(e.msgs[0], path, strlen(path)), 0);
	policy_errors_free(&e);
	unlink(path);
	assert_int_equal(policy_load("/nonexistent.yaml", NULL, &p, &e),
			 -ENOENT);
	assert_non_null(strstr(e.msgs[0], "cannot open"));
	policy_errors_free(&e);
}

/* ---- matching through the compiled rule set ---- */

struct world {
	struct policy *p;
	struct policy_ruleset *rs;
	struct policy_scratch *s;
};

static struct world compile(const char *y)
{
	struct world w = {0};
	struct policy_errors e = {0};
	int rc = load(y, &w.p, &e);
	dump(&e);
	assert_int_equal(rc, 0);
	assert_int_equal(policy_compile(w.p, &w.rs, &e), 0);
	assert_int_equal(policy_scratch_alloc(w.rs, &w.s), 0);
	policy_errors_free(&e);
	return w;
}

static void release(struct world *w)
{
	policy_scratch_free(w->s);
	policy_ruleset_free(w->rs);
	policy_free(w->p);
}

static uint32_t ip(const char *s)
{
	uint32_t a;
	assert_int_equal(rules_parse_ipv4(s, &a), 0);
	return a;
}

/* Evaluate and return "collection/rule" or "deny:<reason>". */
static const char *eval(struct world *w, const char *src, const char *dst,
			int proto, int port, const char *fqdn)
{
	static char out[256];
	struct policy_flow f = {.src = ip(src), .dst = ip(dst),
				.dport = (uint16_t)port,
				.ipproto = (uint8_t)proto};
	struct policy_verdict v;
	policy_evaluate(w->rs, w->s, &f,
			port == 80 ? POLICY_SCHEME_HTTP : POLICY_SCHEME_HTTPS,
			fqdn, fqdn ? strlen(fqdn) : 0, &v);
	const struct policy_rule_info *in = policy_rule_info(w->rs, v.rule_id);
	if (in == NULL)
		snprintf(out, sizeof(out), "deny:%s",
			 policy_reason_str(v.reason));
	else
		snprintf(out, sizeof(out), "%s:%s/%s",
			 policy_action_str(v.action), in->collection, in->rule);
	return out;
}

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define ICMP IPPROTO_ICMP

static const char order_policy[] =
	"region: eastus\n"
	"rule_collection_groups:\n"
	/* file order is not evaluation order: group 300 comes last */
	"  - name: late\n"
	"    priority: 300\n"
	"    rule_collections:\n"
	"      - {name: late-net, kind: network, priority: 100, action: allow,"
	"         rules: [{name: all-tcp, protocols: [TCP], source_addresses: "
	"[\"*\"], destination_addresses: [\"*\"], destination_ports: [\"*\"]}]}\n"
	"  - name: early\n"
	"    priority: 200\n"
	"    rule_collections:\n"
	"      - {name: e-allow, kind: network, priority: 500, action: allow,"
	"         rules: [{name: web, protocols: [TCP], source_addresses: "
	"[\"198.18.0.0/16\"], destination_addresses: [\"203.0.113.0/24\"],"
	" destination_ports: [\"443\", \"8000-8100\"]},"
	"                 {name: ping, protocols: [ICMP], source_addresses: "
	"[\"*\"], destination_addresses: [\"203.0.113.0/24\"],"
	" destination_ports: [\"*\"]},"
	"                 {name: dns, protocols: [UDP], source_addresses: "
	"[\"198.18.0.0-198.18.0.255\"], destination_addresses: [AzureCloud.eastus],"
	" destination_ports: [\"53\"]}]}\n"
	"      - {name: e-deny, kind: network, priority: 400, action: deny,"
	"         rules: [{name: block, protocols: [Any], source_addresses: "
	"[\"198.18.9.0/24\"], destination_addresses: [\"*\"],"
	" destination_ports: [\"*\"]}]}\n"
	"      - {name: e-app, kind: application, priority: 200, action: allow,"
	"         rules: [{name: sub, protocols: [\"https:443\"], source_addresses:"
	" [\"198.19.0.0/16\"], target_fqdns: [\"*.contoso.com\"]},"
	"                 {name: aks, protocols: [\"http:80\", \"https:443\"],"
	" source_addresses: [\"198.19.0.0/16\"], fqdn_tags: [AzureKubernetesService]}]}\n"
	"      - {name: e-appdeny, kind: application, priority: 150, action: deny,"
	"         rules: [{name: nobad, protocols: [\"https:443\"],"
	" source_addresses: [\"*\"], target_fqdns: [\"bad.contoso.com\"]}]}\n"
	"      - {name: e-dnat, kind: dnat, priority: 900, action: dnat,"
	"         rules: [{name: in, protocols: [Any], source_addresses: [\"*\"],"
	" destination_addresses: [\"192.0.2.10\"], destination_ports: [\"80\"],"
	" translated_address: 198.18.1.100, translated_port: 8080}]}\n";

static void test_processing_order(void **state)
{
	struct world w = compile(order_policy);
	/* DNAT first, even though its collection priority is the lowest */
	assert_string_equal(eval(&w, "203.0.113.5", "192.0.2.10", TCP, 80, NULL),
			    "dnat:e-dnat/in");
	struct policy_flow f = {ip("203.0.113.5"), ip("192.0.2.10"), 80, UDP};
	struct policy_verdict v;
	assert_true(policy_match_network(w.rs, &f, &v));
	assert_int_equal(v.stage, POLICY_STAGE_DNAT);
	assert_int_equal(v.xlat_addr, ip("198.18.1.100"));
	assert_int_equal(v.xlat_port, 8080);
	/* group 200 before group 300; in group 200, deny (400) before
	 * allow (500) */
	assert_string_equal(eval(&w, "198.18.9.1", "203.0.113.5", TCP, 443, NULL),
			    "deny:e-deny/block");
	assert_string_equal(eval(&w, "198.18.1.1", "203.0.113.5", TCP, 443, NULL),
			    "allow:e-allow/web");
	assert_string_equal(eval(&w, "198.18.1.1", "203.0.113.5", TCP, 8050, NULL),
			    "allow:e-allow/web");
	/* falls through to the later group */
	assert_string_equal(eval(&w, "198.18.1.1", "203.0.113.5", TCP, 8101, NULL),
			    "allow:late-net/all-tcp");
	/* ICMP ignores ports */
	assert_string_equal(eval(&w, "10.1.1.1", "203.0.113.5", ICMP, 0, NULL),
			    "allow:e-allow/ping");
	/* service tag (sample: AzureCloud.eastus = 198.51.100.0/25, ...) */
	assert_string_equal(eval(&w, "198.18.0.7", "198.51.100.5", UDP, 53, NULL),
			    "allow:e-allow/dns");
	assert_string_equal(eval(&w, "198.18.0.7", "198.51.100.200", UDP, 53, NULL),
			    "deny:no rule matched");
	assert_string_equal(eval(&w, "198.18.1.7", "198.51.100.5", UDP, 53, NULL),
			    "deny:no rule matched");
	/* the burst API gives the same verdicts as one-at-a-time */
	{
		struct policy_flow fl[70];
		struct policy_verdict vb[70], v1;
		static const char *const srcs[] = {"198.18.9.1", "198.18.1.1",
						   "10.1.1.1", "198.18.0.7",
						   "203.0.113.5"};
		static const char *const dsts[] = {"203.0.113.5", "192.0.2.10",
						   "198.51.100.5", "1.2.3.4"};
		static const uint8_t protos[] = {TCP, UDP, ICMP, 47};
		static const uint16_t ports[] = {443, 80, 53, 8050, 8101};
		for (unsigned i = 0; i < 70; i++)
			fl[i] = (struct policy_flow){ip(srcs[i % 5]),
						     ip(dsts[(i / 5) % 4]),
						     ports[(i / 3) % 5],
						     protos[(i / 7) % 4]};
		unsigned nm = policy_match_network_bulk(w.rs, fl, 70, vb);
		unsigned n1 = 0;
		for (unsigned i = 0; i < 70; i++) {
			n1 += policy_match_network(w.rs, &fl[i], &v1);
			assert_int_equal(vb[i].rule_id, v1.rule_id);
			assert_int_equal(vb[i].action, v1.action);
			assert_int_equal(vb[i].stage, v1.stage);
			assert_int_equal(vb[i].xlat_addr, v1.xlat_addr);
		}
		assert_int_equal(nm, n1);
		assert_true(nm > 10 && nm < 70);
	}
	/* network rule matched: application rules are not consulted */
	assert_string_equal(eval(&w, "198.19.1.1", "1.2.3.4", TCP, 443,
				 "www.contoso.com"),
			    "allow:late-net/all-tcp");
	release(&w);
}

static const char app_policy[] =
	"region: westus2\n"
	"rule_collection_groups:\n"
	"  - name: g\n"
	"    priority: 200\n"
	"    rule_collections:\n"
	"      - {name: net, kind: network, priority: 100, action: allow,"
	"         rules: [{name: udp, protocols: [UDP], source_addresses: "
	"[\"*\"], destination_addresses: [\"*\"], destination_ports: [\"*\"]}]}\n"
	"      - {name: appdeny, kind: application, priority: 150, action: deny,"
	"         rules: [{name: nobad, protocols: [\"https:443\"],"
	" source_addresses: [\"*\"], target_fqdns: [\"bad.contoso.com\"]}]}\n"
	"      - {name: app, kind: application, priority: 200, action: allow,"
	"         rules: [{name: sub, protocols: [\"https:443\"], source_addresses:"
	" [\"198.19.0.0/16\"], target_fqdns: [\"*.contoso.com\"]},"
	"                 {name: suffix, protocols: [\"https:8443\"],"
	" source_addresses: [\"*\"], target_fqdns: [\"*fabrikam.com\"]},"
	"                 {name: idn, protocols: [\"https:443\"],"
	" source_addresses: [\"198.19.0.0/16\"], target_fqdns: [\"bücher.example\"]},"
	"                 {name: aks, protocols: [\"http:80\", \"https:443\"],"
	" source_addresses: [\"198.19.0.0/16\"], fqdn_tags: [AzureKubernetesService]}]}\n";

static void test_application(void **state)
{
	struct world w = compile(app_policy);
	const char *S = "198.19.0.9", *D = "203.0.113.80";
	assert_string_equal(eval(&w, S, D, TCP, 443, "www.contoso.com"),
			    "allow:app/sub");
	/* the deny collection has higher priority */
	assert_string_equal(eval(&w, S, D, TCP, 443, "BAD.contoso.com."),
			    "deny:appdeny/nobad");
	assert_string_equal(eval(&w, S, D, TCP, 443, "contoso.com"),
			    "deny:no application rule matched the FQDN");
	/* source filter */
	assert_string_equal(eval(&w, "198.18.0.1", D, TCP, 443, "www.contoso.com"),
			    "deny:no application rule matched the FQDN");
	/* scheme/port filter: *fabrikam.com only on https:8443 */
	assert_string_equal(eval(&w, S, D, TCP, 8443, "myfabrikam.com"),
			    "allow:app/suffix");
	assert_string_equal(eval(&w, S, D, TCP, 443, "myfabrikam.com"),
			    "deny:no application rule matched the FQDN");
	/* FQDN tag with <location> = region */
	assert_string_equal(eval(&w, S, D, TCP, 443, "x.hcp.westus2.azmk8s.io"),
			    "allow:app/aks");
	assert_string_equal(eval(&w, S, D, TCP, 443, "x.hcp.eastus.azmk8s.io"),
			    "deny:no application rule matched the FQDN");
	assert_string_equal(eval(&w, S, D, TCP, 80, "mcr.microsoft.com"),
			    "allow:app/aks");
	/* http:80 + https:443 does not mean https on port 80 */
	struct policy_flow f = {ip(S), ip(D), 80, TCP};
	struct policy_verdict v;
	assert_false(policy_match_app(w.rs, w.s, &f, POLICY_SCHEME_HTTPS,
				      "mcr.microsoft.com", 17, &v));
	/* U-label in the policy, A-label on the wire */
	assert_string_equal(eval(&w, S, D, TCP, 443, "xn--bcher-kva.example"),
			    "allow:app/idn");
	assert_string_equal(eval(&w, S, D, TCP, 443, "bücher.example"),
			    "deny:invalid FQDN (not an ASCII/A-label host name)");
	/* no FQDN yet: candidate for inspection */
	assert_string_equal(eval(&w, S, D, TCP, 443, NULL),
			    "deny:no network rule matched; an application rule "
			    "may allow it once the TLS SNI or HTTP Host is known");
	assert_true(policy_app_candidate(w.rs, &(struct policy_flow){ip(S), ip(D), 443, TCP},
					 POLICY_SCHEME_MASK_HTTPS));
	assert_true(policy_app_candidate(w.rs, &(struct policy_flow){ip(S), ip(D), 80, TCP},
					 POLICY_SCHEME_MASK_HTTP | POLICY_SCHEME_MASK_HTTPS));
	assert_false(policy_app_candidate(w.rs, &(struct policy_flow){ip(S), ip(D), 80, TCP},
					  POLICY_SCHEME_MASK_HTTPS));
	assert_false(policy_app_candidate(w.rs, &(struct policy_flow){ip(S), ip(D), 22, TCP},
					  POLICY_SCHEME_MASK_HTTP | POLICY_SCHEME_MASK_HTTPS));
	/* only a deny rule covers this source on 443 */
	assert_false(policy_app_candidate(w.rs, &(struct policy_flow){ip("10.9.9.9"), ip(D), 443, TCP},
					  POLICY_SCHEME_MASK_HTTPS));
	assert_string_equal(eval(&w, "10.9.9.9", D, TCP, 443, NULL),
			    "deny:no rule matched");
	/* application rules never apply to UDP; UDP hits the network rule */
	assert_string_equal(eval(&w, S, D, UDP, 443, "www.contoso.com"),
			    "allow:net/udp");
	assert_string_equal(eval(&w, S, D, ICMP, 0, "www.contoso.com"),
			    "deny:no rule matched");
	release(&w);
}

static void test_clouds(void **state)
{
	char y[4096];
	snprintf(y, sizeof(y), "cloud: china\n%s", app_policy);
	struct world w = compile(y);
	const char *S = "198.19.0.9", *D = "203.0.113.80";
	assert_string_equal(eval(&w, S, D, TCP, 443,
				 "a.tun.westus2.cx.prod.service.azk8s.cn"),
			    "allow:app/aks");
	assert_string_equal(eval(&w, S, D, TCP, 443, "management.azure.com"),
			    "deny:no application rule matched the FQDN");
	release(&w);
	snprintf(y, sizeof(y), "cloud: usgov\n%s", app_policy);
	w = compile(y);
	assert_string_equal(eval(&w, S, D, TCP, 443, "login.microsoftonline.us"),
			    "allow:app/aks");
	release(&w);
}

static void test_default_deny_and_dynset(void **state)
{
	static const char y[] =
		"rule_collection_groups:\n"
		"  - name: g\n"
		"    priority: 100\n"
		"    rule_collections:\n"
		"      - {name: c, kind: network, priority: 100, action: allow,"
		"         rules: [{name: time, protocols: [UDP], source_addresses:"
		" [\"*\"], destination_fqdns: [ntp.ubuntu.com], destination_ports:"
		" [\"123\"]},"
		"                 {name: other, protocols: [UDP], source_addresses:"
		" [\"198.18.0.0/15\"], destination_addresses: [\"203.0.113.0/24\"],"
		" destination_ports: [\"123\"]}]}\n";
	struct world w = compile(y);
	/* unresolved: the FQDN rule matches nothing */
	assert_string_equal(eval(&w, "198.18.0.1", "198.51.100.7", UDP, 123, NULL),
			    "deny:no rule matched");
	assert_string_equal(eval(&w, "198.18.0.1", "203.0.113.9", UDP, 123, NULL),
			    "allow:c/other");
	const char *const *f;
	assert_int_equal(policy_rule_dst_fqdns(w.rs, 0, &f), 1);
	assert_string_equal(f[0], "ntp.ubuntu.com");
	struct policy_dynset *s = malloc(sizeof(*s) + 2 * sizeof(uint32_t));
	s->n = 2;
	s->addrs[0] = ip("198.51.100.7");
	s->addrs[1] = ip("203.0.113.9");
	int err;
	assert_null(policy_dynset_publish(w.rs, 0, s, &err));
	assert_int_equal(err, 0);
	assert_string_equal(eval(&w, "198.18.0.1", "198.51.100.7", UDP, 123, NULL),
			    "allow:c/time");
	assert_string_equal(eval(&w, "198.18.0.1", "203.0.113.9", UDP, 123, NULL),
			    "allow:c/time");
	assert_string_equal(eval(&w, "198.18.0.1", "198.51.100.8", UDP, 123, NULL),
			    "deny:no rule matched");
	assert_string_equal(eval(&w, "198.18.0.1", "198.51.100.7", UDP, 124, NULL),
			    "deny:no rule matched");
	assert_null(policy_dynset_publish(w.rs, 1, s, &err));
	assert_int_equal(err, -EINVAL);
	release(&w); /* frees the published set */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_loads),
		cmocka_unit_test(test_errors_structure),
		cmocka_unit_test(test_errors_values),
		cmocka_unit_test(test_errors_empty_missing),
		cmocka_unit_test(test_errors_names_priorities),
		cmocka_unit_test(test_errors_collections),
		cmocka_unit_test(test_errors_app),
		cmocka_unit_test(test_errors_dnat),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_processing_order),
		cmocka_unit_test(test_application),
		cmocka_unit_test(test_clouds),
		cmocka_unit_test(test_default_deny_and_dynset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
