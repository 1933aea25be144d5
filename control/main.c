/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tollgate: the appliance.
 *
 *   tollgate [EAL options --] --config FILE [--check]
 *
 * EAL options come from the command line (DPDK style, before "--") or else
 * from the config file's dpdk.eal_args. The main lcore runs the control
 * thread; every other lcore up to `workers` runs a poll-mode worker.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "control/config.h"
#include "control/control.h"
#include "control/dlog_writer.h"
#include "control/metrics.h"
#include "control/policy_ctl.h"
#include "control/rpc_server.h"
#include "control/telemetry.h"
#include "rules/policy.h"

/* Decision records written per pass of the control loop, at most: a
 * flood of decisions delays the slow path by one such batch. */
#define DLOG_BUDGET 1024

#define EXIT_CONFIG 2

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: tollgate [EAL options --] --config FILE [--check]\n"
		"\n"
		"  -c, --config FILE   appliance configuration (YAML); see docs/config.md\n"
		"      --check         load and check the configuration and its policy, then exit\n"
		"  -h, --help          this text\n"
		"\n"
		"EAL options before \"--\" replace the file's dpdk.eal_args.\n"
		"Exit status: 0 clean stop, 1 start-up failure, 2 bad configuration or usage.\n");
}

static void
services_close(struct ctl *c)
{
	rpc_server_close(c);
	metrics_close(c);
	dlog_writer_close(c);
}

static int
run(struct ctl *c)
{
	unsigned wid = 0, lcore;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (wid == c->dp.n_workers)
			break;
		rte_eal_remote_launch(worker_main, c->dp.workers[wid++], lcore);
	}
	ctl_announce(c);
	printf("tollgate: ready: %u worker(s), inside %s, outside %s, %u frontend IP(s)\n",
	       c->dp.n_workers, c->cfg->ifaces[0].device, c->cfg->ifaces[1].device,
	       c->cfg->n_frontend_ips);
	fflush(stdout);

	while (!stop_requested) {
		unsigned work = ctl_poll(c);

		work += rpc_server_poll(c);
		work += metrics_poll(c);
		work += dlog_writer_drain(c, DLOG_BUDGET);
		/* The control thread may sleep: nothing waits on it but the
		 * slow path, which tolerates a fraction of a millisecond. */
		if (work == 0)
			usleep(200);
	}
	__atomic_store_n(&c->dp.stop, true, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	return 0;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	static struct ctl ctl;
	char *eal_argv[CONFIG_MAX_EAL_ARGS + 8];
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	struct policy_ruleset *rs = NULL;  /* compiled at start, until published */
	struct ctl_policy_digest *dg = NULL;
	static char err[16384];             /* every policy error, one per line */
	int cli_eal = 0, n_cli = 0, check = 0, opt, eal_argc, ret;
	char **ours = argv + 1;
	int n_ours = argc - 1;

	/* DPDK style: everything before "--" belongs to the EAL. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			cli_eal = 1;
			n_cli = i - 1;
			ours = argv + i + 1;
			n_ours = argc - i - 1;
			break;
		}
	}
	{
		char *gargv[n_ours + 2];

		gargv[0] = argv[0];
		memcpy(gargv + 1, ours, sizeof(char *) * (size_t)n_ours);
		gargv[n_ours + 1] = NULL;
		optind = 1;
		while ((opt = getopt_long(n_ours + 1, gargv, "c:h", opts, NULL)) != -1) {
			switch (opt) {
			case 'c':
				config_path = optarg;
				break;
			case 'k':
				check = 1;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return EXIT_CONFIG;
			}
		}
		if (optind != n_ours + 1) {
			fprintf(stderr, "tollgate: unexpected argument \"%s\"\n", gargv[optind]);
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (config_path == NULL) {
		fprintf(stderr, "tollgate: --config FILE is required\n");
		usage(stderr);
		return EXIT_CONFIG;
	}
	ret = config_load(config_path, &cfg, err, sizeof(err));
	if (ret != 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG;
	}
	if (cfg.policy_path[0] != '\0') {
		/* Compiled once, before anything starts: a bad policy stops
		 * the start like a bad config does, and a good one is what
		 * the workers get. */
		ret = ctl_policy_compile_digest(cfg.policy_path, NULL, 0, &rs, &dg, err,
						sizeof(err));
		if (ret != 0) {
			fprintf(stderr, "%s\n", err);
			config_free(&cfg);
			return EXIT_CONFIG;
		}
	} else {
		fprintf(stderr, "tollgate: warning: no policy in %s: every new flow will be "
				"refused (drop.policy-none)\n", config_path);
	}
	if (check) {
		printf("%s: configuration OK%s\n", config_path,
		       cfg.policy_path[0] ? ", policy OK" : "");
		ctl_policy_digest_free(dg);
		policy_ruleset_free(rs);
		config_free(&cfg);
		return 0;
	}

	eal_argc = ctl_eal_args(&cfg, argv[0], cli_eal ? argv + 1 : NULL, n_cli, eal_argv,
				(int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1);
	if (eal_argc < 0) {
		fprintf(stderr, "tollgate: too many EAL arguments\n");
		policy_ruleset_free(rs);
		ctl_policy_digest_free(dg);
		config_free(&cfg);
		return EXIT_CONFIG;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "tollgate: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		policy_ruleset_free(rs);
		ctl_policy_digest_free(dg);
		config_free(&cfg);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (cfg.workers + 1 > rte_lcore_count()) {
		fprintf(stderr,
			"tollgate: %u worker(s) need %u lcores (one more for the control thread), "
			"the EAL has %u: adjust -l/--lcores or workers\n",
			cfg.workers, cfg.workers + 1, rte_lcore_count());
		policy_ruleset_free(rs);
		ctl_policy_digest_free(dg);
		rte_eal_cleanup();
		config_free(&cfg);
		return 1;
	}
	ret = ctl_setup(&ctl, &cfg, err, sizeof(err));
	if (ret == 0 && rs != NULL) {
		ret = ctl_policy_publish_digest(&ctl, rs, dg, NULL, err, sizeof(err));
		if (ret == 0) {
			rs = NULL; /* the workers' now */
			dg = NULL;
		}
	}
	/* The services of the control thread: logs first, so that no
	 * decision of the first flows is lost. */
	if (ret == 0)
		ret = dlog_writer_open(&ctl, err, sizeof(err));
	if (ret == 0)
		ret = metrics_open(&ctl, err, sizeof(err));
	if (ret == 0)
		ret = rpc_server_open(&ctl, err, sizeof(err));
	if (ret == 0)
		ctl_telemetry_register(&ctl);
	if (ret != 0) {
		fprintf(stderr, "tollgate: %s\n", err);
		policy_ruleset_free(rs);
		ctl_policy_digest_free(dg);
		services_close(&ctl);
		ctl_teardown(&ctl);
		rte_eal_cleanup();
		config_free(&cfg);
		return 1;
	}
	run(&ctl);
	services_close(&ctl);
	printf("tollgate: stopping; counters:\n");
	ctl_stats_print(&ctl, stdout, 0);
	fflush(stdout);
	ctl_teardown(&ctl);
	rte_eal_cleanup();
	config_free(&cfg);
	return 0;
}
