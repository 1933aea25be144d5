/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading the appliance configuration (plain C + libyaml, no DPDK).
 *
 * Two stages. First the YAML text becomes a small tree of nodes (mapping,
 * sequence, scalar), each remembering the line and column it starts at. That
 * stage refuses what we never want to interpret: aliases and anchors, more
 * than one document, nesting deeper than MAX_DEPTH, NUL bytes in values.
 *
 * Then the tree is walked against tables of keys, one table per mapping
 * (struct field). A mapping's keys are first checked in file order (unknown,
 * duplicate, not a scalar), then its values are parsed in *table* order, so a
 * check that depends on another key always runs after that key: the top-level
 * table lists `interfaces` before `routes`, `default_gateway` and
 * `frontend_ips`, whose checks need the connected subnets. Adding a key is one
 * line in a table plus, at most, one parse function.
 *
 * Every error is "FILE:LINE:COL: PATH: what was expected", pointing at the
 * offending value (or key); I/O errors have no position: "FILE: what failed".
 */
#include "control/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

/* A configuration file is a few KiB; this keeps a wrong file (a log, an
 * image) from being read into memory, and bounds the size of the tree. */
#define MAX_FILE_SIZE (1u << 20)
/* Our schema nests four levels deep; anything deeper is a mistake. */
#define MAX_DEPTH 16
/* A full configuration (4096 frontend items, 256 routes) is under 10,000
 * nodes; the cap bounds memory whatever a 1 MiB file holds. */
#define MAX_NODES 100000
/* The largest CIDR block frontend_ips expands: /20 is 4096 addresses. */
#define FRONTEND_MIN_PREFIX 20
#define SHOW_MAX 60

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define IP(a) ip_str((a), (char[16]){0})

/* ---------------------------------------------------------------- tree */

enum node_type { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING };

struct node {
	enum node_type type;
	unsigned line, col;  /* 1-based, where the node starts */
	bool plain;          /* scalar written without quotes */
	char *str;           /* scalar: NUL-terminated, no NUL inside */
	struct node **kids;  /* sequence: items; mapping: key, value, key, ... */
	size_t n_kids, cap;
};

struct ctx {
	const char *file;
	const char *buf;     /* the text, to place libyaml's reader errors */
	size_t len;
	char *err;
	size_t errlen;
	char path[256];      /* e.g. "interfaces[1].address" */
	char shown[4 * (SHOW_MAX + 4) + 8];
	struct config *cfg;
	size_t n_nodes;
	const struct node *iface_node[CONFIG_ROLE_COUNT]; /* who took each role */
	uint32_t *scratch;   /* frontend_ips merge: 2 * CONFIG_MAX_FRONTEND_IPS */
};

/* ---------------------------------------------------------------- errors */

static int __attribute__((format(printf, 4, 5)))
fail_at(struct ctx *c, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s:%u:%u: %s%s%s", c->file, line,
			 col, c->path, c->path[0] ? ": " : "", msg);
	return -EINVAL;
}

#define fail(c, n, ...) fail_at((c), (n)->line, (n)->col, __VA_ARGS__)

/* An error without a position (I/O, size); returns `rc`. */
static int __attribute__((format(printf, 5, 6)))
fail_file(char *err, size_t errlen, const char *file, int rc,
	  const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", file, msg);
	return rc;
}

/* `s` in double quotes for a message: control bytes escaped, long values
 * cut (never inside a UTF-8 sequence). Uses c->shown: one per message. */
static const char *quote(struct ctx *c, const char *s)
{
	char *o = c->shown;
	size_t i;

	*o++ = '"';
	/* Past SHOW_MAX, only the rest of a started UTF-8 sequence. */
	for (i = 0; s[i] && (i < SHOW_MAX || ((unsigned char)s[i] & 0xc0) == 0x80); i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			o += sprintf(o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			o += sprintf(o, "\\x%02x", ch);
		else
			*o++ = (char)ch;
	}
	strcpy(o, s[i] ? "...\"" : "\"");
	return c->shown;
}

static bool is_null(const struct node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (n->type != NODE_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (!strcmp(n->str, nulls[i]))
			return true;
	return false;
}

/* What the operator wrote, for "expected X, got Y". */
static const char *got(struct ctx *c, const struct node *n)
{
	if (n->type == NODE_MAPPING)
		return "a mapping";
	if (n->type == NODE_SEQUENCE)
		return "a sequence";
	if (is_null(n))
		return "an empty value";
	return quote(c, n->str);
}

static size_t path_push(struct ctx *c, const char *key, long index)
{
	size_t mark = strlen(c->path);
	char *end = c->path + mark;
	size_t room = sizeof(c->path) - mark;

	if (key)
		snprintf(end, room, "%s%s", mark ? "." : "", key);
	else
		snprintf(end, room, "[%ld]", index);
	return mark;
}

static void path_pop(struct ctx *c, size_t mark)
{
	c->path[mark] = '\0';
}

static const char *ip_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
	return buf;
}

/* ---------------------------------------------------------------- YAML */

static int syntax_error(struct ctx *c, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	unsigned line = 1, col = 1;

	if (p->error == YAML_MEMORY_ERROR)
		return fail_file(c->err, c->errlen, c->file, -ENOMEM,
				 "out of memory");
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		for (size_t i = 0; i < p->problem_offset && i < c->len; i++) {
			col++;
			if (c->buf[i] == '\n') {
				line++;
				col = 1;
			}
		}
		return fail_at(c, line, col, "invalid YAML: %s (byte 0x%02x)",
			       problem, (unsigned)p->problem_value & 0xff);
	}
	line = p->problem_mark.line + 1;
	col = p->problem_mark.column + 1;
	if (p->context)
		return fail_at(c, line, col, "invalid YAML: %s (%s at %zu:%zu)",
			       problem, p->context, p->context_mark.line + 1,
			       p->context_mark.column + 1);
	return fail_at(c, line, col, "invalid YAML: %s", problem);
}

static int next_event(struct ctx *c, yaml_parser_t *p, yaml_event_t *ev)
{
	return yaml_parser_parse(p, ev) ? 0 : syntax_error(c, p);
}

static int nomem(struct ctx *c)
{
	return fail_file(c->err, c->errlen, c->file, -ENOMEM, "out of memory");
}

