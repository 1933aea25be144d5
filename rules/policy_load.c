/* SPDX-License-Identifier: BSD-3-Clause
 * Policy YAML -> intermediate model, with validation. Every problem is
 * reported (not just the first) as FILE:LINE:COL: what was expected.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "rules/addr.h"
#include "rules/fqdn.h"
#include "rules/fqdntag.h"
#include "rules/policy.h"
#include "rules/svctag.h"
#include "rules/util.h"
#include "rules/ytree.h"

#ifndef RULES_DATA_DIR
#define RULES_DATA_DIR "/usr/share/tollgate/rules"
#endif
#ifndef RULES_INSTALL_DIR
#define RULES_INSTALL_DIR "/usr/share/tollgate/rules"
#endif

#define PRIO_MIN 100
#define PRIO_MAX 65000
#define NAME_MAX_LEN 80

struct lctx {
	const char *file;
	struct policy_errors *errs;
	struct rules_arena *arena;
	struct policy *p;
	const struct policy_load_opts *opts;
	const char *svc_path; /* resolved service tags file */
	struct svctag_db *svc;
	bool svc_failed;
	struct fqdntag_db *tags;
	bool tags_failed;
	size_t nerr; /* errors reported by this load */
	int fatal;   /* -ENOMEM etc. */
};

__attribute__((format(printf, 3, 4))) static void
err(struct lctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rules_verr(c->errs, c->file, at ? at->line : 0, at ? at->col : 0, fmt,
		   ap);
	va_end(ap);
	c->nerr++;
}

const char *policy_data_dir(const struct policy_load_opts *opts)
{
	if (opts != NULL && opts->data_dir != NULL)
		return opts->data_dir;
	const char *e = getenv("TOLLGATE_RULES_DIR");
	if (e != NULL && *e != '\0')
		return e;
	struct stat st;
	if (stat(RULES_DATA_DIR "/data", &st) == 0 && S_ISDIR(st.st_mode))
		return RULES_DATA_DIR;
	return RULES_INSTALL_DIR;
}

static const char *type_name(const struct ynode *n)
{
	return n->type == YNODE_MAP   ? "a mapping"
	       : n->type == YNODE_SEQ ? "a list"
				      : "a scalar";
}

static bool want(struct lctx *c, const struct ynode *n, enum ynode_type t,
		 const char *what)
{
	if (n->type == t)
		return true;
	err(c, n, "expected %s, found %s", what, type_name(n));
	return false;
}

/* Unknown and duplicate keys. `other` lists keys valid elsewhere, with the
 * reason they are not valid here. */
struct keyhint {
	const char *key;
	const char *why;
};

static void check_keys(struct lctx *c, const struct ynode *map,
		       const char *const *allowed, const struct keyhint *other,
		       const char *where)
{
	for (uint32_t i = 0; i < map->n; i++) {
		const struct ynode *k = map->kids[2 * i];
		if (k->type != YNODE_SCALAR) {
			err(c, k, "expected a key name, found %s",
			    type_name(k));
			continue;
		}
		for (uint32_t j = 0; j < i; j++) {
			const struct ynode *k2 = map->kids[2 * j];
			if (k2->type == YNODE_SCALAR &&
			    strcmp(k2->str, k->str) == 0) {
				err(c, k, "duplicate key '%s' (first at line %u)",
				    k->str, k2->line);
				break;
			}
		}
		bool ok = false;
		for (const char *const *a = allowed; *a != NULL; a++)
			if (strcmp(*a, k->str) == 0)
				ok = true;
		if (ok)
			continue;
		const char *hint = NULL;
		for (const struct keyhint *o = other; o && o->key; o++)
			if (strcmp(o->key, k->str) == 0)
				hint = o->why;
		if (hint != NULL) {
			err(c, k, "key '%s' is not allowed in %s: %s", k->str,
			    where, hint);
			continue;
		}
		char list[512];
		size_t o = 0;
		list[0] = '\0';
		for (const char *const *a = allowed; *a != NULL; a++)
			o += (size_t)snprintf(list + o,
					      o < sizeof(list) ? sizeof(list) - o
							       : 0,
					      "%s%s", a == allowed ? "" : ", ",
					      *a);
		err(c, k, "unknown key '%.64s' in %s: expected one of %s", k->str,
		    where, list);
	}
}

/* Azure naming rule: 1-80 characters; letters, digits, '_', '.', '-';
 * starts with a letter or digit; ends with a letter, digit or '_'. Also
 * keeps names safe to print in JSON and logs unquoted. */
static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		if (!alnum && ch != '_' && ch != '.' && ch != '-')
			return false;
		if (i == 0 && !alnum)
			return false;
		if (i == n - 1 && !alnum && ch != '_')
			return false;
	}
	return true;
}

static const char *get_name(struct lctx *c, const struct ynode *map,
			    const char *what)
{
	const struct ynode *n = rules_ymap_get(map, "name");
	if (n == NULL) {
		err(c, map, "%s has no 'name'", what);
		return NULL;
	}
	if (!want(c, n, YNODE_SCALAR, "a name"))
		return NULL;
	if (!valid_name(n->str, n->n)) {
		err(c, n,
		    "invalid %s name '%.80s': expected 1-80 letters, digits, "
		    "'_', '.' or '-', starting with a letter or digit",
		    what, n->str);
		return NULL;
	}
	return n->str;
}

