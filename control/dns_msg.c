/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DNS message parser and builders (see dns_msg.h). Every read is preceded
 * by a length check; every loop is bounded by the message length, by
 * DNS_PTR_MAX jumps or by DNS_RR_MAX records.
 */
#include <string.h>

#include "control/dns_msg.h"

static const char *const err_str[] = {
#define X(n, s) s,
	DNS_ERR_LIST(X)
#undef X
};

const char *
dns_err_str(enum dns_err e)
{
	return (unsigned)e < sizeof(err_str) / sizeof(err_str[0]) ? err_str[e] : "?";
}

static inline uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

enum dns_err
dns_parse_header(const uint8_t *m, size_t len, struct dns_header *h)
{
	if (len < DNS_HDR_LEN)
		return DNS_ETRUNC;
	h->id = dns_get16(m);
	h->flags = dns_get16(m + 2);
	h->qd = dns_get16(m + 4);
	h->an = dns_get16(m + 6);
	h->ns = dns_get16(m + 8);
	h->ar = dns_get16(m + 10);
	return DNS_OK;
}

enum dns_err
dns_name_read(const uint8_t *m, size_t len, size_t *off, uint8_t *out, uint8_t *out_len)
{
	size_t p = *off, end = 0; /* end: where the name ends in place */
	unsigned jumps = 0, n = 0;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return DNS_ETRUNC;
		l = m[p];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			/* RFC 1035 4.1.4. Only strictly backwards (so every
			 * jump lands earlier than the last: no loop can
			 * form), never into the header, and a bounded number
			 * of them anyway. */
			if (p + 1 >= len)
				return DNS_ETRUNC;
			to = (size_t)(l & 0x3f) << 8 | m[p + 1];
			if (to >= p || to < DNS_HDR_LEN || ++jumps > DNS_PTR_MAX)
				return DNS_ELOOP;
			if (end == 0)
				end = p + 2;
			p = to;
			continue;
		}
		if (l & 0xc0) /* 01 and 10: extended and reserved label types */
			return DNS_ELABEL;
		if (n + 1u + l > DNS_NAME_MAX)
			return DNS_ENAME;
		if (p + 1 + l > len)
			return DNS_ETRUNC;
		out[n++] = l;
		for (unsigned i = 0; i < l; i++)
			out[n++] = dns_lower(m[p + 1 + i]);
		p += 1u + l;
		if (l == 0)
			break;
	}
	*off = end != 0 ? end : p;
	*out_len = (uint8_t)n;
	return DNS_OK;
}

enum dns_err
dns_parse_question(const uint8_t *m, size_t len, size_t *off, struct dns_question *q)
{
	size_t p = *off;
	enum dns_err e = dns_name_read(m, len, &p, q->name, &q->name_len);

	if (e != DNS_OK)
		return e;
	if (p + 4 > len)
		return DNS_ETRUNC;
	q->qtype = dns_get16(m + p);
	q->qclass = dns_get16(m + p + 2);
	q->off = (uint16_t)*off;
	q->len = (uint16_t)(p + 4 - *off);
	*off = p + 4;
	return DNS_OK;
}

enum dns_err
dns_parse_rr(const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr)
{
	size_t p = *off;
	enum dns_err e = dns_name_read(m, len, &p, rr->name, &rr->name_len);

	if (e != DNS_OK)
		return e;
	if (p + 10 > len)
		return DNS_ETRUNC;
	rr->type = dns_get16(m + p);
	rr->rclass = dns_get16(m + p + 2);
	rr->ttloff = (uint16_t)(p + 4);
	rr->ttl = get32(m + p + 4);
	rr->rdlen = dns_get16(m + p + 8);
	rr->rdoff = (uint16_t)(p + 10);
	if (p + 10 + rr->rdlen > len)
		return DNS_ETRUNC;
	*off = p + 10 + rr->rdlen;
	return DNS_OK;
}

