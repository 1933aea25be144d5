/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of control/dns_msg.c: messages built byte by byte, run
 * through the parser the proxy uses, every field checked; every
 * truncation point of a real answer; compression loops; bad lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/dns_msg.h"

/* A message under construction. */
struct msg {
	uint8_t b[2048];
	size_t n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put8(struct msg *m, uint8_t v)
{
	m->b[m->n++] = v;
}

static void
put16(struct msg *m, uint16_t v)
{
	put8(m, (uint8_t)(v >> 8));
	put8(m, (uint8_t)v);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

static void
header(struct msg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
       uint16_t ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* A name in wire form from text ("a.b"), uncompressed. */
static void
name(struct msg *m, const char *text)
{
	uint8_t w[DNS_NAME_MAX];
	int n = dns_name_from_text(text, w, sizeof(w));

	assert_true(n > 0);
	put(m, w, (size_t)n);
}

static void
rr_head(struct msg *m, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	put16(m, type);
	put16(m, DNS_CLASS_IN);
	put32(m, ttl);
	put16(m, rdlen);
}

/*
 * ghcr.io A? -> ghcr.io CNAME edge.ghcr.io (pointer into the question),
 * edge.ghcr.io CNAME cdn.example.net, cdn.example.net A 203.0.113.80 and
 * A 203.0.113.81, all names after the first compressed; then an OPT.
 */
static size_t
cname_answer(struct msg *m)
{
	size_t edge, cdn;

	header(m, 0x1234, DNS_F_QR | DNS_F_RD | DNS_F_RA, 1, 4, 0, 1);
	name(m, "GHCR.io"); /* at 12; case must not matter */
	put16(m, DNS_TYPE_A);
	put16(m, DNS_CLASS_IN);
	/* ghcr.io CNAME edge.<ptr ghcr.io> */
	put16(m, 0xc00c);
	rr_head(m, DNS_TYPE_CNAME, 300, 7);
	edge = m->n;
	put8(m, 4);
	put(m, "edge", 4);
	put16(m, 0xc00c);
	/* edge.ghcr.io CNAME cdn.example.net */
	put16(m, (uint16_t)(0xc000 | edge));
	rr_head(m, DNS_TYPE_CNAME, 60, 17);
	cdn = m->n;
	name(m, "cdn.example.net");
	/* two A records for cdn.example.net */
	put16(m, (uint16_t)(0xc000 | cdn));
	rr_head(m, DNS_TYPE_A, 30, 4);
	put32(m, 0xcb007150); /* 203.0.113.80 */
	put16(m, (uint16_t)(0xc000 | cdn));
	rr_head(m, DNS_TYPE_A, 45, 4);
	put32(m, 0xcb007151);
	/* OPT */
	put8(m, 0);
	put16(m, DNS_TYPE_OPT);
	put16(m, 1232);
	put32(m, 0);
	put16(m, 0);
	return m->n;
}

static void
test_query_parse(void **state)
{
	struct msg m;
	struct dns_header h;
	struct dns_question q;
	uint16_t edns;
	uint8_t want[] = { 3, 'n', 't', 'p', 6, 'u', 'b', 'u', 'n', 't', 'u', 3, 'c', 'o', 'm', 0 };

	(void)state;
	header(&m, 0xbeef, DNS_F_RD, 1, 0, 0, 0);
	name(&m, "NTP.Ubuntu.com.");
	put16(&m, DNS_TYPE_A);
	put16(&m, DNS_CLASS_IN);
	assert_int_equal(dns_parse_query(m.b, m.n, &h, &q, &edns), DNS_OK);
	assert_int_equal(h.id, 0xbeef);
	assert_int_equal(q.name_len, sizeof(want));
	assert_memory_equal(q.name, want, sizeof(want)); /* folded to lower case */
	assert_int_equal(q.qtype, DNS_TYPE_A);
	assert_int_equal(q.off, 12);
	assert_int_equal(q.len, sizeof(want) + 4);
	assert_int_equal(edns, 0);

	/* with an OPT asking for 4096 */
	m.b[11] = 1;
	put8(&m, 0);
	put16(&m, DNS_TYPE_OPT);
	put16(&m, 4096);
	put32(&m, 0);
	put16(&m, 0);
	assert_int_equal(dns_parse_query(m.b, m.n, &h, &q, &edns), DNS_OK);
	assert_int_equal(edns, 4096);
	/* a trailing byte */
	m.b[m.n] = 0;
	assert_int_equal(dns_parse_query(m.b, m.n + 1, &h, &q, &edns), DNS_ETRAIL);
	/* two questions */
	m.b[5] = 2;
	assert_int_equal(dns_parse_query(m.b, m.n, &h, &q, &edns), DNS_ECOUNT);
}

static void
test_cname_chain(void **state)
{
	struct msg m;
	static struct dns_answer_info a;
	char text[300];
	size_t len = cname_answer(&m);

	(void)state;
	assert_int_equal(dns_parse_response(m.b, len, &a), DNS_OK);
	assert_int_equal(a.n_chain, 3);
	assert_int_equal(dns_name_to_text(a.chain[0], a.chain_len[0], text, sizeof(text)), 7);
	assert_string_equal(text, "ghcr.io");
	dns_name_to_text(a.chain[1], a.chain_len[1], text, sizeof(text));
	assert_string_equal(text, "edge.ghcr.io");
	dns_name_to_text(a.chain[2], a.chain_len[2], text, sizeof(text));
	assert_string_equal(text, "cdn.example.net");
	assert_int_equal(a.n_addrs, 2);
	assert_int_equal(a.addrs[0], 0xcb007150);
	assert_int_equal(a.addrs[1], 0xcb007151);
	assert_int_equal(a.addr_ttl[0], 30);
	assert_int_equal(a.min_ttl, 30);
	assert_int_equal(a.edns_size, 1232);
	assert_int_equal(a.body_end, len - DNS_OPT_LEN);
	/* Regression: the second parse into the same struct saw the first
	 * one's OPT record and refused the message as having two. */
	assert_int_equal(dns_parse_response(m.b, len, &a), DNS_OK);
}

/* Every prefix of a valid answer is refused, never read past its end
 * (ASan checks the "never": the copy is exactly that long). */
static void
test_every_truncation(void **state)
{
	struct msg m;
	static struct dns_answer_info a;
	static uint8_t cut[2048];
	size_t len = cname_answer(&m);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		uint8_t *p = cut + sizeof(cut) - n; /* ends where the buffer ends */

		memcpy(p, m.b, n);
		assert_int_not_equal(dns_parse_response(p, n, &a), DNS_OK);
	}
}

static void
test_pointer_loops(void **state)
{
	struct msg m;
	struct dns_question q;
	size_t off;

	(void)state;
	/* a pointer to itself */
	header(&m, 1, 0, 1, 0, 0, 0);
	put16(&m, 0xc00c);
	put32(&m, 0x00010001);
	off = DNS_HDR_LEN;
	assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ELOOP);
	/* forwards */
	header(&m, 1, 0, 1, 0, 0, 0);
	put16(&m, 0xc00e);
	put8(&m, 0);
	put32(&m, 0x00010001);
	off = DNS_HDR_LEN;
	assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ELOOP);
	/* into the header */
	header(&m, 1, 0, 1, 0, 0, 0);
	put16(&m, 0xc002);
	put32(&m, 0x00010001);
	off = DNS_HDR_LEN;
	assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ELOOP);
	/* two names pointing at each other: A at 12 = "a" + ptr(B), B = ptr(12) */
	header(&m, 1, 0, 1, 0, 0, 0);
	put8(&m, 1);
	put8(&m, 'a');
	put16(&m, 0xc010); /* forwards to B at 16: refused before any loop */
	put16(&m, 0xc00c);
	off = DNS_HDR_LEN;
	assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ELOOP);
	/* a long chain of backward pointers is bounded by DNS_PTR_MAX */
	header(&m, 1, 0, 1, 0, 0, 0);
	put8(&m, 0); /* root at 12 */
	for (int i = 0; i < DNS_PTR_MAX + 2; i++)
		put16(&m, (uint16_t)(0xc000 | (m.n - (i == 0 ? 1 : 2))));
	size_t last = m.n - 2;
	put32(&m, 0x00010001);
	off = last;
	assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ELOOP);
}

