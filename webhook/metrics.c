/*
 * Counters and histograms in fixed arrays behind one mutex: an observation is a few additions, so the
 * lock is held for nanoseconds and the admission threads never contend for long. A scrape reads the rest
 * from memory: the Canary cache's index (copied under its read lock, formatted after), the Events queue's
 * counters, /proc/self for the process. No scrape ever calls the Kubernetes API.
 */
#include "metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "buf.h"
#include "monotime.h"
#include "version.h"

/* Seconds. Admission on loopback takes tens of microseconds; the API server's timeout is 1-30 s. */
static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static const int reject_codes[] = {400, 404, 405, 413, 415, 500, 503};
#define NREJECT (sizeof(reject_codes) / sizeof(reject_codes[0]))

/* Rule ids times the kinds they apply to: about 40 pairs exist (docs/design.md lists the rules); the
 * table has room for all, and a pair beyond it is counted under rule "other". */
#define RULE_SERIES_MAX 128

/* A scrape's text: the counters take about 15 KiB, each gated Canary about 400 bytes. The limit stops a
 * runaway, it is not a budget: 64 MiB is 150,000 gated Canaries. */
#define RENDER_MAX ((size_t)64 << 20)

struct rule_series {
    const char *rule; /* a string literal from the policies */
    char kind[64];
    unsigned long denied, overridden;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    unsigned long bucket[NBUCKETS];
    unsigned long count;
    double sum;
} hist[ADMISSION_ENDPOINTS][ADMISSION_OUTCOMES];
static unsigned long rejects[NREJECT + 1]; /* last slot: any other status */
static struct rule_series rules[RULE_SERIES_MAX];
static size_t nrules;

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

/* The series of (rule, kind), added on first use; the last slot takes every pair beyond the table. Called
 * with the lock held. */
static struct rule_series *rule_series_of(const char *rule, const char *kind)
{
    size_t i;

    for (i = 0; i < nrules; i++)
        if (strcmp(rules[i].rule, rule) == 0 && strcmp(rules[i].kind, kind) == 0)
            return &rules[i];
    if (nrules == RULE_SERIES_MAX - 1) {
        rules[nrules].rule = "other";
        return &rules[nrules];
    }
    rules[nrules].rule = rule;
    snprintf(rules[nrules].kind, sizeof(rules[nrules].kind), "%s", kind);
    return &rules[nrules++];
}

void metrics_notice(const struct admission_notice *n)
{
    struct rule_series *s;

    if (n->kind == ADMISSION_NOTICE_NONE || !n->rule || n->dry_run)
        return;
    pthread_mutex_lock(&lock);
    s = rule_series_of(n->rule, n->object.kind);
    if (n->kind == ADMISSION_NOTICE_DENIED)
        s->denied++;
    else
        s->overridden++;
    pthread_mutex_unlock(&lock);
}

/* ---- rendering ---- */

