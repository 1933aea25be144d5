/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection tracking: one table per worker, owned by that worker alone.
 *
 * A session has two keys that lead to one record: `fwd`, the first packet
 * as it arrived, and `rev`, what a reply looks like as it arrives. The
 * translation is implied by the keys: a packet matching `fwd` leaves as the
 * mirror image of `rev` (source = rev.dst:rev.dport, destination =
 * rev.src:rev.sport), and a packet matching `rev` leaves as the mirror
 * image of `fwd`. A session without NAT simply has rev = mirror(fwd) with
 * the other interface.
 *
 * Sessions come from a pool sized at start; the key table (ct.c) holds no
 * key of its own: each entry is a signature and a session index, and a
 * lookup compares against the record it leads to. Expiry runs from a timer
 * wheel of one-second slots, a bounded number of sessions per poll (see
 * ct_expire()). Refreshing a session is one store to `expire_s`; the wheel
 * re-files sessions it meets before their time (lazy rescheduling), so the
 * hot path never touches a list.
 */
#ifndef TG_DATAPLANE_CT_H
#define TG_DATAPLANE_CT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>

/* Network byte order throughout; 16 bytes, no holes (hashed as bytes). */
struct ct_key {
	rte_be32_t src;
	rte_be32_t dst;
	rte_be16_t sport;   /* ICMP query: identifier of a request */
	rte_be16_t dport;   /* ICMP query: identifier of a reply */
	uint8_t proto;
	uint8_t iface;      /* interface the packet arrives on */
	uint16_t zero;
};

enum ct_dir {
	CT_DIR_FWD = 0,
	CT_DIR_REV = 1,
};

/* Session states. TCP follows the packets both ways (ct_tcp_next()). */
#define CT_STATES(X)                                  \
	X(FREE, "free")                               \
	X(TCP_SYN_SENT, "syn-sent")                   \
	X(TCP_SYN_SENT2, "syn-sent2")                 \
	X(TCP_SYN_RECV, "syn-recv")                   \
	X(TCP_ESTABLISHED, "established")             \
	X(TCP_FIN_WAIT, "fin-wait")                   \
	X(TCP_CLOSE_WAIT, "close-wait")               \
	X(TCP_TIME_WAIT, "time-wait")                 \
	X(TCP_CLOSE, "close")                         \
	X(UDP, "udp")                                 \
	X(ICMP, "icmp")                               \
	X(OTHER, "other")                             \
	X(HOLD, "hold-down")

enum ct_state {
#define X(e, s) CT_##e,
	CT_STATES(X)
#undef X
	CT_STATE_MAX
};

const char *ct_state_name(enum ct_state s);

/* Session flags. */
#define CT_F_SNAT 0x01   /* source translated (port from our SNAT pool) */
#define CT_F_DNAT 0x02   /* destination translated by a DNAT rule */
#define CT_F_ISNAT 0x04  /* inbound DNAT also SNATed to the inside address */
#define CT_F_INSPECT 0x08 /* an application rule may allow it: the client's
			   * payload is held until the SNI/Host is known;
			   * `aux` is the inspection context (dataplane/inspect.h) */
#define CT_F_APP 0x10     /* allowed by an application rule: `aux` is the name
			   * slot it was allowed for, `app` the app_kind */
#define CT_F_REFUSED 0x20 /* refused by inspection: every packet is dropped
			   * until the session is freed */
/* Sessions whose final free calls the release function of ct_expire(). */
#define CT_F_RELEASE (CT_F_SNAT | CT_F_ISNAT | CT_F_INSPECT | CT_F_APP)

/* 64 bytes: one cache line. */
struct ct_session {
	/* fixed from creation to removal */
	struct ct_key fwd;
	struct ct_key rev;
	uint32_t rule_id;       /* the policy rule that allowed it */
	uint32_t generation;    /* policy generation that judged it */

	/* worker only */
	uint32_t expire_s;      /* worker clock, seconds */
	uint32_t next;          /* timer wheel slot list, or free list */
	uint32_t pkts[2];       /* per direction (wraps) */
	uint8_t state;          /* enum ct_state */
	uint8_t flags;          /* CT_F_* */
	uint8_t pool;           /* SNAT pool the port came from (ct_table's) */
	uint8_t app;            /* CT_F_APP: enum app_kind (rules/appproto.h) */
	uint32_t aux;           /* CT_F_INSPECT: inspection context index;
				 * CT_F_APP: name slot index (dataplane/inspect.h) */
} __rte_aligned(64);

