/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The appliance configuration: read once at start from a YAML file.
 *
 * Everything here is cold: ports, addresses, routes, frontend IPs, cores,
 * table sizes. The policy (rules) is hot and lives in rules/; the config only
 * names the policy file. Addresses are kept in host byte order (uint32_t) in
 * this struct; the data plane converts them when it builds its tables.
 */
#ifndef TG_CONTROL_CONFIG_H
#define TG_CONTROL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_EAL_ARGS 64
#define CONFIG_MAX_ROUTES 256
#define CONFIG_MAX_FRONTEND_IPS 4096
#define CONFIG_MAX_WORKERS 64
#define CONFIG_NAME_LEN 32
#define CONFIG_DEVICE_LEN 512
#define CONFIG_PATH_LEN 1024
#define CONFIG_MAX_DNS_UPSTREAMS 8

enum config_role {
	CONFIG_ROLE_INSIDE = 0, /* cluster side */
	CONFIG_ROLE_OUTSIDE = 1, /* internet side, owns the frontend IPs */
	CONFIG_ROLE_COUNT = 2,
};

struct config_iface {
	char name[CONFIG_NAME_LEN];     /* operator's label; default: the role */
	enum config_role role;
	char device[CONFIG_DEVICE_LEN]; /* PCI address or vdev string */
	bool is_pci;                    /* [DDDD:]BB:DD.F, maybe ",devargs" */
	uint32_t addr;                  /* host order */
	uint8_t prefix_len;             /* 1..32 */
	uint16_t mtu;                   /* 68..9000, default 1500 */
};

struct config_route {
	uint32_t prefix;     /* host order, host bits zero */
	uint8_t prefix_len;  /* 1..32: the default route is `default_gateway` */
	uint32_t via;        /* host order gateway; on a connected subnet */
};

struct config {
	char path[CONFIG_PATH_LEN];        /* the file this came from */

	/* `dpdk: { eal_args: [...] }`: EAL arguments, without argv[0]. */
	char *eal_args[CONFIG_MAX_EAL_ARGS];
	unsigned n_eal_args;

	unsigned workers;                  /* `workers:`, default 1 */

	/* `interfaces:` exactly one inside and one outside; indexed by role. */
	struct config_iface ifaces[CONFIG_ROLE_COUNT];

	/* `routes:` static routes, in file order, no two to the same prefix.
	 * `default_gateway:` is the 0.0.0.0/0 route; it is NOT in routes[]. */
	struct config_route routes[CONFIG_MAX_ROUTES];
	unsigned n_routes;
	bool has_default_gw;
	uint32_t default_gw;               /* host order */

	/* `frontend_ips:` items are an address, a CIDR (every address in it,
	 * /20 or longer) or a range "A-B"; expanded, sorted, no duplicates.
	 * They are owned by the outside interface. */
	uint32_t frontend_ips[CONFIG_MAX_FRONTEND_IPS];
	unsigned n_frontend_ips;

	/* `policy:` path of the policy file (relative to the config file's
	 * directory when not absolute); empty when not set. */
	char policy_path[CONFIG_PATH_LEN];

	/* `sessions:` connection tracking (per worker), with defaults. */
	unsigned sessions_per_worker;      /* default 262144 */
	bool eim;                          /* mapping: endpoint-independent */
	unsigned tcp_established_s;        /* default 7440 (RFC 5382) */
	unsigned tcp_transitory_s;         /* default 240 (RFC 5382, 7857) */
	unsigned udp_s;                    /* default 300 (RFC 4787) */
	unsigned icmp_s;                   /* default 60 (RFC 5508) */
	unsigned port_hold_down_s;         /* default 120 (RFC 6888 REQ-8) */

	/* `snat:` destinations that keep their source address (CIDRs, host
	 * order); default RFC 1918 and RFC 6598, as Azure does for network
	 * rules. */
	struct config_route no_snat[CONFIG_MAX_ROUTES]; /* prefix/prefix_len used */
	unsigned n_no_snat;
	bool icmp_on_exhaustion;           /* ICMP unreachable code 13, default true */

	/* `dnat:` */
	bool dnat_snat;                    /* SNAT inbound DNAT traffic to the
					    * inside address (as Azure does),
					    * default true */
	unsigned dnat_sessions_per_worker; /* inbound DNAT/hairpin sessions a
					    * worker may hold at once; 0 (the
					    * default): a quarter of
					    * sessions.per_worker */

