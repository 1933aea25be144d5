/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tollgate-bench: drives the real data-plane code in-process and reports
 * medians and spreads over repeated runs.
 *
 *   tollgate-bench [--no-huge] [--runs N] [--json] SCENARIO [scenario options]
 *
 * Scenarios: the table `scenarios` below (one line each; run with no
 * arguments for the list). With --json the driver prints one document:
 * the machine and the build, then every scenario's results.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_version.h>

#include "bench/bench.h"
#include "bench/bench_dns.h"
#include "bench/bench_exhaust.h"
#include "bench/bench_forward.h"
#include "bench/bench_inspect.h"
#include "bench/bench_policy.h"
#include "bench/bench_snat.h"
#include "bench/bench_update.h"

const char *bench_memory_mode = "not started";

void
bench_figure_add(struct bench_figure *f, double v)
{
	if (f->n < BENCH_MAX_RUNS)
		f->v[f->n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
bench_median(const struct bench_figure *f)
{
	double s[BENCH_MAX_RUNS];

	if (f->n == 0)
		return NAN;
	memcpy(s, f->v, sizeof(double) * f->n);
	qsort(s, f->n, sizeof(double), cmp_double);
	return f->n % 2 ? s[f->n / 2] : (s[f->n / 2 - 1] + s[f->n / 2]) / 2;
}

double
bench_min(const struct bench_figure *f)
{
	double m = INFINITY;

	for (unsigned i = 0; i < f->n; i++)
		m = fmin(m, f->v[i]);
	return m;
}

double
bench_max(const struct bench_figure *f)
{
	double m = -INFINITY;

	for (unsigned i = 0; i < f->n; i++)
		m = fmax(m, f->v[i]);
	return m;
}

static void
cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');

			if (p) {
				p += 2;
				p[strcspn(p, "\n")] = '\0';
				snprintf(buf, len, "%s", p);
			}
			break;
		}
	}
	fclose(f);
}

/*
 * JSON: every result goes into one document, printed by the driver when the
 * scenario is done (bench_json_finish), with the machine and the build
 * described once at its head.
 */
static char *json_buf;
static size_t json_len;
static FILE *json_out;
static unsigned json_n;
static bool json_wanted;      /* --json or --json-out */

bool
bench_json_wanted(void)
{
	return json_wanted;
}

void
bench_json_add(const char *fmt, ...)
{
	va_list ap;

	if (json_out == NULL) {
		json_out = open_memstream(&json_buf, &json_len);
		if (json_out == NULL)
			return;
	}
	fputs(json_n++ ? ",\n    " : "\n    ", json_out);
	va_start(ap, fmt);
	vfprintf(json_out, fmt, ap);
	va_end(ap);
}

/* A JSON string: the few characters our contexts can hold, escaped. */
const char *
bench_json_str(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = (*s == '\n' || *s == '\t') ? ' ' : *s;
	}
	buf[o] = '\0';
	return buf;
}

void
bench_report(FILE *out, bool json, const char *scenario, const struct bench_figure *figs,
	     unsigned n, const char *context)
{
	char cpu[128], ctx[1024];

	if (json_wanted) {
		for (unsigned i = 0; i < n; i++) {
			const struct bench_figure *f = &figs[i];
			char samples[BENCH_MAX_RUNS * 16] = "";
			size_t l = 0;

			for (unsigned k = 0; k < f->n && l < sizeof(samples); k++)
				l += (size_t)snprintf(samples + l, sizeof(samples) - l, "%s%.6g",
						      k ? ", " : "", f->v[k]);
			bench_json_add("{\"scenario\": \"%s\", \"figure\": \"%s\", \"unit\": \"%s\", "
				       "\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, "
				       "\"runs\": %u, \"samples\": [%s], \"context\": \"%s\"}",
				       scenario, f->name, f->unit, bench_median(f), bench_min(f),
				       bench_max(f), f->n, samples,
				       bench_json_str(ctx, sizeof(ctx), context));
		}
	}
	if (json)
		return;
	cpu_model(cpu, sizeof(cpu));
	fprintf(out, "\n%s: %s\n", scenario, context ? context : "");
	if (rte_get_tsc_hz() != 0)
		fprintf(out, "  machine: %s, TSC %.2f GHz, %s; build: %s\n", cpu,
			(double)rte_get_tsc_hz() / 1e9, bench_memory_mode, TG_BUILD_DESC);
	else
		fprintf(out, "  machine: %s, %s; build: %s\n", cpu, bench_memory_mode,
			TG_BUILD_DESC);
	fprintf(out, "  %-40s %12s %12s %12s  %s\n", "figure", "median", "min", "max", "unit");
	for (unsigned i = 0; i < n; i++) {
		const struct bench_figure *f = &figs[i];

		fprintf(out, "  %-40s %12.4g %12.4g %12.4g  %s (%u runs)\n", f->name,
			bench_median(f), bench_min(f), bench_max(f), f->unit, f->n);
	}
}

