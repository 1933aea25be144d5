/* SPDX-License-Identifier: BSD-3-Clause */
#include "dataplane/counters.h"

static const char *const names[DP_COUNTER_MAX] = {
#define X(e, name, desc) [DP_##e] = name,
	DP_COUNTERS(X)
#undef X
};

static const char *const descs[DP_COUNTER_MAX] = {
#define X(e, name, desc) [DP_##e] = desc,
	DP_COUNTERS(X)
#undef X
};

const char *
dp_counter_name(enum dp_counter c)
{
	return c < DP_COUNTER_MAX ? names[c] : "?";
}

const char *
dp_counter_desc(enum dp_counter c)
{
	return c < DP_COUNTER_MAX ? descs[c] : "?";
}
