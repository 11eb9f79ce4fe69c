/*
 * Unit tests of what the cache's Kubernetes source leans on when the API server misbehaves: the backoff
 * between failed attempts, readiness from the last proof of life (a list, an event, a bookmark) rather
 * than from an open watch, and the count of watch restarts by reason.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cache_source.h"
#include "check.h"

#define DRAWS 2000

/* The range a wait after n failures must fall in: [hi/2, hi], hi = 250 ms doubled per failure after
 * the first, at most 32 s. */
static long backoff_hi(int n)
{
    long hi = 250;

    while (--n > 0 && hi < 32000)
        hi *= 2;
    return hi < 32000 ? hi : 32000;
}

static void backoff_is_monotone_capped_and_jittered(void)
{
    static const int counts[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 20, 64, 1000, INT_MAX};
    unsigned seed = 12345;
    long prev_max = 0, v, lo, hi;
    size_t i;
    int d;

    CHECK_INT(cache_backoff_pick(0, &seed), 0);
    CHECK_INT(cache_backoff_pick(-3, &seed), 0);
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        long min = LONG_MAX, max = 0;

        hi = backoff_hi(counts[i]);
        lo = hi / 2;
        for (d = 0; d < DRAWS; d++) {
            v = cache_backoff_pick(counts[i], &seed);
            min = v < min ? v : min;
            max = v > max ? v : max;
        }
        /* Within bounds, capped at 32 s. */
        CHECK(min >= lo);
        CHECK(max <= hi);
        CHECK(max <= 32000);
        /* Jittered: the draws spread over most of the range, not one value. */
        CHECK(max - min >= (hi - lo) * 3 / 4);
        /* Monotone: no wait after n + 1 failures is shorter than any wait after n (until the cap). */
        if (hi < 32000 || backoff_hi(counts[i] - 1) < 32000)
            CHECK(min >= prev_max);
        prev_max = max;
    }
    CHECK_INT(backoff_hi(8), 32000);
}

static cJSON *list_at(const char *rv)
{
    cJSON *l = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(l, "metadata");

    cJSON_AddStringToObject(md, "resourceVersion", rv);
    cJSON_AddArrayToObject(l, "items");
    return l;
}

static int give_json(struct cache *c, const char *event)
{
    cJSON *ev = cJSON_Parse(event);
    int rc = cache_apply_event(c, ev);

    cJSON_Delete(ev);
    return rc;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    nanosleep(&ts, NULL);
}

static const char bookmark[] = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Canary\",\"metadata\":"
                               "{\"resourceVersion\":\"20\"}}}";
static const char error500[] = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
                               "\"message\":\"internal error\"}}";

static void readiness_follows_proof_of_life(void)
{
    struct cache *c = cache_new(1);
    struct cache_stats st;
    cJSON *l = list_at("10");

    CHECK_INT(cache_apply_list(c, l), 0);
    cJSON_Delete(l);
    CHECK_INT(cache_ready(c), 1);
    /* The watch failed: still ready for --max-unsynced after the list, then not. */
    cache_set_in_sync(c, 0);
    CHECK_INT(cache_ready(c), 1);
    sleep_s(1.2);
    CHECK_INT(cache_ready(c), 0);
    cache_stats(c, &st);
    CHECK_INT(st.in_sync, 0);
    CHECK(st.alive_age > 1.1 && st.alive_age < 5);
    CHECK(st.last_sync_age == st.alive_age);
    /* An ERROR event is no proof of life; a bookmark is. */
    CHECK_INT(give_json(c, error500), -1);
    CHECK_INT(cache_ready(c), 0);
    CHECK_INT(give_json(c, bookmark), 0);
    CHECK_INT(cache_ready(c), 1);
    cache_stats(c, &st);
    CHECK_INT(st.in_sync, 1);
    CHECK_INT(st.last_sync_age, 0);
    CHECK(st.alive_age >= 0 && st.alive_age < 0.5);
    cache_stop(c);
}

static void a_silent_source_falls_out_of_sync(void)
{
    struct cache *c = cache_new(1);
    struct cache_stats st;
    cJSON *l = list_at("10");

    /* Without cache_expect_life (the files): in sync until the source says otherwise. */
    CHECK_INT(cache_apply_list(c, l), 0);
    sleep_s(1.2);
    CHECK_INT(cache_ready(c), 1);
    /* A watch must prove life every second here: silent past that and past --max-unsynced, not ready,
     * although nobody said the watch failed. */
    cache_expect_life(c, 1);
    CHECK_INT(cache_ready(c), 0);
    cache_stats(c, &st);
    CHECK_INT(st.in_sync, 0);
    CHECK(st.last_sync_age > 1.1);
    CHECK_INT(give_json(c, bookmark), 0);
    CHECK_INT(cache_ready(c), 1);
    cJSON_Delete(l);
    cache_stop(c);
}

static void watch_restarts_are_counted_by_reason(void)
{
    struct cache *c = cache_new(60);
    struct cache_stats st;
    int i;

    cache_watch_ended(c, CACHE_WATCH_UNDECODABLE);
    cache_watch_ended(c, CACHE_WATCH_UNDECODABLE);
    cache_watch_ended(c, CACHE_WATCH_IDLE);
    cache_watch_ended(c, CACHE_WATCH_ENDS);
    cache_watch_ended(c, (enum cache_watch_end)-1);
    cache_stats(c, &st);
    CHECK_INT(st.watch_ends[CACHE_WATCH_UNDECODABLE], 2);
    CHECK_INT(st.watch_ends[CACHE_WATCH_IDLE], 1);
    CHECK_INT(st.watch_ends[CACHE_WATCH_CLOSED], 0);
    CHECK_STR(cache_watch_end_name(CACHE_WATCH_TOO_LARGE), "too_large");
    CHECK_STR(cache_watch_end_name(CACHE_WATCH_ERROR_EVENT), "error_event");
    CHECK_STR(cache_watch_end_name(CACHE_WATCH_ENDS), "unknown");
    for (i = 0; i < CACHE_WATCH_ENDS; i++)
        CHECK(strcmp(cache_watch_end_name((enum cache_watch_end)i), "unknown") != 0);
    cache_stop(c);
}

TEST_MAIN("cache_sync", TEST(backoff_is_monotone_capped_and_jittered),
          TEST(readiness_follows_proof_of_life),
          TEST(a_silent_source_falls_out_of_sync),
          TEST(watch_restarts_are_counted_by_reason))
