/*
 * The Canary cache. One background thread feeds an index of every Canary from one source:
 *
 *  - the Kubernetes API: list canaries.flagger.app in pages, then watch from the list's
 *    resourceVersion with bookmarks; a dropped stream resumes from the last resourceVersion seen, a
 *    410 Gone lists again, every other failure waits a capped, jittered exponential backoff;
 *  - files (--canaries PATH): read at start, read again when their mtimes, sizes or inodes change.
 *
 * The index holds, per Canary, only struct canary_info and its lookup keys, in three uthash tables:
 * by namespace/name (to apply events), by namespace/target kind/target name and by namespace/tracked
 * config. A list is built into a fresh index off the lock and swapped in; an event is parsed off the
 * lock and linked in under it, so admission threads wait at most for a few pointer updates.
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>

#include "buf.h"
#include "canary.h"
#include "kube.h"
#include "log.h"
#include "yamlio.h"

#define CANARIES_PATH "/apis/flagger.app/v1beta1/canaries"
/* The API server's own suggestion for list chunks is 500; it bounds one response to a few MB. */
#define LIST_PAGE 500
#define BACKOFF_BASE_MS 250L
#define BACKOFF_CAP_MS 30000L
/* A watch that delivered something or lasted this long was healthy: the next failure starts the
 * backoff from the bottom again. */
#define WATCH_HEALTHY_S 10.0
/* Ask the API server to end each watch after 5 to 10 minutes (as client-go does), so that a stream
 * a proxy silently dropped is replaced even without keepalive help. */
#define WATCH_TIMEOUT_MIN_S 300L
#define WATCH_TIMEOUT_SPREAD_S 300L
/* Files under --canaries are manifests; anything larger is a mistake. */
#define FILE_MAX ((size_t)64 << 20)
#define FILES_MAX 10000
#define FILE_POLL_MS 1000L
/* Longest lookup key: namespace (63) + kind + name (253), with room to spare. */
#define KEY_MAX 1024
#define RV_MAX 128
#define DEFAULT_MAX_UNSYNCED_S 60L

struct key {
    char *p;    /* parts joined by '\0' (names may hold any byte but NUL) */
    size_t n;
};

/* One Canary. */
struct rec {
    struct key name;        /* namespace, name */
    struct key target;      /* namespace, kind, name; p NULL without a targetRef */
    struct key *configs;    /* namespace, "configmap/x" */
    size_t nconfigs;
    struct canary_info info;
    UT_hash_handle hh;
};

/* Every Canary sharing one target or one tracked config, in arrival order. */
struct slot {
    struct key key;
    struct rec **recs;
    size_t n, cap;
    UT_hash_handle hh;
};

struct index {
    struct rec *by_name;
    struct slot *by_target;
    struct slot *by_config;
};

struct cache {
    /* lock guards everything up to the source fields. Writers are preferred: a steady stream of
     * admission reads must not hold an event back. */
    pthread_rwlock_t lock;
    struct index *idx;
    int synced;
    int in_sync;
    struct timespec last_sync;  /* when the source was last known in sync */
    long events;
    long relists;
    char rv[RV_MAX];
    long max_unsynced;

