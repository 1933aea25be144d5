/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Application-rule inspection through the real worker loop over net_ring
 * ports: hand-built handshakes, ClientHellos and HTTP request heads, split,
 * reordered, retransmitted and carried in the SYN. The assertions are on
 * what leaves: no payload byte before the decision; on allow the held
 * segments in order, translated, byte for byte; on refusal RSTs (or the
 * 403 page) with the sequence numbers each end expects and good checksums.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_tcp.h>

#include "dataplane/inspect.h"
#include "tests/dataplane/harness.h"
#include "tests/dataplane/tcp_frame.h"

static struct harness H;

#define CLIENT "198.18.1.10"
#define SERVER "203.0.113.10"
#define ISN 1000000u
#define SISN 7000000u
#define MSS 1448

static const char app_policy[] =
	"rule_collection_groups:\n"
	"  - name: g\n"
	"    priority: 100\n"
	"    rule_collections:\n"
	"      - name: udp\n"
	"        kind: network\n"
	"        priority: 100\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: u\n"
	"            protocols: [UDP]\n"
	"            source_addresses: [\"*\"]\n"
	"            destination_addresses: [\"*\"]\n"
	"            destination_ports: [\"*\"]\n"
	"      - name: web\n"
	"        kind: application\n"
	"        priority: 400\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: allowed\n"
	"            source_addresses: [198.18.1.0/24]\n"
	"            protocols: [\"https:443\", \"http:80\"]\n"
	"            target_fqdns: [allowed.example, \"*.wild.example\"]\n";

/* The same, without allowed.example. */
static const char narrower_policy[] =
	"rule_collection_groups:\n"
	"  - name: g\n"
	"    priority: 100\n"
	"    rule_collections:\n"
	"      - name: web\n"
	"        kind: application\n"
	"        priority: 400\n"
	"        action: allow\n"
	"        rules:\n"
	"          - name: allowed\n"
	"            source_addresses: [198.18.1.0/24]\n"
	"            protocols: [\"https:443\", \"http:80\"]\n"
	"            target_fqdns: [\"*.wild.example\"]\n";

static int
start(void **state, unsigned flows, unsigned flow_bytes, unsigned held)
{
	h_default_config(&H.cfg);
	H.cfg.n_no_snat = 0; /* SNAT everything going out */
	H.cfg.inspect_flows = flows;
	H.cfg.inspect_flow_bytes = flow_bytes;
	H.cfg.inspect_held_pkts = held;
	H.policy = app_policy;
	*state = &H;
	return h_start(&H);
}

static int setup(void **state) { return start(state, 64, 16384, 256); }
static int setup_small(void **state) { return start(state, 16, 2048, 40); }

static int
teardown(void **state)
{
	(void)state;
	h_stop(&H);
	H.policy = NULL;
	return 0;
}

/* ------------------------------------------------------------ builders */

struct bytes {
	uint8_t b[8192];
	size_t n;
};

