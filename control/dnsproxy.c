/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DNS proxy (see dnsproxy.h and docs/dns.md). One file, in the order
 * a query travels:
 *
 *   frames      checks of the punted Ethernet/IPv4/UDP/TCP frame; building
 *               our own UDP and TCP frames
 *   clients     rate limit per client, the query, the answer (UDP or TCP)
 *   cache       fixed table of answers by (name, type, class), CLOCK eviction
 *   upstream    outstanding queries with random id and source port (RFC
 *               5452), timeouts and retries on the next server
 *   tracking    destination_fqdns -> addresses -> policy_dynset_publish
 *   tcp         a minimal TCP responder for DNS over TCP (RFC 7766)
 *
 * Every table is sized at creation; every loop is bounded by a table size
 * or by the message parser's own bounds. Nothing blocks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_jhash.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_rcu_qsbr.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "control/control.h"
#include "control/dlog_writer.h"
#include "control/dns_msg.h"
#include "control/dnsproxy.h"
#include "rules/policy.h"

#define DNS_PORT 53
#define MSG_MAX 4096            /* largest message accepted from anyone */
#define CACHE_MSG_MAX 1232      /* largest answer cached (our EDNS size) */
#define CACHE_TTL_MAX 86400     /* positive answers cached at most a day */
#define CACHE_NEG_TTL_MAX 300   /* negative answers (RFC 2308) at most 5 min */
#define PENDING_MAX 1024        /* upstream queries outstanding */
#define PORT_TRIES 8            /* random source ports tried per query */
#define RATE_SLOTS 4096         /* client rate-limit table (direct mapped) */
#define TRACK_ADDRS_MAX 64      /* addresses kept per tracked name */
#define RETIRED_MAX 1024        /* published sets waiting for a grace period */
#define TCP_CONNS 64            /* DNS-over-TCP connections at once */
#define TCP_BUF 1024            /* bytes of queries buffered per connection */
#define TCP_SYN_TIMEOUT_S 5
#define TCP_IDLE_TIMEOUT_S 10   /* RFC 7766 6.2.3: servers close idle connections */
#define TCP_CLOSE_TIMEOUT_S 2
#define DNS_IP_TTL 64

/* ------------------------------------------------------------ the state */

struct client {                 /* who asked, and how to answer */
	rte_be32_t addr;
	rte_be16_t port;
	struct rte_ether_addr mac;
	uint16_t id;
	bool rd;
	uint16_t edns;              /* client's EDNS UDP size; 0: no EDNS */
	bool dnssec_ok;             /* its EDNS DO bit (for the query log) */
	uint16_t req_len;           /* its query's length (for the query log) */
	uint64_t t0_tsc;            /* when its query arrived */
	int16_t tcp;                /* connection slot, -1: UDP */
	uint16_t tcp_gen;           /* that slot's generation when asked */
	uint16_t qlen;              /* the question as the client sent it */
	uint8_t qbytes[DNS_NAME_MAX + 4];
};

struct pending {                /* one outstanding upstream query */
	bool used;
	uint16_t id;                /* random, per upstream query */
	uint16_t sport;             /* random, host order */
	uint8_t server;             /* index into the upstreams */
	uint8_t tries;              /* sent so far */
	uint64_t deadline_tsc;
	struct dns_question q;
	struct client cl;
};

struct cache_entry {
	uint32_t next;              /* bucket chain: index + 1, 0 ends */
	uint32_t hash;
	uint32_t stored_s, expire_s;
	uint16_t qtype, qclass;
	uint16_t len;               /* 0: free */
	uint8_t name_len;
	bool ref;                   /* CLOCK: used since the hand last passed */
	uint8_t name[DNS_NAME_MAX];
	uint8_t msg[CACHE_MSG_MAX];
};

struct rate_slot {
	rte_be32_t addr;
	uint32_t window_s;
	uint32_t count;
};

struct tracked_addr {
	uint32_t addr;              /* host order */
	uint32_t expire_s;          /* TTL + retention after the last answer */
};

struct tracked_name {
	uint8_t wire[DNS_NAME_MAX];
	uint8_t wire_len;
	char text[256];
	unsigned n_addrs;
	struct tracked_addr addrs[TRACK_ADDRS_MAX];
};

/* Names of the running rule set's destination_fqdns; rebuilt on every
 * policy change, the addresses carried over by name. */
struct tracking {
	struct policy_ruleset *rs;
	uint32_t n_rules;
	struct tracked_name *names;
	unsigned n_names;
	uint32_t *idx;              /* open addressing: name index + 1 */
	uint32_t idx_mask;
	uint32_t *rule_first;       /* rule -> names: rule_names[rule_first[r]..[r+1]) */
	uint32_t *rule_names;
	uint32_t *name_first;       /* name -> rules */
	uint32_t *name_rules;
	bool *dirty;                /* per rule: republish */
	bool any_dirty;
};

enum tcp_state { TCP_FREE = 0, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_CLOSING };

struct tcp_conn {
	uint8_t state;
	bool busy;                  /* a query is being answered */
	bool peer_fin;
	uint16_t gen;               /* bumped when the slot is reused */
	rte_be32_t addr;
	rte_be16_t port;
	struct rte_ether_addr mac;
	uint32_t iss, snd_nxt, rcv_nxt;
	uint16_t mss;
	uint16_t n;
	uint64_t deadline_tsc;
	uint8_t buf[TCP_BUF];
};

struct dnsproxy {
	struct ctl *c;
	uint64_t t0_tsc;
	uint64_t hz;
	uint64_t timeout_tsc;
	unsigned tries, retention_s, qps, n_up;
	rte_be32_t up[CONFIG_MAX_DNS_UPSTREAMS];

	struct pending *pend;
	unsigned n_pend;
	uint16_t *port_slot;        /* [65536]: pending index + 1 by source port */

	struct cache_entry *cache;
	unsigned cache_n, cache_used, hand;
	uint32_t *bucket;           /* index + 1 */
	uint32_t bucket_mask;

	struct rate_slot rate[RATE_SLOTS];

	struct tracking tr;
	struct {
		struct policy_dynset *set;
		uint64_t token;
	} retired[RETIRED_MAX];
	unsigned n_retired;
	uint32_t last_expiry_s;

	struct tcp_conn tcp[TCP_CONNS];
	uint32_t isn_key[2];

	uint8_t rnd[256];           /* getrandom() bytes, used two at a time */
	unsigned rnd_pos;

	uint8_t out[MSG_MAX + 2];   /* scratch for the message being built */
};

static inline void
cnt(struct dnsproxy *d, enum dp_counter k)
{
	d->c->stats.c[k]++;
}

static void
cdrop(struct dnsproxy *d, struct rte_mbuf *m, enum dp_counter k)
{
	cnt(d, k);
	rte_pktmbuf_free(m);
}

static inline uint32_t
now_s(const struct dnsproxy *d, uint64_t tsc)
{
	return (uint32_t)((tsc - d->t0_tsc) / d->hz);
}

/* Unpredictable 16-bit values (RFC 5452 10: ids and ports an off-path
 * attacker cannot guess): the kernel's generator, drawn 256 bytes at a
 * time; rte_rand() only if getrandom() ever fails. */
static uint16_t
rand16(struct dnsproxy *d)
{
	uint16_t v;

	if (d->rnd_pos + 2 > sizeof(d->rnd)) {
		if (getrandom(d->rnd, sizeof(d->rnd), GRND_NONBLOCK) != (ssize_t)sizeof(d->rnd)) {
			for (unsigned i = 0; i < sizeof(d->rnd); i += 8) {
				uint64_t r = rte_rand();

				memcpy(d->rnd + i, &r, 8);
			}
		}
		d->rnd_pos = 0;
	}
	memcpy(&v, d->rnd + d->rnd_pos, 2);
	d->rnd_pos += 2;
	return v;
}

/* ------------------------------------------------------------- frames */

/* An Ethernet/IPv4 frame with room for `l4len` bytes after the IPv4
 * header, addressed at the IP layer; the caller fills L4 and Ethernet. */