enum dns_err
dns_parse_query(const uint8_t *m, size_t len, struct dns_header *h, struct dns_question *q,
		uint16_t *edns_size)
{
	enum dns_err e = dns_parse_header(m, len, h);
	size_t off = DNS_HDR_LEN;
	struct dns_rr rr;

	*edns_size = 0;
	if (e != DNS_OK)
		return e;
	if (h->qd != 1 || h->an != 0 || h->ns != 0 || h->ar > 1)
		return DNS_ECOUNT;
	e = dns_parse_question(m, len, &off, q);
	if (e != DNS_OK)
		return e;
	if (h->ar == 1) {
		e = dns_parse_rr(m, len, &off, &rr);
		if (e != DNS_OK)
			return e;
		/* RFC 6891 6.1.1: the OPT record owns the root name. */
		if (rr.type != DNS_TYPE_OPT || rr.name_len != 1)
			return DNS_ECOUNT;
		*edns_size = rr.rclass < DNS_UDP_MIN ? DNS_UDP_MIN : rr.rclass;
	}
	return off == len ? DNS_OK : DNS_ETRAIL;
}

/* The TTL a negative answer may be cached for (RFC 2308 5): the smaller
 * of the SOA record's own TTL and its MINIMUM field. */
static enum dns_err
soa_ttl(const uint8_t *m, size_t len, const struct dns_rr *rr, uint32_t *ttl)
{
	uint8_t name[DNS_NAME_MAX], nl;
	size_t p = rr->rdoff, end = (size_t)rr->rdoff + rr->rdlen;
	enum dns_err e;

	/* MNAME and RNAME, then five 32-bit fields; MINIMUM is the last. */
	for (int i = 0; i < 2; i++) {
		e = dns_name_read(m, end, &p, name, &nl);
		if (e != DNS_OK)
			return e;
	}
	(void)len;
	if (p + 20 != end)
		return DNS_ETRUNC;
	*ttl = get32(m + p + 16) < rr->ttl ? get32(m + p + 16) : rr->ttl;
	return DNS_OK;
}

static bool
name_eq(const uint8_t *a, uint8_t al, const uint8_t *b, uint8_t bl)
{
	return al == bl && memcmp(a, b, al) == 0;
}

