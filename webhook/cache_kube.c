/*
 * The Canary cache's Kubernetes source: list canaries.flagger.app in pages, then watch from the list's
 * resourceVersion with bookmarks. A watch that fails waits a capped, jittered exponential backoff, and so
 * does one that ends without having delivered anything; only a watch that delivered an event or a bookmark
 * resets it. A dropped stream resumes from the last resourceVersion seen; 410 Gone, an event over the line
 * cap or one the cache could not apply list again. A watch with no event or bookmark for the idle timeout
 * (three bookmark intervals) is dead and replaced. The log says when the source starts failing and when it
 * recovers, not every retry. Each list is built into a fresh index and published whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_index.h"
#include "cache_source.h"
#include "kube.h"
#include "log.h"
#include "monotime.h"
#include "obj.h"

#define CANARIES_PATH "/apis/flagger.app/v1beta1/canaries"
/* The API server's own suggestion for list chunks is 500; it bounds one response to a few MB. */
#define LIST_PAGE 500
/* A watch that lasted this long and was closed by the server was healthy even without events (an API
 * server that sends no bookmarks): the next one starts at once. */
#define WATCH_HEALTHY_S 10.0
/* Ask the API server to end each watch after 5 to 10 minutes (as client-go does), so that a stream
 * a proxy silently dropped is replaced even without keepalive help. */
#define WATCH_TIMEOUT_MIN_S 300L
#define WATCH_TIMEOUT_SPREAD_S 300L
/* The API server sends a bookmark about once a minute to a watch that asked for them; three missed
 * ones mean the stream is dead even if its connection is not. */
#define WATCH_IDLE_DEFAULT_S 180L
#define RV_MAX 128
#define WHY_MAX 320

struct kube_source {
    struct kube *kube;
    unsigned seed;
    long idle_s;
    int failures;         /* failed or unproductive attempts since the last watch that delivered */
    int failing;          /* the log said the source is failing, and has not said it recovered */
    double failing_since; /* monotime of that line */
};

/* A Status body's message, for the log (Status messages name objects, they do not carry them). */
static void status_message(const char *body, size_t len, char *buf, size_t size)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const char *m = obj_string(j, "message");

    snprintf(buf, size, "%.200s", m ? m : "");
    cJSON_Delete(j);
}

/* ---- the API source ---- */

/* GET one page of the list (after the continue token cont, NULL for the first) into idx. 0 with the
 * page's resourceVersion in rv and its continue token in *next (malloc'd, NULL on the last page); -1
 * with the reason in why. */
static int list_page(struct kube_source *k, const char *cont, struct cache_index *idx, char *rv, size_t rvlen,
                     char **next, char *why, size_t whylen)
{
    char path[4096], err[256], msg[256], *esc = NULL, *body = NULL;
    const cJSON *items, *meta;
    cJSON *page = NULL;
    const char *token;
    size_t len;
    long status;
    int rc = -1;

    *next = NULL;
    if (cont && (!(esc = kube_escape(cont)) || strlen(esc) > sizeof(path) - 100)) {
        snprintf(why, whylen, "list continue token unusable");
        goto out;
    }
    snprintf(path, sizeof(path), CANARIES_PATH "?limit=%d%s%s", LIST_PAGE, esc ? "&continue=" : "", esc ? esc : "");
    if (kube_get(k->kube, path, &status, &body, &len, err, sizeof(err)) != 0) {
        snprintf(why, whylen, "%s: %s", kube_base_url(k->kube), err);
        goto out;
    }
    if (status != 200) {
        status_message(body, len, msg, sizeof(msg));
        /* 410 here is an expired continue token: the next try starts over. */
        snprintf(why, whylen, "HTTP %ld: %s", status, msg);
        goto out;
    }
    page = cJSON_ParseWithLength(body, len);
    items = obj_get(page, "items");
    meta = obj_get(page, "metadata");
    if (!cJSON_IsObject(page) || !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
        snprintf(why, whylen, "the answer is not a list");
        goto out;
    }
    if (cache_index_put_items(idx, items) != 0) {
        snprintf(why, whylen, "out of memory while indexing the Canaries; keeping the last list");
        goto out;
    }
    snprintf(rv, rvlen, "%s", obj_string_or(meta, "resourceVersion", ""));
    token = obj_string(meta, "continue");
    if (token && token[0] && !(*next = strdup(token))) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(page);
    free(body);
    free(esc);
    return rc;
}

