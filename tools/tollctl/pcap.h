/* SPDX-License-Identifier: BSD-3-Clause
 * Capture reader for `tollctl explain`: classic pcap files (both byte
 * orders, micro- and nanosecond), link types Ethernet, Linux cooked SLL
 * and SLL2 and raw IPv4, with 802.1Q/802.1ad tags. Each IPv4 TCP flow's
 * client bytes are put back in sequence order, as a worker holds them.
 *
 * Plain C rather than libpcap: the reader needs the file only as bytes
 * (libpcap would not decode SLL2 or VLAN tags for us either), every
 * error can say which record and offset is wrong, and the fuzzer can feed
 * it a buffer. pcapng is refused with a message saying how to convert.
 */
#ifndef TOLLGATE_TOLLCTL_PCAP_H
#define TOLLGATE_TOLLCTL_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What was read, and what was skipped and why. */
struct cap_stats {
	uint64_t packets;
	uint64_t tcp;       /* IPv4 TCP segments used */
	uint64_t ipv6;      /* IPv6 packets: not inspected by this tool */
	uint64_t non_tcp;   /* IPv4, not TCP */
	uint64_t non_ip;    /* ARP and other ethertypes */
	uint64_t fragments; /* IPv4 fragments */
	uint64_t truncated; /* cut by the capture's snap length */
	uint64_t bad;       /* headers that do not add up */
};

/* One TCP flow, keyed by the first SYN's 4-tuple: the client is the
 * SYN's sender. Without a SYN in the capture, the sender of the first
 * packet seen (the receiver, for a SYN-ACK) is taken as the client and
 * its bytes are counted from the first data segment seen. */
struct cap_flow {
	uint32_t cli_addr, srv_addr; /* host byte order */
	uint16_t cli_port, srv_port;
	bool syn;           /* the client's SYN was in the capture */
	unsigned segments;  /* client segments carrying payload (SYN too) */
	/* The client's bytes in sequence order from the first, up to the
	 * first gap and at most `bound` of them (retransmitted or
	 * overlapping bytes: the first copy seen is kept, as a worker
	 * holding segments would). */
	const uint8_t *data;
	size_t data_len;
};

struct cap_flows;

/* Read a capture file. Returns 0, or -1 with a message in err. */
int cap_read_flows(const char *path, size_t bound, struct cap_flows **out,
		   char *err, size_t errlen);
/* The same from an open stream; `name` is used in messages. */
int cap_read_flows_stream(FILE *f, const char *name, size_t bound,
			  struct cap_flows **out, char *err, size_t errlen);

size_t cap_flow_count(const struct cap_flows *fl);
/* Flows in the order of their first packet. */
const struct cap_flow *cap_flow_get(const struct cap_flows *fl, size_t i);
const struct cap_stats *cap_flow_stats(const struct cap_flows *fl);
void cap_flows_free(struct cap_flows *fl);

#endif
