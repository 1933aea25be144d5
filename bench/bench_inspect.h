/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TG_BENCH_INSPECT_H
#define TG_BENCH_INSPECT_H

#include "bench/bench_forward.h"

/* inspect: new inspected TLS flows through the worker (EAL already up). */
int bench_inspect_main(const struct bench_opts *o);

#endif