static struct rte_mbuf *
frame_new(struct dnsproxy *d, uint8_t proto, rte_be32_t src, rte_be32_t dst, size_t l4len,
	  struct rte_ipv4_hdr **ipp)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(d->c->dp.pool);
	size_t len = RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + l4len;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;

	if (m == NULL) {
		cnt(d, DP_DROP_NO_MBUF);
		return NULL;
	}
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, (uint16_t)len);
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		cnt(d, DP_DROP_NO_MBUF);
		return NULL;
	}
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + l4len));
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = DNS_IP_TTL;
	ip->next_proto_id = proto;
	ip->src_addr = src;
	ip->dst_addr = dst;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*ipp = ip;
	return m;
}

/* To a client on the inside: back to the MAC it came from. */
static void
send_inside(struct dnsproxy *d, struct rte_mbuf *m, const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	rte_ether_addr_copy(mac, &eth->dst_addr);
	rte_ether_addr_copy(&d->c->dp.ifaces[DP_IFACE_INSIDE].mac, &eth->src_addr);
	ctl_inject(d->c, 0, DP_IFACE_INSIDE, m);
}

static struct rte_mbuf *
udp_frame(struct dnsproxy *d, rte_be32_t src, rte_be16_t sport, rte_be32_t dst, rte_be16_t dport,
	  const uint8_t *payload, size_t len)
{
	struct rte_ipv4_hdr *ip;
	struct rte_mbuf *m = frame_new(d, IPPROTO_UDP, src, dst, sizeof(struct rte_udp_hdr) + len,
				       &ip);
	struct rte_udp_hdr *udp;

	if (m == NULL)
		return NULL;
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = sport;
	udp->dst_port = dport;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, payload, len);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return m;
}

/* ------------------------------------------------------------- cache */

/* Names sit at any byte offset inside messages and tables: hash them a byte
 * at a time (FNV-1a), not with rte_jhash's 32-bit loads. */
static uint32_t
name_hash(const uint8_t *name, size_t len, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ name[i]) * 16777619u;
	return h ^ (h >> 16);
}

static uint32_t
key_hash(const uint8_t *name, uint8_t len, uint16_t qtype, uint16_t qclass)
{
	return name_hash(name, len, (uint32_t)qtype << 16 | qclass);
}

static struct cache_entry *
cache_find(struct dnsproxy *d, const struct dns_question *q, uint32_t h)
{
	for (uint32_t i = d->bucket[h & d->bucket_mask]; i != 0; i = d->cache[i - 1].next) {
		struct cache_entry *e = &d->cache[i - 1];

		if (e->hash == h && e->qtype == q->qtype && e->qclass == q->qclass &&
		    e->name_len == q->name_len && memcmp(e->name, q->name, q->name_len) == 0)
			return e;
	}
	return NULL;
}

static void
cache_unlink(struct dnsproxy *d, struct cache_entry *e)
{
	uint32_t *p = &d->bucket[e->hash & d->bucket_mask];
	uint32_t self = (uint32_t)(e - d->cache) + 1;

	while (*p != 0 && *p != self)
		p = &d->cache[*p - 1].next;
	if (*p == self)
		*p = e->next;
	e->next = 0;
	e->len = 0;
	d->cache_used--;
}

/*
 * A slot for a new answer: a free one, else the CLOCK hand's choice (an
 * expired entry, or one not used since the hand last passed). Two turns
 * of the hand at most: the first clears every reference bit.
 */
static struct cache_entry *
cache_victim(struct dnsproxy *d, uint32_t now)
{
	for (unsigned step = 0; step < 2 * d->cache_n; step++) {
		struct cache_entry *e = &d->cache[d->hand];

		d->hand = (d->hand + 1) % d->cache_n;
		if (e->len == 0)
			return e;
		if (e->expire_s <= now || !e->ref) {
			cache_unlink(d, e);
			return e;
		}
		e->ref = false;
	}
	return NULL; /* not reached: the second turn finds a clear bit */
}

/* How long an answer may be kept (0: not at all). */
static uint32_t
cache_ttl(const struct dns_answer_info *a)
{
	uint8_t rcode = a->h.flags & DNS_F_RCODE;

	if (a->h.flags & DNS_F_TC)
		return 0;
	if (rcode == DNS_RCODE_NOERROR && a->h.an > 0)
		return RTE_MIN(a->min_ttl, (uint32_t)CACHE_TTL_MAX);
	if ((rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN) && a->has_soa)
		return RTE_MIN(a->soa_ttl, (uint32_t)CACHE_NEG_TTL_MAX);
	return 0;
}

/* Keep `msg` (already cut to its answer and authority sections). */
static void
cache_store(struct dnsproxy *d, const struct dns_question *q, const uint8_t *msg, size_t len,
	    uint32_t ttl, uint32_t now)
{
	uint32_t h = key_hash(q->name, q->name_len, q->qtype, q->qclass);
	struct cache_entry *e;

	if (ttl == 0 || len > CACHE_MSG_MAX)
		return;
	e = cache_find(d, q, h);
	if (e == NULL) {
		e = cache_victim(d, now);
		if (e == NULL)
			return;
		e->hash = h;
		e->qtype = q->qtype;
		e->qclass = q->qclass;
		e->name_len = q->name_len;
		memcpy(e->name, q->name, q->name_len);
		e->next = d->bucket[h & d->bucket_mask];
		d->bucket[h & d->bucket_mask] = (uint32_t)(e - d->cache) + 1;
		d->cache_used++;
	}
	memcpy(e->msg, msg, len);
	e->len = (uint16_t)len;
	e->stored_s = now;
	e->expire_s = now + ttl;
	e->ref = false;
}

/* ------------------------------------------------------------- answers */

static void tcp_send_msg(struct dnsproxy *d, struct tcp_conn *t, const uint8_t *msg, size_t len);

/*
 * The AZFWDnsQuery record of an answer that left (`msg`, `len` as sent).
 * Queries that get no answer are not logged, only counted: malformed ones
 * (drop.dns-malformed), those over the client's rate (drop.dns-rate-limited)
 * and UDP ones refused for want of a pending slot (drop.dns-pending-full).
 */
static void
log_answer(struct dnsproxy *d, const struct client *cl, const uint8_t *msg, size_t len,
	   int errnum, const char *errmsg)
{
	uint64_t now;
	struct dlog_dns_rec r;

	if (d->c->dlogw == NULL)
		return;
	now = rte_rdtsc();
	r = (struct dlog_dns_rec){
		.tsc = now,
		.duration_tsc = now - cl->t0_tsc,
		.src = cl->addr,
		.sport = cl->port,
		.tcp = cl->tcp >= 0,
		.dnssec_ok = cl->dnssec_ok,
		.id = cl->id,
		.edns_size = cl->edns,
		.flags = dns_get16(msg + 2),
		.request_size = cl->req_len,
		.response_size = (uint32_t)len,
		.question = cl->qbytes,
		.question_len = cl->qlen,
		.error_number = errnum,
		.error_message = errmsg,
	};
	dlog_writer_dns(d->c, &r);
}

/*
 * Send `msg` (a response with the client's id and question already in
 * place) to the client, over UDP cut to what it accepts (RFC 1035 4.2.1,
 * RFC 6891 6.2.5: an answer that does not fit goes out with TC and no
 * records, and the client asks again over TCP), or over its TCP
 * connection if that is still the one it asked on.
 */
static void
deliver(struct dnsproxy *d, const struct client *cl, uint8_t *msg, size_t len, int errnum,
	const char *errmsg)
{
	struct rte_mbuf *m;

	if (cl->tcp >= 0) {
		struct tcp_conn *t = &d->tcp[cl->tcp];

		if (t->state != TCP_ESTABLISHED || t->gen != cl->tcp_gen)
			return; /* the connection went away meanwhile */
		t->busy = false;
		tcp_send_msg(d, t, msg, len);
		cnt(d, DP_DNS_ANSWERS);
		log_answer(d, cl, msg, len, errnum, errmsg);
		return;
	}
	size_t limit = cl->edns ? cl->edns : DNS_UDP_MIN;
	size_t mtu_room = d->c->dp.ifaces[DP_IFACE_INSIDE].mtu - sizeof(struct rte_ipv4_hdr) -
			  sizeof(struct rte_udp_hdr);

	limit = RTE_MIN(limit, mtu_room);
	if (len > limit) {
		len = DNS_HDR_LEN + cl->qlen;
		dns_put16(msg + 2, dns_get16(msg + 2) | DNS_F_TC);
		dns_put16(msg + 6, 0);
		dns_put16(msg + 8, 0);
		dns_put16(msg + 10, 0);
		if (cl->edns)
			len = dns_append_opt(msg, len, MSG_MAX, DNS_EDNS_SIZE);
		cnt(d, DP_DNS_TRUNCATED);
	}
	m = udp_frame(d, d->c->dp.ifaces[DP_IFACE_INSIDE].addr, RTE_BE16(DNS_PORT), cl->addr,
		      cl->port, msg, len);
	if (m == NULL)
		return;
	cnt(d, DP_DNS_ANSWERS);
	send_inside(d, m, &cl->mac);
	log_answer(d, cl, msg, len, errnum, errmsg);
}

