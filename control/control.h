/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread: builds the data plane from the configuration, serves
 * the slow path (ARP, ICMP to our addresses, neighbour resolution) and
 * gathers counters. Only control/ knows both the config and the data plane.
 */
#ifndef TG_CONTROL_CONTROL_H
#define TG_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "control/config.h"
#include "dataplane/dp.h"

#define CTL_MAX_RETIRED 16

struct ctl {
	struct dp dp;
	/* policies replaced but maybe still read by a worker */
	struct {
		struct dp_policy *policy;
		uint64_t token;
	} retired[CTL_MAX_RETIRED];
	unsigned n_retired;
	const struct config *cfg;
	struct dp_stats stats;        /* the control thread's own counters */
	uint64_t last_tick_tsc;
	uint64_t neigh_reachable_tsc;
	uint64_t neigh_gc_tsc;
	unsigned held_total;          /* packets held for ARP, all entries */
	/* services of the control thread, each owned by its module */
	struct dnsproxy *dns;         /* control/dnsproxy.c; NULL when off */
	struct rpc_server *rpc;       /* control/rpc_server.c */
	struct dlog_writer *dlogw;    /* control/dlog_writer.c; NULL when logs off */
	struct metrics_http *metrics; /* control/metrics.c; NULL when off */
};

/*
 * EAL arguments for this config: `cli` (from the command line, may be
 * empty) or else the config's dpdk.eal_args, plus --vdev for every vdev
 * device not already given and -a for PCI devices. Fills argv (argv[0] is
 * `prog`); returns argc or -E2BIG.
 */
int ctl_eal_args(const struct config *cfg, const char *prog, char **cli, int n_cli,
		 char **argv, int max);

/*
 * Build the data plane: mbuf pool, ports (configured, started), routes,
 * neighbour table, QSBR, workers and their rings. Ports are found by name
 * (the device string up to its first comma). 0 or -errno with `err` set.
 */
int ctl_setup(struct ctl *c, const struct config *cfg, char *err, size_t errlen);
void ctl_teardown(struct ctl *c);

/*
 * Load, check and compile a policy (from `path`, or from `buf` named
 * `path`) and publish it to the workers with one atomic swap; the previous
 * one is freed once every worker has moved on. On failure nothing changes:
 * the running policy stays, and `err` holds every error, one per line
 * ("FILE:LINE:COL: ..."). 0 or -errno.
 */
int ctl_policy_load(struct ctl *c, const char *path, const char *buf, size_t len, char *err,
		    size_t errlen);
struct policy_ruleset;
/* The load and compile half of ctl_policy_load(): no workers needed, so
 * `tollgate --check` uses it before the EAL starts. */
int ctl_policy_compile(const char *path, const char *buf, size_t len, struct policy_ruleset **out,
		       char *err, size_t errlen);
int ctl_policy_publish(struct ctl *c, struct policy_ruleset *rs, char *err, size_t errlen);
void ctl_policy_reclaim(struct ctl *c, bool all);
void ctl_policy_teardown(struct ctl *c);

/*
 * The slow path's own state beyond the neighbour table (the DNS proxy when
 * configured): created at the end of ctl_setup(), removed first by
 * ctl_teardown(). 0 or -errno with `err` set.
 */
int ctl_slowpath_init(struct ctl *c, char *err, size_t errlen);
void ctl_slowpath_fini(struct ctl *c);

/* Announce our addresses (gratuitous ARP). */
void ctl_announce(struct ctl *c);

/*
 * One pass of the control thread's slow-path work: drain the workers'
 * punt rings (bounded), run neighbour timers once per tick. Returns the
 * number of packets handled, so the caller may sleep when idle.
 */
unsigned ctl_poll(struct ctl *c);

/* Write the first `len` bytes of `s` (up to a NUL) as a JSON string:
 * quotes, backslashes and control characters escaped. */
void ctl_json_str(FILE *f, const char *s, size_t len);

/* Sum of every worker's and the control thread's counters. */
void ctl_stats_sum(const struct ctl *c, struct dp_stats *out);
/* "  NAME  VALUE  description" lines, non-zero counters (all with `all`). */
void ctl_stats_print(const struct ctl *c, FILE *f, int all);

#endif
