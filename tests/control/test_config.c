/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the configuration loader: the example file, defaults, expansion
 * of frontend IPs, every error message word for word (FILE:LINE:COL
 * included), and garbage that must be refused without a crash or a leak
 * (run under ASan/UBSan in CI).
 *
 * argv[1] is the path of control/tollgate.example.yaml.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/config.h"

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static const char *example_path;
static struct config cfg;
static char err[1024];

/* Lines 1-7; tests append to it, so their errors start at line 8. */
#define IFACES                                   \
	"interfaces:\n"                          \
	"  - role: inside\n"                     \
	"    device: net_af_packet0,iface=fw-in\n" \
	"    address: 198.18.1.1/24\n"           \
	"  - role: outside\n"                    \
	"    device: net_af_packet1,iface=fw-out\n" \
	"    address: 203.0.113.1/24\n"

static int load(const char *yaml)
{
	return config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, err,
				  sizeof(err));
}

/* The message, exactly, and nothing left allocated. */
static void expect_error(const char *yaml, const char *msg)
{
	int rc = load(yaml);

	if (rc != -EINVAL || strcmp(err, msg))
		print_error("yaml:\n%s\nrc %d, error:\n  %s\nexpected:\n  %s\n",
			    yaml, rc, err, msg);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, msg);
	assert_int_equal(cfg.n_eal_args, 0);
}

static void expect_ok(const char *yaml)
{
	int rc = load(yaml);

	if (rc)
		print_error("yaml:\n%s\nerror: %s\n", yaml, err);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
}

/* ------------------------------------------------------------ good files */