static const char *event_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return (const char *)ev->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static void free_node(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		free_node(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

static int load_scalar(struct ctx *c, const yaml_event_t *ev, struct node *n)
{
	size_t len = ev->data.scalar.length;

	n->type = NODE_SCALAR;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (memchr(ev->data.scalar.value, '\0', len))
		return fail(c, n, "a NUL character (\\0) is not allowed in a value");
	n->str = malloc(len + 1);
	if (!n->str)
		return nomem(c);
	memcpy(n->str, ev->data.scalar.value, len);
	n->str[len] = '\0';
	return 0;
}

static int load_node(struct ctx *c, yaml_parser_t *p, const yaml_event_t *ev,
		     unsigned depth, struct node **out);

static int add_kid(struct ctx *c, yaml_parser_t *p, const yaml_event_t *ev,
		   unsigned depth, struct node *n)
{
	int rc;

	if (n->n_kids == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 8;
		struct node **kids = realloc(n->kids, cap * sizeof(*kids));

		if (!kids)
			return nomem(c);
		n->kids = kids;
		n->cap = cap;
	}
	n->kids[n->n_kids] = NULL;
	rc = load_node(c, p, ev, depth, &n->kids[n->n_kids]);
	if (n->kids[n->n_kids])
		n->n_kids++;
	return rc;
}

static int load_children(struct ctx *c, yaml_parser_t *p, unsigned depth,
			 struct node *n)
{
	yaml_event_type_t end = n->type == NODE_SEQUENCE ?
		YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT;

	for (;;) {
		yaml_event_t ev;
		int rc = next_event(c, p, &ev);

		if (rc)
			return rc;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		rc = add_kid(c, p, &ev, depth + 1, n);
		yaml_event_delete(&ev);
		if (rc)
			return rc;
	}
}

/* Builds the node that starts with `ev` (the caller deletes `ev`). On
 * failure *out may hold a partial node, which the caller frees. */
static int load_node(struct ctx *c, yaml_parser_t *p, const yaml_event_t *ev,
		     unsigned depth, struct node **out)
{
	unsigned line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
	struct node *n;

	if (ev->type == YAML_ALIAS_EVENT)
		return fail_at(c, line, col, "YAML aliases (*%s) are not supported: write the value out in full",
			       (const char *)ev->data.alias.anchor);
	if (event_anchor(ev))
		return fail_at(c, line, col, "YAML anchors (&%s) are not supported: write each value out in full",
			       event_anchor(ev));
	if (depth > MAX_DEPTH)
		return fail_at(c, line, col, "nested deeper than %d levels",
			       MAX_DEPTH);
	if (++c->n_nodes > MAX_NODES)
		return fail_at(c, line, col, "more than %d values: expected a configuration file",
			       MAX_NODES);
	n = calloc(1, sizeof(*n));
	if (!n)
		return nomem(c);
	n->line = line;
	n->col = col;
	*out = n;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return load_scalar(c, ev, n);
	case YAML_SEQUENCE_START_EVENT:
		n->type = NODE_SEQUENCE;
		return load_children(c, p, depth, n);
	case YAML_MAPPING_START_EVENT:
		n->type = NODE_MAPPING;
		return load_children(c, p, depth, n);
	default: /* libyaml guarantees a well-formed stream */
		return fail_at(c, line, col, "invalid YAML: unexpected event");
	}
}

/* The text as one tree; *root stays NULL for a stream with no document. */
static int load_tree(struct ctx *c, struct node **root)
{
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned docs = 0;
	bool done = false;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return nomem(c);
	yaml_parser_set_input_string(&p, (const unsigned char *)c->buf, c->len);
	while (!rc && !done) {
		rc = next_event(c, &p, &ev);
		if (rc)
			break;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = fail_at(c, ev.start_mark.line + 1, ev.start_mark.column + 1,
					     "a second YAML document: the configuration is one document (remove this \"---\")");
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		default:
			rc = load_node(c, &p, &ev, 1, root);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

/* ---------------------------------------------------------------- tables */

struct field;
typedef int field_fn(struct ctx *c, const struct node *n, void *dst,
		     const struct field *f);

/* One key of a mapping. `dst` passed to `parse` is the struct being filled
 * plus `off`. */
struct field {
	const char *key;
	field_fn *parse;
	size_t off;
	bool required;
	unsigned long min, max;    /* parse_uint/parse_u16 range; string size */
	const struct field *sub;   /* parse_submap: the nested mapping's keys */
	size_t n_sub;
};

#define CFG(m) offsetof(struct config, m)
#define IFACE(m) offsetof(struct config_iface, m)
#define SUB(t) .sub = (t), .n_sub = ARRAY_SIZE(t)

static field_fn parse_submap, parse_uint, parse_u16, parse_string,
	parse_eal_args, parse_interfaces, parse_role, parse_device,
	parse_iface_addr, parse_routes, parse_route_prefix, parse_gateway,
	parse_default_gw, parse_frontend_ips, parse_policy, parse_mapping,
	parse_profile, parse_no_snat, parse_bool, parse_listen, parse_upstreams,
	parse_dns_proxy, parse_abs_path;

static const struct field dpdk_fields[] = {
	{ .key = "eal_args", .parse = parse_eal_args },
};

static const struct field iface_fields[] = {
	{ .key = "name", .parse = parse_string, .off = IFACE(name), .max = CONFIG_NAME_LEN },
	{ .key = "role", .parse = parse_role, .off = IFACE(role), .required = true },
	{ .key = "device", .parse = parse_device, .required = true },
	{ .key = "address", .parse = parse_iface_addr, .required = true },
	{ .key = "mtu", .parse = parse_u16, .off = IFACE(mtu), .min = 68, .max = 9000 },
};

static const struct field route_fields[] = {
	{ .key = "prefix", .parse = parse_route_prefix, .required = true },
	{ .key = "via", .parse = parse_gateway, .off = offsetof(struct config_route, via),
	  .required = true },
};

static const struct field tuning_fields[] = {
	{ .key = "mbufs", .parse = parse_uint, .off = CFG(mbufs), .min = 1023, .max = 1u << 24 },
	{ .key = "rx_desc", .parse = parse_uint, .off = CFG(rx_desc), .min = 64, .max = 16384 },
	{ .key = "tx_desc", .parse = parse_uint, .off = CFG(tx_desc), .min = 64, .max = 16384 },
	{ .key = "icmp_rate", .parse = parse_uint, .off = CFG(icmp_rate), .min = 0, .max = 1000000 },
	{ .key = "neigh_reachable_s", .parse = parse_uint, .off = CFG(neigh_reachable_s),
	  .min = 1, .max = 3600 },
	{ .key = "neigh_gc_s", .parse = parse_uint, .off = CFG(neigh_gc_s), .min = 1, .max = 86400 },
};

/* timeout_profile first: the keys after it override what it sets. */
static const struct field sessions_fields[] = {
	{ .key = "timeout_profile", .parse = parse_profile },
	{ .key = "per_worker", .parse = parse_uint, .off = CFG(sessions_per_worker),
	  .min = 1024, .max = 1u << 24 },
	{ .key = "mapping", .parse = parse_mapping, .off = CFG(eim) },
	{ .key = "tcp_established_s", .parse = parse_uint, .off = CFG(tcp_established_s),
	  .min = 1, .max = 7 * 86400 },
	{ .key = "tcp_transitory_s", .parse = parse_uint, .off = CFG(tcp_transitory_s),
	  .min = 1, .max = 86400 },
	{ .key = "udp_s", .parse = parse_uint, .off = CFG(udp_s), .min = 1, .max = 86400 },
	{ .key = "icmp_s", .parse = parse_uint, .off = CFG(icmp_s), .min = 1, .max = 86400 },
	{ .key = "port_hold_down_s", .parse = parse_uint, .off = CFG(port_hold_down_s),
	  .min = 0, .max = 3600 },
};

static const struct field snat_fields[] = {
	{ .key = "no_snat", .parse = parse_no_snat },
	{ .key = "icmp_on_exhaustion", .parse = parse_bool, .off = CFG(icmp_on_exhaustion) },
};

static const struct field dnat_fields[] = {
	{ .key = "snat_to_inside", .parse = parse_bool, .off = CFG(dnat_snat) },
	{ .key = "sessions_per_worker", .parse = parse_uint, .off = CFG(dnat_sessions_per_worker),
	  .min = 1024, .max = 1u << 24 },
};

static const struct field control_fields[] = {
	{ .key = "socket", .parse = parse_abs_path, .off = CFG(control_socket), .max = 108 },
	{ .key = "admin_group", .parse = parse_string, .off = CFG(admin_group), .max = CONFIG_NAME_LEN },
	{ .key = "read_group", .parse = parse_string, .off = CFG(read_group), .max = CONFIG_NAME_LEN },
};

static const struct field metrics_fields[] = {
	{ .key = "listen", .parse = parse_listen },
	{ .key = "health_snat_percent", .parse = parse_uint, .off = CFG(health_snat_pct),
	  .min = 1, .max = 100 },
};

static const struct field logs_fields[] = {
	{ .key = "decisions", .parse = parse_abs_path, .off = CFG(decision_log), .max = CONFIG_PATH_LEN },
	{ .key = "ring", .parse = parse_uint, .off = CFG(log_ring), .min = 64, .max = 1u << 20 },
};

static const struct field inspection_fields[] = {
	{ .key = "timeout_s", .parse = parse_uint, .off = CFG(inspect_timeout_s), .min = 1, .max = 300 },
	{ .key = "max_flow_bytes", .parse = parse_uint, .off = CFG(inspect_flow_bytes),
	  .min = 2048, .max = 65536 },
	{ .key = "flows_per_worker", .parse = parse_uint, .off = CFG(inspect_flows),
	  .min = 16, .max = 1u << 20 },
	{ .key = "held_segments_per_worker", .parse = parse_uint, .off = CFG(inspect_held_pkts),
	  .min = 16, .max = 1u << 20 },
	{ .key = "http_403", .parse = parse_bool, .off = CFG(inspect_http_403) },
};

/* proxy after upstreams: an explicit `proxy:` wins over the default. */
static const struct field dns_fields[] = {
	{ .key = "upstreams", .parse = parse_upstreams },
	{ .key = "proxy", .parse = parse_dns_proxy },
	{ .key = "cache_entries", .parse = parse_uint, .off = CFG(dns_cache_entries),
	  .min = 16, .max = 1u << 22 },
	{ .key = "retention_s", .parse = parse_uint, .off = CFG(dns_retention_s), .min = 0, .max = 86400 },
	{ .key = "client_qps", .parse = parse_uint, .off = CFG(dns_client_qps), .min = 1, .max = 1000000 },
	{ .key = "timeout_ms", .parse = parse_uint, .off = CFG(dns_timeout_ms), .min = 10, .max = 30000 },
	{ .key = "tries", .parse = parse_uint, .off = CFG(dns_tries), .min = 1, .max = 10 },
};

/* Order matters: see the comment at the top of the file. */
static const struct field top_fields[] = {
	{ .key = "dpdk", .parse = parse_submap, SUB(dpdk_fields) },
	{ .key = "workers", .parse = parse_uint, .off = CFG(workers), .min = 1,
	  .max = CONFIG_MAX_WORKERS },
	{ .key = "interfaces", .parse = parse_interfaces, .required = true },
	{ .key = "routes", .parse = parse_routes },
	{ .key = "default_gateway", .parse = parse_default_gw },
	{ .key = "frontend_ips", .parse = parse_frontend_ips },
	{ .key = "policy", .parse = parse_policy, .off = CFG(policy_path), .max = CONFIG_PATH_LEN },
	{ .key = "sessions", .parse = parse_submap, SUB(sessions_fields) },
	{ .key = "snat", .parse = parse_submap, SUB(snat_fields) },
	{ .key = "dnat", .parse = parse_submap, SUB(dnat_fields) },
	{ .key = "control", .parse = parse_submap, SUB(control_fields) },
	{ .key = "metrics", .parse = parse_submap, SUB(metrics_fields) },
	{ .key = "logs", .parse = parse_submap, SUB(logs_fields) },
	{ .key = "inspection", .parse = parse_submap, SUB(inspection_fields) },
	{ .key = "dns", .parse = parse_submap, SUB(dns_fields) },
	{ .key = "tuning", .parse = parse_submap, SUB(tuning_fields) },
};

void config_defaults(struct config *cfg)
{
	cfg->workers = 1;
	cfg->mbufs = 8191;
	cfg->rx_desc = 1024;
	cfg->tx_desc = 1024;
	cfg->icmp_rate = 1000;
	cfg->neigh_reachable_s = 30;
	cfg->neigh_gc_s = 300;
	cfg->sessions_per_worker = 262144;
	cfg->tcp_established_s = 7440;
	cfg->tcp_transitory_s = 240;
	cfg->udp_s = 300;
	cfg->icmp_s = 60;
	cfg->port_hold_down_s = 120;
	cfg->icmp_on_exhaustion = true;
	cfg->dnat_snat = true;
	/* RFC 1918 and RFC 6598 (shared address space) */
	cfg->no_snat[0] = (struct config_route){ .prefix = 0x0a000000, .prefix_len = 8 };
	cfg->no_snat[1] = (struct config_route){ .prefix = 0xac100000, .prefix_len = 12 };
	cfg->no_snat[2] = (struct config_route){ .prefix = 0xc0a80000, .prefix_len = 16 };
	cfg->no_snat[3] = (struct config_route){ .prefix = 0x64400000, .prefix_len = 10 };
	cfg->n_no_snat = 4;
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "/run/tollgate/tollgate.sock");
	cfg->health_snat_pct = 95;
	cfg->log_ring = 4096;
	cfg->inspect_timeout_s = 10;
	cfg->inspect_flow_bytes = 16384;
	cfg->inspect_flows = 1024;
	cfg->inspect_held_pkts = 2048;
	cfg->inspect_http_403 = true;
	cfg->dns_cache_entries = 4096;
	cfg->dns_retention_s = 900;
	cfg->dns_client_qps = 200;
	cfg->dns_timeout_ms = 1000;
	cfg->dns_tries = 3;
}

/* ---------------------------------------------------------------- mappings */

static const struct field *find_field(const struct field *fields, size_t nf,
				      const char *key)
{
	for (size_t i = 0; i < nf; i++)
		if (!strcmp(fields[i].key, key))
			return &fields[i];
	return NULL;
}

static const struct node *lookup(const struct node *map, const char *key)
{
	if (map->type != NODE_MAPPING)
		return NULL;
	for (size_t i = 0; i + 1 < map->n_kids; i += 2)
		if (!strcmp(map->kids[i]->str, key))
			return map->kids[i + 1];
	return NULL;
}

static void key_list(const struct field *fields, size_t nf, char *buf,
		     size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nf && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 fields[i].key);
}

/* Keys in file order: scalars, known, each once. */
static int check_keys(struct ctx *c, const struct node *map,
		      const struct field *fields, size_t nf)
{
	char keys[512];

	for (size_t i = 0; i + 1 < map->n_kids; i += 2) {
		const struct node *k = map->kids[i];

		if (k->type != NODE_SCALAR)
			return fail(c, k, "expected a key name, got %s", got(c, k));
		if (!find_field(fields, nf, k->str)) {
			key_list(fields, nf, keys, sizeof(keys));
			return fail(c, k, "unknown key %s; accepted keys: %s",
				    quote(c, k->str), keys);
		}
		for (size_t j = 0; j < i; j += 2)
			if (!strcmp(map->kids[j]->str, k->str))
				return fail(c, k, "duplicate key \"%s\" (first given at line %u)",
					    k->str, map->kids[j]->line);
	}
	return 0;
}

/* A mapping checked against `fields`, values parsed in table order into
 * `base`. An empty value (`tuning:` alone) counts as an empty mapping. */
static int parse_map(struct ctx *c, const struct node *map,
		     const struct field *fields, size_t nf, void *base)
{
	int rc;

	if (map->type != NODE_MAPPING && !is_null(map))
		return fail(c, map, "expected a mapping, got %s", got(c, map));
	rc = check_keys(c, map, fields, nf);
	for (size_t i = 0; !rc && i < nf; i++) {
		const struct node *v = lookup(map, fields[i].key);
		size_t mark;

		if (!v) {
			if (fields[i].required)
				rc = fail(c, map, "missing required key \"%s\"",
					  fields[i].key);
			continue;
		}
		mark = path_push(c, fields[i].key, 0);
		rc = fields[i].parse(c, v, (char *)base + fields[i].off, &fields[i]);
		path_pop(c, mark);
	}
	return rc;
}

static int parse_submap(struct ctx *c, const struct node *n, void *dst,
			const struct field *f)
{
	return parse_map(c, n, f->sub, f->n_sub, dst);
}

/* Sequences: an empty value counts as an empty sequence. */
static int want_seq(struct ctx *c, const struct node *n)
{
	if (n->type == NODE_SEQUENCE || is_null(n))
		return 0;
	return fail(c, n, "expected a sequence (a list of \"- \" items), got %s",
		    got(c, n));
}

static int want_scalar(struct ctx *c, const struct node *n)
{
	if (n->type == NODE_SCALAR)
		return 0;
	return fail(c, n, "expected a single value (a scalar), got %s", got(c, n));
}

/* Runs `fn` on each item of a sequence with "[i]" on the path. */
static int each_item(struct ctx *c, const struct node *seq,
		     int (*fn)(struct ctx *c, const struct node *item, size_t i))
{
	int rc = want_seq(c, seq);

	for (size_t i = 0; !rc && seq->type == NODE_SEQUENCE && i < seq->n_kids; i++) {
		size_t mark = path_push(c, NULL, (long)i);

		rc = fn(c, seq->kids[i], i);
		path_pop(c, mark);
	}
	return rc;
}

/* ---------------------------------------------------------------- scalars */

/* Decimal digits only: no sign, no hex, no exponent. */
static int scalar_ulong(struct ctx *c, const struct node *n, unsigned long min,
			unsigned long max, unsigned long *out)
{
	const char *s = n->str;
	unsigned long v = 0;
	bool ok = n->type == NODE_SCALAR && s[0];

	for (; ok && *s; s++) {
		ok = *s >= '0' && *s <= '9';
		v = v > max ? v : v * 10 + (unsigned long)(*s - '0');
	}
	if (!ok || v < min || v > max)
		return fail(c, n, "expected an integer from %lu to %lu, got %s",
			    min, max, got(c, n));
	*out = v;
	return 0;
}

static int parse_uint(struct ctx *c, const struct node *n, void *dst,
		      const struct field *f)
{
	unsigned long v;
	int rc = scalar_ulong(c, n, f->min, f->max, &v);

	if (!rc)
		*(unsigned *)dst = (unsigned)v;
	return rc;
}

static int parse_u16(struct ctx *c, const struct node *n, void *dst,
		     const struct field *f)
{
	unsigned long v;
	int rc = scalar_ulong(c, n, f->min, f->max, &v);

	if (!rc)
		*(uint16_t *)dst = (uint16_t)v;
	return rc;
}

/* A non-empty string that fits in f->max bytes with its NUL. */
static int parse_string(struct ctx *c, const struct node *n, void *dst,
			const struct field *f)
{
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (is_null(n) || !n->str[0])
		return fail(c, n, "expected a non-empty value, got %s", got(c, n));
	if (strlen(n->str) >= f->max)
		return fail(c, n, "expected at most %lu characters, got %s",
			    f->max - 1, got(c, n));
	memcpy(dst, n->str, strlen(n->str) + 1);
	return 0;
}

/* ---------------------------------------------------------------- IPv4 */

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Dotted quad, each part 0..255 in decimal without leading zeros (which
 * some parsers read as octal). Sets *end after the address. */
static bool parse_ip(const char *s, const char **end, uint32_t *out)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = 0, nd = 0;
		const char *part;

		if (i && *s++ != '.')
			return false;
		for (part = s; is_digit(*s) && nd < 4; s++, nd++)
			v = v * 10 + (unsigned)(*s - '0');
		if (nd == 0 || nd > 3 || v > 255 || (nd > 1 && *part == '0'))
			return false;
		a = a << 8 | v;
	}
	*end = s;
	*out = a;
	return true;
}