static bool get_priority(struct lctx *c, const struct ynode *map,
			 uint32_t *out)
{
	const struct ynode *n = rules_ymap_get(map, "priority");
	if (n == NULL) {
		err(c, map, "missing 'priority': expected an integer %d-%d",
		    PRIO_MIN, PRIO_MAX);
		return false;
	}
	if (!want(c, n, YNODE_SCALAR, "an integer priority"))
		return false;
	char *end;
	errno = 0;
	long v = strtol(n->str, &end, 10);
	if (n->n == 0 || *end != '\0' || errno != 0 || n->str[0] == '+' ||
	    n->str[0] == ' ') {
		err(c, n, "priority '%.32s' is not an integer: expected %d-%d",
		    n->str, PRIO_MIN, PRIO_MAX);
		return false;
	}
	if (v < PRIO_MIN || v > PRIO_MAX) {
		err(c, n, "priority %ld out of range: expected %d-%d", v,
		    PRIO_MIN, PRIO_MAX);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* A list-valued key: a YAML sequence of scalars, or one scalar standing
 * for a one-item list. Returns the items (pointers into the tree) or
 * NULL with an error; *n = 0 means "absent". */
static const struct ynode **get_list(struct lctx *c, const struct ynode *map,
				     const char *key, size_t *n,
				     const struct ynode **at)
{
	const struct ynode *v = rules_ymap_get(map, key);
	*n = 0;
	*at = v;
	if (v == NULL)
		return NULL;
	const struct ynode **items;
	if (v->type == YNODE_SCALAR) {
		items = rules_arena_alloc(c->arena, sizeof(*items));
		if (items == NULL) {
			c->fatal = -ENOMEM;
			return NULL;
		}
		items[0] = v;
		*n = 1;
		return items;
	}
	if (v->type != YNODE_SEQ) {
		err(c, v, "'%s': expected a list, found %s", key, type_name(v));
		return NULL;
	}
	if (v->n == 0) {
		err(c, v, "'%s' is an empty list: expected at least one entry",
		    key);
		return NULL;
	}
	items = rules_arena_alloc(c->arena, v->n * sizeof(*items));
	if (items == NULL) {
		c->fatal = -ENOMEM;
		return NULL;
	}
	size_t k = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->kids[i]->type != YNODE_SCALAR) {
			err(c, v->kids[i], "'%s': expected a string, found %s",
			    key, type_name(v->kids[i]));
			continue;
		}
		items[k++] = v->kids[i];
	}
	*n = k;
	return k > 0 ? items : NULL;
}

static void resolve_svc(struct lctx *c, const struct ynode *at)
{
	if (c->svc != NULL || c->svc_failed)
		return;
	struct policy_errors e = {0};
	if (svctag_load(c->svc_path, &c->svc, &e) < 0) {
		err(c, at, "cannot load service tags from %s: %s", c->svc_path,
		    e.count > 0 ? e.msgs[0] : "error");
		c->svc_failed = true;
	}
	policy_errors_free(&e);
}

static bool is_tag_name(const char *s)
{
	return (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z');
}

/* Addresses: CIDR, range, "*" or a service tag. */
static bool get_addrs(struct lctx *c, const struct ynode *rule, const char *key,
		      bool single_only, struct policy_range32 **out, size_t *nout)
{
	size_t n;
	const struct ynode *at;
	const struct ynode **items = get_list(c, rule, key, &n, &at);
	*out = NULL;
	*nout = 0;
	if (items == NULL)
		return false;
	struct rules_vec v;
	rules_vec_init(&v, sizeof(struct policy_range32));
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const struct ynode *it = items[i];
		struct policy_range32 r;
		const char *why;
		if (is_tag_name(it->str) && !single_only) {
			resolve_svc(c, it);
			size_t tn;
			const struct policy_range32 *tr =
				svctag_lookup(c->svc, it->str, &tn);
			if (tr == NULL) {
				if (!c->svc_failed)
					err(c, it,
					    "unknown service tag '%.80s' (not "
					    "in %s)",
					    it->str, c->svc_path);
				ok = false;
				continue;
			}
			for (size_t k = 0; k < tn; k++) {
				struct policy_range32 *d = rules_vec_push(&v);
				if (d == NULL) {
					c->fatal = -ENOMEM;
					break;
				}
				*d = tr[k];
			}
			continue;
		}
		if (rules_parse_addr_range(it->str, &r, &why) < 0) {
			err(c, it, "bad address '%.64s' in '%s': %s", it->str,
			    key, why);
			ok = false;
			continue;
		}
		if (single_only && r.lo != r.hi) {
			err(c, it,
			    "'%s' of a DNAT rule must be single IPv4 addresses "
			    "(the frontend IP), not '%.64s'",
			    key, it->str);
			ok = false;
			continue;
		}
		struct policy_range32 *d = rules_vec_push(&v);
		if (d == NULL) {
			c->fatal = -ENOMEM;
			break;
		}
		*d = r;
	}
	if (ok && c->fatal == 0) {
		size_t m = rules_merge_ranges32(v.data, v.n);
		*out = rules_arena_memdup(c->arena, v.data, m * sizeof(**out));
		*nout = m;
		if (m > 0 && *out == NULL)
			c->fatal = -ENOMEM;
		if (m == 0) {
			/* e.g. a service tag with only IPv6 prefixes */
			err(c, at,
			    "'%s' has no IPv4 address (service tags with only "
			    "IPv6 prefixes match nothing)",
			    key);
			ok = false;
		}
	}
	rules_vec_free(&v);
	return ok && c->fatal == 0;
}

