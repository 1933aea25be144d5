/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket server. It runs inside the control thread's loop
 * (rpc_server_poll() from main.c's run()), so it never waits: one poll(2)
 * with a zero timeout over the listener and every client, then
 * non-blocking accept, read and write on what is ready.
 *
 * Bounds. At most RPC_MAX_CONNS clients (one more is accepted and closed at
 * once, counted); a client's input buffer holds at most one frame
 * (RPC_HDR_LEN + RPC_MAX_PAYLOAD) and grows as the frame's length requires;
 * its output is one response at a time. A malformed or oversized frame
 * closes that connection only (counted as rpc.malformed); a peer that sends
 * a request before reading the previous answer is simply not read until it
 * does (the kernel's socket buffer pushes back).
 *
 * Access by SO_PEERCRED, taken once at accept: uid 0 and members of
 * `control.admin_group` may call every type; members of
 * `control.read_group` only the types rpc_type_writes() says do not change
 * state; anyone else is answered -EACCES on every request, and each refusal
 * is logged on stderr ("tollgate: refused ...") and counted (rpc.refused).
 * Group membership is the peer uid's supplementary groups from the group
 * database (getgrouplist(3)) plus the peer's own gid.
 *
 * A request runs to completion on the control thread; `apply` compiles the
 * policy here too, so a very large policy holds the slow path (ARP, echo)
 * for the compile time (a 10,000-rule policy: see bench/update.sh). Its
 * answer is deferred until every worker runs the new policy, without
 * waiting: the connection checks the QSBR token on each poll.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include "control/control.h"
#include "control/rpc_server.h"

#define RPC_MAX_CONNS 32
#define RPC_MAX_GROUPS 256
#define RPC_READ_CHUNK 65536

enum access {
	ACCESS_NONE = 0,
	ACCESS_READ = 1,
	ACCESS_ADMIN = 2,
};

struct conn {
	int fd;
	enum access access;
	char peer[64];            /* "uid 1000 (alice) pid 42" */
	uint8_t *in;              /* bytes received, at most one frame */
	size_t in_len, in_cap;
	uint8_t *out;             /* one encoded response */
	size_t out_len, out_off;
	struct rpc_pending *pending;
	struct rpc_hdr pending_hdr;
};

struct rpc_server {
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool has_admin, has_read;
	gid_t admin_gid, read_gid;
	unsigned n;
	struct conn conns[RPC_MAX_CONNS];
};

/* mkdir -p of the socket's directory (mode 0755). */
static int
make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static int
group_id(const char *name, gid_t *gid, char *err, size_t errlen)
{
	struct group *g = getgrnam(name);

	if (g == NULL) {
		snprintf(err, errlen, "control: group \"%s\" does not exist", name);
		return -ENOENT;
	}
	*gid = g->gr_gid;
	return 0;
}

/*
 * Connecting to a Unix socket needs write permission on it: mode 0660 with
 * the admin group lets root and admins in; the read group gets its own
 * access entry (a POSIX ACL, set as the kernel's extended attribute so no
 * library is needed). Without ACL support (some filesystems) the read
 * group cannot connect: said once on stderr.
 */
static void
allow_read_group(const char *path, gid_t gid)
{
	struct {
		uint16_t tag, perm;
		uint32_t id;
	} __attribute__((packed)) e[5] = {
		{ 0x01, 6, UINT32_MAX }, /* ACL_USER_OBJ rw */
		{ 0x04, 6, UINT32_MAX }, /* ACL_GROUP_OBJ rw */
		{ 0x08, 6, gid },        /* ACL_GROUP read_group rw */
		{ 0x10, 6, UINT32_MAX }, /* ACL_MASK rw */
		{ 0x20, 0, UINT32_MAX }, /* ACL_OTHER - */
	};
	uint8_t buf[4 + sizeof(e)];
	uint32_t version = 2;   /* POSIX_ACL_XATTR_VERSION; little-endian hosts */

	memcpy(buf, &version, 4);
	memcpy(buf + 4, e, sizeof(e));
	if (setxattr(path, "system.posix_acl_access", buf, sizeof(buf), 0) != 0)
		fprintf(stderr, "tollgate: warning: control.read_group cannot connect to %s: "
				"no ACL support here (%s)\n", path, strerror(errno));
}

int
rpc_server_open(struct ctl *c, char *err, size_t errlen)
{
	const struct config *cfg = c->cfg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rpc_server *s;
	int ret;

	c->rpc = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->lfd = -1;
	ret = 0;
	if (cfg->admin_group[0] != '\0') {
		ret = group_id(cfg->admin_group, &s->admin_gid, err, errlen);
		s->has_admin = ret == 0;
	}
	if (ret == 0 && cfg->read_group[0] != '\0') {
		ret = group_id(cfg->read_group, &s->read_gid, err, errlen);
		s->has_read = ret == 0;
	}
	if (ret != 0)
		goto fail;
	if (strlen(cfg->control_socket) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control.socket: the path is longer than %zu bytes",
			 sizeof(sa.sun_path) - 1);
		ret = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(s->path, sizeof(s->path), "%s", cfg->control_socket);
	memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
	ret = make_parent(s->path);
	if (ret != 0) {
		snprintf(err, errlen, "control.socket: cannot create the directory of %s: %s",
			 s->path, strerror(-ret));
		goto fail;
	}
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "control.socket: socket: %s", strerror(errno));
		goto fail;
	}
	/* A socket file left by a daemon that did not stop cleanly. If another
	 * daemon is still listening there, it loses the name: two daemons on
	 * one data plane is a configuration error we cannot detect cheaply. */
	unlink(s->path);
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(s->path, 0660) != 0 ||
	    (s->has_admin && chown(s->path, (uid_t)-1, s->admin_gid) != 0) ||
	    listen(s->lfd, 16) != 0) {
		ret = -errno;
		snprintf(err, errlen, "control.socket: cannot serve %s: %s", s->path,
			 strerror(errno));
		goto fail;
	}
	if (s->has_read)
		allow_read_group(s->path, s->read_gid);
	c->rpc = s;
	return 0;
