/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The frames tollctl and the daemon exchange over the control socket.
 *
 * Every message, request or response, is a 20-byte header in network byte
 * order followed by `len` bytes of payload (UTF-8 text or JSON):
 *
 *   magic   u32  "TGC1" (0x54474331): not a Tollgate peer otherwise
 *   version u16  RPC_VERSION; a peer refuses versions it does not speak
 *   type    u16  enum rpc_type (requests), the same type in the response
 *   id      u32  chosen by the client, echoed in the response
 *   status  i32  responses: 0 or -errno (the payload is then the message a
 *                user can act on); requests: 0
 *   len     u32  payload bytes, at most RPC_MAX_PAYLOAD
 *
 * The decoder separates "need more bytes" from "malformed" and never reads
 * a byte before checking that it is there (STYLE.md). Plain C: the daemon,
 * tollctl and the fuzz target share it.
 *
 * A request's payload is "key=value" lines (e.g. "format=json"), then an
 * empty line and a body (apply: the policy YAML); see control/rpc_server.h.
 * The server, access control and the commands are control/rpc_server.c and
 * control/rpc_cmds.c.
 */
#ifndef TG_CONTROL_RPC_PROTO_H
#define TG_CONTROL_RPC_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define RPC_MAGIC 0x54474331u
#define RPC_VERSION 1
#define RPC_HDR_LEN 20
#define RPC_MAX_PAYLOAD (4u << 20) /* a 10,000-rule policy is ~2 MB of YAML */

/* Request types: the enum, the name tollctl uses, whether it changes state
 * (admin group) or only reads (read group). */
#define RPC_TYPES(X)                                   \
	X(HELLO, "hello", 0)                           \
	X(APPLY, "apply", 1)                           \
	X(SHOW_RULES, "show-rules", 0)                 \
	X(SHOW_SESSIONS, "show-sessions", 0)           \
	X(SHOW_SNAT, "show-snat", 0)                   \
	X(SHOW_STATS, "show-stats", 0)                 \
	X(SHOW_INTERFACES, "show-interfaces", 0)       \
	X(SHOW_ROUTES, "show-routes", 0)               \
	X(SHOW_NEIGHBORS, "show-neighbors", 0)         \
	X(METRICS, "metrics", 0)                       \
	X(SHOW_DNS, "show-dns", 0)

enum rpc_type {
	RPC_TYPE_INVALID = 0,
#define X(e, name, writes) RPC_TYPE_##e,
	RPC_TYPES(X)
#undef X
	RPC_TYPE_MAX
};

const char *rpc_type_name(enum rpc_type t);
/* 1 for types that change state, 0 for reads, -1 for unknown types. */
int rpc_type_writes(enum rpc_type t);

struct rpc_hdr {
	uint16_t version;
	uint16_t type;
	uint32_t id;
	int32_t status;
	uint32_t len;
};

enum rpc_decode_result {
	RPC_NEED_MORE = 0,  /* a prefix of a valid frame: read more */
	RPC_FRAME = 1,      /* a whole frame: header filled, payload located */
	RPC_MALFORMED = -1, /* not a frame: close this connection */
};

/*
 * Look at the first `len` bytes of a stream. On RPC_FRAME, `*hdr` is the
 * header, `*payload` points into `buf` and `*consumed` is the frame's
 * size. On RPC_MALFORMED, `*why` says what was wrong (a constant string).
 * Unknown types are frames (the server answers them with -EOPNOTSUPP);
 * wrong magic, another version or an oversized length are malformed.
 */
enum rpc_decode_result rpc_decode(const uint8_t *buf, size_t len, struct rpc_hdr *hdr,
				  const uint8_t **payload, size_t *consumed, const char **why);

/* Write a frame into `buf`; returns its size, or 0 when `cap` is too small
 * or the payload too large. */
size_t rpc_encode(uint8_t *buf, size_t cap, const struct rpc_hdr *hdr, const void *payload);

#endif