enum dns_err
dns_parse_response(const uint8_t *m, size_t len, struct dns_answer_info *a)
{
	size_t off = DNS_HDR_LEN;
	unsigned total;
	struct dns_rr rr;
	enum dns_err e;

	memset(a, 0, offsetof(struct dns_answer_info, chain));
	a->n_chain = 0;
	a->n_addrs = 0;
	a->edns_size = 0;
	a->min_ttl = UINT32_MAX;
	e = dns_parse_header(m, len, &a->h);
	if (e != DNS_OK)
		return e;
	total = (unsigned)a->h.an + a->h.ns + a->h.ar;
	if (a->h.qd != 1 || total > DNS_RR_MAX)
		return DNS_ECOUNT;
	e = dns_parse_question(m, len, &off, &a->q);
	if (e != DNS_OK)
		return e;
	memcpy(a->chain[0], a->q.name, a->q.name_len);
	a->chain_len[0] = a->q.name_len;
	a->n_chain = 1;

	/*
	 * The answer section first. A CNAME owned by the current end of the
	 * chain extends it (RFC 1034 3.6.2: a server puts the chain in order,
	 * but we do not rely on it: one pass per hop, bounded).
	 */
	size_t an_start = off;
	for (unsigned i = 0; i < a->h.an; i++) {
		e = dns_parse_rr(m, len, &off, &rr);
		if (e != DNS_OK)
			return e;
		if (rr.type == DNS_TYPE_OPT)
			return DNS_ECOUNT;
		if (rr.ttl < a->min_ttl)
			a->min_ttl = rr.ttl;
		if (rr.type == DNS_TYPE_CNAME) {
			/* The target must parse even if it is not followed. */
			size_t p = rr.rdoff;
			uint8_t t[DNS_NAME_MAX], tl;

			e = dns_name_read(m, (size_t)rr.rdoff + rr.rdlen, &p, t, &tl);
			if (e != DNS_OK)
				return e;
			if (p != (size_t)rr.rdoff + rr.rdlen)
				return DNS_ETRUNC;
		}
	}
	for (unsigned hop = 0; hop < DNS_CNAME_CHAIN_MAX; hop++) {
		const uint8_t *cur = a->chain[a->n_chain - 1];
		uint8_t cl = a->chain_len[a->n_chain - 1];
		bool found = false;
		size_t p = an_start;

		for (unsigned i = 0; i < a->h.an && !found; i++) {
			(void)dns_parse_rr(m, len, &p, &rr); /* parsed above */
			if (rr.type == DNS_TYPE_CNAME && rr.rclass == DNS_CLASS_IN &&
			    name_eq(rr.name, rr.name_len, cur, cl)) {
				size_t t = rr.rdoff;

				(void)dns_name_read(m, len, &t, a->chain[a->n_chain],
						    &a->chain_len[a->n_chain]);
				a->n_chain++;
				found = true;
			}
		}
		if (!found)
			break;
	}
	{
		size_t p = an_start;
		const uint8_t *last = a->chain[a->n_chain - 1];
		uint8_t ll = a->chain_len[a->n_chain - 1];

		for (unsigned i = 0; i < a->h.an; i++) {
			(void)dns_parse_rr(m, len, &p, &rr);
			if (rr.type == DNS_TYPE_A && rr.rclass == DNS_CLASS_IN && rr.rdlen == 4 &&
			    name_eq(rr.name, rr.name_len, last, ll) &&
			    a->n_addrs < DNS_ANSWER_ADDRS_MAX) {
				a->addrs[a->n_addrs] = get32(m + rr.rdoff);
				a->addr_ttl[a->n_addrs++] = rr.ttl;
			}
		}
	}

	for (unsigned i = 0; i < a->h.ns; i++) {
		e = dns_parse_rr(m, len, &off, &rr);
		if (e != DNS_OK)
			return e;
		if (rr.type == DNS_TYPE_OPT)
			return DNS_ECOUNT;
		if (rr.type == DNS_TYPE_SOA && !a->has_soa) {
			e = soa_ttl(m, len, &rr, &a->soa_ttl);
			if (e != DNS_OK)
				return e;
			a->has_soa = true;
		}
	}
	a->body_end = (uint16_t)off;
	for (unsigned i = 0; i < a->h.ar; i++) {
		e = dns_parse_rr(m, len, &off, &rr);
		if (e != DNS_OK)
			return e;
		if (rr.type == DNS_TYPE_OPT) {
			if (a->edns_size != 0 || rr.name_len != 1)
				return DNS_ECOUNT; /* RFC 6891 6.1.1: one, at the root */
			a->edns_size = rr.rclass < DNS_UDP_MIN ? DNS_UDP_MIN : rr.rclass;
		}
	}
	return off == len ? DNS_OK : DNS_ETRAIL;
}

enum dns_err
dns_ttl_age(uint8_t *m, size_t len, uint32_t age)
{
	struct dns_header h;
	struct dns_question q;
	struct dns_rr rr;
	size_t off = DNS_HDR_LEN;
	enum dns_err e = dns_parse_header(m, len, &h);

	if (e != DNS_OK)
		return e;
	if (h.qd != 1 || h.ar != 0 || (unsigned)h.an + h.ns > DNS_RR_MAX)
		return DNS_ECOUNT;
	e = dns_parse_question(m, len, &off, &q);
	if (e != DNS_OK)
		return e;
	/* Parse everything first, then write: a compression pointer may
	 * point into a TTL field (odd but legal), and must read the same
	 * bytes the parser checked. */
	uint16_t at[DNS_RR_MAX];
	unsigned n = (unsigned)h.an + h.ns;

	for (unsigned i = 0; i < n; i++) {
		e = dns_parse_rr(m, len, &off, &rr);
		if (e != DNS_OK)
			return e;
		at[i] = rr.ttloff;
	}
	if (off != len)
		return DNS_ETRAIL;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = m + at[i];
		uint32_t t = get32(p);

		t = t > age ? t - age : 0;
		p[0] = (uint8_t)(t >> 24);
		p[1] = (uint8_t)(t >> 16);
		p[2] = (uint8_t)(t >> 8);
		p[3] = (uint8_t)t;
	}
	return DNS_OK;
}

