/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-process harness: the real data plane (ctl_setup, worker_poll,
 * ctl_poll) on two net_ring ports whose rings the test feeds and drains.
 * Packets are built byte by byte here; what comes out is checked field by
 * field by the tests.
 */
#ifndef TG_TESTS_HARNESS_H
#define TG_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "control/config.h"
#include "control/control.h"

#define H_IN 0
#define H_OUT 1

#define H_QUEUES 2 /* per port: enough for two workers */

struct harness {
	struct config cfg;
	struct ctl ctl;
	/* queue 0 of each port; queue 1 in rx1/tx1 (two-worker tests) */
	struct rte_ring *rx[2];   /* test enqueues: frames "received" by Tollgate */
	struct rte_ring *tx[2];   /* test dequeues: frames Tollgate sent */
	struct rte_ring *rx1[2];
	struct rte_ring *tx1[2];
	struct rte_mempool *pool; /* the test's own buffers */
	const char *policy;       /* policy YAML to load; NULL: allow everything */
};

/* A policy with one network rule allowing every protocol, source,
 * destination and port. */
extern const char h_allow_all_policy[];

extern const struct rte_ether_addr h_client_mac;  /* 198.18.1.10 on inside */
extern const struct rte_ether_addr h_server_mac;  /* 203.0.113.10 on outside */

/* Start the EAL once per process (no hugepages, no PCI). */
void h_eal_init(void);
/* Fill the default test config: inside 198.18.1.1/24 on ring port, outside
 * 203.0.113.1/24, route 198.51.100.0/24 via 203.0.113.10, frontend
 * 192.0.2.10-29, no default gateway, 4096 sessions, and no SNAT anywhere
 * (no_snat 0.0.0.0/0: a plain router; NAT tests clear it). */
void h_default_config(struct config *cfg);
/* Create ports and build the data plane from h->cfg. */
int h_start(struct harness *h);
void h_stop(struct harness *h);

/* Worker pass, control pass, worker pass, flush: what the threads would do. */
void h_pump(struct harness *h);
/* Put a frame on an interface's wire towards Tollgate (RX queue 0). */
void h_send(struct harness *h, int iface, const void *frame, size_t len);
/* Same, on RX queue `q` (0 or 1): the queue RSS would have picked. */
void h_send_q(struct harness *h, int iface, unsigned q, const void *frame, size_t len);
/* Set the worker clock `seconds` ahead (for timeouts). */
void h_advance(struct harness *h, uint32_t seconds);
/* Take the next frame Tollgate sent on `iface` (NULL if none), from any
 * TX queue. Caller frees. */
struct rte_mbuf *h_recv(struct harness *h, int iface);
unsigned h_pending(struct harness *h, int iface);
uint64_t h_counter(struct harness *h, enum dp_counter c);

/* Builders. Addresses as "A.B.C.D" strings for readability. */
size_t h_build_udp(uint8_t *buf, const struct rte_ether_addr *src_mac,
		   const struct rte_ether_addr *dst_mac, const char *src, const char *dst,
		   uint8_t ttl, uint16_t payload_len, bool df);
size_t h_build_icmp_echo(uint8_t *buf, const struct rte_ether_addr *src_mac,
			 const struct rte_ether_addr *dst_mac, const char *src, const char *dst,
			 uint16_t id, uint16_t seq);
size_t h_build_tcp(uint8_t *buf, const struct rte_ether_addr *src_mac,
		   const struct rte_ether_addr *dst_mac, const char *src, uint16_t sport,
		   const char *dst, uint16_t dport, uint8_t flags, uint16_t payload_len);
/* UDP with chosen ports. */
size_t h_build_udp_ports(uint8_t *buf, const struct rte_ether_addr *src_mac,
			 const struct rte_ether_addr *dst_mac, const char *src, uint16_t sport,
			 const char *dst, uint16_t dport, uint16_t payload_len);
size_t h_build_arp(uint8_t *buf, uint16_t op, const struct rte_ether_addr *sha,
		   const struct rte_ether_addr *eth_dst, const char *sip, const char *tip);
rte_be32_t h_ip(const char *a);

/* Answer the ARP request Tollgate just sent on `iface` for `ip` with `mac`;
 * asserts the request's fields. */
void h_answer_arp(struct harness *h, int iface, const char *ip, const struct rte_ether_addr *mac);

/* The IPv4 header and the transport header of a frame Tollgate sent. */
struct rte_ipv4_hdr *h_ipv4(struct rte_mbuf *m);
void *h_l4(struct rte_mbuf *m);
/* An address as dotted decimal into `buf` (16 bytes); returns buf. */
char *h_ip_str(rte_be32_t a, char *buf);

/* Checks used by tests: full recomputation of IPv4 and L4 checksums. */
bool h_ipv4_cksum_ok(const struct rte_ipv4_hdr *ip);
bool h_l4_cksum_ok(const struct rte_ipv4_hdr *ip);

#endif
