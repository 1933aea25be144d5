/* SPDX-License-Identifier: BSD-3-Clause
 * Intermediate model -> compiled rule set, and the data-plane matching
 * functions that read it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "rules/addr.h"
#include "rules/cls.h"
#include "rules/fqdn.h"
#include "rules/policy.h"
#include "rules/util.h"

/* Hot per-rule data, one cache line holds several. */
struct rule_rt {
	uint8_t action; /* enum policy_action */
	uint8_t dyn;	/* destination is a dynamic set (destination_fqdns) */
	uint16_t xlat_port;
	uint32_t xlat_addr;
};

/* Per application rule, what the FQDN match must also check: the source
 * and (scheme, port). Checked directly (a few compares and a binary search
 * over the rule's merged source ranges) rather than through the
 * classifier, because it runs once per pattern hit. */
#define APP_PROTOS_INLINE 6

struct app_rt {
	struct policy_range32 src1; /* n_src == 1: the range, inline */
	const struct policy_range32 *src; /* merged, sorted */
	uint32_t n_src;
	uint32_t n_protos;
	struct policy_app_proto p[APP_PROTOS_INLINE]; /* first protocols */
	const struct policy_app_proto *protos; /* all of them */
} __attribute__((aligned(64)));

struct policy_ruleset {
	/* Everything is written once by policy_compile() (control) and read
	 * by workers, except dyn[] (control: rw via policy_dynset_publish;
	 * dataplane: ro, atomic acquire loads). */
	uint32_t n_rules; /* dnat, then network, then application */
	uint32_t n_dnat, n_net, n_app;
	struct rule_rt *rt;
	struct policy_rule_info *info;
	struct rules_cls *net_cls; /* entries = rules [0, n_dnat + n_net) */
	struct rules_cls *app_cls; /* entries = (app rule, scheme) pairs */
	uint32_t *app_entry; /* [2 * app rule + scheme] -> entry or NONE */
	uint32_t *entry_app; /* entry -> app rule */
	struct app_rt *app;  /* per app rule */
	struct fqdn_matcher *fm; /* patterns -> app rule index */
	_Atomic(const struct policy_dynset *) *dyn; /* per network rule */
	const char ***dst_fqdns;
	size_t *n_dst_fqdns;
	struct rules_arena *arena; /* names */
};

struct policy_scratch {
	void *hs; /* Hyperscan scratch, NULL when the rule set needs none */
};

static const char *const stage_str[] = {
#define X(n, s) s,
	POLICY_STAGE_LIST(X)
#undef X
};
static const char *const reason_str[] = {
#define X(n, s) s,
	POLICY_REASON_LIST(X)
#undef X
};

const char *policy_stage_str(enum policy_stage s)
{
	return (unsigned)s < sizeof(stage_str) / sizeof(stage_str[0])
		       ? stage_str[s]
		       : "?";
}

const char *policy_reason_str(enum policy_reason r)
{
	return (unsigned)r < sizeof(reason_str) / sizeof(reason_str[0])
		       ? reason_str[r]
		       : "?";
}

const char *policy_action_str(enum policy_action a)
{
	switch (a) {
	case POLICY_ACTION_ALLOW:
		return "allow";
	case POLICY_ACTION_DNAT:
		return "dnat";
	default:
		return "deny";
	}
}

/* ---- compile (control side) ---- */

struct cref {
	const struct policy_group *g;
	const struct policy_collection *c;
	uint32_t gid;
	uint32_t cid;
};

static int crefcmp(const void *x, const void *y)
{
	const struct cref *a = x, *b = y;
	if (a->g->priority != b->g->priority)
		return a->g->priority < b->g->priority ? -1 : 1;
	if (a->gid != b->gid) /* equal priorities: file order */
		return a->gid < b->gid ? -1 : 1;
	if (a->c->priority != b->c->priority)
		return a->c->priority < b->c->priority ? -1 : 1;
	return a->cid < b->cid ? -1 : a->cid > b->cid;
}