static void
put(struct bytes *o, const void *p, size_t n)
{
	assert_true(o->n + n <= sizeof(o->b));
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void
put16(struct bytes *o, unsigned v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(o, x, 2);
}

static void
fill(struct bytes *o, uint8_t v, size_t n)
{
	while (n-- > 0)
		put(o, &v, 1);
}

/*
 * A ClientHello in one TLS record: `pad` bytes of a GREASE extension
 * before the server_name (Chrome puts its 1.2 KB ML-KEM key share there,
 * so the name lands in the second segment), no server_name when `name` is
 * NULL.
 */
static void
client_hello(struct bytes *o, const char *name, size_t pad)
{
	struct bytes hs = { .n = 0 };
	size_t ext_len = 4 + pad + 4 + 3 + (name ? 4 + 5 + strlen(name) : 0);
	size_t body;

	o->n = 0;
	put16(&hs, 0x0303);
	fill(&hs, 0x42, 32);            /* random */
	fill(&hs, 32, 1);               /* session id */
	fill(&hs, 0x17, 32);
	put16(&hs, 4);                  /* cipher suites */
	put16(&hs, 0x1301);
	put16(&hs, 0x1302);
	fill(&hs, 1, 1);                /* compression: null */
	fill(&hs, 0, 1);
	put16(&hs, (unsigned)ext_len);
	put16(&hs, 0x0a0a);             /* GREASE extension with the padding */
	put16(&hs, (unsigned)pad);
	fill(&hs, 0xaa, pad);
	put16(&hs, 0x002b);             /* supported_versions: TLS 1.3 */
	put16(&hs, 3);
	fill(&hs, 2, 1);
	put16(&hs, 0x0304);
	if (name != NULL) {
		size_t l = strlen(name);

		put16(&hs, 0);          /* server_name */
		put16(&hs, (unsigned)(l + 5));
		put16(&hs, (unsigned)(l + 3));
		fill(&hs, 0, 1);
		put16(&hs, (unsigned)l);
		put(&hs, name, l);
	}
	body = hs.n;
	fill(o, 22, 1);
	put16(o, 0x0301);
	put16(o, (unsigned)(body + 4));
	fill(o, 1, 1);
	fill(o, (uint8_t)(body >> 16), 1);
	put16(o, (unsigned)body & 0xffff);
	put(o, hs.b, hs.n);
}

static void
http_get(struct bytes *o, const char *host)
{
	o->n = 0;
	put(o, "GET /index.html HTTP/1.1\r\nHost: ", 32);
	put(o, host, strlen(host));
	put(o, "\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n", 35);
}

/* An Ethernet/IPv4/TCP frame; addresses in network order. */
static size_t
frame(uint8_t *buf, int iface, rte_be32_t src, uint16_t sport, rte_be32_t dst, uint16_t dport,
      uint32_t seq, uint32_t ack, uint8_t flags, const void *data, size_t len)
{
	const struct tcp_frame f = {
		.src_mac = iface == H_IN ? &h_client_mac : &h_server_mac,
		.dst_mac = &H.ctl.dp.ifaces[iface].mac,
		.src = src, .dst = dst, .sport = sport, .dport = dport,
		.seq = seq, .ack = ack, .flags = flags,
	};

	return tcp_frame_build(buf, &f, data, len);
}

/* One flow from the client, and the frontend address it got. */
struct flow {
	uint16_t sport, dport;
	rte_be32_t fip;
	uint16_t fport;
};

static void
client_send(const struct flow *f, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
	uint8_t buf[2048];

	h_send(&H, H_IN, buf,
	       frame(buf, H_IN, h_ip(CLIENT), f->sport, h_ip(SERVER), f->dport, seq,
		     (flags & RTE_TCP_ACK_FLAG) ? SISN + 1 : 0, flags, data, len));
}

static void
server_send(const struct flow *f, uint32_t seq, uint32_t ack, uint8_t flags, const void *data,
	    size_t len)
{
	uint8_t buf[2048];

	h_send(&H, H_OUT, buf,
	       frame(buf, H_OUT, h_ip(SERVER), f->dport, f->fip, f->fport, seq, ack, flags, data,
		     len));
}

static void
resolve_both(void)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	uint8_t buf[128];

	h_send(&H, H_IN, buf, h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_client_mac, &bcast, CLIENT,
					  "198.18.1.1"));
	h_send(&H, H_OUT, buf, h_build_arp(buf, RTE_ARP_OP_REQUEST, &h_server_mac, &bcast, SERVER,
					   "203.0.113.1"));
	h_pump(&H);
	rte_pktmbuf_free(h_recv(&H, H_IN));
	rte_pktmbuf_free(h_recv(&H, H_OUT));
}

static void
nothing_out(void)
{
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_IN) + h_pending(&H, H_OUT), 0);
}

/* The next frame out of `iface`, with its checksums checked. */
static struct rte_mbuf *
out_of(int iface)
{
	struct rte_mbuf *m = h_recv(&H, iface);

	if (m == NULL)
		fail_msg("nothing came out of %s", iface == H_IN ? "inside" : "outside");
	assert_true(h_ipv4_cksum_ok(h_ipv4(m)));
	assert_true(h_l4_cksum_ok(h_ipv4(m)));
	return m;
}

