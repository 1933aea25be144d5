/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS SNI / HTTP Host inspection counters, in the form of dataplane/counters.h (which includes this
 * list at the end of DP_COUNTERS): X(ENUM, "name", "description").
 *
 * Every inspected flow ends as exactly one of inspect.allowed, inspect.denied.*, inspect.timeout
 * or inspect.aborted. The inspect.denied.<reason> entries are the refusals of APP_REASONS in
 * rules/appproto.h (dataplane/inspect.c maps one to the other).
 */
#ifndef TG_DATAPLANE_COUNTERS_INSPECT_H
#define TG_DATAPLANE_COUNTERS_INSPECT_H

#define DP_COUNTERS_INSPECT(X)                                                                   \
	X(INSPECT_STARTED, "inspect.started", "TCP flows held for TLS SNI / HTTP Host inspection")    \
	X(INSPECT_ALLOWED, "inspect.allowed", "inspected flows allowed by an application rule")       \
	X(INSPECT_DENIED_POLICY, "inspect.denied.policy", "inspected flows whose name no application rule allows") \
	X(INSPECT_DENIED_SNI_MISSING, "inspect.denied.sni-missing", "refused: TLS ClientHello without SNI") \
	X(INSPECT_DENIED_SNI_IP_LITERAL, "inspect.denied.sni-ip-literal", "refused: SNI is an IP address") \
	X(INSPECT_DENIED_SNI_INVALID, "inspect.denied.sni-invalid", "refused: SNI is not a valid host name") \
	X(INSPECT_DENIED_SNI_MULTIPLE, "inspect.denied.sni-multiple", "refused: several names in server_name") \
	X(INSPECT_DENIED_TLS_MALFORMED, "inspect.denied.tls-malformed", "refused: malformed TLS ClientHello") \
	X(INSPECT_DENIED_TLS_NOT_HELLO, "inspect.denied.tls-not-hello", "refused: first TLS record not a ClientHello") \
	X(INSPECT_DENIED_TLS_VERSION, "inspect.denied.tls-version", "refused: SSLv2/SSLv3")           \
	X(INSPECT_DENIED_HTTP_MALFORMED, "inspect.denied.http-malformed", "refused: malformed HTTP request head") \
	X(INSPECT_DENIED_HTTP_NO_HOST, "inspect.denied.http-no-host", "refused: HTTP request without a Host") \
	X(INSPECT_DENIED_HTTP_TWO_HOSTS, "inspect.denied.http-two-hosts", "refused: two Host headers") \
	X(INSPECT_DENIED_HTTP_HOST_INVALID, "inspect.denied.http-host-invalid", "refused: HTTP Host not a valid host name") \
	X(INSPECT_DENIED_HTTP_HOST_IP_LITERAL, "inspect.denied.http-host-ip-literal", "refused: HTTP Host is an IP address") \
	X(INSPECT_DENIED_TOO_LARGE, "inspect.denied.too-large", "refused: hello or request head beyond inspection.max_flow_bytes") \
	X(INSPECT_DENIED_NOT_TLS_OR_HTTP, "inspect.denied.not-tls-or-http", "refused: neither TLS nor HTTP/1.x") \
	X(INSPECT_TIMEOUT, "inspect.timeout", "refused: hello or request head not complete within inspection.timeout_s") \
	X(INSPECT_ABORTED, "inspect.aborted", "inspected flows reset or expired by their ends before a decision") \
	X(INSPECT_HELD, "inspect.held", "client segments held until the decision")                   \
	X(INSPECT_RELEASED, "inspect.released", "held segments forwarded after an allow")             \
	X(INSPECT_SYN_DATA, "inspect.syn-data-stripped", "SYNs forwarded without their data (TCP Fast Open) while inspecting") \
	X(INSPECT_RST_SENT, "inspect.rst-sent", "RSTs sent to a client or server of a refused flow")  \
	X(INSPECT_HTTP_403, "inspect.http-403-sent", "403 responses sent to refused HTTP clients")    \
	X(INSPECT_NAMES_FULL, "inspect.names-full", "allowed flows whose name found no slot (judged again as denied)") \
	X(DROP_INSPECT_POOL_EMPTY, "drop.inspect-pool-empty", "new flow needing inspection: every inspection context in use") \
	X(DROP_INSPECT_DUP, "drop.inspect-duplicate", "client segment already held (retransmission)") \
	X(DROP_INSPECT_FLOW_BYTES, "drop.inspect-flow-bytes", "client segment beyond inspection.max_flow_bytes") \
	X(DROP_INSPECT_FLOW_SEGMENTS, "drop.inspect-flow-segments", "client segment beyond the segments one flow may hold") \
	X(DROP_INSPECT_HELD_FULL, "drop.inspect-held-full", "client segment beyond inspection.held_segments_per_worker") \
	X(DROP_INSPECT_REFUSED, "drop.inspect-refused", "held or arriving segment of a flow inspection refused")

#endif
