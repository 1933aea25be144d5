/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading, compiling and publishing the policy. Everything here runs on the
 * control thread and may allocate and fail; the workers only ever see a
 * complete, immutable struct dp_policy through one pointer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_rcu_qsbr.h>

#include "control/control.h"
#include "control/dlog_writer.h"
#include "control/dnsproxy.h"
#include "control/policy_ctl.h"
#include "rules/policy.h"

/*
 * A rule's identity is its (group, collection, rule) names; its content is
 * everything that decides what it matches and does (addresses, ports,
 * protocols, FQDNs, translation, and the priorities and action of its
 * collection and group). Both are 64-bit FNV-1a hashes: a diff that
 * mistakes one rule for another needs a 64-bit collision.
 */
struct ctl_policy_digest {
	uint32_t n;
	uint64_t *name;     /* by rule id */
	uint64_t *content;  /* by rule id */
};

/* The published policy as the control thread keeps it: the workers see
 * `dp` only. */
struct ctl_policy {
	struct dp_policy dp;
	struct ctl_policy_digest *dg;  /* NULL: published without one */
	uint64_t *base_hits;           /* hits from earlier generations, by rule id */
};

static struct ctl_policy *
ctl_of(const struct dp_policy *p)
{
	return container_of(p, struct ctl_policy, dp);
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t
fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

static uint64_t
fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", (s ? strlen(s) : 0) + 1); /* the NUL separates */
}

static uint64_t
name_hash(const char *group, const char *coll, const char *rule)
{
	return fnv_str(fnv_str(fnv_str(FNV_OFFSET, group), coll), rule);
}

static uint64_t
content_hash(const struct policy_group *g, const struct policy_collection *col,
	     const struct policy_rule *r)
{
	uint64_t h = FNV_OFFSET;
	uint32_t fixed[6] = { g->priority, col->priority, col->kind, col->action, r->protos,
			      r->xlat_addr };

	h = fnv(h, fixed, sizeof(fixed));
	h = fnv(h, &r->xlat_port, sizeof(r->xlat_port));
	h = fnv(h, r->src, r->n_src * sizeof(*r->src));
	h = fnv(h, &r->n_src, sizeof(r->n_src));
	h = fnv(h, r->dst, r->n_dst * sizeof(*r->dst));
	h = fnv(h, &r->n_dst, sizeof(r->n_dst));
	h = fnv(h, r->ports, r->n_ports * sizeof(*r->ports));
	h = fnv(h, &r->n_ports, sizeof(r->n_ports));
	for (size_t i = 0; i < r->n_app_protos; i++) {
		h = fnv(h, &r->app_protos[i].scheme, sizeof(r->app_protos[i].scheme));
		h = fnv(h, &r->app_protos[i].port, sizeof(r->app_protos[i].port));
	}
	for (size_t i = 0; i < r->n_dst_fqdns; i++)
		h = fnv_str(h, r->dst_fqdns[i]);
	h = fnv(h, "|", 1);
	for (size_t i = 0; i < r->n_fqdns; i++)
		h = fnv_str(h, r->fqdns[i]);
	return h;
}

/*
 * An open-addressing map from a name hash to a value, sized at twice the
 * entries (a power of two), so every probe walk ends at an empty slot.
 * Name hash 0 is taken as 1: 0 marks an empty slot.
 */
struct nmap {
	uint64_t *key;
	uint64_t *val;
	uint32_t mask;
};

static int
nmap_init(struct nmap *m, uint32_t n)
{
	uint32_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	m->mask = cap - 1;
	m->key = calloc(cap, sizeof(*m->key));
	m->val = calloc(cap, sizeof(*m->val));
	return m->key && m->val ? 0 : -ENOMEM;
}

static void
nmap_fini(struct nmap *m)
{
	free(m->key);
	free(m->val);
}

static uint64_t *
nmap_slot(struct nmap *m, uint64_t k, bool add)
{
	uint32_t i;

	k = k ? k : 1;
	for (i = (uint32_t)(k ^ (k >> 32)) & m->mask; m->key[i] != 0; i = (i + 1) & m->mask)
		if (m->key[i] == k)
			return &m->val[i];
	if (!add)
		return NULL;
	m->key[i] = k;
	return &m->val[i];
}

