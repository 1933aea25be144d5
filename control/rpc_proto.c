/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <string.h>

#include "control/rpc_proto.h"

static const struct {
	const char *name;
	int writes;
} types[RPC_TYPE_MAX] = {
#define X(e, n, w) [RPC_TYPE_##e] = { n, w },
	RPC_TYPES(X)
#undef X
};

const char *
rpc_type_name(enum rpc_type t)
{
	return t > RPC_TYPE_INVALID && t < RPC_TYPE_MAX ? types[t].name : "unknown";
}

int
rpc_type_writes(enum rpc_type t)
{
	return t > RPC_TYPE_INVALID && t < RPC_TYPE_MAX ? types[t].writes : -1;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return ntohs(v);
}

static void
put32(uint8_t *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static void
put16(uint8_t *p, uint16_t v)
{
	v = htons(v);
	memcpy(p, &v, 2);
}

enum rpc_decode_result
rpc_decode(const uint8_t *buf, size_t len, struct rpc_hdr *hdr, const uint8_t **payload,
	   size_t *consumed, const char **why)
{
	/* Each field is judged as soon as its bytes are in, so a peer that
	 * is not speaking this protocol is refused after 4 bytes, not after
	 * the 20 a header needs. */
	if (len >= 4 && get32(buf) != RPC_MAGIC) {
		*why = "bad magic: not a Tollgate control frame";
		return RPC_MALFORMED;
	}
	if (len >= 6 && get16(buf + 4) != RPC_VERSION) {
		*why = "unsupported protocol version";
		return RPC_MALFORMED;
	}
	if (len < RPC_HDR_LEN)
		return RPC_NEED_MORE;
	hdr->version = get16(buf + 4);
	hdr->type = get16(buf + 6);
	hdr->id = get32(buf + 8);
	hdr->status = (int32_t)get32(buf + 12);
	hdr->len = get32(buf + 16);
	if (hdr->len > RPC_MAX_PAYLOAD) {
		*why = "payload larger than the limit";
		return RPC_MALFORMED;
	}
	if (len - RPC_HDR_LEN < hdr->len)
		return RPC_NEED_MORE;
	*payload = buf + RPC_HDR_LEN;
	*consumed = RPC_HDR_LEN + (size_t)hdr->len;
	return RPC_FRAME;
}

size_t
rpc_encode(uint8_t *buf, size_t cap, const struct rpc_hdr *hdr, const void *payload)
{
	size_t total = RPC_HDR_LEN + (size_t)hdr->len;

	if (hdr->len > RPC_MAX_PAYLOAD || cap < total)
		return 0;
	put32(buf, RPC_MAGIC);
	put16(buf + 4, RPC_VERSION);
	put16(buf + 6, hdr->type);
	put32(buf + 8, hdr->id);
	put32(buf + 12, (uint32_t)hdr->status);
	put32(buf + 16, hdr->len);
	if (hdr->len > 0)
		memcpy(buf + RPC_HDR_LEN, payload, hdr->len);
	return total;
}
