/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TG_BENCH_DNS_H
#define TG_BENCH_DNS_H

#include "bench/bench_forward.h"

/* dns: the proxy's answers per second from the cache and forwarded. */
int bench_dns_main(const struct bench_opts *o);

#endif
