/*
 * The Events queue (see events.h): a ring of notices behind a mutex, one thread that posts them with a
 * Kubernetes API client of its own (the cache's client is busy with its watch). An Event is core/v1, in
 * the involved object's namespace, with that object's uid: `kubectl describe` finds Events by kind, name,
 * namespace and uid. Each Event is posted once, never retried: a lost Event costs less than a queue that
 * grows while the API server is down.
 */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "utf8.h"

/* One POST: the API server answers an Event create in milliseconds; 10 s covers a slow moment without
 * letting a hung connection hold the queue for long. */
#define POST_TIMEOUT_S 10L
/* The API server refuses an Event message over 1 KiB (events.k8s.io's limit; core/v1 keeps to it too). */
#define MESSAGE_MAX 1024
/* Room left for ".<16 hex digits>" in a 253-character object name. */
#define EVENT_NAME_PREFIX_MAX 200

struct events {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct admission_notice ring[EVENTS_QUEUE_MAX];
    size_t head, count;
    int stopping;
    long posted, failed, dropped;
    int failing; /* the last post failed: say so once, not per Event */
    struct kube *kube;
    pthread_t thread;
    char reporter[254];
};

/* ---- the Event ---- */

static void rfc3339(double t, char *buf, size_t len)
{
    time_t secs = (time_t)t;
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "manual-gate denied UPDATE of Deployment test/podinfo by alice (rule template-in-flight): gated release
 * of Canary test/podinfo in phase Progressing at canary weight 10%", and the override's reason. */
static void message_of(const struct admission_notice *n, char *buf, size_t len)
{
    const char *user = n->user[0] ? n->user : "an unnamed user";
    int used;

    if (n->kind == ADMISSION_NOTICE_OVERRIDDEN)
        used = snprintf(buf, len, "manual-gate let %s of %s %s/%s by %s through by override of rule %s, reason: "
                                  "\"%s\"", n->operation, n->object.kind, n->object.namespace_, n->object.name, user,
                        n->rule, n->reason);
    else
        used = snprintf(buf, len, "manual-gate denied %s of %s %s/%s by %s (rule %s)", n->operation, n->object.kind,
                        n->object.namespace_, n->object.name, user, n->rule);
    if (used > 0 && (size_t)used < len && n->canary.set)
        snprintf(buf + used, len - (size_t)used, ": gated release of Canary %s/%s in phase %s at canary weight %d%%",
                 n->canary.namespace_, n->canary.name, n->canary.phase[0] ? n->canary.phase : "(none)",
                 n->canary.weight);
    buf[utf8_complete(buf, strlen(buf))] = '\0';
}

static cJSON *involved(const char *api_version, const char *kind, const char *ns, const char *name, const char *uid)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "apiVersion", api_version);
    cJSON_AddStringToObject(o, "kind", kind);
    cJSON_AddStringToObject(o, "namespace", ns);
    cJSON_AddStringToObject(o, "name", name);
    if (uid[0])
        cJSON_AddStringToObject(o, "uid", uid);
    return o;
}