/* The one JSON document: machine, build, memory, then every result. */
static void
bench_json_finish(FILE *out, int argc, char **argv, int status)
{
	char cpu[128], s[512];
	struct utsname u;

	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	if (json_out != NULL)
		fclose(json_out);
	fprintf(out, "{\n  \"tool\": \"tollgate-bench\",\n  \"command\": [");
	for (int i = 0; i < argc; i++)
		fprintf(out, "%s\"%s\"", i ? ", " : "", bench_json_str(s, sizeof(s), argv[i]));
	fprintf(out, "],\n  \"exit_status\": %d,\n", status);
	/* The TSC rate is known only when the scenario started the EAL. */
	fprintf(out, "  \"machine\": {\"cpu\": \"%s\", \"cores_online\": %ld, \"kernel\": \"%s\"",
		bench_json_str(s, sizeof(s), cpu), sysconf(_SC_NPROCESSORS_ONLN), u.release);
	if (rte_get_tsc_hz() != 0)
		fprintf(out, ", \"tsc_hz\": %" PRIu64, rte_get_tsc_hz());
	fprintf(out, "},\n");
	fprintf(out,
		"  \"build\": {\"compiler\": \"%s\", \"buildtype\": \"%s\", \"lto\": %s, "
		"\"march\": \"%s\", \"dpdk\": \"%s\"},\n",
		TG_BUILD_COMPILER, TG_BUILD_TYPE, TG_BUILD_LTO ? "true" : "false", TG_BUILD_MARCH,
		rte_version());
	fprintf(out, "  \"memory\": \"%s\",\n  \"results\": [%s\n  ]\n}\n", bench_memory_mode,
		json_buf ? json_buf : "");
	free(json_buf);
	json_buf = NULL;
	json_out = NULL;
}

/* Hugepages when the machine has enough free; otherwise run without. */
static bool
hugepages_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long free_pages = 0, size_kb = 0;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %lu", &free_pages);
		sscanf(line, "Hugepagesize: %lu kB", &size_kb);
	}
	fclose(f);
	return free_pages * size_kb >= 512UL * 1024;
}

/*
 * The scenarios. A scenario either runs on the EAL the driver starts
 * (`run`, given the parsed options) or needs none and parses its own
 * arguments (`run_argv`; the driver passes --runs and --json along).
 */
struct scenario {
	const char *name;
	int (*run)(const struct bench_opts *o);
	int (*run_argv)(int argc, char **argv);
	const char *help;
};

static const struct scenario scenarios[] = {
	{ "floor", bench_forward_main, NULL,
	  "plain rx->tx loop on the same rings: the reference figure" },
	{ "forward", bench_forward_main, NULL,
	  "established flows through the whole worker (conntrack, SNAT,\n"
	  "route), 64-byte UDP; --sessions N (default 10000)" },
	{ "new-flows", bench_forward_main, NULL,
	  "every packet a new flow: policy, SNAT allocation, session" },
	{ "snat-exhaustion", bench_exhaust_main, NULL,
	  "ramps of new flows from 198.18.0.0/16 to 1/10/100 destinations\n"
	  "over 1/2/20 frontend IPs, past 100 % of the ports: one row a step" },
	{ "snat-alloc", NULL, bench_snat_main,
	  "the SNAT allocator alone: cost at 1/50/99 % utilisation" },
	{ "inspect", bench_inspect_main, NULL,
	  "new inspected TLS flows with captured hellos (Chromium, curl,\n"
	  "OpenSSL, GnuTLS, Python): handshake, the hello in its captured\n"
	  "segments, decision, release; --flows N a kind (default 100000),\n"
	  "--captures DIR (default tests/data/captures)" },
	{ "dns", bench_dns_main, NULL,
	  "DNS proxy: queries answered per second from the cache and\n"
	  "forwarded (the bench plays the upstream)" },
	{ "update", bench_update_main, NULL,
	  "policy applies (A/B alternately) under established UDP flows:\n"
	  "compile, publish, active on the worker, loss; --updates N\n"
	  "(default 100), --sessions N (10000), --rules N (generated policy)" },
	{ "fqdn", NULL, bench_policy_main,
	  "FQDN matcher: ns/name and compile time at several sizes" },
	{ "classify", NULL, bench_policy_main,
	  "network-rule classifier: ns/packet at 10,000 rules" },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tollgate-bench [--no-huge] [--mem MB] [--runs N] [--json | --json-out FILE]\n"
		   "                      SCENARIO [options]\n"
		   "\nscenarios:\n");
	for (size_t i = 0; i < RTE_DIM(scenarios); i++) {
		const char *h = scenarios[i].help;

		fprintf(f, "  %-16s ", scenarios[i].name);
		for (; *h != '\0'; h++) {
			fputc(*h, f);
			if (*h == '\n')
				fprintf(f, "  %-16s ", "");
		}
		fputc('\n', f);
	}
	fprintf(f,
		"\n--json prints one JSON document (machine, build, memory, every figure\n"
		"with median, min, max and samples). Hugepages are used when at least\n"
		"512 MiB are free (bench/run.sh reserves them), unless --no-huge; the\n"
		"output says which. Without them the EAL takes --mem MB (default 2560).\n");
}

