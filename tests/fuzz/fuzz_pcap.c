/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target for tollctl explain's capture reader
 * (tools/tollctl/pcap.c): any bytes as a capture file must give flows or
 * a clear error, never a crash; each flow's bytes then go through the
 * parser as in `tollctl explain`.
 */
#include <stdint.h>
#include <stdio.h>

#include "rules/appproto.h"
#include "tools/tollctl/pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fmemopen((void *)data, size, "rb");
	if (f == NULL)
		return 0;
	struct cap_flows *fl = NULL;
	char err[256];
	if (cap_read_flows_stream(f, "fuzz", 4096, &fl, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < cap_flow_count(fl); i++) {
			const struct cap_flow *c = cap_flow_get(fl, i);
			struct app_result r;
			app_parse(c->data, c->data_len, 4096, &r);
		}
		cap_flows_free(fl);
	} else if (err[0] == '\0') {
		__builtin_trap(); /* an error must say what is wrong */
	}
	fclose(f);
	return 0;
}
