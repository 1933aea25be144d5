/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TG_BENCH_EXHAUST_H
#define TG_BENCH_EXHAUST_H

#include "bench/bench_forward.h"

/* snat-exhaustion: the EAL is already up. Options: --workers N, --ips LIST,
 * --dsts LIST, --steps N, --to PCT (see bench_exhaust.c). */
int bench_exhaust_main(const struct bench_opts *o);

#endif
