/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DNS proxy counters, in the form of dataplane/counters.h (which includes this
 * list at the end of DP_COUNTERS): X(ENUM, "name", "description").
 * The proxy runs on the control thread: only its struct dp_stats moves.
 */
#ifndef TG_DATAPLANE_COUNTERS_DNS_H
#define TG_DATAPLANE_COUNTERS_DNS_H

#define DP_COUNTERS_DNS(X)                                                                 \
	X(DNS_QUERIES, "dns.queries", "DNS queries received from clients (UDP and TCP)")          \
	X(DNS_QUERIES_TCP, "dns.queries-tcp", "DNS queries received over TCP")                    \
	X(DNS_CACHE_HITS, "dns.cache-hits", "DNS queries answered from the cache")                \
	X(DNS_FORWARDED, "dns.forwarded", "DNS queries sent to an upstream server, retries included") \
	X(DNS_RETRIES, "dns.retries", "DNS upstream queries retried (timeout), on the next server") \
	X(DNS_ANSWERS, "dns.answers", "DNS answers sent to clients")                             \
	X(DNS_SERVFAIL, "dns.servfail", "SERVFAIL sent: no upstream answered within the tries")   \
	X(DNS_TRUNCATED, "dns.truncated", "answers too large for the client's UDP size, sent with TC") \
	X(DNS_ERRORS_SENT, "dns.errors-sent", "FORMERR, NOTIMP or REFUSED sent for a query we do not serve") \
	X(DNS_TCP_CONNECTIONS, "dns.tcp-connections", "TCP connections to the DNS proxy accepted") \
	X(DNS_TCP_RESETS, "dns.tcp-resets-sent", "TCP RST sent for a segment no DNS connection expects") \
	X(DNS_TRACKED_ADDED, "dns.tracked-addresses", "addresses added to FQDN network rules' sets") \
	X(DNS_TRACKED_EXPIRED, "dns.tracked-expired", "addresses removed from FQDN sets after TTL + retention") \
	X(DNS_SETS_PUBLISHED, "dns.sets-published", "FQDN destination sets published to the workers") \
	X(DROP_DNS_MALFORMED, "drop.dns-malformed", "DNS message malformed or truncated (also bad lengths, loops)") \
	X(DROP_DNS_CHECKSUM, "drop.dns-checksum", "UDP or TCP segment to the DNS proxy with a bad checksum") \
	X(DROP_DNS_UNSOLICITED, "drop.dns-unsolicited", "UDP answer matching no outstanding upstream query") \
	X(DROP_DNS_OVERSIZED, "drop.dns-oversized", "DNS message larger than the proxy accepts") \
	X(DROP_DNS_RATE_LIMITED, "drop.dns-rate-limited", "DNS query over its client's queries per second") \
	X(DROP_DNS_PENDING_FULL, "drop.dns-pending-full", "DNS query dropped: too many upstream queries outstanding") \
	X(DROP_DNS_TCP_FULL, "drop.dns-tcp-full", "TCP SYN to the DNS proxy refused: connection table full") \
	X(DROP_DNS_TCP_INVALID, "drop.dns-tcp-invalid", "TCP segment out of order or for no DNS connection") \
	X(DROP_DNS_CLOSED_PORT, "drop.dns-closed-port", "TCP or UDP to our address on a port nothing serves")

#endif
