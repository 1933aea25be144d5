/* SPDX-License-Identifier: BSD-3-Clause */
/* tollgate-bench: shared helpers for scenarios (statistics, output). */
#ifndef TG_BENCH_BENCH_H
#define TG_BENCH_BENCH_H

#include <stdbool.h>
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

/* Output: the human table goes to stdout unless json; JSON lines with
 * median, min, max and every sample when json. */
void bench_report(FILE *out, bool json, const char *scenario, const struct bench_figure *figs,
		  unsigned n, const char *context);

/* "hugepages" or "no hugepages (reason)", set by the driver at EAL start. */
extern const char *bench_memory_mode;

#endif
