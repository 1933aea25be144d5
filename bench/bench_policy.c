/* SPDX-License-Identifier: BSD-3-Clause
 * Policy benchmarks (library level: the same compile and match functions
 * the control thread and the workers call).
 *
 *   fqdn      policy_match_app() ns/name with 10, 1,000 and 100,000 FQDN
 *             patterns; policy_compile() time at 1,000 and 100,000.
 *   classify  policy_match_network() ns/packet with 10,000 network rules.
 *
 * Each figure is the median of --reps runs (default 7), with min and max;
 * the human table or --json. Rule sets and traffic are pseudo-random with
 * a fixed seed, so runs are comparable.
 */
#include "bench/bench.h"
#include "bench/bench_policy.h"

#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules/policy.h"

struct stat3 {
	double med, min, max;
};

struct row {
	const char *scenario;
	const char *metric;
	unsigned long n;
	const char *unit;
	struct stat3 s;
	double goal; /* 0: none */
};

#define MAX_ROWS 16
static struct row rows[MAX_ROWS];
static int n_rows;

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct stat3 summarize(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), dcmp);
	struct stat3 s = {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2,
			  v[0], v[n - 1]};
	return s;
}

static void add_row(const char *sc, const char *metric, unsigned long n,
		    const char *unit, struct stat3 s, double goal)
{
	if (n_rows < MAX_ROWS)
		rows[n_rows++] = (struct row){sc, metric, n, unit, s, goal};
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	/* xorshift64*: fixed seed, reproducible rule sets */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (p == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* FQDN                                                                */
/* ------------------------------------------------------------------ */

static const char *const tlds[] = {"com", "net", "org", "io", "de", "cn"};

static void rand_label(char *out, int minlen, int maxlen)
{
	int n = minlen + (int)(rnd() % (unsigned)(maxlen - minlen + 1));
	for (int i = 0; i < n; i++)
		out[i] = (char)('a' + rnd() % 26);
	out[n] = '\0';
}

/* Patterns: 45% exact names, 45% "*.domain", 10% "*suffix" (Azure's
 * non-boundary wildcard), over 6 TLDs so suffixes are shared as in real
 * lists. Each application rule carries 10 patterns. */
struct fqdn_set {
	struct policy p;
	struct policy_group g;
	struct policy_collection c;
	char **pats;
	size_t n;
	char **names;
	size_t n_names;
};

static struct policy_range32 any32 = {0, UINT32_MAX};
static struct policy_app_proto https443 = {POLICY_SCHEME_HTTPS, 443};

static void fqdn_set_make(struct fqdn_set *fs, size_t n, size_t n_names)
{
	memset(fs, 0, sizeof(*fs));
	fs->n = n;
	fs->pats = xcalloc(n, sizeof(char *));
	char dom[64], host[64];
	for (size_t i = 0; i < n; i++) {
		unsigned k = rnd() % 20;
		rand_label(dom, 4, 12);
		rand_label(host, 2, 8);
		const char *tld = tlds[rnd() % 6];
		char buf[160];
		if (k < 9)
			snprintf(buf, sizeof(buf), "%s.%s%zu.%s", host, dom, i, tld);
		else if (k < 18)
			snprintf(buf, sizeof(buf), "*.%s%zu.%s", dom, i, tld);
		else
			snprintf(buf, sizeof(buf), "*%s%zu.%s", dom, i, tld);
		fs->pats[i] = strdup(buf);
	}
	size_t n_rules = (n + 9) / 10;
	struct policy_rule *r = xcalloc(n_rules, sizeof(*r));
	for (size_t i = 0; i < n_rules; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "r%zu", i);
		r[i].name = strdup(nm);
		r[i].src = &any32;
		r[i].n_src = 1;
		r[i].app_protos = &https443;
		r[i].n_app_protos = 1;
		r[i].fqdns = (const char **)&fs->pats[i * 10];
		r[i].n_fqdns = i * 10 + 10 <= n ? 10 : n - i * 10;
	}
	fs->c = (struct policy_collection){.name = "app",
					   .kind = POLICY_KIND_APPLICATION,
					   .action = POLICY_ACTION_ALLOW,
					   .priority = 100,
					   .rules = r,
					   .n_rules = n_rules};
	fs->g = (struct policy_group){.name = "g", .priority = 100,
				      .colls = &fs->c, .n_colls = 1};
	fs->p = (struct policy){.path = "bench", .groups = &fs->g, .n_groups = 1};

	/* Names: half hit a pattern (a host below a "*." domain, the exact
	 * name, a prefix on a "*x" suffix), half miss (random, same TLDs). */
	fs->n_names = n_names;
	fs->names = xcalloc(n_names, sizeof(char *));
	for (size_t i = 0; i < n_names; i++) {
		char buf[200];
		if (i % 2 == 0) {
			const char *p = fs->pats[rnd() % n];
			rand_label(host, 3, 10);
			if (p[0] == '*' && p[1] == '.')
				snprintf(buf, sizeof(buf), "%s%s", host, p + 1);
			else if (p[0] == '*')
				snprintf(buf, sizeof(buf), "%s%s", host, p + 1);
			else
				snprintf(buf, sizeof(buf), "%s", p);
		} else {
			rand_label(host, 3, 10);
			rand_label(dom, 4, 12);
			snprintf(buf, sizeof(buf), "%s.%s.%s", host, dom,
				 tlds[rnd() % 6]);
		}
		fs->names[i] = strdup(buf);
	}
}

static void fqdn_set_free(struct fqdn_set *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->pats[i]);
	for (size_t i = 0; i < fs->c.n_rules; i++)
		free((char *)fs->c.rules[i].name);
	for (size_t i = 0; i < fs->n_names; i++)
		free(fs->names[i]);
	free(fs->c.rules);
	free(fs->pats);
	free(fs->names);
}