/*
 * Turn a stored or received response into the client's: its id, its RD
 * bit, its question bytes (same length: the same name, maybe in another
 * case, RFC 4343), no additional section, and our OPT record if it used
 * EDNS. `len` is the response cut before its additional section.
 */
static size_t
for_client(const struct client *cl, uint8_t *msg, size_t len)
{
	uint16_t flags = dns_get16(msg + 2);

	dns_put16(msg, cl->id);
	flags = (uint16_t)((flags & ~DNS_F_RD) | (cl->rd ? DNS_F_RD : 0) | DNS_F_RA);
	dns_put16(msg + 2, flags);
	dns_put16(msg + 10, 0);
	memcpy(msg + DNS_HDR_LEN, cl->qbytes, cl->qlen);
	if (cl->edns)
		len = dns_append_opt(msg, len, MSG_MAX, DNS_EDNS_SIZE);
	return len;
}

/* An answer with no records; `errnum` and `errmsg` say why in the query
 * log. */
static void
answer_error(struct dnsproxy *d, const struct client *cl, uint8_t rcode, int errnum,
	     const char *errmsg)
{
	uint8_t *msg = d->out;

	memset(msg, 0, DNS_HDR_LEN);
	dns_put16(msg + 2, DNS_F_QR | (rcode & DNS_F_RCODE));
	dns_put16(msg + 4, cl->qlen ? 1 : 0);
	deliver(d, cl, msg, for_client(cl, msg, DNS_HDR_LEN + cl->qlen), errnum, errmsg);
}

/* ------------------------------------------------------------- tracking */

static int
track_lookup(const struct tracking *tr, const uint8_t *wire, uint8_t len)
{
	if (tr->n_names == 0)
		return -1;
	for (uint32_t h = name_hash(wire, len, 0), k = 0; k <= tr->idx_mask; k++) {
		uint32_t i = tr->idx[(h + k) & tr->idx_mask];

		if (i == 0)
			return -1;
		if (tr->names[i - 1].wire_len == len && memcmp(tr->names[i - 1].wire, wire, len) == 0)
			return (int)(i - 1);
	}
	return -1;
}

static void
mark_dirty(struct tracking *tr, unsigned name)
{
	for (uint32_t k = tr->name_first[name]; k < tr->name_first[name + 1]; k++)
		tr->dirty[tr->name_rules[k]] = true;
	tr->any_dirty = true;
}

/*
 * Add or refresh `addr` for a tracked name: kept until its TTL runs out,
 * plus the retention (Azure: addresses no longer returned are kept 15
 * minutes, so flows opened on them are not cut at once). A full name
 * gives up the address that expires first.
 */
static void
track_addr(struct dnsproxy *d, unsigned ni, uint32_t addr, uint32_t ttl, uint32_t now)
{
	struct tracked_name *n = &d->tr.names[ni];
	uint32_t exp = now + RTE_MIN(ttl, (uint32_t)CACHE_TTL_MAX) + d->retention_s;
	unsigned oldest = 0;

	for (unsigned i = 0; i < n->n_addrs; i++) {
		if (n->addrs[i].addr == addr) {
			if (exp > n->addrs[i].expire_s)
				n->addrs[i].expire_s = exp;
			return;
		}
		if (n->addrs[i].expire_s < n->addrs[oldest].expire_s)
			oldest = i;
	}
	if (n->n_addrs == TRACK_ADDRS_MAX) {
		n->addrs[oldest] = n->addrs[--n->n_addrs];
		cnt(d, DP_DNS_TRACKED_EXPIRED);
	}
	n->addrs[n->n_addrs].addr = addr;
	n->addrs[n->n_addrs++].expire_s = exp;
	cnt(d, DP_DNS_TRACKED_ADDED);
	mark_dirty(&d->tr, ni);
}

/* Every name of the CNAME chain that a rule tracks gets the chain's final
 * A records. */
static void
track_answer(struct dnsproxy *d, const struct dns_answer_info *a, uint32_t now)
{
	if (a->n_addrs == 0 || d->tr.n_names == 0 || a->q.qclass != DNS_CLASS_IN)
		return;
	for (unsigned k = 0; k < a->n_chain; k++) {
		int ni = track_lookup(&d->tr, a->chain[k], a->chain_len[k]);

		if (ni < 0)
			continue;
		for (unsigned i = 0; i < a->n_addrs; i++)
			track_addr(d, (unsigned)ni, a->addrs[i], a->addr_ttl[i], now);
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Free retired sets whose grace period is over. Never waits. */
static void
retired_reclaim(struct dnsproxy *d, bool all)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < d->n_retired; i++) {
		if (all || rte_rcu_qsbr_check(d->c->dp.qsbr, d->retired[i].token, false) == 1)
			free(d->retired[i].set);
		else
			d->retired[keep++] = d->retired[i];
	}
	d->n_retired = keep;
}

/*
 * Publish a new sorted set for every dirty rule: the union of its names'
 * addresses. The sets replaced are freed after one grace period shared by
 * the whole batch. When too many sets still wait for the workers, the
 * rules stay dirty and the next tick tries again.
 */
static void
republish(struct dnsproxy *d)
{
	struct tracking *tr = &d->tr;
	unsigned first_retired = d->n_retired;

	if (!tr->any_dirty || tr->rs == NULL)
		return;
	tr->any_dirty = false;
	for (uint32_t r = 0; r < tr->n_rules; r++) {
		struct policy_dynset *set;
		const struct policy_dynset *old;
		size_t n = 0, total = 0;
		int err;

		if (!tr->dirty[r])
			continue;
		if (d->n_retired == RETIRED_MAX)
			retired_reclaim(d, false);
		if (d->n_retired == RETIRED_MAX) {
			tr->any_dirty = true;
			break;
		}
		for (uint32_t k = tr->rule_first[r]; k < tr->rule_first[r + 1]; k++)
			total += tr->names[tr->rule_names[k]].n_addrs;
		set = malloc(sizeof(*set) + (total + 1) * sizeof(uint32_t));
		if (set == NULL) {
			tr->any_dirty = true;
			continue;
		}
		for (uint32_t k = tr->rule_first[r]; k < tr->rule_first[r + 1]; k++) {
			const struct tracked_name *nm = &tr->names[tr->rule_names[k]];

			for (unsigned i = 0; i < nm->n_addrs; i++)
				set->addrs[n++] = nm->addrs[i].addr;
		}
		qsort(set->addrs, n, sizeof(uint32_t), cmp_u32);
		set->n = 0;
		for (size_t i = 0; i < n; i++)
			if (set->n == 0 || set->addrs[set->n - 1] != set->addrs[i])
				set->addrs[set->n++] = set->addrs[i];
		old = policy_dynset_publish(tr->rs, r, set, &err);
		if (err != 0) {
			free(set);
			tr->dirty[r] = false;
			continue;
		}
		tr->dirty[r] = false;
		cnt(d, DP_DNS_SETS_PUBLISHED);
		if (old != NULL)
			d->retired[d->n_retired++].set = (struct policy_dynset *)(uintptr_t)old;
	}
	if (d->n_retired > first_retired) {
		uint64_t token = rte_rcu_qsbr_start(d->c->dp.qsbr);

		for (unsigned i = first_retired; i < d->n_retired; i++)
			d->retired[i].token = token;
	}
}