fail:
	if (s->lfd >= 0)
		close(s->lfd);
	free(s);
	return ret;
}

static bool
in_groups(const gid_t *groups, int n, gid_t g)
{
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

/* Who is on the other end, and what may they do. */
static void
identify(const struct rpc_server *s, struct conn *k)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t groups[RPC_MAX_GROUPS];
	int n = RPC_MAX_GROUPS;
	struct passwd *pw;

	k->access = ACCESS_NONE;
	if (getsockopt(k->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(k->peer, sizeof(k->peer), "unknown peer");
		return;
	}
	pw = getpwuid(cr.uid);
	snprintf(k->peer, sizeof(k->peer), "uid %u (%s) pid %d", (unsigned)cr.uid,
		 pw ? pw->pw_name : "?", (int)cr.pid);
	if (cr.uid == 0) {
		k->access = ACCESS_ADMIN;
		return;
	}
	groups[0] = cr.gid;
	n = 1;
	if (pw != NULL) {
		n = RPC_MAX_GROUPS;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
			n = RPC_MAX_GROUPS; /* more than we look at: the first ones */
		if (n < RPC_MAX_GROUPS && !in_groups(groups, n, cr.gid))
			groups[n++] = cr.gid;
	}
	if (s->has_admin && in_groups(groups, n, s->admin_gid))
		k->access = ACCESS_ADMIN;
	else if (s->has_read && in_groups(groups, n, s->read_gid))
		k->access = ACCESS_READ;
}

static void
conn_close(struct rpc_server *s, unsigned i)
{
	struct conn *k = &s->conns[i];

	close(k->fd);
	free(k->in);
	free(k->out);
	rpc_cmd_pending_free(k->pending);
	s->conns[i] = s->conns[--s->n];
	memset(&s->conns[s->n], 0, sizeof(s->conns[s->n]));
}

static void
accept_all(struct ctl *c, struct rpc_server *s)
{
	/* Bounded: at most the listen backlog is waiting. */
	for (unsigned tries = 0; tries < 16; tries++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *k;

		if (fd < 0)
			return;
		c->stats.c[DP_RPC_CONNECTIONS]++;
		if (s->n == RPC_MAX_CONNS) {
			c->stats.c[DP_RPC_TOO_MANY]++;
			close(fd);
			continue;
		}
		k = &s->conns[s->n++];
		memset(k, 0, sizeof(*k));
		k->fd = fd;
		identify(s, k);
	}
}

/* Encode one response into the connection's output. */
static void
respond(struct conn *k, const struct rpc_hdr *req, int status, const char *payload, size_t len)
{
	struct rpc_hdr h = { .version = RPC_VERSION, .type = req->type, .id = req->id,
			     .status = status };

	if (len > RPC_MAX_PAYLOAD) {
		status = -E2BIG;
		payload = "the answer is larger than the protocol allows; narrow it (e.g. --limit)";
		len = strlen(payload);
		h.status = status;
	}
	h.len = (uint32_t)len;
	free(k->out);
	k->out = malloc(RPC_HDR_LEN + len);
	k->out_off = 0;
	k->out_len = k->out ? rpc_encode(k->out, RPC_HDR_LEN + len, &h, payload) : 0;
}

static void
respond_stream(struct conn *k, const struct rpc_hdr *req, int status, FILE *f, char **buf,
	       size_t *len)
{
	fclose(f);
	respond(k, req, status, *buf ? *buf : "", *buf ? *len : 0);
	free(*buf);
	*buf = NULL;
}

/* Split "key=value" lines, an empty line, then the body. Modifies `p`. */
static void
parse_args(struct rpc_req *r, char *p, size_t len)
{
	char *end = p + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eq;

		if (nl == p) { /* the empty line: the body follows */
			r->body = nl + 1;
			r->body_len = (size_t)(end - nl - 1);
			return;
		}
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		eq = strchr(p, '=');
		if (eq != NULL && r->n_args < RPC_MAX_ARGS) {
			*eq = '\0';
			r->key[r->n_args] = p;
			r->val[r->n_args++] = eq + 1;
		}
		p = nl + 1;
	}
}

