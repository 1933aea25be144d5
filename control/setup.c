/* SPDX-License-Identifier: BSD-3-Clause */
/* Building the data plane from the configuration (control thread, at start). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_random.h>
#include <rte_ring.h>

#include "control/control.h"
#include "dataplane/dlog.h"
#include "dataplane/ct.h"
#include "dataplane/inspect.h"
#include "dataplane/neigh.h"
#include "dataplane/snat.h"
#include "dataplane/route.h"

#define PUNT_RING_SIZE 1024
#define INJECT_RING_SIZE 1024
#define NEIGH_TABLE_SIZE 4096
#define MBUF_CACHE 256
#define DRAIN_US 100
#define HANDOFF_RING_SIZE 4096

/* Decision logs are on: workers get a record ring each. */
static bool
cfg_logs(const struct ctl *c)
{
	return c->cfg->decision_log[0] != '\0';
}

static void
device_name(const char *device, char *name, size_t len)
{
	size_t n = strcspn(device, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, device, n);
	name[n] = '\0';
}

static int
has_vdev_arg(char *const *args, int n, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < n; i++) {
		const char *a = args[i];

		if (strncmp(a, "--vdev=", 7) == 0)
			a += 7;
		else if (strcmp(a, "--vdev") == 0 && i + 1 < n)
			a = args[++i];
		else
			continue;
		if (strncmp(a, name, len) == 0 && (a[len] == '\0' || a[len] == ','))
			return 1;
	}
	return 0;
}

int
ctl_eal_args(const struct config *cfg, const char *prog, char **cli, int n_cli, char **argv,
	     int max)
{
	static char extra[2 * CONFIG_ROLE_COUNT][CONFIG_DEVICE_LEN + 8];
	char *const *src = n_cli > 0 ? cli : cfg->eal_args;
	int n_src = n_cli > 0 ? n_cli : (int)cfg->n_eal_args;
	int argc = 0;

	if (n_src + 1 + 2 * CONFIG_ROLE_COUNT > max)
		return -E2BIG;
	argv[argc++] = (char *)prog;
	for (int i = 0; i < n_src; i++)
		argv[argc++] = src[i];
	for (int r = 0; r < CONFIG_ROLE_COUNT; r++) {
		const struct config_iface *ifc = &cfg->ifaces[r];
		char name[CONFIG_DEVICE_LEN];

		device_name(ifc->device, name, sizeof(name));
		if (ifc->is_pci) {
			snprintf(extra[2 * r], sizeof(extra[0]), "-a");
			snprintf(extra[2 * r + 1], sizeof(extra[0]), "%s", ifc->device);
			argv[argc++] = extra[2 * r];
			argv[argc++] = extra[2 * r + 1];
		} else if (!has_vdev_arg(src, n_src, name)) {
			snprintf(extra[2 * r], sizeof(extra[0]), "--vdev=%s", ifc->device);
			argv[argc++] = extra[2 * r];
		}
	}
	argv[argc] = NULL;
	return argc;
}