static uint32_t
payload_len(struct rte_mbuf *m)
{
	const struct rte_tcp_hdr *tcp = h_l4(m);

	return rte_be_to_cpu_16(h_ipv4(m)->total_length) - 20 - (uint32_t)(tcp->data_off >> 4) * 4;
}

static const uint8_t *
payload(struct rte_mbuf *m)
{
	const struct rte_tcp_hdr *tcp = h_l4(m);

	return (const uint8_t *)tcp + (tcp->data_off >> 4) * 4;
}

/* SYN, SYN-ACK, ACK through Tollgate; fills the frontend address. */
static void
handshake(struct flow *f, uint16_t sport, uint16_t dport)
{
	struct rte_mbuf *m;
	struct rte_tcp_hdr *tcp;

	f->sport = sport;
	f->dport = dport;
	client_send(f, ISN, RTE_TCP_SYN_FLAG, NULL, 0);
	h_pump(&H);
	m = out_of(H_OUT);
	tcp = h_l4(m);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_SYN_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), ISN);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip(SERVER));
	f->fip = h_ipv4(m)->src_addr;
	f->fport = rte_be_to_cpu_16(tcp->src_port);
	assert_int_not_equal(f->fip, h_ip(CLIENT)); /* SNATed */
	rte_pktmbuf_free(m);

	server_send(f, SISN, ISN + 1, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
	h_pump(&H);
	m = out_of(H_IN);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip(CLIENT));
	rte_pktmbuf_free(m);

	client_send(f, ISN + 1, RTE_TCP_ACK_FLAG, NULL, 0);
	h_pump(&H);
	m = out_of(H_OUT);
	assert_int_equal(payload_len(m), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(h_pending(&H, H_IN) + h_pending(&H, H_OUT), 0);
}

/* `n` segments leave towards the server, translated, in sequence order,
 * together carrying exactly `want`. */
static void
expect_released(const struct flow *f, const struct bytes *want, unsigned n)
{
	size_t at = 0;

	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT), n);
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = out_of(H_OUT);
		const struct rte_tcp_hdr *tcp = h_l4(m);
		uint32_t len = payload_len(m);

		assert_int_equal(h_ipv4(m)->src_addr, f->fip);
		assert_int_equal(rte_be_to_cpu_16(tcp->src_port), f->fport);
		assert_int_equal(h_ipv4(m)->dst_addr, h_ip(SERVER));
		assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), f->dport);
		assert_int_equal(h_ipv4(m)->time_to_live, 63);
		assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), ISN + 1 + at);
		assert_true(at + len <= want->n);
		assert_memory_equal(payload(m), want->b + at, len);
		at += len;
		rte_pktmbuf_free(m);
	}
	assert_int_equal(at, want->n);
	assert_int_equal(h_pending(&H, H_IN), 0);
}

/* The refusal: a RST to the client from the server's address with the
 * server's next sequence number, one to the server from the translated
 * client with the client's (nothing of the payload was ever forwarded). */
static void
expect_rsts(const struct flow *f, uint32_t client_acked)
{
	struct rte_mbuf *m;
	const struct rte_tcp_hdr *tcp;

	h_pump(&H);
	assert_int_equal(h_pending(&H, H_IN), 1);
	assert_int_equal(h_pending(&H, H_OUT), 1);
	m = out_of(H_IN);
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->src_addr, h_ip(SERVER));
	assert_int_equal(rte_be_to_cpu_16(tcp->src_port), f->dport);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip(CLIENT));
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), f->sport);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), SISN + 1);
	assert_int_equal(rte_be_to_cpu_32(tcp->recv_ack), ISN + 1 + client_acked);
	assert_int_equal(payload_len(m), 0);
	rte_pktmbuf_free(m);

	m = out_of(H_OUT);
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->src_addr, f->fip);
	assert_int_equal(rte_be_to_cpu_16(tcp->src_port), f->fport);
	assert_int_equal(h_ipv4(m)->dst_addr, h_ip(SERVER));
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), f->dport);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), ISN + 1);
	assert_int_equal(payload_len(m), 0);
	rte_pktmbuf_free(m);
}