/* Per-state idle timeouts in seconds, from the configuration. */
struct ct_timeouts {
	uint32_t tcp_established;
	uint32_t tcp_transitory;
	uint32_t udp;
	uint32_t icmp;
	uint32_t other;
	uint32_t hold_down;     /* SNAT tuple kept after expiry */
};

struct ct_table;
struct snat_pool;

/* Control side, at start. `max_sessions` records, keys for twice that. */
struct ct_table *ct_create(const char *name, unsigned max_sessions,
			   const struct ct_timeouts *to, int socket);
void ct_free(struct ct_table *t);
unsigned ct_capacity(const struct ct_table *t);
unsigned ct_in_use(const struct ct_table *t);
size_t ct_memory(const struct ct_table *t);

/* Data plane. */

/* Bulk lookup for a burst (prefetches across the burst); NULL on a miss. */
void ct_lookup_bulk(struct ct_table *t, const struct ct_key **keys, unsigned n,
		    struct ct_session **out, uint8_t *dir);
struct ct_session *ct_lookup(struct ct_table *t, const struct ct_key *k, enum ct_dir *dir);
bool ct_key_in_use(struct ct_table *t, const struct ct_key *k);

/*
 * A new session for `fwd`/`rev` in `state`, expiring after the state's
 * timeout. NULL when the pool is full or a key is already present (the
 * caller counts which).
 */
struct ct_session *ct_create_session(struct ct_table *t, const struct ct_key *fwd,
				     const struct ct_key *rev, uint8_t state, uint32_t now_s);

/* Idle timeout for a state. */
uint32_t ct_timeout(const struct ct_table *t, uint8_t state);

static inline void
ct_refresh(const struct ct_table *t, struct ct_session *s, uint32_t now_s)
{
	s->expire_s = now_s + ct_timeout(t, s->state);
}

/* End a session at the next expiry pass (policy revoked, RST timers...). */
static inline void
ct_expire_now(struct ct_session *s, uint32_t now_s)
{
	s->expire_s = now_s;
}

/*
 * Run the timer wheel up to `now_s`, looking at no more than `budget`
 * sessions. Expired SNAT sessions first go to HOLD for the hold-down (their
 * reply key still blocks the tuple), then `release` is called for a
 * session with a flag of CT_F_RELEASE (to return the port, the inspection
 * context, the name slot) and the session is freed. Returns the number of sessions
 * freed.
 */
typedef void (*ct_release_fn)(void *ctx, struct ct_session *s);
unsigned ct_expire(struct ct_table *t, uint32_t now_s, unsigned budget,
		   ct_release_fn release, void *ctx);

/* Iterate (control side, on a stopped or quiesced worker; and tests).
 * The owning worker may use both to refer to a session by index. */
struct ct_session *ct_session_at(struct ct_table *t, unsigned i);
uint32_t ct_session_index(const struct ct_table *t, const struct ct_session *s);

/*
 * Diagnostics and tests, on a stopped or quiesced worker. The key table is
 * buckets of CT_BUCKET_SLOTS entries, one cache line each; an entry lies at
 * most CT_PROBE_MAX - 1 buckets past the one its hash names (its home),
 * wrapping at the end of the table, or the session is refused.
 *
 * ct_buckets(): how many buckets. ct_key_bucket(): the bucket that holds
 * `k` (-1 when absent), and in `home` its home. ct_check(): walks the whole
 * table and every session (allocates; never on a worker): 0 when each live
 * session's keys are found once, where its hash says, and every bucket's
 * overflow count is what its neighbours need; else -EINVAL and `why`.
 */
#define CT_BUCKET_SLOTS 10
#define CT_PROBE_MAX 32
unsigned ct_buckets(const struct ct_table *t);
int ct_key_bucket(const struct ct_table *t, const struct ct_key *k, unsigned *home);
int ct_check(const struct ct_table *t, const char **why);

/* TCP flag classes seen by the state machine. */
enum ct_tcp_event {
	CT_TCP_EV_SYN = 0,
	CT_TCP_EV_SYNACK,
	CT_TCP_EV_FIN,
	CT_TCP_EV_ACK,    /* anything else with ACK set */
	CT_TCP_EV_RST,
	CT_TCP_EV_NONE,   /* no SYN/FIN/RST/ACK: invalid */
	CT_TCP_EV_MAX
};

enum ct_tcp_event ct_tcp_event(uint8_t tcp_flags);

/*
 * The TCP state table: the next state for a packet of `ev` in direction
 * `dir`, or CT_FREE when the packet does not fit the connection (dropped
 * as invalid, the session unchanged).
 */
uint8_t ct_tcp_next(uint8_t state, enum ct_dir dir, enum ct_tcp_event ev);

#endif