static bool parse_addr(const char *s, uint32_t *out)
{
	const char *end;

	return parse_ip(s, &end, out) && *end == '\0';
}

static uint32_t mask_of(unsigned len)
{
	return len ? ~(uint32_t)0 << (32 - len) : 0;
}

enum cidr_status { CIDR_OK, CIDR_BAD_ADDR, CIDR_BAD_LEN };

/* "A.B.C.D/N" with N 0..32. */
static enum cidr_status parse_cidr(const char *s, uint32_t *addr, unsigned *len)
{
	const char *p;
	unsigned v = 0, nd = 0;

	if (!parse_ip(s, &p, addr) || *p++ != '/')
		return CIDR_BAD_ADDR;
	for (; is_digit(*p) && nd < 3; p++, nd++)
		v = v * 10 + (unsigned)(*p - '0');
	if (nd == 0 || nd > 2 || *p || v > 32)
		return CIDR_BAD_LEN;
	*len = v;
	return CIDR_OK;
}

/* Why [lo, hi] holds an address that is not unicast, or NULL. */
static const char *not_unicast(uint32_t lo, uint32_t hi, uint32_t *bad)
{
	if (lo <= 0x00ffffff) {
		*bad = lo;
		return "\"this network\", 0.0.0.0/8";
	}
	if (lo <= 0x7fffffff && hi >= 0x7f000000) {
		*bad = lo > 0x7f000000 ? lo : 0x7f000000;
		return "loopback";
	}
	if (hi >= 0xe0000000) {
		*bad = lo > 0xe0000000 ? lo : 0xe0000000;
		return *bad >= 0xf0000000 ? "reserved or broadcast" : "multicast";
	}
	return NULL;
}