static void test_example_file(void **state)
{
	static const char *const eal[] = { "--no-huge", "-m", "256", "--no-shconf",
					   "--no-telemetry", "--no-pci", "-l", "0-1" };
	const struct config_iface *in = &cfg.ifaces[CONFIG_ROLE_INSIDE];
	const struct config_iface *out = &cfg.ifaces[CONFIG_ROLE_OUTSIDE];

	assert_int_equal(config_load(example_path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.path, example_path);
	assert_int_equal(cfg.n_eal_args, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_string_equal(cfg.eal_args[i], eal[i]);
	assert_int_equal(cfg.workers, 1);
	assert_string_equal(in->name, "inside");
	assert_int_equal(in->role, CONFIG_ROLE_INSIDE);
	assert_string_equal(in->device, "net_af_packet0,iface=fw-in");
	assert_false(in->is_pci);
	assert_int_equal(in->addr, IP4(198, 18, 1, 1));
	assert_int_equal(in->prefix_len, 24);
	assert_int_equal(in->mtu, 1500);
	assert_string_equal(out->name, "outside");
	assert_string_equal(out->device, "net_af_packet1,iface=fw-out");
	assert_int_equal(out->addr, IP4(203, 0, 113, 1));
	assert_int_equal(out->prefix_len, 24);
	assert_int_equal(cfg.n_routes, 1);
	assert_int_equal(cfg.routes[0].prefix, IP4(198, 18, 0, 0));
	assert_int_equal(cfg.routes[0].prefix_len, 16);
	assert_int_equal(cfg.routes[0].via, IP4(198, 18, 1, 2));
	assert_true(cfg.has_default_gw);
	assert_int_equal(cfg.default_gw, IP4(203, 0, 113, 254));
	assert_int_equal(cfg.n_frontend_ips, 20);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(cfg.frontend_ips[i], IP4(192, 0, 2, 10 + i));
	assert_string_equal(cfg.policy_path, "");
	assert_int_equal(cfg.mbufs, 8191);
	config_free(&cfg);
	assert_int_equal(cfg.n_eal_args, 0);
}

static void test_defaults(void **state)
{
	expect_ok(IFACES);
	assert_int_equal(cfg.n_eal_args, 0);
	assert_int_equal(cfg.workers, 1);
	assert_string_equal(cfg.ifaces[0].name, "inside");
	assert_string_equal(cfg.ifaces[1].name, "outside");
	assert_int_equal(cfg.ifaces[0].mtu, 1500);
	assert_int_equal(cfg.n_routes, 0);
	assert_false(cfg.has_default_gw);
	assert_int_equal(cfg.n_frontend_ips, 0);
	assert_string_equal(cfg.policy_path, "");
	assert_int_equal(cfg.mbufs, 8191);
	assert_int_equal(cfg.rx_desc, 1024);
	assert_int_equal(cfg.tx_desc, 1024);
	assert_int_equal(cfg.icmp_rate, 1000);
	assert_int_equal(cfg.neigh_reachable_s, 30);
	assert_int_equal(cfg.neigh_gc_s, 300);
	config_free(&cfg);
}

/* Interfaces in the other order, flow style, and every tuning key. */
static void test_every_key(void **state)
{
	expect_ok("tuning: {mbufs: 16383, rx_desc: 512, tx_desc: 2048, icmp_rate: 0,\n"
		  "         neigh_reachable_s: 60, neigh_gc_s: 600}\n"
		  "workers: 64\n"
		  "interfaces:\n"
		  "  - {name: wan, role: outside, device: \"0000:00:05.0\", address: 203.0.113.1/24, mtu: 9000}\n"
		  "  - {name: lan, role: inside, device: 00:04.0, address: 198.18.1.1/30, mtu: 68}\n"
		  "routes: []\n"
		  "dpdk: {eal_args: []}\n"
		  "frontend_ips: ~\n");
	assert_int_equal(cfg.workers, 64);
	assert_string_equal(cfg.ifaces[CONFIG_ROLE_INSIDE].name, "lan");
	assert_true(cfg.ifaces[CONFIG_ROLE_INSIDE].is_pci);
	assert_int_equal(cfg.ifaces[CONFIG_ROLE_INSIDE].mtu, 68);
	assert_string_equal(cfg.ifaces[CONFIG_ROLE_OUTSIDE].name, "wan");
	assert_true(cfg.ifaces[CONFIG_ROLE_OUTSIDE].is_pci);
	assert_int_equal(cfg.ifaces[CONFIG_ROLE_OUTSIDE].mtu, 9000);
	assert_int_equal(cfg.mbufs, 16383);
	assert_int_equal(cfg.rx_desc, 512);
	assert_int_equal(cfg.tx_desc, 2048);
	assert_int_equal(cfg.icmp_rate, 0);
	assert_int_equal(cfg.neigh_reachable_s, 60);
	assert_int_equal(cfg.neigh_gc_s, 600);
	config_free(&cfg);
}

static void test_pci_or_vdev(void **state)
{
	static const struct {
		const char *device;
		bool pci;
	} cases[] = {
		{ "0000:00:04.0", true },
		{ "00:04.0", true },
		{ "0000:3b:00.1,rxq_cqe_comp_en=1", true },
		{ "net_af_xdp0,iface=fw-in", false },
		{ "net_pcap0,rx_pcap=a.pcap", false },
		{ "0000:00:04.8", false },
		{ "000:00:04.0", false },
		{ "0000:00:04.0x", false },
	};
	char yaml[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "interfaces:\n"
			 "  - {role: inside, device: \"%s\", address: 198.18.1.1/24}\n"
			 "  - {role: outside, device: x, address: 203.0.113.1/24}\n",
			 cases[i].device);
		expect_ok(yaml);
		assert_string_equal(cfg.ifaces[0].device, cases[i].device);
		assert_int_equal(cfg.ifaces[0].is_pci, cases[i].pci);
		config_free(&cfg);
	}
}

static void test_policy_path(void **state)
{
	const char *yaml = IFACES "policy: rules/policy.yaml\n";

	assert_int_equal(config_load_buffer("/etc/tollgate/tollgate.yaml", yaml,
					    strlen(yaml), &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.policy_path, "/etc/tollgate/rules/policy.yaml");
	assert_int_equal(config_load_buffer("conf/t.yaml", yaml, strlen(yaml),
					    &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.policy_path, "conf/rules/policy.yaml");
	expect_ok(yaml);
	assert_string_equal(cfg.policy_path, "rules/policy.yaml");
	expect_ok(IFACES "policy: /srv/policy.yaml\n");
	assert_string_equal(cfg.policy_path, "/srv/policy.yaml");
	config_free(&cfg);
}

static void test_frontend_expansion(void **state)
{
	expect_ok(IFACES
		  "frontend_ips:\n"
		  "  - 192.0.2.200\n"
		  "  - 192.0.2.4/30\n"
		  "  - 192.0.2.6 - 192.0.2.9\n"
		  "  - 192.0.2.200\n"
		  "  - 198.51.100.1\n"
		  "  - 192.0.2.1\n");
	static const uint32_t want[] = {
		IP4(192, 0, 2, 1), IP4(192, 0, 2, 4), IP4(192, 0, 2, 5),
		IP4(192, 0, 2, 6), IP4(192, 0, 2, 7), IP4(192, 0, 2, 8),
		IP4(192, 0, 2, 9), IP4(192, 0, 2, 200), IP4(198, 51, 100, 1),
	};
	assert_int_equal(cfg.n_frontend_ips, 9);
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(cfg.frontend_ips[i], want[i]);

	/* Exactly the limit, reached from two overlapping items. */
	expect_ok(IFACES "frontend_ips: [198.51.96.0/20, 198.51.100.0/24]\n");
	assert_int_equal(cfg.n_frontend_ips, CONFIG_MAX_FRONTEND_IPS);
	assert_int_equal(cfg.frontend_ips[0], IP4(198, 51, 96, 0));
	assert_int_equal(cfg.frontend_ips[4095], IP4(198, 51, 111, 255));
	config_free(&cfg);
}

/* ------------------------------------------------------------ I/O errors */

static char tmpdir[64];

static int setup_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tg-config-test.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	rmdir(path);
	return rmdir(tmpdir);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_file_errors(void **state)
{
	char path[128], want[512];
	char *big;

	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);

	/* Root reads any file whatever its mode, so "unreadable" is a directory. */
	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/empty.yaml", tmpdir);
	write_file(path, "", 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:1:1: the file is empty: expected a mapping with keys "
		 "dpdk, workers, interfaces, routes, default_gateway, frontend_ips, policy, sessions, snat, dnat, "
		 "control, metrics, logs, inspection, dns, tuning",
		 path);
	assert_string_equal(err, want);
	unlink(path);

	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	big = malloc((1 << 20) + 1);
	assert_non_null(big);
	memset(big, '#', (1 << 20) + 1);
	write_file(path, big, (1 << 20) + 1);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1 MiB (1048577 bytes): is this the configuration file?",
		 path);
	assert_string_equal(err, want);
	/* Exactly 1 MiB of comments is read, and is empty. */
	write_file(path, big, 1 << 20);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	unlink(path);
	free(big);
}

/* ------------------------------------------------------------ YAML errors */

static void test_empty(void **state)
{
	static const char keys[] = "expected a mapping with keys dpdk, workers, interfaces, "
		"routes, default_gateway, frontend_ips, policy, sessions, snat, dnat, control, metrics, logs, inspection, dns, tuning";
	char want[256];

	snprintf(want, sizeof(want), "t.yaml:1:1: the file is empty: %s", keys);
	expect_error("", want);
	expect_error("# only a comment\n\n", want);
	snprintf(want, sizeof(want), "t.yaml:2:1: the file is empty: %s", keys);
	expect_error("---\n", want);
	expect_error("hello\n", "t.yaml:1:1: expected a mapping, got \"hello\"");
	expect_error("- a\n", "t.yaml:1:1: expected a mapping, got a sequence");
}

static void test_syntax_error(void **state)
{
	expect_error(IFACES "workers: 1\n  mtu: 2\n",
		     "t.yaml:9:6: invalid YAML: mapping values are not allowed in this context");
	expect_error(IFACES "routes: [198.18.0.0/16\n",
		     "t.yaml:9:1: invalid YAML: did not find expected ',' or ']' "
		     "(while parsing a flow sequence at 8:9)");
	expect_error("a: \"open\n",
		     "t.yaml:2:1: invalid YAML: found unexpected end of stream "
		     "(while scanning a quoted scalar at 1:4)");
	expect_error("workers: 1\n\tinterfaces: x\n",
		     "t.yaml:2:1: invalid YAML: found a tab character that violates indentation "
		     "(while scanning a plain scalar at 1:10)");
	/* libyaml's reader gives a byte offset, placed here as line:col. */
	expect_error("workers: 1\nname: \xff\n",
		     "t.yaml:2:7: invalid YAML: invalid leading UTF-8 octet (byte 0xff)");
	expect_error("a: b\x01\n",
		     "t.yaml:1:5: invalid YAML: control characters are not allowed (byte 0x01)");
}

static void test_aliases_refused(void **state)
{
	expect_error("x: &gw 203.0.113.254\n",
		     "t.yaml:1:4: YAML anchors (&gw) are not supported: write each value out in full");
	expect_error(IFACES "default_gateway: *gw\n",
		     "t.yaml:8:18: YAML aliases (*gw) are not supported: write the value out in full");
	expect_error("base: &b {a: 1}\n<<: *b\n",
		     "t.yaml:1:7: YAML anchors (&b) are not supported: write each value out in full");
}

static void test_structure_limits(void **state)
{
	char deep[128] = "";

	expect_error(IFACES "---\nworkers: 2\n",
		     "t.yaml:8:1: a second YAML document: the configuration is one document "
		     "(remove this \"---\")");
	for (int i = 0; i < 17; i++)
		strcat(deep, "[");
	strcat(deep, "1");
	for (int i = 0; i < 17; i++)
		strcat(deep, "]");
	strcat(deep, "\n");
	expect_error(deep, "t.yaml:1:17: nested deeper than 16 levels");
	/* Node #100001 is item 99997 of the sequence, at column 10 + 2 * 99997. */
	char *wide = malloc(10 + 2 * 100001 + 3);

	assert_non_null(wide);
	strcpy(wide, "routes: [");
	for (int i = 0; i < 100001; i++)
		strcat(wide + 9 + 2 * i, "a,");
	strcat(wide + 9 + 2 * 100001, "]\n");
	expect_error(wide, "t.yaml:1:200004: more than 100000 values: expected a configuration file");
	free(wide);
	expect_error("routes: [\"a\\0b\"]\n",
		     "t.yaml:1:10: a NUL character (\\0) is not allowed in a value");
}

/* ------------------------------------------------------------ keys */

static void test_unknown_key(void **state)
{
	expect_error(IFACES "worker: 2\n",
		     "t.yaml:8:1: unknown key \"worker\"; accepted keys: dpdk, workers, interfaces, "
		     "routes, default_gateway, frontend_ips, policy, sessions, snat, dnat, control, metrics, logs, inspection, dns, tuning");
	expect_error("interfaces:\n"
		     "  - role: inside\n"
		     "    adress: 198.18.1.1/24\n",
		     "t.yaml:3:5: interfaces[0]: unknown key \"adress\"; accepted keys: "
		     "name, role, device, address, mtu");
	expect_error(IFACES "tuning:\n  mbuf: 4095\n",
		     "t.yaml:9:3: tuning: unknown key \"mbuf\"; accepted keys: mbufs, rx_desc, "
		     "tx_desc, icmp_rate, neigh_reachable_s, neigh_gc_s");
	expect_error(IFACES "dpdk: {args: []}\n",
		     "t.yaml:8:8: dpdk: unknown key \"args\"; accepted keys: eal_args");
	expect_error(IFACES "routes:\n  - {prefix: 198.18.0.0/16, gw: 198.18.1.2}\n",
		     "t.yaml:9:29: routes[0]: unknown key \"gw\"; accepted keys: prefix, via");
	expect_error(IFACES "[a]: b\n", "t.yaml:8:1: expected a key name, got a sequence");
}

static void test_duplicate_key(void **state)
{
	expect_error("workers: 1\n" IFACES "workers: 2\n",
		     "t.yaml:9:1: duplicate key \"workers\" (first given at line 1)");
	expect_error("interfaces:\n"
		     "  - role: inside\n"
		     "    role: outside\n",
		     "t.yaml:3:5: interfaces[0]: duplicate key \"role\" (first given at line 2)");
}

static void test_missing_key(void **state)
{
	expect_error("workers: 2\n", "t.yaml:1:1: missing required key \"interfaces\"");
	expect_error("interfaces:\n"
		     "  - role: inside\n"
		     "    address: 198.18.1.1/24\n",
		     "t.yaml:2:5: interfaces[0]: missing required key \"device\"");
	expect_error(IFACES "routes:\n  - via: 198.18.1.2\n",
		     "t.yaml:9:5: routes[0]: missing required key \"prefix\"");
}

static void test_wrong_type(void **state)
{
	expect_error("interfaces: eth0\n",
		     "t.yaml:1:13: interfaces: expected a sequence (a list of \"- \" items), got \"eth0\"");
	expect_error("interfaces:\n  - eth0\n",
		     "t.yaml:2:5: interfaces[0]: expected a mapping, got \"eth0\"");
	expect_error(IFACES "routes:\n  prefix: 198.18.0.0/16\n",
		     "t.yaml:9:3: routes: expected a sequence (a list of \"- \" items), got a mapping");
	expect_error(IFACES "policy: [a.yaml]\n",
		     "t.yaml:8:9: policy: expected a single value (a scalar), got a sequence");
	expect_error(IFACES "dpdk: --no-huge\n",
		     "t.yaml:8:7: dpdk: expected a mapping, got \"--no-huge\"");
	expect_error(IFACES "dpdk:\n  eal_args: [[-l, 0-1]]\n",
		     "t.yaml:9:14: dpdk.eal_args[0]: expected a single value (a scalar), got a sequence");
	expect_error(IFACES "frontend_ips:\n  - {a: b}\n",
		     "t.yaml:9:5: frontend_ips[0]: expected a single value (a scalar), got a mapping");
}

/* ------------------------------------------------------------ values */

static void test_integers(void **state)
{
	expect_error(IFACES "workers: 65\n",
		     "t.yaml:8:10: workers: expected an integer from 1 to 64, got \"65\"");
	expect_error(IFACES "workers: 0\n",
		     "t.yaml:8:10: workers: expected an integer from 1 to 64, got \"0\"");
	expect_error(IFACES "workers: two\n",
		     "t.yaml:8:10: workers: expected an integer from 1 to 64, got \"two\"");
	expect_error(IFACES "workers: -1\n",
		     "t.yaml:8:10: workers: expected an integer from 1 to 64, got \"-1\"");
	expect_error(IFACES "workers:\n",
		     "t.yaml:8:9: workers: expected an integer from 1 to 64, got an empty value");
	expect_error(IFACES "tuning: {mbufs: 99999999999999999999999999}\n",
		     "t.yaml:8:17: tuning.mbufs: expected an integer from 1023 to 16777216, "
		     "got \"99999999999999999999999999\"");
	expect_error(IFACES "workers: [1]\n",
		     "t.yaml:8:10: workers: expected an integer from 1 to 64, got a sequence");
	expect_error("interfaces:\n  - {role: inside, device: a, address: 198.18.1.1/24, mtu: 9001}\n",
		     "t.yaml:2:60: interfaces[0].mtu: expected an integer from 68 to 9000, got \"9001\"");
	expect_error(IFACES "tuning: {rx_desc: 1e3}\n",
		     "t.yaml:8:19: tuning.rx_desc: expected an integer from 64 to 16384, got \"1e3\"");
}

static void test_strings(void **state)
{
	expect_error("interfaces:\n  - {role: middle}\n",
		     "t.yaml:2:12: interfaces[0].role: expected inside or outside, got \"middle\"");
	expect_error("interfaces:\n  - {name: \"\", role: inside}\n",
		     "t.yaml:2:12: interfaces[0].name: expected a non-empty value, got \"\"");
	expect_error("interfaces:\n  - {name: a-name-that-is-far-too-long-for-it}\n",
		     "t.yaml:2:12: interfaces[0].name: expected at most 31 characters, "
		     "got \"a-name-that-is-far-too-long-for-it\"");
	expect_error("interfaces:\n  - {role: inside, device: \"\"}\n",
		     "t.yaml:2:28: interfaces[0].device: expected a PCI address like 0000:00:04.0 "
		     "or a vdev like net_af_packet0,iface=fw-in (at most 511 characters), got \"\"");
	expect_error(IFACES "policy:\n",
		     "t.yaml:8:8: policy: expected the path of a policy file, got an empty value");
}

static void test_iface_address(void **state)
{
	const char *head = "interfaces:\n  - role: inside\n    device: x\n    address: ";
	char yaml[256];
	static const struct {
		const char *addr, *msg;
	} cases[] = {
		{ "203.0.113.1", "expected an IPv4 address with prefix length like 203.0.113.1/24, got \"203.0.113.1\"" },
		{ "203.0.113.256/24", "expected an IPv4 address with prefix length like 203.0.113.1/24, got \"203.0.113.256/24\"" },
		{ "203.0.113/24", "expected an IPv4 address with prefix length like 203.0.113.1/24, got \"203.0.113/24\"" },
		{ "203.0.113.01/24", "expected an IPv4 address with prefix length like 203.0.113.1/24, got \"203.0.113.01/24\"" },
		{ "203.0.113.1 /24", "expected an IPv4 address with prefix length like 203.0.113.1/24, got \"203.0.113.1 /24\"" },
		{ "203.0.113.1/33", "expected a prefix length from 1 to 32 after the \"/\", got \"203.0.113.1/33\"" },
		{ "203.0.113.1/0", "expected a prefix length from 1 to 32 after the \"/\", got \"203.0.113.1/0\"" },
		{ "203.0.113.1/", "expected a prefix length from 1 to 32 after the \"/\", got \"203.0.113.1/\"" },
		{ "203.0.113.1/24x", "expected a prefix length from 1 to 32 after the \"/\", got \"203.0.113.1/24x\"" },
		{ "203.0.113.0/24", "203.0.113.0 is the network address of 203.0.113.0/24: expected a host address in it" },
		{ "203.0.113.255/24", "203.0.113.255 is the broadcast address of 203.0.113.0/24: expected a host address in it" },
		{ "127.0.0.1/8", "127.0.0.1 is not a unicast address (loopback)" },
		{ "224.0.0.1/24", "224.0.0.1 is not a unicast address (multicast)" },
		{ "0.1.2.3/24", "0.1.2.3 is not a unicast address (\"this network\", 0.0.0.0/8)" },
	};
	char want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml), "%s%s\n", head, cases[i].addr);
		snprintf(want, sizeof(want), "t.yaml:4:14: interfaces[0].address: %s", cases[i].msg);
		expect_error(yaml, want);
	}
	/* /31 and /32 have no network or broadcast address. */
	expect_ok("interfaces:\n"
		  "  - {role: inside, device: a, address: 198.18.1.0/31}\n"
		  "  - {role: outside, device: b, address: 203.0.113.7/32}\n");
}

