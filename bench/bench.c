/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tollgate-bench: drives the real data-plane code in-process and reports
 * medians and spreads over repeated runs.
 *
 *   tollgate-bench [--no-huge] [--runs N] [--json] SCENARIO [scenario options]
 *
 * Scenarios: floor, forward (this file's neighbours); fqdn, classify (the
 * policy matcher, bench_policy.c). Run with no arguments for the list.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "bench/bench.h"
#include "bench/bench_forward.h"
#include "bench/bench_policy.h"
#include "bench/bench_snat.h"

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

void
bench_report(FILE *out, bool json, const char *scenario, const struct bench_figure *figs,
	     unsigned n, const char *context)
{
	char cpu[128];
	struct utsname u;

	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	if (json) {
		for (unsigned i = 0; i < n; i++) {
			const struct bench_figure *f = &figs[i];

			fprintf(out,
				"{\"scenario\": \"%s\", \"figure\": \"%s\", \"unit\": \"%s\", "
				"\"median\": %.4g, \"min\": %.4g, \"max\": %.4g, \"runs\": %u, "
				"\"samples\": [",
				scenario, f->name, f->unit, bench_median(f), bench_min(f),
				bench_max(f), f->n);
			for (unsigned k = 0; k < f->n; k++)
				fprintf(out, "%s%.4g", k ? ", " : "", f->v[k]);
			fprintf(out,
				"], \"context\": \"%s\", \"memory\": \"%s\", \"cpu\": \"%s\", "
				"\"tsc_hz\": %" PRIu64 ", \"kernel\": \"%s\", \"build\": \"%s\"}\n",
				context ? context : "", bench_memory_mode, cpu, rte_get_tsc_hz(),
				u.release, TG_BUILD_DESC);
		}
		return;
	}
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

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: tollgate-bench [--no-huge] [--runs N] [--json] SCENARIO [options]\n"
		"\n"
		"scenarios:\n"
		"  floor      plain rx->tx loop on the same rings: the reference figure\n"
		"  forward    established flows through the whole worker (conntrack, SNAT,\n"
		"             route), 64-byte UDP; --sessions N (default 10000)\n"
		"  new-flows  every packet a new flow: policy, SNAT allocation, session\n"
		"  snat-alloc the SNAT allocator alone: cost at 1/50/99 %% utilisation\n"
		"  fqdn       FQDN matcher: ns/name and compile time at several sizes\n"
		"  classify   network-rule classifier: ns/packet at 10,000 rules\n"
		"\n"
		"Hugepages are used when at least 512 MiB are free (see bench/README.md\n"
		"for reserving them), unless --no-huge; the output says which.\n");
}

int
main(int argc, char **argv)
{
	char *eal[] = { argv[0], "--no-huge", "-m", "2048", "--no-shconf", "--no-telemetry",
			"--no-pci", "-l", "0", "--log-level", "*:warning", NULL };
	char *eal_huge[] = { argv[0], "--in-memory", "--no-telemetry", "--no-pci", "-l", "0",
			     "--log-level", "*:warning", NULL };
	struct bench_opts o = { .runs = 5 };
	bool no_huge = false;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--no-huge") == 0) {
			no_huge = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			o.json = true;
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

	if (strcmp(o.argv[0], "fqdn") == 0 || strcmp(o.argv[0], "classify") == 0 ||
	    strcmp(o.argv[0], "snat-alloc") == 0) {
		/* These parse their own options: pass the driver's along. */
		char runs[16];
		char *av[o.argc + 4];
		int ac = 0;

		for (int k = 0; k < o.argc; k++)
			av[ac++] = o.argv[k];
		if (o.runs_given) {
			snprintf(runs, sizeof(runs), "%u", o.runs);
			av[ac++] = "--runs";
			av[ac++] = runs;
		}
		if (o.json)
			av[ac++] = "--json";
		av[ac] = NULL;
		bench_memory_mode = "no DPDK memory needed";
		if (strcmp(o.argv[0], "snat-alloc") == 0)
			return bench_snat_main(ac, av);
		return bench_policy_main(ac, av);
	}

	if (!no_huge && hugepages_available()) {
		if (rte_eal_init((int)(sizeof(eal_huge) / sizeof(eal_huge[0])) - 1, eal_huge) < 0) {
			fprintf(stderr, "tollgate-bench: EAL with hugepages failed: %s\n",
				rte_strerror(rte_errno));
			return 1;
		}
		bench_memory_mode = "hugepages";
	} else {
		if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
			fprintf(stderr, "tollgate-bench: EAL failed: %s\n", rte_strerror(rte_errno));
			return 1;
		}
		bench_memory_mode = no_huge ? "no hugepages (--no-huge)"
					    : "no hugepages (fewer than 512 MiB free)";
	}
	if (strcmp(o.argv[0], "floor") == 0 || strcmp(o.argv[0], "forward") == 0 ||
	    strcmp(o.argv[0], "new-flows") == 0)
		return bench_forward_main(&o);
	fprintf(stderr, "tollgate-bench: unknown scenario \"%s\"\n", o.argv[0]);
	usage(stderr);
	rte_eal_cleanup();
	return 2;
}
