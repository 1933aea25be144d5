/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Application-layer name extraction for application rules: the TLS
 * ClientHello's server_name (SNI) and the HTTP/1.x request's host.
 *
 * Used by the workers (dataplane/inspect.c) and by `tollctl explain`, so
 * both decide with the same code. Plain C: no DPDK, no allocation, no
 * locks; every loop is bounded by the input length.
 *
 * The caller keeps the client's bytes of one TCP flow contiguous from the
 * first payload byte (reassembled in sequence order) and calls
 * app_parse() with everything it has so far, each time more arrives. The
 * parser is stateless: the answer depends only on the bytes given.
 */
#ifndef TOLLGATE_RULES_APPPROTO_H
#define TOLLGATE_RULES_APPPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define APP_NAME_MAX 253 /* a host name, without the trailing dot */

enum app_kind {
	APP_KIND_UNKNOWN = 0, /* not enough bytes to tell yet */
	APP_KIND_TLS = 1,
	APP_KIND_HTTP = 2,
	APP_KIND_OTHER = 3,   /* neither TLS nor HTTP/1.x */
};

enum app_status {
	APP_NEED_MORE = 0, /* a valid prefix: wait for more bytes */
	APP_DONE = 1,      /* `name` is the name to match */
	APP_REFUSE = 2,    /* refuse the flow; `reason` says why */
};

/* Why a flow is refused (or APP_R_OK); the strings are what logs,
 * counters and `tollctl explain` show. */
#define APP_REASONS(X)                                                         \
	X(OK, "ok")                                                            \
	X(SNI_MISSING, "SNI missing")                                          \
	X(SNI_IP_LITERAL, "SNI is an IP address, not a name")                  \
	X(SNI_INVALID, "SNI is not a valid host name")                         \
	X(SNI_MULTIPLE, "more than one host name in the server_name extension") \
	X(TLS_MALFORMED, "malformed TLS ClientHello")                          \
	X(TLS_NOT_HELLO, "TLS record is not a ClientHello")                    \
	X(TLS_VERSION, "TLS version not supported (SSLv2/SSLv3)")              \
	X(HTTP_MALFORMED, "malformed HTTP request head")                       \
	X(HTTP_NO_HOST, "HTTP request without a Host")                         \
	X(HTTP_TWO_HOSTS, "HTTP request with more than one Host header")       \
	X(HTTP_HOST_INVALID, "HTTP Host is not a valid host name")             \
	X(HTTP_HOST_IP_LITERAL, "HTTP Host is an IP address, not a name")      \
	X(TOO_LARGE, "hello or request head larger than the inspection bound") \
	X(NOT_TLS_OR_HTTP, "neither TLS nor HTTP/1.x")

enum app_reason {
#define X(e, s) APP_R_##e,
	APP_REASONS(X)
#undef X
	APP_R_MAX
};

const char *app_reason_str(enum app_reason r);
const char *app_kind_str(enum app_kind k); /* "none", "tls", "http", "other" */

struct app_result {
	uint8_t kind;     /* enum app_kind */
	uint8_t status;   /* enum app_status */
	uint8_t reason;   /* enum app_reason: APP_R_OK unless APP_REFUSE */
	uint8_t ech;      /* TLS: an encrypted_client_hello extension is present
			   * (the outer SNI is what is matched) */
	uint16_t port;    /* HTTP: port from Host / absolute-form, 0 if none */
	uint16_t name_len;
	/* Lower case, no trailing dot, NUL-terminated; valid on APP_DONE. */
	char name[APP_NAME_MAX + 1];
};

/*
 * Look at the first `len` bytes a client sent on a TCP flow (at most
 * `bound` are ever inspected: a hello or request head not complete within
 * `bound` bytes is refused with APP_R_TOO_LARGE). Fills `out` and returns
 * out->status.
 *
 * TLS: the ClientHello may span several TLS records (handshake message
 *   fragmented across records) and any number of TCP segments; extensions
 *   in any order, GREASE values ignored; exactly one host_name entry in
 *   server_name. No server_name: APP_REFUSE with APP_R_SNI_MISSING (the
 *   caller lets a network rule allow the flow instead, as Azure does).
 * HTTP/1.x: the request head up to the empty line; absolute-form request
 *   target overrides Host (RFC 9112 section 3.2.2); Host compared without
 *   case, port and trailing dot; two Host headers are refused.
 */
enum app_status app_parse(const uint8_t *buf, size_t len, size_t bound,
			  struct app_result *out);

struct policy_ruleset;
struct policy_scratch;
struct policy_flow;
struct policy_verdict;

/*
 * The verdict for a TCP flow that no DNAT or network rule decided but that
 * an application rule could allow, once app_parse() has finished (APP_DONE
 * or APP_REFUSE): APP_DONE matches the name with policy_match_app() under
 * the scheme of the kind (TLS: https, HTTP: http); APP_REFUSE denies. The
 * workers and `tollctl explain` both decide with this. Returns true when
 * the flow is allowed; `v` says by which rule (or none), `*why` the
 * application reason (APP_R_OK when the policy decided).
 */
bool app_verdict(const struct policy_ruleset *rs, struct policy_scratch *s,
		 const struct policy_flow *f, const struct app_result *r,
		 struct policy_verdict *v, enum app_reason *why);

#ifdef __cplusplus
}
#endif

#endif
