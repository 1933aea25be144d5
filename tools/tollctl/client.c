/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/tollctl/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "control/rpc_proto.h"

const char *
tollctl_socket_path(const char *opt)
{
	const char *env = getenv("TOLLGATE_SOCKET");

	if (opt != NULL)
		return opt;
	return env != NULL && env[0] != '\0' ? env : TOLLCTL_DEFAULT_SOCKET;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
tollctl_call(const char *path, uint16_t type, const char *args, const char *body,
	     size_t body_len, struct tollctl_reply *r, char *err, size_t errlen)
{
	static uint32_t next_id = 1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t alen = args ? strlen(args) : 0;
	size_t plen = alen + (body ? 1 + body_len : 0);
	struct rpc_hdr h = { .version = RPC_VERSION, .type = type, .id = next_id++ };
	uint8_t *frame = NULL, *payload, *in = NULL;
	size_t in_len = 0, in_cap = 0, used;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	if (plen > RPC_MAX_PAYLOAD) {
		snprintf(err, errlen, "request of %zu bytes is over the %u-byte limit", plen,
			 RPC_MAX_PAYLOAD);
		return -E2BIG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot connect to %s: %s (is tollgate running? see --socket)",
			 path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	/* payload: args, then an empty line and the body */
	payload = malloc(plen + 1);
	frame = malloc(RPC_HDR_LEN + plen);
	if (payload == NULL || frame == NULL) {
		free(payload);
		free(frame);
		close(fd);
		return -ENOMEM;
	}
	memcpy(payload, args ? args : "", alen);
	if (body) {
		payload[alen] = '\n';
		memcpy(payload + alen + 1, body, body_len);
	}
	h.len = (uint32_t)plen;
	rpc_encode(frame, RPC_HDR_LEN + plen, &h, payload);
	free(payload);
	ret = write_all(fd, frame, RPC_HDR_LEN + plen);
	free(frame);
	if (ret != 0) {
		snprintf(err, errlen, "%s: send: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	for (;;) {
		struct rpc_hdr rh;
		const uint8_t *pl;
		const char *why;
		ssize_t n;
		enum rpc_decode_result d = rpc_decode(in, in_len, &rh, &pl, &used, &why);

		if (d == RPC_FRAME) {
			r->status = rh.status;
			r->text = malloc(rh.len + 1);
			if (r->text == NULL) {
				ret = -ENOMEM;
				break;
			}
			memcpy(r->text, pl, rh.len);
			r->text[rh.len] = '\0';
			r->len = rh.len;
			ret = 0;
			break;
		}
		if (d == RPC_MALFORMED) {
			snprintf(err, errlen, "%s: not a Tollgate answer: %s", path, why);
			ret = -EPROTO;
			break;
		}
		if (in_cap - in_len < 65536) {
			uint8_t *p = realloc(in, in_cap + 65536);

			if (p == NULL) {
				ret = -ENOMEM;
				break;
			}
			in = p;
			in_cap += 65536;
		}
		n = read(fd, in + in_len, in_cap - in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: the daemon closed the connection before answering",
				 path);
			ret = -EPROTO;
			break;
		}
		in_len += (size_t)n;
	}
	free(in);
	close(fd);
	return ret;
}
