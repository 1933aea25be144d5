/* SPDX-License-Identifier: BSD-3-Clause
 * FQDN names and patterns for application rules.
 *
 * Normalisation (control side, policy patterns and operator input):
 * ASCII lower case, one trailing dot dropped, U-labels converted to
 * A-labels with Punycode (RFC 3492). Non-ASCII letters are lower-cased
 * for Latin-1, Latin Extended-A, Greek and Cyrillic only (no full UTS #46
 * mapping or NFC normalisation: other U-labels must already be in that
 * form). Labels 1-63 bytes, name at most 253 bytes.
 *
 * Patterns, as Azure Firewall defines them:
 *   "a.contoso.com"   exactly that name
 *   "*.contoso.com"   any name below contoso.com, any depth, not itself
 *   "*contoso.com"    any name ending in "contoso.com" (also th3contoso.com)
 *   "*"               every name
 * A '*' anywhere else ("www.contoso.*", "*.contoso.*", "www.*x.com") is
 * refused.
 *
 * Matcher (data plane): exact and "*." patterns live in one hash table of
 * label-aligned suffixes (one right-to-left pass over the name hashes
 * every suffix; one probe per label); "*x" patterns are literals in one
 * Hyperscan database scanned over the reversed name, anchored by a
 * sentinel byte so that every Hyperscan match is a real match. See
 * docs/policy.md ("FQDN matching") for why not one Hyperscan database
 * for everything.
 */
#ifndef TOLLGATE_RULES_FQDN_H
#define TOLLGATE_RULES_FQDN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"

#define FQDN_MAX 253

enum fqdn_pat_kind {
	FQDN_PAT_EXACT,
	FQDN_PAT_SUBDOMAINS, /* "*.x" */
	FQDN_PAT_SUFFIX,     /* "*x"  */
	FQDN_PAT_ANY,        /* "*"   */
};

/* Normalise `in` (len bytes, UTF-8) into out[FQDN_MAX + 1]. With
 * `pattern`, a leading "*" or "*." is allowed. Returns 0, or -EINVAL with
 * *why set to a static message. */
int fqdn_normalize(const char *in, size_t len, bool pattern, char *out,
		   size_t *outlen, const char **why);

/* Kind of a normalised pattern. */
enum fqdn_pat_kind fqdn_pattern_kind(const char *norm);

/* RFC 3492 encoding of one label's code points, without the "xn--"
 * prefix. Returns 0, or -E2BIG / -EINVAL. */
int fqdn_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap,
			 size_t *outlen);

/* ---- matcher ---- */

struct fqdn_matcher;

struct fqdn_pattern_in {
	const char *pat; /* normalised */
	uint32_t rule;   /* smaller = higher priority */
};

/* Build from n (pattern, rule) pairs. Returns 0 or -errno with a message. */
int fqdn_matcher_build(const struct fqdn_pattern_in *pats, size_t n,
		       struct fqdn_matcher **out, struct policy_errors *errs);
void fqdn_matcher_free(struct fqdn_matcher *m);
size_t fqdn_matcher_pattern_count(const struct fqdn_matcher *m);

/* Hyperscan scratch for this matcher: allocate, or grow an existing one
 * (*s may be non-NULL) so it fits. May leave *s NULL when the matcher
 * needs none. Control side. */
int fqdn_scratch_fit(const struct fqdn_matcher *m, void **s);
void fqdn_scratch_free(void *s);

typedef bool (*fqdn_rule_ok_fn)(void *ctx, uint32_t rule);

#define FQDN_NO_MATCH UINT32_MAX
#define FQDN_BAD_NAME (UINT32_MAX - 1)

/* Data plane. Smallest rule among all patterns matching `name` for which
 * ok(ctx, rule) holds (ok may be NULL: every rule is ok), FQDN_NO_MATCH,
 * or FQDN_BAD_NAME when `name` is not a valid ASCII host name. `scratch`
 * comes from fqdn_scratch_fit() and must not be shared between threads.
 * No allocation; work bounded by the name length (<= 254 bytes) and the
 * number of rules per pattern. */
uint32_t fqdn_match(const struct fqdn_matcher *m, void *scratch,
		    const char *name, size_t len, fqdn_rule_ok_fn ok,
		    void *ctx);

#endif
