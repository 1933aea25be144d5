/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The neighbour (ARP) table: next-hop IPv4 address -> MAC, per interface.
 *
 * Control thread: the only writer. It creates entries, fills in MACs from ARP
 * replies, ages them, and removes them; a removed entry's slot and hash key
 * are recycled only after every worker has passed a quiescent state (QSBR),
 * so a worker never reads a slot that has been reused under it.
 * Workers: read-only lookups (lock-free hash reads), plus a coarse "last
 * used" mark written at most once per second per entry so that ageing knows
 * which entries are worth refreshing.
 */
#ifndef TG_DATAPLANE_NEIGH_H
#define TG_DATAPLANE_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#define NEIGH_HOLD_MAX 8     /* packets held per unresolved neighbour */
#define NEIGH_VALID (1ULL << 63)

enum neigh_state {
	NEIGH_FREE = 0,
	NEIGH_INCOMPLETE,   /* ARP request sent, no answer yet; packets held */
	NEIGH_REACHABLE,    /* confirmed recently */
	NEIGH_STALE,        /* MAC still used, refresh due */
	NEIGH_FAILED,       /* no answer: packets to it are dropped for a while */
	NEIGH_DEAD,         /* removed; waiting for the workers' grace period */
};

struct neigh_entry {
	/* control: writes (release); workers: read (acquire).
	 * NEIGH_VALID | the 6 MAC bytes in the low 48 bits, or 0. */
	uint64_t mac;
	/* workers: write (relaxed, only when it changes); control: reads */
	uint32_t used_s;

	/* fixed while the entry is in the hash */
	rte_be32_t ip;
	uint8_t iface;

	/* control thread only */
	uint8_t state;          /* enum neigh_state */
	uint8_t probes;         /* ARP requests sent without an answer */
	uint8_t n_held;
	uint64_t confirmed_tsc; /* last ARP from this neighbour */
	uint64_t next_tsc;      /* next probe, or end of FAILED */
	uint64_t qsbr_token;    /* NEIGH_DEAD: grace period to wait for */
	uint32_t next_free;
	int32_t key_pos;        /* position of its key in the hash */
	struct rte_mbuf *held[NEIGH_HOLD_MAX];
} __rte_cache_aligned;

struct neigh_table;
struct rte_rcu_qsbr;

/* Data plane. True with `mac` filled when the neighbour is resolved. */
bool neigh_lookup(const struct neigh_table *t, uint8_t iface, rte_be32_t ip,
		  struct rte_ether_addr *mac, uint32_t now_s);

/* Control thread. */
struct neigh_table *neigh_create(const char *name, unsigned size, struct rte_rcu_qsbr *qsbr,
				 int socket);
void neigh_free(struct neigh_table *t);
struct neigh_entry *neigh_find(struct neigh_table *t, uint8_t iface, rte_be32_t ip);
/* A new INCOMPLETE entry, or NULL when the table is full. */
struct neigh_entry *neigh_add(struct neigh_table *t, uint8_t iface, rte_be32_t ip);
void neigh_set_mac(struct neigh_entry *e, const struct rte_ether_addr *mac);
void neigh_clear_mac(struct neigh_entry *e);
/* Remove from lookups; the slot is reused after a grace period. */
void neigh_remove(struct neigh_table *t, struct neigh_entry *e);
/* Recycle removed entries whose grace period has passed. Never waits. */
unsigned neigh_reclaim(struct neigh_table *t);
/* Iteration over live entries for ageing and display. */
unsigned neigh_capacity(const struct neigh_table *t);
struct neigh_entry *neigh_at(struct neigh_table *t, unsigned i);

#endif
