/* SPDX-License-Identifier: BSD-3-Clause
 * Classic pcap reader and TCP client-stream reassembly for tollctl
 * explain. See pcap.h.
 */
#include "tools/tollctl/pcap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAPNG_MAGIC 0x0a0d0d0au
#define PCAP_REC_MAX (256u * 1024) /* larger than any snap length */

/* LINKTYPE_* values (tcpdump.org/linktypes.html) */
#define LT_ETHERNET 1
#define LT_RAW 101
#define LT_LINUX_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_LINUX_SLL2 276

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define VLAN_TAGS_MAX 4 /* QinQ is two; more is not a real frame */

struct cap_flow_int {
	struct cap_flow pub;
	uint32_t base;     /* sequence number of data byte 0 */
	bool base_set;
	uint8_t *buf;      /* bound bytes, allocated on the first data */
	uint8_t *have;     /* one flag per byte of buf */
};

struct cap_flows {
	struct cap_flow_int *v;
	size_t n, cap;
	uint32_t *slots; /* open addressing: flow index + 1, 0 empty */
	size_t n_slots;
	size_t bound;
	struct cap_stats st;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* A 32-bit field of the file header or a record header, in the byte
 * order the magic number showed. */
static uint32_t rd32(const uint8_t *p, bool big)
{
	uint32_t v = be32(p);
	return big ? v : __builtin_bswap32(v);
}

/* ------------------------------------------------------------------ */
/* Flow table                                                           */
/* ------------------------------------------------------------------ */

static uint64_t hash4(uint32_t a, uint16_t ap, uint32_t b, uint16_t bp)
{
	uint64_t h = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)ap << 16 | bp) * 0xc2b2ae3d27d4eb4full;
	return h ^ (h >> 29);
}

static struct cap_flow_int *lookup(struct cap_flows *fl, uint32_t ca,
				   uint16_t cp, uint32_t sa, uint16_t sp)
{
	if (fl->n_slots == 0)
		return NULL;
	size_t mask = fl->n_slots - 1;
	for (size_t i = hash4(ca, cp, sa, sp) & mask;; i = (i + 1) & mask) {
		if (fl->slots[i] == 0)
			return NULL;
		struct cap_flow_int *f = &fl->v[fl->slots[i] - 1];
		if (f->pub.cli_addr == ca && f->pub.cli_port == cp &&
		    f->pub.srv_addr == sa && f->pub.srv_port == sp)
			return f;
	}
}

/* Point the 4-tuple's slot at flow index idx (replacing an older flow
 * of the same 4-tuple, e.g. a reused port). */
static void slot_set(struct cap_flows *fl, size_t idx)
{
	const struct cap_flow *k = &fl->v[idx].pub;
	size_t mask = fl->n_slots - 1;
	for (size_t i = hash4(k->cli_addr, k->cli_port, k->srv_addr,
			      k->srv_port) & mask;;
	     i = (i + 1) & mask) {
		const struct cap_flow *o =
			fl->slots[i] ? &fl->v[fl->slots[i] - 1].pub : NULL;
		if (o == NULL ||
		    (o->cli_addr == k->cli_addr && o->cli_port == k->cli_port &&
		     o->srv_addr == k->srv_addr && o->srv_port == k->srv_port)) {
			fl->slots[i] = (uint32_t)idx + 1;
			return;
		}
	}
}

