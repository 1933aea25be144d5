/* SPDX-License-Identifier: BSD-3-Clause
 * FQDN normalisation, Punycode and the matcher's Azure wildcard semantics.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/fqdn.h"

static const char *norm(const char *in, bool pattern, const char **why)
{
	static char out[FQDN_MAX + 1];
	size_t n;
	*why = NULL;
	if (fqdn_normalize(in, strlen(in), pattern, out, &n, why) < 0)
		return NULL;
	assert_int_equal(n, strlen(out));
	return out;
}

static void test_normalize(void **state)
{
	const char *why;
	assert_string_equal(norm("WWW.Contoso.COM", false, &why),
			    "www.contoso.com");
	/* one trailing dot ignored, two are an empty label */
	assert_string_equal(norm("contoso.com.", false, &why), "contoso.com");
	assert_null(norm("contoso.com..", false, &why));
	assert_non_null(strstr(why, "empty label"));
	assert_null(norm(".contoso.com", false, &why));
	assert_null(norm("a..b", false, &why));
	assert_null(norm("", false, &why));
	assert_null(norm("exa mple.com", false, &why));
	assert_non_null(strstr(why, "invalid character"));
	assert_null(norm("*.contoso.com", false, &why));
	/* label and name lengths */
	char big[300];
	memset(big, 'a', 64);
	strcpy(big + 64, ".com");
	assert_null(norm(big, false, &why));
	assert_non_null(strstr(why, "63"));
	for (int i = 0; i < 64; i++)
		memcpy(big + 4 * i, "abc.", 4);
	strcpy(big + 256, "com");
	assert_null(norm(big, false, &why));
	assert_non_null(strstr(why, "253"));
	/* patterns */
	assert_string_equal(norm("*.Contoso.com", true, &why), "*.contoso.com");
	assert_string_equal(norm("*contoso.com", true, &why), "*contoso.com");
	assert_string_equal(norm("*", true, &why), "*");
	assert_null(norm("www.contoso.*", true, &why));
	assert_non_null(strstr(why, "not supported"));
	assert_null(norm("*.contoso.*", true, &why));
	assert_null(norm("www.*contoso.com", true, &why));
	assert_null(norm("**.contoso.com", true, &why));
}

static void test_punycode(void **state)
{
	const char *why;
	/* RFC 3492 7.1 sample (L) and well-known names */
	assert_string_equal(norm("bücher.example", false, &why),
			    "xn--bcher-kva.example");
	/* upper-case Latin/Greek/Cyrillic letters are lower-cased first */
	assert_string_equal(norm("MÜNCHEN.de", false, &why),
			    "xn--mnchen-3ya.de");
	assert_string_equal(norm("ПРИМЕР.рф", false, &why),
			    "xn--e1afmkfd.xn--p1ai");
	assert_string_equal(norm("münchen.de", false, &why),
			    "xn--mnchen-3ya.de");
	assert_string_equal(norm("例え.テスト", false, &why),
			    "xn--r8jz45g.xn--zckzah");
	assert_string_equal(norm("*.bücher.example", true, &why),
			    "*.xn--bcher-kva.example");
	/* A-labels pass through (case-folded) */
	assert_string_equal(norm("XN--BCHER-KVA.example", false, &why),
			    "xn--bcher-kva.example");
	/* a U-label right after a bare '*' cannot be converted */
	assert_null(norm("*bücher.example", true, &why));
	assert_non_null(strstr(why, "A-label"));
	/* invalid UTF-8 */
	assert_null(norm("b\xc3(cher.example", false, &why));
	assert_non_null(strstr(why, "UTF-8"));
	assert_null(norm("\xff.example", false, &why));

	/* RFC 3492 7.1 (A) Arabic (Egyptian) */
	static const uint32_t arabic[] = {
		0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643,
		0x0644, 0x0645, 0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064A,
		0x061F};
	char out[128];
	size_t n;
	assert_int_equal(fqdn_punycode_encode(arabic, 17, out, sizeof(out), &n),
			 0);
	out[n] = 0;
	assert_string_equal(out, "egbpdaj6bu4bxfgehfvwxn");
	/* (B) Chinese (simplified) */
	static const uint32_t zh[] = {0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48,
				      0x4E0D, 0x8BF4, 0x4E2D, 0x6587};
	assert_int_equal(fqdn_punycode_encode(zh, 9, out, sizeof(out), &n), 0);
	out[n] = 0;
	assert_string_equal(out, "ihqwcrb4cv8a8dqg056pqjye");
	assert_int_equal(fqdn_punycode_encode(zh, 9, out, 4, &n), -E2BIG);
}