void
ctl_policy_digest_free(struct ctl_policy_digest *dg)
{
	if (dg == NULL)
		return;
	free(dg->name);
	free(dg->content);
	free(dg);
}

/* Digest every rule of `pol` by the rule ids of `rs`. */
static int
digest(const struct policy *pol, const struct policy_ruleset *rs, struct ctl_policy_digest **out)
{
	uint32_t n = policy_ruleset_rule_count(rs);
	struct ctl_policy_digest *dg = calloc(1, sizeof(*dg));
	struct nmap m = { 0 };
	int ret = -ENOMEM;

	if (dg == NULL || nmap_init(&m, n) != 0)
		goto out;
	dg->n = n;
	dg->name = calloc(n ? n : 1, sizeof(*dg->name));
	dg->content = calloc(n ? n : 1, sizeof(*dg->content));
	if (dg->name == NULL || dg->content == NULL)
		goto out;
	for (size_t g = 0; g < pol->n_groups; g++) {
		const struct policy_group *gr = &pol->groups[g];

		for (size_t k = 0; k < gr->n_colls; k++) {
			const struct policy_collection *col = &gr->colls[k];

			for (size_t r = 0; r < col->n_rules; r++)
				*nmap_slot(&m, name_hash(gr->name, col->name, col->rules[r].name),
					   true) = content_hash(gr, col, &col->rules[r]);
		}
	}
	for (uint32_t id = 0; id < n; id++) {
		const struct policy_rule_info *ri = policy_rule_info(rs, id);
		const uint64_t *v;

		dg->name[id] = name_hash(ri->group, ri->collection, ri->rule);
		v = nmap_slot(&m, dg->name[id], false);
		dg->content[id] = v ? *v : 0;
	}
	*out = dg;
	dg = NULL;
	ret = 0;
out:
	nmap_fini(&m);
	ctl_policy_digest_free(dg);
	return ret;
}

static void
errors_to_text(const struct policy_errors *e, char *err, size_t errlen)
{
	size_t used = 0;

	err[0] = '\0';
	for (size_t i = 0; i < e->count && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s%s", i ? "\n" : "",
					 e->msgs[i]);
	if (e->dropped && used < errlen)
		snprintf(err + used, errlen - used, "\n(%zu more errors)", e->dropped);
}

/* See ctl_policy_read_lock(): the control thread waits for a telemetry
 * callback at most, never for a worker. */
static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;

void
ctl_policy_read_lock(void)
{
	pthread_mutex_lock(&free_lock);
}

void
ctl_policy_read_unlock(void)
{
	pthread_mutex_unlock(&free_lock);
}

static void
dp_policy_free(struct dp_policy *p, unsigned n_workers)
{
	struct ctl_policy *cp;

	if (p == NULL)
		return;
	cp = ctl_of(p);
	/* A reader that loaded `p` before it was replaced finishes first;
	 * one that comes after the lock loads the newer policy. */
	pthread_mutex_lock(&free_lock);
	pthread_mutex_unlock(&free_lock);
	for (unsigned i = 0; i < n_workers; i++) {
		policy_scratch_free(p->scratch[i]);
		free(p->hits[i]);
	}
	policy_ruleset_free(p->rs);
	ctl_policy_digest_free(cp->dg);
	free(cp->base_hits);
	free(cp);
}

const struct dp_policy *
ctl_policy_find(const struct ctl *c, uint32_t generation)
{
	if (c->dp.policy != NULL && c->dp.policy->generation == generation)
		return c->dp.policy;
	for (unsigned i = 0; i < c->n_retired; i++)
		if (c->retired[i].policy->generation == generation)
			return c->retired[i].policy;
	return NULL;
}

uint64_t
ctl_policy_hits(const struct ctl *c, const struct dp_policy *p, uint32_t rule_id)
{
	const struct ctl_policy *cp = ctl_of(p);
	uint64_t sum = cp->base_hits ? cp->base_hits[rule_id] : 0;

	/* Each word is written by its worker alone (relaxed: a moment old). */
	for (unsigned i = 0; i < c->dp.n_workers; i++)
		if (p->hits[i] != NULL)
			sum += __atomic_load_n(&p->hits[i][rule_id], __ATOMIC_RELAXED);
	return sum;
}

