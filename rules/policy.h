/* SPDX-License-Identifier: BSD-3-Clause
 * Tollgate policy: Azure-Firewall-style rule collection groups loaded from
 * YAML, validated, and compiled into an immutable rule set that data-plane
 * workers query concurrently.
 *
 * Two sides:
 *   control (may allocate, may fail with -errno and a message):
 *     policy_load()        YAML file -> intermediate model (struct policy)
 *     policy_compile()     model -> compiled rule set (struct policy_ruleset)
 *     policy_scratch_alloc() one Hyperscan scratch per worker
 *   data plane (never allocates, locks or blocks; every loop is bounded):
 *     policy_match_network()  DNAT collections, then network collections
 *     policy_app_candidate()  could an application rule allow this flow?
 *     policy_match_app()      FQDN (SNI / Host) -> application rule
 *
 * Addresses are IPv4 in host byte order everywhere in this API.
 * See docs/policy.md for the semantics.
 */
#ifndef TOLLGATE_RULES_POLICY_H
#define TOLLGATE_RULES_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors (control side)                                               */
/* ------------------------------------------------------------------ */

/* Every control-side function that can fail appends messages of the form
 * "FILE:LINE:COL: what was expected" here. Zero-initialise before use;
 * free with policy_errors_free(). At most POLICY_ERRORS_MAX messages are
 * kept; later ones are counted in `dropped`. */
#define POLICY_ERRORS_MAX 200

struct policy_errors {
	size_t count;   /* messages stored */
	size_t dropped; /* messages beyond POLICY_ERRORS_MAX */
	char **msgs;
};

void policy_errors_free(struct policy_errors *e);

/* ------------------------------------------------------------------ */
/* Intermediate model (control side, produced by policy_load)          */
/* ------------------------------------------------------------------ */

enum policy_kind {
	POLICY_KIND_DNAT = 0,
	POLICY_KIND_NETWORK = 1,
	POLICY_KIND_APPLICATION = 2,
};

enum policy_action {
	POLICY_ACTION_DENY = 0,
	POLICY_ACTION_ALLOW = 1,
	POLICY_ACTION_DNAT = 2,
};

/* Network-rule protocols, as a bit mask. */
enum {
	POLICY_PROTO_TCP = 1u << 0,
	POLICY_PROTO_UDP = 1u << 1,
	POLICY_PROTO_ICMP = 1u << 2,
	POLICY_PROTO_OTHER = 1u << 3, /* any other IP protocol ("Any") */
	POLICY_PROTO_ANY = 0xf,
};

/* Application-rule schemes. */
enum policy_scheme {
	POLICY_SCHEME_HTTP = 0,
	POLICY_SCHEME_HTTPS = 1,
};
#define POLICY_SCHEME_MASK_HTTP (1u << POLICY_SCHEME_HTTP)
#define POLICY_SCHEME_MASK_HTTPS (1u << POLICY_SCHEME_HTTPS)

enum policy_cloud {
	POLICY_CLOUD_PUBLIC = 0,
	POLICY_CLOUD_CHINA = 1,
	POLICY_CLOUD_USGOV = 2,
};

struct policy_pos {
	uint32_t line; /* 1-based; 0 when unknown */
	uint32_t col;  /* 1-based */
};

struct policy_range32 {
	uint32_t lo, hi; /* inclusive, host byte order */
};

struct policy_range16 {
	uint16_t lo, hi; /* inclusive */
};

struct policy_app_proto {
	uint8_t scheme; /* enum policy_scheme */
	uint16_t port;
};

struct policy_rule {
	const char *name;
	struct policy_pos pos;
	/* network + dnat */
	uint8_t protos; /* POLICY_PROTO_* mask */
	struct policy_range32 *src; /* merged, sorted */
	size_t n_src;
	struct policy_range32 *dst; /* merged, sorted; empty if dst_fqdns */
	size_t n_dst;
	struct policy_range16 *ports; /* merged, sorted */
	size_t n_ports;
	const char **dst_fqdns; /* network rules: resolved later (DNS proxy) */
	size_t n_dst_fqdns;
	/* application */
	struct policy_app_proto *app_protos;
	size_t n_app_protos;
	const char **fqdns; /* normalised patterns: target_fqdns + tags */
	size_t n_fqdns;
	/* dnat */
	uint32_t xlat_addr; /* host byte order */
	uint16_t xlat_port;
};