/* Addresses past their TTL and retention leave the sets. Once a second;
 * bounded by names x TRACK_ADDRS_MAX. */
static void
track_expire(struct dnsproxy *d, uint32_t now)
{
	for (unsigned ni = 0; ni < d->tr.n_names; ni++) {
		struct tracked_name *n = &d->tr.names[ni];
		bool changed = false;

		for (unsigned i = 0; i < n->n_addrs;) {
			if (n->addrs[i].expire_s <= now) {
				n->addrs[i] = n->addrs[--n->n_addrs];
				cnt(d, DP_DNS_TRACKED_EXPIRED);
				changed = true;
			} else {
				i++;
			}
		}
		if (changed)
			mark_dirty(&d->tr, ni);
	}
}

static void
tracking_free(struct tracking *tr)
{
	free(tr->names);
	free(tr->idx);
	free(tr->rule_first);
	free(tr->rule_names);
	free(tr->name_first);
	free(tr->name_rules);
	free(tr->dirty);
	memset(tr, 0, sizeof(*tr));
}

/* Add `wire` to the table under construction (the index has room). */
static unsigned
track_intern(struct tracking *tr, const uint8_t *wire, uint8_t len, const char *text)
{
	uint32_t h = name_hash(wire, len, 0);

	for (uint32_t k = 0;; k++) { /* the index is at least twice the names */
		uint32_t *slot = &tr->idx[(h + k) & tr->idx_mask];

		if (*slot == 0) {
			struct tracked_name *n = &tr->names[tr->n_names];

			memcpy(n->wire, wire, len);
			n->wire_len = len;
			snprintf(n->text, sizeof(n->text), "%s", text);
			*slot = ++tr->n_names;
			return *slot - 1;
		}
		if (tr->names[*slot - 1].wire_len == len &&
		    memcmp(tr->names[*slot - 1].wire, wire, len) == 0)
			return *slot - 1;
	}
}

static int
tracking_build(struct tracking *tr, struct policy_ruleset *rs)
{
	uint32_t n_rules = policy_ruleset_rule_count(rs);
	size_t refs = 0, k = 0;
	uint8_t wire[DNS_NAME_MAX];

	memset(tr, 0, sizeof(*tr));
	tr->rs = rs;
	tr->n_rules = n_rules;
	for (uint32_t r = 0; r < n_rules; r++) {
		const char *const *f;

		refs += policy_rule_dst_fqdns(rs, r, &f);
	}
	tr->idx_mask = 1;
	while (tr->idx_mask < 2 * refs + 2)
		tr->idx_mask <<= 1;
	tr->idx_mask--;
	tr->names = calloc(refs + 1, sizeof(*tr->names));
	tr->idx = calloc(tr->idx_mask + 1, sizeof(*tr->idx));
	tr->rule_first = calloc(n_rules + 1, sizeof(uint32_t));
	tr->rule_names = calloc(refs + 1, sizeof(uint32_t));
	tr->name_first = calloc(refs + 2, sizeof(uint32_t));
	tr->name_rules = calloc(refs + 1, sizeof(uint32_t));
	tr->dirty = calloc(n_rules + 1, sizeof(bool));
	if (!tr->names || !tr->idx || !tr->rule_first || !tr->rule_names || !tr->name_first ||
	    !tr->name_rules || !tr->dirty) {
		tracking_free(tr);
		return -ENOMEM;
	}
	for (uint32_t r = 0; r < n_rules; r++) {
		const char *const *f;
		size_t n = policy_rule_dst_fqdns(rs, r, &f);

		tr->rule_first[r] = (uint32_t)k;
		for (size_t i = 0; i < n; i++) {
			/* The loader normalised these (lower case, no final
			 * dot, no wildcard); one it could not is skipped. */
			int wl = f[i] ? dns_name_from_text(f[i], wire, sizeof(wire)) : -1;

			if (wl > 0)
				tr->rule_names[k++] = track_intern(tr, wire, (uint8_t)wl, f[i]);
		}
		if (n > 0)
			tr->dirty[r] = tr->any_dirty = true;
	}
	tr->rule_first[n_rules] = (uint32_t)k;
	/* The reverse map, by counting. */
	for (size_t i = 0; i < k; i++)
		tr->name_first[tr->rule_names[i] + 1]++;
	for (unsigned i = 0; i < tr->n_names; i++)
		tr->name_first[i + 1] += tr->name_first[i];
	{
		uint32_t *fill = calloc(tr->n_names + 1, sizeof(uint32_t));

		if (fill == NULL) {
			tracking_free(tr);
			return -ENOMEM;
		}
		for (uint32_t r = 0; r < n_rules; r++)
			for (uint32_t j = tr->rule_first[r]; j < tr->rule_first[r + 1]; j++) {
				uint32_t ni = tr->rule_names[j];

				tr->name_rules[tr->name_first[ni] + fill[ni]++] = r;
			}
		free(fill);
	}
	return 0;
}

void
dnsproxy_policy_changed(struct ctl *c, struct policy_ruleset *rs)
{
	struct dnsproxy *d = c->dns;
	struct tracking nt;

	if (d == NULL)
		return;
	if (tracking_build(&nt, rs) != 0) {
		/* Out of memory: the new rule set's FQDN rules stay empty
		 * (they match nothing) rather than pointing at the old one. */
		fprintf(stderr, "tollgate: dns: out of memory tracking the new policy's FQDNs\n");
		tracking_free(&d->tr);
		return;
	}
	for (unsigned i = 0; i < nt.n_names; i++) {
		int old = track_lookup(&d->tr, nt.names[i].wire, nt.names[i].wire_len);

		if (old >= 0) {
			nt.names[i].n_addrs = d->tr.names[old].n_addrs;
			memcpy(nt.names[i].addrs, d->tr.names[old].addrs,
			       sizeof(nt.names[i].addrs[0]) * nt.names[i].n_addrs);
		}
	}
	tracking_free(&d->tr);
	d->tr = nt;
	republish(d);
}

/* ------------------------------------------------------------- upstream */

static void
pending_free(struct dnsproxy *d, struct pending *p)
{
	if (d->port_slot[p->sport] == (uint16_t)(p - d->pend) + 1)
		d->port_slot[p->sport] = 0;
	p->used = false;
	d->n_pend--;
}

/* Send (or resend) `p` to its current server, from a fresh random port
 * and with a fresh random id (RFC 5452 9.2, 10). */
static bool
pending_send(struct dnsproxy *d, struct pending *p, uint64_t now)
{
	uint16_t idx = (uint16_t)(p - d->pend) + 1;
	struct rte_mbuf *m;
	size_t len;

	if (p->sport != 0 && d->port_slot[p->sport] == idx)
		d->port_slot[p->sport] = 0;
	p->sport = 0;
	for (unsigned i = 0; i < PORT_TRIES && p->sport == 0; i++) {
		uint16_t port = rand16(d);

		if (port >= 1024 && d->port_slot[port] == 0)
			p->sport = port;
	}
	if (p->sport == 0)
		return false;
	d->port_slot[p->sport] = idx;
	p->id = rand16(d);
	p->tries++;
	p->deadline_tsc = now + d->timeout_tsc;
	len = dns_build_query(d->out, MSG_MAX, p->id, p->cl.rd, &p->q, DNS_EDNS_SIZE);
	m = udp_frame(d, d->c->dp.ifaces[DP_IFACE_OUTSIDE].addr, rte_cpu_to_be_16(p->sport),
		      d->up[p->server], RTE_BE16(DNS_PORT), d->out, len);
	if (m == NULL)
		return true; /* counted; the timeout retries it */
	cnt(d, DP_DNS_FORWARDED);
	ctl_send_routed(d->c, m);
	return true;
}

