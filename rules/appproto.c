/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS ClientHello server_name and HTTP/1.x request-head host extraction.
 *
 * Both parsers are stateless over the client's contiguous byte prefix and
 * have three distinct exits: "need more bytes" (every proper prefix of a
 * valid hello or head), "done" (the whole hello or head was read and was
 * valid) and "refuse" with a reason. They never look at a byte at or past
 * min(len, bound). A name is only ever reported once the whole hello or
 * head has been read, so a later byte can never change an earlier
 * answer: a duplicate server_name extension, a second Host header or an
 * ECH extension after the SNI are all seen before the decision.
 *
 * docs/inspection.md describes what is accepted and the limits.
 */
#include "rules/appproto.h"

#include <string.h>

#include "rules/policy.h"

static const char *const reason_str[] = {
#define X(e, s) [APP_R_##e] = s,
	APP_REASONS(X)
#undef X
};

const char *app_reason_str(enum app_reason r)
{
	return (unsigned)r < APP_R_MAX ? reason_str[r] : "?";
}

const char *app_kind_str(enum app_kind k)
{
	switch (k) {
	case APP_KIND_TLS:
		return "tls";
	case APP_KIND_HTTP:
		return "http";
	case APP_KIND_OTHER:
		return "other";
	default:
		return "none";
	}
}

static enum app_status finish(struct app_result *out, enum app_kind kind,
			      enum app_status st, enum app_reason why)
{
	out->kind = (uint8_t)kind;
	out->status = (uint8_t)st;
	out->reason = (uint8_t)why;
	return st;
}

/* "Need more", or "too large" once the bytes we lack lie at or past the
 * bound: the caller would never give us those. */
static enum app_status short_of(struct app_result *out, enum app_kind kind,
				size_t want_end, size_t bound)
{
	if (want_end > bound)
		return finish(out, kind, APP_REFUSE, APP_R_TOO_LARGE);
	return finish(out, kind, APP_NEED_MORE, APP_R_OK);
}

/* ------------------------------------------------------------------ */
/* Host names (SNI and HTTP Host)                                      */
/* ------------------------------------------------------------------ */

enum name_check {
	NAME_OK,
	NAME_IP_LITERAL,
	NAME_INVALID,
};

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Check and copy a host name: letters, digits, '-' and '_' in labels of
 * 1-63 bytes, at most 253 bytes without one trailing dot. The alphabet is
 * the policy matcher's (rules/fqdn.c), so a name we pass is one the
 * matcher can answer for; '_' is common in real service names.
 * U-labels cannot appear here: SNI and Host carry A-labels (RFC 6066
 * section 3, RFC 9110 section 7.2).
 *
 * An IPv4 literal is any name whose last label is all digits or 0x and
 * hex digits: inet_aton() and the WHATWG URL parser both read such names
 * ("10.1", "0x7f.1") as addresses, and no top-level domain is numeric
 * (RFC 3696 section 2). Anything with ':' made of hex digits, ':' and '.'
 * is an IPv6 literal.
 */
static enum name_check check_name(const uint8_t *s, size_t n,
				  struct app_result *out)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	bool v6 = n > 0, colon = false;
	for (size_t i = 0; i < n; i++) {
		colon |= s[i] == ':';
		v6 &= s[i] == ':' || s[i] == '.' || is_hex(s[i]);
	}
	if (v6 && colon) {
		out->name_len = (uint16_t)(n < APP_NAME_MAX ? n : APP_NAME_MAX);
		for (size_t i = 0; i < out->name_len; i++)
			out->name[i] = (char)(s[i] | 0x20);
		out->name[out->name_len] = '\0';
		return NAME_IP_LITERAL;
	}
	if (n == 0 || n > APP_NAME_MAX)
		return NAME_INVALID;
	size_t lab = 0, last = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		if (c == '.') {
			if (lab == 0)
				return NAME_INVALID;
			lab = 0;
			last = i + 1;
		} else if (((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' ||
			    c == '_') && lab < 63) {
			lab++;
		} else {
			return NAME_INVALID;
		}
		out->name[i] = (char)c;
	}
	if (lab == 0)
		return NAME_INVALID;
	out->name[n] = '\0';
	out->name_len = (uint16_t)n;

	const char *l = out->name + last;
	size_t ll = n - last, i = 0;
	if (ll > 2 && l[0] == '0' && l[1] == 'x')
		for (i = 2; i < ll && is_hex((unsigned char)l[i]); i++)
			;
	else
		for (i = 0; i < ll && is_digit((unsigned char)l[i]); i++)
			;
	return i == ll ? NAME_IP_LITERAL : NAME_OK;
}