static int
port_setup(struct ctl *c, unsigned r, char *err, size_t errlen)
{
	const struct config_iface *ci = &c->cfg->ifaces[r];
	struct dp_iface *ifc = &c->dp.ifaces[r];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	char name[CONFIG_DEVICE_LEN];
	uint16_t port, nrx, ntx;
	int ret;

	device_name(ci->device, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
		snprintf(err, errlen, "%s interface: no DPDK port named \"%s\" (device \"%s\")",
			 ci->name, name, ci->device);
		return -ENODEV;
	}
	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0) {
		snprintf(err, errlen, "%s: cannot read device info: %s", name, strerror(-ret));
		return ret;
	}
	ntx = (uint16_t)c->dp.n_workers;
	nrx = (uint16_t)RTE_MIN(c->dp.n_workers, (unsigned)info.max_rx_queues);
	if (ntx > info.max_tx_queues) {
		snprintf(err, errlen,
			 "%s: %u workers need %u transmit queues, the device has %u "
			 "(for af_packet add qpairs=%u to the device string)",
			 name, c->dp.n_workers, ntx, info.max_tx_queues, c->dp.n_workers);
		return -EINVAL;
	}
	if (nrx > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	ret = rte_eth_dev_configure(port, nrx, ntx, &conf);
	if (ret != 0) {
		snprintf(err, errlen, "%s: configure failed: %s", name, strerror(-ret));
		return ret;
	}
	/* Not every PMD can set its MTU (af_packet follows the kernel's). */
	ret = rte_eth_dev_set_mtu(port, ci->mtu);
	if (ret != 0 && ret != -ENOTSUP)
		fprintf(stderr, "tollgate: warning: %s: cannot set MTU %u: %s\n", name, ci->mtu,
			strerror(-ret));
	for (uint16_t q = 0; q < nrx; q++) {
		ret = rte_eth_rx_queue_setup(port, q, (uint16_t)c->cfg->rx_desc,
					     rte_eth_dev_socket_id(port), NULL, c->dp.pool);
		if (ret != 0) {
			snprintf(err, errlen, "%s: rx queue %u: %s", name, q, strerror(-ret));
			return ret;
		}
	}
	for (uint16_t q = 0; q < ntx; q++) {
		ret = rte_eth_tx_queue_setup(port, q, (uint16_t)c->cfg->tx_desc,
					     rte_eth_dev_socket_id(port), NULL);
		if (ret != 0) {
			snprintf(err, errlen, "%s: tx queue %u: %s", name, q, strerror(-ret));
			return ret;
		}
	}
	ret = rte_eth_dev_start(port);
	if (ret != 0) {
		snprintf(err, errlen, "%s: start failed: %s", name, strerror(-ret));
		return ret;
	}
	rte_eth_macaddr_get(port, &ifc->mac);
	ifc->port_id = port;
	ifc->n_rxq = nrx;
	ifc->mtu = ci->mtu;
	ifc->addr = rte_cpu_to_be_32(ci->addr);
	ifc->prefix_len = ci->prefix_len;
	snprintf(ifc->name, sizeof(ifc->name), "%s", config_role_name((enum config_role)r));
	return 0;
}

