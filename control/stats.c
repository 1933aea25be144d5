/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <string.h>

#include "control/control.h"

void
ctl_stats_sum(const struct ctl *c, struct dp_stats *out)
{
	memcpy(out, &c->stats, sizeof(*out));
	for (unsigned i = 0; i < c->dp.n_workers; i++) {
		const struct worker *w = c->dp.workers[i];

		if (w == NULL)
			continue;
		/* Each word is written by its worker alone; a relaxed load
		 * sees a whole value, maybe a moment old. */
		for (unsigned k = 0; k < DP_COUNTER_MAX; k++)
			out->c[k] += __atomic_load_n(&w->stats.c[k], __ATOMIC_RELAXED);
	}
}

void
ctl_stats_print(const struct ctl *c, FILE *f, int all)
{
	struct dp_stats s;

	ctl_stats_sum(c, &s);
	for (unsigned k = 0; k < DP_COUNTER_MAX; k++) {
		if (s.c[k] == 0 && !all)
			continue;
		fprintf(f, "  %-30s %12" PRIu64 "  %s\n", dp_counter_name(k), s.c[k],
			dp_counter_desc(k));
	}
}

void
ctl_json_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len && s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}
