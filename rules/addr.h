/* SPDX-License-Identifier: BSD-3-Clause
 * IPv4 address, CIDR, range and port parsing for the policy loader
 * (control side). Strict: no leading zeros that could mean octal, no
 * trailing garbage, host bits of a CIDR must be zero.
 */
#ifndef TOLLGATE_RULES_ADDR_H
#define TOLLGATE_RULES_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "rules/policy.h"

/* Dotted quad -> host-order address. Returns 0 or -EINVAL. */
int rules_parse_ipv4(const char *s, uint32_t *out);

/* "a.b.c.d", "a.b.c.d/n" or "a.b.c.d-e.f.g.h" -> inclusive range. On
 * error returns -EINVAL and sets *why to a static explanation. */
int rules_parse_addr_range(const char *s, struct policy_range32 *out,
			   const char **why);

/* "80", "8000-8100", "*" -> inclusive range (1..65535 for "*"; port 0 is
 * accepted only inside "*"). */
int rules_parse_port_range(const char *s, struct policy_range16 *out,
			   const char **why);

/* Sort and merge overlapping/adjacent ranges in place; returns new count. */
size_t rules_merge_ranges32(struct policy_range32 *r, size_t n);
size_t rules_merge_ranges16(struct policy_range16 *r, size_t n);

/* Format a host-order address into buf (>= 16 bytes). */
const char *rules_ipv4_str(uint32_t a, char *buf);

#endif