struct policy_collection {
	const char *name;
	struct policy_pos pos;
	enum policy_kind kind;
	enum policy_action action;
	uint32_t priority; /* 100 (first) .. 65000 (last) */
	struct policy_rule *rules;
	size_t n_rules;
};

struct policy_group {
	const char *name;
	struct policy_pos pos;
	uint32_t priority;
	struct policy_collection *colls;
	size_t n_colls;
};

struct policy {
	const char *path;
	const char *region; /* top-level `region:`, NULL if absent */
	enum policy_cloud cloud;
	struct policy_group *groups; /* in file order */
	size_t n_groups;
	struct rules_arena *arena; /* owns everything above */
};

struct policy_load_opts {
	/* Directory holding data/ (FQDN tags, service tags sample). NULL:
	 * $TOLLGATE_RULES_DIR, else the compiled-in default. */
	const char *data_dir;
	/* Service tags JSON overriding the policy's `service_tags_file`. */
	const char *service_tags_path;
};

/* Load and validate a policy file. Returns 0, or -EINVAL when the file
 * has errors (all of them in `errs`), or another -errno (-ENOENT, -EFBIG,
 * -ENOMEM) with one message. `opts` may be NULL. */
int policy_load(const char *path, const struct policy_load_opts *opts,
		struct policy **out, struct policy_errors *errs);
/* Same, from a memory buffer; `name` is used in messages. */
int policy_load_buf(const char *name, const char *buf, size_t len,
		    const struct policy_load_opts *opts, struct policy **out,
		    struct policy_errors *errs);
void policy_free(struct policy *p);

/* The data directory in effect for `opts` (see policy_load_opts). */
const char *policy_data_dir(const struct policy_load_opts *opts);

/* ------------------------------------------------------------------ */
/* Compiled rule set (immutable; one pointer)                          */
/* ------------------------------------------------------------------ */

struct policy_ruleset;
struct policy_scratch;

#define POLICY_RULE_NONE UINT32_MAX

/* Immutable description of one compiled rule; ids are dense indexes in
 * evaluation order (DNAT, then network, then application). */
struct policy_rule_info {
	const char *group;
	const char *collection;
	const char *rule;
	uint32_t group_id;      /* index among groups, by priority */
	uint32_t collection_id; /* index among all collections, by order */
	uint32_t group_priority;
	uint32_t collection_priority;
	enum policy_kind kind;
	enum policy_action action;
	struct policy_pos pos;
};

int policy_compile(const struct policy *p, struct policy_ruleset **out,
		   struct policy_errors *errs);
void policy_ruleset_free(struct policy_ruleset *rs);

uint32_t policy_ruleset_rule_count(const struct policy_ruleset *rs);
const struct policy_rule_info *policy_rule_info(const struct policy_ruleset *rs,
						uint32_t rule_id);

/* Per-worker Hyperscan scratch. A scratch allocated for one rule set may
 * be reused for another only after policy_scratch_fit() on the control
 * side (Hyperscan scratch is sized per database). Never share one scratch
 * between threads. */
int policy_scratch_alloc(const struct policy_ruleset *rs,
			 struct policy_scratch **out);
int policy_scratch_fit(const struct policy_ruleset *rs,
		       struct policy_scratch *s);
void policy_scratch_free(struct policy_scratch *s);

/* ------------------------------------------------------------------ */
/* Matching (data plane)                                               */
/* ------------------------------------------------------------------ */

struct policy_flow {
	uint32_t src; /* host byte order */
	uint32_t dst; /* host byte order */
	uint16_t dport;
	uint8_t ipproto; /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_ICMP / other */
};

#define POLICY_STAGE_LIST(X)                                                   \
	X(NONE, "none")                                                        \
	X(DNAT, "dnat")                                                        \
	X(NETWORK, "network")                                                  \
	X(APPLICATION, "application")                                          \
	X(DEFAULT, "default")

enum policy_stage {
#define X(n, s) POLICY_STAGE_##n,
	POLICY_STAGE_LIST(X)
#undef X
};

