/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading, compiling and publishing the policy. Everything here runs on the
 * control thread and may allocate and fail; the workers only ever see a
 * complete, immutable struct dp_policy through one pointer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_rcu_qsbr.h>

#include "control/control.h"
#include "rules/policy.h"

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

static void
dp_policy_free(struct dp_policy *p, unsigned n_workers)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < n_workers; i++)
		policy_scratch_free(p->scratch[i]);
	policy_ruleset_free(p->rs);
	free(p);
}

/* Free retired policies whose grace period has passed. Never waits. */
void
ctl_policy_reclaim(struct ctl *c, bool all)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < c->n_retired; i++) {
		if (all || rte_rcu_qsbr_check(c->dp.qsbr, c->retired[i].token, false) == 1)
			dp_policy_free(c->retired[i].policy, c->dp.n_workers);
		else
			c->retired[keep++] = c->retired[i];
	}
	c->n_retired = keep;
}

int
ctl_policy_publish(struct ctl *c, struct policy_ruleset *rs, char *err, size_t errlen)
{
	struct dp_policy *old = c->dp.policy;
	struct dp_policy *p;
	int ret;

	if (c->n_retired == CTL_MAX_RETIRED)
		ctl_policy_reclaim(c, false);
	if (c->n_retired == CTL_MAX_RETIRED) {
		snprintf(err, errlen, "too many policy updates waiting for the workers to move on; "
				      "try again in a moment");
		return -EBUSY;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		ret = policy_scratch_alloc(rs, &p->scratch[i]);
		if (ret != 0) {
			snprintf(err, errlen, "cannot allocate matching scratch: %s", strerror(-ret));
			p->rs = NULL;
			dp_policy_free(p, c->dp.n_workers);
			return ret;
		}
	}
	p->rs = rs;
	p->generation = old != NULL ? old->generation + 1 : 1;
	/* Pairs with the workers' acquire load at the top of each poll. */
	__atomic_store_n(&c->dp.policy, p, __ATOMIC_RELEASE);
	if (old != NULL) {
		c->retired[c->n_retired].policy = old;
		c->retired[c->n_retired].token = rte_rcu_qsbr_start(c->dp.qsbr);
		c->n_retired++;
	}
	return 0;
}

int
ctl_policy_compile(const char *path, const char *buf, size_t len, struct policy_ruleset **out,
		   char *err, size_t errlen)
{
	struct policy_errors e = { 0 };
	struct policy *pol = NULL;
	int ret;

	*out = NULL;
	ret = buf != NULL ? policy_load_buf(path, buf, len, NULL, &pol, &e)
			  : policy_load(path, NULL, &pol, &e);
	if (ret == 0)
		ret = policy_compile(pol, out, &e);
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
ctl_policy_load(struct ctl *c, const char *path, const char *buf, size_t len, char *err,
		size_t errlen)
{
	struct policy_ruleset *rs;
	int ret = ctl_policy_compile(path, buf, len, &rs, err, errlen);

	if (ret != 0)
		return ret;
	ret = ctl_policy_publish(c, rs, err, errlen);
	if (ret != 0)
		policy_ruleset_free(rs);
	return ret;
}

void
ctl_policy_teardown(struct ctl *c)
{
	ctl_policy_reclaim(c, true);
	dp_policy_free(c->dp.policy, c->dp.n_workers);
	c->dp.policy = NULL;
}