/* --------------------------------------------------------------- tests */

/* Chrome's ~1.9 KB hello in two segments, the SNI in the second: nothing
 * leaves after the first; both leave, in order, after the second. */
static void
test_split_hello_allowed(void **state)
{
	static struct bytes hello;
	struct flow f;

	(void)state;
	resolve_both();
	client_hello(&hello, "allowed.example", 1700);
	assert_true(hello.n > MSS && hello.n < 2 * MSS);
	handshake(&f, 40001, 443);

	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, hello.b, MSS);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_INSPECT_HELD), 1);
	client_send(&f, ISN + 1 + MSS, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, hello.b + MSS,
		    hello.n - MSS);
	expect_released(&f, &hello, 2);
	assert_int_equal(h_counter(&H, DP_INSPECT_STARTED), 1);
	assert_int_equal(h_counter(&H, DP_INSPECT_ALLOWED), 1);
	assert_int_equal(h_counter(&H, DP_INSPECT_RELEASED), 2);
	assert_int_equal(inspect_in_use(H.ctl.dp.workers[0]->insp), 0);

	/* After the decision the flow is an ordinary session both ways. */
	server_send(&f, SISN + 1, ISN + 1 + (uint32_t)hello.n, RTE_TCP_ACK_FLAG, "hi", 2);
	h_pump(&H);
	rte_pktmbuf_free(out_of(H_IN));
	client_send(&f, ISN + 1 + (uint32_t)hello.n, RTE_TCP_ACK_FLAG, "more", 4);
	h_pump(&H);
	rte_pktmbuf_free(out_of(H_OUT));
	assert_int_equal(h_counter(&H, DP_INSPECT_HELD), 2);
}

/* The hello on the handshake's last ACK (no bare ACK first, as clients do
 * when the hello is ready): the ACK carrying its first segment is held like
 * any segment, so the server sees no third packet until the decision, then
 * gets both segments (the first one's ACK completes its handshake). */
static void
test_hello_on_last_ack(void **state)
{
	static struct bytes hello;
	struct rte_mbuf *m;
	struct flow f = { .sport = 40009, .dport = 443 };

	(void)state;
	resolve_both();
	client_hello(&hello, "allowed.example", 1700);
	client_send(&f, ISN, RTE_TCP_SYN_FLAG, NULL, 0);
	h_pump(&H);
	m = out_of(H_OUT);
	f.fip = h_ipv4(m)->src_addr;
	f.fport = rte_be_to_cpu_16(((struct rte_tcp_hdr *)h_l4(m))->src_port);
	rte_pktmbuf_free(m);
	server_send(&f, SISN, ISN + 1, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
	h_pump(&H);
	rte_pktmbuf_free(out_of(H_IN));

	/* the handshake's third packet, with the hello's first segment */
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, MSS);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_INSPECT_HELD), 1);
	client_send(&f, ISN + 1 + MSS, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, hello.b + MSS,
		    hello.n - MSS);
	expect_released(&f, &hello, 2);
	assert_int_equal(h_counter(&H, DP_INSPECT_ALLOWED), 1);
	assert_int_equal(h_counter(&H, DP_DROP_TCP_INVALID), 0);
}

/* The second segment first: held, undecided (the prefix has a hole); the
 * first fills it, and they leave in sequence order, not arrival order. */
static void
test_out_of_order(void **state)
{
	static struct bytes hello;
	struct flow f;

	(void)state;
	resolve_both();
	client_hello(&hello, "api.wild.example", 1700);
	handshake(&f, 40002, 443);
	client_send(&f, ISN + 1 + MSS, RTE_TCP_ACK_FLAG, hello.b + MSS, hello.n - MSS);
	nothing_out();
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, MSS);
	expect_released(&f, &hello, 2);
	assert_int_equal(h_counter(&H, DP_INSPECT_ALLOWED), 1);
}