void policy_ruleset_free(struct policy_ruleset *rs)
{
	if (rs == NULL)
		return;
	if (rs->dyn != NULL)
		for (uint32_t i = 0; i < rs->n_dnat + rs->n_net; i++)
			free((void *)atomic_load(&rs->dyn[i]));
	free(rs->dyn);
	free(rs->rt);
	free(rs->info);
	free(rs->app_entry);
	free(rs->entry_app);
	free(rs->app);
	free(rs->dst_fqdns);
	free(rs->n_dst_fqdns);
	rules_cls_free(rs->net_cls);
	rules_cls_free(rs->app_cls);
	fqdn_matcher_free(rs->fm);
	rules_arena_free(rs->arena);
	free(rs);
}

static const char *dup(struct policy_ruleset *rs, const char *s)
{
	if (s == NULL)
		s = "?";
	return rules_arena_strndup(rs->arena, s, strlen(s));
}

int policy_compile(const struct policy *p, struct policy_ruleset **out,
		   struct policy_errors *errs)
{
	struct policy_ruleset *rs = calloc(1, sizeof(*rs));
	struct cref *cr = NULL;
	struct rules_cls_rule *cl = NULL;
	struct fqdn_pattern_in *pats = NULL;
	size_t n_coll = 0, n_pats = 0;
	int rc = -ENOMEM;

	*out = NULL;
	if (rs == NULL || (rs->arena = rules_arena_new()) == NULL)
		goto fail;
	for (size_t g = 0; g < p->n_groups; g++)
		n_coll += p->groups[g].n_colls;
	cr = calloc(n_coll + 1, sizeof(*cr));
	if (cr == NULL)
		goto fail;
	n_coll = 0;
	for (size_t g = 0; g < p->n_groups; g++)
		for (size_t c = 0; c < p->groups[g].n_colls; c++)
			cr[n_coll++] = (struct cref){&p->groups[g],
						     &p->groups[g].colls[c],
						     (uint32_t)g, (uint32_t)c};
	qsort(cr, n_coll, sizeof(*cr), crefcmp);

	/* group ids by priority order */
	uint32_t *gid_of = calloc(p->n_groups + 1, sizeof(uint32_t));
	if (gid_of == NULL)
		goto fail;
	{
		uint32_t next = 0;
		for (size_t i = 0; i < n_coll; i++)
			if (i == 0 || cr[i].g != cr[i - 1].g)
				gid_of[cr[i].gid] = next++;
	}

	size_t n = 0;
	for (size_t i = 0; i < n_coll; i++) {
		n += cr[i].c->n_rules;
		if (cr[i].c->kind == POLICY_KIND_DNAT)
			rs->n_dnat += (uint32_t)cr[i].c->n_rules;
		else if (cr[i].c->kind == POLICY_KIND_NETWORK)
			rs->n_net += (uint32_t)cr[i].c->n_rules;
		else
			rs->n_app += (uint32_t)cr[i].c->n_rules;
	}
	if (n > (1u << 24)) {
		free(gid_of);
		rules_err(errs, p->path, 0, 0, "too many rules (%zu)", n);
		rc = -E2BIG;
		goto fail;
	}
	rs->n_rules = (uint32_t)n;
	uint32_t n_nd = rs->n_dnat + rs->n_net;
	rs->rt = calloc(n + 1, sizeof(*rs->rt));
	rs->info = calloc(n + 1, sizeof(*rs->info));
	rs->dyn = calloc(n_nd + 1, sizeof(*rs->dyn));
	rs->dst_fqdns = calloc(n_nd + 1, sizeof(*rs->dst_fqdns));
	rs->n_dst_fqdns = calloc(n_nd + 1, sizeof(*rs->n_dst_fqdns));
	rs->app_entry = malloc((2 * (size_t)rs->n_app + 1) * sizeof(uint32_t));
	rs->entry_app = malloc((2 * (size_t)rs->n_app + 1) * sizeof(uint32_t));
	rs->app = aligned_alloc(64, ((size_t)rs->n_app + 1) * sizeof(*rs->app));
	if (rs->app != NULL)
		memset(rs->app, 0, ((size_t)rs->n_app + 1) * sizeof(*rs->app));
	cl = calloc(n_nd + 2 * (size_t)rs->n_app + 1, sizeof(*cl));
	if (rs->rt == NULL || rs->info == NULL || rs->dyn == NULL ||
	    rs->dst_fqdns == NULL || rs->n_dst_fqdns == NULL ||
	    rs->app_entry == NULL || rs->entry_app == NULL ||
	    rs->app == NULL || cl == NULL) {
		free(gid_of);
		goto fail;
	}
	for (uint32_t i = 0; i < n_nd; i++)
		atomic_init(&rs->dyn[i], NULL);

