/* SPDX-License-Identifier: BSD-3-Clause
 * tollctl commands that talk to the running appliance over its control
 * socket: apply, show ..., metrics. The daemon renders the answer (a table,
 * or JSON with --json); tollctl prints it and turns the status into an exit
 * code: 0 ok, 1 the daemon refused or failed, 2 bad command line, 3 cannot
 * reach the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc_proto.h"
#include "rules/policy.h"
#include "tools/tollctl/client.h"
#include "tools/tollctl/tollctl.h"

#define OPT_SOCKET 1000
#define OPT_JSON 1001

const char tollctl_apply_usage[] =
	"usage: tollctl apply [--socket PATH] [--json] POLICY\n"
	"\n"
	"Validate POLICY here, then send it to the running appliance, which\n"
	"compiles it and publishes it to every worker at once. Prints the new\n"
	"generation, the time it took (compile, publish, active on every worker)\n"
	"and which rules were added, removed or changed. Flows the new policy\n"
	"still allows keep going; flows it denies stop at their next packet.\n"
	"A policy with errors changes nothing: the errors are printed, exit 1.\n"
	"\n"
	"  --socket PATH  control socket (default $TOLLGATE_SOCKET, else\n"
	"                 " TOLLCTL_DEFAULT_SOCKET ")\n"
	"  --json         the answer as one JSON object\n"
	"\n"
	"Exit status: 0 applied, 1 refused (errors printed), 2 usage, 3 cannot\n"
	"connect to the appliance.\n";

const char tollctl_show_usage[] =
	"usage: tollctl show [--socket PATH] [--json] WHAT [OPTIONS]\n"
	"\n"
	"Show the running appliance's state. WHAT is one of:\n"
	"  rules        the running policy: generation, every rule with its group,\n"
	"               collection, priority, action and hits\n"
	"  sessions     sessions, filtered by [--src ADDR] [--dst ADDR]\n"
	"               [--proto tcp|udp|icmp] [--limit N] (default 100); an\n"
	"               address matches either end of the session\n"
	"  snat         per frontend IP: ports in use, utilisation, busiest\n"
	"               destinations\n"
	"  stats        every named counter with its description\n"
	"  interfaces   NIC statistics and our own counters, per interface\n"
	"  routes       the routing table\n"
	"  neighbors    the ARP table\n"
	"  dns          names the DNS proxy tracks for FQDN network rules\n"
	"\n"
	"  --socket PATH  control socket (default $TOLLGATE_SOCKET, else\n"
	"                 " TOLLCTL_DEFAULT_SOCKET ")\n"
	"  --json         JSON instead of a table\n"
	"\n"
	"Exit status: 0 ok, 1 refused or failed, 2 usage, 3 cannot connect.\n";

const char tollctl_metrics_usage[] =
	"usage: tollctl metrics [--socket PATH]\n"
	"\n"
	"Print the Prometheus text exposition the appliance serves on\n"
	"metrics.listen (/metrics), over the control socket.\n"
	"\n"
	"Exit status: 0 ok, 1 refused or failed, 2 usage, 3 cannot connect.\n";

struct common {
	const char *socket;
	bool json;
};

/* Parse --socket/--json and the command's own long options (`more`, with
 * values stored by `on_opt`). Returns optind, or -1 after a usage error. */
static int
parse(const char *cmd, int argc, char **argv, struct common *o, const struct option *more,
      int (*on_opt)(int opt, const char *val, void *ctx), void *ctx)
{
	struct option opts[16] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "json", no_argument, NULL, OPT_JSON },
	};
	int n = 2, opt;

	for (; more && more[n - 2].name && n < 15; n++)
		opts[n] = more[n - 2];
	opts[n] = (struct option){ 0 };
	optind = 1;
	opterr = 0;
	/* GNU getopt permutes: options may come before or after WHAT/POLICY */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == OPT_SOCKET) {
			o->socket = optarg;
		} else if (opt == OPT_JSON) {
			o->json = true;
		} else if (opt != '?' && opt != ':' && on_opt && on_opt(opt, optarg, ctx) == 0) {
			continue;
		} else {
			tollctl_usage_error(cmd, "unknown or incomplete option '%s'",
					    argv[optind - 1]);
			return -1;
		}
	}
	return optind;
}