/* A retransmitted segment is not held twice. */
static void
test_retransmission_dropped(void **state)
{
	static struct bytes hello;
	struct flow f;

	(void)state;
	resolve_both();
	client_hello(&hello, "allowed.example", 1700);
	handshake(&f, 40003, 443);
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, MSS);
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, MSS);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_DUP), 1);
	assert_int_equal(h_counter(&H, DP_INSPECT_HELD), 1);
	client_send(&f, ISN + 1 + MSS, RTE_TCP_ACK_FLAG, hello.b + MSS, hello.n - MSS);
	expect_released(&f, &hello, 2);
}

/* A name no rule allows: RSTs both ways, no payload byte out. */
static void
test_denied_name(void **state)
{
	static struct bytes hello;
	struct flow f;

	(void)state;
	resolve_both();
	client_hello(&hello, "denied.example", 1700);
	handshake(&f, 40004, 443);
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, MSS);
	nothing_out();
	client_send(&f, ISN + 1 + MSS, RTE_TCP_ACK_FLAG, hello.b + MSS, hello.n - MSS);
	expect_rsts(&f, (uint32_t)hello.n);
	assert_int_equal(h_counter(&H, DP_INSPECT_DENIED_POLICY), 1);
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_REFUSED), 2);
	assert_int_equal(h_counter(&H, DP_INSPECT_RST_SENT), 2);

	/* The session refuses whatever else the client sends. */
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, 100);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_REFUSED), 3);
}

/* A hello without server_name is refused as "SNI missing". */
static void
test_sni_missing(void **state)
{
	static struct bytes hello;
	struct flow f;

	(void)state;
	resolve_both();
	client_hello(&hello, NULL, 200);
	handshake(&f, 40005, 443);
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, hello.n);
	expect_rsts(&f, (uint32_t)hello.n);
	assert_int_equal(h_counter(&H, DP_INSPECT_DENIED_SNI_MISSING), 1);
}

/* TCP Fast Open: the SYN goes on without its data (length and checksums
 * fixed); the bytes decide. Allowed here: the client's retransmission of
 * the data then passes as any allowed flow's. */
static void
test_syn_data_allowed(void **state)
{
	static struct bytes hello;
	struct flow f = { .sport = 40006, .dport = 443 };
	struct rte_mbuf *m;

	(void)state;
	resolve_both();
	client_hello(&hello, "allowed.example", 300);
	client_send(&f, ISN, RTE_TCP_SYN_FLAG, hello.b, hello.n);
	h_pump(&H);
	m = out_of(H_OUT);
	assert_int_equal(((struct rte_tcp_hdr *)h_l4(m))->tcp_flags, RTE_TCP_SYN_FLAG);
	assert_int_equal(rte_be_to_cpu_16(h_ipv4(m)->total_length), 40);
	assert_int_equal(m->pkt_len, 54);
	f.fip = h_ipv4(m)->src_addr;
	f.fport = rte_be_to_cpu_16(((struct rte_tcp_hdr *)h_l4(m))->src_port);
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_INSPECT_SYN_DATA), 1);
	assert_int_equal(h_counter(&H, DP_INSPECT_ALLOWED), 1);

	server_send(&f, SISN, ISN + 1, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0);
	h_pump(&H);
	rte_pktmbuf_free(out_of(H_IN));
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, hello.n);
	expect_released(&f, &hello, 1);
	assert_int_equal(h_counter(&H, DP_INSPECT_HELD), 0);
}

/* TCP Fast Open with a refused name: the SYN never reaches the server;
 * the client's SYN is answered by a RST that acknowledges it. */
static void
test_syn_data_denied(void **state)
{
	static struct bytes hello;
	struct flow f = { .sport = 40007, .dport = 443 };
	struct rte_mbuf *m;
	const struct rte_tcp_hdr *tcp;

	(void)state;
	resolve_both();
	client_hello(&hello, "denied.example", 300);
	client_send(&f, ISN, RTE_TCP_SYN_FLAG, hello.b, hello.n);
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT), 0);
	m = out_of(H_IN);
	tcp = h_l4(m);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->recv_ack), ISN + 1);
	assert_int_equal(h_ipv4(m)->src_addr, h_ip(SERVER));
	assert_int_equal(rte_be_to_cpu_16(tcp->src_port), 443);
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_INSPECT_DENIED_POLICY), 1);
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_REFUSED), 1);
}

