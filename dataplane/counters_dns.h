/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DNS proxy counters, in the form of dataplane/counters.h (which includes this
 * list at the end of DP_COUNTERS): X(ENUM, "name", "description").
 */
#ifndef TG_DATAPLANE_COUNTERS_DNS_H
#define TG_DATAPLANE_COUNTERS_DNS_H

#define DP_COUNTERS_DNS(X)

#endif
