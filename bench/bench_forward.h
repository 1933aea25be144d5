/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TG_BENCH_FORWARD_H
#define TG_BENCH_FORWARD_H

#include <stdbool.h>

struct bench_opts {
	unsigned runs;
	bool runs_given;
	bool json;
	int argc;      /* scenario name and its options */
	char **argv;
};

/* floor and forward: the EAL is already up. */
int bench_forward_main(const struct bench_opts *o);

#endif