static void
forward(struct dnsproxy *d, const struct client *cl, const struct dns_question *q, uint64_t now)
{
	struct pending *p = NULL;

	if (d->n_pend < PENDING_MAX)
		for (unsigned i = 0; i < PENDING_MAX; i++) {
			if (!d->pend[i].used) {
				p = &d->pend[i];
				break;
			}
		}
	if (p == NULL) {
		cnt(d, DP_DROP_DNS_PENDING_FULL);
		if (cl->tcp >= 0)
			answer_error(d, cl, DNS_RCODE_SERVFAIL, EBUSY,
				     "too many upstream queries outstanding");
		return;
	}
	memset(p, 0, offsetof(struct pending, q));
	p->used = true;
	p->q = *q;
	p->cl = *cl;
	/* Spread first tries over the servers by id: no one server takes
	 * every first query. */
	p->server = (uint8_t)(rand16(d) % d->n_up);
	d->n_pend++;
	if (!pending_send(d, p, now)) {
		pending_free(d, p);
		cnt(d, DP_DROP_DNS_PENDING_FULL);
		answer_error(d, cl, DNS_RCODE_SERVFAIL, EADDRINUSE,
			     "no free source port for the upstream query");
	}
}

static void
tcp_process(struct dnsproxy *d, struct tcp_conn *t, uint64_t now);

/* Past its deadline: the next server, or SERVFAIL after the last try. */
static void
pending_timeout(struct dnsproxy *d, struct pending *p, uint64_t now)
{
	if (p->tries < d->tries) {
		p->server = (uint8_t)((p->server + 1) % d->n_up);
		cnt(d, DP_DNS_RETRIES);
		if (pending_send(d, p, now))
			return;
	}
	struct client cl = p->cl;

	pending_free(d, p);
	cnt(d, DP_DNS_SERVFAIL);
	answer_error(d, &cl, DNS_RCODE_SERVFAIL, ETIMEDOUT, "no upstream server answered");
	if (cl.tcp >= 0)
		tcp_process(d, &d->tcp[cl.tcp], now);
}

static bool
same_question(const struct dns_question *a, const struct dns_question *b)
{
	return a->qtype == b->qtype && a->qclass == b->qclass && a->name_len == b->name_len &&
	       memcmp(a->name, b->name, a->name_len) == 0;
}

/* A UDP datagram from an upstream to our outside address. */
static void
upstream_input(struct dnsproxy *d, rte_be32_t src, uint16_t sport, uint16_t dport,
	       uint8_t *msg, size_t len, uint64_t now)
{
	static struct dns_answer_info a; /* large; the control thread is single */
	uint16_t idx = d->port_slot[dport];
	struct pending *p = idx ? &d->pend[idx - 1] : NULL;
	enum dns_err e;

	/* RFC 5452 9.1: the answer must come from the server we asked, to
	 * the port we asked from, with our id and our question. */
	if (p == NULL || !p->used || sport != DNS_PORT || src != d->up[p->server] ||
	    len < DNS_HDR_LEN || dns_get16(msg) != p->id || !(dns_get16(msg + 2) & DNS_F_QR)) {
		cnt(d, DP_DROP_DNS_UNSOLICITED);
		return;
	}
	e = dns_parse_response(msg, len, &a);
	if (e != DNS_OK) {
		cnt(d, DP_DROP_DNS_MALFORMED); /* the query stays: its timeout retries */
		return;
	}
	if (!same_question(&a.q, &p->q)) {
		cnt(d, DP_DROP_DNS_UNSOLICITED);
		return;
	}
	if (a.q.len != p->cl.qlen) { /* cannot happen for the same name; be sure */
		cnt(d, DP_DROP_DNS_MALFORMED);
		return;
	}
	uint32_t ns = now_s(d, now);
	struct client cl = p->cl;

	pending_free(d, p);
	/* Publish before the client has the answer: its next packet, to an
	 * address it just learned, must find the address in the set. */
	track_answer(d, &a, ns);
	republish(d);
	/* The additional section is not kept: it is optional, and dropping
	 * it leaves every compression pointer valid (they point backwards). */
	memcpy(d->out, msg, a.body_end);
	dns_put16(d->out + 10, 0);
	cache_store(d, &a.q, d->out, a.body_end, cache_ttl(&a), ns);
	deliver(d, &cl, d->out, for_client(&cl, d->out, a.body_end), 0, "");
	if (cl.tcp >= 0)
		tcp_process(d, &d->tcp[cl.tcp], now);
}

/* ------------------------------------------------------------- clients */

/* Queries per second per client, in fixed one-second windows. The table
 * is direct mapped: two clients on one slot in the same second share one
 * budget, which errs on the side of refusing. */
static bool
rate_ok(struct dnsproxy *d, rte_be32_t addr, uint32_t now)
{
	struct rate_slot *s = &d->rate[rte_jhash_1word(addr, 0x6e5) & (RATE_SLOTS - 1)];

	if (s->window_s != now || s->count == 0) {
		s->addr = addr;
		s->window_s = now;
		s->count = 0;
	}
	return ++s->count <= d->qps;
}

/* The DO bit of a query's OPT record (RFC 3225 3): the top bit of the
 * flags half of its TTL. dns_parse_query() found the OPT right after the
 * question. */
static bool
query_do_bit(const uint8_t *msg, size_t len, const struct dns_question *q)
{
	size_t off = (size_t)q->off + q->len;
	struct dns_rr rr;

	return dns_parse_rr(msg, len, &off, &rr) == DNS_OK && (rr.ttl & 0x8000) != 0;
}

/*
 * One query from a client (UDP or TCP): from the cache when fresh, else
 * forwarded. Queries we do not serve get an error answer; malformed ones
 * are dropped (an answer to garbage helps only a flood).
 */
static void
query(struct dnsproxy *d, struct client *cl, const uint8_t *msg, size_t len, uint64_t now)
{
	struct dns_header h;
	struct dns_question q;
	struct cache_entry *e;
	enum dns_err err;
	uint32_t ns = now_s(d, now);

	cnt(d, DP_DNS_QUERIES);
	err = dns_parse_query(msg, len, &h, &q, &cl->edns);
	if (err != DNS_OK || (h.flags & DNS_F_QR)) {
		cnt(d, DP_DROP_DNS_MALFORMED);
		if (cl->tcp >= 0) /* a TCP client waits for something */
			d->tcp[cl->tcp].busy = false;
		return;
	}
	cl->id = h.id;
	cl->rd = (h.flags & DNS_F_RD) != 0;
	cl->qlen = q.len;
	memcpy(cl->qbytes, msg + q.off, q.len);
	cl->req_len = (uint16_t)len;
	cl->t0_tsc = now;
	cl->dnssec_ok = cl->edns && query_do_bit(msg, len, &q);
	if ((h.flags & DNS_F_OPCODE) != 0) {
		cnt(d, DP_DNS_ERRORS_SENT);
		answer_error(d, cl, DNS_RCODE_NOTIMP, EOPNOTSUPP, "only standard queries are served");
		return;
	}
	if (q.qclass != DNS_CLASS_IN) {
		cnt(d, DP_DNS_ERRORS_SENT);
		answer_error(d, cl, DNS_RCODE_REFUSED, EPROTONOSUPPORT,
			     "only class IN is served");
		return;
	}
	e = cache_find(d, &q, key_hash(q.name, q.name_len, q.qtype, q.qclass));
	if (e != NULL && e->expire_s > ns) {
		e->ref = true;
		memcpy(d->out, e->msg, e->len);
		dns_ttl_age(d->out, e->len, ns - e->stored_s);
		cnt(d, DP_DNS_CACHE_HITS);
		deliver(d, cl, d->out, for_client(cl, d->out, e->len), 0, "");
		return;
	}
	forward(d, cl, &q, now);
}

/* ------------------------------------------------------------- tcp */

static uint32_t
tcp_isn(const struct dnsproxy *d, rte_be32_t addr, rte_be16_t port, uint64_t now)
{
	/* RFC 6528: a 4-microsecond clock plus a keyed hash of the
	 * connection's addresses, so ISNs are neither guessable nor reused. */
	uint32_t clock = (uint32_t)(now / (d->hz / 250000 ? d->hz / 250000 : 1));

	return clock + rte_jhash_3words(addr, (uint32_t)port << 16 | DNS_PORT, d->isn_key[0],
					d->isn_key[1]);
}

