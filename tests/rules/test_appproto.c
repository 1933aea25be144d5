/* SPDX-License-Identifier: BSD-3-Clause
 * TLS ClientHello and HTTP request-head parsing (rules/appproto.c) with
 * hand-built hellos and requests, every one also fed prefix by prefix
 * (a flow's bytes arriving split at every possible byte boundary), and
 * the verdict through a compiled policy. The real hellos captured from
 * Chromium, curl, OpenSSL, GnuTLS and Python are read from
 * tests/data/captures through tollctl's capture reader.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/appproto.h"
#include "rules/policy.h"
#include "tools/tollctl/pcap.h"

#define BOUND 16384

/* ------------------------------------------------------------------ */
/* Builders                                                             */
/* ------------------------------------------------------------------ */

struct buf {
	uint8_t b[65536];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put8(struct buf *b, unsigned v)
{
	uint8_t x = (uint8_t)v;
	put(b, &x, 1);
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put24(struct buf *b, unsigned v)
{
	put8(b, v >> 16);
	put16(b, v);
}

static void fill(struct buf *b, unsigned v, size_t n)
{
	while (n-- > 0)
		put8(b, v);
}

/* One extension: type and body. */
struct ext {
	unsigned type;
	struct buf *body;
};

/* server_name extension body with the given host_name entries. */
static struct buf *sni_body(struct buf *b, int n, const char *const *names)
{
	size_t list = 0;
	b->n = 0;
	for (int i = 0; i < n; i++)
		list += 3 + strlen(names[i]);
	put16(b, (unsigned)list);
	for (int i = 0; i < n; i++) {
		put8(b, 0);
		put16(b, (unsigned)strlen(names[i]));
		put(b, names[i], strlen(names[i]));
	}
	return b;
}

static struct buf *bytes_body(struct buf *b, unsigned v, size_t n)
{
	b->n = 0;
	fill(b, v, n);
	return b;
}

/* Offsets (in the handshake message) of the length fields, so tests
 * can make each of them lie. */
struct hello_offs {
	size_t sid, suites, comp, exts, first_ext_len, sni_list, sni_name;
	size_t sni_at; /* where the server_name extension starts */
};

/* A ClientHello handshake message (type, 24-bit length, body). */
static void build_hello(struct buf *hs, const struct ext *ext, int n_ext,
			struct hello_offs *o)
{
	struct hello_offs dummy;
	if (o == NULL)
		o = &dummy;
	memset(o, 0, sizeof(*o));
	hs->n = 0;
	put8(hs, 1);
	put24(hs, 0); /* patched below */
	put16(hs, 0x0303);
	fill(hs, 0x42, 32);
	o->sid = hs->n;
	put8(hs, 32);
	fill(hs, 0x17, 32);
	o->suites = hs->n;
	put16(hs, 6);
	put16(hs, 0x3a3a); /* GREASE */
	put16(hs, 0x1301);
	put16(hs, 0x1302);
	o->comp = hs->n;
	put8(hs, 1);
	put8(hs, 0);
	if (n_ext >= 0) {
		size_t total = 0;
		for (int i = 0; i < n_ext; i++)
			total += 4 + ext[i].body->n;
		o->exts = hs->n;
		put16(hs, (unsigned)total);
		for (int i = 0; i < n_ext; i++) {
			if (ext[i].type == 0 && o->sni_at == 0) {
				o->sni_at = hs->n;
				o->sni_list = hs->n + 4;
				o->sni_name = hs->n + 7;
			}
			if (i == 0)
				o->first_ext_len = hs->n + 2;
			put16(hs, ext[i].type);
			put16(hs, (unsigned)ext[i].body->n);
			put(hs, ext[i].body->b, ext[i].body->n);
		}
	}
	size_t l = hs->n - 4;
	hs->b[1] = (uint8_t)(l >> 16);
	hs->b[2] = (uint8_t)(l >> 8);
	hs->b[3] = (uint8_t)l;
}

/* Wrap a handshake message in TLS records of at most `frag` bytes. */
static void records(struct buf *out, const struct buf *hs, size_t frag)
{
	out->n = 0;
	for (size_t off = 0; off < hs->n; off += frag) {
		size_t k = hs->n - off < frag ? hs->n - off : frag;
		put8(out, 22);
		put16(out, 0x0301);
		put16(out, (unsigned)k);
		put(out, hs->b + off, k);
	}
}

/* A plain hello for `name` in one record. */
static void simple_hello(struct buf *out, const char *name)
{
	static struct buf hs, s, g, v;
	const char *names[] = {name};
	struct ext e[] = {
		{0x0a0a, bytes_body(&g, 0, 0)},
		{0, sni_body(&s, 1, names)},
		{0x002b, bytes_body(&v, 0x03, 3)},
	};
	build_hello(&hs, e, 3, NULL);
	records(out, &hs, 16384);
}

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

/*
 * Feed every prefix of `b` (a flow's bytes arriving split at every byte
 * boundary), then all of it: each proper prefix must be "need more" or,
 * for a refused input, the same refusal; never a name early. The whole
 * must give `st`, `why` and (on DONE) `name`.
 */
static void expect(const uint8_t *b, size_t n, size_t bound, enum app_status st,
		   enum app_reason why, const char *name)
{
	struct app_result r;
	for (size_t k = 0; k < n; k++) {
		enum app_status s = app_parse(b, k, bound, &r);
		if (s == APP_NEED_MORE && r.reason == APP_R_OK)
			continue;
		if (st == APP_REFUSE && s == APP_REFUSE && r.reason == why)
			continue;
		fprintf(stderr, "prefix %zu/%zu: status %d reason %s\n", k, n,
			s, app_reason_str((enum app_reason)r.reason));
		fail();
	}
	enum app_status s = app_parse(b, n, bound, &r);
	if (s != st || r.reason != why)
		fprintf(stderr, "whole (%zu): status %d reason '%s', want %d '%s'\n",
			n, s, app_reason_str((enum app_reason)r.reason), st,
			app_reason_str(why));
	assert_int_equal(s, st);
	assert_int_equal(r.status, st);
	assert_int_equal(r.reason, why);
	if (st == APP_DONE) {
		assert_string_equal(r.name, name);
		assert_int_equal(r.name_len, strlen(name));
	}
}

static void expect_b(const struct buf *b, enum app_status st,
		     enum app_reason why, const char *name)
{
	expect(b->b, b->n, BOUND, st, why, name);
}

static void expect_s(const char *s, enum app_status st, enum app_reason why,
		     const char *name)
{
	expect((const uint8_t *)s, strlen(s), BOUND, st, why, name);
}

/* ------------------------------------------------------------------ */
/* TLS                                                                  */
/* ------------------------------------------------------------------ */

static void tls_simple(void **state)
{
	(void)state;
	static struct buf b;
	simple_hello(&b, "MCR.Microsoft.COM.");
	expect_b(&b, APP_DONE, APP_R_OK, "mcr.microsoft.com");
	struct app_result r;
	app_parse(b.b, b.n, BOUND, &r);
	assert_int_equal(r.kind, APP_KIND_TLS);
	assert_int_equal(r.ech, 0);
	assert_int_equal(r.port, 0);
	/* Bytes after the hello (say, early data) change nothing. */
	fill(&b, 0x17, 100);
	assert_int_equal(app_parse(b.b, b.n, BOUND, &r), APP_DONE);
	assert_string_equal(r.name, "mcr.microsoft.com");
}

/* The handshake message fragmented across records of every size from 1
 * byte up, so that every field (and the name itself) straddles a record
 * boundary somewhere; every prefix of each is also fed. */
static void tls_records(void **state)
{
	(void)state;
	static struct buf hs, s, g, rec;
	const char *names[] = {"login.microsoftonline.com"};
	struct ext e[] = {
		{0x1a1a, bytes_body(&g, 0, 1)},
		{0, sni_body(&s, 1, names)},
	};
	build_hello(&hs, e, 2, NULL);
	for (size_t frag = 1; frag <= hs.n; frag++) {
		records(&rec, &hs, frag);
		expect_b(&rec, APP_DONE, APP_R_OK, names[0]);
	}
}

static void tls_truncated(void **state)
{
	(void)state;
	static struct buf b;
	struct app_result r;
	simple_hello(&b, "example.com");
	/* A record that claims more than was sent is waited for. */
	for (size_t k = 0; k < b.n; k++)
		assert_int_equal(app_parse(b.b, k, BOUND, &r), APP_NEED_MORE);
	/* A record shorter than the handshake message, then a record of
	 * another type: malformed (no interleaving, RFC 8446 5.1). */
	static struct buf hs, rec;
	const char *names[] = {"example.com"};
	static struct buf s;
	struct ext e[] = {{0, sni_body(&s, 1, names)}};
	build_hello(&hs, e, 1, NULL);
	records(&rec, &hs, 20);
	rec.b[25] = 21; /* second record: alert */
	expect_b(&rec, APP_REFUSE, APP_R_TLS_MALFORMED, NULL);
}

/* Make one length field lie (by `delta`) and check the parse never
 * reads out of bounds (ASan) and never returns a name. */
static enum app_reason lie(const struct buf *hs, size_t off, int width,
			   int delta)
{
	static struct buf m, rec;
	m = *hs;
	unsigned v = 0;
	for (int i = 0; i < width; i++)
		v = v << 8 | m.b[off + i];
	v = (unsigned)((int)v + delta);
	for (int i = width - 1; i >= 0; i--, v >>= 8)
		m.b[off + i] = (uint8_t)v;
	records(&rec, &m, 16384);
	/* the bytes are all there: a wait is wrong unless the handshake
	 * length itself grew */
	struct app_result r;
	enum app_status st = app_parse(rec.b, rec.n, BOUND, &r);
	enum app_reason why = (enum app_reason)r.reason;
	assert_int_not_equal(st, APP_DONE);
	/* every prefix: never a name either */
	for (size_t k = 0; k < rec.n; k++)
		assert_int_not_equal(app_parse(rec.b, k, BOUND, &r), APP_DONE);
	return st == APP_NEED_MORE ? APP_R_MAX : why;
}

static void tls_lying_lengths(void **state)
{
	(void)state;
	static struct buf hs, s, g, k;
	const char *names[] = {"example.com"};
	struct ext e[] = {
		{0x0033, bytes_body(&k, 0x11, 40)},
		{0, sni_body(&s, 1, names)},
		{0x2a2a, bytes_body(&g, 0, 1)},
	};
	struct hello_offs o;
	build_hello(&hs, e, 3, &o);
	const struct {
		size_t off;
		int width;
	} f[] = {
		{o.sid, 1},       {o.suites, 2},       {o.comp, 1},
		{o.exts, 2},      {o.first_ext_len, 2}, {o.sni_at + 2, 2},
		{o.sni_list, 2},  {o.sni_name, 2},
	};
	const int deltas[] = {1, -1, 2, 255, -3};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		for (size_t d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++) {
			enum app_reason why =
				lie(&hs, f[i].off, f[i].width, deltas[d]);
			/* The first extension growing by 2 swallows the
			 * server_name header and the rest still parses as
			 * extensions: then there is no SNI. */
			if (why == APP_R_TLS_MALFORMED ||
			    (why == APP_R_SNI_MISSING && f[i].off == o.first_ext_len))
				continue;
			fail_msg("field %zu delta %d: %s", i, deltas[d],
				 app_reason_str(why));
		}
	/* The handshake length, longer or shorter, disagrees with the
	 * extensions block: found before waiting for bytes that never
	 * come. */
	assert_int_equal(lie(&hs, 1, 3, 1), APP_R_TLS_MALFORMED);
	assert_int_equal(lie(&hs, 1, 3, -1), APP_R_TLS_MALFORMED);
	assert_int_equal(lie(&hs, 1, 3, -20), APP_R_TLS_MALFORMED);
	/* below zero it wraps to ~16 MB: larger than any bound */
	assert_int_equal(lie(&hs, 1, 3, -1000), APP_R_TOO_LARGE);

	/* Record layer: zero and over-2^14 lengths, odd versions. */
	static struct buf rec;
	records(&rec, &hs, 16384);
	rec.b[3] = 0, rec.b[4] = 0;
	expect_b(&rec, APP_REFUSE, APP_R_TLS_MALFORMED, NULL);
	rec.b[3] = 0x40, rec.b[4] = 0x01;
	expect_b(&rec, APP_REFUSE, APP_R_TLS_MALFORMED, NULL);
	records(&rec, &hs, 16384);
	rec.b[2] = 0;
	expect_b(&rec, APP_REFUSE, APP_R_TLS_VERSION, NULL);
	rec.b[2] = 9;
	expect_b(&rec, APP_REFUSE, APP_R_NOT_TLS_OR_HTTP, NULL);
	/* session id longer than 32 while inside its container */
	static struct buf m;
	m = hs;
	m.b[o.sid] = 33;
	records(&rec, &m, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_TLS_MALFORMED, NULL);
}

static void tls_too_large(void **state)
{
	(void)state;
	static struct buf hs, s, pad, rec;
	const char *names[] = {"example.com"};
	struct ext e[] = {
		{0x0015, bytes_body(&pad, 0, 20000)},
		{0, sni_body(&s, 1, names)},
	};
	build_hello(&hs, e, 2, NULL);
	records(&rec, &hs, 16384);
	/* decided from the handshake header, long before the bytes come */
	struct app_result r;
	assert_int_equal(app_parse(rec.b, 9, BOUND, &r), APP_REFUSE);
	assert_int_equal(r.reason, APP_R_TOO_LARGE);
	expect(rec.b, rec.n, BOUND, APP_REFUSE, APP_R_TOO_LARGE, NULL);

	/* A hello that fits exactly is accepted; one byte less is not. */
	simple_hello(&rec, "example.com");
	expect(rec.b, rec.n, rec.n, APP_DONE, APP_R_OK, "example.com");
	expect(rec.b, rec.n, rec.n - 1, APP_REFUSE, APP_R_TOO_LARGE, NULL);
	/* Record headers count too: the same hello in 1-byte records. */
	static struct buf h2;
	build_hello(&h2, (struct ext[]){{0, sni_body(&s, 1, names)}}, 1, NULL);
	records(&rec, &h2, 1);
	expect(rec.b, rec.n, rec.n, APP_DONE, APP_R_OK, "example.com");
	expect(rec.b, rec.n, rec.n - 1, APP_REFUSE, APP_R_TOO_LARGE, NULL);
}

static void tls_multiple(void **state)
{
	(void)state;
	static struct buf hs, s, s2, rec;
	const char *names[] = {"a.example.com", "b.example.com"};
	build_hello(&hs, (struct ext[]){{0, sni_body(&s, 2, names)}}, 1, NULL);
	records(&rec, &hs, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_SNI_MULTIPLE, NULL);
	/* two server_name extensions (RFC 8446 4.2: at most one of each) */
	build_hello(&hs,
		    (struct ext[]){{0, sni_body(&s, 1, names)},
				   {0, sni_body(&s2, 1, names + 1)}},
		    2, NULL);
	records(&rec, &hs, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_SNI_MULTIPLE, NULL);
	/* an unknown name type cannot be skipped: malformed */
	build_hello(&hs, (struct ext[]){{0, sni_body(&s, 1, names)}}, 1, NULL);
	hs.b[hs.n - strlen(names[0]) - 3] = 1;
	records(&rec, &hs, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_TLS_MALFORMED, NULL);
}

/* Every rotation of a GREASE-laden extension list, so the SNI comes
 * first, last and everywhere between. */
static void tls_grease_shuffled(void **state)
{
	(void)state;
	static struct buf hs, rec, bodies[8];
	const char *names[] = {"packages.microsoft.com"};
	struct ext base[] = {
		{0x0a0a, bytes_body(&bodies[0], 0, 0)},
		{0, sni_body(&bodies[1], 1, names)},
		{0x0017, bytes_body(&bodies[2], 0, 0)},
		{0x000a, bytes_body(&bodies[3], 0x1d, 8)},
		{0x0033, bytes_body(&bodies[4], 0x5a, 38)},
		{0xfafa, bytes_body(&bodies[5], 0, 1)},
		{0x0010, bytes_body(&bodies[6], 0x68, 12)},
		{0x002b, bytes_body(&bodies[7], 0x03, 7)},
	};
	enum { N = 8 };
	for (int rot = 0; rot < N; rot++) {
		struct ext e[N];
		for (int i = 0; i < N; i++)
			e[i] = base[(i + rot) % N];
		build_hello(&hs, e, N, NULL);
		records(&rec, &hs, 16384);
		expect_b(&rec, APP_DONE, APP_R_OK, names[0]);
	}
}

/* Chrome 131+'s hello: X25519MLKEM768 key share (1216 bytes) makes it
 * ~1.9 KB, two TCP segments; with the SNI shuffled to the end it lies
 * in the second one. */
static void chrome_like(struct buf *rec, bool ech)
{
	static struct buf hs, b[16];
	const char *names[] = {"mcr.microsoft.com"};
	/* key_share: GREASE share, X25519MLKEM768 (0x11ec), x25519 */
	struct buf *ks = &b[0];
	ks->n = 0;
	put16(ks, (4 + 1) + (4 + 1216) + (4 + 32));
	put16(ks, 0x4a4a), put16(ks, 1), put8(ks, 0);
	put16(ks, 0x11ec), put16(ks, 1216), fill(ks, 0xaa, 1216);
	put16(ks, 0x001d), put16(ks, 32), fill(ks, 0xbb, 32);
	struct ext e[] = {
		{0x3a3a, bytes_body(&b[1], 0, 0)},
		{0x0033, ks},
		{0x002d, bytes_body(&b[2], 1, 2)},
		{0x000a, bytes_body(&b[3], 0x1d, 12)},
		{0x0023, bytes_body(&b[4], 0, 0)},
		{0x0010, bytes_body(&b[5], 0x68, 14)},
		{0x000d, bytes_body(&b[6], 0x04, 18)},
		{0x0005, bytes_body(&b[7], 0, 5)},
		{0x0012, bytes_body(&b[8], 0, 0)},
		{0x001b, bytes_body(&b[9], 0x02, 3)},
		{0x44cd, bytes_body(&b[10], 0x68, 5)},
		{0xfe0d, bytes_body(&b[11], 0x00, ech ? 250 : 0)},
		{0xff01, bytes_body(&b[12], 0, 1)},
		{0x002b, bytes_body(&b[13], 0x03, 7)},
		{0x0017, bytes_body(&b[14], 0, 0)},
		{0, sni_body(&b[15], 1, names)},
	};
	int n = (int)(sizeof(e) / sizeof(e[0]));
	if (!ech) { /* drop the ECH extension */
		memmove(&e[11], &e[12], sizeof(e[0]) * 4);
		n--;
	}
	struct hello_offs o;
	build_hello(&hs, e, n, &o);
	records(rec, &hs, 16384);
	assert_true(5 + o.sni_at > 1400); /* past the first 1448-byte segment */
	assert_true(rec->n > 1448);
}

static void tls_chrome_split(void **state)
{
	(void)state;
	static struct buf rec;
	struct app_result r;
	chrome_like(&rec, false);
	/* the first segment alone: wait; both: the name */
	assert_int_equal(app_parse(rec.b, 1448, BOUND, &r), APP_NEED_MORE);
	expect_b(&rec, APP_DONE, APP_R_OK, "mcr.microsoft.com");
	/* a 1 KB bound (what broke middleboxes did) refuses it, by name */
	expect(rec.b, rec.n, 1024, APP_REFUSE, APP_R_TOO_LARGE, NULL);
}

static void tls_ech(void **state)
{
	(void)state;
	static struct buf rec;
	struct app_result r;
	chrome_like(&rec, true);
	expect_b(&rec, APP_DONE, APP_R_OK, "mcr.microsoft.com");
	app_parse(rec.b, rec.n, BOUND, &r);
	assert_int_equal(r.ech, 1);
}

static void tls_names(void **state)
{
	(void)state;
	static struct buf b;
	const struct {
		const char *sni;
		enum app_status st;
		enum app_reason why;
		const char *name;
	} t[] = {
		{"203.0.113.10", APP_REFUSE, APP_R_SNI_IP_LITERAL, NULL},
		{"10.1", APP_REFUSE, APP_R_SNI_IP_LITERAL, NULL},
		{"0x7f.1", APP_REFUSE, APP_R_SNI_IP_LITERAL, NULL},
		{"2001:db8::1", APP_REFUSE, APP_R_SNI_IP_LITERAL, NULL},
		{"a..b", APP_REFUSE, APP_R_SNI_INVALID, NULL},
		{".", APP_REFUSE, APP_R_SNI_INVALID, NULL},
		{"exa mple.com", APP_REFUSE, APP_R_SNI_INVALID, NULL},
		{"ex\xc3\xa4mple.com", APP_REFUSE, APP_R_SNI_INVALID, NULL},
		{"my_host.Example.com", APP_DONE, APP_R_OK, "my_host.example.com"},
		{"xn--bcher-kva.example", APP_DONE, APP_R_OK,
		 "xn--bcher-kva.example"},
		{"1password.com", APP_DONE, APP_R_OK, "1password.com"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		simple_hello(&b, t[i].sni);
		expect_b(&b, t[i].st, t[i].why, t[i].name);
	}
	/* 63-byte label fine, 64 not; 253 bytes fine, 254 (+ no dot) not */
	char n[400];
	memset(n, 'a', 63);
	strcpy(n + 63, ".com");
	simple_hello(&b, n);
	expect_b(&b, APP_DONE, APP_R_OK, n);
	memset(n, 'a', 64);
	strcpy(n + 64, ".com");
	simple_hello(&b, n);
	expect_b(&b, APP_REFUSE, APP_R_SNI_INVALID, NULL);
	for (int i = 0; i < 4; i++) {
		memset(n + i * 64, 'b', 63);
		n[i * 64 + 63] = '.';
	}
	n[253] = '\0'; /* 4 x 63 + 3 dots = 255: cut to 253, ends in 'b' */
	n[252] = 'c';
	simple_hello(&b, n);
	expect_b(&b, APP_DONE, APP_R_OK, n);
	n[253] = 'd', n[254] = '\0';
	simple_hello(&b, n);
	expect_b(&b, APP_REFUSE, APP_R_SNI_INVALID, NULL);
	/* a 300-byte name (longer than any kept copy) */
	memset(n, 'a', 300);
	n[300] = '\0';
	simple_hello(&b, n);
	expect_b(&b, APP_REFUSE, APP_R_SNI_INVALID, NULL);
}

static void tls_no_sni(void **state)
{
	(void)state;
	static struct buf hs, rec, v;
	build_hello(&hs, (struct ext[]){{0x002b, bytes_body(&v, 3, 3)}}, 1,
		    NULL);
	records(&rec, &hs, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_SNI_MISSING, NULL);
	/* no extensions at all (TLS 1.0 era) */
	build_hello(&hs, NULL, -1, NULL);
	records(&rec, &hs, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_SNI_MISSING, NULL);
	/* an empty extension block */
	build_hello(&hs, NULL, 0, NULL);
	records(&rec, &hs, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_SNI_MISSING, NULL);
	/* empty server_name extension body: malformed in a hello */
	build_hello(&hs, (struct ext[]){{0, bytes_body(&v, 0, 0)}}, 1, NULL);
	records(&rec, &hs, 16384);
	expect_b(&rec, APP_REFUSE, APP_R_TLS_MALFORMED, NULL);
}

static void tls_not_hello(void **state)
{
	(void)state;
	static struct buf b;
	simple_hello(&b, "example.com");
	b.b[5] = 2; /* ServerHello */
	expect_b(&b, APP_REFUSE, APP_R_TLS_NOT_HELLO, NULL);
	simple_hello(&b, "example.com");
	b.b[9] = 3, b.b[10] = 0; /* legacy_version SSL 3.0 */
	expect_b(&b, APP_REFUSE, APP_R_TLS_VERSION, NULL);
	/* SSLv2-compatible CLIENT-HELLO offering TLS 1.0 */
	const uint8_t v2[] = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15};
	expect(v2, sizeof(v2), BOUND, APP_REFUSE, APP_R_TLS_VERSION, NULL);
}

/* Neither TLS nor HTTP: decided at the first byte that says so. */
static void other_protocols(void **state)
{
	(void)state;
	struct app_result r;
	const uint8_t one[] = {0x16};
	assert_int_equal(app_parse(one, 0, BOUND, &r), APP_NEED_MORE);
	assert_int_equal(app_parse(one, 1, BOUND, &r), APP_NEED_MORE);
	assert_int_equal(r.kind, APP_KIND_UNKNOWN);
	const uint8_t tlsish[] = {0x16, 0x41};
	assert_int_equal(app_parse(tlsish, 2, BOUND, &r), APP_REFUSE);
	assert_int_equal(r.kind, APP_KIND_OTHER);
	assert_int_equal(r.reason, APP_R_NOT_TLS_OR_HTTP);
	const char *o[] = {"SSH-2.0-OpenSSH_9.2p1\r\n", "\x00\x01", "get / HTTP/1.1\r\n",
			   "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n"};
	const size_t on[] = {23, 2, 16, 24, 39};
	for (size_t i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
		expect((const uint8_t *)o[i], on[i], BOUND, APP_REFUSE,
		       APP_R_NOT_TLS_OR_HTTP, NULL);
		assert_int_equal(app_parse((const uint8_t *)o[i], on[i], BOUND,
					   &r),
				 APP_REFUSE);
		assert_int_equal(r.kind, APP_KIND_OTHER);
	}
	/* decided at the first byte */
	assert_int_equal(app_parse((const uint8_t *)"S", 1, BOUND, &r),
			 APP_NEED_MORE);
	assert_int_equal(app_parse((const uint8_t *)"\x00", 1, BOUND, &r),
			 APP_REFUSE);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                 */
/* ------------------------------------------------------------------ */

static void http_host(void **state)
{
	(void)state;
	struct app_result r;
	expect_s("GET / HTTP/1.1\r\nHost: mcr.microsoft.com\r\n\r\n", APP_DONE,
		 APP_R_OK, "mcr.microsoft.com");
	expect_s("GET /x HTTP/1.1\r\nUser-Agent: t\r\nhOsT:   Packages.Microsoft.COM.:8080 \t\r\n"
		 "Accept: */*\r\n\r\n",
		 APP_DONE, APP_R_OK, "packages.microsoft.com");
	/* a body or a pipelined request after the head changes nothing */
	const char *s = "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n"
			"GET / HTTP/1.1\r\nHost: b.example\r\n\r\n";
	assert_int_equal(app_parse((const uint8_t *)s, strlen(s), BOUND, &r),
			 APP_DONE);
	assert_string_equal(r.name, "a.example");
	assert_int_equal(r.port, 8080);
	assert_int_equal(r.kind, APP_KIND_HTTP);
	/* bare LF line ends (RFC 9112 section 2.2) */
	expect_s("HEAD / HTTP/1.0\nHost: example.com\n\n", APP_DONE, APP_R_OK,
		 "example.com");
	expect_s("OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n", APP_DONE,
		 APP_R_OK, "example.com");
	expect_s("M-SEARCH / HTTP/1.1\r\nHost: example.com\r\n\r\n", APP_DONE,
		 APP_R_OK, "example.com");
	/* A header whose name only starts with "host" is not Host. */
	expect_s("GET / HTTP/1.1\r\nHosts: a.com\r\nHost: b.com\r\n\r\n",
		 APP_DONE, APP_R_OK, "b.com");
}

static void http_absolute_connect(void **state)
{
	(void)state;
	struct app_result r;
	/* absolute-form overrides Host (RFC 9112 section 3.2.2) */
	const char *a = "GET http://Allowed.Example:8080/p?q HTTP/1.1\r\n"
			"Host: other.example\r\n\r\n";
	expect_s(a, APP_DONE, APP_R_OK, "allowed.example");
	app_parse((const uint8_t *)a, strlen(a), BOUND, &r);
	assert_int_equal(r.port, 8080);
	expect_s("GET http://allowed.example HTTP/1.0\r\n\r\n", APP_DONE,
		 APP_R_OK, "allowed.example");
	expect_s("GET http://user@allowed.example/ HTTP/1.1\r\nHost: x\r\n\r\n",
		 APP_REFUSE, APP_R_HTTP_HOST_INVALID, NULL);
	expect_s("GET http:///x HTTP/1.1\r\nHost: x.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_HOST_INVALID, NULL);
	expect_s("GET x.com/ HTTP/1.1\r\nHost: x.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	/* CONNECT authority-form: the tunnel's destination */
	const char *c = "CONNECT mcr.microsoft.com:443 HTTP/1.1\r\n"
			"Host: mcr.microsoft.com:443\r\n\r\n";
	expect_s(c, APP_DONE, APP_R_OK, "mcr.microsoft.com");
	app_parse((const uint8_t *)c, strlen(c), BOUND, &r);
	assert_int_equal(r.port, 443);
	expect_s("CONNECT 203.0.113.1:443 HTTP/1.1\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_HOST_IP_LITERAL, NULL);
}

static void http_refusals(void **state)
{
	(void)state;
	expect_s("GET / HTTP/1.1\r\nHost: a.com\r\nHOST: b.com\r\n\r\n",
		 APP_REFUSE, APP_R_HTTP_TWO_HOSTS, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: a.com\r\nHost: a.com\r\n\r\n",
		 APP_REFUSE, APP_R_HTTP_TWO_HOSTS, NULL);
	expect_s("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nHost: b\r\n\r\n",
		 APP_REFUSE, APP_R_HTTP_TWO_HOSTS, NULL);
	expect_s("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_NO_HOST, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: \r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_NO_HOST, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: 203.0.113.10:80\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_HOST_IP_LITERAL, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_HOST_IP_LITERAL, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: a.com:99999\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_HOST_INVALID, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: a.com:8x\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_HOST_INVALID, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: a%2ecom\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_HOST_INVALID, NULL);
	/* obs-fold and whitespace before the colon (RFC 9112 section 5) */
	expect_s("GET / HTTP/1.1\r\nHost: a.com\r\n b.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	expect_s("GET / HTTP/1.1\r\nHost : a.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	expect_s("GET / HTTP/1.1\r\nX-A: 1\r\n\tHost: a.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	expect_s("GET / HTTP/1.1\r\nHost: a\rb.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	expect_s("GET / HTTP/1.1\r\nNoColon\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	expect_s("GET  / HTTP/1.1\r\nHost: a.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	expect_s("GET / HTTP/1.1 \r\nHost: a.com\r\n\r\n", APP_REFUSE,
		 APP_R_HTTP_MALFORMED, NULL);
	expect_s("GET /\r\n\r\n", APP_REFUSE, APP_R_HTTP_MALFORMED, NULL);
}

static void http_too_large(void **state)
{
	(void)state;
	static char big[20000];
	int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a.com\r\n"
					   "Cookie: ");
	memset(big + n, 'c', 17000);
	strcpy(big + n + 17000, "\r\n\r\n");
	size_t len = strlen(big);
	expect((const uint8_t *)big, len, BOUND, APP_REFUSE, APP_R_TOO_LARGE,
	       NULL);
	struct app_result r;
	assert_int_equal(app_parse((const uint8_t *)big, BOUND - 1, BOUND, &r),
			 APP_NEED_MORE);
	/* exactly at the bound is fine */
	const char *s = "GET / HTTP/1.1\r\nHost: a.com\r\n\r\n";
	expect((const uint8_t *)s, strlen(s), strlen(s), APP_DONE, APP_R_OK,
	       "a.com");
	expect((const uint8_t *)s, strlen(s), strlen(s) - 1, APP_REFUSE,
	       APP_R_TOO_LARGE, NULL);
}

/* ------------------------------------------------------------------ */
/* Verdict                                                              */
/* ------------------------------------------------------------------ */

static const char policy_yaml[] =
	"rule_collection_groups:\n"
	"  - name: g\n"
	"    priority: 100\n"
	"    rule_collections:\n"
	"      - name: deny-some\n"
	"        kind: application\n"
	"        priority: 100\n"
	"        action: deny\n"
	"        rules:\n"
	"          - name: bad\n"
	"            source_addresses: ['*']\n"
	"            protocols: ['https:443']\n"
	"            target_fqdns: [bad.example.com]\n"
	"      - name: allow-web\n"
	"        kind: application\n"
	"        priority: 200\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: tls\n"
	"            source_addresses: ['198.18.0.0/15']\n"
	"            protocols: ['https:443']\n"
	"            target_fqdns: ['*.example.com']\n"
	"          - name: plain\n"
	"            source_addresses: ['198.18.0.0/15']\n"
	"            protocols: ['http:80']\n"
	"            target_fqdns: [plain.example.org]\n";

static void verdict(void **state)
{
	(void)state;
	struct policy *p = NULL;
	struct policy_ruleset *rs = NULL;
	struct policy_scratch *s = NULL;
	struct policy_errors e = {0};
	assert_int_equal(policy_load_buf("t.yaml", policy_yaml,
					 strlen(policy_yaml), NULL, &p, &e),
			 0);
	assert_int_equal(policy_compile(p, &rs, &e), 0);
	assert_int_equal(policy_scratch_alloc(rs, &s), 0);
	struct policy_flow f = {.src = 0xc6120105, .dst = 0xcb00710a,
				.dport = 443, .ipproto = IPPROTO_TCP};
	struct policy_verdict v;
	enum app_reason why;
	struct app_result r;
	static struct buf b;

	simple_hello(&b, "WWW.Example.com");
	app_parse(b.b, b.n, BOUND, &r);
	assert_true(app_verdict(rs, s, &f, &r, &v, &why));
	assert_int_equal(why, APP_R_OK);
	assert_string_equal(policy_rule_info(rs, v.rule_id)->rule, "tls");

	simple_hello(&b, "bad.example.com"); /* deny collection first */
	app_parse(b.b, b.n, BOUND, &r);
	assert_false(app_verdict(rs, s, &f, &r, &v, &why));
	assert_int_equal(v.action, POLICY_ACTION_DENY);
	assert_string_equal(policy_rule_info(rs, v.rule_id)->rule, "bad");

	simple_hello(&b, "example.net");
	app_parse(b.b, b.n, BOUND, &r);
	assert_false(app_verdict(rs, s, &f, &r, &v, &why));
	assert_int_equal(why, APP_R_OK);
	assert_int_equal(v.reason, POLICY_REASON_APP_NO_MATCH);
	assert_int_equal(v.rule_id, POLICY_RULE_NONE);

	/* refused by the parser: denied with its reason, no rule */
	simple_hello(&b, "203.0.113.10");
	app_parse(b.b, b.n, BOUND, &r);
	assert_false(app_verdict(rs, s, &f, &r, &v, &why));
	assert_int_equal(why, APP_R_SNI_IP_LITERAL);
	assert_int_equal(v.rule_id, POLICY_RULE_NONE);
	assert_int_equal(v.action, POLICY_ACTION_DENY);

	/* HTTP is matched under the http scheme: an https:443 rule does not
	 * allow plain HTTP sent to port 443 */
	const char *h = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
	app_parse((const uint8_t *)h, strlen(h), BOUND, &r);
	assert_false(app_verdict(rs, s, &f, &r, &v, &why));
	f.dport = 80;
	h = "GET / HTTP/1.1\r\nHost: plain.example.org:80\r\n\r\n";
	app_parse((const uint8_t *)h, strlen(h), BOUND, &r);
	assert_true(app_verdict(rs, s, &f, &r, &v, &why));
	assert_string_equal(policy_rule_info(rs, v.rule_id)->rule, "plain");
	/* source outside the rule */
	f.src = 0xc0000201;
	assert_false(app_verdict(rs, s, &f, &r, &v, &why));

	policy_scratch_free(s);
	policy_ruleset_free(rs);
	policy_free(p);
	policy_errors_free(&e);
}

static void strings(void **state)
{
	(void)state;
	assert_string_equal(app_reason_str(APP_R_SNI_MISSING), "SNI missing");
	assert_string_equal(app_reason_str(APP_R_MAX), "?");
	assert_string_equal(app_kind_str(APP_KIND_TLS), "tls");
	assert_string_equal(app_kind_str(APP_KIND_HTTP), "http");
	assert_string_equal(app_kind_str(APP_KIND_UNKNOWN), "none");
	assert_string_equal(app_kind_str(APP_KIND_OTHER), "other");
}

/* ------------------------------------------------------------------ */
/* Real hellos from captures                                            */
/* ------------------------------------------------------------------ */

struct want_flow {
	const char *file;
	const char *name; /* NULL: refused with `why` */
	enum app_kind kind;
	enum app_reason why;
	bool ech;
	int min_segments; /* the hello took at least this many segments */
};

static void captures(void **state)
{
	(void)state;
	/* tools/capture-hellos.sh made these; see its header. */
	static const struct want_flow w[] = {
		{"chromium-sni-seg1.pcap", "mcr.microsoft.com", APP_KIND_TLS, 0, 0, 2},
		{"chromium-sni-seg2.pcap", "mcr.microsoft.com", APP_KIND_TLS, 0, 0, 2},
		{"chromium-denied.pcap", "www.example.com", APP_KIND_TLS, 0, 0, 2},
		{"curl-sll2.pcap", "mcr.microsoft.com", APP_KIND_TLS, 0, 0, 1},
		{"openssl-sll.pcap", "management.azure.com", APP_KIND_TLS, 0, 0, 1},
		{"gnutls-raw.pcap", "login.microsoftonline.com", APP_KIND_TLS, 0, 0, 1},
		{"python-vlan.pcap", "packages.microsoft.com", APP_KIND_TLS, 0, 0, 1},
		{"openssl-nosni.pcap", NULL, APP_KIND_TLS, APP_R_SNI_MISSING, 0, 1},
		{"curl-http.pcap", "mcr.microsoft.com", APP_KIND_HTTP, 0, 0, 1},
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		char path[512], err[256];
		snprintf(path, sizeof(path), "%s/../data/captures/%s",
			 TESTS_RULES_DIR, w[i].file);
		struct cap_flows *fl = NULL;
		if (cap_read_flows(path, BOUND, &fl, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", path, err);
			fail();
		}
		assert_true(cap_flow_count(fl) >= 1);
		const struct cap_flow *c = cap_flow_get(fl, 0);
		struct app_result r;
		enum app_status st = app_parse(c->data, c->data_len, BOUND, &r);
		fprintf(stderr, "%s: %zu bytes in %u segments: %s %s\n",
			w[i].file, c->data_len, c->segments,
			app_kind_str((enum app_kind)r.kind),
			st == APP_DONE ? r.name
				       : app_reason_str((enum app_reason)r.reason));
		assert_int_equal(r.kind, w[i].kind);
		if (w[i].name != NULL) {
			assert_int_equal(st, APP_DONE);
			assert_string_equal(r.name, w[i].name);
		} else {
			assert_int_equal(st, APP_REFUSE);
			assert_int_equal(r.reason, w[i].why);
		}
		assert_true(c->segments >= (unsigned)w[i].min_segments);
		if (w[i].min_segments >= 2) { /* larger than one 1448-byte MSS */
			struct app_result p;
			assert_true(c->data_len > 1448);
			assert_int_equal(app_parse(c->data, 1448, BOUND, &p),
					 APP_NEED_MORE);
		}
		/* every prefix waits until the hello or head is complete,
		 * then gives the same answer */
		for (size_t k = 0; k < c->data_len; k++) {
			struct app_result p;
			enum app_status ps = app_parse(c->data, k, BOUND, &p);
			if (ps == APP_NEED_MORE)
				continue;
			assert_int_equal(ps, st);
			assert_int_equal(p.reason, r.reason);
			assert_string_equal(p.name, r.name);
		}
		cap_flows_free(fl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tls_simple),
		cmocka_unit_test(tls_records),
		cmocka_unit_test(tls_truncated),
		cmocka_unit_test(tls_lying_lengths),
		cmocka_unit_test(tls_too_large),
		cmocka_unit_test(tls_multiple),
		cmocka_unit_test(tls_grease_shuffled),
		cmocka_unit_test(tls_chrome_split),
		cmocka_unit_test(tls_ech),
		cmocka_unit_test(tls_names),
		cmocka_unit_test(tls_no_sni),
		cmocka_unit_test(tls_not_hello),
		cmocka_unit_test(other_protocols),
		cmocka_unit_test(http_host),
		cmocka_unit_test(http_absolute_connect),
		cmocka_unit_test(http_refusals),
		cmocka_unit_test(http_too_large),
		cmocka_unit_test(verdict),
		cmocka_unit_test(strings),
		cmocka_unit_test(captures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
