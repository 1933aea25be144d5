/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Every counter Tollgate keeps, defined once. Each entry gives the enum
 * name, the name `tollgate` prints at exit (and `tollctl` will show), and a
 * description. Drops are named "drop.<reason>": a packet that Tollgate
 * discards is counted under exactly one of them.
 *
 * Each worker and the control thread own one struct dp_stats; only the owner
 * writes it (plain 64-bit stores, so readers on x86-64 never see a torn
 * value), readers add the copies up.
 */
#ifndef TG_DATAPLANE_COUNTERS_H
#define TG_DATAPLANE_COUNTERS_H

#include <stdint.h>

/* Each subsystem keeps its own list, in its own header. */
#include "dataplane/counters_inspect.h"
#include "dataplane/counters_dns.h"
#include "dataplane/counters_control.h"

#define DP_COUNTERS(X)                                                                   \
	X(RX_INSIDE_PKTS, "rx.inside.packets", "frames received on the inside interface")     \
	X(RX_INSIDE_BYTES, "rx.inside.bytes", "bytes received on the inside interface")       \
	X(RX_OUTSIDE_PKTS, "rx.outside.packets", "frames received on the outside interface")  \
	X(RX_OUTSIDE_BYTES, "rx.outside.bytes", "bytes received on the outside interface")    \
	X(TX_INSIDE_PKTS, "tx.inside.packets", "frames sent on the inside interface")         \
	X(TX_INSIDE_BYTES, "tx.inside.bytes", "bytes sent on the inside interface")           \
	X(TX_OUTSIDE_PKTS, "tx.outside.packets", "frames sent on the outside interface")      \
	X(TX_OUTSIDE_BYTES, "tx.outside.bytes", "bytes sent on the outside interface")        \
	X(IP_FORWARDED, "ip.forwarded", "IPv4 packets routed towards a next hop")             \
	X(PUNT_LOCAL, "punt.local", "packets for our own addresses sent to the control thread") \
	X(PUNT_ARP, "punt.arp", "ARP frames sent to the control thread")                      \
	X(PUNT_RESOLVE, "punt.resolve", "packets handed to the control thread to wait for ARP") \
	X(INJECTED, "slowpath.injected", "frames sent by workers for the control thread")     \
	X(ICMP_TIME_EXCEEDED, "icmp.time-exceeded-sent", "ICMP time exceeded sent (TTL expired)") \
	X(ICMP_NET_UNREACH, "icmp.net-unreachable-sent", "ICMP destination net unreachable sent (no route)") \
	X(ICMP_FRAG_NEEDED, "icmp.frag-needed-sent", "ICMP fragmentation needed sent (DF set, too big)") \
	X(ICMP_RATE_LIMITED, "icmp.rate-limited", "ICMP errors not sent: over the rate limit") \
	X(ICMP_ECHO_REPLIED, "icmp.echo-replied", "ICMP echo requests to our addresses answered") \
	X(ARP_REQUESTS_RX, "arp.requests-received", "ARP requests received")                  \
	X(ARP_REPLIES_RX, "arp.replies-received", "ARP replies received")                     \
	X(ARP_REPLIES_TX, "arp.replies-sent", "ARP replies sent for our addresses")           \
	X(ARP_REQUESTS_TX, "arp.requests-sent", "ARP requests sent to resolve next hops")     \
	X(ARP_GRATUITOUS_TX, "arp.gratuitous-sent", "gratuitous ARP announcements sent")      \
	X(NEIGH_RESOLVED, "neigh.resolved", "next hops resolved or refreshed by ARP")         \
	X(NEIGH_EXPIRED, "neigh.expired", "neighbour entries removed by ageing")              \
	X(NEIGH_RELEASED, "neigh.released", "held packets sent once their next hop resolved") \
	X(CT_CREATED, "sessions.created", "sessions created")                               \
	X(CT_FREED, "sessions.freed", "sessions expired and freed")                         \
	X(CT_HANDOFF, "sessions.handoff", "packets handed to the worker that owns their session") \
	X(SNAT_ALLOCATED, "snat.allocated", "SNAT ports allocated")                         \
	X(DNAT_CREATED, "dnat.sessions", "sessions created by a DNAT rule")                 \
	X(ICMP_ERR_TRANSLATED, "icmp.errors-translated", "ICMP errors about a session translated (RFC 5508)") \
	X(ICMP_ADMIN_PROHIBITED, "icmp.admin-prohibited-sent", "ICMP unreachable code 13 sent (SNAT exhausted)") \
	X(POLICY_REEVALUATED, "policy.sessions-reevaluated", "sessions judged again after a policy change") \
	/* drops: every discarded packet is counted under exactly one of these */           \
	X(DROP_ETH_SHORT, "drop.eth-truncated", "frame shorter than an Ethernet header")      \
	X(DROP_ETH_OTHER_HOST, "drop.eth-other-host", "unicast frame for another MAC address") \
	X(DROP_ETH_MULTICAST, "drop.eth-multicast", "multicast frame (not ARP broadcast)")    \
	X(DROP_ETHERTYPE, "drop.ethertype", "ethertype neither IPv4 nor ARP (VLAN tags included)") \
	X(DROP_IPV6, "drop.ipv6", "IPv6 frame: not supported yet")                            \
	X(DROP_MULTI_SEGMENT, "drop.multi-segment", "frame in several buffers (larger than the configured MTU)") \
	X(DROP_IP_SHORT, "drop.ip-truncated", "frame too short for an IPv4 header (RFC 1812 5.2.2 (1))") \
	X(DROP_IP_CKSUM, "drop.ip-checksum", "IPv4 header checksum wrong (RFC 1812 5.2.2 (2))") \
	X(DROP_IP_VERSION, "drop.ip-version", "IPv4 version field not 4 (RFC 1812 5.2.2 (3))") \
	X(DROP_IP_IHL, "drop.ip-header-length", "IHL below 5 or beyond the frame (RFC 1812 5.2.2 (4))") \
	X(DROP_IP_TOTAL_LEN, "drop.ip-total-length", "total length below the header or beyond the frame (RFC 1812 5.2.2 (5))") \
	X(DROP_IP_OPTIONS, "drop.ip-options", "IPv4 options present: dropped by design (no source routing)") \
	X(DROP_IP_SRC_INVALID, "drop.ip-source-invalid", "source 0/8, 127/8, multicast or class E (RFC 1812 5.3.7)") \
	X(DROP_IP_DST_INVALID, "drop.ip-destination-invalid", "destination 0/8, 127/8 or class E (RFC 1812 5.3.7)") \
	X(DROP_IP_MULTICAST, "drop.ip-multicast", "multicast destination: not a multicast router") \
	X(DROP_IP_BROADCAST, "drop.ip-broadcast", "limited or directed broadcast: not forwarded (RFC 2644)") \
	X(DROP_TTL_EXCEEDED, "drop.ttl-exceeded", "TTL expired in transit (time exceeded sent)") \
	X(DROP_NO_ROUTE, "drop.no-route", "no route to the destination (net unreachable sent)") \
	X(DROP_MTU, "drop.mtu-exceeded", "larger than the outgoing MTU: Tollgate does not fragment (frag-needed sent when DF)") \
	X(DROP_LOCAL_UNSUPPORTED, "drop.local-unsupported", "for our own address but not ICMP echo")  \
	X(DROP_ICMP_INVALID, "drop.icmp-invalid", "ICMP to our address truncated or with a bad checksum") \
	X(DROP_ARP_INVALID, "drop.arp-invalid", "ARP frame malformed or not Ethernet/IPv4")   \
	X(DROP_ARP_NOT_US, "drop.arp-not-for-us", "ARP request for an address we do not own") \
	X(DROP_NEIGH_UNRESOLVED, "drop.neigh-unresolved", "next hop did not answer ARP")      \
	X(DROP_NEIGH_QUEUE_FULL, "drop.neigh-queue-full", "too many packets waiting for ARP")  \
	X(DROP_NEIGH_TABLE_FULL, "drop.neigh-table-full", "neighbour table full")             \
	X(DROP_IP_FRAGMENT, "drop.ip-fragment", "IPv4 fragment: not reassembled, cannot be matched to a session") \
	X(DROP_L4_TRUNCATED, "drop.l4-truncated", "TCP/UDP/ICMP header cut short")          \
	X(DROP_ICMP_UNTRACKED, "drop.icmp-untracked", "ICMP type neither a query nor an error") \
	X(DROP_ICMP_ERROR_INVALID, "drop.icmp-error-invalid", "ICMP error without a usable embedded header") \
	X(DROP_ICMP_ERROR_NO_SESSION, "drop.icmp-error-no-session", "ICMP error about no session (RFC 5508)") \
	X(DROP_NO_SESSION, "drop.no-session", "reply or mid-flow packet with no session (e.g. TCP without SYN)") \
	X(DROP_TCP_INVALID, "drop.tcp-invalid", "TCP flags that do not fit the session's state") \
	X(DROP_SESSION_CLOSED, "drop.session-held", "packet for a session in its port hold-down") \
	X(DROP_POLICY_NONE, "drop.policy-none", "no policy loaded: new flows are refused")  \
	X(DROP_POLICY_DENY, "drop.policy-deny", "a deny rule matched")                      \
	X(DROP_POLICY_DEFAULT, "drop.policy-default-deny", "no rule matched (default deny)") \
	X(DROP_POLICY_REVOKED, "drop.policy-revoked", "session denied by the current policy") \
	X(DROP_DNAT_UNSUPPORTED, "drop.dnat-unsupported", "DNAT rule matched a protocol other than TCP/UDP") \
	X(DROP_SNAT_EXHAUSTED, "drop.snat-exhausted", "no SNAT port left for this destination on any frontend IP") \
	X(DROP_CT_FULL, "drop.session-table-full", "session table full")                   \
	X(DROP_HANDOFF_FULL, "drop.handoff-ring-full", "owning worker busy: handoff ring full") \
	X(DROP_PUNT_FULL, "drop.punt-ring-full", "control thread busy: slow-path ring full")  \
	X(DROP_INJECT_FULL, "drop.inject-ring-full", "worker busy: control thread could not hand over a frame") \
	X(DROP_TX_FULL, "drop.tx-full", "transmit queue full")                                \
	X(DROP_NO_MBUF, "drop.no-mbuf", "no buffer for a generated packet")                  \
	DP_COUNTERS_INSPECT(X)                                                           \
	DP_COUNTERS_DNS(X)                                                               \
	DP_COUNTERS_CONTROL(X)

enum dp_counter {
#define X(e, name, desc) DP_##e,
	DP_COUNTERS(X)
#undef X
	DP_COUNTER_MAX
};

struct dp_stats {
	uint64_t c[DP_COUNTER_MAX];
};

const char *dp_counter_name(enum dp_counter c);
const char *dp_counter_desc(enum dp_counter c);

#endif
