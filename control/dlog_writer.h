/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The decision-log writer: drains the workers' record rings
 * (dataplane/dlog.h) on the control thread and writes one JSON line per
 * decision to `logs.decisions` (a file opened for appending, or standard
 * output for "-").
 */
#ifndef TG_CONTROL_DLOG_WRITER_H
#define TG_CONTROL_DLOG_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_byteorder.h>

struct ctl;

/*
 * One answered DNS query, for an AZFWDnsQuery record: filled by the DNS
 * proxy (control/dnsproxy.c) on the control thread when the answer leaves.
 */
struct dlog_dns_rec {
	uint64_t tsc;               /* when the answer left */
	uint64_t duration_tsc;      /* since the query arrived */
	rte_be32_t src;             /* the client */
	rte_be16_t sport;
	bool tcp;
	bool dnssec_ok;             /* the query's EDNS DO bit */
	uint16_t id;                /* the client's transaction id */
	uint16_t edns_size;         /* the query's EDNS UDP size; 0: no EDNS */
	uint16_t flags;             /* the answer's header flags word, rcode included */
	uint32_t request_size;      /* DNS message bytes, without TCP's length prefix */
	uint32_t response_size;
	const uint8_t *question;    /* the question as asked: wire name, type, class */
	uint16_t question_len;
	int error_number;           /* errno-style; 0 when an upstream or the cache answered */
	const char *error_message;  /* "" with error_number 0 */
};

/* Open the log named in the configuration (nothing when logs are off);
 * sets c->dlogw. 0 or -errno with `err` set. */
int dlog_writer_open(struct ctl *c, char *err, size_t errlen);
/* Write at most `budget` records (from all rings, round robin); returns how
 * many. Harmless when logs are off. */
unsigned dlog_writer_drain(struct ctl *c, unsigned budget);
/* Write one AZFWDnsQuery record (nothing when logs are off), counted as
 * log.records. The proxy runs on this thread: no ring in between. */
void dlog_writer_dns(struct ctl *c, const struct dlog_dns_rec *r);
/* Drain what is left, flush and close. */
void dlog_writer_close(struct ctl *c);

#endif