/* Scenarios that need no EAL get the driver's options appended. */
static int
run_without_eal(const struct scenario *sc, const struct bench_opts *o)
{
	char runs[16];
	char *av[o->argc + 4];
	int ac = 0;

	for (int k = 0; k < o->argc; k++)
		av[ac++] = o->argv[k];
	if (o->runs_given) {
		snprintf(runs, sizeof(runs), "%u", o->runs);
		av[ac++] = "--runs";
		av[ac++] = runs;
	}
	if (o->json)
		av[ac++] = "--json";
	av[ac] = NULL;
	bench_memory_mode = "no DPDK memory needed";
	return sc->run_argv(ac, av);
}

static int
start_eal(char *prog, bool no_huge, char *mem_mb)
{
	char *eal[] = { prog, "--no-huge", "-m", mem_mb, "--no-shconf", "--no-telemetry",
			"--no-pci", "-l", "0", "--log-level", "*:warning", NULL };
	char *eal_huge[] = { prog, "--in-memory", "--no-telemetry", "--no-pci", "-l", "0",
			     "--log-level", "*:warning", NULL };

	if (!no_huge && hugepages_available()) {
		if (rte_eal_init((int)RTE_DIM(eal_huge) - 1, eal_huge) < 0) {
			fprintf(stderr, "tollgate-bench: EAL with hugepages failed: %s\n",
				rte_strerror(rte_errno));
			return -1;
		}
		bench_memory_mode = "hugepages";
		return 0;
	}
	if (rte_eal_init((int)RTE_DIM(eal) - 1, eal) < 0) {
		fprintf(stderr, "tollgate-bench: EAL failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	bench_memory_mode = no_huge ? "no hugepages (--no-huge)"
				    : "no hugepages (fewer than 512 MiB free)";
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench_opts o = { .runs = 5 };
	const struct scenario *sc = NULL;
	char *mem_mb = "2560";
	const char *json_path = NULL;
	bool no_huge = false;
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--no-huge") == 0) {
			no_huge = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			o.json = true;
		} else if (strcmp(argv[i], "--json-out") == 0 && i + 1 < argc) {
			json_path = argv[++i];
		} else if (strcmp(argv[i], "--mem") == 0 && i + 1 < argc) {
			mem_mb = argv[++i];
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			o.runs = (unsigned)strtoul(argv[++i], NULL, 10);
			o.runs_given = true;
			if (o.runs == 0 || o.runs > BENCH_MAX_RUNS) {
				fprintf(stderr, "tollgate-bench: --runs must be 1..%d\n",
					BENCH_MAX_RUNS);
				return 2;
			}
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "tollgate-bench: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	o.argc = argc - i;
	o.argv = argv + i;
	json_wanted = o.json || json_path != NULL;
	for (size_t k = 0; k < RTE_DIM(scenarios); k++)
		if (strcmp(o.argv[0], scenarios[k].name) == 0)
			sc = &scenarios[k];
	if (sc == NULL) {
		fprintf(stderr, "tollgate-bench: unknown scenario \"%s\"\n", o.argv[0]);
		usage(stderr);
		return 2;
	}

	if (sc->run_argv != NULL) {
		ret = run_without_eal(sc, &o);
	} else {
		if (start_eal(argv[0], no_huge, mem_mb) != 0)
			return 1;
		ret = sc->run(&o);
	}
	/* Only a finished scenario's figures make a document. */
	if (json_wanted && ret == 0) {
		FILE *f = json_path ? fopen(json_path, "w") : stdout;

		if (f == NULL) {
			fprintf(stderr, "tollgate-bench: %s: %s\n", json_path, strerror(errno));
			ret = 1;
		} else {
			bench_json_finish(f, argc, argv, ret);
			if (f != stdout)
				fclose(f);
		}
	}
	if (sc->run_argv == NULL)
		rte_eal_cleanup();
	return ret;
}
