/* SPDX-License-Identifier: BSD-3-Clause */
#include "rules/ytree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* A policy is hand-written: a few thousand nodes is large. The caps leave
 * room for generated policies of 100k rules while keeping the worst case
 * (every byte a node) at a few hundred MB of tree. */
const struct ytree_limits rules_ytree_policy_limits = {
	.max_bytes = 16u << 20,
	.max_nodes = 4u << 20,
	.max_depth = 32,
	.max_scalar = 4096,
};

/* Azure's ServiceTags_Public JSON is about 4 MB and 150k nodes today. */
const struct ytree_limits rules_ytree_data_limits = {
	.max_bytes = 64u << 20,
	.max_nodes = 8u << 20,
	.max_depth = 16,
	.max_scalar = 4096,
};

/* One open container while parsing: children collected in a malloc'd
 * vector, copied into the arena when the container closes. */
struct frame {
	struct ynode *node;
	struct ynode **kids;
	size_t n, cap;
};

static int frame_push_kid(struct frame *f, struct ynode *k)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 8;
		struct ynode **d = realloc(f->kids, nc * sizeof(*d));
		if (d == NULL)
			return -ENOMEM;
		f->kids = d;
		f->cap = nc;
	}
	f->kids[f->n++] = k;
	return 0;
}

static const char *event_hint(const yaml_parser_t *p)
{
	/* libyaml reads a bare `*` as the start of an alias. */
	if ((p->problem != NULL && strstr(p->problem, "alias") != NULL) ||
	    (p->context != NULL && strstr(p->context, "alias") != NULL))
		return " (a bare * starts a YAML alias: write \"*\" in quotes)";
	return "";
}

int rules_ytree_parse(const char *name, const char *buf, size_t len,
		      const struct ytree_limits *lim, struct rules_arena *arena,
		      struct ynode **root, struct policy_errors *errs)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct frame *stack = NULL;
	size_t depth = 0, nodes = 0, docs = 0;
	int rc = 0;
	bool done = false;

	*root = NULL;
	if (len > lim->max_bytes) {
		rules_err(errs, name, 0, 0,
			  "file is %zu bytes, larger than the %zu-byte limit",
			  len, lim->max_bytes);
		return -EFBIG;
	}
	stack = calloc(lim->max_depth + 1, sizeof(*stack));
	if (stack == NULL)
		return -ENOMEM;
	if (!yaml_parser_initialize(&parser)) {
		free(stack);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rules_err(errs, name,
				  (uint32_t)parser.problem_mark.line + 1,
				  (uint32_t)parser.problem_mark.column + 1,
				  "YAML syntax error: %s%s%s%s",
				  parser.problem ? parser.problem : "unknown",
				  parser.context ? " " : "",
				  parser.context ? parser.context : "",
				  event_hint(&parser));
			rc = -EINVAL;
			break;
		}
		uint32_t line = (uint32_t)ev.start_mark.line + 1;
		uint32_t col = (uint32_t)ev.start_mark.column + 1;
		struct ynode *nd = NULL;

		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				rules_err(errs, name, line, col,
					  "more than one YAML document: "
					  "expected a single document");
				rc = -EINVAL;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_ALIAS_EVENT:
			rules_err(errs, name, line, col,
				  "YAML aliases (*%s) are not supported: write "
				  "the value out, or quote \"*\"",
				  ev.data.alias.anchor
					  ? (const char *)ev.data.alias.anchor
					  : "");
			rc = -EINVAL;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *tag =
				ev.type == YAML_SCALAR_EVENT
					? ev.data.scalar.tag
				: ev.type == YAML_SEQUENCE_START_EVENT
					? ev.data.sequence_start.tag
					: ev.data.mapping_start.tag;
			if (tag != NULL) {
				rules_err(errs, name, line, col,
					  "YAML tags (%.40s) are not supported",
					  (const char *)tag);
				rc = -EINVAL;
				break;
			}
			if (++nodes > lim->max_nodes) {
				rules_err(errs, name, line, col,
					  "more than %zu YAML nodes: input too "
					  "large",
					  lim->max_nodes);
				rc = -EFBIG;
				break;
			}
			nd = rules_arena_alloc(arena, sizeof(*nd));
			if (nd == NULL) {
				rc = -ENOMEM;
				break;
			}
			nd->line = line;
			nd->col = col;
			if (ev.type == YAML_SCALAR_EVENT) {
				size_t sl = ev.data.scalar.length;
				if (sl > lim->max_scalar) {
					rules_err(errs, name, line, col,
						  "scalar of %zu bytes is longer "
						  "than the %zu-byte limit",
						  sl, lim->max_scalar);
					rc = -EINVAL;
					break;
				}
				if (memchr(ev.data.scalar.value, '\0', sl)) {
					rules_err(errs, name, line, col,
						  "NUL byte in a string");
					rc = -EINVAL;
					break;
				}
				nd->type = YNODE_SCALAR;
				nd->plain = ev.data.scalar.style ==
					    YAML_PLAIN_SCALAR_STYLE;
				nd->n = (uint32_t)sl;
				nd->str = rules_arena_strndup(
					arena, (const char *)ev.data.scalar.value,
					sl);
				if (nd->str == NULL) {
					rc = -ENOMEM;
					break;
				}
			} else {
				nd->type = ev.type == YAML_SEQUENCE_START_EVENT
						   ? YNODE_SEQ
						   : YNODE_MAP;
			}
			/* attach to parent */
			if (depth == 0) {
				if (*root != NULL) {
					rules_err(errs, name, line, col,
						  "more than one top-level "
						  "node: expected a single "
						  "document");
					rc = -EINVAL;
					break;
				}
				*root = nd;
			} else if (frame_push_kid(&stack[depth - 1], nd) < 0) {
				rc = -ENOMEM;
				break;
			}
			if (nd->type != YNODE_SCALAR) {
				if (depth >= lim->max_depth) {
					rules_err(errs, name, line, col,
						  "nesting deeper than %zu "
						  "levels",
						  lim->max_depth);
					rc = -EINVAL;
					break;
				}
				stack[depth].node = nd;
				stack[depth].n = 0;
				depth++;
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: {
			struct frame *f = &stack[depth - 1];
			f->node->n = (uint32_t)(f->node->type == YNODE_MAP
							? f->n / 2
							: f->n);
			f->node->kids = rules_arena_memdup(
				arena, f->kids, f->n * sizeof(struct ynode *));
			if (f->node->kids == NULL) {
				rc = -ENOMEM;
				break;
			}
			depth--;
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}

	for (size_t i = 0; i <= lim->max_depth; i++)
		free(stack[i].kids);
	free(stack);
	yaml_parser_delete(&parser);
	if (rc == -ENOMEM)
		rules_err(errs, name, 0, 0, "out of memory while parsing");
	if (rc == 0 && *root == NULL) {
		rules_err(errs, name, 1, 1, "empty document");
		rc = -EINVAL;
	}
	if (rc != 0)
		*root = NULL;
	return rc;
}