/* List every Canary, page by page, and publish the result. 0, or -1 with the reason in why. */
static int api_list(struct kube_source *k, struct cache *c, char *why, size_t whylen)
{
    struct cache_index *idx = cache_index_new();
    char rv[RV_MAX] = "", *cont = NULL, *next = NULL;
    int pages = 0, rc = -1;

    if (!idx) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    do {
        rc = list_page(k, cont, idx, rv, sizeof(rv), &next, why, whylen);
        free(cont);
        cont = next;
        pages++;
    } while (rc == 0 && cont);
    if (rc == 0 && !rv[0]) {
        snprintf(why, whylen, "the list carries no resourceVersion");
        rc = -1;
    }
    if (rc == 0) {
        log_info("cache: listed %ld Canaries in %d page(s) at resourceVersion %s", cache_index_count(idx), pages, rv);
        cache_publish(c, idx, rv, 0);
        idx = NULL;
    }
    cache_index_free(idx);
    free(cont);
    cache_give_back();
    return rc;
}

struct watch_state {
    struct cache *c;
    struct kube_source *k;
    long alive;               /* events and bookmarks applied: the watch delivered */
    enum cache_watch_end end; /* why the reader ended the stream; CACHE_WATCH_ENDS while it did not */
    char why[WHY_MAX];
};

/* A watch proved itself (an event or a bookmark): the backoff starts from the bottom again. */
static void delivered(struct kube_source *k)
{
    if (k->failing)
        log_info("cache: watch recovered after %d failed attempt(s) in %.0f s", k->failures,
                 monotime_now() - k->failing_since);
    k->failing = 0;
    k->failures = 0;
}

static int watch_line(void *ctx, const char *line, size_t len)
{
    struct watch_state *w = ctx;
    const cJSON *obj;
    const char *type;
    cJSON *ev;
    int r;

    if (!line)
        return 0;   /* the headers: an open watch is no proof of life yet */
    if (!(ev = cJSON_ParseWithLength(line, len))) {
        snprintf(w->why, sizeof(w->why), "an undecodable watch event (%zu bytes)", len);
        w->end = CACHE_WATCH_UNDECODABLE;
        return 1;
    }
    type = obj_string(ev, "type");
    obj = obj_get(ev, "object");
    r = cache_apply_event(w->c, ev);
    if (r == 0) {
        if (w->alive++ == 0)
            delivered(w->k);
    } else if (r == CACHE_EVENT_GONE) {
        snprintf(w->why, sizeof(w->why), "ERROR event 410: %.200s", obj_string_or(obj, "message", ""));
        w->end = CACHE_WATCH_GONE;
    } else if (r == CACHE_EVENT_BROKEN) {
        snprintf(w->why, sizeof(w->why), "out of memory while applying a watch event");
        w->end = CACHE_WATCH_UNAPPLIED;
    } else if (type && strcmp(type, "ERROR") == 0) {
        snprintf(w->why, sizeof(w->why), "ERROR event %d: %.200s", cJSON_IsNumber(obj_get(obj, "code")) ?
                 obj_get(obj, "code")->valueint : 0, obj_string_or(obj, "message", ""));
        w->end = CACHE_WATCH_ERROR_EVENT;
    } else {
        log_debug("cache: skipped a %s event without a usable Canary", type ? type : "untyped");
    }
    cJSON_Delete(ev);
    return w->end != CACHE_WATCH_ENDS;
}

/* How the stream ended when the reader did not end it. */
static enum cache_watch_end stream_end(int rc, long status, const char *err, char *why, size_t whylen)
{
    if (rc == 0 && status == 410) {
        snprintf(why, whylen, "HTTP 410");
        return CACHE_WATCH_GONE;
    }
    if (rc == 0 && status / 100 != 2) {
        snprintf(why, whylen, "HTTP %ld", status);
        return CACHE_WATCH_HTTP_ERROR;
    }
    snprintf(why, whylen, "%s", rc == 0 ? "closed by the server" : err);
    if (rc == KUBE_STREAM_TOO_LONG)
        return CACHE_WATCH_TOO_LARGE;
    if (rc == KUBE_STREAM_IDLE)
        return CACHE_WATCH_IDLE;
    return rc == 0 ? CACHE_WATCH_CLOSED : CACHE_WATCH_BROKEN;
}

/* One watch from the current resourceVersion: why it ended (reason in w->why). */
static enum cache_watch_end api_watch(struct kube_source *k, struct cache *c, struct watch_state *w)
{
    char rv[RV_MAX], path[512], err[256];
    char *esc;
    long status = 0, timeout = WATCH_TIMEOUT_MIN_S + (long)(rand_r(&k->seed) % WATCH_TIMEOUT_SPREAD_S);
    int rc;

