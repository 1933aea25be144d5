/* SPDX-License-Identifier: BSD-3-Clause */
#include "rules/fqdn.h"

#include <errno.h>
#include <hs/hs.h>
#include <stdlib.h>
#include <string.h>

#include "rules/util.h"

/* ------------------------------------------------------------------ */
/* Punycode, RFC 3492 section 6.3                                      */
/* ------------------------------------------------------------------ */

enum {
	PC_BASE = 36,
	PC_TMIN = 1,
	PC_TMAX = 26,
	PC_SKEW = 38,
	PC_DAMP = 700,
	PC_INITIAL_BIAS = 72,
	PC_INITIAL_N = 128,
};

static uint32_t pc_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
	uint32_t k = 0;
	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
		delta /= PC_BASE - PC_TMIN;
		k += PC_BASE;
	}
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static char pc_digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

int fqdn_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap,
			 size_t *outlen)
{
	size_t o = 0, b = 0;
	uint32_t nn = PC_INITIAL_N, delta = 0, bias = PC_INITIAL_BIAS;

	for (size_t j = 0; j < n; j++) {
		if (cp[j] > 0x10ffff)
			return -EINVAL;
		if (cp[j] < 0x80) {
			if (o >= cap)
				return -E2BIG;
			out[o++] = (char)cp[j];
			b++;
		}
	}
	size_t h = b;
	if (b > 0) {
		if (o >= cap)
			return -E2BIG;
		out[o++] = '-';
	}
	/* Bounded: each round consumes at least one code point (h grows). */
	while (h < n) {
		uint32_t m = UINT32_MAX;
		for (size_t j = 0; j < n; j++)
			if (cp[j] >= nn && cp[j] < m)
				m = cp[j];
		if ((uint64_t)(m - nn) * (h + 1) > UINT32_MAX - delta)
			return -EINVAL;
		delta += (m - nn) * (uint32_t)(h + 1);
		nn = m;
		for (size_t j = 0; j < n; j++) {
			if (cp[j] < nn && ++delta == 0)
				return -EINVAL;
			if (cp[j] != nn)
				continue;
			uint32_t q = delta;
			for (uint32_t k = PC_BASE;; k += PC_BASE) {
				uint32_t t = k <= bias		 ? PC_TMIN
					     : k >= bias + PC_TMAX ? PC_TMAX
								   : k - bias;
				if (q < t)
					break;
				if (o >= cap)
					return -E2BIG;
				out[o++] = pc_digit(t + (q - t) % (PC_BASE - t));
				q = (q - t) / (PC_BASE - t);
			}
			if (o >= cap)
				return -E2BIG;
			out[o++] = pc_digit(q);
			bias = pc_adapt(delta, (uint32_t)(h + 1), h == b);
			delta = 0;
			h++;
		}
		delta++;
		nn++;
	}
	*outlen = o;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Normalisation                                                        */
/* ------------------------------------------------------------------ */

/* Name byte -> lower-case byte, '.' for '.', 0 for anything not allowed
 * in a host name (the data-plane matcher's only per-byte work). */
static const uint8_t name_map[256] = {
	['-'] = '-', ['_'] = '_', ['.'] = '.',
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
#define L(u, l) [u] = l, [l] = l
	L('A', 'a'), L('B', 'b'), L('C', 'c'), L('D', 'd'), L('E', 'e'),
	L('F', 'f'), L('G', 'g'), L('H', 'h'), L('I', 'i'), L('J', 'j'),
	L('K', 'k'), L('L', 'l'), L('M', 'm'), L('N', 'n'), L('O', 'o'),
	L('P', 'p'), L('Q', 'q'), L('R', 'r'), L('S', 's'), L('T', 't'),
	L('U', 'u'), L('V', 'v'), L('W', 'w'), L('X', 'x'), L('Y', 'y'),
	L('Z', 'z'),
#undef L
};

static inline bool host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static inline unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Lower-case mapping for the cased scripts common in host names: Latin-1,
 * Latin Extended-A, Greek and Cyrillic. Other scripts are mostly uncased;
 * for the rest the operator must write the U-label in lower case (there
 * is no full UTS #46 table here). */
static uint32_t lower_cp(uint32_t c)
{
	if (c < 0x80)
		return lower((unsigned char)c);
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 0x20;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 ||
		    c == 0x17f)
			return c;
		if (c == 0x178)
			return 0xff;
		bool odd_upper = (c >= 0x139 && c <= 0x148) ||
				 (c >= 0x179 && c <= 0x17e);
		return (c & 1) == (odd_upper ? 1u : 0u) ? c + 1 : c;
	}
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 0x20;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	return c;
}

