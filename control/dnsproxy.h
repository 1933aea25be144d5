/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DNS proxy, on the control thread (see docs/dns.md): serves DNS on
 * UDP and TCP port 53 of the inside address, forwards to the configured
 * upstreams from the outside address, caches answers, and feeds the
 * addresses it sees for the destination_fqdns of network rules into those
 * rules' destination sets (policy_dynset_publish).
 *
 * Everything here runs on the control thread and never blocks; workers
 * only punt the frames (dp->punt_l4) and read the published sets.
 */
#ifndef TG_CONTROL_DNSPROXY_H
#define TG_CONTROL_DNSPROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/config.h"

struct ctl;
struct dnsproxy;
struct policy_ruleset;
struct rte_mbuf;

/* Allocate every table (sizes from the config) into c->dns and turn on
 * the punt of TCP/UDP to our addresses. 0 or -errno with `err` set. */
int dnsproxy_create(struct ctl *c, char *err, size_t errlen);
/* Free everything, published sets' retired copies included (the workers
 * are stopped by then). c->dns becomes NULL. */
void dnsproxy_free(struct ctl *c);

/* A UDP or TCP frame for one of our addresses, punted by a worker; the
 * proxy owns `m` from here on. */
void dnsproxy_input(struct ctl *c, struct rte_mbuf *m, uint8_t in_iface);

/* Timers: upstream timeouts and retries, TCP connections, expiry of
 * tracked addresses, freeing of retired sets. Cheap when nothing is due;
 * call it on every pass of the control loop. */
void dnsproxy_tick(struct ctl *c, uint64_t now_tsc);

/*
 * A new rule set was just published (ctl_policy_publish): its dynamic sets
 * are empty. Rebuild the tracked names from its network rules'
 * destination_fqdns, keep the addresses known for names still tracked,
 * and publish them at once. Does nothing when the proxy is off.
 */
void dnsproxy_policy_changed(struct ctl *c, struct policy_ruleset *rs);

/*
 * JSON for `tollctl show dns`: tracked names, the rules they feed, their
 * current addresses with seconds until expiry, cache and upstream state.
 * Returns the length written (without the NUL), or -ENOSPC when `cap` is
 * too small (the buffer then holds a cut, NUL-terminated prefix).
 */
int dnsproxy_show(const struct dnsproxy *d, char *buf, size_t cap);

/* The proxy's state for `tollctl show dns`'s table. */
struct dnsproxy_status {
	unsigned n_upstreams;
	uint32_t upstreams[CONFIG_MAX_DNS_UPSTREAMS]; /* host order */
	unsigned retention_s;
	unsigned cache_entries, cache_capacity;
	unsigned outstanding;       /* upstream queries waiting for an answer */
	unsigned n_names;           /* tracked names: dnsproxy_name_at(0 .. n_names - 1) */
};
void dnsproxy_status(const struct dnsproxy *d, struct dnsproxy_status *s);

#define DNSPROXY_NAME_ADDRS_MAX 64
/* One tracked name. The pointers are the proxy's own: valid until the
 * control thread next runs the proxy (a policy change frees them). */
struct dnsproxy_name_view {
	const char *name;
	const struct policy_ruleset *rs;    /* the rule set `rules` index */
	const uint32_t *rules;              /* ids of the rules it feeds */
	unsigned n_rules;
	unsigned n_addrs;
	uint32_t addrs[DNSPROXY_NAME_ADDRS_MAX];        /* host order */
	uint32_t expires_in_s[DNSPROXY_NAME_ADDRS_MAX]; /* TTL + retention left */
};
/* Fill `v` with the i-th tracked name; false past the last. */
bool dnsproxy_name_at(const struct dnsproxy *d, unsigned i, struct dnsproxy_name_view *v);

/* Provided by control/slowpath.c for the proxy: hand a finished frame to
 * a worker for transmission on `iface`; route an IPv4 frame (Ethernet
 * header still to fill) through the neighbour table, waiting for ARP on
 * the slow path's hold queue when the next hop is not resolved yet. */
void ctl_inject(struct ctl *c, unsigned wid, uint8_t iface, struct rte_mbuf *m);
void ctl_send_routed(struct ctl *c, struct rte_mbuf *m);

#endif
