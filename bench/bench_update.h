/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TG_BENCH_UPDATE_H
#define TG_BENCH_UPDATE_H

#include "bench/bench_forward.h"

/* update: policy applies under load through the worker (EAL already up). */
int bench_update_main(const struct bench_opts *o);

#endif
