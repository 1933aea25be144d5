/* SPDX-License-Identifier: BSD-3-Clause
 * Policy benchmarks for tollgate-bench: scenarios "fqdn" and "classify".
 */
#ifndef TOLLGATE_BENCH_POLICY_H
#define TOLLGATE_BENCH_POLICY_H

/* argv[0] is the scenario name ("fqdn" or "classify"). Returns an exit
 * status (0 ok, 1 a goal was missed with --check, 2 bad arguments). */
int bench_policy_main(int argc, char **argv);

#endif