static void test_iface_roles(void **state)
{
	expect_error("interfaces:\n"
		     "  - {role: inside, device: a, address: 198.18.1.1/24}\n",
		     "t.yaml:2:3: interfaces: no outside interface: expected one interface "
		     "with role inside and one with role outside");
	expect_error("interfaces:\n"
		     "  - {role: outside, device: a, address: 198.18.1.1/24}\n",
		     "t.yaml:2:3: interfaces: no inside interface: expected one interface "
		     "with role inside and one with role outside");
	expect_error("interfaces: []\n",
		     "t.yaml:1:13: interfaces: no inside interface: expected one interface "
		     "with role inside and one with role outside");
	expect_error("interfaces:\n"
		     "  - {role: inside, device: a, address: 198.18.1.1/24}\n"
		     "  - {role: inside, device: b, address: 198.18.2.1/24}\n",
		     "t.yaml:3:12: interfaces[1].role: a second inside interface (the first is "
		     "at line 2): expected one inside and one outside");
	expect_error(IFACES "  - {role: outside, device: c, address: 198.51.100.1/24}\n",
		     "t.yaml:8:12: interfaces[2].role: a second outside interface (the first is "
		     "at line 5): expected one inside and one outside");
}

static void test_iface_pair(void **state)
{
	expect_error("interfaces:\n"
		     "  - {role: inside, device: a, address: 198.18.1.1/24}\n"
		     "  - {role: outside, device: a, address: 203.0.113.1/24}\n",
		     "t.yaml:3:29: interfaces[1].device: the inside interface (line 2) uses the same device");
	expect_error("interfaces:\n"
		     "  - {name: x, role: inside, device: a, address: 198.18.1.1/24}\n"
		     "  - {name: x, role: outside, device: b, address: 203.0.113.1/24}\n",
		     "t.yaml:3:12: interfaces[1].name: the inside interface (line 2) has the same "
		     "name \"x\": expected distinct names");
	expect_error("interfaces:\n"
		     "  - {role: inside, device: a, address: 198.18.1.1/16}\n"
		     "  - {role: outside, device: b, address: 198.18.200.1/24}\n",
		     "t.yaml:3:41: interfaces[1].address: 198.18.200.0/24 overlaps the inside "
		     "interface's subnet 198.18.0.0/16 (line 2): expected disjoint subnets");
}

