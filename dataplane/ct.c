/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include "dataplane/ct.h"

#define WHEEL_SLOTS 4096 /* seconds; longer timeouts are re-filed lazily */
#define NONE UINT32_MAX
/* The key's direction rides in the hash's data pointer's low bit. */
#define DATA(idx, dir) ((void *)(uintptr_t)(((uintptr_t)(idx) << 1) | (dir)))

struct ct_table {
	struct rte_hash *hash;
	struct ct_timeouts to;
	uint32_t timeout[CT_STATE_MAX];
	unsigned size;
	unsigned used;
	uint32_t free_head;
	uint32_t wheel_pos;         /* next second to process */
	bool wheel_started;
	uint32_t wheel[WHEEL_SLOTS];
	struct ct_session *s;       /* `size` records */
};

static const char *const state_names[CT_STATE_MAX] = {
#define X(e, s) [CT_##e] = s,
	CT_STATES(X)
#undef X
};

const char *
ct_state_name(enum ct_state s)
{
	return s < CT_STATE_MAX ? state_names[s] : "?";
}

struct ct_table *
ct_create(const char *name, unsigned max_sessions, const struct ct_timeouts *to, int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = 2 * max_sessions,
		.key_len = sizeof(struct ct_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		/* One worker reads and writes its own table: no concurrency
		 * flags, no locks. */
		.extra_flag = 0,
	};
	struct ct_table *t;

	t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->s = rte_zmalloc_socket(name, sizeof(struct ct_session) * max_sessions,
				  RTE_CACHE_LINE_SIZE, socket);
	t->hash = rte_hash_create(&hp);
	if (t->s == NULL || t->hash == NULL) {
		ct_free(t);
		return NULL;
	}
	t->to = *to;
	/* Timeouts by state, as a table (RFC 5382: established >= 2 h 4 min,
	 * transitory >= 4 min; RFC 4787 UDP >= 2 min; RFC 5508 ICMP >= 60 s). */
	for (unsigned i = 0; i < CT_STATE_MAX; i++)
		t->timeout[i] = to->other;
	t->timeout[CT_TCP_ESTABLISHED] = to->tcp_established;
	t->timeout[CT_TCP_SYN_SENT] = t->timeout[CT_TCP_SYN_SENT2] = to->tcp_transitory;
	t->timeout[CT_TCP_SYN_RECV] = t->timeout[CT_TCP_FIN_WAIT] = to->tcp_transitory;
	t->timeout[CT_TCP_CLOSE_WAIT] = t->timeout[CT_TCP_TIME_WAIT] = to->tcp_transitory;
	t->timeout[CT_TCP_CLOSE] = to->tcp_transitory;
	t->timeout[CT_UDP] = to->udp;
	t->timeout[CT_ICMP] = to->icmp;
	t->timeout[CT_HOLD] = to->hold_down;
	t->size = max_sessions;
	for (unsigned i = 0; i < max_sessions; i++)
		t->s[i].next = i + 1 < max_sessions ? i + 1 : NONE;
	t->free_head = 0;
	for (unsigned i = 0; i < WHEEL_SLOTS; i++)
		t->wheel[i] = NONE;
	return t;
}

void
ct_free(struct ct_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->hash);
	rte_free(t->s);
	rte_free(t);
}

unsigned
ct_capacity(const struct ct_table *t)
{
	return t->size;
}

unsigned
ct_in_use(const struct ct_table *t)
{
	return t->used;
}

size_t
ct_memory(const struct ct_table *t)
{
	/* Records, plus rte_hash's key store (key + data pointer per entry)
	 * and its buckets (8 entries of signature + index per 64 bytes). */
	size_t keys = 2 * (size_t)t->size;

	return sizeof(*t) + sizeof(struct ct_session) * t->size +
	       keys * (sizeof(struct ct_key) + sizeof(void *)) + rte_align64pow2(keys) / 8 * 64;
}

uint32_t
ct_timeout(const struct ct_table *t, uint8_t state)
{
	return state < CT_STATE_MAX ? t->timeout[state] : t->to.other;
}

static inline struct ct_session *
from_data(struct ct_table *t, void *data, uint8_t *dir)
{
	uintptr_t v = (uintptr_t)data;

	*dir = (uint8_t)(v & 1);
	return &t->s[v >> 1];
}

void
ct_lookup_bulk(struct ct_table *t, const struct ct_key **keys, unsigned n,
	       struct ct_session **out, uint8_t *dir)
{
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t hits = 0;