/* ------------------------------------------------------------------ */
/* TLS                                                                  */
/* ------------------------------------------------------------------ */

#define TLS_REC_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_REC_HDR 5
#define TLS_REC_MAX 16384 /* RFC 8446 section 5.1: length <= 2^14 */
#define TLS_EXT_SERVER_NAME 0x0000
#define TLS_EXT_ECH 0xfe0d /* draft-ietf-tls-esni: encrypted_client_hello */
#define TLS_SNI_HOST_NAME 0

/*
 * A forward-only reader over the handshake message, which may be split
 * across any number of records (RFC 8446 section 5.1). It steps over
 * record headers as it goes, so fields that straddle records read like
 * any other. Once `st` is set every read fails and returns zero.
 */
struct tls_cur {
	const uint8_t *buf;
	size_t len, bound;
	size_t pos;      /* physical offset of the next byte */
	size_t rec_left; /* payload bytes left in the current record */
	enum app_status st;
	enum app_reason why;
};

static bool cur_fail(struct tls_cur *c, enum app_status st,
		     enum app_reason why)
{
	if (c->st == APP_DONE) { /* first failure wins */
		c->st = st;
		c->why = why;
	}
	return false;
}

/* Physical bytes [pos, end) are needed: are they there? */
static bool cur_have(struct tls_cur *c, size_t end)
{
	if (end > c->bound)
		return cur_fail(c, APP_REFUSE, APP_R_TOO_LARGE);
	if (end > c->len)
		return cur_fail(c, APP_NEED_MORE, APP_R_OK);
	return true;
}

/* Step over the next record header. Every record carrying the hello
 * must be a handshake record: RFC 8446 section 5.1 forbids interleaving
 * other content types within a handshake message. */
static bool cur_next_record(struct tls_cur *c)
{
	if (!cur_have(c, c->pos + TLS_REC_HDR))
		return false;
	const uint8_t *h = c->buf + c->pos;
	size_t rl = (size_t)h[3] << 8 | h[4];
	if (h[0] != TLS_REC_HANDSHAKE || h[1] != 3 || h[2] < 1 || h[2] > 4 ||
	    rl == 0 || rl > TLS_REC_MAX)
		return cur_fail(c, APP_REFUSE, APP_R_TLS_MALFORMED);
	c->pos += TLS_REC_HDR;
	c->rec_left = rl;
	return true;
}

/* Skip n message bytes; they must be present, since the decision needs
 * the whole message. One step per record, not per byte. */
static bool cur_skip(struct tls_cur *c, size_t n)
{
	while (n > 0 && c->st == APP_DONE) {
		if (c->rec_left == 0 && !cur_next_record(c))
			return false;
		size_t k = n < c->rec_left ? n : c->rec_left;
		if (!cur_have(c, c->pos + k))
			return false;
		c->pos += k;
		c->rec_left -= k;
		n -= k;
	}
	return c->st == APP_DONE;
}

static unsigned cur_u8(struct tls_cur *c)
{
	if (c->st != APP_DONE)
		return 0;
	if (c->rec_left == 0 && !cur_next_record(c))
		return 0;
	if (!cur_have(c, c->pos + 1))
		return 0;
	c->rec_left--;
	return c->buf[c->pos++];
}

