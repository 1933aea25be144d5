/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>

#include <rte_lpm.h>
#include <rte_malloc.h>

#include "dataplane/route.h"

struct route_table {
	struct rte_lpm *lpm;
	unsigned n_nh;
	struct route_nh nh[ROUTE_MAX_NH];
};

struct route_table *
route_create(const char *name, unsigned max_routes, int socket)
{
	struct rte_lpm_config conf = {
		.max_rules = max_routes,
		/* Only /25../32 prefixes need tbl8 groups; 256 covers every
		 * frontend IP and local address we can be configured with. */
		.number_tbl8s = 256,
	};
	struct route_table *rt = rte_zmalloc_socket(name, sizeof(*rt), 0, socket);

	if (rt == NULL)
		return NULL;
	rt->lpm = rte_lpm_create(name, socket, &conf);
	if (rt->lpm == NULL) {
		rte_free(rt);
		return NULL;
	}
	return rt;
}

void
route_free(struct route_table *rt)
{
	if (rt == NULL)
		return;
	rte_lpm_free(rt->lpm);
	rte_free(rt);
}

/* Next hops are few (one per interface and gateway): share equal ones. */
static int
nh_index(struct route_table *rt, enum route_type type, uint8_t iface, uint32_t gateway)
{
	rte_be32_t gw = rte_cpu_to_be_32(gateway);

	for (unsigned i = 0; i < rt->n_nh; i++) {
		const struct route_nh *nh = &rt->nh[i];
		if (nh->type == type && nh->iface == iface && nh->gateway == gw)
			return (int)i;
	}
	if (rt->n_nh == ROUTE_MAX_NH)
		return -ENOSPC;
	rt->nh[rt->n_nh] = (struct route_nh){ .type = type, .iface = iface, .gateway = gw };
	return (int)rt->n_nh++;
}

int
route_add(struct route_table *rt, uint32_t prefix, uint8_t prefix_len,
	  enum route_type type, uint8_t iface, uint32_t gateway)
{
	int idx;

	if (prefix_len > 32)
		return -EINVAL;
	idx = nh_index(rt, type, iface, type == ROUTE_GATEWAY ? gateway : 0);
	if (idx < 0)
		return idx;
	return rte_lpm_add(rt->lpm, prefix, prefix_len, (uint32_t)idx);
}

const struct route_nh *
route_lookup(const struct route_table *rt, rte_be32_t dst)
{
	uint32_t idx;

	if (rte_lpm_lookup(rt->lpm, rte_be_to_cpu_32(dst), &idx) != 0)
		return NULL;
	return &rt->nh[idx];
}