	if (n == 0)
		return;
	rte_hash_lookup_bulk_data(t->hash, (const void **)keys, n, &hits, data);
	for (unsigned i = 0; i < n; i++)
		out[i] = (hits >> i) & 1 ? from_data(t, data[i], &dir[i]) : NULL;
}

struct ct_session *
ct_lookup(struct ct_table *t, const struct ct_key *k, enum ct_dir *dir)
{
	void *data;
	uint8_t d;
	struct ct_session *s;

	if (rte_hash_lookup_data(t->hash, k, &data) < 0)
		return NULL;
	s = from_data(t, data, &d);
	*dir = (enum ct_dir)d;
	return s;
}

bool
ct_key_in_use(struct ct_table *t, const struct ct_key *k)
{
	return rte_hash_lookup(t->hash, k) >= 0;
}

/* File a session in the slot of its expiry, or, when that is a wheel turn
 * or more away, in the last slot of this turn (it is re-filed from there):
 * a session is never filed in the slot being processed. */
static inline void
wheel_insert(struct ct_table *t, struct ct_session *s)
{
	uint32_t when = s->expire_s;
	uint32_t slot;

	if ((int32_t)(when - t->wheel_pos) >= WHEEL_SLOTS)
		when = t->wheel_pos + WHEEL_SLOTS - 1;
	slot = when % WHEEL_SLOTS;

	s->next = t->wheel[slot];
	t->wheel[slot] = (uint32_t)(s - t->s);
}

struct ct_session *
ct_create_session(struct ct_table *t, const struct ct_key *fwd, const struct ct_key *rev,
		  uint8_t state, uint32_t now_s)
{
	uint32_t idx = t->free_head;
	struct ct_session *s;

	if (idx == NONE)
		return NULL;
	s = &t->s[idx];
	if (rte_hash_add_key_data(t->hash, fwd, DATA(idx, CT_DIR_FWD)) < 0)
		return NULL;
	if (rte_hash_add_key_data(t->hash, rev, DATA(idx, CT_DIR_REV)) < 0) {
		rte_hash_del_key(t->hash, fwd);
		return NULL;
	}
	t->free_head = s->next;
	t->used++;
	memset(s, 0, sizeof(*s));
	s->fwd = *fwd;
	s->rev = *rev;
	s->state = state;
	s->expire_s = now_s + ct_timeout(t, state);
	if (!t->wheel_started) {
		t->wheel_pos = now_s;
		t->wheel_started = true;
	}
	wheel_insert(t, s);
	return s;
}

static void
session_free(struct ct_table *t, struct ct_session *s)
{
	uint32_t idx = (uint32_t)(s - t->s);

	if (s->state != CT_HOLD)
		rte_hash_del_key(t->hash, &s->fwd);
	rte_hash_del_key(t->hash, &s->rev);
	s->state = CT_FREE;
	s->next = t->free_head;
	t->free_head = idx;
	t->used--;
}

/*
 * Bounded by `budget` sessions looked at, whatever the state of the wheel:
 * a worker that falls behind (a burst of expiries) catches up over the
 * following polls instead of stalling one. Slots are one second; the wheel
 * never runs ahead of `now_s`.
 */
unsigned
ct_expire(struct ct_table *t, uint32_t now_s, unsigned budget, ct_release_fn release,
	  void *ctx)
{
	unsigned freed = 0;

	if (!t->wheel_started)
		return 0;
	while (budget > 0 && (int32_t)(now_s - t->wheel_pos) >= 0) {
		uint32_t *head = &t->wheel[t->wheel_pos % WHEEL_SLOTS];

		if (*head == NONE) {
			if (t->wheel_pos == now_s)
				break;
			t->wheel_pos++;
			continue;
		}
		while (*head != NONE && budget > 0) {
			struct ct_session *s = &t->s[*head];

			budget--;
			*head = s->next;
			if ((int32_t)(s->expire_s - now_s) > 0) {
				/* Refreshed since it was filed, or filed a
				 * wheel turn early: file it again. Its new slot
				 * is after the current one, so this loop
				 * meets each session once. */
				wheel_insert(t, s);
				continue;
			}
			if ((s->flags & CT_F_SNAT) && s->state != CT_HOLD && t->to.hold_down > 0) {
				/* RFC 6888 REQ-8: the tuple is not handed
				 * out again before the hold-down. The forward
				 * key goes now, so the inside host may open a
				 * new session (it will get a new port). */
				rte_hash_del_key(t->hash, &s->fwd);
				s->state = CT_HOLD;
				s->expire_s = now_s + t->to.hold_down;
				wheel_insert(t, s);
				continue;
			}
			if (release != NULL && (s->flags & (CT_F_SNAT | CT_F_ISNAT)))
				release(ctx, s);
			session_free(t, s);
			freed++;
		}
	}
	return freed;
}

