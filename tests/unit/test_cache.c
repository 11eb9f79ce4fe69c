/*
 * Unit tests of the Canary cache without a network: the index fed through cache_apply_list and
 * cache_apply_event (as the watch loop feeds it), the file source (--canaries), and how the API
 * client resolves its configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "check.h"
#include "kube.h"

/* A Canary in namespace ns targeting kind/target, gated by a /gate/check hook or not, in phase. */
static cJSON *canary(const char *ns, const char *name, const char *kind, const char *target, const char *phase,
                     int gated, int weight)
{
    cJSON *c = cJSON_CreateObject(), *md, *spec, *ref, *an, *hooks, *h, *st;

    cJSON_AddStringToObject(c, "apiVersion", "flagger.app/v1beta1");
    cJSON_AddStringToObject(c, "kind", "Canary");
    md = cJSON_AddObjectToObject(c, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", ns);
    spec = cJSON_AddObjectToObject(c, "spec");
    ref = cJSON_AddObjectToObject(spec, "targetRef");
    cJSON_AddStringToObject(ref, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(ref, "kind", kind);
    cJSON_AddStringToObject(ref, "name", target);
    an = cJSON_AddObjectToObject(spec, "analysis");
    cJSON_AddStringToObject(an, "interval", "1m");
    hooks = cJSON_AddArrayToObject(an, "webhooks");
    if (gated) {
        h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "name", "gate-check");
        cJSON_AddStringToObject(h, "type", "confirm-traffic-increase");
        cJSON_AddStringToObject(h, "url", "http://flagger-loadtester.test/gate/check");
        cJSON_AddItemToArray(hooks, h);
    }
    st = cJSON_AddObjectToObject(c, "status");
    cJSON_AddStringToObject(st, "phase", phase);
    cJSON_AddNumberToObject(st, "canaryWeight", weight);
    return c;
}

static void track(cJSON *c, const char *ref)
{
    cJSON *st = cJSON_GetObjectItem(c, "status");
    cJSON *tc = cJSON_GetObjectItem(st, "trackedConfigs");

    if (!tc)
        tc = cJSON_AddObjectToObject(st, "trackedConfigs");
    cJSON_AddStringToObject(tc, ref, "0123abcd");
}

/* A List of the given Canaries (consumed) at resourceVersion rv. */
static cJSON *list_of(const char *rv, cJSON **items, size_t n)
{
    cJSON *l = cJSON_CreateObject(), *arr, *md;
    size_t i;

    cJSON_AddStringToObject(l, "apiVersion", "flagger.app/v1beta1");
    cJSON_AddStringToObject(l, "kind", "CanaryList");
    md = cJSON_AddObjectToObject(l, "metadata");
    cJSON_AddStringToObject(md, "resourceVersion", rv);
    arr = cJSON_AddArrayToObject(l, "items");
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, items[i]);
    return l;
}

/* Apply a list of the given Canaries (consumed). */
static void give_list(struct cache *c, const char *rv, cJSON **items, size_t n)
{
    cJSON *l = list_of(rv, items, n);

    CHECK_INT(cache_apply_list(c, l), 0);
    cJSON_Delete(l);
}

/* Apply a watch event of type with obj (consumed) at resourceVersion rv; returns apply's answer. */
static int give_event(struct cache *c, const char *type, cJSON *obj, const char *rv)
{
    cJSON *ev = cJSON_CreateObject(), *md;
    int rc;

    md = cJSON_GetObjectItem(obj, "metadata");
    if (md && rv)
        cJSON_AddStringToObject(md, "resourceVersion", rv);
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddItemToObject(ev, "object", obj);
    rc = cache_apply_event(c, ev);
    cJSON_Delete(ev);
    return rc;
}

static int by_target(struct cache *c, const char *ns, const char *kind, const char *name, struct canary_info *out)
{
    struct canary_lookup l;

    cache_lookup(c, &l);
    memset(out, 0, sizeof(*out));
    return l.by_target(l.ctx, ns, kind, name, out);
}

static int by_config(struct cache *c, const char *ns, const char *ref, struct canary_info *out)
{
    struct canary_lookup l;

    cache_lookup(c, &l);
    memset(out, 0, sizeof(*out));
    return l.by_config(l.ctx, ns, ref, out);
}