	size_t app_pat_total = 0;
	for (size_t i = 0; i < n_coll; i++)
		if (cr[i].c->kind == POLICY_KIND_APPLICATION)
			for (size_t r = 0; r < cr[i].c->n_rules; r++)
				app_pat_total += cr[i].c->rules[r].n_fqdns;
	pats = calloc(app_pat_total + 1, sizeof(*pats));
	if (pats == NULL) {
		free(gid_of);
		goto fail;
	}

	uint32_t id = 0, n_entries = 0;
	static const enum policy_kind order[] = {
		POLICY_KIND_DNAT, POLICY_KIND_NETWORK, POLICY_KIND_APPLICATION};
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < n_coll; i++) {
			const struct policy_collection *c = cr[i].c;
			if (c->kind != order[k])
				continue;
			const char *gname = dup(rs, cr[i].g->name);
			const char *cname = dup(rs, c->name);
			for (size_t r = 0; r < c->n_rules; r++, id++) {
				const struct policy_rule *pr = &c->rules[r];
				struct policy_rule_info *in = &rs->info[id];
				in->group = gname;
				in->collection = cname;
				in->rule = dup(rs, pr->name);
				if (gname == NULL || cname == NULL ||
				    in->rule == NULL) {
					free(gid_of);
					goto fail;
				}
				in->group_id = gid_of[cr[i].gid];
				in->collection_id = (uint32_t)i;
				in->group_priority = cr[i].g->priority;
				in->collection_priority = c->priority;
				in->kind = c->kind;
				in->action = c->action;
				in->pos = pr->pos;
				rs->rt[id].action = (uint8_t)c->action;
				rs->rt[id].xlat_addr = pr->xlat_addr;
				rs->rt[id].xlat_port = pr->xlat_port;
				if (c->kind != POLICY_KIND_APPLICATION) {
					struct rules_cls_rule *e = &cl[id];
					e->src = pr->src;
					e->n_src = pr->n_src;
					e->dst = pr->dst;
					e->n_dst = pr->n_dst;
					e->ports = pr->ports;
					e->n_ports = pr->n_ports;
					e->proto_mask = pr->protos;
					if (pr->n_dst_fqdns > 0) {
						rs->rt[id].dyn = 1;
						e->n_dst = 0; /* checked after */
						/* Copied: the model (and its
						 * arena) is freed after compile,
						 * the DNS proxy reads these for
						 * the rule set's whole life. */
						const char **fq = rules_arena_alloc(
							rs->arena, pr->n_dst_fqdns *
									   sizeof(char *));
						for (size_t f = 0; fq != NULL &&
								   f < pr->n_dst_fqdns;
						     f++)
							fq[f] = dup(rs, pr->dst_fqdns[f]);
						rs->dst_fqdns[id] = (const char **)fq;
						rs->n_dst_fqdns[id] =
							fq != NULL ? pr->n_dst_fqdns : 0;
					}
					continue;
				}
				uint32_t a = id - n_nd;
				rs->app[a].src = rules_arena_memdup(
					rs->arena, pr->src,
					pr->n_src * sizeof(*pr->src));
				rs->app[a].n_src = (uint32_t)pr->n_src;
				rs->app[a].protos = rules_arena_memdup(
					rs->arena, pr->app_protos,
					pr->n_app_protos * sizeof(*pr->app_protos));
				rs->app[a].n_protos = (uint32_t)pr->n_app_protos;
				if (pr->n_src > 0)
					rs->app[a].src1 = pr->src[0];
				for (size_t q = 0; q < pr->n_app_protos &&
						   q < APP_PROTOS_INLINE;
				     q++)
					rs->app[a].p[q] = pr->app_protos[q];
				if ((pr->n_src && rs->app[a].src == NULL) ||
				    (pr->n_app_protos &&
				     rs->app[a].protos == NULL)) {
					free(gid_of);
					goto fail;
				}
				for (size_t q = 0; q < pr->n_fqdns; q++)
					pats[n_pats++] = (struct fqdn_pattern_in){
						pr->fqdns[q], a};
				/* One classifier entry per scheme the rule
				 * names, so that http:80 + https:443 does
				 * not also match https:80. */
				for (uint32_t s = 0; s < 2; s++) {
					struct policy_range16 *ports =
						rules_arena_alloc(
							rs->arena,
							(pr->n_app_protos + 1) *
								sizeof(*ports));
					if (ports == NULL) {
						free(gid_of);
						goto fail;
					}
					size_t np = 0;
					for (size_t q = 0; q < pr->n_app_protos;
					     q++)
						if (pr->app_protos[q].scheme == s)
							ports[np++] = (struct policy_range16){
								pr->app_protos[q].port,
								pr->app_protos[q].port};
					rs->app_entry[2 * a + s] = CLS_NONE;
					if (np == 0)
						continue;
					struct rules_cls_rule *e =
						&cl[n_nd + n_entries];
					e->src = pr->src;
					e->n_src = pr->n_src;
					e->ports = ports;
					e->n_ports = rules_merge_ranges16(ports, np);
					e->proto_mask = (uint8_t)(1u << s);
					rs->app_entry[2 * a + s] = n_entries;
					rs->entry_app[n_entries++] = a;
				}
			}
		}
	}
	free(gid_of);

	/* Protocol classes of the network classifier: TCP, UDP, ICMP, other
	 * (bit k = POLICY_PROTO_* bit k); ICMP and other have no ports. */
	rc = rules_cls_build(cl, n_nd,
			     POLICY_PROTO_ICMP | POLICY_PROTO_OTHER,
			     &rs->net_cls);
	if (rc == 0)
		rc = rules_cls_build(cl + n_nd, n_entries, 0, &rs->app_cls);
	if (rc < 0) {
		rules_err(errs, p->path, 0, 0,
			  "cannot build the network classifier: %s",
			  strerror(-rc));
		goto fail;
	}
	rc = fqdn_matcher_build(pats, n_pats, &rs->fm, errs);
	if (rc < 0)
		goto fail;
	free(cr);
	free(cl);
	free(pats);
	*out = rs;
	return 0;