static int family(struct buf *o, const char *name, const char *type, const char *help)
{
    return buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static int label_value(struct buf *o, const char *v)
{
    const char *p;
    int failed = 0;

    for (p = v; *p && !failed; p++) {
        if (*p == '\\' || *p == '"')
            failed = buf_printf(o, "\\%c", *p);
        else if (*p == '\n')
            failed = buf_append(o, "\\n", 2);
        else
            failed = buf_append(o, p, 1);
    }
    return failed;
}

/* Called with the lock held. */
static int render_histogram(struct buf *o)
{
    int failed = family(o, "manual_gate_admission_duration_seconds", "histogram", "Time to answer an admission review.");
    size_t e, d, i;

    for (e = 0; e < ADMISSION_ENDPOINTS; e++)
        for (d = 0; d < ADMISSION_OUTCOMES; d++) {
            const char *en = admission_endpoint_name((enum admission_endpoint)e);
            const char *dn = admission_outcome_name((enum admission_outcome)d);
            const char *lbl = "manual_gate_admission_duration_seconds";

            for (i = 0; i < NBUCKETS; i++)
                failed |= buf_printf(o, "%s_bucket{endpoint=\"%s\",decision=\"%s\",le=\"%g\"} %lu\n", lbl, en, dn,
                                     buckets[i], hist[e][d].bucket[i]);
            failed |= buf_printf(o, "%s_bucket{endpoint=\"%s\",decision=\"%s\",le=\"+Inf\"} %lu\n", lbl, en, dn,
                                 hist[e][d].count);
            failed |= buf_printf(o, "%s_sum{endpoint=\"%s\",decision=\"%s\"} %.9f\n", lbl, en, dn, hist[e][d].sum);
            failed |= buf_printf(o, "%s_count{endpoint=\"%s\",decision=\"%s\"} %lu\n", lbl, en, dn, hist[e][d].count);
        }
    return failed;
}

/* The denial (overridden 0) or override counters by rule and kind. Called with the lock held. */
static int render_rules(struct buf *o, const char *name, int overridden, const char *help)
{
    int failed = family(o, name, "counter", help);
    unsigned long n;
    size_t i;

    for (i = 0; i < nrules; i++)
        if ((n = overridden ? rules[i].overridden : rules[i].denied) > 0)
            failed |= buf_printf(o, "%s{rule=\"%s\",kind=\"%s\"} %lu\n", name, rules[i].rule, rules[i].kind, n);
    return failed;
}

/* Called with the lock held. */
static int render_counters(struct buf *o)
{
    int failed = family(o, "manual_gate_admission_reviews_total", "counter",
                        "Admission reviews answered, by endpoint and decision.");
    size_t e, d, i;

    for (e = 0; e < ADMISSION_ENDPOINTS; e++)
        for (d = 0; d < ADMISSION_OUTCOMES; d++)
            failed |= buf_printf(o, "manual_gate_admission_reviews_total{endpoint=\"%s\",decision=\"%s\"} %lu\n",
                                 admission_endpoint_name((enum admission_endpoint)e),
                                 admission_outcome_name((enum admission_outcome)d), hist[e][d].count);
    failed |= family(o, "manual_gate_http_rejected_total", "counter",
                     "Requests answered without a review, by HTTP status.");
    for (i = 0; i < NREJECT; i++)
        failed |= buf_printf(o, "manual_gate_http_rejected_total{code=\"%d\"} %lu\n", reject_codes[i], rejects[i]);
    failed |= buf_printf(o, "manual_gate_http_rejected_total{code=\"other\"} %lu\n", rejects[NREJECT]);
    failed |= render_rules(o, "manual_gate_denials_total", 0,
                           "Changes denied, by rule and kind of object (dry runs not counted; a series appears with "
                           "its first denial).");
    failed |= render_rules(o, "manual_gate_overrides_total", 1,
                           "Changes let through by break glass, by the rule they passed and kind of object (dry "
                           "runs not counted).");
    return failed;
}

/* Watches ended by reason, and how long ago the API server last proved the cache current. */
static int render_watch(struct buf *o, const struct cache_stats *st)
{
    int failed = family(o, "manual_gate_watch_restarts_total", "counter",
                        "Canary watches ended and started again, by reason.");
    size_t i;

    for (i = 0; i < CACHE_WATCH_ENDS; i++)
        failed |= buf_printf(o, "manual_gate_watch_restarts_total{reason=\"%s\"} %ld\n",
                             cache_watch_end_name((enum cache_watch_end)i), st->watch_ends[i]);
    failed |= family(o, "manual_gate_watch_last_event_age_seconds", "gauge",
                     "Seconds since the last proof of life from the API server: a watch event, a bookmark or a "
                     "list (-1: never).");
    failed |= buf_printf(o, "manual_gate_watch_last_event_age_seconds %.3f\n", st->alive_age);
    return failed;
}

static int render_cache(struct buf *o, struct cache *c)
{
    struct cache_stats st;

    cache_stats(c, &st);
    return buf_printf(o,
                      "# HELP manual_gate_cache_canaries Canaries in the cache.\n# TYPE manual_gate_cache_canaries gauge\n"
                      "manual_gate_cache_canaries %ld\n"
                      "# HELP manual_gate_cache_events_total Watch events (or file reloads) applied to the cache.\n"
                      "# TYPE manual_gate_cache_events_total counter\nmanual_gate_cache_events_total %ld\n"
                      "# HELP manual_gate_cache_relists_total Full lists after the first.\n"
                      "# TYPE manual_gate_cache_relists_total counter\nmanual_gate_cache_relists_total %ld\n"
                      "# HELP manual_gate_cache_last_sync_age_seconds Seconds since the cache was last known in sync "
                      "(-1: never).\n"
                      "# TYPE manual_gate_cache_last_sync_age_seconds gauge\n"
                      "manual_gate_cache_last_sync_age_seconds %.3f\n"
                      "# HELP manual_gate_cache_synced 1 once the first list of Canaries has arrived.\n"
                      "# TYPE manual_gate_cache_synced gauge\nmanual_gate_cache_synced %d\n",
                      st.canaries, st.events, st.relists, st.last_sync_age, st.synced) ||
           render_watch(o, &st);
}

/* ---- gated Canaries ---- */

struct gated {
    struct canary_info *v;
    size_t n, cap;
    int oom;
};

/* Under the cache's read lock: copy only, format later. */
static void collect_gated(void *ctx, const struct canary_info *info)
{
    struct gated *g = ctx;
    struct canary_info *grown;
    size_t cap;

    if (!info->gated || g->oom)
        return;
    if (g->n == g->cap) {
        cap = g->cap ? g->cap * 2 : 64;
        if (!(grown = realloc(g->v, cap * sizeof(*grown)))) {
            g->oom = 1;
            return;
        }
        g->v = grown;
        g->cap = cap;
    }
    g->v[g->n++] = *info;
}

static int by_name(const void *a, const void *b)
{
    const struct canary_info *x = a, *y = b;
    int c = strcmp(x->namespace_, y->namespace_);

    return c ? c : strcmp(x->name, y->name);
}

enum gauge { GAUGE_PHASE, GAUGE_WEIGHT, GAUGE_FAILED, GAUGE_THRESHOLD, GAUGE_AGE, GAUGES };

static const struct {
    const char *name, *help;
} gauges[GAUGES] = {
    {"manual_gate_canary_phase", "Phase of a gated Canary (status.phase): 1 for the current one."},
    {"manual_gate_canary_weight", "Canary weight of a gated Canary (status.canaryWeight), in percent."},
    {"manual_gate_canary_failed_checks", "Failed checks of a gated Canary's release (status.failedChecks)."},
    {"manual_gate_canary_threshold", "Failed checks at which Flagger rolls a gated Canary back (analysis.threshold)."},
    {"manual_gate_canary_last_transition_age_seconds",
     "Seconds since a gated Canary's status.lastTransitionTime (Flagger sets it when phase, weight, failed checks "
     "or iterations change): how long the release has waited at its step."},
};

static int render_gauge(struct buf *o, enum gauge g, const struct canary_info *c, double now)
{
    int failed = buf_printf(o, "%s{namespace=\"", gauges[g].name) || label_value(o, c->namespace_) ||
                 buf_printf(o, "\",name=\"") || label_value(o, c->name);

    switch (g) {
    case GAUGE_PHASE:
        return failed || buf_printf(o, "\",phase=\"") || label_value(o, c->phase) || buf_printf(o, "\"} 1\n");
    case GAUGE_WEIGHT:
        return failed || buf_printf(o, "\"} %d\n", c->weight);
    case GAUGE_FAILED:
        return failed || buf_printf(o, "\"} %d\n", c->failed_checks);
    case GAUGE_THRESHOLD:
        return failed || buf_printf(o, "\"} %.17g\n", c->threshold);
    default:
        return failed || buf_printf(o, "\"} %.3f\n", now > (double)c->last_transition ? now - (double)c->last_transition : 0);
    }
}

static int render_canaries(struct buf *o, struct cache *c)
{
    struct gated g = {NULL, 0, 0, 0};
    double now = monotime_wall();
    int failed = 0, k;
    size_t i;

    cache_each(c, collect_gated, &g);
    if (g.oom) {
        free(g.v);
        return -1;
    }
    if (g.n)
        qsort(g.v, g.n, sizeof(*g.v), by_name);
    for (k = 0; k < GAUGES && !failed; k++) {
        failed |= family(o, gauges[k].name, "gauge", gauges[k].help);
        for (i = 0; i < g.n && !failed; i++)
            /* No lastTransitionTime (a Canary Flagger has not handled yet): no age rather than a wrong one. */
            if (k != GAUGE_AGE || g.v[i].last_transition > 0)
                failed |= render_gauge(o, (enum gauge)k, &g.v[i], now);
    }
    free(g.v);
    return failed;
}

static int render_events(struct buf *o, struct events *e)
{
    struct events_stats st;

    events_stats(e, &st);
    return family(o, "manual_gate_events_total", "counter",
                  "Kubernetes Events about denials and overrides, by result: posted, failed (refused or not sent), "
                  "dropped (the queue was full).") ||
           buf_printf(o, "manual_gate_events_total{result=\"posted\"} %ld\nmanual_gate_events_total{result=\"failed\"} "
                         "%ld\nmanual_gate_events_total{result=\"dropped\"} %ld\n", st.posted, st.failed, st.dropped) ||
           family(o, "manual_gate_events_queued", "gauge", "Notices waiting to be posted as Events.") ||
           buf_printf(o, "manual_gate_events_queued %ld\n", st.queued);
}

static int render_build(struct buf *o, long cert_not_after)
{
    return family(o, "manual_gate_build_info", "gauge", "The version and commit of this binary: always 1.") ||
           buf_printf(o, "manual_gate_build_info{version=\"") || label_value(o, MG_VERSION) ||
           buf_printf(o, "\",commit=\"") || label_value(o, MG_COMMIT) || buf_printf(o, "\"} 1\n") ||
           family(o, "manual_gate_tls_cert_not_after_seconds", "gauge",
                  "Expiry of the serving certificate (Unix time).") ||
           buf_printf(o, "manual_gate_tls_cert_not_after_seconds %ld\n", cert_not_after);
}

/* ---- the process, as Prometheus' client libraries read it on Linux ---- */

struct proc {
    double cpu, start;
    unsigned long long vsize, rss;
    long fds, max_fds;
};

/* /proc/self/stat's fields after the command name: utime, stime and starttime in clock ticks, vsize in bytes,
 * rss in pages. 0, or -1 when it cannot be read. */
static int proc_stat(struct proc *p)
{
    unsigned long long utime, stime, starttime, btime = 0;
    char line[1024], *paren;
    FILE *f = fopen("/proc/self/stat", "r");
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    int ok;

    ok = f && fgets(line, sizeof(line), f) && (paren = strrchr(line, ')')) &&
         sscanf(paren + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %llu",
                &utime, &stime, &starttime, &p->vsize, &p->rss) == 5;
    if (f)
        fclose(f);
    if (!ok || tick <= 0 || page <= 0 || !(f = fopen("/proc/stat", "r")))
        return -1;
    while (fgets(line, sizeof(line), f) && sscanf(line, "btime %llu", &btime) != 1)
        ;
    fclose(f);
    p->cpu = (double)(utime + stime) / (double)tick;
    p->start = (double)btime + (double)starttime / (double)tick;
    p->rss *= (unsigned long long)page;
    return 0;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;

    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

static int render_process(struct buf *o)
{
    struct proc p;
    struct rlimit rl;

    memset(&p, 0, sizeof(p));
    if (proc_stat(&p) != 0)
        return 0; /* not Linux, or no /proc: no process metrics rather than wrong ones */
    p.fds = open_fds();
    p.max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? (long)rl.rlim_cur : -1;
    return family(o, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.") ||
           buf_printf(o, "process_cpu_seconds_total %.2f\n", p.cpu) ||
           family(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.") ||
           buf_printf(o, "process_resident_memory_bytes %llu\n", p.rss) ||
           family(o, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.") ||
           buf_printf(o, "process_virtual_memory_bytes %llu\n", p.vsize) ||
           family(o, "process_open_fds", "gauge", "Number of open file descriptors.") ||
           buf_printf(o, "process_open_fds %ld\n", p.fds) ||
           family(o, "process_max_fds", "gauge", "Maximum number of open file descriptors.") ||
           buf_printf(o, "process_max_fds %ld\n", p.max_fds) ||
           family(o, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.") ||
           buf_printf(o, "process_start_time_seconds %.2f\n", p.start);
}

char *metrics_render(const struct metrics_sources *src)
{
    struct buf o = BUF_INIT(RENDER_MAX);
    int failed;

    pthread_mutex_lock(&lock);
    failed = render_histogram(&o) || render_counters(&o);
    pthread_mutex_unlock(&lock);
    failed = failed || render_cache(&o, src->cache) || render_canaries(&o, src->cache) ||
             render_events(&o, src->events) || render_build(&o, src->cert_not_after) || render_process(&o);
    if (failed) {
        buf_free(&o);
        return NULL;
    }
    return buf_detach(&o);
}