static void lookup_unknown_before_first_list(void)
{
    struct cache *c = cache_new(60);
    struct canary_info info;
    struct cache_stats st;
    char rv[64];

    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(by_config(c, "test", "configmap/podinfo-config", &info), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(cache_ready(c), 0);
    cache_stats(c, &st);
    CHECK_INT(st.synced, 0);
    CHECK(st.last_sync_age < 0);
    cache_resource_version(c, rv, sizeof(rv));
    CHECK_STR(rv, "");
    /* Events before the first list do not make the cache synced. */
    CHECK_INT(give_event(c, "ADDED", canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10), "5"), 0);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_UNKNOWN);
    CHECK_INT(cache_ready(c), 0);
    cache_stop(c);
}

static void list_fills_lookup_by_target(void)
{
    struct cache *c = cache_new(60);
    cJSON *items[1] = {fixture_json("canaries/podinfo.json")};
    struct canary_info info;
    struct cache_stats st;
    char rv[64];

    give_list(c, "100", items, 1);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
    CHECK_STR(info.namespace_, "test");
    CHECK_STR(info.name, "podinfo");
    CHECK_STR(info.phase, "Progressing");
    CHECK_INT(info.weight, 10);
    CHECK_INT(info.gated, 1);
    CHECK_INT(info.release, CANARY_RELEASE_RESTARTS);
    CHECK_INT(by_target(c, "test", "Deployment", "frontend", &info), CANARY_LOOKUP_NONE);
    cache_resource_version(c, rv, sizeof(rv));
    CHECK_STR(rv, "100");
    CHECK_INT(cache_ready(c), 1);
    cache_stats(c, &st);
    CHECK_INT(st.synced, 1);
    CHECK_INT(st.canaries, 1);
    CHECK_INT(st.relists, 0);
    CHECK(st.last_sync_age >= 0 && st.last_sync_age < 1);
    cache_stop(c);
}

static void lookup_by_tracked_config(void)
{
    static const struct {
        const char *ns, *ref;
        int want;
    } cases[] = {
        {"test", "configmap/podinfo-config", CANARY_LOOKUP_FOUND},
        {"test", "secret/podinfo-token", CANARY_LOOKUP_FOUND},
        {"test", "configmap/podinfo-token", CANARY_LOOKUP_NONE},   /* kind is part of the ref */
        {"test", "secret/other", CANARY_LOOKUP_NONE},
        {"prod", "configmap/podinfo-config", CANARY_LOOKUP_NONE},  /* same name, other namespace */
        {"test", "", CANARY_LOOKUP_NONE},
    };
    struct cache *c = cache_new(60);
    cJSON *items[1] = {fixture_json("canaries/podinfo.json")};
    struct canary_info info;
    size_t i;

    give_list(c, "100", items, 1);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT(by_config(c, cases[i].ns, cases[i].ref, &info), cases[i].want);
        if (cases[i].want == CANARY_LOOKUP_FOUND)
            CHECK_STR(info.name, "podinfo");
    }
    cache_stop(c);
}

