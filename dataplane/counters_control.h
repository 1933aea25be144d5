/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Control channel and decision log counters, in the form of dataplane/counters.h (which includes this
 * list at the end of DP_COUNTERS): X(ENUM, "name", "description").
 */
#ifndef TG_DATAPLANE_COUNTERS_CONTROL_H
#define TG_DATAPLANE_COUNTERS_CONTROL_H

#define DP_COUNTERS_CONTROL(X) \
	X(LOG_WRITTEN, "log.records", "decision log records written") \
	X(LOG_DROPPED, "log.dropped", "decision log records lost: the log ring was full") \
	X(RPC_CONNECTIONS, "rpc.connections", "control socket connections accepted") \
	X(RPC_REQUESTS, "rpc.requests", "control requests answered") \
	X(RPC_MALFORMED, "rpc.malformed", "control connections closed: malformed or oversized frame") \
	X(RPC_REFUSED, "rpc.refused", "control requests refused: peer not root nor in the admin/read group") \
	X(RPC_TOO_MANY, "rpc.too-many-clients", "control connections closed at once: too many clients") \
	X(POLICY_APPLIED, "policy.applied", "policies published by tollctl apply") \
	X(POLICY_APPLY_FAILED, "policy.apply-failed", "tollctl apply refused: the policy did not validate or compile") \
	X(METRICS_REQUESTS, "metrics.requests", "HTTP requests answered on the metrics listener") \
	X(METRICS_BAD, "metrics.bad-requests", "HTTP requests answered 400/404/405 or cut off")

#endif