int rules_read_file(const char *path, size_t max_bytes, char **buf,
		    size_t *len, struct policy_errors *errs)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rules_err(errs, path, 0, 0, "cannot open: %s", strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		rules_err(errs, path, 0, 0, "is a directory, expected a file");
		return -EISDIR;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size > max_bytes) {
		close(fd);
		rules_err(errs, path, 0, 0,
			  "file is %lld bytes, larger than the %zu-byte limit",
			  (long long)st.st_size, max_bytes);
		return -EFBIG;
	}
	/* Read at most max_bytes + 1 so pipes and files that grow are capped
	 * too. */
	size_t cap = 64 * 1024, n = 0;
	char *b = malloc(cap);
	if (b == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (n == cap) {
			size_t nc = cap * 2;
			if (nc > max_bytes + 1)
				nc = max_bytes + 1;
			if (nc <= cap)
				break;
			char *nb = realloc(b, nc);
			if (nb == NULL) {
				free(b);
				close(fd);
				return -ENOMEM;
			}
			b = nb;
			cap = nc;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(b);
			close(fd);
			rules_err(errs, path, 0, 0, "read error: %s",
				  strerror(e));
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max_bytes) {
		free(b);
		rules_err(errs, path, 0, 0,
			  "file is larger than the %zu-byte limit", max_bytes);
		return -EFBIG;
	}
	*buf = b;
	*len = n;
	return 0;
}

const struct ynode *rules_ymap_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->type != YNODE_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->n; i++) {
		const struct ynode *k = map->kids[2 * i];
		if (k->type == YNODE_SCALAR && strcmp(k->str, key) == 0)
			return map->kids[2 * i + 1];
	}
	return NULL;
}
