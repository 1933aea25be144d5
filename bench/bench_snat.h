/* SPDX-License-Identifier: BSD-3-Clause
 * SNAT allocator benchmark for tollgate-bench: scenario "snat-alloc".
 */
#ifndef TOLLGATE_BENCH_SNAT_H
#define TOLLGATE_BENCH_SNAT_H

/* argv[0] is the scenario name ("snat-alloc"); options --runs N, --json,
 * --pairs N (timed alloc+free pairs per level and run), --check. Needs no
 * EAL. Returns an exit status (0 ok, 1 a goal was missed with --check,
 * 2 bad arguments or out of memory). */
int bench_snat_main(int argc, char **argv);

#endif
