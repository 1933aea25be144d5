/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SNAT port allocator: one pool per worker, plain C (no DPDK), so that it is
 * tested and benchmarked without the EAL.
 *
 * What it hands out. A translation (frontend IP F, port P) for a flow
 * proto src:sport -> dst:dport. The tuple that must be unique is the reply
 * 5-tuple (proto, dst, dport -> F, P), which the connection tracker keeps as
 * a session key; the allocator never returns a reply tuple that is in use.
 *
 *   Endpoint-dependent mapping (default; RFC 7857 section 3 "port
 *   overlapping"): every F offers every port of this worker's slice to every
 *   destination (proto, dst, dport), so one F holds (port_hi - port_lo + 1)
 *   flows per destination, not in all.
 *   Endpoint-independent mapping (params.eim; RFC 4787 REQ-1, RFC 5382
 *   REQ-1): an inside endpoint (proto, src, sport) keeps one (F, P) for every
 *   destination while it has sessions, and (proto, F, P) is that endpoint's
 *   alone (reference-counted: one reference per successful snat_alloc).
 *
 *   Paired pooling (RFC 4787 REQ-2, RFC 6888 REQ-2): an inside host's first
 *   choice of F is snat_paired_index(src), a fixed function of the address
 *   (not of the pool's seed, so that every worker and tollctl agree); when
 *   that F has no free port for the destination, the next F is tried, then
 *   the next, at most n_ips of them.
 *   Exhaustion: -ENOSPC; a mapping is never evicted to make room (RFC 6888)
 *   and a tuple is never handed out twice.
 *   Ports are hard to guess (RFC 6056 section 3.3.1/3.3.2 spirit, RFC 6888):
 *   each search starts at a random point of the slice, drawn from a
 *   per-pool generator seeded by params.seed (give each worker its own).
 *
 * The caller's authority. The allocator counts its own allocations exactly
 * but does not remember which ports a sparsely used destination holds; it
 * asks in_use(), which the tracker answers with one session-hash lookup of
 * the reply key. Hence the contract: a tuple returned by snat_alloc() must be
 * visible to in_use() before the next snat_alloc() on this pool (or be given
 * back with snat_free()), and snat_free() is called when the reply key leaves
 * the session table, i.e. after any hold-down (RFC 6888's 120 s before a
 * port is reused), not before. Reply tuples that in_use() reports but that this pool did not hand
 * out (DNAT listeners inside a SNAT slice) are never duplicated, but once
 * seen they may be treated as taken until the destination's bitmap is
 * dropped; keep DNAT ports outside the SNAT slices to keep exhaustion exact.
 *
 * Threads. A pool belongs to one worker, which alone calls snat_alloc() and
 * snat_free(). snat_ip_in_use() and snat_stats() are plain reads of
 * counters the worker writes with plain stores; the control thread may call
 * them for display and may see a value a moment old.
 *
 * Memory is reserved once, by snat_create(), sized from max_sessions:
 * nothing is allocated on the alloc/free path. All addresses and ports are in
 * host byte order. ICMP query sessions use the identifier as the port and
 * dport 0.
 */
#ifndef TG_DATAPLANE_SNAT_H
#define TG_DATAPLANE_SNAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAT_PORT_FIRST 1024    /* ports below stay with the host's services */
#define SNAT_PORT_LAST 65535
#define SNAT_MAX_IPS 1024       /* frontend IPs per pool (Azure allows 250) */
#define SNAT_MAX_SESSIONS (1U << 26)

struct snat_params {
	const uint32_t *ips;    /* frontend IPs, distinct; copied */
	unsigned n_ips;         /* 1..SNAT_MAX_IPS */
	uint16_t port_lo;       /* this worker's slice, inclusive: */
	uint16_t port_hi;       /* see snat_worker_slice() */
	unsigned max_sessions;  /* live allocations at most (the worker's session cap) */
	bool eim;               /* endpoint-independent mapping instead of dependent */
	uint64_t seed;          /* per worker: port randomisation and hash seeds */
};

/* Is the reply tuple (proto, dst, dport -> fip, fport) taken? The tracker
 * answers from its session table; it must not call back into the pool.
 * Required (not NULL). Called a bounded number of times per snat_alloc(),
 * about once in steady state (see snat.c). */
typedef bool (*snat_in_use_fn)(void *ctx, uint8_t proto, uint32_t dst, uint16_t dport,
			       uint32_t fip, uint16_t fport);

struct snat_pool;

/* Control side. 0 or -EINVAL (bad params: the checks are listed in snat.c),
 * -ENOMEM. */
int snat_create(const struct snat_params *p, struct snat_pool **out);
void snat_destroy(struct snat_pool *pool);
/* Bytes reserved by snat_create(), all of them. */
size_t snat_memory(const struct snat_pool *pool);

/*
 * Data plane. 0 with *fip and *fport set, or
 *   -ENOSPC       no frontend IP has a free port for this destination
 *                 (EIM: no free (F, P) for a new endpoint mapping);
 *   -ENOBUFS      max_sessions allocations are already held;
 *   -EADDRINUSE   EIM only: the endpoint's existing (F, P) is already in use
 *                 towards this destination (in_use() said so), e.g. the same
 *                 flow's previous session is still held down.
 */
int snat_alloc(struct snat_pool *pool, uint8_t proto, uint32_t src, uint16_t sport,
	       uint32_t dst, uint16_t dport, snat_in_use_fn in_use, void *ctx, uint32_t *fip,
	       uint16_t *fport);

/* Give back what snat_alloc() returned for this flow. 0, or -ENOENT when the
 * allocator holds no such allocation (a double free it could see), -EINVAL
 * for an address or port this pool never hands out. */
int snat_free(struct snat_pool *pool, uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst,
	      uint16_t dport, uint32_t fip, uint16_t fport);

/* Index into params.ips of src's first-choice frontend IP. */
unsigned snat_paired_index(const struct snat_pool *pool, uint32_t src);
/* Live allocations (reply tuples) on frontend IP `index`; 0 past the end. */
unsigned snat_ip_in_use(const struct snat_pool *pool, unsigned index);

/* Ports of this pool's slice: what one port space (EDM) or one frontend IP
 * (EIM) can hold. */
unsigned snat_slice_ports(const struct snat_pool *pool);

/* EDM port spaces that hold allocations, for display (control thread, a
 * moment old; see snat.c). fn is called once per space; returns how many.
 * EIM pools have no per-destination spaces: 0. */
struct snat_space {
	uint8_t proto;
	uint32_t dst;           /* host order */
	uint16_t dport;
	unsigned fidx;          /* index into params.ips */
	unsigned count;         /* allocations held */
};
typedef void (*snat_space_fn)(void *ctx, const struct snat_space *sp);
unsigned snat_spaces(const struct snat_pool *pool, snat_space_fn fn, void *ctx);

struct snat_stats {
	uint64_t allocs;          /* snat_alloc() successes */
	uint64_t frees;
	uint64_t exhausted;       /* -ENOSPC */
	uint64_t spilled;         /* successes on a frontend IP other than the paired one */
	uint64_t in_use_calls;    /* questions asked of the tracker */
	uint64_t bitmap_attaches; /* a busy destination got its port bitmap */
	unsigned live;            /* allocations held now */
	unsigned spaces;          /* EDM: (proto, dst, dport, F) records; EIM: mappings */
	unsigned bitmaps;         /* EDM: port bitmaps attached now */
};
void snat_stats(const struct snat_pool *pool, struct snat_stats *st);

/* Worker port slices: SNAT_PORT_FIRST..SNAT_PORT_LAST cut into n_workers
 * contiguous slices (1 <= n_workers <= 1024), the last taking the remainder,
 * so that the destination port of a reply names the worker that owns its
 * session (the NIC or the handoff steers by it). */
void snat_worker_slice(unsigned worker, unsigned n_workers, uint16_t *lo, uint16_t *hi);
/* The worker whose slice holds `port`; n_workers for a port below
 * SNAT_PORT_FIRST, which no worker allocates. */
unsigned snat_port_owner(uint16_t port, unsigned n_workers);

#endif