static void test_routes(void **state)
{
	expect_error(IFACES "routes:\n  - {prefix: 198.18.1.5/16, via: 198.18.1.2}\n",
		     "t.yaml:9:14: routes[0].prefix: \"198.18.1.5/16\" has host bits set: "
		     "expected 198.18.0.0/16");
	expect_error(IFACES "routes:\n  - {prefix: 198.18.0.0, via: 198.18.1.2}\n",
		     "t.yaml:9:14: routes[0].prefix: expected an IPv4 prefix like 198.18.0.0/16, "
		     "got \"198.18.0.0\"");
	expect_error(IFACES "routes:\n  - {prefix: 198.18.0.0/40, via: 198.18.1.2}\n",
		     "t.yaml:9:14: routes[0].prefix: expected a prefix length from 1 to 32 after "
		     "the \"/\", got \"198.18.0.0/40\"");
	expect_error(IFACES "routes:\n  - {prefix: 0.0.0.0/0, via: 203.0.113.254}\n",
		     "t.yaml:9:14: routes[0].prefix: expected a prefix length from 1 to 32: set "
		     "the default route with default_gateway");
	expect_error(IFACES "routes:\n  - {prefix: 198.18.1.0/24, via: 203.0.113.254}\n",
		     "t.yaml:9:14: routes[0].prefix: 198.18.1.0/24 is the inside interface's "
		     "connected subnet: expected another prefix");
	expect_error(IFACES "routes:\n"
		     "  - {prefix: 198.18.0.0/16, via: 198.18.1.2}\n"
		     "  - {prefix: 198.18.0.0/16, via: 198.18.1.3}\n",
		     "t.yaml:10:14: routes[1].prefix: routes[0] already goes to 198.18.0.0/16: "
		     "expected one route per prefix");
}