struct ct_session *
ct_session_at(struct ct_table *t, unsigned i)
{
	return i < t->size ? &t->s[i] : NULL;
}

enum ct_tcp_event
ct_tcp_event(uint8_t f)
{
	if (f & RTE_TCP_RST_FLAG)
		return CT_TCP_EV_RST;
	if (f & RTE_TCP_SYN_FLAG) {
		if (f & RTE_TCP_FIN_FLAG)
			return CT_TCP_EV_NONE; /* SYN+FIN: never valid */
		return (f & RTE_TCP_ACK_FLAG) ? CT_TCP_EV_SYNACK : CT_TCP_EV_SYN;
	}
	if (f & RTE_TCP_FIN_FLAG)
		return CT_TCP_EV_FIN;
	if (f & RTE_TCP_ACK_FLAG)
		return CT_TCP_EV_ACK;
	return CT_TCP_EV_NONE;
}

/*
 * The TCP state machine as data. Rows: state; columns: the event in the
 * forward direction (the side that sent the first SYN), then in reverse.
 * 0 (CT_FREE) marks a packet that does not fit: it is dropped as invalid
 * and the session is left as it was. Simultaneous open (RFC 793 3.4, RFC
 * 5382 REQ-2) goes SYN_SENT -> SYN_SENT2 on the peer's bare SYN. A RST
 * moves any state to CLOSE, which keeps the session (and the mapping) for
 * the transitory timeout (RFC 7857 2.2). A new SYN after the close reopens
 * the tuple.
 */
#define S(x) CT_TCP_##x
static const uint8_t tcp_table[CT_STATE_MAX][2][CT_TCP_EV_MAX] = {
	/*                     SYN            SYNACK        FIN              ACK              RST       NONE */
	[S(SYN_SENT)] = {
		/* fwd */ { S(SYN_SENT), 0, 0, 0, S(CLOSE), 0 },
		/* rev */ { S(SYN_SENT2), S(SYN_RECV), 0, 0, S(CLOSE), 0 },
	},
	[S(SYN_SENT2)] = {
		{ S(SYN_SENT2), S(SYN_RECV), 0, S(ESTABLISHED), S(CLOSE), 0 },
		{ S(SYN_SENT2), S(SYN_RECV), 0, S(ESTABLISHED), S(CLOSE), 0 },
	},
	[S(SYN_RECV)] = {
		{ S(SYN_RECV), S(SYN_RECV), S(FIN_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
		{ 0, S(SYN_RECV), S(CLOSE_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
	},
	[S(ESTABLISHED)] = {
		{ 0, 0, S(FIN_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
		{ 0, S(ESTABLISHED), S(CLOSE_WAIT), S(ESTABLISHED), S(CLOSE), 0 },
	},
	[S(FIN_WAIT)] = {
		{ 0, 0, S(FIN_WAIT), S(FIN_WAIT), S(CLOSE), 0 },
		{ 0, 0, S(TIME_WAIT), S(FIN_WAIT), S(CLOSE), 0 },
	},
	[S(CLOSE_WAIT)] = {
		{ 0, 0, S(TIME_WAIT), S(CLOSE_WAIT), S(CLOSE), 0 },
		{ 0, 0, S(CLOSE_WAIT), S(CLOSE_WAIT), S(CLOSE), 0 },
	},
	[S(TIME_WAIT)] = {
		{ S(SYN_SENT), 0, S(TIME_WAIT), S(TIME_WAIT), S(CLOSE), 0 },
		{ 0, 0, S(TIME_WAIT), S(TIME_WAIT), S(CLOSE), 0 },
	},
	[S(CLOSE)] = {
		{ S(SYN_SENT), 0, 0, 0, S(CLOSE), 0 },
		{ 0, 0, 0, 0, S(CLOSE), 0 },
	},
};
#undef S

uint8_t
ct_tcp_next(uint8_t state, enum ct_dir dir, enum ct_tcp_event ev)
{
	if (state >= CT_STATE_MAX || ev >= CT_TCP_EV_MAX)
		return CT_FREE;
	return tcp_table[state][dir][ev];
}
