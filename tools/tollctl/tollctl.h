/* SPDX-License-Identifier: BSD-3-Clause
 * tollctl: the Tollgate command-line tool. Subcommands are a table; each
 * has a summary, a usage text and a handler taking (argc, argv) with
 * argv[0] the subcommand name.
 *
 * Exit codes: 0 success, 1 the operation failed (e.g. policy errors),
 * 2 bad command line.
 */
#ifndef TOLLGATE_TOLLCTL_H
#define TOLLGATE_TOLLCTL_H

#include <stdio.h>

#define TOLLCTL_EXIT_OK 0
#define TOLLCTL_EXIT_FAIL 1
#define TOLLCTL_EXIT_USAGE 2
#define TOLLCTL_EXIT_CONNECT 3 /* commands for the running appliance: no answer */

struct tollctl_cmd {
	const char *name;
	const char *summary;
	const char *usage; /* full --help text */
	int (*run)(int argc, char **argv);
};

int tollctl_cmd_validate(int argc, char **argv);
int tollctl_cmd_match(int argc, char **argv);
int tollctl_cmd_explain(int argc, char **argv);

extern const char tollctl_validate_usage[];
extern const char tollctl_match_usage[];
extern const char tollctl_explain_usage[];

/* Commands for the running appliance (cmd_remote.c). */
int tollctl_cmd_apply(int argc, char **argv);
int tollctl_cmd_show(int argc, char **argv);
int tollctl_cmd_metrics(int argc, char **argv);
int tollctl_cmd_hello(int argc, char **argv);
extern const char tollctl_apply_usage[];
extern const char tollctl_show_usage[];
extern const char tollctl_metrics_usage[];
extern const char tollctl_status_usage[];

/* Write s as a JSON string (escaped), or null when s is NULL. */
void tollctl_json_str(FILE *f, const char *s);

struct policy;
struct policy_ruleset;
struct policy_errors;

/* Load and compile a policy file as the appliance does (`svc`: a service
 * tags file overriding the policy's, or NULL); 0 or -errno with the
 * messages in `errs`. */
int tollctl_load_compile(const char *path, const char *svc, struct policy **p,
			 struct policy_ruleset **rs, struct policy_errors *errs);
/* Every message of `errs` to stderr, one a line, and how many were cut. */
void tollctl_print_errors(const struct policy_errors *e);

/* Print "tollctl CMD: message" and a hint to stderr; returns exit 2. */
int tollctl_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