static void test_too_many_routes(void **state)
{
	size_t size = 300 * 64, used;
	char *yaml = malloc(size);

	assert_non_null(yaml);
	used = (size_t)snprintf(yaml, size, IFACES "routes:\n");
	for (int i = 0; i < CONFIG_MAX_ROUTES; i++)
		used += (size_t)snprintf(yaml + used, size - used,
					 "  - {prefix: 198.19.%d.0/24, via: 198.18.1.2}\n", i);
	expect_ok(yaml);
	assert_int_equal(cfg.n_routes, CONFIG_MAX_ROUTES);
	assert_int_equal(cfg.routes[255].prefix, IP4(198, 19, 255, 0));
	config_free(&cfg);
	snprintf(yaml + used, size - used, "  - {prefix: 198.18.2.0/24, via: 198.18.1.2}\n");
	expect_error(yaml, "t.yaml:265:5: routes[256]: too many routes: at most 256");
	free(yaml);
}

static void test_gateways(void **state)
{
	static const char *const not_connected =
		"is not on a connected subnet: expected an address in 198.18.1.0/24 (inside) "
		"or 203.0.113.0/24 (outside)";
	char want[512];

	snprintf(want, sizeof(want), "t.yaml:9:34: routes[0].via: 198.51.100.1 %s",
		 not_connected);
	expect_error(IFACES "routes:\n  - {prefix: 198.18.0.0/16, via: 198.51.100.1}\n", want);
	snprintf(want, sizeof(want), "t.yaml:8:18: default_gateway: 203.0.114.1 %s",
		 not_connected);
	expect_error(IFACES "default_gateway: 203.0.114.1\n", want);
	expect_error(IFACES "default_gateway: 203.0.113.1\n",
		     "t.yaml:8:18: default_gateway: 203.0.113.1 is this appliance's own outside "
		     "address: expected a neighbour's address");
	expect_error(IFACES "default_gateway: 203.0.113.255\n",
		     "t.yaml:8:18: default_gateway: 203.0.113.255 is the broadcast address of the "
		     "outside subnet: expected a neighbour's address");
	expect_error(IFACES "routes:\n  - {prefix: 198.18.0.0/16, via: 198.18.1.0}\n",
		     "t.yaml:9:34: routes[0].via: 198.18.1.0 is the network address of the "
		     "inside subnet: expected a neighbour's address");
	expect_error(IFACES "default_gateway: 203.0.113.300\n",
		     "t.yaml:8:18: default_gateway: expected an IPv4 address like 203.0.113.1, "
		     "got \"203.0.113.300\"");
	expect_error(IFACES "default_gateway: 203.0.113.254/24\n",
		     "t.yaml:8:18: default_gateway: expected an IPv4 address like 203.0.113.1, "
		     "got \"203.0.113.254/24\"");
	expect_error(IFACES "default_gateway: 255.255.255.255\n",
		     "t.yaml:8:18: default_gateway: 255.255.255.255 is not a unicast address "
		     "(reserved or broadcast)");
}