static bool get_ports(struct lctx *c, const struct ynode *rule, bool single_only,
		      struct policy_range16 **out, size_t *nout)
{
	size_t n;
	const struct ynode *at;
	const struct ynode **items =
		get_list(c, rule, "destination_ports", &n, &at);
	*out = NULL;
	*nout = 0;
	if (items == NULL)
		return false;
	struct policy_range16 *r = rules_arena_alloc(c->arena, n * sizeof(*r));
	if (r == NULL) {
		c->fatal = -ENOMEM;
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *why;
		if (rules_parse_port_range(items[i]->str, &r[i], &why) < 0) {
			err(c, items[i], "bad port '%.32s': %s", items[i]->str,
			    why);
			ok = false;
		} else if (single_only && r[i].lo != r[i].hi) {
			err(c, items[i],
			    "DNAT destination_ports must be single ports, not "
			    "'%.32s'",
			    items[i]->str);
			ok = false;
		}
	}
	if (!ok)
		return false;
	*nout = rules_merge_ranges16(r, n);
	*out = r;
	return true;
}

static bool get_net_protos(struct lctx *c, const struct ynode *rule,
			   enum policy_kind kind, uint8_t *out)
{
	size_t n;
	const struct ynode *at;
	const struct ynode **items = get_list(c, rule, "protocols", &n, &at);
	*out = 0;
	if (items == NULL)
		return false;
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *s = items[i]->str;
		if (strcasecmp(s, "tcp") == 0)
			*out |= POLICY_PROTO_TCP;
		else if (strcasecmp(s, "udp") == 0)
			*out |= POLICY_PROTO_UDP;
		else if (strcasecmp(s, "icmp") == 0 && kind == POLICY_KIND_NETWORK)
			*out |= POLICY_PROTO_ICMP;
		else if (strcasecmp(s, "any") == 0)
			/* A DNAT rule translates ports: "Any" means TCP+UDP. */
			*out |= kind == POLICY_KIND_DNAT
					? POLICY_PROTO_TCP | POLICY_PROTO_UDP
					: POLICY_PROTO_ANY;
		else {
			err(c, items[i], "unknown protocol '%.32s': expected %s",
			    s,
			    kind == POLICY_KIND_DNAT
				    ? "TCP, UDP or Any"
				    : "TCP, UDP, ICMP or Any");
			ok = false;
		}
	}
	return ok;
}

static bool get_app_protos(struct lctx *c, const struct ynode *rule,
			   struct policy_app_proto **out, size_t *nout)
{
	size_t n;
	const struct ynode *at;
	const struct ynode **items = get_list(c, rule, "protocols", &n, &at);
	*out = NULL;
	*nout = 0;
	if (items == NULL)
		return false;
	struct policy_app_proto *ap = rules_arena_alloc(c->arena, n * sizeof(*ap));
	if (ap == NULL) {
		c->fatal = -ENOMEM;
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		const char *s = items[i]->str;
		size_t sl = strcspn(s, ":=");
		uint8_t scheme;
		unsigned long port;
		if (sl == 4 && strncasecmp(s, "http", 4) == 0) {
			scheme = POLICY_SCHEME_HTTP;
			port = 80;
		} else if (sl == 5 && strncasecmp(s, "https", 5) == 0) {
			scheme = POLICY_SCHEME_HTTPS;
			port = 443;
		} else if (sl == 5 && strncasecmp(s, "mssql", 5) == 0) {
			err(c, items[i],
			    "protocol 'mssql' is not supported: expected "
			    "http:PORT or https:PORT");
			ok = false;
			continue;
		} else {
			err(c, items[i],
			    "bad application protocol '%.32s': expected "
			    "http:PORT or https:PORT (e.g. \"https:443\")",
			    s);
			ok = false;
			continue;
		}
		if (s[sl] != '\0') {
			struct policy_range16 r;
			const char *why;
			if (rules_parse_port_range(s + sl + 1, &r, &why) < 0 ||
			    r.lo != r.hi || strcmp(s + sl + 1, "*") == 0) {
				err(c, items[i],
				    "bad port in '%.32s': expected one port "
				    "1-65535",
				    s);
				ok = false;
				continue;
			}
			port = r.lo;
		}
		ap[*nout].scheme = scheme;
		ap[*nout].port = (uint16_t)port;
		(*nout)++;
	}
	*out = ap;
	return ok;
}