static void other_namespace_same_target_is_another_canary(void)
{
    struct cache *c = cache_new(60);
    cJSON *items[1] = {canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10)};
    struct canary_info info;

    give_list(c, "1", items, 1);
    CHECK_INT(by_target(c, "prod", "Deployment", "podinfo", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(give_event(c, "ADDED", canary("prod", "podinfo", "Deployment", "podinfo", "Succeeded", 0, 0), "2"), 0);
    CHECK_INT(by_target(c, "prod", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
    CHECK_STR(info.namespace_, "prod");
    CHECK_INT(info.gated, 0);
    CHECK_INT(info.release, CANARY_RELEASE_NONE);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
    CHECK_STR(info.namespace_, "test");
    CHECK_INT(info.gated, 1);
    cache_stop(c);
}

static void target_kind_must_match(void)
{
    static const struct {
        const char *kind, *name;
        int want;
        const char *canary;
    } cases[] = {
        {"DaemonSet", "node-agent", CANARY_LOOKUP_FOUND, "node-agent"},
        {"Deployment", "node-agent", CANARY_LOOKUP_NONE, NULL},
        {"Deployment", "podinfo", CANARY_LOOKUP_FOUND, "podinfo"},
        {"DaemonSet", "podinfo", CANARY_LOOKUP_NONE, NULL},
        {"deployment", "podinfo", CANARY_LOOKUP_NONE, NULL},
    };
    struct cache *c = cache_new(60);
    cJSON *items[2] = {canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10),
                       canary("test", "node-agent", "DaemonSet", "node-agent", "Waiting", 1, 30)};
    struct canary_info info;
    size_t i;

    give_list(c, "1", items, 2);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT(by_target(c, "test", cases[i].kind, cases[i].name, &info), cases[i].want);
        if (cases[i].canary)
            CHECK_STR(info.name, cases[i].canary);
    }
    CHECK_INT(by_target(c, "test", "DaemonSet", "node-agent", &info), CANARY_LOOKUP_FOUND);
    CHECK_INT(info.release, CANARY_RELEASE_WAITING);
    CHECK_INT(info.weight, 30);
    cache_stop(c);
}

static void deleted_removes_target_and_configs(void)
{
    struct cache *c = cache_new(60);
    cJSON *items[1] = {fixture_json("canaries/podinfo.json")};
    struct canary_info info;
    struct cache_stats st;

    give_list(c, "100", items, 1);
    CHECK_INT(give_event(c, "DELETED", fixture_json("canaries/podinfo.json"), "101"), 0);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_config(c, "test", "configmap/podinfo-config", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_config(c, "test", "secret/podinfo-token", &info), CANARY_LOOKUP_NONE);
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 0);
    CHECK_INT(st.events, 1);
    /* Deleting what is not there is harmless. */
    CHECK_INT(give_event(c, "DELETED", fixture_json("canaries/podinfo.json"), "102"), 0);
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 0);
    cache_stop(c);
}

static void modified_moves_target_and_configs(void)
{
    struct cache *c = cache_new(60);
    cJSON *a = canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10), *b;
    struct canary_info info;
    struct cache_stats st;

    track(a, "configmap/old-config");
    give_list(c, "1", &a, 1);
    b = canary("test", "podinfo", "Deployment", "podinfo-v2", "Progressing", 1, 20);
    track(b, "configmap/new-config");
    CHECK_INT(give_event(c, "MODIFIED", b, "2"), 0);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo-v2", &info), CANARY_LOOKUP_FOUND);
    CHECK_INT(info.weight, 20);
    CHECK_INT(by_config(c, "test", "configmap/old-config", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_config(c, "test", "configmap/new-config", &info), CANARY_LOOKUP_FOUND);
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 1);
    cache_stop(c);
}

static void modified_phase_changes_release_state(void)
{
    /* At canary weight 10%. */
    static const struct {
        const char *phase;
        enum canary_release release;
    } phases[] = {
        {"Progressing", CANARY_RELEASE_RESTARTS}, {"Waiting", CANARY_RELEASE_WAITING}, {"WaitingPromotion", CANARY_RELEASE_RESTARTS},
        {"Promoting", CANARY_RELEASE_LIVE}, {"Finalising", CANARY_RELEASE_FINALISING}, {"Succeeded", CANARY_RELEASE_NONE},
        {"Failed", CANARY_RELEASE_LIVE}, {"Initializing", CANARY_RELEASE_NONE}, {"Initialized", CANARY_RELEASE_NONE},
        {"Terminating", CANARY_RELEASE_NONE}, {"Terminated", CANARY_RELEASE_NONE}, {"", CANARY_RELEASE_NONE},
    };
    struct cache *c = cache_new(60);
    struct canary_info info;
    char rv[16];
    size_t i;

    give_list(c, "1", NULL, 0);
    for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        snprintf(rv, sizeof(rv), "%zu", i + 2);
        CHECK_INT(give_event(c, i ? "MODIFIED" : "ADDED",
                             canary("test", "podinfo", "Deployment", "podinfo", phases[i].phase, 1, 10), rv), 0);
        CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
        CHECK_STR(info.phase, phases[i].phase);
        CHECK_INT(info.release, phases[i].release);
    }
    cache_stop(c);
}

struct seen {
    int n, gated;
    struct canary_info podinfo;
};

static void see(void *ctx, const struct canary_info *info)
{
    struct seen *s = ctx;

    s->n++;
    s->gated += info->gated;
    if (strcmp(info->name, "podinfo") == 0)
        s->podinfo = *info;
}

/* What /metrics reads: every Canary once, with the status fields a gated release shows, as events change
 * them. */