static void
test_bad_labels_and_names(void **state)
{
	struct msg m;
	struct dns_question q;
	size_t off;

	(void)state;
	/* label type 01 (extended, RFC 6891) and 10 (reserved) */
	for (uint8_t t = 0x40; t != 0; t = (uint8_t)(t == 0x40 ? 0x80 : 0)) {
		header(&m, 1, 0, 1, 0, 0, 0);
		put8(&m, t | 1);
		put8(&m, 'x');
		put8(&m, 0);
		put32(&m, 0x00010001);
		off = DNS_HDR_LEN;
		assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ELABEL);
	}
	/* 5 labels of 63 bytes: 320 bytes, over 255 */
	header(&m, 1, 0, 1, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		put8(&m, 63);
		memset(m.b + m.n, 'a', 63);
		m.n += 63;
	}
	put8(&m, 0);
	put32(&m, 0x00010001);
	off = DNS_HDR_LEN;
	assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ENAME);
	/* a name made long through pointers is refused the same way */
	header(&m, 1, 0, 1, 0, 0, 0);
	put8(&m, 63);
	memset(m.b + m.n, 'b', 63);
	m.n += 63;
	put8(&m, 0);
	/* each next name: a 63-byte label, then a pointer to the previous
	 * name: 65, 129, 193, then 257 bytes */
	for (size_t prev = 12, i = 0; i < 3; i++) {
		size_t here = m.n;

		put8(&m, 63);
		memset(m.b + m.n, 'c', 63);
		m.n += 63;
		put16(&m, (uint16_t)(0xc000 | prev));
		prev = here;
	}
	off = m.n - 66;
	assert_int_equal(dns_parse_question(m.b, m.n, &off, &q), DNS_ENAME);
	/* text side */
	uint8_t w[DNS_NAME_MAX];
	char longlabel[80];

	memset(longlabel, 'x', 64);
	longlabel[64] = 0;
	assert_int_equal(dns_name_from_text(longlabel, w, sizeof(w)), -1);
	assert_int_equal(dns_name_from_text("a..b", w, sizeof(w)), -1);
	assert_int_equal(dns_name_from_text("a..", w, sizeof(w)), -1);
	assert_int_equal(dns_name_from_text("*.ghcr.io", w, sizeof(w)), -1);
	assert_int_equal(dns_name_from_text("docker.io.", w, sizeof(w)), 11);
}

