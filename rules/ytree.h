/* SPDX-License-Identifier: BSD-3-Clause
 * Bounded YAML (and JSON, which libyaml reads as YAML) loading into a small
 * tree with line/column marks. Every input is untrusted: file size, node
 * count, nesting depth and scalar length are capped, aliases are refused
 * (no alias bombs), and only one document is accepted.
 */
#ifndef TOLLGATE_RULES_YTREE_H
#define TOLLGATE_RULES_YTREE_H

#include <stddef.h>
#include <stdint.h>

#include "rules/util.h"

enum ynode_type { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
	uint8_t type;  /* enum ynode_type */
	uint8_t plain; /* scalar written without quotes */
	uint32_t line, col; /* 1-based start mark */
	uint32_t n; /* scalar: byte length; seq: items; map: pairs */
	union {
		const char *str;     /* scalar, NUL-terminated */
		struct ynode **kids; /* seq: n items; map: 2n (key, value) */
	};
};

struct ytree_limits {
	size_t max_bytes;  /* input size */
	size_t max_nodes;
	size_t max_depth;
	size_t max_scalar; /* bytes in one scalar */
};

extern const struct ytree_limits rules_ytree_policy_limits;
extern const struct ytree_limits rules_ytree_data_limits;

/* Parse `buf` into a tree allocated from `arena`. Returns 0 or -EINVAL,
 * -EFBIG, -ENOMEM with one message in `errs` naming `name`. */
int rules_ytree_parse(const char *name, const char *buf, size_t len,
		      const struct ytree_limits *lim, struct rules_arena *arena,
		      struct ynode **root, struct policy_errors *errs);

/* Read a whole file under lim->max_bytes (regular file or not). Returns 0
 * or -errno with a message; *buf is malloc'd. */
int rules_read_file(const char *path, size_t max_bytes, char **buf,
		    size_t *len, struct policy_errors *errs);

/* Map lookup by key (exact match); NULL when absent. */
const struct ynode *rules_ymap_get(const struct ynode *map, const char *key);

#endif