static void each_visits_every_canary_with_its_status(void)
{
    struct cache *c = cache_new(60);
    cJSON *items[3], *p;
    struct seen s;

    items[0] = canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10);
    items[1] = canary("test", "frontend", "Deployment", "frontend", "Progressing", 0, 20);
    items[2] = canary("other", "backend", "DaemonSet", "backend", "Succeeded", 1, 0);
    give_list(c, "1", items, 3);
    memset(&s, 0, sizeof(s));
    cache_each(c, see, &s);
    CHECK_INT(s.n, 3);
    CHECK_INT(s.gated, 2);
    CHECK_INT(s.podinfo.weight, 10);
    CHECK_INT(s.podinfo.last_transition, 0);
    p = canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 30);
    cJSON_AddStringToObject(cJSON_GetObjectItem(p, "metadata"), "uid", "4b1c-uid");
    cJSON_AddNumberToObject(cJSON_GetObjectItem(p, "status"), "failedChecks", 2);
    cJSON_AddStringToObject(cJSON_GetObjectItem(p, "status"), "lastTransitionTime", "2024-05-02T09:14:00Z");
    cJSON_AddNumberToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "spec"), "analysis"), "threshold", 14400);
    CHECK_INT(give_event(c, "MODIFIED", p, "2"), 0);
    memset(&s, 0, sizeof(s));
    cache_each(c, see, &s);
    CHECK_INT(s.n, 3);
    CHECK_INT(s.podinfo.weight, 30);
    CHECK_INT(s.podinfo.failed_checks, 2);
    CHECK(s.podinfo.threshold == 14400);
    CHECK_INT(s.podinfo.last_transition, 1714641240);
    CHECK_STR(s.podinfo.uid, "4b1c-uid");
    cache_stop(c);
    memset(&s, 0, sizeof(s));
    cache_each(NULL, see, &s);
    CHECK_INT(s.n, 0);
}

static void gated_in_flight_canary_wins_a_shared_target(void)
{
    /* Every order of three Canaries on one Deployment: the gated one in flight is returned. */
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const struct {
        const char *name, *phase;
        int gated;
    } cs[3] = {{"plain", "Progressing", 0}, {"done", "Succeeded", 1}, {"gated", "Progressing", 1}};
    struct canary_info info;
    struct cache *c;
    cJSON *items[3];
    size_t o, i;

    for (o = 0; o < 6; o++) {
        c = cache_new(60);
        for (i = 0; i < 3; i++) {
            const int k = orders[o][i];

            items[i] = canary("test", cs[k].name, "Deployment", "podinfo", cs[k].phase, cs[k].gated, 10);
            track(items[i], "configmap/shared");
        }
        give_list(c, "1", items, 3);
        CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
        CHECK_STR(info.name, "gated");
        CHECK_INT(by_config(c, "test", "configmap/shared", &info), CANARY_LOOKUP_FOUND);
        CHECK_STR(info.name, "gated");
        /* Without it, a gated Canary still comes before one that is not. */
        CHECK_INT(give_event(c, "DELETED", canary("test", "gated", "Deployment", "podinfo", "", 0, 0), "2"), 0);
        CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
        CHECK_STR(info.name, "done");
        CHECK_INT(give_event(c, "DELETED", canary("test", "done", "Deployment", "podinfo", "", 0, 0), "3"), 0);
        CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
        CHECK_STR(info.name, "plain");
        cache_stop(c);
    }
}

static void relist_replaces_the_whole_index(void)
{
    struct cache *c = cache_new(60);
    cJSON *first[2] = {canary("test", "a", "Deployment", "a", "Progressing", 1, 10),
                       canary("test", "b", "Deployment", "b", "Progressing", 1, 10)};
    cJSON *second[1] = {canary("test", "b", "Deployment", "b", "Succeeded", 1, 0)};
    struct canary_info info;
    struct cache_stats st;
    char rv[64];

    give_list(c, "10", first, 2);
    give_list(c, "20", second, 1);
    CHECK_INT(by_target(c, "test", "Deployment", "a", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_target(c, "test", "Deployment", "b", &info), CANARY_LOOKUP_FOUND);
    CHECK_STR(info.phase, "Succeeded");
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 1);
    CHECK_INT(st.relists, 1);
    cache_resource_version(c, rv, sizeof(rv));
    CHECK_STR(rv, "20");
    cache_stop(c);
}