static void
test_rr_bad_rdlength(void **state)
{
	struct msg m;
	static struct dns_answer_info a;

	(void)state;
	header(&m, 7, DNS_F_QR, 1, 1, 0, 0);
	name(&m, "a.b");
	put32(&m, 0x00010001);
	put16(&m, 0xc00c);
	rr_head(&m, DNS_TYPE_A, 10, 40); /* 40 bytes announced, 4 present */
	put32(&m, 0x01020304);
	assert_int_equal(dns_parse_response(m.b, m.n, &a), DNS_ETRUNC);
	/* counts claim more records than there are */
	header(&m, 7, DNS_F_QR, 1, 3, 0, 0);
	name(&m, "a.b");
	put32(&m, 0x00010001);
	put16(&m, 0xc00c);
	rr_head(&m, DNS_TYPE_A, 10, 4);
	put32(&m, 0x01020304);
	assert_int_equal(dns_parse_response(m.b, m.n, &a), DNS_ETRUNC);
	/* a CNAME whose target runs past its RDATA */
	header(&m, 7, DNS_F_QR, 1, 1, 0, 0);
	name(&m, "a.b");
	put32(&m, 0x00010001);
	put16(&m, 0xc00c);
	rr_head(&m, DNS_TYPE_CNAME, 10, 2);
	put8(&m, 3);
	put(&m, "xyz", 3);
	put8(&m, 0);
	put16(&m, 0);
	assert_int_not_equal(dns_parse_response(m.b, m.n, &a), DNS_OK);
}

static void
test_negative_soa(void **state)
{
	struct msg m;
	static struct dns_answer_info a;

	(void)state;
	header(&m, 9, DNS_F_QR | DNS_RCODE_NXDOMAIN, 1, 0, 1, 0);
	name(&m, "nope.example");
	put32(&m, 0x00010001);
	put16(&m, 0xc011); /* "example" inside the question */
	rr_head(&m, DNS_TYPE_SOA, 3600, 2 + 2 + 20);
	put16(&m, 0xc011);
	put16(&m, 0xc011);
	put32(&m, 1);
	put32(&m, 2);
	put32(&m, 3);
	put32(&m, 4);
	put32(&m, 120); /* MINIMUM */
	assert_int_equal(dns_parse_response(m.b, m.n, &a), DNS_OK);
	assert_true(a.has_soa);
	assert_int_equal(a.soa_ttl, 120);
	assert_int_equal(a.n_addrs, 0);
}

static void
test_ttl_age(void **state)
{
	struct msg m;
	static struct dns_answer_info a;
	size_t len = cname_answer(&m) - DNS_OPT_LEN;

	(void)state;
	m.b[11] = 0; /* as the cache keeps it: no additional section */
	assert_int_equal(dns_ttl_age(m.b, len, 40), DNS_OK);
	assert_int_equal(dns_parse_response(m.b, len, &a), DNS_OK);
	assert_int_equal(a.addr_ttl[0], 0);  /* 30 - 40, floored */
	assert_int_equal(a.addr_ttl[1], 5);  /* 45 - 40 */
	assert_int_equal(a.min_ttl, 0);
}

