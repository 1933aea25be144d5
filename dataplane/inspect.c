/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inspection contexts and name slots of one worker (see inspect.h). The
 * worker's glue (what to hold, when to decide, the RSTs) is in worker.c,
 * next to the session path it belongs to.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dataplane/inspect.h"

struct name_slot {
	uint32_t hash;
	uint32_t refs;          /* sessions that hold it; 0: free */
	uint16_t len;
	char name[INSPECT_NAME_MAX + 1];
};

struct inspect_pool {
	struct inspect_flow *flows;
	uint8_t *bufs;
	unsigned n_flows;
	unsigned in_use;
	uint32_t free_head;
	uint32_t flow_bytes;
	unsigned held_max;
	unsigned held_total;
	uint32_t scan;          /* inspect_expired()'s cursor */
	struct name_slot *names;
	uint32_t names_mask;
};

struct inspect_pool *
inspect_pool_create(const char *name, unsigned flows, unsigned flow_bytes, unsigned held_max,
		    unsigned names, int socket)
{
	struct inspect_pool *p;
	uint32_t n_names = rte_align32pow2(RTE_MAX(names, (unsigned)INSPECT_NAME_PROBE));

	if (flows == 0 || flow_bytes == 0 || flows >= INSPECT_NONE) {
		rte_errno = EINVAL;
		return NULL;
	}
	p = rte_zmalloc_socket(name, sizeof(*p), RTE_CACHE_LINE_SIZE, socket);
	if (p == NULL)
		return NULL;
	p->flows = rte_zmalloc_socket(name, sizeof(*p->flows) * flows, RTE_CACHE_LINE_SIZE, socket);
	p->bufs = rte_malloc_socket(name, (size_t)flow_bytes * flows, RTE_CACHE_LINE_SIZE, socket);
	p->names = rte_zmalloc_socket(name, sizeof(*p->names) * n_names, RTE_CACHE_LINE_SIZE,
				      socket);
	if (p->flows == NULL || p->bufs == NULL || p->names == NULL) {
		inspect_pool_free(p);
		rte_errno = ENOMEM;
		return NULL;
	}
	p->n_flows = flows;
	p->flow_bytes = flow_bytes;
	p->held_max = held_max;
	p->names_mask = n_names - 1;
	for (unsigned i = 0; i < flows; i++) {
		p->flows[i].session = INSPECT_NONE;
		p->flows[i].buf = p->bufs + (size_t)i * flow_bytes;
		p->flows[i].next_free = i + 1 < flows ? i + 1 : INSPECT_NONE;
	}
	p->free_head = 0;
	return p;
}

void
inspect_pool_free(struct inspect_pool *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; p->flows != NULL && i < p->n_flows; i++)
		if (p->flows[i].session != INSPECT_NONE)
			inspect_close(p, i);
	rte_free(p->flows);
	rte_free(p->bufs);
	rte_free(p->names);
	rte_free(p);
}

size_t
inspect_flow_memory(const struct inspect_pool *p)
{
	return sizeof(struct inspect_flow) + p->flow_bytes;
}

bool
inspect_available(const struct inspect_pool *p)
{
	return p->free_head != INSPECT_NONE;
}

unsigned
inspect_in_use(const struct inspect_pool *p)
{
	return p->in_use;
}

unsigned
inspect_held_total(const struct inspect_pool *p)
{
	return p->held_total;
}

uint32_t
inspect_bound(const struct inspect_pool *p)
{
	return p->flow_bytes;
}

struct inspect_flow *
inspect_flow(struct inspect_pool *p, uint32_t idx)
{
	return &p->flows[idx];
}

const uint8_t *
inspect_buf(const struct inspect_pool *p, uint32_t idx)
{
	return p->flows[idx].buf;
}

uint32_t
inspect_open(struct inspect_pool *p, uint32_t session, uint32_t isn, uint32_t deadline_s)
{
	uint32_t idx = p->free_head;
	struct inspect_flow *f;

	if (idx == INSPECT_NONE)
		return INSPECT_NONE;
	f = &p->flows[idx];
	p->free_head = f->next_free;
	p->in_use++;
	/* The arrays are not cleared: n_held says which entries mean
	 * anything, and the buffer is read only up to `contig`. */
	f->session = session;
	f->deadline_s = deadline_s;
	f->isn = isn;
	f->srv_nxt = 0;
	f->contig = 0;
	f->syn_len = 0;
	f->n_held = 0;
	f->srv_seen = false;
	f->syn_fwd = false;
	f->next_free = INSPECT_NONE;
	return idx;
}

unsigned
inspect_close(struct inspect_pool *p, uint32_t idx)
{
	struct inspect_flow *f = &p->flows[idx];
	unsigned n = f->n_held;

	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(f->held[i]);
	p->held_total -= n;
	f->n_held = 0;
	f->session = INSPECT_NONE;
	f->next_free = p->free_head;
	p->free_head = idx;
	p->in_use--;
	return n;
}

/* Is [lo, hi) covered by the held segments (sorted by offset)? At most
 * INSPECT_FLOW_SEGS steps. */
static bool
covered(const struct inspect_flow *f, uint32_t lo, uint32_t hi)
{
	uint32_t cur = lo;

	for (unsigned i = 0; i < f->n_held && f->off[i] <= cur; i++)
		cur = RTE_MAX(cur, f->off[i] + f->len[i]);
	return cur >= hi;
}

/* The prefix from offset 0 that the SYN's data and the held segments
 * cover, capped at the bound (no byte past it is ever copied). */