static void events_advance_the_resource_version(void)
{
    static const struct {
        const char *type, *rv;
        long events;
    } steps[] = {
        {"ADDED", "11", 1}, {"BOOKMARK", "15", 1}, {"MODIFIED", "16", 2}, {"BOOKMARK", "30", 2}, {"DELETED", "31", 3},
    };
    struct cache *c = cache_new(60);
    struct cache_stats st;
    cJSON *obj;
    char rv[64];
    size_t i;

    give_list(c, "10", NULL, 0);
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (strcmp(steps[i].type, "BOOKMARK") == 0) {
            /* A bookmark carries an object with only metadata.resourceVersion. */
            obj = cJSON_CreateObject();
            cJSON_AddStringToObject(obj, "kind", "Canary");
            cJSON_AddObjectToObject(obj, "metadata");
        } else {
            obj = canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10);
        }
        CHECK_INT(give_event(c, steps[i].type, obj, steps[i].rv), 0);
        cache_resource_version(c, rv, sizeof(rv));
        CHECK_STR(rv, steps[i].rv);
        cache_stats(c, &st);
        CHECK_INT(st.events, steps[i].events);
    }
    cache_stop(c);
}

static void error_event_410_asks_for_a_relist(void)
{
    static const struct {
        const char *event;
        int want;
    } cases[] = {
        {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
         "\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}}", CACHE_EVENT_GONE},
        {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,\"message\":\"internal error\"}}", -1},
        {"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\"}}", -1},
    };
    struct cache *c = cache_new(60);
    cJSON *items[1] = {canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10)};
    struct canary_info info;
    cJSON *ev;
    size_t i;

    give_list(c, "1", items, 1);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ev = cJSON_Parse(cases[i].event);
        CHECK(ev != NULL);
        CHECK_INT(cache_apply_event(c, ev), cases[i].want);
        cJSON_Delete(ev);
    }
    /* An error event keeps the last known state. */
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
    cache_stop(c);
}

static void bad_input_is_rejected_and_changes_nothing(void)
{
    static const char *const events[] = {
        "{}",
        "[]",
        "\"ADDED\"",
        "{\"type\":\"ADDED\"}",
        "{\"type\":\"ADDED\",\"object\":null}",
        "{\"type\":\"ADDED\",\"object\":[1,2]}",
        "{\"type\":7,\"object\":{\"metadata\":{\"name\":\"x\",\"namespace\":\"test\"}}}",
        "{\"type\":\"SOMETHING\",\"object\":{\"metadata\":{\"name\":\"x\",\"namespace\":\"test\"}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"namespace\":\"test\"}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"\",\"namespace\":\"test\"}}}",
        "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":\"x\"}}",
        "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":1,\"namespace\":\"test\"}}}",
    };
    static const char *const lists[] = {"{}", "7", "\"x\"", "{\"items\":{}}", "{\"items\":\"a\"}", "null"};
    struct cache *c = cache_new(60);
    cJSON *items[1] = {canary("test", "podinfo", "Deployment", "podinfo", "Progressing", 1, 10)};
    struct canary_info info;
    struct cache_stats st;
    cJSON *j;
    size_t i;

    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        j = cJSON_Parse(lists[i]);
        CHECK_INT(cache_apply_list(c, j), -1);
        cJSON_Delete(j);
    }
    CHECK_INT(cache_apply_list(c, NULL), -1);
    CHECK_INT(cache_ready(c), 0);
    give_list(c, "1", items, 1);
    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        j = cJSON_Parse(events[i]);
        CHECK(j != NULL);
        CHECK_INT(cache_apply_event(c, j), -1);
        cJSON_Delete(j);
    }
    CHECK_INT(cache_apply_event(c, NULL), -1);
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 1);
    CHECK_INT(st.events, 0);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_FOUND);
    /* Odd lookups answer NONE and never crash. */
    CHECK_INT(by_target(c, "test", "Deployment", NULL, &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_target(c, NULL, "Deployment", "podinfo", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_config(c, "test", NULL, &info), CANARY_LOOKUP_NONE);
    {
        char longname[4000];

        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        CHECK_INT(by_target(c, "test", "Deployment", longname, &info), CANARY_LOOKUP_NONE);
    }
    cache_stop(c);
}

static void canary_without_target_is_kept_but_not_indexed_by_target(void)
{
    struct cache *c = cache_new(60);
    cJSON *a = canary("test", "loose", "Deployment", "x", "Progressing", 1, 10);
    struct canary_info info;
    struct cache_stats st;

    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(a, "spec"), "targetRef");
    track(a, "configmap/loose-config");
    give_list(c, "1", &a, 1);
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 1);
    CHECK_INT(by_target(c, "test", "Deployment", "x", &info), CANARY_LOOKUP_NONE);
    CHECK_INT(by_config(c, "test", "configmap/loose-config", &info), CANARY_LOOKUP_FOUND);
    cache_stop(c);
}