/* Why a verdict was reached; the strings are what tollctl prints. */
#define POLICY_REASON_LIST(X)                                                  \
	X(RULE, "rule matched")                                                \
	X(NO_RULE, "no rule matched")                                          \
	X(NO_NETWORK_RULE, "no DNAT or network rule matched")                  \
	X(APP_NEEDS_FQDN,                                                      \
	  "no network rule matched; an application rule may allow it "        \
	  "once the TLS SNI or HTTP Host is known")                            \
	X(APP_NO_MATCH, "no application rule matched the FQDN")                \
	X(APP_BAD_NAME, "invalid FQDN (not an ASCII/A-label host name)")       \
	X(APP_NOT_TCP, "application rules apply only to TCP (http/https)")

enum policy_reason {
#define X(n, s) POLICY_REASON_##n,
	POLICY_REASON_LIST(X)
#undef X
};

struct policy_verdict {
	uint8_t action; /* enum policy_action */
	uint8_t stage;  /* enum policy_stage */
	uint8_t reason; /* enum policy_reason */
	uint32_t rule_id; /* POLICY_RULE_NONE when no rule matched */
	uint32_t xlat_addr; /* dnat: translated address, host byte order */
	uint16_t xlat_port; /* dnat: translated port */
};

const char *policy_stage_str(enum policy_stage s);
const char *policy_reason_str(enum policy_reason r);
const char *policy_action_str(enum policy_action a);

/* DNAT collections, then network collections, in priority order; first
 * match wins. Returns true and fills `v` on a match; false (v->stage =
 * NONE, action deny, reason NO_NETWORK_RULE) otherwise. */
bool policy_match_network(const struct policy_ruleset *rs,
			  const struct policy_flow *f, struct policy_verdict *v);

/* policy_match_network() for a burst of n flows (any n; processed 32 at a
 * time with prefetching across the burst, which is how workers should
 * call it). Fills v[0..n); returns how many matched a rule. */
unsigned policy_match_network_bulk(const struct policy_ruleset *rs,
				   const struct policy_flow *f, unsigned n,
				   struct policy_verdict *v);

/* True when some application rule with action allow matches the flow's
 * source and (scheme, dport) for a scheme in `scheme_mask`: the flow must
 * go to inspection to learn its FQDN. */
bool policy_app_candidate(const struct policy_ruleset *rs,
			  const struct policy_flow *f, unsigned scheme_mask);

/* Match an FQDN (TLS SNI or HTTP Host without port) against application
 * rules whose source and (scheme, dport) match the flow; the highest
 * priority match wins. `name` is ASCII (A-labels), any case, at most one
 * trailing dot. Returns true on a rule match (allow or deny action), false
 * with v->reason APP_NO_MATCH or APP_BAD_NAME otherwise. */
bool policy_match_app(const struct policy_ruleset *rs, struct policy_scratch *s,
		      const struct policy_flow *f, enum policy_scheme scheme,
		      const char *name, size_t len, struct policy_verdict *v);

/* The whole Azure order for one flow, as tollctl match and tests use it:
 * DNAT, network, then (TCP only, if name != NULL) application, then
 * default deny. */
void policy_evaluate(const struct policy_ruleset *rs, struct policy_scratch *s,
		     const struct policy_flow *f, enum policy_scheme scheme,
		     const char *name, size_t len, struct policy_verdict *v);

/* ------------------------------------------------------------------ */
/* Dynamic destination sets (network rules with destination_fqdns)     */
/* ------------------------------------------------------------------ */

/* A network rule with destination_fqdns matches a destination only when
 * the address is in the rule's current dynamic set. The DNS proxy (later
 * issue) publishes a new sorted array with policy_dynset_publish(); the
 * caller frees the returned previous set after an RCU grace period. An
 * empty set (the state after compile) matches nothing. */
struct policy_dynset {
	size_t n;
	uint32_t addrs[]; /* sorted ascending, host byte order */
};

/* Control side. Returns the previous set (may be NULL) or sets *err to
 * -EINVAL if the rule has no destination_fqdns. */
const struct policy_dynset *policy_dynset_publish(struct policy_ruleset *rs,
						  uint32_t rule_id,
						  const struct policy_dynset *set,
						  int *err);
/* Destination FQDNs of a rule (for the DNS proxy). */
size_t policy_rule_dst_fqdns(const struct policy_ruleset *rs, uint32_t rule_id,
			     const char *const **fqdns);

#ifdef __cplusplus
}
#endif

#endif