static unsigned cur_u16(struct tls_cur *c)
{
	unsigned hi = cur_u8(c);
	return hi << 8 | cur_u8(c);
}

/* Copy n message bytes into dst (at most cap of them; the rest are
 * skipped). */
static void cur_copy(struct tls_cur *c, uint8_t *dst, size_t n, size_t cap)
{
	for (size_t i = 0; i < n && i < cap; i++)
		dst[i] = (uint8_t)cur_u8(c);
	if (n > cap)
		cur_skip(c, n - cap);
}

/*
 * server_name (RFC 6066 section 3): ServerNameList of (type, opaque
 * name<1..2^16-1>). Only host_name (0) is defined, and the list "MUST
 * NOT contain more than one name of the same name_type"; an unknown type
 * cannot be skipped (its encoding is not defined), so it is malformed.
 * The first name is copied to raw (at most sizeof(raw) bytes of it).
 */
static void parse_sni(struct tls_cur *c, size_t ext_len, uint8_t *raw,
		      size_t *raw_len, unsigned *n_names)
{
	if (ext_len < 2) {
		cur_fail(c, APP_REFUSE, APP_R_TLS_MALFORMED);
		return;
	}
	size_t list = cur_u16(c);
	if (list + 2 != ext_len || list == 0) {
		cur_fail(c, APP_REFUSE, APP_R_TLS_MALFORMED);
		return;
	}
	/* Each entry takes at least 4 bytes: bounded by list / 4. */
	while (list > 0 && c->st == APP_DONE) {
		if (list < 3) {
			cur_fail(c, APP_REFUSE, APP_R_TLS_MALFORMED);
			return;
		}
		unsigned type = cur_u8(c);
		size_t nl = cur_u16(c);
		if (c->st != APP_DONE)
			return;
		if (type != TLS_SNI_HOST_NAME || nl == 0 || nl > list - 3) {
			cur_fail(c, APP_REFUSE, APP_R_TLS_MALFORMED);
			return;
		}
		if (++*n_names == 1) {
			*raw_len = nl;
			cur_copy(c, raw, nl, APP_NAME_MAX + 2);
		} else {
			cur_skip(c, nl);
		}
		list -= 3 + nl;
	}
}

static enum app_status tls_parse(const uint8_t *buf, size_t len, size_t bound,
				 struct app_result *out)
{
	/* The first record header and the first payload byte decide early
	 * what a flow is, before the rest of the hello arrives. */
	if ((len >= 2 && buf[1] != 3) || (len >= 3 && buf[2] > 4))
		return finish(out, APP_KIND_OTHER, APP_REFUSE,
			      APP_R_NOT_TLS_OR_HTTP);
	if (len >= 3 && buf[2] == 0) /* SSL 3.0 record */
		return finish(out, APP_KIND_TLS, APP_REFUSE, APP_R_TLS_VERSION);
	if (len >= TLS_REC_HDR &&
	    ((buf[3] == 0 && buf[4] == 0) || ((size_t)buf[3] << 8 | buf[4]) >
						      TLS_REC_MAX))
		return finish(out, APP_KIND_TLS, APP_REFUSE,
			      APP_R_TLS_MALFORMED);
	if (len > TLS_REC_HDR && buf[TLS_REC_HDR] != TLS_HS_CLIENT_HELLO)
		return finish(out, APP_KIND_TLS, APP_REFUSE,
			      APP_R_TLS_NOT_HELLO);

	struct tls_cur c = {.buf = buf, .len = len, .bound = bound,
			    .st = APP_DONE};
	cur_u8(&c); /* handshake type, checked above */
	unsigned hi = cur_u8(&c);
	size_t hs_len = (size_t)hi << 16 | cur_u16(&c);
	if (c.st != APP_DONE)
		return finish(out, len >= 3 ? APP_KIND_TLS : APP_KIND_UNKNOWN,
			      c.st, c.why);
	if (TLS_REC_HDR + 4 + hs_len > bound)
		return finish(out, APP_KIND_TLS, APP_REFUSE, APP_R_TOO_LARGE);