    /* The source, used by the background thread only. */
    struct kube *kube;
    char *path;
    uint64_t files_sig;
    unsigned seed;
    pthread_t thread;
    int has_thread;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    int stopping;
};

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double ts_seconds(const struct timespec *ts)
{
    return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

/* ---- keys ---- */

/* Join up to three parts into buf; -1 when they do not fit. */
static int key_fill(char *buf, size_t size, size_t *len, const char *a, const char *b, const char *c)
{
    size_t na = strlen(a), nb = strlen(b), nc = c ? strlen(c) + 1 : 0;

    if (na + 1 + nb + nc > size)
        return -1;
    memcpy(buf, a, na);
    buf[na] = '\0';
    memcpy(buf + na + 1, b, nb);
    if (c) {
        buf[na + 1 + nb] = '\0';
        memcpy(buf + na + 2 + nb, c, nc - 1);
    }
    *len = na + 1 + nb + nc;
    return 0;
}

static int key_make(struct key *k, const char *a, const char *b, const char *c)
{
    size_t size = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;

    k->p = malloc(size);
    if (!k->p || key_fill(k->p, size, &k->n, a, b, c) != 0) {
        free(k->p);
        k->p = NULL;
        return -1;
    }
    return 0;
}

/* ---- records ---- */

static void rec_free(struct rec *r)
{
    size_t i;

    if (!r)
        return;
    free(r->name.p);
    free(r->target.p);
    for (i = 0; i < r->nconfigs; i++)
        free(r->configs[i].p);
    free(r->configs);
    free(r);
}

static const char *json_string(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What the index keeps of one Canary object; NULL when it has no namespace and name. */
static struct rec *rec_new(const cJSON *obj)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "targetRef");
    const cJSON *tracked = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "status"),
                                                            "trackedConfigs");
    const char *ns = json_string(meta, "namespace"), *name = json_string(meta, "name");
    const char *kind = json_string(ref, "kind"), *target = json_string(ref, "name");
    const cJSON *t;
    struct rec *r;
    size_t n = 0;

    if (!cJSON_IsObject(obj) || !ns || !ns[0] || !name || !name[0])
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r || key_make(&r->name, ns, name, NULL) != 0)
        goto fail;
    if (kind && kind[0] && target && target[0] && key_make(&r->target, ns, kind, target) != 0)
        goto fail;
    if (cJSON_IsObject(tracked)) {
        cJSON_ArrayForEach(t, tracked)
            n++;
        r->configs = calloc(n ? n : 1, sizeof(*r->configs));
        if (!r->configs)
            goto fail;
        cJSON_ArrayForEach(t, tracked) {
            if (!t->string || !t->string[0])
                continue;
            if (key_make(&r->configs[r->nconfigs], ns, t->string, NULL) != 0)
                goto fail;
            r->nconfigs++;
        }
    }
    snprintf(r->info.namespace_, sizeof(r->info.namespace_), "%s", ns);
    snprintf(r->info.name, sizeof(r->info.name), "%s", name);
    snprintf(r->info.phase, sizeof(r->info.phase), "%s", canary_phase(obj));
    r->info.weight = canary_weight(obj);
    r->info.gated = canary_is_gated(obj);
    r->info.release = canary_release_of(r->info.phase, r->info.weight);
    return r;
fail:
    rec_free(r);
    return NULL;
}

/* ---- the index ---- */

static int slot_add(struct slot **table, const struct key *k, struct rec *r)
{
    struct slot *s;
    struct rec **nr;
    size_t cap;

    HASH_FIND(hh, *table, k->p, k->n, s);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s || !(s->key.p = malloc(k->n))) {
            free(s);
            return -1;
        }
        memcpy(s->key.p, k->p, k->n);
        s->key.n = k->n;
        HASH_ADD_KEYPTR(hh, *table, s->key.p, s->key.n, s);
    }
    if (s->n == s->cap) {
        cap = s->cap ? s->cap * 2 : 1;
        nr = realloc(s->recs, cap * sizeof(*nr));
        if (!nr) {
            if (s->n == 0) {
                HASH_DEL(*table, s);
                free(s->key.p);
                free(s);
            }
            return -1;
        }
        s->recs = nr;
        s->cap = cap;
    }
    s->recs[s->n++] = r;
    return 0;
}

static void slot_remove(struct slot **table, const struct key *k, const struct rec *r)
{
    struct slot *s;
    size_t i;

    HASH_FIND(hh, *table, k->p, k->n, s);
    if (!s)
        return;
    for (i = 0; i < s->n && s->recs[i] != r; i++)
        ;
    if (i == s->n)
        return;
    memmove(&s->recs[i], &s->recs[i + 1], (s->n - i - 1) * sizeof(*s->recs));
    if (--s->n == 0) {
        HASH_DEL(*table, s);
        free(s->key.p);
        free(s->recs);
        free(s);
    }
}

static void index_unlink(struct index *idx, struct rec *r, size_t nconfigs)
{
    size_t i;

    if (r->target.p)
        slot_remove(&idx->by_target, &r->target, r);
    for (i = 0; i < nconfigs; i++)
        slot_remove(&idx->by_config, &r->configs[i], r);
    HASH_DEL(idx->by_name, r);
}

