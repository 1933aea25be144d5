/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/neigh.h"

struct neigh_key {
	rte_be32_t ip;
	uint32_t iface;
};

#define NO_ENTRY UINT32_MAX

struct neigh_table {
	struct rte_hash *hash;     /* key -> entry index; lock-free reads */
	struct rte_rcu_qsbr *qsbr;
	unsigned size;
	uint32_t free_head;        /* control only */
	uint32_t dead_head;        /* control only: removed, awaiting grace */
	struct neigh_entry entries[];
};

struct neigh_table *
neigh_create(const char *name, unsigned size, struct rte_rcu_qsbr *qsbr, int socket)
{
	struct rte_hash_parameters hp = {
		.name = name,
		.entries = size,
		.key_len = sizeof(struct neigh_key),
		.hash_func = rte_jhash,
		.socket_id = socket,
		/* Readers (workers) never take a lock; the single writer is
		 * the control thread. LF mode keeps deleted keys' slots until
		 * we free them after the grace period ourselves. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct neigh_table *t;

	t = rte_zmalloc_socket(name, sizeof(*t) + size * sizeof(struct neigh_entry),
			       RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return NULL;
	t->hash = rte_hash_create(&hp);
	if (t->hash == NULL) {
		rte_free(t);
		return NULL;
	}
	t->qsbr = qsbr;
	t->size = size;
	t->dead_head = NO_ENTRY;
	for (unsigned i = 0; i < size; i++)
		t->entries[i].next_free = i + 1 < size ? i + 1 : NO_ENTRY;
	t->free_head = 0;
	return t;
}

void
neigh_free(struct neigh_table *t)
{
	if (t == NULL)
		return;
	for (unsigned i = 0; i < t->size; i++)
		for (unsigned j = 0; j < t->entries[i].n_held; j++)
			rte_pktmbuf_free(t->entries[i].held[j]);
	rte_hash_free(t->hash);
	rte_free(t);
}

bool
neigh_lookup(const struct neigh_table *t, uint8_t iface, rte_be32_t ip,
	     struct rte_ether_addr *mac, uint32_t now_s)
{
	struct neigh_key key = { .ip = ip, .iface = iface };
	struct neigh_entry *e;
	void *data;
	uint64_t v;

	if (rte_hash_lookup_data(t->hash, &key, &data) < 0)
		return false;
	e = (struct neigh_entry *)&t->entries[(uintptr_t)data];
	/* Pairs with the release store in neigh_set_mac(). */
	v = __atomic_load_n(&e->mac, __ATOMIC_ACQUIRE);
	if (!(v & NEIGH_VALID))
		return false;
	memcpy(mac->addr_bytes, &v, RTE_ETHER_ADDR_LEN);
	/* One shared-line write per entry per second at most. */
	if (__atomic_load_n(&e->used_s, __ATOMIC_RELAXED) != now_s)
		__atomic_store_n(&e->used_s, now_s, __ATOMIC_RELAXED);
	return true;
}

struct neigh_entry *
neigh_find(struct neigh_table *t, uint8_t iface, rte_be32_t ip)
{
	struct neigh_key key = { .ip = ip, .iface = iface };
	void *data;

	if (rte_hash_lookup_data(t->hash, &key, &data) < 0)
		return NULL;
	return &t->entries[(uintptr_t)data];
}

struct neigh_entry *
neigh_add(struct neigh_table *t, uint8_t iface, rte_be32_t ip)
{
	struct neigh_key key = { .ip = ip, .iface = iface };
	struct neigh_entry *e;
	uint32_t idx;
	int pos;

	if (t->free_head == NO_ENTRY)
		neigh_reclaim(t);
	if (t->free_head == NO_ENTRY)
		return NULL;
	idx = t->free_head;
	e = &t->entries[idx];
	t->free_head = e->next_free;

	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->iface = iface;
	e->state = NEIGH_INCOMPLETE;
	pos = rte_hash_add_key_data(t->hash, &key, (void *)(uintptr_t)idx);
	if (pos < 0) {
		e->state = NEIGH_FREE;
		e->next_free = t->free_head;
		t->free_head = idx;
		return NULL;
	}
	e->key_pos = rte_hash_lookup(t->hash, &key);
	return e;
}

void
neigh_set_mac(struct neigh_entry *e, const struct rte_ether_addr *mac)
{
	uint64_t v = 0;

	memcpy(&v, mac->addr_bytes, RTE_ETHER_ADDR_LEN);
	__atomic_store_n(&e->mac, v | NEIGH_VALID, __ATOMIC_RELEASE);
}

void
neigh_clear_mac(struct neigh_entry *e)
{
	__atomic_store_n(&e->mac, 0, __ATOMIC_RELEASE);
}

void
neigh_remove(struct neigh_table *t, struct neigh_entry *e)
{
	struct neigh_key key = { .ip = e->ip, .iface = e->iface };

	for (unsigned j = 0; j < e->n_held; j++)
		rte_pktmbuf_free(e->held[j]);
	e->n_held = 0;
	neigh_clear_mac(e);
	rte_hash_del_key(t->hash, &key);
	e->state = NEIGH_DEAD;
	/* Workers that found the key before the delete may still read the
	 * entry until their next quiescent state. */
	e->qsbr_token = rte_rcu_qsbr_start(t->qsbr);
	e->next_free = t->dead_head;
	t->dead_head = (uint32_t)(e - t->entries);
}

unsigned
neigh_reclaim(struct neigh_table *t)
{
	uint32_t *link = &t->dead_head;
	unsigned n = 0;

	/* Bounded by the table size: each entry is on the dead list once. */
	while (*link != NO_ENTRY) {
		struct neigh_entry *e = &t->entries[*link];
		uint32_t idx = *link;

		if (rte_rcu_qsbr_check(t->qsbr, e->qsbr_token, false) != 1) {
			link = &e->next_free;
			continue;
		}
		*link = e->next_free;
		rte_hash_free_key_with_position(t->hash, e->key_pos);
		e->state = NEIGH_FREE;
		e->next_free = t->free_head;
		t->free_head = idx;
		n++;
	}
	return n;
}

unsigned
neigh_capacity(const struct neigh_table *t)
{
	return t->size;
}

struct neigh_entry *
neigh_at(struct neigh_table *t, unsigned i)
{
	return i < t->size ? &t->entries[i] : NULL;
}
