/*
 * The cache when memory runs out. Every allocation the index makes (this binary is linked with
 * --wrap=malloc,calloc,realloc, so the project's own allocations go through the wrappers below) is made
 * to fail in turn: a list that cannot be built keeps the old index and marks the cache out of sync, and
 * an event that cannot be applied makes the cache answer "unknown" (never "no Canary": that would allow
 * a change to a gated target) until the next list.
 */
#include <stddef.h>

#include "check.h"
#include "cache.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

/* -1: never fail; otherwise the number of allocations still allowed before one fails. */
static long allow = -1;
static long failed;

static int should_fail(void)
{
    if (allow < 0)
        return 0;
    if (allow == 0) {
        failed++;
        return 1;
    }
    allow--;
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

static cJSON *canary_text(const char *name, const char *phase)
{
    char text[768];

    snprintf(text, sizeof(text),
             "{\"kind\":\"Canary\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"test\",\"resourceVersion\":\"7\"},"
             "\"spec\":{\"targetRef\":{\"kind\":\"Deployment\",\"name\":\"%s\"},\"analysis\":{\"webhooks\":[{\"name\":"
             "\"g\",\"type\":\"confirm-traffic-increase\",\"url\":\"http://lt/gate/check\"}]}},\"status\":{\"phase\":"
             "\"%s\",\"canaryWeight\":10,\"trackedConfigs\":{\"configmap/%s-a\":\"1\",\"configmap/%s-b\":\"2\"}}}",
             name, name, phase, name, name);
    return cJSON_Parse(text);
}

static int lookup(struct cache *c, const char *name)
{
    struct canary_lookup l;
    struct canary_info info;

    cache_lookup(c, &l);
    return l.by_target(l.ctx, "test", "Deployment", name, &info);
}

/* A cache holding app-0 .. app-(n-1), Progressing. */
static struct cache *cache_with(int n)
{
    struct cache *c = cache_new(60);
    cJSON *items = cJSON_CreateArray();
    char name[16];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "app-%d", i);
        cJSON_AddItemToArray(items, canary_text(name, "Progressing"));
    }
    CHECK_INT(cache_apply_list(c, items), 0);
    cJSON_Delete(items);
    return c;
}

static void a_list_that_cannot_be_built_keeps_the_old_index(void)
{
    cJSON *items = cJSON_CreateArray();
    long k, failures = 0;
    int i;

    for (i = 0; i < 20; i++) {
        char name[16];

        snprintf(name, sizeof(name), "new-%d", i);
        cJSON_AddItemToArray(items, canary_text(name, "Progressing"));
    }
    for (k = 0; k < 400; k++) {
        struct cache *c = cache_with(3);
        struct cache_stats st;
        int rc;

        allow = k;
        failed = 0;
        rc = cache_apply_list(c, items);
        allow = -1;
        if (!failed) {
            CHECK_INT(rc, 0);
            CHECK_INT(lookup(c, "new-19"), CANARY_LOOKUP_FOUND);
            cache_stop(c);
            break;
        }
        failures++;
        CHECK_INT(rc, -1);
        /* The old index answers, the new one was never half-published. */
        CHECK_INT(lookup(c, "app-1"), CANARY_LOOKUP_FOUND);
        CHECK_INT(lookup(c, "new-0"), CANARY_LOOKUP_NONE);
        cache_stats(c, &st);
        CHECK_INT(st.canaries, 3);
        CHECK_INT(st.in_sync, 0);
        cache_stop(c);
    }
    CHECK(failures > 20);
    cJSON_Delete(items);
}

static void an_event_that_cannot_be_applied_answers_unknown_until_the_next_list(void)
{
    long k, failures = 0;

    for (k = 0; k < 200; k++) {
        struct cache *c = cache_with(3);
        cJSON *ev = cJSON_CreateObject(), *items;
        int rc;

        cJSON_AddStringToObject(ev, "type", "MODIFIED");
        cJSON_AddItemToObject(ev, "object", canary_text("app-1", "Promoting"));
        allow = k;
        failed = 0;
        rc = cache_apply_event(c, ev);
        allow = -1;
        cJSON_Delete(ev);
        if (!failed) {
            CHECK_INT(rc, 0);
            cache_stop(c);
            break;
        }
        failures++;
        CHECK_INT(rc, CACHE_EVENT_BROKEN);
        /* Unsure: unknown, for every target, and not ready. */
        CHECK_INT(lookup(c, "app-1"), CANARY_LOOKUP_UNKNOWN);
        CHECK_INT(lookup(c, "app-2"), CANARY_LOOKUP_UNKNOWN);
        CHECK_INT(cache_ready(c), 0);
        /* A new list repairs it. */
        items = cJSON_CreateArray();
        cJSON_AddItemToArray(items, canary_text("app-1", "Promoting"));
        CHECK_INT(cache_apply_list(c, items), 0);
        cJSON_Delete(items);
        CHECK_INT(lookup(c, "app-1"), CANARY_LOOKUP_FOUND);
        CHECK_INT(cache_ready(c), 1);
        cache_stop(c);
    }
    CHECK(failures > 3);
}

TEST_MAIN("cache_oom", TEST(a_list_that_cannot_be_built_keeps_the_old_index),
          TEST(an_event_that_cannot_be_applied_answers_unknown_until_the_next_list))