static bool
host_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int
dns_name_from_text(const char *text, uint8_t *wire, size_t cap)
{
	size_t n = 0, len = strlen(text);

	if (len > 0 && text[len - 1] == '.')
		len--;
	if (cap < 1)
		return -1;
	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && text[j] != '.') {
			if (!host_char((uint8_t)text[j]))
				return -1;
			j++;
		}
		if (j == i || j - i > DNS_LABEL_MAX || n + 1 + (j - i) + 1 > DNS_NAME_MAX ||
		    n + 1 + (j - i) + 1 > cap)
			return -1;
		wire[n++] = (uint8_t)(j - i);
		for (size_t k = i; k < j; k++)
			wire[n++] = dns_lower((uint8_t)text[k]);
		i = j + 1;
		if (j == len - 1 && text[j] == '.')
			return -1;
	}
	wire[n++] = 0;
	return (int)n;
}

int
dns_name_to_text(const uint8_t *wire, size_t wire_len, char *text, size_t cap)
{
	size_t p = 0, n = 0;

	if (cap < 2)
		return -1;
	while (p < wire_len && wire[p] != 0) {
		uint8_t l = wire[p++];

		if (l > DNS_LABEL_MAX || p + l > wire_len)
			return -1;
		if (n > 0)
			text[n++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = wire[p + i];

			if (n + 5 >= cap)
				return -1;
			if (host_char(c)) {
				text[n++] = (char)c;
			} else {
				text[n++] = '\\';
				text[n++] = (char)('0' + c / 100);
				text[n++] = (char)('0' + c / 10 % 10);
				text[n++] = (char)('0' + c % 10);
			}
		}
		p += l;
	}
	if (n == 0)
		text[n++] = '.';
	text[n] = '\0';
	return (int)n;
}

size_t
dns_append_opt(uint8_t *m, size_t len, size_t cap, uint16_t edns_size)
{
	if (len < DNS_HDR_LEN || len + DNS_OPT_LEN > cap)
		return 0;
	m[len] = 0;                            /* root */
	dns_put16(m + len + 1, DNS_TYPE_OPT);
	dns_put16(m + len + 3, edns_size);     /* CLASS: UDP payload size */
	memset(m + len + 5, 0, 6);             /* extended rcode, version, flags, rdlen */
	dns_put16(m + 10, (uint16_t)(dns_get16(m + 10) + 1));
	return len + DNS_OPT_LEN;
}

size_t
dns_build_query(uint8_t *out, size_t cap, uint16_t id, bool rd, const struct dns_question *q,
		uint16_t edns_size)
{
	size_t n = DNS_HDR_LEN + q->name_len + 4u;

	if (n > cap)
		return 0;
	memset(out, 0, DNS_HDR_LEN);
	dns_put16(out, id);
	dns_put16(out + 2, rd ? DNS_F_RD : 0);
	dns_put16(out + 4, 1);
	memcpy(out + DNS_HDR_LEN, q->name, q->name_len);
	dns_put16(out + DNS_HDR_LEN + q->name_len, q->qtype);
	dns_put16(out + DNS_HDR_LEN + q->name_len + 2, q->qclass);
	if (edns_size != 0)
		return dns_append_opt(out, n, cap, edns_size);
	return n;
}

size_t
dns_build_error(uint8_t *out, size_t cap, const uint8_t *query, const struct dns_question *q,
		uint8_t rcode)
{
	uint16_t flags = dns_get16(query + 2);
	size_t qlen = q != NULL ? q->len : 0;

	if (DNS_HDR_LEN + qlen > cap)
		return 0;
	memset(out, 0, DNS_HDR_LEN);
	memcpy(out, query, 2);
	flags = (uint16_t)((flags & (DNS_F_OPCODE | DNS_F_RD)) | DNS_F_QR | DNS_F_RA |
			   (rcode & DNS_F_RCODE));
	dns_put16(out + 2, flags);
	if (q != NULL) {
		dns_put16(out + 4, 1);
		memcpy(out + DNS_HDR_LEN, query + q->off, qlen);
	}
	return DNS_HDR_LEN + qlen;
}

int
dns_tcp_frame(const uint8_t *buf, size_t len, size_t max)
{
	size_t n;

	if (len < 2)
		return 0;
	n = dns_get16(buf);
	if (n == 0 || n > max)
		return -1;
	return len >= 2 + n ? (int)n : 0;
}
