/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Metrics and health: the Prometheus text exposition, the health verdict a
 * load balancer probes, the SNAT view tollctl shows, and the tiny HTTP
 * server that serves the first two on `metrics.listen` (control thread,
 * never blocking).
 */
#ifndef TG_CONTROL_METRICS_H
#define TG_CONTROL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ctl;

int metrics_open(struct ctl *c, char *err, size_t errlen);
unsigned metrics_poll(struct ctl *c);
void metrics_close(struct ctl *c);

/* Every metric family, in the text exposition format 0.0.4. */
void metrics_write(struct ctl *c, FILE *f);

/*
 * Worker liveness and busy ratio, sampled by the control loop
 * (metrics_tick(), about every 100 ms; works without the HTTP server).
 * A worker is stalled when it has not passed a quiescent state for more
 * than a second.
 */
void metrics_tick(struct ctl *c);
/* true: healthy; false with `why` ("SNAT utilisation of 192.0.2.10 is
 * 97 %", "worker 1 stalled for 2.3 s"). */
bool metrics_health(struct ctl *c, char *why, size_t len);

/* The SNAT picture per frontend IP, over every worker (display: a moment
 * old). `utilisation` is that of its busiest port space: the share of a
 * worker's port slice held towards one destination, which is what runs
 * out first (endpoint-dependent mapping: every destination has all the
 * ports); with endpoint-independent mapping, the share of the slice
 * mapped. */
#define SNAT_VIEW_TOP 5
struct snat_view {
	uint32_t ip;              /* host order */
	uint64_t in_use;          /* allocations (reply tuples) */
	double utilisation;       /* 0..1 */
	unsigned n_top;
	struct {
		uint8_t proto;
		uint32_t dst;     /* host order */
		uint16_t dport;
		uint64_t count;
	} top[SNAT_VIEW_TOP];     /* busiest destinations, most first */
};
/* Fills a calloc()ed array (free it); returns the count or -ENOMEM. */
int metrics_snat_view(struct ctl *c, struct snat_view **out);

#endif
