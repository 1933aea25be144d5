/* SPDX-License-Identifier: BSD-3-Clause
 * Internal helpers shared by the rules/ library: an arena allocator for the
 * intermediate policy and the error list every control-side function fills.
 * Not part of the data-plane API.
 */
#ifndef TOLLGATE_RULES_UTIL_H
#define TOLLGATE_RULES_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"

/* Arena: many small allocations, one free. Used for everything the loader
 * builds (names, address ranges, the YAML tree) so that error paths never
 * have to unwind partially built structures. */
struct rules_arena;

struct rules_arena *rules_arena_new(void);
void rules_arena_free(struct rules_arena *a);
/* Returns NULL when the arena's byte budget or memory runs out. */
void *rules_arena_alloc(struct rules_arena *a, size_t size);
char *rules_arena_strndup(struct rules_arena *a, const char *s, size_t n);
void *rules_arena_memdup(struct rules_arena *a, const void *p, size_t n);

/* Append one message "FILE:LINE:COL: text" (line/col 0 → omitted). */
void rules_err(struct policy_errors *e, const char *file, uint32_t line,
	       uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void rules_verr(struct policy_errors *e, const char *file, uint32_t line,
		uint32_t col, const char *fmt, va_list ap);

/* Growable array of fixed-size elements, used only on the control side. */
struct rules_vec {
	void *data;
	size_t n;
	size_t cap;
	size_t elem;
};

void rules_vec_init(struct rules_vec *v, size_t elem);
void *rules_vec_push(struct rules_vec *v); /* NULL on ENOMEM */
void rules_vec_free(struct rules_vec *v);

/* Case-insensitive ASCII comparison helpers. */
int rules_strcaseeq(const char *a, const char *b);

#endif