    cache_resource_version(c, rv, sizeof(rv));
    if (!(esc = kube_escape(rv))) {
        snprintf(w->why, sizeof(w->why), "out of memory");
        return CACHE_WATCH_BROKEN;
    }
    snprintf(path, sizeof(path),
             CANARIES_PATH "?watch=true&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld",
             esc, timeout);
    free(esc);
    /* The client-side bound only catches a server that ignores timeoutSeconds. */
    rc = kube_stream(k->kube, path, timeout + 30, k->idle_s, watch_line, w, &status, err, sizeof(err));
    if (w->end != CACHE_WATCH_ENDS)
        return w->end;
    return stream_end(rc, status, err, w->why, sizeof(w->why));
}

/* An attempt that failed or delivered nothing: the backoff before the next one, in ms. The log says so
 * once when the source starts failing; later failures only at debug level. */
static long setback(struct kube_source *k, struct cache *c, const char *what, const char *why)
{
    k->failures++;
    if (!k->failing) {
        k->failing = 1;
        k->failing_since = monotime_now();
        log_warn("cache: %s failed: %s; retrying with backoff (the log says when it recovers)", what, why);
    } else {
        log_debug("cache: %s failed again (%d in a row): %s", what, k->failures, why);
    }
    return cache_backoff_ms(c, k->failures);
}

/* After a watch: the wait before the next attempt (ms), and whether to list first. */
static long after_watch(struct kube_source *k, struct cache *c, const struct watch_state *w,
                        enum cache_watch_end end, double seconds, int *need_list)
{
    int healthy = w->alive > 0 || (end == CACHE_WATCH_CLOSED && seconds >= WATCH_HEALTHY_S);
    char why[WHY_MAX + 32];

    cache_watch_ended(c, end);
    if (healthy)
        delivered(k);
    *need_list = end == CACHE_WATCH_GONE || end == CACHE_WATCH_TOO_LARGE || end == CACHE_WATCH_UNAPPLIED;
    if (end == CACHE_WATCH_CLOSED && healthy)
        return 0;   /* the server's timeoutSeconds: resume at once */
    if (!healthy)
        cache_set_in_sync(c, 0);
    if (end == CACHE_WATCH_GONE && !k->failures) {
        /* The normal end of a resume after a long break: a line of its own, not a failure (a second in a
         * row is one). */
        log_info("cache: watch resourceVersion is gone (%s); listing again", w->why);
        return cache_backoff_ms(c, ++k->failures);
    }
    snprintf(why, sizeof(why), "%s%s", end == CACHE_WATCH_CLOSED ? "ended before any event" : w->why,
             *need_list ? "; listing again" : "");
    return setback(k, c, "watch canaries", why);
}

static void kube_run(struct cache *c, void *state)
{
    struct kube_source *k = state;
    struct watch_state w;
    enum cache_watch_end end;
    char why[WHY_MAX];
    int need_list = 1;
    long delay = 0;
    double start;

    while (!cache_stopping(c)) {
        if (delay > 0 && cache_sleep(c, delay))
            break;
        if (need_list) {
            if (api_list(k, c, why, sizeof(why)) != 0) {
                cache_set_in_sync(c, 0);
                if (!cache_stopping(c))
                    delay = setback(k, c, "list canaries", why);
                continue;
            }
            need_list = 0;
        }
        memset(&w, 0, sizeof(w));
        w.c = c;
        w.k = k;
        w.end = CACHE_WATCH_ENDS;
        start = monotime_now();
        end = api_watch(k, c, &w);
        if (cache_stopping(c))
            break;
        delay = after_watch(k, c, &w, end, monotime_now() - start, &need_list);
    }
}

static int kube_wanted(const struct cache_config *cfg)
{
    struct kube_config kc = {cfg->kube_api, cfg->token_file, cfg->ca_file};

    return kube_configured(&kc);
}

static int kube_open_source(struct cache *c, const struct cache_config *cfg, void **state, char *err, size_t errlen)
{
    struct kube_config kc = {cfg->kube_api, cfg->token_file, cfg->ca_file};
    struct kube_source *k = calloc(1, sizeof(*k));

    if (!k) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(k->kube = kube_open(&kc, err, errlen))) {
        free(k);
        return -1;
    }
    k->seed = (unsigned)(size_t)k ^ (unsigned)monotime_now();
    k->idle_s = cfg->watch_idle_seconds > 0 ? cfg->watch_idle_seconds : WATCH_IDLE_DEFAULT_S;
    cache_expect_life(c, k->idle_s);
    *state = k;
    return 0;
}

static void kube_interrupt_source(void *state)
{
    kube_interrupt(((struct kube_source *)state)->kube);
}

static void kube_close_source(void *state)
{
    struct kube_source *k = state;

    if (!k)
        return;
    kube_close(k->kube);
    free(k);
}

const struct cache_source cache_source_kube = {"kube", kube_wanted, kube_open_source, kube_run, kube_interrupt_source,
                                               kube_close_source};
