/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a packet's 5-tuple for connection tracking and rewriting it by a
 * session's translation: TCP, UDP, ICMP query messages (the identifier
 * plays the port) and ICMP errors, whose embedded header is translated too
 * (RFC 5508).
 */
#ifndef TG_DATAPLANE_NAT_H
#define TG_DATAPLANE_NAT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "dataplane/ct.h"

enum nat_kind {
	NAT_KIND_PLAIN = 0,    /* TCP, UDP or another protocol (no ports) */
	NAT_KIND_ICMP_REQ,     /* ICMP query: identifier in the key's sport */
	NAT_KIND_ICMP_REPLY,   /* ICMP query reply: identifier in dport */
	NAT_KIND_ICMP_ERROR,   /* key built from the embedded packet, mirrored */
};

/* What nat_key() learned about a packet; offsets from the mbuf's data. */
struct nat_pkt {
	uint8_t kind;          /* enum nat_kind */
	uint8_t tcp_flags;     /* TCP only */
	uint8_t inner_kind;    /* ICMP errors: kind of the embedded packet */
	uint16_t l3;           /* IPv4 header */
	uint16_t l4;           /* transport header */
	uint16_t inner_l3;     /* ICMP errors: embedded IPv4 header */
	uint16_t inner_l4;     /* ICMP errors: embedded transport header */
	uint16_t inner_len;    /* ICMP errors: bytes quoted from inner_l3 */
};

/*
 * Fill `k` with the key a packet arriving on `iface` looks up (IPv4 header
 * at `l3`, already validated by ipv4_check()). Returns 0, or the counter of
 * the reason it cannot be tracked (truncated transport header, fragment).
 */
enum dp_counter nat_key(const struct rte_mbuf *m, uint16_t l3, uint8_t iface,
			struct ct_key *k, struct nat_pkt *p);

/*
 * Rewrite a packet that matched session `s` in direction `dir` into the
 * mirror image of the other key, fixing every checksum incrementally
 * (RFC 1624), or for ICMP errors the embedded header too (RFC 5508). With
 * `ttl_dec`, the TTL is decremented in the same checksum update.
 */
void nat_translate(struct rte_mbuf *m, const struct nat_pkt *p, const struct ct_session *s,
		   enum ct_dir dir, bool ttl_dec);

/* The key of the reply to a packet with key `k` leaving as `out` would look
 * like: mirror(out) arriving on `iface`. */
static inline struct ct_key
nat_mirror(const struct ct_key *out, uint8_t iface)
{
	struct ct_key r = {
		.src = out->dst,
		.dst = out->src,
		.sport = out->dport,
		.dport = out->sport,
		.proto = out->proto,
		.iface = iface,
	};
	return r;
}

#endif
