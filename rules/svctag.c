/* SPDX-License-Identifier: BSD-3-Clause */
#include "rules/svctag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/addr.h"
#include "rules/ytree.h"

struct svctag {
	const char *name;
	struct policy_range32 *r;
	size_t n;
};

struct svctag_db {
	struct rules_arena *arena;
	struct svctag *tags; /* sorted by strcasecmp(name) */
	size_t n;
};

static int tagcmp(const void *a, const void *b)
{
	return strcasecmp(((const struct svctag *)a)->name,
			  ((const struct svctag *)b)->name);
}

int svctag_load_buf(const char *name, const char *buf, size_t len,
		    struct svctag_db **out, struct policy_errors *errs)
{
	struct svctag_db *db = calloc(1, sizeof(*db));
	struct ynode *root;
	int rc = -ENOMEM;
	*out = NULL;
	if (db == NULL || (db->arena = rules_arena_new()) == NULL)
		goto fail;
	rc = rules_ytree_parse(name, buf, len, &rules_ytree_data_limits,
			       db->arena, &root, errs);
	if (rc < 0)
		goto fail;
	rc = -EINVAL;
	const struct ynode *vals = rules_ymap_get(root, "values");
	if (vals == NULL || vals->type != YNODE_SEQ) {
		rules_err(errs, name, root->line, root->col,
			  "expected a JSON object with a \"values\" array "
			  "(Azure service tags format)");
		goto fail;
	}
	db->tags = rules_arena_alloc(db->arena,
				     (vals->n + 1) * sizeof(struct svctag));
	if (db->tags == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < vals->n; i++) {
		const struct ynode *v = vals->kids[i];
		const struct ynode *nm = rules_ymap_get(v, "name");
		const struct ynode *props = rules_ymap_get(v, "properties");
		const struct ynode *pfx = rules_ymap_get(props, "addressPrefixes");
		if (nm == NULL || nm->type != YNODE_SCALAR || pfx == NULL ||
		    pfx->type != YNODE_SEQ) {
			rules_err(errs, name, v->line, v->col,
				  "expected {\"name\": ..., \"properties\": "
				  "{\"addressPrefixes\": [...]}}");
			goto fail;
		}
		struct svctag *t = &db->tags[db->n];
		t->name = nm->str;
		t->r = rules_arena_alloc(db->arena, (pfx->n + 1) *
							    sizeof(*t->r));
		if (t->r == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		for (uint32_t j = 0; j < pfx->n; j++) {
			const struct ynode *p = pfx->kids[j];
			const char *why;
			if (p->type != YNODE_SCALAR) {
				rules_err(errs, name, p->line, p->col,
					  "expected a prefix string");
				goto fail;
			}
			if (strchr(p->str, ':') != NULL)
				continue; /* IPv6: Tollgate is IPv4 only */
			if (rules_parse_addr_range(p->str, &t->r[t->n], &why) <
			    0) {
				rules_err(errs, name, p->line, p->col,
					  "bad prefix \"%s\": %s", p->str, why);
				goto fail;
			}
			t->n++;
		}
		t->n = rules_merge_ranges32(t->r, t->n);
		db->n++;
	}
	qsort(db->tags, db->n, sizeof(*db->tags), tagcmp);
	for (size_t i = 1; i < db->n; i++) {
		if (strcasecmp(db->tags[i - 1].name, db->tags[i].name) == 0) {
			rules_err(errs, name, 0, 0,
				  "service tag \"%s\" appears twice",
				  db->tags[i].name);
			goto fail;
		}
	}
	*out = db;
	return 0;
fail:
	svctag_free(db);
	return rc;
}

int svctag_load(const char *path, struct svctag_db **out,
		struct policy_errors *errs)
{
	char *buf;
	size_t len;
	int rc = rules_read_file(path, rules_ytree_data_limits.max_bytes, &buf,
				 &len, errs);
	if (rc < 0)
		return rc;
	rc = svctag_load_buf(path, buf, len, out, errs);
	free(buf);
	return rc;
}

void svctag_free(struct svctag_db *db)
{
	if (db == NULL)
		return;
	rules_arena_free(db->arena);
	free(db);
}

const struct policy_range32 *svctag_lookup(const struct svctag_db *db,
					   const char *name, size_t *n)
{
	if (db == NULL)
		return NULL;
	struct svctag key = {.name = name};
	const struct svctag *t =
		bsearch(&key, db->tags, db->n, sizeof(*db->tags), tagcmp);
	if (t == NULL)
		return NULL;
	*n = t->n;
	return t->r;
}

size_t svctag_count(const struct svctag_db *db)
{
	return db ? db->n : 0;
}
