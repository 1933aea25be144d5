/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the control thread knows about each published policy beyond what the
 * workers read: a digest of every rule (its names and its content), the hits
 * carried over from earlier generations, and the diff an `apply` reports.
 * Control thread only (the telemetry thread reads hit counters, see
 * control/telemetry.c).
 */
#ifndef TG_CONTROL_POLICY_CTL_H
#define TG_CONTROL_POLICY_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/control.h"

struct ctl_policy_digest;

/* ctl_policy_compile() that also digests every rule by (group, collection,
 * rule) names and content, for diffs and hit carry-over. */
int ctl_policy_compile_digest(const char *path, const char *buf, size_t len,
			      struct policy_ruleset **rs, struct ctl_policy_digest **dg, char *err,
			      size_t errlen);
void ctl_policy_digest_free(struct ctl_policy_digest *dg);

/* What changed between the running policy and the one being published:
 * rule ids of the new set (added, changed) and of the old set (removed). */
struct ctl_policy_diff {
	uint32_t *added, *changed, *removed;
	uint32_t n_added, n_changed, n_removed, n_unchanged;
};
void ctl_policy_diff_free(struct ctl_policy_diff *d);

/* ctl_policy_publish() with the digest (ownership of `rs` and `dg` passes on
 * success). Fills `diff` when not NULL (rule ids against the old and the new
 * set; names through policy_rule_info() while both are alive). Hits of rules
 * whose names and content are unchanged carry over. */
int ctl_policy_publish_digest(struct ctl *c, struct policy_ruleset *rs,
			      struct ctl_policy_digest *dg, struct ctl_policy_diff *diff,
			      char *err, size_t errlen);

/* The running or a retired (not yet freed) policy of `generation`, or NULL. */
const struct dp_policy *ctl_policy_find(const struct ctl *c, uint32_t generation);

/* Flows rule `rule_id` decided, over every worker and every earlier
 * generation in which it was unchanged. */
uint64_t ctl_policy_hits(const struct ctl *c, const struct dp_policy *p, uint32_t rule_id);

/* Held by the control thread while it frees a policy, by other threads
 * (telemetry) while they read the running one. */
void ctl_policy_read_lock(void);
void ctl_policy_read_unlock(void);

#endif