void
ctl_policy_diff_free(struct ctl_policy_diff *d)
{
	free(d->added);
	free(d->changed);
	free(d->removed);
	memset(d, 0, sizeof(*d));
}

/*
 * Compare the new digest with the running policy's, rule by rule, by name.
 * Unchanged rules take over the old rule's hits (flows decided by the old
 * set between this moment and the workers' next poll are not carried: a
 * few microseconds' worth). `diff` may be NULL.
 */
static int
compare(const struct ctl *c, struct ctl_policy *np, struct ctl_policy_diff *diff)
{
	const struct dp_policy *old = c->dp.policy;
	const struct ctl_policy_digest *od = old ? ctl_of(old)->dg : NULL;
	const struct ctl_policy_digest *nd = np->dg;
	uint32_t n_old = old ? policy_ruleset_rule_count(old->rs) : 0;
	uint32_t n_new = policy_ruleset_rule_count(np->dp.rs);
	uint8_t *seen = NULL;
	struct nmap m = { 0 };
	int ret = -ENOMEM;

	if (diff != NULL) {
		memset(diff, 0, sizeof(*diff));
		diff->added = calloc(n_new + 1, sizeof(uint32_t));
		diff->changed = calloc(n_new + 1, sizeof(uint32_t));
		diff->removed = calloc(n_old + 1, sizeof(uint32_t));
		if (!diff->added || !diff->changed || !diff->removed)
			goto out;
	}
	seen = calloc(n_old + 1, 1);
	if (seen == NULL || nmap_init(&m, n_old) != 0)
		goto out;
	/* Old rules by name (value: id + 1). Without a digest (no earlier
	 * policy) every new rule is added. */
	for (uint32_t id = 0; od != NULL && id < n_old; id++)
		*nmap_slot(&m, od->name[id], true) = id + 1;
	for (uint32_t id = 0; id < n_new; id++) {
		const uint64_t *v = nd ? nmap_slot(&m, nd->name[id], false) : NULL;
		uint32_t oid;

		if (v == NULL) {
			if (diff)
				diff->added[diff->n_added++] = id;
			continue;
		}
		oid = (uint32_t)*v - 1;
		seen[oid] = 1;
		if (od->content[oid] != nd->content[id]) {
			if (diff)
				diff->changed[diff->n_changed++] = id;
			continue;
		}
		if (diff)
			diff->n_unchanged++;
		np->base_hits[id] = ctl_policy_hits(c, old, oid);
	}
	for (uint32_t id = 0; diff != NULL && id < n_old; id++)
		if (!seen[id])
			diff->removed[diff->n_removed++] = id;
	ret = 0;
out:
	if (ret != 0 && diff != NULL)
		ctl_policy_diff_free(diff);
	free(seen);
	nmap_fini(&m);
	return ret;
}

/* Free retired policies whose grace period has passed. Never waits. */
void
ctl_policy_reclaim(struct ctl *c, bool all)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < c->n_retired; i++) {
		if (all || rte_rcu_qsbr_check(c->dp.qsbr, c->retired[i].token, false) == 1) {
			/* Records the workers logged under it are in the rings
			 * by now (they report quiescent after logging): write
			 * them while their rule names can still be resolved. */
			dlog_writer_drain(c, UINT32_MAX);
			dp_policy_free(c->retired[i].policy, c->dp.n_workers);
		} else {
			c->retired[keep++] = c->retired[i];
		}
	}
	c->n_retired = keep;
}