static void test_frontend_errors(void **state)
{
	static const struct {
		const char *item, *msg;
	} cases[] = {
		{ "192.0.2.29-192.0.2.10",
		  "range \"192.0.2.29-192.0.2.10\" is reversed: expected the lower address first" },
		{ "192.0.0.0-192.0.16.0",
		  "range \"192.0.0.0-192.0.16.0\" has 4097 addresses: expected at most 4096" },
		{ "192.0.0.0/19",
		  "\"192.0.0.0/19\" is 8192 addresses: expected /20 or longer (at most 4096 addresses)" },
		{ "192.0.2.1/24", "\"192.0.2.1/24\" has host bits set: expected 192.0.2.0/24" },
		{ "203.0.113.1", "203.0.113.1 is the outside interface's address: a frontend IP "
				 "must be an address of its own" },
		{ "198.18.1.0/28", "\"198.18.1.0/28\" includes 198.18.1.1, the inside interface's "
				   "address: a frontend IP must be an address of its own" },
		{ "223.255.255.254-224.0.0.1", "224.0.0.0 is not a unicast address (multicast)" },
		{ "192.0.2", "expected an address (192.0.2.10), a CIDR block (192.0.2.16/28) or a "
			     "range (192.0.2.10-192.0.2.29), got \"192.0.2\"" },
		{ "192.0.2.1-", "expected an address (192.0.2.10), a CIDR block (192.0.2.16/28) or a "
				"range (192.0.2.10-192.0.2.29), got \"192.0.2.1-\"" },
		{ "192.0.2.1/40", "expected an address (192.0.2.10), a CIDR block (192.0.2.16/28) or a "
				  "range (192.0.2.10-192.0.2.29), got \"192.0.2.1/40\"" },
	};
	char yaml[512], want[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml), IFACES "frontend_ips:\n  - 192.0.2.1\n  - %s\n",
			 cases[i].item);
		snprintf(want, sizeof(want), "t.yaml:10:5: frontend_ips[1]: %s", cases[i].msg);
		expect_error(yaml, want);
	}
	expect_error(IFACES "frontend_ips: [198.51.96.0/20, 192.0.2.1]\n",
		     "t.yaml:8:32: frontend_ips[1]: this item makes 4097 frontend IPs: "
		     "expected at most 4096 in all");
}

