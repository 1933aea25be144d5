/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flowgen: the traffic generator and sink of bench/compare-nftables.sh,
 * the same program on both sides of whatever forwards between them.
 *
 *   flowgen send DST PORT SECONDS FLOWS [SRC_FIRST SRC_COUNT]
 *       64-byte UDP frames (18 bytes of payload) from a raw socket, as fast
 *       as the kernel takes them, cycling over FLOWS flows: source address
 *       SRC_FIRST + i % SRC_COUNT (default 198.18.1.10, 1), source port
 *       1024 + i / SRC_COUNT. Prints "sent N".
 *   flowgen new DST PORT SECONDS MAX [SRC_FIRST SRC_COUNT [RATE]]
 *       every frame a new flow (the same mapping of i, i < MAX, then stop),
 *       at most RATE frames a second when given: what a new flow costs the
 *       forwarder, or (paced) how many translations it can hold. Prints
 *       "sent N seconds S".
 *   flowgen sink PORT SECONDS
 *       receive UDP on PORT for SECONDS; prints "received N flows F" where
 *       F counts distinct (source address, source port) pairs, i.e. the
 *       translations the forwarder made.
 *
 * The raw socket lets one process speak for many inside endpoints without a
 * socket per port. Only for namespaces the benchmark creates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define PAYLOAD 18    /* 20 + 8 + 18 + 14 (Ethernet) = 60, 64 on the wire */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t
csum(const void *p, size_t len)
{
	const uint16_t *w = p;
	uint32_t s = 0;

	for (; len > 1; len -= 2)
		s += *w++;
	if (len)
		s += *(const uint8_t *)w;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct frame {
	struct iphdr ip;
	struct udphdr udp;
	uint8_t payload[PAYLOAD];
};

static void
frame_for(struct frame *f, uint64_t i, uint32_t src0, unsigned nsrc, uint32_t dst, uint16_t port)
{
	memset(f, 0, sizeof(*f));
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_UDP;
	f->ip.tot_len = htons(sizeof(*f));
	f->ip.saddr = htonl(src0 + (uint32_t)(i % nsrc));
	f->ip.daddr = dst;
	f->ip.check = csum(&f->ip, sizeof(f->ip));
	f->udp.source = htons((uint16_t)(1024 + (i / nsrc) % 64512));
	f->udp.dest = htons(port);
	f->udp.len = htons(sizeof(f->udp) + PAYLOAD);
	/* UDP checksum 0: none, valid for IPv4 and cheap for both sides. */
}

static int
send_mode(bool every_new, char **argv, int argc)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	double secs = atof(argv[4]), end;
	uint64_t flows = strtoull(argv[5], NULL, 10), sent = 0, i = 0;
	uint32_t src0 = ntohl(inet_addr(argc > 6 ? argv[6] : "198.18.1.10"));
	unsigned nsrc = argc > 7 ? (unsigned)atoi(argv[7]) : 1;
	double rate = argc > 8 ? atof(argv[8]) : 0, start;
	uint16_t port = (uint16_t)atoi(argv[3]);
	static struct frame frames[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int fd, one = 1;

	if (inet_pton(AF_INET, argv[2], &to.sin_addr) != 1 || flows == 0 || nsrc == 0 ||
	    secs <= 0) {
		fprintf(stderr, "flowgen: bad arguments\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) != 0) {
		perror("flowgen: raw socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int k = 0; k < BATCH; k++) {
		iov[k] = (struct iovec){ .iov_base = &frames[k], .iov_len = sizeof(frames[k]) };
		msgs[k].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof(to),
						   .msg_iov = &iov[k], .msg_iovlen = 1 };
	}
	start = now();
	end = start + secs;
	while (now() < end && (!every_new || i < flows)) {
		int n = BATCH, r;

		/* Paced: wait until this batch is due (bounded by `end`). */
		while (rate > 0 && (double)i / rate > now() - start && now() < end)
			usleep(200);
		if (every_new && flows - i < (uint64_t)n)
			n = (int)(flows - i);
		for (int k = 0; k < n; k++, i++)
			frame_for(&frames[k], every_new ? i : i % flows, src0, nsrc, to.sin_addr.s_addr,
				  port);
		r = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (r < 0 && errno != ENOBUFS && errno != EAGAIN) {
			perror("flowgen: sendmmsg");
			return 1;
		}
		if (r > 0)
			sent += (uint64_t)r;
		/* Frames the kernel did not take are not retried: the rate is
		 * what it accepts. A new-flow index not sent is skipped. */
	}
	printf("sent %llu seconds %.3f\n", (unsigned long long)sent, now() - start);
	return 0;
}

/* Distinct (address, port) pairs: an open-addressing set of 64-bit keys. */
static uint64_t *set;
static size_t set_mask, set_n;

static void
set_add(uint64_t k)
{
	size_t i = (size_t)((k * 0x9e3779b97f4a7c15ULL) >> 20) & set_mask;

	k |= 1ULL << 63;
	while (set[i] != 0) {
		if (set[i] == k)
			return;
		i = (i + 1) & set_mask;
	}
	if (set_n * 2 < set_mask) {   /* full enough: stop counting, never loop */
		set[i] = k;
		set_n++;
	}
}

static int
sink_mode(char **argv)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	struct sockaddr_in from[BATCH];
	static uint8_t bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	double end = now() + atof(argv[3]);
	unsigned long long got = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 64 << 20;

	set_mask = (1u << 24) - 1;
	set = calloc(set_mask + 1, sizeof(*set));
	if (fd < 0 || set == NULL || bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
		perror("flowgen: sink");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int k = 0; k < BATCH; k++) {
		iov[k] = (struct iovec){ .iov_base = bufs[k], .iov_len = sizeof(bufs[k]) };
		msgs[k].msg_hdr = (struct msghdr){ .msg_name = &from[k],
						   .msg_namelen = sizeof(from[k]),
						   .msg_iov = &iov[k], .msg_iovlen = 1 };
	}
	while (now() < end) {
		int r = recvmmsg(fd, msgs, BATCH, 0, NULL);

		for (int k = 0; k < r; k++) {
			set_add((uint64_t)ntohl(from[k].sin_addr.s_addr) << 16 |
				ntohs(from[k].sin_port));
			msgs[k].msg_hdr.msg_namelen = sizeof(from[k]);
		}
		if (r > 0)
			got += (unsigned long long)r;
	}
	printf("received %llu flows %zu\n", got, set_n);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "send") == 0)
		return send_mode(false, argv, argc);
	if (argc >= 6 && strcmp(argv[1], "new") == 0)
		return send_mode(true, argv, argc);
	if (argc == 4 && strcmp(argv[1], "sink") == 0)
		return sink_mode(argv);
	fprintf(stderr, "usage: flowgen send DST PORT SECONDS FLOWS [SRC_FIRST SRC_COUNT]\n"
			"       flowgen new DST PORT SECONDS MAX [SRC_FIRST SRC_COUNT [RATE]]\n"
			"       flowgen sink PORT SECONDS\n");
	return 2;
}
