/*
 * The one clock for durations and deadlines: seconds on CLOCK_MONOTONIC, which a wall-clock jump (NTP,
 * a VM resumed) does not move. Wall-clock time is for log timestamps only (log.c).
 */
#ifndef MG_MONOTIME_H
#define MG_MONOTIME_H

/* Seconds since an arbitrary fixed point, with nanosecond resolution. */
double monotime_now(void);

#endif