/* Unlink the Canary of that namespace/name; the caller frees what comes back. */
static struct rec *index_take(struct index *idx, const struct key *name)
{
    struct rec *r;

    HASH_FIND(hh, idx->by_name, name->p, name->n, r);
    if (r)
        index_unlink(idx, r, r->nconfigs);
    return r;
}

/* Link r in (after index_take of its name). -1 leaves the index as it was. */
static int index_link(struct index *idx, struct rec *r)
{
    size_t i;

    HASH_ADD_KEYPTR(hh, idx->by_name, r->name.p, r->name.n, r);
    if (r->target.p && slot_add(&idx->by_target, &r->target, r) != 0) {
        HASH_DEL(idx->by_name, r);
        return -1;
    }
    for (i = 0; i < r->nconfigs; i++) {
        if (slot_add(&idx->by_config, &r->configs[i], r) != 0) {
            index_unlink(idx, r, i);
            return -1;
        }
    }
    return 0;
}

static void index_free(struct index *idx)
{
    struct rec *r, *rt;
    struct slot *s, *st;

    if (!idx)
        return;
    HASH_ITER(hh, idx->by_target, s, st) {
        HASH_DEL(idx->by_target, s);
        free(s->key.p);
        free(s->recs);
        free(s);
    }
    HASH_ITER(hh, idx->by_config, s, st) {
        HASH_DEL(idx->by_config, s);
        free(s->key.p);
        free(s->recs);
        free(s);
    }
    HASH_ITER(hh, idx->by_name, r, rt) {
        HASH_DEL(idx->by_name, r);
        rec_free(r);
    }
    free(idx);
}

/* Put one Canary object into an index nobody else reads yet (a list being built). */
static void index_put(struct index *idx, const cJSON *obj)
{
    struct rec *r = rec_new(obj);

    if (!r)
        return;
    rec_free(index_take(idx, &r->name));
    if (index_link(idx, r) != 0)
        rec_free(r);
}

/* Every Canary of a List's items, or of an array. */
static void index_put_items(struct index *idx, const cJSON *items)
{
    const cJSON *it;
    const char *kind;

    cJSON_ArrayForEach(it, items) {
        kind = json_string(it, "kind");
        if (!kind || strcmp(kind, "Canary") == 0)
            index_put(idx, it);
    }
}

/* The one of several Canaries sharing a key that a lookup answers: the highest canary_release_rank, the
 * first to arrive among equals. */
static const struct rec *slot_best(const struct slot *s)
{
    const struct rec *best = NULL;
    int best_score = -1, score;
    size_t i;

    for (i = 0; i < s->n; i++) {
        score = canary_release_rank(s->recs[i]->info.gated, s->recs[i]->info.release);
        if (score > best_score) {
            best = s->recs[i];
            best_score = score;
        }
    }
    return best;
}

/* ---- the cache state ---- */

/* Swap in a freshly built index. A reload of files counts as an event, a list after the first as a
 * relist. */
static void cache_replace(struct cache *c, struct index *idx, const char *rv, int as_event)
{
    struct index *old;

    pthread_rwlock_wrlock(&c->lock);
    old = c->idx;
    c->idx = idx;
    if (c->synced) {
        if (as_event)
            c->events++;
        else
            c->relists++;
    }
    c->synced = 1;
    c->in_sync = 1;
    clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
    snprintf(c->rv, sizeof(c->rv), "%s", rv ? rv : "");
    pthread_rwlock_unlock(&c->lock);
    index_free(old);
}

static void cache_set_in_sync(struct cache *c, int in_sync)
{
    pthread_rwlock_wrlock(&c->lock);
    if (c->in_sync != in_sync && c->synced)
        clock_gettime(CLOCK_MONOTONIC, &c->last_sync);
    c->in_sync = in_sync;
    pthread_rwlock_unlock(&c->lock);
}

