/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS SNI / HTTP Host inspection counters, in the form of dataplane/counters.h (which includes this
 * list at the end of DP_COUNTERS): X(ENUM, "name", "description").
 */
#ifndef TG_DATAPLANE_COUNTERS_INSPECT_H
#define TG_DATAPLANE_COUNTERS_INSPECT_H

#define DP_COUNTERS_INSPECT(X)

#endif
