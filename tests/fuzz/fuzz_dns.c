/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for control/dns_msg.c: whatever a client or an upstream
 * sends goes through the calls the proxy makes on it, in the same order.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/dns_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_answer_info a;
	static uint8_t copy[65536 + 64];
	struct dns_header h;
	struct dns_question q;
	uint16_t edns;
	char text[4 * DNS_NAME_MAX + 2];

	if (size > 65536)
		return 0;
	/* Exactly `size` bytes, so ASan sees any read past the end. */
	uint8_t *m = malloc(size ? size : 1);

	if (m == NULL)
		return 0;
	memcpy(m, data, size);
	if (dns_parse_query(m, size, &h, &q, &edns) == DNS_OK) {
		uint8_t out[DNS_HDR_LEN + DNS_NAME_MAX + 4 + DNS_OPT_LEN];
		size_t n = dns_build_error(out, sizeof(out), m, &q, DNS_RCODE_SERVFAIL);

		if (n == 0 || dns_build_query(out, sizeof(out), 1, true, &q, DNS_EDNS_SIZE) == 0)
			abort(); /* a parsed question always fits */
		dns_name_to_text(q.name, q.name_len, text, sizeof(text));
	}
	if (dns_parse_response(m, size, &a) == DNS_OK) {
		for (unsigned i = 0; i < a.n_chain; i++)
			if (dns_name_to_text(a.chain[i], a.chain_len[i], text, sizeof(text)) < 0)
				abort(); /* every parsed name has a text form */
		/* As the cache does: cut the additional section, then age. */
		memcpy(copy, m, a.body_end);
		copy[10] = copy[11] = 0;
		if (dns_ttl_age(copy, a.body_end, 7) != DNS_OK)
			abort(); /* what parsed must still parse */
		dns_append_opt(copy, a.body_end, sizeof(copy), DNS_EDNS_SIZE);
	}
	dns_tcp_frame(m, size, 1022);
	if (size > 0 && size < sizeof(text)) {
		uint8_t w[DNS_NAME_MAX];

		memcpy(text, data, size);
		text[size] = '\0';
		dns_name_from_text(text, w, sizeof(w));
	}
	free(m);
	return 0;
}