static void cache_set_rv(struct cache *c, const cJSON *obj)
{
    const char *rv = json_string(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion");

    if (rv && rv[0])
        snprintf(c->rv, sizeof(c->rv), "%s", rv);
}

struct cache *cache_new(long max_unsynced_seconds)
{
    struct cache *c = calloc(1, sizeof(*c));
    pthread_rwlockattr_t ra;
    pthread_condattr_t ca;

    if (!c)
        return NULL;
    c->idx = calloc(1, sizeof(*c->idx));
    if (!c->idx) {
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

int cache_apply_list(struct cache *c, const cJSON *list)
{
    const cJSON *items = cJSON_IsArray(list) ? list : cJSON_GetObjectItemCaseSensitive(list, "items");
    struct index *idx;

    if (!c || !(cJSON_IsArray(items) || (cJSON_IsObject(list) && cJSON_IsNull(items))))
        return -1;
    idx = calloc(1, sizeof(*idx));
    if (!idx)
        return -1;
    index_put_items(idx, items);
    cache_replace(c, idx, json_string(cJSON_GetObjectItemCaseSensitive(list, "metadata"), "resourceVersion"), 0);
    return 0;
}

int cache_apply_event(struct cache *c, const cJSON *event)
{
    const char *type = json_string(event, "type");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(event, "object");
    const cJSON *code;
    struct rec *r = NULL, *old = NULL;
    int rc = -1, del;

    if (!c || !type || !cJSON_IsObject(obj))
        return -1;
    if (strcmp(type, "ERROR") == 0) {
        code = cJSON_GetObjectItemCaseSensitive(obj, "code");
        return cJSON_IsNumber(code) && code->valueint == 410 ? CACHE_EVENT_GONE : -1;
    }
    if (strcmp(type, "BOOKMARK") == 0) {
        pthread_rwlock_wrlock(&c->lock);
        cache_set_rv(c, obj);
        pthread_rwlock_unlock(&c->lock);
        return 0;
    }
    del = strcmp(type, "DELETED") == 0;
    if (!del && strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0)
        return -1;
    /* Parse and allocate before taking the lock. */
    r = rec_new(obj);
    if (!r)
        return -1;
    pthread_rwlock_wrlock(&c->lock);
    old = index_take(c->idx, &r->name);
    if (del) {
        rc = 0;
    } else if (index_link(c->idx, r) == 0) {
        r = NULL;
        rc = 0;
    }
    if (rc == 0) {
        c->events++;
        cache_set_rv(c, obj);
    }
    pthread_rwlock_unlock(&c->lock);
    rec_free(old);
    rec_free(r);
    return rc;
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

static int cache_find(struct cache *c, int by_config, const char *a, const char *b, const char *d,
                      struct canary_info *out)
{
    char key[KEY_MAX];
    size_t n;
    struct slot *s = NULL;
    int rc = LOOKUP_NONE;

    if (!c)
        return LOOKUP_UNKNOWN;
    pthread_rwlock_rdlock(&c->lock);
    if (!c->synced) {
        rc = LOOKUP_UNKNOWN;
    } else if (a && b && (by_config || d) && key_fill(key, sizeof(key), &n, a, b, d) == 0) {
        HASH_FIND(hh, by_config ? c->idx->by_config : c->idx->by_target, key, n, s);
        if (s && s->n) {
            if (out)
                *out = slot_best(s)->info;
            rc = LOOKUP_FOUND;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static int info_order(const void *a, const void *b)
{
    const struct canary_info *x = a, *y = b;
    int c = strcmp(x->namespace_, y->namespace_);

    return c ? c : strcmp(x->name, y->name);
}

/* The gated Canaries whose release a new revision would lose, of namespace ns (NULL: all), sorted by
 * namespace and name. A walk of every Canary: this answers rare requests (a Flagger upgrade, a
 * ConfigMap's tracking turned back on), never the per-template lookups. */
static int cache_releases(void *ctx, const char *ns, struct canary_info *out, int max)
{
    struct cache *c = ctx;
    struct canary_info *all = NULL;
    struct rec *r, *tmp;
    int n = 0, cap = 0, rc;

    if (!c)
        return LOOKUP_UNKNOWN;
    pthread_rwlock_rdlock(&c->lock);
    if (!c->synced) {
        pthread_rwlock_unlock(&c->lock);
        return LOOKUP_UNKNOWN;
    }
    HASH_ITER(hh, c->idx->by_name, r, tmp) {
        if (!r->info.gated || !canary_release_denies(r->info.release) || (ns && strcmp(ns, r->info.namespace_) != 0))
            continue;
        if (n == cap) {
            struct canary_info *grown = realloc(all, (size_t)(cap = cap ? cap * 2 : 16) * sizeof(*all));

            if (!grown) {
                /* Unsure is unknown: the caller then denies (or fails open as configured). */
                pthread_rwlock_unlock(&c->lock);
                free(all);
                return LOOKUP_UNKNOWN;
            }
            all = grown;
        }
        all[n++] = r->info;
    }
    pthread_rwlock_unlock(&c->lock);
    qsort(all, (size_t)n, sizeof(*all), info_order);
    if (n > 0 && max > 0)
        memcpy(out, all, sizeof(*all) * (size_t)(n < max ? n : max));
    rc = n;
    free(all);
    return rc;
}

static int cache_by_target(void *ctx, const char *ns, const char *kind, const char *name, struct canary_info *out)
{
    return cache_find(ctx, 0, ns, kind, name, out);
}

static int cache_by_config(void *ctx, const char *ns, const char *ref, struct canary_info *out)
{
    return cache_find(ctx, 1, ns, ref, NULL, out);
}

void cache_lookup(struct cache *c, struct canary_lookup *out)
{
    out->ctx = c;
    out->by_target = cache_by_target;
    out->by_config = cache_by_config;
    out->releases = cache_releases;
}

int cache_ready(struct cache *c)
{
    int ready;

    if (!c)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    ready = c->synced && (c->in_sync || now_seconds() - ts_seconds(&c->last_sync) <= (double)c->max_unsynced);
    pthread_rwlock_unlock(&c->lock);
    return ready;
}

void cache_stats(struct cache *c, struct cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->last_sync_age = -1;
    if (!c)
        return;
    pthread_rwlock_rdlock(&c->lock);
    out->canaries = (long)HASH_COUNT(c->idx->by_name);
    out->events = c->events;
    out->relists = c->relists;
    out->synced = c->synced;
    if (c->synced)
        out->last_sync_age = c->in_sync ? 0 : now_seconds() - ts_seconds(&c->last_sync);
    pthread_rwlock_unlock(&c->lock);
}

/* ---- the background thread's helpers ---- */

static int cache_stopping(struct cache *c)
{
    int s;

    pthread_mutex_lock(&c->stop_mu);
    s = c->stopping;
    pthread_mutex_unlock(&c->stop_mu);
    return s;
}

/* Sleep ms unless stopped first; 1 when stopping. */
static int cache_sleep(struct cache *c, long ms)
{
    struct timespec until;
    int s;

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

/* Capped exponential backoff; the jitter spreads many replicas that failed together. */
static long cache_backoff_ms(struct cache *c, int failures)
{
    long d = BACKOFF_BASE_MS;
    int i;

    for (i = 1; i < failures && d < BACKOFF_CAP_MS; i++)
        d *= 2;
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    return d / 2 + (long)(rand_r(&c->seed) % (unsigned)(d / 2 + 1));
}

/* A Status body's message, for the log (Status messages name objects, they do not carry them). */
static void status_message(const char *body, size_t len, char *buf, size_t size)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const char *m = json_string(j, "message");

    snprintf(buf, size, "%.200s", m ? m : "");
    cJSON_Delete(j);
}

/* ---- the API source ---- */

/* List every Canary, page by page, and swap the result in. */
static int api_list(struct cache *c)
{
    struct index *idx = calloc(1, sizeof(*idx));
    char path[4096], err[256], msg[256];
    char *cont = NULL, *esc = NULL, *body = NULL;
    const char *rv = NULL, *next;
    cJSON *page = NULL, *items;
    size_t len;
    long status;
    int pages = 0, rc = -1;
    char rvbuf[RV_MAX] = "";

    if (!idx)
        goto out;
    do {
        if (cont) {
            esc = kube_escape(cont);
            if (!esc || strlen(esc) > sizeof(path) - 100) {
                log_warn("cache: list continue token unusable");
                goto out;
            }
            snprintf(path, sizeof(path), CANARIES_PATH "?limit=%d&continue=%s", LIST_PAGE, esc);
            free(esc);
            esc = NULL;
        } else {
            snprintf(path, sizeof(path), CANARIES_PATH "?limit=%d", LIST_PAGE);
        }
        if (kube_get(c->kube, path, &status, &body, &len, err, sizeof(err)) != 0) {
            if (!cache_stopping(c))
                log_warn("cache: list canaries at %s failed: %s", kube_base_url(c->kube), err);
            goto out;
        }
        if (status != 200) {
            status_message(body, len, msg, sizeof(msg));
            /* 410 here is an expired continue token: the next try starts over. */
            log_warn("cache: list canaries answered HTTP %ld: %s", status, msg);
            goto out;
        }
        cJSON_Delete(page);
        page = cJSON_ParseWithLength(body, len);
        free(body);
        body = NULL;
        items = cJSON_GetObjectItemCaseSensitive(page, "items");
        if (!cJSON_IsObject(page) || !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
            log_warn("cache: list canaries answered something that is not a list");
            goto out;
        }
        index_put_items(idx, items);
        pages++;
        rv = json_string(cJSON_GetObjectItemCaseSensitive(page, "metadata"), "resourceVersion");
        snprintf(rvbuf, sizeof(rvbuf), "%s", rv ? rv : "");
        next = json_string(cJSON_GetObjectItemCaseSensitive(page, "metadata"), "continue");
        free(cont);
        cont = next && next[0] ? strdup(next) : NULL;
        if (next && next[0] && !cont)
            goto out;
    } while (cont);
    if (!rvbuf[0]) {
        log_warn("cache: list canaries carries no resourceVersion");
        goto out;
    }
    cache_replace(c, idx, rvbuf, 0);
    log_info("cache: listed %ld Canaries in %d page(s) at resourceVersion %s",
             (long)HASH_COUNT(idx->by_name), pages, rvbuf);
    idx = NULL;
    rc = 0;
out:
    index_free(idx);
    cJSON_Delete(page);
    free(body);
    free(cont);
    free(esc);
    return rc;
}

struct watch_state {
    struct cache *c;
    long lines;
    int gone;
    int error_event;
};

static int watch_line(void *ctx, const char *line, size_t len)
{
    struct watch_state *w = ctx;
    cJSON *ev;
    const char *type, *msg;
    int r;

    if (!line) {
        cache_set_in_sync(w->c, 1);   /* the watch is open: from here on we see every change */
        return 0;
    }
    w->lines++;
    ev = cJSON_ParseWithLength(line, len);
    if (!ev) {
        log_warn("cache: undecodable watch event (%zu bytes)", len);
        return 1;
    }
    type = json_string(ev, "type");
    r = cache_apply_event(w->c, ev);
    if (r == CACHE_EVENT_GONE) {
        w->gone = 1;
    } else if (type && strcmp(type, "ERROR") == 0) {
        msg = json_string(cJSON_GetObjectItemCaseSensitive(ev, "object"), "message");
        log_warn("cache: watch ERROR event: %.200s", msg ? msg : "");
        w->error_event = 1;
    } else if (r != 0) {
        log_debug("cache: skipped a %s event without a usable Canary", type ? type : "untyped");
    }
    cJSON_Delete(ev);
    return w->gone || w->error_event;
}

/* One watch from the current resourceVersion. */
static void api_watch(struct cache *c, struct watch_state *w, int *failed, double *seconds)
{
    char rv[RV_MAX], path[512], err[256];
    char *esc;
    long status = 0, timeout = WATCH_TIMEOUT_MIN_S + (long)(rand_r(&c->seed) % WATCH_TIMEOUT_SPREAD_S);
    double start = now_seconds();
    int rc;

    *failed = 1;
    *seconds = 0;
    cache_resource_version(c, rv, sizeof(rv));
    esc = kube_escape(rv);
    if (!esc)
        return;
    snprintf(path, sizeof(path), CANARIES_PATH "?watch=true&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld",
             esc, timeout);
    free(esc);
    /* The client-side bound only catches a server that ignores timeoutSeconds. */
    rc = kube_stream(c->kube, path, timeout + 30, watch_line, w, &status, err, sizeof(err));
    *seconds = now_seconds() - start;
    if (cache_stopping(c))
        return;
    if (w->gone || (rc == 0 && status == 410)) {
        log_info("cache: resourceVersion %s is gone; listing again", rv);
        w->gone = 1;
        *failed = 0;
    } else if (rc == 0 && status / 100 != 2) {
        log_warn("cache: watch canaries answered HTTP %ld", status);
    } else if (rc != 0 && !w->error_event) {
        cache_resource_version(c, rv, sizeof(rv));
        log_warn("cache: watch stream broke (%s); resuming from resourceVersion %s", err, rv);
    } else if (rc == 0) {
        *failed = 0;   /* the server ended the watch (timeoutSeconds): resume */
    }
}

static void *api_main(void *arg)
{
    struct cache *c = arg;
    struct watch_state w;
    int failures = 0, need_list = 1, failed;
    double seconds;

    while (!cache_stopping(c)) {
        if (failures && cache_sleep(c, cache_backoff_ms(c, failures)))
            break;
        if (need_list) {
            if (api_list(c) != 0) {
                cache_set_in_sync(c, 0);
                failures++;
                continue;
            }
            need_list = 0;
        }
        memset(&w, 0, sizeof(w));
        w.c = c;
        api_watch(c, &w, &failed, &seconds);
        if (w.gone)
            need_list = 1;
        if (failed)
            cache_set_in_sync(c, 0);
        if (w.lines > 0 || seconds >= WATCH_HEALTHY_S)
            failures = 0;
        else
            failures++;
    }
    return NULL;
}

/* ---- the file source ---- */

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n > m && strcmp(s + n - m, suffix) == 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void files_free(char **files, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

/* The files PATH stands for, sorted: itself, or the *.yaml, *.yml, *.json of a directory (hidden
 * names skipped: a mounted ConfigMap keeps its real files under "..data"). */
static int files_list(const char *path, char ***out, size_t *n, char *err, size_t errlen)
{
    struct stat st;
    DIR *d = NULL;
    struct dirent *e;
    char **files = NULL, **nf;
    size_t len;
    int rc = -1;

    *out = NULL;
    *n = 0;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: cannot stat it", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        files = calloc(1, sizeof(*files));
        if (!files || !(files[0] = strdup(path)))
            goto oom;
        *out = files;
        *n = 1;
        return 0;
    }
    if (!(d = opendir(path))) {
        snprintf(err, errlen, "%s: cannot open the directory", path);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' ||
            !(has_suffix(e->d_name, ".yaml") || has_suffix(e->d_name, ".yml") || has_suffix(e->d_name, ".json")))
            continue;
        if (*n == FILES_MAX) {
            snprintf(err, errlen, "%s: more than %d files", path, FILES_MAX);
            goto out;
        }
        nf = realloc(files, (*n + 1) * sizeof(*files));
        if (!nf)
            goto oom;
        files = nf;
        len = strlen(path) + strlen(e->d_name) + 2;
        if (!(files[*n] = malloc(len)))
            goto oom;
        snprintf(files[*n], len, "%s/%s", path, e->d_name);
        (*n)++;
    }
    qsort(files, *n, sizeof(*files), name_cmp);
    *out = files;
    files = NULL;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    if (d)
        closedir(d);
    if (files) {
        files_free(files, *n);
        *n = 0;
    }
    return rc;
}

/* A fingerprint of PATH and its files: changes when one is added, removed, replaced or written. */
static uint64_t files_signature(const char *path)
{
    uint64_t h = 1469598103934665603ULL;
    char **files = NULL, err[256];
    size_t n = 0, i;
    struct stat st;
    long v[5];
    size_t j;

    if (files_list(path, &files, &n, err, sizeof(err)) != 0)
        return 0;
    for (i = 0; i <= n; i++) {
        memset(v, 0, sizeof(v));
        if (stat(i < n ? files[i] : path, &st) == 0) {
            v[0] = (long)st.st_ino;
            v[1] = (long)st.st_size;
            v[2] = (long)st.st_mtim.tv_sec;
            v[3] = st.st_mtim.tv_nsec;
            v[4] = (long)st.st_dev;
        }
        for (j = 0; j < sizeof(v); j++)
            h = (h ^ ((const unsigned char *)v)[j]) * 1099511628211ULL;
    }
    files_free(files, n);
    return h;
}

static int file_read_into(struct index *idx, const char *file, char *err, size_t errlen)
{
    struct buf text = BUF_INIT(FILE_MAX);
    char yerr[256] = "";
    cJSON *docs = NULL, *doc;
    const char *kind;

    if (buf_read_file(&text, file) != 0) {
        snprintf(err, errlen, "%s: %s", file, errno == EFBIG ? "larger than the file limit" : strerror(errno));
        buf_free(&text);
        return -1;
    }
    docs = yaml_parse(text.data, text.len, yerr, sizeof(yerr));
    buf_free(&text);
    if (!docs) {
        snprintf(err, errlen, "%s: %s", file, yerr);
        return -1;
    }
    cJSON_ArrayForEach(doc, docs) {
        kind = json_string(doc, "kind");
        if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "items")))
            index_put_items(idx, cJSON_GetObjectItemCaseSensitive(doc, "items"));
        else if (kind && strcmp(kind, "Canary") == 0)
            index_put(idx, doc);
    }
    cJSON_Delete(docs);
    return 0;
}

/* Read every file into a new index and swap it in; on any error keep the current one. */
static int files_load(struct cache *c, char *err, size_t errlen)
{
    struct index *idx = calloc(1, sizeof(*idx));
    char **files = NULL;
    size_t n = 0, i;
    int rc = -1;

    if (!idx) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (files_list(c->path, &files, &n, err, errlen) != 0)
        goto out;
    for (i = 0; i < n; i++)
        if (file_read_into(idx, files[i], err, errlen) != 0)
            goto out;
    log_info("cache: read %ld Canaries from %zu file(s) under %s", (long)HASH_COUNT(idx->by_name), n, c->path);
    cache_replace(c, idx, "", 1);
    idx = NULL;
    rc = 0;
out:
    index_free(idx);
    files_free(files, n);
    return rc;
}

static void *files_main(void *arg)
{
    struct cache *c = arg;
    char err[512];
    uint64_t sig;

    while (!cache_sleep(c, FILE_POLL_MS)) {
        sig = files_signature(c->path);
        if (sig == c->files_sig)
            continue;
        /* Remember the fingerprint even when the read fails: a broken file is reported once, and
         * read again when it is written next. */
        c->files_sig = sig;
        if (files_load(c, err, sizeof(err)) != 0)
            log_warn("cache: keeping the last Canaries read: %s", err);
    }
    return NULL;
}

/* ---- start and stop ---- */

struct cache *cache_start(const struct cache_config *cfg, char *err, size_t errlen)
{
    struct kube_config kc = {cfg->kube_api, cfg->token_file, cfg->ca_file};
    struct cache *c = cache_new(cfg->max_unsynced_seconds);
    void *(*run)(void *) = NULL;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (cfg->canaries_path && cfg->canaries_path[0]) {
        if (cfg->kube_api && cfg->kube_api[0])
            log_info("cache: --canaries given, --kube-api is not used");
        if (!(c->path = strdup(cfg->canaries_path))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        c->files_sig = files_signature(c->path);
        if (files_load(c, err, errlen) != 0)
            goto fail;
        run = files_main;
    } else if (kube_configured(&kc)) {
        if (!(c->kube = kube_open(&kc, err, errlen)))
            goto fail;
        run = api_main;
    } else {
        log_warn("cache: no Canary source (no --canaries, no --kube-api, no KUBERNETES_SERVICE_HOST): "
                 "the cache stays unsynced and cannot tell which targets are gated");
        return c;
    }
    if (pthread_create(&c->thread, NULL, run, c) != 0) {
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
    kube_interrupt(c->kube);
    if (c->has_thread)
        pthread_join(c->thread, NULL);
    kube_close(c->kube);
    index_free(c->idx);
    free(c->path);
    pthread_rwlock_destroy(&c->lock);
    pthread_cond_destroy(&c->stop_cv);
    pthread_mutex_destroy(&c->stop_mu);
    free(c);
}