static int want_unicast(struct ctx *c, const struct node *n, uint32_t lo,
			uint32_t hi)
{
	uint32_t bad;
	const char *why = not_unicast(lo, hi, &bad);

	if (!why)
		return 0;
	return fail(c, n, "%s is not a unicast address (%s)", IP(bad), why);
}

static int scalar_addr(struct ctx *c, const struct node *n, uint32_t *out)
{
	int rc = want_scalar(c, n);

	if (!rc && !parse_addr(n->str, out))
		rc = fail(c, n, "expected an IPv4 address like 203.0.113.1, got %s",
			  got(c, n));
	return rc ? rc : want_unicast(c, n, *out, *out);
}

/* ---------------------------------------------------------------- dpdk */

static int add_eal_arg(struct ctx *c, const struct node *n, size_t i)
{
	struct config *cfg = c->cfg;
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (!n->str[0])
		return fail(c, n, "expected an EAL argument, got an empty value");
	if (cfg->n_eal_args == CONFIG_MAX_EAL_ARGS)
		return fail(c, n, "too many EAL arguments: at most %d",
			    CONFIG_MAX_EAL_ARGS);
	cfg->eal_args[cfg->n_eal_args] = strdup(n->str);
	if (!cfg->eal_args[cfg->n_eal_args])
		return nomem(c);
	cfg->n_eal_args++;
	return 0;
}

