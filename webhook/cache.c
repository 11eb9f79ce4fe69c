/*
 * The Canary cache: an index (cache_index.c) behind a reader-writer lock, fed by one source in one
 * background thread (cache_kube.c or cache_files.c). A list is built into a fresh index off the lock and
 * swapped in with cache_publish; an event is parsed off the lock and linked in under it, so admission
 * threads wait at most for a few pointer updates. Both sources and the unit tests publish through the
 * same functions.
 *
 * When memory runs out while an event is applied, the index may have lost a Canary: the cache then
 * answers "unknown" (which denies, or fails open as configured) until the next full list replaces it,
 * rather than "no Canary here" (which would allow).
 */
#include "cache.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache_index.h"
#include "cache_source.h"
#include "log.h"
#include "monotime.h"
#include "obj.h"

#define BACKOFF_BASE_MS 250L
#define BACKOFF_CAP_MS 32000L /* 250 ms doubled 7 times: every range starts where the last ended */
#define RV_MAX 128
#define DEFAULT_MAX_UNSYNCED_S 60L

struct cache {
    /* lock guards everything up to the source fields. Writers are preferred: a steady stream of
     * admission reads must not hold an event back. */
    pthread_rwlock_t lock;
    struct cache_index *idx;
    int synced;         /* a first list was published */
    int in_sync;        /* the source sees every change now */
    int broken;         /* an event could not be applied: lookups answer unknown until the next list */
    double last_alive;  /* monotime of the last proof of life: a list published, an event, a bookmark */
    long events;
    long relists;
    long watch_ends[CACHE_WATCH_ENDS];
    char rv[RV_MAX];
    long max_unsynced;
    long life_every;    /* in sync only while proving life this often (s); 0: until the source says not */

    /* The source, used by the background thread (interrupt and close from cache_stop). */
    const struct cache_source *src;
    void *src_state;
    unsigned seed;
    pthread_t thread;
    int has_thread;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    int stopping;
};

/* ---- publishing (the sources and the unit tests) ---- */

struct cache *cache_new(long max_unsynced_seconds)
{
    struct cache *c = calloc(1, sizeof(*c));
    pthread_rwlockattr_t ra;
    pthread_condattr_t ca;

    if (!c || !(c->idx = cache_index_new())) {
        free(c);
        return NULL;
    }
    c->max_unsynced = max_unsynced_seconds > 0 ? max_unsynced_seconds : DEFAULT_MAX_UNSYNCED_S;
    c->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&c->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->stop_mu, NULL);
    return c;
}

void cache_publish(struct cache *c, struct cache_index *idx, const char *rv, int reload)
{
    struct cache_index *old;

    pthread_rwlock_wrlock(&c->lock);
    old = c->idx;
    c->idx = idx;
    if (c->synced) {
        if (reload)
            c->events++;
        else
            c->relists++;
    }
    c->synced = 1;
    c->in_sync = 1;
    c->broken = 0;
    c->last_alive = monotime_now();
    snprintf(c->rv, sizeof(c->rv), "%s", rv ? rv : "");
    pthread_rwlock_unlock(&c->lock);
    cache_index_free(old);
}

/* glibc keeps freed heap for reuse: a list of 10,000 Canaries as text and as a cJSON tree is tens of MiB,
 * freed within a second, and without this stays resident for good (the index itself is a few MiB).
 * malloc_trim walks every arena and returns whole free pages, including those in the middle of one. */