struct m {
	struct fqdn_matcher *m;
	void *scratch;
};

static struct m build(const char **pats, size_t n)
{
	struct fqdn_pattern_in in[64];
	char buf[64][FQDN_MAX + 1];
	struct policy_errors e = {0};
	struct m r = {0};
	for (size_t i = 0; i < n; i++) {
		size_t bl;
		const char *why;
		assert_int_equal(fqdn_normalize(pats[i], strlen(pats[i]), true,
						buf[i], &bl, &why),
				 0);
		in[i].pat = buf[i];
		in[i].rule = (uint32_t)i;
	}
	assert_int_equal(fqdn_matcher_build(in, n, &r.m, &e), 0);
	assert_int_equal(fqdn_scratch_fit(r.m, &r.scratch), 0);
	policy_errors_free(&e);
	return r;
}

static void drop(struct m *r)
{
	fqdn_scratch_free(r->scratch);
	fqdn_matcher_free(r->m);
}

static uint32_t match(struct m *r, const char *name)
{
	return fqdn_match(r->m, r->scratch, name, strlen(name), NULL, NULL);
}

static void test_wildcards(void **state)
{
	const char *pats[] = {"*.contoso.com"};
	struct m r = build(pats, 1);
	/* any depth of subdomain, but not the name itself */
	assert_int_equal(match(&r, "www.contoso.com"), 0);
	assert_int_equal(match(&r, "a.b.c.contoso.com"), 0);
	assert_int_equal(match(&r, "contoso.com"), FQDN_NO_MATCH);
	/* label boundary */
	assert_int_equal(match(&r, "evilcontoso.com"), FQDN_NO_MATCH);
	assert_int_equal(match(&r, "www.evilcontoso.com"), FQDN_NO_MATCH);
	assert_int_equal(match(&r, "www.contoso.com.evil.net"), FQDN_NO_MATCH);
	drop(&r);

	const char *pats2[] = {"*contoso.com"};
	r = build(pats2, 1);
	assert_int_equal(match(&r, "contoso.com"), 0);
	assert_int_equal(match(&r, "th3re4lcontoso.com"), 0);
	assert_int_equal(match(&r, "www.contoso.com"), 0);
	assert_int_equal(match(&r, "contoso.co"), FQDN_NO_MATCH);
	assert_int_equal(match(&r, "contoso.com.evil.net"), FQDN_NO_MATCH);
	assert_int_equal(match(&r, "ontoso.com"), FQDN_NO_MATCH);
	drop(&r);

	const char *pats3[] = {"*"};
	r = build(pats3, 1);
	assert_int_equal(match(&r, "anything.example"), 0);
	assert_int_equal(match(&r, "x"), 0);
	assert_int_equal(match(&r, "bad..name"), FQDN_BAD_NAME);
	drop(&r);

	const char *pats4[] = {"trusted.net"};
	r = build(pats4, 1);
	assert_int_equal(match(&r, "trusted.net"), 0);
	assert_int_equal(match(&r, "untrusted.net"), FQDN_NO_MATCH);
	assert_int_equal(match(&r, "www.trusted.net"), FQDN_NO_MATCH);
	assert_int_equal(match(&r, "trusted.net.evil"), FQDN_NO_MATCH);
	assert_int_equal(match(&r, "trusted.ne"), FQDN_NO_MATCH);
	drop(&r);
}