/* Normalise one FQDN pattern into the arena. */
static const char *norm_pattern(struct lctx *c, const struct ynode *at,
				const char *s, bool pattern, const char *ctx)
{
	char buf[FQDN_MAX + 1];
	size_t bl;
	const char *why;
	if (fqdn_normalize(s, strlen(s), pattern, buf, &bl, &why) < 0) {
		err(c, at, "bad FQDN '%.80s'%s: %s", s, ctx, why);
		return NULL;
	}
	const char *r = rules_arena_strndup(c->arena, buf, bl);
	if (r == NULL)
		c->fatal = -ENOMEM;
	return r;
}

static void load_tags_db(struct lctx *c, const struct ynode *at)
{
	if (c->tags != NULL || c->tags_failed)
		return;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/data/fqdn-tags.yaml",
		 policy_data_dir(c->opts));
	struct policy_errors e = {0};
	if (fqdntag_load(path, &c->tags, &e) < 0) {
		err(c, at, "cannot load FQDN tags: %s",
		    e.count > 0 ? e.msgs[0] : path);
		c->tags_failed = true;
	}
	policy_errors_free(&e);
}

/* Expand "<location>" with the region. */
static bool subst_location(const char *pat, const char *region, char *out,
			   size_t cap)
{
	const char *ph = strstr(pat, "<location>");
	if (ph == NULL) {
		snprintf(out, cap, "%s", pat);
		return true;
	}
	if (region == NULL)
		return false;
	snprintf(out, cap, "%.*s%s%s", (int)(ph - pat), pat, region,
		 ph + strlen("<location>"));
	return true;
}

static bool get_app_fqdns(struct lctx *c, const struct ynode *rule,
			  struct policy_rule *r)
{
	size_t nt, ng;
	const struct ynode *at_t, *at_g;
	const struct ynode **tf = get_list(c, rule, "target_fqdns", &nt, &at_t);
	const struct ynode **tg = get_list(c, rule, "fqdn_tags", &ng, &at_g);
	bool ok = true;
	if ((at_t != NULL && tf == NULL) || (at_g != NULL && tg == NULL))
		ok = false;
	struct rules_vec v;
	rules_vec_init(&v, sizeof(const char *));
	for (size_t i = 0; i < nt; i++) {
		const char *p = norm_pattern(c, tf[i], tf[i]->str, true, "");
		const char **d = p ? rules_vec_push(&v) : NULL;
		if (d == NULL) {
			ok = false;
			continue;
		}
		*d = p;
	}
	for (size_t i = 0; i < ng; i++) {
		load_tags_db(c, tg[i]);
		if (c->tags_failed) {
			ok = false;
			break;
		}
		size_t np;
		const char *const *pats = fqdntag_lookup(c->tags, tg[i]->str,
							 c->p->cloud, &np);
		if (pats == NULL) {
			err(c, tg[i],
			    "unknown FQDN tag '%.80s' (known tags are in "
			    "%s/data/fqdn-tags.yaml)",
			    tg[i]->str, policy_data_dir(c->opts));
			ok = false;
			continue;
		}
		if (np == 0) {
			err(c, tg[i],
			    "FQDN tag '%.80s' has no FQDNs for this cloud",
			    tg[i]->str);
			ok = false;
			continue;
		}
		for (size_t k = 0; k < np; k++) {
			char buf[1024];
			if (!subst_location(pats[k], c->p->region, buf,
					    sizeof(buf))) {
				err(c, tg[i],
				    "FQDN tag '%s' contains '%s': set the "
				    "policy's top-level 'region:' (e.g. region: "
				    "eastus)",
				    tg[i]->str, pats[k]);
				ok = false;
				break;
			}
			char ctx[128];
			snprintf(ctx, sizeof(ctx), " (from FQDN tag %.80s)",
				 tg[i]->str);
			const char *p = norm_pattern(c, tg[i], buf, true, ctx);
			const char **d = p ? rules_vec_push(&v) : NULL;
			if (d == NULL) {
				ok = false;
				continue;
			}
			*d = p;
		}
	}
	if (at_t == NULL && at_g == NULL) {
		err(c, rule,
		    "application rule needs 'target_fqdns' or 'fqdn_tags'");
		ok = false;
	}
	if (ok && v.n > 0) {
		r->fqdns = rules_arena_memdup(c->arena, v.data,
					      v.n * sizeof(const char *));
		r->n_fqdns = v.n;
		if (r->fqdns == NULL)
			c->fatal = -ENOMEM;
	}
	rules_vec_free(&v);
	return ok;
}

static const char *const net_keys[] = {
	"name", "description", "protocols", "source_addresses",
	"destination_addresses", "destination_fqdns", "destination_ports",
	NULL};
static const struct keyhint net_other[] = {
	{"target_fqdns", "application rules only (network rules take "
			 "destination_fqdns)"},
	{"fqdn_tags", "application rules only"},
	{"translated_address", "DNAT rules only"},
	{"translated_port", "DNAT rules only"},
	{NULL, NULL}};
static const char *const app_keys[] = {"name", "description", "protocols",
				       "source_addresses", "target_fqdns",
				       "fqdn_tags", NULL};
