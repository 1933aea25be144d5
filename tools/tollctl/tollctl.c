/* SPDX-License-Identifier: BSD-3-Clause */
#include "tools/tollctl/tollctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static const char help_usage[] =
	"usage: tollctl help [COMMAND]\n"
	"\n"
	"Show the list of commands, or the help of one command.\n";

/* The command table. Commands that talk to the running daemon over its
 * Unix socket are added here by later issues. */
static const struct tollctl_cmd cmds[] = {
	{"validate", "check a policy file and report every error",
	 tollctl_validate_usage, tollctl_cmd_validate},
	{"match", "show what the policy does with one flow (offline)",
	 tollctl_match_usage, tollctl_cmd_match},
	{"explain", "replay a capture through the policy, one line per flow",
	 tollctl_explain_usage, tollctl_cmd_explain},
	{"apply", "publish a policy on the running appliance",
	 tollctl_apply_usage, tollctl_cmd_apply},
	{"show", "show rules, sessions, snat, stats, interfaces, routes, ...",
	 tollctl_show_usage, tollctl_cmd_show},
	{"metrics", "print the appliance's Prometheus metrics",
	 tollctl_metrics_usage, tollctl_cmd_metrics},
	{"status", "check that the appliance answers",
	 tollctl_status_usage, tollctl_cmd_hello},
	{"help", "show help for tollctl or one command", help_usage, cmd_help},
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct tollctl_cmd *find(const char *name)
{
	for (size_t i = 0; i < N_CMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void print_main_help(FILE *f)
{
	fprintf(f, "usage: tollctl [--help] COMMAND [ARGS...]\n"
		   "\n"
		   "Control and inspect the Tollgate firewall.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_CMDS; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nRun 'tollctl COMMAND --help' for the options of a "
		   "command.\n"
		   "Exit status: 0 success, 1 failure, 2 bad command line,\n"
		   "3 cannot connect to the appliance (apply, show, metrics, status).\n");
}

int tollctl_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "tollctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'tollctl %s%s--help'.\n", cmd ? cmd : "",
		cmd ? " " : "");
	return TOLLCTL_EXIT_USAGE;
}

void tollctl_json_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_main_help(stdout);
		return TOLLCTL_EXIT_OK;
	}
	const struct tollctl_cmd *c = find(argv[1]);
	if (c == NULL)
		return tollctl_usage_error("help", "unknown command '%s'",
					   argv[1]);
	fputs(c->usage, stdout);
	return TOLLCTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_main_help(stderr);
		return TOLLCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_main_help(stdout);
		return TOLLCTL_EXIT_OK;
	}
	const struct tollctl_cmd *c = find(argv[1]);
	if (c == NULL)
		return tollctl_usage_error(NULL, "unknown command '%s'",
					   argv[1]);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(c->usage, stdout);
			return TOLLCTL_EXIT_OK;
		}
	}
	return c->run(argc - 1, argv + 1);
}
