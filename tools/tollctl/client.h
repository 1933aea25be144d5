/* SPDX-License-Identifier: BSD-3-Clause
 * tollctl's side of the control socket (control/rpc_proto.h): one request,
 * one answer, blocking, over a fresh connection.
 */
#ifndef TOLLGATE_TOLLCTL_CLIENT_H
#define TOLLGATE_TOLLCTL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#define TOLLCTL_DEFAULT_SOCKET "/run/tollgate/tollgate.sock"

/* The socket to use: `opt` (--socket), else $TOLLGATE_SOCKET, else the
 * default of the configuration. */
const char *tollctl_socket_path(const char *opt);

struct tollctl_reply {
	int32_t status;   /* 0 or -errno from the daemon */
	char *text;       /* the payload, NUL-terminated; free() it */
	size_t len;
};

/*
 * Send request `type` with `args` ("key=value\n" lines, may be NULL) and
 * `body` (may be NULL), wait for the answer. 0 with `r` filled, or -errno
 * with a message in `err`: -ECONNREFUSED/-ENOENT/-EACCES... could not
 * connect; -EPROTO the peer is not a Tollgate daemon or closed early.
 */
int tollctl_call(const char *socket_path, uint16_t type, const char *args, const char *body,
		 size_t body_len, struct tollctl_reply *r, char *err, size_t errlen);

#endif