static const struct keyhint app_other[] = {
	{"destination_addresses", "network and DNAT rules only"},
	{"destination_ports", "network and DNAT rules only (application rules "
			      "take ports in protocols, e.g. \"https:443\")"},
	{"destination_fqdns", "network rules only (application rules take "
			      "target_fqdns)"},
	{"translated_address", "DNAT rules only"},
	{"translated_port", "DNAT rules only"},
	{NULL, NULL}};
static const char *const dnat_keys[] = {
	"name", "description", "protocols", "source_addresses",
	"destination_addresses", "destination_ports", "translated_address",
	"translated_port", NULL};
static const struct keyhint dnat_other[] = {
	{"destination_fqdns", "network rules only"},
	{"target_fqdns", "application rules only"},
	{"fqdn_tags", "application rules only"},
	{NULL, NULL}};

static const char *const kind_names[] = {"dnat", "network", "application"};

static void missing(struct lctx *c, const struct ynode *rule, const char *key,
		    const char *expect)
{
	if (rules_ymap_get(rule, key) == NULL)
		err(c, rule, "rule '%s': missing '%s' (expected %s)",
		    rules_ymap_get(rule, "name") &&
				    rules_ymap_get(rule, "name")->type ==
					    YNODE_SCALAR
			    ? rules_ymap_get(rule, "name")->str
			    : "?",
		    key, expect);
}

static bool load_rule(struct lctx *c, const struct ynode *y,
		      enum policy_kind kind, struct policy_rule *r)
{
	size_t before = c->nerr;
	const char *const *keys = kind == POLICY_KIND_NETWORK ? net_keys
				  : kind == POLICY_KIND_APPLICATION ? app_keys
								     : dnat_keys;
	const struct keyhint *other = kind == POLICY_KIND_NETWORK ? net_other
				      : kind == POLICY_KIND_APPLICATION
					      ? app_other
					      : dnat_other;
	char where[64];
	snprintf(where, sizeof(where), "a %s rule", kind_names[kind]);
	check_keys(c, y, keys, other, where);
	r->name = get_name(c, y, "rule");
	r->pos.line = y->line;
	r->pos.col = y->col;

	/* An empty rule: nothing but (maybe) a name. */
	uint32_t content = 0;
	for (uint32_t i = 0; i < y->n; i++) {
		const struct ynode *k = y->kids[2 * i];
		if (k->type == YNODE_SCALAR && strcmp(k->str, "name") != 0 &&
		    strcmp(k->str, "description") != 0)
			content++;
	}
	if (content == 0) {
		err(c, y,
		    "empty rule '%s': a %s rule needs %s",
		    r->name ? r->name : "?", kind_names[kind],
		    kind == POLICY_KIND_NETWORK
			    ? "protocols, source_addresses, "
			      "destination_addresses or destination_fqdns, and "
			      "destination_ports"
		    : kind == POLICY_KIND_APPLICATION
			    ? "protocols, source_addresses, and target_fqdns or "
			      "fqdn_tags"
			    : "protocols, source_addresses, "
			      "destination_addresses, destination_ports, "
			      "translated_address and translated_port");
		return false;
	}

	missing(c, y, "source_addresses", "a list such as [\"*\"] or "
					  "[\"10.0.0.0/8\"]");
	missing(c, y, "protocols",
		kind == POLICY_KIND_APPLICATION
			? "a list such as [\"http:80\", \"https:443\"]"
			: "a list such as [TCP] or [UDP]");
	if (rules_ymap_get(y, "source_addresses") != NULL)
		get_addrs(c, y, "source_addresses", false, &r->src, &r->n_src);

	if (kind == POLICY_KIND_APPLICATION) {
		if (rules_ymap_get(y, "protocols") != NULL)
			get_app_protos(c, y, &r->app_protos, &r->n_app_protos);
		get_app_fqdns(c, y, r);
		return c->nerr == before;
	}

	if (rules_ymap_get(y, "protocols") != NULL)
		get_net_protos(c, y, kind, &r->protos);
	missing(c, y, "destination_ports", "a list such as [\"443\"], "
					   "[\"8000-8100\"] or [\"*\"]");
	if (rules_ymap_get(y, "destination_ports") != NULL)
		get_ports(c, y, kind == POLICY_KIND_DNAT, &r->ports,
			  &r->n_ports);

	const struct ynode *da = rules_ymap_get(y, "destination_addresses");
	const struct ynode *df = rules_ymap_get(y, "destination_fqdns");
	if (kind == POLICY_KIND_NETWORK && da != NULL && df != NULL) {
		err(c, df,
		    "a rule takes destination_addresses or destination_fqdns, "
		    "not both: split it into two rules");
	} else if (kind == POLICY_KIND_NETWORK && df != NULL) {
		size_t n;
		const struct ynode *at;
		const struct ynode **items =
			get_list(c, y, "destination_fqdns", &n, &at);
		if (items != NULL) {
			r->dst_fqdns = rules_arena_alloc(c->arena,
							 n * sizeof(char *));
			if (r->dst_fqdns == NULL) {
				c->fatal = -ENOMEM;
				return false;
			}
			for (size_t i = 0; i < n; i++) {
				const char *p = norm_pattern(
					c, items[i], items[i]->str, false,
					" (network rule FQDNs take no "
					"wildcards)");
				if (p != NULL)
					r->dst_fqdns[r->n_dst_fqdns++] = p;
			}
		}
	} else if (da != NULL) {
		get_addrs(c, y, "destination_addresses",
			  kind == POLICY_KIND_DNAT, &r->dst, &r->n_dst);
	} else {
		err(c, y, "rule '%s': missing %s",
		    r->name ? r->name : "?",
		    kind == POLICY_KIND_NETWORK
			    ? "'destination_addresses' or 'destination_fqdns'"
			    : "'destination_addresses' (the frontend IP)");
	}