static void
tcp_segment(struct dnsproxy *d, rte_be32_t dst, rte_be16_t dport,
	    const struct rte_ether_addr *mac, rte_be16_t sport, uint32_t seq, uint32_t ack,
	    uint8_t flags, uint16_t win, const uint8_t *data, size_t len, uint16_t mss_opt)
{
	size_t hl = sizeof(struct rte_tcp_hdr) + (mss_opt ? 4 : 0);
	struct rte_ipv4_hdr *ip;
	struct rte_mbuf *m = frame_new(d, IPPROTO_TCP, d->c->dp.ifaces[DP_IFACE_INSIDE].addr, dst,
				       hl + len, &ip);
	struct rte_tcp_hdr *tcp;

	if (m == NULL)
		return;
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	memset(tcp, 0, hl);
	tcp->src_port = sport;
	tcp->dst_port = dport;
	tcp->sent_seq = rte_cpu_to_be_32(seq);
	tcp->recv_ack = rte_cpu_to_be_32(ack);
	tcp->data_off = (uint8_t)((hl / 4) << 4);
	tcp->tcp_flags = flags;
	tcp->rx_win = rte_cpu_to_be_16(win);
	if (mss_opt) {
		uint8_t *o = (uint8_t *)(tcp + 1);

		o[0] = 2; /* MSS */
		o[1] = 4;
		dns_put16(o + 2, mss_opt);
	}
	if (len)
		memcpy((uint8_t *)tcp + hl, data, len);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	send_inside(d, m, mac);
}

static void
tcp_send(struct dnsproxy *d, struct tcp_conn *t, uint8_t flags, const uint8_t *data, size_t len)
{
	tcp_segment(d, t->addr, t->port, &t->mac, RTE_BE16(DNS_PORT), t->snd_nxt, t->rcv_nxt,
		    flags, (uint16_t)(TCP_BUF - t->n), data, len, 0);
	t->snd_nxt += (uint32_t)len + ((flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) ? 1 : 0);
}

/* The length-prefixed answer, in segments of the peer's MSS. Sent once:
 * if a segment is lost the client's own timeout retries the query (see
 * docs/dns.md, "what is simplified"). */
static void
tcp_send_msg(struct dnsproxy *d, struct tcp_conn *t, const uint8_t *msg, size_t len)
{
	static uint8_t buf[MSG_MAX + 2];
	size_t off = 0;

	if (len > MSG_MAX)
		return;
	dns_put16(buf, (uint16_t)len);
	memcpy(buf + 2, msg, len);
	len += 2;
	while (off < len) {
		size_t n = RTE_MIN((size_t)t->mss, len - off);

		tcp_send(d, t, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, buf + off, n);
		off += n;
	}
	t->deadline_tsc = rte_rdtsc() + TCP_IDLE_TIMEOUT_S * d->hz;
}

static void
tcp_close(struct tcp_conn *t)
{
	t->state = TCP_FREE;
	t->gen++;
}

/* RFC 793 3.4 "Reset Generation" for a segment no connection wants. */
static void
tcp_reset(struct dnsproxy *d, rte_be32_t src, rte_be16_t sport, rte_be16_t dport,
	  const struct rte_ether_addr *mac, const struct rte_tcp_hdr *th, size_t plen)
{
	uint8_t f = th->tcp_flags;

	if (f & RTE_TCP_RST_FLAG)
		return;
	cnt(d, DP_DNS_TCP_RESETS);
	if (f & RTE_TCP_ACK_FLAG)
		tcp_segment(d, src, sport, mac, dport, rte_be_to_cpu_32(th->recv_ack), 0,
			    RTE_TCP_RST_FLAG, 0, NULL, 0, 0);
	else
		tcp_segment(d, src, sport, mac, dport, 0,
			    rte_be_to_cpu_32(th->sent_seq) + (uint32_t)plen +
				    ((f & RTE_TCP_SYN_FLAG) ? 1 : 0) + ((f & RTE_TCP_FIN_FLAG) ? 1 : 0),
			    RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, NULL, 0, 0);
}

/* Serve the whole queries waiting in the buffer, one at a time; close
 * once the peer has closed and nothing is left. */
