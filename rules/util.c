/* SPDX-License-Identifier: BSD-3-Clause */
#include "rules/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunks of at least 64 KiB; bigger requests get their own chunk. The
 * total is capped so a hostile input cannot make the loader eat all
 * memory even if some other limit were missed. */
#define ARENA_CHUNK (64u * 1024)
#define ARENA_BUDGET ((size_t)1 << 30)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	max_align_t data[];
};

struct rules_arena {
	struct arena_chunk *head;
	size_t total;
};

struct rules_arena *rules_arena_new(void)
{
	return calloc(1, sizeof(struct rules_arena));
}

void rules_arena_free(struct rules_arena *a)
{
	if (a == NULL)
		return;
	struct arena_chunk *c = a->head;
	while (c != NULL) {
		struct arena_chunk *n = c->next;
		free(c);
		c = n;
	}
	free(a);
}

void *rules_arena_alloc(struct rules_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	struct arena_chunk *c = a->head;
	if (c == NULL || c->size - c->used < size) {
		size_t csz = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		if (a->total + csz > ARENA_BUDGET)
			return NULL;
		c = malloc(sizeof(*c) + csz);
		if (c == NULL)
			return NULL;
		c->used = 0;
		c->size = csz;
		c->next = a->head;
		a->head = c;
		a->total += csz;
	}
	void *p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *rules_arena_strndup(struct rules_arena *a, const char *s, size_t n)
{
	char *p = rules_arena_alloc(a, n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void *rules_arena_memdup(struct rules_arena *a, const void *p, size_t n)
{
	void *q = rules_arena_alloc(a, n);
	if (q != NULL && n > 0)
		memcpy(q, p, n);
	return q;
}

void rules_verr(struct policy_errors *e, const char *file, uint32_t line,
		uint32_t col, const char *fmt, va_list ap)
{
	if (e == NULL)
		return;
	if (e->count >= POLICY_ERRORS_MAX) {
		e->dropped++;
		return;
	}
	char body[512];
	vsnprintf(body, sizeof(body), fmt, ap);
	char msg[1024];
	if (line > 0)
		snprintf(msg, sizeof(msg), "%s:%u:%u: %s", file ? file : "-",
			 line, col, body);
	else
		snprintf(msg, sizeof(msg), "%s: %s", file ? file : "-", body);
	if (e->msgs == NULL) {
		e->msgs = calloc(POLICY_ERRORS_MAX, sizeof(char *));
		if (e->msgs == NULL) {
			e->dropped++;
			return;
		}
	}
	char *m = strdup(msg);
	if (m == NULL) {
		e->dropped++;
		return;
	}
	e->msgs[e->count++] = m;
}

void rules_err(struct policy_errors *e, const char *file, uint32_t line,
	       uint32_t col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rules_verr(e, file, line, col, fmt, ap);
	va_end(ap);
}

void policy_errors_free(struct policy_errors *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->count; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->count = 0;
	e->dropped = 0;
}

void rules_vec_init(struct rules_vec *v, size_t elem)
{
	v->data = NULL;
	v->n = 0;
	v->cap = 0;
	v->elem = elem;
}

void *rules_vec_push(struct rules_vec *v)
{
	if (v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 16;
		void *d = realloc(v->data, nc * v->elem);
		if (d == NULL)
			return NULL;
		v->data = d;
		v->cap = nc;
	}
	void *p = (char *)v->data + v->n * v->elem;
	memset(p, 0, v->elem);
	v->n++;
	return p;
}

void rules_vec_free(struct rules_vec *v)
{
	free(v->data);
	v->data = NULL;
	v->n = v->cap = 0;
}

int rules_strcaseeq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return 0;
		if (x == 0)
			return 1;
	}
}