static void
dispatch(struct ctl *c, struct conn *k, const struct rpc_hdr *h, const uint8_t *payload)
{
	int writes = rpc_type_writes((enum rpc_type)h->type);
	struct rpc_req req = { .type = h->type, .peer = k->peer };
	char *buf = NULL, *copy;
	size_t len = 0;
	FILE *f;
	int ret;

	c->stats.c[DP_RPC_REQUESTS]++;
	if (writes < 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "unknown request type %u (this daemon speaks protocol %u)",
			 h->type, RPC_VERSION);
		respond(k, h, -EOPNOTSUPP, msg, strlen(msg));
		return;
	}
	if (k->access == ACCESS_NONE || (writes == 1 && k->access != ACCESS_ADMIN)) {
		char msg[256];

		c->stats.c[DP_RPC_REFUSED]++;
		snprintf(msg, sizeof(msg), "%s is not allowed to %s: it needs %s", k->peer,
			 rpc_type_name((enum rpc_type)h->type),
			 writes ? "root or the control.admin_group"
				: "root, the control.admin_group or the control.read_group");
		fprintf(stderr, "tollgate: refused %s %s\n", rpc_type_name((enum rpc_type)h->type),
			k->peer);
		respond(k, h, -EACCES, msg, strlen(msg));
		return;
	}
	/* +1: a NUL after the body, so the handlers may treat it as text */
	copy = malloc((size_t)h->len + 1);
	f = open_memstream(&buf, &len);
	if (copy == NULL || f == NULL) {
		free(copy);
		if (f)
			fclose(f);
		free(buf);
		respond(k, h, -ENOMEM, "out of memory", 13);
		return;
	}
	memcpy(copy, payload, h->len);
	copy[h->len] = '\0';
	parse_args(&req, copy, h->len);
	for (unsigned i = 0; i < req.n_args; i++)
		if (strcmp(req.key[i], "format") == 0)
			req.json = strcmp(req.val[i], "json") == 0;
	ret = rpc_cmd_run(c, &req, f, &k->pending);
	free(copy);
	if (ret == 1) { /* answered later */
		fclose(f);
		free(buf);
		k->pending_hdr = *h;
		return;
	}
	respond_stream(k, h, ret, f, &buf, &len);
}

/* Finish a deferred answer if it is ready. */
static unsigned
finish_pending(struct ctl *c, struct conn *k)
{
	char *buf = NULL;
	size_t len = 0;
	int status = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return 0;
	if (rpc_cmd_pending_poll(c, k->pending, f, &status) == 0) {
		fclose(f);
		free(buf);
		return 0;
	}
	k->pending = NULL;
	respond_stream(k, &k->pending_hdr, status, f, &buf, &len);
	return 1;
}

