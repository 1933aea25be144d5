/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the control-socket frame decoder: the input is a
 * byte stream, decoded frame after frame as a server would, with the
 * invariants a server relies on checked on every frame.
 */
#include <stdint.h>
#include <stdlib.h>

#include "control/rpc_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	/* Bounded: every frame consumes at least a header. */
	while (off < size) {
		struct rpc_hdr h;
		const uint8_t *payload;
		size_t used;
		const char *why;
		enum rpc_decode_result r = rpc_decode(data + off, size - off, &h, &payload, &used,
						      &why);

		if (r != RPC_FRAME)
			break;
		if (used < RPC_HDR_LEN || used > size - off || payload != data + off + RPC_HDR_LEN ||
		    h.len > RPC_MAX_PAYLOAD || rpc_type_name(h.type) == NULL)
			abort();
		off += used;
	}
	return 0;
}
