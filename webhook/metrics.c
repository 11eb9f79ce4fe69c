/*
 * Counters and histograms in fixed arrays behind one mutex: an observation is a few additions, so the
 * lock is held for nanoseconds and the admission threads never contend for long.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Seconds. Admission on loopback takes tens of microseconds; the API server's timeout is 1-30 s. */
static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static const int reject_codes[] = {400, 404, 405, 413, 415, 500, 503};
#define NREJECT (sizeof(reject_codes) / sizeof(reject_codes[0]))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    unsigned long bucket[NBUCKETS];
    unsigned long count;
    double sum;
} hist[ADMISSION_ENDPOINTS][ADMISSION_OUTCOMES];
static unsigned long rejects[NREJECT + 1]; /* last slot: any other status */

void metrics_observe(enum admission_endpoint ep, enum admission_outcome dec, double seconds)
{
    size_t i;

    if ((unsigned)ep >= ADMISSION_ENDPOINTS || (unsigned)dec >= ADMISSION_OUTCOMES)
        return;
    pthread_mutex_lock(&lock);
    for (i = 0; i < NBUCKETS; i++)
        if (seconds <= buckets[i])
            hist[ep][dec].bucket[i]++;
    hist[ep][dec].count++;
    hist[ep][dec].sum += seconds;
    pthread_mutex_unlock(&lock);
}

void metrics_reject(int http_status)
{
    size_t i;

    for (i = 0; i < NREJECT && reject_codes[i] != http_status; i++)
        ;
    pthread_mutex_lock(&lock);
    rejects[i]++;
    pthread_mutex_unlock(&lock);
}

char *metrics_render(const struct cache_stats *cache, long cert_not_after)
{
    /* About 12 KiB today; the limit only guards against a runaway loop. */
    struct buf o = BUF_INIT(1024 * 1024);
    size_t e, d, i;
    int failed = 0;

    failed |= buf_printf(&o, "# HELP manual_gate_admission_duration_seconds Time to answer an admission review.\n"
                   "# TYPE manual_gate_admission_duration_seconds histogram\n");
    pthread_mutex_lock(&lock);
    for (e = 0; e < ADMISSION_ENDPOINTS; e++)
        for (d = 0; d < ADMISSION_OUTCOMES; d++) {
            const char *en = admission_endpoint_name((enum admission_endpoint)e);
            const char *dn = admission_outcome_name((enum admission_outcome)d);
            for (i = 0; i < NBUCKETS; i++)
                failed |= buf_printf(&o, "manual_gate_admission_duration_seconds_bucket{endpoint=\"%s\",decision=\"%s\",le=\"%g\"} %lu\n",
                           en, dn, buckets[i], hist[e][d].bucket[i]);
            failed |= buf_printf(&o, "manual_gate_admission_duration_seconds_bucket{endpoint=\"%s\",decision=\"%s\",le=\"+Inf\"} %lu\n",
                       en, dn, hist[e][d].count);
            failed |= buf_printf(&o, "manual_gate_admission_duration_seconds_sum{endpoint=\"%s\",decision=\"%s\"} %.9f\n", en, dn,
                       hist[e][d].sum);
            failed |= buf_printf(&o, "manual_gate_admission_duration_seconds_count{endpoint=\"%s\",decision=\"%s\"} %lu\n", en,
                       dn, hist[e][d].count);
        }
    failed |= buf_printf(&o, "# HELP manual_gate_admission_reviews_total Admission reviews answered, by endpoint and decision.\n"
                   "# TYPE manual_gate_admission_reviews_total counter\n");
    for (e = 0; e < ADMISSION_ENDPOINTS; e++)
        for (d = 0; d < ADMISSION_OUTCOMES; d++)
            failed |= buf_printf(&o, "manual_gate_admission_reviews_total{endpoint=\"%s\",decision=\"%s\"} %lu\n",
                       admission_endpoint_name((enum admission_endpoint)e),
                       admission_outcome_name((enum admission_outcome)d), hist[e][d].count);
    failed |= buf_printf(&o, "# HELP manual_gate_http_rejected_total Requests answered without a review, by HTTP status.\n"
                   "# TYPE manual_gate_http_rejected_total counter\n");
    for (i = 0; i < NREJECT; i++)
        failed |= buf_printf(&o, "manual_gate_http_rejected_total{code=\"%d\"} %lu\n", reject_codes[i], rejects[i]);
    failed |= buf_printf(&o, "manual_gate_http_rejected_total{code=\"other\"} %lu\n", rejects[NREJECT]);
    pthread_mutex_unlock(&lock);

    failed |= buf_printf(&o,
               "# HELP manual_gate_cache_canaries Canaries in the cache.\n# TYPE manual_gate_cache_canaries gauge\n"
               "manual_gate_cache_canaries %ld\n"
               "# HELP manual_gate_cache_events_total Watch events (or file reloads) applied to the cache.\n"
               "# TYPE manual_gate_cache_events_total counter\nmanual_gate_cache_events_total %ld\n"
               "# HELP manual_gate_cache_relists_total Full lists after the first.\n"
               "# TYPE manual_gate_cache_relists_total counter\nmanual_gate_cache_relists_total %ld\n"
               "# HELP manual_gate_cache_last_sync_age_seconds Seconds since the cache was last known in sync (-1: never).\n"
               "# TYPE manual_gate_cache_last_sync_age_seconds gauge\nmanual_gate_cache_last_sync_age_seconds %.3f\n"
               "# HELP manual_gate_cache_synced 1 once the first list of Canaries has arrived.\n"
               "# TYPE manual_gate_cache_synced gauge\nmanual_gate_cache_synced %d\n",
               cache->canaries, cache->events, cache->relists, cache->last_sync_age, cache->synced);
    failed |= buf_printf(&o,
               "# HELP manual_gate_tls_cert_not_after_seconds Expiry of the serving certificate (Unix time).\n"
               "# TYPE manual_gate_tls_cert_not_after_seconds gauge\nmanual_gate_tls_cert_not_after_seconds %ld\n",
               cert_not_after);
    if (failed) {
        buf_free(&o);
        return NULL;
    }
    return buf_detach(&o);
}