static struct cache *cache_of(int n)
{
    struct cache *c = cache_new(60);
    cJSON *l = list_of("1", NULL, 0), *items = cJSON_GetObjectItem(l, "items"), *it;
    char name[32], ref[64];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "app-%d", i);
        snprintf(ref, sizeof(ref), "configmap/%s-config", name);
        it = canary("team-a", name, "Deployment", name, i % 3 ? "Succeeded" : "Progressing",
                    i % 2, 10);
        track(it, ref);
        cJSON_AddItemToArray(items, it);
    }
    CHECK_INT(cache_apply_list(c, l), 0);
    cJSON_Delete(l);
    return c;
}

/* Every one of 10,000 Canaries is found by target and by config with its own state. What a lookup costs
 * with 10 and with 10,000 is measured by `make bench` (tests/bench/bench_core.c), not by a timed test. */
static void ten_thousand_canaries_are_all_found(void)
{
    struct cache *big = cache_of(10000);
    struct canary_info info;
    struct cache_stats st;
    char name[32], ref[64];
    int i, ok = 1;

    cache_stats(big, &st);
    CHECK_INT(st.canaries, 10000);
    for (i = 0; i < 10000 && ok; i++) {
        snprintf(name, sizeof(name), "app-%d", i);
        snprintf(ref, sizeof(ref), "configmap/%s-config", name);
        ok = by_target(big, "team-a", "Deployment", name, &info) == CANARY_LOOKUP_FOUND && strcmp(info.name, name) == 0 &&
             info.gated == i % 2 && (info.release == CANARY_RELEASE_RESTARTS) == (i % 3 == 0) &&
             by_config(big, "team-a", ref, &info) == CANARY_LOOKUP_FOUND && strcmp(info.name, name) == 0;
    }
    CHECK(ok);
    CHECK_INT(by_target(big, "team-a", "Deployment", "app-10000", &info), CANARY_LOOKUP_NONE);
    cache_stop(big);
}

