/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TG_BENCH_FORWARD_H
#define TG_BENCH_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

#include "control/control.h"

#define BENCH_FRAME_LEN 60    /* 64 bytes on the wire with the FCS */

struct bench_opts {
	unsigned runs;
	bool runs_given;
	bool json;
	int argc;      /* scenario name and its options */
	char **argv;
};

/* The in-process appliance: two net_ring ports (inside "bin", outside
 * "bout") whose rings the bench feeds and drains, one worker. */
struct fwd_bench {
	struct config cfg;
	struct ctl ctl;
	struct rte_ring *rx_in, *tx_in, *rx_out, *tx_out;
	struct rte_mempool *pool;
	uint8_t template[BENCH_FRAME_LEN]; /* UDP 198.18.1.10 -> 203.0.113.10:1194 */
	unsigned flows;       /* distinct flows the generator cycles through */
	unsigned next_flow;
	uint64_t flow_base;   /* new-flows: every flow index used once */
};

/* Rings, ports and the bench's own buffer pool: once per process. */
int bench_fwd_ports(struct fwd_bench *b, char *err, size_t errlen);
/* The data plane on those ports (ctl_setup): one worker, `sessions` of
 * them, `n_ips` frontend IPs from 192.0.2.10, 198.51.100.0/24 via
 * 203.0.113.10 (resolved), the policy at `path`. ctl_teardown() undoes it
 * and the ports stay for the next. 0 or an error in err. */
int bench_fwd_dataplane(struct fwd_bench *b, unsigned sessions, unsigned n_ips,
			const char *policy, char *err, size_t errlen);

/* Rewrite `m` into the next flow's frame (the generator's step). */
struct rte_mbuf;
void bench_fwd_refill(struct fwd_bench *b, struct rte_mbuf *m);

/* floor and forward: the EAL is already up. */
int bench_forward_main(const struct bench_opts *o);

#endif