/* Plain HTTP: the Host decides; an allowed one is released. */
static void
test_http_host_allowed(void **state)
{
	static struct bytes req;
	struct flow f;

	(void)state;
	resolve_both();
	http_get(&req, "Allowed.Example.:80");
	handshake(&f, 40008, 80);
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, req.b, 20);
	nothing_out();
	client_send(&f, ISN + 21, RTE_TCP_ACK_FLAG, req.b + 20, req.n - 20);
	expect_released(&f, &req, 2);
}

/* A refused Host gets a 403 page naming the reason, the server a RST. */
static void
test_http_403(void **state)
{
	static struct bytes req;
	struct flow f;
	struct rte_mbuf *m;
	const struct rte_tcp_hdr *tcp;
	char text[1024];

	(void)state;
	resolve_both();
	http_get(&req, "denied.example");
	handshake(&f, 40009, 80);
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, req.b, req.n);
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_IN), 1);
	assert_int_equal(h_pending(&H, H_OUT), 1);
	m = out_of(H_IN);
	tcp = h_l4(m);
	assert_int_equal(h_ipv4(m)->src_addr, h_ip(SERVER));
	assert_int_equal(rte_be_to_cpu_16(tcp->src_port), 80);
	assert_int_equal(rte_be_to_cpu_16(tcp->dst_port), f.sport);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_FIN_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), SISN + 1);
	assert_int_equal(rte_be_to_cpu_32(tcp->recv_ack), ISN + 1 + req.n);
	assert_true(payload_len(m) < sizeof(text));
	memcpy(text, payload(m), payload_len(m));
	text[payload_len(m)] = '\0';
	assert_true(strncmp(text, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
	assert_non_null(strstr(text, "denied.example"));
	rte_pktmbuf_free(m);
	m = out_of(H_OUT);
	tcp = h_l4(m);
	assert_int_equal(tcp->tcp_flags, RTE_TCP_RST_FLAG);
	assert_int_equal(rte_be_to_cpu_32(tcp->sent_seq), ISN + 1);
	assert_int_equal(payload_len(m), 0);
	rte_pktmbuf_free(m);
	assert_int_equal(h_counter(&H, DP_INSPECT_HTTP_403), 1);
}

/* A hello that never completes is refused after inspection.timeout_s. */
static void
test_timeout(void **state)
{
	static struct bytes hello;
	struct flow f;

	(void)state;
	resolve_both();
	client_hello(&hello, "allowed.example", 1700);
	handshake(&f, 40010, 443);
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, MSS);
	h_advance(&H, H.cfg.inspect_timeout_s - 1);
	nothing_out();
	h_advance(&H, 1);
	expect_rsts(&f, MSS);
	assert_int_equal(h_counter(&H, DP_INSPECT_TIMEOUT), 1);
	assert_int_equal(inspect_in_use(H.ctl.dp.workers[0]->insp), 0);
	assert_int_equal(inspect_held_total(H.ctl.dp.workers[0]->insp), 0);
}

/* Every context in use: the next flow that needs one is refused and
 * counted; nothing of it leaves. */
static void
test_pool_exhausted(void **state)
{
	struct flow f = { .dport = 443 };

	(void)state;
	resolve_both();
	for (unsigned i = 0; i < H.cfg.inspect_flows; i++) {
		f.sport = (uint16_t)(41000 + i);
		client_send(&f, ISN, RTE_TCP_SYN_FLAG, NULL, 0);
	}
	h_pump(&H);
	assert_int_equal(h_pending(&H, H_OUT), H.cfg.inspect_flows);
	for (unsigned i = 0; i < H.cfg.inspect_flows; i++)
		rte_pktmbuf_free(h_recv(&H, H_OUT));
	f.sport = 42000;
	client_send(&f, ISN, RTE_TCP_SYN_FLAG, NULL, 0);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_POOL_EMPTY), 1);
	assert_int_equal(h_counter(&H, DP_INSPECT_STARTED), H.cfg.inspect_flows);
}

/* The bounds: bytes past max_flow_bytes are not held; a hello that does
 * not fit is refused as too large; segments per flow and per worker. */