fail:
	if (rc == -ENOMEM)
		rules_err(errs, p->path, 0, 0, "out of memory while compiling");
	free(cr);
	free(cl);
	free(pats);
	policy_ruleset_free(rs);
	return rc;
}

uint32_t policy_ruleset_rule_count(const struct policy_ruleset *rs)
{
	return rs->n_rules;
}

const struct policy_rule_info *policy_rule_info(const struct policy_ruleset *rs,
						uint32_t rule_id)
{
	return rule_id < rs->n_rules ? &rs->info[rule_id] : NULL;
}

int policy_scratch_fit(const struct policy_ruleset *rs,
		       struct policy_scratch *s)
{
	return fqdn_scratch_fit(rs->fm, &s->hs);
}

int policy_scratch_alloc(const struct policy_ruleset *rs,
			 struct policy_scratch **out)
{
	struct policy_scratch *s = calloc(1, sizeof(*s));
	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	int rc = policy_scratch_fit(rs, s);
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void policy_scratch_free(struct policy_scratch *s)
{
	if (s == NULL)
		return;
	fqdn_scratch_free(s->hs);
	free(s);
}

/* ---- dynamic destination sets ---- */

const struct policy_dynset *policy_dynset_publish(struct policy_ruleset *rs,
						  uint32_t rule_id,
						  const struct policy_dynset *set,
						  int *err)
{
	*err = 0;
	if (rule_id >= rs->n_dnat + rs->n_net || !rs->rt[rule_id].dyn) {
		*err = -EINVAL;
		return NULL;
	}
	/* release: the set's contents are visible before its pointer */
	return atomic_exchange_explicit(&rs->dyn[rule_id], set,
					memory_order_acq_rel);
}

size_t policy_rule_dst_fqdns(const struct policy_ruleset *rs, uint32_t rule_id,
			     const char *const **fqdns)
{
	if (rule_id >= rs->n_dnat + rs->n_net) {
		*fqdns = NULL;
		return 0;
	}
	*fqdns = rs->dst_fqdns[rule_id];
	return rs->n_dst_fqdns[rule_id];
}

static bool dyn_contains(const struct policy_ruleset *rs, uint32_t r,
			 uint32_t addr)
{
	const struct policy_dynset *s =
		atomic_load_explicit(&rs->dyn[r], memory_order_acquire);
	if (s == NULL)
		return false;
	size_t lo = 0, hi = s->n;
	while (lo < hi) { /* log2(n) steps */
		size_t mid = lo + (hi - lo) / 2;
		if (s->addrs[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->addrs[lo] == addr;
}

/* ---- matching (data plane) ---- */

static inline uint8_t proto_class(uint8_t ipproto)
{
	switch (ipproto) {
	case IPPROTO_TCP:
		return 0;
	case IPPROTO_UDP:
		return 1;
	case IPPROTO_ICMP:
		return 2;
	default:
		return 3;
	}
}

static void verdict_rule(const struct policy_ruleset *rs, uint32_t r,
			 struct policy_verdict *v)
{
	const struct rule_rt *rt = &rs->rt[r];
	v->action = rt->action;
	v->stage = r < rs->n_dnat		 ? POLICY_STAGE_DNAT
		   : r < rs->n_dnat + rs->n_net ? POLICY_STAGE_NETWORK
						: POLICY_STAGE_APPLICATION;
	v->reason = POLICY_REASON_RULE;
	v->rule_id = r;
	v->xlat_addr = rt->action == POLICY_ACTION_DNAT ? rt->xlat_addr : 0;
	v->xlat_port = rt->action == POLICY_ACTION_DNAT ? rt->xlat_port : 0;
}

static void verdict_none(struct policy_verdict *v, enum policy_stage st,
			 enum policy_reason why)
{
	v->action = POLICY_ACTION_DENY;
	v->stage = (uint8_t)st;
	v->reason = (uint8_t)why;
	v->rule_id = POLICY_RULE_NONE;
	v->xlat_addr = 0;
	v->xlat_port = 0;
}

bool policy_match_network(const struct policy_ruleset *rs,
			  const struct policy_flow *f, struct policy_verdict *v)
{
	struct rules_cls_key k = {.src = f->src,
				  .dst = f->dst,
				  .port = f->dport,
				  .proto = proto_class(f->ipproto)};
	struct rules_cls_sets s;
	rules_cls_lookup_sets(rs->net_cls, &k, &s);
	uint32_t r = rules_cls_next(rs->net_cls, &s, 0);
	/* Rules with destination_fqdns match on everything but the
	 * destination; check it against their current resolved set. Each
	 * round moves past one rule: bounded by the rule count. */
	while (r != CLS_NONE && rs->rt[r].dyn && !dyn_contains(rs, r, f->dst))
		r = rules_cls_next(rs->net_cls, &s, r + 1);
	if (r == CLS_NONE) {
		verdict_none(v, POLICY_STAGE_NONE, POLICY_REASON_NO_NETWORK_RULE);
		return false;
	}
	verdict_rule(rs, r, v);
	return true;
}

unsigned policy_match_network_bulk(const struct policy_ruleset *rs,
				   const struct policy_flow *f, unsigned n,
				   struct policy_verdict *v)
{
	struct rules_cls_key k[RULES_CLS_BULK_MAX];
	struct rules_cls_sets s[RULES_CLS_BULK_MAX];
	unsigned matched = 0;
	for (unsigned base = 0; base < n; base += RULES_CLS_BULK_MAX) {
		unsigned m = n - base < RULES_CLS_BULK_MAX ? n - base
							   : RULES_CLS_BULK_MAX;
		for (unsigned i = 0; i < m; i++)
			k[i] = (struct rules_cls_key){
				.src = f[base + i].src,
				.dst = f[base + i].dst,
				.port = f[base + i].dport,
				.proto = proto_class(f[base + i].ipproto)};
		rules_cls_lookup_sets_bulk(rs->net_cls, k, m, s);
		for (unsigned i = 0; i < m; i++) {
			uint32_t r = rules_cls_next(rs->net_cls, &s[i], 0);
			while (r != CLS_NONE && rs->rt[r].dyn &&
			       !dyn_contains(rs, r, f[base + i].dst))
				r = rules_cls_next(rs->net_cls, &s[i], r + 1);
			if (r == CLS_NONE) {
				verdict_none(&v[base + i], POLICY_STAGE_NONE,
					     POLICY_REASON_NO_NETWORK_RULE);
			} else {
				verdict_rule(rs, r, &v[base + i]);
				matched++;
			}
		}
	}
	return matched;
}

static bool app_candidate_one(const struct policy_ruleset *rs,
			      const struct policy_flow *f, uint8_t scheme)
{
	struct rules_cls_key k = {.src = f->src, .port = f->dport, .proto = scheme};
	struct rules_cls_sets s;
	rules_cls_lookup_sets(rs->app_cls, &k, &s);
	uint32_t e = rules_cls_next(rs->app_cls, &s, 0);
	/* Skip deny rules; bounded by the number of entries. */
	uint32_t base = rs->n_dnat + rs->n_net;
	while (e != CLS_NONE &&
	       rs->rt[base + rs->entry_app[e]].action != POLICY_ACTION_ALLOW)
		e = rules_cls_next(rs->app_cls, &s, e + 1);
	return e != CLS_NONE;
}

bool policy_app_candidate(const struct policy_ruleset *rs,
			  const struct policy_flow *f, unsigned scheme_mask)
{
	if (f->ipproto != IPPROTO_TCP)
		return false;
	if ((scheme_mask & POLICY_SCHEME_MASK_HTTPS) &&
	    app_candidate_one(rs, f, POLICY_SCHEME_HTTPS))
		return true;
	return (scheme_mask & POLICY_SCHEME_MASK_HTTP) &&
	       app_candidate_one(rs, f, POLICY_SCHEME_HTTP);
}

struct app_ctx {
	const struct policy_ruleset *rs;
	uint32_t src;
	uint16_t port;
	uint8_t scheme;
};

/* Bounded by the rule's protocol list (loader: at most one entry per
 * YAML item) and log2 of its source ranges. */
static bool app_rule_ok(void *ctx, uint32_t a)
{
	const struct app_ctx *c = ctx;
	const struct app_rt *r = &c->rs->app[a];
	const struct policy_app_proto *p =
		r->n_protos <= APP_PROTOS_INLINE ? r->p : r->protos;
	bool proto = false;
	for (uint32_t i = 0; i < r->n_protos; i++)
		if (p[i].scheme == c->scheme && p[i].port == c->port)
			proto = true;
	if (!proto)
		return false;
	if (r->n_src == 1)
		return r->src1.lo <= c->src && c->src <= r->src1.hi;
	uint32_t lo = 0, hi = r->n_src;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->src[mid].hi < c->src)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n_src && r->src[lo].lo <= c->src;
}

bool policy_match_app(const struct policy_ruleset *rs, struct policy_scratch *s,
		      const struct policy_flow *f, enum policy_scheme scheme,
		      const char *name, size_t len, struct policy_verdict *v)
{
	struct app_ctx c = {.rs = rs, .src = f->src, .port = f->dport,
			    .scheme = (uint8_t)(scheme & 1)};
	uint32_t a = fqdn_match(rs->fm, s ? s->hs : NULL, name, len,
				app_rule_ok, &c);
	if (a == FQDN_BAD_NAME) {
		verdict_none(v, POLICY_STAGE_DEFAULT, POLICY_REASON_APP_BAD_NAME);
		return false;
	}
	if (a == FQDN_NO_MATCH) {
		verdict_none(v, POLICY_STAGE_DEFAULT, POLICY_REASON_APP_NO_MATCH);
		return false;
	}
	verdict_rule(rs, rs->n_dnat + rs->n_net + a, v);
	return true;
}

void policy_evaluate(const struct policy_ruleset *rs, struct policy_scratch *s,
		     const struct policy_flow *f, enum policy_scheme scheme,
		     const char *name, size_t len, struct policy_verdict *v)
{
	if (policy_match_network(rs, f, v))
		return;
	if (f->ipproto != IPPROTO_TCP) {
		verdict_none(v, POLICY_STAGE_DEFAULT, POLICY_REASON_NO_RULE);
		return;
	}
	if (name == NULL) {
		if (policy_app_candidate(rs, f, 1u << scheme))
			verdict_none(v, POLICY_STAGE_DEFAULT,
				     POLICY_REASON_APP_NEEDS_FQDN);
		else
			verdict_none(v, POLICY_STAGE_DEFAULT,
				     POLICY_REASON_NO_RULE);
		return;
	}
	policy_match_app(rs, s, f, scheme, name, len, v);
}