static void test_eal_args(void **state)
{
	char yaml[1024] = IFACES "dpdk:\n  eal_args:\n";

	for (int i = 0; i < CONFIG_MAX_EAL_ARGS; i++)
		strcat(yaml, "    - -v\n");
	expect_ok(yaml);
	assert_int_equal(cfg.n_eal_args, CONFIG_MAX_EAL_ARGS);
	config_free(&cfg);
	strcat(yaml, "    - --one-too-many\n");
	expect_error(yaml, "t.yaml:74:7: dpdk.eal_args[64]: too many EAL arguments: at most 64");
	expect_error(IFACES "dpdk: {eal_args: [\"\"]}\n",
		     "t.yaml:8:19: dpdk.eal_args[0]: expected an EAL argument, got an empty value");
}

/* Long and odd values are quoted with escapes and cut in messages. */
static void test_message_quoting(void **state)
{
	expect_error("interfaces:\n  - {role: \"in\\tside\\\"\"}\n",
		     "t.yaml:2:12: interfaces[0].role: expected inside or outside, got \"in\\x09side\\\"\"");
	expect_error("interfaces:\n  - {role: "
		     "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\"}\n",
		     "t.yaml:2:12: interfaces[0].role: expected inside or outside, got "
		     "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...\"");
}

/* A small error buffer truncates the message, never overflows. */
static void test_small_error_buffer(void **state)
{
	char small[12];
	const char *yaml = "workers: 2\n";

	assert_int_equal(config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, small,
					    sizeof(small)), -EINVAL);
	assert_string_equal(small, "t.yaml:1:1:");
	assert_int_equal(config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, NULL, 0),
			 -EINVAL);
}

/* ------------------------------------------------------------ garbage */

static char *read_example(size_t *len)
{
	FILE *f = fopen(example_path, "rb");
	char *buf = malloc(1 << 16);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

/* Either loads or fails with a positioned message; never crashes, never
 * leaks (ASan), never leaves cfg half-filled. */
static void load_anything(const char *buf, size_t len)
{
	int rc = config_load_buffer("t.yaml", buf, len, &cfg, err, sizeof(err));

	if (rc == 0) {
		config_free(&cfg);
		return;
	}
	assert_int_equal(rc, -EINVAL);
	assert_memory_equal(err, "t.yaml:", 7);
	assert_int_equal(cfg.n_eal_args, 0);
}

static void test_truncated_example(void **state)
{
	size_t len;
	char *buf = read_example(&len);

	for (size_t cut = 0; cut <= len; cut++)
		load_anything(buf, cut);
	free(buf);
}

static void test_random_bytes(void **state)
{
	static const char alphabet[] = "ab01.-/:[]{},&*!|>'\"#\n \t?%@`\\~";
	char buf[512];
	unsigned seed = 12345;

	for (int i = 0; i < 4000; i++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));

		for (size_t j = 0; j < len; j++)
			buf[j] = i % 2 ? (char)rand_r(&seed)
				       : alphabet[rand_r(&seed) % (int)(sizeof(alphabet) - 1)];
		load_anything(buf, len);
	}
}

/* The example with a few bytes changed: gets deep into the checks. */
static void test_mutated_example(void **state)
{
	static const char bytes[] = "0123456789./-:[]{}, \n#&*x\xff";
	unsigned seed = 777;
	size_t len;
	char *orig = read_example(&len);
	char *buf = malloc(len);

	assert_non_null(buf);
	for (int i = 0; i < 4000; i++) {
		memcpy(buf, orig, len);
		for (int k = 0; k < 1 + i % 4; k++)
			buf[rand_r(&seed) % (int)len] =
				bytes[rand_r(&seed) % (int)(sizeof(bytes) - 1)];
		load_anything(buf, len);
	}
	free(buf);
	free(orig);
}