cJSON *events_build(const struct admission_notice *n, int on_canary, const char *reporter, double now)
{
    static unsigned long seq;
    const char *ns = on_canary ? n->canary.namespace_ : n->object.namespace_;
    const char *name = on_canary ? n->canary.name : n->object.name;
    char msg[MESSAGE_MAX + 1], ts[32], ename[254];
    cJSON *e, *meta;

    if ((on_canary && !n->canary.set) || !ns[0] || !name[0] || n->kind == ADMISSION_NOTICE_NONE)
        return NULL;
    if (!(e = cJSON_CreateObject()))
        return NULL;
    /* client-go's naming: the object's name and the time in nanoseconds, in hex (plus a counter, so two
     * Events of one instant differ). */
    snprintf(ename, sizeof(ename), "%.*s.%llx", EVENT_NAME_PREFIX_MAX, name,
             (unsigned long long)(now * 1e9) + __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    message_of(n, msg, sizeof(msg));
    rfc3339(now, ts, sizeof(ts));
    cJSON_AddStringToObject(e, "apiVersion", "v1");
    cJSON_AddStringToObject(e, "kind", "Event");
    meta = cJSON_AddObjectToObject(e, "metadata");
    cJSON_AddStringToObject(meta, "name", ename);
    cJSON_AddStringToObject(meta, "namespace", ns);
    cJSON_AddItemToObject(e, "involvedObject",
                          on_canary ? involved("flagger.app/v1beta1", "Canary", ns, name, n->canary.uid)
                                    : involved(n->object.api_version, n->object.kind, ns, name, n->object.uid));
    cJSON_AddStringToObject(e, "reason", n->kind == ADMISSION_NOTICE_DENIED ? "ManualGateDenied" : "ManualGateOverridden");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", "Warning");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "source"), "component", "manual-gate");
    cJSON_AddStringToObject(e, "reportingComponent", "manual-gate");
    cJSON_AddStringToObject(e, "reportingInstance", reporter);
    cJSON_AddStringToObject(e, "action", n->kind == ADMISSION_NOTICE_DENIED ? "Deny" : "Override");
    cJSON_AddStringToObject(e, "firstTimestamp", ts);
    cJSON_AddStringToObject(e, "lastTimestamp", ts);
    cJSON_AddNumberToObject(e, "count", 1);
    return e;
}

/* ---- posting ---- */

/* A namespace as the API server names them (a DNS label): anything else cannot go into the path. */
static int dns_label(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return i > 0 && i <= 63;
}

/* Post one Event; 1 accepted, 0 refused or not sent (logged once while it keeps failing). */
static int post(struct events *q, const cJSON *event)
{
    const char *ns = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(event, "metadata"), "namespace"));
    char path[128], err[256] = "";
    char *body = NULL;
    long status = 0;
    int ok = 0;

    if (ns && dns_label(ns) && (body = cJSON_PrintUnformatted(event)) != NULL) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", ns);
        if (kube_post(q->kube, path, body, strlen(body), POST_TIMEOUT_S, &status, err, sizeof(err)) == 0)
            ok = status >= 200 && status < 300;
    }
    cJSON_free(body);
    if (!ok && !q->failing && status)
        log_warn("events: the API server refused an Event with HTTP %ld%s; further failures are only counted "
                 "(manual_gate_events_total{result=\"failed\"})", status,
                 status == 403 ? " (the ClusterRole must allow create on events)" : "");
    else if (!ok && !q->failing)
        log_warn("events: cannot post an Event: %s; further failures are only counted "
                 "(manual_gate_events_total{result=\"failed\"})",
                 err[0] ? err : "out of memory, or a namespace that is no DNS label");
    else if (ok && q->failing)
        log_info("events: posting Events again");
    q->failing = !ok;
    return ok;
}

/* The Events of one notice: on the Canary, and on the object when that is not the Canary itself. */
static void post_notice(struct events *q, const struct admission_notice *n)
{
    int on_canary, same = n->canary.set && strcmp(n->object.kind, "Canary") == 0 &&
                          strcmp(n->object.namespace_, n->canary.namespace_) == 0 &&
                          strcmp(n->object.name, n->canary.name) == 0;
    long posted = 0, failed = 0;
    cJSON *e;

    for (on_canary = 1; on_canary >= 0; on_canary--) {
        if (!on_canary && same)
            break;
        if (!(e = events_build(n, on_canary, q->reporter, monotime_wall())))
            continue;
        if (post(q, e))
            posted++;
        else
            failed++;
        cJSON_Delete(e);
    }
    pthread_mutex_lock(&q->mu);
    q->posted += posted;
    q->failed += failed;
    pthread_mutex_unlock(&q->mu);
}

static void *run(void *arg)
{
    struct events *q = arg;
    struct admission_notice n;

    for (;;) {
        pthread_mutex_lock(&q->mu);
        while (!q->count && !q->stopping)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->stopping) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        n = q->ring[q->head];
        q->head = (q->head + 1) % EVENTS_QUEUE_MAX;
        q->count--;
        pthread_mutex_unlock(&q->mu);
        post_notice(q, &n);
    }
}

/* ---- the queue ---- */

int events_notify(struct events *q, const struct admission_notice *n)
{
    int rc = 0;

    if (!q || n->kind == ADMISSION_NOTICE_NONE || n->dry_run)
        return 1;
    pthread_mutex_lock(&q->mu);
    if (q->count == EVENTS_QUEUE_MAX) {
        q->dropped++;
        rc = -1;
    } else {
        q->ring[(q->head + q->count) % EVENTS_QUEUE_MAX] = *n;
        q->count++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void events_stats(struct events *q, struct events_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    out->posted = q->posted;
    out->failed = q->failed;
    out->dropped = q->dropped;
    out->queued = (long)q->count;
    pthread_mutex_unlock(&q->mu);
}

struct events *events_start(const struct kube_config *cfg, char *err, size_t errlen)
{
    struct events *q = calloc(1, sizeof(*q));

    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    /* The pod's name, as the reportingInstance: which replica said it. */
    if (gethostname(q->reporter, sizeof(q->reporter) - 1) != 0 || !q->reporter[0])
        snprintf(q->reporter, sizeof(q->reporter), "manual-gate");
    if (!(q->kube = kube_open(cfg, err, errlen)))
        goto fail;
    if (pthread_create(&q->thread, NULL, run, q) != 0) {
        snprintf(err, errlen, "cannot start the Events thread");
        goto fail;
    }
    return q;
fail:
    kube_close(q->kube);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
    return NULL;
}

void events_stop(struct events *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    kube_interrupt(q->kube);
    pthread_join(q->thread, NULL);
    kube_close(q->kube);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