static int parse_eal_args(struct ctx *c, const struct node *n, void *dst,
			  const struct field *f)
{
	return each_item(c, n, add_eal_arg);
}

/* ---------------------------------------------------------------- interfaces */

static int parse_role(struct ctx *c, const struct node *n, void *dst,
		      const struct field *f)
{
	int rc = want_scalar(c, n);

	for (int r = 0; !rc && r < CONFIG_ROLE_COUNT; r++) {
		if (!strcmp(n->str, config_role_name((enum config_role)r))) {
			*(enum config_role *)dst = (enum config_role)r;
			return 0;
		}
	}
	return rc ? rc : fail(c, n, "expected inside or outside, got %s", got(c, n));
}

static size_t hex_run(const char *s)
{
	return strspn(s, "0123456789abcdefABCDEF");
}

/* [DDDD:]BB:DD.F, optionally followed by ",devargs". */
static bool looks_like_pci(const char *s)
{
	if (hex_run(s) == 4 && s[4] == ':')
		s += 5;
	if (hex_run(s) != 2 || s[2] != ':')
		return false;
	s += 3;
	if (hex_run(s) != 2 || s[2] != '.')
		return false;
	s += 3;
	return s[0] >= '0' && s[0] <= '7' && (s[1] == '\0' || s[1] == ',');
}

static int parse_device(struct ctx *c, const struct node *n, void *dst,
			const struct field *f)
{
	struct config_iface *ifc = dst;
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (is_null(n) || !n->str[0] || strlen(n->str) >= CONFIG_DEVICE_LEN)
		return fail(c, n, "expected a PCI address like 0000:00:04.0 or a vdev like net_af_packet0,iface=fw-in (at most %d characters), got %s",
			    CONFIG_DEVICE_LEN - 1, got(c, n));
	strcpy(ifc->device, n->str);
	ifc->is_pci = looks_like_pci(n->str);
	return 0;
}

static int parse_iface_addr(struct ctx *c, const struct node *n, void *dst,
			    const struct field *f)
{
	struct config_iface *ifc = dst;
	uint32_t a, host;
	unsigned len = 0;
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	switch (parse_cidr(n->str, &a, &len)) {
	case CIDR_BAD_ADDR:
		return fail(c, n, "expected an IPv4 address with prefix length like 203.0.113.1/24, got %s",
			    got(c, n));
	case CIDR_BAD_LEN:
	case CIDR_OK:
		if (len >= 1)
			break;
		return fail(c, n, "expected a prefix length from 1 to 32 after the \"/\", got %s",
			    got(c, n));
	}
	host = a & ~mask_of(len);
	if (len <= 30 && (host == 0 || host == ~mask_of(len)))
		return fail(c, n, "%s is the %s address of %s/%u: expected a host address in it",
			    IP(a), host ? "broadcast" : "network", IP(a & mask_of(len)), len);
	rc = want_unicast(c, n, a, a);
	ifc->addr = a;
	ifc->prefix_len = (uint8_t)len;
	return rc;
}

static bool same_subnet(const struct config_iface *x, const struct config_iface *y)
{
	uint32_t m = mask_of(x->prefix_len < y->prefix_len ? x->prefix_len : y->prefix_len);

	return (x->addr & m) == (y->addr & m);
}