/* Send, print the answer, map to an exit code. */
static int
call(const char *cmd, const struct common *o, enum rpc_type type, const char *args,
     const char *body, size_t body_len)
{
	const char *path = tollctl_socket_path(o->socket);
	struct tollctl_reply r;
	char err[512];
	int ret = tollctl_call(path, (uint16_t)type, args, body, body_len, &r, err, sizeof(err));

	if (ret != 0) {
		fprintf(stderr, "tollctl %s: %s\n", cmd, err);
		return TOLLCTL_EXIT_CONNECT;
	}
	if (r.status != 0) {
		fprintf(stderr, "tollctl %s: %s%s", cmd, r.len ? r.text : strerror(-r.status),
			r.len && r.text[r.len - 1] == '\n' ? "" : "\n");
		free(r.text);
		return TOLLCTL_EXIT_FAIL;
	}
	fwrite(r.text, 1, r.len, stdout);
	free(r.text);
	return fflush(stdout) == 0 ? TOLLCTL_EXIT_OK : TOLLCTL_EXIT_FAIL;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (f == NULL)
		return NULL;
	do {
		char *p = realloc(buf, cap + 65536);

		if (p == NULL) {
			free(buf);
			fclose(f);
			return NULL;
		}
		buf = p;
		cap += 65536;
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0 && *len <= RPC_MAX_PAYLOAD);
	fclose(f);
	return buf;
}

int
tollctl_cmd_apply(int argc, char **argv)
{
	struct common o = { 0 };
	struct policy_errors e = { 0 };
	struct policy *pol = NULL;
	struct policy_ruleset *rs = NULL;
	char args[PATH_MAX + 64], abs[PATH_MAX];
	char *buf;
	size_t len;
	int i = parse("apply", argc, argv, &o, NULL, NULL, NULL), ret;

	if (i < 0)
		return TOLLCTL_EXIT_USAGE;
	if (argc - i != 1)
		return tollctl_usage_error("apply", "expected one POLICY file");
	/* The same loader and compiler the appliance runs: most mistakes are
	 * reported here, with no round trip. */
	ret = tollctl_load_compile(argv[i], NULL, &pol, &rs, &e);
	tollctl_print_errors(&e);
	if (ret != 0 && e.count == 0)
		fprintf(stderr, "tollctl apply: %s: %s\n", argv[i], strerror(-ret));
	policy_errors_free(&e);
	policy_ruleset_free(rs);
	policy_free(pol);
	if (ret != 0) {
		fprintf(stderr, "tollctl apply: %s has errors; nothing was sent\n", argv[i]);
		return TOLLCTL_EXIT_FAIL;
	}
	buf = read_file(argv[i], &len);
	if (buf == NULL) {
		fprintf(stderr, "tollctl apply: %s: cannot read: %s\n", argv[i], strerror(errno));
		return TOLLCTL_EXIT_FAIL;
	}
	if (len > RPC_MAX_PAYLOAD - sizeof(args)) {
		fprintf(stderr, "tollctl apply: %s is larger than %u bytes\n", argv[i],
			RPC_MAX_PAYLOAD - (unsigned)sizeof(args));
		free(buf);
		return TOLLCTL_EXIT_FAIL;
	}
	/* The absolute name: the appliance resolves what the policy names
	 * relative to it (service tags file). */
	snprintf(args, sizeof(args), "format=%s\nname=%s\n", o.json ? "json" : "text",
		 realpath(argv[i], abs) ? abs : argv[i]);
	ret = call("apply", &o, RPC_TYPE_APPLY, args, buf, len);
	free(buf);
	return ret;
}

struct show_opts {
	char args[512];
	size_t used;
};