	/* `control:` the RPC channel tollctl uses. */
	char control_socket[CONFIG_PATH_LEN]; /* Unix socket, mode 0660; default
					       * /run/tollgate/tollgate.sock */
	char admin_group[CONFIG_NAME_LEN]; /* may change state (with root); "" none */
	char read_group[CONFIG_NAME_LEN];  /* may only read; "" none */

	/* `metrics:` Prometheus text and the health probe over HTTP. */
	bool metrics_enabled;              /* `listen:` given */
	uint32_t metrics_addr;             /* host order, in 127.0.0.0/8 */
	uint16_t metrics_port;
	unsigned health_snat_pct;          /* degraded above this SNAT utilisation, default 95 */

	/* `logs:` decision logs as JSON lines. */
	char decision_log[CONFIG_PATH_LEN]; /* file ("-": standard output); "" off */
	unsigned log_ring;                 /* records per worker ring, default 4096 */

	/* `inspection:` TLS SNI / HTTP Host for application rules. */
	unsigned inspect_timeout_s;        /* hello or request head within, default 10 */
	unsigned inspect_flow_bytes;       /* held per flow at most, default 16384 */
	unsigned inspect_flows;            /* flows in inspection per worker, default 1024 */
	unsigned inspect_held_pkts;        /* segments held per worker in all, default 2048 */
	bool inspect_http_403;             /* refused HTTP gets a 403 page, default true */

	/* `dns:` the DNS proxy on the inside address, port 53. */
	bool dns_enabled;                  /* `proxy:`, default true when upstreams given */
	uint32_t dns_upstreams[CONFIG_MAX_DNS_UPSTREAMS]; /* host order */
	unsigned n_dns_upstreams;
	unsigned dns_cache_entries;        /* default 4096 */
	unsigned dns_retention_s;          /* addresses kept after their TTL, default 900 */
	unsigned dns_client_qps;           /* queries/s per client, default 200 */
	unsigned dns_timeout_ms;           /* per upstream try, default 1000 */
	unsigned dns_tries;                /* tries across upstreams, default 3 */

	/* `tuning:` optional, with defaults. */
	unsigned mbufs;                    /* mbuf pool size, default 8191 */
	unsigned rx_desc;                  /* default 1024 */
	unsigned tx_desc;                  /* default 1024 */
	unsigned icmp_rate;                /* ICMP errors/s per worker, default 1000 */
	unsigned neigh_reachable_s;        /* default 30 */
	unsigned neigh_gc_s;               /* unused entries removed after, default 300 */
};

/*
 * Read and check the file at `path`. On success returns 0 with `cfg` filled.
 * On failure returns -errno and writes a message to `err` (NULL or a short
 * buffer is fine; the message is cut):
 *   -EINVAL  content: "FILE:LINE:COL: KEY: what was expected", lines and
 *            columns 1-based, e.g. "t.yaml:7:14: interfaces[1].address: ..."
 *   -ENOENT, -EACCES, -EISDIR, ...  I/O, no position:
 *            "FILE: cannot open: <strerror>" (or "cannot read")
 *   -EFBIG   the file is larger than 1 MiB
 *   -ENOMEM, -ENAMETOOLONG (path longer than CONFIG_PATH_LEN - 1)
 * Never partially applies anything: on failure `cfg` is zeroed and holds
 * nothing to free. Call config_free() on success (calling it again, or on a
 * failed load, is harmless).
 */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);

/* Same, from a buffer of `len` bytes (no NUL needed); `name` is FILE in
 * messages, `cfg->path`, and the directory a relative `policy:` is taken
 * from. */
int config_load_buffer(const char *name, const char *buf, size_t len,
		       struct config *cfg, char *err, size_t errlen);

void config_free(struct config *cfg);

/* Every optional value at its default (what a file that omits it gets);
 * for programs that fill a config by hand (tests, benchmarks). */
void config_defaults(struct config *cfg);

const char *config_role_name(enum config_role role);

/* The role of the interface whose subnet holds `addr` (host order), or -1.
 * (The loader refuses overlapping subnets, so there is at most one.) */
int config_connected_role(const struct config *cfg, uint32_t addr);

#endif