	if (kind == POLICY_KIND_DNAT) {
		const struct ynode *ta = rules_ymap_get(y, "translated_address");
		const struct ynode *tp = rules_ymap_get(y, "translated_port");
		missing(c, y, "translated_address", "an IPv4 address");
		missing(c, y, "translated_port", "a port 1-65535");
		if (ta != NULL && want(c, ta, YNODE_SCALAR, "an IPv4 address") &&
		    rules_parse_ipv4(ta->str, &r->xlat_addr) < 0)
			err(c, ta,
			    "bad translated_address '%.64s': expected one IPv4 "
			    "address",
			    ta->str);
		if (tp != NULL && want(c, tp, YNODE_SCALAR, "a port")) {
			struct policy_range16 pr;
			const char *why;
			if (rules_parse_port_range(tp->str, &pr, &why) < 0 ||
			    pr.lo != pr.hi || strcmp(tp->str, "*") == 0)
				err(c, tp,
				    "bad translated_port '%.32s': expected one "
				    "port 1-65535",
				    tp->str);
			else
				r->xlat_port = pr.lo;
		}
	}
	return c->nerr == before;
}

static bool parse_kind(const char *s, enum policy_kind *k)
{
	if (strcasecmp(s, "network") == 0)
		*k = POLICY_KIND_NETWORK;
	else if (strcasecmp(s, "application") == 0)
		*k = POLICY_KIND_APPLICATION;
	else if (strcasecmp(s, "dnat") == 0 || strcasecmp(s, "nat") == 0)
		*k = POLICY_KIND_DNAT;
	else
		return false;
	return true;
}

static const char *const coll_keys[] = {"name", "description", "kind",
					"priority", "action", "rules", NULL};
static const char *const group_keys[] = {"name", "description", "priority",
					 "rule_collections", NULL};
static const char *const top_keys[] = {
	"rule_collection_groups", "region", "cloud", "service_tags_file",
	"description", NULL};

static void load_collection(struct lctx *c, const struct ynode *y,
			    struct policy_collection *pc)
{
	check_keys(c, y, coll_keys, NULL, "a rule collection");
	pc->name = get_name(c, y, "rule collection");
	pc->pos.line = y->line;
	pc->pos.col = y->col;
	get_priority(c, y, &pc->priority);

	const struct ynode *k = rules_ymap_get(y, "kind");
	bool kind_ok = false;
	if (k == NULL)
		err(c, y, "rule collection has no 'kind' (expected network, "
			  "application or dnat)");
	else if (want(c, k, YNODE_SCALAR, "a kind")) {
		if (!parse_kind(k->str, &pc->kind))
			err(c, k,
			    "unknown kind '%.32s': expected network, "
			    "application or dnat",
			    k->str);
		else
			kind_ok = true;
	}

	const struct ynode *a = rules_ymap_get(y, "action");
	if (a == NULL) {
		err(c, y, "rule collection has no 'action' (expected %s)",
		    kind_ok && pc->kind == POLICY_KIND_DNAT ? "dnat"
							    : "allow or deny");
	} else if (want(c, a, YNODE_SCALAR, "an action")) {
		if (strcasecmp(a->str, "allow") == 0)
			pc->action = POLICY_ACTION_ALLOW;
		else if (strcasecmp(a->str, "deny") == 0)
			pc->action = POLICY_ACTION_DENY;
		else if (strcasecmp(a->str, "dnat") == 0)
			pc->action = POLICY_ACTION_DNAT;
		else
			err(c, a, "unknown action '%.32s': expected %s", a->str,
			    kind_ok && pc->kind == POLICY_KIND_DNAT
				    ? "dnat"
				    : "allow or deny");
		if (kind_ok && (pc->kind == POLICY_KIND_DNAT) !=
				       (pc->action == POLICY_ACTION_DNAT) &&
		    (strcasecmp(a->str, "allow") == 0 ||
		     strcasecmp(a->str, "deny") == 0 ||
		     strcasecmp(a->str, "dnat") == 0))
			err(c, a, "action '%s' is not valid for a %s "
				  "collection: expected %s",
			    a->str, kind_names[pc->kind],
			    pc->kind == POLICY_KIND_DNAT ? "dnat"
							 : "allow or deny");
	}

