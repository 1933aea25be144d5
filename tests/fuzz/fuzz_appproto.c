/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target for the TLS ClientHello / HTTP request-head parser
 * (rules/appproto.c): the input is a flow's first client bytes, parsed
 * whole and as prefixes under several bounds, as the workers feed it
 * when segments arrive. Checks, beyond memory safety: a name is only
 * ever a valid lower-case host name, and a prefix that gives a name
 * gives the same one as the whole (later bytes never change an answer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/appproto.h"

static void check_name(const struct app_result *r)
{
	if (r->name_len == 0 || r->name_len > APP_NAME_MAX ||
	    strlen(r->name) != r->name_len || r->name[r->name_len - 1] == '.')
		abort();
	for (size_t i = 0; i < r->name_len; i++) {
		char c = r->name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t bounds[] = {16384, 1500, 256, 9};
	/* exactly `size` bytes: a copy, so ASan sees any read past it */
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
		struct app_result whole, part;
		enum app_status st = app_parse(buf, size, bounds[b], &whole);
		if (st != whole.status || st > APP_REFUSE ||
		    whole.reason >= APP_R_MAX ||
		    (st == APP_REFUSE) != (whole.reason != APP_R_OK))
			abort();
		if (st == APP_DONE)
			check_name(&whole);
		/* a few prefixes: the halves, and 1 byte short */
		const size_t cuts[] = {size / 2, size / 3, size ? size - 1 : 0};
		for (size_t c = 0; c < 3; c++) {
			if (app_parse(buf, cuts[c], bounds[b], &part) != APP_DONE)
				continue;
			if (st != APP_DONE || strcmp(part.name, whole.name) != 0)
				abort();
		}
	}
	free(buf);
	return 0;
}
