/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters, sessions, SNAT and rule hits through DPDK telemetry, so that
 * dpdk-telemetry.py and other DPDK tools read them:
 *
 *   /tollgate/stats     every named counter, summed over the threads
 *   /tollgate/sessions  sessions held and capacity, per worker
 *   /tollgate/snat      SNAT allocations held, per frontend IP
 *   /tollgate/rules     hits of the running policy's rules (first 255),
 *                       keyed "group/collection/rule"
 *
 * Keys are the names tollctl prints with every character outside
 * [A-Za-z0-9_/] replaced by '_' (what telemetry accepts).
 *
 * The callbacks run on DPDK's telemetry thread, concurrently with the
 * workers and the control thread, so they read only what may be read from
 * any thread: counters written as whole 64-bit words by their one owner
 * (a moment old), the configuration (fixed), and the running policy under
 * ctl_policy_read_lock(), which the control thread takes before it frees a
 * policy. They never walk a session or port table.
 */
#include <ctype.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <rte_telemetry.h>

#include "control/control.h"
#include "control/policy_ctl.h"
#include "control/telemetry.h"
#include "dataplane/ct.h"
#include "dataplane/snat.h"
#include "rules/policy.h"

/* The callbacks have no context argument; one appliance per process. */
static struct ctl *tel_ctl;

/* Telemetry accepts dictionary keys of [A-Za-z0-9_/] only: every other
 * character becomes '_' ("sessions.created" -> "sessions_created",
 * "192.0.2.10" -> "192_0_2_10"). */
static void
tel_key(char *out, size_t len, const char *in)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len; i++) {
		char ch = in[i];

		out[i] = (isalnum((unsigned char)ch) || ch == '_' || ch == '/') ? ch : '_';
	}
	out[i] = '\0';
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	char key[RTE_TEL_MAX_STRING_LEN];
	struct dp_stats s;

	(void)cmd;
	(void)params;
	ctl_stats_sum(tel_ctl, &s);
	rte_tel_data_start_dict(d);
	for (unsigned k = 0; k < DP_COUNTER_MAX && k < RTE_TEL_MAX_DICT_ENTRIES; k++) {
		tel_key(key, sizeof(key), dp_counter_name(k));
		rte_tel_data_add_dict_u64(d, key, s.c[k]);
	}
	return 0;
}

static int
tel_sessions(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ctl *c = tel_ctl;
	uint64_t total = 0, cap = 0;
	char key[32];

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		unsigned n = ct_in_use(c->dp.workers[i]->ct);

		snprintf(key, sizeof(key), "worker%u", i);
		rte_tel_data_add_dict_u64(d, key, n);
		total += n;
		cap += ct_capacity(c->dp.workers[i]->ct);
	}
	rte_tel_data_add_dict_u64(d, "total", total);
	rte_tel_data_add_dict_u64(d, "capacity", cap);
	return 0;
}

static int
tel_snat(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ctl *c = tel_ctl;
	const struct config *cfg = c->cfg;
	unsigned n_ips = cfg->n_frontend_ips ? cfg->n_frontend_ips : 1;
	const uint32_t *ips = cfg->n_frontend_ips ? cfg->frontend_ips
						  : &cfg->ifaces[CONFIG_ROLE_OUTSIDE].addr;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (unsigned f = 0; f < n_ips && f < RTE_TEL_MAX_DICT_ENTRIES; f++) {
		struct in_addr a = { .s_addr = htonl(ips[f]) };
		char ip[INET_ADDRSTRLEN], key[INET_ADDRSTRLEN];
		uint64_t used = 0;

		for (unsigned i = 0; i < c->dp.n_workers; i++)
			if (c->dp.workers[i]->snat_out != NULL)
				used += snat_ip_in_use(c->dp.workers[i]->snat_out, f);
		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		tel_key(key, sizeof(key), ip);
		rte_tel_data_add_dict_u64(d, key, used);
	}
	return 0;
}

static int
tel_rules(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ctl *c = tel_ctl;
	const struct dp_policy *p;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	ctl_policy_read_lock();
	p = __atomic_load_n(&c->dp.policy, __ATOMIC_ACQUIRE);
	if (p != NULL) {
		uint32_t n = policy_ruleset_rule_count(p->rs);

		rte_tel_data_add_dict_u64(d, "generation", p->generation);
		for (uint32_t id = 0; id < n && id + 1 < RTE_TEL_MAX_DICT_ENTRIES; id++) {
			const struct policy_rule_info *ri = policy_rule_info(p->rs, id);
			char name[RTE_TEL_MAX_STRING_LEN], key[RTE_TEL_MAX_STRING_LEN];

			snprintf(name, sizeof(name), "%s/%s/%s", ri->group, ri->collection, ri->rule);
			tel_key(key, sizeof(key), name);
			rte_tel_data_add_dict_u64(d, key, ctl_policy_hits(c, p, id));
		}
	}
	ctl_policy_read_unlock();
	return 0;
}

int
ctl_telemetry_register(struct ctl *c)
{
	int ret = 0;

	tel_ctl = c;
	/* -EINVAL when telemetry is off (--no-telemetry) is not an error. */
	ret |= rte_telemetry_register_cmd("/tollgate/stats", tel_stats,
					  "Every Tollgate counter, summed. No parameters.");
	ret |= rte_telemetry_register_cmd("/tollgate/sessions", tel_sessions,
					  "Sessions held per worker, total and capacity. No parameters.");
	ret |= rte_telemetry_register_cmd("/tollgate/snat", tel_snat,
					  "SNAT allocations held per frontend IP. No parameters.");
	ret |= rte_telemetry_register_cmd("/tollgate/rules", tel_rules,
					  "Hits per rule of the running policy. No parameters.");
	return ret;
}