	/* ClientHello (RFC 8446 section 4.1.2), field by field; `left` is
	 * what the handshake length leaves for the rest, and every inner
	 * length is checked against it before anything is read. */
	size_t left = hs_len;
	uint8_t raw[APP_NAME_MAX + 2];
	size_t raw_len = 0;
	unsigned n_names = 0, n_sni_ext = 0;
	size_t vec;

	if (left < 2 + 32 + 1)
		goto malformed;
	unsigned ver = cur_u16(&c);
	cur_skip(&c, 32); /* random */
	vec = cur_u8(&c);  /* legacy_session_id <0..32> */
	left -= 35;
	if (c.st != APP_DONE)
		goto out;
	if ((ver >> 8) != 3)
		goto malformed;
	if (ver < 0x0301)
		return finish(out, APP_KIND_TLS, APP_REFUSE, APP_R_TLS_VERSION);
	if (vec > 32 || vec > left)
		goto malformed;
	cur_skip(&c, vec);
	left -= vec;

	if (left < 2)
		goto malformed;
	vec = cur_u16(&c); /* cipher_suites <2..2^16-2> */
	left -= 2;
	if (c.st != APP_DONE)
		goto out;
	if (vec < 2 || vec % 2 != 0 || vec > left)
		goto malformed;
	cur_skip(&c, vec);
	left -= vec;

	if (left < 1)
		goto malformed;
	vec = cur_u8(&c); /* legacy_compression_methods <1..2^8-1> */
	left -= 1;
	if (c.st != APP_DONE)
		goto out;
	if (vec < 1 || vec > left)
		goto malformed;
	cur_skip(&c, vec);
	left -= vec;

	/* A hello without extensions (TLS 1.0 era) has no SNI. */
	if (left > 0) {
		if (left < 2)
			goto malformed;
		vec = cur_u16(&c);
		left -= 2;
		if (c.st != APP_DONE)
			goto out;
		if (vec != left) /* nothing may follow the extensions */
			goto malformed;
		/* Each extension takes at least 4 bytes: bounded by
		 * hs_len / 4 iterations. */
		while (left > 0 && c.st == APP_DONE) {
			if (left < 4)
				goto malformed;
			unsigned type = cur_u16(&c);
			size_t el = cur_u16(&c);
			left -= 4;
			if (c.st != APP_DONE)
				goto out;
			if (el > left)
				goto malformed;
			left -= el;
			if (type == TLS_EXT_SERVER_NAME) {
				n_sni_ext++;
				parse_sni(&c, el, raw, &raw_len, &n_names);
			} else {
				/* GREASE (RFC 8701) and every other extension:
				 * skipped, whatever their position. */
				if (type == TLS_EXT_ECH)
					out->ech = 1;
				cur_skip(&c, el);
			}
		}
	}
out:
	if (c.st != APP_DONE)
		return finish(out, APP_KIND_TLS, c.st, c.why);
	if (n_sni_ext == 0)
		return finish(out, APP_KIND_TLS, APP_REFUSE, APP_R_SNI_MISSING);
	if (n_sni_ext > 1 || n_names > 1)
		return finish(out, APP_KIND_TLS, APP_REFUSE, APP_R_SNI_MULTIPLE);
	switch (raw_len > sizeof(raw) ? NAME_INVALID
				      : check_name(raw, raw_len, out)) {
	case NAME_OK:
		return finish(out, APP_KIND_TLS, APP_DONE, APP_R_OK);
	case NAME_IP_LITERAL:
		return finish(out, APP_KIND_TLS, APP_REFUSE,
			      APP_R_SNI_IP_LITERAL);
	default:
		out->name_len = 0;
		out->name[0] = '\0';
		return finish(out, APP_KIND_TLS, APP_REFUSE, APP_R_SNI_INVALID);
	}
malformed:
	return finish(out, APP_KIND_TLS, APP_REFUSE, APP_R_TLS_MALFORMED);
}

