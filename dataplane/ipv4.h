/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 header checks and checksum arithmetic shared by the data plane, the
 * control thread's slow path and the tests.
 */
#ifndef TG_DATAPLANE_IPV4_H
#define TG_DATAPLANE_IPV4_H

#include <stdint.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "dataplane/counters.h"

/*
 * Validate the IPv4 header at `l3_off` in `m` before anything trusts it, in
 * the order of RFC 1812 section 5.2.2, then the address checks of 5.3.7.
 * Trims link-layer padding beyond the IPv4 total length. Returns 0 when the
 * packet may be used, or the DP_DROP_* counter that names the reason.
 */
enum dp_counter ipv4_check(struct rte_mbuf *m, uint16_t l3_off);

/*
 * One's complement arithmetic (RFC 1071, RFC 1624), done in 64 bits: 32-bit
 * words add without losing a carry, and the sum folds to 16 bits at the
 * end. Words are taken as they lie in memory; the sum does not care about
 * byte order as long as every word is read the same way.
 */
static inline uint16_t
ipv4_cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* What turns old words into new ones in a sum: ~m + m' (RFC 1624). */
static inline uint64_t
ipv4_cksum_delta32(uint32_t old, uint32_t new)
{
	return (uint64_t)(uint32_t)~old + new;
}

static inline uint64_t
ipv4_cksum_delta16(uint16_t old, uint16_t new)
{
	return (uint64_t)(uint16_t)~old + new;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + delta), for any sum of deltas above. */
static inline uint16_t
ipv4_cksum_apply(uint16_t cksum, uint64_t delta)
{
	return (uint16_t)~ipv4_cksum_fold((uint64_t)(uint16_t)~cksum + delta);
}

/* One 16-bit word changing from `old` to `new`. */
static inline uint16_t
ipv4_cksum_update16(uint16_t cksum, uint16_t old, uint16_t new)
{
	return ipv4_cksum_apply(cksum, ipv4_cksum_delta16(old, new));
}

/* Decrement TTL and patch the header checksum (RFC 1624). */
static inline void
ipv4_ttl_dec(struct rte_ipv4_hdr *ip)
{
	uint16_t old = *(uint16_t *)&ip->time_to_live;

	ip->time_to_live--;
	ip->hdr_checksum = ipv4_cksum_update16(ip->hdr_checksum, old,
					       *(uint16_t *)&ip->time_to_live);
}

static inline int
ipv4_is_multicast(rte_be32_t a)
{
	return (rte_be_to_cpu_32(a) >> 28) == 0xe;
}

#endif