/* Regression (found by fuzz_dns): dns_ttl_age() wrote each TTL as it
 * parsed, and a later name pointing into an earlier TTL field then read
 * bytes the parser had not checked. */
static void
test_ttl_age_pointer_into_ttl(void **state)
{
	struct msg m;
	static struct dns_answer_info a;
	size_t ttl1;

	(void)state;
	header(&m, 5, DNS_F_QR, 1, 2, 0, 0);
	name(&m, "a.b");
	put32(&m, 0x00010001);
	put16(&m, 0xc00c);
	put16(&m, 99);
	put16(&m, DNS_CLASS_IN);
	ttl1 = m.n;
	put32(&m, 0x100); /* its last byte, 0, is a root name for the next */
	put16(&m, 0);
	put16(&m, (uint16_t)(0xc000 | (ttl1 + 3)));
	rr_head(&m, DNS_TYPE_A, 10, 4);
	put32(&m, 0x01020304);
	assert_int_equal(dns_parse_response(m.b, m.n, &a), DNS_OK);
	assert_int_equal(dns_ttl_age(m.b, m.n, 1), DNS_OK);
	assert_int_equal(m.b[ttl1 + 3], 0xff);
}

static void
test_builders(void **state)
{
	struct msg m;
	struct dns_header h;
	struct dns_question q, q2;
	uint16_t edns;
	uint8_t out[512];
	size_t n;

	(void)state;
	header(&m, 0x4242, DNS_F_RD, 1, 0, 0, 0);
	name(&m, "docker.io");
	put32(&m, 0x00010001);
	assert_int_equal(dns_parse_query(m.b, m.n, &h, &q, &edns), DNS_OK);

	n = dns_build_query(out, sizeof(out), 0x9999, true, &q, DNS_EDNS_SIZE);
	assert_int_equal(n, m.n + DNS_OPT_LEN);
	assert_int_equal(dns_parse_query(out, n, &h, &q2, &edns), DNS_OK);
	assert_int_equal(h.id, 0x9999);
	assert_true(h.flags & DNS_F_RD);
	assert_int_equal(edns, DNS_EDNS_SIZE);
	assert_memory_equal(q2.name, q.name, q.name_len);
	assert_int_equal(dns_build_query(out, 20, 1, true, &q, 0), 0);

	n = dns_build_error(out, sizeof(out), m.b, &q, DNS_RCODE_SERVFAIL);
	assert_int_equal(n, m.n);
	assert_int_equal(dns_get16(out), 0x4242);
	assert_int_equal(dns_get16(out + 2),
			 DNS_F_QR | DNS_F_RD | DNS_F_RA | DNS_RCODE_SERVFAIL);
	assert_memory_equal(out + 12, m.b + 12, q.len);
	n = dns_build_error(out, sizeof(out), m.b, NULL, DNS_RCODE_FORMERR);
	assert_int_equal(n, DNS_HDR_LEN);
	assert_int_equal(dns_get16(out + 4), 0);
}

static void
test_tcp_frame(void **state)
{
	uint8_t b[8] = { 0, 3, 'a', 'b', 'c', 0, 0 };

	(void)state;
	assert_int_equal(dns_tcp_frame(b, 0, 100), 0);
	assert_int_equal(dns_tcp_frame(b, 1, 100), 0);
	assert_int_equal(dns_tcp_frame(b, 4, 100), 0); /* need more */
	assert_int_equal(dns_tcp_frame(b, 5, 100), 3);
	assert_int_equal(dns_tcp_frame(b, 8, 100), 3);
	assert_int_equal(dns_tcp_frame(b, 5, 2), -1);  /* too long */
	b[1] = 0;
	assert_int_equal(dns_tcp_frame(b, 5, 100), -1); /* zero length */
}

static void
test_name_to_text_escapes(void **state)
{
	uint8_t w[] = { 3, 'a', '.', 'b', 2, 'c', 0x01, 0 };
	char t[64];

	(void)state;
	assert_int_equal(dns_name_to_text(w, sizeof(w), t, sizeof(t)), 12);
	assert_string_equal(t, "a\\046b.c\\001");
	assert_int_equal(dns_name_to_text((const uint8_t *)"", 1, t, sizeof(t)), 1);
	assert_string_equal(t, ".");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_parse),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_pointer_loops),
		cmocka_unit_test(test_bad_labels_and_names),
		cmocka_unit_test(test_rr_bad_rdlength),
		cmocka_unit_test(test_negative_soa),
		cmocka_unit_test(test_ttl_age),
		cmocka_unit_test(test_ttl_age_pointer_into_ttl),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_tcp_frame),
		cmocka_unit_test(test_name_to_text_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