/* Handle whatever whole frames sit in the input. false: close it. */
static bool
process(struct ctl *c, struct conn *k)
{
	struct rpc_hdr h;
	const uint8_t *payload;
	const char *why;
	size_t used;

	/* One request at a time: the next waits until this answer is out. */
	while (k->pending == NULL && k->out_len == 0) {
		enum rpc_decode_result r = rpc_decode(k->in, k->in_len, &h, &payload, &used, &why);

		if (r == RPC_NEED_MORE)
			return true;
		if (r == RPC_MALFORMED) {
			c->stats.c[DP_RPC_MALFORMED]++;
			fprintf(stderr, "tollgate: control: closed %s: %s\n", k->peer, why);
			return false;
		}
		dispatch(c, k, &h, payload);
		memmove(k->in, k->in + used, k->in_len - used);
		k->in_len -= used;
	}
	return true;
}

/* Read what the socket holds, growing the buffer to the frame in progress
 * (at most one whole frame). false: closed or failed. */
static bool
read_some(struct conn *k)
{
	for (unsigned turn = 0; turn < 64; turn++) {
		size_t want = RPC_READ_CHUNK;
		ssize_t n;

		if (k->in_len >= RPC_HDR_LEN + (size_t)RPC_MAX_PAYLOAD)
			return true; /* a whole frame is in: process() first */
		if (k->in_cap - k->in_len < want) {
			size_t cap = k->in_cap ? k->in_cap * 2 : want;
			uint8_t *p;

			if (cap > RPC_HDR_LEN + (size_t)RPC_MAX_PAYLOAD)
				cap = RPC_HDR_LEN + (size_t)RPC_MAX_PAYLOAD;
			p = realloc(k->in, cap);
			if (p == NULL)
				return false;
			k->in = p;
			k->in_cap = cap;
		}
		want = k->in_cap - k->in_len;
		n = read(k->fd, k->in + k->in_len, want);
		if (n > 0) {
			k->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		return false; /* EOF or error */
	}
	return true;
}

static bool
write_some(struct conn *k)
{
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		k->out_off += (size_t)n;
	}
	free(k->out);
	k->out = NULL;
	k->out_len = k->out_off = 0;
	return true;
}

unsigned
rpc_server_poll(struct ctl *c)
{
	struct rpc_server *s = c->rpc;
	struct pollfd pfd[RPC_MAX_CONNS + 1];
	unsigned done = 0, n;

	if (s == NULL)
		return 0;
	for (unsigned i = 0; i < s->n; i++)
		if (s->conns[i].pending != NULL)
			done += finish_pending(c, &s->conns[i]);
	pfd[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (unsigned i = 0; i < s->n; i++)
		pfd[i + 1] = (struct pollfd){
			.fd = s->conns[i].fd,
			.events = (short)(POLLIN | (s->conns[i].out_len ? POLLOUT : 0)),
		};
	n = s->n;
	if (poll(pfd, n + 1, 0) <= 0 && done == 0)
		return 0;
	/* Backwards: conn_close() moves the last connection into the hole. */
	for (unsigned i = n; i-- > 0;) {
		struct conn *k = &s->conns[i];
		bool ok = true;

		if (pfd[i + 1].revents == 0 && k->out_len == 0)
			continue;
		done++;
		if (pfd[i + 1].revents & POLLIN)
			ok = read_some(k);
		else if (pfd[i + 1].revents & (POLLHUP | POLLERR | POLLNVAL))
			ok = false;
		if (ok)
			ok = process(c, k);
		if (ok && k->out_len)
			ok = write_some(k);
		if (ok && k->out_len == 0)
			ok = process(c, k) && (k->out_len == 0 || write_some(k));
		if (!ok)
			conn_close(s, i);
	}
	if (pfd[0].revents & POLLIN) {
		accept_all(c, s);
		done++;
	}
	return done;
}

void
rpc_server_close(struct ctl *c)
{
	struct rpc_server *s = c->rpc;

	if (s == NULL)
		return;
	while (s->n > 0)
		conn_close(s, s->n - 1);
	close(s->lfd);
	unlink(s->path);
	free(s);
	c->rpc = NULL;
}