void cache_give_back(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

int cache_apply_list(struct cache *c, const cJSON *list)
{
    const cJSON *items = cJSON_IsArray(list) ? list : obj_get(list, "items");
    struct cache_index *idx;

    if (!c || !(cJSON_IsArray(items) || (cJSON_IsObject(list) && cJSON_IsNull(items))))
        return -1;
    if (!(idx = cache_index_new()) || cache_index_put_items(idx, items) != 0) {
        /* Keep the index there is; the cache is no longer known to be in sync. */
        cache_index_free(idx);
        cache_set_in_sync(c, 0);
        return -1;
    }
    cache_publish(c, idx, obj_string(obj_get(list, "metadata"), "resourceVersion"), 0);
    return 0;
}

static void set_rv(struct cache *c, const cJSON *obj)
{
    const char *rv = obj_string(obj_get(obj, "metadata"), "resourceVersion");

    if (rv && rv[0])
        snprintf(c->rv, sizeof(c->rv), "%s", rv);
}

/* ADDED/MODIFIED (del 0) or DELETED (del 1) of one Canary. Out of memory, the index may miss the
 * Canary or hold a stale version of it: the cache answers unknown until a list replaces the index. */
static int apply_change(struct cache *c, const cJSON *obj, int del)
{
    struct cache_rec *r = NULL, *old = NULL;
    int rc = cache_rec_new(obj, &r);

    if (rc > 0)
        return -1; /* no namespace or name: nothing to index */
    pthread_rwlock_wrlock(&c->lock);
    if (rc < 0)
        rc = CACHE_EVENT_BROKEN;
    else if (del)
        old = cache_index_unlink(c->idx, r);
    else if (cache_index_link(c->idx, r, &old) == 0)
        r = NULL;
    else
        rc = CACHE_EVENT_BROKEN;
    if (rc == 0) {
        c->events++;
        set_rv(c, obj);
        c->in_sync = 1;
        c->last_alive = monotime_now();
    } else {
        c->broken = 1;
        c->in_sync = 0;
    }
    pthread_rwlock_unlock(&c->lock);
    cache_rec_free(old);
    cache_rec_free(r);
    return rc;
}

int cache_apply_event(struct cache *c, const cJSON *event)
{
    const char *type = obj_string(event, "type");
    const cJSON *obj = obj_get(event, "object"), *code;

    if (!c || !type || !cJSON_IsObject(obj))
        return -1;
    if (strcmp(type, "ERROR") == 0) {
        code = obj_get(obj, "code");
        return cJSON_IsNumber(code) && code->valueint == 410 ? CACHE_EVENT_GONE : -1;
    }
    if (strcmp(type, "BOOKMARK") == 0) {
        pthread_rwlock_wrlock(&c->lock);
        set_rv(c, obj);
        c->in_sync = 1;
        c->last_alive = monotime_now();
        pthread_rwlock_unlock(&c->lock);
        return 0;
    }
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)
        return apply_change(c, obj, 0);
    if (strcmp(type, "DELETED") == 0)
        return apply_change(c, obj, 1);
    return -1;
}

void cache_resource_version(struct cache *c, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    if (!c)
        return;
    pthread_rwlock_rdlock(&c->lock);
    snprintf(buf, len, "%s", c->rv);
    pthread_rwlock_unlock(&c->lock);
}

/* ---- lookups (admission threads) ---- */

/* Take the read lock when the index can answer (synced, not broken): 1, and the caller unlocks; 0 with
 * no lock held otherwise. */
static int read_index(struct cache *c)
{
    if (!c)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    if (c->synced && !c->broken)
        return 1;
    pthread_rwlock_unlock(&c->lock);
    return 0;
}

