/* SPDX-License-Identifier: BSD-3-Clause */
#include "rules/fqdntag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/ytree.h"

#define N_CLOUDS 3

struct fqdntag {
	const char *name;
	const char **pats[N_CLOUDS];
	size_t n[N_CLOUDS];
	bool has[N_CLOUDS];
};

struct fqdntag_db {
	struct rules_arena *arena;
	struct fqdntag *tags;
	size_t n;
};

static const char *const cloud_keys[N_CLOUDS] = {"public", "china", "usgov"};

static int load_list(struct fqdntag_db *db, const char *name,
		     const struct ynode *seq, const char ***pats, size_t *n,
		     struct policy_errors *errs)
{
	if (seq->type != YNODE_SEQ) {
		rules_err(errs, name, seq->line, seq->col,
			  "expected a list of FQDN patterns");
		return -EINVAL;
	}
	*pats = rules_arena_alloc(db->arena, (seq->n + 1) * sizeof(char *));
	if (*pats == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < seq->n; i++) {
		const struct ynode *s = seq->kids[i];
		if (s->type != YNODE_SCALAR || s->n == 0) {
			rules_err(errs, name, s->line, s->col,
				  "expected an FQDN pattern string");
			return -EINVAL;
		}
		(*pats)[i] = s->str;
	}
	*n = seq->n;
	return 0;
}

int fqdntag_load_buf(const char *name, const char *buf, size_t len,
		     struct fqdntag_db **out, struct policy_errors *errs)
{
	struct fqdntag_db *db = calloc(1, sizeof(*db));
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
	const struct ynode *tags = rules_ymap_get(root, "fqdn_tags");
	if (tags == NULL || tags->type != YNODE_SEQ) {
		rules_err(errs, name, root->line, root->col,
			  "expected a top-level \"fqdn_tags\" list");
		goto fail;
	}
	db->tags = rules_arena_alloc(db->arena,
				     (tags->n + 1) * sizeof(*db->tags));
	if (db->tags == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < tags->n; i++) {
		const struct ynode *t = tags->kids[i];
		const struct ynode *nm = rules_ymap_get(t, "name");
		struct fqdntag *ft = &db->tags[db->n];
		if (nm == NULL || nm->type != YNODE_SCALAR) {
			rules_err(errs, name, t->line, t->col,
				  "expected a tag with a \"name\"");
			goto fail;
		}
		for (size_t k = 0; k < db->n; k++) {
			if (strcasecmp(db->tags[k].name, nm->str) == 0) {
				rules_err(errs, name, nm->line, nm->col,
					  "duplicate FQDN tag \"%s\"", nm->str);
				goto fail;
			}
		}
		ft->name = nm->str;
		const struct ynode *all = rules_ymap_get(t, "all");
		for (int c = 0; c < N_CLOUDS; c++) {
			const struct ynode *l = rules_ymap_get(t, cloud_keys[c]);
			if (l == NULL)
				l = all;
			if (l == NULL)
				continue;
			int r = load_list(db, name, l, &ft->pats[c], &ft->n[c],
					  errs);
			if (r < 0) {
				rc = r;
				goto fail;
			}
			ft->has[c] = true;
		}
		db->n++;
	}
	*out = db;
	return 0;
fail:
	fqdntag_free(db);
	return rc;
}

int fqdntag_load(const char *path, struct fqdntag_db **out,
		 struct policy_errors *errs)
{
	char *buf;
	size_t len;
	int rc = rules_read_file(path, rules_ytree_data_limits.max_bytes, &buf,
				 &len, errs);
	if (rc < 0)
		return rc;
	rc = fqdntag_load_buf(path, buf, len, out, errs);
	free(buf);
	return rc;
}

void fqdntag_free(struct fqdntag_db *db)
{
	if (db == NULL)
		return;
	rules_arena_free(db->arena);
	free(db);
}

const char *const *fqdntag_lookup(const struct fqdntag_db *db, const char *name,
				  enum policy_cloud cloud, size_t *n)
{
	static const char *const none[1] = {NULL};
	if (db == NULL || (unsigned)cloud >= N_CLOUDS)
		return NULL;
	for (size_t i = 0; i < db->n; i++) {
		if (strcasecmp(db->tags[i].name, name) == 0) {
			*n = db->tags[i].n[cloud];
			return db->tags[i].has[cloud]
				       ? (const char *const *)db->tags[i]
						 .pats[cloud]
				       : none;
		}
	}
	return NULL;
}
