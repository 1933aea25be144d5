/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TG_CONTROL_TELEMETRY_H
#define TG_CONTROL_TELEMETRY_H

struct ctl;

/* Register the /tollgate/... telemetry commands (see telemetry.c). */
int ctl_telemetry_register(struct ctl *c);

#endif