static int
routes_setup(struct ctl *c, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	struct route_table *rt;
	int ret = 0;

	rt = route_create("tg_routes", 1024 + cfg->n_routes + cfg->n_frontend_ips,
			  (int)rte_socket_id());
	if (rt == NULL) {
		snprintf(err, errlen, "cannot create the route table: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	c->dp.routes = rt;
	for (uint8_t r = 0; r < CONFIG_ROLE_COUNT && ret == 0; r++) {
		const struct config_iface *ci = &cfg->ifaces[r];
		uint32_t mask = ci->prefix_len ? UINT32_MAX << (32 - ci->prefix_len) : 0;

		ret = route_add(rt, ci->addr & mask, ci->prefix_len, ROUTE_CONNECTED, r, 0);
		if (ret == 0 && ci->prefix_len <= 30)
			ret = route_add(rt, (ci->addr & mask) | ~mask, 32, ROUTE_BROADCAST, r, 0);
		if (ret == 0)
			ret = route_add(rt, ci->addr, 32, ROUTE_LOCAL, r, 0);
	}
	for (unsigned i = 0; i < cfg->n_frontend_ips && ret == 0; i++)
		ret = route_add(rt, cfg->frontend_ips[i], 32, ROUTE_LOCAL, DP_IFACE_OUTSIDE, 0);
	/* Gateways sit on a connected subnet (the loader checks it); for a
	 * hand-built config that breaks this, static routes go inside and the
	 * default route outside. */
	for (unsigned i = 0; i < cfg->n_routes && ret == 0; i++) {
		const struct config_route *cr = &cfg->routes[i];
		int via_if = config_connected_role(cfg, cr->via);

		ret = route_add(rt, cr->prefix, cr->prefix_len, ROUTE_GATEWAY,
				via_if < 0 ? DP_IFACE_INSIDE : (uint8_t)via_if, cr->via);
	}
	if (ret == 0 && cfg->has_default_gw) {
		int via_if = config_connected_role(cfg, cfg->default_gw);

		ret = route_add(rt, 0, 0, ROUTE_GATEWAY,
				via_if < 0 ? DP_IFACE_OUTSIDE : (uint8_t)via_if, cfg->default_gw);
	}
	if (ret != 0)
		snprintf(err, errlen, "cannot build the route table: %s", strerror(-ret));
	return ret;
}

/* Session table and SNAT pools of one worker, sized from the config. */
static int
sessions_setup(struct ctl *c, struct worker *w, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	const struct ct_timeouts to = {
		.tcp_established = cfg->tcp_established_s,
		.tcp_transitory = cfg->tcp_transitory_s,
		.udp = cfg->udp_s,
		.icmp = cfg->icmp_s,
		.other = cfg->udp_s,
		.hold_down = cfg->port_hold_down_s,
	};
	uint32_t inside_addr = cfg->ifaces[CONFIG_ROLE_INSIDE].addr;
	struct snat_params sp = {
		.max_sessions = cfg->sessions_per_worker,
		.eim = cfg->eim,
	};
	char name[32];
	int ret;

	snprintf(name, sizeof(name), "tg_ct%u", w->id);
	w->ct = ct_create(name, cfg->sessions_per_worker, &to, (int)rte_socket_id());
	if (w->ct == NULL) {
		snprintf(err, errlen, "cannot create the session table of worker %u (%u sessions): %s",
			 w->id, cfg->sessions_per_worker, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	snat_worker_slice(w->id, c->dp.n_workers, &sp.port_lo, &sp.port_hi);
	/* A seed per worker and per start: ports are not predictable. */
	sp.seed = rte_rand();
	if (cfg->n_frontend_ips > 0) {
		sp.ips = cfg->frontend_ips;
		sp.n_ips = cfg->n_frontend_ips;
	} else {
		/* No frontend IPs: outbound flows take the outside address. */
		sp.ips = &cfg->ifaces[CONFIG_ROLE_OUTSIDE].addr;
		sp.n_ips = 1;
	}
	ret = snat_create(&sp, &w->snat_out);
	if (ret == 0) {
		/* Only inbound DNAT and hairpin sessions take ports here. */
		sp.ips = &inside_addr;
		sp.n_ips = 1;
		sp.eim = false;
		sp.seed = rte_rand();
		sp.max_sessions = cfg->dnat_sessions_per_worker
					  ? RTE_MIN(cfg->dnat_sessions_per_worker,
						    cfg->sessions_per_worker)
					  : RTE_MAX(cfg->sessions_per_worker / 4, 1024u);
		ret = snat_create(&sp, &w->snat_in);
	}
	if (ret != 0) {
		snprintf(err, errlen, "cannot create the SNAT pools of worker %u: %s", w->id,
			 strerror(-ret));
		return ret;
	}
	/* Inspection contexts with their buffers, allocated once here: the
	 * worker never allocates. Name slots as many as contexts. */
	snprintf(name, sizeof(name), "tg_insp%u", w->id);
	w->insp = inspect_pool_create(name, cfg->inspect_flows, cfg->inspect_flow_bytes,
				      cfg->inspect_held_pkts, cfg->inspect_flows,
				      (int)rte_socket_id());
	if (w->insp == NULL) {
		snprintf(err, errlen,
			 "cannot create the inspection pool of worker %u (%u flows of %u bytes): %s",
			 w->id, cfg->inspect_flows, cfg->inspect_flow_bytes,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

/* One single-producer/single-consumer ring per ordered pair of workers. */
static int
handoff_setup(struct ctl *c, char *err, size_t errlen)
{
	struct dp *dp = &c->dp;

	if (dp->n_workers < 2)
		return 0;
	for (unsigned i = 0; i < dp->n_workers; i++) {
		for (unsigned j = 0; j < dp->n_workers; j++) {
			char name[RTE_RING_NAMESIZE];
			struct rte_ring *r;

			if (i == j)
				continue;
			snprintf(name, sizeof(name), "tg_ho%u_%u", i, j);
			r = rte_ring_create(name, HANDOFF_RING_SIZE, (int)rte_socket_id(),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r == NULL) {
				snprintf(err, errlen, "cannot create handoff ring %s: %s", name,
					 rte_strerror(rte_errno));
				return -ENOMEM;
			}
			dp->workers[i]->handoff_out[j] = r;
			dp->workers[j]->handoff_in[i] = r;
		}
	}
	return 0;
}

static void
nat_setup(struct ctl *c)
{
	const struct config *cfg = c->cfg;
	struct dp_nat *n = &c->dp.nat;

	n->n_no_snat = RTE_MIN(cfg->n_no_snat, (unsigned)RTE_DIM(n->no_snat_addr));
	for (unsigned i = 0; i < n->n_no_snat; i++) {
		uint8_t len = cfg->no_snat[i].prefix_len;
		uint32_t mask = len ? UINT32_MAX << (32 - len) : 0;

		n->no_snat_mask[i] = rte_cpu_to_be_32(mask);
		n->no_snat_addr[i] = rte_cpu_to_be_32(cfg->no_snat[i].prefix & mask);
	}
	n->icmp_on_exhaustion = cfg->icmp_on_exhaustion;
	n->dnat_snat = cfg->dnat_snat;
}

static void
inspection_setup(struct ctl *c)
{
	c->dp.inspect.timeout_s = c->cfg->inspect_timeout_s;
	c->dp.inspect.flow_bytes = c->cfg->inspect_flow_bytes;
	c->dp.inspect.http_403 = c->cfg->inspect_http_403;
}

static int
workers_setup(struct ctl *c, char *err, size_t errlen)
{
	struct dp *dp = &c->dp;
	size_t qsz = rte_rcu_qsbr_get_memsize(dp->n_workers);

	dp->qsbr = rte_zmalloc("tg_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (dp->qsbr == NULL || rte_rcu_qsbr_init(dp->qsbr, dp->n_workers) != 0) {
		snprintf(err, errlen, "cannot create the QSBR variable");
		return -ENOMEM;
	}
	dp->neigh = neigh_create("tg_neigh", NEIGH_TABLE_SIZE, dp->qsbr, (int)rte_socket_id());
	if (dp->neigh == NULL) {
		snprintf(err, errlen, "cannot create the neighbour table: %s",
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < dp->n_workers; i++) {
		struct worker *w = rte_zmalloc("tg_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
		char name[RTE_RING_NAMESIZE];
		int ret;

		if (w == NULL) {
			snprintf(err, errlen, "out of memory for worker %u", i);
			return -ENOMEM;
		}
		dp->workers[i] = w;
		w->id = i;
		w->queue = (uint16_t)i;
		w->dp = dp;
		w->icmp_tokens = dp->icmp_rate / 10 + 1;
		w->icmp_refill_tsc = rte_rdtsc();
		snprintf(name, sizeof(name), "tg_punt%u", i);
		w->punt = rte_ring_create(name, PUNT_RING_SIZE, (int)rte_socket_id(),
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "tg_inject%u", i);
		w->inject = rte_ring_create(name, INJECT_RING_SIZE, (int)rte_socket_id(),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (cfg_logs(c)) {
			snprintf(name, sizeof(name), "tg_dlog%u", i);
			w->dlog = rte_ring_create_elem(name, sizeof(struct dlog_rec),
						       c->cfg->log_ring, (int)rte_socket_id(),
						       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
		}
		if (w->punt == NULL || w->inject == NULL || (cfg_logs(c) && w->dlog == NULL)) {
			snprintf(err, errlen, "cannot create rings for worker %u: %s", i,
				 rte_strerror(rte_errno));
			return -ENOMEM;
		}
		ret = sessions_setup(c, w, err, errlen);
		if (ret != 0)
			return ret;
	}
	return handoff_setup(c, err, errlen);
}

int
ctl_setup(struct ctl *c, const struct config *cfg, char *err, size_t errlen)
{
	struct dp *dp = &c->dp;
	unsigned max_mtu = RTE_MAX(cfg->ifaces[0].mtu, cfg->ifaces[1].mtu);
	/* Room for one whole frame per buffer, so no frame is ever chained. */
	unsigned room = RTE_PKTMBUF_HEADROOM +
			RTE_MAX(max_mtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN,
				(unsigned)RTE_MBUF_DEFAULT_DATAROOM);
	int ret;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	dp->n_workers = cfg->workers;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->drain_tsc = dp->tsc_hz / 1000000 * DRAIN_US;
	dp->icmp_rate = cfg->icmp_rate;
	c->neigh_reachable_tsc = dp->tsc_hz * cfg->neigh_reachable_s;
	c->neigh_gc_tsc = dp->tsc_hz * cfg->neigh_gc_s;
	if (dp->n_workers == 0 || dp->n_workers > DP_MAX_WORKERS) {
		snprintf(err, errlen, "workers must be 1..%u", DP_MAX_WORKERS);
		return -EINVAL;
	}
	dp->pool = rte_pktmbuf_pool_create("tg_mbufs", cfg->mbufs, MBUF_CACHE, DP_MBUF_PRIV_SIZE,
					   (uint16_t)room, (int)rte_socket_id());
	if (dp->pool == NULL) {
		snprintf(err, errlen, "cannot create the mbuf pool (%u buffers): %s", cfg->mbufs,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	nat_setup(c);
	inspection_setup(c);
	ret = workers_setup(c, err, errlen);
	if (ret == 0)
		ret = routes_setup(c, err, errlen);
	for (unsigned r = 0; r < CONFIG_ROLE_COUNT && ret == 0; r++)
		ret = port_setup(c, r, err, errlen);
	if (ret == 0 && c->dp.ifaces[0].port_id == c->dp.ifaces[1].port_id) {
		snprintf(err, errlen, "inside and outside name the same DPDK port");
		ret = -EINVAL;
	}
	if (ret == 0)
		ret = ctl_slowpath_init(c, err, errlen);
	return ret;
}

void
ctl_teardown(struct ctl *c)
{
	struct dp *dp = &c->dp;

	ctl_slowpath_fini(c);
	for (unsigned r = 0; r < DP_N_IFACES; r++) {
		if (dp->ifaces[r].n_rxq == 0)
			continue;
		/* Stopped, not closed: the ports outlive a rebuild of the
		 * data plane; rte_eal_cleanup() releases them at exit. */
		rte_eth_dev_stop(dp->ifaces[r].port_id);
		dp->ifaces[r].n_rxq = 0;
	}
	for (unsigned i = 0; i < dp->n_workers; i++) {
		struct worker *w = dp->workers[i];
		struct rte_mbuf *m;

		if (w == NULL)
			continue;
		while (w->punt && rte_ring_dequeue(w->punt, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		while (w->inject && rte_ring_dequeue(w->inject, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		for (unsigned q = 0; q < DP_N_IFACES; q++)
			for (unsigned k = 0; k < w->txq[q].n; k++)
				rte_pktmbuf_free(w->txq[q].pkts[k]);
		for (unsigned j = 0; j < dp->n_workers; j++) {
			struct rte_ring *r = w->handoff_out[j];

			while (r && rte_ring_dequeue(r, (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(r);
		}
		inspect_pool_free(w->insp);
		ct_free(w->ct);
		snat_destroy(w->snat_out);
		snat_destroy(w->snat_in);
		rte_ring_free(w->punt);
		rte_ring_free(w->inject);
		rte_ring_free(w->dlog);
		rte_free(w);
		dp->workers[i] = NULL;
	}
	ctl_policy_teardown(c);
	neigh_free(dp->neigh);
	route_free(dp->routes);
	rte_free(dp->qsbr);
	rte_mempool_free(dp->pool);
	memset(dp, 0, sizeof(*dp));
}
