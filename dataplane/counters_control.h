/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control channel and decision log counters, in the form of dataplane/counters.h (which includes this
 * list at the end of DP_COUNTERS): X(ENUM, "name", "description").
 */
#ifndef TG_DATAPLANE_COUNTERS_CONTROL_H
#define TG_DATAPLANE_COUNTERS_CONTROL_H

#define DP_COUNTERS_CONTROL(X) \
	X(LOG_WRITTEN, "log.records", "decision log records written") \
	X(LOG_DROPPED, "log.dropped", "decision log records lost: the log ring was full")

#endif