static void test_sessions_snat_dnat(void **state)
{
	expect_ok(IFACES);
	assert_int_equal(cfg.sessions_per_worker, 262144);
	assert_false(cfg.eim);
	assert_int_equal(cfg.tcp_established_s, 7440);
	assert_int_equal(cfg.tcp_transitory_s, 240);
	assert_int_equal(cfg.udp_s, 300);
	assert_int_equal(cfg.icmp_s, 60);
	assert_int_equal(cfg.n_no_snat, 4); /* RFC 1918 + RFC 6598 */
	assert_true(cfg.dnat_snat);
	config_free(&cfg);

	/* The profile sets the timeouts; keys after it override. */
	expect_ok(IFACES "sessions:\n"
		  "  udp_s: 100\n"
		  "  timeout_profile: azure\n"
		  "  mapping: endpoint-independent\n"
		  "  per_worker: 4096\n"
		  "snat:\n"
		  "  no_snat: [198.18.0.0/15]\n"
		  "  icmp_on_exhaustion: false\n"
		  "dnat:\n"
		  "  snat_to_inside: false\n"
		  "  sessions_per_worker: 2048\n");
	assert_int_equal(cfg.tcp_established_s, 240);
	assert_int_equal(cfg.udp_s, 100);
	assert_true(cfg.eim);
	assert_int_equal(cfg.sessions_per_worker, 4096);
	assert_int_equal(cfg.n_no_snat, 1);
	assert_int_equal(cfg.no_snat[0].prefix, 0xc6120000);
	assert_int_equal(cfg.no_snat[0].prefix_len, 15);
	assert_false(cfg.icmp_on_exhaustion);
	assert_false(cfg.dnat_snat);
	assert_int_equal(cfg.dnat_sessions_per_worker, 2048);
	config_free(&cfg);

	expect_ok(IFACES "snat:\n  no_snat: []\n");
	assert_int_equal(cfg.n_no_snat, 0);
	config_free(&cfg);

	expect_error(IFACES "sessions:\n  mapping: full-cone\n",
		     "t.yaml:9:12: sessions.mapping: expected endpoint-dependent or "
		     "endpoint-independent, got \"full-cone\"");
	expect_error(IFACES "sessions:\n  timeout_profile: aws\n",
		     "t.yaml:9:20: sessions.timeout_profile: expected rfc or azure, got \"aws\"");
	expect_error(IFACES "sessions:\n  per_worker: 10\n",
		     "t.yaml:9:15: sessions.per_worker: expected an integer from 1024 to 16777216, got \"10\"");
	expect_error(IFACES "snat:\n  no_snat: [10.0.0.1/8]\n",
		     "t.yaml:9:13: snat.no_snat[0]: \"10.0.0.1/8\" has host bits set: expected 10.0.0.0/8");
	expect_error(IFACES "workers: 2\ndnat:\n  snat_to_inside: false\n",
		     "t.yaml:10:3: dnat.snat_to_inside: false needs workers: 1 (with several "
		     "workers, inbound DNAT replies are steered by the inside address's port)");
	expect_error(IFACES "dnat:\n  snat_to_inside: yes\n",
		     "t.yaml:9:19: dnat.snat_to_inside: expected true or false, got \"yes\"");
}

static void test_services(void **state)
{
	expect_ok(IFACES);
	assert_string_equal(cfg.control_socket, "/run/tollgate/tollgate.sock");
	assert_false(cfg.metrics_enabled);
	assert_string_equal(cfg.decision_log, "");
	assert_int_equal(cfg.inspect_timeout_s, 10);
	assert_true(cfg.inspect_http_403);
	assert_false(cfg.dns_enabled);
	config_free(&cfg);

	expect_ok(IFACES "control:\n"
		  "  socket: /tmp/tg.sock\n"
		  "  admin_group: netops\n"
		  "  read_group: sre\n"
		  "metrics:\n  listen: 127.0.0.1:9469\n"
		  "logs:\n  decisions: \"-\"\n  ring: 1000\n"
		  "inspection:\n  timeout_s: 3\n  http_403: false\n"
		  "dns:\n  upstreams: [203.0.113.53, 198.51.100.53]\n  retention_s: 60\n");
	assert_string_equal(cfg.control_socket, "/tmp/tg.sock");
	assert_string_equal(cfg.admin_group, "netops");
	assert_string_equal(cfg.read_group, "sre");
	assert_true(cfg.metrics_enabled);
	assert_int_equal(cfg.metrics_addr, 0x7f000001);
	assert_int_equal(cfg.metrics_port, 9469);
	assert_string_equal(cfg.decision_log, "-");
	assert_int_equal(cfg.log_ring, 1000);
	assert_int_equal(cfg.inspect_timeout_s, 3);
	assert_false(cfg.inspect_http_403);
	assert_true(cfg.dns_enabled);
	assert_int_equal(cfg.n_dns_upstreams, 2);
	assert_int_equal(cfg.dns_upstreams[1], 0xc6336435);
	assert_int_equal(cfg.dns_retention_s, 60);
	config_free(&cfg);

	expect_error(IFACES "metrics:\n  listen: 198.18.1.1:9469\n",
		     "t.yaml:9:11: metrics.listen: metrics listen only on a loopback address "
		     "(127.0.0.0/8), got \"198.18.1.1:9469\"");
	expect_error(IFACES "metrics:\n  listen: 127.0.0.1\n",
		     "t.yaml:9:11: metrics.listen: expected ADDRESS:PORT like 127.0.0.1:9469, "
		     "got \"127.0.0.1\"");
	expect_error(IFACES "control:\n  socket: tg.sock\n",
		     "t.yaml:9:11: control.socket: expected an absolute path, got \"tg.sock\"");
	expect_error(IFACES "dns:\n  proxy: true\n",
		     "t.yaml:9:10: dns.proxy: proxy: true needs dns.upstreams (the servers to "
		     "forward to)");
	expect_error(IFACES "dns:\n  upstreams: [203.0.113.53, 203.0.113.53]\n",
		     "t.yaml:9:29: dns.upstreams[1]: 203.0.113.53 is listed twice");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_pci_or_vdev),
		cmocka_unit_test(test_policy_path),
		cmocka_unit_test(test_frontend_expansion),
		cmocka_unit_test_setup_teardown(test_file_errors, setup_tmpdir, remove_tmpdir),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_sessions_snat_dnat),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_aliases_refused),
		cmocka_unit_test(test_structure_limits),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_iface_address),
		cmocka_unit_test(test_iface_roles),
		cmocka_unit_test(test_iface_pair),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_too_many_routes),
		cmocka_unit_test(test_gateways),
		cmocka_unit_test(test_frontend_errors),
		cmocka_unit_test(test_eal_args),
		cmocka_unit_test(test_message_quoting),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_truncated_example),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_mutated_example),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s control/tollgate.example.yaml\n", argv[0]);
		return 2;
	}
	example_path = argv[1];
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
