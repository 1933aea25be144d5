/* SPDX-License-Identifier: BSD-3-Clause
 * Service tags: named IPv4 prefix sets in the format of Azure's
 * downloadable service-tags JSON (values[].name,
 * values[].properties.addressPrefixes). IPv6 prefixes are skipped.
 */
#ifndef TOLLGATE_RULES_SVCTAG_H
#define TOLLGATE_RULES_SVCTAG_H

#include <stddef.h>

#include "rules/policy.h"

struct svctag_db;

/* Returns 0 or -errno with messages in errs. */
int svctag_load(const char *path, struct svctag_db **out,
		struct policy_errors *errs);
int svctag_load_buf(const char *name, const char *buf, size_t len,
		    struct svctag_db **out, struct policy_errors *errs);
void svctag_free(struct svctag_db *db);

/* Case-insensitive lookup. Returns the merged, sorted IPv4 ranges of the
 * tag (count in *n, may be 0 for an IPv6-only tag), or NULL if unknown. */
const struct policy_range32 *svctag_lookup(const struct svctag_db *db,
					   const char *name, size_t *n);
size_t svctag_count(const struct svctag_db *db);

#endif