static int
show_opt(int opt, const char *val, void *ctx)
{
	static const char *const keys[] = { "src", "dst", "proto", "limit" };
	struct show_opts *s = ctx;
	int n;

	if (opt < 0 || opt >= 4 || strchr(val, '\n'))
		return -1;
	n = snprintf(s->args + s->used, sizeof(s->args) - s->used, "%s=%s\n", keys[opt], val);
	if (n < 0 || (size_t)n >= sizeof(s->args) - s->used)
		return -1;
	s->used += (size_t)n;
	return 0;
}

int
tollctl_cmd_show(int argc, char **argv)
{
	static const struct {
		const char *what;
		enum rpc_type type;
	} whats[] = {
		{ "rules", RPC_TYPE_SHOW_RULES },         { "sessions", RPC_TYPE_SHOW_SESSIONS },
		{ "snat", RPC_TYPE_SHOW_SNAT },           { "stats", RPC_TYPE_SHOW_STATS },
		{ "interfaces", RPC_TYPE_SHOW_INTERFACES }, { "routes", RPC_TYPE_SHOW_ROUTES },
		{ "neighbors", RPC_TYPE_SHOW_NEIGHBORS }, { "dns", RPC_TYPE_SHOW_DNS },
	};
	static const struct option filters[] = {
		{ "src", required_argument, NULL, 0 },
		{ "dst", required_argument, NULL, 1 },
		{ "proto", required_argument, NULL, 2 },
		{ "limit", required_argument, NULL, 3 },
		{ NULL, 0, NULL, 0 },
	};
	struct common o = { 0 };
	struct show_opts s = { .used = 0 };
	int i;
	size_t k;

	i = parse("show", argc, argv, &o, filters, show_opt, &s);
	if (i < 0)
		return TOLLCTL_EXIT_USAGE;
	if (argc - i != 1)
		return tollctl_usage_error("show", "expected one of rules, sessions, snat, stats, "
						  "interfaces, routes, neighbors, dns");
	for (k = 0; k < sizeof(whats) / sizeof(whats[0]); k++)
		if (strcmp(whats[k].what, argv[i]) == 0)
			break;
	if (k == sizeof(whats) / sizeof(whats[0]))
		return tollctl_usage_error("show", "unknown '%s'", argv[i]);
	if (s.used > 0 && whats[k].type != RPC_TYPE_SHOW_SESSIONS)
		return tollctl_usage_error("show", "--src, --dst, --proto and --limit are for "
						  "'show sessions'");
	snprintf(s.args + s.used, sizeof(s.args) - s.used, "format=%s\n",
		 o.json ? "json" : "text");
	return call("show", &o, whats[k].type, s.args, NULL, 0);
}

int
tollctl_cmd_metrics(int argc, char **argv)
{
	struct common o = { 0 };
	int i = parse("metrics", argc, argv, &o, NULL, NULL, NULL);

	if (i < 0)
		return TOLLCTL_EXIT_USAGE;
	if (i != argc)
		return tollctl_usage_error("metrics", "unexpected argument '%s'", argv[i]);
	return call("metrics", &o, RPC_TYPE_METRICS, NULL, NULL, 0);
}

int
tollctl_cmd_hello(int argc, char **argv)
{
	struct common o = { 0 };
	int i = parse("status", argc, argv, &o, NULL, NULL, NULL);

	if (i < 0)
		return TOLLCTL_EXIT_USAGE;
	if (i != argc)
		return tollctl_usage_error("status", "unexpected argument '%s'", argv[i]);
	return call("status", &o, RPC_TYPE_HELLO, o.json ? "format=json\n" : NULL, NULL, 0);
}

const char tollctl_status_usage[] =
	"usage: tollctl status [--socket PATH] [--json]\n"
	"\n"
	"Check that the appliance answers: protocol version, policy generation,\n"
	"workers, and who it thinks you are.\n"
	"\n"
	"Exit status: 0 ok, 1 refused, 2 usage, 3 cannot connect.\n";