static struct policy_ruleset *compile_or_die(const struct policy *p)
{
	struct policy_ruleset *rs;
	struct policy_errors e = {0};
	if (policy_compile(p, &rs, &e) < 0) {
		fprintf(stderr, "bench: compile failed: %s\n",
			e.count ? e.msgs[0] : "?");
		exit(1);
	}
	policy_errors_free(&e);
	return rs;
}

static int bench_fqdn(int reps, size_t max_n)
{
	static const size_t sizes[] = {10, 1000, 100000};
	const size_t n_names = 4096;
	double *v = xcalloc((size_t)reps, sizeof(double));

	for (size_t si = 0; si < 3; si++) {
		size_t n = sizes[si];
		if (n > max_n)
			continue;
		struct fqdn_set fs;
		fqdn_set_make(&fs, n, n_names);
		size_t *lens = xcalloc(n_names, sizeof(size_t));
		for (size_t i = 0; i < n_names; i++)
			lens[i] = strlen(fs.names[i]);

		/* compile time: at 1,000 and 100,000 */
		struct policy_ruleset *rs = NULL;
		int creps = n >= 100000 ? (reps < 3 ? reps : 3) : reps;
		for (int r = 0; r < creps; r++) {
			double t0 = now_ns();
			struct policy_ruleset *x = compile_or_die(&fs.p);
			v[r] = (now_ns() - t0) / 1e6;
			if (rs == NULL)
				rs = x;
			else
				policy_ruleset_free(x);
		}
		if (n >= 1000)
			add_row("fqdn", "compile", n, "ms", summarize(v, creps),
				n >= 100000 ? 2000 : 0);

		struct policy_scratch *s;
		if (policy_scratch_alloc(rs, &s) < 0) {
			fprintf(stderr, "bench: scratch allocation failed\n");
			return 1;
		}
		struct policy_flow f = {.src = 0xc6120001, .dst = 0xcb007101,
					.dport = 443, .ipproto = IPPROTO_TCP};
		struct policy_verdict vd;
		size_t hits = 0;
		const int loops = 50;
		for (int r = 0; r < reps; r++) {
			double t0 = now_ns();
			for (int l = 0; l < loops; l++)
				for (size_t i = 0; i < n_names; i++)
					hits += policy_match_app(
						rs, s, &f, POLICY_SCHEME_HTTPS,
						fs.names[i], lens[i], &vd);
			v[r] = (now_ns() - t0) / (double)(loops * n_names);
		}
		/* half the names are built to hit */
		if (hits < (size_t)reps * loops * n_names / 2) {
			fprintf(stderr, "bench: fqdn n=%zu: %zu hits, expected "
					"at least half\n",
				n, hits);
			return 1;
		}
		add_row("fqdn", "match", n, "ns/name", summarize(v, reps),
			n >= 100000 ? 150 : 0);
		policy_scratch_free(s);
		policy_ruleset_free(rs);
		free(lens);
		fqdn_set_free(&fs);
	}
	free(v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Network classification                                              */
/* ------------------------------------------------------------------ */

/* 10,000 rules shaped like egress policies: sources mostly "*" or a
 * cluster subnet, destinations CIDRs /16../32 (10% are 20-prefix
 * service-tag-like sets), ports single / range / "*", TCP, UDP or Any. */
static int bench_classify(int reps, size_t n_rules)
{
	struct policy_rule *r = xcalloc(n_rules, sizeof(*r));
	struct policy_range32 *src = xcalloc(n_rules, sizeof(*src));
	struct policy_range32 *dst = xcalloc(n_rules * 20, sizeof(*dst));
	struct policy_range16 *ports = xcalloc(n_rules, sizeof(*ports));
	for (size_t i = 0; i < n_rules; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "n%zu", i);
		r[i].name = strdup(nm);
		unsigned k = rnd() % 10;
		if (k < 6) {
			src[i] = any32;
		} else {
			unsigned len = 16 + rnd() % 9;
			uint32_t m = ~(UINT32_MAX >> len);
			src[i].lo = (0xc6120000u | (rnd() & 0x1ffff)) & m;
			src[i].hi = src[i].lo | ~m;
		}
		r[i].src = &src[i];
		r[i].n_src = 1;
		size_t nd = rnd() % 10 == 0 ? 20 : 1;
		struct policy_range32 *d = &dst[i * 20];
		uint32_t base = rnd();
		for (size_t j = 0; j < nd; j++) {
			unsigned len = 16 + rnd() % 17;
			uint32_t m = len == 32 ? UINT32_MAX : ~(UINT32_MAX >> len);
			/* service-tag-like sets are ascending and disjoint */
			uint32_t a = nd > 1 ? (base & 0xff000000u) |
						      ((uint32_t)j << 19) |
						      (rnd() & 0x7ffff)
					    : rnd();
			if (nd > 1 && len < 14)
				len = 14;
			d[j].lo = a & m;
			d[j].hi = d[j].lo | ~m;
			if (nd > 1 && d[j].hi > ((base & 0xff000000u) |
						 ((uint32_t)j << 19) | 0x7ffff)) {
				d[j].lo = (base & 0xff000000u) | ((uint32_t)j << 19);
				d[j].hi = d[j].lo | 0x7ffff;
			}
		}
		r[i].dst = d;
		r[i].n_dst = nd;
		k = rnd() % 10;
		if (k < 6)
			ports[i].lo = ports[i].hi = (uint16_t)(1 + rnd() % 10000);
		else if (k < 8) {
			ports[i].lo = (uint16_t)(1024 + rnd() % 30000);
			ports[i].hi = (uint16_t)(ports[i].lo + rnd() % 1000);
		} else {
			ports[i].lo = 0;
			ports[i].hi = 65535;
		}
		r[i].ports = &ports[i];
		r[i].n_ports = 1;
		k = rnd() % 10;
		r[i].protos = k < 5   ? POLICY_PROTO_TCP
			      : k < 8 ? POLICY_PROTO_UDP
				      : POLICY_PROTO_ANY;
	}
	struct policy_collection c = {.name = "net",
				      .kind = POLICY_KIND_NETWORK,
				      .action = POLICY_ACTION_ALLOW,
				      .priority = 100,
				      .rules = r,
				      .n_rules = n_rules};
	struct policy_group g = {.name = "g", .priority = 100, .colls = &c,
				 .n_colls = 1};
	struct policy p = {.path = "bench", .groups = &g, .n_groups = 1};
	double *v = xcalloc((size_t)reps, sizeof(double));
	double t0 = now_ns();
	struct policy_ruleset *rs = compile_or_die(&p);
	double compile_ms = (now_ns() - t0) / 1e6;
	struct stat3 cs = {compile_ms, compile_ms, compile_ms};
	add_row("classify", "compile", n_rules, "ms", cs, 0);

	/* Packets: half aimed at a random rule's destination and port,
	 * half random (mostly default deny: the slowest path, every
	 * candidate word is inspected). */
	const size_t n_pkts = 1 << 16;
	struct policy_flow *f = xcalloc(n_pkts, sizeof(*f));
	for (size_t i = 0; i < n_pkts; i++) {
		f[i].src = 0xc6120000u | (rnd() & 0x1ffff);
		f[i].ipproto = rnd() % 3 ? IPPROTO_TCP : IPPROTO_UDP;
		if (i % 2 == 0) {
			const struct policy_rule *x = &r[rnd() % n_rules];
			const struct policy_range32 *d = &x->dst[rnd() % x->n_dst];
			f[i].dst = d->lo + rnd() % (d->hi - d->lo + 1u ? d->hi - d->lo + 1u : 1u);
			f[i].dport = (uint16_t)(x->ports[0].lo +
						rnd() % ((uint32_t)x->ports[0].hi -
							 x->ports[0].lo + 1));
		} else {
			f[i].dst = rnd();
			f[i].dport = (uint16_t)(1 + rnd() % 65535);
		}
	}
	struct policy_verdict vd;
	size_t matched = 0;
	const int loops = 8;
	for (int rep = 0; rep < reps; rep++) {
		t0 = now_ns();
		for (int l = 0; l < loops; l++)
			for (size_t i = 0; i < n_pkts; i++)
				matched += policy_match_network(rs, &f[i], &vd);
		v[rep] = (now_ns() - t0) / (double)(loops * n_pkts);
	}
	if (matched == 0) {
		fprintf(stderr, "bench: classify matched nothing\n");
		return 1;
	}
	add_row("classify", "match", n_rules, "ns/packet", summarize(v, reps),
		0);
	/* Bursts of 32, as a worker calls it after rte_eth_rx_burst(). */
	struct policy_verdict *vb = xcalloc(32, sizeof(*vb));
	size_t matched_b = 0;
	for (int rep = 0; rep < reps; rep++) {
		t0 = now_ns();
		for (int l = 0; l < loops; l++)
			for (size_t i = 0; i < n_pkts; i += 32)
				matched_b += policy_match_network_bulk(
					rs, &f[i], 32, vb);
		v[rep] = (now_ns() - t0) / (double)(loops * n_pkts);
	}
	if (matched_b != matched) {
		fprintf(stderr, "bench: bulk and single classification "
				"disagree (%zu vs %zu)\n",
			matched_b, matched);
		return 1;
	}
	free(vb);
	add_row("classify", "match32", n_rules, "ns/packet",
		summarize(v, reps), n_rules >= 10000 ? 100 : 0);
	policy_ruleset_free(rs);
	for (size_t i = 0; i < n_rules; i++)
		free((char *)r[i].name);
	free(r);
	free(src);
	free(dst);
	free(ports);
	free(f);
	free(v);
	return 0;
}

static void print_rows(bool json)
{
	if (bench_json_wanted()) {
		/* Into the driver's one JSON document (bench.c). */
		for (int i = 0; i < n_rows; i++) {
			const struct row *r = &rows[i];
			char goal[64] = "";

			if (r->goal > 0)
				snprintf(goal, sizeof(goal), ", \"goal\": %.0f, \"met\": %s",
					 r->goal, r->s.med <= r->goal ? "true" : "false");
			bench_json_add("{\"scenario\": \"%s\", \"figure\": \"%s.%s.%lu\", "
				       "\"n\": %lu, \"unit\": \"%s\", \"median\": %.1f, "
				       "\"min\": %.1f, \"max\": %.1f%s}",
				       r->scenario, r->scenario, r->metric, r->n, r->n, r->unit,
				       r->s.med, r->s.min, r->s.max, goal);
		}
	}
	if (json)
		return;
	printf("%-9s %-8s %9s %10s %10s %10s %-10s %s\n", "scenario", "metric",
	       "n", "median", "min", "max", "unit", "goal");
	for (int i = 0; i < n_rows; i++) {
		const struct row *r = &rows[i];
		char goal[32] = "";
		if (r->goal > 0)
			snprintf(goal, sizeof(goal), "<= %.0f %s", r->goal,
				 r->s.med <= r->goal ? "met" : "MISSED");
		printf("%-9s %-8s %9lu %10.1f %10.1f %10.1f %-10s %s\n",
		       r->scenario, r->metric, r->n, r->s.med, r->s.min,
		       r->s.max, r->unit, goal);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tollgate-bench fqdn|classify [--reps|--runs N] [--json] "
		"[--check]\n"
		"                      [--max-patterns N] [--rules N]\n"
		"  fqdn       FQDN matching ns/name at 10, 1k, 100k patterns; "
		"compile time\n"
		"  classify   network classification ns/packet (10k rules)\n"
		"  --reps N   repetitions (median, min, max), default 7\n"
		"  --json     JSON output\n"
		"  --check    exit 1 if a goal is missed\n");
}

int bench_policy_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reps", required_argument, NULL, 'r'},
		{"runs", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"check", no_argument, NULL, 'c'},
		{"max-patterns", required_argument, NULL, 'm'},
		{"rules", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int reps = 7, ch;
	bool json = false, check = false;
	size_t max_n = 100000, n_rules = 10000;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	const char *sc = argv[0];
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'c':
			check = true;
			break;
		case 'm':
			max_n = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n_rules = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (reps < 1 || reps > 1000 || n_rules < 1 || n_rules > 1000000) {
		usage(stderr);
		return 2;
	}
	n_rows = 0;
	int rc;
	if (strcmp(sc, "fqdn") == 0)
		rc = bench_fqdn(reps, max_n);
	else if (strcmp(sc, "classify") == 0)
		rc = bench_classify(reps, n_rules);
	else {
		fprintf(stderr, "tollgate-bench: unknown scenario '%s'\n", sc);
		usage(stderr);
		return 2;
	}
	if (rc != 0)
		return rc;
	print_rows(json);
	if (check)
		for (int i = 0; i < n_rows; i++)
			if (rows[i].goal > 0 && rows[i].s.med > rows[i].goal)
				return 1;
	return 0;
}
