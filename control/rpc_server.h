/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a Unix stream socket served from the control thread's
 * loop without ever blocking it (see rpc_server.c), and the commands behind
 * each request type (rpc_cmds.c).
 */
#ifndef TG_CONTROL_RPC_SERVER_H
#define TG_CONTROL_RPC_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/rpc_proto.h"

struct ctl;

/* Bind `control.socket` (its directory made if missing, a stale socket
 * replaced, mode 0660, group admin_group when set); sets c->rpc.
 * 0 or -errno with `err` set. */
int rpc_server_open(struct ctl *c, char *err, size_t errlen);
/* Accept, read, answer: never waits. Returns the work done (0: idle). */
unsigned rpc_server_poll(struct ctl *c);
void rpc_server_close(struct ctl *c);

/* ---- commands (rpc_cmds.c) ---- */

/* A request as the handlers see it. The payload of a request is
 * "key=value" lines, then an empty line and a body (apply: the YAML);
 * without an empty line it is all arguments. */
#define RPC_MAX_ARGS 16
struct rpc_req {
	uint16_t type;
	unsigned n_args;
	char *key[RPC_MAX_ARGS];
	char *val[RPC_MAX_ARGS];
	const char *body;
	size_t body_len;
	bool json;               /* format=json */
	const char *peer;        /* "uid 1000 (alice)" for messages */
};

/* A command that answers later (apply: once every worker uses the new
 * policy). Owned by the connection until finished. */
struct rpc_pending;

/*
 * Run one request. Writes the payload (or the error message) to `out` and
 * returns 0 or -errno; or returns 1 with *pending set when the answer comes
 * later (rpc_cmd_pending_poll()).
 */
int rpc_cmd_run(struct ctl *c, const struct rpc_req *req, FILE *out,
		struct rpc_pending **pending);
/* 1 when the deferred answer is ready (then written to `out`, status in
 * *status, and `p` freed); 0 while it waits. */
int rpc_cmd_pending_poll(struct ctl *c, struct rpc_pending *p, FILE *out, int *status);
void rpc_cmd_pending_free(struct rpc_pending *p);

/* The value of argument `key`, or NULL. */
const char *rpc_req_arg(const struct rpc_req *req, const char *key);

#endif
