/* SPDX-License-Identifier: BSD-3-Clause */
#include "rules/addr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a decimal number of at most `maxdig` digits without leading
 * zeros; advances *p. */
static int parse_dec(const char **p, unsigned maxdig, unsigned long *v)
{
	const char *s = *p;
	unsigned n = 0;
	unsigned long x = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n == maxdig)
			return -EINVAL;
		x = x * 10 + (unsigned long)(s[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	*v = x;
	*p = s + n;
	return 0;
}

static int parse_quad(const char **p, uint32_t *out)
{
	uint32_t a = 0;
	for (int i = 0; i < 4; i++) {
		unsigned long o;
		if (i > 0) {
			if (**p != '.')
				return -EINVAL;
			(*p)++;
		}
		if (parse_dec(p, 3, &o) < 0 || o > 255)
			return -EINVAL;
		a = (a << 8) | (uint32_t)o;
	}
	*out = a;
	return 0;
}

int rules_parse_ipv4(const char *s, uint32_t *out)
{
	const char *p = s;
	if (parse_quad(&p, out) < 0 || *p != '\0')
		return -EINVAL;
	return 0;
}

int rules_parse_addr_range(const char *s, struct policy_range32 *out,
			   const char **why)
{
	const char *p = s;
	uint32_t a;
	if (strcmp(s, "*") == 0) {
		out->lo = 0;
		out->hi = UINT32_MAX;
		return 0;
	}
	if (parse_quad(&p, &a) < 0) {
		*why = "expected an IPv4 address, CIDR (a.b.c.d/n), range "
		       "(a.b.c.d-e.f.g.h), \"*\" or a service tag";
		return -EINVAL;
	}
	if (*p == '\0') {
		out->lo = out->hi = a;
		return 0;
	}
	if (*p == '/') {
		unsigned long len;
		p++;
		if (parse_dec(&p, 2, &len) < 0 || *p != '\0' || len > 32) {
			*why = "bad CIDR prefix length: expected /0 to /32";
			return -EINVAL;
		}
		uint32_t mask = len == 0 ? 0 : UINT32_MAX << (32 - len);
		if ((a & ~mask) != 0) {
			*why = "bad CIDR: host bits are set (write the network "
			       "address, e.g. 10.0.0.0/8)";
			return -EINVAL;
		}
		out->lo = a;
		out->hi = a | ~mask;
		return 0;
	}
	if (*p == '-') {
		uint32_t b;
		p++;
		if (parse_quad(&p, &b) < 0 || *p != '\0') {
			*why = "bad address range: expected a.b.c.d-e.f.g.h";
			return -EINVAL;
		}
		if (b < a) {
			*why = "bad address range: the end is below the start";
			return -EINVAL;
		}
		out->lo = a;
		out->hi = b;
		return 0;
	}
	*why = "expected an IPv4 address, CIDR (a.b.c.d/n), range "
	       "(a.b.c.d-e.f.g.h), \"*\" or a service tag";
	return -EINVAL;
}

static int parse_port(const char **p, unsigned long *v, const char **why)
{
	const char *s = *p;
	if (!(*s >= '0' && *s <= '9')) {
		*why = "expected a port number 1-65535, a range such as "
		       "8000-8100, or \"*\"";
		return -EINVAL;
	}
	if (parse_dec(p, 6, v) < 0) {
		*why = "expected a port number 1-65535 without leading zeros";
		return -EINVAL;
	}
	if (*v < 1 || *v > 65535) {
		*why = "port out of range: expected 1-65535";
		return -ERANGE;
	}
	return 0;
}

int rules_parse_port_range(const char *s, struct policy_range16 *out,
			   const char **why)
{
	const char *p = s;
	unsigned long a, b;
	int rc;
	if (strcmp(s, "*") == 0) {
		out->lo = 0;
		out->hi = 65535;
		return 0;
	}
	if ((rc = parse_port(&p, &a, why)) < 0)
		return rc;
	b = a;
	if (*p == '-') {
		p++;
		if ((rc = parse_port(&p, &b, why)) < 0)
			return rc;
		if (b < a) {
			*why = "bad port range: the end is below the start";
			return -EINVAL;
		}
	}
	if (*p != '\0') {
		*why = "expected a port number 1-65535, a range such as "
		       "8000-8100, or \"*\"";
		return -EINVAL;
	}
	out->lo = (uint16_t)a;
	out->hi = (uint16_t)b;
	return 0;
}

static int cmp32(const void *x, const void *y)
{
	const struct policy_range32 *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo ? 1 : 0;
}

static int cmp16(const void *x, const void *y)
{
	const struct policy_range16 *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo ? 1 : 0;
}

size_t rules_merge_ranges32(struct policy_range32 *r, size_t n)
{
	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), cmp32);
	size_t o = 0;
	for (size_t i = 1; i < n; i++) {
		if (r[o].hi == UINT32_MAX || r[i].lo <= r[o].hi + 1) {
			if (r[i].hi > r[o].hi)
				r[o].hi = r[i].hi;
		} else {
			r[++o] = r[i];
		}
	}
	return o + 1;
}

size_t rules_merge_ranges16(struct policy_range16 *r, size_t n)
{
	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), cmp16);
	size_t o = 0;
	for (size_t i = 1; i < n; i++) {
		if ((uint32_t)r[i].lo <= (uint32_t)r[o].hi + 1) {
			if (r[i].hi > r[o].hi)
				r[o].hi = r[i].hi;
		} else {
			r[++o] = r[i];
		}
	}
	return o + 1;
}

const char *rules_ipv4_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
	return buf;
}