static void
tcp_process(struct dnsproxy *d, struct tcp_conn *t, uint64_t now)
{
	while (t->state == TCP_ESTABLISHED && !t->busy) {
		int n = dns_tcp_frame(t->buf, t->n, TCP_BUF - 2);
		struct client cl;

		if (n < 0) {
			cnt(d, DP_DROP_DNS_OVERSIZED);
			tcp_send(d, t, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
			cnt(d, DP_DNS_TCP_RESETS);
			tcp_close(t);
			return;
		}
		if (n == 0)
			break;
		memset(&cl, 0, sizeof(cl));
		cl.addr = t->addr;
		cl.port = t->port;
		cl.mac = t->mac;
		cl.tcp = (int16_t)(t - d->tcp);
		cl.tcp_gen = t->gen;
		t->busy = true;
		cnt(d, DP_DNS_QUERIES_TCP);
		uint8_t q[TCP_BUF];

		memcpy(q, t->buf + 2, (size_t)n);
		t->n = (uint16_t)(t->n - 2 - n);
		memmove(t->buf, t->buf + 2 + n, t->n);
		query(d, &cl, q, (size_t)n, now);
	}
	if (t->state == TCP_ESTABLISHED && t->peer_fin && !t->busy) {
		tcp_send(d, t, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
		t->state = TCP_CLOSING;
		t->deadline_tsc = now + TCP_CLOSE_TIMEOUT_S * d->hz;
	}
}

static uint16_t
syn_mss(const struct rte_tcp_hdr *th, size_t hl)
{
	const uint8_t *o = (const uint8_t *)(th + 1), *end = (const uint8_t *)th + hl;

	while (o < end) { /* bounded by the header length: each step moves */
		if (o[0] == 0)
			break;
		if (o[0] == 1) {
			o++;
			continue;
		}
		if (o + 1 >= end || o[1] < 2 || o + o[1] > end)
			break;
		if (o[0] == 2 && o[1] == 4)
			return dns_get16(o + 2);
		o += o[1];
	}
	return 536; /* RFC 879 */
}

static void
tcp_input(struct dnsproxy *d, struct rte_mbuf *m, const struct rte_ipv4_hdr *ip,
	  const struct rte_ether_addr *mac, const uint8_t *l4, size_t l4len, uint64_t now)
{
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)l4;
	size_t hl = (size_t)(th->data_off >> 4) * 4;
	uint8_t f;
	uint32_t seq, ack;
	size_t plen;
	struct tcp_conn *t = NULL, *free_slot = NULL;

	if (l4len < sizeof(*th) || hl < sizeof(*th) || hl > l4len) {
		cdrop(d, m, DP_DROP_DNS_MALFORMED);
		return;
	}
	if (rte_ipv4_udptcp_cksum_verify(ip, th) != 0) {
		cdrop(d, m, DP_DROP_DNS_CHECKSUM);
		return;
	}
	f = th->tcp_flags;
	seq = rte_be_to_cpu_32(th->sent_seq);
	ack = rte_be_to_cpu_32(th->recv_ack);
	plen = l4len - hl;
	if (th->dst_port != RTE_BE16(DNS_PORT)) {
		tcp_reset(d, ip->src_addr, th->src_port, th->dst_port, mac, th, plen);
		cdrop(d, m, DP_DROP_DNS_CLOSED_PORT);
		return;
	}
	for (unsigned i = 0; i < TCP_CONNS; i++) {
		struct tcp_conn *c = &d->tcp[i];

		if (c->state == TCP_FREE) {
			if (free_slot == NULL)
				free_slot = c;
		} else if (c->addr == ip->src_addr && c->port == th->src_port) {
			t = c;
		}
	}
	if (f & RTE_TCP_RST_FLAG) {
		if (t != NULL && seq == t->rcv_nxt)
			tcp_close(t);
		rte_pktmbuf_free(m);
		return;
	}
	if (t == NULL) {
		if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG)) !=
		    RTE_TCP_SYN_FLAG) {
			tcp_reset(d, ip->src_addr, th->src_port, th->dst_port, mac, th, plen);
			cdrop(d, m, DP_DROP_DNS_TCP_INVALID);
			return;
		}
		if (free_slot == NULL) {
			tcp_reset(d, ip->src_addr, th->src_port, th->dst_port, mac, th, plen);
			cdrop(d, m, DP_DROP_DNS_TCP_FULL);
			return;
		}
		t = free_slot;
		t->state = TCP_SYN_RCVD;
		t->busy = t->peer_fin = false;
		t->addr = ip->src_addr;
		t->port = th->src_port;
		t->mac = *mac;
		t->n = 0;
		t->iss = tcp_isn(d, t->addr, t->port, now);
		t->snd_nxt = t->iss;
		t->rcv_nxt = seq + 1;
		t->mss = RTE_MIN(syn_mss(th, hl),
				 (uint16_t)(d->c->dp.ifaces[DP_IFACE_INSIDE].mtu - 40));
		if (t->mss < 64)
			t->mss = 64;
		t->deadline_tsc = now + TCP_SYN_TIMEOUT_S * d->hz;
		tcp_segment(d, t->addr, t->port, &t->mac, RTE_BE16(DNS_PORT), t->snd_nxt,
			    t->rcv_nxt, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, TCP_BUF, NULL, 0,
			    (uint16_t)(d->c->dp.ifaces[DP_IFACE_INSIDE].mtu - 40));
		t->snd_nxt++;
		cnt(d, DP_DNS_TCP_CONNECTIONS);
		rte_pktmbuf_free(m);
		return;
	}
	if (f & RTE_TCP_SYN_FLAG) {
		/* Our SYN-ACK was lost: the same SYN again gets it again. */
		if (t->state == TCP_SYN_RCVD && !(f & RTE_TCP_ACK_FLAG) && seq + 1 == t->rcv_nxt)
			tcp_segment(d, t->addr, t->port, &t->mac, RTE_BE16(DNS_PORT), t->iss,
				    t->rcv_nxt, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, TCP_BUF, NULL,
				    0, (uint16_t)(d->c->dp.ifaces[DP_IFACE_INSIDE].mtu - 40));
		else
			cnt(d, DP_DROP_DNS_TCP_INVALID);
		rte_pktmbuf_free(m);
		return;
	}
	/* Everything else carries an ACK of something we sent. */
	if (!(f & RTE_TCP_ACK_FLAG) || (int32_t)(ack - t->iss) <= 0 ||
	    (int32_t)(ack - t->snd_nxt) > 0) {
		tcp_reset(d, ip->src_addr, th->src_port, th->dst_port, mac, th, plen);
		tcp_close(t);
		cdrop(d, m, DP_DROP_DNS_TCP_INVALID);
		return;
	}
	if (t->state == TCP_SYN_RCVD) {
		t->state = TCP_ESTABLISHED;
		t->deadline_tsc = now + TCP_IDLE_TIMEOUT_S * d->hz;
	}
	if (t->state == TCP_CLOSING) {
		/* After our FIN: the peer's FIN ends it, or its ACK of ours
		 * when it had closed first. */
		if ((f & RTE_TCP_FIN_FLAG) || (t->peer_fin && ack == t->snd_nxt)) {
			if (f & RTE_TCP_FIN_FLAG) {
				t->rcv_nxt = seq + (uint32_t)plen + 1;
				tcp_send(d, t, RTE_TCP_ACK_FLAG, NULL, 0);
			}
			tcp_close(t);
		}
		rte_pktmbuf_free(m);
		return;
	}
	/* In order only: a segment from the future is answered by our
	 * current ACK (the peer resends), one from the past is a duplicate. */
	if (seq != t->rcv_nxt) {
		if (plen > 0 || (f & RTE_TCP_FIN_FLAG)) {
			tcp_send(d, t, RTE_TCP_ACK_FLAG, NULL, 0);
			cnt(d, DP_DROP_DNS_TCP_INVALID);
		}
		rte_pktmbuf_free(m);
		return;
	}
	if (plen > 0) {
		if (t->n + plen > TCP_BUF) {
			tcp_send(d, t, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
			cnt(d, DP_DNS_TCP_RESETS);
			tcp_close(t);
			cdrop(d, m, DP_DROP_DNS_OVERSIZED);
			return;
		}
		memcpy(t->buf + t->n, l4 + hl, plen);
		t->n = (uint16_t)(t->n + plen);
		t->rcv_nxt += (uint32_t)plen;
		t->deadline_tsc = now + TCP_IDLE_TIMEOUT_S * d->hz;
	}
	if (f & RTE_TCP_FIN_FLAG) {
		t->rcv_nxt++;
		t->peer_fin = true;
	}
	if (plen > 0 || (f & RTE_TCP_FIN_FLAG))
		tcp_send(d, t, RTE_TCP_ACK_FLAG, NULL, 0);
	rte_pktmbuf_free(m);
	tcp_process(d, t, now);
}

/* ------------------------------------------------------------- input */

void
dnsproxy_input(struct ctl *c, struct rte_mbuf *m, uint8_t in_iface)
{
	struct dnsproxy *d = c->dns;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	size_t ihl, ip_len, l4len;
	uint8_t *l4;
	uint64_t now = rte_rdtsc();

	if (d == NULL) {
		c->stats.c[DP_DROP_LOCAL_UNSUPPORTED]++;
		rte_pktmbuf_free(m);
		return;
	}
	/* The worker checked the IPv4 header (ipv4_check) and that the L4
	 * header is there; the lengths are checked again because this is
	 * where they are used. */
	ihl = (size_t)(ip->version_ihl & 0xf) * 4;
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (m->data_len < RTE_ETHER_HDR_LEN + ip_len || ip_len < ihl) {
		cdrop(d, m, DP_DROP_DNS_MALFORMED);
		return;
	}
	l4 = (uint8_t *)ip + ihl;
	l4len = ip_len - ihl;
	if (ip->next_proto_id == IPPROTO_TCP) {
		if (in_iface != DP_IFACE_INSIDE ||
		    ip->dst_addr != c->dp.ifaces[DP_IFACE_INSIDE].addr) {
			cdrop(d, m, DP_DROP_DNS_CLOSED_PORT);
			return;
		}
		tcp_input(d, m, ip, &eth->src_addr, l4, l4len, now);
		return;
	}
	if (ip->next_proto_id != IPPROTO_UDP) {
		cdrop(d, m, DP_DROP_LOCAL_UNSUPPORTED);
		return;
	}

	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)l4;
	size_t ulen;

	if (l4len < sizeof(*udp) || (ulen = rte_be_to_cpu_16(udp->dgram_len)) != l4len) {
		cdrop(d, m, DP_DROP_DNS_MALFORMED);
		return;
	}
	if (udp->dgram_cksum != 0 && rte_ipv4_udptcp_cksum_verify(ip, udp) != 0) {
		cdrop(d, m, DP_DROP_DNS_CHECKSUM);
		return;
	}
	uint8_t *payload = (uint8_t *)(udp + 1);
	size_t plen = ulen - sizeof(*udp);

	if (plen > MSG_MAX) {
		cdrop(d, m, DP_DROP_DNS_OVERSIZED);
		return;
	}
	if (in_iface == DP_IFACE_OUTSIDE && ip->dst_addr == c->dp.ifaces[DP_IFACE_OUTSIDE].addr) {
		upstream_input(d, ip->src_addr, rte_be_to_cpu_16(udp->src_port),
			       rte_be_to_cpu_16(udp->dst_port), payload, plen, now);
		rte_pktmbuf_free(m);
		return;
	}
	if (in_iface != DP_IFACE_INSIDE || ip->dst_addr != c->dp.ifaces[DP_IFACE_INSIDE].addr ||
	    udp->dst_port != RTE_BE16(DNS_PORT)) {
		cdrop(d, m, DP_DROP_DNS_CLOSED_PORT);
		return;
	}
	if (!rate_ok(d, ip->src_addr, now_s(d, now))) {
		cdrop(d, m, DP_DROP_DNS_RATE_LIMITED);
		return;
	}

	struct client cl;

	memset(&cl, 0, sizeof(cl));
	cl.addr = ip->src_addr;
	cl.port = udp->src_port;
	cl.mac = eth->src_addr;
	cl.tcp = -1;
	query(d, &cl, payload, plen, now);
	rte_pktmbuf_free(m);
}

/* ------------------------------------------------------------- timers */