static int rehash(struct cap_flows *fl, size_t n_slots)
{
	uint32_t *s = calloc(n_slots, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	free(fl->slots);
	fl->slots = s;
	fl->n_slots = n_slots;
	/* in order, so a later flow of a reused 4-tuple wins its slot */
	for (size_t i = 0; i < fl->n; i++)
		slot_set(fl, i);
	return 0;
}

static struct cap_flow_int *flow_new(struct cap_flows *fl, uint32_t ca,
				     uint16_t cp, uint32_t sa, uint16_t sp)
{
	if (fl->n >= UINT32_MAX - 1)
		return NULL;
	if (fl->n == fl->cap) {
		size_t nc = fl->cap ? fl->cap * 2 : 64;
		struct cap_flow_int *v = realloc(fl->v, nc * sizeof(*v));
		if (v == NULL)
			return NULL;
		fl->v = v;
		fl->cap = nc;
	}
	if ((fl->n + 1) * 2 > fl->n_slots &&
	    rehash(fl, fl->n_slots ? fl->n_slots * 2 : 256) < 0)
		return NULL;
	struct cap_flow_int *f = &fl->v[fl->n];
	memset(f, 0, sizeof(*f));
	f->pub.cli_addr = ca;
	f->pub.cli_port = cp;
	f->pub.srv_addr = sa;
	f->pub.srv_port = sp;
	slot_set(fl, fl->n++);
	return f;
}

/* Keep the client's bytes [seq, seq + n) that fall in [0, bound) of
 * the stream; bytes already held stay as they are. */
static int flow_data(struct cap_flows *fl, struct cap_flow_int *f,
		     uint32_t seq, const uint8_t *p, size_t n)
{
	if (!f->base_set) {
		f->base = seq;
		f->base_set = true;
	}
	int64_t off = (int32_t)(seq - f->base);
	if (off + (int64_t)n <= 0 || off >= (int64_t)fl->bound)
		return 0;
	f->pub.segments++;
	if (f->buf == NULL) {
		f->buf = malloc(fl->bound);
		f->have = calloc(fl->bound, 1);
		if (f->buf == NULL || f->have == NULL)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t o = off + (int64_t)i;
		if (o < 0 || o >= (int64_t)fl->bound || f->have[o])
			continue;
		f->buf[o] = p[i];
		f->have[o] = 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Packets                                                              */
/* ------------------------------------------------------------------ */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_ACK 0x10

static int tcp4(struct cap_flows *fl, const uint8_t *ip, size_t caplen,
		bool cut)
{
	struct cap_stats *st = &fl->st;
	if (caplen < 20 || (ip[0] >> 4) != 4) {
		st->bad++;
		return 0;
	}
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = be16(ip + 2);
	if (ihl < 20 || tot < ihl || caplen < ihl) {
		st->bad++;
		return 0;
	}
	if ((be16(ip + 6) & 0x3fff) != 0) { /* MF or an offset */
		st->fragments++;
		return 0;
	}
	if (ip[9] != 6) {
		st->non_tcp++;
		return 0;
	}
	/* Trust the IP length over the frame: Ethernet pads short frames. */
	if (caplen > tot)
		caplen = tot;
	else if (caplen < tot)
		cut = true;
	const uint8_t *th = ip + ihl;
	size_t tl = caplen - ihl;
	if (tl < 20 || (size_t)(th[12] >> 4) * 4 < 20 ||
	    (size_t)(th[12] >> 4) * 4 > tl) {
		if (cut)
			st->truncated++;
		else
			st->bad++;
		return 0;
	}
	if (cut)
		st->truncated++;
	st->tcp++;
	size_t doff = (size_t)(th[12] >> 4) * 4;
	uint32_t src = be32(ip + 12), dst = be32(ip + 16);
	uint16_t sp = be16(th), dp = be16(th + 2);
	uint32_t seq = be32(th + 4);
	uint8_t flags = th[13];
	const uint8_t *pl = th + doff;
	size_t pn = tl - doff;

	bool syn = (flags & TH_SYN) && !(flags & TH_ACK);
	struct cap_flow_int *f = lookup(fl, src, sp, dst, dp);
	if (f != NULL && syn && f->pub.syn && f->base != seq + 1)
		f = NULL; /* a new connection on a reused 4-tuple */
	if (f == NULL && !syn && lookup(fl, dst, dp, src, sp) != NULL)
		return 0; /* the server's side: not inspected */
	if (f == NULL) {
		bool synack = (flags & TH_SYN) && (flags & TH_ACK);
		f = synack ? flow_new(fl, dst, dp, src, sp)
			   : flow_new(fl, src, sp, dst, dp);
		if (f == NULL)
			return -ENOMEM;
		if (synack)
			return 0;
	}
	if (syn && !f->pub.syn && f->pub.segments == 0) {
		f->pub.syn = true;
		f->base = seq + 1; /* data, even in the SYN, starts here */
		f->base_set = true;
	}
	if (pn == 0)
		return 0;
	return flow_data(fl, f, syn ? seq + 1 : seq, pl, pn);
}

/* Find the IPv4 packet in a frame of link type lt. */
static int frame(struct cap_flows *fl, unsigned lt, const uint8_t *p,
		 size_t n, bool cut)
{
	size_t off;
	uint16_t proto;
	switch (lt) {
	case LT_ETHERNET:
		off = 14;
		if (n < off)
			goto short_frame;
		proto = be16(p + 12);
		break;
	case LT_LINUX_SLL: /* 16 bytes, protocol last */
		off = 16;
		if (n < off)
			goto short_frame;
		proto = be16(p + 14);
		break;
	case LT_LINUX_SLL2: /* 20 bytes, protocol first */
		off = 20;
		if (n < off)
			goto short_frame;
		proto = be16(p);
		break;
	case LT_RAW:
		if (n < 1)
			goto short_frame;
		proto = (p[0] >> 4) == 6 ? ETH_IPV6 : ETH_IPV4;
		off = 0;
		break;
	case LT_IPV4:
		proto = ETH_IPV4;
		off = 0;
		break;
	default: /* LT_IPV6 */
		proto = ETH_IPV6;
		off = 0;
		break;
	}
	/* 802.1Q, 802.1ad and the old QinQ type: 4 bytes each */
	for (int t = 0; proto == 0x8100 || proto == 0x88a8 || proto == 0x9100;
	     t++) {
		if (t == VLAN_TAGS_MAX || n < off + 4) {
			fl->st.bad++;
			return 0;
		}
		proto = be16(p + off + 2);
		off += 4;
	}
	if (proto == ETH_IPV6) {
		fl->st.ipv6++;
		return 0;
	}
	if (proto != ETH_IPV4) {
		fl->st.non_ip++;
		return 0;
	}
	return tcp4(fl, p + off, n - off, cut);
short_frame:
	if (cut)
		fl->st.truncated++;
	else
		fl->st.bad++;
	return 0;
}

static const char *lt_name(unsigned lt)
{
	switch (lt) {
	case LT_ETHERNET:
		return "Ethernet";
	case LT_RAW:
		return "raw IP";
	case LT_LINUX_SLL:
		return "Linux cooked (SLL)";
	case LT_LINUX_SLL2:
		return "Linux cooked v2 (SLL2)";
	case LT_IPV4:
		return "raw IPv4";
	case LT_IPV6:
		return "raw IPv6";
	default:
		return NULL;
	}
}

/* Publish each flow's contiguous prefix. */
static void finish_flows(struct cap_flows *fl)
{
	for (size_t i = 0; i < fl->n; i++) {
		struct cap_flow_int *f = &fl->v[i];
		size_t k = 0;
		while (f->have != NULL && k < fl->bound && f->have[k])
			k++;
		f->pub.data = f->buf;
		f->pub.data_len = k;
	}
}

int cap_read_flows_stream(FILE *f, const char *name, size_t bound,
			  struct cap_flows **out, char *err, size_t errlen)
{
	uint8_t gh[24], rh[16];
	*out = NULL;
	if (bound == 0)
		return fail(err, errlen, "%s: the bound must be at least 1",
			    name);
	size_t got = fread(gh, 1, sizeof(gh), f);
	if (got >= 4 && (be32(gh) == PCAPNG_MAGIC))
		return fail(err, errlen,
			    "%s: pcapng is not supported: convert with "
			    "editcap -F pcap %s OUT.pcap",
			    name, name);
	if (got < sizeof(gh))
		return fail(err, errlen,
			    "%s: not a pcap capture: %zu bytes, shorter than "
			    "the 24-byte file header",
			    name, got);
	uint32_t m = be32(gh);
	bool big; /* the file is big-endian */
	if (m == PCAP_MAGIC_US || m == PCAP_MAGIC_NS)
		big = true;
	else if (__builtin_bswap32(m) == PCAP_MAGIC_US ||
		 __builtin_bswap32(m) == PCAP_MAGIC_NS)
		big = false;
	else
		return fail(err, errlen,
			    "%s: not a pcap capture (magic 0x%08x; expected "
			    "0xa1b2c3d4 or 0xa1b23c4d)",
			    name, m);
	unsigned lt = rd32(gh + 20, big) & 0xffff; /* high bits: FCS info */
	if (lt_name(lt) == NULL)
		return fail(err, errlen,
			    "%s: link type %u is not supported (Ethernet, "
			    "Linux cooked SLL/SLL2, raw IP)",
			    name, lt);

	struct cap_flows *fl = calloc(1, sizeof(*fl));
	if (fl == NULL)
		return fail(err, errlen, "%s: out of memory", name);
	fl->bound = bound;
	uint8_t *pkt = malloc(PCAP_REC_MAX);
	if (pkt == NULL) {
		cap_flows_free(fl);
		return fail(err, errlen, "%s: out of memory", name);
	}
	uint64_t off = sizeof(gh);
	int rc = 0;
	for (;;) {
		got = fread(rh, 1, sizeof(rh), f);
		if (got == 0)
			break;
		if (got < sizeof(rh)) {
			rc = fail(err, errlen,
				  "%s: truncated: packet %llu at offset %llu "
				  "has %zu of its 16 header bytes",
				  name, (unsigned long long)fl->st.packets + 1,
				  (unsigned long long)off, got);
			break;
		}
		uint32_t incl = rd32(rh + 8, big), orig = rd32(rh + 12, big);
		if (incl > PCAP_REC_MAX) {
			rc = fail(err, errlen,
				  "%s: packet %llu at offset %llu claims %u "
				  "captured bytes (at most %u): not a pcap "
				  "capture, or corrupt",
				  name, (unsigned long long)fl->st.packets + 1,
				  (unsigned long long)off, incl, PCAP_REC_MAX);
			break;
		}
		got = fread(pkt, 1, incl, f);
		if (got < incl) {
			rc = fail(err, errlen,
				  "%s: truncated: packet %llu at offset %llu "
				  "has %zu of its %u bytes",
				  name, (unsigned long long)fl->st.packets + 1,
				  (unsigned long long)off, got, incl);
			break;
		}
		off += sizeof(rh) + incl;
		fl->st.packets++;
		if (frame(fl, lt, pkt, incl, incl < orig) < 0) {
			rc = fail(err, errlen, "%s: out of memory", name);
			break;
		}
	}
	free(pkt);
	if (rc == 0 && ferror(f))
		rc = fail(err, errlen, "%s: read error: %s", name,
			  strerror(errno));
	if (rc < 0) {
		cap_flows_free(fl);
		return rc;
	}
	finish_flows(fl);
	*out = fl;
	return 0;
}

int cap_read_flows(const char *path, size_t bound, struct cap_flows **out,
		   char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	*out = NULL;
	if (f == NULL)
		return fail(err, errlen, "%s: cannot open: %s", path,
			    strerror(errno));
	int rc = cap_read_flows_stream(f, path, bound, out, err, errlen);
	fclose(f);
	return rc;
}

size_t cap_flow_count(const struct cap_flows *fl)
{
	return fl->n;
}

const struct cap_flow *cap_flow_get(const struct cap_flows *fl, size_t i)
{
	return i < fl->n ? &fl->v[i].pub : NULL;
}

const struct cap_stats *cap_flow_stats(const struct cap_flows *fl)
{
	return &fl->st;
}

void cap_flows_free(struct cap_flows *fl)
{
	if (fl == NULL)
		return;
	for (size_t i = 0; i < fl->n; i++) {
		free(fl->v[i].buf);
		free(fl->v[i].have);
	}
	free(fl->v);
	free(fl->slots);
	free(fl);
}
