/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DNS messages (RFC 1035): a parser that never reads a byte before checking
 * it is there, and the few builders the proxy needs. Plain C, no DPDK, so
 * the unit tests and the fuzzer run it as the proxy does.
 *
 * Names are kept in wire form (length-prefixed labels ending with the root
 * label), uncompressed and with ASCII letters folded to lower case: two
 * names are equal when their bytes are (RFC 4343), and no text form can be
 * ambiguous (a label may hold a '.').
 *
 * A message here is always complete (one UDP datagram, or one TCP message
 * after its length prefix): running out of bytes is DNS_ETRUNC, malformed.
 * The one "need more bytes" case is the TCP framing, dns_tcp_frame().
 */
#ifndef TG_CONTROL_DNS_MSG_H
#define TG_CONTROL_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12
#define DNS_NAME_MAX 255      /* wire length, root label included (RFC 1035 3.1) */
#define DNS_LABEL_MAX 63
#define DNS_PTR_MAX 16        /* compression jumps followed in one name */
#define DNS_RR_MAX 256        /* records walked in one message */
#define DNS_CNAME_CHAIN_MAX 8 /* CNAME hops followed inside one answer */
#define DNS_UDP_MIN 512       /* what a client without EDNS accepts (RFC 1035 4.2.1) */
#define DNS_EDNS_SIZE 1232    /* what we advertise upstream (DNS flag day 2020) */
#define DNS_OPT_LEN 11        /* an OPT RR without options */

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_CLASS_IN = 1,
};

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

/* Header flag bits (host order of the 16-bit flags word). */
#define DNS_F_QR 0x8000
#define DNS_F_OPCODE 0x7800
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_RCODE 0x000f

/* Why a message was refused; each names a distinct fault. */
#define DNS_ERR_LIST(X)                                                        \
	X(OK, "ok")                                                            \
	X(ETRUNC, "message ends inside a field")                               \
	X(ELABEL, "label longer than 63 bytes or of a reserved type")          \
	X(ENAME, "name longer than 255 bytes")                                 \
	X(ELOOP, "compression pointer not strictly backwards, or too many")    \
	X(ECOUNT, "section counts do not fit the message")                     \
	X(ETRAIL, "bytes after the last record")                               \
	X(ESPACE, "output buffer too small")

enum dns_err {
#define X(n, s) DNS_##n,
	DNS_ERR_LIST(X)
#undef X
};

const char *dns_err_str(enum dns_err e);

struct dns_header {
	uint16_t id;
	uint16_t flags;
	uint16_t qd, an, ns, ar;
};

struct dns_question {
	uint8_t name[DNS_NAME_MAX]; /* wire form, lower case */
	uint8_t name_len;           /* bytes of name[], root label included */
	uint16_t qtype, qclass;
	uint16_t off, len;          /* where the question lies in the message */
};

struct dns_rr {
	uint8_t name[DNS_NAME_MAX];
	uint8_t name_len;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	uint16_t rdoff;             /* offset of the RDATA in the message */
	uint16_t ttloff;            /* offset of the TTL field */
};

/* What a response says, for the cache and for FQDN tracking. */
#define DNS_ANSWER_ADDRS_MAX 64
struct dns_answer_info {
	struct dns_header h;
	struct dns_question q;
	uint16_t body_end;          /* end of the authority section: the
				     * message without its additional section */
	uint32_t min_ttl;           /* answer records; UINT32_MAX when none */
	bool has_soa;
	uint32_t soa_ttl;           /* negative caching (RFC 2308 5):
				     * min(SOA TTL, SOA MINIMUM) */
	/* The CNAME chain from the question's name, the name first. */
	uint8_t chain[DNS_CNAME_CHAIN_MAX + 1][DNS_NAME_MAX];
	uint8_t chain_len[DNS_CNAME_CHAIN_MAX + 1];
	unsigned n_chain;
	/* A records owned by the last name of the chain (host order) and
	 * their TTLs. */
	uint32_t addrs[DNS_ANSWER_ADDRS_MAX];
	uint32_t addr_ttl[DNS_ANSWER_ADDRS_MAX];
	unsigned n_addrs;
	uint16_t edns_size;         /* the OPT record's UDP size; 0: no OPT */
};

/* Read the 12-byte header. */
enum dns_err dns_parse_header(const uint8_t *m, size_t len, struct dns_header *h);

/*
 * Read a (maybe compressed) name at *off; *off moves past it in place (a
 * pointer ends the name where it lies). Pointers must point strictly
 * before the position they are read from, at most DNS_PTR_MAX of them,
 * and never into the header.
 */
enum dns_err dns_name_read(const uint8_t *m, size_t len, size_t *off, uint8_t *out,
			   uint8_t *out_len);

enum dns_err dns_parse_question(const uint8_t *m, size_t len, size_t *off,
				struct dns_question *q);
enum dns_err dns_parse_rr(const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr);

/*
 * A query as a server accepts it: a header, exactly one question, and in
 * the additional section at most an OPT record. Fills `h`, `q` and
 * `*edns_size` (0 when the query had no OPT record).
 */
enum dns_err dns_parse_query(const uint8_t *m, size_t len, struct dns_header *h,
			     struct dns_question *q, uint16_t *edns_size);

/* Walk a whole response: every record must parse and the counts must be
 * exact. Fills `a` (see struct dns_answer_info). */
enum dns_err dns_parse_response(const uint8_t *m, size_t len, struct dns_answer_info *a);

/*
 * Subtract `age` seconds (floor 0) from the TTL of every record of the
 * answer and authority sections of a message that has no additional
 * section (as the cache keeps them). Returns DNS_OK or the parse error.
 */
enum dns_err dns_ttl_age(uint8_t *m, size_t len, uint32_t age);

/* Text <-> wire. Text: labels separated by dots, an optional final dot,
 * letters, digits, '-' and '_' only. Returns the wire length or -1. */
int dns_name_from_text(const char *text, uint8_t *wire, size_t cap);
/* Wire -> "a.b.c" (no final dot; "." for the root); bytes other than
 * letters, digits, '-' and '_' as \DDD. Returns the text length or -1. */
int dns_name_to_text(const uint8_t *wire, size_t wire_len, char *text, size_t cap);

/*
 * A query of our own: header with `id` and RD, the question, and an OPT
 * record advertising `edns_size` (0: none). Returns its length, or 0 when
 * `cap` is too small.
 */
size_t dns_build_query(uint8_t *out, size_t cap, uint16_t id, bool rd,
		       const struct dns_question *q, uint16_t edns_size);

/*
 * A response carrying no records: `query`'s header (id, RD, opcode) and
 * its question (the bytes at q->off, q->len), with QR, RA and `rcode`.
 * With q == NULL, the header alone (qdcount 0). Returns the length or 0.
 */
size_t dns_build_error(uint8_t *out, size_t cap, const uint8_t *query,
		       const struct dns_question *q, uint8_t rcode);

/* Append an OPT record advertising `edns_size` and count it in ARCOUNT.
 * Returns the new length, or 0 when it does not fit in `cap`. */
size_t dns_append_opt(uint8_t *m, size_t len, size_t cap, uint16_t edns_size);

/*
 * TCP framing (RFC 1035 4.2.2): a 2-byte length, then the message. Returns
 * the message length (> 0) when `buf` holds a whole one, 0 when more bytes
 * are needed, -1 when the length is 0 or above `max`.
 */
int dns_tcp_frame(const uint8_t *buf, size_t len, size_t max);

/* Lower-case ASCII fold for one byte. */
static inline uint8_t
dns_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static inline uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void
dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif
