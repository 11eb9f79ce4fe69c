/*
 * Prometheus metrics: admission counters and a latency histogram per endpoint and decision, denials and
 * overrides by rule and kind, counters of rejected HTTP requests; and, read at scrape time without any
 * API call, the Canary cache's numbers with a gauge set per gated Canary (phase, canary weight, failed
 * checks, threshold, seconds since its last transition), the Events queue, the serving certificate's
 * expiry, the build and the process (named as Prometheus' client libraries name them).
 *
 * Memory: metrics_render returns a malloc'd string the caller frees.
 */
#ifndef MG_METRICS_H
#define MG_METRICS_H

#include "admission.h"
#include "cache.h"
#include "events.h"

/* What a scrape reads besides the counters kept here. */
struct metrics_sources {
    struct cache *cache;        /* NULL: no cache numbers */
    struct events *events;      /* NULL: Events are off */
    long cert_not_after;        /* the serving certificate's expiry in Unix seconds, 0 if unknown */
};

/* Count one answered review (outcome below ADMISSION_OUTCOMES) and its latency. Thread-safe. */
void metrics_observe(enum admission_endpoint ep, enum admission_outcome outcome, double seconds);
/* Count a denial or an override by its rule and the object's kind (dry runs are not counted: a GitOps diff
 * repeats the same request every few minutes). Thread-safe. */
void metrics_notice(const struct admission_notice *n);
/* Count one request answered without a review (4xx), by HTTP status. Thread-safe. */
void metrics_reject(int http_status);
/* The Prometheus text exposition (version 0.0.4); NULL when out of memory. */
char *metrics_render(const struct metrics_sources *src);

#endif
