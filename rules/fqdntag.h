/* SPDX-License-Identifier: BSD-3-Clause
 * FQDN tags: named FQDN pattern sets (Azure's "FQDN tags", e.g.
 * AzureKubernetesService), loaded from rules/data/fqdn-tags.yaml. Patterns
 * may contain "<location>", which the policy loader fills from the
 * policy's `region`.
 */
#ifndef TOLLGATE_RULES_FQDNTAG_H
#define TOLLGATE_RULES_FQDNTAG_H

#include <stddef.h>

#include "rules/policy.h"

struct fqdntag_db;

int fqdntag_load(const char *path, struct fqdntag_db **out,
		 struct policy_errors *errs);
int fqdntag_load_buf(const char *name, const char *buf, size_t len,
		     struct fqdntag_db **out, struct policy_errors *errs);
void fqdntag_free(struct fqdntag_db *db);

/* Case-insensitive. Patterns of the tag for `cloud` (a tag written with
 * `all:` serves every cloud). NULL if the tag is unknown; *n may be 0 if
 * the tag has no list for this cloud. */
const char *const *fqdntag_lookup(const struct fqdntag_db *db, const char *name,
				  enum policy_cloud cloud, size_t *n);

#endif
