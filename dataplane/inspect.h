/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Holding a client's first bytes until the TLS SNI or HTTP Host is known.
 *
 * One pool per worker, owned by that worker alone, everything allocated at
 * start:
 *
 *  - contexts (`inspection.flows_per_worker`): one per TCP flow that only an
 *    application rule could allow, from its SYN until the decision. Each
 *    has a reassembly buffer of `inspection.max_flow_bytes`: the client's
 *    bytes are copied there at offset seq - (ISN + 1), so out-of-order
 *    segments fill in later and app_parse() (rules/appproto.h) always sees
 *    the contiguous prefix. The segments themselves are held (never
 *    forwarded) in sequence order, at most INSPECT_FLOW_SEGS per flow and
 *    `inspection.held_segments_per_worker` in all, until the worker
 *    forwards them (allow) or frees them (refusal).
 *
 *  - names: the name each application-allowed session was allowed for,
 *    so that a policy change can judge it again by application rules.
 *    Sessions to the same name share one slot (reference counted); a slot
 *    is found by a bounded probe (INSPECT_NAME_PROBE slots from its hash).
 *
 * Nothing here allocates, locks or loops beyond a documented bound once
 * the pool exists.
 */
#ifndef TG_DATAPLANE_INSPECT_H
#define TG_DATAPLANE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#define INSPECT_NONE UINT32_MAX
/* Segments one flow may hold: a 16 KB hello in 536-byte segments is 31. */
#define INSPECT_FLOW_SEGS 32
/* Slots looked at for one name (hash, then the next ones, wrapping). */
#define INSPECT_NAME_PROBE 16
#define INSPECT_NAME_MAX 253

/* One flow under inspection. Offsets are from the first payload byte
 * (ISN + 1), host order. */
struct inspect_flow {
	uint32_t session;       /* index of the session in the worker's table */
	uint32_t deadline_s;    /* worker clock: refused when reached */
	uint32_t isn;           /* the client's initial sequence number */
	uint32_t srv_nxt;       /* the next sequence number the server sends
				 * (what a RST to the client must carry) */
	uint32_t contig;        /* bytes of `buf` contiguous from offset 0 */
	uint32_t syn_len;       /* bytes carried by the SYN (TCP Fast Open):
				 * in `buf`, held by no segment */
	uint16_t n_held;
	bool srv_seen;          /* srv_nxt is known (SYN-ACK seen) */
	bool syn_fwd;           /* the server has seen the SYN */
	uint32_t next_free;     /* free list */
	uint32_t off[INSPECT_FLOW_SEGS];
	uint16_t len[INSPECT_FLOW_SEGS];
	struct rte_mbuf *held[INSPECT_FLOW_SEGS]; /* sorted by `off` */
	uint8_t *buf;           /* `flow_bytes` */
};

enum inspect_hold {
	INSPECT_HELD_OK = 0,    /* held; the pool owns the mbuf */
	INSPECT_HELD_DUP,       /* every byte already held: not held again */
	INSPECT_HELD_BEYOND,    /* starts at or past the flow's byte bound */
	INSPECT_HELD_FLOW_FULL, /* INSPECT_FLOW_SEGS segments held already */
	INSPECT_HELD_POOL_FULL, /* the worker's held-segment bound reached */
};

struct inspect_pool;

/* Control side, at start (rte_malloc on `socket`); NULL with rte_errno. */
struct inspect_pool *inspect_pool_create(const char *name, unsigned flows, unsigned flow_bytes,
					 unsigned held_max, unsigned names, int socket);
/* Frees every held segment too. NULL is fine. */
void inspect_pool_free(struct inspect_pool *p);
/* Bytes of memory one flow under inspection takes (context + buffer),
 * not counting the held mbufs. */
size_t inspect_flow_memory(const struct inspect_pool *p);
unsigned inspect_in_use(const struct inspect_pool *p);
unsigned inspect_held_total(const struct inspect_pool *p);

/* Data plane. */

/* A context is free (inspect_open() will succeed). */
bool inspect_available(const struct inspect_pool *p);

/* A context for the flow whose SYN carried `isn`, refused at `deadline_s`;
 * INSPECT_NONE when every context is in use. */
uint32_t inspect_open(struct inspect_pool *p, uint32_t session, uint32_t isn,
		      uint32_t deadline_s);
/* Give the context back, freeing what it still holds; returns how many
 * segments it freed. */
unsigned inspect_close(struct inspect_pool *p, uint32_t idx);
struct inspect_flow *inspect_flow(struct inspect_pool *p, uint32_t idx);
const uint8_t *inspect_buf(const struct inspect_pool *p, uint32_t idx);
uint32_t inspect_bound(const struct inspect_pool *p);

/*
 * Take in the client's bytes `data[0..len)` whose first is sequence number
 * `seq`. With `m`, the segment is held (the pool owns it on
 * INSPECT_HELD_OK; otherwise the caller still does); without, they are
 * the data of a SYN (copied, never held). Returns what happened; the
 * contiguous prefix (flow->contig) may have grown.
 */
enum inspect_hold inspect_take(struct inspect_pool *p, uint32_t idx, struct rte_mbuf *m,
			       uint32_t seq, const uint8_t *data, uint32_t len);

/* Hand the held segments over in sequence order (at most `max`); the
 * caller owns them after. Returns how many. */
unsigned inspect_release(struct inspect_pool *p, uint32_t idx, struct rte_mbuf **out,
			 unsigned max);

/*
 * Contexts past their deadline, at most `budget` contexts looked at per
 * call (a round-robin cursor): their indexes go to `out`. Bounded so that a
 * poll never scans the whole pool.
 */
unsigned inspect_expired(struct inspect_pool *p, uint32_t now_s, unsigned budget,
			 uint32_t *out);

/* Name slots: a reference to `name` (lower case, no trailing dot), or
 * INSPECT_NONE when no slot is free within the probe. */
uint32_t inspect_name_get(struct inspect_pool *p, const char *name, size_t len);
void inspect_name_put(struct inspect_pool *p, uint32_t slot);
const char *inspect_name(const struct inspect_pool *p, uint32_t slot, size_t *len);

#endif