/* ---- the file source ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void files_source_reads_the_cluster_example(void)
{
    struct cache_config cfg = {NULL, NULL, NULL, "tests/fixtures/canaries/cluster.yaml", 60, 0};
    static const struct {
        const char *target, *phase;
        int gated;
        enum canary_release release;
        int weight;
    } want[] = {
        {"podinfo", "Progressing", 1, CANARY_RELEASE_RESTARTS, 10},
        {"frontend", "Progressing", 0, CANARY_RELEASE_RESTARTS, 20},
        {"backend", "Succeeded", 1, CANARY_RELEASE_NONE, 0},
    };
    struct canary_info info;
    struct cache_stats st;
    char err[256] = "";
    struct cache *c = cache_start(&cfg, err, sizeof(err));
    size_t i;

    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "  cache_start: %s\n", err);
        return;
    }
    CHECK_INT(cache_ready(c), 1);
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 3);
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_INT(by_target(c, "test", "Deployment", want[i].target, &info), CANARY_LOOKUP_FOUND);
        CHECK_STR(info.name, want[i].target);
        CHECK_STR(info.phase, want[i].phase);
        CHECK_INT(info.gated, want[i].gated);
        CHECK_INT(info.release, want[i].release);
        CHECK_INT(info.weight, want[i].weight);
    }
    CHECK_INT(by_config(c, "test", "configmap/podinfo-config", &info), CANARY_LOOKUP_FOUND);
    CHECK_INT(by_config(c, "test", "secret/podinfo-token", &info), CANARY_LOOKUP_FOUND);
    CHECK_STR(info.name, "podinfo");
    cache_stop(c);
}

static int wait_phase(struct cache *c, const char *target, const char *phase)
{
    struct canary_info info;
    int i;

    for (i = 0; i < 100; i++) {
        if (by_target(c, "test", "Deployment", target, &info) == CANARY_LOOKUP_FOUND && strcmp(info.phase, phase) == 0)
            return 1;
        usleep(50000);
    }
    return 0;
}

static void files_source_directory_is_read_again_on_change(void)
{
    char dir[] = "/tmp/mg-canaries-XXXXXX", a[128], b[128], other[128];
    struct cache_config cfg = {NULL, NULL, NULL, dir, 60, 0};
    struct canary_info info;
    struct cache_stats st;
    char err[256] = "";
    struct cache *c;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(a, sizeof(a), "%s/a.json", dir);
    snprintf(b, sizeof(b), "%s/b.yaml", dir);
    snprintf(other, sizeof(other), "%s/notes.txt", dir);
    write_file(a, "{\"apiVersion\":\"flagger.app/v1beta1\",\"kind\":\"Canary\","
                  "\"metadata\":{\"name\":\"a\",\"namespace\":\"test\"},"
                  "\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"a\"}},"
                  "\"status\":{\"phase\":\"Progressing\",\"canaryWeight\":10}}\n");
    write_file(b, "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: b\n  namespace: test\n"
                  "spec:\n  targetRef:\n    kind: DaemonSet\n    name: b\n"
                  "---\n"
                  "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: not-a-canary\n  namespace: test\n"
                  "---\n"
                  "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: c\n  namespace: test\n"
                  "spec:\n  targetRef:\n    kind: Deployment\n    name: c\nstatus:\n  phase: Succeeded\n");
    write_file(other, "this is not read: {{{");
    c = cache_start(&cfg, err, sizeof(err));
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "  cache_start: %s\n", err);
        goto out;
    }
    cache_stats(c, &st);
    CHECK_INT(st.canaries, 3);
    CHECK_INT(by_target(c, "test", "DaemonSet", "b", &info), CANARY_LOOKUP_FOUND);
    CHECK_INT(by_target(c, "test", "Deployment", "c", &info), CANARY_LOOKUP_FOUND);
    CHECK(wait_phase(c, "a", "Progressing"));

    /* A changed file is read again within about a second. */
    write_file(a, "{\"apiVersion\":\"flagger.app/v1beta1\",\"kind\":\"Canary\","
                  "\"metadata\":{\"name\":\"a\",\"namespace\":\"test\"},"
                  "\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"a\"}},"
                  "\"status\":{\"phase\":\"Succeeded\",\"canaryWeight\":0}}\n");
    CHECK(wait_phase(c, "a", "Succeeded"));
    cache_stats(c, &st);
    CHECK(st.events >= 1);

    /* A broken file keeps the last good state; fixing it is picked up. */
    write_file(a, "{\"kind\": \"Canary\", \"metadata\": {");
    sleep(2);
    CHECK_INT(by_target(c, "test", "Deployment", "a", &info), CANARY_LOOKUP_FOUND);
    CHECK_INT(cache_ready(c), 1);
    unlink(b);
    write_file(a, "{\"kind\":\"Canary\",\"metadata\":{\"name\":\"a\",\"namespace\":\"test\"},"
                  "\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"a\"}},\"status\":{\"phase\":\"Waiting\"}}");
    CHECK(wait_phase(c, "a", "Waiting"));
    CHECK_INT(by_target(c, "test", "DaemonSet", "b", &info), CANARY_LOOKUP_NONE);
    cache_stop(c);
out:
    unlink(a);
    unlink(b);
    unlink(other);
    rmdir(dir);
}

static void files_source_errors_fail_the_start(void)
{
    char dir[] = "/tmp/mg-canaries-XXXXXX", bad[128];
    struct cache_config missing = {NULL, NULL, NULL, "tests/fixtures/canaries/no-such-file.yaml", 60, 0};
    struct cache_config broken = {NULL, NULL, NULL, dir, 60, 0};
    char err[256] = "";

    CHECK(cache_start(&missing, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "no-such-file.yaml") != NULL);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(bad, sizeof(bad), "%s/bad.yaml", dir);
    write_file(bad, "items: [ {\n");
    err[0] = '\0';
    CHECK(cache_start(&broken, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "bad.yaml") != NULL);
    unlink(bad);
    rmdir(dir);
}