int
ctl_policy_publish_digest(struct ctl *c, struct policy_ruleset *rs,
			  struct ctl_policy_digest *dg, struct ctl_policy_diff *diff, char *err,
			  size_t errlen)
{
	struct dp_policy *old = c->dp.policy;
	uint32_t n_rules = policy_ruleset_rule_count(rs);
	struct ctl_policy *cp;
	struct dp_policy *p;
	int ret;

	if (c->n_retired == CTL_MAX_RETIRED)
		ctl_policy_reclaim(c, false);
	if (c->n_retired == CTL_MAX_RETIRED) {
		snprintf(err, errlen, "too many policy updates waiting for the workers to move on; "
				      "try again in a moment");
		return -EBUSY;
	}
	cp = calloc(1, sizeof(*cp));
	if (cp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p = &cp->dp;
	cp->base_hits = calloc(n_rules + 1, sizeof(uint64_t));
	ret = cp->base_hits ? 0 : -ENOMEM;
	/* One hit array per worker, so no two workers write one line. */
	for (unsigned i = 0; i < c->dp.n_workers && ret == 0; i++) {
		p->hits[i] = calloc(n_rules + 1, sizeof(uint64_t));
		if (p->hits[i] == NULL)
			ret = -ENOMEM;
		else
			ret = policy_scratch_alloc(rs, &p->scratch[i]);
	}
	if (ret == 0) {
		p->rs = rs;
		cp->dg = dg;
		ret = compare(c, cp, diff);
	}
	if (ret != 0) {
		snprintf(err, errlen, "cannot publish the policy: %s", strerror(-ret));
		p->rs = NULL;
		cp->dg = NULL;
		dp_policy_free(p, c->dp.n_workers);
		return ret;
	}
	p->generation = old != NULL ? old->generation + 1 : 1;
	/* Pairs with the workers' acquire load at the top of each poll. */
	__atomic_store_n(&c->dp.policy, p, __ATOMIC_RELEASE);
	dnsproxy_policy_changed(c, rs); /* FQDN rules get the addresses known */
	if (old != NULL) {
		c->retired[c->n_retired].policy = old;
		c->retired[c->n_retired].token = rte_rcu_qsbr_start(c->dp.qsbr);
		c->n_retired++;
	}
	return 0;
}

int
ctl_policy_publish(struct ctl *c, struct policy_ruleset *rs, char *err, size_t errlen)
{
	return ctl_policy_publish_digest(c, rs, NULL, NULL, err, errlen);
}

int
ctl_policy_compile_digest(const char *path, const char *buf, size_t len,
			  struct policy_ruleset **out, struct ctl_policy_digest **dg, char *err,
			  size_t errlen)
{
	struct policy_errors e = { 0 };
	struct policy *pol = NULL;
	int ret;

	*out = NULL;
	if (dg != NULL)
		*dg = NULL;
	ret = buf != NULL ? policy_load_buf(path, buf, len, NULL, &pol, &e)
			  : policy_load(path, NULL, &pol, &e);
	if (ret == 0)
		ret = policy_compile(pol, out, &e);
	if (ret == 0 && dg != NULL) {
		ret = digest(pol, *out, dg);
		if (ret != 0) {
			policy_ruleset_free(*out);
			*out = NULL;
		}
	}
	if (ret != 0) {
		errors_to_text(&e, err, errlen);
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	}
	policy_errors_free(&e);
	policy_free(pol);
	return ret;
}

int
ctl_policy_compile(const char *path, const char *buf, size_t len, struct policy_ruleset **out,
		   char *err, size_t errlen)
{
	return ctl_policy_compile_digest(path, buf, len, out, NULL, err, errlen);
}

int
ctl_policy_load(struct ctl *c, const char *path, const char *buf, size_t len, char *err,
		size_t errlen)
{
	struct ctl_policy_digest *dg;
	struct policy_ruleset *rs;
	int ret = ctl_policy_compile_digest(path, buf, len, &rs, &dg, err, errlen);

	if (ret != 0)
		return ret;
	ret = ctl_policy_publish_digest(c, rs, dg, NULL, err, errlen);
	if (ret != 0) {
		policy_ruleset_free(rs);
		ctl_policy_digest_free(dg);
	}
	return ret;
}

void
ctl_policy_teardown(struct ctl *c)
{
	struct dp_policy *p = c->dp.policy;

	ctl_policy_reclaim(c, true);
	__atomic_store_n(&c->dp.policy, NULL, __ATOMIC_RELEASE); /* before the free: telemetry */
	dp_policy_free(p, c->dp.n_workers);
}