void
dnsproxy_tick(struct ctl *c, uint64_t now)
{
	struct dnsproxy *d = c->dns;
	uint32_t ns;

	if (d == NULL)
		return;
	for (unsigned i = 0; i < PENDING_MAX && d->n_pend > 0; i++)
		if (d->pend[i].used && now >= d->pend[i].deadline_tsc)
			pending_timeout(d, &d->pend[i], now);
	for (unsigned i = 0; i < TCP_CONNS; i++) {
		struct tcp_conn *t = &d->tcp[i];

		if (t->state == TCP_FREE || now < t->deadline_tsc)
			continue;
		if (t->state == TCP_ESTABLISHED && !t->busy) {
			/* Idle: we close first (RFC 7766 6.2.3). */
			tcp_send(d, t, RTE_TCP_FIN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
			t->state = TCP_CLOSING;
			t->deadline_tsc = now + TCP_CLOSE_TIMEOUT_S * d->hz;
		} else if (t->state != TCP_ESTABLISHED) {
			tcp_close(t);
		}
	}
	ns = now_s(d, now);
	if (ns != d->last_expiry_s) {
		d->last_expiry_s = ns;
		track_expire(d, ns);
		retired_reclaim(d, false);
	}
	republish(d);
}

/* ------------------------------------------------------------- life */

int
dnsproxy_create(struct ctl *c, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	struct dnsproxy *d;
	unsigned nb = 1;

	if (!cfg->dns_enabled)
		return 0;
	if (cfg->n_dns_upstreams == 0) {
		snprintf(err, errlen, "dns: the proxy needs at least one upstream server");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "dns: out of memory");
		return -ENOMEM;
	}
	d->c = c;
	d->hz = c->dp.tsc_hz;
	d->t0_tsc = rte_rdtsc();
	d->timeout_tsc = d->hz * cfg->dns_timeout_ms / 1000;
	d->tries = cfg->dns_tries;
	d->retention_s = cfg->dns_retention_s;
	d->qps = cfg->dns_client_qps;
	d->n_up = cfg->n_dns_upstreams;
	for (unsigned i = 0; i < d->n_up; i++)
		d->up[i] = rte_cpu_to_be_32(cfg->dns_upstreams[i]);
	d->cache_n = cfg->dns_cache_entries;
	while (nb < 2 * d->cache_n)
		nb <<= 1;
	d->bucket_mask = nb - 1;
	d->pend = calloc(PENDING_MAX, sizeof(*d->pend));
	d->port_slot = calloc(65536, sizeof(*d->port_slot));
	d->cache = calloc(d->cache_n, sizeof(*d->cache));
	d->bucket = calloc(nb, sizeof(*d->bucket));
	d->rnd_pos = sizeof(d->rnd);
	c->dns = d;
	if (d->pend == NULL || d->port_slot == NULL || d->cache == NULL || d->bucket == NULL) {
		snprintf(err, errlen, "dns: cannot allocate the cache of %u entries (%zu MiB)",
			 d->cache_n, d->cache_n * sizeof(*d->cache) >> 20);
		dnsproxy_free(c);
		return -ENOMEM;
	}
	d->isn_key[0] = (uint32_t)rand16(d) << 16 | rand16(d);
	d->isn_key[1] = (uint32_t)rand16(d) << 16 | rand16(d);
	c->dp.punt_l4 = true;
	return 0;
}

void
dnsproxy_free(struct ctl *c)
{
	struct dnsproxy *d = c->dns;

	if (d == NULL)
		return;
	c->dp.punt_l4 = false;
	retired_reclaim(d, true);
	tracking_free(&d->tr);
	free(d->pend);
	free(d->port_slot);
	free(d->cache);
	free(d->bucket);
	free(d);
	c->dns = NULL;
}

/* ------------------------------------------------------------- show */

struct jbuf {
	char *p;
	size_t cap, n;
};

static void
jprintf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
jprintf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->n >= b->cap)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	b->n += r > 0 ? (size_t)r : 0;
}

static void
jstr(struct jbuf *b, const char *s)
{
	jprintf(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			jprintf(b, "\\%c", ch);
		else if (ch < 0x20)
			jprintf(b, "\\u%04x", ch);
		else
			jprintf(b, "%c", ch);
	}
	jprintf(b, "\"");
}

void
dnsproxy_status(const struct dnsproxy *d, struct dnsproxy_status *s)
{
	memset(s, 0, sizeof(*s));
	if (d == NULL)
		return;
	s->n_upstreams = RTE_MIN(d->n_up, (unsigned)RTE_DIM(s->upstreams));
	for (unsigned i = 0; i < s->n_upstreams; i++)
		s->upstreams[i] = rte_be_to_cpu_32(d->up[i]);
	s->retention_s = d->retention_s;
	s->cache_entries = d->cache_used;
	s->cache_capacity = d->cache_n;
	s->outstanding = d->n_pend;
	s->n_names = d->tr.n_names;
}

bool
dnsproxy_name_at(const struct dnsproxy *d, unsigned i, struct dnsproxy_name_view *v)
{
	const struct tracked_name *n;
	uint32_t ns;

	RTE_BUILD_BUG_ON(DNSPROXY_NAME_ADDRS_MAX != TRACK_ADDRS_MAX);
	if (d == NULL || i >= d->tr.n_names)
		return false;
	n = &d->tr.names[i];
	ns = now_s(d, rte_rdtsc());
	v->name = n->text;
	v->rs = d->tr.rs;
	v->rules = &d->tr.name_rules[d->tr.name_first[i]];
	v->n_rules = d->tr.name_first[i + 1] - d->tr.name_first[i];
	v->n_addrs = n->n_addrs;
	for (unsigned k = 0; k < n->n_addrs; k++) {
		v->addrs[k] = n->addrs[k].addr;
		v->expires_in_s[k] = n->addrs[k].expire_s > ns ? n->addrs[k].expire_s - ns : 0;
	}
	return true;
}

int
dnsproxy_show(const struct dnsproxy *d, char *buf, size_t cap)
{
	struct jbuf b = { .p = buf, .cap = cap, .n = 0 };
	struct dnsproxy_status st;
	static struct dnsproxy_name_view v; /* large; the control thread is single */

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	if (d == NULL) {
		jprintf(&b, "{\"enabled\": false}");
		return b.n < cap ? (int)b.n : -ENOSPC;
	}
	dnsproxy_status(d, &st);
	jprintf(&b, "{\"enabled\": true, \"upstreams\": [");
	for (unsigned i = 0; i < st.n_upstreams; i++) {
		uint32_t a = st.upstreams[i];

		jprintf(&b, "%s\"%u.%u.%u.%u\"", i ? ", " : "", a >> 24, a >> 16 & 0xff,
			a >> 8 & 0xff, a & 0xff);
	}
	jprintf(&b, "], \"retention_s\": %u, \"cache\": {\"entries\": %u, \"capacity\": %u}, "
		    "\"outstanding\": %u, \"names\": [",
		st.retention_s, st.cache_entries, st.cache_capacity, st.outstanding);
	for (unsigned ni = 0; dnsproxy_name_at(d, ni, &v); ni++) {
		jprintf(&b, "%s{\"name\": ", ni ? ", " : "");
		jstr(&b, v.name);
		jprintf(&b, ", \"rules\": [");
		for (unsigned k = 0; k < v.n_rules; k++) {
			const struct policy_rule_info *ri = policy_rule_info(v.rs, v.rules[k]);
			char path[768];

			snprintf(path, sizeof(path), "%s/%s/%s", ri ? ri->group : "?",
				 ri ? ri->collection : "?", ri ? ri->rule : "?");
			jprintf(&b, "%s", k ? ", " : "");
			jstr(&b, path);
		}
		jprintf(&b, "], \"addresses\": [");
		for (unsigned i = 0; i < v.n_addrs; i++) {
			uint32_t a = v.addrs[i];

			jprintf(&b, "%s{\"address\": \"%u.%u.%u.%u\", \"expires_in_s\": %u}",
				i ? ", " : "", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff,
				v.expires_in_s[i]);
		}
		jprintf(&b, "]}");
	}
	jprintf(&b, "]}");
	if (b.n >= cap) {
		buf[cap - 1] = '\0';
		return -ENOSPC;
	}
	return (int)b.n;
}