static void no_source_stays_never_synced(void)
{
    struct cache_config cfg = {NULL, NULL, NULL, NULL, 60, 0};
    struct canary_info info;
    char err[256] = "";
    struct cache *c;

    unsetenv("KUBERNETES_SERVICE_HOST");
    c = cache_start(&cfg, err, sizeof(err));
    CHECK(c != NULL);
    CHECK_INT(cache_ready(c), 0);
    CHECK_INT(by_target(c, "test", "Deployment", "podinfo", &info), CANARY_LOOKUP_UNKNOWN);
    cache_stop(c);
}

/* ---- the API client's configuration ---- */

static void kube_resolves_its_endpoint(void)
{
    static const struct {
        const char *api, *host, *port, *want;
    } cases[] = {
        {NULL, "10.96.0.1", "443", "https://10.96.0.1:443"},
        {NULL, "10.96.0.1", NULL, "https://10.96.0.1:443"},
        {NULL, "fd00:10:96::1", "6443", "https://[fd00:10:96::1]:6443"},
        {"http://127.0.0.1:8001/", "10.96.0.1", "443", "http://127.0.0.1:8001"},
        {"https://api.example.com:6443", NULL, NULL, "https://api.example.com:6443"},
    };
    struct kube_config kc;
    struct kube *k;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].host)
            setenv("KUBERNETES_SERVICE_HOST", cases[i].host, 1);
        else
            unsetenv("KUBERNETES_SERVICE_HOST");
        if (cases[i].port)
            setenv("KUBERNETES_SERVICE_PORT", cases[i].port, 1);
        else
            unsetenv("KUBERNETES_SERVICE_PORT");
        memset(&kc, 0, sizeof(kc));
        kc.api_url = cases[i].api;
        CHECK_INT(kube_configured(&kc), 1);
        err[0] = '\0';
        k = kube_open(&kc, err, sizeof(err));
        CHECK(k != NULL);
        if (k)
            CHECK_STR(kube_base_url(k), cases[i].want);
        kube_close(k);
    }
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}

static void kube_rejects_unusable_configuration(void)
{
    static const struct kube_config cases[] = {
        {NULL, NULL, NULL},
        {"ftp://example.com", NULL, NULL},
        {"example.com:6443", NULL, NULL},
        {"https://127.0.0.1:6443", "/nonexistent/token", NULL},
        {"https://127.0.0.1:6443", NULL, "/nonexistent/ca.crt"},
    };
    struct cache_config cc = {"ftp://example.com", NULL, NULL, NULL, 60, 0};
    char err[256];
    size_t i;

    unsetenv("KUBERNETES_SERVICE_HOST");
    CHECK_INT(kube_configured(&cases[0]), 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        CHECK(kube_open(&cases[i], err, sizeof(err)) == NULL);
        CHECK(err[0] != '\0');
    }
    err[0] = '\0';
    CHECK(cache_start(&cc, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ftp://example.com") != NULL);
}

static void kube_escape_quotes_query_values(void)
{
    char *e = kube_escape("a+b/c=d&e f");

    CHECK_STR(e, "a%2Bb%2Fc%3Dd%26e%20f");
    free(e);
}

TEST_MAIN("cache", TEST(each_visits_every_canary_with_its_status),
          TEST(lookup_unknown_before_first_list),
          TEST(list_fills_lookup_by_target),
          TEST(lookup_by_tracked_config),
          TEST(other_namespace_same_target_is_another_canary),
          TEST(target_kind_must_match),
          TEST(deleted_removes_target_and_configs),
          TEST(modified_moves_target_and_configs),
          TEST(modified_phase_changes_release_state),
          TEST(gated_in_flight_canary_wins_a_shared_target),
          TEST(relist_replaces_the_whole_index),
          TEST(events_advance_the_resource_version),
          TEST(error_event_410_asks_for_a_relist),
          TEST(bad_input_is_rejected_and_changes_nothing),
          TEST(canary_without_target_is_kept_but_not_indexed_by_target),
          TEST(ten_thousand_canaries_are_all_found),
          TEST(files_source_reads_the_cluster_example),
          TEST(files_source_directory_is_read_again_on_change),
          TEST(files_source_errors_fail_the_start),
          TEST(no_source_stays_never_synced),
          TEST(kube_resolves_its_endpoint),
          TEST(kube_rejects_unusable_configuration),
          TEST(kube_escape_quotes_query_values))
