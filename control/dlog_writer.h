/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The decision-log writer: drains the workers' record rings
 * (dataplane/dlog.h) on the control thread and writes one JSON line per
 * decision to `logs.decisions` (a file opened for appending, or standard
 * output for "-").
 */
#ifndef TG_CONTROL_DLOG_WRITER_H
#define TG_CONTROL_DLOG_WRITER_H

#include <stddef.h>

struct ctl;

/* Open the log named in the configuration (nothing when logs are off);
 * sets c->dlogw. 0 or -errno with `err` set. */
int dlog_writer_open(struct ctl *c, char *err, size_t errlen);
/* Write at most `budget` records (from all rings, round robin); returns how
 * many. Harmless when logs are off. */
unsigned dlog_writer_drain(struct ctl *c, unsigned budget);
/* Drain what is left, flush and close. */
void dlog_writer_close(struct ctl *c);

#endif
