/*
 * Prometheus metrics: admission counters and a latency histogram per endpoint and decision, counters
 * of rejected HTTP requests, and the gauges the server adds at scrape time (cache, certificate).
 *
 * Memory: metrics_render returns a malloc'd string the caller frees.
 */
#ifndef MG_METRICS_H
#define MG_METRICS_H

#include "admission.h"
#include "cache.h"

/* Count one answered review (outcome below ADMISSION_OUTCOMES) and its latency. Thread-safe. */
void metrics_observe(enum admission_endpoint ep, enum admission_outcome outcome, double seconds);
/* Count one request answered without a review (4xx), by HTTP status. Thread-safe. */
void metrics_reject(int http_status);
/* The Prometheus text exposition, with the cache numbers and the serving certificate's expiry
 * (cert_not_after in Unix seconds, 0 if unknown). */
char *metrics_render(const struct cache_stats *cache, long cert_not_after);

#endif