/* Strict UTF-8 decoding of s[0..len) into cp[]; returns count or -1. */
static long utf8_decode(const unsigned char *s, size_t len, uint32_t *cp,
			size_t cap)
{
	size_t i = 0, n = 0;
	while (i < len) {
		uint32_t c = s[i];
		size_t k;
		uint32_t min;
		if (c < 0x80) {
			k = 0;
			min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1;
			c &= 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			c &= 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			c &= 0x07;
			min = 0x10000;
		} else {
			return -1;
		}
		if (k > 0 && i + k >= len)
			return -1;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return -1;
			c = (c << 6) | (s[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		if (n == cap)
			return -1;
		cp[n++] = c;
		i += k + 1;
	}
	return (long)n;
}

int fqdn_normalize(const char *in, size_t len, bool pattern, char *out,
		   size_t *outlen, const char **why)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	bool fragment = false; /* first label of "*x": a partial label */

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0) {
		*why = "empty name";
		return -EINVAL;
	}
	if (pattern && s[0] == '*') {
		if (len == 1) {
			out[0] = '*';
			out[1] = '\0';
			*outlen = 1;
			return 0;
		}
		out[o++] = '*';
		s++;
		len--;
		if (s[0] == '.') {
			out[o++] = '.';
			s++;
			len--;
		} else {
			fragment = true;
		}
	}
	if (memchr(s, '*', len) != NULL) {
		*why = pattern ? "'*' is only allowed at the start (\"*\", "
				 "\"*.contoso.com\" or \"*contoso.com\"); "
				 "patterns such as www.contoso.* or "
				 "*.contoso.* are not supported"
			       : "'*' is not allowed in a host name";
		return -EINVAL;
	}
	size_t i = 0;
	for (;;) {
		size_t j = i;
		bool ascii = true;
		while (j < len && s[j] != '.') {
			if (s[j] >= 0x80)
				ascii = false;
			j++;
		}
		size_t ll = j - i;
		if (ll == 0) {
			*why = "empty label (two dots in a row, or a leading "
			       "dot)";
			return -EINVAL;
		}
		if (ascii) {
			if (ll > 63) {
				*why = "label longer than 63 bytes";
				return -EINVAL;
			}
			if (o + ll > FQDN_MAX) {
				*why = "name longer than 253 bytes";
				return -EINVAL;
			}
			for (size_t k = i; k < j; k++) {
				unsigned char c = lower(s[k]);
				if (!host_char(c)) {
					*why = "invalid character: expected "
					       "letters, digits, '-', '_' and "
					       "'.'";
					return -EINVAL;
				}
				out[o++] = (char)c;
			}
		} else {
			uint32_t cp[FQDN_MAX];
			char enc[FQDN_MAX + 8];
			size_t el;
			if (fragment && i == 0) {
				*why = "a U-label right after a bare '*' cannot "
				       "be converted: write it as an A-label "
				       "(xn--...)";
				return -EINVAL;
			}
			long n = utf8_decode(s + i, ll, cp, FQDN_MAX);
			if (n < 0) {
				*why = "invalid UTF-8 in a host name";
				return -EINVAL;
			}
			for (long k = 0; k < n; k++) {
				cp[k] = lower_cp(cp[k]);
				if (cp[k] < 0x80) {
					if (!host_char((unsigned char)cp[k])) {
						*why = "invalid character: "
						       "expected letters, "
						       "digits, '-', '_' and "
						       "'.'";
						return -EINVAL;
					}
				}
			}
			if (fqdn_punycode_encode(cp, (size_t)n, enc, sizeof(enc),
						 &el) < 0 ||
			    el + 4 > 63) {
				*why = "U-label too long once converted to an "
				       "A-label (63 bytes)";
				return -EINVAL;
			}
			if (o + el + 4 > FQDN_MAX) {
				*why = "name longer than 253 bytes";
				return -EINVAL;
			}
			memcpy(out + o, "xn--", 4);
			memcpy(out + o + 4, enc, el);
			o += el + 4;
		}
		if (j == len)
			break;
		out[o++] = '.';
		i = j + 1;
		if (i == len) {
			*why = "empty label (two dots in a row, or a leading "
			       "dot)";
			return -EINVAL;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

enum fqdn_pat_kind fqdn_pattern_kind(const char *norm)
{
	if (norm[0] != '*')
		return FQDN_PAT_EXACT;
	if (norm[1] == '\0')
		return FQDN_PAT_ANY;
	if (norm[1] == '.')
		return FQDN_PAT_SUBDOMAINS;
	return FQDN_PAT_SUFFIX;
}

/* ------------------------------------------------------------------ */
/* Matcher                                                             */
/* ------------------------------------------------------------------ */

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define SENTINEL '\x01'

/* Hash of a string over its bytes from last to first, so that one
 * right-to-left pass over a name yields the hash of every suffix. */
static uint64_t rhash(const char *s, size_t n)
{
	uint64_t h = FNV_OFF;
	while (n-- > 0)
		h = (h ^ (unsigned char)s[n]) * FNV_PRIME;
	return h;
}

#define KEY_HEAD 24

/* One cache line: a hit on a key of up to KEY_HEAD bytes with a
 * one-rule list reads nothing else. */
struct fqdn_ent {
	uint64_t h;
	uint32_t key_off; /* into keys */
	uint32_t key_len; /* 0: empty slot */
	uint32_t exact_off, exact_n; /* rule list, see struct fqdn_list */
	uint32_t sub_off, sub_n;
	/* "*x" gate: x = frag "." key; bit f set when some frag is f bytes */
	uint64_t frag_lens;
	char head[KEY_HEAD]; /* first bytes of the key */
} __attribute__((aligned(64)));

/* A rule list: n rules at rules[off], except n == 1 where `off` is the
 * rule itself (saves a memory access on the common one-rule pattern). */
struct fqdn_list {
	uint32_t off, n;
};

struct fqdn_matcher {
	/* all fields immutable after build */
	struct fqdn_ent *tab;
	/* Per slot: upper 32 bits of the key hash | 1 (0 = empty). Probes
	 * read this compact array (4 bytes a slot) and touch the 40-byte
	 * entry only on a tag hit, so the misses that dominate (suffixes
	 * such as "com" with no pattern) cost one small read. */
	uint32_t *tags;
	uint32_t tab_bits;
	uint32_t max_probe;
	char *keys;
	uint32_t *rules;
	struct fqdn_list any;
	struct fqdn_list *suffix; /* by Hyperscan id */
	hs_database_t *db;	  /* NULL when no "*x" pattern */
	size_t n_patterns;
	/* Gate for the Hyperscan scan: a "*x" pattern can match only if the
	 * name has a suffix whose hash is in this Bloom filter of x hashes,
	 * starting inside the label before a label-aligned tail (frag_lens)
	 * or inside the last label (nodot_lens, for x without a dot). Most
	 * names fail the gate and skip the scan. */
	uint64_t *bloom;
	uint32_t bloom_bits;
	uint64_t nodot_lens;
};

static inline uint32_t slot_of(uint64_t h, uint32_t bits)
{
	return (uint32_t)((h * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

struct pair {
	const char *pat;
	uint32_t rule;
};

static int paircmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->pat, y->pat);
	if (c != 0)
		return c;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static inline void bloom_add(struct fqdn_matcher *m, uint64_t h)
{
	uint32_t mask = m->bloom_bits - 1;
	uint32_t a = (uint32_t)h & mask, b = (uint32_t)(h >> 32) & mask;
	m->bloom[a >> 6] |= 1ull << (a & 63);
	m->bloom[b >> 6] |= 1ull << (b & 63);
}

static inline bool bloom_has(const struct fqdn_matcher *m, uint64_t h)
{
	uint32_t mask = m->bloom_bits - 1;
	uint32_t a = (uint32_t)h & mask, b = (uint32_t)(h >> 32) & mask;
	return ((m->bloom[a >> 6] >> (a & 63)) & (m->bloom[b >> 6] >> (b & 63)) &
		1) != 0;
}

/* Find or insert the entry for `key` (build time). */
static struct fqdn_ent *ent_get(struct fqdn_matcher *m, const char *key,
				size_t kl, size_t *kb)
{
	uint64_t h = rhash(key, kl);
	uint32_t mask = (1u << m->tab_bits) - 1, s = slot_of(h, m->tab_bits);
	uint32_t probe;
	struct fqdn_ent *e;
	for (probe = 0;; probe++, s = (s + 1) & mask) {
		e = &m->tab[s];
		if (e->key_len == 0)
			break;
		if (e->h == h && e->key_len == kl &&
		    memcmp(m->keys + e->key_off, key, kl) == 0)
			break;
	}
	if (probe > m->max_probe)
		m->max_probe = probe;
	if (e->key_len == 0) {
		memcpy(m->keys + *kb, key, kl);
		m->tags[s] = (uint32_t)(h >> 32) | 1;
		memcpy(e->head, key, kl < KEY_HEAD ? kl : KEY_HEAD);
		e->h = h;
		e->key_off = (uint32_t)*kb;
		e->key_len = (uint32_t)kl;
		*kb += kl;
	}
	return e;
}

void fqdn_matcher_free(struct fqdn_matcher *m)
{
	if (m == NULL)
		return;
	free(m->tab);
	free(m->tags);
	free(m->keys);
	free(m->rules);
	free(m->suffix);
	free(m->bloom);
	if (m->db != NULL)
		hs_free_database(m->db);
	free(m);
}

size_t fqdn_matcher_pattern_count(const struct fqdn_matcher *m)
{
	return m->n_patterns;
}

int fqdn_matcher_build(const struct fqdn_pattern_in *pats, size_t n,
		       struct fqdn_matcher **out, struct policy_errors *errs)
{
	struct fqdn_matcher *m = calloc(1, sizeof(*m));
	struct pair *p = calloc(n + 1, sizeof(*p));
	size_t keybytes = 0;
	char **lits = NULL;
	size_t *litlen = NULL;
	unsigned *ids = NULL, *flags = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if (m == NULL || p == NULL)
		goto done;
	for (size_t i = 0; i < n; i++) {
		p[i].pat = pats[i].pat;
		p[i].rule = pats[i].rule;
		keybytes += strlen(pats[i].pat) + 1;
	}
	qsort(p, n, sizeof(*p), paircmp);

	/* Unique patterns and their rule lists (rules ascending, deduped). */
	m->rules = malloc((n + 1) * sizeof(uint32_t));
	m->keys = malloc(keybytes + 1);
	size_t n_uniq = 0, n_suffix = 0, nr = 0, kb = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(p[i].pat, p[i - 1].pat) != 0)
			n_uniq++;
	uint32_t bits = 4;
	while ((1u << bits) < 2 * n_uniq + 2)
		bits++;
	m->tab_bits = bits;
	m->tab = aligned_alloc(64, ((size_t)1 << bits) * sizeof(*m->tab));
	if (m->tab != NULL)
		memset(m->tab, 0, ((size_t)1 << bits) * sizeof(*m->tab));
	m->tags = calloc((size_t)1 << bits, sizeof(*m->tags));
	m->suffix = calloc(n_uniq + 1, sizeof(*m->suffix));
	lits = calloc(n_uniq + 1, sizeof(*lits));
	litlen = calloc(n_uniq + 1, sizeof(*litlen));
	ids = calloc(n_uniq + 1, sizeof(*ids));
	flags = calloc(n_uniq + 1, sizeof(*flags));
	m->bloom_bits = 512;
	while (m->bloom_bits < 16 * n_uniq && m->bloom_bits < (1u << 26))
		m->bloom_bits *= 2;
	m->bloom = calloc(m->bloom_bits / 64, sizeof(uint64_t));
	if (m->bloom == NULL || m->rules == NULL || m->keys == NULL ||
	    m->tab == NULL || m->tags == NULL ||
	    m->suffix == NULL || lits == NULL || litlen == NULL ||
	    ids == NULL || flags == NULL)
		goto done;

	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint32_t off = (uint32_t)nr;
		for (; j < n && strcmp(p[j].pat, p[i].pat) == 0; j++)
			if (nr == off || m->rules[nr - 1] != p[j].rule)
				m->rules[nr++] = p[j].rule;
		struct fqdn_list l = {off, (uint32_t)nr - off};
		if (l.n == 1)
			l.off = m->rules[off];
		const char *pat = p[i].pat;
		enum fqdn_pat_kind kind = fqdn_pattern_kind(pat);
		i = j;
		if (kind == FQDN_PAT_ANY) {
			m->any = l;
			continue;
		}
		if (kind == FQDN_PAT_SUFFIX) {
			const char *x = pat + 1;
			size_t xl = strlen(x);
			const char *dot = strchr(x, '.');
			size_t fl = dot ? (size_t)(dot - x) : xl;
			if (dot != NULL)
				ent_get(m, dot + 1, xl - fl - 1, &kb)->frag_lens |=
					1ull << fl;
			else
				m->nodot_lens |= 1ull << fl;
			bloom_add(m, rhash(x, xl));
			char *lit = malloc(xl + 1);
			if (lit == NULL)
				goto done;
			lit[0] = SENTINEL;
			for (size_t k = 0; k < xl; k++)
				lit[1 + k] = x[xl - 1 - k];
			lits[n_suffix] = lit;
			litlen[n_suffix] = xl + 1;
			ids[n_suffix] = (unsigned)n_suffix;
			flags[n_suffix] = HS_FLAG_SINGLEMATCH;
			m->suffix[n_suffix++] = l;
			continue;
		}
		const char *key = kind == FQDN_PAT_EXACT ? pat : pat + 2;
		struct fqdn_ent *e = ent_get(m, key, strlen(key), &kb);
		if (kind == FQDN_PAT_EXACT) {
			e->exact_off = l.off;
			e->exact_n = l.n;
		} else {
			e->sub_off = l.off;
			e->sub_n = l.n;
		}
	}
	m->n_patterns = n_uniq;

	if (n_suffix > 0) {
		hs_compile_error_t *ce = NULL;
		if (hs_compile_lit_multi((const char *const *)lits, flags, ids,
					 litlen, (unsigned)n_suffix,
					 HS_MODE_BLOCK, NULL, &m->db,
					 &ce) != HS_SUCCESS) {
			rules_err(errs, "fqdn", 0, 0,
				  "Hyperscan compile failed: %s",
				  ce ? ce->message : "unknown error");
			hs_free_compile_error(ce);
			rc = -EINVAL;
			goto done;
		}
	}
	rc = 0;
	*out = m;
	m = NULL;
done:
	if (rc == -ENOMEM)
		rules_err(errs, "fqdn", 0, 0, "out of memory");
	if (lits != NULL)
		for (size_t i = 0; i < n_uniq; i++)
			free(lits[i]);
	free(lits);
	free(litlen);
	free(ids);
	free(flags);
	free(p);
	fqdn_matcher_free(m);
	return rc;
}

int fqdn_scratch_fit(const struct fqdn_matcher *m, void **s)
{
	if (m->db == NULL)
		return 0;
	hs_scratch_t *sc = *s;
	if (hs_alloc_scratch(m->db, &sc) != HS_SUCCESS)
		return -ENOMEM;
	*s = sc;
	return 0;
}

void fqdn_scratch_free(void *s)
{
	if (s != NULL)
		hs_free_scratch(s);
}

struct match_ctx {
	const struct fqdn_matcher *m;
	fqdn_rule_ok_fn ok;
	void *ctx;
	uint32_t best;
};

/* Rule lists are ascending: stop at the first acceptable rule, or at the
 * first one that cannot beat the best so far. Bounded by the list. */
static inline void consider(struct match_ctx *c, struct fqdn_list l)
{
	const uint32_t *r = l.n == 1 ? &l.off : c->m->rules + l.off;
	for (uint32_t i = 0; i < l.n && r[i] < c->best; i++) {
		if (c->ok == NULL || c->ok(c->ctx, r[i])) {
			c->best = r[i];
			return;
		}
	}
}

static int on_hs_match(unsigned int id, unsigned long long from,
		       unsigned long long to, unsigned int flags, void *ctx)
{
	struct match_ctx *c = ctx;
	consider(c, c->m->suffix[id]);
	return 0;
}

static const struct fqdn_ent *lookup(const struct fqdn_matcher *m,
				     const char *lc, size_t off, size_t len,
				     uint64_t h)
{
	uint32_t bits = m->tab_bits, mask = (1u << bits) - 1;
	uint32_t s = slot_of(h, bits);
	size_t kl = len - off;
	/* Bounded by the longest probe sequence seen at build time. */
	uint32_t tag = (uint32_t)(h >> 32) | 1;
	for (uint32_t p = 0; p <= m->max_probe; p++, s = (s + 1) & mask) {
		uint32_t t = m->tags[s];
		if (t == 0)
			return NULL;
		if (t != tag)
			continue;
		const struct fqdn_ent *e = &m->tab[s];
		if (e->h == h && e->key_len == kl &&
		    memcmp(e->head, lc + off, kl < KEY_HEAD ? kl : KEY_HEAD) ==
			    0 &&
		    (kl <= KEY_HEAD ||
		     memcmp(m->keys + e->key_off + KEY_HEAD, lc + off + KEY_HEAD,
			    kl - KEY_HEAD) == 0))
			return e;
	}
	return NULL;
}

/* Could some "*x" pattern whose frag starts inside the label
 * [lab, end) match? frag lengths in `lens`; the candidate x starts at
 * end - f. At most 63 Bloom probes. */
static inline bool gate_label(const struct fqdn_matcher *m,
			      const uint64_t *hpos, uint64_t lens, size_t lab,
			      size_t end)
{
	size_t ll = end - lab;
	if (ll < 63)
		lens &= (2ull << ll) - 1;
	uint32_t mask = m->bloom_bits - 1;
	for (uint64_t l = lens; l != 0; l &= l - 1) { /* overlap the misses */
		uint64_t h = hpos[end - (unsigned)__builtin_ctzll(l)];
		__builtin_prefetch(&m->bloom[((uint32_t)h & mask) >> 6]);
		__builtin_prefetch(&m->bloom[((uint32_t)(h >> 32) & mask) >> 6]);
	}
	while (lens != 0) {
		unsigned f = (unsigned)__builtin_ctzll(lens);
		if (bloom_has(m, hpos[end - f]))
			return true;
		lens &= lens - 1;
	}
	return false;
}

uint32_t fqdn_match(const struct fqdn_matcher *m, void *scratch,
		    const char *name, size_t len, fqdn_rule_ok_fn ok, void *ctx)
{
	char lc[FQDN_MAX + 1];
	char rv[FQDN_MAX + 2];
	uint64_t hpos[FQDN_MAX + 1]; /* hash of lc[i..len) */
	/* (start offset, hash) of each label-aligned proper suffix */
	uint32_t sfx_off[FQDN_MAX / 2 + 1];
	uint64_t sfx_h[FQDN_MAX / 2 + 1];
	size_t n_sfx = 0, lablen = 0;
	uint64_t h = FNV_OFF;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > FQDN_MAX)
		return FQDN_BAD_NAME;
	for (size_t i = len; i-- > 0;) {
		unsigned char c = name_map[(unsigned char)name[i]];
		if (c == '.') {
			if (lablen == 0)
				return FQDN_BAD_NAME;
			sfx_off[n_sfx] = (uint32_t)(i + 1);
			sfx_h[n_sfx++] = h;
			lablen = 0;
		} else if (c == 0 || ++lablen > 63) {
			return FQDN_BAD_NAME;
		}
		lc[i] = (char)c;
		h = (h ^ c) * FNV_PRIME;
		hpos[i] = h;
	}
	if (lablen == 0)
		return FQDN_BAD_NAME;

	/* The probes are independent: start all their tag reads at once so
	 * the cache misses overlap instead of queueing. */
	__builtin_prefetch(&m->tags[slot_of(h, m->tab_bits)]);
	for (size_t k = 0; k < n_sfx; k++)
		__builtin_prefetch(&m->tags[slot_of(sfx_h[k], m->tab_bits)]);

	struct match_ctx c = {.m = m, .ok = ok, .ctx = ctx, .best = FQDN_NO_MATCH};
	const struct fqdn_ent *e = lookup(m, lc, 0, len, h);
	if (e != NULL && e->exact_n > 0)
		consider(&c, (struct fqdn_list){e->exact_off, e->exact_n});
	/* sfx_off[] runs right to left: sfx_off[k + 1] < sfx_off[k]. */
	bool gate = false;
	if (m->db != NULL) {
		/* x without a dot: starts inside the last label */
		size_t last = n_sfx > 0 ? sfx_off[0] : 0;
		gate = gate_label(m, hpos, m->nodot_lens, last, len);
	}
	for (size_t k = 0; k < n_sfx; k++) {
		e = lookup(m, lc, sfx_off[k], len, sfx_h[k]);
		if (e == NULL)
			continue;
		if (e->sub_n > 0)
			consider(&c, (struct fqdn_list){e->sub_off, e->sub_n});
		if (e->frag_lens != 0 && !gate) {
			size_t lab = k + 1 < n_sfx ? sfx_off[k + 1] : 0;
			gate = gate_label(m, hpos, e->frag_lens, lab,
					  sfx_off[k] - 1);
		}
	}
	if (m->any.n > 0)
		consider(&c, m->any);
	if (gate && scratch != NULL) {
		/* reversed name behind the sentinel: "*x" literals are anchored
		 * at the name's end */
		rv[0] = SENTINEL;
		for (size_t i = 0; i < len; i++)
			rv[1 + i] = lc[len - 1 - i];
		hs_scan(m->db, rv, (unsigned)(len + 1), 0, scratch, on_hs_match,
			&c);
	}
	return c.best;
}