	const struct ynode *rules = rules_ymap_get(y, "rules");
	if (rules == NULL) {
		err(c, y, "rule collection '%s' has no 'rules'",
		    pc->name ? pc->name : "?");
		return;
	}
	if (!want(c, rules, YNODE_SEQ, "a list of rules"))
		return;
	if (rules->n == 0) {
		err(c, rules, "rule collection '%s' has an empty rule list",
		    pc->name ? pc->name : "?");
		return;
	}
	if (!kind_ok)
		return;
	pc->rules = rules_arena_alloc(c->arena, rules->n * sizeof(*pc->rules));
	if (pc->rules == NULL) {
		c->fatal = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < rules->n && c->fatal == 0; i++) {
		const struct ynode *ry = rules->kids[i];
		if (!want(c, ry, YNODE_MAP, "a rule (a mapping)"))
			continue;
		struct policy_rule *r = &pc->rules[pc->n_rules];
		load_rule(c, ry, pc->kind, r);
		for (size_t j = 0; r->name && j < pc->n_rules; j++) {
			if (pc->rules[j].name &&
			    strcmp(pc->rules[j].name, r->name) == 0) {
				err(c, rules_ymap_get(ry, "name"),
				    "duplicate rule name '%s' in collection "
				    "'%s' (first at line %u)",
				    r->name, pc->name ? pc->name : "?",
				    pc->rules[j].pos.line);
				break;
			}
		}
		pc->n_rules++;
	}
}

static void load_group(struct lctx *c, const struct ynode *y,
		       struct policy_group *g)
{
	check_keys(c, y, group_keys, NULL, "a rule collection group");
	g->name = get_name(c, y, "rule collection group");
	g->pos.line = y->line;
	g->pos.col = y->col;
	get_priority(c, y, &g->priority);
	const struct ynode *cs = rules_ymap_get(y, "rule_collections");
	if (cs == NULL) {
		err(c, y, "rule collection group '%s' has no "
			  "'rule_collections'",
		    g->name ? g->name : "?");
		return;
	}
	if (!want(c, cs, YNODE_SEQ, "a list of rule collections"))
		return;
	if (cs->n == 0) {
		err(c, cs, "rule collection group '%s' has no rule collections",
		    g->name ? g->name : "?");
		return;
	}
	g->colls = rules_arena_alloc(c->arena, cs->n * sizeof(*g->colls));
	if (g->colls == NULL) {
		c->fatal = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < cs->n && c->fatal == 0; i++) {
		if (!want(c, cs->kids[i], YNODE_MAP,
			  "a rule collection (a mapping)"))
			continue;
		struct policy_collection *pc = &g->colls[g->n_colls];
		load_collection(c, cs->kids[i], pc);
		for (size_t j = 0; j < g->n_colls; j++) {
			struct policy_collection *o = &g->colls[j];
			if (pc->priority != 0 && o->priority == pc->priority &&
			    o->kind == pc->kind) {
				err(c, rules_ymap_get(cs->kids[i], "priority"),
				    "duplicate priority %u: %s collection '%s' "
				    "(line %u) in the same group already uses "
				    "it",
				    pc->priority, kind_names[pc->kind],
				    o->name ? o->name : "?", o->pos.line);
				break;
			}
		}
		g->n_colls++;
	}
}

static void check_collection_names(struct lctx *c, const struct ynode *root)
{
	/* Collection names are unique across the policy, so a log line's
	 * (collection, rule) pair names one rule. */
	struct policy *p = c->p;
	for (size_t g = 0; g < p->n_groups; g++)
		for (size_t i = 0; i < p->groups[g].n_colls; i++) {
			const struct policy_collection *a = &p->groups[g].colls[i];
			if (a->name == NULL)
				continue;
			bool dup = false;
			for (size_t g2 = 0; g2 <= g && !dup; g2++)
				for (size_t j = 0;
				     j < (g2 == g ? i : p->groups[g2].n_colls);
				     j++) {
					const struct policy_collection *b =
						&p->groups[g2].colls[j];
					if (b->name &&
					    strcmp(a->name, b->name) == 0) {
						rules_err(c->errs, c->file,
							  a->pos.line,
							  a->pos.col,
							  "duplicate rule "
							  "collection name "
							  "'%s' (first at "
							  "line %u)",
							  a->name, b->pos.line);
						c->nerr++;
						dup = true;
						break;
					}
				}
		}
	(void)root;
}

