/* SPDX-License-Identifier: BSD-3-Clause */
/* tollgate-bench: shared helpers for scenarios (statistics, output). */
#ifndef TG_BENCH_BENCH_H
#define TG_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BENCH_MAX_RUNS 64

/* A figure measured over repeated runs. */
struct bench_figure {
	const char *name;    /* e.g. "forward.cycles_per_packet" */
	const char *unit;
	unsigned n;
	double v[BENCH_MAX_RUNS];
};

void bench_figure_add(struct bench_figure *f, double v);
double bench_median(const struct bench_figure *f);
double bench_min(const struct bench_figure *f);
double bench_max(const struct bench_figure *f);

/* Output: the human table goes to `out` unless json; when a JSON document
 * is wanted, one result object per figure (median, min, max, every sample)
 * goes into it. */
void bench_report(FILE *out, bool json, const char *scenario, const struct bench_figure *figs,
		  unsigned n, const char *context);

/* Is a JSON document being made (--json, or --json-out beside the table)? */
bool bench_json_wanted(void);
/* Append one result (a JSON object, printf-style) to the document the
 * driver prints at the end of a --json run. */
void bench_json_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* `s` as the inside of a JSON string, in buf. */
const char *bench_json_str(char *buf, size_t len, const char *s);

/* "hugepages" or "no hugepages (reason)", set by the driver at EAL start. */
extern const char *bench_memory_mode;

#endif
