/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 routing: one longest-prefix-match lookup (rte_lpm) answers both
 * "where does this go" and "is this for us": our own addresses and the
 * frontend IPs are /32 routes of type LOCAL; subnet broadcast addresses are
 * /32 routes of type BROADCAST.
 *
 * Built by the control thread before the workers start; read-only after.
 */
#ifndef TG_DATAPLANE_ROUTE_H
#define TG_DATAPLANE_ROUTE_H

#include <stdint.h>

#include <rte_byteorder.h>

enum route_type {
	ROUTE_CONNECTED = 0,  /* destination is on the link: next hop = destination */
	ROUTE_GATEWAY,        /* via a gateway on a connected subnet */
	ROUTE_LOCAL,          /* one of our addresses */
	ROUTE_BROADCAST,      /* a connected subnet's broadcast address */
};

struct route_nh {
	uint8_t type;         /* enum route_type */
	uint8_t iface;        /* DP_IFACE_* */
	rte_be32_t gateway;   /* ROUTE_GATEWAY only, network order */
};

#define ROUTE_MAX_NH 1024

struct route_table;

/* Control side: 0 or -errno. `max_routes` bounds the number of prefixes. */
struct route_table *route_create(const char *name, unsigned max_routes, int socket);
void route_free(struct route_table *rt);
/* prefix and gateway in host order. Re-adding a prefix replaces it. */
int route_add(struct route_table *rt, uint32_t prefix, uint8_t prefix_len,
	      enum route_type type, uint8_t iface, uint32_t gateway);

/* Data plane: NULL when there is no route. `dst` in network order. */
const struct route_nh *route_lookup(const struct route_table *rt, rte_be32_t dst);

/* The next-hop address to resolve for a destination (network order). */
static inline rte_be32_t
route_nh_addr(const struct route_nh *nh, rte_be32_t dst)
{
	return nh->type == ROUTE_GATEWAY ? nh->gateway : dst;
}

#endif