static void
test_bounds(void **state)
{
	static struct bytes hello;
	/* a record of 512 bytes, the hello's length not there yet */
	uint8_t tiny[8] = { 22, 3, 1, 0x02, 0, 1, 0, 0x01 };
	struct flow f, g;

	(void)state;
	resolve_both();
	/* 1. A segment that starts past the 2,048-byte bound. */
	client_hello(&hello, "allowed.example", 4000);
	handshake(&f, 40011, 443);
	client_send(&f, ISN + 1 + 2100, RTE_TCP_ACK_FLAG, hello.b + 2100, 100);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_FLOW_BYTES), 1);
	/* 2. A hello whose length says it cannot fit in the bound: refused
	 * as soon as its header is there. */
	client_send(&f, ISN + 1, RTE_TCP_ACK_FLAG, hello.b, MSS);
	expect_rsts(&f, MSS);
	assert_int_equal(h_counter(&H, DP_INSPECT_DENIED_TOO_LARGE), 1);

	/* 3. One byte at a time (past a hole at offset 8, so nothing is
	 * parsed): INSPECT_FLOW_SEGS segments, then no more. */
	handshake(&g, 40012, 443);
	client_send(&g, ISN + 1, RTE_TCP_ACK_FLAG, tiny, sizeof(tiny));
	for (unsigned i = 1; i < INSPECT_FLOW_SEGS; i++)
		client_send(&g, ISN + 1 + sizeof(tiny) + i, RTE_TCP_ACK_FLAG, "x", 1);
	client_send(&g, ISN + 1 + sizeof(tiny) + INSPECT_FLOW_SEGS, RTE_TCP_ACK_FLAG, "x", 1);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_FLOW_SEGMENTS), 1);
	assert_int_equal(inspect_held_total(H.ctl.dp.workers[0]->insp), INSPECT_FLOW_SEGS);

	/* 4. The worker's bound (40 here): a third flow holds 8 more. */
	handshake(&f, 40013, 443);
	for (unsigned i = 0; i < 9; i++)
		client_send(&f, ISN + 1 + 2 * i, RTE_TCP_ACK_FLAG, tiny, 1);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_INSPECT_HELD_FULL), 1);
	assert_int_equal(inspect_held_total(H.ctl.dp.workers[0]->insp), 40);
}

/* A policy change judges an application-allowed session again by the
 * name it was allowed for: still allowed, it goes on; no longer, it is
 * stopped at its next packet. */
static void
test_policy_change(void **state)
{
	static struct bytes h1, h2;
	struct flow a, b;
	char err[1024];

	(void)state;
	resolve_both();
	client_hello(&h1, "allowed.example", 100);
	client_hello(&h2, "x.wild.example", 100);
	handshake(&a, 40014, 443);
	client_send(&a, ISN + 1, RTE_TCP_ACK_FLAG, h1.b, h1.n);
	expect_released(&a, &h1, 1);
	handshake(&b, 40015, 443);
	client_send(&b, ISN + 1, RTE_TCP_ACK_FLAG, h2.b, h2.n);
	expect_released(&b, &h2, 1);

	assert_int_equal(ctl_policy_load(&H.ctl, "narrower.yaml", narrower_policy,
					 strlen(narrower_policy), err, sizeof(err)),
			 0);
	client_send(&b, ISN + 1 + (uint32_t)h2.n, RTE_TCP_ACK_FLAG, "go", 2);
	h_pump(&H);
	rte_pktmbuf_free(out_of(H_OUT));
	client_send(&a, ISN + 1 + (uint32_t)h1.n, RTE_TCP_ACK_FLAG, "no", 2);
	nothing_out();
	assert_int_equal(h_counter(&H, DP_DROP_POLICY_REVOKED), 1);
	assert_int_equal(h_counter(&H, DP_POLICY_REEVALUATED), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_split_hello_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hello_on_last_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retransmission_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_denied_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sni_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_data_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_data_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_host_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_403, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhausted, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_policy_change, setup, teardown),
	};

	return cmocka_run_group_tests_name("inspect", tests, NULL, NULL);
}