/* ------------------------------------------------------------------ */
/* HTTP/1.x                                                             */
/* ------------------------------------------------------------------ */

#define HTTP_METHOD_MAX 20 /* longest registered method: 16 bytes */

/* Methods are tokens (RFC 9110 section 9.1); in practice upper-case
 * letters and '-' or '_' (M-SEARCH, VERSION-CONTROL). Accepting only
 * these lets the first byte of most other protocols ("SSH-2.0", a binary
 * header) tell us at once that the flow is not HTTP. */
static bool method_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/* tchar, RFC 9110 section 5.6.2 */
static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       is_digit(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-value bytes (RFC 9110 section 5.5): VCHAR, obs-text, SP, HTAB */
static bool value_char(unsigned char c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

struct span {
	const uint8_t *p;
	size_t n;
};

/*
 * uri-host [ ":" port ] (RFC 9110 section 7.2, RFC 3986 section 3.2):
 * the name, or why it is not one. A bracketed IPv6 literal is an IP
 * literal; userinfo ("user@host") is refused rather than stripped, since
 * RFC 9110 section 4.2.4 forbids it in http(s) URIs and clients disagree
 * about where it ends.
 */
static enum name_check parse_authority(struct span a, struct app_result *out)
{
	size_t hn = a.n;
	const uint8_t *colon = NULL;
	if (a.n == 0 || memchr(a.p, '@', a.n) != NULL)
		return NAME_INVALID;
	if (a.n > 0 && a.p[0] == '[') {
		const uint8_t *rb = memchr(a.p, ']', a.n);
		if (rb == NULL)
			return NAME_INVALID;
		hn = (size_t)(rb - a.p) + 1;
		if (hn < a.n && a.p[hn] != ':')
			return NAME_INVALID;
		colon = hn < a.n ? a.p + hn : NULL;
	} else {
		colon = memchr(a.p, ':', a.n);
		if (colon != NULL)
			hn = (size_t)(colon - a.p);
	}
	if (colon != NULL) {
		const uint8_t *d = colon + 1, *end = a.p + a.n;
		unsigned port = 0;
		if (end - d > 5)
			return NAME_INVALID;
		for (; d < end; d++) {
			if (!is_digit(*d))
				return NAME_INVALID;
			port = port * 10 + (*d - '0');
		}
		if (port > 65535 || (port == 0 && end > colon + 1))
			return NAME_INVALID;
		out->port = (uint16_t)port;
	}
	if (a.p[0] == '[') {
		if (hn < 3)
			return NAME_INVALID;
		/* check_name() sees the inside of the brackets. */
		enum name_check k = check_name(a.p + 1, hn - 2, out);
		return k == NAME_IP_LITERAL ? k : NAME_INVALID;
	}
	return check_name(a.p, hn, out);
}

/* The authority of an absolute-form target "scheme://authority[/?#...]"
 * (RFC 9112 section 3.2.2). False when the target is not absolute-form. */
static bool absolute_authority(struct span t, struct span *a)
{
	size_t i = 0;
	while (i < t.n && (((t.p[i] | 0x20) >= 'a' && (t.p[i] | 0x20) <= 'z') ||
			   (i > 0 && (is_digit(t.p[i]) || t.p[i] == '+' ||
				      t.p[i] == '-' || t.p[i] == '.'))))
		i++;
	if (i == 0 || t.n - i < 3 || memcmp(t.p + i, "://", 3) != 0)
		return false;
	a->p = t.p + i + 3;
	a->n = 0;
	while (a->n < t.n - i - 3 && a->p[a->n] != '/' && a->p[a->n] != '?' &&
	       a->p[a->n] != '#')
		a->n++;
	return true;
}

static bool host_header(const uint8_t *name, size_t n)
{
	return n == 4 && (name[0] | 0x20) == 'h' && (name[1] | 0x20) == 'o' &&
	       (name[2] | 0x20) == 's' && (name[3] | 0x20) == 't';
}

static enum app_status http_decide(struct span target, bool connect,
				   unsigned n_host, struct span host,
				   struct app_result *out)
{
	struct span a;
	enum name_check k;
	/* RFC 9112 section 3.2: a server MUST reject a request with more
	 * than one Host header, whatever the target. */
	if (n_host > 1)
		return finish(out, APP_KIND_HTTP, APP_REFUSE,
			      APP_R_HTTP_TWO_HOSTS);
	if (connect) {
		/* authority-form (section 3.2.3): the tunnel's destination */
		k = parse_authority(target, out);
	} else if (absolute_authority(target, &a)) {
		/* absolute-form: the target's authority, not Host, names the
		 * resource (section 3.2.2) */
		if (a.n == 0)
			return finish(out, APP_KIND_HTTP, APP_REFUSE,
				      APP_R_HTTP_HOST_INVALID);
		k = parse_authority(a, out);
	} else if (target.p[0] != '/' && !(target.n == 1 && target.p[0] == '*')) {
		return finish(out, APP_KIND_HTTP, APP_REFUSE,
			      APP_R_HTTP_MALFORMED);
	} else if (n_host == 0 || host.n == 0) {
		return finish(out, APP_KIND_HTTP, APP_REFUSE, APP_R_HTTP_NO_HOST);
	} else {
		k = parse_authority(host, out);
	}
	switch (k) {
	case NAME_OK:
		return finish(out, APP_KIND_HTTP, APP_DONE, APP_R_OK);
	case NAME_IP_LITERAL:
		return finish(out, APP_KIND_HTTP, APP_REFUSE,
			      APP_R_HTTP_HOST_IP_LITERAL);
	default:
		out->name_len = 0;
		out->name[0] = '\0';
		out->port = 0;
		return finish(out, APP_KIND_HTTP, APP_REFUSE,
			      APP_R_HTTP_HOST_INVALID);
	}
}

/* One line of the head: [p, eol) without its CRLF or bare LF (RFC 9112
 * section 2.2 lets a recipient accept a bare LF). A CR anywhere else is
 * refused as the same section allows. */
static bool line_end(const uint8_t *p, const uint8_t *lim, const uint8_t **eol,
		     const uint8_t **next)
{
	const uint8_t *lf = memchr(p, '\n', (size_t)(lim - p));
	if (lf == NULL)
		return false;
	*next = lf + 1;
	*eol = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
	return true;
}

static enum app_status http_parse(const uint8_t *buf, size_t len, size_t bound,
				  struct app_result *out)
{
	size_t lim = len < bound ? len : bound;
	size_t m = 0;
	/* method SP: decided byte by byte, so a non-HTTP flow is known at
	 * its first odd byte */
	for (;; m++) {
		if (m == lim)
			return short_of(out, APP_KIND_UNKNOWN, m + 1, bound);
		if (buf[m] == ' ' && m > 0)
			break;
		if (!method_char(buf[m]) || m == HTTP_METHOD_MAX)
			return finish(out, APP_KIND_OTHER, APP_REFUSE,
				      APP_R_NOT_TLS_OR_HTTP);
	}

	const uint8_t *p = buf, *lim_p = buf + lim, *eol, *next;
	if (!line_end(p, lim_p, &eol, &next))
		return short_of(out, APP_KIND_HTTP, lim + 1, bound);
	/* request-line = method SP request-target SP HTTP-version */
	struct span target = {buf + m + 1, 0};
	while (target.p + target.n < eol && target.p[target.n] > 0x20 &&
	       target.p[target.n] < 0x7f)
		target.n++;
	const uint8_t *v = target.p + target.n;
	if (target.n == 0 || eol - v != 9 || v[0] != ' ' ||
	    memcmp(v + 1, "HTTP/", 5) != 0 || !is_digit(v[6]) || v[7] != '.' ||
	    !is_digit(v[8]))
		return finish(out, APP_KIND_HTTP, APP_REFUSE,
			      APP_R_HTTP_MALFORMED);
	if (v[6] != '1')
		return finish(out, APP_KIND_OTHER, APP_REFUSE,
			      APP_R_NOT_TLS_OR_HTTP);
	bool connect = m == 7 && memcmp(buf, "CONNECT", 7) == 0;

	/* field-line = field-name ":" OWS field-value OWS (RFC 9112 section
	 * 5); one line per iteration, bounded by `lim`. */
	unsigned n_host = 0;
	struct span host = {NULL, 0};
	for (p = next;; p = next) {
		if (!line_end(p, lim_p, &eol, &next))
			return short_of(out, APP_KIND_HTTP, lim + 1, bound);
		if (eol == p)
			break; /* the empty line: the head is complete */
		const uint8_t *c = p;
		/* obs-fold and whitespace before the colon (section 5.1,
		 * 5.2) are refused, as a server must or may. */
		while (c < eol && tchar(*c))
			c++;
		if (c == p || c == eol || *c != ':')
			return finish(out, APP_KIND_HTTP, APP_REFUSE,
				      APP_R_HTTP_MALFORMED);
		const uint8_t *val = c + 1, *ve = eol;
		for (const uint8_t *q = val; q < eol; q++)
			if (!value_char(*q))
				return finish(out, APP_KIND_HTTP, APP_REFUSE,
					      APP_R_HTTP_MALFORMED);
		while (val < ve && (*val == ' ' || *val == '\t'))
			val++;
		while (ve > val && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (host_header(p, (size_t)(c - p)) && n_host++ == 0)
			host = (struct span){val, (size_t)(ve - val)};
	}
	return http_decide(target, connect, n_host, host, out);
}

/* ------------------------------------------------------------------ */

enum app_status app_parse(const uint8_t *buf, size_t len, size_t bound,
			  struct app_result *out)
{
	out->ech = 0;
	out->port = 0;
	out->name_len = 0;
	out->name[0] = '\0';
	if (len == 0 || bound == 0)
		return short_of(out, APP_KIND_UNKNOWN, 1, bound);
	if (buf[0] == TLS_REC_HANDSHAKE)
		return tls_parse(buf, len, bound, out);
	/* SSL 2.0 CLIENT-HELLO, also the "compatible" form old clients sent
	 * to offer TLS: a 2-byte length with the top bit set, then message
	 * type 1 (RFC 6101 appendix E.2). TLS 1.2+ servers must not accept
	 * it (RFC 6176, RFC 8446 appendix D.5). */
	if (buf[0] & 0x80) {
		if (len < 3)
			return short_of(out, APP_KIND_UNKNOWN, 3, bound);
		if (buf[2] == 1)
			return finish(out, APP_KIND_TLS, APP_REFUSE,
				      APP_R_TLS_VERSION);
		return finish(out, APP_KIND_OTHER, APP_REFUSE,
			      APP_R_NOT_TLS_OR_HTTP);
	}
	return http_parse(buf, len, bound, out);
}

bool app_verdict(const struct policy_ruleset *rs, struct policy_scratch *s,
		 const struct policy_flow *f, const struct app_result *r,
		 struct policy_verdict *v, enum app_reason *why)
{
	if (r->status == APP_DONE) {
		*why = APP_R_OK;
		policy_match_app(rs, s, f,
				 r->kind == APP_KIND_TLS ? POLICY_SCHEME_HTTPS
							 : POLICY_SCHEME_HTTP,
				 r->name, r->name_len, v);
		return v->action == POLICY_ACTION_ALLOW;
	}
	/* Refused before any name was known (or, defensively, asked before
	 * the parse finished): default deny, no rule. */
	*why = (enum app_reason)r->reason;
	*v = (struct policy_verdict){.action = POLICY_ACTION_DENY,
				     .stage = POLICY_STAGE_DEFAULT,
				     .reason = POLICY_REASON_NO_RULE,
				     .rule_id = POLICY_RULE_NONE};
	return false;
}