static void load_top(struct lctx *c, const struct ynode *root)
{
	struct policy *p = c->p;
	if (!want(c, root, YNODE_MAP, "a mapping with rule_collection_groups"))
		return;
	check_keys(c, root, top_keys, NULL, "the policy");

	const struct ynode *cl = rules_ymap_get(root, "cloud");
	if (cl != NULL && want(c, cl, YNODE_SCALAR, "a cloud name")) {
		if (strcasecmp(cl->str, "public") == 0 ||
		    strcasecmp(cl->str, "AzureCloud") == 0)
			p->cloud = POLICY_CLOUD_PUBLIC;
		else if (strcasecmp(cl->str, "china") == 0 ||
			 strcasecmp(cl->str, "AzureChinaCloud") == 0)
			p->cloud = POLICY_CLOUD_CHINA;
		else if (strcasecmp(cl->str, "usgov") == 0 ||
			 strcasecmp(cl->str, "AzureUSGovernment") == 0)
			p->cloud = POLICY_CLOUD_USGOV;
		else
			err(c, cl, "unknown cloud '%.32s': expected public, "
				   "china or usgov",
			    cl->str);
	}
	const struct ynode *rg = rules_ymap_get(root, "region");
	if (rg != NULL && want(c, rg, YNODE_SCALAR, "a region name")) {
		bool ok = rg->n > 0 && rg->n <= 40;
		for (uint32_t i = 0; i < rg->n; i++) {
			char ch = rg->str[i];
			if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
				ok = false;
		}
		if (!ok)
			err(c, rg,
			    "bad region '%.40s': expected an Azure region name "
			    "in lower case, such as eastus",
			    rg->str);
		else
			p->region = rg->str;
	}
	const struct ynode *sf = rules_ymap_get(root, "service_tags_file");
	if (c->opts != NULL && c->opts->service_tags_path != NULL) {
		c->svc_path = c->opts->service_tags_path;
	} else if (sf != NULL && want(c, sf, YNODE_SCALAR, "a file path")) {
		if (sf->str[0] == '/') {
			c->svc_path = sf->str;
		} else {
			/* relative to the policy file's directory */
			const char *slash = strrchr(c->file, '/');
			int dl = slash ? (int)(slash - c->file) : 1;
			char tmp[PATH_MAX];
			snprintf(tmp, sizeof(tmp), "%.*s/%s", dl,
				 slash ? c->file : ".", sf->str);
			c->svc_path = rules_arena_strndup(c->arena, tmp,
							  strlen(tmp));
		}
	}
	if (c->svc_path == NULL) {
		char tmp[PATH_MAX];
		snprintf(tmp, sizeof(tmp), "%s/data/servicetags-sample.json",
			 policy_data_dir(c->opts));
		c->svc_path = rules_arena_strndup(c->arena, tmp, strlen(tmp));
	}
	if (c->svc_path == NULL) {
		c->fatal = -ENOMEM;
		return;
	}

	const struct ynode *gs = rules_ymap_get(root, "rule_collection_groups");
	if (gs == NULL) {
		err(c, root, "missing 'rule_collection_groups' (expected a "
			     "list of groups)");
		return;
	}
	if (!want(c, gs, YNODE_SEQ, "a list of rule collection groups"))
		return;
	if (gs->n == 0) {
		err(c, gs, "'rule_collection_groups' is empty: expected at "
			   "least one group");
		return;
	}
	p->groups = rules_arena_alloc(c->arena, gs->n * sizeof(*p->groups));
	if (p->groups == NULL) {
		c->fatal = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < gs->n && c->fatal == 0; i++) {
		if (!want(c, gs->kids[i], YNODE_MAP,
			  "a rule collection group (a mapping)"))
			continue;
		struct policy_group *g = &p->groups[p->n_groups];
		load_group(c, gs->kids[i], g);
		for (size_t j = 0; j < p->n_groups; j++) {
			const struct policy_group *o = &p->groups[j];
			if (g->name && o->name && strcmp(g->name, o->name) == 0)
				err(c, rules_ymap_get(gs->kids[i], "name"),
				    "duplicate rule collection group name '%s' "
				    "(first at line %u)",
				    g->name, o->pos.line);
			if (g->priority != 0 && g->priority == o->priority)
				err(c, rules_ymap_get(gs->kids[i], "priority"),
				    "duplicate priority %u: group '%s' (line "
				    "%u) already uses it",
				    g->priority, o->name ? o->name : "?",
				    o->pos.line);
		}
		p->n_groups++;
	}
	check_collection_names(c, root);
}

int policy_load_buf(const char *name, const char *buf, size_t len,
		    const struct policy_load_opts *opts, struct policy **out,
		    struct policy_errors *errs)
{
	struct lctx c = {.file = name, .errs = errs, .opts = opts};
	struct ynode *root;
	int rc;

	*out = NULL;
	c.p = calloc(1, sizeof(*c.p));
	if (c.p == NULL || (c.arena = rules_arena_new()) == NULL) {
		free(c.p);
		rules_err(errs, name, 0, 0, "out of memory");
		return -ENOMEM;
	}
	c.p->arena = c.arena;
	c.p->path = rules_arena_strndup(c.arena, name, strlen(name));
	c.file = c.p->path ? c.p->path : name;
	rc = rules_ytree_parse(c.file, buf, len, &rules_ytree_policy_limits,
			       c.arena, &root, errs);
	if (rc == 0) {
		load_top(&c, root);
		if (c.fatal != 0) {
			rules_err(errs, name, 0, 0, "out of memory");
			rc = c.fatal;
		} else if (c.nerr > 0) {
			rc = -EINVAL;
		}
	}
	svctag_free(c.svc);
	fqdntag_free(c.tags);
	if (rc < 0) {
		policy_free(c.p);
		return rc;
	}
	*out = c.p;
	return 0;
}

int policy_load(const char *path, const struct policy_load_opts *opts,
		struct policy **out, struct policy_errors *errs)
{
	char *buf;
	size_t len;
	*out = NULL;
	int rc = rules_read_file(path, rules_ytree_policy_limits.max_bytes, &buf,
				 &len, errs);
	if (rc < 0)
		return rc;
	rc = policy_load_buf(path, buf, len, opts, out, errs);
	free(buf);
	return rc;
}

void policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	rules_arena_free(p->arena);
	free(p);
}