static void test_case_dot_idn(void **state)
{
	const char *pats[] = {"mcr.microsoft.com", "*.bücher.example"};
	struct m r = build(pats, 2);
	assert_int_equal(match(&r, "MCR.Microsoft.COM"), 0);
	assert_int_equal(match(&r, "mcr.microsoft.com."), 0);
	assert_int_equal(match(&r, "mcr.microsoft.com.."), FQDN_BAD_NAME);
	assert_int_equal(match(&r, "shop.xn--bcher-kva.example"), 1);
	assert_int_equal(match(&r, "SHOP.XN--BCHER-KVA.EXAMPLE."), 1);
	/* the data plane takes A-labels only: raw UTF-8 is refused */
	assert_int_equal(match(&r, "shop.bücher.example"), FQDN_BAD_NAME);
	assert_int_equal(match(&r, ""), FQDN_BAD_NAME);
	assert_int_equal(match(&r, "."), FQDN_BAD_NAME);
	assert_int_equal(match(&r, ".mcr.microsoft.com"), FQDN_BAD_NAME);
	assert_int_equal(match(&r, "a b.com"), FQDN_BAD_NAME);
	assert_int_equal(match(&r, "10.0.0.1:443"), FQDN_BAD_NAME);
	char big[300];
	memset(big, 'a', 64);
	strcpy(big + 64, ".com");
	assert_int_equal(match(&r, big), FQDN_BAD_NAME);
	drop(&r);
}

/* The highest-priority (smallest) rule wins whatever kind of pattern
 * matched, and the ok() filter (source/port) is honoured. */
static bool not_rule0(void *ctx, uint32_t rule)
{
	return rule != 0;
}

static void test_priority(void **state)
{
	const char *pats[] = {"*.example.com", "www.example.com",
			      "*example.com", "*", "www.example.com"};
	struct m r = build(pats, 5);
	assert_int_equal(match(&r, "www.example.com"), 0);
	assert_int_equal(match(&r, "example.com"), 2);
	assert_int_equal(match(&r, "other.org"), 3);
	assert_int_equal(fqdn_match(r.m, r.scratch, "www.example.com", 15,
				    not_rule0, NULL),
			 1);
	assert_int_equal(fqdn_match(r.m, r.scratch, "a.example.com", 13,
				    not_rule0, NULL),
			 2);
	assert_int_equal(fqdn_matcher_pattern_count(r.m), 4);
	drop(&r);
}

/* Random names against a brute-force reference of the semantics. */
static bool ref_match(const char *pat, const char *name)
{
	size_t nl = strlen(name);
	if (strcmp(pat, "*") == 0)
		return true;
	if (strncmp(pat, "*.", 2) == 0) {
		size_t kl = strlen(pat + 1);
		return nl > kl && strcmp(name + nl - kl, pat + 1) == 0;
	}
	if (pat[0] == '*') {
		size_t kl = strlen(pat + 1);
		return nl >= kl && strcmp(name + nl - kl, pat + 1) == 0;
	}
	return strcmp(pat, name) == 0;
}

static void test_random_vs_reference(void **state)
{
	static const char *labels[] = {"a", "b", "ab", "ba", "com", "xcom"};
	char pats[40][64], names[400][64];
	const char *pp[40];
	srand(7);
	for (int i = 0; i < 40; i++) {
		int k = rand() % 4, nlab = 1 + rand() % 3;
		char *p = pats[i];
		p[0] = 0;
		if (k == 1)
			strcat(p, "*.");
		else if (k == 2)
			strcat(p, "*");
		for (int j = 0; j < nlab; j++) {
			if (j)
				strcat(p, ".");
			strcat(p, labels[rand() % 6]);
		}
		if (k == 3 && i % 9 == 0)
			strcpy(p, "*");
		pp[i] = p;
	}
	struct m r = build(pp, 40);
	for (int i = 0; i < 400; i++) {
		int nlab = 1 + rand() % 4;
		names[i][0] = 0;
		for (int j = 0; j < nlab; j++) {
			if (j)
				strcat(names[i], ".");
			strcat(names[i], labels[rand() % 6]);
		}
		uint32_t want = FQDN_NO_MATCH;
		for (uint32_t p = 0; p < 40 && want == FQDN_NO_MATCH; p++)
			if (ref_match(pats[p], names[i]))
				want = p;
		assert_int_equal(match(&r, names[i]), want);
	}
	drop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_punycode),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_case_dot_idn),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_random_vs_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
