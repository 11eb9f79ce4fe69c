/*
 * The one clock for durations and deadlines: seconds on CLOCK_MONOTONIC, which a wall-clock jump (NTP,
 * a VM resumed) does not move. Wall-clock time is for log timestamps (log.c) and for comparing with the
 * timestamps other programs write into Kubernetes objects (a Canary's lastTransitionTime, an Event's
 * times): monotime_wall.
 */
#ifndef MG_MONOTIME_H
#define MG_MONOTIME_H

/* Seconds since an arbitrary fixed point, with nanosecond resolution. */
double monotime_now(void);
/* Unix time in seconds (CLOCK_REALTIME): never for durations. */
double monotime_wall(void);

#endif
