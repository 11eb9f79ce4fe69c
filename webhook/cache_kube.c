/*
 * The Canary cache's Kubernetes source: list canaries.flagger.app in pages, then watch from the list's
 * resourceVersion with bookmarks; a dropped stream resumes from the last resourceVersion seen, a 410 Gone
 * (or an event the cache could not apply) lists again, every other failure waits a capped, jittered
 * exponential backoff. Each list is built into a fresh index and published whole.
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
/* A watch that delivered something or lasted this long was healthy: the next failure starts the
 * backoff from the bottom again. */
#define WATCH_HEALTHY_S 10.0
/* Ask the API server to end each watch after 5 to 10 minutes (as client-go does), so that a stream
 * a proxy silently dropped is replaced even without keepalive help. */
#define WATCH_TIMEOUT_MIN_S 300L
#define WATCH_TIMEOUT_SPREAD_S 300L
#define RV_MAX 128

struct kube_source {
    struct kube *kube;
    unsigned seed;
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
 * after logging why. */
static int list_page(struct kube_source *k, struct cache *c, const char *cont, struct cache_index *idx, char *rv,
                     size_t rvlen, char **next)
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
        log_warn("cache: list continue token unusable");
        goto out;
    }
    snprintf(path, sizeof(path), CANARIES_PATH "?limit=%d%s%s", LIST_PAGE, esc ? "&continue=" : "", esc ? esc : "");
    if (kube_get(k->kube, path, &status, &body, &len, err, sizeof(err)) != 0) {
        if (!cache_stopping(c))
            log_warn("cache: list canaries at %s failed: %s", kube_base_url(k->kube), err);
        goto out;
    }
    if (status != 200) {
        status_message(body, len, msg, sizeof(msg));
        /* 410 here is an expired continue token: the next try starts over. */
        log_warn("cache: list canaries answered HTTP %ld: %s", status, msg);
        goto out;
    }
    page = cJSON_ParseWithLength(body, len);
    items = obj_get(page, "items");
    meta = obj_get(page, "metadata");
    if (!cJSON_IsObject(page) || !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
        log_warn("cache: list canaries answered something that is not a list");
        goto out;
    }
    if (cache_index_put_items(idx, items) != 0) {
        log_warn("cache: out of memory while indexing the Canaries; keeping the last list");
        goto out;
    }
    snprintf(rv, rvlen, "%s", obj_string_or(meta, "resourceVersion", ""));
    token = obj_string(meta, "continue");
    if (token && token[0] && !(*next = strdup(token)))
        goto out;
    rc = 0;
out:
    cJSON_Delete(page);
    free(body);
    free(esc);
    return rc;
}

/* List every Canary, page by page, and publish the result. */
static int api_list(struct kube_source *k, struct cache *c)
{
    struct cache_index *idx = cache_index_new();
    char rv[RV_MAX] = "", *cont = NULL, *next = NULL;
    int pages = 0, rc = -1;

    if (!idx)
        return -1;
    do {
        rc = list_page(k, c, cont, idx, rv, sizeof(rv), &next);
        free(cont);
        cont = next;
        pages++;
    } while (rc == 0 && cont);
    if (rc == 0 && !rv[0]) {
        log_warn("cache: list canaries carries no resourceVersion");
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
    type = obj_string(ev, "type");
    r = cache_apply_event(w->c, ev);
    if (r == CACHE_EVENT_GONE || r == CACHE_EVENT_BROKEN) {
        if (r == CACHE_EVENT_BROKEN)
            log_warn("cache: out of memory while applying a watch event; listing again");
        w->gone = 1;
    } else if (type && strcmp(type, "ERROR") == 0) {
        msg = obj_string(obj_get(ev, "object"), "message");
        log_warn("cache: watch ERROR event: %.200s", msg ? msg : "");
        w->error_event = 1;
    } else if (r != 0) {
        log_debug("cache: skipped a %s event without a usable Canary", type ? type : "untyped");
    }
    cJSON_Delete(ev);
    return w->gone || w->error_event;
}

/* One watch from the current resourceVersion. */
static void api_watch(struct kube_source *k, struct cache *c, struct watch_state *w, int *failed, double *seconds)
{
    char rv[RV_MAX], path[512], err[256];
    char *esc;
    long status = 0, timeout = WATCH_TIMEOUT_MIN_S + (long)(rand_r(&k->seed) % WATCH_TIMEOUT_SPREAD_S);
    double start = monotime_now();
    int rc;

    *failed = 1;
    *seconds = 0;
    cache_resource_version(c, rv, sizeof(rv));
    esc = kube_escape(rv);
    if (!esc)
        return;
    snprintf(path, sizeof(path),
             CANARIES_PATH "?watch=true&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld",
             esc, timeout);
    free(esc);
    /* The client-side bound only catches a server that ignores timeoutSeconds. */
    rc = kube_stream(k->kube, path, timeout + 30, watch_line, w, &status, err, sizeof(err));
    *seconds = monotime_now() - start;
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

static void kube_run(struct cache *c, void *state)
{
    struct kube_source *k = state;
    struct watch_state w;
    int failures = 0, need_list = 1, failed;
    double seconds;

    while (!cache_stopping(c)) {
        if (failures && cache_sleep(c, cache_backoff_ms(c, failures)))
            break;
        if (need_list) {
            if (api_list(k, c) != 0) {
                cache_set_in_sync(c, 0);
                failures++;
                continue;
            }
            need_list = 0;
        }
        memset(&w, 0, sizeof(w));
        w.c = c;
        api_watch(k, c, &w, &failed, &seconds);
        if (w.gone)
            need_list = 1;
        if (failed)
            cache_set_in_sync(c, 0);
        if (w.lines > 0 || seconds >= WATCH_HEALTHY_S)
            failures = 0;
        else
            failures++;
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

    (void)c;
    if (!k) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(k->kube = kube_open(&kc, err, errlen))) {
        free(k);
        return -1;
    }
    k->seed = (unsigned)(size_t)k ^ (unsigned)monotime_now();
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