static uint32_t
prefix(const struct inspect_flow *f, uint32_t bound)
{
	uint32_t cur = f->syn_len;

	for (unsigned i = 0; i < f->n_held && f->off[i] <= cur; i++)
		cur = RTE_MAX(cur, f->off[i] + f->len[i]);
	return RTE_MIN(cur, bound);
}

enum inspect_hold
inspect_take(struct inspect_pool *p, uint32_t idx, struct rte_mbuf *m, uint32_t seq,
	     const uint8_t *data, uint32_t len)
{
	struct inspect_flow *f = &p->flows[idx];
	/* Serial arithmetic (RFC 1982): negative means before ISN + 1. */
	int32_t off = (int32_t)(seq - (f->isn + 1));
	uint32_t start, copy;
	unsigned at;

	if (off < 0) {
		/* Starts before the first payload byte (a keep-alive probe
		 * carries one old byte): only the new part counts. */
		if ((uint32_t)-off >= len)
			return INSPECT_HELD_DUP;
		data += -off;
		len -= (uint32_t)-off;
		off = 0;
	}
	start = (uint32_t)off;
	if (start >= p->flow_bytes)
		return INSPECT_HELD_BEYOND;
	copy = RTE_MIN(len, p->flow_bytes - start);
	if (m == NULL) {
		memcpy(f->buf + start, data, copy);
		f->syn_len = RTE_MAX(f->syn_len, start + copy);
		f->contig = prefix(f, p->flow_bytes);
		return INSPECT_HELD_OK;
	}
	if (covered(f, start, start + len))
		return INSPECT_HELD_DUP;
	if (f->n_held == INSPECT_FLOW_SEGS)
		return INSPECT_HELD_FLOW_FULL;
	if (p->held_total >= p->held_max)
		return INSPECT_HELD_POOL_FULL;
	memcpy(f->buf + start, data, copy);
	/* Insertion in offset order; n_held < INSPECT_FLOW_SEGS steps. */
	at = f->n_held;
	while (at > 0 && f->off[at - 1] > start) {
		f->off[at] = f->off[at - 1];
		f->len[at] = f->len[at - 1];
		f->held[at] = f->held[at - 1];
		at--;
	}
	f->off[at] = start;
	f->len[at] = (uint16_t)RTE_MIN(len, (uint32_t)UINT16_MAX);
	f->held[at] = m;
	f->n_held++;
	p->held_total++;
	f->contig = prefix(f, p->flow_bytes);
	return INSPECT_HELD_OK;
}

unsigned
inspect_release(struct inspect_pool *p, uint32_t idx, struct rte_mbuf **out, unsigned max)
{
	struct inspect_flow *f = &p->flows[idx];
	unsigned n = RTE_MIN((unsigned)f->n_held, max);

	for (unsigned i = 0; i < n; i++)
		out[i] = f->held[i];
	/* What did not fit stays held, in order, for inspect_close(). */
	memmove(f->held, f->held + n, sizeof(f->held[0]) * (f->n_held - n));
	memmove(f->off, f->off + n, sizeof(f->off[0]) * (f->n_held - n));
	memmove(f->len, f->len + n, sizeof(f->len[0]) * (f->n_held - n));
	f->n_held = (uint16_t)(f->n_held - n);
	p->held_total -= n;
	return n;
}

unsigned
inspect_expired(struct inspect_pool *p, uint32_t now_s, unsigned budget, uint32_t *out)
{
	unsigned n = 0;

	budget = RTE_MIN(budget, p->n_flows);
	for (unsigned i = 0; i < budget; i++) {
		const struct inspect_flow *f = &p->flows[p->scan];

		if (f->session != INSPECT_NONE && (int32_t)(now_s - f->deadline_s) >= 0)
			out[n++] = p->scan;
		p->scan = p->scan + 1 < p->n_flows ? p->scan + 1 : 0;
	}
	return n;
}

uint32_t
inspect_name_get(struct inspect_pool *p, const char *name, size_t len)
{
	uint32_t h, free_slot = INSPECT_NONE;

	if (len > INSPECT_NAME_MAX)
		return INSPECT_NONE;
	h = rte_hash_crc(name, (uint32_t)len, 0x1a5e7ea7);
	for (uint32_t i = 0; i < INSPECT_NAME_PROBE; i++) {
		uint32_t k = (h + i) & p->names_mask;
		struct name_slot *s = &p->names[k];

		if (s->refs == 0) {
			if (free_slot == INSPECT_NONE)
				free_slot = k;
			continue;
		}
		if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0) {
			s->refs++;
			return k;
		}
	}
	/* Every slot of the probe is looked at before a free one is taken:
	 * freed slots leave no tombstones, so a name may sit past a hole. */
	if (free_slot != INSPECT_NONE) {
		struct name_slot *s = &p->names[free_slot];

		s->hash = h;
		s->refs = 1;
		s->len = (uint16_t)len;
		memcpy(s->name, name, len);
		s->name[len] = '\0';
	}
	return free_slot;
}

void
inspect_name_put(struct inspect_pool *p, uint32_t slot)
{
	if (slot <= p->names_mask && p->names[slot].refs > 0)
		p->names[slot].refs--;
}

const char *
inspect_name(const struct inspect_pool *p, uint32_t slot, size_t *len)
{
	if (slot > p->names_mask || p->names[slot].refs == 0) {
		*len = 0;
		return NULL;
	}
	*len = p->names[slot].len;
	return p->names[slot].name;
}
