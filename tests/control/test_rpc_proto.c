/* SPDX-License-Identifier: BSD-3-Clause */
/* The control-socket framing: round trips, every prefix, every refusal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/rpc_proto.h"

static size_t
frame(uint8_t *buf, size_t cap, uint16_t type, uint32_t id, int32_t status, const char *text)
{
	struct rpc_hdr h = { .type = type, .id = id, .status = status,
			     .len = (uint32_t)strlen(text) };

	return rpc_encode(buf, cap, &h, text);
}

static void
test_round_trip_and_every_prefix(void **state)
{
	uint8_t buf[256];
	size_t n = frame(buf, sizeof(buf), RPC_TYPE_APPLY, 77, -EINVAL, "policy.yaml:3:5: bad");
	struct rpc_hdr h;
	const uint8_t *payload;
	size_t used;
	const char *why;

	assert_int_equal(n, RPC_HDR_LEN + 20);
	/* Every proper prefix asks for more, and the whole is one frame. */
	for (size_t k = 0; k < n; k++)
		assert_int_equal(rpc_decode(buf, k, &h, &payload, &used, &why), RPC_NEED_MORE);
	assert_int_equal(rpc_decode(buf, n, &h, &payload, &used, &why), RPC_FRAME);
	assert_int_equal(h.version, RPC_VERSION);
	assert_int_equal(h.type, RPC_TYPE_APPLY);
	assert_int_equal(h.id, 77);
	assert_int_equal(h.status, -EINVAL);
	assert_int_equal(h.len, 20);
	assert_int_equal(used, n);
	assert_memory_equal(payload, "policy.yaml:3:5: bad", 20);
}

static void
test_two_frames_back_to_back(void **state)
{
	uint8_t buf[256];
	size_t a = frame(buf, sizeof(buf), RPC_TYPE_SHOW_STATS, 1, 0, "");
	size_t b = frame(buf + a, sizeof(buf) - a, RPC_TYPE_HELLO, 2, 0, "hi");
	struct rpc_hdr h;
	const uint8_t *payload;
	size_t used;
	const char *why;

	assert_int_equal(rpc_decode(buf, a + b, &h, &payload, &used, &why), RPC_FRAME);
	assert_int_equal(h.id, 1);
	assert_int_equal(used, a);
	assert_int_equal(rpc_decode(buf + used, a + b - used, &h, &payload, &used, &why),
			 RPC_FRAME);
	assert_int_equal(h.id, 2);
	assert_memory_equal(payload, "hi", 2);
}

static void
test_refusals(void **state)
{
	uint8_t buf[64];
	size_t n = frame(buf, sizeof(buf), RPC_TYPE_HELLO, 1, 0, "x");
	struct rpc_hdr h;
	const uint8_t *payload;
	size_t used;
	const char *why = NULL;

	/* An HTTP client on the socket: refused after its first 4 bytes. */
	assert_int_equal(rpc_decode((const uint8_t *)"GET / HTTP/1.1", 4, &h, &payload, &used,
				    &why),
			 RPC_MALFORMED);
	assert_string_equal(why, "bad magic: not a Tollgate control frame");

	buf[5] = 9; /* version 9 */
	assert_int_equal(rpc_decode(buf, 6, &h, &payload, &used, &why), RPC_MALFORMED);
	assert_string_equal(why, "unsupported protocol version");
	buf[5] = RPC_VERSION;

	/* A length past the limit is refused before any payload arrives. */
	buf[16] = 0xff;
	assert_int_equal(rpc_decode(buf, RPC_HDR_LEN, &h, &payload, &used, &why), RPC_MALFORMED);
	assert_string_equal(why, "payload larger than the limit");
	buf[16] = 0;

	/* Unknown types are frames: the server answers -EOPNOTSUPP. */
	buf[7] = 200;
	assert_int_equal(rpc_decode(buf, n, &h, &payload, &used, &why), RPC_FRAME);
	assert_string_equal(rpc_type_name(h.type), "unknown");
	assert_int_equal(rpc_type_writes(h.type), -1);
}

static void
test_encode_bounds_and_type_table(void **state)
{
	uint8_t buf[32];
	struct rpc_hdr h = { .type = RPC_TYPE_HELLO, .len = 13 };

	assert_int_equal(rpc_encode(buf, sizeof(buf), &h, "0123456789abc"), 0); /* 33 > 32 */
	h.len = RPC_MAX_PAYLOAD + 1;
	assert_int_equal(rpc_encode(buf, sizeof(buf), &h, ""), 0);
	assert_string_equal(rpc_type_name(RPC_TYPE_APPLY), "apply");
	assert_int_equal(rpc_type_writes(RPC_TYPE_APPLY), 1);
	assert_int_equal(rpc_type_writes(RPC_TYPE_SHOW_SESSIONS), 0);
	assert_string_equal(rpc_type_name(RPC_TYPE_INVALID), "unknown");
}

/* Random bytes in random chunks never crash and never read past `len`
 * (ASan checks the reads); only RPC_MAGIC-led input can be a frame. */
static void
test_random_streams(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int round = 0; round < 20000; round++) {
		uint8_t *buf;
		size_t len;
		struct rpc_hdr h;
		const uint8_t *payload;
		size_t used;
		const char *why;
		enum rpc_decode_result r;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = x % 64;
		buf = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(x >> (i % 56));
		if (round % 3 == 0 && len >= 6) { /* well-formed start, random rest */
			buf[0] = 0x54, buf[1] = 0x47, buf[2] = 0x43, buf[3] = 0x31;
			buf[4] = 0, buf[5] = RPC_VERSION;
		}
		r = rpc_decode(buf, len, &h, &payload, &used, &why);
		if (r == RPC_FRAME) {
			assert_true(used <= len);
			assert_true(used == RPC_HDR_LEN + h.len);
		}
		free(buf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_every_prefix),
		cmocka_unit_test(test_two_frames_back_to_back),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_encode_bounds_and_type_table),
		cmocka_unit_test(test_random_streams),
	};

	return cmocka_run_group_tests_name("rpc_proto", tests, NULL, NULL);
}