static int cache_by_target(void *ctx, const char *ns, const char *kind, const char *name, struct canary_info *out)
{
    struct cache *c = ctx;
    int rc;

    if (!read_index(c))
        return CANARY_LOOKUP_UNKNOWN;
    rc = cache_index_by_target(c->idx, ns, kind, name, out);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static int cache_by_config(void *ctx, const char *ns, const char *ref, struct canary_info *out)
{
    struct cache *c = ctx;
    int rc;

    if (!read_index(c))
        return CANARY_LOOKUP_UNKNOWN;
    rc = cache_index_by_config(c->idx, ns, ref, out);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static int cache_releases(void *ctx, const char *ns, struct canary_info *out, int max)
{
    struct cache *c = ctx;
    int rc;

    if (!read_index(c))
        return CANARY_LOOKUP_UNKNOWN;
    rc = cache_index_releases(c->idx, ns, out, max);
    pthread_rwlock_unlock(&c->lock);
    /* Out of memory: unsure is unknown, which denies (or fails open as configured). */
    return rc < 0 ? CANARY_LOOKUP_UNKNOWN : rc;
}

void cache_lookup(struct cache *c, struct canary_lookup *out)
{
    out->ctx = c;
    out->by_target = cache_by_target;
    out->by_config = cache_by_config;
    out->releases = cache_releases;
}

/* Called with the lock held: 1 when the source sees every change now, which for a watch means it proved
 * life (an event or a bookmark) recently, not merely that it is open. */
static int live(const struct cache *c, double now)
{
    return c->synced && !c->broken && c->in_sync && (c->life_every <= 0 || now - c->last_alive <= (double)c->life_every);
}

int cache_ready(struct cache *c)
{
    double now = monotime_now();
    int ready;

    if (!c)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    ready = live(c, now) || (c->synced && !c->broken && now - c->last_alive <= (double)c->max_unsynced);
    pthread_rwlock_unlock(&c->lock);
    return ready;
}

void cache_stats(struct cache *c, struct cache_stats *out)
{
    double now = monotime_now();

    memset(out, 0, sizeof(*out));
    out->last_sync_age = -1;
    out->alive_age = -1;
    if (!c)
        return;
    pthread_rwlock_rdlock(&c->lock);
    out->canaries = cache_index_count(c->idx);
    out->events = c->events;
    out->relists = c->relists;
    out->synced = c->synced;
    out->in_sync = live(c, now);
    if (c->synced) {
        out->alive_age = now - c->last_alive;
        out->last_sync_age = out->in_sync ? 0 : out->alive_age;
    }
    memcpy(out->watch_ends, c->watch_ends, sizeof(out->watch_ends));
    pthread_rwlock_unlock(&c->lock);
}

const char *cache_watch_end_name(enum cache_watch_end e)
{
    static const char *const names[CACHE_WATCH_ENDS] = {"closed", "broken", "http_error", "undecodable",
                                                         "error_event", "gone", "idle", "too_large", "unapplied"};

    return (unsigned)e < CACHE_WATCH_ENDS ? names[e] : "unknown";
}

void cache_each(struct cache *c, void (*fn)(void *ctx, const struct canary_info *info), void *ctx)
{
    if (!c)
        return;
    pthread_rwlock_rdlock(&c->lock);
    cache_index_each(c->idx, fn, ctx);
    pthread_rwlock_unlock(&c->lock);
}

/* ---- for the sources ---- */

void cache_set_in_sync(struct cache *c, int in_sync)
{
    pthread_rwlock_wrlock(&c->lock);
    c->in_sync = in_sync;
    pthread_rwlock_unlock(&c->lock);
}

void cache_expect_life(struct cache *c, long seconds)
{
    pthread_rwlock_wrlock(&c->lock);
    c->life_every = seconds > 0 ? seconds : 0;
    pthread_rwlock_unlock(&c->lock);
}

void cache_watch_ended(struct cache *c, enum cache_watch_end why)
{
    if ((unsigned)why >= CACHE_WATCH_ENDS)
        return;
    pthread_rwlock_wrlock(&c->lock);
    c->watch_ends[why]++;
    pthread_rwlock_unlock(&c->lock);
}

int cache_stopping(struct cache *c)
{
    int s;

    pthread_mutex_lock(&c->stop_mu);
    s = c->stopping;
    pthread_mutex_unlock(&c->stop_mu);
    return s;
}

int cache_sleep(struct cache *c, long ms)
{
    struct timespec until;
    int s;

    /* pthread_cond_timedwait wants an absolute time on the condition's clock (CLOCK_MONOTONIC here). */
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->stop_mu);
    while (!c->stopping && pthread_cond_timedwait(&c->stop_cv, &c->stop_mu, &until) == 0)
        ;
    s = c->stopping;
    pthread_mutex_unlock(&c->stop_mu);
    return s;
}

long cache_backoff_pick(int failures, unsigned *seed)
{
    long d = BACKOFF_BASE_MS;
    int i;

    if (failures < 1)
        return 0;
    for (i = 1; i < failures && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    /* Half fixed, half random: each range starts where the one before ended, so until the cap a wait is
     * never shorter than the one before, and replicas that failed together spread over the upper half. */
    return d / 2 + (long)(rand_r(seed) % (unsigned)(d / 2 + 1));
}

long cache_backoff_ms(struct cache *c, int failures)
{
    return cache_backoff_pick(failures, &c->seed);
}

/* ---- start and stop ---- */

static void *source_thread(void *arg)
{
    struct cache *c = arg;

    c->src->run(c, c->src_state);
    return NULL;
}

struct cache *cache_start(const struct cache_config *cfg, char *err, size_t errlen)
{
    /* In this order: files given explicitly win over an API server found in the environment. */
    static const struct cache_source *const sources[] = {&cache_source_files, &cache_source_kube};
    struct cache *c = cache_new(cfg->max_unsynced_seconds);
    size_t i;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (i = 0; i < sizeof(sources) / sizeof(sources[0]) && !c->src; i++)
        if (sources[i]->configured(cfg))
            c->src = sources[i];
    if (!c->src) {
        log_warn("cache: no Canary source (no --canaries, no --kube-api, no KUBERNETES_SERVICE_HOST): "
                 "the cache stays unsynced and cannot tell which targets are gated");
        return c;
    }
    if (c->src == &cache_source_files && cfg->kube_api && cfg->kube_api[0])
        log_info("cache: --canaries given, --kube-api is not used");
    if (c->src->open(c, cfg, &c->src_state, err, errlen) != 0) {
        c->src = NULL;
        goto fail;
    }
    if (pthread_create(&c->thread, NULL, source_thread, c) != 0) {
        snprintf(err, errlen, "cannot start the cache thread");
        goto fail;
    }
    c->has_thread = 1;
    return c;
fail:
    cache_stop(c);
    return NULL;
}

void cache_stop(struct cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->stop_mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->stop_cv);
    pthread_mutex_unlock(&c->stop_mu);
    if (c->src)
        c->src->interrupt(c->src_state);
    if (c->has_thread)
        pthread_join(c->thread, NULL);
    if (c->src)
        c->src->close(c->src_state);
    cache_index_free(c->idx);
    pthread_rwlock_destroy(&c->lock);
    pthread_cond_destroy(&c->stop_cv);
    pthread_mutex_destroy(&c->stop_mu);
    free(c);
}