/* An error about key `key` of mapping `map`, pointing at its value. */
static int __attribute__((format(printf, 4, 5)))
fail_key(struct ctx *c, const struct node *map, const char *key,
	 const char *fmt, ...)
{
	const struct node *v = lookup(map, key);
	size_t mark = path_push(c, key, 0);
	char msg[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc = fail(c, v ? v : map, "%s", msg);
	path_pop(c, mark);
	return rc;
}

/* The second interface against the first. */
static int check_pair(struct ctx *c, const struct node *item,
		      const struct config_iface *ifc, const struct config_iface *o)
{
	unsigned line = c->iface_node[o->role]->line;

	if (!strcmp(ifc->name, o->name))
		return fail_key(c, item, "name", "the %s interface (line %u) has the same name \"%s\": expected distinct names",
				config_role_name(o->role), line, o->name);
	if (!strcmp(ifc->device, o->device))
		return fail_key(c, item, "device", "the %s interface (line %u) uses the same device",
				config_role_name(o->role), line);
	if (same_subnet(ifc, o))
		return fail_key(c, item, "address", "%s/%u overlaps the %s interface's subnet %s/%u (line %u): expected disjoint subnets",
				IP(ifc->addr & mask_of(ifc->prefix_len)), ifc->prefix_len,
				config_role_name(o->role), IP(o->addr & mask_of(o->prefix_len)),
				o->prefix_len, line);
	return 0;
}

static int add_iface(struct ctx *c, const struct node *item, size_t i)
{
	struct config_iface ifc = { .mtu = 1500 };
	int rc = parse_map(c, item, iface_fields, ARRAY_SIZE(iface_fields), &ifc);
	enum config_role other;

	if (rc)
		return rc;
	if (!ifc.name[0])
		strcpy(ifc.name, config_role_name(ifc.role));
	if (c->iface_node[ifc.role])
		return fail_key(c, item, "role", "a second %s interface (the first is at line %u): expected one inside and one outside",
				config_role_name(ifc.role), c->iface_node[ifc.role]->line);
	other = ifc.role == CONFIG_ROLE_INSIDE ? CONFIG_ROLE_OUTSIDE : CONFIG_ROLE_INSIDE;
	if (c->iface_node[other]) {
		rc = check_pair(c, item, &ifc, &c->cfg->ifaces[other]);
		if (rc)
			return rc;
	}
	c->cfg->ifaces[ifc.role] = ifc;
	c->iface_node[ifc.role] = item;
	return 0;
}

static int parse_interfaces(struct ctx *c, const struct node *n, void *dst,
			    const struct field *f)
{
	int rc = each_item(c, n, add_iface);

	for (int r = 0; !rc && r < CONFIG_ROLE_COUNT; r++)
		if (!c->iface_node[r])
			rc = fail(c, n, "no %s interface: expected one interface with role inside and one with role outside",
				  config_role_name((enum config_role)r));
	return rc;
}

/* ---------------------------------------------------------------- routes */

/* Index of the interface whose connected subnet holds `a`, or -1. */
int config_connected_role(const struct config *cfg, uint32_t a)
{
	for (int r = 0; r < CONFIG_ROLE_COUNT; r++) {
		uint32_t m = mask_of(cfg->ifaces[r].prefix_len);

		if ((a & m) == (cfg->ifaces[r].addr & m))
			return r;
	}
	return -1;
}

/* A next hop: a neighbour on a connected subnet, not ourselves. Runs after
 * `interfaces` (table order), so both interfaces are known. */
static int parse_gateway(struct ctx *c, const struct node *n, void *dst,
			 const struct field *f)
{
	const struct config_iface *in = &c->cfg->ifaces[CONFIG_ROLE_INSIDE];
	const struct config_iface *out = &c->cfg->ifaces[CONFIG_ROLE_OUTSIDE];
	uint32_t a = 0, host;
	int r, rc = scalar_addr(c, n, &a);

	if (rc)
		return rc;
	r = config_connected_role(c->cfg, a);
	if (r < 0)
		return fail(c, n, "%s is not on a connected subnet: expected an address in %s/%u (inside) or %s/%u (outside)",
			    IP(a), IP(in->addr & mask_of(in->prefix_len)), in->prefix_len,
			    IP(out->addr & mask_of(out->prefix_len)), out->prefix_len);
	if (a == c->cfg->ifaces[r].addr)
		return fail(c, n, "%s is this appliance's own %s address: expected a neighbour's address",
			    IP(a), config_role_name((enum config_role)r));
	host = a & ~mask_of(c->cfg->ifaces[r].prefix_len);
	if (c->cfg->ifaces[r].prefix_len <= 30 &&
	    (host == 0 || host == ~mask_of(c->cfg->ifaces[r].prefix_len)))
		return fail(c, n, "%s is the %s address of the %s subnet: expected a neighbour's address",
			    IP(a), host ? "broadcast" : "network",
			    config_role_name((enum config_role)r));
	*(uint32_t *)dst = a;
	return 0;
}

static int parse_route_prefix(struct ctx *c, const struct node *n, void *dst,
			      const struct field *f)
{
	struct config_route *rt = dst;
	uint32_t a;
	unsigned len = 0;
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	switch (parse_cidr(n->str, &a, &len)) {
	case CIDR_BAD_ADDR:
		return fail(c, n, "expected an IPv4 prefix like 198.18.0.0/16, got %s",
			    got(c, n));
	case CIDR_BAD_LEN:
		return fail(c, n, "expected a prefix length from 1 to 32 after the \"/\", got %s",
			    got(c, n));
	case CIDR_OK:
		break;
	}
	if (len == 0)
		return fail(c, n, "expected a prefix length from 1 to 32: set the default route with default_gateway");
	if (a & ~mask_of(len))
		return fail(c, n, "%s has host bits set: expected %s/%u",
			    quote(c, n->str), IP(a & mask_of(len)), len);
	rt->prefix = a;
	rt->prefix_len = (uint8_t)len;
	return 0;
}

static int check_route(struct ctx *c, const struct node *item,
		       const struct config_route *rt)
{
	const struct config *cfg = c->cfg;

	for (int r = 0; r < CONFIG_ROLE_COUNT; r++)
		if (cfg->ifaces[r].prefix_len == rt->prefix_len &&
		    (cfg->ifaces[r].addr & mask_of(rt->prefix_len)) == rt->prefix)
			return fail_key(c, item, "prefix", "%s/%u is the %s interface's connected subnet: expected another prefix",
					IP(rt->prefix), rt->prefix_len,
					config_role_name((enum config_role)r));
	for (unsigned j = 0; j < cfg->n_routes; j++)
		if (cfg->routes[j].prefix == rt->prefix &&
		    cfg->routes[j].prefix_len == rt->prefix_len)
			return fail_key(c, item, "prefix", "routes[%u] already goes to %s/%u: expected one route per prefix",
					j, IP(rt->prefix), rt->prefix_len);
	return 0;
}

static int add_route(struct ctx *c, const struct node *item, size_t i)
{
	struct config_route rt = { 0 };
	int rc;

	if (c->cfg->n_routes == CONFIG_MAX_ROUTES)
		return fail(c, item, "too many routes: at most %d", CONFIG_MAX_ROUTES);
	rc = parse_map(c, item, route_fields, ARRAY_SIZE(route_fields), &rt);
	if (!rc)
		rc = check_route(c, item, &rt);
	if (!rc)
		c->cfg->routes[c->cfg->n_routes++] = rt;
	return rc;
}

static int parse_routes(struct ctx *c, const struct node *n, void *dst,
			const struct field *f)
{
	return each_item(c, n, add_route);
}

static int parse_default_gw(struct ctx *c, const struct node *n, void *dst,
			    const struct field *f)
{
	int rc = parse_gateway(c, n, &c->cfg->default_gw, f);

	c->cfg->has_default_gw = rc == 0;
	return rc;
}

/* ---------------------------------------------------------------- frontend IPs */

/* Every item is a contiguous block [lo, hi]: an address, a CIDR block of
 * /20 or longer, or a range "A-B" (spaces around "-" allowed). */
static int frontend_block(struct ctx *c, const struct node *n, uint32_t *lo,
			  uint32_t *hi)
{
	const char *s = n->str, *p;
	unsigned len;

	if (strchr(s, '/')) {
		if (parse_cidr(s, lo, &len) != CIDR_OK)
			goto bad;
		if (len < FRONTEND_MIN_PREFIX)
			return fail(c, n, "%s is %llu addresses: expected /%d or longer (at most %d addresses)",
				    quote(c, s), 1ull << (32 - len), FRONTEND_MIN_PREFIX,
				    1 << (32 - FRONTEND_MIN_PREFIX));
		if (*lo & ~mask_of(len))
			return fail(c, n, "%s has host bits set: expected %s/%u",
				    quote(c, s), IP(*lo & mask_of(len)), len);
		*hi = *lo | ~mask_of(len);
		return 0;
	}
	if (!parse_ip(s, &p, lo))
		goto bad;
	if (*p == '\0') {
		*hi = *lo;
		return 0;
	}
	p += strspn(p, " ");
	if (*p++ != '-')
		goto bad;
	p += strspn(p, " ");
	if (!parse_addr(p, hi))
		goto bad;
	if (*hi < *lo)
		return fail(c, n, "range %s is reversed: expected the lower address first",
			    quote(c, s));
	if (*hi - *lo >= CONFIG_MAX_FRONTEND_IPS)
		return fail(c, n, "range %s has %llu addresses: expected at most %d",
			    quote(c, s), (unsigned long long)(*hi - *lo) + 1,
			    CONFIG_MAX_FRONTEND_IPS);
	return 0;
bad:
	return fail(c, n, "expected an address (192.0.2.10), a CIDR block (192.0.2.16/28) or a range (192.0.2.10-192.0.2.29), got %s",
		    got(c, n));
}

static int check_block(struct ctx *c, const struct node *n, uint32_t lo,
		       uint32_t hi)
{
	int rc = want_unicast(c, n, lo, hi);

	for (int r = 0; !rc && r < CONFIG_ROLE_COUNT; r++) {
		uint32_t a = c->cfg->ifaces[r].addr;
		const char *role = config_role_name((enum config_role)r);

		if (a < lo || a > hi)
			continue;
		if (lo == hi)
			return fail(c, n, "%s is the %s interface's address: a frontend IP must be an address of its own",
				    IP(a), role);
		return fail(c, n, "%s includes %s, the %s interface's address: a frontend IP must be an address of its own",
			    quote(c, n->str), IP(a), role);
	}
	return rc;
}

/* Merges [lo, hi] into the sorted, duplicate-free a[0..n) at out[]; returns
 * the new count. out[] has room for n + (hi - lo + 1). */
static size_t merge_block(const uint32_t *a, size_t n, uint32_t lo,
			  uint32_t hi, uint32_t *out)
{
	size_t i = 0, k = 0;

	while (i < n && a[i] < lo)
		out[k++] = a[i++];
	for (uint64_t x = lo; x <= hi; x++)
		out[k++] = (uint32_t)x;
	while (i < n && a[i] <= hi)
		i++;
	while (i < n)
		out[k++] = a[i++];
	return k;
}

/* Each block holds at most CONFIG_MAX_FRONTEND_IPS addresses and the list
 * never does more, so one merge costs at most twice that, whatever the
 * file holds. */
static int add_frontend(struct ctx *c, const struct node *n, size_t i)
{
	struct config *cfg = c->cfg;
	uint32_t lo = 0, hi = 0;
	size_t k;
	int rc = want_scalar(c, n);

	if (!rc)
		rc = frontend_block(c, n, &lo, &hi);
	if (!rc)
		rc = check_block(c, n, lo, hi);
	if (rc)
		return rc;
	k = merge_block(cfg->frontend_ips, cfg->n_frontend_ips, lo, hi,
			c->scratch);
	if (k > CONFIG_MAX_FRONTEND_IPS)
		return fail(c, n, "this item makes %zu frontend IPs: expected at most %d in all",
			    k, CONFIG_MAX_FRONTEND_IPS);
	memcpy(cfg->frontend_ips, c->scratch, k * sizeof(uint32_t));
	cfg->n_frontend_ips = (unsigned)k;
	return 0;
}

static int parse_frontend_ips(struct ctx *c, const struct node *n, void *dst,
			      const struct field *f)
{
	int rc;

	c->scratch = malloc(2 * CONFIG_MAX_FRONTEND_IPS * sizeof(uint32_t));
	if (!c->scratch)
		return nomem(c);
	rc = each_item(c, n, add_frontend);
	free(c->scratch);
	c->scratch = NULL;
	return rc;
}

/* ---------------------------------------------------------------- policy */

static int parse_bool(struct ctx *c, const struct node *n, void *dst,
		      const struct field *f)
{
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (!strcmp(n->str, "true")) {
		*(bool *)dst = true;
		return 0;
	}
	if (!strcmp(n->str, "false")) {
		*(bool *)dst = false;
		return 0;
	}
	return fail(c, n, "expected true or false, got %s", got(c, n));
}

static int parse_mapping(struct ctx *c, const struct node *n, void *dst,
			 const struct field *f)
{
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (!strcmp(n->str, "endpoint-dependent")) {
		*(bool *)dst = false;
		return 0;
	}
	if (!strcmp(n->str, "endpoint-independent")) {
		*(bool *)dst = true;
		return 0;
	}
	return fail(c, n, "expected endpoint-dependent or endpoint-independent, got %s",
		    got(c, n));
}

/* rfc: RFC 4787/5382/5508 minimums and VPP's defaults; azure: Azure
 * Firewall's 4-minute TCP idle timeout. */
static int parse_profile(struct ctx *c, const struct node *n, void *dst,
			 const struct field *f)
{
	struct config *cfg = c->cfg;
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (!strcmp(n->str, "rfc")) {
		cfg->tcp_established_s = 7440;
		cfg->tcp_transitory_s = 240;
		cfg->udp_s = 300;
		cfg->icmp_s = 60;
		return 0;
	}
	if (!strcmp(n->str, "azure")) {
		cfg->tcp_established_s = 240;
		cfg->tcp_transitory_s = 240;
		cfg->udp_s = 240;
		cfg->icmp_s = 60;
		return 0;
	}
	return fail(c, n, "expected rfc or azure, got %s", got(c, n));
}

static int add_no_snat(struct ctx *c, const struct node *item, size_t i)
{
	struct config *cfg = c->cfg;
	struct config_route rt;
	int rc;

	if (cfg->n_no_snat == CONFIG_MAX_ROUTES)
		return fail(c, item, "too many no_snat prefixes: at most %d",
			    CONFIG_MAX_ROUTES);
	rc = parse_route_prefix(c, item, &rt, NULL);
	if (rc)
		return rc;
	cfg->no_snat[cfg->n_no_snat++] = rt;
	return 0;
}

/* A given list replaces the default one; [] means SNAT everything. */
static int parse_no_snat(struct ctx *c, const struct node *n, void *dst,
			 const struct field *f)
{
	int rc = want_seq(c, n);

	if (rc)
		return rc;
	c->cfg->n_no_snat = 0;
	return each_item(c, n, add_no_snat);
}

static int parse_policy(struct ctx *c, const struct node *n, void *dst,
			const struct field *f)
{
	const char *slash = strrchr(c->file, '/');
	int rc = want_scalar(c, n), len;

	if (rc)
		return rc;
	if (is_null(n) || !n->str[0])
		return fail(c, n, "expected the path of a policy file, got %s", got(c, n));
	if (n->str[0] == '/' || !slash)
		len = snprintf(dst, f->max, "%s", n->str);
	else
		len = snprintf(dst, f->max, "%.*s/%s", (int)(slash - c->file),
			       c->file, n->str);
	if (len < 0 || (size_t)len >= f->max)
		return fail(c, n, "the path is too long: at most %lu bytes after adding the config file's directory",
			    f->max - 1);
	return 0;
}

/* ---------------------------------------------------------------- control, metrics, logs, dns */

/* An absolute path: sockets and logs are not taken relative to the config
 * file (the daemon's working directory is not the operator's). The decision
 * log may also be "-", standard output. */
static int parse_abs_path(struct ctx *c, const struct node *n, void *dst,
			  const struct field *f)
{
	bool log = f->off == CFG(decision_log);
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (is_null(n) || (n->str[0] != '/' && !(log && !strcmp(n->str, "-"))))
		return fail(c, n, "expected an absolute path%s, got %s",
			    log ? " or \"-\" (standard output)" : "", got(c, n));
	if (strlen(n->str) >= f->max)
		return fail(c, n, "expected at most %lu characters, got %s", f->max - 1, got(c, n));
	memcpy(dst, n->str, strlen(n->str) + 1);
	return 0;
}

/* "127.0.0.1:9469": metrics are for the host's own scraper, never served
 * on a data-plane address. */
static int parse_listen(struct ctx *c, const struct node *n, void *dst,
			const struct field *f)
{
	struct config *cfg = c->cfg;
	const char *p;
	unsigned long port = 0;
	unsigned nd = 0;
	uint32_t a;
	int rc = want_scalar(c, n);

	if (rc)
		return rc;
	if (is_null(n) || !parse_ip(n->str, &p, &a) || *p++ != ':')
		return fail(c, n, "expected ADDRESS:PORT like 127.0.0.1:9469, got %s", got(c, n));
	for (; is_digit(*p) && nd < 6; p++, nd++)
		port = port * 10 + (unsigned long)(*p - '0');
	if (nd == 0 || *p || port == 0 || port > 65535)
		return fail(c, n, "expected a port 1..65535 after the colon, got %s", got(c, n));
	if ((a >> 24) != 127)
		return fail(c, n, "metrics listen only on a loopback address (127.0.0.0/8), got %s",
			    got(c, n));
	cfg->metrics_enabled = true;
	cfg->metrics_addr = a;
	cfg->metrics_port = (uint16_t)port;
	return 0;
}

static int add_upstream(struct ctx *c, const struct node *item, size_t i)
{
	struct config *cfg = c->cfg;
	uint32_t a;
	int rc;

	if (cfg->n_dns_upstreams == CONFIG_MAX_DNS_UPSTREAMS)
		return fail(c, item, "too many DNS upstreams: at most %d", CONFIG_MAX_DNS_UPSTREAMS);
	rc = scalar_addr(c, item, &a);
	if (rc)
		return rc;
	for (unsigned k = 0; k < cfg->n_dns_upstreams; k++)
		if (cfg->dns_upstreams[k] == a)
			return fail(c, item, "%s is listed twice", IP(a));
	cfg->dns_upstreams[cfg->n_dns_upstreams++] = a;
	return 0;
}

static int parse_upstreams(struct ctx *c, const struct node *n, void *dst,
			   const struct field *f)
{
	int rc = want_seq(c, n);

	if (rc)
		return rc;
	rc = each_item(c, n, add_upstream);
	if (!rc)
		c->cfg->dns_enabled = c->cfg->n_dns_upstreams > 0;
	return rc;
}

static int parse_dns_proxy(struct ctx *c, const struct node *n, void *dst,
			   const struct field *f)
{
	struct config *cfg = c->cfg;
	int rc = parse_bool(c, n, &cfg->dns_enabled, f);

	if (!rc && cfg->dns_enabled && cfg->n_dns_upstreams == 0)
		return fail(c, n, "proxy: true needs dns.upstreams (the servers to forward to)");
	return rc;
}

/* ---------------------------------------------------------------- entry points */

const char *config_role_name(enum config_role role)
{
	switch (role) {
	case CONFIG_ROLE_INSIDE:
		return "inside";
	case CONFIG_ROLE_OUTSIDE:
		return "outside";
	default:
		return "?";
	}
}

static int check_root(struct ctx *c, const struct node *root)
{
	char keys[512];
	int rc;

	if (!root || is_null(root)) {
		key_list(top_fields, ARRAY_SIZE(top_fields), keys, sizeof(keys));
		return fail_at(c, root ? root->line : 1, root ? root->col : 1,
			       "the file is empty: expected a mapping with keys %s", keys);
	}
	rc = parse_map(c, root, top_fields, ARRAY_SIZE(top_fields), c->cfg);
	if (rc == 0 && c->cfg->workers > 1 && !c->cfg->dnat_snat) {
		const struct node *d = lookup(root, "dnat");

		/* Without it, a backend's reply carries nothing that names the
		 * worker owning its session (see README, "Scaling"). */
		return fail(c, d ? d : root,
			    "dnat.snat_to_inside: false needs workers: 1 (with several workers, "
			    "inbound DNAT replies are steered by the inside address's port)");
	}
	return rc;
}

int config_load_buffer(const char *name, const char *buf, size_t len,
		       struct config *cfg, char *err, size_t errlen)
{
	struct ctx c = { .file = name, .buf = buf, .len = len, .err = err,
			 .errlen = errlen, .cfg = cfg };
	struct node *root = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = '\0';
	if (len > MAX_FILE_SIZE)
		return fail_file(err, errlen, name, -EFBIG, "larger than 1 MiB (%zu bytes): is this the configuration file?",
				 len);
	if (strlen(name) >= sizeof(cfg->path))
		return fail_file(err, errlen, name, -ENAMETOOLONG, "path longer than %zu bytes",
				 sizeof(cfg->path) - 1);
	strcpy(cfg->path, name);
	config_defaults(cfg);
	rc = load_tree(&c, &root);
	if (!rc)
		rc = check_root(&c, root);
	free_node(root);
	if (rc)
		config_free(cfg);
	return rc;
}

/* Reads at most MAX_FILE_SIZE + 1 bytes: one more tells "too large". */
static int read_file(const char *path, char **buf, size_t *len, char *err,
		     size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t got;

	if (fd < 0)
		return fail_file(err, errlen, path, -errno, "cannot open: %s", strerror(errno));
	*buf = malloc(MAX_FILE_SIZE + 1);
	if (!*buf) {
		close(fd);
		return fail_file(err, errlen, path, -ENOMEM, "out of memory");
	}
	while (used <= MAX_FILE_SIZE) {
		got = read(fd, *buf + used, MAX_FILE_SIZE + 1 - used);
		if (got == 0)
			break;
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			close(fd);
			free(*buf);
			return fail_file(err, errlen, path, -e, "cannot read: %s", strerror(e));
		}
		used += (size_t)got;
	}
	close(fd);
	*len = used;
	return 0;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = read_file(path, &buf, &len, err, errlen);
	if (rc)
		return rc;
	rc = config_load_buffer(path, buf, len, cfg, err, errlen);
	free(buf);
	return rc;
}

void config_free(struct config *cfg)
{
	for (unsigned i = 0; i < cfg->n_eal_args; i++)
		free(cfg->eal_args[i]);
	memset(cfg, 0, sizeof(*cfg));
}
